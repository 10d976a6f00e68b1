//! Rate limits, injected faults (seeded) and the request log.

mod common;

use common::*;
use kodo_sandbox::{FaultConfig, Options};
use serde_json::{json, Value};

fn with_faults(faults: FaultConfig) -> Options {
    Options { faults, ..fast() }
}

async fn event_rows_named(env: &Env, name: &str) -> Vec<Value> {
    env.query_all(
        EVENTS_DS,
        json!({"filter": {"property": "Event Name", "title": {"equals": name}}}),
    )
    .await
}

/// The per-workspace limit, shared by every connection: its own reason, and a `Retry-After`
/// that "can be longer than a minute" (developers.notion.com/reference/request-limits).
#[tokio::test]
async fn the_workspace_limit_answers_429_with_its_reason_and_a_longer_wait() {
    let options = Options {
        notion_budget: 5,
        notion_workspace_budget: 3,
        notion_workspace_window: std::time::Duration::from_secs(90),
        ..Options::default()
    };
    let env = start_with(kodo_sandbox::Scenario::builtin("demo").unwrap(), options).await;
    for _ in 0..3 {
        assert_eq!(env.notion("GET", "/v1/users/me", None).await.status, 200);
    }
    let limited = env.notion("GET", "/v1/users/me", None).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body["code"], "rate_limited");
    assert_eq!(
        limited.body["additional_data"]["rate_limit_reason"],
        "public_api_space_request_rate_limit"
    );
    let wait: u64 = limited.retry_after.as_deref().unwrap().parse().unwrap();
    assert!(wait > 60 && wait <= 90, "{wait}");
    assert_eq!(
        limited.body["additional_data"]["retry_after"],
        wait.to_string()
    );
    // The refused request spent nothing of the connection's budget: lifting the workspace
    // limit leaves two requests of the five.
    let off = env
        .admin(
            "PUT",
            "/workspace_rate_limit",
            Some(json!({"requests_per_window": 0})),
        )
        .await;
    assert_eq!(off.status, 200);
    for _ in 0..2 {
        assert_eq!(env.notion("GET", "/v1/users/me", None).await.status, 200);
    }
    let connection = env.notion("GET", "/v1/users/me", None).await;
    assert_eq!(
        connection.body["additional_data"]["rate_limit_reason"],
        "public_api_request_rate_limit"
    );
}

#[tokio::test]
async fn notion_rate_limit_answers_429_with_an_integer_retry_after() {
    let options = Options {
        notion_budget: 3,
        ..Options::default()
    };
    let env = start_with(kodo_sandbox::Scenario::builtin("demo").unwrap(), options).await;
    for _ in 0..3 {
        assert_eq!(env.notion("GET", "/v1/users/me", None).await.status, 200);
    }
    let limited = env.notion("GET", "/v1/users/me", None).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body["code"], "rate_limited");
    assert_eq!(
        limited.body["message"],
        "You have been rate limited. Please try again in a few minutes."
    );
    let wait: u64 = limited
        .retry_after
        .as_deref()
        .unwrap()
        .parse()
        .expect("integer seconds");
    // The per-connection window resets within 60 s (developers.notion.com/reference/request-limits).
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(
        limited.body["additional_data"]["rate_limit_reason"],
        "public_api_request_rate_limit"
    );
    assert_eq!(
        limited.body["additional_data"]["retry_after"],
        wait.to_string()
    );
    // The bucket is shared by all endpoints.
    let query = env
        .notion(
            "POST",
            &format!("/v1/data_sources/{EVENTS_DS}/query"),
            Some(json!({})),
        )
        .await;
    assert_eq!(query.status, 429);
    // Raising the limit at run time lets requests through again; admin is never limited.
    let changed = env
        .admin(
            "PUT",
            "/rate_limit",
            Some(json!({"requests_per_window": 1000, "window_secs": 60})),
        )
        .await;
    assert_eq!(changed.status, 200);
    assert_eq!(env.notion("GET", "/v1/users/me", None).await.status, 200);
}

#[tokio::test]
async fn the_default_budget_is_180_requests_per_window_spendable_in_a_burst() {
    let env = start_with(
        kodo_sandbox::Scenario::builtin("demo").unwrap(),
        Options::default(),
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..181 {
        statuses.push(env.notion("GET", "/v1/users/me", None).await.status);
    }
    assert!(statuses[..180].iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(statuses[180], 429);
    let state = env.admin("GET", "/rate_limit", None).await;
    assert_eq!(state.body["requests_per_window"], 180);
    assert_eq!(state.body["window_secs"], 60.0);
}

#[tokio::test]
async fn a_blocked_connection_gets_429_public_api_request_blocked_without_retry_after() {
    let env = start_with(kodo_sandbox::Scenario::builtin("demo").unwrap(), fast()).await;
    let set = env
        .admin(
            "PUT",
            "/rate_limit",
            Some(json!({"requests_per_window": 1000, "window_secs": 60, "blocked": true})),
        )
        .await;
    assert_eq!(set.status, 200);
    let answer = env.notion("GET", "/v1/users/me", None).await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.body["code"], "rate_limited");
    assert_eq!(
        answer.body["additional_data"]["rate_limit_reason"],
        "public_api_request_blocked"
    );
    assert_eq!(answer.retry_after, None);
}

#[tokio::test]
async fn injected_429s_perform_nothing() {
    let env = start_with(
        kodo_sandbox::Scenario::builtin("demo").unwrap(),
        with_faults(FaultConfig {
            rate_429: 1.0,
            ..FaultConfig::default()
        }),
    )
    .await;
    let answer = env
        .notion("POST", "/v1/pages", Some(event_row("user_fault_429")))
        .await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.retry_after.as_deref(), Some("1"));
    assert_eq!(answer.body["additional_data"]["retry_after"], "1");
    let posthog = env
        .posthog(
            "POST",
            &format!("/api/projects/{PROJECT}/feature_flags/"),
            Some(json!({"key": "fault_flag"})),
        )
        .await;
    assert_eq!(posthog.status, 429);
    assert_eq!(posthog.retry_after.as_deref(), Some("1"));
    assert_eq!(
        posthog.body["detail"],
        "Request was throttled. Expected available in 1 second."
    );
    // Admin is never faulted; nothing was created.
    let state = env.admin("GET", "/state", None).await;
    assert_eq!(state.status, 200);
    assert!(state.body["posthog"]["feature_flags"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["key"] != "fault_flag"));
    env.admin("PUT", "/faults", Some(json!({}))).await;
    assert!(event_rows_named(&env, "user_fault_429").await.is_empty());
}

#[tokio::test]
async fn injected_5xx_perform_nothing() {
    let env = start_with(
        kodo_sandbox::Scenario::builtin("demo").unwrap(),
        with_faults(FaultConfig {
            rate_5xx: 1.0,
            ..FaultConfig::default()
        }),
    )
    .await;
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..12 {
        let answer = env
            .notion(
                "POST",
                "/v1/pages",
                Some(event_row(&format!("user_fault_5xx_{i}"))),
            )
            .await;
        assert!(
            matches!(answer.status, 500 | 502 | 503 | 504),
            "{}",
            answer.status
        );
        assert_eq!(answer.body["object"], "error");
        let expected = match answer.status {
            500 => "internal_server_error",
            502 => "bad_gateway",
            503 => "service_unavailable",
            _ => "gateway_timeout",
        };
        assert_eq!(answer.body["code"], expected);
        seen.insert(answer.status);
    }
    assert!(seen.len() > 1, "several 5xx kinds are drawn: {seen:?}");
    let posthog = env
        .posthog(
            "POST",
            &format!("/api/projects/{PROJECT}/feature_flags/"),
            Some(json!({"key": "fault_flag"})),
        )
        .await;
    assert!(posthog.status >= 500);
    env.admin("PUT", "/faults", Some(json!({}))).await;
    let rows = env
        .query_all(EVENTS_DS, json!({"filter": {"property": "Event Name", "title": {"starts_with": "user_fault_5xx"}}}))
        .await;
    assert!(rows.is_empty());
    let flags = env
        .posthog(
            "GET",
            &format!("/api/projects/{PROJECT}/feature_flags/?search=fault_flag"),
            None,
        )
        .await;
    assert_eq!(flags.body["count"], 0);
}

#[tokio::test]
async fn commit_then_503_saves_the_page_and_names_it() {
    let env = start_with(
        kodo_sandbox::Scenario::builtin("demo").unwrap(),
        with_faults(FaultConfig {
            rate_commit_then_503: 1.0,
            ..FaultConfig::default()
        }),
    )
    .await;
    let answer = env
        .notion("POST", "/v1/pages", Some(event_row("user_committed")))
        .await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.body["code"], "service_unavailable");
    assert_eq!(
        answer.body["message"],
        "The change was saved, but the response could not be built in time. Read the object again instead of repeating the write."
    );
    assert_eq!(
        answer.body["additional_data"]["retry_guidance"],
        json!([
            "Read the object again to confirm the saved change.",
            "Do not repeat the write."
        ])
    );
    let id = answer.body["additional_data"]["committed_resource_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Reads are not affected by this fault.
    let page = env.notion("GET", &format!("/v1/pages/{id}"), None).await;
    assert_eq!(page.status, 200);
    assert_eq!(text_of(&page.body, "Event Name"), "user_committed");
    let rows = event_rows_named(&env, "user_committed").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], id.as_str());
    // Updates answer normally under this fault.
    let patched = env
        .notion(
            "PATCH",
            &format!("/v1/pages/{id}"),
            Some(json!({"properties": {"Category": {"select": {"name": "engagement"}}}})),
        )
        .await;
    assert_eq!(patched.status, 200);
    // Database creation is covered too.
    let db = json!({"parent": {"type": "page_id", "page_id": ANALYTICS_HOME}, "title": text("Extra"),
        "initial_data_source": {"properties": {"Name": {"title": {}}}}});
    let answer = env.notion("POST", "/v1/databases", Some(db)).await;
    assert_eq!(answer.status, 503);
    let db_id = answer.body["additional_data"]["committed_resource_id"]
        .as_str()
        .unwrap();
    assert_eq!(
        env.notion("GET", &format!("/v1/databases/{db_id}"), None)
            .await
            .status,
        200
    );
}

/// Real Notion answers a commit-then-503 once its 55 s deadline passed; with
/// `commit503_delay_ms` the sandbox answers late too, while the row is already readable.
#[tokio::test]
async fn a_late_commit_then_503_is_saved_before_it_answers() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let env = start_with(
        kodo_sandbox::Scenario::builtin("demo").unwrap(),
        with_faults(FaultConfig {
            rate_commit_then_503: 1.0,
            commit503_delay_ms: 3_000,
            ..FaultConfig::default()
        }),
    )
    .await;
    let answered = AtomicBool::new(false);
    let write = async {
        let answer = env
            .notion("POST", "/v1/pages", Some(event_row("user_late")))
            .await;
        answered.store(true, Ordering::SeqCst);
        answer
    };
    let read = async {
        loop {
            if !event_rows_named(&env, "user_late").await.is_empty() {
                return answered.load(Ordering::SeqCst);
            }
            tokio::task::yield_now().await;
        }
    };
    let (answer, answered_when_visible) = tokio::join!(write, read);
    assert!(
        !answered_when_visible,
        "the row is readable before the 503 arrives"
    );
    assert_eq!(answer.status, 503);
    let id = answer.body["additional_data"]["committed_resource_id"]
        .as_str()
        .unwrap();
    assert_eq!(event_rows_named(&env, "user_late").await[0]["id"], id);
    assert_eq!(
        FaultConfig::parse("commit503=1,commit503_delay=55000")
            .unwrap()
            .commit503_delay_ms,
        55_000
    );
}

#[tokio::test]
async fn dropped_connection_after_commit_still_saved_the_row() {
    let env = start_with(
        kodo_sandbox::Scenario::builtin("demo").unwrap(),
        with_faults(FaultConfig {
            rate_drop_after_commit: 1.0,
            ..FaultConfig::default()
        }),
    )
    .await;
    let result = env
        .http
        .post(format!("{}/v1/pages", env.base))
        .bearer_auth(NOTION_TOKEN)
        .header("Notion-Version", "2025-09-03")
        .json(&event_row("user_dropped"))
        .send()
        .await;
    let error = result.expect_err("the connection closes without an answer");
    assert!(!error.is_timeout(), "{error}");
    assert!(
        error.is_request() || error.is_connect() || error.to_string().contains("connection"),
        "{error:?}"
    );
    // Reads are answered even under this fault.
    let rows = event_rows_named(&env, "user_dropped").await;
    assert_eq!(rows.len(), 1, "the write was applied exactly once");
    // PATCH writes are dropped after being applied too.
    let id = rows[0]["id"].as_str().unwrap();
    let result = env
        .http
        .patch(format!("{}/v1/pages/{id}", env.base))
        .bearer_auth(NOTION_TOKEN)
        .header("Notion-Version", "2025-09-03")
        .json(&json!({"properties": {"Category": {"select": {"name": "engagement"}}}}))
        .send()
        .await;
    assert!(result.is_err());
    let page = env.notion("GET", &format!("/v1/pages/{id}"), None).await;
    assert_eq!(
        page.body["properties"]["Category"]["select"]["name"],
        "engagement"
    );
    let log = env.admin("GET", "/requests", None).await;
    let dropped: Vec<&Value> = log
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["fault"] == "drop")
        .collect();
    assert_eq!(dropped.len(), 2);
    assert!(dropped
        .iter()
        .all(|e| e["status"].is_null() && e["write"] == true));
}

#[tokio::test]
async fn faults_can_be_changed_at_run_time_and_are_validated() {
    let env = start("demo").await;
    assert_eq!(env.notion("GET", "/v1/users/me", None).await.status, 200);
    let set = env
        .admin(
            "PUT",
            "/faults",
            Some(json!({"rate_429": 1.0, "latency_ms": [0, 2]})),
        )
        .await;
    assert_eq!(set.status, 200);
    assert_eq!(
        env.admin("GET", "/faults", None).await.body["rate_429"],
        1.0
    );
    assert_eq!(env.notion("GET", "/v1/users/me", None).await.status, 429);
    let bad = env
        .admin("PUT", "/faults", Some(json!({"rate_5xx": 3.0})))
        .await;
    assert_eq!(bad.status, 400);
    let unknown = env
        .admin("PUT", "/faults", Some(json!({"rate_teapot": 0.5})))
        .await;
    assert_eq!(unknown.status, 400);
    env.admin("PUT", "/faults", Some(json!({}))).await;
    assert_eq!(env.notion("GET", "/v1/users/me", None).await.status, 200);
}

#[tokio::test]
async fn the_same_seed_meets_the_same_faults() {
    let faults = FaultConfig {
        rate_429: 0.3,
        rate_5xx: 0.3,
        ..FaultConfig::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let options = Options {
            seed: 7,
            ..with_faults(faults.clone())
        };
        let env = start_with(kodo_sandbox::Scenario::builtin("demo").unwrap(), options).await;
        let mut statuses = Vec::new();
        for _ in 0..30 {
            statuses.push(env.notion("GET", "/v1/users/me", None).await.status);
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&200) && runs[0].iter().any(|s| *s != 200));
}

#[tokio::test]
async fn the_request_log_never_holds_a_token() {
    let env = start("demo").await;
    env.notion("GET", "/v1/users", None).await;
    env.notion("POST", "/v1/pages", Some(event_row("user_logged_row")))
        .await;
    env.raw(
        env.http
            .get(format!("{}/v1/users/me", env.base))
            .bearer_auth("ntn_wrong_secret_value")
            .header("Notion-Version", "2025-09-03"),
    )
    .await;
    env.posthog(
        "GET",
        &format!("/api/projects/{PROJECT}/feature_flags/?limit=5"),
        None,
    )
    .await;
    env.raw(
        env.http
            .get(format!(
                "{}/api/projects/{PROJECT}/dashboards/?personal_api_key=phx_in_query_secret",
                env.base
            ))
            .bearer_auth("phx_wrong_secret_value"),
    )
    .await;
    let log = env.admin("GET", "/requests", None).await;
    let text = log.body.to_string();
    for secret in [
        NOTION_TOKEN,
        POSTHOG_KEY,
        "ntn_wrong_secret_value",
        "phx_wrong_secret_value",
        "phx_in_query_secret",
        "Bearer",
    ] {
        assert!(!text.contains(secret), "log leaks {secret}: {text}");
    }
    let entries = log.body.as_array().unwrap();
    assert_eq!(entries.len(), 5, "admin requests are not logged");
    assert_eq!(
        entries[1],
        json!({"method": "POST", "path": "/v1/pages", "query": "", "status": 200, "write": true, "service": "notion", "fault": null})
    );
    assert_eq!(entries[2]["status"], 401);
    assert_eq!(entries[3]["service"], "posthog");
    assert_eq!(entries[3]["query"], "limit=5");
    assert_eq!(entries[3]["write"], false);
    let cleared = env.admin("DELETE", "/requests", None).await;
    assert_eq!(cleared.status, 200);
    assert_eq!(env.admin("GET", "/requests", None).await.body, json!([]));
}

#[tokio::test]
async fn past_the_free_block_limit_creates_fail_with_403_and_reads_still_work() {
    let env = start_with(kodo_sandbox::Scenario::builtin("demo").unwrap(), fast()).await;
    let set = env
        .admin("PUT", "/block_limit", Some(json!({"reached": true})))
        .await;
    assert_eq!(set.status, 200);
    let answer = env
        .notion("POST", "/v1/pages", Some(event_row("user_block_limit")))
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.body["code"], "restricted_resource");
    assert_eq!(
        answer.body["additional_data"]["block_limit"],
        "block_creation"
    );
    assert!(event_rows_named(&env, "user_block_limit").await.is_empty());
    assert_eq!(env.notion("GET", "/v1/users/me", None).await.status, 200);
}
