//! Snapshot tests (insta) of every output a person or a machine reads: the real `kodo` binary
//! against the emulator, as the other end-to-end tests run it ([`crate::common`]).
//!
//! One snapshot per invocation: the exit code, stdout (JSON pretty-printed after it parsed,
//! so a snapshot of JSON is also a check that it is JSON) and stderr. What changes from run to
//! run is filtered: the project's temporary directory, the emulator's port, timestamps, today's
//! date, durations and Notion's page IDs. The `.snap` files live in `files/`.
//!
//! A change to an output shows up as a failing test with a diff. When the change is intended,
//! update the snapshots (`INSTA_UPDATE=always cargo test --test it snapshots`, or
//! `cargo insta review` with cargo-insta) and commit them with the change. Under `CI=true`
//! insta never writes a snapshot and fails on any difference.

mod bad_config;
mod doctor;
mod document;
mod errors;
mod hooks;
mod ph_sync;
mod scan;

use std::path::Path;

use assert_cmd::Command;

/// What one run printed.
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// The text a snapshot holds: exit code, stdout, stderr.
    pub fn render(&self) -> String {
        let stdout = match serde_json::from_str::<serde_json::Value>(&self.stdout) {
            Ok(value) if self.stdout.trim_start().starts_with(['{', '[']) => {
                serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
            }
            _ => self.stdout.clone(),
        };
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code.map_or("signal".to_string(), |c| c.to_string()),
            stdout,
            self.stderr
        )
    }
}

/// Runs `cmd` and returns what it printed; a panic is never an output.
pub fn run(cmd: &mut Command) -> Out {
    from_output(cmd.output().expect("run kodo"))
}

/// [`run`] for a plain `std` command.
pub fn run_std(cmd: &mut std::process::Command) -> Out {
    from_output(cmd.output().expect("run kodo"))
}

fn from_output(out: std::process::Output) -> Out {
    let out = Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out
}

/// insta's settings for outputs of a run in `root`: snapshots in `files/`, and the filters
/// that make them stable.
pub fn settings(root: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("files");
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    for dir in [root.to_path_buf(), root.canonicalize().unwrap_or_default()] {
        let text = dir.display().to_string();
        let text = text.trim_end_matches('/');
        if text.len() > 1 {
            s.add_filter(&regex_escape(text), "[ROOT]");
        }
    }
    let today = kodo::snapshot::now_rfc3339();
    let today = today.get(..10).unwrap_or_default().to_string();
    s.add_filter(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})",
        "[TIMESTAMP]",
    );
    s.add_filter(&regex_escape(&today), "[TODAY]");
    s.add_filter(r"(127\.0\.0\.1|localhost):\d+", "$1:[PORT]");
    s.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[UUID]",
    );
    s.add_filter(r"\b[0-9a-f]{32}\b", "[ID]");
    s.add_filter(r"\b\d+(\.\d+)? ?(ms|s)\b", "[DURATION]");
    s.add_filter(r"\(os error \d+\)", "(os error [N])");
    s
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Asserts the snapshot `name` of `out`, with [`settings`] for `root`.
pub fn check(name: &str, root: &Path, out: &Out) {
    settings(root).bind(|| insta::assert_snapshot!(name, out.render()));
}
