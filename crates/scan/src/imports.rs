//! Where a name used in a file comes from: JS/TS `import`, Python `from … import` and Go's
//! package rule, turned into a constraint on the path of the defining file.
//!
//! Invariant: an origin only ever narrows candidates the resolver already found by name; if
//! nothing matches the origin (a re-export through a barrel file, a path alias the scanner
//! cannot map), the resolver falls back to every candidate, so an origin never turns a
//! resolvable name into an unresolved one, and it never picks among different values by
//! proximity alone.

use crate::lang::Lang;
use crate::lexer::{str_value, Tk, Token};

/// A constraint on the defining file's repo-relative path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) enum Origin {
    /// Exactly this path without extension (or its `/index`, `/__init__`).
    Stem(String),
    /// A path ending in these segments (non-relative import such as `@/analytics/events`).
    Tail(String),
    /// A file in this directory (Go: same package).
    Dir(String),
}

impl Origin {
    pub(crate) fn admits(&self, path: &str) -> bool {
        let no_ext = path.rsplit_once('.').map_or(path, |(a, _)| a);
        let no_index = no_ext
            .strip_suffix("/index")
            .or_else(|| no_ext.strip_suffix("/__init__"))
            .unwrap_or(no_ext);
        match self {
            Origin::Stem(s) => no_ext == s || no_index == s,
            Origin::Tail(t) => no_index == t || no_index.ends_with(&format!("/{t}")),
            Origin::Dir(d) => path.rsplit_once('/').map_or("", |(a, _)| a) == d,
        }
    }
}

/// Every module a file imports, as origins (JS/TS `import … from`, `import '…'`,
/// `require('…')`; Python `from … import`, `import …`; Go import paths as
/// [`Origin::Tail`]). Packages outside the repository (`posthog-js`) have no origin.
pub(crate) fn imported_origins(src: &[u8], toks: &[Token], lang: Lang, path: &str) -> Vec<Origin> {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let mut out = Vec::new();
    match lang.family() {
        crate::lang::Family::Js => {
            for (k, t) in toks.iter().enumerate() {
                if t.kind != Tk::Str || k == 0 {
                    continue;
                }
                let p = &toks[k - 1];
                let spec_pos = p.is(src, "from")
                    || p.is(src, "import")
                    || (p.is(src, "(")
                        && k >= 2
                        && (toks[k - 2].is(src, "require") || toks[k - 2].is(src, "import")));
                if spec_pos {
                    let spec = str_value(src, t);
                    if let Some(o) = js_origin(dir, &spec) {
                        out.push(o);
                    }
                    // A workspace package (`@packages/ui/analytics/client`, `shared/x`):
                    // the path inside the package.
                    if !spec.starts_with('.') && !spec.starts_with("@/") && !spec.starts_with("~/")
                    {
                        let mut segs = spec.split('/');
                        if spec.starts_with('@') {
                            segs.next();
                        }
                        segs.next();
                        let inner: Vec<&str> = segs.collect();
                        if !inner.is_empty() {
                            out.push(Origin::Tail(inner.join("/")));
                        }
                    }
                }
            }
        }
        crate::lang::Family::Python => {
            for (k, t) in toks.iter().enumerate() {
                let first_on_line = k == 0 || toks[k - 1].line != t.line;
                if t.kind != Tk::Ident
                    || !first_on_line
                    || !(t.text(src) == b"from" || t.text(src) == b"import")
                {
                    continue;
                }
                let mut module = String::new();
                let mut j = k + 1;
                while j < toks.len()
                    && toks[j].line == t.line
                    && !matches!(toks[j].text(src), b"import" | b"as" | b",")
                {
                    module.push_str(&String::from_utf8_lossy(toks[j].text(src)));
                    j += 1;
                }
                if let Some(o) = py_origin(dir, &module) {
                    out.push(o);
                }
            }
        }
        crate::lang::Family::Go => {
            let mut in_block = false;
            for (k, t) in toks.iter().enumerate() {
                if t.is(src, "import") {
                    in_block = toks.get(k + 1).is_some_and(|n| n.is(src, "("));
                    if let Some(s) = toks.get(k + 1).filter(|s| s.kind == Tk::Str) {
                        out.push(Origin::Tail(str_value(src, s)));
                    }
                    continue;
                }
                if in_block {
                    if t.is(src, ")") {
                        in_block = false;
                    } else if t.kind == Tk::Str {
                        out.push(Origin::Tail(str_value(src, t)));
                    }
                }
            }
        }
        _ => {}
    }
    out
}

impl Origin {
    /// Whether importing this origin can bring in something defined at `path`: the file
    /// itself, a directory (package, barrel) above it, or a Go package path ending in its
    /// directory.
    pub(crate) fn links(&self, path: &str) -> bool {
        let no_ext = path.rsplit_once('.').map_or(path, |(a, _)| a);
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        let under = |base: &str| {
            !base.is_empty() && (no_ext == base || no_ext.starts_with(&format!("{base}/")))
        };
        match self {
            Origin::Stem(s) => self.admits(path) || under(s),
            Origin::Tail(t) => {
                let t = t.trim_end_matches('/');
                self.admits(path)
                    || no_ext.contains(&format!("/{t}/"))
                    || no_ext.starts_with(&format!("{t}/"))
                    || (!dir.is_empty() && (t == dir || t.ends_with(&format!("/{dir}"))))
            }
            Origin::Dir(d) => dir == d,
        }
    }
}

/// A local name bound by an import: where it comes from and its name there.
pub(crate) type Imports = crate::FastMap<String, (Origin, String)>;

/// Local names bound by imports in one file, mapped to the module they come from.
pub(crate) fn import_map(src: &[u8], toks: &[Token], lang: Lang, path: &str) -> Imports {
    let mut out = Imports::default();
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    match lang {
        Lang::Js | Lang::Ts | Lang::Vue | Lang::Svelte | Lang::Markup | Lang::Astro => {
            js_imports(src, toks, dir, &mut out)
        }
        Lang::Python => py_imports(src, toks, dir, &mut out),
        _ => {}
    }
    out
}

/// The origin of an identifier written in `path` (its first segment's import, or for Go
/// the package rule) and the name to look up there (`NAME` for `import { SHARED as NAME }`
/// becomes `SHARED`).
pub(crate) fn origin_of(
    identifier: &str,
    lang: Lang,
    path: &str,
    imports: &Imports,
) -> Option<(Origin, String)> {
    let (first, rest) = match identifier.split_once('.') {
        Some((f, r)) => (f, Some(r)),
        None => (identifier, None),
    };
    if let Some((o, original)) = imports.get(first) {
        // An empty original name means the import bound a whole module.
        let lookup = match (original.is_empty(), rest) {
            (true, Some(r)) => r.to_string(),
            (true, None) => identifier.to_string(),
            (false, Some(r)) => format!("{original}.{r}"),
            (false, None) => original.clone(),
        };
        return Some((o.clone(), lookup));
    }
    if lang == Lang::Go {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        let origin = match rest {
            None => Origin::Dir(dir.to_string()),
            Some(_) => Origin::Tail(first.to_string()),
        };
        return Some((origin, identifier.to_string()));
    }
    None
}

fn js_imports(src: &[u8], toks: &[Token], dir: &str, out: &mut Imports) {
    for (k, t) in toks.iter().enumerate() {
        if t.kind != Tk::Ident || t.text(src) != b"import" {
            continue;
        }
        let mut names: Vec<(String, String)> = Vec::new();
        let mut renamed_from: Option<String> = None;
        let mut j = k + 1;
        while j < toks.len() && j < k + 200 {
            let tj = &toks[j];
            if tj.kind == Tk::Ident && tj.text(src) == b"from" {
                if let Some(spec) = toks.get(j + 1).filter(|s| s.kind == Tk::Str) {
                    if let Some(origin) = js_origin(dir, &str_value(src, spec)) {
                        for (local, original) in names.drain(..) {
                            out.insert(local, (origin.clone(), original));
                        }
                    }
                }
                break;
            }
            if tj.is(src, ";") || tj.kind == Tk::Str {
                break;
            }
            if tj.kind == Tk::Ident && !matches!(tj.text(src), b"type" | b"as" | b"typeof") {
                let name = String::from_utf8_lossy(tj.text(src)).into_owned();
                if toks.get(j + 1).is_some_and(|n| n.is(src, "as")) {
                    renamed_from = Some(name);
                } else if j >= 2 && toks[j - 1].is(src, "as") && toks[j - 2].is(src, "*") {
                    names.push((name, String::new()));
                } else {
                    let original = renamed_from.take().unwrap_or_else(|| name.clone());
                    names.push((name, original));
                }
            }
            j += 1;
        }
    }
}

fn js_origin(dir: &str, spec: &str) -> Option<Origin> {
    // ESM TypeScript imports name the compiled file: `./posthog.js` is `./posthog.ts`.
    let spec = [".js", ".jsx", ".mjs", ".cjs"]
        .iter()
        .find_map(|ext| spec.strip_suffix(ext))
        .unwrap_or(spec);
    if spec.starts_with("./") || spec.starts_with("../") || spec == "." || spec == ".." {
        return Some(Origin::Stem(join(dir, spec)));
    }
    // Path aliases (`@/x`, `~/x`, `src/x`): match on the tail after the alias.
    let tail = spec
        .strip_prefix("@/")
        .or_else(|| spec.strip_prefix("~/"))
        .unwrap_or(spec);
    if tail.contains('/') && !spec.starts_with('@') || spec.starts_with("@/") {
        return Some(Origin::Tail(tail.trim_end_matches('/').to_string()));
    }
    None
}

fn py_imports(src: &[u8], toks: &[Token], dir: &str, out: &mut Imports) {
    for (k, t) in toks.iter().enumerate() {
        if t.kind != Tk::Ident || t.text(src) != b"from" || (k > 0 && toks[k - 1].line == t.line) {
            continue;
        }
        // Module: dots and dotted names up to `import`.
        let mut module = String::new();
        let mut j = k + 1;
        while j < toks.len()
            && toks[j].line == t.line
            && !(toks[j].kind == Tk::Ident && toks[j].text(src) == b"import")
        {
            module.push_str(&String::from_utf8_lossy(toks[j].text(src)));
            j += 1;
        }
        if j >= toks.len() || toks[j].text(src) != b"import" {
            continue;
        }
        let mut names: Vec<(String, String)> = Vec::new();
        let mut renamed_from: Option<String> = None;
        let mut m = j + 1;
        let line = toks[j].line;
        let paren = toks.get(m).is_some_and(|p| p.is(src, "("));
        while m < toks.len() && (toks[m].line == line || paren) {
            let tm = &toks[m];
            if tm.is(src, ")") {
                break;
            }
            if tm.kind == Tk::Ident && tm.text(src) != b"as" {
                let name = String::from_utf8_lossy(tm.text(src)).into_owned();
                if toks.get(m + 1).is_some_and(|n| n.text(src) == b"as") {
                    renamed_from = Some(name);
                } else {
                    let original = renamed_from.take().unwrap_or_else(|| name.clone());
                    names.push((name, original));
                }
            }
            m += 1;
        }
        for (local, original) in names {
            // `from . import events` binds a module; `from .events import X` binds a member.
            let module_only = module.chars().all(|c| c == '.');
            let target = if module_only {
                format!("{module}{original}")
            } else {
                module.clone()
            };
            if let Some(origin) = py_origin(dir, &target) {
                // A bound module is looked up by member only (`events.X` → `X` in it).
                out.insert(
                    local,
                    (origin, if module_only { String::new() } else { original }),
                );
            }
        }
    }
}

fn py_origin(dir: &str, module: &str) -> Option<Origin> {
    let dots = module.chars().take_while(|c| *c == '.').count();
    let rest = module[dots..].replace('.', "/");
    if dots == 0 {
        return (!rest.is_empty()).then_some(Origin::Tail(rest));
    }
    let mut base: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for _ in 1..dots {
        base.pop()?;
    }
    let mut stem = base.join("/");
    if !rest.is_empty() {
        if !stem.is_empty() {
            stem.push('/');
        }
        stem.push_str(&rest);
    }
    Some(Origin::Stem(stem))
}

/// `dir` joined with a relative specifier, normalised (`a/b` + `../c` = `a/c`).
fn join(dir: &str, spec: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in spec.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::tokenize;

    fn map(src: &str, path: &str) -> Imports {
        let lang = Lang::from_path(path).unwrap();
        let mut toks = Vec::new();
        tokenize(src.as_bytes(), lang, &mut toks);
        import_map(src.as_bytes(), &toks, lang, path)
    }

    fn entry(o: Origin, original: &str) -> Option<(Origin, String)> {
        Some((o, original.to_string()))
    }

    #[test]
    fn js_imports_bind_names_to_files() {
        let m = map(
            "import posthog from 'posthog-js'\nimport { A, B as C } from '../analytics/events'\nimport * as ev from './ev'\nimport { X } from '@/lib/flags'\n",
            "web/src/pages/p.tsx",
        );
        let events = Origin::Stem("web/src/analytics/events".into());
        assert_eq!(m.get("A").cloned(), entry(events.clone(), "A"));
        assert_eq!(m.get("C").cloned(), entry(events, "B"));
        assert_eq!(m.get("B"), None);
        assert_eq!(
            m.get("ev").cloned(),
            entry(Origin::Stem("web/src/pages/ev".into()), "")
        );
        assert_eq!(
            m.get("X").cloned(),
            entry(Origin::Tail("lib/flags".into()), "X")
        );
        assert_eq!(m.get("posthog"), None);
        assert_eq!(
            origin_of("C", Lang::Ts, "p.ts", &m).map(|o| o.1).as_deref(),
            Some("B")
        );
        assert_eq!(
            origin_of("ev.SIGNUP", Lang::Ts, "p.ts", &m)
                .map(|o| o.1)
                .as_deref(),
            Some("SIGNUP")
        );
        assert!(
            Origin::Stem("web/src/analytics/events".into()).admits("web/src/analytics/events.ts")
        );
        assert!(Origin::Stem("web/src/analytics".into()).admits("web/src/analytics/index.ts"));
        assert!(Origin::Tail("lib/flags".into()).admits("web/src/lib/flags.ts"));
        assert!(!Origin::Tail("lib/flags".into()).admits("web/src/mylib/flags.ts"));
    }

    #[test]
    fn python_imports_relative_and_absolute() {
        let m = map(
            "from . import events\nfrom ..shared.names import SIGNUP, LOGIN as L\nfrom app.flags import (\n    BETA,\n)\n",
            "api/app/views/v.py",
        );
        let names = Origin::Stem("api/app/shared/names".into());
        assert_eq!(
            m.get("events").cloned(),
            entry(Origin::Stem("api/app/views/events".into()), "")
        );
        assert_eq!(m.get("SIGNUP").cloned(), entry(names.clone(), "SIGNUP"));
        assert_eq!(m.get("L").cloned(), entry(names, "LOGIN"));
        assert_eq!(
            m.get("BETA").cloned(),
            entry(Origin::Tail("app/flags".into()), "BETA")
        );
    }

    #[test]
    fn go_names_come_from_the_same_package() {
        let o = origin_of("Event3", Lang::Go, "svc/a/handler.go", &Imports::default());
        assert_eq!(o, entry(Origin::Dir("svc/a".into()), "Event3"));
        assert!(Origin::Dir("svc/a".into()).admits("svc/a/events.go"));
        assert!(!Origin::Dir("svc/a".into()).admits("svc/a/b/events.go"));
    }
}
