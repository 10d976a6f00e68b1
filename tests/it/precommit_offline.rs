//! The gate's offline policy: a fresh snapshot needs no network; without one (or past
//! `sync.snapshot_max_age_hours`) Notion is asked with a short deadline, and an unreachable
//! Notion passes with a warning unless `sync.strict_offline`. The live check runs against the
//! emulator, never a real service.

use crate::precommit_support::*;
use kodo_sandbox::{BlockingSandbox, Options, Scenario};
use serde_json::json;

const APP: &str = "src/app.ts";

fn stage_capture(repo: &Repo, lines: &[&str]) {
    let mut text = String::from("import posthog from 'posthog-js'\n");
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    repo.write(APP, &text);
    repo.git(&["add", APP]);
}

/// A repository whose config points at `notion_url`, with no snapshot.
fn repo_without_snapshot(notion_url: &str, sync: serde_json::Value) -> Repo {
    let repo = Repo::new();
    repo.config(notion_url, sync);
    repo.write("README.md", "x\n");
    repo.commit_all("initial");
    repo
}

#[test]
fn a_fresh_snapshot_answers_without_the_network() {
    let repo = Repo::with_kodo(&["user_signed_up"], &[]);
    stage_capture(
        &repo,
        &[
            "posthog.capture('user_signed_up')",
            "posthog.capture('not_there')",
        ],
    );
    // The token is set, so only the snapshot's freshness keeps kodo off the (closed) port.
    let out = repo
        .kodo(&["hook", "pre-commit"])
        .env(TOKEN_VAR, "secret-token-value")
        .output()
        .unwrap();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("`not_there`  is not documented"), "{err}");
    assert!(!err.contains("user_signed_up"), "{err}");
    assert!(!err.contains("Notion could not"), "{err}");
    assert!(!err.contains("secret-token-value"));
}

#[test]
fn no_snapshot_and_unreachable_notion_passes_with_a_warning() {
    let repo = repo_without_snapshot(&closed_port_url(), json!({}));
    stage_capture(&repo, &["posthog.capture('checkout_started')"]);
    let out = repo
        .kodo(&["hook", "pre-commit"])
        .env(TOKEN_VAR, "secret-token-value")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("there is no snapshot"), "{err}");
    assert!(err.contains("Notion could not be asked"), "{err}");
    assert!(
        err.contains("warning: src/app.ts:2  event  `checkout_started` could not be checked"),
        "{err}"
    );
    assert!(err.contains("sync.strict_offline is off"), "{err}");
    assert!(!err.contains("secret-token-value"));
}

#[test]
fn no_snapshot_and_unreachable_notion_blocks_in_strict_mode() {
    let repo = repo_without_snapshot(&closed_port_url(), json!({"strict_offline": true}));
    stage_capture(&repo, &["posthog.capture('checkout_started')"]);
    let out = repo
        .kodo(&["hook", "pre-commit"])
        .env(TOKEN_VAR, "secret-token-value")
        .output()
        .unwrap();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("`checkout_started`  could not be checked"),
        "{err}"
    );
    assert!(
        err.contains("sync.strict_offline is on, so this blocks"),
        "{err}"
    );
}

#[test]
fn a_missing_token_is_reported_like_an_unreachable_notion() {
    let repo = repo_without_snapshot(&closed_port_url(), json!({}));
    stage_capture(&repo, &["posthog.capture('checkout_started')"]);
    let out = repo.hook();
    assert_code(&out, 0);
    assert!(
        stderr(&out).contains(&format!("`{TOKEN_VAR}` is not set")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_stale_snapshot_still_vouches_for_what_it_lists() {
    let repo = Repo::new();
    repo.config(
        &closed_port_url(),
        json!({"snapshot_max_age_hours": 24, "strict_offline": true}),
    );
    repo.snapshot(&hours_ago(72), &["user_signed_up"], &[]);
    repo.commit_all("initial");
    stage_capture(&repo, &["posthog.capture('user_signed_up')"]);
    let out = repo.hook();
    assert_code(&out, 0);
    assert_eq!(stderr(&out), "");
    stage_capture(
        &repo,
        &[
            "posthog.capture('user_signed_up')",
            "posthog.capture('newer_event')",
        ],
    );
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("is 3 days old (sync.snapshot_max_age_hours is 24)"),
        "{err}"
    );
    assert!(err.contains("`newer_event`  could not be checked"), "{err}");
}

#[test]
fn without_a_snapshot_the_live_check_answers_from_notion() {
    let scenario = Scenario::builtin("demo").expect("demo scenario");
    let token = scenario.notion_token().to_string();
    let sandbox = BlockingSandbox::start(scenario.clone(), Options::default()).expect("sandbox");
    let repo = Repo::new();
    let mut config = scenario.kodo_config(&sandbox.base_url());
    config["notion"]["tokenEnvVar"] = json!(TOKEN_VAR);
    repo.write_json(".kodo/config.json", &config);
    repo.write("README.md", "x\n");
    repo.commit_all("initial");
    assert!(!repo.path(".kodo/snapshot.json").exists());

    // Documented in the demo workspace: an event, a flag, and an experiment's flag key.
    stage_capture(
        &repo,
        &[
            "posthog.capture('user_signed_up')",
            "posthog.isFeatureEnabled('release_checkout_v2')",
            "posthog.getFeatureFlag('exp_trial_length_test')",
        ],
    );
    let out = repo
        .kodo(&["hook", "pre-commit"])
        .env(TOKEN_VAR, &token)
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(stderr(&out), "");

    stage_capture(
        &repo,
        &[
            "posthog.capture('user_signed_up')",
            "posthog.isFeatureEnabled('release_never_documented')",
            "posthog.capture('checkout_abandoned')",
        ],
    );
    let out = repo
        .kodo(&["hook", "pre-commit"])
        .env(TOKEN_VAR, &token)
        .output()
        .unwrap();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("flag   `release_never_documented`  is not documented"),
        "{err}"
    );
    assert!(
        err.contains("event  `checkout_abandoned`  is not documented"),
        "{err}"
    );
    assert!(!err.contains("user_signed_up"), "{err}");
    assert!(!err.contains(&token), "the token must never be printed");
}
