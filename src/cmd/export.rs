//! `kodo ph-sync export [resource]` (and `kodo notion-sync --direction pull`): Notion's side
//! written to `.kodo/export/<resource>.json` and `.csv`, or to stdout with `--format`.

use anyhow::Context as _;

use crate::cli::SyncFormat;
use crate::model::Resource;
use crate::snapshot::now_rfc3339;
use crate::sync::{analysis, export, fetch};

use super::{Context, Outcome};

pub async fn run(
    ctx: &Context,
    resources: &[Resource],
    format: Option<SyncFormat>,
) -> anyhow::Result<Outcome> {
    if format == Some(SyncFormat::Csv) && resources.len() > 1 {
        anyhow::bail!(
            "--format csv writes one resource to stdout; name it, e.g. `kodo ph-sync export flags --format csv` (without --format, every resource is written to .kodo/export/)"
        );
    }
    let config = ctx.load_config()?;
    analysis::preflight(&config, resources, false)?;
    let client = fetch::notion_client(&config, &ctx.printer)?;
    let mut state = analysis::load_state(ctx.session(), &config);
    let (sides, people) = tokio::join!(
        fetch::notion_sides(&client, &config, resources, &state, &ctx.printer),
        fetch::directory(&client, &ctx.printer)
    );
    let sides = sides?;
    // People by name and e-mail: the listed members, and guests the rows name, by ID.
    let people =
        fetch::with_unlisted_people(&client, people?, sides.values().flat_map(|s| &s.rows)).await?;
    analysis::remember_data_sources(&config, &mut state, &sides);
    let now = now_rfc3339();
    match format {
        Some(SyncFormat::Json) => {
            let doc = export::document(sides.iter().map(|(r, s)| (*r, s.rows.as_slice())), &people);
            ctx.printer.data(&kodo_core::wire::to_json(&doc));
        }
        Some(SyncFormat::Csv) => {
            for (r, side) in &sides {
                ctx.printer.data(&export::rows_csv(*r, &side.rows, &people));
            }
        }
        _ => {
            let dir = config.kodo_dir().join("export");
            if !ctx.run.dry_run {
                crate::state::ensure_inside(&config.root, &dir)
                    .with_context(|| format!("cannot write the export to `{}`", dir.display()))?;
            }
            for (r, side) in &sides {
                let json_path = dir.join(format!("{}.json", r.plural()));
                let csv_path = dir.join(format!("{}.csv", r.plural()));
                if ctx.run.dry_run {
                    ctx.printer.data(&format!(
                        "Would write {} and {} ({} rows)",
                        json_path.display(),
                        csv_path.display(),
                        side.rows.len()
                    ));
                    continue;
                }
                let json = kodo_core::wire::to_json(&export::document(
                    [(*r, side.rows.as_slice())],
                    &people,
                ));
                // Unchanged rows leave the files as they were (same inode, same time).
                crate::state::write_if_changed(&json_path, json.as_bytes())
                    .with_context(|| format!("cannot write `{}`", json_path.display()))?;
                crate::state::write_if_changed(
                    &csv_path,
                    export::rows_csv(*r, &side.rows, &people).as_bytes(),
                )
                .with_context(|| format!("cannot write `{}`", csv_path.display()))?;
                ctx.printer.data(&format!(
                    "{}: {} rows → {} and {}",
                    r.title(),
                    side.rows.len(),
                    json_path.display(),
                    csv_path.display()
                ));
            }
        }
    }
    analysis::save_snapshot(ctx.session(), &config, &sides, &now);
    analysis::save_state(ctx.session(), &config, &state);
    Ok(Outcome::Success)
}
