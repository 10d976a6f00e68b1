//! Is this key documented? The local snapshot first, Notion only when it must.
//!
//! **Invariants.**
//! - With a snapshot younger than `sync.snapshot_max_age_hours` there is no network access at
//!   all: a key is documented exactly when the snapshot lists it.
//! - Notion is asked only for keys the snapshot cannot vouch for (no snapshot, or a stale one
//!   that does not list them), with one filtered query per database, all under one hard
//!   deadline ([`LIVE_TIMEOUT`]); the hook never waits longer for the network.
//! - A key is [`Answer::Unknown`] only when neither source could answer; the reason says why and
//!   never contains a token (the token's variable is named, never its value).
//! - Flags are also documented by an experiment row whose Flag Key is the flag (as the snapshot's
//!   `experiments[].flag_key`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kodo_api::{NotionClient, NotionOptions, Page, Secret};
use kodo_scan::Kind;
use serde_json::{json, Value};

use crate::config::Config;
use crate::model::Resource;
use crate::snapshot::Snapshot;

/// The total time the hook may spend asking Notion.
pub const LIVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Notion's limit on conditions in one compound filter.
const FILTER_CHUNK: usize = 100;

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
    let live = tokio::time::timeout(timeout, live_documented(config, &pending)).await;
    let failure = match live {
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
        Ok(Err(reason)) => reason,
        Err(_) => format!(
            "Notion did not answer within {} s",
            timeout.as_secs_f64().round()
        ),
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

/// The pending keys that Notion documents. An error is a one-line reason.
async fn live_documented(config: &Config, keys: &BTreeSet<Key>) -> Result<BTreeSet<Key>, String> {
    let token = config
        .notion_token()
        .map_err(|_| format!("`{}` is not set", config.notion.token_env_var))?;
    let client = NotionClient::new(
        &config.notion.base_url,
        Secret::new(token),
        NotionOptions {
            rate_per_sec: config.notion.rate_limit,
            timeout: LIVE_TIMEOUT,
            connect_timeout: Duration::from_secs(2),
            max_attempts: 1,
            token_env_var: config.notion.token_env_var.clone(),
            ..NotionOptions::default()
        },
    )
    .map_err(|e| one_line(&e.to_string()))?;
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
    let mut documented = BTreeSet::new();
    if !events.is_empty() {
        for key in matching(&client, config, Resource::Events, None, &events).await? {
            documented.insert((Kind::Event, key));
        }
    }
    if !flags.is_empty() {
        for key in matching(&client, config, Resource::Flags, None, &flags).await? {
            documented.insert((Kind::Flag, key));
        }
        let rest: Vec<&str> = flags
            .iter()
            .copied()
            .filter(|f| !documented.contains(&(Kind::Flag, f.to_string())))
            .collect();
        if !rest.is_empty() && config.notion.databases.experiments.is_some() {
            let found = matching(
                &client,
                config,
                Resource::Experiments,
                Some("Flag Key"),
                &rest,
            )
            .await?;
            for key in found {
                documented.insert((Kind::Flag, key));
            }
        }
    }
    Ok(documented)
}

/// The values among `keys` that rows of `resource`'s database hold in `property` (its title
/// property when `None`), trashed rows excluded.
async fn matching(
    client: &NotionClient,
    config: &Config,
    resource: Resource,
    property: Option<&str>,
    keys: &[&str],
) -> Result<BTreeSet<String>, String> {
    let id = config
        .database(resource)
        .map_err(|_| {
            format!(
                "no Notion database is configured for {} (`notion.databases.{}`)",
                resource.plural(),
                resource.config_key()
            )
        })?
        .to_string();
    let source = client
        .resolve_data_source(&id)
        .await
        .map_err(|e| one_line(&e.to_string()))?;
    let found_property = match property {
        Some(name) => source
            .properties
            .iter()
            .find(|(n, p)| n.as_str() == name && matches!(p.kind.as_str(), "rich_text" | "title")),
        None => source.properties.iter().find(|(_, p)| p.kind == "title"),
    };
    let Some((name, schema)) = found_property else {
        return Err(format!(
            "the {} database has no {} property",
            resource.plural(),
            property.unwrap_or("title")
        ));
    };
    let mut found = BTreeSet::new();
    for chunk in keys.chunks(FILTER_CHUNK) {
        let conditions: Vec<Value> = chunk
            .iter()
            .map(|k| json!({"property": name, schema.kind.as_str(): {"equals": k}}))
            .collect();
        let rows = client
            .query_all(&source.id, Some(json!({ "or": conditions })))
            .await
            .map_err(|e| one_line(&e.to_string()))?;
        for row in rows.iter().filter(|r| !r.in_trash) {
            if let Some(value) = text_of(row, name) {
                if chunk.contains(&value.as_str()) {
                    found.insert(value);
                }
            }
        }
    }
    Ok(found)
}

fn text_of(row: &Page, property: &str) -> Option<String> {
    let value = row.properties.get(property)?;
    let kind = value.get("type").and_then(Value::as_str)?;
    let items = value.get(kind)?.as_array()?;
    Some(kodo_api::notion::plain_text(items).trim().to_string())
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
