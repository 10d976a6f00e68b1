//! What `kodo ph-sync` says when something is wrong: each kind of configuration error, bad
//! credentials — and that no token ever appears in any output, logs included.

use crate::common::{assert_no_tokens, TestEnv};
use serde_json::json;

fn run(env: &TestEnv, args: &[&str]) -> (Option<i32>, String, String) {
    let out = env.kodo().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn verbose_logs_never_show_a_token() {
    let env = TestEnv::start("demo");
    for args in [
        &["ph-sync", "audit", "-vv"][..],
        &["ph-sync", "import", "-vv"],
        &["ph-sync", "status", "-vv"],
        &["ph-sync", "export", "-vv"],
        &["ph-sync", "setup", "-vv"],
    ] {
        let (code, stdout, stderr) = run(&env, args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        // The log is there, and the requests in it.
        assert!(
            stderr.contains("GET /v1/data_sources/"),
            "{args:?}: {stderr}"
        );
        assert_no_tokens(&env.scenario, &[&stdout, &stderr]);
    }
    let state = std::fs::read_to_string(env.root().join(".kodo/state.json")).unwrap();
    let snapshot = std::fs::read_to_string(env.root().join(".kodo/snapshot.json")).unwrap();
    assert_no_tokens(&env.scenario, &[&state, &snapshot]);
}

#[test]
fn a_rejected_notion_token_names_its_variable_not_its_value() {
    let env = TestEnv::start("demo");
    let wrong = "ntn_this_is_not_the_right_token_4242";
    let out = env
        .kodo()
        .env("NOTION_API_KEY", wrong)
        .args(["ph-sync", "audit", "-vv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("NOTION_API_KEY"), "{stderr}");
    assert!(
        !stderr.contains(wrong) && !stdout.contains(wrong),
        "{stderr}"
    );
    assert_no_tokens(&env.scenario, &[&stdout, &stderr]);
}

#[test]
fn a_rejected_posthog_key_names_its_variable_not_its_value() {
    let env = TestEnv::start("demo");
    let wrong = "phx_this_is_not_the_right_key_4242";
    let out = env
        .kodo()
        .env("POSTHOG_PERSONAL_API_KEY", wrong)
        .args(["ph-sync", "import", "-v"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("POSTHOG_PERSONAL_API_KEY"), "{stderr}");
    assert!(!stderr.contains(wrong), "{stderr}");
    // Nothing was written with half the picture.
    assert!(env.notion_writes().is_empty());
}

#[test]
fn missing_config_points_to_setup() {
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("kodo")
        .unwrap()
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["ph-sync", "audit"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("no kodo config found"), "{stderr}");
    assert!(stderr.contains("kodo ph-sync setup"), "{stderr}");
}

#[test]
fn malformed_config_names_line_and_column() {
    let env = TestEnv::start("empty");
    std::fs::write(
        env.config_path(),
        "{\n  \"posthog\": {\"project_id\": \"1\",}\n}\n",
    )
    .unwrap();
    let (code, _, stderr) = run(&env, &["ph-sync", "status"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains(".kodo/config.json`:2:"), "{stderr}");
    assert!(stderr.contains("malformed JSON"), "{stderr}");
}

#[test]
fn wrong_type_names_the_key_path() {
    let env = TestEnv::start("empty");
    let mut config = env.config();
    config["sync"]["include_builtin_events"] = json!("yes");
    env.write_config(&config);
    let (code, _, stderr) = run(&env, &["ph-sync", "audit"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("`sync.include_builtin_events`"), "{stderr}");
}

#[test]
fn unset_token_names_the_variable_and_no_value() {
    let env = TestEnv::start("demo");
    std::fs::remove_file(env.root().join(".env")).unwrap();
    env.clear_requests();
    let out = env
        .kodo()
        .env_remove("NOTION_API_KEY")
        .args(["ph-sync", "audit"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("the environment variable `NOTION_API_KEY` is not set"),
        "{stderr}"
    );
    assert_no_tokens(&env.scenario, &[&stderr]);
    // Checked before any request.
    assert!(env.requests().is_empty(), "{:?}", env.requests());
}

#[test]
fn missing_database_names_its_key() {
    let env = TestEnv::start("demo");
    let mut config = env.config();
    config["notion"]["databases"]
        .as_object_mut()
        .unwrap()
        .remove("feature_flags");
    env.write_config(&config);
    env.clear_requests();
    let (code, _, stderr) = run(&env, &["ph-sync", "audit", "flags"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("notion.databases.feature_flags"),
        "{stderr}"
    );
    assert!(stderr.contains("kodo ph-sync setup"), "{stderr}");
    assert!(env.requests().is_empty());
    // The other resources still work.
    let (code, stdout, _) = run(&env, &["ph-sync", "audit", "events"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("- Events: 47 in PostHog, 41 in Notion"));
}

#[test]
fn a_database_without_its_key_property_is_refused_not_duplicated() {
    let env = TestEnv::start("demo");
    let ds = env.data_source_of("dashboards");
    env.sandbox.admin_send(
        "PATCH",
        &format!("/notion/data_sources/{ds}"),
        json!({"properties": {"ID": null}}),
    );
    env.clear_requests();
    let (code, _, stderr) = run(&env, &["ph-sync", "import", "dashboards"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("has no `ID` number property"), "{stderr}");
    assert!(stderr.contains("kodo ph-sync setup"), "{stderr}");
    assert!(env.notion_writes().is_empty());
}

#[test]
fn sarif_is_refused_for_sync_reports_at_parse_time() {
    let env = TestEnv::start("empty");
    env.clear_requests();
    let (code, _, stderr) = run(&env, &["ph-sync", "audit", "--format", "sarif"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("invalid value 'sarif' for '--format <FORMAT>'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[possible values: md, json, csv]"),
        "{stderr}"
    );
    // A usage error: nothing was asked of either service.
    assert!(env.requests().is_empty(), "{:?}", env.requests());
}

#[test]
fn the_free_workspace_block_limit_is_named_not_mistaken_for_sharing() {
    // developers.notion.com/reference/workspace-block-limits: 403 restricted_resource with
    // additional_data.block_limit once a Free workspace's grace period is over.
    let env = TestEnv::start("demo");
    env.sandbox
        .admin_send("PUT", "/block_limit", json!({"reached": true}));
    let (code, stdout, stderr) = run(&env, &["ph-sync", "import"]);
    assert_eq!(code, Some(2));
    // Each failed create is listed with the reason.
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("block limit"), "{all}");
    assert!(all.contains("upgrade the plan"), "{all}");
    assert!(!all.contains("share the pages"), "{all}");
}

#[test]
fn an_unknown_database_id_names_the_config_key_that_holds_it() {
    let env = TestEnv::start("demo");
    let mut config = env.config();
    config["notion"]["databases"]["experiments"] = json!("0000aaaa-1111-4222-8333-444455556666");
    env.write_config(&config);
    let (code, _, stderr) = run(&env, &["ph-sync", "audit", "experiments"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("0000aaaa-1111-4222-8333-444455556666"),
        "{stderr}"
    );
    assert!(stderr.contains("notion.databases.experiments"), "{stderr}");
}
