//! The spec's example, end to end: the `demo` scenario's PostHog and Notion are exactly the
//! example at the bottom of ph-sync-spec.md, so `kodo ph-sync audit` must report exactly its
//! findings (plus a one-line code section: the test's project directory holds only the config;
//! the scenario's sample app, `sandbox/scenarios/demo-app/`, is what `cargo xtask demo` checks
//! out and scans) — and after an import, nothing.

use crate::common::TestEnv;
use kodo_core::model::Resource;
use kodo_core::wire;
use serde_json::{json, Value};

/// The report with its one time-dependent line replaced.
fn without_timestamp(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with("Generated: ") {
                "Generated: <timestamp>"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The spec's example report (ph-sync-spec.md), which kodo-core's renderer test also reads.
const SPEC_REPORT: &str = include_str!("../../crates/core/src/testdata/spec_example_audit.md");

/// The code section of a project directory without code (the spec's example has none, and
/// these tests do not check out the demo's sample app).
const NO_CODE: &str = "\n## Code\nNo PostHog references found in the code (0 files scanned).\n\n";

#[test]
fn demo_audit_is_the_spec_example() {
    let env = TestEnv::start("demo");
    let out = env
        .kodo()
        .args(["ph-sync", "audit", "--check"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    // The spec's example, plus what the import also writes (stale facts: the emulator's
    // dashboard URLs, the mismatched flag's rollout) and the people's edits it keeps: the audit
    // is the plan.
    // Each row of a Notion page links to it; the spec's example has no links.
    let page = env.row_where("feature_flags", "Flag Key", "release_checkout_v2");
    let page_id = page["id"].as_str().unwrap().replace('-', "");
    let link = format!("- [ ] Flag [`release_checkout_v2`](https://www.notion.so/release-checkout-v2-{page_id}): Notion says");
    assert!(stdout.contains(&link), "{stdout}");
    let report = without_timestamp(&crate::common::unlinked(&stdout));
    let (head, tail) = SPEC_REPORT.split_once("### Fully Synced").unwrap();
    assert!(report.starts_with(head), "{report}");
    let stale = section(&report, "### Stale Documentation");
    assert_eq!(stale.len(), 5, "{report}");
    assert!(stale.contains(&"- [ ] Flag `release_checkout_v2`: Rollout %: 0 → 100"));
    assert_eq!(
        section(&report, "### Edited in Notion").len(),
        9,
        "{report}"
    );
    let (synced, actions) = tail.split_once("## Recommended Actions\n").unwrap();
    assert!(
        report.contains(&format!("### Fully Synced{synced}")),
        "{report}"
    );
    assert!(report.contains(actions), "{report}");
    assert!(report.contains(NO_CODE), "{report}");
    // The timestamp is RFC 3339 UTC.
    let generated = stdout.lines().nth(1).unwrap();
    assert!(
        generated.starts_with("Generated: 20") && generated.ends_with('Z'),
        "{generated}"
    );
}

/// The `- [ ]` lines of a report's section.
fn section<'r>(report: &'r str, title: &str) -> Vec<&'r str> {
    report
        .split(title)
        .nth(1)
        .unwrap_or_default()
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with("- [ ]"))
        .collect()
}

#[test]
fn demo_audit_json_has_exactly_the_spec_findings() {
    let env = TestEnv::start("demo");
    let text = env.ph_sync(&["audit", "--format", "json"]);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], 1);
    for (resource, posthog, notion, undocumented) in [
        ("events", 47, 41, 6),
        ("flags", 12, 10, 2),
        ("experiments", 3, 3, 0),
        ("dashboards", 6, 4, 2),
    ] {
        let s = &v["summary"][resource];
        assert_eq!(s["posthog"], posthog, "{resource}");
        assert_eq!(s["notion"], notion, "{resource}");
        assert_eq!(s["undocumented"], undocumented, "{resource}");
        assert_eq!(s["orphaned"], 0, "{resource}");
    }
    let undocumented: Vec<(String, String)> = v["undocumented"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["resource"].as_str().unwrap().to_string(),
                f["key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("events", "error_api_timeout"),
        ("events", "feature_export_completed"),
        ("events", "feature_export_started"),
        ("events", "system_job_failed"),
        ("events", "system_webhook_sent"),
        ("events", "user_api_key_created"),
        ("flags", "ops_maintenance_mode"),
        ("flags", "release_new_api_v2"),
        ("dashboards", "API Performance"),
        ("dashboards", "Error Tracking"),
    ]
    .iter()
    .map(|(r, k)| (r.to_string(), k.to_string()))
    .collect();
    assert_eq!(undocumented, expected);
    assert_eq!(v["undocumented"][7]["detail"], "active at 25%");
    assert_eq!(v["undocumented"][6]["detail"], "inactive");
    assert_eq!(v["undocumented"][8]["id"], 123);
    assert_eq!(
        v["mismatches"],
        json!([{
            "resource": "flags",
            "key": "release_checkout_v2",
            "notion_status": "draft",
            "posthog_status": "active",
            "detail": "active at 100%",
            "url": v["mismatches"][0]["url"],
        }])
    );
    assert!(v["mismatches"][0]["url"].is_string());
    assert_eq!(v["orphaned"], json!([]));
    let keys = |kind: &str| -> Vec<String> {
        v[kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{}/{}",
                    f["resource"].as_str().unwrap(),
                    f["key"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        keys("stale"),
        [
            "flags/release_checkout_v2",
            "dashboards/Activation & Onboarding",
            "dashboards/Feature Adoption",
            "dashboards/Product Overview",
            "dashboards/Revenue & Subscriptions"
        ]
    );
    assert_eq!(v["stale"][0]["changes"][0]["property"], "Rollout %");
    assert_eq!(keys("edited").len(), 9);
    assert!(v["edited"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["changes"][0]["property"] == "Targeting"));
    assert_eq!(v["planned"], json!([]));
    // No code in the project: scanned, nothing to judge.
    assert_eq!(
        v["code"],
        json!({"scanned": true, "files_scanned": 0, "in_code_only": [], "unreferenced": [],
               "dead_flag_references": [], "cleanup_candidates": [], "dynamic": []})
    );
    assert_eq!(v["in_sync"], false);
}

#[test]
fn demo_audit_csv_lists_one_finding_per_row() {
    let env = TestEnv::start("demo");
    let text = env.ph_sync(&["audit", "flags", "--format", "csv"]);
    assert_eq!(
        text,
        "type,resource,key,notion_status,posthog_status,detail\r\n\
         undocumented,flags,ops_maintenance_mode,,draft,inactive\r\n\
         undocumented,flags,release_new_api_v2,,rolling_out,active at 25%\r\n\
         mismatch,flags,release_checkout_v2,draft,active,active at 100%\r\n\
         stale,flags,release_checkout_v2,draft,active,Rollout %: 0 → 100\r\n\
         edited,flags,beta_ai_assistant,active,active,Targeting: Users with person property beta_opt_in = true → 100% where beta_opt_in is true\r\n\
         edited,flags,beta_team_workspaces,draft,draft,Targeting: Nobody yet → 0% of all users\r\n\
         edited,flags,exp_checkout_button_copy,active,active,\"Targeting: Experiment Checkout button copy: control/test 50/50 → 100% of all users; variants: control 50%, test 50%\"\r\n\
         edited,flags,exp_pricing_page_layout,active,active,\"Targeting: Experiment Pricing page layout: control/test 50/50 → 100% of all users; variants: control 50%, test 50%\"\r\n\
         edited,flags,exp_trial_length_test,draft,draft,\"Targeting: Experiment Trial length test: control/test 50/50 (not launc… → 100% of all users; variants: control 50%, test 50%\"\r\n\
         edited,flags,ops_rate_limit_override,active,active,Targeting: All users; checked server-side per workspace plan → 100% of all users\r\n\
         edited,flags,release_checkout_v2,draft,active,Targeting: Everyone (not launched yet) → 100% of all users\r\n\
         edited,flags,release_legacy_export_removal,draft,draft,Targeting: Nobody yet → 0% of all users\r\n\
         edited,flags,release_onboarding_checklist,active,active,Targeting: All users → 100% of all users\r\n\
         hygiene,flags,exp_checkout_button_copy,,,\"cleanup-overdue: Planned Removal 2025-12-31 has passed and PostHog still serves it (active at 100%): remove the checks and archive the flag, or set a new date\"\r\n\
         hygiene,flags,exp_pricing_page_layout,,,\"cleanup-overdue: Planned Removal 2025-12-01 has passed and PostHog still serves it (active at 100%): remove the checks and archive the flag, or set a new date\"\r\n\
         hygiene,flags,exp_trial_length_test,,,no-cleanup-plan: an experiment flag with no Planned Removal: set the date it will be removed from the code and archived\r\n\
         hygiene,flags,release_checkout_v2,,,\"cleanup-overdue: Planned Removal 2025-12-31 has passed and PostHog still serves it (active at 100%): remove the checks and archive the flag, or set a new date\"\r\n\
         hygiene,flags,release_dark_mode,,,former-owner: Owner Notion user 9a4c2e7f… is no longer a member of the Notion workspace: hand it to a current member (its PostHog creator Alex Kim is one)\r\n\
         hygiene,flags,release_dark_mode,,,no-cleanup-plan: a release flag with no Planned Removal: set the date it will be removed from the code and archived\r\n\
         hygiene,flags,release_onboarding_checklist,,,\"cleanup-overdue: Planned Removal 2025-12-15 has passed and PostHog still serves it (active at 100%): remove the checks and archive the flag, or set a new date\"\r\n"
    );
}

#[test]
fn import_creates_exactly_the_missing_rows_then_audit_is_clean_and_a_rerun_writes_nothing() {
    let env = TestEnv::start("demo");
    env.clear_requests();
    let out = env.ph_sync(&["import"]);
    assert!(
        out.contains("Events: 6 to create, 0 to update, 41 unchanged\n"),
        "{out}"
    );
    assert!(out.contains("  + release_new_api_v2\n"), "{out}");
    assert!(
        out.contains("  ~ release_checkout_v2: Status: draft → active; Rollout %: 0 → 100\n"),
        "{out}"
    );
    assert!(out.contains("  + API Performance (ID: 123)\n"), "{out}");
    // Exactly one create per missing row, every query a full page.
    assert_eq!(env.page_creates().len(), 10);
    let queries: Vec<Value> = env
        .requests()
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/query")))
        .collect();
    assert_eq!(queries.len(), 4, "one query per database: {queries:?}");

    assert_eq!(
        crate::common::plain(
            &env.row_where("feature_flags", "Flag Key", "release_checkout_v2")["properties"]
                ["Status"]
        ),
        "active"
    );
    let dashboard = env.row_where("dashboards", "Dashboard Name", "API Performance");
    assert_eq!(crate::common::plain(&dashboard["properties"]["ID"]), "123");

    env.kodo()
        .args(["ph-sync", "audit", "--check"])
        .assert()
        .code(0);
    env.kodo()
        .args(["ph-sync", "status", "--check"])
        .assert()
        .code(0);
    env.kodo().args(["ph-sync", "--check"]).assert().code(0);

    env.clear_requests();
    let out = env.ph_sync(&["import"]);
    assert!(
        out.contains("Events: nothing to do (47 unchanged)\n"),
        "{out}"
    );
    assert!(
        out.contains("Import done: created 0, recovered 0, updated 0, unchanged 68, failed 0."),
        "{out}"
    );
    let writes = env.notion_writes();
    assert!(writes.is_empty(), "a re-run wrote: {writes:?}");
}

#[test]
fn import_dry_run_prints_the_plan_and_writes_nothing() {
    let env = TestEnv::start("demo");
    env.clear_requests();
    let out = env.ph_sync(&["import", "flags", "--dry-run"]);
    assert!(out.starts_with("Flags: 2 to create, "), "{out}");
    assert!(env.notion_writes().is_empty());
    assert!(!env.root().join(".kodo/state.json").exists());
    assert!(!env.root().join(".kodo/snapshot.json").exists());
}

#[test]
fn human_fields_are_kept_unless_overwrite() {
    let env = TestEnv::start("demo");
    env.ph_sync(&["import", "events"]);
    let row = env.row_where("events", "Event Name", "user_signed_up");
    let page = row["id"].as_str().unwrap().to_string();
    env.sandbox.admin_send(
        "PATCH",
        &format!("/notion/pages/{page}"),
        json!({"properties": {"Description": {"rich_text": [{"text": {"content": "In our own words"}}]}}}),
    );
    let out = env.ph_sync(&["import", "events"]);
    assert!(
        out.contains("Events: nothing to do (47 unchanged)"),
        "{out}"
    );
    let description = |env: &TestEnv| {
        crate::common::plain(
            &env.row_where("events", "Event Name", "user_signed_up")["properties"]["Description"],
        )
    };
    assert_eq!(description(&env), "In our own words");

    let posthog_description = env.state()["posthog"]["event_definitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "user_signed_up")
        .and_then(|d| d["description"].as_str())
        .unwrap()
        .to_string();
    let out = env.ph_sync(&["import", "events", "--overwrite"]);
    assert!(
        out.contains("~ user_signed_up: Description: In our own words →"),
        "{out}"
    );
    assert_eq!(description(&env), posthog_description);
}

#[test]
fn status_and_the_default_overview() {
    let env = TestEnv::start("demo");
    let out = env.ph_sync(&["status"]);
    assert!(out.starts_with("# PostHog-Notion Sync Status\n\n"), "{out}");
    assert!(
        out.contains(
            "| Flags       |      12 |     10 |            2 |        0 |          1 |     1 |       0 | never     |\n"
        ),
        "{out}"
    );
    assert!(out.ends_with("Out of sync: `kodo ph-sync audit` lists every discrepancy.\n"));
    let v: Value = serde_json::from_str(&env.ph_sync(&["status", "--format", "json"])).unwrap();
    assert_eq!(v["resources"]["events"]["undocumented"], 6);
    assert_eq!(v["resources"]["events"]["last_sync"], Value::Null);
    env.kodo()
        .args(["ph-sync", "status", "--check"])
        .assert()
        .code(1);

    let out = env
        .kodo()
        .args(["ph-sync", "--check"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("## Discrepancies"), "{out}");
    assert!(
        out.contains("- [ ] Flag: `release_new_api_v2` (active at 25%)"),
        "{out}"
    );
    assert!(
        out.ends_with("## To fix\n    kodo ph-sync import all\n"),
        "{out}"
    );

    env.ph_sync(&["import", "flags"]);
    let v: Value = serde_json::from_str(&env.ph_sync(&["status", "--format", "json"])).unwrap();
    assert_eq!(v["resources"]["flags"]["last_sync"]["action"], "import");
    assert_eq!(v["resources"]["events"]["last_sync"], Value::Null);
}

#[test]
fn export_writes_the_notion_side_and_the_snapshot() {
    let env = TestEnv::start("demo");
    let out = env.ph_sync(&["export"]);
    assert!(out.contains("Flags: 10 rows → "), "{out}");
    let export: Value = serde_json::from_str(
        &std::fs::read_to_string(env.root().join(".kodo/export/flags.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(export["version"], 1);
    let flags = export["resources"]["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 10);
    let checkout = flags
        .iter()
        .find(|f| f["Flag Key"] == "release_checkout_v2")
        .unwrap();
    assert_eq!(checkout["Status"], "draft");
    assert!(checkout["page_id"].is_string());
    let csv = std::fs::read_to_string(env.root().join(".kodo/export/events.csv")).unwrap();
    assert!(
        csv.starts_with("Event Name,Domain,Category,Description,"),
        "{csv}"
    );
    assert_eq!(csv.matches("\r\n").count(), 42);

    let snapshot: Value = serde_json::from_str(
        &std::fs::read_to_string(env.root().join(".kodo/snapshot.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(snapshot["version"], 1);
    assert_eq!(snapshot["events"].as_array().unwrap().len(), 41);
    assert!(snapshot["flags"]
        .as_array()
        .unwrap()
        .contains(&json!("release_checkout_v2")));

    // `notion-sync --direction pull` is export; with --format it writes to stdout.
    let out = env
        .kodo()
        .args([
            "notion-sync",
            "--direction",
            "pull",
            "--type",
            "dashboards",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let export: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        export["resources"]["dashboards"].as_array().unwrap().len(),
        4
    );
}

#[test]
fn notion_sync_push_is_import() {
    let env = TestEnv::start("demo");
    env.clear_requests();
    env.kodo()
        .args(["notion-sync", "--direction", "push", "--type", "dashboards"])
        .assert()
        .success();
    assert_eq!(env.page_creates().len(), 2);
    assert_eq!(env.column("dashboards", "ID").len(), 6);
}

/// Notion requests of the log, as `METHOD first-two-path-segments status`.
fn notion_calls(env: &TestEnv) -> Vec<String> {
    let mut calls: Vec<String> = env
        .requests()
        .into_iter()
        .filter(|r| r["service"] == "notion")
        .map(|r| {
            let path = r["path"].as_str().unwrap_or("");
            let kind: Vec<&str> = path.split('/').skip(2).collect();
            let shape = match kind.as_slice() {
                [what, _, action] => format!("{what}/*/{action}"),
                [what, _] => format!("{what}/*"),
                other => other.join("/"),
            };
            format!(
                "{} {shape} {}",
                r["method"].as_str().unwrap_or(""),
                r["status"]
            )
        })
        .collect();
    calls.sort();
    calls
}

#[test]
fn reads_are_minimal_and_data_source_ids_work_too() {
    let env = TestEnv::start("demo");
    env.clear_requests();
    env.ph_sync(&["audit"]);
    // First run: each configured database, its data source's schema, one query page; the
    // user list (owners), and the one owner it lacks looked up by ID (a guest would be found;
    // Sam Ortiz left the workspace); the tracking-plan page's content (one page of blocks).
    let mut expected: Vec<String> = vec![
        "GET users 200".into(),
        "GET users/* 404".into(),
        "GET blocks/*/children 200".into(),
    ];
    for _ in 0..4 {
        expected.push("GET data_sources/* 200".into());
        expected.push("GET databases/* 200".into());
        expected.push("POST data_sources/*/query 200".into());
    }
    expected.sort();
    assert_eq!(notion_calls(&env), expected);

    // Later runs remember the data sources: one schema read and one query per database.
    env.clear_requests();
    env.ph_sync(&["audit"]);
    let mut expected: Vec<String> = vec![
        "GET users 200".into(),
        "GET users/* 404".into(),
        "GET blocks/*/children 200".into(),
    ];
    for _ in 0..4 {
        expected.push("GET data_sources/* 200".into());
        expected.push("POST data_sources/*/query 200".into());
    }
    expected.sort();
    assert_eq!(notion_calls(&env), expected);

    // Data-source IDs (Notion's "Copy data source ID") work as well as database IDs.
    let mut config = env.config();
    for key in ["events", "feature_flags", "experiments", "dashboards"] {
        config["notion"]["databases"][key] = json!(env.data_source_of(key));
    }
    env.write_config(&config);
    std::fs::remove_file(env.root().join(".kodo/state.json")).unwrap();
    let out = env.ph_sync(&["audit"]);
    assert!(
        out.contains("- Events: 47 in PostHog, 41 in Notion"),
        "{out}"
    );
}

#[test]
fn import_fills_tracked_on_from_the_code_scan() {
    let env = TestEnv::start("demo");
    std::fs::create_dir_all(env.root().join("web/src")).unwrap();
    std::fs::write(
        env.root().join("web/src/keys.ts"),
        "export function created() {\n  posthog.capture('user_api_key_created', { scope: 'read' })\n}\n\
         export function signup() {\n  posthog.capture('user_signed_up')\n}\n",
    )
    .unwrap();
    env.ph_sync(&["import", "events"]);
    let row = env.row_where("events", "Event Name", "user_api_key_created");
    assert_eq!(
        crate::common::plain(&row["properties"]["Tracked On"]),
        "frontend"
    );
    // Documented as tracked on both sides: a scan of one repository never takes a side away.
    let row = env.row_where("events", "Event Name", "user_signed_up");
    assert_eq!(
        crate::common::plain(&row["properties"]["Tracked On"]),
        "both"
    );
    // Both captured events are now in PostHog and documented: the code agrees too.
    env.kodo()
        .args(["ph-sync", "audit", "events", "--check"])
        .assert()
        .code(0);
}

#[test]
fn import_json_plan_and_result() {
    let env = TestEnv::start("demo");
    let text = env.ph_sync(&["import", "flags", "--dry-run", "--format", "json"]);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["dry_run"], true);
    assert_eq!(
        v["plan"]["flags"]["create"],
        json!(["ops_maintenance_mode", "release_new_api_v2"])
    );
    let update = v["plan"]["flags"]["update"].as_array().unwrap();
    let checkout = update
        .iter()
        .find(|u| u["key"] == "release_checkout_v2")
        .unwrap();
    assert_eq!(
        checkout["changes"][0],
        json!({"property": "Status", "from": "draft", "to": "active"})
    );
    assert_eq!(v["result"], Value::Null);

    let text = env.ph_sync(&["import", "flags", "--format", "json"]);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["result"]["created"], 2);
    assert_eq!(v["result"]["failed"], json!([]));
}

#[test]
fn a_flag_that_can_no_longer_be_fetched_may_have_been_deleted() {
    let env = TestEnv::start("demo");
    // kodo saw `release_sunset_banner` (ID 9999) once; PostHog no longer knows that ID.
    std::fs::write(
        env.root().join(".kodo/state.json"),
        r#"{"version": 1, "flag_ids": {"release_sunset_banner": 9999}}"#,
    )
    .unwrap();
    let ds = env.data_source_of("feature_flags");
    env.sandbox.admin_send(
        "POST",
        "/notion/pages",
        json!({"parent": {"data_source_id": ds},
               "properties": {
                   "Flag Key": {"title": [{"text": {"content": "release_sunset_banner"}}]},
                   "Status": {"select": {"name": "active"}}}}),
    );
    let text = crate::common::unlinked(&env.ph_sync(&["audit", "flags"]));
    assert!(
        text.contains("- [ ] Flag: `release_sunset_banner` - May have been deleted\n"),
        "{text}"
    );
    // The deleted flag of the demo (`release_old_navbar`) is not documented: not reported.
    assert!(!text.contains("release_old_navbar"), "{text}");
}

/// The audit is the import's plan: on the demo, every create and every property the dry run
/// would write is exactly one finding of the audit, and every other finding says why the
/// import does not write it. Both documents are read as kodo's wire types
/// (`kodo_core::wire`), so a field the contract lacks fails here.
#[test]
fn demo_audit_and_dry_run_agree() {
    let env = TestEnv::start("demo");
    let plan: wire::Import =
        serde_json::from_str(&env.ph_sync(&["import", "--dry-run", "--format", "json"]))
            .expect("the dry run is a wire::Import");
    let audit: wire::Audit = serde_json::from_str(&env.ph_sync(&["audit", "--format", "json"]))
        .expect("the audit is a wire::Audit");
    assert_eq!(
        (plan.version, audit.version),
        (wire::VERSION, wire::VERSION)
    );
    assert!(plan.dry_run && plan.result.is_none());
    fn resources<T>(p: &wire::PerResource<T>) -> Vec<Resource> {
        p.iter().map(|(r, _)| *r).collect()
    }
    assert_eq!(resources(&plan.plan), Resource::ALL);
    assert_eq!(resources(&audit.summary), Resource::ALL);

    let writes = agreement::writes(&plan);
    let findings = agreement::written_findings(&audit);
    assert!(!writes.is_empty());
    assert_eq!(
        findings, writes,
        "the audit's findings are the dry run's writes"
    );
    for (resource, counts) in audit.summary.iter() {
        let p = plan.plan.get(*resource).expect("planned");
        assert_eq!(counts.undocumented, p.create.len(), "{resource:?}");
        // Each updated row is a mismatch (its status), stale (its other writes), or both.
        let updated: std::collections::BTreeSet<&str> =
            p.update.iter().map(|u| u.key.as_str()).collect();
        let judged: std::collections::BTreeSet<&str> = audit
            .mismatches
            .iter()
            .chain(&audit.stale)
            .filter(|f| f.resource == *resource)
            .map(|f| f.key.as_str())
            .collect();
        assert_eq!(updated, judged, "{resource:?}");
        assert!(counts.mismatches.max(counts.stale) <= p.update.len());
        assert_eq!(counts.orphaned, p.orphaned.len(), "{resource:?}");
    }
    agreement::the_rest_says_why(&audit, &plan, &writes);
}

/// A property removed from a database and re-added by `setup` is empty on every row: the
/// import fills it, and the audit reports each of those writes (so `--check` fails until the
/// import ran), then both agree that nothing is left.
#[test]
fn a_re_added_property_is_stale_in_the_audit_until_the_import_fills_it() {
    let env = TestEnv::start("demo");
    for (database, property) in [("events", "Last Updated"), ("feature_flags", "Type")] {
        let ds = env.data_source_of(database);
        env.sandbox.admin_send(
            "PATCH",
            &format!("/notion/data_sources/{ds}"),
            json!({"properties": {property: null}}),
        );
    }
    let out = env.ph_sync(&["setup"]);
    assert!(out.contains("added properties Last Updated"), "{out}");
    assert!(out.contains("added properties Type"), "{out}");

    let plan: wire::Import =
        serde_json::from_str(&env.ph_sync(&["import", "--dry-run", "--format", "json"]))
            .expect("wire::Import");
    let audit: wire::Audit =
        serde_json::from_str(&env.ph_sync(&["audit", "--format", "json"])).expect("wire::Audit");
    let writes = agreement::writes(&plan);
    let refilled = |property: &str| {
        writes
            .iter()
            .filter(|(_, _, p)| p.as_deref() == Some(property))
            .count()
    };
    assert!(refilled("Last Updated") > 10, "{writes:?}");
    assert!(refilled("Type") > 5, "{writes:?}");
    assert_eq!(agreement::written_findings(&audit), writes);
    agreement::the_rest_says_why(&audit, &plan, &writes);
    assert!(!audit.in_sync);
    let check = env
        .kodo()
        .args(["ph-sync", "audit", "--check"])
        .output()
        .expect("run kodo");
    assert_eq!(
        check.status.code(),
        Some(1),
        "the audit fails until the import ran"
    );

    env.ph_sync(&["import"]);
    let plan: wire::Import =
        serde_json::from_str(&env.ph_sync(&["import", "--dry-run", "--format", "json"]))
            .expect("wire::Import");
    let audit: wire::Audit =
        serde_json::from_str(&env.ph_sync(&["audit", "--format", "json"])).expect("wire::Audit");
    assert!(agreement::writes(&plan).is_empty());
    assert!(agreement::written_findings(&audit).is_empty());
    assert!(audit.in_sync);
}

/// The audit-is-the-plan comparison, on kodo's wire types.
mod agreement {
    use std::collections::BTreeSet;

    use kodo_core::model::Resource;
    use kodo_core::wire;

    /// One write: a row created (`property` is `None`) or one property of a row written.
    pub type Write = (Resource, String, Option<String>);

    /// The status property's name is the resource table's; a mismatch writes it.
    fn status_of(resource: Resource) -> Option<String> {
        resource
            .schema()
            .lifecycle
            .as_ref()
            .map(|l| l.property.to_string())
    }

    pub fn writes(plan: &wire::Import) -> BTreeSet<Write> {
        let mut writes = BTreeSet::new();
        for (resource, p) in plan.plan.iter() {
            for key in &p.create {
                assert!(writes.insert((*resource, key.clone(), None)), "{key} twice");
            }
            for u in &p.update {
                assert!(
                    !u.changes.is_empty(),
                    "{}: an update writes something",
                    u.key
                );
                for c in &u.changes {
                    assert_ne!(
                        c.from, c.to,
                        "{}: {} is written unchanged",
                        u.key, c.property
                    );
                    let write = (*resource, u.key.clone(), Some(c.property.clone()));
                    assert!(writes.insert(write), "{} {} twice", u.key, c.property);
                }
            }
        }
        writes
    }

    /// The findings that are writes: undocumented (a create), mismatches (the status) and
    /// stale (each change).
    pub fn written_findings(audit: &wire::Audit) -> BTreeSet<Write> {
        let mut found = BTreeSet::new();
        for f in &audit.undocumented {
            assert!(found.insert((f.resource, f.key.clone(), None)), "{}", f.key);
        }
        for f in &audit.mismatches {
            let status = status_of(f.resource).expect("a mismatch is of a status");
            assert_ne!(f.notion_status, f.posthog_status, "{}", f.key);
            found.insert((f.resource, f.key.clone(), Some(status)));
            // A mismatch's other writes are listed with it.
            for c in &f.changes {
                found.insert((f.resource, f.key.clone(), Some(c.property.clone())));
            }
        }
        for f in &audit.stale {
            assert!(
                !f.changes.is_empty(),
                "{}: a stale finding names its changes",
                f.key
            );
            for c in &f.changes {
                found.insert((f.resource, f.key.clone(), Some(c.property.clone())));
            }
        }
        found
    }

    /// Every finding that is not a write says why not: an orphan is the plan's orphan with
    /// the same reason (archived only with `--archive-orphans`); an edit is a person's
    /// wording the plan keeps; a planned row is not in PostHog yet, so nothing is written.
    pub fn the_rest_says_why(audit: &wire::Audit, plan: &wire::Import, writes: &BTreeSet<Write>) {
        let written_row =
            |r: Resource, key: &str| writes.iter().any(|(wr, wk, _)| *wr == r && wk == key);
        for f in &audit.orphaned {
            let reason = f.reason.expect("an orphan says why it is one");
            let planned = plan.plan.get(f.resource).expect("planned");
            assert!(
                planned
                    .orphaned
                    .iter()
                    .any(|o| o.key == f.key && o.reason == reason),
                "orphan {} is the plan's, with the same reason",
                f.key
            );
            assert!(!written_row(f.resource, &f.key), "{}", f.key);
        }
        for f in &audit.edited {
            assert!(
                !f.changes.is_empty(),
                "{}: an edit names its properties",
                f.key
            );
            for c in &f.changes {
                let write = (f.resource, f.key.clone(), Some(c.property.clone()));
                assert!(
                    !writes.contains(&write),
                    "{} {} is kept, not written",
                    f.key,
                    c.property
                );
            }
        }
        for f in &audit.planned {
            assert!(
                f.posthog_status.is_none(),
                "{}: planned is not in PostHog",
                f.key
            );
            assert!(!written_row(f.resource, &f.key), "{}", f.key);
        }
        for h in &audit.hygiene {
            assert!(
                !h.detail.is_empty(),
                "{}: a hygiene finding says what to do",
                h.key
            );
        }
    }
}
