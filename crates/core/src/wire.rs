//! The versioned JSON wire types: the contract of `kodo ph-sync audit --format json` (and of
//! the default report, which prints the same document), of `kodo ph-sync status --format
//! json`, of `kodo ph-sync import --format json`, of `setup`, `document` and `export` with
//! `--format json` (and `.kodo/export/<resource>.json`), and of `kodo doctor --format json`.
//! The scan's document is `kodo_scan::wire` (kodo-core does not depend on the scanner); the
//! hooks' are `kodo::hooks::wire`.
//!
//! The renderers build these types from the engine's own ([`crate::report::Findings`],
//! [`crate::plan::ResourcePlan`], [`crate::outcome::Outcome`]) and serialize them; a reader
//! (the plugin, a CI job, kodo's own tests) deserializes the same types. So the internal
//! types can change freely, and the JSON changes only here.
//!
//! **Invariants.**
//! - Versioned: every document starts with `"version": 1` ([`VERSION`]); fields are only
//!   ever added, never renamed or removed, and a new field deserializes with a default, so a
//!   reader of version 1 reads every later version-1 document.
//! - Stable order: resources in the spec's order (events, flags, experiments, dashboards),
//!   then by key, as the engine produces them; [`PerResource`] keeps the order it is given.
//! - Property values are plain JSON, as Notion shows them to people: text and select options
//!   as strings, numbers, booleans, lists of strings (multi-select, people's Notion IDs),
//!   dates as ISO 8601 strings, and `null` for an empty select, number, URL or date.
//!
//! **The audit is the import's plan.** Every write [`Import::plan`] holds is one finding of
//! the [`Audit`]: a create is in [`Audit::undocumented`], a status change in
//! [`Audit::mismatches`], every other property write in [`Audit::stale`] (with the same
//! [`Change`]s). The audit's other findings are what the import does not write, and each says
//! why: [`Audit::orphaned`] (`reason`; archived only with `--archive-orphans`),
//! [`Audit::edited`] (a person's wording, kept; replaced only with `--overwrite`),
//! [`Audit::planned`] (documented first, not in PostHog yet), [`Audit::code`] (the code is
//! changed by people), [`Audit::hygiene`] (`detail` says what to do) and
//! [`Audit::properties`] (`fix` says what import does).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use kodo_refs::Kind;

use crate::code::{DeadState, System};
use crate::hygiene::{Level, Rule};
use crate::model::Resource;
use crate::plan::{OrphanReason, ResourcePlan, Step};
use crate::properties::{Fix, Source};
use crate::property_schema::PropertyType;

/// The version of every document this module describes.
pub const VERSION: u32 = 1;

/// One value per resource, in the order given (the spec's), as a JSON object keyed by the
/// resource's plural name (`events`, `flags`, `experiments`, `dashboards`).
#[derive(Debug, Clone, PartialEq)]
pub struct PerResource<T>(pub Vec<(Resource, T)>);

impl<T> PerResource<T> {
    /// The value for `resource`, if the document has one.
    pub fn get(&self, resource: Resource) -> Option<&T> {
        self.0.iter().find(|(r, _)| *r == resource).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = &(Resource, T)> {
        self.0.iter()
    }
}

impl<T> Default for PerResource<T> {
    fn default() -> Self {
        PerResource(Vec::new())
    }
}

impl<T: Serialize> Serialize for PerResource<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (resource, value) in &self.0 {
            map.serialize_entry(resource.plural(), value)?;
        }
        map.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for PerResource<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Entries<T> {
            type Value = PerResource<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object keyed by resource (events, flags, experiments, dashboards)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let resource = Resource::from_plural(&key).ok_or_else(|| {
                        serde::de::Error::custom(format!("`{key}` is not a resource"))
                    })?;
                    entries.push((resource, map.next_value()?));
                }
                Ok(PerResource(entries))
            }
        }
        d.deserialize_map(Entries(PhantomData))
    }
}

// ---- audit ----------------------------------------------------------------------------------

/// `kodo ph-sync audit --format json` (and the default report's JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Audit {
    /// [`VERSION`].
    pub version: u32,
    /// When the audit ran (RFC 3339, UTC).
    pub generated_at: String,
    /// For each resource asked for: its counts.
    pub summary: PerResource<Counts>,
    /// In PostHog, not in Notion: `import` creates the row.
    pub undocumented: Vec<Finding>,
    /// In Notion, not in PostHog (`reason` says how kodo knows); `import` archives them only
    /// with `--archive-orphans`.
    pub orphaned: Vec<Finding>,
    /// Documented with the wrong status; `import` writes the status.
    pub mismatches: Vec<Finding>,
    /// Documented with the right status, and another value `import` would write (an
    /// out-of-date fact, or an empty property it fills): `changes` lists each.
    pub stale: Vec<Finding>,
    /// Documented first and not in PostHog yet (a `planned` event, a `draft` flag): not an
    /// error, nothing to write.
    pub planned: Vec<Finding>,
    /// Text kodo derives (a flag's Name and Targeting) that a person changed in Notion:
    /// `import` keeps it; `--overwrite` replaces it (`changes`: Notion's value, PostHog's).
    pub edited: Vec<Finding>,
    /// What the source code says; `null` when the code was not judged (`--no-code`).
    pub code: Option<Code>,
    /// No undocumented, orphaned, mismatched or stale item, no name in the code that Notion
    /// lacks, no check of a flag PostHog no longer serves.
    pub in_sync: bool,
    /// The spec's best practices, one finding per row and rule.
    pub hygiene: Vec<HygieneFinding>,
    /// How many hygiene findings fail `--check` (rules set to `"error"`).
    pub hygiene_errors: usize,
    /// Each event's properties against its documented schema.
    pub properties: Vec<PropertyFinding>,
    /// How many property findings fail `--check` (`sync.require_documented_properties`).
    pub property_errors: usize,
    /// The Tracking Plan page against the databases; absent when
    /// `notion.pages.tracking_plan` is not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_plan: Option<TrackingPlan>,
}

/// One resource's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub posthog: usize,
    pub notion: usize,
    pub undocumented: usize,
    pub orphaned: usize,
    pub mismatches: usize,
    pub stale: usize,
    pub planned: usize,
    pub edited: usize,
}

/// One finding of the audit's sync lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub resource: Resource,
    /// The row's key: an event's name, a flag's or experiment's key, a dashboard's name.
    pub key: String,
    /// Dashboards: PostHog's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The status Notion shows; `null` when there is no row.
    pub notion_status: Option<String>,
    /// PostHog's status in the spec's words; `null` when PostHog has none.
    pub posthog_status: Option<String>,
    /// Human words: PostHog's state ("active at 25%"), the orphan's reason, the stale
    /// properties.
    pub detail: String,
    /// Orphans only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<OrphanReason>,
    /// The Notion page, when there is one.
    pub url: Option<String>,
    /// Stale and edited findings: each property, Notion's value and PostHog's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
}

/// One property that would change: Notion's value (`from`) and the one written (`to`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The Notion property's name.
    pub property: String,
    pub from: Value,
    pub to: Value,
}

/// The audit's code section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Code {
    /// Whether the scan ran and succeeded.
    pub scanned: bool,
    /// Why the code was not scanned (only when `scanned` is false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub files_scanned: usize,
    /// Names the code uses that PostHog or Notion lacks.
    pub in_code_only: Vec<InCodeOnly>,
    /// Documented names no code uses.
    pub unreferenced: Vec<Unreferenced>,
    /// Checks of flags PostHog no longer serves: live bugs.
    pub dead_flag_references: Vec<DeadFlag>,
    /// Flags released to everyone since before `sync.cleanup_after_days`, still checked.
    pub cleanup_candidates: Vec<Cleanup>,
    /// Keys the scan could not resolve.
    pub dynamic: Vec<Dynamic>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InCodeOnly {
    pub kind: Kind,
    pub key: String,
    /// Where the name is missing: `posthog`, `notion`.
    pub missing: Vec<System>,
    /// `path:line` of each reference.
    pub references: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unreferenced {
    pub resource: Resource,
    pub key: String,
}

/// A check in code of a flag PostHog no longer serves (a live bug).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadFlag {
    pub key: String,
    /// Why PostHog no longer serves it: `deleted` (deleted in PostHog, or gone from its list
    /// while Notion documents it as archived), `archived` (archived in PostHog: still listed,
    /// done for good), `not_found` (its remembered ID is gone), `inactive` (inactive and
    /// documented as archived), `experiment_archived` (inactive or gone, and its experiment
    /// is archived).
    pub posthog_state: DeadState,
    /// `path:line` of each reference.
    pub references: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cleanup {
    pub key: String,
    /// The day of the flag's last change in PostHog (`YYYY-MM-DD`).
    pub since: String,
    pub references: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dynamic {
    pub kind: Kind,
    pub path: String,
    pub line: u32,
    pub snippet: String,
    pub reason: String,
}

/// A row that breaks one of the spec's best practices. `import` does not fix these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HygieneFinding {
    pub resource: Resource,
    pub key: String,
    pub rule: Rule,
    pub level: Level,
    /// What is wrong and what to do about it.
    pub detail: String,
    pub url: Option<String>,
    /// The row's current Owner; `null` when it has none.
    pub owner: Option<String>,
    /// `cleanup-overdue`: where the code still checks the flag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// One event property against the event's documented schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyFinding {
    pub event: String,
    pub kind: crate::properties::Kind,
    /// `null` for an unreadable schema.
    pub property: Option<String>,
    pub seen_by: Vec<Source>,
    /// Where the code sends it (`path:line`).
    pub references: Vec<String>,
    pub schema_type: Option<String>,
    pub posthog_type: Option<PropertyType>,
    /// What `import` does about it.
    pub fix: Fix,
    pub detail: String,
    pub url: Option<String>,
}

/// The Tracking Plan page against the databases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingPlan {
    pub page_id: String,
    /// kodo's region of the page shows what the databases say.
    pub in_sync: bool,
    /// kodo's region is not on the page yet.
    pub missing: bool,
    /// The sections that differ, by title.
    pub changed: Vec<String>,
    /// Top-level blocks `import` would write.
    pub blocks_to_write: usize,
}

// ---- status ---------------------------------------------------------------------------------

/// `kodo ph-sync status --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// [`VERSION`].
    pub version: u32,
    /// When the status was taken (RFC 3339, UTC).
    pub generated_at: String,
    /// For each resource asked for: the audit's counts and the last sync.
    pub resources: PerResource<ResourceStatus>,
    /// As [`Audit::in_sync`].
    pub in_sync: bool,
}

/// One resource's status: the audit's [`Counts`], then `last_sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceStatus {
    #[serde(flatten)]
    pub counts: Counts,
    /// The last `import` or `export` of this resource from this checkout; `null` when none.
    pub last_sync: Option<LastSync>,
}

/// When a resource was last synced, and by which action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSync {
    /// RFC 3339, UTC.
    pub at: String,
    /// `import` or `export`.
    pub action: String,
}

// ---- import ---------------------------------------------------------------------------------

/// `kodo ph-sync import --format json`, with or without `--dry-run`: the plan, then what was
/// written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Import {
    /// [`VERSION`].
    pub version: u32,
    pub dry_run: bool,
    /// For each resource asked for: what the import writes (or would write).
    pub plan: PerResource<Plan>,
    /// What was written; `null` in a dry run.
    pub result: Option<ImportResult>,
}

/// One resource's writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The keys whose rows are created.
    pub create: Vec<String>,
    /// The rows updated, each with the properties written.
    pub update: Vec<Update>,
    /// How many rows need nothing.
    pub unchanged: usize,
    /// Rows with no PostHog counterpart (archived only with `--archive-orphans`).
    pub orphaned: Vec<Orphan>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub key: String,
    pub page_id: String,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Orphan {
    pub key: String,
    pub page_id: String,
    pub reason: OrphanReason,
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportResult {
    pub created: usize,
    /// Creates whose answer was lost and whose row turned out to exist.
    pub recovered: usize,
    /// Rows another writer created meanwhile, found and not created again:
    /// `[resource, key]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub existing: Vec<(Resource, String)>,
    pub updated: usize,
    pub unchanged: usize,
    pub archived: usize,
    pub failed: Vec<ImportFailure>,
    /// Every write that landed (created, recovered, updated or archived), by resource and key.
    #[serde(default)]
    pub written: Vec<ImportWrite>,
    /// The run was interrupted (Ctrl-C, exit code 130): the writes in flight were finished,
    /// the others were not started and are listed in `left`.
    #[serde(default)]
    pub interrupted: bool,
    /// The writes not started because the run was interrupted; a re-run writes them.
    #[serde(default)]
    pub left: Vec<ImportWrite>,
}

/// One write of the plan: which row, and what was (or would have been) done to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportWrite {
    pub resource: Resource,
    pub key: String,
    /// `create`, `update` or `archive`.
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportFailure {
    pub resource: Resource,
    pub key: String,
    /// `create`, `update` or `archive`.
    pub action: String,
    pub error: String,
}

// ---- setup and document -----------------------------------------------------------------

/// `kodo ph-sync setup --format json`: what setup did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    /// [`VERSION`].
    pub version: u32,
    pub dry_run: bool,
    /// One entry per database, in the spec's order.
    pub resources: Vec<SetupDatabase>,
    /// The documentation pages (`setup` with `notion.pages.analytics_home`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<SetupPages>,
}

/// What setup did to one database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupDatabase {
    pub resource: Resource,
    /// `created`, `adopted` (a database kodo created earlier, found by its title and marker),
    /// `updated` or `unchanged`; in a dry run `would_create`, `would_adopt`, `would_update`
    /// or `unchanged`.
    pub action: String,
    /// The database's ID (`null` in a dry run that would create it).
    pub database_id: Option<String>,
    /// The properties added to the database.
    pub added_properties: Vec<String>,
    /// Property → the select options added to it.
    pub added_options: std::collections::BTreeMap<String, Vec<String>>,
}

/// What setup did to the documentation pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupPages {
    /// The Tracking Plan page (`null` in a dry run that would create it).
    pub tracking_plan: Option<String>,
    /// `configured`, `adopted` or `created` (`would_create` in a dry run).
    pub tracking_plan_action: String,
    /// The index on the analytics page: `created`, `updated` or `unchanged` (`would_…` in a
    /// dry run).
    pub index_action: String,
}

/// `kodo ph-sync document … --format json`: the row written (or, in a dry run, that would be).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// [`VERSION`].
    pub version: u32,
    pub resource: Resource,
    pub key: String,
    /// `created`, `recovered` (an earlier send whose answer was lost had created the row; it
    /// was read, not sent again), `updated`, `unchanged`, `would_create` or `would_update`.
    pub action: String,
    /// The row (`null` in a dry run that would create it).
    pub page_id: Option<String>,
    pub url: Option<String>,
    /// The properties written (or that would be).
    pub properties: Vec<String>,
    /// The changes made to an existing row: Notion's value before and the one written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// Another writer created the row after kodo saw it missing; kodo wrote only what was
    /// asked to it.
    pub created_meanwhile: bool,
    /// Whether `.kodo/snapshot.json` now lists the key (the hooks accept it offline).
    pub snapshot_updated: bool,
}

// ---- export ---------------------------------------------------------------------------------

/// `kodo ph-sync export [resource] --format json`, and each `.kodo/export/<resource>.json`
/// (with its one resource): Notion's rows as plain JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Export {
    /// [`VERSION`].
    pub version: u32,
    /// For each resource exported: its rows, sorted by key, then page ID.
    pub resources: PerResource<Vec<ExportRow>>,
}

/// One Notion row: its page, then every property of the resource's schema, by its Notion
/// name (`"Flag Key"`, `"Rollout %"`), in the schema's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRow {
    pub page_id: String,
    pub url: Option<String>,
    /// Property name → plain JSON: text and select options as strings, multi-selects as
    /// lists of strings, numbers, booleans, dates as `YYYY-MM-DD`, people as lists of
    /// `{"id", "name", "email"}` (`name` and `email` `null` for a user kodo cannot read),
    /// `null` when empty.
    #[serde(flatten)]
    pub properties: serde_json::Map<String, Value>,
}

// ---- doctor ---------------------------------------------------------------------------------

/// `kodo doctor --format json`: one entry per check, in the order run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doctor {
    /// [`VERSION`].
    pub version: u32,
    /// No check failed (warnings allowed); the exit code is 1 otherwise.
    pub ok: bool,
    pub checks: Vec<DoctorCheck>,
}

/// One check of `kodo doctor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorCheck {
    /// What was checked (`config`, `notion token`, `flags database`, …).
    pub check: String,
    pub status: CheckStatus,
    /// What kodo found; never a token's value.
    pub detail: String,
    /// What to do, for a warning or a failure; `null` otherwise.
    pub hint: Option<String>,
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Ok,
    Warn,
    Fail,
}

// ---- from the engine's types ----------------------------------------------------------------

impl Audit {
    /// The audit document of `f`, generated at `generated_at`.
    pub fn of(f: &crate::report::Findings, generated_at: &str) -> Audit {
        let list = |findings: &[crate::report::Finding]| findings.iter().map(Finding::of).collect();
        Audit {
            version: VERSION,
            generated_at: generated_at.to_string(),
            summary: PerResource(
                f.summary
                    .iter()
                    .map(|s| (s.resource, Counts::of(s)))
                    .collect(),
            ),
            undocumented: list(&f.undocumented),
            orphaned: list(&f.orphaned),
            mismatches: list(&f.mismatches),
            stale: list(&f.stale),
            planned: list(&f.planned),
            edited: list(&f.edited),
            code: f.code.as_ref().map(Code::of),
            in_sync: f.in_sync(),
            hygiene: f.hygiene.as_ref().map_or_else(Vec::new, |h| {
                h.findings.iter().map(HygieneFinding::of).collect()
            }),
            hygiene_errors: f.hygiene_errors(),
            properties: f.properties.as_ref().map_or_else(Vec::new, |p| {
                p.findings.iter().map(PropertyFinding::of).collect()
            }),
            property_errors: f.property_errors(),
            tracking_plan: f.tracking_plan.as_ref().map(|t| TrackingPlan {
                page_id: t.page_id.clone(),
                in_sync: t.in_sync,
                missing: t.missing,
                changed: t.changed.clone(),
                blocks_to_write: t.blocks_to_write,
            }),
        }
    }
}

impl Counts {
    fn of(s: &crate::report::Summary) -> Counts {
        Counts {
            posthog: s.posthog,
            notion: s.notion,
            undocumented: s.undocumented,
            orphaned: s.orphaned,
            mismatches: s.mismatches,
            stale: s.stale,
            planned: s.planned,
            edited: s.edited,
        }
    }
}

impl Status {
    /// The status document of `f`, with each resource's last sync, taken at `generated_at`.
    pub fn of(
        f: &crate::report::Findings,
        last: &[(Resource, Option<crate::report::LastSync>)],
        generated_at: &str,
    ) -> Status {
        Status {
            version: VERSION,
            generated_at: generated_at.to_string(),
            resources: PerResource(
                f.summary
                    .iter()
                    .map(|s| {
                        let last_sync = last
                            .iter()
                            .find(|(r, _)| *r == s.resource)
                            .and_then(|(_, l)| l.as_ref())
                            .map(|l| LastSync {
                                at: l.at.clone(),
                                action: l.action.clone(),
                            });
                        (
                            s.resource,
                            ResourceStatus {
                                counts: Counts::of(s),
                                last_sync,
                            },
                        )
                    })
                    .collect(),
            ),
            in_sync: f.in_sync(),
        }
    }
}

impl Finding {
    fn of(f: &crate::report::Finding) -> Finding {
        Finding {
            resource: f.resource,
            key: f.key.clone(),
            id: f.id,
            notion_status: f.notion_status.clone(),
            posthog_status: f.posthog_status.clone(),
            detail: f.detail.clone(),
            reason: f.reason,
            url: f.url.clone(),
            changes: f.changes.iter().map(Change::of).collect(),
        }
    }
}

impl Change {
    /// The wire form of a planned change.
    pub fn of(c: &crate::plan::Change) -> Change {
        Change {
            property: c.property.to_string(),
            from: serde_json::to_value(&c.from).unwrap_or(Value::Null),
            to: serde_json::to_value(&c.to).unwrap_or(Value::Null),
        }
    }
}

impl Code {
    pub(crate) fn of(c: &crate::code::CodeReport) -> Code {
        Code {
            scanned: c.scanned,
            reason: c.reason.clone(),
            files_scanned: c.files_scanned,
            in_code_only: c
                .in_code_only
                .iter()
                .map(|i| InCodeOnly {
                    kind: i.kind,
                    key: i.key.clone(),
                    missing: i.missing.clone(),
                    references: i.references.clone(),
                })
                .collect(),
            unreferenced: c
                .unreferenced
                .iter()
                .map(|u| Unreferenced {
                    resource: u.resource,
                    key: u.key.clone(),
                })
                .collect(),
            dead_flag_references: c
                .dead_flag_references
                .iter()
                .map(|d| DeadFlag {
                    key: d.key.clone(),
                    posthog_state: d.posthog_state,
                    references: d.references.clone(),
                })
                .collect(),
            cleanup_candidates: c
                .cleanup_candidates
                .iter()
                .map(|x| Cleanup {
                    key: x.key.clone(),
                    since: x.since.clone(),
                    references: x.references.clone(),
                })
                .collect(),
            dynamic: c
                .dynamic
                .iter()
                .map(|d| Dynamic {
                    kind: d.kind,
                    path: d.path.clone(),
                    line: d.line,
                    snippet: d.snippet.clone(),
                    reason: d.reason.clone(),
                })
                .collect(),
        }
    }
}

impl HygieneFinding {
    fn of(h: &crate::hygiene::Finding) -> HygieneFinding {
        HygieneFinding {
            resource: h.resource,
            key: h.key.clone(),
            rule: h.rule,
            level: h.level,
            detail: h.detail.clone(),
            url: h.url.clone(),
            owner: h.owner.clone(),
            references: h.references.clone(),
        }
    }
}

impl PropertyFinding {
    fn of(p: &crate::properties::Finding) -> PropertyFinding {
        PropertyFinding {
            event: p.event.clone(),
            kind: p.kind,
            property: p.property.clone(),
            seen_by: p.seen_by.clone(),
            references: p.references.clone(),
            schema_type: p.schema_type.clone(),
            posthog_type: p.posthog_type,
            fix: p.fix,
            detail: p.detail.clone(),
            url: p.url.clone(),
        }
    }
}

impl Import {
    /// The import document of `plans`, and of what applying them did (`None` in a dry run).
    pub fn of(
        plans: &[ResourcePlan],
        outcome: Option<&crate::outcome::Outcome>,
        dry_run: bool,
    ) -> Import {
        Import {
            version: VERSION,
            dry_run,
            plan: PerResource(plans.iter().map(|p| (p.resource, Plan::of(p))).collect()),
            result: outcome.map(|o| ImportResult {
                created: o.created,
                recovered: o.recovered,
                existing: o.existing.clone(),
                updated: o.updated,
                unchanged: o.unchanged,
                archived: o.archived,
                failed: o
                    .failed
                    .iter()
                    .map(|f| ImportFailure {
                        resource: f.resource,
                        key: f.key.clone(),
                        action: f.action.to_string(),
                        error: f.error.clone(),
                    })
                    .collect(),
                written: o.written.iter().map(ImportWrite::of).collect(),
                interrupted: o.interrupted,
                left: o.left.iter().map(ImportWrite::of).collect(),
            }),
        }
    }
}

impl ImportWrite {
    fn of(w: &crate::outcome::Write) -> ImportWrite {
        ImportWrite {
            resource: w.resource,
            key: w.key.clone(),
            action: w.action.to_string(),
        }
    }
}

impl Plan {
    fn of(p: &ResourcePlan) -> Plan {
        Plan {
            create: p.creates().map(|i| i.desired.record.key.clone()).collect(),
            update: p
                .items
                .iter()
                .filter_map(|i| match &i.step {
                    Step::Update { page_id, changes } => Some(Update {
                        key: i.desired.record.key.clone(),
                        page_id: page_id.clone(),
                        changes: changes.iter().map(Change::of).collect(),
                    }),
                    _ => None,
                })
                .collect(),
            unchanged: p.unchanged(),
            orphaned: p
                .orphans
                .iter()
                .map(|o| Orphan {
                    key: o.row.record.key.clone(),
                    page_id: o.row.page_id.clone(),
                    reason: o.reason,
                })
                .collect(),
        }
    }
}

/// A document as kodo prints it: pretty JSON and a final newline.
pub fn to_json<T: Serialize>(document: &T) -> String {
    let mut text = serde_json::to_string_pretty(document).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn audit() -> Audit {
        let finding = Finding {
            resource: Resource::Flags,
            key: "beta_ai_assistant".into(),
            id: None,
            notion_status: Some("active".into()),
            posthog_status: Some("active".into()),
            detail: "Rollout %".into(),
            reason: None,
            url: Some("https://www.notion.so/x".into()),
            changes: vec![Change {
                property: "Rollout %".into(),
                from: json!(10),
                to: json!(25.0),
            }],
        };
        Audit {
            version: VERSION,
            generated_at: "2026-12-07T10:00:00Z".into(),
            summary: PerResource(vec![
                (
                    Resource::Events,
                    Counts {
                        posthog: 2,
                        notion: 1,
                        undocumented: 1,
                        orphaned: 0,
                        mismatches: 0,
                        stale: 0,
                        planned: 0,
                        edited: 0,
                    },
                ),
                (
                    Resource::Flags,
                    Counts {
                        posthog: 1,
                        notion: 1,
                        undocumented: 0,
                        orphaned: 0,
                        mismatches: 0,
                        stale: 1,
                        planned: 0,
                        edited: 0,
                    },
                ),
            ]),
            undocumented: Vec::new(),
            orphaned: vec![Finding {
                reason: Some(OrphanReason::MayHaveBeenDeleted),
                changes: Vec::new(),
                ..finding.clone()
            }],
            mismatches: Vec::new(),
            stale: vec![finding],
            planned: Vec::new(),
            edited: Vec::new(),
            code: Some(Code {
                scanned: true,
                reason: None,
                files_scanned: 3,
                in_code_only: vec![InCodeOnly {
                    kind: Kind::Event,
                    key: "user_signed_up".into(),
                    missing: vec![System::Notion],
                    references: vec!["web/app.ts:5".into()],
                }],
                unreferenced: Vec::new(),
                dead_flag_references: vec![DeadFlag {
                    key: "release_old_navbar".into(),
                    posthog_state: DeadState::Deleted,
                    references: vec!["web/nav.ts:9".into()],
                }],
                cleanup_candidates: Vec::new(),
                dynamic: Vec::new(),
            }),
            in_sync: false,
            hygiene: vec![HygieneFinding {
                resource: Resource::Flags,
                key: "beta_ai_assistant".into(),
                rule: Rule::MissingOwner,
                level: Level::Error,
                detail: "No Owner".into(),
                url: None,
                owner: None,
                references: Vec::new(),
            }],
            hygiene_errors: 1,
            properties: Vec::new(),
            property_errors: 0,
            tracking_plan: None,
        }
    }

    #[test]
    fn an_audit_reads_back_as_written_in_resource_order() {
        let audit = audit();
        let text = to_json(&audit);
        assert!(text.ends_with("}\n"));
        let v: Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = v["summary"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["events", "flags"]);
        assert_eq!(v["stale"][0]["changes"][0]["to"], json!(25.0));
        assert_eq!(v["hygiene"][0]["rule"], "missing-owner");
        assert_eq!(v["orphaned"][0]["reason"], "may_have_been_deleted");
        assert!(v.get("tracking_plan").is_none(), "absent, not null");
        assert!(v["stale"][0].get("id").is_none());
        let back: Audit = serde_json::from_str(&text).unwrap();
        assert_eq!(back, audit);
    }

    #[test]
    fn a_reader_of_the_contract_refuses_what_it_does_not_know() {
        let text = to_json(&audit()).replace("\"flags\": {", "\"feature_flags\": {");
        let err = serde_json::from_str::<Audit>(&text).unwrap_err();
        assert!(
            err.to_string()
                .contains("`feature_flags` is not a resource"),
            "{err}"
        );
        let text = to_json(&audit()).replace("missing-owner", "missing-owners");
        assert!(serde_json::from_str::<Audit>(&text).is_err());
    }

    #[test]
    fn a_status_lists_the_counts_then_the_last_sync() {
        let counts = audit().summary.0[1].1.clone();
        let status = Status {
            version: VERSION,
            generated_at: "2026-12-07T10:00:00Z".into(),
            resources: PerResource(vec![(
                Resource::Flags,
                ResourceStatus {
                    counts,
                    last_sync: Some(LastSync {
                        at: "2026-12-06T09:00:00Z".into(),
                        action: "import".into(),
                    }),
                },
            )]),
            in_sync: false,
        };
        let text = to_json(&status);
        let v: Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = v["resources"]["flags"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(keys.first().map(|k| k.as_str()), Some("posthog"));
        assert_eq!(keys.last().map(|k| k.as_str()), Some("last_sync"));
        assert_eq!(v["resources"]["flags"]["last_sync"]["action"], "import");
        assert_eq!(serde_json::from_str::<Status>(&text).unwrap(), status);
    }
}
