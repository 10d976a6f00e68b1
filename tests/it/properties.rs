//! Each event's properties kept honest, end to end on the demo: import fills an empty
//! Properties schema from what PostHog has seen and afterwards only extends it (nothing a
//! person wrote is removed or rewritten), a schema that is not JSON is reported with its row's
//! link and left alone, and `audit --check` fails on an undocumented property only with
//! `sync.require_documented_properties`.

use crate::common::{plain, TestEnv};
use serde_json::{json, Value};

fn see(env: &TestEnv, property: &str, property_type: &str, event: &str) {
    env.sandbox.admin_send(
        "POST",
        "/posthog/property_definitions",
        json!({"name": property, "property_type": property_type, "events": [event]}),
    );
}

fn schema_of(env: &TestEnv, event: &str) -> Value {
    let row = env.row_where("events", "Event Name", event);
    let text = plain(&row["properties"]["Properties"]);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{event}: {e}: {text}"))
}

fn set_properties_text(env: &TestEnv, event: &str, text: &str) {
    let row = env.row_where("events", "Event Name", event);
    let id = row["id"].as_str().unwrap().to_string();
    env.sandbox.admin_send(
        "PATCH",
        &format!("/notion/pages/{id}"),
        json!({"properties": {"Properties": {"rich_text": [{"type": "text", "text": {"content": text}}]}}}),
    );
}

fn set_sync(env: &TestEnv, key: &str, value: Value) {
    let mut config = env.config();
    config["sync"][key] = value;
    env.write_config(&config);
}

#[test]
fn import_fills_an_empty_schema_then_only_extends_it() {
    let env = TestEnv::start("demo");
    // `user_logged_out` is documented with an empty schema (`{}`).
    see(&env, "reason", "String", "user_logged_out");
    env.ph_sync(&["import"]);
    assert_eq!(
        schema_of(&env, "user_logged_out"),
        json!({"reason": {"type": "string"}})
    );
    // The demo's undocumented property joins the entries people wrote, which stay as written.
    assert_eq!(
        schema_of(&env, "subscription_payment_failed"),
        json!({"plan": "string", "decline_code": "string", "attempt": {"type": "number"}})
    );

    // A person describes an entry and adds one of their own; PostHog sees one more.
    set_properties_text(
        &env,
        "user_logged_out",
        r#"{"reason": {"type": "string", "description": "why they left"}, "manual": "boolean"}"#,
    );
    see(&env, "session_minutes", "Numeric", "user_logged_out");
    let out = env.ph_sync(&["import", "events"]);
    assert!(
        out.contains("  ~ user_logged_out: add session_minutes\n"),
        "{out}"
    );
    assert_eq!(
        schema_of(&env, "user_logged_out"),
        json!({
            "reason": {"type": "string", "description": "why they left"},
            "manual": "boolean",
            "session_minutes": {"type": "number"}
        })
    );
    // Nothing new: nothing written.
    env.clear_requests();
    let out = env.ph_sync(&["import", "events"]);
    assert!(
        out.contains("Properties schemas: nothing to add") || !out.contains("to extend"),
        "{out}"
    );
    assert!(env.notion_writes().is_empty(), "{:?}", env.notion_writes());
}

#[test]
fn a_schema_that_is_not_json_is_reported_with_its_link_and_left_alone() {
    let env = TestEnv::start("demo");
    set_properties_text(&env, "user_logged_in", "method, mfa");
    see(&env, "device", "String", "user_logged_in");
    let audit: Value =
        serde_json::from_str(&env.ph_sync(&["audit", "events", "--format", "json"])).unwrap();
    let unreadable: Vec<&Value> = audit["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "unreadable")
        .collect();
    assert_eq!(unreadable.len(), 1, "{audit:#}");
    assert_eq!(unreadable[0]["event"], "user_logged_in");
    assert_eq!(unreadable[0]["fix"], "fix_in_notion");
    assert!(unreadable[0]["url"]
        .as_str()
        .is_some_and(|u| u.contains("notion.so")));
    let md = env.ph_sync(&["audit", "events"]);
    assert!(md.contains("### Unreadable Schemas"), "{md}");
    env.ph_sync(&["import", "events"]);
    let row = env.row_where("events", "Event Name", "user_logged_in");
    assert_eq!(plain(&row["properties"]["Properties"]), "method, mfa");
}

#[test]
fn undocumented_properties_fail_the_check_only_when_required() {
    let env = TestEnv::start("demo");
    env.ph_sync(&["import"]);
    env.kodo()
        .args(["ph-sync", "audit", "--check"])
        .assert()
        .code(0);
    see(
        &env,
        "retry_in_days",
        "Numeric",
        "subscription_payment_failed",
    );
    env.kodo()
        .args(["ph-sync", "audit", "--check"])
        .assert()
        .code(0);
    let csv = env.ph_sync(&["audit", "events", "--format", "csv"]);
    assert!(
        csv.contains(
            "property_undocumented,events,subscription_payment_failed.retry_in_days,,number,"
        ),
        "{csv}"
    );
    set_sync(&env, "require_documented_properties", json!(true));
    let out = env
        .kodo()
        .args(["ph-sync", "audit", "--check", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let audit: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(audit["property_errors"], 1);
    // The audit is the plan: import adds it, and the check passes again.
    env.ph_sync(&["import", "events"]);
    env.kodo()
        .args(["ph-sync", "audit", "--check"])
        .assert()
        .code(0);
}
