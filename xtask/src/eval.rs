//! `cargo xtask eval`: the scanner's recall and precision on real applications.
//!
//! Each `eval/labels/<app>.json` names a public repository pinned to a commit and lists, by
//! hand, every PostHog capture and flag check its production code performs (see
//! `eval/README.md` for the labelling rules). For every label file whose checkout is present
//! in the evaluation directory, this runs the built `kodo scan --format json .` in the
//! checkout with zero configuration (a clean environment, the checkout as the working
//! directory), matches what kodo reports against the labels, and prints per app: labels,
//! found, true positives, recall, precision, and the lists of misses and false positives.
//!
//! The evaluation directory is `$KODO_EVAL_DIR`, else the first of `target/eval-apps` (in the
//! workspace) and `/work/eval-apps` that exists. An app whose checkout is missing is skipped
//! with the commands that fetch it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How far (in lines) a reported reference may be from its label and still match it: a
/// multi-line call is reported at its callee by some SDK shapes and at its key by others
/// (a Go `posthog.Capture{` literal, a JSX attribute).
pub const LINE_TOLERANCE: u32 = 3;

/// Version of the `--json` output.
const EVAL_JSON_VERSION: u32 = 1;

/// Event or flag, as in kodo's report.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Event,
    Flag,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Event => "event",
            Kind::Flag => "flag",
        }
    }
}

/// One label file, `eval/labels/<app>.json`.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct LabelFile {
    /// The app's name: the checkout is `<eval dir>/<app>`; equals the file's stem.
    pub app: String,
    /// `owner/name` on GitHub.
    pub repo: String,
    /// The commit the labels describe (40 hex digits).
    pub commit: String,
    /// How to get the repository in this workspace's sandbox (`fetch github:owner/name`).
    pub fetch: String,
    /// The language(s) of the labelled code.
    pub languages: Vec<String>,
    /// What the app is and how it wraps PostHog, for the reader.
    pub description: String,
    /// Globs (repo-relative) that are out of scope: tests, examples, docs. A reference kodo
    /// reports there is neither a true nor a false positive.
    #[serde(default)]
    pub out_of_scope: Vec<String>,
    /// The SDK calls inside the app's own wrappers, whose key is the wrapper's parameter.
    /// They are definitions, not call sites: kodo reporting one as dynamic is not counted.
    #[serde(default)]
    pub wrappers: Vec<WrapperLabel>,
    /// Every capture and flag check in scope.
    pub references: Vec<Label>,
}

/// The SDK call inside a wrapper.
#[derive(Deserialize, Serialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct WrapperLabel {
    pub path: String,
    /// The line of the SDK call inside the wrapper's body.
    pub line: u32,
    pub kind: Kind,
    /// The wrapper as its callers write it (`analytics.capture`, `Telemetry.CaptureEvent`).
    pub wrapper: String,
    /// The wrapper's parameter that carries the key (`event`, `eventName`, positional `0`).
    pub param: String,
}

/// One labelled reference: a capture or flag check the code really performs.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub path: String,
    /// The line of the call (its callee), or of the JSX attribute that carries the key.
    pub line: u32,
    pub kind: Kind,
    /// The event name or flag key; absent when `dynamic` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The key is not statically knowable (a value computed at run time).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dynamic: bool,
    /// How the call reaches PostHog, when through a wrapper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One reference kodo reported.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Found {
    pub path: String,
    pub line: u32,
    pub kind: Kind,
    /// `None` when kodo reported it as dynamic.
    pub key: Option<String>,
    pub sdk: String,
    pub snippet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_reason: Option<String>,
}

/// The outcome of matching one app's references against its labels.
#[derive(Serialize, Debug, Default)]
pub struct Score {
    pub labels: usize,
    /// References kodo reported in scope, less dynamic reports of labelled wrapper bodies.
    pub found: usize,
    pub true_positives: usize,
    /// In-scope references reported as dynamic at a labelled wrapper's SDK call (not counted).
    pub wrapper_bodies: usize,
    /// References kodo reported in out-of-scope files (not counted).
    pub out_of_scope: usize,
    pub misses: Vec<Label>,
    pub false_positives: Vec<Found>,
}

impl Score {
    pub fn recall(&self) -> Option<f64> {
        ratio(self.true_positives, self.labels)
    }
    pub fn precision(&self) -> Option<f64> {
        ratio(self.true_positives, self.found)
    }
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Parses and checks a label file's text; `stem` is the file's name without `.json`.
pub fn parse_labels(text: &str, stem: &str) -> Result<LabelFile> {
    let file: LabelFile = serde_json::from_str(text)?;
    if file.app != stem {
        bail!(
            "`app` is `{}` but the file is `{stem}.json`: they must agree",
            file.app
        );
    }
    if file.commit.len() != 40 || !file.commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("`commit` must be a full 40-hex-digit commit id");
    }
    for (i, label) in file.references.iter().enumerate() {
        match (&label.key, label.dynamic) {
            (Some(_), true) => bail!(
                "references[{i}] ({}:{}) has a `key` and `dynamic: true`: keep one",
                label.path,
                label.line
            ),
            (None, false) => bail!(
                "references[{i}] ({}:{}) has no `key`: give it, or `dynamic: true`",
                label.path,
                label.line
            ),
            _ => {}
        }
        if label.line == 0 {
            bail!(
                "references[{i}] ({}) has line 0: lines are 1-based",
                label.path
            );
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for label in &file.references {
        if !seen.insert((&label.path, label.line, label.kind, &label.key)) {
            bail!(
                "{}:{} is labelled twice with the same kind and key: one call is one reference",
                label.path,
                label.line
            );
        }
    }
    globs(&file.out_of_scope)?;
    Ok(file)
}

fn globs(patterns: &[String]) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        builder.add(Glob::new(p).with_context(|| format!("bad `out_of_scope` glob `{p}`"))?);
    }
    Ok(builder.build()?)
}

/// Every reference in a `kodo scan --format json` report (keyed and dynamic). Only the
/// fields the evaluation needs are read, so additions to the report do not break it.
pub fn found_references(report: &Value) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    let keys = report["keys"]
        .as_array()
        .context("the report has no `keys` array")?;
    for key in keys {
        for r in key["references"].as_array().into_iter().flatten() {
            out.push(found(r)?);
        }
    }
    for r in report["dynamic"]
        .as_array()
        .context("the report has no `dynamic` array")?
    {
        out.push(found(r)?);
    }
    Ok(out)
}

fn found(r: &Value) -> Result<Found> {
    let kind = match r["kind"].as_str() {
        Some("event") => Kind::Event,
        Some("flag") => Kind::Flag,
        other => bail!("a reference has kind {other:?}: expected event or flag"),
    };
    Ok(Found {
        path: r["path"]
            .as_str()
            .context("a reference has no `path`")?
            .to_string(),
        line: r["line"]
            .as_u64()
            .and_then(|l| u32::try_from(l).ok())
            .context("a reference has no `line`")?,
        kind,
        key: r["key"].as_str().map(str::to_string),
        sdk: r["sdk"].as_str().unwrap_or_default().to_string(),
        snippet: r["snippet"].as_str().unwrap_or_default().to_string(),
        dynamic_reason: r["dynamic_reason"].as_str().map(str::to_string),
    })
}

/// Matches `found` against `labels` one to one.
///
/// A reference matches a label when both have the same path, kind and key (or both are
/// dynamic) and their lines differ by at most `tolerance`. Within each (path, kind, key)
/// group the matching has the most pairs and, among those, the closest lines (so a report is
/// credited to the label on its own line rather than to a neighbour's). Found references in
/// `out_of_scope` files are set aside; so are dynamic ones at a labelled wrapper's SDK call
/// that no label claimed.
pub fn score(
    labels: &[Label],
    wrappers: &[WrapperLabel],
    out_of_scope: &GlobSet,
    found: Vec<Found>,
    tolerance: u32,
) -> Score {
    let mut s = Score {
        labels: labels.len(),
        ..Score::default()
    };
    type Group<'a> = (&'a str, Kind, Option<&'a str>);
    let mut in_scope = Vec::new();
    for f in found {
        if out_of_scope.is_match(&f.path) {
            s.out_of_scope += 1;
        } else {
            in_scope.push(f);
        }
    }
    let mut by_group: BTreeMap<Group, Vec<usize>> = BTreeMap::new();
    for (i, f) in in_scope.iter().enumerate() {
        by_group
            .entry((f.path.as_str(), f.kind, f.key.as_deref()))
            .or_default()
            .push(i);
    }
    for idx in by_group.values_mut() {
        idx.sort_by_key(|&i| in_scope[i].line);
    }
    // Labels grouped the same way, each group sorted by line.
    let mut label_groups: BTreeMap<Group, Vec<usize>> = BTreeMap::new();
    for (i, l) in labels.iter().enumerate() {
        let key = if l.dynamic { None } else { l.key.as_deref() };
        label_groups
            .entry((l.path.as_str(), l.kind, key))
            .or_default()
            .push(i);
    }
    let mut matched = vec![false; in_scope.len()];
    let mut label_matched = vec![false; labels.len()];
    for (group, lidx) in label_groups.iter_mut() {
        lidx.sort_by_key(|&i| labels[i].line);
        let Some(fidx) = by_group.get(group) else {
            continue;
        };
        let label_lines: Vec<u32> = lidx.iter().map(|&i| labels[i].line).collect();
        let found_lines: Vec<u32> = fidx.iter().map(|&i| in_scope[i].line).collect();
        for (a, b) in match_lines(&label_lines, &found_lines, tolerance) {
            label_matched[lidx[a]] = true;
            matched[fidx[b]] = true;
            s.true_positives += 1;
        }
    }
    let mut misses: Vec<&Label> = labels
        .iter()
        .zip(&label_matched)
        .filter(|(_, m)| !**m)
        .map(|(l, _)| l)
        .collect();
    misses.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    s.misses = misses.into_iter().cloned().collect();
    for (i, f) in in_scope.into_iter().enumerate() {
        if matched[i] {
            continue;
        }
        let wrapper_body = f.key.is_none()
            && wrappers.iter().any(|w| {
                w.path == f.path && w.kind == f.kind && w.line.abs_diff(f.line) <= tolerance
            });
        if wrapper_body {
            s.wrapper_bodies += 1;
        } else {
            s.false_positives.push(f);
        }
    }
    s.found = s.true_positives + s.false_positives.len();
    s
}

/// A one-to-one matching between two sorted lists of lines, pairing only lines at most
/// `tolerance` apart: the most pairs, and among those the least total distance. Pairs of such
/// a matching never cross, so a dynamic programme over the two sorted lists finds it.
fn match_lines(labels: &[u32], found: &[u32], tolerance: u32) -> Vec<(usize, usize)> {
    let (n, m) = (labels.len(), found.len());
    // best[i][j]: (pairs, -distance) for labels[i..] and found[j..].
    let mut best = vec![vec![(0usize, 0i64); m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let mut b = best[i + 1][j].max(best[i][j + 1]);
            let d = labels[i].abs_diff(found[j]);
            if d <= tolerance {
                let (p, c) = best[i + 1][j + 1];
                b = b.max((p + 1, c - i64::from(d)));
            }
            best[i][j] = b;
        }
    }
    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        let d = labels[i].abs_diff(found[j]);
        if d <= tolerance && {
            let (p, c) = best[i + 1][j + 1];
            (p + 1, c - i64::from(d)) == best[i][j]
        } {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if best[i + 1][j] == best[i][j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

/// Where the checkouts are: `$KODO_EVAL_DIR`, else the first existing default.
pub fn eval_dir(root: &Path) -> (PathBuf, bool) {
    if let Some(dir) = std::env::var_os("KODO_EVAL_DIR") {
        return (PathBuf::from(dir), true);
    }
    let candidates = [
        root.join("target/eval-apps"),
        PathBuf::from("/work/eval-apps"),
    ];
    for c in &candidates {
        if c.is_dir() {
            return (c.clone(), false);
        }
    }
    (candidates[0].clone(), false)
}

/// The command-line options of `cargo xtask eval`.
#[derive(Debug)]
pub struct Options {
    /// How many times kodo scans each app (to check the report is deterministic).
    pub runs: u32,
    pub json: bool,
    pub write: bool,
    pub apps: Vec<String>,
    pub min: Option<f64>,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options> {
        let mut o = Options {
            runs: 3,
            json: false,
            write: false,
            apps: Vec::new(),
            min: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--json" => o.json = true,
                "--write" => o.write = true,
                "--app" => o
                    .apps
                    .push(it.next().context("`--app` needs an app name")?.clone()),
                "--runs" => {
                    let v = it.next().context("`--runs` needs a count, e.g. 3")?;
                    o.runs =
                        v.parse().ok().filter(|n| *n >= 1).with_context(|| {
                            format!("`--runs {v}`: expected a whole number ≥ 1")
                        })?;
                }
                "--min" => {
                    let v = it.next().context("`--min` needs a number, e.g. 0.97")?;
                    let v: f64 = v
                        .parse()
                        .with_context(|| format!("`--min {v}`: not a number"))?;
                    if !(0.0..=1.0).contains(&v) {
                        bail!("`--min {v}`: must be between 0 and 1");
                    }
                    o.min = Some(v);
                }
                other => bail!(
                    "unknown option `{other}` for `cargo xtask eval` \
                     (--json, --write, --app NAME, --min F, --runs N)"
                ),
            }
        }
        Ok(o)
    }
}

/// One app's result.
struct AppResult {
    file: LabelFile,
    score: Score,
    /// The most references by which a later run differed from the first.
    unstable: usize,
}

/// How many references one run reported and the other did not (as multisets of path, line,
/// kind and key).
pub fn run_difference(a: &[Found], b: &[Found]) -> usize {
    let mut counts: BTreeMap<(&str, u32, Kind, Option<&str>), i64> = BTreeMap::new();
    for f in a {
        *counts
            .entry((f.path.as_str(), f.line, f.kind, f.key.as_deref()))
            .or_default() += 1;
    }
    for f in b {
        *counts
            .entry((f.path.as_str(), f.line, f.kind, f.key.as_deref()))
            .or_default() -= 1;
    }
    counts.values().map(|c| c.unsigned_abs() as usize).sum()
}

/// Runs the evaluation; returns whether every evaluated app met `--min` (true without it).
pub fn run(root: &Path, kodo: &Path, opts: &Options) -> Result<bool> {
    let labels_dir = root.join("eval/labels");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&labels_dir)
        .with_context(|| format!("cannot read {}", labels_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let (dir, from_env) = eval_dir(root);
    let mut results = Vec::new();
    let mut skipped = Vec::new();
    let mut known = Vec::new();
    for path in &files {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        known.push(stem.clone());
        if !opts.apps.is_empty() && !opts.apps.contains(&stem) {
            continue;
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file = parse_labels(&text, &stem).with_context(|| format!("in {}", path.display()))?;
        let checkout = dir.join(&file.app);
        if !checkout.is_dir() {
            skipped.push(format!(
                "{app}: no checkout at {c}. Get it with\n    git clone https://github.com/{repo} {c} \
                 && git -C {c} checkout {commit}\n  (in this workspace's sandbox: `{fetch}`, \
                 then `git clone` the mirror to {c})",
                fetch = file.fetch,
                app = file.app,
                c = checkout.display(),
                repo = file.repo,
                commit = file.commit
            ));
            continue;
        }
        let head = git_head(&checkout)?;
        if head != file.commit {
            bail!(
                "{}: the checkout is at {head} but the labels describe {}: run \
                 `git -C {} checkout {}`",
                file.app,
                file.commit,
                checkout.display(),
                file.commit
            );
        }
        // Several runs: the report must not depend on thread scheduling (ARCHITECTURE.md: the
        // scanner's output is deterministic). The first run is the one scored.
        let found = found_references(&run_kodo(kodo, &checkout)?)
            .with_context(|| format!("{}: kodo's report", file.app))?;
        let mut unstable = 0;
        for _ in 1..opts.runs {
            let again = found_references(&run_kodo(kodo, &checkout)?)
                .with_context(|| format!("{}: kodo's report", file.app))?;
            unstable = unstable.max(run_difference(&found, &again));
        }
        let score = score(
            &file.references,
            &file.wrappers,
            &globs(&file.out_of_scope)?,
            found,
            LINE_TOLERANCE,
        );
        results.push(AppResult {
            file,
            score,
            unstable,
        });
    }
    for name in &opts.apps {
        if !known.contains(name) {
            bail!(
                "no label file eval/labels/{name}.json (known: {})",
                known.join(", ")
            );
        }
    }
    for s in &skipped {
        eprintln!("skipped {s}");
    }
    if results.is_empty() {
        println!(
            "no checkouts present in {} ({}): nothing to evaluate. See eval/README.md.",
            dir.display(),
            if from_env {
                "$KODO_EVAL_DIR"
            } else {
                "set KODO_EVAL_DIR to use another directory"
            }
        );
        return Ok(true);
    }
    let kodo_commit = git_head(root).unwrap_or_else(|_| "unknown".into());
    if opts.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&results, &kodo_commit, opts.runs))?
        );
    } else {
        print!("{}", markdown(&results, &dir, true, opts.runs));
    }
    if opts.write {
        let date = today()?;
        let body = format!(
            "Measured by `cargo xtask eval` on {date} at kodo commit `{short}`, with zero \
             configuration (no `.kodo/config.json`, no `scan.wrappers`). Labels: `eval/labels/`, \
             rules: `eval/README.md`; a reference matches its label by path, kind and key within \
             {LINE_TOLERANCE} lines.\n\n{table}\n\
             Labels are every capture and flag check in each app's production code, written by \
             hand, including those made through the app's own wrappers (labelled at the call \
             site); *dynamic* counts labels whose key is only known at run time. *Recall* is the \
             share of labels kodo reports with the right key; *precision* the share of kodo's \
             reports that are labels (dynamic reports of a labelled wrapper's own SDK call are \
             left out of both). Run `cargo xtask eval` for each app's misses, grouped by the \
             wrapper they go through, and its false positives.",
            short = &kodo_commit[..kodo_commit.len().min(10)],
            table = markdown(&results, &dir, false, opts.runs)
        );
        crate::write_section("Scanner evaluation on real apps", &body)?;
        eprintln!("BENCHMARKS.md updated");
    }
    Ok(match opts.min {
        None => true,
        Some(min) => results.iter().all(|r| {
            r.score.recall().unwrap_or(1.0) >= min && r.score.precision().unwrap_or(1.0) >= min
        }),
    })
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "–".into(), |v| format!("{v:.2}"))
}

fn markdown(results: &[AppResult], dir: &Path, details: bool, runs: u32) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "| app | language | commit | labels (events / flags, dynamic) | found | true positives | recall | precision | same in {runs} runs |\n\
         |---|---|---|---:|---:|---:|---:|---:|---|"
    );
    let (mut labels, mut found, mut tp) = (0, 0, 0);
    for r in results {
        let s = &r.score;
        let events = r
            .file
            .references
            .iter()
            .filter(|l| l.kind == Kind::Event)
            .count();
        let dynamic = r.file.references.iter().filter(|l| l.dynamic).count();
        let _ = writeln!(
            md,
            "| [{app}](https://github.com/{repo}) | {lang} | `{commit}` | {n} ({events} / {flags}, {dynamic}) | {found} | {tp} | {recall} | {precision} | {stable} |",
            app = r.file.app,
            repo = r.file.repo,
            lang = r.file.languages.join(", "),
            commit = &r.file.commit[..10],
            n = s.labels,
            flags = s.labels - events,
            found = s.found,
            tp = s.true_positives,
            recall = fmt_ratio(s.recall()),
            precision = fmt_ratio(s.precision()),
            stable = if r.unstable == 0 {
                "yes".to_string()
            } else {
                format!("**no** ({} differ)", r.unstable)
            },
        );
        labels += s.labels;
        found += s.found;
        tp += s.true_positives;
    }
    let _ = writeln!(
        md,
        "| **all** | | | {labels} | {found} | {tp} | {} | {} | |",
        fmt_ratio(ratio(tp, labels)),
        fmt_ratio(ratio(tp, found))
    );
    if !details {
        return md;
    }
    for r in results {
        let s = &r.score;
        let checkout = dir.join(&r.file.app);
        let _ = write!(
            md,
            "\n## {}\n\n{} labels, {} found, {} true positives; set aside: {} dynamic report(s) of \
             labelled wrapper bodies, {} reference(s) in out-of-scope files.\n",
            r.file.app, s.labels, s.found, s.true_positives, s.wrapper_bodies, s.out_of_scope
        );
        if r.unstable > 0 {
            let _ = writeln!(
                md,
                "\n**Not deterministic:** identical runs of `kodo scan` differ by up to {} \
                 reference(s); the figures are the first run's.",
                r.unstable
            );
        }
        if !s.misses.is_empty() {
            let _ = writeln!(md, "\nMisses by route (what kodo would have to follow):\n");
            for (via, n) in misses_by_route(&s.misses) {
                let _ = writeln!(md, "- {n} × {via}");
            }
            let _ = writeln!(md, "\nMisses ({}):\n", s.misses.len());
            for m in &s.misses {
                let key = m
                    .key
                    .as_deref()
                    .map_or("dynamic".into(), |k| format!("`{k}`"));
                let via = m
                    .via
                    .as_deref()
                    .map_or(String::new(), |v| format!(" via `{v}`"));
                let _ = writeln!(
                    md,
                    "- {}:{} {} {key}{via}: `{}`",
                    m.path,
                    m.line,
                    m.kind.as_str(),
                    source_line(&checkout, &m.path, m.line)
                );
            }
        }
        if !s.false_positives.is_empty() {
            let _ = writeln!(md, "\nFalse positives ({}):\n", s.false_positives.len());
            for f in &s.false_positives {
                let key = f.key.as_deref().map_or_else(
                    || format!("dynamic ({})", f.dynamic_reason.as_deref().unwrap_or("?")),
                    |k| format!("`{k}`"),
                );
                let _ = writeln!(
                    md,
                    "- {}:{} {} {key} [{}]: `{}`",
                    f.path,
                    f.line,
                    f.kind.as_str(),
                    f.sdk,
                    f.snippet
                );
            }
        }
    }
    md
}

/// Misses grouped by the route their label names (`via`), most frequent first.
pub fn misses_by_route(misses: &[Label]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for m in misses {
        let via = m.via.clone().unwrap_or_else(|| "a direct SDK call".into());
        *counts.entry(via).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

fn to_json(results: &[AppResult], kodo_commit: &str, runs: u32) -> Value {
    json!({
        "version": EVAL_JSON_VERSION,
        "runs": runs,
        "kodo_commit": kodo_commit,
        "line_tolerance": LINE_TOLERANCE,
        "apps": results.iter().map(|r| json!({
            "app": r.file.app,
            "repo": r.file.repo,
            "commit": r.file.commit,
            "description": r.file.description,
            "labels": r.score.labels,
            "found": r.score.found,
            "true_positives": r.score.true_positives,
            "recall": r.score.recall(),
            "precision": r.score.precision(),
            "wrapper_bodies": r.score.wrapper_bodies,
            "references_differing_between_runs": r.unstable,
            "out_of_scope": r.score.out_of_scope,
            "misses_by_route": misses_by_route(&r.score.misses)
                .into_iter()
                .map(|(via, n)| json!({"via": via, "count": n}))
                .collect::<Vec<_>>(),
            "misses": r.score.misses,
            "false_positives": r.score.false_positives,
        })).collect::<Vec<_>>(),
    })
}

fn source_line(checkout: &Path, path: &str, line: u32) -> String {
    std::fs::read_to_string(checkout.join(path))
        .ok()
        .and_then(|t| {
            t.lines()
                .nth(line.saturating_sub(1) as usize)
                .map(|l| l.trim().chars().take(160).collect())
        })
        .unwrap_or_else(|| "(line not found)".into())
}

fn git_head(dir: &Path) -> Result<String> {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .output()
        .with_context(|| format!("cannot run git in {}", dir.display()))?;
    if !out.status.success() {
        bail!("{} is not a git checkout", dir.display());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs `kodo scan --format json .` in `checkout` with a clean environment: only `PATH`
/// (for git) and a fresh empty `HOME`, so no configuration of ours can be picked up.
fn run_kodo(kodo: &Path, checkout: &Path) -> Result<Value> {
    let home = std::env::temp_dir().join(format!("kodo-eval-home-{}", std::process::id()));
    std::fs::create_dir_all(&home)?;
    let out = Command::new(kodo)
        // --no-git: the commit history (Related PR) is not part of what is evaluated.
        // --no-cache: every run scans afresh (and writes nothing into the checkout), so the
        // runs compare the scanner with itself, not with a cache an older build left.
        .args(["scan", "--format", "json", "--no-git", "--no-cache", "."])
        .current_dir(checkout)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .output()
        .with_context(|| format!("cannot run {}", kodo.display()))?;
    let _ = std::fs::remove_dir_all(&home);
    if !out.status.success() {
        bail!(
            "`kodo scan --format json .` in {} failed ({}): {}",
            checkout.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("kodo scan in {} did not print JSON", checkout.display()))
}

fn today() -> Result<String> {
    let out = Command::new("date").args(["-u", "+%Y-%m-%d"]).output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(path: &str, line: u32, kind: Kind, key: Option<&str>) -> Label {
        Label {
            path: path.into(),
            line,
            kind,
            key: key.map(str::to_string),
            dynamic: key.is_none(),
            via: None,
            note: None,
        }
    }

    fn found(path: &str, line: u32, kind: Kind, key: Option<&str>) -> Found {
        Found {
            path: path.into(),
            line,
            kind,
            key: key.map(str::to_string),
            sdk: "posthog-js".into(),
            snippet: String::new(),
            dynamic_reason: None,
        }
    }

    fn no_globs() -> GlobSet {
        GlobSet::empty()
    }

    #[test]
    fn matches_by_path_kind_key_within_tolerance() {
        let labels = vec![
            label("a.ts", 10, Kind::Event, Some("signup")),
            label("a.ts", 20, Kind::Flag, Some("beta")),
            label("b.py", 5, Kind::Event, None),
        ];
        let found = vec![
            found("a.ts", 12, Kind::Event, Some("signup")), // within 3 lines
            found("a.ts", 20, Kind::Event, Some("beta")),   // wrong kind
            found("b.py", 5, Kind::Event, None),            // dynamic matches dynamic
            found("c.go", 1, Kind::Event, Some("other")),   // unlabelled
        ];
        let s = score(&labels, &[], &no_globs(), found, 3);
        assert_eq!(s.true_positives, 2);
        assert_eq!(s.found, 4);
        assert_eq!(s.misses, vec![labels[1].clone()]);
        assert_eq!(s.false_positives.len(), 2);
        assert_eq!(s.recall(), Some(2.0 / 3.0));
        assert_eq!(s.precision(), Some(0.5));
    }

    #[test]
    fn a_reference_too_far_away_or_with_the_wrong_key_does_not_match() {
        let labels = vec![
            label("a.ts", 10, Kind::Event, Some("signup")),
            label("a.ts", 30, Kind::Event, None),
        ];
        let found = vec![
            found("a.ts", 14, Kind::Event, Some("signup")),
            // A key where the label says dynamic, and vice versa, is a miss and a false positive.
            found("a.ts", 30, Kind::Event, Some("guessed")),
        ];
        let s = score(&labels, &[], &no_globs(), found, 3);
        assert_eq!(s.true_positives, 0);
        assert_eq!(s.misses.len(), 2);
        assert_eq!(s.false_positives.len(), 2);
        assert_eq!(s.recall(), Some(0.0));
    }

    #[test]
    fn matching_is_one_to_one_and_maximal() {
        // Two labels of the same key two lines apart and two reports: the greedy sweep must
        // pair 10↔9 and 12↔13 rather than letting 10 take 13's partner.
        let labels = vec![
            label("a.ts", 10, Kind::Event, Some("x")),
            label("a.ts", 12, Kind::Event, Some("x")),
        ];
        let found_refs = vec![
            found("a.ts", 13, Kind::Event, Some("x")),
            found("a.ts", 9, Kind::Event, Some("x")),
        ];
        let s = score(&labels, &[], &no_globs(), found_refs, 3);
        assert_eq!(s.true_positives, 2);
        assert!(s.misses.is_empty() && s.false_positives.is_empty());
        // A duplicate report of one label is a false positive.
        let labels = vec![label("a.ts", 10, Kind::Event, Some("x"))];
        let dup = vec![
            found("a.ts", 10, Kind::Event, Some("x")),
            found("a.ts", 11, Kind::Event, Some("x")),
        ];
        let s = score(&labels, &[], &no_globs(), dup, 3);
        assert_eq!((s.true_positives, s.found), (1, 2));
    }

    #[test]
    fn a_report_is_credited_to_the_closest_label() {
        // Two labels of one key three lines apart and one report on the second label's line:
        // the second label is the hit, the first the miss.
        let labels = vec![
            label("a.ts", 56, Kind::Flag, Some("f")),
            label("a.ts", 59, Kind::Flag, Some("f")),
        ];
        let s = score(
            &labels,
            &[],
            &no_globs(),
            vec![found("a.ts", 59, Kind::Flag, Some("f"))],
            3,
        );
        assert_eq!(s.true_positives, 1);
        assert_eq!(s.misses[0].line, 56);
        // Closeness never costs a pair: 10 and 13 against 12 and 16 is two pairs (10-12,
        // 13-16), although 13-12 is the closest single pair.
        assert_eq!(match_lines(&[10, 13], &[12, 16], 3), vec![(0, 0), (1, 1)]);
        assert_eq!(match_lines(&[5], &[1, 4, 6], 3), vec![(0, 1)]);
        assert!(match_lines(&[5], &[9], 3).is_empty());
    }

    #[test]
    fn out_of_scope_files_and_dynamic_wrapper_bodies_are_set_aside() {
        let labels = vec![label("src/a.ts", 10, Kind::Event, Some("x"))];
        let wrappers = vec![WrapperLabel {
            path: "lib/analytics.ts".into(),
            line: 21,
            kind: Kind::Event,
            wrapper: "analytics.capture".into(),
            param: "event".into(),
        }];
        let found_refs = vec![
            found("src/a.ts", 10, Kind::Event, Some("x")),
            found("src/a.test.ts", 3, Kind::Event, Some("x")),
            found("lib/analytics.ts", 21, Kind::Event, None),
            // A key resolved at a wrapper body is not set aside: it is a claim to judge.
            found("lib/analytics.ts", 21, Kind::Event, Some("event")),
        ];
        let mut b = GlobSetBuilder::new();
        b.add(Glob::new("**/*.test.ts").unwrap());
        let s = score(&labels, &wrappers, &b.build().unwrap(), found_refs, 3);
        assert_eq!(s.out_of_scope, 1);
        assert_eq!(s.wrapper_bodies, 1);
        assert_eq!(s.found, 2);
        assert_eq!(s.true_positives, 1);
        assert_eq!(s.false_positives[0].key.as_deref(), Some("event"));
    }

    #[test]
    fn misses_are_grouped_by_route_most_frequent_first() {
        let mut a = label("a.ts", 1, Kind::Event, Some("x"));
        a.via = Some("useAnalytics().capture".into());
        let b = label("a.ts", 5, Kind::Event, Some("y"));
        let groups = misses_by_route(&[a.clone(), b, a]);
        assert_eq!(
            groups,
            vec![
                ("useAnalytics().capture".to_string(), 2),
                ("a direct SDK call".to_string(), 1)
            ]
        );
    }

    #[test]
    fn options_are_parsed_and_checked() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let o = Options::parse(&args(&["--app", "aider", "--runs", "5", "--min", "0.97"])).unwrap();
        assert_eq!(
            (o.apps, o.runs, o.min),
            (vec!["aider".to_string()], 5, Some(0.97))
        );
        assert_eq!(Options::parse(&[]).unwrap().runs, 3);
        assert!(Options::parse(&args(&["--runs", "0"])).is_err());
        assert!(Options::parse(&args(&["--min", "1.5"])).is_err());
        assert!(Options::parse(&args(&["--app"])).is_err());
        assert!(Options::parse(&args(&["--bogus"])).is_err());
    }

    #[test]
    fn runs_are_compared_as_multisets() {
        let a = vec![
            found("a.ts", 1, Kind::Event, Some("x")),
            found("a.ts", 1, Kind::Event, Some("x")),
            found("b.ts", 2, Kind::Flag, None),
        ];
        assert_eq!(run_difference(&a, &a), 0);
        let b = vec![
            found("a.ts", 1, Kind::Event, Some("x")),
            found("b.ts", 2, Kind::Flag, Some("f")),
        ];
        // One `x` fewer, the dynamic flag gone, a keyed flag new.
        assert_eq!(run_difference(&a, &b), 3);
    }

    #[test]
    fn no_labels_or_nothing_found_has_no_ratio() {
        let s = score(&[], &[], &no_globs(), vec![], 3);
        assert_eq!((s.recall(), s.precision()), (None, None));
    }

    #[test]
    fn label_files_are_checked() {
        let ok = r#"{"app":"x","repo":"o/x","commit":"0123456789abcdef0123456789abcdef01234567","fetch":"f",
            "languages":["go"],"description":"d",
            "references":[{"path":"a.go","line":3,"kind":"event","key":"k"},
                          {"path":"a.go","line":9,"kind":"flag","dynamic":true}]}"#;
        let f = parse_labels(ok, "x").unwrap();
        assert_eq!(f.references.len(), 2);
        assert!(parse_labels(ok, "y")
            .unwrap_err()
            .to_string()
            .contains("`app` is `x`"));
        let no_key = ok.replace(r#","dynamic":true"#, "");
        let err = parse_labels(&no_key, "x").unwrap_err().to_string();
        assert!(err.contains("has no `key`"), "{err}");
        let both = ok.replace(r#""key":"k""#, r#""key":"k","dynamic":true"#);
        assert!(parse_labels(&both, "x").is_err());
        let typo = ok.replace(r#""kind":"event""#, r#""kind":"event","kee":"k""#);
        assert!(parse_labels(&typo, "x").is_err());
        let short = ok.replace("0123456789abcdef0123456789abcdef01234567", "0123abc");
        assert!(parse_labels(&short, "x").is_err());
    }

    #[test]
    fn the_committed_label_files_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../eval/labels");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let file =
                parse_labels(&text, &stem).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            assert!(
                !file.references.is_empty(),
                "{}: no references",
                path.display()
            );
            n += 1;
        }
        assert!(n >= 4, "the evaluation needs at least four apps, found {n}");
    }

    #[test]
    fn a_label_given_twice_is_an_error() {
        let text = r#"{"app":"x","repo":"o/x","commit":"0123456789abcdef0123456789abcdef01234567","fetch":"f",
            "languages":["go"],"description":"d",
            "references":[{"path":"a.go","line":3,"kind":"event","key":"k"},
                          {"path":"a.go","line":3,"kind":"event","key":"k"}]}"#;
        let err = parse_labels(text, "x").unwrap_err().to_string();
        assert!(err.contains("labelled twice"), "{err}");
    }

    #[test]
    fn reads_keyed_and_dynamic_references_from_a_report() {
        let report = json!({
            "version": 1,
            "keys": [{"kind": "event", "key": "signup", "references": [
                {"path": "a.ts", "line": 3, "column": 1, "snippet": "capture('signup')",
                 "kind": "event", "side": "frontend", "sdk": "posthog-js", "key": "signup",
                 "in_test": false}
            ]}],
            "dynamic": [{"path": "b.go", "line": 7, "column": 2, "snippet": "Enqueue(...)",
                "kind": "event", "side": "backend", "sdk": "posthog-go", "key": null,
                "dynamic_reason": "unresolved identifier `e`"}]
        });
        let f = found_references(&report).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].key.as_deref(), Some("signup"));
        assert_eq!((f[1].line, f[1].key.clone()), (7, None));
        assert!(found_references(&json!({"keys": []})).is_err());
    }
}
