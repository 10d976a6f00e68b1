//! Each event's properties kept honest: the documented schema (the Events database's
//! Properties text, [`crate::property_schema`]) against what the code sends and what PostHog
//! has seen. The audit's Properties section and the schema writes `import` makes.
//!
//! **Invariants.**
//! - Pure: rows, the code's and PostHog's observations in; findings and writes out.
//! - **The audit is the plan.** Every `undocumented` finding is an entry a write adds (and
//!   every added entry is one finding); every other finding says why `import` does not fix it
//!   (`fix`): a documented property nobody sends is kept (removing what people wrote is a
//!   person's call), a type people wrote is not changed, a schema that is not JSON is not
//!   touched.
//! - A schema is only ever extended: entries are added, never removed or rewritten; an
//!   unreadable schema gets no write at all.
//! - `$`-prefixed properties (PostHog's own: `$browser`, `$current_url`) are left out.
//! - Nothing is judged without its evidence: "nobody sends it" needs the code scanned with
//!   every key of the event's captures visible and PostHog read for the event; a planned
//!   event (documented first) is not expected to be sent yet.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::{DocField, NotionRow, PropValue, Resource};
use crate::normalize::Desired;
use crate::property_schema::{DeclaredType, PropertySchema, PropertyType};

/// What the code sends with one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeProperties {
    /// Property → its references (`path:line`, sorted).
    pub keys: BTreeMap<String, Vec<String>>,
    /// Some capture of the event sends keys the scan cannot see (a spread, a variable).
    pub open: bool,
}

/// What is known of every event's properties besides the schema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// Whether the code was scanned for properties (else the code is no evidence either way).
    pub code_scanned: bool,
    /// Event → what its captures send (events the code never captures are absent).
    pub code: BTreeMap<String, CodeProperties>,
    /// Event → what PostHog has seen with it, and its type (events not read are absent).
    pub posthog: BTreeMap<String, BTreeMap<String, Option<PropertyType>>>,
}

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Sent by the code or seen by PostHog, missing from the schema.
    Undocumented,
    /// In the schema, and neither the code sends it nor has PostHog seen it.
    Unseen,
    /// The schema's type is not PostHog's.
    TypeMismatch,
    /// The Properties text is not a schema.
    Unreadable,
}

/// What `import` does about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fix {
    /// Import adds the entry to the schema.
    ImportAdds,
    /// Import keeps the entry: removing documentation is a person's decision.
    KeptForPeople,
    /// Import does not change a type people wrote.
    TypeIsPeoples,
    /// Import does not touch a schema it cannot read: fix it in Notion.
    FixInNotion,
}

/// Where a property was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Code,
    Posthog,
}

/// One property finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub event: String,
    pub kind: Kind,
    /// `None` for an unreadable schema.
    pub property: Option<String>,
    pub seen_by: Vec<Source>,
    /// Where the code sends it (`path:line`).
    pub references: Vec<String>,
    pub schema_type: Option<String>,
    pub posthog_type: Option<PropertyType>,
    pub fix: Fix,
    /// Human words: what is wrong and what to do.
    pub detail: String,
    /// The event's Notion row.
    pub url: Option<String>,
}

/// A write of one event's Properties text.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaWrite {
    pub event: String,
    /// The row; `None` when import creates it.
    pub page_id: Option<String>,
    pub added: Vec<String>,
    /// The new Properties text.
    pub text: String,
}

/// The Properties section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub writes: Vec<SchemaWrite>,
    /// `sync.require_documented_properties`: undocumented properties fail `--check`.
    pub require_documented: bool,
    pub code_scanned: bool,
    /// Events whose PostHog properties were read.
    pub posthog_events_read: usize,
}

impl Report {
    /// Findings that fail `--check` (undocumented properties, when required).
    pub fn check_failures(&self) -> usize {
        if !self.require_documented {
            return 0;
        }
        self.findings
            .iter()
            .filter(|f| f.kind == Kind::Undocumented)
            .count()
    }

    pub fn undocumented(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.kind == Kind::Undocumented)
    }
}

/// The property the schema lives in (the schema table's: `document --property` fills it).
pub fn schema_property() -> Option<&'static str> {
    Resource::Events
        .schema()
        .documenting
        .property_of(DocField::Property)
}

/// The Properties section for the event `rows` (live rows of the Events database) and the
/// events `creates` makes, from what was observed.
pub fn report(
    rows: &[NotionRow],
    creates: &[&Desired],
    observed: &Observed,
    require_documented: bool,
) -> Report {
    let mut out = Report {
        require_documented,
        code_scanned: observed.code_scanned,
        posthog_events_read: observed.posthog.len(),
        ..Report::default()
    };
    let Some(property) = schema_property() else {
        return out;
    };
    let planned = Resource::Events
        .schema()
        .lifecycle
        .as_ref()
        .map(|l| l.planned);
    for row in rows {
        let event = row.record.key.trim().to_string();
        let text = row
            .record
            .props
            .get(property)
            .and_then(PropValue::as_text)
            .unwrap_or_default();
        let is_planned = planned.is_some() && row.record.status.as_deref() == planned;
        judge(
            &mut out,
            &event,
            Some(row.page_id.clone()),
            row.url.clone(),
            text,
            is_planned,
            observed,
        );
    }
    for d in creates {
        judge(
            &mut out,
            d.record.key.trim(),
            None,
            None,
            "",
            false,
            observed,
        );
    }
    out.findings
        .sort_by(|a, b| (&a.event, a.kind, &a.property).cmp(&(&b.event, b.kind, &b.property)));
    out.writes.sort_by(|a, b| a.event.cmp(&b.event));
    out
}

fn judge(
    out: &mut Report,
    event: &str,
    page_id: Option<String>,
    url: Option<String>,
    text: &str,
    is_planned: bool,
    observed: &Observed,
) {
    let mut schema = match PropertySchema::parse(text) {
        Ok(s) => s,
        Err(e) => {
            out.findings.push(Finding {
                event: event.to_string(),
                kind: Kind::Unreadable,
                property: None,
                seen_by: Vec::new(),
                references: Vec::new(),
                schema_type: None,
                posthog_type: None,
                fix: Fix::FixInNotion,
                detail: format!(
                    "the Properties text is not a property schema ({e}); import leaves it as it is: fix it in Notion"
                ),
                url,
            });
            return;
        }
    };
    let code = observed.code.get(event);
    let posthog = observed.posthog.get(event);
    let own = |name: &str| name.starts_with('$');
    // Everything seen, with where.
    let mut seen: BTreeMap<&str, BTreeSet<Source>> = BTreeMap::new();
    for name in code.into_iter().flat_map(|c| c.keys.keys()) {
        seen.entry(name).or_default().insert(Source::Code);
    }
    for name in posthog.into_iter().flat_map(|p| p.keys()) {
        seen.entry(name).or_default().insert(Source::Posthog);
    }
    let mut added = Vec::new();
    for (name, sources) in &seen {
        if own(name) || schema.contains(name) {
            continue;
        }
        let references = code
            .and_then(|c| c.keys.get(*name))
            .cloned()
            .unwrap_or_default();
        let files: Vec<String> = references
            .iter()
            .map(|r| {
                r.rsplit_once(':')
                    .map_or(r.as_str(), |(f, _)| f)
                    .to_string()
            })
            .collect();
        let kind = posthog.and_then(|p| p.get(*name).copied().flatten());
        schema.add(name, kind, &files);
        added.push(name.to_string());
        let by: Vec<&str> = sources
            .iter()
            .map(|s| match s {
                Source::Code => "the code sends it",
                Source::Posthog => "PostHog has seen it",
            })
            .collect();
        out.findings.push(Finding {
            event: event.to_string(),
            kind: Kind::Undocumented,
            property: Some(name.to_string()),
            seen_by: sources.iter().copied().collect(),
            references: references.clone(),
            schema_type: None,
            posthog_type: kind,
            fix: Fix::ImportAdds,
            detail: format!(
                "not in the schema; {}: `kodo ph-sync import events` adds it{}",
                by.join(" and "),
                kind.map(|k| format!(" as {k}")).unwrap_or_default()
            ),
            url: url.clone(),
        });
    }
    let documented: Vec<String> = schema
        .names()
        .filter(|n| !added.iter().any(|a| a == n))
        .map(str::to_string)
        .collect();
    for name in &documented {
        if own(name) {
            continue;
        }
        let declared = schema.declared_type(name);
        let ph_type = posthog.and_then(|p| p.get(name.as_str()).copied().flatten());
        if let (Some(DeclaredType::Known(mine)), Some(theirs)) = (&declared, ph_type) {
            if *mine != theirs {
                out.findings.push(Finding {
                    event: event.to_string(),
                    kind: Kind::TypeMismatch,
                    property: Some(name.clone()),
                    seen_by: vec![Source::Posthog],
                    references: code
                        .and_then(|c| c.keys.get(name))
                        .cloned()
                        .unwrap_or_default(),
                    schema_type: Some(mine.to_string()),
                    posthog_type: Some(theirs),
                    fix: Fix::TypeIsPeoples,
                    detail: format!(
                        "the schema says {mine}, PostHog has seen {theirs}; import does not change a type people wrote: fix the schema or the code"
                    ),
                    url: url.clone(),
                });
            }
        }
        // "Nobody sends it" needs the evidence of both sides.
        let code_knows = observed.code_scanned && code.is_none_or(|c| !c.open);
        let code_sends = code.is_some_and(|c| c.keys.contains_key(name));
        let posthog_knows = posthog.is_some();
        let posthog_saw = posthog.is_some_and(|p| p.contains_key(name.as_str()));
        if !is_planned && code_knows && posthog_knows && !code_sends && !posthog_saw {
            out.findings.push(Finding {
                event: event.to_string(),
                kind: Kind::Unseen,
                property: Some(name.clone()),
                seen_by: Vec::new(),
                references: Vec::new(),
                schema_type: match declared {
                    Some(DeclaredType::Known(t)) => Some(t.to_string()),
                    Some(DeclaredType::Other(t)) => Some(t),
                    _ => None,
                },
                posthog_type: None,
                fix: Fix::KeptForPeople,
                detail: "documented, but no code sends it and PostHog has never seen it; import keeps it (remove it from the schema if the event no longer has it)".to_string(),
                url: url.clone(),
            });
        }
    }
    if !added.is_empty() {
        out.writes.push(SchemaWrite {
            event: event.to_string(),
            page_id,
            added,
            text: schema.render(),
        });
    }
}

/// Puts each created event's schema into its create (a new row's Properties is empty, so
/// filling it is what `Ownership::Human` allows).
pub fn fill_creates(plan: &mut crate::plan::ResourcePlan, report: &Report) {
    let Some(property) = schema_property() else {
        return;
    };
    if plan.resource != Resource::Events {
        return;
    }
    for item in plan.items.iter_mut() {
        if item.step != crate::plan::Step::Create {
            continue;
        }
        if let Some(w) = report
            .writes
            .iter()
            .find(|w| w.page_id.is_none() && w.event == item.desired.record.key.trim())
        {
            item.desired
                .record
                .props
                .insert(property, PropValue::Text(w.text.clone()));
        }
    }
}

/// The Markdown section (empty when there is nothing to say).
pub fn markdown(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if r.findings.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\n## Properties");
    let groups: [(Kind, &str, &str); 4] = [
        (
            Kind::Undocumented,
            "Undocumented Properties",
            "Sent by the code or seen by PostHog, missing from the event's schema (`kodo ph-sync import events` adds them):",
        ),
        (
            Kind::Unseen,
            "Documented, Never Seen",
            "In the schema, but no code sends them and PostHog has never seen them (import keeps them):",
        ),
        (
            Kind::TypeMismatch,
            "Type Disagreements",
            "The schema's type is not the one PostHog has seen (import does not change types people wrote):",
        ),
        (
            Kind::Unreadable,
            "Unreadable Schemas",
            "The Properties text is not a property schema (import does not touch it; see the README's \"Property schema\"):",
        ),
    ];
    for (kind, title, intro) in groups {
        let items: Vec<&Finding> = r.findings.iter().filter(|f| f.kind == kind).collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n### {title}\n{intro}");
        for f in items {
            let event = crate::report::linked_key(&f.event, f.url.as_deref());
            let what = match (&f.property, kind) {
                (Some(p), Kind::TypeMismatch) => format!(
                    "{event}.`{p}`: schema {}, PostHog {}",
                    f.schema_type.as_deref().unwrap_or("?"),
                    f.posthog_type.map(|t| t.as_str()).unwrap_or("?")
                ),
                (Some(p), _) => format!("{event}.`{p}`"),
                (None, _) => event,
            };
            let mut line = format!("- [ ] {what}");
            if !f.references.is_empty() {
                let _ = write!(line, " ({})", f.references.join(", "));
            }
            if kind == Kind::Undocumented && !f.seen_by.contains(&Source::Code) {
                line.push_str(" (seen by PostHog)");
            }
            if kind == Kind::Unreadable {
                let _ = write!(line, ": {}", f.detail);
            }
            let _ = writeln!(out, "{line}");
        }
    }
    if r.require_documented {
        let n = r.check_failures();
        if n > 0 {
            let _ = writeln!(
                out,
                "\n`sync.require_documented_properties` is on: {n} undocumented {} fail `--check`.",
                if n == 1 { "property" } else { "properties" }
            );
        }
    }
    out
}

/// CSV records (`type,resource,key,notion_status,posthog_status,detail`): `key` is
/// `event.property`.
pub fn csv_records(r: &Report) -> Vec<[String; 6]> {
    r.findings
        .iter()
        .map(|f| {
            let kind = match f.kind {
                Kind::Undocumented => "property_undocumented",
                Kind::Unseen => "property_unseen",
                Kind::TypeMismatch => "property_type_mismatch",
                Kind::Unreadable => "property_schema_unreadable",
            };
            let key = match &f.property {
                Some(p) => format!("{}.{p}", f.event),
                None => f.event.clone(),
            };
            let mut detail = f.detail.clone();
            if !f.references.is_empty() {
                detail = format!("{detail}; {}", f.references.join(" "));
            }
            [
                kind.to_string(),
                Resource::Events.plural().to_string(),
                key,
                f.schema_type.clone().unwrap_or_default(),
                f.posthog_type.map(|t| t.to_string()).unwrap_or_default(),
                detail,
            ]
        })
        .collect()
}

/// The recommended action the section adds.
pub fn actions(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let undocumented = r.undocumented().count();
    if undocumented > 0 {
        out.push(format!(
            "Add the {undocumented} undocumented {} to the event schemas: `kodo ph-sync import events` (then describe them in Notion)",
            if undocumented == 1 { "property" } else { "properties" }
        ));
    }
    let unreadable = r
        .findings
        .iter()
        .filter(|f| f.kind == Kind::Unreadable)
        .count();
    if unreadable > 0 {
        out.push(format!(
            "Fix the {unreadable} Properties {} that {} not JSON (links under Properties)",
            if unreadable == 1 { "text" } else { "texts" },
            if unreadable == 1 { "is" } else { "are" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{decode_page, Record};
    use serde_json::json;

    fn row(event: &str, status: &str, properties: &str) -> NotionRow {
        let text = |s: &str| json!({"type": "rich_text", "rich_text": [{"type": "text", "text": {"content": s}, "plain_text": s}]});
        let props = json!({
            "Event Name": {"type": "title", "title": [{"type": "text", "text": {"content": event}, "plain_text": event}]},
            "Implementation Status": {"type": "select", "select": {"name": status}},
            "Properties": text(properties),
        });
        decode_page(
            Resource::Events,
            &format!("page-{event}"),
            Some(&format!("https://notion.so/{event}")),
            props.as_object().unwrap(),
        )
    }

    fn observed() -> Observed {
        let mut o = Observed {
            code_scanned: true,
            ..Observed::default()
        };
        o.code.insert(
            "checkout_completed".into(),
            CodeProperties {
                keys: BTreeMap::from([
                    ("plan".into(), vec!["web/a.ts:3".into()]),
                    (
                        "coupon".into(),
                        vec!["web/a.ts:4".into(), "web/b.ts:9".into()],
                    ),
                ]),
                open: false,
            },
        );
        o.posthog.insert(
            "checkout_completed".into(),
            BTreeMap::from([
                ("plan".into(), Some(PropertyType::String)),
                ("amount".into(), Some(PropertyType::String)),
                ("coupon".into(), None),
                ("$browser".into(), Some(PropertyType::String)),
            ]),
        );
        o
    }

    #[test]
    fn an_empty_schema_is_filled_from_the_code_and_posthog() {
        let rows = [row("checkout_completed", "implemented", "")];
        let r = report(&rows, &[], &observed(), false);
        assert_eq!(r.writes.len(), 1);
        let w = &r.writes[0];
        assert_eq!(w.added, ["amount", "coupon", "plan"]);
        assert_eq!(w.page_id.as_deref(), Some("page-checkout_completed"));
        let s = PropertySchema::parse(&w.text).unwrap();
        assert_eq!(
            s.declared_type("amount"),
            Some(DeclaredType::Known(PropertyType::String))
        );
        assert_eq!(s.declared_type("coupon"), Some(DeclaredType::None));
        assert!(w.text.contains("\"web/b.ts\""));
        assert!(!w.text.contains("$browser"));
        // The audit is the plan: one undocumented finding per added entry.
        let undocumented: Vec<_> = r
            .undocumented()
            .map(|f| f.property.clone().unwrap())
            .collect();
        assert_eq!(undocumented, w.added);
        assert_eq!(r.check_failures(), 0);
        assert_eq!(report(&rows, &[], &observed(), true).check_failures(), 3);
    }

    #[test]
    fn a_written_schema_is_only_extended_and_judged() {
        let rows = [row(
            "checkout_completed",
            "implemented",
            r#"{"plan": {"type": "number", "description": "kept"}, "amount": "string", "legacy_id": "string"}"#,
        )];
        let r = report(&rows, &[], &observed(), false);
        let w = &r.writes[0];
        assert_eq!(w.added, ["coupon"]);
        assert!(w.text.contains("\"description\": \"kept\""));
        assert!(w.text.contains("legacy_id"));
        let kinds: Vec<(Kind, String)> = r
            .findings
            .iter()
            .map(|f| (f.kind, f.property.clone().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            [
                (Kind::Undocumented, "coupon".into()),
                (Kind::Unseen, "legacy_id".into()),
                (Kind::TypeMismatch, "plan".into()),
            ]
        );
        let md = markdown(&r);
        assert!(
            md.contains("- [ ] [`checkout_completed`](https://notion.so/checkout_completed).`coupon` (web/a.ts:4, web/b.ts:9)"),
            "{md}"
        );
        assert!(
            md.contains(
                "(https://notion.so/checkout_completed).`plan`: schema number, PostHog string"
            ),
            "{md}"
        );
        let csv = csv_records(&r);
        assert_eq!(csv[0][0], "property_undocumented");
        assert_eq!(csv[0][2], "checkout_completed.coupon");
    }

    #[test]
    fn no_evidence_no_unseen_finding() {
        let rows = [
            row("planned_one", "planned", r#"{"a": "string"}"#),
            row("open_one", "implemented", r#"{"a": "string"}"#),
            row("unread_one", "implemented", r#"{"a": "string"}"#),
        ];
        let mut o = observed();
        o.posthog.insert("planned_one".into(), BTreeMap::new());
        o.posthog.insert("open_one".into(), BTreeMap::new());
        o.code.insert(
            "open_one".into(),
            CodeProperties {
                keys: BTreeMap::new(),
                open: true,
            },
        );
        let r = report(&rows, &[], &o, false);
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        let mut unscanned = o.clone();
        unscanned.code_scanned = false;
        unscanned.code.clear();
        let r = report(
            &[row("x", "implemented", r#"{"a": "string"}"#)],
            &[],
            &unscanned,
            false,
        );
        assert!(r.findings.is_empty());
    }

    #[test]
    fn an_unreadable_schema_is_reported_with_its_link_and_not_written() {
        let rows = [row("checkout_completed", "implemented", "plan, coupon")];
        let r = report(&rows, &[], &observed(), true);
        assert!(r.writes.is_empty());
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].kind, Kind::Unreadable);
        assert_eq!(r.check_failures(), 0);
        let md = markdown(&r);
        assert!(md.contains("https://notion.so/checkout_completed"), "{md}");
    }

    #[test]
    fn creates_get_their_schema() {
        let d = Desired {
            record: Record {
                resource: Resource::Events,
                key: "checkout_completed".into(),
                keys: Default::default(),
                status: None,
                props: Default::default(),
            },
            soft: Default::default(),
            detail: None,
            deleted: false,
            posthog_id: None,
            creator: None,
            serving: None,
        };
        let r = report(&[], &[&d], &observed(), false);
        assert_eq!(r.writes[0].page_id, None);
        let mut plan = crate::plan::ResourcePlan {
            resource: Resource::Events,
            posthog_count: 1,
            notion_count: 0,
            items: vec![crate::plan::Item {
                desired: d.clone(),
                step: crate::plan::Step::Create,
                notion_status: None,
                url: None,
                kept: Vec::new(),
            }],
            orphans: Vec::new(),
            planned: Vec::new(),
            retired: Vec::new(),
        };
        fill_creates(&mut plan, &r);
        assert!(plan.items[0].desired.record.props["Properties"]
            .as_text()
            .unwrap()
            .contains("coupon"));
    }
}
