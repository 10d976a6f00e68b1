//! Findings and their renderings: the audit report (Markdown in the spec's format, JSON, CSV),
//! the status table, and the no-action overview.
//!
//! **Invariants.**
//! - Pure: renderers take [`Findings`] and the timestamp to print; nothing here reads a clock or
//!   does I/O, so the output is exact and testable.
//! - Stable order: resources in the spec's order, then by key.
//! - The Markdown audit keeps every section of the spec's "Audit Report Format", saying
//!   "None." when one is empty; sections the spec lacks (stale properties, planned entries)
//!   appear only when they have something to say. The code section (`## Code`, rendered by
//!   [`super::code`]) comes after the spec's issues and "Fully Synced", before "Recommended
//!   Actions", and only when the code was scanned or the scan failed (not with `--no-code`).
//! - The JSON shape is versioned (`"version": 1`) and documented in the README; fields are
//!   only ever added.

use std::fmt::Write as _;

use crate::model::{PropValue, Resource};

use crate::code::{self, CodeReport};
use crate::hygiene::{self, Directory};
use crate::plan::{Change, OrphanReason, ResourcePlan, Step};

/// Counts for one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub resource: Resource,
    pub posthog: usize,
    pub notion: usize,
    pub undocumented: usize,
    pub orphaned: usize,
    pub mismatches: usize,
    pub stale: usize,
    pub planned: usize,
    /// Rows whose derived text a person edited (kept; not a problem).
    pub edited: usize,
}

impl Summary {
    pub fn in_sync(&self) -> bool {
        self.undocumented == 0 && self.orphaned == 0 && self.mismatches == 0 && self.stale == 0
    }
}

/// One finding (an undocumented resource, an orphaned row, a mismatch, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub resource: Resource,
    pub key: String,
    /// Dashboards' PostHog ID.
    pub id: Option<i64>,
    pub notion_status: Option<String>,
    pub posthog_status: Option<String>,
    /// PostHog's state in words (`active at 25%`), the orphan's reason, or the stale
    /// properties.
    pub detail: String,
    /// Orphans only: `no_match`, `may_have_been_deleted` or `duplicate`.
    pub reason: Option<OrphanReason>,
    /// The Notion page, when there is one.
    pub url: Option<String>,
    /// Stale and edited findings: each property, Notion's value and PostHog's.
    pub changes: Vec<Change>,
}

/// Everything an audit found, for the resources asked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Findings {
    pub summary: Vec<Summary>,
    pub undocumented: Vec<Finding>,
    pub orphaned: Vec<Finding>,
    pub mismatches: Vec<Finding>,
    pub stale: Vec<Finding>,
    pub planned: Vec<Finding>,
    /// Derived text (a flag's Name, Targeting) a person edited in Notion: `import` keeps it
    /// and says so; `--overwrite` replaces it.
    pub edited: Vec<Finding>,
    /// The code section; `None` when the code was not to be judged (`--no-code`, `status`).
    pub code: Option<CodeReport>,
    /// The best-practice findings; `None` when not judged (`status`, `import`).
    pub hygiene: Option<hygiene::Report>,
    /// Each event's properties against its schema; `None` when events were not judged.
    pub properties: Option<crate::properties::Report>,
    /// The tracking-plan page against the model; `None` when not judged
    /// (`notion.pages.tracking_plan` unset, `status`).
    pub tracking_plan: Option<crate::pages::PageStatus>,
}

impl Findings {
    /// The findings of the plans; `people` names the Notion users of People values in the
    /// findings' words (`Directory::unreadable()` leaves them as IDs).
    pub fn from_plans(plans: &[ResourcePlan], people: &Directory) -> Findings {
        let mut f = Findings::default();
        for p in plans {
            let resource = p.resource;
            let mut summary = Summary {
                resource,
                posthog: p.posthog_count,
                notion: p.notion_count,
                undocumented: 0,
                orphaned: p.orphans.len(),
                mismatches: 0,
                stale: 0,
                planned: p.planned.len(),
                edited: 0,
            };
            for item in &p.items {
                let d = &item.desired;
                let id = resource
                    .schema()
                    .keyed_by_id()
                    .then_some(d.posthog_id)
                    .flatten();
                if item.step == Step::Create {
                    if d.deleted {
                        continue;
                    }
                    summary.undocumented += 1;
                    f.undocumented.push(Finding {
                        resource,
                        key: d.record.key.clone(),
                        id,
                        notion_status: None,
                        posthog_status: d.record.status.clone(),
                        detail: d.detail.clone().unwrap_or_default(),
                        reason: None,
                        url: None,
                        changes: Vec::new(),
                    });
                    continue;
                }
                if let Some((notion, posthog)) = item.mismatch() {
                    summary.mismatches += 1;
                    f.mismatches.push(Finding {
                        resource,
                        key: d.record.key.clone(),
                        id,
                        notion_status: Some(notion.to_string()),
                        posthog_status: Some(posthog.to_string()),
                        detail: d.detail.clone().unwrap_or_else(|| posthog.to_string()),
                        reason: None,
                        url: item.url.clone(),
                        changes: Vec::new(),
                    });
                }
                let stale = item.stale_changes();
                if !stale.is_empty() {
                    summary.stale += 1;
                    let detail = change_list(stale.iter().copied(), people);
                    f.stale.push(Finding {
                        resource,
                        key: d.record.key.clone(),
                        id,
                        notion_status: item.notion_status.clone(),
                        posthog_status: d.record.status.clone(),
                        detail,
                        reason: None,
                        url: item.url.clone(),
                        changes: stale.into_iter().cloned().collect(),
                    });
                }
                if !item.kept.is_empty() {
                    summary.edited += 1;
                    f.edited.push(Finding {
                        resource,
                        key: d.record.key.clone(),
                        id,
                        notion_status: item.notion_status.clone(),
                        posthog_status: d.record.status.clone(),
                        detail: change_list(item.kept.iter(), people),
                        reason: None,
                        url: item.url.clone(),
                        changes: item.kept.clone(),
                    });
                }
            }
            for o in &p.orphans {
                let record = &o.row.record;
                let key = if record.key.is_empty() {
                    "(untitled)".to_string()
                } else {
                    record.key.clone()
                };
                f.orphaned.push(Finding {
                    resource,
                    key,
                    id: dashboard_id(resource, &record.keys.primary),
                    notion_status: record.status.clone(),
                    posthog_status: None,
                    detail: match o.reason {
                        OrphanReason::NoMatch => "Consider archiving or removing".into(),
                        OrphanReason::MayHaveBeenDeleted => "May have been deleted".into(),
                        OrphanReason::Deleted => "Deleted in PostHog; archive it".into(),
                        OrphanReason::Duplicate => format!(
                            "Duplicate: another Notion entry documents the same {}; merge them and remove this one",
                            resource.label().to_lowercase()
                        ),
                    },
                    reason: Some(o.reason),
                    url: o.row.url.clone(),
                    changes: Vec::new(),
                });
            }
            for row in &p.planned {
                let record = &row.record;
                f.planned.push(Finding {
                    resource,
                    key: record.key.clone(),
                    id: dashboard_id(resource, &record.keys.primary),
                    notion_status: record.status.clone(),
                    posthog_status: None,
                    detail: "Documented, not yet in PostHog".into(),
                    reason: None,
                    url: row.url.clone(),
                    changes: Vec::new(),
                });
            }
            f.summary.push(summary);
        }
        f
    }

    /// Whether nothing is out of sync (planned entries and the code's advisory findings are
    /// not a problem).
    pub fn in_sync(&self) -> bool {
        self.summary.iter().all(Summary::in_sync)
            && self.code.as_ref().is_none_or(CodeReport::in_sync)
            && self.tracking_plan.as_ref().is_none_or(|p| p.in_sync)
    }

    /// Hygiene findings of rules set to `error` (they fail `--check`; not a sync problem).
    pub fn hygiene_errors(&self) -> usize {
        self.hygiene.as_ref().map_or(0, hygiene::Report::errors)
    }

    /// Undocumented properties, when `sync.require_documented_properties` makes them fail
    /// `--check` (not a sync problem otherwise).
    pub fn property_errors(&self) -> usize {
        self.properties
            .as_ref()
            .map_or(0, crate::properties::Report::check_failures)
    }

    /// What `--check` asks: in sync, no hygiene finding of an `error` rule, and (with
    /// `sync.require_documented_properties`) no undocumented property.
    pub fn passes_check(&self) -> bool {
        self.in_sync() && self.hygiene_errors() == 0 && self.property_errors() == 0
    }
}

/// `Rollout %: 25 → 50; Targeting: (empty) → 50% of all users`
fn change_list<'c>(changes: impl Iterator<Item = &'c Change>, people: &Directory) -> String {
    changes
        .map(|c| {
            let show = |v: &PropValue| {
                if v.is_empty() {
                    "(empty)".to_string()
                } else {
                    show(v, people)
                }
            };
            format!("{}: {} → {}", c.property, show(&c.from), show(&c.to))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A value as people read it: [`PropValue::display`], with a People value's users named by
/// `people` ([`Directory::label`]: name and e-mail) rather than by their IDs.
pub fn show(value: &PropValue, people: &Directory) -> String {
    match value {
        PropValue::People(ids) if !ids.is_empty() => ids
            .iter()
            .map(|id| people.label(id))
            .collect::<Vec<_>>()
            .join(", "),
        v => v.display(),
    }
}

fn dashboard_id(resource: Resource, primary: &Option<String>) -> Option<i64> {
    resource.schema().numeric_id(primary.as_deref())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A key as Markdown code, linked to its Notion page when it has one:
/// ``[`signup_completed`](https://www.notion.so/Signup-1f2e…)``. Only an `http(s)` URL becomes a
/// link (the URL is data from Notion, not markup), with the characters that would end or break
/// a Markdown link destination percent-encoded.
pub fn linked_key(key: &str, url: Option<&str>) -> String {
    let code = format!("`{key}`");
    let Some(url) = url.map(str::trim).filter(|u| {
        let lower = u.to_ascii_lowercase();
        lower.starts_with("https://") || lower.starts_with("http://")
    }) else {
        return code;
    };
    let mut dest = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            ' ' | '(' | ')' | '<' | '>' | '[' | ']' | '`' | '\\' => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(dest, "%{b:02X}");
                }
            }
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(dest, "%{b:02X}");
                }
            }
            c => dest.push(c),
        }
    }
    format!("[{code}]({dest})")
}

/// `- [ ] Flag: \`key\` (active at 25%)`
fn undocumented_line(f: &Finding) -> String {
    let mut line = format!("- [ ] {}: `{}`", f.resource.label(), f.key);
    // A resource keyed by its PostHog ID is shown by it; the others by their detail, if any.
    if f.resource.schema().keyed_by_id() {
        if let Some(id) = f.id {
            let _ = write!(line, " (ID: {id})");
        }
    } else if !f.detail.is_empty() {
        let _ = write!(line, " ({})", f.detail);
    }
    line
}

fn orphan_line(f: &Finding) -> String {
    let mut line = format!(
        "- [ ] {}: {}",
        f.resource.label(),
        linked_key(&f.key, f.url.as_deref())
    );
    if let Some(id) = f.id {
        let _ = write!(line, " (ID: {id})");
    }
    let _ = write!(line, " - {}", f.detail);
    line
}

/// What PostHog's side of a mismatch is, as the report words it.
fn posthog_phrase(f: &Finding) -> String {
    let status = f.posthog_status.as_deref().unwrap_or("");
    f.resource.schema().posthog_phrase(status, &f.detail)
}

fn mismatch_line(f: &Finding) -> String {
    format!(
        "- [ ] {} {}: Notion says \"{}\", {}",
        f.resource.label(),
        linked_key(&f.key, f.url.as_deref()),
        f.notion_status.as_deref().unwrap_or(""),
        posthog_phrase(f)
    )
}

fn stale_line(f: &Finding) -> String {
    format!(
        "- [ ] {} {}: {}",
        f.resource.label(),
        linked_key(&f.key, f.url.as_deref()),
        f.detail
    )
}

fn planned_line(f: &Finding) -> String {
    let mut line = format!(
        "- {}: {}",
        f.resource.label(),
        linked_key(&f.key, f.url.as_deref())
    );
    if let Some(status) = &f.notion_status {
        let _ = write!(line, " ({status})");
    }
    line
}

/// `kodo ph-sync import flags`, one per resource with something to fix.
fn commands(resources: impl Iterator<Item = Resource>, suffix: &str) -> String {
    let mut seen: Vec<Resource> = resources.collect();
    seen.sort();
    seen.dedup();
    seen.iter()
        .map(|r| format!("`kodo ph-sync import {}{suffix}`", r.plural()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The numbered fix list, in the spec's order.
pub fn recommended_actions(f: &Findings) -> Vec<String> {
    let mut out = Vec::new();
    if !f.undocumented.is_empty() {
        out.push(format!(
            "Document the {}: {}",
            plural(
                f.undocumented.len(),
                "undocumented resource",
                "undocumented resources"
            ),
            commands(f.undocumented.iter().map(|x| x.resource), "")
        ));
    }
    if !f.orphaned.is_empty() {
        out.push(format!(
            "Review the {} in Notion, then archive or remove them; to move them to the trash: {}",
            plural(f.orphaned.len(), "orphaned entry", "orphaned entries"),
            commands(f.orphaned.iter().map(|x| x.resource), " --archive-orphans")
        ));
    }
    if !f.mismatches.is_empty() {
        out.push(format!(
            "Update the {}: {}",
            plural(f.mismatches.len(), "status mismatch", "status mismatches"),
            commands(f.mismatches.iter().map(|x| x.resource), "")
        ));
    }
    if !f.stale.is_empty() {
        out.push(format!(
            "Refresh the {}: {}",
            plural(f.stale.len(), "stale entry", "stale entries"),
            commands(f.stale.iter().map(|x| x.resource), "")
        ));
    }
    if let Some(c) = &f.code {
        out.extend(code::actions(c));
    }
    if let Some(p) = &f.properties {
        out.extend(crate::properties::actions(p));
    }
    if let Some(h) = f.hygiene.as_ref().filter(|h| !h.findings.is_empty()) {
        let n = h.findings.len();
        out.push(format!(
            "Hand out the {} (listed under Hygiene; each says what to do, import does not fix them){}",
            plural(n, "hygiene finding", "hygiene findings"),
            match h.errors() {
                0 => String::new(),
                e => format!("; {e} of them fail --check"),
            }
        ));
    }
    if !f.edited.is_empty() {
        out.push(format!(
            "Review the {} people made to text kodo derives (kept; PostHog's wording is shown): to replace them, {}",
            plural(f.edited.len(), "edit", "edits"),
            commands(f.edited.iter().map(|x| x.resource), " --overwrite")
        ));
    }
    if f.tracking_plan.as_ref().is_some_and(|p| !p.in_sync) {
        out.push(
            "Regenerate the tracking-plan page: `kodo ph-sync import` (or `kodo ph-sync setup --refresh-pages`)"
                .to_string(),
        );
    }
    out
}

fn section(out: &mut String, title: &str, intro: &str, lines: Vec<String>) {
    let _ = writeln!(out, "\n### {title}");
    if !intro.is_empty() {
        let _ = writeln!(out, "{intro}");
    }
    if lines.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
}

/// The issue sections (shared by the audit report and the no-action overview).
fn issues(out: &mut String, f: &Findings) {
    // Title, intro, findings, how one is written, and whether the section shows when empty
    // ("None.": the spec's three sections always show).
    type Line = fn(&Finding) -> String;
    let sections: [(&str, &str, &[Finding], Line, bool); 6] = [
        (
            "Undocumented Resources",
            "These exist in PostHog but not in Notion:",
            &f.undocumented,
            undocumented_line,
            true,
        ),
        (
            "Orphaned Documentation",
            "These exist in Notion but not in PostHog:",
            &f.orphaned,
            orphan_line,
            true,
        ),
        (
            "Status Mismatches",
            "Documentation status doesn't match PostHog state:",
            &f.mismatches,
            mismatch_line,
            true,
        ),
        (
            "Stale Documentation",
            "Documented facts differ from PostHog (Notion → PostHog):",
            &f.stale,
            stale_line,
            false,
        ),
        (
            "Edited in Notion",
            "Text kodo derives from PostHog that a person changed; kept (Notion → PostHog):",
            &f.edited,
            stale_line,
            false,
        ),
        (
            "Planned",
            "Documented in Notion, not yet in PostHog (documentation first):",
            &f.planned,
            planned_line,
            false,
        ),
    ];
    for (title, intro, findings, line, always) in sections {
        if always || !findings.is_empty() {
            section(out, title, intro, findings.iter().map(line).collect());
        }
    }
    if let Some(page) = f.tracking_plan.as_ref().filter(|p| !p.in_sync) {
        section(
            out,
            "Tracking Plan Out of Date",
            "The tracking-plan page's generated section differs from what the databases say:",
            tracking_plan_lines(page),
        );
    }
}

fn tracking_plan_lines(page: &crate::pages::PageStatus) -> Vec<String> {
    if page.missing {
        return vec![format!(
            "- kodo's section is not on the page yet ({} to write)",
            plural(page.blocks_to_write, "block", "blocks")
        )];
    }
    let mut lines: Vec<String> = page.changed.iter().map(|t| format!("- {t}")).collect();
    lines.push(format!(
        "({} to write; what people wrote above and below kodo's section is kept)",
        plural(page.blocks_to_write, "block", "blocks")
    ));
    lines
}

/// The audit report in the spec's Markdown format.
pub fn audit_markdown(f: &Findings, generated_at: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# PostHog-Notion Sync Audit Report");
    let _ = writeln!(out, "Generated: {generated_at}");
    let _ = writeln!(out, "\n## Summary");
    for s in &f.summary {
        let _ = writeln!(
            out,
            "- {}: {} in PostHog, {} in Notion",
            s.resource.title(),
            s.posthog,
            s.notion
        );
    }
    let _ = writeln!(out, "\n## Issues Found");
    issues(&mut out, f);
    let synced: Vec<String> = f
        .summary
        .iter()
        .filter(|s| s.in_sync())
        .map(|s| match s.posthog {
            0 => format!("- {}: none in PostHog", s.resource.title()),
            1 => format!("- {}: The 1 documented correctly", s.resource.title()),
            n => format!("- {}: All {n} documented correctly", s.resource.title()),
        })
        .collect();
    section(&mut out, "Fully Synced", "", synced);
    if let Some(c) = &f.code {
        out.push_str(&code::markdown(c));
    }
    if let Some(p) = &f.properties {
        out.push_str(&crate::properties::markdown(p));
    }
    if let Some(h) = &f.hygiene {
        out.push_str(&hygiene::markdown(h));
    }
    let _ = writeln!(out, "\n## Recommended Actions");
    let actions = recommended_actions(f);
    if actions.is_empty() {
        let _ = writeln!(out, "Nothing to do: PostHog and Notion agree.");
    }
    for (i, action) in actions.iter().enumerate() {
        let _ = writeln!(out, "{}. {action}", i + 1);
    }
    out
}

/// The audit as JSON: [`crate::wire::Audit`].
pub fn audit_json(f: &Findings, generated_at: &str) -> String {
    crate::wire::to_json(&crate::wire::Audit::of(f, generated_at))
}

/// One RFC 4180 field: quoted when it holds a comma, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One CSV record, CRLF-terminated as RFC 4180 says.
pub fn csv_row<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// The audit as CSV: one row per finding.
pub fn audit_csv(f: &Findings) -> String {
    let mut out = csv_row(&[
        "type",
        "resource",
        "key",
        "notion_status",
        "posthog_status",
        "detail",
    ]);
    let groups: [(&str, &[Finding]); 6] = [
        ("undocumented", &f.undocumented),
        ("orphaned", &f.orphaned),
        ("mismatch", &f.mismatches),
        ("stale", &f.stale),
        ("planned", &f.planned),
        ("edited", &f.edited),
    ];
    for (kind, items) in groups {
        for x in items {
            out.push_str(&csv_row(&[
                kind,
                x.resource.plural(),
                &x.key,
                x.notion_status.as_deref().unwrap_or(""),
                x.posthog_status.as_deref().unwrap_or(""),
                &x.detail,
            ]));
        }
    }
    if let Some(c) = &f.code {
        for record in code::csv_records(c) {
            out.push_str(&csv_row(&record));
        }
    }
    if let Some(p) = &f.properties {
        for record in crate::properties::csv_records(p) {
            out.push_str(&csv_row(&record));
        }
    }
    if let Some(h) = &f.hygiene {
        for record in hygiene::csv_records(h) {
            out.push_str(&csv_row(&record));
        }
    }
    if let Some(page) = f.tracking_plan.as_ref().filter(|p| !p.in_sync) {
        let sections: Vec<&str> = if page.missing {
            vec!["(kodo's section)"]
        } else {
            page.changed.iter().map(String::as_str).collect()
        };
        for section in sections {
            out.push_str(&csv_row(&[
                "tracking_plan",
                "pages",
                section,
                "",
                "",
                &format!("out of date on page {}", page.page_id),
            ]));
        }
    }
    out
}

/// When a resource was last synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastSync {
    pub at: String,
    pub action: String,
}

/// The status table: a Markdown table (pasted into an issue or a PR it renders as one), its
/// columns padded so it also reads as plain text. Planned counts documentation written before
/// PostHog has the resource, which explains a Notion count above PostHog's.
pub fn status_markdown(f: &Findings, last: &[(Resource, Option<LastSync>)]) -> String {
    let header = [
        "Resource",
        "PostHog",
        "Notion",
        "Undocumented",
        "Orphaned",
        "Mismatched",
        "Stale",
        "Planned",
        "Last sync",
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    for s in &f.summary {
        let sync = last
            .iter()
            .find(|(r, _)| *r == s.resource)
            .and_then(|(_, l)| l.as_ref())
            .map_or_else(
                || "never".to_string(),
                |l| format!("{} ({})", l.at, l.action),
            );
        rows.push(vec![
            s.resource.title().to_string(),
            s.posthog.to_string(),
            s.notion.to_string(),
            s.undocumented.to_string(),
            s.orphaned.to_string(),
            s.mismatches.to_string(),
            s.stale.to_string(),
            s.planned.to_string(),
            sync,
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // Names and the last column left-aligned, counts right-aligned.
    let numeric = |i: usize| i > 0 && i < header.len() - 1;
    let line = |cells: &[String]| -> String {
        let mut l = String::from("|");
        for (i, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[i].saturating_sub(cell.chars().count()));
            if numeric(i) {
                let _ = write!(l, " {pad}{cell} |");
            } else {
                let _ = write!(l, " {cell}{pad} |");
            }
        }
        l
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        line(&header.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    );
    let mut rule = String::from("|");
    for (i, w) in widths.iter().enumerate() {
        let dashes = "-".repeat((*w).max(3));
        if numeric(i) {
            let _ = write!(rule, " {}: |", &dashes[1..]);
        } else {
            let _ = write!(rule, " {dashes} |");
        }
    }
    let _ = writeln!(out, "{rule}");
    for r in rows {
        let _ = writeln!(out, "{}", line(&r));
    }
    out
}

/// `kodo ph-sync status` as Markdown.
pub fn status_text(f: &Findings, last: &[(Resource, Option<LastSync>)]) -> String {
    let mut out = String::from("# PostHog-Notion Sync Status\n\n");
    out.push_str(&status_markdown(f, last));
    if f.in_sync() {
        out.push_str("\nIn sync.\n");
    } else {
        out.push_str("\nOut of sync: `kodo ph-sync audit` lists every discrepancy.\n");
    }
    out
}

/// `kodo ph-sync status --format json`: [`crate::wire::Status`].
pub fn status_json(
    f: &Findings,
    last: &[(Resource, Option<LastSync>)],
    generated_at: &str,
) -> String {
    crate::wire::to_json(&crate::wire::Status::of(f, last, generated_at))
}

/// `kodo ph-sync status --format csv`.
pub fn status_csv(f: &Findings, last: &[(Resource, Option<LastSync>)]) -> String {
    let mut out = csv_row(&[
        "resource",
        "posthog",
        "notion",
        "undocumented",
        "orphaned",
        "mismatches",
        "stale",
        "planned",
        "last_sync",
        "last_action",
    ]);
    for s in &f.summary {
        let sync = last
            .iter()
            .find(|(r, _)| *r == s.resource)
            .and_then(|(_, l)| l.clone());
        out.push_str(&csv_row(&[
            s.resource.plural().to_string(),
            s.posthog.to_string(),
            s.notion.to_string(),
            s.undocumented.to_string(),
            s.orphaned.to_string(),
            s.mismatches.to_string(),
            s.stale.to_string(),
            s.planned.to_string(),
            sync.as_ref().map(|l| l.at.clone()).unwrap_or_default(),
            sync.map(|l| l.action).unwrap_or_default(),
        ]));
    }
    out
}

/// `kodo ph-sync` with no action: the status, the discrepancies, and the fixing commands.
pub fn overview(f: &Findings, last: &[(Resource, Option<LastSync>)]) -> String {
    let mut out = String::from("# PostHog-Notion Sync\n\n");
    out.push_str(&status_markdown(f, last));
    if let Some(h) = &f.hygiene {
        let _ = writeln!(out, "\n{}", hygiene::summary_line(h));
    }
    if f.in_sync() && f.planned.is_empty() {
        out.push_str("\nIn sync: nothing to do.\n");
        return out;
    }
    out.push_str("\n## Discrepancies\n");
    issues(&mut out, f);
    if let Some(c) = &f.code {
        code::problem_sections(&mut out, c, true);
    }
    if let Some(p) = &f.properties {
        out.push_str(&crate::properties::markdown(p));
    }
    let mut fixes: Vec<String> = Vec::new();
    let schemas_to_extend = f
        .properties
        .as_ref()
        .is_some_and(|p| p.undocumented().next().is_some())
        .then_some(Resource::Events);
    let mut import: Vec<Resource> = f
        .undocumented
        .iter()
        .chain(&f.mismatches)
        .chain(&f.stale)
        .map(|x| x.resource)
        .chain(schemas_to_extend)
        .collect();
    import.sort();
    import.dedup();
    // One command when several resources need an import: `import all` (the default).
    match import.as_slice() {
        [] => {}
        [one] => fixes.push(format!("kodo ph-sync import {}", one.plural())),
        _ => fixes.push("kodo ph-sync import all".to_string()),
    }
    let mut orphaned: Vec<Resource> = f.orphaned.iter().map(|x| x.resource).collect();
    orphaned.sort();
    orphaned.dedup();
    for r in orphaned {
        fixes.push(format!(
            "kodo ph-sync import {} --archive-orphans   # after reviewing the orphaned entries",
            r.plural()
        ));
    }
    if !fixes.is_empty() {
        out.push_str("\n## To fix\n");
        for fix in fixes {
            let _ = writeln!(out, "    {fix}");
        }
    }
    out
}

/// `kodo ph-sync import`'s plan, as text.
/// `people` names the Notion users of People values (Owner) by name and e-mail.
pub fn import_plan_text(
    plans: &[ResourcePlan],
    archive_orphans: bool,
    people: &Directory,
) -> String {
    let mut out = String::new();
    for p in plans {
        let creates = p.creates().count();
        let updates = p.updates().count();
        let unchanged = p.unchanged();
        let title = p.resource.title();
        let kept = p.items.iter().any(|i| !i.kept.is_empty());
        if creates == 0 && updates == 0 && p.orphans.is_empty() && !kept {
            let _ = writeln!(out, "{title}: nothing to do ({unchanged} unchanged)");
            continue;
        }
        let _ = writeln!(
            out,
            "{title}: {creates} to create, {updates} to update, {unchanged} unchanged"
        );
        for item in &p.items {
            let d = &item.desired;
            match &item.step {
                Step::Create => {
                    let mut line = format!("  + {}", d.record.key);
                    if let (Resource::Dashboards, Some(id)) = (p.resource, d.posthog_id) {
                        let _ = write!(line, " (ID: {id})");
                    }
                    let _ = writeln!(out, "{line}");
                    // Every value the new row gets, in the schema's order (as terraform's
                    // plan shows them): what a reviewer approves.
                    let schema = p.resource.schema();
                    let title = schema.title_property().name;
                    for spec in schema.properties.iter().filter(|s| s.name != title) {
                        if let Some(value) = d.record.props.get(spec.name).filter(|v| !v.is_empty())
                        {
                            let _ = writeln!(out, "      {}: {}", spec.name, show(value, people));
                        }
                    }
                }
                Step::Update { changes, .. } => {
                    let list = changes
                        .iter()
                        .map(|c| {
                            format!(
                                "{}: {} → {}",
                                c.property,
                                show(&c.from, people),
                                show(&c.to, people)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    let _ = writeln!(out, "  ~ {}: {list}", d.record.key);
                }
                Step::Unchanged { .. } => {}
            }
            if !item.kept.is_empty() {
                let names: Vec<&str> = item.kept.iter().map(|c| c.property).collect();
                let _ = writeln!(
                    out,
                    "  = {}: {} edited in Notion, kept (--overwrite replaces it)",
                    d.record.key,
                    names.join(", ")
                );
            }
        }
        for o in &p.orphans {
            let why = match o.reason {
                OrphanReason::NoMatch => "no PostHog counterpart",
                OrphanReason::MayHaveBeenDeleted => "may have been deleted in PostHog",
                OrphanReason::Deleted => "deleted in PostHog",
                OrphanReason::Duplicate => "duplicate entry",
            };
            let fate = if archive_orphans {
                "will be moved to the trash"
            } else {
                "left as is; --archive-orphans moves it to the trash"
            };
            let _ = writeln!(out, "  ? {} ({why}; {fate})", o.row.record.key);
        }
    }
    out
}

/// `kodo ph-sync import --format json`: the plan and, unless a dry run, the result
/// ([`crate::wire::Import`]).
pub fn import_json(
    plans: &[ResourcePlan],
    outcome: Option<&crate::outcome::Outcome>,
    dry_run: bool,
) -> String {
    crate::wire::to_json(&crate::wire::Import::of(plans, outcome, dry_run))
}

/// The line that ends an import; after an interruption, also every write that landed and
/// every write that was not started.
pub fn import_summary(outcome: &crate::outcome::Outcome) -> String {
    let mut line = if outcome.interrupted {
        format!(
            "Import interrupted: {} of {} writes done, {} not started: created {}, recovered {}, updated {}, unchanged {}",
            outcome.written.len(),
            outcome.planned_writes(),
            outcome.left.len(),
            outcome.created,
            outcome.recovered,
            outcome.updated,
            outcome.unchanged
        )
    } else {
        format!(
            "Import done: created {}, recovered {}, updated {}, unchanged {}",
            outcome.created, outcome.recovered, outcome.updated, outcome.unchanged
        )
    };
    if outcome.archived > 0 {
        let _ = write!(line, ", archived {}", outcome.archived);
    }
    if !outcome.existing.is_empty() {
        let _ = write!(
            line,
            ", found {} created meanwhile by another run",
            outcome.existing.len()
        );
    }
    let _ = write!(line, ", failed {}.", outcome.failed.len());
    for f in &outcome.failed {
        let _ = write!(
            line,
            "\n  failed to {} {} `{}`: {}",
            f.action,
            f.resource.label().to_lowercase(),
            f.key,
            f.error
        );
    }
    if outcome.interrupted {
        let list = |out: &mut String, writes: &[crate::outcome::Write]| {
            for w in writes {
                let sign = match w.action {
                    "create" => '+',
                    "archive" => '-',
                    _ => '~',
                };
                let _ = write!(
                    out,
                    "\n  {sign} {} `{}`",
                    w.resource.label().to_lowercase(),
                    w.key
                );
            }
        };
        if !outcome.written.is_empty() {
            line.push_str("\nWritten (each row whole: a write in flight was finished):");
            list(&mut line, &outcome.written);
        }
        if !outcome.left.is_empty() {
            line.push_str(
                "\nNot written (re-run `kodo ph-sync import` to write them; it is safe to repeat):",
            );
            list(&mut line, &outcome.left);
        }
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(resource: Resource, key: &str) -> Finding {
        Finding {
            resource,
            key: key.into(),
            id: None,
            notion_status: None,
            posthog_status: None,
            detail: String::new(),
            reason: None,
            url: None,
            changes: Vec::new(),
        }
    }

    fn summary(resource: Resource, posthog: usize, notion: usize) -> Summary {
        Summary {
            resource,
            posthog,
            notion,
            undocumented: 0,
            orphaned: 0,
            mismatches: 0,
            stale: 0,
            planned: 0,
            edited: 0,
        }
    }

    /// The spec's example, as findings.
    fn spec_example() -> Findings {
        let mut f = Findings::default();
        let mut events = summary(Resource::Events, 47, 41);
        events.undocumented = 6;
        let mut flags = summary(Resource::Flags, 12, 10);
        flags.undocumented = 2;
        flags.mismatches = 1;
        let experiments = summary(Resource::Experiments, 3, 3);
        let mut dashboards = summary(Resource::Dashboards, 6, 4);
        dashboards.undocumented = 2;
        f.summary = vec![events, flags, experiments, dashboards];
        for e in [
            "error_api_timeout",
            "feature_export_completed",
            "feature_export_started",
            "system_job_failed",
            "system_webhook_sent",
            "user_api_key_created",
        ] {
            f.undocumented.push(finding(Resource::Events, e));
        }
        let mut flag = finding(Resource::Flags, "ops_maintenance_mode");
        flag.detail = "inactive".into();
        f.undocumented.push(flag);
        let mut flag = finding(Resource::Flags, "release_new_api_v2");
        flag.detail = "active at 25%".into();
        f.undocumented.push(flag);
        for (name, id) in [("API Performance", 123), ("Error Tracking", 124)] {
            let mut d = finding(Resource::Dashboards, name);
            d.id = Some(id);
            d.detail = format!("ID: {id}");
            f.undocumented.push(d);
        }
        let mut m = finding(Resource::Flags, "release_checkout_v2");
        m.notion_status = Some("draft".into());
        m.posthog_status = Some("active".into());
        m.detail = "active at 100%".into();
        f.mismatches.push(m);
        f
    }

    #[test]
    fn audit_markdown_matches_the_spec_format() {
        let text = audit_markdown(&spec_example(), "<timestamp>");
        // The spec's example report (ph-sync-spec.md), also the demo's end to end.
        let expected = include_str!("testdata/spec_example_audit.md");
        assert_eq!(text, expected);
    }

    #[test]
    fn clean_audit_says_so() {
        let f = Findings {
            summary: vec![summary(Resource::Flags, 2, 2)],
            ..Findings::default()
        };
        let text = audit_markdown(&f, "T");
        assert!(text.contains(
            "### Orphaned Documentation\nThese exist in Notion but not in PostHog:\nNone.\n"
        ));
        assert!(text.contains("- Flags: All 2 documented correctly"));
        assert!(
            text.ends_with("## Recommended Actions\nNothing to do: PostHog and Notion agree.\n")
        );
        assert!(f.in_sync());
    }

    #[test]
    fn orphans_mismatches_and_stale_lines() {
        let mut s = summary(Resource::Flags, 1, 3);
        s.orphaned = 2;
        s.stale = 1;
        let mut f = Findings {
            summary: vec![s],
            ..Findings::default()
        };
        let mut gone = finding(Resource::Flags, "old_flag");
        gone.detail = "May have been deleted".into();
        f.orphaned.push(gone);
        let mut ev = finding(Resource::Events, "legacy_event");
        ev.detail = "Consider archiving or removing".into();
        f.orphaned.push(ev);
        let mut x = finding(Resource::Experiments, "Checkout test");
        x.notion_status = Some("running".into());
        x.posthog_status = Some("concluded".into());
        f.mismatches.push(x);
        let mut st = finding(Resource::Flags, "beta_x");
        st.detail = "Rollout %: 25 → 50".into();
        f.stale.push(st);
        let text = audit_markdown(&f, "T");
        assert!(text.contains("- [ ] Flag: `old_flag` - May have been deleted\n"));
        assert!(text.contains("- [ ] Event: `legacy_event` - Consider archiving or removing\n"));
        assert!(text.contains(
            "- [ ] Experiment `Checkout test`: Notion says \"running\", PostHog concluded\n"
        ));
        assert!(text.contains("### Stale Documentation\nDocumented facts differ from PostHog (Notion → PostHog):\n- [ ] Flag `beta_x`: Rollout %: 25 → 50\n"));
        assert!(text.contains("### Fully Synced\nNone.\n"));
        assert!(text.contains("1. Review the 2 orphaned entries in Notion, then archive or remove them; to move them to the trash: `kodo ph-sync import events --archive-orphans`, `kodo ph-sync import flags --archive-orphans`\n"));
        assert!(!f.in_sync());
    }

    #[test]
    fn each_row_with_a_notion_page_links_to_it() {
        let page = "https://www.notion.so/old_flag-1f2e3d4c5b6a47988776655443322110";
        let mut s = summary(Resource::Flags, 1, 3);
        s.orphaned = 1;
        let mut f = Findings {
            summary: vec![s],
            ..Findings::default()
        };
        let mut gone = finding(Resource::Flags, "old_flag");
        gone.detail = "May have been deleted".into();
        gone.url = Some(page.into());
        f.orphaned.push(gone);
        let mut x = finding(Resource::Flags, "beta_x");
        x.notion_status = Some("draft".into());
        x.posthog_status = Some("active".into());
        x.detail = "active at 100%".into();
        x.url = Some("https://www.notion.so/beta_x-aa".into());
        f.mismatches.push(x);
        let mut st = finding(Resource::Flags, "stale_x");
        st.detail = "Rollout %: 25 → 50".into();
        st.url = Some("https://www.notion.so/stale_x-bb".into());
        f.stale.push(st);
        let mut planned = finding(Resource::Events, "next_event");
        planned.notion_status = Some("planned".into());
        planned.url = Some("https://www.notion.so/next_event-cc".into());
        f.planned.push(planned);
        let text = audit_markdown(&f, "T");
        assert!(
            text.contains(&format!(
                "- [ ] Flag: [`old_flag`]({page}) - May have been deleted\n"
            )),
            "{text}"
        );
        assert!(
            text.contains(
                "- [ ] Flag [`beta_x`](https://www.notion.so/beta_x-aa): Notion says \"draft\""
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "- [ ] Flag [`stale_x`](https://www.notion.so/stale_x-bb): Rollout %: 25 → 50\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "- Event: [`next_event`](https://www.notion.so/next_event-cc) (planned)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_link_is_made_only_of_a_web_url_and_cannot_break_out_of_its_markdown() {
        assert_eq!(linked_key("k", None), "`k`");
        assert_eq!(linked_key("k", Some("javascript:alert(1)")), "`k`");
        assert_eq!(linked_key("k", Some("")), "`k`");
        assert_eq!(
            linked_key("k", Some("https://x.notion.site/A (b)<c>[d]\n")),
            "[`k`](https://x.notion.site/A%20%28b%29%3Cc%3E%5Bd%5D)"
        );
        assert_eq!(
            linked_key("k", Some("https://x.test/\u{7}z")),
            "[`k`](https://x.test/%07z)"
        );
    }

    fn alex() -> Directory {
        Directory::new([
            hygiene::Member {
                id: "u-alex".into(),
                name: "Alex Kim".into(),
                email: Some("alex@acme.example".into()),
            },
            hygiene::Member {
                id: "u-noemail".into(),
                name: "Sam".into(),
                email: None,
            },
        ])
    }

    #[test]
    fn people_are_named_by_name_and_email_and_an_unknown_user_by_id() {
        let people = alex();
        assert_eq!(people.label("u-alex"), "Alex Kim <alex@acme.example>");
        assert_eq!(people.label("u-noemail"), "Sam");
        assert_eq!(people.label("u-gone"), "u-gone");
        assert_eq!(
            show(
                &PropValue::People(vec!["u-alex".into(), "u-gone".into()]),
                &people
            ),
            "Alex Kim <alex@acme.example>, u-gone"
        );
        assert_eq!(show(&PropValue::People(vec![]), &people), "(empty)");
        assert_eq!(
            Directory::unreadable().label("u-alex"),
            "u-alex",
            "without the users, the ID"
        );
    }

    #[test]
    fn the_import_plan_and_the_audit_name_owners() {
        use crate::model::{MatchKeys, Record};
        let record = |owner: &[&str]| Record {
            resource: Resource::Flags,
            key: "beta_x".into(),
            keys: MatchKeys {
                primary: Some("beta_x".into()),
                fallback: None,
            },
            status: Some("active".into()),
            props: [(
                "Owner",
                PropValue::People(owner.iter().map(|s| s.to_string()).collect()),
            )]
            .into_iter()
            .collect(),
        };
        let desired = |owner: &[&str]| crate::normalize::Desired {
            record: record(owner),
            soft: Default::default(),
            detail: None,
            deleted: false,
            posthog_id: Some(1),
            creator: None,
            serving: None,
        };
        let change = Change {
            property: "Owner",
            from: PropValue::People(vec![]),
            to: PropValue::People(vec!["u-alex".into()]),
        };
        let plan = ResourcePlan {
            resource: Resource::Flags,
            posthog_count: 2,
            notion_count: 1,
            items: vec![
                crate::plan::Item {
                    desired: desired(&["u-alex"]),
                    step: Step::Create,
                    notion_status: None,
                    url: None,
                    kept: Vec::new(),
                },
                crate::plan::Item {
                    desired: desired(&["u-alex"]),
                    step: Step::Update {
                        page_id: "p1".into(),
                        changes: vec![change],
                    },
                    notion_status: Some("active".into()),
                    url: None,
                    kept: Vec::new(),
                },
            ],
            orphans: Vec::new(),
            planned: Vec::new(),
            retired: Vec::new(),
        };
        let text = import_plan_text(std::slice::from_ref(&plan), false, &alex());
        assert!(
            text.contains("      Owner: Alex Kim <alex@acme.example>\n"),
            "{text}"
        );
        assert!(
            text.contains("  ~ beta_x: Owner: (empty) → Alex Kim <alex@acme.example>\n"),
            "{text}"
        );
        assert!(!text.contains("u-alex"), "{text}");
        let f = Findings::from_plans(std::slice::from_ref(&plan), &alex());
        assert_eq!(
            f.stale[0].detail,
            "Owner: (empty) → Alex Kim <alex@acme.example>"
        );
        // The JSON keeps the IDs (what a program needs to write Notion).
        assert!(import_json(std::slice::from_ref(&plan), None, true).contains("u-alex"));
    }

    #[test]
    fn audit_json_has_the_documented_schema() {
        let text = audit_json(&spec_example(), "2026-05-01T12:00:00Z");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["generated_at"], "2026-05-01T12:00:00Z");
        assert_eq!(v["summary"]["events"]["posthog"], 47);
        assert_eq!(v["summary"]["events"]["notion"], 41);
        assert_eq!(v["summary"]["flags"]["undocumented"], 2);
        assert_eq!(v["summary"]["flags"]["mismatches"], 1);
        assert_eq!(v["undocumented"].as_array().unwrap().len(), 10);
        assert_eq!(
            v["undocumented"][0],
            serde_json::json!({
                "resource": "events", "key": "error_api_timeout", "notion_status": null,
                "posthog_status": null, "detail": "", "url": null
            })
        );
        assert_eq!(v["undocumented"][8]["id"], 123);
        assert_eq!(v["mismatches"][0]["notion_status"], "draft");
        assert_eq!(v["mismatches"][0]["posthog_status"], "active");
        assert_eq!(v["mismatches"][0]["detail"], "active at 100%");
        assert_eq!(v["orphaned"], serde_json::json!([]));
        assert_eq!(v["in_sync"], false);
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "version",
                "generated_at",
                "summary",
                "undocumented",
                "orphaned",
                "mismatches",
                "stale",
                "planned",
                "edited",
                "code",
                "in_sync",
                "hygiene",
                "hygiene_errors",
                "properties",
                "property_errors"
            ]
        );
        // Not judged (`--no-code`): null.
        assert_eq!(v["code"], serde_json::Value::Null);
        // Hygiene not judged: no findings.
        assert_eq!(v["hygiene"], serde_json::json!([]));
        assert_eq!(v["hygiene_errors"], 0);
    }

    #[test]
    fn the_code_section_sits_before_the_actions_and_can_put_an_audit_out_of_sync() {
        let mut f = Findings {
            summary: vec![summary(Resource::Flags, 2, 2)],
            ..Findings::default()
        };
        let mut c = CodeReport {
            scanned: true,
            files_scanned: 4,
            any_reference: true,
            cleanup_after_days: 30,
            ..CodeReport::default()
        };
        c.cleanup_candidates.push(code::Cleanup {
            key: "release_x".into(),
            since: "2025-01-02".into(),
            references: vec!["web/a.ts:3".into()],
        });
        f.code = Some(c.clone());
        // Clean-up candidates are advisory.
        assert!(f.in_sync());
        let text = audit_markdown(&f, "T");
        assert!(
            text.contains(
                "- Flags: All 2 documented correctly

## Code

### In Code, Not Documented
"
            ),
            "{text}"
        );
        assert!(text.ends_with("## Recommended Actions
1. Consider removing the 1 clean-up candidate (`release_x`) from the code, then the flags from PostHog
"), "{text}");
        c.dead_flag_references.push(code::DeadFlag {
            key: "beta_y".into(),
            posthog_state: code::DeadState::Deleted,
            references: vec!["api/b.py:9".into()],
        });
        f.code = Some(c);
        assert!(!f.in_sync());
        let v: serde_json::Value = serde_json::from_str(&audit_json(&f, "T")).unwrap();
        assert_eq!(v["in_sync"], false);
        assert_eq!(v["code"]["files_scanned"], 4);
        assert_eq!(
            v["code"]["dead_flag_references"],
            serde_json::json!([{"key": "beta_y", "posthog_state": "deleted", "references": ["api/b.py:9"]}])
        );
        let csv = audit_csv(&f);
        assert!(csv.ends_with("dead_flag_reference,flags,beta_y,,,deleted in PostHog; api/b.py:9\r\ncleanup_candidate,flags,release_x,,,\"at 100%, unchanged since 2025-01-02; web/a.ts:3\"\r\n"), "{csv}");
        let text = overview(&f, &[]);
        assert!(text.contains("### Flags Removed in PostHog but Still in Code\nPostHog no longer serves these flags, yet code checks them (a live bug):\n- [ ] Flag: `beta_y` - deleted in PostHog (api/b.py:9)\n"), "{text}");
        assert!(!text.contains("In Code, Not Documented"), "{text}");
    }

    #[test]
    fn csv_quotes_per_rfc_4180() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        let text = audit_csv(&spec_example());
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "type,resource,key,notion_status,posthog_status,detail"
        );
        assert_eq!(
            lines[7],
            "undocumented,flags,ops_maintenance_mode,,,inactive"
        );
        assert_eq!(
            lines[11],
            "mismatch,flags,release_checkout_v2,draft,active,active at 100%"
        );
        assert_eq!(lines.len(), 13);
    }

    #[test]
    fn status_table_and_overview() {
        let f = spec_example();
        let last = vec![
            (
                Resource::Events,
                Some(LastSync {
                    at: "2026-05-01T10:00:00Z".into(),
                    action: "import".into(),
                }),
            ),
            (Resource::Flags, None),
        ];
        let table = status_markdown(&f, &last);
        let expected = "\
| Resource    | PostHog | Notion | Undocumented | Orphaned | Mismatched | Stale | Planned | Last sync                     |
| ----------- | ------: | -----: | -----------: | -------: | ---------: | ----: | ------: | ----------------------------- |
| Events      |      47 |     41 |            6 |        0 |          0 |     0 |       0 | 2026-05-01T10:00:00Z (import) |
| Flags       |      12 |     10 |            2 |        0 |          1 |     0 |       0 | never                         |
| Experiments |       3 |      3 |            0 |        0 |          0 |     0 |       0 | never                         |
| Dashboards  |       6 |      4 |            2 |        0 |          0 |     0 |       0 | never                         |
";
        assert_eq!(table, expected);
        let text = overview(&f, &last);
        assert!(text.contains("## Discrepancies\n\n### Undocumented Resources\n"));
        assert!(
            text.ends_with("## To fix\n    kodo ph-sync import all\n"),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&status_json(&f, &last, "T")).unwrap();
        assert_eq!(json["resources"]["events"]["last_sync"]["action"], "import");
        assert_eq!(
            json["resources"]["flags"]["last_sync"],
            serde_json::Value::Null
        );
        assert_eq!(json["resources"]["dashboards"]["undocumented"], 2);
        assert_eq!(json["in_sync"], false);
    }
}
