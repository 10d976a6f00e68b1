//! Every `kodo ph-sync` action in each format it writes, on the spec's demo scenario (and the
//! empty one for `setup`).

use super::{check, run};
use crate::common::TestEnv;

fn snap(env: &TestEnv, name: &str, args: &[&str]) {
    let out = run(env.kodo().args(args));
    check(name, env.root(), &out);
}

#[test]
fn overview_in_each_format() {
    let env = TestEnv::start("demo");
    snap(&env, "overview_md", &["ph-sync"]);
    snap(&env, "overview_json", &["ph-sync", "--format", "json"]);
    snap(&env, "overview_csv", &["ph-sync", "--format", "csv"]);
}

#[test]
fn status_in_each_format() {
    let env = TestEnv::start("demo");
    snap(&env, "status_md", &["ph-sync", "status"]);
    snap(
        &env,
        "status_json",
        &["ph-sync", "status", "--format", "json"],
    );
    snap(
        &env,
        "status_csv",
        &["ph-sync", "status", "--format", "csv"],
    );
    snap(
        &env,
        "status_flags_check",
        &["ph-sync", "status", "flags", "--check"],
    );
}

#[test]
fn audit_in_each_format() {
    let env = TestEnv::start("demo");
    snap(&env, "audit_md", &["ph-sync", "audit"]);
    snap(
        &env,
        "audit_json",
        &["ph-sync", "audit", "--format", "json"],
    );
    snap(&env, "audit_csv", &["ph-sync", "audit", "--format", "csv"]);
    snap(
        &env,
        "audit_flags_check",
        &["ph-sync", "audit", "flags", "--check"],
    );
}

/// A tracking-plan page whose generated section a person edited: the audit's finding in
/// each format (and `--check` fails on it).
#[test]
fn audit_tracking_plan_out_of_date_in_each_format() {
    let env = TestEnv::start("demo");
    env.ph_sync(&["import"]);
    let plan = env.config()["notion"]["pages"]["tracking_plan"]
        .as_str()
        .unwrap()
        .to_string();
    let heading = env
        .sandbox
        .admin_get(&format!("/blocks/{plan}"))
        .as_array()
        .unwrap()
        .iter()
        .find(|b| {
            b["text"]
                .as_str()
                .unwrap_or("")
                .starts_with("Events · feature_")
        })
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = env.sandbox.admin_request(
        "PATCH",
        &format!("/notion/blocks/{heading}"),
        serde_json::json!({"heading_2": {"rich_text": [{"text": {"content": "Feature events"}}]}}),
    );
    assert_eq!(status, 200);
    snap(
        &env,
        "audit_tracking_plan_md",
        &["ph-sync", "audit", "--no-code", "--check"],
    );
    snap(
        &env,
        "audit_tracking_plan_json",
        &["ph-sync", "audit", "--no-code", "--format", "json"],
    );
    snap(
        &env,
        "audit_tracking_plan_csv",
        &["ph-sync", "audit", "--no-code", "--format", "csv"],
    );
}

#[test]
fn import_dry_run_in_each_format() {
    let env = TestEnv::start("demo");
    snap(
        &env,
        "import_dry_run_md",
        &["ph-sync", "import", "--dry-run"],
    );
    snap(
        &env,
        "import_dry_run_json",
        &["ph-sync", "import", "--dry-run", "--format", "json"],
    );
    snap(
        &env,
        "import_dry_run_csv",
        &["ph-sync", "import", "--dry-run", "--format", "csv"],
    );
    assert!(env.notion_writes().is_empty(), "a dry run writes nothing");
}

#[test]
fn import_md_then_again() {
    let env = TestEnv::start("demo");
    snap(&env, "import_md", &["ph-sync", "import"]);
    snap(&env, "import_md_again", &["ph-sync", "import"]);
    snap(
        &env,
        "audit_md_after_import",
        &["ph-sync", "audit", "--check"],
    );
}

#[test]
fn import_json() {
    let env = TestEnv::start("demo");
    snap(
        &env,
        "import_json",
        &["ph-sync", "import", "--format", "json"],
    );
}

#[test]
fn export_in_each_format() {
    let env = TestEnv::start("demo");
    snap(
        &env,
        "export_dry_run_md",
        &["ph-sync", "export", "--dry-run"],
    );
    snap(&env, "export_md", &["ph-sync", "export"]);
    snap(
        &env,
        "export_all_json",
        &["ph-sync", "export", "--format", "json"],
    );
    snap(
        &env,
        "export_events_csv",
        &["ph-sync", "export", "events", "--format", "csv"],
    );
    snap(
        &env,
        "export_dashboards_csv",
        &["ph-sync", "export", "dashboards", "--format", "csv"],
    );
    snap(
        &env,
        "export_flags_json",
        &["ph-sync", "export", "flags", "--format", "json"],
    );
    snap(
        &env,
        "export_flags_csv",
        &["ph-sync", "export", "flags", "--format", "csv"],
    );
    snap(
        &env,
        "export_experiments_csv",
        &["ph-sync", "export", "experiments", "--format", "csv"],
    );
}

#[test]
fn setup_dry_run_in_each_format() {
    let env = TestEnv::start("empty");
    snap(&env, "setup_dry_run_md", &["ph-sync", "setup", "--dry-run"]);
    snap(
        &env,
        "setup_dry_run_json",
        &["ph-sync", "setup", "--dry-run", "--format", "json"],
    );
    snap(&env, "setup_md", &["ph-sync", "setup"]);
    snap(&env, "setup_md_again", &["ph-sync", "setup"]);
}

/// The frontend and backend of `sync_code.rs`: documented and undocumented names, a flag
/// PostHog never had, a dynamic key, and a check of `release_dark_mode`, deleted below.
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

const FLAGS_PY: &str = "\
from posthog import Posthog

posthog = Posthog('phc_public')

def dark_mode(user_id):
    return posthog.feature_enabled('release_dark_mode', user_id)
";

#[test]
fn audit_with_a_code_section() {
    let env = TestEnv::start("demo");
    for (path, text) in [("web/app.ts", APP_TS), ("api/flags.py", FLAGS_PY)] {
        let path = env.root().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    run(env.kodo().args(["ph-sync", "import"]));
    // `release_dark_mode` (202) is deleted in PostHog while the backend still checks it.
    env.sandbox.admin_send(
        "PATCH",
        "/posthog/feature_flags/202",
        serde_json::json!({"deleted": true}),
    );
    snap(&env, "audit_code_md", &["ph-sync", "audit", "--check"]);
    snap(
        &env,
        "audit_code_json",
        &["ph-sync", "audit", "--format", "json"],
    );
    snap(
        &env,
        "audit_code_csv",
        &["ph-sync", "audit", "--format", "csv"],
    );
    snap(&env, "overview_code_md", &["ph-sync"]);
    snap(&env, "audit_no_code_md", &["ph-sync", "audit", "--no-code"]);
}

#[test]
fn snapshot_refresh() {
    let env = TestEnv::start("demo");
    snap(&env, "snapshot_refresh", &["snapshot", "refresh"]);
}

/// The spec's CLI alternative: `notion-sync --direction push` is `ph-sync import`.
#[test]
fn notion_sync_alias() {
    let env = TestEnv::start("demo");
    snap(
        &env,
        "notion_sync_push_dry_run",
        &[
            "notion-sync",
            "--direction",
            "push",
            "--type",
            "flags",
            "--dry-run",
        ],
    );
}
