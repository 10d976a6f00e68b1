//! Wrapper inference: which project functions capture events or check flags.
//!
//! Two steps, kept apart on purpose:
//!
//! 1. **Per file** ([`extract`]): from one file's tokens, its functions ([`crate::functions`])
//!    and the SDK/wrapper calls found in it, a [`FileFacts`]: for each named function, which
//!    of its parameters flows into an SDK call's key ([`Sink`]) and which flows into an
//!    argument of any other call ([`Forward`]), plus `const x = useHook()` bindings. It
//!    depends only on the file's text (and the call table it was matched with), so it is
//!    plain data that a cache can store.
//! 2. **Across files** ([`close`]): the wrappers are the functions with a sink, then,
//!    transitively to a fixed point, the functions that forward a parameter into a
//!    wrapper's key argument. A hook that returns a wrapper makes the name it is bound to
//!    a wrapper in that file.
//!
//! Invariants: inference only ever adds call shapes (a configured `scan.wrappers` entry of
//! the same name wins); a function is a wrapper only through a parameter that reaches a
//! key, never through a name that merely looks like one; the result is deterministic
//! (sorted by name, path and line).

use std::borrow::Borrow;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::extract::{KeyExpr, RawRef};
use crate::functions::{close_of, FnSpan};
use crate::lang::{Family, Lang};
use crate::lexer::{Tk, Token};
use crate::patterns::KeyAt;
use crate::{Kind, Side};

/// Which parameter of a function: a positional one (with its name, for keyword calls), or
/// a field of one (an object pattern `{ event }`, `props.event`, `opts.event`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    /// Positional parameter `index`, named `name`.
    Param {
        /// 0-based position (Python `self` and Go receivers not counted).
        index: usize,
        /// The parameter's name.
        name: String,
    },
    /// Field `field` of positional parameter `index`.
    Field {
        /// 0-based position of the object parameter.
        index: usize,
        /// The field (object key, JSX prop).
        field: String,
    },
}

/// How a call passes a value: as positional argument `n`, or under a name (keyword
/// argument, object key, JSX attribute).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ArgShape {
    /// Positional argument.
    Pos(usize),
    /// Keyword argument, key of an object argument, or JSX attribute.
    Named(String),
    /// The receiver of a method call (`e.PosthogEvent()`).
    Receiver,
}

/// The parameter index that stands for a Go method's receiver.
pub const RECEIVER: usize = usize::MAX;

/// A parameter that reaches the key of an SDK (or wrapper) call in the function's body.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Sink {
    /// The parameter.
    pub slot: Slot,
    /// Event or flag.
    pub kind: Kind,
    /// The SDK behind the call.
    pub sdk: String,
    /// The side the SDK call runs on, decided in the wrapper's file.
    pub side: Side,
    /// What the call sends as properties (events whose properties kodo reads).
    #[serde(default)]
    pub props: Option<PropsThrough>,
    /// The parameter's default when it is a plain string literal (`event = 'x'`,
    /// `{ eventName = 'x' }`): the key of a call site that leaves the argument out.
    #[serde(default)]
    pub default: Option<String>,
}

/// What a wrapper's SDK call sends as properties: keys written in the wrapper's body, and
/// the parameter whose argument at each call site is (spread into) the properties
/// (`const capture = (event, properties) => posthog.capture(event, properties)`,
/// `properties: { ...properties, version }`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct PropsThrough {
    /// Keys the body writes itself, sorted, each once.
    pub keys: Vec<String>,
    /// Some keys of the body cannot be seen (besides the forwarded parameter's).
    pub open: bool,
    /// The parameter forwarded as (part of) the properties.
    pub from: Option<Slot>,
    /// Python `**kwargs` forwarded as (part of) the properties: a call site's keyword
    /// arguments are properties, except those naming the wrapper's own parameters (listed).
    #[serde(default)]
    pub kwargs: Option<Vec<String>>,
}

impl PropsThrough {
    /// From the properties of an SDK call in the body of function `fn_idx`: a plain name that
    /// is one of its parameters is forwarded (one at most); anything else unseen opens it.
    fn of(
        raw: &crate::extract::RawProps,
        src: &[u8],
        toks: &[Token],
        fns: &[FnSpan],
        fn_idx: usize,
    ) -> PropsThrough {
        let mut out = PropsThrough {
            keys: raw.keys.iter().map(|(k, _)| k.clone()).collect(),
            // A key written as a constant is resolved at the call site's file only if the
            // constant is visible there; keep it simple and honest: open.
            open: raw.open || !raw.names.is_empty(),
            from: None,
            kwargs: None,
        };
        for (name, tok) in &raw.unbound {
            match param_slot(fns, *tok, name) {
                Some((_, idx, slot)) if idx == fn_idx && out.from.is_none() => {
                    out.from = Some(slot)
                }
                None if out.kwargs.is_none() && kwargs_param(src, toks, &fns[fn_idx], name) => {
                    out.kwargs = Some(fns[fn_idx].params.iter().map(|p| p.name.clone()).collect())
                }
                _ => out.open = true,
            }
        }
        out.keys.sort();
        out.keys.dedup();
        out
    }
}

/// A parameter passed on to another call (`track(name)` inside `function onClick(name)`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Forward {
    /// The parameter.
    pub slot: Slot,
    /// The callee's name (last segment: `analytics.track` is `track`).
    pub callee: String,
    /// Where the callee receives it.
    pub arg: ArgShape,
}

/// One named function and what its parameters flow into.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FnFacts {
    /// The name call sites use.
    pub name: String,
    /// 1-based line of the definition.
    pub line: u32,
    /// The facts belong to a function this one returns (`useTrack` returning
    /// `(e) => posthog.capture(e)`): calls of `name` itself are not captures.
    pub returned: bool,
    /// Parameters that reach a key.
    pub sinks: Vec<Sink>,
    /// Parameters passed on to other calls.
    pub forwards: Vec<Forward>,
    /// Parameters the body calls as functions (`posthogCapture(…)` for a destructured prop
    /// `{ posthogCapture }`), with the name the call uses.
    #[serde(default)]
    pub calls: Vec<(Slot, String)>,
}

/// `<NavDrawer posthogCapture={posthogCapture}>`: a name passed as a JSX prop.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Passed {
    /// The component.
    pub callee: String,
    /// The prop.
    pub attr: String,
    /// The name passed.
    pub name: String,
}

/// `const local = call(…)`: a name bound to what a hook or factory returns.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The local name.
    pub local: String,
    /// The function called.
    pub call: String,
    /// 1-based line.
    #[serde(default)]
    pub line: u32,
}

/// Everything wrapper inference needs from one file (the cacheable per-file extract).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct FileFacts {
    /// Repo-relative path.
    pub path: String,
    /// Functions with at least one sink or forward.
    pub fns: Vec<FnFacts>,
    /// Hook/factory results bound to names.
    pub bindings: Vec<Binding>,
    /// `const trackEvent = track`, `self.event = self.analytics.event`: another name for a
    /// function (`local` is `call` is `target`'s last segment).
    #[serde(default)]
    pub aliases: Vec<Binding>,
    /// Names of the functions the file defines: a call of one of them from this file means
    /// that function, not a same-named wrapper elsewhere.
    #[serde(default)]
    pub defined: Vec<String>,
    /// Names passed as JSX props (a wrapper handed to a component).
    #[serde(default)]
    pub passed: Vec<Passed>,
}

impl FileFacts {
    /// Whether the file has anything for inference.
    pub fn has_any(&self) -> bool {
        !self.fns.is_empty()
            || !self.bindings.is_empty()
            || !self.aliases.is_empty()
            || !self.passed.is_empty()
    }

    /// What [`close`] reads of these facts: two files whose `for_close` views are equal
    /// give the same wrappers (the scan cache relies on this to keep its result when an
    /// edit adds, say, a function no forward calls). Keep in step with `close`: of
    /// `defined` it only asks about the callees of the file's own forwards.
    pub(crate) fn for_close(&self) -> FileFacts {
        let mut out = self.clone();
        out.defined.retain(|name| {
            self.fns
                .iter()
                .any(|f| f.forwards.iter().any(|fw| fw.callee == *name))
        });
        out
    }

    /// Whether replacing a file's facts `old` with `new` cannot change what [`close`]
    /// infers, given that close inferred wrappers named `wrappers` (of this file's family)
    /// with `old` (the scan cache relies on this to keep its result without running close
    /// again over every file's facts). Keep in step with `close`; the reasoning: close
    /// starts from the functions with a sink, and a function's forward, a file's
    /// `defined` name or a function's `calls` only ever matter through a name already
    /// inferred (`found.get`). So functions without sinks or calls whose forwards all go to
    /// names no wrapper has never fire, in any round: the fixed point is the same with or
    /// without them, and a `defined` name no wrapper has decides no `local` check.
    /// Bindings, aliases and passed names must be the same.
    pub(crate) fn inert_change(
        old: &FileFacts,
        new: &FileFacts,
        wrappers: &dyn Fn(&str) -> bool,
    ) -> bool {
        if old.path != new.path
            || old.bindings != new.bindings
            || old.aliases != new.aliases
            || old.passed != new.passed
        {
            return false;
        }
        let inert_fn = |f: &FnFacts| {
            f.sinks.is_empty()
                && f.calls.is_empty()
                && !wrappers(&f.name)
                && f.forwards.iter().all(|fw| !wrappers(&fw.callee))
        };
        let only_in = |a: &[FnFacts], b: &[FnFacts]| -> bool {
            // Every function of `a` that `b` lacks (as many times as it occurs) is inert.
            let mut used = vec![false; b.len()];
            a.iter()
                .all(|f| match (0..b.len()).find(|&j| !used[j] && b[j] == *f) {
                    Some(j) => {
                        used[j] = true;
                        true
                    }
                    None => inert_fn(f),
                })
        };
        let defined_inert = |a: &[String], b: &[String]| {
            a.iter().all(|n| b.binary_search(n).is_ok() || !wrappers(n))
        };
        only_in(&old.fns, &new.fns)
            && only_in(&new.fns, &old.fns)
            && defined_inert(&old.defined, &new.defined)
            && defined_inert(&new.defined, &old.defined)
    }
}

/// An inferred wrapper: call sites of `name` are resolved like SDK calls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Inferred {
    pub name: String,
    pub family: Family,
    pub slot: Slot,
    pub kind: Kind,
    pub sdk: String,
    pub side: Side,
    /// Where the wrapper is defined.
    pub path: String,
    pub line: u32,
    /// Call shapes only apply in this file (a name bound to a hook's result).
    pub only_in: Option<String>,
    /// The wrapper is what a hook returns, not the hook itself.
    pub returned: bool,
    /// The function whose body holds the parameter that reaches the key (this wrapper's own
    /// name, or for an alias or a hook's bound result, the function it stands for).
    pub origin: String,
    /// What the wrapper's SDK call sends as properties (a wrapper that calls another
    /// wrapper: not followed, `None`).
    #[serde(default)]
    pub props: Option<PropsThrough>,
    /// The key parameter's literal default (a wrapper that calls another wrapper: not
    /// followed, `None`).
    #[serde(default)]
    pub default: Option<String>,
}

/// Which inferred wrapper a call goes through: its name, the file defining it and the file
/// its name is bound in (a hook's result), as [`Inferred::id`] gives it. Two wrappers can
/// share a name (a file's own `emit` and a server's `emit`): an inference round looks for
/// the call sites of wrappers by this, not by name.
pub(crate) type WrapperId = (String, String, Option<String>);

impl Inferred {
    /// This wrapper's [`WrapperId`].
    pub(crate) fn id(&self) -> WrapperId {
        (self.name.clone(), self.path.clone(), self.only_in.clone())
    }

    /// Call-site key positions for this wrapper.
    pub(crate) fn key_at(&self, kwargs: bool) -> Vec<KeyAt> {
        match &self.slot {
            // Only reachable through other wrappers (`e.PosthogEvent()` in `Dispatch(e)`).
            Slot::Field { index, .. } if *index == RECEIVER => vec![],
            Slot::Param { index, name } if kwargs => vec![KeyAt::NamedOr(name.clone(), *index)],
            Slot::Param { index, .. } => vec![KeyAt::Arg(*index)],
            Slot::Field { field, .. } => {
                if self.name.starts_with(|c: char| c.is_ascii_uppercase())
                    && self.family == Family::Js
                {
                    vec![KeyAt::JsxAttr(field.clone())]
                } else {
                    vec![KeyAt::Key(field.clone())]
                }
            }
        }
    }

    fn accepts(&self, arg: &ArgShape) -> bool {
        match (&self.slot, arg) {
            (Slot::Param { index, .. }, ArgShape::Pos(n)) => index == n,
            (Slot::Param { name, .. }, ArgShape::Named(k)) => name == k,
            (Slot::Field { field, .. }, ArgShape::Named(k)) => field == k,
            // The whole object is passed where a field of it is read.
            (Slot::Field { index, .. }, ArgShape::Pos(n)) => index == n,
            (Slot::Field { index, .. }, ArgShape::Receiver) => *index == RECEIVER,
            (Slot::Param { .. }, ArgShape::Receiver) => false,
        }
    }

    /// [`Inferred::through`] without cloning `from` when it is the answer.
    fn through_ref<'s>(&self, from: &'s Slot, arg: &ArgShape) -> Option<Cow<'s, Slot>> {
        match (from, &self.slot, arg) {
            (Slot::Param { .. }, Slot::Field { .. }, ArgShape::Pos(_) | ArgShape::Receiver)
            | (Slot::Field { .. }, Slot::Field { .. }, ArgShape::Pos(_) | ArgShape::Receiver) => {
                self.through(from, arg).map(Cow::Owned)
            }
            _ => Some(Cow::Borrowed(from)),
        }
    }

    /// The slot of a function that passes its own `from` as this wrapper's `arg`: passing a
    /// whole parameter where a field of it is read makes that field the key.
    fn through(&self, from: &Slot, arg: &ArgShape) -> Option<Slot> {
        match (from, &self.slot, arg) {
            (
                Slot::Param { index, .. },
                Slot::Field { field, .. },
                ArgShape::Pos(_) | ArgShape::Receiver,
            ) => Some(Slot::Field {
                index: *index,
                field: field.clone(),
            }),
            (Slot::Field { .. }, Slot::Field { .. }, ArgShape::Pos(_) | ArgShape::Receiver) => None,
            _ => Some(from.clone()),
        }
    }
}

/// Whether function `f` takes `**name` (Python keyword arguments).
fn kwargs_param(src: &[u8], toks: &[Token], f: &FnSpan, name: &str) -> bool {
    let head = &toks[f.tok..f.body.0.min(toks.len())];
    head.windows(3).any(|w| {
        w[0].is(src, "*") && w[1].is(src, "*") && w[1].start == w[0].end && w[2].is(src, name)
    }) || head
        .windows(2)
        .any(|w| w[0].is(src, "**") && w[1].is(src, name))
}

/// Whether a language's calls can name their arguments (`f(event="x")`).
pub(crate) fn kwargs_lang(family: Family) -> bool {
    matches!(
        family,
        Family::Python | Family::Jvm | Family::Dart | Family::Apple | Family::DotNet
    )
}

/// The innermost function around token `at` that has a parameter bound to `first` (the
/// first segment of an identifier), and the slot: `event` → the parameter, `props.x` /
/// `opts.x` → a field of it, a destructured `x` → that field.
pub(crate) fn param_slot<'a>(
    fns: &'a [FnSpan],
    at: usize,
    ident: &str,
) -> Option<(&'a FnSpan, usize, Slot)> {
    let mut segs = ident.split('.');
    let first = segs.next()?;
    param_slot_of(fns, at, first, segs.next())
}

/// [`param_slot`] of the identifier whose first two segments are `first` and `second`.
fn param_slot_of<'a>(
    fns: &'a [FnSpan],
    at: usize,
    first: &str,
    second: Option<&str>,
) -> Option<(&'a FnSpan, usize, Slot)> {
    // Innermost first: the spans are sorted by body start (`find_functions`), so scan from
    // the back, starting at the last span whose body starts at or before `at` (none after
    // it can contain `at`).
    debug_assert!(fns.windows(2).all(|w| w[0].body.0 <= w[1].body.0));
    let end = fns.partition_point(|f| f.body.0 <= at);
    for (idx, f) in fns[..end].iter().enumerate().rev() {
        if !(f.body.0 <= at && at < f.body.1) {
            continue;
        }
        if let (Some(r), Some(field)) = (&f.receiver, second) {
            if r == first {
                return Some((
                    f,
                    idx,
                    Slot::Field {
                        index: RECEIVER,
                        field: field.to_string(),
                    },
                ));
            }
        }
        for (i, p) in f.params.iter().enumerate() {
            if !p.name.is_empty() && p.name == first {
                let slot = match second {
                    Some(field) => Slot::Field {
                        index: i,
                        field: field.to_string(),
                    },
                    None => Slot::Param {
                        index: i,
                        name: p.name.clone(),
                    },
                };
                return Some((f, idx, slot));
            }
            if let Some((_, field)) = p.fields.iter().find(|(local, _)| local == first) {
                return Some((
                    f,
                    idx,
                    Slot::Field {
                        index: i,
                        field: field.clone(),
                    },
                ));
            }
        }
    }
    None
}

/// The literal default of the parameter (or object-pattern field) `slot` of `f`.
fn slot_default(f: &FnSpan, slot: &Slot) -> Option<String> {
    match slot {
        Slot::Param { index, .. } => f.params.get(*index)?.default.clone(),
        Slot::Field { index, field } => f
            .params
            .get(*index)?
            .field_defaults
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.clone()),
    }
}

/// The innermost function around token `at` whose parameter pattern binds `first` below a
/// field or in an array pattern (`{ tracking: { event } }`, `[event]`): a parameter's value
/// that no call-site key names, so neither a wrapper's key nor a constant.
pub(crate) fn nested_param<'a>(fns: &'a [FnSpan], at: usize, first: &str) -> Option<&'a FnSpan> {
    fns.iter()
        .rev()
        .filter(|f| f.body.0 <= at && at < f.body.1)
        .find(|f| f.params.iter().any(|p| p.nested.iter().any(|n| n == first)))
}

/// The name facts of span `idx` are recorded under: its own, or for an anonymous function
/// returned by a named one, the outer function's (with `returned`).
fn owner(fns: &[FnSpan], idx: usize) -> Option<(String, u32, bool, usize)> {
    let f = &fns[idx];
    if let Some(n) = &f.name {
        return Some((n.clone(), 0, false, idx));
    }
    // Returned directly by an enclosing named function.
    fns.iter().enumerate().rev().find_map(|(j, outer)| {
        let r = outer.returns_fn?;
        (j != idx && outer.name.is_some() && r <= f.tok && f.tok <= r + 3)
            .then(|| (outer.name.clone().unwrap_or_default(), 0, true, j))
    })
}

/// Builds a file's facts from its functions and the calls found in it. `side_of` decides
/// the side of an SDK call in this file.
pub(crate) fn extract(
    path: &str,
    src: &[u8],
    toks: &[Token],
    lang: Lang,
    fns: &[FnSpan],
    calls: &[RawRef],
    side_of: &dyn Fn(&RawRef) -> Side,
) -> FileFacts {
    let mut by_fn: BTreeMap<usize, FnFacts> = BTreeMap::new();
    fn entry<'m>(
        by_fn: &'m mut BTreeMap<usize, FnFacts>,
        fns: &[FnSpan],
        toks: &[Token],
        idx: usize,
    ) -> Option<&'m mut FnFacts> {
        // `owner` clones a name: only for a span not seen yet.
        match by_fn.entry(idx) {
            std::collections::btree_map::Entry::Occupied(e) => Some(e.into_mut()),
            std::collections::btree_map::Entry::Vacant(v) => {
                let (name, _, returned, owner_idx) = owner(fns, idx)?;
                let line = toks[fns[owner_idx].tok].line;
                Some(v.insert(FnFacts {
                    name,
                    line,
                    returned,
                    sinks: Vec::new(),
                    forwards: Vec::new(),
                    calls: Vec::new(),
                }))
            }
        }
    }
    let mut passed = Vec::new();
    if !fns.is_empty() {
        for r in calls {
            let KeyExpr::Ident(id) = &r.key else {
                continue;
            };
            if let Some((_, idx, slot)) = param_slot(fns, r.tok, id) {
                let sink = Sink {
                    kind: r.kind,
                    sdk: r.sdk.clone(),
                    side: side_of(r),
                    props: r
                        .props
                        .as_ref()
                        .map(|p| PropsThrough::of(p, src, toks, fns, idx)),
                    default: slot_default(&fns[idx], &slot),
                    slot,
                };
                if let Some(e) = entry(&mut by_fn, fns, toks, idx) {
                    if !e.sinks.contains(&sink) {
                        e.sinks.push(sink);
                    }
                }
            }
        }
        // An SDK call's own arguments are sinks, not forwards (`posthog.capture(e, props)`
        // must not make `props` a key through a wrapper that is also named `capture`).
        let sdk_calls: crate::FastSet<usize> = calls.iter().map(|r| r.tok).collect();
        forwarded_args(src, toks, lang, &mut |call, arg_tok, callee, arg, ident| {
            if sdk_calls.contains(&call) {
                return;
            }
            if let Some((_, idx, slot)) = param_slot(fns, arg_tok, ident) {
                let fwd = Forward {
                    slot,
                    callee: callee.to_string(),
                    arg: arg.to_shape(),
                };
                if let Some(e) = entry(&mut by_fn, fns, toks, idx) {
                    if !e.forwards.contains(&fwd) {
                        e.forwards.push(fwd);
                    }
                }
            } else if let ArgRef::Named(attr) = arg {
                // A JSX prop given a plain name: maybe a wrapper handed to the component.
                let component = callee.starts_with(|c: char| c.is_ascii_uppercase())
                    && call > 0
                    && toks[call - 1].is(src, "<");
                if component && !ident.contains('.') {
                    let p = Passed {
                        callee: callee.to_string(),
                        attr: attr.into_owned(),
                        name: ident.to_string(),
                    };
                    if !passed.contains(&p) {
                        passed.push(p);
                    }
                }
            }
        });
        // A parameter called as a function: `cb(…)`, `props.cb(…)`.
        if lang.family() == Family::Js {
            for k in 0..toks.len().saturating_sub(1) {
                if toks[k].kind != Tk::Ident || !toks[k + 1].is(src, "(") {
                    continue;
                }
                let member = |j: usize| {
                    toks[j].kind == Tk::Punct && matches!(toks[j].text(src), b"." | b"?.")
                };
                let name = String::from_utf8_lossy(toks[k].text(src));
                // The called identifier, `obj.name` or `name`, as its first two segments
                // (what `param_slot` reads of it; no string is built for it).
                let obj: Cow<'_, str>;
                let (first, second) = if k >= 2 && member(k - 1) && toks[k - 2].kind == Tk::Ident {
                    if k >= 3 && member(k - 3) {
                        continue;
                    }
                    obj = String::from_utf8_lossy(toks[k - 2].text(src));
                    (&*obj, Some(&*name))
                } else if k >= 1 && member(k - 1) {
                    continue;
                } else {
                    (&*name, None)
                };
                if let Some((_, idx, slot)) = param_slot_of(fns, k, first, second) {
                    if !matches!(slot, Slot::Field { .. }) {
                        continue;
                    }
                    if let Some(e) = entry(&mut by_fn, fns, toks, idx) {
                        let c = (slot, name.into_owned());
                        if !e.calls.contains(&c) {
                            e.calls.push(c);
                        }
                    }
                }
            }
        }
    }
    let mut merged: Vec<FnFacts> = Vec::new();
    for (_, f) in by_fn {
        match merged
            .iter_mut()
            .find(|m| m.name == f.name && m.line == f.line && m.returned == f.returned)
        {
            Some(m) => {
                m.sinks.extend(f.sinks);
                m.forwards.extend(f.forwards);
                m.calls.extend(f.calls);
            }
            None => merged.push(f),
        }
    }
    FileFacts {
        path: path.to_string(),
        fns: merged,
        bindings: bindings(src, toks, lang),
        aliases: aliases(src, toks, lang),
        defined: {
            let mut names: Vec<String> = fns.iter().filter_map(|f| f.name.clone()).collect();
            names.sort();
            names.dedup();
            names
        },
        passed,
    }
}

/// `const a = b;`, `export const a = x.b`, `self.a = self.x.b`: `a` names the function `b`.
/// JS/TS `const { b: a } = useTracking()`: the field `b` renamed `a` (a hook's or module's
/// wrapper under another name), unless what is destructured is the PostHog client (its
/// methods are the client's calls: [`crate::bindings::ClientMethod`]) or comes from a
/// package (`useAnalytics()` of `some-analytics`: not the project's wrapper).
fn aliases(src: &[u8], toks: &[Token], lang: Lang) -> Vec<Binding> {
    let mut out = Vec::new();
    if lang.family() == Family::Js {
        let client = std::cell::OnceCell::new();
        let packages = std::cell::OnceCell::new();
        for k in 1..toks.len() {
            if !toks[k].is(src, "{")
                || toks[k - 1].kind != Tk::Ident
                || !matches!(toks[k - 1].text(src), b"const" | b"let" | b"var")
            {
                continue;
            }
            let Some(close) = close_of(src, toks, k) else {
                continue;
            };
            if !toks.get(close + 1).is_some_and(|t| t.is(src, "=")) {
                continue;
            }
            let foreign = || {
                let mut v = close + 2;
                if toks.get(v).is_some_and(|t| t.is(src, "await")) {
                    v += 1;
                }
                let from_package = toks.get(v).is_some_and(|t| {
                    t.kind == Tk::Ident
                        && packages
                            .get_or_init(|| crate::bindings::js_package_imports(src, toks))
                            .iter()
                            .any(|p: &String| t.is(src, p))
                });
                from_package
                    || client
                        .get_or_init(|| crate::bindings::of_file(src, toks, lang).client_methods)
                        .iter()
                        .any(|m| m.from == close)
            };
            for (local, path) in crate::functions::pattern_bindings(src, toks, k, close) {
                if let Some([field]) = path.as_deref() {
                    if *field != local && !foreign() {
                        out.push(Binding {
                            local,
                            call: field.clone(),
                            line: toks[k].line,
                        });
                    }
                }
            }
        }
    }
    for k in 1..toks.len().saturating_sub(1) {
        if !toks[k].is(src, "=") {
            continue;
        }
        let l = &toks[k - 1];
        if l.kind != Tk::Ident {
            continue;
        }
        // The value: a name chain ending the statement.
        let mut j = k + 1;
        let mut last = None;
        while j < toks.len() && toks[j].kind == Tk::Ident && toks[j].line == toks[k].line {
            last = Some(j);
            if toks
                .get(j + 1)
                .is_some_and(|n| matches!(n.text(src), b"." | b"?." | b"->"))
                && toks[j + 1].kind == Tk::Punct
            {
                j += 2;
            } else {
                j += 1;
                break;
            }
        }
        let Some(last) = last else {
            continue;
        };
        let ends = toks
            .get(j)
            .is_none_or(|n| n.line != toks[k].line || n.is(src, ";"));
        if !ends || j == k + 1 {
            continue;
        }
        let member_target = last > k + 1;
        let is_decl = k >= 2 && matches!(toks[k - 2].text(src), b"const" | b"let" | b"var");
        let is_self_attr = k >= 3
            && toks[k - 2].is(src, ".")
            && matches!(toks[k - 3].text(src), b"self" | b"this");
        if !(is_decl
            || is_self_attr
            || (lang == Lang::Python && k >= 2 && toks[k - 2].line != l.line))
        {
            continue;
        }
        let target = String::from_utf8_lossy(toks[last].text(src)).into_owned();
        let local = String::from_utf8_lossy(l.text(src)).into_owned();
        if local != target && (member_target || is_decl || lang == Lang::Python) {
            out.push(Binding {
                local,
                call: target,
                line: toks[k].line,
            });
        }
    }
    out
}

/// How a call passes a value, borrowed from the source (an [`ArgShape`] once kept).
enum ArgRef<'a> {
    Pos(usize),
    Named(Cow<'a, str>),
    Receiver,
}

impl ArgRef<'_> {
    fn to_shape(&self) -> ArgShape {
        match self {
            ArgRef::Pos(n) => ArgShape::Pos(*n),
            ArgRef::Named(k) => ArgShape::Named(k.to_string()),
            ArgRef::Receiver => ArgShape::Receiver,
        }
    }
}

/// A token's text without a leading `$` (borrowed unless it is not UTF-8).
fn name_of<'a>(src: &'a [u8], t: &Token) -> Cow<'a, str> {
    match String::from_utf8_lossy(t.text(src)) {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim_start_matches('$')),
        Cow::Owned(s) => Cow::Owned(s.trim_start_matches('$').to_string()),
    }
}

/// Every call argument that is a bare name (or `a.b`), handed to `out` as (call token,
/// argument token, callee, how it is passed, the name). JSX attributes `<C attr={name}>`
/// count as named arguments. Nothing is allocated for the (many) arguments `out` ignores.
fn forwarded_args(
    src: &[u8],
    toks: &[Token],
    lang: Lang,
    out: &mut dyn FnMut(usize, usize, &str, ArgRef<'_>, &str),
) {
    let is_js = lang.family() == Family::Js;
    for k in 0..toks.len() {
        let t = &toks[k];
        if t.kind != Tk::Ident {
            continue;
        }
        if is_js && k > 0 && toks[k - 1].is(src, "<") {
            let callee = name_of(src, t);
            // JSX element: attributes up to `>` or `/>`.
            let mut j = k + 1;
            while j + 3 < toks.len() {
                let a = &toks[j];
                if a.is(src, ">") || a.is(src, "/") || a.is(src, "<") {
                    break;
                }
                if a.is(src, "{") {
                    j = close_of(src, toks, j).unwrap_or(j) + 1;
                    continue;
                }
                if a.kind == Tk::Ident && toks[j + 1].is(src, "=") && toks[j + 2].is(src, "{") {
                    let close = close_of(src, toks, j + 2).unwrap_or(j + 2);
                    if let Some(name) = bare_name(src, toks, j + 3, close) {
                        let attr = String::from_utf8_lossy(a.text(src));
                        out(k, j + 3, &callee, ArgRef::Named(attr), &name);
                    }
                    j = close + 1;
                    continue;
                }
                j += 1;
            }
            continue;
        }
        let Some(open) = toks.get(k + 1).filter(|o| o.is(src, "(")).map(|_| k + 1) else {
            continue;
        };
        let callee = name_of(src, t);
        // `x.method(…)`: `x` is passed as the receiver.
        if k >= 2
            && toks[k - 1].is(src, ".")
            && toks[k - 2].kind == Tk::Ident
            && (k < 3 || !matches!(toks[k - 3].text(src), b"." | b"?." | b"->"))
        {
            let recv = String::from_utf8_lossy(toks[k - 2].text(src));
            out(k, k - 2, &callee, ArgRef::Receiver, &recv);
        }
        let Some(close) = close_of(src, toks, open) else {
            continue;
        };
        let mut pos = 0usize;
        for (s, e) in split(src, toks, open + 1, close) {
            let (s0, e0) = (s, e);
            // Keyword argument `name=x` / `name: x`.
            if e0 - s0 >= 3
                && toks[s0].kind == Tk::Ident
                && (toks[s0 + 1].is(src, "=") || (!is_js && toks[s0 + 1].is(src, ":")))
            {
                if let Some(name) = bare_name(src, toks, s0 + 2, e0) {
                    let kw = String::from_utf8_lossy(toks[s0].text(src));
                    out(k, s0 + 2, &callee, ArgRef::Named(kw), &name);
                }
                continue;
            }
            // Object argument `{ event: x, flag }`.
            if toks[s0].is(src, "{") {
                let c = close_of(src, toks, s0).unwrap_or(e0).min(e0);
                for (ms, me) in split(src, toks, s0 + 1, c) {
                    let m = &toks[ms];
                    if m.kind != Tk::Ident && m.kind != Tk::Str {
                        continue;
                    }
                    let key: Cow<'_, str> = if m.kind == Tk::Str {
                        Cow::Owned(crate::lexer::str_value(src, m))
                    } else {
                        String::from_utf8_lossy(m.text(src))
                    };
                    if me == ms + 1 && m.kind == Tk::Ident {
                        out(k, ms, &callee, ArgRef::Named(key.clone()), &key);
                    } else if me > ms + 2 && toks[ms + 1].is(src, ":") {
                        if let Some(name) = bare_name(src, toks, ms + 2, me) {
                            out(k, ms + 2, &callee, ArgRef::Named(key), &name);
                        }
                    }
                }
                pos += 1;
                continue;
            }
            if toks[s0].is(src, "**") || toks[s0].is(src, "...") {
                continue;
            }
            if let Some(name) = bare_name(src, toks, s0, e0) {
                out(k, s0, &callee, ArgRef::Pos(pos), &name);
            }
            pos += 1;
        }
    }
}

/// `x`, `a.b` (two segments at most), if `s..e` is just that.
fn bare_name<'a>(src: &'a [u8], toks: &[Token], s: usize, e: usize) -> Option<Cow<'a, str>> {
    match e.checked_sub(s)? {
        1 if toks[s].kind == Tk::Ident => Some(name_of(src, &toks[s])),
        3 if toks[s].kind == Tk::Ident
            && toks[s + 2].kind == Tk::Ident
            && matches!(toks[s + 1].text(src), b"." | b"?." | b"->") =>
        {
            Some(Cow::Owned(format!(
                "{}.{}",
                name_of(src, &toks[s]),
                name_of(src, &toks[s + 2])
            )))
        }
        _ => None,
    }
}

/// The comma-separated pieces of `toks[from..to]` at bracket depth 0, as token ranges
/// (empty pieces left out), made as they are iterated (nothing is allocated).
fn split<'a>(src: &'a [u8], toks: &'a [Token], from: usize, to: usize) -> Split<'a> {
    Split {
        src,
        toks,
        j: from,
        to,
        depth: 0,
        start: from,
        done: false,
    }
}

struct Split<'a> {
    src: &'a [u8],
    toks: &'a [Token],
    /// The next token to look at.
    j: usize,
    to: usize,
    depth: usize,
    /// Where the current piece starts.
    start: usize,
    /// The last piece has been handed out.
    done: bool,
}

impl Iterator for Split<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let end = self.to.min(self.toks.len());
        while self.j < end {
            let j = self.j;
            self.j += 1;
            let t = &self.toks[j];
            if t.kind != Tk::Punct {
                continue;
            }
            match t.text(self.src) {
                b"(" | b"[" | b"{" => self.depth += 1,
                b")" | b"]" | b"}" => self.depth = self.depth.saturating_sub(1),
                b"," if self.depth == 0 => {
                    let start = self.start;
                    self.start = j + 1;
                    if start < j {
                        return Some((start, j));
                    }
                }
                _ => {}
            }
        }
        if self.done {
            return None;
        }
        self.done = true;
        (self.start < self.to).then_some((self.start, self.to))
    }
}

/// `const x = f(…)`, `x := f(…)`, `x = f(…)`: a name bound to a call's result.
fn bindings(src: &[u8], toks: &[Token], lang: Lang) -> Vec<Binding> {
    let mut out = Vec::new();
    if !matches!(lang.family(), Family::Js | Family::Python | Family::Go) {
        return out;
    }
    for k in 1..toks.len().saturating_sub(2) {
        let eq = &toks[k];
        if !(eq.is(src, "=") || eq.is(src, ":=")) {
            continue;
        }
        let (l, c, o) = (&toks[k - 1], &toks[k + 1], &toks[k + 2]);
        if l.kind != Tk::Ident || c.kind != Tk::Ident || !o.is(src, "(") {
            continue;
        }
        if k >= 2 && matches!(toks[k - 2].text(src), b"." | b"?." | b"->") {
            continue;
        }
        out.push(Binding {
            local: String::from_utf8_lossy(l.text(src)).into_owned(),
            call: String::from_utf8_lossy(c.text(src)).into_owned(),
            line: eq.line,
        });
    }
    out
}

/// The wrappers the facts imply, closed to a fixed point. `configured` names win: no
/// wrapper of that name is inferred.
///
/// Allocation-light: a candidate is checked against what is already known (by borrowed
/// name, slot, path and line) before anything is cloned, so the fixed-point loop's later
/// passes, which find mostly what they found before, allocate nothing.
pub(crate) fn close<F: Borrow<FileFacts>>(
    facts: &[F],
    configured: &BTreeSet<String>,
) -> Vec<Inferred> {
    let files: Vec<(&FileFacts, Family)> = facts
        .iter()
        .map(Borrow::borrow)
        .filter_map(|f: &FileFacts| Lang::from_path(&f.path).map(|l| (f, l.family())))
        .collect();
    let mut found = Found::default();
    for &(file, family) in &files {
        for f in &file.fns {
            for s in &f.sinks {
                let c = Candidate {
                    name: &f.name,
                    family,
                    slot: &s.slot,
                    kind: s.kind,
                    path: &file.path,
                    line: f.line,
                    only_in: None,
                    returned: f.returned,
                };
                found.add(configured, &c, || Inferred {
                    name: f.name.clone(),
                    family,
                    slot: s.slot.clone(),
                    kind: s.kind,
                    sdk: s.sdk.clone(),
                    side: s.side,
                    path: file.path.clone(),
                    line: f.line,
                    only_in: None,
                    returned: f.returned,
                    origin: f.name.clone(),
                    props: s.props.clone(),
                    default: s.default.clone(),
                });
            }
        }
    }
    // Forwards into a wrapper's key make the forwarding function a wrapper, to a fixed point.
    loop {
        let mut new = Vec::new();
        for &(file, family) in &files {
            for f in &file.fns {
                for fw in &f.forwards {
                    let Some(targets) = found.get(family, &fw.callee) else {
                        continue;
                    };
                    // A function of the file's own with the callee's name is the one called.
                    let local = file.defined.binary_search(&fw.callee).is_ok();
                    for w in targets.iter().filter(|w| {
                        !w.returned
                            && w.only_in.is_none()
                            && (!local || w.path == file.path)
                            && w.accepts(&fw.arg)
                    }) {
                        let Some(slot) = w.through_ref(&fw.slot, &fw.arg) else {
                            continue;
                        };
                        let c = Candidate {
                            name: &f.name,
                            family,
                            slot: &slot,
                            kind: w.kind,
                            path: &file.path,
                            line: f.line,
                            only_in: None,
                            returned: f.returned,
                        };
                        if found.has(configured, &c) {
                            continue;
                        }
                        new.push(Inferred {
                            name: f.name.clone(),
                            family,
                            slot: slot.into_owned(),
                            kind: w.kind,
                            sdk: w.sdk.clone(),
                            side: w.side,
                            path: file.path.clone(),
                            line: f.line,
                            only_in: None,
                            returned: f.returned,
                            origin: f.name.clone(),
                            props: None,
                            default: None,
                        });
                    }
                }
            }
        }
        // `const trackEvent = track`: another name for a wrapper.
        for &(file, family) in &files {
            for a in &file.aliases {
                let targets = found.get(family, &a.call);
                // A same-named function of the alias's own file is the one it names.
                let local_target = targets.is_some_and(|ws| ws.iter().any(|w| w.path == file.path));
                for w in targets.into_iter().flatten() {
                    if w.only_in.is_none() && (!local_target || w.path == file.path) {
                        let c = Candidate {
                            name: &a.local,
                            family: w.family,
                            slot: &w.slot,
                            kind: w.kind,
                            path: &file.path,
                            line: a.line,
                            only_in: w.only_in.as_deref(),
                            returned: w.returned,
                        };
                        if found.has(configured, &c) {
                            continue;
                        }
                        new.push(Inferred {
                            name: a.local.clone(),
                            path: file.path.clone(),
                            line: a.line,
                            ..w.clone()
                        });
                    }
                }
            }
        }
        let mut changed = false;
        for w in new {
            changed |= found.add_owned(configured, w);
        }
        if !changed {
            break;
        }
    }
    // `const track = useTrack()`: `track` is a wrapper in that file.
    let mut local = Vec::new();
    for &(file, family) in &files {
        for b in &file.bindings {
            if configured.contains(&b.local) {
                continue;
            }
            let Some(ws) = found.get(family, &b.call) else {
                continue;
            };
            for w in ws.iter().filter(|w| w.returned) {
                let c = Candidate {
                    name: &b.local,
                    family: w.family,
                    slot: &w.slot,
                    kind: w.kind,
                    path: &w.path,
                    line: w.line,
                    only_in: Some(&file.path),
                    returned: false,
                };
                if found.has(configured, &c) {
                    continue;
                }
                local.push(Inferred {
                    name: b.local.clone(),
                    only_in: Some(file.path.clone()),
                    returned: false,
                    ..w.clone()
                });
            }
        }
    }
    for w in local {
        found.add_owned(configured, w);
    }
    // `<NavDrawer posthogCapture={posthogCapture}>` where `NavDrawer` calls its prop
    // `posthogCapture(…)`: in the component's file, that name is the wrapper passed.
    let mut props = Vec::new();
    // The functions of each family by name (built only if some file passes a wrapper).
    let mut fns_named: Option<FnsByName<'_>> = None;
    for &(file, family) in &files {
        for p in &file.passed {
            let Some(ws) = found.get(family, &p.name) else {
                continue;
            };
            let local = file.defined.binary_search(&p.name).is_ok();
            let named = fns_named.get_or_insert_with(|| {
                let mut m: FnsByName<'_> = Default::default();
                for &(g, fam) in &files {
                    for f in g.fns.iter().filter(|f| !f.returned) {
                        m.entry((fam, f.name.as_str())).or_default().push((g, f));
                    }
                }
                m
            });
            for w in ws.iter().filter(|w| {
                !w.returned
                    && match &w.only_in {
                        Some(only) => *only == file.path,
                        None => !local || w.path == file.path,
                    }
            }) {
                for &(g, f) in named
                    .get(&(family, p.callee.as_str()))
                    .into_iter()
                    .flatten()
                {
                    for (slot, name) in &f.calls {
                        if matches!(slot, Slot::Field { field, .. } if *field == p.attr) {
                            props.push(Inferred {
                                name: name.clone(),
                                path: g.path.clone(),
                                line: f.line,
                                only_in: Some(g.path.clone()),
                                ..w.clone()
                            });
                        }
                    }
                }
            }
        }
    }
    for w in props {
        found.add_owned(configured, w);
    }
    let mut out: Vec<Inferred> = found.into_sorted();
    out.sort_by(|a, b| {
        (&a.name, &a.path, a.line, &a.slot, a.kind)
            .cmp(&(&b.name, &b.path, b.line, &b.slot, b.kind))
    });
    out
}

/// Every function of every file by family and name (with its file).
type FnsByName<'a> = crate::FastMap<(Family, &'a str), Vec<(&'a FileFacts, &'a FnFacts)>>;

/// What identifies an inferred wrapper for [`close`]'s de-duplication, borrowed.
struct Candidate<'a> {
    name: &'a str,
    family: Family,
    slot: &'a Slot,
    kind: Kind,
    path: &'a str,
    line: u32,
    only_in: Option<&'a str>,
    returned: bool,
}

impl Candidate<'_> {
    fn same(&self, x: &Inferred) -> bool {
        x.slot == *self.slot
            && x.kind == self.kind
            && x.returned == self.returned
            && x.only_in.as_deref() == self.only_in
            && x.path == self.path
            && x.line == self.line
    }
}

/// The wrappers [`close`] has found, by family and name, each name's in the order found.
#[derive(Default)]
struct Found {
    by: crate::FastMap<Family, crate::FastMap<String, Vec<Inferred>>>,
}

impl Found {
    fn get(&self, family: Family, name: &str) -> Option<&Vec<Inferred>> {
        self.by.get(&family)?.get(name)
    }

    /// Whether `c` is known already (or must not be inferred: a configured name).
    fn has(&self, configured: &BTreeSet<String>, c: &Candidate<'_>) -> bool {
        configured.contains(c.name)
            || self
                .get(c.family, c.name)
                .is_some_and(|list| list.iter().any(|x| c.same(x)))
    }

    /// Adds the wrapper `make` builds unless `c` (which describes it) is known.
    fn add(
        &mut self,
        configured: &BTreeSet<String>,
        c: &Candidate<'_>,
        make: impl FnOnce() -> Inferred,
    ) -> bool {
        if self.has(configured, c) {
            return false;
        }
        let w = make();
        self.by
            .entry(w.family)
            .or_default()
            .entry(w.name.clone())
            .or_default()
            .push(w);
        true
    }

    fn add_owned(&mut self, configured: &BTreeSet<String>, w: Inferred) -> bool {
        let c = Candidate {
            name: &w.name,
            family: w.family,
            slot: &w.slot,
            kind: w.kind,
            path: &w.path,
            line: w.line,
            only_in: w.only_in.as_deref(),
            returned: w.returned,
        };
        if self.has(configured, &c) {
            return false;
        }
        self.by
            .entry(w.family)
            .or_default()
            .entry(w.name.clone())
            .or_default()
            .push(w);
        true
    }

    /// Every wrapper, by family and name (each name's in the order found), as the former
    /// `BTreeMap<(Family, String), _>` gave them.
    fn into_sorted(self) -> Vec<Inferred> {
        let mut lists: Vec<((Family, String), Vec<Inferred>)> = self
            .by
            .into_iter()
            .flat_map(|(f, m)| m.into_iter().map(move |(n, l)| ((f, n), l)))
            .collect();
        lists.sort_by(|a, b| a.0.cmp(&b.0));
        lists.into_iter().flat_map(|(_, l)| l).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(path: &str, fns: Vec<FnFacts>) -> FileFacts {
        FileFacts {
            path: path.into(),
            fns,
            bindings: Vec::new(),
            aliases: Vec::new(),
            defined: Vec::new(),
            passed: Vec::new(),
        }
    }

    fn param(i: usize, n: &str) -> Slot {
        Slot::Param {
            index: i,
            name: n.into(),
        }
    }

    #[test]
    fn closes_transitively_and_respects_argument_positions() {
        let base = FnFacts {
            name: "track".into(),
            line: 1,
            returned: false,
            sinks: vec![Sink {
                slot: param(0, "event"),
                kind: Kind::Event,
                sdk: "posthog-js".into(),
                side: Side::Frontend,
                props: None,
                default: None,
            }],
            forwards: vec![],
            calls: vec![],
        };
        let outer = FnFacts {
            name: "trackClick".into(),
            line: 3,
            returned: false,
            sinks: vec![],
            forwards: vec![Forward {
                slot: param(1, "what"),
                callee: "track".into(),
                arg: ArgShape::Pos(0),
            }],
            calls: vec![],
        };
        let wrong_pos = FnFacts {
            name: "notAWrapper".into(),
            line: 9,
            returned: false,
            sinks: vec![],
            forwards: vec![Forward {
                slot: param(0, "props"),
                callee: "track".into(),
                arg: ArgShape::Pos(1),
            }],
            calls: vec![],
        };
        let all = vec![
            facts("a.ts", vec![base]),
            facts("b.ts", vec![outer, wrong_pos]),
        ];
        let got: Vec<(String, Slot)> = close(&all, &BTreeSet::new())
            .into_iter()
            .map(|w| (w.name, w.slot))
            .collect();
        assert_eq!(
            got,
            vec![
                ("track".into(), param(0, "event")),
                ("trackClick".into(), param(1, "what")),
            ]
        );
        let configured: BTreeSet<String> = ["track".to_string()].into();
        assert!(close(&all, &configured).is_empty());
    }

    #[test]
    fn an_inert_change_infers_the_same_and_others_are_not_inert() {
        let sink = |name: &str| FnFacts {
            name: name.into(),
            line: 1,
            returned: false,
            sinks: vec![Sink {
                slot: param(0, "event"),
                kind: Kind::Event,
                sdk: "posthog-js".into(),
                side: Side::Frontend,
                props: None,
                default: None,
            }],
            forwards: vec![],
            calls: vec![],
        };
        let forward = |name: &str, callee: &str| FnFacts {
            name: name.into(),
            line: 5,
            returned: false,
            sinks: vec![],
            forwards: vec![Forward {
                slot: param(0, "what"),
                callee: callee.into(),
                arg: ArgShape::Pos(0),
            }],
            calls: vec![],
        };
        let a = facts("a.ts", vec![sink("track")]);
        let old = facts("b.ts", vec![forward("trackClick", "track")]);
        let cases = [
            // A function forwarding to something no wrapper is named after.
            (
                facts(
                    "b.ts",
                    vec![forward("trackClick", "track"), forward("show", "log")],
                ),
                true,
            ),
            // Into a wrapper: a new wrapper.
            (
                facts(
                    "b.ts",
                    vec![forward("trackClick", "track"), forward("show", "track")],
                ),
                false,
            ),
            // The forward into the wrapper removed.
            (facts("b.ts", vec![]), false),
            // A local function named like the wrapper.
            (
                FileFacts {
                    defined: vec!["track".into()],
                    ..old.clone()
                },
                false,
            ),
            (
                FileFacts {
                    defined: vec!["render".into()],
                    ..old.clone()
                },
                true,
            ),
            // A new sink.
            (
                facts("b.ts", vec![forward("trackClick", "track"), sink("log")]),
                false,
            ),
        ];
        let before = close(&[a.clone(), old.clone()], &BTreeSet::new());
        for (new, inert) in cases {
            let names: BTreeSet<&str> = before.iter().map(|w| w.name.as_str()).collect();
            assert_eq!(
                FileFacts::inert_change(&old, &new, &|n| names.contains(n)),
                inert,
                "{new:?}"
            );
            if inert {
                assert_eq!(close(&[a.clone(), new], &BTreeSet::new()), before);
            }
        }
    }

    /// The iterator hands out exactly the pieces the collecting version did, on every
    /// range of real tokens (this crate's sources, as TypeScript).
    #[test]
    fn split_hands_out_the_pieces_of_the_definition() {
        fn pieces(src: &[u8], toks: &[Token], from: usize, to: usize) -> Vec<(usize, usize)> {
            let mut out = Vec::new();
            let mut depth = 0usize;
            let mut start = from;
            for (j, t) in toks.iter().enumerate().take(to).skip(from) {
                if t.kind == Tk::Punct {
                    match t.text(src) {
                        b"(" | b"[" | b"{" => depth += 1,
                        b")" | b"]" | b"}" => depth = depth.saturating_sub(1),
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
        let src = include_bytes!("infer.rs");
        let mut toks = Vec::new();
        crate::lexer::tokenize(src, Lang::Ts, &mut toks);
        let n = toks.len();
        assert!(n > 1000);
        for from in (0..n).step_by(97) {
            for len in [0, 1, 2, 5, 17, 60, 300] {
                let to = from + len;
                let got: Vec<_> = split(src, &toks, from, to).collect();
                assert_eq!(got, pieces(src, &toks, from, to), "{from}..{to}");
            }
        }
        let past: Vec<_> = split(src, &toks, n - 3, n + 5).collect();
        assert_eq!(past, pieces(src, &toks, n - 3, n + 5));
    }
}
