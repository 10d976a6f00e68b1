//! kodo-api against the kodo-sandbox emulator: real request/response shapes for both services,
//! exactly-once creates and settled updates under injected faults, the per-query row cap, the
//! emulator's own rate limit, and credential errors.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kodo_api::{
    ApiError, ClientOptions, CreateOutcome, KeyLookup, KeyType, NotionClient, PostHogClient,
    RateLimits, Secret, UsersAccess,
};
use kodo_sandbox::{FaultConfig, Options, Sandbox, Scenario};
use serde_json::{json, Value};

const EVENTS_DS: &str = "22d9f5a1-4b6c-8069-b3f4-a5b6c7d8e9f0";

fn fast_options() -> Options {
    Options {
        notion_budget: 1_000_000,
        ..Options::default()
    }
}

fn notion_options() -> ClientOptions {
    ClientOptions {
        limits: RateLimits::paced(1_000.0, 1_000),
        max_attempts: 10,
        max_retry_delay: Some(Duration::from_millis(10)),
        ..ClientOptions::notion()
    }
}

struct Env {
    sandbox: Sandbox,
    config: Value,
    notion: NotionClient,
    posthog: PostHogClient,
}

async fn start(scenario: &str, options: Options) -> Env {
    let scenario = Scenario::builtin(scenario).unwrap();
    let notion_token = scenario.notion_token().to_owned();
    let posthog_key = scenario.posthog_key().to_owned();
    let sandbox = Sandbox::start(scenario.clone(), options).await.unwrap();
    let base = sandbox.base_url();
    let config = scenario.kodo_config(&base);
    let notion = NotionClient::new(&base, Secret::new(notion_token), notion_options()).unwrap();
    let project = config["posthog"]["project_id"].as_str().unwrap().to_owned();
    let posthog = PostHogClient::new(
        &base,
        &project,
        Secret::new(posthog_key),
        ClientOptions {
            limits: RateLimits::paced(1_000.0, 1_000),
            max_retry_delay: Some(Duration::from_millis(10)),
            ..ClientOptions::posthog()
        },
    )
    .unwrap();
    Env {
        sandbox,
        config,
        notion,
        posthog,
    }
}

async fn admin(base: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let url = format!("{base}/__admin/{path}");
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

fn title(value: &str) -> Value {
    json!({"title": [{"type": "text", "text": {"content": value}}]})
}

fn event_key(name: &str) -> KeyLookup {
    KeyLookup {
        property: "Event Name".into(),
        filter_type: KeyType::Title,
        value: json!(name),
    }
}

fn title_of(page: &kodo_api::Page, property: &str) -> String {
    page.properties[property]["title"]
        .as_array()
        .map(|items| kodo_api::notion::plain_text(items))
        .unwrap_or_default()
}

#[tokio::test]
async fn posthog_lists_every_resource_of_the_demo_project() {
    let env = start("demo", fast_options()).await;
    let defs = env.posthog.event_definitions().await.unwrap();
    assert_eq!(defs.len(), 51);
    assert!(defs.iter().any(|d| d.name == "$pageview"));
    let flags = env.posthog.feature_flags().await.unwrap();
    assert!(!flags.is_empty());
    assert!(flags
        .iter()
        .all(|f| !f.deleted && f.key != "release_old_navbar"));
    let gone = env.posthog.feature_flag(213).await.unwrap().unwrap();
    assert!(gone.deleted, "deleted flags are still fetchable by id");
    assert_eq!(env.posthog.feature_flag(999_999).await.unwrap(), None);
    let dashboards = env.posthog.dashboards().await.unwrap();
    assert_eq!(dashboards.len(), 6, "the deleted dashboard is left out");
    assert_eq!(env.posthog.stats().writes, 0);
    env.sandbox.shutdown().await;
}

/// `property_definitions` filtered by one event name, every page (PostHog pages by 100).
#[tokio::test]
async fn posthog_lists_the_properties_seen_with_an_event_across_pages() {
    let env = start("empty", fast_options()).await;
    let base = env.sandbox.base_url();
    for i in 0..150 {
        admin(
            &base,
            reqwest::Method::POST,
            "posthog/property_definitions",
            Some(json!({"name": format!("p{i:03}"), "property_type": if i % 2 == 0 { "Numeric" } else { "String" }, "events": ["checkout_completed"]})),
        )
        .await;
    }
    admin(
        &base,
        reqwest::Method::POST,
        "posthog/property_definitions",
        Some(json!({"name": "query", "property_type": "String", "events": ["search_performed"]})),
    )
    .await;
    let props = env
        .posthog
        .event_properties("checkout_completed")
        .await
        .unwrap();
    assert_eq!(props.len(), 150);
    assert!(props
        .iter()
        .all(|p| p.is_seen_on_filtered_events == Some(true)));
    assert!(props.iter().all(|p| p.name != "query"));
    assert_eq!(props[0].name, "p000");
    assert_eq!(props[0].property_type.as_deref(), Some("Numeric"));
    assert!(props[0].is_numerical);
    assert_eq!(env.posthog.stats().reads, 2);
    let none = env.posthog.event_properties("never_sent").await.unwrap();
    assert!(none.is_empty());
    env.sandbox.shutdown().await;
}

/// PostHog/posthog PR #63338: the default flag list leaves archived flags out; the client
/// lists `?archived=true` too.
#[tokio::test]
async fn archived_flags_are_listed_too() {
    let env = start("demo", fast_options()).await;
    let before = env.posthog.feature_flags().await.unwrap().len();
    admin(
        &env.sandbox.base_url(),
        reqwest::Method::PATCH,
        "posthog/feature_flags/208",
        Some(json!({"archived": true, "active": false})),
    )
    .await;
    let flags = env.posthog.feature_flags().await.unwrap();
    assert_eq!(flags.len(), before);
    let archived = flags.iter().find(|f| f.id == 208).unwrap();
    assert!(archived.archived && !archived.active);
    env.sandbox.shutdown().await;
}

/// Every flag create generates "Generated Dashboard: <key> Usage"; the client asks for
/// `exclude_generated=true`.
#[tokio::test]
async fn generated_usage_dashboards_are_left_out() {
    let env = start("demo", fast_options()).await;
    let created = env
        .posthog
        .create_feature_flag(&json!({"key": "release_search_v3", "name": "Search v3"}))
        .await
        .unwrap();
    let state = admin(&env.sandbox.base_url(), reqwest::Method::GET, "state", None).await;
    let generated = state["posthog"]["dashboards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["creation_mode"] == "template")
        .count();
    assert_eq!(generated, 14, "13 seeded flags and the new one");
    let dashboards = env.posthog.dashboards().await.unwrap();
    assert_eq!(dashboards.len(), 6);
    assert!(dashboards
        .iter()
        .all(|d| !d.name.starts_with("Generated Dashboard")));
    assert!(created.id > 0);
    env.sandbox.shutdown().await;
}

/// Limit/offset pages over a live ordering repeat items when something is created ahead
/// mid-listing; the client keeps the first copy of each id.
#[tokio::test]
async fn shifted_pages_do_not_repeat_items() {
    let env = start("demo", fast_options()).await;
    let base = env.sandbox.base_url();
    for i in 0..60 {
        admin(
            &base,
            reqwest::Method::POST,
            "posthog/event_definitions",
            Some(json!({"name": format!("bulk_event_{i:02}")})),
        )
        .await;
    }
    admin(
        &base,
        reqwest::Method::PUT,
        "posthog_list_shift",
        Some(json!({"list_shift": 7})),
    )
    .await;
    let defs = env.posthog.event_definitions().await.unwrap();
    let mut names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names.len(), 111);
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 111);
    env.sandbox.shutdown().await;
}

/// Shared metrics (`saved_metrics`) come through the client with their name and type.
#[tokio::test]
async fn experiments_keep_their_saved_metrics_and_status() {
    let env = start("demo", fast_options()).await;
    let exps = env.posthog.experiments().await.unwrap();
    let pricing = exps.iter().find(|e| e.id == 31).unwrap();
    assert_eq!(pricing.status.as_deref(), Some("running"));
    assert_eq!(pricing.saved_metrics[0]["name"], "Pricing page bounce rate");
    assert_eq!(pricing.saved_metrics[0]["metadata"]["type"], "secondary");
    let stopped = exps.iter().find(|e| e.id == 32).unwrap();
    assert_eq!(stopped.status.as_deref(), Some("stopped"));
    env.sandbox.shutdown().await;
}

/// A flag an experiment used keeps its id when deleted, but its key becomes
/// `<key>:deleted:<id>`.
#[tokio::test]
async fn tombstoned_keys_are_recognised() {
    let env = start("demo", fast_options()).await;
    admin(
        &env.sandbox.base_url(),
        reqwest::Method::PATCH,
        "posthog/feature_flags/206",
        Some(json!({"deleted": true})),
    )
    .await;
    let flag = env.posthog.feature_flag(206).await.unwrap().unwrap();
    assert!(flag.deleted);
    assert_eq!(flag.key, "exp_checkout_button_copy:deleted:206");
    assert_eq!(flag.key_without_tombstone(), "exp_checkout_button_copy");
    env.sandbox.shutdown().await;
}

/// PostHog's sustained window (4,800/hour, shrunk here to 3 per 2 s) asks a long run to wait
/// again and again; the run waits it out instead of giving up after `max_attempts`.
#[tokio::test]
async fn a_long_run_waits_out_posthogs_sustained_window() {
    let env = start("demo", fast_options()).await;
    admin(
        &env.sandbox.base_url(),
        reqwest::Method::PUT,
        "posthog_rate_limit",
        Some(json!({"burst": {"limit": 480, "seconds": 60}, "sustained": {"limit": 3, "seconds": 2}})),
    )
    .await;
    let defs = env.posthog.event_definitions().await.unwrap();
    let flags = env.posthog.feature_flags().await.unwrap();
    let experiments = env.posthog.experiments().await.unwrap();
    let dashboards = env.posthog.dashboards().await.unwrap();
    assert_eq!(
        (defs.len(), experiments.len(), dashboards.len()),
        (51, 3, 6)
    );
    assert!(!flags.is_empty());
    let s = env.posthog.stats();
    assert!(s.rate_limited > 6, "{s:?}");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn archived_experiments_are_listed_too() {
    let env = start("demo", fast_options()).await;
    assert_eq!(env.posthog.experiments().await.unwrap().len(), 3);
    admin(
        &env.sandbox.base_url(),
        reqwest::Method::PATCH,
        "posthog/experiments/33",
        Some(json!({"archived": true})),
    )
    .await;
    let exps = env.posthog.experiments().await.unwrap();
    assert_eq!(exps.len(), 3);
    let trial = exps.iter().find(|e| e.id == 33).unwrap();
    assert!(trial.archived);
    assert_eq!(trial.name, "Trial length test");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn posthog_lists_page_through_more_than_one_hundred_items() {
    let env = start("empty", fast_options()).await;
    for i in 0..130 {
        let flag = env
            .posthog
            .create_feature_flag(
                &json!({"key": format!("ops_bulk_{i:03}"), "name": "", "active": false,
                "filters": {"groups": [{"properties": [], "rollout_percentage": null}]}}),
            )
            .await
            .unwrap();
        assert_eq!(flag.filters.groups[0].rollout_percentage, None);
    }
    let flags = env.posthog.feature_flags().await.unwrap();
    assert_eq!(flags.len(), 130);
    let mut keys: Vec<&str> = flags.iter().map(|f| f.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 130);
    let s = env.posthog.stats();
    // Two pages of the default list, one (empty) page of archived flags.
    assert_eq!((s.writes, s.reads), (130, 3));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn configured_database_ids_resolve_to_their_data_sources() {
    let env = start("demo", fast_options()).await;
    let databases = env.config["notion"]["databases"]
        .as_object()
        .unwrap()
        .clone();
    assert_eq!(databases.len(), 4);
    for (kind, id) in databases {
        let id = id.as_str().unwrap();
        let ds = env.notion.resolve_data_source(id).await.unwrap();
        assert_eq!(
            ds.database_id.replace('-', ""),
            id.replace('-', ""),
            "{kind}"
        );
        let titles: Vec<_> = ds
            .properties
            .values()
            .filter(|p| p.kind == "title")
            .collect();
        assert_eq!(titles.len(), 1, "{kind}");
        // The data-source id resolves to itself.
        assert_eq!(
            env.notion.resolve_data_source(&ds.id).await.unwrap().id,
            ds.id
        );
    }
    let events = env.notion.retrieve_data_source(EVENTS_DS).await.unwrap();
    assert!(events.properties["Implementation Status"]
        .options
        .contains(&"implemented".to_owned()));
    let err = env
        .notion
        .resolve_data_source("99999999-9999-4999-8999-999999999999")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn users_and_the_bot_are_read() {
    let env = start("demo", fast_options()).await;
    let me = env.notion.me().await.unwrap();
    assert!(me.is_bot);
    let UsersAccess::Users(users) = env.notion.list_users().await.unwrap() else {
        panic!("the demo integration may read users");
    };
    assert!(users
        .iter()
        .any(|u| u.email.as_deref() == Some("maya.chen@acme.example")));
    env.sandbox.shutdown().await;
}

fn faults() -> FaultConfig {
    FaultConfig {
        rate_429: 0.1,
        rate_5xx: 0.15,
        rate_commit_then_503: 0.2,
        rate_drop_after_commit: 0.2,
        latency_ms: (0, 2),
        ..FaultConfig::default()
    }
}

#[tokio::test]
async fn creates_are_exactly_once_under_injected_faults() {
    let env = start(
        "demo",
        Options {
            faults: faults(),
            seed: 7,
            ..fast_options()
        },
    )
    .await;
    let base = env.sandbox.base_url();
    let notion = Arc::new(env.notion);
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let notion = Arc::clone(&notion);
            tokio::spawn(async move {
                let name = format!("it_event_{i:02}");
                let props = json!({"Event Name": title(&name),
                                   "Implementation Status": {"select": {"name": "planned"}}});
                notion
                    .create_page(EVENTS_DS, props, &event_key(&name))
                    .await
            })
        })
        .collect();
    for t in tasks {
        let page = t.await.unwrap().unwrap().into_page();
        assert!(title_of(&page, "Event Name").starts_with("it_event_"));
    }
    admin(&base, reqwest::Method::PUT, "faults", Some(json!({}))).await;
    let rows = notion.query_all(EVENTS_DS, None).await.unwrap();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for row in &rows {
        let name = title_of(row, "Event Name");
        if name.starts_with("it_event_") {
            *counts.entry(name).or_default() += 1;
        }
    }
    assert_eq!(counts.len(), 30, "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "duplicates: {counts:?}");
    assert_eq!(rows.len(), 41 + 30);
    // The faults really fired: some writes were dropped or answered 5xx.
    let log = admin(&base, reqwest::Method::GET, "requests", None).await;
    let failed_writes = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["write"] == json!(true) && e["status"].as_u64().is_none_or(|s| s >= 500))
        .count();
    assert!(failed_writes > 0, "no write fault was injected");
}

#[tokio::test]
async fn updates_and_trashing_settle_under_injected_faults() {
    let env = start(
        "demo",
        Options {
            faults: faults(),
            seed: 11,
            ..fast_options()
        },
    )
    .await;
    let base = env.sandbox.base_url();
    admin(&base, reqwest::Method::PUT, "faults", Some(json!({}))).await;
    let rows = env.notion.query_all(EVENTS_DS, None).await.unwrap();
    admin(
        &base,
        reqwest::Method::PUT,
        "faults",
        Some(serde_json::to_value(faults()).unwrap()),
    )
    .await;
    for row in rows.iter().take(12) {
        let text = format!("Reviewed: {}", title_of(row, "Event Name"));
        let page = env
            .notion
            .update_page(&row.id, json!({"Description": {"rich_text": [{"type": "text", "text": {"content": text}}]},
                                         "Implementation Status": {"select": {"name": "deprecated"}}}))
            .await
            .unwrap();
        assert_eq!(
            page.properties["Implementation Status"]["select"]["name"],
            "deprecated"
        );
    }
    let trashed = env.notion.set_in_trash(&rows[12].id, true).await.unwrap();
    assert!(trashed.in_trash);
    admin(&base, reqwest::Method::PUT, "faults", Some(json!({}))).await;
    for row in rows.iter().take(12) {
        let page = env.notion.retrieve_page(&row.id).await.unwrap();
        let description = kodo_api::notion::plain_text(
            page.properties["Description"]["rich_text"]
                .as_array()
                .unwrap(),
        );
        assert_eq!(
            description,
            format!("Reviewed: {}", title_of(row, "Event Name"))
        );
    }
    let live = env.notion.query_all(EVENTS_DS, None).await.unwrap();
    assert_eq!(live.len(), 40, "the trashed row is out of queries");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn queries_continue_past_the_per_query_row_cap() {
    let env = start(
        "demo",
        Options {
            query_row_cap: 10,
            ..fast_options()
        },
    )
    .await;
    let rows = env.notion.query_all(EVENTS_DS, None).await.unwrap();
    assert_eq!(rows.len(), 41);
    let mut ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 41, "no duplicates");
    let filtered = env
        .notion
        .query_all(
            EVENTS_DS,
            Some(json!({"property": "Implementation Status", "select": {"equals": "implemented"}})),
        )
        .await
        .unwrap();
    assert!(!filtered.is_empty());
    assert!(filtered
        .iter()
        .all(|p| p.properties["Implementation Status"]["select"]["name"] == "implemented"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_emulators_rate_limit_is_absorbed_by_waiting() {
    let env = start(
        "demo",
        Options {
            notion_budget: 6,
            notion_window: Duration::from_millis(200),
            ..Options::default()
        },
    )
    .await;
    let notion = Arc::new(
        NotionClient::new(
            &env.sandbox.base_url(),
            Secret::new(Scenario::builtin("demo").unwrap().notion_token()),
            ClientOptions {
                max_attempts: 40,
                ..notion_options()
            },
        )
        .unwrap(),
    );
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let notion = Arc::clone(&notion);
            tokio::spawn(async move { notion.retrieve_data_source(EVENTS_DS).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let stats = notion.stats();
    assert!(stats.rate_limited > 0, "{stats:?}");
    assert_eq!(stats.reads, 12 + stats.rate_limited);
    env.sandbox.shutdown().await;
}

/// The Notion statuses of the emulator's request log, in order.
async fn notion_statuses(base: &str) -> Vec<u64> {
    admin(base, reqwest::Method::GET, "requests", None)
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["service"] == "notion")
        .map(|e| e["status"].as_u64().unwrap_or(0))
        .collect()
}

/// Notion's 429 says how long to wait: `Retry-After`, whole seconds until the connection's
/// window resets ("Wait for the number of seconds in the Retry-After header",
/// developers.notion.com/reference/request-limits). A client that does not know the budget
/// (here it paces at 1,000/s while the emulator allows 3 per 3-second window) is refused once,
/// waits what it was told, and its retry goes through: no request is refused twice, whatever
/// its own backoff would have been (1 s first, which would meet the same closed window), and
/// every call succeeds with the default 6 attempts. Real waits: no test cap on delays.
#[tokio::test]
async fn a_429_is_waited_out_for_its_retry_after_and_the_retry_goes_through() {
    let sandbox = Sandbox::start(
        Scenario::builtin("demo").unwrap(),
        Options {
            notion_budget: 3,
            notion_window: Duration::from_secs(3),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let base = sandbox.base_url();
    let notion = NotionClient::new(
        &base,
        Secret::new(Scenario::builtin("demo").unwrap().notion_token()),
        ClientOptions {
            limits: RateLimits::paced(1_000.0, 1_000),
            max_retry_delay: None,
            ..ClientOptions::notion()
        },
    )
    .unwrap();
    for _ in 0..7 {
        notion.retrieve_data_source(EVENTS_DS).await.unwrap();
    }
    let statuses = notion_statuses(&base).await;
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(refused >= 1, "the budget never bit: {statuses:?}");
    assert_eq!(statuses.len(), 7 + refused, "{statuses:?}");
    assert!(
        statuses.windows(2).all(|w| w != [429, 429]),
        "a retry was sent before the stated wait was over: {statuses:?}"
    );
    assert_eq!(notion.stats().rate_limited, refused as u64);
    sandbox.shutdown().await;
}

/// `public_api_request_blocked`: "This connection's API access has been restricted. Retrying
/// won't help" (developers.notion.com/reference/request-limits). The call fails at its first
/// answer, and every later call of the client fails without a send.
#[tokio::test]
async fn a_blocked_connection_is_never_sent_to_again() {
    let env = start("demo", fast_options()).await;
    let base = env.sandbox.base_url();
    admin(
        &base,
        reqwest::Method::PUT,
        "rate_limit",
        Some(json!({"requests_per_window": 100_000, "window_secs": 60, "blocked": true})),
    )
    .await;
    for _ in 0..3 {
        let err = env
            .notion
            .retrieve_data_source(EVENTS_DS)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("public_api_request_blocked"),
            "{err}"
        );
    }
    let err = env.notion.me().await.unwrap_err();
    assert!(
        err.to_string().contains("public_api_request_blocked"),
        "{err}"
    );
    assert_eq!(notion_statuses(&base).await, vec![429], "one send in all");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_are_explained() {
    let env = start("demo", fast_options()).await;
    let base = env.sandbox.base_url();
    let notion =
        NotionClient::new(&base, Secret::new("ntn_wrong_token_000"), notion_options()).unwrap();
    let err = notion.me().await.unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized { .. }), "{err:?}");
    assert!(
        err.to_string().contains("NOTION_API_KEY")
            && !err.to_string().contains("ntn_wrong_token_000")
    );
    let project = env.config["posthog"]["project_id"].as_str().unwrap();
    let posthog = PostHogClient::new(
        &base,
        project,
        Secret::new("phc_project_key_000"),
        ClientOptions::posthog(),
    )
    .unwrap();
    let err = posthog.feature_flags().await.unwrap_err();
    assert!(err.to_string().contains("project API key (phc_…)"), "{err}");
    let other = PostHogClient::new(
        &base,
        "1",
        Secret::new(Scenario::builtin("demo").unwrap().posthog_key()),
        ClientOptions::posthog(),
    )
    .unwrap();
    let err = other.dashboards().await.unwrap_err();
    assert!(
        matches!(err, ApiError::NotFound { ref id, .. } if id == "1"),
        "{err:?}"
    );
    assert!(err.to_string().contains("posthog.project_id (1)"), "{err}");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn setup_then_rows_in_an_empty_workspace() {
    let env = start("empty", fast_options()).await;
    let parent = env.config["notion"]["pages"]["tracking_plan"]
        .as_str()
        .unwrap()
        .to_owned();
    let db = env
        .notion
        .create_database(&parent, "Events", "", json!({
            "Event Name": {"title": {}},
            "Implementation Status": {"select": {"options": [{"name": "planned", "color": "gray"}]}},
            "Description": {"rich_text": {}}
        }))
        .await
        .unwrap();
    assert_eq!(db.title, "Events");
    let ds = env.notion.resolve_data_source(&db.id).await.unwrap();
    assert_eq!(ds.properties["Event Name"].kind, "title");
    let ds = env
        .notion
        .update_data_source(&ds.id, json!({"properties": {"Owner": {"people": {}}}}))
        .await
        .unwrap();
    assert_eq!(ds.properties["Owner"].kind, "people");

    let key = event_key("user_signed_up");
    assert_eq!(env.notion.find_by_key(&ds.id, &key).await.unwrap(), None);
    let created = env
        .notion
        .create_page(&ds.id, json!({"Event Name": title("user_signed_up")}), &key)
        .await
        .unwrap();
    assert!(matches!(created, CreateOutcome::Created(_)));
    let found = env.notion.find_by_key(&ds.id, &key).await.unwrap().unwrap();
    assert_eq!(found.id, created.page().id);
    // Title equals is case-sensitive.
    assert_eq!(
        env.notion
            .find_by_key(&ds.id, &event_key("User_Signed_Up"))
            .await
            .unwrap(),
        None
    );
    let before = env.notion.stats();
    let updated = env
        .notion
        .update_page(
            &found.id,
            json!({"Implementation Status": {"select": {"name": "planned"}}}),
        )
        .await
        .unwrap();
    assert_eq!(
        updated.properties["Implementation Status"]["select"]["name"],
        "planned"
    );
    assert_eq!(env.notion.stats().writes, before.writes + 1);
    env.sandbox.shutdown().await;
}
