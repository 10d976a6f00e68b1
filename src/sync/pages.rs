//! The documentation pages in Notion: the index on `notion.pages.analytics_home` and the
//! tracking plan on `notion.pages.tracking_plan` (the rendering and the plan of writes are
//! pure, in `kodo_core::pages`; this module reads the pages and carries the plan out).
//!
//! **Invariants.**
//! - kodo writes only inside its own region of a page (between its start and end notes);
//!   a person's blocks above and below are never written.
//! - A run with nothing changed writes nothing: the page's top-level blocks are read (one
//!   request per 100) and compared with what the model renders.
//! - Setup never makes a second tracking plan or index: a configured page is used; otherwise
//!   a "Tracking Plan" sub-page of the analytics page that carries kodo's start note is
//!   adopted; only when there is none is one created, with the start and end notes already in
//!   it, so a re-run after a lost answer finds it. Its ID goes into the config in place.
//! - `dry_run` reads and reports, and writes nothing.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use kodo_api::{ApiError, NotionClient};
use kodo_core::hygiene::Directory;
use kodo_core::pages::{
    self, end_note, plan_region, start_note, Anchor, Existing, Region, RegionPlan, Section, Write,
    TRACKING_PLAN_TITLE,
};

use crate::config::Config;
use crate::model::{NotionRow, PropValue, Resource};
use crate::output::Printer;

use super::setup::save_config_value;

/// A page's top-level blocks, as the planner reads them.
pub async fn read(client: &NotionClient, page: &str) -> Result<Vec<Existing>, ApiError> {
    Ok(client
        .list_children(page)
        .await?
        .into_iter()
        .map(|b| Existing {
            signature: pages::signature(&b.kind, &b.content),
            text: b.plain_text(),
            kind: b.kind,
            id: b.id,
        })
        .collect())
}

/// Carries `plan` out on `page`; the number of requests written.
pub async fn apply(
    client: &NotionClient,
    page: &str,
    plan: &RegionPlan,
) -> Result<usize, ApiError> {
    let mut inserted_last: Vec<String> = Vec::new();
    let mut requests = 0;
    for write in &plan.writes {
        match write {
            Write::Delete(id) => {
                client.delete_block(id).await?;
                requests += 1;
            }
            Write::Update { id, block } => {
                let value = block.to_notion();
                let kind = block.kind();
                client.update_block(id, kind, value[kind].clone()).await?;
                requests += 1;
            }
            Write::Insert { anchor, blocks } => {
                let after = match anchor {
                    Anchor::End => None,
                    Anchor::AfterBlock(id) => Some(id.clone()),
                    Anchor::AfterInsert(n) => inserted_last.get(*n).cloned(),
                };
                let bodies: Vec<serde_json::Value> = blocks.iter().map(|b| b.to_notion()).collect();
                requests += kodo_api::notion::append_chunks(&bodies).len();
                let created = client
                    .append_children(page, &bodies, after.as_deref())
                    .await?;
                inserted_last.push(
                    created
                        .last()
                        .map(|b| b.id.clone())
                        .or(after)
                        .unwrap_or_default(),
                );
            }
        }
    }
    Ok(requests)
}

/// `id → name` of the owners the rows name, from the workspace directory.
fn owner_names(rows: &[NotionRow], directory: &Directory) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for row in rows {
        if let Some(PropValue::People(ids)) = row.record.props.get(crate::model::props::OWNER) {
            for id in ids {
                if let Some(member) = directory.person(id) {
                    names.insert(id.clone(), member.name.clone());
                }
            }
        }
    }
    names
}

/// The tracking plan's sections from the rows of the databases read.
pub fn tracking_plan_sections(rows: &[NotionRow], directory: &Directory) -> Vec<Section> {
    pages::tracking_plan(rows, &owner_names(rows, directory))
}

/// What the tracking-plan page needs to match the model.
pub async fn tracking_plan_plan(
    client: &NotionClient,
    page: &str,
    rows: &[NotionRow],
    directory: &Directory,
) -> Result<RegionPlan, ApiError> {
    let existing = read(client, page).await?;
    Ok(plan_region(
        Region::TrackingPlan,
        &existing,
        &tracking_plan_sections(rows, directory),
    ))
}

/// What setup did to the pages.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PagesResult {
    /// The tracking-plan page (none in a dry run that would create it).
    pub tracking_plan: Option<String>,
    /// `configured`, `adopted`, `created` (or in a dry run `would_create`).
    pub tracking_plan_action: &'static str,
    /// `created`, `updated` or `unchanged` (`would_…` in a dry run).
    pub index_action: &'static str,
}

/// Setup's documentation structure: the tracking-plan page (found, adopted or created) and
/// the index on the analytics page. `databases` are the databases as configured now.
pub async fn setup(
    dry_run: bool,
    printer: &Printer,
    config: &Config,
    path: &Path,
    client: &NotionClient,
    databases: &[(Resource, String)],
) -> anyhow::Result<PagesResult> {
    let Some(home) = config.notion.analytics_home.as_deref() else {
        anyhow::bail!(
            "`notion.pages.analytics_home` is not set: setup writes the index and the tracking plan under that page"
        );
    };
    let (tracking_plan, tracking_plan_action) = match config.notion.tracking_plan.as_deref() {
        Some(id) => {
            client.retrieve_block(id).await.with_context(|| {
                format!("the tracking-plan page `notion.pages.tracking_plan` ({id}) cannot be read; fix or remove the ID and run setup again")
            })?;
            (Some(id.to_string()), "configured")
        }
        None => match find_tracking_plan(client, home).await? {
            Some(id) => {
                if !dry_run {
                    save_config_value(config, path, &["notion", "pages", "tracking_plan"], &id)?;
                }
                (Some(id), "adopted")
            }
            None if dry_run => (None, "would_create"),
            None => {
                let id = client
                    .create_child_page(
                        home,
                        TRACKING_PLAN_TITLE,
                        &[
                            start_note(Region::TrackingPlan).to_notion(),
                            end_note(Region::TrackingPlan).to_notion(),
                        ],
                    )
                    .await
                    .context("cannot create the Tracking Plan page")?;
                save_config_value(config, path, &["notion", "pages", "tracking_plan"], &id)?;
                printer.info(&format!(
                    "kodo: created the Tracking Plan page ({id}); `kodo ph-sync import` fills it"
                ));
                (Some(id), "created")
            }
        },
    };
    let sections = pages::index(databases, tracking_plan.as_deref());
    let existing = read(client, home)
        .await
        .context("cannot read the analytics page's content")?;
    let plan = plan_region(Region::Index, &existing, &sections);
    let index_action = match (plan.missing, plan.is_noop(), dry_run) {
        (_, true, _) => "unchanged",
        (true, _, false) => "created",
        (true, _, true) => "would_create",
        (false, _, false) => "updated",
        (false, _, true) => "would_update",
    };
    if !dry_run && !plan.is_noop() {
        apply(client, home, &plan)
            .await
            .context("cannot write the index on the analytics page")?;
    }
    Ok(PagesResult {
        tracking_plan,
        tracking_plan_action,
        index_action,
    })
}

/// A "Tracking Plan" sub-page of `home` that carries kodo's start note.
async fn find_tracking_plan(client: &NotionClient, home: &str) -> anyhow::Result<Option<String>> {
    let children = client
        .list_children(home)
        .await
        .context("cannot read the analytics page's content")?;
    for child in children
        .iter()
        .filter(|b| b.kind == "child_page" && b.plain_text() == TRACKING_PLAN_TITLE)
    {
        let content = read(client, &child.id).await?;
        let probe = plan_region(Region::TrackingPlan, &content, &[]);
        if !probe.missing {
            return Ok(Some(child.id.clone()));
        }
    }
    Ok(None)
}

/// The databases configured, in the spec's order.
pub fn configured_databases(config: &Config) -> Vec<(Resource, String)> {
    Resource::ALL
        .iter()
        .filter_map(|r| {
            config
                .notion
                .databases
                .get(*r)
                .map(|id| (*r, id.to_string()))
        })
        .collect()
}

/// The rows of every configured database: those already read (`sides`, e.g. after an
/// import's writes) and the others read now.
pub async fn all_rows(
    client: &NotionClient,
    config: &Config,
    state: &crate::state::State,
    sides: &BTreeMap<Resource, super::fetch::NotionSide>,
    printer: &Printer,
) -> Result<Vec<NotionRow>, super::SyncError> {
    let mut rows: Vec<NotionRow> = Vec::new();
    for resource in Resource::ALL {
        if let Some(side) = sides.get(&resource) {
            rows.extend(side.rows.iter().cloned());
        } else if config.notion.databases.get(resource).is_some() {
            let side = super::fetch::notion_side(client, config, resource, state, printer).await?;
            rows.extend(side.rows);
        }
    }
    Ok(rows)
}

/// The tracking-plan page against the model (`None` when `notion.pages.tracking_plan` is
/// unset), with the plan that would bring it up to date.
pub async fn tracking_plan_status(
    client: &NotionClient,
    config: &Config,
    rows: &[NotionRow],
    directory: &Directory,
) -> Result<Option<(pages::PageStatus, RegionPlan)>, super::SyncError> {
    let Some(page) = config.notion.tracking_plan.as_deref() else {
        return Ok(None);
    };
    let plan = tracking_plan_plan(client, page, rows, directory).await?;
    Ok(Some((pages::PageStatus::of(page, &plan), plan)))
}

/// Carries out the plan of the page `status` describes; the requests written.
pub async fn apply_to(
    client: &NotionClient,
    status: &pages::PageStatus,
    plan: &RegionPlan,
) -> Result<usize, ApiError> {
    apply(client, &status.page_id, plan).await
}

/// One line on what a page refresh did.
pub fn describe(status: &pages::PageStatus, plan: &RegionPlan, requests: usize) -> String {
    if plan.is_noop() {
        return "Tracking Plan page: up to date (nothing written).".to_string();
    }
    let what = if status.missing {
        "wrote kodo's section".to_string()
    } else {
        format!(
            "updated {} ({})",
            if status.changed.len() == 1 {
                "1 section".to_string()
            } else {
                format!("{} sections", status.changed.len())
            },
            status.changed.join(", ")
        )
    };
    let n = |count: usize, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    format!(
        "Tracking Plan page: {what} ({}, {}).",
        n(status.blocks_to_write, "block", "blocks"),
        n(requests, "request", "requests")
    )
}
