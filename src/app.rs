//! Dispatch: the parsed command line to the command that runs it (`crate::cmd`). Nothing else
//! lives here.
//!
//! **Invariants.** Only this module and `main.rs` know about exit codes: commands return an
//! [`Outcome`] or an error, and every error is exit code 2.

use anyhow::Context as _;

use crate::cli::{
    Action, Cli, Command, Direction, HookWhich, HooksAction, PhSyncArgs, PhSyncDocument,
    SnapshotAction,
};
use crate::cmd::{self, import::Flags};

pub use crate::cmd::{Context, Outcome};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    if let Command::Completions(args) = &cli.command {
        // Needs neither a config nor a runtime: the script comes from the clap definition.
        return cmd::completions::run(args.shell, &mut std::io::stdout().lock());
    }
    let ctx = Context::new(cli.global, cli.command.format_given())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::PhSync(PhSyncArgs {
            document: Some(PhSyncDocument::Document(doc)),
            ..
        }) => runtime.block_on(cmd::document::run(&ctx, doc)),
        Command::PhSync(args) => {
            let (action, resource) = args.target().map_err(anyhow::Error::msg)?;
            let resources = resource.resources();
            let format = args.format;
            let flags = Flags {
                overwrite: args.overwrite,
                archive_orphans: args.archive_orphans,
            };
            let judge_code = !args.no_code;
            let refresh_pages = args.refresh_pages;
            runtime.block_on(async {
                match action {
                    Some(Action::Setup) => {
                        cmd::setup::run(&ctx, &resources, format, refresh_pages).await
                    }
                    Some(Action::Import) => cmd::import::run(&ctx, &resources, format, flags).await,
                    Some(Action::Export) => cmd::export::run(&ctx, &resources, format).await,
                    Some(Action::Audit) => {
                        cmd::audit::run(&ctx, &resources, format, judge_code).await
                    }
                    Some(Action::Status) => {
                        cmd::status::run(&ctx, &resources, format, false, false).await
                    }
                    None => cmd::status::run(&ctx, &resources, format, true, judge_code).await,
                }
            })
        }
        Command::NotionSync(args) => {
            let resources = vec![crate::model::Resource::from(args.resource)];
            runtime.block_on(async {
                match args.direction {
                    Direction::Push => {
                        let flags = Flags {
                            overwrite: args.overwrite,
                            archive_orphans: false,
                        };
                        cmd::import::run(&ctx, &resources, args.format, flags).await
                    }
                    Direction::Pull => cmd::export::run(&ctx, &resources, args.format).await,
                }
            })
        }
        Command::Scan(args) => runtime.block_on(cmd::scan::run(&ctx, args)),
        Command::Hook(args) => match args.which {
            HookWhich::Claude => runtime.block_on(cmd::hook_claude::run(&ctx)),
            HookWhich::PreCommit(pre) => {
                runtime.block_on(cmd::hook_pre_commit::run(&ctx, pre.format))
            }
        },
        Command::Hooks(args) => match args.action {
            HooksAction::Install(install) => cmd::hooks::install(&ctx, &install),
        },
        Command::Doctor(args) => runtime.block_on(cmd::doctor::run(&ctx, args.format)),
        Command::Snapshot(args) => match args.action {
            SnapshotAction::Refresh => runtime.block_on(cmd::snapshot::refresh(&ctx)),
        },
        Command::Completions(args) => cmd::completions::run(args.shell, &mut std::io::stdout()),
    }
}
