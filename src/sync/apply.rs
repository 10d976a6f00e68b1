//! Carrying out a plan: create the missing rows, update the stale ones, and (only when asked)
//! move orphaned rows to the trash.
//!
//! **Invariants.**
//! - One request per create and per update at most, plus only what settling an unknown
//!   outcome needs: creates go through [`NotionClient::create_page`] with the row's sync key,
//!   which never re-sends a create that may have landed, so a retry or a re-run after a crash
//!   never makes a second row.
//! - Updates send only the changed properties.
//! - A failed write does not stop the others: everything that can be done is done, and the
//!   failures are reported together.
//! - A few writes are in flight at once; the client's one rate limiter sets the pace.
//! - A [`Stop`] (Ctrl-C) lets the writes in flight finish and starts no other: each row is
//!   written whole or not at all, and the outcome lists what was written and what was left.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use kodo_api::{CreateOutcome, KeyLookup, KeyType, NotionClient, Page, PendingCreates};

use crate::model::{decode_page, NotionRow, PropType, Resource};
use crate::output::Printer;
pub use kodo_core::outcome::{Failure, Outcome, Write};

use super::normalize::Desired;
use super::plan::{create_properties, update_properties, Change, Item, Orphan, ResourcePlan, Step};

/// Writes in flight at once.
pub const WRITES_IN_FLIGHT: usize = 4;

/// The key query that finds a row created by an earlier, unconfirmed send: the schema
/// table's identity (`DatabaseSchema::key_query`) in the client's terms.
pub fn key_lookup(desired: &Desired) -> KeyLookup {
    let record = &desired.record;
    let query = record
        .resource
        .schema()
        .key_query(&record.keys, &record.key);
    KeyLookup {
        property: query.property.into(),
        filter_type: match query.kind {
            PropType::Title => KeyType::Title,
            PropType::Number => KeyType::Number,
            _ => KeyType::RichText,
        },
        value: query.value,
    }
}

/// Where one resource's writes go.
#[derive(Debug, Clone)]
pub struct Target {
    /// The data source ID.
    pub data_source: String,
    /// The schema's properties it can hold.
    pub writable: BTreeSet<&'static str>,
    /// When its rows were read: the keys the plan creates were seen missing then, and a create
    /// much later re-checks its key first, with the next pending creates' keys in the same
    /// query ([`NotionClient::create_pending`]), because another writer on another machine may
    /// have created the row meanwhile.
    pub read_at: std::time::Instant,
}

/// A request to stop writing (Ctrl-C): shared by the signal listener and the writers.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A stop nobody has asked for yet.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Asks the writers to start no other write.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// A stop that the first Ctrl-C (SIGINT) requests, saying so on stderr (unless `-q`); a
    /// second Ctrl-C ends the process at once with exit code 130 (a create whose answer is
    /// lost then is settled by the next run, never sent twice). Must be called inside the
    /// runtime; from then on SIGINT no longer kills the process by itself.
    pub fn on_ctrl_c(printer: &Printer) -> Stop {
        let stop = Stop::new();
        let flag = stop.clone();
        let printer = printer.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            flag.request();
            printer.info(
                "Interrupted: finishing the writes in flight, starting no other (Ctrl-C again stops at once)",
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(crate::exit::INTERRUPTED));
            }
        });
        stop
    }
}

enum Op<'a> {
    Create(Resource, &'a Target, &'a PendingCreates, &'a Item),
    Update(Resource, &'a Item, &'a [Change]),
    Trash(&'a Orphan),
}

impl Op<'_> {
    fn describe(&self) -> String {
        match self {
            Op::Create(r, _, _, item) => {
                format!("create {} {}", r.label(), item.desired.record.key)
            }
            Op::Update(r, item, _) => format!("update {} {}", r.label(), item.desired.record.key),
            Op::Trash(o) => format!("archive {}", o.row.record.key),
        }
    }

    /// The write as the report lists it.
    fn write(&self) -> Write {
        let (resource, key, action) = match self {
            Op::Create(r, _, _, item) => (*r, &item.desired.record.key, "create"),
            Op::Update(r, item, _) => (*r, &item.desired.record.key, "update"),
            Op::Trash(o) => (o.row.record.resource, &o.row.record.key, "archive"),
        };
        Write {
            resource,
            key: key.clone(),
            action,
        }
    }
}

/// Applies `plans`. `targets` says where each resource's writes go; once `stop` is requested
/// no further write is started (those are listed in the outcome's `left`).
pub async fn apply(
    client: &NotionClient,
    plans: &[ResourcePlan],
    targets: &BTreeMap<Resource, Target>,
    archive_orphans: bool,
    printer: &Printer,
    stop: &Stop,
) -> Outcome {
    // Each resource's creates, in the order they are sent: a stale key is re-checked together
    // with the next ones.
    let pending: BTreeMap<Resource, PendingCreates> = plans
        .iter()
        .filter_map(|plan| {
            let target = targets.get(&plan.resource)?;
            let keys = plan
                .items
                .iter()
                .filter(|item| matches!(item.step, Step::Create))
                .map(|item| key_lookup(&item.desired));
            let pending = PendingCreates::new(target.data_source.clone(), target.read_at, keys);
            Some((plan.resource, pending))
        })
        .collect();
    let mut ops: Vec<Op> = Vec::new();
    let mut outcome = Outcome::default();
    for plan in plans {
        let (Some(target), Some(pending)) =
            (targets.get(&plan.resource), pending.get(&plan.resource))
        else {
            continue;
        };
        for item in &plan.items {
            match &item.step {
                Step::Create => ops.push(Op::Create(plan.resource, target, pending, item)),
                Step::Update { changes, .. } => ops.push(Op::Update(plan.resource, item, changes)),
                Step::Unchanged { .. } => outcome.unchanged += 1,
            }
        }
        if archive_orphans {
            ops.extend(plan.orphans.iter().map(Op::Trash));
        }
    }
    let bar = printer.progress(ops.len() as u64, "Writing to Notion");
    let shared = Mutex::new(outcome);
    let record = |f: &dyn Fn(&mut Outcome)| {
        if let Ok(mut o) = shared.lock() {
            f(&mut o);
        }
    };
    futures_util::stream::iter(ops)
        .for_each_concurrent(WRITES_IN_FLIGHT, |op| {
            let bar = &bar;
            let record = &record;
            async move {
                let write = op.write();
                if stop.requested() {
                    record(&|o| o.left.push(write.clone()));
                    return;
                }
                let done = |o: &mut Outcome| o.written.push(write.clone());
                bar.set_message(op.describe());
                match op {
                    Op::Create(resource, target, pending, item) => {
                        let properties = create_properties(&item.desired, Some(&target.writable));
                        let lookup = key_lookup(&item.desired);
                        let created = client.create_pending(pending, properties, &lookup);
                        match created.await {
                            Ok(CreateOutcome::Created(page)) => record(&|o| {
                                o.created += 1;
                                done(o);
                                push_row(o, resource, &page);
                            }),
                            Ok(CreateOutcome::Recovered(page)) => record(&|o| {
                                o.recovered += 1;
                                done(o);
                                push_row(o, resource, &page);
                            }),
                            Ok(CreateOutcome::Existing(page)) => record(&|o| {
                                o.existing.push((resource, item.desired.record.key.clone()));
                                push_row(o, resource, &page);
                            }),
                            Err(e) => record(&|o| {
                                o.failed.push(Failure {
                                    resource,
                                    key: item.desired.record.key.clone(),
                                    action: "create",
                                    error: e.to_string(),
                                })
                            }),
                        }
                    }
                    Op::Update(resource, item, changes) => {
                        let Step::Update { page_id, .. } = &item.step else {
                            return;
                        };
                        let properties = update_properties(resource, changes);
                        match client.update_page(page_id, properties).await {
                            Ok(page) => record(&|o| {
                                o.updated += 1;
                                done(o);
                                push_row(o, resource, &page);
                            }),
                            Err(e) => record(&|o| {
                                o.failed.push(Failure {
                                    resource,
                                    key: item.desired.record.key.clone(),
                                    action: "update",
                                    error: e.to_string(),
                                })
                            }),
                        }
                    }
                    Op::Trash(orphan) => {
                        let resource = orphan.row.record.resource;
                        match client.set_in_trash(&orphan.row.page_id, true).await {
                            Ok(_) => record(&|o| {
                                o.archived += 1;
                                done(o);
                                o.trashed.insert(orphan.row.page_id.clone());
                            }),
                            Err(e) => record(&|o| {
                                o.failed.push(Failure {
                                    resource,
                                    key: orphan.row.record.key.clone(),
                                    action: "archive",
                                    error: e.to_string(),
                                })
                            }),
                        }
                    }
                }
                bar.inc(1);
            }
        })
        .await;
    bar.finish_and_clear();
    let mut outcome = shared.into_inner().unwrap_or_default();
    outcome
        .failed
        .sort_by(|a, b| (a.resource, &a.key).cmp(&(b.resource, &b.key)));
    outcome.written.sort();
    outcome.left.sort();
    outcome.interrupted = stop.requested();
    outcome
}

fn push_row(outcome: &mut Outcome, resource: Resource, page: &Page) {
    let url = (!page.url.is_empty()).then_some(page.url.as_str());
    outcome.rows.entry(resource).or_default().push(decode_page(
        resource,
        &page.id,
        url,
        &page.properties,
    ));
}

/// The rows of a resource after applying: what was read, minus what was trashed, with
/// written rows replaced by their new state.
pub fn rows_after(before: &[NotionRow], outcome: &Outcome, resource: Resource) -> Vec<NotionRow> {
    let written = outcome
        .rows
        .get(&resource)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut rows: Vec<NotionRow> = before
        .iter()
        .filter(|r| !outcome.trashed.contains(&r.page_id))
        .filter(|r| !written.iter().any(|w| w.page_id == r.page_id))
        .cloned()
        .collect();
    rows.extend(written.iter().cloned());
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MatchKeys, Record};
    use serde_json::json;

    fn desired(resource: Resource, key: &str, primary: Option<&str>, id: Option<i64>) -> Desired {
        Desired {
            record: Record {
                resource,
                key: key.into(),
                keys: MatchKeys {
                    primary: primary.map(str::to_string),
                    fallback: None,
                },
                status: None,
                props: Default::default(),
            },
            soft: Default::default(),
            detail: None,
            deleted: false,
            posthog_id: id,
            creator: None,
            serving: None,
        }
    }

    #[test]
    fn key_lookups_use_each_resource_sync_key() {
        let l = key_lookup(&desired(
            Resource::Events,
            "user_signed_up",
            Some("user_signed_up"),
            None,
        ));
        assert_eq!(
            l.filter(),
            json!({"property": "Event Name", "title": {"equals": "user_signed_up"}})
        );
        let l = key_lookup(&desired(
            Resource::Experiments,
            "Checkout copy",
            Some("checkout-copy"),
            Some(9),
        ));
        assert_eq!(
            l.filter(),
            json!({"property": "Flag Key", "rich_text": {"equals": "checkout-copy"}})
        );
        let l = key_lookup(&desired(Resource::Experiments, "No flag", None, Some(9)));
        assert_eq!(
            l.filter(),
            json!({"property": "Experiment Name", "title": {"equals": "No flag"}})
        );
        let l = key_lookup(&desired(
            Resource::Dashboards,
            "API Performance",
            Some("123"),
            Some(123),
        ));
        assert_eq!(
            l.filter(),
            json!({"property": "ID", "number": {"equals": 123}})
        );
    }

    #[test]
    fn rows_after_replaces_written_and_drops_trashed() {
        let row = |id: &str, key: &str| NotionRow {
            page_id: id.into(),
            url: None,
            record: desired(Resource::Events, key, Some(key), None).record,
        };
        let before = vec![row("a", "one"), row("b", "two"), row("c", "three")];
        let mut outcome = Outcome::default();
        outcome.trashed.insert("c".into());
        outcome.rows.insert(
            Resource::Events,
            vec![row("b", "two renamed"), row("d", "four")],
        );
        let after = rows_after(&before, &outcome, Resource::Events);
        let keys: Vec<_> = after
            .iter()
            .map(|r| (r.page_id.as_str(), r.record.key.as_str()))
            .collect();
        assert_eq!(keys, [("a", "one"), ("b", "two renamed"), ("d", "four")]);
    }
}
