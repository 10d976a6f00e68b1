//! The public API beyond the fixture corpus: one-file scans and targeted resolution (what
//! the pre-commit gate uses), the SARIF and Markdown renderers, and settings errors.

use std::fs;

use kodo_scan::{
    render, resolve_identifiers, scan, scan_file_text, Kind, Resolution, ScanError, ScanSettings,
    Side, Wrapper,
};

#[test]
fn scan_file_text_resolves_local_constants_and_leaves_others_for_the_caller() {
    let text = "const LOCAL = 'local_event'\nposthog.capture(LOCAL)\nposthog.capture(Events.REMOTE)\nposthog.isFeatureEnabled('f')\n";
    let refs = scan_file_text("web/src/a.ts", text, &ScanSettings::default());
    assert_eq!(refs.len(), 3);
    assert_eq!(
        (refs[0].key.as_deref(), refs[0].identifier.as_deref()),
        (Some("local_event"), Some("LOCAL"))
    );
    assert_eq!(
        (
            refs[1].key.as_deref(),
            refs[1].identifier.as_deref(),
            refs[1].dynamic_reason.as_deref()
        ),
        (None, Some("Events.REMOTE"), None)
    );
    assert_eq!(
        (refs[2].kind, refs[2].line, refs[2].column, refs[2].side),
        (Kind::Flag, 4, 9, Side::Frontend)
    );
    assert_eq!(refs[2].snippet, "posthog.isFeatureEnabled('f')");
    assert!(scan_file_text("README.md", text, &ScanSettings::default()).is_empty());
}

#[test]
fn columns_count_code_points_and_snippets_are_trimmed() {
    let text = "    /* é */ posthog.capture('unicode')   \n";
    let refs = scan_file_text("a.js", text, &ScanSettings::default());
    // The column points at the call name; `é` is one code point (two bytes).
    assert_eq!((refs[0].line, refs[0].column), (1, 21));
    assert_eq!(refs[0].snippet, "/* é */ posthog.capture('unicode')");
}

#[test]
fn resolve_identifiers_finds_only_the_names_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::create_dir_all(root.join("src/analytics")).unwrap();
    fs::write(
        root.join("src/analytics/events.ts"),
        "export const Events = { REMOTE: 'remote_event' }\nexport const OTHER = 'other'\n",
    )
    .unwrap();
    fs::write(root.join("src/a.py"), "TWICE = 'one'\n").unwrap();
    fs::write(root.join("src/b.py"), "TWICE = 'two'\n").unwrap();
    let names: Vec<String> = ["Events.REMOTE", "TWICE", "MISSING"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let got = resolve_identifiers(root, &names, &ScanSettings::default()).unwrap();
    assert_eq!(
        got["Events.REMOTE"],
        Resolution::Resolved {
            value: "remote_event".into(),
            path: "src/analytics/events.ts".into(),
            line: 1
        }
    );
    assert_eq!(
        got["TWICE"],
        Resolution::Ambiguous {
            values: vec!["one".into(), "two".into()],
            locations: vec!["src/a.py:1".into(), "src/b.py:1".into()]
        }
    );
    assert_eq!(got["MISSING"], Resolution::Unresolved);
    assert_eq!(got.len(), 3);
}

#[test]
fn sarif_has_the_2_1_0_shape() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("a.ts"),
        "posthog.capture('signup')\nposthog.capture(`x_${y}`)\n",
    )
    .unwrap();
    let report = scan(tmp.path(), &ScanSettings::default()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&render::sarif(&report)).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "kodo");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["kodo/event", "kodo/flag", "kodo/dynamic-key"]);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["ruleId"], "kodo/event");
    assert_eq!(
        results[0]["message"]["text"],
        "Captures event `signup` (posthog-js, frontend)"
    );
    let loc = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "a.ts");
    assert_eq!(loc["region"]["startLine"], 1);
    assert_eq!(loc["region"]["startColumn"], 9);
    assert_eq!(results[1]["ruleId"], "kodo/dynamic-key");
    assert_eq!(results[1]["level"], "warning");
    assert_eq!(
        results[1]["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
}

#[test]
fn markdown_lists_events_flags_and_dynamic_keys() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("a.ts"),
        "posthog.capture('signup', { plan, ...extra })\nposthog.isFeatureEnabled('beta')\nposthog.capture(name)\n",
    )
    .unwrap();
    let md = render::markdown(&scan(tmp.path(), &ScanSettings::default()).unwrap());
    assert!(
        md.contains("1 files scanned, 1 with references: 1 events, 1 flags, 1 dynamic references."),
        "{md}"
    );
    assert!(
        md.contains("| Event | Tracked on | Properties | References | First commit | PR |"),
        "{md}"
    );
    assert!(
        md.contains("| `signup` | frontend | `plan`, … | `a.ts:1` |  |  |"),
        "{md}"
    );
    assert!(
        md.contains("| `beta` | frontend | `a.ts:2` |  |  |"),
        "{md}"
    );
    assert!(md.contains("| `a.ts:3` | event | posthog-js | unresolved identifier `name` | `posthog.capture(name)` |"), "{md}");
}

#[test]
fn scan_rejects_bad_settings_and_missing_roots() {
    let bad = ScanSettings {
        wrappers: vec![Wrapper {
            call: "track".into(),
            event_arg: None,
            event_key: None,
            flag_arg: None,
            flag_key: None,
            default: None,
        }],
        ..Default::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    match scan(tmp.path(), &bad) {
        Err(ScanError::InvalidSetting { field, .. }) => assert_eq!(field, "scan.wrappers[0]"),
        other => panic!("expected an invalid setting, got {other:?}"),
    }
    assert!(matches!(
        scan(&tmp.path().join("nope"), &ScanSettings::default()),
        Err(ScanError::Root { .. })
    ));
}

#[test]
fn output_is_identical_across_runs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/constants");
    let a = render::json(&scan(&dir, &ScanSettings::default()).unwrap());
    for _ in 0..3 {
        assert_eq!(
            render::json(&scan(&dir, &ScanSettings::default()).unwrap()),
            a
        );
    }
}

/// The tokenizer and extractor never panic on cut-off input (a file being edited, a
/// partial staged hunk): every fixture source, truncated at many points, scans cleanly.
#[test]
fn truncated_sources_never_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut stack = vec![root.clone()];
    let mut checked = 0;
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let full = scan_file_text(&rel, &text, &ScanSettings::default()).len();
            let mut cut = 0;
            while cut < text.len() {
                if text.is_char_boundary(cut) {
                    let partial = scan_file_text(&rel, &text[..cut], &ScanSettings::default());
                    assert!(partial.len() <= full + 2, "{rel} cut at {cut}");
                    checked += 1;
                }
                cut += 5;
            }
        }
    }
    assert!(checked > 1000, "only {checked} prefixes checked");
}

#[test]
fn scan_file_resolved_follows_imports_then_searches_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::create_dir_all(root.join("web/a")).unwrap();
    fs::create_dir_all(root.join("web/b")).unwrap();
    fs::write(
        root.join("web/a/events.ts"),
        "export const SAME = 'a_event'\n",
    )
    .unwrap();
    fs::write(
        root.join("web/b/events.ts"),
        "export const SAME = 'b_event'\n",
    )
    .unwrap();
    fs::write(
        root.join("web/shared.ts"),
        "export const GLOBAL_ONLY = 'global_event'\n",
    )
    .unwrap();
    let text = "import { SAME } from './events'\nposthog.capture(SAME)\nposthog.capture(GLOBAL_ONLY)\nposthog.capture(NOWHERE)\n";
    let refs = kodo_scan::scan_file_resolved(root, "web/b/page.ts", text, &ScanSettings::default())
        .unwrap();
    let keys: Vec<Option<&str>> = refs.iter().map(|r| r.key.as_deref()).collect();
    assert_eq!(keys, [Some("b_event"), Some("global_event"), None]);
    assert_eq!(
        refs[2].dynamic_reason.as_deref(),
        Some("unresolved identifier `NOWHERE`")
    );
}

#[test]
fn call_names_cover_every_sdk_family() {
    let names = kodo_scan::call_names();
    for expected in [
        "capture",
        "captureImmediate",
        "isFeatureEnabled",
        "useFeatureFlagEnabled",
        "feature_enabled",
        "IsFeatureEnabledAsync",
        "Capture",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, names);
}
