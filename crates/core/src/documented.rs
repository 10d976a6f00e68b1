//! "Is this key documented?" — the one rule, without I/O.
//!
//! The Claude Code hook (a flag, experiment or dashboard about to be created), the git
//! pre-commit gate and `kodo scan --check` (event names and flag keys in code) all ask this
//! question. They get their rows from different places (the local snapshot, one filtered Notion
//! query: see `kodo::lookup`), but every answer is given here:
//!
//! - **Keys.** Surrounding whitespace is not part of a key, case is: Notion's text `equals`
//!   filters and PostHog's keys are case-sensitive (`decisions.md`). An empty key is never
//!   documented. The same [`normalise`] applies to the key asked about and to every row's value.
//! - **Rows.** Every row that is not in Notion's trash documents its key, whatever its status:
//!   a `planned` event or a `draft` flag written before the code (documentation comes first),
//!   and a retired one (`deprecated`, `archived`), whose use in code is the audit's business (a
//!   dead flag check), not a missing entry. Callers pass only rows not in the trash.
//! - **What documents what.** An event: a row of the Events database with its Event Name. A
//!   flag: a row of the Flags database with its Flag Key, or an experiment row whose Flag Key is
//!   the flag (the experiment documents its flag). An experiment: a row with its own name, and
//!   only that: several experiments can run on one flag (`experiment-duplicate` reuses the
//!   original's flag unless given a new key), so another experiment's row on the same flag
//!   documents the flag, not this experiment (issue 12). A dashboard: a row with its name or its
//!   PostHog ID.
//!
//! [`Documented`] is what a set of rows documents; the snapshot (`.kodo/snapshot.json`) is the
//! same index written to disk, so the snapshot and a live query cannot disagree on a row.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::model::{NotionRow, PropValue, Resource};

/// The one normalisation of a key or a row's value: trimmed, `None` when nothing is left.
pub fn normalise(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

fn owned(text: &str) -> String {
    normalise(text).unwrap_or_default().to_string()
}

/// Something whose documentation is asked about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DocKey {
    /// An event name.
    Event(String),
    /// A feature flag key.
    Flag(String),
    /// An experiment's name.
    Experiment(String),
    /// A dashboard: its name, and its PostHog ID when known.
    Dashboard { name: String, id: Option<i64> },
}

impl DocKey {
    /// An event name, normalised.
    pub fn event(name: &str) -> DocKey {
        DocKey::Event(owned(name))
    }

    /// A flag key, normalised.
    pub fn flag(key: &str) -> DocKey {
        DocKey::Flag(owned(key))
    }

    /// An experiment's name, normalised.
    pub fn experiment(name: &str) -> DocKey {
        DocKey::Experiment(owned(name))
    }

    /// A dashboard, normalised.
    pub fn dashboard(name: &str, id: Option<i64>) -> DocKey {
        DocKey::Dashboard {
            name: owned(name),
            id,
        }
    }

    /// What a record of `resource` (a PostHog object just normalised) is asked about: its
    /// primary key for events and flags, its name for an experiment, its name and ID for a
    /// dashboard.
    pub fn of_record(resource: Resource, record: &crate::model::Record) -> DocKey {
        let primary = record.keys.primary.as_deref();
        let fallback = record.keys.fallback.as_deref();
        match resource {
            Resource::Events => DocKey::event(&record.key),
            Resource::Flags => DocKey::flag(&record.key),
            Resource::Experiments => DocKey::experiment(fallback.unwrap_or_default()),
            Resource::Dashboards => {
                DocKey::dashboard(&record.key, primary.and_then(|id| id.parse().ok()))
            }
        }
    }

    /// The database whose rows document this key first.
    pub fn resource(&self) -> Resource {
        match self {
            DocKey::Event(_) => Resource::Events,
            DocKey::Flag(_) => Resource::Flags,
            DocKey::Experiment(_) => Resource::Experiments,
            DocKey::Dashboard { .. } => Resource::Dashboards,
        }
    }

    /// The databases whose rows may document this key, in the order to ask them.
    pub fn databases(&self) -> &'static [Resource] {
        match self {
            DocKey::Flag(_) => &[Resource::Flags, Resource::Experiments],
            DocKey::Event(_) => &[Resource::Events],
            DocKey::Experiment(_) => &[Resource::Experiments],
            DocKey::Dashboard { .. } => &[Resource::Dashboards],
        }
    }

    /// The Notion filter conditions that find the rows of `resource`'s database holding
    /// exactly this key (`equals` on the key properties); empty when none can.
    pub fn conditions(&self, resource: Resource) -> Vec<Value> {
        self.conditions_with(resource, "equals")
    }

    /// The conditions the documentation lookup sends: `contains` on text properties, so a row
    /// whose value carries stray whitespace is found too (Notion's `equals` compares the raw
    /// text). It finds a superset; the rows are then judged by [`Documented::documents`].
    pub fn lookup_conditions(&self, resource: Resource) -> Vec<Value> {
        self.conditions_with(resource, "contains")
    }

    fn conditions_with(&self, resource: Resource, op: &str) -> Vec<Value> {
        // The properties come from the schema table: a key property of its own type.
        let identity = &resource.schema().identity;
        let on = |property: &str, value: &str| {
            let kind = resource
                .schema()
                .property(property)
                .map_or("rich_text", |p| p.kind.notion_name());
            json!({"property": property, kind: {op: value}})
        };
        let primary = |value: &str| on(identity.primary, value);
        let name = |value: &str| identity.fallback.map(|p| on(p, value));
        let mut out = Vec::new();
        match (self, resource) {
            (DocKey::Event(key), Resource::Events) | (DocKey::Flag(key), Resource::Flags)
                if !key.is_empty() =>
            {
                out.push(primary(key))
            }
            (DocKey::Flag(key), Resource::Experiments) if !key.is_empty() => out.push(primary(key)),
            (DocKey::Experiment(n), Resource::Experiments) if !n.is_empty() => out.extend(name(n)),
            (DocKey::Dashboard { name: n, id }, Resource::Dashboards) => {
                if !n.is_empty() {
                    out.extend(name(n));
                }
                if let Some(id) = id {
                    out.push(json!({"property": identity.primary, "number": {"equals": id}}));
                }
            }
            _ => {}
        }
        out
    }

    /// The one Notion filter for this key in `resource`'s database (its conditions or-ed).
    pub fn filter(&self, resource: Resource) -> Option<Value> {
        let mut any = self.conditions(resource);
        match any.len() {
            0 => None,
            1 => any.pop(),
            _ => Some(json!({ "or": any })),
        }
    }
}

/// A row's text property, normalised.
pub fn row_text(row: &NotionRow, property: &str) -> Option<String> {
    row.record
        .props
        .get(property)
        .and_then(PropValue::as_text)
        .and_then(normalise)
        .map(str::to_string)
}

/// A row's whole-number property.
pub fn row_id(row: &NotionRow, property: &str) -> Option<i64> {
    match row.record.props.get(property) {
        Some(PropValue::Number(Some(n))) if n.fract() == 0.0 => Some(*n as i64),
        _ => None,
    }
}

/// What a set of Notion rows documents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Documented {
    events: BTreeSet<String>,
    flags: BTreeSet<String>,
    experiment_flags: BTreeSet<String>,
    experiment_names: BTreeSet<String>,
    dashboard_names: BTreeSet<String>,
    dashboard_ids: BTreeSet<i64>,
}

impl Documented {
    /// Adds what one row of `resource`'s database documents (a row not in the trash).
    pub fn add_row(&mut self, resource: Resource, row: &NotionRow) {
        // The keys are read from the properties the schema table names.
        let identity = &resource.schema().identity;
        let primary = || row_text(row, identity.primary);
        let name = || identity.fallback.and_then(|p| row_text(row, p));
        match resource {
            Resource::Events => self.add_event(primary().as_deref()),
            Resource::Flags => self.add_flag(primary().as_deref()),
            Resource::Experiments => self.add_experiment(name().as_deref(), primary().as_deref()),
            Resource::Dashboards => {
                self.add_dashboard(name().as_deref(), row_id(row, identity.primary))
            }
        }
    }

    pub fn add_event(&mut self, name: Option<&str>) {
        if let Some(name) = name.and_then(normalise) {
            self.events.insert(name.to_string());
        }
    }

    pub fn add_flag(&mut self, key: Option<&str>) {
        if let Some(key) = key.and_then(normalise) {
            self.flags.insert(key.to_string());
        }
    }

    pub fn add_experiment(&mut self, name: Option<&str>, flag_key: Option<&str>) {
        if let Some(name) = name.and_then(normalise) {
            self.experiment_names.insert(name.to_string());
        }
        if let Some(key) = flag_key.and_then(normalise) {
            self.experiment_flags.insert(key.to_string());
        }
    }

    pub fn add_dashboard(&mut self, name: Option<&str>, id: Option<i64>) {
        if let Some(name) = name.and_then(normalise) {
            self.dashboard_names.insert(name.to_string());
        }
        if let Some(id) = id {
            self.dashboard_ids.insert(id);
        }
    }

    /// Adds what another set of rows documents.
    pub fn merge(&mut self, other: Documented) {
        self.events.extend(other.events);
        self.flags.extend(other.flags);
        self.experiment_flags.extend(other.experiment_flags);
        self.experiment_names.extend(other.experiment_names);
        self.dashboard_names.extend(other.dashboard_names);
        self.dashboard_ids.extend(other.dashboard_ids);
    }

    /// Whether these rows document `key` (see the module documentation for the rule).
    pub fn documents(&self, key: &DocKey) -> bool {
        let has =
            |set: &BTreeSet<String>, text: &str| normalise(text).is_some_and(|t| set.contains(t));
        match key {
            DocKey::Event(name) => has(&self.events, name),
            DocKey::Flag(key) => has(&self.flags, key) || has(&self.experiment_flags, key),
            DocKey::Experiment(name) => has(&self.experiment_names, name),
            DocKey::Dashboard { name, id } => {
                has(&self.dashboard_names, name)
                    || id.is_some_and(|id| self.dashboard_ids.contains(&id))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::decode_page;

    fn row(resource: Resource, props: Value) -> NotionRow {
        decode_page(resource, "p", None, props.as_object().unwrap())
    }

    fn title(text: &str) -> Value {
        json!({"title": [{"plain_text": text}]})
    }

    fn rich(text: &str) -> Value {
        json!({"rich_text": [{"plain_text": text}]})
    }

    #[test]
    fn keys_are_trimmed_but_keep_their_case() {
        let mut d = Documented::default();
        d.add_row(
            Resource::Events,
            &row(
                Resource::Events,
                json!({"Event Name": title(" user_signed_up ")}),
            ),
        );
        assert!(d.documents(&DocKey::event("user_signed_up")));
        assert!(d.documents(&DocKey::Event("  user_signed_up\n".into())));
        assert!(!d.documents(&DocKey::event("User_Signed_Up")));
        assert!(!d.documents(&DocKey::event("   ")));
        assert_eq!(DocKey::event(" a "), DocKey::Event("a".into()));
        assert_eq!(DocKey::flag("").filter(Resource::Flags), None);
    }

    #[test]
    fn status_does_not_matter_planned_and_retired_rows_document() {
        let mut d = Documented::default();
        for (key, status) in [("new_flag", "draft"), ("old_flag", "archived")] {
            d.add_row(
                Resource::Flags,
                &row(
                    Resource::Flags,
                    json!({"Flag Key": title(key), "Status": {"select": {"name": status}}}),
                ),
            );
        }
        assert!(d.documents(&DocKey::flag("new_flag")));
        assert!(d.documents(&DocKey::flag("old_flag")));
    }

    #[test]
    fn an_experiment_row_documents_its_flag_and_itself() {
        let mut d = Documented::default();
        d.add_row(
            Resource::Experiments,
            &row(
                Resource::Experiments,
                json!({"Experiment Name": title("Checkout copy"), "Flag Key": rich("checkout-copy")}),
            ),
        );
        assert!(d.documents(&DocKey::flag("checkout-copy")));
        assert!(d.documents(&DocKey::experiment("Checkout copy")));
        assert!(d.documents(&DocKey::flag("checkout-copy")));
        // Another experiment on the same flag is not documented by this row.
        assert!(!d.documents(&DocKey::experiment("Checkout copy (Copy)")));
        assert!(!d.documents(&DocKey::experiment("Nope")));
        assert!(!d.documents(&DocKey::event("checkout-copy")));
        assert!(!d.documents(&DocKey::flag("Checkout copy")));
    }

    #[test]
    fn a_dashboard_is_documented_by_name_or_id() {
        let mut d = Documented::default();
        d.add_row(
            Resource::Dashboards,
            &row(
                Resource::Dashboards,
                json!({"Dashboard Name": title("API Performance"), "ID": {"number": 123}}),
            ),
        );
        assert!(d.documents(&DocKey::dashboard("API Performance", None)));
        assert!(d.documents(&DocKey::dashboard("Renamed", Some(123))));
        assert!(!d.documents(&DocKey::dashboard("Renamed", Some(124))));
    }

    #[test]
    fn filters_are_one_equals_query_per_key_property() {
        assert_eq!(
            DocKey::event("user_signed_up").filter(Resource::Events),
            Some(json!({"property": "Event Name", "title": {"equals": "user_signed_up"}}))
        );
        assert_eq!(
            DocKey::flag("checkout-copy").filter(Resource::Experiments),
            Some(json!({"property": "Flag Key", "rich_text": {"equals": "checkout-copy"}}))
        );
        assert_eq!(
            DocKey::experiment("Checkout copy").filter(Resource::Experiments),
            Some(json!({"property": "Experiment Name", "title": {"equals": "Checkout copy"}}))
        );
        assert_eq!(
            DocKey::dashboard("API Performance", Some(123)).filter(Resource::Dashboards),
            Some(json!({"or": [
                {"property": "Dashboard Name", "title": {"equals": "API Performance"}},
                {"property": "ID", "number": {"equals": 123}}
            ]}))
        );
        assert_eq!(DocKey::event("e").filter(Resource::Flags), None);
        assert_eq!(
            DocKey::flag("x").lookup_conditions(Resource::Flags),
            vec![json!({"property": "Flag Key", "title": {"contains": "x"}})]
        );
    }
}
