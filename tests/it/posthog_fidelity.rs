//! What real PostHog does that a naive client gets wrong (issue #12, the PostHog side), end
//! to end: the `kodo` binary against the emulator, which does each of these by default.
//! Sources: PostHog/posthog PR #63338 (archived flags), products/feature_flags/backend/
//! {models,api}/feature_flag.py (usage dashboards, tombstoned keys),
//! products/dashboards/backend/api/dashboard.py (`exclude_generated`),
//! products/experiments/backend/models/experiment.py (status, conclusions, legacy metrics).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::common::*;

fn audit_json(env: &TestEnv) -> Value {
    let text = env.ph_sync(&["audit", "--format", "json"]);
    serde_json::from_str(&text).expect("audit JSON")
}

fn keys(report: &Value, list: &str) -> BTreeSet<String> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {report}"))
        .iter()
        .map(|f| f["key"].as_str().unwrap_or("").to_string())
        .collect()
}

fn mismatch<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == key)
        .unwrap_or_else(|| panic!("no mismatch for {key} in {report}"))
}

/// An archived flag leaves PostHog's default list; kodo lists `?archived=true` too and calls
/// it `archived`, even on a fresh clone that has no `.kodo/state.json` to look it up by id.
#[test]
fn an_archived_flag_is_archived_not_missing_on_a_fresh_clone() {
    let env = TestEnv::start("demo");
    env.sandbox.admin_send(
        "PATCH",
        "/posthog/feature_flags/208",
        json!({"archived": true, "active": false}),
    );
    let _ = std::fs::remove_file(env.root().join(".kodo/state.json"));
    let report = audit_json(&env);
    assert!(
        !keys(&report, "orphaned").contains("ops_rate_limit_override"),
        "{report}"
    );
    let m = mismatch(&report, "ops_rate_limit_override");
    assert_eq!(m["notion_status"], "active");
    assert_eq!(m["posthog_status"], "archived");
    env.ph_sync(&["import"]);
    let row = env.row_where("feature_flags", "Flag Key", "ops_rate_limit_override");
    assert_eq!(row["properties"]["Status"]["select"]["name"], "archived");
}

/// Every flag has a generated "Generated Dashboard: <key> Usage"; none becomes a Notion row.
#[test]
fn generated_usage_dashboards_are_not_documented() {
    let env = TestEnv::start("demo");
    env.ph_sync(&["import"]);
    let names = env.column("dashboards", "Dashboard Name");
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(names.iter().all(|n| !n.starts_with("Generated Dashboard")));
}

/// Pages that shift between requests repeat items; a repeat never becomes a second row.
#[test]
fn shifted_list_pages_never_make_a_second_row() {
    let env = TestEnv::start("demo");
    for i in 0..60 {
        env.sandbox.admin_send(
            "POST",
            "/posthog/event_definitions",
            json!({"name": format!("report_exported_{i:02}")}),
        );
    }
    env.sandbox
        .admin_send("PUT", "/posthog_list_shift", json!({"list_shift": 9}));
    env.ph_sync(&["import"]);
    env.assert_no_duplicates();
    let events = env.column("events", "Event Name");
    assert_eq!(events.len(), 47 + 60, "{}", events.len());
}

/// Events seen while kodo pages move ahead of the pages it has read (event definitions are
/// ordered by last-seen date, posthog/api/event_definition.py): that listing skips them. kodo
/// sees its listing fall short of PostHog's `count` and lists again, so none of them is taken
/// for missing, and none becomes a second row.
#[test]
fn events_seen_mid_listing_are_not_lost() {
    let env = TestEnv::start("demo");
    for i in 0..60 {
        env.sandbox.admin_send(
            "POST",
            "/posthog/event_definitions",
            json!({"name": format!("report_exported_{i:02}")}),
        );
    }
    env.sandbox
        .admin_send("PUT", "/posthog_list_reseen", json!({"list_reseen": 3}));
    env.ph_sync(&["import"]);
    env.assert_no_duplicates();
    let events = env.column("events", "Event Name");
    assert_eq!(events.len(), 47 + 60, "{events:?}");
    let report = audit_json(&env);
    assert_eq!(report["orphaned"], json!([]));
    assert_eq!(report["summary"]["events"]["posthog"], 107);
}

/// Shared metrics, every conclusion, legacy metric formats and paused experiments.
#[test]
fn experiments_keep_saved_metrics_conclusions_and_old_metric_formats() {
    let env = TestEnv::start("demo");
    env.sandbox.admin_send(
        "PATCH",
        "/posthog/experiments/32",
        json!({"conclusion": "invalid"}),
    );
    env.sandbox.admin_send(
        "POST",
        "/posthog/experiments",
        json!({
            "name": "Legacy onboarding funnel",
            "feature_flag_key": "exp_legacy_onboarding",
            "start_date": "2024-02-01T10:00:00Z",
            "end_date": "2024-03-01T10:00:00Z",
            "conclusion": "stopped_early",
            "metrics": [{"kind": "ExperimentFunnelsQuery", "funnels_query": {"kind": "FunnelsQuery",
                "series": [{"kind": "EventsNode", "event": "onboarding_started"},
                           {"kind": "EventsNode", "event": "onboarding_completed"}]}}],
            "secondary_metrics": [{"name": "Support tickets", "filters": {"events": [{"id": "ticket_opened", "order": 0}]}}],
        }),
    );
    env.sandbox.admin_send(
        "POST",
        "/posthog/experiments",
        json!({
            "name": "Pricing copy",
            "feature_flag_key": "exp_pricing_copy",
            "saved_metrics_ids": [{"id": 41, "metadata": {"type": "primary"}}],
        }),
    );
    env.ph_sync(&["import"]);
    let text = |row: &Value, p: &str| plain(&row["properties"][p]);
    let shared = env.row_where("experiments", "Experiment Name", "Pricing copy");
    assert_eq!(text(&shared, "Primary Metric"), "Pricing page bounce rate");
    let checkout = env.row_where("experiments", "Experiment Name", "Checkout button copy");
    assert_eq!(
        checkout["properties"]["Result"]["select"]["name"],
        "inconclusive"
    );
    let legacy = env.row_where("experiments", "Experiment Name", "Legacy onboarding funnel");
    assert_eq!(
        text(&legacy, "Primary Metric"),
        "funnel: onboarding_started → onboarding_completed"
    );
    assert_eq!(text(&legacy, "Secondary Metrics"), "Support tickets");
    assert_eq!(
        legacy["properties"]["Status"]["select"]["name"],
        "concluded"
    );
    assert_eq!(
        legacy["properties"]["Result"]["select"]["name"],
        "stopped_early"
    );
}

/// A launched experiment whose flag was switched off is what PostHog calls paused
/// (`Experiment.is_paused`, products/experiments/backend/models/experiment.py): still
/// `running`, and the audit says it is paused; once its end date is set it is `concluded`.
#[test]
fn a_paused_experiment_is_running_and_said_to_be_paused() {
    let env = TestEnv::start("demo");
    let made = env.sandbox.admin_send(
        "POST",
        "/posthog/experiments",
        json!({
            "name": "Onboarding checklist",
            "feature_flag_key": "exp_onboarding_checklist",
            "start_date": "2026-11-01T10:00:00Z",
        }),
    );
    let flag = made["feature_flag"]["id"]
        .as_i64()
        .expect("the experiment's flag");
    env.sandbox.admin_send(
        "PATCH",
        &format!("/posthog/feature_flags/{flag}"),
        json!({"active": false}),
    );
    let undocumented = |report: &Value| {
        report["undocumented"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == "Onboarding checklist")
            .cloned()
            .unwrap_or_else(|| panic!("not undocumented: {report}"))
    };
    let paused = undocumented(&audit_json(&env));
    assert_eq!(paused["posthog_status"], "running", "{paused}");
    assert_eq!(paused["detail"], "running (paused: its flag is off)");
    let id = made["id"].as_i64().unwrap();
    env.sandbox.admin_send(
        "PATCH",
        &format!("/posthog/experiments/{id}"),
        json!({"end_date": "2026-11-20T10:00:00Z"}),
    );
    let stopped = undocumented(&audit_json(&env));
    assert_eq!(stopped["posthog_status"], "concluded", "{stopped}");
    env.ph_sync(&["import"]);
    let row = env.row_where("experiments", "Experiment Name", "Onboarding checklist");
    assert_eq!(row["properties"]["Status"]["select"]["name"], "concluded");
}

/// A deleted flag an experiment used has its key rewritten to `<key>:deleted:<id>`; kodo
/// still knows it by id and reports it `archived`, not as a vanished row.
#[test]
fn a_deleted_flag_with_a_tombstoned_key_is_still_that_flag() {
    let env = TestEnv::start("demo");
    // The first import records the flags' ids.
    env.ph_sync(&["import"]);
    env.sandbox.admin_send(
        "PATCH",
        "/posthog/feature_flags/206",
        json!({"deleted": true}),
    );
    let flag = env.sandbox.admin_get("/state")["posthog"]["feature_flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == 206)
        .cloned()
        .unwrap();
    assert_eq!(flag["key"], "exp_checkout_button_copy:deleted:206");
    let report = audit_json(&env);
    assert!(
        !keys(&report, "orphaned").contains("exp_checkout_button_copy"),
        "{report}"
    );
    assert_eq!(
        mismatch(&report, "exp_checkout_button_copy")["posthog_status"],
        "archived"
    );
}
