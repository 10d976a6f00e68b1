//! "Is this key documented?" asked by its three callers — the Claude Code hook (`kodo hook
//! claude`), the git pre-commit gate (`kodo hook pre-commit`) and `kodo scan --check` — about
//! the same flag keys in the same Notion workspace: they must give the same answer on every
//! edge case of the one rule (`src/documented.rs`): stray whitespace around a row's key, a key
//! that differs only in case, a retired row, a row in the trash, a flag documented only by an
//! experiment row; live from Notion, and again from a refreshed snapshot.

use std::process::Command;

use crate::common::{assert_no_tokens, TestEnv};
use serde_json::{json, Value};

/// (flag key asked about, documented?)
const CASES: [(&str, bool); 7] = [
    ("release_checkout_v2", true),
    // The demo's PostHog has it; Notion does not.
    ("release_new_api_v2", false),
    // Keys keep their case.
    ("Release_Checkout_V2", false),
    // The row's title is "  release_padded  ".
    ("release_padded", true),
    // The row's status is `archived`: still documentation.
    ("release_retired", true),
    // The row is in Notion's trash.
    ("release_trashed", false),
    // Only an experiment row names it.
    ("exp_only_in_experiments", true),
];

fn title(text: &str) -> Value {
    json!({"title": [{"text": {"content": text}}]})
}

fn create_page(env: &TestEnv, database: &str, properties: Value) -> String {
    let page = env.sandbox.admin_send(
        "POST",
        "/notion/pages",
        json!({
            "parent": {"type": "data_source_id", "data_source_id": env.data_source_of(database)},
            "properties": properties,
        }),
    );
    page["id"].as_str().expect("page id").to_string()
}

/// The demo workspace plus the edge cases' rows, and a git repository whose staged change
/// checks every flag of [`CASES`].
fn workspace() -> TestEnv {
    let env = TestEnv::start("demo");
    let mut config = env.config();
    config["sync"]["require_notion_entry"] = json!(true);
    env.write_config(&config);
    create_page(
        &env,
        "feature_flags",
        json!({"Flag Key": title("  release_padded  ")}),
    );
    create_page(
        &env,
        "feature_flags",
        json!({"Flag Key": title("release_retired"), "Status": {"select": {"name": "archived"}}}),
    );
    let trashed = create_page(
        &env,
        "feature_flags",
        json!({"Flag Key": title("release_trashed")}),
    );
    env.sandbox.admin_send(
        "PATCH",
        &format!("/notion/pages/{trashed}"),
        json!({"in_trash": true}),
    );
    create_page(
        &env,
        "experiments",
        json!({
            "Experiment Name": title("Only in experiments"),
            "Flag Key": {"rich_text": [{"text": {"content": "exp_only_in_experiments"}}]}
        }),
    );

    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(env.root())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", env.root())
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["config", "user.name", "Test User"]);
    git(&["config", "user.email", "test@example.com"]);
    git(&["config", "commit.gpgsign", "false"]);
    std::fs::write(env.root().join("README.md"), "demo\n").expect("write");
    git(&["add", "README.md"]);
    git(&["commit", "-q", "--no-verify", "-m", "initial"]);
    let code: String = CASES
        .iter()
        .map(|(key, _)| format!("if (posthog.isFeatureEnabled('{key}')) {{ show() }}\n"))
        .collect();
    std::fs::write(env.root().join("app.js"), code).expect("write app.js");
    git(&["add", "app.js"]);
    env
}

fn output(env: &TestEnv, args: &[&str], stdin: Option<String>) -> (Option<i32>, String) {
    let mut cmd = env.kodo();
    cmd.args(args)
        .env_remove("KODO_ALLOW_UNDOCUMENTED")
        .env_remove("KODO_SKIP")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", env.root());
    if let Some(stdin) = stdin {
        cmd.write_stdin(stdin);
    }
    let out = cmd.output().expect("run kodo");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_no_tokens(&env.scenario, &[&stdout, &stderr]);
    (out.status.code(), format!("{stdout}{stderr}"))
}

/// The hook's answer for one flag: allowed (0) or blocked (2).
fn hook_says(env: &TestEnv, key: &str) -> bool {
    let payload = json!({
        "session_id": "s",
        "cwd": env.root().display().to_string(),
        "hook_event_name": "PreToolUse",
        "tool_name": "mcp__posthog__create-feature-flag",
        "tool_input": {"key": key, "name": "A flag", "filters": {"groups": []}, "active": false},
    });
    let (code, text) = output(env, &["hook", "claude"], Some(payload.to_string()));
    match code {
        Some(0) => true,
        Some(2) => {
            assert!(
                text.contains(&format!("`{key}` is not documented")),
                "{text}"
            );
            false
        }
        other => panic!("hook claude on {key}: exit {other:?}\n{text}"),
    }
}

/// Which flags a report of undocumented keys names (one `` `key` `` per line).
fn named(text: &str, key: &str) -> bool {
    text.lines().any(|l| l.contains(&format!("`{key}`")))
}

fn notion_queries(env: &TestEnv) -> usize {
    env.requests()
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/query")))
        .count()
}

/// Each caller's answers, in [`CASES`] order, and how many Notion queries the two gates sent.
fn answers(env: &TestEnv) -> ([Vec<bool>; 3], usize) {
    let hook: Vec<bool> = CASES.iter().map(|(key, _)| hook_says(env, key)).collect();
    env.clear_requests();

    let (code, gate) = output(env, &["hook", "pre-commit"], None);
    assert_eq!(
        code,
        Some(1),
        "the gate blocks the undocumented flags:\n{gate}"
    );
    let gate: Vec<bool> = CASES.iter().map(|(key, _)| !named(&gate, key)).collect();

    let (code, scan) = output(
        env,
        &["scan", "--check", "--no-git", "--format", "json"],
        None,
    );
    assert_eq!(
        code,
        Some(1),
        "scan --check fails on the undocumented flags:\n{scan}"
    );
    let report = scan
        .split("kodo: the code references keys the Notion documentation lacks:")
        .nth(1)
        .unwrap_or_else(|| panic!("no list of undocumented keys:\n{scan}"));
    let scan: Vec<bool> = CASES.iter().map(|(key, _)| !named(report, key)).collect();
    ([hook, gate, scan], notion_queries(env))
}

#[test]
fn hook_gate_and_scan_check_agree_on_every_edge_case() {
    let env = workspace();
    let expected: Vec<bool> = CASES.iter().map(|(_, documented)| *documented).collect();
    // No snapshot: all three ask Notion.
    let ([hook, gate, scan], gate_queries) = answers(&env);
    assert_eq!(hook, expected, "the Claude hook, live ({CASES:?})");
    assert_eq!(gate, expected, "the pre-commit gate, live");
    assert_eq!(scan, expected, "scan --check, live");
    assert!(gate_queries > 0);

    // A fresh snapshot: the gates answer from it offline; the hook still asks Notion first.
    let (code, text) = output(&env, &["snapshot", "refresh"], None);
    assert_eq!(code, Some(0), "{text}");
    let ([hook, gate, scan], gate_queries) = answers(&env);
    assert_eq!(hook, expected, "the Claude hook, with a snapshot");
    assert_eq!(gate, expected, "the pre-commit gate, from the snapshot");
    assert_eq!(scan, expected, "scan --check, from the snapshot");
    assert_eq!(gate_queries, 0, "the gates answered from the snapshot");
}
