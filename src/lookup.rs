//! "Is this key documented?" with I/O: the local snapshot and Notion, for the Claude Code hook,
//! the git pre-commit gate and `kodo scan --check` alike. What a row documents is
//! [`crate::documented`]'s rule; this module only decides where the rows come from.
//!
//! **Sources.** Notion is the truth; the snapshot (`.kodo/snapshot.json`) is Notion as of its
//! `generated_at`. The snapshot answers "documented" for what it lists, whatever its age, and
//! "not documented" only while it is younger than `sync.snapshot_max_age_hours`. The caller
//! picks the order ([`Mode`]): the gates ask the snapshot first ([`Mode::OfflineFirst`]: no
//! network at all when a fresh snapshot answers), the Claude hook asks Notion first
//! ([`Mode::Live`]: a row written a minute ago counts) and the snapshot only when Notion cannot
//! answer. A key neither source can answer is [`Answer::Unknown`], with the reason.
//!
//! **Invariants.**
//! - Notion is asked only for keys the snapshot did not answer (offline-first) or for all of
//!   them (live): one filtered query per database (plus one request to find the data source
//!   when `.kodo/state.json` has not cached it), the databases in parallel, the experiments only
//!   for flags the Flags database lacks, all under one hard deadline. Each request is sent
//!   once: a connection failure fails at once, and a rate limit gets another try after
//!   [`RATE_LIMIT_WAIT`] only if the deadline allows.
//! - Reasons are one line and never contain a token (the token's variable is named, never its
//!   value).
//! - Nothing is written: `.kodo/state.json`'s data-source cache and property ids are read,
//!   never updated.
//! - A property a person renamed in Notion is followed by the id kodo remembered for it
//!   (`property_ids`, as the sync follows it): the filter names it by id, and the rows are
//!   read with it under the schema's name. No extra request.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kodo_api::{ApiError, ClientOptions, NotionClient, Secret};
use kodo_scan::Kind;
use serde_json::{json, Value};

use crate::config::Config;
use crate::documented::{DocKey, Documented};
use crate::model::{decode_page, Resource};
use crate::snapshot::Snapshot;

/// The time the gates may spend asking Notion, and each request's timeout.
pub const LIVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Notion's limit on conditions in one compound filter.
const FILTER_CHUNK: usize = 100;

/// How long to wait after Notion rate-limits a lookup before one more try (if the deadline
/// allows).
const RATE_LIMIT_WAIT: Duration = Duration::from_millis(1000);

/// Which source answers first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The snapshot answers what it can; Notion only the rest (the git gates).
    OfflineFirst,
    /// Notion answers; the snapshot only when Notion cannot (the Claude hook).
    Live,
}

/// The answer for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Documented,
    Undocumented,
    /// Neither the snapshot nor Notion could answer.
    Unknown,
}

/// Answers for a set of keys, and how they were obtained.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub by_key: BTreeMap<DocKey, Answer>,
    /// Things the user should know (a stale or damaged snapshot, Notion unreachable).
    pub notes: Vec<String>,
    /// Why some keys are [`Answer::Unknown`].
    pub unknown_reason: Option<String>,
    /// Whether Notion was asked.
    pub asked_notion: bool,
    /// Why Notion, when asked, gave no answer (one line).
    pub notion_failure: Option<String>,
    /// The snapshot's `generated_at`, when the snapshot answered some keys.
    pub snapshot_of: Option<String>,
    /// The keys the snapshot answered.
    pub from_snapshot: BTreeSet<DocKey>,
    /// Why the snapshot could not answer the [`Answer::Unknown`] keys (one line).
    pub snapshot_gap: Option<String>,
}

impl Answers {
    pub fn get(&self, key: &DocKey) -> Answer {
        self.by_key.get(key).cloned().unwrap_or(Answer::Unknown)
    }

    /// The answer for a key the code scanner found.
    pub fn get_code(&self, kind: Kind, key: &str) -> Answer {
        self.get(&code_key(kind, key))
    }

    fn set(&mut self, key: &DocKey, answer: Answer) {
        self.by_key.insert(key.clone(), answer);
    }
}

/// The [`DocKey`] of an event name or flag key the code scanner found.
pub fn code_key(kind: Kind, key: &str) -> DocKey {
    match kind {
        Kind::Event => DocKey::event(key),
        Kind::Flag => DocKey::flag(key),
    }
}

/// Where the snapshot stands.
enum SnapshotState {
    Fresh(Snapshot),
    /// Too old to answer "not documented" (why).
    Stale(Snapshot, String),
    /// No snapshot to ask (why).
    Missing(String),
}

impl SnapshotState {
    fn load(config: &Config) -> SnapshotState {
        let max_hours = config.sync.snapshot_max_age_hours;
        match Snapshot::load(&config.kodo_dir()) {
            Ok(Some(snapshot)) if snapshot.ahead().is_some() => {
                let why = format!(
                    "the snapshot `.kodo/snapshot.json` is dated in the future ({}, {} ahead of this machine's clock), so it is treated as stale",
                    snapshot.generated_at,
                    human_age(snapshot.ahead().unwrap_or_default())
                );
                SnapshotState::Stale(snapshot, why)
            }
            Ok(Some(snapshot)) => match snapshot.age() {
                Some(age) if max_hours > 0.0 && age.as_secs_f64() <= max_hours * 3600.0 => {
                    SnapshotState::Fresh(snapshot)
                }
                Some(age) => {
                    let why = format!(
                        "the snapshot `.kodo/snapshot.json` is {} old (sync.snapshot_max_age_hours is {max_hours})",
                        human_age(age)
                    );
                    SnapshotState::Stale(snapshot, why)
                }
                None => {
                    let why = format!(
                        "the snapshot `.kodo/snapshot.json` has an unreadable generated_at `{}`",
                        snapshot.generated_at
                    );
                    SnapshotState::Stale(snapshot, why)
                }
            },
            Ok(None) => SnapshotState::Missing("there is no snapshot `.kodo/snapshot.json`".into()),
            Err(e) => SnapshotState::Missing(one_line(&e.to_string())),
        }
    }

    /// The snapshot's answer for `key`, when it has one (see the module documentation).
    fn answer(&self, index: &Option<Documented>, key: &DocKey) -> Option<Answer> {
        let index = index.as_ref()?;
        if index.documents(key) {
            Some(Answer::Documented)
        } else if matches!(self, SnapshotState::Fresh(_)) {
            Some(Answer::Undocumented)
        } else {
            None
        }
    }

    fn snapshot(&self) -> Option<&Snapshot> {
        match self {
            SnapshotState::Fresh(s) | SnapshotState::Stale(s, _) => Some(s),
            SnapshotState::Missing(_) => None,
        }
    }

    /// Why the snapshot cannot answer "not documented".
    fn gap(&self) -> String {
        match self {
            SnapshotState::Fresh(s) => {
                format!("the snapshot of {} does not list it", s.generated_at)
            }
            SnapshotState::Stale(_, why) | SnapshotState::Missing(why) => why.clone(),
        }
    }
}

fn human_age(age: Duration) -> String {
    let hours = age.as_secs() / 3600;
    if hours >= 48 {
        format!("{} days", hours / 24)
    } else if hours >= 1 {
        format!("{hours} hours")
    } else {
        format!("{} minutes", age.as_secs() / 60)
    }
}

/// A duration as the messages give it: `3 s`, `0.3 s`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 && s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// Answers whether each key is documented, in `mode`'s order, asking Notion for at most
/// `timeout` in all.
pub async fn answer(
    config: &Config,
    keys: &BTreeSet<DocKey>,
    mode: Mode,
    timeout: Duration,
) -> Answers {
    let mut answers = Answers::default();
    if keys.is_empty() {
        return answers;
    }
    let state = SnapshotState::load(config);
    let index = state.snapshot().map(Snapshot::documented);
    let pending: BTreeSet<DocKey> = match mode {
        Mode::Live => keys.clone(),
        Mode::OfflineFirst => {
            let mut pending = BTreeSet::new();
            for key in keys {
                match state.answer(&index, key) {
                    Some(a) => answer_from_snapshot(&mut answers, &state, key, a),
                    None => {
                        pending.insert(key.clone());
                    }
                }
            }
            pending
        }
    };
    if pending.is_empty() {
        return answers;
    }
    answers.asked_notion = true;
    let failure = match ask_notion(config, &pending, timeout).await {
        Ok(documented) => {
            for key in &pending {
                let a = match documented.documents(key) {
                    true => Answer::Documented,
                    false => Answer::Undocumented,
                };
                answers.set(key, a);
            }
            return answers;
        }
        Err(failure) => failure,
    };
    fall_back(&mut answers, &state, &index, &pending, failure);
    answers
}

/// The answers when Notion gives none (`failure`, one line): what the snapshot can answer, the
/// rest [`Answer::Unknown`]. For a caller whose own deadline ran out before [`answer`]'s did.
pub fn without_notion(config: &Config, keys: &BTreeSet<DocKey>, failure: &str) -> Answers {
    let mut answers = Answers {
        asked_notion: true,
        ..Answers::default()
    };
    let state = SnapshotState::load(config);
    let index = state.snapshot().map(Snapshot::documented);
    fall_back(&mut answers, &state, &index, keys, failure.to_string());
    answers
}

fn fall_back(
    answers: &mut Answers,
    state: &SnapshotState,
    index: &Option<Documented>,
    pending: &BTreeSet<DocKey>,
    failure: String,
) {
    let mut unknown = false;
    for key in pending {
        match state.answer(index, key) {
            Some(a) => answer_from_snapshot(answers, state, key, a),
            None => {
                answers.set(key, Answer::Unknown);
                unknown = true;
            }
        }
    }
    if unknown {
        let gap = state.gap();
        answers
            .notes
            .push(format!("{gap}, and Notion could not be asked: {failure}"));
        answers.unknown_reason = Some(format!("{gap}; Notion could not be asked: {failure}"));
        answers.snapshot_gap = Some(gap);
    }
    answers.notion_failure = Some(failure);
}

fn answer_from_snapshot(answers: &mut Answers, state: &SnapshotState, key: &DocKey, a: Answer) {
    answers.set(key, a);
    answers.from_snapshot.insert(key.clone());
    if let Some(s) = state.snapshot() {
        answers.snapshot_of = Some(s.generated_at.clone());
    }
}

/// Asks Notion, under one deadline; `Err` says why there is no answer (one line).
async fn ask_notion(
    config: &Config,
    keys: &BTreeSet<DocKey>,
    timeout: Duration,
) -> Result<Documented, String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, live_documented(config, keys, timeout)).await {
            Ok(Ok(documented)) => return Ok(documented),
            Ok(Err(LiveError::RateLimited(reason))) => {
                if tokio::time::Instant::now() + RATE_LIMIT_WAIT < deadline {
                    tokio::time::sleep(RATE_LIMIT_WAIT).await;
                    continue;
                }
                return Err(reason);
            }
            Ok(Err(LiveError::Failed(reason))) => return Err(reason),
            Err(_) => return Err(format!("no answer within {}", seconds(timeout))),
        }
    }
}

/// Why Notion could not answer; the text is one line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LiveError {
    /// Notion asked to slow down: worth another try within the deadline.
    RateLimited(String),
    /// Anything else (no connection, no token, a refused request): final.
    Failed(String),
}

impl From<ApiError> for LiveError {
    fn from(e: ApiError) -> LiveError {
        let text = one_line(&e.to_string());
        match e {
            ApiError::RateLimited { .. } => LiveError::RateLimited(text),
            _ => LiveError::Failed(text),
        }
    }
}

/// What Notion's rows say about `keys`. Each request is sent once: a connection failure fails
/// at once rather than backing off past the deadline, and a rate limit is retried by the
/// caller.
async fn live_documented(
    config: &Config,
    keys: &BTreeSet<DocKey>,
    timeout: Duration,
) -> Result<Documented, LiveError> {
    let token = config
        .notion_token()
        .map_err(|_| LiveError::Failed(format!("`{}` is not set", config.notion.token_env_var)))?;
    let client = NotionClient::new(
        &config.notion.base_url,
        Secret::new(token),
        ClientOptions {
            // `ask_notion`'s deadline governs: a request never times out before it does.
            timeout: timeout.max(LIVE_TIMEOUT),
            connect_timeout: Duration::from_secs(2),
            max_attempts: 1,
            ..crate::sync::fetch::notion_options(config, &crate::output::Printer::silent())
        },
    )?;
    let state = crate::state::State::load(&config.kodo_dir()).unwrap_or_default();
    let sources = Sources {
        data_sources: &state.data_sources,
        property_ids: &state.property_ids,
    };
    // Each key is asked of its own database first, all databases in parallel.
    let (client, sources) = (&client, &sources);
    let firsts = Resource::ALL.map(|resource| {
        let keys: Vec<&DocKey> = keys.iter().filter(|k| k.resource() == resource).collect();
        async move { matching(client, config, sources, resource, &keys).await }
    });
    let mut documented = Documented::default();
    for found in futures_util::future::join_all(firsts).await {
        documented.merge(found?);
    }
    // Only a key its own database lacks is looked for in the others that may document it
    // (a flag among the experiments' flag keys).
    for resource in Resource::ALL {
        let rest: Vec<&DocKey> = keys
            .iter()
            .filter(|k| k.databases()[1..].contains(&resource) && !documented.documents(k))
            .collect();
        if !rest.is_empty() && config.notion.databases.get(resource).is_some() {
            documented.merge(matching(client, config, sources, resource, &rest).await?);
        }
    }
    Ok(documented)
}

/// The data source to query for a configured ID: `.kodo/state.json`'s cache (written by the
/// sync engine), else the database's only data source, else the ID itself as a data-source ID.
async fn data_source_id(
    client: &NotionClient,
    sources: &BTreeMap<String, String>,
    id: &str,
) -> Result<String, LiveError> {
    if let Some(cached) = sources.get(id) {
        return Ok(cached.clone());
    }
    match client.retrieve_database(id).await {
        Ok(db) => match db.data_sources.as_slice() {
            [only] => Ok(only.id.clone()),
            [] => Err(LiveError::Failed(format!("the Notion database {id} has no data source"))),
            _ => Err(LiveError::Failed(format!(
                "the Notion database {id} has several data sources; put the data source ID in the config (Database settings → Manage data sources → Copy data source ID)"
            ))),
        },
        Err(e) if e.is_not_found() || matches!(e, ApiError::Validation { .. }) => {
            Ok(id.to_string())
        }
        Err(e) => Err(e.into()),
    }
}

/// What `.kodo/state.json` knows about the databases: the data source of each configured ID,
/// and the id of each of kodo's properties per data source (`property_ids`).
struct Sources<'a> {
    data_sources: &'a BTreeMap<String, String>,
    property_ids: &'a BTreeMap<String, BTreeMap<String, String>>,
}

/// A filter condition with its `property` named by the property's id when kodo knows it:
/// Notion accepts a property's id wherever it accepts its name
/// (developers.notion.com/reference/filter-data-source-entries), and the id survives a rename
/// in Notion (the sync follows renamed properties the same way, `sync::fetch::follow_renames`).
fn by_property_id(mut condition: Value, ids: Option<&BTreeMap<String, String>>) -> Value {
    if let (Some(ids), Some(Value::String(name))) = (ids, condition.get_mut("property")) {
        if let Some(id) = ids.get(name.as_str()) {
            *name = id.clone();
        }
    }
    condition
}

/// A row's properties with each of kodo's properties that a person renamed in Notion back
/// under the schema's name: found by the id kodo remembered for it (every property value
/// carries its id, developers.notion.com/reference/page-property-values) and still of the
/// schema's type. A property of the schema's name that is there is kept as it is.
fn under_schema_names(
    resource: Resource,
    properties: &serde_json::Map<String, Value>,
    ids: Option<&BTreeMap<String, String>>,
) -> Option<serde_json::Map<String, Value>> {
    let ids = ids?;
    let schema = resource.schema();
    let mut out = properties.clone();
    let mut changed = false;
    for spec in schema.properties {
        let Some(id) = ids.get(spec.name) else {
            continue;
        };
        if out.contains_key(spec.name) {
            continue;
        }
        let actual = out
            .iter()
            .find(|(name, v)| {
                v.get("id").and_then(Value::as_str) == Some(id.as_str())
                    && v.get("type").and_then(Value::as_str) == Some(spec.kind.notion_name())
                    && schema.property(name.as_str()).is_none()
            })
            .map(|(name, _)| name.clone());
        if let Some(value) = actual.and_then(|name| out.remove(&name)) {
            out.insert(spec.name.to_string(), value);
            changed = true;
        }
    }
    changed.then_some(out)
}

/// What the rows of `resource`'s database that may document `keys` document (rows in the
/// trash excluded); nothing is asked when there are no keys. Renamed properties are followed
/// by their ids, as the sync does.
async fn matching(
    client: &NotionClient,
    config: &Config,
    sources: &Sources<'_>,
    resource: Resource,
    keys: &[&DocKey],
) -> Result<Documented, LiveError> {
    let mut found = Documented::default();
    if keys.is_empty() {
        return Ok(found);
    }
    let id = config.database(resource).map_err(|_| {
        LiveError::Failed(format!(
            "no Notion database is configured for {} (`notion.databases.{}`)",
            resource.plural(),
            resource.config_key()
        ))
    })?;
    let conditions: Vec<Value> = keys
        .iter()
        .flat_map(|k| k.lookup_conditions(resource))
        .collect();
    if conditions.is_empty() {
        return Ok(found);
    }
    let source_id = data_source_id(client, sources.data_sources, id).await?;
    let ids = sources.property_ids.get(&source_id);
    let conditions: Vec<Value> = conditions
        .into_iter()
        .map(|c| by_property_id(c, ids))
        .collect();
    for chunk in conditions.chunks(FILTER_CHUNK) {
        let rows = client
            .query_all(&source_id, Some(json!({ "or": chunk })))
            .await?;
        for page in rows.iter().filter(|r| !r.in_trash) {
            let renamed = under_schema_names(resource, &page.properties, ids);
            let properties = renamed.as_ref().unwrap_or(&page.properties);
            found.add_row(resource, &decode_page(resource, &page.id, None, properties));
        }
    }
    Ok(found)
}

fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Env;
    use std::path::Path;

    fn config_in(dir: &Path, extra_sync: &str) -> Config {
        let text = format!(
            r#"{{"posthog": {{"project_id": "1"}},
                "notion": {{"baseUrl": "http://127.0.0.1:9", "tokenEnvVar": "KODO_TEST_DOCS_SURELY_UNSET",
                            "databases": {{"events": "0000000000004000800000000000e001", "feature_flags": "0000000000004000800000000000f001"}}}},
                "sync": {{{extra_sync}}}}}"#
        );
        Config::parse(&dir.join(".kodo/config.json"), &text, Env::default()).unwrap()
    }

    fn write_snapshot(dir: &Path, generated_at: &str) {
        std::fs::create_dir_all(dir.join(".kodo")).unwrap();
        let text = format!(
            r#"{{"version": 1, "generated_at": "{generated_at}", "events": ["user_signed_up"],
                "flags": ["beta-x"], "experiments": [{{"name": "X", "flag_key": "exp-flag"}}]}}"#
        );
        std::fs::write(dir.join(".kodo/snapshot.json"), text).unwrap();
    }

    fn keys(list: &[(Kind, &str)]) -> BTreeSet<DocKey> {
        list.iter().map(|(k, s)| code_key(*k, s)).collect()
    }

    async fn gate(config: &Config, keys: &BTreeSet<DocKey>) -> Answers {
        answer(config, keys, Mode::OfflineFirst, LIVE_TIMEOUT).await
    }

    #[tokio::test]
    async fn fresh_snapshot_answers_offline() {
        let dir = tempfile::tempdir().unwrap();
        write_snapshot(dir.path(), &crate::snapshot::now_rfc3339());
        let config = config_in(dir.path(), "");
        let asked = keys(&[
            (Kind::Event, "user_signed_up"),
            (Kind::Event, "nope"),
            (Kind::Flag, "beta-x"),
            (Kind::Flag, "exp-flag"),
            (Kind::Flag, "user_signed_up"),
        ]);
        let a = gate(&config, &asked).await;
        assert!(!a.asked_notion);
        assert_eq!(
            a.get_code(Kind::Event, "user_signed_up"),
            Answer::Documented
        );
        assert_eq!(a.get_code(Kind::Event, "nope"), Answer::Undocumented);
        assert_eq!(a.get_code(Kind::Flag, "beta-x"), Answer::Documented);
        assert_eq!(a.get_code(Kind::Flag, "exp-flag"), Answer::Documented);
        // An event name is not a flag.
        assert_eq!(
            a.get_code(Kind::Flag, "user_signed_up"),
            Answer::Undocumented
        );
    }

    #[tokio::test]
    async fn stale_snapshot_still_vouches_for_what_it_lists() {
        let dir = tempfile::tempdir().unwrap();
        write_snapshot(dir.path(), "2001-01-01T00:00:00Z");
        let config = config_in(dir.path(), "");
        let a = gate(
            &config,
            &keys(&[(Kind::Event, "user_signed_up"), (Kind::Event, "new_one")]),
        )
        .await;
        assert_eq!(
            a.get_code(Kind::Event, "user_signed_up"),
            Answer::Documented
        );
        assert_eq!(a.get_code(Kind::Event, "new_one"), Answer::Unknown);
        let reason = a.unknown_reason.unwrap();
        assert!(reason.contains("days old"), "{reason}");
        assert!(reason.contains("KODO_TEST_DOCS_SURELY_UNSET"), "{reason}");
    }

    #[tokio::test]
    async fn missing_snapshot_and_no_keys_needs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path(), "");
        let a = gate(&config, &BTreeSet::new()).await;
        assert!(a.by_key.is_empty() && !a.asked_notion);
        let a = gate(&config, &keys(&[(Kind::Flag, "f")])).await;
        assert!(a.asked_notion);
        assert_eq!(a.get_code(Kind::Flag, "f"), Answer::Unknown);
        assert!(a.unknown_reason.unwrap().contains("no snapshot"));
    }

    #[tokio::test]
    async fn a_snapshot_dated_in_the_future_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        write_snapshot(dir.path(), "2999-01-01T00:00:00Z");
        let config = config_in(dir.path(), "");
        let a = gate(
            &config,
            &keys(&[(Kind::Event, "nope"), (Kind::Event, "user_signed_up")]),
        )
        .await;
        // It still vouches for what it lists, but cannot say "not documented": Notion is asked.
        assert!(a.asked_notion);
        assert_eq!(
            a.get_code(Kind::Event, "user_signed_up"),
            Answer::Documented
        );
        assert_eq!(a.get_code(Kind::Event, "nope"), Answer::Unknown);
        let reason = a.unknown_reason.unwrap_or_default();
        assert!(reason.contains("dated in the future"), "{reason}");
    }

    #[tokio::test]
    async fn zero_max_age_always_asks_notion() {
        let dir = tempfile::tempdir().unwrap();
        write_snapshot(dir.path(), &crate::snapshot::now_rfc3339());
        let config = config_in(dir.path(), r#""snapshot_max_age_hours": 0"#);
        let a = gate(&config, &keys(&[(Kind::Event, "nope")])).await;
        assert!(a.asked_notion);
    }

    #[tokio::test]
    async fn live_mode_asks_notion_first_and_falls_back_on_the_same_rule() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path(), "");
        let asked = keys(&[(Kind::Event, "user_signed_up"), (Kind::Event, "nope")]);
        write_snapshot(dir.path(), &crate::snapshot::now_rfc3339());
        let a = answer(&config, &asked, Mode::Live, LIVE_TIMEOUT).await;
        // Notion was asked although the snapshot is fresh; it could not answer (no token).
        assert!(a.asked_notion);
        let failure = a.notion_failure.clone().unwrap_or_default();
        assert!(failure.contains("KODO_TEST_DOCS_SURELY_UNSET"), "{failure}");
        assert_eq!(
            a.get_code(Kind::Event, "user_signed_up"),
            Answer::Documented
        );
        assert_eq!(a.get_code(Kind::Event, "nope"), Answer::Undocumented);
        assert_eq!(a.from_snapshot.len(), 2);
        assert!(a.snapshot_of.is_some());
        // A stale snapshot still vouches for what it lists, and no more.
        write_snapshot(dir.path(), "2001-01-01T00:00:00Z");
        let a = answer(&config, &asked, Mode::Live, LIVE_TIMEOUT).await;
        assert_eq!(
            a.get_code(Kind::Event, "user_signed_up"),
            Answer::Documented
        );
        assert_eq!(a.get_code(Kind::Event, "nope"), Answer::Unknown);
        assert!(a.unknown_reason.unwrap().contains("days old"));
    }

    #[test]
    fn durations_read_as_seconds() {
        assert_eq!(seconds(Duration::from_secs(3)), "3 s");
        assert_eq!(seconds(Duration::from_millis(300)), "0.3 s");
    }
}
