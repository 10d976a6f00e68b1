//! `kodo hooks install`: the git hook (where git looks for it, never over a hook kodo did not
//! write unless --force, idempotent) and `--claude-settings`.

use std::os::unix::fs::PermissionsExt;

use crate::precommit_support::*;

const MARKER: &str = "# kodo-managed-hook v1";

fn install(repo: &Repo, args: &[&str]) -> std::process::Output {
    let mut all = vec!["hooks", "install"];
    all.extend_from_slice(args);
    repo.kodo(&all).output().expect("run kodo")
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn writes_an_executable_hook_that_runs_kodo() {
    let repo = Repo::with_kodo(&["user_signed_up"], &[]);
    let out = install(&repo, &[]);
    assert_code(&out, 0);
    let hook = repo.path(".git/hooks/pre-commit");
    let text = std::fs::read_to_string(&hook).unwrap();
    assert!(
        text.starts_with("#!/bin/sh\n# kodo-managed-hook v1\n"),
        "{text}"
    );
    assert_eq!(mode(&hook), 0o755);
    assert!(stderr(&out).contains("installed"), "{}", stderr(&out));

    // The hook itself runs kodo: through KODO_BIN here, and blocks an undocumented event.
    repo.write("src/a.ts", "posthog.capture('not_documented_yet')\n");
    repo.git(&["add", "."]);
    let out = repo
        .git_cmd(&["commit", "-q", "-m", "x"])
        .env("KODO_BIN", kodo_bin())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("`not_documented_yet`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn without_kodo_on_path_the_hook_says_so_and_lets_the_commit_through() {
    let repo = Repo::with_kodo(&[], &[]);
    assert_code(&install(&repo, &[]), 0);
    repo.write("src/a.ts", "posthog.capture('not_documented_yet')\n");
    repo.git(&["add", "."]);
    let git = std::process::Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    let git_dir = std::path::Path::new(String::from_utf8_lossy(&git.stdout).trim())
        .parent()
        .unwrap()
        .to_path_buf();
    // A PATH with git and the shell's basics, but no kodo.
    let out = repo
        .git_cmd(&["commit", "-q", "-m", "x"])
        .env("PATH", format!("{}:/usr/bin:/bin", git_dir.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("kodo is not on PATH"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn respects_core_hooks_path() {
    let repo = Repo::with_kodo(&[], &[]);
    repo.git(&["config", "core.hooksPath", "tools/githooks"]);
    assert_code(&install(&repo, &[]), 0);
    assert!(repo.path("tools/githooks/pre-commit").is_file());
    assert!(!repo.path(".git/hooks/pre-commit").exists());
}

#[test]
fn refuses_a_foreign_hook_and_force_keeps_a_backup() {
    let repo = Repo::with_kodo(&[], &[]);
    let hook = repo.path(".git/hooks/pre-commit");
    let foreign = "#!/bin/sh\necho lint\n";
    std::fs::write(&hook, foreign).unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();

    let out = install(&repo, &[]);
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("was not written by kodo"), "{err}");
    assert!(err.contains(&hook.display().to_string()), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), foreign);

    let out = install(&repo, &["--force"]);
    assert_code(&out, 0);
    assert!(std::fs::read_to_string(&hook).unwrap().contains(MARKER));
    let backup = repo.path(".git/hooks/pre-commit.kodo-backup");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), foreign);
    assert!(stderr(&out).contains("pre-commit.kodo-backup"));
}

#[test]
fn reinstalling_is_idempotent_and_repairs_kodos_own_hook() {
    let repo = Repo::with_kodo(&[], &[]);
    assert_code(&install(&repo, &[]), 0);
    let hook = repo.path(".git/hooks/pre-commit");
    let first = std::fs::read(&hook).unwrap();
    let out = install(&repo, &[]);
    assert_code(&out, 0);
    assert!(stderr(&out).contains("already kodo's current pre-commit hook"));
    assert_eq!(std::fs::read(&hook).unwrap(), first);

    // An older or edited kodo hook (marker kept) is rewritten without --force, and no backup.
    std::fs::write(
        &hook,
        format!("#!/bin/sh\n{MARKER}\nexec kodo hook pre-commit --old\n"),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = install(&repo, &[]);
    assert_code(&out, 0);
    assert!(stderr(&out).contains("updated"));
    assert_eq!(std::fs::read(&hook).unwrap(), first);
    assert_eq!(mode(&hook), 0o755);
    assert!(!repo.path(".git/hooks/pre-commit.kodo-backup").exists());
}

#[test]
fn dry_run_writes_nothing() {
    let repo = Repo::with_kodo(&[], &[]);
    let out = repo
        .kodo(&["hooks", "install", "--dry-run"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert!(stdout(&out).contains(MARKER));
    assert!(!repo.path(".git/hooks/pre-commit").exists());
}

#[test]
fn outside_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(kodo_bin())
        .args(["hooks", "install"])
        .current_dir(dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CEILING_DIRECTORIES", dir.path())
        .output()
        .unwrap();
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("is not inside a git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn claude_settings_are_merged_keeping_everything_else() {
    let repo = Repo::with_kodo(&[], &[]);
    std::fs::create_dir_all(repo.path("sub")).unwrap();
    repo.write(
        ".claude/settings.json",
        r#"{"permissions": {"allow": ["Bash(ls)"]}, "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "echo done"}]}]}}"#,
    );
    // Run from a subdirectory: the file at the repository root is the one updated.
    let out = repo
        .kodo(&["hooks", "install", "--claude-settings"])
        .current_dir(repo.path("sub"))
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert!(
        stderr(&out).contains("PreToolUse and PostToolUse"),
        "{}",
        stderr(&out)
    );
    let v: serde_json::Value = serde_json::from_str(&repo.read(".claude/settings.json")).unwrap();
    assert_eq!(v["permissions"]["allow"][0], "Bash(ls)");
    assert_eq!(v["hooks"]["Stop"][0]["hooks"][0]["command"], "echo done");
    for event in ["PreToolUse", "PostToolUse"] {
        let groups = v["hooks"][event].as_array().unwrap();
        assert_eq!(groups.len(), 1, "{v}");
        assert_eq!(groups[0]["hooks"][0]["command"], "kodo hook claude");
    }
    assert!(!repo.path("sub/.claude").exists());
    // Twice is the same as once.
    let before = repo.read(".claude/settings.json");
    let out = install(&repo, &["--claude-settings"]);
    assert_code(&out, 0);
    assert!(stderr(&out).contains("already has kodo's hooks"));
    assert_eq!(repo.read(".claude/settings.json"), before);
    // The git hook was not touched by --claude-settings.
    assert!(!repo.path(".git/hooks/pre-commit").exists());
}

#[test]
fn malformed_claude_settings_are_not_overwritten() {
    let repo = Repo::with_kodo(&[], &[]);
    repo.write(".claude/settings.json", "{ not json");
    let out = install(&repo, &["--claude-settings"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("not valid JSON"), "{}", stderr(&out));
    assert_eq!(repo.read(".claude/settings.json"), "{ not json");
}
