//! Nothing skipped in silence: `kodo scan` counts the files it could not read (and lists them
//! with `-v` and in the JSON); the pre-commit gate names every staged file it could not scan,
//! and blocks on one under `sync.strict_offline`.

use crate::precommit_support::*;
use serde_json::{json, Value};

fn minified_with_capture() -> String {
    let mut line = String::new();
    for i in 0..800 {
        line.push_str(&format!("var a{i}=function(b,c){{return b+c*{i}}};"));
    }
    line.push_str("posthog.capture('hidden_in_bundle');");
    line
}

#[test]
fn scan_counts_skipped_files_and_lists_them_with_verbose() {
    let repo = Repo::with_kodo(&[], &[]);
    repo.write("web/bundle.js", &minified_with_capture());
    repo.write("web/ok.ts", "posthog.capture('seen')\n");
    let out = repo.kodo(&["scan", "--no-git"]).output().unwrap();
    assert_code(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("warning: 1 source file not scanned: 1 minified. Run with -v to list them."),
        "{err}"
    );
    assert!(!err.contains("web/bundle.js"), "{err}");
    assert!(stdout(&out).contains("1 source file not scanned: 1 minified."));

    let out = repo.kodo(&["scan", "--no-git", "-v"]).output().unwrap();
    assert!(
        stderr(&out).contains("  web/bundle.js  minified"),
        "{}",
        stderr(&out)
    );

    let out = repo
        .kodo(&["scan", "--no-git", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["skipped"],
        json!([{"path": "web/bundle.js", "reason": "minified"}])
    );
}

#[test]
fn the_gate_names_a_staged_file_it_cannot_scan() {
    let repo = Repo::with_kodo(&[], &[]);
    repo.write("web/bundle.js", &minified_with_capture());
    repo.write("web/blob.ts", "posthog.capture('x')\0\0");
    repo.git(&["add", "web"]);
    let out = repo.hook();
    assert_code(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("warning: web/bundle.js was not scanned for events and flags: minified (not blocking: sync.strict_offline is off)"),
        "{err}"
    );
    assert!(
        err.contains("warning: web/blob.ts was not scanned for events and flags: binary"),
        "{err}"
    );

    let out = repo
        .kodo(&["hook", "pre-commit", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["blocked"], false);
    assert_eq!(v["unscanned"][1]["path"], "web/bundle.js");
    assert_eq!(v["unscanned"][1]["reason"], "minified");
}

#[test]
fn the_gate_blocks_on_an_unscanned_file_in_strict_mode() {
    let repo = Repo::new();
    repo.config(&closed_port_url(), json!({"strict_offline": true}));
    repo.snapshot(&hours_ago(0), &[], &[]);
    repo.commit_all("initial");
    repo.write("web/bundle.js", &minified_with_capture());
    repo.git(&["add", "web"]);
    let out = repo.hook();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("cannot go in as is"), "{err}");
    assert!(err.contains("  web/bundle.js  minified"), "{err}");
    assert!(err.contains("KODO_SKIP=1 git commit"), "{err}");
}

#[test]
fn control_characters_in_file_names_are_escaped() {
    let repo = Repo::with_kodo(&[], &[]);
    repo.write("web/evil\u{1b}[2Jname.js", "posthog.capture('from_evil')\n");
    let out = repo.kodo(&["scan", "--no-git"]).output().unwrap();
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("web/evil\\u{1b}[2Jname.js:1"), "{text}");
    // The `--check` failure list on stderr too.
    let out = repo
        .kodo(&["scan", "--no-git", "--check"])
        .output()
        .unwrap();
    assert_code(&out, 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert!(err.contains("web/evil\\u{1b}[2Jname.js:1"), "{err}");
}
