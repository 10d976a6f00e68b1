//! The HTTP machinery shared by both clients: base-URL checks, the shared token-bucket
//! [`RateLimiter`], the retry policy, request counters and the one request loop
//! ([`Transport::execute`]) that both clients go through.
//!
//! Invariants:
//! - Every request first takes a token from the client's one [`RateLimiter`]; a 429 (and a
//!   Notion 529) pauses that limiter, so every concurrent caller waits, not just the one that
//!   was throttled.
//! - 429/529 are retried for every method (the service did not process the request), honouring
//!   `Retry-After`. 5xx answers and lost connections are retried only for reads; for writes
//!   they come back to the caller, which decides how to settle the unknown outcome. A failure to
//!   connect at all (nothing was sent) is retried for writes too.
//! - At most `max_attempts` sends per call. `KODO_TEST_NO_RETRY_DELAY=1` caps every retry wait
//!   at 10 ms; the limiter's pacing still applies.
//! - The credential travels only in a header marked sensitive; log lines and errors carry the
//!   method and path only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Method, Url};
use serde_json::Value;
use tokio::time::Instant;

use crate::error::{ApiError, Service};
use crate::secret::{redact, Secret};

/// Environment variable that, when set to `1`, caps every retry wait at
/// [`TEST_RETRY_DELAY_CAP`] (10 ms) so test suites do not sleep through backoffs and
/// `Retry-After` pauses. The rate limiter's pacing still applies.
pub const NO_RETRY_DELAY_ENV: &str = "KODO_TEST_NO_RETRY_DELAY";

/// The longest retry wait when [`NO_RETRY_DELAY_ENV`] is set.
pub const TEST_RETRY_DELAY_CAP: Duration = Duration::from_millis(10);

/// Default sustained request rate for Notion (its documented average of 3 requests/second).
pub const DEFAULT_RATE_PER_SEC: f64 = 3.0;
/// Default burst for Notion.
pub const DEFAULT_BURST: u32 = 3;
/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of sends per call (the first one included).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 6;

/// The longest `Retry-After` honoured; longer values (or absurd ones) are cut to this. An
/// hour: PostHog's sustained throttle is a one-hour window (posthog/rate_limit.py).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

const BACKOFF_BASE: Duration = Duration::from_secs(1);
const BACKOFF_CAP: Duration = Duration::from_secs(30);
const JITTER_MAX_MS: u64 = 250;

/// Receives one line per request, per retry and per wait. Never receives a credential.
pub type Logger = Arc<dyn Fn(&str) + Send + Sync>;

/// Checks a configured base URL before any credential is sent to it.
///
/// `https` is always accepted; plain `http` only to loopback hosts (127.0.0.0/8, `::1`,
/// `localhost`), which is how the local emulator is reached. `what` names the setting
/// (e.g. `"notion.baseUrl"`) so the error can point at it.
pub fn check_base_url(url: &str, what: &str) -> Result<Url, ApiError> {
    let given = url.trim();
    let mut parsed = Url::parse(given).map_err(|e| ApiError::InvalidUrl {
        what: what.to_owned(),
        url: hide_userinfo(given),
        reason: e.to_string(),
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ApiError::InvalidUrl {
            what: what.to_owned(),
            url: hide_userinfo(given),
            reason: "a user name or password in the URL is not supported (the token is sent in a header)"
                .to_owned(),
        });
    }
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&parsed) => {}
        "http" => {
            return Err(ApiError::InsecureUrl {
                what: what.to_owned(),
                url: parsed.to_string(),
            })
        }
        other => {
            return Err(ApiError::InvalidUrl {
                what: what.to_owned(),
                url: parsed.to_string(),
                reason: format!("the scheme must be https, not {other}"),
            })
        }
    }
    if parsed.host().is_none() {
        return Err(ApiError::InvalidUrl {
            what: what.to_owned(),
            url: parsed.to_string(),
            reason: "it has no host".to_owned(),
        });
    }
    parsed.set_query(None);
    parsed.set_fragment(None);
    Ok(parsed)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.eq_ignore_ascii_case("localhost.")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Replaces a `user:password@` part of an unparsed URL with `***@`.
fn hide_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end + 3], &rest[at..]),
        None => url.to_owned(),
    }
}

/// Makes `base` usable with [`Url::join`] for the given API prefix: keeps any path prefix the
/// user configured (a proxy), drops a trailing API prefix they may have pasted (`/v1`, `/api`)
/// and ends the path with `/`.
pub(crate) fn normalize_base(mut base: Url, api_prefix: &str) -> Url {
    let mut path = base.path().trim_end_matches('/').to_owned();
    if let Some(stripped) = path.strip_suffix(api_prefix) {
        path = stripped.to_owned();
    }
    path.push('/');
    base.set_path(&path);
    base
}

/// Parses a `Retry-After` value: whole (or fractional) seconds, or an HTTP-date. The result
/// is at most [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    if let Ok(secs) = v.parse::<f64>() {
        return seconds(secs);
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// Non-negative finite seconds as a wait, at most [`MAX_RETRY_AFTER`].
fn seconds(secs: f64) -> Option<Duration> {
    if !(secs.is_finite() && secs >= 0.0) {
        return None;
    }
    Some(
        Duration::try_from_secs_f64(secs)
            .unwrap_or(MAX_RETRY_AFTER)
            .min(MAX_RETRY_AFTER),
    )
}

const MIN_RATE_PER_SEC: f64 = 0.001;
const MAX_RATE_PER_SEC: f64 = 1_000_000.0;

/// A token bucket shared by all concurrent work on one client.
///
/// `acquire` hands out at most `burst` requests at once and `rate_per_sec` on average.
/// [`RateLimiter::pause_for`] (called when a 429 arrives) blocks every caller until the pause
/// ends, after which the bucket restarts with one token.
#[derive(Debug)]
pub struct RateLimiter {
    rate_per_sec: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
    paused_until: Option<Instant>,
    /// Sliding windows (`limit` requests in any `span`), as DRF's SimpleRateThrottle counts.
    windows: Vec<Window>,
}

#[derive(Debug)]
struct Window {
    limit: usize,
    span: Duration,
    sent: std::collections::VecDeque<Instant>,
}

impl Window {
    /// How long until one more request fits (zero when it fits now).
    fn wait(&mut self, now: Instant) -> Duration {
        while self
            .sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.span)
        {
            self.sent.pop_front();
        }
        if self.sent.len() < self.limit {
            return Duration::ZERO;
        }
        self.sent
            .front()
            .map(|oldest| (*oldest + self.span).saturating_duration_since(now))
            .unwrap_or(Duration::ZERO)
    }
}

impl RateLimiter {
    /// A limiter allowing `rate_per_sec` requests per second on average and `burst` at once.
    /// A non-positive or non-finite rate falls back to [`DEFAULT_RATE_PER_SEC`]; burst is at
    /// least 1.
    pub fn new(rate_per_sec: f64, burst: u32) -> Self {
        let rate_per_sec = if rate_per_sec.is_finite() && rate_per_sec > 0.0 {
            rate_per_sec.clamp(MIN_RATE_PER_SEC, MAX_RATE_PER_SEC)
        } else {
            DEFAULT_RATE_PER_SEC
        };
        let burst = f64::from(burst.max(1));
        RateLimiter {
            rate_per_sec,
            burst,
            state: Mutex::new(Bucket {
                tokens: burst,
                updated: Instant::now(),
                paused_until: None,
                windows: Vec::new(),
            }),
        }
    }

    /// [`RateLimiter::new`], plus sliding windows: at most `limit` requests in any `span`
    /// (PostHog's BurstRateThrottle 480/minute and SustainedRateThrottle 4,800/hour), so a
    /// long run waits for its budget instead of running into 429s.
    pub fn with_windows(rate_per_sec: f64, burst: u32, windows: &[(u32, Duration)]) -> Self {
        let limiter = RateLimiter::new(rate_per_sec, burst);
        limiter.bucket().windows = windows
            .iter()
            .filter(|(limit, span)| *limit > 0 && !span.is_zero())
            .map(|&(limit, span)| Window {
                limit: limit as usize,
                span,
                sent: std::collections::VecDeque::new(),
            })
            .collect();
        limiter
    }

    fn bucket(&self) -> std::sync::MutexGuard<'_, Bucket> {
        // No code panics while holding the lock, so a poisoned lock still holds a sound bucket.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until a request may be sent.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut b = self.bucket();
                let now = Instant::now();
                match b.paused_until {
                    Some(until) if until > now => until - now,
                    _ => {
                        b.paused_until = None;
                        let elapsed = now.saturating_duration_since(b.updated).as_secs_f64();
                        b.tokens = (b.tokens + elapsed * self.rate_per_sec).min(self.burst);
                        b.updated = now;
                        let window_wait = b
                            .windows
                            .iter_mut()
                            .map(|w| w.wait(now))
                            .max()
                            .unwrap_or(Duration::ZERO);
                        if b.tokens >= 1.0 && window_wait.is_zero() {
                            b.tokens -= 1.0;
                            for w in &mut b.windows {
                                w.sent.push_back(now);
                            }
                            return;
                        }
                        Duration::try_from_secs_f64((1.0 - b.tokens).max(0.0) / self.rate_per_sec)
                            .unwrap_or(Duration::from_secs(1))
                            .max(window_wait)
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Blocks every caller of [`RateLimiter::acquire`] for `wait` (extending, never shortening,
    /// a pause already in force).
    pub fn pause_for(&self, wait: Duration) {
        let mut b = self.bucket();
        let until = Instant::now() + wait;
        let until = match b.paused_until {
            Some(existing) if existing > until => existing,
            _ => until,
        };
        b.paused_until = Some(until);
        b.tokens = b.tokens.min(1.0);
        b.updated = until;
    }

    /// How much of a pause remains (zero when none is in force).
    pub fn paused_for(&self) -> Duration {
        let b = self.bucket();
        b.paused_until
            .map(|u| u.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::ZERO)
    }
}

/// Request counters for one client, so callers can report them and tests can check, for
/// instance, that a re-run made zero writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// Requests sent that only read (GET, Notion query and search POSTs), retries included.
    pub reads: u64,
    /// Requests sent that write (POST/PATCH/DELETE other than reads), retries included.
    pub writes: u64,
    /// Sends that repeated an earlier one (any cause).
    pub retries: u64,
    /// 429 / 529 answers received.
    pub rate_limited: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    reads: AtomicU64,
    writes: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> RequestStats {
        RequestStats {
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
        }
    }
}

/// How many times to send and how long to wait in between.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub(crate) max_attempts: u32,
    /// Upper bound on every retry wait (tests), if any.
    pub(crate) delay_cap: Option<Duration>,
    /// When set, a throttled answer that states its wait (`Retry-After`) does not use up an
    /// attempt: the call waits as told until the stated waits add up to more than this.
    pub(crate) throttle_budget: Option<Duration>,
}

impl RetryPolicy {
    /// `max_attempts` (at least 1), with the wait cap from `explicit_cap` and
    /// [`NO_RETRY_DELAY_ENV`], whichever is smaller.
    pub(crate) fn new(max_attempts: u32, explicit_cap: Option<Duration>) -> Self {
        let env_cap = std::env::var(NO_RETRY_DELAY_ENV)
            .ok()
            .filter(|v| matches!(v.trim(), "1" | "true" | "yes"))
            .map(|_| TEST_RETRY_DELAY_CAP);
        let delay_cap = match (explicit_cap, env_cap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            delay_cap,
            throttle_budget: None,
        }
    }

    /// Lets throttled answers with a stated wait retry beyond `max_attempts`, for as long as
    /// the stated waits add up to at most `budget`.
    pub(crate) fn with_throttle_budget(mut self, budget: Duration) -> Self {
        self.throttle_budget = Some(budget);
        self
    }

    /// Exponential backoff for the `retry`-th retry (1-based): 1 s, 2 s, 4 s … capped at 30 s,
    /// plus up to 250 ms of jitter, then the test cap.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exp = BACKOFF_BASE
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(BACKOFF_CAP);
        let jitter = Duration::from_millis(rand::rng().random_range(0..=JITTER_MAX_MS));
        self.capped((exp + jitter).min(BACKOFF_CAP))
    }

    /// Applies the test cap to a wait.
    pub(crate) fn capped(&self, wait: Duration) -> Duration {
        match self.delay_cap {
            Some(cap) => wait.min(cap),
            None => wait,
        }
    }
}

/// Whether a request only reads (safe to repeat) or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// One logical request.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) body: Option<&'a Value>,
    pub(crate) access: Access,
}

impl Call<'_> {
    /// `GET /v1/users?page_size=100`: what logs and errors show (never headers).
    pub(crate) fn describe(&self) -> String {
        describe(&self.method, &self.url)
    }
}

pub(crate) fn describe(method: &Method, url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{method} {}?{q}", url.path()),
        None => format!("{method} {}", url.path()),
    }
}

/// A 2xx answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) body: Vec<u8>,
}

/// How a call ended without a 2xx answer.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) request: String,
    pub(crate) attempts: u32,
    pub(crate) elapsed: Duration,
    pub(crate) kind: FailureKind,
}

#[derive(Debug)]
pub(crate) enum FailureKind {
    /// The last answer was this non-2xx status.
    Status { status: u16, body: Vec<u8> },
    /// No answer. `sent` is false only when the connection could not be made at all, so the
    /// request certainly never reached the service.
    Network { message: String, sent: bool },
}

impl Failure {
    pub(crate) fn status(&self) -> Option<u16> {
        match self.kind {
            FailureKind::Status { status, .. } => Some(status),
            FailureKind::Network { .. } => None,
        }
    }

    /// The error body as JSON, when there is one.
    pub(crate) fn json(&self) -> Option<Value> {
        match &self.kind {
            FailureKind::Status { body, .. } => serde_json::from_slice(body).ok(),
            FailureKind::Network { .. } => None,
        }
    }

    /// True when the write may or may not have been applied: a 5xx answer or a lost
    /// connection after sending.
    pub(crate) fn outcome_unknown(&self) -> bool {
        match &self.kind {
            FailureKind::Status { status, .. } => *status >= 500 && *status != 529,
            FailureKind::Network { sent, .. } => *sent,
        }
    }
}

/// Settings for a [`Transport`].
pub(crate) struct TransportConfig {
    pub(crate) service: Service,
    pub(crate) base: Url,
    pub(crate) secret: Secret,
    pub(crate) credential_name: String,
    pub(crate) extra_headers: HeaderMap,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) policy: RetryPolicy,
    pub(crate) logger: Option<Logger>,
}

/// One service's HTTP client, limiter, counters and retry loop.
pub(crate) struct Transport {
    pub(crate) service: Service,
    pub(crate) base: Url,
    client: reqwest::Client,
    auth: HeaderValue,
    secret: Secret,
    extra_headers: HeaderMap,
    pub(crate) limiter: Arc<RateLimiter>,
    counters: Counters,
    pub(crate) policy: RetryPolicy,
    logger: Option<Logger>,
    timeout: Duration,
}

impl Transport {
    pub(crate) fn new(cfg: TransportConfig) -> Result<Self, ApiError> {
        if cfg.secret.is_blank() {
            return Err(ApiError::Unauthorized {
                service: cfg.service,
                hint: format!("{} is empty; set it to the credential", cfg.credential_name),
            });
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", cfg.secret.expose().trim()))
            .map_err(|_| ApiError::Unauthorized {
                service: cfg.service,
                hint: format!(
                    "the value of {} contains characters that cannot be sent in an HTTP header \
                     (a stray newline or quote?)",
                    cfg.credential_name
                ),
            })?;
        auth.set_sensitive(true);
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("kodo/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::InvalidUrl {
                what: format!("{} HTTP client", cfg.service),
                url: cfg.base.to_string(),
                reason: error_chain(&e),
            })?;
        Ok(Transport {
            service: cfg.service,
            base: cfg.base,
            client,
            auth,
            secret: cfg.secret,
            extra_headers: cfg.extra_headers,
            limiter: cfg.limiter,
            counters: Counters::default(),
            policy: cfg.policy,
            logger: cfg.logger,
            timeout: cfg.timeout,
        })
    }

    pub(crate) fn stats(&self) -> RequestStats {
        self.counters.snapshot()
    }

    /// Scrubs the credential out of text that came from the service.
    pub(crate) fn redact(&self, text: &str) -> String {
        redact(text, &self.secret)
    }

    pub(crate) fn log(&self, line: &str) {
        if let Some(logger) = &self.logger {
            logger(&self.redact(line));
        }
    }

    /// Records that a caller is about to repeat a send on its own (outside `execute`).
    pub(crate) fn note_retry(&self) {
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Sleeps `wait` (test cap applied), saying why in the log.
    pub(crate) async fn wait(&self, wait: Duration, why: &str) {
        let wait = self.policy.capped(wait);
        self.log(&format!("waiting {:.1}s: {why}", wait.as_secs_f64()));
        tokio::time::sleep(wait).await;
    }

    /// Sends `call`, retrying per the policy in the module doc. A 2xx answer is `Ok`; anything
    /// else (after retries) is a [`Failure`] for the caller to interpret.
    pub(crate) async fn execute(&self, call: Call<'_>) -> Result<Reply, Failure> {
        let request = call.describe();
        let started = Instant::now();
        let max = self.policy.max_attempts;
        let mut attempt: u32 = 0;
        // Throttled sends whose wait the service stated, when they do not count as attempts.
        let mut free_retries: u32 = 0;
        let mut throttle_waited = Duration::ZERO;
        loop {
            attempt += 1;
            self.limiter.acquire().await;
            match call.access {
                Access::Read => self.counters.reads.fetch_add(1, Ordering::Relaxed),
                Access::Write => self.counters.writes.fetch_add(1, Ordering::Relaxed),
            };
            if attempt > 1 {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            let sent_at = Instant::now();
            let outcome = self.send_once(&call).await;
            let ms = sent_at.elapsed().as_millis();
            let fail = |kind| Failure {
                request: request.clone(),
                attempts: attempt,
                elapsed: started.elapsed(),
                kind,
            };
            match outcome {
                Ok((status, retry_after, body)) => {
                    self.log(&format!("{request} -> {status} ({ms} ms)"));
                    if (200..300).contains(&status) {
                        return Ok(Reply { body });
                    }
                    let json: Option<Value> = serde_json::from_slice(&body).ok();
                    let throttled =
                        status == 429 || (self.service == Service::Notion && status == 529);
                    if throttled {
                        self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                        let blocked = json
                            .as_ref()
                            .and_then(|j| j.pointer("/additional_data/rate_limit_reason"))
                            .and_then(Value::as_str)
                            == Some("public_api_request_blocked");
                        let stated =
                            retry_after.or_else(|| json.as_ref().and_then(body_retry_after));
                        // With a throttle budget, a stated wait is honoured while the
                        // stated waits fit the budget, and the call ends once they would not.
                        let (free, over_budget) = match (stated, self.policy.throttle_budget) {
                            (Some(wait), Some(budget)) if throttle_waited + wait <= budget => {
                                throttle_waited += wait;
                                (true, false)
                            }
                            (Some(_), Some(_)) => (false, true),
                            _ => (false, false),
                        };
                        if free {
                            free_retries += 1;
                        }
                        if blocked || over_budget || (!free && attempt - free_retries >= max) {
                            return Err(fail(FailureKind::Status { status, body }));
                        }
                        let wait = stated.unwrap_or_else(|| self.policy.backoff(attempt));
                        let wait = self.policy.capped(wait);
                        self.log(&format!(
                            "{request} rate limited ({status}): pausing all {} requests for {:.1}s (attempt {} of {max} next)",
                            self.service,
                            wait.as_secs_f64(),
                            attempt - free_retries + 1
                        ));
                        self.limiter.pause_for(wait);
                        continue;
                    }
                    if status >= 500 && call.access == Access::Read && attempt - free_retries < max
                    {
                        let wait = retry_after.unwrap_or_else(|| self.policy.backoff(attempt));
                        self.wait(
                            wait,
                            &format!(
                                "retrying {request} after {status} (attempt {} of {max})",
                                attempt + 1
                            ),
                        )
                        .await;
                        continue;
                    }
                    return Err(fail(FailureKind::Status { status, body }));
                }
                Err(NetError { message, sent }) => {
                    self.log(&format!("{request} -> failed: {message} ({ms} ms)"));
                    let retryable = call.access == Access::Read || !sent;
                    if retryable && attempt - free_retries < max {
                        let wait = self.policy.backoff(attempt);
                        self.wait(
                            wait,
                            &format!("retrying {request} (attempt {} of {max})", attempt + 1),
                        )
                        .await;
                        continue;
                    }
                    return Err(fail(FailureKind::Network { message, sent }));
                }
            }
        }
    }

    async fn send_once(
        &self,
        call: &Call<'_>,
    ) -> Result<(u16, Option<Duration>, Vec<u8>), NetError> {
        let mut builder = self
            .client
            .request(call.method.clone(), call.url.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/json")
            .headers(self.extra_headers.clone());
        if let Some(body) = call.body {
            builder = builder.json(body);
        }
        let response = builder.send().await.map_err(|e| self.net_error(e, false))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = response
            .bytes()
            .await
            .map_err(|e| self.net_error(e, true))?;
        Ok((status, retry_after, body.to_vec()))
    }

    fn net_error(&self, e: reqwest::Error, answered: bool) -> NetError {
        let sent = answered || !e.is_connect();
        let message = if e.is_timeout() {
            format!(
                "no complete answer within {:.0}s",
                self.timeout.as_secs_f64()
            )
        } else if e.is_connect() {
            format!("could not connect ({})", error_chain(&e.without_url()))
        } else if answered {
            format!(
                "the connection broke while reading the answer ({})",
                error_chain(&e.without_url())
            )
        } else {
            error_chain(&e.without_url())
        };
        NetError {
            message: self.redact(&message),
            sent,
        }
    }

    /// `base` joined with a relative path, each segment of `segments` percent-encoded.
    pub(crate) fn url(&self, prefix: &str, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut parts) = url.path_segments_mut() {
            parts.pop_if_empty();
            for p in prefix.split('/').filter(|p| !p.is_empty()) {
                parts.push(p);
            }
            for s in segments {
                parts.push(s);
            }
        }
        url
    }
}

struct NetError {
    message: String,
    sent: bool,
}

/// `additional_data.retry_after` (Notion repeats `Retry-After` there, as a string of seconds).
fn body_retry_after(json: &Value) -> Option<Duration> {
    match json.pointer("/additional_data/retry_after")? {
        Value::String(s) => parse_retry_after(s, SystemTime::now()),
        Value::Number(n) => n.as_f64().and_then(seconds),
        _ => None,
    }
}

/// An error and its causes, joined with ": ".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_accepted_and_http_only_to_loopback() {
        assert!(check_base_url("https://api.notion.com", "notion.baseUrl").is_ok());
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.5.6.7",
            "http://[::1]:9/",
            "http://localhost:3000",
        ] {
            assert!(check_base_url(ok, "x").is_ok(), "{ok}");
        }
        let err = check_base_url("http://api.notion.com", "notion.baseUrl").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ApiError::InsecureUrl { .. }));
        assert!(text.contains("http://api.notion.com"), "{text}");
        assert!(text.contains("notion.baseUrl"), "{text}");
        assert!(text.contains("only sent over https"), "{text}");
        // A host merely starting with "localhost" or "127." is not loopback.
        assert!(check_base_url("http://localhost.evil.com", "x").is_err());
        assert!(check_base_url("http://127.0.0.1.nip.io", "x").is_err());
        assert!(check_base_url("ftp://127.0.0.1", "x").is_err());
        assert!(check_base_url("not a url", "x").is_err());
    }

    #[test]
    fn credentials_in_urls_are_refused_and_never_echoed() {
        let err =
            check_base_url("https://user:hunter2@api.notion.com", "notion.baseUrl").unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("user:"), "{text}");
        assert_eq!(hide_userinfo("https://a:b@h/x@y"), "https://***@h/x@y");
    }

    #[test]
    fn base_urls_are_normalized_for_joining() {
        let u = |s| normalize_base(Url::parse(s).unwrap(), "/v1").to_string();
        assert_eq!(u("https://api.notion.com"), "https://api.notion.com/");
        assert_eq!(u("https://api.notion.com/v1/"), "https://api.notion.com/");
        assert_eq!(
            u("https://proxy.example/notion"),
            "https://proxy.example/notion/"
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after("49", now), Some(Duration::from_secs(49)));
        assert_eq!(
            parse_retry_after(" 1.5 ", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after("99999999999999999", now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(parse_retry_after("1e300", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("NaN", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn backoff_grows_exponentially_to_the_cap() {
        let p = RetryPolicy {
            max_attempts: 6,
            delay_cap: None,
            throttle_budget: None,
        };
        let b1 = p.backoff(1);
        assert!(
            b1 >= Duration::from_secs(1) && b1 <= Duration::from_millis(1250),
            "{b1:?}"
        );
        let b3 = p.backoff(3);
        assert!(
            b3 >= Duration::from_secs(4) && b3 <= Duration::from_millis(4250),
            "{b3:?}"
        );
        assert_eq!(p.backoff(10), Duration::from_secs(30));
        let capped = RetryPolicy {
            max_attempts: 6,
            delay_cap: Some(TEST_RETRY_DELAY_CAP),
            throttle_budget: None,
        };
        assert_eq!(capped.backoff(5), TEST_RETRY_DELAY_CAP);
        assert_eq!(capped.capped(Duration::from_secs(49)), TEST_RETRY_DELAY_CAP);
    }

    #[tokio::test(start_paused = true)]
    async fn limiter_paces_to_the_rate_after_the_burst() {
        let limiter = RateLimiter::new(2.0, 3);
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        limiter.acquire().await;
        limiter.acquire().await;
        // Two more at 2/s: one every 500 ms.
        assert!(
            start.elapsed() >= Duration::from_millis(1000),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn sliding_windows_hold_requests_back_until_the_oldest_leaves() {
        let limiter = RateLimiter::with_windows(
            1000.0,
            100,
            &[(3, Duration::from_secs(10)), (5, Duration::from_secs(100))],
        );
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(10), "the short window");
        limiter.acquire().await;
        limiter.acquire().await;
        // The long window: five in any 100 s.
        assert_eq!(start.elapsed(), Duration::from_secs(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_back_every_caller() {
        let limiter = Arc::new(RateLimiter::new(100.0, 10));
        let start = Instant::now();
        limiter.pause_for(Duration::from_secs(5));
        assert_eq!(limiter.paused_for(), Duration::from_secs(5));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let l = Arc::clone(&limiter);
            tasks.push(tokio::spawn(async move {
                l.acquire().await;
                Instant::now()
            }));
        }
        for t in tasks {
            let at = t.await.unwrap();
            assert!(at - start >= Duration::from_secs(5), "{:?}", at - start);
        }
        // A shorter pause never shortens a longer one.
        limiter.pause_for(Duration::from_secs(10));
        limiter.pause_for(Duration::from_secs(1));
        assert_eq!(limiter.paused_for(), Duration::from_secs(10));
    }
}
