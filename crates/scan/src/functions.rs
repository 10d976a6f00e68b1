//! Finds function-like definitions in one file's tokens: their name, their parameters and
//! the token range of their body. Wrapper inference reads them (a parameter that flows into
//! an SDK call makes a wrapper), and identifier resolution uses them for scope (a parameter
//! or a function's local never resolves through a definition elsewhere).
//!
//! Recognised: JS/TS `function f(…) {`, arrow functions (`const f = (…) => …`, object and
//! class members `f: (…) =>`, `f = (…) =>`, `const f = useCallback((…) => …)`), methods
//! `f(…) {`; Python `def f(…):`; Go `func f(…)`, `func (r *T) f(…)`, `f := func(…)`; Ruby
//! and Elixir `def`; PHP `function`; Kotlin `fun`, Swift `func`, Rust `fn`; Java, C#, Dart
//! and Objective-C-free C-like methods `Type f(Type p, …) {`.
//!
//! Invariants: it never fails; a construct it does not understand is simply not a function
//! (so inference misses it, never invents one); body ranges nest properly.

use crate::lang::Lang;
use crate::lexer::{Tk, Token};

/// One parameter: its name and, for a JS destructuring pattern, the fields it binds
/// (`({ event, props: p })` binds `event` → `event`, `p` → `props`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Param {
    pub name: String,
    /// (local name, field name) pairs of an object pattern.
    pub fields: Vec<(String, String)>,
    /// Names a pattern binds deeper than one field (`{ tracking: { event } }`) or from an
    /// array pattern (`[event]`): the parameter's values, but no field a call site names.
    pub nested: Vec<String>,
    /// The parameter's default when it is one plain string literal (`event = 'x'`).
    pub default: Option<String>,
    /// (field, literal) defaults of an object pattern's fields (`{ eventName = 'x' }`).
    pub field_defaults: Vec<(String, String)>,
}

/// A function-like definition.
#[derive(Clone, Debug)]
pub(crate) struct FnSpan {
    /// The name call sites use; `None` for an anonymous function.
    pub name: Option<String>,
    /// Token index of the name (or of the keyword / arrow for anonymous functions).
    pub tok: usize,
    /// Positional parameters (Python `self`/`cls` and Go receivers excluded; `*args`,
    /// `**kwargs` and rest parameters are not positional and are left out).
    pub params: Vec<Param>,
    /// Token range of the body, `start..end`.
    pub body: (usize, usize),
    /// A Go method's receiver name (`t` in `func (t *T) Name(…)`).
    pub receiver: Option<String>,
    /// The function returns another function directly (`return (e) => …`): a hook or
    /// factory whose result is the wrapper (`const track = useTrack()`).
    pub returns_fn: Option<usize>,
}

const JS_NOT_METHODS: &[&str] = &[
    "if",
    "for",
    "while",
    "switch",
    "catch",
    "function",
    "return",
    "with",
    "else",
    "do",
    "try",
    "new",
    "typeof",
    "await",
    "yield",
    "super",
    "import",
    "constructor",
];

const C_NOT_METHODS: &[&str] = &[
    "if",
    "for",
    "while",
    "switch",
    "catch",
    "return",
    "else",
    "do",
    "try",
    "new",
    "using",
    "lock",
    "foreach",
    "synchronized",
    "guard",
    "when",
    "sizeof",
    "typeof",
    "nameof",
    "init",
    "super",
    "this",
    "base",
    "throw",
    "assert",
    "elif",
    "unless",
    "until",
    "match",
];

/// Every function-like definition in the file, in token order.
pub(crate) fn find_functions(src: &[u8], toks: &[Token], lang: Lang) -> Vec<FnSpan> {
    let mut out = Out {
        spans: Vec::new(),
        returns: Vec::new(),
        destructures: Vec::new(),
    };
    for (k, t) in toks.iter().enumerate() {
        if t.is(src, "return") {
            out.returns.push(k);
        } else if t.is(src, "{")
            && k > 0
            && matches!(toks[k - 1].text(src), b"const" | b"let" | b"var")
        {
            out.destructures.push(k);
        }
    }
    match lang {
        Lang::Js | Lang::Ts | Lang::Vue | Lang::Svelte | Lang::Markup | Lang::Astro => {
            js(src, toks, &mut out)
        }
        Lang::Python | Lang::Ruby | Lang::Erb | Lang::Elixir => indented(src, toks, lang, &mut out),
        Lang::Go => go(src, toks, &mut out),
        _ => c_like(src, toks, lang, &mut out),
    }
    let mut spans = out.spans;
    spans.sort_by_key(|f| (f.body.0, std::cmp::Reverse(f.body.1)));
    spans
}

/// The spans found so far, with what [`push`] looks for in each body, indexed once per file
/// (a body is searched through these instead of token by token, so nested bodies do not
/// make the search quadratic).
struct Out {
    spans: Vec<FnSpan>,
    /// Every `return` token, in order.
    returns: Vec<usize>,
    /// Every `{` right after `const`, `let` or `var` (a destructuring declaration), in order.
    destructures: Vec<usize>,
}

/// The indexes in the sorted `marks` that lie in `from..to`.
fn marks_in(marks: &[usize], (from, to): (usize, usize)) -> &[usize] {
    let lo = marks.partition_point(|&k| k < from);
    let hi = marks.partition_point(|&k| k < to);
    &marks[lo..hi.max(lo)]
}

fn word<'a>(src: &'a [u8], t: &Token) -> &'a [u8] {
    t.text(src)
}

fn name_of(src: &[u8], t: &Token) -> String {
    String::from_utf8_lossy(t.text(src))
        .trim_start_matches('$')
        .to_string()
}

fn is_p(src: &[u8], t: Option<&Token>, p: &str) -> bool {
    t.is_some_and(|t| t.is(src, p))
}

/// The closer matching the opener at `k`.
pub(crate) fn close_of(src: &[u8], toks: &[Token], k: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(k) {
        if t.kind != Tk::Punct {
            continue;
        }
        match t.text(src) {
            b"(" | b"[" | b"{" => depth += 1,
            b")" | b"]" | b"}" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// The opener matching the closer at `k`.
fn open_of(src: &[u8], toks: &[Token], k: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = k;
    loop {
        let t = &toks[j];
        if t.kind == Tk::Punct {
            match t.text(src) {
                b")" | b"]" | b"}" => depth += 1,
                b"(" | b"[" | b"{" => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(j);
                    }
                }
                _ => {}
            }
        }
        if j == 0 {
            return None;
        }
        j -= 1;
    }
}

/// Splits `from..to` at depth-0 commas; in a parameter list `<…>` nests too (generics).
fn pieces(src: &[u8], toks: &[Token], from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = from;
    for (j, t) in toks.iter().enumerate().take(to).skip(from) {
        if t.kind == Tk::Punct {
            match t.text(src) {
                b"(" | b"[" | b"{" | b"<" => depth += 1,
                b")" | b"]" | b"}" | b">" => depth = depth.saturating_sub(1),
                b"," if depth == 0 => {
                    if start < j {
                        out.push((start, j));
                    }
                    start = j + 1;
                }
                _ => {}
            }
        }
    }
    if start < to {
        out.push((start, to));
    }
    out
}

/// Parameters between the parentheses `open..close` (exclusive of both).
fn params(src: &[u8], toks: &[Token], open: usize, close: usize, lang: Lang) -> Vec<Param> {
    let mut out = Vec::new();
    for (s, e) in pieces(src, toks, open + 1, close) {
        let first = &toks[s];
        // Rest, `*args`, `**kwargs`: not positional.
        let spread = first.is(src, "...") || first.is(src, "*") || first.is(src, "**");
        if spread && lang != Lang::Go {
            continue;
        }
        if (first.is(src, "{") || first.is(src, "[")) && lang.family() == crate::lang::Family::Js {
            let close = close_of(src, toks, s).unwrap_or(e).min(e);
            let mut p = Param {
                name: String::new(),
                fields: Vec::new(),
                nested: Vec::new(),
                default: None,
                field_defaults: Vec::new(),
            };
            p.bind(pattern_bindings(src, toks, s, close));
            if first.is(src, "{") {
                p.field_defaults = pattern_defaults(src, toks, s, close);
            }
            out.push(p);
            continue;
        }
        let name = param_name(src, toks, s, e, lang).unwrap_or_default();
        out.push(Param {
            name,
            fields: Vec::new(),
            nested: Vec::new(),
            default: literal_default(src, toks, s, e),
            field_defaults: Vec::new(),
        });
    }
    if matches!(lang, Lang::Python | Lang::Rust)
        && out
            .first()
            .is_some_and(|p| p.name == "self" || p.name == "cls")
    {
        out.remove(0);
    }
    out
}

impl Param {
    /// Takes a pattern's bindings: one field deep, a field the call site names; deeper or
    /// under an array (or a rest element), only a name the parameter binds.
    fn bind(&mut self, bindings: Vec<(String, Option<Vec<String>>)>) {
        for (local, path) in bindings {
            match path.as_deref() {
                Some([field]) => self.fields.push((local, field.clone())),
                _ => self.nested.push(local),
            }
        }
    }
}

/// The value after a depth-0 `=` in `s..e` when it is one plain string literal
/// (`event: string = 'x'`, Python `event="x"`).
fn literal_default(src: &[u8], toks: &[Token], s: usize, e: usize) -> Option<String> {
    let mut depth = 0usize;
    for j in s..e {
        let t = &toks[j];
        if t.kind != Tk::Punct {
            continue;
        }
        match t.text(src) {
            b"(" | b"[" | b"{" | b"<" => depth += 1,
            b")" | b"]" | b"}" | b">" => depth = depth.saturating_sub(1),
            b"=" if depth == 0 => {
                let v = toks.get(j + 1).filter(|_| j + 2 == e)?;
                return (v.kind == Tk::Str && !v.interpolated())
                    .then(|| crate::lexer::str_value(src, v));
            }
            _ => {}
        }
    }
    None
}

/// The (field, literal) defaults of the object pattern at `open..close`, one field deep
/// (`{ eventName = 'x', b: c = 'y' }`: `eventName` → `x`, `b` → `y`).
fn pattern_defaults(
    src: &[u8],
    toks: &[Token],
    open: usize,
    close: usize,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (s, e) in pieces(src, toks, open + 1, close) {
        let key = match toks[s].kind {
            Tk::Ident => name_of(src, &toks[s]),
            Tk::Str => crate::lexer::str_value(src, &toks[s]),
            _ => continue,
        };
        // `key = 'x'` or `key: local = 'x'` (not a nested pattern's defaults).
        let at = if is_p(src, toks.get(s + 1), ":") {
            s + 2
        } else {
            s
        };
        if at >= e || toks[at].kind != Tk::Ident {
            continue;
        }
        if let Some(v) = literal_default(src, toks, at, e) {
            out.push((key, v));
        }
    }
    out
}

/// The names the JS destructuring pattern (`{ a, b: c, d = 1, e: { f }, ...rest }` or
/// `[a, , { b }]`) from the opener `open` to its closer `close` binds, in order, each with
/// the object keys that lead to it from the pattern's root (`f` ← `["e", "f"]`); `None` for
/// a name under an array pattern, a computed key or a rest element, which no key names.
pub(crate) fn pattern_bindings(
    src: &[u8],
    toks: &[Token],
    open: usize,
    close: usize,
) -> Vec<(String, Option<Vec<String>>)> {
    let mut out = Vec::new();
    pattern_walk(src, toks, open, close, Some(Vec::new()), 0, &mut out);
    out
}

fn pattern_walk(
    src: &[u8],
    toks: &[Token],
    open: usize,
    close: usize,
    path: Option<Vec<String>>,
    depth: u8,
    out: &mut Vec<(String, Option<Vec<String>>)>,
) {
    if depth > 8 {
        return;
    }
    let object = toks[open].is(src, "{");
    // A binding target at `s`: a name, or a nested pattern.
    let target = |s: usize, path: Option<Vec<String>>, out: &mut Vec<_>| {
        let Some(t) = toks.get(s) else {
            return;
        };
        if t.is(src, "{") || t.is(src, "[") {
            if let Some(c) = close_of(src, toks, s).filter(|&c| c < close) {
                pattern_walk(src, toks, s, c, path, depth + 1, out);
            }
        } else if t.kind == Tk::Ident {
            out.push((name_of(src, t), path));
        }
    };
    for (s, e) in pieces(src, toks, open + 1, close) {
        if toks[s].is(src, "...") {
            target(s + 1, None, out);
            continue;
        }
        if !object {
            target(s, None, out);
            continue;
        }
        let (key, after) = match toks[s].kind {
            Tk::Ident => (Some(name_of(src, &toks[s])), s + 1),
            Tk::Str => (Some(crate::lexer::str_value(src, &toks[s])), s + 1),
            _ if toks[s].is(src, "[") => match close_of(src, toks, s) {
                Some(c) => (None, c + 1),
                None => continue,
            },
            _ => continue,
        };
        let sub = |key: &Option<String>| -> Option<Vec<String>> {
            let mut p = path.clone()?;
            p.push(key.clone()?);
            Some(p)
        };
        if after < e && toks[after].is(src, ":") {
            target(after + 1, sub(&key), out);
        } else if toks[s].kind == Tk::Ident {
            // Shorthand `{ a }` or `{ a = default }`.
            out.push((name_of(src, &toks[s]), sub(&key)));
        }
    }
}

/// `const { a, b } = props` in a body: the fields come from parameter `props`.
fn destructured_in_body(
    src: &[u8],
    toks: &[Token],
    destructures: &[usize],
    body: (usize, usize),
    params: &mut [Param],
) {
    // Each `{` after `const`/`let`/`var` in the body.
    for &k in marks_in(destructures, body) {
        let Some(close) = close_of(src, toks, k) else {
            continue;
        };
        // `const { a }: Props = props`: past the type annotation.
        let mut eq = close + 1;
        if is_p(src, toks.get(eq), ":") {
            while eq < body.1 && !toks[eq].is(src, "=") && !toks[eq].is(src, ";") {
                eq += 1;
            }
        }
        if !is_p(src, toks.get(eq), "=") {
            continue;
        }
        let Some(from) = toks.get(eq + 1).filter(|t| t.kind == Tk::Ident) else {
            continue;
        };
        let ends = toks
            .get(eq + 2)
            .is_none_or(|n| n.line != from.line || n.is(src, ";"));
        let from = name_of(src, from);
        if let Some(p) = params.iter_mut().find(|p| p.name == from).filter(|_| ends) {
            p.bind(pattern_bindings(src, toks, k, close));
            p.field_defaults
                .extend(pattern_defaults(src, toks, k, close));
        }
    }
}

/// The name a parameter binds, from its tokens `s..e`.
fn param_name(src: &[u8], toks: &[Token], s: usize, e: usize, lang: Lang) -> Option<String> {
    // Cut a default value.
    let mut end = e;
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().take(e).skip(s) {
        if t.kind == Tk::Punct {
            match t.text(src) {
                b"(" | b"[" | b"{" | b"<" => depth += 1,
                b")" | b"]" | b"}" | b">" => depth = depth.saturating_sub(1),
                b"=" if depth == 0 => {
                    end = j;
                    break;
                }
                _ => {}
            }
        }
    }
    let idents = |from: usize, to: usize| -> Vec<usize> {
        (from..to)
            .filter(|&j| toks[j].kind == Tk::Ident)
            .filter(|&j| {
                !matches!(
                    word(src, &toks[j]),
                    b"final"
                        | b"const"
                        | b"var"
                        | b"val"
                        | b"let"
                        | b"mut"
                        | b"readonly"
                        | b"public"
                        | b"private"
                        | b"protected"
                        | b"required"
                        | b"in"
                        | b"out"
                        | b"ref"
                        | b"params"
                        | b"this"
                        | b"inout"
                )
            })
            .collect()
    };
    // `name: Type` (TS, Python, Kotlin, Swift, Rust, Elixir keyword): the ident before `:`.
    let colon = (s..end).find(|&j| toks[j].is(src, ":"));
    if let Some(c) = colon {
        if !matches!(lang, Lang::Php) {
            let ids = idents(s, c);
            return ids.last().map(|&j| name_of(src, &toks[j]));
        }
    }
    let ids = idents(s, end);
    if lang == Lang::Php {
        return (s..end)
            .find(|&j| toks[j].kind == Tk::Ident && toks[j].text(src).starts_with(b"$"))
            .map(|j| name_of(src, &toks[j]));
    }
    match lang {
        // Go: name first (`event string`); others without `:`: type first (`String event`).
        Lang::Go
        | Lang::Ruby
        | Lang::Erb
        | Lang::Elixir
        | Lang::Js
        | Lang::Ts
        | Lang::Vue
        | Lang::Svelte
        | Lang::Markup
        | Lang::Astro => ids.first().map(|&j| name_of(src, &toks[j])),
        _ => ids.last().map(|&j| name_of(src, &toks[j])),
    }
}

/// A block or expression body starting at `k`: `{…}` to its closer, else an expression to
/// the first depth-0 `,`, `;`, closer or line break that ends it.
fn body_from(src: &[u8], toks: &[Token], k: usize) -> Option<(usize, usize)> {
    let t = toks.get(k)?;
    if t.is(src, "{") {
        let c = close_of(src, toks, k)?;
        return Some((k + 1, c));
    }
    let mut depth = 0usize;
    let mut j = k;
    while j < toks.len() {
        let t = &toks[j];
        if t.kind == Tk::Punct {
            match t.text(src) {
                b"(" | b"[" | b"{" => depth += 1,
                b")" | b"]" | b"}" => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                b"," | b";" if depth == 0 => break,
                _ => {}
            }
        }
        j += 1;
    }
    Some((k, j))
}

/// The name an anonymous function at `k` (its `(`, `async` or `function` token) is bound
/// to: `const f =`, `f:`, `f =`, `const f = useCallback(`.
fn bound_name(src: &[u8], toks: &[Token], k: usize) -> Option<String> {
    let mut p = k.checked_sub(1)?;
    if toks[p].is(src, "async") {
        p = p.checked_sub(1)?;
    }
    // `useCallback(` / `useMemo(() =>` wrappers: the name of what the call is bound to.
    if toks[p].is(src, "(")
        && p >= 1
        && matches!(
            word(src, &toks[p - 1]),
            b"useCallback" | b"memo" | b"forwardRef"
        )
    {
        p = p.checked_sub(2)?;
    }
    let t = &toks[p];
    if (t.is(src, "=") || t.is(src, ":") || t.is(src, ":=")) && p >= 1 {
        let n = &toks[p - 1];
        if n.kind == Tk::Ident {
            // `x.y = …`: a member of another object, named by its last segment.
            return Some(name_of(src, n));
        }
        if n.kind == Tk::Str && t.is(src, ":") {
            return Some(crate::lexer::str_value(src, n));
        }
        // `f: Type = (…) =>` (TS class property with a type).
    }
    None
}

fn js(src: &[u8], toks: &[Token], out: &mut Out) {
    for k in 0..toks.len() {
        let t = &toks[k];
        if t.is(src, "function") {
            let mut j = k + 1;
            if is_p(src, toks.get(j), "*") {
                j += 1;
            }
            let mut name = None;
            if let Some(n) = toks.get(j).filter(|n| n.kind == Tk::Ident) {
                name = Some(name_of(src, n));
                j += 1;
            }
            if is_p(src, toks.get(j), "<") {
                j = skip_angle(src, toks, j);
            }
            if !is_p(src, toks.get(j), "(") {
                continue;
            }
            let Some(close) = close_of(src, toks, j) else {
                continue;
            };
            let Some(open_body) = (close + 1..toks.len().min(close + 40))
                .find(|&b| toks[b].is(src, "{") || toks[b].is(src, ";"))
                .filter(|&b| toks[b].is(src, "{"))
            else {
                continue;
            };
            let Some(body) = body_from(src, toks, open_body) else {
                continue;
            };
            let name = name.or_else(|| bound_name(src, toks, k));
            push(
                src,
                toks,
                out,
                name,
                k,
                params(src, toks, j, close, Lang::Ts),
                body,
            );
        } else if t.is(src, "=>") {
            let Some(prev) = k.checked_sub(1) else {
                continue;
            };
            // Params: `(…)`, `(…): Type`, or a single identifier.
            let (open, close, ps) = if toks[prev].is(src, ")") {
                let Some(open) = open_of(src, toks, prev) else {
                    continue;
                };
                (open, prev, params(src, toks, open, prev, Lang::Ts))
            } else if toks[prev].kind == Tk::Ident {
                // `x => …` or `(…): T =>`.
                let mut q = prev;
                while q >= 1 && !toks[q].is(src, ":") && q + 6 > prev {
                    q -= 1;
                }
                if toks[q].is(src, ":") && q >= 1 && toks[q - 1].is(src, ")") {
                    let Some(open) = open_of(src, toks, q - 1) else {
                        continue;
                    };
                    (open, q - 1, params(src, toks, open, q - 1, Lang::Ts))
                } else {
                    (
                        prev,
                        prev,
                        vec![Param {
                            name: name_of(src, &toks[prev]),
                            fields: Vec::new(),
                            nested: Vec::new(),
                            default: None,
                            field_defaults: Vec::new(),
                        }],
                    )
                }
            } else {
                continue;
            };
            let _ = close;
            // A generic arrow `<T,>(…) =>`.
            let mut start = open;
            if start >= 1 && toks[start - 1].is(src, ">") {
                if let Some(lt) = (start.saturating_sub(8)..start)
                    .rev()
                    .find(|&q| toks[q].is(src, "<"))
                {
                    start = lt;
                }
            }
            let Some(body) = body_from(src, toks, k + 1) else {
                continue;
            };
            let name = bound_name(src, toks, start);
            push(src, toks, out, name, start, ps, body);
        } else if t.kind == Tk::Ident && is_p(src, toks.get(k + 1), "(") {
            // Method shorthand: `name(…) {` in a class or object literal.
            let prev_ok = k == 0 || {
                let p = &toks[k - 1];
                matches!(
                    p.text(src),
                    b"{" | b"}"
                        | b";"
                        | b","
                        | b"*"
                        | b"async"
                        | b"static"
                        | b"get"
                        | b"set"
                        | b"public"
                        | b"private"
                        | b"protected"
                        | b"readonly"
                        | b"override"
                        | b"abstract"
                ) || p.line != t.line && !is_member(src, p)
            };
            // After the cheaper test of what precedes it (most calls fail that one).
            if !prev_ok || JS_NOT_METHODS.iter().any(|w| w.as_bytes() == t.text(src)) {
                continue;
            }
            let Some(close) = close_of(src, toks, k + 1) else {
                continue;
            };
            let Some(open_body) = (close + 1..toks.len().min(close + 30))
                .take_while(|&b| !toks[b].is(src, ";") && !toks[b].is(src, "=>"))
                .find(|&b| toks[b].is(src, "{"))
            else {
                continue;
            };
            // Between `)` and `{` only a return type may sit.
            if open_body != close + 1 && !is_p(src, toks.get(close + 1), ":") {
                continue;
            }
            let Some(body) = body_from(src, toks, open_body) else {
                continue;
            };
            push(
                src,
                toks,
                out,
                Some(name_of(src, t)),
                k,
                params(src, toks, k + 1, close, Lang::Ts),
                body,
            );
        }
    }
}

fn is_member(src: &[u8], t: &Token) -> bool {
    t.kind == Tk::Punct && matches!(t.text(src), b"." | b"?." | b"->" | b"::")
}

fn skip_angle(src: &[u8], toks: &[Token], j: usize) -> usize {
    let mut depth = 0usize;
    let mut k = j;
    while k < toks.len() && k < j + 64 {
        if toks[k].is(src, "<") {
            depth += 1;
        } else if toks[k].is(src, ">") {
            depth -= 1;
            if depth == 0 {
                return k + 1;
            }
        }
        k += 1;
    }
    j
}

/// Records a function, noting whether its body returns a function directly.
fn push(
    src: &[u8],
    toks: &[Token],
    out: &mut Out,
    name: Option<String>,
    tok: usize,
    mut params: Vec<Param>,
    body: (usize, usize),
) {
    if params.iter().any(|p| !p.name.is_empty()) {
        destructured_in_body(src, toks, &out.destructures, body, &mut params);
    }
    let returns_fn = marks_in(&out.returns, body).iter().find_map(|&j| {
        let n = toks.get(j + 1)?;
        // `return (…) =>`, `return function`, `return useCallback(`, `return x => …`.
        if n.is(src, "function") || n.is(src, "useCallback") {
            return Some(j + 1);
        }
        if n.is(src, "(") {
            let c = close_of(src, toks, j + 1)?;
            return is_p(src, toks.get(c + 1), "=>").then_some(j + 1);
        }
        (n.kind == Tk::Ident && is_p(src, toks.get(j + 2), "=>")).then_some(j + 1)
    });
    out.spans.push(FnSpan {
        name,
        tok,
        params,
        body,
        returns_fn,
        receiver: None,
    });
}

fn indented(src: &[u8], toks: &[Token], lang: Lang, out: &mut Out) {
    for k in 0..toks.len() {
        let t = &toks[k];
        let is_def = match lang {
            Lang::Python => t.is(src, "def"),
            Lang::Ruby | Lang::Erb => t.is(src, "def"),
            _ => t.is(src, "def") || t.is(src, "defp"),
        };
        if !is_def || (k > 0 && toks[k - 1].line == t.line && !toks[k - 1].is(src, "async")) {
            continue;
        }
        let mut j = k + 1;
        // Ruby `def self.name`.
        if matches!(lang, Lang::Ruby | Lang::Erb)
            && is_p(src, toks.get(j), "self")
            && is_p(src, toks.get(j + 1), ".")
        {
            j += 2;
        }
        let Some(n) = toks.get(j).filter(|n| n.kind == Tk::Ident) else {
            continue;
        };
        let name = name_of(src, n);
        let (ps, after) = if is_p(src, toks.get(j + 1), "(") {
            let Some(close) = close_of(src, toks, j + 1) else {
                continue;
            };
            (params(src, toks, j + 1, close, lang), close + 1)
        } else if matches!(lang, Lang::Ruby | Lang::Erb) {
            // `def name a, b` up to the end of the line.
            let mut e = j + 1;
            while e < toks.len() && toks[e].line == n.line {
                e += 1;
            }
            let ps = pieces(src, toks, j + 1, e)
                .into_iter()
                .filter_map(|(s, e2)| {
                    param_name(src, toks, s, e2, lang).map(|name| Param {
                        name,
                        fields: Vec::new(),
                        nested: Vec::new(),
                        default: literal_default(src, toks, s, e2),
                        field_defaults: Vec::new(),
                    })
                })
                .collect();
            (ps, e)
        } else {
            (Vec::new(), j + 1)
        };
        let indent = indent_of(src, t.start as usize);
        let line = toks[after.saturating_sub(1)].line;
        let mut end = after;
        while end < toks.len()
            && (toks[end].line <= line || indent_of(src, toks[end].start as usize) > indent)
        {
            end += 1;
        }
        push(src, toks, out, Some(name), j, ps, (after, end));
    }
}

fn indent_of(src: &[u8], start: usize) -> usize {
    let line_start = memchr::memrchr(b'\n', &src[..start]).map_or(0, |p| p + 1);
    src[line_start..start]
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .count()
}

fn go(src: &[u8], toks: &[Token], out: &mut Out) {
    for k in 0..toks.len() {
        if !toks[k].is(src, "func") {
            continue;
        }
        let mut j = k + 1;
        let mut receiver = None;
        // A method receiver `(t *T)`.
        if is_p(src, toks.get(j), "(")
            && toks
                .get(close_of(src, toks, j).unwrap_or(0) + 1)
                .is_some_and(|n| n.kind == Tk::Ident)
        {
            receiver = toks
                .get(j + 1)
                .filter(|r| {
                    r.kind == Tk::Ident
                        && toks
                            .get(j + 2)
                            .is_some_and(|n| n.kind == Tk::Ident || n.is(src, "*"))
                })
                .map(|r| name_of(src, r));
            j = close_of(src, toks, j).unwrap_or(j) + 1;
        }
        let mut name = None;
        let mut name_tok = k;
        if let Some(n) = toks.get(j).filter(|n| n.kind == Tk::Ident) {
            name = Some(name_of(src, n));
            name_tok = j;
            j += 1;
        }
        if is_p(src, toks.get(j), "[") {
            j = close_of(src, toks, j).unwrap_or(j) + 1;
        }
        if !is_p(src, toks.get(j), "(") {
            continue;
        }
        let Some(close) = close_of(src, toks, j) else {
            continue;
        };
        // Results up to the body's `{` on the same line (a type `interface{}` is skipped).
        let mut b = close + 1;
        let mut found = None;
        while b < toks.len() && b < close + 60 {
            let tb = &toks[b];
            if tb.is(src, "{") {
                let prev = &toks[b - 1];
                if prev.is(src, "interface") || prev.is(src, "struct") {
                    b = close_of(src, toks, b).unwrap_or(b) + 1;
                    continue;
                }
                found = Some(b);
                break;
            }
            if tb.is(src, "(") || tb.is(src, "[") {
                b = close_of(src, toks, b).unwrap_or(b) + 1;
                continue;
            }
            if tb.line != toks[close].line || tb.is(src, ";") || tb.is(src, ")") {
                break;
            }
            b += 1;
        }
        let Some(open_body) = found else {
            continue;
        };
        let Some(body) = body_from(src, toks, open_body) else {
            continue;
        };
        if name.is_none() {
            name = bound_name(src, toks, k);
        }
        let ps = params(src, toks, j, close, Lang::Go);
        push(src, toks, out, name, name_tok, ps, body);
        if let Some(last) = out.spans.last_mut() {
            last.receiver = receiver;
        }
    }
}

fn c_like(src: &[u8], toks: &[Token], lang: Lang, out: &mut Out) {
    for k in 0..toks.len() {
        let t = &toks[k];
        if t.kind != Tk::Ident || !is_p(src, toks.get(k + 1), "(") {
            continue;
        }
        if C_NOT_METHODS.iter().any(|w| w.as_bytes() == t.text(src)) {
            continue;
        }
        let Some(prev) = k.checked_sub(1).map(|p| &toks[p]) else {
            continue;
        };
        // A declaration: after a keyword (`fun`, `func`, `fn`, `function`, `def`), a type
        // or modifier identifier, or a generic/array/nullable type's closer.
        let decl = match lang {
            Lang::Kotlin => prev.is(src, "fun"),
            Lang::Swift => prev.is(src, "func"),
            Lang::Rust => prev.is(src, "fn"),
            Lang::Php => prev.is(src, "function"),
            _ => {
                (prev.kind == Tk::Ident
                    && !matches!(
                        prev.text(src),
                        b"return" | b"new" | b"throw" | b"await" | b"else" | b"case" | b"yield"
                    ))
                    || (prev.kind == Tk::Punct
                        && matches!(prev.text(src), b">" | b"]" | b"?")
                        && prev.line == t.line)
            }
        };
        if !decl {
            continue;
        }
        let Some(close) = close_of(src, toks, k + 1) else {
            continue;
        };
        let Some(open_body) = (close + 1..toks.len().min(close + 40))
            .take_while(|&b| !toks[b].is(src, ";") && !toks[b].is(src, "=>"))
            .find(|&b| toks[b].is(src, "{"))
        else {
            continue;
        };
        let Some(body) = body_from(src, toks, open_body) else {
            continue;
        };
        push(
            src,
            toks,
            out,
            Some(name_of(src, t)),
            k,
            params(src, toks, k + 1, close, lang),
            body,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::tokenize;

    fn fns(src: &str, path: &str) -> Vec<(Option<String>, Vec<String>)> {
        let lang = Lang::from_path(path).unwrap();
        let mut toks = Vec::new();
        tokenize(src.as_bytes(), lang, &mut toks);
        find_functions(src.as_bytes(), &toks, lang)
            .into_iter()
            .map(|f| {
                let ps = f
                    .params
                    .iter()
                    .map(|p| {
                        if p.fields.is_empty() {
                            p.name.clone()
                        } else {
                            let fs: Vec<String> = p.fields.iter().map(|f| f.1.clone()).collect();
                            format!("{{{}}}", fs.join(","))
                        }
                    })
                    .collect();
                (f.name, ps)
            })
            .collect()
    }

    fn named(n: &str, ps: &[&str]) -> (Option<String>, Vec<String>) {
        (Some(n.into()), ps.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn js_functions_arrows_methods_and_components() {
        let src = "export function track(event: string, props?: object) { posthog.capture(event, props) }\nconst capture = useCallback((name) => posthog.capture(name), [])\nclass A { send(ev) { this.client.capture({ event: ev }) } }\nfunction Btn({ trackingEventName, ...rest }) { return <b/> }\nconst o = { go: async (x) => x }";
        assert_eq!(
            fns(src, "a.tsx"),
            vec![
                named("track", &["event", "props"]),
                named("capture", &["name"]),
                named("send", &["ev"]),
                named("Btn", &["{trackingEventName}"]),
                named("go", &["x"]),
            ]
        );
    }

    #[test]
    fn js_destructuring_patterns_bind_fields_and_nested_names() {
        let src = "const { a, b: c, d = 1, e: { f, g: [h] }, 'q-r': s, [k]: t, ...rest } = x";
        let mut toks = Vec::new();
        tokenize(src.as_bytes(), Lang::Ts, &mut toks);
        let open = toks.iter().position(|t| t.is(src.as_bytes(), "{")).unwrap();
        let close = close_of(src.as_bytes(), &toks, open).unwrap();
        let path = |p: &[&str]| Some(p.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            pattern_bindings(src.as_bytes(), &toks, open, close),
            vec![
                ("a".to_string(), path(&["a"])),
                ("c".to_string(), path(&["b"])),
                ("d".to_string(), path(&["d"])),
                ("f".to_string(), path(&["e", "f"])),
                ("h".to_string(), None),
                ("s".to_string(), path(&["q-r"])),
                ("t".to_string(), None),
                ("rest".to_string(), None),
            ]
        );
        // A parameter's pattern: one field deep a field, deeper (or an array) only a name.
        let src = "function Btn({ eventName: name = 'x', tracking: { ev } }, [first]) { }";
        let mut toks = Vec::new();
        tokenize(src.as_bytes(), Lang::Ts, &mut toks);
        let f = find_functions(src.as_bytes(), &toks, Lang::Ts).remove(0);
        assert_eq!(
            f.params[0].fields,
            vec![("name".into(), "eventName".into())]
        );
        assert_eq!(f.params[0].nested, vec!["ev".to_string()]);
        assert_eq!(f.params[1].nested, vec!["first".to_string()]);
        assert!(f.params[1].fields.is_empty());
        assert_eq!(
            f.params[0].field_defaults,
            vec![("eventName".into(), "x".into())]
        );
        // Literal defaults only: a positional one, a field's; not an expression's.
        let src = "function t(event: string = 'a', n = 1, m = `x${y}`, { k = 'b', j = c, l: { z = 'q' } }) { }";
        let mut toks = Vec::new();
        tokenize(src.as_bytes(), Lang::Ts, &mut toks);
        let f = find_functions(src.as_bytes(), &toks, Lang::Ts).remove(0);
        let defaults: Vec<Option<String>> = f.params.iter().map(|p| p.default.clone()).collect();
        assert_eq!(defaults, vec![Some("a".into()), None, None, None]);
        assert_eq!(f.params[3].field_defaults, vec![("k".into(), "b".into())]);
        let src = "def track(user, step=\"s\", other=None):\n    pass\n";
        let mut toks = Vec::new();
        tokenize(src.as_bytes(), Lang::Python, &mut toks);
        let f = find_functions(src.as_bytes(), &toks, Lang::Python).remove(0);
        let defaults: Vec<Option<String>> = f.params.iter().map(|p| p.default.clone()).collect();
        assert_eq!(defaults, vec![None, Some("s".into()), None]);
    }

    #[test]
    fn python_go_and_c_like() {
        assert_eq!(
            fns(
                "class A:\n    def event(self, name, *args, **kwargs):\n        self.c.capture(name)\n\ndef f(x: str = 'a'):\n    pass\n",
                "a.py"
            ),
            vec![named("event", &["name"]), named("f", &["x"])]
        );
        assert_eq!(
            fns(
                "func (t *Telemetry) CaptureEvent(name string, props map[string]interface{}) error {\n\treturn nil\n}\nfunc (b *B) enqueue(ctx context.Context, userID, event string) {\n}\n",
                "a.go"
            ),
            vec![
                named("CaptureEvent", &["name", "props"]),
                named("enqueue", &["ctx", "userID", "event"]),
            ]
        );
        assert_eq!(
            fns(
                "public void track(String event, Map<String, Object> p) { if (x) { } }",
                "A.java"
            ),
            vec![named("track", &["event", "p"])]
        );
        assert_eq!(
            fns("fun track(event: String) { }", "a.kt"),
            vec![named("track", &["event"])]
        );
    }
}
