//! The persistent scan cache: one file in a cache directory (kodo uses `.kodo/cache/`) that
//! remembers, per source file, its size, modification time, inode and content hash, and
//! what the scanner's per-file pass extracted from it, so a re-scan reads only the files
//! that changed.
//!
//! The cache is generic over the per-file extract (`E`, plain serde data); the scanner
//! decides what it holds.
//!
//! File layout: 8 bytes of magic (`KODOSCAN`), the format version (u32, little endian), an
//! xxh3-64 checksum of the body (u64, little endian), then the body in postcard. The body
//! starts with the kodo-scan version and a fingerprint of the settings the extracts were
//! made with; anything else (another format, another kodo version, other settings, a
//! checksum mismatch, a body that does not decode) makes [`load`] return no cache, never
//! an error and never a partly trusted one: the scan rebuilds it.
//!
//! Invariants:
//! - Written atomically: a temporary file with an unpredictable name in the cache
//!   directory, renamed over the final name (`tempfile`'s `NamedTempFile::persist`), so
//!   concurrent scans never leave a torn file (the last one wins) and a crash leaves the
//!   old cache or none. The rename replaces a symbolic link at the final path rather than
//!   following it, and a cache directory that is itself a symbolic link is never written
//!   to or read from.
//! - Safe to delete at any time; the directory gets a `.gitignore` of `*`.
//! - A file's entry is trusted on its stat alone only if the file was last modified well
//!   before the scan that wrote the entry started (the "racily clean" rule git uses: a
//!   file changed within the file system's timestamp granularity of being read could keep
//!   its stat); otherwise its content hash decides.

use std::collections::HashMap;
use std::fs::{self, Metadata};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 8] = b"KODOSCAN";
/// Bump when the layout or the meaning of an extract changes.
pub(crate) const FORMAT: u32 = 2;
const HEADER: usize = 8 + 4 + 8;
/// Files modified less than this before a scan started are re-checked by content next time.
const RACY_SLACK: Duration = Duration::from_secs(2);

/// What identifies a file's version without reading it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: u64,
    /// Inode number (0 where the platform has none).
    pub inode: u64,
}

impl Stat {
    pub(crate) fn of(meta: &Metadata) -> Stat {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Stat {
            size: meta.len(),
            mtime_ns,
            inode,
        }
    }
}

/// The content hash (xxh3, 128 bits): tells a touched file from a changed one.
pub(crate) fn content_hash(bytes: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(bytes)
}

/// One file's record.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct Entry<E> {
    pub stat: Stat,
    pub hash: u128,
    pub extract: E,
}

#[derive(Serialize, Deserialize)]
struct Body<E> {
    kodo_scan: String,
    settings: u64,
    /// When the scan that wrote this started, nanoseconds since the Unix epoch.
    started_ns: u64,
    entries: Vec<(String, Entry<E>)>,
}

/// A loaded cache.
pub(crate) struct Loaded<E> {
    pub entries: HashMap<String, Entry<E>>,
    /// Entries modified at or after this are checked by content, not stat.
    trusted_before_ns: u64,
}

impl<E> Loaded<E> {
    /// The entry for `rel` if its stat says the file is unchanged.
    pub(crate) fn fresh(&self, rel: &str, stat: &Stat) -> Option<&Entry<E>> {
        self.entries
            .get(rel)
            .filter(|e| e.stat == *stat && stat.mtime_ns < self.trusted_before_ns)
    }
}

/// Why there is no cache to use (for `-v` output and tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheStatus {
    /// The scan was asked not to use a cache.
    Disabled,
    /// No cache file yet.
    Missing,
    /// A cache file that was not used, and why (corrupt, another version, other settings).
    Ignored(String),
    /// The cache was read and used.
    Used,
}

/// The cache file in `dir` for a scan of `root`: one file per scanned root, so scans of
/// different directories do not evict each other.
pub(crate) fn file_for(dir: &Path, root: &Path) -> PathBuf {
    let canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let id = xxhash_rust::xxh3::xxh3_64(canonical.to_string_lossy().as_bytes());
    dir.join(format!("scan-{id:016x}.bin"))
}

fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Reads the cache at `path`; `Err` says why it cannot be used.
pub(crate) fn load<E: DeserializeOwned>(
    path: &Path,
    settings: u64,
) -> Result<Loaded<E>, CacheStatus> {
    if path.parent().is_some_and(is_symlink) {
        return Err(CacheStatus::Ignored(
            "the cache directory is a symbolic link".into(),
        ));
    }
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(CacheStatus::Missing),
        Err(e) => return Err(CacheStatus::Ignored(format!("cannot read it: {e}"))),
        Ok(m) if !m.file_type().is_file() => {
            return Err(CacheStatus::Ignored("not a regular file".into()))
        }
        Ok(_) => {}
    }
    let bytes = fs::read(path).map_err(|e| CacheStatus::Ignored(format!("cannot read it: {e}")))?;
    decode(&bytes, settings)
}

fn decode<E: DeserializeOwned>(bytes: &[u8], settings: u64) -> Result<Loaded<E>, CacheStatus> {
    let ignored = |why: &str| CacheStatus::Ignored(why.to_string());
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err(ignored("not a kodo scan cache"));
    }
    let format = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or_default());
    if format != FORMAT {
        return Err(CacheStatus::Ignored(format!(
            "cache format {format}, this kodo writes {FORMAT}"
        )));
    }
    let checksum = u64::from_le_bytes(bytes[12..20].try_into().unwrap_or_default());
    let body = &bytes[HEADER..];
    if xxhash_rust::xxh3::xxh3_64(body) != checksum {
        return Err(ignored("corrupt (checksum mismatch)"));
    }
    let body: Body<E> =
        postcard::from_bytes(body).map_err(|e| CacheStatus::Ignored(format!("corrupt ({e})")))?;
    if body.kodo_scan != env!("CARGO_PKG_VERSION") {
        return Err(CacheStatus::Ignored(format!(
            "written by kodo-scan {}, this is {}",
            body.kodo_scan,
            env!("CARGO_PKG_VERSION")
        )));
    }
    if body.settings != settings {
        return Err(ignored("written with other scan settings"));
    }
    Ok(Loaded {
        trusted_before_ns: body.started_ns.saturating_sub(RACY_SLACK.as_nanos() as u64),
        entries: body.entries.into_iter().collect(),
    })
}

/// Now, in nanoseconds since the Unix epoch (what [`save`] records as the scan's start).
pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Writes the cache atomically (see the module invariants).
pub(crate) fn save<E: Serialize>(
    path: &Path,
    settings: u64,
    started_ns: u64,
    entries: &[(&str, &Entry<E>)],
) -> std::io::Result<()> {
    save_as(
        env!("CARGO_PKG_VERSION"),
        path,
        settings,
        started_ns,
        entries,
    )
}

fn save_as<E: Serialize>(
    kodo_scan: &str,
    path: &Path,
    settings: u64,
    started_ns: u64,
    entries: &[(&str, &Entry<E>)],
) -> std::io::Result<()> {
    #[derive(Serialize)]
    struct BodyRef<'a, E> {
        kodo_scan: &'a str,
        settings: u64,
        started_ns: u64,
        entries: &'a [(&'a str, &'a Entry<E>)],
    }
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("the cache path has no directory"))?;
    if is_symlink(dir) {
        return Err(std::io::Error::other(
            "the cache directory is a symbolic link",
        ));
    }
    if !dir.is_dir() {
        fs::create_dir_all(dir)?;
    }
    let ignore = dir.join(".gitignore");
    if !ignore.exists() && !is_symlink(&ignore) {
        // Best effort: the cache is ignored by git even without a rule in the repository.
        let _ = fs::write(
            &ignore,
            "# kodo's scan cache: safe to delete, never committed.\n*\n",
        );
    }
    let body = postcard::to_allocvec(&BodyRef {
        kodo_scan,
        settings,
        started_ns,
        entries,
    })
    .map_err(std::io::Error::other)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".scan-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(MAGIC)?;
    tmp.write_all(&FORMAT.to_le_bytes())?;
    tmp.write_all(&xxhash_rust::xxh3::xxh3_64(&body).to_le_bytes())?;
    tmp.write_all(&body)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u64) -> Entry<Vec<String>> {
        Entry {
            stat: Stat {
                size: n,
                mtime_ns: 1,
                inode: n,
            },
            hash: n as u128,
            extract: vec![format!("x{n}")],
        }
    }

    #[test]
    fn round_trip_and_rejections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache/scan.bin");
        let (a, b) = (entry(1), entry(2));
        save(&path, 7, 10_000_000_000, &[("a.ts", &a), ("b.ts", &b)]).unwrap();
        assert!(dir.path().join("cache/.gitignore").is_file());
        let loaded: Loaded<Vec<String>> = load(&path, 7).unwrap();
        assert_eq!(loaded.entries["b.ts"].extract, vec!["x2".to_string()]);
        assert!(loaded.fresh("a.ts", &a.stat).is_some());
        let mut touched = a.stat;
        touched.mtime_ns = 2;
        assert!(loaded.fresh("a.ts", &touched).is_none());

        assert_eq!(
            load::<Vec<String>>(&path, 8).err(),
            Some(CacheStatus::Ignored(
                "written with other scan settings".into()
            ))
        );
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            load::<Vec<String>>(&path, 7),
            Err(CacheStatus::Ignored(why)) if why.contains("corrupt")
        ));
        assert_eq!(
            load::<Vec<String>>(&dir.path().join("none.bin"), 7).err(),
            Some(CacheStatus::Missing)
        );
    }

    #[test]
    fn a_cache_from_another_kodo_version_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.bin");
        save_as("0.0.1-old", &path, 0, 10, &[("a.ts", &entry(1))]).unwrap();
        assert_eq!(
            load::<Vec<String>>(&path, 0).err(),
            Some(CacheStatus::Ignored(format!(
                "written by kodo-scan 0.0.1-old, this is {}",
                env!("CARGO_PKG_VERSION")
            )))
        );
    }

    #[test]
    fn a_recently_modified_file_is_not_trusted_on_stat() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.bin");
        let mut e = entry(1);
        let started = 100 * 1_000_000_000;
        e.stat.mtime_ns = started - 1_000_000_000;
        save(&path, 0, started, &[("a.ts", &e)]).unwrap();
        let loaded: Loaded<Vec<String>> = load(&path, 0).unwrap();
        assert!(loaded.fresh("a.ts", &e.stat).is_none());
    }
}
