//! The names references still wait for after the per-file pass, as one list of look-ups
//! both cross-file resolvers (the full scan's and the single file's) answer the same way:
//! first the names whose import (or Go package) says which files define them, in just those
//! files, then every name still unanswered against all files of its language family.
//!
//! A reference written as a name has one look-up; an interpolated string (`` `${A}_${B}` ``,
//! `f"{A}_{B}"`, Go `A + "_" + B`) has one per name its own file does not define, and gets
//! a key only when every one of them resolves to one value: otherwise it stays dynamic,
//! with its location and its reason, never a guess.

use std::collections::{HashMap, HashSet};

use crate::imports::Origin;
use crate::lang::Family;
use crate::resolve::{DefIndex, Resolution};
use crate::scan::{apply, Found};

/// One name to resolve: the reference it belongs to, its family, where its import points
/// and the name to look up.
struct Ask {
    reference: usize,
    family: Family,
    origin: Option<Origin>,
    lookup: String,
}

/// The look-ups of a set of references and their answers so far.
pub(crate) struct Asks {
    asks: Vec<Ask>,
    answers: Vec<Option<Resolution>>,
}

impl Asks {
    /// The look-ups of every reference in `refs` that still waits for one.
    pub(crate) fn of(refs: &[Found]) -> Asks {
        let mut asks = Vec::new();
        for (i, f) in refs.iter().enumerate() {
            if !f.pending() {
                continue;
            }
            for (origin, lookup) in f.lookups() {
                asks.push(Ask {
                    reference: i,
                    family: f.family,
                    origin: origin.cloned(),
                    lookup: lookup.to_string(),
                });
            }
        }
        let answers = vec![None; asks.len()];
        Asks { asks, answers }
    }

    /// Whether there is nothing to look up.
    pub(crate) fn is_empty(&self) -> bool {
        self.asks.is_empty()
    }

    /// The look-ups whose import names the files to read, as `(origin, family, name)`
    /// requests (for [`Asks::answer_targeted`], in the same order).
    pub(crate) fn targeted(&self) -> Vec<(Origin, Family, String)> {
        self.targeted_positions()
            .filter_map(|a| {
                let ask = &self.asks[a];
                let origin = ask.origin.clone()?;
                Some((origin, ask.family, ask.lookup.clone()))
            })
            .collect()
    }

    fn targeted_positions(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.asks.len())
            .filter(|&a| matches!(self.asks[a].origin, Some(Origin::Stem(_) | Origin::Dir(_))))
    }

    /// Records the answers to [`Asks::targeted`]: a name those files do not define is left
    /// for the wider search, except a Go name without a package qualifier, which only its
    /// own package can define (a file with a dot import gives its names no origin).
    pub(crate) fn answer_targeted(&mut self, resolutions: Vec<Resolution>) {
        let positions: Vec<usize> = self.targeted_positions().collect();
        for (a, resolution) in positions.into_iter().zip(resolutions) {
            let own_package = matches!(self.asks[a].origin, Some(Origin::Dir(_)));
            if resolution != Resolution::Unresolved || own_package {
                self.answers[a] = Some(resolution);
            }
        }
    }

    /// The names still unanswered, per family.
    pub(crate) fn unanswered(&self) -> HashMap<Family, HashSet<String>> {
        let mut out: HashMap<Family, HashSet<String>> = HashMap::new();
        for (ask, answer) in self.asks.iter().zip(&self.answers) {
            if answer.is_none() {
                out.entry(ask.family)
                    .or_default()
                    .insert(ask.lookup.clone());
            }
        }
        out
    }

    /// Answers every name still unanswered from the definitions found per family.
    pub(crate) fn answer_from(&mut self, index: &HashMap<Family, DefIndex>) {
        let empty = DefIndex::default();
        for (ask, answer) in self.asks.iter().zip(self.answers.iter_mut()) {
            if answer.is_none() {
                let found = index.get(&ask.family).unwrap_or(&empty);
                *answer = Some(found.lookup_from(&ask.lookup, ask.origin.as_ref()));
            }
        }
    }

    /// Gives each reference its key or its dynamic reason from the answers (a name never
    /// answered is unresolved).
    pub(crate) fn settle(self, refs: &mut [Found]) {
        let mut at = 0;
        while at < self.asks.len() {
            let reference = self.asks[at].reference;
            let mut end = at;
            while end < self.asks.len() && self.asks[end].reference == reference {
                end += 1;
            }
            let answers: Vec<Resolution> = self.answers[at..end]
                .iter()
                .map(|a| a.clone().unwrap_or(Resolution::Unresolved))
                .collect();
            refs[reference].settle(&answers);
            at = end;
        }
    }
}

impl Found {
    /// Waits for the cross-file stage: neither a key nor a reason yet, and a name to look up.
    pub(crate) fn pending(&self) -> bool {
        self.r.key.is_none() && self.r.dynamic_reason.is_none() && self.r.identifier.is_some()
    }

    /// The names to look up, each with where its import points.
    fn lookups(&self) -> Vec<(Option<&Origin>, &str)> {
        match &self.template {
            Some(t) => t.lookups().collect(),
            None => match (&self.hint, &self.r.identifier) {
                (Some((origin, lookup)), _) => vec![(Some(origin), lookup.as_str())],
                (None, Some(id)) => vec![(None, id.as_str())],
                (None, None) => Vec::new(),
            },
        }
    }

    /// Sets the key or the reason from the answers to [`Found::lookups`], in order.
    fn settle(&mut self, answers: &[Resolution]) {
        let Some(t) = &self.template else {
            if let Some(resolution) = answers.first() {
                apply(&mut self.r, resolution);
            }
            return;
        };
        let mut values = answers.iter().map(|a| match a {
            Resolution::Resolved { value, .. } => Some(value.clone()),
            _ => None,
        });
        // A Go format of another file: the format's value first, then its arguments'.
        if let (Some(args), [crate::template::Part::Name(name)]) =
            (&t.format_args, t.parts.as_slice())
        {
            use crate::extract::{format_reason, go_verbs, FormatFailure};
            let outcome = match values.next().flatten() {
                None => Err(format_reason(&t.reason, name, FormatFailure::NotFound)),
                Some(format) => match go_verbs(&format, args.clone()) {
                    None => Err(format_reason(
                        &t.reason,
                        name,
                        FormatFailure::Uncomputable(&format),
                    )),
                    Some(parts) => crate::template::join(&parts, |_| values.next().flatten())
                        .ok_or_else(|| t.reason.clone()),
                },
            };
            match outcome {
                Ok(k) => self.r.key = Some(k),
                Err(reason) => self.r.dynamic_reason = Some(reason),
            }
            return;
        }
        let key = crate::template::join(&t.parts, |_| values.next().flatten());
        match key {
            Some(k) => self.r.key = Some(k),
            None => self.r.dynamic_reason = Some(t.reason.clone()),
        }
    }
}
