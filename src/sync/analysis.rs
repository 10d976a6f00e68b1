//! The sync engine's shared run: read both sides (and the code), plan, and keep the local
//! files (`.kodo/state.json`, `.kodo/snapshot.json`) up to date. The commands in `crate::cmd`
//! (status, audit, import, export, snapshot) are built on it.
//!
//! **Invariants.**
//! - The engine takes plain values ([`Session`], resources, the config): it knows nothing of
//!   the command line (no `crate::cli`, no `crate::cmd`, no `crate::app`).
//! - Every action checks the config (the databases it needs, the tokens) before the first
//!   request ([`preflight`]), so a configuration mistake costs no network round trip.
//! - `dry_run` writes nothing: not to Notion, not to `.kodo/`.
//! - Whatever read the Notion databases refreshes `.kodo/snapshot.json` and the caches in
//!   `.kodo/state.json`.
//! - The code scan for the audit's code section runs beside the reads; a scan that fails is a
//!   warning and a "not scanned" code section, never a failed audit.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::model::Resource;
use crate::output::Printer;
use crate::snapshot::{now_rfc3339, Snapshot};
use crate::state::State;

use super::code::{self, CodeInput, CodeReport};
use super::fetch::{self, FetchOptions, Inventory};
use super::normalize::{Desired, Normalizer, ScanFacts};
use super::plan::{self, PlanInput, PlanOptions, ResourcePlan};
use super::report::LastSync;
use super::{scan, SyncError};

/// What the engine needs to know of a run, as plain values: where messages go, whether to
/// write anything, whether to use the scan cache. `crate::cmd` builds it from the command line.
#[derive(Debug, Clone, Copy)]
pub struct Session<'a> {
    pub printer: &'a Printer,
    /// Write nothing: not to Notion, not to `.kodo/`.
    pub dry_run: bool,
    /// Neither read nor write the code scan's cache.
    pub no_cache: bool,
}

pub fn load_state(s: Session<'_>, config: &Config) -> State {
    State::load(&config.kodo_dir()).unwrap_or_else(|e| {
        s.printer.warn(&e.to_string());
        State::default()
    })
}

pub fn save_state(s: Session<'_>, config: &Config, state: &State) {
    if s.dry_run {
        return;
    }
    if let Err(e) = state.save(&config.kodo_dir()) {
        s.printer.warn(&e.to_string());
    }
}

pub fn remember_data_sources(
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
        fetch::remember_property_ids(state, *resource, &side.data_source);
    }
}

/// Rewrites the snapshot's lists for the resources read, keeping the others (and the flags
/// last found dead: only a run that read PostHog's flags can tell).
pub fn save_snapshot(
    s: Session<'_>,
    config: &Config,
    sides: &BTreeMap<Resource, fetch::NotionSide>,
    now: &str,
) -> Snapshot {
    write_snapshot(s, config, sides, now, None)
}

/// [`save_snapshot`] after a run that read both sides: the flags PostHog no longer serves
/// ([`code::dead_flags`], the audit's rule) are recorded too, when flags were read.
pub fn save_analysed_snapshot(s: Session<'_>, a: &Analysis) -> Snapshot {
    let dead = a.inventory.notion.get(&Resource::Flags).map(|side| {
        code::dead_flags(&CodeInput {
            notion_events: None,
            notion_flags: Some(&side.rows),
            ..code_input(a, &Default::default(), time::OffsetDateTime::UNIX_EPOCH)
        })
    });
    write_snapshot(s, &a.config, &a.inventory.notion, &a.now, dead)
}

/// The code section's input: the scan, Notion's rows, and the normaliser's records the
/// plans were made from.
fn code_input<'a>(
    a: &'a Analysis,
    scan: &'a kodo_core::code::CodeScan,
    now: time::OffsetDateTime,
) -> CodeInput<'a> {
    let records = |r: Resource| a.records.get(&r).map_or(&[][..], Vec::as_slice);
    let rows = |r: Resource| a.inventory.notion.get(&r).map(|side| side.rows.as_slice());
    CodeInput {
        scan,
        events: records(Resource::Events),
        flags: records(Resource::Flags),
        experiments: records(Resource::Experiments),
        maybe_deleted: &a.inventory.maybe_deleted,
        notion_events: rows(Resource::Events),
        notion_flags: rows(Resource::Flags),
        include_builtin_events: a.config.sync.include_builtin_events,
        cleanup_after_days: a.config.sync.cleanup_after_days,
        now,
    }
}

fn write_snapshot(
    s: Session<'_>,
    config: &Config,
    sides: &BTreeMap<Resource, fetch::NotionSide>,
    now: &str,
    dead_flags: Option<BTreeMap<String, code::DeadState>>,
) -> Snapshot {
    let kodo_dir = config.kodo_dir();
    let mut snapshot = match Snapshot::load(&kodo_dir) {
        Ok(Some(s)) => s,
        Ok(None) => Snapshot::new(now),
        Err(e) => {
            s.printer.warn(&e.to_string());
            Snapshot::new(now)
        }
    };
    snapshot.generated_at = now.to_string();
    for (resource, side) in sides {
        snapshot.set_rows(*resource, &side.rows);
    }
    if let Some(dead) = dead_flags {
        snapshot.dead_flags = dead;
    }
    if !s.dry_run {
        if let Err(e) = snapshot.save(&kodo_dir) {
            s.printer.warn(&e.to_string());
        }
    }
    snapshot
}

/// Checks, before any request, that every asked resource has a database and both tokens
/// are set.
pub fn preflight(config: &Config, resources: &[Resource], posthog: bool) -> Result<(), SyncError> {
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
pub struct Analysis {
    pub config: Config,
    pub state: State,
    pub inventory: Inventory,
    /// The normaliser's records of everything PostHog was read for, by resource: what the
    /// plans were made from, and what the audit's code section judges the code against.
    pub records: BTreeMap<Resource, Vec<Desired>>,
    pub plans: Vec<ResourcePlan>,
    pub notion: kodo_api::NotionClient,
    /// The one PostHog client of the run: every later PostHog read (the event properties)
    /// goes through it, so its limiter counts every request made with the key. A second
    /// client would start an empty window and, within a minute of the fetch, go past
    /// PostHog's 480/minute (the sync bench's 2,000 resources at 600/window saw 8 429s).
    pub posthog: kodo_api::PostHogClient,
    pub now: String,
    /// The code scan for the audit's code section, when asked for.
    pub code_scan: Option<Result<kodo_core::code::CodeScan, String>>,
}

/// Reads PostHog, Notion (and, when asked, the code) for `resources` and plans each of them.
pub async fn analyse(
    s: Session<'_>,
    config: Config,
    resources: &[Resource],
    options: FetchOptions,
    plan_options: PlanOptions,
    judge_code: bool,
) -> Result<Analysis, SyncError> {
    preflight(&config, resources, true)?;
    let notion = fetch::notion_client(&config, s.printer)?;
    let posthog = fetch::posthog_client(&config, s.printer)?;
    let mut state = load_state(s, &config);
    // Import's scan feeds the properties it writes (Tracked On, Related PR); the audit's
    // feeds its code section.
    let scan = async {
        if options.scan {
            scan::facts(&config, s.no_cache, s.printer).await
        } else {
            ScanFacts::default()
        }
    };
    let code_scan = async {
        if judge_code {
            Some(
                scan::report(&config, s.no_cache, s.printer)
                    .await
                    .map(|r| scan::code_scan(&r)),
            )
        } else {
            None
        }
    };
    let (inventory, facts, code_scan) = tokio::join!(
        fetch::inventory(&config, &notion, &posthog, resources, &state, options, s.printer),
        scan,
        code_scan
    );
    let inventory = inventory?;
    remember_data_sources(&config, &mut state, &inventory.notion);
    let records = normalise(&config, &inventory, &facts);
    // The ids of resources whose rows hold none (flags, experiments; deleted flags found by
    // ID too): a later run reads one that left PostHog's list by it (`fetch::vanished_flags`,
    // `fetch::vanished`).
    for &resource in resources {
        for d in records.get(&resource).into_iter().flatten() {
            if let (Some(key), Some(id)) = (&d.record.keys.primary, d.posthog_id) {
                state.remember_posthog_id(resource, key, id);
            }
        }
    }
    let plans = make_plans(&inventory, &records, resources, plan_options, &state);
    if s.printer.verbose > 0 {
        let stats = posthog.stats();
        s.printer.info(&format!(
            "PostHog: {} requests ({} retried)",
            stats.reads + stats.writes,
            stats.retries
        ));
    }
    Ok(Analysis {
        config,
        state,
        inventory,
        records,
        plans,
        notion,
        posthog,
        now: now_rfc3339(),
        code_scan,
    })
}

/// The audit's code section, from the analysis (none when the code was not to be judged).
pub fn code_report(s: Session<'_>, a: &Analysis) -> Option<CodeReport> {
    let report = match a.code_scan.as_ref()? {
        Ok(report) => report,
        Err(reason) => {
            s.printer.warn(&format!(
                "code scan failed ({reason}); the code section says \"Not scanned\" and judges nothing"
            ));
            return Some(CodeReport::not_scanned(reason));
        }
    };
    let now = time::OffsetDateTime::parse(&a.now, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    Some(code::findings(&code_input(a, report, now)))
}

/// The hygiene section: every row read, judged against the spec's best practices.
pub fn hygiene_report(a: &Analysis) -> kodo_core::hygiene::Report {
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

/// The normaliser's records of what PostHog gave, for every resource (a resource PostHog
/// was not read for has none).
pub fn normalise(
    config: &Config,
    inventory: &Inventory,
    facts: &ScanFacts,
) -> BTreeMap<Resource, Vec<Desired>> {
    let rules = super::rules(&config.sync);
    let n = Normalizer {
        region_url: &config.posthog.region_url,
        project_id: &config.posthog.project_id,
        rules: &rules,
        people: &inventory.people,
        scan: facts,
    };
    Resource::ALL
        .iter()
        .map(|&r| (r, n.desired(r, &inventory.posthog)))
        .collect()
}

pub fn make_plans(
    inventory: &Inventory,
    records: &BTreeMap<Resource, Vec<Desired>>,
    resources: &[Resource],
    options: PlanOptions,
    state: &State,
) -> Vec<ResourcePlan> {
    let mut plans = Vec::new();
    for &resource in resources {
        let Some(side) = inventory.notion.get(&resource) else {
            continue;
        };
        let desired = records.get(&resource).cloned().unwrap_or_default();
        plans.push(plan::plan(
            PlanInput {
                resource,
                desired,
                rows: side.rows.clone(),
                maybe_deleted: if resource
                    .schema()
                    .deletion
                    .as_ref()
                    .is_some_and(|d| d.readable_when_deleted)
                {
                    inventory.maybe_deleted.clone()
                } else {
                    Default::default()
                },
                deleted: inventory
                    .deleted
                    .get(&resource)
                    .cloned()
                    .unwrap_or_default(),
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

pub fn last_syncs(state: &State, resources: &[Resource]) -> Vec<(Resource, Option<LastSync>)> {
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

/// How many PostHog property reads are in flight at once (the client's limiter sets the pace).
const PROPERTY_READS_IN_FLIGHT: usize = 4;

/// The Properties section: every event's schema against what the code sends (from `code`,
/// when the scan ran) and what PostHog has seen with it (read now, one paginated request per
/// PostHog event). `None` when events were not read.
pub async fn property_report(
    s: Session<'_>,
    a: &Analysis,
    code: Option<&kodo_scan::ScanReport>,
) -> Option<kodo_core::properties::Report> {
    let side = a.inventory.notion.get(&Resource::Events)?;
    let plan = a.plans.iter().find(|p| p.resource == Resource::Events)?;
    let creates: Vec<&crate::sync::normalize::Desired> =
        plan.creates().map(|i| &i.desired).collect();
    Some(property_report_of(s, a, code, &side.rows, &creates).await)
}

/// [`property_report`] for these event `rows` and the events `creates` makes.
pub async fn property_report_of(
    s: Session<'_>,
    a: &Analysis,
    code: Option<&kodo_scan::ScanReport>,
    rows: &[crate::model::NotionRow],
    creates: &[&crate::sync::normalize::Desired],
) -> kodo_core::properties::Report {
    use futures_util::StreamExt;
    let mut observed = kodo_core::properties::Observed::default();
    if let Some(report) = code {
        (observed.code_scanned, observed.code) = scan::code_properties(report);
    }
    let names: Vec<String> = a
        .inventory
        .posthog
        .events
        .iter()
        .map(|e| e.name.trim().to_string())
        .filter(|n| !n.is_empty() && !crate::sync::normalize::is_builtin_event(n))
        .collect();
    if !names.is_empty() {
        let client = &a.posthog;
        let reads: Vec<(
            String,
            Result<Vec<kodo_api::PropertyDefinition>, kodo_api::ApiError>,
        )> = futures_util::stream::iter(names)
            .map(|name| async move {
                let got = client.event_properties(&name).await;
                (name, got)
            })
            .buffer_unordered(PROPERTY_READS_IN_FLIGHT)
            .collect()
            .await;
        let mut failed: Vec<String> = Vec::new();
        for (name, got) in reads {
            match got {
                Ok(list) => {
                    observed.posthog.insert(
                        name,
                        list.into_iter()
                            .map(|p| {
                                let kind = p.property_type.as_deref().and_then(
                                    kodo_core::property_schema::PropertyType::from_posthog,
                                );
                                (p.name, kind)
                            })
                            .collect(),
                    );
                }
                Err(e) => failed.push(format!("{name}: {e}")),
            }
        }
        if !failed.is_empty() {
            failed.sort();
            s.printer.warn(&format!(
                "PostHog's properties of {} events could not be read (the first: {}); those events are judged on the code alone (a personal API key needs the `property_definition:read` scope)",
                failed.len(),
                failed[0]
            ));
        }
    }

    kodo_core::properties::report(
        rows,
        creates,
        &observed,
        a.config.sync.require_documented_properties,
    )
}
