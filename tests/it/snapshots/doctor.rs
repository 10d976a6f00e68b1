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
