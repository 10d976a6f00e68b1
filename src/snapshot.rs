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

use crate::documented::{row_id, row_text, DocKey, Documented};
use crate::model::{NotionRow, Resource};

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

/// A documented experiment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SnapshotExperiment {
    pub name: String,
    #[serde(default)]
    pub flag_key: Option<String>,
}

/// A documented dashboard.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SnapshotDashboard {
    #[serde(default)]
    pub id: Option<i64>,
    pub name: String,
}

/// What Notion documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    /// RFC 3339, UTC.
    pub generated_at: String,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub experiments: Vec<SnapshotExperiment>,
    #[serde(default)]
    pub dashboards: Vec<SnapshotDashboard>,
    /// Event → the property names its Properties schema documents (events whose schema is not
    /// readable are absent): the pre-commit gate's offline answer for properties.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub event_properties: std::collections::BTreeMap<String, Vec<String>>,
    /// Flags PostHog no longer serves (deleted or archived there, by the audit's rule
    /// `kodo_core::code::dead_flags`) → why: `kodo scan --check`'s offline answer for a check
    /// of a dead flag. Written by the runs that read PostHog's flags (status, audit, import);
    /// a run that reads only Notion keeps the list.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub dead_flags: std::collections::BTreeMap<String, kodo_core::code::DeadState>,
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
            events: Vec::new(),
            flags: Vec::new(),
            experiments: Vec::new(),
            dashboards: Vec::new(),
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
            && self.events == other.events
            && self.flags == other.flags
            && self.experiments == other.experiments
            && self.dashboards == other.dashboards
            && self.event_properties == other.event_properties
            && self.dead_flags == other.dead_flags
    }

    /// Replaces one resource's list with what `rows` document (rows not in the trash; values
    /// normalised as [`crate::documented`] says).
    pub fn set_rows(&mut self, resource: Resource, rows: &[NotionRow]) {
        // The keys are read from the properties the schema table names.
        let identity = &resource.schema().identity;
        let primary = |r: &NotionRow| row_text(r, identity.primary);
        let name = |r: &NotionRow| identity.fallback.and_then(|p| row_text(r, p));
        match resource {
            Resource::Events => {
                self.events = rows.iter().filter_map(primary).collect();
                self.events.sort();
                self.events.dedup();
                self.event_properties = rows.iter().filter_map(documented_properties).collect();
            }
            Resource::Flags => {
                self.flags = rows.iter().filter_map(primary).collect();
                self.flags.sort();
                self.flags.dedup();
            }
            Resource::Experiments => {
                self.experiments = rows
                    .iter()
                    .filter_map(|r| {
                        let flag_key = primary(r);
                        let name = name(r);
                        (name.is_some() || flag_key.is_some()).then(|| SnapshotExperiment {
                            name: name.unwrap_or_default(),
                            flag_key,
                        })
                    })
                    .collect();
                self.experiments.sort();
                self.experiments.dedup();
            }
            Resource::Dashboards => {
                self.dashboards = rows
                    .iter()
                    .map(|r| SnapshotDashboard {
                        id: row_id(r, identity.primary),
                        name: name(r).unwrap_or_default(),
                    })
                    .filter(|d| d.id.is_some() || !d.name.is_empty())
                    .collect();
                self.dashboards.sort();
                self.dashboards.dedup();
            }
        }
    }

    /// Adds what one row documents (a row just written), keeping the lists sorted.
    pub fn add_row(&mut self, resource: Resource, row: &NotionRow) {
        let mut added = Snapshot::new(&self.generated_at);
        added.set_rows(resource, std::slice::from_ref(row));
        self.events.extend(added.events);
        self.event_properties.extend(added.event_properties);
        self.flags.extend(added.flags);
        self.experiments.extend(added.experiments);
        self.dashboards.extend(added.dashboards);
        self.events.sort();
        self.events.dedup();
        self.flags.sort();
        self.flags.dedup();
        self.experiments.sort();
        self.experiments.dedup();
        self.dashboards.sort();
        self.dashboards.dedup();
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
        for e in &self.events {
            d.add_event(Some(e));
        }
        for f in &self.flags {
            d.add_flag(Some(f));
        }
        for x in &self.experiments {
            d.add_experiment(Some(&x.name), x.flag_key.as_deref());
        }
        for b in &self.dashboards {
            d.add_dashboard(Some(&b.name), b.id);
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
    let text = kodo_core::properties::schema_property()
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
        assert_eq!(s.events, ["a_event", "b_event"]);
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

    #[test]
    fn an_unchanged_snapshot_is_not_rewritten_but_its_check_is_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Snapshot::new("2026-05-01T12:00:00Z");
        s.flags = vec!["release_x".into()];
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
        pulled.flags = vec!["release_y".into()];
        std::fs::write(&path, serde_json::to_string(&pulled).unwrap()).unwrap();
        assert_eq!(load(dir.path()).unwrap().unwrap(), pulled);

        // A change is written, with its time.
        let mut changed = pulled.clone();
        changed.generated_at = "2026-05-04T00:00:00Z".into();
        changed.events = vec!["signed_up".into()];
        changed.save(dir.path()).unwrap();
        assert_eq!(load(dir.path()).unwrap().unwrap(), changed);
    }

    #[test]
    fn dead_flags_are_part_of_the_lists_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Snapshot::new("2026-05-01T12:00:00Z");
        s.flags = vec!["release_x".into()];
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
