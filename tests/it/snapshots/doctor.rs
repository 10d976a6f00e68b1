//! `kodo doctor`: one line per check, exit 1 when one fails (issue 13 item 3).

use std::process::Command as StdCommand;

use kodo_sandbox::Scenario;
use serde_json::json;

use super::{check, run};
use crate::common::{assert_no_tokens, fast_options, TestEnv};

fn git(env: &TestEnv, args: &[&str]) {
    let out = StdCommand::new("git")
        .args(args)
        .current_dir(env.root())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git");
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn doctor_on_a_ready_repository() {
    let env = TestEnv::start("demo");
    git(&env, &["init", "-q", "-b", "main"]);
    env.kodo().args(["snapshot", "refresh"]).assert().code(0);
    env.kodo().args(["hooks", "install"]).assert().code(0);
    env.kodo()
        .args(["hooks", "install", "--claude-settings"])
        .assert()
        .code(0);
    let out = run(env.kodo().arg("doctor"));
    assert_eq!(out.code, Some(0), "{}", out.stdout);
    check("doctor_ready", env.root(), &out);
    let out = run(env.kodo().args(["doctor", "--format", "json"]));
    assert_eq!(out.code, Some(0));
    check("doctor_ready_json", env.root(), &out);
}

#[test]
fn doctor_names_each_problem_and_its_fix() {
    let mut scenario = Scenario::builtin("demo").unwrap();
    scenario
        .notion
        .pages
        .get_mut("analytics_home")
        .unwrap()
        .shared = false;
    let env = TestEnv::with(scenario, fast_options());
    let mut config = env.config();
    config["notion"]["databases"]
        .as_object_mut()
        .unwrap()
        .remove("feature_flags");
    config["sync"]["auto_sync_oncreate"] = json!(true);
    config["sync"]["require_notion_entry"] = json!(true);
    env.write_config(&config);
    let out = run(env
        .kodo()
        .arg("doctor")
        .env("POSTHOG_PERSONAL_API_KEY", "phc_project_key_not_personal"));
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_no_tokens(&env.scenario, &[&out.stdout, &out.stderr]);
    assert!(!out.stdout.contains("phc_project_key_not_personal"));
    check("doctor_problems", env.root(), &out);
}

#[test]
fn doctor_fails_on_a_misspelt_safety_key() {
    let env = TestEnv::start("demo");
    let mut config = env.config();
    config["sync"]
        .as_object_mut()
        .unwrap()
        .remove("require_notion_entry");
    config["sync"]["requre_notion_entry"] = json!(true);
    env.write_config(&config);
    let out = run(env.kodo().args(["doctor", "--format", "json"]));
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    check("doctor_safety_key_typo", env.root(), &out);
    // Every other command refuses the config too (exit 2), instead of running without the gate.
    let out = run(env.kodo().args(["ph-sync", "status"]));
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr
            .contains("did you mean `sync.require_notion_entry`?"),
        "{}",
        out.stderr
    );
}

/// A personal API key without some of the scopes kodo reads with (PostHog answers 403
/// `permission_denied`, "API key missing required scope 'experiment:read'", as
/// posthog/permissions.py `APIScopePermission` does; the emulator enforces the scenario's
/// `personal_api_key_scopes`): doctor names each missing scope and how to add it, checks
/// every other endpoint still, and exits 1.
#[test]
fn doctor_names_each_missing_posthog_scope() {
    let mut scenario = Scenario::builtin("demo").unwrap();
    // `dashboard:write` grants read too; experiments and property definitions are missing.
    scenario.posthog.personal_api_key_scopes = Some(vec![
        "feature_flag:read".into(),
        "dashboard:write".into(),
        "event_definition:read".into(),
    ]);
    let env = TestEnv::with(scenario, fast_options());
    let out = run(env.kodo().arg("doctor"));
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_no_tokens(&env.scenario, &[&out.stdout, &out.stderr]);
    let line = |name: &str| line_of(&out.stdout, name);
    assert!(
        line("posthog experiments").starts_with("FAIL"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "Add the scope experiment:read to the personal API key in POSTHOG_PERSONAL_API_KEY"
        ),
        "{}",
        out.stdout
    );
    for ok in ["posthog events", "posthog flags", "posthog dashboards"] {
        assert!(line(ok).starts_with("ok"), "{ok}: {}", out.stdout);
    }
    assert!(
        line("posthog properties").starts_with("warn"),
        "{}",
        out.stdout
    );
    // The organization's members (organization_member:read) are a warning: the sync notes it
    // and judges owners by the Notion workspace alone.
    assert!(
        line("posthog members").starts_with("warn"),
        "{}",
        out.stdout
    );
    check("doctor_missing_scope", env.root(), &out);
    let out = run(env.kodo().args(["doctor", "--format", "json"]));
    assert_eq!(out.code, Some(1));
    check("doctor_missing_scope_json", env.root(), &out);
}

/// A personal API key limited to other projects (PostHog's `scoped_teams`; the emulator answers
/// 403 "API key does not have access to the requested project: ID …" on every endpoint of this
/// project, before any scope, as posthog/permissions.py `check_team_and_org_permissions` does):
/// doctor says so once, with the fix, not once per endpoint, and exits 1.
#[test]
fn doctor_names_a_key_limited_to_other_projects_once() {
    let mut scenario = Scenario::builtin("demo").unwrap();
    scenario.posthog.personal_api_key_scoped_teams = Some(vec![1]);
    let env = TestEnv::with(scenario, fast_options());
    let out = run(env.kodo().args(["doctor", "--format", "json"]));
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let posthog: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["check"]
                .as_str()
                .is_some_and(|n| n.starts_with("posthog ") && n != "posthog token")
        })
        .collect();
    assert_eq!(posthog.len(), 1, "{:#?}", report);
    assert_eq!(posthog[0]["check"], "posthog project");
    assert_eq!(posthog[0]["status"], "fail");
    assert!(
        posthog[0]["hint"]
            .as_str()
            .unwrap()
            .contains("is limited to other projects: give it access to project 84211"),
        "{report:#}"
    );
    check("doctor_key_for_another_project", env.root(), &out);
}

/// The checks the other tests leave at "ok": a database that lost one of kodo's properties
/// (deleted in Notion: `PATCH /v1/data_sources/{id}` with `{"properties": {"<name>": null}}`,
/// developers.notion.com/reference/update-data-source-properties) fails with what is missing
/// and the fix; a snapshot older than `sync.snapshot_max_age_hours` is a warning; a token of a
/// form kodo does not recognise is a warning; a PostHog key PostHog rejects fails once (every
/// endpoint would say the same), and a token that is not set fails naming its variable.
#[test]
fn doctor_checks_each_schema_the_snapshot_age_and_each_token() {
    let env = TestEnv::start("demo");
    git(&env, &["init", "-q", "-b", "main"]);
    env.kodo().args(["snapshot", "refresh"]).assert().code(0);
    let ds = env.data_source_of("events");
    let (status, body) = env.sandbox.admin_request(
        "PATCH",
        &format!("/notion/data_sources/{ds}"),
        json!({"properties": {"Tracked On": null}}),
    );
    assert_eq!(status, 200, "{body}");
    let mut config = env.config();
    // About a third of a second: the snapshot written above is older than that.
    config["sync"]["snapshot_max_age_hours"] = json!(0.0001);
    env.write_config(&config);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let out = run(env.kodo().arg("doctor").env(
        "POSTHOG_PERSONAL_API_KEY",
        "phx_revoked_key_000000000000000000000000",
    ));
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(!out.stdout.contains("phx_revoked_key"), "{}", out.stdout);
    let line = |name: &str| line_of(&out.stdout, name);
    assert!(
        line("events database").starts_with("FAIL")
            && line("events database").contains("missing Tracked On"),
        "{}",
        out.stdout
    );
    assert!(line("flags database").starts_with("ok"), "{}", out.stdout);
    assert!(
        line("snapshot").starts_with("warn")
            && line("snapshot").contains("over sync.snapshot_max_age_hours"),
        "{}",
        out.stdout
    );
    // Rejected: one line, not one per endpoint.
    let posthog = out
        .stdout
        .lines()
        .filter(|l| {
            l.get(6..)
                .is_some_and(|r| r.starts_with("posthog ") && !r.starts_with("posthog token"))
        })
        .count();
    assert_eq!(posthog, 1, "{}", out.stdout);
    assert!(line("posthog key").starts_with("FAIL"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("the key needs the scope"),
        "{}",
        out.stdout
    );
    check("doctor_schema_snapshot_rejected_key", env.root(), &out);

    // A Notion token of another form is a warning (kodo still tries it); none at all fails.
    let out = run(env
        .kodo()
        .arg("doctor")
        .env("NOTION_API_KEY", "not-a-notion-token")
        .env("POSTHOG_PERSONAL_API_KEY", ""));
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        line_of(&out.stdout, "notion token").starts_with("warn"),
        "{}",
        out.stdout
    );
    assert!(
        line_of(&out.stdout, "posthog token").starts_with("FAIL")
            && out.stdout.contains("POSTHOG_PERSONAL_API_KEY"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("not-a-notion-token"), "{}", out.stdout);
}

/// The line of check `name` in doctor's `STATUS  CHECK  DETAIL` output (the status padded to
/// 6 columns).
fn line_of(stdout: &str, name: &str) -> String {
    stdout
        .lines()
        .find(|l| {
            l.get(6..)
                .is_some_and(|rest| rest.starts_with(&format!("{name} ")))
        })
        .unwrap_or_else(|| panic!("no {name} line: {stdout}"))
        .to_string()
}
