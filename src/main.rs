//! The `kodo` binary: parses arguments, runs the command, maps the outcome to an exit code
//! (the table is [`kodo::exit::CODES`]: 0 ok, 1 a check failed, 2 usage, config, auth or
//! network error, 130 interrupted).

use std::process::ExitCode;

use kodo::app;
use kodo::cli::Cli;

fn main() -> ExitCode {
    // clap prints usage errors itself and exits with 2.
    let cli = Cli::parse_args();
    match app::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(kodo::exit::ERROR)
        }
    }
}
