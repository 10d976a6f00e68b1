//! Scenarios: a compact JSON description of a PostHog project and a Notion workspace,
//! expanded into the sandbox's stores (format in `sandbox/README.md`).
//!
//! Invariants: every scenario object has a fixed id (given, or derived from its name), so
//! the kodo config of a scenario is the same on every run; Notion rows are written
//! through the same validation as `POST /v1/pages`, so a scenario cannot hold a value the
//! real API would refuse; [`Scenario::from_json`] builds the stores once to report such
//! errors up front.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::notion::model::{
    DataSource, Database, NotionStore, Page, PageParent, PropKind, RichText, StoredValue, User,
    UserAccess,
};
use crate::notion::values::{self, IdSource};
use crate::posthog::{PosthogError, PosthogStore, Resource};
use crate::secret::Token;
use crate::{clock, ids};

const DEMO: &str = include_str!("../scenarios/demo.json");
const EMPTY: &str = include_str!("../scenarios/empty.json");

/// Why a scenario cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Not JSON, or not the scenario format.
    #[error("scenario is not valid: {0}")]
    Format(#[from] serde_json::Error),
    /// Well-formed but inconsistent (unknown parent, a value the API would refuse, …).
    #[error("scenario is inconsistent: {0}")]
    Invalid(String),
}

/// A person of the Notion workspace.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotionUserSpec {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// A guest of the workspace (not in the user list; found by ID).
    #[serde(default)]
    pub guest: bool,
    /// A former member: present while the scenario's rows are written (so they may own
    /// rows), then removed from the workspace.
    #[serde(default)]
    pub removed: bool,
}

/// A plain page of the workspace (e.g. the shared parent pages).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageSpec {
    pub id: String,
    pub title: String,
    /// Whether the page is shared with the integration (default true).
    #[serde(default = "yes")]
    pub shared: bool,
    /// Key of the parent page, if not at the workspace level.
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub created_time: Option<String>,
}

fn yes() -> bool {
    true
}

/// A row of a database, with compact values.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowSpec {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub created_time: Option<String>,
    #[serde(default)]
    pub last_edited_time: Option<String>,
    /// Email or id of the Notion user who created the row (default: first person).
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub in_trash: bool,
    pub values: Map<String, Value>,
}

/// A database with one data source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    /// `events`, `feature_flags`, `experiments` or `dashboards`: its name in the kodo config.
    pub key: String,
    pub id: String,
    pub data_source_id: String,
    pub title: String,
    /// Key of the parent page in `notion.pages`.
    pub parent: String,
    #[serde(default)]
    pub created_time: Option<String>,
    /// Compact schema: `"title"`, `{"select": ["a", "b"]}`, `{"number": "percent"}`, or a
    /// full Notion property configuration.
    pub properties: Map<String, Value>,
    #[serde(default)]
    pub rows: Vec<RowSpec>,
}

/// The Notion workspace.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotionSpec {
    pub workspace_name: String,
    pub workspace_id: String,
    pub bot: NotionUserSpec,
    #[serde(default)]
    pub user_access: UserAccess,
    pub users: Vec<NotionUserSpec>,
    /// Pages by key; `analytics_home` and `tracking_plan` go into the kodo config.
    pub pages: BTreeMap<String, PageSpec>,
    #[serde(default)]
    pub databases: Vec<DatabaseSpec>,
}

/// A PostHog user (creator/owner of objects).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PosthogUserSpec {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub role_at_organization: Option<String>,
    /// Left the organization: no longer listed among its members
    /// (`/api/organizations/@current/members/`), still the `created_by` of what they made.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub left: bool,
}

/// The PostHog project.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PosthogSpec {
    pub project_id: i64,
    pub project_name: String,
    pub organization_id: String,
    pub organization_slug: String,
    pub organization_name: String,
    /// Email of the personal API key's owner.
    pub api_user: String,
    pub users: Vec<PosthogUserSpec>,
    #[serde(default)]
    pub event_definitions: Vec<Map<String, Value>>,
    #[serde(default)]
    pub feature_flags: Vec<Map<String, Value>>,
    #[serde(default)]
    pub experiments: Vec<Map<String, Value>>,
    #[serde(default)]
    pub dashboards: Vec<Map<String, Value>>,
    /// Shared experiment metrics (`ExperimentSavedMetric`), linked from experiments'
    /// `saved_metrics_ids`.
    #[serde(default)]
    pub saved_metrics: Vec<Map<String, Value>>,
    /// Event properties PostHog has seen: each with its `property_type` (PostHog's
    /// `PropertyType`, or absent when untyped) and the events it was seen on.
    #[serde(default)]
    pub property_definitions: Vec<PropertyDefinitionSpec>,
    /// The personal API key's scopes (PostHog's `PersonalAPIKey.scopes`): absent means
    /// `["*"]`, an all-access key; a scoped key such as `["feature_flag:read",
    /// "dashboard:read"]` is answered 403 `permission_denied` ("API key missing required
    /// scope 'experiment:read'") wherever it lacks one (PostHog/posthog
    /// `posthog/permissions.py`, `APIScopePermission`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_api_key_scopes: Option<Vec<String>>,
    /// The projects the personal API key is limited to (PostHog's
    /// `PersonalAPIKey.scoped_teams`): absent means every project of the organization; a list
    /// without this project's id is answered 403 `permission_denied` ("API key does not have
    /// access to the requested project: ID …") on every project endpoint (PostHog/posthog
    /// `posthog/permissions.py`, `APIScopePermission.check_team_and_org_permissions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_api_key_scoped_teams: Option<Vec<i64>>,
}

/// One event property PostHog has seen (`PropertyDefinition` plus its `EventProperty` rows).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyDefinitionSpec {
    pub name: String,
    #[serde(default)]
    pub property_type: Option<String>,
    pub events: Vec<String>,
}

/// A complete scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub notion_token: Token,
    pub posthog_key: Token,
    pub posthog: PosthogSpec,
    pub notion: NotionSpec,
}

impl Scenario {
    /// A scenario shipped with the sandbox: `demo` or `empty`.
    pub fn builtin(name: &str) -> Option<Scenario> {
        let text = match name {
            "demo" => DEMO,
            "empty" => EMPTY,
            _ => return None,
        };
        Scenario::from_json(text).ok()
    }

    /// Parses and checks a scenario.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = serde_json::from_str(text)?;
        scenario.build(0, 10_000)?;
        Ok(scenario)
    }

    /// The Notion integration token.
    pub fn notion_token(&self) -> &str {
        self.notion_token.expose()
    }

    /// The PostHog personal API key.
    pub fn posthog_key(&self) -> &str {
        self.posthog_key.expose()
    }

    /// The kodo `.kodo/config.json` pointing at a sandbox on `base_url`.
    pub fn kodo_config(&self, base_url: &str) -> Value {
        let mut notion = json!({
            "authMethod": "api-token",
            "tokenEnvVar": "NOTION_API_KEY",
            "baseUrl": base_url,
        });
        if !self.notion.databases.is_empty() {
            let databases: Map<String, Value> = self
                .notion
                .databases
                .iter()
                .map(|db| (db.key.clone(), json!(db.id)))
                .collect();
            notion["databases"] = Value::Object(databases);
        }
        let pages: Map<String, Value> = ["analytics_home", "tracking_plan"]
            .iter()
            .filter_map(|key| {
                self.notion
                    .pages
                    .get(*key)
                    .map(|p| ((*key).to_string(), json!(p.id)))
            })
            .collect();
        notion["pages"] = Value::Object(pages);
        json!({
            "posthog": {
                "project_id": self.posthog.project_id.to_string(),
                "organization_slug": self.posthog.organization_slug,
                "region_url": base_url,
                "tokenEnvVar": "POSTHOG_PERSONAL_API_KEY",
            },
            "notion": notion,
            "sync": {
                "auto_sync_on_create": true,
                "require_notion_entry": false,
            },
        })
    }

    /// Expands the scenario into the two stores.
    pub fn build(
        &self,
        seed: u64,
        query_row_cap: usize,
    ) -> Result<(NotionStore, PosthogStore), ScenarioError> {
        let notion = self.build_notion(seed, query_row_cap)?;
        let posthog = self.build_posthog(seed)?;
        Ok((notion, posthog))
    }

    fn build_notion(&self, seed: u64, query_row_cap: usize) -> Result<NotionStore, ScenarioError> {
        let spec = &self.notion;
        let invalid = |m: String| ScenarioError::Invalid(m);
        let id = |raw: &str, what: &str| {
            ids::normalize(raw).ok_or_else(|| invalid(format!("{what} id `{raw}` is not a UUID")))
        };
        let user = |u: &NotionUserSpec, is_bot: bool| -> Result<User, ScenarioError> {
            Ok(User {
                id: id(&u.id, "user")?,
                name: u.name.clone(),
                avatar_url: u.avatar_url.clone(),
                email: u.email.clone(),
                is_bot,
                guest: u.guest,
            })
        };
        let users = spec
            .users
            .iter()
            .map(|u| user(u, false))
            .collect::<Result<Vec<_>, _>>()?;
        let first_person = users
            .first()
            .map(|u| u.id.clone())
            .ok_or_else(|| invalid("the Notion workspace needs at least one person".into()))?;
        let mut store = NotionStore {
            token: self.notion_token.clone(),
            workspace_name: spec.workspace_name.clone(),
            workspace_id: id(&spec.workspace_id, "workspace")?,
            bot: user(&spec.bot, true)?,
            users,
            removed_users: Vec::new(),
            user_access: spec.user_access,
            pages: Default::default(),
            databases: Default::default(),
            data_sources: Default::default(),
            cursors: Default::default(),
            blocks: Default::default(),
            child_order: Default::default(),
            seq: 0,
            rng: StdRng::seed_from_u64(seed),
            query_row_cap,
            query_incomplete_only_page: None,
        };
        let find_user = |store: &NotionStore, who: &str| -> Result<String, ScenarioError> {
            store
                .users
                .iter()
                .find(|u| u.email.as_deref() == Some(who) || u.id == who)
                .map(|u| u.id.clone())
                .ok_or_else(|| invalid(format!("no Notion user `{who}`")))
        };
        let default_time = clock::parse_datetime("2025-01-06T09:00:00Z")
            .ok_or_else(|| invalid("bad default time".into()))?;
        let time_of = |text: &Option<String>, fallback| -> Result<_, ScenarioError> {
            match text {
                None => Ok(fallback),
                Some(t) => clock::parse_datetime(t)
                    .or_else(|| clock::parse_date(t))
                    .ok_or_else(|| invalid(format!("`{t}` is not an ISO 8601 time"))),
            }
        };
        let page_ids: BTreeMap<&str, String> = spec
            .pages
            .iter()
            .map(|(key, p)| Ok((key.as_str(), id(&p.id, "page")?)))
            .collect::<Result<_, ScenarioError>>()?;
        for (key, page) in &spec.pages {
            let parent = match &page.parent {
                None => PageParent::Workspace,
                Some(parent) => {
                    PageParent::Page(page_ids.get(parent.as_str()).cloned().ok_or_else(|| {
                        invalid(format!("page `{key}` has unknown parent `{parent}`"))
                    })?)
                }
            };
            let at = time_of(&page.created_time, default_time)?;
            let seq = store.next_seq();
            let page_id = page_ids[key.as_str()].clone();
            let mut values = BTreeMap::new();
            values.insert(
                "title".into(),
                StoredValue::Text(vec![RichText::plain(&page.title)]),
            );
            store.pages.insert(
                page_id.clone(),
                Page {
                    id: page_id,
                    parent,
                    created: at,
                    edited: at,
                    seq,
                    created_by: first_person.clone(),
                    last_edited_by: first_person.clone(),
                    in_trash: false,
                    is_archived: false,
                    is_locked: false,
                    icon: Value::Null,
                    cover: Value::Null,
                    values,
                    shared: page.shared,
                    children: Vec::new(),
                },
            );
        }
        for db in &spec.databases {
            let db_id = id(&db.id, "database")?;
            let ds_id = id(&db.data_source_id, "data source")?;
            let parent_page = page_ids.get(db.parent.as_str()).cloned().ok_or_else(|| {
                invalid(format!(
                    "database `{}` has unknown parent `{}`",
                    db.key, db.parent
                ))
            })?;
            let mut expanded = Map::new();
            for (name, compact) in &db.properties {
                expanded.insert(name.clone(), expand_schema(compact));
            }
            let schema = values::build_schema(
                &mut store,
                &Value::Object(expanded),
                &format!("databases.{}.properties", db.key),
                &IdSource::Stable {
                    data_source_id: &ds_id,
                },
            )
            .map_err(|e| invalid(format!("database `{}`: {}", db.key, e.message)))?;
            let created = time_of(&db.created_time, default_time)?;
            let title = vec![RichText::plain(&db.title)];
            store.data_sources.insert(
                ds_id.clone(),
                DataSource {
                    id: ds_id.clone(),
                    database_id: db_id.clone(),
                    title: title.clone(),
                    description: Vec::new(),
                    properties: schema,
                    created,
                    edited: created,
                    created_by: first_person.clone(),
                    last_edited_by: first_person.clone(),
                    in_trash: false,
                },
            );
            store.databases.insert(
                db_id.clone(),
                Database {
                    id: db_id.clone(),
                    title,
                    description: Vec::new(),
                    parent_page,
                    is_inline: false,
                    in_trash: false,
                    is_locked: false,
                    created,
                    edited: created,
                    created_by: first_person.clone(),
                    last_edited_by: first_person.clone(),
                    data_sources: vec![ds_id.clone()],
                    icon: Value::Null,
                    cover: Value::Null,
                },
            );
            for (index, row) in db.rows.iter().enumerate() {
                let row_id = match &row.id {
                    Some(raw) => id(raw, "row")?,
                    None => ids::stable_uuid(&format!("{}/row/{index}", db.id)),
                };
                let context =
                    |m: String| invalid(format!("database `{}` row {index}: {m}", db.key));
                let ds = &store.data_sources[&ds_id];
                let mut properties = Map::new();
                for (name, compact) in &row.values {
                    let def = ds
                        .property(name)
                        .ok_or_else(|| context(format!("{name} is not a property that exists.")))?;
                    let value = expand_value(&store, &def.kind, compact).map_err(context)?;
                    properties.insert(name.clone(), value);
                }
                let writes =
                    values::parse_row_properties(&store, &ds_id, &Value::Object(properties))
                        .map_err(|e| context(e.message))?;
                let mut page_values = BTreeMap::new();
                values::apply_values(&mut store, &ds_id, &mut page_values, writes);
                let created_at = time_of(
                    &row.created_time,
                    created + time::Duration::minutes(index as i64),
                )?;
                let edited_at = time_of(&row.last_edited_time, created_at)?;
                let author = match &row.created_by {
                    Some(who) => find_user(&store, who)?,
                    None => first_person.clone(),
                };
                let seq = store.next_seq();
                store.pages.insert(
                    row_id.clone(),
                    Page {
                        id: row_id,
                        parent: PageParent::DataSource(ds_id.clone()),
                        created: created_at,
                        edited: edited_at,
                        seq,
                        created_by: author.clone(),
                        last_edited_by: author,
                        in_trash: row.in_trash,
                        is_archived: false,
                        is_locked: false,
                        icon: Value::Null,
                        cover: Value::Null,
                        values: page_values,
                        shared: true,
                        children: Vec::new(),
                    },
                );
            }
        }
        // Former members leave once their rows are written: the rows keep their ids.
        for u in spec.users.iter().filter(|u| u.removed) {
            store.remove_user(&id(&u.id, "user")?);
        }
        Ok(store)
    }

    fn build_posthog(&self, seed: u64) -> Result<PosthogStore, ScenarioError> {
        let spec = &self.posthog;
        // PostHog's scope strings: `*` or `<object>:read|write` (posthog/scopes.py).
        for scope in spec.personal_api_key_scopes.iter().flatten() {
            let well_formed = scope == "*"
                || scope.split_once(':').is_some_and(|(object, action)| {
                    !object.is_empty()
                        && object.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                        && matches!(action, "read" | "write")
                });
            if !well_formed {
                return Err(ScenarioError::Invalid(format!(
                    "PostHog personal_api_key_scopes: `{scope}` is not `*` or `<object>:read|write`"
                )));
            }
        }
        let invalid = |what: &str, e: PosthogError| {
            ScenarioError::Invalid(format!(
                "PostHog {what}: {} ({})",
                e.detail,
                e.attr.unwrap_or_default()
            ))
        };
        let users: Vec<Value> = spec
            .users
            .iter()
            .map(|u| {
                json!({
                    "id": u.id,
                    "uuid": ids::stable_uuid(&format!("posthog-user/{}", u.email)),
                    "distinct_id": ids::compact(&ids::stable_uuid(&format!("distinct/{}", u.email))),
                    "first_name": u.first_name,
                    "last_name": u.last_name,
                    "email": u.email,
                    "is_email_verified": true,
                    "hedgehog_config": null,
                    "role_at_organization": u.role_at_organization,
                })
            })
            .collect();
        // OrganizationMemberSerializer; the key's owner administers the organization.
        let members: Vec<Value> = spec
            .users
            .iter()
            .zip(&users)
            .filter(|(u, _)| !u.left)
            .map(|(u, user)| {
                let level = if u.email == spec.api_user { 8 } else { 1 };
                json!({
                    "id": ids::stable_uuid(&format!("posthog-membership/{}", u.email)),
                    "user": user,
                    "level": level,
                    "joined_at": "2024-01-15T09:00:00Z",
                    "updated_at": "2024-01-15T09:00:00Z",
                    "is_2fa_enabled": false,
                    "has_social_auth": false,
                    "last_login": "2025-11-24T08:00:00Z",
                })
            })
            .collect();
        let api_user = users
            .iter()
            .find(|u| u["email"] == spec.api_user.as_str())
            .cloned()
            .ok_or_else(|| {
                ScenarioError::Invalid(format!(
                    "PostHog api_user `{}` is not among the users",
                    spec.api_user
                ))
            })?;
        let mut store = PosthogStore {
            key: self.posthog_key.clone(),
            scopes: spec
                .personal_api_key_scopes
                .clone()
                .unwrap_or_else(|| vec!["*".into()]),
            scoped_teams: spec.personal_api_key_scoped_teams.clone(),
            project_id: spec.project_id,
            project_name: spec.project_name.clone(),
            organization_id: spec.organization_id.clone(),
            organization_slug: spec.organization_slug.clone(),
            organization_name: spec.organization_name.clone(),
            api_user,
            users,
            members,
            event_definitions: Vec::new(),
            feature_flags: Vec::new(),
            experiments: Vec::new(),
            dashboards: Vec::new(),
            saved_metrics: Vec::new(),
            properties: Default::default(),
            list_shift: 0,
            list_reseen: 0,
            rng: StdRng::seed_from_u64(seed ^ 0x9057),
        };
        for definition in &spec.event_definitions {
            let mut body = definition.clone();
            if !body.contains_key("id") {
                let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
                body.insert(
                    "id".into(),
                    json!(ids::stable_uuid(&format!("event/{name}"))),
                );
            }
            store
                .admin_create(Resource::EventDefinitions, &body)
                .map_err(|e| invalid("event definition", e))?;
        }
        for flag in &spec.feature_flags {
            let body = expand_flag(flag);
            let creator = match body.get("created_by") {
                Some(v) => store.resolve_user(v),
                None => store.api_user.clone(),
            };
            store
                .create_flag(&body, creator)
                .map_err(|e| invalid("feature flag", e))?;
        }
        for metric in &spec.saved_metrics {
            let mut metric = metric.clone();
            let creator = match metric.get("created_by") {
                Some(v) => store.resolve_user(v),
                None => store.api_user.clone(),
            };
            metric.insert("created_by".into(), creator);
            store.saved_metrics.push(metric);
        }
        // Dashboards before experiments and generated dashboards: their ids stay as written.
        for dashboard in &spec.dashboards {
            store
                .admin_create(Resource::Dashboards, dashboard)
                .map_err(|e| invalid("dashboard", e))?;
        }
        for experiment in &spec.experiments {
            store
                .admin_create(Resource::Experiments, experiment)
                .map_err(|e| invalid("experiment", e))?;
        }
        for p in &spec.property_definitions {
            store
                .properties
                .record(
                    ids::stable_uuid(&format!("property/{}", p.name)),
                    &p.name,
                    p.property_type.as_deref(),
                    &p.events,
                )
                .map_err(|e| invalid("property definition", e))?;
        }
        // PostHog creates a usage dashboard with every flag.
        store
            .create_missing_usage_dashboards()
            .map_err(|e| invalid("usage dashboard", e))?;
        Ok(store)
    }
}

/// Expands a compact schema entry into a Notion property configuration.
fn expand_schema(compact: &Value) -> Value {
    match compact {
        Value::String(type_name) => json!({ type_name.as_str(): {} }),
        Value::Object(map) if map.len() == 1 => {
            let (type_name, inner) = map
                .iter()
                .next()
                .map(|(k, v)| (k.as_str(), v))
                .unwrap_or(("", &Value::Null));
            match (type_name, inner) {
                ("select" | "multi_select", Value::Array(names)) => json!({
                    type_name: {"options": names.iter().map(|n| match n {
                        Value::String(name) => json!({"name": name}),
                        other => other.clone(),
                    }).collect::<Vec<_>>()}
                }),
                ("number", Value::String(format)) => json!({"number": {"format": format}}),
                _ => compact.clone(),
            }
        }
        other => other.clone(),
    }
}

/// Expands a compact flag: `rollout` (one group at that percentage) and `variants`
/// (a multivariate split, `control` first).
fn expand_flag(flag: &Map<String, Value>) -> Map<String, Value> {
    let mut body = flag.clone();
    let rollout = body.remove("rollout");
    let variants = body.remove("variants");
    if !body.contains_key("filters") {
        let mut filters = json!({
            "groups": [{"properties": [], "rollout_percentage": rollout.unwrap_or(Value::Null), "variant": null}],
            "payloads": {},
            "multivariate": null,
        });
        if let Some(Value::Array(keys)) = variants {
            let n = keys.len().max(1) as i64;
            let share = 100 / n;
            let variants: Vec<Value> = keys
                .iter()
                .enumerate()
                .map(|(i, key)| {
                    let extra = if i == 0 { 100 - share * n } else { 0 };
                    let name = key
                        .as_str()
                        .map(|k| {
                            let mut c = k.chars();
                            c.next()
                                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                                .unwrap_or_default()
                        })
                        .unwrap_or_default();
                    json!({"key": key, "name": name, "rollout_percentage": share + extra})
                })
                .collect();
            filters["multivariate"] = json!({"variants": variants});
            filters["aggregation_group_type_index"] = Value::Null;
            filters["holdout_groups"] = Value::Null;
        }
        body.insert("filters".into(), filters);
    }
    body
}

/// Expands a compact row value into the API's write shape for a property type.
fn expand_value(store: &NotionStore, kind: &PropKind, compact: &Value) -> Result<Value, String> {
    let text = |s: &str| json!([{"type": "text", "text": {"content": s}}]);
    Ok(match (kind, compact) {
        (PropKind::Title, Value::String(s)) => json!({"title": text(s)}),
        (PropKind::RichText, Value::String(s)) => json!({"rich_text": text(s)}),
        (PropKind::Title, v) => json!({"title": v}),
        (PropKind::RichText, v) => json!({"rich_text": v}),
        (PropKind::Number { .. }, v) => json!({"number": v}),
        (PropKind::Select { .. }, Value::String(s)) => json!({"select": {"name": s}}),
        (PropKind::Select { .. }, v) => json!({"select": v}),
        (PropKind::MultiSelect { .. }, Value::Array(items)) => {
            json!({"multi_select": items.iter().map(|i| match i {
            Value::String(s) => json!({"name": s}),
            other => other.clone(),
        }).collect::<Vec<_>>()})
        }
        (PropKind::People, Value::Array(items)) => {
            let mut people = Vec::new();
            for item in items {
                let who = item.as_str().ok_or("people are given as emails or ids")?;
                let user = store
                    .users
                    .iter()
                    .find(|u| u.email.as_deref() == Some(who) || u.id == who)
                    .ok_or_else(|| format!("no Notion user `{who}`"))?;
                people.push(json!({"object": "user", "id": user.id}));
            }
            json!({"people": people})
        }
        (PropKind::Date, Value::String(s)) => json!({"date": {"start": s}}),
        (PropKind::Date, v) => json!({"date": v}),
        (PropKind::Checkbox, v) => json!({"checkbox": v}),
        (PropKind::Url, v) => json!({"url": v}),
        (PropKind::Email, v) => json!({"email": v}),
        (PropKind::PhoneNumber, v) => json!({"phone_number": v}),
        (other, v) => json!({ other.type_name(): v }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_load() {
        assert!(Scenario::builtin("demo").is_some());
        assert!(Scenario::builtin("empty").is_some());
        assert!(Scenario::builtin("nope").is_none());
    }

    #[test]
    fn empty_config_has_no_databases() {
        let scenario = Scenario::builtin("empty").unwrap();
        let config = scenario.kodo_config("http://127.0.0.1:1");
        assert!(config["notion"].get("databases").is_none());
        assert_eq!(config["notion"]["baseUrl"], "http://127.0.0.1:1");
        assert_eq!(config["posthog"]["region_url"], "http://127.0.0.1:1");
        assert!(config["notion"]["pages"]["analytics_home"].is_string());
        assert!(config["notion"]["pages"]["tracking_plan"].is_string());
    }

    #[test]
    fn bad_scenarios_are_reported() {
        assert!(matches!(
            Scenario::from_json("{"),
            Err(ScenarioError::Format(_))
        ));
        let mut value: Value = serde_json::from_str(EMPTY).unwrap();
        value["notion"]["databases"] = json!([{
            "key": "events", "id": "11111111-1111-4111-8111-111111111111",
            "data_source_id": "22222222-2222-4222-8222-222222222222",
            "title": "Events", "parent": "analytics_home",
            "properties": {"Event Name": "title", "Domain": {"select": ["user_"]}},
            "rows": [{"values": {"Event Name": "a", "Domain": "bad,option"}}]
        }]);
        let error = Scenario::from_json(&value.to_string()).unwrap_err();
        assert!(error.to_string().contains("commas not allowed"), "{error}");
    }
}
