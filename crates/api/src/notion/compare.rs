//! Does a page, as read back, already hold the property values a PATCH sent?
//!
//! Used to settle an update whose answer was lost: if every value sent reads back equal, the
//! write committed. Invariant: the comparison is conservative. Any doubt (an unknown property
//! type, a value form not understood, a read truncated at 25 items) counts as "not equal",
//! which only costs one more PATCH; re-sending the same property values is harmless.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::types::Page;

const META_KEYS: [&str; 4] = ["id", "type", "name", "description"];

/// True when every property in `sent` (PATCH body `properties`, keyed by name or id) reads back
/// equal on `page`.
pub(crate) fn properties_match(sent: &Map<String, Value>, page: &Page) -> bool {
    sent.iter().all(|(key, value)| {
        let read = page.properties.get(key).or_else(|| {
            page.properties
                .values()
                .find(|p| p.get("id").and_then(Value::as_str) == Some(key.as_str()))
        });
        match read {
            Some(read) => value_matches(value, read),
            None => false,
        }
    })
}

fn value_matches(sent: &Value, read: &Value) -> bool {
    let Some(obj) = sent.as_object() else {
        return false;
    };
    let kind = match obj.get("type").and_then(Value::as_str) {
        Some(k) => k,
        None => match obj.keys().find(|k| !META_KEYS.contains(&k.as_str())) {
            Some(k) => k.as_str(),
            None => return false,
        },
    };
    let s = obj.get(kind).unwrap_or(&Value::Null);
    let r = read.get(kind).unwrap_or(&Value::Null);
    match kind {
        "title" | "rich_text" => match (text_of(s), text_of(r)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        "number" => match (s, r) {
            (Value::Null, Value::Null) => true,
            (a, b) => a.as_f64().is_some() && a.as_f64() == b.as_f64(),
        },
        "select" | "status" => option_matches(s, r),
        "multi_select" => match (s.as_array(), r.as_array()) {
            (Some(a), Some(b)) => {
                let by_name = |v: &Vec<Value>| -> Option<BTreeSet<String>> {
                    v.iter()
                        .map(|o| o.get("name").and_then(Value::as_str).map(str::to_owned))
                        .collect()
                };
                match (by_name(a), by_name(b)) {
                    (Some(x), Some(y)) => x == y,
                    _ => ids(a).is_some() && ids(a) == ids(b),
                }
            }
            _ => false,
        },
        "people" | "relation" => match (s.as_array(), r.as_array()) {
            (Some(a), Some(b)) => ids(a).is_some() && ids(a) == ids(b),
            _ => false,
        },
        "date" => match (s, r) {
            (Value::Null, Value::Null) => true,
            (Value::Object(a), Value::Object(b)) => {
                let field =
                    |o: &Map<String, Value>, k: &str| o.get(k).cloned().unwrap_or(Value::Null);
                field(a, "start") == field(b, "start") && field(a, "end") == field(b, "end")
            }
            _ => false,
        },
        "checkbox" | "url" | "email" | "phone_number" => s == r,
        _ => false,
    }
}

/// Concatenated text of a rich-text array, `None` if any item's text cannot be determined.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some(String::new()),
        Value::Array(items) => items
            .iter()
            .map(|t| {
                t.get("plain_text")
                    .and_then(Value::as_str)
                    .or_else(|| t.pointer("/text/content").and_then(Value::as_str))
            })
            .collect::<Option<Vec<&str>>>()
            .map(|parts| parts.concat()),
        _ => None,
    }
}

fn option_matches(sent: &Value, read: &Value) -> bool {
    match (sent, read) {
        (Value::Null, Value::Null) => true,
        (Value::Object(s), Value::Object(r)) => {
            if let Some(name) = s.get("name") {
                Some(name) == r.get("name")
            } else if let Some(id) = s.get("id") {
                Some(id) == r.get("id")
            } else {
                false
            }
        }
        _ => false,
    }
}

fn ids(items: &[Value]) -> Option<BTreeSet<String>> {
    items
        .iter()
        .map(|o| o.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(props: Value) -> Page {
        Page {
            id: "p".into(),
            created_time: String::new(),
            last_edited_time: String::new(),
            in_trash: false,
            url: String::new(),
            properties: props.as_object().unwrap().clone(),
        }
    }

    fn sent(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn write_shapes_compare_equal_to_their_read_back() {
        let read = page(json!({
            "Name": {"id": "title", "type": "title", "title": [
                {"type": "text", "text": {"content": "sign", "link": null}, "plain_text": "sign"},
                {"type": "text", "text": {"content": "up", "link": null}, "plain_text": "up"}]},
            "Status": {"id": "s", "type": "select", "select": {"id": "o1", "name": "Done", "color": "green"}},
            "Tags": {"id": "t", "type": "multi_select", "multi_select": [
                {"id": "a", "name": "x", "color": "red"}, {"id": "b", "name": "y", "color": "blue"}]},
            "Owner": {"id": "o", "type": "people", "people": [{"object": "user", "id": "u1", "name": "A"}]},
            "Count": {"id": "c", "type": "number", "number": 3},
            "Due": {"id": "d", "type": "date", "date": {"start": "2025-01-02", "end": null, "time_zone": null}},
            "Done": {"id": "k", "type": "checkbox", "checkbox": true},
            "Link": {"id": "l", "type": "url", "url": null}
        }));
        let body = sent(json!({
            "Name": {"title": [{"type": "text", "text": {"content": "signup"}}]},
            "s": {"select": {"name": "Done"}},
            "Tags": {"multi_select": [{"name": "y"}, {"name": "x"}]},
            "Owner": {"people": [{"object": "user", "id": "u1"}]},
            "Count": {"number": 3.0},
            "Due": {"date": {"start": "2025-01-02"}},
            "Done": {"checkbox": true},
            "Link": {"url": null}
        }));
        assert!(properties_match(&body, &read));
    }

    #[test]
    fn any_difference_or_doubt_is_a_mismatch() {
        let read = page(json!({
            "Status": {"id": "s", "type": "select", "select": {"id": "o1", "name": "Done"}},
            "Notes": {"id": "n", "type": "rich_text", "rich_text": []},
            "F": {"id": "f", "type": "formula", "formula": {"type": "string", "string": "x"}}
        }));
        assert!(!properties_match(
            &sent(json!({"Status": {"select": {"name": "Todo"}}})),
            &read
        ));
        assert!(!properties_match(
            &sent(json!({"Status": {"select": null}})),
            &read
        ));
        assert!(!properties_match(
            &sent(json!({"Notes": {"rich_text": [{"type": "text", "text": {"content": "x"}}]}})),
            &read
        ));
        assert!(properties_match(
            &sent(json!({"Notes": {"rich_text": []}})),
            &read
        ));
        assert!(!properties_match(
            &sent(json!({"Missing": {"checkbox": true}})),
            &read
        ));
        assert!(!properties_match(
            &sent(json!({"F": {"formula": {}}})),
            &read
        ));
    }
}
