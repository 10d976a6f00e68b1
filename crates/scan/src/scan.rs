//! The full scan: walk, extract, resolve, decide sides, and assemble the report.
//!
//! Invariants: the report is deterministic (references sorted by path, line, column; keys
//! by kind then key) whatever the thread scheduling; every reference either has a key or a
//! `dynamic_reason`; memory held across files is only the references found.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::rc::Rc;

use crate::extract::{find_calls, KeyExpr};
use crate::imports::{import_map, origin_of, Origin};
use crate::lang::{Family, Lang};
use crate::lexer::{tokenize, Token};
use crate::patterns::{SideHint, Table};
use crate::resolve::{resolve_in, resolve_targeted, DefIndex, Resolution};
use crate::settings::Compiled;
use crate::walk::{base_dir, is_minified};
use crate::{KeyReport, Reference, ScanError, ScanReport, ScanSettings, Side, REPORT_VERSION};

/// A reference, its language family, and (for an unresolved identifier) where its import
/// points and the name to look up there.
type Found = (Reference, Family, Option<(Origin, String)>);

pub(crate) fn scan(root: &Path, settings: &ScanSettings) -> Result<ScanReport, ScanError> {
    crate::incremental::scan(root, settings, &crate::ScanOptions::default()).map(|(r, _)| r)
}

/// Resolves the identifiers `refs` still carry: names whose import says where they live
/// are looked up in just those files; the rest in one prefiltered walk.
fn resolve_pending(root: &Path, compiled: &Compiled, refs: &mut [Found]) -> Result<(), ScanError> {
    // Names whose import says where they live: read just those files.
    let targeted: Vec<usize> = (0..refs.len())
        .filter(|&i| {
            let (r, _, hint) = &refs[i];
            r.key.is_none()
                && r.dynamic_reason.is_none()
                && r.identifier.is_some()
                && matches!(hint, Some((Origin::Stem(_) | Origin::Dir(_), _)))
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
        let resolutions = resolve_targeted(&base_dir(root), &requests);
        for (&i, resolution) in targeted.iter().zip(&resolutions) {
            if *resolution != Resolution::Unresolved {
                apply(&mut refs[i].0, resolution);
            }
        }
    }
    // The rest: one prefiltered walk for all remaining names.
    let mut pending: HashMap<Family, HashSet<String>> = HashMap::new();
    for (r, family, hint) in refs.iter() {
        if let (None, Some(id), None) = (&r.key, &r.identifier, &r.dynamic_reason) {
            let lookup = hint.as_ref().map_or(id, |(_, l)| l);
            pending.entry(*family).or_default().insert(lookup.clone());
        }
    }
    if !pending.is_empty() {
        let found = resolve_in(root, compiled, &pending)?;
        let empty = DefIndex::default();
        for (r, family, hint) in refs.iter_mut() {
            if let (None, Some(id), None) = (&r.key, &r.identifier, &r.dynamic_reason) {
                let (origin, lookup) = match hint {
                    Some((o, l)) => (Some(&*o), l.as_str()),
                    None => (None, id.as_str()),
                };
                let resolution = found
                    .get(family)
                    .unwrap_or(&empty)
                    .lookup_from(lookup, origin);
                apply(r, &resolution);
            }
        }
    }
    Ok(())
}

/// See [`crate::scan_file_resolved`].
pub(crate) fn scan_file_resolved(
    root: &Path,
    path: &str,
    text: &str,
    settings: &ScanSettings,
) -> Result<Vec<Reference>, ScanError> {
    let Some(lang) = Lang::from_path(path) else {
        return Ok(Vec::new());
    };
    let compiled = Compiled::new(settings)?;
    let table = Table::new(settings)?;
    let bytes = text.as_bytes();
    if !table.worth_parsing(bytes) || is_minified(bytes) {
        return Ok(Vec::new());
    }
    let mut toks = Vec::new();
    let mut refs: Vec<Found> = file_refs(path, lang, bytes, &table, &compiled, &mut toks)
        .into_iter()
        .map(|(r, o)| (r, lang.family(), o))
        .collect();
    resolve_pending(root, &compiled, &mut refs)?;
    let mut refs: Vec<Reference> = refs.into_iter().map(|(r, _, _)| r).collect();
    refs.sort_by_key(|r| (r.line, r.column));
    Ok(refs)
}

/// Settings and the matcher compiled from them.
type CachedMatcher = (ScanSettings, Rc<(Compiled, Table)>);

pub(crate) fn scan_file_text(path: &str, text: &str, settings: &ScanSettings) -> Vec<Reference> {
    let Some(lang) = Lang::from_path(path) else {
        return Vec::new();
    };
    // Callers such as the pre-commit gate scan many files with the same settings: keep the
    // compiled matcher of the last settings seen on this thread.
    thread_local! {
        static COMPILED: RefCell<Option<CachedMatcher>> = const { RefCell::new(None) };
    }
    let cached = COMPILED.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(s, _)| s == settings)
            .map(|(_, t)| Rc::clone(t))
    });
    let parts = match cached {
        Some(parts) => parts,
        None => {
            let compiled =
                Compiled::new(settings).or_else(|_| Compiled::new(&ScanSettings::default()));
            let (Ok(compiled), Ok(table)) = (compiled, Table::new(settings)) else {
                return Vec::new();
            };
            let parts = Rc::new((compiled, table));
            COMPILED.with(|c| *c.borrow_mut() = Some((settings.clone(), Rc::clone(&parts))));
            parts
        }
    };
    let (compiled, table) = &*parts;
    let bytes = text.as_bytes();
    if !table.worth_parsing(bytes) || is_minified(bytes) {
        return Vec::new();
    }
    let mut toks = Vec::new();
    let mut refs: Vec<Reference> = file_refs(path, lang, bytes, table, compiled, &mut toks)
        .into_iter()
        .map(|(r, _)| r)
        .collect();
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

/// The references of one file, with identifiers resolved against the file's own constants.
pub(crate) fn file_refs(
    rel: &str,
    lang: Lang,
    bytes: &[u8],
    table: &Table,
    compiled: &Compiled,
    toks: &mut Vec<Token>,
) -> Vec<(Reference, Option<(Origin, String)>)> {
    tokenize(bytes, lang, toks);
    let raw = find_calls(bytes, toks, lang, table, &compiled.clients);
    if raw.is_empty() {
        return Vec::new();
    }
    let has_idents = raw.iter().any(|r| matches!(r.key, KeyExpr::Ident(_)));
    let local = if has_idents {
        let mut index = DefIndex::default();
        for d in crate::defs::find_defs(bytes, toks, lang, &|_| true) {
            index.push(d, rel);
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
    raw.into_iter()
        .map(|r| {
            let tok = &toks[r.tok];
            let (column, snippet) = locate(bytes, tok.start as usize);
            let mut origin = None;
            let mut reference = Reference {
                path: rel.to_string(),
                line: tok.line,
                column,
                snippet,
                kind: r.kind,
                side: side_for(rel, lang, r.side, compiled),
                sdk: r.sdk,
                key: None,
                identifier: None,
                dynamic_reason: None,
            };
            match r.key {
                KeyExpr::Literal(k) => reference.key = Some(k),
                KeyExpr::Dynamic(reason) => reference.dynamic_reason = Some(reason),
                KeyExpr::Ident(id) => {
                    reference.identifier = Some(id.clone());
                    if let Some(index) = local.as_ref().filter(|i| !i.is_empty()) {
                        match index.lookup(&id) {
                            Resolution::Unresolved => {}
                            found => apply(&mut reference, &found),
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
                        origin = origin_of(&id, lang, rel, &imports);
                    }
                }
            }
            (reference, origin)
        })
        .collect()
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

/// Path globs win; then the call shape; then server-looking paths; then the language.
fn side_for(rel: &str, lang: Lang, hint: SideHint, compiled: &Compiled) -> Side {
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
) -> ScanReport {
    refs.sort_by(|a, b| {
        (&a.path, a.line, a.column, a.kind).cmp(&(&b.path, b.line, b.column, b.kind))
    });
    let mut groups: BTreeMap<(crate::Kind, String), Vec<Reference>> = BTreeMap::new();
    let mut dynamic = Vec::new();
    for r in refs {
        match r.key.clone() {
            Some(k) => groups.entry((r.kind, k)).or_default().push(r),
            None => dynamic.push(r),
        }
    }
    let keys = groups
        .into_iter()
        .map(|((kind, key), references)| {
            let front = references.iter().any(|r| r.side == Side::Frontend);
            let back = references.iter().any(|r| r.side == Side::Backend);
            let tracked_on = match (front, back) {
                (true, true) => Side::Both,
                (true, false) => Side::Frontend,
                _ => Side::Backend,
            };
            KeyReport {
                kind,
                key,
                tracked_on,
                references,
                first_commit: None,
                pr_url: None,
            }
        })
        .collect();
    ScanReport {
        version: REPORT_VERSION,
        keys,
        dynamic,
        files_scanned,
        files_matched,
    }
}
