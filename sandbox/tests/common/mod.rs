//! Shared helpers for the sandbox's HTTP tests: start a sandbox, call Notion, PostHog and
//! the admin API through a real HTTP client, and find the demo scenario's ids.
#![allow(dead_code)]

use kodo_sandbox::{Options, Sandbox, Scenario};
use serde_json::{json, Value};

pub const NOTION_TOKEN: &str = "ntn_sandbox_0123456789abcdef";
pub const POSTHOG_KEY: &str = "phx_sandbox_0123456789abcdef";
pub const PROJECT: i64 = 84211;

/// Demo ids (fixed in sandbox/scenarios/demo.json).
pub const EVENTS_DB: &str = "22d9f5a1-4b6c-80d8-a2e3-f4a5b6c7d8e9";
pub const EVENTS_DS: &str = "22d9f5a1-4b6c-8069-b3f4-a5b6c7d8e9f0";
pub const FLAGS_DS: &str = "23e0a6b2-5c7d-8070-c4a5-b6c7d8e9f0a1";
pub const EXPERIMENTS_DS: &str = "24f1b7c3-6d8e-8081-d5b6-c7d8e9f0a1b2";
pub const DASHBOARDS_DS: &str = "25a2c8d4-7e9f-8092-e6c7-d8e9f0a1b2c3";
pub const ANALYTICS_HOME: &str = "21c8e4f0-3a5b-80c7-b1d2-e3f4a5b6c7d8";
pub const MAYA: &str = "5c0e8a3b-1f2d-4e6a-8b9c-7d1e2f3a4b51";

/// Options that never rate limit (for tests about something else).
pub fn fast() -> Options {
    Options {
        notion_budget: 1_000_000,
        ..Options::default()
    }
}

pub struct Env {
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
    pub base: String,
}

/// An HTTP answer: status, selected headers and JSON body (Null when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<String>,
    pub request_id_header: Option<String>,
    pub content_type: Option<String>,
}

pub async fn start(name: &str) -> Env {
    start_with(Scenario::builtin(name).expect("built-in scenario"), fast()).await
}

pub async fn start_with(scenario: Scenario, options: Options) -> Env {
    let sandbox = Sandbox::start(scenario, options)
        .await
        .expect("sandbox starts");
    let base = sandbox.base_url();
    Env {
        sandbox,
        http: reqwest::Client::new(),
        base,
    }
}

/// The demo scenario with changes applied to its JSON first.
pub fn demo_with(change: impl FnOnce(&mut Value)) -> Scenario {
    let scenario = Scenario::builtin("demo").expect("demo");
    let mut value = serde_json::to_value(&scenario).expect("scenario serialises");
    change(&mut value);
    Scenario::from_json(&value.to_string()).expect("changed scenario is valid")
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("request is answered");
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = header("retry-after");
    let request_id_header = header("x-notion-request-id");
    let content_type = header("content-type");
    let text = response.text().await.expect("body is read");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        body,
        retry_after,
        request_id_header,
        content_type,
    }
}

impl Env {
    fn method(&self, method: &str, url: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        self.http.request(method, url)
    }

    /// A Notion request with the scenario's token and Notion-Version.
    pub async fn notion(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .method(method, &format!("{}{path}", self.base))
            .bearer_auth(NOTION_TOKEN)
            .header("Notion-Version", "2025-09-03");
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    /// A request built by the caller (custom headers).
    pub async fn raw(&self, request: reqwest::RequestBuilder) -> Answer {
        send(request).await
    }

    /// A PostHog request with the scenario's personal API key.
    pub async fn posthog(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut request = self.method(method, &url).bearer_auth(POSTHOG_KEY);
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    /// An admin request.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let mut request = self.method(method, &format!("{}/__admin{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    /// All rows of a data source (follows cursors).
    pub async fn query_all(&self, data_source: &str, mut body: Value) -> Vec<Value> {
        let mut rows = Vec::new();
        loop {
            let answer = self
                .notion(
                    "POST",
                    &format!("/v1/data_sources/{data_source}/query"),
                    Some(body.clone()),
                )
                .await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            rows.extend(
                answer.body["results"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
            if answer.body["has_more"] != json!(true) {
                return rows;
            }
            body["start_cursor"] = answer.body["next_cursor"].clone();
        }
    }
}

/// Plain text of a title or rich_text property value.
pub fn text_of(page: &Value, property: &str) -> String {
    let value = &page["properties"][property];
    let kind = value["type"].as_str().unwrap_or_default();
    value[kind]
        .as_array()
        .map(|runs| {
            runs.iter()
                .filter_map(|r| r["plain_text"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

/// A title/rich_text write value.
pub fn text(content: &str) -> Value {
    json!([{"type": "text", "text": {"content": content}}])
}

/// A minimal valid new events row.
pub fn event_row(name: &str) -> Value {
    json!({
        "parent": {"type": "data_source_id", "data_source_id": EVENTS_DS},
        "properties": {
            "Event Name": {"title": text(name)},
            "Domain": {"select": {"name": "user_"}},
        }
    })
}
