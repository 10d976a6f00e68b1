//! `kodo hook pre-commit` in real temporary git repositories, through the real binary, offline.

use crate::precommit_support::*;
use serde_json::json;

const APP: &str = "src/app.ts";

fn app_with(lines: &[&str]) -> String {
    let mut text = String::from("import posthog from 'posthog-js'\n\nexport function main() {\n");
    for l in lines {
        text.push_str("  ");
        text.push_str(l);
        text.push('\n');
    }
    text.push_str("}\n");
    text
}

#[test]
fn an_undocumented_event_is_blocked_with_location_and_fix() {
    let repo = Repo::with_kodo(&["user_signed_up"], &[]);
    repo.write(APP, &app_with(&["posthog.capture('checkout_started')"]));
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    // The whole report (fix, waiver, ways to commit anyway) is the snapshot
    // `snapshots/files/precommit_block_md.snap`; here, the facts.
    assert!(err.contains("src/app.ts:4"), "{err}");
    assert!(
        err.contains("event  `checkout_started`  is not documented"),
        "{err}"
    );
    // Offline with a fresh snapshot: Notion (a closed port here) was never asked.
    assert!(!err.contains("Notion could not"), "{err}");
}

#[test]
fn documented_events_and_flags_pass_silently() {
    let repo = Repo::with_kodo(&["user_signed_up"], &["release-checkout-v2"]);
    repo.write(
        APP,
        &app_with(&[
            "posthog.capture('user_signed_up')",
            "if (posthog.isFeatureEnabled('release-checkout-v2')) {}",
            // A flag documented only as an experiment's flag key counts as documented.
            "posthog.getFeatureFlag('exp-checkout-copy')",
            // PostHog's own events are not checked by default.
            "posthog.capture('$pageview')",
        ]),
    );
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 0);
    assert_eq!(stderr(&out), "");
}

#[test]
fn an_undocumented_flag_is_blocked() {
    let repo = Repo::with_kodo(&[], &["known-flag"]);
    repo.write(
        "app/views.py",
        "from posthog import Posthog\nposthog = Posthog('k')\n\nif posthog.feature_enabled('new-pricing', 'user-1'):\n    pass\n",
    );
    repo.git(&["add", "."]);
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("app/views.py:4"), "{err}");
    assert!(err.contains("flag   `new-pricing`"), "{err}");
    assert!(
        err.contains("kodo ph-sync document flag new-pricing"),
        "{err}"
    );
    // The waiver is offered in the file's own comment syntax.
    assert!(err.contains("`# kodo-ignore: <reason>`"), "{err}");
}

#[test]
fn what_is_checked_is_the_staged_content_not_the_working_tree() {
    let repo = Repo::with_kodo(&["user_signed_up"], &[]);
    repo.write(APP, &app_with(&["posthog.capture('user_signed_up')"]));
    repo.git(&["add", APP]);
    // An unstaged edit adds an undocumented event: not part of this commit.
    repo.write(
        APP,
        &app_with(&[
            "posthog.capture('user_signed_up')",
            "posthog.capture('not_staged')",
        ]),
    );
    assert_code(&repo.hook(), 0);
    // And the other way round: staged undocumented, working tree fixed but not staged.
    repo.git(&["add", APP]);
    repo.write(APP, &app_with(&["posthog.capture('user_signed_up')"]));
    let out = repo.hook();
    assert_code(&out, 1);
    assert!(stderr(&out).contains("`not_staged`"));
}

#[test]
fn a_constant_in_an_unstaged_or_untracked_file_is_resolved() {
    let repo = Repo::with_kodo(&["user_signed_up"], &[]);
    repo.write(
        "src/events.ts",
        "export const EVENTS = {\n  signup: 'user_signed_up',\n};\n",
    );
    repo.commit_all("events");
    // Unstaged: a new constant in a tracked file that is not part of the commit.
    repo.write(
        "src/events.ts",
        "export const EVENTS = {\n  signup: 'user_signed_up',\n  checkout: 'checkout_started',\n};\n",
    );
    repo.write(
        APP,
        &format!(
            "import {{ EVENTS }} from './events'\n{}",
            app_with(&["posthog.capture(EVENTS.checkout)"])
        ),
    );
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("src/app.ts:5"), "{err}");
    assert!(err.contains("`checkout_started`"), "{err}");

    // Untracked: a file git does not know at all.
    repo.write(
        "src/flags.ts",
        "export const BETA_FLAG = 'beta-untracked'\n",
    );
    repo.write(
        "src/other.ts",
        "import { BETA_FLAG } from './flags'\nif (posthog.isFeatureEnabled(BETA_FLAG)) {}\n",
    );
    repo.git(&["reset", "-q", APP]);
    repo.git(&["add", "src/other.ts"]);
    let out = repo.hook();
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("flag   `beta-untracked`"),
        "{}",
        stderr(&out)
    );

    // A constant that resolves to a documented name passes.
    repo.git(&["reset", "-q", "src/other.ts"]);
    repo.write(
        APP,
        &format!(
            "import {{ EVENTS }} from './events'\n{}",
            app_with(&["posthog.capture(EVENTS.signup)"])
        ),
    );
    repo.git(&["add", APP]);
    assert_code(&repo.hook(), 0);
}

#[test]
fn a_name_without_an_import_is_looked_up_through_the_scan_cache() {
    let repo = Repo::with_kodo(&["user_signed_up"], &[]);
    let names = repo.path("src/names.ts");
    let set_mtime = |t: std::time::SystemTime| {
        let f = std::fs::File::options().write(true).open(&names).unwrap();
        f.set_modified(t).unwrap();
    };
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    repo.write(
        "src/names.ts",
        "export const GLOBAL_NAME = 'user_signed_XX'\n",
    );
    set_mtime(an_hour_ago);
    // Used elsewhere already, so the scan knows (and caches) the definition.
    repo.write("src/uses.ts", &app_with(&["posthog.capture(GLOBAL_NAME)"]));
    repo.commit_all("names");
    // A scan writes the cache the gate reads (and never writes).
    assert_code(&repo.kodo(&["scan", "--no-git"]).output().unwrap(), 0);
    // No file is left behind (a scan's delta over the cache file, `scan-….delta`, is part
    // of the cache).
    let cache_files = || {
        std::fs::read_dir(repo.path(".kodo/cache"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .map_or(true, |e| e.path().extension().is_none_or(|x| x != "delta"))
            })
            .count()
    };
    let before = cache_files();

    repo.write(APP, &app_with(&["posthog.capture(GLOBAL_NAME)"]));
    repo.git(&["add", APP]);
    let hook = |extra: &[&str]| {
        repo.kodo(&[&["hook", "pre-commit"][..], extra].concat())
            .output()
            .unwrap()
    };
    for extra in [&[][..], &["--no-cache"][..]] {
        let out = hook(extra);
        assert_code(&out, 1);
        assert!(
            stderr(&out).contains("`user_signed_XX`"),
            "{}",
            stderr(&out)
        );
    }
    // New bytes behind the same size, inode and modification time: like git, the cache
    // trusts the stat, which shows the gate took the definition from it.
    repo.write(
        "src/names.ts",
        "export const GLOBAL_NAME = 'user_signed_up'\n",
    );
    set_mtime(an_hour_ago);
    assert_code(&hook(&[]), 1);
    assert_code(&hook(&["--no-cache"]), 0);
    // A changed stat: the file is read.
    set_mtime(an_hour_ago + std::time::Duration::from_secs(60));
    assert_code(&hook(&[]), 0);
    assert_eq!(cache_files(), before);
}

#[test]
fn an_unresolvable_key_is_a_warning_not_a_block() {
    let repo = Repo::with_kodo(&[], &[]);
    repo.write(
        APP,
        &app_with(&[
            "posthog.capture(`step_${n}_done`)",
            "posthog.capture(NOWHERE_DEFINED)",
        ]),
    );
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("warning: src/app.ts:4  event  (dynamic key) cannot be checked"),
        "{err}"
    );
    assert!(
        err.contains("unresolved identifier `NOWHERE_DEFINED`"),
        "{err}"
    );
}

#[test]
fn a_waiver_with_a_reason_lets_the_line_through() {
    let repo = Repo::with_kodo(&[], &[]);
    repo.write(
        APP,
        &app_with(&[
            "posthog.capture('legacy_import') // kodo-ignore: one-off backfill, removed next sprint",
            "// kodo-ignore: prototype behind a kill switch",
            "posthog.capture('prototype_clicked')",
        ]),
    );
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("waived src/app.ts:4  event  `legacy_import` (one-off backfill"),
        "{err}"
    );
    assert!(
        err.contains("`prototype_clicked` (prototype behind a kill switch)"),
        "{err}"
    );
}

#[test]
fn a_waiver_without_a_reason_is_not_a_waiver() {
    let repo = Repo::with_kodo(&[], &[]);
    repo.write(
        APP,
        &app_with(&["posthog.capture('legacy_import') // kodo-ignore"]),
    );
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("has no reason, so it is not a waiver"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn kodo_skip_skips_the_check() {
    let repo = Repo::with_kodo(&[], &[]);
    repo.write(APP, &app_with(&["posthog.capture('anything_goes')"]));
    repo.git(&["add", APP]);
    let out = repo
        .kodo(&["hook", "pre-commit"])
        .env("KODO_SKIP", "1")
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert!(stderr(&out).contains("KODO_SKIP is set"));
    // `KODO_SKIP=0` does not skip.
    let out = repo
        .kodo(&["hook", "pre-commit"])
        .env("KODO_SKIP", "0")
        .output()
        .unwrap();
    assert_code(&out, 1);
}

#[test]
fn moved_and_unchanged_lines_are_not_added() {
    let repo = Repo::with_kodo(&[], &[]);
    // Existing, undocumented captures from before kodo was adopted.
    repo.write(
        APP,
        &app_with(&[
            "posthog.capture('legacy_one')",
            "const x = 1",
            "posthog.capture('legacy_two')",
        ]),
    );
    repo.commit_all("legacy");
    // Reorder the captures, re-indent one, and change an unrelated line.
    repo.write(
        APP,
        &app_with(&[
            "posthog.capture('legacy_two')",
            "const x = 2",
            "    posthog.capture( 'legacy_one' )",
        ]),
    );
    repo.git(&["add", APP]);
    assert_code(&repo.hook(), 0);
    // Moving a capture into another file (rename or not) adds nothing either.
    repo.git(&["mv", APP, "src/main.ts"]);
    repo.write(
        "src/util.ts",
        "export function f() {\n  posthog.capture('legacy_one')\n}\n",
    );
    repo.git(&["add", "."]);
    assert_code(&repo.hook(), 0);
}

#[test]
fn a_repository_without_kodo_is_never_blocked() {
    let repo = Repo::new();
    repo.write(APP, &app_with(&["posthog.capture('whatever')"]));
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 0);
    assert!(
        stderr(&out).contains("no .kodo/config.json"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_first_commit_is_checked_too() {
    let repo = Repo::new();
    repo.config(&closed_port_url(), json!({}));
    repo.snapshot(&hours_ago(1), &["user_signed_up"], &[]);
    repo.write(APP, &app_with(&["posthog.capture('first_ever')"]));
    repo.git(&["add", "."]);
    let out = repo.hook();
    assert_code(&out, 1);
    assert!(stderr(&out).contains("`first_ever`"));
}

#[test]
fn naming_rules_warn_or_block_as_configured() {
    let repo = Repo::with_kodo(&["user_SignedIn", "checkout_done"], &[]);
    repo.config(
        &closed_port_url(),
        json!({"naming": {"snake_case": "warning", "prefixes": ["user_", "subscription_"], "prefix_rule": "error"}}),
    );
    repo.commit_all("naming rules");

    // A warning-level rule only warns, documented or not.
    repo.write(APP, &app_with(&["posthog.capture('user_SignedIn')"]));
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 0);
    assert!(
        stderr(&out).contains("warning: src/app.ts:4  event  `user_SignedIn` is not snake_case"),
        "{}",
        stderr(&out)
    );

    // An error-level rule blocks a name the change adds, even a documented one: documenting a
    // name first does not exempt it.
    repo.write(APP, &app_with(&["posthog.capture('checkout_done')"]));
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("src/app.ts:4  event  `checkout_done`  starts with none of the allowed prefixes `user_`, `subscription_`"),
        "{err}"
    );
    assert!(!err.contains("is not documented"), "{err}");
    assert!(err.contains("To fix a name, rename the event"), "{err}");

    // Undocumented and badly named: both listed, and the fix is to rename first, not to
    // document the bad name.
    repo.write(APP, &app_with(&["posthog.capture('CheckoutStarted')"]));
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("`CheckoutStarted`  is not documented"),
        "{err}"
    );
    assert!(
        err.contains("warning: src/app.ts:4  event  `CheckoutStarted` is not snake_case"),
        "{err}"
    );
    assert!(
        err.contains("`CheckoutStarted`  starts with none of the allowed prefixes"),
        "{err}"
    );
    assert!(!err.contains("Event Name = `CheckoutStarted`"), "{err}");

    // A waiver covers the naming rules too.
    repo.write(
        APP,
        &app_with(&["posthog.capture('checkout_done') // kodo-ignore: name agreed with data team"]),
    );
    repo.git(&["add", APP]);
    assert_code(&repo.hook(), 0);
}

#[test]
fn json_output_lists_the_findings() {
    let repo = Repo::with_kodo(&[], &[]);
    repo.write(APP, &app_with(&["posthog.capture('checkout_started')"]));
    repo.git(&["add", APP]);
    let out = repo
        .kodo(&["hook", "pre-commit", "--format", "json"])
        .output()
        .unwrap();
    assert_code(&out, 1);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["blocked"], true);
    assert_eq!(v["findings"][0]["path"], "src/app.ts");
    assert_eq!(v["findings"][0]["line"], 4);
    assert_eq!(v["findings"][0]["key"], "checkout_started");
    assert_eq!(v["findings"][0]["problem"], "undocumented");
}

#[test]
fn git_commit_runs_the_installed_hook() {
    let repo = Repo::with_kodo(&["user_signed_up"], &[]);
    assert_code(&repo.kodo(&["hooks", "install"]).output().unwrap(), 0);
    repo.write(APP, &app_with(&["posthog.capture('checkout_started')"]));
    repo.git(&["add", APP]);
    let out = repo
        .git_cmd(&["commit", "-m", "adds an event"])
        .env("PATH", path_with_kodo())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("`checkout_started`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(repo.git(&["rev-list", "--count", "HEAD"]).trim(), "1");
    // `git commit -a` uses a temporary index: the hook sees it.
    repo.write(APP, &app_with(&["posthog.capture('user_signed_up')"]));
    let out = repo
        .git_cmd(&["commit", "-q", "-a", "-m", "documented"])
        .env("PATH", path_with_kodo())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // --no-verify goes around it.
    repo.write(APP, &app_with(&["posthog.capture('checkout_started')"]));
    let out = repo
        .git_cmd(&["commit", "-q", "-a", "--no-verify", "-m", "skip"])
        .env("PATH", path_with_kodo())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_staged_call_of_an_inferred_wrapper_is_gated_with_no_wrapper_config() {
    // No `scan.wrappers` anywhere: `track` is a wrapper because its parameter reaches
    // posthog.capture's event name.
    let repo = Repo::with_kodo(&["user_signed_up"], &[]);
    repo.write(
        "src/analytics.ts",
        "import posthog from 'posthog-js'\n\nexport function track(event: string, props?: object) {\n  posthog.capture(event, props)\n}\n",
    );
    repo.commit_all("analytics");
    repo.write(
        APP,
        "import { track } from './analytics'\n\nexport function main() {\n  track('user_signed_up')\n  track('checkout_started', { plan: 'pro' })\n}\n",
    );
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("src/app.ts:5"), "{err}");
    assert!(
        err.contains("event  `checkout_started`  is not documented"),
        "{err}"
    );
    assert!(!err.contains("`user_signed_up`"), "{err}");
    // With inference off, the same call is not a capture.
    repo.write(
        ".kodo/config.json",
        &std::fs::read_to_string(repo.path(".kodo/config.json"))
            .unwrap()
            .replacen('{', "{\"scan\": {\"infer_wrappers\": false},", 1),
    );
    assert_code(&repo.hook(), 0);
}

#[test]
fn a_staged_call_of_a_hooks_bound_result_is_gated_as_kodo_scan_sees_it() {
    // `useCapture` (committed, unchanged) returns a function whose parameter reaches
    // posthog.capture: the name its result is bound to is a wrapper in the file that binds it.
    let repo = Repo::with_kodo(&["user_signed_up"], &[]);
    repo.write(
        "src/useCapture.ts",
        "import posthog from 'posthog-js'\n\nexport function useCapture() {\n  return (event: string) => posthog.capture(event)\n}\n",
    );
    repo.write(
        "src/analytics.ts",
        "import posthog from 'posthog-js'\n\nexport function track(event: string) {\n  posthog.capture(event)\n}\n",
    );
    repo.commit_all("hooks");
    repo.write(
        APP,
        "import { useCapture } from './useCapture'\n\nexport function Page() {\n  const capture = useCapture()\n  capture('user_signed_up')\n  capture('checkout_started')\n}\n",
    );
    // Another file calls a `capture` it never bound, and a Python `track` that is not the
    // TypeScript wrapper: neither is a capture.
    repo.write(
        "src/other.ts",
        "export function other(capture: (s: string) => void) {\n  capture('not_an_event')\n}\n",
    );
    repo.write(
        "worker/jobs.py",
        "def track(name):\n    print(name)\n\ntrack('not_an_event_either')\n",
    );
    repo.git(&["add", APP, "src/other.ts", "worker/jobs.py"]);
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("src/app.ts:6  event  `checkout_started`  is not documented"),
        "{err}"
    );
    assert!(!err.contains("`user_signed_up`"), "{err}");
    assert!(!err.contains("not_an_event"), "{err}");
    // `kodo scan` sees the same references.
    let scan = repo
        .kodo(&["scan", "--no-git", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    let keys: Vec<&str> = report["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["checkout_started", "user_signed_up"]);
}

#[test]
fn a_staged_wrapper_body_is_not_a_dynamic_capture() {
    // The change adds a wrapper and its call: the wrapper's `posthog.capture(event)` is not a
    // capture of an unknown event (its call sites are), and the call is checked.
    let repo = Repo::with_kodo(&["user_signed_up"], &[]);
    repo.write(
        APP,
        "import posthog from 'posthog-js'\n\nfunction track(event: string) {\n  posthog.capture(event)\n}\n\ntrack('user_signed_up')\n",
    );
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 0);
    let err = stderr(&out);
    assert!(
        !err.contains("dynamic") && !err.contains("`event`"),
        "{err}"
    );
}

#[test]
fn both_branches_of_a_conditional_key_are_checked() {
    let repo = Repo::with_kodo(&["user_signed_up"], &[]);
    repo.write(
        APP,
        &app_with(&["posthog.capture(isNew ? 'user_signed_up' : 'user_returned')"]),
    );
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("event  `user_returned`  is not documented"),
        "{err}"
    );
    assert!(!err.contains("`user_signed_up`  is not"), "{err}");
}

#[test]
fn both_branches_of_a_python_conditional_key_are_checked() {
    let repo = Repo::with_kodo(&["user_signed_up"], &["beta-home"]);
    repo.write(
        "api/views.py",
        "import posthog\n\n\ndef view(request):\n    name = \"user_signed_up\" if request.new else \"user_returned\"\n    posthog.capture(name, distinct_id=request.user.id)\n    posthog.feature_enabled(\"beta-home\" if request.ok else \"beta-away\", request.user.id)\n",
    );
    repo.git(&["add", "."]);
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("event  `user_returned`  is not documented"),
        "{err}"
    );
    assert!(
        err.contains("flag   `beta-away`  is not documented"),
        "{err}"
    );
    assert!(!err.contains("`user_signed_up`  is not"), "{err}");
    assert!(!err.contains("`beta-home`  is not"), "{err}");
}

#[test]
fn a_template_of_constants_is_checked_as_the_key_it_spells() {
    let repo = Repo::with_kodo(&[], &[]);
    repo.write(
        APP,
        &app_with(&[
            "const PREFIX = 'checkout'",
            "posthog.capture(`${PREFIX}_started`)",
        ]),
    );
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("event  `checkout_started`  is not documented"),
        "{err}"
    );
}

#[test]
fn a_template_of_constants_from_other_files_is_checked_as_the_key_it_spells() {
    // `checkout_started` is documented; the other keys are not.
    let repo = Repo::with_kodo(&["checkout_started"], &[]);
    repo.write("src/names.ts", "export const PREFIX = 'checkout'\n");
    repo.write("api/names.py", "PREFIX = \"billing\"\n");
    repo.write(
        "svc/names.go",
        "package svc\n\nconst Prefix = \"go_billing\"\nconst VoidedFmt = \"%s_voided\"\n",
    );
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "names"]);
    repo.write(
        APP,
        "import posthog from 'posthog-js'\nimport { PREFIX } from './names'\n\nposthog.capture(`${PREFIX}_started`)\nposthog.capture(`${PREFIX}_paid`)\nposthog.capture(`${PREFIX}_${NOWHERE}`)\n",
    );
    repo.write(
        "api/views.py",
        "import posthog\nfrom .names import PREFIX\n\n\ndef view(request):\n    posthog.capture(f\"{PREFIX}_opened\", distinct_id=request.user.id)\n    posthog.capture(\"{}_closed\".format(PREFIX), distinct_id=request.user.id)\n    posthog.capture(\"%s_reopened\" % PREFIX, distinct_id=request.user.id)\n",
    );
    repo.write(
        "svc/handler.go",
        "package svc\n\nfunc h(client posthog.Client) {\n\tclient.Enqueue(posthog.Capture{DistinctId: \"u\", Event: Prefix + \"_paid\"})\n\tclient.Enqueue(posthog.Capture{DistinctId: \"u\", Event: fmt.Sprintf(\"%s_refunded\", Prefix)})\n\tclient.Enqueue(posthog.Capture{DistinctId: \"u\", Event: fmt.Sprintf(VoidedFmt, Prefix)})\n}\n",
    );
    repo.git(&["add", "."]);
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("event  `checkout_paid`  is not documented"),
        "{err}"
    );
    assert!(
        err.contains("event  `billing_opened`  is not documented"),
        "{err}"
    );
    assert!(
        err.contains("event  `go_billing_paid`  is not documented"),
        "{err}"
    );
    // Python's str.format and %, Go's fmt.Sprintf of the same constants (also with a format
    // constant of the package's other file).
    for key in [
        "billing_closed",
        "billing_reopened",
        "go_billing_refunded",
        "go_billing_voided",
    ] {
        assert!(
            err.contains(&format!("event  `{key}`  is not documented")),
            "{key}: {err}"
        );
    }
    assert!(!err.contains("`checkout_started`  is not"), "{err}");
    // A name defined nowhere keeps the whole key dynamic, with its location.
    assert!(err.contains("src/app.ts:6"), "{err}");
    assert!(err.contains("${PREFIX}_${NOWHERE}"), "{err}");
}

#[test]
fn an_added_check_of_a_flag_posthog_no_longer_serves_is_blocked() {
    // Documented (its Notion row is archived, as `import` leaves a deleted flag), but the last
    // run that read PostHog recorded it as deleted: the check the commit adds is dead code.
    let repo = Repo::with_kodo(&[], &["release-dark-mode", "live-flag"]);
    let mut snapshot: serde_json::Value =
        serde_json::from_str(&repo.read(".kodo/snapshot.json")).unwrap();
    snapshot["dead_flags"] = json!({"release-dark-mode": "deleted", "old-banner": "archived"});
    repo.write_json(".kodo/snapshot.json", &snapshot);
    repo.write(
        APP,
        &app_with(&[
            "if (posthog.isFeatureEnabled('release-dark-mode')) {}",
            "if (posthog.isFeatureEnabled('live-flag')) {}",
        ]),
    );
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("src/app.ts:4  flag   `release-dark-mode`  is deleted in PostHog: this check is dead code"),
        "{err}"
    );
    assert!(err.contains("remove it from the code"), "{err}");
    assert!(!err.contains("`live-flag`"), "{err}");
    // Not documented and archived in PostHog: one finding, the dead check (documenting it
    // would not make the check live).
    repo.write(
        APP,
        &app_with(&[
            "if (posthog.isFeatureEnabled('old-banner')) {} // kodo-ignore: removal in #12",
        ]),
    );
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 0);
    assert!(
        stderr(&out).contains("kodo: waived src/app.ts:4  flag  `old-banner`"),
        "{}",
        stderr(&out)
    );
    repo.write(
        APP,
        &app_with(&["if (posthog.isFeatureEnabled('old-banner')) {}"]),
    );
    repo.git(&["add", APP]);
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("`old-banner`  is archived in PostHog"),
        "{err}"
    );
    assert!(!err.contains("is not documented"), "{err}");
    // The JSON report names the problem and PostHog's state.
    let out = repo
        .kodo(&["hook", "pre-commit", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let finding = &report["findings"][0];
    assert_eq!(finding["problem"], "dead_flag", "{report}");
    assert_eq!(finding["posthog_state"], "archived", "{report}");
}

#[test]
fn a_capture_in_a_test_file_is_not_gated() {
    let repo = Repo::with_kodo(&[], &[]);
    repo.write(
        "src/__tests__/app.test.ts",
        &app_with(&["posthog.capture('test_only_event')"]),
    );
    repo.git(&["add", "."]);
    assert_code(&repo.hook(), 0);
    // `scan.include_tests` brings tests back.
    repo.write(
        ".kodo/config.json",
        &std::fs::read_to_string(repo.path(".kodo/config.json"))
            .unwrap()
            .replacen('{', "{\"scan\": {\"include_tests\": true},", 1),
    );
    let out = repo.hook();
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("`test_only_event`"),
        "{}",
        stderr(&out)
    );
}
