//! `kodo ph-sync setup [resource]`: the four Notion databases with the spec's schemas, and
//! their IDs in `.kodo/config.json` (the engine's part is `crate::sync::setup`). With no
//! config at all, a starter `.kodo/config.json` (and its JSON Schema) is written, `.env`,
//! `.kodo/export/` and `.kodo/cache/` go into `.gitignore`, and the run ends (exit 0) naming
//! the keys to fill in and the next step. Before planning anything (`--dry-run` included), the
//! parent page (`notion.pages.analytics_home`) must be readable whenever the run needs it.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::ReportFormat;
use crate::config::{self, ConfigError};
use crate::model::Resource;
use crate::state::{write_atomic, State};
use crate::sync::{fetch, pages, setup};

use super::{Context, Outcome};

/// Where a new config goes: `--config`, else `.kodo/config.json` at the repository root
/// (the nearest directory holding `.git`), else in the current directory.
fn new_config_path(ctx: &Context) -> PathBuf {
    if let Some(path) = &ctx.common.config {
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
    if ctx.run.dry_run {
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
         and set {} and {} (in the environment or .env).\n\
         Next: run `kodo ph-sync setup` again to create the databases (`kodo doctor` checks everything first).",
        config::DEFAULT_NOTION_TOKEN_VAR,
        config::DEFAULT_POSTHOG_TOKEN_VAR
    ));
    // The config's repository root: the directory holding `.kodo/`.
    if let Some(root) = path.parent().and_then(Path::parent) {
        ensure_ignored(ctx, root);
    }
    // A step done, not a failure: a `set -e` script goes on to the next one.
    Ok(Outcome::Success)
}

/// Adds the [`IGNORED`] entries `root/.gitignore` lacks and says so; a failure is a warning
/// naming what to add by hand. Every setup run that writes (not `--dry-run`) calls it, so a
/// config written by hand gets them too.
fn ensure_ignored(ctx: &Context, root: &Path) {
    let gitignore = root.join(".gitignore");
    match ignore_local_files(root) {
        Ok(added) if !added.is_empty() => ctx.printer.info(&format!(
            "kodo: added {} to {}",
            added.join(", "),
            gitignore.display()
        )),
        Ok(_) => {}
        Err(e) => ctx.printer.warn(&format!(
            "cannot update {}: {e} (add {} to it by hand)",
            gitignore.display(),
            IGNORED.join(", ")
        )),
    }
}

/// What never belongs in git: the tokens (`.env`), exports and the scan cache.
const IGNORED: [&str; 3] = [".env", ".kodo/export/", ".kodo/cache/"];

/// Appends the [`IGNORED`] entries `root/.gitignore` lacks (creating the file if needed);
/// returns the entries added. An entry already there, in any spelling git treats alike
/// (`/.env`, `.kodo/cache`), is left alone.
fn ignore_local_files(root: &Path) -> std::io::Result<Vec<&'static str>> {
    let path = root.join(".gitignore");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let norm = |l: &str| {
        l.trim()
            .trim_start_matches('/')
            .trim_end_matches('/')
            .to_string()
    };
    let present: Vec<String> = text.lines().map(norm).collect();
    let missing: Vec<&'static str> = IGNORED
        .into_iter()
        .filter(|entry| !present.contains(&norm(entry)))
        .collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let mut new = text;
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str("# kodo: tokens, exports and the scan cache stay out of git\n");
    for entry in &missing {
        new.push_str(entry);
        new.push('\n');
    }
    write_atomic(&path, new.as_bytes())?;
    Ok(missing)
}

/// The page setup creates under (`notion.pages.analytics_home`) exists and is shared with the
/// integration, checked before anything is planned (with `--dry-run` too) whenever this run
/// needs it: a database not in the config yet (to adopt or create), or the documentation
/// pages (a run over all four). Notion's search, which finds earlier databases, lists only
/// what is shared and says nothing of a page it cannot see, so without this a dry run would
/// plan creates that fail.
async fn check_parent_page(
    config: &config::Config,
    client: &kodo_api::NotionClient,
    resources: &[Resource],
) -> anyhow::Result<()> {
    let needed = resources.len() == Resource::ALL.len()
        || resources
            .iter()
            .any(|r| config.notion.databases.get(*r).is_none());
    let Some(home) = config.notion.analytics_home.as_deref() else {
        return Ok(());
    };
    if !needed {
        return Ok(());
    }
    match client.retrieve_page(home).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => anyhow::bail!(
            "the page `notion.pages.analytics_home` ({home}) is not shared with the integration, or does not exist; setup creates the databases and the documentation pages under it\n  hint: open the page in Notion → ••• → Connections → add the integration (`kodo doctor` checks it too)"
        ),
        Err(e) => Err(anyhow::Error::new(e)
            .context("cannot read the page `notion.pages.analytics_home` setup works under")),
    }
}

/// `kodo ph-sync setup [resource]`.
pub async fn run(
    ctx: &Context,
    resources: &[Resource],
    format: Option<ReportFormat>,
    refresh_pages: bool,
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
    // Before any Notion call, so a run that fails there has still kept the tokens out of git.
    if !ctx.run.dry_run {
        ensure_ignored(ctx, &config.root);
    }
    let client = fetch::notion_client(&config, &ctx.printer)?;
    check_parent_page(&config, &client, resources).await?;
    let kodo_dir = config.kodo_dir();
    let mut state = State::load(&kodo_dir).unwrap_or_else(|e| {
        ctx.printer.warn(&e.to_string());
        State::default()
    });
    // Every database is tried: one that cannot be read or created does not hide the state of
    // the others, and the error names every database that failed, not only the first.
    let mut results = Vec::new();
    let mut failures = Vec::new();
    for &resource in resources {
        match setup::setup_one(
            ctx.run.dry_run,
            &ctx.printer,
            &config,
            &path,
            &client,
            resource,
            &mut state,
        )
        .await
        {
            Ok(result) => results.push(result),
            Err(e) => failures.push((resource, e)),
        }
    }
    if !ctx.run.dry_run {
        if let Err(e) = state.save(&kodo_dir) {
            ctx.printer.warn(&e.to_string());
        }
    }
    // The documentation structure, when setting up all four databases and every one is there:
    // the tracking-plan page and the index on the analytics page (which links them).
    let mut pages_result = None;
    if failures.is_empty()
        && resources.len() == Resource::ALL.len()
        && config.notion.analytics_home.is_some()
    {
        let config = ctx.load_config()?;
        match pages::setup(
            ctx.run.dry_run,
            &ctx.printer,
            &config,
            &path,
            &client,
            &pages::configured_databases(&config),
        )
        .await
        {
            Ok(result) => pages_result = Some(result),
            Err(e) => {
                return Err(e.context(
                    "setup prepared the databases but not the documentation pages; run setup again",
                ))
            }
        }
    }
    if !results.is_empty() || failures.is_empty() {
        ctx.printer.data(&match format {
            Some(ReportFormat::Json) => {
                setup::render_json(&results, pages_result.as_ref(), ctx.run.dry_run)
            }
            _ => {
                let mut text = setup::render(&results, ctx.run.dry_run);
                if let Some(p) = &pages_result {
                    let dry = "Dry run: nothing was written.\n";
                    match text.strip_suffix(dry) {
                        Some(head) => text = format!("{head}{}{dry}", pages_lines(p)),
                        None => text.push_str(&pages_lines(p)),
                    }
                }
                text
            }
        });
    }
    if refresh_pages && failures.is_empty() {
        refresh(ctx, &client, &state).await?;
    }
    if failures.is_empty() {
        return Ok(Outcome::Success);
    }
    if resources.len() == 1 {
        if let Some((_, error)) = failures.pop() {
            return Err(error);
        }
    }
    Err(anyhow::anyhow!(
        "{}",
        failures_message(&failures, resources.len())
    ))
}

/// "setup could not prepare 2 of 4 databases:" and one line per failed database with its
/// whole cause chain.
fn failures_message(failures: &[(Resource, anyhow::Error)], tried: usize) -> String {
    let mut message = format!(
        "setup could not prepare {} of {tried} databases (the others are done):",
        failures.len()
    );
    for (resource, error) in failures {
        message.push_str(&format!("\n  - {}: {error:#}", resource.label()));
    }
    message
}

/// The pages' lines of the human summary.
fn pages_lines(p: &pages::PagesResult) -> String {
    let page = match (p.tracking_plan_action, &p.tracking_plan) {
        ("would_create", _) => "would be created".to_string(),
        (action, Some(id)) => format!("{action} ({id})"),
        (action, None) => action.to_string(),
    };
    let index = p.index_action.replace('_', " ");
    format!("Tracking Plan page: {page}\nIndex on the analytics page: {index}\n")
}

/// `setup --refresh-pages`: the tracking plan regenerated from the databases as they are.
async fn refresh(
    ctx: &Context,
    client: &kodo_api::NotionClient,
    state: &State,
) -> anyhow::Result<()> {
    let config = ctx.load_config()?;
    if config.notion.tracking_plan.is_none() {
        anyhow::bail!(
            "--refresh-pages: `notion.pages.tracking_plan` is not set (setup creates it under `notion.pages.analytics_home`)"
        );
    }
    let sides = Default::default();
    let rows = pages::all_rows(client, &config, state, &sides, &ctx.printer).await?;
    let (_, directory) = fetch::people(client, &ctx.printer).await?;
    let Some((status, plan)) =
        pages::tracking_plan_status(client, &config, &rows, &directory).await?
    else {
        return Ok(());
    };
    if ctx.run.dry_run {
        ctx.printer.info(&format!(
            "Dry run: the tracking-plan page {}.",
            if plan.is_noop() {
                "is up to date".to_string()
            } else {
                format!("would get {} blocks written", status.blocks_to_write)
            }
        ));
        return Ok(());
    }
    let requests = pages::apply_to(client, &status, &plan).await?;
    ctx.printer.info(&pages::describe(&status, &plan, requests));
    Ok(())
}
