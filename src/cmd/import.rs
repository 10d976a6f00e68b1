//! `kodo ph-sync import [resource]` (and `kodo notion-sync --direction push`): create missing
//! and update stale Notion entries from PostHog, exactly once each.
//!
//! **Invariants.** Holds `.kodo/lock` for the whole run (one writer per repository).
//! `--dry-run` prints the plan and writes nothing. A failed write is exit code 2, after every
//! other write has been tried; only the resources written without failure record a sync time.

use std::collections::BTreeMap;

use crate::cli::{ReportFormat, SyncFormat};
use crate::model::Resource;
use crate::sync::analysis;
use crate::sync::apply;
use crate::sync::fetch::FetchOptions;
use crate::sync::pages;
use crate::sync::plan::PlanOptions;
use crate::sync::report;

use super::{Context, Outcome};

/// Options of the import besides `--config`, `-q`, `-v` and the run-wide switches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    /// Overwrite the properties people write.
    pub overwrite: bool,
    /// Move orphaned rows to the trash.
    pub archive_orphans: bool,
    /// `--yes`: write without asking on a terminal.
    pub yes: bool,
}

/// `notion-sync --direction push` takes the sync formats; its plan is md or json.
pub fn push_format(format: Option<SyncFormat>) -> anyhow::Result<Option<ReportFormat>> {
    Ok(match format {
        None => None,
        Some(SyncFormat::Md) => Some(ReportFormat::Md),
        Some(SyncFormat::Json) => Some(ReportFormat::Json),
        Some(SyncFormat::Csv) => {
            anyhow::bail!("`notion-sync --direction push` prints its plan as md or json, not csv")
        }
    })
}

pub async fn run(
    ctx: &Context,
    resources: &[Resource],
    format: Option<ReportFormat>,
    flags: Flags,
) -> anyhow::Result<Outcome> {
    // One writer at a time: the import holds `.kodo/lock` for the whole run.
    let _lock = ctx.write_lock().await?;
    let config = ctx.load_config()?;
    let mut a = analysis::analyse(
        ctx.session(),
        config,
        resources,
        FetchOptions {
            users: true,
            scan: true,
        },
        PlanOptions {
            overwrite: flags.overwrite,
        },
        false,
    )
    .await?;
    // Each event's Properties schema is extended after the plan's own writes (so the
    // creates go out right after the rows were read); a dry run shows it from the plan.
    let code = if a.plans.iter().any(|p| p.resource == Resource::Events) {
        crate::sync::scan::report(&a.config, ctx.session().no_cache, &ctx.printer)
            .await
            .ok()
    } else {
        None
    };
    let json = format == Some(ReportFormat::Json);
    if !json {
        ctx.printer.data(&report::import_plan_text(
            &a.plans,
            flags.archive_orphans,
            &a.inventory.directory,
        ));
    }
    if ctx.run.dry_run {
        if !json {
            if let Some(p) = analysis::property_report(ctx.session(), &a, code.as_ref()).await {
                ctx.printer.data(&schema_plan_text(&p.writes));
            }
        }
        if json {
            ctx.printer.data(&report::import_json(&a.plans, None, true));
        }
        if a.config.notion.tracking_plan.is_some() {
            ctx.printer.info(
                "The tracking-plan page is regenerated after the rows are written (`kodo ph-sync audit` shows whether it is out of date).",
            );
        }
        ctx.printer.info("Dry run: nothing was written.");
        return Ok(Outcome::Success);
    }
    let targets: BTreeMap<Resource, apply::Target> = a
        .inventory
        .notion
        .iter()
        .map(|(r, side)| {
            let target = apply::Target {
                data_source: side.data_source.id.clone(),
                writable: side.writable.clone(),
                read_at: side.read_at,
            };
            (*r, target)
        })
        .collect();
    // On a terminal, a large or destructive import asks first (after the plan, above).
    let writes: usize = a
        .plans
        .iter()
        .map(|p| {
            let archives = if flags.archive_orphans {
                p.orphans.len()
            } else {
                0
            };
            p.creates().count() + p.updates().count() + archives
        })
        .sum();
    let archives: usize = a
        .plans
        .iter()
        .filter(|_| flags.archive_orphans)
        .map(|p| p.orphans.len())
        .sum();
    let ask = super::confirm::Ask {
        writes,
        archives,
        overwrite: flags.overwrite,
        yes: flags.yes,
        terminal: super::confirm::on_terminal(),
    };
    if let Some(question) = super::confirm::question(ask) {
        if !super::confirm::ask(&question).await? {
            eprintln!("Import cancelled: nothing was written (--yes writes without asking).");
            return Ok(Outcome::CheckFailed);
        }
    }
    // From here on Ctrl-C finishes the writes in flight and reports what was written.
    let stop = apply::Stop::on_ctrl_c(&ctx.printer);
    let mut outcome = apply::apply(
        &a.notion,
        &a.plans,
        &targets,
        flags.archive_orphans,
        &ctx.printer,
        &stop,
    )
    .await;
    // The rows not written (the schema writes below add their own entries to `left`).
    let rows_left = outcome.left.clone();
    let mut schemas_written = apply::Outcome::default();
    let side = a
        .inventory
        .notion
        .get(&Resource::Events)
        .filter(|_| !outcome.interrupted);
    if let Some(side) = side {
        // The rows just created are rows now: the report extends their schemas too.
        let rows = apply::rows_after(&side.rows, &outcome, Resource::Events);
        let p = analysis::property_report_of(ctx.session(), &a, code.as_ref(), &rows, &[]).await;
        schemas_written = write_schemas(&a.notion, &p.writes, &mut outcome, &stop).await;
        if !json && !p.writes.is_empty() {
            ctx.printer.data(&schema_plan_text(&p.writes));
        }
    }
    if json {
        ctx.printer
            .data(&report::import_json(&a.plans, Some(&outcome), false));
    } else {
        ctx.printer.data(&report::import_summary(&outcome));
        let orphans: usize = a.plans.iter().map(|p| p.orphans.len()).sum();
        if orphans > 0 && !flags.archive_orphans {
            ctx.printer.info(&format!(
                "{orphans} orphaned Notion entries were left as they are (`kodo ph-sync audit` lists them; --archive-orphans moves them to the trash)."
            ));
        }
    }
    if ctx.common.verbose > 0 {
        let stats = a.notion.stats();
        ctx.printer.info(&format!(
            "Notion: {} reads, {} writes, {} retries, {} rate-limited answers",
            stats.reads, stats.writes, stats.retries, stats.rate_limited
        ));
    }
    // What Notion now holds, for the snapshot.
    for (resource, side) in a.inventory.notion.iter_mut() {
        side.rows = apply::rows_after(&side.rows, &outcome, *resource);
        side.rows = apply::rows_after(&side.rows, &schemas_written, *resource);
    }
    analysis::save_analysed_snapshot(ctx.session(), &a);
    let failed_resources: Vec<Resource> = outcome.failed.iter().map(|f| f.resource).collect();
    for p in &a.plans {
        for item in &p.items {
            let key = &item.desired.record.key;
            let failed = outcome
                .failed
                .iter()
                .any(|f| f.resource == p.resource && &f.key == key);
            // A row another run created holds what that run wrote, not this plan's text.
            let theirs = outcome
                .existing
                .iter()
                .any(|(r, k)| *r == p.resource && k == key);
            let left = rows_left
                .iter()
                .any(|w| w.resource == p.resource && &w.key == key);
            if !failed && !theirs && !left {
                a.state.remember_written(p.resource.plural(), item);
            }
        }
    }
    for r in resources {
        if !failed_resources.contains(r) && !outcome.interrupted {
            a.state.record_sync(r.plural(), &a.now, "import");
        }
    }
    analysis::save_state(ctx.session(), &a.config, &a.state);
    if outcome.interrupted {
        // The tracking-plan page waits for a complete run; the report above says what is left.
        return Ok(Outcome::Interrupted);
    }
    let page_failed = refresh_tracking_plan(ctx, &a).await.err();
    if let Some(e) = page_failed {
        if outcome.failed.is_empty() {
            return Err(e.context(
                "the rows were written, but the tracking-plan page could not be brought up to date; re-run `kodo ph-sync import` (or `kodo ph-sync setup --refresh-pages`)",
            ));
        }
        ctx.printer
            .warn(&format!("the tracking-plan page was not updated: {e:#}"));
    }
    if !outcome.failed.is_empty() {
        let total = outcome.created
            + outcome.recovered
            + outcome.updated
            + outcome.archived
            + outcome.failed.len();
        anyhow::bail!(
            "{} of {total} Notion writes failed (listed above); re-run `kodo ph-sync import` to retry them — it is safe to repeat",
            outcome.failed.len()
        );
    }
    Ok(Outcome::Success)
}

/// The Properties schemas import extends, one line per event.
fn schema_plan_text(writes: &[kodo_core::properties::SchemaWrite]) -> String {
    if writes.is_empty() {
        return "Properties schemas: nothing to add".into();
    }
    let mut text = format!("Properties schemas: {} to extend\n", writes.len());
    for w in writes {
        text.push_str(&format!("  ~ {}: add {}\n", w.event, w.added.join(", ")));
    }
    text
}

/// Writes each extended schema (only the Properties property of each row), counting into
/// `outcome`; returns what was written (for the snapshot).
async fn write_schemas(
    notion: &kodo_api::NotionClient,
    writes: &[kodo_core::properties::SchemaWrite],
    outcome: &mut apply::Outcome,
    stop: &apply::Stop,
) -> apply::Outcome {
    let mut written = apply::Outcome::default();
    let Some(property) = kodo_core::properties::schema_property() else {
        return written;
    };
    let Some(spec) = Resource::Events.schema().property(property) else {
        return written;
    };
    for w in writes {
        let Some(page_id) = &w.page_id else {
            continue;
        };
        let write = apply::Write {
            resource: Resource::Events,
            key: w.event.clone(),
            action: "update",
        };
        if stop.requested() {
            outcome.interrupted = true;
            outcome.left.push(write);
            continue;
        }
        let body = serde_json::json!({
            property: crate::model::encode(spec, &crate::model::PropValue::Text(w.text.clone()))
        });
        match notion.update_page(page_id, body).await {
            Ok(page) => {
                outcome.updated += 1;
                outcome.written.push(write);
                let url = Some(page.url.as_str()).filter(|u| !u.is_empty());
                written
                    .rows
                    .entry(Resource::Events)
                    .or_default()
                    .push(crate::model::decode_page(
                        Resource::Events,
                        &page.id,
                        url,
                        &page.properties,
                    ));
            }
            Err(e) => outcome.failed.push(kodo_core::outcome::Failure {
                resource: Resource::Events,
                key: w.event.clone(),
                action: "update",
                error: e.to_string(),
            }),
        }
    }
    outcome.written.sort();
    outcome.left.sort();
    written
}

/// Regenerates the tracking-plan page from the rows as they are now (when
/// `notion.pages.tracking_plan` is set): only the blocks that differ are written.
async fn refresh_tracking_plan(ctx: &Context, a: &analysis::Analysis) -> anyhow::Result<()> {
    if a.config.notion.tracking_plan.is_none() {
        return Ok(());
    }
    let rows = pages::all_rows(
        &a.notion,
        &a.config,
        &a.state,
        &a.inventory.notion,
        &ctx.printer,
    )
    .await?;
    let Some((status, plan)) =
        pages::tracking_plan_status(&a.notion, &a.config, &rows, &a.inventory.directory).await?
    else {
        return Ok(());
    };
    ctx.printer.info(&pages::describe(
        &status,
        &plan,
        pages::apply_to(&a.notion, &status, &plan).await?,
    ));
    Ok(())
}
