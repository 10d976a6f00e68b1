//! `kodo ph-sync audit [resource]`: the full discrepancy report. The audit is the import's
//! plan: every finding is a write the import would make (or says why it won't), plus the
//! code section unless `--no-code`.

use crate::cli::SyncFormat;
use crate::model::Resource;
use crate::sync::analysis::{self, Analysis};
use crate::sync::fetch::FetchOptions;
use crate::sync::pages;
use crate::sync::plan::PlanOptions;
use crate::sync::report::{self, Findings};

use super::{Context, Outcome};

/// Reads both sides (and the code, when `judge_code`), and plans as the import would;
/// `hygiene` adds the best-practice section (which reads the Notion users too).
pub(crate) async fn analyse(
    ctx: &Context,
    resources: &[Resource],
    judge_code: bool,
    hygiene: bool,
) -> anyhow::Result<(Analysis, Findings)> {
    let config = ctx.load_config()?;
    let a = analysis::analyse(
        ctx.session(),
        config,
        resources,
        FetchOptions {
            users: hygiene,
            scan: false,
        },
        PlanOptions::default(),
        judge_code,
    )
    .await?;
    let mut findings = Findings::from_plans(&a.plans, &a.inventory.directory);
    findings.code = analysis::code_report(ctx.session(), &a);
    if hygiene {
        findings.hygiene = Some(analysis::hygiene_report(&a));
        // The property keys per capture are the scanner's (kodo-core's code input leaves them
        // out): the scan again, from its cache, when the code is judged.
        let scan = if a.code_scan.is_some() {
            crate::sync::scan::report(&a.config, ctx.session().no_cache, &ctx.printer)
                .await
                .ok()
        } else {
            None
        };
        findings.properties = analysis::property_report(ctx.session(), &a, scan.as_ref()).await;
    }
    Ok((a, findings))
}

pub async fn run(
    ctx: &Context,
    resources: &[Resource],
    format: Option<SyncFormat>,
    judge_code: bool,
) -> anyhow::Result<Outcome> {
    let (a, mut findings) = analyse(ctx, resources, judge_code, true).await?;
    // The tracking-plan page, when configured: a generated section that no longer matches
    // the databases is a finding the import fixes.
    if a.config.notion.tracking_plan.is_some() {
        let rows = pages::all_rows(
            &a.notion,
            &a.config,
            &a.state,
            &a.inventory.notion,
            &ctx.printer,
        )
        .await?;
        // A page kodo has not generated yet is not drift of its section: the first import
        // writes it.
        findings.tracking_plan =
            pages::tracking_plan_status(&a.notion, &a.config, &rows, &a.inventory.directory)
                .await?
                .map(|(status, _)| status)
                .filter(|status| !status.missing);
    }
    let text = match format {
        Some(SyncFormat::Json) => report::audit_json(&findings, &a.now),
        Some(SyncFormat::Csv) => report::audit_csv(&findings),
        Some(SyncFormat::Md) | None => report::audit_markdown(&findings, &a.now),
    };
    ctx.printer.data(&text);
    analysis::save_analysed_snapshot(ctx.session(), &a);
    analysis::save_state(ctx.session(), &a.config, &a.state);
    Ok(ctx.verdict(&findings))
}
