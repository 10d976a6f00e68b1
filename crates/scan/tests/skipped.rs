//! Nothing is skipped in silence: every source file the scan does not read is in the report
//! with its reason; the minified heuristic does not mistake a hand-written file with one long
//! string line (an inlined data URI) for minified code; and enormous configured names cost
//! linear time.

use std::fs;
use std::path::Path;

use kodo_scan::{render, scan, skip_reason, Kind, ScanSettings, SkipReason, Skipped};

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// A hand-written file of `lines` short lines with one capture, and `long` inserted as line 100.
fn hand_written(lines: usize, long: &str) -> String {
    let mut out = String::new();
    for i in 0..lines {
        if i == 100 {
            out.push_str(long);
            out.push('\n');
        }
        out.push_str(&format!(
            "export function helper{i}(value) {{ return value + {i} }}\n"
        ));
    }
    out.push_str("posthog.capture('logo_viewed')\n");
    out
}

fn minified() -> String {
    let mut line = String::new();
    for i in 0..800 {
        line.push_str(&format!("var a{i}=function(b,c){{return b+c*{i}}};"));
    }
    line.push_str("posthog.capture('in_bundle');");
    line
}

#[test]
fn each_kind_of_skipped_file_is_reported_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "src/ok.ts", b"posthog.capture('fine')\n");
    write(root, "src/bundle.js", minified().as_bytes());
    let mut big = b"posthog.capture('huge')\n".to_vec();
    big.resize(8 * 1024 * 1024 + 10, b' ');
    write(root, "src/generated.ts", &big);
    write(root, "src/data.js", b"posthog.capture('x')\0\x01\x02");
    // A minified file without any call name has nothing to find: not a skip.
    let mut plain = String::new();
    for i in 0..400 {
        plain.push_str(&format!("var a{i}=function(b,c){{return b+c*{i}}};"));
    }
    write(root, "src/vendor.js", plain.as_bytes());

    let report = scan(root, &ScanSettings::default()).unwrap();
    assert_eq!(
        report.skipped,
        vec![
            Skipped {
                path: "src/bundle.js".into(),
                reason: SkipReason::Minified
            },
            Skipped {
                path: "src/data.js".into(),
                reason: SkipReason::Binary
            },
            Skipped {
                path: "src/generated.ts".into(),
                reason: SkipReason::TooLarge
            },
        ]
    );
    assert_eq!(report.files_scanned, 2, "ok.ts and vendor.js were read");
    let keys: Vec<&str> = report.keys.iter().map(|k| k.key.as_str()).collect();
    assert_eq!(keys, ["fine"]);

    let json: serde_json::Value = serde_json::from_str(&render::json(&report)).unwrap();
    assert_eq!(json["skipped"][0]["path"], "src/bundle.js");
    assert_eq!(json["skipped"][0]["reason"], "minified");
    assert_eq!(json["skipped"][2]["reason"], "too_large");
    let md = render::markdown(&report);
    assert!(
        md.contains("3 source files not scanned: 1 minified, 1 too large (over 8 MiB), 1 binary."),
        "{md}"
    );
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_reported() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/secret.py", b"posthog.capture('x')\n");
    let path = dir.path().join("src/secret.py");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::File::open(&path).is_ok() {
        // Running as root: permissions do not stop reading, so there is nothing to observe.
        return;
    }
    let report = scan(dir.path(), &ScanSettings::default()).unwrap();
    assert_eq!(
        report.skipped,
        vec![Skipped {
            path: "src/secret.py".into(),
            reason: SkipReason::Unreadable
        }]
    );
}

#[test]
fn a_hand_written_file_with_a_data_uri_line_is_scanned() {
    let data_uri = format!(
        "const LOGO = \"data:image/png;base64,{}\";",
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==".repeat(220)
    );
    assert!(data_uri.len() > 21_000);
    let text = hand_written(205, &data_uri);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "web/logo.js", text.as_bytes());
    let report = scan(dir.path(), &ScanSettings::default()).unwrap();
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.keys.len(), 1);
    assert_eq!(
        (report.keys[0].kind, report.keys[0].key.as_str()),
        (Kind::Event, "logo_viewed")
    );
    assert_eq!(
        skip_reason("web/logo.js", text.as_bytes(), &ScanSettings::default()),
        None
    );
    // A template literal and a PEM key in Python triple quotes are data too.
    let pem = format!(
        "KEY = \"\"\"{}\"\"\"",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC".repeat(800)
    );
    let text = hand_written(150, &pem);
    assert_eq!(
        skip_reason("app/keys.py", text.as_bytes(), &ScanSettings::default()),
        None
    );
    // The same long line made of code, not string, is minified.
    let text = hand_written(205, &minified());
    assert_eq!(
        skip_reason("web/logo.js", text.as_bytes(), &ScanSettings::default()),
        Some(SkipReason::Minified)
    );
}

#[test]
fn skip_reason_knows_only_source_files() {
    let settings = ScanSettings::default();
    assert_eq!(skip_reason("README.md", b"\0\0", &settings), None);
    assert_eq!(
        skip_reason("a.go", b"\0\0", &settings),
        Some(SkipReason::Binary)
    );
    assert_eq!(skip_reason("a.go", b"package a\n", &settings), None);
}

/// A wrapper name of 200,000 characters once cost quadratic time to compile (16,000
/// characters took seconds, 100,000 over 30 s). This finishes in well under a second; the test
/// asserts only the result, never a duration.
#[test]
fn an_enormous_wrapper_name_costs_linear_time() {
    let name = "a".repeat(200_000);
    let settings: ScanSettings = serde_json::from_value(serde_json::json!({
        "wrappers": [
            { "call": format!("x.{name}"), "event_arg": 0 },
            { "call": "aaaaaaa", "event_arg": 0 },
        ]
    }))
    .unwrap();
    settings.validate().unwrap();
    let text = "aaaaaaa('short_wrapper')\nposthog.capture('y')\n";
    let refs = kodo_scan::scan_file_text("a.js", text, &settings);
    let keys: Vec<_> = refs.iter().filter_map(|r| r.key.as_deref()).collect();
    assert_eq!(keys, ["short_wrapper", "y"]);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.js", text.as_bytes());
    let report = scan(dir.path(), &settings).unwrap();
    assert_eq!(report.keys.len(), 2);
}
