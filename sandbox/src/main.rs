//! The `kodo-sandbox` binary: serves a scenario until killed.
//!
//! Prints exactly one line, `kodo-sandbox listening on http://127.0.0.1:PORT`, once the
//! listener is bound (and after `--write-config` wrote its files); stops cleanly on
//! SIGINT/SIGTERM; exits 2 with a clear message on bad arguments, a bad scenario or a
//! port in use.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kodo_sandbox::{FaultConfig, Options, Sandbox, Scenario};

/// Emulator of the Notion and PostHog APIs for kodo.
#[derive(Debug, Parser)]
#[command(name = "kodo-sandbox", version)]
struct Args {
    /// `demo`, `empty`, or a path to a scenario JSON file.
    #[arg(long, default_value = "demo")]
    scenario: String,
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Notion requests per window (180 on most plans, 600 on Business and Enterprise).
    #[arg(long, default_value_t = 180)]
    notion_budget: u32,
    /// Length of Notion's rate-limit window in seconds (fractions allowed, to scale time).
    #[arg(long, default_value_t = 60.0)]
    notion_window_secs: f64,
    /// Notion's per-workspace limit: requests per workspace window (0 = not enforced).
    #[arg(long, default_value_t = 0)]
    notion_workspace_budget: u32,
    /// Length of the per-workspace window in seconds.
    #[arg(long, default_value_t = 120.0)]
    notion_workspace_window_secs: f64,
    /// Faults, e.g. `429=0.2,5xx=0.05,commit503=0.05,drop=0.05,latency=0-20`.
    #[arg(long, default_value = "")]
    faults: String,
    /// Seed for generated ids and faults.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Rows one Notion query can reach.
    #[arg(long, default_value_t = 10_000)]
    query_row_cap: usize,
    /// Serve PostHog list pages after the first this many items early, as when items are
    /// created mid-listing (0 = off).
    #[arg(long, default_value_t = 0)]
    posthog_list_shift: usize,
    /// PostHog requests per personal API key in any 60 seconds (PostHog: 480).
    #[arg(long, default_value_t = 480)]
    posthog_per_minute: u32,
    /// PostHog requests per personal API key in any hour (PostHog: 4,800).
    #[arg(long, default_value_t = 4_800)]
    posthog_per_hour: u32,
    /// Write DIR/.kodo/config.json and DIR/.env for this sandbox before serving (refused when
    /// either exists, unless --force).
    #[arg(long, value_name = "DIR")]
    write_config: Option<PathBuf>,
    /// With --write-config: replace an existing DIR/.kodo/config.json or DIR/.env.
    #[arg(long, requires = "write_config")]
    force: bool,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("kodo-sandbox: {message}");
    ExitCode::from(2)
}

fn load_scenario(name: &str) -> Result<Scenario, String> {
    if let Some(scenario) = Scenario::builtin(name) {
        return Ok(scenario);
    }
    let text = std::fs::read_to_string(name).map_err(|e| {
        format!("cannot read scenario `{name}` (not `demo`, `empty` or a readable file): {e}")
    })?;
    Scenario::from_json(&text).map_err(|e| format!("{name}: {e}"))
}

/// The files `--write-config DIR` would replace, which only `--force` allows: a real
/// project's config and `.env` (its real tokens) must not be lost to a mistyped directory.
fn existing_config_files(dir: &std::path::Path) -> Vec<PathBuf> {
    [dir.join(".kodo").join("config.json"), dir.join(".env")]
        .into_iter()
        .filter(|p| p.symlink_metadata().is_ok())
        .collect()
}

fn write_config(dir: &std::path::Path, scenario: &Scenario, base_url: &str) -> std::io::Result<()> {
    let kodo_dir = dir.join(".kodo");
    std::fs::create_dir_all(&kodo_dir)?;
    let config = serde_json::to_string_pretty(&scenario.kodo_config(base_url))
        .map_err(std::io::Error::other)?;
    std::fs::write(kodo_dir.join("config.json"), config + "\n")?;
    std::fs::write(
        dir.join(".env"),
        format!(
            "NOTION_API_KEY={}\nPOSTHOG_PERSONAL_API_KEY={}\n",
            scenario.notion_token(),
            scenario.posthog_key()
        ),
    )
}

/// Installs the SIGTERM/Ctrl-C handlers now and returns a future that ends on the first
/// signal. Installed before the "listening" line is printed, so a signal sent as soon as that
/// line is read is never missed (it would otherwise kill the process with the default action).
fn signal_received() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = {
        use tokio::signal::unix::{signal, SignalKind};
        signal(SignalKind::terminate()).ok()
    };
    let ctrl_c = tokio::signal::ctrl_c();
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = ctrl_c.await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if e.use_stderr() => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    let scenario = match load_scenario(&args.scenario) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let faults = match FaultConfig::parse(&args.faults) {
        Ok(f) => f,
        Err(e) => return fail(format!("--faults: {e}")),
    };
    let notion_window = match std::time::Duration::try_from_secs_f64(args.notion_window_secs) {
        Ok(w) if !w.is_zero() => w,
        _ => return fail("--notion-window-secs must be a number of seconds > 0"),
    };
    let notion_workspace_window =
        match std::time::Duration::try_from_secs_f64(args.notion_workspace_window_secs) {
            Ok(w) if !w.is_zero() => w,
            _ => return fail("--notion-workspace-window-secs must be a number of seconds > 0"),
        };
    let options = Options {
        notion_budget: args.notion_budget,
        notion_window,
        notion_workspace_budget: args.notion_workspace_budget,
        notion_workspace_window,
        faults,
        seed: args.seed,
        query_row_cap: args.query_row_cap,
        query_incomplete_only_page: None,
        posthog_list_shift: args.posthog_list_shift,
        posthog_per_minute: args.posthog_per_minute,
        posthog_per_hour: args.posthog_per_hour,
    };
    if let Some(dir) = &args.write_config {
        let existing = existing_config_files(dir);
        if !existing.is_empty() && !args.force {
            let names: Vec<String> = existing
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect();
            return fail(format!(
                "--write-config {}: {} already exist{}; kodo-sandbox will not replace them \
                 (add --force to overwrite, or pick an empty directory)",
                dir.display(),
                names.join(" and "),
                if existing.len() == 1 { "s" } else { "" }
            ));
        }
    }
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let sandbox = match Sandbox::start_on(scenario.clone(), options, addr).await {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            return fail(format!("port {} is already in use", args.port))
        }
        Err(e) => return fail(format!("cannot start: {e}")),
    };
    let base_url = sandbox.base_url();
    if let Some(dir) = &args.write_config {
        if let Err(e) = write_config(dir, &scenario, &base_url) {
            return fail(format!("--write-config {}: {e}", dir.display()));
        }
    }
    let stop = signal_received();
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "kodo-sandbox listening on {base_url}");
    let _ = stdout.flush();
    stop.await;
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}
