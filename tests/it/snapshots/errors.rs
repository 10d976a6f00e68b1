//! The error message of each bad input: what is wrong, where, and how to fix it (exit 2).

use serde_json::{json, Value};

use super::{check, run};
use crate::common::{assert_no_tokens, TestEnv};

fn snap(env: &TestEnv, name: &str, args: &[&str]) {
    let out = run(env.kodo().args(args));
    assert_no_tokens(&env.scenario, &[&out.stdout, &out.stderr]);
    check(name, env.root(), &out);
}

fn edit(env: &TestEnv, change: impl FnOnce(&mut Value)) {
    let mut config = env.config();
    change(&mut config);
    env.write_config(&config);
}

#[test]
fn usage_errors() {
    let env = TestEnv::start("empty");
    snap(
        &env,
        "usage_unknown_resource",
        &["ph-sync", "status", "widgets"],
    );
    snap(
        &env,
        "usage_resource_before_action",
        &["ph-sync", "flags", "import"],
    );
    snap(
        &env,
        "usage_sarif_for_a_sync_report",
        &["ph-sync", "audit", "--format", "sarif"],
    );
    snap(
        &env,
        "usage_format_for_hooks_install",
        &["hooks", "install", "--format", "sarif"],
    );
    snap(
        &env,
        "usage_import_as_csv",
        &["ph-sync", "import", "--dry-run", "--format", "csv"],
    );
    snap(&env, "usage_unknown_word", &["ph-sync", "frobnicate"]);
    snap(&env, "usage_misspelt_action", &["ph-sync", "imprt"]);
    snap(
        &env,
        "usage_unknown_resource_of_an_action",
        &["ph-sync", "import", "frobs"],
    );
    snap(
        &env,
        "usage_option_an_action_does_not_take",
        &["ph-sync", "audit", "--overwrite"],
    );
    snap(
        &env,
        "usage_export_all_as_csv",
        &["ph-sync", "export", "--format", "csv"],
    );
    snap(
        &env,
        "usage_config_for_completions",
        &["completions", "bash", "--config", "x.json"],
    );
    snap(
        &env,
        "usage_verbose_before_completions",
        &["-v", "completions", "bash"],
    );
    snap(
        &env,
        "usage_quiet_before_hook_claude",
        &["-q", "hook", "claude"],
    );
}

#[test]
fn config_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = assert_cmd::Command::cargo_bin("kodo").expect("kodo");
    cmd.current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["ph-sync", "audit"]);
    check("config_not_found", dir.path(), &run(&mut cmd));

    let env = TestEnv::start("empty");
    std::fs::write(
        env.config_path(),
        "{\n  \"posthog\": {\"project_id\": \"1\",}\n}\n",
    )
    .expect("write");
    snap(&env, "config_malformed_json", &["ph-sync", "status"]);

    let env = TestEnv::start("empty");
    edit(&env, |c| c["sync"]["include_builtin_events"] = json!("yes"));
    snap(&env, "config_wrong_type", &["ph-sync", "audit"]);

    let env = TestEnv::start("demo");
    edit(&env, |c| c["sync"]["auto_sync_on_creat"] = json!(true));
    snap(
        &env,
        "config_unknown_key_warns",
        &["ph-sync", "status", "events"],
    );

    let env = TestEnv::start("demo");
    edit(&env, |c| {
        c["notion"]["baseUrl"] = json!("http://notion.example.com")
    });
    snap(&env, "config_plain_http_refused", &["ph-sync", "audit"]);

    let env = TestEnv::start("demo");
    edit(&env, |c| {
        c["notion"]["databases"]
            .as_object_mut()
            .expect("databases")
            .remove("feature_flags");
    });
    snap(
        &env,
        "config_missing_database",
        &["ph-sync", "audit", "flags"],
    );
}

#[test]
fn credential_errors() {
    let env = TestEnv::start("demo");
    std::fs::remove_file(env.root().join(".env")).expect("remove .env");
    let out = run(env
        .kodo()
        .env_remove("NOTION_API_KEY")
        .args(["ph-sync", "audit"]));
    check("token_notion_not_set", env.root(), &out);
    let out = run(env
        .kodo()
        .env_remove("POSTHOG_PERSONAL_API_KEY")
        .args(["ph-sync", "audit"]));
    check("token_posthog_not_set", env.root(), &out);

    let env = TestEnv::start("demo");
    let out = run(env
        .kodo()
        .env("NOTION_API_KEY", "ntn_this_is_not_the_right_token_4242")
        .args(["ph-sync", "audit"]));
    assert!(!out.stderr.contains("ntn_this_is_not"), "{}", out.stderr);
    check("token_notion_rejected", env.root(), &out);
    let out = run(env
        .kodo()
        .env(
            "POSTHOG_PERSONAL_API_KEY",
            "phx_this_is_not_the_right_key_4242",
        )
        .args(["ph-sync", "audit"]));
    assert!(!out.stderr.contains("phx_this_is_not"), "{}", out.stderr);
    check("token_posthog_rejected", env.root(), &out);
    let out = run(env
        .kodo()
        .env(
            "POSTHOG_PERSONAL_API_KEY",
            "phc_a_project_key_not_a_personal_one",
        )
        .args(["ph-sync", "audit"]));
    check("token_posthog_project_key", env.root(), &out);
}

#[test]
fn unreachable_services() {
    let env = TestEnv::start("demo");
    edit(&env, |c| {
        c["notion"]["baseUrl"] = json!("http://127.0.0.1:1")
    });
    snap(&env, "unreachable_notion", &["ph-sync", "audit", "events"]);
    let env = TestEnv::start("demo");
    edit(&env, |c| {
        c["posthog"]["region_url"] = json!("http://127.0.0.1:1")
    });
    // One resource: with several, whichever concurrent read fails first is reported.
    snap(&env, "unreachable_posthog", &["ph-sync", "audit", "events"]);
}

#[test]
fn a_database_without_its_key_property() {
    let env = TestEnv::start("demo");
    let ds = env.data_source_of("dashboards");
    env.sandbox.admin_send(
        "PATCH",
        &format!("/notion/data_sources/{ds}"),
        json!({"properties": {"ID": null}}),
    );
    snap(
        &env,
        "schema_key_property_missing",
        &["ph-sync", "import", "dashboards"],
    );
}

/// The help a person reads first: the top level and `ph-sync` (exit codes included).
#[test]
fn help_texts() {
    let env = TestEnv::start("empty");
    snap(&env, "help_kodo", &["--help"]);
    snap(&env, "help_ph_sync", &["ph-sync", "--help"]);
    for action in ["status", "import", "export", "audit", "setup"] {
        snap(
            &env,
            &format!("help_ph_sync_{action}"),
            &["ph-sync", action, "--help"],
        );
    }
    snap(&env, "help_scan", &["scan", "--help"]);
    // Every other command: each shows only the options it honours, and the exit codes.
    for (name, args) in [
        ("help_notion_sync", &["notion-sync", "--help"][..]),
        ("help_hook_claude", &["hook", "claude", "--help"]),
        ("help_hook_pre_commit", &["hook", "pre-commit", "--help"]),
        ("help_hooks_install", &["hooks", "install", "--help"]),
        ("help_snapshot_refresh", &["snapshot", "refresh", "--help"]),
        ("help_doctor", &["doctor", "--help"]),
        ("help_completions", &["completions", "--help"]),
    ] {
        snap(&env, name, args);
    }
}
