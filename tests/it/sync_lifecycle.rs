//! The whole life of a project, through the real `kodo` binary against the emulator's HTTP
//! server: setup on an empty workspace, import, audit, drift on both sides, import again,
//! and a re-run that writes nothing.

use std::collections::BTreeSet;

use crate::common::TestEnv;
use serde_json::{json, Value};

/// PostHog content a team might have, created through the admin API as a person would.
fn seed_posthog(env: &TestEnv) {
    let post = |resource: &str, body: Value| {
        env.sandbox
            .admin_send("POST", &format!("/posthog/{resource}"), body);
    };
    post(
        "event_definitions",
        json!({"name": "user_signed_up", "description": "A new account was created"}),
    );
    post("event_definitions", json!({"name": "checkout_completed"}));
    post("event_definitions", json!({"name": "error_api_timeout"}));
    post("event_definitions", json!({"name": "$pageview"}));
    post(
        "feature_flags",
        json!({"id": 501, "key": "release_search_v2", "name": "Search v2",
               "filters": {"groups": [{"properties": [], "rollout_percentage": 25}]}}),
    );
    post(
        "feature_flags",
        json!({"id": 502, "key": "ops_kill_switch", "active": false,
               "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}),
    );
    post(
        "feature_flags",
        json!({"id": 503, "key": "beta_reports", "name": "Reports beta",
               "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}),
    );
    post(
        "experiments",
        json!({"id": 601, "name": "Checkout copy", "feature_flag_key": "exp_checkout_copy",
               "description": "Shorter copy lifts checkout completion",
               "start_date": "2026-01-05T10:00:00Z"}),
    );
    post(
        "dashboards",
        json!({"id": 701, "name": "Growth", "pinned": true, "tags": ["growth"]}),
    );
}

fn audit_json(env: &TestEnv) -> Value {
    let text = env.ph_sync(&["audit", "--format", "json"]);
    serde_json::from_str(&text).expect("audit JSON")
}

/// `(resource, key)` of every item of one audit list.
fn keys(report: &Value, list: &str) -> BTreeSet<(String, String)> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {report}"))
        .iter()
        .map(|f| {
            (
                f["resource"].as_str().unwrap_or("").to_string(),
                f["key"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(r, k)| (r.to_string(), k.to_string()))
        .collect()
}

#[test]
fn setup_import_drift_audit_fix_and_a_quiet_rerun() {
    let env = TestEnv::start("empty");
    // Unrelated keys of the config survive setup.
    let mut config = env.config();
    config["sync"]["include_builtin_events"] = json!(false);
    config["posthog"]["organization_slug"] = json!("acme-team");
    env.write_config(&config);

    let out = env.ph_sync(&["setup"]);
    assert!(out.contains("Events: created the database"), "{out}");
    assert!(out.contains("Feature Flags: created the database"), "{out}");
    let config = env.config();
    for key in ["events", "feature_flags", "experiments", "dashboards"] {
        assert!(
            config["notion"]["databases"][key].is_string(),
            "setup did not record {key}: {config}"
        );
    }
    assert_eq!(config["sync"]["include_builtin_events"], json!(false));
    assert_eq!(config["posthog"]["organization_slug"], json!("acme-team"));
    let databases = env.state()["notion"]["databases"].as_array().unwrap().len();
    assert_eq!(databases, 4);

    // A second setup finds everything in place and writes nothing.
    env.clear_requests();
    let out = env.ph_sync(&["setup"]);
    assert_eq!(
        out,
        "Events: up to date\nFeature Flags: up to date\nExperiments: up to date\nDashboards: up to date\n\
         Tracking Plan page: configured (21c8e4f0-3a5b-8011-a2b3-c4d5e6f7a8b9)\n\
         Index on the analytics page: unchanged\n"
    );
    assert!(env.notion_writes().is_empty(), "{:?}", env.notion_writes());
    assert_eq!(env.config(), config);

    seed_posthog(&env);
    let out = env.ph_sync(&["import"]);
    assert!(
        out.contains("Import done: created 9, recovered 0, updated 0, unchanged 0, failed 0."),
        "{out}"
    );
    // PostHog's own `$pageview` is left out.
    assert_eq!(
        env.column("events", "Event Name"),
        ["checkout_completed", "error_api_timeout", "user_signed_up"]
    );
    let flag = env.row_where("feature_flags", "Flag Key", "release_search_v2");
    assert_eq!(
        crate::common::plain(&flag["properties"]["Status"]),
        "rolling_out"
    );
    assert_eq!(crate::common::plain(&flag["properties"]["Rollout %"]), "25");
    assert_eq!(crate::common::plain(&flag["properties"]["Type"]), "release");
    assert_eq!(
        crate::common::plain(&flag["properties"]["Targeting"]),
        "25% of all users"
    );
    // The creator is a Notion user: Owner is filled.
    assert_eq!(
        crate::common::plain(&flag["properties"]["Owner"]),
        "5c0e8a3b-1f2d-4e6a-8b9c-7d1e2f3a4b51"
    );
    let dashboard = env.row_where("dashboards", "Dashboard Name", "Growth");
    assert_eq!(
        crate::common::plain(&dashboard["properties"]["Category"]),
        "growth"
    );
    assert_eq!(
        crate::common::plain(&dashboard["properties"]["Pinned"]),
        "true"
    );
    assert_eq!(
        crate::common::plain(&dashboard["properties"]["PostHog URL"]),
        format!("{}/project/84211/dashboard/701", env.sandbox.base_url())
    );
    let experiment = env.row_where("experiments", "Experiment Name", "Checkout copy");
    assert_eq!(
        crate::common::plain(&experiment["properties"]["Status"]),
        "running"
    );
    assert_eq!(
        crate::common::plain(&experiment["properties"]["Hypothesis"]),
        "Shorter copy lifts checkout completion"
    );

    let report = audit_json(&env);
    assert_eq!(report["in_sync"], true, "{report}");
    env.kodo()
        .args(["ph-sync", "audit", "--check"])
        .assert()
        .code(0);

    // Drift in PostHog: a new flag, a rollout change, a deleted flag, a concluded experiment.
    env.sandbox.admin_send(
        "POST",
        "/posthog/feature_flags",
        json!({"id": 504, "key": "beta_new_nav", "name": "New navigation",
               "filters": {"groups": [{"properties": [], "rollout_percentage": 10}]}}),
    );
    env.sandbox.admin_send(
        "PATCH",
        "/posthog/feature_flags/501",
        json!({"filters": {"groups": [{"properties": [], "rollout_percentage": 60}]}}),
    );
    env.sandbox.admin_send(
        "PATCH",
        "/posthog/feature_flags/502",
        json!({"deleted": true}),
    );
    env.sandbox.admin_send(
        "PATCH",
        "/posthog/experiments/601",
        json!({"end_date": "2026-02-01T10:00:00Z"}),
    );
    // Drift in Notion: an orphaned row and an edited status.
    let events_ds = env.data_source_of("events");
    env.sandbox.admin_send(
        "POST",
        "/notion/pages",
        json!({"parent": {"data_source_id": events_ds},
               "properties": {
                   "Event Name": {"title": [{"text": {"content": "legacy_event"}}]},
                   "Implementation Status": {"select": {"name": "implemented"}}}}),
    );
    let beta = env.row_where("feature_flags", "Flag Key", "beta_reports");
    let beta_id = beta["id"].as_str().unwrap().to_string();
    env.sandbox.admin_send(
        "PATCH",
        &format!("/notion/pages/{beta_id}"),
        json!({"properties": {"Status": {"select": {"name": "archived"}}}}),
    );

    let report = audit_json(&env);
    assert_eq!(
        keys(&report, "undocumented"),
        set(&[("flags", "beta_new_nav")])
    );
    assert_eq!(
        keys(&report, "orphaned"),
        set(&[("events", "legacy_event")])
    );
    assert_eq!(
        keys(&report, "mismatches"),
        set(&[
            ("flags", "beta_reports"),
            ("flags", "ops_kill_switch"),
            ("experiments", "Checkout copy")
        ])
    );
    // Every other value the import writes is stale too: the concluded experiment's dates and
    // result, besides its status.
    assert_eq!(
        keys(&report, "stale"),
        set(&[
            ("flags", "release_search_v2"),
            ("experiments", "Checkout copy")
        ])
    );
    assert!(report["planned"].as_array().unwrap().is_empty());
    let mismatches = report["mismatches"].as_array().unwrap();
    let find = |key: &str| {
        mismatches
            .iter()
            .find(|m| m["key"] == key)
            .unwrap_or_else(|| panic!("no mismatch for {key}"))
    };
    assert_eq!(find("ops_kill_switch")["notion_status"], "draft");
    assert_eq!(find("ops_kill_switch")["posthog_status"], "archived");
    assert_eq!(find("beta_reports")["notion_status"], "archived");
    assert_eq!(find("beta_reports")["posthog_status"], "active");
    assert_eq!(find("Checkout copy")["notion_status"], "running");
    assert_eq!(find("Checkout copy")["posthog_status"], "concluded");
    assert_eq!(
        report["stale"][0]["detail"],
        "Rollout %: 25 → 60; Targeting: 25% of all users → 60% of all users",
        "{report}"
    );
    // release_search_v2, beta_reports, beta_new_nav and the experiment's exp_checkout_copy; the
    // deleted ops_kill_switch is not counted.
    assert_eq!(report["summary"]["flags"]["posthog"], 4);
    assert_eq!(report["in_sync"], false);
    let md = env
        .kodo()
        .args(["ph-sync", "audit", "--check"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let md = crate::common::unlinked(&String::from_utf8(md).unwrap());
    assert!(
        md.contains("- [ ] Flag: `beta_new_nav` (active at 10%)\n"),
        "{md}"
    );
    assert!(
        md.contains("- [ ] Event: `legacy_event` - Consider archiving or removing\n"),
        "{md}"
    );
    assert!(
        md.contains(
            "- [ ] Experiment `Checkout copy`: Notion says \"running\", PostHog concluded\n"
        ),
        "{md}"
    );
    assert!(
        md.contains("- [ ] Flag `ops_kill_switch`: Notion says \"draft\", PostHog deleted it\n"),
        "{md}"
    );

    // Import fixes everything but the orphan, which is only ever archived on request.
    let out = env.ph_sync(&["import"]);
    assert!(
        out.contains("Import done: created 1, recovered 0, updated 4, unchanged 5, failed 0."),
        "{out}"
    );
    assert_eq!(
        crate::common::plain(
            &env.row_where("feature_flags", "Flag Key", "ops_kill_switch")["properties"]["Status"]
        ),
        "archived"
    );
    assert_eq!(
        crate::common::plain(
            &env.row_where("feature_flags", "Flag Key", "release_search_v2")["properties"]
                ["Rollout %"]
        ),
        "60"
    );
    let experiment = env.row_where("experiments", "Experiment Name", "Checkout copy");
    assert_eq!(
        crate::common::plain(&experiment["properties"]["Status"]),
        "concluded"
    );
    assert_eq!(
        crate::common::plain(&experiment["properties"]["End Date"]),
        "2026-02-01"
    );
    let report = audit_json(&env);
    assert_eq!(
        keys(&report, "orphaned"),
        set(&[("events", "legacy_event")])
    );
    assert!(report["undocumented"].as_array().unwrap().is_empty());
    assert!(report["mismatches"].as_array().unwrap().is_empty());
    assert!(report["stale"].as_array().unwrap().is_empty());

    let out = env.ph_sync(&["import", "events", "--archive-orphans"]);
    assert!(out.contains("archived 1"), "{out}");
    assert!(!env
        .column("events", "Event Name")
        .contains(&"legacy_event".to_string()));
    env.kodo()
        .args(["ph-sync", "audit", "--check"])
        .assert()
        .code(0);

    // Nothing changed since: a re-run reads and writes nothing.
    env.clear_requests();
    let out = env.ph_sync(&["import"]);
    assert!(out.contains("created 0, recovered 0, updated 0"), "{out}");
    assert!(env.notion_writes().is_empty(), "{:?}", env.notion_writes());
}

#[test]
fn setup_dry_run_writes_nothing() {
    let env = TestEnv::start("empty");
    let before = std::fs::read_to_string(env.config_path()).unwrap();
    env.clear_requests();
    let out = env.ph_sync(&["setup", "--dry-run"]);
    assert!(
        out.contains("Events: would create the database with 11 properties"),
        "{out}"
    );
    assert!(out.ends_with("Dry run: nothing was written.\n"), "{out}");
    assert!(env.notion_writes().is_empty());
    assert_eq!(std::fs::read_to_string(env.config_path()).unwrap(), before);
    assert!(env.state()["notion"]["databases"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(!env.root().join(".kodo/state.json").exists());
}

#[test]
fn setup_adds_missing_properties_to_an_existing_database() {
    let env = TestEnv::start("demo");
    // Someone deleted a property and a select option from the flags database.
    let ds = env.data_source_of("feature_flags");
    env.sandbox.admin_send(
        "PATCH",
        &format!("/notion/data_sources/{ds}"),
        json!({"properties": {"Related PR": null}}),
    );
    env.clear_requests();
    let out = env.ph_sync(&["setup", "flags"]);
    assert_eq!(out, "Feature Flags: added properties Related PR\n");
    let writes = env.notion_writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0]["method"], "PATCH");
    let out = env.ph_sync(&["setup", "flags"]);
    assert_eq!(out, "Feature Flags: up to date\n");
}

#[test]
fn setup_without_a_config_writes_a_starter_and_names_what_to_fill() {
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("kodo")
        .unwrap()
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["ph-sync", "setup"])
        .output()
        .unwrap();
    // A step done, not an error: exit 0, with the next step.
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("posthog.project_id"), "{stdout}");
    assert!(stdout.contains("notion.pages.analytics_home"), "{stdout}");
    assert!(
        stdout.contains("Next: run `kodo ph-sync setup` again"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        "# kodo: tokens, exports and the scan cache stay out of git\n.env\n.kodo/export/\n.kodo/cache/\n"
    );
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".kodo/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(config["$schema"], "./config.schema.json");
    assert!(dir.path().join(".kodo/config.schema.json").exists());

    // An existing .gitignore keeps its lines and gets only what it lacks.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".gitignore"), "target\n/.env").unwrap();
    assert_cmd::Command::cargo_bin("kodo")
        .unwrap()
        .current_dir(dir.path())
        .args(["ph-sync", "setup"])
        .assert()
        .code(0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        "target\n/.env\n# kodo: tokens, exports and the scan cache stay out of git\n.kodo/export/\n.kodo/cache/\n"
    );
}

#[test]
fn every_setup_run_keeps_tokens_exports_and_the_cache_out_of_git() {
    // A config written by hand: setup never wrote the starter, so only this run can add them.
    let env = TestEnv::start("empty");
    let gitignore = env.root().join(".gitignore");
    let header = "# kodo: tokens, exports and the scan cache stay out of git\n";
    // --dry-run writes nothing, .gitignore included.
    env.kodo()
        .args(["ph-sync", "setup", "--dry-run"])
        .assert()
        .code(0);
    assert!(!gitignore.exists());
    let out = env.kodo().args(["ph-sync", "setup"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("kodo: added .env, .kodo/export/, .kodo/cache/ to "),
        "{stderr}"
    );
    let once = format!("{header}.env\n.kodo/export/\n.kodo/cache/\n");
    assert_eq!(std::fs::read_to_string(&gitignore).unwrap(), once);
    // Idempotent: a second run neither adds nor says anything about it.
    let out = env.kodo().args(["ph-sync", "setup"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("kodo: added"));
    assert_eq!(std::fs::read_to_string(&gitignore).unwrap(), once);

    // A run that fails at Notion has still added them, keeping the user's own lines.
    let env = TestEnv::start("empty");
    let gitignore = env.root().join(".gitignore");
    std::fs::write(&gitignore, "target/\n/.kodo/cache").unwrap();
    let out = env
        .kodo()
        .args(["ph-sync", "setup"])
        .env(
            "NOTION_API_KEY",
            "ntn_not_the_scenario_token_0000000000000000000",
        )
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&gitignore).unwrap(),
        format!("target/\n/.kodo/cache\n{header}.env\n.kodo/export/\n")
    );
}

#[test]
fn setup_reports_every_database_it_could_not_prepare() {
    let env = TestEnv::start("demo");
    // Two configured IDs that no database has: setup names both, and still checks the others.
    let mut config = env.config();
    config["notion"]["databases"]["events"] = json!("0000000000000000000000000000e001");
    config["notion"]["databases"]["dashboards"] = json!("0000000000000000000000000000d001");
    env.write_config(&config);
    let out = env
        .kodo()
        .args(["ph-sync", "setup"])
        .output()
        .expect("run kodo");
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("setup could not prepare 2 of 4 databases"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "- Event: the Event database configured as `notion.databases.events` cannot be read"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("- Dashboard: the Dashboard database configured as `notion.databases.dashboards` cannot be read"), "{stderr}");
    assert!(stdout.contains("Feature Flags: up to date"), "{stdout}");
    assert!(stdout.contains("Experiments: up to date"), "{stdout}");
}
