//! The parallel repository walk shared by the scanner and the resolver.
//!
//! Invariants: honours `.gitignore` (also outside a git repository), `.ignore` and
//! `.kodoignore`; skips hidden files, the default excluded directories and `scan.exclude`;
//! never follows a symbolic link (so it never leaves the repository); skips files that are
//! not a known language; files larger than [`MAX_FILE_BYTES`], unreadable or binary (a NUL
//! byte early on) are not scanned but handed back as [`Skipped`], never dropped in silence.
//! Each worker thread owns one read buffer that is reused for every file, and one state
//! value that is handed back at the end, so memory does not grow with the number of files.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};

use crate::cache::Stat;
use crate::lang::Lang;
use crate::settings::Compiled;
use crate::walkcache::DirRecord;
use crate::{ScanError, SkipReason, Skipped};

/// Files larger than this are generated or data, not hand-written code.
pub(crate) const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Visits every source file under `root` in parallel. `visit` gets the thread's state, the
/// repo-relative `/`-separated path, the language and the file's bytes. Returns the states
/// of all threads, and the source files that could not be read (unsorted).
pub(crate) fn walk<S, M, F>(
    root: &Path,
    compiled: &Compiled,
    want: &(dyn Fn(Lang) -> bool + Sync),
    make: M,
    visit: F,
) -> Result<(Vec<S>, Vec<Skipped>), ScanError>
where
    S: Send,
    M: Fn() -> S + Sync,
    F: Fn(&mut S, &str, Lang, &[u8]) + Sync,
{
    walk_files(
        root,
        compiled,
        want,
        make,
        |st: &mut S, rel, lang, file: &mut SourceFile<'_>| {
            if let Some(bytes) = file.read() {
                visit(st, rel, lang, bytes);
            }
        },
    )
}

/// A file the walk found, read only on demand (a cached file is only `stat`ed).
pub(crate) struct SourceFile<'a> {
    path: &'a Path,
    rel: &'a str,
    buf: &'a mut Vec<u8>,
    skipped: &'a mut Vec<Skipped>,
    /// The open directory the file is in and its name there, when the walk has it: the
    /// file is opened relative to it (one path component for the kernel to look up, not
    /// every component from the root).
    #[cfg(unix)]
    at: Option<(&'a rustix::fd::OwnedFd, &'a std::ffi::OsStr)>,
}

impl<'a> SourceFile<'a> {
    /// The file at `path` (`rel` in reports), read into `buf`; a file that cannot be read
    /// is added to `skipped`.
    pub(crate) fn new(
        path: &'a Path,
        rel: &'a str,
        buf: &'a mut Vec<u8>,
        skipped: &'a mut Vec<Skipped>,
    ) -> SourceFile<'a> {
        SourceFile {
            path,
            rel,
            buf,
            skipped,
            #[cfg(unix)]
            at: None,
        }
    }

    /// Opens the file for reading (relative to its directory when the walk has it open).
    fn open(&self) -> std::io::Result<File> {
        #[cfg(unix)]
        if let Some((dir, name)) = self.at {
            use rustix::fs::{Mode, OFlags};
            return rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                .map(File::from)
                .map_err(std::io::Error::from);
        }
        File::open(self.path)
    }

    /// The file's size, modification time and inode (not following a symbolic link).
    pub(crate) fn stat(&self) -> Option<Stat> {
        std::fs::symlink_metadata(self.path)
            .ok()
            .map(|m| Stat::of(&m))
    }

    /// The file's bytes; `None` (and the file handed back as skipped, with the reason) for
    /// unreadable, oversized or binary files.
    pub(crate) fn read(&mut self) -> Option<&[u8]> {
        self.read_opened(false).map(|(bytes, _)| bytes)
    }

    /// Like [`SourceFile::read`], with the stat of the file it opened (an `fstat`, not a
    /// second lookup of the path).
    pub(crate) fn read_with_stat(&mut self) -> Option<(&[u8], Stat)> {
        self.read_opened(true)
            .map(|(bytes, stat)| (bytes, stat.unwrap_or(Stat::NONE)))
    }

    fn read_opened(&mut self, with_stat: bool) -> Option<(&[u8], Option<Stat>)> {
        let mut stat = None;
        let read = self
            .open()
            .map_err(|_| SkipReason::Unreadable)
            .and_then(|f| {
                if with_stat {
                    stat = f.metadata().ok().map(|m| Stat::of(&m));
                }
                read_into(f, self.buf)
            });
        match read {
            Ok(()) => Some((&self.buf[..], stat)),
            Err(reason) => {
                self.skipped.push(Skipped {
                    path: self.rel.to_string(),
                    reason,
                });
                None
            }
        }
    }
}

/// Like [`walk`], but `visit` decides whether to read each file.
pub(crate) fn walk_files<S, M, F>(
    root: &Path,
    compiled: &Compiled,
    want: &(dyn Fn(Lang) -> bool + Sync),
    make: M,
    visit: F,
) -> Result<(Vec<S>, Vec<Skipped>), ScanError>
where
    S: Send,
    M: Fn() -> S + Sync,
    F: Fn(&mut S, &str, Lang, &mut SourceFile<'_>) + Sync,
{
    walk_recording(root, compiled, want, make, visit, false).map(|(s, k, _)| (s, k))
}

/// What [`walk_recording`] hands back: the visitors' states, the files it could not read,
/// and (when recording) the directories it entered.
pub(crate) type Walked<S> = (Vec<S>, Vec<Skipped>, Vec<DirRecord>);

/// Like [`walk_files`]; with `record`, also every directory the walk entered, with its stat
/// and ignore files taken as it entered them (for [`crate::walkcache`]).
pub(crate) fn walk_recording<S, M, F>(
    root: &Path,
    compiled: &Compiled,
    want: &(dyn Fn(Lang) -> bool + Sync),
    make: M,
    visit: F,
    record: bool,
) -> Result<Walked<S>, ScanError>
where
    S: Send,
    M: Fn() -> S + Sync,
    F: Fn(&mut S, &str, Lang, &mut SourceFile<'_>) + Sync,
{
    std::fs::metadata(root).map_err(|source| ScanError::Root {
        path: root.to_path_buf(),
        source,
    })?;
    let base = base_dir(root);
    let excluded_dirs = compiled.excluded_dirs.clone();
    let exclude = compiled.exclude.clone();
    let filter_base = base.clone();
    let mut builder = WalkBuilder::new(root);
    builder
        .follow_links(false)
        .hidden(true)
        .require_git(false)
        .add_custom_ignore_filename(".kodoignore")
        .filter_entry(move |e: &DirEntry| {
            if e.depth() == 0 || !e.file_type().is_some_and(|t| t.is_dir()) {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            if excluded_dirs.iter().any(|d| *d == name) {
                return false;
            }
            let rel = rel_path(&filter_base, e.path());
            exclude.is_empty() || !exclude.is_match(&rel)
        });
    let shared: Shared<S> = Mutex::new((Vec::new(), Vec::new(), Vec::new()));
    let mut vb = Builder {
        shared: &shared,
        make: &make,
        visit: &visit,
        base: &base,
        compiled,
        want,
        record,
    };
    builder.build_parallel().visit(&mut vb);
    Ok(shared
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner()))
}

/// The directory paths are reported relative to: `root`, or its parent for a file.
pub(crate) fn base_dir(root: &Path) -> PathBuf {
    if root.is_file() {
        root.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        root.to_path_buf()
    }
}

/// `path` relative to `base`, with `/` separators.
pub(crate) fn rel_path(base: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    let s = rel.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// What the visitors hand back: their states, the files they skipped, the directories.
type Shared<S> = Mutex<(Vec<S>, Vec<Skipped>, Vec<DirRecord>)>;

struct Builder<'a, S, M, F> {
    shared: &'a Shared<S>,
    record: bool,
    make: &'a M,
    visit: &'a F,
    base: &'a Path,
    compiled: &'a Compiled,
    want: &'a (dyn Fn(Lang) -> bool + Sync),
}

impl<'s, S, M, F> ParallelVisitorBuilder<'s> for Builder<'s, S, M, F>
where
    S: Send + 's,
    M: Fn() -> S + Sync,
    F: Fn(&mut S, &str, Lang, &mut SourceFile<'_>) + Sync,
{
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Visitor {
            shared: self.shared,
            state: Some((self.make)()),
            visit: self.visit,
            base: self.base,
            compiled: self.compiled,
            want: self.want,
            buf: Vec::with_capacity(64 * 1024),
            skipped: Vec::new(),
            record: self.record,
            dirs: Vec::new(),
            #[cfg(unix)]
            open_dirs: Vec::new(),
        })
    }
}

struct Visitor<'a, S, F> {
    shared: &'a Shared<S>,
    record: bool,
    dirs: Vec<DirRecord>,
    state: Option<S>,
    visit: &'a F,
    base: &'a Path,
    compiled: &'a Compiled,
    want: &'a (dyn Fn(Lang) -> bool + Sync),
    buf: Vec<u8>,
    skipped: Vec<Skipped>,
    /// The directories this thread opened last (most recent first; `None`: it cannot be
    /// opened), so each file is opened relative to its directory. The walk hands a thread
    /// a directory's files mostly together, interleaved with those of its subdirectories.
    #[cfg(unix)]
    open_dirs: Vec<(PathBuf, Option<rustix::fd::OwnedFd>)>,
}

/// How many open directories each walk thread keeps.
#[cfg(unix)]
const OPEN_DIRS: usize = 8;

/// The open directory `dir` from a thread's `open_dirs` (opened now, and put first, if it
/// is not among them).
#[cfg(unix)]
fn dir_fd<'d>(
    open_dirs: &'d mut Vec<(PathBuf, Option<rustix::fd::OwnedFd>)>,
    dir: &Path,
) -> Option<&'d rustix::fd::OwnedFd> {
    let at = open_dirs
        .iter()
        .position(|(p, _)| p.as_os_str() == dir.as_os_str());
    match at {
        Some(0) => {}
        Some(i) => {
            let hit = open_dirs.remove(i);
            open_dirs.insert(0, hit);
        }
        None => {
            use rustix::fs::{Mode, OFlags};
            let fd = rustix::fs::open(
                dir,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok();
            open_dirs.truncate(OPEN_DIRS - 1);
            open_dirs.insert(0, (dir.to_path_buf(), fd));
        }
    }
    open_dirs[0].1.as_ref()
}

impl<S, F> ParallelVisitor for Visitor<'_, S, F>
where
    S: Send,
    F: Fn(&mut S, &str, Lang, &mut SourceFile<'_>) + Sync,
{
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        let Ok(entry) = entry else {
            return WalkState::Continue;
        };
        let Some(kind) = entry.file_type() else {
            return WalkState::Continue;
        };
        if self.record && kind.is_dir() {
            // Before the walk reads the directory's entries (it does after this visit).
            if let Ok(meta) = std::fs::symlink_metadata(entry.path()) {
                self.dirs.push(DirRecord {
                    rel: rel_path(self.base, entry.path()),
                    stat: Stat::of(&meta),
                    ignores: crate::walkcache::ignores_in(entry.path()),
                });
            }
        }
        if !kind.is_file() {
            return WalkState::Continue;
        }
        let rel = rel_path(self.base, entry.path());
        let Some(lang) = Lang::from_path(&rel) else {
            return WalkState::Continue;
        };
        if !(self.want)(lang) || self.compiled.excluded(&rel) {
            return WalkState::Continue;
        }
        if self.state.is_none() {
            return WalkState::Continue;
        }
        let path = entry.path();
        #[cfg(unix)]
        let at = match (path.parent(), path.file_name()) {
            (Some(dir), Some(name)) if !dir.as_os_str().is_empty() => {
                dir_fd(&mut self.open_dirs, dir).map(|fd| (fd, name))
            }
            _ => None,
        };
        if let Some(state) = self.state.as_mut() {
            let mut file = SourceFile {
                path,
                rel: &rel,
                buf: &mut self.buf,
                skipped: &mut self.skipped,
                #[cfg(unix)]
                at,
            };
            (self.visit)(state, &rel, lang, &mut file);
        }
        WalkState::Continue
    }
}

impl<S, F> Drop for Visitor<'_, S, F> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            let mut all = self
                .shared
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            all.0.push(state);
        }
        if !self.skipped.is_empty() || !self.dirs.is_empty() {
            let mut all = self
                .shared
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            all.1.append(&mut self.skipped);
            all.2.append(&mut self.dirs);
        }
    }
}

/// Reads a file into `buf`, or says why it cannot be scanned (unreadable, oversized, binary).
pub(crate) fn read_source(path: &Path, buf: &mut Vec<u8>) -> Result<(), SkipReason> {
    let f = File::open(path).map_err(|_| SkipReason::Unreadable)?;
    read_into(f, buf)
}

fn read_into(f: File, buf: &mut Vec<u8>) -> Result<(), SkipReason> {
    buf.clear();
    // Reading one byte past the limit tells an oversized file without a `stat`.
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(buf)
        .map_err(|_| SkipReason::Unreadable)?;
    content_skip(buf).map_or(Ok(()), Err)
}

/// Why bytes already read cannot be scanned as source: oversized or binary.
pub(crate) fn content_skip(bytes: &[u8]) -> Option<SkipReason> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        Some(SkipReason::TooLarge)
    } else if memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
        Some(SkipReason::Binary)
    } else {
        None
    }
}

/// Lines longer than this are looked at closely by [`is_minified`].
const LONG_LINE: usize = 1000;

/// Minified code: long lines on average, or one enormous line. A long line that is mostly
/// one or more string literals (an inlined data URI, a PEM key, a translation) is data, not
/// minification: such lines are left out of the measure, so a hand-written file that embeds
/// one is still scanned.
pub(crate) fn is_minified(bytes: &[u8]) -> bool {
    if bytes.len() < 2048 {
        return false;
    }
    let (mut lines, mut total, mut longest) = (0usize, 0usize, 0usize);
    let mut last = 0usize;
    for p in memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len())) {
        let line = &bytes[last..p];
        last = p + 1;
        if line.len() > LONG_LINE && mostly_string(line) {
            continue;
        }
        lines += 1;
        total += line.len() + 1;
        longest = longest.max(line.len());
    }
    longest > LONG_LINE && (total / lines.max(1) > 200 || longest > 20_000)
}

/// Whether at least 90% of a line's bytes are inside quotes (`"`, `'` or a backtick, with
/// backslash escapes). Minified code is mostly operators and names, so it never is.
fn mostly_string(line: &[u8]) -> bool {
    let mut inside = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for &b in line {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == q {
                    quote = None;
                    continue;
                }
                inside += 1;
            }
            None if matches!(b, b'"' | b'\'' | b'`') => quote = Some(b),
            None => {}
        }
    }
    inside * 10 >= line.len() * 9
}
