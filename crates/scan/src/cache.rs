//! The persistent scan cache: one file in a cache directory (kodo uses `.kodo/cache/`) that
//! remembers, per source file, its size, modification time, inode and content hash, and
//! what the scanner's per-file pass extracted from it, plus the scan's final result, so a
//! re-scan of an unchanged tree reads no source file and redoes no cross-file work.
//!
//! The cache is generic over what the scanner stores: per file a small fixed summary
//! (`M`) and an opaque extract (bytes), and one opaque result.
//!
//! File layout (format 7): a fixed header, then six sections, each checksummed on its own
//! (xxh3-64), in this order:
//!
//! | section  | content                                                                |
//! |----------|------------------------------------------------------------------------|
//! | head     | postcard: kodo-scan version, settings fingerprint, scan start, rows   |
//! | paths    | postcard: the rows' paths, sorted                                      |
//! | stats    | 48 bytes per row, little endian: size, mtime, inode, content hash (128 bits), end offset of its extract |
//! | result   | the scan's result (opaque bytes)                                       |
//! | metas    | postcard: every row's summary `M`                                      |
//! | extracts | every row's extract, concatenated                                      |
//!
//! The header is the magic `KODOSCAN`, the format (u32), the number of sections (u32),
//! each section's length and checksum (u64 each), and a checksum of all that (u64). The
//! layout lets a re-scan use only what it needs: the first four sections are read (about a
//! fifth of the file) and decoded without a per-row allocation but the path table; the
//! summaries and extracts are checked on open (read in small chunks, not kept) and read
//! again only when a re-scan needs them, from the same open file (a file the cache
//! replaces by renaming, so it never changes under a reader).
//!
//! Anything else (another format, another kodo version, other settings, a checksum
//! mismatch in any section, a section that does not decode) makes [`load`] or [`view`]
//! return no cache, never an error and never a partly trusted one: the scan rebuilds it.
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
use std::fs::{self, File, Metadata};
use std::io::{BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 8] = b"KODOSCAN";
/// Bump when the layout or the meaning of an extract changes.
pub(crate) const FORMAT: u32 = 7;
/// The sections, in file order.
const HEAD: usize = 0;
const PATHS: usize = 1;
const STATS: usize = 2;
const RESULT: usize = 3;
const METAS: usize = 4;
const EXTRACTS: usize = 5;
const SECTIONS: usize = 6;
/// The sections read on open (the others are checked on open and read when needed).
const EAGER: usize = 4;
const HEADER: usize = 8 + 4 + 4 + SECTIONS * 16 + 8;
/// Bytes per row in the stats section.
const STAT_ROW: usize = 48;
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

/// One file's row as [`save`] writes it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row<'a, M> {
    pub path: &'a str,
    pub stat: Stat,
    pub hash: u128,
    /// What every re-scan that changes something needs of the file.
    pub meta: M,
    /// The rest of what the scanner stored for the file (read only when needed).
    pub extract: &'a [u8],
}

#[derive(Serialize, Deserialize)]
struct Head<'a> {
    kodo_scan: &'a str,
    settings: u64,
    /// When the scan that wrote this started, nanoseconds since the Unix epoch.
    started_ns: u64,
    rows: u64,
}

/// A cache file, opened and checked: its first sections in memory, the others read from
/// the open file on first use.
pub(crate) struct Cache {
    file: File,
    /// Each section's offset in the file, length and checksum.
    sections: [(u64, u64, u64); SECTIONS],
    /// The sections before [`EAGER`], as read.
    eager: Vec<u8>,
    lazy: [OnceLock<Option<Vec<u8>>>; SECTIONS - EAGER],
}

impl Cache {
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

/// A decoded cache: rows sorted by path, borrowed from the [`Cache`].
pub(crate) struct View<'a, M> {
    cache: &'a Cache,
    paths: Vec<&'a str>,
    stats: &'a [u8],
    metas: OnceLock<Option<Vec<M>>>,
    /// Row by path (paths share long prefixes: hashing beats a binary search's compares),
    /// built on first use (a re-scan that checks its recorded walk never looks a path up).
    index: OnceLock<HashMap<&'a str, usize>>,
    pub result: &'a [u8],
    /// Entries modified at or after this are checked by content, not stat.
    trusted_before_ns: u64,
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

impl<'a, M: DeserializeOwned + Copy> View<'a, M> {
    /// How many rows.
    pub(crate) fn len(&self) -> usize {
        self.paths.len()
    }

    /// Every row's path, in row order.
    pub(crate) fn paths(&self) -> &[&'a str] {
        &self.paths
    }

    /// Row `i`'s path.
    pub(crate) fn path(&self, i: usize) -> &'a str {
        self.paths[i]
    }

    /// Row `i`'s stat when it was cached.
    pub(crate) fn stat(&self, i: usize) -> Stat {
        let at = i * STAT_ROW;
        Stat {
            size: u64_at(self.stats, at),
            mtime_ns: u64_at(self.stats, at + 8),
            inode: u64_at(self.stats, at + 16),
        }
    }

    /// Row `i`'s content hash.
    pub(crate) fn hash(&self, i: usize) -> u128 {
        let at = i * STAT_ROW + 24;
        u128::from(u64_at(self.stats, at)) | (u128::from(u64_at(self.stats, at + 8)) << 64)
    }

    /// Where row `i`'s extract ends in the extracts section.
    fn extract_end(&self, i: usize) -> u64 {
        u64_at(self.stats, i * STAT_ROW + 40)
    }

    /// Every row's summary, decoded on first use; `None` if the section can no longer be
    /// read (the caller then scans as without a cache).
    pub(crate) fn metas(&self) -> Option<&[M]> {
        self.metas
            .get_or_init(|| {
                let bytes = self.cache.lazy_section(METAS)?;
                let metas: Vec<M> = postcard::from_bytes(bytes).ok()?;
                (metas.len() == self.paths.len()).then_some(metas)
            })
            .as_deref()
    }

    /// Row `i`'s extract (the extracts section is read on first use); `None` if it can no
    /// longer be read.
    pub(crate) fn extract(&self, i: usize) -> Option<&'a [u8]> {
        let all = self.cache.lazy_section(EXTRACTS)?;
        let start = if i == 0 { 0 } else { self.extract_end(i - 1) };
        let end = self.extract_end(i);
        all.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
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

    /// Whether row `i` stands for a file with this stat (unchanged since it was cached).
    pub(crate) fn fresh(&self, i: usize, stat: &Stat) -> bool {
        i < self.len() && self.stat(i) == *stat && self.trusted(stat)
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

/// Opens the cache file at `path` and checks its header and every section's checksum;
/// [`view`] decodes it. `Err` says why it cannot be used.
pub(crate) fn load(path: &Path) -> Result<Cache, CacheStatus> {
    let ignored = |why: &str| CacheStatus::Ignored(why.to_string());
    let unreadable = |e: std::io::Error| CacheStatus::Ignored(format!("cannot read it: {e}"));
    if path.parent().is_some_and(is_symlink) {
        return Err(ignored("the cache directory is a symbolic link"));
    }
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
    let sections = check_header(&header, size)?;
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
    Ok(Cache {
        file,
        sections,
        eager,
        lazy: Default::default(),
    })
}

/// The sections' offsets, lengths and checksums from a header, checked against the file's
/// size.
fn check_header(
    header: &[u8; HEADER],
    size: u64,
) -> Result<[(u64, u64, u64); SECTIONS], CacheStatus> {
    let ignored = |why: &str| CacheStatus::Ignored(why.to_string());
    if &header[..8] != MAGIC {
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
    let corrupt = |e: postcard::Error| CacheStatus::Ignored(format!("corrupt ({e})"));
    let head: Head<'a> = postcard::from_bytes(cache.eager_section(HEAD)).map_err(corrupt)?;
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
    let paths: Vec<&'a str> = postcard::from_bytes(cache.eager_section(PATHS)).map_err(corrupt)?;
    let stats = cache.eager_section(STATS);
    let n = paths.len();
    if head.rows != n as u64 || stats.len() != n * STAT_ROW {
        return Err(CacheStatus::Ignored("corrupt (row count)".into()));
    }
    if paths.windows(2).any(|w| w[0] >= w[1]) {
        return Err(CacheStatus::Ignored("corrupt (rows out of order)".into()));
    }
    let view = View {
        cache,
        paths,
        stats,
        metas: OnceLock::new(),
        index: OnceLock::new(),
        result: cache.eager_section(RESULT),
        trusted_before_ns: head.started_ns.saturating_sub(RACY_SLACK.as_nanos() as u64),
    };
    // Extract offsets never decrease and end at the section's end.
    let mut last = 0;
    for i in 0..n {
        let end = view.extract_end(i);
        if end < last {
            return Err(CacheStatus::Ignored("corrupt (extract offsets)".into()));
        }
        last = end;
    }
    if last != cache.sections[EXTRACTS].1 {
        return Err(CacheStatus::Ignored("corrupt (extract offsets)".into()));
    }
    Ok(view)
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
    let head = postcard::to_allocvec(&Head {
        kodo_scan,
        settings,
        started_ns,
        rows: rows.len() as u64,
    })
    .map_err(std::io::Error::other)?;
    let paths: Vec<&str> = rows.iter().map(|r| r.path).collect();
    let paths = postcard::to_allocvec(&paths).map_err(std::io::Error::other)?;
    let mut stats = Vec::with_capacity(rows.len() * STAT_ROW);
    let mut end = 0u64;
    let mut extracts = xxhash_rust::xxh3::Xxh3::new();
    for r in rows {
        end += r.extract.len() as u64;
        extracts.update(r.extract);
        for x in [r.stat.size, r.stat.mtime_ns, r.stat.inode] {
            stats.extend_from_slice(&x.to_le_bytes());
        }
        stats.extend_from_slice(&r.hash.to_le_bytes());
        stats.extend_from_slice(&end.to_le_bytes());
    }
    let metas: Vec<&M> = rows.iter().map(|r| &r.meta).collect();
    let metas = postcard::to_allocvec(&metas).map_err(std::io::Error::other)?;
    let lens_sums: [(u64, u64); SECTIONS] = [
        (head.len() as u64, xxhash_rust::xxh3::xxh3_64(&head)),
        (paths.len() as u64, xxhash_rust::xxh3::xxh3_64(&paths)),
        (stats.len() as u64, xxhash_rust::xxh3::xxh3_64(&stats)),
        (result.len() as u64, xxhash_rust::xxh3::xxh3_64(result)),
        (metas.len() as u64, xxhash_rust::xxh3::xxh3_64(&metas)),
        (end, extracts.digest()),
    ];
    let mut header = Vec::with_capacity(HEADER);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT.to_le_bytes());
    header.extend_from_slice(&(SECTIONS as u32).to_le_bytes());
    for (len, sum) in lens_sums {
        header.extend_from_slice(&len.to_le_bytes());
        header.extend_from_slice(&sum.to_le_bytes());
    }
    let sum = xxhash_rust::xxh3::xxh3_64(&header);
    header.extend_from_slice(&sum.to_le_bytes());
    let tmp = tempfile::Builder::new()
        .prefix(".scan-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    let mut out = BufWriter::with_capacity(256 * 1024, tmp);
    for part in [&header[..], &head, &paths, &stats, result, &metas] {
        out.write_all(part)?;
    }
    for r in rows {
        out.write_all(r.extract)?;
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
            extract,
        }
    }

    #[test]
    fn round_trip_and_rejections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache/scan.bin");
        let (a, b) = (row("a.ts", 1, b"x1"), row("b.ts", 2, b"x22"));
        save(&path, 7, 10_000_000_000, &[a, b], b"result").unwrap();
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
        assert!(save(&path, 7, 0, &[b, a], b"").is_err());
    }

    #[test]
    fn a_section_read_later_is_checked_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.bin");
        save(&path, 0, 10, &[row("a.ts", 1, b"extract")], b"r").unwrap();
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
        save_as("0.0.1-old", &path, 0, 10, &[row("a.ts", 1, b"")], b"").unwrap();
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
        save(&path, 0, started, &[r], b"").unwrap();
        let cache = load(&path).unwrap();
        let loaded: View<'_, u32> = view(&cache, 0).unwrap();
        assert!(!loaded.fresh(0, &r.stat));
    }
}
