//! Unit tests of the Notion client against scripted local servers: exactly-once creates,
//! settled updates, pagination, the row-limit partition, id resolution, limiter sharing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::http::{Logger, RateLimits, RetryPolicy};
use crate::testserver::{Action, Recorded, TestServer};

const TOKEN: &str = "ntn_test_secret_token_123";

fn options() -> ClientOptions {
    ClientOptions {
        limits: RateLimits::paced(1000.0, 1000),
        timeout: Duration::from_secs(10),
        max_retry_delay: Some(Duration::from_millis(1)),
        ..ClientOptions::notion()
    }
}

fn client(server: &TestServer) -> NotionClient {
    NotionClient::new(&server.url, Secret::new(TOKEN), options()).unwrap()
}

fn page_json(id: &str, created: &str, key: &str) -> Value {
    json!({
        "object": "page", "id": id, "created_time": created,
        "last_edited_time": created, "in_trash": false,
        "url": format!("https://www.notion.so/{id}"),
        "parent": {"type": "data_source_id", "data_source_id": "ds1"},
        "properties": {
            "Event Name": {"id": "title", "type": "title", "title": [
                {"type": "text", "text": {"content": key, "link": null}, "plain_text": key}]}
        }
    })
}

fn list(results: Vec<Value>, next: Option<&str>) -> Value {
    json!({"object": "list", "results": results, "next_cursor": next,
           "has_more": next.is_some(), "type": "page_or_data_source", "page_or_data_source": {}})
}

fn notion_error(status: u16, code: &str, message: &str) -> Value {
    json!({"object": "error", "status": status, "code": code, "message": message})
}

fn key(value: &str) -> KeyLookup {
    KeyLookup {
        property: "Event Name".into(),
        filter_type: KeyType::Title,
        value: json!(value),
    }
}

fn props(value: &str) -> Value {
    json!({"Event Name": {"title": [{"type": "text", "text": {"content": value}}]}})
}

/// The key a query filter asks for, if it is a title-equals filter.
fn filter_key(r: &Recorded) -> Option<String> {
    r.body
        .pointer("/filter/title/equals")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A tiny data source: rows stored by key; a script decides what each create does.
#[derive(Default)]
struct Rows {
    rows: Mutex<Vec<Value>>,
}

impl Rows {
    fn insert(&self, key: &str) -> Value {
        let mut rows = self.rows.lock().unwrap();
        let page = page_json(
            &format!("p{}", rows.len() + 1),
            "2025-01-01T00:00:00.000Z",
            key,
        );
        rows.push(page.clone());
        page
    }

    fn query(&self, r: &Recorded) -> Action {
        // One key's filter, or an `or` of several.
        let wanted: Option<Vec<String>> = match r.body.pointer("/filter/or") {
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(|f| f.pointer("/title/equals").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect(),
            ),
            _ => filter_key(r).map(|k| vec![k]),
        };
        let rows = self.rows.lock().unwrap();
        let hits: Vec<Value> = rows
            .iter()
            .filter(|p| {
                wanted.as_ref().is_none_or(|keys| {
                    keys.iter().any(|k| {
                        p.pointer("/properties/Event Name/title/0/plain_text") == Some(&json!(k))
                    })
                })
            })
            .cloned()
            .collect();
        Action::json(200, list(hits, None))
    }

    fn len(&self) -> usize {
        self.rows.lock().unwrap().len()
    }
}

#[tokio::test]
async fn every_request_sends_the_version_and_bearer_token() {
    let server = TestServer::start(|_| {
        Action::json(
            200,
            json!({"object": "user", "id": "bot1", "name": "kodo", "type": "bot", "bot": {}}),
        )
    })
    .await;
    let me = client(&server).me().await.unwrap();
    assert!(me.is_bot);
    assert_eq!(me.name, "kodo");
    let r = &server.requests()[0];
    assert_eq!(r.line(), "GET /v1/users/me");
    assert_eq!(r.header("Notion-Version"), Some("2025-09-03"));
    assert_eq!(
        r.header("Authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn create_that_commits_then_drops_the_connection_is_recovered_not_resent() {
    let rows = Arc::new(Rows::default());
    let r2 = Arc::clone(&rows);
    let server = TestServer::start(move |r| match r.line().as_str() {
        "POST /v1/pages" => {
            r2.insert("signup_completed");
            Action::Drop
        }
        "POST /v1/data_sources/ds1/query" => r2.query(r),
        _ => Action::json(404, json!({})),
    })
    .await;
    let c = client(&server);
    let out = c
        .create_page("ds1", props("signup_completed"), &key("signup_completed"))
        .await
        .unwrap();
    assert!(
        matches!(out, CreateOutcome::Recovered(ref p) if p.id == "p1"),
        "{out:?}"
    );
    assert_eq!(server.count("POST /v1/pages"), 1);
    assert_eq!(rows.len(), 1);
    let stats = c.stats();
    assert_eq!(stats.writes, 1);
    assert!(stats.reads >= 1);
}

#[tokio::test]
async fn create_answered_503_with_committed_id_reads_that_page() {
    let server = TestServer::start(|r| match r.line().as_str() {
        "POST /v1/pages" => Action::json(
            503,
            json!({"object": "error", "status": 503, "code": "service_unavailable",
                   "message": "The change was saved, but the response could not be built in time. Read the object again instead of repeating the write.",
                   "additional_data": {"retry_guidance": ["Read the object again to confirm the saved change.", "Do not repeat the write."],
                                       "committed_resource_id": "be633bf1"}}),
        ),
        "GET /v1/pages/be633bf1" => Action::json(200, page_json("be633bf1", "2025-01-01T00:00:00.000Z", "k")),
        _ => Action::json(500, json!({})),
    })
    .await;
    let out = client(&server)
        .create_page("ds1", props("k"), &key("k"))
        .await
        .unwrap();
    assert!(
        matches!(out, CreateOutcome::Created(ref p) if p.id == "be633bf1"),
        "{out:?}"
    );
    assert_eq!(server.count("POST /v1/pages"), 1);
    assert_eq!(server.count("POST /v1/data_sources/ds1/query"), 0);
}

#[tokio::test]
async fn create_answered_500_after_committing_is_recovered_by_key() {
    let rows = Arc::new(Rows::default());
    let r2 = Arc::clone(&rows);
    let server = TestServer::start(move |r| match r.line().as_str() {
        "POST /v1/pages" => {
            r2.insert("order_placed");
            Action::json(
                500,
                notion_error(500, "internal_server_error", "Unexpected error occurred."),
            )
        }
        "POST /v1/data_sources/ds1/query" => r2.query(r),
        _ => Action::json(404, json!({})),
    })
    .await;
    let out = client(&server)
        .create_page("ds1", props("order_placed"), &key("order_placed"))
        .await
        .unwrap();
    assert!(matches!(out, CreateOutcome::Recovered(_)), "{out:?}");
    assert_eq!(server.count("POST /v1/pages"), 1);
    assert_eq!(rows.len(), 1);
    // The lookup asked for exactly this key, case-sensitively, as a title filter.
    let q = server
        .requests()
        .into_iter()
        .find(|r| r.line() == "POST /v1/data_sources/ds1/query")
        .unwrap();
    assert_eq!(
        q.body["filter"],
        json!({"property": "Event Name", "title": {"equals": "order_placed"}})
    );
}

#[tokio::test]
async fn create_answered_500_without_committing_is_sent_exactly_once_more() {
    let rows = Arc::new(Rows::default());
    let r2 = Arc::clone(&rows);
    let posts = Arc::new(AtomicUsize::new(0));
    let p2 = Arc::clone(&posts);
    let server = TestServer::start(move |r| match r.line().as_str() {
        "POST /v1/pages" => {
            if p2.fetch_add(1, Ordering::SeqCst) == 0 {
                Action::json(
                    500,
                    notion_error(500, "internal_server_error", "Unexpected error occurred."),
                )
            } else {
                Action::json(200, r2.insert("order_placed"))
            }
        }
        "POST /v1/data_sources/ds1/query" => r2.query(r),
        _ => Action::json(404, json!({})),
    })
    .await;
    let c = client(&server);
    let out = c
        .create_page("ds1", props("order_placed"), &key("order_placed"))
        .await
        .unwrap();
    assert!(matches!(out, CreateOutcome::Created(_)), "{out:?}");
    assert_eq!(server.count("POST /v1/pages"), 2);
    assert_eq!(rows.len(), 1, "exactly one row in the end");
    let lines: Vec<String> = server.requests().iter().map(Recorded::line).collect();
    assert_eq!(
        lines,
        [
            "POST /v1/pages",
            "POST /v1/data_sources/ds1/query",
            "POST /v1/pages"
        ]
    );
    assert_eq!(c.stats().writes, 2);
    assert_eq!(c.stats().retries, 1);
}

#[tokio::test]
async fn create_that_never_lands_gives_up_after_max_attempts_with_a_counted_error() {
    let server = TestServer::start(|r| match r.line().as_str() {
        "POST /v1/pages" => Action::json(502, notion_error(502, "bad_gateway", "Bad Gateway")),
        _ => Action::json(200, list(vec![], None)),
    })
    .await;
    let c = NotionClient::new(
        &server.url,
        Secret::new(TOKEN),
        ClientOptions {
            max_attempts: 3,
            ..options()
        },
    )
    .unwrap();
    let err = c
        .create_page("ds1", props("x"), &key("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Server {
                status: 502,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
    assert_eq!(server.count("POST /v1/pages"), 3);
}

#[tokio::test]
async fn create_rate_limited_is_resent_without_a_lookup() {
    let posts = Arc::new(AtomicUsize::new(0));
    let p2 = Arc::clone(&posts);
    let server = TestServer::start(move |r| match r.line().as_str() {
        "POST /v1/pages" if p2.fetch_add(1, Ordering::SeqCst) == 0 => Action::json(
            429,
            notion_error(429, "rate_limited", "You have been rate limited."),
        )
        .header("Retry-After", "0"),
        "POST /v1/pages" => Action::json(200, page_json("p1", "2025-01-01T00:00:00.000Z", "k")),
        _ => Action::json(500, json!({})),
    })
    .await;
    let c = client(&server);
    let out = c.create_page("ds1", props("k"), &key("k")).await.unwrap();
    assert!(matches!(out, CreateOutcome::Created(_)));
    assert_eq!(server.count("POST /v1/pages"), 2);
    assert_eq!(server.count("POST /v1/data_sources/ds1/query"), 0);
    let stats = c.stats();
    assert_eq!((stats.rate_limited, stats.retries, stats.writes), (1, 1, 2));
}

#[tokio::test]
async fn a_429_pauses_every_concurrent_caller_for_retry_after() {
    let first = Arc::new(AtomicUsize::new(0));
    let f2 = Arc::clone(&first);
    let throttled_at = Arc::new(Mutex::new(None::<std::time::Instant>));
    let t2 = Arc::clone(&throttled_at);
    let server = TestServer::start(move |r| {
        if f2.fetch_add(1, Ordering::SeqCst) == 0 {
            *t2.lock().unwrap() = Some(std::time::Instant::now());
            return Action::json(
                429,
                notion_error(429, "rate_limited", "You have been rate limited."),
            )
            .header("Retry-After", "1");
        }
        let id = r.path.rsplit('/').next().unwrap_or("x").to_owned();
        Action::json(200, page_json(&id, "2025-01-01T00:00:00.000Z", "k"))
    })
    .await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let logger: Logger = Arc::new(move |line: &str| {
        let _ = tx.send(line.to_owned());
    });
    let mut c = NotionClient::new(
        &server.url,
        Secret::new(TOKEN),
        ClientOptions {
            logger: Some(logger),
            ..options()
        },
    )
    .unwrap();
    // Real waits for this test, whatever the environment says.
    c.t.policy = RetryPolicy {
        max_attempts: 6,
        delay_cap: None,
        throttle_budget: None,
    };
    let c = Arc::new(c);

    let a = {
        let c = Arc::clone(&c);
        tokio::spawn(async move { c.retrieve_page("a").await })
    };
    // Wait until the client has seen the 429 and paused its limiter.
    loop {
        let line = rx.recv().await.unwrap();
        if line.contains("pausing all Notion requests") {
            assert!(!line.contains(TOKEN));
            break;
        }
    }
    let others: Vec<_> = ["b", "c", "d"]
        .into_iter()
        .map(|id| {
            let c = Arc::clone(&c);
            tokio::spawn(async move { c.retrieve_page(id).await })
        })
        .collect();
    assert_eq!(a.await.unwrap().unwrap().id, "a");
    for o in others {
        o.await.unwrap().unwrap();
    }
    let throttled = throttled_at.lock().unwrap().unwrap();
    let later: Vec<Recorded> = server.requests().into_iter().skip(1).collect();
    assert_eq!(later.len(), 4, "a's retry and b, c, d");
    for r in later {
        assert!(
            r.at.duration_since(throttled) >= Duration::from_millis(990),
            "{} arrived {:?} after the 429",
            r.path,
            r.at.duration_since(throttled)
        );
    }
    assert_eq!(c.stats().rate_limited, 1);
}

#[tokio::test]
async fn update_conflict_rereads_the_page_then_retries() {
    let patches = Arc::new(AtomicUsize::new(0));
    let p2 = Arc::clone(&patches);
    let server = TestServer::start(move |r| match r.line().as_str() {
        "PATCH /v1/pages/p1" if p2.fetch_add(1, Ordering::SeqCst) == 0 => Action::json(
            409,
            notion_error(
                409,
                "conflict_error",
                "Conflict occurred while saving. Please try again.",
            ),
        ),
        "PATCH /v1/pages/p1" => {
            Action::json(200, page_json("p1", "2025-01-01T00:00:00.000Z", "new"))
        }
        "GET /v1/pages/p1" => Action::json(200, page_json("p1", "2025-01-01T00:00:00.000Z", "old")),
        _ => Action::json(500, json!({})),
    })
    .await;
    let page = client(&server)
        .update_page("p1", props("new"))
        .await
        .unwrap();
    assert_eq!(
        page.properties["Event Name"]["title"][0]["plain_text"],
        "new"
    );
    let lines: Vec<String> = server.requests().iter().map(Recorded::line).collect();
    assert_eq!(
        lines,
        [
            "PATCH /v1/pages/p1",
            "GET /v1/pages/p1",
            "PATCH /v1/pages/p1"
        ]
    );
}

#[tokio::test]
async fn endless_conflicts_end_in_a_conflict_error() {
    let server = TestServer::start(|r| match r.method.as_str() {
        "PATCH" => Action::json(
            409,
            notion_error(
                409,
                "conflict_error",
                "Conflict occurred while saving. Please try again.",
            ),
        ),
        _ => Action::json(200, page_json("p1", "2025-01-01T00:00:00.000Z", "old")),
    })
    .await;
    let c = NotionClient::new(
        &server.url,
        Secret::new(TOKEN),
        ClientOptions {
            max_attempts: 2,
            ..options()
        },
    )
    .unwrap();
    let err = c.update_page("p1", props("new")).await.unwrap_err();
    assert!(
        matches!(err, ApiError::Conflict { attempts: 2, .. }),
        "{err:?}"
    );
    assert_eq!(server.count("PATCH /v1/pages/p1"), 2);
}

#[tokio::test]
async fn update_dropped_after_commit_is_confirmed_by_reading_back() {
    let stored = Arc::new(Mutex::new(page_json(
        "p1",
        "2025-01-01T00:00:00.000Z",
        "old",
    )));
    let s2 = Arc::clone(&stored);
    let server = TestServer::start(move |r| match r.line().as_str() {
        "PATCH /v1/pages/p1" => {
            *s2.lock().unwrap() = page_json("p1", "2025-01-01T00:00:00.000Z", "new");
            Action::Drop
        }
        "GET /v1/pages/p1" => Action::json(200, s2.lock().unwrap().clone()),
        _ => Action::json(500, json!({})),
    })
    .await;
    let page = client(&server)
        .update_page("p1", props("new"))
        .await
        .unwrap();
    assert_eq!(
        page.properties["Event Name"]["title"][0]["plain_text"],
        "new"
    );
    assert_eq!(server.count("PATCH /v1/pages/p1"), 1);
}

#[tokio::test]
async fn update_that_failed_without_applying_is_sent_again() {
    let patches = Arc::new(AtomicUsize::new(0));
    let p2 = Arc::clone(&patches);
    let server = TestServer::start(move |r| match r.line().as_str() {
        "PATCH /v1/pages/p1" if p2.fetch_add(1, Ordering::SeqCst) == 0 => Action::json(
            500,
            notion_error(500, "internal_server_error", "Unexpected error occurred."),
        ),
        "PATCH /v1/pages/p1" => {
            Action::json(200, page_json("p1", "2025-01-01T00:00:00.000Z", "new"))
        }
        "GET /v1/pages/p1" => Action::json(200, page_json("p1", "2025-01-01T00:00:00.000Z", "old")),
        _ => Action::json(500, json!({})),
    })
    .await;
    client(&server)
        .update_page("p1", props("new"))
        .await
        .unwrap();
    let lines: Vec<String> = server.requests().iter().map(Recorded::line).collect();
    assert_eq!(
        lines,
        [
            "PATCH /v1/pages/p1",
            "GET /v1/pages/p1",
            "PATCH /v1/pages/p1"
        ]
    );
}

#[tokio::test]
async fn trashing_sends_in_trash_and_is_confirmed_by_reading_back() {
    let server = TestServer::start(|r| match r.line().as_str() {
        "PATCH /v1/pages/p1" => Action::json(
            503,
            notion_error(
                503,
                "service_unavailable",
                "Notion is unavailable, please try again later.",
            ),
        ),
        "GET /v1/pages/p1" => {
            let mut p = page_json("p1", "2025-01-01T00:00:00.000Z", "k");
            p["in_trash"] = json!(true);
            Action::json(200, p)
        }
        _ => Action::json(500, json!({})),
    })
    .await;
    let page = client(&server).set_in_trash("p1", true).await.unwrap();
    assert!(page.in_trash);
    let reqs = server.requests();
    assert_eq!(reqs[0].body, json!({"in_trash": true}));
    assert_eq!(server.count("PATCH /v1/pages/p1"), 1);
}

#[tokio::test]
async fn query_follows_cursors_and_never_sends_a_null_cursor() {
    let all: Vec<Value> = (0..250)
        .map(|i| {
            page_json(
                &format!("r{i:03}"),
                &format!("2025-01-01T00:{:02}:00.000Z", i / 10),
                "k",
            )
        })
        .collect();
    let server = TestServer::start(move |r| {
        let start: usize = r
            .body
            .get("start_cursor")
            .and_then(Value::as_str)
            .map(|c| c.parse().unwrap())
            .unwrap_or(0);
        let end = (start + 100).min(all.len());
        let next = (end < all.len()).then(|| end.to_string());
        Action::json(200, list(all[start..end].to_vec(), next.as_deref()))
    })
    .await;
    let filter = json!({"property": "Status", "select": {"equals": "live"}});
    let rows = client(&server)
        .query_all("ds1", Some(filter.clone()))
        .await
        .unwrap();
    assert_eq!(rows.len(), 250);
    assert_eq!(rows[0].id, "r000");
    assert_eq!(rows[249].id, "r249");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert!(
        reqs[0]
            .body
            .as_object()
            .unwrap()
            .get("start_cursor")
            .is_none(),
        "no cursor on the first page"
    );
    assert_eq!(reqs[1].body["start_cursor"], "100");
    assert_eq!(reqs[2].body["start_cursor"], "200");
    for r in &reqs {
        assert_eq!(r.line(), "POST /v1/data_sources/ds1/query");
        assert_eq!(r.body["page_size"], 100);
        assert_eq!(r.body["filter"], filter);
        assert_eq!(
            r.body["sorts"],
            json!([{"timestamp": "created_time", "direction": "ascending"}])
        );
        assert!(!r.body.to_string().contains("null"), "{}", r.body);
    }
}

/// Serves `rows` (sorted by created_time) the way Notion does past its per-query cap: at most
/// `cap` rows per query (then `has_more: false` + `request_status: incomplete`), honouring an
/// `on_or_after` created_time filter, `page` rows per page.
fn capped_server_script(rows: Vec<Value>, cap: usize, page: usize) -> impl Fn(&Recorded) -> Action {
    move |r| {
        let since = r
            .body
            .pointer("/filter/created_time/on_or_after")
            .or_else(|| r.body.pointer("/filter/and/1/created_time/on_or_after"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let matching: Vec<Value> = rows
            .iter()
            .filter(|p| {
                since
                    .as_deref()
                    .is_none_or(|s| p["created_time"].as_str().unwrap() >= s)
            })
            .cloned()
            .collect();
        let start: usize = r
            .body
            .get("start_cursor")
            .and_then(Value::as_str)
            .map(|c| c.parse().unwrap())
            .unwrap_or(0);
        let reachable = matching.len().min(cap);
        let end = (start + page).min(reachable);
        let mut body = list(matching[start..end].to_vec(), None);
        if end < reachable {
            body["has_more"] = json!(true);
            body["next_cursor"] = json!(end.to_string());
        } else if matching.len() > cap {
            body["request_status"] =
                json!({"type": "incomplete", "incomplete_reason": "query_result_limit_reached"});
        } else {
            body["request_status"] = json!({"type": "complete"});
        }
        Action::json(200, body)
    }
}

#[tokio::test]
async fn query_continues_past_the_row_limit_by_created_time_without_duplicates() {
    // 23 rows, three per minute (Notion rounds created_time to the minute), cap 10 per query.
    let rows: Vec<Value> = (0..23)
        .map(|i| {
            page_json(
                &format!("r{i:02}"),
                &format!("2025-01-01T10:{:02}:00.000Z", i / 3),
                "k",
            )
        })
        .collect();
    let server = TestServer::start(capped_server_script(rows, 10, 4)).await;
    let got = client(&server).query_all("ds1", None).await.unwrap();
    let ids: Vec<&str> = got.iter().map(|p| p.id.as_str()).collect();
    let expected: Vec<String> = (0..23).map(|i| format!("r{i:02}")).collect();
    assert_eq!(ids, expected.iter().map(String::as_str).collect::<Vec<_>>());
    // The continuation filtered on the last row's created_time.
    let continued = server
        .requests()
        .into_iter()
        .find(|r| r.body.get("filter").is_some())
        .unwrap();
    assert_eq!(
        continued.body["filter"],
        json!({"timestamp": "created_time", "created_time": {"on_or_after": "2025-01-01T10:03:00.000Z"}})
    );
}

/// "Any page with that status means the whole query result was capped"
/// (developers.notion.com/reference/query-a-data-source): a marker on an earlier page counts
/// even when the last page carries none.
#[tokio::test]
async fn an_incomplete_marker_on_any_page_means_the_result_was_capped() {
    let rows: Vec<Value> = (0..9)
        .map(|i| {
            page_json(
                &format!("r{i}"),
                &format!("2025-01-01T10:0{i}:00.000Z"),
                "k",
            )
        })
        .collect();
    let inner = capped_server_script(rows, 6, 3);
    let server = TestServer::start(move |r| {
        let first_page = r.body.get("start_cursor").is_none();
        let Action::Respond { status, body, .. } = inner(r) else {
            unreachable!("the script answers JSON")
        };
        let mut body: Value = serde_json::from_str(&body).unwrap();
        if first_page && body["request_status"].is_null() {
            body["request_status"] =
                json!({"type": "incomplete", "incomplete_reason": "query_result_limit_reached"});
        } else if !first_page && body["request_status"]["type"] == "incomplete" {
            body["request_status"] = json!({"type": "complete"});
        }
        Action::json(status, body)
    })
    .await;
    let got = client(&server).query_all("ds1", None).await.unwrap();
    assert_eq!(got.len(), 9, "rows past the cap were dropped");
}

#[tokio::test]
async fn query_continuation_keeps_the_callers_filter() {
    let rows: Vec<Value> = (0..7)
        .map(|i| {
            page_json(
                &format!("r{i}"),
                &format!("2025-01-01T10:0{i}:00.000Z"),
                "k",
            )
        })
        .collect();
    let server = TestServer::start(capped_server_script(rows, 3, 2)).await;
    let filter = json!({"property": "Status", "select": {"equals": "live"}});
    let got = client(&server)
        .query_all("ds1", Some(filter.clone()))
        .await
        .unwrap();
    assert_eq!(got.len(), 7);
    let last = server.requests().pop().unwrap();
    assert_eq!(last.body["filter"]["and"][0], filter);
}

#[tokio::test]
async fn query_stuck_on_one_minute_past_the_limit_is_an_error_not_a_loop() {
    let rows: Vec<Value> = (0..8)
        .map(|i| page_json(&format!("r{i}"), "2025-01-01T10:00:00.000Z", "k"))
        .collect();
    let server = TestServer::start(capped_server_script(rows, 5, 5)).await;
    let err = client(&server).query_all("ds1", None).await.unwrap_err();
    assert!(matches!(err, ApiError::QueryLimit { .. }), "{err:?}");
    assert!(server.requests().len() <= 3);
}

fn data_source_json(id: &str, db: &str) -> Value {
    json!({"object": "data_source", "id": id,
           "title": [{"type": "text", "text": {"content": "Events"}, "plain_text": "Events"}],
           "parent": {"type": "database_id", "database_id": db},
           "properties": {"Event Name": {"id": "title", "name": "Event Name", "type": "title", "title": {}}}})
}

fn object_not_found(kind: &str, id: &str) -> Value {
    notion_error(
        404,
        "object_not_found",
        &format!("Could not find {kind} with ID: {id}. Make sure the relevant pages and databases are shared with your integration."),
    )
}

#[tokio::test]
async fn resolve_accepts_a_data_source_id_or_a_database_id_with_one_source() {
    let server = TestServer::start(|r| match r.line().as_str() {
        "GET /v1/data_sources/ds1" => Action::json(200, data_source_json("ds1", "db1")),
        "GET /v1/databases/db1" => Action::json(
            200,
            json!({"object": "database", "id": "db1", "title": [{"plain_text": "Events"}],
                   "data_sources": [{"id": "ds1", "name": "Events"}]}),
        ),
        path => {
            let id = path.rsplit('/').next().unwrap();
            Action::json(404, object_not_found("data source", id))
        }
    })
    .await;
    let c = client(&server);
    assert_eq!(c.resolve_data_source("ds1").await.unwrap().id, "ds1");
    let ds = c.resolve_data_source("db1").await.unwrap();
    assert_eq!((ds.id.as_str(), ds.database_id.as_str()), ("ds1", "db1"));
    let lines: Vec<String> = server.requests().iter().map(Recorded::line).collect();
    assert_eq!(
        lines,
        [
            "GET /v1/data_sources/ds1",
            "GET /v1/data_sources/db1",
            "GET /v1/databases/db1",
            "GET /v1/data_sources/ds1"
        ]
    );
}

#[tokio::test]
async fn resolve_lists_the_choices_when_a_database_has_several_sources() {
    let server = TestServer::start(|r| match r.line().as_str() {
        "GET /v1/databases/db1" => Action::json(
            200,
            json!({"object": "database", "id": "db1", "title": [],
                   "data_sources": [{"id": "ds1", "name": "Events"}, {"id": "ds2", "name": "Legacy events"}]}),
        ),
        _ => Action::json(404, object_not_found("data source", "db1")),
    })
    .await;
    let err = client(&server)
        .resolve_data_source("db1")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ApiError::DataSourceChoice { ref data_sources, .. } if data_sources.len() == 2)
    );
    assert!(
        text.contains("\"Legacy events\" (ds2)") && text.contains("\"Events\" (ds1)"),
        "{text}"
    );
}

#[tokio::test]
async fn resolve_of_an_unknown_id_says_to_share_it() {
    let server =
        TestServer::start(|_| Action::json(404, object_not_found("database", "zzz"))).await;
    let err = client(&server)
        .resolve_data_source("zzz")
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    let text = err.to_string();
    assert!(text.contains("zzz"), "{text}");
    assert!(text.contains("Connections"), "{text}");
    assert!(text.contains("data-source id"), "{text}");
}

#[tokio::test]
async fn list_users_reads_every_page_and_403_means_not_allowed() {
    let server = TestServer::start(|r| {
        let cursor = r.query.clone().unwrap_or_default();
        if cursor.contains("start_cursor=c2") {
            Action::json(200, json!({"object": "list", "type": "user", "user": {}, "has_more": false, "next_cursor": null,
                "results": [{"object": "user", "id": "u2", "type": "bot", "bot": {}, "name": "Bot"}]}))
        } else {
            Action::json(200, json!({"object": "list", "type": "user", "user": {}, "has_more": true, "next_cursor": "c2",
                "results": [{"object": "user", "id": "u1", "type": "person", "person": {"email": "a@example.com"}, "name": "Ada"}]}))
        }
    })
    .await;
    let UsersAccess::Users(users) = client(&server).list_users().await.unwrap() else {
        panic!("expected users");
    };
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].email.as_deref(), Some("a@example.com"));
    let reqs = server.requests();
    assert_eq!(reqs[0].query.as_deref(), Some("page_size=100"));
    assert_eq!(
        reqs[1].query.as_deref(),
        Some("page_size=100&start_cursor=c2")
    );

    let denied = TestServer::start(|_| {
        Action::json(
            403,
            notion_error(
                403,
                "restricted_resource",
                "API token does not have access to this resource.",
            ),
        )
    })
    .await;
    assert_eq!(
        client(&denied).list_users().await.unwrap(),
        UsersAccess::NotAllowed
    );
}

#[tokio::test]
async fn reads_retry_server_errors_and_report_attempts_and_elapsed_time() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = Arc::clone(&n);
    let server = TestServer::start(move |_| {
        if n2.fetch_add(1, Ordering::SeqCst) < 2 {
            Action::json(502, notion_error(502, "bad_gateway", "Bad Gateway"))
        } else {
            Action::json(200, page_json("p1", "2025-01-01T00:00:00.000Z", "k"))
        }
    })
    .await;
    let c = client(&server);
    c.retrieve_page("p1").await.unwrap();
    assert_eq!(c.stats().reads, 3);
    assert_eq!(c.stats().retries, 2);

    let down = TestServer::start(|_| {
        Action::json(
            503,
            notion_error(
                503,
                "service_unavailable",
                "Notion is unavailable, please try again later.",
            ),
        )
    })
    .await;
    let c = NotionClient::new(
        &down.url,
        Secret::new(TOKEN),
        ClientOptions {
            max_attempts: 3,
            ..options()
        },
    )
    .unwrap();
    let err = c.retrieve_page("p1").await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Server {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("request failed after 3 attempts in"),
        "{text}"
    );
    assert!(text.contains("Notion is unavailable"), "{text}");
}

#[tokio::test]
async fn schema_writes_are_not_resent_on_5xx() {
    let server = TestServer::start(|_| {
        Action::json(
            500,
            notion_error(500, "internal_server_error", "Unexpected error occurred."),
        )
    })
    .await;
    let err = client(&server)
        .update_data_source("ds1", json!({"properties": {"Owner": {"people": {}}}}))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::AmbiguousWrite { .. }), "{err:?}");
    assert_eq!(server.count("PATCH /v1/data_sources/ds1"), 1);
}

#[tokio::test]
async fn create_database_sends_the_2025_shape_and_settles_a_committed_503() {
    let server = TestServer::start(|r| match r.line().as_str() {
        "POST /v1/databases" => Action::json(
            503,
            json!({"object": "error", "status": 503, "code": "service_unavailable", "message": "The change was saved, but the response could not be built in time.",
                   "additional_data": {"committed_resource_id": "db9"}}),
        ),
        "GET /v1/databases/db9" => Action::json(
            200,
            json!({"object": "database", "id": "db9", "title": [{"plain_text": "Events"}], "data_sources": [{"id": "ds9", "name": "Events"}]}),
        ),
        _ => Action::json(500, json!({})),
    })
    .await;
    let props = json!({"Event Name": {"title": {}}});
    let db = client(&server)
        .create_database("parent1", "Events", "", props.clone())
        .await
        .unwrap();
    assert_eq!(db.data_sources[0].id, "ds9");
    let sent = &server.requests()[0].body;
    assert_eq!(
        sent["parent"],
        json!({"type": "page_id", "page_id": "parent1"})
    );
    assert_eq!(sent["title"][0]["text"]["content"], "Events");
    assert_eq!(sent["initial_data_source"]["properties"], props);
    assert_eq!(server.count("POST /v1/databases"), 1);
}

#[tokio::test]
async fn create_database_with_a_lost_answer_is_ambiguous_and_not_resent() {
    let server = TestServer::start(|_| Action::Drop).await;
    let err = client(&server)
        .create_database(
            "parent1",
            "Events",
            "",
            json!({"Event Name": {"title": {}}}),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::AmbiguousWrite { .. }), "{err:?}");
    assert!(err.to_string().contains("re-run"), "{err}");
    assert_eq!(server.count("POST /v1/databases"), 1);
}

#[tokio::test]
async fn reads_time_out_and_are_retried() {
    let server = TestServer::start(|_| Action::Hang).await;
    let c = NotionClient::new(
        &server.url,
        Secret::new(TOKEN),
        ClientOptions {
            timeout: Duration::from_millis(200),
            max_attempts: 2,
            ..options()
        },
    )
    .unwrap();
    let err = c.retrieve_page("p1").await.unwrap_err();
    assert!(
        matches!(err, ApiError::Network { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("no complete answer"), "{err}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_blocked_integration_is_not_retried() {
    let server = TestServer::start(|_| {
        Action::json(429, json!({"object": "error", "status": 429, "code": "rate_limited", "message": "Requests are blocked.",
            "additional_data": {"rate_limit_reason": "public_api_request_blocked"}}))
        .header("Retry-After", "1")
    })
    .await;
    let err = client(&server).retrieve_page("p1").await.unwrap_err();
    assert!(matches!(err, ApiError::Forbidden { .. }), "{err:?}");
    assert!(err.to_string().contains("contact Notion support"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn the_token_never_appears_in_errors_logs_or_debug_output() {
    let server = TestServer::start(|r| {
        // A hostile or buggy server echoing the Authorization header back.
        let auth = r.header("Authorization").unwrap_or_default().to_owned();
        match r.method.as_str() {
            "GET" => Action::json(
                401,
                notion_error(
                    401,
                    "unauthorized",
                    &format!("API token is invalid: {auth}"),
                ),
            ),
            _ => Action::json(
                400,
                notion_error(400, "validation_error", &format!("bad request from {auth}")),
            ),
        }
    })
    .await;
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let l2 = Arc::clone(&lines);
    let logger: Logger = Arc::new(move |line: &str| l2.lock().unwrap().push(line.to_owned()));
    let c = NotionClient::new(
        &server.url,
        Secret::new(TOKEN),
        ClientOptions {
            logger: Some(logger),
            credential_env_var: "MY_NOTION_TOKEN".into(),
            ..options()
        },
    )
    .unwrap();
    let unauthorized = c.me().await.unwrap_err();
    let text = unauthorized.to_string();
    assert!(
        text.contains("API token is invalid") && text.contains("MY_NOTION_TOKEN"),
        "{text}"
    );
    let validation = c.update_page("p1", props("x")).await.unwrap_err();
    assert!(matches!(validation, ApiError::Validation { .. }));
    for shown in [
        text,
        format!("{unauthorized:?}"),
        validation.to_string(),
        format!("{validation:?}"),
        format!("{c:?}"),
        format!("{:?}", options()),
        lines.lock().unwrap().join("\n"),
    ] {
        assert!(!shown.contains(TOKEN), "token leaked: {shown}");
    }
    assert!(!lines.lock().unwrap().is_empty());
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_before_sending_anything() {
    let err =
        NotionClient::new("http://api.notion.com", Secret::new(TOKEN), options()).unwrap_err();
    assert!(matches!(err, ApiError::InsecureUrl { .. }));
    assert!(err.to_string().contains("notion.baseUrl"));
    let err = NotionClient::new("https://api.notion.com", Secret::new(" "), options()).unwrap_err();
    assert!(err.to_string().contains("NOTION_API_KEY"), "{err}");
}

#[tokio::test]
async fn a_create_whose_lookup_also_fails_is_reported_as_ambiguous() {
    let server = TestServer::start(|r| match r.line().as_str() {
        "POST /v1/pages" => Action::Drop,
        _ => Action::json(
            503,
            notion_error(
                503,
                "service_unavailable",
                "Notion is unavailable, please try again later.",
            ),
        ),
    })
    .await;
    let c = NotionClient::new(
        &server.url,
        Secret::new(TOKEN),
        ClientOptions {
            max_attempts: 2,
            ..options()
        },
    )
    .unwrap();
    let err = c
        .create_page("ds1", props("k"), &key("k"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::AmbiguousWrite { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("Event Name") && text.contains("looking the row up failed"),
        "{text}"
    );
    assert_eq!(
        server.count("POST /v1/pages"),
        1,
        "never re-sent while the outcome is unknown"
    );
}

#[tokio::test]
async fn a_refused_connection_fails_at_once_with_the_host_and_the_fix() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let c = NotionClient::new(
        &format!("http://127.0.0.1:{port}"),
        Secret::new(TOKEN),
        ClientOptions {
            max_attempts: 6,
            ..options()
        },
    )
    .unwrap();
    {
        let err = c.retrieve_page("p1").await.unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, ApiError::Network { attempts: 1, .. }),
            "{err:?}"
        );
        assert!(
            text.contains(&format!("127.0.0.1:{port} refused the connection"))
                && text.contains("notion.baseUrl"),
            "{text}"
        );
        assert!(!text.contains(TOKEN));
    }
}

#[tokio::test]
async fn a_host_name_that_does_not_resolve_fails_at_once_with_the_host_and_the_fix() {
    // `.invalid` never resolves (RFC 6761 section 6.4): the lookup fails without a network.
    let c = NotionClient::new(
        "https://kodo-test.invalid",
        Secret::new(TOKEN),
        ClientOptions {
            max_attempts: 6,
            ..options()
        },
    )
    .unwrap();
    let err = c.retrieve_page("p1").await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ApiError::Network { attempts: 1, .. }),
        "{err:?}"
    );
    assert!(
        text.contains("the host name kodo-test.invalid does not resolve (DNS)")
            && text.contains("notion.baseUrl"),
        "{text}"
    );
    assert!(!text.contains(TOKEN));
}

/// A TCP server on 127.0.0.1 that is not TLS: each connection gets `reply` (plain text, or
/// nothing) and is closed. Returns the `https://` base and the count of connections made.
async fn not_tls(reply: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = stream.write_all(reply).await;
            let _ = stream.shutdown().await;
        }
    });
    (format!("https://127.0.0.1:{port}"), connections)
}

#[tokio::test]
async fn a_tls_handshake_that_fails_fails_at_once_with_the_host_and_the_fix() {
    for reply in [
        &b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"[..],
        b"",
    ] {
        let (base, connections) = not_tls(reply).await;
        let c = NotionClient::new(
            &base,
            Secret::new(TOKEN),
            ClientOptions {
                max_attempts: 6,
                ..options()
            },
        )
        .unwrap();
        let err = c.retrieve_page("p1").await.unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, ApiError::Network { attempts: 1, .. }),
            "{err:?}"
        );
        assert_eq!(connections.load(Ordering::SeqCst), 1, "{text}");
        let host = base.trim_start_matches("https://");
        assert!(
            text.contains(&format!("the TLS handshake with {host} failed"))
                && text.contains("notion.baseUrl")
                && text.contains("https://"),
            "{text}"
        );
        assert!(!text.contains(TOKEN));
    }
}

#[tokio::test]
async fn a_retry_that_waits_over_a_second_is_announced() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let server = TestServer::start(move |r: &Recorded| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            return Action::json(
                503,
                notion_error(503, "service_unavailable", "Notion is unavailable."),
            )
            .header("Retry-After", "2");
        }
        let id = r.path.rsplit('/').next().unwrap_or("x").to_owned();
        Action::json(200, page_json(&id, "2025-01-01T00:00:00.000Z", "k"))
    })
    .await;
    let notices = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&notices);
    let notice: Logger = Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned()));
    let mut c = NotionClient::new(
        &server.url,
        Secret::new(TOKEN),
        ClientOptions {
            notice: Some(notice),
            ..options()
        },
    )
    .unwrap();
    c.t.policy = RetryPolicy {
        max_attempts: 6,
        delay_cap: None,
        throttle_budget: None,
    };
    assert_eq!(c.retrieve_page("a").await.unwrap().id, "a");
    let notices = notices.lock().unwrap().clone();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with("Notion: waiting 2s, retrying GET /v1/pages/a after 503"),
        "{notices:?}"
    );
}

// ---- creates across machines: re-checking a stale key -------------------------------------

/// A data source where another writer already made `key`; a create makes a row too.
fn two_writers(rows: &Arc<Rows>) -> impl Fn(&Recorded) -> Action + Send + Sync + 'static {
    let rows = Arc::clone(rows);
    move |r| match r.line().as_str() {
        "POST /v1/pages" => {
            let key = r
                .body
                .pointer("/properties/Event Name/title/0/text/content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            Action::json(200, rows.insert(&key))
        }
        "POST /v1/data_sources/ds1/query" => rows.query(r),
        _ => Action::json(404, json!({})),
    }
}

#[tokio::test]
async fn a_key_seen_missing_long_ago_is_looked_up_before_the_create() {
    let rows = Arc::new(Rows::default());
    rows.insert("order_placed");
    let server = TestServer::start(two_writers(&rows)).await;
    let c = client(&server);
    let seen = std::time::Instant::now() - RECHECK_AFTER - Duration::from_millis(1);
    let out = c
        .create_missing_page("ds1", props("order_placed"), &key("order_placed"), seen)
        .await
        .unwrap();
    assert!(
        matches!(out, CreateOutcome::Existing(ref p) if p.id == "p1"),
        "{out:?}"
    );
    assert_eq!(server.count("POST /v1/pages"), 0);
    assert_eq!(server.count("POST /v1/data_sources/ds1/query"), 1);
    assert_eq!(rows.len(), 1);

    // Still missing after the look-up: created, at the cost of exactly one query.
    let out = c
        .create_missing_page("ds1", props("cart_viewed"), &key("cart_viewed"), seen)
        .await
        .unwrap();
    assert!(matches!(out, CreateOutcome::Created(_)), "{out:?}");
    assert_eq!(server.count("POST /v1/pages"), 1);
    assert_eq!(server.count("POST /v1/data_sources/ds1/query"), 2);
}

/// A run of 150 creates planned from a read long ago: the stale keys are re-checked 100 at a
/// time (one `or` query per batch, never one per create), and the two rows another writer
/// made meanwhile are not created again.
#[tokio::test]
async fn stale_keys_are_re_checked_in_batches_of_at_most_one_hundred() {
    let rows = Arc::new(Rows::default());
    rows.insert("e7");
    rows.insert("e120");
    let server = TestServer::start(two_writers(&rows)).await;
    let mut c = client(&server);
    // Read more than RECHECK_AFTER before the creates, and no time passes while they run:
    // however slowly a loaded machine sends them, no batch's answer goes stale again.
    let seen = std::time::Instant::now();
    c.stop_staleness_clock_at(seen + RECHECK_AFTER + Duration::from_millis(1));
    let names: Vec<String> = (0..150).map(|i| format!("e{i}")).collect();
    let pending = PendingCreates::new("ds1", seen, names.iter().map(|n| key(n)));
    // Four creates in flight, as `sync::apply` sends them.
    let lane = |first: usize| {
        let (c, pending, names) = (&c, &pending, &names);
        async move {
            let mut existing = Vec::new();
            for n in names.iter().skip(first).step_by(4) {
                if let CreateOutcome::Existing(_) =
                    c.create_pending(pending, props(n), &key(n)).await.unwrap()
                {
                    existing.push(n.clone());
                }
            }
            existing
        }
    };
    let (a, b, d, e) = tokio::join!(lane(0), lane(1), lane(2), lane(3));
    let mut existing: Vec<String> = [a, b, d, e].concat();
    existing.sort();
    assert_eq!(existing, ["e120", "e7"]);
    assert_eq!(server.count("POST /v1/pages"), 148);
    assert_eq!(rows.len(), 150, "one row per key");
    let queries: Vec<usize> = server
        .requests()
        .iter()
        .filter(|r| r.line() == "POST /v1/data_sources/ds1/query")
        .map(|r| {
            r.body
                .pointer("/filter/or")
                .and_then(Value::as_array)
                .map_or(1, Vec::len)
        })
        .collect();
    assert_eq!(queries.len(), 2, "{queries:?}");
    assert!(
        queries.iter().all(|n| *n <= MAX_KEYS_PER_QUERY),
        "{queries:?}"
    );
    assert_eq!(
        queries.iter().sum::<usize>(),
        150,
        "each key looked up once"
    );
}

#[tokio::test]
async fn a_key_seen_missing_just_now_is_created_without_a_query() {
    let rows = Arc::new(Rows::default());
    let server = TestServer::start(two_writers(&rows)).await;
    let c = client(&server);
    let out = c
        .create_missing_page(
            "ds1",
            props("order_placed"),
            &key("order_placed"),
            std::time::Instant::now(),
        )
        .await
        .unwrap();
    assert!(matches!(out, CreateOutcome::Created(_)), "{out:?}");
    assert_eq!(server.count("POST /v1/data_sources/ds1/query"), 0);
}

#[tokio::test]
async fn a_conflict_on_create_is_settled_by_key_and_makes_later_creates_recheck() {
    // Another writer makes the row while ours meets a 409: ours is not sent again.
    let rows = Arc::new(Rows::default());
    let r2 = Arc::clone(&rows);
    let server = TestServer::start(move |r| match r.line().as_str() {
        "POST /v1/pages" => {
            let key = r
                .body
                .pointer("/properties/Event Name/title/0/text/content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if key == "order_placed" {
                r2.insert(&key);
                Action::json(
                    409,
                    notion_error(
                        409,
                        "conflict_error",
                        "Conflict occurred while saving. Please try again.",
                    ),
                )
            } else {
                Action::json(200, r2.insert(&key))
            }
        }
        "POST /v1/data_sources/ds1/query" => r2.query(r),
        _ => Action::json(404, json!({})),
    })
    .await;
    let c = client(&server);
    let seen = std::time::Instant::now();
    let out = c
        .create_missing_page("ds1", props("order_placed"), &key("order_placed"), seen)
        .await
        .unwrap();
    assert!(matches!(out, CreateOutcome::Existing(_)), "{out:?}");
    assert_eq!(server.count("POST /v1/pages"), 1);
    assert_eq!(rows.len(), 1);
    // Having met a conflict, a create whose key was seen before it re-checks first, even
    // though that was only just now.
    let out = c
        .create_missing_page("ds1", props("cart_viewed"), &key("cart_viewed"), seen)
        .await
        .unwrap();
    assert!(matches!(out, CreateOutcome::Created(_)), "{out:?}");
    assert_eq!(server.count("POST /v1/data_sources/ds1/query"), 2);
}

#[tokio::test]
async fn retrieve_user_finds_guests_and_says_none_for_removed_members() {
    let server = TestServer::start(|r| {
        if r.path.ends_with("/v1/users/guest") {
            Action::json(
                200,
                json!({"object": "user", "id": "guest", "type": "person",
                "person": {"email": "g@partner.example"}, "name": "Gus"}),
            )
        } else {
            Action::json(
                404,
                notion_error(
                    404,
                    "object_not_found",
                    "Could not find user with ID: gone.",
                ),
            )
        }
    })
    .await;
    let guest = client(&server)
        .retrieve_user("guest")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(guest.email.as_deref(), Some("g@partner.example"));
    assert!(!guest.is_bot);
    assert_eq!(client(&server).retrieve_user("gone").await.unwrap(), None);
}
