//! The admin API (`/__admin/…`): inspect the whole state and the request log, change
//! faults and the rate limit at run time, and make changes as a person would in the
//! PostHog and Notion apps.
//!
//! Invariant: admin requests bypass authentication, rate limits, faults and the request
//! log, but Notion page writes still go through the public API's validation.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::limits::SlidingWindow;
use crate::notion::{self, NotionError};
use crate::options::FaultConfig;
use crate::posthog::Resource;
use crate::server::{lock, Shared};

/// The Notion rate limit in force, as `GET /__admin/rate_limit` shows it.
fn rate_limit(shared: &Shared) -> Value {
    let (budget, window) = lock(&shared.notion_budget).config();
    json!({
        "requests_per_window": budget,
        "window_secs": window.as_secs_f64(),
        "blocked": *lock(&shared.notion_blocked),
    })
}

/// Notion's per-workspace limit, as `GET /__admin/workspace_rate_limit` shows it.
fn workspace_rate_limit(shared: &Shared) -> Value {
    match lock(&shared.notion_workspace).as_ref().map(|w| w.config()) {
        Some((budget, window)) => {
            json!({"requests_per_window": budget, "window_secs": window.as_secs_f64()})
        }
        None => json!({"requests_per_window": 0, "window_secs": null}),
    }
}

fn error(status: u16, message: impl Into<String>) -> (u16, Value) {
    (status, json!({"error": message.into()}))
}

fn notion_error(e: NotionError) -> (u16, Value) {
    (e.status, e.to_json("admin"))
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, (u16, Value)> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(error(400, "the body must be a JSON object")),
        Err(e) => Err(error(400, format!("the body is not JSON: {e}"))),
    }
}

/// The whole state as JSON, trashed and deleted objects included.
pub fn state(shared: &Shared) -> Value {
    let notion = lock(&shared.notion);
    let mut databases: Vec<_> = notion.databases.values().collect();
    databases.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
    let mut data_sources: Vec<_> = notion.data_sources.values().collect();
    data_sources.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
    let mut pages: Vec<_> = notion.pages.values().collect();
    pages.sort_by_key(|p| p.seq);
    let mut users: Vec<Value> = notion
        .users
        .iter()
        .map(|u| json!({"id": u.id, "name": u.name, "email": u.email, "type": "person", "guest": u.guest}))
        .collect();
    users.extend(notion.removed_users.iter().map(
        |u| json!({"id": u.id, "name": u.name, "email": u.email, "type": "person", "removed": true}),
    ));
    users.push(json!({"id": notion.bot.id, "name": notion.bot.name, "type": "bot"}));
    let notion_json = json!({
        "workspace_name": notion.workspace_name,
        "users": users,
        "databases": databases.iter().map(|d| notion.database_json(d)).collect::<Vec<_>>(),
        "data_sources": data_sources.iter().map(|d| notion.data_source_json(d)).collect::<Vec<_>>(),
        "pages": pages.iter().map(|p| {
            let mut page = notion.page_json(p, false);
            if let Some(map) = page.as_object_mut() {
                map.insert("shared".into(), json!(p.shared));
                if !p.children.is_empty() {
                    map.insert("children".into(), json!(p.children));
                }
            }
            page
        }).collect::<Vec<_>>(),
    });
    drop(notion);
    let posthog = lock(&shared.posthog).state_json();
    json!({"notion": notion_json, "posthog": posthog})
}

/// Routes one admin request; `rest` is the path after `/__admin`.
pub fn handle(
    shared: &Shared,
    method: &str,
    rest: &str,
    _query: &[(String, String)],
    body: &[u8],
) -> (u16, Value) {
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["state"]) => (200, state(shared)),
        ("GET", ["requests"]) => (200, json!(*lock(&shared.log))),
        // A page's or block's content as a person sees it: the children not in the trash,
        // in order, each with its type, plain text and its own children.
        ("GET", ["blocks", id]) => {
            let Some(id) = crate::ids::normalize(id) else {
                return error(400, format!("not a block id: {id}"));
            };
            let notion = lock(&shared.notion);
            (200, crate::notion::blocks::content_tree(&notion, &id))
        }
        ("DELETE", ["requests"]) => {
            lock(&shared.log).clear();
            (200, json!({"cleared": true}))
        }
        ("GET", ["faults"]) => (200, json!(lock(&shared.faults).config())),
        ("PUT", ["faults"]) => {
            let config: FaultConfig = match serde_json::from_slice(body) {
                Ok(config) => config,
                Err(e) => return error(400, format!("not a fault configuration: {e}")),
            };
            if let Err(e) = config.validate() {
                return error(400, e.to_string());
            }
            lock(&shared.faults).set_config(config.clone());
            (200, json!(config))
        }
        ("PUT", ["block_limit"]) => {
            let map = match parse_object(body) {
                Ok(map) => map,
                Err(e) => return e,
            };
            match map.get("reached").and_then(Value::as_bool) {
                Some(reached) => {
                    *lock(&shared.notion_block_limit) = reached;
                    (200, json!({"reached": reached}))
                }
                None => error(400, "expected {\"reached\": boolean}"),
            }
        }
        ("GET", ["rate_limit"]) => (200, rate_limit(shared)),
        ("PUT", ["rate_limit"]) => {
            let map = match parse_object(body) {
                Ok(map) => map,
                Err(e) => return e,
            };
            let (budget, window) = budget_and_window(&map);
            let blocked = map.get("blocked").map(Value::as_bool);
            match (budget, window, blocked) {
                (Some(budget), Some(window), None | Some(Some(_)))
                    if budget <= u64::from(u32::MAX) =>
                {
                    lock(&shared.notion_budget).reconfigure(budget as u32, window);
                    if let Some(Some(b)) = blocked {
                        *lock(&shared.notion_blocked) = b;
                    }
                    (200, rate_limit(shared))
                }
                _ => error(
                    400,
                    "expected {\"requests_per_window\": integer, \"window_secs\": number > 0, \"blocked\"?: boolean}",
                ),
            }
        }
        ("GET", ["workspace_rate_limit"]) => (200, workspace_rate_limit(shared)),
        ("PUT", ["workspace_rate_limit"]) => {
            let map = match parse_object(body) {
                Ok(map) => map,
                Err(e) => return e,
            };
            let (budget, window) = budget_and_window(&map);
            match (budget, window) {
                (Some(0), _) => {
                    *lock(&shared.notion_workspace) = None;
                    (200, workspace_rate_limit(shared))
                }
                (Some(budget), Some(window)) if budget <= u64::from(u32::MAX) => {
                    *lock(&shared.notion_workspace) =
                        Some(crate::limits::WindowBudget::new(budget as u32, window));
                    (200, workspace_rate_limit(shared))
                }
                _ => error(
                    400,
                    "expected {\"requests_per_window\": integer (0 = off), \"window_secs\": number > 0}",
                ),
            }
        }
        ("GET", ["posthog_list_shift"]) => {
            (200, json!({"list_shift": lock(&shared.posthog).list_shift}))
        }
        ("PUT", ["posthog_list_shift"]) => {
            let map = match parse_object(body) {
                Ok(map) => map,
                Err(e) => return e,
            };
            match map.get("list_shift").and_then(Value::as_u64) {
                Some(shift) => {
                    lock(&shared.posthog).list_shift = shift as usize;
                    (200, json!({"list_shift": shift}))
                }
                None => error(400, "expected {\"list_shift\": integer >= 0}"),
            }
        }
        ("GET", ["posthog_list_reseen"]) => (
            200,
            json!({"list_reseen": lock(&shared.posthog).list_reseen}),
        ),
        ("PUT", ["posthog_list_reseen"]) => {
            let map = match parse_object(body) {
                Ok(map) => map,
                Err(e) => return e,
            };
            match map.get("list_reseen").and_then(Value::as_u64) {
                Some(n) => {
                    lock(&shared.posthog).list_reseen = n as usize;
                    (200, json!({"list_reseen": n}))
                }
                None => error(400, "expected {\"list_reseen\": integer >= 0}"),
            }
        }
        ("GET", ["posthog_rate_limit"]) => {
            let burst = lock(&shared.posthog_burst).config();
            let sustained = lock(&shared.posthog_sustained).config();
            (200, posthog_limits_json(burst, sustained))
        }
        ("PUT", ["posthog_rate_limit"]) => {
            let map = match parse_object(body) {
                Ok(map) => map,
                Err(e) => return e,
            };
            let window = |name: &str| {
                let w = map.get(name)?;
                let limit = w.get("limit").and_then(Value::as_u64)?;
                let seconds = w.get("seconds").and_then(Value::as_f64)?;
                (seconds > 0.0 && seconds.is_finite())
                    .then(|| (limit as usize, Duration::from_secs_f64(seconds)))
            };
            match (window("burst"), window("sustained")) {
                (Some(burst), Some(sustained)) => {
                    *lock(&shared.posthog_burst) = SlidingWindow::new(burst.0, burst.1);
                    *lock(&shared.posthog_sustained) = SlidingWindow::new(sustained.0, sustained.1);
                    (200, posthog_limits_json(burst, sustained))
                }
                _ => error(
                    400,
                    "expected {\"burst\": {\"limit\": n, \"seconds\": s}, \"sustained\": {\"limit\": n, \"seconds\": s}}",
                ),
            }
        }
        ("DELETE", ["posthog", "members", email]) => {
            if lock(&shared.posthog).remove_member(email) {
                (200, json!({"removed": email}))
            } else {
                error(404, format!("no member `{email}` in the organization"))
            }
        }
        ("POST", ["posthog", "property_definitions"]) => {
            let map = match parse_object(body) {
                Ok(map) => map,
                Err(e) => return e,
            };
            let name = map.get("name").and_then(Value::as_str).unwrap_or_default();
            let property_type = map.get("property_type").and_then(Value::as_str);
            let events: Vec<String> = map
                .get("events")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect();
            let mut posthog = lock(&shared.posthog);
            let id = crate::ids::stable_uuid(&format!("property/{name}"));
            match posthog.properties.record(id, name, property_type, &events) {
                Ok(()) => (201, posthog.properties.state_json()),
                Err(e) => (e.status, e.to_json()),
            }
        }
        (_, ["posthog", resource, rest @ ..]) => {
            let Some(resource) = Resource::from_segment(resource) else {
                return error(404, format!("unknown PostHog resource `{resource}`"));
            };
            let map = match parse_object(body) {
                Ok(map) => map,
                Err(e) => return e,
            };
            let mut posthog = lock(&shared.posthog);
            let result = match (method, rest) {
                ("POST", []) => posthog.admin_create(resource, &map).map(|v| (201, v)),
                ("PATCH", [id]) => posthog.admin_update(resource, id, &map).map(|v| (200, v)),
                ("DELETE", [id]) if resource == Resource::EventDefinitions => posthog
                    .delete_event_definition(id)
                    .map(|()| (200, json!({"deleted": id}))),
                _ => return error(405, format!("{method} is not supported on this admin path")),
            };
            result.unwrap_or_else(|e| (e.status, e.to_json()))
        }
        ("DELETE", ["notion", "users", id]) => {
            let mut store = lock(&shared.notion);
            let Some(id) = crate::ids::normalize(id) else {
                return error(400, format!("`{id}` is not a user id"));
            };
            if store.remove_user(&id) {
                (200, json!({"removed": id}))
            } else {
                error(404, format!("no person `{id}` in the workspace"))
            }
        }
        (_, ["notion", kind, rest @ ..]) => {
            let mut store = lock(&shared.notion);
            let Some(person) = store.users.first().map(|u| u.id.clone()) else {
                return error(500, "the workspace has no person to act as");
            };
            let actor = notion::Actor { user_id: person };
            let result = match (method, *kind, rest) {
                ("POST", "pages", []) => {
                    notion::api::handle(&mut store, &actor, "POST", &["pages"], &[], body)
                }
                ("PATCH", "pages", [id]) => {
                    notion::api::handle(&mut store, &actor, "PATCH", &["pages", id], &[], body)
                }
                ("PATCH", "data_sources", [id]) => notion::api::handle(
                    &mut store,
                    &actor,
                    "PATCH",
                    &["data_sources", id],
                    &[],
                    body,
                ),
                ("POST", "databases", []) => {
                    notion::api::handle(&mut store, &actor, "POST", &["databases"], &[], body)
                }
                // A person writing on a page in the app: append, edit, delete blocks.
                ("PATCH", "blocks", [id, "children"]) => notion::api::handle(
                    &mut store,
                    &actor,
                    "PATCH",
                    &["blocks", id, "children"],
                    &[],
                    body,
                ),
                ("PATCH" | "DELETE", "blocks", [id]) => {
                    notion::api::handle(&mut store, &actor, method, &["blocks", id], &[], body)
                }
                _ => return error(405, format!("{method} is not supported on this admin path")),
            };
            match result {
                Ok(ok) => (200, ok.body),
                Err(e) => notion_error(e),
            }
        }
        _ => error(404, format!("no admin endpoint {method} /__admin{rest}")),
    }
}

/// A rate-limit body's `requests_per_window` (an integer) and `window_secs` (a number above 0),
/// each `None` when missing or malformed.
fn budget_and_window(map: &Map<String, Value>) -> (Option<u64>, Option<std::time::Duration>) {
    let budget = map.get("requests_per_window").and_then(Value::as_u64);
    let window = map
        .get("window_secs")
        .and_then(Value::as_f64)
        .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
        .filter(|w| !w.is_zero());
    (budget, window)
}

fn posthog_limits_json(burst: (usize, Duration), sustained: (usize, Duration)) -> Value {
    json!({
        "burst": {"limit": burst.0, "seconds": burst.1.as_secs_f64()},
        "sustained": {"limit": sustained.0, "seconds": sustained.1.as_secs_f64()},
    })
}
