//! The planner: what PostHog says (desired records) against what Notion holds (rows) → what
//! to do per resource, and what to report.
//!
//! **Invariants.**
//! - Pure: no I/O, no clock. Same inputs, same plan, in a stable order (records by key).
//! - Matching is by [`MatchKeys`]: primary key first (event name, flag key, experiment flag
//!   key, dashboard ID), then the fallback (experiment or dashboard name) against rows whose
//!   primary key is empty or belongs to no PostHog resource. A Notion row is matched at most
//!   once. Further rows with a matched key are duplicates: reported, never updated, and never
//!   a reason to create another row.
//! - An update carries only the properties that differ (per [`model::same`]). A human-owned
//!   property (Description, Hypothesis, Owner, …) or a default guess ([`Desired::soft`]) is
//!   written only when Notion's value is empty — human-owned ones also with `--overwrite`.
//!   A human's `deprecated` event status is never replaced.
//! - Only properties the Notion data source has (`writable`) are ever written.
//! - Rows without a PostHog counterpart are orphans, except rows documenting something not yet
//!   built (`planned` event, `draft` flag or experiment: documentation first) and rows already
//!   retired (`deprecated` event, `archived` flag or experiment).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::model::{self, NotionRow, Ownership, PropValue, Resource};

use crate::normalize::Desired;

/// The planner's inputs for one resource.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub resource: Resource,
    /// PostHog's records, plus records of deleted flags found by ID.
    pub desired: Vec<Desired>,
    /// Notion's rows (not in the trash), oldest first.
    pub rows: Vec<NotionRow>,
    /// Flag keys kodo once saw in PostHog that can no longer be fetched at all.
    pub maybe_deleted: BTreeSet<String>,
    /// Primary keys of rows whose resource PostHog deleted: gone from its list, and its
    /// by-id read answers 404 for an id kodo saw (`DatabaseSchema::deletion`).
    pub deleted: BTreeSet<String>,
    /// The properties the data source has with the right type; `None` = all of the schema.
    pub writable: Option<BTreeSet<&'static str>>,
    /// What kodo last wrote to [`Ownership::Derived`] properties: row key → property →
    /// [`model::fingerprint`] (from `.kodo/state.json`).
    pub written: Written,
}

/// Row key → property → fingerprint of the value kodo last wrote there.
pub type Written = BTreeMap<String, BTreeMap<String, String>>;

/// Planner options.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Replace human-written values with PostHog's.
    pub overwrite: bool,
}

/// One property that would change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub property: &'static str,
    pub from: PropValue,
    pub to: PropValue,
}

/// What to do for one PostHog resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Not in Notion: create its row.
    Create,
    /// In Notion, stale: send these properties.
    Update {
        page_id: String,
        changes: Vec<Change>,
    },
    /// In Notion and up to date.
    Unchanged { page_id: String },
}

/// One PostHog resource and what happens to its row.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub desired: Desired,
    pub step: Step,
    /// The matched row's status (when there is a row and it has one).
    pub notion_status: Option<String>,
    /// The matched row's URL.
    pub url: Option<String>,
    /// Derived properties a person edited in Notion: PostHog's value differs, and kodo keeps
    /// the person's (without `--overwrite`). Reported, never written.
    pub kept: Vec<Change>,
}

impl Item {
    /// The status mismatch: Notion's status differs from PostHog's state, and the import
    /// writes PostHog's (so a status kodo may not replace is no mismatch).
    pub fn mismatch(&self) -> Option<(&str, &str)> {
        let ph = self.desired.record.status.as_deref()?;
        let notion = self.notion_status.as_deref().filter(|s| !s.is_empty())?;
        let property = self.desired.record.resource.schema().status_property()?;
        let written = matches!(&self.step, Step::Update { changes, .. }
            if changes.iter().any(|c| c.property == property));
        if notion == ph || !written {
            return None;
        }
        Some((notion, ph))
    }

    /// Every change the import writes to this row except the status change a mismatch
    /// already reports: stale facts (old → new) and missing values it fills. The audit lists
    /// exactly these, so the audit is the plan.
    pub fn stale_changes(&self) -> Vec<&Change> {
        let status = self.desired.record.resource.schema().status_property();
        let mismatch = self.mismatch().is_some();
        match &self.step {
            Step::Update { changes, .. } => changes
                .iter()
                .filter(|c| !(mismatch && Some(c.property) == status))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Why a row is an orphan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrphanReason {
    /// No PostHog resource has its key.
    NoMatch,
    /// kodo saw this flag in PostHog before; it can no longer be fetched.
    MayHaveBeenDeleted,
    /// PostHog deleted it: its by-id read answers 404 for the id kodo saw (experiments,
    /// dashboards).
    Deleted,
    /// Another row already documents the same resource.
    Duplicate,
}

/// A Notion row with no PostHog counterpart (or a second row for one).
#[derive(Debug, Clone, PartialEq)]
pub struct Orphan {
    pub row: NotionRow,
    pub reason: OrphanReason,
}

/// The plan for one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcePlan {
    pub resource: Resource,
    /// Resources in PostHog (deleted flags not counted).
    pub posthog_count: usize,
    /// Rows in Notion.
    pub notion_count: usize,
    pub items: Vec<Item>,
    pub orphans: Vec<Orphan>,
    /// Rows documenting something not built yet (documentation first).
    pub planned: Vec<NotionRow>,
    /// Rows already retired (`deprecated`, `archived`) whose resource is gone from PostHog.
    pub retired: Vec<NotionRow>,
}

impl ResourcePlan {
    pub fn creates(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.step == Step::Create)
    }

    pub fn updates(&self) -> impl Iterator<Item = &Item> {
        self.items
            .iter()
            .filter(|i| matches!(i.step, Step::Update { .. }))
    }

    pub fn unchanged(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i.step, Step::Unchanged { .. }))
            .count()
    }

    pub fn mismatches(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.mismatch().is_some())
    }

    /// Whether `import` would write nothing.
    pub fn is_noop(&self) -> bool {
        self.items
            .iter()
            .all(|i| matches!(i.step, Step::Unchanged { .. }))
    }
}

/// "Tracked On" from the scan of this repository, merged with what Notion says: one repository
/// may not hold every caller of an event, so a side is added, never taken away; frontend and
/// backend together are `both`.
pub fn merge_tracked_on(have: &PropValue, want: &PropValue) -> PropValue {
    let sides = |v: &PropValue| -> Vec<String> {
        match v {
            PropValue::MultiSelect(items) => items.clone(),
            _ => Vec::new(),
        }
    };
    let all: Vec<String> = sides(have).into_iter().chain(sides(want)).collect();
    let has = |s: &str| all.iter().any(|x| x == s);
    let merged = if has("both") || (has("frontend") && has("backend")) {
        vec!["both".to_string()]
    } else if has("frontend") {
        vec!["frontend".to_string()]
    } else if has("backend") {
        vec!["backend".to_string()]
    } else {
        all
    };
    PropValue::MultiSelect(merged)
}

/// What [`diff`] found for one row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diff {
    /// Properties to write.
    pub changes: Vec<Change>,
    /// Derived properties a person edited: kept, reported.
    pub kept: Vec<Change>,
}

/// The properties of `desired` that differ from `row`, per the ownership rules: kodo's own
/// properties follow PostHog; people's are filled when empty; derived ones are filled when
/// empty and rewritten only while they hold what kodo last wrote (`written`, this row's
/// fingerprints) — a person's edit is kept. `--overwrite` replaces people's and derived text.
pub fn diff(
    desired: &Desired,
    row: &NotionRow,
    options: PlanOptions,
    writable: Option<&BTreeSet<&'static str>>,
    written: Option<&BTreeMap<String, String>>,
) -> Diff {
    let resource = desired.record.resource;
    let mut changes = Vec::new();
    let mut kept = Vec::new();
    for spec in resource.schema().properties {
        let Some(want) = desired.record.props.get(spec.name) else {
            continue;
        };
        if writable.is_some_and(|w| !w.contains(spec.name)) {
            continue;
        }
        let have = row
            .record
            .props
            .get(spec.name)
            .cloned()
            .unwrap_or_else(|| PropValue::empty(spec.kind));
        let merged;
        let want = if resource.schema().merged.contains(&spec.name) {
            merged = merge_tracked_on(&have, want);
            &merged
        } else {
            want
        };
        if model::same(want, &have) {
            continue;
        }
        let soft = desired.soft.contains(spec.name);
        if !have.is_empty() && !options.overwrite {
            if soft || spec.ownership == Ownership::Human {
                continue;
            }
            let kodo_wrote =
                || written.and_then(|w| w.get(spec.name)) == Some(&model::fingerprint(&have));
            if spec.ownership == Ownership::Derived && !kodo_wrote() {
                kept.push(Change {
                    property: spec.name,
                    from: have,
                    to: want.clone(),
                });
                continue;
            }
        } else if !have.is_empty() && soft {
            continue;
        }
        if have
            .as_text()
            .is_some_and(|current| resource.schema().is_protected(spec.name, current))
        {
            continue;
        }
        changes.push(Change {
            property: spec.name,
            from: have,
            to: want.clone(),
        });
    }
    Diff { changes, kept }
}

/// Plans one resource.
pub fn plan(input: PlanInput, options: PlanOptions) -> ResourcePlan {
    let PlanInput {
        resource,
        mut desired,
        rows,
        maybe_deleted,
        deleted,
        writable,
        written,
    } = input;
    desired.sort_by(|a, b| {
        (&a.record.key, &a.record.keys.primary).cmp(&(&b.record.key, &b.record.keys.primary))
    });
    let posthog_count = desired.iter().filter(|d| !d.deleted).count();

    let mut by_primary: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_fallback: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        if let Some(p) = row.record.keys.primary.as_deref() {
            by_primary.entry(p).or_default().push(i);
        }
        if let Some(f) = row.record.keys.fallback.as_deref() {
            by_fallback.entry(f).or_default().push(i);
        }
    }
    let desired_primaries: HashSet<&str> = desired
        .iter()
        .filter_map(|d| d.record.keys.primary.as_deref())
        .collect();

    let mut used = vec![false; rows.len()];
    let mut assigned: Vec<Option<usize>> = vec![None; desired.len()];
    let take = |candidates: &[usize], used: &mut Vec<bool>, ok: &dyn Fn(&NotionRow) -> bool| {
        let found = candidates
            .iter()
            .copied()
            .find(|&i| !used[i] && ok(&rows[i]));
        if let Some(i) = found {
            used[i] = true;
        }
        found
    };
    // Pass 1: both keys agree (experiments sharing a flag key find their own rows).
    for (d, slot) in desired.iter().zip(assigned.iter_mut()) {
        if let (Some(p), Some(f)) = (&d.record.keys.primary, &d.record.keys.fallback) {
            if let Some(candidates) = by_primary.get(p.as_str()) {
                *slot = take(candidates, &mut used, &|r| {
                    r.record.keys.fallback.as_deref() == Some(f.as_str())
                });
            }
        }
    }
    // Pass 2: the primary key.
    for (d, slot) in desired.iter().zip(assigned.iter_mut()) {
        if slot.is_some() {
            continue;
        }
        if let Some(candidates) = d
            .record
            .keys
            .primary
            .as_deref()
            .and_then(|p| by_primary.get(p))
        {
            *slot = take(candidates, &mut used, &|_| true);
        }
    }
    // Pass 3: the fallback, among rows whose primary key is no PostHog resource's.
    for (d, slot) in desired.iter().zip(assigned.iter_mut()) {
        if slot.is_some() {
            continue;
        }
        if let Some(candidates) = d
            .record
            .keys
            .fallback
            .as_deref()
            .and_then(|f| by_fallback.get(f))
        {
            *slot = take(candidates, &mut used, &|r| {
                r.record
                    .keys
                    .primary
                    .as_deref()
                    .is_none_or(|p| !desired_primaries.contains(p))
            });
        }
    }

    let matched_primaries: HashSet<&str> = desired
        .iter()
        .zip(&assigned)
        .filter(|(_, a)| a.is_some())
        .filter_map(|(d, _)| d.record.keys.primary.as_deref())
        .collect();
    let matched_fallbacks: HashSet<&str> = desired
        .iter()
        .zip(&assigned)
        .filter(|(_, a)| a.is_some())
        .filter_map(|(d, _)| d.record.keys.fallback.as_deref())
        .collect();

    let mut orphans = Vec::new();
    let mut planned = Vec::new();
    let mut retired = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if used[i] {
            continue;
        }
        let keys = &row.record.keys;
        let duplicate = match keys.primary.as_deref() {
            Some(p) => matched_primaries.contains(p),
            None => keys
                .fallback
                .as_deref()
                .is_some_and(|f| matched_fallbacks.contains(f)),
        };
        let status = row.record.status.as_deref();
        if duplicate {
            orphans.push(Orphan {
                row: row.clone(),
                reason: OrphanReason::Duplicate,
            });
        } else if resource.schema().is_planned(status) {
            planned.push(row.clone());
        } else if resource.schema().is_retired(status) {
            retired.push(row.clone());
        } else {
            let primary = keys.primary.as_deref();
            orphans.push(Orphan {
                row: row.clone(),
                reason: if primary.is_some_and(|k| deleted.contains(k)) {
                    OrphanReason::Deleted
                } else if primary.is_some_and(|k| maybe_deleted.contains(k)) {
                    OrphanReason::MayHaveBeenDeleted
                } else {
                    OrphanReason::NoMatch
                },
            });
        }
    }
    orphans.sort_by(|a, b| a.row.record.key.cmp(&b.row.record.key));
    planned.sort_by(|a, b| a.record.key.cmp(&b.record.key));

    let items = desired
        .into_iter()
        .zip(assigned)
        // A resource PostHog deleted that no row documents: nothing to archive, nothing to
        // create (the audit does not call it undocumented either).
        .filter(|(d, slot)| slot.is_some() || !d.deleted)
        .map(|(d, slot)| match slot {
            None => Item {
                desired: d,
                step: Step::Create,
                notion_status: None,
                url: None,
                kept: Vec::new(),
            },
            Some(i) => {
                let row = &rows[i];
                let Diff { changes, kept } = diff(
                    &d,
                    row,
                    options,
                    writable.as_ref(),
                    written.get(&d.record.key),
                );
                let step = if changes.is_empty() {
                    Step::Unchanged {
                        page_id: row.page_id.clone(),
                    }
                } else {
                    Step::Update {
                        page_id: row.page_id.clone(),
                        changes,
                    }
                };
                Item {
                    notion_status: row.record.status.clone(),
                    url: row.url.clone(),
                    desired: d,
                    step,
                    kept,
                }
            }
        })
        .collect();

    ResourcePlan {
        resource,
        posthog_count,
        notion_count: rows.len(),
        items,
        orphans,
        planned,
        retired,
    }
}

/// The [`Ownership::Derived`] properties this item writes, with the fingerprint of each value:
/// what to remember once the write succeeded, so the next run can tell kodo's text from a
/// person's edit.
pub fn derived_writes(item: &Item) -> Vec<(&'static str, String)> {
    let schema = item.desired.record.resource.schema();
    let derived = |name: &str| {
        schema
            .property(name)
            .is_some_and(|p| p.ownership == Ownership::Derived)
    };
    match &item.step {
        Step::Create => item
            .desired
            .record
            .props
            .iter()
            .filter(|(name, _)| derived(name))
            .map(|(name, value)| (*name, model::fingerprint(value)))
            .collect(),
        Step::Update { changes, .. } => changes
            .iter()
            .filter(|c| derived(c.property))
            .map(|c| (c.property, model::fingerprint(&c.to)))
            .collect(),
        Step::Unchanged { .. } => Vec::new(),
    }
}

/// The properties of a new row: every value of the record the data source can hold.
pub fn create_properties(
    desired: &Desired,
    writable: Option<&BTreeSet<&'static str>>,
) -> serde_json::Value {
    let schema = desired.record.resource.schema();
    let mut out = serde_json::Map::new();
    for spec in schema.properties {
        if writable.is_some_and(|w| !w.contains(spec.name)) {
            continue;
        }
        if let Some(value) = desired.record.props.get(spec.name) {
            // An empty value on a new row is Notion's default anyway.
            if value.is_empty() {
                continue;
            }
            out.insert(spec.name.to_string(), model::encode(spec, value));
        }
    }
    serde_json::Value::Object(out)
}

/// The properties of an update: only the changes.
pub fn update_properties(resource: Resource, changes: &[Change]) -> serde_json::Value {
    let schema = resource.schema();
    let mut out = serde_json::Map::new();
    for change in changes {
        if let Some(spec) = schema.property(change.property) {
            out.insert(spec.name.to_string(), model::encode(spec, &change.to));
        }
    }
    serde_json::Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MatchKeys, Record};
    use std::collections::BTreeMap;

    fn desired(resource: Resource, key: &str, props: &[(&'static str, PropValue)]) -> Desired {
        let (primary, fallback) = match resource {
            Resource::Experiments | Resource::Dashboards => (None, Some(key.to_string())),
            _ => (Some(key.to_string()), None),
        };
        let status = resource.schema().status_property().and_then(|s| {
            props
                .iter()
                .find(|(n, _)| *n == s)
                .and_then(|(_, v)| v.as_text().map(str::to_string))
        });
        Desired {
            record: Record {
                resource,
                key: key.into(),
                keys: MatchKeys { primary, fallback },
                status,
                props: props.iter().cloned().collect(),
            },
            soft: BTreeSet::new(),
            detail: None,
            deleted: false,
            posthog_id: None,
            creator: None,
            serving: None,
        }
    }

    fn row(resource: Resource, page: &str, props: &[(&'static str, PropValue)]) -> NotionRow {
        let mut raw = serde_json::Map::new();
        for (name, value) in props {
            let spec = resource.schema().property(name).unwrap();
            let mut encoded = model::encode(spec, value);
            // Reads carry plain_text; the model's decoder also accepts text.content.
            encoded["type"] = serde_json::json!(spec.kind.notion_name());
            raw.insert(name.to_string(), encoded);
        }
        model::decode_page(resource, page, Some("https://notion.so/x"), &raw)
    }

    fn text(s: &str) -> PropValue {
        PropValue::Text(s.into())
    }
    fn select(s: &str) -> PropValue {
        PropValue::Select(Some(s.into()))
    }

    fn input(resource: Resource, desired: Vec<Desired>, rows: Vec<NotionRow>) -> PlanInput {
        PlanInput {
            resource,
            desired,
            rows,
            maybe_deleted: BTreeSet::new(),
            deleted: BTreeSet::new(),
            writable: None,
            written: Written::new(),
        }
    }

    #[test]
    fn creates_updates_and_unchanged() {
        let r = Resource::Flags;
        let d = vec![
            desired(
                r,
                "a",
                &[("Flag Key", text("a")), ("Status", select("active"))],
            ),
            desired(
                r,
                "b",
                &[
                    ("Flag Key", text("b")),
                    ("Status", select("active")),
                    ("Rollout %", PropValue::Number(Some(100.0))),
                ],
            ),
            desired(
                r,
                "c",
                &[("Flag Key", text("c")), ("Status", select("draft"))],
            ),
        ];
        let rows = vec![
            row(
                r,
                "pa",
                &[("Flag Key", text("a")), ("Status", select("active"))],
            ),
            row(
                r,
                "pb",
                &[
                    ("Flag Key", text("b")),
                    ("Status", select("draft")),
                    ("Rollout %", PropValue::Number(Some(100.0))),
                ],
            ),
        ];
        let p = plan(input(r, d, rows), PlanOptions::default());
        assert_eq!(p.posthog_count, 3);
        assert_eq!(p.notion_count, 2);
        assert_eq!(
            p.items[0].step,
            Step::Unchanged {
                page_id: "pa".into()
            }
        );
        assert_eq!(
            p.items[1].step,
            Step::Update {
                page_id: "pb".into(),
                changes: vec![Change {
                    property: "Status",
                    from: select("draft"),
                    to: select("active")
                }]
            }
        );
        assert_eq!(p.items[1].mismatch(), Some(("draft", "active")));
        assert!(p.items[1].stale_changes().is_empty());
        assert_eq!(p.items[2].step, Step::Create);
        assert!(p.orphans.is_empty());
        assert!(!p.is_noop());
    }

    #[test]
    fn human_fields_fill_when_empty_and_are_kept_otherwise() {
        let r = Resource::Events;
        let d = vec![desired(
            r,
            "e",
            &[
                ("Event Name", text("e")),
                ("Description", text("from PostHog")),
            ],
        )];
        let empty = vec![row(r, "p", &[("Event Name", text("e"))])];
        let p = plan(input(r, d.clone(), empty), PlanOptions::default());
        assert!(
            matches!(&p.items[0].step, Step::Update { changes, .. } if changes[0].property == "Description")
        );
        assert_eq!(
            p.items[0].stale_changes().len(),
            1,
            "filling an empty property is a write, so a finding"
        );

        let written = vec![row(
            r,
            "p",
            &[
                ("Event Name", text("e")),
                ("Description", text("by a person")),
            ],
        )];
        let p = plan(input(r, d.clone(), written.clone()), PlanOptions::default());
        assert_eq!(
            p.items[0].step,
            Step::Unchanged {
                page_id: "p".into()
            }
        );
        let p = plan(input(r, d, written), PlanOptions { overwrite: true });
        assert!(matches!(&p.items[0].step, Step::Update { changes, .. }
            if changes[0].to == text("from PostHog") && changes[0].from == text("by a person")));
    }

    #[test]
    fn soft_values_never_replace_and_deprecated_stays() {
        let r = Resource::Events;
        let mut d = desired(
            r,
            "e",
            &[
                ("Event Name", text("e")),
                ("Category", select("engagement")),
                ("Implementation Status", select("implemented")),
            ],
        );
        d.soft.insert("Category");
        let rows = vec![row(
            r,
            "p",
            &[
                ("Event Name", text("e")),
                ("Category", select("conversion")),
                ("Implementation Status", select("deprecated")),
            ],
        )];
        let p = plan(
            input(r, vec![d.clone()], rows),
            PlanOptions { overwrite: true },
        );
        assert_eq!(
            p.items[0].step,
            Step::Unchanged {
                page_id: "p".into()
            }
        );
        assert_eq!(p.items[0].mismatch(), None);
        // An empty category is filled with the guess.
        let rows = vec![row(
            r,
            "p",
            &[
                ("Event Name", text("e")),
                ("Implementation Status", select("planned")),
            ],
        )];
        let p = plan(input(r, vec![d], rows), PlanOptions::default());
        let Step::Update { changes, .. } = &p.items[0].step else {
            panic!()
        };
        let names: Vec<_> = changes.iter().map(|c| c.property).collect();
        assert_eq!(names, ["Category", "Implementation Status"]);
        assert_eq!(p.items[0].mismatch(), Some(("planned", "implemented")));
    }

    #[test]
    fn duplicates_are_reported_and_never_cause_a_create() {
        let r = Resource::Events;
        let d = vec![desired(r, "e", &[("Event Name", text("e"))])];
        let rows = vec![
            row(r, "first", &[("Event Name", text("e"))]),
            row(r, "second", &[("Event Name", text("e"))]),
        ];
        let p = plan(input(r, d, rows), PlanOptions::default());
        assert_eq!(p.items.len(), 1);
        assert_eq!(
            p.items[0].step,
            Step::Unchanged {
                page_id: "first".into()
            }
        );
        assert_eq!(p.orphans.len(), 1);
        assert_eq!(p.orphans[0].row.page_id, "second");
        assert_eq!(p.orphans[0].reason, OrphanReason::Duplicate);
        assert_eq!(p.creates().count(), 0);
    }

    #[test]
    fn experiments_match_by_flag_key_then_name() {
        let r = Resource::Experiments;
        let mut by_key = desired(
            r,
            "Checkout test",
            &[
                ("Experiment Name", text("Checkout test")),
                ("Flag Key", text("checkout-test")),
            ],
        );
        by_key.record.keys.primary = Some("checkout-test".into());
        let mut renamed = desired(
            r,
            "New name",
            &[
                ("Experiment Name", text("New name")),
                ("Flag Key", text("renamed-flag")),
            ],
        );
        renamed.record.keys.primary = Some("renamed-flag".into());
        let by_name = desired(r, "Pricing", &[("Experiment Name", text("Pricing"))]);
        let rows = vec![
            row(
                r,
                "p1",
                &[
                    ("Experiment Name", text("Checkout test")),
                    ("Flag Key", text("checkout-test")),
                ],
            ),
            row(
                r,
                "p2",
                &[
                    ("Experiment Name", text("Old name")),
                    ("Flag Key", text("renamed-flag")),
                ],
            ),
            row(r, "p3", &[("Experiment Name", text("Pricing"))]),
            // Same name as a PostHog experiment, but its flag key belongs to another one.
            row(
                r,
                "p4",
                &[
                    ("Experiment Name", text("Pricing")),
                    ("Flag Key", text("checkout-test")),
                ],
            ),
        ];
        let p = plan(
            input(r, vec![by_key, renamed, by_name], rows),
            PlanOptions::default(),
        );
        let pages: BTreeMap<&str, &Step> = p
            .items
            .iter()
            .map(|i| (i.desired.record.key.as_str(), &i.step))
            .collect();
        assert_eq!(
            pages["Checkout test"],
            &Step::Unchanged {
                page_id: "p1".into()
            }
        );
        assert!(
            matches!(pages["New name"], Step::Update { page_id, changes } if page_id == "p2" && changes[0].property == "Experiment Name")
        );
        assert_eq!(
            pages["Pricing"],
            &Step::Unchanged {
                page_id: "p3".into()
            }
        );
        assert_eq!(p.orphans.len(), 1);
        assert_eq!(p.orphans[0].row.page_id, "p4");
        assert_eq!(p.orphans[0].reason, OrphanReason::Duplicate);
    }

    #[test]
    fn dashboards_match_by_id_then_name() {
        let r = Resource::Dashboards;
        let mut d = desired(
            r,
            "API Performance",
            &[
                ("Dashboard Name", text("API Performance")),
                ("ID", PropValue::Number(Some(123.0))),
            ],
        );
        d.record.keys.primary = Some("123".into());
        let rows = vec![row(
            r,
            "p",
            &[
                ("Dashboard Name", text("API perf (old name)")),
                ("ID", PropValue::Number(Some(123.0))),
            ],
        )];
        let p = plan(input(r, vec![d.clone()], rows), PlanOptions::default());
        assert!(
            matches!(&p.items[0].step, Step::Update { changes, .. } if changes.len() == 1 && changes[0].property == "Dashboard Name")
        );
        let rows = vec![row(r, "p", &[("Dashboard Name", text("API Performance"))])];
        let p = plan(input(r, vec![d], rows), PlanOptions::default());
        assert!(
            matches!(&p.items[0].step, Step::Update { page_id, changes } if page_id == "p" && changes[0].property == "ID")
        );
    }

    #[test]
    fn orphans_planned_and_retired_rows() {
        let r = Resource::Flags;
        let rows = vec![
            row(
                r,
                "o",
                &[("Flag Key", text("old_flag")), ("Status", select("active"))],
            ),
            row(
                r,
                "g",
                &[
                    ("Flag Key", text("gone_flag")),
                    ("Status", select("active")),
                ],
            ),
            row(
                r,
                "d",
                &[("Flag Key", text("next_flag")), ("Status", select("draft"))],
            ),
            row(
                r,
                "a",
                &[
                    ("Flag Key", text("retired_flag")),
                    ("Status", select("archived")),
                ],
            ),
        ];
        let mut i = input(r, vec![], rows);
        i.maybe_deleted.insert("gone_flag".into());
        let p = plan(i, PlanOptions::default());
        let orphans: Vec<_> = p
            .orphans
            .iter()
            .map(|o| (o.row.record.key.as_str(), o.reason))
            .collect();
        assert_eq!(
            orphans,
            [
                ("gone_flag", OrphanReason::MayHaveBeenDeleted),
                ("old_flag", OrphanReason::NoMatch)
            ]
        );
        assert_eq!(p.planned.len(), 1);
        assert_eq!(p.planned[0].record.key, "next_flag");
        assert_eq!(p.retired.len(), 1);
        assert_eq!(p.notion_count, 4);
        assert!(p.is_noop());
    }

    #[test]
    fn deleted_flags_are_not_counted_but_planned_to_archived() {
        let r = Resource::Flags;
        let mut d = desired(
            r,
            "f",
            &[("Flag Key", text("f")), ("Status", select("archived"))],
        );
        d.deleted = true;
        let rows = vec![row(
            r,
            "p",
            &[("Flag Key", text("f")), ("Status", select("active"))],
        )];
        let p = plan(input(r, vec![d], rows), PlanOptions::default());
        assert_eq!(p.posthog_count, 0);
        assert_eq!(p.items[0].mismatch(), Some(("active", "archived")));
    }

    /// A flag PostHog deleted that no row documents is neither created nor counted: the
    /// audit does not call it undocumented, so the import does not write it.
    #[test]
    fn a_deleted_flag_no_row_documents_is_not_created() {
        let r = Resource::Flags;
        let mut d = desired(
            r,
            "f",
            &[("Flag Key", text("f")), ("Status", select("archived"))],
        );
        d.deleted = true;
        let p = plan(input(r, vec![d], Vec::new()), PlanOptions::default());
        assert!(p.items.is_empty(), "{:?}", p.items);
        assert_eq!(p.posthog_count, 0);
        assert!(p.is_noop());
    }

    #[test]
    fn only_writable_properties_are_written() {
        let r = Resource::Flags;
        let d = desired(
            r,
            "f",
            &[
                ("Flag Key", text("f")),
                ("Targeting", text("25% of all users")),
                ("Related PR", PropValue::Url(None)),
            ],
        );
        let writable: BTreeSet<&'static str> = ["Flag Key", "Related PR"].into_iter().collect();
        let props = create_properties(&d, Some(&writable));
        assert_eq!(
            props,
            serde_json::json!({"Flag Key": {"title": [{"type": "text", "text": {"content": "f"}}]}})
        );
        let rows = vec![row(r, "p", &[("Flag Key", text("f"))])];
        let mut i = input(r, vec![d], rows);
        i.writable = Some(writable);
        let p = plan(i, PlanOptions::default());
        assert_eq!(
            p.items[0].step,
            Step::Unchanged {
                page_id: "p".into()
            }
        );
    }

    #[test]
    fn a_persons_wording_of_derived_text_is_kept_and_kodos_own_is_refreshed() {
        let r = Resource::Flags;
        let d = desired(
            r,
            "f",
            &[
                ("Flag Key", text("f")),
                ("Status", select("rolling_out")),
                ("Rollout %", PropValue::Number(Some(50.0))),
                ("Targeting", text("50% of all users")),
            ],
        );
        let reworded = row(
            r,
            "p",
            &[
                ("Flag Key", text("f")),
                ("Status", select("rolling_out")),
                ("Rollout %", PropValue::Number(Some(50.0))),
                ("Targeting", text("Half of everyone")),
            ],
        );
        let p = plan(
            input(r, vec![d.clone()], vec![reworded.clone()]),
            PlanOptions::default(),
        );
        assert!(matches!(&p.items[0].step, Step::Unchanged { .. }));
        assert_eq!(
            p.items[0].kept.len(),
            1,
            "a person's wording is kept, and said so"
        );
        assert_eq!(p.items[0].kept[0].property, "Targeting");
        // kodo wrote "Half of everyone" itself last time: its own text is refreshed.
        let mut own = input(r, vec![d.clone()], vec![reworded.clone()]);
        own.written.entry("f".into()).or_default().insert(
            "Targeting".into(),
            model::fingerprint(&text("Half of everyone")),
        );
        let p = plan(own, PlanOptions::default());
        assert!(
            matches!(&p.items[0].step, Step::Update { changes, .. } if changes[0].property == "Targeting")
        );
        assert!(p.items[0].kept.is_empty());
        let p = plan(
            input(r, vec![d.clone()], vec![reworded]),
            PlanOptions { overwrite: true },
        );
        assert_eq!(
            p.items[0].stale_changes().len(),
            1,
            "--overwrite replaces it"
        );
        let rolled = row(
            r,
            "p",
            &[
                ("Flag Key", text("f")),
                ("Status", select("rolling_out")),
                ("Rollout %", PropValue::Number(Some(25.0))),
                ("Targeting", text("50% of all users")),
            ],
        );
        let p = plan(input(r, vec![d], vec![rolled]), PlanOptions::default());
        let stale = p.items[0].stale_changes();
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].property, "Rollout %");
    }

    #[test]
    fn tracked_on_only_gains_sides() {
        let ms = |v: &[&str]| PropValue::MultiSelect(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            merge_tracked_on(&ms(&["both"]), &ms(&["frontend"])),
            ms(&["both"])
        );
        assert_eq!(
            merge_tracked_on(&ms(&["backend"]), &ms(&["frontend"])),
            ms(&["both"])
        );
        assert_eq!(
            merge_tracked_on(&ms(&[]), &ms(&["frontend"])),
            ms(&["frontend"])
        );
        assert_eq!(
            merge_tracked_on(&ms(&["frontend"]), &ms(&["frontend"])),
            ms(&["frontend"])
        );
        let r = Resource::Events;
        let d = desired(
            r,
            "e",
            &[("Event Name", text("e")), ("Tracked On", ms(&["frontend"]))],
        );
        let rows = vec![row(
            r,
            "p",
            &[("Event Name", text("e")), ("Tracked On", ms(&["backend"]))],
        )];
        let p = plan(input(r, vec![d], rows), PlanOptions::default());
        assert!(
            matches!(&p.items[0].step, Step::Update { changes, .. } if changes[0].to == ms(&["both"]))
        );
    }

    #[test]
    fn update_sends_only_changed_properties() {
        let changes = vec![Change {
            property: "Rollout %",
            from: PropValue::Number(Some(25.0)),
            to: PropValue::Number(None),
        }];
        assert_eq!(
            update_properties(Resource::Flags, &changes),
            serde_json::json!({"Rollout %": {"number": null}})
        );
    }
}
