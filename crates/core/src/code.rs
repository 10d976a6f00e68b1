//! The audit's code section: what the source code captures and checks, set against what
//! PostHog has and Notion documents.
//!
//! Five findings, from a [`CodeScan`] and the inventory both sides gave:
//! 1. **in code only** — an event captured or a flag checked in code that PostHog and/or
//!    Notion lack (a flag PostHog does not have makes its check always false);
//! 2. **unreferenced** — documented events and flags no code references;
//! 3. **dead flag references** — flags PostHog no longer serves (deleted, archived, gone,
//!    inactive and documented as archived, or inactive behind an archived experiment) that
//!    code still checks: a live bug;
//! 4. **clean-up candidates** — flags released to everyone and unchanged for at least
//!    `sync.cleanup_after_days`, still checked in code;
//! 5. **dynamic** — references whose name the scan could not determine.
//!
//! **Invariants.**
//! - Pure: [`findings`] does no I/O and reads no clock (`now` is an input), so its output is
//!   exact and testable; renderers here only format a [`CodeReport`].
//! - PostHog's side is the normaliser's records, the ones the import plans from: a flag's
//!   rollout is [`crate::normalize::Rollout`]'s, a flag is gone by the normaliser's rule
//!   ([`crate::normalize::flag_retired`]: exactly the flags the import documents as retired),
//!   an experiment is archived when its record's status is the retired one, and Notion's
//!   retired statuses are the resource table's.
//! - Only the resources asked are judged: event findings need the events' PostHog and Notion
//!   sides, flag findings the flags'.
//! - A scan that found no reference at all judges nothing (a repository that does not use
//!   PostHog would otherwise list every documented name as unreferenced).
//! - `$` events are PostHog's own and are skipped unless `sync.include_builtin_events`.
//! - A flag is in at most one of "in code only" (missing from PostHog) and "dead flag
//!   references". Only those two make an audit out of sync; the other three are advisory.
//! - Lists are sorted (events before flags, then by key; dynamic references by location), and
//!   every reference is `path:line`, once per line.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use kodo_refs::display_path;
pub use kodo_refs::Kind;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::model::{NotionRow, Resource};

use crate::normalize::{day, is_builtin_event, Desired};

/// A system a name is missing from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    Posthog,
    Notion,
}

/// An event captured or a flag checked in code that PostHog and/or Notion lack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InCodeOnly {
    pub kind: Kind,
    pub key: String,
    pub missing: Vec<System>,
    pub references: Vec<String>,
}

/// A documented event or flag that no code references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreferenced {
    pub resource: Resource,
    pub key: String,
}

/// Why PostHog no longer serves a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadState {
    /// PostHog returns it with `deleted: true`, or it left PostHog's list and Notion
    /// documents it as archived (a deleted flag's status).
    Deleted,
    /// Documented, remembered by ID, and PostHog no longer knows that ID.
    NotFound,
    /// Inactive in PostHog, documented as archived in Notion.
    Inactive,
    /// Inactive (or gone), and the experiment that used it is archived.
    ExperimentArchived,
    /// Archived in PostHog (still listed, not deleted; PR #63338): done for good, as a
    /// deleted one, and documented as retired by the import.
    Archived,
}

impl DeadState {
    /// Why, in a few words: `deleted in PostHog`.
    pub fn phrase(self) -> &'static str {
        match self {
            DeadState::Deleted => "deleted in PostHog",
            DeadState::NotFound => "no longer in PostHog",
            DeadState::Inactive => "inactive in PostHog and archived in Notion",
            DeadState::ExperimentArchived => "inactive in PostHog; its experiment is archived",
            DeadState::Archived => "archived in PostHog",
        }
    }
}

/// A flag PostHog no longer serves that code still checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadFlag {
    pub key: String,
    pub posthog_state: DeadState,
    pub references: Vec<String>,
}

/// A flag released to everyone for long, still checked in code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleanup {
    pub key: String,
    /// The day of the flag's last change in PostHog (`YYYY-MM-DD`).
    pub since: String,
    pub references: Vec<String>,
}

/// A reference whose name the scan could not determine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dynamic {
    pub kind: Kind,
    pub path: String,
    pub line: u32,
    pub snippet: String,
    pub reason: String,
}

/// The code section of an audit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodeReport {
    /// Whether the scan ran and succeeded.
    pub scanned: bool,
    /// Why the code was not scanned.
    pub reason: Option<String>,
    pub files_scanned: usize,
    pub in_code_only: Vec<InCodeOnly>,
    pub unreferenced: Vec<Unreferenced>,
    pub dead_flag_references: Vec<DeadFlag>,
    pub cleanup_candidates: Vec<Cleanup>,
    pub dynamic: Vec<Dynamic>,
    /// Whether the scan found any reference at all (events or flags, resolved or not).
    pub any_reference: bool,
    /// `sync.cleanup_after_days`, for the report's wording.
    pub cleanup_after_days: u32,
}

impl CodeReport {
    /// The section of a scan that could not run.
    pub fn not_scanned(reason: &str) -> CodeReport {
        CodeReport {
            scanned: false,
            reason: Some(reason.to_string()),
            ..CodeReport::default()
        }
    }

    /// Whether the code agrees with the documentation. Problems: a name the code uses that
    /// Notion does not document, and a check of a flag PostHog no longer serves. A documented
    /// name PostHog has not seen yet is the documentation-first workflow (written, not yet
    /// deployed or created) and, like the other findings, advisory.
    pub fn in_sync(&self) -> bool {
        !self
            .in_code_only
            .iter()
            .any(|item| item.missing.contains(&System::Notion))
            && self.dead_flag_references.is_empty()
    }

    /// Whether the section has any finding.
    pub fn has_findings(&self) -> bool {
        !(self.in_code_only.is_empty()
            && self.unreferenced.is_empty()
            && self.dead_flag_references.is_empty()
            && self.cleanup_candidates.is_empty()
            && self.dynamic.is_empty())
    }
}

/// The code scan as the audit judges it: kodo-core's own input, so that the core does not
/// depend on the scanner. The binary converts kodo-scan's report into it at the edge
/// (`kodo::sync::scan::code_scan`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeScan {
    /// Source files read.
    pub files_scanned: usize,
    /// Every key the scan determined, events first, then by key.
    pub keys: Vec<ScannedKey>,
    /// References whose key could not be determined, by location.
    pub dynamic: Vec<CodeRef>,
}

/// One event name or flag key found in code, with every reference to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedKey {
    pub kind: Kind,
    pub key: String,
    /// Sorted by path, line and column.
    pub references: Vec<CodeRef>,
}

/// One capture or flag check in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRef {
    pub kind: Kind,
    /// Repo-relative path with `/` separators.
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// The trimmed source line.
    pub snippet: String,
    /// The reference is in a test file.
    pub in_test: bool,
    /// Why the key is unknown (only for a dynamic reference).
    pub dynamic_reason: Option<String>,
}

/// What [`findings`] judges: the scan, Notion's rows, and PostHog's side as the normaliser's
/// records, the ones the import plans from (`Normalizer::desired`). The code section reads a
/// flag's rollout, whether it is gone and whether an experiment is archived from those
/// records, so the audit's code section and its plan never disagree about a flag.
#[derive(Debug, Clone, Copy)]
pub struct CodeInput<'a> {
    pub scan: &'a CodeScan,
    /// The normaliser's event records (empty unless events were asked).
    pub events: &'a [Desired],
    /// The normaliser's flag records: every listed flag and each documented flag found
    /// deleted by ID (empty unless flags were asked).
    pub flags: &'a [Desired],
    /// The normaliser's experiment records (PostHog's experiments are read whenever flags
    /// are asked).
    pub experiments: &'a [Desired],
    /// Documented flags that left PostHog's list and can no longer be fetched.
    pub maybe_deleted: &'a BTreeSet<String>,
    /// Notion's event rows, when events were asked.
    pub notion_events: Option<&'a [NotionRow]>,
    /// Notion's flag rows, when flags were asked.
    pub notion_flags: Option<&'a [NotionRow]>,
    pub include_builtin_events: bool,
    pub cleanup_after_days: u32,
    pub now: OffsetDateTime,
}

/// `path:line` of each reference, once per line, in the scan's order; a file name's control
/// characters escaped (`kodo_refs::display_path`), as in every output people read.
pub(crate) fn locations<'a>(refs: impl IntoIterator<Item = &'a CodeRef>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in refs {
        let loc = format!("{}:{}", display_path(&r.path), r.line);
        if !out.contains(&loc) {
            out.push(loc);
        }
    }
    out
}

/// Notion's keys → statuses (a key documented twice keeps every status).
fn documented(rows: &[NotionRow]) -> BTreeMap<String, Vec<Option<String>>> {
    let mut out: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for row in rows {
        if let Some(key) = &row.record.keys.primary {
            out.entry(key.trim().to_string())
                .or_default()
                .push(row.record.status.clone());
        }
    }
    out
}

/// Whether `updated_at` is at least `days` days before `now`. An unreadable timestamp is
/// never old: kodo does not guess.
pub fn unchanged_for(updated_at: &str, days: u32, now: OffsetDateTime) -> bool {
    match OffsetDateTime::parse(updated_at.trim(), &Rfc3339) {
        Ok(at) => now - at >= time::Duration::days(i64::from(days)),
        Err(_) => false,
    }
}

/// Whether a flag record is gone from PostHog by the normaliser's rule
/// ([`crate::normalize::flag_retired`]: deleted or archived), which documents it as the
/// lifecycle's retired status.
fn retired(record: &Desired) -> bool {
    record
        .record
        .resource
        .schema()
        .is_retired(record.record.status.as_deref())
}

/// Whether one of `statuses` (a key's Notion rows) is `resource`'s retired status.
fn documented_retired(resource: Resource, statuses: Option<&Vec<Option<String>>>) -> bool {
    statuses.is_some_and(|s| {
        s.iter()
            .any(|st| resource.schema().is_retired(st.as_deref()))
    })
}

/// Every flag PostHog no longer serves, by key, and why: deleted in PostHog (returned with
/// `deleted: true`, or gone from its list while Notion documents it as retired), archived in
/// PostHog, no longer found by its remembered ID, inactive and documented as retired, or
/// inactive (or gone) behind an archived experiment. A flag PostHog still lists is gone by
/// the normaliser's rule: exactly the flags the import documents as retired. The one rule of
/// a dead flag: the audit's dead flag references and the snapshot's record of them
/// (`kodo scan --check`'s offline answer) both ask it. Empty unless the flags' Notion rows
/// were read.
pub fn dead_flags(input: &CodeInput) -> BTreeMap<String, DeadState> {
    let mut out = BTreeMap::new();
    let Some(rows) = input.notion_flags else {
        return out;
    };
    let notion = documented(rows);
    // A key listed twice (a deleted flag found by ID beside a listed one): the deleted one
    // counts, as the import archives it.
    let mut records: BTreeMap<&str, &Desired> = BTreeMap::new();
    for d in input.flags {
        let key = d.record.key.trim();
        if records.get(key).is_none_or(|seen| !seen.deleted) {
            records.insert(key, d);
        }
    }
    let archived_experiments: BTreeSet<&str> = input
        .experiments
        .iter()
        .filter(|x| retired(x))
        .filter_map(|x| x.record.keys.primary.as_deref())
        .map(str::trim)
        .collect();
    // Every key either side knows of.
    let keys: BTreeSet<&str> = records
        .keys()
        .copied()
        .chain(input.maybe_deleted.iter().map(|k| k.trim()))
        .chain(notion.keys().map(String::as_str))
        .chain(archived_experiments.iter().copied())
        .filter(|k| !k.is_empty())
        .collect();
    for key in keys {
        let statuses = notion.get(key);
        let record = records.get(key).copied();
        let served = record.filter(|d| !retired(d));
        let active = served.and_then(|d| d.serving.as_ref()).map(|s| s.active);
        let dead = match record {
            Some(d) if d.deleted => Some(DeadState::Deleted),
            Some(d) if retired(d) => Some(DeadState::Archived),
            _ if input.maybe_deleted.contains(key) => Some(DeadState::NotFound),
            None if documented_retired(Resource::Flags, statuses) => Some(DeadState::Deleted),
            None if archived_experiments.contains(key) => Some(DeadState::ExperimentArchived),
            Some(_) if active == Some(false) && archived_experiments.contains(key) => {
                Some(DeadState::ExperimentArchived)
            }
            Some(_) if active == Some(false) && documented_retired(Resource::Flags, statuses) => {
                Some(DeadState::Inactive)
            }
            _ => None,
        };
        if let Some(state) = dead {
            out.insert(key.to_string(), state);
        }
    }
    out
}

/// Judges the code against both sides.
pub fn findings(input: &CodeInput) -> CodeReport {
    let mut report = CodeReport {
        scanned: true,
        files_scanned: input.scan.files_scanned,
        any_reference: !input.scan.keys.is_empty() || !input.scan.dynamic.is_empty(),
        cleanup_after_days: input.cleanup_after_days,
        ..CodeReport::default()
    };
    if !report.any_reference {
        return report;
    }
    let wants_kind = |kind: Kind| match kind {
        Kind::Event => input.notion_events.is_some(),
        Kind::Flag => input.notion_flags.is_some(),
    };
    let skip_event = |key: &str| !input.include_builtin_events && is_builtin_event(key);
    let mut in_code: BTreeMap<Kind, BTreeSet<&str>> = BTreeMap::new();
    for k in &input.scan.keys {
        if k.kind == Kind::Event && skip_event(&k.key) {
            continue;
        }
        in_code.entry(k.kind).or_default().insert(k.key.trim());
    }

    if let Some(rows) = input.notion_events {
        let notion = documented(rows);
        let posthog: BTreeSet<&str> = input.events.iter().map(|e| e.record.key.trim()).collect();
        for k in input.scan.keys.iter().filter(|k| k.kind == Kind::Event) {
            let key = k.key.trim();
            if skip_event(key) {
                continue;
            }
            let mut missing = Vec::new();
            if !posthog.contains(key) {
                missing.push(System::Posthog);
            }
            if !notion.contains_key(key) {
                missing.push(System::Notion);
            }
            if !missing.is_empty() {
                report.in_code_only.push(InCodeOnly {
                    kind: Kind::Event,
                    key: key.to_string(),
                    missing,
                    references: locations(&k.references),
                });
            }
        }
        let referenced = in_code.get(&Kind::Event);
        for (key, statuses) in &notion {
            if skip_event(key)
                || documented_retired(Resource::Events, Some(statuses))
                || referenced.is_some_and(|r| r.contains(key.as_str()))
            {
                continue;
            }
            report.unreferenced.push(Unreferenced {
                resource: Resource::Events,
                key: key.clone(),
            });
        }
    }

    if let Some(rows) = input.notion_flags {
        let notion = documented(rows);
        // The flags PostHog serves: listed and not gone by the normaliser's rule.
        let served: BTreeMap<&str, &Desired> = input
            .flags
            .iter()
            .filter(|d| !d.deleted && !retired(d))
            .map(|d| (d.record.key.trim(), d))
            .collect();
        let dead_flags = dead_flags(input);
        for k in input.scan.keys.iter().filter(|k| k.kind == Kind::Flag) {
            let key = k.key.trim();
            let statuses = notion.get(key);
            let flag = served.get(key).copied();
            let references = locations(&k.references);
            let dead = dead_flags.get(key).copied();
            if let Some(state) = dead {
                report.dead_flag_references.push(DeadFlag {
                    key: key.to_string(),
                    posthog_state: state,
                    references,
                });
                continue;
            }
            let mut missing = Vec::new();
            if flag.is_none() {
                missing.push(System::Posthog);
            }
            if statuses.is_none() {
                missing.push(System::Notion);
            }
            if !missing.is_empty() {
                report.in_code_only.push(InCodeOnly {
                    kind: Kind::Flag,
                    key: key.to_string(),
                    missing,
                    references: references.clone(),
                });
            }
            if let Some(serving) = flag.and_then(|d| d.serving.as_ref()) {
                let updated = serving.updated_at.as_deref().unwrap_or("");
                if serving.active
                    && serving.rollout.everyone
                    && unchanged_for(updated, input.cleanup_after_days, input.now)
                {
                    report.cleanup_candidates.push(Cleanup {
                        key: key.to_string(),
                        since: day(updated).unwrap_or_default(),
                        references,
                    });
                }
            }
        }
        let referenced = in_code.get(&Kind::Flag);
        for (key, statuses) in &notion {
            if documented_retired(Resource::Flags, Some(statuses))
                || referenced.is_some_and(|r| r.contains(key.as_str()))
            {
                continue;
            }
            report.unreferenced.push(Unreferenced {
                resource: Resource::Flags,
                key: key.clone(),
            });
        }
    }

    report.dynamic = input
        .scan
        .dynamic
        .iter()
        .filter(|r| wants_kind(r.kind))
        .map(|r| Dynamic {
            kind: r.kind,
            path: r.path.clone(),
            line: r.line,
            snippet: r.snippet.clone(),
            reason: r.dynamic_reason.clone().unwrap_or_default(),
        })
        .collect();
    report
        .in_code_only
        .sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
    report
        .unreferenced
        .sort_by(|a, b| (a.resource, &a.key).cmp(&(b.resource, &b.key)));
    report
        .dead_flag_references
        .sort_by(|a, b| a.key.cmp(&b.key));
    report.cleanup_candidates.sort_by(|a, b| a.key.cmp(&b.key));
    report
}

fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Event => "Event",
        Kind::Flag => "Flag",
    }
}

/// Inline code that may itself hold backticks (a template literal): a longer fence, padded.
fn code_span(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    if longest == 0 {
        format!("`{s}`")
    } else {
        let fence = "`".repeat(longest + 1);
        format!("{fence} {s} {fence}")
    }
}

fn refs(list: &[String]) -> String {
    list.join(", ")
}

/// What an "in code only" entry lacks, in words.
fn missing_phrase(x: &InCodeOnly) -> String {
    let base = match x.missing.as_slice() {
        [System::Posthog] => "not in PostHog",
        [System::Notion] => "not in Notion",
        _ => "in neither PostHog nor Notion",
    };
    if x.kind == Kind::Flag && x.missing.contains(&System::Posthog) {
        format!("{base}: the check is always false")
    } else {
        base.to_string()
    }
}

fn section(out: &mut String, title: &str, intro: &str, lines: Vec<String>) {
    let _ = writeln!(out, "\n### {title}");
    let _ = writeln!(out, "{intro}");
    if lines.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
}

/// The `## Code` section of the Markdown audit (starting with a blank line), or nothing when
/// there is nothing to say.
pub fn markdown(c: &CodeReport) -> String {
    let mut out = String::from("\n## Code\n");
    if !c.scanned {
        let _ = writeln!(
            out,
            "Not scanned ({}).",
            c.reason.as_deref().unwrap_or("unknown reason")
        );
        return out;
    }
    if !c.any_reference {
        let _ = writeln!(
            out,
            "No PostHog references found in the code ({} scanned).",
            plural(c.files_scanned, "file", "files")
        );
        return out;
    }
    problem_sections(&mut out, c, false);
    section(
        &mut out,
        "Documented, Not in Code",
        "Documented in Notion, referenced nowhere in the code:",
        c.unreferenced
            .iter()
            .map(|u| format!("- [ ] {}: `{}`", u.resource.label(), u.key))
            .collect(),
    );
    section(
        &mut out,
        "Clean-up Candidates",
        &format!(
            "Released to everyone, unchanged for at least {}, still checked in code:",
            plural(c.cleanup_after_days as usize, "day", "days")
        ),
        c.cleanup_candidates
            .iter()
            .map(|x| {
                format!(
                    "- [ ] Flag: `{}` - at 100%, unchanged since {} ({})",
                    x.key,
                    x.since,
                    refs(&x.references)
                )
            })
            .collect(),
    );
    section(
        &mut out,
        "Dynamic Names",
        "Names the scan could not determine; check them by hand:",
        c.dynamic
            .iter()
            .map(|d| {
                format!(
                    "- [ ] {}:{} - {} ({})",
                    display_path(&d.path),
                    d.line,
                    code_span(&d.snippet),
                    d.reason
                )
            })
            .collect(),
    );
    out
}

/// The two sections that make an audit out of sync; `only_non_empty` leaves out empty ones
/// (the no-action overview).
pub fn problem_sections(out: &mut String, c: &CodeReport, only_non_empty: bool) {
    if !(only_non_empty && c.in_code_only.is_empty()) {
        section(
            out,
            "In Code, Not Documented",
            "Captured or checked in code, missing from PostHog or Notion:",
            c.in_code_only
                .iter()
                .map(|x| {
                    format!(
                        "- [ ] {}: `{}` - {} ({})",
                        kind_label(x.kind),
                        x.key,
                        missing_phrase(x),
                        refs(&x.references)
                    )
                })
                .collect(),
        );
    }
    if !(only_non_empty && c.dead_flag_references.is_empty()) {
        section(
            out,
            "Flags Removed in PostHog but Still in Code",
            "PostHog no longer serves these flags, yet code checks them (a live bug):",
            c.dead_flag_references
                .iter()
                .map(|x| {
                    format!(
                        "- [ ] Flag: `{}` - {} ({})",
                        x.key,
                        x.posthog_state.phrase(),
                        refs(&x.references)
                    )
                })
                .collect(),
        );
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The recommended actions the code section adds, in order of harm.
pub fn actions(c: &CodeReport) -> Vec<String> {
    let mut out = Vec::new();
    for x in &c.dead_flag_references {
        out.push(format!(
            "Remove the checks of {} flag `{}` ({})",
            match x.posthog_state {
                DeadState::Deleted => "deleted",
                DeadState::NotFound => "vanished",
                DeadState::Inactive | DeadState::ExperimentArchived => "retired",
                DeadState::Archived => "archived",
            },
            x.key,
            refs(&x.references)
        ));
    }
    for x in &c.in_code_only {
        let at = refs(&x.references);
        let line = match (x.kind, x.missing.as_slice()) {
            (Kind::Event, [System::Notion]) => format!(
                "Document `{}` ({at}): `kodo ph-sync import events`",
                x.key
            ),
            (Kind::Event, [System::Posthog]) => format!(
                "Check that `{}` is sent ({at}): PostHog has never received it",
                x.key
            ),
            (Kind::Event, _) => format!(
                "Document `{}` ({at}): `{}` (documentation first), or `kodo ph-sync import events` once PostHog has it",
                x.key,
                crate::document::command(Resource::Events, &x.key, &[])
            ),
            (Kind::Flag, [System::Notion]) => format!(
                "Document flag `{}` ({at}): `kodo ph-sync import flags`",
                x.key
            ),
            (Kind::Flag, missing) if missing.contains(&System::Notion) => format!(
                "Create flag `{}` in PostHog, documented first with `{}`, or remove its checks ({at}): they are always false",
                x.key,
                crate::document::command(Resource::Flags, &x.key, &[])
            ),
            (Kind::Flag, _) => format!(
                "Create flag `{}` in PostHog, or remove its checks ({at}): they are always false",
                x.key
            ),
        };
        out.push(line);
    }
    if !c.cleanup_candidates.is_empty() {
        let keys: Vec<String> = c
            .cleanup_candidates
            .iter()
            .map(|x| format!("`{}`", x.key))
            .collect();
        out.push(format!(
            "Consider removing the {} ({}) from the code, then the flags from PostHog",
            plural(keys.len(), "clean-up candidate", "clean-up candidates"),
            keys.join(", ")
        ));
    }
    if !c.unreferenced.is_empty() {
        out.push(format!(
            "Review the {} no code references: mark retired events `deprecated` and flags `archived` in Notion",
            plural(
                c.unreferenced.len(),
                "documented name",
                "documented names"
            )
        ));
    }
    if !c.dynamic.is_empty() {
        out.push(format!(
            "Check the {} by hand, or use literal names or constants",
            plural(c.dynamic.len(), "dynamic name", "dynamic names")
        ));
    }
    out
}

/// CSV records (`type,resource,key,notion_status,posthog_status,detail`) of the findings.
pub fn csv_records(c: &CodeReport) -> Vec<[String; 6]> {
    let resource = |kind: Kind| match kind {
        Kind::Event => Resource::Events.plural().to_string(),
        Kind::Flag => Resource::Flags.plural().to_string(),
    };
    let mut out = Vec::new();
    for x in &c.in_code_only {
        out.push([
            "in_code_only".into(),
            resource(x.kind),
            x.key.clone(),
            String::new(),
            String::new(),
            format!("{}; {}", missing_phrase(x), refs(&x.references)),
        ]);
    }
    for x in &c.unreferenced {
        out.push([
            "unreferenced".into(),
            x.resource.plural().into(),
            x.key.clone(),
            String::new(),
            String::new(),
            "not referenced in the code".into(),
        ]);
    }
    for x in &c.dead_flag_references {
        out.push([
            "dead_flag_reference".into(),
            resource(Kind::Flag),
            x.key.clone(),
            String::new(),
            String::new(),
            format!("{}; {}", x.posthog_state.phrase(), refs(&x.references)),
        ]);
    }
    for x in &c.cleanup_candidates {
        out.push([
            "cleanup_candidate".into(),
            resource(Kind::Flag),
            x.key.clone(),
            String::new(),
            String::new(),
            format!(
                "at 100%, unchanged since {}; {}",
                x.since,
                refs(&x.references)
            ),
        ]);
    }
    for d in &c.dynamic {
        out.push([
            "dynamic".into(),
            resource(d.kind),
            format!("{}:{}", display_path(&d.path), d.line),
            String::new(),
            String::new(),
            format!("{}: {}", d.reason, d.snippet),
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::decode_page;
    use serde_json::json;
    use time::macros::datetime;

    use crate::normalize::{Normalizer, People, PostHogData, Rules, ScanFacts};
    use kodo_api::types::posthog::{EventDefinition, Experiment, FeatureFlag};

    const NOW: OffsetDateTime = datetime!(2026-05-01 12:00 UTC);

    #[test]
    fn locations_escape_control_characters_in_file_names() {
        let refs = [
            reference(Kind::Event, "web/\u{1b}[2Jevil.ts", 3, Some("signup")),
            reference(Kind::Event, "web/a.ts", 4, Some("signup")),
        ];
        assert_eq!(
            locations(&refs),
            vec![
                "web/\\u{1b}[2Jevil.ts:3".to_string(),
                "web/a.ts:4".to_string()
            ]
        );
    }

    fn reference(kind: Kind, path: &str, line: u32, key: Option<&str>) -> CodeRef {
        CodeRef {
            path: path.into(),
            line,
            snippet: format!("call({})", key.unwrap_or("x")),
            kind,
            in_test: false,
            dynamic_reason: None,
        }
    }

    /// One key the scan found: kind, key, and `(path, line)` of each reference.
    type Found<'a> = (Kind, &'a str, &'a [(&'a str, u32)]);

    /// A scan finding each key.
    fn scan(keys: &[Found]) -> CodeScan {
        CodeScan {
            keys: keys
                .iter()
                .map(|(kind, key, refs)| ScannedKey {
                    kind: *kind,
                    key: key.to_string(),
                    references: refs
                        .iter()
                        .map(|(p, l)| reference(*kind, p, *l, Some(key)))
                        .collect(),
                })
                .collect(),
            dynamic: Vec::new(),
            files_scanned: 3,
        }
    }

    fn event_row(name: &str, status: &str) -> NotionRow {
        let props = json!({
            "Event Name": {"type": "title", "title": [{"plain_text": name}]},
            "Implementation Status": {"type": "select", "select": {"name": status}},
        });
        decode_page(Resource::Events, "p", None, props.as_object().unwrap())
    }

    fn flag_row(key: &str, status: &str) -> NotionRow {
        let props = json!({
            "Flag Key": {"type": "title", "title": [{"plain_text": key}]},
            "Status": {"type": "select", "select": {"name": status}},
        });
        decode_page(Resource::Flags, "p", None, props.as_object().unwrap())
    }

    fn flag(key: &str, active: bool, rollout: Option<f64>, updated_at: &str) -> FeatureFlag {
        serde_json::from_value(json!({
            "key": key, "active": active, "updated_at": updated_at,
            "filters": {"groups": [{"properties": [], "rollout_percentage": rollout}]}
        }))
        .unwrap()
    }

    fn event(name: &str) -> EventDefinition {
        EventDefinition {
            name: name.into(),
            ..EventDefinition::default()
        }
    }

    /// PostHog's side as the import sees it: the normaliser's records of `posthog` (with
    /// the flags found deleted by ID in `posthog.deleted_flags`).
    struct Records {
        events: Vec<Desired>,
        flags: Vec<Desired>,
        experiments: Vec<Desired>,
    }

    fn records(posthog: &PostHogData, include_builtin_events: bool) -> Records {
        let rules = Rules {
            include_builtin_events,
            ..Rules::default()
        };
        let n = Normalizer {
            region_url: "https://us.posthog.com",
            project_id: "1",
            rules: &rules,
            people: &People::default(),
            scan: &ScanFacts::default(),
        };
        Records {
            events: n.desired(Resource::Events, posthog),
            flags: n.desired(Resource::Flags, posthog),
            experiments: n.desired(Resource::Experiments, posthog),
        }
    }

    struct World {
        scan: CodeScan,
        posthog: PostHogData,
        maybe_deleted: BTreeSet<String>,
        events: Vec<NotionRow>,
        flags: Vec<NotionRow>,
        builtin: bool,
    }

    impl World {
        fn new(scan: CodeScan) -> World {
            World {
                scan,
                posthog: PostHogData::default(),
                maybe_deleted: BTreeSet::new(),
                events: Vec::new(),
                flags: Vec::new(),
                builtin: false,
            }
        }

        fn input<'a>(&'a self, r: &'a Records, scan: &'a CodeScan) -> CodeInput<'a> {
            CodeInput {
                scan,
                events: &r.events,
                flags: &r.flags,
                experiments: &r.experiments,
                maybe_deleted: &self.maybe_deleted,
                notion_events: Some(&self.events),
                notion_flags: Some(&self.flags),
                include_builtin_events: self.builtin,
                cleanup_after_days: 30,
                now: NOW,
            }
        }

        fn judge(&self) -> CodeReport {
            let r = records(&self.posthog, self.builtin);
            findings(&self.input(&r, &self.scan))
        }

        /// The dead flag rule over every flag either side knows, code or not.
        fn dead(&self) -> BTreeMap<String, DeadState> {
            let r = records(&self.posthog, self.builtin);
            let none = CodeScan::default();
            dead_flags(&self.input(&r, &none))
        }
    }

    #[test]
    fn events_say_which_side_lacks_them_and_builtins_are_skipped() {
        let mut w = World::new(scan(&[
            (Kind::Event, "$pageview", &[("web/a.ts", 1)]),
            (Kind::Event, "in_both", &[("web/a.ts", 2)]),
            (
                Kind::Event,
                "new_event",
                &[("web/a.ts", 3), ("api/b.py", 9)],
            ),
            (
                Kind::Event,
                "posthog_only",
                &[("web/a.ts", 4), ("web/a.ts", 4)],
            ),
            (Kind::Event, "notion_only", &[("web/a.ts", 5)]),
        ]));
        w.posthog.events = vec![event("in_both"), event("posthog_only"), event("$pageview")];
        w.events = vec![
            event_row("in_both", "implemented"),
            event_row("notion_only", "planned"),
        ];
        let c = w.judge();
        assert_eq!(
            c.in_code_only,
            vec![
                InCodeOnly {
                    kind: Kind::Event,
                    key: "new_event".into(),
                    missing: vec![System::Posthog, System::Notion],
                    references: vec!["web/a.ts:3".into(), "api/b.py:9".into()],
                },
                InCodeOnly {
                    kind: Kind::Event,
                    key: "notion_only".into(),
                    missing: vec![System::Posthog],
                    references: vec!["web/a.ts:5".into()],
                },
                InCodeOnly {
                    kind: Kind::Event,
                    key: "posthog_only".into(),
                    missing: vec![System::Notion],
                    // Two references on one line are one location.
                    references: vec!["web/a.ts:4".into()],
                },
            ]
        );
        assert!(!c.in_sync());
        // Documented but not yet seen by PostHog (written before it is deployed) is advisory.
        let documented_first = CodeReport {
            in_code_only: c
                .in_code_only
                .iter()
                .filter(|item| item.missing == vec![System::Posthog])
                .cloned()
                .collect(),
            ..c.clone()
        };
        assert_eq!(documented_first.in_code_only.len(), 1);
        assert!(CodeReport {
            dead_flag_references: Vec::new(),
            ..documented_first
        }
        .in_sync());
        let md = markdown(&c);
        assert!(md.contains("- [ ] Event: `new_event` - in neither PostHog nor Notion (web/a.ts:3, api/b.py:9)\n"), "{md}");
        assert!(
            md.contains("- [ ] Event: `notion_only` - not in PostHog (web/a.ts:5)\n"),
            "{md}"
        );
        assert!(
            md.contains("- [ ] Event: `posthog_only` - not in Notion (web/a.ts:4)\n"),
            "{md}"
        );
        assert!(!md.contains("$pageview"), "{md}");

        // With built-in events included, `$pageview` (in PostHog, not in Notion) counts.
        w.builtin = true;
        let c = w.judge();
        assert_eq!(c.in_code_only[0].key, "$pageview");
        assert_eq!(c.in_code_only[0].missing, vec![System::Notion]);
    }

    #[test]
    fn documented_names_no_code_references_skip_retired_ones() {
        let mut w = World::new(scan(&[
            (Kind::Event, "used", &[("a.ts", 1)]),
            (Kind::Flag, "checked", &[("a.ts", 2)]),
        ]));
        w.events = vec![
            event_row("used", "implemented"),
            event_row("forgotten", "implemented"),
            event_row("old", "deprecated"),
            event_row("$autocapture", "implemented"),
        ];
        w.flags = vec![
            flag_row("checked", "active"),
            flag_row("unused", "rolling_out"),
            flag_row("gone", "archived"),
        ];
        w.posthog.events = vec![event("used")];
        w.posthog.flags = vec![flag("checked", true, Some(50.0), "2026-04-30T00:00:00Z")];
        let c = w.judge();
        assert_eq!(
            c.unreferenced,
            vec![
                Unreferenced {
                    resource: Resource::Events,
                    key: "forgotten".into()
                },
                Unreferenced {
                    resource: Resource::Flags,
                    key: "unused".into()
                },
            ]
        );
        // Advisory only.
        assert!(c.in_sync());
        assert!(c.in_code_only.is_empty());
    }

    #[test]
    fn flags_posthog_no_longer_serves_are_dead_references() {
        let mut w = World::new(scan(&[
            (Kind::Flag, "deleted_by_id", &[("api/f.py", 3)]),
            (Kind::Flag, "vanished", &[("api/f.py", 4)]),
            (Kind::Flag, "documented_archived", &[("api/f.py", 5)]),
            (Kind::Flag, "retired_inactive", &[("api/f.py", 6)]),
            (Kind::Flag, "experiment_done", &[("api/f.py", 7)]),
            (Kind::Flag, "never_existed", &[("api/f.py", 8)]),
            (Kind::Flag, "draft_inactive", &[("api/f.py", 9)]),
        ]));
        let mut gone = flag("deleted_by_id", false, None, "2026-01-01T00:00:00Z");
        gone.deleted = true;
        w.posthog.deleted_flags = vec![gone];
        w.maybe_deleted.insert("vanished".into());
        w.flags = vec![
            flag_row("deleted_by_id", "active"),
            flag_row("vanished", "active"),
            flag_row("documented_archived", "archived"),
            flag_row("retired_inactive", "archived"),
            flag_row("experiment_done", "draft"),
            flag_row("draft_inactive", "draft"),
        ];
        w.posthog.flags = vec![
            flag("retired_inactive", false, None, "2026-01-01T00:00:00Z"),
            flag("experiment_done", false, None, "2026-01-01T00:00:00Z"),
            flag("draft_inactive", false, None, "2026-01-01T00:00:00Z"),
        ];
        w.posthog.experiments = vec![Experiment {
            name: "Done".into(),
            feature_flag_key: "experiment_done".into(),
            archived: true,
            ..Experiment::default()
        }];
        let c = w.judge();
        // The rule itself judges every flag either side knows, code or not (what the snapshot
        // records for `kodo scan --check`): the same five.
        let judged = w.dead();
        assert_eq!(
            judged.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "deleted_by_id",
                "documented_archived",
                "experiment_done",
                "retired_inactive",
                "vanished"
            ]
        );
        let dead: Vec<(&str, DeadState)> = c
            .dead_flag_references
            .iter()
            .map(|d| (d.key.as_str(), d.posthog_state))
            .collect();
        assert_eq!(
            dead,
            vec![
                ("deleted_by_id", DeadState::Deleted),
                ("documented_archived", DeadState::Deleted),
                ("experiment_done", DeadState::ExperimentArchived),
                ("retired_inactive", DeadState::Inactive),
                ("vanished", DeadState::NotFound),
            ]
        );
        assert_eq!(c.dead_flag_references[0].references, vec!["api/f.py:3"]);
        // A flag PostHog never had is "in code only", never also dead; an inactive draft is
        // neither (it may be about to roll out).
        assert_eq!(
            c.in_code_only,
            vec![InCodeOnly {
                kind: Kind::Flag,
                key: "never_existed".into(),
                missing: vec![System::Posthog, System::Notion],
                references: vec!["api/f.py:8".into()],
            }]
        );
        assert!(!c.in_sync());
        let md = markdown(&c);
        assert!(
            md.contains("- [ ] Flag: `deleted_by_id` - deleted in PostHog (api/f.py:3)\n"),
            "{md}"
        );
        assert!(md.contains("- [ ] Flag: `never_existed` - in neither PostHog nor Notion: the check is always false (api/f.py:8)\n"), "{md}");
        let acts = actions(&c);
        assert_eq!(
            acts[0],
            "Remove the checks of deleted flag `deleted_by_id` (api/f.py:3)"
        );
        let json = serde_json::to_value(crate::wire::Code::of(&c)).unwrap();
        assert_eq!(
            json["dead_flag_references"][2],
            json!({"key": "experiment_done", "posthog_state": "experiment_archived", "references": ["api/f.py:7"]})
        );
    }

    /// The code section judges a flag by the normaliser's own records: a flag the import
    /// documents as retired (deleted or archived in PostHog, listed or found by ID) is
    /// exactly a flag whose check is dead, whatever its activity and rollout; a served one
    /// is not (Notion documents every one as live, and no experiment is archived).
    #[test]
    fn the_flags_the_normaliser_retires_are_exactly_the_dead_checks() {
        let at = "2026-01-01T00:00:00Z";
        let mut listed = Vec::new();
        let mut by_id = Vec::new();
        for active in [true, false] {
            for rollout in [Some(100.0), Some(20.0), None] {
                for (state, deleted, archived) in [
                    ("live", false, false),
                    ("archived", false, true),
                    ("deleted", true, false),
                    ("both", true, true),
                ] {
                    let share = rollout.map_or("null".to_string(), |r: f64| r.to_string());
                    let key = format!("{state}_{active}_{share}");
                    let mut f = flag(&key, active, rollout, at);
                    f.deleted = deleted;
                    f.archived = archived;
                    listed.push(f.clone());
                    // The same states, found by ID after the flag left the list.
                    if deleted {
                        f.key = format!("by_id_{key}");
                        by_id.push(f);
                    }
                }
            }
        }
        let keys: Vec<String> = listed.iter().chain(&by_id).map(|f| f.key.clone()).collect();
        let refs: &[(&str, u32)] = &[("api/f.py", 1)];
        let found: Vec<Found> = keys
            .iter()
            .map(|k| (Kind::Flag, k.as_str(), refs))
            .collect();
        let mut w = World::new(scan(&found));
        for status in ["active", "rolling_out", "draft"] {
            w.flags = keys.iter().map(|k| flag_row(k, status)).collect();
            w.posthog.flags = listed.clone();
            w.posthog.deleted_flags = by_id.clone();
            let c = w.judge();
            let dead: BTreeMap<&str, DeadState> = c
                .dead_flag_references
                .iter()
                .map(|d| (d.key.as_str(), d.posthog_state))
                .collect();
            let r = records(&w.posthog, false);
            assert_eq!(r.flags.len(), keys.len());
            let retired_keys: BTreeSet<&str> = r
                .flags
                .iter()
                .filter(|d| {
                    Resource::Flags
                        .schema()
                        .is_retired(d.record.status.as_deref())
                })
                .map(|d| d.record.key.as_str())
                .collect();
            assert_eq!(
                retired_keys,
                dead.keys().copied().collect::<BTreeSet<_>>(),
                "Notion says {status}"
            );
            // Both halves are there: some flags retired, some served.
            assert!(!retired_keys.is_empty() && retired_keys.len() < keys.len());
            for (key, state) in &dead {
                let f = listed.iter().chain(&by_id).find(|f| f.key == *key).unwrap();
                let expected = if f.deleted {
                    DeadState::Deleted
                } else {
                    DeadState::Archived
                };
                assert_eq!(*state, expected, "{key}");
            }
            // A gone flag is never also "in code only" (missing from PostHog).
            assert!(c
                .in_code_only
                .iter()
                .all(|x| !dead.contains_key(x.key.as_str())));
            // Nor a clean-up candidate.
            assert!(c
                .cleanup_candidates
                .iter()
                .all(|x| !dead.contains_key(x.key.as_str())));
        }
        let c = w.judge();
        assert!(c
            .dead_flag_references
            .iter()
            .any(|d| d.key == "archived_true_100" && d.posthog_state == DeadState::Archived));
        assert_eq!(
            actions(&c)
                .iter()
                .find(|a| a.contains("`archived_true_100`"))
                .map(String::as_str),
            Some("Remove the checks of archived flag `archived_true_100` (api/f.py:1)")
        );
        assert!(markdown(&c)
            .contains("- [ ] Flag: `archived_true_100` - archived in PostHog (api/f.py:1)\n"));
        assert_eq!(
            serde_json::to_value(DeadState::Archived).unwrap(),
            json!("archived")
        );
    }

    #[test]
    fn cleanup_candidates_are_at_100_percent_for_everyone_for_long() {
        let mut w = World::new(scan(&[
            (Kind::Flag, "exactly_30_days", &[("a.ts", 1)]),
            (Kind::Flag, "a_second_short", &[("a.ts", 2)]),
            (Kind::Flag, "null_rollout_old", &[("a.ts", 3)]),
            (Kind::Flag, "half_old", &[("a.ts", 4)]),
            (Kind::Flag, "inactive_old", &[("a.ts", 5)]),
            (Kind::Flag, "targeted_old", &[("a.ts", 6)]),
            (Kind::Flag, "no_timestamp", &[("a.ts", 7)]),
        ]));
        let mut targeted = flag("targeted_old", true, Some(100.0), "2025-01-01T00:00:00Z");
        targeted.filters = serde_json::from_value(json!({"groups": [
            {"properties": [{"key": "email", "value": "x", "operator": "icontains"}], "rollout_percentage": 100}
        ]}))
        .unwrap();
        w.posthog.flags = vec![
            flag("exactly_30_days", true, Some(100.0), "2026-04-01T12:00:00Z"),
            flag("a_second_short", true, Some(100.0), "2026-04-01T12:00:01Z"),
            flag(
                "null_rollout_old",
                true,
                None,
                "2025-01-01T00:00:00.123456Z",
            ),
            flag("half_old", true, Some(50.0), "2025-01-01T00:00:00Z"),
            flag("inactive_old", false, Some(100.0), "2025-01-01T00:00:00Z"),
            targeted,
            flag("no_timestamp", true, Some(100.0), ""),
        ];
        w.flags = w
            .posthog
            .flags
            .iter()
            .map(|f| flag_row(&f.key, "active"))
            .collect();
        let c = w.judge();
        let keys: Vec<(&str, &str)> = c
            .cleanup_candidates
            .iter()
            .map(|x| (x.key.as_str(), x.since.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("exactly_30_days", "2026-04-01"),
                ("null_rollout_old", "2025-01-01")
            ]
        );
        assert!(c.in_sync());
        let md = markdown(&c);
        assert!(md.contains("Released to everyone, unchanged for at least 30 days, still checked in code:\n- [ ] Flag: `exactly_30_days` - at 100%, unchanged since 2026-04-01 (a.ts:1)\n"), "{md}");
    }

    #[test]
    fn dynamic_names_of_the_kinds_asked_and_a_quiet_code_base() {
        let mut s = scan(&[]);
        let mut d = reference(Kind::Event, "web/a.ts", 7, None);
        d.snippet = "posthog.capture(`page_${name}`)".into();
        d.dynamic_reason = Some("interpolated string `page_${name}`".into());
        s.dynamic = vec![d.clone(), {
            let mut f = d.clone();
            f.kind = Kind::Flag;
            f.line = 8;
            f
        }];
        let maybe = BTreeSet::new();
        let events: Vec<NotionRow> = vec![event_row("documented", "implemented")];
        let c = findings(&CodeInput {
            scan: &s,
            events: &[],
            flags: &[],
            experiments: &[],
            maybe_deleted: &maybe,
            notion_events: Some(&events),
            notion_flags: None,
            include_builtin_events: false,
            cleanup_after_days: 30,
            now: NOW,
        });
        assert_eq!(
            c.dynamic,
            vec![Dynamic {
                kind: Kind::Event,
                path: "web/a.ts".into(),
                line: 7,
                snippet: "posthog.capture(`page_${name}`)".into(),
                reason: "interpolated string `page_${name}`".into(),
            }]
        );
        let md = markdown(&c);
        assert!(md.contains("- [ ] web/a.ts:7 - `` posthog.capture(`page_${name}`) `` (interpolated string `page_${name}`)\n"), "{md}");
        assert_eq!(csv_records(&c).last().unwrap()[2], "web/a.ts:7".to_string());

        // No reference at all: nothing is judged, one line says so.
        let quiet = scan(&[]);
        let c = findings(&CodeInput {
            scan: &quiet,
            events: &[],
            flags: &[],
            experiments: &[],
            maybe_deleted: &maybe,
            notion_events: Some(&events),
            notion_flags: None,
            include_builtin_events: false,
            cleanup_after_days: 30,
            now: NOW,
        });
        assert!(!c.has_findings());
        assert_eq!(
            markdown(&c),
            "\n## Code\nNo PostHog references found in the code (3 files scanned).\n"
        );
        assert_eq!(
            markdown(&CodeReport::not_scanned("bad glob")),
            "\n## Code\nNot scanned (bad glob).\n"
        );
    }
}
