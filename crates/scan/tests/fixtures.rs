//! The fixture corpus: one directory per SDK or behaviour under `tests/fixtures/`, each a
//! small repository scanned as a whole and compared exactly with its `expected.json`
//! (`render::json` output). `settings.json`, when present, is the `scan` section of
//! `.kodo/config.json`. Run with `UPDATE_EXPECT=1` to rewrite the expectations, then
//! review the diff before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use kodo_scan::{render, scan, ScanSettings};

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn check(name: &str) {
    let dir = fixture_root().join(name);
    let settings: ScanSettings = match fs::read_to_string(dir.join("settings.json")) {
        Ok(text) => serde_json::from_str(&text).unwrap(),
        Err(_) => ScanSettings::default(),
    };
    settings.validate().unwrap();
    let report = scan(&dir, &settings).unwrap();
    let actual = render::json(&report);
    let expected_path = dir.join("expected.json");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        fs::write(&expected_path, &actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&expected_path).unwrap_or_default();
    if expected != actual {
        panic!(
            "{name}: scan output differs from {}\n--- actual ---\n{actual}",
            expected_path.display()
        );
    }
}

macro_rules! fixtures {
    ($($test:ident => $dir:literal,)*) => {
        $( #[test] fn $test() { check($dir); } )*
    };
}

fixtures! {
    posthog_js => "posthog-js",
    posthog_react => "posthog-react",
    posthog_node => "posthog-node",
    posthog_python => "posthog-python",
    posthog_go => "posthog-go",
    posthog_ruby => "posthog-ruby",
    posthog_php => "posthog-php",
    posthog_java_server => "posthog-java",
    posthog_android => "posthog-android",
    posthog_ios => "posthog-ios",
    posthog_flutter => "posthog-flutter",
    posthog_dotnet => "posthog-dotnet",
    posthog_elixir => "posthog-elixir",
    posthog_rs => "posthog-rs",
    negatives_find_nothing => "negatives",
    properties_per_language => "properties",
    inline_scripts_in_pages_and_templates => "markup",
    constants_across_files => "constants",
    wrappers_from_settings => "wrappers",
    dynamic_keys_are_reported => "dynamic",
    walk_rules => "ignored",
    side_rules => "sides",
    inferred_wrappers_js => "infer-js",
    inferred_wrappers_python => "infer-python",
    inferred_wrappers_go => "infer-go",
    inferred_wrappers_other_languages => "infer-other",
    call_patterns => "patterns",
    server_marked_files => "server-files",
    lookalikes_are_not_posthog => "lookalikes",
    test_file_conventions => "test-files",
    templates_of_constants_across_files => "templates-cross",
    destructured_locals_and_parameters => "destructuring",
    same_named_wrappers_across_rounds => "infer-rounds",
    only_top_level_definitions_resolve_across_files => "locals-cross",
}

/// Every fixture directory has a test above, so a new fixture cannot be silently skipped.
#[test]
fn every_fixture_dir_is_tested() {
    let listed = include_str!("fixtures.rs");
    for entry in fs::read_dir(fixture_root()).unwrap() {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_dir() {
            continue; // README.md
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            listed.contains(&format!("=> \"{name}\"")),
            "fixture `{name}` has no test"
        );
    }
}
