//! Both hooks' messages: the Claude Code hook's allow, deny (reason text) and PostToolUse JSON,
//! and the git pre-commit gate's block and warning reports.

use serde_json::{json, Value};

use super::{check, run, run_std, Out};
use crate::common::TestEnv;
use crate::precommit_support::{closed_port_url, hours_ago, Repo};

// ---- Claude Code hook ------------------------------------------------------------------------

fn payload(env: &TestEnv, event: &str, tool: &str, input: Value) -> Value {
    json!({
        "session_id": "0b7c5c1e-3f57-4d0a-9d1e-2c8a4f6b9e10",
        "cwd": env.root().display().to_string(),
        "hook_event_name": event,
        "tool_name": tool,
        "tool_input": input,
        "tool_use_id": "toolu_01ABCDEF"
    })
}

fn flag_input(key: &str) -> Value {
    json!({"name": "Some flag", "key": key, "active": false,
           "filters": {"groups": [{"properties": [], "rollout_percentage": 10}]}})
}

fn claude(env: &TestEnv, stdin: &str, vars: &[(&str, &str)]) -> Out {
    let mut cmd = env.kodo();
    cmd.args(["hook", "claude"])
        .env_remove("KODO_ALLOW_UNDOCUMENTED")
        .env_remove("KODO_HOOK_TIMEOUT_MS")
        .write_stdin(stdin.to_string());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

fn set(env: &TestEnv, path: &[&str], value: Value) {
    let mut config = env.config();
    let mut at = &mut config;
    for key in &path[..path.len() - 1] {
        at = &mut at[*key];
    }
    at[path[path.len() - 1]] = value;
    env.write_config(&config);
}

fn gated() -> TestEnv {
    let env = TestEnv::start("demo");
    set(&env, &["sync", "require_notion_entry"], json!(true));
    env
}

#[test]
fn claude_pre_tool_use_allows_and_denies() {
    let env = gated();
    let snap = |name: &str, tool: &str, input: Value| {
        let call = payload(&env, "PreToolUse", tool, input);
        check(name, env.root(), &claude(&env, &call.to_string(), &[]));
    };
    snap(
        "claude_pre_documented_flag_allowed",
        "mcp__posthog__create-feature-flag",
        flag_input("release_checkout_v2"),
    );
    snap(
        "claude_pre_undocumented_flag_denied",
        "mcp__posthog__create-feature-flag",
        flag_input("release_new_api_v2"),
    );
    snap(
        "claude_pre_undocumented_experiment_denied",
        "mcp__posthog__exec",
        json!({"command": r#"call --json experiment-create '{"name":"Search ranking","feature_flag_key":"exp_search_ranking"}'"#}),
    );
    snap(
        "claude_pre_undocumented_dashboard_denied",
        "mcp__plugin_posthog_posthog__dashboard-create",
        json!({"name": "API Performance"}),
    );
    let call = payload(
        &env,
        "PreToolUse",
        "mcp__posthog__create-feature-flag",
        flag_input("release_new_api_v2"),
    );
    let out = claude(&env, &call.to_string(), &[("KODO_ALLOW_UNDOCUMENTED", "1")]);
    check("claude_pre_escape_hatch_note", env.root(), &out);
}

#[test]
fn claude_pre_tool_use_offline() {
    let env = gated();
    set(&env, &["notion", "baseUrl"], json!(closed_port_url()));
    let call = |key: &str| {
        payload(
            &env,
            "PreToolUse",
            "mcp__posthog__create-feature-flag",
            flag_input(key),
        )
        .to_string()
    };
    check(
        "claude_pre_offline_no_snapshot_blocked",
        env.root(),
        &claude(&env, &call("release_checkout_v2"), &[]),
    );
    set(&env, &["sync", "offline_policy"], json!("allow"));
    check(
        "claude_pre_offline_no_snapshot_allowed",
        env.root(),
        &claude(&env, &call("release_checkout_v2"), &[]),
    );
    std::fs::write(
        env.root().join(".kodo/snapshot.json"),
        json!({"version": 1, "generated_at": kodo::snapshot::now_rfc3339(),
               "flags": ["release_checkout_v2"]})
        .to_string(),
    )
    .expect("write snapshot");
    check(
        "claude_pre_offline_snapshot_denied",
        env.root(),
        &claude(&env, &call("ops_maintenance_mode"), &[]),
    );
}

#[test]
fn claude_post_tool_use_context_json() {
    let env = TestEnv::start("demo");
    let created = env.sandbox.admin_send(
        "POST",
        "/posthog/feature_flags",
        json!({"key": "release_search_v3", "name": "Search v3", "active": false,
               "filters": {"groups": [{"properties": [], "rollout_percentage": 0}]}}),
    );
    let mut call = payload(
        &env,
        "PostToolUse",
        "mcp__posthog__create-feature-flag",
        flag_input("release_search_v3"),
    );
    call["tool_response"] = json!([{"type": "text", "text": created.to_string()}]);
    check(
        "claude_post_flag_created",
        env.root(),
        &claude(&env, &call.to_string(), &[]),
    );
    check(
        "claude_post_flag_unchanged",
        env.root(),
        &claude(&env, &call.to_string(), &[]),
    );
    // A failed tool call documents nothing and says nothing.
    call["tool_response"] = json!({"content": [], "isError": true});
    check(
        "claude_post_failed_tool_call",
        env.root(),
        &claude(&env, &call.to_string(), &[]),
    );
}

#[test]
fn claude_hook_errors() {
    let env = gated();
    check(
        "claude_malformed_input",
        env.root(),
        &claude(&env, "{not json", &[]),
    );
    std::fs::write(
        env.config_path(),
        "{\"sync\": {\"require_notion_entry\": \"yes\"}}\n",
    )
    .expect("write config");
    let call = payload(
        &env,
        "PreToolUse",
        "mcp__posthog__create-feature-flag",
        flag_input("release_new_api_v2"),
    );
    check(
        "claude_broken_config",
        env.root(),
        &claude(&env, &call.to_string(), &[]),
    );
}

// ---- git pre-commit gate ---------------------------------------------------------------------

const APP: &str = "src/app.ts";

fn app_with(lines: &[&str]) -> String {
    let mut text = String::from("import posthog from 'posthog-js'\n\nexport function main() {\n");
    for l in lines {
        text.push_str("  ");
        text.push_str(l);
        text.push('\n');
    }
    text.push_str("}\n");
    text
}

fn gate(repo: &Repo, name: &str, args: &[&str]) {
    let out = run_std(&mut repo.kodo(args));
    check(name, &repo.path(""), &out);
}

#[test]
fn pre_commit_blocks_and_warns() {
    let repo = Repo::with_kodo(&["user_signed_up"], &["known-flag"]);
    repo.write(
        APP,
        &app_with(&[
            "posthog.capture('user_signed_up')",
            "posthog.capture('checkout_started')",
            "posthog.capture(`dynamic_${kind}`)",
            "posthog.capture('legacy_event') // kodo-ignore: removed next sprint",
        ]),
    );
    repo.write(
        "app/views.py",
        "from posthog import Posthog\nposthog = Posthog('k')\n\nif posthog.feature_enabled('new-pricing', 'user-1'):\n    pass\n",
    );
    repo.git(&["add", "."]);
    gate(&repo, "precommit_block_md", &["hook", "pre-commit"]);
    gate(
        &repo,
        "precommit_block_json",
        &["hook", "pre-commit", "--format", "json"],
    );
}

#[test]
fn pre_commit_waiver_without_a_reason() {
    let repo = Repo::with_kodo(&["user_signed_up"], &[]);
    repo.write(
        APP,
        &app_with(&[
            "posthog.capture(`dynamic_${kind}`)",
            "posthog.capture('checkout_started') // kodo-ignore",
        ]),
    );
    repo.git(&["add", "."]);
    gate(
        &repo,
        "precommit_waiver_without_reason_blocks",
        &["hook", "pre-commit"],
    );
}

#[test]
fn pre_commit_offline_with_a_stale_snapshot() {
    let repo = Repo::with_kodo(&["user_signed_up"], &[]);
    repo.snapshot(&hours_ago(24 * 30), &["user_signed_up"], &[]);
    repo.write(APP, &app_with(&["posthog.capture('checkout_started')"]));
    repo.git(&["add", "."]);
    gate(&repo, "precommit_unverified_warns", &["hook", "pre-commit"]);
    repo.config(&closed_port_url(), json!({"strict_offline": true}));
    gate(
        &repo,
        "precommit_unverified_strict_blocks",
        &["hook", "pre-commit"],
    );
}

#[test]
fn hooks_install_messages() {
    let repo = Repo::with_kodo(&[], &[]);
    gate(&repo, "hooks_install_pre_commit", &["hooks", "install"]);
    gate(
        &repo,
        "hooks_install_pre_commit_again",
        &["hooks", "install"],
    );
    repo.write(
        ".git/hooks/pre-commit",
        "#!/bin/sh\necho someone else's hook\n",
    );
    gate(
        &repo,
        "hooks_install_refuses_a_foreign_hook",
        &["hooks", "install"],
    );
    gate(
        &repo,
        "hooks_install_claude_settings",
        &["hooks", "install", "--claude-settings"],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = assert_cmd::Command::cargo_bin("kodo").expect("kodo");
    cmd.current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("GIT_CEILING_DIRECTORIES", dir.path())
        .args(["hooks", "install"]);
    check("hooks_install_outside_git", dir.path(), &run(&mut cmd));
}
