//! Unit tests of the PostHog client against scripted local servers and the reference
//! examples: pagination, the archived-experiments merge, errors and hints, retries.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::http::RateLimits;
use crate::testserver::{Action, Recorded, TestServer};

const KEY: &str = "phx_test_personal_key_456";

fn options() -> ClientOptions {
    ClientOptions {
        limits: RateLimits::paced(1000.0, 1000),
        max_retry_delay: Some(Duration::from_millis(1)),
        ..ClientOptions::posthog()
    }
}

fn client_with_key(server: &TestServer, key: &str) -> PostHogClient {
    PostHogClient::new(&server.url, "42", Secret::new(key), options()).unwrap()
}

fn client(server: &TestServer) -> PostHogClient {
    client_with_key(server, KEY)
}

fn example(text: &str) -> Value {
    serde_json::from_str::<Value>(text).unwrap()["response"].clone()
}

fn page(results: Vec<Value>, next: Option<String>) -> Value {
    json!({"count": results.len(), "next": next, "previous": null, "results": results})
}

fn query_param(r: &Recorded, name: &str) -> Option<String> {
    r.query.as_deref().unwrap_or("").split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

#[tokio::test]
async fn lists_ask_for_100_and_follow_absolute_next_links_to_the_end() {
    let server = TestServer::start(|r| {
        if query_param(r, "archived").as_deref() == Some("true") {
            return Action::json(200, page(vec![json!({"id": 900, "key": "flag_archived", "archived": true, "active": false})], None));
        }
        let offset: usize = query_param(r, "offset").map(|o| o.parse().unwrap()).unwrap_or(0);
        let host = r.header("Host").unwrap().to_owned();
        let results: Vec<Value> = (offset..(offset + 100).min(230))
            .map(|i| json!({"id": i, "key": format!("flag_{i}"), "name": "", "active": true, "filters": {"groups": []}}))
            .collect();
        let next = (offset + 100 < 230).then(|| {
            format!("http://{host}/api/projects/42/feature_flags/?limit=100&offset={}", offset + 100)
        });
        Action::json(200, page(results, next))
    })
    .await;
    let c = client(&server);
    let flags = c.feature_flags().await.unwrap();
    assert_eq!(flags.len(), 231);
    assert_eq!(flags[229].key, "flag_229");
    assert!(flags[230].archived, "archived flags are listed too");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 4);
    assert_eq!(query_param(&reqs[3], "archived").as_deref(), Some("true"));
    assert_eq!(reqs[0].path, "/api/projects/42/feature_flags/");
    assert_eq!(reqs[0].query.as_deref(), Some("limit=100"));
    assert_eq!(query_param(&reqs[2], "offset").as_deref(), Some("200"));
    for r in &reqs {
        assert_eq!(
            r.header("Authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
    }
    assert_eq!(c.stats().reads, 4);
    assert_eq!(c.stats().writes, 0);
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused() {
    // PostHog's own documentation example points `next` at api.example.org.
    let body = example(include_str!(
        "../../tests/fixtures/posthog.feature_flags.list.docs-schema.response.json"
    ));
    let server = TestServer::start(move |_| Action::json(200, body.clone())).await;
    let err = client(&server).feature_flags().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("another host (api.example.org)"), "{text}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_next_link_to_another_port_is_refused() {
    let server = TestServer::start(|_| {
        Action::json(
            200,
            page(
                vec![],
                Some("http://127.0.0.1:1/api/projects/42/dashboards/?offset=100".into()),
            ),
        )
    })
    .await;
    let err = client(&server).dashboards().await.unwrap_err();
    assert!(err.to_string().contains("another port"), "{err}");
}

#[tokio::test]
async fn experiments_merge_the_default_and_archived_lists_by_id() {
    let server = TestServer::start(|r| {
        if query_param(r, "archived").as_deref() == Some("true") {
            Action::json(
                200,
                page(
                    vec![
                        json!({"id": 3, "name": "old", "archived": true}),
                        json!({"id": 2, "name": "dup", "archived": true}),
                    ],
                    None,
                ),
            )
        } else {
            Action::json(
                200,
                page(
                    vec![
                        json!({"id": 1, "name": "draft"}),
                        json!({"id": 2, "name": "dup"}),
                    ],
                    None,
                ),
            )
        }
    })
    .await;
    let exps = client(&server).experiments().await.unwrap();
    let ids: Vec<i64> = exps.iter().map(|e| e.id).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert!(exps[2].archived);
    let queries: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(queries, ["limit=100", "limit=100&archived=true"]);
}

#[tokio::test]
async fn a_flag_fetched_by_id_is_none_when_gone_and_shows_deleted_ones() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/api/projects/42/feature_flags/7/" => Action::json(200, json!({"id": 7, "key": "old_flag", "deleted": true, "active": false})),
        _ => Action::json(404, json!({"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": null})),
    })
    .await;
    let c = client(&server);
    let flag = c.feature_flag(7).await.unwrap().unwrap();
    assert!(flag.deleted);
    assert_eq!(c.feature_flag(8).await.unwrap(), None);
}

#[tokio::test]
async fn a_rejected_personal_key_names_the_variable_and_the_scopes() {
    let server = TestServer::start(|_| {
        Action::json(401, json!({"type": "authentication_error", "code": "authentication_failed",
            "detail": "Personal API key found in request Authorization header is invalid.", "attr": null}))
    })
    .await;
    let c = PostHogClient::new(
        &server.url,
        "42",
        Secret::new(KEY),
        ClientOptions {
            credential_env_var: "PH_KEY".into(),
            ..options()
        },
    )
    .unwrap();
    let err = c.dashboards().await.unwrap_err();
    assert!(matches!(
        err,
        ApiError::Unauthorized {
            service: Service::PostHog,
            ..
        }
    ));
    let text = err.to_string();
    for needle in [
        "PH_KEY",
        "feature_flag:read",
        "experiment:read",
        "dashboard:read",
        "event_definition:read",
        "property_definition:read",
        "is invalid",
    ] {
        assert!(text.contains(needle), "missing {needle}: {text}");
    }
    assert!(!text.contains(KEY), "{text}");
    assert!(!format!("{err:?}").contains(KEY));
    assert!(!format!("{c:?}").contains(KEY));
    assert_eq!(server.requests().len(), 1, "401 is not retried");
}

#[tokio::test]
async fn a_project_key_is_called_out_as_the_wrong_kind_of_key() {
    let server = TestServer::start(|_| {
        Action::json(403, json!({"type": "authentication_error", "code": "permission_denied", "detail": "You do not have permission.", "attr": null}))
    })
    .await;
    let err = client_with_key(&server, "phc_projectkey123")
        .event_definitions()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("project API key (phc_…)"), "{text}");
    assert!(text.contains("personal API key (phx_…)"), "{text}");
    assert!(text.contains("POSTHOG_PERSONAL_API_KEY"), "{text}");
    assert!(!text.contains("phc_projectkey123"), "{text}");
}

/// A personal key without a scope is not a rejected credential: 403 `permission_denied`
/// with PostHog's words (posthog/permissions.py `APIScopePermission`) and the scope to add.
#[tokio::test]
async fn a_missing_scope_is_forbidden_with_the_scope_to_add() {
    let server = TestServer::start(|_| {
        Action::json(
            403,
            json!({"type": "authentication_error", "code": "permission_denied",
            "detail": "API key missing required scope 'experiment:read'", "attr": null}),
        )
    })
    .await;
    let err = client(&server).experiments().await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Forbidden {
                service: Service::PostHog,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(
            "PostHog refused access: API key missing required scope 'experiment:read'. "
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "Add the scope experiment:read to the personal API key in POSTHOG_PERSONAL_API_KEY"
        ),
        "{text}"
    );
    assert!(text.contains("project 42"), "{text}");
    assert!(!text.contains(KEY), "{text}");
    assert_eq!(server.requests().len(), 1, "403 is not retried");
}

#[tokio::test]
async fn an_unknown_project_names_the_project_and_region() {
    let server = TestServer::start(|_| {
        Action::json(404, json!({"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": null}))
    })
    .await;
    let err = client(&server).dashboards().await.unwrap_err();
    assert!(
        matches!(err, ApiError::NotFound { ref id, .. } if id == "42"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("posthog.project_id (42)"), "{text}");
    assert!(text.contains(&server.url), "{text}");
}

#[tokio::test]
async fn reads_retry_throttling_and_server_errors() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = Arc::clone(&n);
    let server = TestServer::start(move |_| match n2.fetch_add(1, Ordering::SeqCst) {
        0 => Action::json(
            429,
            json!({"type": "throttled_error", "code": "throttled",
                "detail": "Request was throttled. Expected available in 1 second.", "attr": null}),
        )
        .header("Retry-After", "1"),
        1 => Action::json(502, json!({"detail": "bad gateway"})),
        _ => Action::json(200, page(vec![json!({"id": "e1", "name": "signup"})], None)),
    })
    .await;
    let c = client(&server);
    let defs = c.event_definitions().await.unwrap();
    assert_eq!(defs[0].name, "signup");
    let s = c.stats();
    assert_eq!((s.reads, s.retries, s.rate_limited), (3, 2, 1));
}

#[tokio::test]
async fn persistent_throttling_ends_in_rate_limited_with_attempts() {
    let server = TestServer::start(|_| {
        Action::json(429, json!({"type": "throttled_error", "code": "throttled", "detail": "Request was throttled.", "attr": null}))
    })
    .await;
    let c = PostHogClient::new(
        &server.url,
        "42",
        Secret::new(KEY),
        ClientOptions {
            max_attempts: 3,
            ..options()
        },
    )
    .unwrap();
    let err = c.dashboards().await.unwrap_err();
    assert!(
        matches!(err, ApiError::RateLimited { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
}

/// The hourly window (4,800/hour) can ask a long run to wait many times in a row: a
/// throttled answer that states its wait does not use up an attempt.
#[tokio::test]
async fn stated_throttle_waits_do_not_use_up_attempts() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = Arc::clone(&n);
    let server = TestServer::start(move |_| {
        if n2.fetch_add(1, Ordering::SeqCst) < 9 {
            Action::json(
                429,
                json!({"type": "throttled_error", "code": "throttled",
                    "detail": "Request was throttled. Expected available in 300 seconds.", "attr": null}),
            )
            .header("Retry-After", "300")
        } else {
            Action::json(200, page(vec![json!({"id": "e1", "name": "signup"})], None))
        }
    })
    .await;
    let c = client(&server);
    let defs = c.event_definitions().await.unwrap();
    assert_eq!(defs[0].name, "signup");
    let s = c.stats();
    assert_eq!((s.reads, s.rate_limited), (10, 9));
}

/// ... but only for as long as the stated waits fit `max_throttle_wait`.
#[tokio::test]
async fn stated_throttle_waits_past_the_budget_fail() {
    let server = TestServer::start(|_| {
        Action::json(429, json!({"type": "throttled_error", "code": "throttled", "detail": "Request was throttled. Expected available in 1800 seconds.", "attr": null}))
            .header("Retry-After", "1800")
    })
    .await;
    let c = client(&server);
    let err = c.dashboards().await.unwrap_err();
    assert!(matches!(err, ApiError::RateLimited { .. }), "{err:?}");
    // 1800 s twice fit the 65-minute budget; the third would not.
    assert_eq!(c.stats().reads, 3);
}

#[tokio::test]
async fn creating_a_flag_is_not_resent_on_a_server_error() {
    let server = TestServer::start(|_| Action::json(500, json!({"detail": "Server Error"}))).await;
    let c = client(&server);
    let err = c
        .create_feature_flag(&json!({"key": "new_flag", "name": "New"}))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::AmbiguousWrite { .. }), "{err:?}");
    assert!(err.to_string().contains("new_flag"), "{err}");
    assert_eq!(server.requests().len(), 1);
    assert_eq!(c.stats().writes, 1);
}

#[tokio::test]
async fn creating_a_flag_posts_the_body_and_passes_validation_messages_through() {
    let server = TestServer::start(|r| {
        if r.body["key"] == "taken" {
            Action::json(
                400,
                json!({"type": "validation_error", "code": "unique",
                "detail": "There is already a feature flag with this key.", "attr": "key"}),
            )
        } else {
            let mut flag = r.body.clone();
            flag["id"] = json!(99);
            Action::json(201, flag)
        }
    })
    .await;
    let c = client(&server);
    let flag = c
        .create_feature_flag(&json!({"key": "fresh", "name": "Fresh", "active": false}))
        .await
        .unwrap();
    assert_eq!(
        (flag.id, flag.key.as_str(), flag.active),
        (99, "fresh", false)
    );
    let r = &server.requests()[0];
    assert_eq!(r.line(), "POST /api/projects/42/feature_flags/");
    assert_eq!(r.body["key"], "fresh");
    let err = c
        .create_feature_flag(&json!({"key": "taken"}))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Validation { .. }));
    assert!(
        err.to_string()
            .contains("There is already a feature flag with this key. (field: key)"),
        "{err}"
    );
}

#[test]
fn reference_examples_decode_with_nulls_and_extra_fields() {
    let flags: ListPage<FeatureFlag> = serde_json::from_value(example(include_str!(
        "../../tests/fixtures/posthog.feature_flags.list.full-fields.response.json"
    )))
    .unwrap();
    let first = &flags.results[0];
    assert_eq!((first.id, first.key.as_str()), (101, "new-checkout-flow"));
    assert_eq!(first.filters.groups[0].rollout_percentage, Some(25.0));
    assert_eq!(first.created_by.as_ref().unwrap().email, "user@example.com");
    assert_eq!(first.tags, ["checkout"]);

    let docs: ListPage<FeatureFlag> = serde_json::from_value(example(include_str!(
        "../../tests/fixtures/posthog.feature_flags.list.docs-schema.response.json"
    )))
    .unwrap();
    assert!(docs.results[0].tags.is_empty(), "[null] tags are dropped");

    let exps: ListPage<Experiment> = serde_json::from_value(example(include_str!(
        "../../tests/fixtures/posthog.experiments.list.response.json"
    )))
    .unwrap();
    let draft = &exps.results[0];
    assert_eq!(draft.start_date, None);
    assert_eq!(draft.description, "");
    let flag = draft.feature_flag.as_ref().unwrap();
    assert!(!flag.active);
    assert_eq!(
        flag.filters.multivariate.as_ref().unwrap().variants.len(),
        3
    );
    serde_json::from_value::<ListPage<Experiment>>(example(include_str!(
        "../../tests/fixtures/posthog.experiments.list.docs-schema.response.json"
    )))
    .unwrap();

    let dashboards: ListPage<Dashboard> = serde_json::from_value(example(include_str!(
        "../../tests/fixtures/posthog.dashboards.list.response.json"
    )))
    .unwrap();
    assert!(dashboards.results[0].pinned);
    assert_eq!(dashboards.results[0].created_by, None);
    serde_json::from_value::<ListPage<Dashboard>>(example(include_str!(
        "../../tests/fixtures/posthog.dashboards.list.docs-schema.response.json"
    )))
    .unwrap();

    let defs: ListPage<EventDefinition> = serde_json::from_value(example(include_str!(
        "../../tests/fixtures/posthog.event_definitions.list.response.json"
    )))
    .unwrap();
    assert_eq!(defs.results[0].name, "$pageview");
    assert_eq!(defs.results[0].description, None);
}

#[test]
fn null_rollout_means_unset_and_odd_owner_shapes_are_tolerated() {
    let flag: FeatureFlag = serde_json::from_value(json!({
        "id": 1, "key": "k", "name": null, "active": true,
        "filters": {"groups": [{"properties": null, "rollout_percentage": null}], "multivariate": null},
        "created_by": null, "tags": null
    }))
    .unwrap();
    assert_eq!(flag.name, "");
    assert_eq!(flag.filters.groups[0].rollout_percentage, None);
    assert!(flag.filters.groups[0].properties.is_empty());
    let def: EventDefinition =
        serde_json::from_value(json!({"id": 5, "name": "x", "owner": 12})).unwrap();
    assert_eq!(def.id, "5");
    assert_eq!(def.owner, None);
}

#[test]
fn construction_checks_the_url_and_project() {
    let err =
        PostHogClient::new("http://us.posthog.com", "1", Secret::new(KEY), options()).unwrap_err();
    assert!(err.to_string().contains("posthog.region_url"), "{err}");
    let err =
        PostHogClient::new("https://us.posthog.com", " ", Secret::new(KEY), options()).unwrap_err();
    assert!(err.to_string().contains("posthog.project_id"), "{err}");
}

/// The organization's members: every page of `/api/organizations/@current/members/`; a key
/// without the `organization_member:read` scope (403 `permission_denied`) is `NotAllowed`, not
/// an error.
#[tokio::test]
async fn organization_members_are_read_page_by_page_and_a_missing_scope_is_not_an_error() {
    let server = TestServer::start(|r| {
        assert_eq!(r.path, "/api/organizations/@current/members/");
        let host = r.header("Host").unwrap().to_owned();
        let member = |email: &str| json!({"id": email, "user": {"email": email, "first_name": "A", "last_name": null}, "level": 1});
        if query_param(r, "offset").is_none() {
            Action::json(
                200,
                page(
                    vec![member("a@x.example")],
                    Some(format!("http://{host}/api/organizations/@current/members/?limit=100&offset=100")),
                ),
            )
        } else {
            Action::json(200, page(vec![member("b@x.example")], None))
        }
    })
    .await;
    let MembersAccess::Members(members) = client(&server).organization_members().await.unwrap()
    else {
        panic!("members expected");
    };
    let emails: Vec<&str> = members.iter().map(|m| m.user.email.as_str()).collect();
    assert_eq!(emails, ["a@x.example", "b@x.example"]);
    assert_eq!(
        query_param(&server.requests()[0], "limit").as_deref(),
        Some("100")
    );

    let forbidden = TestServer::start(|_| {
        Action::json(
            403,
            json!({"type": "authentication_error", "code": "permission_denied",
                   "detail": "API key missing required scope 'organization_member:read'", "attr": null}),
        )
    })
    .await;
    assert_eq!(
        client(&forbidden).organization_members().await.unwrap(),
        MembersAccess::NotAllowed
    );
}
