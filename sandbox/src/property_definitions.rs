//! PostHog's property definitions: `GET /api/projects/:id/property_definitions/`, the
//! properties PostHog has seen, with their type, filtered to those seen with given events.
//!
//! Source: PostHog/posthog `posthog/api/property_definition.py` — `PropertyDefinitionQuerySerializer`
//! (its parameters and `validate`), `QueryContext` (the SQL the list runs:
//! `with_event_property_filter` joins `posthog_eventproperty`, an INNER JOIN when
//! `filter_by_event_names`, a LEFT JOIN otherwise, and sets `is_seen_on_filtered_events`;
//! `with_is_numerical_flag`; `with_excluded_core_properties` with
//! `ALWAYS_EXCLUDED_EVENT_PROPERTIES`; `ORDER BY is_seen_on_filtered_events DESC, name ASC`),
//! `PropertyDefinitionSerializer` (the fields shown) and `NotCountingLimitOffsetPaginator`
//! (limit/offset pages, `count`, `next`, `previous`). Property types are
//! `PropertyType` in `posthog/models/property_definition.py`.
//!
//! **Invariants.** The store holds the two tables PostHog has: definitions (name, type,
//! `is_numerical`) and event–property pairs (`EventProperty`); a list is as strict as the
//! serializer (an unknown `type`, a bad boolean, `event_names` with a non-event `type` are
//! 400s; `event_names` that is not JSON fails as PostHog's `json.loads` does, with a 500).

use serde_json::{json, Map, Value};

use crate::posthog::{paginate, PosthogError, RequestUrl};

/// `PropertyType` (posthog/models/property_definition.py).
pub const PROPERTY_TYPES: [&str; 5] = ["DateTime", "String", "Numeric", "Boolean", "Duration"];

/// Event properties every list leaves out (`ALWAYS_EXCLUDED_EVENT_PROPERTIES`, without the
/// `$session_entry_*` taxonomy entries, which no scenario sends).
const ALWAYS_EXCLUDED: [&str; 14] = [
    "distinct_id",
    "$set",
    "$set_once",
    "$initial_referrer",
    "$initial_referring_domain",
    "$groups",
    "$group_type",
    "$group_key",
    "$group_set",
    "$group_0",
    "$group_1",
    "$group_2",
    "$group_3",
    "$group_4",
];

/// The project's property definitions and which events they were seen on.
#[derive(Debug, Default, Clone)]
pub struct PropertyStore {
    /// `{id, name, property_type, is_numerical}`, event properties only.
    pub definitions: Vec<Map<String, Value>>,
    /// `(event, property)` pairs (`posthog_eventproperty`).
    pub seen: Vec<(String, String)>,
}

impl PropertyStore {
    /// Adds a property seen on `events` (a definition created if new; its type set when
    /// given). Admin and scenario only: PostHog records them on ingestion.
    pub fn record(
        &mut self,
        id: String,
        name: &str,
        property_type: Option<&str>,
        events: &[String],
    ) -> Result<(), PosthogError> {
        if name.is_empty() {
            return Err(PosthogError::validation(
                "required",
                "This field is required.",
                Some("name"),
            ));
        }
        if let Some(t) = property_type {
            if !PROPERTY_TYPES.contains(&t) {
                return Err(PosthogError::validation(
                    "invalid_choice",
                    format!("\"{t}\" is not a valid choice."),
                    Some("property_type"),
                ));
            }
        }
        match self
            .definitions
            .iter_mut()
            .find(|d| d.get("name").and_then(Value::as_str) == Some(name))
        {
            Some(d) => {
                if let Some(t) = property_type {
                    d.insert("property_type".into(), json!(t));
                    d.insert("is_numerical".into(), json!(t == "Numeric"));
                }
            }
            None => {
                let mut d = Map::new();
                d.insert("id".into(), json!(id));
                d.insert("name".into(), json!(name));
                d.insert(
                    "is_numerical".into(),
                    json!(property_type == Some("Numeric")),
                );
                d.insert("property_type".into(), json!(property_type));
                self.definitions.push(d);
            }
        }
        for event in events {
            let pair = (event.clone(), name.to_string());
            if !self.seen.contains(&pair) {
                self.seen.push(pair);
            }
        }
        Ok(())
    }

    /// The list, as `PropertyDefinitionViewSet.list` answers it.
    pub fn list(&self, url: &RequestUrl) -> Result<Value, PosthogError> {
        let param = |key: &str| {
            url.query
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let kind = param("type").unwrap_or("event");
        if !["event", "person", "group", "session"].contains(&kind) {
            return Err(PosthogError::validation(
                "invalid_choice",
                format!("\"{kind}\" is not a valid choice."),
                Some("type"),
            ));
        }
        let is_numerical = boolean(param("is_numerical"), "is_numerical")?;
        let filter_by_event_names =
            boolean(param("filter_by_event_names"), "filter_by_event_names")?;
        let group_type_index = param("group_type_index");
        if kind == "group" && group_type_index.is_none() {
            return Err(non_field("`group_type_index` must be set for `group` type"));
        }
        if kind != "group" && group_type_index.is_some() {
            return Err(non_field(
                "`group_type_index` can only set for `group` type",
            ));
        }
        let event_names_raw = param("event_names").filter(|s| !s.is_empty());
        if kind != "event" && event_names_raw.is_some() {
            return Err(non_field("`event_names` can only be set for `event` type"));
        }
        // `json.loads(event_names)`: what is not JSON raises, and PostHog answers 500.
        let event_names: Vec<String> = match event_names_raw {
            None => Vec::new(),
            Some(raw) => match serde_json::from_str::<Value>(raw) {
                Ok(Value::Array(items)) => items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
                Ok(_) | Err(_) => return Err(PosthogError::server_error()),
            },
        };
        let excluded: Vec<String> = match param("excluded_properties").filter(|s| !s.is_empty()) {
            None => Vec::new(),
            Some(raw) => match serde_json::from_str::<Vec<String>>(raw) {
                Ok(list) => list,
                Err(_) => return Err(PosthogError::server_error()),
            },
        };
        let names: Option<Vec<&str>> = param("properties")
            .filter(|s| !s.is_empty())
            .map(|s| s.split(',').collect());
        let search = param("search").map(str::to_lowercase);
        // Only event properties are modelled: the other types have no definitions here.
        let definitions: &[Map<String, Value>] = if kind == "event" {
            &self.definitions
        } else {
            &[]
        };
        let joined = !event_names.is_empty();
        let mut rows: Vec<(bool, &Map<String, Value>)> = definitions
            .iter()
            .filter_map(|d| {
                let name = d.get("name").and_then(Value::as_str)?;
                if ALWAYS_EXCLUDED.contains(&name) || excluded.iter().any(|e| e == name) {
                    return None;
                }
                if names.as_ref().is_some_and(|n| !n.contains(&name)) {
                    return None;
                }
                // `AND is_numerical = true AND NOT name = ANY(ARRAY['distinct_id', 'timestamp'])`
                let numerical = d.get("is_numerical") == Some(&json!(true))
                    && !["distinct_id", "timestamp"].contains(&name);
                if is_numerical == Some(true) && !numerical {
                    return None;
                }
                if search.as_ref().is_some_and(|q| {
                    !q.split_whitespace()
                        .all(|w| name.to_lowercase().contains(w))
                }) {
                    return None;
                }
                let seen = joined
                    && self
                        .seen
                        .iter()
                        .any(|(e, p)| p == name && event_names.contains(e));
                if filter_by_event_names == Some(true) && !seen {
                    return None;
                }
                Some((seen, d))
            })
            .collect();
        rows.sort_by(|(sa, a), (sb, b)| {
            sb.cmp(sa).then(
                a.get("name")
                    .and_then(Value::as_str)
                    .cmp(&b.get("name").and_then(Value::as_str)),
            )
        });
        let items: Vec<Value> = rows
            .into_iter()
            .map(|(seen, d)| {
                json!({
                    "id": d.get("id").cloned().unwrap_or(Value::Null),
                    "name": d.get("name").cloned().unwrap_or(Value::Null),
                    "is_numerical": d.get("is_numerical").cloned().unwrap_or(json!(false)),
                    "property_type": d.get("property_type").cloned().unwrap_or(Value::Null),
                    "tags": [],
                    // NULL when no `event_names` were given.
                    "is_seen_on_filtered_events": if joined { json!(seen) } else { Value::Null },
                })
            })
            .collect();
        Ok(paginate(items, url))
    }

    /// One definition by id (`RetrieveModelMixin`; 404 when there is none).
    pub fn retrieve(&self, id: &str) -> Result<Value, PosthogError> {
        let d = self
            .definitions
            .iter()
            .find(|d| d.get("id").and_then(Value::as_str) == Some(id))
            .ok_or_else(PosthogError::not_found)?;
        Ok(json!({
            "id": d.get("id").cloned().unwrap_or(Value::Null),
            "name": d.get("name").cloned().unwrap_or(Value::Null),
            "is_numerical": d.get("is_numerical").cloned().unwrap_or(json!(false)),
            "property_type": d.get("property_type").cloned().unwrap_or(Value::Null),
            "tags": [],
            "is_seen_on_filtered_events": Value::Null,
        }))
    }

    /// The state dump of the admin API.
    pub fn state_json(&self) -> Value {
        json!({
            "definitions": self.definitions,
            "seen": self.seen.iter().map(|(e, p)| json!({"event": e, "property": p})).collect::<Vec<_>>(),
        })
    }
}

/// DRF's `BooleanField(allow_null=True)`: its true and false spellings, else 400.
fn boolean(value: Option<&str>, attr: &str) -> Result<Option<bool>, PosthogError> {
    match value {
        None => Ok(None),
        Some(v) => match v {
            "true" | "True" | "TRUE" | "1" | "on" | "On" | "ON" | "yes" | "Yes" | "YES" | "y"
            | "Y" | "t" | "T" => Ok(Some(true)),
            "false" | "False" | "FALSE" | "0" | "off" | "Off" | "OFF" | "no" | "No" | "NO"
            | "n" | "N" | "f" | "F" => Ok(Some(false)),
            "" | "null" | "Null" | "NULL" => Ok(None),
            _ => Err(PosthogError::validation(
                "invalid",
                "Must be a valid boolean.",
                Some(attr),
            )),
        },
    }
}

/// A `ValidationError` raised in `validate()`: DRF's `non_field_errors`.
fn non_field(detail: &str) -> PosthogError {
    PosthogError::validation("invalid_input", detail, Some("non_field_errors"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(query: &[(&str, &str)]) -> RequestUrl {
        RequestUrl {
            origin: "http://127.0.0.1:1".into(),
            path: "/api/projects/1/property_definitions/".into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn store() -> PropertyStore {
        let mut s = PropertyStore::default();
        let ev = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        s.record(
            "1".into(),
            "plan",
            Some("String"),
            &ev(&["checkout_completed"]),
        )
        .unwrap();
        s.record(
            "2".into(),
            "amount_cents",
            Some("Numeric"),
            &ev(&["checkout_completed"]),
        )
        .unwrap();
        s.record(
            "3".into(),
            "query",
            Some("String"),
            &ev(&["search_performed"]),
        )
        .unwrap();
        s.record(
            "4".into(),
            "distinct_id",
            Some("String"),
            &ev(&["checkout_completed"]),
        )
        .unwrap();
        s
    }

    fn names(v: &Value) -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn filter_by_event_names_keeps_only_what_was_seen_with_them() {
        let s = store();
        let v = s
            .list(&url(&[
                ("type", "event"),
                ("event_names", r#"["checkout_completed"]"#),
                ("filter_by_event_names", "true"),
            ]))
            .unwrap();
        assert_eq!(names(&v), ["amount_cents", "plan"]);
        assert_eq!(v["results"][0]["is_seen_on_filtered_events"], true);
        assert_eq!(v["results"][0]["property_type"], "Numeric");
        assert_eq!(v["results"][0]["is_numerical"], true);
        assert_eq!(v["count"], 2);
    }

    #[test]
    fn without_the_filter_seen_ones_come_first() {
        let s = store();
        let v = s
            .list(&url(&[("event_names", r#"["search_performed"]"#)]))
            .unwrap();
        assert_eq!(names(&v), ["query", "amount_cents", "plan"]);
        assert_eq!(v["results"][1]["is_seen_on_filtered_events"], false);
        let v = s.list(&url(&[])).unwrap();
        assert_eq!(v["results"][0]["is_seen_on_filtered_events"], Value::Null);
        let v = s.list(&url(&[("is_numerical", "true")])).unwrap();
        assert_eq!(names(&v), ["amount_cents"]);
    }

    #[test]
    fn pages_follow_limit_and_offset() {
        let s = store();
        let v = s.list(&url(&[("limit", "2")])).unwrap();
        assert_eq!(names(&v), ["amount_cents", "plan"]);
        assert!(v["next"].as_str().unwrap().contains("offset=2"));
        let v = s.list(&url(&[("limit", "2"), ("offset", "2")])).unwrap();
        assert_eq!(names(&v), ["query"]);
        assert_eq!(v["next"], Value::Null);
    }

    #[test]
    fn bad_parameters_are_refused_as_posthog_refuses_them() {
        let s = store();
        let e = s.list(&url(&[("type", "events")])).unwrap_err();
        assert_eq!(e.to_json()["attr"], "type");
        let e = s
            .list(&url(&[("filter_by_event_names", "maybe")]))
            .unwrap_err();
        assert_eq!(e.to_json()["detail"], "Must be a valid boolean.");
        let e = s
            .list(&url(&[("type", "person"), ("event_names", r#"["x"]"#)]))
            .unwrap_err();
        assert_eq!(
            e.to_json()["detail"],
            "`event_names` can only be set for `event` type"
        );
        let e = s.list(&url(&[("event_names", "checkout")])).unwrap_err();
        assert_eq!(e.to_json()["type"], "server_error");
        assert!(s.list(&url(&[("type", "group")])).is_err());
        assert!(s.retrieve("nope").is_err());
        assert_eq!(s.retrieve("1").unwrap()["name"], "plan");
    }
}
