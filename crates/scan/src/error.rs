//! The scanner's typed errors.
//!
//! Invariant: only problems that make a result impossible or wrong are errors (bad settings,
//! an unreadable root, a `git` run that fails midway). Single unreadable files are skipped,
//! and a missing `git` binary or a directory that is not a repository yield no annotations
//! rather than an error.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// A value in the `scan` section of `.kodo/config.json` is unusable.
    #[error("`{field}`: {message}")]
    InvalidSetting {
        /// Where the value sits, e.g. `scan.wrappers[2]`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The directory to scan cannot be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Root {
        /// The directory given.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A text matcher could not be built (too many or too long names).
    #[error("cannot build a matcher: {0}")]
    Matcher(String),
    /// `git` ran but failed or printed something unexpected.
    #[error("git: {0}")]
    Git(String),
}
