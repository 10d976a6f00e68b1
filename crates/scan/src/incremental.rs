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
use crate::infer::{self, FileFacts, Inferred};
use crate::lang::{Family, Lang};
use crate::lexer::{tokenize, Token};
use crate::patterns::Table;
use crate::resolve::{last_segment, DefIndex, Resolution};
use crate::scan::{apply, assemble, file_refs, wrapper_reports, Found, MAX_INFERENCE_ROUNDS};
use crate::settings::Compiled;
use crate::walk::{base_dir, is_minified, read_source, walk_files};
use crate::words::Words;
use crate::{
    Reference, ScanError, ScanOptions, ScanReport, ScanSettings, ScanStats, SkipReason, Skipped,
};

/// What the per-file pass extracts from one file (what the cache stores per file).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct FileExtract {
    /// References, with identifiers resolved within the file where possible, where an
    /// unresolved identifier's import points, and whose parameter a key is.
    pub refs: Vec<Found>,
    /// The file's facts for wrapper inference (its functions' sinks and forwards, hook
    /// bindings), when it was tokenized and has any.
    pub facts: Option<FileFacts>,
    /// It was tokenized by the per-file pass (it contains a call name).
    pub tokenized: bool,
    /// Minified code containing a call name: not scanned, reported as skipped.
    pub minified: bool,
    /// Every string constant the file defines, once the file has been tokenized.
    pub defs: Option<Vec<Def>>,
    /// The words the file contains.
    pub words: Words,
    /// What the inference rounds of the scan that wrote this found in the file, each under
    /// the key of its round (the round's number, its new wrapper names and every wrapper
    /// inferred so far): reused while the keys match.
    pub rounds: Vec<RoundResult>,
}

/// One inference round's findings in one file.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct RoundResult {
    key: u64,
    refs: Vec<Found>,
    facts: FileFacts,
}

type Files = Vec<(String, Entry<FileExtract>)>;

/// How the per-file pass dealt with one file.
enum Seen {
    /// Stat unchanged: the cached entry stands, the file was not read.
    Unchanged(Stat),
    /// Stat changed, content the same: the cached extract stands.
    SameContent(Stat),
    /// Extracted now.
    Extracted(Box<Entry<FileExtract>>),
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
    let mut out = FileExtract {
        refs: Vec::new(),
        facts: None,
        tokenized: false,
        minified: false,
        defs: None,
        words: Words::of(bytes),
        rounds: Vec::new(),
    };
    if !table.worth_parsing(bytes) {
        return out;
    }
    if is_minified(bytes) {
        out.minified = true;
        return out;
    }
    let (refs, facts) = file_refs(rel, lang, bytes, table, compiled, toks, None);
    // `file_refs` left the file's tokens in `toks`.
    out.defs = Some(find_defs(bytes, toks, lang, &|_| true));
    out.refs = refs;
    out.tokenized = true;
    if facts.has_any() {
        out.facts = Some(facts);
    }
    out
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
    let (states, mut skipped) = walk_files(
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
                Seen::Extracted(Box::new(Entry {
                    stat,
                    hash,
                    extract: extract(rel, lang, bytes, &table, &compiled, &mut st.toks),
                }))
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
                *entry
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
    drop(prev_entries);
    lap("merge with cache", &mut phases);

    let base = base_dir(root);
    let mut store = DefStore {
        base: &base,
        files: &mut files,
        read: 0,
        changed: false,
    };
    let mut scanned = 0;
    let mut matched_files: HashSet<usize> = HashSet::new();
    let mut refs: Vec<Found> = Vec::new();
    for (i, (rel, e)) in store.files.iter().enumerate() {
        if e.extract.minified {
            skipped.push(Skipped {
                path: rel.clone(),
                reason: SkipReason::Minified,
            });
            continue;
        }
        scanned += 1;
        if !e.extract.refs.is_empty() {
            matched_files.insert(i);
        }
        refs.extend(e.extract.refs.iter().cloned());
    }
    let inferred = if settings.infer_wrappers {
        infer_rounds(
            &mut store,
            settings,
            &compiled,
            &mut refs,
            &mut matched_files,
        )?
    } else {
        Vec::new()
    };
    lap("wrapper inference", &mut phases);
    resolve(&mut store, &mut refs);
    stats.files_read_to_resolve = store.read;
    let defs_changed = store.changed;
    let mut report = assemble(
        refs.into_iter().map(|f| f.r).collect(),
        scanned,
        matched_files.len(),
        settings.include_tests,
    );
    report.wrappers = wrapper_reports(settings, &inferred);
    skipped.sort();
    report.skipped = skipped;
    lap("resolve and assemble", &mut phases);

    if let Some(path) = &cache_path {
        let changed = stats.cache != CacheStatus::Used
            || stats.files_extracted > 0
            || stats.files_rehashed > 0
            || defs_changed
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

/// The key of one inference round: what its findings in a file depend on besides the
/// file's bytes and the settings.
fn round_key(round: usize, fresh: &HashSet<String>, inferred: &[Inferred]) -> u64 {
    let mut names: Vec<&String> = fresh.iter().collect();
    names.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    round.hash(&mut h);
    names.hash(&mut h);
    format!("{inferred:?}").hash(&mut h);
    h.finish()
}

/// Wrapper inference as [`crate::scan`] does it: the wrappers are closed over every file's
/// facts, then each round looks for call sites of the wrappers new in it, in the files
/// whose words contain their names (read only when the cache has no findings for the same
/// round key), until no new wrapper appears. Returns the wrappers inferred; `refs` gains
/// the call sites, and loses the keys that are an inferred wrapper's own parameter.
fn infer_rounds(
    store: &mut DefStore<'_>,
    settings: &ScanSettings,
    compiled: &Compiled,
    refs: &mut Vec<Found>,
    matched_files: &mut HashSet<usize>,
) -> Result<Vec<Inferred>, ScanError> {
    let configured: BTreeSet<String> = settings
        .wrappers
        .iter()
        .map(|w| w.call.rsplit('.').next().unwrap_or(&w.call).to_string())
        .collect();
    let mut facts: Vec<FileFacts> = store
        .files
        .iter()
        .filter_map(|(_, e)| e.extract.facts.clone())
        .collect();
    let mut tokenized: Vec<bool> = store
        .files
        .iter()
        .map(|(_, e)| e.extract.tokenized)
        .collect();
    let mut kept: Vec<Vec<RoundResult>> = vec![Vec::new(); store.files.len()];
    let mut done: HashSet<String> = HashSet::new();
    let mut inferred: Vec<Inferred> = Vec::new();
    for round in 0..MAX_INFERENCE_ROUNDS {
        inferred = infer::close(&facts, &configured);
        let fresh: HashSet<String> = inferred
            .iter()
            .filter(|w| !w.returned && !done.contains(&w.name) && !w.key_at(false).is_empty())
            .map(|w| w.name.clone())
            .collect();
        if fresh.is_empty() {
            break;
        }
        let key = round_key(round, &fresh, &inferred);
        let candidates: Vec<usize> = (0..store.files.len())
            .filter(|&i| {
                let e = &store.files[i].1.extract;
                !e.minified && fresh.iter().any(|n| e.words.may_contain(n))
            })
            .collect();
        let mut results: Vec<(usize, RoundResult)> = Vec::new();
        let mut to_read: Vec<usize> = Vec::new();
        for &i in &candidates {
            match store.files[i]
                .1
                .extract
                .rounds
                .iter()
                .find(|r| r.key == key)
            {
                Some(r) => results.push((i, r.clone())),
                None => to_read.push(i),
            }
        }
        if !to_read.is_empty() {
            let table = Table::with_inferred(settings, &inferred)?;
            store.read += to_read.len();
            let jobs: Vec<(usize, &str)> = to_read
                .iter()
                .map(|&i| (i, store.files[i].0.as_str()))
                .collect();
            let base = store.base;
            let found = parallel(&jobs, |(i, rel), buf, toks| {
                let lang = Lang::from_path(rel)?;
                read_source(&base.join(rel), buf).ok()?;
                if is_minified(buf) {
                    return None;
                }
                let (refs, facts) = file_refs(rel, lang, buf, &table, compiled, toks, Some(&fresh));
                Some((*i, RoundResult { key, refs, facts }))
            });
            results.extend(found);
        }
        results.sort_by_key(|(i, _)| *i);
        for (i, result) in results {
            if !result.refs.is_empty() {
                matched_files.insert(i);
            }
            refs.extend(result.refs.iter().cloned());
            if !tokenized[i] {
                tokenized[i] = true;
                if result.facts.has_any() {
                    facts.push(result.facts.clone());
                }
            }
            kept[i].push(result);
        }
        done.extend(fresh);
    }
    // Keep exactly this scan's findings in the cache.
    for (i, rounds) in kept.into_iter().enumerate() {
        let e = &mut store.files[i].1.extract;
        let same = e.rounds.len() == rounds.len()
            && e.rounds.iter().zip(&rounds).all(|(a, b)| a.key == b.key);
        if !same {
            e.rounds = rounds;
            store.changed = true;
        }
    }
    // A key that is a wrapper's own parameter is not a reference: its call sites are. A
    // wrapper nothing in the repository calls (a framework's entry point: a view, a handler)
    // has no call sites, so its body's reference stays, dynamic.
    let called: HashSet<(Family, &str)> = refs
        .iter()
        .filter_map(|f| f.via.as_deref().map(|v| (f.family, v)))
        .collect();
    let wrapper_names: HashSet<(Family, &str)> = inferred
        .iter()
        // (A receiver's method, `e.PosthogEvent()`, is reached only through other wrappers.)
        .filter(|w| called.contains(&(w.family, w.name.as_str())) || w.key_at(false).is_empty())
        .map(|w| (w.family, w.origin.as_str()))
        .collect();
    refs.retain(|f| {
        f.param_of
            .as_deref()
            .is_none_or(|n| !wrapper_names.contains(&(f.family, n)))
    });
    let uncalled: HashSet<(Family, &str)> = inferred
        .iter()
        .map(|w| (w.family, w.origin.as_str()))
        .filter(|k| !wrapper_names.contains(k))
        .collect();
    for f in refs.iter_mut() {
        if f.param_of
            .as_deref()
            .is_some_and(|n| uncalled.contains(&(f.family, n)))
        {
            if let Some(reason) = &mut f.r.dynamic_reason {
                reason.push_str(", which nothing in the repository calls");
            }
        }
    }
    Ok(inferred)
}

/// Runs `job` over `jobs` on a few threads, each with its own read buffer and token vector.
fn parallel<J: Sync, T: Send>(
    jobs: &[J],
    job: impl Fn(&J, &mut Vec<u8>, &mut Vec<Token>) -> Option<T> + Sync,
) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = jobs.len().div_ceil(threads).max(1);
    let job = &job;
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let (mut buf, mut toks) = (Vec::new(), Vec::new());
                    part.iter()
                        .filter_map(|j| job(j, &mut buf, &mut toks))
                        .collect::<Vec<T>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Every file of the scan with its extract, and reads of files whose definitions are not
/// known yet.
struct DefStore<'a> {
    base: &'a Path,
    files: &'a mut Files,
    /// Files read after the per-file pass (for definitions, or inference rounds).
    read: usize,
    /// An entry gained definitions or round findings: the cache is worth rewriting.
    changed: bool,
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
        let found = parallel(&need, |(i, path, lang), buf, toks| {
            read_source(path, buf).ok()?;
            tokenize(buf, *lang, toks);
            Some((*i, find_defs(buf, toks, *lang, &|_| true)))
        });
        self.changed = true;
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
            let Found { r, hint, .. } = &refs[i];
            pending(r) && matches!(hint, Some((Origin::Stem(_) | Origin::Dir(_), _)))
        })
        .collect();
    if !targeted.is_empty() {
        let requests: Vec<(Origin, Family, String)> = targeted
            .iter()
            .filter_map(|&i| {
                let Found { family, hint, .. } = &refs[i];
                hint.as_ref().map(|(o, l)| (o.clone(), *family, l.clone()))
            })
            .collect();
        let resolutions = resolve_targeted(store, &requests);
        for (&i, resolution) in targeted.iter().zip(&resolutions) {
            if *resolution != Resolution::Unresolved {
                apply(&mut refs[i].r, resolution);
            }
        }
    }
    // The rest: every file of the family that defines one of the names.
    let mut wanted: HashMap<Family, HashSet<String>> = HashMap::new();
    for Found {
        r, family, hint, ..
    } in refs.iter()
    {
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
    for Found {
        r, family, hint, ..
    } in refs.iter_mut()
    {
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
    let (files_of, wanted) = crate::resolve::candidates_of(base, requests);
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
