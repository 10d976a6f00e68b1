//! The Notion endpoints against a running sandbox: headers, ids, page writes and their
//! validation, read shapes, queries, search, users, databases and schema updates.

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn missing_version_header_is_rejected_like_notion() {
    let env = start("demo").await;
    let answer = env
        .raw(
            env.http
                .get(format!("{}/v1/users/me", env.base))
                .bearer_auth(NOTION_TOKEN),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["object"], "error");
    assert_eq!(answer.body["code"], "missing_version");
    assert_eq!(
        answer.body["message"],
        "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`."
    );
    let request_id = answer.body["request_id"]
        .as_str()
        .expect("request_id in body");
    assert_eq!(answer.request_id_header.as_deref(), Some(request_id));
}

#[tokio::test]
async fn bad_or_missing_token_is_unauthorized() {
    let env = start("demo").await;
    for request in [
        env.http
            .get(format!("{}/v1/users/me", env.base))
            .bearer_auth("ntn_not_the_token")
            .header("Notion-Version", "2025-09-03"),
        env.http
            .get(format!("{}/v1/users/me", env.base))
            .header("Notion-Version", "2025-09-03"),
    ] {
        let answer = env.raw(request).await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.body["code"], "unauthorized");
        assert_eq!(answer.body["message"], "API token is invalid.");
    }
}

#[tokio::test]
async fn unknown_ids_and_swapped_id_kinds_are_not_found() {
    let env = start("demo").await;
    let unknown = "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f";
    for (path, kind) in [
        (format!("/v1/databases/{unknown}"), "database"),
        (format!("/v1/data_sources/{unknown}"), "data source"),
        (format!("/v1/pages/{unknown}"), "page"),
        // A data source id is not a database id, and the other way round.
        (format!("/v1/databases/{EVENTS_DS}"), "database"),
        (format!("/v1/data_sources/{EVENTS_DB}"), "data source"),
    ] {
        let answer = env.notion("GET", &path, None).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.body["code"], "object_not_found");
        let id = path.rsplit('/').next().unwrap_or_default();
        assert_eq!(
            answer.body["message"],
            format!("Could not find {kind} with ID: {id}. Make sure the relevant pages and databases are shared with your integration.")
        );
    }
    let answer = env
        .notion(
            "POST",
            &format!("/v1/data_sources/{EVENTS_DB}/query"),
            Some(json!({})),
        )
        .await;
    assert_eq!(answer.status, 404);
    let answer = env.notion("GET", "/v1/pages/not-a-uuid", None).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["code"], "validation_error");
}

#[tokio::test]
async fn ids_are_accepted_without_dashes() {
    let env = start("demo").await;
    let compact = EVENTS_DB.replace('-', "").to_uppercase();
    let answer = env
        .notion("GET", &format!("/v1/databases/{compact}"), None)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["id"], EVENTS_DB);
    let body = json!({"parent": {"data_source_id": EVENTS_DS.replace('-', "")}, "properties": {"Event Name": {"title": text("x")}}});
    let answer = env.notion("POST", "/v1/pages", Some(body)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["parent"]["data_source_id"], EVENTS_DS);
}

#[tokio::test]
async fn database_is_a_container_and_the_data_source_has_the_schema() {
    let env = start("demo").await;
    let db = env
        .notion("GET", &format!("/v1/databases/{EVENTS_DB}"), None)
        .await;
    assert_eq!(db.status, 200);
    assert_eq!(db.body["object"], "database");
    assert_eq!(
        db.body["data_sources"],
        json!([{"id": EVENTS_DS, "name": "Events"}])
    );
    assert!(db.body.get("properties").is_none());
    assert_eq!(db.body["title"][0]["plain_text"], "Events");
    let ds = env
        .notion("GET", &format!("/v1/data_sources/{EVENTS_DS}"), None)
        .await;
    assert_eq!(ds.body["object"], "data_source");
    assert_eq!(
        ds.body["parent"],
        json!({"type": "database_id", "database_id": EVENTS_DB})
    );
    let props = ds.body["properties"].as_object().expect("properties");
    let names: Vec<&str> = props.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "Event Name",
            "Domain",
            "Category",
            "Description",
            "Properties",
            "Implementation Status",
            "Tracked On",
            "Feature Area",
            "Owner",
            "Created",
            "Last Updated"
        ]
    );
    assert_eq!(props["Event Name"]["id"], "title");
    assert_eq!(props["Event Name"]["type"], "title");
    let domain = &props["Domain"];
    assert_eq!(domain["type"], "select");
    assert_eq!(domain["description"], Value::Null);
    let options: Vec<&str> = domain["select"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        options,
        ["user_", "subscription_", "feature_", "error_", "system_"]
    );
    for option in domain["select"]["options"].as_array().unwrap() {
        assert!(option["id"].is_string() && option["color"].is_string());
    }
    assert_eq!(props["Tracked On"]["type"], "multi_select");
    assert_eq!(props["Owner"]["type"], "people");
    assert_eq!(props["Created"]["type"], "date");
}

#[tokio::test]
async fn created_pages_have_the_full_page_shape() {
    let env = start("demo").await;
    let body = json!({
        "parent": {"type": "data_source_id", "data_source_id": EVENTS_DS},
        "properties": {
            "Event Name": {"title": text("user_avatar_changed")},
            "Domain": {"select": {"name": "user_"}},
            "Description": {"rich_text": [{"text": {"content": "A user changes "}}, {"type": "text", "text": {"content": "their avatar", "link": {"url": "https://example.com"}}, "annotations": {"bold": true}}]},
            "Tracked On": {"multi_select": [{"name": "frontend"}]},
            "Owner": {"people": [{"object": "user", "id": MAYA}]},
            "Created": {"date": {"start": "2025-11-20"}},
        }
    });
    let answer = env.notion("POST", "/v1/pages", Some(body)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let page = &answer.body;
    for key in [
        "object",
        "id",
        "created_time",
        "last_edited_time",
        "created_by",
        "last_edited_by",
        "cover",
        "icon",
        "parent",
        "in_trash",
        "archived",
        "is_archived",
        "is_locked",
        "properties",
        "url",
        "public_url",
        "request_id",
    ] {
        assert!(page.get(key).is_some(), "page lacks {key}");
    }
    assert_eq!(page["object"], "page");
    assert_eq!(
        page["parent"],
        json!({"type": "data_source_id", "data_source_id": EVENTS_DS, "database_id": EVENTS_DB})
    );
    let created = page["created_time"].as_str().unwrap();
    assert!(
        created.ends_with(":00.000Z"),
        "{created} is not rounded to the minute"
    );
    assert_eq!(page["created_by"]["object"], "user");
    let description = &page["properties"]["Description"];
    assert_eq!(description["type"], "rich_text");
    let runs = description["rich_text"].as_array().unwrap();
    assert_eq!(runs[0]["plain_text"], "A user changes ");
    assert_eq!(runs[0]["annotations"]["bold"], false);
    assert_eq!(runs[1]["annotations"]["bold"], true);
    assert_eq!(runs[1]["href"], "https://example.com");
    assert_eq!(
        runs[1]["text"]["link"],
        json!({"url": "https://example.com"})
    );
    assert_eq!(page["properties"]["Domain"]["select"]["name"], "user_");
    assert!(page["properties"]["Domain"]["select"]["id"].is_string());
    assert_eq!(
        page["properties"]["Owner"]["people"][0]["person"]["email"],
        "maya.chen@acme.example"
    );
    assert_eq!(
        page["properties"]["Created"]["date"],
        json!({"start": "2025-11-20", "end": null, "time_zone": null})
    );
    // Every schema property is present, empty ones included.
    assert_eq!(page["properties"]["Category"]["select"], Value::Null);
    assert_eq!(
        page["properties"]["Feature Area"]["multi_select"],
        json!([])
    );
    assert_eq!(page["properties"]["Properties"]["rich_text"], json!([]));
    assert!(page["url"]
        .as_str()
        .unwrap()
        .starts_with("https://www.notion.so/user-avatar-changed-"));
    // And it reads back the same.
    let id = page["id"].as_str().unwrap();
    let read = env.notion("GET", &format!("/v1/pages/{id}"), None).await;
    assert_eq!(read.body["properties"], page["properties"]);
}

async fn create_error(env: &Env, properties: Value) -> Value {
    let body = json!({"parent": {"type": "data_source_id", "data_source_id": EVENTS_DS}, "properties": properties});
    let answer = env.notion("POST", "/v1/pages", Some(body)).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.body["object"], "error");
    answer.body
}

#[tokio::test]
async fn page_property_validation_errors_use_notions_messages() {
    let env = start("demo").await;
    let title = json!({"title": text("x")});
    let error = create_error(&env, json!({"Event Name": title, "Foo": {"rich_text": []}})).await;
    assert_eq!(error["code"], "validation_error");
    assert_eq!(error["message"], "Foo is not a property that exists.");

    let error = create_error(&env, json!({"Domain": {"rich_text": text("user_")}})).await;
    assert_eq!(error["message"], "Domain is expected to be select.");

    let error = create_error(&env, json!({"Domain": {"select": "user_"}})).await;
    assert_eq!(
        error["message"],
        "body failed validation: body.properties.Domain.select should be an object or `null`, instead was `\"user_\"`."
    );

    let error = create_error(
        &env,
        json!({"Domain": {"select": {"name": "user_, admin_"}}}),
    )
    .await;
    assert_eq!(
        error["message"],
        "Invalid select option, commas not allowed: user_, admin_"
    );
    let error = create_error(
        &env,
        json!({"Tracked On": {"multi_select": [{"name": "a,b"}]}}),
    )
    .await;
    assert_eq!(
        error["message"],
        "Invalid select option, commas not allowed: a,b"
    );

    let long = "x".repeat(2001);
    let error = create_error(&env, json!({"Description": {"rich_text": text(&long)}})).await;
    assert_eq!(
        error["message"],
        "body failed validation: body.properties.Description.rich_text[0].text.content.length should be ≤ `2000`, instead was `2001`."
    );

    let many: Vec<Value> = (0..101)
        .map(|i| json!({"text": {"content": i.to_string()}}))
        .collect();
    let error = create_error(&env, json!({"Description": {"rich_text": many}})).await;
    assert_eq!(
        error["message"],
        "body failed validation: body.properties.Description.rich_text.length should be ≤ `100`, instead was `101`."
    );

    let error = create_error(&env, json!({"Event Name": {"title": "user_x"}})).await;
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("body.properties.Event Name.title should be an array"));

    let error = create_error(
        &env,
        json!({"Created": {"date": {"start": "last tuesday"}}}),
    )
    .await;
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("body.properties.Created.date.start"));

    let error = create_error(
        &env,
        json!({"Owner": {"people": [{"id": "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f"}]}}),
    )
    .await;
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("body.properties.Owner.people[0].id"));

    // None of the refused writes created a row.
    let rows = env.query_all(EVENTS_DS, json!({})).await;
    assert_eq!(rows.len(), 41);
}

#[tokio::test]
async fn text_of_exactly_2000_characters_is_accepted() {
    let env = start("demo").await;
    let mut body = event_row("user_long_description");
    body["properties"]["Description"] = json!({"rich_text": text(&"é".repeat(2000))});
    let answer = env.notion("POST", "/v1/pages", Some(body)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// Notion counts lengths as JavaScript does, in UTF-16 code units: an emoji outside the BMP
/// is 2 (developers.notion.com/reference/request-limits; option names: dvanoni/notero#427).
#[tokio::test]
async fn lengths_are_counted_in_utf16_units() {
    let env = start("demo").await;
    // 1,001 emoji: 1,001 chars, 2,002 units.
    let error = create_error(
        &env,
        json!({"Description": {"rich_text": text(&"🚀".repeat(1001))}}),
    )
    .await;
    assert_eq!(
        error["message"],
        "body failed validation: body.properties.Description.rich_text[0].text.content.length should be ≤ `2000`, instead was `2002`."
    );
    let error = create_error(
        &env,
        json!({"Domain": {"select": {"name": "🚀".repeat(51)}}}),
    )
    .await;
    assert_eq!(
        error["message"],
        "body failed validation: body.properties.Domain.select.name.length should be ≤ `100`, instead was `102`."
    );
    let error = create_error(
        &env,
        json!({"Tracked On": {"multi_select": [{"name": "x".repeat(101)}]}}),
    )
    .await;
    assert_eq!(
        error["message"],
        "body failed validation: body.properties.Tracked On.multi_select[0].name.length should be ≤ `100`, instead was `101`."
    );
    let mut body = event_row("user_emoji_description");
    body["properties"]["Description"] = json!({"rich_text": text(&"🚀".repeat(1000))});
    body["properties"]["Domain"] = json!({"select": {"name": "🚀".repeat(50)}});
    let answer = env.notion("POST", "/v1/pages", Some(body)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = json!({
        "parent": {"type": "data_source_id", "data_source_id": FLAGS_DS},
        "properties": {
            "Flag Key": {"title": text("release_long_url")},
            "Related PR": {"url": format!("https://x.example/{}", "🚀".repeat(1000))}
        }
    });
    let answer = env.notion("POST", "/v1/pages", Some(body)).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["message"],
        "body failed validation: body.properties.Related PR.url.length should be ≤ `2000`, instead was `2018`."
    );
}

#[tokio::test]
async fn empty_url_is_rejected_and_null_clears() {
    let env = start("demo").await;
    let body = json!({
        "parent": {"type": "data_source_id", "data_source_id": FLAGS_DS},
        "properties": {"Flag Key": {"title": text("release_x")}, "Related PR": {"url": ""}}
    });
    let answer = env.notion("POST", "/v1/pages", Some(body)).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["message"],
        "body failed validation: body.properties.Related PR.url should be populated or `null`, instead was `\"\"`."
    );
    let body = json!({
        "parent": {"type": "data_source_id", "data_source_id": FLAGS_DS},
        "properties": {"Flag Key": {"title": text("release_x")}, "Related PR": {"url": "https://github.com/acme/web/pull/1"}}
    });
    let answer = env.notion("POST", "/v1/pages", Some(body)).await;
    assert_eq!(answer.status, 200);
    let id = answer.body["id"].as_str().unwrap().to_string();
    let answer = env
        .notion(
            "PATCH",
            &format!("/v1/pages/{id}"),
            Some(json!({"properties": {"Related PR": {"url": null}}})),
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["properties"]["Related PR"]["url"], Value::Null);
}

#[tokio::test]
async fn request_shape_errors() {
    let env = start("demo").await;
    let answer = env
        .raw(
            env.http
                .post(format!("{}/v1/pages", env.base))
                .bearer_auth(NOTION_TOKEN)
                .header("Notion-Version", "2025-09-03")
                .header("content-type", "application/json")
                .body("{\"parent\": "),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["code"], "invalid_json");
    assert_eq!(answer.body["message"], "Error parsing JSON body.");

    let answer = env
        .notion(
            "POST",
            "/v1/pages",
            Some(json!({"parent": {"data_source_id": EVENTS_DS}})),
        )
        .await;
    assert_eq!(
        answer.body["message"],
        "body failed validation: body.properties should be defined, instead was `undefined`."
    );

    let query = format!("/v1/data_sources/{EVENTS_DS}/query");
    let answer = env
        .notion("POST", &query, Some(json!({"start_cursor": null})))
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["message"],
        "body failed validation: body.start_cursor should be a string or `undefined`, instead was `null`."
    );
    let answer = env
        .notion("POST", &query, Some(json!({"page_size": 101})))
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["message"],
        "body failed validation: body.page_size should be ≤ `100`, instead was `101`."
    );
    let answer = env
        .notion(
            "POST",
            &query,
            Some(json!({"filter_properties": ["title"]})),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["message"],
        "body failed validation: body.filter_properties should be not present, instead was `[\"title\"]`."
    );
    let answer = env
        .notion(
            "POST",
            &query,
            Some(json!({"start_cursor": "not-a-cursor"})),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["code"], "validation_error");

    let answer = env.notion("DELETE", "/v1/pages/x", None).await;
    assert_eq!(answer.body["code"], "invalid_request_url");
    let answer = env.notion("GET", "/v1/databases", None).await;
    assert_eq!(answer.body["code"], "invalid_request_url");
}

#[tokio::test]
async fn new_select_options_are_added_to_the_schema() {
    let env = start("demo").await;
    let mut body = event_row("billing_invoice_paid");
    body["properties"]["Domain"] = json!({"select": {"name": "billing_"}});
    body["properties"]["Feature Area"] =
        json!({"multi_select": [{"name": "billing"}, {"name": "finance"}]});
    let answer = env.notion("POST", "/v1/pages", Some(body)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let new_option = &answer.body["properties"]["Domain"]["select"];
    assert_eq!(new_option["name"], "billing_");
    let ds = env
        .notion("GET", &format!("/v1/data_sources/{EVENTS_DS}"), None)
        .await;
    let options = ds.body["properties"]["Domain"]["select"]["options"]
        .as_array()
        .unwrap()
        .clone();
    let added = options
        .iter()
        .find(|o| o["name"] == "billing_")
        .expect("option added");
    assert_eq!(added["id"], new_option["id"]);
    assert!(models_color(&added["color"]));
    let areas = ds.body["properties"]["Feature Area"]["multi_select"]["options"]
        .as_array()
        .unwrap();
    assert_eq!(areas.iter().filter(|o| o["name"] == "finance").count(), 1);
    assert_eq!(areas.iter().filter(|o| o["name"] == "billing").count(), 1);
    // Using the new option again reuses it.
    let mut body = event_row("billing_invoice_voided");
    body["properties"]["Domain"] = json!({"select": {"name": "billing_"}});
    let again = env.notion("POST", "/v1/pages", Some(body)).await;
    assert_eq!(
        again.body["properties"]["Domain"]["select"]["id"],
        new_option["id"]
    );
}

fn models_color(color: &Value) -> bool {
    matches!(
        color.as_str(),
        Some(
            "default"
                | "gray"
                | "brown"
                | "orange"
                | "yellow"
                | "green"
                | "blue"
                | "purple"
                | "pink"
                | "red"
        )
    )
}

#[tokio::test]
async fn page_reads_truncate_long_values_at_25_items() {
    let extra_users: Vec<Value> = (0..30)
        .map(|i| {
            json!({
                "id": format!("aaaaaaaa-0000-4000-8000-{:012}", i),
                "name": format!("Person {i}"),
                "email": format!("person{i}@acme.example"),
            })
        })
        .collect();
    let scenario = demo_with(|v| {
        v["notion"]["users"]
            .as_array_mut()
            .unwrap()
            .extend(extra_users.clone());
    });
    let env = start_with(scenario, fast()).await;
    let runs: Vec<Value> = (0..30)
        .map(|i| json!({"text": {"content": format!("part {i} ")}}))
        .collect();
    let people: Vec<Value> = extra_users.iter().map(|u| json!({"id": u["id"]})).collect();
    let mut body = event_row("user_many_runs");
    body["properties"]["Event Name"] = json!({"title": runs.clone()});
    body["properties"]["Description"] = json!({"rich_text": runs});
    body["properties"]["Owner"] = json!({"people": people});
    let created = env.notion("POST", "/v1/pages", Some(body)).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let read = env.notion("GET", &format!("/v1/pages/{id}"), None).await;
    let filter = json!({"filter": {"property": "Event Name", "title": {"starts_with": "part 0"}}});
    let queried = env.query_all(EVENTS_DS, filter).await;
    assert_eq!(queried.len(), 1);
    for page in [&created.body, &read.body, &queried[0]] {
        assert_eq!(
            page["properties"]["Event Name"]["title"]
                .as_array()
                .unwrap()
                .len(),
            25
        );
        assert_eq!(
            page["properties"]["Description"]["rich_text"]
                .as_array()
                .unwrap()
                .len(),
            25
        );
        assert_eq!(
            page["properties"]["Owner"]["people"]
                .as_array()
                .unwrap()
                .len(),
            25
        );
    }
    // The whole value is kept: the admin state shows all 30.
    let state = env.admin("GET", "/state", None).await;
    let stored = state.body["notion"]["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        stored["properties"]["Description"]["rich_text"]
            .as_array()
            .unwrap()
            .len(),
        30
    );
    assert_eq!(
        stored["properties"]["Owner"]["people"]
            .as_array()
            .unwrap()
            .len(),
        30
    );
}

#[tokio::test]
async fn updates_change_only_the_given_properties() {
    let env = start("demo").await;
    let rows = env
        .query_all(
            FLAGS_DS,
            json!({"filter": {"property": "Flag Key", "title": {"equals": "release_checkout_v2"}}}),
        )
        .await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["properties"]["Status"]["select"]["name"], "draft");
    let id = row["id"].as_str().unwrap();
    let answer = env
        .notion(
            "PATCH",
            &format!("/v1/pages/{id}"),
            Some(json!({"properties": {"Status": {"select": {"name": "active"}}, "Rollout %": {"number": 100}}})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body["properties"]["Status"]["select"]["name"],
        "active"
    );
    assert_eq!(answer.body["properties"]["Rollout %"]["number"], 100);
    assert_eq!(answer.body["properties"]["Name"], row["properties"]["Name"]);
    assert_eq!(
        answer.body["properties"]["Owner"],
        row["properties"]["Owner"]
    );
    assert_eq!(answer.body["created_time"], row["created_time"]);
    assert_ne!(answer.body["last_edited_time"], row["last_edited_time"]);
    assert!(answer.body["last_edited_time"]
        .as_str()
        .unwrap()
        .ends_with(":00.000Z"));
}

#[tokio::test]
async fn trashed_pages_leave_queries_and_refuse_edits() {
    let env = start("demo").await;
    let created = env
        .notion("POST", "/v1/pages", Some(event_row("user_temp")))
        .await;
    let id = created.body["id"].as_str().unwrap().to_string();
    let trashed = env
        .notion(
            "PATCH",
            &format!("/v1/pages/{id}"),
            Some(json!({"in_trash": true})),
        )
        .await;
    assert_eq!(trashed.status, 200);
    assert_eq!(trashed.body["in_trash"], true);
    assert_eq!(trashed.body["archived"], true);
    let rows = env.query_all(EVENTS_DS, json!({})).await;
    assert_eq!(rows.len(), 41);
    assert!(rows.iter().all(|r| r["id"] != id.as_str()));
    let with_trash = env.query_all(EVENTS_DS, json!({"in_trash": true})).await;
    assert!(with_trash.iter().any(|r| r["id"] == id.as_str()));
    let read = env.notion("GET", &format!("/v1/pages/{id}"), None).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["in_trash"], true);
    let edit = env
        .notion(
            "PATCH",
            &format!("/v1/pages/{id}"),
            Some(json!({"properties": {"Description": {"rich_text": text("x")}}})),
        )
        .await;
    assert_eq!(edit.status, 400);
    assert_eq!(
        edit.body["message"],
        "Can't edit block that is archived. You must unarchive the block before editing."
    );
    // `archived: false` (the 2025-09-03 alias) restores it.
    let restored = env
        .notion(
            "PATCH",
            &format!("/v1/pages/{id}"),
            Some(json!({"archived": false})),
        )
        .await;
    assert_eq!(restored.body["in_trash"], false);
    assert_eq!(env.query_all(EVENTS_DS, json!({})).await.len(), 42);
}

async fn names(env: &Env, data_source: &str, body: Value, title: &str) -> Vec<String> {
    env.query_all(data_source, body)
        .await
        .iter()
        .map(|p| text_of(p, title))
        .collect()
}

#[tokio::test]
async fn text_filters() {
    let env = start("demo").await;
    let q = |cond: Value| json!({"filter": {"property": "Event Name", "title": cond}});
    assert_eq!(
        names(
            &env,
            EVENTS_DS,
            q(json!({"equals": "user_signed_up"})),
            "Event Name"
        )
        .await,
        ["user_signed_up"]
    );
    // equals is case-sensitive
    assert!(names(
        &env,
        EVENTS_DS,
        q(json!({"equals": "User_Signed_Up"})),
        "Event Name"
    )
    .await
    .is_empty());
    let checkout = names(
        &env,
        EVENTS_DS,
        q(json!({"contains": "checkout"})),
        "Event Name",
    )
    .await;
    assert_eq!(checkout.len(), 2);
    let errors = names(
        &env,
        EVENTS_DS,
        q(json!({"starts_with": "error_"})),
        "Event Name",
    )
    .await;
    assert_eq!(errors.len(), 6);
    let not_login = names(
        &env,
        EVENTS_DS,
        q(json!({"does_not_equal": "user_logged_in"})),
        "Event Name",
    )
    .await;
    assert_eq!(not_login.len(), 40);
    // rich_text on another property, is_empty / is_not_empty
    let created = env
        .notion("POST", "/v1/pages", Some(event_row("user_undescribed")))
        .await;
    assert_eq!(created.status, 200);
    let empty = json!({"filter": {"property": "Description", "rich_text": {"is_empty": true}}});
    assert_eq!(
        names(&env, EVENTS_DS, empty, "Event Name").await,
        ["user_undescribed"]
    );
    let not_empty =
        json!({"filter": {"property": "Description", "rich_text": {"is_not_empty": true}}});
    assert_eq!(
        names(&env, EVENTS_DS, not_empty, "Event Name").await.len(),
        41
    );
}

#[tokio::test]
async fn select_number_checkbox_multi_select_and_compound_filters() {
    let env = start("demo").await;
    let domain = |op: &str, v: Value| json!({"filter": {"property": "Domain", "select": {op: v}}});
    assert_eq!(
        names(
            &env,
            EVENTS_DS,
            domain("equals", json!("system_")),
            "Event Name"
        )
        .await
        .len(),
        3
    );
    assert_eq!(
        names(
            &env,
            EVENTS_DS,
            domain("does_not_equal", json!("system_")),
            "Event Name"
        )
        .await
        .len(),
        38
    );
    assert!(names(
        &env,
        EVENTS_DS,
        domain("is_empty", json!(true)),
        "Event Name"
    )
    .await
    .is_empty());

    let id = json!({"filter": {"property": "ID", "number": {"equals": 120}}});
    assert_eq!(
        names(&env, DASHBOARDS_DS, id, "Dashboard Name").await,
        ["Revenue & Subscriptions"]
    );
    let pinned = json!({"filter": {"property": "Pinned", "checkbox": {"equals": true}}});
    assert_eq!(
        names(&env, DASHBOARDS_DS, pinned, "Dashboard Name")
            .await
            .len(),
        3
    );
    let backend =
        json!({"filter": {"property": "Tracked On", "multi_select": {"contains": "backend"}}});
    let backend_names = names(&env, EVENTS_DS, backend, "Event Name").await;
    assert!(backend_names.contains(&"user_logged_in".to_string()));
    assert!(!backend_names.contains(&"user_logged_out".to_string()));

    // People filters take a user id (with or without dashes).
    const JONAS: &str = "6d1f9b4c2a3e4f7b9c0d8e2f3a4b5c62";
    let owner =
        |op: &str, value: Value| json!({"filter": {"property": "Owner", "people": {op: value}}});
    let mut jonas = names(
        &env,
        EVENTS_DS,
        owner("contains", json!(JONAS)),
        "Event Name",
    )
    .await;
    jonas.sort();
    assert_eq!(jonas.len(), 10, "{jonas:?}");
    assert_eq!(jonas[0], "feature_comment_added");
    assert!(jonas.contains(&"user_signed_up".to_string()));
    let others = names(
        &env,
        EVENTS_DS,
        owner("does_not_contain", json!(JONAS)),
        "Event Name",
    )
    .await;
    assert_eq!(others.len(), 31);
    assert!(!others.contains(&"user_signed_up".to_string()));
    assert!(names(
        &env,
        EVENTS_DS,
        owner("is_empty", json!(true)),
        "Event Name"
    )
    .await
    .is_empty());
    assert_eq!(
        names(
            &env,
            EVENTS_DS,
            owner("is_not_empty", json!(true)),
            "Event Name"
        )
        .await
        .len(),
        41
    );

    let nested = json!({"filter": {"or": [
        {"property": "Status", "select": {"equals": "rolling_out"}},
        {"and": [
            {"property": "Type", "select": {"equals": "beta"}},
            {"property": "Status", "select": {"equals": "draft"}}
        ]}
    ]}});
    let mut found = names(&env, FLAGS_DS, nested, "Flag Key").await;
    found.sort();
    assert_eq!(found, ["beta_team_workspaces", "release_dark_mode"]);
}

#[tokio::test]
async fn filter_errors_name_the_problem() {
    let env = start("demo").await;
    let path = format!("/v1/data_sources/{EVENTS_DS}/query");
    let answer = env
        .notion(
            "POST",
            &path,
            Some(json!({"filter": {"property": "Nope", "select": {"equals": "x"}}})),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["message"],
        "Could not find property with name or id: Nope"
    );
    let answer = env
        .notion(
            "POST",
            &path,
            Some(json!({"filter": {"property": "Domain", "rich_text": {"equals": "x"}}})),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["message"],
        "database property select does not match filter rich_text"
    );
    let answer = env
        .notion(
            "POST",
            &path,
            Some(json!({"filter": {"property": "Domain"}})),
        )
        .await;
    assert_eq!(answer.status, 400);
    // A compound filter is a request array: 100 elements at most.
    let or = |n: usize| {
        let items: Vec<Value> = (0..n)
            .map(|i| json!({"property": "Event Name", "title": {"equals": format!("e{i}")}}))
            .collect();
        json!({"filter": {"or": items}})
    };
    assert_eq!(env.notion("POST", &path, Some(or(100))).await.status, 200);
    let answer = env.notion("POST", &path, Some(or(101))).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("body.filter.or.length should be ≤ `100`, instead was `101`"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn created_time_filters_and_sorts() {
    let env = start("demo").await;
    let all = env.query_all(EVENTS_DS, json!({})).await;
    let times: Vec<&str> = all
        .iter()
        .map(|p| p["created_time"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "default order is created_time ascending");
    let pivot = times[20];
    let on_or_after = env
        .query_all(EVENTS_DS, json!({"filter": {"timestamp": "created_time", "created_time": {"on_or_after": pivot}}}))
        .await;
    assert_eq!(
        on_or_after.len(),
        times.iter().filter(|t| **t >= pivot).count()
    );
    let after = env
        .query_all(
            EVENTS_DS,
            json!({"filter": {"timestamp": "created_time", "created_time": {"after": pivot}}}),
        )
        .await;
    assert_eq!(after.len(), times.iter().filter(|t| **t > pivot).count());

    let by_id = env
        .query_all(
            DASHBOARDS_DS,
            json!({"sorts": [{"property": "ID", "direction": "descending"}]}),
        )
        .await;
    let ids: Vec<i64> = by_id
        .iter()
        .map(|p| p["properties"]["ID"]["number"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [121, 120, 119, 118]);
    let newest_first = env
        .query_all(
            EVENTS_DS,
            json!({"sorts": [{"timestamp": "created_time", "direction": "descending"}]}),
        )
        .await;
    let newest: Vec<&str> = newest_first
        .iter()
        .map(|p| p["created_time"].as_str().unwrap())
        .collect();
    let mut descending = sorted.clone();
    descending.reverse();
    assert_eq!(newest, descending);
}

#[tokio::test]
async fn creating_a_database_and_changing_its_schema() {
    let env = start("empty").await;
    let body = json!({
        "parent": {"type": "page_id", "page_id": ANALYTICS_HOME},
        "title": text("Events"),
        "initial_data_source": {"properties": {
            "Event Name": {"title": {}},
            "Domain": {"select": {"options": [{"name": "user_", "color": "blue"}]}},
            "Rollout %": {"number": {"format": "number"}},
            "Owner": {"type": "people", "people": {}},
        }}
    });
    let db = env.notion("POST", "/v1/databases", Some(body)).await;
    assert_eq!(db.status, 200, "{}", db.body);
    assert_eq!(db.body["object"], "database");
    assert!(db.body.get("properties").is_none());
    assert_eq!(
        db.body["parent"],
        json!({"type": "page_id", "page_id": ANALYTICS_HOME})
    );
    let ds_id = db.body["data_sources"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(db.body["data_sources"][0]["name"], "Events");
    let ds = env
        .notion("GET", &format!("/v1/data_sources/{ds_id}"), None)
        .await;
    assert_eq!(
        ds.body["properties"]["Domain"]["select"]["options"][0]["color"],
        "blue"
    );
    assert_eq!(
        ds.body["properties"]["Rollout %"]["number"]["format"],
        "number"
    );

    // Add a property, rename one, add an option (the options given replace the set).
    let domain_options = ds.body["properties"]["Domain"]["select"]["options"].clone();
    let mut options = domain_options.as_array().unwrap().clone();
    options.push(json!({"name": "system_"}));
    let patch = json!({"properties": {
        "Description": {"rich_text": {}},
        "Rollout %": {"name": "Rollout"},
        "Domain": {"select": {"options": options}},
    }});
    let updated = env
        .notion("PATCH", &format!("/v1/data_sources/{ds_id}"), Some(patch))
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let props = &updated.body["properties"];
    assert_eq!(props["Description"]["type"], "rich_text");
    assert!(props.get("Rollout %").is_none());
    assert_eq!(props["Rollout"]["type"], "number");
    let names: Vec<&str> = props["Domain"]["select"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["user_", "system_"]);
    assert_eq!(
        props["Domain"]["select"]["options"][0]["id"],
        domain_options[0]["id"]
    );
    assert!(props["Domain"]["select"]["options"][1]["id"].is_string());

    // Remove a property; the title cannot go.
    let removed = env
        .notion(
            "PATCH",
            &format!("/v1/data_sources/{ds_id}"),
            Some(json!({"properties": {"Rollout": null}})),
        )
        .await;
    assert!(removed.body["properties"].get("Rollout").is_none());
    let refused = env
        .notion(
            "PATCH",
            &format!("/v1/data_sources/{ds_id}"),
            Some(json!({"properties": {"Event Name": null}})),
        )
        .await;
    assert_eq!(refused.status, 400);

    // The new database takes rows, also through a database_id parent.
    let row = json!({"parent": {"type": "database_id", "database_id": db.body["id"]}, "properties": {"Event Name": {"title": text("user_x")}}});
    let created = env.notion("POST", "/v1/pages", Some(row)).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["parent"]["type"], "data_source_id");
    assert_eq!(created.body["parent"]["data_source_id"], ds_id.as_str());
}

#[tokio::test]
async fn database_creation_is_validated() {
    let env = start("empty").await;
    let make = |properties: Value| json!({"parent": {"type": "page_id", "page_id": ANALYTICS_HOME}, "title": text("X"), "initial_data_source": {"properties": properties}});
    let answer = env
        .notion(
            "POST",
            "/v1/databases",
            Some(make(json!({"A": {"rich_text": {}}}))),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["message"],
        "All data sources require exactly one title property."
    );
    let answer = env
        .notion(
            "POST",
            "/v1/databases",
            Some(make(json!({"A": {"title": {}}, "B": {"title": {}}}))),
        )
        .await;
    assert_eq!(answer.status, 400);
    let answer = env
        .notion(
            "POST",
            "/v1/databases",
            Some(make(json!({"A": {"title": {}}, "S": {"status": {}}}))),
        )
        .await;
    assert_eq!(
        answer.body["message"],
        "Creating new status database properties is currently not supported."
    );
    let answer = env
        .notion(
            "POST",
            "/v1/databases",
            Some(make(
                json!({"A": {"title": {}}, "S": {"select": {"options": [{"name": "a,b"}]}}}),
            )),
        )
        .await;
    assert_eq!(
        answer.body["message"],
        "Invalid select option, commas not allowed: a,b"
    );
    // The pre-2025 shape (properties at the top level) is refused.
    let old = json!({"parent": {"type": "page_id", "page_id": ANALYTICS_HOME}, "title": text("X"), "properties": {"A": {"title": {}}}});
    let answer = env.notion("POST", "/v1/databases", Some(old)).await;
    assert_eq!(answer.status, 400);
    assert!(answer.body["message"]
        .as_str()
        .unwrap()
        .contains("body.properties should be not present"));
    // Unknown parent page.
    let mut body = make(json!({"A": {"title": {}}}));
    body["parent"]["page_id"] = json!("0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f");
    let answer = env.notion("POST", "/v1/databases", Some(body)).await;
    assert_eq!(answer.status, 404);
    let state = env.admin("GET", "/state", None).await;
    assert!(state.body["notion"]["databases"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn unshared_pages_are_invisible() {
    let scenario = demo_with(|v| {
        v["notion"]["pages"]["private"] = json!({"id": "31c8e4f0-3a5b-80c7-b1d2-e3f4a5b6c7d8", "title": "Private", "shared": false});
    });
    let env = start_with(scenario, fast()).await;
    let answer = env
        .notion(
            "GET",
            "/v1/pages/31c8e4f0-3a5b-80c7-b1d2-e3f4a5b6c7d8",
            None,
        )
        .await;
    assert_eq!(answer.status, 404);
    let body = json!({"parent": {"type": "page_id", "page_id": "31c8e4f0-3a5b-80c7-b1d2-e3f4a5b6c7d8"}, "title": text("X"),
        "initial_data_source": {"properties": {"A": {"title": {}}}}});
    assert_eq!(
        env.notion("POST", "/v1/databases", Some(body)).await.status,
        404
    );
}

#[tokio::test]
async fn search_finds_data_sources_by_database_title() {
    let env = start("demo").await;
    let answer = env
        .notion(
            "POST",
            "/v1/search",
            Some(
                json!({"query": "flags", "filter": {"property": "object", "value": "data_source"}}),
            ),
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["type"], "page_or_data_source");
    let results = answer.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["object"], "data_source");
    assert_eq!(results[0]["id"], FLAGS_DS);
    assert!(results[0]["properties"]["Flag Key"].is_object());
    let answer = env
        .notion(
            "POST",
            "/v1/search",
            Some(json!({"filter": {"property": "object", "value": "database"}})),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["message"],
        "body failed validation: body.filter.value should be `\"page\"` or `\"data_source\"`, instead was `\"database\"`."
    );
    let pages = env
        .notion("POST", "/v1/search", Some(json!({"query": "tracking plan", "filter": {"property": "object", "value": "page"}})))
        .await;
    assert_eq!(
        pages.body["results"][0]["properties"]["title"]["title"][0]["plain_text"],
        "Tracking Plan"
    );
}

#[tokio::test]
async fn users_are_listed_with_emails_and_paginated() {
    let env = start("demo").await;
    let all = env.notion("GET", "/v1/users", None).await;
    assert_eq!(all.body["type"], "user");
    assert_eq!(all.body["user"], json!({}));
    let results = all.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert_eq!(results.iter().filter(|u| u["type"] == "person").count(), 4);
    assert!(results
        .iter()
        .filter(|u| u["type"] == "person")
        .all(|u| u["person"]["email"].is_string()));
    assert_eq!(results.iter().filter(|u| u["type"] == "bot").count(), 1);
    let first = env.notion("GET", "/v1/users?page_size=2", None).await;
    assert_eq!(first.body["results"].as_array().unwrap().len(), 2);
    assert_eq!(first.body["has_more"], true);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    let second = env
        .notion(
            "GET",
            &format!("/v1/users?page_size=2&start_cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(second.body["results"][0]["id"], results[2]["id"]);
    let too_big = env.notion("GET", "/v1/users?page_size=101", None).await;
    assert_eq!(too_big.status, 400);
    let me = env.notion("GET", "/v1/users/me", None).await;
    assert_eq!(me.body["type"], "bot");
    assert_eq!(me.body["bot"]["workspace_name"], "Acme");
}

/// Guests are not listed but are found by ID; a removed member is found nowhere, and a People
/// value that names them is a bare user (https://developers.notion.com/reference/get-users;
/// partial users of removed members: stevieflyer/pydantic-api-models-notion PR #18).
#[tokio::test]
async fn guests_and_removed_members() {
    const GUEST: &str = "a1a1a1a1-0000-4000-8000-000000000001";
    const LEAVER: &str = "a1a1a1a1-0000-4000-8000-000000000002";
    let scenario = demo_with(|v| {
        let users = v["notion"]["users"].as_array_mut().unwrap();
        users.push(json!({"id": GUEST, "name": "Gus Guest", "email": "gus@partner.example", "guest": true}));
        users.push(json!({"id": LEAVER, "name": "Lea Ver", "email": "lea@acme.example"}));
    });
    let env = start_with(scenario, fast()).await;
    let listed = |body: &Value| -> Vec<String> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect()
    };
    let list = env.notion("GET", "/v1/users", None).await;
    assert!(!listed(&list.body).contains(&GUEST.to_string()));
    assert!(listed(&list.body).contains(&LEAVER.to_string()));
    let guest = env.notion("GET", &format!("/v1/users/{GUEST}"), None).await;
    assert_eq!(guest.status, 200);
    assert_eq!(guest.body["type"], "person");
    assert_eq!(guest.body["person"]["email"], "gus@partner.example");

    let mut body = event_row("user_owned_by_lea");
    body["properties"]["Owner"] = json!({"people": [{"id": LEAVER}, {"id": GUEST}]});
    let created = env.notion("POST", "/v1/pages", Some(body)).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let page = created.body["id"].as_str().unwrap().to_string();

    let removed = env
        .admin("DELETE", &format!("/notion/users/{LEAVER}"), None)
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let list = env.notion("GET", "/v1/users", None).await;
    assert!(!listed(&list.body).contains(&LEAVER.to_string()));
    assert_eq!(
        env.notion("GET", &format!("/v1/users/{LEAVER}"), None)
            .await
            .status,
        404
    );
    let read = env.notion("GET", &format!("/v1/pages/{page}"), None).await;
    let owners = read.body["properties"]["Owner"]["people"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(owners[0], json!({"object": "user", "id": LEAVER}));
    assert_eq!(owners[1]["name"], "Gus Guest");
    // A removed member can no longer be made an owner.
    let again = env
        .notion(
            "PATCH",
            &format!("/v1/pages/{page}"),
            Some(json!({"properties": {"Owner": {"people": [{"id": LEAVER}]}}})),
        )
        .await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(
        env.admin("DELETE", &format!("/notion/users/{LEAVER}"), None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn user_information_capabilities_are_honoured() {
    let without_email = demo_with(|v| v["notion"]["user_access"] = json!("without_email"));
    let env = start_with(without_email, fast()).await;
    let list = env.notion("GET", "/v1/users", None).await;
    assert_eq!(list.status, 200);
    assert!(list.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["person"].get("email").is_none()));
    let row = env
        .query_all(
            EVENTS_DS,
            json!({"filter": {"property": "Event Name", "title": {"equals": "user_signed_up"}}}),
        )
        .await;
    let owner = &row[0]["properties"]["Owner"]["people"][0];
    assert_eq!(owner["name"], "Jonas Weber");
    assert!(owner["person"].get("email").is_none());

    let none = demo_with(|v| v["notion"]["user_access"] = json!("none"));
    let env = start_with(none, fast()).await;
    let list = env.notion("GET", "/v1/users", None).await;
    assert_eq!(list.status, 403);
    assert_eq!(list.body["code"], "restricted_resource");
    assert_eq!(
        list.body["message"],
        "API token does not have access to this resource."
    );
    assert_eq!(env.notion("GET", "/v1/users/me", None).await.status, 200);
}

#[tokio::test]
async fn filter_properties_limits_the_returned_values() {
    let env = start("demo").await;
    let rows = env
        .query_all(
            EVENTS_DS,
            json!({"filter": {"property": "Event Name", "title": {"equals": "user_signed_up"}}}),
        )
        .await;
    let id = rows[0]["id"].as_str().unwrap();
    let domain_id = rows[0]["properties"]["Domain"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let encoded: String = domain_id.replace('%', "%25");
    let page = env
        .notion(
            "GET",
            &format!("/v1/pages/{id}?filter_properties=title&filter_properties={encoded}"),
            None,
        )
        .await;
    let keys: Vec<&String> = page.body["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["Event Name", "Domain"]);
}

#[tokio::test]
async fn removing_an_option_clears_it_from_rows() {
    let env = start("demo").await;
    let ds = env
        .notion("GET", &format!("/v1/data_sources/{EVENTS_DS}"), None)
        .await;
    let kept: Vec<Value> = ds.body["properties"]["Domain"]["select"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["name"] != "system_")
        .cloned()
        .collect();
    let patch = json!({"properties": {"Domain": {"select": {"options": kept}}}});
    let answer = env
        .notion(
            "PATCH",
            &format!("/v1/data_sources/{EVENTS_DS}"),
            Some(patch),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let rows = env
        .query_all(
            EVENTS_DS,
            json!({"filter": {"property": "Event Name", "title": {"starts_with": "system_"}}}),
        )
        .await;
    assert_eq!(rows.len(), 3);
    assert!(rows
        .iter()
        .all(|r| r["properties"]["Domain"]["select"].is_null()));
    // Colours of existing options cannot be changed.
    let mut recolored = ds.body["properties"]["Category"]["select"]["options"].clone();
    recolored[0]["color"] = json!(if recolored[0]["color"] == "red" {
        "blue"
    } else {
        "red"
    });
    let refused = env
        .notion(
            "PATCH",
            &format!("/v1/data_sources/{EVENTS_DS}"),
            Some(json!({"properties": {"Category": {"select": {"options": recolored}}}})),
        )
        .await;
    assert_eq!(refused.status, 400);
}

#[tokio::test]
async fn select_values_can_name_an_option_by_id() {
    let env = start("demo").await;
    let ds = env
        .notion("GET", &format!("/v1/data_sources/{EVENTS_DS}"), None)
        .await;
    let option = ds.body["properties"]["Category"]["select"]["options"][2].clone();
    let mut body = event_row("error_by_option_id");
    body["properties"]["Category"] = json!({"select": {"id": option["id"]}});
    let answer = env.notion("POST", "/v1/pages", Some(body)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body["properties"]["Category"]["select"]["name"],
        option["name"]
    );
    let mut body = event_row("error_by_missing_option_id");
    body["properties"]["Category"] = json!({"select": {"id": "nope"}});
    assert_eq!(
        env.notion("POST", "/v1/pages", Some(body)).await.status,
        400
    );
}

#[tokio::test]
async fn databases_can_be_renamed_and_trashed() {
    let env = start("demo").await;
    let renamed = env
        .notion(
            "PATCH",
            &format!("/v1/databases/{EVENTS_DB}"),
            Some(json!({"title": text("Tracking events")})),
        )
        .await;
    assert_eq!(renamed.status, 200);
    assert_eq!(renamed.body["title"][0]["plain_text"], "Tracking events");
    let search = env
        .notion("POST", "/v1/search", Some(json!({"query": "tracking events", "filter": {"property": "object", "value": "data_source"}})))
        .await;
    assert_eq!(search.body["results"][0]["id"], EVENTS_DS);
    let trashed = env
        .notion(
            "PATCH",
            &format!("/v1/databases/{EVENTS_DB}"),
            Some(json!({"in_trash": true})),
        )
        .await;
    assert_eq!(trashed.body["in_trash"], true);
    let search = env
        .notion("POST", "/v1/search", Some(json!({"query": "tracking events", "filter": {"property": "object", "value": "data_source"}})))
        .await;
    assert_eq!(search.body["results"], json!([]));
}
