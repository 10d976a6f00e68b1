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
    /// Notion requests per second (average).
    #[arg(long, default_value_t = 3.0)]
    rate_limit: f64,
    /// Notion burst allowance.
    #[arg(long, default_value_t = 10)]
    burst: u32,
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
    /// Write DIR/.kodo/config.json and DIR/.env for this sandbox before serving.
    #[arg(long, value_name = "DIR")]
    write_config: Option<PathBuf>,
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

/// SIGTERM, registered before the "listening" line is printed so that a signal sent right
/// after it is never missed (a handler installed later would let it kill the process).
#[cfg(unix)]
type Terminate = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Terminate = ();

fn register_terminate() -> Terminate {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        signal(SignalKind::terminate()).ok()
    }
}

async fn wait_for_signal(terminate: Terminate) {
    #[cfg(unix)]
    {
        match terminate {
            Some(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let () = terminate;
        let _ = tokio::signal::ctrl_c().await;
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
    if args.rate_limit.is_nan() || args.rate_limit < 0.0 {
        return fail("--rate-limit must be a number >= 0");
    }
    let options = Options {
        rate_limit_per_sec: args.rate_limit,
        burst: args.burst,
        faults,
        seed: args.seed,
        query_row_cap: args.query_row_cap,
        posthog_list_shift: args.posthog_list_shift,
    };
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
    let terminate = register_terminate();
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "kodo-sandbox listening on {base_url}");
    let _ = stdout.flush();
    wait_for_signal(terminate).await;
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}
