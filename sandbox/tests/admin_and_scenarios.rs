//! The admin API (state, changes as a person would make them), the blocking sandbox for
//! synchronous tests, the built-in scenarios and their kodo configs.

mod common;

use common::*;
use kodo_sandbox::{BlockingSandbox, Options, Scenario};
use serde_json::{json, Value};

#[tokio::test]
async fn the_demo_matches_the_specs_example() {
    let env = start("demo").await;
    let env_ref = &env;
    let get = move |path: String| async move { env_ref.posthog("GET", &path, None).await.body };
    let events = get(format!(
        "/api/projects/{PROJECT}/event_definitions/?limit=200"
    ))
    .await;
    let custom: Vec<&str> = events["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .filter(|n| !n.starts_with('$'))
        .collect();
    assert_eq!(custom.len(), 47);
    for builtin in ["$pageview", "$autocapture", "$identify"] {
        assert!(events["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == builtin));
    }
    let flags = get(format!("/api/projects/{PROJECT}/feature_flags/")).await;
    let flags = flags["results"].as_array().unwrap().clone();
    assert_eq!(flags.len(), 12);
    assert_eq!(flags.iter().filter(|f| f["active"] == true).count(), 8);
    assert_eq!(
        get(format!("/api/projects/{PROJECT}/experiments/")).await["count"],
        3
    );
    // Every flag (the deleted one too) has its generated usage dashboard; only
    // `exclude_generated=true` hides them.
    assert_eq!(
        get(format!("/api/projects/{PROJECT}/dashboards/")).await["count"],
        6 + 13
    );
    assert_eq!(
        get(format!(
            "/api/projects/{PROJECT}/dashboards/?exclude_generated=true"
        ))
        .await["count"],
        6
    );

    let documented = |rows: &[Value], title: &str| -> Vec<String> {
        rows.iter().map(|r| text_of(r, title)).collect()
    };
    let event_rows = env.query_all(EVENTS_DS, json!({})).await;
    let event_names = documented(&event_rows, "Event Name");
    assert_eq!(event_names.len(), 41);
    let mut undocumented: Vec<&str> = custom
        .iter()
        .copied()
        .filter(|n| !event_names.iter().any(|d| d == n))
        .collect();
    undocumented.sort();
    assert_eq!(
        undocumented,
        [
            "error_api_timeout",
            "feature_export_completed",
            "feature_export_started",
            "system_job_failed",
            "system_webhook_sent",
            "user_api_key_created"
        ]
    );
    assert!(
        event_names.iter().all(|n| custom.contains(&n.as_str())),
        "no orphaned events"
    );

    let flag_rows = env.query_all(FLAGS_DS, json!({})).await;
    let flag_keys = documented(&flag_rows, "Flag Key");
    assert_eq!(flag_keys.len(), 10);
    let mut missing: Vec<&str> = flags
        .iter()
        .filter_map(|f| f["key"].as_str())
        .filter(|k| !flag_keys.iter().any(|d| d == k))
        .collect();
    missing.sort();
    assert_eq!(missing, ["ops_maintenance_mode", "release_new_api_v2"]);
    let checkout = flag_rows
        .iter()
        .find(|r| text_of(r, "Flag Key") == "release_checkout_v2")
        .unwrap();
    assert_eq!(checkout["properties"]["Status"]["select"]["name"], "draft");
    let checkout_flag = flags
        .iter()
        .find(|f| f["key"] == "release_checkout_v2")
        .unwrap();
    assert_eq!(checkout_flag["active"], true);
    assert_eq!(checkout_flag["rollout_percentage"], 100);

    // Every other documented flag's status follows the spec's mapping.
    for row in &flag_rows {
        let key = text_of(row, "Flag Key");
        if key == "release_checkout_v2" {
            continue;
        }
        let flag = flags.iter().find(|f| f["key"] == key.as_str()).unwrap();
        let groups = flag["filters"]["groups"].as_array().unwrap();
        let rollout = groups[0]["rollout_percentage"].as_f64().unwrap_or(100.0);
        let expected = match (flag["active"].as_bool().unwrap(), rollout) {
            (false, _) => "draft",
            (true, r) if r < 100.0 => "rolling_out",
            _ => "active",
        };
        assert_eq!(
            row["properties"]["Status"]["select"]["name"], expected,
            "{key}"
        );
        // Owners are Notion people whose email matches the PostHog creator, except the one
        // row whose owner has left the workspace since (a bare user, no name or email).
        let owner = &row["properties"]["Owner"]["people"][0];
        if key == "release_dark_mode" {
            assert_eq!(
                owner,
                &json!({"object": "user", "id": "9a4c2e7f-5d6b-4c0e-8f3a-1b5c6d7e8f95"})
            );
            continue;
        }
        assert_eq!(
            owner["person"]["email"], flag["created_by"]["email"],
            "{key}"
        );
    }

    let experiment_rows = env.query_all(EXPERIMENTS_DS, json!({})).await;
    assert_eq!(experiment_rows.len(), 3);
    let experiments = get(format!("/api/projects/{PROJECT}/experiments/")).await;
    for experiment in experiments["results"].as_array().unwrap() {
        let row = experiment_rows
            .iter()
            .find(|r| text_of(r, "Flag Key") == experiment["feature_flag_key"].as_str().unwrap())
            .expect("experiment documented by flag key");
        let expected = if experiment["end_date"].is_string() {
            "concluded"
        } else if experiment["start_date"].is_string() {
            "running"
        } else {
            "draft"
        };
        assert_eq!(row["properties"]["Status"]["select"]["name"], expected);
    }
    let experiment_flag_keys: Vec<&str> = experiments["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["feature_flag_key"].as_str())
        .collect();
    assert!(experiment_flag_keys
        .iter()
        .all(|k| flags.iter().any(|f| f["key"] == *k)));

    let dashboard_rows = env.query_all(DASHBOARDS_DS, json!({})).await;
    assert_eq!(dashboard_rows.len(), 4);
    let documented_ids: Vec<i64> = dashboard_rows
        .iter()
        .map(|r| r["properties"]["ID"]["number"].as_i64().unwrap())
        .collect();
    let dashboards = get(format!(
        "/api/projects/{PROJECT}/dashboards/?exclude_generated=true"
    ))
    .await;
    let mut undocumented: Vec<(i64, String)> = dashboards["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| !documented_ids.contains(&d["id"].as_i64().unwrap()))
        .map(|d| {
            (
                d["id"].as_i64().unwrap(),
                d["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    undocumented.sort();
    assert_eq!(
        undocumented,
        [
            (123, "API Performance".to_string()),
            (124, "Error Tracking".to_string())
        ]
    );
}

#[tokio::test]
async fn the_demo_schemas_are_the_specs() {
    let env = start("demo").await;
    let expected: [(&str, &[(&str, &str)]); 4] = [
        (
            EVENTS_DS,
            &[
                ("Event Name", "title"),
                ("Domain", "select"),
                ("Category", "select"),
                ("Description", "rich_text"),
                ("Properties", "rich_text"),
                ("Implementation Status", "select"),
                ("Tracked On", "multi_select"),
                ("Feature Area", "multi_select"),
                ("Owner", "people"),
                ("Created", "date"),
                ("Last Updated", "date"),
            ],
        ),
        (
            FLAGS_DS,
            &[
                ("Flag Key", "title"),
                ("Name", "rich_text"),
                ("Type", "select"),
                ("Status", "select"),
                ("Rollout %", "number"),
                ("Targeting", "rich_text"),
                ("Owner", "people"),
                ("Created", "date"),
                ("Planned Removal", "date"),
                ("Related PR", "url"),
            ],
        ),
        (
            EXPERIMENTS_DS,
            &[
                ("Experiment Name", "title"),
                ("Flag Key", "rich_text"),
                ("Hypothesis", "rich_text"),
                ("Status", "select"),
                ("Primary Metric", "rich_text"),
                ("Secondary Metrics", "rich_text"),
                ("Start Date", "date"),
                ("End Date", "date"),
                ("Result", "select"),
                ("Winner Variant", "rich_text"),
                ("Learnings", "rich_text"),
                ("Owner", "people"),
            ],
        ),
        (
            DASHBOARDS_DS,
            &[
                ("Dashboard Name", "title"),
                ("ID", "number"),
                ("Purpose", "rich_text"),
                ("Category", "select"),
                ("Audience", "multi_select"),
                ("Refresh Cadence", "select"),
                ("Pinned", "checkbox"),
                ("Owner", "people"),
                ("PostHog URL", "url"),
                ("Last Reviewed", "date"),
            ],
        ),
    ];
    for (ds, properties) in expected {
        let answer = env
            .notion("GET", &format!("/v1/data_sources/{ds}"), None)
            .await;
        let schema = answer.body["properties"].as_object().unwrap();
        let actual: Vec<(&str, &str)> = schema
            .iter()
            .map(|(k, v)| (k.as_str(), v["type"].as_str().unwrap()))
            .collect();
        assert_eq!(actual, properties);
    }
    let options = |ds: &str, property: &str| {
        let ds = ds.to_string();
        let property = property.to_string();
        let env = &env;
        async move {
            let answer = env
                .notion("GET", &format!("/v1/data_sources/{ds}"), None)
                .await;
            let kind = answer.body["properties"][&property]["type"]
                .as_str()
                .unwrap()
                .to_string();
            answer.body["properties"][&property][&kind]["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        options(FLAGS_DS, "Type").await,
        ["release", "experiment", "ops", "beta", "config"]
    );
    assert_eq!(
        options(FLAGS_DS, "Status").await,
        ["draft", "active", "rolling_out", "archived"]
    );
    assert_eq!(
        options(EXPERIMENTS_DS, "Status").await,
        ["draft", "running", "concluded", "archived"]
    );
    assert_eq!(
        options(EXPERIMENTS_DS, "Result").await,
        ["won", "lost", "inconclusive", "stopped_early"]
    );
    assert_eq!(
        options(EVENTS_DS, "Category").await,
        ["conversion", "engagement", "error", "system"]
    );
    assert_eq!(
        options(EVENTS_DS, "Implementation Status").await,
        ["planned", "implemented", "deprecated"]
    );
    assert_eq!(
        options(EVENTS_DS, "Tracked On").await,
        ["frontend", "backend", "both"]
    );
    assert_eq!(
        options(DASHBOARDS_DS, "Category").await,
        ["product", "growth", "technical", "executive"]
    );
    assert_eq!(
        options(DASHBOARDS_DS, "Refresh Cadence").await,
        ["realtime", "daily", "weekly"]
    );
}

#[test]
fn kodo_configs_point_at_the_sandbox() {
    let demo = Scenario::builtin("demo").unwrap();
    let config = demo.kodo_config("http://127.0.0.1:4321");
    assert_eq!(config["posthog"]["project_id"], "84211");
    assert_eq!(config["posthog"]["organization_slug"], "acme");
    assert_eq!(config["posthog"]["region_url"], "http://127.0.0.1:4321");
    assert_eq!(config["posthog"]["tokenEnvVar"], "POSTHOG_PERSONAL_API_KEY");
    assert_eq!(config["notion"]["authMethod"], "api-token");
    assert_eq!(config["notion"]["tokenEnvVar"], "NOTION_API_KEY");
    assert_eq!(config["notion"]["baseUrl"], "http://127.0.0.1:4321");
    assert_eq!(
        config["notion"]["databases"]["events"], EVENTS_DB,
        "database ids, not data source ids"
    );
    for key in ["events", "feature_flags", "experiments", "dashboards"] {
        assert!(config["notion"]["databases"][key].is_string(), "{key}");
    }
    assert_eq!(config["notion"]["pages"]["analytics_home"], ANALYTICS_HOME);
    assert!(config["notion"]["pages"]["tracking_plan"].is_string());
    assert_eq!(
        config["sync"],
        json!({"auto_sync_on_create": true, "require_notion_entry": false})
    );
    assert_eq!(demo.notion_token(), NOTION_TOKEN);
    assert_eq!(demo.posthog_key(), POSTHOG_KEY);
    let empty = Scenario::builtin("empty")
        .unwrap()
        .kodo_config("http://127.0.0.1:4321");
    assert!(empty["notion"].get("databases").is_none());
    assert_eq!(empty["notion"]["pages"]["analytics_home"], ANALYTICS_HOME);
}

#[tokio::test]
async fn the_empty_scenario_has_nothing_but_parent_pages_and_people() {
    let env = start("empty").await;
    for resource in [
        "event_definitions",
        "feature_flags",
        "experiments",
        "dashboards",
    ] {
        let answer = env
            .posthog("GET", &format!("/api/projects/{PROJECT}/{resource}/"), None)
            .await;
        assert_eq!(answer.body["count"], 0, "{resource}");
    }
    let search = env
        .notion(
            "POST",
            "/v1/search",
            Some(json!({"filter": {"property": "object", "value": "data_source"}})),
        )
        .await;
    assert_eq!(search.body["results"], json!([]));
    let pages = env.notion("POST", "/v1/search", Some(json!({}))).await;
    assert_eq!(pages.body["results"].as_array().unwrap().len(), 2);
    let users = env.notion("GET", "/v1/users", None).await;
    let people: Vec<&Value> = users.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["type"] == "person")
        .collect();
    assert!(people.len() >= 2 && people.iter().all(|p| p["person"]["email"].is_string()));
}

#[tokio::test]
async fn admin_changes_posthog_like_a_person_in_the_app() {
    let env = start("demo").await;
    let created = env
        .admin("POST", "/posthog/feature_flags", Some(json!({"key": "ops_kill_switch", "name": "Kill switch", "active": false, "created_by": "alex.kim@acme.example"})))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["created_by"]["first_name"], "Alex");
    let id = created.body["id"].as_i64().unwrap();
    let list = env
        .posthog(
            "GET",
            &format!("/api/projects/{PROJECT}/feature_flags/"),
            None,
        )
        .await;
    assert_eq!(list.body["count"], 13);
    let rolled = env
        .admin(
            "PATCH",
            &format!("/posthog/feature_flags/{id}"),
            Some(json!({"active": true, "filters": {"groups": [{"rollout_percentage": 10}]}})),
        )
        .await;
    assert_eq!(rolled.body["rollout_percentage"], 10);
    let ended = env
        .admin(
            "PATCH",
            "/posthog/experiments/31",
            Some(json!({"end_date": "2025-11-30T10:00:00Z"})),
        )
        .await;
    assert_eq!(ended.body["end_date"], "2025-11-30T10:00:00Z");
    let event = env
        .admin(
            "POST",
            "/posthog/event_definitions",
            Some(json!({"name": "user_exported_data"})),
        )
        .await;
    assert_eq!(event.status, 201);
    let event_id = event.body["id"].as_str().unwrap().to_string();
    let events = env
        .posthog(
            "GET",
            &format!("/api/projects/{PROJECT}/event_definitions/"),
            None,
        )
        .await;
    assert_eq!(events.body["count"], 52);
    let deleted = env
        .admin(
            "DELETE",
            &format!("/posthog/event_definitions/{event_id}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, 200);
    let events = env
        .posthog(
            "GET",
            &format!("/api/projects/{PROJECT}/event_definitions/"),
            None,
        )
        .await;
    assert_eq!(events.body["count"], 51);
    let dashboard = env
        .admin(
            "POST",
            "/posthog/dashboards",
            Some(json!({"name": "Ops", "tags": ["technical"]})),
        )
        .await;
    assert_eq!(dashboard.body["name"], "Ops");
    let unknown = env
        .admin(
            "PATCH",
            "/posthog/feature_flags/9999",
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn admin_notion_writes_are_validated_like_the_api() {
    let env = start("demo").await;
    let created = env
        .admin(
            "POST",
            "/notion/pages",
            Some(event_row("user_added_by_hand")),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(
        created.body["created_by"]["id"], MAYA,
        "a person, not the integration, made it"
    );
    let id = created.body["id"].as_str().unwrap().to_string();
    let refused = env
        .admin(
            "PATCH",
            &format!("/notion/pages/{id}"),
            Some(json!({"properties": {"Domain": {"select": {"name": "a,b"}}}})),
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.body["message"],
        "Invalid select option, commas not allowed: a,b"
    );
    let trashed = env
        .admin(
            "PATCH",
            &format!("/notion/pages/{id}"),
            Some(json!({"in_trash": true})),
        )
        .await;
    assert_eq!(trashed.body["in_trash"], true);
    let state = env.admin("GET", "/state", None).await;
    let notion = &state.body["notion"];
    assert_eq!(notion["databases"].as_array().unwrap().len(), 4);
    assert_eq!(notion["data_sources"].as_array().unwrap().len(), 4);
    let page = notion["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id.as_str())
        .unwrap();
    assert_eq!(page["in_trash"], true, "trashed pages are in the state");
    let flags = state.body["posthog"]["feature_flags"].as_array().unwrap();
    assert_eq!(flags.len(), 13, "deleted flags are in the state");
    // Admin calls are not in the request log.
    assert_eq!(env.admin("GET", "/requests", None).await.body, json!([]));
}

#[test]
fn blocking_sandbox_serves_synchronous_tests() {
    let sandbox = BlockingSandbox::start(Scenario::builtin("demo").unwrap(), Options::default())
        .expect("starts");
    assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
    let state = sandbox.admin_get("/state");
    assert_eq!(state["posthog"]["project_id"], PROJECT);
    let flag = sandbox.admin_send(
        "POST",
        "/posthog/feature_flags",
        json!({"key": "beta_sync_test"}),
    );
    assert_eq!(flag["key"], "beta_sync_test");
    let (status, body) = sandbox.admin_request(
        "POST",
        "/posthog/feature_flags",
        json!({"key": "beta_sync_test"}),
    );
    assert_eq!(status, 400);
    assert_eq!(body["code"], "unique");
    let faults = sandbox.admin_send("PUT", "/faults", json!({"rate_429": 0.5}));
    assert_eq!(faults["rate_429"], 0.5);
    let url = sandbox.base_url();
    drop(sandbox);
    // After drop the port no longer answers.
    let addr = url.trim_start_matches("http://").to_string();
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
#[should_panic(expected = "answered 404")]
fn blocking_admin_helpers_panic_with_the_answer() {
    let sandbox = BlockingSandbox::start(Scenario::builtin("empty").unwrap(), Options::default())
        .expect("starts");
    sandbox.admin_get("/nope");
}

#[tokio::test]
async fn documented_demo_fields_mirror_posthog() {
    let env = start("demo").await;
    let flags = env
        .posthog(
            "GET",
            &format!("/api/projects/{PROJECT}/feature_flags/"),
            None,
        )
        .await;
    for row in env.query_all(FLAGS_DS, json!({})).await {
        let key = text_of(&row, "Flag Key");
        let flag = flags.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == key.as_str())
            .unwrap();
        assert_eq!(
            text_of(&row, "Name"),
            flag["name"].as_str().unwrap(),
            "{key}"
        );
        let expected_type = if key.starts_with("exp_") {
            "experiment"
        } else {
            key.split('_').next().unwrap()
        };
        assert_eq!(
            row["properties"]["Type"]["select"]["name"], expected_type,
            "{key}"
        );
    }
    let events = env
        .posthog(
            "GET",
            &format!("/api/projects/{PROJECT}/event_definitions/"),
            None,
        )
        .await;
    for row in env.query_all(EVENTS_DS, json!({})).await {
        let name = text_of(&row, "Event Name");
        let definition = events.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name.as_str())
            .unwrap();
        assert_eq!(
            text_of(&row, "Description"),
            definition["description"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            row["properties"]["Implementation Status"]["select"]["name"],
            "implemented"
        );
        assert_eq!(
            row["properties"]["Owner"]["people"][0]["person"]["email"],
            definition["owner"]["email"],
            "{name}"
        );
        assert_eq!(
            row["properties"]["Domain"]["select"]["name"],
            format!("{}_", name.split('_').next().unwrap())
        );
    }
    let dashboards = env
        .posthog("GET", &format!("/api/projects/{PROJECT}/dashboards/"), None)
        .await;
    for row in env.query_all(DASHBOARDS_DS, json!({})).await {
        let id = row["properties"]["ID"]["number"].as_i64().unwrap();
        let dashboard = dashboards.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .unwrap();
        assert_eq!(
            text_of(&row, "Dashboard Name"),
            dashboard["name"].as_str().unwrap()
        );
        assert_eq!(row["properties"]["Pinned"]["checkbox"], dashboard["pinned"]);
        assert_eq!(
            row["properties"]["Category"]["select"]["name"],
            dashboard["tags"][0]
        );
        assert_eq!(
            text_of(&row, "Purpose"),
            dashboard["description"].as_str().unwrap()
        );
    }
}
