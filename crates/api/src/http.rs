//! The HTTP machinery shared by both clients: base-URL checks, the shared token-bucket
//! [`RateLimiter`], the retry policy, request counters, the one request loop
//! ([`Transport::execute`]) that both clients go through, and the one write-and-settle loop
//! ([`Transport::write_settled`]) every write of both clients goes through: each client only
//! says how a failed send is settled (read back, looked up by key, or reported as ambiguous).
//!
//! Invariants:
//! - Every request first takes a token from the client's one [`RateLimiter`]; a 429 (and a
//!   Notion 529) pauses that limiter, so every concurrent caller waits, not just the one that
//!   was throttled.
//! - 429/529 are retried for every method (the service did not process the request), honouring
//!   `Retry-After`. 5xx answers and lost connections are retried only for reads; for writes
//!   they come back to the caller, which decides how to settle the unknown outcome. A connect
//!   timeout (nothing was sent) is retried for writes too. A connection that cannot be made at
//!   all (refused, a host name that does not resolve, a TLS handshake that fails) is not
//!   retried: it fails at once with the host and the likely fix, because waiting does not
//!   change a wrong URL or an intercepting proxy.
//! - A retry or pause longer than a second is announced on [`ClientOptions::notice`] (kodo
//!   prints it on stderr), so a terminal never sits silent.
//! - At most `max_attempts` sends per call. `KODO_TEST_NO_RETRY_DELAY=1` caps every retry wait
//!   at 10 ms; the limiter's pacing still applies.
//! - The credential travels only in a header marked sensitive; log lines and errors carry the
//!   method and path only.

use std::collections::BTreeMap;
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

/// Fallback pace when a configured rate is unusable (not positive, not finite).
pub const DEFAULT_RATE_PER_SEC: f64 = 3.0;
/// Default per-request timeout for PostHog.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default per-request timeout for Notion: above Notion's 55 s server deadline
/// (`"deadline_ms": "55000"` in the 503 a late write answers with,
/// <https://developers.notion.com/reference/request-limits>), so kodo never abandons a write
/// the server is still committing; the official SDK uses the same 60 s
/// (makenotion/notion-sdk-js `src/Client.ts`: `timeoutMs ?? 60_000`).
pub const NOTION_TIMEOUT: Duration = Duration::from_secs(60);
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of sends per call (the first one included).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 6;

/// Notion's `additional_data.rate_limit_reason` when a connection's access is restricted.
pub const BLOCKED_REASON: &str = "public_api_request_blocked";

/// The longest `Retry-After` honoured; longer values (or absurd ones) are cut to this. An
/// hour: PostHog's sustained throttle is a one-hour window (posthog/rate_limit.py).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

const BACKOFF_BASE: Duration = Duration::from_secs(1);
const BACKOFF_CAP: Duration = Duration::from_secs(30);
const JITTER_MAX_MS: u64 = 250;

/// Receives one line per request, per retry and per wait. Never receives a credential.
pub type Logger = Arc<dyn Fn(&str) + Send + Sync>;

/// The settings every client shares: how fast it may send, how long it waits, how often it
/// tries, where its log lines go, and which environment variable its credential came from.
/// [`ClientOptions::notion`] and [`ClientOptions::posthog`] are each service's defaults.
#[derive(Clone)]
pub struct ClientOptions {
    /// Pace and window budgets, shared by every request of the client.
    pub limits: RateLimits,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Sends per call, the first included.
    pub max_attempts: u32,
    /// Upper bound on every retry wait (for tests); `None` = the normal policy. The
    /// `KODO_TEST_NO_RETRY_DELAY=1` environment variable sets 10 ms.
    pub max_retry_delay: Option<Duration>,
    /// When set, a throttled answer that states its wait (`Retry-After`) does not use up an
    /// attempt: one call waits as told for up to this long in all, then fails. PostHog's hourly
    /// window can ask for most of an hour.
    pub max_throttle_wait: Option<Duration>,
    /// Receives one line per request, retry and wait.
    pub logger: Option<Logger>,
    /// Receives one line whenever a retry or a rate-limit pause waits longer than a second
    /// (what a person at a terminal should hear about even without `-v`).
    pub notice: Option<Logger>,
    /// Name of the environment variable the credential came from, for error messages.
    pub credential_env_var: String,
}

impl ClientOptions {
    /// Notion's defaults: the smallest plan's per-connection budget (180 requests per
    /// 60-second window), a 60 s timeout (above Notion's 55 s server deadline), 6 attempts.
    pub fn notion() -> Self {
        ClientOptions {
            limits: RateLimits::notion_default(),
            timeout: NOTION_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_retry_delay: None,
            max_throttle_wait: None,
            logger: None,
            notice: None,
            credential_env_var: "NOTION_API_KEY".to_owned(),
        }
    }

    /// PostHog's defaults: its 480/minute and 4,800/hour sliding windows
    /// ([`crate::posthog::DEFAULT_WINDOWS`]) and no steady pace (PostHog's throttles count
    /// requests per window, so a burst within the minute's budget is allowed), a 30 s timeout,
    /// 6 attempts, and up to 65 minutes of stated throttle waits per call.
    pub fn posthog() -> Self {
        ClientOptions {
            limits: RateLimits::windows(crate::posthog::DEFAULT_WINDOWS),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_retry_delay: None,
            max_throttle_wait: Some(crate::posthog::DEFAULT_MAX_THROTTLE_WAIT),
            logger: None,
            notice: None,
            credential_env_var: "POSTHOG_PERSONAL_API_KEY".to_owned(),
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("limits", &self.limits)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_attempts", &self.max_attempts)
            .field("max_retry_delay", &self.max_retry_delay)
            .field("max_throttle_wait", &self.max_throttle_wait)
            .field("logger", &self.logger.as_ref().map(|_| "<fn>"))
            .field("notice", &self.notice.as_ref().map(|_| "<fn>"))
            .field("credential_env_var", &self.credential_env_var)
            .finish()
    }
}

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

/// A request budget: at most `requests` sends in any span of `per`.
///
/// Notion's per-connection limit is one of these: "Each connection has a fixed budget of
/// requests per 60-second window … The budget can be spent at any pace within the window —
/// spread out evenly or in a single burst" (180 per minute on most plans, 600 on Business and
/// Enterprise; <https://developers.notion.com/reference/request-limits>). PostHog's throttles
/// are sliding windows of the same shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Sends allowed per window (at least 1).
    pub requests: u32,
    /// The window's length.
    pub per: Duration,
}

impl Budget {
    /// `requests` per minute.
    pub const fn per_minute(requests: u32) -> Self {
        Budget {
            requests,
            per: Duration::from_secs(60),
        }
    }
}

/// Steady pacing: `rate_per_sec` on average, `burst` at once (a token bucket).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacing {
    /// Average sends per second.
    pub rate_per_sec: f64,
    /// Sends allowed at once.
    pub burst: u32,
}

/// How fast one client may send: an optional steady pace plus any number of window budgets,
/// all of which must have room before a request goes out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RateLimits {
    /// A token bucket, when the service wants a steady pace.
    pub pacing: Option<Pacing>,
    /// Window budgets (Notion: one per-connection window; PostHog: per minute and per hour).
    pub windows: Vec<Budget>,
}

impl RateLimits {
    /// Only a token bucket.
    pub fn paced(rate_per_sec: f64, burst: u32) -> Self {
        RateLimits {
            pacing: Some(Pacing {
                rate_per_sec,
                burst,
            }),
            windows: Vec::new(),
        }
    }

    /// Only window budgets.
    pub fn windows(windows: impl IntoIterator<Item = Budget>) -> Self {
        RateLimits {
            pacing: None,
            windows: windows.into_iter().collect(),
        }
    }

    /// Notion's documented per-connection budget for the smallest plans: 180 requests per
    /// 60-second window ("All other plans: 180 requests per minute (an average of 3 per
    /// second)", <https://developers.notion.com/reference/request-limits>).
    pub fn notion_default() -> Self {
        RateLimits::windows([Budget::per_minute(NOTION_DEFAULT_BUDGET_PER_MINUTE)])
    }
}

/// A window's span as the limiter measures it: its length plus a 1% allowance.
fn span(budget: &Budget) -> Duration {
    budget.per + budget.per / 100
}

/// Notion's per-connection budget on every plan but Business and Enterprise (which get 600).
pub const NOTION_DEFAULT_BUDGET_PER_MINUTE: u32 = 180;

/// A rate limiter shared by all concurrent work on one client: an optional token bucket and
/// window budgets ([`RateLimits`]).
///
/// Each send is stamped twice: when it is allowed out, and again when its answer arrives
/// (when the [`Permit`] is dropped). The later stamp is what counts: the service counted the
/// request somewhere in between, so measuring windows from the answer can only err on the
/// safe side, whatever the connection set-up or transit time. No span of `per` (plus a 1%
/// allowance) ever holds more than `requests` sends: a budget is spent in a burst, then the
/// next send waits for the oldest to leave the window. [`RateLimiter::pause_for`] (called
/// when a 429 arrives) blocks every caller until the pause ends.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    /// The longest window's span: older stamps are forgotten.
    horizon: Duration,
    state: Mutex<LimiterState>,
}

#[derive(Debug)]
struct LimiterState {
    tokens: f64,
    updated: Instant,
    paused_until: Option<Instant>,
    /// Stamps of recent sends (a multiset: several sends can share an instant).
    sent: BTreeMap<Instant, u32>,
}

/// One send allowed by a [`RateLimiter`]. Keep it until the answer has arrived: dropping it
/// re-stamps the send with that moment.
#[derive(Debug)]
#[must_use = "hold the permit until the answer arrives"]
pub struct Permit<'a> {
    limiter: &'a RateLimiter,
    stamped: Option<Instant>,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(at) = self.stamped.take() {
            self.limiter.restamp(at, Instant::now());
        }
    }
}

impl RateLimiter {
    /// A limiter allowing `rate_per_sec` requests per second on average and `burst` at once.
    /// A non-positive or non-finite rate falls back to [`DEFAULT_RATE_PER_SEC`]; burst is at
    /// least 1.
    pub fn new(rate_per_sec: f64, burst: u32) -> Self {
        RateLimiter::with_limits(RateLimits::paced(rate_per_sec, burst))
    }

    /// A limiter enforcing `limits`. Rates are clamped to sane values, budgets to at least one
    /// request per window of at least 1 ms.
    pub fn with_limits(limits: RateLimits) -> Self {
        let pacing = limits.pacing.map(|p| Pacing {
            rate_per_sec: if p.rate_per_sec.is_finite() && p.rate_per_sec > 0.0 {
                p.rate_per_sec.clamp(MIN_RATE_PER_SEC, MAX_RATE_PER_SEC)
            } else {
                DEFAULT_RATE_PER_SEC
            },
            burst: p.burst.max(1),
        });
        let windows: Vec<Budget> = limits
            .windows
            .iter()
            .map(|w| Budget {
                requests: w.requests.max(1),
                per: w.per.max(Duration::from_millis(1)),
            })
            .collect();
        let horizon = windows.iter().map(span).max().unwrap_or(Duration::ZERO);
        let tokens = pacing.map(|p| f64::from(p.burst)).unwrap_or(0.0);
        RateLimiter {
            state: Mutex::new(LimiterState {
                tokens,
                updated: Instant::now(),
                paused_until: None,
                sent: BTreeMap::new(),
            }),
            horizon,
            limits: RateLimits { pacing, windows },
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LimiterState> {
        // No code panics while holding the lock, so a poisoned lock still holds a sound state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until a request may be sent, and counts it against every budget.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let wait = {
                let mut s = self.state();
                let now = Instant::now();
                match s.paused_until {
                    Some(until) if until > now => until - now,
                    _ => {
                        s.paused_until = None;
                        match self.wait_needed(&mut s, now) {
                            Some(wait) => wait,
                            None => {
                                if self.limits.pacing.is_some() {
                                    s.tokens -= 1.0;
                                }
                                if self.limits.windows.is_empty() {
                                    return Permit {
                                        limiter: self,
                                        stamped: None,
                                    };
                                }
                                *s.sent.entry(now).or_insert(0) += 1;
                                return Permit {
                                    limiter: self,
                                    stamped: Some(now),
                                };
                            }
                        }
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Moves one send's stamp from `from` to `to` (its answer arrived).
    fn restamp(&self, from: Instant, to: Instant) {
        let mut s = self.state();
        if let Some(n) = s.sent.get_mut(&from) {
            *n -= 1;
            if *n == 0 {
                s.sent.remove(&from);
            }
        }
        *s.sent.entry(to).or_insert(0) += 1;
    }

    /// `None` when a send may go out at `now`, else how long until one may.
    fn wait_needed(&self, s: &mut LimiterState, now: Instant) -> Option<Duration> {
        let mut wait = Duration::ZERO;
        if let Some(p) = self.limits.pacing {
            let elapsed = now.saturating_duration_since(s.updated).as_secs_f64();
            s.tokens = (s.tokens + elapsed * p.rate_per_sec).min(f64::from(p.burst));
            s.updated = now;
            if s.tokens < 1.0 {
                wait = wait.max(
                    Duration::try_from_secs_f64((1.0 - s.tokens) / p.rate_per_sec)
                        .unwrap_or(Duration::from_secs(1)),
                );
            }
        }
        // Forget stamps no window can see any more.
        while let Some((&oldest, _)) = s.sent.first_key_value() {
            if now.saturating_duration_since(oldest) < self.horizon {
                break;
            }
            s.sent.pop_first();
        }
        for budget in &self.limits.windows {
            let span = span(budget);
            let inside: Vec<(Instant, u32)> = s
                .sent
                .iter()
                .filter(|(t, _)| now.saturating_duration_since(**t) < span)
                .map(|(t, n)| (*t, *n))
                .collect();
            let count: u64 = inside.iter().map(|(_, n)| u64::from(*n)).sum();
            if count < u64::from(budget.requests) {
                continue;
            }
            // The send that must leave the window before one more fits.
            let mut to_leave = count - u64::from(budget.requests) + 1;
            for (at, n) in inside {
                if u64::from(n) >= to_leave {
                    wait = wait.max((at + span).saturating_duration_since(now));
                    break;
                }
                to_leave -= u64::from(n);
            }
        }
        (!wait.is_zero()).then_some(wait)
    }

    /// Blocks every caller of [`RateLimiter::acquire`] for `wait` (extending, never shortening,
    /// a pause already in force).
    pub fn pause_for(&self, wait: Duration) {
        let mut s = self.state();
        let until = Instant::now() + wait;
        let until = match s.paused_until {
            Some(existing) if existing > until => existing,
            _ => until,
        };
        s.paused_until = Some(until);
        s.tokens = s.tokens.min(1.0);
        s.updated = until;
    }

    /// How much of a pause remains (zero when none is in force).
    pub fn paused_for(&self) -> Duration {
        let s = self.state();
        s.paused_until
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
#[derive(Clone)]
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) body: Option<&'a Value>,
    pub(crate) access: Access,
}

impl<'a> Call<'a> {
    /// A write: `method` to `url` with `body`.
    pub(crate) fn write(method: Method, url: Url, body: &'a Value) -> Call<'a> {
        Call {
            method,
            url,
            body: Some(body),
            access: Access::Write,
        }
    }

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

/// A failure that got an answer: its status, and what the request was and cost.
pub(crate) struct Answered {
    pub(crate) status: u16,
    pub(crate) request: String,
    pub(crate) attempts: u32,
    pub(crate) elapsed: Duration,
}

impl Failure {
    /// The answered failure, or, for one that got no answer, the error every service reports
    /// for it ([`ApiError::Network`]).
    pub(crate) fn answered(self, service: Service) -> std::result::Result<Answered, ApiError> {
        let Failure {
            request,
            attempts,
            elapsed,
            kind,
        } = self;
        match kind {
            FailureKind::Network { message, .. } => Err(ApiError::Network {
                service,
                request,
                message,
                attempts,
                elapsed,
            }),
            FailureKind::Status { status, .. } => Ok(Answered {
                status,
                request,
                attempts,
                elapsed,
            }),
        }
    }

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

/// What a write's caller concluded about a send that failed (see [`Transport::write_settled`]).
pub(crate) enum Settle<T> {
    /// The write took effect, or what it was to make exists: this is the result.
    Done(T),
    /// It did not take effect: send it again. When that was the last send allowed, the write
    /// fails with `exhausted`; otherwise kodo first waits a backoff when `backoff` gives the
    /// reason, and logs `resend`.
    Again {
        exhausted: ApiError,
        backoff: Option<String>,
        resend: Option<String>,
    },
    /// Stop with this error (the failure is not one a send again can fix, or the outcome
    /// could not be settled).
    Fail(ApiError),
}

/// What a [`Transport`] needs besides the shared [`ClientOptions`].
pub(crate) struct TransportConfig {
    pub(crate) service: Service,
    pub(crate) base: Url,
    pub(crate) secret: Secret,
    pub(crate) extra_headers: HeaderMap,
    pub(crate) options: ClientOptions,
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
    notice: Option<Logger>,
    timeout: Duration,
    /// Set once the service answered `public_api_request_blocked`: every later call fails at
    /// once with that answer instead of being sent.
    blocked: Mutex<Option<Vec<u8>>>,
}

impl Transport {
    pub(crate) fn new(cfg: TransportConfig) -> Result<Self, ApiError> {
        let opts = cfg.options;
        if cfg.secret.is_blank() {
            return Err(ApiError::Unauthorized {
                service: cfg.service,
                hint: format!(
                    "{} is empty; set it to the credential",
                    opts.credential_env_var
                ),
            });
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", cfg.secret.expose().trim()))
            .map_err(|_| ApiError::Unauthorized {
                service: cfg.service,
                hint: format!(
                    "the value of {} contains characters that cannot be sent in an HTTP header \
                     (a stray newline or quote?)",
                    opts.credential_env_var
                ),
            })?;
        auth.set_sensitive(true);
        let client = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.connect_timeout)
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
            limiter: Arc::new(RateLimiter::with_limits(opts.limits)),
            counters: Counters::default(),
            policy: match opts.max_throttle_wait {
                Some(budget) => RetryPolicy::new(opts.max_attempts, opts.max_retry_delay)
                    .with_throttle_budget(budget),
                None => RetryPolicy::new(opts.max_attempts, opts.max_retry_delay),
            },
            logger: opts.logger,
            notice: opts.notice,
            timeout: opts.timeout,
            blocked: Mutex::new(None),
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

    /// The answer that blocked this client, once the service said `public_api_request_blocked`.
    fn blocked_answer(&self) -> Option<Vec<u8>> {
        self.blocked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records that a caller is about to repeat a send on its own (outside `execute`).
    pub(crate) fn note_retry(&self) {
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Tells the person waiting, when a wait is longer than [`NOTICE_AFTER`].
    fn announce(&self, wait: Duration, why: &str) {
        if wait > NOTICE_AFTER {
            if let Some(notice) = &self.notice {
                notice(&self.redact(&format!(
                    "{}: waiting {:.0}s, {why}",
                    self.service,
                    wait.as_secs_f64().ceil()
                )));
            }
        }
    }

    /// Sleeps `wait` (test cap applied), saying why in the log (and to the person waiting,
    /// when it is long).
    pub(crate) async fn wait(&self, wait: Duration, why: &str) {
        let wait = self.policy.capped(wait);
        self.log(&format!("waiting {:.1}s: {why}", wait.as_secs_f64()));
        self.announce(wait, why);
        tokio::time::sleep(wait).await;
    }

    /// Sends `call`, retrying per the policy in the module doc. A 2xx answer is `Ok`; anything
    /// else (after retries) is a [`Failure`] for the caller to interpret.
    pub(crate) async fn execute(&self, call: Call<'_>) -> Result<Reply, Failure> {
        self.execute_with(call, None).await
    }

    /// [`Transport::execute`], whose first send uses `permit` (already granted by this
    /// client's limiter) instead of waiting for one: a caller that decided something just
    /// before (that a row is still missing) sends at once, not after a wait in the queue.
    pub(crate) async fn execute_with<'p>(
        &'p self,
        call: Call<'_>,
        mut permit: Option<Permit<'p>>,
    ) -> Result<Reply, Failure> {
        let request = call.describe();
        let started = Instant::now();
        let max = self.policy.max_attempts;
        let mut attempt: u32 = 0;
        // Throttled sends whose wait the service stated, when they do not count as attempts.
        let mut free_retries: u32 = 0;
        let mut throttle_waited = Duration::ZERO;
        loop {
            attempt += 1;
            if let Some(body) = self.blocked_answer() {
                return Err(Failure {
                    request,
                    attempts: attempt - 1,
                    elapsed: started.elapsed(),
                    kind: FailureKind::Status { status: 429, body },
                });
            }
            let permit = match permit.take() {
                Some(granted) => granted,
                None => self.limiter.acquire().await,
            };
            match call.access {
                Access::Read => self.counters.reads.fetch_add(1, Ordering::Relaxed),
                Access::Write => self.counters.writes.fetch_add(1, Ordering::Relaxed),
            };
            if attempt > 1 {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            let sent_at = Instant::now();
            let outcome = self.send_once(&call).await;
            drop(permit);
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
                        let reason = json
                            .as_ref()
                            .and_then(|j| j.pointer("/additional_data/rate_limit_reason"))
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        // "public_api_request_blocked: This connection's API access has been
                        // restricted. Retrying won't help." (developers.notion.com/reference/
                        // request-limits): stop this call and every later one.
                        if reason == BLOCKED_REASON {
                            self.log(&format!(
                                "{request}: {} blocked this connection ({BLOCKED_REASON}); sending nothing more",
                                self.service
                            ));
                            *self.blocked.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some(body.clone());
                            return Err(fail(FailureKind::Status { status, body }));
                        }
                        // Wait what the service asks (Retry-After, repeated in the body as
                        // additional_data.retry_after).
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
                        if over_budget || (!free && attempt - free_retries >= max) {
                            return Err(fail(FailureKind::Status { status, body }));
                        }
                        // "If another 429 or 529 arrives, increase the delay with exponential
                        // backoff and jitter" (developers.notion.com/reference/request-limits).
                        let wait = match stated {
                            Some(asked) if attempt == 1 => asked,
                            Some(asked) => asked.max(self.policy.backoff(attempt - 1)),
                            None => self.policy.backoff(attempt),
                        };
                        let wait = self.policy.capped(wait);
                        let why = if reason.is_empty() {
                            String::new()
                        } else {
                            format!(", {reason}")
                        };
                        self.log(&format!(
                            "{request} rate limited ({status}{why}): pausing all {} requests for {:.1}s (attempt {} of {max} next)",
                            self.service,
                            wait.as_secs_f64(),
                            attempt - free_retries + 1
                        ));
                        self.announce(
                            wait,
                            &format!("{} asked kodo to slow down ({status}{why})", self.service),
                        );
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
                Err(NetError {
                    message,
                    sent,
                    retry,
                }) => {
                    self.log(&format!("{request} -> failed: {message} ({ms} ms)"));
                    let retryable = retry && (call.access == Access::Read || !sent);
                    if retryable && attempt - free_retries < max {
                        let wait = self.policy.backoff(attempt);
                        self.wait(
                            wait,
                            &format!(
                                "retrying {request} after \"{message}\" (attempt {} of {max})",
                                attempt + 1
                            ),
                        )
                        .await;
                        continue;
                    }
                    return Err(fail(FailureKind::Network { message, sent }));
                }
            }
        }
    }

    /// The one write-and-settle loop of both clients. Sends `call` (the first send with
    /// `permit`, when given); a 2xx answer goes to `done`. A failed send (after the transport's
    /// own retries, which re-send a write only when the service did not process it) goes to
    /// `settle` with the attempts and time totalled over every send so far and the number of
    /// this send (1-based); `settle` reads back what it must to decide whether the write took
    /// effect ([`Settle`]). At most `max_attempts` sends.
    pub(crate) async fn write_settled<'p, T, Fut>(
        &'p self,
        call: Call<'_>,
        mut permit: Option<Permit<'p>>,
        done: impl Fn(Reply) -> Result<T, ApiError>,
        settle: impl Fn(Failure, u32) -> Fut,
    ) -> Result<T, ApiError>
    where
        Fut: std::future::Future<Output = Settle<T>>,
    {
        let started = Instant::now();
        let max = self.policy.max_attempts;
        let mut sends: u32 = 0;
        let mut attempts: u32 = 0;
        loop {
            sends += 1;
            if sends > 1 {
                self.note_retry();
            }
            let mut f = match self.execute_with(call.clone(), permit.take()).await {
                Ok(reply) => return done(reply),
                Err(f) => f,
            };
            attempts += f.attempts;
            f.attempts = attempts;
            f.elapsed = started.elapsed();
            match settle(f, sends).await {
                Settle::Done(value) => return Ok(value),
                Settle::Fail(e) => return Err(e),
                Settle::Again {
                    exhausted,
                    backoff,
                    resend,
                } => {
                    if sends >= max {
                        return Err(exhausted);
                    }
                    if let Some(why) = backoff {
                        self.wait(self.policy.backoff(sends), &why).await;
                    }
                    if let Some(line) = resend {
                        self.log(&line);
                    }
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
        let (timeout, connect) = (e.is_timeout(), e.is_connect());
        let kinds = io_kinds(&e);
        let chain = error_chain(&e.without_url());
        let (message, retry) = if timeout {
            let message = format!(
                "no complete answer within {:.0}s",
                self.timeout.as_secs_f64()
            );
            (message, true)
        } else if connect {
            (
                connect_failure(&self.base, self.service, &chain, &kinds),
                false,
            )
        } else if answered {
            let message = format!("the connection broke while reading the answer ({chain})");
            (message, true)
        } else {
            (chain, true)
        };
        NetError {
            message: self.redact(&message),
            sent,
            retry,
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
    /// False when trying again cannot help (the connection cannot be made at all).
    retry: bool,
}

/// A retry or pause longer than this is announced on [`ClientOptions::notice`].
pub const NOTICE_AFTER: Duration = Duration::from_secs(1);

/// The `std::io::Error` kinds in an error's chain, outermost first. An `io::Error` wrapping
/// another (hyper-util wraps tokio-rustls's `InvalidData` in an `Other`) is looked into with
/// `get_ref`: its `source()` skips the inner error and goes to that one's cause.
fn io_kinds(e: &(dyn std::error::Error + 'static)) -> Vec<std::io::ErrorKind> {
    let mut kinds = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        next = match err.downcast_ref::<std::io::Error>() {
            Some(io) => {
                kinds.push(io.kind());
                match io.get_ref() {
                    Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                    None => err.source(),
                }
            }
            None => err.source(),
        };
    }
    kinds
}

/// What a connection that could not be made means, with the host and the likely fix.
/// `chain` is the error's text with its causes and `kinds` the `std::io::ErrorKind`s in it.
///
/// On an `https://` base, an `InvalidData` or `UnexpectedEof` in the chain is the TLS layer's:
/// tokio-rustls reports a rustls error (a corrupt record from a server that is not TLS, a
/// certificate it refuses) as `InvalidData` and a peer that closes mid-handshake as
/// `UnexpectedEof` ("tls handshake eof"), texts that need not say "TLS" (rustls/tokio-rustls
/// `src/common/handshake.rs`); making the TCP connection itself fails with neither.
fn connect_failure(
    base: &Url,
    service: Service,
    chain: &str,
    kinds: &[std::io::ErrorKind],
) -> String {
    use std::io::ErrorKind;
    let host = base.host_str().unwrap_or("?");
    let port = base.port_or_known_default().unwrap_or(443);
    let lower = chain.to_ascii_lowercase();
    let setting = match service {
        Service::Notion => "notion.baseUrl",
        Service::PostHog => "posthog.region_url",
    };
    let tls_layer = base.scheme() == "https"
        && kinds
            .iter()
            .any(|k| matches!(k, ErrorKind::InvalidData | ErrorKind::UnexpectedEof));
    if kinds.contains(&ErrorKind::ConnectionRefused) || lower.contains("connection refused") {
        format!(
            "{host}:{port} refused the connection: nothing is listening there; check {setting} \
             in the kodo config (and that the service, or the emulator, is running)"
        )
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
        || lower.contains("no such host")
    {
        format!(
            "the host name {host} does not resolve (DNS): check the spelling of {setting} in the \
             kodo config, and this machine's network or DNS settings ({chain})"
        )
    } else if tls_layer
        || lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("invalid peer")
    {
        format!(
            "the TLS handshake with {host}:{port} failed ({chain}): a proxy that intercepts TLS \
             needs its certificate installed in the system store, and {setting} must be an \
             https:// URL of the service itself"
        )
    } else {
        format!("could not connect to {host}:{port} ({chain}); check {setting} and the network")
    }
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
            drop(limiter.acquire().await);
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        drop(limiter.acquire().await);
        drop(limiter.acquire().await);
        // Two more at 2/s: one every 500 ms.
        assert!(
            start.elapsed() >= Duration::from_millis(1000),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_budget_is_spent_in_a_burst_then_waits_for_the_window() {
        let limiter = RateLimiter::with_limits(RateLimits::windows([Budget::per_minute(180)]));
        let start = Instant::now();
        for _ in 0..180 {
            drop(limiter.acquire().await);
        }
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the whole budget is free at once"
        );
        drop(limiter.acquire().await);
        let waited = start.elapsed();
        // The 181st waits for the first to leave the window (60 s plus the 1% allowance).
        assert!(
            waited >= Duration::from_secs(60) && waited <= Duration::from_millis(60_700),
            "{waited:?}"
        );
        // 360 requests in all: the second minute's budget is free again at once.
        for _ in 0..179 {
            drop(limiter.acquire().await);
        }
        assert!(start.elapsed() <= Duration::from_millis(60_700));
    }

    #[tokio::test(start_paused = true)]
    async fn every_window_must_have_room() {
        let limiter = RateLimiter::with_limits(RateLimits::windows([
            Budget {
                requests: 3,
                per: Duration::from_secs(1),
            },
            Budget {
                requests: 5,
                per: Duration::from_secs(100),
            },
        ]));
        let start = Instant::now();
        for _ in 0..5 {
            drop(limiter.acquire().await);
        }
        // 3 at once, 2 more after the 1 s window: the short window paced them.
        assert!(
            start.elapsed() >= Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        drop(limiter.acquire().await);
        // The 6th waits for the long window.
        assert!(
            start.elapsed() >= Duration::from_secs(100),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn notion_defaults_are_the_documented_budget_and_a_timeout_past_the_deadline() {
        let opts = ClientOptions::notion();
        assert_eq!(opts.limits.windows, vec![Budget::per_minute(180)]);
        assert_eq!(opts.limits.pacing, None);
        // Notion's server deadline is 55 s ("deadline_ms": "55000").
        assert!(opts.timeout > Duration::from_secs(55));
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
                drop(l.acquire().await);
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
