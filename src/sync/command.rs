//! `kodo ph-sync`: placeholder entry point, replaced by the sync engine.

use crate::app::{Context, Outcome};
use crate::cli::Action;
use crate::model::Resource;

/// Options of `ph-sync` besides the global ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub overwrite: bool,
    pub archive_orphans: bool,
}

pub async fn run(
    ctx: &Context,
    action: Option<Action>,
    resources: Vec<Resource>,
    flags: Flags,
) -> anyhow::Result<Outcome> {
    let _ = (ctx, action, resources, flags);
    anyhow::bail!("ph-sync is being built")
}

/// `kodo snapshot refresh`: placeholder, replaced by the sync engine.
pub async fn snapshot_refresh(ctx: &Context) -> anyhow::Result<Outcome> {
    let _ = ctx;
    anyhow::bail!("snapshot refresh is being built")
}
