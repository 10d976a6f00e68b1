//! Notion's per-connection rate limit as it is today: a budget of requests per 60-second
//! window that may be spent in a burst (developers.notion.com/reference/request-limits), a
//! 429 that names its reason, and `public_api_request_blocked`, after which nothing is sent.

use std::time::Duration;

use crate::common::{fast_options, TestEnv};
use kodo_sandbox::{Options, Scenario};
use serde_json::json;

fn notion_statuses(env: &TestEnv) -> Vec<u64> {
    env.requests()
        .iter()
        .filter(|r| r["service"] == "notion")
        .filter_map(|r| r["status"].as_u64())
        .collect()
}

#[test]
fn an_import_spends_the_window_budget_and_is_never_rate_limited() {
    // A budget the demo import overspends several times over (it needs ~30 Notion requests),
    // in a short window so the test stays quick: kodo must wait for each window, never send
    // past it.
    let env = TestEnv::with(
        Scenario::builtin("demo").unwrap(),
        Options {
            notion_budget: 10,
            notion_window: Duration::from_millis(400),
            ..fast_options()
        },
    );
    assert_eq!(
        env.config()["notion"]["rateLimit"],
        json!({"requestsPerWindow": 10, "windowSeconds": 0.4})
    );
    env.ph_sync(&["import"]);
    let statuses = notion_statuses(&env);
    assert!(statuses.len() > 20, "{} requests", statuses.len());
    assert!(
        !statuses.contains(&429),
        "kodo overspent the budget: {statuses:?}"
    );
    env.assert_no_duplicates();
}

#[test]
fn a_blocked_connection_stops_kodo_at_once_with_the_reason() {
    let env = TestEnv::start("demo");
    env.sandbox.admin_send(
        "PUT",
        "/rate_limit",
        json!({"requests_per_window": 100000, "window_secs": 60, "blocked": true}),
    );
    let out = env.kodo().args(["ph-sync", "import"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("public_api_request_blocked"), "{stderr}");
    assert!(stderr.contains("contact Notion support"), "{stderr}");
    // Retrying won't help: no request is sent twice, and none is sent after the answers to
    // the first concurrent ones.
    let requests: Vec<String> = env
        .requests()
        .iter()
        .filter(|r| r["service"] == "notion")
        .map(|r| format!("{} {}", r["method"], r["path"]))
        .collect();
    let mut unique = requests.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), requests.len(), "{requests:?}");
    assert!(notion_statuses(&env).iter().all(|s| *s == 429));
}

/// Notion's per-workspace limit (its own reason, a `Retry-After` that can pass a minute):
/// kodo pauses every request for the stated wait and carries on; the import completes once.
#[test]
fn the_workspace_limit_is_waited_out_as_stated() {
    let env = TestEnv::with(
        Scenario::builtin("demo").unwrap(),
        Options {
            notion_workspace_budget: 12,
            notion_workspace_window: Duration::from_secs(2),
            ..fast_options()
        },
    );
    // The real waits, not the test cap: the window resets only after the stated time.
    let out = env
        .kodo()
        .env_remove("KODO_TEST_NO_RETRY_DELAY")
        .args(["ph-sync", "import", "-v"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("public_api_space_request_rate_limit"),
        "{stderr}"
    );
    let statuses = notion_statuses(&env);
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(limited >= 1, "the workspace limit was never reached");
    // Waiting as told, kodo is refused about once per window per request in flight, never
    // retrying into the same closed window again and again.
    let windows = statuses.len().div_ceil(12);
    assert!(
        limited <= windows * 4,
        "{limited} refusals for {windows} windows"
    );
    env.assert_no_duplicates();
}
