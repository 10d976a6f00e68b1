//! The PostHog client: event definitions, feature flags, experiments and dashboards of one
//! project, read through the private REST API (`/api/projects/{id}/…`) with a personal API key.
//!
//! Invariants:
//! - Lists ask for `limit=100` and follow the absolute `next` URLs to the end; a `next` on
//!   another host is refused (the key is never sent elsewhere) and one on the same host is
//!   always fetched with the configured scheme (never downgraded to http).
//! - Experiments and feature flags are listed twice (the default list hides archived ones;
//!   `?archived=true` returns only those: PostHog/posthog PR #63338 for flags) and merged by id.
//! - Every list is de-duplicated by id: limit/offset pagination over a live ordering (flags
//!   `-created_at`, products/feature_flags/backend/api/feature_flag.py
//!   `FeatureFlagViewSet.safely_get_queryset`; dashboards `-pinned, name`,
//!   products/dashboards/backend/api/dashboard.py `DashboardsViewSet.queryset`; event
//!   definitions `-last_seen_at::date, name`, posthog/api/event_definition.py
//!   `_stable_ordering`) repeats an item on the next page when something is created (or, for
//!   events, seen) ahead of it mid-listing; the first copy wins. An item that moves ahead of
//!   the pages already read (an event seen again) is skipped instead: when a list falls short
//!   of PostHog's `count`, it is read again from the start (at most 3 passes), so nothing is
//!   taken for missing.
//! - Dashboards are listed with `?exclude_generated=true`: PostHog creates a "Generated
//!   Dashboard: <key> Usage" for every flag (products/feature_flags/backend/api/feature_flag.py
//!   `_create_usage_dashboard`), which is not a dashboard anyone documents.
//! - Decoding tolerates missing, extra and `null` fields.
//! - Reads retry 429 (honouring `Retry-After`) and 5xx; writes retry only 429.
//! - 401/403 name the key's environment variable and the scopes needed, and say so when a
//!   project key (`phc_…`) was configured instead of a personal key (`phx_…`).

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ApiError, Result, Service};
pub use crate::http::Budget;
use crate::http::{
    check_base_url, normalize_base, Access, Answered, Call, ClientOptions, Failure, FailureKind,
    RequestStats, Settle, Transport, TransportConfig,
};
use crate::secret::Secret;

pub use crate::types::posthog::*;

/// The longest `?search=` PostHog's dashboards list accepts (`MAX_SEARCH_LENGTH`), in
/// characters.
const DASHBOARD_SEARCH_MAX_CHARS: usize = 200;

/// The read scopes kodo needs on a personal API key (the README's list): the four resources,
/// and the event properties PostHog has seen (the audit's Properties section).
pub const REQUIRED_SCOPES: [&str; 5] = [
    "feature_flag:read",
    "experiment:read",
    "dashboard:read",
    "event_definition:read",
    "property_definition:read",
];

/// Page size asked for on every list.
const LIMIT: &str = "100";

/// PostHog's throttles for a personal API key: 480 requests in any minute and 4,800 in any
/// hour (posthog/rate_limit.py BurstRateThrottle / SustainedRateThrottle).
pub const DEFAULT_WINDOWS: [Budget; 2] = [
    Budget {
        requests: 480,
        per: Duration::from_secs(60),
    },
    Budget {
        requests: 4_800,
        per: Duration::from_secs(3_600),
    },
];

/// The most one call waits on PostHog's stated throttle waits: the hourly window, and a
/// margin.
pub const DEFAULT_MAX_THROTTLE_WAIT: Duration = Duration::from_secs(65 * 60);

#[derive(Deserialize)]
struct ListPage<T> {
    #[serde(default = "Vec::new")]
    results: Vec<T>,
    #[serde(default)]
    next: Option<String>,
    /// How many items the whole list has (DRF `LimitOffsetPagination`).
    #[serde(default)]
    count: Option<u64>,
    /// The event definitions list's `count` is a lower bound on large projects
    /// (`CappedCountLimitOffsetPagination`, posthog/api/event_definition.py).
    #[serde(default)]
    count_is_capped: Option<bool>,
}

/// How many times a list is read when what was read falls short of its `count`.
const LIST_PASSES: usize = 3;

// ---- client ----------------------------------------------------------------------------------

/// A PostHog API client for one project.
pub struct PostHogClient {
    t: Transport,
    project_id: String,
    region_url: String,
    key_env_var: String,
    project_key: bool,
}

impl fmt::Debug for PostHogClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostHogClient")
            .field("region_url", &self.region_url)
            .field("project_id", &self.project_id)
            .field("key", &"***")
            .finish()
    }
}

impl PostHogClient {
    /// A client for project `project_id` at `base_url` (the region URL, e.g.
    /// `https://us.posthog.com`, or a loopback emulator). `opts` usually starts from
    /// [`ClientOptions::posthog`].
    pub fn new(base_url: &str, project_id: &str, key: Secret, opts: ClientOptions) -> Result<Self> {
        let checked = check_base_url(base_url, "posthog.region_url")?;
        let region_url = checked.as_str().trim_end_matches('/').to_owned();
        let base = normalize_base(checked, "/api");
        let project_id = project_id.trim().to_owned();
        if project_id.is_empty() {
            return Err(ApiError::NotFound {
                service: Service::PostHog,
                what: "project".to_owned(),
                id: String::new(),
                hint: "posthog.project_id is empty; set it to your project's id (Project settings → Project ID)"
                    .to_owned(),
            });
        }
        let project_key = key.expose().trim().starts_with("phc_");
        let key_env_var = opts.credential_env_var.clone();
        let t = Transport::new(TransportConfig {
            service: Service::PostHog,
            base,
            secret: key,
            extra_headers: HeaderMap::new(),
            options: opts,
        })?;
        Ok(PostHogClient {
            t,
            project_id,
            region_url,
            key_env_var,
            project_key,
        })
    }

    /// Request counters so far.
    pub fn stats(&self) -> RequestStats {
        self.t.stats()
    }

    /// Every event definition of the project (PostHog's own `$` events included).
    pub async fn event_definitions(&self) -> Result<Vec<EventDefinition>> {
        self.list("event_definitions", &[]).await
    }

    /// The event properties PostHog has seen with `event`, with their types, every page:
    /// `GET property_definitions/?type=event&event_names=["<event>"]&filter_by_event_names=true`
    /// (`event_names` is JSON-encoded; `filter_by_event_names` makes the join with
    /// `posthog_eventproperty` an INNER JOIN: `QueryContext.with_event_property_filter` in
    /// PostHog/posthog `posthog/api/property_definition.py`). Needs `property_definition:read`.
    pub async fn event_properties(&self, event: &str) -> Result<Vec<PropertyDefinition>> {
        let names = serde_json::to_string(&[event]).unwrap_or_else(|_| "[]".into());
        self.list(
            "property_definitions",
            &[
                ("type", "event"),
                ("event_names", &names),
                ("filter_by_event_names", "true"),
            ],
        )
        .await
    }

    /// Every (non-deleted) feature flag, archived ones included (two lists, merged by id).
    pub async fn feature_flags(&self) -> Result<Vec<FeatureFlag>> {
        let mut all: Vec<FeatureFlag> = self.list("feature_flags", &[]).await?;
        let archived: Vec<FeatureFlag> =
            self.list("feature_flags", &[("archived", "true")]).await?;
        let mut seen: HashSet<i64> = all.iter().map(|f| f.id).collect();
        for f in archived {
            if seen.insert(f.id) {
                all.push(f);
            }
        }
        Ok(all)
    }

    /// One flag by id, deleted ones included; `None` when PostHog answers 404.
    pub async fn feature_flag(&self, id: i64) -> Result<Option<FeatureFlag>> {
        self.by_id("feature_flags", "feature flag", id).await
    }

    /// The (non-deleted, non-archived) flags whose key or name contains `text`, case-insensitively
    /// (`?search=`: `Q(key__icontains=search) | Q(name__icontains=search)` in
    /// PostHog/posthog products/feature_flags/backend/api/feature_flag.py).
    pub async fn feature_flags_matching(&self, text: &str) -> Result<Vec<FeatureFlag>> {
        self.list("feature_flags", &[("search", text)]).await
    }

    /// The (non-archived) experiments whose name contains `text`, case-insensitively
    /// (`?search=`: "Free-text search applied to the experiment name (case-insensitive)",
    /// the experiments list's OpenAPI parameter in PostHog/posthog).
    pub async fn experiments_matching(&self, text: &str) -> Result<Vec<Experiment>> {
        self.list("experiments", &[("search", text)]).await
    }

    /// The dashboards PostHog finds for `text` (`?search=`: PostHog's `apply_trigram_search`,
    /// where any dashboard whose name, description or tag contains the term matches), generated
    /// usage dashboards left out. PostHog refuses a term over 200 characters
    /// (`MAX_SEARCH_LENGTH`, PostHog/posthog `posthog/api/dashboards/dashboard.py`) while a
    /// name may hold 400, so a longer `text` is searched by its first 200 characters: every
    /// dashboard named `text` still contains them.
    pub async fn dashboards_matching(&self, text: &str) -> Result<Vec<Dashboard>> {
        let term: String = text.chars().take(DASHBOARD_SEARCH_MAX_CHARS).collect();
        self.list(
            "dashboards",
            &[("exclude_generated", "true"), ("search", &term)],
        )
        .await
    }

    /// The members of the key's organization (`GET /api/organizations/@current/members/`,
    /// PostHog/posthog `posthog/api/organization_member.py` `OrganizationMemberViewSet`: a
    /// limit/offset list of `{id, user, level, joined_at, …}`; someone who left the organization
    /// is no longer listed, while the resources they created keep their `created_by`).
    /// [`MembersAccess::NotAllowed`] when the key may not read them (the
    /// `organization_member:read` scope).
    pub async fn organization_members(&self) -> Result<MembersAccess> {
        let mut url = self
            .t
            .url("api", &["organizations", "@current", "members", ""]);
        url.query_pairs_mut().append_pair("limit", LIMIT);
        match self.list_pages(url).await {
            Ok(members) => Ok(MembersAccess::Members(members)),
            Err(ApiError::Unauthorized { .. } | ApiError::Forbidden { .. }) => {
                Ok(MembersAccess::NotAllowed)
            }
            Err(e) => Err(e),
        }
    }

    /// One object of `resource` (`feature_flags`, `experiments`, `dashboards`) by id, as JSON;
    /// `None` when PostHog answers 404.
    pub async fn retrieve(&self, resource: &str, id: i64) -> Result<Option<Value>> {
        self.by_id(resource, resource, id).await
    }

    /// `GET /<resource>/<id>/` decoded as `T`; `None` on 404; other failures name `what`.
    async fn by_id<T: DeserializeOwned>(
        &self,
        resource: &str,
        what: &str,
        id: i64,
    ) -> Result<Option<T>> {
        let url = self.url(&[resource, &id.to_string()]);
        let call = Call {
            method: Method::GET,
            url,
            body: None,
            access: Access::Read,
        };
        let request = call.describe();
        match self.t.execute(call).await {
            Ok(reply) => self.decode(&reply.body, &request).map(Some),
            Err(f) if f.status() == Some(404) => Ok(None),
            Err(f) => Err(self.map(f, what, &id.to_string())),
        }
    }

    /// Every experiment, archived ones included (two lists, merged by id).
    pub async fn experiments(&self) -> Result<Vec<Experiment>> {
        let mut all: Vec<Experiment> = self.list("experiments", &[]).await?;
        let archived: Vec<Experiment> = self.list("experiments", &[("archived", "true")]).await?;
        let mut seen: HashSet<i64> = all.iter().map(|e| e.id).collect();
        for e in archived {
            if seen.insert(e.id) {
                all.push(e);
            }
        }
        Ok(all)
    }

    /// Every (non-deleted) dashboard except the usage dashboards PostHog generates for flags.
    pub async fn dashboards(&self) -> Result<Vec<Dashboard>> {
        self.list("dashboards", &[("exclude_generated", "true")])
            .await
    }

    /// Whether the key may read `resource` (`feature_flags`, `experiments`, `dashboards`,
    /// `event_definitions`): one page of one item, for `kodo doctor`. A missing scope is
    /// PostHog's 403, reported as the error it maps to.
    pub async fn can_read(&self, resource: &str) -> Result<()> {
        let mut url = self.url(&[resource]);
        url.query_pairs_mut().append_pair("limit", "1");
        let call = Call {
            method: Method::GET,
            url,
            body: None,
            access: Access::Read,
        };
        let request = call.describe();
        match self.t.execute(call).await {
            Ok(reply) => self
                .decode::<ListPage<Value>>(&reply.body, &request)
                .map(|_| ()),
            Err(f) => Err(self.map(f, "project", &self.project_id.clone())),
        }
    }

    /// Creates a feature flag from `body` (PostHog's create payload). Retried only on 429; a
    /// 5xx or lost connection is an [`ApiError::AmbiguousWrite`].
    pub async fn create_feature_flag(&self, body: &Value) -> Result<FeatureFlag> {
        let call = Call::write(Method::POST, self.url(&["feature_flags"]), body);
        let request = call.describe();
        let request = request.as_str();
        self.t
            .write_settled(
                call,
                None,
                |reply| self.decode(&reply.body, request),
                // PostHog names no committed object: an unknown outcome cannot be settled
                // here, and sending again could create the flag twice.
                |f, _| async move {
                    if f.outcome_unknown() {
                        let key = body.get("key").and_then(Value::as_str).unwrap_or("?");
                        return Settle::Fail(ApiError::AmbiguousWrite {
                            service: Service::PostHog,
                            what: format!("creating feature flag \"{key}\""),
                            detail: match &f.kind {
                                FailureKind::Status { status, .. } => {
                                    format!("PostHog answered {status}")
                                }
                                FailureKind::Network { message, .. } => message.clone(),
                            },
                        });
                    }
                    Settle::Fail(self.map(f, "project", &self.project_id.clone()))
                },
            )
            .await
    }

    // ---- plumbing ---------------------------------------------------------------------------

    /// `{base}/api/projects/{project}/{resource}/…/` (trailing slash, as PostHog routes).
    fn url(&self, segments: &[&str]) -> Url {
        let mut all = vec!["projects", self.project_id.as_str()];
        all.extend_from_slice(segments);
        all.push("");
        self.t.url("api", &all)
    }

    async fn list<T: DeserializeOwned>(
        &self,
        resource: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<T>> {
        let mut url = self.url(&[resource]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", LIMIT);
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        self.list_pages(url).await
    }

    /// Every page of the limit/offset list at `url` (which carries `limit`), following `next`,
    /// de-duplicated by id. When the items read fall short of the `count` PostHog reported on
    /// the last page, something moved ahead of the pages already read while kodo paged (an
    /// event seen again moves to the top of the list ordered by last-seen date), so the list
    /// is read again from the start, keeping what is new, at most [`LIST_PASSES`] times.
    async fn list_pages<T: DeserializeOwned>(&self, url: Url) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut ids: HashSet<String> = HashSet::new();
        for pass in 0..LIST_PASSES {
            let count = self
                .list_pass(url.clone(), pass == 0, &mut ids, &mut items)
                .await?;
            if count.is_none_or(|count| items.len() >= count) {
                break;
            }
        }
        Ok(items)
    }

    /// One pass over the pages from `url`: appends the items whose id is not in `ids` yet (and,
    /// on the `first` pass only, those without an id), and returns the last page's `count`
    /// (`None` when it is missing or only a lower bound, `count_is_capped`).
    async fn list_pass<T: DeserializeOwned>(
        &self,
        mut url: Url,
        first: bool,
        ids: &mut HashSet<String>,
        items: &mut Vec<T>,
    ) -> Result<Option<usize>> {
        let mut visited: HashSet<String> = HashSet::new();
        loop {
            visited.insert(url.to_string());
            let call = Call {
                method: Method::GET,
                url: url.clone(),
                body: None,
                access: Access::Read,
            };
            let request = call.describe();
            let page: ListPage<Value> = match self.t.execute(call).await {
                Ok(reply) => self.decode(&reply.body, &request)?,
                Err(f) => return Err(self.map(f, "project", &self.project_id.clone())),
            };
            for item in page.results {
                // An item without an id cannot repeat as far as kodo can tell: keep it, once.
                let fresh = match item.get("id").filter(|id| !id.is_null()) {
                    Some(id) => ids.insert(id.to_string()),
                    None => first,
                };
                if fresh {
                    items.push(serde_json::from_value(item).map_err(|e| ApiError::Decode {
                        service: Service::PostHog,
                        what: request.clone(),
                        message: e.to_string(),
                    })?);
                }
            }
            let Some(next) = page.next.filter(|n| !n.is_empty()) else {
                let exact = page
                    .count
                    .filter(|_| !page.count_is_capped.unwrap_or(false));
                return Ok(exact.and_then(|c| usize::try_from(c).ok()));
            };
            url = self.follow(&next, &request)?;
            if visited.contains(url.as_str()) {
                return Err(ApiError::Decode {
                    service: Service::PostHog,
                    what: request,
                    message: format!("the next page link {url} points back to a page already read"),
                });
            }
        }
    }

    /// Resolves a `next` link: same host (and port) as the configured URL only, fetched with
    /// the configured scheme.
    fn follow(&self, next: &str, request: &str) -> Result<Url> {
        let parsed = Url::parse(next).or_else(|_| self.t.base.join(next));
        let foreign = |message: String| ApiError::Decode {
            service: Service::PostHog,
            what: request.to_owned(),
            message,
        };
        let mut url = parsed
            .map_err(|e| foreign(format!("the next page link {next:?} is not a URL ({e})")))?;
        let base = &self.t.base;
        if url.host_str() != base.host_str() {
            return Err(foreign(format!(
                "the next page link points to another host ({}); kodo only sends the key to {}",
                url.host_str().unwrap_or("?"),
                self.region_url
            )));
        }
        if url.port().is_some() && url.port_or_known_default() != base.port_or_known_default() {
            return Err(foreign(format!(
                "the next page link points to another port ({}); kodo only sends the key to {}",
                url.port_or_known_default().unwrap_or(0),
                self.region_url
            )));
        }
        // Same host: fetch it the way the user configured (never downgrade https to http).
        let _ = url.set_scheme(base.scheme());
        let _ = url.set_port(base.port());
        Ok(url)
    }

    fn decode<T: DeserializeOwned>(&self, body: &[u8], what: &str) -> Result<T> {
        serde_json::from_slice(body).map_err(|e| ApiError::Decode {
            service: Service::PostHog,
            what: what.to_owned(),
            message: e.to_string(),
        })
    }

    fn scopes_hint(&self, detail: &str) -> String {
        let scopes = REQUIRED_SCOPES.join(", ");
        let var = &self.key_env_var;
        if self.project_key {
            format!(
                "the key in {var} is a project API key (phc_…), which cannot read these endpoints; \
                 create a personal API key (phx_…) under Settings → Personal API keys with the \
                 scopes {scopes}, and put it in {var}"
            )
        } else {
            format!(
                "{detail} Check {var}: it must be a personal API key (phx_…) with access to \
                 project {} and the scopes {scopes}",
                self.project_id
            )
        }
    }

    /// What to do about a 403 for a personal key: the scope PostHog named, else every scope
    /// kodo needs.
    fn missing_scope_hint(&self, detail: &str) -> String {
        let var = &self.key_env_var;
        let named = detail
            .split_once("missing required scope '")
            .and_then(|(_, rest)| rest.split_once('\''))
            .map(|(scope, _)| scope);
        match named {
            Some(scope) => format!(
                "Add the scope {scope} to the personal API key in {var} (PostHog: Settings → \
                 Personal API keys → edit the key), with access to project {}.",
                self.project_id
            ),
            None => format!(
                "Check {var}: the personal API key needs access to project {} and the scopes {}.",
                self.project_id,
                REQUIRED_SCOPES.join(", ")
            ),
        }
    }

    fn map(&self, f: Failure, what: &str, id: &str) -> ApiError {
        let body = f.json();
        let field = |k: &str| {
            body.as_ref()
                .and_then(|b| b.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let code = field("code");
        let detail = self.t.redact(&match (field("detail"), &f.kind) {
            (Some(d), _) => d,
            (None, FailureKind::Status { body, .. }) => {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                if text.is_empty() {
                    "(no details)".to_owned()
                } else {
                    text.chars().take(200).collect()
                }
            }
            (None, FailureKind::Network { message, .. }) => message.clone(),
        });
        let Answered {
            status,
            request,
            attempts,
            elapsed,
        } = match f.answered(Service::PostHog) {
            Ok(answered) => answered,
            Err(unanswered) => return unanswered,
        };
        match status {
            // A personal key PostHog accepted whose scopes (or projects) do not cover the
            // request: 403 `permission_denied`, "API key missing required scope
            // 'experiment:read'" (PostHog/posthog posthog/permissions.py,
            // `APIScopePermission`). The credential is valid; the key needs another scope.
            403 if !self.project_key && code.as_deref() == Some("permission_denied") => {
                ApiError::Forbidden {
                    service: Service::PostHog,
                    hint: self.missing_scope_hint(&detail),
                    message: if detail.ends_with('.') {
                        detail
                    } else {
                        format!("{detail}.")
                    },
                }
            }
            401 | 403 => ApiError::Unauthorized {
                service: Service::PostHog,
                hint: self.scopes_hint(&detail),
            },
            404 => {
                let hint = format!(
                    "Check posthog.project_id ({}) and posthog.region_url ({}): US projects are on \
                     https://us.posthog.com, EU projects on https://eu.posthog.com.",
                    self.project_id, self.region_url
                );
                if what == "project" {
                    ApiError::NotFound {
                        service: Service::PostHog,
                        what: "project".to_owned(),
                        id: self.project_id.clone(),
                        hint,
                    }
                } else {
                    ApiError::NotFound {
                        service: Service::PostHog,
                        what: what.to_owned(),
                        id: id.to_owned(),
                        hint,
                    }
                }
            }
            400 => {
                let attr = field("attr");
                ApiError::Validation {
                    service: Service::PostHog,
                    request,
                    message: match attr {
                        Some(a) => format!("{detail} (field: {a})"),
                        None => detail,
                    },
                }
            }
            429 => ApiError::RateLimited {
                service: Service::PostHog,
                request,
                attempts,
                elapsed,
            },
            _ => ApiError::Server {
                service: Service::PostHog,
                request,
                status,
                code,
                message: detail,
                attempts,
                elapsed,
            },
        }
    }
}

#[cfg(test)]
mod tests;
