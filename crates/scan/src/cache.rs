//! The persistent scan cache: one file in a cache directory (kodo uses `.kodo/cache/`) that
//! remembers, per source file, its size, modification time, inode and content hash, and
//! what the scanner's per-file pass extracted from it, plus the scan's final result, so a
//! re-scan of an unchanged tree reads no source file and redoes no cross-file work.
//!
//! The cache is generic over what the scanner stores: per file a small fixed summary
//! (`M`) and an opaque extract (bytes), and one opaque result.
//!
//! File layout (since format 8): a fixed header, then seven sections, each checksummed on its
//! own (xxh3-64), in this order:
//!
//! | section  | content                                                                |
//! |----------|------------------------------------------------------------------------|
//! | extracts | the rows' extracts, in the order the scan produced them (rows may share one) |
//! | head     | postcard: kodo-scan version, settings fingerprint, scan start, rows, base id |
//! | paths    | postcard: the rows' paths, sorted                                      |
//! | stats    | 64 bytes per row, little endian: size, mtime, inode, content hash (128 bits), its extract's offset (u64), length (u32) and checksum (u64), base row (u32) |
//! | result   | the scan's result (opaque bytes)                                       |
//! | removed  | postcard: paths of the base that are gone (a delta's; empty in a base) |
//! | metas    | every row's summary `M`, [`Summary::WIDTH`] bytes each                 |
//!
//! The header is a magic (`KODOSCAN` for the base file, `KODODLTA` for its delta), the
//! format (u32), the number of sections (u32), each section's length and checksum (u64
//! each), and a checksum of all that (u64), which is also the file's identity. The layout
//! lets a re-scan use only what it needs: the five sections after the extracts are read
//! (about a fifth of the file) and decoded without a per-row allocation but the path
//! table; the base's extracts and summaries are not read on open (a delta's are checked
//! whole then: it is small) but only when a re-scan needs them, from the same open file (a
//! file the cache replaces by renaming, so it never changes under a reader), and checked
//! as they are read: a summary or an extract by its row (fixed width, or offset and
//! length, each extract with its own checksum), or a whole section (against the section's
//! checksum) when most rows are needed. One that does not check out is not used: a summary
//! makes the scan start again without the cache, an extract is made again from its file
//! (and a new base stores it empty, which does not decode).
//!
//! The extracts come first so that a scan can stream them into the file it is writing as
//! its workers produce them ([`Writer`]) instead of holding them all until the end: the
//! first scan's memory grows with what the cross-file stage keeps, not with the files.
//! An extract the scan changes later is appended again (the first copy stays, unused).
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

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 8] = b"KODOSCAN";
const DELTA_MAGIC: &[u8; 8] = b"KODODLTA";
/// Bump when the layout or the meaning of an extract changes.
pub(crate) const FORMAT: u32 = 23;
/// The sections, in file order.
const EXTRACTS: usize = 0;
const HEAD: usize = 1;
const PATHS: usize = 2;
const STATS: usize = 3;
const RESULT: usize = 4;
const REMOVED: usize = 5;
const METAS: usize = 6;
const SECTIONS: usize = 7;
/// The sections read on open, contiguous in the file (the others are read, and checked,
/// when needed).
const EAGER: std::ops::Range<usize> = HEAD..METAS;
const HEADER: usize = 8 + 4 + 4 + SECTIONS * 16 + 8;
/// Bytes per row in the stats section.
const STAT_ROW: usize = 64;
/// Files modified less than this before a scan started are re-checked by content next time.
const RACY_SLACK: Duration = Duration::from_secs(2);
/// A temporary cache file this old is left over from a scan that was killed mid-write.
const STALE_TMP: Duration = Duration::from_secs(3600);
/// The writer's buffer: extracts are written to the file in chunks of about this size.
const CHUNK: usize = 256 * 1024;

/// A row's fixed-width summary (what every re-scan that changes something needs of each
/// file, read per row without decoding the others).
pub(crate) trait Summary: Copy + PartialEq {
    /// Bytes per row.
    const WIDTH: usize;
    /// Appends exactly [`Summary::WIDTH`] bytes.
    fn put(&self, out: &mut Vec<u8>);
    /// Reads what [`Summary::put`] wrote (`bytes` is [`Summary::WIDTH`] long); `None` if
    /// it is not a valid summary.
    fn get(bytes: &[u8]) -> Option<Self>;
}

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

/// Where an extract is in a [`Writer`]'s extracts section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Loc {
    off: u64,
    len: u32,
    sum: u64,
}

/// Where a row's extract comes from when [`save`] writes it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Extract<'a> {
    /// These bytes.
    Bytes(&'a [u8]),
    /// Row `k`'s extract in the cache the scan read (the same file, unchanged).
    Cached(usize),
    /// Streamed into the [`Writer`] passed to [`save`].
    Written(Loc),
}

/// One file's row as [`save`] writes it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row<'a, M> {
    pub path: &'a str,
    pub stat: Stat,
    pub hash: u128,
    /// What every re-scan that changes something needs of the file (borrowed: a scan's
    /// rows are many).
    pub meta: &'a M,
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

/// One file of the cache (the base or its delta), opened and checked: its eager sections
/// in memory, the others read from the open file on use.
struct Part {
    file: File,
    /// The header's checksum, which covers every section's checksum: the file's identity.
    id: u64,
    /// Each section's offset in the file, length and checksum.
    sections: [(u64, u64, u64); SECTIONS],
    /// The [`EAGER`] sections, as read.
    eager: Vec<u8>,
    /// The extracts and the summaries, when read whole.
    extracts: OnceLock<Option<Vec<u8>>>,
    metas: OnceLock<Option<Vec<u8>>>,
}

impl Part {
    /// Opens the file at `path` and checks its header and its eager sections' checksums;
    /// `whole`: the other sections' too (read in chunks, not kept). Unchecked, those are
    /// checked when they are read: the summaries and a whole extracts section against
    /// their section's checksum, a single extract against its row's.
    fn open(path: &Path, magic: &[u8; 8], whole: bool) -> Result<Part, CacheStatus> {
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
        let eager_len: u64 = sections[EAGER].iter().map(|s| s.1).sum();
        let mut eager = vec![0; usize::try_from(eager_len).map_err(|_| ignored("corrupt (size)"))?];
        read_at(&file, &mut eager, sections[EAGER.start].0).map_err(unreadable)?;
        let mut at = 0usize;
        for (_, len, sum) in &sections[EAGER] {
            let part = &eager[at..at + *len as usize];
            if xxhash_rust::xxh3::xxh3_64(part) != *sum {
                return Err(ignored("corrupt (checksum mismatch)"));
            }
            at += *len as usize;
        }
        // The other sections, if asked, are checked now but not kept: a re-scan of an
        // unchanged tree never needs them.
        let mut chunk = vec![0u8; if whole { CHUNK } else { 0 }];
        for s in [EXTRACTS, METAS].into_iter().filter(|_| whole) {
            let (mut off, len, sum) = sections[s];
            let mut hasher = xxhash_rust::xxh3::Xxh3::new();
            let mut left = len;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                read_at(&file, &mut chunk[..n], off).map_err(unreadable)?;
                hasher.update(&chunk[..n]);
                left -= n as u64;
                off += n as u64;
            }
            if hasher.digest() != sum {
                return Err(ignored("corrupt (checksum mismatch)"));
            }
        }
        Ok(Part {
            file,
            id: u64_at(&header, HEADER - 8),
            sections,
            eager,
            extracts: OnceLock::new(),
            metas: OnceLock::new(),
        })
    }

    /// The bytes of an eager section.
    fn eager_section(&self, s: usize) -> &[u8] {
        let first = self.sections[EAGER.start].0;
        let (off, len, _) = self.sections[s];
        let start = (off - first) as usize;
        &self.eager[start..start + len as usize]
    }

    /// The whole extracts or summaries section, read (and checked again) on first use;
    /// `None` if it can no longer be read or no longer matches its checksum.
    fn lazy_section(&self, s: usize) -> Option<&[u8]> {
        let cell = if s == EXTRACTS {
            &self.extracts
        } else {
            &self.metas
        };
        cell.get_or_init(|| {
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

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
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
        // Every own extract lies within the extracts section.
        let section = part.sections[EXTRACTS].1;
        for i in 0..n {
            let loc = rows.loc(i);
            if rows.base_row(i).is_none() && loc.off + u64::from(loc.len) > section {
                return Err(bad("extract offsets"));
            }
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

    /// Where row `i`'s own extract is in the extracts section.
    fn loc(&self, i: usize) -> Loc {
        let at = i * STAT_ROW + 40;
        Loc {
            off: u64_at(self.stats, at),
            len: u32_at(self.stats, at + 8),
            sum: u64_at(self.stats, at + 12),
        }
    }

    /// For a delta's row whose extract is the base's (unchanged), that base row.
    fn base_row(&self, i: usize) -> Option<usize> {
        match u32_at(self.stats, i * STAT_ROW + 60) {
            OWN => None,
            b => usize::try_from(b).ok(),
        }
    }

    /// Row `i`'s own extract: from the whole section if it was read (and matched its
    /// checksum), else read on its own and checked against the row's checksum.
    fn own_extract(&self, i: usize) -> Option<Cow<'a, [u8]>> {
        let loc = self.loc(i);
        let (start, end) = (usize::try_from(loc.off).ok()?, loc.len as usize);
        if let Some(Some(all)) = self.part.extracts.get() {
            return Some(Cow::Borrowed(all.get(start..start + end)?));
        }
        let mut buf = vec![0; end];
        read_at(
            &self.part.file,
            &mut buf,
            self.part.sections[EXTRACTS].0 + loc.off,
        )
        .ok()?;
        (xxhash_rust::xxh3::xxh3_64(&buf) == loc.sum).then_some(Cow::Owned(buf))
    }

    /// Row `i`'s summary (the summaries section is read whole on first use).
    fn meta<M: Summary>(&self, i: usize) -> Option<M> {
        let all = self.part.lazy_section(METAS)?;
        M::get(all.get(i * M::WIDTH..(i + 1) * M::WIDTH)?)
    }
}

/// In a stats row, an extract of the row's own (not the base's).
const OWN: u32 = u32::MAX;
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
    /// The rows' paths with the delta applied; `None` without a delta (the base's).
    merged: Option<Vec<&'a str>>,
    /// Each row's place in the base or (with [`IN_DELTA`]) the delta; empty without a
    /// delta (row `k` is the base's row `k`).
    src: Vec<u32>,
    /// Row by path (paths share long prefixes: hashing beats a binary search's compares),
    /// built on first use (a re-scan that checks its recorded walk never looks a path up).
    index: OnceLock<HashMap<&'a str, usize>>,
    pub result: &'a [u8],
    /// Entries modified at or after this are checked by content, not stat.
    trusted_before_ns: u64,
    summary: std::marker::PhantomData<M>,
}

impl<'a, M: Summary> View<'a, M> {
    fn source(&self, k: usize) -> Source {
        match self.src.get(k) {
            None => Source::Base(k),
            Some(&s) if s & IN_DELTA != 0 => Source::Delta((s & !IN_DELTA) as usize),
            Some(&s) => Source::Base(s as usize),
        }
    }

    /// How many rows.
    pub(crate) fn len(&self) -> usize {
        self.paths().len()
    }

    /// Every row's path, in row order.
    pub(crate) fn paths(&self) -> &[&'a str] {
        self.merged.as_deref().unwrap_or(&self.base.paths)
    }

    /// Row `k`'s path.
    pub(crate) fn path(&self, k: usize) -> &'a str {
        self.paths()[k]
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

    /// Row `k`'s summary (its part's summaries section is read on first use, not decoded);
    /// `None` if it can no longer be read (the caller then scans as without a cache).
    pub(crate) fn meta(&self, k: usize) -> Option<M> {
        let (rows, i) = self.rows_of(k);
        rows.meta(i)
    }

    /// Row `k`'s extract: read on its own (and checked), or taken from the whole section
    /// after [`View::read_extracts`]; `None` if it can no longer be read.
    pub(crate) fn extract(&self, k: usize) -> Option<Cow<'a, [u8]>> {
        match (self.source(k), &self.delta) {
            (Source::Delta(j), Some(d)) => match d.base_row(j) {
                Some(b) => self.base.own_extract(b),
                None => d.own_extract(j),
            },
            (Source::Base(i), _) | (Source::Delta(i), None) => self.base.own_extract(i),
        }
    }

    /// Reads the extracts sections whole (one read instead of one per row, for a caller
    /// about to read most rows); `false` if they can no longer be read.
    pub(crate) fn read_extracts(&self) -> bool {
        self.base.part.lazy_section(EXTRACTS).is_some()
            && self
                .delta
                .as_ref()
                .is_none_or(|d| d.part.lazy_section(EXTRACTS).is_some())
    }

    /// The row of `rel`.
    pub(crate) fn find(&self, rel: &str) -> Option<usize> {
        self.index
            .get_or_init(|| {
                self.paths()
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
    // The base's extracts and summaries (most of the file) are checked when they are read:
    // a re-scan of an unchanged tree reads neither, and one that finds them corrupt then
    // scans as without a cache.
    let base = Part::open(path, MAGIC, false)?;
    // A delta that is torn, corrupt or for another base is ignored: the base alone is the
    // older, whole state it was written over. So it is checked whole now (it is small).
    let delta = Part::open(&delta_path(path), DELTA_MAGIC, true)
        .ok()
        .filter(|d| {
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
pub(crate) fn view<'a, M: Summary>(
    cache: &'a Cache,
    settings: u64,
) -> Result<View<'a, M>, CacheStatus> {
    let base = Rows::decode(&cache.base)?;
    let usable = |rows: &Rows<'_>| -> Result<(), CacheStatus> {
        let head = &rows.head;
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
        if rows.part.sections[METAS].1 != (rows.paths.len() * M::WIDTH) as u64 {
            return Err(CacheStatus::Ignored("corrupt (summaries)".into()));
        }
        Ok(())
    };
    usable(&base)?;
    if base.head.base != 0 || !base.removed.is_empty() {
        return Err(CacheStatus::Ignored("corrupt (base)".into()));
    }
    let delta = cache
        .delta
        .as_ref()
        .and_then(|d| Rows::decode(d).ok())
        .filter(|d| usable(d).is_ok())
        .filter(|d| {
            (0..d.paths.len()).all(|j| {
                d.base_row(j)
                    .is_none_or(|b| base.paths.get(b) == Some(&d.paths[j]))
            })
        });
    let (merged, src, result, started) = match &delta {
        None => (
            None,
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
            (
                Some(paths),
                src,
                d.part.eager_section(RESULT),
                d.head.started_ns,
            )
        }
    };
    if merged.as_ref().map_or(base.paths.len(), Vec::len) >= IN_DELTA as usize {
        return Err(CacheStatus::Ignored("too many rows".into()));
    }
    Ok(View {
        base,
        delta,
        merged,
        src,
        index: OnceLock::new(),
        result,
        trusted_before_ns: started.saturating_sub(RACY_SLACK.as_nanos() as u64),
        summary: std::marker::PhantomData,
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

/// Where a [`Writer`]'s bytes go.
enum Sink {
    /// A temporary file in the cache directory: it becomes the cache file.
    Named(tempfile::NamedTempFile),
    /// An unnamed temporary file (a scan without a cache directory, or one whose cache
    /// directory cannot be written): only spares the scan's memory.
    Anonymous(File),
    /// No file could be created: the bytes stay in memory.
    Memory,
}

struct Out {
    sink: Sink,
    /// Bytes of the extracts section written to the file (after the header's place).
    flushed: u64,
    /// The section's bytes after `flushed`, not written yet (all of them for
    /// [`Sink::Memory`]).
    buf: Vec<u8>,
    /// The section's checksum so far.
    sum: xxhash_rust::xxh3::Xxh3,
    /// Small extracts already written, to share one copy (most files have the same empty
    /// extract).
    small: HashMap<Vec<u8>, Loc>,
    /// The first write error: the writer then holds nothing more and [`save`] fails.
    failed: Option<std::io::Error>,
}

impl Out {
    fn len(&self) -> u64 {
        self.flushed + self.buf.len() as u64
    }

    fn file(&self) -> Option<&File> {
        match &self.sink {
            Sink::Named(t) => Some(t.as_file()),
            Sink::Anonymous(f) => Some(f),
            Sink::Memory => None,
        }
    }

    /// Writes the buffer out (a no-op in memory).
    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let Some(mut file) = self.file() else {
            return Ok(());
        };
        file.write_all(&self.buf)?;
        self.flushed += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn push(&mut self, bytes: &[u8], sum: u64) -> Option<Loc> {
        if self.failed.is_some() {
            return None;
        }
        let len = u32::try_from(bytes.len()).ok()?;
        if bytes.len() <= 16 {
            if let Some(loc) = self.small.get(bytes) {
                return Some(*loc);
            }
        }
        let loc = Loc {
            off: self.len(),
            len,
            sum,
        };
        self.buf.extend_from_slice(bytes);
        self.sum.update(bytes);
        if bytes.len() <= 16 {
            self.small.insert(bytes.to_vec(), loc);
        }
        if self.buf.len() >= CHUNK && !matches!(self.sink, Sink::Memory) {
            if let Err(e) = self.flush() {
                self.failed = Some(e);
                return None;
            }
        }
        Some(loc)
    }

    fn read(&self, loc: Loc) -> Option<Vec<u8>> {
        let (off, len) = (loc.off, loc.len as usize);
        let bytes = if off >= self.flushed {
            let start = usize::try_from(off - self.flushed).ok()?;
            self.buf.get(start..start + len)?.to_vec()
        } else {
            let mut buf = vec![0; len];
            read_at(self.file()?, &mut buf, HEADER as u64 + off).ok()?;
            buf
        };
        (xxhash_rust::xxh3::xxh3_64(&bytes) == loc.sum).then_some(bytes)
    }
}

/// The extracts section of the cache file a scan is writing, streamed as the scan's
/// workers produce extracts (shared by them: `&Writer` is enough). With a cache directory
/// it is a temporary file there that [`save`] completes and renames into place; a scan
/// that ends without saving (an error, a panic) leaves nothing behind but, if it was
/// killed, that temporary file, which is never read and is removed by a later save.
/// Without one it is an unnamed temporary file. Created on first use.
pub(crate) struct Writer {
    dir: Option<PathBuf>,
    out: Mutex<Option<Out>>,
}

impl Writer {
    /// A writer for a cache in `dir` (`None`: no cache, the writer only spares memory).
    pub(crate) fn new(dir: Option<&Path>) -> Writer {
        Writer {
            dir: dir.map(Path::to_path_buf),
            out: Mutex::new(None),
        }
    }

    fn open(&self) -> Out {
        let named = self
            .dir
            .as_deref()
            .and_then(|dir| prepare_dir(dir).ok().map(|()| dir))
            .and_then(|dir| {
                let mut tmp = tempfile::Builder::new()
                    .prefix(".scan-")
                    .suffix(".tmp")
                    .tempfile_in(dir)
                    .ok()?;
                // The header's place: written last, so an unfinished file never checks out.
                tmp.as_file_mut().write_all(&[0u8; HEADER]).ok()?;
                Some(Sink::Named(tmp))
            });
        let sink = named.unwrap_or_else(|| {
            tempfile::tempfile()
                .and_then(|mut f| f.write_all(&[0u8; HEADER]).map(|()| f))
                .map_or(Sink::Memory, Sink::Anonymous)
        });
        Out {
            sink,
            flushed: 0,
            buf: Vec::new(),
            sum: xxhash_rust::xxh3::Xxh3::new(),
            small: HashMap::new(),
            failed: None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Out>> {
        self.out.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one extract; `None` if it could not be written (the caller keeps it).
    pub(crate) fn push(&self, bytes: &[u8]) -> Option<Loc> {
        let sum = xxhash_rust::xxh3::xxh3_64(bytes);
        let mut out = self.lock();
        out.get_or_insert_with(|| self.open()).push(bytes, sum)
    }

    /// The extract at `loc` (checked against its checksum); `None` if it cannot be read.
    pub(crate) fn read(&self, loc: Loc) -> Option<Vec<u8>> {
        self.lock().as_ref()?.read(loc)
    }
}

/// Creates the cache directory (with its `.gitignore`) if need be; refuses one that is a
/// symbolic link.
fn prepare_dir(dir: &Path) -> std::io::Result<()> {
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
    Ok(())
}

/// Writes the cache atomically (see the module invariants). `rows` must be sorted by path,
/// each path once; `prev` is the cache the scan read (whose rows `Extract::Cached` names),
/// `writer` the one the scan streamed extracts into (which `Extract::Written` names). When
/// few rows differ from `prev`'s base, only a delta over that base is written.
pub(crate) fn save<M: Summary>(
    path: &Path,
    settings: u64,
    started_ns: u64,
    rows: &[Row<'_, M>],
    result: &[u8],
    prev: Option<&View<'_, M>>,
    writer: Option<&Writer>,
) -> std::io::Result<Written> {
    save_as(
        env!("CARGO_PKG_VERSION"),
        path,
        settings,
        started_ns,
        rows,
        result,
        prev,
        writer,
    )
}

/// What a delta row's extract is.
enum DeltaExtract<'a> {
    Own(Extract<'a>),
    Base(usize),
}

fn changed_error() -> std::io::Error {
    std::io::Error::other("the cache changed while this scan read it")
}

#[allow(clippy::too_many_arguments)]
fn save_as<M: Summary>(
    kodo_scan: &str,
    path: &Path,
    settings: u64,
    started_ns: u64,
    rows: &[Row<'_, M>],
    result: &[u8],
    prev: Option<&View<'_, M>>,
    writer: Option<&Writer>,
) -> std::io::Result<Written> {
    if rows.windows(2).any(|w| w[0].path >= w[1].path) {
        return Err(std::io::Error::other(
            "the cache rows are not sorted by path",
        ));
    }
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("the cache path has no directory"))?;
    prepare_dir(dir)?;
    // The file to complete: the scan's writer if it is a temporary file in this directory,
    // else a new one (the writer's extracts are copied over).
    let streamed = writer.as_ref().is_some_and(|w| {
        w.dir.as_deref() == Some(dir)
            && matches!(
                w.lock().as_ref(),
                Some(Out {
                    sink: Sink::Named(_),
                    ..
                })
            )
    });
    let fresh;
    let (target, source) = match writer {
        Some(w) if streamed => (w, None),
        w => {
            fresh = Writer::new(Some(dir));
            (&fresh, w)
        }
    };
    let mut written_as: HashMap<Loc, Loc> = HashMap::new();
    // An extract's place in `target`.
    let mut place = |e: Extract<'_>| -> std::io::Result<Loc> {
        let loc = match e {
            Extract::Written(loc) if source.is_none() => return Ok(loc),
            Extract::Written(loc) => {
                if let Some(l) = written_as.get(&loc) {
                    return Ok(*l);
                }
                let bytes = source
                    .as_ref()
                    .and_then(|s| s.read(loc))
                    .ok_or_else(changed_error)?;
                let l = target.push(&bytes);
                if let Some(l) = l {
                    written_as.insert(loc, l);
                }
                l
            }
            Extract::Bytes(b) => target.push(b),
            // One that no longer reads (its part of the cache is corrupt: the cache
            // itself never changes a file it has written) is stored empty, which does not
            // decode: the next scan extracts that file again.
            Extract::Cached(k) => match prev.and_then(|v| v.extract(k)) {
                Some(bytes) => target.push(&bytes),
                None => target.push(&[]),
            },
        };
        loc.ok_or_else(|| {
            target
                .lock()
                .as_mut()
                .and_then(|o| o.failed.take())
                .unwrap_or_else(|| std::io::Error::other("cannot write the cache"))
        })
    };
    if let Some(v) = prev {
        let delta = match kodo_scan == v.base.head.kodo_scan {
            true => delta_rows(rows, v)?,
            false => None,
        };
        if let Some((changed, removed)) = delta {
            let mut stats = Vec::with_capacity(changed.len() * STAT_ROW);
            for (r, e) in &changed {
                match e {
                    DeltaExtract::Own(e) => push_stat(&mut stats, r, place(*e)?, OWN),
                    DeltaExtract::Base(b) => {
                        let b = u32::try_from(*b).map_err(|_| changed_error())?;
                        push_stat(
                            &mut stats,
                            r,
                            Loc {
                                off: 0,
                                len: 0,
                                sum: 0,
                            },
                            b,
                        );
                    }
                }
            }
            let paths: Vec<&str> = changed.iter().map(|(r, _)| r.path).collect();
            let mut metas = Vec::with_capacity(changed.len() * M::WIDTH);
            for (r, _) in &changed {
                r.meta.put(&mut metas);
            }
            let head = Head {
                kodo_scan,
                settings,
                started_ns,
                rows: changed.len() as u64,
                base: v.base.part.id,
            };
            finish(
                target,
                &delta_path(path),
                DELTA_MAGIC,
                &head,
                &paths,
                &stats,
                result,
                &removed,
                &metas,
            )?;
            return Ok(Written::Delta);
        }
        // A new base copies most cached extracts: one read of each section, not one per row
        // (if a section no longer matches its checksum, row by row, each checked).
        if rows.iter().any(|r| matches!(r.extract, Extract::Cached(_))) {
            v.read_extracts();
        }
    }
    let mut stats = Vec::with_capacity(rows.len() * STAT_ROW);
    let mut metas = Vec::with_capacity(rows.len() * M::WIDTH);
    let mut cached_as: HashMap<(bool, u64), Loc> = HashMap::new();
    for r in rows {
        let loc = match (r.extract, prev) {
            // Rows sharing one extract in the cache read share it in the new one.
            (Extract::Cached(k), Some(v)) => {
                let (rows_k, i) = v.rows_of(k);
                let key = (std::ptr::eq(rows_k, &v.base), rows_k.loc(i).off);
                match cached_as.get(&key) {
                    Some(l) => *l,
                    None => {
                        let l = place(r.extract)?;
                        cached_as.insert(key, l);
                        l
                    }
                }
            }
            (e, _) => place(e)?,
        };
        push_stat(&mut stats, r, loc, OWN);
        r.meta.put(&mut metas);
    }
    let paths: Vec<&str> = rows.iter().map(|r| r.path).collect();
    let head = Head {
        kodo_scan,
        settings,
        started_ns,
        rows: rows.len() as u64,
        base: 0,
    };
    finish(
        target,
        path,
        MAGIC,
        &head,
        &paths,
        &stats,
        result,
        &[],
        &metas,
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
fn delta_rows<'r, 'a, M: Summary>(
    rows: &'r [Row<'r, M>],
    v: &View<'a, M>,
) -> std::io::Result<Option<(Vec<(&'r Row<'r, M>, DeltaExtract<'r>)>, Vec<&'a str>)>>
where
    'a: 'r,
{
    let base = &v.base;
    let n = base.paths.len();
    let limit = (n / 8).max(64);
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
            Extract::Cached(k) => match (v.source(k), &v.delta) {
                (Source::Delta(j), Some(d)) => match d.base_row(j) {
                    Some(i) => DeltaExtract::Base(i),
                    None => DeltaExtract::Own(Extract::Cached(k)),
                },
                (Source::Base(i), _) | (Source::Delta(i), None) => DeltaExtract::Base(i),
            },
            e => DeltaExtract::Own(e),
        };
        let same = match (in_base, &extract) {
            (Some(i), DeltaExtract::Base(e)) if *e == i => {
                base.stat(i) == r.stat
                    && base.hash(i) == r.hash
                    && base.meta::<M>(i).ok_or_else(changed_error)? == *r.meta
            }
            _ => false,
        };
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

fn push_stat<M>(stats: &mut Vec<u8>, r: &Row<'_, M>, loc: Loc, base_row: u32) {
    for x in [r.stat.size, r.stat.mtime_ns, r.stat.inode] {
        stats.extend_from_slice(&x.to_le_bytes());
    }
    stats.extend_from_slice(&r.hash.to_le_bytes());
    stats.extend_from_slice(&loc.off.to_le_bytes());
    stats.extend_from_slice(&loc.len.to_le_bytes());
    stats.extend_from_slice(&loc.sum.to_le_bytes());
    stats.extend_from_slice(&base_row.to_le_bytes());
}

/// Completes the file `writer` streamed the extracts into (the other sections after them,
/// then the header in its place) and renames it over `path`.
#[allow(clippy::too_many_arguments)]
fn finish(
    writer: &Writer,
    path: &Path,
    magic: &[u8; 8],
    head: &Head<'_>,
    paths: &[&str],
    stats: &[u8],
    result: &[u8],
    removed: &[&str],
    metas: &[u8],
) -> std::io::Result<()> {
    let encode = |e: postcard::Error| std::io::Error::other(e);
    let head = postcard::to_allocvec(head).map_err(encode)?;
    let paths = postcard::to_allocvec(paths).map_err(encode)?;
    let removed = postcard::to_allocvec(removed).map_err(encode)?;
    let mut out = writer.lock().take().unwrap_or_else(|| writer.open());
    if let Some(e) = out.failed.take() {
        return Err(e);
    }
    out.flush()?;
    let Sink::Named(mut tmp) = out.sink else {
        return Err(std::io::Error::other(
            "the cache directory cannot be written",
        ));
    };
    let sum = xxhash_rust::xxh3::xxh3_64;
    let sections: [(u64, u64); SECTIONS] = [
        (out.flushed, out.sum.digest()),
        (head.len() as u64, sum(&head)),
        (paths.len() as u64, sum(&paths)),
        (stats.len() as u64, sum(stats)),
        (result.len() as u64, sum(result)),
        (removed.len() as u64, sum(&removed)),
        (metas.len() as u64, sum(metas)),
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
    {
        let file = tmp.as_file_mut();
        file.seek(SeekFrom::Start(HEADER as u64 + out.flushed))?;
        let mut out = std::io::BufWriter::with_capacity(CHUNK, &mut *file);
        for part in [&head[..], &paths, stats, result, &removed, metas] {
            out.write_all(part)?;
        }
        out.flush()?;
        drop(out);
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&header)?;
    }
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("the cache path has no directory"))?;
    tmp.persist(path).map_err(|e| e.error)?;
    remove_stale(dir);
    Ok(())
}

/// Removes temporary cache files left by scans killed while writing (an hour old: a scan
/// still writing one touches it far more often).
fn remove_stale(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(".scan-") && name.ends_with(".tmp")) {
            continue;
        }
        let old = entry
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TMP);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Summary for u32 {
        const WIDTH: usize = 4;
        fn put(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.to_le_bytes());
        }
        fn get(bytes: &[u8]) -> Option<u32> {
            Some(u32::from_le_bytes(bytes.try_into().ok()?))
        }
    }

    fn row<'a>(path: &'a str, n: u64, extract: &'a [u8]) -> Row<'a, u32> {
        Row {
            path,
            stat: Stat {
                size: n,
                mtime_ns: 1,
                inode: n,
            },
            hash: n as u128 | (7u128 << 100),
            meta: Box::leak(Box::new(n as u32)),
            extract: Extract::Bytes(extract),
        }
    }

    /// Row `k` of `v` as a row to save again unchanged.
    fn again<'a>(v: &View<'a, u32>, k: usize) -> Row<'a, u32> {
        Row {
            path: v.path(k),
            stat: v.stat(k),
            hash: v.hash(k),
            meta: Box::leak(Box::new(v.meta(k).unwrap())),
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
                    v.meta(k).unwrap(),
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
            save(&path, 7, 10_000_000_000, &[a, b], b"result", None, None).unwrap(),
            Written::Base
        );
        assert!(dir.path().join("cache/.gitignore").is_file());
        let cache = load(&path).unwrap();
        let loaded: View<'_, u32> = view(&cache, 7).unwrap();
        let i = loaded.find("b.ts").unwrap();
        assert_eq!(
            (loaded.extract(i).as_deref(), loaded.meta(i)),
            (Some(&b"x22"[..]), Some(2))
        );
        assert_eq!(loaded.extract(0).as_deref(), Some(&b"x1"[..]));
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
        // A flipped byte in the header or a section a re-scan reads whole is found on open;
        // in the extracts (first) or the summaries (last), when they are read.
        let good = fs::read(&path).unwrap();
        let eager = cache.base.sections[HEAD].0 as usize..cache.base.sections[METAS].0 as usize;
        for at in [
            0,
            9,
            20,
            eager.start,
            (eager.start + eager.end) / 2,
            eager.end - 1,
        ] {
            let mut bytes = good.clone();
            bytes[at] ^= 0xff;
            fs::write(&path, &bytes).unwrap();
            assert!(
                matches!(load(&path), Err(CacheStatus::Ignored(_))),
                "byte {at}"
            );
        }
        for at in [HEADER, good.len() - 1] {
            let mut bytes = good.clone();
            bytes[at] ^= 0xff;
            fs::write(&path, &bytes).unwrap();
            let cache = load(&path).unwrap();
            let flipped: View<'_, u32> = view(&cache, 7).unwrap();
            let (a, b) = (flipped.find("a.ts").unwrap(), flipped.find("b.ts").unwrap());
            if at == HEADER {
                // The first row's extract: that row's reads as gone, the other's still.
                assert_eq!(flipped.extract(a), None, "byte {at}");
                assert!(!flipped.read_extracts());
                assert_eq!(flipped.extract(a), None, "byte {at}");
                assert!(flipped.extract(b).is_some(), "byte {at}");
                // A new base written over it stores that extract empty (it does not
                // decode: the next scan extracts the file again) and copies the other.
                let copy = dir.path().join("cache/copy.bin");
                let rows = [again(&flipped, a), again(&flipped, b)];
                save_as("other", &copy, 7, 20, &rows, b"r", Some(&flipped), None).unwrap();
                let copied = load(&copy).unwrap();
                let rows = Rows::decode(&copied.base).unwrap();
                assert_eq!(rows.own_extract(0).as_deref(), Some(&b""[..]));
                assert_eq!(rows.own_extract(1).as_deref(), Some(&b"x22"[..]));
            } else {
                assert_eq!(
                    (flipped.meta(a), flipped.meta(b)),
                    (None, None),
                    "byte {at}"
                );
            }
        }
        fs::write(&path, &good).unwrap();
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
        assert!(save(&path, 7, 0, &[b, a], b"", None, None).is_err());
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
        save(&path, 0, 10, &rows, b"one", None, None).unwrap();
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
            save(&path, 0, 20, &next, b"two", Some(&v), None).unwrap(),
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
                        Extract::Written(_) => unreachable!("no writer here"),
                    };
                    (r.path.to_string(), r.stat, r.hash, *r.meta, bytes)
                })
                .collect()
        };
        assert_eq!(contents(&w), expect(&next));
        assert!(w.find("f007.ts").is_none() && w.find("f050a.ts").is_some());

        // Another delta over the same base, from the merged view: still whole.
        let mut third: Vec<Row<'_, u32>> = (0..w.len()).map(|k| again(&w, k)).collect();
        third[0] = row("f000.ts", 1000, b"zero");
        assert_eq!(
            save(&path, 0, 30, &third, b"three", Some(&w), None).unwrap(),
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
                r.meta = Box::leak(Box::new(*r.meta + 1));
                r
            })
            .collect();
        assert_eq!(
            save(&path, 0, 40, &many, b"four", Some(&x), None).unwrap(),
            Written::Base
        );
        assert!(!delta_path(&path).exists());
        let cache4 = load(&path).unwrap();
        let y: View<'_, u32> = view(&cache4, 0).unwrap();
        assert!(!y.has_delta());
        assert_eq!(y.result, b"four");
        assert_eq!(y.meta(0), Some(1001));
        assert_eq!(y.extract(0).as_deref(), Some(&b"zero"[..]));
    }

    #[test]
    fn a_corrupt_or_foreign_delta_is_ignored_and_the_base_stands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.bin");
        let rows = [row("a.ts", 1, b"a"), row("b.ts", 2, b"b")];
        save(&path, 0, 10, &rows, b"base", None, None).unwrap();
        let cache = load(&path).unwrap();
        let v: View<'_, u32> = view(&cache, 0).unwrap();
        let next = [again(&v, 0), row("b.ts", 3, b"b2")];
        save(&path, 0, 20, &next, b"delta", Some(&v), None).unwrap();
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
        save(&path, 0, 30, &rows, b"new base", None, None).unwrap();
        assert!(!delta_path(&path).exists());
        fs::write(delta_path(&path), &delta).unwrap();
        let cache = load(&path).unwrap();
        let w: View<'_, u32> = view(&cache, 0).unwrap();
        assert!(!w.has_delta());
        assert_eq!(w.result, b"new base");

        // Viewed with other settings, neither is used.
        let cache = load(&path).unwrap();
        let v: View<'_, u32> = view(&cache, 0).unwrap();
        save(&path, 0, 40, &next, b"delta", Some(&v), None).unwrap();
        let cache = load(&path).unwrap();
        assert!(view::<u32>(&cache, 0).unwrap().has_delta());
        assert!(view::<u32>(&cache, 1).is_err());
    }

    #[test]
    fn an_extract_read_later_is_checked_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.bin");
        save(
            &path,
            0,
            10,
            &[row("a.ts", 1, b"extract")],
            b"r",
            None,
            None,
        )
        .unwrap();
        let cache = load(&path).unwrap();
        let loaded: View<'_, u32> = view(&cache, 0).unwrap();
        // Overwritten in place after it was opened (the cache itself only ever renames a
        // new file over it): the extract no longer matches its row's checksum, nor the
        // section its checksum, so it is not used either way it is read.
        let mut bytes = fs::read(&path).unwrap();
        bytes[HEADER] ^= 0xff;
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&bytes))
            .unwrap();
        assert_eq!(loaded.extract(0), None);
        assert!(!loaded.read_extracts());
        assert_eq!(loaded.extract(0), None);
    }

    #[test]
    fn extracts_streamed_by_a_writer_become_the_cache_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache/scan.bin");
        let writer = Writer::new(path.parent());
        // Written out of row order, in more than one chunk, two rows sharing one.
        let big = vec![7u8; CHUNK + 10];
        let (lb, la, le) = (
            writer.push(&big).unwrap(),
            writer.push(b"aaa").unwrap(),
            writer.push(b"").unwrap(),
        );
        assert_eq!(writer.push(b"aaa"), Some(la));
        assert_eq!(writer.read(lb).as_deref(), Some(&big[..]));
        let rows = [
            Row {
                extract: Extract::Written(la),
                ..row("a.ts", 1, b"")
            },
            Row {
                extract: Extract::Written(lb),
                ..row("b.ts", 2, b"")
            },
            Row {
                extract: Extract::Written(le),
                ..row("c.ts", 3, b"")
            },
            row("d.ts", 4, b"aaa"),
        ];
        assert_eq!(
            save(&path, 0, 10, &rows, b"res", None, Some(&writer)).unwrap(),
            Written::Base
        );
        // Nothing left over beside the cache and its .gitignore.
        let mut names: Vec<String> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".gitignore", "scan.bin"]);
        let cache = load(&path).unwrap();
        let v: View<'_, u32> = view(&cache, 0).unwrap();
        let got: Vec<Vec<u8>> = (0..4).map(|k| v.extract(k).unwrap().to_vec()).collect();
        assert_eq!(
            got,
            [b"aaa".to_vec(), big.clone(), Vec::new(), b"aaa".to_vec()]
        );
        assert_eq!((v.result, v.meta(3)), (&b"res"[..], Some(4)));
        // The shared extract is stored once.
        assert!(fs::metadata(&path).unwrap().len() < (CHUNK + 10 + 3 + 1000) as u64);

        // A writer without a cache directory (or another one) is copied from.
        let other = Writer::new(None);
        let l = other.push(b"elsewhere").unwrap();
        let rows = [Row {
            extract: Extract::Written(l),
            ..row("a.ts", 9, b"")
        }];
        save(&path, 0, 20, &rows, b"r2", None, Some(&other)).unwrap();
        let cache = load(&path).unwrap();
        let v: View<'_, u32> = view(&cache, 0).unwrap();
        assert_eq!(v.extract(0).as_deref(), Some(&b"elsewhere"[..]));
    }

    #[test]
    fn a_scan_stopped_mid_stream_leaves_no_cache_that_is_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.bin");
        save(&path, 0, 10, &[row("a.ts", 1, b"old")], b"old", None, None).unwrap();
        let before = fs::read(&path).unwrap();
        // A scan that streamed extracts and then failed (or panicked): its writer is
        // dropped, its temporary file with it; the previous cache stands untouched.
        {
            let writer = Writer::new(Some(dir.path()));
            writer.push(&vec![1u8; CHUNK * 2]).unwrap();
            let tmp: Vec<_> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect();
            assert_eq!(tmp.len(), 1, "the extracts go to a temporary file");
        }
        assert_eq!(fs::read(&path).unwrap(), before);
        assert!(!fs::read_dir(dir.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp")));
        // A scan killed mid-stream leaves its temporary file: its header is not written
        // yet, so even renamed over the cache it is not a cache; it is never read, and a
        // later save removes it once it is old.
        let writer = Writer::new(Some(dir.path()));
        writer.push(&vec![2u8; CHUNK + 1]).unwrap();
        let killed = {
            let out = writer.lock();
            let Some(Out {
                sink: Sink::Named(t),
                ..
            }) = out.as_ref()
            else {
                panic!("a named temporary file");
            };
            fs::read(t.path()).unwrap()
        };
        assert!(killed[..HEADER].iter().all(|&b| b == 0));
        let stale = dir.path().join(".scan-killed.tmp");
        fs::write(&stale, &killed).unwrap();
        fs::write(dir.path().join("other.bin"), &killed).unwrap();
        assert!(matches!(
            load(&dir.path().join("other.bin")),
            Err(CacheStatus::Ignored(_))
        ));
        let cache = load(&path).unwrap();
        assert_eq!(view::<u32>(&cache, 0).unwrap().result, b"old");
        let old = SystemTime::now() - STALE_TMP - Duration::from_secs(60);
        fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        save(&path, 0, 20, &[row("a.ts", 1, b"new")], b"new", None, None).unwrap();
        assert!(!stale.exists());
    }

    #[test]
    fn a_cache_from_another_kodo_version_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.bin");
        save_as(
            "0.0.1-old",
            &path,
            0,
            10,
            &[row("a.ts", 1, b"")],
            b"",
            None,
            None,
        )
        .unwrap();
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
        save(&path, 0, started, &[r], b"", None, None).unwrap();
        let cache = load(&path).unwrap();
        let loaded: View<'_, u32> = view(&cache, 0).unwrap();
        assert!(!loaded.fresh(0, &r.stat));
    }
}
