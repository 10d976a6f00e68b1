//! Validation of what clients write: rich text, page property values and property
//! schemas, with Notion's error messages.
//!
//! Writes are validated in full before anything changes: parsing yields [`Pending`]
//! values whose new select options are only named, and [`apply_values`] adds those
//! options to the schema and stores the values once the whole request passed. So a
//! rejected request never leaves a half-applied page or a stray option behind.

use std::collections::BTreeMap;

use rand::Rng;
use serde_json::{Map, Value};

use super::error::{quoted, NotionError};
use super::model::{
    Annotations, DateValue, NotionStore, PropKind, PropertyDef, RichText, SelectOption,
    StoredValue, COLORS, KNOWN_TYPES, UNEMULATED_TYPES,
};
use crate::{clock, ids};

/// Longest `text.content` (in UTF-16 units, as JavaScript counts) Notion accepts.
pub const MAX_TEXT: usize = 2000;
/// Longest select or multi-select option name (UTF-16 units): `body.properties.Collections.
/// multi_select[2].name.length should be ≤ `100`, instead was `118`.` (dvanoni/notero#427).
pub const MAX_OPTION_NAME: usize = 100;
/// Longest array Notion accepts in a request.
pub const MAX_ARRAY: usize = 100;

/// JavaScript's `string.length`.
fn js_len(text: &str) -> usize {
    text.encode_utf16().count()
}

fn check_option_name(name: &str, path: &str) -> Result<(), NotionError> {
    let length = js_len(name);
    if length > MAX_OPTION_NAME {
        return Err(NotionError::body(
            &format!("{path}.name.length"),
            &format!("≤ `{MAX_OPTION_NAME}`"),
            &format!("`{length}`"),
        ));
    }
    Ok(())
}

fn expect_object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, NotionError> {
    value
        .as_object()
        .ok_or_else(|| NotionError::body(path, "an object", &quoted(Some(value))))
}

fn check_array_len(items: &[Value], path: &str) -> Result<(), NotionError> {
    if items.len() > MAX_ARRAY {
        return Err(NotionError::body(
            &format!("{path}.length"),
            &format!("≤ `{MAX_ARRAY}`"),
            &format!("`{}`", items.len()),
        ));
    }
    Ok(())
}

fn optional_string(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, NotionError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(NotionError::body(
            &format!("{path}.{key}"),
            "a string or `null`",
            &quoted(Some(other)),
        )),
    }
}

/// A link to a Notion page (`https://www.notion.so/Title-<32 hex>`) as Notion keeps it: the
/// relative `/<32 hex>` (links made with Cmd+K or a mention read back as `/ID`:
/// 9gustin/react-notion-render#170, whose renderer maps `url[0] == '/'`). Other URLs are kept.
pub fn internal_link(url: &str) -> String {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or("");
    let rest = rest.strip_prefix("www.").unwrap_or(rest);
    let Some(path) = rest.strip_prefix("notion.so/") else {
        return url.to_string();
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let tail: String = path.chars().filter(|c| *c != '-').collect();
    match tail.len().checked_sub(32).map(|at| &tail[at..]) {
        Some(id) if id.chars().all(|c| c.is_ascii_hexdigit()) => {
            format!("/{}", id.to_ascii_lowercase())
        }
        _ => url.to_string(),
    }
}

/// Parses a rich text array as written by a client.
pub fn parse_rich_text(value: &Value, path: &str) -> Result<Vec<RichText>, NotionError> {
    let items = value
        .as_array()
        .ok_or_else(|| NotionError::body(path, "an array", &quoted(Some(value))))?;
    check_array_len(items, path)?;
    let mut runs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let map = expect_object(item, &item_path)?;
        match map.get("type").map(|t| t.as_str()) {
            None | Some(Some("text")) => {}
            Some(Some(kind @ ("mention" | "equation"))) => {
                return Err(NotionError::validation(format!(
                    "The kodo sandbox only emulates `text` rich text, not `{kind}` ({item_path})."
                )))
            }
            Some(_) => {
                return Err(NotionError::body(
                    &format!("{item_path}.type"),
                    "`\"text\"`, `\"mention\"`, or `\"equation\"`",
                    &quoted(map.get("type")),
                ))
            }
        }
        let text_path = format!("{item_path}.text");
        let text = match map.get("text") {
            Some(text) => expect_object(text, &text_path)?,
            None => return Err(NotionError::body(&text_path, "defined", "`undefined`")),
        };
        let content = match text.get("content") {
            Some(Value::String(s)) => s.clone(),
            other => {
                return Err(NotionError::body(
                    &format!("{text_path}.content"),
                    "a string",
                    &quoted(other),
                ))
            }
        };
        let length = js_len(&content);
        if length > MAX_TEXT {
            return Err(NotionError::body(
                &format!("{text_path}.content.length"),
                &format!("≤ `{MAX_TEXT}`"),
                &format!("`{length}`"),
            ));
        }
        let link = match text.get("link") {
            None | Some(Value::Null) => None,
            Some(link) => {
                let link_path = format!("{text_path}.link");
                let link = expect_object(link, &link_path)?;
                match link.get("url") {
                    Some(Value::String(url)) if js_len(url) > MAX_TEXT => {
                        return Err(NotionError::body(
                            &format!("{link_path}.url.length"),
                            &format!("≤ `{MAX_TEXT}`"),
                            &format!("`{}`", js_len(url)),
                        ))
                    }
                    Some(Value::String(url)) => Some(internal_link(url)),
                    other => {
                        return Err(NotionError::body(
                            &format!("{link_path}.url"),
                            "a string",
                            &quoted(other),
                        ))
                    }
                }
            }
        };
        let annotations = match map.get("annotations") {
            None => Annotations::default(),
            Some(value) => parse_annotations(value, &format!("{item_path}.annotations"))?,
        };
        runs.push(RichText {
            content,
            link,
            annotations,
        });
    }
    Ok(runs)
}

fn parse_annotations(value: &Value, path: &str) -> Result<Annotations, NotionError> {
    let map = expect_object(value, path)?;
    let mut out = Annotations::default();
    for (key, slot) in [
        ("bold", &mut out.bold),
        ("italic", &mut out.italic),
        ("strikethrough", &mut out.strikethrough),
        ("underline", &mut out.underline),
        ("code", &mut out.code),
    ] {
        match map.get(key) {
            None => {}
            Some(Value::Bool(b)) => *slot = *b,
            Some(other) => {
                return Err(NotionError::body(
                    &format!("{path}.{key}"),
                    "a boolean",
                    &quoted(Some(other)),
                ))
            }
        }
    }
    if let Some(color) = map.get("color") {
        let ok = color.as_str().is_some_and(|c| {
            COLORS.contains(&c)
                || c.strip_suffix("_background")
                    .is_some_and(|base| COLORS.contains(&base) && base != "default")
        });
        if !ok {
            return Err(NotionError::body(
                &format!("{path}.color"),
                "a valid color",
                &quoted(Some(color)),
            ));
        }
        out.color = color.as_str().unwrap_or("default").to_string();
    }
    Ok(out)
}

/// A select option named by a write.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionRef {
    Id(String),
    Name(String),
}

/// A validated value waiting to be stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    Stored(StoredValue),
    Select(Option<OptionRef>),
    MultiSelect(Vec<OptionRef>),
}

fn parse_option_ref(
    value: &Value,
    path: &str,
    options: &[SelectOption],
) -> Result<OptionRef, NotionError> {
    let map = expect_object(value, path)?;
    if let Some(id) = map.get("id") {
        let id = id.as_str().ok_or_else(|| {
            NotionError::body(&format!("{path}.id"), "a string", &quoted(Some(id)))
        })?;
        if !options.iter().any(|o| o.id == id) {
            return Err(NotionError::validation(format!(
                "body failed validation: {path}.id should be the id of an existing option, instead was `\"{id}\"`."
            )));
        }
        return Ok(OptionRef::Id(id.to_string()));
    }
    match map.get("name") {
        Some(Value::String(name)) if name.trim().is_empty() => Err(NotionError::body(
            &format!("{path}.name"),
            "populated or `undefined`",
            &quoted(map.get("name")),
        )),
        Some(Value::String(name)) if name.contains(',') => Err(NotionError::validation(format!(
            "Invalid select option, commas not allowed: {name}"
        ))),
        Some(Value::String(name)) => {
            check_option_name(name, path)?;
            Ok(OptionRef::Name(name.clone()))
        }
        other => Err(NotionError::body(
            &format!("{path}.name"),
            "a string",
            &quoted(other),
        )),
    }
}

fn nullable_text(inner: &Value, path: &str, max: usize) -> Result<Option<String>, NotionError> {
    match inner {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Err(NotionError::body(
            path,
            "populated or `null`",
            &quoted(Some(inner)),
        )),
        Value::String(s) if js_len(s) > max => Err(NotionError::body(
            &format!("{path}.length"),
            &format!("≤ `{max}`"),
            &format!("`{}`", js_len(s)),
        )),
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(NotionError::body(
            path,
            "a string or `null`",
            &quoted(Some(other)),
        )),
    }
}

fn parse_date(inner: &Value, path: &str) -> Result<Option<DateValue>, NotionError> {
    let map = match inner {
        Value::Null => return Ok(None),
        other => expect_object(other, path)?,
    };
    let check = |key: &str, required: bool| -> Result<Option<String>, NotionError> {
        match map.get(key) {
            None | Some(Value::Null) if !required => Ok(None),
            Some(Value::String(s)) if clock::parse_date_or_datetime(s).is_some() => {
                Ok(Some(s.clone()))
            }
            other => Err(NotionError::body(
                &format!("{path}.{key}"),
                "a valid ISO 8601 date string",
                &quoted(other),
            )),
        }
    };
    let start = check("start", true)?.unwrap_or_default();
    let end = check("end", false)?;
    let time_zone = optional_string(map, "time_zone", path)?;
    Ok(Some(DateValue {
        start,
        end,
        time_zone,
    }))
}

/// Validates one property value written as `body.properties.<key>`.
pub fn parse_value(
    store: &NotionStore,
    def: &PropertyDef,
    key: &str,
    value: &Value,
) -> Result<Pending, NotionError> {
    let path = format!("body.properties.{key}");
    let map = expect_object(value, &path)?;
    let type_name = def.kind.type_name();
    let Some(inner) = map.get(type_name) else {
        let other_type = map
            .keys()
            .any(|k| KNOWN_TYPES.contains(&k.as_str()) || UNEMULATED_TYPES.contains(&k.as_str()));
        if other_type {
            return Err(NotionError::validation(format!(
                "{} is expected to be {type_name}.",
                def.name
            )));
        }
        return Err(NotionError::body(
            &format!("{path}.{type_name}"),
            "defined",
            "`undefined`",
        ));
    };
    if !def.kind.is_writable() {
        return Err(NotionError::body(
            &format!("{path}.{type_name}"),
            "not present",
            &quoted(Some(inner)),
        ));
    }
    let inner_path = format!("{path}.{type_name}");
    let pending = match &def.kind {
        PropKind::Title | PropKind::RichText => {
            Pending::Stored(StoredValue::Text(parse_rich_text(inner, &inner_path)?))
        }
        PropKind::Number { .. } => match inner {
            Value::Null => Pending::Stored(StoredValue::Number(None)),
            Value::Number(n) => Pending::Stored(StoredValue::Number(Some(n.clone()))),
            other => {
                return Err(NotionError::body(
                    &inner_path,
                    "a number or `null`",
                    &quoted(Some(other)),
                ))
            }
        },
        PropKind::Select { options } => match inner {
            Value::Null => Pending::Select(None),
            Value::Object(_) => {
                Pending::Select(Some(parse_option_ref(inner, &inner_path, options)?))
            }
            other => {
                return Err(NotionError::body(
                    &inner_path,
                    "an object or `null`",
                    &quoted(Some(other)),
                ))
            }
        },
        PropKind::MultiSelect { options } => {
            let items = inner
                .as_array()
                .ok_or_else(|| NotionError::body(&inner_path, "an array", &quoted(Some(inner))))?;
            check_array_len(items, &inner_path)?;
            let mut refs = Vec::new();
            for (i, item) in items.iter().enumerate() {
                refs.push(parse_option_ref(
                    item,
                    &format!("{inner_path}[{i}]"),
                    options,
                )?);
            }
            Pending::MultiSelect(refs)
        }
        PropKind::People => {
            let items = inner
                .as_array()
                .ok_or_else(|| NotionError::body(&inner_path, "an array", &quoted(Some(inner))))?;
            check_array_len(items, &inner_path)?;
            let mut people = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let item_path = format!("{inner_path}[{i}]");
                let map = expect_object(item, &item_path)?;
                if let Some(object) = map.get("object") {
                    if object != "user" && object != "group" {
                        return Err(NotionError::body(
                            &format!("{item_path}.object"),
                            "`\"user\"` or `\"group\"`",
                            &quoted(Some(object)),
                        ));
                    }
                }
                let raw = map.get("id");
                let id = raw
                    .and_then(Value::as_str)
                    .and_then(ids::normalize)
                    .ok_or_else(|| {
                        NotionError::body(&format!("{item_path}.id"), "a valid uuid", &quoted(raw))
                    })?;
                if store.user(&id).is_none() {
                    return Err(NotionError::body(
                        &format!("{item_path}.id"),
                        "the id of a user in the workspace",
                        &quoted(raw),
                    ));
                }
                if !people.contains(&id) {
                    people.push(id);
                }
            }
            Pending::Stored(StoredValue::People(people))
        }
        PropKind::Date => Pending::Stored(StoredValue::Date(parse_date(inner, &inner_path)?)),
        PropKind::Checkbox => match inner {
            Value::Bool(b) => Pending::Stored(StoredValue::Checkbox(*b)),
            other => {
                return Err(NotionError::body(
                    &inner_path,
                    "a boolean",
                    &quoted(Some(other)),
                ))
            }
        },
        PropKind::Url => {
            Pending::Stored(StoredValue::Url(nullable_text(inner, &inner_path, 2000)?))
        }
        PropKind::Email => {
            Pending::Stored(StoredValue::Email(nullable_text(inner, &inner_path, 200)?))
        }
        PropKind::PhoneNumber => {
            Pending::Stored(StoredValue::Phone(nullable_text(inner, &inner_path, 200)?))
        }
        PropKind::CreatedTime
        | PropKind::LastEditedTime
        | PropKind::CreatedBy
        | PropKind::LastEditedBy => {
            return Err(NotionError::body(
                &inner_path,
                "not present",
                &quoted(Some(inner)),
            ))
        }
    };
    Ok(pending)
}

/// Validates `body.properties` of a page in a data source. Returns `(property id, value)`.
pub fn parse_row_properties(
    store: &NotionStore,
    data_source_id: &str,
    properties: &Value,
) -> Result<Vec<(String, Pending)>, NotionError> {
    let map = expect_object(properties, "body.properties")?;
    let ds = store
        .data_sources
        .get(data_source_id)
        .ok_or_else(|| NotionError::not_found("data source", data_source_id))?;
    let mut out = Vec::new();
    for (key, value) in map {
        let def = ds.property(key).ok_or_else(|| {
            NotionError::validation(format!("{key} is not a property that exists."))
        })?;
        let pending = parse_value(store, def, key, value)?;
        out.push((def.id.clone(), pending));
    }
    Ok(out)
}

/// Validates `body.properties` of a plain page (child of a page): only `title`.
pub fn parse_page_title(properties: &Value) -> Result<Option<Vec<RichText>>, NotionError> {
    let map = expect_object(properties, "body.properties")?;
    let mut title = None;
    for (key, value) in map {
        if key != "title" {
            return Err(NotionError::validation(format!(
                "{key} is not a property that exists."
            )));
        }
        let path = "body.properties.title";
        let inner = expect_object(value, path)?.get("title").ok_or_else(|| {
            NotionError::body("body.properties.title.title", "defined", "`undefined`")
        })?;
        title = Some(parse_rich_text(inner, "body.properties.title.title")?);
    }
    Ok(title)
}

/// Picks a colour for an option Notion adds by itself.
pub fn random_color(store: &mut NotionStore) -> String {
    let idx = store.rng.random_range(1..COLORS.len());
    COLORS[idx].to_string()
}

/// Stores validated values on a page's value map, adding newly named options to the
/// data source schema first.
pub fn apply_values(
    store: &mut NotionStore,
    data_source_id: &str,
    values: &mut BTreeMap<String, StoredValue>,
    writes: Vec<(String, Pending)>,
) {
    for (prop_id, pending) in writes {
        let stored = match pending {
            Pending::Stored(value) => value,
            Pending::Select(None) => StoredValue::Select(None),
            Pending::Select(Some(r)) => {
                StoredValue::Select(Some(resolve_option(store, data_source_id, &prop_id, r)))
            }
            Pending::MultiSelect(refs) => {
                let mut ids = Vec::new();
                for r in refs {
                    let id = resolve_option(store, data_source_id, &prop_id, r);
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                StoredValue::MultiSelect(ids)
            }
        };
        values.insert(prop_id, stored);
    }
}

fn resolve_option(
    store: &mut NotionStore,
    data_source_id: &str,
    prop_id: &str,
    r: OptionRef,
) -> String {
    let name = match r {
        OptionRef::Id(id) => return id,
        OptionRef::Name(name) => name,
    };
    let existing = store
        .data_sources
        .get(data_source_id)
        .and_then(|ds| ds.property_by_id(prop_id))
        .and_then(|p| p.kind.options())
        .and_then(|opts| opts.iter().find(|o| o.name == name).map(|o| o.id.clone()));
    if let Some(id) = existing {
        return id;
    }
    let id = store.new_id();
    let color = random_color(store);
    if let Some(options) = store
        .data_sources
        .get_mut(data_source_id)
        .and_then(|ds| ds.properties.iter_mut().find(|p| p.id == prop_id))
        .and_then(|p| p.kind.options_mut())
    {
        options.push(SelectOption {
            id: id.clone(),
            name,
            color,
            description: None,
        });
    }
    id
}

/// A select option as a schema write names it.
#[derive(Debug, Clone)]
pub struct OptionSpec {
    pub id: Option<String>,
    pub name: Option<String>,
    pub color: Option<String>,
    pub description: Option<String>,
}

/// A property configuration as a schema write gives it.
#[derive(Debug, Clone, Default)]
pub struct PropertySpec {
    /// The type, when the write names one.
    pub type_name: Option<&'static str>,
    pub number_format: Option<String>,
    pub options: Option<Vec<OptionSpec>>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    /// A new name (schema updates).
    pub rename: Option<String>,
}

/// Validates one property configuration at `path`.
pub fn parse_property_spec(config: &Value, path: &str) -> Result<PropertySpec, NotionError> {
    let map = expect_object(config, path)?;
    let mut spec = PropertySpec::default();
    let mut type_keys: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| KNOWN_TYPES.contains(k) || UNEMULATED_TYPES.contains(k))
        .collect();
    if let Some(declared) = map.get("type") {
        let declared = declared.as_str().ok_or_else(|| {
            NotionError::body(&format!("{path}.type"), "a string", &quoted(Some(declared)))
        })?;
        if !KNOWN_TYPES.contains(&declared) && !UNEMULATED_TYPES.contains(&declared) {
            return Err(NotionError::body(
                &format!("{path}.type"),
                "a valid property type",
                &format!("`\"{declared}\"`"),
            ));
        }
        if type_keys.iter().any(|k| *k != declared) {
            return Err(NotionError::validation(format!(
                "body failed validation: {path}.type `\"{declared}\"` does not match the configuration given."
            )));
        }
        if type_keys.is_empty() {
            type_keys.push(
                KNOWN_TYPES
                    .iter()
                    .chain(UNEMULATED_TYPES)
                    .find(|t| **t == declared)
                    .copied()
                    .unwrap_or("title"),
            );
        }
    }
    if type_keys.len() > 1 {
        return Err(NotionError::validation(format!(
            "body failed validation: {path} should define exactly one property type, instead defined {}.",
            type_keys.join(", ")
        )));
    }
    if let Some(type_name) = type_keys.first() {
        if *type_name == "status" {
            return Err(NotionError::validation(
                "Creating new status database properties is currently not supported.",
            ));
        }
        if UNEMULATED_TYPES.contains(type_name) {
            return Err(NotionError::validation(format!(
                "The kodo sandbox does not emulate {type_name} properties ({path})."
            )));
        }
        let type_name: &'static str = KNOWN_TYPES
            .iter()
            .find(|t| *t == type_name)
            .copied()
            .unwrap_or("title");
        spec.type_name = Some(type_name);
        let inner = map
            .get(type_name)
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        let inner_path = format!("{path}.{type_name}");
        let inner_map = expect_object(&inner, &inner_path)?;
        match type_name {
            "number" => {
                spec.number_format = optional_string(inner_map, "format", &inner_path)?;
            }
            "select" | "multi_select" => {
                if let Some(options) = inner_map.get("options") {
                    let options_path = format!("{inner_path}.options");
                    let items = options.as_array().ok_or_else(|| {
                        NotionError::body(&options_path, "an array", &quoted(Some(options)))
                    })?;
                    let mut specs = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        specs.push(parse_option_spec(item, &format!("{options_path}[{i}]"))?);
                    }
                    let mut names: Vec<&str> =
                        specs.iter().filter_map(|s| s.name.as_deref()).collect();
                    names.sort_unstable();
                    if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
                        return Err(NotionError::validation(format!(
                            "Duplicate select option names are not allowed: {}",
                            pair[0]
                        )));
                    }
                    spec.options = Some(specs);
                }
            }
            _ => {}
        }
    }
    if let Some(description) = map.get("description") {
        spec.description = Some(match description {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => {
                return Err(NotionError::body(
                    &format!("{path}.description"),
                    "a string or `null`",
                    &quoted(Some(other)),
                ))
            }
        });
    }
    if let Some(name) = map.get("name") {
        match name {
            Value::String(s) if !s.trim().is_empty() => spec.rename = Some(s.clone()),
            other => {
                return Err(NotionError::body(
                    &format!("{path}.name"),
                    "a non-empty string",
                    &quoted(Some(other)),
                ))
            }
        }
    }
    Ok(spec)
}

fn parse_option_spec(value: &Value, path: &str) -> Result<OptionSpec, NotionError> {
    let map = expect_object(value, path)?;
    let id = optional_string(map, "id", path)?;
    let name = optional_string(map, "name", path)?;
    if id.is_none() && name.is_none() {
        return Err(NotionError::body(
            &format!("{path}.name"),
            "defined",
            "`undefined`",
        ));
    }
    if let Some(name) = &name {
        if name.contains(',') {
            return Err(NotionError::validation(format!(
                "Invalid select option, commas not allowed: {name}"
            )));
        }
        if name.trim().is_empty() {
            return Err(NotionError::body(
                &format!("{path}.name"),
                "populated",
                &format!("`\"{name}\"`"),
            ));
        }
        check_option_name(name, path)?;
    }
    let color = optional_string(map, "color", path)?;
    if let Some(color) = &color {
        if !COLORS.contains(&color.as_str()) {
            return Err(NotionError::body(
                &format!("{path}.color"),
                "`\"default\"`, `\"gray\"`, `\"brown\"`, `\"orange\"`, `\"yellow\"`, `\"green\"`, `\"blue\"`, `\"purple\"`, `\"pink\"`, or `\"red\"`",
                &format!("`\"{color}\"`"),
            ));
        }
    }
    let description = optional_string(map, "description", path)?;
    Ok(OptionSpec {
        id,
        name,
        color,
        description,
    })
}

/// How a new property gets its id and new options their ids and colours.
pub enum IdSource<'a> {
    /// Derived from names: scenario loading, so ids are the same on every run.
    Stable { data_source_id: &'a str },
    /// Fresh from the store's seeded generator: API writes.
    Random,
}

/// Builds a property kind from a spec with a type.
pub fn build_kind(
    store: &mut NotionStore,
    spec: &PropertySpec,
    property_name: &str,
    ids: &IdSource<'_>,
) -> PropKind {
    let type_name = spec.type_name.unwrap_or("rich_text");
    let mut options = Vec::new();
    for (i, option) in spec.options.iter().flatten().enumerate() {
        let name = option.name.clone().unwrap_or_default();
        let (id, color) = match ids {
            IdSource::Stable { data_source_id } => (
                crate::ids::stable_uuid(&format!("{data_source_id}/{property_name}/{name}")),
                option
                    .color
                    .clone()
                    .unwrap_or_else(|| COLORS[1 + i % (COLORS.len() - 1)].to_string()),
            ),
            IdSource::Random => (
                store.new_id(),
                option.color.clone().unwrap_or_else(|| random_color(store)),
            ),
        };
        options.push(SelectOption {
            id,
            name,
            color,
            description: option.description.clone(),
        });
    }
    match type_name {
        "title" => PropKind::Title,
        "number" => PropKind::Number {
            format: spec
                .number_format
                .clone()
                .unwrap_or_else(|| "number".into()),
        },
        "select" => PropKind::Select { options },
        "multi_select" => PropKind::MultiSelect { options },
        "people" => PropKind::People,
        "date" => PropKind::Date,
        "checkbox" => PropKind::Checkbox,
        "url" => PropKind::Url,
        "email" => PropKind::Email,
        "phone_number" => PropKind::PhoneNumber,
        "created_time" => PropKind::CreatedTime,
        "last_edited_time" => PropKind::LastEditedTime,
        "created_by" => PropKind::CreatedBy,
        "last_edited_by" => PropKind::LastEditedBy,
        _ => PropKind::RichText,
    }
}

/// Builds a complete schema for a new data source from `properties` at `path`
/// (`body.initial_data_source.properties`). Requires exactly one title property.
pub fn build_schema(
    store: &mut NotionStore,
    properties: &Value,
    path: &str,
    ids: &IdSource<'_>,
) -> Result<Vec<PropertyDef>, NotionError> {
    let map = expect_object(properties, path)?;
    let mut specs = Vec::new();
    for (name, config) in map {
        if name.trim().is_empty() {
            return Err(NotionError::validation(format!(
                "body failed validation: {path} property names should be populated."
            )));
        }
        let spec = parse_property_spec(config, &format!("{path}.{name}"))?;
        if spec.type_name.is_none() {
            return Err(NotionError::body(
                &format!("{path}.{name}.type"),
                "defined",
                "`undefined`",
            ));
        }
        specs.push((name.clone(), spec));
    }
    let titles = specs
        .iter()
        .filter(|(_, s)| s.type_name == Some("title"))
        .count();
    if titles != 1 {
        return Err(NotionError::validation(
            "All data sources require exactly one title property.",
        ));
    }
    let mut defs: Vec<PropertyDef> = Vec::new();
    for (name, spec) in specs {
        let kind = build_kind(store, &spec, &name, ids);
        let mut attempt = 0;
        let id = loop {
            let id = match (&kind, ids) {
                (PropKind::Title, _) => "title".to_string(),
                (_, IdSource::Stable { data_source_id }) => {
                    let salted = if attempt == 0 {
                        name.clone()
                    } else {
                        format!("{name}#{attempt}")
                    };
                    crate::ids::stable_property_id(data_source_id, &salted)
                }
                (_, IdSource::Random) => crate::ids::random_property_id(&mut store.rng),
            };
            if !defs.iter().any(|d| d.id == id) || attempt > 50 {
                break id;
            }
            attempt += 1;
        };
        defs.push(PropertyDef {
            id,
            name,
            description: spec.description.flatten(),
            kind,
        });
    }
    Ok(defs)
}
