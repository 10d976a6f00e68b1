//! Fuzzing with a small budget, run with every `cargo test` (CI included): the hook's stdin,
//! the config loader, the `.env` reader and the scanner's per-file pass (tokenizer and call
//! extraction) get arbitrary and near-valid inputs, and must never panic; their failures are
//! typed errors with a message. `PROPTEST_CASES` raises the budget for a longer local run.

use std::path::Path;

use kodo::config::{Config, Env};
use kodo::hooks::claude::parse_input;
use proptest::prelude::*;

fn budget() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text that is often close to the real thing: fragments of valid inputs joined by noise.
fn near(fragments: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(fragments).prop_map(str::to_string),
            1 => any::<String>(),
            1 => "[{}\\[\\]\":,=#'\n\\\\ ]{0,8}",
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

const HOOK: &[&str] = &[
    r#"{"hook_event_name": "PreToolUse", "tool_name": "mcp__posthog__create-feature-flag", "tool_input": {"key": "k"}}"#,
    r#"{"hook_event_name": "PostToolUse", "tool_name": "mcp__posthog__exec", "tool_input": {"command": "create-feature-flag"}, "tool_response": [{"type": "text", "text": "{\"key\": \"a\"}"}]}"#,
    r#""tool_name": "mcp__plugin_posthog_posthog__insight-create-from-query""#,
    r#""tool_input": {"name": "x", "key": null}"#,
    r#""cwd": "/tmp""#,
    "{",
    "}",
    "\"\\u0000\"",
];

const CONFIG: &[&str] = &[
    r#"{"posthog": {"project_id": "1"}, "notion": {}}"#,
    r#""rateLimit": 1e-9"#,
    r#""rateLimit": {"requestsPerWindow": 18446744073709551616, "windowSeconds": 1e308}"#,
    r#""sync": {"snapshot_max_age_hours": -1e308, "cleanup_after_days": 1.5}"#,
    r#""scan": {"wrappers": [{"call": "", "event_arg": 4294967296}]}"#,
    r#""baseUrl": "http://example.com""#,
    r#""databases": {"events": 1}"#,
    "{",
    "}",
    ",",
];

const DOTENV: &[&str] = &[
    "KEY=value\n",
    "export A=\n",
    "B=\"multi\nline\"\n",
    "C='x",
    "MY-KEY=1 # c\n",
    "\u{feff}",
    "${UNSET_VAR}",
    "=\n",
    "\r\n",
    "\\",
];

const CODE: &[&str] = &[
    "posthog.capture('evt', {a: 1})\n",
    "posthog.isFeatureEnabled(`flag-${x}`)\n",
    "/* unterminated",
    "\"unterminated",
    "`${ `${ nested } ` }`",
    "r#\"raw\"#",
    "'''",
    "<<EOF\n",
    "analytics.track(\"e\")\n",
    "\u{1b}[2J",
];

proptest! {
    #![proptest_config(budget())]

    #[test]
    fn hook_stdin_never_panics(text in near(HOOK)) {
        if let Err(e) = parse_input(&text) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn the_config_loader_never_panics(text in near(CONFIG)) {
        if let Err(e) = Config::parse(Path::new("/repo/.kodo/config.json"), &text, Env::default()) {
            // Every error names the file.
            prop_assert!(e.to_string().contains("/repo/.kodo/config.json"), "{}", e);
        }
    }

    #[test]
    fn the_dotenv_reader_never_panics(text in near(DOTENV), noise in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(&noise);
        let parsed = kodo::dotenv::parse(Path::new("/repo/.env"), &bytes);
        for w in &parsed.warnings {
            prop_assert!(w.starts_with("`/repo/.env`"), "{}", w);
        }
    }

    #[test]
    fn the_scanner_never_panics(
        text in near(CODE),
        ext in prop::sample::select(&["ts", "js", "tsx", "py", "rb", "go", "rs", "java", "kt", "swift", "php", "ex", "dart", "cs", "vue", "svelte"][..]),
    ) {
        let settings = kodo_scan::ScanSettings::default();
        let _ = kodo_scan::scan_file_text(&format!("src/file.{ext}"), &text, &settings);
    }
}
