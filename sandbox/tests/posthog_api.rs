//! The PostHog endpoints against a running sandbox: pagination with absolute links,
//! archived experiments, deleted flags and dashboards, authentication, validation and
//! the burst throttle.

mod common;

use common::*;
use kodo_sandbox::Scenario;
use serde_json::{json, Value};

fn project(path: &str) -> String {
    format!("/api/projects/{PROJECT}/{path}")
}

#[tokio::test]
async fn lists_paginate_with_absolute_next_urls() {
    let env = start("demo").await;
    let mut url = format!("{}{}", env.base, project("event_definitions/?limit=10"));
    let mut names = Vec::new();
    let mut previous_seen = Vec::new();
    loop {
        let answer = env.posthog("GET", &url, None).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["count"], 51);
        for item in answer.body["results"].as_array().unwrap() {
            names.push(item["name"].as_str().unwrap().to_string());
        }
        previous_seen.push(answer.body["previous"].clone());
        match answer.body["next"].as_str() {
            Some(next) => {
                assert!(
                    next.starts_with(&format!(
                        "{}/api/projects/{PROJECT}/event_definitions/?",
                        env.base
                    )),
                    "{next}"
                );
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(names.len(), 51);
    assert_eq!(names.iter().filter(|n| !n.starts_with('$')).count(), 47);
    assert_eq!(previous_seen[0], Value::Null);
    assert_eq!(
        previous_seen[1],
        json!(format!(
            "{}/api/projects/{PROJECT}/event_definitions/?limit=10",
            env.base
        ))
    );
    assert_eq!(
        previous_seen[2],
        json!(format!(
            "{}/api/projects/{PROJECT}/event_definitions/?limit=10&offset=10",
            env.base
        ))
    );
    // The default page is 100.
    let all = env
        .posthog("GET", &project("event_definitions/"), None)
        .await;
    assert_eq!(all.body["results"].as_array().unwrap().len(), 51);
    assert_eq!(all.body["next"], Value::Null);
}

#[tokio::test]
async fn event_definitions_have_posthogs_fields() {
    let env = start("demo").await;
    let answer = env
        .posthog("GET", &project("event_definitions/?search=signed_up"), None)
        .await;
    let results = answer.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let definition = &results[0];
    for key in [
        "id",
        "name",
        "owner",
        "description",
        "tags",
        "created_at",
        "last_seen_at",
        "verified",
    ] {
        assert!(definition.get(key).is_some(), "missing {key}");
    }
    assert!(kodo_sandbox::ids::normalize(definition["id"].as_str().unwrap()).is_some());
    assert_eq!(definition["owner"]["email"], "jonas.weber@acme.example");
    let pageview = env
        .posthog(
            "GET",
            &project("event_definitions/?search=%24pageview"),
            None,
        )
        .await;
    assert_eq!(pageview.body["results"][0]["name"], "$pageview");
}

fn names(answer: &Answer) -> Vec<String> {
    answer.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect()
}

/// Event definitions are listed most recently seen first (by date), then by name; never-seen
/// ones last; `?ordering=` overrides; search terms put shorter names first
/// (posthog/api/event_definition.py `_stable_ordering`).
#[tokio::test]
async fn event_definitions_are_ordered_by_last_seen_date_then_name() {
    let env = start("demo").await;
    for (name, seen) in [
        ("zeta_recent", json!("2030-01-02T23:00:00Z")),
        ("alpha_recent", json!("2030-01-02T01:00:00Z")),
        ("never_seen_event", Value::Null),
    ] {
        let made = env
            .admin(
                "POST",
                "/posthog/event_definitions",
                Some(json!({"name": name, "last_seen_at": seen})),
            )
            .await;
        assert!(made.status < 300, "{}", made.body);
    }
    let all = names(
        &env.posthog("GET", &project("event_definitions/"), None)
            .await,
    );
    assert_eq!(all.len(), 54);
    // Same date: name order, though zeta was seen later that day.
    assert_eq!(all[..2], ["alpha_recent", "zeta_recent"]);
    assert_eq!(all.last().unwrap(), "never_seen_event");
    let seeded = &all[2..53];
    assert!(seeded.windows(2).all(|w| w[0] < w[1]), "{seeded:?}");
    let by_time = names(
        &env.posthog(
            "GET",
            &project("event_definitions/?ordering=-last_seen_at"),
            None,
        )
        .await,
    );
    assert_eq!(by_time[..2], ["zeta_recent", "alpha_recent"]);
    assert_eq!(by_time.last().unwrap(), "never_seen_event");
    // Ascending puts nulls first; an unknown field is dropped (`name` remains).
    let ascending = names(
        &env.posthog(
            "GET",
            &project("event_definitions/?ordering=last_seen_at,bogus"),
            None,
        )
        .await,
    );
    assert_eq!(ascending[0], "never_seen_event");
    assert_eq!(ascending[52..], ["alpha_recent", "zeta_recent"]);
    let searched = names(
        &env.posthog("GET", &project("event_definitions/?search=e%20a"), None)
            .await,
    );
    assert!(
        searched.contains(&"zeta_recent".to_string()),
        "{searched:?}"
    );
    assert!(
        searched.iter().all(|n| n.contains('e') && n.contains('a')),
        "{searched:?}"
    );
    assert!(
        searched.windows(2).all(|w| w[0].len() <= w[1].len()),
        "{searched:?}"
    );
}

#[tokio::test]
async fn environments_paths_and_optional_trailing_slash() {
    let env = start("demo").await;
    for path in [
        format!("/api/environments/{PROJECT}/feature_flags/"),
        format!("/api/projects/{PROJECT}/feature_flags"),
        "/api/projects/@current/feature_flags/".to_string(),
    ] {
        let answer = env.posthog("GET", &path, None).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.body["count"], 12);
    }
}

#[tokio::test]
async fn flags_have_the_documented_fields_and_derived_rollout() {
    let env = start("demo").await;
    let answer = env.posthog("GET", &project("feature_flags/"), None).await;
    let flags = answer.body["results"].as_array().unwrap();
    let by_key = |key: &str| flags.iter().find(|f| f["key"] == key).cloned().unwrap();
    let api_v2 = by_key("release_new_api_v2");
    assert_eq!(api_v2["active"], true);
    assert_eq!(api_v2["filters"]["groups"][0]["rollout_percentage"], 25);
    assert_eq!(api_v2["is_simple_flag"], true);
    assert_eq!(api_v2["rollout_percentage"], 25);
    for key in [
        "id",
        "name",
        "key",
        "filters",
        "deleted",
        "active",
        "created_by",
        "created_at",
        "updated_at",
        "tags",
        "ensure_experience_continuity",
    ] {
        assert!(api_v2.get(key).is_some(), "missing {key}");
    }
    assert_eq!(api_v2["filters"]["multivariate"], Value::Null);
    assert_eq!(api_v2["filters"]["payloads"], json!({}));
    let experiment_flag = by_key("exp_pricing_page_layout");
    assert_eq!(experiment_flag["is_simple_flag"], false);
    assert_eq!(experiment_flag["rollout_percentage"], Value::Null);
    assert_eq!(experiment_flag["experiment_set"], json!([31]));
    assert_eq!(
        experiment_flag["filters"]["multivariate"]["variants"][0]["key"],
        "control"
    );
    let maintenance = by_key("ops_maintenance_mode");
    assert_eq!(maintenance["active"], false);
    assert_eq!(maintenance["created_by"]["email"], "sam.ortiz@acme.example");
}

#[tokio::test]
async fn deleted_flags_leave_the_list_but_stay_retrievable() {
    let env = start("demo").await;
    let list = env.posthog("GET", &project("feature_flags/"), None).await;
    assert!(list.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["key"] != "release_old_navbar"));
    let deleted = env
        .posthog("GET", &project("feature_flags/213/"), None)
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body["deleted"], true);

    // DELETE is not allowed; soft delete with PATCH.
    let refused = env
        .posthog("DELETE", &project("feature_flags/202/"), None)
        .await;
    assert_eq!(refused.status, 405);
    assert_eq!(
        refused.body,
        json!({"type": "invalid_request", "code": "method_not_allowed", "detail": "Method \"DELETE\" not allowed.", "attr": null})
    );
    let patched = env
        .posthog(
            "PATCH",
            &project("feature_flags/202/"),
            Some(json!({"deleted": true})),
        )
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(patched.body["deleted"], true);
    let list = env.posthog("GET", &project("feature_flags/"), None).await;
    assert_eq!(list.body["count"], 11);
    // A deleted flag's key is free again.
    let reuse = env
        .posthog(
            "POST",
            &project("feature_flags/"),
            Some(json!({"key": "release_dark_mode", "name": "Dark mode again"})),
        )
        .await;
    assert_eq!(reuse.status, 201, "{}", reuse.body);
}

#[tokio::test]
async fn deleted_dashboards_are_gone_from_list_and_retrieve() {
    let env = start("demo").await;
    let list = env
        .posthog("GET", &project("dashboards/?exclude_generated=true"), None)
        .await;
    assert_eq!(list.body["count"], 6);
    let ids: Vec<i64> = list.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert!(!ids.contains(&122));
    assert!(ids.contains(&123) && ids.contains(&124));
    let gone = env.posthog("GET", &project("dashboards/122/"), None).await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.body,
        json!({"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": null})
    );
    let one = env.posthog("GET", &project("dashboards/123/"), None).await;
    assert_eq!(one.body["name"], "API Performance");
    assert!(
        one.body.get("tiles").is_some(),
        "retrieve has detail fields"
    );
    assert!(
        list.body["results"][0].get("tiles").is_none(),
        "list items are basic"
    );
    let patched = env
        .posthog(
            "PATCH",
            &project("dashboards/123/"),
            Some(json!({"deleted": true})),
        )
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(
        env.posthog("GET", &project("dashboards/123/"), None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn archived_experiments_are_listed_only_on_request() {
    let env = start("demo").await;
    let list = env.posthog("GET", &project("experiments/"), None).await;
    assert_eq!(list.body["count"], 3);
    let archived = env
        .posthog("GET", &project("experiments/?archived=true"), None)
        .await;
    assert_eq!(archived.body["count"], 0);
    let changed = env
        .admin(
            "PATCH",
            "/posthog/experiments/32",
            Some(json!({"archived": true})),
        )
        .await;
    assert_eq!(changed.status, 200);
    let list = env.posthog("GET", &project("experiments/"), None).await;
    assert_eq!(list.body["count"], 2);
    let archived = env
        .posthog("GET", &project("experiments/?archived=true"), None)
        .await;
    assert_eq!(archived.body["count"], 1);
    assert_eq!(archived.body["results"][0]["id"], 32);
    assert_eq!(archived.body["results"][0]["archived"], true);
    // Still retrievable by id.
    assert_eq!(
        env.posthog("GET", &project("experiments/32/"), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn experiments_show_their_flag_and_dates() {
    let env = start("demo").await;
    let list = env.posthog("GET", &project("experiments/"), None).await;
    let results = list.body["results"].as_array().unwrap();
    let by_name = |name: &str| results.iter().find(|e| e["name"] == name).cloned().unwrap();
    let running = by_name("Pricing page layout");
    assert_eq!(running["start_date"], "2025-09-15T10:00:00Z");
    assert_eq!(running["end_date"], Value::Null);
    assert_eq!(running["feature_flag_key"], "exp_pricing_page_layout");
    assert_eq!(running["feature_flag"]["key"], "exp_pricing_page_layout");
    assert_eq!(running["feature_flag"]["active"], true);
    let concluded = by_name("Checkout button copy");
    assert_eq!(concluded["end_date"], "2025-06-30T10:00:00Z");
    assert_eq!(concluded["conclusion"], "won");
    let draft = by_name("Trial length test");
    assert_eq!(draft["start_date"], Value::Null);
    assert_eq!(draft["feature_flag"]["active"], false);
}

#[tokio::test]
async fn creating_an_experiment_creates_its_flag() {
    let env = start("demo").await;
    let missing = env
        .posthog(
            "POST",
            &project("experiments/"),
            Some(json!({"feature_flag_key": "exp_x"})),
        )
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.body,
        json!({"type": "validation_error", "code": "required", "detail": "This field is required.", "attr": "name"})
    );
    let missing = env
        .posthog("POST", &project("experiments/"), Some(json!({"name": "X"})))
        .await;
    assert_eq!(missing.body["attr"], "feature_flag_key");

    let created = env
        .posthog("POST", &project("experiments/"), Some(json!({"name": "Onboarding video", "feature_flag_key": "exp_onboarding_video", "description": "Does a video help?"})))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["start_date"], Value::Null);
    let flag = &created.body["feature_flag"];
    assert_eq!(flag["key"], "exp_onboarding_video");
    assert_eq!(
        flag["active"], false,
        "a draft experiment's flag is inactive"
    );
    let flags = env
        .posthog(
            "GET",
            &project("feature_flags/?search=onboarding_video"),
            None,
        )
        .await;
    assert_eq!(flags.body["count"], 1);
    let new_flag = &flags.body["results"][0];
    assert_eq!(
        new_flag["name"],
        "Feature Flag for Experiment Onboarding video"
    );
    assert_eq!(new_flag["experiment_set"], json!([created.body["id"]]));
    assert_eq!(
        new_flag["filters"]["multivariate"]["variants"][0]["key"],
        "control"
    );

    // Launching turns the flag on.
    let id = created.body["id"].as_i64().unwrap();
    let launched = env
        .posthog(
            "PATCH",
            &project(&format!("experiments/{id}/")),
            Some(json!({"start_date": "2025-12-01T09:00"})),
        )
        .await;
    assert_eq!(launched.body["start_date"], "2025-12-01T09:00:00Z");
    assert_eq!(launched.body["feature_flag"]["active"], true);

    // An existing flag without a control variant cannot back an experiment.
    let refused = env
        .posthog(
            "POST",
            &project("experiments/"),
            Some(json!({"name": "Bad", "feature_flag_key": "release_dark_mode"})),
        )
        .await;
    assert_eq!(refused.status, 400);
}

#[tokio::test]
async fn flag_creation_is_validated() {
    let env = start("demo").await;
    let duplicate = env
        .posthog(
            "POST",
            &project("feature_flags/"),
            Some(json!({"name": "Beta feature", "key": "release_checkout_v2"})),
        )
        .await;
    assert_eq!(duplicate.status, 400);
    assert_eq!(
        duplicate.body,
        json!({"type": "validation_error", "code": "unique", "detail": "There is already a feature flag with this key.", "attr": "key"})
    );
    let bad_key = env
        .posthog(
            "POST",
            &project("feature_flags/"),
            Some(json!({"key": "has spaces"})),
        )
        .await;
    assert_eq!(bad_key.body["code"], "invalid_key");
    let no_key = env
        .posthog(
            "POST",
            &project("feature_flags/"),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(no_key.body["code"], "required");
    let bad_split = env
        .posthog("POST", &project("feature_flags/"), Some(json!({"key": "mv", "filters": {"groups": [{"rollout_percentage": null}], "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 40}]}}})))
        .await;
    assert_eq!(bad_split.status, 400);
    assert_eq!(
        bad_split.body["detail"],
        "Invalid variant definitions: Variant rollout percentages must sum to 100."
    );

    let created = env
        .posthog("POST", &project("feature_flags/"), Some(json!({"name": "Alpha feature", "key": "alpha-feature", "filters": {"groups": [{"rollout_percentage": 50}]}})))
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(
        created.body["filters"]["groups"][0],
        json!({"properties": [], "rollout_percentage": 50, "variant": null})
    );
    assert_eq!(created.body["active"], true);
    assert_eq!(
        created.body["created_by"]["email"],
        "maya.chen@acme.example"
    );
    let rename = env
        .posthog(
            "PATCH",
            &project(&format!("feature_flags/{}/", created.body["id"])),
            Some(json!({"key": "release_dark_mode"})),
        )
        .await;
    assert_eq!(rename.body["code"], "unique");
    let wrong_type = env
        .raw(
            env.http
                .post(format!("{}{}", env.base, project("feature_flags/")))
                .bearer_auth(POSTHOG_KEY)
                .header("content-type", "text/plain")
                .body("{\"key\": \"x\"}"),
        )
        .await;
    assert_eq!(wrong_type.status, 415);
    let bad_json = env
        .raw(
            env.http
                .post(format!("{}{}", env.base, project("feature_flags/")))
                .bearer_auth(POSTHOG_KEY)
                .header("content-type", "application/json")
                .body("{\"key\": "),
        )
        .await;
    assert_eq!(bad_json.status, 400);
    assert_eq!(bad_json.body["code"], "parse_error");
}

#[tokio::test]
async fn authentication_and_project_errors() {
    let env = start("demo").await;
    let url = format!("{}{}", env.base, project("feature_flags/"));
    let none = env.raw(env.http.get(&url)).await;
    assert_eq!(none.status, 401);
    assert_eq!(
        none.body,
        json!({"type": "authentication_error", "code": "not_authenticated", "detail": "Authentication credentials were not provided.", "attr": null})
    );
    for key in ["phx_wrong", "phc_sandbox_project_key"] {
        let wrong = env.raw(env.http.get(&url).bearer_auth(key)).await;
        assert_eq!(wrong.status, 401);
        assert_eq!(
            wrong.body,
            json!({"type": "authentication_error", "code": "authentication_failed", "detail": "Personal API key found in request Authorization header is invalid.", "attr": null})
        );
    }
    let other_project = env
        .posthog("GET", "/api/projects/1/feature_flags/", None)
        .await;
    assert_eq!(other_project.status, 404);
    assert_eq!(other_project.body["code"], "not_found");
    let unknown_flag = env
        .posthog("GET", &project("feature_flags/999/"), None)
        .await;
    assert_eq!(unknown_flag.status, 404);
    let me = env.posthog("GET", "/api/users/@me/", None).await;
    assert_eq!(me.body["email"], "maya.chen@acme.example");
    assert_eq!(me.body["team"]["id"], PROJECT);
    assert_eq!(me.body["organization"]["slug"], "acme");
}

#[tokio::test]
async fn the_burst_throttle_allows_480_requests_a_minute() {
    let env = start("empty").await;
    let path = project("dashboards/");
    for i in 0..480 {
        let answer = env.posthog("GET", &path, None).await;
        assert_eq!(answer.status, 200, "request {i}");
    }
    let throttled = env.posthog("GET", &path, None).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.body["type"], "throttled_error");
    assert_eq!(throttled.body["code"], "throttled");
    let wait: u64 = throttled
        .retry_after
        .as_deref()
        .unwrap()
        .parse()
        .expect("integer Retry-After");
    assert!((1..=60).contains(&wait));
    assert_eq!(
        throttled.body["detail"],
        format!("Request was throttled. Expected available in {wait} seconds.")
    );
}

#[tokio::test]
async fn unknown_and_read_only_fields_are_ignored_on_write() {
    let env = start("demo").await;
    let created = env
        .posthog(
            "POST",
            &project("feature_flags/"),
            Some(json!({"key": "beta_ignored", "id": 5, "created_by": null, "made_up_field": 1, "deleted": true})),
        )
        .await;
    assert_eq!(created.status, 201);
    assert_ne!(created.body["id"], 5);
    assert_eq!(created.body["deleted"], false);
    assert_eq!(
        created.body["created_by"]["email"],
        "maya.chen@acme.example"
    );
    assert!(created.body.get("made_up_field").is_none());
    let id = created.body["id"].as_i64().unwrap();
    let patched = env
        .posthog(
            "PATCH",
            &project(&format!("feature_flags/{id}/")),
            Some(json!({"made_up_field": 2, "name": "Renamed"})),
        )
        .await;
    assert_eq!(patched.body["name"], "Renamed");
    assert!(patched.body.get("made_up_field").is_none());
    assert_eq!(patched.body["version"], 2);
}

fn ids(answer: &Answer) -> Vec<i64> {
    answer.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

/// PostHog/posthog PR #63338: archived flags leave the default list, `?archived=true` lists
/// only them, retrieve still works, `status` says ARCHIVED, and an archived flag is disabled.
#[tokio::test]
async fn archived_flags_are_listed_only_on_request() {
    let env = start("demo").await;
    let still_on = env
        .posthog(
            "PATCH",
            &project("feature_flags/208/"),
            Some(json!({"archived": true})),
        )
        .await;
    assert_eq!(still_on.status, 400, "{}", still_on.body);
    assert_eq!(still_on.body["attr"], "archived");
    let archived = env
        .posthog(
            "PATCH",
            &project("feature_flags/208/"),
            Some(json!({"archived": true, "active": false})),
        )
        .await;
    assert_eq!(archived.status, 200, "{}", archived.body);
    assert_eq!(archived.body["archived"], true);
    assert_eq!(archived.body["status"], "ARCHIVED");
    let default = env.posthog("GET", &project("feature_flags/"), None).await;
    assert_eq!(default.body["count"], 11);
    assert!(!ids(&default).contains(&208));
    let only = env
        .posthog("GET", &project("feature_flags/?archived=true"), None)
        .await;
    assert_eq!(ids(&only), [208]);
    let others = env
        .posthog("GET", &project("feature_flags/?archived=false"), None)
        .await;
    assert_eq!(others.body["count"], 11);
    let one = env
        .posthog("GET", &project("feature_flags/208/"), None)
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["archived"], true);
    let enable = env
        .posthog(
            "PATCH",
            &project("feature_flags/208/"),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(enable.status, 400, "{}", enable.body);
}

/// `_create_usage_dashboard`: every flag create makes "Generated Dashboard: <key> Usage";
/// the dashboard list hides those only with `exclude_generated=true`, pinned ones first.
#[tokio::test]
async fn creating_a_flag_generates_its_usage_dashboard() {
    let env = start("demo").await;
    let created = env
        .posthog(
            "POST",
            &project("feature_flags/"),
            Some(json!({"key": "release_search_v3", "name": "Search v3"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let dashboard_id = created.body["usage_dashboard"].as_i64().unwrap();
    let dashboard = env
        .posthog(
            "GET",
            &project(&format!("dashboards/{dashboard_id}/")),
            None,
        )
        .await;
    assert_eq!(
        dashboard.body["name"],
        "Generated Dashboard: release_search_v3 Usage"
    );
    assert_eq!(dashboard.body["creation_mode"], "template");
    let all = env
        .posthog("GET", &project("dashboards/?limit=100"), None)
        .await;
    assert!(ids(&all).contains(&dashboard_id));
    let pinned: Vec<bool> = all.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["pinned"].as_bool().unwrap())
        .collect();
    let first_unpinned = pinned.iter().position(|p| !p).unwrap();
    assert!(pinned[first_unpinned..].iter().all(|p| !p), "{pinned:?}");
    let hidden = env
        .posthog("GET", &project("dashboards/?exclude_generated=true"), None)
        .await;
    assert!(!ids(&hidden).contains(&dashboard_id));
    assert!(hidden.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| !d["name"]
            .as_str()
            .unwrap()
            .starts_with("Generated Dashboard")));
}

/// `FeatureFlag.tombstoned_key`: deleting a flag an experiment uses renames its key to
/// `<key>:deleted:<id>`; a running experiment blocks the delete; restoring restores the key.
#[tokio::test]
async fn deleting_an_experiments_flag_tombstones_its_key() {
    let env = start("demo").await;
    // exp_pricing_page_layout's experiment (31) is running.
    let flags = env
        .posthog(
            "GET",
            &project("feature_flags/?search=exp_pricing_page_layout"),
            None,
        )
        .await;
    let running_flag = flags.body["results"][0]["id"].as_i64().unwrap();
    let blocked = env
        .posthog(
            "PATCH",
            &project(&format!("feature_flags/{running_flag}/")),
            Some(json!({"deleted": true})),
        )
        .await;
    assert_eq!(blocked.status, 400, "{}", blocked.body);
    assert!(blocked.body["detail"]
        .as_str()
        .unwrap()
        .contains("running experiment"));
    // exp_checkout_button_copy's experiment (32) has stopped.
    let flags = env
        .posthog(
            "GET",
            &project("feature_flags/?search=exp_checkout_button_copy"),
            None,
        )
        .await;
    let id = flags.body["results"][0]["id"].as_i64().unwrap();
    let deleted = env
        .posthog(
            "PATCH",
            &project(&format!("feature_flags/{id}/")),
            Some(json!({"deleted": true})),
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(
        deleted.body["key"],
        format!("exp_checkout_button_copy:deleted:{id}")
    );
    // The experiment still names the original key.
    let experiment = env.posthog("GET", &project("experiments/32/"), None).await;
    assert_eq!(
        experiment.body["feature_flag_key"],
        "exp_checkout_button_copy"
    );
    let restored = env
        .posthog(
            "PATCH",
            &project(&format!("feature_flags/{id}/")),
            Some(json!({"deleted": false})),
        )
        .await;
    assert_eq!(restored.body["key"], "exp_checkout_button_copy");
}

/// `Experiment.computed_status`, the `conclusion` choices, and saved (shared) metrics.
#[tokio::test]
async fn experiments_report_status_conclusions_and_saved_metrics() {
    let env = start("demo").await;
    let running = env.posthog("GET", &project("experiments/31/"), None).await;
    assert_eq!(running.body["status"], "running");
    let saved = &running.body["saved_metrics"];
    assert_eq!(saved.as_array().unwrap().len(), 1, "{saved}");
    assert_eq!(saved[0]["name"], "Pricing page bounce rate");
    assert_eq!(saved[0]["metadata"]["type"], "secondary");
    assert_eq!(saved[0]["saved_metric"], 41);
    assert_eq!(saved[0]["query"]["kind"], "ExperimentMetric");
    let stopped = env.posthog("GET", &project("experiments/32/"), None).await;
    assert_eq!(stopped.body["status"], "stopped");
    let draft = env.posthog("GET", &project("experiments/33/"), None).await;
    assert_eq!(draft.body["status"], "draft");
    for conclusion in ["won", "lost", "inconclusive", "stopped_early", "invalid"] {
        let answer = env
            .posthog(
                "PATCH",
                &project("experiments/32/"),
                Some(json!({"conclusion": conclusion})),
            )
            .await;
        assert_eq!(answer.status, 200, "{conclusion}: {}", answer.body);
    }
    let bad = env
        .posthog(
            "PATCH",
            &project("experiments/32/"),
            Some(json!({"conclusion": "shipped"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["code"], "invalid_choice");
    assert_eq!(bad.body["attr"], "conclusion");
    let unknown_metric = env
        .posthog(
            "PATCH",
            &project("experiments/33/"),
            Some(json!({"saved_metrics_ids": [{"id": 999, "metadata": {"type": "primary"}}]})),
        )
        .await;
    assert_eq!(unknown_metric.status, 400, "{}", unknown_metric.body);
}

/// The list-shift mode: a page after the first starts `shift` items early, so the last
/// items of one page come again at the top of the next, as when flags are created
/// mid-listing (ordering `-created_at`).
#[tokio::test]
async fn list_shift_mode_repeats_items_across_pages() {
    let env = start("demo").await;
    let set = env
        .admin("PUT", "/posthog_list_shift", Some(json!({"list_shift": 2})))
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let first = env
        .posthog("GET", &project("feature_flags/?limit=5"), None)
        .await;
    let next = first.body["next"].as_str().unwrap().to_string();
    let second = env.posthog("GET", &next, None).await;
    let (a, b) = (ids(&first), ids(&second));
    assert_eq!(a[3..], b[..2], "{a:?} then {b:?}");
}

/// The re-seen mode: before each page after the first, the event definitions listed last are
/// seen now, so they move to the top: a limit/offset listing skips them (and repeats as many),
/// and the next listing has them first.
#[tokio::test]
async fn list_reseen_mode_moves_the_last_events_ahead_mid_listing() {
    let env = start("demo").await;
    let set = env
        .admin(
            "PUT",
            "/posthog_list_reseen",
            Some(json!({"list_reseen": 2})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let all = names(
        &env.posthog("GET", &project("event_definitions/"), None)
            .await,
    );
    let last_two = all[49..].to_vec();
    let first = env
        .posthog("GET", &project("event_definitions/?limit=30"), None)
        .await;
    let next = first.body["next"].as_str().unwrap().to_string();
    let second = env.posthog("GET", &next, None).await;
    assert_eq!(second.body["count"], 51);
    let mut read = names(&first);
    read.extend(names(&second));
    assert_eq!(read.len(), 51);
    for name in &last_two {
        assert!(!read.contains(name), "{name} was not skipped: {read:?}");
    }
    let again = names(
        &env.posthog("GET", &project("event_definitions/"), None)
            .await,
    );
    let mut moved = again[..2].to_vec();
    moved.sort();
    let mut expected = last_two.clone();
    expected.sort();
    assert_eq!(moved, expected);
}

/// PostHog's two throttles are sliding windows that can be set at run time.
#[tokio::test]
async fn posthog_throttle_windows_are_configurable() {
    let env = start("demo").await;
    let set = env
        .admin(
            "PUT",
            "/posthog_rate_limit",
            Some(json!({"burst": {"limit": 100, "seconds": 60}, "sustained": {"limit": 2, "seconds": 30}})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    for _ in 0..2 {
        let ok = env.posthog("GET", &project("feature_flags/"), None).await;
        assert_eq!(ok.status, 200);
    }
    let throttled = env.posthog("GET", &project("feature_flags/"), None).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.body["code"], "throttled");
    let wait: u64 = throttled.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((29..=30).contains(&wait), "{wait}");
}

/// `?search=` on the experiment and dashboard lists, as PostHog filters them: experiments by
/// name, case-insensitively; dashboards by PostHog's `apply_trigram_search` (literal matches
/// in name, description or tags first and alone; trigram similarity only when there are
/// none; name above description; at most 200 characters).
#[tokio::test]
async fn experiment_and_dashboard_lists_take_search() {
    let env = start("demo").await;
    let names = |body: &Value| -> Vec<String> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let all = env.posthog("GET", &project("experiments/"), None).await;
    let first = names(&all.body)[0].clone();
    let needle = first[1..first.len() - 1].to_uppercase();
    let found = env
        .posthog(
            "GET",
            &project(&format!("experiments/?search={}", needle.replace(' ', "+"))),
            None,
        )
        .await;
    assert_eq!(names(&found.body), vec![first]);
    let none = env
        .posthog(
            "GET",
            &project("experiments/?search=no-such-experiment"),
            None,
        )
        .await;
    assert_eq!(none.body["count"], 0);

    env.admin(
        "POST",
        "/posthog/dashboards",
        Some(json!({"name": "Quarterly review", "description": "API Performance, by quarter"})),
    )
    .await;
    let found = env
        .posthog("GET", &project("dashboards/?search=api+performance"), None)
        .await;
    assert_eq!(
        names(&found.body),
        vec!["API Performance", "Quarterly review"]
    );
    let types = |body: &Value| -> Vec<Value> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["search_match_type"].clone())
            .collect()
    };
    assert_eq!(types(&found.body), vec![json!("exact"), json!("exact")]);
    // No literal match anywhere: the fuzzy (trigram word similarity) tier answers.
    let typo = env
        .posthog("GET", &project("dashboards/?search=perfromance"), None)
        .await;
    assert!(
        names(&typo.body).contains(&"API Performance".to_string()),
        "{}",
        typo.body
    );
    assert!(
        types(&typo.body).iter().all(|t| t == "similar"),
        "{}",
        typo.body
    );
    // A literal match in a tag name counts as exact, and then fuzzy matches are dropped.
    env.admin(
        "POST",
        "/posthog/dashboards",
        Some(json!({"name": "Perfromance budget", "tags": ["okr-2027"]})),
    )
    .await;
    let typo = env
        .posthog("GET", &project("dashboards/?search=perfromance"), None)
        .await;
    assert_eq!(names(&typo.body), vec!["Perfromance budget"]);
    let tagged = env
        .posthog("GET", &project("dashboards/?search=OKR-2027"), None)
        .await;
    assert_eq!(names(&tagged.body), vec!["Perfromance budget"]);
    // Without `search`, the field is null; over 200 characters, a 400.
    let all = env.posthog("GET", &project("dashboards/"), None).await;
    assert!(types(&all.body).iter().all(Value::is_null));
    let long = env
        .posthog(
            "GET",
            &project(&format!("dashboards/?search={}", "a".repeat(201))),
            None,
        )
        .await;
    assert_eq!(long.status, 400);
    assert_eq!(long.body["attr"], "search");
    assert_eq!(
        long.body["detail"],
        "Search query must be 200 characters or fewer."
    );
}

/// The organization's members (posthog/api/organization_member.py): current members only,
/// limit/offset paginated; someone who left is gone from the list but stays the creator of what
/// they made.
#[tokio::test]
async fn organization_members_list_who_has_not_left() {
    let env = start("demo").await;
    let emails = |body: &Value| -> Vec<String> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["user"]["email"].as_str().unwrap().to_string())
            .collect()
    };
    let all = env
        .posthog("GET", "/api/organizations/@current/members/", None)
        .await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body["count"], 4);
    let listed = emails(&all.body);
    assert!(
        !listed.contains(&"sam.ortiz@acme.example".to_string()),
        "{listed:?}"
    );
    assert!(listed.contains(&"maya.chen@acme.example".to_string()));
    let first = &all.body["results"][0];
    for field in [
        "id",
        "user",
        "level",
        "joined_at",
        "updated_at",
        "last_login",
    ] {
        assert!(first.get(field).is_some(), "{field}: {first}");
    }
    let page = env
        .posthog("GET", "/api/organizations/@current/members/?limit=3", None)
        .await;
    assert_eq!(emails(&page.body).len(), 3);
    assert!(page.body["next"].as_str().unwrap().contains("offset=3"));
    // Sam still created ops_maintenance_mode.
    let flags = env
        .posthog(
            "GET",
            &project("feature_flags/?search=ops_maintenance_mode"),
            None,
        )
        .await;
    assert_eq!(
        flags.body["results"][0]["created_by"]["email"],
        "sam.ortiz@acme.example"
    );
    // Another organization's id is not found.
    let other = env
        .posthog(
            "GET",
            "/api/organizations/0190f3a2-0000-0000-0000-000000000000/members/",
            None,
        )
        .await;
    assert_eq!(other.status, 404);
    // An admin removes Priya.
    env.admin("DELETE", "/posthog/members/priya.raman@acme.example", None)
        .await;
    let after = env
        .posthog("GET", "/api/organizations/@current/members/", None)
        .await;
    assert_eq!(after.body["count"], 3);
}

#[tokio::test]
async fn a_scoped_key_is_refused_where_it_lacks_the_scope() {
    // posthog/permissions.py `APIScopePermission`: list/retrieve need `<object>:read`, the
    // write actions `<object>:write`, which also grants read; `*` grants everything.
    let scenario = demo_with(|s| {
        s["posthog"]["personal_api_key_scopes"] = json!([
            "feature_flag:read",
            "dashboard:write",
            "event_definition:read"
        ]);
    });
    let env = start_with(scenario, fast()).await;
    for ok in [
        "feature_flags/",
        "feature_flags/201/",
        "dashboards/",
        "event_definitions/",
    ] {
        let answer = env.posthog("GET", &project(ok), None).await;
        assert_eq!(answer.status, 200, "{ok}: {:?}", answer.body);
    }
    let refused = |scope: &str| {
        json!({"type": "authentication_error", "code": "permission_denied",
               "detail": format!("API key missing required scope '{scope}'"), "attr": null})
    };
    for (path, scope) in [
        ("experiments/", "experiment:read"),
        ("experiments/31/", "experiment:read"),
        ("property_definitions/", "property_definition:read"),
    ] {
        let answer = env.posthog("GET", &project(path), None).await;
        assert_eq!(answer.status, 403, "{path}");
        assert_eq!(answer.body, refused(scope), "{path}");
    }
    let members = env
        .posthog("GET", "/api/organizations/@current/members/", None)
        .await;
    assert_eq!(members.status, 403);
    assert_eq!(members.body, refused("organization_member:read"));
    // Reading a flag is not writing one: nothing is created.
    let create = env
        .posthog(
            "POST",
            &project("feature_flags/"),
            Some(json!({"key": "release_scoped", "filters": {"groups": []}})),
        )
        .await;
    assert_eq!(create.status, 403);
    assert_eq!(create.body, refused("feature_flag:write"));
    let flags = env
        .posthog("GET", &project("feature_flags/?limit=100"), None)
        .await;
    assert!(!flags.body.to_string().contains("release_scoped"));
    // The key's own description lists its scopes.
    let key = env
        .posthog("GET", "/api/personal_api_keys/@current/", None)
        .await;
    assert_eq!(
        key.body["scopes"],
        json!([
            "feature_flag:read",
            "dashboard:write",
            "event_definition:read"
        ])
    );
    // A scope PostHog would not recognise as one is a scenario error, not a silent refusal.
    let bad = serde_json::to_value(Scenario::builtin("demo").unwrap()).map(|mut s| {
        s["posthog"]["personal_api_key_scopes"] = json!(["feature_flags"]);
        s.to_string()
    });
    let err = Scenario::from_json(&bad.unwrap()).unwrap_err().to_string();
    assert!(
        err.contains("`feature_flags` is not `*` or `<object>:read|write`"),
        "{err}"
    );
}

#[tokio::test]
async fn the_user_needs_user_read_the_project_project_read_and_the_key_itself_nothing() {
    // `/api/users/@me/` is `UserViewSet`, scope object `user`; `/api/personal_api_keys/@current/`
    // is open to the key itself (`PersonalApiKeySelfAccessPermission`); `/api/projects/:id/` is
    // `ProjectViewSet`, scope object `project`.
    let scenario = demo_with(|s| {
        s["posthog"]["personal_api_key_scopes"] = json!(["feature_flag:read"]);
    });
    let env = start_with(scenario, fast()).await;
    let me = env.posthog("GET", "/api/users/@me/", None).await;
    assert_eq!(me.status, 403, "{:?}", me.body);
    assert_eq!(
        me.body["detail"],
        "API key missing required scope 'user:read'"
    );
    let key = env
        .posthog("GET", "/api/personal_api_keys/@current/", None)
        .await;
    assert_eq!(key.status, 200);
    assert_eq!(key.body["scoped_teams"], json!(null));
    // The project itself is `ProjectViewSet`, scope object `project`.
    let project_itself = env.posthog("GET", &project(""), None).await;
    assert_eq!(project_itself.status, 403);
    assert_eq!(
        project_itself.body["detail"],
        "API key missing required scope 'project:read'"
    );
    let scenario = demo_with(|s| {
        s["posthog"]["personal_api_key_scopes"] = json!(["user:read", "project:read"]);
    });
    let env = start_with(scenario, fast()).await;
    let me = env.posthog("GET", "/api/users/@me/", None).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    let project_itself = env.posthog("GET", &project(""), None).await;
    assert_eq!(project_itself.status, 200, "{:?}", project_itself.body);
}

#[tokio::test]
async fn a_key_limited_to_other_projects_is_refused_on_this_one_before_its_scopes() {
    // posthog/permissions.py `check_team_and_org_permissions`: a key whose `scoped_teams` lacks
    // the project is refused whatever its scopes, before they are looked at.
    let scenario = demo_with(|s| {
        s["posthog"]["personal_api_key_scoped_teams"] = json!([1]);
        s["posthog"]["personal_api_key_scopes"] = json!(["feature_flag:read"]);
    });
    let env = start_with(scenario, fast()).await;
    let project_id = PROJECT;
    for path in ["feature_flags/", "experiments/", "property_definitions/"] {
        let answer = env.posthog("GET", &project(path), None).await;
        assert_eq!(answer.status, 403, "{path}");
        assert_eq!(
            answer.body,
            json!({"type": "authentication_error", "code": "permission_denied",
                   "detail": format!("API key does not have access to the requested project: ID {project_id}."),
                   "attr": null}),
            "{path}"
        );
    }
    let key = env
        .posthog("GET", "/api/personal_api_keys/@current/", None)
        .await;
    assert_eq!(key.body["scoped_teams"], json!([1]));
    // Limited to this project (among others), the key reads it.
    let scenario = demo_with(|s| {
        s["posthog"]["personal_api_key_scoped_teams"] =
            json!([1, s["posthog"]["project_id"].clone()]);
    });
    let env = start_with(scenario, fast()).await;
    let answer = env.posthog("GET", &project("feature_flags/"), None).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}
