//! Renders a [`ScanReport`] as JSON (the stable contract), SARIF 2.1.0 or Markdown.
//!
//! Invariants: output depends only on the report (no clock, no absolute paths), so the same
//! tree gives byte-identical output; every renderer ends with a newline.

use serde_json::{json, Value};

use crate::{Kind, Reference, ScanReport, Side};

/// Pretty-printed JSON of [`crate::wire::Scan`], as documented in the crate README
/// (`"version": 1`).
pub fn json(r: &ScanReport) -> String {
    let mut s = serde_json::to_string_pretty(&crate::wire::ScanRef::of(r))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// [`json`] written to `out` as it is made (the same bytes, newline included), through a
/// buffer of its own: the serializer's many small writes go to it without a dynamic call
/// each, and `out` gets them 64 KiB at a time.
pub fn write_json(r: &ScanReport, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use serde::Serialize as _;
    use std::io::Write as _;
    let mut buf = std::io::BufWriter::with_capacity(64 * 1024, out);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, Pretty::default());
    crate::wire::ScanRef::of(r).serialize(&mut ser)?;
    buf.write_all(b"\n")?;
    buf.flush()
}

/// serde_json's `PrettyFormatter` with two-space indents, byte for byte, but a line break
/// and its indent are one write of a slice of [`LINE`] instead of one write per level (at
/// the depth of a report's references that was a third of writing it).
#[derive(Default)]
struct Pretty {
    depth: usize,
    has_value: bool,
}

/// `,` then a line break then the deepest indent a slice is taken of.
const LINE: &[u8; 2 + 2 * 32] =
    b",\n                                                                ";

impl Pretty {
    /// A line break (after a comma unless `first`) and the indent of the current depth.
    /// An array or object opening.
    fn open<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        bracket: &[u8],
    ) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    /// An array or object closing: on a line of its own unless it is empty.
    fn close<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        bracket: &[u8],
    ) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(w, true)?;
        }
        w.write_all(bracket)
    }

    fn newline<W: ?Sized + std::io::Write>(&self, w: &mut W, first: bool) -> std::io::Result<()> {
        let from = usize::from(first);
        match LINE.get(from..2 + 2 * self.depth) {
            Some(line) => w.write_all(line),
            None => {
                w.write_all(&LINE[from..2])?;
                (0..self.depth).try_for_each(|_| w.write_all(b"  "))
            }
        }
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.newline(w, first)
    }

    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.newline(w, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// SARIF 2.1.0 for code-scanning tools: one result per reference, rule `kodo/event`,
/// `kodo/flag` (level `note`) or `kodo/dynamic-key` (level `warning`).
pub fn sarif(r: &ScanReport) -> String {
    let rule = |id: &str, name: &str, text: &str, level: &str| {
        json!({
            "id": id,
            "name": name,
            "shortDescription": { "text": text },
            "defaultConfiguration": { "level": level },
        })
    };
    let mut results = Vec::new();
    for k in &r.keys {
        for reference in &k.references {
            let (rule_id, verb) = match k.kind {
                Kind::Event => ("kodo/event", "Captures event"),
                Kind::Flag => ("kodo/flag", "Checks feature flag"),
            };
            let text = format!(
                "{verb} `{}` ({}, {})",
                k.key,
                reference.sdk,
                side_name(reference.side)
            );
            results.push(result(rule_id, "note", text, reference));
        }
    }
    for d in &r.dynamic {
        let what = match d.kind {
            Kind::Event => "event name",
            Kind::Flag => "flag key",
        };
        let why = d.dynamic_reason.as_deref().unwrap_or("not a literal");
        results.push(result(
            "kodo/dynamic-key",
            "warning",
            format!("The {what} cannot be determined statically: {why}"),
            d,
        ));
    }
    sarif_doc(
        vec![
            rule(
                "kodo/event",
                "PostHogEventCapture",
                "A PostHog event capture",
                "note",
            ),
            rule(
                "kodo/flag",
                "PostHogFlagCheck",
                "A PostHog feature-flag check",
                "note",
            ),
            rule(
                "kodo/dynamic-key",
                "DynamicAnalyticsKey",
                "An event name or flag key that is not a literal",
                "warning",
            ),
        ],
        results,
    )
}

/// What `--check` found wrong with a key, as a SARIF rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckRule {
    /// An event the code captures that the documentation lacks.
    UndocumentedEvent,
    /// A flag the code checks that the documentation lacks.
    UndocumentedFlag,
    /// A flag the code checks that PostHog no longer serves (deleted or archived there).
    DeadFlagCheck,
}

impl CheckRule {
    /// The rule for an undocumented key of `kind`.
    pub fn undocumented(kind: Kind) -> CheckRule {
        match kind {
            Kind::Event => CheckRule::UndocumentedEvent,
            Kind::Flag => CheckRule::UndocumentedFlag,
        }
    }

    /// Id, name, description and level: the one table of check rules.
    fn facts(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            CheckRule::UndocumentedEvent => (
                "kodo/undocumented-event",
                "UndocumentedEvent",
                "An event the code captures that the Notion documentation lacks",
                "error",
            ),
            CheckRule::UndocumentedFlag => (
                "kodo/undocumented-flag",
                "UndocumentedFlag",
                "A feature flag the code checks that the Notion documentation lacks",
                "error",
            ),
            CheckRule::DeadFlagCheck => (
                "kodo/dead-flag-check",
                "DeadFlagCheck",
                "A check of a feature flag PostHog no longer serves (deleted or archived there)",
                "error",
            ),
        }
    }
}

/// SARIF 2.1.0 for `kodo scan --check`: only what failed the check (an undocumented key, a
/// check of a dead flag), one result per failing key and rule at its first product reference (the others as related locations), so code scanning
/// shows exactly the alerts that failed the job. Plain references and dynamic keys are not
/// results: they are not failures.
pub fn sarif_check(r: &ScanReport, failures: &[(CheckRule, Kind, &str)]) -> String {
    let rules = [
        CheckRule::UndocumentedEvent,
        CheckRule::UndocumentedFlag,
        CheckRule::DeadFlagCheck,
    ]
    .iter()
    .map(|rule| {
        let (id, name, text, level) = rule.facts();
        json!({
            "id": id,
            "name": name,
            "shortDescription": { "text": text },
            "defaultConfiguration": { "level": level },
        })
    })
    .collect();
    let mut results = Vec::new();
    for (rule, kind, key) in failures {
        let Some(k) = r.keys.iter().find(|k| k.kind == *kind && k.key == *key) else {
            continue;
        };
        let mut refs: Vec<&Reference> = k.references.iter().filter(|x| !x.in_test).collect();
        if refs.is_empty() {
            refs = k.references.iter().collect();
        }
        let Some((first, rest)) = refs.split_first() else {
            continue;
        };
        let (id, _, _, level) = rule.facts();
        let what = match kind {
            Kind::Event => "Event",
            Kind::Flag => "Feature flag",
        };
        let count = format!(
            "{} reference{}",
            refs.len(),
            if refs.len() == 1 { "" } else { "s" }
        );
        let text = match rule {
            CheckRule::DeadFlagCheck => format!(
                "Feature flag `{key}` is deleted or archived in PostHog, yet the code checks it ({count}): PostHog no longer serves it. Remove the check, or restore the flag in PostHog and run `kodo ph-sync status`."
            ),
            _ => format!(
                "{what} `{key}` is not documented in Notion ({count}). Document it (or `kodo ph-sync import` it if PostHog has it), then run `kodo snapshot refresh`."
            ),
        };
        let mut res = result(id, level, text, first);
        if !rest.is_empty() {
            res["relatedLocations"] = rest
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    json!({
                        "id": i + 1,
                        "physicalLocation": location(x),
                        "message": { "text": x.snippet },
                    })
                })
                .collect();
        }
        results.push(res);
    }
    sarif_doc(rules, results)
}

fn sarif_doc(rules: Vec<Value>, results: Vec<Value>) -> String {
    let doc = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "kodo",
                "informationUri": "https://github.com/kodo-dev/kodo",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": { "%SRCROOT%": { "uri": "file:///" } },
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

fn location(r: &Reference) -> Value {
    json!({
        "artifactLocation": { "uri": r.path, "uriBaseId": "%SRCROOT%" },
        "region": { "startLine": r.line, "startColumn": r.column, "snippet": { "text": r.snippet } },
    })
}

fn result(rule_id: &str, level: &str, text: String, r: &Reference) -> Value {
    json!({
        "ruleId": rule_id,
        "level": level,
        "message": { "text": text },
        "locations": [{ "physicalLocation": location(r) }],
        "properties": {
            "kind": kind_name(r.kind),
            "key": r.key,
            "identifier": r.identifier,
            "side": side_name(r.side),
            "sdk": r.sdk,
        },
    })
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Event => "event",
        Kind::Flag => "flag",
    }
}

fn side_name(s: Side) -> &'static str {
    match s {
        Side::Frontend => "frontend",
        Side::Backend => "backend",
        Side::Both => "both",
    }
}

/// A Markdown summary for people: events, flags, the wrappers used, then dynamic keys.
pub fn markdown(r: &ScanReport) -> String {
    let events = r.keys.iter().filter(|k| k.kind == Kind::Event).count();
    let flags = r.keys.len() - events;
    let mut out = String::from("# PostHog references\n\n");
    out.push_str(&format!(
        "{} files scanned, {} with references: {events} events, {flags} flags, {} dynamic references.\n",
        r.files_scanned,
        r.files_matched,
        r.dynamic.len()
    ));
    if !r.skipped.is_empty() {
        out.push_str(&format!("{}\n", skipped_summary(&r.skipped)));
    }
    for (kind, title, col) in [
        (Kind::Event, "Events", "Event"),
        (Kind::Flag, "Flags", "Flag"),
    ] {
        let keys: Vec<_> = r.keys.iter().filter(|k| k.kind == kind).collect();
        if keys.is_empty() {
            continue;
        }
        // Events carry the property keys their captures send.
        let events = kind == Kind::Event;
        let (props_head, props_rule) = if events {
            (" Properties |", "---|")
        } else {
            ("", "")
        };
        out.push_str(&format!("\n## {title}\n\n| {col} | Tracked on |{props_head} References | First commit | PR |\n|---|---|{props_rule}---|---|---|\n"));
        for k in keys {
            let refs: Vec<String> = k
                .references
                .iter()
                .map(|r| code(&format!("{}:{}", display_path(&r.path), r.line)))
                .collect();
            let commit = k.first_commit.as_ref().map_or(String::new(), |c| {
                let short: String = c.sha.chars().take(7).collect();
                format!("`{short}` {}", c.date.get(..10).unwrap_or(&c.date))
            });
            let pr = k.pr_url.as_ref().map_or(String::new(), |u| {
                let label = u.rsplit('/').next().unwrap_or(u);
                format!("[#{label}]({u})")
            });
            let props = if events {
                format!(" {} |", properties_cell(&k.references))
            } else {
                String::new()
            };
            out.push_str(&format!(
                "| {} | {} |{props} {} | {} | {} |\n",
                code(&k.key),
                side_name(k.tracked_on),
                refs.join(", "),
                commit,
                pr
            ));
        }
    }
    if !r.wrappers.is_empty() {
        out.push_str("\n## Wrappers\n\nCalls counted as PostHog calls: configured in `scan.wrappers`, or inferred from a body that passes the argument on to an SDK call (`kodo scan --suggest-config` prints them as configuration).\n\n| Call | Argument | Defined at | SDK | Origin |\n|---|---|---|---|---|\n");
        for w in &r.wrappers {
            let mut args: Vec<String> = Vec::new();
            for (what, index, key) in [
                ("event", w.event_arg, &w.event_key),
                ("flag", w.flag_arg, &w.flag_key),
            ] {
                match (index, key) {
                    (Some(i), Some(k)) => {
                        args.push(format!("{what}: argument {} or {}", i + 1, code(k)))
                    }
                    (Some(i), None) => args.push(format!("{what}: argument {}", i + 1)),
                    (None, Some(k)) => args.push(format!("{what}: {}", code(k))),
                    (None, None) => {}
                }
            }
            if let Some(d) = &w.default {
                args.push(format!("default {}", code(d)));
            }
            let defined = w
                .defined_at
                .as_deref()
                .map_or(String::new(), |d| code(&display_path(d)));
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                code(&w.call),
                args.join(", "),
                defined,
                cell(&w.sdk),
                if w.inferred { "inferred" } else { "configured" }
            ));
        }
    }
    if !r.dynamic.is_empty() {
        out.push_str("\n## Dynamic keys\n\nThese keys are not literals; check them by hand.\n\n| Location | Kind | SDK | Why | Code |\n|---|---|---|---|---|\n");
        for d in &r.dynamic {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                code(&format!("{}:{}", display_path(&d.path), d.line)),
                kind_name(d.kind),
                d.sdk,
                cell(d.dynamic_reason.as_deref().unwrap_or("")),
                code(&d.snippet)
            ));
        }
    }
    out
}

/// The property keys an event's captures send, each once, sorted; `…` when some capture's
/// keys cannot all be seen; empty when no capture has a properties argument kodo reads.
fn properties_cell(refs: &[Reference]) -> String {
    let mut names: Vec<&str> = Vec::new();
    let mut open = false;
    for set in refs.iter().filter_map(|r| r.properties.as_ref()) {
        open |= set.open;
        names.extend(set.keys.iter().map(|k| k.name.as_str()));
    }
    names.sort_unstable();
    names.dedup();
    let mut parts: Vec<String> = names.iter().map(|n| code(n)).collect();
    if open {
        parts.push("…".into());
    }
    parts.join(", ")
}

/// One sentence for people: how many source files were not scanned, by reason
/// (`3 source files not scanned: 2 minified, 1 too large (over 8 MiB).`).
pub fn skipped_summary(skipped: &[crate::Skipped]) -> String {
    let mut counts: std::collections::BTreeMap<crate::SkipReason, usize> = Default::default();
    for s in skipped {
        *counts.entry(s.reason).or_default() += 1;
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(reason, n)| format!("{n} {}", reason.describe()))
        .collect();
    let files = if skipped.len() == 1 { "file" } else { "files" };
    format!(
        "{} source {files} not scanned: {}.",
        skipped.len(),
        parts.join(", ")
    )
}

/// A file name as people see it in a terminal or a Markdown report (control characters
/// escaped): the one rule, in `kodo-refs`, shared with kodo-core.
pub use kodo_refs::display_path;

/// Text safe inside a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A code span safe inside a table cell, whatever backticks the text holds.
fn code(s: &str) -> String {
    if s.contains('`') {
        format!("`` {} ``", cell(s))
    } else {
        format!("`{}`", cell(s))
    }
}

#[cfg(test)]
mod tests {
    use super::Pretty;
    use serde::Serialize as _;

    fn pretty(v: &serde_json::Value) -> String {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, Pretty::default());
        v.serialize(&mut ser).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn pretty_is_serde_json_pretty_byte_for_byte() {
        // Deeper than the one-slice indent (32 levels), empty containers, containers of
        // containers, strings that need escaping.
        let mut deep = serde_json::json!({"leaf": [1, {}, []]});
        for i in 0..40 {
            deep = match i % 2 {
                0 => serde_json::json!([deep, [], {"k\"ey": "v\n\u{1}"}]),
                _ => serde_json::json!({"a": deep, "b": [[], [[]]], "c": {}}),
            };
        }
        for v in [
            serde_json::json!(null),
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!([[], {}, [1, [2, [3]]]]),
            deep,
        ] {
            assert_eq!(pretty(&v), serde_json::to_string_pretty(&v).unwrap());
        }
    }
}
