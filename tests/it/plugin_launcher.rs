//! `plugin/kodo-launcher`, the POSIX sh script the plugin's hooks run: which kodo binary it
//! picks, that arguments, stdin and the exit code pass through, and that a missing binary is
//! exit 2 with the command that builds it (never a silent pass).
#![cfg(unix)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const HOOK_JSON: &str = r#"{"hook_event_name":"PreToolUse","tool_name":"mcp__posthog__exec","tool_input":{"command":"call create-feature-flag {\"key\": \"release_x\", \"name\": \"Release X\"}"}}"#;

fn launcher() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plugin/kodo-launcher")
}

/// Writes an executable fake kodo at `path` that records its name, arguments and stdin in
/// `<path>.args` / `<path>.stdin` and exits with `$FAKE_EXIT` (default 0).
fn fake_kodo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let script = format!(
        "#!/bin/sh\nPATH=/usr/bin:/bin\nprintf '%s\\n' \"$@\" > '{p}.args'\ncat > '{p}.stdin'\nexit \"${{FAKE_EXIT:-0}}\"\n",
        p = path.display()
    );
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn recorded(path: &Path) -> Option<(String, String)> {
    let args = std::fs::read_to_string(format!("{}.args", path.display())).ok()?;
    let stdin = std::fs::read_to_string(format!("{}.stdin", path.display())).ok()?;
    Some((args, stdin))
}

/// Runs `sh <launcher> hook claude` with only the given environment, as Claude Code's hook does.
fn run(launcher: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg(launcher)
        .args(["hook", "claude"])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let written = child.stdin.take().unwrap().write_all(HOOK_JSON.as_bytes());
    // When no binary is found the launcher exits without reading stdin.
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn kodo_bin_receives_the_arguments_and_the_hook_json() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("custom/kodo");
    fake_kodo(&bin);
    let out = run(
        &launcher(),
        &[("KODO_BIN", bin.to_str().unwrap()), ("PATH", "")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (args, stdin) = recorded(&bin).expect("KODO_BIN was not run");
    assert_eq!(args, "hook\nclaude\n");
    assert_eq!(stdin, HOOK_JSON);
}

#[test]
fn the_binarys_exit_code_is_the_hooks_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("kodo");
    fake_kodo(&bin);
    for code in ["0", "1", "2"] {
        let out = run(
            &launcher(),
            &[("KODO_BIN", bin.to_str().unwrap()), ("FAKE_EXIT", code)],
        );
        assert_eq!(out.status.code(), Some(code.parse().unwrap()));
    }
}

#[test]
fn kodo_bin_wins_over_path_and_path_over_the_plugin_build() {
    let tmp = tempfile::tempdir().unwrap();
    let explicit = tmp.path().join("explicit/kodo");
    let on_path = tmp.path().join("bin/kodo");
    let root = tmp.path().join("plugin-root");
    let built = root.join("target/release/kodo");
    for bin in [&explicit, &on_path, &built] {
        fake_kodo(bin);
    }
    let path_dir = on_path.parent().unwrap().to_str().unwrap();
    let root_str = root.to_str().unwrap();

    run(
        &launcher(),
        &[
            ("KODO_BIN", explicit.to_str().unwrap()),
            ("PATH", path_dir),
            ("CLAUDE_PLUGIN_ROOT", root_str),
        ],
    );
    assert!(recorded(&explicit).is_some());
    assert!(recorded(&on_path).is_none() && recorded(&built).is_none());

    run(
        &launcher(),
        &[("PATH", path_dir), ("CLAUDE_PLUGIN_ROOT", root_str)],
    );
    assert!(recorded(&on_path).is_some());
    assert!(recorded(&built).is_none());

    let out = run(
        &launcher(),
        &[("PATH", ""), ("CLAUDE_PLUGIN_ROOT", root_str)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (args, stdin) = recorded(&built).expect("the plugin's own build was not run");
    assert_eq!(args, "hook\nclaude\n");
    assert_eq!(stdin, HOOK_JSON);
}

#[test]
fn plugin_root_comes_from_the_scripts_own_path_when_unset() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("cache/kodo-dev/kodo/0.1.0");
    let copy = root.join("plugin/kodo-launcher");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    // Installed copies may lose the exec bit; `sh <script>` does not need it.
    std::fs::copy(launcher(), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).unwrap();
    let built = root.join("target/release/kodo");
    fake_kodo(&built);

    let out = run(&copy, &[("PATH", "")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(recorded(&built).is_some());
}

#[test]
fn no_binary_is_exit_2_with_the_build_command() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("plugin-root");
    std::fs::create_dir_all(&root).unwrap();
    let out = run(
        &launcher(),
        &[("PATH", ""), ("CLAUDE_PLUGIN_ROOT", root.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim_end(),
        format!(
            "kodo binary not found; build it with: cargo build --release --manifest-path {}/Cargo.toml",
            root.display()
        )
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn no_binary_message_quotes_a_root_with_spaces() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("Application Support/kodo");
    let copy = root.join("plugin/kodo-launcher");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(launcher(), &copy).unwrap();
    let out = run(&copy, &[("PATH", "")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!(
            "--manifest-path \"{}/Cargo.toml\"",
            root.canonicalize().unwrap().display()
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_kodo_bin_that_is_not_executable_is_an_error_not_a_fallback() {
    let tmp = tempfile::tempdir().unwrap();
    let on_path = tmp.path().join("bin/kodo");
    fake_kodo(&on_path);
    let missing = tmp.path().join("nowhere/kodo");
    let out = run(
        &launcher(),
        &[
            ("KODO_BIN", missing.to_str().unwrap()),
            ("PATH", on_path.parent().unwrap().to_str().unwrap()),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("KODO_BIN"), "{}", stderr(&out));
    assert!(stderr(&out).contains(missing.to_str().unwrap()));
    assert!(recorded(&on_path).is_none(), "fell back to PATH");
}
