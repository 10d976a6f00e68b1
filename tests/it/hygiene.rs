//! The audit's hygiene section end to end: the real binary against the emulator, one test per
//! rule with the rows that break it and the rows that do not, the `sync.hygiene` switches and
//! `--check`. Facts come from the emulator as the services give them: the Notion user list
//! (members only; guests by ID; removed members nowhere), PostHog's `created_by`.

use crate::common::TestEnv;
use kodo_sandbox::Scenario;
use serde_json::{json, Value};

const PRIYA: &str = "7e2a0c5d-3b4f-4a8c-8d1e-9f3a4b5c6d73";
const GUEST: &str = "b2b2b2b2-0000-4000-8000-000000000001";

/// The demo scenario as JSON, to change before starting it.
fn demo_json() -> Value {
    serde_json::from_str(include_str!("../../sandbox/scenarios/demo.json")).unwrap()
}

fn audit(env: &TestEnv, args: &[&str]) -> Value {
    let mut all = vec!["audit", "--format", "json"];
    all.extend_from_slice(args);
    serde_json::from_str(&env.ph_sync(&all)).unwrap()
}

/// `(resource, key, rule)` of every hygiene finding.
fn rules(v: &Value) -> Vec<(String, String, String)> {
    v["hygiene"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["resource"].as_str().unwrap().to_string(),
                f["key"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has(v: &Value, key: &str, rule: &str) -> bool {
    rules(v).iter().any(|(_, k, r)| k == key && r == rule)
}

fn finding<'v>(v: &'v Value, key: &str, rule: &str) -> &'v Value {
    v["hygiene"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == key && f["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding for {key}: {:#}", v["hygiene"]))
}

fn triple(resource: &str, key: &str, rule: &str) -> (String, String, String) {
    (resource.into(), key.into(), rule.into())
}

/// Changes a Notion row as a person would in the app.
fn edit_row(env: &TestEnv, db: &str, title: &str, key: &str, properties: Value) {
    let row = env.row_where(db, title, key);
    let id = row["id"].as_str().unwrap();
    let (status, body) = env.sandbox.admin_request(
        "PATCH",
        &format!("/notion/pages/{id}"),
        json!({ "properties": properties }),
    );
    assert_eq!(status, 200, "{body}");
}

fn set_hygiene(env: &TestEnv, sync: Value) {
    let mut config = env.config();
    for (k, v) in sync.as_object().unwrap() {
        config["sync"][k] = v.clone();
    }
    env.write_config(&config);
}

fn day(offset_days: i64) -> String {
    let d = time::OffsetDateTime::now_utc().date() + time::Duration::days(offset_days);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[test]
fn the_demo_has_one_row_breaking_two_rules() {
    let env = TestEnv::start("demo");
    let v = audit(&env, &[]);
    // release_dark_mode: its owner Sam Ortiz left the Notion workspace, and it has no Planned
    // Removal. The other flags' Planned Removal dates (2025) have passed while PostHog still
    // serves them at 100%; exp_trial_length_test was documented without a clean-up date.
    assert_eq!(
        rules(&v),
        [
            triple("flags", "exp_checkout_button_copy", "cleanup-overdue"),
            triple("flags", "exp_pricing_page_layout", "cleanup-overdue"),
            triple("flags", "exp_trial_length_test", "no-cleanup-plan"),
            triple("flags", "release_checkout_v2", "cleanup-overdue"),
            triple("flags", "release_dark_mode", "former-owner"),
            triple("flags", "release_dark_mode", "no-cleanup-plan"),
            triple("flags", "release_onboarding_checklist", "cleanup-overdue"),
        ]
    );
    let former = finding(&v, "release_dark_mode", "former-owner");
    assert_eq!(
        former["detail"],
        "Owner Notion user 9a4c2e7f… is no longer a member of the Notion workspace: hand it to a current member (its PostHog creator Alex Kim is one)"
    );
    assert_eq!(former["level"], "warn");
    assert_eq!(former["owner"], Value::Null);
    assert!(former["url"]
        .as_str()
        .unwrap()
        .starts_with("https://www.notion.so/"));
    assert_eq!(
        finding(&v, "release_onboarding_checklist", "cleanup-overdue")["owner"],
        "Jonas Weber"
    );
    assert_eq!(v["hygiene_errors"], 0);
    // Advisory: the sync findings decide `in_sync`, and the hygiene ones do not.
    assert_eq!(v["in_sync"], false);
}

#[test]
fn missing_owner_suggests_the_posthog_creator_and_import_fills_it() {
    let env = TestEnv::start("demo");
    // PostHog names no owner or creator for error_api_timeout: its new row has no Owner.
    env.ph_sync(&["import", "events"]);
    edit_row(
        &env,
        "dashboards",
        "Dashboard Name",
        "Product Overview",
        json!({"Owner": {"people": []}}),
    );
    let v = audit(&env, &[]);
    assert_eq!(
        finding(&v, "Product Overview", "missing-owner")["detail"],
        "no Owner; its PostHog creator Jonas Weber (jonas.weber@acme.example) is in the Notion workspace: `kodo ph-sync import dashboards` makes them the Owner, or set who is responsible now"
    );
    assert_eq!(
        finding(&v, "error_api_timeout", "missing-owner")["detail"],
        "no Owner: set who is responsible for it in Notion"
    );
    // Rows with an owner are not reported.
    assert!(!has(&v, "Revenue & Subscriptions", "missing-owner"));
    assert!(!has(&v, "user_logged_in", "missing-owner"));

    env.ph_sync(&["import", "dashboards"]);
    let v = audit(&env, &[]);
    assert!(!has(&v, "Product Overview", "missing-owner"));
    assert!(has(&v, "error_api_timeout", "missing-owner"));
}

#[test]
fn former_owners_are_members_who_left_never_guests() {
    let mut scenario = demo_json();
    scenario["notion"]["users"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "id": GUEST, "name": "Gus Guest", "email": "gus@partner.example", "guest": true
        }));
    let env = TestEnv::with(
        Scenario::from_json(&scenario.to_string()).unwrap(),
        crate::common::fast_options(),
    );
    edit_row(
        &env,
        "dashboards",
        "Dashboard Name",
        "Feature Adoption",
        json!({"Owner": {"people": [{"id": GUEST}]}}),
    );
    let v = audit(&env, &[]);
    // A guest is not in Notion's user list, but is found by ID: still a member.
    assert!(!has(&v, "Feature Adoption", "former-owner"));
    assert_eq!(finding_count(&v, "former-owner"), 1);

    // Priya leaves the workspace: every row she owns needs a new owner.
    let (status, body) =
        env.sandbox
            .admin_request("DELETE", &format!("/notion/users/{PRIYA}"), Value::Null);
    assert_eq!(status, 200, "{body}");
    let v = audit(&env, &[]);
    let priyas: Vec<String> = rules(&v)
        .into_iter()
        .filter(|(_, _, r)| r == "former-owner")
        .map(|(_, k, _)| k)
        .collect();
    assert!(
        priyas.contains(&"Checkout button copy".to_string()),
        "{priyas:?}"
    );
    assert!(
        priyas.contains(&"subscription_started".to_string()),
        "{priyas:?}"
    );
    assert!(
        priyas.contains(&"Activation & Onboarding".to_string()),
        "{priyas:?}"
    );
    assert!(
        !priyas.contains(&"Product Overview".to_string()),
        "{priyas:?}"
    );
    assert_eq!(
        finding(&v, "Checkout button copy", "former-owner")["detail"],
        "Owner Notion user 7e2a0c5d… is no longer a member of the Notion workspace: hand it to a current member"
    );
}

fn finding_count(v: &Value, rule: &str) -> usize {
    rules(v).iter().filter(|(_, _, r)| r == rule).count()
}

#[test]
fn a_posthog_creator_who_left_is_no_owner_to_suggest() {
    let env = TestEnv::start("demo");
    // ops_maintenance_mode was created in PostHog by Sam Ortiz, who has left the PostHog
    // organization (and the Notion workspace): the import documents it without an Owner.
    env.ph_sync(&["import", "flags"]);
    let v = audit(&env, &[]);
    assert_eq!(
        finding(&v, "ops_maintenance_mode", "former-owner")["detail"],
        "no Owner, and its PostHog creator Sam Ortiz (sam.ortiz@acme.example) is no longer a member of the PostHog organization: hand it to a current member"
    );
    assert!(!has(&v, "ops_maintenance_mode", "missing-owner"));
    // Its creator Maya is a member: the import made her the owner of release_new_api_v2.
    assert!(!has(&v, "release_new_api_v2", "missing-owner"));
    assert!(!has(&v, "release_new_api_v2", "former-owner"));
}

/// A PostHog creator who left the PostHog organization (`GET /api/organizations/@current/
/// members/` no longer lists them) is reported for rows without an Owner, even while they are
/// still in the Notion workspace, and is not made the Owner by the import; a row whose Owner is
/// a current member is not reported (the Notion Owner overrides the PostHog creator).
#[test]
fn a_creator_who_left_the_posthog_organization_needs_a_new_owner_unless_one_took_over() {
    let env = TestEnv::start("demo");
    // Jonas Weber created the Product Overview dashboard and owns it in Notion.
    let (status, body) = env.sandbox.admin_request(
        "DELETE",
        "/posthog/members/jonas.weber@acme.example",
        Value::Null,
    );
    assert_eq!(status, 200, "{body}");
    let v = audit(&env, &[]);
    // Owned rows: the Notion Owner overrides the departed creator.
    assert!(
        !has(&v, "Product Overview", "former-owner"),
        "{:#}",
        v["hygiene"]
    );
    assert_eq!(finding_count(&v, "former-owner"), 1, "{:#}", v["hygiene"]);

    // Without an Owner, the creator who left is reported, and not suggested.
    edit_row(
        &env,
        "dashboards",
        "Dashboard Name",
        "Product Overview",
        json!({"Owner": {"people": []}}),
    );
    let v = audit(&env, &[]);
    assert_eq!(
        finding(&v, "Product Overview", "former-owner")["detail"],
        "no Owner, and its PostHog creator Jonas Weber (jonas.weber@acme.example) is no longer a member of the PostHog organization: hand it to a current member"
    );
    assert!(!has(&v, "Product Overview", "missing-owner"));
    // The import does not hand it back to him.
    env.ph_sync(&["import", "dashboards"]);
    let row = env.row_where("dashboards", "Dashboard Name", "Product Overview");
    assert_eq!(row["properties"]["Owner"]["people"], json!([]), "{row:#}");
    assert!(has(&audit(&env, &[]), "Product Overview", "former-owner"));
}

/// A creator who is still a member of the PostHog organization is no former owner: a row
/// without an Owner is `missing-owner`, with them suggested.
#[test]
fn a_creator_still_in_the_posthog_organization_is_suggested_not_reported() {
    let env = TestEnv::start("demo");
    edit_row(
        &env,
        "dashboards",
        "Dashboard Name",
        "Product Overview",
        json!({"Owner": {"people": []}}),
    );
    let v = audit(&env, &[]);
    assert!(!has(&v, "Product Overview", "former-owner"));
    assert!(finding(&v, "Product Overview", "missing-owner")["detail"]
        .as_str()
        .unwrap()
        .contains("its PostHog creator Jonas Weber"));
    let md = env.ph_sync(&["audit"]);
    assert!(
        !md.contains("PostHog creators were not checked"),
        "the organization's members were read: {md}"
    );
}

#[test]
fn without_user_information_owners_are_not_checked() {
    let mut scenario = demo_json();
    scenario["notion"]["user_access"] = json!("none");
    let env = TestEnv::with(
        Scenario::from_json(&scenario.to_string()).unwrap(),
        crate::common::fast_options(),
    );
    let v = audit(&env, &[]);
    assert_eq!(finding_count(&v, "former-owner"), 0);
    let md = env.ph_sync(&["audit"]);
    assert!(
        md.contains("Owners were not checked against the Notion workspace"),
        "{md}"
    );
}

#[test]
fn missing_purpose_per_database() {
    let env = TestEnv::start("demo");
    // PostHog has no description of error_api_timeout: its new row has none.
    env.ph_sync(&["import", "events"]);
    edit_row(
        &env,
        "events",
        "Event Name",
        "user_logged_out",
        json!({"Description": {"rich_text": []}}),
    );
    edit_row(
        &env,
        "experiments",
        "Experiment Name",
        "Trial length test",
        json!({"Hypothesis": {"rich_text": []}}),
    );
    edit_row(
        &env,
        "dashboards",
        "Dashboard Name",
        "Feature Adoption",
        json!({"Purpose": {"rich_text": []}}),
    );
    let v = audit(&env, &[]);
    assert_eq!(
        finding(&v, "error_api_timeout", "missing-purpose")["detail"],
        "no Description: write what the event tracks"
    );
    assert_eq!(
        finding(&v, "user_logged_out", "missing-purpose")["detail"],
        "no Description: write what the event tracks (`kodo ph-sync import events` copies PostHog's description)"
    );
    assert_eq!(
        finding(&v, "Trial length test", "missing-purpose")["detail"],
        "no Hypothesis: write what the experiment tests (`kodo ph-sync import experiments` copies PostHog's description)"
    );
    assert_eq!(
        finding(&v, "Feature Adoption", "missing-purpose")["detail"],
        "no Purpose: write what the dashboard monitors (`kodo ph-sync import dashboards` copies PostHog's description)"
    );
    // Flags have no purpose property; every other row has its text (the six new events have
    // none in PostHog either).
    assert_eq!(finding_count(&v, "missing-purpose"), 9);
}

#[test]
fn cleanup_plans_and_overdue_removals_with_code_references() {
    let env = TestEnv::start("demo");
    // A clean-up date in the future: planned, not overdue.
    edit_row(
        &env,
        "feature_flags",
        "Flag Key",
        "release_onboarding_checklist",
        json!({"Planned Removal": {"date": {"start": day(30)}}}),
    );
    // Inactive in PostHog and past its date: overdue only while the code still checks it.
    let v = audit(&env, &[]);
    assert!(!has(&v, "release_onboarding_checklist", "cleanup-overdue"));
    assert!(!has(&v, "release_onboarding_checklist", "no-cleanup-plan"));
    assert!(!has(&v, "release_legacy_export_removal", "cleanup-overdue"));
    // Types other than release and experiment need no plan.
    assert!(!has(&v, "beta_ai_assistant", "no-cleanup-plan"));
    assert!(!has(&v, "ops_rate_limit_override", "no-cleanup-plan"));

    std::fs::create_dir_all(env.root().join("web")).unwrap();
    std::fs::write(
        env.root().join("web/export.ts"),
        "import posthog from 'posthog-js'\n\nif (posthog.isFeatureEnabled('release_legacy_export_removal')) {}\n",
    )
    .unwrap();
    let v = audit(&env, &[]);
    let overdue = finding(&v, "release_legacy_export_removal", "cleanup-overdue");
    assert_eq!(
        overdue["detail"],
        "Planned Removal 2026-03-31 has passed and the code still checks it (web/export.ts:3): remove the checks and archive the flag, or set a new date"
    );
    assert_eq!(overdue["references"], json!(["web/export.ts:3"]));
    // `--no-code`: only what PostHog serves is judged.
    let v = audit(&env, &["--no-code"]);
    assert!(!has(&v, "release_legacy_export_removal", "cleanup-overdue"));
}

#[test]
fn a_concluded_experiment_needs_its_result_after_the_grace_period() {
    let env = TestEnv::start("demo");
    // Pricing page layout (id 31) ends in PostHog; Notion has no Result or Learnings yet.
    let ended = format!("{}T10:00:00Z", day(-20));
    env.sandbox.admin_send(
        "PATCH",
        "/posthog/experiments/31",
        json!({"end_date": ended}),
    );
    let v = audit(&env, &[]);
    assert_eq!(
        finding(&v, "Pricing page layout", "experiment-without-result")["detail"],
        format!(
            "concluded {} (20 days ago) with no Result or Learnings: record the outcome in Notion",
            day(-20)
        )
    );
    // Checkout button copy won, with its winner and learnings written: nothing to ask.
    assert!(!has(
        &v,
        "Checkout button copy",
        "experiment-without-result"
    ));
    // Within the grace period: not yet.
    set_hygiene(&env, json!({"experiment_result_grace_days": 30}));
    let v = audit(&env, &[]);
    assert!(!has(&v, "Pricing page layout", "experiment-without-result"));
    // A winner without its variant is incomplete.
    set_hygiene(&env, json!({"experiment_result_grace_days": 14}));
    edit_row(
        &env,
        "experiments",
        "Experiment Name",
        "Checkout button copy",
        json!({"Winner Variant": {"rich_text": []}}),
    );
    let v = audit(&env, &[]);
    assert!(
        finding(&v, "Checkout button copy", "experiment-without-result")["detail"]
            .as_str()
            .unwrap()
            .contains("with no Winner Variant: record the outcome in Notion")
    );
}

#[test]
fn a_flag_deleted_in_posthog_should_be_archived_in_notion() {
    let env = TestEnv::start("demo");
    // kodo remembers documented flags' IDs, so it can tell a deleted flag from a vanished one.
    audit(&env, &[]);
    env.sandbox.admin_send(
        "PATCH",
        "/posthog/feature_flags/201",
        json!({"deleted": true}),
    );
    let v = audit(&env, &[]);
    assert_eq!(
        finding(&v, "release_checkout_v2", "deleted-not-archived")["detail"],
        "deleted in PostHog, while Notion still says \"draft\": `kodo ph-sync import flags` marks it archived; next time archive the flag in PostHog rather than delete it"
    );
    assert_eq!(finding_count(&v, "deleted-not-archived"), 1);
    env.ph_sync(&["import", "flags"]);
    let v = audit(&env, &[]);
    assert_eq!(finding_count(&v, "deleted-not-archived"), 0);
    // An archived row needs no owner, purpose or plan either.
    assert!(!rules(&v).iter().any(|(_, k, _)| k == "release_checkout_v2"));
}

/// PostHog soft-deletes dashboards and experiments, leaves them out of its lists and answers
/// 404 for them by id: a documented dashboard (its row holds the ID) or experiment (kodo
/// remembers its ID in `.kodo/state.json`) that is deleted is `deleted-not-archived` until the
/// row is archived; one that is still there, or a row already archived, is not.
#[test]
fn deleted_dashboards_and_experiments_should_be_archived_in_notion() {
    let env = TestEnv::start("demo");
    // A first run sees the experiments and remembers their IDs.
    let v = audit(&env, &[]);
    assert_eq!(finding_count(&v, "deleted-not-archived"), 0);
    env.sandbox
        .admin_send("PATCH", "/posthog/dashboards/118", json!({"deleted": true}));
    env.sandbox
        .admin_send("PATCH", "/posthog/experiments/31", json!({"deleted": true}));
    let v = audit(&env, &[]);
    assert_eq!(
        finding(&v, "Product Overview", "deleted-not-archived")["detail"],
        "deleted in PostHog (reading it by ID finds nothing), while its row is still in Notion: archive the row (`kodo ph-sync import dashboards --archive-orphans` moves it to the trash)"
    );
    assert_eq!(
        finding(&v, "Pricing page layout", "deleted-not-archived")["detail"],
        "deleted in PostHog (reading it by ID finds nothing), while Notion still says \"running\": set its Status to archived; next time archive the experiment in PostHog rather than delete it"
    );
    assert_eq!(
        finding_count(&v, "deleted-not-archived"),
        2,
        "{:#}",
        v["hygiene"]
    );
    // The dashboards and experiments still in PostHog are not reported.
    assert!(!has(&v, "Revenue & Subscriptions", "deleted-not-archived"));
    assert!(!has(&v, "Checkout button copy", "deleted-not-archived"));

    // Archived in Notion: nothing more to do.
    edit_row(
        &env,
        "experiments",
        "Experiment Name",
        "Pricing page layout",
        json!({"Status": {"select": {"name": "archived"}}}),
    );
    env.ph_sync(&["import", "dashboards", "--archive-orphans"]);
    let v = audit(&env, &[]);
    assert_eq!(
        finding_count(&v, "deleted-not-archived"),
        0,
        "{:#}",
        v["hygiene"]
    );
}

/// Without the ID kodo saw (a fresh clone: no `.kodo/state.json`), a vanished experiment is
/// not called deleted: PostHog's 404 alone does not say it ever existed.
#[test]
fn an_experiment_never_seen_is_not_called_deleted() {
    let env = TestEnv::start("demo");
    env.sandbox
        .admin_send("PATCH", "/posthog/experiments/31", json!({"deleted": true}));
    let v = audit(&env, &[]);
    assert!(
        !has(&v, "Pricing page layout", "deleted-not-archived"),
        "{:#}",
        v["hygiene"]
    );
}

#[test]
fn rules_can_be_turned_off_or_made_to_fail_the_check() {
    let env = TestEnv::start("demo");
    env.ph_sync(&["import", "all"]);
    // In sync: the warnings alone do not fail `--check`.
    let ok = env
        .kodo()
        .args(["ph-sync", "audit", "--check"])
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    set_hygiene(
        &env,
        json!({"hygiene": {"no-cleanup-plan": "error", "cleanup-overdue": "off"}}),
    );
    let failed = env
        .kodo()
        .args(["ph-sync", "audit", "--check", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(v["in_sync"], true);
    // exp_trial_length_test, release_dark_mode and the newly documented release_new_api_v2.
    assert_eq!(v["hygiene_errors"], 3);
    assert_eq!(finding_count(&v, "cleanup-overdue"), 0);
    assert_eq!(
        finding(&v, "release_dark_mode", "no-cleanup-plan")["level"],
        "error"
    );
    assert_eq!(
        finding(&v, "release_dark_mode", "former-owner")["level"],
        "warn"
    );
    let md = env.ph_sync(&["audit"]);
    assert!(
        md.contains("### No Clean-up Plan (`no-cleanup-plan`, fails --check)"),
        "{md}"
    );
    // The overview's check fails the same way, and says so in its one line.
    let overview = env.kodo().args(["ph-sync", "--check"]).output().unwrap();
    assert_eq!(overview.status.code(), Some(1));
    let overview_text = String::from_utf8_lossy(&overview.stdout);
    assert!(overview_text.contains(
        "Hygiene: 18 findings (6 missing-owner, 2 former-owner, 7 missing-purpose, 3 no-cleanup-plan), 3 failing --check: `kodo ph-sync audit` lists them"
    ),
        "{overview_text}"
    );

    set_hygiene(&env, json!({"hygiene": {"no-cleanup-plan": "off"}}));
    let v = audit(&env, &[]);
    assert_eq!(finding_count(&v, "no-cleanup-plan"), 0);
    assert_eq!(v["hygiene_errors"], 0);
    assert!(finding_count(&v, "cleanup-overdue") > 0, "back to warn");
    let ok = env
        .kodo()
        .args(["ph-sync", "audit", "--check"])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
}

#[test]
fn an_unknown_rule_id_is_a_clear_configuration_error() {
    let env = TestEnv::start("demo");
    set_hygiene(&env, json!({"hygiene": {"missing-owners": "error"}}));
    let out = env.kodo().args(["ph-sync", "audit"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`sync.hygiene.missing-owners`: `missing-owners` is not a hygiene rule; the rules are missing-owner, former-owner, missing-purpose, no-cleanup-plan, cleanup-overdue, experiment-without-result, deleted-not-archived"),
        "{stderr}"
    );
    assert!(
        env.requests().is_empty(),
        "no request before the config is valid"
    );
}
