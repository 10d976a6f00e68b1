//! The full scan as two stages with a cache between them: a per-file pass that reads each
//! file once and extracts everything the later stages need ([`FileExtract`]), and the
//! cross-file stage (wrapper inference, identifier resolution) that works from those
//! extracts.
//!
//! The per-file pass records, for every file, its references (resolved within the file
//! where possible, with where their imports point), every string constant it defines when
//! it was tokenized, and a filter of the words it contains ([`Words`]). The cross-file
//! stage then needs a file's bytes only when its word filter says it may define a name
//! still unresolved and it was not tokenized yet; it fills in that file's definitions, so
//! the cache remembers them.
//!
//! With a cache ([`crate::ScanOptions::cache_dir`]), a file whose size, modification time
//! and inode are unchanged is not read at all, and its extract is not even decoded unless
//! the cross-file stage needs it; a file whose stat changed but whose content hash did not
//! is read but not re-extracted; only the others are extracted again. The cache also keeps
//! the scan's final result ([`Outcome`]: every reference after inference and resolution,
//! the inference rounds, what resolution looked at outside the walked files). What a re-scan
//! does then depends on what changed:
//!
//! - nothing (every file's stat, and every file resolution probed outside the walk, as
//!   cached): the cached result is the result; no source file is read, no extract decoded,
//!   the cache is not rewritten;
//! - files whose contribution to the cross-file stage is the same as before (the same
//!   inference facts in the same round, the same definitions of every name resolution
//!   looked up): only those files' references are recomputed (their inference rounds
//!   replayed from the cached plan, their identifiers resolved), the others' stand;
//! - anything else: the cross-file stage runs again over every extract, exactly as without
//!   a cache.
//!
//! So results are identical with and without the cache.
//!
//! Invariants: the per-file extract depends only on the file's bytes, its path and the
//! settings (whose fingerprint the cache checks); resolution reads a file only through the
//! same walk rules as the scan (never through a symbolic link, never outside the root).

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::cache::{self, CacheStatus, Extract, Loc, Row, Stat, Summary, View, Writer};
use crate::defs::{find_defs, Def};
use crate::imports::Origin;
use crate::infer::{self, FileFacts, Inferred};
use crate::lang::{Family, Lang};
use crate::lexer::{tokenize, Token};
use crate::patterns::Table;
use crate::resolve::{last_segment, DefIndex, Resolution};
use crate::scan::{
    assemble, called_names, drop_wrapper_params, file_refs, file_refs_defs, wrapper_reports, Found,
    MAX_INFERENCE_ROUNDS,
};
use crate::settings::Compiled;
use crate::walk::{base_dir, is_minified, read_source, walk_files, walk_recording, SourceFile};
use crate::walkcache::{self, WalkRecord};
use crate::words::Words;
use crate::{
    Reference, ScanError, ScanOptions, ScanReport, ScanSettings, ScanStats, SkipReason, Skipped,
};

/// What the per-file pass extracts from one file (what the cache stores per file, decoded
/// only when needed).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub(crate) struct FileExtract {
    /// References, with identifiers resolved within the file where possible, where an
    /// unresolved identifier's import points, and whose parameter a key is.
    pub refs: Vec<Found>,
    /// The file's facts for wrapper inference (its functions' sinks and forwards, hook
    /// bindings), when it was tokenized and has any.
    pub facts: Option<FileFacts>,
    /// It was tokenized by the per-file pass (it contains a call name).
    pub tokenized: bool,
    /// Every string constant the file defines, once the file has been tokenized.
    pub defs: Option<Vec<Def>>,
    /// What the inference rounds of the scan that wrote this found in the file, each under
    /// the key of its round (the round's number, its new wrapper names and every wrapper
    /// inferred so far): reused while the keys match.
    pub rounds: Vec<RoundResult>,
}

impl FileExtract {
    /// Nothing extracted (a file without a call name): what [`FileExtract::default`] is.
    fn is_empty(&self) -> bool {
        let FileExtract {
            refs,
            facts,
            tokenized,
            defs,
            rounds,
        } = self;
        refs.is_empty() && facts.is_none() && !tokenized && defs.is_none() && rounds.is_empty()
    }
}

/// What every re-scan needs of a file without decoding its extract (the cache row's fixed
/// part): the file's word filter and flags.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    words: Words,
    flags: u8,
}

/// Minified code containing a call name: not scanned, reported as skipped.
const MINIFIED: u8 = 1;
/// The file has references (before inference drops a wrapper's own parameter).
const MATCHED: u8 = 2;

/// A summary is its word filter as postcard writes it (a length of 128 in two bytes, then
/// the 128 bytes) and the flags: always [`Summary::WIDTH`] bytes.
impl Summary for Meta {
    const WIDTH: usize = 2 + 128 + 1;

    fn put(&self, out: &mut Vec<u8>) {
        let mut row = [0u8; Self::WIDTH];
        // Never fails at this width; a zeroed row does not decode (length 0), so a summary
        // that could not be written is never read as another.
        if postcard::to_slice(&self.words, &mut row[..Self::WIDTH - 1])
            .is_ok_and(|w| w.len() == Self::WIDTH - 1)
        {
            row[Self::WIDTH - 1] = self.flags;
        } else {
            row = [0u8; Self::WIDTH];
        }
        out.extend_from_slice(&row);
    }

    fn get(bytes: &[u8]) -> Option<Meta> {
        let (words, flags) = bytes.split_at_checked(Self::WIDTH - 1)?;
        Some(Meta {
            words: postcard::from_bytes(words).ok()?,
            flags: *flags.first()?,
        })
    }
}

impl Meta {
    fn minified(&self) -> bool {
        self.flags & MINIFIED != 0
    }
    fn matched(&self) -> bool {
        self.flags & MATCHED != 0
    }
    fn set_matched(&mut self, on: bool) {
        if on {
            self.flags |= MATCHED;
        } else {
            self.flags &= !MATCHED;
        }
    }
}

/// One inference round's findings in one file.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct RoundResult {
    key: u64,
    refs: Vec<Found>,
    facts: FileFacts,
}

/// One inference round as the scan ran it: replayed on changed files by a re-scan.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct RoundPlan {
    key: u64,
    /// The wrappers new in this round (whose call sites it looks for), sorted.
    fresh: Vec<crate::infer::WrapperId>,
    /// Every wrapper inferred when the round ran.
    inferred: Vec<Inferred>,
}

/// The scan's final result, as the cache keeps it: what a re-scan needs to check the tree
/// first ([`OutcomeHead`]), then the rest ([`OutcomeBody`]). postcard writes a struct's
/// fields one after the other with no framing, so the cached bytes are the head's then the
/// body's: a re-scan decodes the head, and decodes the body while the tree is checked.
#[derive(Serialize, Deserialize, Default)]
struct Outcome {
    head: OutcomeHead,
    body: OutcomeBody,
}

/// What a re-scan checks before anything else of the cached result.
#[derive(Serialize, Deserialize, Default)]
struct OutcomeHead {
    /// What the last full walk saw, for the next scan to check instead of walking.
    walk: Option<WalkRecord>,
    /// What targeted resolution found on disk for each import it followed.
    probes: Vec<(Origin, Family, Vec<String>)>,
    /// Files outside the walk that targeted resolution read, with their stat then.
    outside: Vec<(String, Option<Stat>)>,
    /// Files scanned and files with references, as the report counts them.
    counts: Option<(usize, usize)>,
    /// The files skipped as minified code, sorted.
    minified: Vec<String>,
}

/// The cached result itself.
#[derive(Serialize, Deserialize, Default)]
struct OutcomeBody {
    /// Every reference after inference and resolution, sorted by path, line, column, kind.
    #[serde(with = "crate::scan::cache_form::list")]
    refs: Vec<Reference>,
    /// The inference rounds, in order.
    rounds: Vec<RoundPlan>,
    /// The wrappers inferred.
    inferred: Vec<Inferred>,
    /// The inferred wrappers some call site went through (see [`drop_wrapper_params`]).
    called: BTreeSet<(Family, String)>,
    /// The last segments of every name resolution looked up across files.
    wanted: BTreeSet<String>,
    /// The files whose facts wrapper inference read, by path, with the round that read
    /// them (`None`: the per-file pass), sorted: a re-scan whose edits change some facts
    /// re-runs inference over just these and keeps the result if it is the same.
    contributors: Vec<(String, Option<u32>)>,
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
) -> (FileExtract, Meta) {
    let mut meta = Meta {
        words: Words::of(bytes),
        flags: 0,
    };
    let mut out = FileExtract::default();
    if !table.worth_parsing(bytes) {
        return (out, meta);
    }
    if is_minified(bytes) {
        meta.flags |= MINIFIED;
        return (out, meta);
    }
    let (refs, facts) =
        file_refs_defs(rel, lang, bytes, table, compiled, toks, None, &mut out.defs);
    // `file_refs` left the file's tokens in `toks` (and its definitions in `out.defs` if it
    // needed them).
    if out.defs.is_none() {
        out.defs = Some(find_defs(bytes, toks, lang, &|_| true));
    }
    out.refs = refs;
    out.tokenized = true;
    if facts.has_any() {
        out.facts = Some(facts);
    }
    (out, meta)
}

/// Reorders `v` in place so that `v[k]` is what was at `v[order[k]]` (`order` is a
/// permutation of the indices), one cycle of the permutation at a time.
pub(crate) fn permute<T>(v: &mut [T], mut order: Vec<usize>) {
    for start in 0..v.len() {
        let mut at = start;
        // `order[at] == at` once `at` holds its element (or started with it).
        while order[at] != at {
            let from = order[at];
            order[at] = at;
            if from == start {
                break;
            }
            v.swap(at, from);
            at = from;
        }
    }
}

/// A cached round plan with its matcher, built on first use.
struct Replay<'o> {
    plan: &'o RoundPlan,
    fresh: HashSet<crate::infer::WrapperId>,
    table: OnceLock<Option<Table>>,
}

/// The cached inference rounds, replayed on the files a re-scan extracts.
struct Replayer<'o> {
    replays: Vec<Replay<'o>>,
    settings: &'o ScanSettings,
    compiled: &'o Compiled,
}

impl Replayer<'_> {
    /// What a re-scan does to a changed file besides extracting it, so the cached
    /// cross-file result can be kept if the file's contribution to it is the same: its
    /// definitions are found even when it has no call (resolution would read it for them),
    /// and the cached inference rounds are replayed on it.
    fn prepare(
        &self,
        rel: &str,
        lang: Lang,
        bytes: &[u8],
        ext: &mut FileExtract,
        meta: &Meta,
        toks: &mut Vec<Token>,
    ) {
        if ext.defs.is_none() {
            tokenize(bytes, lang, toks);
            ext.defs = Some(find_defs(bytes, toks, lang, &|_| true));
        }
        if meta.minified() {
            return;
        }
        for replay in &self.replays {
            if !replay.fresh.iter().any(|w| meta.words.may_contain(&w.0)) {
                continue;
            }
            let table = replay
                .table
                .get_or_init(|| Table::with_inferred(self.settings, &replay.plan.inferred).ok());
            let Some(table) = table else {
                continue;
            };
            let (refs, facts) = file_refs(
                rel,
                lang,
                bytes,
                table,
                self.compiled,
                toks,
                Some(&replay.fresh),
            );
            ext.rounds.push(RoundResult {
                key: replay.plan.key,
                refs,
                facts,
            });
        }
    }
}

/// How the per-file pass dealt with one file.
enum Seen {
    /// Stat unchanged: the cached row (at this index) stands, the file was not read.
    Unchanged(usize),
    /// Stat changed, content the same: the cached row stands with the new stat.
    SameContent(usize, Stat),
    /// Extracted now.
    Extracted(Box<Fresh>),
}

/// A file extracted by the per-file pass, its extract streamed to the cache's [`Writer`].
struct Fresh {
    stat: Stat,
    hash: u128,
    meta: Meta,
    /// What the cross-file stage keeps of the extract: all of it but the definitions
    /// (`stripped`), or nothing for the empty extract (`None`). All of it when it could
    /// not be streamed (`raw` is [`Raw::None`]). Boxed: most files' is `None`, and every
    /// file's `Fresh` is held until the walk ends.
    ext: Option<Box<FileExtract>>,
    raw: Raw,
    stripped: bool,
}

/// Where a file's whole extract is stored.
#[derive(Clone, Copy, Debug)]
enum Raw {
    /// Nowhere: only in memory.
    None,
    /// In the cache the scan read, at this row.
    Row(usize),
    /// In the scan's [`Writer`].
    Written(Loc),
}

#[derive(Default)]
struct Pass<'c> {
    /// Each file's path (borrowed from the cache for an unchanged one) and what became of it.
    files: Vec<(Cow<'c, str>, Seen)>,
    toks: Vec<Token>,
    /// The encoding buffer for streaming extracts.
    enc: Vec<u8>,
}

/// Streams a file's extract to `writer` and returns what the cross-file stage keeps of
/// it (see [`Fresh`]).
fn stream(
    writer: &Writer,
    enc: &mut Vec<u8>,
    mut ext: FileExtract,
) -> (Option<FileExtract>, Raw, bool) {
    let mut buf = std::mem::take(enc);
    buf.clear();
    let Ok(bytes) = postcard::to_extend(&ext, buf) else {
        return (Some(ext), Raw::None, false);
    };
    let loc = writer.push(&bytes);
    *enc = bytes;
    match loc {
        None => (Some(ext), Raw::None, false),
        Some(loc) if ext.is_empty() => (None, Raw::Written(loc), false),
        Some(loc) => {
            let stripped = ext.defs.as_ref().is_some_and(|d| !d.is_empty());
            if stripped {
                ext.defs = None;
            }
            // Kept until the end of the scan: without the room the extraction grew into.
            if let Some(facts) = ext.facts.as_mut() {
                shrink_facts(facts);
            }
            ext.refs.shrink_to_fit();
            (Some(ext), Raw::Written(loc), stripped)
        }
    }
}

/// Gives back the spare capacity of a file's inference facts (the cross-file stage holds
/// every contributing file's facts at once).
fn shrink_facts(facts: &mut FileFacts) {
    for f in &mut facts.fns {
        f.sinks.shrink_to_fit();
        f.forwards.shrink_to_fit();
        f.calls.shrink_to_fit();
    }
    facts.fns.shrink_to_fit();
    facts.bindings.shrink_to_fit();
    facts.aliases.shrink_to_fit();
    facts.defined.shrink_to_fit();
    facts.passed.shrink_to_fit();
}

/// One file of the scan.
struct Slot<'c> {
    rel: Cow<'c, str>,
    stat: Stat,
    hash: u128,
    meta: Meta,
    /// Where the file's stored extract is: what its cache row points at unless `dirty`.
    raw: Raw,
    /// The extract, once decoded (or extracted now); without its definitions if `stripped`.
    ext: Option<Box<FileExtract>>,
    /// The stored extract is the empty one (`ext` is `None` until something changes it).
    empty: bool,
    /// `ext` lacks the definitions the stored extract has: dropped to spare memory, read
    /// again when resolution needs them.
    stripped: bool,
    /// `ext` differs from the stored extract: the cache must encode it again.
    dirty: bool,
}

/// Where a [`Store`]'s stored extracts are read from.
#[derive(Clone, Copy)]
struct Sources<'x, 'c> {
    base: &'x Path,
    view: Option<&'x View<'c, Meta>>,
    writer: &'x Writer,
    table: &'x Table,
    compiled: &'x Compiled,
}

impl Sources<'_, '_> {
    /// The stored extract at `raw`, decoded; `None` if there is none or it cannot be read
    /// or decoded.
    fn decode(&self, raw: Raw) -> Option<FileExtract> {
        match raw {
            Raw::None => None,
            Raw::Row(i) => postcard::from_bytes(&self.view?.extract(i)?).ok(),
            Raw::Written(loc) => postcard::from_bytes(&self.writer.read(loc)?).ok(),
        }
    }
}

/// Every file of the scan, with extracts decoded on demand, and reads of files whose
/// definitions are not known yet.
struct Store<'c, 'x> {
    src: Sources<'x, 'c>,
    base: &'x Path,
    slots: Vec<Slot<'c>>,
    /// What [`Store::decoded`] gives for a slot whose stored extract is the empty one.
    empty: FileExtract,
    /// Files read after the per-file pass (for definitions, or inference rounds).
    read: usize,
}

/// The slot's extract, decoded if need be (`full`: with its definitions, else they may be
/// left out); one that does not decode (a cache written by a bug) is extracted again
/// from the file.
fn load_ext<'s>(slot: &'s mut Slot<'_>, src: &Sources<'_, '_>, full: bool) -> &'s mut FileExtract {
    if slot.ext.is_none() {
        let decoded = match slot.empty {
            true => Some(FileExtract::default()),
            false => src.decode(slot.raw),
        };
        let ext = match decoded {
            Some(mut ext) => {
                let stored = !matches!(slot.raw, Raw::None);
                if !full && stored && ext.defs.as_ref().is_some_and(|d| !d.is_empty()) {
                    ext.defs = None;
                    slot.stripped = true;
                }
                ext
            }
            None => {
                let (mut buf, mut toks) = (Vec::new(), Vec::new());
                slot.dirty = true;
                slot.stripped = false;
                match (
                    Lang::from_path(&slot.rel),
                    read_source(&src.base.join(&*slot.rel), &mut buf),
                ) {
                    (Some(lang), Ok(())) => {
                        let (ext, meta) =
                            extract(&slot.rel, lang, &buf, src.table, src.compiled, &mut toks);
                        slot.meta = meta;
                        ext
                    }
                    _ => FileExtract::default(),
                }
            }
        };
        slot.empty = false;
        slot.ext = Some(Box::new(ext));
    } else if full && slot.stripped {
        // The definitions again, from the stored extract (or, if that no longer reads, the
        // file).
        let defs = src.decode(slot.raw).map(|e| e.defs).unwrap_or_else(|| {
            slot.dirty = true;
            let (mut buf, mut toks) = (Vec::new(), Vec::new());
            let lang = Lang::from_path(&slot.rel)?;
            read_source(&src.base.join(&*slot.rel), &mut buf).ok()?;
            tokenize(&buf, lang, &mut toks);
            Some(find_defs(&buf, &toks, lang, &|_| true))
        });
        if let Some(ext) = slot.ext.as_mut() {
            ext.defs = defs;
        }
        slot.stripped = false;
    }
    slot.ext.get_or_insert_with(Box::default)
}

impl<'c> Store<'c, '_> {
    /// Slot `i`'s whole extract (with its definitions).
    fn ext(&mut self, i: usize) -> &FileExtract {
        load_ext(&mut self.slots[i], &self.src, true)
    }

    /// Slot `i`'s extract, to change (its definitions may be left out: `fill` sets them).
    fn ext_mut(&mut self, i: usize) -> &mut FileExtract {
        let slot = &mut self.slots[i];
        slot.dirty = true;
        load_ext(slot, &self.src, false)
    }

    /// Whether slot `i`'s definitions are known (its file was tokenized).
    fn defs_known(&mut self, i: usize) -> bool {
        let slot = &self.slots[i];
        if slot.stripped {
            return true;
        }
        if slot.empty && slot.ext.is_none() {
            return false;
        }
        load_ext(&mut self.slots[i], &self.src, false)
            .defs
            .is_some()
    }

    /// Decodes every extract (the full cross-file stage reads them all: their definitions
    /// are left out, and read again where resolution needs them), in parallel.
    fn decode_all(&mut self) {
        let idxs: Vec<usize> = (0..self.slots.len()).collect();
        self.decode_some(&idxs);
    }

    /// Decodes the extracts of the slots at `idxs` (definitions left out), in parallel.
    fn decode_some(&mut self, idxs: &[usize]) {
        let mut want = vec![false; self.slots.len()];
        let mut n = 0;
        for &i in idxs {
            if let Some(w) = want.get_mut(i) {
                let s = &self.slots[i];
                *w = s.ext.is_none() && !s.empty;
                n += usize::from(*w);
            }
        }
        if n == 0 {
            return;
        }
        // Many rows of the cache read: one read of its extracts, not one per row.
        if n > 256 {
            if let Some(v) = self.src.view {
                v.read_extracts();
            }
        }
        let src = self.src;
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        let chunk = self.slots.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            for (part, want) in self.slots.chunks_mut(chunk).zip(want.chunks(chunk)) {
                scope.spawn(move || {
                    for (slot, _) in part.iter_mut().zip(want).filter(|(_, w)| **w) {
                        load_ext(slot, &src, false);
                    }
                });
            }
        });
    }

    /// The decoded extract of slot `i` (all are, after [`Store::decode_all`]), possibly
    /// without its definitions.
    fn decoded(&self, i: usize) -> Option<&FileExtract> {
        let slot = &self.slots[i];
        match (&slot.ext, slot.empty) {
            (Some(ext), _) => Some(ext),
            (None, true) => Some(&self.empty),
            (None, false) => None,
        }
    }

    /// Fills in the definitions of the files at `idxs` that may define one of `names`
    /// (last segments) and were not tokenized yet, reading them in parallel.
    fn fill(&mut self, idxs: &[usize], names: &HashSet<String>) {
        let mut need: Vec<(usize, PathBuf, Lang)> = Vec::new();
        for &i in idxs {
            if !names
                .iter()
                .any(|n| self.slots[i].meta.words.may_contain(n))
            {
                continue;
            }
            if self.defs_known(i) {
                continue;
            }
            let rel = &self.slots[i].rel;
            if let Some(l) = Lang::from_path(rel) {
                need.push((i, self.base.join(&**rel), l));
            }
        }
        if need.is_empty() {
            return;
        }
        self.read += need.len();
        let found = parallel(&need, |(i, path, lang), buf, toks| {
            read_source(path, buf).ok()?;
            tokenize(buf, *lang, toks);
            Some((*i, find_defs(buf, toks, *lang, &|_| true)))
        });
        for (i, defs) in found {
            self.ext_mut(i).defs = Some(defs);
            self.slots[i].stripped = false;
        }
    }

    /// The definitions at `idx` whose last segment is one of `names`.
    fn defs_named(&mut self, idx: usize, names: &HashSet<String>) -> Vec<Def> {
        if !names
            .iter()
            .any(|n| self.slots[idx].meta.words.may_contain(n))
        {
            return Vec::new();
        }
        let found: Vec<Def> = self
            .ext(idx)
            .defs
            .iter()
            .flatten()
            .filter(|d| named(d, names))
            .cloned()
            .collect();
        // Read again from the stored extract if needed again: not kept.
        let slot = &mut self.slots[idx];
        if !slot.dirty && !matches!(slot.raw, Raw::None) {
            if let Some(ext) = slot
                .ext
                .as_mut()
                .filter(|e| e.defs.as_ref().is_some_and(|d| !d.is_empty()))
            {
                ext.defs = None;
                slot.stripped = true;
            }
        }
        found
    }
}

/// Whether a definition's last segment is one of `names`.
fn named(d: &Def, names: &HashSet<String>) -> bool {
    d.chain
        .last()
        .is_some_and(|l| names.contains(l.trim_start_matches('@')))
}

/// What resolution looked up, for the cache to tell later whether it still holds.
#[derive(Default)]
struct Looked {
    wanted: BTreeSet<String>,
    probes: Vec<(Origin, Family, Vec<String>)>,
    outside: Vec<(String, Option<Stat>)>,
}

/// The stat of a file resolution read outside the walk (`None` if it is gone).
fn outside_stat(base: &Path, rel: &str) -> Option<Stat> {
    std::fs::symlink_metadata(base.join(rel))
        .ok()
        .map(|m| Stat::of(&m))
}

/// Pins the per-file pass's closure to one cache lifetime (a closure's own signature
/// would make it generic over every lifetime of [`Pass`]).
fn per_file_fn<'c, F>(f: F) -> F
where
    F: Fn(&mut Pass<'c>, &str, Lang, &mut SourceFile<'_>) + Sync,
{
    f
}

/// See [`crate::scan_with`].
pub(crate) fn scan(
    root: &Path,
    settings: &ScanSettings,
    options: &ScanOptions,
) -> Result<(ScanReport, ScanStats), ScanError> {
    // A cache that could not be read after all (changed under the scan): scan as without
    // it, and write it again. A scan without a cache never asks for a second run.
    let mut ignore = None;
    loop {
        match scan_once(root, settings, options, ignore.take())? {
            Ok(done) => return Ok(done),
            Err(why) => ignore = Some(why),
        }
    }
}

/// One scan; `Ok(Err(why))` when a part of the cache read on demand turned out unusable
/// (the caller scans again with `ignore` set to why: the cache is then not read).
fn scan_once(
    root: &Path,
    settings: &ScanSettings,
    options: &ScanOptions,
    ignore: Option<CacheStatus>,
) -> Result<Result<(ScanReport, ScanStats), CacheStatus>, ScanError> {
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
    let opened = match (&cache_path, ignore) {
        (_, Some(why)) => Err(why),
        (None, None) => Err(CacheStatus::Disabled),
        (Some(path), None) => cache::load(path),
    };
    let corrupt = |e: postcard::Error| CacheStatus::Ignored(format!("corrupt ({e})"));
    // The head of the cached result now; its body (after it) while the walk is checked.
    let loaded = match &opened {
        Ok(opened) => cache::view::<Meta>(opened, settings_id).and_then(|view| {
            postcard::take_from_bytes::<OutcomeHead>(view.result)
                .map(|(head, body)| (view, head, body))
                .map_err(corrupt)
        }),
        Err(status) => Err(status.clone()),
    };
    let (head, status) = match loaded {
        Ok(p) => (Some(p), CacheStatus::Used),
        Err(status) => (None, status),
    };
    let base = base_dir(root);

    // The walk: checked against the cached record of the last full walk if there is one
    // (see `walkcache.rs`), else in full (and recorded).
    // What resolution looked at outside the walk is checked meanwhile (it is needed
    // whenever the walk checks out), and so is the cached body decoded: the check is
    // mostly the kernel's `fstatat` of every file, the decode the one thread's work.
    // Set as soon as the check meets a file whose stat changed: the report of an unchanged
    // tree is not made then.
    let stale = std::sync::atomic::AtomicBool::new(false);
    let check = |v: &View<'_, Meta>, head: &OutcomeHead| match &head.walk {
        Some(record) if root.is_dir() => {
            let (checked, inputs) = walkcache::check(
                &base,
                record,
                v.paths(),
                &|s| v.trusted(s),
                &|i, s| {
                    let fresh = v.fresh(i, s);
                    if !fresh {
                        stale.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    fresh
                },
                || cross_file_inputs_unchanged(&base, v, head, true),
            );
            (checked, Some(inputs))
        }
        _ => (None, None),
    };
    // The report of an unchanged tree is made meanwhile too (most re-scans change
    // nothing); it takes the body's references, so a tree that changed decodes it again.
    let early_report = |body: &mut OutcomeBody, (scanned, matched)| {
        let mut report = assemble(
            std::mem::take(&mut body.refs),
            scanned,
            matched,
            settings.include_tests,
        );
        report.wrappers = wrapper_reports(settings, &body.inferred);
        report.inference = crate::Inference(std::mem::take(&mut body.inferred));
        report
    };
    let ((checked, inputs_unchanged), mut prev, early) = match head {
        Some((v, head, bytes)) => {
            let (checked, body, early) = std::thread::scope(|scope| {
                let checking = scope.spawn(|| check(&v, &head));
                let mut body = postcard::from_bytes::<OutcomeBody>(bytes);
                let early = match (&mut body, head.counts) {
                    (Ok(body), Some(counts))
                        if !stale.load(std::sync::atomic::Ordering::Relaxed) =>
                    {
                        Some(early_report(body, counts))
                    }
                    _ => None,
                };
                let checked = checking
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (checked, body, early)
            });
            let unchanged = matches!(&checked, (Some(c), Some(true)) if c.changed.is_empty());
            let body = match (unchanged, early.is_some()) {
                (false, true) => postcard::from_bytes::<OutcomeBody>(bytes),
                _ => body,
            };
            match body {
                Ok(body) => (checked, Some((v, Outcome { head, body })), early),
                // The cache is not half-used: the scan starts again without it.
                Err(e) => return Ok(Err(corrupt(e))),
            }
        }
        None => ((None, None), None, None),
    };
    lap("read cache and check the walk", &mut phases);
    let walk_checked = checked.is_some();
    // Nothing changed: every file's stat, what resolution looked at outside the walk. The
    // cached result is the result; no extract or summary is decoded.
    if let (Some(checked), Some((v, outcome)), Some(mut report)) = (&checked, &prev, early) {
        if checked.changed.is_empty() && inputs_unchanged == Some(true) {
            let mut skipped = checked.skipped.clone();
            skipped.extend(outcome.head.minified.iter().map(|p| Skipped {
                path: p.clone(),
                reason: SkipReason::Minified,
            }));
            skipped.sort();
            report.skipped = skipped;
            lap("assemble", &mut phases);
            let stats = ScanStats {
                cache: status,
                walk_checked: true,
                files_unchanged: v.len(),
                cross_file_reused: true,
                phases,
                ..ScanStats::default()
            };
            return Ok(Ok((report, stats)));
        }
    }
    // The cached references, moved out (the cached outcome is otherwise only read).
    let old_refs: Vec<Reference> = prev
        .as_mut()
        .map(|(_, o)| std::mem::take(&mut o.body.refs))
        .unwrap_or_default();
    // The extracts this scan makes, streamed to the cache file it will write (or, without
    // a cache, to an unnamed temporary file) as the workers make them.
    let writer = Writer::new(options.cache_dir.as_deref());
    let replayer = Replayer {
        replays: prev
            .iter()
            .flat_map(|(_, o)| &o.body.rounds)
            .map(|plan| Replay {
                plan,
                fresh: plan.fresh.iter().cloned().collect(),
                table: OnceLock::new(),
            })
            .collect(),
        settings,
        compiled: &compiled,
    };
    let view = prev.as_ref().map(|(v, _)| v);

    let per_file = per_file_fn(|st, rel, lang, file| {
        let row = view.and_then(|v| v.find(rel).map(|i| (v, i)));
        let (bytes, stat) = match row {
            Some((v, i)) => {
                let stat = file.stat().unwrap_or(Stat::NONE);
                if v.fresh(i, &stat) {
                    st.files
                        .push((Cow::Borrowed(v.path(i)), Seen::Unchanged(i)));
                    return;
                }
                let Some(bytes) = file.read() else {
                    return;
                };
                (bytes, stat)
            }
            // No cached row: the stat comes from the open file (no second path lookup).
            None => match file.read_with_stat() {
                Some(read) => read,
                None => return,
            },
        };
        let hash = cache::content_hash(bytes);
        if let Some((v, i)) = row {
            if v.hash(i) == hash {
                st.files
                    .push((Cow::Borrowed(v.path(i)), Seen::SameContent(i, stat)));
                return;
            }
        }
        let (mut ext, meta) = extract(rel, lang, bytes, &table, &compiled, &mut st.toks);
        if view.is_some() {
            replayer.prepare(rel, lang, bytes, &mut ext, &meta, &mut st.toks);
        }
        let (ext, raw, stripped) = stream(&writer, &mut st.enc, ext);
        let seen = Seen::Extracted(Box::new(Fresh {
            stat,
            hash,
            meta,
            ext: ext.map(Box::new),
            raw,
            stripped,
        }));
        st.files.push((Cow::Owned(rel.to_string()), seen));
    });
    let old_walk = prev.as_ref().and_then(|(_, o)| o.head.walk.as_ref());
    let (states, mut skipped, dirs) = match (checked, view) {
        (Some(checked), Some(v)) => {
            let mut unchanged = Pass::default();
            let to_read: Vec<usize> = checked.changed.iter().map(|(i, _)| *i).collect();
            let mut changed = to_read.iter().copied().peekable();
            for i in 0..v.len() {
                if changed.next_if_eq(&i).is_none() {
                    unchanged
                        .files
                        .push((Cow::Borrowed(v.path(i)), Seen::Unchanged(i)));
                }
            }
            let mut states = vec![unchanged];
            let mut skipped = checked.skipped;
            let read = parallel(&to_read, |&i, buf, toks| {
                let rel = v.path(i);
                let lang = Lang::from_path(rel)?;
                let path = base.join(rel);
                let mut st = Pass {
                    files: Vec::new(),
                    toks: std::mem::take(toks),
                    enc: Vec::new(),
                };
                let mut gone = Vec::new();
                let mut file = SourceFile::new(&path, rel, buf, &mut gone);
                per_file(&mut st, rel, lang, &mut file);
                *toks = std::mem::take(&mut st.toks);
                Some((st, gone))
            });
            for (st, gone) in read {
                states.push(st);
                skipped.extend(gone);
            }
            (states, skipped, Vec::new())
        }
        _ => walk_recording(
            root,
            &compiled,
            &|_| true,
            Pass::default,
            per_file,
            cache_path.is_some() && walkcache::SUPPORTED,
        )?,
    };
    lap("walk and per-file pass", &mut phases);

    let mut stats = ScanStats {
        cache: status,
        walk_checked,
        ..ScanStats::default()
    };
    let n_rows = view.map_or(0, View::len);
    let mut seen_rows = vec![false; n_rows];
    // Files whose content changed (or that are new), by path.
    let mut changed: crate::FastSet<String> = Default::default();
    let mut slots: Vec<Slot<'_>> = Vec::with_capacity(states.iter().map(|s| s.files.len()).sum());
    for (rel, seen) in states.into_iter().flat_map(|s| s.files) {
        let cached = match (&seen, view) {
            (Seen::Unchanged(i), Some(v)) => Some((v, *i, None)),
            (Seen::SameContent(i, stat), Some(v)) => Some((v, *i, Some(*stat))),
            // A cached row without a cache: not reached.
            (Seen::Unchanged(_) | Seen::SameContent(..), None) => continue,
            (Seen::Extracted(_), _) => None,
        };
        let slot = match (seen, cached) {
            (_, Some((v, i, new_stat))) => {
                seen_rows[i] = true;
                let stat = match new_stat {
                    Some(stat) => {
                        stats.files_rehashed += 1;
                        stat
                    }
                    None => {
                        stats.files_unchanged += 1;
                        v.stat(i)
                    }
                };
                let Some(meta) = v.meta(i) else {
                    return Ok(Err(CacheStatus::Ignored("corrupt (summaries)".into())));
                };
                Slot {
                    rel,
                    stat,
                    hash: v.hash(i),
                    meta,
                    raw: Raw::Row(i),
                    ext: None,
                    empty: false,
                    stripped: false,
                    dirty: false,
                }
            }
            (Seen::Unchanged(_) | Seen::SameContent(..), None) => continue,
            (Seen::Extracted(found), None) => {
                stats.files_extracted += 1;
                let Fresh {
                    stat,
                    hash,
                    meta,
                    ext,
                    raw,
                    stripped,
                } = *found;
                if let Some(v) = view {
                    if let Some(i) = v.find(&rel) {
                        seen_rows[i] = true;
                    }
                }
                changed.insert(rel.to_string());
                Slot {
                    rel,
                    stat,
                    hash,
                    meta,
                    raw,
                    empty: ext.is_none(),
                    ext,
                    stripped,
                    // Not streamed: the cache must encode it.
                    dirty: matches!(raw, Raw::None),
                }
            }
        };
        slots.push(slot);
    }
    let removed: Vec<usize> = (0..n_rows).filter(|&i| !seen_rows[i]).collect();
    if let Some(v) = view {
        changed.extend(removed.iter().map(|&i| v.path(i).to_string()));
    }
    // A checked walk gives the cached rows in row order, then the few files read: the
    // stable sort finds those runs and merges them, moving about half the slots once
    // (an unstable one would compare the 24,000 long paths over and over). A full walk's
    // order is the threads' interleaving: indices are sorted, not the slots (hundreds of
    // bytes each, moved at every merge step), which are then put in place by swaps
    // (no second vector of slots).
    if walk_checked {
        slots.sort_by(|a, b| a.rel.cmp(&b.rel));
    } else {
        let mut order: Vec<usize> = (0..slots.len()).collect();
        order.sort_by(|&a, &b| slots[a].rel.cmp(&slots[b].rel));
        permute(&mut slots, order);
    }
    // The record for the next scan: the checked one while the files are the cached rows,
    // else (a full walk) what this walk saw.
    let walk = if walk_checked {
        old_walk
            .filter(|_| slots.len() == n_rows && removed.is_empty())
            .cloned()
    } else if cache_path.is_some() {
        let paths: Vec<&str> = slots.iter().map(|s| s.rel.as_ref()).collect();
        walkcache::build(&base, dirs, &paths, &skipped)
    } else {
        None
    };
    let walk_changed = walk.as_ref() != old_walk;
    lap("merge with cache", &mut phases);
    let mut store = Store {
        src: Sources {
            base: &base,
            view,
            writer: &writer,
            table: &table,
            compiled: &compiled,
        },
        base: &base,
        slots,
        empty: FileExtract::default(),
        read: 0,
    };
    let kept = prev.as_ref().and_then(|(v, outcome)| {
        keep_outcome(
            &mut store,
            v,
            outcome,
            old_refs,
            &changed,
            settings,
            inputs_unchanged.filter(|_| walk_checked),
        )
        .map(|refs| (refs, outcome))
    });
    let reused = kept.is_some();
    let mut outcome = match kept {
        Some((new_refs, old)) => {
            let (refs, looked, contributors) = new_refs;
            let mut wanted = old.body.wanted.clone();
            wanted.extend(looked.wanted);
            let mut probes = old.head.probes.clone();
            for p in looked.probes {
                if !probes.contains(&p) {
                    probes.push(p);
                }
            }
            let mut outside = old.head.outside.clone();
            for o in looked.outside {
                if !outside.iter().any(|(p, _)| *p == o.0) {
                    outside.push(o);
                }
            }
            Outcome {
                head: OutcomeHead {
                    walk,
                    probes,
                    outside,
                    counts: None,
                    minified: Vec::new(),
                },
                body: OutcomeBody {
                    refs,
                    rounds: old.body.rounds.clone(),
                    inferred: old.body.inferred.clone(),
                    called: old.body.called.clone(),
                    wanted,
                    contributors,
                },
            }
        }
        None => {
            let mut outcome = cross_file(&mut store, settings, &compiled)?;
            outcome.head.walk = walk;
            outcome
        }
    };
    stats.files_read_to_resolve = store.read;
    stats.cross_file_reused = reused;
    lap(
        if reused {
            "cached cross-file result"
        } else {
            "wrapper inference and resolution"
        },
        &mut phases,
    );

    let mut scanned = 0;
    let mut matched = 0;
    for slot in &store.slots {
        if slot.meta.minified() {
            outcome.head.minified.push(slot.rel.to_string());
        } else {
            scanned += 1;
        }
        matched += usize::from(slot.meta.matched());
    }
    outcome.head.counts = Some((scanned, matched));
    skipped.extend(outcome.head.minified.iter().map(|p| Skipped {
        path: p.clone(),
        reason: SkipReason::Minified,
    }));
    let dirty = store.slots.iter().any(|s| s.dirty);
    let write = cache_path.is_some()
        && (stats.cache != CacheStatus::Used
            || stats.files_extracted > 0
            || stats.files_rehashed > 0
            || !removed.is_empty()
            || dirty
            || walk_changed
            || !reused);
    let result = if write {
        postcard::to_allocvec(&outcome).ok()
    } else {
        None
    };
    let mut report = assemble(outcome.body.refs, scanned, matched, settings.include_tests);
    report.wrappers = wrapper_reports(settings, &outcome.body.inferred);
    report.inference = crate::Inference(outcome.body.inferred.clone());
    skipped.sort();
    report.skipped = skipped;
    lap("assemble", &mut phases);

    if let (Some(path), Some(result)) = (&cache_path, result) {
        // Where each row's extract is: the stored one, or (changed by the cross-file stage,
        // or never streamed) encoded again now and streamed, one at a time.
        let empty = postcard::to_allocvec(&FileExtract::default()).unwrap_or_default();
        let mut stored: Vec<Stored> = Vec::with_capacity(store.slots.len());
        for i in 0..store.slots.len() {
            let slot = &store.slots[i];
            let s = match (slot.dirty, slot.raw) {
                (false, Raw::Row(r)) => Stored::Cached(r),
                (false, Raw::Written(loc)) => Stored::Written(loc),
                _ if slot.ext.is_none() => Stored::Bytes(&empty),
                _ => {
                    let ext = store.ext(i);
                    let bytes = match ext.is_empty() {
                        true => None,
                        false => postcard::to_allocvec(ext).ok(),
                    };
                    match bytes {
                        // An extract that cannot be encoded is stored empty: it does not
                        // decode, so the next scan extracts the file again.
                        None if !ext.is_empty() => Stored::Bytes(&[]),
                        None => Stored::Bytes(&empty),
                        Some(bytes) => match writer.push(&bytes) {
                            Some(loc) => Stored::Written(loc),
                            None => Stored::Owned(bytes),
                        },
                    }
                }
            };
            stored.push(s);
        }
        let rows: Vec<Row<'_, Meta>> = store
            .slots
            .iter()
            .zip(&stored)
            .map(|(s, st)| Row {
                path: &s.rel,
                stat: s.stat,
                hash: s.hash,
                meta: &s.meta,
                extract: match st {
                    Stored::Cached(r) => Extract::Cached(*r),
                    Stored::Written(loc) => Extract::Written(*loc),
                    Stored::Bytes(b) => Extract::Bytes(b),
                    Stored::Owned(b) => Extract::Bytes(b),
                },
            })
            .collect();
        let saved = cache::save(
            path,
            settings_id,
            started,
            &rows,
            &result,
            view,
            Some(&writer),
        );
        if let Err(e) = saved {
            stats.cache_error = Some(format!(
                "cannot write the scan cache `{}`: {e}",
                path.display()
            ));
        } else {
            stats.cache_written = true;
        }
        lap("write cache", &mut phases);
    }
    stats.phases = phases;
    Ok(Ok((report, stats)))
}

/// Where a row's extract is, as the scan hands it to [`cache::save`].
enum Stored<'a> {
    Cached(usize),
    Written(Loc),
    Bytes(&'a [u8]),
    Owned(Vec<u8>),
}

/// Whether what resolution looked at outside the scan's files is as the cached outcome
/// saw it: the files each followed import could name, and the files it read outside the
/// walk (by stat). `walk_checked`: the outcome's walk record was checked, so every
/// directory it lists has the entries it had (creating, deleting or renaming an entry, or
/// changing its type, changes its directory's stat): a directory's listing of files, all
/// a `Dir` probe reads (entry types as `readdir` gives them, no link followed), is known.
fn cross_file_inputs_unchanged(
    base: &Path,
    view: &View<'_, Meta>,
    head: &OutcomeHead,
    walk_checked: bool,
) -> bool {
    let recorded: HashSet<&str> = match (&head.walk, walk_checked) {
        (Some(record), true) => record.dirs.iter().map(|d| d.rel.as_str()).collect(),
        _ => HashSet::new(),
    };
    for (origin, family, files) in &head.probes {
        if matches!(origin, Origin::Dir(dir) if recorded.contains(dir.as_str())) {
            continue;
        }
        if crate::resolve::candidate_files(base, origin, *family) != *files {
            return false;
        }
    }
    head.outside.iter().all(|(rel, stat)| {
        let now = outside_stat(base, rel);
        let trusted = match (&now, stat) {
            (Some(now), Some(_)) => view.trusted(now),
            (None, None) => true,
            _ => false,
        };
        now == *stat && trusted
    })
}

/// The cached outcome with only the `changed` files' references recomputed, if every
/// changed file contributes to the cross-file stage exactly what it did (and what
/// resolution saw outside the walk is as it was); `None` means the whole cross-file stage
/// must run again. `old_refs` are the cached outcome's references (moved out of it).
fn keep_outcome(
    store: &mut Store<'_, '_>,
    view: &View<'_, Meta>,
    outcome: &Outcome,
    old_refs: Vec<Reference>,
    changed: &crate::FastSet<String>,
    settings: &ScanSettings,
    checked_inputs: Option<bool>,
) -> Option<(Vec<Reference>, Looked, Contributors)> {
    // With the walk checked, whether the inputs outside the walk are unchanged was found
    // during the check; else it is looked at now.
    let inputs = checked_inputs
        .unwrap_or_else(|| cross_file_inputs_unchanged(store.base, view, &outcome.head, false));
    if !inputs {
        return None;
    }
    if changed.is_empty() {
        return Some((
            old_refs,
            Looked::default(),
            outcome.body.contributors.clone(),
        ));
    }
    let round_of = |key: u64| outcome.body.rounds.iter().position(|r| r.key == key);
    // What a file gives inference: its own facts if the per-file pass tokenized it, else
    // those of the first round that read it.
    let contribution = |e: &FileExtract| -> Result<Option<(Option<usize>, FileFacts)>, ()> {
        if e.tokenized {
            let facts = e.facts.as_ref().filter(|f| f.has_any());
            return Ok(facts.map(|f| (None, f.for_close())));
        }
        match e.rounds.first() {
            None => Ok(None),
            Some(r) => {
                let round = round_of(r.key).ok_or(())?;
                Ok(r.facts
                    .has_any()
                    .then(|| (Some(round), r.facts.for_close())))
            }
        }
    };
    let wanted: HashSet<String> = outcome.body.wanted.iter().cloned().collect();
    let restricted = |defs: Option<&Vec<Def>>| -> Vec<Def> {
        defs.into_iter()
            .flatten()
            .filter(|d| named(d, &wanted))
            .cloned()
            .collect()
    };
    let position: HashMap<String, usize> = store
        .slots
        .iter()
        .enumerate()
        .filter(|(_, s)| changed.contains(s.rel.as_ref()))
        .map(|(i, s)| (s.rel.to_string(), i))
        .collect();
    // The names of every wrapper inference found, by family: an edit whose facts only
    // differ in what no such name reaches cannot change what it infers
    // ([`FileFacts::inert_change`]).
    let wrapper_names: HashSet<(Family, &str)> = outcome
        .body
        .inferred
        .iter()
        .chain(outcome.body.rounds.iter().flat_map(|r| &r.inferred))
        .map(|w| (w.family, w.name.as_str()))
        .collect();
    let inert = |rel: &str, old: Option<&FileExtract>, new: Option<&FileExtract>| -> bool {
        let Some(family) = Lang::from_path(rel).map(Lang::family) else {
            return false;
        };
        let (round_old, old) = full_contribution(rel, old);
        let (round_new, new) = full_contribution(rel, new);
        let has_any = |f: &FileFacts| f.has_any() || !f.defined.is_empty();
        let same_round = round_old == round_new || !has_any(&old) || !has_any(&new);
        same_round
            && FileFacts::inert_change(&old, &new, &|name| wrapper_names.contains(&(family, name)))
    };
    let mut facts_changed = false;
    for rel in changed {
        let old = match view.find(rel) {
            Some(i) => Some(postcard::from_bytes::<FileExtract>(&view.extract(i)?).ok()?),
            None => None,
        };
        let new = position.get(rel).map(|&i| store.ext(i));
        let facts_old = old.as_ref().map_or(Ok(None), contribution).ok()?;
        let facts_new = new.map_or(Ok(None), contribution).ok()?;
        if facts_old != facts_new && !inert(rel, old.as_ref(), new) {
            facts_changed = true;
        }
        // A changed file's definitions are always known (`prepare_changed`).
        if new.is_some_and(|e| e.defs.is_none()) {
            return None;
        }
        if restricted(old.as_ref().and_then(|e| e.defs.as_ref()))
            != restricted(new.and_then(|e| e.defs.as_ref()))
        {
            return None;
        }
        // Which wrappers have call sites decides which wrapper bodies' references stay.
        let vias = |e: Option<&FileExtract>| {
            e.map(|e| {
                called_names(
                    &e.refs
                        .iter()
                        .chain(e.rounds.iter().flat_map(|r| r.refs.iter()))
                        .cloned()
                        .collect::<Vec<_>>(),
                )
            })
            .unwrap_or_default()
        };
        if vias(old.as_ref()) != vias(new) {
            return None;
        }
    }
    // What wrapper inference reads now: the cached contributors but the changed files,
    // then the changed files that contribute.
    let mut contributors: Vec<(String, Option<u32>)> = outcome
        .body
        .contributors
        .iter()
        .filter(|(p, _)| !changed.contains(p))
        .cloned()
        .collect();
    for (rel, &i) in &position {
        if let Some((round, _)) = contribution(store.ext(i)).ok()? {
            contributors.push((rel.clone(), round.map(|r| r as u32)));
        }
    }
    contributors.sort();
    // An edit changed some file's facts: inference runs again over the contributors'
    // facts (only theirs are decoded), round by round as `infer_rounds` did; the cached
    // result stands only if every round infers exactly what it did (then every round finds
    // the same call sites, and the changed files' were replayed on them).
    if facts_changed && settings.infer_wrappers {
        let mut idxs: Vec<usize> = Vec::with_capacity(contributors.len());
        for (rel, _) in &contributors {
            let i = store
                .slots
                .binary_search_by(|s| s.rel.as_ref().cmp(rel.as_str()))
                .ok()?;
            idxs.push(i);
        }
        store.decode_some(&idxs);
        // What `contribution` gives, borrowed (`close` reads the same of the full facts
        // as of their `for_close` view).
        let mut facts: Vec<(Option<usize>, &FileFacts)> = Vec::with_capacity(idxs.len());
        for &i in &idxs {
            let e = store.decoded(i)?;
            if e.tokenized {
                if let Some(f) = e.facts.as_ref().filter(|f| f.has_any()) {
                    facts.push((None, f));
                }
            } else if let Some(r) = e.rounds.first() {
                if r.facts.has_any() {
                    facts.push((Some(round_of(r.key)?), &r.facts));
                }
            }
        }
        let configured = configured_names(settings);
        let rounds = outcome.body.rounds.len();
        for r in 0..=rounds {
            if r == rounds && rounds == MAX_INFERENCE_ROUNDS {
                break;
            }
            let seen: Vec<&FileFacts> = facts
                .iter()
                .filter(|(k, _)| k.is_none_or(|k| k < r))
                .map(|(_, f)| *f)
                .collect();
            let expected = outcome
                .body
                .rounds
                .get(r)
                .map_or(&outcome.body.inferred, |p| &p.inferred);
            if infer::close(&seen, &configured) != *expected {
                return None;
            }
        }
    }
    // The changed files' references, as the full stage would find them: the per-file
    // pass's, then each replayed round's.
    let mut found: Vec<Found> = Vec::new();
    let mut idxs: Vec<usize> = position.values().copied().collect();
    idxs.sort_unstable();
    for &i in &idxs {
        let e = store.ext(i);
        let any = !e.refs.is_empty() || e.rounds.iter().any(|r| !r.refs.is_empty());
        let mut refs: Vec<Found> = e.refs.clone();
        refs.extend(e.rounds.iter().flat_map(|r| r.refs.iter().cloned()));
        if !settings.infer_wrappers {
            refs.truncate(e.refs.len());
        }
        found.extend(refs);
        store.slots[i].meta.set_matched(any);
    }
    if settings.infer_wrappers {
        drop_wrapper_params(&mut found, &outcome.body.inferred, &outcome.body.called);
    }
    let looked = resolve(store, &mut found);
    let mut refs: Vec<Reference> = old_refs
        .into_iter()
        .filter(|r| !changed.contains(&r.path))
        .collect();
    refs.extend(found.into_iter().map(|f| f.r));
    sort_refs(&mut refs);
    Some((refs, looked, contributors))
}

/// What a file gives wrapper inference, in full (not its `for_close` view), and the key of
/// the round it enters in (`None`: the per-file pass); no facts are empty facts.
fn full_contribution<'e>(
    rel: &str,
    e: Option<&'e FileExtract>,
) -> (Option<u64>, Cow<'e, FileFacts>) {
    let empty = || {
        Cow::Owned(FileFacts {
            path: rel.to_string(),
            ..FileFacts::default()
        })
    };
    match e {
        None => (None, empty()),
        Some(e) if e.tokenized => (None, e.facts.as_ref().map_or_else(empty, Cow::Borrowed)),
        Some(e) => match e.rounds.first() {
            None => (None, empty()),
            Some(r) => (Some(r.key), Cow::Borrowed(&r.facts)),
        },
    }
}

/// The order the cache keeps references in (the report's).
fn sort_refs(refs: &mut [Reference]) {
    refs.sort_by(|a, b| {
        (&a.path, a.line, a.column, a.kind).cmp(&(&b.path, b.line, b.column, b.kind))
    });
}

/// The whole cross-file stage over every file's extract: wrapper inference, then
/// resolution.
fn cross_file(
    store: &mut Store<'_, '_>,
    settings: &ScanSettings,
    compiled: &Compiled,
) -> Result<Outcome, ScanError> {
    store.decode_all();
    let mut refs: Vec<Found> = Vec::new();
    let mut matched: Vec<bool> = vec![false; store.slots.len()];
    for (i, slot) in store.slots.iter().enumerate() {
        if slot.meta.minified() {
            continue;
        }
        let Some(e) = store.decoded(i) else { continue };
        matched[i] = !e.refs.is_empty();
        refs.extend(e.refs.iter().cloned());
    }
    let (inferred, rounds, mut contributors) = if settings.infer_wrappers {
        infer_rounds(store, settings, compiled, &mut refs, &mut matched)?
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    contributors.sort();
    let called = called_names(&refs);
    if settings.infer_wrappers {
        drop_wrapper_params(&mut refs, &inferred, &called);
    }
    for (slot, m) in store.slots.iter_mut().zip(matched) {
        slot.meta.set_matched(m);
    }
    let looked = resolve(store, &mut refs);
    let mut refs: Vec<Reference> = refs.into_iter().map(|f| f.r).collect();
    sort_refs(&mut refs);
    Ok(Outcome {
        head: OutcomeHead {
            walk: None,
            probes: looked.probes,
            outside: looked.outside,
            counts: None,
            minified: Vec::new(),
        },
        body: OutcomeBody {
            refs,
            rounds,
            inferred,
            called,
            wanted: looked.wanted,
            contributors,
        },
    })
}

/// What [`infer_rounds`] returns: the wrappers inferred, the rounds run, and the files whose
/// facts it read (with the round that read them; `None`: the per-file pass).
type Inferred3 = (Vec<Inferred>, Vec<RoundPlan>, Contributors);

/// The files whose facts wrapper inference read, with the round that read them (`None`:
/// the per-file pass).
type Contributors = Vec<(String, Option<u32>)>;

/// The names of the configured wrappers (last segments): inference never infers these.
fn configured_names(settings: &ScanSettings) -> BTreeSet<String> {
    settings
        .wrappers
        .iter()
        .map(|w| w.call.rsplit('.').next().unwrap_or(&w.call).to_string())
        .collect()
}

/// The key of one inference round: what its findings in a file depend on besides the
/// file's bytes and the settings.
fn round_key(round: usize, fresh: &HashSet<crate::infer::WrapperId>, inferred: &[Inferred]) -> u64 {
    let mut names: Vec<&crate::infer::WrapperId> = fresh.iter().collect();
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
/// round key), until no new wrapper appears. Returns the wrappers inferred and the rounds
/// run; `refs` gains the call sites, and loses the keys that are an inferred wrapper's own
/// parameter. Every extract must be decoded.
fn infer_rounds(
    store: &mut Store<'_, '_>,
    settings: &ScanSettings,
    compiled: &Compiled,
    refs: &mut Vec<Found>,
    matched: &mut [bool],
) -> Result<Inferred3, ScanError> {
    let configured = configured_names(settings);
    let n = store.slots.len();
    let mut contributors: Vec<(String, Option<u32>)> = (0..n)
        .filter(|&i| store.decoded(i).is_some_and(|e| e.facts.is_some()))
        .map(|i| (store.slots[i].rel.to_string(), None))
        .collect();
    let mut tokenized: Vec<bool> = (0..n)
        .map(|i| store.decoded(i).is_some_and(|e| e.tokenized))
        .collect();
    // Facts found by the rounds, in the order they were found.
    let mut late: Vec<FileFacts> = Vec::new();
    let mut kept: Vec<Vec<RoundResult>> = vec![Vec::new(); n];
    // By identity: a wrapper named like one found in an earlier round (a file's own `emit`
    // besides a server's) still has its call sites looked for.
    let mut done: HashSet<crate::infer::WrapperId> = HashSet::new();
    let mut inferred: Vec<Inferred> = Vec::new();
    let mut plans: Vec<RoundPlan> = Vec::new();
    let mut read = 0;
    for round in 0..MAX_INFERENCE_ROUNDS {
        {
            let facts: Vec<&FileFacts> = (0..n)
                .filter_map(|i| store.decoded(i).and_then(|e| e.facts.as_ref()))
                .chain(late.iter())
                .collect();
            inferred = infer::close(&facts, &configured);
        }
        let fresh: HashSet<crate::infer::WrapperId> = inferred
            .iter()
            .filter(|w| !w.returned && !w.key_at(false).is_empty())
            .map(Inferred::id)
            .filter(|id| !done.contains(id))
            .collect();
        if fresh.is_empty() {
            break;
        }
        let key = round_key(round, &fresh, &inferred);
        let mut fresh_sorted: Vec<crate::infer::WrapperId> = fresh.iter().cloned().collect();
        fresh_sorted.sort();
        plans.push(RoundPlan {
            key,
            fresh: fresh_sorted,
            inferred: inferred.clone(),
        });
        let candidates: Vec<usize> = (0..n)
            .filter(|&i| {
                let meta = &store.slots[i].meta;
                !meta.minified() && fresh.iter().any(|w| meta.words.may_contain(&w.0))
            })
            .collect();
        let mut results: Vec<(usize, RoundResult)> = Vec::new();
        let mut to_read: Vec<usize> = Vec::new();
        for &i in &candidates {
            match store
                .decoded(i)
                .and_then(|e| e.rounds.iter().find(|r| r.key == key))
            {
                Some(r) => results.push((i, r.clone())),
                None => to_read.push(i),
            }
        }
        if !to_read.is_empty() {
            let table = Table::with_inferred(settings, &inferred)?;
            read += to_read.len();
            let jobs: Vec<(usize, &str)> = to_read
                .iter()
                .map(|&i| (i, store.slots[i].rel.as_ref()))
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
                matched[i] = true;
            }
            refs.extend(result.refs.iter().cloned());
            if !tokenized[i] {
                tokenized[i] = true;
                if result.facts.has_any() {
                    late.push(result.facts.clone());
                    contributors.push((store.slots[i].rel.to_string(), Some(round as u32)));
                }
            }
            kept[i].push(result);
        }
        done.extend(fresh);
    }
    store.read += read;
    // Keep exactly this scan's findings in the cache.
    for (i, rounds) in kept.into_iter().enumerate() {
        let same = store.decoded(i).is_some_and(|e| {
            e.rounds.len() == rounds.len()
                && e.rounds.iter().zip(&rounds).all(|(a, b)| a.key == b.key)
        });
        if !same {
            store.ext_mut(i).rounds = rounds;
        }
    }
    Ok((inferred, plans, contributors))
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

/// Resolves the identifiers `refs` still carry, as [`crate::scan`] always has: names whose
/// import says where they live in just those files (falling back to a wider search when
/// those files do not define them), the rest against every file of the language family.
/// Returns what it looked up.
fn resolve(store: &mut Store<'_, '_>, refs: &mut [Found]) -> Looked {
    let mut looked = Looked::default();
    let mut asks = crate::pending::Asks::of(refs);
    if asks.is_empty() {
        return looked;
    }
    // Names whose import says where they live.
    let requests = asks.targeted();
    if !requests.is_empty() {
        asks.answer_targeted(resolve_targeted(store, &requests, &mut looked));
    }
    // The rest: every file of the family that defines one of the names.
    let wanted: HashMap<Family, HashSet<String>> = asks
        .unanswered()
        .into_iter()
        .map(|(family, names)| {
            let lasts = names
                .iter()
                .map(|n| last_segment(n).to_string())
                .filter(|l| !l.is_empty())
                .collect();
            (family, lasts)
        })
        .collect();
    let mut index: HashMap<Family, DefIndex> = HashMap::new();
    let families: BTreeSet<Family> = wanted.keys().copied().collect();
    let family_of: Vec<Option<Family>> = store
        .slots
        .iter()
        .map(|s| Lang::from_path(&s.rel).map(Lang::family))
        .collect();
    for family in families {
        let names: &HashSet<String> = &wanted[&family];
        if names.is_empty() {
            continue;
        }
        looked.wanted.extend(names.iter().cloned());
        let idxs: Vec<usize> = (0..store.slots.len())
            .filter(|&i| family_of[i] == Some(family))
            .collect();
        store.fill(&idxs, names);
        let mut found = DefIndex::default();
        for &i in &idxs {
            for d in store.defs_named(i, names) {
                found.push(d, &store.slots[i].rel);
            }
        }
        index.insert(family, found);
    }
    asks.answer_from(&index);
    asks.settle(refs);
    looked
}

/// [`crate::resolve::resolve_targeted`] over the store: a candidate file the scan walked is
/// looked up in its extract (read only if its definitions are not known yet and it may
/// define the name); one the walk skipped is read as the resolver always has.
fn resolve_targeted(
    store: &mut Store<'_, '_>,
    requests: &[(Origin, Family, String)],
    looked: &mut Looked,
) -> Vec<Resolution> {
    let base = store.base;
    let (files_of, wanted) = crate::resolve::candidates_of(base, requests);
    for ((origin, family, _), files) in requests.iter().zip(&files_of) {
        let probe = (origin.clone(), *family, files.clone());
        if !looked.probes.contains(&probe) {
            looked.probes.push(probe);
        }
    }
    for names in wanted.values() {
        looked.wanted.extend(names.iter().cloned());
    }
    let mut walked: Vec<(usize, &HashSet<String>)> = Vec::new();
    let mut outside: HashMap<String, HashSet<String>> = HashMap::new();
    {
        let position: HashMap<&str, usize> = store
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| (s.rel.as_ref(), i))
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
            let words = &store.slots[*i].meta.words;
            names.iter().any(|n| words.may_contain(n))
        })
        .map(|(i, _)| *i)
        .collect();
    store.fill(&idxs, &all_names);
    let mut defs_of: HashMap<String, Vec<Def>> = HashMap::new();
    for (i, names) in &walked {
        let defs = store.defs_named(*i, names);
        defs_of.insert(store.slots[*i].rel.to_string(), defs);
    }
    // Stat before reading: a file changed meanwhile is not trusted next time.
    for rel in outside.keys() {
        if !looked.outside.iter().any(|(p, _)| p == rel) {
            looked.outside.push((rel.clone(), outside_stat(base, rel)));
        }
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

/// [`crate::resolve::resolve_in`] with the scan cache in `dir` (read only): a file whose
/// row is fresh by stat is skipped when its word filter rules out every name, and its
/// cached definitions are used when it has them; every other file is read and searched as
/// `resolve_in` does. Without a usable cache this is `resolve_in`.
pub(crate) fn resolve_in_cached(
    root: &Path,
    settings: &ScanSettings,
    compiled: &Compiled,
    dir: &Path,
    names: &HashMap<Family, HashSet<String>>,
) -> Result<HashMap<Family, DefIndex>, ScanError> {
    let Ok(opened) = cache::load(&cache::file_for(dir, root)) else {
        return crate::resolve::resolve_in(root, compiled, names);
    };
    let Ok(view) = cache::view::<Meta>(&opened, fingerprint(settings)) else {
        return crate::resolve::resolve_in(root, compiled, names);
    };
    let wanted: HashMap<Family, HashSet<String>> = names
        .iter()
        .map(|(f, ns)| {
            let segments = ns
                .iter()
                .map(|n| last_segment(n).to_string())
                .filter(|s| !s.is_empty());
            (*f, segments.collect())
        })
        .collect();
    let mut needles: Vec<&str> = wanted.values().flatten().map(String::as_str).collect();
    needles.sort_unstable();
    needles.dedup();
    if needles.is_empty() {
        return Ok(HashMap::new());
    }
    // Leftmost semantics let the SIMD (Teddy) prefilter run; `Standard` cannot use it.
    let prefilter =
        crate::patterns::literal_matcher(&needles, aho_corasick::MatchKind::LeftmostFirst)?;
    let want_lang = |l: Lang| wanted.contains_key(&l.family());
    let (states, _unread) = walk_files(
        root,
        compiled,
        &want_lang,
        || (HashMap::<Family, DefIndex>::new(), Vec::new()),
        |(found, toks), rel, lang, file| {
            let Some(segments) = wanted.get(&lang.family()) else {
                return;
            };
            let index = found.entry(lang.family()).or_default();
            if let Some(i) = view.find(rel) {
                let meta = view.meta(i);
                if let (true, Some(meta)) =
                    (view.fresh(i, &file.stat().unwrap_or(Stat::NONE)), meta)
                {
                    if !segments.iter().any(|n| meta.words.may_contain(n)) {
                        return;
                    }
                    let cached = view
                        .extract(i)
                        .and_then(|raw| postcard::from_bytes::<FileExtract>(&raw).ok());
                    if let Some(defs) = cached.and_then(|e| e.defs) {
                        for d in defs.into_iter().filter(|d| named(d, segments)) {
                            index.push(d, rel);
                        }
                        return;
                    }
                }
            }
            let Some(bytes) = file.read() else {
                return;
            };
            if !prefilter.is_match(bytes) {
                return;
            }
            tokenize(bytes, lang, toks);
            for d in find_defs(bytes, toks, lang, &|last| {
                segments.contains(last.trim_start_matches('@'))
            }) {
                index.push(d, rel);
            }
        },
    )?;
    Ok(crate::resolve::merge_indexes(states))
}

#[cfg(test)]
mod tests {
    use super::permute;

    #[test]
    fn permute_puts_every_element_where_the_order_says() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for n in [0usize, 1, 2, 3, 7, 64, 1000] {
            // A pseudo-random permutation (Fisher-Yates with xorshift).
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let original: Vec<String> = (0..n).map(|i| format!("item {i}")).collect();
            let mut v = original.clone();
            permute(&mut v, order.clone());
            // (A broken permute, e.g. one that swaps without following the cycle, fails here.)
            let expected: Vec<String> = order.iter().map(|&i| original[i].clone()).collect();
            assert_eq!(v, expected, "n = {n}");
        }
    }
}
