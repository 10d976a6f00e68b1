//! `kodo scan`: the code scan as a command.
//!
//! Scans a directory (the repository root of the config by default, else the current
//! directory), adds each key's first commit and PR from git history, and prints the report as
//! Markdown, JSON (the stable contract in `crates/scan/README.md`) or SARIF 2.1.0.
//! `--rev-range A..B` is the pre-commit gate's check over a range of commits (for CI).
//! `--check` exits 1 when the code references an event or flag the documentation lacks, or
//! checks a flag PostHog no longer serves (the snapshot's `dead_flags`, recorded by the last
//! run that read PostHog's flags); its SARIF holds just those failures (one `error` result per
//! key: `kodo/undocumented-event`, `kodo/undocumented-flag`, `kodo/dead-flag-check`).
//!
//! **Invariants.** The config is PATH's repository's (searched from PATH up to its repository
//! root), else the current directory's. It is optional for a plain scan (the defaults apply)
//! and only its `scan` section is needed, but a config that exists and is broken is an error.
//! Git history is best-effort: outside a git repository, or without git, the report has no
//! commits and a warning says why.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Context as _;
use kodo_scan::render::CheckRule;
use kodo_scan::{Kind, ScanOptions, ScanReport, ScanSettings};

use crate::cli::{ScanArgs, ScanFormat};
use crate::config::{Config, ConfigError, ScanConfig};
use crate::lookup::{self, Answer, Mode};
use crate::sync::scan::{scan_logged, scan_options};

use super::{Context, Outcome};

pub async fn run(ctx: &Context, args: ScanArgs) -> anyhow::Result<Outcome> {
    let format = args.format.unwrap_or(ScanFormat::Md);
    if let Some(range) = &args.rev_range {
        let config = ctx.load_config()?;
        return super::hook_pre_commit::check_rev_range(ctx, &config, range, args.format).await;
    }
    let explicit = ctx.common.config.is_some();
    let root: PathBuf = match &args.path {
        Some(path) => ctx.cwd.join(path),
        None => ctx.cwd.clone(),
    };
    // `kodo scan PATH` reads PATH's repository config (from PATH up to its repository root).
    let config_path = match (&args.path, explicit) {
        (Some(_), false) if root.is_dir() => crate::config::find(&root),
        _ => ctx.config_path(),
    };
    // Without --config or --check, a repository without kodo config is scanned with defaults;
    // a plain scan needs only the config's `scan` section, `--check` all of it.
    let (scan_config, config) = match config_path {
        Ok(path) if ctx.run.check => {
            let config = Config::load(&path)?;
            for warning in &config.warnings {
                ctx.printer.warn(&warning.0);
            }
            let scan = ScanConfig {
                path: config.path.clone(),
                root: config.root.clone(),
                scan: config.scan.clone(),
                warnings: Vec::new(),
            };
            (Some(scan), Some(config))
        }
        Ok(path) => {
            let scan = ScanConfig::load(&path)?;
            for warning in &scan.warnings {
                ctx.printer.warn(&warning.0);
            }
            (Some(scan), None)
        }
        Err(ConfigError::NotFound { .. }) if !explicit && !ctx.run.check => (None, None),
        Err(e) => return Err(e.into()),
    };
    let root = match (&args.path, &scan_config) {
        (None, Some(config)) => config.root.clone(),
        _ => root,
    };
    if !root.is_dir() {
        anyhow::bail!("`{}` is not a directory", root.display());
    }
    let mut settings: ScanSettings = scan_config
        .as_ref()
        .map(|c| c.scan.clone())
        .unwrap_or_default();
    settings.include_tests |= args.include_tests;
    let with_git = !args.no_git && !args.suggest_config;
    let printer = ctx.printer.clone();
    let scan_root = root.clone();
    // The cache lives in the repository that uses kodo; a directory without kodo config
    // gets no `.kodo/` written into it.
    let options = match &scan_config {
        Some(config) => scan_options(&config.root, ctx.run.no_cache),
        None => ScanOptions::default(),
    };
    let report = tokio::task::spawn_blocking(move || -> anyhow::Result<ScanReport> {
        let mut report = scan_logged(&scan_root, &settings, &options, &printer)
            .with_context(|| format!("cannot scan `{}`", scan_root.display()))?;
        if with_git {
            if let Err(e) = kodo_scan::git::annotate(&scan_root, &mut report) {
                printer.warn(&format!("no Related PR information: {e}"));
            }
        }
        Ok(report)
    })
    .await
    .context("the scan stopped unexpectedly")??;

    report_skipped(ctx, &report.skipped);
    if args.suggest_config {
        ctx.printer.data(&suggested_config(&report));
        return Ok(Outcome::Success);
    }
    // With `--check`, SARIF holds what failed the check (printed once it is known).
    let config = match (ctx.run.check, config) {
        // `--check` was given, so a config exists (a missing one is an error above).
        (true, Some(config)) => config,
        _ => {
            match format {
                ScanFormat::Json => ctx
                    .printer
                    .data_with(|out| kodo_scan::render::write_json(&report, out)),
                ScanFormat::Sarif => ctx.printer.data(&kodo_scan::render::sarif(&report)),
                ScanFormat::Md => ctx.printer.data(&kodo_scan::render::markdown(&report)),
            }
            return Ok(Outcome::Success);
        }
    };
    match format {
        ScanFormat::Json => ctx
            .printer
            .data_with(|out| kodo_scan::render::write_json(&report, out)),
        ScanFormat::Sarif => {}
        ScanFormat::Md => ctx.printer.data(&kodo_scan::render::markdown(&report)),
    }
    let keys: BTreeSet<(Kind, String)> = report
        .keys
        .iter()
        .filter(|k| config.sync.include_builtin_events || !k.key.starts_with('$'))
        .map(|k| (k.kind, k.key.clone()))
        .collect();
    let asked = keys
        .iter()
        .map(|(kind, key)| lookup::code_key(*kind, key))
        .collect();
    let answers = lookup::answer(&config, &asked, Mode::OfflineFirst, lookup::LIVE_TIMEOUT).await;
    for note in &answers.notes {
        ctx.printer.warn(note);
    }
    // Checks of flags PostHog no longer serves, as the last run that read PostHog found them
    // (the snapshot's record): a live bug whether documented or not.
    let dead_flags = match crate::snapshot::load(&config.kodo_dir()) {
        Ok(snapshot) => snapshot.map(|s| s.dead_flags).unwrap_or_default(),
        Err(e) => {
            ctx.printer.warn(&e.to_string());
            Default::default()
        }
    };
    let dead: Vec<(&str, kodo_core::code::DeadState)> = keys
        .iter()
        .filter(|(kind, _)| *kind == Kind::Flag)
        .filter_map(|(_, key)| dead_flags.get(key).map(|state| (key.as_str(), *state)))
        .collect();
    let mut undocumented = Vec::new();
    let mut unknown = 0;
    for (kind, key) in &keys {
        if *kind == Kind::Flag && dead_flags.contains_key(key) {
            continue;
        }
        match answers.get_code(*kind, key) {
            Answer::Documented => {}
            Answer::Undocumented => undocumented.push((*kind, key.as_str())),
            Answer::Unknown => unknown += 1,
        }
    }
    if unknown > 0 {
        anyhow::bail!(
            "cannot check {unknown} key(s) against the documentation: {}\n  hint: run `kodo snapshot refresh` where Notion is reachable",
            answers
                .unknown_reason
                .as_deref()
                .unwrap_or("neither the snapshot nor Notion answered")
        );
    }
    if format == ScanFormat::Sarif {
        let failures: Vec<(CheckRule, Kind, &str)> = undocumented
            .iter()
            .map(|(kind, key)| (CheckRule::undocumented(*kind), *kind, *key))
            .chain(
                dead.iter()
                    .map(|(key, _)| (CheckRule::DeadFlagCheck, Kind::Flag, *key)),
            )
            .collect();
        ctx.printer
            .data(&kodo_scan::render::sarif_check(&report, &failures));
    }
    let first_reference = |kind: Kind, key: &str| {
        report
            .keys
            .iter()
            .find(|k| k.kind == kind && k.key == key)
            .and_then(|k| {
                k.references
                    .iter()
                    .find(|r| !r.in_test)
                    .or(k.references.first())
            })
            .map(|r| format!("{}:{}", kodo_scan::render::display_path(&r.path), r.line))
            .unwrap_or_default()
    };
    if !dead.is_empty() {
        eprintln!("kodo: the code checks flags PostHog no longer serves (a live bug):");
        for (key, state) in &dead {
            eprintln!(
                "  {}  flag  `{key}`  {}",
                first_reference(Kind::Flag, key),
                state.phrase()
            );
        }
        eprintln!("  fix: remove the checks, or restore the flags in PostHog and run `kodo ph-sync status`");
    }
    if undocumented.is_empty() {
        if !dead.is_empty() {
            return Ok(Outcome::CheckFailed);
        }
        ctx.printer.info(&format!(
            "kodo: all {} event and flag keys in the code are documented",
            keys.len()
        ));
        return Ok(Outcome::Success);
    }
    eprintln!("kodo: the code references keys the Notion documentation lacks:");
    for (kind, key) in &undocumented {
        let label = match kind {
            Kind::Event => "event",
            Kind::Flag => "flag",
        };
        eprintln!("  {}  {label}  `{key}`", first_reference(*kind, key));
    }
    eprintln!(
        "  fix: document them in Notion (or `kodo ph-sync import` for keys PostHog already has), then `kodo snapshot refresh`"
    );
    Ok(Outcome::CheckFailed)
}

/// Files the scan could not read are never passed over in silence: a count on stderr, and with
/// `-v` each file and why (the JSON report lists them in `skipped`).
fn report_skipped(ctx: &Context, skipped: &[kodo_scan::Skipped]) {
    if skipped.is_empty() {
        return;
    }
    let summary = kodo_scan::render::skipped_summary(skipped);
    if ctx.common.verbose == 0 {
        ctx.printer
            .warn(&format!("{summary} Run with -v to list them."));
        return;
    }
    ctx.printer.warn(&summary);
    for s in skipped {
        eprintln!(
            "  {}  {}",
            kodo_scan::render::display_path(&s.path),
            s.reason.describe()
        );
    }
}

/// A `scan` section with the inferred wrappers as `scan.wrappers` entries (the keys
/// `.kodo/config.json` accepts), for a team to commit and edit; configured wrappers are kept.
/// A parameter default is carried as `default` when every wrapper the entry stands for has
/// that same default (otherwise a call leaving the argument out stays dynamic, as it is for
/// the wrapper without one).
fn suggested_config(report: &ScanReport) -> String {
    type Entry = (
        String,
        Option<usize>,
        Option<String>,
        Option<usize>,
        Option<String>,
    );
    let mut order: Vec<Entry> = Vec::new();
    let mut defaults: std::collections::HashMap<Entry, Option<String>> = Default::default();
    for w in report.wrappers.iter().filter(|w| w.only_in.is_none()) {
        let entry: Entry = (
            w.call.clone(),
            w.event_arg,
            w.event_key.clone(),
            w.flag_arg,
            w.flag_key.clone(),
        );
        match defaults.get_mut(&entry) {
            Some(agreed) => {
                if *agreed != w.default {
                    *agreed = None;
                }
            }
            None => {
                defaults.insert(entry.clone(), w.default.clone());
                order.push(entry);
            }
        }
    }
    let wrappers: Vec<serde_json::Value> = order
        .into_iter()
        .map(|entry| {
            let default = defaults.remove(&entry).flatten();
            let (call, event_arg, event_key, flag_arg, flag_key) = entry;
            let mut out = serde_json::json!({ "call": call });
            for (key, value) in [
                ("event_arg", event_arg.map(serde_json::Value::from)),
                ("event_key", event_key.map(serde_json::Value::from)),
                ("flag_arg", flag_arg.map(serde_json::Value::from)),
                ("flag_key", flag_key.map(serde_json::Value::from)),
                ("default", default.map(serde_json::Value::from)),
            ] {
                if let Some(v) = value {
                    out[key] = v;
                }
            }
            out
        })
        .collect();
    let doc = serde_json::json!({ "scan": { "wrappers": wrappers } });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}
