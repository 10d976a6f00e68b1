//! The full scan: walk, extract, resolve, decide sides, and assemble the report.
//!
//! Invariants: the report is deterministic (references sorted by path, line, column; keys
//! by kind then key) whatever the thread scheduling; every reference either has a key or a
//! `dynamic_reason`; memory held across files is only the references found.

use std::cell::{OnceCell, RefCell};
use std::collections::HashSet;
use std::path::Path;
use std::rc::Rc;

use crate::extract::{find_calls, Destructured, KeyExpr, RawRef};
use crate::functions::find_functions;
use crate::imports::{import_map, imported_origins, origin_of, Origin};
use crate::infer::{self, FileFacts, Inferred, Slot};
use crate::lang::{Family, Lang};
use crate::lexer::{tokenize, Token};
use crate::patterns::{Pattern, SideHint, Table};
use crate::resolve::{resolve_in, resolve_targeted, DefIndex, Resolution};
use crate::settings::Compiled;
use crate::walk::{base_dir, content_skip, is_minified};
use crate::{
    KeyReport, Kind, Reference, ScanError, ScanReport, ScanSettings, Side, SkipReason,
    WrapperReport, REPORT_VERSION,
};

/// A reference, its language family, (for an unresolved identifier) where its import
/// points and the name to look up there, and (for a key that is a parameter) the function
/// whose parameter it is: if that function turns out to be a wrapper, its call sites are
/// the references and this one is dropped.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Found {
    #[serde(with = "cache_form")]
    pub r: Reference,
    pub family: Family,
    pub hint: Option<(Origin, String)>,
    pub param_of: Option<String>,
    /// The inferred wrapper called (its name), for a call site of one.
    #[serde(default)]
    pub via: Option<String>,
    /// For an interpolated string with names its file does not define: its parts and
    /// where each remaining name's import points (`hint` is then unused).
    #[serde(default)]
    pub template: Option<Box<crate::template::Pending>>,
}

/// A [`Reference`] as the scan cache stores it. Postcard is not self-describing, so every
/// field is written, in order, including those the JSON form leaves out when empty
/// (`properties`): a skipped field would shift every later one.
pub(crate) mod cache_form {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::{Kind, PropertySet, Reference, Side};

    #[derive(Serialize)]
    struct Out<'a> {
        path: &'a str,
        line: u32,
        column: u32,
        snippet: &'a str,
        kind: Kind,
        side: Side,
        sdk: &'a str,
        key: &'a Option<String>,
        identifier: &'a Option<String>,
        dynamic_reason: &'a Option<String>,
        in_test: bool,
        properties: &'a Option<PropertySet>,
    }

    #[derive(Deserialize)]
    struct In {
        path: String,
        line: u32,
        column: u32,
        snippet: String,
        kind: Kind,
        side: Side,
        sdk: String,
        key: Option<String>,
        identifier: Option<String>,
        dynamic_reason: Option<String>,
        in_test: bool,
        properties: Option<PropertySet>,
    }

    fn out(r: &Reference) -> Out<'_> {
        Out {
            path: &r.path,
            line: r.line,
            column: r.column,
            snippet: &r.snippet,
            kind: r.kind,
            side: r.side,
            sdk: &r.sdk,
            key: &r.key,
            identifier: &r.identifier,
            dynamic_reason: &r.dynamic_reason,
            in_test: r.in_test,
            properties: &r.properties,
        }
    }

    impl From<In> for Reference {
        fn from(i: In) -> Reference {
            Reference {
                path: i.path,
                line: i.line,
                column: i.column,
                snippet: i.snippet,
                kind: i.kind,
                side: i.side,
                sdk: i.sdk,
                key: i.key,
                identifier: i.identifier,
                dynamic_reason: i.dynamic_reason,
                in_test: i.in_test,
                properties: i.properties,
            }
        }
    }

    pub(crate) fn serialize<S: Serializer>(r: &Reference, s: S) -> Result<S::Ok, S::Error> {
        out(r).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Reference, D::Error> {
        In::deserialize(d).map(Reference::from)
    }

    /// The same for a list of references.
    pub(crate) mod list {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(
            refs: &[Reference],
            s: S,
        ) -> Result<S::Ok, S::Error> {
            s.collect_seq(refs.iter().map(out))
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Vec<Reference>, D::Error> {
            Vec::<In>::deserialize(d).map(|v| v.into_iter().map(Reference::from).collect())
        }
    }
}

/// The inferred wrappers call sites went through, by family and name.
pub(crate) fn called_names(refs: &[Found]) -> std::collections::BTreeSet<(Family, String)> {
    refs.iter()
        .filter_map(|f| f.via.clone().map(|v| (f.family, v)))
        .collect()
}

/// A key that is a wrapper's own parameter is not a reference: its call sites are, so it is
/// dropped. A wrapper nothing in the repository calls (a framework's entry point: a view, a
/// handler) has no call sites, so its body's reference stays, dynamic, and says so. A
/// receiver's method (`e.PosthogEvent()`) is reached only through other wrappers, and what a
/// hook returns through the names its result is bound to (inferred, or configured in
/// `scan.wrappers`, as `track` in `const track = useTrack()`).
pub(crate) fn drop_wrapper_params(
    refs: &mut Vec<Found>,
    inferred: &[Inferred],
    called: &std::collections::BTreeSet<(Family, String)>,
) {
    let mut live: crate::FastSet<(Family, &str)> = Default::default();
    let mut uncalled: crate::FastSet<(Family, &str)> = Default::default();
    for w in inferred {
        if w.returned || called.contains(&(w.family, w.name.clone())) || w.key_at(false).is_empty()
        {
            live.insert((w.family, w.origin.as_str()));
        } else {
            uncalled.insert((w.family, w.origin.as_str()));
        }
    }
    refs.retain(|f| {
        f.param_of
            .as_deref()
            .is_none_or(|n| !live.contains(&(f.family, n)))
    });
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
}

/// Passes of inference after the first walk: each finds call sites of the wrappers the
/// previous one inferred (and wrappers around those). Real code needs one or two.
pub(crate) const MAX_INFERENCE_ROUNDS: usize = 4;

pub(crate) fn scan(root: &Path, settings: &ScanSettings) -> Result<ScanReport, ScanError> {
    crate::incremental::scan(root, settings, &crate::ScanOptions::default()).map(|(r, _)| r)
}

/// See [`crate::skip_reason`].
pub(crate) fn skip_reason(path: &str, bytes: &[u8], settings: &ScanSettings) -> Option<SkipReason> {
    Lang::from_path(path)?;
    if let Some(reason) = content_skip(bytes) {
        return Some(reason);
    }
    let parts = matcher(settings, &crate::Inference::default())?;
    (parts.1.worth_parsing(bytes) && is_minified(bytes)).then_some(SkipReason::Minified)
}

/// The configured wrappers, then the inferred ones, as the report lists them.
pub(crate) fn wrapper_reports(
    settings: &ScanSettings,
    inferred: &[Inferred],
) -> Vec<WrapperReport> {
    let mut out: Vec<WrapperReport> = settings
        .wrappers
        .iter()
        .map(|w| WrapperReport {
            call: w.call.clone(),
            event_arg: w.event_arg,
            event_key: w.event_key.clone(),
            flag_arg: w.flag_arg,
            flag_key: w.flag_key.clone(),
            default: w.default.clone(),
            defined_at: None,
            sdk: "wrapper".into(),
            side: None,
            only_in: None,
            inferred: false,
        })
        .collect();
    for w in inferred
        .iter()
        .filter(|w| !w.returned && !w.key_at(false).is_empty())
    {
        // A parameter of a language with keyword arguments is passed either way.
        let (arg, key) = match &w.slot {
            Slot::Param { index, name } if crate::infer::kwargs_lang(w.family) => {
                (Some(*index), Some(name.clone()))
            }
            Slot::Param { index, .. } => (Some(*index), None),
            Slot::Field { field, .. } => (None, Some(field.clone())),
        };
        let (event, flag) = (w.kind == Kind::Event, w.kind == Kind::Flag);
        out.push(WrapperReport {
            call: w.name.clone(),
            event_arg: arg.filter(|_| event),
            event_key: key.clone().filter(|_| event),
            flag_arg: arg.filter(|_| flag),
            flag_key: key.filter(|_| flag),
            default: w.default.clone(),
            defined_at: Some(format!("{}:{}", w.path, w.line)),
            sdk: w.sdk.clone(),
            side: Some(w.side),
            only_in: w.only_in.clone(),
            inferred: true,
        });
    }
    out
}

/// Resolves the identifiers `refs` still carry: names whose import says where they live
/// are looked up in just those files; the rest in one prefiltered walk.
fn resolve_pending(
    root: &Path,
    settings: &ScanSettings,
    compiled: &Compiled,
    options: &crate::ScanOptions,
    refs: &mut [Found],
) -> Result<(), ScanError> {
    let mut asks = crate::pending::Asks::of(refs);
    if asks.is_empty() {
        return Ok(());
    }
    // Names whose import says where they live: read just those files.
    let requests = asks.targeted();
    if !requests.is_empty() {
        asks.answer_targeted(resolve_targeted(&base_dir(root), &requests));
    }
    // The rest: one prefiltered walk for all remaining names.
    let pending = asks.unanswered();
    if !pending.is_empty() {
        let found = match &options.cache_dir {
            Some(dir) => {
                crate::incremental::resolve_in_cached(root, settings, compiled, dir, &pending)?
            }
            None => resolve_in(root, compiled, &pending)?,
        };
        asks.answer_from(&found);
    }
    asks.settle(refs);
    Ok(())
}

/// See [`crate::scan_file_resolved`].
pub(crate) fn scan_file_resolved(
    root: &Path,
    path: &str,
    text: &str,
    settings: &ScanSettings,
    inference: &crate::Inference,
    options: &crate::ScanOptions,
) -> Result<Vec<Reference>, ScanError> {
    let Some(lang) = Lang::from_path(path) else {
        return Ok(Vec::new());
    };
    let compiled = Compiled::new(settings)?;
    let table = Table::with_inferred(settings, &inference.0)?;
    let bytes = text.as_bytes();
    if !table.worth_parsing(bytes) || is_minified(bytes) {
        return Ok(Vec::new());
    }
    let mut toks = Vec::new();
    let (mut refs, _) = file_refs(path, lang, bytes, &table, &compiled, &mut toks, None);
    drop_inferred_params(&mut refs, inference);
    resolve_pending(root, settings, &compiled, options, &mut refs)?;
    let mut refs: Vec<Reference> = refs.into_iter().map(|f| f.r).collect();
    refs.sort_by_key(|r| (r.line, r.column));
    Ok(refs)
}

/// Settings, the inferred wrappers, and the matcher compiled from them.
type CachedMatcher = (ScanSettings, crate::Inference, Rc<(Compiled, Table)>);

/// The compiled matcher for `settings` and `inference`, cached per thread.
fn matcher(settings: &ScanSettings, inference: &crate::Inference) -> Option<Rc<(Compiled, Table)>> {
    // Callers such as the pre-commit gate scan many files with the same settings: keep the
    // compiled matcher of the last settings seen on this thread.
    thread_local! {
        static COMPILED: RefCell<Option<CachedMatcher>> = const { RefCell::new(None) };
    }
    let cached = COMPILED.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(s, i, _)| s == settings && i == inference)
            .map(|(_, _, t)| Rc::clone(t))
    });
    if cached.is_some() {
        return cached;
    }
    let compiled = Compiled::new(settings).or_else(|_| Compiled::new(&ScanSettings::default()));
    let (Ok(compiled), Ok(table)) = (compiled, Table::with_inferred(settings, &inference.0)) else {
        return None;
    };
    let parts = Rc::new((compiled, table));
    COMPILED
        .with(|c| *c.borrow_mut() = Some((settings.clone(), inference.clone(), Rc::clone(&parts))));
    Some(parts)
}

/// A single text's references that are an inferred wrapper's own parameter: not references
/// (the wrapper's call sites are), as in a scan of the tree where the wrapper is called.
fn drop_inferred_params(refs: &mut Vec<Found>, inference: &crate::Inference) {
    if inference.0.is_empty() {
        return;
    }
    let called = inference
        .0
        .iter()
        .map(|w| (w.family, w.name.clone()))
        .collect();
    drop_wrapper_params(refs, &inference.0, &called);
}

pub(crate) fn scan_file_text(
    path: &str,
    text: &str,
    settings: &ScanSettings,
    inference: &crate::Inference,
) -> Vec<Reference> {
    let Some(lang) = Lang::from_path(path) else {
        return Vec::new();
    };
    let Some(parts) = matcher(settings, inference) else {
        return Vec::new();
    };
    let (compiled, table) = &*parts;
    let bytes = text.as_bytes();
    if !table.worth_parsing(bytes) || is_minified(bytes) {
        return Vec::new();
    }
    let mut toks = Vec::new();
    let mut found = file_refs(path, lang, bytes, table, compiled, &mut toks, None).0;
    drop_inferred_params(&mut found, inference);
    let mut refs: Vec<Reference> = found.into_iter().map(|f| f.r).collect();
    refs.sort_by_key(|r| (r.line, r.column));
    refs
}

/// Sets the key or the dynamic reason of an identifier reference from its resolution.
pub(crate) fn apply(r: &mut Reference, resolution: &Resolution) {
    let id = r.identifier.clone().unwrap_or_default();
    match resolution {
        Resolution::Resolved { value, .. } => r.key = Some(value.clone()),
        Resolution::Ambiguous { values, locations } => {
            let defs: Vec<String> = values
                .iter()
                .zip(locations)
                .map(|(v, l)| format!("\"{v}\" ({l})"))
                .collect();
            r.dynamic_reason = Some(format!(
                "ambiguous identifier `{id}`: defined as {}",
                defs.join(", ")
            ));
        }
        Resolution::Unresolved => r.dynamic_reason = Some(format!("unresolved identifier `{id}`")),
    }
}

/// The references of one file, with identifiers resolved against the file's own constants,
/// and the file's facts for wrapper inference. With `only`, just the references through
/// those inferred wrappers (a later inference round).
pub(crate) fn file_refs(
    rel: &str,
    lang: Lang,
    bytes: &[u8],
    table: &Table,
    compiled: &Compiled,
    toks: &mut Vec<Token>,
    only: Option<&HashSet<crate::infer::WrapperId>>,
) -> (Vec<Found>, FileFacts) {
    file_refs_defs(rel, lang, bytes, table, compiled, toks, only, &mut None)
}

/// [`file_refs`], keeping the file's definitions in `defs` when it had to find them (to
/// resolve identifiers within the file), so a caller that wants them too (the per-file
/// pass) does not find them twice.
#[allow(clippy::too_many_arguments)]
pub(crate) fn file_refs_defs(
    rel: &str,
    lang: Lang,
    bytes: &[u8],
    table: &Table,
    compiled: &Compiled,
    toks: &mut Vec<Token>,
    only: Option<&HashSet<crate::infer::WrapperId>>,
    defs: &mut Option<Vec<crate::defs::Def>>,
) -> (Vec<Found>, FileFacts) {
    tokenize(bytes, lang, toks);
    let fns = find_functions(bytes, toks, lang);
    // An inferred wrapper is called from its own file, from its package (Go), or from a
    // file that imports its module (or a directory above it).
    let origins: OnceCell<Vec<Origin>> = OnceCell::new();
    let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
    let visible = |p: &Pattern, name: &str, receiver: Option<&str>| -> bool {
        if p.only_in.as_deref().is_some_and(|only| only != rel) {
            return false;
        }
        let Some(def) = p.defined_in.as_deref() else {
            return true;
        };
        // A function of the same name defined in the calling file is the one a bare (or
        // `self.`) call means.
        if def != rel
            && receiver.is_none_or(|r| matches!(r, "self" | "this"))
            && fns.iter().any(|f| f.name.as_deref() == Some(name))
        {
            return false;
        }
        // A method called through an object named like the wrapper's module
        // (`self.analytics.event(…)` for `analytics.py`), as injected objects are.
        let norm = |s: &str| {
            s.trim_matches('_')
                .to_ascii_lowercase()
                .replace(['_', '-'], "")
        };
        // A package's `index.ts` / `__init__.py` / `mod.rs` is named by its directory
        // (`lib/analytics/index.ts` is the `analytics` module).
        let mut segs = def.rsplit('/');
        let file = segs.next().unwrap_or(def);
        let mut stem = file.split('.').next().unwrap_or(file);
        if matches!(stem, "index" | "__init__" | "mod") {
            stem = segs.next().unwrap_or(stem);
        }
        def == rel
            || receiver.is_some_and(|r| !stem.is_empty() && norm(r) == norm(stem))
            || (lang == Lang::Go && def.rsplit_once('/').map_or("", |(d, _)| d) == dir)
            || origins
                .get_or_init(|| imported_origins(bytes, toks, lang, rel))
                .iter()
                .any(|o| o.links(def))
    };
    let raw = find_calls(bytes, toks, lang, table, &compiled.clients, &visible);
    let server_file = marked_server(bytes);
    let side_of = |r: &RawRef| side_for(rel, lang, r.side, compiled, server_file);
    let facts = infer::extract(rel, bytes, toks, lang, &fns, &raw, &side_of);
    let raw: Vec<RawRef> = match only {
        Some(names) => raw
            .into_iter()
            .filter(|r| r.wrapper.as_ref().is_some_and(|w| names.contains(w)))
            .collect(),
        None => raw,
    };
    if raw.is_empty() {
        return (Vec::new(), facts);
    }
    // The body of the innermost function holding token `k`, if any.
    let body_holding = |k: usize| {
        fns.iter()
            .rev()
            .find(|f| f.body.0 <= k && k < f.body.1)
            .map(|f| f.body)
    };
    // `const e = c ? A : B; capture(e)`: the local's branches are the keys.
    let scope_of = |k: usize| body_holding(k).unwrap_or((0, toks.len()));
    // A definition of the file counts for a use at token `at` unless it is inside a
    // function that does not hold `at`: another function's local is never this one's.
    let in_scope = |at: usize| {
        move |d: &crate::defs::Def| {
            body_holding(d.tok as usize).is_none_or(|(from, to)| from <= at && at < to)
        }
    };
    // The file's destructuring declarations, found once if a reference needs them, and
    // what the declaration binding `name` at token `at` destructures.
    let decls: OnceCell<Vec<usize>> = OnceCell::new();
    let destructured = |at: usize, name: &str| {
        crate::extract::local_destructured(
            bytes,
            toks,
            lang,
            decls.get_or_init(|| crate::extract::destructuring_decls(bytes, toks, lang)),
            at,
            name,
            &scope_of,
        )
    };
    // `const { A } = EVENTS; capture(A)`: the member `EVENTS.A`.
    let member = |at: usize, name: &str| -> Option<String> {
        let (first, rest) = name
            .split_once('.')
            .map_or((name, None), |(f, r)| (f, Some(r)));
        if infer::param_slot(&fns, at, first).is_some() {
            return None;
        }
        match destructured(at, first)? {
            Destructured::Member(m) => Some(match rest {
                Some(rest) => format!("{m}.{rest}"),
                None => m,
            }),
            Destructured::Value(_) => None,
        }
    };
    let raw: Vec<RawRef> = raw
        .into_iter()
        .map(|mut r| {
            if let KeyExpr::Ident(id) = &r.key {
                if member(r.tok, id).is_some() {
                    // Resolved as the member below, keeping the name as written.
                } else if !id.contains('.') && infer::param_slot(&fns, r.tok, id).is_none() {
                    if let Some(keys) =
                        crate::extract::local_conditional(bytes, toks, lang, r.tok, id, &scope_of)
                    {
                        r.key = KeyExpr::OneOf(keys);
                    }
                }
            }
            if let KeyExpr::Template(parts, _, _) = &mut r.key {
                for part in parts.iter_mut() {
                    if let crate::template::Part::Name(name) = part {
                        if let Some(m) = member(r.tok, name) {
                            *name = m;
                        }
                    }
                }
            }
            r
        })
        .collect();
    let has_idents = raw.iter().any(|r| {
        r.props.as_ref().is_some_and(|p| !p.names.is_empty())
            || match &r.key {
                KeyExpr::Ident(_) | KeyExpr::Template(..) | KeyExpr::Format(..) => true,
                KeyExpr::OneOf(keys) => keys.iter().any(|k| matches!(k, KeyExpr::Ident(_))),
                _ => false,
            }
    });
    let local = if has_idents {
        let mut index = DefIndex::default();
        let found =
            defs.get_or_insert_with(|| crate::defs::find_defs(bytes, toks, lang, &|_| true));
        for d in found.iter() {
            index.push_own(d.clone(), rel);
        }
        Some(index)
    } else {
        None
    };
    let imports = if has_idents {
        import_map(bytes, toks, lang, rel)
    } else {
        Default::default()
    };
    let in_test = crate::is_test_path(rel);
    // Go `import . "pkg"` brings another package's names in unqualified: they have no
    // origin then (every file of the family is searched), else only the package defines them.
    let dot_import = lang == Lang::Go
        && toks
            .windows(2)
            .any(|w| w[0].is(bytes, ".") && w[1].kind == crate::lexer::Tk::Str);
    let origin_of = |name: &str| match origin_of(name, lang, rel, &imports) {
        Some((Origin::Dir(_), _)) if dot_import => None,
        found => found,
    };
    // `first` bound by a parameter's nested pattern or by a destructuring declaration of a
    // value (not a constant's member): why it is dynamic, before any same-named constant.
    let bound_at = |at: usize, first: &str| -> Option<String> {
        if infer::param_slot(&fns, at, first).is_some() {
            return None;
        }
        if let Some(f) = infer::nested_param(&fns, at, first) {
            return Some(match &f.name {
                Some(n) => format!("parameter `{first}` of `{n}`"),
                None => format!("parameter `{first}` of a function"),
            });
        }
        match destructured(at, first)? {
            Destructured::Value(from) if from.is_empty() => {
                Some(format!("destructured variable `{first}`"))
            }
            Destructured::Value(from) => {
                Some(format!("variable `{first}` destructured from {from}"))
            }
            Destructured::Member(_) => None,
        }
    };
    // `name` (its first segment) declared as a local of a function around its use: why it
    // is dynamic.
    let local_at = |at: usize, name: &str| -> Option<String> {
        let first = name.split('.').next().unwrap_or(name);
        if let Some(reason) = bound_at(at, first) {
            return Some(reason);
        }
        fns.iter()
            .rev()
            .filter(|f| f.body.0 <= at && at < f.body.1)
            .find(|f| crate::extract::declared_local(bytes, toks, lang, f.body, at, first))
            .map(|f| match &f.name {
                Some(n) => format!("local variable `{first}` of `{n}`"),
                None => format!("local variable `{first}` of a function"),
            })
    };
    // What a name of a template (or a Go format) used at token `at` is in this file: a
    // constant's value, dynamic (a parameter, a value bound here, a local variable, several
    // values), or not this file's (`None`: for the cross-file stage).
    let local_part = |at: usize, name: &str| -> Option<Result<String, ()>> {
        if infer::param_slot(&fns, at, name).is_some()
            || bound_at(at, name.split('.').next().unwrap_or(name)).is_some()
        {
            return Some(Err(()));
        }
        match local.as_ref().map(|i| i.lookup_where(name, &in_scope(at))) {
            Some(Resolution::Resolved { value, .. }) => Some(Ok(value)),
            Some(Resolution::Ambiguous { .. }) => Some(Err(())),
            _ if local_at(at, name).is_some() => Some(Err(())),
            _ => None,
        }
    };
    let refs = raw
        .into_iter()
        .flat_map(|r| {
            // A conditional of literals is one reference per branch.
            match &r.key {
                KeyExpr::OneOf(keys) => keys
                    .iter()
                    .map(|k| RawRef {
                        key: k.clone(),
                        ..r.clone()
                    })
                    .collect::<Vec<_>>(),
                _ => vec![r],
            }
        })
        .map(|r| {
            let tok = &toks[r.tok];
            let via = r.inferred.then(|| {
                String::from_utf8_lossy(tok.text(bytes))
                    .trim_start_matches('$')
                    .to_string()
            });
            let (column, snippet) = locate(bytes, tok.start as usize);
            let mut origin = None;
            let mut param_of = None;
            let mut template = None;
            let local_variable = |name: &str| local_at(r.tok, name);
            let properties = r
                .props
                .as_ref()
                .map(|p| property_set(p, local.as_ref(), table.keep_dollar_properties));
            let mut reference = Reference {
                path: rel.to_string(),
                line: tok.line,
                column,
                snippet,
                kind: r.kind,
                side: side_of(&r),
                sdk: r.sdk,
                key: None,
                identifier: None,
                dynamic_reason: None,
                in_test,
                properties,
            };
            // `fmt.Sprintf(EventFmt, …)`: formatted once the format is known, here when it is
            // a constant of this file in scope at the call (else below, across files).
            let key = match r.key {
                KeyExpr::Format(name, args, written, reason) => {
                    use crate::extract::{format_reason, FormatFailure};
                    match local_part(r.tok, &name) {
                        Some(Ok(format)) => match crate::extract::go_verbs(&format, args) {
                            Some(parts) => KeyExpr::Template(parts, written, reason),
                            None => KeyExpr::Dynamic(format_reason(
                                &reason,
                                &name,
                                FormatFailure::Uncomputable(&format),
                            )),
                        },
                        Some(Err(())) => KeyExpr::Dynamic(format_reason(
                            &reason,
                            &name,
                            FormatFailure::NotConstant,
                        )),
                        None => KeyExpr::Format(name, args, written, reason),
                    }
                }
                key => key,
            };
            match key {
                KeyExpr::Literal(k) => reference.key = Some(k),
                KeyExpr::Dynamic(reason) => reference.dynamic_reason = Some(reason),
                // Every name a constant (not a parameter): the string it spells. Names this
                // file does not define are left for the cross-file stage, as an identifier is.
                KeyExpr::Template(parts, written, reason) => {
                    let mut parts_left: Vec<crate::template::Part> = Vec::new();
                    let mut hints = Vec::new();
                    let mut dynamic = false;
                    for part in parts {
                        let crate::template::Part::Name(name) = &part else {
                            parts_left.push(part);
                            continue;
                        };
                        match local_part(r.tok, name) {
                            Some(Ok(value)) => {
                                parts_left.push(crate::template::Part::Text(value));
                            }
                            Some(Err(())) => {
                                dynamic = true;
                                break;
                            }
                            None => {
                                hints.push(origin_of(name));
                                parts_left.push(part);
                            }
                        }
                    }
                    if dynamic {
                        reference.dynamic_reason = Some(reason);
                    } else if hints.is_empty() {
                        reference.key = crate::template::join(&parts_left, |_| None);
                    } else {
                        reference.identifier = Some(written);
                        template = Some(Box::new(crate::template::Pending {
                            parts: parts_left,
                            hints,
                            reason,
                            format_args: None,
                        }));
                    }
                }
                // A format this file does not define: it and its arguments' names wait for
                // the cross-file stage (an argument that is a parameter or a variable: dynamic).
                KeyExpr::Format(name, args, written, reason) => {
                    let names: Vec<&String> = args
                        .iter()
                        .filter_map(|a| match a {
                            crate::extract::Operand::Name(n) => Some(n),
                            _ => None,
                        })
                        .collect();
                    if names
                        .iter()
                        .any(|n| matches!(local_part(r.tok, n), Some(Err(()))))
                    {
                        reference.dynamic_reason = Some(reason);
                    } else {
                        let mut hints = vec![origin_of(&name)];
                        hints.extend(names.iter().map(|n| origin_of(n)));
                        reference.identifier = Some(written);
                        template = Some(Box::new(crate::template::Pending {
                            parts: vec![crate::template::Part::Name(name)],
                            hints,
                            reason,
                            format_args: Some(args),
                        }));
                    }
                }
                // Split into one reference per key above; a nested list stays dynamic.
                KeyExpr::OneOf(_) => {
                    reference.dynamic_reason = Some("nested list of keys".into());
                }
                KeyExpr::Ident(id) => {
                    reference.identifier = Some(id.clone());
                    // A parameter is never a constant defined elsewhere.
                    if let Some((f, _, _)) = infer::param_slot(&fns, r.tok, &id) {
                        let first = id.split('.').next().unwrap_or(&id);
                        reference.dynamic_reason = Some(match &f.name {
                            Some(n) => format!("parameter `{first}` of `{n}`"),
                            None => format!("parameter `{first}` of a function"),
                        });
                        param_of = f.name.clone().or_else(|| {
                            fns.iter()
                                .rev()
                                .find(|o| {
                                    o.returns_fn.is_some_and(|t| t <= f.tok && f.tok <= t + 3)
                                })
                                .and_then(|o| o.name.clone())
                        });
                    }
                    if reference.dynamic_reason.is_none() {
                        let first = id.split('.').next().unwrap_or(&id);
                        reference.dynamic_reason = bound_at(r.tok, first);
                    }
                    // `const { A } = EVENTS`: `A` is looked up as `EVENTS.A`.
                    let id = match member(r.tok, &id) {
                        Some(m) if reference.dynamic_reason.is_none() => m,
                        _ => id,
                    };
                    // `const { event } = props.tracking`: a member of a parameter.
                    if reference.dynamic_reason.is_none() {
                        if let Some((f, _, _)) = infer::param_slot(&fns, r.tok, &id) {
                            let first = id.split('.').next().unwrap_or(&id);
                            reference.dynamic_reason = Some(match &f.name {
                                Some(n) => format!("parameter `{first}` of `{n}`"),
                                None => format!("parameter `{first}` of a function"),
                            });
                        }
                    }
                    if reference.dynamic_reason.is_none() {
                        if let Some(index) = local.as_ref().filter(|i| !i.is_empty()) {
                            match index.lookup_where(&id, &in_scope(r.tok)) {
                                Resolution::Unresolved => {}
                                found => apply(&mut reference, &found),
                            }
                        }
                    }
                    // A local variable of the calling function is never a constant elsewhere.
                    if reference.key.is_none() && reference.dynamic_reason.is_none() {
                        if let Some(reason) = local_variable(&id) {
                            reference.dynamic_reason = Some(reason);
                        }
                    }
                    // Elixir module attributes are private to their module.
                    if id.starts_with('@')
                        && reference.key.is_none()
                        && reference.dynamic_reason.is_none()
                    {
                        apply(&mut reference, &Resolution::Unresolved);
                    }
                    if reference.key.is_none() && reference.dynamic_reason.is_none() {
                        origin = origin_of(&id);
                        // Without an import to point the look-up, the member's own name.
                        if origin.is_none() {
                            reference.identifier = Some(id);
                        }
                    }
                }
            }
            Found {
                r: reference,
                family: lang.family(),
                hint: origin,
                param_of,
                via,
                template,
            }
        })
        .collect();
    (refs, facts)
}

/// The property set of a capture: its literal keys, and its keys written as constants
/// resolved against the file's own definitions (a name that does not resolve to one value
/// opens the set: a key is never guessed). Sorted by name, each key once at its first line.
fn property_set(
    raw: &crate::extract::RawProps,
    local: Option<&DefIndex>,
    keep_dollar: bool,
) -> crate::PropertySet {
    let mut open = raw.is_open();
    let mut keys: Vec<crate::PropertyKey> = Vec::with_capacity(raw.keys.len() + raw.names.len());
    keys.extend(raw.keys.iter().map(|(name, line)| crate::PropertyKey {
        name: name.clone(),
        line: *line,
    }));
    for (name, line) in &raw.names {
        match local.map(|index| index.lookup(name)) {
            Some(Resolution::Resolved { value, .. }) => {
                if keep_dollar || !value.starts_with('$') {
                    keys.push(crate::PropertyKey {
                        name: value,
                        line: *line,
                    });
                }
            }
            _ => open = true,
        }
    }
    keys.sort();
    keys.dedup_by(|b, a| a.name == b.name);
    crate::PropertySet { keys, open }
}

/// A file marked as server-only: a `"use server"` directive first, or `import
/// "server-only"` (Next.js).
fn marked_server(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    let directive = {
        let t = String::from_utf8_lossy(head);
        let first = t.lines().map(str::trim).find(|l| {
            !l.is_empty() && !l.starts_with("//") && !l.starts_with("/*") && !l.starts_with('*')
        });
        first.is_some_and(|l| l.starts_with("\"use server\"") || l.starts_with("'use server'"))
    };
    directive
        || memchr::memmem::find(bytes, b"import \"server-only\"").is_some()
        || memchr::memmem::find(bytes, b"import 'server-only'").is_some()
}

/// Column (1-based, code points) and trimmed line text for a byte offset.
fn locate(bytes: &[u8], offset: usize) -> (u32, String) {
    let start = memchr::memrchr(b'\n', &bytes[..offset]).map_or(0, |p| p + 1);
    let end = memchr::memchr(b'\n', &bytes[offset..]).map_or(bytes.len(), |p| offset + p);
    let column = String::from_utf8_lossy(&bytes[start..offset])
        .chars()
        .count() as u32
        + 1;
    let line = String::from_utf8_lossy(&bytes[start..end]);
    let trimmed = line.trim();
    let snippet = if trimmed.chars().count() > 200 {
        format!("{}…", trimmed.chars().take(199).collect::<String>())
    } else {
        trimmed.to_string()
    };
    (column, snippet)
}

/// Path globs win; then the call shape (for a wrapper, the SDK behind it); then a file
/// marked server-only; then server-looking paths; then the language.
fn side_for(rel: &str, lang: Lang, hint: SideHint, compiled: &Compiled, server_file: bool) -> Side {
    let front = compiled.frontend.is_match(rel);
    let back = compiled.backend.is_match(rel);
    match (front, back) {
        (true, false) => return Side::Frontend,
        (false, true) => return Side::Backend,
        _ => {}
    }
    match hint {
        SideHint::Frontend => Side::Frontend,
        SideHint::Backend => Side::Backend,
        SideHint::Ambiguous => {
            if server_file {
                return Side::Backend;
            }
            let serverish = rel.split('/').rev().skip(1).any(|seg| {
                matches!(
                    seg,
                    "server" | "servers" | "api" | "backend" | "lambda" | "lambdas"
                )
            }) || rel.contains(".server.");
            if serverish {
                return Side::Backend;
            }
            match lang {
                Lang::Js
                | Lang::Ts
                | Lang::Vue
                | Lang::Svelte
                | Lang::Markup
                | Lang::Swift
                | Lang::ObjC
                | Lang::Dart
                | Lang::Kotlin => Side::Frontend,
                _ => Side::Backend,
            }
        }
    }
}

/// Sorts and groups references into the report.
pub(crate) fn assemble(
    mut refs: Vec<Reference>,
    files_scanned: usize,
    files_matched: usize,
    include_tests: bool,
) -> ScanReport {
    refs.sort_by(|a, b| {
        (&a.path, a.line, a.column, a.kind).cmp(&(&b.path, b.line, b.column, b.kind))
    });
    if !include_tests {
        // A key only tests reference is not the product's; nor is a test's dynamic key.
        let keep: Vec<bool> = {
            let product: HashSet<(crate::Kind, &str)> = refs
                .iter()
                .filter(|r| !r.in_test)
                .filter_map(|r| r.key.as_deref().map(|k| (r.kind, k)))
                .collect();
            refs.iter()
                .map(|r| match &r.key {
                    Some(k) => !r.in_test || product.contains(&(r.kind, k.as_str())),
                    None => !r.in_test,
                })
                .collect()
        };
        let mut keep = keep.into_iter();
        refs.retain(|_| keep.next().unwrap_or(true));
    }
    let (mut keyed, dynamic): (Vec<Reference>, Vec<Reference>) =
        refs.into_iter().partition(|r| r.key.is_some());
    // By key, each key's references staying in path order (the sort is stable): each run
    // of one key is a key of the report, in the order of (kind, key). Indices are sorted
    // and the references (hundreds of bytes each) then moved into place once.
    let mut order: Vec<usize> = (0..keyed.len()).collect();
    order.sort_by(|&a, &b| (keyed[a].kind, &keyed[a].key).cmp(&(keyed[b].kind, &keyed[b].key)));
    crate::incremental::permute(&mut keyed, order);
    let mut keys: Vec<KeyReport> = Vec::new();
    for r in keyed {
        match keys.last_mut() {
            Some(last) if last.kind == r.kind && r.key.as_deref() == Some(last.key.as_str()) => {
                last.references.push(r);
            }
            _ => keys.push(KeyReport {
                kind: r.kind,
                key: r.key.clone().unwrap_or_default(),
                tracked_on: Side::Backend,
                references: vec![r],
                first_commit: None,
                pr_url: None,
            }),
        }
    }
    for k in &mut keys {
        // Tracked On is the product's: test references only decide it when a key has
        // nothing else.
        let product = k.references.iter().any(|r| !r.in_test);
        let counted = k.references.iter().filter(|r| !product || !r.in_test);
        let (mut front, mut back) = (false, false);
        for r in counted {
            front |= r.side == Side::Frontend;
            back |= r.side == Side::Backend;
        }
        k.tracked_on = match (front, back) {
            (true, true) => Side::Both,
            (true, false) => Side::Frontend,
            _ => Side::Backend,
        };
    }
    ScanReport {
        version: REPORT_VERSION,
        keys,
        dynamic,
        files_scanned,
        files_matched,
        wrappers: Vec::new(),
        skipped: Vec::new(),
        inference: Default::default(),
    }
}
