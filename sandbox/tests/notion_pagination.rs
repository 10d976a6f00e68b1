//! Notion cursor pagination across many pages, and the per-query row cap.

mod common;

use std::collections::HashSet;

use common::*;
use kodo_sandbox::Options;
use serde_json::{json, Value};

/// The demo with `n` extra rows in the Dashboards data source (one minute apart).
fn with_dashboards(n: usize) -> kodo_sandbox::Scenario {
    demo_with(|v| {
        let db = v["notion"]["databases"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|d| d["key"] == "dashboards")
            .unwrap();
        let rows = db["rows"].as_array_mut().unwrap();
        rows.clear();
        for i in 0..n {
            rows.push(json!({
                "created_time": format!("2025-01-{:02}T{:02}:{:02}:00Z", 1 + i / 1440, (i / 60) % 24, i % 60),
                "values": {"Dashboard Name": format!("Dashboard {i:04}"), "ID": i}
            }));
        }
    })
}

#[tokio::test]
async fn a_cursor_walks_250_pages_in_creation_order() {
    let env = start_with(with_dashboards(250), fast()).await;
    let path = format!("/v1/data_sources/{DASHBOARDS_DS}/query");
    let mut body = json!({"page_size": 1});
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let answer = env.notion("POST", &path, Some(body.clone())).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["object"], "list");
        assert_eq!(answer.body["type"], "page_or_data_source");
        assert_eq!(answer.body["page_or_data_source"], json!({}));
        assert!(answer.body.get("request_status").is_none());
        let results = answer.body["results"].as_array().unwrap();
        assert_eq!(results.len(), 1);
        seen.push(results[0]["properties"]["ID"]["number"].as_i64().unwrap());
        pages += 1;
        if answer.body["has_more"] == json!(false) {
            assert_eq!(answer.body["next_cursor"], Value::Null);
            break;
        }
        let cursor = answer.body["next_cursor"]
            .as_str()
            .expect("opaque cursor")
            .to_string();
        body = json!({"page_size": 1, "start_cursor": cursor});
    }
    assert_eq!(pages, 250);
    assert_eq!(seen, (0..250).collect::<Vec<i64>>());
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 250);
}

#[tokio::test]
async fn default_page_size_is_100() {
    let env = start_with(with_dashboards(250), fast()).await;
    let answer = env
        .notion(
            "POST",
            &format!("/v1/data_sources/{DASHBOARDS_DS}/query"),
            Some(json!({})),
        )
        .await;
    assert_eq!(answer.body["results"].as_array().unwrap().len(), 100);
    assert_eq!(answer.body["has_more"], true);
    assert_eq!(env.query_all(DASHBOARDS_DS, json!({})).await.len(), 250);
}

#[tokio::test]
async fn one_query_stops_at_the_row_cap_and_says_so() {
    let options = Options {
        query_row_cap: 25,
        ..fast()
    };
    let env = start_with(with_dashboards(60), options).await;
    let path = format!("/v1/data_sources/{DASHBOARDS_DS}/query");
    let mut body = json!({"page_size": 10});
    let mut ids = Vec::new();
    let last = loop {
        let answer = env.notion("POST", &path, Some(body.clone())).await;
        assert_eq!(answer.status, 200);
        // Every page served from a capped result says so, not only the last.
        assert_eq!(
            answer.body["request_status"],
            json!({"type": "incomplete", "incomplete_reason": "query_result_limit_reached"})
        );
        ids.extend(
            answer.body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["properties"]["ID"]["number"].as_i64().unwrap()),
        );
        if answer.body["has_more"] != json!(true) {
            break answer.body;
        }
        body["start_cursor"] = answer.body["next_cursor"].clone();
    };
    assert_eq!(ids, (0..25).collect::<Vec<i64>>());
    assert_eq!(last["has_more"], false);
    assert_eq!(last["next_cursor"], Value::Null);
    assert_eq!(
        last["request_status"],
        json!({"type": "incomplete", "incomplete_reason": "query_result_limit_reached"})
    );

    // Continuing with a created_time filter from the last row reaches the rest
    // (on_or_after repeats rows of the same minute; the caller de-duplicates).
    let last_row = env
        .query_all(
            DASHBOARDS_DS,
            json!({"filter": {"property": "ID", "number": {"equals": 24}}}),
        )
        .await;
    let since = last_row[0]["created_time"].as_str().unwrap().to_string();
    let rest_filter = json!({"filter": {"timestamp": "created_time", "created_time": {"on_or_after": since}}, "page_size": 100});
    let answer = env.notion("POST", &path, Some(rest_filter)).await;
    let rest: Vec<i64> = answer.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["properties"]["ID"]["number"].as_i64().unwrap())
        .collect();
    assert_eq!(rest.len(), 25, "the continuation is capped too");
    assert_eq!(rest[0], 24);
    assert_eq!(answer.body["request_status"]["type"], "incomplete");
}

/// The test option `query_incomplete_only_page`: only that page of a capped query's
/// pagination carries the marker; the rest is as without it (the cap, `has_more: false`).
#[tokio::test]
async fn the_test_option_marks_only_one_page_of_a_capped_result() {
    let options = Options {
        query_row_cap: 25,
        query_incomplete_only_page: Some(1),
        ..fast()
    };
    let env = start_with(with_dashboards(60), options).await;
    let path = format!("/v1/data_sources/{DASHBOARDS_DS}/query");
    let mut body = json!({"page_size": 10});
    let mut marks = Vec::new();
    let mut rows = 0;
    loop {
        let answer = env.notion("POST", &path, Some(body.clone())).await;
        assert_eq!(answer.status, 200);
        marks.push(answer.body["request_status"]["type"] == "incomplete");
        rows += answer.body["results"].as_array().unwrap().len();
        if answer.body["has_more"] != json!(true) {
            break;
        }
        body["start_cursor"] = answer.body["next_cursor"].clone();
    }
    assert_eq!(marks, vec![false, true, false]);
    assert_eq!(rows, 25);
}

#[tokio::test]
async fn exactly_the_cap_is_complete() {
    let options = Options {
        query_row_cap: 20,
        ..fast()
    };
    let env = start_with(with_dashboards(20), options).await;
    let answer = env
        .notion(
            "POST",
            &format!("/v1/data_sources/{DASHBOARDS_DS}/query"),
            Some(json!({})),
        )
        .await;
    assert_eq!(answer.body["results"].as_array().unwrap().len(), 20);
    assert_eq!(answer.body["has_more"], false);
    assert!(answer.body.get("request_status").is_none());
}
