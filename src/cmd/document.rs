//! `kodo ph-sync document <event|flag|experiment|dashboard> KEY [options]`: the Notion row
//! first, before the resource exists in PostHog (the engine's part is
//! `crate::sync::document`). Markdown for people, `--format json` (versioned) for machines.

use crate::cli::{DocumentArgs, ReportFormat};
use crate::model::{DocField, Resource};
use crate::sync::document::{self, Action, Documented, Request};

use super::{Context, Outcome};

/// Runs `document`.
pub async fn run(ctx: &Context, args: Box<DocumentArgs>) -> anyhow::Result<Outcome> {
    let request = request(
        args.noun.into(),
        args.key.clone(),
        args.fields(),
        &args.properties,
    )?;
    let config = ctx.load_config()?;
    let _lock = ctx.write_lock().await?;
    let done = document::document(ctx.session(), &config, &request).await?;
    match args.format {
        Some(ReportFormat::Json) => ctx.printer.data(&json(&done)),
        _ => ctx.printer.data(&markdown(&done)),
    }
    Ok(Outcome::Success)
}

/// The machine report: [`kodo_core::wire::Document`].
pub fn json(done: &Documented) -> String {
    use kodo_core::wire;
    let action = serde_json::to_value(done.action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    wire::to_json(&wire::Document {
        version: wire::VERSION,
        resource: done.resource,
        key: done.key.clone(),
        action,
        page_id: done.page_id.clone(),
        url: done.url.clone(),
        properties: done.properties.iter().map(|p| p.to_string()).collect(),
        changes: done.changes.iter().map(wire::Change::of).collect(),
        created_meanwhile: done.created_meanwhile,
        snapshot_updated: done.snapshot_updated,
    })
}

/// The human report.
pub fn markdown(done: &Documented) -> String {
    let schema = done.resource.schema();
    let noun = schema.documenting.noun;
    let database = schema.title;
    let status = schema
        .lifecycle
        .as_ref()
        .map(|l| format!(" ({} = {})", l.property, l.planned))
        .unwrap_or_default();
    let head = match done.action {
        Action::Created => format!("Documented {noun} `{}` in Notion ({database} database): created{status}.", done.key),
        Action::Recovered => format!(
            "Documented {noun} `{}` in Notion ({database} database): created{status} (the answer to the create was lost; kodo read the row back instead of sending it again).",
            done.key
        ),
        Action::Updated => format!("Documented {noun} `{}` in Notion ({database} database): updated {}.", done.key, done.properties.join(", ")),
        Action::Unchanged => format!("{} `{}` is already documented in Notion ({database} database) as asked: nothing to change.", capitalised(noun), done.key),
        Action::WouldCreate => format!("Would document {noun} `{}` in Notion ({database} database): create{status} with {}.", done.key, done.properties.join(", ")),
        Action::WouldUpdate => format!("Would update {noun} `{}` in Notion ({database} database): {}.", done.key, done.properties.join(", ")),
    };
    let mut out = head;
    if let Some(url) = &done.url {
        out.push_str(&format!("\n  {url}"));
    }
    for c in &done.changes {
        out.push_str(&format!(
            "\n  {}: {} → {}",
            c.property,
            kodo_core::report::show(&c.from, &done.people),
            kodo_core::report::show(&c.to, &done.people)
        ));
    }
    if done.created_meanwhile {
        out.push_str(
            "\nAnother run created the row meanwhile; kodo wrote only what was asked to it.",
        );
    }
    if done.snapshot_updated {
        out.push_str(
            "\nThe snapshot (.kodo/snapshot.json) lists it: the pre-commit gate and the Claude Code hook accept it offline.",
        );
    }
    if matches!(
        done.action,
        Action::Created | Action::Recovered | Action::WouldCreate
    ) {
        out.push_str(&format!(
            "\nNext: {}, then run `kodo ph-sync import {}` to fill in what PostHog knows.",
            done.resource.schema().posthog.coming_into_being,
            done.resource.plural()
        ));
    }
    out
}

fn capitalised(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The request from the command line's values (`--property` parsed here, so a bad one is an
/// error before any request).
pub fn request(
    resource: Resource,
    key: String,
    fields: Vec<(DocField, String)>,
    properties: &[String],
) -> anyhow::Result<Request> {
    let properties = properties
        .iter()
        .map(|p| kodo_core::document::parse_property(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Request {
        resource,
        key,
        fields,
        properties,
    })
}
