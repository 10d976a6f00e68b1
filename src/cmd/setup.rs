//! `kodo ph-sync setup [resource]`: the four Notion databases with the spec's schemas, and
//! their IDs in `.kodo/config.json` (the engine's part is `crate::sync::setup`). With no
//! config at all, a starter `.kodo/config.json` (and its JSON Schema) is written and the run
//! stops, naming the keys to fill in.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::SyncFormat;
use crate::config::{self, ConfigError};
use crate::model::Resource;
use crate::state::{write_atomic, State};
use crate::sync::{fetch, setup};

use super::{Context, Outcome};

/// Where a new config goes: `--config`, else `.kodo/config.json` at the repository root
/// (the nearest directory holding `.git`), else in the current directory.
fn new_config_path(ctx: &Context) -> PathBuf {
    if let Some(path) = &ctx.global.config {
        return if path.is_absolute() {
            path.clone()
        } else {
            ctx.cwd.join(path)
        };
    }
    let root = ctx
        .cwd
        .ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(&ctx.cwd);
    root.join(config::CONFIG_RELATIVE_PATH)
}

fn write_starter(ctx: &Context, path: &Path) -> anyhow::Result<Outcome> {
    let shown = path.display();
    if ctx.global.dry_run {
        ctx.printer.data(&format!(
            "Would write a starter config to {shown} (and its JSON Schema beside it)."
        ));
        anyhow::bail!(
            "no kodo config yet: run `kodo ph-sync setup` without --dry-run to write a starter one"
        );
    }
    write_atomic(path, setup::starter_config().as_bytes())
        .with_context(|| format!("cannot write `{shown}`"))?;
    let schema_path = path.with_file_name(config::SCHEMA_FILE_NAME);
    write_atomic(&schema_path, config::SCHEMA.as_bytes())
        .with_context(|| format!("cannot write `{}`", schema_path.display()))?;
    ctx.printer.data(&format!(
        "Wrote a starter config to {shown}.\n\
         Fill in:\n\
         \x20 posthog.project_id          your PostHog project ID (Project settings → Project ID)\n\
         \x20 notion.pages.analytics_home the ID of the Notion page to create the databases under (share it with your integration)\n\
         and set {} and {} (in the environment or .env), then run `kodo ph-sync setup` again.",
        config::DEFAULT_NOTION_TOKEN_VAR,
        config::DEFAULT_POSTHOG_TOKEN_VAR
    ));
    anyhow::bail!("setup needs `posthog.project_id` and `notion.pages.analytics_home` in {shown} before it can create the databases")
}

/// `kodo ph-sync setup [resource]`.
pub async fn run(
    ctx: &Context,
    resources: &[Resource],
    format: Option<SyncFormat>,
) -> anyhow::Result<Outcome> {
    // One writer at a time: setup holds `.kodo/lock` for the whole run.
    let _lock = ctx.write_lock().await?;
    let path = match ctx.config_path() {
        Ok(path) if path.exists() => path,
        Ok(path) => return write_starter(ctx, &path),
        Err(ConfigError::NotFound { .. }) => return write_starter(ctx, &new_config_path(ctx)),
        Err(e) => return Err(e.into()),
    };
    let config = ctx.load_config()?;
    let client = fetch::notion_client(&config, &ctx.printer)?;
    let kodo_dir = config.kodo_dir();
    let mut state = State::load(&kodo_dir).unwrap_or_else(|e| {
        ctx.printer.warn(&e.to_string());
        State::default()
    });
    let mut results = Vec::new();
    for &resource in resources {
        let result = setup::setup_one(
            ctx.global.dry_run,
            &ctx.printer,
            &config,
            &path,
            &client,
            resource,
            &mut state,
        )
        .await?;
        results.push(result);
    }
    if !ctx.global.dry_run {
        if let Err(e) = state.save(&kodo_dir) {
            ctx.printer.warn(&e.to_string());
        }
    }
    ctx.printer.data(&match format {
        Some(SyncFormat::Json) => setup::render_json(&results, ctx.global.dry_run),
        _ => setup::render(&results, ctx.global.dry_run),
    });
    Ok(Outcome::Success)
}
