//! `kodo snapshot refresh`: reads every configured Notion database and rewrites
//! `.kodo/snapshot.json`, the hooks' offline answer.

use crate::model::Resource;
use crate::snapshot::now_rfc3339;
use crate::sync::{analysis, fetch};

use super::{Context, Outcome};

pub async fn refresh(ctx: &Context) -> anyhow::Result<Outcome> {
    let config = ctx.load_config()?;
    let resources: Vec<Resource> = Resource::ALL
        .into_iter()
        .filter(|r| config.notion.databases.get(*r).is_some())
        .collect();
    if resources.is_empty() {
        // The error names the first missing key and how to fix it.
        config.database(Resource::Events)?;
    }
    for r in Resource::ALL.iter().filter(|r| !resources.contains(r)) {
        ctx.printer.warn(&format!(
            "no Notion database configured for {r} (`notion.databases.{}`); the snapshot keeps its previous {r}",
            r.config_key()
        ));
    }
    let client = fetch::notion_client(&config, &ctx.printer)?;
    let mut state = analysis::load_state(ctx.session(), &config);
    let sides = fetch::notion_sides(&client, &config, &resources, &state, &ctx.printer).await?;
    analysis::remember_data_sources(&config, &mut state, &sides);
    let snapshot = analysis::save_snapshot(ctx.session(), &config, &sides, &now_rfc3339());
    analysis::save_state(ctx.session(), &config, &state);
    let counts = Resource::ALL
        .iter()
        .map(|&r| format!("{} {}", snapshot.list(r).len(), r.plural()))
        .collect::<Vec<_>>()
        .join(", ");
    ctx.printer.data(&format!(
        "Snapshot refreshed ({}): {counts}",
        config.kodo_dir().join(crate::snapshot::FILE_NAME).display()
    ));
    Ok(Outcome::Success)
}
