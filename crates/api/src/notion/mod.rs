//! The Notion client (`Notion-Version: 2025-09-03`): databases, data sources, rows, users.
//!
//! Invariants:
//! - Every request carries `Notion-Version: 2025-09-03` and goes through the shared
//!   [`crate::http`] loop (one limiter per client spending the per-connection window budget;
//!   429/529 pause every caller).
//! - Rows are addressed through data sources, never databases; [`NotionClient::resolve_data_source`]
//!   accepts either id and says which to configure when a database has several data sources.
//! - Creates are exactly-once: `POST /v1/pages` is sent again only after a query by the row's
//!   sync key ([`KeyLookup`]) shows the earlier send did not create it; a 503 carrying
//!   `committed_resource_id` is settled by reading that id. Updates are settled by reading the
//!   page back and comparing the values sent.
//! - Queries never send `start_cursor: null`, always sort by `created_time` ascending, and
//!   continue past Notion's per-query row limit (`request_status.type == "incomplete"` on any
//!   page of the result) with a `created_time` `on_or_after` filter, de-duplicating rows by id.

mod blocks;
mod compare;
mod pending;
mod renames;
mod types;

pub use blocks::{
    append_chunks, element_count, nesting_depth, Block, MAX_CHILDREN_PER_APPEND,
    MAX_ELEMENTS_PER_APPEND, MAX_NESTING,
};

use std::collections::HashSet;
use std::fmt;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, Result, Service};
use crate::http::{
    check_base_url, normalize_base, Access, Answered, Call, ClientOptions, Failure, FailureKind,
    RateLimiter, Reply, RequestStats, Settle, Transport, TransportConfig,
};
use crate::secret::Secret;

pub use pending::{PendingCreates, MAX_KEYS_PER_QUERY};
pub use renames::Renamed;
pub use types::{
    plain_text, CreateOutcome, DataSource, DataSourceRef, Database, KeyLookup, KeyType, Page,
    PropertySchema, User, UsersAccess,
};
use types::{RawDataSource, RawDatabase, RawList, RawPage, RawSearchHit, RawUser};

/// The Notion API version kodo speaks.
pub const NOTION_VERSION: &str = "2025-09-03";

/// Rows per query page (Notion's maximum).
const PAGE_SIZE: u32 = 100;

const SHARE_HINT: &str = "Share it with the integration (in Notion: ••• menu → Connections → add \
the integration; sharing a parent page shares everything under it), and check the id: a database \
id (the one in the page URL) is not a data-source id (Database settings → Manage data sources → \
Copy data source ID).";

/// A Notion API client. Cheap to share by reference across concurrent tasks; all of them draw
/// on one rate limiter.
pub struct NotionClient {
    t: Transport,
    token_env_var: String,
    /// When this client last received a 409 `conflict_error` (another writer was active).
    last_conflict: std::sync::Mutex<Option<std::time::Instant>>,
    /// "Now" for deciding whether a key seen missing may be stale.
    clock: StaleClock,
    /// Properties renamed in Notion that callers keep using by their old names.
    renames: renames::Renames,
}

/// How long after a row's key was seen missing a create still trusts that: older than this,
/// another writer (a CI job, a teammate's laptop: no local lock reaches them) may have created
/// the row meanwhile, so [`NotionClient::create_missing_page`] looks the key up first.
pub const RECHECK_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// The moment [`NotionClient`]'s staleness decisions are made at: the monotonic clock, or in
/// tests one that stands still at a set instant, so that whether [`RECHECK_AFTER`] has passed
/// never depends on how fast a loaded machine runs the test.
#[derive(Debug, Default)]
struct StaleClock {
    stopped_at: Option<std::time::Instant>,
}

impl StaleClock {
    fn now(&self) -> std::time::Instant {
        self.stopped_at.unwrap_or_else(std::time::Instant::now)
    }
}

impl fmt::Debug for NotionClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotionClient")
            .field("base_url", &self.t.base.as_str())
            .field("token", &"***")
            .finish()
    }
}

/// Whether a failed write is known to have been saved.
enum Committed {
    /// A create committed; this is the new object's id.
    Resource(String),
    /// Notion says the change was saved (503 with "do not repeat" guidance).
    Saved,
    No,
}

/// A read that settles a write: what it read is the result, its error the write's.
pub(crate) fn settled<T>(read: Result<T>) -> Settle<T> {
    match read {
        Ok(value) => Settle::Done(value),
        Err(e) => Settle::Fail(e),
    }
}

fn committed(f: &Failure) -> Committed {
    if !matches!(f.status(), Some(s) if s >= 500) {
        return Committed::No;
    }
    let Some(body) = f.json() else {
        return Committed::No;
    };
    if let Some(id) = body
        .pointer("/additional_data/committed_resource_id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
    {
        return Committed::Resource(id.to_owned());
    }
    let saved_message = body
        .get("message")
        .and_then(Value::as_str)
        .is_some_and(|m| m.starts_with("The change was saved"));
    let do_not_repeat = body
        .pointer("/additional_data/retry_guidance")
        .and_then(Value::as_array)
        .is_some_and(|g| {
            g.iter()
                .filter_map(Value::as_str)
                .any(|s| s.to_ascii_lowercase().contains("do not repeat"))
        });
    if saved_message || do_not_repeat {
        Committed::Saved
    } else {
        Committed::No
    }
}

impl NotionClient {
    /// A client for `base_url` (`https://api.notion.com`, or a loopback emulator).
    /// `opts` usually starts from [`ClientOptions::notion`].
    pub fn new(base_url: &str, token: Secret, opts: ClientOptions) -> Result<Self> {
        let base = normalize_base(check_base_url(base_url, "notion.baseUrl")?, "/v1");
        let mut extra_headers = HeaderMap::new();
        extra_headers.insert("Notion-Version", HeaderValue::from_static(NOTION_VERSION));
        let token_env_var = opts.credential_env_var.clone();
        let t = Transport::new(TransportConfig {
            service: Service::Notion,
            base,
            secret: token,
            extra_headers,
            options: opts,
        })?;
        Ok(NotionClient {
            t,
            token_env_var,
            last_conflict: std::sync::Mutex::new(None),
            clock: StaleClock::default(),
            renames: renames::Renames::default(),
        })
    }

    /// A page as read: properties renamed in Notion under the names the caller follows them by.
    fn page(&self, mut raw: RawPage) -> Page {
        let (ds, id, properties) = raw.parts_mut();
        self.renames.incoming_page(ds.as_deref(), id, properties);
        raw.into()
    }

    /// A data source as read: renamed properties under the names the caller follows them by.
    fn data_source(&self, mut raw: RawDataSource) -> DataSource {
        let (id, properties) = raw.parts_mut();
        self.renames.incoming_schema(id, properties);
        raw.into()
    }

    /// Request counters so far.
    pub fn stats(&self) -> RequestStats {
        self.t.stats()
    }

    /// The client's rate limiter (shared by all its requests).
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.t.limiter
    }

    /// The bot user the token belongs to (a cheap token check).
    pub async fn me(&self) -> Result<User> {
        let url = self.url(&["users", "me"]);
        let raw: RawUser = self.read(Method::GET, url, None, "user", "me").await?;
        Ok(raw.into())
    }

    /// One user by ID: `None` when Notion does not know it (404), as for a person removed from
    /// the workspace. Guests, whom [`NotionClient::list_users`] never returns ("Guests are not
    /// included in the response"), are found this way
    /// (https://developers.notion.com/reference/get-users).
    pub async fn retrieve_user(&self, id: &str) -> Result<Option<User>> {
        let url = self.url(&["users", id]);
        match self
            .read::<RawUser>(Method::GET, url, None, "user", id)
            .await
        {
            Ok(raw) => Ok(Some(raw.into())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every workspace user (all pages). Without the "read user information" capability Notion
    /// answers 403, which is reported as [`UsersAccess::NotAllowed`], not an error.
    pub async fn list_users(&self) -> Result<UsersAccess> {
        let mut users = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = self.url(&["users"]);
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("page_size", &PAGE_SIZE.to_string());
                if let Some(c) = &cursor {
                    q.append_pair("start_cursor", c);
                }
            }
            let call = Call {
                method: Method::GET,
                url,
                body: None,
                access: Access::Read,
            };
            let page: RawList<RawUser> = match self.t.execute(call).await {
                Ok(reply) => self.decode(&reply, "GET /v1/users")?,
                Err(f) if f.status() == Some(403) => return Ok(UsersAccess::NotAllowed),
                Err(f) => return Err(self.map(f, "users", "")),
            };
            users.extend(page.results.into_iter().map(User::from));
            match page.next_cursor {
                Some(next) if page.has_more && !next.is_empty() => cursor = Some(next),
                _ => return Ok(UsersAccess::Users(users)),
            }
        }
    }

    /// A database (container): its title and data sources.
    pub async fn retrieve_database(&self, id: &str) -> Result<Database> {
        let url = self.url(&["databases", id]);
        let raw: RawDatabase = self.read(Method::GET, url, None, "database", id).await?;
        Ok(raw.into())
    }

    /// A data source and its schema. `id` must be a data-source id.
    pub async fn retrieve_data_source(&self, id: &str) -> Result<DataSource> {
        let url = self.url(&["data_sources", id]);
        let raw: RawDataSource = self.read(Method::GET, url, None, "data source", id).await?;
        Ok(self.data_source(raw))
    }

    /// The data source behind `id`, which may be a data-source id or a database id (as copied
    /// from a Notion URL). A database with exactly one data source resolves to it; one with
    /// several is an [`ApiError::DataSourceChoice`] listing them.
    pub async fn resolve_data_source(&self, id: &str) -> Result<DataSource> {
        match self.retrieve_data_source(id).await {
            Ok(ds) => return Ok(ds),
            Err(e) if e.is_not_found() || matches!(e, ApiError::Validation { .. }) => {}
            Err(e) => return Err(e),
        }
        self.t.log(&format!(
            "{id} is not a data source; trying it as a database id"
        ));
        let db = match self.retrieve_database(id).await {
            Ok(db) => db,
            Err(e) if e.is_not_found() || matches!(e, ApiError::Validation { .. }) => {
                return Err(ApiError::NotFound {
                    service: Service::Notion,
                    what: "data source or database".to_owned(),
                    id: id.to_owned(),
                    hint: SHARE_HINT.to_owned(),
                })
            }
            Err(e) => return Err(e),
        };
        match db.data_sources.as_slice() {
            [only] => self.retrieve_data_source(&only.id).await,
            _ => Err(ApiError::DataSourceChoice {
                database_id: db.id,
                data_sources: db.data_sources,
            }),
        }
    }

    /// Creates a database (with its initial data source) under `parent_page_id`.
    ///
    /// A 503 carrying `committed_resource_id` is settled by reading that database. Any other
    /// unknown outcome is an [`ApiError::AmbiguousWrite`], never a second send: the user
    /// re-runs setup, which finds the database by its title and description marker.
    ///
    /// `description` (plain text; empty for none) is the database's description line: setup
    /// writes a marker there so that a re-run can recognise a database it created when the
    /// answer to that create was lost (see [`NotionClient::find_databases`]).
    pub async fn create_database(
        &self,
        parent_page_id: &str,
        title: &str,
        description: &str,
        properties: Value,
    ) -> Result<Database> {
        let mut body = json!({
            "parent": {"type": "page_id", "page_id": parent_page_id},
            "title": [{"type": "text", "text": {"content": title}}],
            "initial_data_source": {"properties": properties},
        });
        if !description.is_empty() {
            body["description"] = json!([{"type": "text", "text": {"content": description}}]);
        }
        let call = Call::write(Method::POST, self.url(&["databases"]), &body);
        self.t
            .write_settled(
                call,
                None,
                |reply| {
                    Ok(self
                        .decode::<RawDatabase>(&reply, "POST /v1/databases")?
                        .into())
                },
                |f, _| async move {
                    match committed(&f) {
                        Committed::Resource(id) => {
                            self.t.log(&format!(
                                "POST /v1/databases answered {} but committed database {id}; reading it",
                                f.status().unwrap_or(0)
                            ));
                            settled(self.retrieve_database(&id).await)
                        }
                        _ if f.outcome_unknown() => Settle::Fail(ApiError::AmbiguousWrite {
                            service: Service::Notion,
                            what: format!("creating database \"{title}\""),
                            detail: failure_summary(&f),
                        }),
                        _ => Settle::Fail(self.map(f, "parent page", parent_page_id)),
                    }
                },
            )
            .await
    }

    /// The databases titled `title` directly under the page `parent_page_id`, not in the
    /// trash, oldest first, each read in full (with its description).
    ///
    /// Found with `POST /v1/search` filtered to data sources: "the provided query is matched
    /// against the database title", and each result names its database (`parent.database_id`)
    /// and the database's parent (`database_parent`) (developers.notion.com/reference/
    /// post-search, 2025-09-03). Search indexing is not immediate
    /// (developers.notion.com/reference/search-optimizations-and-limitations): a database
    /// created a moment ago may not be found yet.
    pub async fn find_databases(&self, parent_page_id: &str, title: &str) -> Result<Vec<Database>> {
        let url = self.url(&["search"]);
        let wanted = compact_id(parent_page_id);
        let mut ids: Vec<String> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut body = json!({
                "query": title,
                "filter": {"property": "object", "value": "data_source"},
                "page_size": PAGE_SIZE,
            });
            if let Some(c) = &cursor {
                body["start_cursor"] = json!(c);
            }
            let page: RawList<RawSearchHit> = self
                .read(Method::POST, url.clone(), Some(&body), "search", title)
                .await?;
            for hit in page.results.iter().filter(|h| h.object == "data_source") {
                let under_parent = hit
                    .database_parent
                    .get("page_id")
                    .and_then(Value::as_str)
                    .is_some_and(|p| compact_id(p) == wanted);
                if let Some(db) = hit.parent.get("database_id").and_then(Value::as_str) {
                    if under_parent && !ids.iter().any(|known| compact_id(known) == compact_id(db))
                    {
                        ids.push(db.to_owned());
                    }
                }
            }
            match page.next_cursor {
                Some(next) if page.has_more && !next.is_empty() => cursor = Some(next),
                _ => break,
            }
        }
        let mut found = Vec::new();
        for id in ids {
            let db = self.retrieve_database(&id).await?;
            if db.title == title && !db.in_trash {
                found.push(db);
            }
        }
        found.sort_by(|a, b| a.created_time.cmp(&b.created_time).then(a.id.cmp(&b.id)));
        Ok(found)
    }

    /// Changes a data source's schema or title (`PATCH /v1/data_sources/{id}` with `body`).
    ///
    /// A 503 saying the change was saved is settled by reading the data source; any other
    /// unknown outcome is an [`ApiError::AmbiguousWrite`] (setup re-runs idempotently).
    pub async fn update_data_source(&self, id: &str, mut body: Value) -> Result<DataSource> {
        if let Some(properties) = body.get_mut("properties") {
            self.renames.outgoing(id, properties);
        }
        let call = Call::write(Method::PATCH, self.url(&["data_sources", id]), &body);
        self.t
            .write_settled(
                call,
                None,
                |reply| {
                    Ok(self.data_source(
                        self.decode::<RawDataSource>(&reply, "PATCH /v1/data_sources")?,
                    ))
                },
                |f, _| async move {
                    match committed(&f) {
                        Committed::Resource(_) | Committed::Saved => {
                            self.t.log(&format!(
                                "PATCH data source {id}: Notion says the change was saved; reading it back"
                            ));
                            settled(self.retrieve_data_source(id).await)
                        }
                        Committed::No if f.outcome_unknown() => {
                            Settle::Fail(ApiError::AmbiguousWrite {
                                service: Service::Notion,
                                what: format!("updating the schema of data source {id}"),
                                detail: failure_summary(&f),
                            })
                        }
                        Committed::No => Settle::Fail(self.map(f, "data source", id)),
                    }
                },
            )
            .await
    }

    /// Every row of a data source matching `filter` (all rows when `None`), oldest first.
    pub async fn query_all(
        &self,
        data_source_id: &str,
        filter: Option<Value>,
    ) -> Result<Vec<Page>> {
        let mut rows: Vec<Page> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut since: Option<String> = None;
        loop {
            let partition_filter = match (&filter, &since) {
                (f, None) => f.clone(),
                (None, Some(t)) => Some(created_since(t)),
                (Some(f), Some(t)) => Some(json!({"and": [f, created_since(t)]})),
            };
            let mut cursor: Option<String> = None;
            let mut new_rows = 0usize;
            let mut last_created: Option<String> = None;
            // "Check request_status.type === "incomplete" on every response page … Any page
            // with that status means the whole query result was capped"
            // (developers.notion.com/reference/query-a-data-source, "Pagination limit").
            let mut incomplete = false;
            loop {
                let mut body = Map::new();
                body.insert("page_size".into(), json!(PAGE_SIZE));
                body.insert(
                    "sorts".into(),
                    json!([{"timestamp": "created_time", "direction": "ascending"}]),
                );
                if let Some(f) = &partition_filter {
                    body.insert("filter".into(), f.clone());
                }
                if let Some(c) = &cursor {
                    body.insert("start_cursor".into(), Value::String(c.clone()));
                }
                let page = self
                    .query_once(data_source_id, &Value::Object(body))
                    .await?;
                for raw in page.results {
                    let row = self.page(raw);
                    if !row.created_time.is_empty() {
                        last_created = Some(row.created_time.clone());
                    }
                    if seen.insert(row.id.clone()) {
                        new_rows += 1;
                        rows.push(row);
                    }
                }
                incomplete |= page
                    .request_status
                    .as_ref()
                    .is_some_and(|s| s.kind == "incomplete");
                match page.next_cursor {
                    Some(next) if page.has_more && !next.is_empty() => cursor = Some(next),
                    _ => break,
                }
            }
            if !incomplete {
                return Ok(rows);
            }
            match last_created {
                Some(t) if new_rows > 0 => {
                    self.t.log(&format!(
                        "query of {data_source_id} reached Notion's row limit; continuing with rows created on or after {t}"
                    ));
                    since = Some(t);
                }
                last => {
                    return Err(ApiError::QueryLimit {
                        data_source_id: data_source_id.to_owned(),
                        created_time: last.or(since).unwrap_or_default(),
                    })
                }
            }
        }
    }

    async fn query_once(&self, data_source_id: &str, body: &Value) -> Result<RawList<RawPage>> {
        let url = self.url(&["data_sources", data_source_id, "query"]);
        let mut body = body.clone();
        if let Some(filter) = body.get_mut("filter") {
            self.renames.outgoing_filter(data_source_id, filter);
        }
        self.read(
            Method::POST,
            url,
            Some(&body),
            "data source",
            data_source_id,
        )
        .await
    }

    /// The row whose sync key equals `key`, if any (the oldest, should there be several).
    pub async fn find_by_key(&self, data_source_id: &str, key: &KeyLookup) -> Result<Option<Page>> {
        let rows = self.query_all(data_source_id, Some(key.filter())).await?;
        Ok(rows.into_iter().find(|p| !p.in_trash))
    }

    /// One page (row).
    pub async fn retrieve_page(&self, id: &str) -> Result<Page> {
        let url = self.url(&["pages", id]);
        let raw: RawPage = self.read(Method::GET, url, None, "page", id).await?;
        Ok(self.page(raw))
    }

    /// Creates a row in a data source, exactly once.
    ///
    /// Sent once; success is [`CreateOutcome::Created`]. A 503 with
    /// `additional_data.committed_resource_id` is settled by reading that page (`Created`).
    /// Any other unknown outcome (timeout, dropped connection, 5xx) is settled by querying the
    /// data source by `key`: a row found is [`CreateOutcome::Recovered`]; none means the send
    /// did not land, and it is sent again (at most `max_attempts` sends). 429/529 mean Notion
    /// did not process it: wait and resend.
    pub async fn create_page(
        &self,
        data_source_id: &str,
        properties: Value,
        key: &KeyLookup,
    ) -> Result<CreateOutcome> {
        self.create_page_with(data_source_id, properties, key, None)
            .await
    }

    /// [`NotionClient::create_page`] whose first send uses `permit`.
    async fn create_page_with<'p>(
        &'p self,
        data_source_id: &str,
        properties: Value,
        key: &KeyLookup,
        permit: Option<crate::http::Permit<'p>>,
    ) -> Result<CreateOutcome> {
        let mut properties = properties;
        self.renames.outgoing(data_source_id, &mut properties);
        let body = json!({
            "parent": {"type": "data_source_id", "data_source_id": data_source_id},
            "properties": properties,
        });
        let call = Call::write(Method::POST, self.url(&["pages"]), &body);
        self.t
            .write_settled(
                call,
                permit,
                |reply| {
                    let raw: RawPage = self.decode(&reply, "POST /v1/pages")?;
                    Ok(CreateOutcome::Created(self.page(raw)))
                },
                |f, sends| self.settle_create(data_source_id, key, f, sends),
            )
            .await
    }

    /// Settles a create whose send failed: a committed id is read; a conflict or an unknown
    /// outcome is settled by looking the row up by `key` (found: it exists; else send again).
    async fn settle_create(
        &self,
        data_source_id: &str,
        key: &KeyLookup,
        f: Failure,
        sends: u32,
    ) -> Settle<CreateOutcome> {
        if let Committed::Resource(id) = committed(&f) {
            self.t.log(&format!(
                "POST /v1/pages answered {} but committed page {id}; reading it instead of sending again",
                f.status().unwrap_or(0)
            ));
            return settled(self.retrieve_page(&id).await.map(CreateOutcome::Created));
        }
        let conflict = f.status() == Some(409);
        if conflict {
            // Another writer was active: Notion saved nothing, but that writer may have
            // created this very row.
            self.note_conflict();
        } else if !f.outcome_unknown() {
            return Settle::Fail(self.map(f, "data source", data_source_id));
        }
        self.t.log(&format!(
            "POST /v1/pages: {}; looking for a row with {} = {} before sending again",
            if conflict {
                "conflict with another write".to_owned()
            } else {
                format!("outcome unknown ({})", failure_summary(&f))
            },
            key.property,
            key.value
        ));
        if matches!(f.kind, FailureKind::Network { .. }) {
            // A lost answer may mean the create is still being processed: give it a moment.
            self.t
                .wait(
                    self.t.policy.backoff(sends),
                    "letting an interrupted create settle",
                )
                .await;
        }
        let found = match self.find_by_key(data_source_id, key).await {
            Ok(found) => found,
            Err(e) => {
                return Settle::Fail(ApiError::AmbiguousWrite {
                    service: Service::Notion,
                    what: format!("creating the row {} = {}", key.property, key.value),
                    detail: format!("{}; looking the row up failed: {e}", failure_summary(&f)),
                })
            }
        };
        if let Some(page) = found {
            if conflict {
                self.t.log(&format!(
                    "the row exists ({}): another writer created it",
                    page.id
                ));
                return Settle::Done(CreateOutcome::Existing(page));
            }
            self.t.log(&format!(
                "the row exists ({}): the earlier create went through",
                page.id
            ));
            return Settle::Done(CreateOutcome::Recovered(page));
        }
        Settle::Again {
            exhausted: self.map(f, "data source", data_source_id),
            backoff: conflict.then(|| "retrying POST /v1/pages after a conflict".to_owned()),
            resend: Some(
                "no such row: the earlier create did not go through; sending it again".to_owned(),
            ),
        }
    }

    /// Creates a row whose key was seen missing at `seen_missing`, exactly once, without
    /// duplicating a row another writer made since: [`NotionClient::create_pending`] for a
    /// run of one create.
    pub async fn create_missing_page(
        &self,
        data_source_id: &str,
        properties: Value,
        key: &KeyLookup,
        seen_missing: std::time::Instant,
    ) -> Result<CreateOutcome> {
        let pending = PendingCreates::new(data_source_id, seen_missing, [key.clone()]);
        self.create_pending(&pending, properties, key).await
    }

    /// Creates the row of `key`, one of `pending`'s, exactly once, without duplicating a row
    /// another writer made since the key was seen missing: when that was longer than
    /// [`RECHECK_AFTER`] ago, or this client has met a 409 conflict since, one query looks up
    /// this key together with the next pending ones (an `or` of at most
    /// [`MAX_KEYS_PER_QUERY`] keys), so a run that waits on the rate limit re-checks once per
    /// batch of creates, not once per create. A row found is [`CreateOutcome::Existing`];
    /// otherwise this is [`NotionClient::create_page`].
    pub async fn create_pending(
        &self,
        pending: &PendingCreates,
        properties: Value,
        key: &KeyLookup,
    ) -> Result<CreateOutcome> {
        if let Some(page) = pending.take_found(key) {
            return Ok(self.existing(key, page));
        }
        // The create's turn comes first (it may wait in the limiter's queue), so that the
        // decision below is made at the moment of sending, and the send follows the key check
        // without another wait.
        let permit = self.t.limiter.acquire().await;
        if self.may_be_stale(pending.seen_missing(key)) {
            let _turn = pending.check_turn().await;
            // A concurrent create may have looked this key up while this one waited.
            if let Some(page) = pending.take_found(key) {
                return Ok(self.existing(key, page));
            }
            if self.may_be_stale(pending.seen_missing(key)) {
                let batch = pending.batch_for(key);
                let at = self.clock.now();
                let rows = self
                    .query_all(pending.data_source_id(), Some(KeyLookup::any_of(&batch)))
                    .await?;
                pending.record(&batch, rows, at);
                if let Some(page) = pending.take_found(key) {
                    return Ok(self.existing(key, page));
                }
            }
        }
        pending.mark_sent(key);
        self.create_page_with(pending.data_source_id(), properties, key, Some(permit))
            .await
    }

    fn existing(&self, key: &KeyLookup, page: Page) -> CreateOutcome {
        self.t.log(&format!(
            "{} = {} was created meanwhile by another writer ({}); not creating it again",
            key.property, key.value, page.id
        ));
        CreateOutcome::Existing(page)
    }

    /// Whether what was seen at `seen` may be out of date: it is older than [`RECHECK_AFTER`],
    /// or a conflict with another writer has been met since.
    fn may_be_stale(&self, seen: std::time::Instant) -> bool {
        let conflict = *self.last_conflict.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = self.clock.now().saturating_duration_since(seen);
        elapsed >= RECHECK_AFTER || conflict.is_some_and(|c| c >= seen)
    }

    /// Stops this client's staleness clock at `at` (tests): a key seen missing before
    /// `at - RECHECK_AFTER` is stale, one a batch query saw missing never becomes stale again.
    /// A conflict noted meanwhile makes every key seen up to `at` stale for good.
    #[cfg(test)]
    pub(crate) fn stop_staleness_clock_at(&mut self, at: std::time::Instant) {
        self.clock.stopped_at = Some(at);
    }

    fn note_conflict(&self) {
        *self.last_conflict.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.clock.now());
    }

    /// Sets the given properties of a page (others are untouched).
    ///
    /// 409 `conflict_error`: re-read the page, then retry. Unknown outcome (5xx, lost
    /// connection): re-read the page; if every value sent reads back equal the write committed,
    /// else send again. Both bounded by `max_attempts` sends.
    pub async fn update_page(&self, id: &str, properties: Value) -> Result<Page> {
        let sent = properties.as_object().cloned().unwrap_or_default();
        let mut properties = properties;
        if let Some(ds) = self.renames.source_of_page(id) {
            self.renames.outgoing(&ds, &mut properties);
        }
        let body = json!({ "properties": properties });
        self.patch_page(id, &body, |page| compare::properties_match(&sent, page))
            .await
    }

    /// Moves a page to the trash (`true`) or restores it (`false`), settled like
    /// [`NotionClient::update_page`].
    pub async fn set_in_trash(&self, id: &str, in_trash: bool) -> Result<Page> {
        let body = json!({ "in_trash": in_trash });
        self.patch_page(id, &body, |page| page.in_trash == in_trash)
            .await
    }

    async fn patch_page(
        &self,
        id: &str,
        body: &Value,
        applied: impl Fn(&Page) -> bool,
    ) -> Result<Page> {
        let call = Call::write(Method::PATCH, self.url(&["pages", id]), body);
        let applied = &applied;
        self.t
            .write_settled(
                call,
                None,
                |reply| {
                    let raw: RawPage = self.decode(&reply, "PATCH /v1/pages")?;
                    Ok(self.page(raw))
                },
                |f, _| self.settle_patch(id, applied, f),
            )
            .await
    }

    /// Settles a page update whose send failed: after a conflict or an unknown outcome the
    /// page is read back; it is done when `applied` holds, else the update is sent again.
    async fn settle_patch(
        &self,
        id: &str,
        applied: &impl Fn(&Page) -> bool,
        f: Failure,
    ) -> Settle<Page> {
        let conflict = f.status() == Some(409);
        if conflict {
            self.note_conflict();
        }
        let unsure = !matches!(committed(&f), Committed::No) || f.outcome_unknown();
        if !conflict && !unsure {
            return Settle::Fail(self.map(f, "page", id));
        }
        let why = if conflict {
            "conflict with another write".to_owned()
        } else {
            format!("outcome unknown ({})", failure_summary(&f))
        };
        self.t
            .log(&format!("PATCH page {id}: {why}; re-reading the page"));
        let page = match self.retrieve_page(id).await {
            Ok(page) => page,
            Err(e) => {
                return Settle::Fail(ApiError::AmbiguousWrite {
                    service: Service::Notion,
                    what: format!("updating page {id}"),
                    detail: format!("{why}; reading the page back failed: {e}"),
                })
            }
        };
        if applied(&page) {
            self.t
                .log(&format!("page {id} already holds the values sent"));
            return Settle::Done(page);
        }
        Settle::Again {
            exhausted: self.map(f, "page", id),
            backoff: conflict.then(|| format!("retrying PATCH page {id} after a conflict")),
            resend: (!conflict)
                .then(|| format!("page {id} does not hold the values sent; sending again")),
        }
    }

    // ---- plumbing ---------------------------------------------------------------------------

    fn url(&self, segments: &[&str]) -> Url {
        self.t.url("v1", segments)
    }

    async fn read<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        what: &str,
        id: &str,
    ) -> Result<T> {
        let call = Call {
            method,
            url,
            body,
            access: Access::Read,
        };
        let request = call.describe();
        match self.t.execute(call).await {
            Ok(reply) => self.decode(&reply, &request),
            Err(f) => Err(self.map(f, what, id)),
        }
    }

    fn decode<T: DeserializeOwned>(&self, reply: &Reply, what: &str) -> Result<T> {
        serde_json::from_slice(&reply.body).map_err(|e| ApiError::Decode {
            service: Service::Notion,
            what: what.to_owned(),
            message: e.to_string(),
        })
    }

    /// Turns a failure into the error the user sees. `what`/`id` name the object concerned.
    fn map(&self, f: Failure, what: &str, id: &str) -> ApiError {
        let body = f.json();
        let code = body
            .as_ref()
            .and_then(|b| b.get("code"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let message = self.t.redact(&service_message(&f, body.as_ref()));
        let Answered {
            status,
            request,
            attempts,
            elapsed,
        } = match f.answered(Service::Notion) {
            Ok(answered) => answered,
            Err(unanswered) => return unanswered,
        };
        match status {
            401 => ApiError::Unauthorized {
                service: Service::Notion,
                hint: format!(
                    "API token is invalid; check {} (the integration's internal token, from \
                     https://www.notion.so/my-integrations)",
                    self.token_env_var
                ),
            },
            // The Free workspace block limit, enforced by the API from September 8, 2026:
            // 403 restricted_resource with additional_data.block_limit
            // (developers.notion.com/reference/workspace-block-limits).
            403 if body
                .as_ref()
                .and_then(|b| b.pointer("/additional_data/block_limit"))
                .is_some() =>
            {
                ApiError::Forbidden {
                    service: Service::Notion,
                    message,
                    hint: "This is the Free workspace's block limit, not a permission problem: \
                           Free workspaces with more than one member can create 1,000 blocks in \
                           all, and every row kodo writes is a block. Retrying won't help; a \
                           workspace owner can upgrade the plan (see \
                           https://www.notion.com/help/understanding-block-usage). Reads and \
                           edits of existing rows still work."
                        .to_owned(),
                }
            }
            403 => ApiError::Forbidden {
                service: Service::Notion,
                message,
                hint: "Give the integration the capability this needs (Read, Update and Insert \
                       content; Read user information) at https://www.notion.so/my-integrations, \
                       and share the pages with it."
                    .to_owned(),
            },
            404 => ApiError::NotFound {
                service: Service::Notion,
                what: what.to_owned(),
                id: id.to_owned(),
                hint: SHARE_HINT.to_owned(),
            },
            400 => ApiError::Validation {
                service: Service::Notion,
                request,
                message,
            },
            409 => ApiError::Conflict {
                service: Service::Notion,
                request,
                message,
                attempts,
                elapsed,
            },
            429 | 529
                if body
                    .as_ref()
                    .and_then(|b| b.pointer("/additional_data/rate_limit_reason"))
                    .and_then(Value::as_str)
                    == Some("public_api_request_blocked") =>
            {
                ApiError::Forbidden {
                    service: Service::Notion,
                    message,
                    hint: "Notion has blocked this integration's requests \
                           (public_api_request_blocked); retrying won't help: contact Notion support."
                        .to_owned(),
                }
            }
            429 | 529 => ApiError::RateLimited {
                service: Service::Notion,
                request,
                attempts,
                elapsed,
            },
            _ => ApiError::Server {
                service: Service::Notion,
                request,
                status,
                code,
                message,
                attempts,
                elapsed,
            },
        }
    }
}

fn created_since(t: &str) -> Value {
    json!({"timestamp": "created_time", "created_time": {"on_or_after": t}})
}

/// The service's `message`, else a short excerpt of a non-JSON body.
fn service_message(f: &Failure, body: Option<&Value>) -> String {
    if let Some(m) = body.and_then(|b| b.get("message")).and_then(Value::as_str) {
        return m.to_owned();
    }
    match &f.kind {
        FailureKind::Status { body, .. } => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                "(no details)".to_owned()
            } else {
                text.chars().take(200).collect()
            }
        }
        FailureKind::Network { message, .. } => message.clone(),
    }
}

/// "503 service_unavailable" / "connection lost: …", for logs and ambiguity reports.
fn failure_summary(f: &Failure) -> String {
    match &f.kind {
        FailureKind::Status { status, .. } => {
            let code = f
                .json()
                .and_then(|b| b.get("code").and_then(Value::as_str).map(str::to_owned));
            match code {
                Some(c) => format!("{status} {c}"),
                None => status.to_string(),
            }
        }
        FailureKind::Network { message, .. } => message.clone(),
    }
}

/// A Notion id without dashes, lower-case: ids are accepted (and returned) both ways.
fn compact_id(id: &str) -> String {
    id.chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests;
