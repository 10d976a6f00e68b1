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

use crate::model::{KeyPart, MatchKeys, NotionRow, PropValue, Record, Resource};

/// The one normalisation of a key or a row's value: trimmed, `None` when nothing is left.
pub fn normalise(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

fn owned(text: &str) -> String {
    normalise(text).unwrap_or_default().to_string()
}

/// Something whose documentation is asked about: a key of a resource, by its name, and by its
/// PostHog ID when the resource is documented by ID too (a dashboard). What documents it is
/// the schema table's [`crate::model::DatabaseSchema::documents`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocKey {
    resource: Resource,
    name: String,
    id: Option<i64>,
}

impl DocKey {
    /// A key of `resource`, normalised.
    pub fn new(resource: Resource, name: &str, id: Option<i64>) -> DocKey {
        DocKey {
            resource,
            name: owned(name),
            id,
        }
    }

    /// An event name, normalised.
    pub fn event(name: &str) -> DocKey {
        DocKey::new(Resource::Events, name, None)
    }

    /// A flag key, normalised.
    pub fn flag(key: &str) -> DocKey {
        DocKey::new(Resource::Flags, key, None)
    }

    /// An experiment's name, normalised.
    pub fn experiment(name: &str) -> DocKey {
        DocKey::new(Resource::Experiments, name, None)
    }

    /// A dashboard, normalised.
    pub fn dashboard(name: &str, id: Option<i64>) -> DocKey {
        DocKey::new(Resource::Dashboards, name, id)
    }

    /// The name asked about (normalised; empty when there is none).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What a record of `resource` (a PostHog object just normalised) is asked about: the
    /// keys its own row would document it by (an event's or flag's key, an experiment's name,
    /// a dashboard's name and ID).
    pub fn of_record(resource: Resource, record: &Record) -> DocKey {
        let mut name = "";
        let mut id = None;
        for d in own_entries(resource, resource) {
            let value = record.keys.get(d.slot).unwrap_or_default();
            match d.part {
                KeyPart::Name => name = value,
                KeyPart::Id => id = value.parse().ok(),
            }
        }
        DocKey::new(resource, name, id)
    }

    /// The database whose rows document this key first.
    pub fn resource(&self) -> Resource {
        self.resource
    }

    /// The databases whose rows may document this key, in the order to ask them: its own
    /// first (a flag: the Flags database, then the experiments naming it).
    pub fn databases(&self) -> Vec<Resource> {
        let mut out = vec![self.resource];
        out.extend(
            Resource::ALL
                .into_iter()
                .filter(|&r| r != self.resource && own_entries(r, self.resource).next().is_some()),
        );
        out
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
        let schema = resource.schema();
        let mut out = Vec::new();
        for d in own_entries(resource, self.resource) {
            let Some(property) = schema.slot_property(d.slot) else {
                continue;
            };
            match d.part {
                KeyPart::Name if !self.name.is_empty() => {
                    let kind = schema
                        .property(property)
                        .map_or("rich_text", |p| p.kind.notion_name());
                    out.push(json!({"property": property, kind: {op: self.name}}));
                }
                KeyPart::Id => {
                    if let Some(id) = self.id {
                        out.push(json!({"property": property, "number": {"equals": id}}));
                    }
                }
                KeyPart::Name => {}
            }
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

/// What rows of `database` document of `of`'s keys (the schema table's entries).
fn own_entries(
    database: Resource,
    of: Resource,
) -> impl Iterator<Item = &'static crate::model::Documents> {
    database
        .schema()
        .documents
        .iter()
        .filter(move |d| d.of == of)
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

/// What a set of Notion rows documents: names and IDs, each of the resource it names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Documented {
    names: BTreeSet<(Resource, String)>,
    ids: BTreeSet<(Resource, i64)>,
}

impl Documented {
    /// Adds what one row of `resource`'s database documents (a row not in the trash).
    pub fn add_row(&mut self, resource: Resource, row: &NotionRow) {
        self.add_keys(resource, &row.record.keys);
    }

    /// Adds what a row of `resource`'s database with these identity keys documents (as the
    /// schema table's `documents` says).
    pub fn add_keys(&mut self, resource: Resource, keys: &MatchKeys) {
        for d in resource.schema().documents {
            let Some(value) = keys.get(d.slot).and_then(normalise) else {
                continue;
            };
            match d.part {
                KeyPart::Name => {
                    self.names.insert((d.of, value.to_string()));
                }
                KeyPart::Id => {
                    if let Ok(id) = value.parse() {
                        self.ids.insert((d.of, id));
                    }
                }
            }
        }
    }

    /// Adds what another set of rows documents.
    pub fn merge(&mut self, other: Documented) {
        self.names.extend(other.names);
        self.ids.extend(other.ids);
    }

    /// Whether these rows document `key` (see the module documentation for the rule).
    pub fn documents(&self, key: &DocKey) -> bool {
        normalise(&key.name).is_some_and(|n| self.names.contains(&(key.resource, n.to_string())))
            || key
                .id
                .is_some_and(|id| self.ids.contains(&(key.resource, id)))
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
        assert!(d.documents(&DocKey::new(Resource::Events, "  user_signed_up\n", None)));
        assert!(!d.documents(&DocKey::event("User_Signed_Up")));
        assert!(!d.documents(&DocKey::event("   ")));
        assert_eq!(DocKey::event(" a "), DocKey::event("a"));
        assert_eq!(DocKey::event(" a ").name(), "a");
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
