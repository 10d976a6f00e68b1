//! Placeholder (being built).

use crate::app::{Context, Outcome};

pub async fn run(ctx: &Context) -> anyhow::Result<Outcome> {
    let _ = ctx;
    anyhow::bail!("kodo hook claude is being built")
}
