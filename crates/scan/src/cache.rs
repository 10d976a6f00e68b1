//! The persistent scan cache: one file in a cache directory (kodo uses `.kodo/cache/`) that
//! remembers, per source file, its size, modification time, inode and content hash, and
//! what the scanner's per-file pass extracted from it, plus the scan's final result, so a
//! re-scan of an unchanged tree reads no source file and redoes no cross-file work.
//!
//! The cache is generic over what the scanner stores: per file a small fixed summary
//! (`M`, decoded for every file) and an opaque extract (bytes, decoded only for the files a
//! re-scan needs), and one opaque result.
//!
//! File layout: 8 bytes of magic (`KODOSCAN`), the format version (u32, little endian), an
//! xxh3-64 checksum of the body (u64, little endian), then the body in postcard: the
//! kodo-scan version, a fingerprint of the settings the extracts were made with, when the
//! scan that wrote it started, the rows sorted by path (path, stat, hash, summary, extract
//! bytes), and the result bytes. Decoding borrows every path and byte string from the
//! file's bytes ([`view`]: one allocation for the row table, none per file). Anything else
//! (another format, another kodo version, other settings, a checksum mismatch, a body that
//! does not decode) makes [`load`] or [`view`] return no cache, never an error and never a
//! partly trusted one: the scan rebuilds it.
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
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 8] = b"KODOSCAN";
/// Bump when the layout or the meaning of an extract changes.
pub(crate) const FORMAT: u32 = 6;
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
    /// The stat of a file that could not be `stat`ed: never equal to a cached one.
    pub(crate) const NONE: Stat = Stat {
        size: 0,
        mtime_ns: 0,
        inode: 0,
    };

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

/// One file's row, borrowing its path and extract from the cache file's bytes (or from the
/// scan that is about to write it).
#[derive(Serialize, Deserialize, Clone, Copy, Debug)]
pub(crate) struct Row<'a, M> {
    pub path: &'a str,
    pub stat: Stat,
    pub hash: u128,
    /// What every re-scan needs of the file (decoded for every row).
    pub meta: M,
    /// The rest of what the scanner stored for the file (decoded only when needed).
    pub extract: &'a [u8],
}

#[derive(Serialize, Deserialize)]
struct Body<'a, M> {
    kodo_scan: &'a str,
    settings: u64,
    /// When the scan that wrote this started, nanoseconds since the Unix epoch.
    started_ns: u64,
    #[serde(borrow)]
    rows: Vec<Row<'a, M>>,
    result: &'a [u8],
}

/// A decoded cache: rows sorted by path, borrowed from the file's bytes.
pub(crate) struct View<'a, M> {
    pub rows: Vec<Row<'a, M>>,
    /// Row by path (paths share long prefixes: hashing beats a binary search's compares),
    /// built on first use (a re-scan that checks its recorded walk never looks a path up).
    index: OnceLock<HashMap<&'a str, usize>>,
    pub result: &'a [u8],
    /// Entries modified at or after this are checked by content, not stat.
    trusted_before_ns: u64,
}

impl<'a, M> View<'a, M> {
    /// The row of `rel`.
    pub(crate) fn find(&self, rel: &str) -> Option<usize> {
        self.index
            .get_or_init(|| {
                self.rows
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (r.path, i))
                    .collect()
            })
            .get(rel)
            .copied()
    }

    /// Whether row `i` stands for a file with this stat (unchanged since it was cached).
    pub(crate) fn fresh(&self, i: usize, stat: &Stat) -> bool {
        self.rows
            .get(i)
            .is_some_and(|r| r.stat == *stat && self.trusted(stat))
    }

    /// Whether a file with this stat was last modified well before the cache was written,
    /// so an unchanged stat means unchanged content.
    pub(crate) fn trusted(&self, stat: &Stat) -> bool {
        stat.mtime_ns < self.trusted_before_ns
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

/// Reads the cache file at `path` and checks its header and checksum; [`view`] decodes it.
/// `Err` says why it cannot be used.
pub(crate) fn load(path: &Path) -> Result<Vec<u8>, CacheStatus> {
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
    check(&bytes)?;
    Ok(bytes)
}

fn check(bytes: &[u8]) -> Result<(), CacheStatus> {
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
    if xxhash_rust::xxh3::xxh3_64(&bytes[HEADER..]) != checksum {
        return Err(ignored("corrupt (checksum mismatch)"));
    }
    Ok(())
}

/// Decodes the bytes [`load`] returned, borrowing from them.
pub(crate) fn view<'a, M: Deserialize<'a>>(
    bytes: &'a [u8],
    settings: u64,
) -> Result<View<'a, M>, CacheStatus> {
    let body = bytes
        .get(HEADER..)
        .ok_or_else(|| CacheStatus::Ignored("not a kodo scan cache".into()))?;
    let body: Body<'a, M> =
        postcard::from_bytes(body).map_err(|e| CacheStatus::Ignored(format!("corrupt ({e})")))?;
    if body.kodo_scan != env!("CARGO_PKG_VERSION") {
        return Err(CacheStatus::Ignored(format!(
            "written by kodo-scan {}, this is {}",
            body.kodo_scan,
            env!("CARGO_PKG_VERSION")
        )));
    }
    if body.settings != settings {
        return Err(CacheStatus::Ignored(
            "written with other scan settings".into(),
        ));
    }
    if body.rows.windows(2).any(|w| w[0].path >= w[1].path) {
        return Err(CacheStatus::Ignored("corrupt (rows out of order)".into()));
    }
    Ok(View {
        trusted_before_ns: body.started_ns.saturating_sub(RACY_SLACK.as_nanos() as u64),
        index: OnceLock::new(),
        rows: body.rows,
        result: body.result,
    })
}

/// Now, in nanoseconds since the Unix epoch (what [`save`] records as the scan's start).
pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Writes the cache atomically (see the module invariants). `rows` must be sorted by path,
/// each path once.
pub(crate) fn save<M: Serialize>(
    path: &Path,
    settings: u64,
    started_ns: u64,
    rows: &[Row<'_, M>],
    result: &[u8],
) -> std::io::Result<()> {
    save_as(
        env!("CARGO_PKG_VERSION"),
        path,
        settings,
        started_ns,
        rows,
        result,
    )
}

fn save_as<M: Serialize>(
    kodo_scan: &str,
    path: &Path,
    settings: u64,
    started_ns: u64,
    rows: &[Row<'_, M>],
    result: &[u8],
) -> std::io::Result<()> {
    #[derive(Serialize)]
    struct BodyRef<'a, 'r, M> {
        kodo_scan: &'a str,
        settings: u64,
        started_ns: u64,
        rows: &'a [Row<'r, M>],
        result: &'a [u8],
    }
    if rows.windows(2).any(|w| w[0].path >= w[1].path) {
        return Err(std::io::Error::other(
            "the cache rows are not sorted by path",
        ));
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
    let mut out = Vec::with_capacity(
        HEADER + rows.iter().map(|r| r.extract.len() + 64).sum::<usize>() + result.len(),
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    let mut out = postcard::to_extend(
        &BodyRef {
            kodo_scan,
            settings,
            started_ns,
            rows,
            result,
        },
        out,
    )
    .map_err(std::io::Error::other)?;
    let checksum = xxhash_rust::xxh3::xxh3_64(&out[HEADER..]);
    out[12..20].copy_from_slice(&checksum.to_le_bytes());
    let mut tmp = tempfile::Builder::new()
        .prefix(".scan-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(&out)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(path: &'a str, n: u64, extract: &'a [u8]) -> Row<'a, u32> {
        Row {
            path,
            stat: Stat {
                size: n,
                mtime_ns: 1,
                inode: n,
            },
            hash: n as u128,
            meta: n as u32,
            extract,
        }
    }

    #[test]
    fn round_trip_and_rejections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache/scan.bin");
        let (a, b) = (row("a.ts", 1, b"x1"), row("b.ts", 2, b"x2"));
        save(&path, 7, 10_000_000_000, &[a, b], b"result").unwrap();
        assert!(dir.path().join("cache/.gitignore").is_file());
        let bytes = load(&path).unwrap();
        let loaded: View<'_, u32> = view(&bytes, 7).unwrap();
        let i = loaded.find("b.ts").unwrap();
        assert_eq!(
            (loaded.rows[i].extract, loaded.rows[i].meta),
            (&b"x2"[..], 2)
        );
        assert_eq!(loaded.result, b"result");
        assert!(loaded.find("c.ts").is_none());
        let a_row = loaded.find("a.ts").unwrap();
        assert!(loaded.fresh(a_row, &a.stat));
        let mut touched = a.stat;
        touched.mtime_ns = 2;
        assert!(!loaded.fresh(a_row, &touched));

        assert_eq!(
            view::<u32>(&bytes, 8).err(),
            Some(CacheStatus::Ignored(
                "written with other scan settings".into()
            ))
        );
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            load(&path),
            Err(CacheStatus::Ignored(why)) if why.contains("corrupt")
        ));
        assert_eq!(
            load(&dir.path().join("none.bin")).err(),
            Some(CacheStatus::Missing)
        );
        // Rows out of order are never written.
        assert!(save(&path, 7, 0, &[b, a], b"").is_err());
    }

    #[test]
    fn a_cache_from_another_kodo_version_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.bin");
        save_as("0.0.1-old", &path, 0, 10, &[row("a.ts", 1, b"")], b"").unwrap();
        let bytes = load(&path).unwrap();
        assert_eq!(
            view::<u32>(&bytes, 0).err(),
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
        let mut r = row("a.ts", 1, b"");
        let started = 100 * 1_000_000_000;
        r.stat.mtime_ns = started - 1_000_000_000;
        save(&path, 0, started, &[r], b"").unwrap();
        let bytes = load(&path).unwrap();
        let loaded: View<'_, u32> = view(&bytes, 0).unwrap();
        assert!(!loaded.fresh(0, &r.stat));
    }
}
