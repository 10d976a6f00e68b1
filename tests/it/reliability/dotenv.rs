//! The application's own `.env` never blocks kodo: commands that need no token do not read
//! it at all, and one that needs a token reads what it can, with a warning naming the file and
//! line of each line it could not read.

use crate::common::{assert_no_tokens, TestEnv};
use crate::precommit_support::*;

/// An `.env` as applications really have them: a byte-order mark, CRLF, a multi-line PEM key,
/// `export KEY=`, a key with a dash, comments, a line without `=`, and bytes that are not UTF-8.
fn hostile_dotenv(tokens: &str) -> Vec<u8> {
    let mut text = b"\xEF\xBB\xBF# the app's settings\r\n".to_vec();
    text.extend_from_slice(
        b"APP_PRIVATE_KEY=\"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\"\n",
    );
    text.extend_from_slice(b"export EMPTY_ONE=\nMY-DASHED-KEY=value # comment\n");
    text.extend_from_slice(b"this line has no equals sign\n");
    text.extend_from_slice(b"LATIN1=caf\xE9\n");
    text.extend_from_slice(tokens.as_bytes());
    text
}

#[test]
fn a_command_that_needs_a_token_reads_it_past_every_odd_line_and_warns_with_line_numbers() {
    let env = TestEnv::start("demo");
    let tokens = format!(
        "NOTION_API_KEY={}\nPOSTHOG_PERSONAL_API_KEY={}\n",
        env.scenario.notion_token(),
        env.scenario.posthog_key()
    );
    std::fs::write(env.root().join(".env"), hostile_dotenv(&tokens)).unwrap();
    let out = env
        .kodo()
        .env_remove("NOTION_API_KEY")
        .env_remove("POSTHOG_PERSONAL_API_KEY")
        .args(["ph-sync", "status"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    let dotenv = env.root().join(".env");
    let shown = dotenv.display();
    assert!(
        stderr.contains(&format!("`{shown}`:7: not a dotenv line")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("`{shown}`:8: not valid UTF-8")),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches(&format!("`{shown}`:")).count(),
        2,
        "one warning per bad line, none for the BOM, the PEM key, `export`, the dash: {stderr}"
    );
    assert!(!stderr.contains("MIIEvQ"), "no value in a warning");
    assert_no_tokens(&env.scenario, &[&stdout, &stderr]);
}

#[test]
fn scan_and_an_unrelated_hook_do_not_read_dotenv() {
    let env = TestEnv::start("demo");
    // Unreadable as UTF-8 from the first byte: if kodo read it, it would warn.
    std::fs::write(
        env.root().join(".env"),
        b"\xFF\xFE\x00garbage\nnot a pair\n",
    )
    .unwrap();
    std::fs::write(
        env.root().join("app.js"),
        "posthog.capture('user_signed_up')\n",
    )
    .unwrap();
    let out = env.kodo().args(["scan"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains(".env"), "{stderr}");

    let unrelated = serde_json::json!({
        "session_id": "s", "transcript_path": "/t", "cwd": env.root().display().to_string(),
        "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": "ls"}
    });
    let out = env
        .kodo()
        .args(["hook", "claude"])
        .env_remove("NOTION_API_KEY")
        .write_stdin(unrelated.to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
}

#[test]
fn the_pre_commit_gate_with_a_fresh_snapshot_does_not_read_dotenv() {
    let repo = Repo::with_kodo(&["user_signed_up"], &[]);
    std::fs::write(repo.path(".env"), b"\xFF\xFE broken\nno equals\n").unwrap();
    repo.write(
        "src/app.ts",
        "import posthog from 'posthog-js'\nposthog.capture('user_signed_up')\n",
    );
    repo.git(&["add", "src/app.ts"]);
    let out = repo.hook();
    assert_code(&out, 0);
    let err = stderr(&out);
    assert!(!err.contains(".env"), "{err}");
}
