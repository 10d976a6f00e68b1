//! What a full walk saw, kept in the scan cache so a re-scan can tell, without the `ignore`
//! crate's walk (reading every directory, matching every path against the ignore rules),
//! that a walk now would find exactly the same files.
//!
//! The record holds every directory the walk entered with its stat, the stat of every
//! ignore-rule file in it (`.gitignore`, `.ignore`, `.kodoignore`, and the `.git` entry with
//! its `info/exclude`), the same for every directory above the root (whose rules the walk
//! also applies), the global git configuration and excludes files, and the files the walk
//! handed back as not scannable. A re-scan opens each recorded directory, compares its stat,
//! and `stat`s its ignore files and its source files relative to the open directory
//! (`fstatat`, no path lookup from the root), on a few threads.
//!
//! Why this is enough: creating, deleting or renaming an entry changes its directory's
//! modification time, so a directory whose stat is unchanged has the same entries, and an
//! ignore file whose stat is unchanged has the same rules; files are compared by stat as the
//! cache always has (the caller's [`crate::cache::View::fresh`]). Any difference, any stat
//! modified too close to the scan that wrote the record (git's "racily clean" rule, which
//! also covers a change made while that walk ran), an unreadable file, or anything that
//! cannot be checked, and the caller walks the tree in full as without the record.
//!
//! Only on Unix (it needs `openat`/`fstatat`, from `rustix`); elsewhere there is never a
//! record and every scan walks in full.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::Stat;
use crate::{SkipReason, Skipped};

/// The files in a directory whose rules the walk applies (and the `.git` entry, whose
/// `info/exclude` it also reads).
const IGNORE_FILES: [&str; 4] = [".gitignore", ".ignore", ".kodoignore", ".git"];

/// What one full walk saw (see the module documentation).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct WalkRecord {
    /// Every directory the walk entered, repo-relative (`""` is the root).
    pub dirs: Vec<DirRecord>,
    /// For each of the scan's files (in the cache's row order), its directory in `dirs`.
    pub file_dirs: Vec<u32>,
    /// Directories above the root and the global git files, by absolute path, with their
    /// stat (`None`: absent).
    pub outside: Vec<(String, Option<Stat>)>,
    /// Files the walk found but could not scan (binary, too large), with their stat.
    pub skipped: Vec<(Skipped, u32, Stat)>,
}

/// One directory of the walk.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct DirRecord {
    pub rel: String,
    pub stat: Stat,
    /// The ignore-rule files in it that exist, by name, with their stat; a `.git`
    /// directory's `info/exclude` is `.git/info/exclude`.
    pub ignores: Vec<(String, Option<Stat>)>,
}

// The field types differ between Unix systems: the casts are no-ops only on some.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)]
fn stat_of(s: &rustix::fs::Stat) -> Stat {
    let mtime_ns = (s.st_mtime as i128 * 1_000_000_000 + s.st_mtime_nsec as i128).max(0) as u64;
    Stat {
        size: s.st_size as u64,
        mtime_ns,
        inode: s.st_ino as u64,
    }
}

#[cfg(unix)]
fn is_dir(s: &rustix::fs::Stat) -> bool {
    rustix::fs::FileType::from_raw_mode(s.st_mode as _) == rustix::fs::FileType::Directory
}

#[cfg(unix)]
fn is_reg(s: &rustix::fs::Stat) -> bool {
    rustix::fs::FileType::from_raw_mode(s.st_mode as _) == rustix::fs::FileType::RegularFile
}

/// The stat of `path`, not following a symbolic link (`None`: absent or unreadable).
fn lstat(path: &Path) -> Option<Stat> {
    std::fs::symlink_metadata(path).ok().map(|m| Stat::of(&m))
}

/// A `.git` directory's own stat changes with every git command; only that it is a
/// directory (and which one) matters to the walk, so its size and time are left out.
fn git_dir_stat(inode: u64) -> Stat {
    Stat {
        size: 0,
        mtime_ns: 0,
        inode,
    }
}

/// The ignore-rule files of the directory at `dir` that exist, with their stat, and a
/// `.git` directory's `info/exclude` whether it exists or not (it can appear without the
/// directory's stat changing).
pub(crate) fn ignores_in(dir: &Path) -> Vec<(String, Option<Stat>)> {
    let mut out = Vec::new();
    for name in IGNORE_FILES {
        let path = dir.join(name);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if name == ".git" && meta.is_dir() {
            out.push((name.to_string(), Some(git_dir_stat(Stat::of(&meta).inode))));
            out.push((
                ".git/info/exclude".to_string(),
                lstat(&path.join("info/exclude")),
            ));
        } else {
            out.push((name.to_string(), Some(Stat::of(&meta))));
        }
    }
    out
}

/// Like [`ignores_in`], with every name listed, present or not (a directory above the root
/// is not checked by its own stat: unrelated entries come and go there).
fn all_ignores_in(dir: &Path) -> Vec<(String, Option<Stat>)> {
    let present = ignores_in(dir);
    let mut out: Vec<(String, Option<Stat>)> = IGNORE_FILES
        .iter()
        .map(|name| {
            let stat = present
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, s)| *s);
            (name.to_string(), stat)
        })
        .collect();
    out.push((
        ".git/info/exclude".to_string(),
        present
            .iter()
            .find(|(n, _)| n == ".git/info/exclude")
            .and_then(|(_, s)| *s),
    ));
    out
}

/// What the walk reads outside the walked directories: each directory above `base` with
/// its ignore files, a `.git` file's common directory's `info/exclude`, and the global git
/// configuration and excludes files (as the `ignore` crate finds them).
pub(crate) fn outside(base: &Path) -> Vec<(String, Option<Stat>)> {
    let mut out: Vec<(String, Option<Stat>)> = Vec::new();
    let abs = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
    for dir in abs.ancestors().skip(1) {
        for (name, stat) in all_ignores_in(dir) {
            out.push((dir.join(name).to_string_lossy().into_owned(), stat));
        }
    }
    // A worktree's `.git` file names its git directory, whose common directory holds the
    // `info/exclude` the walk reads.
    for dir in abs.ancestors() {
        if let Some(common) = git_commondir(dir) {
            let p = common.join("info/exclude");
            let s = lstat(&p);
            out.push((p.to_string_lossy().into_owned(), s));
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| !p.as_os_str().is_empty())
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let global = std::env::var_os("GIT_CONFIG_GLOBAL");
    out.push((
        format!(
            "GIT_CONFIG_GLOBAL={}",
            global
                .as_ref()
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default()
        ),
        None,
    ));
    let mut push = |p: PathBuf| {
        let s = lstat(&p);
        out.push((p.to_string_lossy().into_owned(), s));
    };
    if let Some(p) = global {
        push(PathBuf::from(p));
    }
    if let Some(h) = &home {
        push(h.join(".gitconfig"));
    }
    if let Some(x) = &xdg {
        push(x.join("git/config"));
        push(x.join("git/ignore"));
    }
    if let Some(p) = ignore::gitignore::gitconfig_excludes_path() {
        push(p);
    }
    out
}

/// The common git directory a `.git` file in `dir` points to (as `ignore` resolves it).
fn git_commondir(dir: &Path) -> Option<PathBuf> {
    let dot_git = dir.join(".git");
    if !std::fs::symlink_metadata(&dot_git).ok()?.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let git_dir = PathBuf::from(text.lines().next()?.strip_prefix("gitdir: ")?);
    let common = std::fs::read_to_string(git_dir.join("commondir")).ok()?;
    let line = common.lines().next()?;
    Some(if line.starts_with('.') {
        git_dir.join(line)
    } else {
        PathBuf::from(line)
    })
}

/// What [`check`] found: the tree's files are the recorded ones.
pub(crate) struct Checked {
    /// The rows whose stat now is not the cached one (or not trusted), by row, with their
    /// stat now; every other row is unchanged.
    pub changed: Vec<(usize, Stat)>,
    /// The files the walk could not scan, as it would report them again.
    pub skipped: Vec<Skipped>,
}

/// How many directories a thread of [`check`] takes at a time: small enough that the
/// threads end together, large enough that taking them costs nothing.
#[cfg(unix)]
const DIRS_AT_A_TIME: usize = 16;

/// One thread's share of [`check`]: the rows it found changed and the skipped files it
/// stat'ed (by their index in the record), each with its stat now.
#[cfg(unix)]
type Share = (Vec<(usize, Stat)>, Vec<(usize, Stat)>);

/// Whether a walk of `base` now would find exactly the files `record` lists (`paths`, the
/// cache's rows, and its skipped files); if so, the rows whose stat changed. `trusted`
/// says whether a stat was taken well after its last modification; `fresh(row, stat)`
/// whether a row's stat now is its cached one, trusted. `None`: walk in full.
///
/// The directories are shared out among the threads (the calling one among them) a few at
/// a time from a counter, so the threads end together whatever each directory holds; the
/// answer does not depend on which thread checked what (the changed rows are sorted).
#[cfg(unix)]
pub(crate) fn check(
    base: &Path,
    record: &WalkRecord,
    paths: &[&str],
    trusted: &(dyn Fn(&Stat) -> bool + Sync),
    fresh: &(dyn Fn(usize, &Stat) -> bool + Sync),
) -> Option<Checked> {
    use rustix::fs::{AtFlags, Mode, OFlags};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    if record.file_dirs.len() != paths.len() || record.dirs.is_empty() {
        return None;
    }
    let outside_now = outside(base);
    if outside_now != record.outside
        || record
            .outside
            .iter()
            .any(|(_, s)| s.as_ref().is_some_and(|s| !trusted(s)))
    {
        return None;
    }
    // Each directory's files (rows, and skipped files by their index after the rows), as
    // one flat list: directory `d`'s are `members[starts[d]..starts[d + 1]]`.
    let n = paths.len();
    let dirs = record.dirs.len();
    let mut starts = vec![0u32; dirs + 1];
    for &d in &record.file_dirs {
        *starts.get_mut(d as usize + 1)? += 1;
    }
    for (_, d, _) in &record.skipped {
        *starts.get_mut(*d as usize + 1)? += 1;
    }
    for d in 0..dirs {
        starts[d + 1] += starts[d];
    }
    let mut next = starts.clone();
    let mut members = vec![0u32; n + record.skipped.len()];
    let dir_of = record
        .file_dirs
        .iter()
        .copied()
        .chain(record.skipped.iter().map(|(_, d, _)| *d));
    for (i, d) in dir_of.enumerate() {
        let at = &mut next[d as usize];
        members[*at as usize] = i as u32;
        *at += 1;
    }
    let name_of = |i: u32| -> &str {
        let i = i as usize;
        let path = if i < n {
            paths[i]
        } else {
            record.skipped[i - n].0.path.as_str()
        };
        path.rsplit_once('/').map_or(path, |(_, f)| f)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(8)
        .min(dirs.div_ceil(DIRS_AT_A_TIME));
    // Directories are opened relative to the root's descriptor: only their own path's
    // components are looked up, not the root's again for each of them.
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let root = rustix::fs::open(base, dir_flags, Mode::empty()).ok()?;
    let taken = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    // One thread's share, or `None` (walk in full; the other threads stop at their next
    // directories).
    let work = || -> Option<Share> {
        let (mut changed, mut skipped) = (Vec::new(), Vec::new());
        let mut run = || -> Option<()> {
            loop {
                if failed.load(Ordering::Relaxed) {
                    return None;
                }
                let first = taken.fetch_add(DIRS_AT_A_TIME, Ordering::Relaxed);
                if first >= dirs {
                    return Some(());
                }
                for d in first..(first + DIRS_AT_A_TIME).min(dirs) {
                    let dir = &record.dirs[d];
                    let rel = if dir.rel.is_empty() {
                        "."
                    } else {
                        dir.rel.as_str()
                    };
                    let fd = rustix::fs::openat(&root, rel, dir_flags, Mode::empty()).ok()?;
                    let now = stat_of(&rustix::fs::fstat(&fd).ok()?);
                    if now != dir.stat || !trusted(&now) {
                        return None;
                    }
                    for (name, stat) in &dir.ignores {
                        let now = rustix::fs::statat(&fd, name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                            .ok()
                            .map(|s| {
                                if name == ".git" && is_dir(&s) {
                                    git_dir_stat(stat_of(&s).inode)
                                } else {
                                    stat_of(&s)
                                }
                            });
                        if now != *stat || stat.as_ref().is_some_and(|s| !trusted(s)) {
                            return None;
                        }
                    }
                    for &i in &members[starts[d] as usize..starts[d + 1] as usize] {
                        let s =
                            rustix::fs::statat(&fd, name_of(i), AtFlags::SYMLINK_NOFOLLOW).ok()?;
                        if !is_reg(&s) {
                            return None;
                        }
                        let (i, s) = (i as usize, stat_of(&s));
                        if i >= n {
                            skipped.push((i - n, s));
                        } else if !fresh(i, &s) {
                            changed.push((i, s));
                        }
                    }
                }
            }
        };
        match run() {
            Some(()) => Some((changed, skipped)),
            None => {
                failed.store(true, Ordering::Relaxed);
                None
            }
        }
    };
    let parts: Vec<Option<Share>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut parts = vec![work()];
        parts.extend(handles.into_iter().map(|h| h.join().ok().flatten()));
        parts
    });
    let mut changed = Vec::new();
    for part in parts {
        let (rows, skipped) = part?;
        changed.extend(rows);
        for (k, s) in skipped {
            // A skipped file changed: it may be scannable now.
            let (_, _, was) = &record.skipped[k];
            if s != *was || !trusted(was) {
                return None;
            }
        }
    }
    changed.sort_unstable_by_key(|(i, _)| *i);
    Some(Checked {
        changed,
        skipped: record.skipped.iter().map(|(s, _, _)| s.clone()).collect(),
    })
}

/// No `fstatat` here: always walk in full.
#[cfg(not(unix))]
pub(crate) fn check(
    _base: &Path,
    _record: &WalkRecord,
    _paths: &[&str],
    _trusted: &(dyn Fn(&Stat) -> bool + Sync),
    _fresh: &(dyn Fn(usize, &Stat) -> bool + Sync),
) -> Option<Checked> {
    None
}

/// Whether a record of walks can be kept on this platform.
pub(crate) const SUPPORTED: bool = cfg!(unix);

/// Builds the record of a full walk from the directories it entered (with their stat and
/// ignore files, taken when the walk entered them), the scan's files in row order and the
/// files it skipped. `None` when the walk cannot be checked later (an unreadable file: its
/// permissions may change without its stat).
pub(crate) fn build(
    base: &Path,
    mut dirs: Vec<DirRecord>,
    paths: &[&str],
    skipped: &[Skipped],
) -> Option<WalkRecord> {
    if !SUPPORTED || dirs.is_empty() {
        return None;
    }
    dirs.sort_by(|a, b| a.rel.cmp(&b.rel));
    let dir_of = |path: &str| -> Option<u32> {
        let parent = path.rsplit_once('/').map_or("", |(d, _)| d);
        dirs.binary_search_by(|d| d.rel.as_str().cmp(parent))
            .ok()
            .map(|i| i as u32)
    };
    let file_dirs: Option<Vec<u32>> = paths.iter().map(|p| dir_of(p)).collect();
    let mut kept = Vec::new();
    for s in skipped {
        if s.reason == SkipReason::Unreadable || s.reason == SkipReason::Minified {
            if s.reason == SkipReason::Unreadable {
                return None;
            }
            continue;
        }
        let stat = lstat(&base.join(&s.path))?;
        kept.push((s.clone(), dir_of(&s.path)?, stat));
    }
    Some(WalkRecord {
        file_dirs: file_dirs?,
        outside: outside(base),
        skipped: kept,
        dirs,
    })
}
