//! [`ApiError`]: every way a PostHog or Notion call can fail, worded for the person running kodo.
//!
//! Invariants: no message ever contains a token, an `Authorization` header or any other
//! request header; service messages are passed through [`crate::secret::redact`] before they
//! are stored. Errors that come after retries say how many attempts were made and how long they
//! took ("request failed after 3 attempts in 4.2s").

use std::fmt;
use std::time::Duration;

use crate::notion::DataSourceRef;

/// Which service an error (or a request) concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// The Notion REST API (`/v1/...`).
    Notion,
    /// The PostHog private REST API (`/api/...`).
    PostHog,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Notion => "Notion",
            Service::PostHog => "PostHog",
        })
    }
}

/// Shorthand for this crate's results.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// A failed PostHog or Notion call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The credential was rejected (HTTP 401, and 403 for PostHog).
    #[error("{service} rejected the credentials: {hint}")]
    Unauthorized {
        /// The service.
        service: Service,
        /// What to do: names the environment variable holding the credential.
        hint: String,
    },

    /// The credential is valid but lacks a permission or capability (Notion 403).
    #[error("{service} refused access: {message} {hint}")]
    Forbidden {
        /// The service.
        service: Service,
        /// The service's own message.
        message: String,
        /// What to do.
        hint: String,
    },

    /// The object does not exist or is not visible to the credential.
    #[error("{service} {what} {id} was not found. {hint}")]
    NotFound {
        /// The service.
        service: Service,
        /// What was looked for ("data source", "page", "PostHog project", ...).
        what: String,
        /// The id that was looked for.
        id: String,
        /// Why that may be and what to do.
        hint: String,
    },

    /// The service rejected the request as invalid (HTTP 400); `message` is its own wording.
    #[error("{service} rejected {request}: {message}")]
    Validation {
        /// The service.
        service: Service,
        /// Method and path, e.g. `POST /v1/pages`.
        request: String,
        /// The service's own message.
        message: String,
    },

    /// A write kept colliding with concurrent writes (Notion 409 `conflict_error`).
    #[error("{service} reported a conflict on {request}: {message} ({})", tries(*.attempts, *.elapsed))]
    Conflict {
        /// The service.
        service: Service,
        /// Method and path.
        request: String,
        /// The service's own message.
        message: String,
        /// How many times the write was sent.
        attempts: u32,
        /// Time spent in total.
        elapsed: Duration,
    },

    /// Still rate limited (HTTP 429, Notion 529) when the attempts ran out.
    #[error("{service} kept rate-limiting {request} ({})", tries(*.attempts, *.elapsed))]
    RateLimited {
        /// The service.
        service: Service,
        /// Method and path.
        request: String,
        /// How many times the request was sent.
        attempts: u32,
        /// Time spent in total.
        elapsed: Duration,
    },

    /// The service failed (5xx, or an unexpected status).
    #[error("{service} answered {status}{} to {request}: {message} ({})", code_suffix(.code), tries(*.attempts, *.elapsed))]
    Server {
        /// The service.
        service: Service,
        /// Method and path.
        request: String,
        /// HTTP status.
        status: u16,
        /// The service's error code, when it sent one (`service_unavailable`, ...).
        code: Option<String>,
        /// The service's own message.
        message: String,
        /// How many times the request was sent.
        attempts: u32,
        /// Time spent in total.
        elapsed: Duration,
    },

    /// The connection failed or timed out.
    #[error("could not reach {service} for {request}: {message} ({})", tries(*.attempts, *.elapsed))]
    Network {
        /// The service.
        service: Service,
        /// Method and path.
        request: String,
        /// What went wrong (never includes headers or tokens).
        message: String,
        /// How many times the request was sent.
        attempts: u32,
        /// Time spent in total.
        elapsed: Duration,
    },

    /// A write was sent, the answer was lost, and whether it took effect could not be settled.
    #[error("{service}: {what} may or may not have been saved ({detail}); check {service}, then re-run (the operation is safe to repeat)")]
    AmbiguousWrite {
        /// The service.
        service: Service,
        /// What was being written ("create database \"Events\"").
        what: String,
        /// What was observed.
        detail: String,
    },

    /// A base URL would send credentials over plain http to a non-loopback host.
    #[error("refusing to use {url} for {what}: tokens are only sent over https (plain http is allowed only to 127.0.0.1, ::1 or localhost)")]
    InsecureUrl {
        /// The setting it came from ("notion.baseUrl").
        what: String,
        /// The URL, without any user name or password.
        url: String,
    },

    /// A configured URL cannot be used at all.
    #[error("{what} is not a usable URL ({url}): {reason}")]
    InvalidUrl {
        /// The setting it came from.
        what: String,
        /// The URL as given (credentials removed).
        url: String,
        /// Why.
        reason: String,
    },

    /// The service answered something kodo could not read or follow.
    #[error("could not understand {service}'s answer to {what}: {message}")]
    Decode {
        /// The service.
        service: Service,
        /// The request or document concerned.
        what: String,
        /// What was wrong with it.
        message: String,
    },

    /// A Notion database id was given where one data source is needed, and the database has
    /// several data sources (or none).
    #[error("Notion database {database_id} {}; configure the data-source id instead (Database settings → Manage data sources → Copy data source ID)", describe_sources(.data_sources))]
    DataSourceChoice {
        /// The database id that was configured.
        database_id: String,
        /// Its data sources.
        data_sources: Vec<DataSourceRef>,
    },

    /// A Notion query reached the per-query row limit and could not be continued, because more
    /// rows than the limit share one `created_time` minute.
    #[error("Notion data source {data_source_id} has more rows than one query can return that were created in the same minute ({created_time}); kodo cannot page past them")]
    QueryLimit {
        /// The data source queried.
        data_source_id: String,
        /// The `created_time` the continuation got stuck at.
        created_time: String,
    },
}

impl ApiError {
    /// Whether this is a "not found" answer.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::NotFound { .. })
    }

    /// The HTTP status the service answered with, when the error came from one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Unauthorized { .. } => Some(401),
            ApiError::Forbidden { .. } => Some(403),
            ApiError::NotFound { .. } => Some(404),
            ApiError::Validation { .. } => Some(400),
            ApiError::Conflict { .. } => Some(409),
            ApiError::RateLimited { .. } => Some(429),
            ApiError::Server { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// "request failed after 3 attempts in 4.2s"
fn tries(attempts: u32, elapsed: Duration) -> String {
    let noun = if attempts == 1 { "attempt" } else { "attempts" };
    format!(
        "request failed after {attempts} {noun} in {:.1}s",
        elapsed.as_secs_f64()
    )
}

fn code_suffix(code: &Option<String>) -> String {
    match code {
        Some(c) if !c.is_empty() => format!(" {c}"),
        _ => String::new(),
    }
}

fn describe_sources(sources: &[DataSourceRef]) -> String {
    if sources.is_empty() {
        return "has no data sources".to_owned();
    }
    let list: Vec<String> = sources
        .iter()
        .map(|s| format!("\"{}\" ({})", s.name, s.id))
        .collect();
    format!("has {} data sources: {}", sources.len(), list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_errors_state_attempts_and_elapsed_time() {
        let e = ApiError::Server {
            service: Service::Notion,
            request: "GET /v1/pages/abc".into(),
            status: 503,
            code: Some("service_unavailable".into()),
            message: "Notion is unavailable, please try again later.".into(),
            attempts: 3,
            elapsed: Duration::from_millis(4_200),
        };
        assert_eq!(
            e.to_string(),
            "Notion answered 503 service_unavailable to GET /v1/pages/abc: Notion is unavailable, \
             please try again later. (request failed after 3 attempts in 4.2s)"
        );
        let e = ApiError::Network {
            service: Service::PostHog,
            request: "GET /api/projects/1/dashboards/".into(),
            message: "connection refused".into(),
            attempts: 1,
            elapsed: Duration::from_millis(50),
        };
        assert!(
            e.to_string()
                .ends_with("(request failed after 1 attempt in 0.1s)"),
            "{e}"
        );
    }

    #[test]
    fn data_source_choice_lists_every_candidate() {
        let e = ApiError::DataSourceChoice {
            database_id: "db1".into(),
            data_sources: vec![
                DataSourceRef {
                    id: "ds1".into(),
                    name: "Events".into(),
                },
                DataSourceRef {
                    id: "ds2".into(),
                    name: "Archive".into(),
                },
            ],
        };
        let text = e.to_string();
        assert!(text.contains("\"Events\" (ds1)"), "{text}");
        assert!(text.contains("\"Archive\" (ds2)"), "{text}");
        assert!(text.contains("data-source id"), "{text}");
    }
}
