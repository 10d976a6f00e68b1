//! `kodo ph-sync document`: writes the Notion row of a resource before it exists in PostHog
//! (documentation first), then refreshes the offline snapshot so the pre-commit gate and the
//! Claude Code hook accept the key at once.
//!
//! **Invariants.**
//! - The row is planned by `kodo_core::document` (pure), found with one filtered query on the
//!   schema table's identity properties, and created through the same exactly-once create as
//!   `import` ([`NotionClient::create_missing_page`]): an answer lost after the write commits
//!   (a 503 carrying the committed ID, a dropped connection) is settled by reading, never by
//!   sending again, so a re-run never makes a second row. Updates go through
//!   [`NotionClient::update_page`], which re-reads after an unknown outcome.
//! - A row another writer created meanwhile is not duplicated: the request is planned again
//!   against that row, and only what was asked is written to it.
//! - `dry_run` writes nothing: not to Notion, not to `.kodo/`.
//! - The snapshot lists the key afterwards: the row is added to it, and when there is no
//!   snapshot yet every configured database is read to write a whole one (a snapshot of one
//!   row would call everything else undocumented).

use kodo_api::{CreateOutcome, NotionClient, UsersAccess};
use serde::Serialize;

use crate::config::Config;
use crate::model::{decode_page, NotionRow, Resource};
use crate::snapshot::{now_rfc3339, Snapshot};

use super::normalize::{People, ScanFacts};
use super::plan::{self, Change};
use super::{analysis, apply, fetch, Session};
use kodo_core::hygiene::Directory;

pub use kodo_core::document::{DocPlan, DocStep, DocumentError, Request};

/// What `document` did (or, with `--dry-run`, would do) to the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Created,
    /// An earlier send whose answer was lost had created the row; it was read, not re-sent.
    Recovered,
    Updated,
    Unchanged,
    WouldCreate,
    WouldUpdate,
}

/// The result of one `document` run.
#[derive(Debug, Clone, Serialize)]
pub struct Documented {
    pub resource: Resource,
    pub key: String,
    pub action: Action,
    pub page_id: Option<String>,
    pub url: Option<String>,
    /// The properties written (or that would be).
    pub properties: Vec<&'static str>,
    /// The changes made to an existing row, old → new.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// The row was created by another writer after it was seen missing; kodo wrote only what
    /// was asked to it.
    pub created_meanwhile: bool,
    /// Whether `.kodo/snapshot.json` now lists the key.
    pub snapshot_updated: bool,
    /// The workspace's people as far as `--owner` needed them read, to name owners in the
    /// report (the JSON keeps user IDs, like the import's plans).
    #[serde(skip)]
    pub people: Directory,
}

/// Documents `request`'s resource in Notion.
pub async fn document(
    s: Session<'_>,
    config: &Config,
    request: &Request,
) -> anyhow::Result<Documented> {
    let resource = request.resource;
    analysis::preflight(config, &[resource], false)?;
    let client = fetch::notion_client(config, s.printer)?;
    let mut state = analysis::load_state(s, config);
    let (people, directory) = match people_if_needed(&client, request).await? {
        Some((people, directory)) => (Some(people), directory),
        None => (None, Directory::unreadable()),
    };
    let scan = scan_if_needed(s, config, resource).await;
    let rules = super::rules(&config.sync);
    let facts = kodo_core::document::Facts {
        rules: &rules,
        people: people.as_ref(),
        scan: &scan,
    };
    // Checked before any read of the database: a bad request costs no request.
    let desired = kodo_core::document::desired(request, &facts)?;

    let ds = fetch::data_source(&client, config, resource, &state).await?;
    let writable = fetch::check_schema(resource, &ds, s.printer)?;
    if let Some(missing) = desired
        .record
        .props
        .keys()
        .find(|p| !writable.contains(*p) && given(request, p))
    {
        anyhow::bail!(
            "the {} database has no `{missing}` property kodo can write\n  hint: run `kodo ph-sync setup` to add kodo's properties",
            resource.label()
        );
    }
    if let Ok(configured) = config.database(resource) {
        state
            .data_sources
            .insert(configured.to_string(), ds.id.clone());
    }
    fetch::remember_property_ids(&mut state, resource, &ds);
    let read_at = std::time::Instant::now();
    let rows = rows_matching(
        &client,
        &ds.id,
        resource,
        kodo_core::document::row_filter(&desired),
    )
    .await?;
    let row = kodo_core::document::find_row(&desired, &rows)?;
    let planned = kodo_core::document::plan(request, &facts, row)?;

    let mut done = Documented {
        resource,
        key: planned.desired.record.key.clone(),
        action: Action::Unchanged,
        page_id: None,
        url: planned.url.clone(),
        properties: Vec::new(),
        changes: Vec::new(),
        created_meanwhile: false,
        snapshot_updated: false,
        people: directory,
    };
    let written: Option<NotionRow> = match &planned.step {
        DocStep::Create => {
            let properties = plan::create_properties(&planned.desired, Some(&writable));
            done.properties = properties
                .as_object()
                .map(|m| {
                    m.keys()
                        .filter_map(|k| resource.schema().property(k).map(|p| p.name))
                        .collect()
                })
                .unwrap_or_default();
            if s.dry_run {
                done.action = Action::WouldCreate;
                None
            } else {
                let lookup = apply::key_lookup(&planned.desired);
                let outcome = client
                    .create_missing_page(&ds.id, properties, &lookup, read_at)
                    .await?;
                let (action, page) = match outcome {
                    CreateOutcome::Created(p) => (Action::Created, p),
                    CreateOutcome::Recovered(p) => (Action::Recovered, p),
                    CreateOutcome::Existing(p) => {
                        done.created_meanwhile = true;
                        (Action::Unchanged, p)
                    }
                };
                done.action = action;
                let url = Some(page.url.as_str()).filter(|u| !u.is_empty());
                let mut row = decode_page(resource, &page.id, url, &page.properties);
                if done.created_meanwhile {
                    // Another writer's row: write to it only what was asked.
                    let again = kodo_core::document::plan(request, &facts, Some(&row))?;
                    if let DocStep::Update { page_id, changes } = &again.step {
                        let page = client
                            .update_page(page_id, plan::update_properties(resource, changes))
                            .await?;
                        row = decode_page(resource, &page.id, url, &page.properties);
                        done.action = Action::Updated;
                        done.properties = changes.iter().map(|c| c.property).collect();
                        done.changes = changes.clone();
                    }
                }
                Some(row)
            }
        }
        DocStep::Update { page_id, changes } => {
            done.page_id = Some(page_id.clone());
            done.properties = changes.iter().map(|c| c.property).collect();
            done.changes = changes.clone();
            if s.dry_run {
                done.action = Action::WouldUpdate;
                None
            } else {
                let page = client
                    .update_page(page_id, plan::update_properties(resource, changes))
                    .await?;
                done.action = Action::Updated;
                let url = Some(page.url.as_str()).filter(|u| !u.is_empty());
                Some(decode_page(resource, &page.id, url, &page.properties))
            }
        }
        DocStep::Unchanged { page_id } => {
            done.page_id = Some(page_id.clone());
            row.cloned()
        }
    };
    if let Some(row) = &written {
        done.page_id = Some(row.page_id.clone());
        if row.url.is_some() {
            done.url = row.url.clone();
        }
    }
    if !s.dry_run {
        analysis::save_state(s, config, &state);
        if let Some(row) = &written {
            done.snapshot_updated = refresh_snapshot(s, config, &client, &state, row).await;
        }
    }
    Ok(done)
}

/// Whether the person gave the option that fills `property`.
fn given(request: &Request, property: &str) -> bool {
    let doc = &request.resource.schema().documenting;
    request
        .fields
        .iter()
        .any(|(f, _)| doc.property_of(*f) == Some(property))
        || (!request.properties.is_empty()
            && doc.property_of(kodo_core::model::DocField::Property) == Some(property))
}

/// The workspace's people (by e-mail, and as a directory to name them), read only when
/// `--owner` needs them; `None` when the integration may not read them.
async fn people_if_needed(
    client: &NotionClient,
    request: &Request,
) -> anyhow::Result<Option<(People, Directory)>> {
    let wants_owner = request
        .fields
        .iter()
        .any(|(f, _)| *f == kodo_core::model::DocField::Owner);
    if !wants_owner {
        return Ok(Some((People::default(), Directory::unreadable())));
    }
    Ok(match client.list_users().await? {
        UsersAccess::Users(users) => Some(fetch::people_of(users)),
        UsersAccess::NotAllowed => None,
    })
}

/// The code scan's facts, when the resource takes any (a failed scan is a warning).
async fn scan_if_needed(s: Session<'_>, config: &Config, resource: Resource) -> ScanFacts {
    if resource.schema().documenting.code_facts.is_empty() {
        return ScanFacts::default();
    }
    super::scan::facts(config, s.no_cache, s.printer).await
}

async fn rows_matching(
    client: &NotionClient,
    data_source: &str,
    resource: Resource,
    filter: serde_json::Value,
) -> anyhow::Result<Vec<NotionRow>> {
    let pages = client.query_all(data_source, Some(filter)).await?;
    Ok(pages
        .iter()
        .filter(|p| !p.in_trash)
        .map(|p| {
            let url = Some(p.url.as_str()).filter(|u| !u.is_empty());
            decode_page(resource, &p.id, url, &p.properties)
        })
        .collect())
}

/// Adds the row to the snapshot (a whole new snapshot when there is none). Returns whether
/// the snapshot now lists it; a failure is a warning (the row is in Notion either way).
async fn refresh_snapshot(
    s: Session<'_>,
    config: &Config,
    client: &NotionClient,
    state: &crate::state::State,
    row: &NotionRow,
) -> bool {
    let kodo_dir = config.kodo_dir();
    let mut snapshot = match Snapshot::load(&kodo_dir) {
        Ok(Some(snapshot)) => snapshot,
        Ok(None) | Err(_) => {
            let resources: Vec<Resource> = Resource::ALL
                .into_iter()
                .filter(|r| config.notion.databases.get(*r).is_some())
                .collect();
            match fetch::notion_sides(client, config, &resources, state, s.printer).await {
                Ok(sides) => analysis::save_snapshot(s, config, &sides, &now_rfc3339()),
                Err(e) => {
                    s.printer.warn(&format!(
                        "the snapshot was not written ({e}); run `kodo snapshot refresh` so the hooks know the new row offline"
                    ));
                    return false;
                }
            }
        }
    };
    snapshot.add_row(row.record.resource, row);
    match snapshot.save(&kodo_dir) {
        Ok(()) => true,
        Err(e) => {
            s.printer.warn(&e.to_string());
            false
        }
    }
}
