//! Command dispatch: the glue between the parsed CLI and the library.
//!
//! **Invariants.** Only this module and `main.rs` know about exit codes: commands return an
//! [`Outcome`] or an error, and every error is exit code 2. Config warnings are printed once,
//! here, before the command runs.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::{
    Action, Cli, Command, Direction, GlobalArgs, HookWhich, HooksAction, ResourceArg,
    SnapshotAction,
};
use crate::config::{self, Config};
use crate::output::Printer;

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
}

/// What every command gets: the global options, the printer and the working directory.
pub struct Context {
    pub global: GlobalArgs,
    pub printer: Printer,
    pub cwd: PathBuf,
}

impl Context {
    pub fn new(global: GlobalArgs) -> anyhow::Result<Context> {
        let printer = Printer::from_args(&global);
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        Ok(Context {
            global,
            printer,
            cwd,
        })
    }

    /// The config file this run uses: `--config`, else found from the current directory.
    pub fn config_path(&self) -> Result<PathBuf, config::ConfigError> {
        match &self.global.config {
            Some(path) if path.is_absolute() => Ok(path.clone()),
            Some(path) => Ok(self.cwd.join(path)),
            None => config::find(&self.cwd),
        }
    }

    /// Loads the config and prints its warnings.
    /// Takes the repository's write lock (`.kodo/lock`, beside the config) for a command that
    /// writes Notion: waits for another run, saying so, or with `--no-wait` fails at once.
    /// `None` when there is no config yet (nothing to lock: such a run writes no row).
    pub async fn write_lock(&self) -> anyhow::Result<Option<crate::lock::RepoLock>> {
        if self.global.dry_run {
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
        let wait = if self.global.no_wait {
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

    pub fn load_config(&self) -> Result<Config, config::ConfigError> {
        let mut config = Config::load(&self.config_path()?)?;
        for warning in &config.warnings {
            self.printer.warn(&warning.0);
        }
        let printer = self.printer.clone();
        config.set_warning_sink(std::sync::Arc::new(move |w: &str| printer.warn(w)));
        Ok(config)
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let ctx = Context::new(cli.global)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::PhSync(args) => {
            let (action, resource) = args.target().map_err(anyhow::Error::msg)?;
            runtime.block_on(crate::sync::command::run(
                &ctx,
                action,
                resource.resources(),
                crate::sync::command::Flags {
                    overwrite: args.overwrite,
                    archive_orphans: args.archive_orphans,
                    no_code: args.no_code,
                },
            ))
        }
        Command::NotionSync(args) => {
            let action = match args.direction {
                Direction::Push => Action::Import,
                Direction::Pull => Action::Export,
            };
            let resources = ResourceArg::from_resource(args.resource.into()).resources();
            runtime.block_on(crate::sync::command::run(
                &ctx,
                Some(action),
                resources,
                crate::sync::command::Flags {
                    overwrite: args.overwrite,
                    archive_orphans: false,
                    no_code: true,
                },
            ))
        }
        Command::Scan(args) => runtime.block_on(crate::scan_cmd::run(&ctx, args)),
        Command::Hook(args) => match args.which {
            HookWhich::Claude => runtime.block_on(crate::hooks::claude_run::run(&ctx)),
            HookWhich::PreCommit => runtime.block_on(crate::hooks::precommit::run(&ctx)),
        },
        Command::Hooks(args) => match args.action {
            HooksAction::Install(install) => crate::hooks::install::run(&ctx, &install),
        },
        Command::Doctor => runtime.block_on(crate::doctor::run(&ctx)),
        Command::Snapshot(args) => match args.action {
            SnapshotAction::Refresh => {
                runtime.block_on(crate::sync::command::snapshot_refresh(&ctx))
            }
        },
    }
}
