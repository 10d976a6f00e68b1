//! `kodo ph-sync status [resource]` (counts, undocumented resources, last sync time) and
//! `kodo ph-sync [resource]` with no action, the spec's default: the status, the
//! discrepancies, and the commands that would fix them.

use crate::cli::SyncFormat;
use crate::model::Resource;
use crate::sync::analysis;
use crate::sync::report;

use super::{Context, Outcome};

/// `overview`: the default action (status and discrepancies, with the code section when
/// `judge_code`); otherwise `status`.
pub async fn run(
    ctx: &Context,
    resources: &[Resource],
    format: Option<SyncFormat>,
    overview: bool,
    judge_code: bool,
) -> anyhow::Result<Outcome> {
    // The overview judges owners too (hygiene); `status` only counts.
    let (a, findings) = super::audit::analyse(ctx, resources, judge_code, overview).await?;
    let last = analysis::last_syncs(&a.state, resources);
    let text = match format {
        Some(SyncFormat::Json) if overview => {
            // The overview's machine form is the audit's: status counts plus every finding.
            report::audit_json(&findings, &a.now)
        }
        Some(SyncFormat::Json) => report::status_json(&findings, &last, &a.now),
        Some(SyncFormat::Csv) if overview => report::audit_csv(&findings),
        Some(SyncFormat::Csv) => report::status_csv(&findings, &last),
        _ if overview => report::overview(&findings, &last),
        _ => report::status_text(&findings, &last),
    };
    ctx.printer.data(&text);
    analysis::save_analysed_snapshot(ctx.session(), &a);
    analysis::save_state(ctx.session(), &a.config, &a.state);
    Ok(ctx.verdict(&findings))
}
