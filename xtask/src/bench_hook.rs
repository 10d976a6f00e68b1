//! `cargo xtask bench` (pre-commit part): times `kodo hook pre-commit` on generated
//! repositories of several sizes with the same 10-file staged change, to show that the hook's
//! cost follows the size of the change, not of the repository.
//!
//! Each repository is deterministic (fixed content, no randomness), committed, and has a kodo
//! config whose Notion URL is a closed loopback port and a fresh `.kodo/snapshot.json` that
//! documents every key it uses, so the hook runs fully offline. It is generated once per size
//! (under `target/bench/`) and reused. Two changes are timed, each staged on a clean tree:
//! - **literal keys**: 5 modified and 5 new files adding 25 captures and flag checks with
//!   literal keys (keys the files did not reference before) (the common case: no repository walk);
//! - **+ imported constant**: the same, plus a capture through a constant defined in an
//!   unchanged file elsewhere, which makes the hook resolve it across the working tree.
//!
//! Every timed run must exit 0 (everything is documented) and report the expected number of
//! added references (`-v`), so the figures are of real work. Median and p90 of 20 runs, after
//! 2 warm-up runs.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

const RUNS: usize = 20;
const WARMUP: usize = 2;
const FILES_PER_DIR: usize = 50;
/// Bump when the generator changes, so a stale tree is not reused.
const GENERATOR_VERSION: u32 = 2;

/// Benchmarks `kodo_bin` (a release build) on repositories of `sizes` files and returns a
/// Markdown table.
pub fn run(kodo_bin: &Path, sizes: &[usize]) -> Result<String> {
    if !kodo_bin.is_file() {
        bail!("{} does not exist: build it first", kodo_bin.display());
    }
    let work = bench_dir(kodo_bin);
    fs::create_dir_all(&work)?;
    let mut md = String::new();
    writeln!(md, "`kodo hook pre-commit` with a fresh snapshot (offline), a 10-file staged change, {RUNS} runs after {WARMUP} warm-ups.\n")?;
    writeln!(
        md,
        "| repository files | staged change | added references | median (ms) | p90 (ms) | `git diff --cached` alone, median (ms) |"
    )?;
    writeln!(md, "|---:|---|---:|---:|---:|---:|")?;
    let mut medians: Vec<(usize, &str, f64)> = Vec::new();
    for &size in sizes {
        let repo = work.join(format!("hook-bench-v{GENERATOR_VERSION}-{size}"));
        generate(&repo, size).with_context(|| format!("generating {}", repo.display()))?;
        for (label, constant) in [
            ("literal keys", Constant::None),
            ("+ imported constant", Constant::Imported),
            ("+ global constant", Constant::Global),
        ] {
            stage_change(&repo, constant)?;
            let expected = if constant == Constant::None { 25 } else { 26 };
            let added = added_references(kodo_bin, &repo)?;
            if added != expected {
                bail!(
                    "the hook saw {added} added references in {}, expected {expected}",
                    repo.display()
                );
            }
            let times = time_runs(kodo_bin, &repo)?;
            let median = percentile(&times, 50);
            let p90 = percentile(&times, 90);
            let git_alone = percentile(&time_git_diff(&repo)?, 50);
            medians.push((size, label, median));
            writeln!(
                md,
                "| {size} | {label} | {added} | {median:.1} | {p90:.1} | {git_alone:.1} |"
            )?;
        }
        reset(&repo)?;
    }
    let literal: Vec<&(usize, &str, f64)> =
        medians.iter().filter(|m| m.1 == "literal keys").collect();
    if let (Some(first), Some(last)) = (literal.first(), literal.last()) {
        if first.0 != last.0 {
            writeln!(
                md,
                "\nLiteral keys: {}× the files, {:.2}× the median time (target: at most 50 ms at 20,000 files). What grows is mostly git reading its index (last column); an imported constant is resolved by reading the file it comes from, and only a name with no import to follow walks the working tree.",
                last.0 / first.0.max(1),
                last.2 / first.2.max(1e-9),
            )?;
        }
    }
    Ok(md)
}

/// `target/bench`, found from the binary's location (`target/release/kodo`).
fn bench_dir(kodo_bin: &Path) -> PathBuf {
    kodo_bin
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("bench"))
        .unwrap_or_else(|| std::env::temp_dir().join("kodo-bench"))
}

fn git(repo: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running git {args:?}"))?;
    if !out.status.success() {
        bail!(
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn event(service: usize, n: usize) -> String {
    format!("svc{service}_event_{n}")
}

fn flag(service: usize) -> String {
    format!("svc{service}-beta")
}

/// Writes and commits the repository unless a previous run left a complete one.
fn generate(repo: &Path, files: usize) -> Result<()> {
    let marker = repo.join(".git/kodo-bench-complete");
    if marker.is_file() {
        return Ok(());
    }
    if repo.exists() {
        fs::remove_dir_all(repo)?;
    }
    fs::create_dir_all(repo.join(".kodo"))?;
    git(repo, &["init", "-q", "-b", "main"])?;
    git(repo, &["config", "user.name", "kodo bench"])?;
    git(repo, &["config", "user.email", "bench@example.com"])?;
    git(repo, &["config", "commit.gpgsign", "false"])?;
    // At least two services: the staged change uses service 1's keys.
    let services = files.div_ceil(FILES_PER_DIR * 4).max(2);
    let mut written = 0usize;
    let mut dir_index = 0usize;
    while written < files {
        let service = dir_index % services;
        let python = dir_index % 3 == 2;
        let dir = if python {
            repo.join(format!("api/svc{service:03}/mod{dir_index:04}"))
        } else {
            repo.join(format!("web/svc{service:03}/mod{dir_index:04}"))
        };
        fs::create_dir_all(&dir)?;
        for k in 0..FILES_PER_DIR {
            if written >= files {
                break;
            }
            let tracked = (written * 7919) % 100 < 5;
            let (name, text) = if python {
                (format!("module{k:03}.py"), py_file(service, k, tracked))
            } else {
                (format!("component{k:03}.ts"), ts_file(service, k, tracked))
            };
            fs::write(dir.join(name), text)?;
            written += 1;
        }
        dir_index += 1;
    }
    // The shared constants the "+ imported constant" change uses.
    fs::create_dir_all(repo.join("shared"))?;
    fs::write(
        repo.join("shared/analytics.ts"),
        "// Event names shared by every service.\nexport const CHECKOUT_COMPLETED = 'checkout_completed'\n",
    )?;
    fs::write(
        repo.join("shared/globals.ts"),
        "// Declared globally for legacy pages.\nconst GLOBAL_CHECKOUT_COMPLETED = 'checkout_completed'\n",
    )?;
    let mut events: Vec<String> = (0..services)
        .flat_map(|s| (0..8).map(move |e| event(s, e)))
        .collect();
    events.push("checkout_completed".into());
    events.sort();
    let flags: Vec<String> = (0..services).map(flag).collect();
    let config = serde_json::json!({
        "posthog": {"project_id": "1"},
        "notion": {"baseUrl": "http://127.0.0.1:9", "databases": {"events": "0000000000004000800000000000e001", "feature_flags": "0000000000004000800000000000f001"}},
    });
    fs::write(
        repo.join(".kodo/config.json"),
        serde_json::to_string_pretty(&config)?,
    )?;
    git(repo, &["add", "-A"])?;
    git(repo, &["commit", "-q", "-m", "generated"])?;
    fs::write(
        repo.join(".git/kodo-bench-events.json"),
        serde_json::to_string(&(events, flags))?,
    )?;
    fs::write(&marker, format!("{files}\n"))?;
    Ok(())
}

/// Writes a snapshot stamped now (so it is fresh) documenting every generated key.
fn write_snapshot(repo: &Path) -> Result<()> {
    let text = fs::read_to_string(repo.join(".git/kodo-bench-events.json"))?;
    let (events, flags): (Vec<String>, Vec<String>) = serde_json::from_str(&text)?;
    let now = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .context("running date")?;
    let snapshot = serde_json::json!({
        "version": 1,
        "generated_at": String::from_utf8_lossy(&now.stdout).trim(),
        "events": events,
        "flags": flags,
        "experiments": [],
        "dashboards": [],
    });
    fs::write(
        repo.join(".kodo/snapshot.json"),
        serde_json::to_string_pretty(&snapshot)?,
    )?;
    Ok(())
}

fn ts_file(service: usize, k: usize, tracked: bool) -> String {
    let mut s = String::with_capacity(2000);
    s.push_str("import posthog from 'posthog-js'\n\n");
    let _ = writeln!(
        s,
        "export interface Item{k} {{\n  id: string\n  title: string\n  price: number\n}}\n"
    );
    for f in 0..5 {
        let _ = writeln!(
            s,
            "export function derive{k}_{f}(items: Item{k}[], query: string): Item{k}[] {{\n  const q = query.trim().toLowerCase()\n  return items.filter((it) => it.title.toLowerCase().includes(q) && it.price > {f})\n}}\n"
        );
    }
    if tracked {
        let _ = writeln!(
            s,
            "export function onOpen{k}(id: string) {{\n  posthog.capture('{}', {{ id }})\n  if (posthog.isFeatureEnabled('{}')) {{\n    posthog.capture('{}')\n  }}\n}}",
            event(service, k % 8),
            flag(service),
            event(service, (k + 1) % 8)
        );
    }
    s
}

fn py_file(service: usize, k: usize, tracked: bool) -> String {
    let mut s = String::with_capacity(1800);
    s.push_str("import logging\n\nimport posthog\n\nlog = logging.getLogger(__name__)\n\n\n");
    for f in 0..5 {
        let _ = writeln!(
            s,
            "def summarize_{k}_{f}(records, limit={f}):\n    \"\"\"Totals for the first `limit` records.\"\"\"\n    total = sum(r.amount for r in records[:limit])\n    log.debug(\"summarized %d records\", len(records))\n    return {{\"total\": total}}\n\n"
        );
    }
    if tracked {
        let _ = writeln!(
            s,
            "def on_open_{k}(user_id):\n    posthog.capture('{}', distinct_id=user_id)\n",
            event(service, k % 8)
        );
    }
    s
}

fn reset(repo: &Path) -> Result<()> {
    git(repo, &["reset", "-q", "--hard", "HEAD"])?;
    git(
        repo,
        &["clean", "-q", "-fd", "--exclude=.kodo/snapshot.json"],
    )?;
    Ok(())
}

/// How the extra capture of a change names its event.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Constant {
    None,
    Imported,
    Global,
}

/// Stages 5 modified and 5 new files with 25 added references (26 with a constant), all of
/// service 1's keys, which the modified files (service 0's) did not reference before.
fn stage_change(repo: &Path, constant: Constant) -> Result<()> {
    reset(repo)?;
    write_snapshot(repo)?;
    let mut paths = Vec::new();
    for i in 0..5 {
        let rel = format!("web/svc000/mod{:04}/component{i:03}.ts", 0);
        let path = repo.join(&rel);
        let mut text = fs::read_to_string(&path).with_context(|| format!("reading {rel}"))?;
        let _ = writeln!(
            text,
            "\nexport function onSave{i}(id: string) {{\n  posthog.capture('{}', {{ id }})\n  posthog.capture('{}')\n}}",
            event(1, i % 8),
            event(1, (i + 3) % 8)
        );
        fs::write(&path, text)?;
        paths.push(rel);
    }
    for i in 0..5 {
        let rel = format!("web/svc000/feature/new{i}.ts");
        let mut text = format!(
            "import posthog from 'posthog-js'\n\nexport function track{i}(id: string) {{\n  posthog.capture('{}', {{ id }})\n  if (posthog.isFeatureEnabled('{}')) {{\n    posthog.capture('{}')\n  }}\n}}\n",
            event(1, i % 8),
            flag(1),
            event(1, 7 - i % 8)
        );
        if i == 0 && constant == Constant::Imported {
            text.insert_str(
                0,
                "import { CHECKOUT_COMPLETED } from '../../../shared/analytics'\n",
            );
            text.push_str("\nexport function done(id: string) {\n  posthog.capture(CHECKOUT_COMPLETED, { id })\n}\n");
        }
        if i == 0 && constant == Constant::Global {
            text.push_str("\nexport function done(id: string) {\n  posthog.capture(GLOBAL_CHECKOUT_COMPLETED, { id })\n}\n");
        }
        let path = repo.join(&rel);
        fs::create_dir_all(path.parent().unwrap_or(repo))?;
        fs::write(&path, text)?;
        paths.push(rel);
    }
    let mut args = vec!["add", "--"];
    args.extend(paths.iter().map(String::as_str));
    git(repo, &args)?;
    Ok(())
}

fn hook_command(kodo_bin: &Path, repo: &Path) -> Command {
    let mut cmd = Command::new(kodo_bin);
    cmd.args(["hook", "pre-commit"])
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("KODO_SKIP")
        .stdin(Stdio::null());
    cmd
}

/// Runs the hook once with `-v` and returns the number of added references it reports.
fn added_references(kodo_bin: &Path, repo: &Path) -> Result<usize> {
    let out = hook_command(kodo_bin, repo).arg("-v").output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("the hook failed in {}: {stderr}", repo.display());
    }
    stderr
        .lines()
        .find_map(|l| {
            l.split_once(" changed file(s) read, ")
                .and_then(|(_, rest)| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
        })
        .with_context(|| format!("the hook did not report what it read: {stderr}"))
}

fn time_runs(kodo_bin: &Path, repo: &Path) -> Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(RUNS);
    for i in 0..WARMUP + RUNS {
        let start = Instant::now();
        let status = hook_command(kodo_bin, repo)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        let elapsed = start.elapsed();
        if !status.success() {
            bail!("the hook exited with {status} in {}", repo.display());
        }
        if i >= WARMUP {
            times.push(elapsed);
        }
    }
    Ok(times)
}

/// `git diff --cached` as the hook runs it, alone: the git part of the hook's time.
fn time_git_diff(repo: &Path) -> Result<Vec<Duration>> {
    let args = [
        "diff",
        "--cached",
        "--no-color",
        "--no-ext-diff",
        "-U0",
        "--full-index",
        "-M",
    ];
    let mut times = Vec::with_capacity(RUNS);
    for i in 0..WARMUP + RUNS {
        let start = Instant::now();
        git(repo, &args)?;
        if i >= WARMUP {
            times.push(start.elapsed());
        }
    }
    Ok(times)
}

/// The `p`th percentile in milliseconds (nearest rank).
fn percentile(times: &[Duration], p: usize) -> f64 {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    if ms.is_empty() {
        return 0.0;
    }
    let rank = (p * ms.len()).div_ceil(100).clamp(1, ms.len());
    ms[rank - 1]
}
