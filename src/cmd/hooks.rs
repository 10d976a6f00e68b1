//! `kodo hooks install [--claude-settings] [--force]`: the git pre-commit hook, or kodo's
//! Claude Code hooks merged into `.claude/settings.json` (the work is `crate::hooks::install`).

use crate::cli::HooksInstallArgs;
use crate::hooks::install;

use super::{Context, Outcome};

pub fn install(ctx: &Context, args: &HooksInstallArgs) -> anyhow::Result<Outcome> {
    if args.claude_settings {
        install::install_claude_settings(&ctx.cwd, &ctx.printer, ctx.run.dry_run)?;
    } else {
        install::install_git_hook(&ctx.cwd, &ctx.printer, ctx.run.dry_run, args.force)?;
    }
    Ok(Outcome::Success)
}
