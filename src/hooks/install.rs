//! `kodo hooks install`: writes the git pre-commit hook, or (with `--claude-settings`) merges
//! kodo's Claude Code hooks into the project's `.claude/settings.json`.
//!
//! **Invariants.**
//! - The hook goes where git runs hooks from: `git rev-parse --git-path hooks`, which respects
//!   `core.hooksPath` and linked worktrees.
//! - A hook kodo wrote carries [`MARKER`] on its second line; only such a hook is rewritten.
//!   A hook without it is never touched unless `--force`, and then it is first renamed to
//!   `pre-commit.kodo-backup` (or `.kodo-backup.N` when that exists): nothing is ever lost.
//! - Re-installing is idempotent: the same bytes, the same mode (0755).
//! - The hook runs `$KODO_BIN` when set, else `kodo` from PATH (as the plugin's launcher does);
//!   when neither exists it prints how to install kodo and lets the commit through: a machine
//!   without kodo must not be locked out of committing, and the CI check
//!   (`kodo scan --rev-range`) still catches what slips through.
//! - Every file is written atomically (a temporary file in the same directory, then a rename).
//! - `--dry-run` prints what would be written and writes nothing.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::precommit::git::Git;
use super::settings::merge_claude_settings;
use crate::output::Printer;

/// The line that marks a hook as kodo's.
pub const MARKER: &str = "# kodo-managed-hook v1";

/// The command the Claude Code settings run (the binary on PATH).
pub const CLAUDE_COMMAND: &str = "kodo hook claude";

/// The pre-commit hook script.
pub fn hook_script() -> String {
    format!(
        r#"#!/bin/sh
{MARKER}
# Written by `kodo hooks install`: blocks commits that add PostHog events or feature flags
# that Notion does not document. Skip it once with `KODO_SKIP=1 git commit ...` or
# `git commit --no-verify`. Re-run `kodo hooks install` to update it; delete this file to remove it.
if [ -n "${{KODO_BIN:-}}" ]; then
  exec "$KODO_BIN" hook pre-commit
fi
if command -v kodo >/dev/null 2>&1; then
  exec kodo hook pre-commit
fi
echo "kodo: the check for undocumented events and flags did not run: kodo is not on PATH." >&2
echo "kodo: install it with 'cargo install --locked --path <kodo checkout>' or set KODO_BIN. This commit is not blocked." >&2
exit 0
"#
    )
}

/// Why an install refused to proceed. Exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(
        "`{}` already exists and was not written by kodo, so it was left untouched\n  hint: add `kodo hook pre-commit` to it yourself, or re-run with --force to replace it (the current hook is kept as `{}`)",
        path.display(), backup.display()
    )]
    ForeignHook { path: PathBuf, backup: PathBuf },
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}`: {source}\n  hint: fix the file, or move it away and re-run", path.display())]
    Settings {
        path: PathBuf,
        #[source]
        source: super::settings::SettingsError,
    },
}

/// Writes the pre-commit hook of the repository `cwd` is in (`force`: replace a foreign
/// hook, after backing it up); `dry_run` prints the script instead.
pub fn install_git_hook(
    cwd: &Path,
    printer: &Printer,
    dry_run: bool,
    force: bool,
) -> anyhow::Result<()> {
    let hooks_dir = Git::new(cwd).hooks_dir()?;
    let path = hooks_dir.join("pre-commit");
    let script = hook_script();
    let existing = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(InstallError::Write { path, source }.into());
        }
    };
    let ours = existing.as_deref().is_some_and(|b| {
        String::from_utf8_lossy(b)
            .lines()
            .any(|l| l.trim() == MARKER)
    });
    if let Some(bytes) = &existing {
        if ours && bytes == script.as_bytes() && is_executable(&path) {
            printer.info(&format!(
                "kodo: `{}` is already kodo's current pre-commit hook",
                path.display()
            ));
            return Ok(());
        }
        if !ours && !force {
            return Err(InstallError::ForeignHook {
                backup: backup_path(&path),
                path,
            }
            .into());
        }
    }
    if dry_run {
        printer.info(&format!(
            "kodo: would write `{}`{}:",
            path.display(),
            if existing.is_some() && !ours {
                format!(
                    " (keeping the current hook as `{}`)",
                    backup_path(&path).display()
                )
            } else {
                String::new()
            }
        ));
        printer.data(&script);
        return Ok(());
    }
    if existing.is_some() && !ours {
        let backup = backup_path(&path);
        std::fs::rename(&path, &backup).map_err(|source| InstallError::Write {
            path: backup.clone(),
            source,
        })?;
        printer.info(&format!(
            "kodo: kept the previous hook as `{}`",
            backup.display()
        ));
    }
    crate::state::write_atomic_executable(&path, script.as_bytes()).map_err(|source| {
        InstallError::Write {
            path: path.clone(),
            source,
        }
    })?;
    printer.info(&format!(
        "kodo: {} `{}`: commits that add undocumented events or flags are now blocked (skip once with KODO_SKIP=1 or --no-verify)",
        if ours { "updated" } else { "installed" },
        path.display()
    ));
    Ok(())
}

/// `pre-commit.kodo-backup`, or the first free `pre-commit.kodo-backup.N`.
fn backup_path(path: &Path) -> PathBuf {
    let base = path.with_file_name("pre-commit.kodo-backup");
    if !base.exists() {
        return base;
    }
    (1..)
        .map(|n| path.with_file_name(format!("pre-commit.kodo-backup.{n}")))
        .find(|p| !p.exists())
        .unwrap_or(base)
}

/// Merges kodo's Claude Code hooks into the project's `.claude/settings.json` (the repository
/// root of `cwd`, else `cwd`); `dry_run` prints the merged file instead.
pub fn install_claude_settings(cwd: &Path, printer: &Printer, dry_run: bool) -> anyhow::Result<()> {
    let root = Git::new(cwd)
        .toplevel()
        .unwrap_or_else(|_| cwd.to_path_buf());
    let path = root.join(".claude").join("settings.json");
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    let merged = merge_claude_settings(existing.as_deref(), CLAUDE_COMMAND).map_err(|source| {
        InstallError::Settings {
            path: path.clone(),
            source,
        }
    })?;
    if existing.as_deref() == Some(merged.as_str()) {
        printer.info(&format!(
            "kodo: `{}` already has kodo's hooks",
            path.display()
        ));
        return Ok(());
    }
    if dry_run {
        printer.info(&format!("kodo: would write `{}`:", path.display()));
        printer.data(&merged);
        return Ok(());
    }
    crate::state::write_atomic(&path, merged.as_bytes()).map_err(|source| InstallError::Write {
        path: path.clone(),
        source,
    })?;
    printer.info(&format!(
        "kodo: {} `{}`: PreToolUse and PostToolUse hooks running `{CLAUDE_COMMAND}` for PostHog's create tools ({}); everything else in the file is kept.\n  Use these settings or the kodo plugin, not both, or each creation is checked twice.",
        if existing.is_some() { "updated" } else { "created" },
        path.display(),
        super::claude::TOOL_MATCHER,
    ));
    Ok(())
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o777 == 0o755)
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_is_marked_and_never_blocks_without_kodo() {
        let script = hook_script();
        let lines: Vec<&str> = script.lines().collect();
        assert_eq!(lines[0], "#!/bin/sh");
        assert_eq!(lines[1], MARKER);
        assert!(script.contains("exec kodo hook pre-commit"));
        assert!(script.trim_end().ends_with("exit 0"));
    }

    #[test]
    fn backups_never_overwrite_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let hook = dir.path().join("pre-commit");
        assert_eq!(
            backup_path(&hook),
            dir.path().join("pre-commit.kodo-backup")
        );
        std::fs::write(dir.path().join("pre-commit.kodo-backup"), "old").unwrap();
        assert_eq!(
            backup_path(&hook),
            dir.path().join("pre-commit.kodo-backup.1")
        );
    }
}
