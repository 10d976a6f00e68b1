//! How the gate's findings are shown: a human report with the exact commands that fix each
//! problem, GitHub Actions annotations, and JSON.
//!
//! **Invariants.** Every blocking finding is listed as `path:line  kind  \`key\`` followed by its
//! fix; every report that blocks ends with the ways to commit anyway that apply where it runs
//! (a waiver comment always; `KODO_SKIP=1` and `--no-verify` only for the git hook). Output is a
//! pure function of the findings, so it is deterministic. GitHub annotation values are escaped
//! as the runner requires (`%`, CR, LF, and in properties `:` and `,`).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use kodo_scan::Kind;

use super::check::{Finding, Problem, Severity, Unscanned, Waiver};
use crate::hooks::wire::{PreCommit, PreCommitFinding, PreCommitUnscanned};

/// Where the findings come from, which decides the ways out that are offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `kodo hook pre-commit`.
    Hook,
    /// `kodo scan --rev-range`.
    Range,
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Event => "event",
        Kind::Flag => "flag",
    }
}

fn key_text(f: &Finding) -> String {
    match &f.key {
        Some(k) => format!("`{}`", kodo_scan::render::display_path(k)),
        None => "(dynamic key)".into(),
    }
}

/// The comment that starts a waiver in this file's language.
pub fn comment_for(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("");
    match ext {
        "py" | "rb" | "ex" | "exs" | "sh" | "yml" | "yaml" | "pl" | "r" | "R" | "cr" | "nim" => "#",
        "lua" | "sql" | "hs" => "--",
        _ => "//",
    }
}

fn what(f: &Finding) -> String {
    match &f.problem {
        Problem::Undocumented => "is not documented".into(),
        Problem::Unverified { .. } => "could not be checked".into(),
        Problem::NotSnakeCase => "is not snake_case (sync.naming.snake_case)".into(),
        Problem::NoAllowedPrefix { prefixes } => format!(
            "starts with none of the allowed prefixes {} (sync.naming.prefixes)",
            prefixes
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Problem::Dynamic { reason } => format!("cannot be checked: {reason}"),
        Problem::DeadFlag { posthog_state } => {
            format!("is {}: this check is dead code", posthog_state.phrase())
        }
        Problem::UndocumentedProperty { property } => format!(
            "sends the property `{}`, which its Properties schema does not document (add it: `{}`)",
            kodo_scan::render::display_path(property),
            property_fix(f, property)
        ),
    }
}

/// The command that documents an event's property (`document` adds it to the schema).
fn property_fix(f: &Finding, property: &str) -> String {
    let event = f.key.as_deref().unwrap_or_default();
    kodo_core::document::command(
        crate::model::Resource::Events,
        &kodo_scan::render::display_path(event),
        &[(
            crate::model::DocField::Property,
            &kodo_scan::render::display_path(property),
        )],
    )
}

/// `path:line`, control characters escaped (a file name can hold a newline or an escape
/// sequence that would rewrite the terminal).
fn location(f: &Finding) -> String {
    format!("{}:{}", kodo_scan::render::display_path(&f.path), f.line)
}

/// The one-line message of a finding (annotations, warnings).
pub fn message(f: &Finding) -> String {
    let label = match f.kind {
        Kind::Event => "Event",
        Kind::Flag => "Feature flag",
    };
    let mut m = format!("{label} {} {}", key_text(f), what(f));
    match (&f.problem, &f.key) {
        (Problem::Undocumented, Some(key)) => {
            let _ = write!(
                m,
                ": run `{}` (it writes the Notion row and refreshes the snapshot)",
                fix(f.kind, key)
            );
        }
        (Problem::Unverified { reason }, _) => {
            let _ = write!(m, " ({reason})");
        }
        _ => {}
    }
    if f.waiver == Waiver::MissingReason {
        m.push_str(" (the `kodo-ignore` here has no reason, so it is not a waiver)");
    }
    m
}

/// The command that documents the key (it refreshes the snapshot too).
fn fix(kind: Kind, key: &str) -> String {
    let resource = match kind {
        Kind::Event => crate::model::Resource::Events,
        Kind::Flag => crate::model::Resource::Flags,
    };
    kodo_core::document::command(resource, &kodo_scan::render::display_path(key), &[])
}

/// The human report. Empty when there is nothing to say.
pub fn human(findings: &[Finding], mode: Mode, notes: &[String]) -> String {
    let mut out = String::new();
    for note in notes {
        let _ = writeln!(out, "warning: {note}");
    }
    let blocking: Vec<&Finding> = findings.iter().filter(|f| f.blocks()).collect();
    let warnings: Vec<&Finding> = findings
        .iter()
        .filter(|f| !f.blocks() && !matches!(f.waiver, Waiver::Waived(_)))
        .collect();
    let waived: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error && matches!(f.waiver, Waiver::Waived(_)))
        .collect();

    for f in &warnings {
        let _ = writeln!(
            out,
            "warning: {}  {}  {} {}",
            location(f),
            kind_name(f.kind),
            key_text(f),
            what(f)
        );
        if let Problem::Unverified { reason } = &f.problem {
            let _ = writeln!(
                out,
                "         ({reason}; not blocking: sync.strict_offline is off)"
            );
        }
    }
    for f in &waived {
        if let Waiver::Waived(reason) = &f.waiver {
            let _ = writeln!(
                out,
                "kodo: waived {}  {}  {} ({})",
                location(f),
                kind_name(f.kind),
                key_text(f),
                reason
            );
        }
    }
    if blocking.is_empty() {
        return out;
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let subject = match mode {
        Mode::Hook => "this commit",
        Mode::Range => "these commits",
    };
    let _ = writeln!(out, "kodo: {subject} cannot go in as is:\n");
    let width = blocking
        .iter()
        .map(|f| location(f).len())
        .max()
        .unwrap_or(0);
    for f in &blocking {
        let _ = writeln!(
            out,
            "  {:<width$}  {:<5}  {}  {}",
            location(f),
            kind_name(f.kind),
            key_text(f),
            what(f)
        );
        if f.waiver == Waiver::MissingReason {
            let _ = writeln!(
                out,
                "  {:<width$}  the `kodo-ignore` on this line has no reason, so it is not a waiver",
                ""
            );
        }
    }

    // A name that breaks a blocking naming rule is renamed first, not documented as it is.
    let misnamed: BTreeSet<(Kind, &str)> = blocking
        .iter()
        .filter(|f| {
            matches!(
                f.problem,
                Problem::NotSnakeCase | Problem::NoAllowedPrefix { .. }
            )
        })
        .filter_map(|f| f.key.as_deref().map(|k| (f.kind, k)))
        .collect();
    let undocumented: BTreeSet<(Kind, &str)> = blocking
        .iter()
        .filter(|f| f.problem == Problem::Undocumented)
        .filter_map(|f| f.key.as_deref().map(|k| (f.kind, k)))
        .filter(|k| !misnamed.contains(k))
        .collect();
    if !undocumented.is_empty() {
        let _ = writeln!(out, "\nTo fix, document each key in Notion first:");
        for (kind, key) in &undocumented {
            let _ = writeln!(out, "  {}", fix(*kind, key));
        }
        let _ = writeln!(
            out,
            "  (each writes the Notion row and refreshes the snapshot), then commit again."
        );
        let mut imports: Vec<&str> = Vec::new();
        if undocumented.iter().any(|(k, _)| *k == Kind::Event) {
            imports.push("kodo ph-sync import events");
        }
        if undocumented.iter().any(|(k, _)| *k == Kind::Flag) {
            imports.push("kodo ph-sync import flags");
        }
        let _ = writeln!(
            out,
            "  If it already exists in PostHog, `{}` documents it from PostHog and refreshes the snapshot.",
            imports.join("` / `")
        );
    }
    if blocking.iter().any(|f| {
        matches!(
            f.problem,
            Problem::NotSnakeCase | Problem::NoAllowedPrefix { .. }
        )
    }) {
        let _ = writeln!(
            out,
            "\nTo fix a name, rename the event in the code (the naming rules are `sync.naming` in `.kodo/config.json`), then document the new name."
        );
    }
    if blocking
        .iter()
        .any(|f| matches!(f.problem, Problem::DeadFlag { .. }))
    {
        let _ = writeln!(
            out,
            "\nTo fix a check of a flag PostHog no longer serves, remove it from the code; if the flag is back in PostHog, `kodo ph-sync status` records that in the snapshot."
        );
    }
    let unverified: BTreeSet<&str> = blocking
        .iter()
        .filter_map(|f| match &f.problem {
            Problem::Unverified { reason } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    for reason in unverified {
        let _ = writeln!(
            out,
            "\nThe documentation could not be checked: {reason}.\n  sync.strict_offline is on, so this blocks. Run `kodo snapshot refresh` when Notion is reachable."
        );
    }

    // Each file's own comment syntax: a commit may touch Python and TypeScript at once.
    let mut by_comment: std::collections::BTreeMap<&str, BTreeSet<&str>> = Default::default();
    for f in &blocking {
        by_comment
            .entry(comment_for(&f.path))
            .or_default()
            .insert(f.path.as_str());
    }
    let _ = writeln!(
        out,
        "\nTo {} anyway:",
        match mode {
            Mode::Hook => "commit",
            Mode::Range => "let them through",
        }
    );
    if by_comment.len() == 1 {
        let comment = by_comment.keys().next().copied().unwrap_or("//");
        let _ = writeln!(
            out,
            "  - add `{comment} kodo-ignore: <reason>` at the end of the line (a reason is required)"
        );
    } else {
        let _ = writeln!(
            out,
            "  - add a waiver comment with a reason at the end of the line (a reason is required):"
        );
        for (comment, paths) in &by_comment {
            let paths: Vec<String> = paths
                .iter()
                .map(|p| kodo_scan::render::display_path(p).into_owned())
                .collect();
            let _ = writeln!(
                out,
                "      `{comment} kodo-ignore: <reason>` in {}",
                paths.join(", ")
            );
        }
    }
    if mode == Mode::Hook {
        let _ = writeln!(out, "  - KODO_SKIP=1 git commit …");
        let _ = writeln!(out, "  - git commit --no-verify");
    }
    out
}

/// The changed files that could not be scanned, each by name and why: warnings, or (under
/// `sync.strict_offline`) a block with the ways out. Empty when every file was scanned.
pub fn unscanned(files: &[Unscanned], mode: Mode) -> String {
    let mut out = String::new();
    for u in files.iter().filter(|u| !u.blocks) {
        let _ = writeln!(
            out,
            "warning: {} was not scanned for events and flags: {} (not blocking: sync.strict_offline is off)",
            kodo_scan::render::display_path(&u.path),
            u.reason.describe()
        );
    }
    let blocking: Vec<&Unscanned> = files.iter().filter(|u| u.blocks).collect();
    if blocking.is_empty() {
        return out;
    }
    let subject = match mode {
        Mode::Hook => "this commit",
        Mode::Range => "these commits",
    };
    let _ = writeln!(
        out,
        "kodo: {subject} cannot go in as is: changed files could not be scanned for events and flags, and sync.strict_offline is on:\n"
    );
    for u in &blocking {
        let _ = writeln!(
            out,
            "  {}  {}",
            kodo_scan::render::display_path(&u.path),
            u.reason.describe()
        );
    }
    let _ = writeln!(
        out,
        "\nTo fix, make the file scannable, or leave it out of the check with `scan.exclude` in `.kodo/config.json`."
    );
    if mode == Mode::Hook {
        let _ = writeln!(
            out,
            "To commit anyway:\n  - KODO_SKIP=1 git commit …\n  - git commit --no-verify"
        );
    }
    out
}

/// GitHub Actions workflow commands: `::error` for what blocks, `::warning` for the rest.
pub fn github_annotations(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        if matches!(f.waiver, Waiver::Waived(_)) {
            continue;
        }
        let level = if f.blocks() { "error" } else { "warning" };
        let title = match &f.problem {
            Problem::Undocumented => "Undocumented",
            Problem::Unverified { .. } => "Documentation not checked",
            Problem::NotSnakeCase | Problem::NoAllowedPrefix { .. } => "Naming rule",
            Problem::Dynamic { .. } => "Dynamic key",
            Problem::UndocumentedProperty { .. } => "Undocumented property",
            Problem::DeadFlag { .. } => "Flag PostHog no longer serves",
        };
        let _ = writeln!(
            out,
            "::{level} file={},line={},title={}::{}",
            escape_property(&f.path),
            f.line,
            escape_property(&format!("kodo: {title}")),
            escape_data(&message(f))
        );
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The JSON report, [`crate::hooks::wire::PreCommit`].
pub fn json(findings: &[Finding], notes: &[String], unscanned: &[Unscanned]) -> String {
    kodo_core::wire::to_json(&wire(findings, notes, unscanned))
}

/// The wire form of the gate's report.
pub fn wire(findings: &[Finding], notes: &[String], unscanned: &[Unscanned]) -> PreCommit {
    let blocked = findings.iter().any(Finding::blocks) || unscanned.iter().any(|u| u.blocks);
    PreCommit {
        version: kodo_core::wire::VERSION,
        blocked,
        findings: findings
            .iter()
            .map(|f| PreCommitFinding {
                path: f.path.clone(),
                line: f.line,
                kind: f.kind,
                key: f.key.clone(),
                problem: f.problem.clone(),
                severity: f.severity,
                waiver: f.waiver.clone(),
                blocks: f.blocks(),
            })
            .collect(),
        notes: notes.to_vec(),
        unscanned: unscanned
            .iter()
            .map(|u| PreCommitUnscanned {
                path: u.path.clone(),
                reason: u.reason,
                blocks: u.blocks,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(path: &str, kind: Kind, key: &str, problem: Problem, severity: Severity) -> Finding {
        Finding {
            path: path.into(),
            line: 7,
            kind,
            key: Some(key.into()),
            problem,
            severity,
            waiver: Waiver::None,
        }
    }

    #[test]
    fn blocked_report_lists_locations_fixes_and_waivers() {
        let findings = [
            finding(
                "src/app.ts",
                Kind::Event,
                "checkout_started",
                Problem::Undocumented,
                Severity::Error,
            ),
            finding(
                "app/flags.py",
                Kind::Flag,
                "new-pricing",
                Problem::Undocumented,
                Severity::Error,
            ),
        ];
        let text = human(&findings, Mode::Hook, &[]);
        assert!(
            text.contains("src/app.ts:7    event  `checkout_started`  is not documented"),
            "{text}"
        );
        assert!(
            text.contains("app/flags.py:7  flag   `new-pricing`"),
            "{text}"
        );
        assert!(text.contains("  kodo ph-sync document event checkout_started\n"));
        assert!(text.contains("  kodo ph-sync document flag new-pricing\n"));
        assert!(text.contains("refreshes the snapshot"));
        assert!(text.contains("`kodo ph-sync import events` / `kodo ph-sync import flags`"));
        // Each file's own waiver syntax, not only the first file's.
        assert!(
            text.contains("      `# kodo-ignore: <reason>` in app/flags.py\n"),
            "{text}"
        );
        assert!(
            text.contains("      `// kodo-ignore: <reason>` in src/app.ts\n"),
            "{text}"
        );
        assert!(text.contains("KODO_SKIP=1 git commit"));
        assert!(text.contains("git commit --no-verify"));
        let range = human(&findings, Mode::Range, &[]);
        assert!(!range.contains("--no-verify"));
    }

    #[test]
    fn one_language_keeps_the_one_line_waiver_hint() {
        let f = finding(
            "a.py",
            Kind::Event,
            "x",
            Problem::Undocumented,
            Severity::Error,
        );
        let text = human(&[f], Mode::Hook, &[]);
        assert!(
            text.contains(
                "  - add `# kodo-ignore: <reason>` at the end of the line (a reason is required)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn control_characters_in_file_names_and_keys_are_escaped() {
        let f = finding(
            "src/evil\n\u{1b}[2Jname.ts",
            Kind::Event,
            "bad\u{7}key",
            Problem::Undocumented,
            Severity::Error,
        );
        let text = human(&[f], Mode::Hook, &[]);
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(text.contains("src/evil\\u{a}\\u{1b}[2Jname.ts:7"), "{text}");
        assert!(text.contains("`bad\\u{7}key`"), "{text}");
    }

    #[test]
    fn warnings_alone_do_not_make_a_blocked_report() {
        let f = finding(
            "a.py",
            Kind::Event,
            "x",
            Problem::Unverified {
                reason: "offline".into(),
            },
            Severity::Warning,
        );
        let text = human(&[f], Mode::Hook, &["the snapshot is old".into()]);
        assert!(text.starts_with("warning: the snapshot is old\n"), "{text}");
        assert!(
            text.contains("warning: a.py:7  event  `x` could not be checked"),
            "{text}"
        );
        assert!(!text.contains("cannot go in"));
    }

    #[test]
    fn annotations_are_escaped() {
        let mut f = finding(
            "dir,x/a:b.ts",
            Kind::Event,
            "e%1",
            Problem::Undocumented,
            Severity::Error,
        );
        f.line = 3;
        let text = github_annotations(&[f]);
        assert!(
            text.starts_with("::error file=dir%2Cx/a%3Ab.ts,line=3,title=kodo%3A Undocumented::Event `e%251` is not documented"),
            "{text}"
        );
        assert_eq!(comment_for("x/y.py"), "#");
        assert_eq!(comment_for("x/y.tsx"), "//");
    }

    #[test]
    fn json_says_what_blocks() {
        let f = finding(
            "a.ts",
            Kind::Flag,
            "f",
            Problem::Undocumented,
            Severity::Error,
        );
        let text = json(std::slice::from_ref(&f), &[], &[]);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["blocked"], true);
        assert_eq!(v["findings"][0]["problem"], "undocumented");
        assert_eq!(v["findings"][0]["kind"], "flag");
        assert_eq!(v["findings"][0]["blocks"], true);
        assert_eq!(
            serde_json::from_str::<PreCommit>(&text).unwrap(),
            wire(&[f], &[], &[])
        );
    }
}
