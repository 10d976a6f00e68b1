//! The full scan as two stages with a cache between them: a per-file pass that reads each
//! file once and extracts everything the later stages need ([`FileExtract`]), and the
//! cross-file stage (identifier resolution) that works from those extracts.
//!
//! The per-file pass records, for every file, its references (resolved within the file
//! where possible, with where their imports point), every string constant it defines when
//! it was tokenized, and a filter of the words it contains ([`Words`]). The cross-file
//! stage then needs a file's bytes only when its word filter says it may define a name
//! still unresolved and it was not tokenized yet; it fills in that file's definitions, so
//! the cache remembers them.
//!
//! With a cache ([`crate::ScanOptions::cache_dir`]), a file whose size, modification time
//! and inode are unchanged is not read at all; a file whose stat changed but whose content
//! hash did not is read but not re-extracted; only the others are extracted again. The
//! cross-file stage always runs again, over all extracts, so results are identical with and
//! without the cache.
//!
//! Invariants: the per-file extract depends only on the file's bytes, its path and the
//! settings (whose fingerprint the cache checks); resolution reads a file only through the
//! same walk rules as the scan (never through a symbolic link, never outside the root).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::{self, CacheStatus, Entry, Stat};
use crate::defs::{find_defs, Def};
use crate::imports::Origin;
use crate::lang::{Family, Lang};
use crate::lexer::{tokenize, Token};
use crate::patterns::Table;
use crate::resolve::{candidate_files, last_segment, DefIndex, Resolution};
use crate::scan::{apply, assemble, file_refs};
use crate::settings::Compiled;
use crate::walk::{base_dir, is_minified, read_source, walk_files};
use crate::words::Words;
use crate::{Reference, ScanError, ScanOptions, ScanReport, ScanSettings, ScanStats};

/// What the per-file pass extracts from one file (what the cache stores per file).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct FileExtract {
    /// References, with identifiers resolved within the file where possible, and where an
    /// unresolved identifier's import points.
    pub refs: Vec<(Reference, Option<(Origin, String)>)>,
    /// Every string constant the file defines, once the file has been tokenized.
    pub defs: Option<Vec<Def>>,
    /// The words the file contains.
    pub words: Words,
}

type Files = Vec<(String, Entry<FileExtract>)>;

/// How the per-file pass dealt with one file.
enum Seen {
    /// Stat unchanged: the cached entry stands, the file was not read.
    Unchanged(Stat),
    /// Stat changed, content the same: the cached extract stands.
    SameContent(Stat),
    /// Extracted now.
    Extracted(Entry<FileExtract>),
}

#[derive(Default)]
struct Pass {
    files: Vec<(String, Seen)>,
    toks: Vec<Token>,
}

/// A fingerprint of everything besides a file's bytes and path that its extract depends on.
fn fingerprint(settings: &ScanSettings) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    cache::FORMAT.hash(&mut h);
    format!("{settings:?}").hash(&mut h);
    h.finish()
}

/// The per-file pass over one file's bytes.
fn extract(
    rel: &str,
    lang: Lang,
    bytes: &[u8],
    table: &Table,
    compiled: &Compiled,
    toks: &mut Vec<Token>,
) -> FileExtract {
    let words = Words::of(bytes);
    if !table.worth_parsing(bytes) || is_minified(bytes) {
        return FileExtract {
            refs: Vec::new(),
            defs: None,
            words,
        };
    }
    let refs = file_refs(rel, lang, bytes, table, compiled, toks);
    // `file_refs` left the file's tokens in `toks`.
    let defs = find_defs(bytes, toks, lang, &|_| true);
    FileExtract {
        refs,
        defs: Some(defs),
        words,
    }
}

/// See [`crate::scan_with`].
pub(crate) fn scan(
    root: &Path,
    settings: &ScanSettings,
    options: &ScanOptions,
) -> Result<(ScanReport, ScanStats), ScanError> {
    let compiled = Compiled::new(settings)?;
    let table = Table::new(settings)?;
    let settings_id = fingerprint(settings);
    let started = cache::now_ns();
    let clock = std::time::Instant::now();
    let mut phases: Vec<(&'static str, std::time::Duration)> = Vec::new();
    let lap = |name: &'static str, phases: &mut Vec<(&'static str, std::time::Duration)>| {
        let total: std::time::Duration = phases.iter().map(|(_, d)| *d).sum();
        phases.push((name, clock.elapsed().saturating_sub(total)));
    };
    let cache_path = options.cache_dir.as_ref().map(|d| cache::file_for(d, root));
    let (prev, status) = match &cache_path {
        None => (None, CacheStatus::Disabled),
        Some(path) => match cache::load::<FileExtract>(path, settings_id) {
            Ok(loaded) => (Some(loaded), CacheStatus::Used),
            Err(status) => (None, status),
        },
    };
    lap("read cache", &mut phases);
    let states = walk_files(
        root,
        &compiled,
        &|_| true,
        Pass::default,
        |st, rel, lang, file| {
            let stat = file.stat().unwrap_or(Stat {
                size: 0,
                mtime_ns: 0,
                inode: 0,
            });
            if prev.as_ref().is_some_and(|p| p.fresh(rel, &stat).is_some()) {
                st.files.push((rel.to_string(), Seen::Unchanged(stat)));
                return;
            }
            let Some(bytes) = file.read() else {
                return;
            };
            let hash = cache::content_hash(bytes);
            let same = prev
                .as_ref()
                .and_then(|p| p.entries.get(rel))
                .is_some_and(|e| e.hash == hash);
            let seen = if same {
                Seen::SameContent(stat)
            } else {
                Seen::Extracted(Entry {
                    stat,
                    hash,
                    extract: extract(rel, lang, bytes, &table, &compiled, &mut st.toks),
                })
            };
            st.files.push((rel.to_string(), seen));
        },
    )?;
    lap("walk and per-file pass", &mut phases);
    let (mut prev_entries, prev_count) = match prev {
        Some(p) => {
            let n = p.entries.len();
            (p.entries, n)
        }
        None => (HashMap::new(), 0),
    };
    let mut stats = ScanStats {
        cache: status,
        ..ScanStats::default()
    };
    let mut files: Files = Vec::new();
    for (rel, seen) in states.into_iter().flat_map(|s| s.files) {
        let entry = match seen {
            Seen::Extracted(entry) => {
                stats.files_extracted += 1;
                entry
            }
            Seen::Unchanged(stat) | Seen::SameContent(stat) => {
                let Some(mut entry) = prev_entries.remove(&rel) else {
                    continue;
                };
                if matches!(seen, Seen::Unchanged(_)) {
                    stats.files_unchanged += 1;
                } else {
                    stats.files_rehashed += 1;
                }
                entry.stat = stat;
                entry
            }
        };
        files.push((rel, entry));
    }
    let scanned = files.len();
    let matched = files
        .iter()
        .filter(|(_, e)| !e.extract.refs.is_empty())
        .count();
    let mut refs: Vec<Found> = files
        .iter()
        .flat_map(|(rel, e)| {
            let family = Lang::from_path(rel).map(Lang::family);
            e.extract
                .refs
                .iter()
                .filter_map(move |(r, o)| family.map(|f| (r.clone(), f, o.clone())))
        })
        .collect();
    lap("merge with cache", &mut phases);
    let base = base_dir(root);
    let mut store = DefStore {
        base: &base,
        files: &mut files,
        read: 0,
    };
    resolve(&mut store, &mut refs);
    stats.files_read_to_resolve = store.read;
    let defs_filled = store.read > 0;
    let report = assemble(
        refs.into_iter().map(|(r, _, _)| r).collect(),
        scanned,
        matched,
    );
    lap("resolve and assemble", &mut phases);

    if let Some(path) = &cache_path {
        let changed = stats.cache != CacheStatus::Used
            || stats.files_extracted > 0
            || stats.files_rehashed > 0
            || defs_filled
            || prev_count != files.len();
        if changed {
            let entries: Vec<(&str, &Entry<FileExtract>)> =
                files.iter().map(|(p, e)| (p.as_str(), e)).collect();
            if let Err(e) = cache::save(path, settings_id, started, &entries) {
                stats.cache_error = Some(format!(
                    "cannot write the scan cache `{}`: {e}",
                    path.display()
                ));
            } else {
                stats.cache_written = true;
            }
        }
        lap("write cache", &mut phases);
    }
    stats.phases = phases;
    Ok((report, stats))
}

type Found = (Reference, Family, Option<(Origin, String)>);

/// Every file of the scan with its extract, and reads of files whose definitions are not
/// known yet.
struct DefStore<'a> {
    base: &'a Path,
    files: &'a mut Files,
    /// Files read to find definitions.
    read: usize,
}

impl DefStore<'_> {
    /// Fills in the definitions of the files at `idxs` that may define one of `names`
    /// (last segments) and were not tokenized yet, reading them in parallel.
    fn fill(&mut self, idxs: &[usize], names: &HashSet<String>) {
        let need: Vec<(usize, PathBuf, Lang)> = idxs
            .iter()
            .copied()
            .filter(|&i| {
                let e = &self.files[i].1.extract;
                e.defs.is_none() && names.iter().any(|n| e.words.may_contain(n))
            })
            .filter_map(|i| {
                let rel = &self.files[i].0;
                Lang::from_path(rel).map(|l| (i, self.base.join(rel), l))
            })
            .collect();
        if need.is_empty() {
            return;
        }
        self.read += need.len();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        let chunk = need.len().div_ceil(threads).max(1);
        let found: Vec<(usize, Vec<Def>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = need
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let (mut buf, mut toks) = (Vec::new(), Vec::new());
                        let mut out = Vec::new();
                        for (i, path, lang) in part {
                            if !read_source(path, &mut buf) {
                                continue;
                            }
                            tokenize(&buf, *lang, &mut toks);
                            out.push((*i, find_defs(&buf, &toks, *lang, &|_| true)));
                        }
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for (i, defs) in found {
            self.files[i].1.extract.defs = Some(defs);
        }
    }

    /// The definitions at `idx` whose last segment is one of `names`.
    fn defs_named<'s>(
        &'s self,
        idx: usize,
        names: &'s HashSet<String>,
    ) -> impl Iterator<Item = &'s Def> + 's {
        self.files[idx]
            .1
            .extract
            .defs
            .iter()
            .flatten()
            .filter(move |d| {
                d.chain
                    .last()
                    .is_some_and(|l| names.contains(l.trim_start_matches('@')))
            })
    }
}

/// Resolves the identifiers `refs` still carry, as [`crate::scan`] always has: names whose
/// import says where they live in just those files (falling back to a wider search when
/// those files do not define them), the rest against every file of the language family.
fn resolve(store: &mut DefStore<'_>, refs: &mut [Found]) {
    let pending =
        |r: &Reference| r.key.is_none() && r.dynamic_reason.is_none() && r.identifier.is_some();
    // Names whose import says where they live.
    let targeted: Vec<usize> = (0..refs.len())
        .filter(|&i| {
            let (r, _, hint) = &refs[i];
            pending(r) && matches!(hint, Some((Origin::Stem(_) | Origin::Dir(_), _)))
        })
        .collect();
    if !targeted.is_empty() {
        let requests: Vec<(Origin, Family, String)> = targeted
            .iter()
            .filter_map(|&i| {
                let (_, family, hint) = &refs[i];
                hint.as_ref().map(|(o, l)| (o.clone(), *family, l.clone()))
            })
            .collect();
        let resolutions = resolve_targeted(store, &requests);
        for (&i, resolution) in targeted.iter().zip(&resolutions) {
            if *resolution != Resolution::Unresolved {
                apply(&mut refs[i].0, resolution);
            }
        }
    }
    // The rest: every file of the family that defines one of the names.
    let mut wanted: HashMap<Family, HashSet<String>> = HashMap::new();
    for (r, family, hint) in refs.iter() {
        if let (true, Some(id)) = (pending(r), &r.identifier) {
            let lookup = hint.as_ref().map_or(id, |(_, l)| l);
            let last = last_segment(lookup);
            if !last.is_empty() {
                wanted.entry(*family).or_default().insert(last.to_string());
            }
        }
    }
    if wanted.is_empty() {
        return;
    }
    let mut index: HashMap<Family, DefIndex> = HashMap::new();
    let families: BTreeSet<Family> = wanted.keys().copied().collect();
    let family_of: Vec<Option<Family>> = store
        .files
        .iter()
        .map(|(p, _)| Lang::from_path(p).map(Lang::family))
        .collect();
    for family in families {
        let names = &wanted[&family];
        let idxs: Vec<usize> = (0..store.files.len())
            .filter(|&i| family_of[i] == Some(family))
            .collect();
        store.fill(&idxs, names);
        let mut found = DefIndex::default();
        for &i in &idxs {
            for d in store.defs_named(i, names) {
                found.push(d.clone(), &store.files[i].0);
            }
        }
        index.insert(family, found);
    }
    let empty = DefIndex::default();
    for (r, family, hint) in refs.iter_mut() {
        if let (true, Some(id)) = (pending(r), r.identifier.clone()) {
            let (origin, lookup) = match hint {
                Some((o, l)) => (Some(&*o), l.as_str()),
                None => (None, id.as_str()),
            };
            let resolution = index
                .get(family)
                .unwrap_or(&empty)
                .lookup_from(lookup, origin);
            apply(r, &resolution);
        }
    }
}

/// [`crate::resolve::resolve_targeted`] over the store: a candidate file the scan walked is
/// looked up in its extract (read only if its definitions are not known yet and it may
/// define the name); one the walk skipped is read as the resolver always has.
fn resolve_targeted(
    store: &mut DefStore<'_>,
    requests: &[(Origin, Family, String)],
) -> Vec<Resolution> {
    let base = store.base;
    let mut files_of: Vec<Vec<String>> = Vec::with_capacity(requests.len());
    let mut wanted: HashMap<String, HashSet<String>> = HashMap::new();
    let mut candidates: HashMap<(&Origin, Family), Vec<String>> = HashMap::new();
    for (origin, family, name) in requests {
        let files = candidates
            .entry((origin, *family))
            .or_insert_with(|| candidate_files(base, origin, *family))
            .clone();
        for f in &files {
            wanted
                .entry(f.clone())
                .or_default()
                .insert(last_segment(name).to_string());
        }
        files_of.push(files);
    }
    let mut walked: Vec<(usize, &HashSet<String>)> = Vec::new();
    let mut outside: HashMap<String, HashSet<String>> = HashMap::new();
    {
        let position: HashMap<&str, usize> = store
            .files
            .iter()
            .enumerate()
            .map(|(i, (p, _))| (p.as_str(), i))
            .collect();
        for (rel, names) in &wanted {
            match position.get(rel.as_str()) {
                Some(&i) => walked.push((i, names)),
                None => {
                    outside.insert(rel.clone(), names.clone());
                }
            }
        }
    }
    // Fill in the walked files' definitions: one parallel read for all of them.
    let all_names: HashSet<String> = walked.iter().flat_map(|(_, n)| n.iter().cloned()).collect();
    let idxs: Vec<usize> = walked
        .iter()
        .filter(|(i, names)| {
            let words = &store.files[*i].1.extract.words;
            names.iter().any(|n| words.may_contain(n))
        })
        .map(|(i, _)| *i)
        .collect();
    store.fill(&idxs, &all_names);
    let mut defs_of: HashMap<String, Vec<Def>> = HashMap::new();
    for (i, names) in &walked {
        let defs: Vec<Def> = store.defs_named(*i, names).cloned().collect();
        defs_of.insert(store.files[*i].0.clone(), defs);
    }
    defs_of.extend(crate::resolve::read_defs(base, &outside));
    requests
        .iter()
        .zip(files_of)
        .map(|((origin, _, name), files)| {
            let mut index = DefIndex::default();
            for f in &files {
                for d in defs_of.get(f).into_iter().flatten() {
                    index.push(d.clone(), f);
                }
            }
            index.lookup_from(name, Some(origin))
        })
        .collect()
}
