//! The Notion endpoints (`/v1/...`): routing, request validation and the answers.
//!
//! Handlers run under the state lock and are synchronous. A handler validates the whole
//! request before it changes anything, so an error answer means nothing changed.
//! Unknown body keys are rejected the way Notion's validator does
//! (`body.X should be not present`).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::error::{quoted, NotionError};
use super::model::{
    plain_text, DataSource, Database, NotionStore, Page, PageParent, PropKind, PropertyDef,
    StoredValue, UserAccess,
};
use super::query::{self, PageRequest};
use super::values::{self, IdSource};
use crate::{clock, ids};

/// A successful answer.
#[derive(Debug)]
pub struct NotionOk {
    /// The JSON body (`request_id` is added by the server).
    pub body: Value,
    /// The id of an object this request created (page or database).
    pub created_id: Option<String>,
    /// Whether state changed.
    pub wrote: bool,
}

impl NotionOk {
    fn read(body: Value) -> Self {
        NotionOk {
            body,
            created_id: None,
            wrote: false,
        }
    }
    fn wrote(body: Value) -> Self {
        NotionOk {
            body,
            created_id: None,
            wrote: true,
        }
    }
}

/// Who makes a change: the integration (API) or a person in the app (admin API).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: String,
}

/// Whether a request to this path is a write (state-changing) request.
pub fn is_write(method: &str, segments: &[&str]) -> bool {
    match method {
        "PATCH" | "DELETE" | "PUT" => true,
        "POST" => !matches!(segments, ["search"] | ["data_sources", _, "query"]),
        _ => false,
    }
}

/// Routes one request.
pub fn handle(
    store: &mut NotionStore,
    actor: &Actor,
    method: &str,
    segments: &[&str],
    query: &[(String, String)],
    body: &[u8],
) -> Result<NotionOk, NotionError> {
    if let Some(result) = super::blocks::handle(store, actor, method, segments, query, body) {
        return result;
    }
    let parse = || parse_body(body);
    match (method, segments) {
        ("POST", ["databases"]) => create_database(store, actor, &parse()?),
        ("GET", ["databases", id]) => {
            let id = path_id(id, "database_id")?;
            let db = visible_database(store, &id)?;
            Ok(NotionOk::read(store.database_json(db)))
        }
        ("PATCH", ["databases", id]) => {
            update_database(store, actor, &path_id(id, "database_id")?, &parse()?)
        }
        ("GET", ["data_sources", id]) => {
            let id = path_id(id, "data_source_id")?;
            let ds = visible_data_source(store, &id)?;
            Ok(NotionOk::read(store.data_source_json(ds)))
        }
        ("PATCH", ["data_sources", id]) => {
            update_data_source_and_fill(store, actor, &path_id(id, "data_source_id")?, &parse()?)
        }
        ("POST", ["data_sources", id, "query"]) => {
            query_data_source(store, &path_id(id, "data_source_id")?, &parse()?, query)
        }
        ("POST", ["pages"]) => create_page(store, actor, &parse()?),
        ("GET", ["pages", id]) => {
            let id = path_id(id, "page_id")?;
            let page = store
                .visible_page(&id)
                .ok_or_else(|| NotionError::not_found("page", &id))?;
            let mut body = store.page_json(page, true);
            keep_properties(store, page, &mut body, query);
            Ok(NotionOk::read(body))
        }
        ("PATCH", ["pages", id]) => update_page(store, actor, &path_id(id, "page_id")?, &parse()?),
        ("POST", ["search"]) => search(store, &parse()?),
        ("GET", ["users"]) => list_users(store, query),
        ("GET", ["users", "me"]) => Ok(NotionOk::read(store.bot_json())),
        ("GET", ["users", id]) => {
            if store.user_access == UserAccess::None {
                return Err(NotionError::restricted());
            }
            let id = path_id(id, "user_id")?;
            let user = store
                .user(&id)
                .ok_or_else(|| NotionError::not_found("user", &id))?;
            Ok(NotionOk::read(store.user_json(user)))
        }
        _ => Err(NotionError::invalid_request_url()),
    }
}

/// Parses a JSON body; an empty body counts as `{}`.
pub fn parse_body(body: &[u8]) -> Result<Value, NotionError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| NotionError::invalid_json())?;
    if !value.is_object() {
        return Err(NotionError::body(
            "body",
            "an object",
            &quoted(Some(&value)),
        ));
    }
    Ok(value)
}

pub(crate) fn path_id(raw: &str, name: &str) -> Result<String, NotionError> {
    ids::normalize(raw).ok_or_else(|| {
        NotionError::validation(format!(
            "path failed validation: path.{name} should be a valid uuid, instead was `\"{raw}\"`."
        ))
    })
}

pub(crate) fn body_map(body: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    body.as_object()
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

pub(crate) fn only_keys(body: &Value, allowed: &[&str]) -> Result<(), NotionError> {
    for (key, value) in body_map(body) {
        if !allowed.contains(&key.as_str()) {
            return Err(NotionError::body(
                &format!("body.{key}"),
                "not present",
                &quoted(Some(value)),
            ));
        }
    }
    Ok(())
}

fn optional_bool(body: &Value, key: &str) -> Result<Option<bool>, NotionError> {
    match body_map(body).get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(NotionError::body(
            &format!("body.{key}"),
            "a boolean",
            &quoted(Some(other)),
        )),
    }
}

/// `in_trash`, with `archived` as its 2025-09-03 alias.
fn trash_flag(body: &Value) -> Result<Option<bool>, NotionError> {
    let in_trash = optional_bool(body, "in_trash")?;
    let archived = optional_bool(body, "archived")?;
    match (in_trash, archived) {
        (Some(a), Some(b)) if a != b => Err(NotionError::validation(
            "body failed validation: body.in_trash and body.archived should match when both are given.",
        )),
        (Some(a), _) | (None, Some(a)) => Ok(Some(a)),
        (None, None) => Ok(None),
    }
}

fn icon_or_cover(body: &Value, key: &str) -> Result<Option<Value>, NotionError> {
    match body_map(body).get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(Value::Null)),
        Some(Value::Object(map)) => {
            let mut out = map.clone();
            if !out.contains_key("type") {
                for kind in ["emoji", "external", "file", "custom_emoji", "file_upload"] {
                    if out.contains_key(kind) {
                        out.insert("type".into(), json!(kind));
                        break;
                    }
                }
            }
            if !out.contains_key("type") {
                return Err(NotionError::body(
                    &format!("body.{key}.type"),
                    "defined",
                    "`undefined`",
                ));
            }
            Ok(Some(Value::Object(out)))
        }
        Some(other) => Err(NotionError::body(
            &format!("body.{key}"),
            "an object or `null`",
            &quoted(Some(other)),
        )),
    }
}

fn optional_rich_text(
    body: &Value,
    key: &str,
) -> Result<Option<Vec<super::model::RichText>>, NotionError> {
    match body_map(body).get(key) {
        None => Ok(None),
        Some(v) => values::parse_rich_text(v, &format!("body.{key}")).map(Some),
    }
}

fn visible_database<'a>(store: &'a NotionStore, id: &str) -> Result<&'a Database, NotionError> {
    store
        .databases
        .get(id)
        .filter(|db| store.visible_page(&db.parent_page).is_some())
        .ok_or_else(|| NotionError::not_found("database", id))
}

fn visible_data_source<'a>(
    store: &'a NotionStore,
    id: &str,
) -> Result<&'a DataSource, NotionError> {
    store
        .data_sources
        .get(id)
        .filter(|ds| visible_database(store, &ds.database_id).is_ok())
        .ok_or_else(|| NotionError::not_found("data source", id))
}

fn parent_id(parent: &Map<String, Value>, key: &str) -> Result<String, NotionError> {
    let raw = parent.get(key);
    match raw.and_then(Value::as_str) {
        Some(text) => ids::normalize(text).ok_or_else(|| {
            NotionError::body(&format!("body.parent.{key}"), "a valid uuid", &quoted(raw))
        }),
        None => Err(NotionError::body(
            &format!("body.parent.{key}"),
            "defined",
            &quoted(raw),
        )),
    }
}

fn create_database(
    store: &mut NotionStore,
    actor: &Actor,
    body: &Value,
) -> Result<NotionOk, NotionError> {
    only_keys(
        body,
        &[
            "parent",
            "title",
            "description",
            "is_inline",
            "initial_data_source",
            "icon",
            "cover",
        ],
    )?;
    let map = body_map(body);
    let parent = match map.get("parent") {
        Some(Value::Object(p)) => p,
        other => {
            return Err(NotionError::body(
                "body.parent",
                "an object",
                &quoted(other),
            ))
        }
    };
    let parent_page = match parent.get("type").and_then(Value::as_str) {
        None | Some("page_id") => parent_id(parent, "page_id")?,
        Some("workspace") => {
            return Err(NotionError::validation(
                "Internal integrations cannot create databases at the workspace level: use a page parent shared with the integration.",
            ))
        }
        Some(_) => {
            return Err(NotionError::body(
                "body.parent.type",
                "`\"page_id\"` or `\"workspace\"`",
                &quoted(parent.get("type")),
            ))
        }
    };
    match store.visible_page(&parent_page) {
        Some(page) if !page.in_trash => {}
        _ => return Err(NotionError::not_found("page", &parent_page)),
    }
    let title = optional_rich_text(body, "title")?.unwrap_or_default();
    let description = optional_rich_text(body, "description")?.unwrap_or_default();
    let is_inline = optional_bool(body, "is_inline")?.unwrap_or(false);
    let icon = icon_or_cover(body, "icon")?.unwrap_or(Value::Null);
    let cover = icon_or_cover(body, "cover")?.unwrap_or(Value::Null);
    let default_properties = json!({"Name": {"title": {}}});
    let properties = match map.get("initial_data_source") {
        None => default_properties,
        Some(Value::Object(initial)) => {
            for (key, value) in initial {
                if !["properties", "title", "icon"].contains(&key.as_str()) {
                    return Err(NotionError::body(
                        &format!("body.initial_data_source.{key}"),
                        "not present",
                        &quoted(Some(value)),
                    ));
                }
            }
            initial
                .get("properties")
                .cloned()
                .unwrap_or(default_properties)
        }
        Some(other) => {
            return Err(NotionError::body(
                "body.initial_data_source",
                "an object",
                &quoted(Some(other)),
            ))
        }
    };
    let schema = values::build_schema(
        store,
        &properties,
        "body.initial_data_source.properties",
        &IdSource::Random,
    )?;
    let db_id = store.new_id();
    let ds_id = store.new_id();
    let now = clock::now();
    store.data_sources.insert(
        ds_id.clone(),
        DataSource {
            id: ds_id.clone(),
            database_id: db_id.clone(),
            title: title.clone(),
            description: Vec::new(),
            properties: schema,
            created: now,
            edited: now,
            created_by: actor.user_id.clone(),
            last_edited_by: actor.user_id.clone(),
            in_trash: false,
        },
    );
    let db = Database {
        id: db_id.clone(),
        title,
        description,
        parent_page,
        is_inline,
        in_trash: false,
        is_locked: false,
        created: now,
        edited: now,
        created_by: actor.user_id.clone(),
        last_edited_by: actor.user_id.clone(),
        data_sources: vec![ds_id],
        icon,
        cover,
    };
    let body = store.database_json(&db);
    // A database under a page is a `child_database` block of its parent.
    store
        .child_order
        .entry(db.parent_page.clone())
        .or_default()
        .push(db_id.clone());
    store.databases.insert(db_id.clone(), db);
    Ok(NotionOk {
        body,
        created_id: Some(db_id),
        wrote: true,
    })
}

fn update_database(
    store: &mut NotionStore,
    actor: &Actor,
    id: &str,
    body: &Value,
) -> Result<NotionOk, NotionError> {
    only_keys(
        body,
        &[
            "parent",
            "title",
            "description",
            "is_inline",
            "icon",
            "cover",
            "in_trash",
            "archived",
            "is_locked",
        ],
    )?;
    visible_database(store, id)?;
    if body_map(body).contains_key("parent") {
        return Err(NotionError::validation(
            "The kodo sandbox does not emulate moving databases (body.parent).",
        ));
    }
    let title = optional_rich_text(body, "title")?;
    let description = optional_rich_text(body, "description")?;
    let is_inline = optional_bool(body, "is_inline")?;
    let is_locked = optional_bool(body, "is_locked")?;
    let trash = trash_flag(body)?;
    let icon = icon_or_cover(body, "icon")?;
    let cover = icon_or_cover(body, "cover")?;
    let Some(db) = store.databases.get_mut(id) else {
        return Err(NotionError::not_found("database", id));
    };
    if let Some(title) = title {
        db.title = title;
    }
    if let Some(description) = description {
        db.description = description;
    }
    if let Some(v) = is_inline {
        db.is_inline = v;
    }
    if let Some(v) = is_locked {
        db.is_locked = v;
    }
    if let Some(v) = trash {
        db.in_trash = v;
    }
    if let Some(v) = icon {
        db.icon = v;
    }
    if let Some(v) = cover {
        db.cover = v;
    }
    db.edited = clock::now();
    db.last_edited_by = actor.user_id.clone();
    let db = db.clone();
    Ok(NotionOk::wrote(store.database_json(&db)))
}

fn update_data_source(
    store: &mut NotionStore,
    actor: &Actor,
    id: &str,
    body: &Value,
) -> Result<NotionOk, NotionError> {
    only_keys(
        body,
        &[
            "title",
            "description",
            "icon",
            "properties",
            "in_trash",
            "archived",
            "parent",
        ],
    )?;
    let ds = visible_data_source(store, id)?.clone();
    if body_map(body).contains_key("parent") {
        return Err(NotionError::validation(
            "The kodo sandbox does not emulate moving data sources (body.parent).",
        ));
    }
    let title = optional_rich_text(body, "title")?;
    let description = optional_rich_text(body, "description")?;
    let trash = trash_flag(body)?;
    let icon = icon_or_cover(body, "icon")?;
    let mut properties = ds.properties.clone();
    let mut removed_props: Vec<String> = Vec::new();
    let mut retyped_props: Vec<String> = Vec::new();
    if let Some(changes) = body_map(body).get("properties") {
        let changes = changes.as_object().ok_or_else(|| {
            NotionError::body("body.properties", "an object", &quoted(Some(changes)))
        })?;
        for (key, change) in changes {
            let path = format!("body.properties.{key}");
            let existing = properties
                .iter()
                .position(|p| p.name == *key)
                .or_else(|| properties.iter().position(|p| p.id == *key));
            if change.is_null() {
                let Some(index) = existing else {
                    return Err(NotionError::validation(format!(
                        "{key} is not a property that exists."
                    )));
                };
                if matches!(properties[index].kind, PropKind::Title) {
                    return Err(NotionError::validation(
                        "All data sources require exactly one title property.",
                    ));
                }
                removed_props.push(properties.remove(index).id);
                continue;
            }
            let spec = values::parse_property_spec(change, &path)?;
            match existing {
                Some(index) => {
                    let def = &mut properties[index];
                    if let Some(new_name) = &spec.rename {
                        def.name = new_name.clone();
                    }
                    if let Some(description) = &spec.description {
                        def.description = description.clone();
                    }
                    if let Some(type_name) = spec.type_name {
                        if type_name == def.kind.type_name() {
                            update_same_type(def, &spec, &path)?;
                        } else {
                            if matches!(def.kind, PropKind::Title) {
                                return Err(NotionError::validation(
                                    "The type of the title property cannot be changed.",
                                ));
                            }
                            let name = def.name.clone();
                            let kind = values::build_kind(store, &spec, &name, &IdSource::Random);
                            let def = &mut properties[index];
                            def.kind = kind;
                            retyped_props.push(def.id.clone());
                        }
                    }
                }
                None => {
                    if spec.type_name.is_none() {
                        return Err(NotionError::validation(format!(
                            "{key} is not a property that exists."
                        )));
                    }
                    let name = spec.rename.clone().unwrap_or_else(|| key.clone());
                    let kind = values::build_kind(store, &spec, &name, &IdSource::Random);
                    let id = loop {
                        let id = ids::random_property_id(&mut store.rng);
                        if !properties.iter().any(|p| p.id == id) {
                            break id;
                        }
                    };
                    properties.push(PropertyDef {
                        id,
                        name,
                        description: spec.description.clone().flatten(),
                        kind,
                    });
                }
            }
        }
        let mut names: Vec<&str> = properties.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(NotionError::validation(format!(
                "A property named {} already exists in this data source.",
                pair[0]
            )));
        }
        let titles = properties
            .iter()
            .filter(|p| matches!(p.kind, PropKind::Title))
            .count();
        if titles != 1 {
            return Err(NotionError::validation(
                "All data sources require exactly one title property.",
            ));
        }
    }
    // Everything validated: apply.
    let now = clock::now();
    for page in store.pages.values_mut() {
        if page.parent != PageParent::DataSource(id.to_string()) {
            continue;
        }
        for prop in removed_props.iter().chain(&retyped_props) {
            page.values.remove(prop);
        }
        for def in &properties {
            let Some(options) = def.kind.options() else {
                continue;
            };
            match page.values.get_mut(&def.id) {
                Some(StoredValue::Select(selected))
                    if selected
                        .as_ref()
                        .is_some_and(|s| !options.iter().any(|o| &o.id == s)) =>
                {
                    *selected = None;
                }
                Some(StoredValue::MultiSelect(selected)) => {
                    selected.retain(|s| options.iter().any(|o| &o.id == s));
                }
                _ => {}
            }
        }
    }
    let db_id = ds.database_id.clone();
    let Some(ds) = store.data_sources.get_mut(id) else {
        return Err(NotionError::not_found("data source", id));
    };
    ds.properties = properties;
    if let Some(title) = title {
        ds.title = title;
    }
    if let Some(description) = description {
        ds.description = description;
    }
    if let Some(v) = trash {
        ds.in_trash = v;
    }
    ds.edited = now;
    ds.last_edited_by = actor.user_id.clone();
    if let (Some(icon), Some(db)) = (icon, store.databases.get_mut(&db_id)) {
        db.icon = icon;
    }
    let ds = store.data_sources.get(id).cloned();
    match ds {
        Some(ds) => Ok(NotionOk::wrote(store.data_source_json(&ds))),
        None => Err(NotionError::not_found("data source", id)),
    }
}

/// Applies a same-type configuration change: number format, or select options (the
/// options given replace the set; existing ones keep id and colour, omitted ones go).
fn update_same_type(
    def: &mut PropertyDef,
    spec: &values::PropertySpec,
    path: &str,
) -> Result<(), NotionError> {
    let type_name = def.kind.type_name();
    match &mut def.kind {
        PropKind::Number { format } => {
            if let Some(new) = &spec.number_format {
                *format = new.clone();
            }
        }
        PropKind::Select { options } | PropKind::MultiSelect { options } => {
            let Some(new_options) = &spec.options else {
                return Ok(());
            };
            let mut next = Vec::new();
            for (i, option) in new_options.iter().enumerate() {
                let existing = option
                    .id
                    .as_ref()
                    .and_then(|id| options.iter().find(|o| &o.id == id))
                    .or_else(|| {
                        option
                            .name
                            .as_ref()
                            .and_then(|n| options.iter().find(|o| &o.name == n))
                    });
                match existing {
                    Some(old) => {
                        if option.color.as_ref().is_some_and(|c| c != &old.color) {
                            return Err(NotionError::validation(format!(
                                "Cannot update color of select with name: {}.",
                                old.name
                            )));
                        }
                        if option.name.as_ref().is_some_and(|n| n != &old.name) {
                            return Err(NotionError::validation(format!(
                                "Cannot update name of select with id: {}.",
                                old.id
                            )));
                        }
                        let mut kept = old.clone();
                        if option.description.is_some() {
                            kept.description = option.description.clone();
                        }
                        next.push(kept);
                    }
                    None => {
                        let Some(name) = &option.name else {
                            return Err(NotionError::validation(format!(
                                "body failed validation: {path}.{type_name}.options[{i}].id should be the id of an existing option."
                            )));
                        };
                        next.push(super::model::SelectOption {
                            // Placeholder id, replaced below with a generated one.
                            id: String::new(),
                            name: name.clone(),
                            color: option.color.clone().unwrap_or_default(),
                            description: option.description.clone(),
                        });
                    }
                }
            }
            *options = next;
        }
        _ => {}
    }
    Ok(())
}

fn keep_properties(store: &NotionStore, page: &Page, body: &mut Value, query: &[(String, String)]) {
    let wanted: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "filter_properties" || k == "filter_properties[]")
        .map(|(_, v)| v.as_str())
        .collect();
    if wanted.is_empty() {
        return;
    }
    let ds = match &page.parent {
        PageParent::DataSource(id) => store.data_sources.get(id),
        _ => None,
    };
    if let Some(props) = body.get_mut("properties").and_then(Value::as_object_mut) {
        props.retain(|name, value| {
            let id = value.get("id").and_then(Value::as_str).unwrap_or_default();
            wanted.iter().any(|w| {
                *w == id
                    || *w == name
                    || ds.is_some_and(|ds| ds.property(w).is_some_and(|p| p.id == id))
            })
        });
    }
}

fn fill_option_ids(store: &mut NotionStore, ds_id: &str) {
    let mut missing = Vec::new();
    if let Some(ds) = store.data_sources.get(ds_id) {
        for def in &ds.properties {
            if let Some(options) = def.kind.options() {
                for (i, o) in options.iter().enumerate() {
                    if o.id.is_empty() || o.color.is_empty() {
                        missing.push((def.id.clone(), i));
                    }
                }
            }
        }
    }
    for (prop_id, index) in missing {
        let id = store.new_id();
        let color = values::random_color(store);
        if let Some(option) = store
            .data_sources
            .get_mut(ds_id)
            .and_then(|ds| ds.properties.iter_mut().find(|p| p.id == prop_id))
            .and_then(|p| p.kind.options_mut())
            .and_then(|options| options.get_mut(index))
        {
            if option.id.is_empty() {
                option.id = id;
            }
            if option.color.is_empty() {
                option.color = color;
            }
        }
    }
}

/// Runs `update_data_source` and then gives new options their ids and colours.
pub fn update_data_source_and_fill(
    store: &mut NotionStore,
    actor: &Actor,
    id: &str,
    body: &Value,
) -> Result<NotionOk, NotionError> {
    let mut ok = update_data_source(store, actor, id, body)?;
    fill_option_ids(store, id);
    if let Some(ds) = store.data_sources.get(id).cloned() {
        ok.body = store.data_source_json(&ds);
    }
    Ok(ok)
}

fn query_data_source(
    store: &mut NotionStore,
    id: &str,
    body: &Value,
    query_string: &[(String, String)],
) -> Result<NotionOk, NotionError> {
    only_keys(
        body,
        &[
            "filter",
            "sorts",
            "start_cursor",
            "page_size",
            "in_trash",
            "archived",
            "result_type",
        ],
    )?;
    let ds = visible_data_source(store, id)?.clone();
    let map = body_map(body);
    let filter = match map.get("filter") {
        None => None,
        Some(f) => Some(query::parse_filter(&ds, f, "body.filter", 0)?),
    };
    let sorts = match map.get("sorts") {
        None => Vec::new(),
        Some(s) => query::parse_sorts(&ds, s)?,
    };
    let request = query::parse_page_request(map.get("page_size"), map.get("start_cursor"), "body")?;
    let include_trash = trash_flag(body)?.unwrap_or(false);
    if let Some(kind) = map.get("result_type") {
        if kind != "page" && kind != "data_source" {
            return Err(NotionError::body(
                "body.result_type",
                "`\"page\"` or `\"data_source\"`",
                &quoted(Some(kind)),
            ));
        }
        if kind == "data_source" {
            // A data source has no child data sources in the sandbox.
            return Ok(NotionOk::read(list_envelope(Vec::new(), None, false, None)));
        }
    }
    let parent = PageParent::DataSource(id.to_string());
    let mut rows: Vec<&Page> = store
        .pages
        .values()
        .filter(|p| p.parent == parent && p.shared && (include_trash || !p.in_trash))
        .filter(|p| filter.as_ref().is_none_or(|f| query::matches(&ds, p, f)))
        .collect();
    query::sort_pages(&ds, &mut rows, &sorts);
    let ordered: Vec<String> = rows.iter().map(|p| p.id.clone()).collect();
    let cap = store.query_row_cap;
    let window = paginate(store, &format!("ds:{id}"), &ordered, &request, Some(cap))?;
    // The test option that marks one page only (`Options::query_incomplete_only_page`).
    let incomplete = match store.query_incomplete_only_page {
        Some(only) => window.incomplete && window.start / request.page_size.max(1) == only,
        None => window.incomplete,
    };
    let results = window
        .ids
        .iter()
        .filter_map(|pid| store.pages.get(pid))
        .map(|p| {
            let mut body = store.page_json(p, true);
            keep_properties(store, p, &mut body, query_string);
            body
        })
        .collect();
    Ok(NotionOk::read(list_envelope(
        results,
        window.next_cursor,
        window.has_more,
        incomplete.then_some("query_result_limit_reached"),
    )))
}

/// A list answer of `kind` objects (`"block"`, `"user"`, …) without a request status.
pub(crate) fn list_envelope_of(
    kind: &str,
    results: Vec<Value>,
    next_cursor: Option<String>,
    has_more: bool,
) -> Value {
    json!({
        "object": "list",
        "results": results,
        "next_cursor": next_cursor,
        "has_more": has_more,
        "type": kind,
        kind: {},
    })
}

fn list_envelope(
    results: Vec<Value>,
    next_cursor: Option<String>,
    has_more: bool,
    incomplete: Option<&str>,
) -> Value {
    let mut body = json!({
        "object": "list",
        "results": results,
        "next_cursor": next_cursor,
        "has_more": has_more,
        "type": "page_or_data_source",
        "page_or_data_source": {},
    });
    if let (Some(reason), Some(map)) = (incomplete, body.as_object_mut()) {
        map.insert(
            "request_status".into(),
            json!({"type": "incomplete", "incomplete_reason": reason}),
        );
    }
    body
}

/// One page of an ordered list.
#[derive(Debug)]
pub struct Window {
    /// The position in the ordered list of this page's first row.
    pub start: usize,
    pub ids: Vec<String>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
    pub incomplete: bool,
}

/// Cuts one page out of `ordered`, resuming at the cursor and stopping at `cap` rows
/// in total.
pub fn paginate(
    store: &mut NotionStore,
    scope: &str,
    ordered: &[String],
    request: &PageRequest,
    cap: Option<usize>,
) -> Result<Window, NotionError> {
    let start = match &request.start_cursor {
        None => 0,
        Some(cursor) => {
            let invalid = || {
                NotionError::validation(format!("The start_cursor provided is invalid: {cursor}"))
            };
            let entry = store.cursors.get(cursor).ok_or_else(invalid)?;
            if entry.scope != scope {
                return Err(invalid());
            }
            match ordered.iter().position(|id| *id == entry.next_id) {
                Some(position) => position,
                // The row the cursor pointed at is gone (trashed or filtered out since).
                None => return Err(invalid()),
            }
        }
    };
    let start = start.min(ordered.len());
    let cap = cap.unwrap_or(usize::MAX);
    let end = (start + request.page_size)
        .min(ordered.len())
        .min(cap.max(start));
    let ids = ordered[start..end].to_vec();
    let more_rows = end < ordered.len();
    // "pagination stops at the 10,000th result: has_more becomes false, and every response
    // page served from the capped result includes a request_status marking the result as
    // incomplete" (developers.notion.com/reference/query-a-data-source, "Pagination limit").
    let capped = ordered.len() > cap;
    if more_rows && end >= cap {
        return Ok(Window {
            start,
            ids,
            next_cursor: None,
            has_more: false,
            incomplete: true,
        });
    }
    if more_rows {
        let cursor = store.new_id();
        store.cursors.insert(
            cursor.clone(),
            super::model::Cursor {
                scope: scope.to_string(),
                next_id: ordered[end].clone(),
            },
        );
        return Ok(Window {
            start,
            ids,
            next_cursor: Some(cursor),
            has_more: true,
            incomplete: capped,
        });
    }
    Ok(Window {
        start,
        ids,
        next_cursor: None,
        has_more: false,
        incomplete: capped,
    })
}

fn create_page(
    store: &mut NotionStore,
    actor: &Actor,
    body: &Value,
) -> Result<NotionOk, NotionError> {
    only_keys(
        body,
        &[
            "parent",
            "properties",
            "icon",
            "cover",
            "content",
            "children",
            "markdown",
            "allow_async",
            "template",
            "position",
        ],
    )?;
    let map = body_map(body);
    let parent = match map.get("parent") {
        Some(Value::Object(p)) => p,
        other => {
            return Err(NotionError::body(
                "body.parent",
                "an object",
                &quoted(other),
            ))
        }
    };
    let declared = parent.get("type").and_then(Value::as_str);
    let kind = match declared {
        Some(kind) => kind,
        None => ["data_source_id", "database_id", "page_id", "workspace"]
            .into_iter()
            .find(|k| parent.contains_key(*k))
            .unwrap_or("data_source_id"),
    };
    let parent = match kind {
        "data_source_id" => {
            let id = parent_id(parent, "data_source_id")?;
            visible_data_source(store, &id)?;
            PageParent::DataSource(id)
        }
        "database_id" => {
            let id = parent_id(parent, "database_id")?;
            let db = visible_database(store, &id)?;
            match db.data_sources.as_slice() {
                [only] => PageParent::DataSource(only.clone()),
                many => {
                    let mut error = NotionError::validation(
                        "Databases with multiple data sources are not supported as a database_id parent. Use a data_source_id parent.",
                    );
                    error.additional_data = Some(json!({
                        "error_type": "multiple_data_sources_for_database",
                        "database_id": id,
                        "child_data_source_ids": many,
                    }));
                    return Err(error);
                }
            }
        }
        "page_id" => {
            let id = parent_id(parent, "page_id")?;
            store
                .visible_page(&id)
                .ok_or_else(|| NotionError::not_found("page", &id))?;
            PageParent::Page(id)
        }
        "workspace" => {
            return Err(NotionError::validation(
                "Internal integrations cannot create workspace-level pages: use a page or data source parent shared with the integration.",
            ))
        }
        other => {
            return Err(NotionError::body(
                "body.parent.type",
                "`\"page_id\"`, `\"database_id\"`, `\"data_source_id\"`, or `\"workspace\"`",
                &format!("`\"{other}\"`"),
            ))
        }
    };
    let properties = map
        .get("properties")
        .ok_or_else(|| NotionError::body("body.properties", "defined", "`undefined`"))?;
    let mut page_values = BTreeMap::new();
    match &parent {
        PageParent::DataSource(ds_id) => {
            let writes = values::parse_row_properties(store, ds_id, properties)?;
            let children = children_of(body)?;
            let icon = icon_or_cover(body, "icon")?.unwrap_or(Value::Null);
            let cover = icon_or_cover(body, "cover")?.unwrap_or(Value::Null);
            values::apply_values(store, ds_id, &mut page_values, writes);
            insert_page(
                store,
                actor,
                parent.clone(),
                page_values,
                icon,
                cover,
                children,
            )
        }
        _ => {
            let title = values::parse_page_title(properties)?;
            let children = children_of(body)?;
            let icon = icon_or_cover(body, "icon")?.unwrap_or(Value::Null);
            let cover = icon_or_cover(body, "cover")?.unwrap_or(Value::Null);
            if let Some(title) = title {
                page_values.insert("title".to_string(), StoredValue::Text(title));
            }
            insert_page(
                store,
                actor,
                parent.clone(),
                page_values,
                icon,
                cover,
                children,
            )
        }
    }
}

fn children_of(body: &Value) -> Result<Vec<Value>, NotionError> {
    match body_map(body).get("children") {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() > values::MAX_ARRAY => Err(NotionError::body(
            "body.children.length",
            "≤ `100`",
            &format!("`{}`", items.len()),
        )),
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(other) => Err(NotionError::body(
            "body.children",
            "an array",
            &quoted(Some(other)),
        )),
    }
}

fn insert_page(
    store: &mut NotionStore,
    actor: &Actor,
    parent: PageParent,
    values: BTreeMap<String, StoredValue>,
    icon: Value,
    cover: Value,
    children: Vec<Value>,
) -> Result<NotionOk, NotionError> {
    super::blocks::parse_page_children(store, &children)?;
    let id = store.new_id();
    let seq = store.next_seq();
    let now = clock::now();
    if let PageParent::Page(parent_page) = &parent {
        // A page under a page is a `child_page` block of its parent, last among its children.
        store
            .child_order
            .entry(parent_page.clone())
            .or_default()
            .push(id.clone());
    }
    let content = children.clone();
    let page = Page {
        id: id.clone(),
        parent,
        created: now,
        edited: now,
        seq,
        created_by: actor.user_id.clone(),
        last_edited_by: actor.user_id.clone(),
        in_trash: false,
        is_archived: false,
        is_locked: false,
        icon,
        cover,
        values,
        shared: true,
        children,
    };
    let body = store.page_json(&page, true);
    store.pages.insert(id.clone(), page);
    super::blocks::store_page_children(store, actor, &id, &content);
    Ok(NotionOk {
        body,
        created_id: Some(id),
        wrote: true,
    })
}

fn update_page(
    store: &mut NotionStore,
    actor: &Actor,
    id: &str,
    body: &Value,
) -> Result<NotionOk, NotionError> {
    only_keys(
        body,
        &[
            "properties",
            "icon",
            "cover",
            "is_locked",
            "template",
            "erase_content",
            "in_trash",
            "archived",
            "is_archived",
        ],
    )?;
    let page = store
        .visible_page(id)
        .ok_or_else(|| NotionError::not_found("page", id))?
        .clone();
    let map = body_map(body);
    let trash = trash_flag(body)?;
    let is_archived = optional_bool(body, "is_archived")?;
    let is_locked = optional_bool(body, "is_locked")?;
    let icon = icon_or_cover(body, "icon")?;
    let cover = icon_or_cover(body, "cover")?;
    let changes_content = map.contains_key("properties") || icon.is_some() || cover.is_some();
    if page.in_trash && trash != Some(false) && changes_content {
        return Err(NotionError::validation(
            "Can't edit block that is archived. You must unarchive the block before editing.",
        ));
    }
    let mut new_values = page.values.clone();
    match (&page.parent, map.get("properties")) {
        (_, None) => {}
        (PageParent::DataSource(ds_id), Some(properties)) => {
            let writes = values::parse_row_properties(store, ds_id, properties)?;
            values::apply_values(store, ds_id, &mut new_values, writes);
        }
        (_, Some(properties)) => {
            if let Some(title) = values::parse_page_title(properties)? {
                new_values.insert("title".into(), StoredValue::Text(title));
            }
        }
    }
    let Some(stored) = store.pages.get_mut(id) else {
        return Err(NotionError::not_found("page", id));
    };
    stored.values = new_values;
    if let Some(v) = trash {
        stored.in_trash = v;
    }
    if let Some(v) = is_archived {
        stored.is_archived = v;
    }
    if let Some(v) = is_locked {
        stored.is_locked = v;
    }
    if let Some(v) = icon {
        stored.icon = v;
    }
    if let Some(v) = cover {
        stored.cover = v;
    }
    stored.edited = clock::now();
    stored.last_edited_by = actor.user_id.clone();
    let page = stored.clone();
    Ok(NotionOk::wrote(store.page_json(&page, true)))
}

fn search(store: &mut NotionStore, body: &Value) -> Result<NotionOk, NotionError> {
    only_keys(
        body,
        &["query", "sort", "filter", "start_cursor", "page_size"],
    )?;
    let map = body_map(body);
    let text = match map.get("query") {
        None => String::new(),
        Some(Value::String(s)) => s.to_lowercase(),
        Some(other) => {
            return Err(NotionError::body(
                "body.query",
                "a string",
                &quoted(Some(other)),
            ))
        }
    };
    let mut want_pages = true;
    let mut want_sources = true;
    if let Some(filter) = map.get("filter") {
        let value = filter.get("value");
        match value.and_then(Value::as_str) {
            Some("page") => want_sources = false,
            Some("data_source") => want_pages = false,
            _ => {
                return Err(NotionError::body(
                    "body.filter.value",
                    "`\"page\"` or `\"data_source\"`",
                    &quoted(value),
                ))
            }
        }
        if filter.get("property").and_then(Value::as_str) != Some("object") {
            return Err(NotionError::body(
                "body.filter.property",
                "`\"object\"`",
                &quoted(filter.get("property")),
            ));
        }
    }
    let mut ascending = false;
    if let Some(sort) = map.get("sort") {
        if sort.get("timestamp").and_then(Value::as_str) != Some("last_edited_time") {
            return Err(NotionError::body(
                "body.sort.timestamp",
                "`\"last_edited_time\"`",
                &quoted(sort.get("timestamp")),
            ));
        }
        ascending = match sort.get("direction").and_then(Value::as_str) {
            Some("ascending") => true,
            Some("descending") => false,
            _ => {
                return Err(NotionError::body(
                    "body.sort.direction",
                    "`\"ascending\"` or `\"descending\"`",
                    &quoted(sort.get("direction")),
                ))
            }
        };
    }
    let request = query::parse_page_request(map.get("page_size"), map.get("start_cursor"), "body")?;
    // (last edited, id, is data source)
    let mut hits: Vec<(time::OffsetDateTime, String, bool)> = Vec::new();
    if want_pages {
        for page in store.pages.values().filter(|p| p.shared && !p.in_trash) {
            let json = store.page_json(page, false);
            let title = json["properties"]
                .as_object()
                .and_then(|props| props.values().find(|v| v["type"] == "title"))
                .and_then(|v| v["title"].as_array())
                .map(|runs| {
                    runs.iter()
                        .filter_map(|r| r["plain_text"].as_str())
                        .collect::<String>()
                })
                .unwrap_or_default();
            if text.is_empty() || title.to_lowercase().contains(&text) {
                hits.push((page.edited, page.id.clone(), false));
            }
        }
    }
    if want_sources {
        for ds in store.data_sources.values().filter(|ds| !ds.in_trash) {
            let Ok(db) = visible_database(store, &ds.database_id) else {
                continue;
            };
            if db.in_trash {
                continue;
            }
            if text.is_empty() || plain_text(&db.title).to_lowercase().contains(&text) {
                hits.push((ds.edited, ds.id.clone(), true));
            }
        }
    }
    hits.sort_by(|a, b| {
        let ordering = a.0.cmp(&b.0);
        let ordering = if ascending {
            ordering
        } else {
            ordering.reverse()
        };
        ordering.then(a.1.cmp(&b.1))
    });
    let ordered: Vec<String> = hits.iter().map(|h| h.1.clone()).collect();
    let window = paginate(store, "search", &ordered, &request, None)?;
    let results = window
        .ids
        .iter()
        .filter_map(|id| {
            if let Some(page) = store.pages.get(id) {
                Some(store.page_json(page, true))
            } else {
                store
                    .data_sources
                    .get(id)
                    .map(|ds| store.data_source_json(ds))
            }
        })
        .collect();
    Ok(NotionOk::read(list_envelope(
        results,
        window.next_cursor,
        window.has_more,
        None,
    )))
}

fn list_users(
    store: &mut NotionStore,
    query: &[(String, String)],
) -> Result<NotionOk, NotionError> {
    if store.user_access == UserAccess::None {
        return Err(NotionError::restricted());
    }
    let get = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let page_size = get("page_size").map(|v| match v.parse::<u64>() {
        Ok(n) => json!(n),
        Err(_) => json!(v),
    });
    let start_cursor = get("start_cursor").map(Value::String);
    let request = query::parse_page_request(page_size.as_ref(), start_cursor.as_ref(), "query")?;
    // Guests are not listed (https://developers.notion.com/reference/get-users).
    let mut ordered: Vec<String> = store
        .users
        .iter()
        .filter(|u| !u.guest)
        .map(|u| u.id.clone())
        .collect();
    ordered.push(store.bot.id.clone());
    let window = paginate(store, "users", &ordered, &request, None)?;
    let results: Vec<Value> = window
        .ids
        .iter()
        .filter_map(|id| store.user(id))
        .map(|u| store.user_json(u))
        .collect();
    Ok(NotionOk::read(json!({
        "object": "list",
        "results": results,
        "next_cursor": window.next_cursor,
        "has_more": window.has_more,
        "type": "user",
        "user": {},
    })))
}
