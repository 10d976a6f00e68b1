//! The commands: one module per subcommand, each taking a [`Context`] and returning an
//! [`Outcome`] (or an error, exit code 2).
//!
//! This is the only layer besides `app.rs` (dispatch) and `cli.rs` (clap's types) that knows
//! about the command line: a command converts clap's types into the engine's plain values
//! (resources, a [`Session`], flags) and calls the engine (`crate::sync`, `crate::hooks`,
//! `kodo-scan`). The engine never imports this module, `crate::cli` or `crate::app`
//! (`tests/it/architecture.rs` checks it).
//!
//! **Invariants.** Reports and plans go to stdout; progress, warnings and logs to stderr.
//! `--check` turns "out of sync" into [`Outcome::CheckFailed`] (exit 1); only `main.rs` maps
//! outcomes to exit codes.

pub mod audit;
pub mod completions;
pub mod confirm;
pub mod doctor;
pub mod document;
pub mod export;
pub mod hook_claude;
pub mod hook_pre_commit;
pub mod hooks;
pub mod import;
pub mod scan;
pub mod setup;
pub mod snapshot;
pub mod status;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::{CommonOptions, RunOptions};
use crate::config::{self, Config};
use crate::output::Printer;
use crate::sync::report::Findings;
use crate::sync::Session;

/// How a command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0.
    Success,
    /// Exit code 1: a check found drift, or the git hook blocked the commit.
    CheckFailed,
    /// Exit code 2 as a verdict, not an error: the Claude Code PreToolUse hook refuses the tool
    /// call (Claude Code blocks on exit 2 and shows the hook's stderr to Claude).
    Blocked,
    /// Exit code 130 (128 + SIGINT, as a shell reports a process Ctrl-C ended): the run was
    /// interrupted, finished what it had started and reported what is left.
    Interrupted,
}

impl Outcome {
    /// Every outcome, for the test that checks [`crate::exit::CODES`] lists each one's code.
    pub const ALL: [Outcome; 4] = [
        Outcome::Success,
        Outcome::CheckFailed,
        Outcome::Blocked,
        Outcome::Interrupted,
    ];

    /// The process's exit code for this outcome (a row of [`crate::exit::CODES`]).
    pub const fn code(self) -> u8 {
        match self {
            Outcome::Success => crate::exit::SUCCESS,
            Outcome::CheckFailed => crate::exit::CHECK_FAILED,
            Outcome::Blocked => crate::exit::ERROR,
            Outcome::Interrupted => crate::exit::INTERRUPTED,
        }
    }
}

/// What every command gets: `--config`, `-q` and `-v`, the run-wide switches its subcommand set,
/// the printer and the working directory.
pub struct Context {
    pub common: CommonOptions,
    pub run: RunOptions,
    pub printer: Printer,
    pub cwd: PathBuf,
}

impl Context {
    /// `format_given`: the command line asked for a `--format` (which `-q` does not silence).
    pub fn new(
        common: CommonOptions,
        run: RunOptions,
        format_given: bool,
    ) -> anyhow::Result<Context> {
        let printer = Printer::new(common.quiet, common.verbose, format_given);
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        Ok(Context {
            common,
            run,
            printer,
            cwd,
        })
    }

    /// The engine's view of this run: the printer, `--dry-run`, `--no-cache`.
    pub fn session(&self) -> Session<'_> {
        Session {
            printer: &self.printer,
            dry_run: self.run.dry_run,
            no_cache: self.run.no_cache,
        }
    }

    /// The config file this run uses: `--config`, else found from the current directory.
    pub fn config_path(&self) -> Result<PathBuf, config::ConfigError> {
        match &self.common.config {
            Some(path) if path.is_absolute() => Ok(path.clone()),
            Some(path) => Ok(self.cwd.join(path)),
            None => config::find(&self.cwd),
        }
    }

    /// Takes the repository's write lock (`.kodo/lock`, beside the config) for a command that
    /// writes Notion: waits for another run, saying so, or with `--no-wait` fails at once.
    /// `None` when there is no config yet (nothing to lock: such a run writes no row).
    pub async fn write_lock(&self) -> anyhow::Result<Option<crate::lock::RepoLock>> {
        if self.run.dry_run {
            return Ok(None);
        }
        let Some(kodo_dir) = self
            .config_path()
            .ok()
            .filter(|p| p.is_file())
            .and_then(|p| p.parent().map(Path::to_path_buf))
        else {
            return Ok(None);
        };
        let wait = if self.run.no_wait {
            crate::lock::Wait::No
        } else {
            crate::lock::Wait::Forever
        };
        let printer = self.printer.clone();
        let lock = crate::lock::acquire(&kodo_dir, wait, move || {
            printer.warn("another kodo run is writing to Notion from this repository; waiting for it to finish (--no-wait exits instead)");
        })
        .await?;
        Ok(Some(lock))
    }

    /// Loads the config and prints its warnings.
    pub fn load_config(&self) -> Result<Config, config::ConfigError> {
        let mut config = Config::load(&self.config_path()?)?;
        for warning in &config.warnings {
            self.printer.warn(&warning.0);
        }
        let printer = self.printer.clone();
        config.set_warning_sink(std::sync::Arc::new(move |w: &str| printer.warn(w)));
        Ok(config)
    }

    /// `--check`: drift is exit code 1.
    pub fn verdict(&self, findings: &Findings) -> Outcome {
        if self.run.check && !findings.passes_check() {
            Outcome::CheckFailed
        } else {
            Outcome::Success
        }
    }
}
