//! Where output goes: data on stdout, messages on stderr, progress bars on a terminal only.
//!
//! **Invariants.** Only data (reports, JSON, CSV) is written to stdout, so `--format json` output
//! can be piped. Warnings, logs and progress go to stderr. Progress bars (with an ETA) are drawn
//! only when stderr is a terminal and output is neither quiet nor verbose; elsewhere (a CI log)
//! a long run prints a progress line every few seconds (done/total, rate, ETA; every
//! `KODO_PROGRESS_INTERVAL_MS` milliseconds, 5,000 by default), never under `-q`. `NO_COLOR`
//! turns off colour (kodo's own output carries none, and the bars are drawn without it).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// How often a run on a non-terminal prints a progress line.
    pub progress_every: Duration,
}

/// The environment variable that sets how often (milliseconds) a progress line is printed on
/// a non-terminal; `0` prints one after every step (what the tests use).
pub const PROGRESS_INTERVAL_ENV: &str = "KODO_PROGRESS_INTERVAL_MS";

/// A progress line's default interval.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

fn progress_every() -> Duration {
    std::env::var(PROGRESS_INTERVAL_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(PROGRESS_EVERY, Duration::from_millis)
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
            progress_every: progress_every(),
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
            progress_every: PROGRESS_EVERY,
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

    /// Like [`Printer::data`], for a large document written as it is made (a scan's JSON is
    /// megabytes: not built as one string first). `write` ends it with a newline.
    pub fn data_with(&self, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
        if !self.report {
            return;
        }
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        let _ = write(&mut out).and_then(|()| out.flush());
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

    /// Progress over `len` steps: a bar with an ETA on a terminal, a line every
    /// [`Printer::progress_every`] elsewhere; nothing under `-q`.
    pub fn progress(&self, len: u64, what: &str) -> Progress {
        if self.quiet {
            return Progress::hidden();
        }
        if !self.stderr_is_tty {
            return Progress {
                bar: ProgressBar::hidden(),
                lines: Some(Lines {
                    what: what.to_string(),
                    total: len,
                    start: Instant::now(),
                    every: self.progress_every,
                    state: Mutex::new((0, Instant::now())),
                }),
            };
        }
        if self.verbose > 0 {
            // The request log is the progress.
            return Progress::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        let template = if self.no_color {
            "{prefix} [{bar:30}] {pos}/{len} ETA {eta} {msg}"
        } else {
            "{prefix} [{bar:30.cyan/blue}] {pos}/{len} ETA {eta} {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(what.to_string());
        Progress { bar, lines: None }
    }
}

/// A run's progress: a terminal's bar, or lines for a log.
pub struct Progress {
    bar: ProgressBar,
    lines: Option<Lines>,
}

/// Progress printed as lines: the steps done and when the last line was printed.
struct Lines {
    what: String,
    total: u64,
    start: Instant,
    every: Duration,
    state: Mutex<(u64, Instant)>,
}

impl Progress {
    /// Progress nobody sees.
    pub fn hidden() -> Progress {
        Progress {
            bar: ProgressBar::hidden(),
            lines: None,
        }
    }

    /// What is being done now (the bar shows it).
    pub fn set_message(&self, message: String) {
        self.bar.set_message(message);
    }

    /// `n` more steps done; on a non-terminal, a line when the interval has passed since the
    /// last one (or since the start).
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        let Some(lines) = &self.lines else {
            return;
        };
        let Ok(mut state) = lines.state.lock() else {
            return;
        };
        state.0 += n;
        let now = Instant::now();
        if now.duration_since(state.1) >= lines.every {
            state.1 = now;
            eprintln!(
                "{}",
                progress_line(&lines.what, state.0, lines.total, now - lines.start)
            );
        }
    }

    /// Removes the bar (lines stay in the log).
    pub fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }
}

/// `Writing to Notion: 12/64 (18%), 3.1/s, ETA 17s`: what a log shows of a long run.
pub fn progress_line(what: &str, done: u64, total: u64, elapsed: Duration) -> String {
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    let eta = if done >= total {
        "0s".to_string()
    } else if rate > 0.0 {
        duration_words(Duration::from_secs_f64((total - done) as f64 / rate))
    } else {
        "unknown".to_string()
    };
    format!("{what}: {done}/{total} ({percent}%), {rate:.1}/s, ETA {eta}")
}

/// `45s`, `2m05s`, `1h02m`.
fn duration_words(d: Duration) -> String {
    let s = d.as_secs_f64().ceil() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_line_says_done_of_total_the_rate_and_the_eta() {
        let line = progress_line("Writing to Notion", 12, 64, Duration::from_secs(4));
        assert_eq!(line, "Writing to Notion: 12/64 (18%), 3.0/s, ETA 18s");
        let line = progress_line("Writing to Notion", 64, 64, Duration::from_secs(20));
        assert_eq!(line, "Writing to Notion: 64/64 (100%), 3.2/s, ETA 0s");
        let line = progress_line("Writing", 0, 10, Duration::ZERO);
        assert_eq!(line, "Writing: 0/10 (0%), 0.0/s, ETA unknown");
        let line = progress_line("Writing", 1, 400, Duration::from_secs(1));
        assert_eq!(line, "Writing: 1/400 (0%), 1.0/s, ETA 6m39s");
        let line = progress_line("Writing", 1, 4000, Duration::from_secs(1));
        assert_eq!(line, "Writing: 1/4000 (0%), 1.0/s, ETA 1h06m");
        assert_eq!(
            progress_line("Nothing", 0, 0, Duration::ZERO),
            "Nothing: 0/0 (100%), 0.0/s, ETA 0s"
        );
    }

    #[test]
    fn quiet_shows_no_progress_and_a_log_gets_lines() {
        let mut printer = Printer::silent();
        assert!(printer.progress(3, "x").lines.is_none());
        printer.quiet = false;
        let p = printer.progress(3, "x");
        assert_eq!(p.lines.as_ref().map(|l| l.total), Some(3));
        printer.verbose = 1;
        assert!(printer.progress(3, "x").lines.is_some());
    }
}
