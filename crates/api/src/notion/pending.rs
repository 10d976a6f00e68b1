//! The creates a run still has to send to one data source, so that re-checking keys that may
//! have gone stale costs one query per batch of creates, not one per create.
//!
//! Invariants:
//! - A key is trusted missing only for [`super::RECHECK_AFTER`] after the moment it was last
//!   seen missing (the run's read, or the batch query that covered it), and never across a
//!   conflict met since (`NotionClient::may_be_stale`).
//! - One batch query (`or` of the keys' `equals` filters) covers the create whose turn it is
//!   and the next pending ones, at most [`MAX_KEYS_PER_QUERY`]; one batch query runs at a
//!   time per data source, so concurrent creates never look the same keys up twice.
//! - A key found is never created: its create returns `CreateOutcome::Existing`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{json, Value};

use super::types::{KeyLookup, KeyType, Page};
use crate::types::notion::plain_text;

/// Most keys one re-check query covers: a compound filter is an array, and Notion accepts at
/// most 100 elements in a request's arrays (developers.notion.com/reference/request-limits);
/// the `or` sits at nesting level 1 of the 2 Notion allows ("Nesting is supported up to two
/// levels deep", developers.notion.com/reference/filter-data-source-entries), so the query's
/// own `and` with a `created_time` partition still fits.
pub const MAX_KEYS_PER_QUERY: usize = 100;

/// The creates still to send to one data source, all planned from one read of its rows.
#[derive(Debug)]
pub struct PendingCreates {
    data_source_id: String,
    read_at: Instant,
    state: Mutex<State>,
    /// Held while a batch query runs, so concurrent creates wait for its answer.
    checking: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct State {
    /// Keys not sent yet, in the order their creates come.
    pending: Vec<KeyLookup>,
    /// When a batch query last saw a key missing.
    checked: HashMap<String, Instant>,
    /// Rows a batch query found: another writer made them.
    found: HashMap<String, Page>,
}

impl PendingCreates {
    /// The creates of `keys` into `data_source_id`, whose rows were read at `read_at` (every
    /// key was missing then).
    pub fn new(
        data_source_id: impl Into<String>,
        read_at: Instant,
        keys: impl IntoIterator<Item = KeyLookup>,
    ) -> Self {
        PendingCreates {
            data_source_id: data_source_id.into(),
            read_at,
            state: Mutex::new(State {
                pending: keys.into_iter().collect(),
                ..State::default()
            }),
            checking: tokio::sync::Mutex::new(()),
        }
    }

    /// The data source the rows go to.
    pub fn data_source_id(&self) -> &str {
        &self.data_source_id
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) async fn check_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.checking.lock().await
    }

    /// The row a batch query found for `key`, taken out of the pending set.
    pub(crate) fn take_found(&self, key: &KeyLookup) -> Option<Page> {
        let mut state = self.state();
        let page = state.found.remove(&identity(key))?;
        state.pending.retain(|k| k != key);
        Some(page)
    }

    /// When `key` was last seen missing.
    pub(crate) fn seen_missing(&self, key: &KeyLookup) -> Instant {
        self.state()
            .checked
            .get(&identity(key))
            .copied()
            .unwrap_or(self.read_at)
    }

    /// `key` and the pending keys after it, at most [`MAX_KEYS_PER_QUERY`]: what one batch
    /// query looks up.
    pub(crate) fn batch_for(&self, key: &KeyLookup) -> Vec<KeyLookup> {
        let state = self.state();
        let mut batch = vec![key.clone()];
        let start = state
            .pending
            .iter()
            .position(|k| k == key)
            .map_or(0, |i| i + 1);
        let others = state.pending[start..]
            .iter()
            .chain(&state.pending[..start.saturating_sub(1)])
            .filter(|k| *k != key);
        batch.extend(others.take(MAX_KEYS_PER_QUERY - 1).cloned());
        batch
    }

    /// Records a batch query sent at `at` for `batch` that answered `rows`.
    pub(crate) fn record(&self, batch: &[KeyLookup], rows: Vec<Page>, at: Instant) {
        let mut state = self.state();
        let mut rows: Vec<Page> = rows.into_iter().filter(|p| !p.in_trash).collect();
        for key in batch {
            let id = identity(key);
            match rows.iter().position(|p| key.matches(p)) {
                Some(i) => {
                    let page = rows.swap_remove(i);
                    state.found.insert(id, page);
                }
                None => {
                    state.checked.insert(id, at);
                }
            }
        }
    }

    /// `key`'s create is being sent: it is no longer pending.
    pub(crate) fn mark_sent(&self, key: &KeyLookup) {
        self.state().pending.retain(|k| k != key);
    }
}

fn identity(key: &KeyLookup) -> String {
    format!("{}\u{0}{}", key.property, key.value)
}

impl KeyLookup {
    /// Whether `page` holds this key (Notion's `equals`: the exact text, or the number).
    pub fn matches(&self, page: &Page) -> bool {
        let Some(value) = page
            .properties
            .get(&self.property)
            .and_then(|p| p.get(self.filter_type.as_str()))
        else {
            return false;
        };
        match self.filter_type {
            KeyType::Title | KeyType::RichText => {
                let text = value.as_array().map(|items| plain_text(items));
                text.as_deref() == self.value.as_str()
            }
            KeyType::Number => match (value.as_f64(), self.value.as_f64()) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            },
        }
    }

    /// One filter matching the rows of any of `keys`: the key's own filter for one key, else
    /// an `or` of them (callers keep to [`MAX_KEYS_PER_QUERY`]).
    pub fn any_of(keys: &[KeyLookup]) -> Value {
        match keys {
            [one] => one.filter(),
            many => json!({ "or": many.iter().map(KeyLookup::filter).collect::<Vec<_>>() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(value: &str) -> KeyLookup {
        KeyLookup {
            property: "Flag Key".into(),
            filter_type: KeyType::Title,
            value: json!(value),
        }
    }

    fn page(id: &str, key: &str) -> Page {
        let mut properties = serde_json::Map::new();
        properties.insert(
            "Flag Key".into(),
            json!({"id": "title", "type": "title",
                   "title": [{"type": "text", "text": {"content": key}, "plain_text": key}]}),
        );
        Page {
            id: id.into(),
            created_time: String::new(),
            last_edited_time: String::new(),
            in_trash: false,
            url: String::new(),
            properties,
        }
    }

    #[test]
    fn a_batch_starts_with_the_key_whose_turn_it_is_and_caps_at_the_array_limit() {
        let keys: Vec<KeyLookup> = (0..250).map(|i| key(&format!("k{i}"))).collect();
        let pending = PendingCreates::new("ds", Instant::now(), keys.clone());
        let batch = pending.batch_for(&keys[10]);
        assert_eq!(batch.len(), MAX_KEYS_PER_QUERY);
        assert_eq!(batch[0], keys[10]);
        assert_eq!(batch[1], keys[11]);
        for k in &keys[..5] {
            pending.mark_sent(k);
        }
        let tail = pending.batch_for(&keys[240]);
        assert_eq!(tail[..10], keys[240..250]);
        assert_eq!(tail[10], keys[5], "then the pending keys before it");
        assert!(
            !tail.contains(&keys[0]),
            "a sent key is not looked up again"
        );
        let filter = KeyLookup::any_of(&batch);
        assert_eq!(filter["or"].as_array().unwrap().len(), MAX_KEYS_PER_QUERY);
        assert_eq!(KeyLookup::any_of(&batch[..1]), keys[10].filter());
    }

    #[test]
    fn a_batch_answer_marks_found_rows_and_refreshes_missing_keys() {
        let read = Instant::now();
        let keys = vec![key("a"), key("b"), key("c")];
        let pending = PendingCreates::new("ds", read, keys.clone());
        let at = read + std::time::Duration::from_secs(5);
        let mut trashed = page("p0", "c");
        trashed.in_trash = true;
        pending.record(&keys, vec![page("p1", "b"), trashed], at);
        assert_eq!(pending.seen_missing(&keys[0]), at);
        assert_eq!(
            pending.take_found(&keys[1]).map(|p| p.id).as_deref(),
            Some("p1")
        );
        assert!(pending.take_found(&keys[1]).is_none(), "taken once");
        assert!(
            pending.take_found(&keys[2]).is_none(),
            "a trashed row is no row"
        );
        assert_eq!(pending.seen_missing(&keys[2]), at);
        assert!(!pending.batch_for(&keys[0]).contains(&keys[1]));
    }

    #[test]
    fn keys_match_exact_text_and_numbers() {
        assert!(key("order_placed").matches(&page("p", "order_placed")));
        assert!(!key("order_placed").matches(&page("p", "Order_placed")));
        let number = KeyLookup {
            property: "Dashboard ID".into(),
            filter_type: KeyType::Number,
            value: json!(118),
        };
        let mut p = page("p", "x");
        p.properties.insert(
            "Dashboard ID".into(),
            json!({"type": "number", "number": 118.0}),
        );
        assert!(number.matches(&p));
        assert!(!number.matches(&page("p", "x")));
    }
}
