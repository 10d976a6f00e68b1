//! Shared helpers for the pre-commit gate's tests: a temporary git repository with a local
//! identity and no global or system git configuration, a kodo config, a snapshot, and the real
//! `kodo` binary run inside it.
//!
//! Invariant: nothing here reaches the network. Notion's base URL is a loopback port that was
//! just closed, unless a test starts the emulator and passes its URL.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{json, Value};

/// The variable the test configs name for the Notion token.
pub const TOKEN_VAR: &str = "KODO_TEST_PRECOMMIT_NOTION_TOKEN";

pub struct Repo {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

/// A loopback URL on which nothing listens: port 1, outside the ephemeral range every test
/// server binds in (a port freed by dropping a listener could be taken by a parallel test's
/// emulator).
pub fn closed_port_url() -> String {
    "http://127.0.0.1:1".to_string()
}

/// An RFC 3339 timestamp `hours` ago.
pub fn hours_ago(hours: i64) -> String {
    let at = time::OffsetDateTime::now_utc() - time::Duration::hours(hours);
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

pub fn kodo_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("kodo")
}

fn isolate(cmd: &mut Command) {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .env_remove("KODO_SKIP")
        .env_remove("KODO_BIN")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("NOTION_API_KEY")
        .env_remove(TOKEN_VAR);
}

impl Repo {
    /// `git init` with a local identity, on branch `main`.
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).expect("mkdir");
        let repo = Repo { _dir: dir, root };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.name", "Test User"]);
        repo.git(&["config", "user.email", "test@example.com"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    /// A repository with a kodo config (Notion on a closed port) and a fresh snapshot that
    /// documents `events` and `flags`, all committed.
    pub fn with_kodo(events: &[&str], flags: &[&str]) -> Repo {
        let repo = Repo::new();
        repo.config(&closed_port_url(), json!({}));
        repo.snapshot(&hours_ago(0), events, flags);
        repo.write("README.md", "demo\n");
        repo.commit_all("initial");
        repo
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).expect("read")
    }

    /// `.kodo/config.json` with Notion at `notion_url` and `sync` merged over the defaults.
    pub fn config(&self, notion_url: &str, sync: Value) {
        let config = json!({
            "posthog": {"project_id": "1"},
            "notion": {
                "tokenEnvVar": TOKEN_VAR,
                "baseUrl": notion_url,
                "databases": {"events": "0000000000004000800000000000e001", "feature_flags": "0000000000004000800000000000f001"}
            },
            "sync": sync,
        });
        self.write_json(".kodo/config.json", &config);
    }

    pub fn write_json(&self, rel: &str, value: &Value) {
        self.write(rel, &serde_json::to_string_pretty(value).expect("json"));
    }

    pub fn snapshot(&self, generated_at: &str, events: &[&str], flags: &[&str]) {
        self.write_json(
            ".kodo/snapshot.json",
            &json!({
                "version": 1,
                "generated_at": generated_at,
                "events": events,
                "flags": flags,
                "experiments": [{"name": "Checkout copy", "flag_key": "exp-checkout-copy"}],
                "dashboards": []
            }),
        );
    }

    pub fn git_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(&self.root);
        isolate(&mut cmd);
        cmd
    }

    /// Runs git and returns its stdout; panics with its stderr when it fails.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_cmd(args).output().expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--no-verify", "-m", message]);
    }

    /// The `kodo` binary, in this repository, isolated from the caller's environment.
    pub fn kodo(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(kodo_bin());
        cmd.args(args).current_dir(&self.root);
        isolate(&mut cmd);
        cmd
    }

    /// `kodo hook pre-commit`.
    pub fn hook(&self) -> Output {
        self.kodo(&["hook", "pre-commit"])
            .output()
            .expect("run kodo")
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts the exit code, showing both streams when it differs.
pub fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit {code}\n--- stdout\n{}\n--- stderr\n{}",
        stdout(out),
        stderr(out)
    );
}

/// `PATH` with the directory of the `kodo` under test first.
pub fn path_with_kodo() -> String {
    let bin = kodo_bin();
    let dir = bin.parent().expect("the kodo binary has a directory");
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}
