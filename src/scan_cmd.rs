//! Placeholder (being built).

use crate::app::{Context, Outcome};

pub async fn run(ctx: &Context, args: crate::cli::ScanArgs) -> anyhow::Result<Outcome> {
    let _ = (ctx, args);
    anyhow::bail!("kodo scan is being built")
}
