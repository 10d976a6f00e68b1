//! Imports under a hostile network: injected 429s, 5xx answers, creates that commit and then
//! answer 503, connections dropped after a write — and a kodo process killed mid-import.
//! Every run must end in the same Notion state as a quiet one, with no duplicate rows.

use std::process::Stdio;

use crate::common::TestEnv;
use serde_json::json;

/// The Notion state a fault-free import of the demo produces.
fn reference_picture() -> Vec<(String, Vec<String>)> {
    let env = TestEnv::start("demo");
    env.ph_sync(&["import"]);
    env.notion_picture()
}

/// Imports the demo under `faults` (re-running after a run that gave up) and checks the
/// result against a quiet import. Returns the faults the emulator injected.
fn import_under(faults: serde_json::Value) -> Vec<String> {
    let expected = reference_picture();
    let env = TestEnv::start("demo");
    env.set_faults(faults);
    // A run may give up on a write after its retries; a re-run finishes the job. Either way
    // nothing is written twice.
    let mut succeeded = false;
    for _ in 0..4 {
        let out = env.kodo().args(["ph-sync", "import"]).output().unwrap();
        match out.status.code() {
            Some(0) => {
                succeeded = true;
                break;
            }
            Some(2) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.contains("re-run"), "{stderr}");
            }
            other => panic!(
                "unexpected exit {other:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    assert!(succeeded, "import never completed under faults");
    let injected: Vec<String> = env
        .requests()
        .into_iter()
        .filter_map(|r| r["fault"].as_str().map(str::to_string))
        .collect();

    env.set_faults(json!({}));
    env.assert_no_duplicates();
    assert_eq!(env.notion_picture(), expected);
    env.kodo()
        .args(["ph-sync", "audit", "--check"])
        .assert()
        .code(0);
    injected
}

#[test]
fn import_under_the_spec_fault_mix_ends_in_the_same_state_without_duplicates() {
    let injected = import_under(json!({
        "rate_429": 0.2,
        "rate_5xx": 0.05,
        "rate_commit_then_503": 0.05,
        "rate_drop_after_commit": 0.05
    }));
    assert!(injected.iter().any(|f| f == "429"), "{injected:?}");
}

#[test]
fn writes_that_commit_and_then_fail_are_never_repeated() {
    // Most writes land and then lose their answer: every create must be settled by reading,
    // not by sending it again.
    let injected = import_under(json!({
        "rate_commit_then_503": 0.4,
        "rate_drop_after_commit": 0.4
    }));
    assert!(injected.iter().any(|f| f == "commit503"), "{injected:?}");
    assert!(injected.iter().any(|f| f == "drop"), "{injected:?}");
}

/// Starts an import, kills it (SIGKILL) once the emulator has logged `k` Notion writes, then
/// re-runs it to completion.
fn crash_after(k: usize, expected: &[(String, Vec<String>)]) {
    let env = TestEnv::start("demo");
    env.set_faults(json!({"latency_ms": [10, 30]}));
    env.clear_requests();
    let mut child = env
        .kodo_process()
        .args(["ph-sync", "import"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    loop {
        if env.notion_writes().len() >= k {
            child.kill().unwrap();
            break;
        }
        if child.try_wait().unwrap().is_some() {
            panic!("the import finished before {k} writes; the crash was not tested");
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.wait().unwrap();
    let writes_before_rerun = env.notion_writes().len();
    assert!(writes_before_rerun >= k);

    env.set_faults(json!({}));
    env.ph_sync(&["import"]);
    env.assert_no_duplicates();
    assert_eq!(
        env.notion_picture(),
        expected,
        "after a crash at {k} writes"
    );
    env.kodo()
        .args(["ph-sync", "audit", "--check"])
        .assert()
        .code(0);
}

#[test]
fn a_killed_import_is_completed_by_a_rerun_without_duplicates() {
    let expected = reference_picture();
    for k in [1, 5, 10, 14] {
        crash_after(k, &expected);
    }
}
