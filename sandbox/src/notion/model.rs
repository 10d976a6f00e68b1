//! The Notion workspace held in memory, and how each object reads back over the API.
//!
//! Invariants:
//! - every id is a dashed lower-case UUID (see [`crate::ids`]);
//! - a data source has exactly one `title` property, whose id is `"title"`;
//! - page values are keyed by property id (stable across renames) and select values hold
//!   option ids, so renaming a property or an option never loses data;
//! - pages keep exact creation instants and a creation sequence number; only rendering
//!   rounds timestamps to the minute.

use std::collections::{BTreeMap, HashMap};

use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::{clock, ids};

/// Items of title, rich_text and people values that page reads return.
pub const READ_ITEM_LIMIT: usize = 25;

/// The colours Notion accepts for select options.
pub const COLORS: &[&str] = &[
    "default", "gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red",
];

/// What the integration may learn about users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UserAccess {
    /// "Read user information including email addresses".
    #[default]
    WithEmail,
    /// "Read user information without email addresses".
    WithoutEmail,
    /// No user-information capability: `GET /v1/users` answers 403.
    None,
}

/// A workspace member or the integration's bot.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub name: String,
    pub avatar_url: Option<String>,
    /// `Some(email)` for people, `None` for the bot.
    pub email: Option<String>,
    pub is_bot: bool,
    /// A guest: not listed by `GET /v1/users` ("Guests are not included in the response",
    /// https://developers.notion.com/reference/get-users), but returned by
    /// `GET /v1/users/{id}` and shown in full in People values.
    pub guest: bool,
}

/// One run of rich text (only `text` runs are emulated).
#[derive(Debug, Clone, PartialEq)]
pub struct RichText {
    pub content: String,
    pub link: Option<String>,
    pub annotations: Annotations,
}

/// Text styling of a rich text run.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotations {
    pub bold: bool,
    pub italic: bool,
    pub strikethrough: bool,
    pub underline: bool,
    pub code: bool,
    pub color: String,
}

impl Default for Annotations {
    fn default() -> Self {
        Annotations {
            bold: false,
            italic: false,
            strikethrough: false,
            underline: false,
            code: false,
            color: "default".into(),
        }
    }
}

impl RichText {
    /// Plain, unstyled text.
    pub fn plain(content: &str) -> Self {
        RichText {
            content: content.to_string(),
            link: None,
            annotations: Annotations::default(),
        }
    }

    /// The read shape.
    pub fn to_json(&self) -> Value {
        let a = &self.annotations;
        json!({
            "type": "text",
            "text": {
                "content": self.content,
                "link": self.link.as_ref().map(|url| json!({"url": url})),
            },
            "annotations": {
                "bold": a.bold,
                "italic": a.italic,
                "strikethrough": a.strikethrough,
                "underline": a.underline,
                "code": a.code,
                "color": a.color,
            },
            "plain_text": self.content,
            // A relative link to a Notion page has its absolute form in `href`.
            "href": self.link.as_ref().map(|l| if l.starts_with('/') {
                format!("https://www.notion.so{l}")
            } else {
                l.clone()
            }),
        })
    }
}

/// Concatenated plain text of rich text runs.
pub fn plain_text(runs: &[RichText]) -> String {
    runs.iter().map(|r| r.content.as_str()).collect()
}

/// Rich text runs in their read shape.
pub fn rich_text_json(runs: &[RichText]) -> Value {
    Value::Array(runs.iter().map(RichText::to_json).collect())
}

/// A select or multi-select option of a schema.
#[derive(Debug, Clone)]
pub struct SelectOption {
    pub id: String,
    pub name: String,
    pub color: String,
    pub description: Option<String>,
}

/// The type of a data source property and its configuration.
#[derive(Debug, Clone)]
pub enum PropKind {
    Title,
    RichText,
    Number { format: String },
    Select { options: Vec<SelectOption> },
    MultiSelect { options: Vec<SelectOption> },
    People,
    Date,
    Checkbox,
    Url,
    Email,
    PhoneNumber,
    CreatedTime,
    LastEditedTime,
    CreatedBy,
    LastEditedBy,
}

impl PropKind {
    /// Notion's type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            PropKind::Title => "title",
            PropKind::RichText => "rich_text",
            PropKind::Number { .. } => "number",
            PropKind::Select { .. } => "select",
            PropKind::MultiSelect { .. } => "multi_select",
            PropKind::People => "people",
            PropKind::Date => "date",
            PropKind::Checkbox => "checkbox",
            PropKind::Url => "url",
            PropKind::Email => "email",
            PropKind::PhoneNumber => "phone_number",
            PropKind::CreatedTime => "created_time",
            PropKind::LastEditedTime => "last_edited_time",
            PropKind::CreatedBy => "created_by",
            PropKind::LastEditedBy => "last_edited_by",
        }
    }

    /// Whether pages can write this property.
    pub fn is_writable(&self) -> bool {
        !matches!(
            self,
            PropKind::CreatedTime
                | PropKind::LastEditedTime
                | PropKind::CreatedBy
                | PropKind::LastEditedBy
        )
    }

    /// The options of a select or multi-select property.
    pub fn options(&self) -> Option<&[SelectOption]> {
        match self {
            PropKind::Select { options } | PropKind::MultiSelect { options } => Some(options),
            _ => None,
        }
    }

    /// Mutable options of a select or multi-select property.
    pub fn options_mut(&mut self) -> Option<&mut Vec<SelectOption>> {
        match self {
            PropKind::Select { options } | PropKind::MultiSelect { options } => Some(options),
            _ => None,
        }
    }
}

/// Every type name the sandbox emulates.
pub const KNOWN_TYPES: &[&str] = &[
    "title",
    "rich_text",
    "number",
    "select",
    "multi_select",
    "people",
    "date",
    "checkbox",
    "url",
    "email",
    "phone_number",
    "created_time",
    "last_edited_time",
    "created_by",
    "last_edited_by",
];

/// Real Notion types the sandbox does not emulate (rejected with a clear message).
pub const UNEMULATED_TYPES: &[&str] = &[
    "status",
    "formula",
    "relation",
    "rollup",
    "files",
    "unique_id",
    "verification",
    "button",
    "place",
    "location",
];

/// One property of a data source schema.
#[derive(Debug, Clone)]
pub struct PropertyDef {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub kind: PropKind,
}

impl PropertyDef {
    /// The schema read shape.
    pub fn to_json(&self) -> Value {
        let config = match &self.kind {
            PropKind::Number { format } => json!({ "format": format }),
            PropKind::Select { options } | PropKind::MultiSelect { options } => json!({
                "options": options.iter().map(|o| json!({
                    "id": o.id, "name": o.name, "color": o.color, "description": o.description,
                })).collect::<Vec<_>>()
            }),
            _ => json!({}),
        };
        let type_name = self.kind.type_name();
        let mut map = Map::new();
        map.insert("id".into(), json!(self.id));
        map.insert("name".into(), json!(self.name));
        map.insert("description".into(), json!(self.description));
        map.insert("type".into(), json!(type_name));
        map.insert(type_name.into(), config);
        Value::Object(map)
    }
}

/// A date value as stored (`start` validated ISO 8601).
#[derive(Debug, Clone, PartialEq)]
pub struct DateValue {
    pub start: String,
    pub end: Option<String>,
    pub time_zone: Option<String>,
}

/// A page's value for one property.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredValue {
    Text(Vec<RichText>),
    Number(Option<serde_json::Number>),
    Select(Option<String>),
    MultiSelect(Vec<String>),
    People(Vec<String>),
    Date(Option<DateValue>),
    Checkbox(bool),
    Url(Option<String>),
    Email(Option<String>),
    Phone(Option<String>),
}

/// Where a page lives.
#[derive(Debug, Clone, PartialEq)]
pub enum PageParent {
    Workspace,
    Page(String),
    DataSource(String),
}

/// A page: a database row or a plain page.
#[derive(Debug, Clone)]
pub struct Page {
    pub id: String,
    pub parent: PageParent,
    pub created: OffsetDateTime,
    pub edited: OffsetDateTime,
    pub seq: u64,
    pub created_by: String,
    pub last_edited_by: String,
    pub in_trash: bool,
    pub is_archived: bool,
    pub is_locked: bool,
    pub icon: Value,
    pub cover: Value,
    /// Values keyed by property id; a plain page keeps its title under `"title"`.
    pub values: BTreeMap<String, StoredValue>,
    /// Whether the integration can see the page (scenario pages may be unshared).
    pub shared: bool,
    /// Block children sent on create, kept for inspection only.
    pub children: Vec<Value>,
}

/// Where a block lives: directly on a page, or under another block.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockParent {
    Page(String),
    Block(String),
}

/// A block of page content (`child_page` and `child_database` are pages and databases,
/// not stored here).
#[derive(Debug, Clone)]
pub struct Block {
    pub id: String,
    pub parent: BlockParent,
    /// The block type (`paragraph`, `heading_2`, `table_row`, …).
    pub kind: String,
    /// The type's object in its read shape, without children.
    pub content: Value,
    pub created: OffsetDateTime,
    pub edited: OffsetDateTime,
    pub created_by: String,
    pub last_edited_by: String,
    pub in_trash: bool,
}

/// A database: a container of data sources.
#[derive(Debug, Clone)]
pub struct Database {
    pub id: String,
    pub title: Vec<RichText>,
    pub description: Vec<RichText>,
    pub parent_page: String,
    pub is_inline: bool,
    pub in_trash: bool,
    pub is_locked: bool,
    pub created: OffsetDateTime,
    pub edited: OffsetDateTime,
    pub created_by: String,
    pub last_edited_by: String,
    pub data_sources: Vec<String>,
    pub icon: Value,
    pub cover: Value,
}

/// A data source: a schema plus its rows.
#[derive(Debug, Clone)]
pub struct DataSource {
    pub id: String,
    pub database_id: String,
    pub title: Vec<RichText>,
    pub description: Vec<RichText>,
    pub properties: Vec<PropertyDef>,
    pub created: OffsetDateTime,
    pub edited: OffsetDateTime,
    pub created_by: String,
    pub last_edited_by: String,
    pub in_trash: bool,
}

impl DataSource {
    /// The property a request key names: its name first, then its id (raw or URL-decoded).
    pub fn property(&self, key: &str) -> Option<&PropertyDef> {
        self.properties
            .iter()
            .find(|p| p.name == key)
            .or_else(|| self.properties.iter().find(|p| p.id == key))
            .or_else(|| {
                self.properties
                    .iter()
                    .find(|p| percent_decode(&p.id) == key)
            })
    }

    /// The property with this id.
    pub fn property_by_id(&self, id: &str) -> Option<&PropertyDef> {
        self.properties.iter().find(|p| p.id == id)
    }
}

/// Decodes `%XX` escapes (property ids are URL-encoded).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A pagination cursor handed out by a list endpoint.
#[derive(Debug, Clone)]
pub struct Cursor {
    /// What was listed (`ds:<id>`, `search`, `users`).
    pub scope: String,
    /// Id of the first item of the next page.
    pub next_id: String,
}

/// The whole Notion side of the sandbox.
#[derive(Debug)]
pub struct NotionStore {
    pub token: crate::secret::Token,
    pub workspace_name: String,
    pub workspace_id: String,
    pub bot: User,
    /// Members and guests.
    pub users: Vec<User>,
    /// People removed from the workspace. Nothing of the API returns them: not the user list,
    /// not `GET /v1/users/{id}` (404), and a People value that names one shows only
    /// `{"object": "user", "id"}` (a removed member appears in page properties as a partial
    /// user: stevieflyer/pydantic-api-models-notion PRs #17 and #18, ultimate-notion issue
    /// #39). Kept for the admin state.
    pub removed_users: Vec<User>,
    pub user_access: UserAccess,
    pub pages: HashMap<String, Page>,
    pub databases: HashMap<String, Database>,
    pub data_sources: HashMap<String, DataSource>,
    pub cursors: HashMap<String, Cursor>,
    /// Page content blocks by id.
    pub blocks: HashMap<String, Block>,
    /// The children created through the API of each page or block, in order (pages,
    /// databases and blocks alike; see `blocks::child_ids`).
    pub child_order: HashMap<String, Vec<String>>,
    pub seq: u64,
    pub rng: StdRng,
    pub query_row_cap: usize,
    /// [`crate::Options::query_incomplete_only_page`].
    pub query_incomplete_only_page: Option<usize>,
}

impl NotionStore {
    /// Removes a person from the workspace, as a workspace owner does: pages keep the id in
    /// their People values. `false` when no such person is in the workspace.
    pub fn remove_user(&mut self, id: &str) -> bool {
        match self.users.iter().position(|u| u.id == id) {
            Some(at) => {
                let user = self.users.remove(at);
                self.removed_users.push(user);
                true
            }
            None => false,
        }
    }

    /// Next creation sequence number.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A user of the workspace (member, guest or the bot) by id; never a removed one.
    pub fn user(&self, id: &str) -> Option<&User> {
        if self.bot.id == id {
            return Some(&self.bot);
        }
        self.users.iter().find(|u| u.id == id)
    }

    /// A shared page, trashed or not.
    pub fn visible_page(&self, id: &str) -> Option<&Page> {
        self.pages.get(id).filter(|p| p.shared)
    }

    /// A person as a page value or list entry shows it, within the access granted.
    pub fn user_json(&self, user: &User) -> Value {
        if self.user_access == UserAccess::None {
            return json!({"object": "user", "id": user.id});
        }
        if user.is_bot {
            return json!({
                "object": "user",
                "id": user.id,
                "name": user.name,
                "avatar_url": user.avatar_url,
                "type": "bot",
                "bot": {},
            });
        }
        let person = match (&user.email, self.user_access) {
            (Some(email), UserAccess::WithEmail) => json!({ "email": email }),
            _ => json!({}),
        };
        json!({
            "object": "user",
            "id": user.id,
            "name": user.name,
            "avatar_url": user.avatar_url,
            "type": "person",
            "person": person,
        })
    }

    /// `GET /v1/users/me`.
    pub fn bot_json(&self) -> Value {
        json!({
            "object": "user",
            "id": self.bot.id,
            "name": self.bot.name,
            "avatar_url": self.bot.avatar_url,
            "type": "bot",
            "bot": {
                "owner": {"type": "workspace", "workspace": true},
                "workspace_name": self.workspace_name,
                "workspace_id": self.workspace_id,
                "workspace_limits": {"max_file_upload_size_in_bytes": 5_242_880},
            },
        })
    }

    fn user_ref(id: &str) -> Value {
        json!({"object": "user", "id": id})
    }

    /// The page read shape. `truncate` applies the 25-item limit of page reads.
    pub fn page_json(&self, page: &Page, truncate: bool) -> Value {
        let limit = |n: usize| if truncate { n.min(READ_ITEM_LIMIT) } else { n };
        let mut properties = Map::new();
        let (parent, title_runs) = match &page.parent {
            PageParent::DataSource(ds_id) => {
                let ds = self.data_sources.get(ds_id);
                if let Some(ds) = ds {
                    for def in &ds.properties {
                        properties.insert(
                            def.name.clone(),
                            self.value_json(def, page.values.get(&def.id), page, &limit),
                        );
                    }
                }
                let title = ds
                    .and_then(|ds| ds.properties.iter().find(|p| p.id == "title"))
                    .and_then(|p| page.values.get(&p.id));
                (
                    json!({
                        "type": "data_source_id",
                        "data_source_id": ds_id,
                        "database_id": ds.map(|d| d.database_id.clone()),
                    }),
                    title.cloned(),
                )
            }
            other => {
                let title = page.values.get("title").cloned();
                let runs = match &title {
                    Some(StoredValue::Text(runs)) => runs.clone(),
                    _ => Vec::new(),
                };
                properties.insert(
                    "title".into(),
                    json!({
                        "id": "title",
                        "type": "title",
                        "title": rich_text_json(&runs[..limit(runs.len())]),
                    }),
                );
                let parent = match other {
                    PageParent::Page(id) => json!({"type": "page_id", "page_id": id}),
                    _ => json!({"type": "workspace", "workspace": true}),
                };
                (parent, title)
            }
        };
        let title_text = match title_runs {
            Some(StoredValue::Text(runs)) => plain_text(&runs),
            _ => String::new(),
        };
        json!({
            "object": "page",
            "id": page.id,
            "created_time": clock::notion(page.created),
            "last_edited_time": clock::notion(page.edited),
            "created_by": Self::user_ref(&page.created_by),
            "last_edited_by": Self::user_ref(&page.last_edited_by),
            "cover": page.cover,
            "icon": page.icon,
            "parent": parent,
            "in_trash": page.in_trash,
            "archived": page.in_trash,
            "is_archived": page.is_archived,
            "is_locked": page.is_locked,
            "properties": properties,
            "url": notion_url(&title_text, &page.id),
            "public_url": Value::Null,
        })
    }

    fn value_json(
        &self,
        def: &PropertyDef,
        value: Option<&StoredValue>,
        page: &Page,
        limit: &dyn Fn(usize) -> usize,
    ) -> Value {
        let type_name = def.kind.type_name();
        let inner = match (&def.kind, value) {
            (PropKind::Title | PropKind::RichText, Some(StoredValue::Text(runs))) => {
                rich_text_json(&runs[..limit(runs.len())])
            }
            (PropKind::Title | PropKind::RichText, _) => json!([]),
            (PropKind::Number { .. }, Some(StoredValue::Number(Some(n)))) => json!(n),
            (PropKind::Select { options }, Some(StoredValue::Select(Some(id)))) => options
                .iter()
                .find(|o| &o.id == id)
                .map(|o| json!({"id": o.id, "name": o.name, "color": o.color}))
                .unwrap_or(Value::Null),
            (PropKind::MultiSelect { options }, Some(StoredValue::MultiSelect(ids))) => {
                Value::Array(
                    ids.iter()
                        .filter_map(|id| options.iter().find(|o| &o.id == id))
                        .map(|o| json!({"id": o.id, "name": o.name, "color": o.color}))
                        .collect(),
                )
            }
            (PropKind::MultiSelect { .. }, _) => json!([]),
            (PropKind::People, Some(StoredValue::People(ids))) => Value::Array(
                ids[..limit(ids.len())]
                    .iter()
                    .map(|id| match self.user(id) {
                        Some(user) => self.user_json(user),
                        None => Self::user_ref(id),
                    })
                    .collect(),
            ),
            (PropKind::People, _) => json!([]),
            (PropKind::Date, Some(StoredValue::Date(Some(d)))) => {
                json!({"start": d.start, "end": d.end, "time_zone": d.time_zone})
            }
            (PropKind::Checkbox, Some(StoredValue::Checkbox(b))) => json!(b),
            (PropKind::Checkbox, _) => json!(false),
            (PropKind::Url, Some(StoredValue::Url(Some(u))))
            | (PropKind::Email, Some(StoredValue::Email(Some(u))))
            | (PropKind::PhoneNumber, Some(StoredValue::Phone(Some(u)))) => json!(u),
            (PropKind::CreatedTime, _) => json!(clock::notion(page.created)),
            (PropKind::LastEditedTime, _) => json!(clock::notion(page.edited)),
            (PropKind::CreatedBy, _) => match self.user(&page.created_by) {
                Some(user) => self.user_json(user),
                None => Self::user_ref(&page.created_by),
            },
            (PropKind::LastEditedBy, _) => match self.user(&page.last_edited_by) {
                Some(user) => self.user_json(user),
                None => Self::user_ref(&page.last_edited_by),
            },
            _ => Value::Null,
        };
        let mut map = Map::new();
        map.insert("id".into(), json!(def.id));
        map.insert("type".into(), json!(type_name));
        map.insert(type_name.into(), inner);
        Value::Object(map)
    }

    /// The database read shape (no properties: those live on the data source).
    pub fn database_json(&self, db: &Database) -> Value {
        json!({
            "object": "database",
            "id": db.id,
            "title": rich_text_json(&db.title),
            "description": rich_text_json(&db.description),
            "parent": {"type": "page_id", "page_id": db.parent_page},
            "is_inline": db.is_inline,
            "in_trash": db.in_trash,
            "archived": db.in_trash,
            "is_locked": db.is_locked,
            "created_time": clock::notion(db.created),
            "last_edited_time": clock::notion(db.edited),
            "created_by": Self::user_ref(&db.created_by),
            "last_edited_by": Self::user_ref(&db.last_edited_by),
            "data_sources": db.data_sources.iter().filter_map(|id| self.data_sources.get(id)).map(|ds| json!({
                "id": ds.id,
                "name": plain_text(&ds.title),
            })).collect::<Vec<_>>(),
            "icon": db.icon,
            "cover": db.cover,
            "url": notion_url("", &db.id),
            "public_url": Value::Null,
        })
    }

    /// The data source read shape, with its schema.
    pub fn data_source_json(&self, ds: &DataSource) -> Value {
        let db = self.databases.get(&ds.database_id);
        let properties: Map<String, Value> = ds
            .properties
            .iter()
            .map(|p| (p.name.clone(), p.to_json()))
            .collect();
        json!({
            "object": "data_source",
            "id": ds.id,
            "title": rich_text_json(&ds.title),
            "description": rich_text_json(&ds.description),
            "parent": {"type": "database_id", "database_id": ds.database_id},
            "database_parent": {"type": "page_id", "page_id": db.map(|d| d.parent_page.clone())},
            "is_inline": db.is_some_and(|d| d.is_inline),
            "in_trash": ds.in_trash,
            "archived": ds.in_trash,
            "created_time": clock::notion(ds.created),
            "last_edited_time": clock::notion(ds.edited),
            "created_by": Self::user_ref(&ds.created_by),
            "last_edited_by": Self::user_ref(&ds.last_edited_by),
            "properties": properties,
            "icon": db.map(|d| d.icon.clone()).unwrap_or(Value::Null),
            "cover": db.map(|d| d.cover.clone()).unwrap_or(Value::Null),
            "url": notion_url("", &ds.id),
            "public_url": Value::Null,
        })
    }

    /// A fresh id from the seeded generator.
    pub fn new_id(&mut self) -> String {
        ids::random_uuid(&mut self.rng)
    }
}

/// `https://www.notion.so/<Title-Slug>-<id without dashes>`.
pub fn notion_url(title: &str, id: &str) -> String {
    let slug: Vec<&str> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if slug.is_empty() {
        format!("https://www.notion.so/{}", ids::compact(id))
    } else {
        format!(
            "https://www.notion.so/{}-{}",
            slug.join("-"),
            ids::compact(id)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_a_title_slug_and_the_compact_id() {
        assert_eq!(
            notion_url("Tuscan Kale!", "59833787-2cf9-4fdf-8782-e53db20768a5"),
            "https://www.notion.so/Tuscan-Kale-598337872cf94fdf8782e53db20768a5"
        );
        assert_eq!(
            notion_url("", "59833787-2cf9-4fdf-8782-e53db20768a5"),
            "https://www.notion.so/598337872cf94fdf8782e53db20768a5"
        );
    }

    #[test]
    fn percent_decoding_handles_property_ids() {
        assert_eq!(percent_decode("%3AUPp"), ":UPp");
        assert_eq!(percent_decode("A%40Hk"), "A@Hk");
        assert_eq!(percent_decode("title"), "title");
        assert_eq!(percent_decode("ab%"), "ab%");
    }
}
