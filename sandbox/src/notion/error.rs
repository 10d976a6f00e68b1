//! Notion's error object: `{object:"error", status, code, message, request_id}` plus
//! `additional_data` where the real service sends it.
//!
//! Every message here copies the wording of the real API (see notion-notes.md §4.4), so a
//! client that shows or matches messages behaves as it would against Notion.

use serde_json::{json, Value};

/// One Notion error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct NotionError {
    /// HTTP status.
    pub status: u16,
    /// Notion's machine-readable code (`validation_error`, `object_not_found`, …).
    pub code: &'static str,
    /// Human-readable message, as Notion words it.
    pub message: String,
    /// Extra context, present on some errors only.
    pub additional_data: Option<Value>,
}

impl NotionError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        NotionError {
            status,
            code,
            message: message.into(),
            additional_data: None,
        }
    }

    /// 400 `validation_error`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "validation_error", message)
    }

    /// 400 `validation_error` in the `body failed validation: <path> should be …` form.
    pub fn body(path: &str, expected: &str, actual: &str) -> Self {
        Self::validation(format!(
            "body failed validation: {path} should be {expected}, instead was {actual}."
        ))
    }

    /// 400 `invalid_json`.
    pub fn invalid_json() -> Self {
        Self::new(400, "invalid_json", "Error parsing JSON body.")
    }

    /// 400 `invalid_request_url`.
    pub fn invalid_request_url() -> Self {
        Self::new(400, "invalid_request_url", "Invalid request URL.")
    }

    /// 400 `missing_version`.
    pub fn missing_version() -> Self {
        Self::new(
            400,
            "missing_version",
            "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.",
        )
    }

    /// 401 `unauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(401, "unauthorized", "API token is invalid.")
    }

    /// 403 for a write that would create blocks in a Free workspace past its block limit
    /// (developers.notion.com/reference/workspace-block-limits, "Error response").
    pub fn block_limit() -> Self {
        let mut error = Self::new(
            403,
            "restricted_resource",
            "This workspace has used all of its free blocks. Upgrade its plan in Notion to create more content. Learn more: https://www.notion.com/help/understanding-block-usage",
        );
        error.additional_data = Some(json!({"block_limit": "block_creation"}));
        error
    }

    /// 403 `restricted_resource`.
    pub fn restricted() -> Self {
        Self::new(
            403,
            "restricted_resource",
            "API token does not have access to this resource.",
        )
    }

    /// 404 `object_not_found` naming the kind of object (`database`, `data source`, `page`, `user`).
    /// Notion's wording, from raw answers quoted in jcha0713/astro-notion#6
    /// (`{"object":"error","status":404,"code":"object_not_found","message":"Could not find
    /// database with ID: …. Make sure the relevant pages and databases are shared with your
    /// integration."}`) and makenotion/notion-sdk-js#612 (the same from the 2025-09-03 API).
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            404,
            "object_not_found",
            format!(
                "Could not find {kind} with ID: {id}. Make sure the relevant pages and databases are shared with your integration."
            ),
        )
    }

    /// 429 `rate_limited`, with the wait repeated in `additional_data`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut error = Self::new(
            429,
            "rate_limited",
            "You have been rate limited. Please try again in a few minutes.",
        );
        error.additional_data = Some(json!({
            "rate_limit_reason": "public_api_request_rate_limit",
            "retry_after": retry_after_secs.to_string(),
        }));
        error
    }

    /// 429 for the per-workspace limit, shared by every connection of the workspace:
    /// `rate_limit_reason` `public_api_space_request_rate_limit`, "Retry-After for this limit
    /// can be longer than a minute" (<https://developers.notion.com/reference/request-limits>).
    pub fn space_rate_limited(retry_after_secs: u64) -> Self {
        let mut error = Self::rate_limited(retry_after_secs);
        error.additional_data = Some(json!({
            "rate_limit_reason": "public_api_space_request_rate_limit",
            "retry_after": retry_after_secs.to_string(),
        }));
        error
    }

    /// 429 for a connection whose API access Notion has restricted: `rate_limit_reason`
    /// `public_api_request_blocked` ("Retrying won't help. Contact Notion support.",
    /// <https://developers.notion.com/reference/request-limits>). No `Retry-After`: waiting
    /// does not lift it.
    pub fn request_blocked() -> Self {
        let mut error = Self::new(
            429,
            "rate_limited",
            "You have been rate limited. Please try again in a few minutes.",
        );
        error.additional_data = Some(json!({"rate_limit_reason": "public_api_request_blocked"}));
        error
    }

    /// A 5xx as Notion sends it (500, 502, 503 or 504).
    pub fn server(status: u16) -> Self {
        match status {
            502 => Self::new(502, "bad_gateway", "Bad Gateway"),
            503 => Self::new(
                503,
                "service_unavailable",
                "Notion is unavailable, please try again later.",
            ),
            504 => Self::new(504, "gateway_timeout", "Gateway Timeout"),
            _ => Self::new(500, "internal_server_error", "Unexpected error occurred."),
        }
    }

    /// 503 after a create that WAS saved: the new object's id is in
    /// `additional_data.committed_resource_id`.
    pub fn committed_create(resource_id: &str) -> Self {
        let mut error = Self::new(
            503,
            "service_unavailable",
            "The change was saved, but the response could not be built in time. Read the object again instead of repeating the write.",
        );
        error.additional_data = Some(json!({
            "from": "publicApi.pageObjectPointerToPageObject.beforePreload",
            "elapsed_ms": "55012",
            "deadline_ms": "55000",
            "retry_guidance": [
                "Read the object again to confirm the saved change.",
                "Do not repeat the write."
            ],
            "committed_resource_id": resource_id,
        }));
        error
    }

    /// The JSON body, with the given request id.
    pub fn to_json(&self, request_id: &str) -> Value {
        let mut body = json!({
            "object": "error",
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "request_id": request_id,
        });
        if let (Some(extra), Some(map)) = (&self.additional_data, body.as_object_mut()) {
            map.insert("additional_data".into(), extra.clone());
        }
        body
    }
}

/// Renders a JSON value the way Notion's validator quotes it in messages: in backticks.
pub fn quoted(value: Option<&Value>) -> String {
    match value {
        None => "`undefined`".to_string(),
        Some(v) => format!("`{}`", serde_json::to_string(v).unwrap_or_default()),
    }
}
