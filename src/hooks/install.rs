//! Placeholder (being built).

use crate::app::{Context, Outcome};

pub fn run(ctx: &Context, args: &crate::cli::HooksInstallArgs) -> anyhow::Result<Outcome> {
    let _ = (ctx, args);
    anyhow::bail!("kodo hooks install is being built")
}
