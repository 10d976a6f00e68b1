//! A property a person renamed in Notion is followed by its id (issue 13): setup adds no second
//! column, and import reads and writes the renamed one. Renamed the way Notion renames a
//! property: `PATCH /v1/data_sources/{id}` with `{"properties": {"<old>": {"name": "<new>"}}}`
//! (developers.notion.com/reference/update-data-source-properties, "Rename a property").

use crate::common::{plain, TestEnv};
use serde_json::{json, Value};

fn rename(env: &TestEnv, key: &str, from: &str, to: &str) {
    let ds = env.data_source_of(key);
    let (status, body) = env.sandbox.admin_request(
        "PATCH",
        &format!("/notion/data_sources/{ds}"),
        json!({"properties": {from: {"name": to}}}),
    );
    assert_eq!(status, 200, "{body}");
}

/// The property names of the data source behind `key`.
fn columns(env: &TestEnv, key: &str) -> Vec<String> {
    let ds = env.data_source_of(key);
    let state = env.state();
    let source = state["notion"]["data_sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == ds.as_str())
        .unwrap()
        .clone();
    let mut names: Vec<String> = source["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

#[test]
fn setup_and_import_follow_a_renamed_property_instead_of_adding_a_second_one() {
    let env = TestEnv::start("demo");
    // kodo has read the databases once (and remembered their properties' ids).
    env.ph_sync(&["status"]);
    rename(&env, "events", "Tracked On", "Where");
    rename(&env, "feature_flags", "Status", "State");
    let events_before = columns(&env, "events");
    let flags_before = columns(&env, "feature_flags");
    assert!(events_before.contains(&"Where".to_string()));
    assert!(!events_before.contains(&"Tracked On".to_string()));

    let text = env.ph_sync(&["setup", "--format", "json"]);
    let v: Value = serde_json::from_str(&text).unwrap();
    for r in v["resources"].as_array().unwrap() {
        assert_eq!(r["added_properties"], json!([]), "{text}");
    }
    assert_eq!(columns(&env, "events"), events_before);
    assert_eq!(columns(&env, "feature_flags"), flags_before);
    // Doctor follows them too: the schema is complete under the new names.
    let out = env
        .kodo()
        .args(["doctor", "--format", "json"])
        .output()
        .unwrap();
    let doctor: Value = serde_json::from_slice(&out.stdout).unwrap();
    for name in ["events database", "flags database"] {
        let check = doctor["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("no {name}: {doctor:#}"));
        assert_eq!(check["status"], "ok", "{check:#}");
    }

    // The audit reads the renamed Status: the demo's one status mismatch is still found there.
    let audit = env.ph_sync(&["audit", "flags", "--format", "json"]);
    let audit: Value = serde_json::from_str(&audit).unwrap();
    let mismatches = audit["mismatches"].as_array().unwrap();
    assert!(
        mismatches
            .iter()
            .any(|m| m["key"] == "release_checkout_v2" && m["notion_status"] == "draft"),
        "{audit:#}"
    );
    // Import writes it there, and nothing is left to do.
    let out = env.kodo().args(["ph-sync", "import"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("differs from kodo's schema"), "{stderr}");
    let row = env.row_where("feature_flags", "Flag Key", "release_checkout_v2");
    assert_eq!(plain(&row["properties"]["State"]), "active", "{row:#}");
    assert!(row["properties"].get("Status").is_none(), "{row:#}");
    assert_eq!(columns(&env, "feature_flags"), flags_before);
    env.kodo()
        .args(["ph-sync", "audit", "--check"])
        .assert()
        .code(0);
    let again = env.ph_sync(&["import", "--dry-run", "--format", "json"]);
    let again: Value = serde_json::from_str(&again).unwrap();
    for (resource, plan) in again["plan"].as_object().unwrap() {
        assert_eq!(plan["create"], json!([]), "{resource}");
        assert_eq!(plan["update"], json!([]), "{resource}");
    }
}

#[test]
fn a_property_kodo_never_saw_is_not_guessed() {
    // Renamed before kodo ever read the database (no id remembered): kodo cannot know
    // `Where` was its `Tracked On`, so it does not guess; setup adds kodo's property.
    let env = TestEnv::start("demo");
    rename(&env, "events", "Tracked On", "Where");
    let text = env.ph_sync(&["setup", "--format", "json"]);
    let v: Value = serde_json::from_str(&text).unwrap();
    let events = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "events")
        .unwrap()
        .clone();
    assert_eq!(events["added_properties"], json!(["Tracked On"]), "{text}");
    let cols = columns(&env, "events");
    assert!(cols.contains(&"Where".to_string()) && cols.contains(&"Tracked On".to_string()));
}

/// The Claude hook's live lookup (`src/lookup.rs`) follows a renamed key property by the id
/// kodo remembered, as the sync does: a person renamed the Feature Flags database's "Flag
/// Key" to "Key" in Notion, and the hook, asking Notion with no snapshot to fall back on,
/// still finds the documented flag and still refuses the undocumented one.
#[test]
fn the_claude_hook_finds_a_documented_flag_under_its_renamed_key_property() {
    let env = TestEnv::start("demo");
    let mut config = env.config();
    config["sync"]["require_notion_entry"] = json!(true);
    env.write_config(&config);
    // kodo has read the databases once (ids remembered in .kodo/state.json) ...
    env.ph_sync(&["status"]);
    rename(&env, "feature_flags", "Flag Key", "Key");
    // ... and Notion alone answers: no snapshot to vouch for anything.
    std::fs::remove_file(env.root().join(".kodo/snapshot.json")).expect("status wrote one");
    let hook = |key: &str| {
        let payload = json!({
            "session_id": "0b7c5c1e-3f57-4d0a-9d1e-2c8a4f6b9e10",
            "transcript_path": "/home/dev/.claude/projects/-work-app/0b7c5c1e.jsonl",
            "cwd": env.root().display().to_string(),
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": "mcp__posthog__create-feature-flag",
            "tool_input": {"name": "A flag", "key": key, "filters": {"groups": []}, "active": false},
            "tool_use_id": "toolu_01ABCDEF"
        });
        env.kodo()
            .args(["hook", "claude"])
            .env_remove("KODO_ALLOW_UNDOCUMENTED")
            .write_stdin(payload.to_string())
            .output()
            .expect("kodo hook claude")
    };
    let documented = hook("release_checkout_v2");
    assert_eq!(documented.status.code(), Some(0), "{documented:?}");
    assert_eq!(
        String::from_utf8_lossy(&documented.stderr),
        "",
        "{documented:?}"
    );
    let undocumented = hook("release_new_api_v2");
    assert_eq!(undocumented.status.code(), Some(2), "{undocumented:?}");
    let stderr = String::from_utf8_lossy(&undocumented.stderr);
    assert!(
        stderr.contains("`release_new_api_v2` is not documented"),
        "{stderr}"
    );
    assert!(!stderr.contains("could not be asked"), "{stderr}");
}
