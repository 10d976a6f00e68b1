//! The PostHog half of the sandbox: one project's event definitions, feature flags,
//! experiments and dashboards, served like PostHog's private REST API
//! (`/api/projects/{id}/…` and `/api/environments/{id}/…`).
//!
//! Invariants and behaviours copied from PostHog (see posthog-notes.md and decisions.md):
//! - objects are stored as JSON maps and rendered with PostHog's field order; derived
//!   fields (`is_simple_flag`, `rollout_percentage`, `status`, `experiment_set`, an
//!   experiment's embedded `feature_flag`) are computed on every read, never stored;
//! - lists use DRF limit/offset pagination (default 100) with absolute `next`/`previous`
//!   URLs whose query parameters are sorted, as DRF's `replace_query_param` does;
//! - deleted flags are left out of the list but still retrievable; deleted dashboards and
//!   experiments are left out of both; archived experiments are listed only with
//!   `?archived=true`, which lists only them;
//! - archived flags (PostHog/posthog PR #63338, `FeatureFlag.archived` in
//!   products/feature_flags/backend/models/feature_flag.py) are left out of the flag list
//!   unless `?archived=` is given (`true`: only archived, `false`: only the others), are still
//!   retrievable, report `status: "ARCHIVED"`, and must be disabled (an archived flag that
//!   would be active is refused);
//! - creating a flag creates its usage dashboard "Generated Dashboard: <key> Usage"
//!   (`creation_mode: "template"`, `_create_usage_dashboard` in
//!   products/feature_flags/backend/api/feature_flag.py); the dashboard list hides such
//!   dashboards only with `?exclude_generated=true` and is ordered pinned first, then by name
//!   (`DashboardsViewSet` in products/dashboards/backend/api/dashboard.py);
//! - soft-deleting a flag some experiment uses renames its key to `<key>:deleted:<id>`
//!   (`FeatureFlag.tombstoned_key`), a running experiment blocks the delete, restoring it
//!   restores the key, and creating a flag with the key of a soft-deleted one frees the key
//!   (`_free_key_held_by_soft_deleted_flags`: the old flag is removed, or tombstoned when an
//!   experiment still references it);
//! - experiments report `status` (`draft`/`running`/`stopped`, `Experiment.computed_status` in
//!   products/experiments/backend/models/experiment.py), accept only PostHog's `conclusion`
//!   choices, and carry their shared metrics as `saved_metrics` (`ExperimentToSavedMetric`:
//!   `id`, `experiment`, `saved_metric`, `metadata`, `created_at`, `query`, `name`) from
//!   `saved_metrics_ids: [{id, metadata: {type}}]`;
//! - lists are ordered as PostHog orders them, all of them live orderings: flags
//!   `order_by("-created_at")` (`FeatureFlagViewSet.safely_get_queryset`,
//!   products/feature_flags/backend/api/feature_flag.py; `?order=` is not emulated),
//!   dashboards `order_by("-pinned", "name")` (`DashboardsViewSet.queryset`,
//!   products/dashboards/backend/api/dashboard.py), experiments `-created_at`
//!   (`EnterpriseExperimentsViewSet.ordering`, ee/clickhouse/views/experiments.py), event
//!   definitions `-last_seen_at::date` then `name` (`EventDefinitionViewSet._stable_ordering`,
//!   posthog/api/event_definition.py; see [`EventDefinitionOrder`]); ties broken by id;
//! - an optional list-shift mode serves every page after the first as if `list_shift` items
//!   had been inserted ahead of it meanwhile, as limit/offset pagination over a live ordering
//!   does when something is created mid-listing (items repeat across pages);
//! - flags, experiments and dashboards cannot be DELETEd (405): PATCH `{"deleted": true}`.

use rand::rngs::StdRng;
use serde_json::{json, Map, Value};

use crate::{clock, ids, trigram};

/// A PostHog error answer (`{type, code, detail, attr}`).
#[derive(Debug, Clone, PartialEq)]
pub struct PosthogError {
    pub status: u16,
    pub kind: &'static str,
    pub code: &'static str,
    pub detail: String,
    pub attr: Option<String>,
}

impl PosthogError {
    fn new(status: u16, kind: &'static str, code: &'static str, detail: impl Into<String>) -> Self {
        PosthogError {
            status,
            kind,
            code,
            detail: detail.into(),
            attr: None,
        }
    }

    /// 400 `validation_error` on a field.
    pub fn validation(code: &'static str, detail: impl Into<String>, attr: Option<&str>) -> Self {
        let mut error = Self::new(400, "validation_error", code, detail);
        error.attr = attr.map(str::to_string);
        error
    }

    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(404, "invalid_request", "not_found", "Not found.")
    }

    /// 405 for a method the resource does not allow.
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            405,
            "invalid_request",
            "method_not_allowed",
            format!("Method \"{method}\" not allowed."),
        )
    }

    /// 401 for a missing Authorization header.
    pub fn not_authenticated() -> Self {
        Self::new(
            401,
            "authentication_error",
            "not_authenticated",
            "Authentication credentials were not provided.",
        )
    }

    /// 401 for an unknown, revoked or project (`phc_`) key.
    pub fn authentication_failed() -> Self {
        Self::new(
            401,
            "authentication_error",
            "authentication_failed",
            "Personal API key found in request Authorization header is invalid.",
        )
    }

    /// 403 for a personal API key that lacks the scope an action needs. PostHog/posthog
    /// `posthog/permissions.py`, `APIScopePermission.has_permission`: the message is
    /// `API key missing required scope '{required_scope}'`; DRF's `PermissionDenied` is
    /// rendered `{"type": "authentication_error", "code": "permission_denied", ...}` (the body
    /// quoted in PostHog/posthog issue #30993).
    pub fn missing_scope(required: &str) -> Self {
        Self::new(
            403,
            "authentication_error",
            "permission_denied",
            format!("API key missing required scope '{required}'"),
        )
    }

    /// 403 for a personal API key limited to other projects (`PersonalAPIKey.scoped_teams`).
    /// PostHog/posthog `posthog/permissions.py`,
    /// `APIScopePermission.check_team_and_org_permissions`: when the key has `scoped_teams` and
    /// the view's team is not among them, `PermissionDenied(f"API key does not have access to
    /// the requested project: ID {team.id}.")`, checked before the scopes.
    pub fn project_not_in_key(project_id: i64) -> Self {
        Self::new(
            403,
            "authentication_error",
            "permission_denied",
            format!("API key does not have access to the requested project: ID {project_id}."),
        )
    }

    /// 429 `throttled` with the wait in whole seconds.
    pub fn throttled(wait_secs: u64) -> Self {
        let unit = if wait_secs == 1 { "second" } else { "seconds" };
        Self::new(
            429,
            "throttled_error",
            "throttled",
            format!("Request was throttled. Expected available in {wait_secs} {unit}."),
        )
    }

    /// 400 for a body that is not JSON.
    pub fn parse_error(detail: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", "parse_error", detail)
    }

    /// 415 for a body sent with another content type.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "invalid_request",
            "unsupported_media_type",
            format!("Unsupported media type \"{content_type}\" in request."),
        )
    }

    /// 500 as drf-exceptions-hog words an unhandled error.
    pub fn server_error() -> Self {
        Self::new(500, "server_error", "error", "A server error occurred.")
    }

    /// The JSON body.
    pub fn to_json(&self) -> Value {
        json!({"type": self.kind, "code": self.code, "detail": self.detail, "attr": self.attr})
    }
}

/// The four kinds of objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    EventDefinitions,
    FeatureFlags,
    Experiments,
    Dashboards,
}

impl Resource {
    /// The viewset's `scope_object` (`feature_flag` in posthog/api/feature_flag.py,
    /// `dashboard` in products/dashboards/backend/api/dashboard.py, `experiment`,
    /// `event_definition`): the key needs `<object>:read` to list or retrieve and
    /// `<object>:write` to create or update.
    pub fn scope_object(self) -> &'static str {
        match self {
            Resource::EventDefinitions => "event_definition",
            Resource::FeatureFlags => "feature_flag",
            Resource::Experiments => "experiment",
            Resource::Dashboards => "dashboard",
        }
    }

    /// From the URL segment.
    pub fn from_segment(segment: &str) -> Option<Resource> {
        match segment {
            "event_definitions" => Some(Resource::EventDefinitions),
            "feature_flags" => Some(Resource::FeatureFlags),
            "experiments" => Some(Resource::Experiments),
            "dashboards" => Some(Resource::Dashboards),
            _ => None,
        }
    }
}

/// The PostHog project held in memory.
#[derive(Debug)]
pub struct PosthogStore {
    pub key: crate::secret::Token,
    /// The personal API key's scopes (`PersonalAPIKey.scopes`): `["*"]` for an all-access
    /// key, else `object:read` / `object:write` entries; see [`PosthogStore::check_scope`].
    pub scopes: Vec<String>,
    /// The projects the key is limited to (`PersonalAPIKey.scoped_teams`): `None` for every
    /// project of the organization; see [`PosthogError::project_not_in_key`].
    pub scoped_teams: Option<Vec<i64>>,
    pub project_id: i64,
    pub project_name: String,
    pub organization_id: String,
    pub organization_slug: String,
    pub organization_name: String,
    /// The owner of the personal API key (creator of API-made objects).
    pub api_user: Value,
    /// Known PostHog users (UserBasic), for scenario and admin `created_by` by email.
    pub users: Vec<Value>,
    /// The organization's current members (`OrganizationMemberSerializer` objects): the users
    /// who have not left.
    pub members: Vec<Value>,
    pub event_definitions: Vec<Map<String, Value>>,
    pub feature_flags: Vec<Map<String, Value>>,
    pub experiments: Vec<Map<String, Value>>,
    pub dashboards: Vec<Map<String, Value>>,
    /// Shared experiment metrics (`ExperimentSavedMetric`: id, name, description, query,
    /// metadata, created_by, created_at, updated_at).
    pub saved_metrics: Vec<Map<String, Value>>,
    /// Property definitions and the events they were seen on.
    pub properties: crate::property_definitions::PropertyStore,
    /// List-shift mode: pages after the first are served `list_shift` items earlier, as if
    /// that many items had been inserted ahead of them between the requests (0 = off).
    pub list_shift: usize,
    /// Re-seen mode: before every page of the event definitions after the first, the
    /// `list_reseen` definitions listed last are seen again (`last_seen_at` now), as PostHog's
    /// ingestion does while a client pages: each moves ahead of the pages already read, so the
    /// listing skips it (and repeats as many) (0 = off).
    pub list_reseen: usize,
    pub rng: StdRng,
}

/// The name prefix of the dashboards PostHog generates for flags
/// (`GENERATED_DASHBOARD_PREFIX`, products/dashboards/backend/api/dashboard.py).
pub const GENERATED_DASHBOARD_PREFIX: &str = "Generated Dashboard";

/// The `conclusion` choices of `Experiment` (products/experiments/backend/models/experiment.py).
pub const EXPERIMENT_CONCLUSIONS: [&str; 5] =
    ["won", "lost", "inconclusive", "stopped_early", "invalid"];

/// The tombstoned key of a soft-deleted flag (`FeatureFlag.tombstoned_key`).
pub fn tombstoned_key(key: &str, id: i64) -> String {
    format!("{key}:deleted:{id}")
}

/// A successful answer.
#[derive(Debug)]
pub struct PosthogOk {
    pub status: u16,
    pub body: Option<Value>,
}

/// What a request needs to know about where it arrived.
#[derive(Debug, Clone, Default)]
pub struct RequestUrl {
    /// `http://host:port`, from the Host header.
    pub origin: String,
    /// The request path as received.
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
}

fn s<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

fn b(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The dashboards list's `?search=`, as PostHog's `DashboardsViewSet._apply_search` runs it
/// (PostHog/posthog `posthog/api/dashboards/dashboard.py` and its `apply_trigram_search`
/// helper, with `NAME_FIELD`, `DESCRIPTION_FIELD`, `include_tag_search=True`, tiebreakers
/// `-pinned`, `name`): NUL bytes stripped and the term trimmed; rows whose name, description
/// or a tag name contains it (case-insensitive) are `exact` matches and, when there is any,
/// the only ones returned; otherwise rows whose trigram word similarity to the name exceeds
/// 0.3 (`MIN_NAME_TRIGRAM_SIMILARITY`) or to the description exceeds 0.4
/// (`MIN_DESCRIPTION_TRIGRAM_SIMILARITY`) are `similar` matches. Ordered by
/// `_search_score` = word and full similarity on the name + 0.5 × word similarity on the
/// description (`DESCRIPTION_SCORE_WEIGHT`), highest first.
struct DashboardSearch {
    term: String,
}

/// How one dashboard matched: exact or not, and its relevance score.
struct DashboardHit {
    exact: bool,
    score: f64,
}

/// `MAX_SEARCH_LENGTH`: a longer `?search=` is a 400.
const MAX_SEARCH_LENGTH: usize = 200;

impl DashboardSearch {
    /// `None` when the parameter is absent or empty after normalising (no filter); an error
    /// for a query longer than [`MAX_SEARCH_LENGTH`] characters (checked before normalising).
    fn parse(raw: Option<&str>) -> Result<Option<Self>, PosthogError> {
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return Ok(None);
        };
        if raw.chars().count() > MAX_SEARCH_LENGTH {
            return Err(PosthogError::validation(
                "invalid_input",
                format!("Search query must be {MAX_SEARCH_LENGTH} characters or fewer."),
                Some("search"),
            ));
        }
        let term = raw.replace('\0', "").trim().to_string();
        Ok((!term.is_empty()).then_some(DashboardSearch { term }))
    }

    fn hit(&self, d: &Map<String, Value>) -> DashboardHit {
        let name = s(d, "name").unwrap_or_default();
        let description = s(d, "description").unwrap_or_default();
        let needle = self.term.to_lowercase();
        let contains = |text: &str| text.to_lowercase().contains(&needle);
        let tagged = d
            .get("tags")
            .and_then(Value::as_array)
            .is_some_and(|tags| tags.iter().filter_map(Value::as_str).any(contains));
        let word_name = trigram::word_similarity(&self.term, name);
        let word_description = trigram::word_similarity(&self.term, description);
        DashboardHit {
            exact: contains(name) || contains(description) || tagged,
            score: word_name + trigram::similarity(name, &self.term) + 0.5 * word_description,
        }
    }

    fn similar(&self, d: &Map<String, Value>) -> bool {
        trigram::word_similarity(&self.term, s(d, "name").unwrap_or_default()) > 0.3
            || trigram::word_similarity(&self.term, s(d, "description").unwrap_or_default()) > 0.4
    }
}

/// The event definitions list's `ORDER BY`, as `EventDefinitionViewSet` builds it
/// (PostHog/posthog posthog/api/event_definition.py, `_requested_ordering`,
/// `_stable_ordering`, `create_event_definitions_sql`): the `?ordering=` fields it knows
/// (`name`, `last_seen_at`, `last_seen_at::date`, `created_at`, `created_at::date`, `-` for
/// descending; repeated or comma-joined; unknown ones dropped), by default
/// `-last_seen_at::date` then `name`; `name` is appended when missing (it is unique, so pages
/// are stable); with search terms and no `?ordering=`, `length(name)` first. Timestamps sort
/// `NULLS FIRST` ascending and `NULLS LAST` descending (never-seen events come last by
/// default); `::date` compares the UTC date only. Projects with more than 100,000
/// definitions (`NAME_ORDER_MIN_DEFINITIONS`) default to name order: not emulated.
struct EventDefinitionOrder {
    keys: Vec<(EventOrderKey, bool)>,
}

/// One `ORDER BY` expression of [`EventDefinitionOrder`].
#[derive(Clone, Copy, PartialEq)]
enum EventOrderKey {
    Name,
    NameLength,
    /// The field, and whether only its date counts (`::date`).
    Timestamp(&'static str, bool),
}

impl EventDefinitionOrder {
    fn from_request(url: &RequestUrl, has_search_terms: bool) -> Self {
        let mut keys: Vec<(EventOrderKey, bool)> = url
            .query
            .iter()
            .filter(|(k, _)| k == "ordering")
            .flat_map(|(_, v)| v.split(','))
            .filter_map(|field| {
                let descending = field.contains('-');
                let key = match field.replace('-', "").as_str() {
                    "name" => EventOrderKey::Name,
                    "last_seen_at" => EventOrderKey::Timestamp("last_seen_at", false),
                    "last_seen_at::date" => EventOrderKey::Timestamp("last_seen_at", true),
                    "created_at" => EventOrderKey::Timestamp("created_at", false),
                    "created_at::date" => EventOrderKey::Timestamp("created_at", true),
                    _ => return None,
                };
                Some((key, descending))
            })
            .collect();
        let requested = !keys.is_empty();
        if !requested {
            keys.push((EventOrderKey::Timestamp("last_seen_at", true), true));
        }
        if !keys.iter().any(|(k, _)| *k == EventOrderKey::Name) {
            keys.push((EventOrderKey::Name, false));
        }
        if has_search_terms && !requested {
            keys.insert(0, (EventOrderKey::NameLength, false));
        }
        EventDefinitionOrder { keys }
    }

    fn compare(&self, x: &Map<String, Value>, y: &Map<String, Value>) -> std::cmp::Ordering {
        self.keys
            .iter()
            .map(|&(key, descending)| {
                let ordering = match key {
                    EventOrderKey::Name => s(x, "name").cmp(&s(y, "name")),
                    EventOrderKey::NameLength => name_length(x).cmp(&name_length(y)),
                    // ASC NULLS FIRST and DESC NULLS LAST both put a null below every
                    // timestamp before the direction is applied: Option's own order.
                    EventOrderKey::Timestamp(field, date_only) => {
                        timestamp(x, field, date_only).cmp(&timestamp(y, field, date_only))
                    }
                };
                if descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

/// Postgres `length(name)`: characters, not bytes.
fn name_length(map: &Map<String, Value>) -> usize {
    s(map, "name").unwrap_or_default().chars().count()
}

/// An ISO timestamp field, or only its date (`::date`, UTC); `None` when null.
fn timestamp<'a>(map: &'a Map<String, Value>, field: &str, date_only: bool) -> Option<&'a str> {
    s(map, field).map(|t| {
        if date_only {
            t.get(..10).unwrap_or(t)
        } else {
            t
        }
    })
}

fn id_of(map: &Map<String, Value>) -> Option<i64> {
    map.get("id").and_then(Value::as_i64)
}

/// PostHog's DateTimeField output: `2021-12-01T10:23:00Z`, with microseconds when non-zero.
pub fn drf_datetime(at: time::OffsetDateTime) -> String {
    if at.microsecond() == 0 {
        let full = clock::posthog(at);
        format!("{}Z", &full[..19])
    } else {
        clock::posthog(at)
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl PosthogStore {
    fn next_id(list: &[Map<String, Value>]) -> i64 {
        list.iter().filter_map(id_of).max().unwrap_or(0) + 1
    }

    /// The member with this e-mail leaves the organization (as an admin removes them): they
    /// leave the members list and stay the `created_by` of what they made. `false` when no
    /// member has it.
    pub fn remove_member(&mut self, email: &str) -> bool {
        let before = self.members.len();
        self.members.retain(|m| {
            !m["user"]["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        });
        self.members.len() < before
    }

    /// A creator given as an email (looked up), a UserBasic object, or null.
    pub fn resolve_user(&self, value: &Value) -> Value {
        match value {
            Value::String(email) => self
                .users
                .iter()
                .find(|u| u.get("email").and_then(Value::as_str) == Some(email.as_str()))
                .cloned()
                .unwrap_or_else(|| {
                    json!({
                        "id": 900 + self.users.len(),
                        "uuid": ids::stable_uuid(email),
                        "distinct_id": ids::stable_uuid(&format!("distinct/{email}")),
                        "first_name": email.split('@').next().unwrap_or_default(),
                        "last_name": "",
                        "email": email,
                        "is_email_verified": true,
                        "hedgehog_config": null,
                        "role_at_organization": null,
                    })
                }),
            other => other.clone(),
        }
    }

    fn flag_by_key(&self, key: &str) -> Option<&Map<String, Value>> {
        self.feature_flags
            .iter()
            .find(|f| s(f, "key") == Some(key) && !b(f, "deleted"))
    }

    // ---------------------------------------------------------------- rendering

    /// A flag as the API shows it.
    pub fn flag_json(&self, flag: &Map<String, Value>) -> Value {
        let filters = flag.get("filters").cloned().unwrap_or_else(|| json!({}));
        let groups = filters["groups"].as_array().cloned().unwrap_or_default();
        let simple = groups.len() == 1
            && groups
                .iter()
                .all(|g| g["properties"].as_array().is_none_or(Vec::is_empty))
            && filters["multivariate"].is_null()
            && filters["aggregation_group_type_index"].is_null();
        let rollout = if simple {
            groups[0]["rollout_percentage"].clone()
        } else {
            Value::Null
        };
        let flag_id = id_of(flag);
        let experiment_set: Vec<Value> = self
            .experiments
            .iter()
            .filter(|e| {
                !b(e, "deleted") && e.get("feature_flag_id").and_then(Value::as_i64) == flag_id
            })
            .filter_map(|e| e.get("id").cloned())
            .collect();
        let status = if b(flag, "deleted") {
            "DELETED"
        } else if b(flag, "archived") {
            "ARCHIVED"
        } else {
            "ACTIVE"
        };
        let derived = json!({
            "is_simple_flag": simple,
            "rollout_percentage": rollout,
            "experiment_set": experiment_set,
            "status": status,
        });
        ordered(
            flag,
            &derived,
            &[
                "id",
                "name",
                "key",
                "filters",
                "deleted",
                "active",
                "archived",
                "created_by",
                "created_at",
                "updated_at",
                "version",
                "last_modified_by",
                "is_simple_flag",
                "rollout_percentage",
                "ensure_experience_continuity",
                "experiment_set",
                "surveys",
                "features",
                "rollback_conditions",
                "performed_rollback",
                "can_edit",
                "tags",
                "usage_dashboard",
                "analytics_dashboards",
                "has_enriched_analytics",
                "user_access_level",
                "creation_context",
                "is_remote_configuration",
                "has_encrypted_payloads",
                "status",
                "evaluation_runtime",
            ],
        )
    }

    /// An experiment as the API shows it.
    pub fn experiment_json(&self, experiment: &Map<String, Value>) -> Value {
        let flag = experiment
            .get("feature_flag_id")
            .and_then(Value::as_i64)
            .and_then(|id| self.feature_flags.iter().find(|f| id_of(f) == Some(id)));
        let embedded = flag.map(|f| {
            json!({
                "id": f.get("id"),
                "team_id": self.project_id,
                "name": f.get("name"),
                "key": f.get("key"),
                "filters": f.get("filters"),
                "deleted": b(f, "deleted"),
                "active": b(f, "active"),
                "ensure_experience_continuity": b(f, "ensure_experience_continuity"),
                "has_encrypted_payloads": b(f, "has_encrypted_payloads"),
                "version": f.get("version"),
                "evaluation_runtime": f.get("evaluation_runtime"),
            })
        });
        let set = |k: &str| experiment.get(k).is_some_and(|v| !v.is_null());
        // Experiment.computed_status: stopped once launched and ended, running once launched.
        let status = match (set("start_date"), set("end_date")) {
            (true, true) => "stopped",
            (true, false) => "running",
            _ => "draft",
        };
        let experiment_id = experiment.get("id").cloned().unwrap_or(Value::Null);
        let saved_metrics: Vec<Value> = experiment
            .get("saved_metrics_ids")
            .and_then(Value::as_array)
            .map(|links| {
                links
                    .iter()
                    .enumerate()
                    .filter_map(|(i, link)| {
                        let id = link.get("id").and_then(Value::as_i64)?;
                        let metric = self.saved_metrics.iter().find(|m| id_of(m) == Some(id))?;
                        let link_id = experiment_id.as_i64().unwrap_or(0) * 1000 + i as i64 + 1;
                        Some(json!({
                            "id": link_id,
                            "experiment": experiment_id,
                            "saved_metric": id,
                            "metadata": link.get("metadata").cloned().unwrap_or_else(|| json!({})),
                            "created_at": experiment.get("created_at"),
                            "query": metric.get("query"),
                            "name": metric.get("name"),
                        }))
                    })
                    .collect()
            })
            .unwrap_or_default();
        // The serializer reads the key through get_feature_flag_key(), which strips the
        // soft-delete tombstone.
        let flag_key = flag
            .and_then(|f| s(f, "key"))
            .map(|k| {
                match (
                    k.rsplit_once(":deleted:"),
                    flag.is_some_and(|f| b(f, "deleted")),
                ) {
                    (Some((original, _)), true) => original.to_string(),
                    _ => k.to_string(),
                }
            })
            .map(Value::String)
            .or_else(|| experiment.get("feature_flag_key").cloned());
        let derived = json!({
            "feature_flag": embedded,
            "feature_flag_key": flag_key,
            "saved_metrics": saved_metrics,
            "status": status,
        });
        let mut out = ordered(
            experiment,
            &derived,
            &[
                "id",
                "name",
                "description",
                "start_date",
                "end_date",
                "feature_flag_key",
                "feature_flag",
                "holdout",
                "holdout_id",
                "exposure_cohort",
                "parameters",
                "secondary_metrics",
                "saved_metrics",
                "saved_metrics_ids",
                "filters",
                "archived",
                "deleted",
                "created_by",
                "created_at",
                "updated_at",
                "type",
                "exposure_criteria",
                "metrics",
                "metrics_secondary",
                "stats_config",
                "conclusion",
                "conclusion_comment",
                "status",
                "primary_metrics_ordered_uuids",
                "secondary_metrics_ordered_uuids",
                "user_access_level",
            ],
        );
        if let Some(map) = out.as_object_mut() {
            map.remove("feature_flag_id");
        }
        out
    }

    /// A dashboard as the API shows it (`detail` adds the retrieve-only fields).
    pub fn dashboard_json(&self, dashboard: &Map<String, Value>, detail: bool) -> Value {
        let derived = json!({ "team_id": self.project_id });
        let mut keys = vec![
            "id",
            "name",
            "description",
            "pinned",
            "created_at",
            "created_by",
            "last_accessed_at",
            "is_shared",
            "deleted",
            "creation_mode",
            "tags",
            "restriction_level",
            "effective_restriction_level",
            "effective_privilege_level",
            "user_access_level",
            "access_control_version",
            "last_refresh",
            "team_id",
        ];
        if detail {
            keys.extend([
                "filters",
                "variables",
                "breakdown_colors",
                "data_color_theme_id",
                "tiles",
                "persisted_filters",
                "persisted_variables",
            ]);
        }
        let mut out = ordered(dashboard, &derived, &keys);
        if !detail {
            if let Some(map) = out.as_object_mut() {
                for key in [
                    "filters",
                    "variables",
                    "breakdown_colors",
                    "data_color_theme_id",
                    "tiles",
                    "persisted_filters",
                    "persisted_variables",
                ] {
                    map.remove(key);
                }
            }
        }
        out
    }

    /// An event definition as the API shows it.
    pub fn event_definition_json(&self, definition: &Map<String, Value>) -> Value {
        ordered(
            definition,
            &json!({}),
            &[
                "id",
                "name",
                "owner",
                "description",
                "tags",
                "created_at",
                "updated_at",
                "updated_by",
                "last_seen_at",
                "last_updated_at",
                "verified",
                "verified_at",
                "verified_by",
                "hidden",
                "is_action",
                "action_id",
                "is_calculating",
                "last_calculated_at",
                "created_by",
                "post_to_slack",
                "default_columns",
            ],
        )
    }

    /// Everything, including deleted objects (admin state).
    pub fn state_json(&self) -> Value {
        json!({
            "project_id": self.project_id,
            "organization_slug": self.organization_slug,
            "event_definitions": self.event_definitions.iter().map(|d| self.event_definition_json(d)).collect::<Vec<_>>(),
            "feature_flags": self.feature_flags.iter().map(|f| self.flag_json(f)).collect::<Vec<_>>(),
            "experiments": self.experiments.iter().map(|e| self.experiment_json(e)).collect::<Vec<_>>(),
            "dashboards": self.dashboards.iter().map(|d| self.dashboard_json(d, true)).collect::<Vec<_>>(),
            "property_definitions": self.properties.state_json(),
        })
    }

    // ---------------------------------------------------------------- creation

    fn now() -> String {
        clock::posthog(clock::now())
    }

    /// Normalises a flag's `filters` as PostHog's serializer does.
    fn normalize_filters(filters: &Value) -> Result<Value, PosthogError> {
        let invalid =
            |detail: &str| PosthogError::validation("invalid_input", detail, Some("filters"));
        let mut filters = match filters {
            Value::Object(map) => map.clone(),
            Value::Null => Map::new(),
            _ => return Err(invalid("Filters must be an object.")),
        };
        let groups = match filters.get("groups") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(groups)) => groups.clone(),
            Some(_) => return Err(invalid("Groups must be a list.")),
        };
        let mut normalized = Vec::new();
        for group in groups {
            let Value::Object(group) = group else {
                return Err(invalid("Each group must be an object."));
            };
            let rollout = group
                .get("rollout_percentage")
                .cloned()
                .unwrap_or(Value::Null);
            if !rollout.is_null() && !rollout.as_f64().is_some_and(|p| (0.0..=100.0).contains(&p)) {
                return Err(invalid(
                    "Rollout percentage must be a number between 0 and 100.",
                ));
            }
            let mut ordered_group = Map::new();
            ordered_group.insert(
                "properties".into(),
                group
                    .get("properties")
                    .cloned()
                    .unwrap_or_else(|| json!([])),
            );
            ordered_group.insert("rollout_percentage".into(), rollout);
            ordered_group.insert(
                "variant".into(),
                group.get("variant").cloned().unwrap_or(Value::Null),
            );
            for (k, v) in group {
                ordered_group.entry(k).or_insert(v);
            }
            normalized.push(Value::Object(ordered_group));
        }
        filters.insert("groups".into(), Value::Array(normalized));
        filters.entry("payloads").or_insert_with(|| json!({}));
        filters.entry("multivariate").or_insert(Value::Null);
        if let Some(variants) = filters["multivariate"].get("variants") {
            let total: f64 = variants
                .as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(|x| x["rollout_percentage"].as_f64())
                        .sum()
                })
                .unwrap_or(0.0);
            if (total - 100.0).abs() > f64::EPSILON {
                return Err(invalid(
                    "Invalid variant definitions: Variant rollout percentages must sum to 100.",
                ));
            }
        }
        Ok(Value::Object(filters))
    }

    fn check_flag_key(
        &self,
        key: Option<&Value>,
        except_id: Option<i64>,
    ) -> Result<String, PosthogError> {
        let key = match key {
            None | Some(Value::Null) => {
                return Err(PosthogError::validation(
                    "required",
                    "This field is required.",
                    Some("key"),
                ))
            }
            Some(Value::String(k)) => k.clone(),
            Some(_) => {
                return Err(PosthogError::validation(
                    "invalid",
                    "Not a valid string.",
                    Some("key"),
                ))
            }
        };
        if key.is_empty() {
            return Err(PosthogError::validation(
                "blank",
                "This field may not be blank.",
                Some("key"),
            ));
        }
        if !valid_key(&key) {
            return Err(PosthogError::validation(
                "invalid_key",
                "Only letters, numbers, hyphens (\"-\") & underscores (\"_\") are allowed.",
                Some("key"),
            ));
        }
        let taken = self.feature_flags.iter().any(|f| {
            s(f, "key") == Some(key.as_str()) && !b(f, "deleted") && id_of(f) != except_id
        });
        if taken {
            return Err(PosthogError::validation(
                "unique",
                "There is already a feature flag with this key.",
                Some("key"),
            ));
        }
        Ok(key)
    }

    /// Creates a flag. `strict` applies the API's validation; admin/scenario creation
    /// still checks the key (a flag needs one) but allows any other field.
    pub fn create_flag(
        &mut self,
        body: &Map<String, Value>,
        creator: Value,
    ) -> Result<Map<String, Value>, PosthogError> {
        let key = self.check_flag_key(body.get("key"), None)?;
        let filters = Self::normalize_filters(body.get("filters").unwrap_or(&Value::Null))?;
        self.free_key_held_by_soft_deleted_flags(&key, None)?;
        let now = Self::now();
        let id = body
            .get("id")
            .and_then(Value::as_i64)
            .unwrap_or_else(|| Self::next_id(&self.feature_flags));
        let mut flag = json!({
            "id": id,
            "name": "",
            "key": key,
            "filters": filters,
            "deleted": false,
            "active": true,
            "archived": false,
            "created_by": creator,
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "last_modified_by": creator,
            "ensure_experience_continuity": false,
            "surveys": [],
            "features": [],
            "rollback_conditions": null,
            "performed_rollback": false,
            "can_edit": true,
            "tags": [],
            "usage_dashboard": null,
            "analytics_dashboards": [],
            "has_enriched_analytics": false,
            "user_access_level": "editor",
            "creation_context": "feature_flags",
            "is_remote_configuration": false,
            "has_encrypted_payloads": false,
            "evaluation_runtime": "all",
        });
        let map = flag
            .as_object_mut()
            .ok_or_else(PosthogError::server_error)?;
        for (k, v) in body {
            if !matches!(k.as_str(), "key" | "filters" | "id" | "created_by") {
                map.insert(k.clone(), v.clone());
            }
        }
        if let Some(name) = map.get("name") {
            if !name.is_string() {
                return Err(PosthogError::validation(
                    "invalid",
                    "Not a valid string.",
                    Some("name"),
                ));
            }
        }
        if !map.get("active").is_some_and(Value::is_boolean) {
            return Err(PosthogError::validation(
                "invalid",
                "Must be a valid boolean.",
                Some("active"),
            ));
        }
        Self::check_archived(map)?;
        let flag = map.clone();
        self.feature_flags.push(flag.clone());
        Ok(flag)
    }

    /// An archived flag must be disabled (PR #63338: the serializer refuses archiving an
    /// enabled flag unless `active: false` comes in the same request, and re-enabling an
    /// archived one; the `archived_flag_must_be_disabled` check constraint backs it). The
    /// wording of the error is kodo-sandbox's own.
    fn check_archived(flag: &Map<String, Value>) -> Result<(), PosthogError> {
        if let Some(v) = flag.get("archived") {
            if !v.is_boolean() {
                return Err(PosthogError::validation(
                    "invalid",
                    "Must be a valid boolean.",
                    Some("archived"),
                ));
            }
        }
        if b(flag, "archived") && b(flag, "active") {
            return Err(PosthogError::validation(
                "invalid_input",
                "An archived feature flag must be disabled: send \"active\": false with \"archived\": true, or unarchive the flag before enabling it.",
                Some("archived"),
            ));
        }
        Ok(())
    }

    /// `_free_key_held_by_soft_deleted_flags`: a soft-deleted flag holding `key` is removed,
    /// or, when an experiment still references it (the foreign key is RESTRICT), renamed to
    /// its tombstoned key; an active (not deleted) experiment on it makes the key unusable.
    fn free_key_held_by_soft_deleted_flags(
        &mut self,
        key: &str,
        except_id: Option<i64>,
    ) -> Result<(), PosthogError> {
        let holders: Vec<i64> = self
            .feature_flags
            .iter()
            .filter(|f| s(f, "key") == Some(key) && b(f, "deleted") && id_of(f) != except_id)
            .filter_map(id_of)
            .collect();
        for id in holders {
            let users: Vec<&Map<String, Value>> = self
                .experiments
                .iter()
                .filter(|e| e.get("feature_flag_id").and_then(Value::as_i64) == Some(id))
                .collect();
            if users.is_empty() {
                self.feature_flags.retain(|f| id_of(f) != Some(id));
                continue;
            }
            let active: Vec<String> = users
                .iter()
                .filter(|e| !b(e, "deleted"))
                .filter_map(|e| id_of(e).map(|i| i.to_string()))
                .collect();
            if !active.is_empty() {
                return Err(PosthogError::validation(
                    "invalid_input",
                    format!(
                        "Cannot reuse key '{key}': a soft-deleted flag with this key is still referenced by active experiment(s) with ID(s): {}. Please contact support.",
                        active.join(", ")
                    ),
                    None,
                ));
            }
            if let Some(flag) = self.feature_flags.iter_mut().find(|f| id_of(f) == Some(id)) {
                flag.insert("key".into(), json!(tombstoned_key(key, id)));
            }
        }
        Ok(())
    }

    /// Creates the flag's usage dashboard, as `_create_usage_dashboard` does on every flag
    /// create: "Generated Dashboard: <key> Usage", `creation_mode: "template"`, linked from
    /// the flag's `usage_dashboard`.
    pub fn create_usage_dashboard(&mut self, flag_id: i64) -> Result<(), PosthogError> {
        let Some(flag) = self
            .feature_flags
            .iter()
            .find(|f| id_of(f) == Some(flag_id))
        else {
            return Err(PosthogError::not_found());
        };
        let key = s(flag, "key").unwrap_or_default().to_string();
        let creator = flag.get("created_by").cloned().unwrap_or(Value::Null);
        let created_at = flag.get("created_at").cloned();
        let body = json!({
            "name": format!("{GENERATED_DASHBOARD_PREFIX}: {key} Usage"),
            "description": format!("This dashboard was generated by the feature flag with key ({key})"),
            "creation_mode": "template",
        });
        let body = body.as_object().cloned().unwrap_or_default();
        let dashboard = self.create_dashboard(&body, creator)?;
        let dashboard_id = id_of(&dashboard);
        if let Some(at) = created_at {
            if let Some(d) = self
                .dashboards
                .iter_mut()
                .find(|d| id_of(d) == dashboard_id)
            {
                d.insert("created_at".into(), at);
            }
        }
        if let Some(flag) = self
            .feature_flags
            .iter_mut()
            .find(|f| id_of(f) == Some(flag_id))
        {
            flag.insert("usage_dashboard".into(), json!(dashboard_id));
        }
        Ok(())
    }

    /// Gives every flag without one its usage dashboard (scenario loading, after the
    /// scenario's own dashboards so their ids stay as written).
    pub fn create_missing_usage_dashboards(&mut self) -> Result<(), PosthogError> {
        let ids: Vec<i64> = self
            .feature_flags
            .iter()
            .filter(|f| f.get("usage_dashboard").is_none_or(Value::is_null))
            .filter_map(id_of)
            .collect();
        for id in ids {
            self.create_usage_dashboard(id)?;
        }
        Ok(())
    }

    fn check_conclusion(body: &Map<String, Value>) -> Result<(), PosthogError> {
        match body.get("conclusion") {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(c)) if EXPERIMENT_CONCLUSIONS.contains(&c.as_str()) => Ok(()),
            Some(other) => {
                let shown = other
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| other.to_string());
                Err(PosthogError::validation(
                    "invalid_choice",
                    format!("\"{shown}\" is not a valid choice."),
                    Some("conclusion"),
                ))
            }
        }
    }

    fn check_saved_metric_ids(&self, body: &Map<String, Value>) -> Result<(), PosthogError> {
        let Some(links) = body.get("saved_metrics_ids").filter(|v| !v.is_null()) else {
            return Ok(());
        };
        let invalid = |detail: &str| {
            PosthogError::validation("invalid_input", detail, Some("saved_metrics_ids"))
        };
        let links = links
            .as_array()
            .ok_or_else(|| invalid("Saved metrics must be a list."))?;
        for link in links {
            let id = link
                .get("id")
                .and_then(Value::as_i64)
                .ok_or_else(|| invalid("Saved metric must be an object with an id."))?;
            if !self.saved_metrics.iter().any(|m| id_of(m) == Some(id)) {
                return Err(invalid(
                    "Saved metric does not exist or does not belong to this project.",
                ));
            }
        }
        Ok(())
    }

    fn parse_date_field(value: &Value, attr: &str) -> Result<Value, PosthogError> {
        match value {
            Value::Null => Ok(Value::Null),
            Value::String(text) => clock::parse_datetime(text)
                .or_else(|| clock::parse_date(text))
                .map(|at| json!(drf_datetime(at)))
                .ok_or_else(|| {
                    PosthogError::validation(
                        "invalid",
                        "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
                        Some(attr),
                    )
                }),
            _ => Err(PosthogError::validation(
                "invalid",
                "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
                Some(attr),
            )),
        }
    }

    /// Creates an experiment, creating its flag when no flag has the key (as PostHog does).
    pub fn create_experiment(
        &mut self,
        body: &Map<String, Value>,
        creator: Value,
    ) -> Result<Map<String, Value>, PosthogError> {
        let name = match body.get("name") {
            Some(Value::String(n)) if !n.is_empty() => n.clone(),
            Some(Value::String(_)) => {
                return Err(PosthogError::validation(
                    "blank",
                    "This field may not be blank.",
                    Some("name"),
                ))
            }
            _ => {
                return Err(PosthogError::validation(
                    "required",
                    "This field is required.",
                    Some("name"),
                ))
            }
        };
        let flag_key = match body.get("feature_flag_key") {
            Some(Value::String(k)) if !k.is_empty() => k.clone(),
            _ => {
                return Err(PosthogError::validation(
                    "required",
                    "This field is required.",
                    Some("feature_flag_key"),
                ))
            }
        };
        let start_date =
            Self::parse_date_field(body.get("start_date").unwrap_or(&Value::Null), "start_date")?;
        let end_date =
            Self::parse_date_field(body.get("end_date").unwrap_or(&Value::Null), "end_date")?;
        let parameters = body.get("parameters").cloned().unwrap_or(Value::Null);
        Self::check_conclusion(body)?;
        self.check_saved_metric_ids(body)?;
        let flag_id = match self.flag_by_key(&flag_key) {
            Some(flag) => {
                let variants = flag["filters"]["multivariate"]["variants"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if variants.len() < 2 {
                    return Err(PosthogError::validation(
                        "invalid_input",
                        "Feature flag must have at least 2 variants (control and at least one test variant)",
                        None,
                    ));
                }
                if variants[0]["key"] != "control" {
                    return Err(PosthogError::validation(
                        "invalid_input",
                        "Feature flag must have control as the first variant.",
                        None,
                    ));
                }
                id_of(flag).unwrap_or_default()
            }
            None => {
                if !valid_key(&flag_key) {
                    return Err(PosthogError::validation(
                        "invalid_key",
                        "Only letters, numbers, hyphens (\"-\") & underscores (\"_\") are allowed.",
                        Some("feature_flag_key"),
                    ));
                }
                let variants = parameters
                    .get("feature_flag_variants")
                    .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
                    .cloned()
                    .unwrap_or_else(|| {
                        json!([
                            {"key": "control", "name": "Control Group", "rollout_percentage": 50},
                            {"key": "test", "name": "Test Variant", "rollout_percentage": 50}
                        ])
                    });
                let flag_body = json!({
                    "key": flag_key,
                    "name": format!("Feature Flag for Experiment {name}"),
                    "filters": {
                        "groups": [{"properties": [], "rollout_percentage": 100}],
                        "multivariate": {"variants": variants},
                        "aggregation_group_type_index": null,
                        "holdout_groups": null,
                    },
                    "active": !start_date.is_null(),
                    "creation_context": "experiments",
                });
                let flag_body = flag_body.as_object().cloned().unwrap_or_default();
                let flag = self.create_flag(&flag_body, creator.clone())?;
                let id = id_of(&flag).unwrap_or_default();
                self.create_usage_dashboard(id)?;
                id
            }
        };
        let now = Self::now();
        let id = body
            .get("id")
            .and_then(Value::as_i64)
            .unwrap_or_else(|| Self::next_id(&self.experiments));
        let mut experiment = json!({
            "id": id,
            "name": name,
            "description": "",
            "start_date": start_date,
            "end_date": end_date,
            "feature_flag_key": flag_key,
            "feature_flag_id": flag_id,
            "holdout": null,
            "holdout_id": null,
            "exposure_cohort": null,
            "parameters": parameters,
            "secondary_metrics": [],
            "saved_metrics": [],
            "saved_metrics_ids": null,
            "filters": {},
            "archived": false,
            "deleted": false,
            "created_by": creator,
            "created_at": now,
            "updated_at": now,
            "type": "product",
            "exposure_criteria": null,
            "metrics": [],
            "metrics_secondary": [],
            "stats_config": {"method": "bayesian"},
            "conclusion": null,
            "conclusion_comment": null,
            "primary_metrics_ordered_uuids": null,
            "secondary_metrics_ordered_uuids": null,
            "user_access_level": "editor",
        });
        let map = experiment
            .as_object_mut()
            .ok_or_else(PosthogError::server_error)?;
        for (k, v) in body {
            if !matches!(
                k.as_str(),
                "name"
                    | "feature_flag_key"
                    | "start_date"
                    | "end_date"
                    | "parameters"
                    | "id"
                    | "created_by"
            ) {
                map.insert(k.clone(), v.clone());
            }
        }
        let experiment = map.clone();
        self.experiments.push(experiment.clone());
        Ok(experiment)
    }

    /// Creates a dashboard.
    pub fn create_dashboard(
        &mut self,
        body: &Map<String, Value>,
        creator: Value,
    ) -> Result<Map<String, Value>, PosthogError> {
        if let Some(name) = body.get("name") {
            if !name.is_string() && !name.is_null() {
                return Err(PosthogError::validation(
                    "invalid",
                    "Not a valid string.",
                    Some("name"),
                ));
            }
        }
        let pinned = match body.get("pinned") {
            None => false,
            Some(Value::Bool(p)) => *p,
            Some(Value::String(p)) if p == "true" => true,
            Some(Value::String(p)) if p == "false" => false,
            Some(_) => {
                return Err(PosthogError::validation(
                    "invalid",
                    "Must be a valid boolean.",
                    Some("pinned"),
                ))
            }
        };
        let now = Self::now();
        let id = body
            .get("id")
            .and_then(Value::as_i64)
            .unwrap_or_else(|| Self::next_id(&self.dashboards));
        let mut dashboard = json!({
            "id": id,
            "name": "",
            "description": "",
            "pinned": pinned,
            "created_at": now,
            "created_by": creator,
            "last_accessed_at": null,
            "is_shared": false,
            "deleted": false,
            "creation_mode": "default",
            "tags": [],
            "restriction_level": 21,
            "effective_restriction_level": 21,
            "effective_privilege_level": 37,
            "user_access_level": "editor",
            "access_control_version": "v2",
            "last_refresh": null,
            "filters": {},
            "variables": {},
            "breakdown_colors": [],
            "data_color_theme_id": null,
            "tiles": [],
            "persisted_filters": {},
            "persisted_variables": {},
        });
        let map = dashboard
            .as_object_mut()
            .ok_or_else(PosthogError::server_error)?;
        for (k, v) in body {
            if !matches!(k.as_str(), "id" | "created_by" | "pinned") {
                map.insert(k.clone(), v.clone());
            }
        }
        if map.get("name").is_some_and(Value::is_null) {
            map.insert("name".into(), json!(""));
        }
        let dashboard = map.clone();
        self.dashboards.push(dashboard.clone());
        Ok(dashboard)
    }

    /// Creates an event definition (admin and scenario only: PostHog creates them on ingestion).
    pub fn create_event_definition(
        &mut self,
        body: &Map<String, Value>,
    ) -> Result<Map<String, Value>, PosthogError> {
        let name = match body.get("name") {
            Some(Value::String(n)) if !n.is_empty() => n.clone(),
            _ => {
                return Err(PosthogError::validation(
                    "required",
                    "This field is required.",
                    Some("name"),
                ))
            }
        };
        if self
            .event_definitions
            .iter()
            .any(|d| s(d, "name") == Some(name.as_str()))
        {
            return Err(PosthogError::validation(
                "unique",
                "event definition with this team and name already exists.",
                Some("name"),
            ));
        }
        let now = Self::now();
        let id = match body.get("id").and_then(Value::as_str) {
            Some(id) => id.to_string(),
            None => ids::random_uuid(&mut self.rng),
        };
        let mut definition = json!({
            "id": id,
            "name": name,
            "owner": null,
            "description": null,
            "tags": [],
            "created_at": now,
            "updated_at": now,
            "updated_by": null,
            "last_seen_at": now,
            "last_updated_at": now,
            "verified": false,
            "verified_at": null,
            "verified_by": null,
            "hidden": false,
            "is_action": false,
            "action_id": null,
            "is_calculating": false,
            "last_calculated_at": null,
            "created_by": null,
            "post_to_slack": false,
            "default_columns": [],
        });
        let map = definition
            .as_object_mut()
            .ok_or_else(PosthogError::server_error)?;
        for (k, v) in body {
            if k == "owner" {
                map.insert(k.clone(), self.resolve_user(v));
            } else if k != "id" {
                map.insert(k.clone(), v.clone());
            }
        }
        let definition = map.clone();
        self.event_definitions.push(definition.clone());
        Ok(definition)
    }

    // ---------------------------------------------------------------- updates

    /// What deleting or restoring a flag does besides the flag itself
    /// (`FeatureFlagSerializer.update`): a running experiment blocks the delete; a flag an
    /// experiment uses gets its key tombstoned; restoring takes the tombstone off again.
    fn flag_lifecycle(
        &self,
        index: usize,
        body: &mut Map<String, Value>,
    ) -> Result<(), PosthogError> {
        let id = id_of(&self.feature_flags[index]);
        let flag_id = id.unwrap_or_default();
        let was_deleted = b(&self.feature_flags[index], "deleted");
        let current_key = s(&self.feature_flags[index], "key")
            .unwrap_or_default()
            .to_string();
        let users: Vec<&Map<String, Value>> = self
            .experiments
            .iter()
            .filter(|e| e.get("feature_flag_id").and_then(Value::as_i64) == id)
            .collect();
        if body.get("deleted") == Some(&Value::Bool(true)) {
            // FeatureFlagSerializer.update: only a running experiment blocks the delete; a
            // flag any experiment uses gets its key tombstoned to free it.
            let running: Vec<String> = users
                .iter()
                .filter(|e| {
                    !b(e, "deleted")
                        && e.get("start_date").is_some_and(|v| !v.is_null())
                        && e.get("end_date").is_none_or(Value::is_null)
                })
                .map(|e| {
                    format!(
                        "\"{}\" (ID: {})",
                        s(e, "name").unwrap_or_default(),
                        id_of(e).unwrap_or_default()
                    )
                })
                .collect();
            if !running.is_empty() {
                return Err(PosthogError::validation(
                    "invalid_input",
                    format!(
                        "Cannot delete a feature flag that is linked to running experiment(s): {}. Please stop the experiment(s) before deleting the flag.",
                        running.join(", ")
                    ),
                    None,
                ));
            }
            if !users.is_empty() && !was_deleted {
                body.insert("key".into(), json!(tombstoned_key(&current_key, flag_id)));
            }
        }
        if body.get("deleted") == Some(&Value::Bool(false)) && was_deleted {
            // Restoring: the tombstone comes off; a key taken meanwhile gets -2, -3, ...
            let suffix = format!(":deleted:{flag_id}");
            if let Some(original) = current_key.strip_suffix(&suffix) {
                let taken = |candidate: &str| {
                    self.feature_flags
                        .iter()
                        .any(|f| s(f, "key") == Some(candidate) && id_of(f) != id)
                };
                let mut candidate = original.to_string();
                let mut counter = 2;
                while taken(&candidate) {
                    candidate = format!("{original}-{counter}");
                    counter += 1;
                }
                body.insert("key".into(), json!(candidate));
            }
        }
        Ok(())
    }

    /// Applies a PATCH to a flag (API validation).
    fn update_flag(&mut self, index: usize, body: &Map<String, Value>) -> Result<(), PosthogError> {
        let id = id_of(&self.feature_flags[index]);
        if body.contains_key("key") {
            self.check_flag_key(body.get("key"), id)?;
        }
        let filters = match body.get("filters") {
            Some(f) => Some(Self::normalize_filters(f)?),
            None => None,
        };
        for (field, check) in [("active", "bool"), ("deleted", "bool"), ("name", "str")] {
            if let Some(v) = body.get(field) {
                let ok = if check == "bool" {
                    v.is_boolean()
                } else {
                    v.is_string()
                };
                if !ok {
                    let detail = if check == "bool" {
                        "Must be a valid boolean."
                    } else {
                        "Not a valid string."
                    };
                    return Err(PosthogError::validation("invalid", detail, Some(field)));
                }
            }
        }
        let mut body = body.clone();
        self.flag_lifecycle(index, &mut body)?;
        let mut merged = self.feature_flags[index].clone();
        for (k, v) in &body {
            merged.insert(k.clone(), v.clone());
        }
        Self::check_archived(&merged)?;
        let user = self.api_user.clone();
        let flag = &mut self.feature_flags[index];
        for (k, v) in &body {
            if !matches!(k.as_str(), "id" | "filters" | "created_at" | "created_by") {
                flag.insert(k.clone(), v.clone());
            }
        }
        if let Some(filters) = filters {
            flag.insert("filters".into(), filters);
        }
        let version = flag.get("version").and_then(Value::as_i64).unwrap_or(1) + 1;
        flag.insert("version".into(), json!(version));
        flag.insert("updated_at".into(), json!(Self::now()));
        flag.insert("last_modified_by".into(), user);
        Ok(())
    }

    fn update_experiment(
        &mut self,
        index: usize,
        body: &Map<String, Value>,
    ) -> Result<(), PosthogError> {
        if let Some(key) = body.get("feature_flag_key") {
            if Some(key) != self.experiments[index].get("feature_flag_key") {
                return Err(PosthogError::validation(
                    "invalid_input",
                    "Can't update keys: feature_flag_key",
                    None,
                ));
            }
        }
        Self::check_conclusion(body)?;
        self.check_saved_metric_ids(body)?;
        let mut changes = body.clone();
        for field in ["start_date", "end_date"] {
            if let Some(v) = body.get(field) {
                changes.insert(field.into(), Self::parse_date_field(v, field)?);
            }
        }
        let launching = self.experiments[index]
            .get("start_date")
            .is_none_or(Value::is_null)
            && changes.get("start_date").is_some_and(|v| !v.is_null());
        let flag_id = self.experiments[index]
            .get("feature_flag_id")
            .and_then(Value::as_i64);
        let experiment = &mut self.experiments[index];
        for (k, v) in changes {
            if !matches!(
                k.as_str(),
                "id" | "feature_flag_id" | "feature_flag" | "created_at" | "created_by"
            ) {
                experiment.insert(k, v);
            }
        }
        experiment.insert("updated_at".into(), json!(Self::now()));
        if launching {
            if let Some(flag) = self.feature_flags.iter_mut().find(|f| id_of(f) == flag_id) {
                flag.insert("active".into(), json!(true));
                flag.insert("updated_at".into(), json!(Self::now()));
            }
        }
        Ok(())
    }

    fn update_plain(
        list: &mut [Map<String, Value>],
        index: usize,
        body: &Map<String, Value>,
        stamp: Option<&str>,
    ) {
        let item = &mut list[index];
        for (k, v) in body {
            if k != "id" {
                item.insert(k.clone(), v.clone());
            }
        }
        if let Some(field) = stamp {
            item.insert(field.into(), json!(Self::now()));
        }
    }

    /// Admin PATCH: merges fields as a person editing in the app would, with
    /// `created_by`/`owner` given as emails allowed.
    pub fn admin_update(
        &mut self,
        resource: Resource,
        id: &str,
        body: &Map<String, Value>,
    ) -> Result<Value, PosthogError> {
        let mut body = body.clone();
        for field in ["created_by", "owner"] {
            if let Some(v) = body.get(field).cloned() {
                body.insert(field.into(), self.resolve_user(&v));
            }
        }
        match resource {
            Resource::EventDefinitions => {
                let index = self
                    .event_definitions
                    .iter()
                    .position(|d| s(d, "id") == Some(id))
                    .ok_or_else(PosthogError::not_found)?;
                Self::update_plain(
                    &mut self.event_definitions,
                    index,
                    &body,
                    Some("updated_at"),
                );
                Ok(self.event_definition_json(&self.event_definitions[index]))
            }
            Resource::FeatureFlags => {
                let index = self.index_of(&self.feature_flags, id)?;
                if let Some(filters) = body.get("filters").cloned() {
                    body.insert("filters".into(), Self::normalize_filters(&filters)?);
                }
                self.flag_lifecycle(index, &mut body)?;
                let mut merged = self.feature_flags[index].clone();
                merged.extend(body.clone());
                Self::check_archived(&merged)?;
                Self::update_plain(&mut self.feature_flags, index, &body, Some("updated_at"));
                Ok(self.flag_json(&self.feature_flags[index]))
            }
            Resource::Experiments => {
                let index = self.index_of(&self.experiments, id)?;
                self.update_experiment(index, &body)?;
                Ok(self.experiment_json(&self.experiments[index]))
            }
            Resource::Dashboards => {
                let index = self.index_of(&self.dashboards, id)?;
                Self::update_plain(&mut self.dashboards, index, &body, None);
                Ok(self.dashboard_json(&self.dashboards[index], true))
            }
        }
    }

    /// Admin create, as a person in the app. `created_by`/`owner` may be emails.
    pub fn admin_create(
        &mut self,
        resource: Resource,
        body: &Map<String, Value>,
    ) -> Result<Value, PosthogError> {
        let creator = match body.get("created_by") {
            Some(v) => self.resolve_user(v),
            None => self.api_user.clone(),
        };
        Ok(match resource {
            Resource::EventDefinitions => {
                let d = self.create_event_definition(body)?;
                self.event_definition_json(&d)
            }
            Resource::FeatureFlags => {
                let f = self.create_flag(body, creator)?;
                let id = id_of(&f).unwrap_or_default();
                self.create_usage_dashboard(id)?;
                let index = self.index_of(&self.feature_flags, &id.to_string())?;
                self.flag_json(&self.feature_flags[index])
            }
            Resource::Experiments => {
                let e = self.create_experiment(body, creator)?;
                self.experiment_json(&e)
            }
            Resource::Dashboards => {
                let d = self.create_dashboard(body, creator)?;
                self.dashboard_json(&d, true)
            }
        })
    }

    /// Admin delete of an event definition (the only real delete PostHog has here).
    pub fn delete_event_definition(&mut self, id: &str) -> Result<(), PosthogError> {
        let before = self.event_definitions.len();
        self.event_definitions.retain(|d| s(d, "id") != Some(id));
        if self.event_definitions.len() == before {
            return Err(PosthogError::not_found());
        }
        Ok(())
    }

    fn index_of(&self, list: &[Map<String, Value>], id: &str) -> Result<usize, PosthogError> {
        let id: i64 = id.parse().map_err(|_| PosthogError::not_found())?;
        list.iter()
            .position(|item| id_of(item) == Some(id))
            .ok_or_else(PosthogError::not_found)
    }

    // ---------------------------------------------------------------- the API

    /// `APIScopePermission` (PostHog/posthog `posthog/permissions.py`): list and retrieve
    /// need `<object>:read`, the write actions `<object>:write`; a `:write` scope also grants
    /// `:read`, and `*` grants everything.
    fn check_scope(&self, object: &str, method: &str) -> Result<(), PosthogError> {
        let write = !matches!(method, "GET" | "HEAD" | "OPTIONS");
        let required = format!("{object}:{}", if write { "write" } else { "read" });
        let granted = self.scopes.iter().any(|scope| {
            scope == "*" || *scope == required || (!write && *scope == format!("{object}:write"))
        });
        if granted {
            Ok(())
        } else {
            Err(PosthogError::missing_scope(&required))
        }
    }

    /// Routes one request below `/api/`. `segments` excludes `api`.
    pub fn handle(
        &mut self,
        method: &str,
        segments: &[&str],
        url: &RequestUrl,
        body: &[u8],
        content_type: Option<&str>,
    ) -> Result<PosthogOk, PosthogError> {
        let parse = || -> Result<Map<String, Value>, PosthogError> {
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Map::new());
            }
            let ct = content_type.unwrap_or("");
            if !ct.to_ascii_lowercase().starts_with("application/json") {
                return Err(PosthogError::unsupported_media_type(ct));
            }
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => Err(PosthogError::validation(
                    "invalid_input",
                    "Invalid data. Expected a dictionary, but got list.",
                    Some("non_field_errors"),
                )),
                Err(e) => Err(PosthogError::parse_error(format!("JSON parse error - {e}"))),
            }
        };
        match segments {
            // `UserViewSet`'s scope object is `user` (`user:read`), and `/api/users/@me/` is
            // exempt from the key's project and organization limits (the `scope_object ==
            // "user"` early return in `APIScopePermission.check_team_and_org_permissions`,
            // PostHog/posthog `posthog/permissions.py`).
            ["users", "@me"] if method == "GET" => {
                self.check_scope("user", method)?;
                Ok(ok(200, self.me_json()))
            }
            // Any personal API key may retrieve itself, whatever its scopes
            // (`PersonalApiKeySelfAccessPermission` in PostHog/posthog
            // `posthog/api/personal_api_key.py`: retrieve only, of the key in use).
            ["personal_api_keys", "@current"] if method == "GET" => Ok(ok(
                200,
                json!({"scopes": self.scopes, "scoped_teams": self.scoped_teams, "scoped_organizations": null, "mask_value": mask(self.key.expose())}),
            )),
            // OrganizationMemberViewSet (posthog/api/organization_member.py): a limit/offset
            // list, ordered by level then most recently joined.
            ["organizations", org, "members"] if method == "GET" => {
                if *org != "@current" && *org != self.organization_id {
                    return Err(PosthogError::not_found());
                }
                self.check_scope("organization_member", method)?;
                let mut members = self.members.clone();
                members.sort_by_key(|m| m["level"].as_i64().unwrap_or(0));
                Ok(ok(200, paginate_shifted(members, url, 0)))
            }
            [scope, project] | [scope, project, ..]
                if matches!(*scope, "projects" | "environments") =>
            {
                if !self.is_project(project) {
                    return Err(PosthogError::not_found());
                }
                // A key limited to other projects is refused before its scopes are looked at
                // (`check_team_and_org_permissions` runs first in `APIScopePermission`).
                if let Some(teams) = &self.scoped_teams {
                    if !teams.contains(&self.project_id) {
                        return Err(PosthogError::project_not_in_key(self.project_id));
                    }
                }
                // The viewset's scope object (`PropertyDefinitionViewSet`'s is
                // `property_definition`, posthog/api/property_definition.py; the project itself
                // is `ProjectViewSet`'s `project`, posthog/api/project.py).
                let scope_object = match &segments[2..] {
                    ["property_definitions", ..] => Some("property_definition"),
                    [resource, ..] => Resource::from_segment(resource).map(Resource::scope_object),
                    [] => Some("project"),
                };
                if let Some(object) = scope_object {
                    self.check_scope(object, method)?;
                }
                match &segments[2..] {
                    [] if method == "GET" => Ok(ok(200, self.project_json())),
                    // List and retrieve only (the viewset's update and destroy change a
                    // definition's type or drop it; kodo never does, so they are not emulated).
                    ["property_definitions"] => match method {
                        "GET" => Ok(ok(200, self.properties.list(url)?)),
                        other => Err(PosthogError::method_not_allowed(other)),
                    },
                    ["property_definitions", id] => match method {
                        "GET" => Ok(ok(200, self.properties.retrieve(id)?)),
                        other => Err(PosthogError::method_not_allowed(other)),
                    },
                    [resource] => {
                        let resource =
                            Resource::from_segment(resource).ok_or_else(PosthogError::not_found)?;
                        match method {
                            "GET" => {
                                if resource == Resource::EventDefinitions {
                                    self.reseen_mid_listing(url);
                                }
                                Ok(ok(200, self.list(resource, url)?))
                            }
                            "POST" => self.create(resource, &parse()?),
                            other => Err(PosthogError::method_not_allowed(other)),
                        }
                    }
                    [resource, id] => {
                        let resource =
                            Resource::from_segment(resource).ok_or_else(PosthogError::not_found)?;
                        match method {
                            "GET" => Ok(ok(200, self.retrieve(resource, id)?)),
                            "PATCH" | "PUT" => self.update(resource, id, &parse()?),
                            "DELETE" if resource == Resource::EventDefinitions => {
                                self.delete_event_definition(id)?;
                                Ok(PosthogOk {
                                    status: 204,
                                    body: None,
                                })
                            }
                            other => Err(PosthogError::method_not_allowed(other)),
                        }
                    }
                    _ => Err(PosthogError::not_found()),
                }
            }
            _ => Err(PosthogError::not_found()),
        }
    }

    /// Re-seen mode ([`PosthogStore::list_reseen`]): on a page after the first, the
    /// definitions last in the default order are seen now.
    fn reseen_mid_listing(&mut self, url: &RequestUrl) {
        let later_page = url
            .query
            .iter()
            .any(|(k, v)| k == "offset" && v.parse::<usize>().is_ok_and(|o| o > 0));
        if self.list_reseen == 0 || !later_page {
            return;
        }
        let order = EventDefinitionOrder::from_request(&RequestUrl::default(), false);
        let mut positions: Vec<usize> = (0..self.event_definitions.len()).collect();
        positions.sort_by(|&a, &b| {
            order.compare(&self.event_definitions[a], &self.event_definitions[b])
        });
        let now = Self::now();
        for &i in positions.iter().rev().take(self.list_reseen) {
            self.event_definitions[i].insert("last_seen_at".into(), json!(now));
        }
    }

    fn is_project(&self, segment: &str) -> bool {
        segment == "@current" || segment.parse::<i64>().ok() == Some(self.project_id)
    }

    fn me_json(&self) -> Value {
        let mut me = self.api_user.clone();
        if let Some(map) = me.as_object_mut() {
            map.insert(
                "team".into(),
                json!({"id": self.project_id, "project_id": self.project_id, "name": self.project_name}),
            );
            map.insert(
                "organization".into(),
                json!({"id": self.organization_id, "slug": self.organization_slug, "name": self.organization_name}),
            );
        }
        me
    }

    fn project_json(&self) -> Value {
        json!({
            "id": self.project_id,
            "organization": self.organization_id,
            "name": self.project_name,
            "timezone": "UTC",
        })
    }

    fn list(&self, resource: Resource, url: &RequestUrl) -> Result<Value, PosthogError> {
        let param = |key: &str| {
            url.query
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let search = param("search").map(str::to_lowercase);
        let items: Vec<Value> = match resource {
            Resource::EventDefinitions => {
                // "Every whitespace-separated term has to match" (the list's `search`
                // parameter, `EventDefinitionViewSet.list` in posthog/api/event_definition.py).
                let terms: Vec<&str> = search
                    .as_deref()
                    .map(|q| q.split_whitespace().collect())
                    .unwrap_or_default();
                let mut defs: Vec<&Map<String, Value>> = self
                    .event_definitions
                    .iter()
                    .filter(|d| {
                        let name = s(d, "name").unwrap_or_default().to_lowercase();
                        terms.iter().all(|t| name.contains(t))
                    })
                    .collect();
                let order = EventDefinitionOrder::from_request(url, !terms.is_empty());
                defs.sort_by(|a, b| order.compare(a, b));
                defs.into_iter()
                    .map(|d| self.event_definition_json(d))
                    .collect()
            }
            Resource::FeatureFlags => {
                let active = param("active");
                // exclude_archived_unless_requested, then `_apply_filters` on `archived`.
                let archived = param("archived");
                let mut flags: Vec<&Map<String, Value>> = self
                    .feature_flags
                    .iter()
                    .filter(|f| !b(f, "deleted"))
                    .filter(|f| match archived {
                        None => !b(f, "archived"),
                        Some("true") => b(f, "archived"),
                        Some("false") => !b(f, "archived"),
                        Some(_) => true,
                    })
                    .filter(|f| match active {
                        Some("true") => b(f, "active"),
                        Some("false") => !b(f, "active"),
                        _ => true,
                    })
                    .filter(|f| {
                        search.as_ref().is_none_or(|q| {
                            s(f, "key").unwrap_or_default().to_lowercase().contains(q)
                                || s(f, "name").unwrap_or_default().to_lowercase().contains(q)
                        })
                    })
                    .collect();
                flags.sort_by(|a, b| {
                    s(b, "created_at")
                        .cmp(&s(a, "created_at"))
                        .then(id_of(b).cmp(&id_of(a)))
                });
                flags.into_iter().map(|f| self.flag_json(f)).collect()
            }
            Resource::Experiments => {
                let archived = param("archived") == Some("true");
                let mut experiments: Vec<&Map<String, Value>> = self
                    .experiments
                    .iter()
                    .filter(|e| !b(e, "deleted") && b(e, "archived") == archived)
                    // "Free-text search applied to the experiment name (case-insensitive)"
                    // (the experiments list's `search` parameter, PostHog/posthog OpenAPI).
                    .filter(|e| {
                        search.as_ref().is_none_or(|q| {
                            s(e, "name").unwrap_or_default().to_lowercase().contains(q)
                        })
                    })
                    .collect();
                experiments.sort_by(|a, b| {
                    s(b, "created_at")
                        .cmp(&s(a, "created_at"))
                        .then(id_of(b).cmp(&id_of(a)))
                });
                experiments
                    .into_iter()
                    .map(|e| self.experiment_json(e))
                    .collect()
            }
            Resource::Dashboards => {
                let exclude_generated = param("exclude_generated") == Some("true");
                let creation_mode = param("creation_mode").filter(|m| !m.is_empty());
                let search = DashboardSearch::parse(param("search"))?;
                let listed: Vec<&Map<String, Value>> = self
                    .dashboards
                    .iter()
                    .filter(|d| !b(d, "deleted"))
                    .filter(|d| {
                        !exclude_generated
                            || !s(d, "name")
                                .unwrap_or_default()
                                .starts_with(GENERATED_DASHBOARD_PREFIX)
                    })
                    .filter(|d| match creation_mode {
                        Some(mode) => s(d, "creation_mode") == Some(mode),
                        None => s(d, "creation_mode") != Some("unlisted"),
                    })
                    .collect();
                // order_by("-pinned", "name"); ties by id, as Postgres happens to return them.
                let by_pin_and_name = |x: &Map<String, Value>, y: &Map<String, Value>| {
                    b(y, "pinned")
                        .cmp(&b(x, "pinned"))
                        .then(s(x, "name").cmp(&s(y, "name")))
                        .then(id_of(x).cmp(&id_of(y)))
                };
                match search {
                    None => {
                        let mut dashboards = listed;
                        dashboards.sort_by(|x, y| by_pin_and_name(x, y));
                        // `search_match_type` is null when the list is not searched.
                        dashboards
                            .into_iter()
                            .map(|d| {
                                let mut json = self.dashboard_json(d, false);
                                json["search_match_type"] = Value::Null;
                                json
                            })
                            .collect()
                    }
                    Some(search) => {
                        let hits: Vec<(&Map<String, Value>, DashboardHit)> =
                            listed.into_iter().map(|d| (d, search.hit(d))).collect();
                        // Exact matches only, unless there are none.
                        let any_exact = hits.iter().any(|(_, h)| h.exact);
                        let mut hits: Vec<(&Map<String, Value>, DashboardHit)> = hits
                            .into_iter()
                            .filter(|(d, h)| {
                                if any_exact {
                                    h.exact
                                } else {
                                    search.similar(d)
                                }
                            })
                            .collect();
                        hits.sort_by(|(x, hx), (y, hy)| {
                            hy.score
                                .total_cmp(&hx.score)
                                .then_with(|| by_pin_and_name(x, y))
                        });
                        hits.into_iter()
                            .map(|(d, h)| {
                                let mut json = self.dashboard_json(d, false);
                                json["search_match_type"] =
                                    json!(if h.exact { "exact" } else { "similar" });
                                json
                            })
                            .collect()
                    }
                }
            }
        };
        Ok(paginate_shifted(items, url, self.list_shift))
    }

    fn retrieve(&self, resource: Resource, id: &str) -> Result<Value, PosthogError> {
        match resource {
            Resource::EventDefinitions => self
                .event_definitions
                .iter()
                .find(|d| s(d, "id") == Some(id))
                .map(|d| self.event_definition_json(d))
                .ok_or_else(PosthogError::not_found),
            Resource::FeatureFlags => {
                let index = self.index_of(&self.feature_flags, id)?;
                Ok(self.flag_json(&self.feature_flags[index]))
            }
            Resource::Experiments => {
                let index = self.index_of(&self.experiments, id)?;
                let experiment = &self.experiments[index];
                if b(experiment, "deleted") {
                    return Err(PosthogError::not_found());
                }
                Ok(self.experiment_json(experiment))
            }
            Resource::Dashboards => {
                let index = self.index_of(&self.dashboards, id)?;
                let dashboard = &self.dashboards[index];
                if b(dashboard, "deleted") {
                    return Err(PosthogError::not_found());
                }
                Ok(self.dashboard_json(dashboard, true))
            }
        }
    }

    fn create(
        &mut self,
        resource: Resource,
        body: &Map<String, Value>,
    ) -> Result<PosthogOk, PosthogError> {
        // Read-only, server-assigned and unknown fields are ignored, as DRF does.
        let mut body = body.clone();
        body.retain(|k, _| writable(resource, k) && k != "deleted");
        let creator = self.api_user.clone();
        let value = match resource {
            Resource::EventDefinitions => return Err(PosthogError::method_not_allowed("POST")),
            Resource::FeatureFlags => {
                let f = self.create_flag(&body, creator)?;
                let id = id_of(&f).unwrap_or_default();
                self.create_usage_dashboard(id)?;
                let index = self.index_of(&self.feature_flags, &id.to_string())?;
                self.flag_json(&self.feature_flags[index])
            }
            Resource::Experiments => {
                let e = self.create_experiment(&body, creator)?;
                self.experiment_json(&e)
            }
            Resource::Dashboards => {
                let d = self.create_dashboard(&body, creator)?;
                self.dashboard_json(&d, true)
            }
        };
        Ok(ok(201, value))
    }

    fn update(
        &mut self,
        resource: Resource,
        id: &str,
        body: &Map<String, Value>,
    ) -> Result<PosthogOk, PosthogError> {
        let mut body = body.clone();
        body.retain(|k, _| writable(resource, k));
        let value = match resource {
            Resource::EventDefinitions => {
                let index = self
                    .event_definitions
                    .iter()
                    .position(|d| s(d, "id") == Some(id))
                    .ok_or_else(PosthogError::not_found)?;
                if let Some(owner) = body.get("owner").cloned() {
                    let owner = match owner {
                        Value::Number(n) => self
                            .users
                            .iter()
                            .find(|u| u.get("id") == Some(&Value::Number(n.clone())))
                            .cloned()
                            .unwrap_or(Value::Null),
                        other => self.resolve_user(&other),
                    };
                    body.insert("owner".into(), owner);
                }
                Self::update_plain(
                    &mut self.event_definitions,
                    index,
                    &body,
                    Some("updated_at"),
                );
                self.event_definition_json(&self.event_definitions[index])
            }
            Resource::FeatureFlags => {
                let index = self.index_of(&self.feature_flags, id)?;
                self.update_flag(index, &body)?;
                self.flag_json(&self.feature_flags[index])
            }
            Resource::Experiments => {
                let index = self.index_of(&self.experiments, id)?;
                if b(&self.experiments[index], "deleted") {
                    return Err(PosthogError::not_found());
                }
                self.update_experiment(index, &body)?;
                self.experiment_json(&self.experiments[index])
            }
            Resource::Dashboards => {
                let index = self.index_of(&self.dashboards, id)?;
                if b(&self.dashboards[index], "deleted") {
                    return Err(PosthogError::not_found());
                }
                if let Some(v) = body.get("pinned") {
                    if !v.is_boolean() {
                        return Err(PosthogError::validation(
                            "invalid",
                            "Must be a valid boolean.",
                            Some("pinned"),
                        ));
                    }
                }
                Self::update_plain(&mut self.dashboards, index, &body, None);
                self.dashboard_json(&self.dashboards[index], true)
            }
        };
        Ok(ok(200, value))
    }
}

/// Fields PostHog's serializers accept on create and update (others are ignored).
fn writable(resource: Resource, field: &str) -> bool {
    let fields: &[&str] = match resource {
        Resource::EventDefinitions => &["description", "tags", "verified", "hidden", "owner"],
        Resource::FeatureFlags => &[
            "name",
            "key",
            "filters",
            "active",
            "deleted",
            "tags",
            "ensure_experience_continuity",
            "rollback_conditions",
            "performed_rollback",
            "creation_context",
            "is_remote_configuration",
            "has_encrypted_payloads",
            "evaluation_runtime",
            "analytics_dashboards",
            "version",
            "archived",
        ],
        Resource::Experiments => &[
            "name",
            "description",
            "start_date",
            "end_date",
            "feature_flag_key",
            "parameters",
            "secondary_metrics",
            "saved_metrics_ids",
            "filters",
            "archived",
            "deleted",
            "type",
            "exposure_criteria",
            "metrics",
            "metrics_secondary",
            "stats_config",
            "conclusion",
            "conclusion_comment",
            "primary_metrics_ordered_uuids",
            "secondary_metrics_ordered_uuids",
            "holdout_id",
        ],
        Resource::Dashboards => &[
            "name",
            "description",
            "pinned",
            "tags",
            "deleted",
            "restriction_level",
            "filters",
            "variables",
            "breakdown_colors",
            "data_color_theme_id",
        ],
    };
    fields.contains(&field)
}

fn ok(status: u16, body: Value) -> PosthogOk {
    PosthogOk {
        status,
        body: Some(body),
    }
}

/// `phx_...abcd`, as PostHog masks keys.
fn mask(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let head: String = key.chars().take(4).collect();
    format!("{head}...{tail}")
}

/// Renders `map` with `order` first (taking derived values from `derived`), then any
/// other stored keys.
fn ordered(map: &Map<String, Value>, derived: &Value, order: &[&str]) -> Value {
    let mut out = Map::new();
    for key in order {
        if let Some(v) = derived.get(*key) {
            out.insert((*key).to_string(), v.clone());
        } else if let Some(v) = map.get(*key) {
            out.insert((*key).to_string(), v.clone());
        }
    }
    for (k, v) in map {
        if !out.contains_key(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// Percent-encodes a query component as Python's `urlencode` does (`quote_plus`).
fn quote_plus(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

fn url_with(url: &RequestUrl, set: &[(&str, String)], remove: &[&str]) -> String {
    let mut params: Vec<(String, String)> = url
        .query
        .iter()
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k) && !remove.contains(&k.as_str()))
        .cloned()
        .collect();
    for (k, v) in set {
        params.push(((*k).to_string(), v.clone()));
    }
    // DRF's replace_query_param: urlencode(sorted(query_dict.items())) – sorted by key,
    // values of one key kept in their order.
    params.sort_by(|a, b| a.0.cmp(&b.0));
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
        .collect();
    if query.is_empty() {
        format!("{}{}", url.origin, url.path)
    } else {
        format!("{}{}?{}", url.origin, url.path, query.join("&"))
    }
}

/// DRF LimitOffsetPagination over already-ordered items.
pub fn paginate(items: Vec<Value>, url: &RequestUrl) -> Value {
    paginate_shifted(items, url, 0)
}

/// [`paginate`], with pages after the first served `shift` items earlier: what a client sees
/// when `shift` items were inserted ahead of its position between two page requests.
pub fn paginate_shifted(items: Vec<Value>, url: &RequestUrl, shift: usize) -> Value {
    let param = |key: &str| {
        url.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let limit = param("limit")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(100);
    let offset = param("offset")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let count = items.len();
    let next = (offset + limit < count).then(|| {
        url_with(
            url,
            &[
                ("limit", limit.to_string()),
                ("offset", (offset + limit).to_string()),
            ],
            &[],
        )
    });
    let previous = (offset > 0).then(|| {
        if offset <= limit {
            url_with(url, &[("limit", limit.to_string())], &["offset"])
        } else {
            url_with(
                url,
                &[
                    ("limit", limit.to_string()),
                    ("offset", (offset - limit).to_string()),
                ],
                &[],
            )
        }
    });
    let start = if offset > 0 {
        offset.saturating_sub(shift)
    } else {
        0
    };
    let results: Vec<Value> = items.into_iter().skip(start).take(limit).collect();
    json!({"count": count, "next": next, "previous": previous, "results": results})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(query: &[(&str, &str)]) -> RequestUrl {
        RequestUrl {
            origin: "http://127.0.0.1:9".into(),
            path: "/api/projects/1/feature_flags/".into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn pagination_links_follow_drf() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let page = paginate(items.clone(), &url(&[("limit", "2")]));
        assert_eq!(page["count"], 5);
        assert_eq!(
            page["next"],
            "http://127.0.0.1:9/api/projects/1/feature_flags/?limit=2&offset=2"
        );
        assert_eq!(page["previous"], Value::Null);
        let page = paginate(
            items.clone(),
            &url(&[("offset", "2"), ("limit", "2"), ("archived", "true")]),
        );
        assert_eq!(
            page["previous"],
            "http://127.0.0.1:9/api/projects/1/feature_flags/?archived=true&limit=2"
        );
        assert_eq!(page["results"], json!([2, 3]));
        let page = paginate(items, &url(&[("offset", "4"), ("limit", "2")]));
        assert_eq!(page["next"], Value::Null);
        assert_eq!(
            page["previous"],
            "http://127.0.0.1:9/api/projects/1/feature_flags/?limit=2&offset=2"
        );
    }

    #[test]
    fn bad_limits_fall_back_to_the_default() {
        let items: Vec<Value> = (0..150).map(|i| json!(i)).collect();
        let page = paginate(items, &url(&[("limit", "zero"), ("offset", "-3")]));
        assert_eq!(page["results"].as_array().map(Vec::len), Some(100));
    }

    #[test]
    fn datetimes_drop_zero_microseconds() {
        let at = clock::parse_datetime("2021-12-01T10:23").unwrap();
        assert_eq!(drf_datetime(at), "2021-12-01T10:23:00Z");
    }

    #[test]
    fn keys_are_masked() {
        assert_eq!(mask("phx_sandbox_0123456789abcdef"), "phx_...cdef");
    }
}
