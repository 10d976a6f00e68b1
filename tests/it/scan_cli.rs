//! `kodo scan` through the real binary: formats, repositories without kodo config, and
//! `--check` against the documentation (the snapshot that `ph-sync` writes).

use crate::common::TestEnv;
use assert_cmd::Command;
use serde_json::Value;

fn write(root: &std::path::Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn kodo_in(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("kodo").unwrap();
    cmd.current_dir(dir).env("NO_COLOR", "1");
    cmd
}

const APP_TS: &str = "\
import posthog from 'posthog-js'
export const EVENTS = { SIGNUP: 'user_signed_up' } as const
posthog.capture(EVENTS.SIGNUP, { plan: 'pro' })
if (posthog.isFeatureEnabled('beta_ai_assistant')) { render() }
// posthog.capture('not_real_commented_out')
posthog.capture(`dynamic_${kind}`)
";

#[test]
fn scans_a_repository_without_kodo_config_as_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(dir.path(), "web/app.ts", APP_TS);
    let out = kodo_in(dir.path())
        .args(["scan", "--format", "json", "--no-git"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["version"], 1);
    let keys: Vec<(String, String, String)> = report["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kind"].as_str().unwrap().to_string(),
                k["key"].as_str().unwrap().to_string(),
                k["tracked_on"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("event".into(), "user_signed_up".into(), "frontend".into()),
            ("flag".into(), "beta_ai_assistant".into(), "frontend".into()),
        ]
    );
    let dynamic = report["dynamic"].as_array().unwrap();
    assert_eq!(dynamic.len(), 1, "{dynamic:?}");
    assert_eq!(dynamic[0]["path"], "web/app.ts");
    assert_eq!(dynamic[0]["line"], 6);
}

#[test]
fn sarif_and_markdown_formats() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "web/app.ts", APP_TS);
    let out = kodo_in(dir.path())
        .args(["scan", ".", "--format", "sarif", "--no-git"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let sarif: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "web/app.ts"
    }));
    let md = kodo_in(dir.path())
        .args(["scan", "--no-git"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let md = String::from_utf8(md).unwrap();
    assert!(md.contains("`user_signed_up`"), "{md}");
    assert!(!md.contains("not_real_commented_out"), "{md}");
}

/// Runs a command and returns its exit code and stderr.
fn code_and_stderr(cmd: &mut Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn csv_is_a_usage_error_and_a_missing_explicit_config_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = code_and_stderr(kodo_in(dir.path()).args(["scan", "--format", "csv"]));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("[possible values: md, json, sarif]"),
        "{stderr}"
    );
    let (code, stderr) =
        code_and_stderr(kodo_in(dir.path()).args(["scan", "--config", "nope.json"]));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("nope.json"), "{stderr}");
}

#[test]
fn check_fails_on_keys_the_documentation_lacks_and_passes_once_documented() {
    let env = TestEnv::start("demo");
    // Any command that reads Notion refreshes the snapshot the check uses.
    env.kodo().args(["ph-sync", "audit"]).assert().code(0);
    write(
        env.root(),
        "web/app.ts",
        "posthog.capture('user_logged_in')\nposthog.capture('user_went_bowling')\nposthog.isFeatureEnabled('beta_ai_assistant')\n",
    );
    let (code, stderr) = code_and_stderr(env.kodo().args(["scan", "--check", "--no-git"]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("web/app.ts:2  event  `user_went_bowling`"),
        "{stderr}"
    );
    assert!(!stderr.contains("user_logged_in"), "{stderr}");
    assert!(!stderr.contains("beta_ai_assistant"), "{stderr}");
    write(
        env.root(),
        "web/app.ts",
        "posthog.capture('user_logged_in')\nposthog.isFeatureEnabled('beta_ai_assistant')\n",
    );
    env.kodo()
        .args(["scan", "--check", "--no-git"])
        .assert()
        .code(0);
}

#[test]
fn the_scan_cache_lives_in_dot_kodo_and_changes_nothing_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(
        dir.path(),
        ".kodo/config.json",
        r#"{"posthog": {"project_id": "1"}, "notion": {}}"#,
    );
    write(dir.path(), "web/app.ts", APP_TS);
    let scan = |extra: &[&str]| {
        let out = kodo_in(dir.path())
            .args(["scan", "--format", "json", "--no-git", "-v"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (uncached, stderr) = scan(&["--no-cache"]);
    assert!(stderr.contains("scan: no cache;"), "{stderr}");
    assert!(!dir.path().join(".kodo/cache").exists());

    let (first, stderr) = scan(&[]);
    assert_eq!(first, uncached);
    assert!(
        stderr.contains("no cache yet") && stderr.contains("cache written"),
        "{stderr}"
    );
    let cache = dir.path().join(".kodo/cache");
    let ignore = std::fs::read_to_string(cache.join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "*"), "{ignore}");

    let (second, stderr) = scan(&[]);
    assert_eq!(second, uncached);
    assert!(stderr.contains("scan: cache used"), "{stderr}");

    // Deleting the cache is always safe.
    std::fs::remove_dir_all(&cache).unwrap();
    let (third, _) = scan(&[]);
    assert_eq!(third, uncached);
}

const TRACK_TS: &str = "\
import posthog from 'posthog-js'
export function captureEvent(event: string, props?: object) { posthog.capture(event, props) }
export function isOn(flag: string) { return posthog.isFeatureEnabled(flag) }
";
const USES_TS: &str = "\
import { captureEvent, isOn } from './track'
captureEvent('signed_up')
if (isOn('beta_banner')) { show() }
";

fn keys_of(json: &[u8]) -> Vec<String> {
    let report: Value = serde_json::from_slice(json).unwrap();
    report["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            format!(
                "{} {}",
                k["kind"].as_str().unwrap(),
                k["key"].as_str().unwrap()
            )
        })
        .collect()
}

/// `kodo scan --format json` in `dir` with `suggested`'s `scan` section committed to
/// `.kodo/config.json` and inference turned off.
fn scan_with_committed(dir: &std::path::Path, suggested: &Value) -> Vec<u8> {
    let mut config = serde_json::json!({"posthog": {"project_id": "1"}, "notion": {}});
    config["scan"] = suggested["scan"].clone();
    config["scan"]["infer_wrappers"] = false.into();
    write(dir, ".kodo/config.json", &config.to_string());
    kodo_in(dir)
        .args(["scan", "--format", "json", "--no-git", "--no-cache"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

/// `kodo scan --suggest-config` in `dir`, parsed.
fn suggest_config(dir: &std::path::Path) -> Value {
    let out = kodo_in(dir)
        .args(["scan", "--suggest-config"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}
#[test]
fn suggest_config_prints_the_inferred_wrappers_as_a_scan_section_that_finds_the_same_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(dir.path(), "web/track.ts", TRACK_TS);
    write(dir.path(), "web/app.ts", USES_TS);
    let suggested = suggest_config(dir.path());
    assert_eq!(
        suggested,
        serde_json::json!({"scan": {"wrappers": [
            {"call": "captureEvent", "event_arg": 0},
            {"call": "isOn", "flag_arg": 0},
        ]}})
    );
    let inferred = kodo_in(dir.path())
        .args(["scan", "--format", "json", "--no-git"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(keys_of(&inferred), ["event signed_up", "flag beta_banner"]);

    // Committed with inference off, the suggestion finds the same keys.
    let configured = scan_with_committed(dir.path(), &suggested);
    assert_eq!(keys_of(&configured), keys_of(&inferred));
    let report: Value = serde_json::from_slice(&configured).unwrap();
    assert!(report["wrappers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w["inferred"] == false));
}

/// Every reference of a scan, keyed or dynamic: `path:line kind key-or-reason`.
fn references_of(json: &[u8]) -> Vec<String> {
    let report: Value = serde_json::from_slice(json).unwrap();
    let line = |r: &Value, what: &str| {
        format!(
            "{}:{} {} {what}",
            r["path"].as_str().unwrap(),
            r["line"],
            r["kind"].as_str().unwrap()
        )
    };
    let mut out: Vec<String> = report["keys"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|k| {
            let key = k["key"].as_str().unwrap().to_string();
            k["references"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |r| line(r, &key))
                .collect::<Vec<_>>()
        })
        .chain(
            report["dynamic"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| line(r, "dynamic")),
        )
        .collect();
    out.sort();
    out
}

#[test]
fn suggest_config_carries_parameter_defaults_and_components_so_the_committed_block_finds_the_same_references(
) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(
        dir.path(),
        "web/track.ts",
        "import posthog from 'posthog-js'\n\
         export function track(event = 'page_viewed') { posthog.capture(event) }\n\
         export function flagOn(flag = 'beta_default') { return posthog.isFeatureEnabled(flag) }\n",
    );
    write(
        dir.path(),
        "web/app.ts",
        "import { track, flagOn } from './track'\n\
         track()\n\
         track('signed_up')\n\
         track(...args)\n\
         flagOn()\n",
    );
    // A component whose prop is the event, with a default.
    write(
        dir.path(),
        "web/Btn.tsx",
        "import posthog from 'posthog-js'\n\
         export function Btn({ eventName = 'btn_default' }) { posthog.capture(eventName) }\n",
    );
    write(
        dir.path(),
        "web/page.tsx",
        "import { Btn } from './Btn'\n\
         export const Page = () => (<>\n\
         <Btn eventName=\"btn_clicked\" />\n\
         <Btn />\n\
         </>)\n",
    );
    write(
        dir.path(),
        "api/analytics.py",
        "import posthog\n\
         \n\
         def record(user, event=\"py_page_viewed\"):\n\
         \x20   posthog.capture(event, distinct_id=user)\n",
    );
    write(
        dir.path(),
        "api/views.py",
        "from .analytics import record\n\
         \n\
         def view(user, rest):\n\
         \x20   record(user)\n\
         \x20   record(user, \"py_clicked\")\n\
         \x20   record(*rest)\n\
         \x20   record(user, event=\"py_keyword\")\n",
    );
    let suggested = suggest_config(dir.path());
    assert_eq!(
        suggested,
        serde_json::json!({"scan": {"wrappers": [
            {"call": "Btn", "event_key": "eventName", "default": "btn_default"},
            {"call": "flagOn", "flag_arg": 0, "default": "beta_default"},
            {"call": "record", "event_arg": 1, "event_key": "event", "default": "py_page_viewed"},
            {"call": "track", "event_arg": 0, "default": "page_viewed"},
        ]}})
    );
    let inferred = kodo_in(dir.path())
        .args(["scan", "--format", "json", "--no-git"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        references_of(&inferred),
        [
            "api/views.py:4 event py_page_viewed",
            "api/views.py:5 event py_clicked",
            "api/views.py:6 event dynamic",
            "api/views.py:7 event py_keyword",
            "web/app.ts:2 event page_viewed",
            "web/app.ts:3 event signed_up",
            "web/app.ts:4 event dynamic",
            "web/app.ts:5 flag beta_default",
            "web/page.tsx:3 event btn_clicked",
            "web/page.tsx:4 event btn_default",
        ]
    );

    // Committed with inference off, the suggestion finds the same references.
    let configured = scan_with_committed(dir.path(), &suggested);
    // Besides: the wrappers' own SDK calls, whose key is the parameter, are dynamic (with
    // inference on they are the wrappers' definitions, not references).
    let inferred = references_of(&inferred);
    let (same, extra): (Vec<String>, Vec<String>) = references_of(&configured)
        .into_iter()
        .partition(|r| inferred.contains(r));
    assert_eq!(same, inferred);
    assert_eq!(
        extra,
        [
            "api/analytics.py:4 event dynamic",
            "web/Btn.tsx:2 event dynamic",
            "web/track.ts:2 event dynamic",
            "web/track.ts:3 flag dynamic",
        ]
    );
    let report: Value = serde_json::from_slice(&configured).unwrap();
    let wrappers = report["wrappers"].as_array().unwrap();
    assert!(wrappers.iter().all(|w| w["inferred"] == false));
    assert!(wrappers.iter().any(|w| w["default"] == "page_viewed"));
}

#[test]
fn markdown_lists_the_inferred_wrappers_with_their_definition_and_argument() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(dir.path(), "web/track.ts", TRACK_TS);
    write(dir.path(), "web/app.ts", USES_TS);
    let out = kodo_in(dir.path())
        .args(["scan", "--no-git"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let md = String::from_utf8(out).unwrap();
    assert!(md.contains("## Wrappers"), "{md}");
    assert!(
        md.contains(
            "| `captureEvent` | event: argument 1 | `web/track.ts:2` | posthog-js | inferred |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| `isOn` | flag: argument 1 | `web/track.ts:3` | posthog-js | inferred |"),
        "{md}"
    );
    // A configured wrapper is listed as such, without a definition site.
    let config = serde_json::json!({"scan": {"infer_wrappers": false, "wrappers": [
        {"call": "captureEvent", "event_key": "name"}
    ]}});
    write(dir.path(), ".kodo/config.json", &config.to_string());
    let out = kodo_in(dir.path())
        .args(["scan", "--no-git", "--no-cache"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let md = String::from_utf8(out).unwrap();
    assert!(
        md.contains("| `captureEvent` | event: `name` |  | wrapper | configured |"),
        "{md}"
    );
    assert!(!md.contains("| `isOn` |"), "{md}");
}

#[test]
fn include_tests_counts_keys_referenced_only_from_test_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(dir.path(), "web/track.ts", TRACK_TS);
    write(dir.path(), "web/app.ts", USES_TS);
    write(
        dir.path(),
        "web/__tests__/app.test.ts",
        "import { captureEvent } from '../track'\ncaptureEvent('only_in_a_test')\ncaptureEvent('signed_up')\n",
    );
    let scan = |extra: &[&str]| {
        kodo_in(dir.path())
            .args(["scan", "--format", "json", "--no-git"])
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let default = scan(&[]);
    assert_eq!(keys_of(&default), ["event signed_up", "flag beta_banner"]);
    // The test reference of a product key is kept, marked.
    let report: Value = serde_json::from_slice(&default).unwrap();
    let refs = report["keys"][0]["references"].as_array().unwrap();
    assert!(refs
        .iter()
        .any(|r| r["path"] == "web/__tests__/app.test.ts" && r["in_test"] == true));
    assert_eq!(
        keys_of(&scan(&["--include-tests"])),
        [
            "event only_in_a_test",
            "event signed_up",
            "flag beta_banner"
        ]
    );
}

#[test]
fn sarif_with_check_reports_each_undocumented_key_as_an_error_and_no_plain_reference() {
    let env = TestEnv::start("demo");
    env.kodo().args(["ph-sync", "audit"]).assert().code(0);
    write(
        env.root(),
        "web/app.ts",
        "posthog.capture('user_logged_in')\nposthog.capture('user_went_bowling')\nposthog.isFeatureEnabled('flag_nobody_wrote_down')\nposthog.capture('user_went_bowling')\nposthog.capture(`dyn_${x}`)\n",
    );
    let out = env
        .kodo()
        .args(["scan", "--check", "--no-git", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &sarif["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "kodo/undocumented-event",
            "kodo/undocumented-flag",
            "kodo/dead-flag-check"
        ]
    );
    let results: Vec<(String, String, u64, usize)> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap().to_string(),
                r["level"].as_str().unwrap().to_string(),
                r["locations"][0]["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .unwrap(),
                r["relatedLocations"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("kodo/undocumented-event".into(), "error".into(), 2, 1),
            ("kodo/undocumented-flag".into(), "error".into(), 3, 0),
        ]
    );
    // Once documented nothing fails, and SARIF has no results (code scanning closes alerts).
    write(
        env.root(),
        "web/app.ts",
        "posthog.capture('user_logged_in')\nposthog.capture(`dyn_${x}`)\n",
    );
    let out = env
        .kodo()
        .args(["scan", "--check", "--no-git", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn scan_path_reads_that_repositorys_config_and_a_scan_section_is_enough() {
    let dir = tempfile::tempdir().unwrap();
    // The current directory is a repository with its own config, which must not apply.
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(
        dir.path(),
        ".kodo/config.json",
        r#"{"scan": {"wrappers": [{"call": "cwdOnly", "event_arg": 0}]}}"#,
    );
    let repo = dir.path().join("other");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    write(
        &repo,
        ".kodo/config.json",
        r#"{"scan": {"wrappers": [{"call": "sendIt", "event_arg": 0}]}}"#,
    );
    write(
        &repo,
        "src/app.ts",
        "sendIt('configured_event')\ncwdOnly('not_this_repos_wrapper')\n",
    );
    let scan = |cwd: &std::path::Path, extra: &[&str]| {
        let out = kodo_in(cwd)
            .args(["scan", "--format", "json", "--no-git"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        keys_of(&out.stdout)
    };
    assert_eq!(scan(dir.path(), &["other"]), ["event configured_event"]);
    // A directory inside it: the config is found up to the repository root.
    assert_eq!(scan(dir.path(), &["other/src"]), ["event configured_event"]);
    // From inside the repository, without PATH.
    assert_eq!(scan(&repo, &[]), ["event configured_event"]);
    // The current directory's own config still applies to a scan of it.
    write(dir.path(), "web/a.ts", "cwdOnly('cwd_event')\n");
    assert_eq!(
        scan(dir.path(), &["web"]),
        ["event cwd_event"],
        "a PATH without a repository of its own uses the enclosing one's config"
    );
    // `--check` calls Notion, so it needs the whole config, and says what is missing.
    let (code, stderr) = code_and_stderr(kodo_in(&repo).args(["scan", "--check", "--no-git"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("posthog"), "{stderr}");
}
