//! `kodo hook claude` through the real binary, fed the JSON Claude Code sends to hooks, against
//! the emulator's demo scenario (Notion documents `release_checkout_v2`, "Pricing page layout"
//! and "Product Overview"; it does not document `release_new_api_v2`, `ops_maintenance_mode`,
//! "API Performance" or "Error Tracking").
//!
//! Exit codes as Claude Code reads them: 0 lets the call through (stdout may carry JSON), 2
//! blocks a PreToolUse call and shows stderr to Claude, 1 is a non-blocking error.

use std::net::TcpListener;
use std::path::Path;

use crate::common::{assert_no_tokens, TestEnv};
use serde_json::{json, Value};

const PREFIXES: [&str; 2] = ["mcp__posthog__", "mcp__plugin_posthog_posthog__"];

/// What one run of the hook gave back.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn assert_silent_pass(&self, what: &str) {
        assert_eq!(self.code, Some(0), "{what}: {}", self.stderr);
        assert_eq!(self.stdout, "", "{what}: stdout");
        assert_eq!(self.stderr, "", "{what}: stderr");
    }

    fn assert_blocked(&self, what: &str, names: &[&str]) {
        assert_eq!(self.code, Some(2), "{what}: stderr was {}", self.stderr);
        assert_eq!(self.stdout, "", "{what}: stdout");
        for name in names {
            assert!(
                self.stderr.contains(name),
                "{what}: stderr does not name {name}:\n{}",
                self.stderr
            );
        }
    }
}

fn payload(root: &Path, event: &str, tool: &str, input: Value) -> Value {
    json!({
        "session_id": "0b7c5c1e-3f57-4d0a-9d1e-2c8a4f6b9e10",
        "transcript_path": "/home/dev/.claude/projects/-work-app/0b7c5c1e.jsonl",
        "cwd": root.display().to_string(),
        "permission_mode": "default",
        "hook_event_name": event,
        "tool_name": tool,
        "tool_input": input,
        "tool_use_id": "toolu_01ABCDEF"
    })
}

fn pre(env: &TestEnv, tool: &str, input: Value) -> Value {
    payload(env.root(), "PreToolUse", tool, input)
}

/// A PostToolUse payload whose response is the MCP content block wrapping `text`.
fn post(env: &TestEnv, tool: &str, input: Value, text: &str) -> Value {
    let mut p = payload(env.root(), "PostToolUse", tool, input);
    p["tool_response"] = json!([{"type": "text", "text": text}]);
    p["duration_ms"] = json!(412);
    p
}

fn exec(env: &TestEnv, command: &str) -> Value {
    pre(env, "mcp__posthog__exec", json!({ "command": command }))
}

fn run_stdin(env: &TestEnv, stdin: &str, vars: &[(&str, &str)]) -> Run {
    let mut cmd = env.kodo();
    cmd.args(["hook", "claude"])
        .env_remove("KODO_ALLOW_UNDOCUMENTED")
        .env_remove("KODO_HOOK_TIMEOUT_MS")
        .write_stdin(stdin.to_string());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run kodo hook claude");
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_no_tokens(&env.scenario, &[&run.stdout, &run.stderr]);
    run
}

fn run(env: &TestEnv, payload: &Value) -> Run {
    run_stdin(env, &payload.to_string(), &[])
}

fn set_sync(env: &TestEnv, key: &str, value: Value) {
    let mut config = env.config();
    config["sync"][key] = value;
    env.write_config(&config);
}

/// The demo project with `sync.require_notion_entry: true`.
fn gated() -> TestEnv {
    let env = TestEnv::start("demo");
    set_sync(&env, "require_notion_entry", json!(true));
    env
}

fn set_notion_url(env: &TestEnv, url: &str) {
    let mut config = env.config();
    config["notion"]["baseUrl"] = json!(url);
    env.write_config(&config);
}

/// A loopback URL nothing listens on: port 1, outside the ephemeral range every test server
/// binds in. (A port freed by dropping a listener could be taken by a parallel test's
/// emulator, which would then answer.)
fn closed_port_url() -> String {
    "http://127.0.0.1:1".to_string()
}

/// A loopback server that accepts connections and never answers.
fn silent_server_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

/// A snapshot written just now (fresh: it answers "not documented" too).
fn write_snapshot(env: &TestEnv, flags: &[&str]) -> String {
    let now = kodo::snapshot::now_rfc3339();
    write_snapshot_of(env, &now, flags);
    now
}

fn write_snapshot_of(env: &TestEnv, generated_at: &str, flags: &[&str]) {
    let snapshot = json!({
        "version": 1,
        "generated_at": generated_at,
        "events": [],
        "flags": flags,
        "experiments": [{"name": "Pricing page layout", "flag_key": "exp_pricing_page_layout"}],
        "dashboards": [{"id": 118, "name": "Product Overview"}]
    });
    std::fs::write(
        env.root().join(".kodo/snapshot.json"),
        serde_json::to_string_pretty(&snapshot).expect("json"),
    )
    .expect("write snapshot");
}

fn flag_input(key: &str) -> Value {
    json!({
        "name": "Some flag",
        "key": key,
        "description": "What it gates",
        "filters": {"groups": [{"properties": [], "rollout_percentage": 10}]},
        "active": false,
        "tags": []
    })
}

// ---- PreToolUse ------------------------------------------------------------------------------

#[test]
fn per_tool_creations_of_undocumented_resources_are_blocked_under_any_prefix() {
    let env = gated();
    for prefix in PREFIXES {
        let flag = run(
            &env,
            &pre(
                &env,
                &format!("{prefix}create-feature-flag"),
                flag_input("release_new_api_v2"),
            ),
        );
        flag.assert_blocked(
            prefix,
            &[
                "feature flag `release_new_api_v2` is not documented in Notion (Feature Flags database)",
                "Flag Key = `release_new_api_v2`",
                "kodo ph-sync import flags",
                "KODO_ALLOW_UNDOCUMENTED=1",
            ],
        );

        let experiment = run(
            &env,
            &pre(
                &env,
                &format!("{prefix}experiment-create"),
                json!({"name": "Search ranking", "feature_flag_key": "exp_search_ranking",
                       "description": "Does the new ranking help?", "type": "product"}),
            ),
        );
        experiment.assert_blocked(
            prefix,
            &[
                "experiment `Search ranking` is not documented in Notion (Experiments database)",
                "Experiment Name = `Search ranking` and Flag Key = `exp_search_ranking`",
                "kodo ph-sync import experiments",
            ],
        );

        // The current server's flat input and the legacy server's `data` wrapper.
        for input in [
            json!({"name": "API Performance", "tags": ["technical"]}),
            json!({"data": {"name": "API Performance", "pinned": true}}),
        ] {
            let dashboard = run(
                &env,
                &pre(&env, &format!("{prefix}dashboard-create"), input),
            );
            dashboard.assert_blocked(
                prefix,
                &[
                    "dashboard `API Performance` is not documented in Notion (Dashboards database)",
                    "Dashboard Name = `API Performance`",
                    "kodo ph-sync import dashboards",
                ],
            );
        }
    }
    assert!(env.notion_writes().is_empty(), "PreToolUse never writes");
}

#[test]
fn per_tool_creations_of_documented_resources_pass_silently() {
    let env = gated();
    for prefix in PREFIXES {
        run(
            &env,
            &pre(
                &env,
                &format!("{prefix}create-feature-flag"),
                flag_input("release_checkout_v2"),
            ),
        )
        .assert_silent_pass("documented flag");
        run(
            &env,
            &pre(
                &env,
                &format!("{prefix}experiment-create"),
                json!({"name": "Pricing page layout", "feature_flag_key": "exp_pricing_page_layout"}),
            ),
        )
        .assert_silent_pass("documented experiment");
        run(
            &env,
            &pre(
                &env,
                &format!("{prefix}dashboard-create"),
                json!({"name": "Product Overview"}),
            ),
        )
        .assert_silent_pass("documented dashboard");
    }
}

#[test]
fn exec_mode_calls_are_gated_like_per_tool_calls() {
    let env = gated();
    let undocumented = [
        (
            r#"call create-feature-flag {"key": "ops_maintenance_mode", "name": "Maintenance mode", "filters": {"groups": []}, "active": false}"#,
            "feature flag `ops_maintenance_mode` is not documented",
            "kodo ph-sync import flags",
        ),
        (
            r#"call --json experiment-create '{"name":"Search ranking","feature_flag_key":"exp_search_ranking"}'"#,
            "experiment `Search ranking` is not documented",
            "kodo ph-sync import experiments",
        ),
        (
            r#"call dashboard-create {"name": "Error Tracking"}"#,
            "dashboard `Error Tracking` is not documented",
            "kodo ph-sync import dashboards",
        ),
    ];
    for (command, missing, fix) in undocumented {
        run(&env, &exec(&env, command)).assert_blocked(command, &[missing, fix]);
    }
    for command in [
        r#"call create-feature-flag {"key": "release_checkout_v2", "name": "Checkout v2"}"#,
        r#"call --json experiment-create '{"name":"Pricing page layout","feature_flag_key":"exp_pricing_page_layout"}'"#,
        r#"call dashboard-create {"name": "Product Overview"}"#,
    ] {
        run(&env, &exec(&env, command)).assert_silent_pass(command);
    }
    // The official PostHog plugin's server name too.
    let plugin_exec = pre(
        &env,
        "mcp__plugin_posthog_posthog__exec",
        json!({"command": r#"call create-feature-flag {"key": "release_new_api_v2"}"#}),
    );
    run(&env, &plugin_exec).assert_blocked("plugin exec", &["`release_new_api_v2`"]);
}

#[test]
fn unrelated_tools_pass_at_once_without_touching_the_network() {
    let env = gated();
    env.clear_requests();
    for payload in [
        pre(
            &env,
            "mcp__posthog__feature-flag-get-all",
            json!({"data": {"limit": 100}}),
        ),
        pre(
            &env,
            "Bash",
            json!({"command": "call create-feature-flag {\"key\":\"release_new_api_v2\"}"}),
        ),
        exec(&env, "call feature-flag-get-all {}"),
        exec(&env, "info create-feature-flag"),
        pre(
            &env,
            "mcp__posthog__update-feature-flag",
            json!({"flagKey": "release_new_api_v2", "data": {"active": true}}),
        ),
    ] {
        run(&env, &payload).assert_silent_pass(&payload["tool_name"].to_string());
    }
    assert_eq!(env.requests(), Vec::<Value>::new());
}

#[test]
fn without_require_notion_entry_nothing_is_blocked_or_asked() {
    let env = TestEnv::start("demo");
    set_sync(&env, "require_notion_entry", json!(false));
    env.clear_requests();
    run(
        &env,
        &pre(
            &env,
            "mcp__posthog__create-feature-flag",
            flag_input("release_new_api_v2"),
        ),
    )
    .assert_silent_pass("require_notion_entry off");
    assert_eq!(env.requests(), Vec::<Value>::new());
}

#[test]
fn the_environment_variable_lets_undocumented_creations_through() {
    let env = gated();
    let call = pre(
        &env,
        "mcp__posthog__create-feature-flag",
        flag_input("release_new_api_v2"),
    );
    for value in ["1", "true"] {
        let allowed = run_stdin(
            &env,
            &call.to_string(),
            &[("KODO_ALLOW_UNDOCUMENTED", value)],
        );
        assert_eq!(allowed.code, Some(0), "{}", allowed.stderr);
        assert_eq!(allowed.stdout, "");
        assert!(
            allowed.stderr.contains("KODO_ALLOW_UNDOCUMENTED is set")
                && allowed.stderr.contains("`release_new_api_v2`"),
            "{}",
            allowed.stderr
        );
    }
    let still_blocked = run_stdin(&env, &call.to_string(), &[("KODO_ALLOW_UNDOCUMENTED", "0")]);
    still_blocked.assert_blocked("KODO_ALLOW_UNDOCUMENTED=0", &["`release_new_api_v2`"]);
}

#[test]
fn the_config_is_found_from_the_sessions_directory() {
    let env = gated();
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let call = pre(
        &env,
        "mcp__posthog__create-feature-flag",
        flag_input("release_new_api_v2"),
    );
    let out = env
        .kodo()
        .current_dir(elsewhere.path())
        .args(["hook", "claude"])
        .env_remove("KODO_ALLOW_UNDOCUMENTED")
        .write_stdin(call.to_string())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`release_new_api_v2`"));

    // A session in a directory without kodo is left alone.
    let mut foreign = call.clone();
    foreign["cwd"] = json!(elsewhere.path().display().to_string());
    run(&env, &foreign).assert_silent_pass("project without kodo");
}

#[test]
fn a_broken_config_is_reported_without_blocking() {
    let env = gated();
    std::fs::write(env.config_path(), "{\"posthog\": ").expect("write");
    let out = run(
        &env,
        &pre(
            &env,
            "mcp__posthog__create-feature-flag",
            flag_input("release_new_api_v2"),
        ),
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains("the kodo config cannot be used, so the documentation check was skipped")
            && out.stderr.contains("malformed JSON"),
        "{}",
        out.stderr
    );
}

#[test]
fn malformed_stdin_is_a_clear_non_blocking_error() {
    let env = gated();
    for (stdin, detail) in [
        ("not json", "not valid JSON (line 1, column 2)"),
        ("[]", "must be a JSON object, found an array"),
        ("", "no hook input on stdin"),
        ("{\"tool_name\": \"Bash\"}", "`hook_event_name` is missing"),
    ] {
        let out = run_stdin(&env, stdin, &[]);
        assert_eq!(out.code, Some(1), "{stdin:?}: {}", out.stderr);
        assert_eq!(out.stdout, "");
        assert!(
            out.stderr
                .contains("kodo hook claude: cannot read the hook input: ")
                && out.stderr.contains(detail),
            "{stdin:?}: {}",
            out.stderr
        );
    }
}

// ---- offline ---------------------------------------------------------------------------------

#[test]
fn unreachable_notion_falls_back_to_the_snapshot() {
    let env = gated();
    set_notion_url(&env, &closed_port_url());
    let generated_at = write_snapshot(&env, &["release_new_api_v2"]);
    run(
        &env,
        &pre(
            &env,
            "mcp__posthog__create-feature-flag",
            flag_input("release_new_api_v2"),
        ),
    )
    .assert_silent_pass("listed in the snapshot");
    run(
        &env,
        &exec(
            &env,
            r#"call dashboard-create {"name": "Product Overview"}"#,
        ),
    )
    .assert_silent_pass("dashboard listed in the snapshot");

    let blocked = run(
        &env,
        &pre(
            &env,
            "mcp__posthog__create-feature-flag",
            flag_input("ops_maintenance_mode"),
        ),
    );
    blocked.assert_blocked(
        "not in the snapshot",
        &[
            "feature flag `ops_maintenance_mode` is not documented",
            &format!("(answered from the snapshot of {generated_at}: Notion did not answer"),
        ],
    );
}

/// An `https://` base on a loopback server that is not TLS: it answers each connection in
/// plain HTTP and closes it.
fn plain_text_https_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            use std::io::Write;
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        }
    });
    format!("https://{addr}")
}

#[test]
fn a_dns_or_tls_failure_answers_from_the_snapshot_at_once_not_after_the_timeout() {
    let env = gated();
    let generated_at = write_snapshot(&env, &["release_new_api_v2"]);
    for (url, cause) in [
        // `.invalid` never resolves (RFC 6761): no network needed.
        (
            "https://kodo-test.invalid".to_string(),
            "the host name kodo-test.invalid does not resolve (DNS)",
        ),
        (plain_text_https_url(), "the TLS handshake with 127.0.0.1:"),
    ] {
        set_notion_url(&env, &url);
        let blocked = run(
            &env,
            &pre(
                &env,
                "mcp__posthog__create-feature-flag",
                flag_input("ops_maintenance_mode"),
            ),
        );
        // The reason is the error of the one attempt made, not the step's timeout.
        blocked.assert_blocked(
            "not in the snapshot",
            &[
                &format!("(answered from the snapshot of {generated_at}: Notion did not answer: "),
                cause,
                "after 1 attempt",
            ],
        );
        assert!(
            !blocked.stderr.contains("no answer within"),
            "{}",
            blocked.stderr
        );
    }
}

#[test]
fn a_stale_snapshot_vouches_for_what_it_lists_and_no_more() {
    // The git gates' rule: a snapshot older than sync.snapshot_max_age_hours cannot say
    // "not documented", so Notion's silence leaves the offline policy to decide.
    let env = gated();
    set_notion_url(&env, &closed_port_url());
    write_snapshot_of(&env, "2026-05-01T12:00:00Z", &["release_new_api_v2"]);
    run(
        &env,
        &pre(
            &env,
            "mcp__posthog__create-feature-flag",
            flag_input("release_new_api_v2"),
        ),
    )
    .assert_silent_pass("listed in a stale snapshot");
    let call = pre(
        &env,
        "mcp__posthog__create-feature-flag",
        flag_input("ops_maintenance_mode"),
    );
    run(&env, &call).assert_blocked(
        "not in a stale snapshot, default policy",
        &[
            "cannot tell whether feature flag `ops_maintenance_mode` is documented",
            "the snapshot `.kodo/snapshot.json` is ",
            "sync.offline_policy is \"block\"",
        ],
    );
    set_sync(&env, "offline_policy", json!("allow"));
    let allowed = run(&env, &call);
    assert_eq!(allowed.code, Some(0), "{}", allowed.stderr);
}

#[test]
fn unreachable_notion_without_a_snapshot_follows_the_offline_policy() {
    let env = gated();
    set_notion_url(&env, &closed_port_url());
    let call = pre(
        &env,
        "mcp__plugin_posthog_posthog__create-feature-flag",
        flag_input("release_checkout_v2"),
    );
    let blocked = run(&env, &call);
    blocked.assert_blocked(
        "offline, default policy",
        &[
            "cannot tell whether feature flag `release_checkout_v2` is documented",
            "Notion could not be reached",
            "there is no snapshot",
            "KODO_ALLOW_UNDOCUMENTED=1",
            "sync.offline_policy to \"allow\"",
        ],
    );

    set_sync(&env, "offline_policy", json!("allow"));
    let allowed = run(&env, &call);
    assert_eq!(allowed.code, Some(0), "{}", allowed.stderr);
    assert_eq!(allowed.stdout, "");
    assert!(
        allowed.stderr.starts_with("warning: ")
            && allowed.stderr.contains("sync.offline_policy is \"allow\""),
        "{}",
        allowed.stderr
    );
}

#[test]
fn a_notion_that_never_answers_does_not_hang_the_hook() {
    let env = gated();
    set_notion_url(&env, &silent_server_url());
    write_snapshot(&env, &["release_new_api_v2"]);
    let fast = [("KODO_HOOK_TIMEOUT_MS", "300")];
    let documented = run_stdin(
        &env,
        &pre(
            &env,
            "mcp__posthog__create-feature-flag",
            flag_input("release_new_api_v2"),
        )
        .to_string(),
        &fast,
    );
    documented.assert_silent_pass("hanging Notion, listed in the snapshot");
    let undocumented = run_stdin(
        &env,
        &exec(
            &env,
            r#"call --json experiment-create '{"name":"Search ranking","feature_flag_key":"exp_search_ranking"}'"#,
        )
        .to_string(),
        &fast,
    );
    undocumented.assert_blocked(
        "hanging Notion, not in the snapshot",
        &[
            "experiment `Search ranking` is not documented",
            "Notion did not answer: no answer within 0.3 s",
        ],
    );
}

#[test]
fn live_notion_wins_over_a_snapshot_that_disagrees() {
    let env = gated();
    // The snapshot says documented; Notion, reachable, says otherwise.
    write_snapshot(&env, &["release_new_api_v2"]);
    run(
        &env,
        &pre(
            &env,
            "mcp__posthog__create-feature-flag",
            flag_input("release_new_api_v2"),
        ),
    )
    .assert_blocked("live answer", &["`release_new_api_v2` is not documented"]);
}

// ---- PostToolUse -----------------------------------------------------------------------------

/// Creates `body` in the emulator's PostHog (as the MCP tool did) and returns PostHog's answer.
fn posthog_create(env: &TestEnv, resource: &str, body: Value) -> Value {
    env.sandbox
        .admin_send("POST", &format!("/posthog/{resource}"), body)
}

fn additional_context(out: &Run) -> String {
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let value: Value = serde_json::from_str(out.stdout.trim()).expect("stdout is one JSON object");
    assert_eq!(value["hookSpecificOutput"]["hookEventName"], "PostToolUse");
    value["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .expect("additionalContext")
        .to_string()
}

#[test]
fn a_created_flag_gets_its_notion_row_once() {
    let env = TestEnv::start("demo");
    let before = env.rows("feature_flags").len();
    let created = posthog_create(
        &env,
        "feature_flags",
        json!({"key": "release_search_v3", "name": "Search v3", "active": false,
               "filters": {"groups": [{"properties": [], "rollout_percentage": 0}]}}),
    );
    let call = post(
        &env,
        "mcp__posthog__create-feature-flag",
        flag_input("release_search_v3"),
        &created.to_string(),
    );
    let first = run(&env, &call);
    let context = additional_context(&first);
    assert!(
        context.starts_with(
            "kodo documented feature flag `release_search_v3` in Notion (Feature Flags database, created)"
        ),
        "{context}"
    );
    let row = env.row_where("feature_flags", "Flag Key", "release_search_v3");
    assert_eq!(crate::common::plain(&row["properties"]["Status"]), "draft");
    assert_eq!(env.rows("feature_flags").len(), before + 1);

    env.clear_requests();
    let again = run(&env, &call);
    assert!(
        additional_context(&again).contains("(Feature Flags database, unchanged"),
        "{}",
        again.stdout
    );
    assert_eq!(env.rows("feature_flags").len(), before + 1);
    assert!(
        env.notion_writes().is_empty(),
        "a repeated call writes nothing"
    );
}

#[test]
fn an_active_flag_is_rolling_out_and_a_documented_one_is_updated() {
    let env = TestEnv::start("demo");
    let created = posthog_create(
        &env,
        "feature_flags",
        json!({"key": "beta_bulk_edit", "name": "Bulk edit", "active": true,
               "filters": {"groups": [{"properties": [], "rollout_percentage": 50}]}}),
    );
    let out = run(
        &env,
        &post(
            &env,
            "mcp__plugin_posthog_posthog__create-feature-flag",
            flag_input("beta_bulk_edit"),
            &created.to_string(),
        ),
    );
    assert!(additional_context(&out).contains("created"));
    let row = env.row_where("feature_flags", "Flag Key", "beta_bulk_edit");
    assert_eq!(
        crate::common::plain(&row["properties"]["Status"]),
        "rolling_out"
    );

    // Documented first as `draft` (the demo's `release_checkout_v2`), live at 100% in PostHog:
    // the row is updated in place.
    let flag = env.sandbox.admin_send(
        "PATCH",
        "/posthog/feature_flags/201",
        json!({"active": true}),
    );
    let before = env.rows("feature_flags").len();
    let out = run(
        &env,
        &post(
            &env,
            "mcp__posthog__create-feature-flag",
            flag_input("release_checkout_v2"),
            &flag.to_string(),
        ),
    );
    let context = additional_context(&out);
    assert!(
        context.contains("feature flag `release_checkout_v2`")
            && context.contains("updated: ")
            && context.contains("Status"),
        "{context}"
    );
    let row = env.row_where("feature_flags", "Flag Key", "release_checkout_v2");
    assert_eq!(crate::common::plain(&row["properties"]["Status"]), "active");
    assert_eq!(env.rows("feature_flags").len(), before);
}

#[test]
fn a_created_experiment_and_dashboard_are_documented() {
    let env = TestEnv::start("demo");
    let experiment = posthog_create(
        &env,
        "experiments",
        json!({"name": "Search ranking", "feature_flag_key": "exp_search_ranking",
               "description": "Does the new ranking help?"}),
    );
    let out = run(
        &env,
        &post(
            &env,
            "mcp__posthog__exec",
            json!({"command": r#"call --json experiment-create '{"name":"Search ranking","feature_flag_key":"exp_search_ranking"}'"#}),
            &experiment.to_string(),
        ),
    );
    assert!(
        additional_context(&out).starts_with(
            "kodo documented experiment `Search ranking` in Notion (Experiments database, created)"
        ),
        "{}",
        out.stdout
    );
    let row = env.row_where("experiments", "Experiment Name", "Search ranking");
    assert_eq!(crate::common::plain(&row["properties"]["Status"]), "draft");
    assert_eq!(
        crate::common::plain(&row["properties"]["Flag Key"]),
        "exp_search_ranking"
    );

    let dashboard = posthog_create(
        &env,
        "dashboards",
        json!({"name": "Search Health", "tags": ["technical"]}),
    );
    let call = post(
        &env,
        "mcp__plugin_posthog_posthog__dashboard-create",
        json!({"name": "Search Health", "tags": ["technical"]}),
        &dashboard.to_string(),
    );
    let out = run(&env, &call);
    assert!(additional_context(&out).contains("dashboard `Search Health`"));
    let row = env.row_where("dashboards", "Dashboard Name", "Search Health");
    assert_eq!(
        crate::common::plain(&row["properties"]["ID"]),
        dashboard["id"].to_string()
    );
    let again = run(&env, &call);
    assert!(additional_context(&again).contains("unchanged"));
    env.row_where("dashboards", "Dashboard Name", "Search Health");
}

#[test]
fn a_text_only_response_is_read_back_from_posthog() {
    let env = TestEnv::start("demo");
    // CLI mode without --json prints text; the flag exists in PostHog (demo, undocumented).
    let out = run(
        &env,
        &post(
            &env,
            "mcp__posthog__exec",
            json!({"command": r#"call create-feature-flag {"key": "ops_maintenance_mode", "name": "Maintenance mode"}"#}),
            "Created feature flag ops_maintenance_mode (id 209): inactive, 0% rollout",
        ),
    );
    assert!(
        additional_context(&out).contains("feature flag `ops_maintenance_mode`"),
        "{}",
        out.stdout
    );
    let row = env.row_where("feature_flags", "Flag Key", "ops_maintenance_mode");
    assert_eq!(crate::common::plain(&row["properties"]["Status"]), "draft");
}

/// A dashboard name may hold 400 characters, PostHog's `?search=` at most 200 (a longer one is
/// a 400, `MAX_SEARCH_LENGTH`): the read-back searches by the name's first 200 characters and
/// still finds it.
#[test]
fn a_dashboard_with_a_long_name_is_read_back_through_a_capped_search() {
    let env = TestEnv::start("demo");
    let name = format!("Weekly metrics review {}", "é".repeat(250));
    posthog_create(&env, "dashboards", json!({ "name": name }));
    env.clear_requests();
    let out = run(
        &env,
        &post(
            &env,
            "mcp__posthog__dashboard-create",
            json!({ "name": name }),
            "Created the dashboard.",
        ),
    );
    assert!(
        additional_context(&out).contains("kodo documented dashboard"),
        "{}",
        out.stdout
    );
    let reads = posthog_reads(&env);
    assert!(
        reads
            .iter()
            .all(|r| r.contains("search=") && r.len() < 200 * 6 + 200),
        "{reads:?}"
    );
    env.row_where("dashboards", "Dashboard Name", &name);
}

#[test]
fn nothing_is_written_when_auto_sync_is_off_or_the_tool_failed() {
    let env = TestEnv::start("demo");
    let created = posthog_create(
        &env,
        "feature_flags",
        json!({"key": "release_search_v3", "active": false}),
    );
    let call = post(
        &env,
        "mcp__posthog__create-feature-flag",
        flag_input("release_search_v3"),
        &created.to_string(),
    );
    set_sync(&env, "auto_sync_on_create", json!(false));
    env.clear_requests();
    run(&env, &call).assert_silent_pass("auto_sync_on_create off");
    assert_eq!(env.requests(), Vec::<Value>::new());

    set_sync(&env, "auto_sync_on_create", json!(true));
    let mut failed = call.clone();
    failed["tool_response"] = json!({
        "content": [{"type": "text", "text": "Error: A feature flag with this key already exists."}],
        "isError": true
    });
    run(&env, &failed).assert_silent_pass("failed tool call");
    let mut error_text = call;
    error_text["tool_response"] = json!([{"type": "text",
        "text": "Error: Failed to create feature flag: There is already a feature flag with this key."}]);
    run(&env, &error_text).assert_silent_pass("error text");
    assert!(env.notion_writes().is_empty());
    assert!(env
        .column("feature_flags", "Flag Key")
        .iter()
        .all(|k| k != "release_search_v3"));
}

#[test]
fn a_failed_notion_write_is_reported_without_blocking() {
    let env = TestEnv::start("demo");
    let created = posthog_create(
        &env,
        "feature_flags",
        json!({"key": "release_search_v3", "active": false}),
    );
    set_notion_url(&env, &closed_port_url());
    let out = run(
        &env,
        &post(
            &env,
            "mcp__posthog__create-feature-flag",
            flag_input("release_search_v3"),
            &created.to_string(),
        ),
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains(
            "feature flag `release_search_v3` was created in PostHog, but its Notion entry was not written"
        ) && out.stderr.contains("Run `kodo ph-sync import flags` to document it."),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_notion_token_is_answered_like_an_unreachable_notion() {
    let env = gated();
    std::fs::remove_file(env.root().join(".env")).expect("remove .env");
    let call = pre(
        &env,
        "mcp__posthog__create-feature-flag",
        flag_input("release_checkout_v2"),
    );
    let out = env
        .kodo()
        .env_remove("NOTION_API_KEY")
        .env_remove("KODO_ALLOW_UNDOCUMENTED")
        .args(["hook", "claude"])
        .write_stdin(call.to_string())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`NOTION_API_KEY` is not set") && stderr.contains("there is no snapshot"),
        "{stderr}"
    );

    write_snapshot(&env, &["release_checkout_v2"]);
    let out = env
        .kodo()
        .env_remove("NOTION_API_KEY")
        .args(["hook", "claude"])
        .write_stdin(call.to_string())
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every creation path of PostHog's MCP server is gated (products/experiments/mcp/tools.yaml):
/// duplicating, copying into this project and creating from a prompt; the flag
/// `experiment-create` makes for itself; and an experiment is documented only by its own row.
#[test]
fn every_experiment_creation_path_is_gated() {
    let env = gated();
    let project = env.config()["posthog"]["project_id"].clone();
    let project = project
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| project.to_string());
    let blocked = [
        (
            "experiment-duplicate",
            json!({"id": 31, "name": "Pricing page layout v2", "feature_flag_key": "exp_pricing_v2"}),
            "experiment `Pricing page layout v2` is not documented",
        ),
        (
            "experiment-duplicate",
            json!({"id": 31}),
            "`experiment-duplicate` was called without `name`",
        ),
        (
            "experiment-copy-to-project",
            json!({"id": 31, "target_team_id": project, "name": "Search ranking"}),
            "experiment `Search ranking` is not documented",
        ),
        (
            "experiment-create-from-prompt",
            json!({"prompt_name": "onboarding-tips", "versions": [1, 2], "templates": ["cost"],
                   "name": "Onboarding tips prompt"}),
            "experiment `Onboarding tips prompt` is not documented",
        ),
        (
            "experiment-create-from-prompt",
            json!({"prompt_name": "onboarding-tips", "versions": [1, 2], "templates": ["cost"]}),
            "`experiment-create-from-prompt` was called without `name`",
        ),
        // Documented experiment, but the flag PostHog creates for it is not.
        (
            "experiment-create",
            json!({"name": "Pricing page layout", "feature_flag_key": "exp_pricing_brand_new"}),
            "its feature flag `exp_pricing_brand_new`",
        ),
        // Another experiment's row on the same flag does not document a new experiment.
        (
            "experiment-create",
            json!({"name": "Pricing layout rerun", "feature_flag_key": "exp_pricing_page_layout"}),
            "experiment `Pricing layout rerun` is not documented",
        ),
    ];
    for (tool, input, message) in &blocked {
        for prefix in PREFIXES {
            let what = format!("{prefix}{tool} {input}");
            run(&env, &pre(&env, &format!("{prefix}{tool}"), input.clone()))
                .assert_blocked(&what, &[message, "KODO_ALLOW_UNDOCUMENTED=1"]);
        }
        // The CLI mode's single tool, same arguments.
        let command = format!("call --json {tool} '{input}'");
        run(&env, &exec(&env, &command)).assert_blocked(&command, &[message]);
    }
    // A copy into another project is not this project's documentation.
    run(
        &env,
        &pre(
            &env,
            "mcp__posthog__experiment-copy-to-project",
            json!({"id": 31, "target_team_id": 99999, "name": "Search ranking"}),
        ),
    )
    .assert_silent_pass("copy to another project");
    // Documented, with its documented flag: through.
    run(
        &env,
        &exec(
            &env,
            r#"call experiment-duplicate {"id": 31, "name": "Pricing page layout", "feature_flag_key": "release_checkout_v2"}"#,
        ),
    )
    .assert_silent_pass("documented duplicate");
    assert!(env.notion_writes().is_empty(), "PreToolUse never writes");
}

/// The PostHog requests of the log, as `METHOD path?query`.
fn posthog_reads(env: &TestEnv) -> Vec<String> {
    env.requests()
        .into_iter()
        .filter(|r| r["service"] == "posthog")
        .map(|r| {
            format!(
                "{} {}?{}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or(""),
                r["query"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Without the created object in the tool's output, the read-back asks PostHog for it by id
/// (when the output has one) or through the list's `?search=`, never for whole lists.
#[test]
fn the_read_back_searches_or_reads_by_id_never_whole_lists() {
    let env = TestEnv::start("demo");
    let cases = [
        (
            r#"call create-feature-flag {"key": "ops_maintenance_mode"}"#,
            "Created feature flag ops_maintenance_mode",
            "/feature_flags",
        ),
        (
            r#"call experiment-create {"name": "Search ranking", "feature_flag_key": "exp_search_ranking"}"#,
            "Created experiment Search ranking",
            "/experiments",
        ),
        (
            r#"call dashboard-create {"name": "API Performance"}"#,
            "Created dashboard API Performance",
            "/dashboards",
        ),
    ];
    posthog_create(
        &env,
        "experiments",
        json!({"name": "Search ranking", "feature_flag_key": "exp_search_ranking"}),
    );
    for (command, text, list) in cases {
        env.clear_requests();
        let out = run(
            &env,
            &post(
                &env,
                "mcp__posthog__exec",
                json!({ "command": command }),
                text,
            ),
        );
        additional_context(&out);
        let reads = posthog_reads(&env);
        assert!(!reads.is_empty(), "{command}: nothing read back");
        for read in &reads {
            assert!(
                read.contains(list) && read.contains("search="),
                "{command}: {read} is not a search ({reads:?})"
            );
        }
    }
    // Output with only an id: read by id.
    let created = posthog_create(&env, "dashboards", json!({"name": "Search Latency"}));
    let id = created["id"].as_i64().unwrap();
    env.clear_requests();
    let out = run(
        &env,
        &post(
            &env,
            "mcp__posthog__dashboard-create",
            json!({"name": "Search Latency"}),
            &json!({"id": id}).to_string(),
        ),
    );
    additional_context(&out);
    let reads = posthog_reads(&env);
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert!(reads[0].contains(&format!("/dashboards/{id}")), "{reads:?}");
    env.row_where("dashboards", "Dashboard Name", "Search Latency");
}

/// `feature-flags-copy-flags-create` (PostHog/posthog
/// `services/mcp/src/tools/generated/feature_flags.ts`: `feature_flag_key`, `from_project`,
/// `target_project_ids`) creates the flag in every target project: gated when this project is
/// a target, through when it is not; afterwards this project's copy is read back from PostHog,
/// not taken from the response, which lists every target's copy.
#[test]
fn a_flag_copy_into_this_project_is_gated_and_its_copy_documented() {
    let env = gated();
    let project: i64 = env.config()["posthog"]["project_id"]
        .as_str()
        .expect("project_id")
        .parse()
        .expect("numeric project id");
    let copy = |key: &str, targets: Value| {
        json!({"feature_flag_key": key, "from_project": 99998, "target_project_ids": targets,
               "copy_schedule": false, "disable_copied_flag": true})
    };
    for prefix in PREFIXES {
        let tool = format!("{prefix}feature-flags-copy-flags-create");
        run(
            &env,
            &pre(
                &env,
                &tool,
                copy("ops_maintenance_mode", json!([99999, project])),
            ),
        )
        .assert_blocked(
            &tool,
            &["feature flag `ops_maintenance_mode` is not documented"],
        );
        run(
            &env,
            &pre(&env, &tool, copy("ops_maintenance_mode", json!([99999]))),
        )
        .assert_silent_pass("a copy into another project only");
        run(
            &env,
            &pre(&env, &tool, copy("release_checkout_v2", json!([project]))),
        )
        .assert_silent_pass("a documented flag");
    }
    let command = format!(
        "call feature-flags-copy-flags-create '{}'",
        copy("ops_maintenance_mode", json!([project]))
    );
    run(&env, &exec(&env, &command)).assert_blocked(&command, &["`ops_maintenance_mode`"]);
    assert!(env.notion_writes().is_empty(), "PreToolUse never writes");

    // PostToolUse: PostHog made this project's copy; the response lists another target's first.
    posthog_create(
        &env,
        "feature_flags",
        json!({"key": "beta_copied_search", "name": "Copied search", "active": false,
               "filters": {"groups": [{"properties": [], "rollout_percentage": 0}]}}),
    );
    let response = json!({
        "success": [
            {"id": 987654, "key": "beta_copied_search", "name": "Another project's copy",
             "active": true, "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}},
        ],
        "failed": []
    });
    env.clear_requests();
    let out = run(
        &env,
        &post(
            &env,
            "mcp__posthog__feature-flags-copy-flags-create",
            copy("beta_copied_search", json!([99999, project])),
            &response.to_string(),
        ),
    );
    let context = additional_context(&out);
    assert!(context.contains("`beta_copied_search`"), "{context}");
    let reads = posthog_reads(&env);
    assert!(
        reads
            .iter()
            .any(|r| r.contains("/feature_flags") && r.contains("search=beta_copied_search")),
        "this project's copy is read back: {reads:?}"
    );
    assert!(!reads.iter().any(|r| r.contains("987654")), "{reads:?}");
    let row = env.row_where("feature_flags", "Flag Key", "beta_copied_search");
    let row = row.to_string();
    assert!(!row.contains("Another project's copy"), "{row}");
    assert!(row.contains("Copied search"), "{row}");
}
