//! Where output goes: data on stdout, messages on stderr, progress bars on a terminal only.
//!
//! **Invariants.** Only data (reports, JSON, CSV) is written to stdout, so `--format json` output
//! can be piped. Warnings, logs and progress go to stderr. Progress bars are drawn only when
//! stderr is a terminal and output is neither quiet nor verbose; `NO_COLOR` turns off colour
//! (kodo's own output carries none, and the bars are drawn without it).

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A request logger as the API clients take it.
pub use kodo_api::Logger;

#[derive(Clone, Debug)]
pub struct Printer {
    pub quiet: bool,
    pub verbose: u8,
    pub stderr_is_tty: bool,
    pub stdout_is_tty: bool,
    pub no_color: bool,
    /// False under `-q` without an explicit `--format`: the human report is left out too
    /// (errors only); asked-for machine output is still written.
    pub report: bool,
}

impl Printer {
    /// A printer for this process's terminal: `-q` is `quiet`, `-v` counts in `verbose`;
    /// `format_given`: the command line asked for a `--format`.
    pub fn new(quiet: bool, verbose: u8, format_given: bool) -> Printer {
        Printer {
            quiet,
            verbose,
            stderr_is_tty: std::io::stderr().is_terminal(),
            stdout_is_tty: std::io::stdout().is_terminal(),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            report: !quiet || format_given,
        }
    }

    /// A printer that shows no progress and no logs: for tests and for hooks.
    pub fn silent() -> Printer {
        Printer {
            quiet: true,
            verbose: 0,
            stderr_is_tty: false,
            stdout_is_tty: false,
            no_color: true,
            report: true,
        }
    }

    /// Writes data to stdout (not under `-q` without `--format`). A closed pipe
    /// (`kodo … | head`) is not an error.
    pub fn data(&self, text: &str) {
        if !self.report {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// A status line on stderr (suppressed by `-q`).
    pub fn info(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// A warning on stderr (suppressed by `-q`, which prints errors only).
    pub fn warn(&self, text: &str) {
        if !self.quiet {
            eprintln!("warning: {text}");
        }
    }

    /// The request logger for `-v`, if verbose.
    pub fn logger(&self) -> Option<Logger> {
        (self.verbose > 0).then(|| Arc::new(|line: &str| eprintln!("  {line}")) as Logger)
    }

    /// Where the API clients announce a long wait (a retry or a rate-limit pause of more
    /// than a second): stderr, unless `-q` (nothing but errors) or `-v` (the request log
    /// already says it).
    pub fn notice(&self) -> Option<Logger> {
        (!self.quiet && self.verbose == 0)
            .then(|| Arc::new(|line: &str| eprintln!("kodo: {line}")) as Logger)
    }

    /// A progress bar over `len` steps, drawn on a terminal only.
    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        if self.quiet || self.verbose > 0 || !self.stderr_is_tty {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        let template = if self.no_color {
            "{prefix} [{bar:30}] {pos}/{len} {msg}"
        } else {
            "{prefix} [{bar:30.cyan/blue}] {pos}/{len} {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(what.to_string());
        bar
    }
}
