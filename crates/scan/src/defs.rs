//! Finds string-constant definitions in one file's tokens.
//!
//! Recognised: `const|let|var X = '…'` (with type annotations), `export const`, TS
//! `enum E { A = '…' }`, object literals `EVENTS = { a: '…', nested: { b: '…' } }` (also
//! `as const` and `Object.freeze({…})`), Python module-level and class attributes and dict
//! literals, Go `const`/`var` (also in blocks), Ruby constants in modules and classes,
//! Java/Kotlin/C#/Dart/Swift/Rust constants inside their classes, objects, enums and impls,
//! Swift `case a = "…"`, PHP `const` and `define()`, Elixir `@attr "…"` and Objective-C
//! `NSString *const k = @"…"`.
//!
//! Invariants: a definition is recorded under its qualified chain (`Events.SIGNUP`,
//! `EVENTS.auth.login`); only values that are plain (non-interpolated) literals count;
//! assignments inside argument lists (keyword arguments, default parameters) and to members
//! of other objects (`this.x = …`) are never definitions; a definition inside a function,
//! method or other anonymous block is marked [`Def::local`], and only the file's top-level
//! ones (module, package or class level; PHP `define()` anywhere) are visible from other
//! files.

use crate::lang::Lang;
use crate::lexer::{str_value, Tk, Token};

/// One constant definition.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Def {
    pub chain: Vec<String>,
    pub value: String,
    pub line: u32,
    /// Index of the value's token in its file (for scope: a definition inside a function
    /// is that function's local).
    pub tok: u32,
    /// Inside a function, method or other anonymous block (a brace scope that is not a
    /// class, object, enum, namespace or named object literal; a Python or Ruby `def`):
    /// never visible from another file ([`crate::resolve::DefIndex::push`]).
    pub local: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ScopeKind {
    Brace,
    Paren,
    Bracket,
    /// Go `const ( … )` / `var ( … )`.
    GoBlock,
}

struct Scope {
    kind: ScopeKind,
    name: Option<String>,
    /// Kotlin `companion object`: members are reached through the enclosing class.
    transparent: bool,
}

const SCOPE_KEYWORDS: &[&str] = &[
    "class",
    "struct",
    "enum",
    "interface",
    "object",
    "impl",
    "trait",
    "namespace",
    "extension",
    "record",
    "module",
    "mod",
];

/// All string constants in the file whose last name segment passes `want`.
pub(crate) fn find_defs(
    src: &[u8],
    toks: &[Token],
    lang: Lang,
    want: &dyn Fn(&str) -> bool,
) -> Vec<Def> {
    let mut out = Vec::new();
    let mut stack: Vec<Scope> = Vec::new();
    // Indentation-scoped classes and functions (Python, Ruby): (indent, name; None for a
    // function, whether it is one).
    let mut indents: Vec<(usize, Option<String>, bool)> = Vec::new();
    let mut prev_line = 0u32;
    for k in 0..toks.len() {
        let t = &toks[k];
        if lang.indent_scoped()
            && t.line != prev_line
            && !stack
                .iter()
                .any(|s| s.kind != ScopeKind::Brace || lang == Lang::Python)
        {
            let indent = indent_of(src, t.start as usize);
            while indents.last().is_some_and(|(i, _, _)| *i >= indent) {
                indents.pop();
            }
            let word = t.text(src);
            let def = word == b"def";
            if matches!(word, b"class" | b"module") || def {
                let name = toks
                    .get(k + 1)
                    .filter(|n| n.kind == Tk::Ident && !def)
                    .map(|n| ident(src, n));
                indents.push((indent, name, def));
            }
        }
        prev_line = t.line;
        match t.kind {
            Tk::Punct => match t.text(src) {
                b"{" => {
                    let (name, transparent) = brace_name(src, toks, k, lang, &stack);
                    stack.push(Scope {
                        kind: ScopeKind::Brace,
                        name,
                        transparent,
                    });
                }
                b"(" => {
                    let go_block = lang == Lang::Go
                        && k > 0
                        && matches!(toks[k - 1].text(src), b"const" | b"var");
                    let kind = if go_block {
                        ScopeKind::GoBlock
                    } else {
                        ScopeKind::Paren
                    };
                    stack.push(Scope {
                        kind,
                        name: None,
                        transparent: false,
                    });
                }
                b"[" => stack.push(Scope {
                    kind: ScopeKind::Bracket,
                    name: None,
                    transparent: false,
                }),
                b"}" | b")" | b"]" => {
                    stack.pop();
                }
                _ => {}
            },
            Tk::Str => {
                if t.interpolated() || !terminated(src, toks, k) {
                    continue;
                }
                let Some(chain_tail) = definition_name(src, toks, k, lang, &stack) else {
                    continue;
                };
                let Some(last) = chain_tail.last() else {
                    continue;
                };
                if !want(last) {
                    continue;
                }
                let mut chain: Vec<String> = Vec::new();
                if chain_tail.len() == 1 || !chain_tail[0].starts_with('@') {
                    let inner_named = stack
                        .last()
                        .is_none_or(|s| s.name.is_some() || s.transparent);
                    if inner_named {
                        chain.extend(
                            indents
                                .iter()
                                .rev()
                                .map_while(|(_, n, _)| n.clone())
                                .collect::<Vec<_>>()
                                .into_iter()
                                .rev(),
                        );
                    }
                    let mut names: Vec<String> = Vec::new();
                    for s in stack.iter().rev() {
                        if s.kind == ScopeKind::GoBlock {
                            continue;
                        }
                        match (&s.name, s.transparent) {
                            (Some(n), _) => names.push(n.clone()),
                            (None, true) => {}
                            (None, false) => {
                                chain.clear();
                                break;
                            }
                        }
                    }
                    chain.extend(names.into_iter().rev());
                }
                chain.extend(chain_tail);
                // PHP's `define()` makes a global constant wherever it runs.
                let global = lang == Lang::Php && k > 0 && php_define(src, toks, k - 1).is_some();
                let local = !global
                    && (indents.iter().any(|(_, _, def)| *def)
                        || stack.iter().any(|s| {
                            s.kind == ScopeKind::Brace && s.name.is_none() && !s.transparent
                        }));
                out.push(Def {
                    chain,
                    value: str_value(src, t),
                    line: t.line,
                    tok: k as u32,
                    local,
                });
            }
            _ => {}
        }
    }
    out
}

fn indent_of(src: &[u8], start: usize) -> usize {
    let line_start = memchr::memrchr(b'\n', &src[..start]).map_or(0, |p| p + 1);
    start - line_start
}

fn ident(src: &[u8], t: &Token) -> String {
    String::from_utf8_lossy(t.text(src))
        .trim_start_matches([':', '$'])
        .to_string()
}

/// The string at `k` ends its statement or member (not `'a' + x`).
fn terminated(src: &[u8], toks: &[Token], k: usize) -> bool {
    let mut n = k + 1;
    if toks.get(n).is_some_and(|t| t.is(src, "as"))
        && toks.get(n + 1).is_some_and(|t| t.is(src, "const"))
    {
        n += 2;
    }
    match toks.get(n) {
        None => true,
        Some(t) if t.line != toks[k].line => {
            !(t.kind == Tk::Punct && matches!(t.text(src), b"+" | b"." | b"%"))
        }
        Some(t) => t.kind == Tk::Punct && matches!(t.text(src), b";" | b"," | b"}" | b")" | b"]"),
    }
}

/// For the string at `k`, the name it defines (one segment, or a member of the innermost
/// named object scope), if it is a definition.
fn definition_name(
    src: &[u8],
    toks: &[Token],
    k: usize,
    lang: Lang,
    stack: &[Scope],
) -> Option<Vec<String>> {
    let mut p = k.checked_sub(1)?;
    if lang == Lang::ObjC && toks[p].is(src, "@") {
        p = p.checked_sub(1)?;
    }
    let prev = &toks[p];
    let inner = stack.last().map(|s| s.kind);
    if prev.is(src, "=") || prev.is(src, ":=") {
        if matches!(inner, Some(ScopeKind::Paren) | Some(ScopeKind::Bracket)) {
            return None;
        }
        let n = decl_name_before(src, toks, p, lang)?;
        if n > 0
            && toks[n - 1].kind == Tk::Punct
            && matches!(toks[n - 1].text(src), b"." | b"->" | b"?.")
        {
            let exported = n >= 2 && toks[n - 2].text(src) == b"exports";
            if !exported {
                return None;
            }
        }
        return Some(vec![ident(src, &toks[n])]);
    }
    if (prev.is(src, ":") || prev.is(src, "=>")) && p >= 2 {
        let key = &toks[p - 1];
        let before = &toks[p - 2];
        let in_named_object = stack
            .last()
            .is_some_and(|s| s.kind == ScopeKind::Brace && s.name.is_some());
        if in_named_object && (before.is(src, "{") || before.is(src, ",")) {
            return match key.kind {
                Tk::Ident => Some(vec![ident(src, key)]),
                Tk::Str => Some(vec![str_value(src, key)]),
                _ => None,
            };
        }
        return None;
    }
    // Elixir module attribute `@name "value"` at the start of a line.
    if lang == Lang::Elixir && prev.kind == Tk::Ident && p >= 1 && toks[p - 1].is(src, "@") {
        let at = &toks[p - 1];
        let first_on_line = p < 2 || toks[p - 2].line != at.line;
        if first_on_line && at.line == toks[k].line {
            return Some(vec![format!("@{}", ident(src, prev))]);
        }
        return None;
    }
    if lang == Lang::Php {
        return php_define(src, toks, p).map(|name| vec![name]);
    }
    None
}

/// PHP `define('NAME', 'value')` with the `,` at `p`: the constant's name.
fn php_define(src: &[u8], toks: &[Token], p: usize) -> Option<String> {
    (toks[p].is(src, ",")
        && p >= 3
        && toks[p - 1].kind == Tk::Str
        && toks[p - 2].is(src, "(")
        && toks[p - 3].text(src).eq_ignore_ascii_case(b"define"))
    .then(|| str_value(src, &toks[p - 1]))
}

/// The name token of `NAME = …`, `NAME: Type = …`, `Type NAME = …`, Go `NAME type = …`.
fn decl_name_before(src: &[u8], toks: &[Token], eq: usize, lang: Lang) -> Option<usize> {
    let line = toks[eq].line;
    // A type annotation between the name and `=`: walk back to `:` on the same line.
    let mut j = eq;
    let mut steps = 0;
    while j > 0 && steps < 12 {
        j -= 1;
        steps += 1;
        let t = &toks[j];
        if t.line != line {
            break;
        }
        if t.is(src, ":") {
            if j > 0 && j + 1 < eq && toks[j - 1].kind == Tk::Ident && toks[j - 1].line == line {
                return Some(j - 1);
            }
            break;
        }
        let typeish = t.kind == Tk::Ident
            || (t.kind == Tk::Punct
                && matches!(
                    t.text(src),
                    b"." | b"<" | b">" | b"[" | b"]" | b"&" | b"?" | b"|" | b"::" | b"*"
                ));
        if !typeish {
            break;
        }
    }
    let k = eq.checked_sub(1)?;
    if toks[k].kind != Tk::Ident {
        return None;
    }
    if lang == Lang::Go
        && k > 0
        && toks[k - 1].kind == Tk::Ident
        && toks[k - 1].line == line
        && !matches!(toks[k - 1].text(src), b"const" | b"var")
    {
        return Some(k - 1);
    }
    Some(k)
}

/// Names the scope opened by the `{` at `k`: a class/enum/object/impl, or an object literal
/// assigned to a name (`EVENTS = {`, nested `auth: {`, `Object.freeze({`).
fn brace_name(
    src: &[u8],
    toks: &[Token],
    k: usize,
    lang: Lang,
    stack: &[Scope],
) -> (Option<String>, bool) {
    if k == 0 {
        return (None, false);
    }
    let prev = &toks[k - 1];
    if prev.is(src, "=") || prev.is(src, ":=") {
        if matches!(
            stack.last().map(|s| s.kind),
            Some(ScopeKind::Paren) | Some(ScopeKind::Bracket)
        ) {
            return (None, false);
        }
        return (
            decl_name_before(src, toks, k - 1, lang).map(|n| ident(src, &toks[n])),
            false,
        );
    }
    if (prev.is(src, ":") || prev.is(src, "=>"))
        && k >= 3
        && stack.last().is_some_and(|s| s.name.is_some())
    {
        let key = &toks[k - 2];
        if toks[k - 3].is(src, "{") || toks[k - 3].is(src, ",") {
            return match key.kind {
                Tk::Ident => (Some(ident(src, key)), false),
                Tk::Str => (Some(str_value(src, key)), false),
                _ => (None, false),
            };
        }
    }
    if prev.is(src, "(")
        && k >= 5
        && toks[k - 2].text(src) == b"freeze"
        && toks[k - 4].text(src) == b"Object"
        && toks[k - 5].is(src, "=")
    {
        return (
            decl_name_before(src, toks, k - 5, lang).map(|n| ident(src, &toks[n])),
            false,
        );
    }
    // A declaration header: walk back to its keyword.
    let mut j = k;
    let mut steps = 0;
    let mut after_for: Option<String> = None;
    while j > 0 && steps < 40 {
        j -= 1;
        steps += 1;
        let t = &toks[j];
        if t.kind == Tk::Punct && matches!(t.text(src), b";" | b"{" | b"}" | b"=" | b"=>") {
            break;
        }
        if t.kind != Tk::Ident {
            continue;
        }
        let word = t.text(src);
        if word == b"for" {
            after_for = toks
                .get(j + 1)
                .filter(|n| n.kind == Tk::Ident)
                .map(|n| ident(src, n));
        }
        if SCOPE_KEYWORDS.iter().any(|kw| kw.as_bytes() == word) {
            let next = toks.get(j + 1);
            if word == b"object"
                && j > 0
                && toks[j - 1].text(src) == b"companion"
                && next.is_some_and(|n| n.is(src, "{"))
            {
                return (None, true);
            }
            if word == b"impl" {
                if let Some(name) = after_for {
                    return (Some(name), false);
                }
            }
            if let Some(n) = next.filter(|n| n.kind == Tk::Ident) {
                // `impl<T> Foo<T>`: skip generic parameters.
                return (Some(ident(src, n)), false);
            }
            if word == b"impl" {
                let mut m = j + 1;
                while m < k && toks[m].kind != Tk::Ident {
                    m += 1;
                }
                if m < k {
                    return (Some(ident(src, &toks[m])), false);
                }
            }
            return (None, false);
        }
    }
    (None, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::tokenize;

    fn defs(src: &str, path: &str) -> Vec<(String, String)> {
        let lang = Lang::from_path(path).unwrap();
        let mut toks = Vec::new();
        tokenize(src.as_bytes(), lang, &mut toks);
        find_defs(src.as_bytes(), &toks, lang, &|_| true)
            .into_iter()
            .map(|d| (d.chain.join("."), d.value))
            .collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn typescript_consts_enums_and_objects() {
        let src = "export const SIGNUP: string = 'user_signed_up';\nexport enum Flags { Beta = \"beta-flag\", }\nexport const EVENTS = { auth: { login: 'user_logged_in' }, other: 'x' + y } as const;\nfoo({ notADef: 'z' });\nfunction f(a = 'default') {}";
        assert_eq!(
            defs(src, "c.ts"),
            pairs(&[
                ("SIGNUP", "user_signed_up"),
                ("Flags.Beta", "beta-flag"),
                ("EVENTS.auth.login", "user_logged_in")
            ])
        );
    }

    #[test]
    fn python_module_class_and_dict() {
        let src = "SIGNUP = \"signed_up\"\nclass Events(str, Enum):\n    LOGIN = \"logged_in\"\n    def f(self):\n        local = 'l'\nFLAGS = {\"beta\": \"beta-flag\"}\nposthog.capture(event='kw')\n";
        assert_eq!(
            defs(src, "c.py"),
            pairs(&[
                ("SIGNUP", "signed_up"),
                ("Events.LOGIN", "logged_in"),
                ("local", "l"),
                ("FLAGS.beta", "beta-flag")
            ])
        );
    }

    #[test]
    fn go_const_blocks_and_typed_consts() {
        let src =
            "package ev\nconst Single = \"one\"\nconst (\n\tA = \"a\"\n\tB string = \"b\"\n)\n";
        assert_eq!(
            defs(src, "c.go"),
            pairs(&[("Single", "one"), ("A", "a"), ("B", "b")])
        );
    }

    #[test]
    fn jvm_swift_csharp_rust_ruby_elixir_php() {
        assert_eq!(
            defs(
                "class E { public static final String SIGNUP = \"s\"; }",
                "E.java"
            ),
            pairs(&[("E.SIGNUP", "s")])
        );
        assert_eq!(
            defs("object Events { const val LOGIN = \"l\" }\nclass A { companion object { const val X = \"x\" } }", "E.kt"),
            pairs(&[("Events.LOGIN", "l"), ("A.X", "x")])
        );
        assert_eq!(
            defs(
                "enum Ev: String { case signup = \"s\" }\nstruct F { static let beta = \"b\" }",
                "E.swift"
            ),
            pairs(&[("Ev.signup", "s"), ("F.beta", "b")])
        );
        assert_eq!(
            defs(
                "static class Ev { public const string Signup = \"s\"; }",
                "E.cs"
            ),
            pairs(&[("Ev.Signup", "s")])
        );
        assert_eq!(
            defs(
                "pub const A: &'static str = \"a\";\nimpl Ev { const B: &str = \"b\"; }",
                "e.rs"
            ),
            pairs(&[("A", "a"), ("Ev.B", "b")])
        );
        assert_eq!(
            defs("module Events\n  SIGNUP = 'ruby_s'\nend\n", "e.rb"),
            pairs(&[("Events.SIGNUP", "ruby_s")])
        );
        assert_eq!(
            defs("defmodule A do\n  @signup \"ex_s\"\nend\n", "a.ex"),
            pairs(&[("@signup", "ex_s")])
        );
        assert_eq!(
            defs(
                "<?php\nclass Ev { const S = 'p'; }\ndefine('BETA', 'b');",
                "a.php"
            ),
            pairs(&[("Ev.S", "p"), ("BETA", "b")])
        );
        assert_eq!(
            defs("NSString *const kEv = @\"objc_ev\";", "a.m"),
            pairs(&[("kEv", "objc_ev")])
        );
    }

    /// The definitions another file may see: `(chain, local)` per definition.
    fn locality(src: &str, path: &str) -> Vec<(String, bool)> {
        let lang = Lang::from_path(path).unwrap();
        let mut toks = Vec::new();
        tokenize(src.as_bytes(), lang, &mut toks);
        find_defs(src.as_bytes(), &toks, lang, &|_| true)
            .into_iter()
            .map(|d| (d.chain.join("."), d.local))
            .collect()
    }

    fn flags(p: &[(&str, bool)]) -> Vec<(String, bool)> {
        p.iter().map(|(a, b)| (a.to_string(), *b)).collect()
    }

    #[test]
    fn definitions_inside_functions_are_local() {
        assert_eq!(
            locality(
                "export const A = 'a';\nexport class C { static B = 'b'; m() { const L1 = 'l'; } }\nfunction f() { const L2 = 'l'; const O = { k: 'v' }; }\nconst g = () => { const L3 = 'l'; };\nnamespace N { export const D = 'd'; }",
                "a.ts"
            ),
            flags(&[
                ("A", false),
                ("C.B", false),
                ("L1", true),
                ("L2", true),
                ("O.k", true),
                ("L3", true),
                ("N.D", false)
            ])
        );
        assert_eq!(
            locality(
                "A = 'a'\nif x:\n    B = 'b'\nclass C:\n    D = 'd'\n    def m(self):\n        L1 = 'l'\ndef f():\n    L2 = 'l'\n    class K:\n        L3 = 'l'\nE = 'e'\n",
                "a.py"
            ),
            flags(&[
                ("A", false),
                ("B", false),
                ("C.D", false),
                ("L1", true),
                ("L2", true),
                ("K.L3", true),
                ("E", false)
            ])
        );
        assert_eq!(
            locality(
                "package p\nconst A = \"a\"\nvar (\n\tB = \"b\"\n)\nfunc f() {\n\tconst L1 = \"l\"\n\tl2 := \"l\"\n}\nfunc (t *T) m() { var L3 = \"l\" }\n",
                "a.go"
            ),
            flags(&[("A", false), ("B", false), ("L1", true), ("l2", true), ("L3", true)])
        );
        assert_eq!(
            locality(
                "module M\n  A = 'a'\n  def self.f\n    l = 'l'\n  end\n  B = 'b'\nend\n",
                "a.rb"
            ),
            flags(&[("M.A", false), ("l", true), ("M.B", false)])
        );
        // PHP's `define()` is global wherever it runs; a function's other assignments are not.
        assert_eq!(
            locality(
                "<?php\nfunction boot() { define('D', 'd'); $l = 'l'; }\nif (!defined('E')) { define('E', 'e'); }",
                "a.php"
            ),
            flags(&[("D", false), ("l", true), ("E", false)])
        );
    }

    #[test]
    fn member_assignments_and_expressions_are_not_definitions() {
        assert_eq!(
            defs("this.x = 'a'; self.y = 'b'; z = 'c' + d;", "a.js"),
            pairs(&[])
        );
        assert_eq!(
            defs("module.exports.X = 'e';", "a.js"),
            pairs(&[("X", "e")])
        );
    }
}
