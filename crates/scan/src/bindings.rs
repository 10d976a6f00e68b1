//! What a bare call's name is bound to in its file, for the call shapes that have no
//! receiver to tell: a Python function imported from `posthog` (`from posthog import
//! capture, evaluate_flags`) is PostHog's; a JS/TS hook or component imported from another
//! package (`import { useFeatureFlag } from 'configcat-react'`) or declared in the file
//! itself is not PostHog's, whatever its name. A name imported from the project's own
//! modules (`./flags`, `@/hooks`) may be a re-export of PostHog's hook, so it still counts.

use crate::lang::{Family, Lang};
use crate::lexer::{str_value, Tk, Token};

/// Names bound in one file.
#[derive(Default, Clone, Debug)]
pub(crate) struct Bindings {
    /// Python: functions imported by name from the `posthog` module.
    pub posthog: Vec<String>,
    /// JS/TS: methods destructured from the PostHog client (`const { capture } =
    /// usePostHog()`, renamed `const { capture: c } = usePostHog()`).
    pub client_methods: Vec<ClientMethod>,
    /// JS/TS: names imported from a package that is not PostHog's, or declared here
    /// (`function name(`, `const name =`, `class name`).
    pub foreign: Vec<String>,
}

/// A method of the PostHog client bound to a local name in a JS/TS file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClientMethod {
    /// The name bare calls use (`c` of `{ capture: c }`).
    pub local: String,
    /// The client's method it is (`capture`).
    pub method: String,
    /// The token range where the name is bound: from the declaration's pattern end to the
    /// end of its block.
    pub from: usize,
    pub to: usize,
}

impl ClientMethod {
    /// The bare call name at token `i` (of `toks`) is this method.
    pub(crate) fn binds(&self, src: &[u8], toks: &[Token], i: usize) -> bool {
        self.from < i && i < self.to && toks[i].is(src, &self.local)
    }
}

/// A PostHog package: `posthog-js`, `posthog-js/react`, `posthog-react-native`,
/// `posthog-node`, `@posthog/react`, …
fn is_posthog_module(module: &str) -> bool {
    module.to_ascii_lowercase().contains("posthog")
}

/// The project's own module rather than a package: relative, absolute, or a path alias
/// (`@/…`, `~/…`, `#…`, `$lib/…`).
fn is_own_module(module: &str) -> bool {
    module.starts_with(['.', '/', '~', '#', '$']) || module.starts_with("@/")
}

pub(crate) fn of_file(src: &[u8], toks: &[Token], lang: Lang) -> Bindings {
    let mut out = Bindings::default();
    match lang.family() {
        Family::Python if memchr::memmem::find(src, b"posthog import").is_some() => {
            python_imports(src, toks, &mut out.posthog)
        }
        Family::Js => {
            js_bindings(src, toks, &mut out.foreign);
            if memchr::memmem::find(src, b"osthog").is_some()
                || memchr::memmem::find(src, b"ostHog").is_some()
            {
                js_client_methods(src, toks, &out.foreign, &mut out.client_methods);
            }
        }
        _ => {}
    }
    out
}

fn ident<'a>(src: &'a [u8], t: &Token) -> Option<&'a str> {
    (t.kind == Tk::Ident)
        .then(|| std::str::from_utf8(t.text(src)).ok())
        .flatten()
}

/// `from posthog import a, b` and `from posthog import (a, b)`: `a`, `b`. An aliased name
/// (`a as b`) is left out: its calls are written `b(…)`, which no call shape names.
fn python_imports(src: &[u8], toks: &[Token], out: &mut Vec<String>) {
    for k in 0..toks.len().saturating_sub(3) {
        if !(toks[k].is(src, "from")
            && toks[k + 1].is(src, "posthog")
            && toks[k + 2].is(src, "import"))
        {
            continue;
        }
        let line = toks[k + 2].line;
        let mut j = k + 3;
        let paren = toks.get(j).is_some_and(|t| t.is(src, "("));
        if paren {
            j += 1;
        }
        while let Some(t) = toks.get(j) {
            if !paren && t.line != line {
                break;
            }
            if paren && t.is(src, ")") {
                break;
            }
            if let Some(name) = ident(src, t) {
                let aliased = toks.get(j + 1).is_some_and(|n| n.is(src, "as"));
                if aliased {
                    j += 3;
                    continue;
                }
                out.push(name.to_string());
            } else if !t.is(src, ",") {
                break;
            }
            j += 1;
        }
    }
}

/// `const { capture, isFeatureEnabled } = usePostHog()` (posthog-js/react, posthog-react-native)
/// or `= posthog`: the client's methods, which bare calls of their local names in the
/// declaration's block then mean, under their own names or renamed by the pattern
/// (`{ capture: track }`: `track(…)` is the client's `capture`). Only a method taken one
/// level deep counts (`{ a: { capture } }` is not the client's). `usePostHog` imported from
/// another package or declared in the file (`foreign`) is not PostHog's.
fn js_client_methods(src: &[u8], toks: &[Token], foreign: &[String], out: &mut Vec<ClientMethod>) {
    for k in 1..toks.len() {
        if !toks[k].is(src, "{")
            || !matches!(toks[k - 1].text(src), b"const" | b"let" | b"var")
            || toks[k - 1].kind != Tk::Ident
        {
            continue;
        }
        let Some(close) = crate::functions::close_of(src, toks, k) else {
            continue;
        };
        if !toks.get(close + 1).is_some_and(|t| t.is(src, "=")) {
            continue;
        }
        let mut v = close + 2;
        if toks.get(v).is_some_and(|t| t.is(src, "await")) {
            v += 1;
        }
        let Some(value) = toks.get(v).and_then(|t| ident(src, t)) else {
            continue;
        };
        let hook = value == "usePostHog"
            && toks.get(v + 1).is_some_and(|t| t.is(src, "("))
            && toks.get(v + 2).is_some_and(|t| t.is(src, ")"))
            && !foreign.iter().any(|f| f == value);
        let client = value.to_ascii_lowercase().contains("posthog")
            && value != "usePostHog"
            && toks
                .get(v + 1)
                .is_none_or(|t| t.line != toks[v].line || t.is(src, ";"));
        if !(hook || client) {
            continue;
        }
        // The end of the block the declaration is in.
        let mut depth = 0usize;
        let mut end = toks.len();
        for j in (0..k - 1).rev() {
            let t = &toks[j];
            if t.kind != Tk::Punct {
                continue;
            }
            match t.text(src) {
                b"}" | b")" | b"]" => depth += 1,
                b"{" | b"(" | b"[" if depth == 0 => {
                    end = crate::functions::close_of(src, toks, j).unwrap_or(end);
                    break;
                }
                b"{" | b"(" | b"[" => depth -= 1,
                _ => {}
            }
        }
        for (local, path) in crate::functions::pattern_bindings(src, toks, k, close) {
            if let Some([method]) = path.as_deref() {
                out.push(ClientMethod {
                    method: method.clone(),
                    local,
                    from: close,
                    to: end,
                });
            }
        }
    }
}

/// The JS/TS `import` at token `k`: the names it binds up to `from '<module>'` (at most a
/// few dozen tokens; a name renamed by `as` is left out), the module, and the token it
/// stopped at.
fn js_import<'a>(src: &'a [u8], toks: &[Token], k: usize) -> (Vec<&'a str>, Option<String>, usize) {
    let mut names: Vec<&str> = Vec::new();
    let mut j = k + 1;
    while j < toks.len() && j < k + 200 {
        let u = &toks[j];
        if u.is(src, "from") && toks.get(j + 1).is_some_and(|m| m.kind == Tk::Str) {
            return (names, Some(str_value(src, &toks[j + 1])), j);
        }
        if u.kind == Tk::Str || u.is(src, ";") || u.is(src, "(") {
            break;
        }
        if let Some(name) = ident(src, u) {
            let renamed = toks.get(j + 1).is_some_and(|n| n.is(src, "as"));
            if !renamed && !matches!(name, "type" | "typeof" | "as") {
                names.push(name);
            }
        }
        j += 1;
    }
    (names, None, j)
}

/// JS/TS: names imported from a package rather than the project's own modules (PostHog's
/// included): what such a name holds is never one of the project's wrappers.
pub(crate) fn js_package_imports(src: &[u8], toks: &[Token]) -> Vec<String> {
    let mut out = Vec::new();
    let mut k = 0;
    while k < toks.len() {
        if toks[k].kind == Tk::Ident && toks[k].is(src, "import") {
            let (names, module, end) = js_import(src, toks, k);
            if module.is_some_and(|m| !is_own_module(&m)) {
                out.extend(names.into_iter().map(str::to_string));
            }
            k = end;
        }
        k += 1;
    }
    out
}

/// Names imported from non-PostHog modules, and names declared in the file.
fn js_bindings(src: &[u8], toks: &[Token], out: &mut Vec<String>) {
    let mut k = 0;
    while k < toks.len() {
        let t = &toks[k];
        match t.text(src) {
            b"import" if t.kind == Tk::Ident => {
                let (names, module, end) = js_import(src, toks, k);
                if let Some(m) = module {
                    if !is_posthog_module(&m) && !is_own_module(&m) {
                        out.extend(names.into_iter().map(str::to_string));
                    }
                }
                k = end + 1;
                continue;
            }
            b"function" | b"class" if t.kind == Tk::Ident => {
                let mut j = k + 1;
                if toks.get(j).is_some_and(|n| n.is(src, "*")) {
                    j += 1;
                }
                if let Some(name) = toks.get(j).and_then(|n| ident(src, n)) {
                    out.push(name.to_string());
                }
            }
            b"const" | b"let" | b"var" if t.kind == Tk::Ident => {
                if let (Some(name), Some(eq)) =
                    (toks.get(k + 1).and_then(|n| ident(src, n)), toks.get(k + 2))
                {
                    if eq.is(src, "=") || eq.is(src, ":") {
                        out.push(name.to_string());
                    }
                }
            }
            _ => {}
        }
        k += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::tokenize;

    fn bindings(src: &str, lang: Lang) -> Bindings {
        let mut toks = Vec::new();
        tokenize(src.as_bytes(), lang, &mut toks);
        of_file(src.as_bytes(), &toks, lang)
    }

    #[test]
    fn python_names_imported_from_posthog() {
        let b = bindings(
            "from posthog import capture, evaluate_flags as ef\nfrom posthog import (\n    feature_enabled,\n)\nfrom other import get_feature_flag\n",
            Lang::Python,
        );
        assert_eq!(b.posthog, ["capture", "feature_enabled"]);
    }

    #[test]
    fn js_methods_destructured_from_the_posthog_client() {
        let b = bindings(
            "import { usePostHog } from 'posthog-js/react'\nconst { capture, isFeatureEnabled: on, getFeatureFlag = x } = usePostHog()\nconst { reset } = posthog\nconst { identify } = usePostHog(config)\nconst { alias } = other\n",
            Lang::Ts,
        );
        let names: Vec<(&str, &str)> = b
            .client_methods
            .iter()
            .map(|m| (m.local.as_str(), m.method.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("capture", "capture"),
                ("on", "isFeatureEnabled"),
                ("getFeatureFlag", "getFeatureFlag"),
                ("reset", "reset")
            ]
        );
        // Bound from the declaration to the end of its block.
        let src =
            "function A() {\n  const { capture } = usePostHog()\n  capture('a')\n}\ncapture('b')\n";
        let mut toks = Vec::new();
        tokenize(src.as_bytes(), Lang::Ts, &mut toks);
        let b = of_file(src.as_bytes(), &toks, Lang::Ts);
        let calls: Vec<usize> = (0..toks.len())
            .filter(|&i| {
                toks[i].is(src.as_bytes(), "capture") && toks[i + 1].is(src.as_bytes(), "(")
            })
            .collect();
        let m = &b.client_methods[0];
        assert!(m.binds(src.as_bytes(), &toks, calls[0]));
        assert!(!m.binds(src.as_bytes(), &toks, calls[1]));
        // Another library's `usePostHog`, or one the file declares, is not PostHog's.
        let b = bindings(
            "import { usePostHog } from 'not-analytics'\nconst { capture } = usePostHog()\n",
            Lang::Ts,
        );
        assert!(b.client_methods.is_empty());
    }

    #[test]
    fn js_names_from_other_modules_and_local_declarations() {
        let b = bindings(
            "import { useFeatureFlag } from 'configcat-react'\nimport { useFeatureFlagEnabled } from 'posthog-js/react'\nimport type { A } from 'a'\nimport { x as useFeatureFlagPayload } from 'other'\nimport { useFeatureFlagResult } from './flags'\nimport { PostHogProvider } from '@/lib/posthog'\nfunction useFeatureFlagVariantKey(k) {}\nconst PostHogFeature = () => null\n",
            Lang::Ts,
        );
        assert_eq!(
            b.foreign,
            [
                "useFeatureFlag",
                "A",
                "useFeatureFlagPayload",
                "useFeatureFlagVariantKey",
                "PostHogFeature"
            ]
        );
    }
}
