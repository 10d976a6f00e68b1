//! The block endpoints against a running sandbox: children of a page (with its databases
//! and sub-pages as `child_database` / `child_page` blocks), append with its limits and
//! positions, update, delete, pagination and the validation errors.

mod common;

use common::*;
use serde_json::{json, Value};

fn paragraph(text: &str) -> Value {
    json!({"object": "block", "type": "paragraph", "paragraph": {"rich_text": [{"type": "text", "text": {"content": text}}]}})
}

fn plain(block: &Value) -> String {
    let kind = block["type"].as_str().unwrap_or_default();
    block[kind]["rich_text"]
        .as_array()
        .map(|runs| {
            runs.iter()
                .filter_map(|r| r["plain_text"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

async fn children(env: &Env, id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/blocks/{id}/children?page_size=100");
        if let Some(c) = &cursor {
            path.push_str(&format!("&start_cursor={c}"));
        }
        let answer = env.notion("GET", &path, None).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["object"], "list");
        assert_eq!(answer.body["type"], "block");
        out.extend(answer.body["results"].as_array().unwrap().iter().cloned());
        match answer.body["next_cursor"].as_str() {
            Some(next) if answer.body["has_more"] == true => cursor = Some(next.to_string()),
            _ => return out,
        }
    }
}

#[tokio::test]
async fn a_page_lists_its_databases_and_appended_blocks_in_order() {
    let env = start("demo").await;
    let before = children(&env, ANALYTICS_HOME).await;
    // The demo keeps the Events database on its Tracking Plan page, the others on the home.
    assert!(before
        .iter()
        .any(|b| b["type"] == "child_database" && b["child_database"]["title"] == "Feature Flags"));
    assert!(before
        .iter()
        .any(|b| b["type"] == "child_page" && b["child_page"]["title"] == "Tracking Plan"));
    let answer = env
        .notion(
            "PATCH",
            &format!("/v1/blocks/{ANALYTICS_HOME}/children"),
            Some(json!({"children": [paragraph("one"), paragraph("three")]})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let created = answer.body["results"].as_array().unwrap().clone();
    assert_eq!(created.len(), 2);
    assert_eq!(created[0]["parent"]["type"], "page_id");
    assert_eq!(created[0]["in_trash"], false);
    assert_eq!(created[0]["paragraph"]["color"], "default");
    // `after` (2025-09-03) and `position` (the SDK's newer parameter) insert in between.
    let first = created[0]["id"].as_str().unwrap();
    let answer = env
        .notion(
            "PATCH",
            &format!("/v1/blocks/{ANALYTICS_HOME}/children"),
            Some(json!({"children": [paragraph("two")], "after": first})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = env
        .notion(
            "PATCH",
            &format!("/v1/blocks/{ANALYTICS_HOME}/children"),
            Some(json!({"children": [paragraph("zero")], "position": {"type": "start"}})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let texts: Vec<String> = children(&env, ANALYTICS_HOME)
        .await
        .iter()
        .filter(|b| b["type"] == "paragraph")
        .map(plain)
        .collect();
    assert_eq!(texts, ["zero", "one", "two", "three"]);
    let both = env
        .notion(
            "PATCH",
            &format!("/v1/blocks/{ANALYTICS_HOME}/children"),
            Some(
                json!({"children": [paragraph("x")], "after": first, "position": {"type": "end"}}),
            ),
        )
        .await;
    assert_eq!(both.status, 400);
}

#[tokio::test]
async fn a_sub_page_is_a_child_page_block_and_its_content_reads_back() {
    let env = start("demo").await;
    let answer = env
        .notion(
            "POST",
            "/v1/pages",
            Some(json!({
                "parent": {"type": "page_id", "page_id": ANALYTICS_HOME},
                "properties": {"title": {"title": [{"type": "text", "text": {"content": "Tracking Plan"}}]}},
                "children": [paragraph("hello"), {"divider": {}}],
            })),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let page = answer.body["id"].as_str().unwrap().to_string();
    let home = children(&env, ANALYTICS_HOME).await;
    let last = home.last().unwrap();
    assert_eq!(last["type"], "child_page");
    assert_eq!(last["id"], page.as_str());
    assert_eq!(last["child_page"]["title"], "Tracking Plan");
    assert_eq!(last["has_children"], true);
    let content = children(&env, &page).await;
    assert_eq!(content.len(), 2);
    assert_eq!(plain(&content[0]), "hello");
    assert_eq!(content[1]["type"], "divider");
    let block = env.notion("GET", &format!("/v1/blocks/{page}"), None).await;
    assert_eq!(block.body["type"], "child_page");
}

#[tokio::test]
async fn limits_on_children_nesting_and_text_are_notions() {
    let env = start("demo").await;
    let path = format!("/v1/blocks/{ANALYTICS_HOME}/children");
    let many: Vec<Value> = (0..101).map(|i| paragraph(&i.to_string())).collect();
    let answer = env
        .notion("PATCH", &path, Some(json!({"children": many})))
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["code"], "validation_error");
    assert_eq!(
        answer.body["message"],
        "body failed validation: body.children.length should be ≤ `100`, instead was `101`."
    );
    let long = "é".repeat(2001);
    let answer = env
        .notion(
            "PATCH",
            &path,
            Some(json!({"children": [paragraph(&long)]})),
        )
        .await;
    assert_eq!(
        answer.body["message"],
        "body failed validation: body.children[0].paragraph.rich_text[0].text.content.length should be ≤ `2000`, instead was `2001`."
    );
    // Two levels of nesting in one request, not three.
    let item =
        |children: Value| json!({"bulleted_list_item": {"rich_text": [], "children": children}});
    let two = item(json!([item(json!([paragraph("deep")]))]));
    let answer = env
        .notion("PATCH", &path, Some(json!({"children": [two]})))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let three = item(json!([item(json!([item(json!([paragraph("too deep")]))]))]));
    let answer = env
        .notion("PATCH", &path, Some(json!({"children": [three]})))
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.body["message"]
        .as_str()
        .unwrap()
        .starts_with("body failed validation: body.children[0].bulleted_list_item.children[0].bulleted_list_item.children[0].bulleted_list_item.children should be not present"));
    // A table's rows match its width.
    let row = |cells: usize| json!({"table_row": {"cells": vec![json!([{"text": {"content": "c"}}]); cells]}});
    let table = |rows: Value| json!({"table": {"table_width": 2, "has_column_header": true, "children": rows}});
    let answer = env
        .notion(
            "PATCH",
            &path,
            Some(json!({"children": [table(json!([row(2), row(2)]))]})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let table_id = answer.body["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(children(&env, &table_id).await.len(), 2);
    let answer = env
        .notion(
            "PATCH",
            &path,
            Some(json!({"children": [table(json!([row(3)]))]})),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["message"],
        "body failed validation: body.children[0].table.children[0].table_row.cells.length should be `2` (the table's table_width), instead was `3`."
    );
    let answer = env
        .notion(
            "PATCH",
            &path,
            Some(json!({"children": [{"paragraph": {"rich_text": []}, "extra": 1}]})),
        )
        .await;
    assert_eq!(
        answer.body["message"],
        "body failed validation: body.children[0].extra should be not present, instead was `1`."
    );
    let answer = env
        .notion(
            "PATCH",
            &format!("/v1/blocks/{table_id}"),
            Some(json!({"table": {"table_width": 3}})),
        )
        .await;
    assert_eq!(answer.status, 400);
}

#[tokio::test]
async fn update_and_delete_change_one_block_and_trash_hides_it() {
    let env = start("demo").await;
    let path = format!("/v1/blocks/{ANALYTICS_HOME}/children");
    let answer = env
        .notion(
            "PATCH",
            &path,
            Some(json!({"children": [paragraph("keep"), paragraph("edit"), paragraph("drop")]})),
        )
        .await;
    let ids: Vec<String> = answer.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_string())
        .collect();
    let answer = env
        .notion(
            "PATCH",
            &format!("/v1/blocks/{}", ids[1]),
            Some(json!({"paragraph": {"rich_text": [{"text": {"content": "edited"}}]}})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(plain(&answer.body), "edited");
    let wrong_type = env
        .notion(
            "PATCH",
            &format!("/v1/blocks/{}", ids[1]),
            Some(json!({"heading_2": {"rich_text": []}})),
        )
        .await;
    assert_eq!(wrong_type.status, 400);
    let deleted = env
        .notion("DELETE", &format!("/v1/blocks/{}", ids[2]), None)
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body["in_trash"], true);
    assert_eq!(deleted.body["archived"], true);
    let texts: Vec<String> = children(&env, ANALYTICS_HOME)
        .await
        .iter()
        .filter(|b| b["type"] == "paragraph")
        .map(plain)
        .collect();
    assert_eq!(texts, ["keep", "edited"]);
    // A trashed block still reads by id, and cannot be edited.
    let read = env
        .notion("GET", &format!("/v1/blocks/{}", ids[2]), None)
        .await;
    assert_eq!(read.body["in_trash"], true);
    let edit = env
        .notion(
            "PATCH",
            &format!("/v1/blocks/{}", ids[2]),
            Some(json!({"paragraph": {"rich_text": []}})),
        )
        .await;
    assert_eq!(
        edit.body["message"],
        "Can't edit block that is archived. You must unarchive the block before editing."
    );
    let unknown = env
        .notion(
            "GET",
            "/v1/blocks/0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f/children",
            None,
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["code"], "object_not_found");
}

#[tokio::test]
async fn children_page_through_with_cursors() {
    let env = start("demo").await;
    let path = format!("/v1/blocks/{ANALYTICS_HOME}/children");
    for chunk in 0..3 {
        let blocks: Vec<Value> = (0..100)
            .map(|i| paragraph(&format!("{}", chunk * 100 + i)))
            .collect();
        let answer = env
            .notion("PATCH", &path, Some(json!({"children": blocks})))
            .await;
        assert_eq!(answer.status, 200);
    }
    let first = env
        .notion("GET", &format!("{path}?page_size=100"), None)
        .await;
    assert_eq!(first.body["has_more"], true);
    let all = children(&env, ANALYTICS_HOME).await;
    let texts: Vec<String> = all
        .iter()
        .filter(|b| b["type"] == "paragraph")
        .map(plain)
        .collect();
    assert_eq!(texts.len(), 300);
    assert_eq!(texts[299], "299");
    let too_big = env
        .notion("GET", &format!("{path}?page_size=101"), None)
        .await;
    assert_eq!(too_big.status, 400);
}

#[tokio::test]
async fn links_to_notion_pages_read_back_relative() {
    let env = start("demo").await;
    let link = |url: &str| json!({"paragraph": {"rich_text": [{"text": {"content": "x", "link": {"url": url}}}]}});
    let answer = env
        .notion(
            "PATCH",
            &format!("/v1/blocks/{ANALYTICS_HOME}/children"),
            Some(json!({"children": [
                link("https://www.notion.so/Events-22d9f5a14b6c80d8a2e3f4a5b6c7d8e9"),
                link("https://github.com/acme/web/pull/12"),
            ]})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let runs = |i: usize| answer.body["results"][i]["paragraph"]["rich_text"][0].clone();
    assert_eq!(
        runs(0)["text"]["link"]["url"],
        "/22d9f5a14b6c80d8a2e3f4a5b6c7d8e9"
    );
    assert_eq!(
        runs(0)["href"],
        "https://www.notion.so/22d9f5a14b6c80d8a2e3f4a5b6c7d8e9"
    );
    assert_eq!(
        runs(1)["text"]["link"]["url"],
        "https://github.com/acme/web/pull/12"
    );
}
