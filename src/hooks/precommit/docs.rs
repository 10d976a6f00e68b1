//! Is this key documented? The local snapshot first, Notion only when it must.
//!
//! **Invariants.**
//! - With a snapshot younger than `sync.snapshot_max_age_hours` there is no network access at
//!   all: a key is documented exactly when the snapshot lists it.
//! - Notion is asked only for keys the snapshot cannot vouch for (no snapshot, or a stale one
//!   that does not list them): one filtered query per database (plus one request to find the
//!   data source when `.kodo/state.json` has not cached it), events and flags in parallel, the
//!   experiments only for flags the Flags database lacks, all under one hard deadline
//!   ([`LIVE_TIMEOUT`]). Each request is sent once: a connection failure fails at once, and a
//!   rate limit gets another try after [`RATE_LIMIT_WAIT`] only if the deadline allows.
//! - A key is [`Answer::Unknown`] only when neither source could answer; the reason says why and
//!   never contains a token (the token's variable is named, never its value).
//! - The hook writes nothing: it reads `.kodo/state.json`'s data-source cache when there is one
//!   and never updates it.
//! - Flags are also documented by an experiment row whose Flag Key is the flag (as the snapshot's
//!   `experiments[].flag_key`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kodo_api::{ApiError, ClientOptions, NotionClient, RateLimits, Secret};
use kodo_scan::Kind;
use serde_json::{json, Value};

use crate::config::Config;
use crate::model::{self, PropSpec, Resource};
use crate::snapshot::Snapshot;

/// The total time the hook may spend asking Notion.
pub const LIVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Notion's limit on conditions in one compound filter.
const FILTER_CHUNK: usize = 100;

/// How long to wait after Notion rate-limits the hook before one more try (if the deadline
/// allows).
const RATE_LIMIT_WAIT: Duration = Duration::from_millis(1000);

/// A key to check: event name or flag key.
pub type Key = (Kind, String);

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
    pub by_key: BTreeMap<Key, Answer>,
    /// Things the user should know (a stale or damaged snapshot, Notion unreachable).
    pub notes: Vec<String>,
    /// Why some keys are [`Answer::Unknown`].
    pub unknown_reason: Option<String>,
    /// Whether Notion was asked.
    pub asked_notion: bool,
}

impl Answers {
    pub fn get(&self, kind: Kind, key: &str) -> Answer {
        self.by_key
            .get(&(kind, key.to_string()))
            .cloned()
            .unwrap_or(Answer::Unknown)
    }
}

/// Where the snapshot stands.
enum SnapshotState {
    Fresh(Snapshot),
    Stale(Snapshot, String),
    Missing(String),
}

fn snapshot_state(config: &Config) -> SnapshotState {
    let max_hours = config.sync.snapshot_max_age_hours;
    match Snapshot::load(&config.kodo_dir()) {
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
        Err(e) => SnapshotState::Missing(e.to_string().replace('\n', " ")),
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

fn in_snapshot(snapshot: &Snapshot, (kind, key): &Key) -> bool {
    match kind {
        Kind::Event => snapshot.documents_event(key),
        Kind::Flag => {
            snapshot.documents_flag(key)
                || snapshot
                    .experiments
                    .iter()
                    .any(|x| x.flag_key.as_deref() == Some(key.as_str()))
        }
    }
}

/// Answers whether each key is documented: from a fresh snapshot offline; otherwise from Notion
/// within [`LIVE_TIMEOUT`], falling back to what a stale snapshot lists.
pub async fn answer(config: &Config, keys: &BTreeSet<Key>) -> Answers {
    answer_with_timeout(config, keys, LIVE_TIMEOUT).await
}

pub async fn answer_with_timeout(
    config: &Config,
    keys: &BTreeSet<Key>,
    timeout: Duration,
) -> Answers {
    let mut answers = Answers::default();
    if keys.is_empty() {
        return answers;
    }
    let (pending, why_live): (BTreeSet<Key>, String) = match snapshot_state(config) {
        SnapshotState::Fresh(snapshot) => {
            for key in keys {
                let answer = if in_snapshot(&snapshot, key) {
                    Answer::Documented
                } else {
                    Answer::Undocumented
                };
                answers.by_key.insert(key.clone(), answer);
            }
            return answers;
        }
        SnapshotState::Stale(snapshot, why) => {
            let mut pending = BTreeSet::new();
            for key in keys {
                if in_snapshot(&snapshot, key) {
                    answers.by_key.insert(key.clone(), Answer::Documented);
                } else {
                    pending.insert(key.clone());
                }
            }
            (pending, why)
        }
        SnapshotState::Missing(why) => (keys.clone(), why),
    };
    if pending.is_empty() {
        return answers;
    }
    answers.asked_notion = true;
    let deadline = tokio::time::Instant::now() + timeout;
    let failure = loop {
        match tokio::time::timeout_at(deadline, live_documented(config, &pending)).await {
            Ok(Ok(documented)) => {
                for key in pending {
                    let answer = if documented.contains(&key) {
                        Answer::Documented
                    } else {
                        Answer::Undocumented
                    };
                    answers.by_key.insert(key, answer);
                }
                return answers;
            }
            Ok(Err(LiveError::RateLimited(reason))) => {
                if tokio::time::Instant::now() + RATE_LIMIT_WAIT < deadline {
                    tokio::time::sleep(RATE_LIMIT_WAIT).await;
                    continue;
                }
                break reason;
            }
            Ok(Err(LiveError::Failed(reason))) => break reason,
            Err(_) => {
                break format!(
                    "Notion did not answer within {} s",
                    timeout.as_secs_f64().round()
                )
            }
        }
    };
    answers.notes.push(format!(
        "{why_live}, and Notion could not be asked: {failure}"
    ));
    answers.unknown_reason = Some(format!("{why_live}; Notion could not be asked: {failure}"));
    for key in pending {
        answers.by_key.insert(key, Answer::Unknown);
    }
    answers
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

/// The pending keys that Notion documents. Each request is sent once: a connection failure
/// fails at once rather than backing off past the deadline, and a rate limit is retried by the
/// caller.
async fn live_documented(
    config: &Config,
    keys: &BTreeSet<Key>,
) -> Result<BTreeSet<Key>, LiveError> {
    let token = config
        .notion_token()
        .map_err(|_| LiveError::Failed(format!("`{}` is not set", config.notion.token_env_var)))?;
    let client = NotionClient::new(
        &config.notion.base_url,
        Secret::new(token),
        ClientOptions {
            limits: RateLimits::windows([config.notion.rate_limit]),
            timeout: LIVE_TIMEOUT,
            connect_timeout: Duration::from_secs(2),
            max_attempts: 1,
            credential_env_var: config.notion.token_env_var.clone(),
            ..ClientOptions::notion()
        },
    )?;
    let events: Vec<&str> = keys
        .iter()
        .filter(|(k, _)| *k == Kind::Event)
        .map(|(_, key)| key.as_str())
        .collect();
    let flags: Vec<&str> = keys
        .iter()
        .filter(|(k, _)| *k == Kind::Flag)
        .map(|(_, key)| key.as_str())
        .collect();
    let sources = crate::state::State::load(&config.kodo_dir())
        .map(|s| s.data_sources)
        .unwrap_or_default();
    let lookup = |resource, keys| matching(&client, config, &sources, resource, keys);
    let (found_events, found_flags) = tokio::join!(
        async {
            match events.is_empty() {
                true => Ok(BTreeSet::new()),
                false => lookup(Resource::Events, &events).await,
            }
        },
        async {
            match flags.is_empty() {
                true => Ok(BTreeSet::new()),
                false => lookup(Resource::Flags, &flags).await,
            }
        }
    );
    let mut documented: BTreeSet<Key> = BTreeSet::new();
    documented.extend(found_events?.into_iter().map(|k| (Kind::Event, k)));
    let found_flags = found_flags?;
    // Only a flag the Flags database lacks is looked for among the experiments' flag keys.
    let rest: Vec<&str> = flags
        .iter()
        .copied()
        .filter(|f| !found_flags.contains(*f))
        .collect();
    documented.extend(found_flags.into_iter().map(|k| (Kind::Flag, k)));
    if !rest.is_empty() && config.notion.databases.experiments.is_some() {
        let found = lookup(Resource::Experiments, &rest).await?;
        documented.extend(found.into_iter().map(|k| (Kind::Flag, k)));
    }
    Ok(documented)
}

/// The key property of a resource's rows, and its Notion filter type (the spec's schema).
/// The property of `resource`'s database that holds the key the gate checks (its type comes
/// from the schema in `model`).
fn key_property(resource: Resource) -> &'static PropSpec {
    let name = match resource {
        Resource::Events => "Event Name",
        Resource::Flags | Resource::Experiments => "Flag Key",
        Resource::Dashboards => "Dashboard Name",
    };
    let schema = resource.schema();
    schema
        .property(name)
        .unwrap_or_else(|| schema.title_property())
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

/// The values among `keys` that rows of `resource`'s database hold in its key property,
/// trashed rows excluded.
async fn matching(
    client: &NotionClient,
    config: &Config,
    sources: &BTreeMap<String, String>,
    resource: Resource,
    keys: &[&str],
) -> Result<BTreeSet<String>, LiveError> {
    let id = config.database(resource).map_err(|_| {
        LiveError::Failed(format!(
            "no Notion database is configured for {} (`notion.databases.{}`)",
            resource.plural(),
            resource.config_key()
        ))
    })?;
    let source_id = data_source_id(client, sources, id).await?;
    let spec = key_property(resource);
    let (property, filter_type) = (spec.name, spec.kind.notion_name());
    let mut found = BTreeSet::new();
    for chunk in keys.chunks(FILTER_CHUNK) {
        let conditions: Vec<Value> = chunk
            .iter()
            .map(|k| json!({"property": property, filter_type: {"equals": k}}))
            .collect();
        let rows = client
            .query_all(&source_id, Some(json!({ "or": conditions })))
            .await?;
        for row in rows.iter().filter(|r| !r.in_trash) {
            let value = model::decode(spec, row.properties.get(property));
            if let Some(value) = value.as_text().map(str::trim) {
                if chunk.contains(&value) {
                    found.insert(value.to_string());
                }
            }
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
                            "databases": {{"events": "e", "feature_flags": "f"}}}},
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

    fn keys(list: &[(Kind, &str)]) -> BTreeSet<Key> {
        list.iter().map(|(k, s)| (*k, s.to_string())).collect()
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
        let a = answer(&config, &asked).await;
        assert!(!a.asked_notion);
        assert_eq!(a.get(Kind::Event, "user_signed_up"), Answer::Documented);
        assert_eq!(a.get(Kind::Event, "nope"), Answer::Undocumented);
        assert_eq!(a.get(Kind::Flag, "beta-x"), Answer::Documented);
        assert_eq!(a.get(Kind::Flag, "exp-flag"), Answer::Documented);
        // An event name is not a flag.
        assert_eq!(a.get(Kind::Flag, "user_signed_up"), Answer::Undocumented);
    }

    #[tokio::test]
    async fn stale_snapshot_still_vouches_for_what_it_lists() {
        let dir = tempfile::tempdir().unwrap();
        write_snapshot(dir.path(), "2001-01-01T00:00:00Z");
        let config = config_in(dir.path(), "");
        let a = answer(
            &config,
            &keys(&[(Kind::Event, "user_signed_up"), (Kind::Event, "new_one")]),
        )
        .await;
        assert_eq!(a.get(Kind::Event, "user_signed_up"), Answer::Documented);
        assert_eq!(a.get(Kind::Event, "new_one"), Answer::Unknown);
        let reason = a.unknown_reason.unwrap();
        assert!(reason.contains("days old"), "{reason}");
        assert!(reason.contains("KODO_TEST_DOCS_SURELY_UNSET"), "{reason}");
    }

    #[tokio::test]
    async fn missing_snapshot_and_no_keys_needs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path(), "");
        let a = answer(&config, &BTreeSet::new()).await;
        assert!(a.by_key.is_empty() && !a.asked_notion);
        let a = answer(&config, &keys(&[(Kind::Flag, "f")])).await;
        assert!(a.asked_notion);
        assert_eq!(a.get(Kind::Flag, "f"), Answer::Unknown);
        assert!(a.unknown_reason.unwrap().contains("no snapshot"));
    }

    #[tokio::test]
    async fn zero_max_age_always_asks_notion() {
        let dir = tempfile::tempdir().unwrap();
        write_snapshot(dir.path(), &crate::snapshot::now_rfc3339());
        let config = config_in(dir.path(), r#""snapshot_max_age_hours": 0"#);
        let a = answer(&config, &keys(&[(Kind::Event, "nope")])).await;
        assert!(a.asked_notion);
    }
}
