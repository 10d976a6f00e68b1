//! Everyday behaviour (issue 13 item 5): `-q` prints only errors, a connection that cannot be
//! made fails at once with the host and the fix, read-only commands leave a committed `.kodo/`
//! clean in `git status`, a re-run that changes nothing rewrites no file, and the exit codes are
//! one table.

use std::process::Command;

use crate::common::TestEnv;

fn git(env: &TestEnv, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(env.root())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn quiet_prints_only_errors() {
    let env = TestEnv::start("demo");
    git(&env, &["init", "-q", "-b", "main"]);
    std::fs::write(
        env.root().join("app.ts"),
        "posthog.capture('only_in_code')\n",
    )
    .unwrap();
    for args in [
        &["ph-sync", "-q"][..],
        &["ph-sync", "status", "-q"],
        &["ph-sync", "audit", "-q"],
        &["ph-sync", "import", "--dry-run", "-q"],
        &["scan", "-q"],
        &["ph-sync", "setup", "-q"],
        &["ph-sync", "export", "-q"],
        &["ph-sync", "import", "-q"],
        &["snapshot", "refresh", "-q"],
        &["doctor", "-q"],
        &["hooks", "install", "-q"],
        &["ph-sync", "document", "flag", "release_quiet_check", "-q"],
    ] {
        let out = env.kodo().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
    // The exit code still says the result, and asked-for machine output is still written.
    env.kodo()
        .args(["ph-sync", "audit", "--check", "-q"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("");
    let out = env
        .kodo()
        .args(["ph-sync", "status", "-q", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    // An error is still an error.
    let out = env
        .kodo()
        .args(["ph-sync", "status", "-q"])
        .env_remove("NOTION_API_KEY")
        .env("NOTION_API_KEY", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error: "),
        "{out:?}"
    );
}

#[test]
fn a_refused_connection_fails_at_once_naming_the_host_and_the_setting() {
    let env = TestEnv::start("demo");
    let mut config = env.config();
    // Port 1: nothing listens there (outside the range test servers bind in).
    config["notion"]["baseUrl"] = "http://127.0.0.1:1".into();
    env.write_config(&config);
    let out = env.kodo().args(["ph-sync", "status"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("127.0.0.1:1 refused the connection")
            && stderr.contains("check notion.baseUrl")
            && stderr.contains("after 1 attempt"),
        "{stderr}"
    );
}

#[test]
fn read_only_commands_leave_a_committed_kodo_directory_clean() {
    let env = TestEnv::start("demo");
    git(&env, &["init", "-q", "-b", "main"]);
    // The first run writes the snapshot and the state; the team commits them.
    env.kodo().args(["ph-sync", "status"]).assert().code(0);
    git(&env, &["add", "-A"]);
    git(&env, &["commit", "-q", "--no-verify", "-m", "kodo"]);
    assert!(env.root().join(".kodo/snapshot.json").exists());
    assert!(env.root().join(".kodo/state.json").exists());
    // A second apart at least, so a rewritten timestamp would differ.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for args in [
        &["ph-sync"][..],
        &["ph-sync", "status"],
        &["ph-sync", "audit"],
        &["ph-sync", "audit", "flags", "--format", "json"],
        &["ph-sync", "export", "--format", "json"],
        &["ph-sync", "export", "flags", "--format", "csv"],
        &["snapshot", "refresh"],
        &["scan"],
        &["scan", "--check"],
        &["doctor"],
    ] {
        let code = env.kodo().args(args).output().unwrap().status.code();
        assert!(matches!(code, Some(0 | 1)), "{args:?}: {code:?}");
        assert_eq!(git(&env, &["status", "--porcelain"]), "", "after {args:?}");
    }
    // A change in Notion is written, of course.
    env.kodo()
        .args(["ph-sync", "import", "flags"])
        .assert()
        .code(0);
    let status = git(&env, &["status", "--porcelain"]);
    assert!(status.contains(".kodo/snapshot.json"), "{status}");
}

/// Every file kodo writes, with its inode and modification time: a rewrite, even with the
/// same bytes, changes the inode (kodo writes by renaming a new file into place).
fn written_files(env: &TestEnv) -> Vec<(String, u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt as _;
    let mut paths: Vec<std::path::PathBuf> = [
        ".kodo/config.json",
        ".kodo/state.json",
        ".kodo/snapshot.json",
        ".gitignore",
        ".git/hooks/pre-commit",
        ".claude/settings.json",
    ]
    .iter()
    .map(|p| env.root().join(p))
    .collect();
    for dir in [".kodo/export", ".kodo/cache"] {
        for entry in std::fs::read_dir(env.root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            // The record of when the snapshot was last confirmed (git-ignored, in the cache):
            // its content is that time, so a check that confirms it is a change of content.
            if !path.ends_with("snapshot-verified") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let meta =
                std::fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let shown = path.strip_prefix(env.root()).unwrap().display().to_string();
            (shown, meta.ino(), meta.modified().unwrap())
        })
        .collect()
}

/// Issue 13 item 5: "files are rewritten only when their content (not just a timestamp)
/// changes", for every file kodo writes: the config (setup), the state and the snapshot
/// (every command that reads Notion), the exports, the scan cache, `.gitignore`, the git hook
/// and the Claude settings. A second round of the same commands, with nothing changed
/// anywhere, leaves each of them as it was (inode and modification time); a change in Notion
/// rewrites the files that hold it.
#[test]
fn a_rerun_that_changes_nothing_rewrites_no_file() {
    let env = TestEnv::start("demo");
    git(&env, &["init", "-q", "-b", "main"]);
    std::fs::write(
        env.root().join("app.ts"),
        "posthog.capture('only_in_code')\n",
    )
    .unwrap();
    // Written a minute ago: a file changed just before a scan is checked again by content
    // (the cache's racily-clean rule), and that first confirmation is news the cache records.
    std::fs::File::options()
        .write(true)
        .open(env.root().join("app.ts"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(60))
        .unwrap();
    let round: &[&[&str]] = &[
        &["ph-sync", "setup"],
        &["ph-sync", "import", "all"],
        &["ph-sync", "export"],
        &["snapshot", "refresh"],
        &["hooks", "install"],
        &["hooks", "install", "--claude-settings"],
        // Last, so the cache's record of the walk has the directories as the others left them.
        &["scan"],
    ];
    for args in round {
        let out = env.kodo().args(*args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let before = written_files(&env);
    assert!(
        before.iter().any(|(p, ..)| p.ends_with("flags.json"))
            && before.iter().any(|(p, ..)| p.ends_with(".bin")),
        "{before:?}"
    );
    // Later than the file system's timestamp granularity, so a rewrite shows in the times too.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let reads: &[&[&str]] = &[&["ph-sync", "status"], &["ph-sync", "audit"], &["doctor"]];
    for args in round.iter().chain(reads) {
        let code = env.kodo().args(*args).output().unwrap().status.code();
        assert!(matches!(code, Some(0 | 1)), "{args:?}: {code:?}");
        assert_eq!(written_files(&env), before, "after {args:?}");
    }
    // A new row in Notion is new content: the export that holds it is rewritten.
    env.kodo()
        .args(["ph-sync", "document", "flag", "release_rewrite_check"])
        .assert()
        .code(0);
    env.kodo().args(["ph-sync", "export"]).assert().code(0);
    let after = written_files(&env);
    let changed: Vec<&String> = after
        .iter()
        .zip(&before)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| &a.0)
        .collect();
    assert!(
        changed.iter().any(|p| p.ends_with("export/flags.json"))
            && changed.iter().any(|p| p.ends_with("export/flags.csv"))
            && !changed.iter().any(|p| p.ends_with("export/events.json")),
        "{changed:?}"
    );
}

/// The exit-code table is derived from the code: every outcome's code and the error code are
/// rows of `kodo::exit::CODES`, every row is one of them, and the README's table and every
/// command's `--help` are that table, word for word.
#[test]
fn the_readme_and_help_list_the_same_exit_codes() {
    use kodo::cmd::Outcome;
    use kodo::exit::{CODES, ERROR};
    // What the code can exit with: each outcome, an error (kodo's or clap's usage error), Ctrl-C.
    let usage = kodo::cli::Cli::try_parse_checked(["kodo", "ph-sync", "frobnicate"]).unwrap_err();
    let mut produced: Vec<u8> = Outcome::ALL.iter().map(|o| o.code()).collect();
    produced.extend([ERROR, u8::try_from(usage.exit_code()).unwrap()]);
    produced.sort_unstable();
    produced.dedup();
    let table: Vec<u8> = CODES.iter().map(|c| c.code).collect();
    assert_eq!(
        produced, table,
        "a code the table lacks, or a row no code produces"
    );

    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    // The section up to the next heading: the one table, not any table after it.
    let section = readme.split("### Exit codes").nth(1).unwrap();
    let section = section.split("\n#").next().unwrap();
    let readme_rows: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| code "))
        .collect();
    assert_eq!(
        readme_rows,
        kodo::exit::markdown_rows(),
        "README.md's exit-code table"
    );

    // `kodo --help` and each command's `--help` end with the table.
    let help = kodo::exit::help(92);
    let mut commands = vec![vec![]];
    let cli = <kodo::cli::Cli as clap::CommandFactory>::command();
    for sub in cli.get_subcommands().filter(|c| c.get_name() != "help") {
        commands.push(vec![sub.get_name().to_string()]);
        for leaf in sub.get_subcommands().filter(|c| c.get_name() != "help") {
            commands.push(vec![
                sub.get_name().to_string(),
                leaf.get_name().to_string(),
            ]);
        }
    }
    for args in commands {
        let out = assert_cmd::Command::cargo_bin("kodo")
            .unwrap()
            .args(&args)
            .arg("--help")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.trim_end().ends_with(&help),
            "kodo {args:?} --help:\n{text}"
        );
    }
    // Garbage on `kodo hook claude`'s stdin is the documented exit 1, never a panic.
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("kodo")
        .unwrap()
        .current_dir(dir.path())
        .args(["hook", "claude"])
        .write_stdin("not json at all")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot read the hook input"),
        "{out:?}"
    );
}
