//! `.kodo/state.json`: what kodo remembers between runs.
//!
//! ```json
//! {"version": 1,
//!  "last_sync": {"flags": {"at": "2026-05-01T12:00:00Z", "action": "import"}},
//!  "flag_ids": {"release_checkout_v2": 17},
//!  "data_sources": {"<database id>": "<data source id>"}}
//! ```
//!
//! - `last_sync`: when each resource was last imported, audited or exported (`status` shows it).
//! - `flag_ids`: every flag key kodo has seen in PostHog with its ID. Deleted flags leave
//!   PostHog's list but can still be fetched by ID, so this is how a documented flag that
//!   vanished is told apart: deleted (→ `archived`) or gone.
//! - `data_sources`: the data source behind each configured database ID, so a run reads it
//!   with one request instead of three.
//! - `property_ids`: per data source, the id of each of kodo's properties as last seen under
//!   kodo's name. A property keeps its id when a person renames it in Notion, so a renamed
//!   one is followed by its id (`sync::fetch::follow_renames`) instead of being added again.
//! - `posthog_ids`: per resource whose rows hold no PostHog id (experiments), each row key
//!   (the primary key: an experiment's flag key) kodo has seen in PostHog with its ID. A
//!   deleted experiment leaves PostHog's list and its by-id read answers 404, so a documented
//!   one that vanished is known deleted only through this.
//!
//! **Invariants.** The file is a cache: a missing one is an empty state, and a damaged one is
//! reported and replaced, never a reason to stop. Writes are atomic (temporary file + rename),
//! so a killed run leaves the old file or the new one, never half of one. Unknown keys are kept
//! out of the way of newer versions: only the keys above are read.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use kodo_core::model::RememberedIds;
use serde::{Deserialize, Serialize};

/// The file's name under `.kodo/`.
pub const FILE_NAME: &str = "state.json";

/// Errors reading or writing `.kodo/state.json`.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is damaged ({source}); it will be rewritten", path.display())]
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

/// When a resource was last synced, and by which action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSync {
    /// RFC 3339, UTC.
    pub at: String,
    /// `import`, `audit`, `export`, `status`.
    pub action: String,
}

/// The remembered state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    #[serde(default)]
    pub last_sync: BTreeMap<String, LastSync>,
    #[serde(default)]
    pub flag_ids: BTreeMap<String, i64>,
    #[serde(default)]
    pub data_sources: BTreeMap<String, String>,
    /// Per data source id, kodo's property name → the property's id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub property_ids: BTreeMap<String, BTreeMap<String, String>>,
    /// Per resource (plural; flags in `flag_ids`, as `kodo_core::model::RememberedIds` says),
    /// primary key → PostHog id seen.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub posthog_ids: BTreeMap<String, BTreeMap<String, i64>>,
    /// Per resource (plural), row key → derived property → fingerprint of what kodo last wrote
    /// there (`kodo_core::model::fingerprint`): a value that no longer matches was edited by
    /// a person and is kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub written: BTreeMap<String, kodo_core::plan::Written>,
}

impl Default for State {
    fn default() -> Self {
        State {
            version: 1,
            last_sync: BTreeMap::new(),
            flag_ids: BTreeMap::new(),
            data_sources: BTreeMap::new(),
            property_ids: BTreeMap::new(),
            posthog_ids: BTreeMap::new(),
            written: BTreeMap::new(),
        }
    }
}

impl State {
    /// Reads the state from `kodo_dir`; a missing file is an empty state.
    pub fn load(kodo_dir: &Path) -> Result<State, StateError> {
        let path = kodo_dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|source| StateError::Malformed { path, source })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(StateError::Read { path, source }),
        }
    }

    /// Writes the state atomically, unless the file already says the same thing apart from
    /// the times of the last syncs: a read-only command (`status`, `audit`) then leaves a
    /// committed `.kodo/state.json` untouched, so `git status` stays clean.
    pub fn save(&self, kodo_dir: &Path) -> Result<(), StateError> {
        let path = kodo_dir.join(FILE_NAME);
        if let Ok(Some(on_disk)) =
            std::fs::read_to_string(&path).map(|text| serde_json::from_str::<State>(&text).ok())
        {
            if on_disk.without_times() == self.without_times() {
                return Ok(());
            }
        }
        let mut text = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into());
        text.push('\n');
        write_atomic(&path, text.as_bytes()).map_err(|source| StateError::Write { path, source })
    }

    /// The PostHog id kodo saw for `resource`'s row with primary key `key` (none for a
    /// resource whose rows hold their id, `DatabaseSchema::remembers_posthog_ids`).
    pub fn posthog_id(&self, resource: kodo_core::model::Resource, key: &str) -> Option<i64> {
        let kept_in = resource.schema().remembers_posthog_ids()?;
        let ids = match kept_in {
            RememberedIds::FlagIds => &self.flag_ids,
            RememberedIds::ByResource => self.posthog_ids.get(resource.plural())?,
        };
        ids.get(key).copied()
    }

    /// Remembers the PostHog id of `resource`'s row with primary key `key`, where the
    /// resource table says kodo keeps it (nothing for a resource whose rows hold their id).
    pub fn remember_posthog_id(
        &mut self,
        resource: kodo_core::model::Resource,
        key: &str,
        id: i64,
    ) {
        let kept_in = resource.schema().remembers_posthog_ids();
        let ids = match kept_in {
            None => return,
            Some(RememberedIds::FlagIds) => &mut self.flag_ids,
            Some(RememberedIds::ByResource) => self
                .posthog_ids
                .entry(resource.plural().to_string())
                .or_default(),
        };
        ids.insert(key.to_string(), id);
    }

    /// Remembers what an item of `resource`'s plan wrote to its derived properties.
    pub fn remember_written(&mut self, resource: &str, item: &kodo_core::plan::Item) {
        let writes = kodo_core::plan::derived_writes(item);
        if writes.is_empty() {
            return;
        }
        let row = self
            .written
            .entry(resource.to_string())
            .or_default()
            .entry(item.desired.record.key.clone())
            .or_default();
        for (property, fingerprint) in writes {
            row.insert(property.to_string(), fingerprint);
        }
    }

    /// The state with every last-sync time blanked (the actions kept).
    fn without_times(&self) -> State {
        let mut state = self.clone();
        for sync in state.last_sync.values_mut() {
            sync.at.clear();
        }
        state
    }

    /// Records a sync of `resource` (its plural name) at `at`.
    pub fn record_sync(&mut self, resource: &str, at: &str, action: &str) {
        self.last_sync.insert(
            resource.to_string(),
            LastSync {
                at: at.to_string(),
                action: action.to_string(),
            },
        );
    }
}

/// Writes `bytes` to `path` atomically; the one way kodo writes a file (state, snapshot,
/// export, config, hooks). Creates the directory if needed.
///
/// A temporary file with an unpredictable name is created exclusively (`O_EXCL`, by the
/// `tempfile` crate) in the target directory, written, flushed to disk, and renamed over
/// `path`; the directory is then synced. A symbolic link at `path` is refused, never
/// followed (a planted link cannot make kodo overwrite the file it points to, and is never
/// silently replaced either); a name planted next to it cannot be guessed. An existing
/// file keeps its permissions; a new one is 0644.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, bytes, 0o644)
}

/// [`write_atomic`], unless `path` already holds exactly `bytes`: then nothing is written (the
/// file keeps its inode and modification time, so a re-run that changes nothing changes no
/// file). Returns whether it wrote. A symbolic link at `path` is refused as [`write_atomic`]
/// refuses it, whatever it points to.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    let is_file = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file());
    if is_file && std::fs::read(path).is_ok_and(|on_disk| on_disk == bytes) {
        return Ok(false);
    }
    write_atomic(path, bytes)?;
    Ok(true)
}

/// [`write_atomic`] for a script: the file is executable (0755 on Unix) before it appears at
/// `path`, so nothing ever runs a half-written or non-executable hook.
pub fn write_atomic_executable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, bytes, 0o755)
}

/// The error for a symbolic link where kodo would write a file.
fn symlink_refused(path: &Path) -> std::io::Error {
    let target = std::fs::read_link(path)
        .map(|t| format!(" (to `{}`)", t.display()))
        .unwrap_or_default();
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "`{}` is a symbolic link{target}, and kodo never writes through one; remove the link and run again",
            path.display()
        ),
    )
}

fn write_atomic_with(path: &Path, bytes: &[u8], new_mode: u32) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let existing = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => return Err(symlink_refused(path)),
        Ok(meta) => Some(meta.permissions()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    match existing {
        Some(perms) if new_mode != 0o755 => tmp.as_file().set_permissions(perms)?,
        _ => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                tmp.as_file()
                    .set_permissions(std::fs::Permissions::from_mode(new_mode))?;
            }
            #[cfg(not(unix))]
            let _ = new_mode;
        }
    }
    tmp.as_file().sync_all()?;
    // A rename replaces whatever is at `path` (even a link planted since the check above)
    // without following it.
    tmp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates `dir` if needed and checks that it resolves to a place inside `root` (a directory
/// that is, or passes through, a symbolic link leaving the repository is refused), so a
/// cloned repository cannot make kodo write files elsewhere.
pub fn ensure_inside(root: &Path, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let real_root = root.canonicalize()?;
    let real = dir.canonicalize()?;
    if real.starts_with(&real_root) {
        return Ok(());
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "`{}` resolves to `{}`, outside the repository `{}` (a symbolic link?); kodo writes only inside the repository: remove the link and run again",
            dir.display(),
            real.display(),
            real_root.display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_same_bytes_are_not_written_again_and_a_link_is_still_refused() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("export/flags.json");
        assert!(write_if_changed(&file, b"one").unwrap());
        let inode = std::fs::metadata(&file).unwrap().ino();
        assert!(!write_if_changed(&file, b"one").unwrap());
        assert_eq!(std::fs::metadata(&file).unwrap().ino(), inode);
        assert!(write_if_changed(&file, b"two").unwrap());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "two");
        // A link to a file holding the very bytes is refused, not taken as "unchanged".
        let link = dir.path().join("export/link.json");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let err = write_if_changed(&link, b"two").unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_refuses_links_keeps_modes_and_leaves_nothing_behind() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.txt");
        std::fs::write(&outside, "keep").unwrap();
        let link = dir.path().join("d/state.json");
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let err = write_atomic(&link, b"new").unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");

        let file = dir.path().join("d/plain.json");
        write_atomic(&file, b"one").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o644);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&file, b"two").unwrap();
        assert_eq!(
            (std::fs::read_to_string(&file).unwrap(), mode(&file)),
            ("two".into(), 0o600)
        );
        let script = dir.path().join("d/hook");
        write_atomic_executable(&script, b"#!/bin/sh\n").unwrap();
        assert_eq!(mode(&script), 0o755);
        let names: Vec<String> = std::fs::read_dir(dir.path().join("d"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");

        // A directory that leads out of the root is refused.
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("export")).unwrap();
        let err = ensure_inside(&root, &root.join("export")).unwrap_err();
        assert!(err.to_string().contains("outside the repository"), "{err}");
        ensure_inside(&root, &root.join("fine/nested")).unwrap();
    }

    #[test]
    fn missing_file_is_empty_state_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::load(dir.path()).unwrap();
        assert_eq!(state, State::default());
        state.record_sync("flags", "2026-05-01T12:00:00Z", "import");
        state.flag_ids.insert("release_x".into(), 17);
        state.save(dir.path()).unwrap();
        let again = State::load(dir.path()).unwrap();
        assert_eq!(again, state);
        assert_eq!(again.last_sync["flags"].action, "import");
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [FILE_NAME]);
    }

    #[test]
    fn a_save_that_changes_only_times_leaves_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::default();
        state.record_sync("flags", "2026-05-01T12:00:00Z", "audit");
        state.save(dir.path()).unwrap();
        let path = dir.path().join(FILE_NAME);
        let before = std::fs::read_to_string(&path).unwrap();
        state.record_sync("flags", "2026-05-02T09:30:00Z", "audit");
        state.save(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
        // Anything else (another action, a new flag id) is written, with the new time.
        state.record_sync("flags", "2026-05-02T09:31:00Z", "import");
        state.save(dir.path()).unwrap();
        let after = State::load(dir.path()).unwrap();
        assert_eq!(after.last_sync["flags"].at, "2026-05-02T09:31:00Z");
        state.flag_ids.insert("release_y".into(), 3);
        state.save(dir.path()).unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), state);
    }

    /// The ids go where the resource table says: flags in `flag_ids`, experiments under
    /// `posthog_ids`; a dashboard's row holds its id, so nothing is remembered for it.
    #[test]
    fn posthog_ids_are_remembered_where_the_table_says() {
        use kodo_core::model::Resource;
        let mut state = State::default();
        state.remember_posthog_id(Resource::Flags, "release_x", 7);
        state.remember_posthog_id(Resource::Experiments, "checkout-copy", 8);
        state.remember_posthog_id(Resource::Dashboards, "12", 12);
        state.remember_posthog_id(Resource::Events, "signed_up", 1);
        assert_eq!(state.flag_ids, BTreeMap::from([("release_x".into(), 7)]));
        assert_eq!(
            state.posthog_ids,
            BTreeMap::from([(
                "experiments".into(),
                BTreeMap::from([("checkout-copy".into(), 8)])
            )])
        );
        assert_eq!(state.posthog_id(Resource::Flags, "release_x"), Some(7));
        assert_eq!(
            state.posthog_id(Resource::Experiments, "checkout-copy"),
            Some(8)
        );
        assert_eq!(state.posthog_id(Resource::Experiments, "release_x"), None);
        assert_eq!(state.posthog_id(Resource::Dashboards, "12"), None);
    }

    #[test]
    fn damaged_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "{not json").unwrap();
        let err = State::load(dir.path()).unwrap_err();
        assert!(matches!(err, StateError::Malformed { .. }));
        assert!(err.to_string().contains("state.json"), "{err}");
    }
}
