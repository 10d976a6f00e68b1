//! One resource at a time, for the Claude Code hook: "document this PostHog object" (create or
//! update its row exactly once). "Is this documented?" is [`crate::lookup`]'s.
//!
//! **Invariants.** The row is found with the documentation lookup's filter
//! ([`DocKey::filter`]: a title, rich-text or number `equals`), never by reading the whole
//! database. [`upsert_from_posthog`]
//! goes through the same normaliser, planner and exactly-once create as `import`, so the row
//! it writes is the row `import` would write, and a repeated call changes nothing.

use kodo_api::{CreateOutcome, NotionClient};
use serde::Serialize;
use serde_json::Value;

use crate::config::Config;
use crate::documented::DocKey;
use crate::model::{decode_page, NotionRow, Resource};
use crate::output::Printer;
use crate::snapshot::Snapshot;
use crate::state::State;

use super::normalize::{self, Normalizer, People, PostHogData, ScanFacts};
use super::plan::{self, PlanInput, PlanOptions, Step};
use super::{apply, fetch, SyncError};

async fn matching_rows(
    client: &NotionClient,
    config: &Config,
    resource: Resource,
    filter: Value,
    state: &State,
) -> Result<(kodo_api::DataSource, Vec<NotionRow>, std::time::Instant), SyncError> {
    let ds = fetch::data_source(client, config, resource, state).await?;
    let read_at = std::time::Instant::now();
    let pages = client.query_all(&ds.id, Some(filter)).await?;
    let rows = pages
        .iter()
        .filter(|p| !p.in_trash)
        .map(|p| {
            decode_page(
                resource,
                &p.id,
                Some(p.url.as_str()).filter(|u| !u.is_empty()),
                &p.properties,
            )
        })
        .collect();
    Ok((ds, rows, read_at))
}

/// What [`upsert_from_posthog`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum UpsertResult {
    Created {
        page_id: String,
        url: Option<String>,
    },
    /// An earlier, unconfirmed create turned out to have made the row.
    Recovered {
        page_id: String,
        url: Option<String>,
    },
    /// Another writer created the row after it was seen missing; nothing was created.
    Existing {
        page_id: String,
        url: Option<String>,
    },
    Updated {
        page_id: String,
        url: Option<String>,
        properties: Vec<String>,
    },
    Unchanged {
        page_id: String,
        url: Option<String>,
    },
    /// Not something kodo documents (a `$` event, an object without a key).
    Skipped { reason: String },
}

/// Decodes one PostHog object into kodo-api's types (the same ones a full import reads).
/// Those are lenient about every field but the object's identity, `identity`, which must be
/// there.
/// One PostHog object of `resource`, decoded into kodo-api's type for it; the object's name
/// and the field that keys it come from the resource table.
fn decode(object: &Value, resource: Resource) -> anyhow::Result<PostHogData> {
    let what = resource.schema().posthog.object;
    let identity = resource.schema().posthog.key_field;
    let present = match object.get(identity) {
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    };
    if !present {
        anyhow::bail!("the PostHog {what} object cannot be read: it has no `{identity}`");
    }
    PostHogData::from_object(resource, object)
        .map_err(|e| anyhow::anyhow!("the PostHog {what} object cannot be read: {e}"))
}

fn emails(object: &Value) -> bool {
    ["created_by", "owner"].iter().any(|k| {
        object
            .pointer(&format!("/{k}/email"))
            .and_then(Value::as_str)
            .is_some_and(|e| !e.is_empty())
    })
}

/// Normalises one PostHog object (as PostHog returns it) and creates or updates its Notion
/// row, exactly once.
pub async fn upsert_from_posthog(
    config: &Config,
    resource: Resource,
    object: &Value,
    printer: &Printer,
) -> anyhow::Result<UpsertResult> {
    let client = fetch::notion_client(config, printer)?;
    let kodo_dir = config.kodo_dir();
    let mut state = State::load(&kodo_dir).unwrap_or_default();
    let people = if emails(object) {
        fetch::people(&client, printer).await?.0
    } else {
        People::default()
    };
    let scan = ScanFacts::default();
    let rules = super::rules(&config.sync);
    let n = Normalizer {
        region_url: &config.posthog.region_url,
        project_id: &config.posthog.project_id,
        rules: &rules,
        people: &people,
        scan: &scan,
    };
    let data = decode(object, resource)?;
    let Some(desired) = n.desired(resource, &data).into_iter().next() else {
        // What the normaliser leaves out of a list: PostHog's own `$` events (unless
        // `sync.include_builtin_events`) and objects without a key.
        let reason = match data.events.first() {
            Some(e) if normalize::is_builtin_event(&e.name) => {
                format!("`{}` is one of PostHog's own events", e.name)
            }
            _ => format!("the PostHog {} has no key", resource.label().to_lowercase()),
        };
        return Ok(UpsertResult::Skipped { reason });
    };
    let record = &desired.record;
    let key = DocKey::of_record(resource, record);
    let Some(filter) = key.filter(resource) else {
        return Ok(UpsertResult::Skipped {
            reason: format!("the PostHog {} has no key", resource.label().to_lowercase()),
        });
    };
    let (ds, rows, read_at) = matching_rows(&client, config, resource, filter, &state).await?;
    let writable = fetch::check_schema(resource, &ds, printer)?;
    // The id a later run reads it by once it leaves PostHog's list (where the table says
    // kodo remembers ids: flags, experiments).
    if let (Some(key), Some(id)) = (&record.keys.primary, desired.posthog_id) {
        state.remember_posthog_id(resource, key, id);
    }
    if let Ok(configured) = config.database(resource) {
        state
            .data_sources
            .insert(configured.to_string(), ds.id.clone());
    }
    fetch::remember_property_ids(&mut state, resource, &ds);
    let lookup = apply::key_lookup(&desired);
    let planned = plan::plan(
        PlanInput {
            resource,
            desired: vec![desired],
            rows,
            maybe_deleted: Default::default(),
            deleted: Default::default(),
            writable: Some(writable.clone()),
            written: state
                .written
                .get(resource.plural())
                .cloned()
                .unwrap_or_default(),
        },
        PlanOptions::default(),
    );
    let Some(item) = planned.items.first() else {
        anyhow::bail!("internal error: the plan for one object is empty");
    };
    let url_of = |p: &kodo_api::Page| Some(p.url.clone()).filter(|u| !u.is_empty());
    let (result, page) = match &item.step {
        Step::Create => {
            let properties = plan::create_properties(&item.desired, Some(&writable));
            let created = client.create_missing_page(&ds.id, properties, &lookup, read_at);
            match created.await? {
                CreateOutcome::Created(p) => (
                    UpsertResult::Created {
                        page_id: p.id.clone(),
                        url: url_of(&p),
                    },
                    Some(p),
                ),
                CreateOutcome::Recovered(p) => (
                    UpsertResult::Recovered {
                        page_id: p.id.clone(),
                        url: url_of(&p),
                    },
                    Some(p),
                ),
                CreateOutcome::Existing(p) => (
                    UpsertResult::Existing {
                        page_id: p.id.clone(),
                        url: url_of(&p),
                    },
                    Some(p),
                ),
            }
        }
        Step::Update { page_id, changes } => {
            let p = client
                .update_page(page_id, plan::update_properties(resource, changes))
                .await?;
            (
                UpsertResult::Updated {
                    page_id: p.id.clone(),
                    url: url_of(&p),
                    properties: changes.iter().map(|c| c.property.to_string()).collect(),
                },
                Some(p),
            )
        }
        Step::Unchanged { page_id } => (
            UpsertResult::Unchanged {
                page_id: page_id.clone(),
                url: item.url.clone(),
            },
            None,
        ),
    };
    if !matches!(result, UpsertResult::Existing { .. }) {
        // A row another writer created holds that writer's text, not this plan's.
        state.remember_written(resource.plural(), item);
    }
    if let Err(e) = state.save(&kodo_dir) {
        printer.warn(&e.to_string());
    }
    if let Some(page) = page {
        // Keep the offline snapshot in step, when there is one.
        if let Ok(Some(mut snapshot)) = Snapshot::load(&kodo_dir) {
            let row = decode_page(resource, &page.id, None, &page.properties);
            // Its age stays: only this row is newer than the rest.
            snapshot.add_row(resource, &row);
            if let Err(e) = snapshot.save(&kodo_dir) {
                printer.warn(&e.to_string());
            }
        }
    }
    Ok(result)
}
