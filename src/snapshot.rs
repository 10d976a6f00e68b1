//! `.kodo/snapshot.json`: what Notion documents, as of the last run that read it.
//!
//! ```json
//! {"version": 1, "generated_at": "2026-05-01T12:00:00Z",
//!  "events": ["user_signed_up"], "flags": ["release_checkout_v2"],
//!  "experiments": [{"name": "Checkout copy", "flag_key": "checkout-copy-test"}],
//!  "dashboards": [{"id": 123, "name": "API Performance"}],
//!  "dead_flags": {"release_dark_mode": "deleted"}}
//! ```
//!
//! Every command that reads the Notion databases (import, audit, status, export, the default
//! overview, `kodo snapshot refresh`) rewrites it, so the git pre-commit gate and the Claude
//! Code hook can answer "is this documented?" offline.
//!
//! The file changes only when what Notion documents changes: a run that finds the same lists
//! leaves it untouched (a committed snapshot stays clean in `git status`) and records when it
//! checked in `.kodo/cache/snapshot-verified` (git-ignored), which [`Snapshot::load`] takes as
//! the snapshot's age while it names the file's `generated_at`.
//!
//! **Invariants.** Lists are sorted and free of duplicates. Every Notion row that is not in the
//! trash counts as documentation, planned entries included (documentation comes first). A
//! refresh of some resources keeps the others' lists from the previous snapshot. Writes are
//! atomic.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::documented::{normalise, row_text, DocKey, Documented};
use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{DocField, KeySlot, MatchKeys, NotionRow, Resource};
use kodo_core::model::SnapshotList;

/// The file's name under `.kodo/`.
pub const FILE_NAME: &str = "snapshot.json";

/// Under `.kodo/`: when a run last found the snapshot still right, for the snapshot whose
/// `generated_at` it names.
const VERIFIED_FILE: &str = "cache/snapshot-verified";

/// The contents of [`VERIFIED_FILE`].
#[derive(Debug, Serialize, Deserialize)]
struct Verified {
    /// The `generated_at` of the snapshot file this applies to.
    snapshot_generated_at: String,
    /// When a run last read Notion and found the same lists.
    verified_at: String,
}

/// Errors reading or writing the snapshot.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is damaged ({source})\n  hint: run `kodo snapshot refresh` to rewrite it", path.display())]
    Malformed {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How far ahead of this machine's clock another machine's may be before a snapshot's date
/// counts as in the future.
pub const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// What Notion documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SnapshotFile", into = "SnapshotFile")]
pub struct Snapshot {
    pub version: u32,
    /// RFC 3339, UTC.
    pub generated_at: String,
    /// Per resource, the identity keys of its documented rows: normalised, sorted as the
    /// file lists them, without duplicates. The file's shape for each resource's list is the
    /// resource table's (`DatabaseSchema::snapshot`).
    lists: BTreeMap<Resource, Vec<MatchKeys>>,
    /// Event → the property names its Properties schema documents (events whose schema is not
    /// readable are absent): the pre-commit gate's offline answer for properties.
    pub event_properties: BTreeMap<String, Vec<String>>,
    /// Flags PostHog no longer serves (deleted or archived there, by the audit's rule
    /// `kodo_core::code::dead_flags`) → why: `kodo scan --check`'s offline answer for a check
    /// of a dead flag. Written by the runs that read PostHog's flags (status, audit, import);
    /// a run that reads only Notion keeps the list.
    pub dead_flags: BTreeMap<String, kodo_core::code::DeadState>,
}

/// The file as JSON: each resource's list under its plural, in the shape the resource table
/// gives (`SnapshotList`).
#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    version: u32,
    generated_at: String,
    #[serde(flatten)]
    lists: serde_json::Map<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    event_properties: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    dead_flags: BTreeMap<String, kodo_core::code::DeadState>,
}

impl From<Snapshot> for SnapshotFile {
    fn from(s: Snapshot) -> SnapshotFile {
        let lists = Resource::ALL
            .iter()
            .map(|&r| {
                let keys = s.lists.get(&r).map_or(&[][..], Vec::as_slice);
                (r.plural().to_string(), encode_list(r, keys))
            })
            .collect();
        SnapshotFile {
            version: s.version,
            generated_at: s.generated_at,
            lists,
            event_properties: s.event_properties,
            dead_flags: s.dead_flags,
        }
    }
}

impl TryFrom<SnapshotFile> for Snapshot {
    type Error = String;

    fn try_from(file: SnapshotFile) -> Result<Snapshot, String> {
        let mut lists = BTreeMap::new();
        for r in Resource::ALL {
            let keys = match file.lists.get(r.plural()) {
                None | Some(Value::Null) => Vec::new(),
                Some(list) => decode_list(r, list).map_err(|e| format!("`{}`: {e}", r.plural()))?,
            };
            lists.insert(r, keys);
        }
        Ok(Snapshot {
            version: file.version,
            generated_at: file.generated_at,
            lists,
            event_properties: file.event_properties,
            dead_flags: file.dead_flags,
        })
    }
}

/// Whether the key in `slot` is a PostHog ID, written as a JSON number.
fn numeric(resource: Resource, slot: KeySlot) -> bool {
    slot == KeySlot::Primary && resource.schema().keyed_by_id()
}

/// One resource's list as the file holds it. An object's missing key is `null`, except a
/// missing name (the fallback), which is `""` (the file has always had one).
fn encode_list(resource: Resource, keys: &[MatchKeys]) -> Value {
    let shape = resource.schema().snapshot;
    match shape {
        SnapshotList::Keys => keys
            .iter()
            .filter_map(|k| k.primary.clone())
            .map(Value::String)
            .collect(),
        SnapshotList::Entries(fields) => keys
            .iter()
            .map(|k| {
                let entry: serde_json::Map<String, Value> = fields
                    .iter()
                    .map(|&(slot, field)| {
                        let value = match (k.get(slot), slot) {
                            (Some(v), _) if numeric(resource, slot) => {
                                v.parse::<i64>().map_or(Value::Null, Value::from)
                            }
                            (Some(v), _) => Value::String(v.to_string()),
                            (None, KeySlot::Fallback) => Value::String(String::new()),
                            (None, KeySlot::Primary) => Value::Null,
                        };
                        (field.to_string(), value)
                    })
                    .collect();
                Value::Object(entry)
            })
            .collect(),
    }
}

/// One resource's list from the file, as rows' identity keys (normalised).
fn decode_list(resource: Resource, list: &Value) -> Result<Vec<MatchKeys>, String> {
    let items = list.as_array().ok_or("expected a list")?;
    let text = |v: &str| normalise(v).map(str::to_string);
    let shape = resource.schema().snapshot;
    let mut out = Vec::new();
    for item in items {
        let keys = match shape {
            SnapshotList::Keys => MatchKeys {
                primary: Some(item.as_str().ok_or("expected a list of strings")?).and_then(text),
                fallback: None,
            },
            SnapshotList::Entries(fields) => {
                let object = item.as_object().ok_or("expected a list of objects")?;
                let mut keys = MatchKeys::default();
                for &(slot, field) in fields {
                    let value = match object.get(field) {
                        None | Some(Value::Null) => None,
                        Some(Value::Number(n)) if numeric(resource, slot) => Some(
                            n.as_i64()
                                .ok_or_else(|| format!("`{field}` is not a whole number"))?
                                .to_string(),
                        ),
                        Some(Value::String(v)) if !numeric(resource, slot) => text(v),
                        Some(_) => return Err(format!("`{field}` has the wrong type")),
                    };
                    match slot {
                        KeySlot::Primary => keys.primary = value,
                        KeySlot::Fallback => keys.fallback = value,
                    }
                }
                keys
            }
        };
        out.push(keys);
    }
    Ok(out)
}

/// Reads the snapshot from `kodo_dir`; `None` when there is none yet.
pub fn load(kodo_dir: &Path) -> Result<Option<Snapshot>, SnapshotError> {
    Snapshot::load(kodo_dir)
}

impl Snapshot {
    /// An empty snapshot stamped `generated_at`.
    pub fn new(generated_at: &str) -> Snapshot {
        Snapshot {
            version: 1,
            generated_at: generated_at.to_string(),
            lists: Resource::ALL.iter().map(|&r| (r, Vec::new())).collect(),
            event_properties: Default::default(),
            dead_flags: Default::default(),
        }
    }

    /// Reads the snapshot from `kodo_dir`; `None` when there is none yet. Its `generated_at`
    /// is the last time a run found it right (the file's own, or a later check recorded in
    /// `.kodo/cache/snapshot-verified` for this very file).
    pub fn load(kodo_dir: &Path) -> Result<Option<Snapshot>, SnapshotError> {
        let Some(mut snapshot) = Snapshot::load_file(kodo_dir)? else {
            return Ok(None);
        };
        if let Some(verified) = read_verified(kodo_dir) {
            if verified.snapshot_generated_at == snapshot.generated_at
                && later(&verified.verified_at, &snapshot.generated_at)
            {
                snapshot.generated_at = verified.verified_at;
            }
        }
        Ok(Some(snapshot))
    }

    /// The snapshot file as it is.
    fn load_file(kodo_dir: &Path) -> Result<Option<Snapshot>, SnapshotError> {
        let path = kodo_dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|source| SnapshotError::Malformed { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SnapshotError::Read { path, source }),
        }
    }

    /// Writes the snapshot atomically, unless the file already lists the same things: then
    /// only the time of this check is recorded (in the git-ignored cache directory).
    pub fn save(&self, kodo_dir: &Path) -> Result<(), SnapshotError> {
        if let Ok(Some(on_disk)) = Snapshot::load_file(kodo_dir) {
            if on_disk.same_lists(self) {
                // Best effort: without the record, the snapshot only looks older than it is.
                let _ = write_verified(
                    kodo_dir,
                    &Verified {
                        snapshot_generated_at: on_disk.generated_at,
                        verified_at: self.generated_at.clone(),
                    },
                );
                return Ok(());
            }
        }
        let path = kodo_dir.join(FILE_NAME);
        let mut text = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into());
        text.push('\n');
        crate::state::write_atomic(&path, text.as_bytes())
            .map_err(|source| SnapshotError::Write { path, source })?;
        let _ = std::fs::remove_file(kodo_dir.join(VERIFIED_FILE));
        Ok(())
    }

    /// Everything but the time.
    fn same_lists(&self, other: &Snapshot) -> bool {
        self.version == other.version
            && self.lists == other.lists
            && self.event_properties == other.event_properties
            && self.dead_flags == other.dead_flags
    }

    /// Replaces one resource's list with what `rows` document (rows not in the trash; values
    /// normalised as [`crate::documented`] says).
    pub fn set_rows(&mut self, resource: Resource, rows: &[NotionRow]) {
        // A row is listed by its identity keys (the properties the schema table names).
        self.set_keys(
            resource,
            rows.iter().map(|r| r.record.keys.clone()).collect(),
        );
        if resource
            .schema()
            .documenting
            .property_of(DocField::Property)
            .is_some()
        {
            self.event_properties = rows.iter().filter_map(documented_properties).collect();
        }
    }

    /// Adds what one row documents (a row just written), keeping the lists sorted.
    pub fn add_row(&mut self, resource: Resource, row: &NotionRow) {
        let mut keys = self.keys(resource);
        keys.push(row.record.keys.clone());
        self.set_keys(resource, keys);
        if let Some((event, names)) = documented_properties(row) {
            self.event_properties.insert(event, names);
        }
    }

    /// `resource`'s list, as rows' identity keys.
    pub fn list(&self, resource: Resource) -> &[MatchKeys] {
        self.lists.get(&resource).map_or(&[], Vec::as_slice)
    }

    fn keys(&self, resource: Resource) -> Vec<MatchKeys> {
        self.list(resource).to_vec()
    }

    /// Replaces `resource`'s list with the rows of these identity keys (normalised, sorted,
    /// without duplicates; a row without any key is left out), in the table's shape: a list
    /// of keys holds primary keys only, an ID is a whole number, and entries sort by their
    /// fields in the file's order.
    fn set_keys(&mut self, resource: Resource, keys: Vec<MatchKeys>) {
        let shape = resource.schema().snapshot;
        let text = |k: &Option<String>| k.as_deref().and_then(normalise).map(str::to_string);
        let mut keys: Vec<MatchKeys> = keys
            .iter()
            .map(|k| {
                let primary = text(&k.primary)
                    .filter(|p| !numeric(resource, KeySlot::Primary) || p.parse::<i64>().is_ok());
                match shape {
                    SnapshotList::Keys => MatchKeys {
                        primary,
                        fallback: None,
                    },
                    SnapshotList::Entries(_) => MatchKeys {
                        primary,
                        fallback: text(&k.fallback),
                    },
                }
            })
            .filter(|k| k.primary.is_some() || k.fallback.is_some())
            .collect();
        let order = |k: &MatchKeys| -> Vec<(Option<i64>, String)> {
            let fields: &[(KeySlot, &str)] = match shape {
                SnapshotList::Keys => &[(KeySlot::Primary, "")],
                SnapshotList::Entries(fields) => fields,
            };
            fields
                .iter()
                .map(|&(slot, _)| {
                    let value = k.get(slot);
                    if numeric(resource, slot) {
                        (value.and_then(|v| v.parse().ok()), String::new())
                    } else {
                        (value.map(|_| 0), value.unwrap_or_default().to_string())
                    }
                })
                .collect()
        };
        keys.sort_by_cached_key(order);
        keys.dedup();
        self.lists.insert(resource, keys);
    }

    /// How old the snapshot is; `None` when its timestamp cannot be read.
    /// How far `generated_at` lies in the future beyond [`CLOCK_SKEW`], if it does: such a
    /// snapshot (a wrong clock, a hand-edited or planted file) cannot be trusted to be fresh.
    pub fn ahead(&self) -> Option<Duration> {
        let at = OffsetDateTime::parse(&self.generated_at, &Rfc3339).ok()?;
        let ahead = (at - OffsetDateTime::now_utc()).as_seconds_f64();
        (ahead > CLOCK_SKEW.as_secs_f64()).then(|| Duration::from_secs_f64(ahead))
    }

    pub fn age(&self) -> Option<Duration> {
        let at = OffsetDateTime::parse(&self.generated_at, &Rfc3339).ok()?;
        let age = OffsetDateTime::now_utc() - at;
        Some(Duration::from_secs_f64(age.as_seconds_f64().max(0.0)))
    }

    /// What the snapshot documents, as the index a live query builds from Notion's rows.
    pub fn documented(&self) -> Documented {
        let mut d = Documented::default();
        for resource in Resource::ALL {
            for keys in self.keys(resource) {
                d.add_keys(resource, &keys);
            }
        }
        d
    }

    /// Whether the snapshot documents `key` ([`crate::documented`]'s rule).
    pub fn documents(&self, key: &DocKey) -> bool {
        self.documented().documents(key)
    }
}

/// An event row's documented property names (none for an empty schema), when its schema is
/// readable.
fn documented_properties(row: &NotionRow) -> Option<(String, Vec<String>)> {
    let event = row_text(row, row.record.resource.schema().identity.primary)?;
    let text = (row.record.resource.schema().documenting)
        .property_of(DocField::Property)
        .and_then(|p| row.record.props.get(p))
        .and_then(crate::model::PropValue::as_text)?;
    let schema = kodo_core::property_schema::PropertySchema::parse(text).ok()?;
    Some((event, schema.names().map(str::to_string).collect()))
}

fn read_verified(kodo_dir: &Path) -> Option<Verified> {
    let text = std::fs::read_to_string(kodo_dir.join(VERIFIED_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes the record, and a `.gitignore` of `*` for the cache directory if it has none.
fn write_verified(kodo_dir: &Path, verified: &Verified) -> std::io::Result<()> {
    let path = kodo_dir.join(VERIFIED_FILE);
    if let Some(dir) = path.parent() {
        let ignore = dir.join(".gitignore");
        if !ignore.exists() {
            crate::state::write_atomic(&ignore, b"*\n")?;
        }
    }
    let text = serde_json::to_string(verified).map_err(std::io::Error::other)?;
    crate::state::write_atomic(&path, text.as_bytes())
}

/// Whether RFC 3339 time `a` is after `b` (false when either cannot be read).
fn later(a: &str, b: &str) -> bool {
    match (
        OffsetDateTime::parse(a, &Rfc3339),
        OffsetDateTime::parse(b, &Rfc3339),
    ) {
        (Ok(a), Ok(b)) => a > b,
        _ => false,
    }
}

/// The current time as RFC 3339 (UTC, whole seconds).
pub fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::decode_page;
    use serde_json::json;

    /// `resource`'s list set to these primary keys.
    fn with_keys(s: &mut Snapshot, resource: Resource, primaries: &[&str]) {
        s.set_keys(
            resource,
            primaries
                .iter()
                .map(|p| MatchKeys {
                    primary: Some(p.to_string()),
                    fallback: None,
                })
                .collect(),
        );
    }

    fn primaries(s: &Snapshot, resource: Resource) -> Vec<&str> {
        s.list(resource)
            .iter()
            .filter_map(|k| k.primary.as_deref())
            .collect()
    }

    fn row(resource: Resource, props: serde_json::Value) -> NotionRow {
        decode_page(resource, "p", None, props.as_object().unwrap())
    }

    #[test]
    fn documents_what_notion_rows_say_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), None);
        let mut s = Snapshot::new("2026-05-01T12:00:00Z");
        s.set_rows(
            Resource::Events,
            &[
                row(
                    Resource::Events,
                    json!({"Event Name": {"title": [{"plain_text": "b_event"}]}}),
                ),
                row(
                    Resource::Events,
                    json!({"Event Name": {"title": [{"plain_text": "a_event"}]}}),
                ),
                row(
                    Resource::Events,
                    json!({"Event Name": {"title": [{"plain_text": "a_event"}]}}),
                ),
            ],
        );
        s.set_rows(
            Resource::Experiments,
            &[row(
                Resource::Experiments,
                json!({
                "Experiment Name": {"title": [{"plain_text": "Checkout copy"}]},
                "Flag Key": {"rich_text": [{"plain_text": "checkout-copy"}]}}),
            )],
        );
        s.set_rows(
            Resource::Dashboards,
            &[row(
                Resource::Dashboards,
                json!({
                "Dashboard Name": {"title": [{"plain_text": "API Performance"}]},
                "ID": {"number": 123}}),
            )],
        );
        assert_eq!(primaries(&s, Resource::Events), ["a_event", "b_event"]);
        assert!(s.documents(&DocKey::event("a_event")));
        assert!(!s.documents(&DocKey::event("c_event")));
        assert!(s.documents(&DocKey::experiment("Checkout copy")));
        assert!(s.documents(&DocKey::flag("checkout-copy")));
        assert!(!s.documents(&DocKey::experiment("other name")));
        assert!(s.documents(&DocKey::dashboard("API Performance", None)));
        assert!(s.documents(&DocKey::dashboard("", Some(123))));
        assert!(!s.documents(&DocKey::flag("x")));
        // The experiment documents its flag.
        assert!(s.documents(&DocKey::flag("checkout-copy")));
        s.save(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["experiments"][0],
            json!({"name": "Checkout copy", "flag_key": "checkout-copy"})
        );
        assert_eq!(
            v["dashboards"][0],
            json!({"id": 123, "name": "API Performance"})
        );
        assert_eq!(load(dir.path()).unwrap(), Some(s));
    }

    /// The file's format comes from the resource table (`DatabaseSchema::snapshot`): lists
    /// in the resources' order under their plurals; events and flags as keys; experiments as
    /// `{name, flag_key}` sorted by name, dashboards as `{id, name}` sorted by ID (a number);
    /// a missing key `null` (a missing name `""`); and it reads back the same.
    #[test]
    fn the_file_has_the_shapes_the_resource_table_gives() {
        let mut s = Snapshot::new("2026-05-01T12:00:00Z");
        with_keys(
            &mut s,
            Resource::Flags,
            &["b_flag", " a_flag ", "b_flag", ""],
        );
        let keys = |p: Option<&str>, f: Option<&str>| MatchKeys {
            primary: p.map(str::to_string),
            fallback: f.map(str::to_string),
        };
        s.set_keys(
            Resource::Experiments,
            vec![
                keys(Some("z-flag"), Some("Beta")),
                keys(None, Some("Alpha")),
                keys(Some("a-flag"), Some("Beta")),
                keys(None, None),
            ],
        );
        s.set_keys(
            Resource::Dashboards,
            vec![
                keys(Some("10"), Some("Ten")),
                keys(Some("9"), Some("Nine")),
                keys(Some("not a number"), Some("Named only")),
                keys(Some("11"), None),
            ],
        );
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(
            text,
            r#"{"version":1,"generated_at":"2026-05-01T12:00:00Z","events":[],"flags":["a_flag","b_flag"],"experiments":[{"name":"Alpha","flag_key":null},{"name":"Beta","flag_key":"a-flag"},{"name":"Beta","flag_key":"z-flag"}],"dashboards":[{"id":null,"name":"Named only"},{"id":9,"name":"Nine"},{"id":10,"name":"Ten"},{"id":11,"name":""}]}"#
        );
        let back: Snapshot = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
        // An older file without some lists reads as empty lists; a wrong shape is an error.
        let old: Snapshot =
            serde_json::from_str(r#"{"version":1,"generated_at":"x","flags":["f"]}"#).unwrap();
        assert_eq!(primaries(&old, Resource::Flags), ["f"]);
        assert!(old.list(Resource::Dashboards).is_empty());
        let err = serde_json::from_str::<Snapshot>(
            r#"{"version":1,"generated_at":"x","dashboards":[{"id":"12","name":"n"}]}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("`dashboards`: `id` has the wrong type"),
            "{err}"
        );
    }

    #[test]
    fn an_unchanged_snapshot_is_not_rewritten_but_its_check_is_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Snapshot::new("2026-05-01T12:00:00Z");
        with_keys(&mut s, Resource::Flags, &["release_x"]);
        s.save(dir.path()).unwrap();
        let path = dir.path().join(FILE_NAME);
        let before = std::fs::read_to_string(&path).unwrap();

        s.generated_at = "2026-05-03T08:00:00Z".into();
        s.save(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
        assert_eq!(
            load(dir.path()).unwrap().unwrap().generated_at,
            "2026-05-03T08:00:00Z",
            "the check counts for the snapshot's age"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("cache/.gitignore")).unwrap(),
            "*\n"
        );

        // A different snapshot file (a `git pull`) is not made younger by the old record.
        let mut pulled = Snapshot::new("2026-05-02T00:00:00Z");
        with_keys(&mut pulled, Resource::Flags, &["release_y"]);
        std::fs::write(&path, serde_json::to_string(&pulled).unwrap()).unwrap();
        assert_eq!(load(dir.path()).unwrap().unwrap(), pulled);

        // A change is written, with its time.
        let mut changed = pulled.clone();
        changed.generated_at = "2026-05-04T00:00:00Z".into();
        with_keys(&mut changed, Resource::Events, &["signed_up"]);
        changed.save(dir.path()).unwrap();
        assert_eq!(load(dir.path()).unwrap().unwrap(), changed);
    }

    #[test]
    fn dead_flags_are_part_of_the_lists_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Snapshot::new("2026-05-01T12:00:00Z");
        with_keys(&mut s, Resource::Flags, &["release_x"]);
        s.save(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(
            !text.contains("dead_flags"),
            "an empty record is left out: {text}"
        );
        s.dead_flags
            .insert("release_x".into(), kodo_core::code::DeadState::Deleted);
        s.save(dir.path()).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap())
                .unwrap();
        assert_eq!(v["dead_flags"], json!({"release_x": "deleted"}));
        assert_eq!(load(dir.path()).unwrap(), Some(s));
    }

    #[test]
    fn a_snapshot_dated_in_the_future_is_ahead_beyond_the_skew_only() {
        assert!(Snapshot::new("2999-01-01T00:00:00Z").ahead().is_some());
        assert_eq!(Snapshot::new(&now_rfc3339()).ahead(), None);
        assert_eq!(Snapshot::new("2000-01-01T00:00:00Z").ahead(), None);
        assert_eq!(Snapshot::new("garbage").ahead(), None);
    }

    #[test]
    fn age_is_measured_from_generated_at() {
        let s = Snapshot::new("2000-01-01T00:00:00Z");
        assert!(s.age().unwrap() > Duration::from_secs(365 * 24 * 3600));
        let s = Snapshot::new(&now_rfc3339());
        assert!(s.age().unwrap() < Duration::from_secs(3600));
        assert_eq!(Snapshot::new("garbage").age(), None);
    }
}
