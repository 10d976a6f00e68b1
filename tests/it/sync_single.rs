//! One resource at a time, as the Claude Code hook uses the sync engine: the live
//! documentation lookup (one filtered query) and `upsert_from_posthog` (create or update exactly once); plus Owner
//! resolution when the integration may not read e-mails, and `kodo snapshot refresh`.

use crate::common::TestEnv;
use kodo::config::Config;
use kodo::documented::DocKey;
use kodo::lookup::{self, Answer, Mode};
use kodo::model::Resource;
use kodo::output::Printer;
use kodo::sync::{upsert_from_posthog, UpsertResult};
use serde_json::{json, Value};

/// The env's config, with token variables only this test file uses (so a token set in the
/// developer's shell cannot interfere), loaded as the library sees it.
fn library_config(env: &TestEnv) -> Config {
    let mut config = env.config();
    config["notion"]["tokenEnvVar"] = json!("KODO_SINGLE_TEST_NOTION_TOKEN");
    config["posthog"]["tokenEnvVar"] = json!("KODO_SINGLE_TEST_POSTHOG_KEY");
    env.write_config(&config);
    std::fs::write(
        env.root().join(".env"),
        format!(
            "KODO_SINGLE_TEST_NOTION_TOKEN={}\nKODO_SINGLE_TEST_POSTHOG_KEY={}\n",
            env.scenario.notion_token(),
            env.scenario.posthog_key()
        ),
    )
    .unwrap();
    Config::load(&env.config_path()).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn posthog_object(env: &TestEnv, list: &str, field: &str, value: &str) -> Value {
    env.state()["posthog"][list]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o[field] == value)
        .cloned()
        .unwrap_or_else(|| panic!("no {list} with {field} = {value}"))
}

#[test]
fn the_live_lookup_asks_one_filtered_query() {
    let env = TestEnv::start("demo");
    let config = library_config(&env);
    let rt = runtime();
    let check = |key: DocKey| {
        let keys = std::collections::BTreeSet::from([key.clone()]);
        let answers = rt.block_on(lookup::answer(
            &config,
            &keys,
            Mode::Live,
            std::time::Duration::from_secs(5),
        ));
        assert_eq!(answers.notion_failure, None);
        answers.get(&key) == Answer::Documented
    };
    env.clear_requests();
    assert!(check(DocKey::flag("release_checkout_v2")));
    let queries: Vec<Value> = env
        .requests()
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/query")))
        .collect();
    assert_eq!(queries.len(), 1, "{queries:?}");
    assert!(!check(DocKey::flag("release_new_api_v2")));
    assert!(check(DocKey::event("user_signed_up")));
    assert!(!check(DocKey::event("user_api_key_created")));
    // Text equality is exact: Notion's equals is case-sensitive.
    assert!(!check(DocKey::event("USER_SIGNED_UP")));
    // An experiment is documented by its own row only, not by another one on its flag.
    assert!(!check(DocKey::experiment("Some other name")));
    assert!(check(DocKey::experiment("Pricing page layout")));
    // The experiment documents its flag.
    assert!(check(DocKey::flag("exp_pricing_page_layout")));
    assert!(check(DocKey::dashboard("Product Overview", None)));
    assert!(check(DocKey::dashboard("Renamed", Some(118))));
    assert!(!check(DocKey::dashboard("API Performance", Some(123))));
}

#[test]
fn upsert_creates_once_then_updates_only_what_changed() {
    let env = TestEnv::start("demo");
    let config = library_config(&env);
    let rt = runtime();
    let printer = Printer::silent();
    let flag = posthog_object(&env, "feature_flags", "key", "release_new_api_v2");

    let first = rt
        .block_on(upsert_from_posthog(
            &config,
            Resource::Flags,
            &flag,
            &printer,
        ))
        .unwrap();
    assert!(matches!(first, UpsertResult::Created { .. }), "{first:?}");
    let row = env.row_where("feature_flags", "Flag Key", "release_new_api_v2");
    assert_eq!(
        crate::common::plain(&row["properties"]["Status"]),
        "rolling_out"
    );
    assert_eq!(crate::common::plain(&row["properties"]["Rollout %"]), "25");

    env.clear_requests();
    let again = rt
        .block_on(upsert_from_posthog(
            &config,
            Resource::Flags,
            &flag,
            &printer,
        ))
        .unwrap();
    assert!(matches!(again, UpsertResult::Unchanged { .. }), "{again:?}");
    assert!(env.notion_writes().is_empty());

    let mut off = flag.clone();
    off["active"] = json!(false);
    let changed = rt
        .block_on(upsert_from_posthog(
            &config,
            Resource::Flags,
            &off,
            &printer,
        ))
        .unwrap();
    match changed {
        UpsertResult::Updated { properties, .. } => assert_eq!(properties, ["Status"]),
        other => panic!("expected an update, got {other:?}"),
    }
    assert_eq!(
        env.column("feature_flags", "Flag Key")
            .iter()
            .filter(|k| *k == "release_new_api_v2")
            .count(),
        1
    );

    let dashboard = posthog_object(&env, "dashboards", "name", "API Performance");
    let made = rt
        .block_on(upsert_from_posthog(
            &config,
            Resource::Dashboards,
            &dashboard,
            &printer,
        ))
        .unwrap();
    assert!(matches!(made, UpsertResult::Created { .. }), "{made:?}");
    assert_eq!(
        crate::common::plain(
            &env.row_where("dashboards", "Dashboard Name", "API Performance")["properties"]["ID"]
        ),
        "123"
    );

    let builtin = json!({"name": "$pageview"});
    let skipped = rt
        .block_on(upsert_from_posthog(
            &config,
            Resource::Events,
            &builtin,
            &printer,
        ))
        .unwrap();
    assert!(
        matches!(skipped, UpsertResult::Skipped { .. }),
        "{skipped:?}"
    );
}

#[test]
fn owner_stays_empty_when_the_integration_may_not_read_users() {
    let mut scenario = kodo_sandbox::Scenario::builtin("demo").unwrap();
    scenario.notion.user_access = kodo_sandbox::notion::model::UserAccess::None;
    let env = TestEnv::with(scenario, crate::common::fast_options());
    let out = env
        .kodo()
        .args(["ph-sync", "import", "flags"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("may not read users"), "{stderr}");
    let row = env.row_where("feature_flags", "Flag Key", "release_new_api_v2");
    assert_eq!(crate::common::plain(&row["properties"]["Owner"]), "");
}

#[test]
fn export_names_people_and_falls_back_to_ids_when_users_may_not_be_read() {
    let env = TestEnv::start("demo");
    let row = env.row_where("feature_flags", "Flag Key", "release_checkout_v2");
    let owner = crate::common::plain(&row["properties"]["Owner"]);
    let out = env.ph_sync(&["export", "flags", "--format", "json"]);
    let export: kodo_core::wire::Export = serde_json::from_str(&out).unwrap();
    let exported = export
        .resources
        .get(kodo::model::Resource::Flags)
        .unwrap()
        .iter()
        .find(|r| r.properties["Flag Key"] == "release_checkout_v2")
        .unwrap();
    assert_eq!(
        exported.properties["Owner"],
        serde_json::json!([{"id": owner, "name": "Maya Chen", "email": "maya.chen@acme.example"}])
    );
    let csv = env.ph_sync(&["export", "flags", "--format", "csv"]);
    assert!(
        csv.contains(",Maya Chen <maya.chen@acme.example>,"),
        "{csv}"
    );
    assert!(!csv.contains(&owner), "{csv}");

    let mut scenario = kodo_sandbox::Scenario::builtin("demo").unwrap();
    scenario.notion.user_access = kodo_sandbox::notion::model::UserAccess::None;
    let env = TestEnv::with(scenario, crate::common::fast_options());
    let out = env
        .kodo()
        .args(["ph-sync", "export", "flags", "--format", "csv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("may not read users, so people are written as user IDs"),
        "{stderr}"
    );
    let row = env.row_where("feature_flags", "Flag Key", "release_checkout_v2");
    let owner = crate::common::plain(&row["properties"]["Owner"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!(",{owner},")), "{stdout}");
}

#[test]
fn snapshot_refresh_rewrites_the_snapshot() {
    let env = TestEnv::start("demo");
    let out = env.kodo().args(["snapshot", "refresh"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("41 events, 10 flags, 3 experiments, 4 dashboards"),
        "{stdout}"
    );
    let snapshot = kodo::snapshot::load(&env.root().join(".kodo"))
        .unwrap()
        .unwrap();
    assert!(snapshot.documents(&DocKey::flag("release_checkout_v2")));
    assert!(!snapshot.documents(&DocKey::flag("release_new_api_v2")));
    assert!(snapshot.documents(&DocKey::dashboard("Product Overview", None)));
    assert!(snapshot.documents(&DocKey::experiment("Pricing page layout")));
    assert!(snapshot.age().is_some());
}
