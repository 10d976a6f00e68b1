//! The git pre-commit gate (`kodo hook pre-commit`) and its CI form (`kodo scan --rev-range`):
//! stop a change that adds an undocumented PostHog event or feature flag, where it is cheapest
//! to fix, offline and in milliseconds.
//!
//! Flow: the diff (`git diff --cached`, or the merge base of a range against its tip) → the new
//! and previous contents of the changed files, read with one `git cat-file --batch` → the
//! scanner on those texts only → the references the change adds ([`check`]) → the identifiers
//! they use, resolved across the working tree only when there are any → the documentation
//! ([`crate::lookup`]: the snapshot, or Notion with a short deadline) → findings → a report ([`report`]).
//!
//! **Invariants.**
//! - The cost follows the size of the change, not of the repository: an identifier that a
//!   changed file uses but does not define is looked up in the file it is imported from, and the
//!   repository is walked (prefiltered by the identifiers' bytes) only for a name with no import
//!   to follow.
//! - A repository without `.kodo/config.json` is never blocked: one note, exit 0.
//! - `KODO_SKIP=1` (or `true`/`yes`) skips the hook with a note; git's `--no-verify` skips it
//!   without running kodo at all.
//! - Exit 1 only for a blocking finding (see [`check`]); every other failure (not a git
//!   repository, a broken config) is an error, exit 2.
//! - The human report goes to stderr for the hook (git shows it) and to stdout for
//!   `scan --rev-range`; `--format json` puts the JSON report on stdout in both.

pub mod check;
pub mod git;
pub mod report;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use anyhow::Context as _;
use kodo_scan::{Kind, Reference, ScanSettings};

use crate::config::Config;
use crate::lookup;

use check::{Added, Before, Finding, NewFile, OldFile, Policy, Unscanned};
use git::{FileChange, Git};

/// Set to `1` to skip the hook for one commit: `KODO_SKIP=1 git commit …`.
pub const SKIP_ENV: &str = "KODO_SKIP";

/// What the gate found in one change.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    pub findings: Vec<Finding>,
    /// Things to tell the user whatever the findings (a stale snapshot, Notion unreachable).
    pub notes: Vec<String>,
    /// How many references the change adds.
    pub added: usize,
    /// How many changed files were read.
    pub files: usize,
    /// Changed files that could not be scanned.
    pub unscanned: Vec<Unscanned>,
}

impl Verdict {
    pub fn blocked(&self) -> bool {
        self.findings.iter().any(Finding::blocks) || self.unscanned.iter().any(|u| u.blocks)
    }
}

/// Whether [`SKIP_ENV`] asks to skip the hook.
pub fn skip_requested() -> bool {
    std::env::var(SKIP_ENV).is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// The wrappers a scan of the working tree infers (as `kodo scan` lists them), for the staged
/// files to be scanned with: a staged call of an inferred wrapper is gated with no
/// `scan.wrappers` at all, exactly where `kodo scan` would count it (its language, the files
/// that can see its definition, a hook's bound result `const capture = useCapture()` in its
/// own file), and a wrapper defined in an unchanged file counts. The scan uses (and
/// refreshes) the scan cache when there is one, so only files changed since the last scan are
/// read; the settings stay the configured ones, so the identifier lookups below read that
/// same cache.
fn inferred_wrappers(
    top: &Path,
    settings: &ScanSettings,
    cache: &kodo_scan::ScanOptions,
) -> anyhow::Result<kodo_scan::Inference> {
    if !settings.infer_wrappers {
        return Ok(kodo_scan::Inference::default());
    }
    let (report, _) = kodo_scan::scan_with(top, settings, cache)
        .context("cannot scan the working tree for the project's own wrappers")?;
    Ok(report.inference)
}

/// Checks one change. `new_prefix`/`old_prefix` turn a path into a `git cat-file` object name
/// for the new and the previous side (`:` is the index, `HEAD:` the last commit). `cache` is
/// the scan cache the working-tree lookups read (the scan for inferred wrappers refreshes it).
pub async fn check_change(
    git: &Git,
    top: &Path,
    config: &Config,
    cache: &kodo_scan::ScanOptions,
    changes: &[FileChange],
    new_prefix: &str,
    old_prefix: &str,
) -> anyhow::Result<Verdict> {
    let settings = &config.scan;
    let excluder = settings.path_filter()?;
    // Each side is read by its blob id from the diff (no index or tree lookup); a file whose
    // diff names no new blob and adds no line (a pure rename, a mode change) cannot add a key.
    let spec = |blob: &Option<String>, prefix: &str, path: &str| match blob {
        Some(id) => id.clone(),
        None => format!("{prefix}{path}"),
    };
    let new_side: Vec<(&FileChange, &str)> = changes
        .iter()
        .filter_map(|c| c.new_path.as_deref().map(|p| (c, p)))
        .filter(|(c, p)| !excluder.excluded(p) && (c.new_blob.is_some() || !c.added.is_empty()))
        .collect();
    let old_side: Vec<(&FileChange, &str)> = changes
        .iter()
        .filter_map(|c| c.old_path.as_deref().map(|p| (c, p)))
        .filter(|(c, p)| !excluder.excluded(p) && (c.old_blob.is_some() || !c.added.is_empty()))
        .collect();
    if new_side.is_empty() {
        return Ok(Verdict::default());
    }
    let inference = inferred_wrappers(top, settings, cache)?;
    let specs: Vec<String> = new_side
        .iter()
        .map(|(c, p)| spec(&c.new_blob, new_prefix, p))
        .chain(
            old_side
                .iter()
                .map(|(c, p)| spec(&c.old_blob, old_prefix, p)),
        )
        .collect();
    let blobs = git.read_blobs(&specs)?;
    // A new side that cannot be scanned is reported by name; an old side that cannot is only
    // missing from the comparison (its references count as new, the safe direction).
    let mut unscanned = Vec::new();
    let texts: Vec<Option<String>> = blobs
        .into_iter()
        .enumerate()
        .map(|(i, blob)| {
            let (is_new, path) = match new_side.get(i) {
                Some((_, p)) => (true, *p),
                None => (false, old_side[i - new_side.len()].1),
            };
            let reason = match &blob {
                None => kodo_scan::is_source(path).then_some(kodo_scan::SkipReason::Unreadable),
                Some(bytes) => kodo_scan::skip_reason(path, bytes, settings),
            };
            if let (Some(reason), true) = (reason, is_new) {
                unscanned.push(Unscanned {
                    path: path.to_string(),
                    reason,
                    blocks: config.sync.strict_offline,
                });
            }
            match reason {
                Some(_) => None,
                None => blob.map(|b| String::from_utf8_lossy(&b).into_owned()),
            }
        })
        .collect();
    let (new_texts, old_texts) = texts.split_at(new_side.len());
    let new_files: Vec<NewFile<'_>> = new_side
        .iter()
        .zip(new_texts)
        .filter_map(|((change, path), text)| {
            text.as_deref().map(|text| NewFile {
                path,
                text,
                added: &change.added,
            })
        })
        .collect();
    let old_files: Vec<OldFile<'_>> = old_side
        .iter()
        .zip(old_texts)
        .filter_map(|((_, path), text)| text.as_deref().map(|text| OldFile { path, text }))
        .collect();
    let before = Before::scan(&old_files, settings, &inference);
    let mut added = check::added_references(&new_files, &before, settings, &inference);
    resolve(
        &mut added, &new_files, &before, top, settings, &inference, cache,
    )?;

    let policy = Policy {
        include_builtin_events: config.sync.include_builtin_events,
        strict_offline: config.sync.strict_offline,
        naming: &config.sync.naming,
    };
    let keys = check::keys_to_check(&added, &policy);
    let keys = keys
        .iter()
        .map(|(kind, key)| lookup::code_key(*kind, key))
        .collect();
    let answers = lookup::answer(
        config,
        &keys,
        lookup::Mode::OfflineFirst,
        lookup::LIVE_TIMEOUT,
    )
    .await;
    let mut findings = check::evaluate(&added, &answers, &policy);
    let properties = check::added_properties(&new_files, &before, settings, &inference);
    let adds_flag = added
        .iter()
        .any(|a| a.kind == Kind::Flag && a.key.is_some());
    let snapshot = if adds_flag || !properties.is_empty() {
        crate::snapshot::Snapshot::load(&config.kodo_dir())
            .ok()
            .flatten()
    } else {
        None
    };
    // Flags PostHog no longer serves, as the last run that read PostHog recorded them.
    if let Some(snapshot) = &snapshot {
        check::apply_dead_flags(&mut findings, &added, &snapshot.dead_flags);
    }
    // Properties: judged against the schemas the snapshot holds (offline; an event the
    // snapshot has no schema for is left to the audit).
    if !properties.is_empty() {
        if let Some(snapshot) = &snapshot {
            findings.extend(check::evaluate_properties(
                &properties,
                &snapshot.event_properties,
                config.sync.require_documented_properties,
            ));
            findings.sort_by(|a, b| {
                (&a.path, a.line, a.kind, &a.key, a.severity)
                    .cmp(&(&b.path, b.line, b.kind, &b.key, b.severity))
            });
        }
    }
    Ok(Verdict {
        findings,
        notes: answers.notes,
        added: added.len(),
        files: new_files.len(),
        unscanned,
    })
}

/// Resolves the identifiers that added references use but their file does not define, with
/// the scanner's fast path: a name imported from another file is looked up in just that file,
/// and only a name with no import to follow costs a (prefiltered) walk of the working tree, so a
/// constant in an unstaged or untracked file is found; that walk takes the definitions of files
/// unchanged since the last scan from the scan cache instead of reading them. A reference that resolves to a key the
/// change did not add is dropped; one that does not resolve stays dynamic, with the scanner's
/// reason.
fn resolve(
    added: &mut Vec<Added>,
    new_files: &[NewFile<'_>],
    before: &Before,
    top: &Path,
    settings: &ScanSettings,
    inference: &kodo_scan::Inference,
    cache: &kodo_scan::ScanOptions,
) -> anyhow::Result<()> {
    let pending: BTreeSet<&str> = added
        .iter()
        .filter(|a| a.key.is_none() && a.identifier.is_some())
        .map(|a| a.path.as_str())
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let mut resolved: HashMap<(String, u32, u32, Kind), Reference> = HashMap::new();
    for file in new_files.iter().filter(|f| pending.contains(f.path)) {
        let refs = kodo_scan::scan_file_resolved_inferred(
            top, file.path, file.text, settings, inference, cache,
        )
        .context("cannot resolve the identifiers used as event names or flag keys")?;
        for r in refs {
            resolved.insert((r.path.clone(), r.line, r.column, r.kind), r);
        }
    }
    for a in added.iter_mut() {
        let (None, Some(id)) = (&a.key, &a.identifier) else {
            continue;
        };
        match resolved.get(&(a.path.clone(), a.line, a.column, a.kind)) {
            Some(r) if r.key.is_some() => {
                a.key = r.key.clone();
                a.dynamic_reason = None;
            }
            Some(r) => {
                a.dynamic_reason = r.dynamic_reason.clone();
            }
            None => {
                a.dynamic_reason = Some(format!("unresolved identifier `{id}`"));
            }
        }
    }
    added.retain(|a| match (&a.key, &a.identifier) {
        (Some(key), Some(_)) => !before.had_key(a.kind, key),
        _ => true,
    });
    Ok(())
}
