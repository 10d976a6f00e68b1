//! One writer at a time: the commands that write Notion (`ph-sync setup`, `ph-sync import`, the
//! PostToolUse hook) hold an exclusive OS lock on `.kodo/lock` while they run, so two runs in
//! one repository (a CI job and a laptop sharing a checkout, plugin hooks plus settings hooks)
//! cannot both see a row missing and both create it.
//!
//! **Invariants.** The lock is the operating system's (`flock`/`LockFileEx` through std's
//! `File::try_lock`): it dies with the process, so a killed run never leaves a stale lock, and
//! the file's contents mean nothing. A second run waits, saying so once on stderr, or with
//! `--no-wait` fails at once (exit 2); a hook waits only as long as its time budget. A symbolic
//! link at `.kodo/lock` is refused.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The lock file's name in `.kodo/`.
pub const FILE_NAME: &str = "lock";

/// How long to wait for the lock.
#[derive(Debug, Clone, Copy)]
pub enum Wait {
    /// Until the other run finishes.
    Forever,
    /// Not at all.
    No,
    /// Until this instant.
    Until(Instant),
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another kodo run is writing to Notion from this repository (it holds `{}`)\n  hint: wait for it to finish, or run without --no-wait to wait for it", path.display())]
    Busy { path: PathBuf },
    #[error("another kodo run held `{}` for the whole time this one could wait", path.display())]
    TimedOut { path: PathBuf },
    #[error("cannot open the lock file `{}`: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RepoLock {
    _file: File,
}

fn open(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A planted link is an error, never a file elsewhere to create or lock. (The file's
    // contents are never read or written, so a link swapped in after this check gains nothing.)
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is a symbolic link; remove it and run again",
        ));
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Takes the repository's lock in `kodo_dir`, waiting as `wait` says; `on_wait` is called
/// once, when the lock is found busy and this run is going to wait.
pub async fn acquire(
    kodo_dir: &Path,
    wait: Wait,
    on_wait: impl FnOnce(),
) -> Result<RepoLock, LockError> {
    let path = kodo_dir.join(FILE_NAME);
    let file = open(&path).map_err(|source| LockError::Open {
        path: path.clone(),
        source,
    })?;
    let mut on_wait = Some(on_wait);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(RepoLock { _file: file }),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(source)) => return Err(LockError::Open { path, source }),
        }
        match wait {
            Wait::No => return Err(LockError::Busy { path }),
            Wait::Until(deadline) if Instant::now() >= deadline => {
                return Err(LockError::TimedOut { path })
            }
            _ => {}
        }
        if let Some(f) = on_wait.take() {
            f();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_waits_or_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), Wait::No, || {}).await.unwrap();
        let err = acquire(dir.path(), Wait::No, || {}).await.unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("--no-wait"));
        let mut told = false;
        let deadline = Instant::now() + Duration::from_millis(120);
        let err = acquire(dir.path(), Wait::Until(deadline), || told = true)
            .await
            .unwrap_err();
        assert!(matches!(err, LockError::TimedOut { .. }));
        assert!(told);
        drop(first);
        acquire(dir.path(), Wait::No, || {}).await.unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_planted_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::os::unix::fs::symlink(&elsewhere, dir.path().join(FILE_NAME)).unwrap();
        let err = acquire(dir.path(), Wait::No, || {}).await.unwrap_err();
        assert!(matches!(err, LockError::Open { .. }), "{err}");
        assert!(!elsewhere.exists());
    }
}
