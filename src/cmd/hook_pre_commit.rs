//! `kodo hook pre-commit` and `kodo scan --rev-range A..B`: the git pre-commit gate as
//! commands (the gate itself is `crate::hooks::precommit`).

use crate::cli::{ReportFormat, ScanFormat};
use crate::config::{Config, ConfigError};
use crate::hooks::precommit::git::Git;
use crate::hooks::precommit::report::{self, Mode};
use crate::hooks::precommit::{self, SKIP_ENV};
use crate::sync::scan::scan_options;

use super::{Context, Outcome};

/// `kodo hook pre-commit`.
pub async fn run(ctx: &Context, format: Option<ReportFormat>) -> anyhow::Result<Outcome> {
    if precommit::skip_requested() {
        ctx.printer.info(&format!(
            "kodo: {SKIP_ENV} is set, so the check for undocumented events and flags is skipped"
        ));
        return Ok(Outcome::Success);
    }
    match ctx.config_path() {
        Ok(_) => {}
        Err(ConfigError::NotFound { .. }) => {
            ctx.printer.info(
                "kodo: no .kodo/config.json in this repository, so there is nothing to check (run `kodo ph-sync setup` to start)",
            );
            return Ok(Outcome::Success);
        }
        Err(e) => return Err(e.into()),
    }
    let config = ctx.load_config()?;
    let top = Git::new(&ctx.cwd).toplevel()?;
    let git = Git::new(&top);
    let changes = git.staged_diff()?;
    let cache = scan_options(&config.root, ctx.run.no_cache);
    let verdict =
        precommit::check_change(&git, &top, &config, &cache, &changes, ":", "HEAD:").await?;
    if ctx.common.verbose > 0 {
        eprintln!(
            "kodo: {} changed file(s) read, {} added reference(s)",
            verdict.files, verdict.added
        );
    }
    if format == Some(ReportFormat::Json) {
        ctx.printer.data(&report::json(
            &verdict.findings,
            &verdict.notes,
            &verdict.unscanned,
        ));
    } else {
        let mut text = report::human(&verdict.findings, Mode::Hook, &verdict.notes);
        text.push_str(&report::unscanned(&verdict.unscanned, Mode::Hook));
        if !text.is_empty() {
            eprint!("{text}");
        }
    }
    Ok(if verdict.blocked() {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    })
}

/// `kodo scan --rev-range A..B`: the same check over what the commits in the range add
/// (measured from the merge base, as a pull request is), with GitHub Actions annotations when
/// `GITHUB_ACTIONS=true`. Exit 1 when something blocks and `--check` is given.
pub async fn check_rev_range(
    ctx: &Context,
    config: &Config,
    range: &str,
    format: Option<ScanFormat>,
) -> anyhow::Result<Outcome> {
    let top = Git::new(&ctx.cwd).toplevel()?;
    let git = Git::new(&top);
    let (base, tip) = git.range_bounds(range)?;
    let changes = git.range_diff(&base, &tip)?;
    let cache = scan_options(&config.root, ctx.run.no_cache);
    let verdict = precommit::check_change(
        &git,
        &top,
        config,
        &cache,
        &changes,
        &format!("{tip}:"),
        &format!("{base}:"),
    )
    .await?;
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        let annotations = report::github_annotations(&verdict.findings);
        if !annotations.is_empty() {
            ctx.printer.data(&annotations);
        }
    }
    if format == Some(ScanFormat::Json) {
        ctx.printer.data(&report::json(
            &verdict.findings,
            &verdict.notes,
            &verdict.unscanned,
        ));
    } else {
        let mut text = report::human(&verdict.findings, Mode::Range, &verdict.notes);
        text.push_str(&report::unscanned(&verdict.unscanned, Mode::Range));
        if text.is_empty() {
            ctx.printer.info(&format!(
                "kodo: {range} adds {} event or flag reference(s) in {} changed file(s); nothing undocumented",
                verdict.added, verdict.files
            ));
        } else {
            ctx.printer.data(&text);
        }
    }
    Ok(if verdict.blocked() && ctx.run.check {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    })
}
