//! An import as a person or a CI job lives it (issue 13): Ctrl-C in the middle of the writes,
//! progress lines in a log, and the confirmation a large or destructive import asks for.

use std::collections::BTreeSet;
use std::process::{Child, Output, Stdio};

use crate::common::TestEnv;
use serde_json::{json, Value};

/// `(resource, action, key)` of each write a JSON list names.
fn writes(list: &Value) -> BTreeSet<(String, String, String)> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|w| {
            (
                w["resource"].as_str().unwrap_or_default().to_string(),
                w["action"].as_str().unwrap_or_default().to_string(),
                w["key"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The writes `import --dry-run --format json` would make now (creates and updates).
fn planned(env: &TestEnv) -> BTreeSet<(String, String, String)> {
    let text = env.ph_sync(&["import", "--dry-run", "--format", "json"]);
    let v: Value = serde_json::from_str(&text).unwrap();
    let mut out = BTreeSet::new();
    for (resource, plan) in v["plan"].as_object().unwrap() {
        for key in plan["create"].as_array().unwrap() {
            out.insert((
                resource.clone(),
                "create".into(),
                key.as_str().unwrap().into(),
            ));
        }
        for update in plan["update"].as_array().unwrap() {
            let key = update["key"].as_str().unwrap();
            out.insert((resource.clone(), "update".into(), key.into()));
        }
    }
    out
}

/// Starts `kodo ph-sync <args>` against the demo with every Notion answer slowed down, and
/// sends it SIGINT once the emulator has answered its first write.
fn interrupt_import(env: &TestEnv, args: &[&str]) -> Output {
    env.set_faults(json!({"latency_ms": [150, 200]}));
    env.clear_requests();
    let mut child: Child = env
        .kodo_process()
        .arg("ph-sync")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if !env.notion_writes().is_empty() {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "the import ended before its first write: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    env.set_faults(json!({}));
    out
}

#[test]
fn ctrl_c_finishes_the_writes_in_flight_reports_them_and_exits_130() {
    let env = TestEnv::start("demo");
    let before = planned(&env);
    assert!(
        before.len() > 8,
        "the demo plans too few writes: {before:?}"
    );
    let out = interrupt_import(&env, &["import", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("Interrupted: finishing the writes in flight"),
        "{stderr}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("the JSON report");
    let result = &v["result"];
    assert_eq!(result["interrupted"], true);
    let written = writes(&result["written"]);
    let left = writes(&result["left"]);
    assert!(!written.is_empty() && !left.is_empty(), "{result}");
    assert!(written.is_disjoint(&left));
    // The plan is exactly split into what was written and what was left.
    let both: BTreeSet<_> = written.union(&left).cloned().collect();
    assert_eq!(both, before);
    // Notion holds exactly the reported writes: one answered write request each, and what
    // is still to do is exactly what was reported as left (no half-written row).
    let answered = env
        .notion_writes()
        .iter()
        .filter(|r| r["status"] == 200)
        .count();
    assert_eq!(answered, written.len(), "{:#?}", env.notion_writes());
    assert_eq!(planned(&env), left);
    env.assert_no_duplicates();
    // A re-run writes the rest.
    env.ph_sync(&["import"]);
    assert!(planned(&env).is_empty());
}

#[test]
fn an_interrupted_import_says_in_markdown_what_was_written_and_what_is_left() {
    let env = TestEnv::start("demo");
    let out = interrupt_import(&env, &["import"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("Import interrupted: "))
        .unwrap_or_else(|| panic!("no summary in:\n{stdout}"));
    let after = stdout.split(summary).nth(1).unwrap();
    let (written, left) = after
        .split_once(
            "\nNot written (re-run `kodo ph-sync import` to write them; it is safe to repeat):",
        )
        .unwrap_or_else(|| panic!("no list of what is left:\n{stdout}"));
    let listed = |text: &str| -> BTreeSet<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("  "))
            .map(str::to_string)
            .collect()
    };
    let written = listed(written);
    let left = listed(left);
    assert!(!written.is_empty() && !left.is_empty(), "{stdout}");
    assert!(
        summary.contains(&format!(
            "{} of {} writes done, {} not started",
            written.len(),
            written.len() + left.len(),
            left.len()
        )),
        "{summary}"
    );
    // What is left is what a new plan holds.
    let text = env.ph_sync(&["import", "--dry-run"]);
    for line in &left {
        let key = line.split('`').nth(1).unwrap();
        assert!(text.contains(key), "{key} left but not planned:\n{text}");
    }
    let planned_keys: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("  + ").or_else(|| l.strip_prefix("  ~ ")))
        .map(|l| l.split([':', ' ']).next().unwrap_or(l))
        .collect();
    for line in &written {
        let key = line.split('`').nth(1).unwrap();
        assert!(
            !planned_keys.contains(key),
            "{key} written but planned again:\n{text}"
        );
    }
}

#[test]
fn a_long_import_in_a_log_prints_progress_lines_and_quiet_prints_none() {
    let env = TestEnv::start("demo");
    let total = planned(&env).len();
    // Interval 0: a line after every write, so the test needs no clock.
    let out = env
        .kodo()
        .env("KODO_PROGRESS_INTERVAL_MS", "0")
        .args(["ph-sync", "import", "flags"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = regex::Regex::new(
        r"^Writing to Notion: (\d+)/(\d+) \((\d+)%\), \d+\.\d/s, ETA (\d+s|\d+m\d\ds|\d+h\d\dm|unknown)$",
    )
    .unwrap();
    let done: Vec<(usize, usize)> = stderr
        .lines()
        .filter_map(|l| line.captures(l))
        .map(|c| (c[1].parse().unwrap(), c[2].parse().unwrap()))
        .collect();
    let n = done.last().map(|d| d.1).unwrap_or_default();
    assert!(n > 0 && n <= total, "{stderr}");
    assert_eq!(
        done,
        (1..=n).map(|k| (k, n)).collect::<Vec<_>>(),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("Writing to Notion: {n}/{n} (100%)")));

    let env = TestEnv::start("demo");
    let out = env
        .kodo()
        .env("KODO_PROGRESS_INTERVAL_MS", "0")
        .args(["-q", "ph-sync", "import", "flags"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn a_non_terminal_never_asks_even_with_overwrite_and_archive_orphans() {
    let env = TestEnv::start("demo");
    let out = env
        .kodo()
        .args(["ph-sync", "import", "--overwrite", "--archive-orphans"])
        .write_stdin("n\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("[y/N]"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Import done:"));
    assert!(planned(&env).is_empty());
}

/// `kodo ph-sync <args>` started on a real pseudo-terminal (stdin, stdout and stderr).
#[cfg(unix)]
fn on_a_terminal(env: &TestEnv, args: &[&str]) -> crate::common::pty::Pty {
    let mut cmd = env.kodo_process();
    cmd.arg("ph-sync").args(args);
    crate::common::pty::Pty::spawn(cmd)
}

#[cfg(unix)]
/// `import` asks above this many writes (`src/cmd/confirm.rs`, `ASK_ABOVE`; README).
const ASK_ABOVE: usize = 50;

#[cfg(unix)]
/// The question's end, as `kodo` prints it.
const ASKS: &str = "? [y/N] ";

#[cfg(unix)]
#[test]
fn a_terminal_is_asked_after_the_plan_and_no_writes_nothing() {
    let env = TestEnv::start("demo");
    let before = planned(&env);
    let picture = env.notion_picture();
    env.clear_requests();
    let mut pty = on_a_terminal(&env, &["import", "--overwrite"]);
    let screen =
        pty.wait_for("to Notion (--overwrite replaces what people wrote in Notion)? [y/N] ");
    // Asked after the whole plan, and nothing is written while the question waits.
    let plan_at = screen.find("Flags: ").expect("the plan");
    assert!(plan_at < screen.find(ASKS).unwrap(), "{screen}");
    assert!(env.notion_writes().is_empty(), "{:#?}", env.notion_writes());
    pty.type_in("n\n");
    let (status, screen) = pty.finish();
    // Declined: exit 1 (README, Exit codes), and Notion is exactly as it was.
    assert_eq!(status.code(), Some(1), "{screen}");
    assert!(
        screen.contains("Import cancelled: nothing was written"),
        "{screen}"
    );
    assert!(env.notion_writes().is_empty(), "{:#?}", env.notion_writes());
    assert_eq!(env.notion_picture(), picture);
    assert_eq!(planned(&env), before);

    // Yes writes the plan.
    let mut pty = on_a_terminal(&env, &["import", "--overwrite"]);
    pty.wait_for(ASKS);
    assert!(env.notion_writes().is_empty());
    pty.type_in("y\n");
    let (status, screen) = pty.finish();
    assert_eq!(status.code(), Some(0), "{screen}");
    assert!(screen.contains("Import done:"), "{screen}");
    assert!(!env.notion_writes().is_empty());
    assert!(planned(&env).is_empty());
    env.assert_no_duplicates();
}

/// `--archive-orphans` alone (no `--overwrite`, fewer than 50 writes) asks too, naming how many
/// rows it would trash; a "no" (or just Enter) trashes nothing.
#[cfg(unix)]
#[test]
fn archive_orphans_on_a_terminal_asks_and_enter_trashes_nothing() {
    let env = TestEnv::start("demo");
    // A dashboard deleted in PostHog leaves its row an orphan for --archive-orphans to trash.
    env.ph_sync(&["status"]);
    env.sandbox.admin_send(
        "PATCH",
        "/posthog/dashboards/118",
        serde_json::json!({"deleted": true}),
    );
    let picture = env.notion_picture();
    env.clear_requests();
    let mut pty = on_a_terminal(&env, &["import", "dashboards", "--archive-orphans"]);
    let screen = pty.wait_for(ASKS);
    assert!(
        regex::Regex::new(r"--archive-orphans moves \d+ rows? to the trash\)\? \[y/N\] ")
            .unwrap()
            .is_match(&screen),
        "{screen}"
    );
    assert!(!screen.contains("--overwrite replaces"), "{screen}");
    pty.type_in("\n");
    let (status, screen) = pty.finish();
    assert_eq!(status.code(), Some(1), "{screen}");
    assert!(env.notion_writes().is_empty(), "{:#?}", env.notion_writes());
    assert_eq!(env.notion_picture(), picture);
}

#[cfg(unix)]
#[test]
fn yes_writes_on_a_terminal_without_asking() {
    let env = TestEnv::start("demo");
    let pty = on_a_terminal(
        &env,
        &["import", "--overwrite", "--archive-orphans", "--yes"],
    );
    let (status, screen) = pty.finish();
    assert_eq!(status.code(), Some(0), "{screen}");
    assert!(!screen.contains("[y/N]"), "{screen}");
    assert!(screen.contains("Import done:"), "{screen}");
    // On a terminal the writes are a bar with an ETA (issue 13 item 5), not log lines.
    let bar = regex::Regex::new(r"Writing to Notion \[[=> ]{30}\] \d+/\d+ ETA \d+s").unwrap();
    assert!(bar.is_match(&screen), "{screen}");
    assert!(!screen.contains("Writing to Notion: "), "{screen}");
    assert!(planned(&env).is_empty());
}

#[cfg(unix)]
/// The demo with `extra` more PostHog flags, each one more row for `import` to create.
fn demo_with_flags(extra: usize) -> TestEnv {
    let mut scenario: Value =
        serde_json::from_str(include_str!("../../sandbox/scenarios/demo.json")).unwrap();
    let flags = scenario["posthog"]["feature_flags"].as_array_mut().unwrap();
    for i in 0..extra {
        flags.push(json!({
            "id": 9000 + i,
            "key": format!("rollout_batch_{i:02}"),
            "name": format!("Rollout batch {i}"),
            "active": true,
            "rollout": 50,
            "created_by": "maya.chen@acme.example",
            "created_at": "2025-06-01T09:00:00Z",
            "updated_at": "2025-06-01T09:00:00Z",
            "tags": []
        }));
    }
    TestEnv::with(
        kodo_sandbox::Scenario::from_json(&scenario.to_string()).unwrap(),
        crate::common::fast_options(),
    )
}

#[cfg(unix)]
#[test]
fn more_than_fifty_writes_ask_and_fifty_without_flags_do_not() {
    let demo = planned(&TestEnv::start("demo")).len();
    assert!(demo > 0 && demo < ASK_ABOVE, "the demo plans {demo} writes");
    // Exactly 50 writes, no --overwrite, no --archive-orphans: written unasked.
    let env = demo_with_flags(ASK_ABOVE - demo);
    assert_eq!(planned(&env).len(), ASK_ABOVE);
    let (status, screen) = on_a_terminal(&env, &["import"]).finish();
    assert_eq!(status.code(), Some(0), "{screen}");
    assert!(!screen.contains("[y/N]"), "{screen}");
    assert!(screen.contains("Import done:"), "{screen}");
    assert!(planned(&env).is_empty());

    // 51 writes: asked, and no leaves Notion as it was.
    let env = demo_with_flags(ASK_ABOVE + 1 - demo);
    let before = planned(&env);
    assert_eq!(before.len(), ASK_ABOVE + 1);
    let picture = env.notion_picture();
    env.clear_requests();
    let mut pty = on_a_terminal(&env, &["import"]);
    pty.wait_for("Write these 51 changes to Notion (more than 50 writes)? [y/N] ");
    pty.type_in("n\n");
    let (status, screen) = pty.finish();
    assert_eq!(status.code(), Some(1), "{screen}");
    assert!(env.notion_writes().is_empty(), "{:#?}", env.notion_writes());
    assert_eq!(env.notion_picture(), picture);
    assert_eq!(planned(&env), before);
}
