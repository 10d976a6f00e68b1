//! The persistent scan cache: one file in a cache directory (kodo uses `.kodo/cache/`) that
//! remembers, per source file, its size, modification time, inode and content hash, and
//! what the scanner's per-file pass extracted from it, plus the scan's final result, so a
//! re-scan of an unchanged tree reads no source file and redoes no cross-file work.
//!
//! The cache is generic over what the scanner stores: per file a small fixed summary
//! (`M`) and an opaque extract (bytes), and one opaque result.
//!
//! File layout (format 7): a fixed header, then seven sections, each checksummed on its
//! own (xxh3-64), in this order:
//!
//! | section  | content                                                                |
//! |----------|------------------------------------------------------------------------|
//! | head     | postcard: kodo-scan version, settings fingerprint, scan start, rows, base id |
//! | paths    | postcard: the rows' paths, sorted                                      |
//! | stats    | 56 bytes per row, little endian: size, mtime, inode, content hash (128 bits), end offset of its extract, base row |
//! | result   | the scan's result (opaque bytes)                                       |
//! | removed  | postcard: paths of the base that are gone (a delta's; empty in a base) |
//! | metas    | postcard: every row's summary `M`                                      |
//! | extracts | every row's extract, concatenated                                      |
//!
//! The header is a magic (`KODOSCAN` for the base file, `KODODLTA` for its delta), the
//! format (u32), the number of sections (u32), each section's length and checksum (u64
//! each), and a checksum of all that (u64), which is also the file's identity. The layout
//! lets a re-scan use only what it needs: the first five sections are read (about a fifth
//! of the file) and decoded without a per-row allocation but the path table; the
//! summaries and extracts are checked on open (read in small chunks, not kept) and read
//! again only when a re-scan needs them, from the same open file (a file the cache
//! replaces by renaming, so it never changes under a reader).
//!
//! A scan that changes few rows (at most an eighth, or 64) does not rewrite the base: it
//! writes a delta file next to it (`scan-….delta`, the same layout) with the rows that
//! differ from the base (a row whose content is unchanged points at the base's extract
//! instead of copying it), the base paths that are gone, the new result, and the identity
//! of the base it applies to. Each delta replaces the previous one and holds every
//! difference from the base, so reading is base + one delta. More changes write a new base
//! and remove the delta. A delta that is corrupt, torn, for another base (one written
//! since) or from another version or settings is ignored: the base alone is the older,
//! whole state it was written over, so the scan only does more work.
//!
//! Anything else (another format, another kodo version, other settings, a checksum
//! mismatch in any section, a section that does not decode) makes [`load`] or [`view`]
//! return no cache, never an error and never a partly trusted one: the scan rebuilds it.
//!
//! Invariants:
//! - Written atomically, base and delta alike: a temporary file with an unpredictable name
//!   in the cache directory, renamed over the final name (`tempfile`'s
//!   `NamedTempFile::persist`), so concurrent scans never leave a torn file (the last one
//!   wins) and a crash leaves the old cache or none. A delta names its base by the base's
//!   checksum, so a base and a delta of two different scans are never combined. The
//!   rename replaces a symbolic link at the final path rather than following it, and a
//!   cache directory that is itself a symbolic link is never written to or read from.
//! - Safe to delete at any time; the directory gets a `.gitignore` of `*`.
//! - A file's entry is trusted on its stat alone only if the file was last modified well
//!   before the scan that wrote the entry started (the "racily clean" rule git uses: a
//!   file changed within the file system's timestamp granularity of being read could keep
//!   its stat); otherwise its content hash decides.

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io::{BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 8] = b"KODOSCAN";
const DELTA_MAGIC: &[u8; 8] = b"KODODLTA";
/// Bump when the layout or the meaning of an extract changes.
pub(crate) const FORMAT: u32 = 8;
/// The sections, in file order.
const HEAD: usize = 0;
const PATHS: usize = 1;
const STATS: usize = 2;
const RESULT: usize = 3;
const REMOVED: usize = 4;
const METAS: usize = 5;
const EXTRACTS: usize = 6;
const SECTIONS: usize = 7;
/// The sections read on open (the others are checked on open and read when needed).
const EAGER: usize = 5;
const HEADER: usize = 8 + 4 + 4 + SECTIONS * 16 + 8;
/// Bytes per row in the stats section.
const STAT_ROW: usize = 56;
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

/// Where a row's extract comes from when [`save`] writes it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Extract<'a> {
    /// These bytes.
    Bytes(&'a [u8]),
    /// Row `k`'s extract in the cache the scan read (the same file, unchanged).
    Cached(usize),
}

/// One file's row as [`save`] writes it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row<'a, M> {
    pub path: &'a str,
    pub stat: Stat,
    pub hash: u128,
    /// What every re-scan that changes something needs of the file.
    pub meta: M,
    /// The rest of what the scanner stored for the file (read only when needed).
    pub extract: Extract<'a>,
}

#[derive(Serialize, Deserialize)]
struct Head<'a> {
    kodo_scan: &'a str,
    settings: u64,
    /// When the scan that wrote this started, nanoseconds since the Unix epoch.
    started_ns: u64,
    rows: u64,
    /// For a delta, the [`Part::id`] of the base it applies to (0 in a base).
    base: u64,
}

/// One file of the cache (the base or its delta), opened and checked: its first sections
/// in memory, the others read from the open file on first use.
struct Part {
    file: File,
    /// The header's checksum, which covers every section's checksum: the file's identity.
    id: u64,
    /// Each section's offset in the file, length and checksum.
    sections: [(u64, u64, u64); SECTIONS],
    /// The sections before [`EAGER`], as read.
    eager: Vec<u8>,
    lazy: [OnceLock<Option<Vec<u8>>>; SECTIONS - EAGER],
}

impl Part {
    /// Opens the file at `path` and checks its header and every section's checksum.
    fn open(path: &Path, magic: &[u8; 8]) -> Result<Part, CacheStatus> {
        let ignored = |why: &str| CacheStatus::Ignored(why.to_string());
        let unreadable = |e: std::io::Error| CacheStatus::Ignored(format!("cannot read it: {e}"));
        match fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(CacheStatus::Missing),
            Err(e) => return Err(unreadable(e)),
            Ok(m) if !m.file_type().is_file() => return Err(ignored("not a regular file")),
            Ok(_) => {}
        }
        let mut file = File::open(path).map_err(unreadable)?;
        let size = file.metadata().map_err(unreadable)?.len();
        let mut header = [0u8; HEADER];
        if size < HEADER as u64 {
            return Err(ignored("not a kodo scan cache"));
        }
        file.read_exact(&mut header).map_err(unreadable)?;
        let sections = check_header(&header, magic, size)?;
        let eager_len: u64 = sections[..EAGER].iter().map(|s| s.1).sum();
        let mut eager = vec![0; usize::try_from(eager_len).map_err(|_| ignored("corrupt (size)"))?];
        file.read_exact(&mut eager).map_err(unreadable)?;
        let mut at = 0usize;
        for (_, len, sum) in &sections[..EAGER] {
            let part = &eager[at..at + *len as usize];
            if xxhash_rust::xxh3::xxh3_64(part) != *sum {
                return Err(ignored("corrupt (checksum mismatch)"));
            }
            at += *len as usize;
        }
        // The other sections are checked now (so a corrupt cache is never partly used) but
        // not kept: a re-scan of an unchanged tree never needs them.
        let mut chunk = vec![0u8; 256 * 1024];
        for (_, len, sum) in &sections[EAGER..] {
            let mut hasher = xxhash_rust::xxh3::Xxh3::new();
            let mut left = *len;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                file.read_exact(&mut chunk[..n]).map_err(unreadable)?;
                hasher.update(&chunk[..n]);
                left -= n as u64;
            }
            if hasher.digest() != *sum {
                return Err(ignored("corrupt (checksum mismatch)"));
            }
        }
        Ok(Part {
            file,
            id: u64_at(&header, HEADER - 8),
            sections,
            eager,
            lazy: Default::default(),
        })
    }

    /// The bytes of an eager section.
    fn eager_section(&self, s: usize) -> &[u8] {
        let first = self.sections[0].0;
        let (off, len, _) = self.sections[s];
        let start = (off - first) as usize;
        &self.eager[start..start + len as usize]
    }

    /// The bytes of a lazy section, read (and checked again) on first use; `None` if it
    /// can no longer be read or no longer matches its checksum.
    fn lazy_section(&self, s: usize) -> Option<&[u8]> {
        self.lazy[s - EAGER]
            .get_or_init(|| {
                let (off, len, sum) = self.sections[s];
                let mut buf = vec![0; usize::try_from(len).ok()?];
                read_at(&self.file, &mut buf, off).ok()?;
                (xxhash_rust::xxh3::xxh3_64(&buf) == sum).then_some(buf)
            })
            .as_deref()
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], off: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, off)
}

#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut off: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, off)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                off += n as u64;
            }
        }
    }
    Ok(())
}

/// A cache opened and checked: the base, and the delta over it if there is a whole one
/// that applies to this base.
pub(crate) struct Cache {
    base: Part,
    delta: Option<Part>,
}

/// The delta file next to the base at `path`.
fn delta_path(path: &Path) -> PathBuf {
    path.with_extension("delta")
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// One part's rows, decoded (paths) or borrowed (stats).
struct Rows<'a> {
    part: &'a Part,
    head: Head<'a>,
    paths: Vec<&'a str>,
    stats: &'a [u8],
    removed: Vec<&'a str>,
}

impl<'a> Rows<'a> {
    fn decode(part: &'a Part) -> Result<Rows<'a>, CacheStatus> {
        let corrupt = |e: postcard::Error| CacheStatus::Ignored(format!("corrupt ({e})"));
        let bad = |why: &str| CacheStatus::Ignored(format!("corrupt ({why})"));
        let head: Head<'a> = postcard::from_bytes(part.eager_section(HEAD)).map_err(corrupt)?;
        let paths: Vec<&'a str> =
            postcard::from_bytes(part.eager_section(PATHS)).map_err(corrupt)?;
        let removed: Vec<&'a str> =
            postcard::from_bytes(part.eager_section(REMOVED)).map_err(corrupt)?;
        let stats = part.eager_section(STATS);
        let n = paths.len();
        if head.rows != n as u64 || stats.len() != n * STAT_ROW {
            return Err(bad("row count"));
        }
        if paths.windows(2).any(|w| w[0] >= w[1]) || removed.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad("rows out of order"));
        }
        let rows = Rows {
            part,
            head,
            paths,
            stats,
            removed,
        };
        // Extract offsets never decrease and end at the section's end.
        let mut last = 0;
        for i in 0..n {
            let end = rows.extract_end(i);
            if end < last {
                return Err(bad("extract offsets"));
            }
            last = end;
        }
        if last != part.sections[EXTRACTS].1 {
            return Err(bad("extract offsets"));
        }
        Ok(rows)
    }

    fn stat(&self, i: usize) -> Stat {
        let at = i * STAT_ROW;
        Stat {
            size: u64_at(self.stats, at),
            mtime_ns: u64_at(self.stats, at + 8),
            inode: u64_at(self.stats, at + 16),
        }
    }

    fn hash(&self, i: usize) -> u128 {
        let at = i * STAT_ROW + 24;
        u128::from(u64_at(self.stats, at)) | (u128::from(u64_at(self.stats, at + 8)) << 64)
    }

    /// Where row `i`'s own extract ends in the extracts section.
    fn extract_end(&self, i: usize) -> u64 {
        u64_at(self.stats, i * STAT_ROW + 40)
    }

    /// For a delta's row whose extract is the base's (unchanged), that base row.
    fn base_row(&self, i: usize) -> Option<usize> {
        match u64_at(self.stats, i * STAT_ROW + 48) {
            OWN => None,
            b => usize::try_from(b).ok(),
        }
    }

    /// Row `i`'s own extract (the extracts section is read on first use).
    fn own_extract(&self, i: usize) -> Option<&'a [u8]> {
        let all = self.part.lazy_section(EXTRACTS)?;
        let start = if i == 0 { 0 } else { self.extract_end(i - 1) };
        let end = self.extract_end(i);
        all.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }

    fn metas<M: DeserializeOwned>(&self) -> Option<Vec<M>> {
        let bytes = self.part.lazy_section(METAS)?;
        let metas: Vec<M> = postcard::from_bytes(bytes).ok()?;
        (metas.len() == self.paths.len()).then_some(metas)
    }
}

/// In a base's stats, an extract of the row's own.
const OWN: u64 = u64::MAX;
/// In [`View::src`], a row of the delta.
const IN_DELTA: u32 = 1 << 31;

/// Where a row of the [`View`] is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Base(usize),
    Delta(usize),
}

/// A decoded cache: rows sorted by path (the base's, with the delta's changes applied),
/// borrowed from the [`Cache`].
pub(crate) struct View<'a, M> {
    base: Rows<'a>,
    delta: Option<Rows<'a>>,
    paths: Vec<&'a str>,
    /// Each row's place in the base or (with [`IN_DELTA`]) the delta; empty without a
    /// delta (row `k` is the base's row `k`).
    src: Vec<u32>,
    metas: OnceLock<Option<Vec<M>>>,
    base_metas: OnceLock<Option<Vec<M>>>,
    /// Row by path (paths share long prefixes: hashing beats a binary search's compares),
    /// built on first use (a re-scan that checks its recorded walk never looks a path up).
    index: OnceLock<HashMap<&'a str, usize>>,
    pub result: &'a [u8],
    /// Entries modified at or after this are checked by content, not stat.
    trusted_before_ns: u64,
}

impl<'a, M: DeserializeOwned + Copy> View<'a, M> {
    fn source(&self, k: usize) -> Source {
        match self.src.get(k) {
            None => Source::Base(k),
            Some(&s) if s & IN_DELTA != 0 => Source::Delta((s & !IN_DELTA) as usize),
            Some(&s) => Source::Base(s as usize),
        }
    }

    /// How many rows.
    pub(crate) fn len(&self) -> usize {
        self.paths.len()
    }

    /// Every row's path, in row order.
    pub(crate) fn paths(&self) -> &[&'a str] {
        &self.paths
    }

    /// Row `k`'s path.
    pub(crate) fn path(&self, k: usize) -> &'a str {
        self.paths[k]
    }

    fn rows_of(&self, k: usize) -> (&Rows<'a>, usize) {
        match (self.source(k), &self.delta) {
            (Source::Delta(j), Some(d)) => (d, j),
            (Source::Base(i), _) | (Source::Delta(i), None) => (&self.base, i),
        }
    }

    /// Row `k`'s stat when it was cached.
    pub(crate) fn stat(&self, k: usize) -> Stat {
        let (rows, i) = self.rows_of(k);
        rows.stat(i)
    }

    /// Row `k`'s content hash.
    pub(crate) fn hash(&self, k: usize) -> u128 {
        let (rows, i) = self.rows_of(k);
        rows.hash(i)
    }

    /// Every row's summary, decoded on first use; `None` if a section can no longer be
    /// read (the caller then scans as without a cache).
    pub(crate) fn metas(&self) -> Option<&[M]> {
        let Some(delta) = &self.delta else {
            return self.base_metas();
        };
        self.metas
            .get_or_init(|| {
                let base = self.base_metas()?;
                let own: Vec<M> = delta.metas()?;
                (0..self.len())
                    .map(|k| match self.source(k) {
                        Source::Base(i) => base.get(i).copied(),
                        Source::Delta(j) => own.get(j).copied(),
                    })
                    .collect()
            })
            .as_deref()
    }

    fn base_metas(&self) -> Option<&[M]> {
        self.base_metas.get_or_init(|| self.base.metas()).as_deref()
    }

    /// Row `k`'s extract (the extracts section is read on first use); `None` if it can no
    /// longer be read.
    pub(crate) fn extract(&self, k: usize) -> Option<&'a [u8]> {
        match (self.source(k), &self.delta) {
            (Source::Delta(j), Some(d)) => match d.base_row(j) {
                Some(b) => self.base.own_extract(b),
                None => d.own_extract(j),
            },
            (Source::Base(i), _) | (Source::Delta(i), None) => self.base.own_extract(i),
        }
    }

    /// The row of `rel`.
    pub(crate) fn find(&self, rel: &str) -> Option<usize> {
        self.index
            .get_or_init(|| {
                self.paths
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (*p, i))
                    .collect()
            })
            .get(rel)
            .copied()
    }

    /// Whether row `k` stands for a file with this stat (unchanged since it was cached).
    pub(crate) fn fresh(&self, k: usize, stat: &Stat) -> bool {
        k < self.len() && self.stat(k) == *stat && self.trusted(stat)
    }

    /// Whether a file with this stat was last modified well before the cache was written,
    /// so an unchanged stat means unchanged content.
    pub(crate) fn trusted(&self, stat: &Stat) -> bool {
        stat.mtime_ns < self.trusted_before_ns
    }

    /// Whether the cache has a delta over its base (for tests).
    #[cfg(test)]
    pub(crate) fn has_delta(&self) -> bool {
        self.delta.is_some()
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

/// Opens the cache file at `path` (and its delta, if a whole one applies to it) and checks
/// their headers and every section's checksum; [`view`] decodes them. `Err` says why the
/// cache cannot be used.
pub(crate) fn load(path: &Path) -> Result<Cache, CacheStatus> {
    if path.parent().is_some_and(is_symlink) {
        return Err(CacheStatus::Ignored(
            "the cache directory is a symbolic link".into(),
        ));
    }
    let base = Part::open(path, MAGIC)?;
    // A delta that is torn, corrupt or for another base is ignored: the base alone is the
    // older, whole state it was written over.
    let delta = Part::open(&delta_path(path), DELTA_MAGIC).ok().filter(|d| {
        postcard::from_bytes::<Head<'_>>(d.eager_section(HEAD)).is_ok_and(|h| h.base == base.id)
    });
    Ok(Cache { base, delta })
}

/// The sections' offsets, lengths and checksums from a header, checked against the file's
/// size.
fn check_header(
    header: &[u8; HEADER],
    magic: &[u8; 8],
    size: u64,
) -> Result<[(u64, u64, u64); SECTIONS], CacheStatus> {
    let ignored = |why: &str| CacheStatus::Ignored(why.to_string());
    if &header[..8] != magic {
        return Err(ignored("not a kodo scan cache"));
    }
    let format = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if format != FORMAT {
        return Err(CacheStatus::Ignored(format!(
            "cache format {format}, this kodo writes {FORMAT}"
        )));
    }
    if xxhash_rust::xxh3::xxh3_64(&header[..HEADER - 8]) != u64_at(header, HEADER - 8) {
        return Err(ignored("corrupt (checksum mismatch)"));
    }
    let count = u32::from_le_bytes([header[12], header[13], header[14], header[15]]);
    if count as usize != SECTIONS {
        return Err(ignored("corrupt (sections)"));
    }
    let mut sections = [(0u64, 0u64, 0u64); SECTIONS];
    let mut off = HEADER as u64;
    for (s, section) in sections.iter_mut().enumerate() {
        let len = u64_at(header, 16 + s * 16);
        let sum = u64_at(header, 24 + s * 16);
        *section = (off, len, sum);
        off = off
            .checked_add(len)
            .ok_or_else(|| ignored("corrupt (size)"))?;
    }
    if off != size {
        return Err(ignored("corrupt (truncated)"));
    }
    Ok(sections)
}

/// Decodes what [`load`] opened, borrowing from it.
pub(crate) fn view<'a, M: DeserializeOwned + Copy>(
    cache: &'a Cache,
    settings: u64,
) -> Result<View<'a, M>, CacheStatus> {
    let base = Rows::decode(&cache.base)?;
    let usable = |head: &Head<'_>| -> Result<(), CacheStatus> {
        if head.kodo_scan != env!("CARGO_PKG_VERSION") {
            return Err(CacheStatus::Ignored(format!(
                "written by kodo-scan {}, this is {}",
                head.kodo_scan,
                env!("CARGO_PKG_VERSION")
            )));
        }
        if head.settings != settings {
            return Err(CacheStatus::Ignored(
                "written with other scan settings".into(),
            ));
        }
        Ok(())
    };
    usable(&base.head)?;
    if base.head.base != 0 || !base.removed.is_empty() {
        return Err(CacheStatus::Ignored("corrupt (base)".into()));
    }
    let delta = cache
        .delta
        .as_ref()
        .and_then(|d| Rows::decode(d).ok())
        .filter(|d| usable(&d.head).is_ok())
        .filter(|d| {
            (0..d.paths.len()).all(|j| {
                d.base_row(j)
                    .is_none_or(|b| base.paths.get(b) == Some(&d.paths[j]))
            })
        });
    let (paths, src, result, started) = match &delta {
        None => (
            base.paths.clone(),
            Vec::new(),
            cache.base.eager_section(RESULT),
            base.head.started_ns,
        ),
        Some(d) => {
            // The base's rows but the removed ones and those the delta has, and the delta's.
            let mut paths = Vec::with_capacity(base.paths.len() + d.paths.len());
            let mut src = Vec::with_capacity(base.paths.len() + d.paths.len());
            let (mut j, mut r) = (0, 0);
            for (i, &p) in base.paths.iter().enumerate() {
                while j < d.paths.len() && d.paths[j] < p {
                    paths.push(d.paths[j]);
                    src.push(j as u32 | IN_DELTA);
                    j += 1;
                }
                while r < d.removed.len() && d.removed[r] < p {
                    r += 1;
                }
                if j < d.paths.len() && d.paths[j] == p {
                    paths.push(p);
                    src.push(j as u32 | IN_DELTA);
                    j += 1;
                } else if r < d.removed.len() && d.removed[r] == p {
                    r += 1;
                } else {
                    paths.push(p);
                    src.push(i as u32);
                }
            }
            for (k, &p) in d.paths.iter().enumerate().skip(j) {
                paths.push(p);
                src.push(k as u32 | IN_DELTA);
            }
            (paths, src, d.part.eager_section(RESULT), d.head.started_ns)
        }
    };
    if paths.len() >= IN_DELTA as usize {
        return Err(CacheStatus::Ignored("too many rows".into()));
    }
    Ok(View {
        base,
        delta,
        paths,
        src,
        metas: OnceLock::new(),
        base_metas: OnceLock::new(),
        index: OnceLock::new(),
        result,
        trusted_before_ns: started.saturating_sub(RACY_SLACK.as_nanos() as u64),
    })
}

/// Now, in nanoseconds since the Unix epoch (what [`save`] records as the scan's start).
pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// What [`save`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// A new base (any delta removed).
    Base,
    /// A delta over the base the scan read.
    Delta,
}

/// Writes the cache atomically (see the module invariants). `rows` must be sorted by path,
/// each path once; `prev` is the cache the scan read (whose rows `Extract::Cached` names).
/// When few rows differ from `prev`'s base, only a delta over that base is written.
pub(crate) fn save<M: Serialize + DeserializeOwned + Copy + PartialEq>(
    path: &Path,
    settings: u64,
    started_ns: u64,
    rows: &[Row<'_, M>],
    result: &[u8],
    prev: Option<&View<'_, M>>,
) -> std::io::Result<Written> {
    save_as(
        env!("CARGO_PKG_VERSION"),
        path,
        settings,
        started_ns,
        rows,
        result,
        prev,
    )
}

/// What a delta row's extract is.
enum DeltaExtract<'a> {
    Own(&'a [u8]),
    Base(usize),
}

fn changed_error() -> std::io::Error {
    std::io::Error::other("the cache changed while this scan read it")
}

fn save_as<M: Serialize + DeserializeOwned + Copy + PartialEq>(
    kodo_scan: &str,
    path: &Path,
    settings: u64,
    started_ns: u64,
    rows: &[Row<'_, M>],
    result: &[u8],
    prev: Option<&View<'_, M>>,
) -> std::io::Result<Written> {
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
    if let Some(v) = prev {
        let delta = match kodo_scan == v.base.head.kodo_scan {
            true => delta_rows(rows, v)?,
            false => None,
        };
        if let Some(delta) = delta {
            let (changed, removed) = delta;
            let mut stats = Vec::with_capacity(changed.len() * STAT_ROW);
            let mut own: Vec<&[u8]> = Vec::new();
            let mut end = 0u64;
            for (r, e) in &changed {
                let base_row = match e {
                    DeltaExtract::Own(bytes) => {
                        end += bytes.len() as u64;
                        own.push(bytes);
                        OWN
                    }
                    DeltaExtract::Base(b) => *b as u64,
                };
                push_stat(&mut stats, r, end, base_row);
            }
            let paths: Vec<&str> = changed.iter().map(|(r, _)| r.path).collect();
            let metas: Vec<&M> = changed.iter().map(|(r, _)| &r.meta).collect();
            let head = Head {
                kodo_scan,
                settings,
                started_ns,
                rows: changed.len() as u64,
                base: v.base.part.id,
            };
            write_part(
                &delta_path(path),
                DELTA_MAGIC,
                &head,
                &paths,
                &stats,
                result,
                &removed,
                &metas,
                &own,
            )?;
            return Ok(Written::Delta);
        }
    }
    let mut stats = Vec::with_capacity(rows.len() * STAT_ROW);
    let mut extracts: Vec<&[u8]> = Vec::with_capacity(rows.len());
    let mut end = 0u64;
    for r in rows {
        let bytes = match r.extract {
            Extract::Bytes(b) => b,
            Extract::Cached(k) => prev.and_then(|v| v.extract(k)).ok_or_else(changed_error)?,
        };
        end += bytes.len() as u64;
        extracts.push(bytes);
        push_stat(&mut stats, r, end, OWN);
    }
    let paths: Vec<&str> = rows.iter().map(|r| r.path).collect();
    let metas: Vec<&M> = rows.iter().map(|r| &r.meta).collect();
    let head = Head {
        kodo_scan,
        settings,
        started_ns,
        rows: rows.len() as u64,
        base: 0,
    };
    write_part(
        path,
        MAGIC,
        &head,
        &paths,
        &stats,
        result,
        &[],
        &metas,
        &extracts,
    )?;
    // The new base replaces whatever delta there was (a delta written meanwhile by another
    // scan over this base is lost, which costs only its work: it is whole or absent).
    match fs::remove_file(delta_path(path)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    Ok(Written::Base)
}

/// The rows that differ from `v`'s base (with where their extract is) and the base's paths
/// that are gone, if they are few enough for a delta; `None`: write a new base.
#[allow(clippy::type_complexity)]
fn delta_rows<'r, 'a, M: DeserializeOwned + Copy + PartialEq>(
    rows: &'r [Row<'r, M>],
    v: &View<'a, M>,
) -> std::io::Result<Option<(Vec<(&'r Row<'r, M>, DeltaExtract<'r>)>, Vec<&'a str>)>>
where
    'a: 'r,
{
    let base = &v.base;
    let n = base.paths.len();
    let limit = (n / 8).max(64);
    let Some(base_metas) = v.base_metas() else {
        return Ok(None);
    };
    let mut changed = Vec::new();
    let mut removed: Vec<&'a str> = Vec::new();
    let mut b = 0;
    for r in rows {
        while b < n && base.paths[b] < r.path {
            removed.push(base.paths[b]);
            b += 1;
        }
        let in_base = (b < n && base.paths[b] == r.path).then(|| {
            b += 1;
            b - 1
        });
        let extract = match r.extract {
            Extract::Bytes(bytes) => DeltaExtract::Own(bytes),
            Extract::Cached(k) => match (v.source(k), &v.delta) {
                (Source::Delta(j), Some(d)) => match d.base_row(j) {
                    Some(i) => DeltaExtract::Base(i),
                    None => DeltaExtract::Own(d.own_extract(j).ok_or_else(changed_error)?),
                },
                (Source::Base(i), _) | (Source::Delta(i), None) => DeltaExtract::Base(i),
            },
        };
        let same = in_base.is_some_and(|i| {
            matches!(extract, DeltaExtract::Base(e) if e == i)
                && base.stat(i) == r.stat
                && base.hash(i) == r.hash
                && base_metas.get(i) == Some(&r.meta)
        });
        if !same {
            changed.push((r, extract));
        }
        if changed.len() + removed.len() > limit {
            return Ok(None);
        }
    }
    removed.extend(&base.paths[b..]);
    Ok((changed.len() + removed.len() <= limit).then_some((changed, removed)))
}

fn push_stat<M>(stats: &mut Vec<u8>, r: &Row<'_, M>, end: u64, base_row: u64) {
    for x in [r.stat.size, r.stat.mtime_ns, r.stat.inode] {
        stats.extend_from_slice(&x.to_le_bytes());
    }
    stats.extend_from_slice(&r.hash.to_le_bytes());
    stats.extend_from_slice(&end.to_le_bytes());
    stats.extend_from_slice(&base_row.to_le_bytes());
}

/// Writes one cache file atomically: a temporary file in its directory, renamed over it.
#[allow(clippy::too_many_arguments)]
fn write_part<M: Serialize>(
    path: &Path,
    magic: &[u8; 8],
    head: &Head<'_>,
    paths: &[&str],
    stats: &[u8],
    result: &[u8],
    removed: &[&str],
    metas: &[&M],
    extracts: &[&[u8]],
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("the cache path has no directory"))?;
    let encode = |e: postcard::Error| std::io::Error::other(e);
    let head = postcard::to_allocvec(head).map_err(encode)?;
    let paths = postcard::to_allocvec(paths).map_err(encode)?;
    let removed = postcard::to_allocvec(removed).map_err(encode)?;
    let metas = postcard::to_allocvec(metas).map_err(encode)?;
    let mut extracts_sum = xxhash_rust::xxh3::Xxh3::new();
    let mut extracts_len = 0u64;
    for e in extracts {
        extracts_sum.update(e);
        extracts_len += e.len() as u64;
    }
    let sum = xxhash_rust::xxh3::xxh3_64;
    let sections: [(u64, u64); SECTIONS] = [
        (head.len() as u64, sum(&head)),
        (paths.len() as u64, sum(&paths)),
        (stats.len() as u64, sum(stats)),
        (result.len() as u64, sum(result)),
        (removed.len() as u64, sum(&removed)),
        (metas.len() as u64, sum(&metas)),
        (extracts_len, extracts_sum.digest()),
    ];
    let mut header = Vec::with_capacity(HEADER);
    header.extend_from_slice(magic);
    header.extend_from_slice(&FORMAT.to_le_bytes());
    header.extend_from_slice(&(SECTIONS as u32).to_le_bytes());
    for (len, sum) in sections {
        header.extend_from_slice(&len.to_le_bytes());
        header.extend_from_slice(&sum.to_le_bytes());
    }
    let id = sum(&header);
    header.extend_from_slice(&id.to_le_bytes());
    let tmp = tempfile::Builder::new()
        .prefix(".scan-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    let mut out = BufWriter::with_capacity(256 * 1024, tmp);
    for part in [&header[..], &head, &paths, stats, result, &removed, &metas] {
        out.write_all(part)?;
    }
    for e in extracts {
        out.write_all(e)?;
    }
    let tmp = out.into_inner().map_err(|e| e.into_error())?;
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
            hash: n as u128 | (7u128 << 100),
            meta: n as u32,
            extract: Extract::Bytes(extract),
        }
    }

    /// Row `k` of `v` as a row to save again unchanged.
    fn again<'a>(v: &View<'a, u32>, k: usize) -> Row<'a, u32> {
        Row {
            path: v.path(k),
            stat: v.stat(k),
            hash: v.hash(k),
            meta: v.metas().unwrap()[k],
            extract: Extract::Cached(k),
        }
    }

    /// Every row of a view: path, stat, hash, meta, extract.
    fn contents(v: &View<'_, u32>) -> Vec<(String, Stat, u128, u32, Vec<u8>)> {
        (0..v.len())
            .map(|k| {
                (
                    v.path(k).to_string(),
                    v.stat(k),
                    v.hash(k),
                    v.metas().unwrap()[k],
                    v.extract(k).unwrap().to_vec(),
                )
            })
            .collect()
    }

    #[test]
    fn round_trip_and_rejections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache/scan.bin");
        let (a, b) = (row("a.ts", 1, b"x1"), row("b.ts", 2, b"x22"));
        assert_eq!(
            save(&path, 7, 10_000_000_000, &[a, b], b"result", None).unwrap(),
            Written::Base
        );
        assert!(dir.path().join("cache/.gitignore").is_file());
        let cache = load(&path).unwrap();
        let loaded: View<'_, u32> = view(&cache, 7).unwrap();
        let i = loaded.find("b.ts").unwrap();
        assert_eq!(
            (loaded.extract(i), loaded.metas().map(|m| m[i])),
            (Some(&b"x22"[..]), Some(2))
        );
        assert_eq!(loaded.extract(0), Some(&b"x1"[..]));
        assert_eq!((loaded.hash(i), loaded.stat(i)), (b.hash, b.stat));
        assert_eq!(loaded.result, b"result");
        assert!(loaded.find("c.ts").is_none());
        let a_row = loaded.find("a.ts").unwrap();
        assert!(loaded.fresh(a_row, &a.stat));
        let mut touched = a.stat;
        touched.mtime_ns = 2;
        assert!(!loaded.fresh(a_row, &touched));

        assert_eq!(
            view::<u32>(&cache, 8).err(),
            Some(CacheStatus::Ignored(
                "written with other scan settings".into()
            ))
        );
        // A flipped byte in any section, the header or the extracts, is found on open.
        let good = fs::read(&path).unwrap();
        for at in [0, 9, 20, HEADER + 1, good.len() / 2, good.len() - 1] {
            let mut bytes = good.clone();
            bytes[at] ^= 0xff;
            fs::write(&path, &bytes).unwrap();
            assert!(
                matches!(load(&path), Err(CacheStatus::Ignored(_))),
                "byte {at}"
            );
        }
        fs::write(&path, &good[..good.len() - 1]).unwrap();
        assert!(matches!(
            load(&path),
            Err(CacheStatus::Ignored(why)) if why.contains("truncated")
        ));
        assert_eq!(
            load(&dir.path().join("none.bin")).err(),
            Some(CacheStatus::Missing)
        );
        // Rows out of order are never written.
        assert!(save(&path, 7, 0, &[b, a], b"", None).is_err());
    }

    #[test]
    fn a_few_changed_rows_are_a_delta_over_the_base() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.bin");
        let names: Vec<String> = (0..100).map(|i| format!("f{i:03}.ts")).collect();
        let extracts: Vec<Vec<u8>> = (0..100).map(|i| format!("x{i}").into_bytes()).collect();
        let rows: Vec<Row<'_, u32>> = (0..100)
            .map(|i| row(&names[i], i as u64 + 1, &extracts[i]))
            .collect();
        save(&path, 0, 10, &rows, b"one", None).unwrap();
        let base_bytes = fs::read(&path).unwrap();

        // f005 edited, f006 touched (same content: its extract stays the base's), f007
        // deleted, f050a new.
        let cache = load(&path).unwrap();
        let v: View<'_, u32> = view(&cache, 0).unwrap();
        let mut next: Vec<Row<'_, u32>> =
            (0..100).filter(|&k| k != 7).map(|k| again(&v, k)).collect();
        next[5] = row("f005.ts", 500, b"edited");
        next[6].stat.mtime_ns = 99;
        let added = row("f050a.ts", 777, b"new");
        next.insert(50, added);
        assert_eq!(
            save(&path, 0, 20, &next, b"two", Some(&v)).unwrap(),
            Written::Delta
        );
        // The base is untouched; the delta holds what changed.
        assert_eq!(fs::read(&path).unwrap(), base_bytes);
        let cache = load(&path).unwrap();
        let w: View<'_, u32> = view(&cache, 0).unwrap();
        assert!(w.has_delta());
        assert_eq!(w.result, b"two");
        let expect = |rows: &[Row<'_, u32>]| -> Vec<(String, Stat, u128, u32, Vec<u8>)> {
            rows.iter()
                .map(|r| {
                    let bytes = match r.extract {
                        Extract::Bytes(b) => b.to_vec(),
                        Extract::Cached(k) => v.extract(k).unwrap().to_vec(),
                    };
                    (r.path.to_string(), r.stat, r.hash, r.meta, bytes)
                })
                .collect()
        };
        assert_eq!(contents(&w), expect(&next));
        assert!(w.find("f007.ts").is_none() && w.find("f050a.ts").is_some());

        // Another delta over the same base, from the merged view: still whole.
        let mut third: Vec<Row<'_, u32>> = (0..w.len()).map(|k| again(&w, k)).collect();
        third[0] = row("f000.ts", 1000, b"zero");
        assert_eq!(
            save(&path, 0, 30, &third, b"three", Some(&w)).unwrap(),
            Written::Delta
        );
        let cache3 = load(&path).unwrap();
        let x: View<'_, u32> = view(&cache3, 0).unwrap();
        assert_eq!(x.result, b"three");
        let expect3: Vec<_> = {
            let mut e = expect(&next);
            e[0] = (
                "f000.ts".into(),
                third[0].stat,
                third[0].hash,
                1000,
                b"zero".to_vec(),
            );
            e
        };
        assert_eq!(contents(&x), expect3);

        // Many changes: a new base, and the delta is gone.
        let many: Vec<Row<'_, u32>> = (0..x.len())
            .map(|k| {
                let mut r = again(&x, k);
                r.meta += 1;
                r
            })
            .collect();
        assert_eq!(
            save(&path, 0, 40, &many, b"four", Some(&x)).unwrap(),
            Written::Base
        );
        assert!(!delta_path(&path).exists());
        let cache4 = load(&path).unwrap();
        let y: View<'_, u32> = view(&cache4, 0).unwrap();
        assert!(!y.has_delta());
        assert_eq!(y.result, b"four");
        assert_eq!(y.metas().unwrap()[0], 1001);
        assert_eq!(y.extract(0), Some(&b"zero"[..]));
    }

    #[test]
    fn a_corrupt_or_foreign_delta_is_ignored_and_the_base_stands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.bin");
        let rows = [row("a.ts", 1, b"a"), row("b.ts", 2, b"b")];
        save(&path, 0, 10, &rows, b"base", None).unwrap();
        let cache = load(&path).unwrap();
        let v: View<'_, u32> = view(&cache, 0).unwrap();
        let next = [again(&v, 0), row("b.ts", 3, b"b2")];
        save(&path, 0, 20, &next, b"delta", Some(&v)).unwrap();
        let delta = fs::read(delta_path(&path)).unwrap();
        assert_eq!(
            view::<u32>(&load(&path).unwrap(), 0).unwrap().result,
            b"delta"
        );

        // A flipped byte anywhere in the delta, or a torn one: the base alone.
        for at in [0, 20, HEADER + 2, delta.len() / 2, delta.len() - 1] {
            let mut bytes = delta.clone();
            bytes[at] ^= 0x5a;
            fs::write(delta_path(&path), &bytes).unwrap();
            let cache = load(&path).unwrap();
            let w: View<'_, u32> = view(&cache, 0).unwrap();
            assert!(!w.has_delta(), "byte {at}");
            assert_eq!((w.result, w.hash(1)), (&b"base"[..], rows[1].hash));
        }
        fs::write(delta_path(&path), &delta[..delta.len() - 3]).unwrap();
        assert!(!view::<u32>(&load(&path).unwrap(), 0).unwrap().has_delta());

        // A whole delta over another base (a new base was written meanwhile).
        fs::write(delta_path(&path), &delta).unwrap();
        assert!(view::<u32>(&load(&path).unwrap(), 0).unwrap().has_delta());
        save(&path, 0, 30, &rows, b"new base", None).unwrap();
        assert!(!delta_path(&path).exists());
        fs::write(delta_path(&path), &delta).unwrap();
        let cache = load(&path).unwrap();
        let w: View<'_, u32> = view(&cache, 0).unwrap();
        assert!(!w.has_delta());
        assert_eq!(w.result, b"new base");

        // Viewed with other settings, neither is used.
        let cache = load(&path).unwrap();
        let v: View<'_, u32> = view(&cache, 0).unwrap();
        save(&path, 0, 40, &next, b"delta", Some(&v)).unwrap();
        let cache = load(&path).unwrap();
        assert!(view::<u32>(&cache, 0).unwrap().has_delta());
        assert!(view::<u32>(&cache, 1).is_err());
    }

    #[test]
    fn a_section_read_later_is_checked_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.bin");
        save(&path, 0, 10, &[row("a.ts", 1, b"extract")], b"r", None).unwrap();
        let cache = load(&path).unwrap();
        let loaded: View<'_, u32> = view(&cache, 0).unwrap();
        // Overwritten in place after it was opened (the cache itself only ever renames a
        // new file over it): the extracts no longer match their checksum, so none is used.
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&bytes))
            .unwrap();
        assert_eq!(loaded.extract(0), None);
    }

    #[test]
    fn a_cache_from_another_kodo_version_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.bin");
        save_as("0.0.1-old", &path, 0, 10, &[row("a.ts", 1, b"")], b"", None).unwrap();
        let cache = load(&path).unwrap();
        assert_eq!(
            view::<u32>(&cache, 0).err(),
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
        save(&path, 0, started, &[r], b"", None).unwrap();
        let cache = load(&path).unwrap();
        let loaded: View<'_, u32> = view(&cache, 0).unwrap();
        assert!(!loaded.fresh(0, &r.stat));
    }
}
