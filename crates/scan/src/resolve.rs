//! Resolves identifiers (`SIGNUP`, `Events.SIGNUP`, `EVENTS['signup']`) to string values.
//!
//! The resolver is asked for a few names and finds only their definitions: a parallel walk
//! whose prefilter is the literal bytes of the names' last segments, so files that cannot
//! define them are never tokenized. The full scan uses the same machinery for the names it
//! could not resolve within their own file.
//!
//! Lookup rule: the longest matching suffix of the reference wins (`app.Events.SIGNUP`
//! tries `app.Events.SIGNUP`, then `Events.SIGNUP`, then `SIGNUP`), a definition nested in
//! a namespace still matches its shorter name, and a leading segment is only dropped when
//! it looks like a module or instance (`events.`, `self.`, `this.`), never a type
//! (`Other.SIGNUP` does not fall back to a bare `SIGNUP`). Different values for the same
//! name are ambiguous, never a guess.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use crate::defs::{find_defs, Def};
use crate::imports::Origin;
use crate::lang::{Family, Lang};
use crate::lexer::tokenize;
use crate::settings::Compiled;
use crate::walk::walk;
use crate::{ScanError, ScanSettings};

/// What a name resolves to.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Resolution {
    /// One value, defined at `path:line` (the first definition in path order).
    Resolved {
        /// The string value.
        value: String,
        /// Repo-relative path of the definition.
        path: String,
        /// 1-based line of the definition.
        line: u32,
    },
    /// Several different values; `locations` are `path:line`, one per value.
    Ambiguous {
        /// The distinct values, sorted.
        values: Vec<String>,
        /// Where each value is defined.
        locations: Vec<String>,
    },
    /// No definition found.
    Unresolved,
}

/// Definitions with where they are.
#[derive(Default)]
pub(crate) struct DefIndex {
    defs: Vec<(Def, String)>,
}

impl DefIndex {
    /// A definition as a file other than the one holding it sees it: only a top-level one
    /// (module, package or class level) is visible across files, so a function's local
    /// ([`Def::local`]) is left out. The cross-file look-ups all build their index here.
    pub(crate) fn push(&mut self, def: Def, path: &str) {
        if !def.local {
            self.defs.push((def, path.to_string()));
        }
    }

    /// A definition of the file being resolved itself, local or not (its caller filters by
    /// scope: [`DefIndex::lookup_where`]).
    pub(crate) fn push_own(&mut self, def: Def, path: &str) {
        self.defs.push((def, path.to_string()));
    }

    pub(crate) fn extend(&mut self, other: DefIndex) {
        self.defs.extend(other.defs);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// Resolves a `.`-joined reference name.
    pub(crate) fn lookup(&self, name: &str) -> Resolution {
        self.lookup_from(name, None)
    }

    /// Resolves a name among the definitions `keep` admits (a file's own definitions, for
    /// a use: those not inside another function).
    pub(crate) fn lookup_where(&self, name: &str, keep: &dyn Fn(&Def) -> bool) -> Resolution {
        self.lookup_in(name, None, keep)
    }

    /// Resolves a name, preferring definitions in the file its import points at.
    pub(crate) fn lookup_from(&self, name: &str, origin: Option<&Origin>) -> Resolution {
        self.lookup_in(name, origin, &|_| true)
    }

    fn lookup_in(
        &self,
        name: &str,
        origin: Option<&Origin>,
        keep: &dyn Fn(&Def) -> bool,
    ) -> Resolution {
        let narrow = |found: Vec<&(Def, String)>| -> Resolution {
            if let Some(o) = origin {
                let admitted: Vec<&(Def, String)> =
                    found.iter().copied().filter(|(_, p)| o.admits(p)).collect();
                if !admitted.is_empty() {
                    return decide(admitted);
                }
            }
            decide(found)
        };
        let r: Vec<&str> = name.split('.').collect();
        for k in (1..=r.len()).rev() {
            if k < r.len() {
                let dropped = r[r.len() - k - 1];
                let droppable = dropped
                    .starts_with(|c: char| c.is_lowercase() || c == '_' || c == '@')
                    || matches!(dropped, "self" | "this" | "cls" | "static");
                if !droppable {
                    return Resolution::Unresolved;
                }
            }
            let suffix = &r[r.len() - k..];
            let exact: Vec<&(Def, String)> = self
                .defs
                .iter()
                .filter(|(d, _)| d.chain == suffix && keep(d))
                .collect();
            if !exact.is_empty() {
                return narrow(exact);
            }
            let nested: Vec<&(Def, String)> = self
                .defs
                .iter()
                .filter(|(d, _)| {
                    d.chain.len() > k && d.chain[d.chain.len() - k..] == *suffix && keep(d)
                })
                .collect();
            if !nested.is_empty() {
                return narrow(nested);
            }
        }
        Resolution::Unresolved
    }
}

fn decide(mut found: Vec<&(Def, String)>) -> Resolution {
    found.sort_by(|a, b| (&a.1, a.0.line).cmp(&(&b.1, b.0.line)));
    let values: BTreeSet<&str> = found.iter().map(|(d, _)| d.value.as_str()).collect();
    if values.len() == 1 {
        let (d, path) = found[0];
        return Resolution::Resolved {
            value: d.value.clone(),
            path: path.clone(),
            line: d.line,
        };
    }
    let mut locations = Vec::new();
    for v in &values {
        if let Some((d, p)) = found.iter().find(|(d, _)| d.value == *v) {
            locations.push(format!("{p}:{}", d.line));
        }
    }
    Resolution::Ambiguous {
        values: values.into_iter().map(String::from).collect(),
        locations,
    }
}

/// The last segment of a reference name: the bytes any defining file must contain.
pub(crate) fn last_segment(name: &str) -> &str {
    name.rsplit('.')
        .next()
        .unwrap_or(name)
        .trim_start_matches('@')
}

/// Finds the definitions of `names` (per language family) under `root`.
pub(crate) fn resolve_in(
    root: &Path,
    compiled: &Compiled,
    names: &HashMap<Family, HashSet<String>>,
) -> Result<HashMap<Family, DefIndex>, ScanError> {
    let mut needles: Vec<String> = names
        .values()
        .flatten()
        .map(|n| last_segment(n).to_string())
        .filter(|s| !s.is_empty())
        .collect();
    needles.sort();
    needles.dedup();
    if needles.is_empty() {
        return Ok(HashMap::new());
    }
    // Leftmost semantics let the SIMD (Teddy) prefilter run; `Standard` cannot use it.
    let prefilter =
        crate::patterns::literal_matcher(&needles, aho_corasick::MatchKind::LeftmostFirst)?;
    let wanted: HashMap<Family, HashSet<String>> = names
        .iter()
        .map(|(f, ns)| (*f, ns.iter().map(|n| last_segment(n).to_string()).collect()))
        .collect();
    let want_lang = |l: Lang| wanted.contains_key(&l.family());
    let (states, _unread) = walk(
        root,
        compiled,
        &want_lang,
        || (HashMap::<Family, DefIndex>::new(), Vec::new()),
        |(found, toks), rel, lang, bytes| {
            if !prefilter.is_match(bytes) {
                return;
            }
            let Some(segments) = wanted.get(&lang.family()) else {
                return;
            };
            tokenize(bytes, lang, toks);
            let defs = find_defs(bytes, toks, lang, &|last| {
                segments.contains(last.trim_start_matches('@'))
            });
            let index = found.entry(lang.family()).or_default();
            for d in defs {
                index.push(d, rel);
            }
        },
    )?;
    Ok(merge_indexes(states))
}

/// The walk's per-thread definition indexes (each thread's state is its index and a token
/// buffer) merged into one index per language family.
pub(crate) fn merge_indexes<T>(
    states: impl IntoIterator<Item = (HashMap<Family, DefIndex>, T)>,
) -> HashMap<Family, DefIndex> {
    let mut out: HashMap<Family, DefIndex> = HashMap::new();
    for (found, _) in states {
        for (family, index) in found {
            out.entry(family).or_default().extend(index);
        }
    }
    out
}

/// The files each request may be defined in (in request order), and per file the names
/// wanted from it: the grouping both targeted resolvers start from.
pub(crate) fn candidates_of(
    base: &Path,
    requests: &[(Origin, Family, String)],
) -> (Vec<Vec<String>>, HashMap<String, HashSet<String>>) {
    let mut files_of: Vec<Vec<String>> = Vec::with_capacity(requests.len());
    let mut wanted: HashMap<String, HashSet<String>> = HashMap::new();
    let mut cache: HashMap<(&Origin, Family), Vec<String>> = HashMap::new();
    for (origin, family, name) in requests {
        let files = cache
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
    (files_of, wanted)
}

/// Resolves names whose import (or Go package) says which files define them, by reading
/// just those files: `(origin, family, name)` in, one resolution per request out
/// (`Unresolved` when the named files do not define it, for the caller to search wider).
/// Only regular files inside `base` are read, never through a symbolic link.
pub(crate) fn resolve_targeted(
    base: &Path,
    requests: &[(Origin, Family, String)],
) -> Vec<Resolution> {
    let (files_of, wanted) = candidates_of(base, requests);
    let defs_of = read_defs(base, &wanted);
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

/// Reads the files in `wanted` (repo-relative, each with the last name segments wanted from
/// it) and finds those definitions. Only regular files inside `base` are read, never through
/// a symbolic link, and only files containing a wanted name are tokenized.
pub(crate) fn read_defs(
    base: &Path,
    wanted: &HashMap<String, HashSet<String>>,
) -> HashMap<String, Vec<Def>> {
    let canonical_base = base.canonicalize().ok();
    // Directories checked to lie inside `base` (no symbolic link leads out).
    let mut dirs_inside: HashMap<String, bool> = HashMap::new();
    let mut jobs: Vec<(&String, &HashSet<String>, Lang)> = Vec::new();
    for (rel, names) in wanted.iter() {
        let dir = rel.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        let inside = *dirs_inside.entry(dir.clone()).or_insert_with(|| {
            match (&canonical_base, base.join(&dir).canonicalize()) {
                (Some(b), Ok(p)) => p.starts_with(b),
                _ => false,
            }
        });
        if let (Some(lang), true) = (Lang::from_path(rel), inside) {
            jobs.push((rel, names, lang));
        }
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = jobs.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut toks = Vec::new();
                    let mut buf = Vec::new();
                    let mut out: Vec<(String, Vec<Def>)> = Vec::new();
                    for (rel, names, lang) in part {
                        let path = base.join(rel);
                        let regular = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file());
                        if !regular || crate::walk::read_source(&path, &mut buf).is_err() {
                            continue;
                        }
                        // Only files that contain a wanted name are tokenized.
                        if !names
                            .iter()
                            .any(|n| memchr::memmem::find(&buf, n.as_bytes()).is_some())
                        {
                            continue;
                        }
                        tokenize(&buf, *lang, &mut toks);
                        let defs = find_defs(&buf, &toks, *lang, &|last| {
                            names.contains(last.trim_start_matches('@'))
                        });
                        out.push(((*rel).clone(), defs));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Repo-relative files an origin can mean, that exist.
pub(crate) fn candidate_files(base: &Path, origin: &Origin, family: Family) -> Vec<String> {
    let exts: &[&str] = match family {
        Family::Js => &["ts", "tsx", "js", "jsx", "mjs", "cjs", "mts", "cts"],
        Family::Python => &["py", "pyi"],
        Family::Go => &["go"],
        _ => &[],
    };
    match origin {
        Origin::Stem(stem) => {
            // A module resolves to one file: `stem.ext` first, then a directory's index.
            let direct = exts.iter().map(|ext| format!("{stem}.{ext}"));
            let index = exts.iter().flat_map(|ext| {
                [
                    format!("{stem}/index.{ext}"),
                    format!("{stem}/__init__.{ext}"),
                ]
            });
            direct
                .chain(index)
                .find(|c| base.join(c).is_file())
                .into_iter()
                .collect()
        }
        Origin::Dir(dir) => {
            let Ok(entries) = std::fs::read_dir(base.join(dir)) else {
                return Vec::new();
            };
            let mut out: Vec<String> = entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let rel = if dir.is_empty() {
                        name
                    } else {
                        format!("{dir}/{name}")
                    };
                    (Lang::from_path(&rel).map(Lang::family) == Some(family)).then_some(rel)
                })
                .collect();
            out.sort();
            out
        }
        Origin::Tail(_) => Vec::new(),
    }
}

/// Public entry point: see [`crate::resolve_identifiers`].
pub(crate) fn resolve_identifiers(
    root: &Path,
    names: &[String],
    settings: &ScanSettings,
) -> Result<HashMap<String, Resolution>, ScanError> {
    let compiled = Compiled::new(settings)?;
    let all_families = [
        Family::Js,
        Family::Python,
        Family::Go,
        Family::Ruby,
        Family::Php,
        Family::Jvm,
        Family::Apple,
        Family::Dart,
        Family::DotNet,
        Family::Elixir,
        Family::Rust,
    ];
    let set: HashSet<String> = names.iter().cloned().collect();
    let request: HashMap<Family, HashSet<String>> =
        all_families.iter().map(|f| (*f, set.clone())).collect();
    let found = resolve_in(root, &compiled, &request)?;
    let mut merged = DefIndex::default();
    for (_, index) in found {
        merged.extend(index);
    }
    Ok(names
        .iter()
        .map(|n| (n.clone(), merged.lookup(n)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(defs: &[(&str, &str, &str)]) -> DefIndex {
        let mut i = DefIndex::default();
        for (chain, value, path) in defs {
            i.push(
                Def {
                    chain: chain.split('.').map(String::from).collect(),
                    value: value.to_string(),
                    line: 1,
                    tok: 0,
                    local: false,
                },
                path,
            );
        }
        i
    }

    #[test]
    fn suffix_rules() {
        let i = index(&[
            ("Events.SIGNUP", "s", "a.ts"),
            ("NS.Flags.BETA", "b", "b.ts"),
            ("LOGIN", "l", "c.ts"),
        ]);
        assert!(
            matches!(i.lookup("Events.SIGNUP"), Resolution::Resolved { ref value, .. } if value == "s")
        );
        assert!(
            matches!(i.lookup("ev.Events.SIGNUP"), Resolution::Resolved { ref value, .. } if value == "s")
        );
        assert!(
            matches!(i.lookup("Flags.BETA"), Resolution::Resolved { ref value, .. } if value == "b")
        );
        assert!(
            matches!(i.lookup("events.LOGIN"), Resolution::Resolved { ref value, .. } if value == "l")
        );
        assert_eq!(i.lookup("Other.LOGIN"), Resolution::Unresolved);
        assert_eq!(i.lookup("MISSING"), Resolution::Unresolved);
    }

    #[test]
    fn different_values_are_ambiguous() {
        let i = index(&[
            ("X", "one", "a.py"),
            ("X", "two", "b.py"),
            ("Y", "same", "a.py"),
            ("Y", "same", "b.py"),
        ]);
        assert_eq!(
            i.lookup("X"),
            Resolution::Ambiguous {
                values: vec!["one".into(), "two".into()],
                locations: vec!["a.py:1".into(), "b.py:1".into()]
            }
        );
        assert_eq!(
            i.lookup("Y"),
            Resolution::Resolved {
                value: "same".into(),
                path: "a.py".into(),
                line: 1
            }
        );
    }
}
