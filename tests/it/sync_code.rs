//! The audit's code section, end to end: source files in the demo project, the real binary,
//! the emulator. Each finding is asserted exactly for the names the code uses; a flag deleted
//! in PostHog while code still checks it fails `--check` until the code is fixed.

use crate::common::{plain, TestEnv};
use serde_json::{json, Value};

/// The frontend: a documented event, an event PostHog has but Notion lacks, an event in
/// neither; flags at 100% for long (two), a flag PostHog never had; a template literal.
const APP_TS: &str = "\
import posthog from 'posthog-js'

posthog.capture('user_signed_up')
posthog.capture('error_api_timeout')
posthog.capture('checkout_confetti_shown')
if (posthog.isFeatureEnabled('release_onboarding_checklist')) {}
if (posthog.isFeatureEnabled('release_checkout_v2')) {}
if (posthog.isFeatureEnabled('beta_ghost_mode')) {}
posthog.capture(`page_${name}_viewed`)
";

/// The frontend once fixed: the unknown event and the unknown flag are gone.
const APP_TS_FIXED: &str = "\
import posthog from 'posthog-js'

posthog.capture('user_signed_up')
posthog.capture('error_api_timeout')
if (posthog.isFeatureEnabled('release_onboarding_checklist')) {}
if (posthog.isFeatureEnabled('release_checkout_v2')) {}
posthog.capture(`page_${name}_viewed`)
";

/// The backend checks `release_dark_mode` (line 6), which the tests delete in PostHog.
const FLAGS_PY: &str = "\
from posthog import Posthog

posthog = Posthog('phc_public')

def dark_mode(user_id):
    return posthog.feature_enabled('release_dark_mode', user_id)
";

/// The demo's `release_dark_mode` and `release_checkout_v2`.
const DARK_MODE_ID: u32 = 202;
const CHECKOUT_V2_ID: u32 = 201;

fn write_code(env: &TestEnv, app: &str, flags_py: Option<&str>) {
    std::fs::create_dir_all(env.root().join("web")).unwrap();
    std::fs::create_dir_all(env.root().join("api")).unwrap();
    std::fs::write(env.root().join("web/app.ts"), app).unwrap();
    let py = env.root().join("api/flags.py");
    match flags_py {
        Some(text) => std::fs::write(py, text).unwrap(),
        None => {
            if py.exists() {
                std::fs::remove_file(py).unwrap();
            }
        }
    }
}

/// The lines of the Markdown report from `## Code` up to (not including) the next section
/// (`## Hygiene`, then `## Recommended Actions`).
fn code_section(md: &str) -> String {
    let start = md
        .find("\n## Code\n")
        .unwrap_or_else(|| panic!("no code section:\n{md}"));
    let end = md
        .find("\n## Properties\n")
        .or_else(|| md.find("\n## Hygiene\n"))
        .or_else(|| md.find("\n## Recommended Actions\n"))
        .unwrap();
    md[start + 1..end].to_string()
}

/// `### title` … up to the next blank line.
fn subsection(md: &str, title: &str) -> String {
    let head = format!("### {title}\n");
    let start = md
        .find(&head)
        .unwrap_or_else(|| panic!("no {title}:\n{md}"));
    let rest = &md[start..];
    let end = rest.find("\n\n").map_or(rest.len(), |i| i + 1);
    rest[..end].to_string()
}

/// Documented names (not retired) minus those the code references, as the JSON lists them.
fn expected_unreferenced(env: &TestEnv, events_used: &[&str], flags_used: &[&str]) -> Value {
    let mut out = Vec::new();
    for (db, title, status_prop, retired, resource, used) in [
        (
            "events",
            "Event Name",
            "Implementation Status",
            "deprecated",
            "events",
            events_used,
        ),
        (
            "feature_flags",
            "Flag Key",
            "Status",
            "archived",
            "flags",
            flags_used,
        ),
    ] {
        let mut keys: Vec<String> = env
            .rows(db)
            .iter()
            .filter(|r| plain(&r["properties"][status_prop]) != retired)
            .map(|r| plain(&r["properties"][title]))
            .filter(|k| !used.contains(&k.as_str()))
            .collect();
        keys.sort();
        keys.dedup();
        out.extend(
            keys.into_iter()
                .map(|k| json!({"resource": resource, "key": k})),
        );
    }
    Value::Array(out)
}

fn audit_json(env: &TestEnv) -> Value {
    serde_json::from_str(&env.ph_sync(&["audit", "--format", "json"])).unwrap()
}

const DYNAMIC: &str = "\
### Dynamic Names
Names the scan could not determine; check them by hand:
- [ ] web/app.ts:9 - `` posthog.capture(`page_${name}_viewed`) `` (interpolated string `page_${name}_viewed`)
";

#[test]
fn audit_judges_the_code_against_posthog_and_notion() {
    let env = TestEnv::start("demo");
    write_code(&env, APP_TS, Some(FLAGS_PY));

    let v = audit_json(&env);
    let code = &v["code"];
    assert_eq!(code["scanned"], true);
    assert_eq!(code["files_scanned"], 2);
    assert_eq!(
        code["in_code_only"],
        json!([
            {"kind": "event", "key": "checkout_confetti_shown", "missing": ["posthog", "notion"], "references": ["web/app.ts:5"]},
            {"kind": "event", "key": "error_api_timeout", "missing": ["notion"], "references": ["web/app.ts:4"]},
            {"kind": "flag", "key": "beta_ghost_mode", "missing": ["posthog", "notion"], "references": ["web/app.ts:8"]},
        ])
    );
    assert_eq!(code["dead_flag_references"], json!([]));
    // Both demo flags at 100% were last changed in 2025, long before today.
    assert_eq!(
        code["cleanup_candidates"],
        json!([
            {"key": "release_checkout_v2", "since": "2025-03-03", "references": ["web/app.ts:7"]},
            {"key": "release_onboarding_checklist", "since": "2025-02-17", "references": ["web/app.ts:6"]},
        ])
    );
    assert_eq!(
        code["dynamic"],
        json!([{"kind": "event", "path": "web/app.ts", "line": 9,
                "snippet": "posthog.capture(`page_${name}_viewed`)",
                "reason": "interpolated string `page_${name}_viewed`"}])
    );
    let unreferenced = expected_unreferenced(
        &env,
        &["user_signed_up"],
        &[
            "release_onboarding_checklist",
            "release_checkout_v2",
            "release_dark_mode",
        ],
    );
    assert!(unreferenced.as_array().unwrap().len() > 40);
    assert_eq!(code["unreferenced"], unreferenced);
    assert_eq!(v["in_sync"], false);

    let md = env.ph_sync(&["audit"]);
    let section = code_section(&md);
    assert!(
        section.starts_with(
            "## Code\n\n\
             ### In Code, Not Documented\n\
             Captured or checked in code, missing from PostHog or Notion:\n\
             - [ ] Event: `checkout_confetti_shown` - in neither PostHog nor Notion (web/app.ts:5)\n\
             - [ ] Event: `error_api_timeout` - not in Notion (web/app.ts:4)\n\
             - [ ] Flag: `beta_ghost_mode` - in neither PostHog nor Notion: the check is always false (web/app.ts:8)\n\n\
             ### Flags Removed in PostHog but Still in Code\n\
             PostHog no longer serves these flags, yet code checks them (a live bug):\n\
             None.\n\n\
             ### Documented, Not in Code\n\
             Documented in Notion, referenced nowhere in the code:\n\
             - [ ] Event: `error_page_not_found`\n"
        ),
        "{section}"
    );
    assert!(section.contains("- [ ] Flag: `exp_pricing_page_layout`\n"));
    assert!(!section.contains("- [ ] Flag: `release_dark_mode`\n"));
    assert_eq!(
        subsection(&section, "Clean-up Candidates"),
        "### Clean-up Candidates\n\
         Released to everyone, unchanged for at least 30 days, still checked in code:\n\
         - [ ] Flag: `release_checkout_v2` - at 100%, unchanged since 2025-03-03 (web/app.ts:7)\n\
         - [ ] Flag: `release_onboarding_checklist` - at 100%, unchanged since 2025-02-17 (web/app.ts:6)\n"
    );
    assert!(section.ends_with(DYNAMIC), "{section}");
    assert!(md.contains(
        "\n4. Document `checkout_confetti_shown` (web/app.ts:5): `kodo ph-sync document event checkout_confetti_shown` (documentation first), or `kodo ph-sync import events` once PostHog has it\n\
         5. Document `error_api_timeout` (web/app.ts:4): `kodo ph-sync import events`\n\
         6. Create flag `beta_ghost_mode` in PostHog, documented first with `kodo ph-sync document flag beta_ghost_mode`, or remove its checks (web/app.ts:8): they are always false\n"
    ), "{md}");

    let csv = env.ph_sync(&["audit", "--format", "csv"]);
    for row in [
        "in_code_only,events,checkout_confetti_shown,,,in neither PostHog nor Notion; web/app.ts:5\r\n",
        "unreferenced,flags,exp_pricing_page_layout,,,not referenced in the code\r\n",
        "cleanup_candidate,flags,release_onboarding_checklist,,,\"at 100%, unchanged since 2025-02-17; web/app.ts:6\"\r\n",
        "dynamic,events,web/app.ts:9,,,interpolated string `page_${name}_viewed`: posthog.capture(`page_${name}_viewed`)\r\n",
    ] {
        assert!(csv.contains(row), "{row}\n{csv}");
    }

    // Only the resources asked are judged: a flags audit says nothing about events.
    let v: Value =
        serde_json::from_str(&env.ph_sync(&["audit", "flags", "--format", "json"])).unwrap();
    assert_eq!(
        v["code"]["in_code_only"],
        json!([{"kind": "flag", "key": "beta_ghost_mode", "missing": ["posthog", "notion"], "references": ["web/app.ts:8"]}])
    );
    assert_eq!(v["code"]["dynamic"], json!([]));

    // --no-code leaves the code out altogether.
    let md = env.ph_sync(&["audit", "--no-code"]);
    assert!(!md.contains("## Code"), "{md}");
    let v: Value =
        serde_json::from_str(&env.ph_sync(&["audit", "--no-code", "--format", "json"])).unwrap();
    assert_eq!(v["code"], Value::Null);
}

#[test]
fn a_deleted_flag_still_checked_fails_the_check_until_the_code_is_fixed() {
    let env = TestEnv::start("demo");
    write_code(&env, APP_TS, Some(FLAGS_PY));
    // PostHog and Notion agree; kodo remembers every flag's ID.
    env.ph_sync(&["import"]);
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(env.root().join(".kodo/state.json")).unwrap(),
    )
    .unwrap();
    assert!(
        state["flag_ids"]["release_dark_mode"].is_number(),
        "{state}"
    );
    env.sandbox.admin_send(
        "PATCH",
        &format!("/posthog/feature_flags/{DARK_MODE_ID}"),
        json!({"deleted": true}),
    );
    // A change today: no longer "at 100% for long".
    env.sandbox.admin_send(
        "PATCH",
        &format!("/posthog/feature_flags/{CHECKOUT_V2_ID}"),
        json!({"name": "Checkout v2"}),
    );

    let out = env
        .kodo()
        .args(["ph-sync", "audit", "--check"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let md = String::from_utf8(out).unwrap();
    let section = code_section(&md);
    assert_eq!(
        subsection(&section, "In Code, Not Documented"),
        "### In Code, Not Documented\n\
         Captured or checked in code, missing from PostHog or Notion:\n\
         - [ ] Event: `checkout_confetti_shown` - in neither PostHog nor Notion (web/app.ts:5)\n\
         - [ ] Flag: `beta_ghost_mode` - in neither PostHog nor Notion: the check is always false (web/app.ts:8)\n"
    );
    assert_eq!(
        subsection(&section, "Flags Removed in PostHog but Still in Code"),
        "### Flags Removed in PostHog but Still in Code\n\
         PostHog no longer serves these flags, yet code checks them (a live bug):\n\
         - [ ] Flag: `release_dark_mode` - deleted in PostHog (api/flags.py:6)\n"
    );
    assert_eq!(
        subsection(&section, "Clean-up Candidates"),
        "### Clean-up Candidates\n\
         Released to everyone, unchanged for at least 30 days, still checked in code:\n\
         - [ ] Flag: `release_onboarding_checklist` - at 100%, unchanged since 2025-02-17 (web/app.ts:6)\n"
    );
    assert!(
        md.contains(
            "\n2. Remove the checks of deleted flag `release_dark_mode` (api/flags.py:6)\n"
        ),
        "{md}"
    );
    // The default overview shows the live bug too.
    let out = env
        .kodo()
        .args(["ph-sync", "--check"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let overview = String::from_utf8(out).unwrap();
    assert!(
        overview
            .contains("- [ ] Flag: `release_dark_mode` - deleted in PostHog (api/flags.py:6)\n"),
        "{overview}"
    );

    // Notion archives the deleted flag; the code still checks it: still a live bug.
    env.ph_sync(&["import", "flags"]);
    let v = audit_json(&env);
    assert_eq!(
        v["code"]["dead_flag_references"],
        json!([{"key": "release_dark_mode", "posthog_state": "deleted", "references": ["api/flags.py:6"]}])
    );
    assert_eq!(v["in_sync"], false);

    // The code fixed: the check of the deleted flag and the unknown names removed.
    write_code(&env, APP_TS_FIXED, None);
    let v = audit_json(&env);
    let code = &v["code"];
    assert_eq!(code["in_code_only"], json!([]));
    assert_eq!(code["dead_flag_references"], json!([]));
    assert_eq!(code["files_scanned"], 1);
    // The advisory findings remain, and do not fail the check.
    assert_eq!(
        code["cleanup_candidates"],
        json!([{"key": "release_onboarding_checklist", "since": "2025-02-17", "references": ["web/app.ts:5"]}])
    );
    assert_eq!(code["dynamic"][0]["line"], 7);
    assert_eq!(
        code["unreferenced"],
        expected_unreferenced(
            &env,
            &["user_signed_up", "error_api_timeout"],
            &["release_onboarding_checklist", "release_checkout_v2"],
        )
    );
    assert_eq!(v["in_sync"], true);
    env.kodo()
        .args(["ph-sync", "audit", "--check"])
        .assert()
        .code(0);
    env.kodo().args(["ph-sync", "--check"]).assert().code(0);
}

/// A flag archived in PostHog (PR #63338: still listed with `?archived=true`, done for good)
/// that code still checks is a dead check with state `archived`: the code section judges the
/// flag by the normaliser's rule, the one that documents it as `archived`, so the audit's
/// mismatch and its live bug say the same about it. Before and after the import archives
/// its row, and in the snapshot `kodo scan --check` answers from offline.
#[test]
fn an_archived_flag_still_checked_is_a_dead_check_in_state_archived() {
    let env = TestEnv::start("demo");
    write_code(
        &env,
        "import posthog from 'posthog-js'\n\
         if (posthog.isFeatureEnabled('ops_rate_limit_override')) {}\n",
        None,
    );
    // The demo's `ops_rate_limit_override`; an archived flag must be disabled.
    env.sandbox.admin_send(
        "PATCH",
        "/posthog/feature_flags/208",
        json!({"archived": true, "active": false}),
    );
    let dead = json!([{
        "key": "ops_rate_limit_override",
        "posthog_state": "archived",
        "references": ["web/app.ts:2"]
    }]);
    let v = audit_json(&env);
    assert_eq!(v["code"]["dead_flag_references"], dead, "{v}");
    assert_eq!(v["in_sync"], false);
    // One judgement: the plan archives the row, and the check is neither "in code only"
    // nor a clean-up candidate.
    let m = v["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "ops_rate_limit_override")
        .unwrap_or_else(|| panic!("no mismatch in {v}"));
    assert_eq!(m["posthog_status"], "archived");
    assert_eq!(v["code"]["in_code_only"], json!([]));
    assert_eq!(v["code"]["cleanup_candidates"], json!([]));
    let md = env
        .kodo()
        .args(["ph-sync", "audit", "--check"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let md = String::from_utf8(md).unwrap();
    assert!(
        md.contains("- [ ] Flag: `ops_rate_limit_override` - archived in PostHog (web/app.ts:2)\n"),
        "{md}"
    );
    assert!(
        md.contains("Remove the checks of archived flag `ops_rate_limit_override` (web/app.ts:2)"),
        "{md}"
    );
    // The mismatch says what PostHog did: archived it, not deleted it.
    assert!(
        md.contains("): Notion says \"active\", PostHog archived it\n"),
        "{md}"
    );

    // Notion archives it too; the code still checks it: still a live bug, still `archived`.
    env.ph_sync(&["import", "flags"]);
    let v = audit_json(&env);
    assert_eq!(v["code"]["dead_flag_references"], dead, "{v}");
    let snapshot: Value = serde_json::from_str(
        &std::fs::read_to_string(env.root().join(".kodo/snapshot.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        snapshot["dead_flags"]["ops_rate_limit_override"], "archived",
        "{snapshot}"
    );
}
