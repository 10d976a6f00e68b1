//! `kodo ph-sync [action] [resource]` (and `kodo notion-sync`, `kodo snapshot refresh`): the
//! command edge of the sync engine.
//!
//! **Invariants.**
//! - Every action checks the config (the databases it needs, the tokens) before the first
//!   request, so a configuration mistake costs no network round trip.
//! - Reports and plans go to stdout; progress, warnings and logs to stderr.
//! - `--dry-run` writes nothing: not to Notion, not to `.kodo/`.
//! - Whatever read the Notion databases refreshes `.kodo/snapshot.json` and the caches in
//!   `.kodo/state.json`; only `import` records a sync time.
//! - `--check` turns "out of sync" into exit code 1 (audit, status, the default overview); a
//!   failed write is exit code 2, after every other write has been tried.
//! - `audit` and the default overview also judge the code (unless `--no-code`): the scan runs
//!   beside the reads, and a scan that fails is a warning and a "not scanned" code section,
//!   never a failed audit.

use std::collections::BTreeMap;

use anyhow::Context as _;

use crate::app::{Context, Outcome};
use crate::cli::{Action, Format};
use crate::config::Config;
use crate::model::Resource;
use crate::snapshot::{now_rfc3339, Snapshot};
use crate::state::State;

use super::apply;
use super::code::{self, CodeInput, CodeReport};
use super::fetch::{self, FetchOptions, Inventory};
use super::normalize::{experiment_flag_keys, Normalizer, ScanFacts};
use super::plan::{self, PlanInput, PlanOptions, ResourcePlan};
use super::report::{self, Findings, LastSync};
use super::{export, scan, setup};

/// Options of `ph-sync` besides the global ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub overwrite: bool,
    pub archive_orphans: bool,
    /// Leave the code out of `audit` and the overview.
    pub no_code: bool,
}

/// Runs `kodo ph-sync`.
pub async fn run(
    ctx: &Context,
    action: Option<Action>,
    resources: Vec<Resource>,
    flags: Flags,
) -> anyhow::Result<Outcome> {
    // One writer at a time: setup and import hold `.kodo/lock` for the whole run.
    let _lock = match action {
        Some(Action::Setup | Action::Import) => ctx.write_lock().await?,
        _ => None,
    };
    match action {
        Some(Action::Setup) => setup::run(ctx, &resources).await,
        Some(Action::Import) => import(ctx, &resources, flags).await,
        Some(Action::Export) => export_action(ctx, &resources).await,
        Some(Action::Audit) => audit(ctx, &resources, !flags.no_code).await,
        Some(Action::Status) => status(ctx, &resources, false, false).await,
        None => status(ctx, &resources, true, !flags.no_code).await,
    }
}

/// `kodo snapshot refresh`: reads every configured Notion database and rewrites
/// `.kodo/snapshot.json`.
pub async fn snapshot_refresh(ctx: &Context) -> anyhow::Result<Outcome> {
    let config = ctx.load_config()?;
    let resources: Vec<Resource> = Resource::ALL
        .into_iter()
        .filter(|r| config.notion.databases.get(*r).is_some())
        .collect();
    if resources.is_empty() {
        // The error names the first missing key and how to fix it.
        config.database(Resource::Events)?;
    }
    for r in Resource::ALL.iter().filter(|r| !resources.contains(r)) {
        ctx.printer.warn(&format!(
            "no Notion database configured for {r} (`notion.databases.{}`); the snapshot keeps its previous {r}",
            r.config_key()
        ));
    }
    let client = fetch::notion_client(&config, &ctx.printer)?;
    let mut state = load_state(ctx, &config);
    let sides = fetch::notion_sides(&client, &config, &resources, &state, &ctx.printer).await?;
    remember_data_sources(&config, &mut state, &sides);
    let snapshot = save_snapshot(ctx, &config, &sides, &now_rfc3339());
    save_state(ctx, &config, &state);
    let counts = format!(
        "{} events, {} flags, {} experiments, {} dashboards",
        snapshot.events.len(),
        snapshot.flags.len(),
        snapshot.experiments.len(),
        snapshot.dashboards.len()
    );
    ctx.printer.data(&format!(
        "Snapshot refreshed ({}): {counts}",
        config.kodo_dir().join(crate::snapshot::FILE_NAME).display()
    ));
    Ok(Outcome::Success)
}

fn load_state(ctx: &Context, config: &Config) -> State {
    State::load(&config.kodo_dir()).unwrap_or_else(|e| {
        ctx.printer.warn(&e.to_string());
        State::default()
    })
}

fn save_state(ctx: &Context, config: &Config, state: &State) {
    if ctx.global.dry_run {
        return;
    }
    if let Err(e) = state.save(&config.kodo_dir()) {
        ctx.printer.warn(&e.to_string());
    }
}

fn remember_data_sources(
    config: &Config,
    state: &mut State,
    sides: &BTreeMap<Resource, fetch::NotionSide>,
) {
    for (resource, side) in sides {
        if let Some(configured) = config.notion.databases.get(*resource) {
            state
                .data_sources
                .insert(configured.to_string(), side.data_source.id.clone());
        }
    }
}

/// Rewrites the snapshot's lists for the resources read, keeping the others.
fn save_snapshot(
    ctx: &Context,
    config: &Config,
    sides: &BTreeMap<Resource, fetch::NotionSide>,
    now: &str,
) -> Snapshot {
    let kodo_dir = config.kodo_dir();
    let mut snapshot = match Snapshot::load(&kodo_dir) {
        Ok(Some(s)) => s,
        Ok(None) => Snapshot::new(now),
        Err(e) => {
            ctx.printer.warn(&e.to_string());
            Snapshot::new(now)
        }
    };
    snapshot.generated_at = now.to_string();
    for (resource, side) in sides {
        snapshot.set_rows(*resource, &side.rows);
    }
    if !ctx.global.dry_run {
        if let Err(e) = snapshot.save(&kodo_dir) {
            ctx.printer.warn(&e.to_string());
        }
    }
    snapshot
}

/// Checks, before any request, that every asked resource has a database and both tokens
/// are set.
fn preflight(config: &Config, resources: &[Resource], posthog: bool) -> anyhow::Result<()> {
    for r in resources {
        config.database(*r)?;
    }
    config.notion_token()?;
    if posthog {
        config.posthog_token()?;
    }
    Ok(())
}

/// Both sides read and planned.
struct Analysis {
    config: Config,
    state: State,
    inventory: Inventory,
    plans: Vec<ResourcePlan>,
    notion: kodo_api::NotionClient,
    now: String,
    /// The code scan for the audit's code section, when asked for.
    code_scan: Option<Result<kodo_scan::ScanReport, String>>,
}

async fn analyse(
    ctx: &Context,
    resources: &[Resource],
    options: FetchOptions,
    plan_options: PlanOptions,
    judge_code: bool,
) -> anyhow::Result<Analysis> {
    let config = ctx.load_config()?;
    preflight(&config, resources, true)?;
    let notion = fetch::notion_client(&config, &ctx.printer)?;
    let posthog = fetch::posthog_client(&config, &ctx.printer)?;
    let mut state = load_state(ctx, &config);
    // Import's scan feeds the properties it writes (Tracked On, Related PR); the audit's
    // feeds its code section.
    let scan = async {
        if options.scan {
            scan::facts(&config, ctx.global.no_cache, &ctx.printer).await
        } else {
            ScanFacts::default()
        }
    };
    let code_scan = async {
        if judge_code {
            Some(scan::report(&config, ctx.global.no_cache, &ctx.printer).await)
        } else {
            None
        }
    };
    let (inventory, facts, code_scan) = tokio::join!(
        fetch::inventory(
            &config,
            &notion,
            &posthog,
            resources,
            &state,
            options,
            &ctx.printer
        ),
        scan,
        code_scan
    );
    let inventory = inventory?;
    remember_data_sources(&config, &mut state, &inventory.notion);
    for flag in inventory
        .posthog
        .flags
        .iter()
        .chain(&inventory.deleted_flags)
    {
        if flag.id > 0 {
            state.flag_ids.insert(flag.key.trim().to_string(), flag.id);
        }
    }
    let plans = make_plans(&config, &inventory, &facts, resources, plan_options, &state);
    if ctx.global.verbose > 0 {
        let stats = posthog.stats();
        ctx.printer.info(&format!(
            "PostHog: {} requests ({} retried)",
            stats.reads + stats.writes,
            stats.retries
        ));
    }
    Ok(Analysis {
        config,
        state,
        inventory,
        plans,
        notion,
        now: now_rfc3339(),
        code_scan,
    })
}

/// The audit's code section, from the analysis (none when the code was not to be judged).
fn code_report(ctx: &Context, a: &Analysis) -> Option<CodeReport> {
    let report = match a.code_scan.as_ref()? {
        Ok(report) => report,
        Err(reason) => {
            ctx.printer.warn(&format!(
                "code scan failed ({reason}); the code section says \"Not scanned\" and judges nothing"
            ));
            return Some(CodeReport::not_scanned(reason));
        }
    };
    let now = time::OffsetDateTime::parse(&a.now, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let rows = |r: Resource| a.inventory.notion.get(&r).map(|side| side.rows.as_slice());
    Some(code::findings(&CodeInput {
        scan: report,
        posthog: &a.inventory.posthog,
        deleted_flags: &a.inventory.deleted_flags,
        maybe_deleted: &a.inventory.maybe_deleted,
        notion_events: rows(Resource::Events),
        notion_flags: rows(Resource::Flags),
        include_builtin_events: a.config.sync.include_builtin_events,
        cleanup_after_days: a.config.sync.cleanup_after_days,
        now,
    }))
}

/// The hygiene section: every row read, judged against the spec's best practices.
fn hygiene_report(a: &Analysis) -> kodo_core::hygiene::Report {
    let today = time::OffsetDateTime::parse(&a.now, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .date();
    let rows: Vec<(Resource, &[crate::model::NotionRow])> = a
        .inventory
        .notion
        .iter()
        .map(|(r, side)| (*r, side.rows.as_slice()))
        .collect();
    let scan = a.code_scan.as_ref().and_then(|s| s.as_ref().ok());
    kodo_core::hygiene::findings(&kodo_core::hygiene::Input {
        plans: &a.plans,
        rows: &rows,
        directory: &a.inventory.directory,
        scan,
        settings: &a.config.sync.hygiene,
        today,
    })
}

fn make_plans(
    config: &Config,
    inventory: &Inventory,
    facts: &ScanFacts,
    resources: &[Resource],
    options: PlanOptions,
    state: &State,
) -> Vec<ResourcePlan> {
    let rules = super::rules(&config.sync);
    let n = Normalizer {
        region_url: &config.posthog.region_url,
        project_id: &config.posthog.project_id,
        rules: &rules,
        people: &inventory.people,
        scan: facts,
    };
    let ph = &inventory.posthog;
    let mut plans = Vec::new();
    for &resource in resources {
        let Some(side) = inventory.notion.get(&resource) else {
            continue;
        };
        let desired = match resource {
            Resource::Events => n.events(&ph.events),
            Resource::Flags => {
                let used = experiment_flag_keys(&ph.experiments);
                let mut d = n.flags(&ph.flags, &used);
                d.extend(
                    inventory
                        .deleted_flags
                        .iter()
                        .map(|f| n.flag(f, used.contains(f.key.trim()))),
                );
                d
            }
            Resource::Experiments => n.experiments(&ph.experiments),
            Resource::Dashboards => n.dashboards(&ph.dashboards),
        };
        plans.push(plan::plan(
            PlanInput {
                resource,
                desired,
                rows: side.rows.clone(),
                maybe_deleted: if resource == Resource::Flags {
                    inventory.maybe_deleted.clone()
                } else {
                    Default::default()
                },
                writable: Some(side.writable.clone()),
                written: state
                    .written
                    .get(resource.plural())
                    .cloned()
                    .unwrap_or_default(),
            },
            options,
        ));
    }
    plans
}

fn last_syncs(state: &State, resources: &[Resource]) -> Vec<(Resource, Option<LastSync>)> {
    resources
        .iter()
        .map(|r| {
            let last = state.last_sync.get(r.plural()).map(|l| LastSync {
                at: l.at.clone(),
                action: l.action.clone(),
            });
            (*r, last)
        })
        .collect()
}

fn reject_sarif(ctx: &Context, action: &str) -> anyhow::Result<()> {
    if ctx.global.format == Some(Format::Sarif) {
        anyhow::bail!("--format sarif is only for `kodo scan`; `{action}` writes md, json or csv");
    }
    Ok(())
}

async fn audit(ctx: &Context, resources: &[Resource], judge_code: bool) -> anyhow::Result<Outcome> {
    reject_sarif(ctx, "ph-sync audit")?;
    let a = analyse(
        ctx,
        resources,
        FetchOptions {
            users: true,
            scan: false,
        },
        PlanOptions::default(),
        judge_code,
    )
    .await?;
    let mut findings = Findings::from_plans(&a.plans);
    findings.code = code_report(ctx, &a);
    findings.hygiene = Some(hygiene_report(&a));
    let text = match ctx.global.format {
        Some(Format::Json) => report::audit_json(&findings, &a.now),
        Some(Format::Csv) => report::audit_csv(&findings),
        _ => report::audit_markdown(&findings, &a.now),
    };
    ctx.printer.data(&text);
    save_snapshot(ctx, &a.config, &a.inventory.notion, &a.now);
    save_state(ctx, &a.config, &a.state);
    Ok(check(ctx, &findings))
}

fn check(ctx: &Context, findings: &Findings) -> Outcome {
    if ctx.global.check && !findings.passes_check() {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    }
}

async fn status(
    ctx: &Context,
    resources: &[Resource],
    overview: bool,
    judge_code: bool,
) -> anyhow::Result<Outcome> {
    reject_sarif(ctx, "ph-sync status")?;
    let a = analyse(
        ctx,
        resources,
        FetchOptions {
            // The overview judges owners too; `status` only counts.
            users: overview,
            scan: false,
        },
        PlanOptions::default(),
        judge_code,
    )
    .await?;
    let mut findings = Findings::from_plans(&a.plans);
    findings.code = code_report(ctx, &a);
    if overview {
        findings.hygiene = Some(hygiene_report(&a));
    }
    let last = last_syncs(&a.state, resources);
    let text = match ctx.global.format {
        Some(Format::Json) if overview => {
            // The overview's machine form is the audit's: status counts plus every finding.
            report::audit_json(&findings, &a.now)
        }
        Some(Format::Json) => report::status_json(&findings, &last, &a.now),
        Some(Format::Csv) if overview => report::audit_csv(&findings),
        Some(Format::Csv) => report::status_csv(&findings, &last),
        _ if overview => report::overview(&findings, &last),
        _ => report::status_text(&findings, &last),
    };
    ctx.printer.data(&text);
    save_snapshot(ctx, &a.config, &a.inventory.notion, &a.now);
    save_state(ctx, &a.config, &a.state);
    Ok(check(ctx, &findings))
}

async fn import(ctx: &Context, resources: &[Resource], flags: Flags) -> anyhow::Result<Outcome> {
    reject_sarif(ctx, "ph-sync import")?;
    if ctx.global.format == Some(Format::Csv) {
        anyhow::bail!("`ph-sync import` prints its plan as md or json, not csv");
    }
    let mut a = analyse(
        ctx,
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
    let json = ctx.global.format == Some(Format::Json);
    if !json {
        ctx.printer
            .data(&report::import_plan_text(&a.plans, flags.archive_orphans));
    }
    if ctx.global.dry_run {
        if json {
            ctx.printer.data(&report::import_json(&a.plans, None, true));
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
    let outcome = apply::apply(
        &a.notion,
        &a.plans,
        &targets,
        flags.archive_orphans,
        &ctx.printer,
    )
    .await;
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
    if ctx.global.verbose > 0 {
        let stats = a.notion.stats();
        ctx.printer.info(&format!(
            "Notion: {} reads, {} writes, {} retries, {} rate-limited answers",
            stats.reads, stats.writes, stats.retries, stats.rate_limited
        ));
    }
    // What Notion now holds, for the snapshot.
    for (resource, side) in a.inventory.notion.iter_mut() {
        side.rows = apply::rows_after(&side.rows, &outcome, *resource);
    }
    save_snapshot(ctx, &a.config, &a.inventory.notion, &a.now);
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
            if !failed && !theirs {
                a.state.remember_written(p.resource.plural(), item);
            }
        }
    }
    for r in resources {
        if !failed_resources.contains(r) {
            a.state.record_sync(r.plural(), &a.now, "import");
        }
    }
    save_state(ctx, &a.config, &a.state);
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

async fn export_action(ctx: &Context, resources: &[Resource]) -> anyhow::Result<Outcome> {
    reject_sarif(ctx, "ph-sync export")?;
    if ctx.global.format == Some(Format::Csv) && resources.len() > 1 {
        anyhow::bail!(
            "--format csv writes one resource to stdout; name it, e.g. `kodo ph-sync export flags --format csv` (without --format, every resource is written to .kodo/export/)"
        );
    }
    let config = ctx.load_config()?;
    preflight(&config, resources, false)?;
    let client = fetch::notion_client(&config, &ctx.printer)?;
    let mut state = load_state(ctx, &config);
    let sides = fetch::notion_sides(&client, &config, resources, &state, &ctx.printer).await?;
    remember_data_sources(&config, &mut state, &sides);
    let now = now_rfc3339();
    match ctx.global.format {
        Some(Format::Json) => {
            let value = if let [only] = resources {
                export::rows_json(*only, &sides[only].rows)
            } else {
                serde_json::Value::Object(
                    sides
                        .iter()
                        .map(|(r, s)| (r.plural().to_string(), export::rows_json(*r, &s.rows)))
                        .collect(),
                )
            };
            let mut text = serde_json::to_string_pretty(&value)?;
            text.push('\n');
            ctx.printer.data(&text);
        }
        Some(Format::Csv) => {
            for (r, side) in &sides {
                ctx.printer.data(&export::rows_csv(*r, &side.rows));
            }
        }
        _ => {
            let dir = config.kodo_dir().join("export");
            if !ctx.global.dry_run {
                crate::state::ensure_inside(&config.root, &dir)
                    .with_context(|| format!("cannot write the export to `{}`", dir.display()))?;
            }
            for (r, side) in &sides {
                let json_path = dir.join(format!("{}.json", r.plural()));
                let csv_path = dir.join(format!("{}.csv", r.plural()));
                if ctx.global.dry_run {
                    ctx.printer.data(&format!(
                        "Would write {} and {} ({} rows)",
                        json_path.display(),
                        csv_path.display(),
                        side.rows.len()
                    ));
                    continue;
                }
                let mut json = serde_json::to_string_pretty(&export::rows_json(*r, &side.rows))?;
                json.push('\n');
                crate::state::write_atomic(&json_path, json.as_bytes())
                    .with_context(|| format!("cannot write `{}`", json_path.display()))?;
                crate::state::write_atomic(&csv_path, export::rows_csv(*r, &side.rows).as_bytes())
                    .with_context(|| format!("cannot write `{}`", csv_path.display()))?;
                ctx.printer.data(&format!(
                    "{}: {} rows → {} and {}",
                    r.title(),
                    side.rows.len(),
                    json_path.display(),
                    csv_path.display()
                ));
            }
        }
    }
    save_snapshot(ctx, &config, &sides, &now);
    save_state(ctx, &config, &state);
    Ok(Outcome::Success)
}
