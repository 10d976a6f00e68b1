//! `kodo scan` as Markdown, JSON and SARIF, and `scan --check`'s verdict.

use std::path::Path;

use super::{check, run};
use crate::common::TestEnv;
use assert_cmd::Command;

const APP_TS: &str = "\
import posthog from 'posthog-js'
export const EVENTS = { SIGNUP: 'user_signed_up' } as const
posthog.capture(EVENTS.SIGNUP, { plan: 'pro' })
if (posthog.isFeatureEnabled('beta_ai_assistant')) { render() }
// posthog.capture('not_real_commented_out')
posthog.capture(`dynamic_${kind}`)
";

const WORKER_PY: &str = "\
from posthog import Posthog
posthog = Posthog('phc_x', host='https://us.i.posthog.com')

def on_job_failed(job):
    posthog.capture(distinct_id=job.owner, event='system_job_failed', properties={'job_id': job.id, **job.extra})
    if posthog.feature_enabled('ops_maintenance_mode', job.owner):
        return
";

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn fixture(root: &Path) {
    write(root, "web/src/app.ts", APP_TS);
    write(root, "worker/jobs.py", WORKER_PY);
}

fn kodo_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("kodo").expect("kodo binary");
    cmd.current_dir(dir).env("NO_COLOR", "1");
    cmd
}

#[test]
fn scan_in_each_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    fixture(dir.path());
    for (name, format) in [
        ("scan_md", "md"),
        ("scan_json", "json"),
        ("scan_sarif", "sarif"),
    ] {
        let out = run(kodo_in(dir.path()).args(["scan", "--no-git", "--format", format]));
        check(name, dir.path(), &out);
    }
    let out = run(kodo_in(dir.path()).args(["scan", "--no-git", "--format", "csv"]));
    check("scan_csv_is_refused", dir.path(), &out);
}

#[test]
fn scan_check_against_the_demo_documentation() {
    let env = TestEnv::start("demo");
    fixture(env.root());
    run(env.kodo().args(["snapshot", "refresh"]));
    let out = run(env.kodo().args(["scan", "--check", "--no-git"]));
    check("scan_check_md", env.root(), &out);
    let out = run(env
        .kodo()
        .args(["scan", "--check", "--no-git", "--format", "json"]));
    check("scan_check_json", env.root(), &out);
    // SARIF holds only what failed the check: code scanning's alerts are the job's failures.
    let out = run(env
        .kodo()
        .args(["scan", "--check", "--no-git", "--format", "sarif"]));
    check("scan_check_sarif", env.root(), &out);
}

/// A flag deleted in PostHog that the code still checks: the audit that saw it records it in
/// the snapshot, and `scan --check` reports it offline as `kodo/dead-flag-check` (the
/// undocumented key beside it as `kodo/undocumented-event`).
#[test]
fn scan_check_sarif_reports_a_check_of_a_deleted_flag() {
    let env = TestEnv::start("demo");
    write(
        env.root(),
        "api/flags.py",
        "from posthog import Posthog\nposthog = Posthog('phc_public')\n\ndef dark_mode(user_id):\n    return posthog.feature_enabled('release_dark_mode', user_id)\n",
    );
    write(
        env.root(),
        "web/app.ts",
        "import posthog from 'posthog-js'\nposthog.capture('user_signed_up')\nposthog.capture('user_went_bowling')\nif (posthog.isFeatureEnabled('release_dark_mode')) {}\n",
    );
    // kodo remembers the flag's ID, then PostHog deletes it (the demo's `release_dark_mode`).
    run(env.kodo().args(["ph-sync", "import", "flags"]));
    env.sandbox.admin_send(
        "PATCH",
        "/posthog/feature_flags/202",
        serde_json::json!({"deleted": true}),
    );
    run(env.kodo().args(["ph-sync", "audit"]));
    let snapshot: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.root().join(".kodo/snapshot.json")).expect("snapshot"),
    )
    .expect("json");
    assert_eq!(
        snapshot["dead_flags"],
        serde_json::json!({"release_dark_mode": "deleted"})
    );
    // The snapshot answers (offline first).
    let out = run(env
        .kodo()
        .args(["scan", "--check", "--no-git", "--format", "sarif"]));
    check("scan_check_sarif_dead_flag", env.root(), &out);
    let out = run(env.kodo().args(["scan", "--check", "--no-git"]));
    check("scan_check_md_dead_flag", env.root(), &out);
}

#[test]
fn scan_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(kodo_in(dir.path()).args(["scan", "no/such/dir"]));
    check("scan_path_not_a_directory", dir.path(), &out);
    let out = run(kodo_in(dir.path()).args(["scan", "--config", "nope.json"]));
    check("scan_explicit_config_missing", dir.path(), &out);
}

/// `scan --rev-range` over a feature branch that adds one undocumented event: the CI report,
/// with GitHub Actions annotations, as JSON, and the errors of bad ranges.
#[test]
fn scan_rev_range_reports() {
    use crate::precommit_support::Repo;
    let repo = Repo::with_kodo(&["user_signed_up", "user_logged_in"], &[]);
    repo.write(
        "src/app.ts",
        "import posthog from 'posthog-js'\nposthog.capture('user_signed_up')\n",
    );
    repo.commit_all("app");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write(
        "src/app.ts",
        "import posthog from 'posthog-js'\nposthog.capture('user_signed_up')\nposthog.capture('checkout_started')\nposthog.capture('user_logged_in')\n",
    );
    repo.commit_all("undocumented");
    let root = repo.path("");
    let snap = |name: &str, args: &[&str], github: bool| {
        let mut cmd = repo.kodo(args);
        if github {
            cmd.env("GITHUB_ACTIONS", "true");
        }
        check(name, &root, &super::run_std(&mut cmd));
    };
    snap(
        "scan_rev_range_github_actions",
        &["scan", "--rev-range", "main..feature", "--check"],
        true,
    );
    snap(
        "scan_rev_range_json",
        &[
            "scan",
            "--rev-range",
            "main..feature",
            "--check",
            "--format",
            "json",
        ],
        false,
    );
    snap(
        "scan_rev_range_not_a_range",
        &["scan", "--rev-range", "main", "--check"],
        false,
    );
    snap(
        "scan_rev_range_unknown_revision",
        &["scan", "--rev-range", "main..no-such-branch", "--check"],
        false,
    );
    repo.git(&["checkout", "-q", "--orphan", "lonely"]);
    repo.commit_all("unrelated history");
    snap(
        "scan_rev_range_no_merge_base",
        &["scan", "--rev-range", "main..lonely", "--check"],
        false,
    );
}
