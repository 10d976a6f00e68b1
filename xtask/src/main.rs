//! See <https://github.com/matklad/cargo-xtask/>.
//!
//! `cargo xtask demo`, `cargo xtask ph-sync ARGS…`, `cargo xtask ci`, `cargo xtask bench`,
//! `cargo xtask eval`.
//! Needs only cargo, plus Node/npm and Python for the parts of `ci` that run the official
//! Notion SDK, Claude Code's plugin validator and the pre-commit framework.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

mod bench_hook;
mod bench_scan;
mod bench_sync;
mod bench_tree;
mod demo;
mod eval;

const HELP: &str = "\
cargo xtask <task>

Tasks:
  demo             the whole product on the emulator's demo scenario and a sample app: status,
                   audit with its code section, import --dry-run, the pre-commit gate, the
                   Claude Code hook (your own PostHog/Notion keys are never used);
                   --keep leaves the sample application on disk
  ph-sync ARGS…    build kodo and run `kodo ph-sync ARGS…` in the current directory
  ci               format check, clippy -D warnings, all tests, the Notion SDK check,
                   cargo package of the published crates, the plugin validation and the
                   pre-commit framework check
  bench [WHAT]     benchmarks (scan, sync, hook or all) into BENCHMARKS.md
  eval [OPTIONS]   the scanner's recall and precision on real apps (eval/labels/, checkouts in
                   $KODO_EVAL_DIR, else target/eval-apps or /work/eval-apps; see eval/README.md)
                   --json (for machines), --app NAME (repeatable), --write (BENCHMARKS.md),
                   --min F (exit 1 if an app's recall or precision is below F),
                   --runs N (scan each app N times to check determinism; default 3)
";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    // The scan benchmark's measuring helper (not a task: see `bench_scan::measure`).
    if task.as_deref() == Some("__measure") {
        return bench_scan::measure(&rest);
    }
    let sh = Shell::new()?;
    match task.as_deref() {
        Some("demo") => demo(&sh, &rest),
        Some("ph-sync") => ph_sync(&sh, &rest),
        Some("ci") => ci(&sh),
        Some("bench") => bench(&sh, &rest),
        Some("eval") => eval_task(&sh, &rest),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => bail!("unknown task `{other}`\n\n{HELP}"),
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `KODO_PREBUILT_BIN_DIR`: a directory whose binaries are already up to date, set by
/// `cargo xtask ci` for its own test run (`cargo test --workspace` builds every binary before
/// any test runs). Without it the demo builds them itself. `cargo test` builds them with the
/// dev-dependencies' features (tokio's test-util, ...), so a `cargo build` inside the demo's
/// test would compile a second copy of half the dependency tree.
fn prebuilt_bins(bins: &[&str]) -> Result<Option<PathBuf>> {
    let Some(dir) = std::env::var_os("KODO_PREBUILT_BIN_DIR").map(PathBuf::from) else {
        return Ok(None);
    };
    for bin in bins {
        if !dir.join(bin).is_file() {
            bail!(
                "KODO_PREBUILT_BIN_DIR={} has no `{bin}`: unset it to let the demo build kodo",
                dir.display()
            );
        }
    }
    Ok(Some(dir))
}

/// Builds the given binaries and returns the directory holding them.
fn build(sh: &Shell, release: bool, bins: &[&str]) -> Result<PathBuf> {
    let cargo = cargo();
    let _dir = sh.push_dir(root());
    let mut args: Vec<String> = vec!["build".into(), "--quiet".into()];
    if release {
        args.push("--release".into());
    }
    // Each binary is its package's namesake (kodo, kodo-sandbox).
    for bin in bins {
        args.extend([
            "--package".into(),
            (*bin).into(),
            "--bin".into(),
            (*bin).into(),
        ]);
    }
    cmd!(sh, "{cargo} {args...}").run()?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    Ok(target.join(if release { "release" } else { "debug" }))
}

fn demo(sh: &Shell, args: &[String]) -> Result<()> {
    let keep = match args {
        [] => false,
        [flag] if flag == "--keep" => true,
        _ => bail!("usage: cargo xtask demo [--keep]"),
    };
    let bin_dir = match prebuilt_bins(&["kodo", "kodo-sandbox"])? {
        Some(dir) => dir,
        None => build(sh, false, &["kodo", "kodo-sandbox"])?,
    };
    let stdout = std::io::stdout();
    demo::run(&bin_dir, keep, &mut stdout.lock())
}

fn ph_sync(sh: &Shell, args: &[String]) -> Result<()> {
    let bin_dir = build(sh, false, &["kodo"])?;
    let status = Command::new(bin_dir.join("kodo"))
        .arg("ph-sync")
        .args(args)
        .status()
        .context("cannot run kodo")?;
    std::process::exit(status.code().unwrap_or(2));
}

fn ci(sh: &Shell) -> Result<()> {
    let cargo = cargo();
    let _dir = sh.push_dir(root());
    step("format");
    cmd!(sh, "{cargo} fmt --all --check").run()?;
    step("clippy");
    cmd!(
        sh,
        "{cargo} clippy --workspace --all-targets --quiet -- -D warnings"
    )
    .run()?;
    step("Notion SDK (npm ci tests/sdk)");
    if !root()
        .join("tests/sdk/node_modules/@notionhq/client")
        .exists()
    {
        cmd!(sh, "npm ci --prefix tests/sdk --no-audit --no-fund").run()?;
    }
    step("tests");
    // Snapshot tests compare, never write: a difference or a missing snapshot fails.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    cmd!(sh, "{cargo} test --workspace --quiet")
        // The demo's test runs the binaries this very command built (see `prebuilt_bins`).
        .env("KODO_PREBUILT_BIN_DIR", target.join("debug"))
        .env("INSTA_UPDATE", "no")
        .env_remove("INSTA_FORCE_PASS")
        .run()?;
    // The manifests are publish-ready: every published crate packages and its package builds
    // on its own (path dependencies carry a version, the library crates have their metadata,
    // nothing outside a crate's `include` is needed). The emulator and xtask are not published.
    // `--allow-dirty`: a developer runs this with uncommitted work; CI's clone is clean.
    step("package (cargo package: kodo and its library crates)");
    cmd!(
        sh,
        "{cargo} package --workspace --exclude kodo-sandbox --exclude xtask --allow-dirty --quiet"
    )
    .run()?;
    let validate = root().join(".ci/validate-plugin.sh");
    if validate.exists() {
        step("plugin validation (claude plugin validate --strict)");
        cmd!(sh, "bash {validate}").run()?;
    }
    let precommit = root().join(".ci/pre-commit-try-repo.sh");
    if precommit.exists() {
        step("pre-commit framework (pre-commit try-repo)");
        cmd!(sh, "bash {precommit}").run()?;
    }
    step("done");
    Ok(())
}

/// Runs the benchmarks and rewrites their sections of BENCHMARKS.md.
fn bench(sh: &Shell, args: &[String]) -> Result<()> {
    let what = args.first().map(String::as_str).unwrap_or("all");
    if !["scan", "sync", "hook", "all"].contains(&what) {
        bail!("unknown benchmark `{what}` (scan, sync, hook or all)");
    }
    // The scan and hook benchmarks need only kodo; the sync one also the emulator.
    let bins: &[&str] = if matches!(what, "sync" | "all") {
        &["kodo", "kodo-sandbox"]
    } else {
        &["kodo"]
    };
    // A release build made beforehand can be measured as it is (`KODO_PREBUILT_BIN_DIR`,
    // as for the demo): rebuilding as `--package kodo` takes many minutes on a loaded machine.
    let bin_dir = match prebuilt_bins(bins)? {
        Some(dir) => dir,
        None => build(sh, true, bins)?,
    };
    let kodo = bin_dir.join("kodo");
    let work = root().join("target/bench");
    std::fs::create_dir_all(&work)?;
    let machine = machine_line();
    if matches!(what, "scan" | "all") {
        step("scanner: kodo scan vs ripgrep");
        let table = bench_scan::run(&work, &kodo, 24_000, &[12_000])?;
        write_section("Scanner", &format!("{machine}\n\n{table}"))?;
    }
    if matches!(what, "hook" | "all") {
        step("pre-commit hook latency");
        let table = bench_hook::run(&kodo, &[5_000, 20_000, 80_000])?;
        write_section("Pre-commit hook", &format!("{machine}\n\n{table}"))?;
    }
    if matches!(what, "sync" | "all") {
        step("sync: import against the emulator's Notion budgets (180 and 600 per window)");
        let table = bench_sync::run(&kodo, &bin_dir.join("kodo-sandbox"), &[50, 500, 2_000])?;
        write_section("Sync", &format!("{machine}\n\n{table}"))?;
    }
    eprintln!("BENCHMARKS.md updated");
    Ok(())
}

/// `cargo xtask eval`: builds kodo and scores its scan of each present checkout.
fn eval_task(sh: &Shell, args: &[String]) -> Result<()> {
    let opts = eval::Options::parse(args)?;
    let bin_dir = build(sh, false, &["kodo"])?;
    if !eval::run(&root(), &bin_dir.join("kodo"), &opts)? {
        eprintln!("an app is below --min");
        std::process::exit(1);
    }
    Ok(())
}

/// The machine the figures come from: cores and CPU model.
fn machine_line() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("Measured on {cores} cores ({model}) by `cargo xtask bench`.")
}

/// Replaces the body of `## {heading}` in BENCHMARKS.md (adding the section if missing).
fn write_section(heading: &str, body: &str) -> Result<()> {
    let path = root().join("BENCHMARKS.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        "# Benchmarks\n\nWritten by `cargo xtask bench`; the numbers are this machine's.\n".into()
    });
    let marker = format!("## {heading}\n");
    let section = format!("{marker}\n{}\n", body.trim_end());
    let new = match text.find(&marker) {
        Some(start) => {
            let after = start + marker.len();
            let end = text[after..]
                .find("\n## ")
                .map_or(text.len(), |i| after + i + 1);
            format!("{}{section}\n{}", &text[..start], &text[end..])
        }
        None => format!("{}\n{section}", text.trim_end().to_string() + "\n"),
    };
    std::fs::write(&path, new.trim_end().to_string() + "\n")?;
    Ok(())
}

fn step(name: &str) {
    eprintln!("\n==> {name}");
}

fn tempdir() -> Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("kodo-demo-{}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
