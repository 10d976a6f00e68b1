//! `kodo ph-sync export`: Notion's side as plain files, for comparison with PostHog.
//!
//! `.kodo/export/<resource>.json` is the versioned [`wire::Export`] of that resource: its rows,
//! each an object of `page_id`, `url` and every schema
//! property as plain JSON (text and options as strings, multi-selects as arrays, people as
//! arrays of `{"id", "name", "email"}`, numbers, booleans, `null` when empty).
//! `.kodo/export/<resource>.csv` has one column per schema property (then `page_id` and
//! `url`), multi-values joined with `; `, people as `Name <email>`, RFC 4180 quoting. People
//! are named from the Notion workspace's users; a user kodo cannot read (the integration may
//! not read users, or the user left) is its ID, with `name` and `email` `null`.
//!
//! **Invariants.** Pure renderers; rows sorted by key then page ID, so two exports of the same
//! data are byte-identical.

use serde_json::{json, Value};

use kodo_core::hygiene::Directory;
use kodo_core::wire;

use crate::model::{NotionRow, PropValue, Resource};

use super::report::csv_row;

fn sorted(rows: &[NotionRow]) -> Vec<&NotionRow> {
    let mut rows: Vec<&NotionRow> = rows.iter().collect();
    rows.sort_by(|a, b| (&a.record.key, &a.page_id).cmp(&(&b.record.key, &b.page_id)));
    rows
}

/// One Notion user as JSON: its ID, and its name and e-mail when the workspace says them.
fn person(id: &str, people: &Directory) -> Value {
    let member = people.person(id);
    let name = member.map(|m| m.name.trim()).filter(|n| !n.is_empty());
    let email = member
        .and_then(|m| m.email.as_deref())
        .map(str::trim)
        .filter(|e| !e.is_empty());
    json!({"id": id, "name": name, "email": email})
}

/// A property value as plain JSON.
pub fn plain(value: &PropValue, people: &Directory) -> Value {
    match value {
        PropValue::Text(s) => json!(s),
        PropValue::Select(v) | PropValue::Url(v) | PropValue::Date(v) => json!(v),
        PropValue::MultiSelect(v) => json!(v),
        PropValue::People(ids) => Value::Array(ids.iter().map(|id| person(id, people)).collect()),
        PropValue::Number(n) => match n {
            Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => json!(*n as i64),
            Some(n) => json!(n),
            None => Value::Null,
        },
        PropValue::Checkbox(b) => json!(b),
    }
}

/// A property value as one CSV field.
pub fn text(value: &PropValue, people: &Directory) -> String {
    match value {
        PropValue::Text(s) => s.clone(),
        PropValue::Select(v) | PropValue::Url(v) | PropValue::Date(v) => {
            v.clone().unwrap_or_default()
        }
        PropValue::MultiSelect(v) => v.join("; "),
        PropValue::People(ids) => ids
            .iter()
            .map(|id| people.label(id))
            .collect::<Vec<_>>()
            .join("; "),
        PropValue::Number(n) => n.map(crate::model::format_number).unwrap_or_default(),
        PropValue::Checkbox(b) => b.to_string(),
    }
}

/// The rows of one resource in the export's wire form.
pub fn rows(resource: Resource, rows: &[NotionRow], people: &Directory) -> Vec<wire::ExportRow> {
    let schema = resource.schema();
    sorted(rows)
        .into_iter()
        .map(|row| wire::ExportRow {
            page_id: row.page_id.clone(),
            url: row.url.clone(),
            properties: schema
                .properties
                .iter()
                .map(|spec| {
                    let value = row
                        .record
                        .props
                        .get(spec.name)
                        .cloned()
                        .unwrap_or_else(|| PropValue::empty(spec.kind));
                    (spec.name.to_string(), plain(&value, people))
                })
                .collect(),
        })
        .collect()
}

/// The export document of the resources given, in that order.
pub fn document<'a>(
    sides: impl IntoIterator<Item = (Resource, &'a [NotionRow])>,
    people: &Directory,
) -> wire::Export {
    wire::Export {
        version: wire::VERSION,
        resources: wire::PerResource(
            sides
                .into_iter()
                .map(|(resource, side)| (resource, rows(resource, side, people)))
                .collect(),
        ),
    }
}

/// The rows of one resource as CSV.
pub fn rows_csv(resource: Resource, rows: &[NotionRow], people: &Directory) -> String {
    let schema = resource.schema();
    let mut header: Vec<&str> = schema.properties.iter().map(|p| p.name).collect();
    header.extend(["page_id", "url"]);
    let mut out = csv_row(&header);
    for row in sorted(rows) {
        let mut fields: Vec<String> = schema
            .properties
            .iter()
            .map(|spec| {
                row.record
                    .props
                    .get(spec.name)
                    .map(|v| text(v, people))
                    .unwrap_or_default()
            })
            .collect();
        fields.push(row.page_id.clone());
        fields.push(row.url.clone().unwrap_or_default());
        out.push_str(&csv_row(&fields));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::decode_page;

    fn rows() -> Vec<NotionRow> {
        let page = |id: &str, key: &str, extra: Value| {
            let mut props = json!({
                "Flag Key": {"type": "title", "title": [{"plain_text": key}]},
                "Status": {"type": "select", "select": {"name": "active"}},
                "Rollout %": {"type": "number", "number": 25},
                "Targeting": {"type": "rich_text", "rich_text": [{"plain_text": "25% where plan is \"pro\", or team"}]},
            });
            if let (Some(p), Some(e)) = (props.as_object_mut(), extra.as_object()) {
                p.extend(e.clone());
            }
            decode_page(
                Resource::Flags,
                id,
                Some("https://notion.so/p"),
                props.as_object().unwrap(),
            )
        };
        vec![
            page("p2", "zeta_flag", json!({})),
            page(
                "p1",
                "alpha_flag",
                json!({"Owner": {"type": "people", "people": [{"id": "u1"}, {"id": "u2"}]}}),
            ),
        ]
    }

    fn people() -> Directory {
        Directory::new([kodo_core::hygiene::Member {
            id: "u1".into(),
            name: "Alex Kim".into(),
            email: Some("alex@acme.example".into()),
        }])
    }

    #[test]
    fn json_export_is_plain_and_sorted() {
        let rows = rows();
        let doc = document([(Resource::Flags, rows.as_slice())], &people());
        let text = wire::to_json(&doc);
        let whole: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(whole["version"], 1);
        let v = &whole["resources"]["flags"];
        assert_eq!(v[0]["Flag Key"], "alpha_flag");
        assert_eq!(v[0]["page_id"], "p1");
        assert_eq!(v[0]["url"], "https://notion.so/p");
        assert_eq!(v[0]["Rollout %"], 25);
        // People by name and e-mail; a user the workspace does not list keeps only its ID.
        assert_eq!(
            v[0]["Owner"],
            json!([
                {"id": "u1", "name": "Alex Kim", "email": "alex@acme.example"},
                {"id": "u2", "name": null, "email": null}
            ])
        );
        assert_eq!(v[0]["Related PR"], Value::Null);
        assert_eq!(v[0]["Planned Removal"], Value::Null);
        assert_eq!(v[1]["Owner"], json!([]));
        assert_eq!(
            v[0].as_object().unwrap().len(),
            2 + Resource::Flags.schema().properties.len()
        );
        // A reader of the contract reads it back as written.
        assert_eq!(serde_json::from_str::<wire::Export>(&text).unwrap(), doc);
    }

    #[test]
    fn csv_export_has_the_schema_header_and_quotes() {
        let text = rows_csv(Resource::Flags, &rows(), &people());
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "Flag Key,Name,Type,Status,Rollout %,Targeting,Owner,Created,Planned Removal,Related PR,page_id,url"
        );
        assert_eq!(
            lines[1],
            "alpha_flag,,,active,25,\"25% where plan is \"\"pro\"\", or team\",Alex Kim <alex@acme.example>; u2,,,,p1,https://notion.so/p"
        );
        assert_eq!(lines.len(), 4);
    }
}
