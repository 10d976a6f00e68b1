//! The HTTP server: one loopback listener for Notion (`/v1/…`), PostHog (`/api/…`) and
//! the admin API (`/__admin/…`), with authentication, rate limits, fault injection and
//! the request log applied in front of the handlers.
//!
//! Invariants:
//! - connections are served by hyper directly (not `axum::serve`), so that a "drop after
//!   commit" fault can close a connection after the write without sending any response;
//! - the request log records method, path, (redacted) query, status and service only:
//!   never a header, so tokens cannot leak into it;
//! - `/__admin` requests are answered only to loopback peers and are never rate limited,
//!   faulted or logged.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinSet;

use crate::faults::{FaultDraw, FaultEngine};
use crate::limits::{SlidingWindow, WindowBudget};
use crate::notion::{self, NotionError, NotionStore};
use crate::options::Options;
use crate::posthog::{PosthogError, PosthogStore, RequestUrl};
use crate::scenario::Scenario;
use crate::{admin, ids};

/// Largest request body read (bytes).
const MAX_BODY: usize = 5 * 1024 * 1024;
/// Notion's payload limit.
const NOTION_MAX_BODY: usize = 500 * 1024;
/// The only Notion-Version the sandbox speaks.
pub const NOTION_VERSION: &str = "2025-09-03";

/// One request log entry.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub method: String,
    pub path: String,
    pub query: String,
    /// `None` when the connection was dropped without an answer.
    pub status: Option<u16>,
    pub write: bool,
    pub service: &'static str,
    /// The injected fault, if any: `429`, `5xx`, `commit503` or `drop`.
    pub fault: Option<&'static str>,
}

/// Everything the handlers share.
pub struct Shared {
    pub notion: Mutex<NotionStore>,
    pub posthog: Mutex<PosthogStore>,
    pub notion_budget: Mutex<WindowBudget>,
    /// The per-workspace limit; `None` = not enforced.
    pub notion_workspace: Mutex<Option<WindowBudget>>,
    /// Set by the admin API: every Notion request is answered 429 `public_api_request_blocked`.
    pub notion_blocked: Mutex<bool>,
    /// Set by the admin API: the workspace is past the Free block limit, so writes that create
    /// blocks (pages, databases) are refused with 403.
    pub notion_block_limit: Mutex<bool>,
    pub posthog_burst: Mutex<SlidingWindow>,
    pub posthog_sustained: Mutex<SlidingWindow>,
    pub faults: Mutex<FaultEngine>,
    pub log: Mutex<Vec<LogEntry>>,
    seed: u64,
    request_counter: AtomicU64,
}

/// Locks a mutex, recovering the data if a handler panicked while holding it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn new(scenario: &Scenario, options: &Options) -> io::Result<Shared> {
        let (mut notion, mut posthog) = scenario
            .build(options.seed, options.query_row_cap)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        posthog.list_shift = options.posthog_list_shift;
        notion.query_incomplete_only_page = options.query_incomplete_only_page;
        Ok(Shared {
            notion: Mutex::new(notion),
            posthog: Mutex::new(posthog),
            notion_budget: Mutex::new(WindowBudget::new(
                options.notion_budget,
                options.notion_window,
            )),
            notion_workspace: Mutex::new((options.notion_workspace_budget > 0).then(|| {
                WindowBudget::new(
                    options.notion_workspace_budget,
                    options.notion_workspace_window,
                )
            })),
            notion_blocked: Mutex::new(false),
            notion_block_limit: Mutex::new(false),
            // PostHog's BurstRateThrottle and SustainedRateThrottle.
            posthog_burst: Mutex::new(SlidingWindow::new(
                options.posthog_per_minute as usize,
                Duration::from_secs(60),
            )),
            posthog_sustained: Mutex::new(SlidingWindow::new(
                options.posthog_per_hour as usize,
                Duration::from_secs(3600),
            )),
            faults: Mutex::new(FaultEngine::new(options.faults.clone(), options.seed)),
            log: Mutex::new(Vec::new()),
            seed: options.seed,
            request_counter: AtomicU64::new(0),
        })
    }

    fn request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        ids::stable_uuid(&format!("request/{}/{n}", self.seed))
    }

    fn record(&self, entry: LogEntry) {
        lock(&self.log).push(entry);
    }
}

/// What to do with a request.
enum Outcome {
    Respond(Response<Body>),
    /// Close the connection without answering.
    Drop,
}

/// A JSON response.
pub fn json_response(status: u16, body: &Value) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    let mut response = Response::new(Body::from(text));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn text_response(status: u16, content_type: &'static str, text: String) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    response
}

fn set_header(response: &mut Response<Body>, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// Decodes `a=1&b=x%20y` into pairs (`+` is a space).
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

fn decode_component(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (
                    bytes.get(i + 1).and_then(|b| hex(*b)),
                    bytes.get(i + 2).and_then(|b| hex(*b)),
                ) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query string with secret-looking parameters masked.
fn redact_query(raw: &str) -> String {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            let lowered = decode_component(key).to_ascii_lowercase();
            if ["key", "token", "secret", "auth", "password"]
                .iter()
                .any(|s| lowered.contains(s))
            {
                format!("{key}=[redacted]")
            } else {
                pair.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn read_body(body: Incoming) -> Result<Vec<u8>, ()> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(_) => Err(()),
    }
}

async fn dispatch(shared: Arc<Shared>, request: Request<Incoming>, peer: SocketAddr) -> Outcome {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(()) => {
            return Outcome::Respond(text_response(
                413,
                "text/plain; charset=utf-8",
                "Request body too large".into(),
            ))
        }
    };
    if let Some(rest) = path.strip_prefix("/__admin") {
        if !peer.ip().is_loopback() {
            return Outcome::Respond(text_response(
                403,
                "text/plain; charset=utf-8",
                "Forbidden".into(),
            ));
        }
        let (status, value) =
            admin::handle(&shared, &method, rest, &parse_query(&raw_query), &body);
        return Outcome::Respond(json_response(status, &value));
    }
    if let Some(rest) = path.strip_prefix("/v1/") {
        let headers = NotionHeaders {
            authorization: header("authorization"),
            version: header("notion-version"),
        };
        return notion_request(&shared, &method, &path, rest, &raw_query, &headers, &body).await;
    }
    if let Some(rest) = path.strip_prefix("/api/") {
        let origin = match header("host") {
            Some(host) => format!("http://{host}"),
            None => format!(
                "http://{}",
                parts
                    .uri
                    .authority()
                    .map(|a| a.as_str())
                    .unwrap_or("127.0.0.1")
            ),
        };
        let headers = PosthogHeaders {
            authorization: header("authorization"),
            content_type: header("content-type"),
            origin,
        };
        return posthog_request(&shared, &method, &path, rest, &raw_query, &headers, &body).await;
    }
    Outcome::Respond(text_response(
        404,
        "text/plain; charset=utf-8",
        "Not Found".into(),
    ))
}

struct NotionHeaders {
    authorization: Option<String>,
    version: Option<String>,
}

fn notion_error(error: &NotionError, request_id: &str) -> Response<Body> {
    let mut response = json_response(error.status, &error.to_json(request_id));
    set_header(&mut response, "x-notion-request-id", request_id);
    response
}

#[allow(clippy::too_many_arguments)]
async fn notion_request(
    shared: &Shared,
    method: &str,
    path: &str,
    rest: &str,
    raw_query: &str,
    headers: &NotionHeaders,
    body: &[u8],
) -> Outcome {
    let segments: Vec<&str> = rest.split('/').collect();
    let write = notion::api::is_write(method, &segments);
    let request_id = shared.request_id();
    let draw: FaultDraw = lock(&shared.faults).draw();
    if !draw.latency.is_zero() {
        tokio::time::sleep(draw.latency).await;
    }
    let log = |status: Option<u16>, fault: Option<&'static str>| {
        shared.record(LogEntry {
            method: method.to_string(),
            path: path.to_string(),
            query: redact_query(raw_query),
            status,
            write,
            service: "notion",
            fault,
        });
    };
    let fail = |error: NotionError, fault: Option<&'static str>| {
        log(Some(error.status), fault);
        let mut response = notion_error(&error, &request_id);
        // "Whenever a response includes Retry-After, the body repeats the wait as
        // additional_data.retry_after" (developers.notion.com/reference/request-limits).
        if let Some(wait) = error
            .additional_data
            .as_ref()
            .and_then(|d| d["retry_after"].as_str())
        {
            set_header(&mut response, "retry-after", wait);
        }
        Outcome::Respond(response)
    };
    let token = lock(&shared.notion).token.clone();
    let authorized = headers
        .authorization
        .as_deref()
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|t| token.matches(t));
    if !authorized {
        return fail(NotionError::unauthorized(), None);
    }
    match headers.version.as_deref() {
        None => return fail(NotionError::missing_version(), None),
        Some(NOTION_VERSION) => {}
        Some(other) => {
            return fail(
                NotionError::validation(format!(
                    "Notion-Version header failed validation: the kodo sandbox serves `{NOTION_VERSION}` only, instead was `{other}`."
                )),
                None,
            )
        }
    }
    if *lock(&shared.notion_blocked) {
        return fail(NotionError::request_blocked(), None);
    }
    // "Create a page: Fails. The page itself is a block. … Create a database: Fails."
    // (developers.notion.com/reference/workspace-block-limits); reads and edits still work.
    // "Append block children: Fails." (same page).
    let creates_blocks = (method == "POST"
        && matches!(segments.as_slice(), ["pages"] | ["databases"]))
        || (method == "PATCH" && matches!(segments.as_slice(), ["blocks", _, "children"]));
    if creates_blocks && *lock(&shared.notion_block_limit) {
        return fail(NotionError::block_limit(), None);
    }
    let now = Instant::now();
    if let Err(wait) = lock(&shared.notion_budget).try_take(now) {
        return fail(NotionError::rate_limited(wait), None);
    }
    if let Some(workspace) = lock(&shared.notion_workspace).as_mut() {
        if let Err(wait) = workspace.try_take(now) {
            // A refused request spends nothing.
            lock(&shared.notion_budget).refund();
            return fail(NotionError::space_rate_limited(wait), None);
        }
    }
    if draw.throttle {
        return fail(NotionError::rate_limited(1), Some("429"));
    }
    if let Some(status) = draw.server_error {
        return fail(NotionError::server(status), Some("5xx"));
    }
    if body.len() > NOTION_MAX_BODY {
        return fail(
            NotionError::validation(format!(
                "Request body too large: {} bytes is over the 500KB limit.",
                body.len()
            )),
            None,
        );
    }
    let query = parse_query(raw_query);
    let result = {
        let mut store = lock(&shared.notion);
        let actor = notion::Actor {
            user_id: store.bot.id.clone(),
        };
        notion::api::handle(&mut store, &actor, method, &segments, &query, body)
    };
    match result {
        Err(error) => fail(error, None),
        Ok(ok) => {
            if ok.wrote && draw.commit_then_503 {
                if let Some(created) = &ok.created_id {
                    // Saved already (reads see it), answered only once the deadline passed.
                    let delay = lock(&shared.faults).config().commit503_delay_ms;
                    if delay > 0 {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                    }
                    return fail(NotionError::committed_create(created), Some("commit503"));
                }
            }
            if ok.wrote && draw.drop_after_commit {
                log(None, Some("drop"));
                return Outcome::Drop;
            }
            log(Some(200), None);
            let mut body = ok.body;
            if let Some(map) = body.as_object_mut() {
                map.insert("request_id".into(), Value::String(request_id.clone()));
            }
            let mut response = json_response(200, &body);
            set_header(&mut response, "x-notion-request-id", &request_id);
            Outcome::Respond(response)
        }
    }
}

struct PosthogHeaders {
    authorization: Option<String>,
    content_type: Option<String>,
    origin: String,
}

fn posthog_server_error(status: u16) -> Response<Body> {
    match status {
        500 => json_response(500, &PosthogError::server_error().to_json()),
        other => {
            let reason = match other {
                502 => "502 Bad Gateway",
                503 => "503 Service Temporarily Unavailable",
                _ => "504 Gateway Time-out",
            };
            text_response(
                other,
                "text/html",
                format!(
                    "<html>\r\n<head><title>{reason}</title></head>\r\n<body>\r\n<center><h1>{reason}</h1></center>\r\n</body>\r\n</html>\r\n"
                ),
            )
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn posthog_request(
    shared: &Shared,
    method: &str,
    path: &str,
    rest: &str,
    raw_query: &str,
    headers: &PosthogHeaders,
    body: &[u8],
) -> Outcome {
    // PostHog's router makes the trailing slash optional.
    let mut segments: Vec<&str> = rest.split('/').collect();
    if segments.last() == Some(&"") {
        segments.pop();
    }
    let write = !matches!(method, "GET" | "HEAD" | "OPTIONS");
    let draw: FaultDraw = lock(&shared.faults).draw();
    if !draw.latency.is_zero() {
        tokio::time::sleep(draw.latency).await;
    }
    let log = |status: u16, fault: Option<&'static str>| {
        shared.record(LogEntry {
            method: method.to_string(),
            path: path.to_string(),
            query: redact_query(raw_query),
            status: Some(status),
            write,
            service: "posthog",
            fault,
        });
    };
    let fail = |error: PosthogError, fault: Option<&'static str>, retry_after: Option<u64>| {
        log(error.status, fault);
        let mut response = json_response(error.status, &error.to_json());
        if let Some(wait) = retry_after {
            set_header(&mut response, "retry-after", &wait.to_string());
        }
        Outcome::Respond(response)
    };
    let key = lock(&shared.posthog).key.clone();
    match headers.authorization.as_deref() {
        None => return fail(PosthogError::not_authenticated(), None, None),
        Some(value) => {
            let given = value.strip_prefix("Bearer ").map(str::trim);
            if !given.is_some_and(|g| key.matches(g)) {
                return fail(PosthogError::authentication_failed(), None, None);
            }
        }
    }
    let now = Instant::now();
    {
        let mut burst = lock(&shared.posthog_burst);
        let mut sustained = lock(&shared.posthog_sustained);
        let verdict = burst.check(now).and_then(|()| sustained.check(now));
        match verdict {
            Err(wait) => {
                drop((burst, sustained));
                return fail(PosthogError::throttled(wait), None, Some(wait));
            }
            Ok(()) => {
                burst.record(now);
                sustained.record(now);
            }
        }
    }
    if draw.throttle {
        return fail(PosthogError::throttled(1), Some("429"), Some(1));
    }
    if let Some(status) = draw.server_error {
        log(status, Some("5xx"));
        return Outcome::Respond(posthog_server_error(status));
    }
    let url = RequestUrl {
        origin: headers.origin.clone(),
        path: path.to_string(),
        query: parse_query(raw_query),
    };
    let result = lock(&shared.posthog).handle(
        method,
        &segments,
        &url,
        body,
        headers.content_type.as_deref(),
    );
    match result {
        Err(error) => fail(error, None, None),
        Ok(ok) => {
            log(ok.status, None);
            match ok.body {
                Some(body) => Outcome::Respond(json_response(ok.status, &body)),
                None => {
                    let mut response = Response::new(Body::empty());
                    *response.status_mut() =
                        StatusCode::from_u16(ok.status).unwrap_or(StatusCode::NO_CONTENT);
                    Outcome::Respond(response)
                }
            }
        }
    }
}

async fn serve_connection(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let kill = Arc::new(Notify::new());
    let kill_signal = kill.clone();
    let service = service_fn(move |request: Request<Incoming>| {
        let shared = shared.clone();
        let kill = kill_signal.clone();
        async move {
            match dispatch(shared, request, peer).await {
                Outcome::Respond(response) => Ok::<_, Infallible>(response),
                Outcome::Drop => {
                    kill.notify_one();
                    std::future::pending::<Result<Response<Body>, Infallible>>().await
                }
            }
        }
    });
    let connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        // Dropping the connection future closes the socket without an answer.
        _ = kill.notified() => {}
    }
}

/// A running sandbox.
pub struct Sandbox {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl Sandbox {
    /// Starts a sandbox on `127.0.0.1` with an OS-assigned port.
    pub async fn start(scenario: Scenario, options: Options) -> io::Result<Sandbox> {
        Self::start_on(scenario, options, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a sandbox on the given address.
    pub async fn start_on(
        scenario: Scenario,
        options: Options,
        addr: SocketAddr,
    ) -> io::Result<Sandbox> {
        let shared = Arc::new(Shared::new(&scenario, &options)?);
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = oneshot::channel::<()>();
        let loop_shared = shared.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                while connections.try_join_next().is_some() {}
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        if let Ok((stream, peer)) = accepted {
                            let _ = stream.set_nodelay(true);
                            connections.spawn(serve_connection(stream, peer, loop_shared.clone()));
                        }
                    }
                }
            }
            connections.abort_all();
            while connections.join_next().await.is_some() {}
        });
        Ok(Sandbox {
            addr,
            stop: Some(stop),
            task: Some(task),
            shared,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (for in-process inspection).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops accepting, closes open connections and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode() {
        assert_eq!(
            parse_query("a=1&b=x%20y+z&filter_properties=%253AUPp&empty"),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "x y z".to_string()),
                ("filter_properties".to_string(), "%3AUPp".to_string()),
                ("empty".to_string(), String::new()),
            ]
        );
        assert_eq!(parse_query("bad=%zz%"), vec![("bad".into(), "%zz%".into())]);
    }

    #[test]
    fn secrets_in_query_strings_are_redacted() {
        assert_eq!(
            redact_query("limit=10&personal_api_key=phx_secret&search=x"),
            "limit=10&personal_api_key=[redacted]&search=x"
        );
    }
}
