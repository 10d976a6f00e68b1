//! Finds SDK calls in one file's tokens and pulls out the event or flag key expression.
//!
//! Invariants: a call is recognised only as code tokens (never inside a comment or a
//! string); a function *definition* with a matching name (`def capture(…)`,
//! `function useFeatureFlag(…) {`) is not a call; a key that is not a plain literal is
//! never dropped: it comes back as an identifier to resolve or as dynamic with a reason.

use crate::lang::{Family, Lang};
use crate::lexer::{str_value, Tk, Token};
use crate::patterns::{KeyAt, Pattern, Recv, SideHint, Table};
use crate::Kind;

mod props;
use props::PropsAt;
pub(crate) use props::RawProps;

/// The key expression of one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyExpr {
    Literal(String),
    /// A (possibly qualified, `.`-joined) name to resolve: `EVENTS.signup`, `@flag`.
    Ident(String),
    Dynamic(String),
    /// Several keys at once: a conditional of literals (`c ? "a" : "b"`, `"a" if c else
    /// "b"`), or a list of flag keys (`evaluate_flags(…, flag_keys=["a", B])`).
    OneOf(Vec<KeyExpr>),
    /// An interpolated string of names (`` `${A}_x` ``, `f"{A}_x"`, see
    /// [`crate::template`]) or a concatenation (`A + "_x"`), the expression as written (the
    /// reference's identifier while its names wait for the cross-file stage), and the
    /// dynamic reason when a name does not resolve.
    Template(Vec<crate::template::Part>, String, String),
    /// Go `fmt.Sprintf(EventFmt, args…)` whose format is a name: the name, the arguments
    /// (each a constant operand), the expression as written and the dynamic reason. The
    /// format is looked up among the file's definitions (in scope at the call), then
    /// formatted by [`go_verbs`] into a [`KeyExpr::Template`].
    Format(String, Vec<Operand>, String, String),
}

/// A conditional whose branches are each a plain literal or a name (`c ? "a" : "b"`,
/// `c ? EVENTS.a : EVENTS.b`, Python `"a" if c else B`, nested `c ? "a" : d ? "b" : "c"`):
/// one key expression per branch. Anything else in a branch makes it not a conditional of
/// keys (the caller reports the whole expression as dynamic).
fn conditional_keys(cx: &Ctx, s: usize, e: usize, depth_left: u8) -> Option<Vec<KeyExpr>> {
    let (src, toks) = (cx.src, cx.toks);
    if e < s + 5 || depth_left == 0 {
        return None;
    }
    // The depth-0 tokens that split the conditional: `?` and `:` (or `if` and `else`).
    let (first, second) = if cx.lang == Lang::Python {
        ("if", "else")
    } else {
        ("?", ":")
    };
    let mut depth = 0usize;
    let mut q = None;
    let mut c = None;
    for (k, t) in toks.iter().enumerate().take(e).skip(s) {
        match t.text(src) {
            b"(" | b"[" | b"{" if t.kind == Tk::Punct => depth += 1,
            b")" | b"]" | b"}" if t.kind == Tk::Punct => depth = depth.saturating_sub(1),
            _ if depth > 0 || t.kind == Tk::Str => {}
            w if q.is_none() && w == first.as_bytes() => q = Some(k),
            w if q.is_some() && w == second.as_bytes() => {
                c = Some(k);
                break;
            }
            _ => {}
        }
    }
    let (q, c) = (q?, c?);
    let branches: [(usize, usize); 2] = if cx.lang == Lang::Python {
        [(s, q), (c + 1, e)]
    } else {
        [(q + 1, c), (c + 1, e)]
    };
    let mut out = Vec::new();
    for (i, (bs, be)) in branches.into_iter().enumerate() {
        if bs >= be {
            return None;
        }
        // The last branch may itself be a conditional (`a ? "x" : b ? "y" : "z"`).
        if i == 1 && cx.lang != Lang::Python {
            if let Some(more) = conditional_keys(cx, bs, be, depth_left - 1) {
                out.extend(more);
                continue;
            }
        }
        out.push(simple_key(cx, bs, be)?);
    }
    Some(out)
}

/// A branch of a conditional: one plain literal, or a name that is not `null`/`true`/….
fn simple_key(cx: &Ctx, s: usize, e: usize) -> Option<KeyExpr> {
    let t = &cx.toks[s];
    if e == s + 1 && t.kind == Tk::Str {
        return (!t.interpolated()).then(|| KeyExpr::Literal(str_value(cx.src, t)));
    }
    let name = chain_name(cx, s, e)?;
    (!matches!(
        name.as_str(),
        "true" | "false" | "null" | "nil" | "None" | "undefined"
    ))
    .then_some(KeyExpr::Ident(name))
}

/// `const name = c ? A : B` (JS/TS, also typed) or Python `name = A if c else B`, the
/// nearest declaration before token `at` in a scope that holds `at` (`scope_of(k)` is the
/// token range of the innermost function around token `k`, or the whole file): the
/// conditional's branches. Only `const` in JS/TS, and in Python a name assigned once in its
/// scope, so the value at the call is one of the branches.
pub(crate) fn local_conditional(
    src: &[u8],
    toks: &[Token],
    lang: Lang,
    at: usize,
    name: &str,
    scope_of: &dyn Fn(usize) -> (usize, usize),
) -> Option<Vec<KeyExpr>> {
    let cx = Ctx {
        src,
        toks,
        lang,
        clients: &[],
        snapshots: Vec::new(),
        keep_dollar: false,
        bindings: Default::default(),
    };
    let js = lang.family() == crate::lang::Family::Js;
    if !js && lang != Lang::Python {
        return None;
    }
    let assigned = |k: usize| {
        (k == 0 || toks[k - 1].line != toks[k].line)
            && toks.get(k + 1).is_some_and(|n| n.is(src, "="))
    };
    for k in (0..at.min(toks.len())).rev() {
        let t = &toks[k];
        if t.kind != Tk::Ident || t.text(src) != name.as_bytes() {
            continue;
        }
        let declared = if js {
            k > 0 && toks[k - 1].is(src, "const")
        } else {
            assigned(k)
        };
        if !declared {
            continue;
        }
        let (scope_start, scope_end) = scope_of(k);
        if !(scope_start <= at && at < scope_end) {
            continue;
        }
        if !js
            && (scope_start..scope_end)
                .filter(|&j| toks[j].text(src) == name.as_bytes() && assigned(j))
                .count()
                > 1
        {
            return None;
        }
        // Skip a type annotation: `const e: EventName = …`.
        let mut eq = k + 1;
        if js && toks.get(eq).is_some_and(|n| n.is(src, ":")) {
            while eq < at && !toks[eq].is(src, "=") && !toks[eq].is(src, ";") {
                eq += 1;
            }
        }
        if !toks.get(eq).is_some_and(|n| n.is(src, "=")) {
            continue;
        }
        let start = eq + 1;
        let end = expr_end(&cx, start, at)?;
        let (mut s, mut e) = (start, end);
        if s + 2 < e && toks[s].is(src, "(") && match_fwd(toks, src, s) == Some(e - 1) {
            s += 1;
            e -= 1;
        }
        // The nearest declaration in scope decides, conditional or not.
        return conditional_keys(&cx, s, e, 4);
    }
    None
}

/// What a JS/TS destructuring declaration binds a name to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Destructured {
    /// `const { A } = EVENTS`, `const { b: x } = EVENTS.nested`: the member of a name chain
    /// (`EVENTS.A`, `EVENTS.nested.b`), which resolves like that name would.
    Member(String),
    /// Anything else (a call's result, `let`, an array pattern, `for (const { a } of …)`):
    /// a value of the program, never a constant defined elsewhere; where it comes from
    /// (`` `getStuff()` ``, the expression as written; empty when unknown).
    Value(String),
}

/// The openers of a JS/TS file's destructuring declarations (`const {`, `let [`, …), in
/// token order: what [`local_destructured`] searches (empty in other languages).
pub(crate) fn destructuring_decls(src: &[u8], toks: &[Token], lang: Lang) -> Vec<usize> {
    if lang.family() != Family::Js {
        return Vec::new();
    }
    (1..toks.len())
        .filter(|&k| {
            (toks[k].is(src, "{") || toks[k].is(src, "["))
                && toks[k - 1].kind == Tk::Ident
                && matches!(toks[k - 1].text(src), b"const" | b"let" | b"var")
        })
        .collect()
}

/// The nearest JS/TS destructuring declaration (among `decls`, from
/// [`destructuring_decls`]) before token `at`, in a scope that holds `at` (`scope_of` as in
/// [`local_conditional`]), whose pattern binds `name`.
pub(crate) fn local_destructured(
    src: &[u8],
    toks: &[Token],
    lang: Lang,
    decls: &[usize],
    at: usize,
    name: &str,
    scope_of: &dyn Fn(usize) -> (usize, usize),
) -> Option<Destructured> {
    if lang.family() != Family::Js || decls.is_empty() {
        return None;
    }
    let cx = Ctx {
        src,
        toks,
        lang,
        clients: &[],
        snapshots: Vec::new(),
        keep_dollar: false,
        bindings: Default::default(),
    };
    let at = at.min(toks.len());
    for &k in decls.iter().rev().skip_while(|&&k| k >= at) {
        let decl = &toks[k - 1];
        let Some(close) = match_fwd(toks, src, k).filter(|&c| c < at) else {
            continue;
        };
        let bindings = crate::functions::pattern_bindings(src, toks, k, close);
        let Some((_, path)) = bindings.into_iter().find(|(local, _)| local == name) else {
            continue;
        };
        let (scope_start, scope_end) = scope_of(k);
        if !(scope_start <= at && at < scope_end) {
            continue;
        }
        // `= value`, after a type annotation (`const { a }: Props = …`).
        let mut eq = close + 1;
        if toks.get(eq).is_some_and(|t| t.is(src, ":")) {
            while eq < at && !toks[eq].is(src, "=") && !toks[eq].is(src, ";") {
                eq += 1;
            }
        }
        if !toks.get(eq).is_some_and(|t| t.is(src, "=")) {
            // `for (const { a } of items)`, `for (const [k, v] in …)`.
            let looped = toks
                .get(close + 1)
                .is_some_and(|t| t.is(src, "of") || t.is(src, "in"));
            return Some(Destructured::Value(if looped {
                "a `for` loop's items".into()
            } else {
                String::new()
            }));
        }
        let Some(end) = expr_end(&cx, eq + 1, at) else {
            return Some(Destructured::Value(String::new()));
        };
        let written = || {
            let raw = String::from_utf8_lossy(
                &src[toks[eq + 1].start as usize..toks[end.max(eq + 2) - 1].end as usize],
            )
            .into_owned();
            let flat: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
            if flat.chars().count() > 60 {
                format!("{}…", flat.chars().take(59).collect::<String>())
            } else {
                flat
            }
        };
        if end <= eq + 1 {
            return Some(Destructured::Value(String::new()));
        }
        let chain = chain_name(&cx, eq + 1, end).filter(|c| !c.starts_with('@'));
        return Some(match (decl.is(src, "const"), chain, path) {
            (true, Some(chain), Some(path)) if !path.is_empty() => {
                Destructured::Member(format!("{chain}.{}", path.join(".")))
            }
            _ => Destructured::Value(format!("`{}`", written())),
        });
    }
    None
}

/// Whether `name` is declared as a local variable in the token range `body` (a function's
/// body) before token `at`: JS/TS `const|let|var name`, Python `name = …` (also `for name
/// in`, `… as name`), Go `name := …` (also `a, name :=`) and `var name`. Such a name is the
/// function's own value at run time, never a constant defined elsewhere.
pub(crate) fn declared_local(
    src: &[u8],
    toks: &[Token],
    lang: Lang,
    body: (usize, usize),
    at: usize,
    name: &str,
) -> bool {
    let family = lang.family();
    if !matches!(family, Family::Js | Family::Python | Family::Go) {
        return false;
    }
    let is = |k: usize, s: &str| toks.get(k).is_some_and(|t| t.is(src, s));
    let kw = |k: usize, words: &[&str]| {
        toks.get(k).is_some_and(|t| {
            t.kind == Tk::Ident && words.iter().any(|w| t.text(src) == w.as_bytes())
        })
    };
    // Python: bracket depth, so a keyword argument on its own line is not an assignment.
    let mut depth = 0usize;
    for k in body.0..at.min(body.1).min(toks.len()) {
        let t = &toks[k];
        if t.kind == Tk::Punct {
            match t.text(src) {
                b"(" | b"[" | b"{" => depth += 1,
                b")" | b"]" | b"}" => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if t.kind != Tk::Ident || t.text(src) != name.as_bytes() {
            continue;
        }
        let prev = k.checked_sub(1);
        let declared = match family {
            Family::Js => prev.is_some_and(|p| kw(p, &["const", "let", "var"])),
            Family::Python => {
                let line_start = prev.is_none_or(|p| toks[p].line != t.line);
                (depth == 0 && line_start && is(k + 1, "="))
                    || prev.is_some_and(|p| kw(p, &["for", "as"]))
            }
            _ => {
                // `a, b := …`: the names before `:=` on the statement's line.
                let mut j = k + 1;
                while is(j, ",") && toks.get(j + 1).is_some_and(|n| n.kind == Tk::Ident) {
                    j += 2;
                }
                is(j, ":=") || prev.is_some_and(|p| kw(p, &["var"]))
            }
        };
        if declared {
            return true;
        }
    }
    false
}

/// The end of the expression starting at `s` (exclusive): a depth-0 `;` or `,`, a closing
/// bracket, or a line break where the expression cannot go on (the next line does not
/// start with an operator and this one does not end with one). At most 200 tokens, before
/// `limit`.
fn expr_end(cx: &Ctx, s: usize, limit: usize) -> Option<usize> {
    let (src, toks) = (cx.src, cx.toks);
    let mut depth = 0usize;
    let continues = |t: &Token| {
        t.kind == Tk::Punct
            && matches!(
                t.text(src),
                b"?" | b":" | b"." | b"?." | b"??" | b"||" | b"&&" | b"+" | b"-" | b"(" | b"["
            )
    };
    let mut k = s;
    while k <= limit.min(s + 200) && k < toks.len() {
        let t = &toks[k];
        if k > s && depth == 0 && t.line != toks[k - 1].line {
            let py_words = cx.lang == Lang::Python && (t.is(src, "if") || t.is(src, "else"));
            if !continues(t) && !continues(&toks[k - 1]) && !py_words {
                return Some(k);
            }
        }
        if t.kind == Tk::Punct {
            match t.text(src) {
                b"(" | b"[" | b"{" => depth += 1,
                b")" | b"]" | b"}" => {
                    if depth == 0 {
                        return Some(k);
                    }
                    depth -= 1;
                }
                b";" | b"," if depth == 0 => return Some(k),
                _ if depth == 0 && t.ends_tag(src) => return Some(k),
                _ => {}
            }
        }
        if k == limit {
            break;
        }
        k += 1;
    }
    None
}

/// One call found in a file.
#[derive(Clone, Debug)]
pub(crate) struct RawRef {
    /// Index of the token the reference points at (the call or component name).
    pub tok: usize,
    pub kind: Kind,
    pub sdk: String,
    pub side: SideHint,
    pub key: KeyExpr,
    /// Matched an inferred wrapper's row.
    pub inferred: bool,
    /// The inferred wrapper whose row it matched.
    pub wrapper: Option<crate::infer::WrapperId>,
    /// The keys of a capture's properties argument, for the SDK shapes whose properties
    /// are read (see `props`).
    pub props: Option<RawProps>,
}

/// Keywords that may directly precede a bare call; any other identifier before a bare
/// name means a declaration (`function capture(`, `def capture(`, `void capture(`).
const CALL_PREFIX: &[&str] = &[
    "return", "await", "yield", "new", "typeof", "void", "in", "of", "case", "else", "do", "not",
    "and", "or", "if", "elif", "while", "unless", "until", "then", "throw", "echo", "print",
    "assert", "go", "defer", "try", "when", "is", "as", "raise", "puts", "export", "default",
    "let", "const", "var",
];

struct Ctx<'a> {
    src: &'a [u8],
    toks: &'a [Token],
    lang: Lang,
    clients: &'a [String],
    snapshots: Vec<String>,
    /// Keep `$`-prefixed property keys (PostHog's own).
    keep_dollar: bool,
    /// What bare call names are bound to in this file.
    bindings: crate::bindings::Bindings,
}

/// Finds every recognised call in a tokenized file.
pub(crate) fn find_calls(
    src: &[u8],
    toks: &[Token],
    lang: Lang,
    table: &Table,
    clients: &[String],
    visible: &dyn Fn(&Pattern, &str, Option<&str>) -> bool,
) -> Vec<RawRef> {
    let mut cx = Ctx {
        src,
        toks,
        lang,
        clients,
        snapshots: Vec::new(),
        keep_dollar: table.keep_dollar_properties,
        bindings: crate::bindings::of_file(src, toks, lang),
    };
    cx.snapshots = snapshot_vars(&cx);
    // A PHP view's inline `<script>` blocks are JavaScript: their calls are matched as such.
    let js_cx = (lang.family() != crate::lang::Family::Js
        && toks.iter().any(|t| t.flags & crate::lexer::BROWSER != 0))
    .then(|| Ctx {
        lang: Lang::Ts,
        snapshots: cx.snapshots.clone(),
        bindings: cx.bindings.clone(),
        ..cx
    });
    let mut out = Vec::new();
    // `const { capture: c } = usePostHog()`: a bare `c(…)` is the client's `capture`.
    let renamed: Vec<&crate::bindings::ClientMethod> = cx
        .bindings
        .client_methods
        .iter()
        .filter(|m| m.local != m.method)
        .collect();
    for (i, tok) in toks.iter().enumerate() {
        if tok.kind != Tk::Ident {
            continue;
        }
        let method = renamed
            .iter()
            .find(|m| m.binds(src, toks, i))
            .filter(|_| !receiver_chain(&cx, i).1);
        if method.is_none() && !table.may_be_call(tok.text(src)) {
            continue;
        }
        let browser = tok.flags & crate::lexer::BROWSER != 0;
        let cx = match &js_cx {
            Some(js) if browser => js,
            _ => &cx,
        };
        let family = cx.lang.family();
        let name = match method {
            Some(m) => m.method.as_str(),
            None => match std::str::from_utf8(tok.text(src)) {
                Ok(name) => name,
                Err(_) => continue,
            },
        };
        let Some(patterns) = table.by_name.get(name) else {
            continue;
        };
        for p in patterns {
            if !p.families.is_empty() && !p.families.contains(&family) {
                continue;
            }
            // A renamed client method is the client's call, never a wrapper of that name.
            if method.is_some() && !matches!(p.recv, Recv::Client) {
                continue;
            }
            if p.inferred || p.only_in.is_some() {
                let (chain, _) = receiver_chain(cx, i);
                // Ruby `Tracker.new.track(…)`: the object is a `Tracker`.
                let receiver = match chain.as_slice() {
                    [.., class, new]
                        if new == "new" && matches!(cx.lang, Lang::Ruby | Lang::Erb) =>
                    {
                        Some(class.as_str())
                    }
                    _ => chain.last().map(String::as_str),
                };
                if !visible(p, name, receiver) {
                    continue;
                }
            }
            if let Some(needle) = p.file_requires {
                if memchr::memmem::find(src, needle.as_bytes()).is_none() {
                    continue;
                }
            }
            if let Some(mut r) = match_call(cx, i, name, p) {
                // Inline `<script>` code of a page runs in the browser.
                if browser && r.side == SideHint::Ambiguous {
                    r.side = SideHint::Frontend;
                }
                out.push(r);
                break;
            }
        }
    }
    out
}

/// An inferred wrapper's literal parameter default (`function track(event = 'x')`,
/// `({ eventName = 'x' })`) is the key of a call that leaves the argument (or the object
/// field, or the JSX attribute) out, unless the call spreads something into its arguments
/// (`...rest`, `{...props}`, `*args`, `**kwargs`) that could set it.
fn with_default(cx: &Ctx, p: &Pattern, key: KeyExpr, from: usize, to: usize) -> KeyExpr {
    let (Some(default), KeyExpr::Dynamic(reason)) = (&p.default, &key) else {
        return key;
    };
    let missing = reason == "missing argument"
        || (reason.starts_with("no `")
            && (reason.ends_with("` attribute")
                || reason.ends_with("` argument")
                || reason.ends_with("` in the object argument")));
    let spread = cx.toks[from.min(cx.toks.len())..to.min(cx.toks.len())]
        .iter()
        .any(|t| t.kind == Tk::Punct && matches!(t.text(cx.src), b"..." | b"*" | b"**"));
    if missing && !spread {
        KeyExpr::Literal(default.clone())
    } else {
        key
    }
}

/// The end (exclusive) of the JSX opening tag whose attributes start at `from`: its `>` or
/// `/`, past `{…}` expressions.
fn jsx_tag_end(cx: &Ctx, from: usize) -> usize {
    let (src, toks) = (cx.src, cx.toks);
    let mut j = from;
    while j < toks.len() {
        let t = &toks[j];
        if t.is(src, ">") || t.is(src, "/") {
            return j;
        }
        if t.is(src, "{") {
            match match_fwd(toks, src, j) {
                Some(c) => j = c,
                None => return toks.len(),
            }
        }
        j += 1;
    }
    toks.len()
}

/// An argument: an optional name (keyword argument / object key) and a token range.
#[derive(Clone, Copy, Debug)]
struct Arg {
    name: Option<usize>,
    start: usize,
    end: usize,
}

fn match_call(cx: &Ctx, i: usize, name: &str, p: &Pattern) -> Option<RawRef> {
    let toks = cx.toks;
    if let KeyAt::JsxAttr(attr) = &p.key {
        if i == 0 || !toks[i - 1].is(cx.src, "<") {
            return None;
        }
        let key = jsx_attr(cx, i + 1, attr)?;
        let key = with_default(cx, p, key, i + 1, jsx_tag_end(cx, i + 1));
        return Some(RawRef {
            tok: i,
            kind: p.kind,
            sdk: p.sdk.clone(),
            side: p.side,
            key,
            inferred: p.inferred,
            wrapper: wrapper_id(cx, i, p),
            props: None,
        });
    }
    let objc_send = cx.lang == Lang::ObjC && toks.get(i + 1).is_some_and(|t| t.is(cx.src, ":"));
    let (chain, has_receiver) = if objc_send {
        objc_receiver(cx, i)
    } else {
        receiver_chain(cx, i)
    };
    let ok = match &p.recv {
        Recv::Client => {
            let b = &cx.bindings;
            if has_receiver {
                chain.iter().any(|s| is_client(s, cx.clients))
            } else {
                b.posthog.iter().any(|n| toks[i].is(cx.src, n))
                    || b.client_methods
                        .iter()
                        .any(|m| m.method == name && m.binds(cx.src, toks, i))
            }
        }
        // An SDK hook's name bound to another module, or declared in this file, is not
        // PostHog's hook (configured wrappers are whatever the team says they are).
        Recv::Any => {
            has_receiver
                || p.sdk == "wrapper"
                || !cx.bindings.foreign.iter().any(|n| toks[i].is(cx.src, n))
        }
        Recv::Snapshot => {
            has_receiver
                && chain.last().is_some_and(|s| {
                    matches!(
                        s.as_str(),
                        "evaluateFlags" | "evaluate_flags" | "EvaluateFlags"
                    ) || cx.snapshots.contains(s)
                })
        }
        Recv::Named(n) => has_receiver && chain.last() == Some(n),
        Recv::Inferred => !chain.iter().any(|s| {
            crate::patterns::OTHER_LIBRARIES
                .iter()
                .any(|o| o.eq_ignore_ascii_case(s.trim_start_matches('_')))
        }),
    };
    if !ok {
        return None;
    }
    if !has_receiver && is_declaration(cx, i) {
        return None;
    }
    let (args, close) = call_args(cx, i, &p.key)?;
    if !has_receiver
        && matches!(p.recv, Recv::Any | Recv::Inferred)
        && looks_like_signature(cx, &args, close)
    {
        return None;
    }
    // `*args`, `**kwargs` and `...rest` spread unknown arguments: they are not positional.
    let positional: Vec<Arg> = args
        .iter()
        .copied()
        .filter(|a| {
            a.name.is_none()
                && !(a.start < a.end
                    && cx.toks[a.start].kind == Tk::Punct
                    && matches!(cx.toks[a.start].text(cx.src), b"**" | b"*" | b"..."))
        })
        .collect();
    let mut sdk = p.sdk.clone();
    let mut side = p.side;
    // Where this shape carries its properties (built-in capture shapes only).
    let mut props_at = PropsAt::None;
    let builtin_event = p.kind == Kind::Event && !p.inferred && p.sdk != "wrapper";
    let key = match &p.key {
        KeyAt::Arg(n) => {
            if cx.lang.family() == crate::lang::Family::Js {
                // `captureTyped('e', props)`.
                props_at = PropsAt::Pos(n + 1);
            }
            positional_key(cx, &positional, *n)
        }
        KeyAt::Key(k) => {
            // posthog-node `captureImmediate({ event, properties })`, Ruby and PHP.
            props_at = PropsAt::Member("properties");
            keyed(cx, &args, k)
        }
        KeyAt::NamedOr(k, n) => match named(cx, &args, k.as_str()) {
            Some(a) => key_expr(cx, a.start, a.end),
            None => positional_key(cx, &positional, *n),
        },
        KeyAt::StructField(f) => match named(cx, &args, f) {
            Some(a) => {
                props_at = PropsAt::Named("Properties");
                key_expr(cx, a.start, a.end)
            }
            // A literal without the field (e.g. the key set later) is not a reference.
            None => return None,
        },
        KeyAt::JsCapture => {
            let bound = positional
                .first()
                .filter(|a| a.end == a.start + 1 && toks[a.start].kind == Tk::Ident)
                .and_then(|a| bound_object(cx, a.start));
            if positional.first().is_some_and(|a| starts_object(cx, a)) {
                sdk = "posthog-node".into();
                side = SideHint::Backend;
                props_at = PropsAt::Member("properties");
                keyed(cx, &args, "event")
            } else if let Some(open) = bound {
                // `const data = { event, distinctId }; posthog.capture(data)`.
                sdk = "posthog-node".into();
                side = SideHint::Backend;
                props_at = PropsAt::ObjectMember(open, "properties");
                object_member(cx, open, "event")
                    .unwrap_or_else(|| KeyExpr::Dynamic("no `event` in the object argument".into()))
            } else {
                props_at = PropsAt::Pos(1);
                positional_key(cx, &positional, 0)
            }
        }
        KeyAt::JsFlag => {
            if positional.get(1).is_some_and(|a| !starts_object(cx, a)) {
                sdk = "posthog-node".into();
                side = SideHint::Backend;
            }
            positional_key(cx, &positional, 0)
        }
        KeyAt::PyCapture => match named(cx, &args, "event") {
            Some(a) => {
                props_at = PropsAt::Named("properties");
                key_expr(cx, a.start, a.end)
            }
            None if positional.len() >= 2 => {
                // Before v6: `capture(distinct_id, event, properties=None, …)`.
                props_at = PropsAt::NamedOrPos("properties", 2);
                positional_key(cx, &positional, 1)
            }
            None => {
                // v6: `capture(event, **kwargs)`; properties only as a keyword.
                props_at = PropsAt::Named("properties");
                positional_key(cx, &positional, 0)
            }
        },
        KeyAt::JvmCapture | KeyAt::JvmFlag => {
            if let Some(a) = named(
                cx,
                &args,
                if p.key == KeyAt::JvmCapture {
                    "event"
                } else {
                    "key"
                },
            ) {
                key_expr(cx, a.start, a.end)
            } else if jvm_server_shape(cx, &chain, &positional, p.key == KeyAt::JvmFlag) {
                sdk = "posthog-java".into();
                side = SideHint::Backend;
                positional_key(cx, &positional, 1)
            } else {
                positional_key(cx, &positional, 0)
            }
        }
        KeyAt::JsxAttr(_) => return None,
        KeyAt::List(k) => {
            // Without the list, all flags are evaluated: no key is referenced.
            let (ls, le) = match named(cx, &args, k.as_str()) {
                Some(a) => (a.start, a.end),
                None => args
                    .iter()
                    .filter(|a| a.name.is_none() && toks[a.start].is(cx.src, "{"))
                    .find_map(|a| member_range(cx, a.start, k))?,
            };
            if ls >= le {
                return None;
            }
            if !(toks[ls].is(cx.src, "[") && toks[le - 1].is(cx.src, "]")) {
                key_expr(cx, ls, le)
            } else {
                KeyExpr::OneOf(
                    split_args(cx, ls + 1, le - 1)
                        .iter()
                        .map(|el| key_expr(cx, el.start, el.end))
                        .collect(),
                )
            }
        }
    };
    let key = with_default(cx, p, key, i + 1, close);
    let props = match &p.props {
        _ if builtin_event => props::find(cx, props_at, &args, &positional),
        Some(through) if p.kind == Kind::Event => {
            props::at_wrapper_call(cx, through, &args, &positional, toks[i].line)
        }
        _ => None,
    };
    Some(RawRef {
        tok: i,
        kind: p.kind,
        sdk,
        side,
        key,
        inferred: p.inferred,
        wrapper: wrapper_id(cx, i, p),
        props,
    })
}

/// The [`WrapperId`](crate::infer::WrapperId) of an inferred wrapper's row matched by a
/// call at token `i` (the name the table has the row under).
fn wrapper_id(cx: &Ctx, i: usize, p: &Pattern) -> Option<crate::infer::WrapperId> {
    p.inferred.then(|| {
        (
            String::from_utf8_lossy(cx.toks[i].text(cx.src)).into_owned(),
            p.defined_in.clone().unwrap_or_default(),
            p.only_in.clone(),
        )
    })
}

fn is_client(segment: &str, clients: &[String]) -> bool {
    let s = segment.trim_start_matches('$').to_ascii_lowercase();
    s.contains("posthog") || clients.contains(&s)
}

fn is_member_punct(t: &Token, src: &[u8]) -> bool {
    t.kind == Tk::Punct && matches!(t.text(src), b"." | b"?." | b"->" | b"::")
}

/// The receiver of the call at `i` as name segments (a call segment `Posthog()` counts as
/// `Posthog`), and whether there is a receiver at all.
fn receiver_chain(cx: &Ctx, i: usize) -> (Vec<String>, bool) {
    let (src, toks) = (cx.src, cx.toks);
    let mut segs = Vec::new();
    let mut j = i;
    let has = j > 0 && is_member_punct(&toks[j - 1], src);
    while j >= 2 && is_member_punct(&toks[j - 1], src) {
        let mut k = j - 2;
        if toks[k].is(src, "!") && k > 0 {
            k -= 1;
        }
        if toks[k].is(src, ")") || toks[k].is(src, "]") {
            let Some(open) = match_back(toks, src, k) else {
                break;
            };
            if toks[k].is(src, "]") {
                // `window['posthog']`: an index with a literal is a segment.
                if open + 2 == k && toks[open + 1].kind == Tk::Str {
                    segs.push(str_value(src, &toks[open + 1]));
                }
                j = open;
                continue;
            }
            if open > 0 && toks[open - 1].kind == Tk::Ident {
                segs.push(text(src, &toks[open - 1]));
                j = open - 1;
                continue;
            }
            break;
        }
        if toks[k].kind == Tk::Ident {
            segs.push(text(src, &toks[k]));
            j = k;
            continue;
        }
        break;
    }
    segs.reverse();
    (segs, has)
}

/// The receiver of an Objective-C message send: the names between the enclosing `[` and
/// the selector (`[[PostHogSDK shared] capture:…]` gives `PostHogSDK`, `shared`).
fn objc_receiver(cx: &Ctx, i: usize) -> (Vec<String>, bool) {
    let (src, toks) = (cx.src, cx.toks);
    let mut segs = Vec::new();
    let mut depth = 0usize;
    let mut j = i;
    while j > 0 {
        j -= 1;
        let t = &toks[j];
        if t.is(src, "]") {
            depth += 1;
        } else if t.is(src, "[") {
            if depth == 0 {
                break;
            }
            depth -= 1;
        } else if t.kind == Tk::Ident {
            segs.push(text(src, t));
        } else if depth == 0 && (t.is(src, ";") || t.is(src, "{")) {
            return (Vec::new(), false);
        }
    }
    segs.reverse();
    let has = !segs.is_empty();
    (segs, has)
}

fn text(src: &[u8], t: &Token) -> String {
    String::from_utf8_lossy(t.text(src))
        .trim_start_matches('$')
        .to_string()
}

/// The index of the opener matching the closer at `k`.
fn match_back(toks: &[Token], src: &[u8], k: usize) -> Option<usize> {
    let (open, close) = match toks[k].text(src) {
        b")" => ("(", ")"),
        b"]" => ("[", "]"),
        b"}" => ("{", "}"),
        _ => return None,
    };
    let mut depth = 0usize;
    let mut j = k;
    loop {
        if toks[j].is(src, close) {
            depth += 1;
        } else if toks[j].is(src, open) {
            depth -= 1;
            if depth == 0 {
                return Some(j);
            }
        }
        if j == 0 {
            return None;
        }
        j -= 1;
    }
}

/// The index of the closer matching the opener at `k`.
fn match_fwd(toks: &[Token], src: &[u8], k: usize) -> Option<usize> {
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

fn is_declaration(cx: &Ctx, i: usize) -> bool {
    if i == 0 {
        return false;
    }
    let prev = &cx.toks[i - 1];
    // Go method `func (r *T) Name(`.
    if cx.lang == Lang::Go && prev.is(cx.src, ")") {
        if let Some(open) = match_back(cx.toks, cx.src, i - 1) {
            return open > 0 && cx.toks[open - 1].is(cx.src, "func");
        }
    }
    if prev.kind == Tk::Ident && prev.line == cx.toks[i].line {
        let t = prev.text(cx.src);
        // `void` is JavaScript's operator (`void f()`), but a return type elsewhere (a Java,
        // C# or Dart method, also an interface's or abstract one without a body).
        if t == b"void" && cx.lang.family() != crate::lang::Family::Js {
            return true;
        }
        return !CALL_PREFIX.iter().any(|k| k.as_bytes() == t);
    }
    false
}

/// A bare call followed by a body, or with `name: Type` parameters, is a declaration
/// (`capture(event: string) {`, an interface member `useFlag(key: string): boolean;`).
fn looks_like_signature(cx: &Ctx, args: &[Arg], close: usize) -> bool {
    let (src, toks) = (cx.src, cx.toks);
    if cx.lang == Lang::Go {
        // An interface method or func type: `Name(event string, props map[string]any)`;
        // two names side by side are never an expression.
        return args.iter().any(|a| {
            a.end >= a.start + 2
                && toks[a.start].kind == Tk::Ident
                && (toks[a.start + 1].kind == Tk::Ident
                    || toks[a.start + 1].is(src, "...")
                    || (toks[a.start + 1].is(src, "[")
                        && toks.get(a.start + 2).is_some_and(|t| t.is(src, "]"))))
        });
    }
    if matches!(
        cx.lang,
        Lang::Python | Lang::Ruby | Lang::Erb | Lang::Elixir
    ) {
        return false;
    }
    if toks
        .get(close + 1)
        .is_some_and(|t| t.is(src, "{") && t.line == toks[close].line)
    {
        return true;
    }
    if cx.lang.family() == crate::lang::Family::Js {
        return args.iter().any(|a| {
            let mut depth = 0usize;
            let (mut colon, mut question) = (false, false);
            for t in &toks[a.start..a.end] {
                match t.text(src) {
                    b"(" | b"[" | b"{" if t.kind == Tk::Punct => depth += 1,
                    b")" | b"]" | b"}" if t.kind == Tk::Punct => depth = depth.saturating_sub(1),
                    b":" if t.kind == Tk::Punct && depth == 0 => colon = true,
                    b"?" if t.kind == Tk::Punct && depth == 0 => question = true,
                    _ => {}
                }
            }
            colon && !question
        });
    }
    false
}

/// Parses the arguments of the call at `i`; returns them and the index of the closer.
fn call_args(cx: &Ctx, i: usize, key: &KeyAt) -> Option<(Vec<Arg>, usize)> {
    let (src, toks) = (cx.src, cx.toks);
    let mut o = i + 1;
    let next = toks.get(o)?;
    if matches!(key, KeyAt::StructField(_)) {
        if !next.is(src, "{") {
            return None;
        }
        let close = match_fwd(toks, src, o)?;
        return Some((split_args(cx, o + 1, close), close));
    }
    // Objective-C message send: `[[PostHogSDK shared] capture:@"e" properties:…]`.
    if cx.lang == Lang::ObjC && next.is(src, ":") {
        let start = o + 1;
        let mut end = start;
        let mut depth = 0usize;
        while end < toks.len() {
            let t = &toks[end];
            if t.is(src, "[") || t.is(src, "(") || t.is(src, "{") {
                depth += 1;
            } else if t.is(src, "]") || t.is(src, ")") || t.is(src, "}") {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            } else if depth == 0
                && t.kind == Tk::Ident
                && toks.get(end + 1).is_some_and(|n| n.is(src, ":"))
                && end > start
            {
                break;
            }
            end += 1;
        }
        return Some((
            vec![Arg {
                name: None,
                start,
                end,
            }],
            end,
        ));
    }
    // An optional call `posthog?.capture?.("e")`.
    if next.is(src, "?.") && toks.get(o + 1).is_some_and(|t| t.is(src, "(")) {
        o += 1;
    }
    // Generic arguments before the parenthesis: `captureTyped<Events>(…)`, `f::<T>(…)`.
    if next.is(src, "::") && toks.get(o + 1).is_some_and(|t| t.is(src, "<")) {
        o += 1;
    }
    if toks.get(o).is_some_and(|t| t.is(src, "<")) {
        let mut depth = 0usize;
        let mut j = o;
        while j < toks.len() && j < o + 64 {
            if toks[j].is(src, "<") {
                depth += 1;
            } else if toks[j].is(src, ">") {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            j += 1;
        }
        o = j + 1;
    }
    let open = toks.get(o)?;
    if open.is(src, "(") {
        let close = match_fwd(toks, src, o)?;
        return Some((split_args(cx, o + 1, close), close));
    }
    // Ruby/Elixir without parentheses: arguments run to the end of the line.
    if cx.lang.parenless_calls() && open.line == toks[i].line && parenless_start(open, src) {
        let mut end = o;
        let mut depth = 0usize;
        while end < toks.len() {
            let t = &toks[end];
            if end > o && depth == 0 && t.line != toks[end - 1].line && !toks[end - 1].is(src, ",")
            {
                break;
            }
            if depth == 0 && t.ends_tag(src) {
                break;
            }
            if t.is(src, "(") || t.is(src, "[") || t.is(src, "{") {
                depth += 1;
            } else if t.is(src, ")") || t.is(src, "]") || t.is(src, "}") {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            } else if depth == 0 && t.kind == Tk::Ident && t.text(src) == b"do" {
                break;
            }
            end += 1;
        }
        return Some((split_args(cx, o, end), end.saturating_sub(1)));
    }
    None
}

fn parenless_start(t: &Token, src: &[u8]) -> bool {
    match t.kind {
        Tk::Str | Tk::Ident | Tk::Num => true,
        Tk::Punct => matches!(t.text(src), b"{" | b"[" | b"%" | b"@" | b"::"),
    }
}

/// Splits tokens `from..to` at top-level commas; detects `name:`/`name=`/`name =>` heads.
fn split_args(cx: &Ctx, from: usize, to: usize) -> Vec<Arg> {
    let (src, toks) = (cx.src, cx.toks);
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = from;
    let mut j = from;
    while j <= to {
        let at_end = j == to;
        if !at_end {
            let t = &toks[j];
            if t.kind == Tk::Punct {
                match t.text(src) {
                    b"(" | b"[" | b"{" => depth += 1,
                    b")" | b"]" | b"}" => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
        }
        if at_end || (depth == 0 && toks[j].is(src, ",")) {
            if start < j {
                out.push(arg_head(cx, start, j));
            }
            start = j + 1;
        }
        j += 1;
    }
    out
}

fn arg_head(cx: &Ctx, start: usize, end: usize) -> Arg {
    let (src, toks) = (cx.src, cx.toks);
    if end - start >= 2 {
        let (n, sep) = (&toks[start], &toks[start + 1]);
        let named_ident = n.kind == Tk::Ident
            && match sep.text(src) {
                b"=" => matches!(cx.lang, Lang::Python | Lang::Kotlin),
                b":" => cx.lang.family() != crate::lang::Family::Js,
                b"=>" => true,
                _ => false,
            };
        let named_str = n.kind == Tk::Str && matches!(sep.text(src), b"=>" | b":");
        if (named_ident || named_str) && sep.kind == Tk::Punct {
            return Arg {
                name: Some(start),
                start: start + 2,
                end,
            };
        }
    }
    Arg {
        name: None,
        start,
        end,
    }
}

fn arg_name(cx: &Ctx, a: &Arg) -> Option<String> {
    let t = &cx.toks[a.name?];
    Some(match t.kind {
        Tk::Str => str_value(cx.src, t),
        _ => text(cx.src, t).trim_start_matches([':', '$']).to_string(),
    })
}

fn named<'a>(cx: &Ctx, args: &'a [Arg], key: &str) -> Option<&'a Arg> {
    args.iter()
        .find(|a| arg_name(cx, a).as_deref() == Some(key))
}

fn positional_key(cx: &Ctx, positional: &[Arg], n: usize) -> KeyExpr {
    match positional.get(n) {
        Some(a) => key_expr(cx, a.start, a.end),
        None => KeyExpr::Dynamic("missing argument".into()),
    }
}

fn starts_object(cx: &Ctx, a: &Arg) -> bool {
    let t = &cx.toks[a.start];
    go_literal_brace(cx, a).is_some()
        || t.is(cx.src, "{")
        || t.is(cx.src, "[")
        || (t.is(cx.src, "%") && cx.toks.get(a.start + 1).is_some_and(|n| n.is(cx.src, "{")))
        || (t.is(cx.src, "array") && cx.toks.get(a.start + 1).is_some_and(|n| n.is(cx.src, "(")))
}

/// A Go composite literal argument (`Event{…}`, `&pkg.Event{…}`): its `{`.
fn go_literal_brace(cx: &Ctx, a: &Arg) -> Option<usize> {
    if cx.lang != Lang::Go {
        return None;
    }
    let (src, toks) = (cx.src, cx.toks);
    let mut j = a.start;
    if toks[j].is(src, "&") {
        j += 1;
    }
    while j + 1 < a.end && toks[j].kind == Tk::Ident && toks[j + 1].is(src, ".") {
        j += 2;
    }
    (j + 1 < a.end && toks[j].kind == Tk::Ident && toks[j + 1].is(src, "{")).then_some(j + 1)
}

/// The value of `key` in a keyword argument or in the first object-like argument that has
/// it (`{ event: … }`, `['event' => …]`, `%{event: …}`, `array('event' => …)`), including
/// the JS shorthand `{ event }`.
fn keyed(cx: &Ctx, args: &[Arg], key: &str) -> KeyExpr {
    if let Some(a) = named(cx, args, key) {
        return key_expr(cx, a.start, a.end);
    }
    let (src, toks) = (cx.src, cx.toks);
    for a in args
        .iter()
        .filter(|a| a.name.is_none() && starts_object(cx, a))
    {
        let open = if let Some(b) = go_literal_brace(cx, a) {
            b
        } else if toks[a.start].is(src, "%") || toks[a.start].is(src, "array") {
            a.start + 1
        } else {
            a.start
        };
        if match_fwd(toks, src, open).is_none() {
            continue;
        }
        return object_member(cx, open, key)
            .unwrap_or_else(|| KeyExpr::Dynamic(format!("no `{key}` in the object argument")));
    }
    KeyExpr::Dynamic(format!("no `{key}` argument"))
}

/// The value of member `key` of the object literal opening at `open` (`{ event: … }`, the
/// shorthand `{ event }`).
fn object_member(cx: &Ctx, open: usize, key: &str) -> Option<KeyExpr> {
    let (src, toks) = (cx.src, cx.toks);
    let close = match_fwd(toks, src, open)?;
    for m in &split_members(cx, open + 1, close) {
        if m.name.is_some() && arg_name(cx, m).as_deref() == Some(key) {
            return Some(key_expr(cx, m.start, m.end));
        }
        if m.name.is_none()
            && m.end == m.start + 1
            && toks[m.start].kind == Tk::Ident
            && toks[m.start].text(src) == key.as_bytes()
        {
            return Some(KeyExpr::Ident(key.to_string()));
        }
    }
    None
}

/// The token range of member `key`'s value in the object literal opening at `open`.
fn member_range(cx: &Ctx, open: usize, key: &str) -> Option<(usize, usize)> {
    let close = match_fwd(cx.toks, cx.src, open)?;
    split_members(cx, open + 1, close)
        .iter()
        .find(|m| m.name.is_some() && arg_name(cx, m).as_deref() == Some(key) && m.start < m.end)
        .map(|m| (m.start, m.end))
}

/// For the name at `at`, the object literal it was last assigned before (`const x: T = {`
/// on an earlier line of the file, nearest first).
fn bound_object(cx: &Ctx, at: usize) -> Option<usize> {
    let (src, toks) = (cx.src, cx.toks);
    let name = toks[at].text(src);
    let mut k = at;
    while k > 0 && at - k < 4000 {
        k -= 1;
        let t = &toks[k];
        if t.kind != Tk::Ident || t.text(src) != name {
            continue;
        }
        if (k > 0 && is_member_punct(&toks[k - 1], src))
            || !toks
                .get(k + 1)
                .is_some_and(|n| n.is(src, "=") || n.is(src, ":"))
        {
            continue;
        }
        let mut depth = 0usize;
        let mut j = k + 1;
        while j < at && j < k + 60 {
            let tj = &toks[j];
            if tj.line != t.line || tj.is(src, ";") {
                break;
            }
            if tj.kind == Tk::Punct {
                match tj.text(src) {
                    b"(" | b"[" | b"<" => depth += 1,
                    b")" | b"]" | b">" => depth = depth.saturating_sub(1),
                    b"=" if depth == 0 => {
                        return toks.get(j + 1).filter(|n| n.is(src, "{")).map(|_| j + 1);
                    }
                    b"," | b"{" | b"}" if depth == 0 => break,
                    _ => {}
                }
            }
            j += 1;
        }
    }
    None
}

/// Like [`split_args`] but object members always use `key:` / `'key' =>` / `"key":`.
fn split_members(cx: &Ctx, from: usize, to: usize) -> Vec<Arg> {
    let (src, toks) = (cx.src, cx.toks);
    split_args(cx, from, to)
        .into_iter()
        .map(|a| {
            if a.name.is_none() && a.end - a.start >= 2 {
                let (n, sep) = (&toks[a.start], &toks[a.start + 1]);
                if matches!(n.kind, Tk::Ident | Tk::Str)
                    && sep.kind == Tk::Punct
                    && matches!(sep.text(src), b":" | b"=>")
                {
                    return Arg {
                        name: Some(a.start),
                        start: a.start + 2,
                        end: a.end,
                    };
                }
            }
            a
        })
        .collect()
}

fn jsx_attr(cx: &Ctx, from: usize, attr: &str) -> Option<KeyExpr> {
    let (src, toks) = (cx.src, cx.toks);
    let mut j = from;
    while j < toks.len() {
        let t = &toks[j];
        if t.is(src, ">") || t.is(src, "/") {
            return Some(KeyExpr::Dynamic(format!("no `{attr}` attribute")));
        }
        if t.is(src, "{") {
            j = match_fwd(toks, src, j)? + 1;
            continue;
        }
        if t.kind == Tk::Ident
            && t.text(src) == attr.as_bytes()
            && toks.get(j + 1).is_some_and(|e| e.is(src, "="))
        {
            let v = toks.get(j + 2)?;
            if v.is(src, "{") {
                let close = match_fwd(toks, src, j + 2)?;
                return Some(key_expr(cx, j + 3, close));
            }
            return Some(key_expr(cx, j + 2, j + 3));
        }
        j += 1;
    }
    None
}

/// Java server SDK takes the distinct id first: `capture(distinctId, "e")`,
/// `isFeatureEnabled(distinctId, "k", false)`. Android takes the key first.
fn jvm_server_shape(cx: &Ctx, chain: &[String], positional: &[Arg], flag: bool) -> bool {
    if chain.last().is_some_and(|c| c == "PostHog") || positional.len() < 2 {
        return false;
    }
    let (a0, a1) = (&positional[0], &positional[1]);
    let single = |a: &Arg, kind: Tk| a.end == a.start + 1 && cx.toks[a.start].kind == kind;
    if single(a0, Tk::Str) {
        return false;
    }
    if single(a1, Tk::Str) {
        return true;
    }
    let first = String::from_utf8_lossy(
        &cx.src[cx.toks[a0.start].start as usize..cx.toks[a0.end - 1].end as usize],
    )
    .to_ascii_lowercase();
    let second_is_name = matches!(key_expr(cx, a1.start, a1.end), KeyExpr::Ident(ref s) if s != "true" && s != "false");
    let id_like = first.contains("id") || first.contains("user");
    second_is_name && id_like && (flag || !first.is_empty())
}

/// Classifies the tokens `start..end` as a literal, a name or something dynamic.
fn key_expr(cx: &Ctx, start: usize, end: usize) -> KeyExpr {
    let (src, toks) = (cx.src, cx.toks);
    let (mut s, mut e) = (start, end);
    if s < e && toks[s].is(src, "@") && cx.lang == Lang::ObjC {
        s += 1;
    }
    loop {
        let n = e.saturating_sub(s);
        let name_at = |k: usize| {
            if toks[k].kind == Tk::Ident {
                toks[k].text(src)
            } else {
                b""
            }
        };
        if n >= 3 && toks[e - 2].is(src, "as") && toks[e - 1].is(src, "const") {
            e -= 2;
        } else if n >= 2 && toks[e - 1].is(src, "!") {
            e -= 1;
        } else if n >= 4
            && toks[e - 1].is(src, ")")
            && toks[e - 2].is(src, "(")
            && matches!(
                name_at(e - 3),
                b"to_string" | b"into" | b"to_owned" | b"toString"
            )
            && toks[e - 4].is(src, ".")
        {
            e -= 4;
        } else if n >= 3
            && matches!(name_at(e - 1), b"value" | b"rawValue")
            && toks[e - 2].is(src, ".")
        {
            e -= 2;
        } else if n == 6
            && name_at(s) == b"String"
            && toks[s + 1].is(src, "::")
            && name_at(s + 2) == b"from"
        {
            s += 4;
            e -= 1;
        } else {
            break;
        }
    }
    if s >= e {
        return KeyExpr::Dynamic("missing argument".into());
    }
    // The expression as written, on one line and at most 80 characters.
    let written = || {
        let raw = String::from_utf8_lossy(&src[toks[s].start as usize..toks[e - 1].end as usize])
            .into_owned();
        let flat: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.chars().count() > 80 {
            format!("{}…", flat.chars().take(79).collect::<String>())
        } else {
            flat
        }
    };
    let expr = || {
        let short = written();
        if short.contains('`') {
            short
        } else {
            format!("`{short}`")
        }
    };
    if let Some(keys) = conditional_keys(cx, s, e, 4) {
        return KeyExpr::OneOf(keys);
    }
    if e - s == 1 && toks[s].kind == Tk::Str {
        if toks[s].interpolated() {
            let reason = format!("interpolated string {}", expr());
            return match crate::template::parts(src, &toks[s], cx.lang) {
                Some(parts) => KeyExpr::Template(parts, written(), reason),
                None => KeyExpr::Dynamic(reason),
            };
        }
        return KeyExpr::Literal(str_value(src, &toks[s]));
    }
    if let Some(parts) = concatenation(cx, s, e) {
        return KeyExpr::Template(parts, written(), format!("expression {}", expr()));
    }
    match go_format(cx, s, e) {
        Some(GoFormat::Parts(parts)) => {
            return KeyExpr::Template(parts, written(), format!("expression {}", expr()));
        }
        Some(GoFormat::Named(name, args)) => {
            return KeyExpr::Format(name, args, written(), format!("expression {}", expr()));
        }
        None => {}
    }
    if let Some(parts) = python_format(cx, s, e) {
        return KeyExpr::Template(parts, written(), format!("expression {}", expr()));
    }
    if let Some(name) = chain_name(cx, s, e) {
        if !matches!(
            name.as_str(),
            "true" | "false" | "null" | "nil" | "None" | "undefined"
        ) {
            return KeyExpr::Ident(name);
        }
    }
    KeyExpr::Dynamic(format!("expression {}", expr()))
}

/// `PREFIX + "_clicked"`, `A + "_" + B` (JS/TS, Python, Go): a concatenation of string
/// literals and names, as the parts of an interpolated string; at least one name, and
/// nothing else (a call, a number, another operator, parentheses) in any operand.
fn concatenation(cx: &Ctx, s: usize, e: usize) -> Option<Vec<crate::template::Part>> {
    use crate::template::Part;
    let (src, toks) = (cx.src, cx.toks);
    if !matches!(cx.lang.family(), Family::Js | Family::Python | Family::Go) {
        return None;
    }
    let mut parts: Vec<Part> = Vec::new();
    let mut names = 0;
    let mut from = s;
    for k in s..=e {
        if k < e && !toks[k].is(src, "+") {
            continue;
        }
        if k == from {
            return None;
        }
        if k == from + 1 && toks[from].kind == Tk::Str {
            if toks[from].interpolated() {
                parts.extend(crate::template::parts(src, &toks[from], cx.lang)?);
            } else {
                parts.push(Part::Text(str_value(src, &toks[from])));
            }
        } else {
            let name = chain_name(cx, from, k)?;
            if name.starts_with('@') || toks[from].kind != Tk::Ident {
                return None;
            }
            parts.push(Part::Name(name));
        }
        names += usize::from(matches!(parts.last(), Some(Part::Name(_))));
        from = k + 1;
    }
    // `A + B` alone could be numbers; one literal operand makes it a string.
    let texts = parts.iter().filter(|p| matches!(p, Part::Text(_))).count();
    (from > s && names > 0 && texts > 0 && parts.len() > 1).then_some(parts)
}

/// What a Go `fmt.Sprintf` / `fmt.Sprint` of constants formats: the parts of the string, or
/// (a format that is a name) the name and the arguments, for the caller to format once the
/// name resolves.
enum GoFormat {
    Parts(Vec<crate::template::Part>),
    Named(String, Vec<Operand>),
}

/// Go `fmt.Sprintf("…", args…)` and `fmt.Sprint(args…)` of constants, as the parts of an
/// interpolated string: each argument a string literal or a (possibly qualified) name, the
/// format a string literal ([`go_verbs`]) or a name (`fmt.Sprintf(EventFmt, "x")`: formatted
/// once the name resolves). Any other argument (a call; a parameter is caught later) leaves
/// the key dynamic.
fn go_format(cx: &Ctx, s: usize, e: usize) -> Option<GoFormat> {
    use crate::template::Part;
    let (src, toks) = (cx.src, cx.toks);
    if cx.lang != Lang::Go
        || e < s + 5
        || !toks[s].is(src, "fmt")
        || !toks[s + 1].is(src, ".")
        || !toks[s + 3].is(src, "(")
        || match_fwd(toks, src, s + 3) != Some(e - 1)
    {
        return None;
    }
    let sprintf = match toks[s + 2].text(src) {
        b"Sprintf" => true,
        b"Sprint" => false,
        _ => return None,
    };
    let operands = split_args(cx, s + 4, e - 1)
        .iter()
        .map(|a| match a.name {
            Some(_) => None,
            None => const_operand(cx, a.start, a.end),
        })
        .collect::<Option<Vec<Operand>>>()?;
    if sprintf {
        let (format, args) = operands.split_first()?;
        return match format {
            Operand::Str(format) => go_verbs(format, args.to_vec()).map(GoFormat::Parts),
            Operand::Name(name) => Some(GoFormat::Named(name.clone(), args.to_vec())),
            Operand::Int(_) => None,
        };
    }
    // `Sprint` puts a space between two operands only when neither is a string; with
    // strings only (a name is a string constant's) it concatenates.
    let mut parts: Vec<Part> = Vec::new();
    let mut text = String::new();
    for op in operands {
        match op {
            Operand::Int(_) => return None,
            op => push_operand(&mut parts, &mut text, op),
        }
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    (!parts.is_empty()).then_some(GoFormat::Parts(parts))
}

/// Why a Go `fmt.Sprintf` whose format is a name stays dynamic.
pub(crate) enum FormatFailure<'a> {
    /// The name is a parameter, a variable or has several values.
    NotConstant,
    /// No string constant of that name where the call can see one.
    NotFound,
    /// The format's verbs, flags or argument count (this format) are not computed here.
    Uncomputable(&'a str),
}

/// The dynamic reason of a `fmt.Sprintf` whose format `name` does not give a key: the
/// expression's `reason` and why.
pub(crate) fn format_reason(reason: &str, name: &str, why: FormatFailure) -> String {
    match why {
        FormatFailure::NotConstant => format!(
            "{reason}: its format `{name}` is not a constant (a parameter, a variable or several values)"
        ),
        FormatFailure::NotFound => {
            format!("{reason}: its format `{name}` does not resolve to one string constant")
        }
        FormatFailure::Uncomputable(format) => format!(
            "{reason}: its format `{name}` (\"{format}\") has a verb, flag or argument count kodo does not compute"
        ),
    }
}

/// A Go `fmt.Sprintf` format applied to constant operands, as the parts of an interpolated
/// string. Only verbs whose output for a string constant is the string itself or exactly
/// computable here are understood: `%s` and `%v` (a literal or a name), `%q` (a literal of
/// printable ASCII: Go's quoting), `%d` (a decimal integer literal) and `%%`. A flag, width,
/// precision, explicit index (`%-8s`, `%.3s`, `%[1]s`), any other verb or an argument count
/// that does not match (Go writes `%!s(MISSING)` / `%!(EXTRA …)`) gives `None` (dynamic).
/// A name is assumed to be a string constant's text: a named string type with its own
/// `String()` method formats differently, which kodo cannot see.
pub(crate) fn go_verbs(format: &str, args: Vec<Operand>) -> Option<Vec<crate::template::Part>> {
    use crate::template::Part;
    let mut parts: Vec<Part> = Vec::new();
    let mut text = String::new();
    let mut rest = args.into_iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        let verb = chars.next()?;
        if verb == '%' {
            text.push('%');
            continue;
        }
        match (verb, rest.next()?) {
            ('s' | 'v', op @ (Operand::Str(_) | Operand::Name(_))) => {
                push_operand(&mut parts, &mut text, op)
            }
            ('d', Operand::Int(v)) => text.push_str(&v),
            ('q', Operand::Str(v)) if v.bytes().all(|b| (0x20..0x7f).contains(&b)) => {
                text.push('"');
                for c in v.chars() {
                    if matches!(c, '"' | '\\') {
                        text.push('\\');
                    }
                    text.push(c);
                }
                text.push('"');
            }
            _ => return None,
        }
    }
    if rest.next().is_some() {
        return None;
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    (!parts.is_empty()).then_some(parts)
}

/// A constant operand of a formatting expression: a string literal, a decimal integer
/// literal (`0` or digits without a leading zero: Go reads `010` as octal), or a name
/// (resolved later; only string constants are ever definitions).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Operand {
    Str(String),
    Int(String),
    Name(String),
}

/// The tokens `s..e` as one [`Operand`], if they are one.
fn const_operand(cx: &Ctx, s: usize, e: usize) -> Option<Operand> {
    let (src, toks) = (cx.src, cx.toks);
    if s >= e {
        return None;
    }
    let t = &toks[s];
    if e == s + 1 {
        match t.kind {
            Tk::Str if !t.interpolated() => return Some(Operand::Str(str_value(src, t))),
            Tk::Str => return None,
            Tk::Num => {
                let digits = std::str::from_utf8(t.text(src)).ok()?;
                let decimal = digits.bytes().all(|b| b.is_ascii_digit())
                    && (digits == "0" || !digits.starts_with('0'));
                return decimal.then(|| Operand::Int(digits.to_string()));
            }
            _ => {}
        }
    }
    let name = chain_name(cx, s, e)?;
    let literal = matches!(
        name.as_str(),
        "nil" | "true" | "false" | "iota" | "None" | "True" | "False"
    );
    (t.kind == Tk::Ident && !literal && !name.starts_with('@')).then_some(Operand::Name(name))
}

/// Appends an operand's text to `text`, or (a name) ends the text part and adds the name.
fn push_operand(parts: &mut Vec<crate::template::Part>, text: &mut String, op: Operand) {
    use crate::template::Part;
    match op {
        Operand::Str(v) | Operand::Int(v) => text.push_str(&v),
        Operand::Name(n) => {
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(text)));
            }
            parts.push(Part::Name(n));
        }
    }
}

/// Python `"{}_clicked".format(A)` and `"%s_clicked" % A` (also `% (A, B)`) of constants, as
/// the parts of an interpolated string, the format a plain string literal. `str.format`:
/// `{}` (automatic), `{0}` (by index), `{name}` (a keyword argument) and `{{`/`}}`; a format
/// spec or conversion (`{:>8}`, `{!r}`), an attribute or index (`{0.x}`, `{0[k]}`), mixing
/// automatic and manual numbering (a `ValueError`), or a field without its argument leaves
/// it dynamic. `%`: `%s` (a string, a name or an integer literal: `str()` of it), `%d`/`%i`
/// (an integer literal) and `%%`, exactly as many operands as conversions (else a
/// `TypeError`); `%(name)s`, flags, widths and other conversions leave it dynamic.
fn python_format(cx: &Ctx, s: usize, e: usize) -> Option<Vec<crate::template::Part>> {
    use crate::template::Part;
    let (src, toks) = (cx.src, cx.toks);
    if cx.lang != Lang::Python || e < s + 3 {
        return None;
    }
    let f = &toks[s];
    if f.kind != Tk::Str || f.interpolated() {
        return None;
    }
    let format = str_value(src, f);
    let mut parts: Vec<Part> = Vec::new();
    let mut text = String::new();
    if toks[s + 1].is(src, "%") {
        // The operands: one, or a parenthesized tuple.
        let mut ops: Vec<(usize, usize)> = vec![(s + 2, e)];
        if toks[s + 2].is(src, "(") && match_fwd(toks, src, s + 2) == Some(e - 1) {
            let inner = split_args(cx, s + 3, e - 1);
            if inner.iter().any(|a| a.name.is_some()) {
                return None;
            }
            ops = inner.iter().map(|a| (a.start, a.end)).collect();
        }
        let mut ops = ops.into_iter();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                text.push(c);
                continue;
            }
            let conv = chars.next()?;
            if conv == '%' {
                text.push('%');
                continue;
            }
            let (os, oe) = ops.next()?;
            match (conv, const_operand(cx, os, oe)?) {
                ('s', op) => push_operand(&mut parts, &mut text, op),
                ('d' | 'i', Operand::Int(v)) => text.push_str(&v),
                _ => return None,
            }
        }
        if ops.next().is_some() {
            return None;
        }
    } else if e >= s + 5
        && toks[s + 1].is(src, ".")
        && toks[s + 2].is(src, "format")
        && toks[s + 3].is(src, "(")
        && match_fwd(toks, src, s + 3) == Some(e - 1)
    {
        let args = split_args(cx, s + 4, e - 1);
        let positional: Vec<&Arg> = args.iter().filter(|a| a.name.is_none()).collect();
        if positional
            .iter()
            .any(|a| toks[a.start].is(src, "*") || toks[a.start].is(src, "**"))
        {
            return None;
        }
        let mut auto = 0usize;
        let (mut used_auto, mut used_manual) = (false, false);
        let mut chars = format.chars().peekable();
        while let Some(c) = chars.next() {
            if (c == '{' || c == '}') && chars.peek() == Some(&c) {
                chars.next();
                text.push(c);
                continue;
            }
            if c == '}' {
                return None;
            }
            if c != '{' {
                text.push(c);
                continue;
            }
            let mut field = String::new();
            loop {
                match chars.next()? {
                    '}' => break,
                    ch => field.push(ch),
                }
            }
            let (os, oe) = if field.is_empty() {
                used_auto = true;
                auto += 1;
                let a = positional.get(auto - 1)?;
                (a.start, a.end)
            } else if field.bytes().all(|b| b.is_ascii_digit()) {
                used_manual = true;
                let a = positional.get(field.parse::<usize>().ok()?)?;
                (a.start, a.end)
            } else if field.chars().all(|ch| ch.is_alphanumeric() || ch == '_') {
                let a = args
                    .iter()
                    .find(|a| a.name.is_some() && arg_name(cx, a).as_deref() == Some(&field))?;
                (a.start, a.end)
            } else {
                return None;
            };
            if used_auto && used_manual {
                return None;
            }
            push_operand(&mut parts, &mut text, const_operand(cx, os, oe)?);
        }
    } else {
        return None;
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    (!parts.is_empty()).then_some(parts)
}

/// `a.b.c`, `A::B`, `$this->x`, `EVENTS['k']`, `@attr`, `self.X` as a `.`-joined name.
fn chain_name(cx: &Ctx, s: usize, e: usize) -> Option<String> {
    let (src, toks) = (cx.src, cx.toks);
    let mut parts: Vec<String> = Vec::new();
    let mut j = s;
    if toks[j].is(src, "@") && cx.lang == Lang::Elixir {
        let t = toks
            .get(j + 1)
            .filter(|t| t.kind == Tk::Ident && j + 2 == e)?;
        return Some(format!("@{}", text(src, t)));
    }
    loop {
        if j >= e {
            return None;
        }
        let t = &toks[j];
        if t.kind != Tk::Ident || t.text(src).first() == Some(&b':') {
            return None;
        }
        parts.push(text(src, t).trim_start_matches('$').to_string());
        j += 1;
        while j + 3 <= e
            && toks[j].is(src, "[")
            && toks[j + 1].kind == Tk::Str
            && toks[j + 2].is(src, "]")
        {
            parts.push(str_value(src, &toks[j + 1]));
            j += 3;
        }
        if j == e {
            return Some(parts.join("."));
        }
        if !is_member_punct(&toks[j], src) {
            return None;
        }
        j += 1;
    }
}

/// Variables assigned the result of `evaluateFlags(…)` in this file.
fn snapshot_vars(cx: &Ctx) -> Vec<String> {
    let (src, toks) = (cx.src, cx.toks);
    let mut out = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        if t.kind != Tk::Ident
            || !matches!(
                t.text(src),
                b"evaluateFlags" | b"evaluate_flags" | b"EvaluateFlags"
            )
        {
            continue;
        }
        let mut j = k;
        while j >= 2 && is_member_punct(&toks[j - 1], src) && matches!(toks[j - 2].kind, Tk::Ident)
        {
            j -= 2;
        }
        while j >= 1
            && toks[j - 1].kind == Tk::Ident
            && matches!(toks[j - 1].text(src), b"await" | b"try")
        {
            j -= 1;
        }
        if j >= 2 && (toks[j - 1].is(src, "=") || toks[j - 1].is(src, ":=")) {
            let mut v = j - 2;
            while v >= 2 && toks[v - 1].is(src, ",") && toks[v - 2].kind == Tk::Ident {
                v -= 2;
            }
            if toks[v].kind == Tk::Ident {
                out.push(text(src, &toks[v]).trim_start_matches('$').to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::tokenize;
    use crate::ScanSettings;

    fn keys(src: &str, path: &str) -> Vec<(Kind, KeyExpr, String)> {
        let _ = path;
        let table = Table::new(&ScanSettings::default()).unwrap();
        let lang = Lang::from_path(path).unwrap();
        let mut toks = Vec::new();
        tokenize(src.as_bytes(), lang, &mut toks);
        let clients = vec![
            "posthog".to_string(),
            "client".to_string(),
            "ph".to_string(),
        ];
        find_calls(src.as_bytes(), &toks, lang, &table, &clients, &|_, _, _| {
            true
        })
        .into_iter()
        .map(|r| (r.kind, r.key, r.sdk))
        .collect()
    }

    fn lit(s: &str) -> KeyExpr {
        KeyExpr::Literal(s.into())
    }

    #[test]
    fn js_browser_and_node_shapes() {
        let got = keys(
            "posthog.capture('a', {x: 1}); client.capture({ distinctId: id, event: 'b' });\nposthog.isFeatureEnabled('f1'); await client.getFeatureFlag('f2', userId)",
            "a.ts",
        );
        assert_eq!(
            got,
            vec![
                (Kind::Event, lit("a"), "posthog-js".into()),
                (Kind::Event, lit("b"), "posthog-node".into()),
                (Kind::Flag, lit("f1"), "posthog-js".into()),
                (Kind::Flag, lit("f2"), "posthog-node".into()),
            ]
        );
    }

    #[test]
    fn renamed_client_methods_are_the_clients_calls() {
        let got = keys(
            "import { usePostHog } from 'posthog-js/react'\nfunction A() {\n  const { capture: c, isFeatureEnabled: on, identify: who } = usePostHog()\n  c('renamed_capture')\n  on('renamed-flag')\n  who('user')\n  posthog.c('through_a_receiver')\n}\nc('outside_its_block')\nfunction B() {\n  const { capture: c } = useAnalytics()\n  c('another_hook')\n}\n",
            "a.tsx",
        );
        assert_eq!(
            got,
            [
                (Kind::Event, lit("renamed_capture"), "posthog-js".into()),
                (Kind::Flag, lit("renamed-flag"), "posthog-js".into()),
            ]
        );
    }

    #[test]
    fn look_alikes_are_not_calls() {
        let got = keys(
            "sentry.captureException(e); foo.capture('x'); posthog.captureException(e); function useFeatureFlagEnabled(flag) { return 1 }\nconst s = \"posthog.capture('y')\"",
            "a.js",
        );
        assert_eq!(got, vec![]);
    }

    #[test]
    fn concatenations_of_names_and_literals_are_templates() {
        use crate::template::Part;
        let got = keys(
            "posthog.capture(A + '_x'); posthog.capture('p_' + ev.B + `_${C}`); posthog.capture(A + 1); posthog.capture(f(a) + '_x'); posthog.capture('a' + 'b'); posthog.capture((A) + '_x'); posthog.capture(A + '_x' - 1)",
            "a.ts",
        );
        assert_eq!(
            got[0].1,
            KeyExpr::Template(
                vec![Part::Name("A".into()), Part::Text("_x".into())],
                "A + '_x'".into(),
                "expression `A + '_x'`".into()
            )
        );
        let KeyExpr::Template(parts, _, _) = &got[1].1 else {
            panic!("{:?}", got[1].1)
        };
        assert_eq!(
            parts,
            &vec![
                Part::Text("p_".into()),
                Part::Name("ev.B".into()),
                Part::Text("_".into()),
                Part::Name("C".into())
            ]
        );
        for (_, k, _) in &got[2..] {
            assert!(matches!(k, KeyExpr::Dynamic(_)), "{k:?}");
        }
        // Python and Go too; not languages whose `+` is not string concatenation here.
        assert!(matches!(
            keys("posthog.capture(PREFIX + \"_x\", distinct_id=u)", "a.py")[0].1,
            KeyExpr::Template(..)
        ));
        assert!(matches!(
            keys(
                "client.Enqueue(posthog.Capture{Event: Prefix + \"_x\"})",
                "a.go"
            )[0]
            .1,
            KeyExpr::Template(..)
        ));
    }

    #[test]
    fn identifiers_and_dynamic_keys_are_kept() {
        let got = keys("posthog.capture(EVENTS.signup); posthog.capture(`page_${name}`); posthog.capture(prefix + name)", "a.ts");
        assert_eq!(got[0].1, KeyExpr::Ident("EVENTS.signup".into()));
        assert_eq!(
            got[1].1,
            KeyExpr::Template(
                vec![
                    crate::template::Part::Text("page_".into()),
                    crate::template::Part::Name("name".into())
                ],
                "`page_${name}`".into(),
                "interpolated string `page_${name}`".into()
            )
        );
        assert_eq!(
            got[2].1,
            KeyExpr::Dynamic("expression `prefix + name`".into())
        );
    }

    #[test]
    fn python_old_and_new_capture() {
        let got = keys("posthog.capture('u1', 'old')\nposthog.capture('new', distinct_id='u')\nposthog.capture(distinct_id='u', event='kw')\n", "a.py");
        let k: Vec<_> = got.into_iter().map(|g| g.1).collect();
        assert_eq!(k, vec![lit("old"), lit("new"), lit("kw")]);
    }

    #[test]
    fn go_struct_literals_and_snapshots() {
        let got = keys(
            "client.Enqueue(posthog.Capture{DistinctId: \"u\", Event: \"go_ev\"})\nok, _ := client.IsFeatureEnabled(posthog.FeatureFlagPayload{Key: \"go_flag\", DistinctId: \"u\"})\nflags, err := client.EvaluateFlags(p)\nif flags.IsEnabled(\"snap\") {}",
            "main.go",
        );
        let k: Vec<_> = got.into_iter().map(|g| g.1).collect();
        assert_eq!(k, vec![lit("go_ev"), lit("go_flag"), lit("snap")]);
    }

    #[test]
    fn destructured_locals_are_members_of_constants_or_values() {
        let src = "const { A, b: { c: renamed } } = EVENTS.all\nfunction f(getStuff, items) {\n  const { x }: T = getStuff()\n  let { L } = EVENTS\n  const [first] = useState()\n  for (const { ev } of items) { use(ev) }\n  use(A, renamed, x, L, first)\n}\nuse(x)";
        let mut toks = Vec::new();
        tokenize(src.as_bytes(), Lang::Ts, &mut toks);
        let fns = crate::functions::find_functions(src.as_bytes(), &toks, Lang::Ts);
        let scope_of = |k: usize| {
            fns.iter()
                .rev()
                .find(|f| f.body.0 <= k && k < f.body.1)
                .map_or((0, toks.len()), |f| f.body)
        };
        let last_use = |name: &str| {
            toks.iter()
                .rposition(|t| t.is(src.as_bytes(), name))
                .unwrap()
        };
        let decls = destructuring_decls(src.as_bytes(), &toks, Lang::Ts);
        let at = |name: &str, use_tok: usize| {
            local_destructured(
                src.as_bytes(),
                &toks,
                Lang::Ts,
                &decls,
                use_tok,
                name,
                &scope_of,
            )
        };
        let inside = toks
            .iter()
            .rposition(|t| t.is(src.as_bytes(), "first"))
            .unwrap();
        use Destructured::{Member, Value};
        assert_eq!(at("A", inside), Some(Member("EVENTS.all.A".into())));
        assert_eq!(at("renamed", inside), Some(Member("EVENTS.all.b.c".into())));
        assert_eq!(at("x", inside), Some(Value("`getStuff()`".into())));
        assert_eq!(at("L", inside), Some(Value("`EVENTS`".into())));
        assert_eq!(at("first", inside), Some(Value("`useState()`".into())));
        assert_eq!(
            at("ev", last_use("ev")),
            Some(Value("a `for` loop's items".into()))
        );
        // Outside the function that declares it, and for a name no pattern binds: nothing.
        assert_eq!(at("x", last_use("x")), None);
        assert_eq!(at("EVENTS", inside), None);
        // Not JS.
        assert_eq!(
            local_destructured(
                src.as_bytes(),
                &toks,
                Lang::Python,
                &destructuring_decls(src.as_bytes(), &toks, Lang::Python),
                inside,
                "A",
                &scope_of
            ),
            None
        );
    }

    /// The one key `src` (a file named `file`) captures.
    fn one_key(src: &str, file: &str) -> KeyExpr {
        let got = keys(src, file);
        assert_eq!(got.len(), 1, "{src}");
        got.into_iter().next().map(|g| g.1).unwrap()
    }

    /// A template key's parts, checking it is written as `expr`; `None` for another key.
    fn template_parts(key: KeyExpr, expr: &str) -> Option<Vec<crate::template::Part>> {
        match key {
            KeyExpr::Template(parts, written, _) => {
                assert_eq!(written, expr);
                Some(parts)
            }
            _ => None,
        }
    }

    #[test]
    fn go_sprintf_and_sprint_of_constants_are_templates() {
        use crate::template::Part;
        let event = |expr: &str| {
            one_key(
                &format!("client.Enqueue(posthog.Capture{{DistinctId: \"u\", Event: {expr}}})"),
                "main.go",
            )
        };
        let parts = |expr: &str| template_parts(event(expr), expr);
        let text = |t: &str| Part::Text(t.into());
        let name = |n: &str| Part::Name(n.into());
        assert_eq!(
            parts(r#"fmt.Sprintf("%s_clicked", Prefix)"#),
            Some(vec![name("Prefix"), text("_clicked")])
        );
        assert_eq!(
            parts(r#"fmt.Sprintf("%v:%s_%d%%", events.Area, "x", 2)"#),
            Some(vec![name("events.Area"), text(":x_2%")])
        );
        assert_eq!(
            parts(r#"fmt.Sprintf(`raw_%s`, A)"#),
            Some(vec![text("raw_"), name("A")])
        );
        assert_eq!(
            parts(r#"fmt.Sprintf("said %q", "hi \"x\"")"#),
            Some(vec![text(r#"said "hi \"x\"""#)])
        );
        assert_eq!(parts(r#"fmt.Sprintf("plain")"#), Some(vec![text("plain")]));
        assert_eq!(
            parts(r#"fmt.Sprint(Prefix, "_", B)"#),
            Some(vec![name("Prefix"), text("_"), name("B")])
        );
        // Verbs, flags and arguments whose output is not the constant's text: dynamic.
        for dynamic in [
            r#"fmt.Sprintf("%d_x", A)"#,
            r#"fmt.Sprintf("%s_x", 2)"#,
            r#"fmt.Sprintf("%d_x", 010)"#,
            r#"fmt.Sprintf("%d_x", 0x10)"#,
            r#"fmt.Sprintf("%x_x", "a")"#,
            r#"fmt.Sprintf("%-8s", "a")"#,
            r#"fmt.Sprintf("%.2s", "abc")"#,
            r#"fmt.Sprintf("%[1]s", "a")"#,
            r#"fmt.Sprintf("%+v", A)"#,
            r#"fmt.Sprintf("%q", A)"#,
            r#"fmt.Sprintf("%q", "é")"#,
            r#"fmt.Sprintf("%s_%s", A)"#,
            r#"fmt.Sprintf("%s", A, B)"#,
            r#"fmt.Sprintf("100%", A)"#,
            r#"fmt.Sprintf("%s", name())"#,
            r#"fmt.Sprintf("%s", nil)"#,
            r#"fmt.Sprintf("%s", a + b)"#,
            r#"fmt.Sprint("v", 2)"#,
            r#"fmt.Sprint()"#,
            r#"fmt.Errorf("%s", A)"#,
            r#"other.Sprintf("%s", A)"#,
        ] {
            assert!(
                matches!(event(dynamic), KeyExpr::Dynamic(_)),
                "{dynamic}: {:?}",
                event(dynamic)
            );
        }
        // A format that is a name: formatted once the name resolves (scan.rs).
        assert_eq!(
            event(r#"fmt.Sprintf(Format, A, "x", 2)"#),
            KeyExpr::Format(
                "Format".into(),
                vec![
                    Operand::Name("A".into()),
                    Operand::Str("x".into()),
                    Operand::Int("2".into())
                ],
                r#"fmt.Sprintf(Format, A, "x", 2)"#.into(),
                r#"expression `fmt.Sprintf(Format, A, "x", 2)`"#.into()
            )
        );
        for dynamic in [r#"fmt.Sprintf(Format, f())"#, r#"fmt.Sprintf(2, A)"#] {
            assert!(matches!(event(dynamic), KeyExpr::Dynamic(_)), "{dynamic}");
        }
        assert_eq!(
            go_verbs(
                "%s_%d_%q",
                vec![
                    Operand::Name("A".into()),
                    Operand::Int("3".into()),
                    Operand::Str("q".into())
                ]
            ),
            Some(vec![name("A"), text("_3_\"q\"")])
        );
        assert_eq!(go_verbs("%s_%s", vec![Operand::Name("A".into())]), None);
        // Not Go: JavaScript has no `fmt`.
        assert!(matches!(
            keys(r#"posthog.capture(fmt.Sprintf("%s", A))"#, "a.ts")[0].1,
            KeyExpr::Dynamic(_)
        ));
    }

    #[test]
    fn python_format_and_percent_of_constants_are_templates() {
        use crate::template::Part;
        let event = |expr: &str| {
            one_key(
                &format!("posthog.capture({expr}, distinct_id=user.id)"),
                "views.py",
            )
        };
        let parts = |expr: &str| template_parts(event(expr), expr);
        let text = |t: &str| Part::Text(t.into());
        let name = |n: &str| Part::Name(n.into());
        assert_eq!(
            parts(r#""{}_clicked".format(PREFIX)"#),
            Some(vec![name("PREFIX"), text("_clicked")])
        );
        assert_eq!(
            parts(r#""{1}:{0}_{{x}}_{area}".format(A, "b", area=names.AREA)"#),
            Some(vec![
                text("b:"),
                name("A"),
                text("_{x}_"),
                name("names.AREA")
            ])
        );
        assert_eq!(
            parts(r#""%s_%s_%d%%" % (PREFIX, "x", 2)"#),
            Some(vec![name("PREFIX"), text("_x_2%")])
        );
        assert_eq!(
            parts(r#""%s_viewed" % PAGE"#),
            Some(vec![name("PAGE"), text("_viewed")])
        );
        assert_eq!(parts(r#""v%s" % 3"#), Some(vec![text("v3")]));
        for dynamic in [
            r#""{}_x".format(a())"#,
            r#""{:>8}".format(A)"#,
            r#""{!r}".format(A)"#,
            r#""{0.name}".format(A)"#,
            r#""{}_{0}".format(A)"#,
            r#""{}_{}".format(A)"#,
            r#""{missing}".format(A)"#,
            r#""{}".format(*names)"#,
            r#""%s_%s" % (A,)"#,
            r#""%s" % (A, B)"#,
            r#""%d" % A"#,
            r#""%r" % "a""#,
            r#""%(k)s" % d"#,
            r#""%5s" % A"#,
            r#""%s" % None"#,
            r#"f"{A}".format(B)"#,
            r#"FMT.format(A)"#,
            r#""%s" % A + "x""#,
        ] {
            assert!(
                matches!(event(dynamic), KeyExpr::Dynamic(_)),
                "{dynamic}: {:?}",
                event(dynamic)
            );
        }
    }

    #[test]
    fn jvm_server_takes_distinct_id_first() {
        let got = keys("posthog.capture(distinctId, \"server_ev\");\nPostHog.capture(\"android_ev\");\nposthog.isFeatureEnabled(\"flag_a\", false);\nposthog.isFeatureEnabled(userId, \"flag_b\", false);", "A.java");
        assert_eq!(
            got,
            vec![
                (Kind::Event, lit("server_ev"), "posthog-java".into()),
                (Kind::Event, lit("android_ev"), "posthog-android".into()),
                (Kind::Flag, lit("flag_a"), "posthog-android".into()),
                (Kind::Flag, lit("flag_b"), "posthog-java".into()),
            ]
        );
    }
}
