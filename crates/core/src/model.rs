//! The one model: the four resources, their Notion database schemas, property values, and the
//! spec's status mapping.
//!
//! Everything kodo compares is first normalised into a [`Record`]: a resource kind, a match key
//! and a map from Notion property name to a typed [`PropValue`]. PostHog objects become records
//! (see `normalize`), Notion pages become records (see [`decode_page`]), and the planner diffs
//! records. Nothing here does I/O.
//!
//! **Invariants.**
//! - [`Resource::schema`] is exactly the spec's "Database Schemas" table: property names, types
//!   and select options. `setup` creates databases from it, and the planner never writes a
//!   property the schema does not list.
//! - [`encode`] only produces values Notion accepts, lengths counted in UTF-16 units as
//!   Notion counts them: text split into pieces of 2,000 units at grapheme boundaries, at most
//!   100 pieces; select options without commas and at most 100 units; URLs of at most 2,000
//!   units; `null`, never `""`, for an empty URL, number, select or date.
//! - [`same`] is the planner's equality: a value that reads back from Notion differently only
//!   in form (rounded dates, split text, reordered multi-select, truncated reads) is the same.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The four kinds of resource kodo keeps in agreement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Events,
    Flags,
    Experiments,
    Dashboards,
}

impl Resource {
    /// All resources, in the spec's order.
    pub const ALL: [Resource; 4] = [
        Resource::Events,
        Resource::Flags,
        Resource::Experiments,
        Resource::Dashboards,
    ];

    /// `events`, `flags`, `experiments`, `dashboards`: the CLI's and JSON's name.
    pub fn plural(self) -> &'static str {
        self.schema().names.plural
    }

    /// `Event`, `Flag`, `Experiment`, `Dashboard`: the audit report's label.
    pub fn label(self) -> &'static str {
        self.schema().names.label
    }

    /// The summary line's name: `Events`, `Flags`, `Experiments`, `Dashboards`.
    pub fn title(self) -> &'static str {
        self.schema().names.heading
    }

    /// The key under `notion.databases` in the config.
    pub fn config_key(self) -> &'static str {
        self.schema().names.config_key
    }

    /// The resource named `plural` (`events`, `flags`, …) on the command line and in JSON.
    pub fn from_plural(plural: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.plural() == plural)
    }

    /// The resource `document`'s word names (`event`, `flag`, `experiment`, `dashboard`).
    pub fn from_noun(noun: &str) -> Option<Resource> {
        Resource::ALL
            .into_iter()
            .find(|r| r.schema().documenting.noun == noun)
    }

    /// The resource's row of the table: its Notion database's schema and every other
    /// per-resource fact. This is the one `match` on a resource that says what it is.
    pub fn schema(self) -> &'static DatabaseSchema {
        match self {
            Resource::Events => &EVENTS,
            Resource::Flags => &FLAGS,
            Resource::Experiments => &EXPERIMENTS,
            Resource::Dashboards => &DASHBOARDS,
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.plural())
    }
}

/// A Notion property type kodo uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropType {
    Title,
    RichText,
    Select,
    MultiSelect,
    Number,
    Checkbox,
    Url,
    Date,
    People,
}

impl PropType {
    /// Notion's name for the type (`rich_text`, `multi_select`, …).
    pub fn notion_name(self) -> &'static str {
        match self {
            PropType::Title => "title",
            PropType::RichText => "rich_text",
            PropType::Select => "select",
            PropType::MultiSelect => "multi_select",
            PropType::Number => "number",
            PropType::Checkbox => "checkbox",
            PropType::Url => "url",
            PropType::Date => "date",
            PropType::People => "people",
        }
    }
}

/// Who writes a property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Computed from PostHog (and the code scan): kept up to date by every import.
    Kodo,
    /// Written by people (Description, Hypothesis, Owner…): filled when empty, never overwritten
    /// without `--overwrite`.
    Human,
    /// Derived from PostHog but worded for people, who may edit it (a flag's Name and
    /// Targeting): filled when empty; afterwards rewritten only while Notion still holds what
    /// kodo last wrote there (its [`fingerprint`]). A person's edit is kept and reported,
    /// replaced only with `--overwrite`.
    Derived,
}

/// A stable fingerprint of a value as kodo wrote it (FNV-1a 64 of its display text, hex):
/// what `.kodo/state.json` remembers of a [`Ownership::Derived`] property, to tell kodo's
/// own text from a person's edit. Stable across Rust versions and platforms.
pub fn fingerprint(value: &PropValue) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in value.display().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// One property of a database schema.
#[derive(Debug)]
pub struct PropSpec {
    pub name: &'static str,
    pub kind: PropType,
    pub options: &'static [&'static str],
    pub ownership: Ownership,
}

/// One of the four databases.
#[derive(Debug)]
pub struct DatabaseSchema {
    pub resource: Resource,
    /// What the resource is called where.
    pub names: Names,
    /// Properties whose PostHog-side value is merged into the row's instead of replacing it
    /// (an event's `Tracked On`: a side the code scan did not see is kept).
    pub merged: &'static [&'static str],
    /// How the audit words PostHog's side of a status mismatch, by PostHog's status (`*`:
    /// any status; `{detail}`: the finding's detail, such as "active at 25%").
    pub posthog_says: &'static [(&'static str, &'static str)],
    /// Where PostHog keeps it.
    pub posthog: PostHogSource,
    /// The database title `setup` gives it.
    pub title: &'static str,
    pub properties: &'static [PropSpec],
    /// The property that says what the resource is for, and the spec's words for what it
    /// holds (its "Purpose" column): the `missing-purpose` hygiene rule asks for it.
    pub purpose: Option<Purpose>,
    /// Which properties identify a row.
    pub identity: Identity,
    /// The status property and its lifecycle values (none for dashboards).
    pub lifecycle: Option<Lifecycle>,
    /// What `kodo ph-sync document` writes into a new or existing row.
    pub documenting: Documenting,
    /// How kodo tells that a documented resource which left PostHog's list was deleted
    /// there; `None` when PostHog keeps nothing of a deleted one (event definitions).
    pub deletion: Option<Deletion>,
    /// What a row of this database documents, by its identity keys (see
    /// `documented`): an event's row its event, an experiment's row itself (by name) and its
    /// flag (by the flag key), a dashboard's row its dashboard by name and by PostHog ID.
    pub documents: &'static [Documents],
    /// How `.kodo/snapshot.json` lists the documented rows.
    pub snapshot: SnapshotList,
}

/// Which of a row's identity keys holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySlot {
    /// [`Identity::primary`].
    Primary,
    /// [`Identity::fallback`].
    Fallback,
}

/// How a documented key is named: by its name (an event name, a flag key, an experiment's
/// or a dashboard's name) or by its PostHog ID (a dashboard's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyPart {
    Name,
    Id,
}

/// One thing a row documents: the key in its `slot` names `part` of a key of `of`.
#[derive(Debug)]
pub struct Documents {
    pub slot: KeySlot,
    pub of: Resource,
    pub part: KeyPart,
}

/// How PostHog deletes a resource, and how kodo finds out. PostHog soft-deletes flags,
/// experiments and dashboards (`deleted: true`) and leaves them out of its lists; a by-id read
/// still answers for a flag (with `deleted: true`) and answers 404 for a dashboard
/// (`DashboardsViewSet.dangerously_get_queryset` excludes `deleted=True` except for an update
/// that restores it, PostHog/posthog posthog/api/dashboards/dashboard.py) or an experiment.
#[derive(Debug)]
pub struct Deletion {
    /// The row property holding the resource's PostHog id; `None`: the row holds none, and
    /// kodo remembers the ids it saw in `.kodo/state.json`, by the row's primary key.
    pub id_property: Option<&'static str>,
    /// Whether a by-id read still returns a deleted one (flags: with `deleted: true`);
    /// otherwise it answers 404, which for an id kodo saw means deleted.
    pub readable_when_deleted: bool,
    /// Where `.kodo/state.json` keeps the ids kodo remembers (when `id_property` is `None`).
    pub remembered_in: RememberedIds,
}

/// Where `.kodo/state.json` keeps the PostHog ids kodo saw, by the rows' primary keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RememberedIds {
    /// The file's top-level `flag_ids` map: flags had their ids remembered before any other
    /// resource did, and existing state files keep that map.
    FlagIds,
    /// The file's `posthog_ids` map, under the resource's plural.
    ByResource,
}

/// How `.kodo/snapshot.json` lists a resource's documented rows (under the resource's
/// plural): the file's format, one shape per resource, read and written from this table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotList {
    /// The rows' primary keys: `["user_signed_up"]`.
    Keys,
    /// One object per row, its identity keys under these field names, in this order (the
    /// list is sorted by them, in this order; a numeric primary key is a JSON number):
    /// `{"name": "Checkout copy", "flag_key": "checkout-copy"}`.
    Entries(&'static [(KeySlot, &'static str)]),
}

/// A resource's names: on the command line and in JSON, in reports, and in the config.
#[derive(Debug)]
pub struct Names {
    /// `flags`: the CLI's and JSON's name, and the key of `.kodo/state.json`'s maps.
    pub plural: &'static str,
    /// `Flag`: the audit report's label.
    pub label: &'static str,
    /// `Flags`: the summary line's name.
    pub heading: &'static str,
    /// `feature_flags`: the key under `notion.databases` in the config.
    pub config_key: &'static str,
    /// What the database holds, in the index page's words: `every feature flag: …`.
    pub holds: &'static str,
}

/// Where PostHog keeps a resource: the project endpoint it is read from, the API key scope
/// that read needs, and how one object is named and keyed (for errors about one object, such
/// as the Claude hook's MCP output).
#[derive(Debug)]
pub struct PostHogSource {
    /// `feature_flags`: `/api/projects/:id/<endpoint>/`.
    pub endpoint: &'static str,
    /// `feature_flag:read`.
    pub scope: &'static str,
    /// `feature flag`: one object, in a sentence.
    pub object: &'static str,
    /// `key`: the field that names one object.
    pub key_field: &'static str,
    /// The field that names one object in a sentence: a flag's `key`, the others' `name` (a
    /// dashboard is keyed by its `id`, and named by its `name`).
    pub name_field: &'static str,
    /// How one comes to exist in PostHog, as the next step after documenting it ahead:
    /// "send it from the code" for an event (PostHog lists an event once it is captured), "create
    /// it in PostHog" for the others.
    pub coming_into_being: &'static str,
    /// The other resources PostHog is read for whenever this one is, because the normaliser
    /// needs them: flags need the experiments (a flag an experiment uses has Type
    /// `experiment`, and an archived experiment makes a check of its flag dead).
    pub needs: &'static [Resource],
}

/// A fact a person gives `kodo ph-sync document` (one command-line option each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocField {
    Description,
    Purpose,
    Hypothesis,
    Owner,
    Type,
    Name,
    FlagKey,
    PlannedRemoval,
    /// A property the event sends (`--property NAME[:TYPE]`), added to the Properties schema.
    Property,
}

impl DocField {
    /// The command-line option: `--description`, `--planned-removal`, …
    pub fn option(self) -> &'static str {
        match self {
            DocField::Description => "--description",
            DocField::Purpose => "--purpose",
            DocField::Hypothesis => "--hypothesis",
            DocField::Owner => "--owner",
            DocField::Type => "--type",
            DocField::Name => "--name",
            DocField::FlagKey => "--flag-key",
            DocField::PlannedRemoval => "--planned-removal",
            DocField::Property => "--property",
        }
    }
}

/// A fact kodo derives from a key (the same rules `import` applies to PostHog's objects).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFact {
    /// An event name's first segment (`normalize::event_domain`).
    EventDomain,
    /// An event name's category (`normalize::event_category`, `sync.event_categories`).
    EventCategory,
    /// A flag key's type (`normalize::flag_type`, `sync.flag_types`).
    FlagType,
}

/// A fact the code scan gives about a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeFact {
    /// Which side sends the event (`frontend`, `backend`, `both`).
    TrackedOn,
    /// The pull request that introduced the flag.
    RelatedPr,
}

/// What `kodo ph-sync document` writes for a resource. The status it writes is the
/// lifecycle's `planned` value; the key goes into the title property (and the primary key
/// property, when that is the title).
#[derive(Debug)]
pub struct Documenting {
    /// The command line's word for one resource: `event`, `flag`, `experiment`, `dashboard`.
    pub noun: &'static str,
    /// What the key is, in words: `event name`.
    pub key_is: &'static str,
    /// The options a person may give, and the property each fills.
    pub fields: &'static [(DocField, &'static str)],
    /// The facts kodo derives from the key, and the property each fills.
    pub key_facts: &'static [(KeyFact, &'static str)],
    /// The facts the code scan gives, and the property each fills.
    pub code_facts: &'static [(CodeFact, &'static str)],
}

impl Documenting {
    /// The property `field` fills, if this resource takes it.
    pub fn property_of(&self, field: DocField) -> Option<&'static str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, p)| *p)
    }

    /// The options this resource takes, for an error message: `--description, --owner`.
    pub fn options(&self) -> String {
        self.fields
            .iter()
            .map(|(f, _)| f.option())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Which properties identify a row: kodo matches PostHog's objects to rows by them, reads
/// them first, and looks a row up by them after a create whose answer was lost.
#[derive(Debug)]
pub struct Identity {
    /// The primary match key's property: an event's or flag's key, an experiment's flag key,
    /// a dashboard's PostHog ID.
    pub primary: &'static str,
    /// The fallback key's property, matched when a row has no primary key: an experiment's
    /// or a dashboard's name.
    pub fallback: Option<&'static str>,
}

/// The property that holds a resource's status in the spec's vocabulary, and the values that
/// mean "only planned" and "retired".
#[derive(Debug)]
pub struct Lifecycle {
    pub property: &'static str,
    /// The status of a row whose resource is only planned (not yet in PostHog).
    pub planned: &'static str,
    /// The status of a row whose resource is retired.
    pub retired: &'static str,
    /// Status values people set that kodo never replaces.
    pub protected: &'static [&'static str],
}

/// A key query: the property to filter on, its type, and the value (for a number property,
/// a JSON number).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyQuery {
    pub property: &'static str,
    pub kind: PropType,
    pub value: Value,
}

/// The property a row's purpose is written in.
#[derive(Debug)]
pub struct Purpose {
    pub property: &'static str,
    /// The spec's "Purpose" column for it: `What the event tracks`.
    pub what: &'static str,
}

impl DatabaseSchema {
    pub fn property(&self, name: &str) -> Option<&'static PropSpec> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// Whether the primary key is PostHog's numeric ID (a dashboard's), shown as `ID: n`.
    pub fn keyed_by_id(&self) -> bool {
        self.property(self.identity.primary)
            .is_some_and(|p| p.kind == PropType::Number)
    }

    /// The PostHog ID a primary key holds, when the resource is keyed by its ID.
    pub fn numeric_id(&self, primary: Option<&str>) -> Option<i64> {
        primary
            .filter(|_| self.keyed_by_id())
            .and_then(|p| p.parse().ok())
    }

    /// How the audit words PostHog's `status` in a mismatch.
    pub fn posthog_phrase(&self, status: &str, detail: &str) -> String {
        self.posthog_says
            .iter()
            .find(|(s, _)| *s == status || *s == "*")
            .map_or_else(
                || format!("PostHog says \"{status}\""),
                |(_, phrase)| phrase.replace("{detail}", detail),
            )
    }

    /// The property that holds a row's key in `slot` (`None`: the resource has no fallback).
    pub fn slot_property(&self, slot: KeySlot) -> Option<&'static str> {
        match slot {
            KeySlot::Primary => Some(self.identity.primary),
            KeySlot::Fallback => self.identity.fallback,
        }
    }

    /// The properties rows are identified by: the fallback (when there is one), then the
    /// primary.
    pub fn key_properties(&self) -> Vec<&'static str> {
        self.identity
            .fallback
            .into_iter()
            .chain([self.identity.primary])
            .collect()
    }

    /// Where kodo remembers the PostHog ids it saw, by the rows' primary keys, when the rows
    /// hold none (flags, experiments): a later run reads a documented resource that left
    /// PostHog's list by that id, to tell a deleted one from one never seen.
    pub fn remembers_posthog_ids(&self) -> Option<RememberedIds> {
        self.deletion
            .as_ref()
            .filter(|d| d.id_property.is_none())
            .map(|d| d.remembered_in)
    }

    /// The property holding the status, if the resource has one.
    pub fn status_property(&self) -> Option<&'static str> {
        self.lifecycle.as_ref().map(|l| l.property)
    }

    /// Whether `status` says the resource is only planned.
    pub fn is_planned(&self, status: Option<&str>) -> bool {
        self.lifecycle
            .as_ref()
            .is_some_and(|l| status == Some(l.planned))
    }

    /// Whether `status` says the resource is retired.
    pub fn is_retired(&self, status: Option<&str>) -> bool {
        self.lifecycle
            .as_ref()
            .is_some_and(|l| status == Some(l.retired))
    }

    /// Whether `current`, the value of `property`, is one people set and kodo never replaces.
    pub fn is_protected(&self, property: &str, current: &str) -> bool {
        self.lifecycle
            .as_ref()
            .is_some_and(|l| l.property == property && l.protected.contains(&current))
    }

    /// A row's match keys, from its decoded properties.
    pub fn match_keys(&self, props: &BTreeMap<&'static str, PropValue>) -> MatchKeys {
        let key_text = |name: &str| match props.get(name) {
            Some(PropValue::Number(Some(n))) => Some(format_number(*n)),
            Some(v) => v
                .as_text()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            None => None,
        };
        MatchKeys {
            primary: key_text(self.identity.primary),
            fallback: self.identity.fallback.and_then(key_text),
        }
    }

    /// The query that finds the row of a record with these keys (`key` is the record's name):
    /// by the primary key when it has one, else by the fallback.
    pub fn key_query(&self, keys: &MatchKeys, key: &str) -> KeyQuery {
        let query = |property: &'static str, text: &str| {
            let kind = self
                .property(property)
                .map_or(PropType::RichText, |p| p.kind);
            let value = match kind {
                PropType::Number => text
                    .parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| text.parse::<f64>().map(Value::from))
                    .unwrap_or_else(|_| json!(text)),
                _ => json!(text),
            };
            KeyQuery {
                property,
                kind,
                value,
            }
        };
        match (&keys.primary, self.identity.fallback) {
            (Some(primary), _) => query(self.identity.primary, primary),
            (None, Some(fallback)) => query(fallback, key),
            (None, None) => query(self.identity.primary, key),
        }
    }

    /// The title property (the row's key for events and flags, the name otherwise).
    pub fn title_property(&self) -> &'static PropSpec {
        // Every schema below has exactly one title property (checked by a test).
        self.properties
            .iter()
            .find(|p| p.kind == PropType::Title)
            .unwrap_or(&self.properties[0])
    }

    /// The `properties` object of a Notion create-database or update-data-source request.
    pub fn notion_properties(&self) -> Value {
        let mut out = serde_json::Map::new();
        for spec in self.properties {
            out.insert(spec.name.to_string(), property_config(spec));
        }
        Value::Object(out)
    }
}

/// The schema entry of one property, in Notion's request shape.
pub fn property_config(spec: &PropSpec) -> Value {
    let options = || {
        json!({"options": spec.options.iter().enumerate().map(|(i, name)| {
            json!({"name": name, "color": OPTION_COLORS[i % OPTION_COLORS.len()]})
        }).collect::<Vec<_>>()})
    };
    match spec.kind {
        PropType::Select => json!({"select": options()}),
        PropType::MultiSelect => json!({"multi_select": options()}),
        PropType::Number => json!({"number": {"format": "number"}}),
        other => json!({ other.notion_name(): {} }),
    }
}

const OPTION_COLORS: [&str; 9] = [
    "gray", "blue", "green", "yellow", "orange", "red", "purple", "pink", "brown",
];

/// The spec's property names, one constant each: the schema tables below and every module
/// that names a property use these, so each name is spelled once.
pub mod props {
    pub const EVENT_NAME: &str = "Event Name";
    pub const DOMAIN: &str = "Domain";
    pub const CATEGORY: &str = "Category";
    pub const DESCRIPTION: &str = "Description";
    pub const PROPERTIES: &str = "Properties";
    pub const IMPLEMENTATION_STATUS: &str = "Implementation Status";
    pub const TRACKED_ON: &str = "Tracked On";
    pub const FEATURE_AREA: &str = "Feature Area";
    pub const OWNER: &str = "Owner";
    pub const CREATED: &str = "Created";
    pub const LAST_UPDATED: &str = "Last Updated";
    pub const FLAG_KEY: &str = "Flag Key";
    pub const NAME: &str = "Name";
    pub const TYPE: &str = "Type";
    pub const STATUS: &str = "Status";
    pub const ROLLOUT: &str = "Rollout %";
    pub const TARGETING: &str = "Targeting";
    pub const PLANNED_REMOVAL: &str = "Planned Removal";
    pub const RELATED_PR: &str = "Related PR";
    pub const EXPERIMENT_NAME: &str = "Experiment Name";
    pub const HYPOTHESIS: &str = "Hypothesis";
    pub const PRIMARY_METRIC: &str = "Primary Metric";
    pub const SECONDARY_METRICS: &str = "Secondary Metrics";
    pub const START_DATE: &str = "Start Date";
    pub const END_DATE: &str = "End Date";
    pub const RESULT: &str = "Result";
    pub const WINNER_VARIANT: &str = "Winner Variant";
    pub const LEARNINGS: &str = "Learnings";
    pub const DASHBOARD_NAME: &str = "Dashboard Name";
    pub const ID: &str = "ID";
    pub const PURPOSE: &str = "Purpose";
    pub const AUDIENCE: &str = "Audience";
    pub const REFRESH_CADENCE: &str = "Refresh Cadence";
    pub const PINNED: &str = "Pinned";
    pub const POSTHOG_URL: &str = "PostHog URL";
    pub const LAST_REVIEWED: &str = "Last Reviewed";
}

macro_rules! prop {
    ($name:expr, $kind:ident) => {
        prop!($name, $kind, [], Kodo)
    };
    ($name:expr, $kind:ident, $owner:ident) => {
        prop!($name, $kind, [], $owner)
    };
    ($name:expr, $kind:ident, [$($opt:literal),*], $owner:ident) => {
        PropSpec { name: $name, kind: PropType::$kind, options: &[$($opt),*], ownership: Ownership::$owner }
    };
}

/// Events database: the spec's table.
pub static EVENTS: DatabaseSchema = DatabaseSchema {
    documents: &[Documents {
        slot: KeySlot::Primary,
        of: Resource::Events,
        part: KeyPart::Name,
    }],
    deletion: None,
    snapshot: SnapshotList::Keys,
    merged: &[props::TRACKED_ON],
    posthog_says: &[("*", "PostHog tracks it")],
    names: Names {
        plural: "events",
        label: "Event",
        heading: "Events",
        config_key: "events",
        holds: "every event PostHog receives: what it means, its domain and category, where it is sent from (Tracked On) and whether it is implemented",
    },
    posthog: PostHogSource {
        endpoint: "event_definitions",
        scope: "event_definition:read",
        object: "event definition",
        key_field: "name",
        name_field: "name",
        coming_into_being: "send it from the code (PostHog lists an event once it is captured)",
        needs: &[],
    },
    documenting: Documenting {
        noun: "event",
        key_is: "event name",
        fields: &[
            (DocField::Description, props::DESCRIPTION),
            (DocField::Owner, props::OWNER),
            (DocField::Property, props::PROPERTIES),
        ],
        key_facts: &[
            (KeyFact::EventDomain, props::DOMAIN),
            (KeyFact::EventCategory, props::CATEGORY),
        ],
        code_facts: &[(CodeFact::TrackedOn, props::TRACKED_ON)],
    },
    identity: Identity {
        primary: props::EVENT_NAME,
        fallback: None,
    },
    lifecycle: Some(Lifecycle {
        property: props::IMPLEMENTATION_STATUS,
        planned: "planned",
        retired: "deprecated",
        protected: &["deprecated"],
    }),
    resource: Resource::Events,
    title: "Events",
    purpose: Some(Purpose {
        property: props::DESCRIPTION,
        what: "what the event tracks",
    }),
    properties: &[
        prop!(props::EVENT_NAME, Title),
        prop!(
            props::DOMAIN,
            Select,
            ["user_", "subscription_", "feature_", "error_", "system_"],
            Kodo
        ),
        prop!(
            props::CATEGORY,
            Select,
            ["conversion", "engagement", "error", "system"],
            Kodo
        ),
        prop!(props::DESCRIPTION, RichText, Human),
        prop!(props::PROPERTIES, RichText, Human),
        prop!(
            props::IMPLEMENTATION_STATUS,
            Select,
            ["planned", "implemented", "deprecated"],
            Kodo
        ),
        prop!(
            props::TRACKED_ON,
            MultiSelect,
            ["frontend", "backend", "both"],
            Kodo
        ),
        prop!(props::FEATURE_AREA, MultiSelect, Human),
        prop!(props::OWNER, People, Human),
        prop!(props::CREATED, Date),
        prop!(props::LAST_UPDATED, Date),
    ],
};

/// Feature Flags database: the spec's table.
pub static FLAGS: DatabaseSchema = DatabaseSchema {
    documents: &[Documents {
        slot: KeySlot::Primary,
        of: Resource::Flags,
        part: KeyPart::Name,
    }],
    deletion: Some(Deletion {
        id_property: None,
        readable_when_deleted: true,
        remembered_in: RememberedIds::FlagIds,
    }),
    snapshot: SnapshotList::Keys,
    merged: &[],
    posthog_says: &[
        ("active", "PostHog is {detail}"),
        ("rolling_out", "PostHog is {detail}"),
        ("draft", "PostHog has it inactive"),
        // `{detail}` is `deleted` or `archived` (`normalize::flag_detail`): both are retired.
        ("archived", "PostHog {detail} it"),
    ],
    names: Names {
        plural: "flags",
        label: "Flag",
        heading: "Flags",
        config_key: "feature_flags",
        holds: "every feature flag: its type, status, rollout and owner",
    },
    posthog: PostHogSource {
        endpoint: "feature_flags",
        scope: "feature_flag:read",
        object: "feature flag",
        key_field: "key",
        name_field: "key",
        coming_into_being: "create the flag in PostHog",
        needs: &[Resource::Experiments],
    },
    documenting: Documenting {
        noun: "flag",
        key_is: "flag key",
        fields: &[
            (DocField::Name, props::NAME),
            (DocField::Type, props::TYPE),
            (DocField::Owner, props::OWNER),
            (DocField::PlannedRemoval, props::PLANNED_REMOVAL),
        ],
        key_facts: &[(KeyFact::FlagType, props::TYPE)],
        code_facts: &[(CodeFact::RelatedPr, props::RELATED_PR)],
    },
    identity: Identity {
        primary: props::FLAG_KEY,
        fallback: None,
    },
    lifecycle: Some(Lifecycle {
        property: props::STATUS,
        planned: "draft",
        retired: "archived",
        protected: &[],
    }),
    resource: Resource::Flags,
    title: "Feature Flags",
    purpose: None,
    properties: &[
        prop!(props::FLAG_KEY, Title),
        prop!(props::NAME, RichText, Derived),
        prop!(
            props::TYPE,
            Select,
            ["release", "experiment", "ops", "beta", "config"],
            Kodo
        ),
        prop!(
            props::STATUS,
            Select,
            ["draft", "active", "rolling_out", "archived"],
            Kodo
        ),
        prop!(props::ROLLOUT, Number),
        prop!(props::TARGETING, RichText, Derived),
        prop!(props::OWNER, People, Human),
        prop!(props::CREATED, Date),
        prop!(props::PLANNED_REMOVAL, Date, Human),
        prop!(props::RELATED_PR, Url),
    ],
};

/// Experiments database: the spec's table.
pub static EXPERIMENTS: DatabaseSchema = DatabaseSchema {
    documents: &[
        Documents {
            slot: KeySlot::Fallback,
            of: Resource::Experiments,
            part: KeyPart::Name,
        },
        Documents {
            slot: KeySlot::Primary,
            of: Resource::Flags,
            part: KeyPart::Name,
        },
    ],
    deletion: Some(Deletion {
        id_property: None,
        readable_when_deleted: false,
        remembered_in: RememberedIds::ByResource,
    }),
    snapshot: SnapshotList::Entries(&[(KeySlot::Fallback, "name"), (KeySlot::Primary, "flag_key")]),
    merged: &[],
    posthog_says: &[
        ("draft", "PostHog has it as a draft"),
        ("running", "PostHog is running it"),
        ("concluded", "PostHog concluded"),
        ("archived", "PostHog archived it"),
    ],
    names: Names {
        plural: "experiments",
        label: "Experiment",
        heading: "Experiments",
        config_key: "experiments",
        holds: "every experiment: its flag, hypothesis, metrics, dates and result",
    },
    posthog: PostHogSource {
        endpoint: "experiments",
        scope: "experiment:read",
        object: "experiment",
        key_field: "name",
        name_field: "name",
        coming_into_being: "create the experiment in PostHog",
        needs: &[],
    },
    documenting: Documenting {
        noun: "experiment",
        key_is: "experiment name",
        fields: &[
            (DocField::FlagKey, props::FLAG_KEY),
            (DocField::Hypothesis, props::HYPOTHESIS),
            (DocField::Owner, props::OWNER),
        ],
        key_facts: &[],
        code_facts: &[],
    },
    identity: Identity {
        primary: props::FLAG_KEY,
        fallback: Some(props::EXPERIMENT_NAME),
    },
    lifecycle: Some(Lifecycle {
        property: props::STATUS,
        planned: "draft",
        retired: "archived",
        protected: &[],
    }),
    resource: Resource::Experiments,
    title: "Experiments",
    purpose: Some(Purpose {
        property: props::HYPOTHESIS,
        what: "what the experiment tests",
    }),
    properties: &[
        prop!(props::EXPERIMENT_NAME, Title),
        prop!(props::FLAG_KEY, RichText),
        prop!(props::HYPOTHESIS, RichText, Human),
        prop!(
            props::STATUS,
            Select,
            ["draft", "running", "concluded", "archived"],
            Kodo
        ),
        prop!(props::PRIMARY_METRIC, RichText, Human),
        prop!(props::SECONDARY_METRICS, RichText, Human),
        prop!(props::START_DATE, Date),
        prop!(props::END_DATE, Date),
        prop!(
            props::RESULT,
            Select,
            ["won", "lost", "inconclusive", "stopped_early"],
            Kodo
        ),
        prop!(props::WINNER_VARIANT, RichText, Human),
        prop!(props::LEARNINGS, RichText, Human),
        prop!(props::OWNER, People, Human),
    ],
};

/// Dashboards database: the spec's table.
pub static DASHBOARDS: DatabaseSchema = DatabaseSchema {
    documents: &[
        Documents {
            slot: KeySlot::Fallback,
            of: Resource::Dashboards,
            part: KeyPart::Name,
        },
        Documents {
            slot: KeySlot::Primary,
            of: Resource::Dashboards,
            part: KeyPart::Id,
        },
    ],
    deletion: Some(Deletion {
        id_property: Some(props::ID),
        readable_when_deleted: false,
        remembered_in: RememberedIds::ByResource,
    }),
    snapshot: SnapshotList::Entries(&[(KeySlot::Primary, "id"), (KeySlot::Fallback, "name")]),
    merged: &[],
    posthog_says: &[],
    names: Names {
        plural: "dashboards",
        label: "Dashboard",
        heading: "Dashboards",
        config_key: "dashboards",
        holds: "every dashboard: its purpose, category, audience and PostHog link",
    },
    posthog: PostHogSource {
        endpoint: "dashboards",
        scope: "dashboard:read",
        object: "dashboard",
        key_field: "id",
        name_field: "name",
        coming_into_being: "create the dashboard in PostHog",
        needs: &[],
    },
    documenting: Documenting {
        noun: "dashboard",
        key_is: "dashboard name",
        fields: &[
            (DocField::Purpose, props::PURPOSE),
            (DocField::Owner, props::OWNER),
        ],
        key_facts: &[],
        code_facts: &[],
    },
    identity: Identity {
        primary: props::ID,
        fallback: Some(props::DASHBOARD_NAME),
    },
    lifecycle: None,
    resource: Resource::Dashboards,
    title: "Dashboards",
    purpose: Some(Purpose {
        property: props::PURPOSE,
        what: "what the dashboard monitors",
    }),
    properties: &[
        prop!(props::DASHBOARD_NAME, Title),
        prop!(props::ID, Number),
        prop!(props::PURPOSE, RichText, Human),
        prop!(
            props::CATEGORY,
            Select,
            ["product", "growth", "technical", "executive"],
            Kodo
        ),
        prop!(props::AUDIENCE, MultiSelect, Human),
        prop!(
            props::REFRESH_CADENCE,
            Select,
            ["realtime", "daily", "weekly"],
            Human
        ),
        prop!(props::PINNED, Checkbox),
        prop!(props::OWNER, People, Human),
        prop!(props::POSTHOG_URL, Url),
        prop!(props::LAST_REVIEWED, Date, Human),
    ],
};

/// A typed property value. Title and rich text are both `Text`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PropValue {
    Text(String),
    Select(Option<String>),
    MultiSelect(Vec<String>),
    Number(Option<f64>),
    Checkbox(bool),
    Url(Option<String>),
    /// An ISO 8601 date (`2026-01-31`) or date-time.
    Date(Option<String>),
    /// Notion user IDs.
    People(Vec<String>),
}

impl PropValue {
    /// Whether a person would call the property empty (a human-owned property is filled only
    /// when empty). An unchecked checkbox is not empty: it is `false`.
    pub fn is_empty(&self) -> bool {
        match self {
            PropValue::Text(s) => s.trim().is_empty(),
            PropValue::Select(v) | PropValue::Url(v) | PropValue::Date(v) => {
                v.as_deref().is_none_or(|s| s.trim().is_empty())
            }
            PropValue::MultiSelect(v) | PropValue::People(v) => v.is_empty(),
            PropValue::Number(n) => n.is_none(),
            PropValue::Checkbox(_) => false,
        }
    }

    /// The empty value of a property type.
    pub fn empty(kind: PropType) -> PropValue {
        match kind {
            PropType::Title | PropType::RichText => PropValue::Text(String::new()),
            PropType::Select => PropValue::Select(None),
            PropType::MultiSelect => PropValue::MultiSelect(Vec::new()),
            PropType::Number => PropValue::Number(None),
            PropType::Checkbox => PropValue::Checkbox(false),
            PropType::Url => PropValue::Url(None),
            PropType::Date => PropValue::Date(None),
            PropType::People => PropValue::People(Vec::new()),
        }
    }

    /// A short human rendering for plans and reports.
    pub fn display(&self) -> String {
        match self {
            PropValue::Text(s) => {
                let s = s.replace('\n', " ");
                if s.chars().count() > 60 {
                    format!("{}…", s.chars().take(59).collect::<String>())
                } else {
                    s
                }
            }
            PropValue::Select(v) | PropValue::Url(v) | PropValue::Date(v) => {
                v.clone().unwrap_or_else(|| "(empty)".into())
            }
            PropValue::MultiSelect(v) | PropValue::People(v) => {
                if v.is_empty() {
                    "(empty)".into()
                } else {
                    v.join(", ")
                }
            }
            PropValue::Number(n) => n.map_or_else(|| "(empty)".into(), format_number),
            PropValue::Checkbox(b) => b.to_string(),
        }
    }

    /// The value as plain text (title, rich text, select, URL or date), if it has one.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            PropValue::Text(s) => Some(s),
            PropValue::Select(v) | PropValue::Url(v) | PropValue::Date(v) => v.as_deref(),
            _ => None,
        }
    }
}

/// `25` rather than `25.0`; fractions kept.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Notion's limit on one text object's content, in UTF-16 code units: Notion counts as
/// JavaScript's `string.length` does, so an emoji outside the BMP counts 2
/// (developers.notion.com/reference/request-limits, "Size limits": `text.content` 2000).
pub const MAX_TEXT_UNITS: usize = 2000;
/// Notion's limit on any URL, in UTF-16 code units (same page: "Any URL", 2000).
pub const MAX_URL_UNITS: usize = 2000;
/// Notion's limit on a select or multi-select option name, in UTF-16 code units. Not in the
/// request-limits table, but enforced: `body.properties.Collections.multi_select[2].name.length
/// should be ≤ `100`, instead was `118`.` (dvanoni/notero#427, fixed by truncating in #451).
pub const MAX_OPTION_UNITS: usize = 100;
/// Notion's limit on the elements of one array in a request.
pub const MAX_ARRAY_ITEMS: usize = 100;

/// A string's length as Notion (JavaScript) counts it: UTF-16 code units.
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Encodes a value in Notion's page-property write shape for `spec`.
pub fn encode(spec: &PropSpec, value: &PropValue) -> Value {
    match (spec.kind, value) {
        (PropType::Title, PropValue::Text(s)) => json!({"title": rich_text(s)}),
        (PropType::RichText, PropValue::Text(s)) => json!({"rich_text": rich_text(s)}),
        (PropType::Select, PropValue::Select(v)) => match v.as_deref().map(sanitize_option) {
            Some(name) if !name.is_empty() => json!({"select": {"name": name}}),
            _ => json!({"select": null}),
        },
        (PropType::MultiSelect, PropValue::MultiSelect(v)) => {
            let mut names: Vec<String> = Vec::new();
            for name in v.iter().map(|s| sanitize_option(s)) {
                if !name.is_empty() && !names.contains(&name) {
                    names.push(name);
                }
            }
            names.truncate(MAX_ARRAY_ITEMS);
            json!({"multi_select": names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>()})
        }
        (PropType::Number, PropValue::Number(n)) => json!({"number": n}),
        (PropType::Checkbox, PropValue::Checkbox(b)) => json!({"checkbox": b}),
        (PropType::Url, PropValue::Url(v)) => match url_value(v.as_deref()) {
            Some(url) => json!({"url": url}),
            None => json!({"url": null}),
        },
        (PropType::Date, PropValue::Date(v)) => match v.as_deref().map(str::trim) {
            Some(date) if !date.is_empty() => json!({"date": {"start": date}}),
            _ => json!({"date": null}),
        },
        (PropType::People, PropValue::People(ids)) => json!({"people": ids
            .iter()
            .take(MAX_ARRAY_ITEMS)
            .map(|id| json!({"object": "user", "id": id}))
            .collect::<Vec<_>>()}),
        // A value of the wrong variant for its property is a programming error upstream; the
        // safe encoding is the property's empty value, never a request Notion would reject.
        (kind, _) => encode(spec, &PropValue::empty(kind)),
    }
}

/// Text as Notion rich-text objects of at most 2,000 UTF-16 units each (at most 100 of them).
pub fn rich_text(s: &str) -> Vec<Value> {
    text_pieces(s)
        .into_iter()
        .map(|piece| json!({"type": "text", "text": {"content": piece}}))
        .collect()
}

/// Splits text into pieces of at most [`MAX_TEXT_UNITS`] UTF-16 units, at most
/// [`MAX_ARRAY_ITEMS`] of them (the rest is dropped: Notion cannot take it in one request).
/// Pieces end on grapheme-cluster boundaries, so neither a surrogate pair nor an emoji
/// sequence or a letter with its combining marks is ever cut; only a single cluster longer
/// than a whole piece (pathological) is cut, and then between characters.
pub fn text_pieces(s: &str) -> Vec<&str> {
    use unicode_segmentation::UnicodeSegmentation;
    let mut out = Vec::new();
    let (mut start, mut units) = (0, 0);
    for (at, cluster) in s.grapheme_indices(true) {
        let len = utf16_len(cluster);
        if units + len > MAX_TEXT_UNITS && units > 0 {
            out.push(&s[start..at]);
            if out.len() == MAX_ARRAY_ITEMS {
                return out;
            }
            (start, units) = (at, 0);
        }
        if len > MAX_TEXT_UNITS {
            for (i, c) in cluster.char_indices() {
                if units + c.len_utf16() > MAX_TEXT_UNITS {
                    out.push(&s[start..at + i]);
                    if out.len() == MAX_ARRAY_ITEMS {
                        return out;
                    }
                    (start, units) = (at + i, 0);
                }
                units += c.len_utf16();
            }
        } else {
            units += len;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// The longest prefix of `s` that is at most `max` UTF-16 units and ends on a grapheme
/// boundary.
fn prefix_within(s: &str, max: usize) -> &str {
    use unicode_segmentation::UnicodeSegmentation;
    let mut units = 0;
    for (at, cluster) in s.grapheme_indices(true) {
        units += utf16_len(cluster);
        if units > max {
            return &s[..at];
        }
    }
    s
}

/// A select option name as kodo writes it: Notion rejects commas (kodo writes `;`) and names
/// over 100 UTF-16 units (kodo shortens them at a grapheme boundary and ends them with `…`).
/// The planner compares options through this too, so a shortened name reads back as the same.
pub fn sanitize_option(name: &str) -> String {
    let name = name.replace(',', ";");
    let name = name.trim();
    if utf16_len(name) <= MAX_OPTION_UNITS {
        return name.to_string();
    }
    format!("{}…", prefix_within(name, MAX_OPTION_UNITS - 1).trim_end())
}

/// A URL as kodo writes it: trimmed; empty, or longer than Notion's 2,000 UTF-16 units, is no
/// URL (`null`): Notion would refuse the whole page write, and a cut URL is a wrong link.
pub fn url_value(url: Option<&str>) -> Option<&str> {
    url.map(str::trim)
        .filter(|u| !u.is_empty() && utf16_len(u) <= MAX_URL_UNITS)
}

/// Decodes a property from Notion's read shape (page or query result). A missing or
/// unexpected value decodes as the property's empty value.
pub fn decode(spec: &PropSpec, raw: Option<&Value>) -> PropValue {
    let Some(raw) = raw else {
        return PropValue::empty(spec.kind);
    };
    let field = |name: &str| raw.get(name).unwrap_or(&Value::Null);
    match spec.kind {
        PropType::Title => PropValue::Text(plain_text(field("title"))),
        PropType::RichText => PropValue::Text(plain_text(field("rich_text"))),
        PropType::Select => PropValue::Select(
            field("select")
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string),
        ),
        PropType::MultiSelect => PropValue::MultiSelect(
            field("multi_select")
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|o| o.get("name").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        ),
        PropType::Number => PropValue::Number(field("number").as_f64()),
        PropType::Checkbox => PropValue::Checkbox(field("checkbox").as_bool().unwrap_or(false)),
        PropType::Url => PropValue::Url(
            field("url")
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        ),
        PropType::Date => PropValue::Date(
            field("date")
                .get("start")
                .and_then(Value::as_str)
                .map(str::to_string),
        ),
        PropType::People => PropValue::People(
            field("people")
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|u| u.get("id").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        ),
    }
}

/// The concatenated `plain_text` (or `text.content`) of a rich-text array value.
pub fn plain_text(items: &Value) -> String {
    items
        .as_array()
        .map(|items| kodo_api::types::notion::plain_text(items))
        .unwrap_or_default()
}

/// Notion truncates title and rich-text reads at this many items.
pub const READ_TRUNCATION_ITEMS: usize = 25;

/// Whether `read` can be Notion's 25-item read of `written`: `written` needs more than 25
/// pieces, and `read` holds at least what 25 of kodo's pieces hold (a longer prefix is an
/// older, coarser splitting of the same text).
fn is_truncated_read(written: &str, read: &str) -> bool {
    let pieces = text_pieces(written);
    pieces.len() > READ_TRUNCATION_ITEMS
        && read.len()
            >= pieces[..READ_TRUNCATION_ITEMS]
                .iter()
                .map(|p| p.len())
                .sum::<usize>()
}

/// The planner's equality between what kodo would write (`desired`) and what Notion holds
/// (`current`).
pub fn same(desired: &PropValue, current: &PropValue) -> bool {
    match (desired, current) {
        (PropValue::Text(a), PropValue::Text(b)) => {
            let (a, b) = (a.trim_end(), b.trim_end());
            // Reads stop after 25 rich-text items: a long value that starts with what was read
            // back is the value kodo wrote.
            a == b || (a.starts_with(b) && is_truncated_read(a, b))
        }
        (PropValue::Select(a), PropValue::Select(b)) => {
            a.as_deref().map(sanitize_option).filter(|s| !s.is_empty())
                == b.as_deref().map(sanitize_option).filter(|s| !s.is_empty())
        }
        (PropValue::MultiSelect(a), PropValue::MultiSelect(b)) => {
            let mut a: Vec<String> = a.iter().map(|s| sanitize_option(s)).collect();
            let mut b: Vec<String> = b.iter().map(|s| sanitize_option(s)).collect();
            a.sort();
            a.dedup();
            b.sort();
            b.dedup();
            a == b
        }
        (PropValue::People(a), PropValue::People(b)) => {
            let mut a = a.clone();
            let mut b = b.clone();
            a.sort();
            b.sort();
            a == b
        }
        (PropValue::Number(a), PropValue::Number(b)) => match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-9,
            (None, None) => true,
            _ => false,
        },
        (PropValue::Date(a), PropValue::Date(b)) => {
            // kodo writes dates as days; Notion may read back a time it rounded.
            let day =
                |v: &Option<String>| v.as_deref().map(|s| s.get(..10).unwrap_or(s).to_string());
            day(a) == day(b)
        }
        (PropValue::Url(a), PropValue::Url(b)) => {
            url_value(a.as_deref()) == url_value(b.as_deref())
        }
        (a, b) => a == b,
    }
}

/// A resource in the common model: its kind, match keys and property values.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Record {
    pub resource: Resource,
    /// The key that identifies the resource (event name, flag key, experiment flag key or
    /// name, dashboard ID or name): what reports show.
    pub key: String,
    pub keys: MatchKeys,
    /// Status in the spec's vocabulary (`draft`, `rolling_out`, …), where the resource has one.
    pub status: Option<String>,
    pub props: BTreeMap<&'static str, PropValue>,
}

/// How a record is matched with its counterpart.
///
/// Events by name; flags by key; experiments by their feature-flag key, falling back to their
/// name; dashboards by PostHog ID, falling back to their name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MatchKeys {
    pub primary: Option<String>,
    pub fallback: Option<String>,
}

impl MatchKeys {
    /// The key in `slot`.
    pub fn get(&self, slot: KeySlot) -> Option<&str> {
        match slot {
            KeySlot::Primary => self.primary.as_deref(),
            KeySlot::Fallback => self.fallback.as_deref(),
        }
    }
}

/// A row of a Notion database, decoded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NotionRow {
    pub page_id: String,
    pub url: Option<String>,
    pub record: Record,
}

/// Decodes a Notion page of `resource`'s database into a row. Properties the schema does not
/// list are ignored; properties the page lacks decode as empty.
pub fn decode_page(
    resource: Resource,
    page_id: &str,
    url: Option<&str>,
    properties: &serde_json::Map<String, Value>,
) -> NotionRow {
    let schema = resource.schema();
    let mut props = BTreeMap::new();
    for spec in schema.properties {
        props.insert(spec.name, decode(spec, properties.get(spec.name)));
    }
    let keys = schema.match_keys(&props);
    let status = schema.status_property().and_then(|p| {
        props
            .get(p)
            .and_then(PropValue::as_text)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    });
    // Reports name a row by its name (the fallback key: an experiment's or a dashboard's),
    // else by its key.
    let key = keys
        .fallback
        .clone()
        .or_else(|| keys.primary.clone())
        .unwrap_or_default();
    NotionRow {
        page_id: page_id.to_string(),
        url: url.map(str::to_string),
        record: Record {
            resource,
            key,
            keys,
            status,
            props,
        },
    }
}

/// A flag's status in the spec's vocabulary.
///
/// | PostHog | Notion |
/// |---|---|
/// | deleted | `archived` |
/// | active=false (any rollout) | `draft` |
/// | active, rollout < 100 | `rolling_out` |
/// | active, rollout = 100 | `active` |
pub fn flag_status(active: bool, deleted: bool, rollout: f64) -> &'static str {
    if deleted {
        "archived"
    } else if !active {
        "draft"
    } else if rollout >= 100.0 {
        "active"
    } else {
        "rolling_out"
    }
}

/// An experiment's status in the spec's vocabulary; `archived` wins over the dates.
pub fn experiment_status(
    start_date: Option<&str>,
    end_date: Option<&str>,
    archived: bool,
) -> &'static str {
    let set = |d: Option<&str>| d.is_some_and(|s| !s.trim().is_empty());
    if archived {
        "archived"
    } else if set(end_date) {
        "concluded"
    } else if set(start_date) {
        "running"
    } else {
        "draft"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The snapshot's list of a resource holds every identity key it has, once: a list of
    /// keys for a resource without a fallback, entries naming both slots otherwise; ids are
    /// remembered exactly for resources whose rows hold none; no resource needs itself.
    #[test]
    fn snapshot_shapes_and_remembered_ids_follow_the_identity() {
        for resource in Resource::ALL {
            let schema = resource.schema();
            match schema.snapshot {
                SnapshotList::Keys => assert_eq!(schema.identity.fallback, None, "{resource}"),
                SnapshotList::Entries(fields) => {
                    assert!(schema.identity.fallback.is_some(), "{resource}");
                    for slot in [KeySlot::Primary, KeySlot::Fallback] {
                        let n = fields.iter().filter(|(s, _)| *s == slot).count();
                        assert_eq!(n, 1, "{resource}: {slot:?}");
                    }
                }
            }
            assert_eq!(
                schema.remembers_posthog_ids().is_some(),
                schema
                    .deletion
                    .as_ref()
                    .is_some_and(|d| d.id_property.is_none()),
                "{resource}"
            );
            assert!(!schema.posthog.needs.contains(&resource), "{resource}");
        }
        assert_eq!(FLAGS.remembers_posthog_ids(), Some(RememberedIds::FlagIds));
        assert_eq!(
            EXPERIMENTS.remembers_posthog_ids(),
            Some(RememberedIds::ByResource)
        );
        assert_eq!(DASHBOARDS.remembers_posthog_ids(), None);
    }

    /// The table's identity and lifecycle name properties of the right kind in the same
    /// schema: a key is a title, text or number; a status is a select that offers its values.
    #[test]
    fn identity_and_lifecycle_name_real_properties() {
        for resource in Resource::ALL {
            let schema = resource.schema();
            for name in schema.key_properties() {
                let spec = schema
                    .property(name)
                    .unwrap_or_else(|| panic!("{resource}: {name}"));
                assert!(
                    matches!(
                        spec.kind,
                        PropType::Title | PropType::RichText | PropType::Number
                    ),
                    "{resource}: {name}"
                );
            }
            if let Some(l) = &schema.lifecycle {
                let spec = schema.property(l.property).expect("status property");
                assert_eq!(spec.kind, PropType::Select, "{resource}");
                for value in [l.planned, l.retired].iter().chain(l.protected) {
                    assert!(spec.options.contains(value), "{resource}: {value}");
                }
            }
        }
        assert_eq!(Resource::Dashboards.schema().status_property(), None);
    }

    #[test]
    fn lifecycle_values_come_from_the_table() {
        let events = Resource::Events.schema();
        assert!(events.is_planned(Some("planned")));
        assert!(events.is_retired(Some("deprecated")));
        assert!(events.is_protected("Implementation Status", "deprecated"));
        assert!(!events.is_protected("Implementation Status", "implemented"));
        assert!(!events.is_protected("Domain", "deprecated"));
        for r in [Resource::Flags, Resource::Experiments] {
            assert!(r.schema().is_planned(Some("draft")), "{r}");
            assert!(r.schema().is_retired(Some("archived")), "{r}");
            assert!(!r.schema().is_retired(Some("active")), "{r}");
            assert!(!r.schema().is_protected("Status", "archived"), "{r}");
        }
        let dashboards = Resource::Dashboards.schema();
        assert!(!dashboards.is_planned(Some("draft")));
        assert!(!dashboards.is_retired(None));
    }

    #[test]
    fn key_queries_use_the_primary_key_else_the_fallback() {
        let keys = |primary: Option<&str>, fallback: Option<&str>| MatchKeys {
            primary: primary.map(str::to_string),
            fallback: fallback.map(str::to_string),
        };
        let q = Resource::Dashboards
            .schema()
            .key_query(&keys(Some("123"), Some("API")), "API");
        assert_eq!(
            (q.property, q.kind, q.value),
            ("ID", PropType::Number, json!(123))
        );
        let q = Resource::Dashboards
            .schema()
            .key_query(&keys(None, Some("API")), "API");
        assert_eq!(
            (q.property, q.kind, q.value),
            ("Dashboard Name", PropType::Title, json!("API"))
        );
        let q = Resource::Experiments
            .schema()
            .key_query(&keys(Some("checkout"), Some("Checkout")), "Checkout");
        assert_eq!(
            (q.property, q.kind, q.value),
            ("Flag Key", PropType::RichText, json!("checkout"))
        );
        let q = Resource::Events
            .schema()
            .key_query(&keys(None, None), "signed_up");
        assert_eq!(
            (q.property, q.kind, q.value),
            ("Event Name", PropType::Title, json!("signed_up"))
        );
    }

    /// A decoded row's keys, name and status are read from the properties the table names.
    #[test]
    fn decoded_rows_take_keys_and_status_from_the_table() {
        let props = |pairs: Value| pairs.as_object().cloned().expect("object");
        let title = |t: &str| json!({"type": "title", "title": [{"plain_text": t}]});
        let text = |t: &str| json!({"type": "rich_text", "rich_text": [{"plain_text": t}]});
        let select = |t: &str| json!({"type": "select", "select": {"name": t}});
        let row = decode_page(
            Resource::Experiments,
            "p",
            None,
            &props(json!({
                "Experiment Name": title("Checkout copy"),
                "Flag Key": text("checkout-copy"),
                "Status": select("running"),
            })),
        );
        assert_eq!(row.record.key, "Checkout copy");
        assert_eq!(row.record.keys.primary.as_deref(), Some("checkout-copy"));
        assert_eq!(row.record.keys.fallback.as_deref(), Some("Checkout copy"));
        assert_eq!(row.record.status.as_deref(), Some("running"));
        let row = decode_page(
            Resource::Dashboards,
            "p",
            None,
            &props(json!({
                "Dashboard Name": title("API"),
                "ID": {"type": "number", "number": 42},
            })),
        );
        assert_eq!(
            (row.record.key.as_str(), row.record.keys.primary.as_deref()),
            ("API", Some("42"))
        );
        assert_eq!(row.record.status, None);
        let row = decode_page(
            Resource::Events,
            "p",
            None,
            &props(json!({
                "Event Name": title(" signed_up "),
                "Implementation Status": select("planned"),
            })),
        );
        assert_eq!(row.record.key, "signed_up");
        assert_eq!(row.record.keys.fallback, None);
        assert_eq!(row.record.status.as_deref(), Some("planned"));
    }

    #[test]
    fn every_schema_has_exactly_one_title_and_unique_names() {
        for resource in Resource::ALL {
            let schema = resource.schema();
            let titles = schema
                .properties
                .iter()
                .filter(|p| p.kind == PropType::Title)
                .count();
            assert_eq!(titles, 1, "{resource}");
            let mut names: Vec<_> = schema.properties.iter().map(|p| p.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), schema.properties.len(), "{resource}");
            for spec in schema.properties {
                for option in spec.options {
                    assert!(!option.contains(','), "{option}");
                }
            }
        }
    }

    #[test]
    fn schemas_match_the_spec_tables() {
        let names =
            |r: Resource| -> Vec<&str> { r.schema().properties.iter().map(|p| p.name).collect() };
        assert_eq!(
            names(Resource::Events),
            [
                "Event Name",
                "Domain",
                "Category",
                "Description",
                "Properties",
                "Implementation Status",
                "Tracked On",
                "Feature Area",
                "Owner",
                "Created",
                "Last Updated"
            ]
        );
        assert_eq!(
            names(Resource::Flags),
            [
                "Flag Key",
                "Name",
                "Type",
                "Status",
                "Rollout %",
                "Targeting",
                "Owner",
                "Created",
                "Planned Removal",
                "Related PR"
            ]
        );
        assert_eq!(
            names(Resource::Experiments),
            [
                "Experiment Name",
                "Flag Key",
                "Hypothesis",
                "Status",
                "Primary Metric",
                "Secondary Metrics",
                "Start Date",
                "End Date",
                "Result",
                "Winner Variant",
                "Learnings",
                "Owner"
            ]
        );
        assert_eq!(
            names(Resource::Dashboards),
            [
                "Dashboard Name",
                "ID",
                "Purpose",
                "Category",
                "Audience",
                "Refresh Cadence",
                "Pinned",
                "Owner",
                "PostHog URL",
                "Last Reviewed"
            ]
        );
        let status = FLAGS.property("Status").unwrap();
        assert_eq!(
            status.options,
            ["draft", "active", "rolling_out", "archived"]
        );
    }

    #[test]
    fn notion_properties_request_shape() {
        let props = FLAGS.notion_properties();
        assert_eq!(props["Flag Key"], json!({"title": {}}));
        assert_eq!(props["Rollout %"], json!({"number": {"format": "number"}}));
        assert_eq!(props["Related PR"], json!({"url": {}}));
        assert_eq!(
            props["Status"]["select"]["options"][2]["name"],
            "rolling_out"
        );
    }

    #[test]
    fn flag_status_follows_the_spec_table() {
        assert_eq!(flag_status(false, false, 0.0), "draft");
        assert_eq!(flag_status(false, false, 100.0), "draft");
        assert_eq!(flag_status(true, false, 25.0), "rolling_out");
        assert_eq!(flag_status(true, false, 100.0), "active");
        assert_eq!(flag_status(true, true, 100.0), "archived");
    }

    #[test]
    fn experiment_status_follows_the_spec_table() {
        assert_eq!(experiment_status(None, None, false), "draft");
        assert_eq!(
            experiment_status(Some("2026-01-01T00:00:00Z"), None, false),
            "running"
        );
        assert_eq!(
            experiment_status(Some("2026-01-01"), Some("2026-02-01"), false),
            "concluded"
        );
        assert_eq!(
            experiment_status(Some("2026-01-01"), Some("2026-02-01"), true),
            "archived"
        );
        assert_eq!(experiment_status(Some(""), None, false), "draft");
    }

    #[test]
    fn bmp_text_is_split_at_2000_characters() {
        let text = "é".repeat(4500);
        let encoded = encode(
            EVENTS.property("Description").unwrap(),
            &PropValue::Text(text.clone()),
        );
        let parts = encoded["rich_text"].as_array().unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            parts[0]["text"]["content"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            2000
        );
        assert_eq!(
            parts[2]["text"]["content"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            500
        );
        assert_eq!(plain_text(&encoded["rich_text"]), text);
    }

    fn piece_units(encoded: &Value, key: &str) -> Vec<usize> {
        encoded[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| utf16_len(p["text"]["content"].as_str().unwrap()))
            .collect()
    }

    #[test]
    fn text_is_split_by_utf16_units_never_inside_a_surrogate_pair() {
        // 1,500 emoji are 1,500 chars but 3,000 UTF-16 units: one piece would be refused.
        let text = "🚀".repeat(1500);
        let encoded = encode(
            EVENTS.property("Description").unwrap(),
            &PropValue::Text(text.clone()),
        );
        assert_eq!(piece_units(&encoded, "rich_text"), vec![2000, 1000]);
        assert_eq!(plain_text(&encoded["rich_text"]), text);
        // An odd budget cannot end between the two halves of a pair.
        let text = format!("a{}", "🚀".repeat(1500));
        let encoded = encode(
            EVENTS.property("Event Name").unwrap(),
            &PropValue::Text(text),
        );
        assert_eq!(piece_units(&encoded, "title"), vec![1999, 1002]);
    }

    #[test]
    fn text_is_split_between_grapheme_clusters() {
        // A family emoji (man ZWJ woman ZWJ girl) is 8 UTF-16 units in one cluster; "e" plus a
        // combining acute accent is 2. Neither may be cut at the 2,000-unit boundary.
        let family = "👨\u{200d}👩\u{200d}👧";
        let text = format!("{}{}", "x".repeat(1996), family.repeat(2));
        let pieces = text_pieces(&text);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[1], family.repeat(2));
        let text = format!("{}{}", "x".repeat(1999), "e\u{301}");
        assert_eq!(
            text_pieces(&text),
            vec!["x".repeat(1999), "e\u{301}".to_string()]
        );
        // A single cluster longer than a piece is cut between characters, never lost.
        let zalgo = format!("a{}", "\u{301}".repeat(2500));
        let pieces = text_pieces(&zalgo);
        assert_eq!(
            pieces.iter().map(|p| utf16_len(p)).collect::<Vec<_>>(),
            vec![2000, 501]
        );
        assert_eq!(pieces.concat(), zalgo);
    }

    #[test]
    fn text_stops_at_100_pieces() {
        let text = "ab".repeat(150_000);
        assert_eq!(text_pieces(&text).len(), MAX_ARRAY_ITEMS);
        assert_eq!(text_pieces("").len(), 0);
    }

    #[test]
    fn a_truncated_read_of_long_emoji_text_is_the_same() {
        let text = "🚀".repeat(30_000); // 60,000 units: 30 pieces
        let read: String = text_pieces(&text)[..READ_TRUNCATION_ITEMS].concat();
        assert!(same(
            &PropValue::Text(text.clone()),
            &PropValue::Text(read.clone())
        ));
        let shorter: String = read.chars().take(100).collect();
        assert!(!same(&PropValue::Text(text), &PropValue::Text(shorter)));
    }

    #[test]
    fn select_options_are_at_most_100_utf16_units() {
        let long = format!("{}_", "🚀".repeat(80)); // 161 units
        let name = sanitize_option(&long);
        assert!(utf16_len(&name) <= MAX_OPTION_UNITS, "{name}");
        assert!(name.ends_with('…'));
        assert_eq!(name, format!("{}…", "🚀".repeat(49)));
        assert_eq!(
            encode(
                EVENTS.property("Domain").unwrap(),
                &PropValue::Select(Some(long.clone()))
            ),
            json!({"select": {"name": name}})
        );
        // What was written reads back as the same, so a re-run plans nothing.
        assert!(same(
            &PropValue::Select(Some(long)),
            &PropValue::Select(Some(name))
        ));
        let exact = "a".repeat(100);
        assert_eq!(sanitize_option(&exact), exact);
    }

    #[test]
    fn a_url_notion_cannot_hold_is_not_written() {
        let spec = FLAGS.property("Related PR").unwrap();
        let ok = format!("https://example.com/{}", "é".repeat(1980));
        assert_eq!(
            encode(spec, &PropValue::Url(Some(ok.clone()))),
            json!({"url": ok})
        );
        // 1,000 emoji: 1,000 chars, 2,000+ units.
        let long = format!("https://example.com/{}", "🚀".repeat(1000));
        assert_eq!(
            encode(spec, &PropValue::Url(Some(long.clone()))),
            json!({"url": null})
        );
        assert!(same(&PropValue::Url(Some(long)), &PropValue::Url(None)));
    }

    #[test]
    fn empty_values_encode_as_null_never_empty_strings() {
        assert_eq!(
            encode(
                FLAGS.property("Related PR").unwrap(),
                &PropValue::Url(Some(String::new()))
            ),
            json!({"url": null})
        );
        assert_eq!(
            encode(FLAGS.property("Related PR").unwrap(), &PropValue::Url(None)),
            json!({"url": null})
        );
        assert_eq!(
            encode(FLAGS.property("Type").unwrap(), &PropValue::Select(None)),
            json!({"select": null})
        );
        assert_eq!(
            encode(
                FLAGS.property("Rollout %").unwrap(),
                &PropValue::Number(None)
            ),
            json!({"number": null})
        );
        assert_eq!(
            encode(FLAGS.property("Created").unwrap(), &PropValue::Date(None)),
            json!({"date": null})
        );
        // A value of the wrong kind never produces an invalid request.
        assert_eq!(
            encode(
                FLAGS.property("Related PR").unwrap(),
                &PropValue::Text("x".into())
            ),
            json!({"url": null})
        );
    }

    #[test]
    fn select_commas_are_sanitised() {
        let spec = EVENTS.property("Feature Area").unwrap();
        let encoded = encode(
            spec,
            &PropValue::MultiSelect(vec!["Billing, Payments".into(), "Billing; Payments".into()]),
        );
        assert_eq!(
            encoded,
            json!({"multi_select": [{"name": "Billing; Payments"}]})
        );
    }

    #[test]
    fn decode_reads_notion_shapes() {
        let page: serde_json::Map<String, Value> = serde_json::from_value(json!({
            "Flag Key": {"id": "title", "type": "title", "title": [{"type": "text", "text": {"content": "release_x", "link": null}, "plain_text": "release_x", "href": null}]},
            "Status": {"id": "a", "type": "select", "select": {"id": "b", "name": "draft", "color": "gray"}},
            "Rollout %": {"id": "c", "type": "number", "number": 25},
            "Owner": {"id": "d", "type": "people", "people": [{"object": "user", "id": "u1", "name": "Ann"}]},
            "Created": {"id": "e", "type": "date", "date": {"start": "2026-01-02", "end": null, "time_zone": null}},
            "Related PR": {"id": "f", "type": "url", "url": null},
            "Unknown": {"id": "g", "type": "checkbox", "checkbox": true}
        }))
        .unwrap();
        let row = decode_page(Resource::Flags, "p1", None, &page);
        assert_eq!(row.record.key, "release_x");
        assert_eq!(row.record.status.as_deref(), Some("draft"));
        assert_eq!(row.record.props["Rollout %"], PropValue::Number(Some(25.0)));
        assert_eq!(
            row.record.props["Owner"],
            PropValue::People(vec!["u1".into()])
        );
        assert_eq!(
            row.record.props["Created"],
            PropValue::Date(Some("2026-01-02".into()))
        );
        assert_eq!(row.record.props["Related PR"], PropValue::Url(None));
        assert_eq!(
            row.record.props["Targeting"],
            PropValue::Text(String::new())
        );
        assert!(!row.record.props.contains_key("Unknown"));
    }

    #[test]
    fn dashboards_and_experiments_match_by_id_or_flag_key_then_name() {
        let page: serde_json::Map<String, Value> = serde_json::from_value(json!({
            "Dashboard Name": {"type": "title", "title": [{"plain_text": "API Performance"}]},
            "ID": {"type": "number", "number": 123}
        }))
        .unwrap();
        let row = decode_page(Resource::Dashboards, "p", None, &page);
        assert_eq!(row.record.keys.primary.as_deref(), Some("123"));
        assert_eq!(row.record.keys.fallback.as_deref(), Some("API Performance"));
        assert_eq!(row.record.key, "API Performance");
        let page: serde_json::Map<String, Value> = serde_json::from_value(json!({
            "Experiment Name": {"type": "title", "title": [{"plain_text": "Checkout test"}]}
        }))
        .unwrap();
        let row = decode_page(Resource::Experiments, "p", None, &page);
        assert_eq!(row.record.keys.primary, None);
        assert_eq!(row.record.keys.fallback.as_deref(), Some("Checkout test"));
    }

    #[test]
    fn same_ignores_differences_of_form() {
        assert!(same(
            &PropValue::Date(Some("2026-01-02".into())),
            &PropValue::Date(Some("2026-01-02T00:00:00.000Z".into()))
        ));
        assert!(!same(
            &PropValue::Date(Some("2026-01-02".into())),
            &PropValue::Date(Some("2026-01-03".into()))
        ));
        assert!(same(
            &PropValue::MultiSelect(vec!["b".into(), "a".into()]),
            &PropValue::MultiSelect(vec!["a".into(), "b".into()])
        ));
        assert!(same(
            &PropValue::Url(Some(String::new())),
            &PropValue::Url(None)
        ));
        assert!(same(
            &PropValue::Number(Some(25.0)),
            &PropValue::Number(Some(25.0))
        ));
        assert!(!same(
            &PropValue::Number(Some(25.0)),
            &PropValue::Number(None)
        ));
        assert!(!same(
            &PropValue::Select(Some("draft".into())),
            &PropValue::Select(Some("active".into()))
        ));
        let long = "x".repeat(60_000);
        let truncated = "x".repeat(50_000);
        assert!(same(
            &PropValue::Text(long.clone()),
            &PropValue::Text(truncated)
        ));
        assert!(!same(
            &PropValue::Text(long),
            &PropValue::Text("x".repeat(10))
        ));
    }

    #[test]
    fn emptiness() {
        assert!(PropValue::Text("  ".into()).is_empty());
        assert!(!PropValue::Checkbox(false).is_empty());
        assert!(PropValue::People(vec![]).is_empty());
        assert!(!PropValue::Number(Some(0.0)).is_empty());
    }
}
