//! Dispatch: the parsed command line to the command that runs it (`crate::cmd`). Nothing else
//! lives here.
//!
//! **Invariants.** Only this module and `main.rs` know about exit codes: commands return an
//! [`Outcome`] or an error, and every error is exit code 2.

use anyhow::Context as _;

use crate::cli::{
    Cli, Command, Direction, HookWhich, HooksAction, PhSyncAction, ResourceArg, SnapshotAction,
};
use crate::cmd::{self, import::Flags};

pub use crate::cmd::{Context, Outcome};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    if let Command::Completions(args) = &cli.command {
        // Needs neither a config nor a runtime: the script comes from the clap definition.
        return cmd::completions::run(args.shell, &mut std::io::stdout().lock());
    }
    let ctx = Context::new(
        cli.options(),
        cli.command.run_options(),
        cli.command.format_given(),
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::PhSync(args) => runtime.block_on(async {
            match args.action {
                Some(PhSyncAction::Setup(a)) => {
                    let resources = a.target.resource.resources();
                    cmd::setup::run(&ctx, &resources, a.format, a.refresh_pages).await
                }
                Some(PhSyncAction::Import(a)) => {
                    let flags = Flags {
                        overwrite: a.overwrite,
                        archive_orphans: a.archive_orphans,
                        yes: a.yes,
                    };
                    cmd::import::run(&ctx, &a.target.resource.resources(), a.format, flags).await
                }
                Some(PhSyncAction::Export(a)) => {
                    cmd::export::run(&ctx, &a.target.resource.resources(), a.format).await
                }
                Some(PhSyncAction::Audit(a)) => {
                    let resources = a.target.resource.resources();
                    cmd::audit::run(&ctx, &resources, a.report.format, !a.report.no_code).await
                }
                Some(PhSyncAction::Status(a)) => {
                    let resources = a.target.resource.resources();
                    cmd::status::run(&ctx, &resources, a.format, false, false).await
                }
                Some(PhSyncAction::Document(doc)) => cmd::document::run(&ctx, doc).await,
                None => {
                    let o = args.overview;
                    let resources = o.resource.unwrap_or(ResourceArg::All).resources();
                    cmd::status::run(&ctx, &resources, o.report.format, true, !o.report.no_code)
                        .await
                }
            }
        }),
        Command::NotionSync(args) => {
            let resources = vec![crate::model::Resource::from(args.resource)];
            runtime.block_on(async {
                match args.direction {
                    Direction::Push => {
                        let flags = Flags {
                            overwrite: args.overwrite,
                            archive_orphans: false,
                            yes: args.yes,
                        };
                        let format = cmd::import::push_format(args.format)?;
                        cmd::import::run(&ctx, &resources, format, flags).await
                    }
                    Direction::Pull => cmd::export::run(&ctx, &resources, args.format).await,
                }
            })
        }
        Command::Scan(args) => runtime.block_on(cmd::scan::run(&ctx, args)),
        Command::Hook(args) => match args.which {
            HookWhich::Claude(_) => runtime.block_on(cmd::hook_claude::run(&ctx)),
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
