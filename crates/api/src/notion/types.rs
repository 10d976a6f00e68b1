//! Notion objects as kodo uses them (2025-09-03 shapes), and their decoding from raw JSON.
//!
//! Invariants: decoding tolerates missing and extra fields (Notion adds fields over time and the
//! doc examples omit some); page property values are kept raw (kodo's model decodes them);
//! `in_trash` falls back to the deprecated `archived` flag.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A row (or any page). Property values are Notion's raw JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// Page id.
    pub id: String,
    /// ISO-8601 creation time (Notion rounds it to the minute).
    pub created_time: String,
    /// ISO-8601 last edit time (rounded to the minute).
    pub last_edited_time: String,
    /// Whether the page is in the trash.
    pub in_trash: bool,
    /// The page's notion.so URL.
    pub url: String,
    /// Property name → raw property value (`{"id","type","<type>": ...}`).
    pub properties: Map<String, Value>,
}

/// A reference to one data source of a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSourceRef {
    /// Data-source id.
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
}

/// A database (the container; under 2025-09-03 its schema lives on its data sources).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    /// Database id (the one in the page URL).
    pub id: String,
    /// Plain-text title.
    pub title: String,
    /// Its data sources.
    pub data_sources: Vec<DataSourceRef>,
    /// Plain-text description.
    pub description: String,
    /// The page it sits in, when its parent is a page.
    pub parent_page_id: Option<String>,
    /// Whether it is in the trash.
    pub in_trash: bool,
    /// ISO-8601 creation time.
    pub created_time: String,
}

/// One property of a data source's schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertySchema {
    /// Property id (stable across renames).
    pub id: String,
    /// Notion's type name: `"title"`, `"rich_text"`, `"select"`, …
    pub kind: String,
    /// Option names, for `select`, `multi_select` and `status` properties.
    pub options: Vec<String>,
}

/// A data source: the table kodo reads and writes rows in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSource {
    /// Data-source id.
    pub id: String,
    /// The database it belongs to.
    pub database_id: String,
    /// Plain-text title.
    pub title: String,
    /// Property name → schema.
    pub properties: BTreeMap<String, PropertySchema>,
}

/// A workspace member or bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// User id.
    pub id: String,
    /// Display name (empty when Notion gives none).
    pub name: String,
    /// E-mail, when the integration may read e-mails and the user is a person.
    pub email: Option<String>,
    /// Whether this is a bot (an integration).
    pub is_bot: bool,
}

/// The result of listing users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsersAccess {
    /// Every user Notion returned, all pages.
    Users(Vec<User>),
    /// The integration lacks the "read user information" capability (HTTP 403).
    NotAllowed,
}

/// How a row was obtained by [`crate::NotionClient::create_page`].
#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    /// The create succeeded (possibly confirmed by reading the committed id back).
    Created(Page),
    /// The create's outcome was unknown and the row turned out to exist already.
    Recovered(Page),
    /// Another writer created the row since its key was seen missing: nothing was created.
    Existing(Page),
}

impl CreateOutcome {
    /// The row, however it was obtained.
    pub fn page(&self) -> &Page {
        match self {
            CreateOutcome::Created(p)
            | CreateOutcome::Recovered(p)
            | CreateOutcome::Existing(p) => p,
        }
    }

    /// The row, however it was obtained.
    pub fn into_page(self) -> Page {
        match self {
            CreateOutcome::Created(p)
            | CreateOutcome::Recovered(p)
            | CreateOutcome::Existing(p) => p,
        }
    }
}

/// The type of a row's sync-key property, which decides the query filter used to find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// A `title` property.
    Title,
    /// A `rich_text` property.
    RichText,
    /// A `number` property.
    Number,
}

impl KeyType {
    /// Notion's filter/type name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Title => "title",
            KeyType::RichText => "rich_text",
            KeyType::Number => "number",
        }
    }
}

/// Identifies a row by its sync key, so an unknown create outcome can be settled by a query.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyLookup {
    /// Property name (e.g. `"Event Name"`).
    pub property: String,
    /// Its type.
    pub filter_type: KeyType,
    /// The key's value: a string for title/rich text, a number for number.
    pub value: Value,
}

impl KeyLookup {
    /// The query filter matching rows with this key (Notion's `equals` is case-sensitive).
    pub fn filter(&self) -> Value {
        let mut f = Map::new();
        f.insert("property".into(), Value::String(self.property.clone()));
        f.insert(
            self.filter_type.as_str().into(),
            serde_json::json!({ "equals": self.value }),
        );
        Value::Object(f)
    }
}

// ---- raw shapes -------------------------------------------------------------------------------

#[derive(Deserialize)]
pub(crate) struct RawPage {
    id: String,
    #[serde(default)]
    created_time: String,
    #[serde(default)]
    last_edited_time: String,
    #[serde(default)]
    in_trash: Option<bool>,
    #[serde(default)]
    archived: Option<bool>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    properties: Map<String, Value>,
    #[serde(default)]
    parent: Value,
}

impl RawPage {
    /// Its data source (when its parent is one), its id, and its properties.
    pub(crate) fn parts_mut(&mut self) -> (Option<String>, &str, &mut Map<String, Value>) {
        let ds = self
            .parent
            .get("data_source_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        (ds, &self.id, &mut self.properties)
    }
}

impl From<RawPage> for Page {
    fn from(r: RawPage) -> Self {
        Page {
            id: r.id,
            created_time: r.created_time,
            last_edited_time: r.last_edited_time,
            in_trash: r.in_trash.or(r.archived).unwrap_or(false),
            url: r.url.unwrap_or_default(),
            properties: r.properties,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawDatabase {
    id: String,
    #[serde(default)]
    title: Vec<Value>,
    #[serde(default)]
    data_sources: Vec<DataSourceRef>,
    #[serde(default)]
    description: Vec<Value>,
    #[serde(default)]
    parent: Value,
    #[serde(default)]
    in_trash: Option<bool>,
    #[serde(default)]
    archived: Option<bool>,
    #[serde(default)]
    created_time: String,
}

impl From<RawDatabase> for Database {
    fn from(r: RawDatabase) -> Self {
        Database {
            id: r.id,
            title: plain_text(&r.title),
            data_sources: r.data_sources,
            description: plain_text(&r.description),
            parent_page_id: r
                .parent
                .get("page_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            in_trash: r.in_trash.or(r.archived).unwrap_or(false),
            created_time: r.created_time,
        }
    }
}

/// A search result: only what finding a database by title needs (`object: "data_source"`
/// results carry `parent.database_id` and the database's own parent as `database_parent`).
#[derive(Deserialize)]
pub(crate) struct RawSearchHit {
    #[serde(default)]
    pub(crate) object: String,
    #[serde(default)]
    pub(crate) parent: Value,
    #[serde(default)]
    pub(crate) database_parent: Value,
}

#[derive(Deserialize)]
pub(crate) struct RawDataSource {
    id: String,
    #[serde(default)]
    title: Vec<Value>,
    #[serde(default)]
    parent: Value,
    #[serde(default)]
    properties: Map<String, Value>,
}

impl RawDataSource {
    /// Its id and its properties' schema.
    pub(crate) fn parts_mut(&mut self) -> (&str, &mut Map<String, Value>) {
        (&self.id, &mut self.properties)
    }
}

impl From<RawDataSource> for DataSource {
    fn from(r: RawDataSource) -> Self {
        let properties = r
            .properties
            .iter()
            .map(|(name, p)| {
                let kind = p
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let options = p
                    .get(&kind)
                    .and_then(|c| c.get("options"))
                    .and_then(Value::as_array)
                    .map(|opts| {
                        opts.iter()
                            .filter_map(|o| o.get("name").and_then(Value::as_str))
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                let id = p.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
                (name.clone(), PropertySchema { id, kind, options })
            })
            .collect();
        DataSource {
            id: r.id,
            database_id: r
                .parent
                .get("database_id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            title: plain_text(&r.title),
            properties,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawUser {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    person: Option<RawPerson>,
}

#[derive(Deserialize)]
struct RawPerson {
    #[serde(default)]
    email: Option<String>,
}

impl From<RawUser> for User {
    fn from(r: RawUser) -> Self {
        User {
            id: r.id,
            name: r.name.unwrap_or_default(),
            email: r.person.and_then(|p| p.email).filter(|e| !e.is_empty()),
            is_bot: r.kind.as_deref() == Some("bot"),
        }
    }
}

/// One page of a paginated list (`/v1/users`, query).
#[derive(Deserialize)]
pub(crate) struct RawList<T> {
    #[serde(default = "Vec::new")]
    pub(crate) results: Vec<T>,
    #[serde(default)]
    pub(crate) next_cursor: Option<String>,
    #[serde(default)]
    pub(crate) has_more: bool,
    #[serde(default)]
    pub(crate) request_status: Option<RequestStatus>,
}

#[derive(Deserialize)]
pub(crate) struct RequestStatus {
    #[serde(rename = "type", default)]
    pub(crate) kind: String,
}

pub use crate::types::notion::plain_text;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn example(text: &str) -> Value {
        serde_json::from_str::<Value>(text).unwrap()["response"].clone()
    }

    #[test]
    fn data_source_schema_is_decoded_with_options_and_parent() {
        let raw = json!({
            "object": "data_source", "id": "ds1",
            "title": [{"type": "text", "text": {"content": "Events"}, "plain_text": "Events"}],
            "parent": {"type": "database_id", "database_id": "db1"},
            "properties": {
                "Event Name": {"id": "title", "name": "Event Name", "type": "title", "title": {}},
                "Status": {"id": "a%3Bc", "name": "Status", "type": "select",
                    "select": {"options": [{"id": "1", "name": "planned", "color": "gray"},
                                           {"id": "2", "name": "implemented", "color": "green"}]}}
            },
            "unexpected": true
        });
        let ds: DataSource = serde_json::from_value::<RawDataSource>(raw).unwrap().into();
        assert_eq!(ds.database_id, "db1");
        assert_eq!(ds.title, "Events");
        assert_eq!(ds.properties["Event Name"].kind, "title");
        assert_eq!(
            ds.properties["Status"].options,
            vec!["planned", "implemented"]
        );
        assert_eq!(ds.properties["Status"].id, "a%3Bc");
    }

    #[test]
    fn real_examples_decode() {
        let ds = example(include_str!(
            "../../tests/fixtures/notion.data_source.retrieve.response.json"
        ));
        let ds: DataSource = serde_json::from_value::<RawDataSource>(ds).unwrap().into();
        assert_eq!(ds.properties["Name"].kind, "title");
        assert!(!ds.database_id.is_empty());

        let db = example(include_str!(
            "../../tests/fixtures/notion.database.retrieve.response.json"
        ));
        let db: Database = serde_json::from_value::<RawDatabase>(db).unwrap().into();
        assert_eq!(db.title, "My Task Tracker");
        assert_eq!(db.data_sources.len(), 1);

        let users = example(include_str!(
            "../../tests/fixtures/notion.users.list.response.json"
        ));
        let list: RawList<RawUser> = serde_json::from_value(users).unwrap();
        assert!(list.has_more);
        let users: Vec<User> = list.results.into_iter().map(User::from).collect();
        assert_eq!(users[0].email.as_deref(), Some("avo@example.org"));
        assert!(!users[0].is_bot);
        assert!(users[1].is_bot);
        assert_eq!(users[1].email, None);

        let q = example(include_str!(
            "../../tests/fixtures/notion.data_source.query.response.json"
        ));
        let list: RawList<RawPage> = serde_json::from_value(q).unwrap();
        assert!(!list.results.is_empty());
        assert!(list.results.iter().all(|p| !p.id.is_empty()));
    }

    #[test]
    fn page_falls_back_to_archived_and_keeps_raw_properties() {
        let raw = json!({"id": "p1", "created_time": "2025-01-01T00:00:00.000Z",
            "last_edited_time": "2025-01-01T00:00:00.000Z", "archived": true,
            "properties": {"Done": {"id": "x", "type": "checkbox", "checkbox": true}}});
        let page: Page = serde_json::from_value::<RawPage>(raw).unwrap().into();
        assert!(page.in_trash);
        assert_eq!(page.properties["Done"]["checkbox"], json!(true));
        assert_eq!(page.url, "");
    }

    #[test]
    fn key_lookup_builds_an_equals_filter_of_the_right_type() {
        let k = KeyLookup {
            property: "ID".into(),
            filter_type: KeyType::Number,
            value: json!(42),
        };
        assert_eq!(
            k.filter(),
            json!({"property": "ID", "number": {"equals": 42}})
        );
        let k = KeyLookup {
            property: "Flag Key".into(),
            filter_type: KeyType::Title,
            value: json!("new_checkout"),
        };
        assert_eq!(
            k.filter(),
            json!({"property": "Flag Key", "title": {"equals": "new_checkout"}})
        );
    }
}
