//! `kodo ph-sync document`: the Notion row a person asks for, before the resource exists in
//! PostHog (documentation first).
//!
//! **Invariants.**
//! - Pure: the request, the rules, the Notion users and the code scan's facts in; the row to
//!   create or the changes to send out.
//! - Every per-resource fact comes from the schema table ([`Documenting`]): which options a
//!   resource takes and the property each fills, which facts kodo derives from the key or the
//!   code, and the planned status (`Lifecycle::planned`).
//! - On an existing row only what the person gave is written, and kodo's own facts (status,
//!   Domain, Category, Type, Tracked On, Related PR) only where the row has none: nothing
//!   else a person wrote is touched. The Properties schema only gains entries (and, for a
//!   property given with a type, that type); a Properties text that is not a schema is an
//!   error naming the row, never replaced. Re-running the same request plans nothing.

use std::collections::BTreeMap;

use crate::model::{
    self, CodeFact, DocField, Documenting, KeyFact, MatchKeys, NotionRow, PropType, PropValue,
    Record, Resource,
};
use crate::normalize::{self, Desired, People, Rules, ScanFacts};
use crate::plan::Change;
use crate::property_schema::{PropertySchema, PropertyType};

/// What a person asked to document.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub resource: Resource,
    /// The event name, flag key, experiment name or dashboard name.
    pub key: String,
    /// The options given (other than `--property`), as typed.
    pub fields: Vec<(DocField, String)>,
    /// `--property NAME[:TYPE]`, parsed ([`parse_property`]).
    pub properties: Vec<(String, Option<PropertyType>)>,
}

/// Everything besides the request that decides the row.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub rules: &'a Rules,
    /// The workspace's people by e-mail; `None` when the integration may not read them.
    pub people: Option<&'a People>,
    pub scan: &'a ScanFacts,
}

/// Why a request cannot be documented. Each names what is wrong and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("the {what} is empty\n  hint: give the {what} to document, e.g. `kodo ph-sync document {noun} checkout_completed`")]
    EmptyKey {
        what: &'static str,
        noun: &'static str,
    },
    #[error("`{option}` does not apply to {resource}\n  hint: {resource} take {allowed}")]
    FieldNotFor {
        option: &'static str,
        resource: Resource,
        allowed: String,
    },
    #[error("`{option}` is given twice\n  hint: give it once")]
    Repeated { option: &'static str },
    #[error("`{option} {value}` is empty\n  hint: leave the option out to keep the row's value")]
    EmptyValue { option: &'static str, value: String },
    #[error(
        "`{option} {value}` is not one of the {property} options\n  hint: use one of {allowed}"
    )]
    NotAnOption {
        option: &'static str,
        value: String,
        property: &'static str,
        allowed: String,
    },
    #[error("`{option} {value}` is not a date\n  hint: write it as YYYY-MM-DD, e.g. 2027-03-31")]
    NotADate { option: &'static str, value: String },
    #[error("no Notion user has the e-mail `{email}`\n  hint: check the address, or invite them to the Notion workspace; `--owner` takes a member's e-mail")]
    UnknownOwner { email: String },
    #[error("the Notion integration may not read users, so `--owner {email}` cannot be resolved\n  hint: enable \"Read user information including email addresses\" for the integration, or leave `--owner` out")]
    OwnersUnreadable { email: String },
    #[error(
        "`--property {value}`: {reason}\n  hint: write NAME or NAME:TYPE, TYPE one of {types}"
    )]
    BadProperty {
        value: String,
        reason: String,
        types: String,
    },
    #[error("{count} rows document {key}: {urls}\n  hint: merge them into one row in Notion (or move the extra ones to the trash), then re-run")]
    Ambiguous {
        key: String,
        count: usize,
        urls: String,
    },
    #[error("the Properties of {key} ({url}) is not a property schema ({detail}), so kodo does not touch it\n  hint: fix it in Notion (the format: one entry per property, like {{\"plan\": {{\"type\": \"string\"}}}}; see the README's \"Property schema\"), or empty it, then re-run")]
    UnreadableSchema {
        key: String,
        url: String,
        detail: String,
    },
}

/// The command that documents `key` as a `resource` (with extra options, e.g. an
/// experiment's `--flag-key`), quoted for a POSIX shell: what the Claude hook's refusal, the
/// pre-commit gate's block and the audit's code-only names print.
pub fn command(resource: Resource, key: &str, extra: &[(DocField, &str)]) -> String {
    let mut out = format!(
        "kodo ph-sync document {} {}",
        resource.schema().documenting.noun,
        shell_quote(key.trim())
    );
    for (field, value) in extra {
        out.push(' ');
        out.push_str(field.option());
        out.push(' ');
        out.push_str(&shell_quote(value.trim()));
    }
    out
}

/// A word as a POSIX shell reads it back: bare when it is only safe characters, else in
/// single quotes (a `'` inside written `'\''`).
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && !word.starts_with('-')
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Parses `--property NAME[:TYPE]`.
pub fn parse_property(text: &str) -> Result<(String, Option<PropertyType>), DocumentError> {
    let bad = |reason: &str| DocumentError::BadProperty {
        value: text.to_string(),
        reason: reason.to_string(),
        types: PropertyType::names(),
    };
    let (name, kind) = match text.rsplit_once(':') {
        Some((name, kind)) => (name.trim(), Some(kind.trim())),
        None => (text.trim(), None),
    };
    if name.is_empty() {
        return Err(bad("the property has no name"));
    }
    let kind = match kind {
        None => None,
        Some(k) => Some(
            PropertyType::parse(k).ok_or_else(|| bad(&format!("`{k}` is not a property type")))?,
        ),
    };
    Ok((name.to_string(), kind))
}

/// What to do with the row.
#[derive(Debug, Clone, PartialEq)]
pub enum DocStep {
    /// No row documents the key: create this one.
    Create,
    /// The row exists: send these changes.
    Update {
        page_id: String,
        changes: Vec<Change>,
    },
    /// The row exists and already says everything asked.
    Unchanged { page_id: String },
}

/// The row kodo would write, and what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct DocPlan {
    /// The whole row as a create would write it (with the sync key the exactly-once create
    /// looks for).
    pub desired: Desired,
    pub step: DocStep,
    /// The existing row's URL.
    pub url: Option<String>,
}

/// Checks the request and builds the row kodo would create for it.
pub fn desired(request: &Request, facts: &Facts<'_>) -> Result<Desired, DocumentError> {
    let schema = request.resource.schema();
    let doc = &schema.documenting;
    let key = request.key.trim().to_string();
    let title = schema.title_property();
    if key.is_empty() {
        return Err(DocumentError::EmptyKey {
            what: doc.key_is,
            noun: doc.noun,
        });
    }
    let mut props: BTreeMap<&'static str, PropValue> = BTreeMap::new();
    let mut soft = std::collections::BTreeSet::new();
    props.insert(title.name, PropValue::Text(key.clone()));
    for (fact, property) in doc.key_facts {
        if let Some((value, guess)) = key_fact(*fact, &key, facts.rules) {
            props.insert(property, value);
            if guess {
                soft.insert(*property);
            }
        }
    }
    for (fact, property) in doc.code_facts {
        if let Some(value) = code_fact(*fact, &key, facts.scan) {
            props.insert(property, value);
        }
    }
    let mut status = None;
    if let Some(lifecycle) = &schema.lifecycle {
        status = Some(lifecycle.planned.to_string());
        props.insert(
            lifecycle.property,
            PropValue::Select(Some(lifecycle.planned.into())),
        );
    }
    let mut seen = Vec::new();
    for (field, value) in &request.fields {
        let property = field_property(doc, request.resource, *field)?;
        if seen.contains(field) {
            return Err(DocumentError::Repeated {
                option: field.option(),
            });
        }
        seen.push(*field);
        let value = field_value(request.resource, *field, property, value, facts)?;
        // What the person says wins over kodo's guess from the key.
        soft.remove(property);
        props.insert(property, value);
    }
    if !request.properties.is_empty() {
        let property = field_property(doc, request.resource, DocField::Property)?;
        let mut schema_doc = PropertySchema::default();
        apply_properties(&mut schema_doc, &request.properties);
        props.insert(property, PropValue::Text(schema_doc.render()));
    }
    let keys = schema.match_keys(&props);
    let keys = MatchKeys {
        fallback: keys.fallback.or_else(|| {
            schema
                .identity
                .fallback
                .filter(|p| *p == title.name)
                .map(|_| key.clone())
        }),
        primary: keys.primary,
    };
    Ok(Desired {
        record: Record {
            resource: request.resource,
            key,
            keys,
            status,
            props,
        },
        soft,
        detail: None,
        deleted: false,
        posthog_id: None,
        creator: None,
        serving: None,
    })
}

/// Plans the request against the row that documents the key (if any).
pub fn plan(
    request: &Request,
    facts: &Facts<'_>,
    row: Option<&NotionRow>,
) -> Result<DocPlan, DocumentError> {
    let desired = desired(request, facts)?;
    let Some(row) = row else {
        return Ok(DocPlan {
            desired,
            step: DocStep::Create,
            url: None,
        });
    };
    let schema = request.resource.schema();
    let doc = &schema.documenting;
    let given: Vec<&'static str> = request
        .fields
        .iter()
        .filter_map(|(f, _)| doc.property_of(*f))
        .collect();
    let properties_property = doc.property_of(DocField::Property);
    let mut changes = Vec::new();
    for (property, want) in &desired.record.props {
        let have = row
            .record
            .props
            .get(property)
            .cloned()
            .unwrap_or_else(|| PropValue::empty(kind_of(request.resource, property)));
        let to = if Some(*property) == properties_property {
            let text = have.as_text().unwrap_or_default();
            let mut existing =
                PropertySchema::parse(text).map_err(|e| DocumentError::UnreadableSchema {
                    key: row.record.key.clone(),
                    url: row.url.clone().unwrap_or_else(|| row.page_id.clone()),
                    detail: e.to_string(),
                })?;
            apply_properties(&mut existing, &request.properties);
            PropValue::Text(existing.render())
        } else if given.contains(property) || have.is_empty() {
            want.clone()
        } else {
            continue;
        };
        if !model::same(&to, &have) {
            changes.push(Change {
                property,
                from: have,
                to,
            });
        }
    }
    let step = if changes.is_empty() {
        DocStep::Unchanged {
            page_id: row.page_id.clone(),
        }
    } else {
        DocStep::Update {
            page_id: row.page_id.clone(),
            changes,
        }
    };
    Ok(DocPlan {
        desired,
        step,
        url: row.url.clone(),
    })
}

/// The Notion filter that finds the rows documenting `desired`'s key: `equals` on its
/// primary key property and on its fallback (the schema table's identity), or-ed.
pub fn row_filter(desired: &Desired) -> serde_json::Value {
    let schema = desired.record.resource.schema();
    let keys = &desired.record.keys;
    // A key's query is the schema table's (`DatabaseSchema::key_query`), so a number key
    // is matched as a number.
    let on = |property: &'static str, value: &str| {
        let query = schema.key_query(
            &MatchKeys {
                primary: (property == schema.identity.primary).then(|| value.to_string()),
                fallback: None,
            },
            value,
        );
        serde_json::json!({"property": query.property, query.kind.notion_name(): {"equals": query.value}})
    };
    let mut any = Vec::new();
    if let Some(primary) = &keys.primary {
        any.push(on(schema.identity.primary, primary));
    }
    if let (Some(property), Some(name)) = (schema.identity.fallback, &keys.fallback) {
        any.push(on(property, name));
    }
    match any.len() {
        1 => any.remove(0),
        _ => serde_json::json!({ "or": any }),
    }
}

/// The row documenting `desired`'s key among `rows` (what [`row_filter`] found): the one
/// holding its primary key, else the one holding its fallback. Several is an error.
pub fn find_row<'r>(
    desired: &Desired,
    rows: &'r [NotionRow],
) -> Result<Option<&'r NotionRow>, DocumentError> {
    let keys = &desired.record.keys;
    let by = |pick: &dyn Fn(&NotionRow) -> bool| -> Vec<&'r NotionRow> {
        rows.iter().filter(|r| pick(r)).collect()
    };
    let mut found = match &keys.primary {
        Some(p) => by(&|r| r.record.keys.primary.as_deref() == Some(p.trim())),
        None => Vec::new(),
    };
    if found.is_empty() {
        if let Some(f) = &keys.fallback {
            found = by(&|r| r.record.keys.fallback.as_deref() == Some(f.trim()));
        }
    }
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(DocumentError::Ambiguous {
            key: desired.record.key.clone(),
            count: many.len(),
            urls: many
                .iter()
                .map(|r| r.url.clone().unwrap_or_else(|| r.page_id.clone()))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Adds the given properties to a schema; a type given sets the entry's type.
fn apply_properties(schema: &mut PropertySchema, given: &[(String, Option<PropertyType>)]) {
    for (name, kind) in given {
        match kind {
            Some(kind) => {
                schema.set_type(name, *kind);
            }
            None => {
                schema.add(name, None, &[]);
            }
        }
    }
}

fn kind_of(resource: Resource, property: &str) -> PropType {
    resource
        .schema()
        .property(property)
        .map_or(PropType::RichText, |p| p.kind)
}

fn field_property(
    doc: &Documenting,
    resource: Resource,
    field: DocField,
) -> Result<&'static str, DocumentError> {
    doc.property_of(field)
        .ok_or_else(|| DocumentError::FieldNotFor {
            option: field.option(),
            resource,
            allowed: doc.options(),
        })
}

fn field_value(
    resource: Resource,
    field: DocField,
    property: &'static str,
    value: &str,
    facts: &Facts<'_>,
) -> Result<PropValue, DocumentError> {
    let option = field.option();
    let text = value.trim();
    if text.is_empty() {
        return Err(DocumentError::EmptyValue {
            option,
            value: value.to_string(),
        });
    }
    let spec = resource.schema().property(property);
    let kind = spec.map_or(PropType::RichText, |s| s.kind);
    Ok(match kind {
        PropType::People => {
            let people = facts
                .people
                .ok_or_else(|| DocumentError::OwnersUnreadable {
                    email: text.to_string(),
                })?;
            let id = people
                .lookup(text)
                .ok_or_else(|| DocumentError::UnknownOwner {
                    email: text.to_string(),
                })?;
            PropValue::People(vec![id.to_string()])
        }
        PropType::Select => {
            let options = spec.map(|s| s.options).unwrap_or_default();
            let Some(found) = options.iter().find(|o| o.eq_ignore_ascii_case(text)) else {
                return Err(DocumentError::NotAnOption {
                    option,
                    value: value.to_string(),
                    property,
                    allowed: options.join(", "),
                });
            };
            PropValue::Select(Some((*found).to_string()))
        }
        PropType::Date => {
            if !is_date(text) {
                return Err(DocumentError::NotADate {
                    option,
                    value: value.to_string(),
                });
            }
            PropValue::Date(Some(text.to_string()))
        }
        _ => PropValue::Text(text.to_string()),
    })
}

/// `YYYY-MM-DD`, a real calendar day.
fn is_date(text: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    text.len() == 10 && time::Date::parse(text, &format).is_ok()
}

fn key_fact(fact: KeyFact, key: &str, rules: &Rules) -> Option<(PropValue, bool)> {
    match fact {
        KeyFact::EventDomain => {
            normalize::event_domain(key).map(|d| (PropValue::Select(Some(d)), false))
        }
        KeyFact::EventCategory => {
            let (category, guess) = normalize::event_category(key, &rules.event_categories);
            Some((PropValue::Select(Some(category)), guess))
        }
        KeyFact::FlagType => {
            let (kind, guess) = normalize::flag_type(key, false, &rules.flag_types);
            Some((PropValue::Select(Some(kind)), guess))
        }
    }
}

fn code_fact(fact: CodeFact, key: &str, scan: &ScanFacts) -> Option<PropValue> {
    match fact {
        CodeFact::TrackedOn => scan
            .tracked_on
            .get(key)
            .map(|side| PropValue::MultiSelect(vec![side.clone()])),
        CodeFact::RelatedPr => scan
            .related_pr
            .get(key)
            .map(|url| PropValue::Url(Some(url.clone()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::decode_page;
    use serde_json::json;

    fn request(resource: Resource, key: &str, fields: &[(DocField, &str)]) -> Request {
        Request {
            resource,
            key: key.into(),
            fields: fields.iter().map(|(f, v)| (*f, v.to_string())).collect(),
            properties: Vec::new(),
        }
    }

    fn with<T>(f: impl FnOnce(&Facts<'_>) -> T) -> T {
        let rules = Rules::default();
        let people = People::new([("ana@example.com", "user-ana")]);
        let mut scan = ScanFacts::default();
        scan.tracked_on
            .insert("checkout_completed".into(), "frontend".into());
        scan.related_pr
            .insert("release_x".into(), "https://github.com/o/r/pull/7".into());
        f(&Facts {
            rules: &rules,
            people: Some(&people),
            scan: &scan,
        })
    }

    #[test]
    fn a_new_event_gets_the_planned_status_and_kodos_facts() {
        let mut r = request(
            Resource::Events,
            " checkout_completed ",
            &[
                (DocField::Description, "A purchase went through"),
                (DocField::Owner, "ANA@example.com"),
            ],
        );
        r.properties = vec![("plan".into(), Some(PropertyType::String))];
        let d = with(|f| desired(&r, f)).unwrap();
        let p = &d.record.props;
        assert_eq!(d.record.key, "checkout_completed");
        assert_eq!(d.record.keys.primary.as_deref(), Some("checkout_completed"));
        assert_eq!(
            p["Implementation Status"],
            PropValue::Select(Some("planned".into()))
        );
        assert_eq!(p["Domain"], PropValue::Select(Some("checkout_".into())));
        assert_eq!(p["Category"], PropValue::Select(Some("conversion".into())));
        assert_eq!(
            p["Tracked On"],
            PropValue::MultiSelect(vec!["frontend".into()])
        );
        assert_eq!(p["Owner"], PropValue::People(vec!["user-ana".into()]));
        assert_eq!(
            p["Properties"],
            PropValue::Text("{\n  \"plan\": {\n    \"type\": \"string\"\n  }\n}".into())
        );
    }

    #[test]
    fn a_new_flag_is_a_draft_with_its_type_and_pr() {
        let r = request(
            Resource::Flags,
            "release_x",
            &[(DocField::PlannedRemoval, "2027-03-31")],
        );
        let d = with(|f| desired(&r, f)).unwrap();
        let p = &d.record.props;
        assert_eq!(p["Status"], PropValue::Select(Some("draft".into())));
        assert_eq!(p["Type"], PropValue::Select(Some("release".into())));
        assert_eq!(
            p["Related PR"],
            PropValue::Url(Some("https://github.com/o/r/pull/7".into()))
        );
        assert_eq!(
            p["Planned Removal"],
            PropValue::Date(Some("2027-03-31".into()))
        );
        let r = request(Resource::Flags, "x", &[(DocField::Type, "Beta")]);
        let d = with(|f| desired(&r, f)).unwrap();
        assert_eq!(
            d.record.props["Type"],
            PropValue::Select(Some("beta".into()))
        );
        assert!(!d.soft.contains("Type"));
    }

    #[test]
    fn experiments_and_dashboards_are_matched_by_their_keys() {
        let r = request(
            Resource::Experiments,
            "Checkout copy",
            &[
                (DocField::FlagKey, "checkout-copy"),
                (DocField::Hypothesis, "h"),
            ],
        );
        let d = with(|f| desired(&r, f)).unwrap();
        assert_eq!(d.record.keys.primary.as_deref(), Some("checkout-copy"));
        assert_eq!(d.record.keys.fallback.as_deref(), Some("Checkout copy"));
        assert_eq!(
            d.record.props["Status"],
            PropValue::Select(Some("draft".into()))
        );
        let r = request(Resource::Dashboards, "Growth", &[(DocField::Purpose, "p")]);
        let d = with(|f| desired(&r, f)).unwrap();
        assert_eq!(d.record.keys.primary, None);
        assert_eq!(d.record.keys.fallback.as_deref(), Some("Growth"));
        assert_eq!(d.record.status, None);
    }

    #[test]
    fn bad_requests_are_specific_errors() {
        let cases: Vec<(Request, &str)> = vec![
            (request(Resource::Events, " ", &[]), "event name is empty"),
            (
                request(Resource::Flags, "x", &[(DocField::Hypothesis, "h")]),
                "`--hypothesis` does not apply to flags",
            ),
            (
                request(Resource::Flags, "x", &[(DocField::Type, "permanent")]),
                "release, experiment, ops, beta, config",
            ),
            (
                request(
                    Resource::Flags,
                    "x",
                    &[(DocField::PlannedRemoval, "2027-02-30")],
                ),
                "is not a date",
            ),
            (
                request(
                    Resource::Events,
                    "x",
                    &[(DocField::Owner, "bob@example.com")],
                ),
                "no Notion user has the e-mail `bob@example.com`",
            ),
            (
                request(
                    Resource::Events,
                    "x",
                    &[(DocField::Description, "a"), (DocField::Description, "b")],
                ),
                "given twice",
            ),
        ];
        for (r, want) in cases {
            let e = with(|f| desired(&r, f)).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        let mut r = request(Resource::Flags, "x", &[]);
        r.properties = vec![("plan".into(), None)];
        assert!(with(|f| desired(&r, f)).is_err());
        assert!(parse_property("plan:uuid").is_err());
        assert!(parse_property(":string").is_err());
        assert_eq!(
            parse_property("a:b:number").unwrap(),
            ("a:b".into(), Some(PropertyType::Number))
        );
    }

    #[test]
    fn owners_need_a_readable_directory() {
        let r = request(Resource::Events, "x", &[(DocField::Owner, "a@b.c")]);
        let rules = Rules::default();
        let scan = ScanFacts::default();
        let e = desired(
            &r,
            &Facts {
                rules: &rules,
                people: None,
                scan: &scan,
            },
        )
        .unwrap_err();
        assert!(matches!(e, DocumentError::OwnersUnreadable { .. }));
    }

    fn row(props: serde_json::Value) -> NotionRow {
        let map = props.as_object().cloned().unwrap();
        decode_page(
            Resource::Events,
            "page-1",
            Some("https://notion.so/p1"),
            &map,
        )
    }

    fn text(s: &str) -> serde_json::Value {
        json!({"type": "rich_text", "rich_text": [{"type": "text", "text": {"content": s}, "plain_text": s}]})
    }

    #[test]
    fn an_existing_row_gets_only_what_was_given_and_missing_facts() {
        let existing = row(json!({
            "Event Name": {"type": "title", "title": [{"type": "text", "text": {"content": "checkout_completed"}, "plain_text": "checkout_completed"}]},
            "Description": text("Written by a person"),
            "Category": {"type": "select", "select": {"name": "engagement"}},
            "Implementation Status": {"type": "select", "select": {"name": "implemented"}},
        }));
        let r = request(
            Resource::Events,
            "checkout_completed",
            &[(DocField::Owner, "ana@example.com")],
        );
        let p = with(|f| plan(&r, f, Some(&existing))).unwrap();
        let DocStep::Update { page_id, changes } = &p.step else {
            panic!("{:?}", p.step)
        };
        assert_eq!(page_id, "page-1");
        let props: Vec<_> = changes.iter().map(|c| c.property).collect();
        // Description, Category and the status are the row's: untouched.
        assert_eq!(props, ["Domain", "Owner", "Tracked On"]);

        let r = request(
            Resource::Events,
            "checkout_completed",
            &[(DocField::Description, "New words")],
        );
        let p = with(|f| plan(&r, f, Some(&existing))).unwrap();
        let DocStep::Update { changes, .. } = &p.step else {
            panic!()
        };
        assert!(changes
            .iter()
            .any(|c| c.property == "Description" && c.to == PropValue::Text("New words".into())));
    }

    #[test]
    fn rerunning_plans_nothing() {
        let mut r = request(Resource::Events, "checkout_completed", &[]);
        r.properties = vec![("plan".into(), Some(PropertyType::String))];
        let d = with(|f| desired(&r, f)).unwrap();
        let encoded: serde_json::Map<String, serde_json::Value> = d
            .record
            .props
            .iter()
            .map(|(name, v)| {
                let spec = Resource::Events.schema().property(name).unwrap();
                let mut e = model::encode(spec, v);
                e["type"] = json!(spec.kind.notion_name());
                (name.to_string(), e)
            })
            .collect();
        let existing = decode_page(Resource::Events, "page-1", None, &encoded);
        let p = with(|f| plan(&r, f, Some(&existing))).unwrap();
        assert_eq!(
            p.step,
            DocStep::Unchanged {
                page_id: "page-1".into()
            }
        );
    }

    #[test]
    fn properties_are_only_added_and_a_broken_schema_is_not_touched() {
        let existing = row(json!({
            "Event Name": {"type": "title", "title": [{"type": "text", "text": {"content": "e"}, "plain_text": "e"}]},
            "Properties": text("{\"plan\": {\"type\": \"string\", \"description\": \"kept\"}}"),
        }));
        let mut r = request(Resource::Events, "e", &[]);
        r.properties = vec![
            ("seats".into(), Some(PropertyType::Number)),
            ("plan".into(), None),
        ];
        let p = with(|f| plan(&r, f, Some(&existing))).unwrap();
        let DocStep::Update { changes, .. } = &p.step else {
            panic!()
        };
        let change = changes.iter().find(|c| c.property == "Properties").unwrap();
        let after = PropertySchema::parse(change.to.as_text().unwrap()).unwrap();
        assert_eq!(after.names().collect::<Vec<_>>(), ["plan", "seats"]);
        assert!(change.to.as_text().unwrap().contains("kept"));

        let broken = row(json!({
            "Event Name": {"type": "title", "title": [{"type": "text", "text": {"content": "e"}, "plain_text": "e"}]},
            "Properties": text("plan, seats"),
        }));
        let e = with(|f| plan(&r, f, Some(&broken)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("https://notion.so/p1"), "{e}");
        assert!(e.contains("not a property schema"), "{e}");
        // Without --property the broken text is not even read.
        let r = request(Resource::Events, "e", &[]);
        assert!(with(|f| plan(&r, f, Some(&broken))).is_ok());
    }

    #[test]
    fn rows_are_found_by_the_identity_properties() {
        let r = request(
            Resource::Experiments,
            "Checkout copy",
            &[(DocField::FlagKey, "checkout-copy")],
        );
        let d = with(|f| desired(&r, f)).unwrap();
        assert_eq!(
            row_filter(&d),
            json!({"or": [
                {"property": "Flag Key", "rich_text": {"equals": "checkout-copy"}},
                {"property": "Experiment Name", "title": {"equals": "Checkout copy"}},
            ]})
        );
        let r = request(Resource::Events, "e", &[]);
        let d = with(|f| desired(&r, f)).unwrap();
        assert_eq!(
            row_filter(&d),
            json!({"property": "Event Name", "title": {"equals": "e"}})
        );
        let title = |t: &str| json!({"type": "title", "title": [{"type": "text", "text": {"content": t}, "plain_text": t}]});
        let a = row(json!({"Event Name": title("e")}));
        let b = row(json!({"Event Name": title("e ")}));
        assert!(find_row(&d, &[]).unwrap().is_none());
        assert_eq!(find_row(&d, std::slice::from_ref(&a)).unwrap(), Some(&a));
        let e = find_row(&d, &[a, b]).unwrap_err().to_string();
        assert!(e.starts_with("2 rows document e"), "{e}");
    }

    #[test]
    fn the_command_is_quoted_for_a_shell() {
        assert_eq!(
            command(Resource::Events, "checkout_completed", &[]),
            "kodo ph-sync document event checkout_completed"
        );
        assert_eq!(
            command(
                Resource::Experiments,
                "Bob's test",
                &[(DocField::FlagKey, "bobs-test")]
            ),
            "kodo ph-sync document experiment 'Bob'\\''s test' --flag-key bobs-test"
        );
        assert_eq!(shell_quote("-x"), "'-x'");
        assert_eq!(shell_quote("$(rm)"), "'$(rm)'");
        assert_eq!(shell_quote(""), "''");
    }
}
