//! The property keys a capture sends: its properties argument read as an object literal.
//!
//! What is read: a JS/TS object literal (`{ plan, amount_cents: 1, "quoted": x, [KEY]: y,
//! ...base }`), a Python dict literal or `dict(plan=p)`, Go `posthog.NewProperties().Set("k",
//! v)` chains and `posthog.Properties{"k": v}` / `map[string]any{…}` literals, a Ruby hash
//! and a PHP array. A name is followed to the object literal it was bound to in the same
//! scope of the file (`const props = {…}; posthog.capture("e", props)`), with the keys
//! added to it afterwards (`props.k = …`, `props["k"] = …`, `props.Set("k", …)`), and a
//! spread (`...base`, `**base`) to the literal it names.
//!
//! Invariants: a key is never guessed: when some keys cannot be seen (a spread of an
//! unknown object, a variable bound elsewhere, a function call, a computed key that is not
//! a constant, the object handed to a function that may add to it) the set is `open`; a
//! key written as a constant (`[KEYS.plan]: …`, Python `{PLAN: …}`) is kept as a name for
//! the caller to resolve within the file, and is open if it does not resolve.

use super::{is_member_punct, match_back, match_fwd, named, split_args, starts_object, Arg, Ctx};
use crate::lang::{Family, Lang};
use crate::lexer::{str_value, Tk};

/// The keys of one properties argument as the extractor sees them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawProps {
    /// Literal keys and their lines (repeats possible; `$` keys already left out unless kept).
    pub keys: Vec<(String, u32)>,
    /// Keys written as a constant's name (`KEYS.plan`), with their lines, to resolve.
    pub names: Vec<(String, u32)>,
    /// Some keys cannot be seen.
    pub open: bool,
    /// Plain names bound nowhere in their scope of the file (a parameter, a global), each
    /// with its token: their keys cannot be seen here, but a wrapper's call site may show
    /// them (see [`PropsThrough`](crate::infer::PropsThrough)).
    pub unbound: Vec<(String, usize)>,
}

impl RawProps {
    /// Some keys cannot be seen in this file.
    pub(crate) fn is_open(&self) -> bool {
        self.open || !self.unbound.is_empty()
    }
}

/// Where a call shape carries its properties.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PropsAt<'a> {
    /// This SDK shape's properties are not read.
    None,
    /// Positional argument `n`.
    Pos(usize),
    /// Keyword argument only.
    Named(&'a str),
    /// Keyword argument, else positional argument `n`.
    NamedOrPos(&'a str, usize),
    /// Keyword argument, or a member of the first object-like argument (`{ event,
    /// properties }`, `['event' => …, 'properties' => …]`, Ruby `properties:`).
    Member(&'a str),
    /// A member of the object literal opening at this token.
    ObjectMember(usize, &'a str),
}

/// How many names and spreads are followed inside each other.
const MAX_DEPTH: u8 = 4;
/// How far back (in tokens) a name's binding is looked for.
const BINDING_WINDOW: usize = 4000;

/// The properties of a call with these arguments, or `None` when it has no properties
/// argument (or a literal `null`/`None`/`nil`).
pub(super) fn find(cx: &Ctx, at: PropsAt, args: &[Arg], positional: &[Arg]) -> Option<RawProps> {
    let range = |a: &Arg| (a.start, a.end);
    let (s, e) = match at {
        PropsAt::None => return None,
        PropsAt::Pos(n) => positional.get(n).map(range)?,
        PropsAt::Named(k) => named(cx, args, k).map(range)?,
        PropsAt::NamedOrPos(k, n) => named(cx, args, k).or(positional.get(n)).map(range)?,
        PropsAt::Member(k) => match named(cx, args, k) {
            Some(a) => range(a),
            None => args
                .iter()
                .filter(|a| a.name.is_none() && starts_object(cx, a))
                .find_map(|a| member_of(cx, object_open(cx, a)?, k))?,
        },
        PropsAt::ObjectMember(open, k) => member_of(cx, open, k)?,
    };
    let mut out = RawProps::default();
    value(cx, s, e, MAX_DEPTH, &mut out).then_some(out)
}

/// The opener of an object-like argument (`{`, PHP `[` / `array(`, Ruby `%{`, a Go
/// composite literal's `{`).
fn object_open(cx: &Ctx, a: &Arg) -> Option<usize> {
    let (src, toks) = (cx.src, cx.toks);
    if let Some(b) = super::go_literal_brace(cx, a) {
        return Some(b);
    }
    let t = &toks[a.start];
    let open = if t.is(src, "%") || t.is(src, "array") {
        a.start + 1
    } else {
        a.start
    };
    (open < a.end).then_some(open)
}

/// The token range of member `key`'s value in the object literal opening at `open`.
fn member_of(cx: &Ctx, open: usize, key: &str) -> Option<(usize, usize)> {
    let close = match_fwd(cx.toks, cx.src, open)?;
    for m in split_args(cx, open + 1, close) {
        let start = m.name.unwrap_or(m.start);
        let Some(sep) = separator(cx, start, m.end) else {
            continue;
        };
        if sep == start + 1 && plain_key(cx, start, sep).as_deref() == Some(key) {
            return Some((sep + 1, m.end));
        }
    }
    None
}

/// The key a one-token member head spells literally (`event`, `'event'`, Ruby `:event`).
fn plain_key(cx: &Ctx, s: usize, sep: usize) -> Option<String> {
    let t = &cx.toks[s];
    match t.kind {
        Tk::Str if !t.interpolated() => Some(str_value(cx.src, t)),
        Tk::Ident => {
            let text = String::from_utf8_lossy(t.text(cx.src));
            let ruby_symbol = cx.lang.family() == Family::Ruby && text.starts_with(':');
            let colon = cx.toks[sep].is(cx.src, ":");
            (ruby_symbol || (colon && matches!(cx.lang.family(), Family::Js | Family::Ruby)))
                .then(|| text.trim_start_matches(':').to_string())
        }
        _ => None,
    }
}

/// The first depth-0 `:` or `=>` of a member (`key: value`, `'key' => value`).
fn separator(cx: &Ctx, s: usize, e: usize) -> Option<usize> {
    let (src, toks) = (cx.src, cx.toks);
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate().take(e).skip(s) {
        if t.kind != Tk::Punct {
            continue;
        }
        match t.text(src) {
            b"(" | b"[" | b"{" => depth += 1,
            b")" | b"]" | b"}" => depth = depth.saturating_sub(1),
            b":" | b"=>" if depth == 0 && k > s => return Some(k),
            b"?" if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

fn is_nothing(cx: &Ctx, s: usize, e: usize) -> bool {
    e == s + 1
        && cx.toks[s].kind == Tk::Ident
        && matches!(
            cx.toks[s].text(cx.src),
            b"null" | b"undefined" | b"None" | b"nil"
        )
}

/// Reads the value `s..e` into `out`; false when it is no properties at all (`null`).
fn value(cx: &Ctx, s: usize, mut e: usize, depth: u8, out: &mut RawProps) -> bool {
    let (src, toks) = (cx.src, cx.toks);
    if s >= e {
        out.open = true;
        return true;
    }
    if is_nothing(cx, s, e) {
        return false;
    }
    if depth == 0 {
        out.open = true;
        return true;
    }
    let family = cx.lang.family();
    // TypeScript `{ … } as Props`, `{ … } satisfies Props`, `props!`.
    if family == Family::Js {
        if let Some(k) = (s + 1..e).find(|&k| toks[k].is(src, "as") || toks[k].is(src, "satisfies"))
        {
            if depth_at(cx, s, k) == 0 {
                e = k;
            }
        }
        if e > s + 1 && toks[e - 1].is(src, "!") {
            e -= 1;
        }
    }
    // `( … )`: the expression inside.
    if toks[s].is(src, "(") && match_fwd(toks, src, s) == Some(e - 1) {
        return value(cx, s + 1, e - 1, depth - 1, out);
    }
    // `c ? a : b`, `a ?? b`, `a || b`, `c && a` (JS), `a if c else b` (Python): the keys
    // of every branch that may be the value.
    if let Some(branches) = alternatives(cx, s, e) {
        let mut present = false;
        for (bs, be) in branches {
            present |= value(cx, bs, be, depth - 1, out);
        }
        return present;
    }
    let first = &toks[s];
    // An object literal, a dict, a hash, a PHP short array.
    let opens_literal = first.is(src, "{") || (family == Family::Php && first.is(src, "["));
    if opens_literal && match_fwd(toks, src, s) == Some(e - 1) {
        members(cx, s, e - 1, depth, out);
        return true;
    }
    // PHP `array(…)`, Python `dict(…)`.
    if e >= s + 3
        && toks[s + 1].is(src, "(")
        && match_fwd(toks, src, s + 1) == Some(e - 1)
        && ((family == Family::Php && first.is(src, "array"))
            || (cx.lang == Lang::Python && first.is(src, "dict")))
    {
        if family == Family::Php {
            members(cx, s + 1, e - 1, depth, out);
        } else {
            dict_call(cx, s + 1, e - 1, depth, out);
        }
        return true;
    }
    if family == Family::Go {
        if let Some(done) = go_value(cx, s, e, depth, out) {
            return done;
        }
    }
    // A name: follow it to the literal it was bound to in this scope.
    if e == s + 1 && first.kind == Tk::Ident {
        match binding(cx, s) {
            Some((vs, ve)) => {
                let present = value(cx, vs, ve, depth - 1, out);
                mutations(cx, s, ve, s, depth - 1, out);
                return present;
            }
            None => out
                .unbound
                .push((String::from_utf8_lossy(first.text(src)).into_owned(), s)),
        }
        return true;
    }
    out.open = true;
    true
}

/// The branches of a conditional or a logical default, split at depth 0.
fn alternatives(cx: &Ctx, s: usize, e: usize) -> Option<Vec<(usize, usize)>> {
    let (src, toks) = (cx.src, cx.toks);
    let family = cx.lang.family();
    if family != Family::Js && cx.lang != Lang::Python {
        return None;
    }
    let mut depth = 0usize;
    let (mut q, mut logical) = (None, None);
    for k in s..e {
        let t = &toks[k];
        if t.kind == Tk::Str {
            continue;
        }
        match t.text(src) {
            b"(" | b"[" | b"{" if t.kind == Tk::Punct => depth += 1,
            b")" | b"]" | b"}" if t.kind == Tk::Punct => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            b"?" if family == Family::Js && q.is_none() => q = Some(k),
            b":" if family == Family::Js => {
                if let Some(q) = q {
                    // The test is not a value: `c ? a : b` is `a` or `b`.
                    return Some(vec![(q + 1, k), (k + 1, e)]);
                }
            }
            b"if" if cx.lang == Lang::Python => {
                let els =
                    (k + 1..e).find(|&j| toks[j].is(src, "else") && depth_at(cx, k, j) == 0)?;
                return Some(vec![(s, k), (els + 1, e)]);
            }
            b"??" | b"||" | b"or" if logical.is_none() && q.is_none() => logical = Some((k, true)),
            b"&&" | b"and" if logical.is_none() && q.is_none() => logical = Some((k, false)),
            _ => {}
        }
    }
    let (k, both) = logical?;
    Some(if both {
        vec![(s, k), (k + 1, e)]
    } else {
        vec![(k + 1, e)]
    })
}

/// The bracket depth at token `k` relative to `s`.
fn depth_at(cx: &Ctx, s: usize, k: usize) -> i64 {
    let mut depth = 0i64;
    for t in &cx.toks[s..k] {
        if t.kind == Tk::Punct {
            match t.text(cx.src) {
                b"(" | b"[" | b"{" => depth += 1,
                b")" | b"]" | b"}" => depth -= 1,
                _ => {}
            }
        }
    }
    depth
}

fn push_key(cx: &Ctx, out: &mut RawProps, name: String, line: u32) {
    if cx.keep_dollar || !name.starts_with('$') {
        out.keys.push((name, line));
    }
}

/// The members of the object literal `open..close` (exclusive of both).
fn members(cx: &Ctx, open: usize, close: usize, depth: u8, out: &mut RawProps) {
    let (src, toks) = (cx.src, cx.toks);
    let family = cx.lang.family();
    // A Python dict comprehension (`{k: v for k in …}`) has no keys to read.
    if cx.lang == Lang::Python
        && (open + 1..close).any(|k| toks[k].is(src, "for") && depth_at(cx, open + 1, k) == 0)
    {
        out.open = true;
        return;
    }
    for m in split_args(cx, open + 1, close) {
        let (s, e) = (m.name.unwrap_or(m.start), m.end);
        if s >= e {
            continue;
        }
        let t = &toks[s];
        // A spread: `...base` (JS, PHP), `**base` (Python, Ruby).
        if let Some(n) = spread(cx, s, e) {
            // `...null` adds nothing.
            value(cx, s + n, e, depth - 1, out);
            continue;
        }
        match separator(cx, s, e) {
            Some(sep) => key_head(cx, s, sep, out),
            None => {
                // JS shorthand `{ plan }` and methods `{ plan() {…} }`.
                let shorthand = family == Family::Js
                    && t.kind == Tk::Ident
                    && (e == s + 1 || toks[s + 1].is(src, "("));
                if shorthand {
                    push_key(cx, out, String::from_utf8_lossy(t.text(src)).into(), t.line);
                } else {
                    out.open = true;
                }
            }
        }
    }
}

/// How many tokens a spread operator at `s` takes (`...`, `**`, or `*` `*`), if there is one.
fn spread(cx: &Ctx, s: usize, e: usize) -> Option<usize> {
    let (src, toks) = (cx.src, cx.toks);
    let t = &toks[s];
    if t.kind != Tk::Punct {
        return None;
    }
    match t.text(src) {
        b"..." | b"**" => Some(1),
        b"*" if s + 2 < e && toks[s + 1].is(src, "*") && toks[s + 1].start == t.end => Some(2),
        _ => None,
    }
}

/// The key written in `s..sep` (before the member's `:`/`=>`).
fn key_head(cx: &Ctx, s: usize, sep: usize, out: &mut RawProps) {
    let (src, toks) = (cx.src, cx.toks);
    let t = &toks[s];
    if sep == s + 1 {
        if let Some(k) = plain_key(cx, s, sep) {
            return push_key(cx, out, k, t.line);
        }
        if t.kind == Tk::Num {
            return push_key(cx, out, String::from_utf8_lossy(t.text(src)).into(), t.line);
        }
    }
    // JS computed key `[KEY]: …`.
    let (ks, ke) = if cx.lang.family() == Family::Js
        && t.is(src, "[")
        && match_fwd(toks, src, s) == Some(sep - 1)
    {
        (s + 1, sep - 1)
    } else {
        (s, sep)
    };
    if ke == ks + 1 && toks[ks].kind == Tk::Str && !toks[ks].interpolated() {
        return push_key(cx, out, str_value(src, &toks[ks]), toks[ks].line);
    }
    match name_of(cx, ks, ke) {
        Some(name) => out.names.push((name, toks[ks].line)),
        None => out.open = true,
    }
}

/// A constant's name (`PLAN`, `Keys.PLAN`, `self::PLAN`) as the resolver spells it.
fn name_of(cx: &Ctx, s: usize, e: usize) -> Option<String> {
    if s >= e || cx.toks[s].text(cx.src).starts_with(b"$") {
        // A PHP variable is not a constant.
        return None;
    }
    super::chain_name(cx, s, e)
}

/// Python `dict(plan=p, **base)`.
fn dict_call(cx: &Ctx, open: usize, close: usize, depth: u8, out: &mut RawProps) {
    let (src, toks) = (cx.src, cx.toks);
    for a in split_args(cx, open + 1, close) {
        match a.name {
            Some(n) if toks[n].kind == Tk::Ident => push_key(
                cx,
                out,
                String::from_utf8_lossy(toks[n].text(src)).into(),
                toks[n].line,
            ),
            Some(_) => out.open = true,
            // `dict(**base)` or `dict(other)`.
            None => {
                let n = spread(cx, a.start, a.end).unwrap_or(0);
                value(cx, a.start + n, a.end, depth - 1, out);
            }
        }
    }
}

/// Go: `posthog.NewProperties().Set("k", v)…`, `posthog.Properties{"k": v}`,
/// `map[string]interface{}{"k": v}`. `None` when the value is none of these.
fn go_value(cx: &Ctx, s: usize, e: usize, depth: u8, out: &mut RawProps) -> Option<bool> {
    let (src, toks) = (cx.src, cx.toks);
    // A composite literal: its last token closes the literal's brace, with a type before it.
    if toks[e - 1].is(src, "}") {
        let open = match_back(toks, src, e - 1)?;
        if open > s {
            members(cx, open, e - 1, depth, out);
            return Some(true);
        }
        return None;
    }
    // `posthog.NewProperties()` followed by `.Set(…)` calls.
    let np = (s..e).find(|&k| toks[k].is(src, "NewProperties"))?;
    if !toks.get(np + 1).is_some_and(|t| t.is(src, "(")) {
        return None;
    }
    let mut j = match_fwd(toks, src, np + 1)? + 1;
    while j < e {
        if !(toks[j].is(src, ".")
            && toks.get(j + 1).is_some_and(|t| t.is(src, "Set"))
            && toks.get(j + 2).is_some_and(|t| t.is(src, "(")))
        {
            out.open = true;
            break;
        }
        let close = match_fwd(toks, src, j + 2)?;
        go_set(cx, j + 2, close, out);
        j = close + 1;
    }
    Some(true)
}

/// The key of a Go `.Set(key, value)` whose `(` is `open`.
fn go_set(cx: &Ctx, open: usize, close: usize, out: &mut RawProps) {
    let args = split_args(cx, open + 1, close);
    match args.first() {
        Some(a) => key_head_value(cx, a.start, a.end, out),
        None => out.open = true,
    }
}

/// A key given as an expression (`"k"`, `KEY`): literal, a name to resolve, or open.
fn key_head_value(cx: &Ctx, s: usize, e: usize, out: &mut RawProps) {
    let toks = cx.toks;
    if e == s + 1 && toks[s].kind == Tk::Str && !toks[s].interpolated() {
        return push_key(cx, out, str_value(cx.src, &toks[s]), toks[s].line);
    }
    if e == s + 1 && cx.lang.family() == Family::Ruby && toks[s].text(cx.src).starts_with(b":") {
        let k = String::from_utf8_lossy(&toks[s].text(cx.src)[1..]).into_owned();
        return push_key(cx, out, k, toks[s].line);
    }
    match name_of(cx, s, e) {
        Some(name) => out.names.push((name, toks[s].line)),
        None => out.open = true,
    }
}

/// Whether token `k` starts a statement: first on its line, or after `;`, `{`, `}` or a
/// declaration keyword.
fn starts_statement(cx: &Ctx, k: usize) -> bool {
    let toks = cx.toks;
    k == 0
        || toks[k - 1].line != toks[k].line
        || matches!(
            toks[k - 1].text(cx.src),
            b";" | b"{" | b"}" | b"const" | b"let" | b"var"
        )
}

/// The nearest binding of the name at token `at` before it whose block still holds `at`:
/// the value's token range.
fn binding(cx: &Ctx, at: usize) -> Option<(usize, usize)> {
    let (src, toks) = (cx.src, cx.toks);
    let text = toks[at].text(src);
    let braces = !cx.lang.indent_scoped();
    // `depth` is the brace depth at `k` relative to `at`: a binding at a positive depth sits
    // in a block closed before `at`.
    let mut depth = 0i64;
    let mut k = at;
    while k > 0 && at - k < BINDING_WINDOW {
        k -= 1;
        let t = &toks[k];
        if braces && t.kind == Tk::Punct {
            match t.text(src) {
                b"}" => depth += 1,
                b"{" => depth -= 1,
                _ => {}
            }
        }
        if braces && depth > 0 {
            continue;
        }
        if t.kind != Tk::Ident || t.text(src) != text || !starts_statement(cx, k) {
            continue;
        }
        // `name =`, `name :=`, or `const name: Type = …` on the same line.
        let mut eq = k + 1;
        if cx.lang.family() == Family::Js && toks.get(eq).is_some_and(|n| n.is(src, ":")) {
            let mut d = 0i64;
            while eq < at && toks[eq].line == t.line {
                match toks[eq].text(src) {
                    b"<" | b"(" | b"[" | b"{" => d += 1,
                    b">" | b")" | b"]" | b"}" => d -= 1,
                    b"=" if d == 0 => break,
                    _ => {}
                }
                eq += 1;
            }
        }
        if !toks
            .get(eq)
            .is_some_and(|n| n.is(src, "=") || n.is(src, ":="))
        {
            continue;
        }
        let start = eq + 1;
        let end = value_end(cx, start, at);
        if end <= start {
            return None;
        }
        return Some((start, end));
    }
    None
}

/// The end (exclusive) of the value starting at `s`, before `limit`: a depth-0 `;` or `,`,
/// a closer, or a line break where the expression cannot go on.
fn value_end(cx: &Ctx, s: usize, limit: usize) -> usize {
    let (src, toks) = (cx.src, cx.toks);
    let continues = |b: &[u8]| {
        matches!(
            b,
            b"." | b"?." | b"??" | b"||" | b"&&" | b"+" | b"|" | b"(" | b"[" | b"{" | b"->"
        )
    };
    let mut depth = 0usize;
    let mut k = s;
    while k < limit {
        let t = &toks[k];
        if k > s
            && depth == 0
            && t.line != toks[k - 1].line
            && !(t.kind == Tk::Punct && continues(t.text(src)))
            && !(toks[k - 1].kind == Tk::Punct && continues(toks[k - 1].text(src)))
        {
            return k;
        }
        if t.kind == Tk::Punct {
            match t.text(src) {
                b"(" | b"[" | b"{" => depth += 1,
                b")" | b"]" | b"}" => {
                    if depth == 0 {
                        return k;
                    }
                    depth -= 1;
                }
                b";" | b"," if depth == 0 => return k,
                _ => {}
            }
        }
        k += 1;
    }
    k
}

/// Methods that only read an object: calling them on the properties adds no key.
const READS: &[&[u8]] = &[
    b"get",
    b"Get",
    b"has",
    b"hasOwnProperty",
    b"keys",
    b"values",
    b"items",
    b"entries",
    b"copy",
    b"toString",
    b"fetch",
    b"dig",
    b"key?",
    b"include?",
    b"length",
    b"len",
];

/// Keys added to the bound name between its binding (ending at `from`) and `to`:
/// `name.k = …`, `name["k"] = …`, `name.Set("k", …)`; anything that may add keys we cannot
/// see (`Object.assign(name, …)`, `name.update(…)`, `name |= …`) opens the set.
fn mutations(cx: &Ctx, name: usize, from: usize, to: usize, depth: u8, out: &mut RawProps) {
    let (src, toks) = (cx.src, cx.toks);
    let text = toks[name].text(src);
    let family = cx.lang.family();
    for j in from..to {
        let t = &toks[j];
        if t.kind != Tk::Ident
            || t.text(src) != text
            || (j > 0 && is_member_punct(&toks[j - 1], src))
        {
            continue;
        }
        let at = |k: usize, s: &str| toks.get(k).is_some_and(|n| n.is(src, s));
        if at(j + 1, "[") {
            if let Some(close) = match_fwd(toks, src, j + 1) {
                if at(close + 1, "=") {
                    key_head_value(cx, j + 2, close, out);
                }
            }
            continue;
        }
        if at(j + 1, ".") && toks.get(j + 2).is_some_and(|n| n.kind == Tk::Ident) {
            let method = toks[j + 2].text(src);
            if at(j + 3, "=") && family == Family::Js {
                push_key(
                    cx,
                    out,
                    String::from_utf8_lossy(method).into(),
                    toks[j + 2].line,
                );
            } else if at(j + 3, "(") {
                if family == Family::Go && method == b"Set" {
                    if let Some(close) = match_fwd(toks, src, j + 3) {
                        go_set(cx, j + 3, close, out);
                    }
                } else if cx.lang == Lang::Python && method == b"update" && depth > 0 {
                    // `props.update(other, k=v)` is `{**props, **other, "k": v}`.
                    if let Some(close) = match_fwd(toks, src, j + 3) {
                        dict_call(cx, j + 3, close, depth, out);
                    }
                } else if !READS.contains(&method) {
                    out.open = true;
                }
            }
            continue;
        }
        // `name |= {…}`, `name += …`, `name ||= …`.
        if toks.get(j + 1).is_some_and(|n| {
            n.kind == Tk::Punct && matches!(n.text(src), b"|" | b"+" | b"||" | b"&&" | b"??")
        }) && at(j + 2, "=")
        {
            out.open = true;
            continue;
        }
        // Handed to a call (`Object.assign(name, …)`, `enrich(name)`): it may add keys.
        let prev = j.checked_sub(1).map(|p| &toks[p]);
        if prev.is_some_and(|p| p.is(src, "(") || p.is(src, ","))
            && (at(j + 1, ")") || at(j + 1, ","))
        {
            out.open = true;
        }
    }
}

/// The properties at a call site of an inferred wrapper whose body sends `through`: the
/// keys written in the body (at the call's line, where the call site's file sees them), the
/// keys of the argument the body forwards, and for a Python `**kwargs` wrapper the call's
/// keyword arguments that are not the wrapper's own parameters.
pub(super) fn at_wrapper_call(
    cx: &Ctx,
    through: &crate::infer::PropsThrough,
    args: &[Arg],
    positional: &[Arg],
    line: u32,
) -> Option<RawProps> {
    use crate::infer::Slot;
    let (src, toks) = (cx.src, cx.toks);
    let mut out = RawProps::default();
    // Whether the call site passes anything that becomes properties.
    let mut passed = false;
    let merge = |out: &mut RawProps, p: RawProps| {
        out.keys.extend(p.keys);
        out.names.extend(p.names);
        out.unbound.extend(p.unbound);
        out.open |= p.open;
    };
    match &through.from {
        None => {}
        Some(Slot::Param { index, name }) => {
            let at = if crate::infer::kwargs_lang(cx.lang.family()) {
                PropsAt::NamedOrPos(name, *index)
            } else {
                PropsAt::Pos(*index)
            };
            if let Some(p) = find(cx, at, args, positional) {
                passed = true;
                merge(&mut out, p);
            }
        }
        Some(Slot::Field { index, field }) => match positional.get(*index) {
            Some(a) if toks[a.start].is(src, "{") => {
                if let Some(p) = find(cx, PropsAt::ObjectMember(a.start, field), args, positional) {
                    passed = true;
                    merge(&mut out, p);
                }
            }
            // The object is not a literal here: its field cannot be seen.
            Some(_) => {
                passed = true;
                out.open = true;
            }
            None => {}
        },
    }
    if let Some(own) = &through.kwargs {
        for a in args {
            match a.name {
                Some(n) if toks[n].kind == Tk::Ident => {
                    let name = String::from_utf8_lossy(toks[n].text(src));
                    if !own.iter().any(|p| *p == name) {
                        passed = true;
                        push_key(cx, &mut out, name.into_owned(), toks[n].line);
                    }
                }
                // `**extra`: more keyword arguments than can be seen.
                None if spread(cx, a.start, a.end).is_some() => {
                    passed = true;
                    out.open = true;
                }
                _ => {}
            }
        }
    }
    // A body that writes properties of its own sends them whatever the call passes.
    let body_sends = !through.keys.is_empty()
        || through.open
        || (through.from.is_none() && through.kwargs.is_none());
    if !passed && !body_sends {
        return None;
    }
    out.open |= through.open;
    out.keys
        .extend(through.keys.iter().map(|k| (k.clone(), line)));
    Some(out)
}
