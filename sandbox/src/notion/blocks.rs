//! Page content: the block endpoints of Notion-Version 2025-09-03.
//!
//! - `GET /v1/blocks/{id}/children`: a page or block's children, in order, paginated
//!   (`start_cursor`, `page_size` ≤ 100), trashed children left out
//!   (developers.notion.com/reference/get-block-children).
//! - `PATCH /v1/blocks/{id}/children`: appends `children` (at most 100: "Arrays of block
//!   children longer than 100 will result in an error"; "up to **two** levels of nesting in a
//!   single request"), at the end, or after a child named by `after` (2025-09-03) or by
//!   `position` (`{type: "end" | "start" | "after_block"}`, which @notionhq/client v5.26
//!   sends and marks `after` deprecated for: src/api-endpoints/blocks.ts
//!   `AppendBlockChildrenBodyParameters`, common.ts `ContentPositionSchema`); answers the
//!   new first-level blocks (developers.notion.com/reference/patch-block-children).
//! - `GET /v1/blocks/{id}`, `PATCH /v1/blocks/{id}` (the type's content, `in_trash` /
//!   `archived`), `DELETE /v1/blocks/{id}` (moves the block to the trash).
//!
//! A page is a block too: a page created under a page is listed among its parent's children
//! as a `child_page` block with the page's id, a database as `child_database`.
//!
//! Emulated block types are the ones kodo writes: paragraph, heading_1/2/3,
//! bulleted_list_item, numbered_list_item, quote, toggle, to_do, callout, divider, table
//! with table_row children ("the table must have at least 1 table_row whose cells array has
//! the same length as the table_width"; "Calls to the Update block endpoint to update
//! `table_width` fail": developers.notion.com/reference/block#table), link_to_page. Any
//! other type is refused with a message saying the sandbox does not emulate it.

use serde_json::{json, Map, Value};

use super::api::{body_map, list_envelope_of, only_keys, paginate, parse_body, path_id, Actor};
use super::error::{quoted, NotionError};
use super::model::{rich_text_json, Block, BlockParent, NotionStore, PageParent, COLORS};
use super::query;
use super::values::{self, MAX_ARRAY};
use super::NotionOk;
use crate::clock;

/// "For blocks that allow children, we allow up to two levels of nesting in a single
/// request" (developers.notion.com/reference/patch-block-children).
pub const MAX_NESTING: usize = 2;
/// "payloads have a maximum size of 1000 block elements"
/// (developers.notion.com/reference/request-limits, "Size limits").
pub const MAX_BLOCK_ELEMENTS: usize = 1000;

/// Block types whose content is rich text (and that may hold children).
const TEXT_TYPES: &[&str] = &[
    "paragraph",
    "heading_1",
    "heading_2",
    "heading_3",
    "bulleted_list_item",
    "numbered_list_item",
    "quote",
    "toggle",
    "to_do",
    "callout",
];

/// Types the real API knows but the sandbox does not emulate.
const UNEMULATED_BLOCKS: &[&str] = &[
    "bookmark",
    "breadcrumb",
    "code",
    "column_list",
    "column",
    "embed",
    "equation",
    "file",
    "image",
    "pdf",
    "synced_block",
    "table_of_contents",
    "template",
    "video",
    "audio",
];

/// A block as parsed from a request, before anything is stored.
#[derive(Debug)]
struct NewBlock {
    kind: String,
    content: Value,
    children: Vec<NewBlock>,
}

fn is_heading(kind: &str) -> bool {
    kind.starts_with("heading_")
}

/// Routes `/v1/blocks/...`; `None` when the path is not a block endpoint.
pub fn handle(
    store: &mut NotionStore,
    actor: &Actor,
    method: &str,
    segments: &[&str],
    query: &[(String, String)],
    body: &[u8],
) -> Option<Result<NotionOk, NotionError>> {
    let result = match (method, segments) {
        ("GET", ["blocks", id, "children"]) => {
            path_id(id, "block_id").and_then(|id| list_children(store, &id, query))
        }
        ("PATCH", ["blocks", id, "children"]) => path_id(id, "block_id")
            .and_then(|id| parse_body(body).and_then(|b| append(store, actor, &id, &b))),
        ("GET", ["blocks", id]) => path_id(id, "block_id").and_then(|id| {
            let json =
                block_json(store, &id).ok_or_else(|| NotionError::not_found("block", &id))?;
            Ok(NotionOk {
                body: json,
                created_id: None,
                wrote: false,
            })
        }),
        ("PATCH", ["blocks", id]) => path_id(id, "block_id")
            .and_then(|id| parse_body(body).and_then(|b| update(store, actor, &id, &b))),
        ("DELETE", ["blocks", id]) => {
            path_id(id, "block_id").and_then(|id| set_trash(store, actor, &id, true))
        }
        _ => return None,
    };
    Some(result)
}

/// What an id names when used as a block.
enum Target {
    Block,
    Page { in_trash: bool },
    Database { in_trash: bool },
}

fn target(store: &NotionStore, id: &str) -> Option<Target> {
    if store.blocks.contains_key(id) {
        return Some(Target::Block);
    }
    if let Some(page) = store.visible_page(id) {
        return Some(Target::Page {
            in_trash: page.in_trash,
        });
    }
    store
        .databases
        .get(id)
        .filter(|db| store.visible_page(&db.parent_page).is_some())
        .map(|db| Target::Database {
            in_trash: db.in_trash,
        })
}

/// The ids of a page's or block's children in order (trashed ones included): pages and
/// databases the scenario placed under a page first (by creation), then everything created
/// or appended through the API in its recorded order.
pub fn child_ids(store: &NotionStore, parent: &str) -> Vec<String> {
    let recorded = store.child_order.get(parent);
    let known = |id: &str| recorded.is_some_and(|r| r.iter().any(|k| k == id));
    let mut seeded: Vec<(u64, String)> = Vec::new();
    for page in store.pages.values() {
        if page.parent == PageParent::Page(parent.to_string()) && !known(&page.id) {
            seeded.push((page.seq, page.id.clone()));
        }
    }
    let mut dbs: Vec<_> = store
        .databases
        .values()
        .filter(|db| db.parent_page == parent && !known(&db.id))
        .collect();
    dbs.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
    seeded.sort();
    let mut out: Vec<String> = seeded.into_iter().map(|(_, id)| id).collect();
    out.extend(dbs.into_iter().map(|db| db.id.clone()));
    if let Some(recorded) = recorded {
        out.extend(recorded.iter().cloned());
    }
    out
}

fn child_in_trash(store: &NotionStore, id: &str) -> bool {
    match target(store, id) {
        Some(Target::Block) => store.blocks.get(id).is_none_or(|b| b.in_trash),
        Some(Target::Page { in_trash }) | Some(Target::Database { in_trash }) => in_trash,
        None => true,
    }
}

fn visible_children(store: &NotionStore, parent: &str) -> Vec<String> {
    child_ids(store, parent)
        .into_iter()
        .filter(|id| !child_in_trash(store, id))
        .collect()
}

/// A page's or block's live content for the admin API: `[{id, type, text, children}]`.
pub fn content_tree(store: &NotionStore, parent: &str) -> Value {
    Value::Array(
        visible_children(store, parent)
            .iter()
            .filter_map(|id| {
                let block = block_json(store, id)?;
                let kind = block["type"].as_str().unwrap_or_default().to_string();
                let text = block[&kind]["rich_text"]
                    .as_array()
                    .map(|runs| {
                        runs.iter()
                            .filter_map(|r| r["plain_text"].as_str())
                            .collect::<String>()
                    })
                    .or_else(|| block[&kind]["title"].as_str().map(str::to_string))
                    .unwrap_or_default();
                Some(json!({
                    "id": id,
                    "type": kind,
                    "text": text,
                    "children": content_tree(store, id),
                }))
            })
            .collect(),
    )
}

fn user_ref(id: &str) -> Value {
    json!({"object": "user", "id": id})
}

/// The read shape of a block, a page (as `child_page`) or a database (as `child_database`).
pub fn block_json(store: &NotionStore, id: &str) -> Option<Value> {
    let has_children = !visible_children(store, id).is_empty();
    match target(store, id)? {
        Target::Block => {
            let block = store.blocks.get(id)?;
            let parent = match &block.parent {
                BlockParent::Page(p) => json!({"type": "page_id", "page_id": p}),
                BlockParent::Block(b) => json!({"type": "block_id", "block_id": b}),
            };
            let mut map = Map::new();
            map.insert("object".into(), json!("block"));
            map.insert("id".into(), json!(block.id));
            map.insert("parent".into(), parent);
            map.insert("created_time".into(), json!(clock::notion(block.created)));
            map.insert(
                "last_edited_time".into(),
                json!(clock::notion(block.edited)),
            );
            map.insert("created_by".into(), user_ref(&block.created_by));
            map.insert("last_edited_by".into(), user_ref(&block.last_edited_by));
            map.insert("has_children".into(), json!(has_children));
            map.insert("archived".into(), json!(block.in_trash));
            map.insert("in_trash".into(), json!(block.in_trash));
            map.insert("type".into(), json!(block.kind));
            map.insert(block.kind.clone(), block.content.clone());
            Some(Value::Object(map))
        }
        Target::Page { in_trash } => {
            let page = store.visible_page(id)?;
            let parent = match &page.parent {
                PageParent::Page(p) => json!({"type": "page_id", "page_id": p}),
                PageParent::DataSource(ds) => json!({
                    "type": "data_source_id",
                    "data_source_id": ds,
                    "database_id": store.data_sources.get(ds).map(|d| d.database_id.clone()),
                }),
                PageParent::Workspace => json!({"type": "workspace", "workspace": true}),
            };
            let title = store.page_json(page, false)["properties"]
                .as_object()
                .and_then(|props| props.values().find(|v| v["type"] == "title"))
                .and_then(|v| v["title"].as_array())
                .map(|runs| {
                    runs.iter()
                        .filter_map(|r| r["plain_text"].as_str())
                        .collect::<String>()
                })
                .unwrap_or_default();
            Some(json!({
                "object": "block",
                "id": page.id,
                "parent": parent,
                "created_time": clock::notion(page.created),
                "last_edited_time": clock::notion(page.edited),
                "created_by": user_ref(&page.created_by),
                "last_edited_by": user_ref(&page.last_edited_by),
                "has_children": has_children,
                "archived": in_trash,
                "in_trash": in_trash,
                "type": "child_page",
                "child_page": {"title": title},
            }))
        }
        Target::Database { in_trash } => {
            let db = store.databases.get(id)?;
            Some(json!({
                "object": "block",
                "id": db.id,
                "parent": {"type": "page_id", "page_id": db.parent_page},
                "created_time": clock::notion(db.created),
                "last_edited_time": clock::notion(db.edited),
                "created_by": user_ref(&db.created_by),
                "last_edited_by": user_ref(&db.last_edited_by),
                "has_children": false,
                "archived": in_trash,
                "in_trash": in_trash,
                "type": "child_database",
                "child_database": {"title": super::model::plain_text(&db.title)},
            }))
        }
    }
}

fn list_children(
    store: &mut NotionStore,
    id: &str,
    query_pairs: &[(String, String)],
) -> Result<NotionOk, NotionError> {
    if target(store, id).is_none() {
        return Err(NotionError::not_found("block", id));
    }
    let get = |key: &str| {
        query_pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let page_size = get("page_size").map(|v| match v.parse::<u64>() {
        Ok(n) => json!(n),
        Err(_) => json!(v),
    });
    let start_cursor = get("start_cursor").map(Value::String);
    let request = query::parse_page_request(page_size.as_ref(), start_cursor.as_ref(), "query")?;
    let ordered = visible_children(store, id);
    let window = paginate(store, &format!("blocks:{id}"), &ordered, &request, None)?;
    let results: Vec<Value> = window
        .ids
        .iter()
        .filter_map(|child| block_json(store, child))
        .collect();
    Ok(NotionOk {
        body: list_envelope_of("block", results, window.next_cursor, window.has_more),
        created_id: None,
        wrote: false,
    })
}

fn parse_color(map: &Map<String, Value>, path: &str) -> Result<String, NotionError> {
    match map.get("color") {
        None => Ok("default".into()),
        Some(color) => {
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
            Ok(color.as_str().unwrap_or("default").to_string())
        }
    }
}

fn parse_bool(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<bool>, NotionError> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(NotionError::body(
            &format!("{path}.{key}"),
            "a boolean",
            &quoted(Some(other)),
        )),
    }
}

fn rich_text_field(map: &Map<String, Value>, key: &str, path: &str) -> Result<Value, NotionError> {
    let field_path = format!("{path}.{key}");
    match map.get(key) {
        Some(value) => Ok(rich_text_json(&values::parse_rich_text(
            value,
            &field_path,
        )?)),
        None => Err(NotionError::body(&field_path, "defined", "`undefined`")),
    }
}

fn no_other_keys(
    map: &Map<String, Value>,
    allowed: &[&str],
    path: &str,
) -> Result<(), NotionError> {
    for (key, value) in map {
        if !allowed.contains(&key.as_str()) {
            return Err(NotionError::body(
                &format!("{path}.{key}"),
                "not present",
                &quoted(Some(value)),
            ));
        }
    }
    Ok(())
}

/// The block's type: its `type` field, else the one type key it carries.
fn block_kind<'a>(map: &'a Map<String, Value>, path: &str) -> Result<&'a str, NotionError> {
    if let Some(declared) = map.get("type") {
        return declared
            .as_str()
            .filter(|kind| map.contains_key(*kind))
            .ok_or_else(|| {
                NotionError::body(
                    &format!("{path}.type"),
                    "the name of the block's type object",
                    &quoted(Some(declared)),
                )
            });
    }
    map.keys()
        .map(String::as_str)
        .find(|k| *k != "object")
        .ok_or_else(|| NotionError::body(&format!("{path}.type"), "defined", "`undefined`"))
}

/// Parses one block of a request at `path`, `depth` levels below the request's top level.
fn parse_block(
    store: &NotionStore,
    value: &Value,
    path: &str,
    depth: usize,
    elements: &mut usize,
) -> Result<NewBlock, NotionError> {
    *elements += 1;
    if *elements > MAX_BLOCK_ELEMENTS {
        return Err(NotionError::validation(format!(
            "body failed validation: the request holds more than {MAX_BLOCK_ELEMENTS} block elements."
        )));
    }
    let map = value
        .as_object()
        .ok_or_else(|| NotionError::body(path, "an object", &quoted(Some(value))))?;
    if let Some(object) = map.get("object") {
        if object != "block" {
            return Err(NotionError::body(
                &format!("{path}.object"),
                "`\"block\"`",
                &quoted(Some(object)),
            ));
        }
    }
    let kind = block_kind(map, path)?;
    no_other_keys(map, &["object", "type", kind], path)?;
    let body_path = format!("{path}.{kind}");
    let content_value = &map[kind];
    let content = content_value
        .as_object()
        .ok_or_else(|| NotionError::body(&body_path, "an object", &quoted(Some(content_value))))?;
    let children_of = |content: &Map<String, Value>,
                       elements: &mut usize,
                       table_width: Option<usize>|
     -> Result<Vec<NewBlock>, NotionError> {
        let Some(children) = content.get("children") else {
            return Ok(Vec::new());
        };
        let children_path = format!("{body_path}.children");
        if depth >= MAX_NESTING {
            return Err(NotionError::body(
                &children_path,
                "not present",
                &quoted(Some(children)),
            ));
        }
        let items = children.as_array().ok_or_else(|| {
            NotionError::body(&children_path, "an array", &quoted(Some(children)))
        })?;
        if items.len() > MAX_ARRAY {
            return Err(NotionError::body(
                &format!("{children_path}.length"),
                &format!("≤ `{MAX_ARRAY}`"),
                &format!("`{}`", items.len()),
            ));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{children_path}[{i}]");
            let child = parse_block(store, item, &item_path, depth + 1, elements)?;
            match (table_width, child.kind.as_str()) {
                (Some(width), "table_row") => {
                    let cells = child.content["cells"].as_array().map_or(0, Vec::len);
                    if cells != width {
                        return Err(NotionError::body(
                            &format!("{item_path}.table_row.cells.length"),
                            &format!("`{width}` (the table's table_width)"),
                            &format!("`{cells}`"),
                        ));
                    }
                }
                (Some(_), other) => {
                    return Err(NotionError::body(
                        &format!("{item_path}.type"),
                        "`\"table_row\"` (a table holds table rows only)",
                        &format!("`\"{other}\"`"),
                    ))
                }
                (None, "table_row") => {
                    return Err(NotionError::validation(format!(
                        "body failed validation: {item_path} is a table_row, which can only be a child of a table."
                    )))
                }
                _ => {}
            }
            out.push(child);
        }
        Ok(out)
    };
    let (stored, children) = if TEXT_TYPES.contains(&kind) {
        let mut allowed = vec!["rich_text", "color", "children"];
        match kind {
            "to_do" => allowed.push("checked"),
            "callout" => allowed.push("icon"),
            k if is_heading(k) => allowed.push("is_toggleable"),
            _ => {}
        }
        no_other_keys(content, &allowed, &body_path)?;
        let mut stored = Map::new();
        stored.insert(
            "rich_text".into(),
            rich_text_field(content, "rich_text", &body_path)?,
        );
        stored.insert("color".into(), json!(parse_color(content, &body_path)?));
        if is_heading(kind) {
            let toggleable = parse_bool(content, "is_toggleable", &body_path)?.unwrap_or(false);
            stored.insert("is_toggleable".into(), json!(toggleable));
            if !toggleable && content.contains_key("children") {
                return Err(NotionError::validation(format!(
                    "body failed validation: {body_path}.children can only be given for a heading with is_toggleable true."
                )));
            }
        }
        if kind == "to_do" {
            let checked = parse_bool(content, "checked", &body_path)?.unwrap_or(false);
            stored.insert("checked".into(), json!(checked));
        }
        if kind == "callout" {
            let icon = match content.get("icon") {
                None | Some(Value::Null) => Value::Null,
                Some(Value::Object(icon)) if icon.get("emoji").is_some_and(Value::is_string) => {
                    json!({"type": "emoji", "emoji": icon["emoji"]})
                }
                Some(other) => {
                    return Err(NotionError::body(
                        &format!("{body_path}.icon"),
                        "an emoji icon (the kodo sandbox emulates emoji icons only)",
                        &quoted(Some(other)),
                    ))
                }
            };
            stored.insert("icon".into(), icon);
        }
        let children = children_of(content, elements, None)?;
        (Value::Object(stored), children)
    } else {
        match kind {
            "divider" => {
                no_other_keys(content, &[], &body_path)?;
                (json!({}), Vec::new())
            }
            "table" => {
                no_other_keys(
                    content,
                    &[
                        "table_width",
                        "has_column_header",
                        "has_row_header",
                        "children",
                    ],
                    &body_path,
                )?;
                let width = match content.get("table_width") {
                    Some(Value::Number(n)) if n.as_u64().is_some_and(|w| w >= 1) => {
                        n.as_u64().unwrap_or(1) as usize
                    }
                    other => {
                        return Err(NotionError::body(
                            &format!("{body_path}.table_width"),
                            "a positive integer",
                            &quoted(other),
                        ))
                    }
                };
                let column = parse_bool(content, "has_column_header", &body_path)?.unwrap_or(false);
                let row = parse_bool(content, "has_row_header", &body_path)?.unwrap_or(false);
                if !content.contains_key("children") {
                    return Err(NotionError::body(
                        &format!("{body_path}.children"),
                        "defined",
                        "`undefined`",
                    ));
                }
                let rows = children_of(content, elements, Some(width))?;
                if rows.is_empty() {
                    return Err(NotionError::body(
                        &format!("{body_path}.children.length"),
                        "≥ `1`",
                        "`0`",
                    ));
                }
                (
                    json!({"table_width": width, "has_column_header": column, "has_row_header": row}),
                    rows,
                )
            }
            "table_row" => {
                no_other_keys(content, &["cells"], &body_path)?;
                (json!({"cells": parse_cells(content, &body_path)?}), Vec::new())
            }
            "link_to_page" => (parse_link_to_page(store, content, &body_path)?, Vec::new()),
            "child_page" | "child_database" => {
                return Err(NotionError::validation(format!(
                    "body failed validation: {path} is a {kind} block: create pages with POST /v1/pages (a page_id parent) and databases with POST /v1/databases."
                )))
            }
            other if UNEMULATED_BLOCKS.contains(&other) => {
                return Err(NotionError::validation(format!(
                    "The kodo sandbox does not emulate `{other}` blocks ({path})."
                )))
            }
            other => {
                return Err(NotionError::body(
                    &format!("{path}.{other}"),
                    "not present",
                    &quoted(Some(content_value)),
                ))
            }
        }
    };
    Ok(NewBlock {
        kind: kind.to_string(),
        content: stored,
        children,
    })
}

fn parse_cells(content: &Map<String, Value>, path: &str) -> Result<Value, NotionError> {
    let cells_path = format!("{path}.cells");
    let cells = content
        .get("cells")
        .ok_or_else(|| NotionError::body(&cells_path, "defined", "`undefined`"))?;
    let items = cells
        .as_array()
        .ok_or_else(|| NotionError::body(&cells_path, "an array", &quoted(Some(cells))))?;
    let mut out = Vec::with_capacity(items.len());
    for (i, cell) in items.iter().enumerate() {
        out.push(rich_text_json(&values::parse_rich_text(
            cell,
            &format!("{cells_path}[{i}]"),
        )?));
    }
    Ok(Value::Array(out))
}

fn parse_link_to_page(
    store: &NotionStore,
    content: &Map<String, Value>,
    path: &str,
) -> Result<Value, NotionError> {
    let kind = match content.get("type").and_then(Value::as_str) {
        Some(k) => k,
        None => ["page_id", "database_id"]
            .into_iter()
            .find(|k| content.contains_key(*k))
            .unwrap_or("page_id"),
    };
    if !["page_id", "database_id"].contains(&kind) {
        return Err(NotionError::body(
            &format!("{path}.type"),
            "`\"page_id\"` or `\"database_id\"`",
            &quoted(content.get("type")),
        ));
    }
    no_other_keys(content, &["type", kind], path)?;
    let raw = content.get(kind);
    let id = raw
        .and_then(Value::as_str)
        .and_then(crate::ids::normalize)
        .ok_or_else(|| {
            NotionError::body(&format!("{path}.{kind}"), "a valid uuid", &quoted(raw))
        })?;
    match (kind, target(store, &id)) {
        ("page_id", Some(Target::Page { .. })) | ("database_id", Some(Target::Database { .. })) => {
        }
        ("page_id", _) => return Err(NotionError::not_found("page", &id)),
        _ => return Err(NotionError::not_found("database", &id)),
    }
    Ok(json!({"type": kind, kind: id}))
}

/// Where an append inserts: the index in the parent's recorded child order.
fn insert_at(
    store: &NotionStore,
    parent: &str,
    body: &Map<String, Value>,
) -> Result<Option<usize>, NotionError> {
    let after = match (body.get("after"), body.get("position")) {
        (Some(_), Some(_)) => {
            return Err(NotionError::validation(
                "body failed validation: body.after and body.position cannot both be given (use body.position).",
            ))
        }
        (Some(raw), None) => Some(
            raw.as_str()
                .and_then(crate::ids::normalize)
                .ok_or_else(|| NotionError::body("body.after", "a valid uuid", &quoted(Some(raw))))?,
        ),
        (None, Some(position)) => {
            let map = position.as_object().ok_or_else(|| {
                NotionError::body("body.position", "an object", &quoted(Some(position)))
            })?;
            match map.get("type").and_then(Value::as_str) {
                Some("end") => None,
                Some("start") => return Ok(Some(0)),
                Some("after_block") => {
                    let raw = map.get("after_block").and_then(|a| a.get("id"));
                    Some(raw.and_then(Value::as_str).and_then(crate::ids::normalize).ok_or_else(
                        || {
                            NotionError::body(
                                "body.position.after_block.id",
                                "a valid uuid",
                                &quoted(raw),
                            )
                        },
                    )?)
                }
                _ => {
                    return Err(NotionError::body(
                        "body.position.type",
                        "`\"after_block\"`, `\"start\"`, or `\"end\"`",
                        &quoted(map.get("type")),
                    ))
                }
            }
        }
        (None, None) => None,
    };
    let Some(after) = after else {
        return Ok(None);
    };
    let all = child_ids(store, parent);
    if !all.contains(&after) || child_in_trash(store, &after) {
        return Err(NotionError::validation(format!(
            "Block {after} is not a child of {parent}: body.after must name a child of the block appended to."
        )));
    }
    // The recorded order holds API-created children; seeded ones come before it.
    let recorded = store.child_order.get(parent);
    Ok(Some(
        match recorded.and_then(|r| r.iter().position(|id| *id == after)) {
            Some(at) => at + 1,
            None => 0,
        },
    ))
}

fn append(
    store: &mut NotionStore,
    actor: &Actor,
    parent: &str,
    body: &Value,
) -> Result<NotionOk, NotionError> {
    only_keys(body, &["children", "after", "position"])?;
    let (parent_kind, parent_trashed) = match target(store, parent) {
        None => return Err(NotionError::not_found("block", parent)),
        Some(Target::Database { .. }) => {
            return Err(NotionError::validation(
                "A database's content is its rows: create pages in one of its data sources with POST /v1/pages.",
            ))
        }
        Some(Target::Page { in_trash }) => (BlockParent::Page(parent.to_string()), in_trash),
        Some(Target::Block) => {
            let block = &store.blocks[parent];
            if !TEXT_TYPES.contains(&block.kind.as_str()) || is_heading(&block.kind) && block.content["is_toggleable"] != true {
                return Err(NotionError::validation(format!(
                    "Block {parent} is a {} block, which cannot have children appended.",
                    block.kind
                )));
            }
            (BlockParent::Block(parent.to_string()), block.in_trash)
        }
    };
    if parent_trashed {
        return Err(NotionError::validation(
            "Can't edit block that is archived. You must unarchive the block before editing.",
        ));
    }
    let map = body_map(body);
    let children = match map.get("children") {
        None => return Err(NotionError::body("body.children", "defined", "`undefined`")),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(NotionError::body(
                "body.children",
                "an array",
                &quoted(Some(other)),
            ))
        }
    };
    if children.len() > MAX_ARRAY {
        return Err(NotionError::body(
            "body.children.length",
            &format!("≤ `{MAX_ARRAY}`"),
            &format!("`{}`", children.len()),
        ));
    }
    let mut elements = 0;
    let parsed = children
        .iter()
        .enumerate()
        .map(|(i, c)| parse_block(store, c, &format!("body.children[{i}]"), 0, &mut elements))
        .collect::<Result<Vec<_>, _>>()?;
    let at = insert_at(store, parent, map)?;
    let ids = insert_blocks(store, actor, parent_kind, parsed, at);
    let results: Vec<Value> = ids.iter().filter_map(|id| block_json(store, id)).collect();
    touch_parent(store, actor, parent);
    Ok(NotionOk {
        body: list_envelope_of("block", results, None, false),
        created_id: None,
        wrote: true,
    })
}

/// Stores parsed blocks under `parent` at `at` (the end when `None`); the new ids in order.
fn insert_blocks(
    store: &mut NotionStore,
    actor: &Actor,
    parent: BlockParent,
    blocks: Vec<NewBlock>,
    at: Option<usize>,
) -> Vec<String> {
    let parent_id = match &parent {
        BlockParent::Page(id) | BlockParent::Block(id) => id.clone(),
    };
    let now = clock::now();
    let mut ids = Vec::with_capacity(blocks.len());
    for new in blocks {
        let id = store.new_id();
        store.blocks.insert(
            id.clone(),
            Block {
                id: id.clone(),
                parent: parent.clone(),
                kind: new.kind,
                content: new.content,
                created: now,
                edited: now,
                created_by: actor.user_id.clone(),
                last_edited_by: actor.user_id.clone(),
                in_trash: false,
            },
        );
        insert_blocks(
            store,
            actor,
            BlockParent::Block(id.clone()),
            new.children,
            None,
        );
        ids.push(id);
    }
    let order = store.child_order.entry(parent_id).or_default();
    let at = at.unwrap_or(order.len()).min(order.len());
    order.splice(at..at, ids.iter().cloned());
    ids
}

fn touch_parent(store: &mut NotionStore, actor: &Actor, parent: &str) {
    let now = clock::now();
    if let Some(page) = store.pages.get_mut(parent) {
        page.edited = now;
        page.last_edited_by = actor.user_id.clone();
    } else if let Some(block) = store.blocks.get_mut(parent) {
        block.edited = now;
        block.last_edited_by = actor.user_id.clone();
    }
}

/// Validates `children` of a page create (`POST /v1/pages`) and stores them under the new
/// page: the same rules as an append.
pub fn parse_page_children(store: &NotionStore, children: &[Value]) -> Result<(), NotionError> {
    let mut elements = 0;
    for (i, child) in children.iter().enumerate() {
        parse_block(
            store,
            child,
            &format!("body.children[{i}]"),
            0,
            &mut elements,
        )?;
    }
    Ok(())
}

/// Stores a new page's `children` (already validated by [`parse_page_children`]).
pub fn store_page_children(store: &mut NotionStore, actor: &Actor, page: &str, children: &[Value]) {
    let mut elements = 0;
    let parsed: Vec<NewBlock> = children
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            parse_block(store, c, &format!("body.children[{i}]"), 0, &mut elements).ok()
        })
        .collect();
    insert_blocks(
        store,
        actor,
        BlockParent::Page(page.to_string()),
        parsed,
        None,
    );
}

fn update(
    store: &mut NotionStore,
    actor: &Actor,
    id: &str,
    body: &Value,
) -> Result<NotionOk, NotionError> {
    let map = body_map(body);
    match target(store, id) {
        None => return Err(NotionError::not_found("block", id)),
        Some(Target::Page { .. }) | Some(Target::Database { .. }) => {
            only_keys(body, &["in_trash", "archived"])?;
        }
        Some(Target::Block) => {}
    }
    let trash = match (map.get("in_trash"), map.get("archived")) {
        (Some(a), Some(b)) if a != b => {
            return Err(NotionError::validation(
                "body failed validation: body.in_trash and body.archived should match when both are given.",
            ))
        }
        (Some(v), _) | (None, Some(v)) => Some(v.as_bool().ok_or_else(|| {
            NotionError::body("body.in_trash", "a boolean", &quoted(Some(v)))
        })?),
        (None, None) => None,
    };
    let Some(block) = store.blocks.get(id).cloned() else {
        return match trash {
            Some(flag) => set_trash(store, actor, id, flag),
            None => Ok(NotionOk {
                body: block_json(store, id).unwrap_or(Value::Null),
                created_id: None,
                wrote: false,
            }),
        };
    };
    let kind = block.kind.as_str();
    for (key, value) in map {
        if !["in_trash", "archived", "type", kind].contains(&key.as_str()) {
            return Err(NotionError::body(
                &format!("body.{key}"),
                "not present",
                &quoted(Some(value)),
            ));
        }
    }
    if let Some(declared) = map.get("type") {
        if declared.as_str() != Some(kind) {
            return Err(NotionError::body(
                "body.type",
                &format!("`\"{kind}\"` (a block's type cannot be changed)"),
                &quoted(Some(declared)),
            ));
        }
    }
    let mut content = block.content.clone();
    if let Some(change) = map.get(kind) {
        if block.in_trash && trash != Some(false) {
            return Err(NotionError::validation(
                "Can't edit block that is archived. You must unarchive the block before editing.",
            ));
        }
        let path = format!("body.{kind}");
        let change = change
            .as_object()
            .ok_or_else(|| NotionError::body(&path, "an object", &quoted(Some(change))))?;
        let slot = content.as_object_mut();
        let Some(slot) = slot else {
            return Err(NotionError::validation("block content is not an object"));
        };
        if TEXT_TYPES.contains(&kind) {
            let mut allowed = vec!["rich_text", "color"];
            match kind {
                "to_do" => allowed.push("checked"),
                "callout" => allowed.push("icon"),
                k if is_heading(k) => allowed.push("is_toggleable"),
                _ => {}
            }
            no_other_keys(change, &allowed, &path)?;
            if change.contains_key("rich_text") {
                slot.insert(
                    "rich_text".into(),
                    rich_text_field(change, "rich_text", &path)?,
                );
            }
            if change.contains_key("color") {
                slot.insert("color".into(), json!(parse_color(change, &path)?));
            }
            for flag in ["checked", "is_toggleable"] {
                if let Some(v) = parse_bool(change, flag, &path)? {
                    slot.insert(flag.into(), json!(v));
                }
            }
            if let Some(icon) = change.get("icon") {
                slot.insert("icon".into(), icon.clone());
            }
        } else if kind == "table" {
            if change.contains_key("table_width") {
                return Err(NotionError::validation(
                    "body failed validation: body.table.table_width cannot be changed: a table's width is set when it is created.",
                ));
            }
            no_other_keys(change, &["has_column_header", "has_row_header"], &path)?;
            for flag in ["has_column_header", "has_row_header"] {
                if let Some(v) = parse_bool(change, flag, &path)? {
                    slot.insert(flag.into(), json!(v));
                }
            }
        } else if kind == "table_row" {
            no_other_keys(change, &["cells"], &path)?;
            let cells = parse_cells(change, &path)?;
            let width = match &block.parent {
                BlockParent::Block(table) => store
                    .blocks
                    .get(table)
                    .and_then(|t| t.content["table_width"].as_u64())
                    .unwrap_or(0) as usize,
                BlockParent::Page(_) => 0,
            };
            let given = cells.as_array().map_or(0, Vec::len);
            if given != width {
                return Err(NotionError::body(
                    "body.table_row.cells.length",
                    &format!("`{width}` (the table's table_width)"),
                    &format!("`{given}`"),
                ));
            }
            slot.insert("cells".into(), cells);
        } else if kind == "link_to_page" {
            *slot = parse_link_to_page(store, change, &path)?
                .as_object()
                .cloned()
                .unwrap_or_default();
        } else {
            no_other_keys(change, &[], &path)?;
        }
    }
    let now = clock::now();
    if let Some(stored) = store.blocks.get_mut(id) {
        stored.content = content;
        if let Some(flag) = trash {
            stored.in_trash = flag;
        }
        stored.edited = now;
        stored.last_edited_by = actor.user_id.clone();
    }
    Ok(NotionOk {
        body: block_json(store, id).unwrap_or(Value::Null),
        created_id: None,
        wrote: true,
    })
}

/// `DELETE /v1/blocks/{id}` ("Sets a Block object, including page blocks, to
/// `in_trash: true`": developers.notion.com/reference/delete-a-block), and the trash flag of
/// a block update.
fn set_trash(
    store: &mut NotionStore,
    actor: &Actor,
    id: &str,
    flag: bool,
) -> Result<NotionOk, NotionError> {
    let now = clock::now();
    match target(store, id) {
        None => return Err(NotionError::not_found("block", id)),
        Some(Target::Block) => {
            let block = store
                .blocks
                .get_mut(id)
                .ok_or_else(|| NotionError::not_found("block", id))?;
            if flag && block.in_trash {
                return Err(NotionError::validation(
                    "Can't edit block that is archived. You must unarchive the block before editing.",
                ));
            }
            block.in_trash = flag;
            block.edited = now;
            block.last_edited_by = actor.user_id.clone();
        }
        Some(Target::Page { in_trash }) => {
            if flag && in_trash {
                return Err(NotionError::validation(
                    "Can't edit block that is archived. You must unarchive the block before editing.",
                ));
            }
            if let Some(page) = store.pages.get_mut(id) {
                page.in_trash = flag;
                page.edited = now;
                page.last_edited_by = actor.user_id.clone();
            }
        }
        Some(Target::Database { .. }) => {
            if let Some(db) = store.databases.get_mut(id) {
                db.in_trash = flag;
                db.edited = now;
                db.last_edited_by = actor.user_id.clone();
            }
        }
    }
    Ok(NotionOk {
        body: block_json(store, id).unwrap_or(Value::Null),
        created_id: None,
        wrote: true,
    })
}
