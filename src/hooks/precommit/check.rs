//! The gate's decisions, without I/O: which references a change adds, which of them are
//! waived, and what is wrong with each (undocumented, unverifiable, badly named, dynamic).
//!
//! **What a change adds.** A reference in the new version of a changed file is *added* when its
//! key (event name or flag key) is not referenced anywhere in the previous version of the
//! changed files; a reference whose key is not known (an identifier still to resolve) is
//! compared by the identifier it is written as, and one that stays dynamic (an interpolated
//! string) counts only when its own line is an added line. So a capture that is moved,
//! re-indented or reformatted is not new, a multi-line call whose key sits on an added line is,
//! and so is a capture whose in-file constant now has a new value. Existing debt (a key that was
//! already referenced before the change) is the audit's business, not the gate's.
//!
//! **Invariants.**
//! - Only an undocumented key, a key whose documentation could not be checked under
//!   `sync.strict_offline`, a naming rule set to `error`, or a check of a flag PostHog no longer
//!   serves (the snapshot's `dead_flags`, as `scan --check` judges it) can block, and never when
//!   the line carries a waiver with a reason.
//! - A dynamic key is a warning ("cannot check"), never a block.
//! - `$` events are PostHog's own: never checked unless `sync.include_builtin_events`.
//! - Naming rules judge every event name the change adds, documented or not (documentation
//!   comes first, so exempting documented names would exempt every name); `$` events are
//!   exempt, and a waiver covers them like any other problem.
//! - Findings come out sorted by path, line, kind and key, so output is deterministic.

use std::collections::BTreeSet;

use kodo_scan::{Inference, Kind, Reference, ScanSettings};
use serde::{Deserialize, Serialize};

use crate::config::{NamingRules, RuleLevel};

use crate::lookup::{Answer, Answers};

/// A waiver found on a reference's line (or on a comment line just above it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum Waiver {
    None,
    /// `kodo-ignore: <reason>`.
    Waived(String),
    /// `kodo-ignore` without a reason: not a waiver.
    MissingReason,
}

/// A reference the change adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    pub path: String,
    pub line: u32,
    /// 1-based column, as the scanner gives it.
    pub column: u32,
    pub kind: Kind,
    pub key: Option<String>,
    pub identifier: Option<String>,
    pub dynamic_reason: Option<String>,
    pub waiver: Waiver,
}

/// One file of a change: its new path and text, and the lines the change adds.
pub struct NewFile<'a> {
    pub path: &'a str,
    pub text: &'a str,
    pub added: &'a BTreeSet<u32>,
}

/// One file's previous version.
pub struct OldFile<'a> {
    pub path: &'a str,
    pub text: &'a str,
}

/// What the previous version of the changed files referenced.
#[derive(Default)]
pub struct Before {
    keys: BTreeSet<(Kind, String)>,
    identifiers: BTreeSet<(Kind, String)>,
    /// `(event, property)` pairs the previous version's captures sent.
    properties: BTreeSet<(String, String)>,
}

impl Before {
    pub fn scan(old: &[OldFile<'_>], settings: &ScanSettings, inference: &Inference) -> Before {
        let mut before = Before::default();
        for file in old {
            for r in kodo_scan::scan_file_text_inferred(file.path, file.text, settings, inference) {
                if let (Some(key), Some(set)) = (&r.key, &r.properties) {
                    for k in &set.keys {
                        before.properties.insert((key.clone(), k.name.clone()));
                    }
                }
                if let Some(key) = r.key {
                    before.keys.insert((r.kind, key));
                }
                if let Some(id) = r.identifier {
                    before.identifiers.insert((r.kind, id));
                }
            }
        }
        before
    }

    /// Whether `key` of `kind` was referenced before the change.
    pub fn had_key(&self, kind: Kind, key: &str) -> bool {
        self.keys.contains(&(kind, key.to_string()))
    }
}

/// The references the change adds (see the module documentation), sorted by path and line.
/// Identifiers are left for the caller to resolve.
pub fn added_references(
    new: &[NewFile<'_>],
    before: &Before,
    settings: &ScanSettings,
    inference: &Inference,
) -> Vec<Added> {
    let mut out = Vec::new();
    for file in new {
        let refs = kodo_scan::scan_file_text_inferred(file.path, file.text, settings, inference);
        if refs.is_empty() {
            continue;
        }
        let lines: Vec<&str> = file.text.lines().collect();
        for r in refs {
            // Tests are not the product: a capture in a test file is not gated unless
            // `scan.include_tests` (or `--include-tests`) says so.
            if (r.in_test && !settings.include_tests) || !is_added(&r, file.added, before) {
                continue;
            }
            out.push(Added {
                waiver: waiver_for(&lines, r.line),
                path: file.path.to_string(),
                line: r.line,
                column: r.column,
                kind: r.kind,
                key: r.key,
                identifier: r.identifier,
                dynamic_reason: r.dynamic_reason,
            });
        }
    }
    out.sort_by(|a, b| (&a.path, a.line, a.kind).cmp(&(&b.path, b.line, b.kind)));
    out
}

/// A property key a change adds to a capture: on an added line, and not sent with that
/// event by the previous version of the changed files (so a moved capture adds nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedProperty {
    pub path: String,
    pub line: u32,
    pub event: String,
    pub property: String,
    pub waiver: Waiver,
}

/// The property keys the change adds, sorted by path and line.
pub fn added_properties(
    new: &[NewFile<'_>],
    before: &Before,
    settings: &ScanSettings,
    inference: &Inference,
) -> Vec<AddedProperty> {
    let mut out = Vec::new();
    for file in new {
        let refs = kodo_scan::scan_file_text_inferred(file.path, file.text, settings, inference);
        let lines: Vec<&str> = file.text.lines().collect();
        for r in refs.iter().filter(|r| r.kind == Kind::Event) {
            let (Some(event), Some(set)) = (&r.key, &r.properties) else {
                continue;
            };
            for k in &set.keys {
                let pair = (event.clone(), k.name.clone());
                if file.added.contains(&k.line) && !before.properties.contains(&pair) {
                    out.push(AddedProperty {
                        path: file.path.to_string(),
                        line: k.line,
                        event: event.clone(),
                        property: k.name.clone(),
                        waiver: waiver_for(&lines, k.line),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.path, a.line, &a.property).cmp(&(&b.path, b.line, &b.property)));
    out.dedup();
    out
}

/// Judges the added property keys against the documented schemas (`schemas`: event → its
/// documented property names; an event without an entry is not judged here). A key the
/// schema lacks is a warning, an error with `sync.require_documented_properties`.
pub fn evaluate_properties(
    added: &[AddedProperty],
    schemas: &std::collections::BTreeMap<String, Vec<String>>,
    require_documented: bool,
) -> Vec<Finding> {
    added
        .iter()
        .filter_map(|a| {
            let documented = schemas.get(&a.event)?;
            if documented.contains(&a.property) {
                return None;
            }
            Some(Finding {
                path: a.path.clone(),
                line: a.line,
                kind: Kind::Event,
                key: Some(a.event.clone()),
                problem: Problem::UndocumentedProperty {
                    property: a.property.clone(),
                },
                severity: if require_documented {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                waiver: a.waiver.clone(),
            })
        })
        .collect()
}

fn is_added(r: &Reference, added_lines: &BTreeSet<u32>, before: &Before) -> bool {
    match (&r.key, &r.identifier) {
        (Some(key), _) => !before.had_key(r.kind, key),
        (None, Some(id)) => !before.identifiers.contains(&(r.kind, id.clone())),
        (None, None) => added_lines.contains(&r.line),
    }
}

const MARKER: &str = "kodo-ignore";

/// The waiver for a reference on 1-based `line`: on the line itself, or on the line above when
/// that line is only a comment.
pub fn waiver_for(lines: &[&str], line: u32) -> Waiver {
    let index = line as usize;
    let own = index.checked_sub(1).and_then(|i| lines.get(i));
    if let Some(w) = own.and_then(|l| parse_waiver(l)) {
        return w;
    }
    let above = index.checked_sub(2).and_then(|i| lines.get(i));
    match above {
        Some(l) if is_comment_line(l) => parse_waiver(l).unwrap_or(Waiver::None),
        _ => Waiver::None,
    }
}

fn is_comment_line(line: &str) -> bool {
    let t = line.trim_start();
    ["//", "#", "/*", "*", "--", "<!--", "{/*", "%", "'"]
        .iter()
        .any(|p| t.starts_with(p))
}

/// `kodo-ignore: reason` anywhere on the line; `None` when there is no marker.
pub fn parse_waiver(line: &str) -> Option<Waiver> {
    let at = line.find(MARKER)?;
    let rest = &line[at + MARKER.len()..];
    let Some(reason) = rest.strip_prefix(':') else {
        return Some(Waiver::MissingReason);
    };
    let mut reason = reason.trim();
    for closer in ["*/}", "*/", "-->", "%>", "#}", "}}"] {
        reason = reason.strip_suffix(closer).unwrap_or(reason).trim_end();
    }
    if reason.chars().any(char::is_alphanumeric) {
        Some(Waiver::Waived(reason.to_string()))
    } else {
        Some(Waiver::MissingReason)
    }
}

/// What is wrong with an added reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// No documentation row for the key.
    Undocumented,
    /// Neither the snapshot nor Notion could say.
    Unverified { reason: String },
    /// The event name is not snake_case.
    NotSnakeCase,
    /// The event name starts with none of the allowed prefixes.
    NoAllowedPrefix { prefixes: Vec<String> },
    /// The key is not a literal and could not be resolved.
    Dynamic { reason: String },
    /// The event's capture sends a property its Properties schema does not document.
    UndocumentedProperty { property: String },
    /// The flag is one PostHog no longer serves (deleted, archived, gone), as the last run
    /// that read PostHog's flags recorded it in the snapshot (`dead_flags`): the check the
    /// change adds is dead code, documented or not. `scan --check` fails on the same flag
    /// (`kodo/dead-flag-check`).
    DeadFlag {
        posthog_state: kodo_core::code::DeadState,
    },
}

/// Whether a finding blocks the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub path: String,
    pub line: u32,
    pub kind: Kind,
    pub key: Option<String>,
    #[serde(flatten)]
    pub problem: Problem,
    pub severity: Severity,
    pub waiver: Waiver,
}

impl Finding {
    /// Whether this finding stops the commit.
    pub fn blocks(&self) -> bool {
        self.severity == Severity::Error && !matches!(self.waiver, Waiver::Waived(_))
    }
}

/// A changed file the gate could not scan (too large, binary, minified, unreadable): never
/// passed over in silence. A warning naming it, or a block under `sync.strict_offline`, where
/// nothing may go in unchecked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unscanned {
    pub path: String,
    pub reason: kodo_scan::SkipReason,
    pub blocks: bool,
}

/// The settings evaluation needs.
pub struct Policy<'a> {
    pub include_builtin_events: bool,
    pub strict_offline: bool,
    pub naming: &'a NamingRules,
}

/// Whether a key is PostHog's own (`$pageview`).
pub fn is_builtin(kind: Kind, key: &str) -> bool {
    kind == Kind::Event && key.starts_with('$')
}

/// The keys whose documentation must be looked up.
pub fn keys_to_check(added: &[Added], policy: &Policy<'_>) -> BTreeSet<(Kind, String)> {
    added
        .iter()
        .filter_map(|a| a.key.as_ref().map(|k| (a.kind, k.clone())))
        .filter(|(kind, key)| policy.include_builtin_events || !is_builtin(*kind, key))
        .collect()
}

/// Judges every added reference.
pub fn evaluate(added: &[Added], answers: &Answers, policy: &Policy<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for a in added {
        let finding = |problem: Problem, severity: Severity| Finding {
            path: a.path.clone(),
            line: a.line,
            kind: a.kind,
            key: a.key.clone(),
            problem,
            severity,
            waiver: a.waiver.clone(),
        };
        let Some(key) = &a.key else {
            let reason = a
                .dynamic_reason
                .clone()
                .unwrap_or_else(|| "the key is not a string literal".into());
            out.push(finding(Problem::Dynamic { reason }, Severity::Warning));
            continue;
        };
        if is_builtin(a.kind, key) && !policy.include_builtin_events {
            continue;
        }
        let answer = answers.get_code(a.kind, key);
        match &answer {
            Answer::Documented => {}
            Answer::Undocumented => out.push(finding(Problem::Undocumented, Severity::Error)),
            Answer::Unknown => {
                let reason = answers
                    .unknown_reason
                    .clone()
                    .unwrap_or_else(|| "the documentation could not be read".into());
                let severity = if policy.strict_offline {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                out.push(finding(Problem::Unverified { reason }, severity));
            }
        }
        if a.kind == Kind::Event && !is_builtin(a.kind, key) {
            let rules = policy.naming;
            if let Some(severity) = level(rules.snake_case) {
                if !is_snake_case(key) {
                    out.push(finding(Problem::NotSnakeCase, severity));
                }
            }
            if let Some(severity) = level(rules.prefix_rule) {
                if !rules.prefixes.is_empty() && !rules.prefixes.iter().any(|p| key.starts_with(p))
                {
                    out.push(finding(
                        Problem::NoAllowedPrefix {
                            prefixes: rules.prefixes.clone(),
                        },
                        severity,
                    ));
                }
            }
        }
    }
    out.sort_by(|a, b| {
        (&a.path, a.line, a.kind, &a.key, a.severity)
            .cmp(&(&b.path, b.line, b.kind, &b.key, b.severity))
    });
    out
}

/// Added checks of flags PostHog no longer serves (`dead`, the snapshot's record): each is a
/// blocking [`Problem::DeadFlag`] in place of whatever its documentation said (a deleted
/// flag's row is usually still there, archived), as `scan --check` judges them.
pub fn apply_dead_flags(
    findings: &mut Vec<Finding>,
    added: &[Added],
    dead: &std::collections::BTreeMap<String, kodo_core::code::DeadState>,
) {
    if dead.is_empty() {
        return;
    }
    let is_dead = |kind: Kind, key: &Option<String>| {
        kind == Kind::Flag && key.as_ref().is_some_and(|k| dead.contains_key(k))
    };
    findings.retain(|f| {
        !(is_dead(f.kind, &f.key)
            && matches!(
                f.problem,
                Problem::Undocumented | Problem::Unverified { .. }
            ))
    });
    for a in added.iter().filter(|a| is_dead(a.kind, &a.key)) {
        let Some(key) = &a.key else { continue };
        findings.push(Finding {
            path: a.path.clone(),
            line: a.line,
            kind: a.kind,
            key: a.key.clone(),
            problem: Problem::DeadFlag {
                posthog_state: dead[key],
            },
            severity: Severity::Error,
            waiver: a.waiver.clone(),
        });
    }
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.kind, &a.key, a.severity)
            .cmp(&(&b.path, b.line, b.kind, &b.key, b.severity))
    });
}

fn level(rule: RuleLevel) -> Option<Severity> {
    match rule {
        RuleLevel::Off => None,
        RuleLevel::Warning => Some(Severity::Warning),
        RuleLevel::Error => Some(Severity::Error),
    }
}

/// `^[a-z][a-z0-9]*(_[a-z0-9]+)*$`.
pub fn is_snake_case(name: &str) -> bool {
    let mut parts = name.split('_');
    let Some(first) = parts.next() else {
        return false;
    };
    let first_ok = first.starts_with(|c: char| c.is_ascii_lowercase())
        && first
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && parts.all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ScanSettings {
        ScanSettings::default()
    }

    fn added_lines(lines: &[u32]) -> BTreeSet<u32> {
        lines.iter().copied().collect()
    }

    #[test]
    fn moved_and_unchanged_captures_are_not_added() {
        let old = "posthog.capture('kept_event')\nposthog.capture('moved_event')\n";
        let new = "posthog.capture('moved_event')\nposthog.capture('kept_event')\nposthog.capture('brand_new')\n";
        let before = Before::scan(
            &[OldFile {
                path: "a.js",
                text: old,
            }],
            &settings(),
            &Inference::default(),
        );
        let lines = added_lines(&[1, 3]);
        let added = added_references(
            &[NewFile {
                path: "a.js",
                text: new,
                added: &lines,
            }],
            &before,
            &settings(),
            &Inference::default(),
        );
        let keys: Vec<_> = added.iter().map(|a| a.key.clone().unwrap()).collect();
        assert_eq!(keys, ["brand_new"]);
        assert_eq!(added[0].line, 3);
    }

    #[test]
    fn a_key_on_an_added_line_of_a_multi_line_call_is_added() {
        let old = "posthog.capture(\n  'old_name',\n  {a: 1})\n";
        let new = "posthog.capture(\n  'new_name',\n  {a: 1})\n";
        let before = Before::scan(
            &[OldFile {
                path: "a.ts",
                text: old,
            }],
            &settings(),
            &Inference::default(),
        );
        let lines = added_lines(&[2]);
        let added = added_references(
            &[NewFile {
                path: "a.ts",
                text: new,
                added: &lines,
            }],
            &before,
            &settings(),
            &Inference::default(),
        );
        assert_eq!(added.len(), 1);
        assert_eq!(added[0].key.as_deref(), Some("new_name"));
    }

    #[test]
    fn dynamic_keys_count_only_on_added_lines() {
        // Calls inside the templates: dynamic in the file itself (a bare `${x}` would be a
        // name to look up in other files, which the gate compares by its text instead).
        let text = "posthog.capture(`a_${x()}`)\nposthog.capture(`b_${y()}`)\n";
        let lines = added_lines(&[2]);
        let added = added_references(
            &[NewFile {
                path: "a.js",
                text,
                added: &lines,
            }],
            &Before::default(),
            &settings(),
            &Inference::default(),
        );
        assert_eq!(added.len(), 1);
        assert_eq!(added[0].line, 2);
        assert!(added[0].key.is_none());
    }

    #[test]
    fn waivers_need_a_reason() {
        assert_eq!(
            parse_waiver("posthog.capture('x') // kodo-ignore: legacy backfill"),
            Some(Waiver::Waived("legacy backfill".into()))
        );
        assert_eq!(
            parse_waiver("x = 1  # kodo-ignore:   "),
            Some(Waiver::MissingReason)
        );
        assert_eq!(
            parse_waiver("x /* kodo-ignore */"),
            Some(Waiver::MissingReason)
        );
        assert_eq!(
            parse_waiver("{/* kodo-ignore: demo only */}"),
            Some(Waiver::Waived("demo only".into()))
        );
        assert_eq!(parse_waiver("nothing here"), None);
        let lines = [
            "// kodo-ignore: one-off",
            "posthog.capture('x')",
            "code(); // kodo-ignore: no",
            "posthog.capture('y')",
        ];
        assert_eq!(waiver_for(&lines, 2), Waiver::Waived("one-off".into()));
        // A waiver at the end of a code line covers that line only.
        assert_eq!(waiver_for(&lines, 4), Waiver::None);
        assert_eq!(waiver_for(&lines, 99), Waiver::None);
    }

    #[test]
    fn snake_case_rule() {
        for ok in ["user_signed_up", "a", "step2_done", "v2"] {
            assert!(is_snake_case(ok), "{ok}");
        }
        for bad in [
            "UserSignedUp",
            "user-signed-up",
            "user__x",
            "_x",
            "x_",
            "2x",
            "",
            "user signed",
        ] {
            assert!(!is_snake_case(bad), "{bad}");
        }
    }

    fn add(kind: Kind, key: Option<&str>, waiver: Waiver) -> Added {
        Added {
            path: "a.ts".into(),
            line: 1,
            column: 1,
            kind,
            key: key.map(String::from),
            identifier: None,
            dynamic_reason: key.is_none().then(|| "interpolated string".into()),
            waiver,
        }
    }

    #[test]
    fn evaluation_blocks_only_what_it_should() {
        let naming = NamingRules {
            snake_case: RuleLevel::Error,
            prefixes: vec!["user_".into()],
            prefix_rule: RuleLevel::Warning,
        };
        let policy = Policy {
            include_builtin_events: false,
            strict_offline: false,
            naming: &naming,
        };
        let mut answers = Answers::default();
        answers.by_key.insert(
            crate::lookup::code_key(Kind::Event, "user_ok"),
            Answer::Documented,
        );
        answers.by_key.insert(
            crate::lookup::code_key(Kind::Event, "user_Documented"),
            Answer::Documented,
        );
        answers.by_key.insert(
            crate::lookup::code_key(Kind::Event, "user_new"),
            Answer::Undocumented,
        );
        answers.by_key.insert(
            crate::lookup::code_key(Kind::Event, "other_thing"),
            Answer::Unknown,
        );
        answers.unknown_reason = Some("offline".into());
        let list = [
            add(Kind::Event, Some("user_ok"), Waiver::None),
            add(Kind::Event, Some("user_Documented"), Waiver::None),
            add(
                Kind::Event,
                Some("user_new"),
                Waiver::Waived("later".into()),
            ),
            add(Kind::Event, Some("other_thing"), Waiver::None),
            add(Kind::Event, Some("$pageview"), Waiver::None),
            add(Kind::Flag, None, Waiver::None),
        ];
        let findings = evaluate(&list, &answers, &policy);
        let problems: Vec<(&str, &Problem, bool)> = findings
            .iter()
            .map(|f| (f.key.as_deref().unwrap_or("?"), &f.problem, f.blocks()))
            .collect();
        assert_eq!(problems.len(), 5, "{problems:?}");
        // Documented, but the name the change adds breaks an error-level rule.
        assert!(problems.contains(&("user_Documented", &Problem::NotSnakeCase, true)));
        assert!(problems.contains(&("user_new", &Problem::Undocumented, false)));
        assert!(problems.contains(&(
            "other_thing",
            &Problem::Unverified {
                reason: "offline".into()
            },
            false
        )));
        assert!(problems.contains(&(
            "other_thing",
            &Problem::NoAllowedPrefix {
                prefixes: vec!["user_".into()]
            },
            false
        )));
        assert!(problems
            .iter()
            .any(|(k, p, b)| *k == "?" && matches!(p, Problem::Dynamic { .. }) && !b));

        let strict = Policy {
            include_builtin_events: true,
            strict_offline: true,
            naming: &naming,
        };
        let findings = evaluate(&list, &answers, &strict);
        assert!(findings
            .iter()
            .any(|f| f.key.as_deref() == Some("other_thing") && f.blocks()));
        // With built-in events included, `$pageview` is checked (and unknown here), but never
        // judged by the naming rules.
        let builtin: Vec<_> = findings
            .iter()
            .filter(|f| f.key.as_deref() == Some("$pageview"))
            .collect();
        assert_eq!(builtin.len(), 1);
        assert!(matches!(builtin[0].problem, Problem::Unverified { .. }));
    }

    #[test]
    fn naming_error_blocks_an_undocumented_name() {
        let naming = NamingRules {
            snake_case: RuleLevel::Error,
            prefixes: vec![],
            prefix_rule: RuleLevel::Error,
        };
        let policy = Policy {
            include_builtin_events: false,
            strict_offline: false,
            naming: &naming,
        };
        let mut answers = Answers::default();
        answers.by_key.insert(
            crate::lookup::code_key(Kind::Event, "Bad Name"),
            Answer::Undocumented,
        );
        let findings = evaluate(
            &[add(Kind::Event, Some("Bad Name"), Waiver::None)],
            &answers,
            &policy,
        );
        assert_eq!(findings.len(), 2);
        assert!(findings.iter().all(Finding::blocks));
        // An empty prefix list means no prefix rule at all.
        assert!(!findings
            .iter()
            .any(|f| matches!(f.problem, Problem::NoAllowedPrefix { .. })));
    }
}
