//! `kodo scan --rev-range A..B [--check]`: the pre-commit check over what a range of commits
//! adds, for CI, with GitHub Actions annotations.

use crate::precommit_support::*;

/// `main` with one documented capture; `feature` adds an undocumented event (line 3 of
/// src/app.ts) in its second commit and a documented one in its first.
fn repo_with_feature_branch() -> Repo {
    let repo = Repo::with_kodo(&["user_signed_up", "user_logged_in"], &["beta-x"]);
    repo.write(
        "src/app.ts",
        "import posthog from 'posthog-js'\nposthog.capture('user_signed_up')\n",
    );
    repo.commit_all("app");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write(
        "src/app.ts",
        "import posthog from 'posthog-js'\nposthog.capture('user_signed_up')\nposthog.capture('user_logged_in')\n",
    );
    repo.commit_all("documented");
    repo.write(
        "src/app.ts",
        "import posthog from 'posthog-js'\nposthog.capture('user_signed_up')\nposthog.capture('checkout_started')\nposthog.capture('user_logged_in')\n",
    );
    repo.write(
        "src/flags.ts",
        "if (posthog.isFeatureEnabled('beta-x')) {}\n",
    );
    repo.commit_all("undocumented");
    repo
}

#[test]
fn finds_the_undocumented_event_a_range_adds_and_annotates_it() {
    let repo = repo_with_feature_branch();
    let out = repo
        .kodo(&["scan", "--rev-range", "main..feature", "--check"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("::error file=src/app.ts,line=3,title=kodo%3A Undocumented::Event `checkout_started` is not documented"),
        "{text}"
    );
    assert!(
        text.contains("src/app.ts:3  event  `checkout_started`  is not documented"),
        "{text}"
    );
    assert!(!text.contains("user_logged_in"), "{text}");
    assert!(!text.contains("beta-x"), "{text}");
    // CI cannot use KODO_SKIP or --no-verify: only the waiver comment is offered.
    assert!(text.contains("kodo-ignore: <reason>"), "{text}");
    assert!(!text.contains("--no-verify"), "{text}");
}

#[test]
fn without_check_the_report_is_printed_and_the_exit_is_zero() {
    let repo = repo_with_feature_branch();
    let out = repo
        .kodo(&["scan", "--rev-range", "main...feature"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("`checkout_started`"),
        "{}",
        stdout(&out)
    );
    // No annotations outside GitHub Actions.
    assert!(!stdout(&out).contains("::error"), "{}", stdout(&out));
}

#[test]
fn a_range_measured_from_the_merge_base_ignores_what_main_did_since() {
    let repo = repo_with_feature_branch();
    // main moves on with its own undocumented event, after feature forked.
    repo.git(&["checkout", "-q", "main"]);
    repo.write("src/main_only.ts", "posthog.capture('main_only_event')\n");
    repo.commit_all("main moves on");
    let out = repo
        .kodo(&[
            "scan",
            "--rev-range",
            "main..feature",
            "--check",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_code(&out, 1);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["key"].as_str())
        .collect();
    assert_eq!(keys, ["checkout_started"]);
}

#[test]
fn a_documented_range_passes_and_a_bad_range_is_a_usage_error() {
    let repo = repo_with_feature_branch();
    let out = repo
        .kodo(&["scan", "--rev-range", "main..feature~1", "--check"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert!(!stdout(&out).contains("::error"), "{}", stdout(&out));

    let out = repo
        .kodo(&["scan", "--rev-range", "main", "--check"])
        .output()
        .unwrap();
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("is not a revision range"),
        "{}",
        stderr(&out)
    );
    let out = repo
        .kodo(&["scan", "--rev-range", "main..no-such-branch", "--check"])
        .output()
        .unwrap();
    assert_code(&out, 2);
}
