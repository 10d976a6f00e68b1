//! `cargo xtask bench` (scanner part): generates a large synthetic repository, times
//! `kodo scan` against ripgrep searching the same tree for the same call names, and
//! measures kodo's peak memory.
//!
//! The repository is deterministic (a fixed-seed generator): a mix of TS/TSX, Python and Go
//! with realistic filler, about 5% of files capturing events or checking flags (literal keys
//! and constants from per-service `events.*` files), plus look-alike noise
//! (`Sentry.captureException`, the word "capture" in comments) so the prefilter has
//! candidates to reject. It is generated once per size and reused. Each tool runs once to
//! warm the page cache, then three timed runs; the best wall time counts.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Generates (or reuses) a repository of `files` files under `workdir`, benchmarks
/// `kodo_bin` against `rg`, and returns a Markdown table.
///
/// `kodo_bin` is either the `kodo` CLI (run as `kodo scan <dir> --format json`) or the
/// scanner's example binary (run as `scan <dir> --format json`).
pub fn run(workdir: &Path, kodo_bin: &Path, files: usize) -> Result<String> {
    let rg = which("rg").context("ripgrep not found on PATH: run `apt-get install ripgrep`")?;
    if !kodo_bin.is_file() {
        bail!("{} does not exist: build it first", kodo_bin.display());
    }
    // Bump the version when the generator changes, so a stale tree is not reused.
    let repo = workdir.join(format!("scan-bench-v2-{files}"));
    let (n_files, bytes) = generate(&repo, files)?;

    let kodo_args: Vec<String> = {
        let stem = kodo_bin
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut a = Vec::new();
        if stem == "kodo" {
            a.push("scan".to_string());
        }
        a.extend([repo.display().to_string(), "--format".into(), "json".into()]);
        a
    };
    let mut rg_args: Vec<String> = vec!["--no-messages".into(), "-F".into(), "-n".into()];
    for name in kodo_scan::call_names() {
        rg_args.push("-e".into());
        rg_args.push((*name).into());
    }
    rg_args.push(repo.display().to_string());

    // Warm the page cache, and check kodo's output is a real report.
    let out = Command::new(kodo_bin)
        .args(&kodo_args)
        .stderr(Stdio::inherit())
        .output()
        .context("running kodo")?;
    if !out.status.success() {
        bail!("kodo scan failed: {}", out.status);
    }
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("kodo scan did not print JSON")?;
    let keys = report["keys"].as_array().map_or(0, Vec::len);
    let dynamic = report["dynamic"].as_array().map_or(0, Vec::len);
    let references: usize = report["keys"].as_array().map_or(0, |ks| {
        ks.iter()
            .map(|k| k["references"].as_array().map_or(0, Vec::len))
            .sum()
    });
    let scanned = report["files_scanned"].as_u64().unwrap_or(0);
    time_once(&rg, &rg_args)?;

    let kodo_best = best_of(3, kodo_bin, &kodo_args)?;
    let rg_best = best_of(3, &rg, &rg_args)?;
    let kodo_rss = peak_rss_kib(kodo_bin, &kodo_args)?;
    let rg_rss = peak_rss_kib(&rg, &rg_args)?;
    let ratio = kodo_best.as_secs_f64() / rg_best.as_secs_f64().max(1e-9);

    let mut md = String::new();
    // The caller (xtask bench) owns the section heading.
    writeln!(
        md,
        "{n_files} files ({:.1} MiB; TS/TSX, Python, Go), {scanned} scanned by kodo; found {keys} keys, {references} references, {dynamic} dynamic.\n",
        bytes as f64 / 1048576.0
    )?;
    writeln!(md, "| tool | best of 3 (s) | peak RSS (MiB) |")?;
    writeln!(md, "|---|---|---|")?;
    writeln!(
        md,
        "| `{} {}` | {:.3} | {:.1} |",
        kodo_bin.display(),
        kodo_args.first().map_or("", |s| s.as_str()),
        kodo_best.as_secs_f64(),
        kodo_rss as f64 / 1024.0
    )?;
    writeln!(
        md,
        "| `rg -F -n` ({} names) | {:.3} | {:.1} |",
        kodo_scan::call_names().len(),
        rg_best.as_secs_f64(),
        rg_rss as f64 / 1024.0
    )?;
    writeln!(
        md,
        "\nkodo / ripgrep wall time: **{ratio:.2}×** (target ≤ 1.5×)."
    )?;
    Ok(md)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

fn time_once(bin: &Path, args: &[String]) -> Result<Duration> {
    let start = Instant::now();
    let status = Command::new(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("running {}", bin.display()))?;
    let elapsed = start.elapsed();
    // ripgrep exits 1 when nothing matched; anything else is a failure.
    if !status.success() && status.code() != Some(1) {
        bail!("{} failed: {status}", bin.display());
    }
    Ok(elapsed)
}

fn best_of(n: usize, bin: &Path, args: &[String]) -> Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..n {
        best = best.min(time_once(bin, args)?);
    }
    Ok(best)
}

/// Peak resident memory in KiB: `/usr/bin/time -f %M` if present, else polling VmHWM.
fn peak_rss_kib(bin: &Path, args: &[String]) -> Result<u64> {
    let gnu_time = Path::new("/usr/bin/time");
    if gnu_time.is_file() {
        let out_file = std::env::temp_dir().join(format!("kodo-bench-rss-{}", std::process::id()));
        let status = Command::new(gnu_time)
            .args(["-f", "%M", "-o"])
            .arg(&out_file)
            .arg(bin)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if status.success() || status.code() == Some(1) {
            let text = fs::read_to_string(&out_file)?;
            let _ = fs::remove_file(&out_file);
            if let Some(kib) = text
                .lines()
                .filter_map(|l| l.trim().parse::<u64>().ok())
                .next_back()
            {
                return Ok(kib);
            }
        }
    }
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(text) = fs::read_to_string(&status_path) {
            for line in text.lines() {
                if let Some(v) = line.strip_prefix("VmHWM:") {
                    peak = peak.max(v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0));
                }
            }
        }
        if child.try_wait()?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(peak)
}

/// A small deterministic generator (xorshift64*), so the tree is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const FILES_PER_DIR: usize = 100;
const EVENTS_PER_SERVICE: usize = 8;

/// Writes the tree unless a previous run left a complete one; returns (files, bytes).
fn generate(repo: &Path, files: usize) -> Result<(usize, u64)> {
    let marker = repo.join(".bench-complete");
    if let Ok(text) = fs::read_to_string(&marker) {
        if let Some((n, b)) = text.trim().split_once(' ') {
            return Ok((n.parse()?, b.parse()?));
        }
    }
    if repo.exists() {
        fs::remove_dir_all(repo)?;
    }
    fs::create_dir_all(repo)?;
    // Its own repository, so ignore rules of an enclosing checkout do not apply.
    let _ = Command::new("git").arg("init").arg("-q").arg(repo).status();
    fs::write(repo.join(".gitignore"), "node_modules/\n*.log\n")?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut written = 0usize;
    let mut bytes = 0u64;
    let mut dir_index = 0usize;
    while written < files {
        let service = dir_index / 5;
        let lang = match dir_index % 20 {
            0..=8 => "ts",
            9..=14 => "py",
            _ => "go",
        };
        let dir = match lang {
            "ts" => repo.join(format!("web/svc{service:03}/src/mod{dir_index:04}")),
            "py" => repo.join(format!("api/svc{service:03}/app/mod{dir_index:04}")),
            _ => repo.join(format!(
                "services/svc{service:03}/internal/mod{dir_index:04}"
            )),
        };
        fs::create_dir_all(&dir)?;
        // One constants file per directory.
        let consts = constants_file(lang, service);
        let consts_name = match lang {
            "ts" => "events.ts",
            "py" => "events.py",
            _ => "events.go",
        };
        bytes += consts.len() as u64;
        fs::write(dir.join(consts_name), consts)?;
        written += 1;
        for k in 0..FILES_PER_DIR - 1 {
            if written >= files {
                break;
            }
            let tracked = rng.below(100) < 5;
            let noisy = rng.below(100) < 10;
            let (name, text) = match lang {
                "ts" => {
                    let ext = if k % 3 == 0 { "tsx" } else { "ts" };
                    (
                        format!("component{k:03}.{ext}"),
                        ts_file(&mut rng, service, k, tracked, noisy),
                    )
                }
                "py" => (
                    format!("module{k:03}.py"),
                    py_file(&mut rng, service, k, tracked, noisy),
                ),
                _ => (
                    format!("handler{k:03}.go"),
                    go_file(&mut rng, dir_index, service, k, tracked, noisy),
                ),
            };
            bytes += text.len() as u64;
            fs::write(dir.join(name), text)?;
            written += 1;
        }
        dir_index += 1;
    }
    fs::write(&marker, format!("{written} {bytes}\n"))?;
    Ok((written, bytes))
}

fn constants_file(lang: &str, service: usize) -> String {
    let mut s = String::new();
    match lang {
        "ts" => {
            s.push_str("// Analytics event names for this service.\n");
            for e in 0..EVENTS_PER_SERVICE {
                let _ = writeln!(s, "export const EVENT_{e} = 'svc{service}_event_{e}'");
            }
            let _ = writeln!(s, "export const FLAGS = {{\n  beta: 'svc{service}-beta',\n  rollout: 'svc{service}-rollout',\n}} as const");
        }
        "py" => {
            s.push_str("\"\"\"Analytics event names for this service.\"\"\"\n\n");
            for e in 0..EVENTS_PER_SERVICE {
                let _ = writeln!(s, "EVENT_{e} = \"svc{service}_event_{e}\"");
            }
        }
        _ => {
            s.push_str("package events\n\n// Analytics event names for this service.\nconst (\n");
            for e in 0..EVENTS_PER_SERVICE {
                let _ = writeln!(s, "\tEvent{e} = \"svc{service}_event_{e}\"");
            }
            s.push_str(")\n");
        }
    }
    s
}

fn ts_file(rng: &mut Rng, service: usize, k: usize, tracked: bool, noisy: bool) -> String {
    let mut s = String::with_capacity(2600);
    s.push_str("import { useMemo, useState } from 'react'\nimport posthog from 'posthog-js'\nimport { EVENT_1, FLAGS } from './events'\n\n");
    let _ = writeln!(s, "export interface Item{k} {{\n  id: string\n  title: string\n  price: number\n  tags: string[]\n}}\n");
    for f in 0..6 {
        let _ = writeln!(
            s,
            "/**\n * Computes the derived view {f} for the list. Keeps the original order.\n */\nexport function derive{k}_{f}(items: Item{k}[], query: string): Item{k}[] {{\n  const q = query.trim().toLowerCase()\n  const out = items.filter((it) => it.title.toLowerCase().includes(q) && it.price > {f})\n  return out.sort((a, b) => a.price - b.price).slice(0, {})\n}}\n",
            10 + rng.below(90)
        );
    }
    if noisy {
        s.push_str("try {\n  risky()\n} catch (err) {\n  // We capture errors with Sentry, not analytics.\n  Sentry.captureException(err)\n}\n");
    }
    if tracked {
        let e = rng.below(40);
        let _ = writeln!(
            s,
            "\nexport function onOpen{k}(id: string) {{\n  posthog.capture('svc{service}_opened_{e}', {{ id }})\n  posthog.capture(EVENT_1)\n  if (posthog.isFeatureEnabled(FLAGS.beta)) {{\n    posthog.capture(`svc{service}_${{id}}_viewed`)\n  }}\n  return posthog.getFeatureFlag('svc{service}-variant-{e}')\n}}"
        );
    }
    s
}

fn py_file(rng: &mut Rng, service: usize, k: usize, tracked: bool, noisy: bool) -> String {
    let mut s = String::with_capacity(2400);
    s.push_str("import logging\nfrom dataclasses import dataclass\n\nimport posthog\n\nfrom . import events\n\nlog = logging.getLogger(__name__)\n\n\n");
    let _ = writeln!(
        s,
        "@dataclass\nclass Record{k}:\n    id: str\n    amount: int\n    note: str = \"\"\n\n"
    );
    for f in 0..6 {
        let _ = writeln!(
            s,
            "def summarize_{f}(records: list[Record{k}], limit: int = {}) -> dict:\n    \"\"\"Return totals for the first `limit` records (no side effects).\"\"\"\n    total = sum(r.amount for r in records[:limit])\n    notes = [r.note.strip() for r in records if r.note]\n    log.debug(\"summarized %d records\", len(records))\n    return {{\"total\": total, \"notes\": notes, \"kind\": \"{f}\"}}\n\n",
            5 + rng.below(50)
        );
    }
    if noisy {
        s.push_str("def guard(fn):\n    try:\n        return fn()\n    except Exception as exc:  # noqa\n        sentry_sdk.capture_exception(exc)\n\n");
    }
    if tracked {
        let e = rng.below(40);
        let _ = writeln!(
            s,
            "def on_create_{k}(user):\n    posthog.capture(\"svc{service}_created_{e}\", distinct_id=user.id)\n    posthog.capture(events.EVENT_2, distinct_id=user.id)\n    if posthog.feature_enabled(\"svc{service}-py-flag-{e}\", user.id):\n        posthog.capture(f\"svc{service}_{{user.kind}}\", distinct_id=user.id)\n"
        );
    }
    s
}

fn go_file(
    rng: &mut Rng,
    dir_index: usize,
    service: usize,
    k: usize,
    tracked: bool,
    noisy: bool,
) -> String {
    let mut s = String::with_capacity(2400);
    let _ = writeln!(s, "package mod{dir_index:04}\n\nimport (\n\t\"context\"\n\t\"fmt\"\n\t\"strings\"\n\n\t\"github.com/posthog/posthog-go\"\n)\n");
    let _ = writeln!(s, "// Handler{k} serves one endpoint.\ntype Handler{k} struct {{\n\tclient posthog.Client\n\tprefix string\n}}\n");
    for f in 0..6 {
        let _ = writeln!(
            s,
            "// Format{f} renders a row without side effects.\nfunc (h *Handler{k}) Format{f}(ctx context.Context, parts []string) (string, error) {{\n\tif len(parts) > {} {{\n\t\treturn \"\", fmt.Errorf(\"too many parts: %d\", len(parts))\n\t}}\n\treturn h.prefix + strings.Join(parts, \",\"), nil\n}}\n",
            3 + rng.below(30)
        );
    }
    if noisy {
        s.push_str("func recoverPanic() {\n\tif r := recover(); r != nil {\n\t\tsentry.CaptureException(fmt.Errorf(\"%v\", r))\n\t}\n}\n");
    }
    if tracked {
        let e = rng.below(40);
        let _ = writeln!(
            s,
            "func (h *Handler{k}) Track(id string) {{\n\th.client.Enqueue(posthog.Capture{{DistinctId: id, Event: \"svc{service}_handled_{e}\"}})\n\th.client.Enqueue(posthog.Capture{{DistinctId: id, Event: Event3}})\n\tok, _ := h.client.IsFeatureEnabled(posthog.FeatureFlagPayload{{Key: \"svc{service}-go-flag\", DistinctId: id}})\n\t_ = ok\n}}"
        );
    }
    s
}
