//! The code scan's contribution to sync: which side tracks each event ("Tracked On") and the
//! pull request that introduced each flag ("Related PR") for `import`, and the whole
//! [`ScanReport`] for the audit's code section.
//!
//! **Invariants.** The scan only ever adds facts: a key the scan does not see leaves those
//! Notion properties as they are. A scan that fails (bad `scan` settings, an unreadable
//! tree, a broken git history) is a warning and yields no facts; it never stops a sync.
//! Scans run off the async runtime's threads.

use std::path::Path;

use kodo_scan::{Kind, ScanOptions, ScanReport, ScanSettings, ScanStats, Side};

use crate::config::Config;
use crate::output::Printer;

use super::normalize::ScanFacts;

/// The scan cache of the repository whose kodo config lives under `config_root`
/// (`.kodo/cache/`), unless `--no-cache`.
pub fn scan_options(config_root: &Path, no_cache: bool) -> ScanOptions {
    ScanOptions {
        cache_dir: (!no_cache).then(|| config_root.join(".kodo").join("cache")),
    }
}

/// Scans with `options` and reports what the cache did: `-v` says how many files were read,
/// a cache that cannot be written is a warning (the scan itself stands).
pub fn scan_logged(
    root: &Path,
    settings: &ScanSettings,
    options: &ScanOptions,
    printer: &Printer,
) -> Result<ScanReport, kodo_scan::ScanError> {
    let (report, stats) = kodo_scan::scan_with(root, settings, options)?;
    log_stats(&stats, printer);
    Ok(report)
}

fn log_stats(stats: &ScanStats, printer: &Printer) {
    if let Some(e) = &stats.cache_error {
        printer.warn(&format!(
            "{e} (the scan is complete; the next one reads every file again)"
        ));
    }
    if printer.verbose > 0 {
        let cache = match &stats.cache {
            kodo_scan::CacheStatus::Disabled => "no cache".to_string(),
            kodo_scan::CacheStatus::Missing => "no cache yet".to_string(),
            kodo_scan::CacheStatus::Ignored(why) => format!("cache ignored: {why}"),
            kodo_scan::CacheStatus::Used => "cache used".to_string(),
        };
        eprintln!(
            "  scan: {cache}; {}; {} files unchanged, {} touched but unchanged, {} read and scanned, {} read again for definitions; {}{}",
            if stats.walk_checked {
                "walk checked against the cache"
            } else {
                "tree walked"
            },
            stats.files_unchanged,
            stats.files_rehashed,
            stats.files_extracted,
            stats.files_read_to_resolve,
            if stats.cross_file_reused {
                "cross-file result reused"
            } else {
                "cross-file stage run"
            },
            if stats.cache_written { "; cache written" } else { "" }
        );
    }
    if printer.verbose > 1 {
        let phases: Vec<String> = stats
            .phases
            .iter()
            .map(|(name, d)| format!("{name} {:.1} ms", d.as_secs_f64() * 1000.0))
            .collect();
        eprintln!("  scan stages: {}", phases.join(", "));
    }
}

/// Scans `root` and annotates the keys with git history (when `root` is in a repository).
/// A git history that cannot be read costs only the Related PR facts, with a warning.
pub fn facts_at(
    root: &Path,
    settings: &ScanSettings,
    options: &ScanOptions,
    printer: &Printer,
) -> Result<ScanFacts, String> {
    let mut report = scan_logged(root, settings, options, printer).map_err(|e| e.to_string())?;
    if !report.skipped.is_empty() {
        printer.warn(&format!(
            "{} Their events and flags are not in Tracked On or Related PR; `kodo scan -v` lists them.",
            kodo_scan::render::skipped_summary(&report.skipped)
        ));
    }
    if let Err(e) = kodo_scan::git::annotate(root, &mut report) {
        printer.warn(&format!(
            "no Related PR information ({e}); Related PR is left as it is"
        ));
    }
    let mut facts = ScanFacts::default();
    for key in report.keys {
        match key.kind {
            Kind::Event => {
                let side = match key.tracked_on {
                    Side::Frontend => "frontend",
                    Side::Backend => "backend",
                    Side::Both => "both",
                };
                facts.tracked_on.insert(key.key, side.to_string());
            }
            Kind::Flag => {
                if let Some(url) = key.pr_url {
                    facts.related_pr.insert(key.key, url);
                }
            }
        }
    }
    Ok(facts)
}

/// What the scan says each event's captures send, for the Properties section: whether the
/// scan reads property keys at all, and per event the keys (with `path:line`) and whether
/// some capture sends keys it cannot see.
pub fn code_properties(
    report: &ScanReport,
) -> (
    bool,
    std::collections::BTreeMap<String, kodo_core::properties::CodeProperties>,
) {
    let mut out: std::collections::BTreeMap<String, kodo_core::properties::CodeProperties> =
        Default::default();
    for key in report.keys.iter().filter(|k| k.kind == Kind::Event) {
        let event = out.entry(key.key.clone()).or_default();
        // Test files exercise the code; what they send is not the product's tracking plan.
        for r in key.references.iter().filter(|r| !r.in_test) {
            match &r.properties {
                Some(set) => {
                    event.open |= set.open;
                    for k in &set.keys {
                        let at = format!("{}:{}", r.path, k.line);
                        let refs = event.keys.entry(k.name.clone()).or_default();
                        if !refs.contains(&at) {
                            refs.push(at);
                            refs.sort();
                        }
                    }
                }
                // The properties argument is out of the scan's sight: anything may be sent.
                None => event.open = true,
            }
        }
    }
    (true, out)
}

/// kodo-scan's report as kodo-core's audit reads it (`kodo_core::code::CodeScan`): the one
/// conversion at the edge, so the pure core does not depend on the scanner.
pub fn code_scan(report: &ScanReport) -> kodo_core::code::CodeScan {
    let reference = |r: &kodo_scan::Reference| kodo_core::code::CodeRef {
        kind: r.kind,
        path: r.path.clone(),
        line: r.line,
        snippet: r.snippet.clone(),
        in_test: r.in_test,
        dynamic_reason: r.dynamic_reason.clone(),
    };
    kodo_core::code::CodeScan {
        files_scanned: report.files_scanned,
        keys: report
            .keys
            .iter()
            .map(|k| kodo_core::code::ScannedKey {
                kind: k.kind,
                key: k.key.clone(),
                references: k.references.iter().map(reference).collect(),
            })
            .collect(),
        dynamic: report.dynamic.iter().map(reference).collect(),
    }
}

/// The scan of the config's repository (no git history: the audit needs none), off the async
/// runtime's threads, with the scan cache unless `no_cache`. The error is the reason, for the
/// report to print.
pub async fn report(
    config: &Config,
    no_cache: bool,
    printer: &Printer,
) -> Result<ScanReport, String> {
    let settings = config.scan.clone();
    let root = config.root.clone();
    let options = scan_options(&config.root, no_cache);
    let printer = printer.clone();
    let scan = move || scan_logged(&root, &settings, &options, &printer);
    match tokio::task::spawn_blocking(scan).await {
        Ok(Ok(report)) => Ok(report),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// The scan of the config's repository, off the async runtime's threads, with the scan cache
/// unless `no_cache`; a failure is a warning and no facts.
pub async fn facts(config: &Config, no_cache: bool, printer: &Printer) -> ScanFacts {
    // The settings were validated when the config was loaded.
    let settings = config.scan.clone();
    let root = config.root.clone();
    let options = scan_options(&config.root, no_cache);
    let scan_printer = printer.clone();
    let joined =
        tokio::task::spawn_blocking(move || facts_at(&root, &settings, &options, &scan_printer))
            .await;
    match joined {
        Ok(Ok(facts)) => facts,
        Ok(Err(e)) => {
            printer.warn(&format!(
                "code scan failed ({e}); Tracked On and Related PR are left as they are"
            ));
            ScanFacts::default()
        }
        Err(e) => {
            printer.warn(&format!("code scan failed ({e})"));
            ScanFacts::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracked_on_comes_from_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("web")).unwrap();
        std::fs::write(
            dir.path().join("web/app.js"),
            "posthog.capture('user_signed_up', {plan: 'pro'})\nif (posthog.isFeatureEnabled('beta_x')) {}\n",
        )
        .unwrap();
        let facts = facts_at(
            dir.path(),
            &ScanSettings::default(),
            &ScanOptions::default(),
            &Printer::silent(),
        )
        .unwrap();
        assert_eq!(
            facts.tracked_on.get("user_signed_up").map(String::as_str),
            Some("frontend")
        );
        // No git history: no PR link, never a guess.
        assert!(facts.related_pr.is_empty());
    }
}
