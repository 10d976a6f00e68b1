//! Properties a person renamed in Notion, followed by their ids.
//!
//! A data source property keeps its id when it is renamed ("renaming properties by ID":
//! developers.notion.com/reference/update-data-source-properties), and Notion accepts a
//! property's id wherever it accepts its name: as a key of a page's `properties`
//! (developers.notion.com/reference/page-property-values), of a data source update's
//! `properties`, and as a filter's `property` (developers.notion.com/reference/filter-data-source-entries).
//! A caller that knows a property by another name ([`NotionClient::follow_renamed`]) keeps
//! using that name: this client sends the property's id in its place and reads the property
//! back under that name, in pages and in data source schemas of that data source. Nothing
//! here knows which names a caller expects; it only swaps names it was given.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::NotionClient;

/// One renamed property: the name the caller uses, its id, and its name in Notion now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    pub expected: String,
    pub id: String,
    pub actual: String,
}

#[derive(Debug, Default)]
pub(crate) struct Renames {
    /// Data source id → its renamed properties.
    sources: Mutex<HashMap<String, Vec<Renamed>>>,
    /// Page id → its data source, for the pages of a followed data source this client read
    /// or created (an update names only the page).
    pages: Mutex<HashMap<String, String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Renames {
    pub(crate) fn follow(&self, data_source_id: &str, renamed: Vec<Renamed>) {
        let mut sources = lock(&self.sources);
        if renamed.is_empty() {
            sources.remove(data_source_id);
        } else {
            sources.insert(data_source_id.to_owned(), renamed);
        }
    }

    fn of(&self, data_source_id: &str) -> Option<Vec<Renamed>> {
        lock(&self.sources).get(data_source_id).cloned()
    }

    /// The data source of a page seen before, if it is followed.
    pub(crate) fn source_of_page(&self, page_id: &str) -> Option<String> {
        lock(&self.pages).get(page_id).cloned()
    }

    /// Keys of an outgoing `properties` object: an expected name becomes the property's id.
    pub(crate) fn outgoing(&self, data_source_id: &str, properties: &mut Value) {
        let Some(renamed) = self.of(data_source_id) else {
            return;
        };
        if let Some(map) = properties.as_object_mut() {
            swap_keys(map, renamed.iter().map(|r| (&r.expected, &r.id)));
        }
    }

    /// An outgoing filter: every `"property": <expected name>` becomes the property's id.
    pub(crate) fn outgoing_filter(&self, data_source_id: &str, filter: &mut Value) {
        let Some(renamed) = self.of(data_source_id) else {
            return;
        };
        rename_filter(filter, &renamed);
    }

    /// An incoming page's properties: a renamed property is read under its expected name.
    /// Remembers the page's data source when it is followed.
    pub(crate) fn incoming_page(
        &self,
        data_source_id: Option<&str>,
        page_id: &str,
        properties: &mut Map<String, Value>,
    ) {
        let Some(ds) = data_source_id
            .or(self.source_of_page(page_id).as_deref())
            .map(str::to_owned)
        else {
            return;
        };
        let Some(renamed) = self.of(&ds) else {
            return;
        };
        lock(&self.pages).insert(page_id.to_owned(), ds);
        swap_keys(properties, renamed.iter().map(|r| (&r.actual, &r.expected)));
    }

    /// An incoming data source schema: a renamed property is listed under its expected name.
    pub(crate) fn incoming_schema(
        &self,
        data_source_id: &str,
        properties: &mut Map<String, Value>,
    ) {
        let Some(renamed) = self.of(data_source_id) else {
            return;
        };
        swap_keys(properties, renamed.iter().map(|r| (&r.actual, &r.expected)));
    }
}

/// Moves each `from` key of `map` to `to` (a key already named `to` is kept: it is not ours
/// to replace).
fn swap_keys<'a>(
    map: &mut Map<String, Value>,
    pairs: impl Iterator<Item = (&'a String, &'a String)>,
) {
    for (from, to) in pairs {
        if map.contains_key(to) {
            continue;
        }
        if let Some(v) = map.remove(from) {
            map.insert(to.clone(), v);
        }
    }
}

fn rename_filter(filter: &mut Value, renamed: &[Renamed]) {
    match filter {
        Value::Object(map) => {
            if let Some(Value::String(p)) = map.get_mut("property") {
                if let Some(r) = renamed.iter().find(|r| &r.expected == p) {
                    *p = r.id.clone();
                }
            }
            for v in map.values_mut() {
                if v.is_object() || v.is_array() {
                    rename_filter(v, renamed);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_filter(v, renamed)),
        _ => {}
    }
}

impl NotionClient {
    /// Follows properties of `data_source_id` that were renamed in Notion: the caller keeps
    /// using each `expected` name; requests carry the property's `id`, answers list it under
    /// `expected`. Replaces what was followed for that data source (an empty list stops).
    pub fn follow_renamed(&self, data_source_id: &str, renamed: Vec<Renamed>) {
        self.renames.follow(data_source_id, renamed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn renames() -> Renames {
        let r = Renames::default();
        r.follow(
            "ds",
            vec![Renamed {
                expected: "Tracked On".into(),
                id: "a%3Bb".into(),
                actual: "Where".into(),
            }],
        );
        r
    }

    #[test]
    fn requests_carry_the_id_and_answers_the_expected_name() {
        let r = renames();
        let mut props = json!({"Tracked On": {"rich_text": []}, "Owner": {"people": []}});
        r.outgoing("ds", &mut props);
        assert_eq!(
            props,
            json!({"a%3Bb": {"rich_text": []}, "Owner": {"people": []}})
        );
        let mut other = json!({"Tracked On": {"rich_text": []}});
        r.outgoing("other", &mut other);
        assert_eq!(other, json!({"Tracked On": {"rich_text": []}}));

        let mut filter = json!({"or": [{"property": "Tracked On", "rich_text": {"equals": "x"}},
                                       {"property": "Event Name", "title": {"equals": "y"}}]});
        r.outgoing_filter("ds", &mut filter);
        assert_eq!(filter["or"][0]["property"], "a%3Bb");
        assert_eq!(filter["or"][1]["property"], "Event Name");

        let mut page = json!({"Where": {"id": "a%3Bb", "type": "rich_text"}, "Event Name": {}})
            .as_object()
            .cloned()
            .unwrap();
        r.incoming_page(Some("ds"), "p1", &mut page);
        assert!(page.contains_key("Tracked On") && !page.contains_key("Where"));
        // An update names only the page: its data source is remembered.
        assert_eq!(r.source_of_page("p1").as_deref(), Some("ds"));
        let mut again = json!({"Where": {}}).as_object().cloned().unwrap();
        r.incoming_page(None, "p1", &mut again);
        assert!(again.contains_key("Tracked On"));
    }

    #[test]
    fn a_property_already_named_as_expected_is_left_alone() {
        let r = renames();
        let mut schema = json!({"Where": {"id": "a%3Bb"}, "Tracked On": {"id": "zz"}})
            .as_object()
            .cloned()
            .unwrap();
        r.incoming_schema("ds", &mut schema);
        assert_eq!(schema["Tracked On"]["id"], "zz");
        assert_eq!(schema["Where"]["id"], "a%3Bb");
    }
}
