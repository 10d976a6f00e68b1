//! One writer at a time: two imports (or two PostToolUse hooks) started together in one
//! repository hold `.kodo/lock` in turn, so the documentation ends with exactly one row per
//! key; `--no-wait` exits 2 while another run holds the lock. Across machines, where no lock
//! reaches, a create whose plan is stale re-checks its key first.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::TestEnv;
use serde_json::{json, Value};

#[test]
fn two_imports_at_once_make_one_row_each() {
    let env = TestEnv::start("demo");
    let a = env
        .kodo_process()
        .args(["ph-sync", "import", "all"])
        .spawn()
        .unwrap();
    let b = env
        .kodo_process()
        .args(["ph-sync", "import", "all"])
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    env.assert_no_duplicates();
}

#[test]
fn no_wait_exits_while_the_lock_is_held() {
    let env = TestEnv::start("demo");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(env.root().join(".kodo/lock"))
        .unwrap();
    file.lock().unwrap();
    let out = env
        .kodo()
        .args(["ph-sync", "import", "all", "--no-wait"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another kodo run is writing to Notion"),
        "{err}"
    );
    assert!(env.page_creates().is_empty());
    drop(file);
    env.ph_sync(&["import", "all", "--no-wait"]);
    env.assert_no_duplicates();
}

/// A PostToolUse payload for `mcp__posthog__create-feature-flag` whose response is `created`.
fn flag_created_payload(env: &TestEnv, key: &str, created: &Value) -> String {
    json!({
        "session_id": "0b7c5c1e-3f57-4d0a-9d1e-2c8a4f6b9e10",
        "transcript_path": "/home/dev/.claude/projects/-work-app/0b7c5c1e.jsonl",
        "cwd": env.root().display().to_string(),
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": "mcp__posthog__create-feature-flag",
        "tool_input": {"name": "Search v3", "key": key, "active": false,
                       "filters": {"groups": [{"properties": [], "rollout_percentage": 0}]}},
        "tool_response": [{"type": "text", "text": created.to_string()}],
        "tool_use_id": "toolu_01ABCDEF",
        "duration_ms": 412
    })
    .to_string()
}

fn spawn_with_stdin(mut cmd: Command, stdin: &str) -> Child {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kodo");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child
}

/// The plugin's hooks plus the settings' hooks: two PostToolUse runs for one created flag at
/// the same moment. The second waits for `.kodo/lock`, then finds the first one's row.
#[test]
fn two_post_tool_use_hooks_at_once_make_one_row() {
    let env = TestEnv::start("demo");
    let created = env.sandbox.admin_send(
        "POST",
        "/posthog/feature_flags",
        json!({"key": "release_search_v3", "name": "Search v3", "active": false,
               "filters": {"groups": [{"properties": [], "rollout_percentage": 0}]}}),
    );
    let payload = flag_created_payload(&env, "release_search_v3", &created);
    let hook = || {
        let mut cmd = env.kodo_process();
        cmd.args(["hook", "claude"])
            .env_remove("KODO_ALLOW_UNDOCUMENTED")
            .env_remove("KODO_HOOK_TIMEOUT_MS");
        spawn_with_stdin(cmd, &payload)
    };
    let (a, b) = (hook(), hook());
    let mut contexts = Vec::new();
    for out in [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let stdout: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        contexts.push(
            stdout["hookSpecificOutput"]["additionalContext"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    contexts.sort();
    assert!(contexts[0].contains("database, created)"), "{contexts:?}");
    assert!(contexts[1].contains("database, unchanged"), "{contexts:?}");
    let creates = env
        .page_creates()
        .iter()
        .filter(|r| r["status"] == 200)
        .count();
    assert_eq!(creates, 1, "one row created");
    env.row_where("feature_flags", "Flag Key", "release_search_v3");
    env.assert_no_duplicates();
}

/// A second checkout of the project (its own `.kodo/`, so no lock it shares: another machine)
/// whose `.kodo/config.json` and `.env` are `env`'s, with Notion slowed to `rate` on its side.
fn second_machine(env: &TestEnv, rate: Value) -> tempfile::TempDir {
    let other = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(other.path().join(".kodo")).unwrap();
    let mut config = env.config();
    config["notion"]["rateLimit"] = rate;
    std::fs::write(
        other.path().join(".kodo/config.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    std::fs::copy(env.root().join(".env"), other.path().join(".env")).unwrap();
    other
}

fn signal(child: &Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {sig}");
}

/// Polls the emulator's request log until `done` holds (at most a minute).
fn wait_for(env: &TestEnv, what: &str, done: impl Fn(&[Value]) -> bool) {
    for _ in 0..3000 {
        if done(&env.requests()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

/// Two machines import at once; no local lock reaches across. Machine B reads the flags
/// database (every key missing) and is then held still while machine A imports everything.
/// When B goes on, its plan is stale: its first create re-checks its key together with the
/// other pending ones (one `or` query per batch of creates), finds A's rows and creates
/// nothing, so there is exactly one row per flag.
#[test]
fn a_second_machine_with_a_stale_plan_makes_no_duplicate() {
    let env = TestEnv::start("demo");
    // Machine B's side: one Notion request per 250 ms, so it is easy to stop between its read
    // and its first write.
    let b_dir = second_machine(&env, json!({"requestsPerWindow": 1, "windowSeconds": 0.25}));
    let flags_ds = env.data_source_of("feature_flags");
    let query_path = format!("/v1/data_sources/{flags_ds}/query");
    env.clear_requests();
    let mut b = env.kodo_process();
    b.current_dir(b_dir.path())
        .args(["ph-sync", "import", "flags"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let b = b.spawn().expect("spawn machine B");
    wait_for(&env, "machine B to read the flags database", |log| {
        log.iter().any(|r| r["path"] == query_path.as_str())
    });
    signal(&b, "-STOP");
    let creates_before_a = env.page_creates().len();
    assert_eq!(creates_before_a, 0, "B was stopped before its first create");
    // Machine A imports everything meanwhile.
    let a_out = env.ph_sync(&["import", "flags"]);
    let created_by_a = env.rows("feature_flags").len();
    assert!(a_out.contains("created"), "{a_out}");
    // B's read is now more than RECHECK_AFTER old whatever the machine's speed.
    std::thread::sleep(kodo_api::RECHECK_AFTER);
    env.clear_requests();
    signal(&b, "-CONT");
    let b = b.wait_with_output().expect("machine B");
    let b_stdout = String::from_utf8_lossy(&b.stdout);
    assert!(
        b.status.success(),
        "{b_stdout}\n{}",
        String::from_utf8_lossy(&b.stderr)
    );
    env.assert_no_duplicates();
    assert_eq!(env.rows("feature_flags").len(), created_by_a);
    assert!(env.page_creates().is_empty(), "B created nothing");
    // At most one extra query per planned row.
    let planned = b_stdout
        .split(", found ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("B reports the rows it found:\n{b_stdout}"));
    assert!(planned > 0, "{b_stdout}");
    let queries = env
        .requests()
        .iter()
        .filter(|r| r["path"] == query_path.as_str())
        .count();
    assert_eq!(
        queries,
        planned.div_ceil(kodo_api::MAX_KEYS_PER_QUERY),
        "one key query per batch of (at most 100) rows B meant to create, not one per row"
    );
    assert!(
        b_stdout.contains("created meanwhile by another run"),
        "{b_stdout}"
    );
}
