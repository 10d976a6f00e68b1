//! Every exit code of every command, in one table: `main` maps each outcome through
//! [`Outcome::code`](crate::cmd::Outcome::code) and every error to [`ERROR`], `--help` ends with
//! [`help`]'s rendering of [`CODES`], and the README's "Exit codes" table holds the same rows
//! (`tests/it/everyday.rs` derives both from this table and from the code's outcomes).

/// One exit code and what it means, worded for the README and `--help` alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitCodeDoc {
    pub code: u8,
    pub meaning: &'static str,
}

/// Success.
pub const SUCCESS: u8 = 0;
/// A check failed (drift with `--check`, a blocked commit, a doctor finding, a declined
/// confirmation), or `kodo hook claude` could not do its work (Claude Code lets the call go).
pub const CHECK_FAILED: u8 = 1;
/// Usage, configuration, authentication or network error (clap's own usage errors exit 2 too),
/// and the Claude Code hook's refusal (Claude Code blocks a tool call on exit 2).
pub const ERROR: u8 = 2;
/// 128 + SIGINT, as a shell reports a process Ctrl-C ended.
pub const INTERRUPTED: u8 = 130;

/// The table, in order of code.
pub const CODES: &[ExitCodeDoc] = &[
    ExitCodeDoc {
        code: SUCCESS,
        meaning: "success",
    },
    ExitCodeDoc {
        code: CHECK_FAILED,
        meaning: "a check failed: drift found with `--check`, a git hook blocked the commit, \
                  `kodo doctor` found a problem, the confirmation `import` asked on a terminal \
                  was declined (nothing written); from `kodo hook claude`, its input or the kodo \
                  config could not be read (Claude Code shows the message and lets the tool call \
                  go ahead)",
    },
    ExitCodeDoc {
        code: ERROR,
        meaning: "usage, configuration, authentication or network error; from `kodo hook \
                  claude`, the refusal of an undocumented create (Claude Code blocks a tool call \
                  on exit 2)",
    },
    ExitCodeDoc {
        code: INTERRUPTED,
        meaning: "interrupted (Ctrl-C): `import` finished the writes in flight, started no \
                  other, and listed what was written and what is left (re-running it is safe); \
                  a second Ctrl-C stops at once",
    },
];

/// The text `kodo --help` and every command's `--help` end with: [`CODES`], each meaning
/// wrapped to `width` columns and indented past the widest code.
pub fn help(width: usize) -> String {
    let code_width = CODES
        .iter()
        .map(|c| c.code.to_string().len())
        .max()
        .unwrap_or(1);
    let indent = 2 + code_width + 2;
    let mut text = String::from("Exit codes (every command):");
    for row in CODES {
        let mut line = format!("\n  {:<code_width$}  ", row.code);
        let mut column = indent;
        let mut first = true;
        for word in words(row.meaning) {
            if !first && column + 1 + word.len() > width {
                line.push('\n');
                line.push_str(&" ".repeat(indent));
                column = indent;
            } else if !first {
                line.push(' ');
                column += 1;
            }
            column += word.chars().count();
            line.push_str(&word);
            first = false;
        }
        text.push_str(&line);
    }
    text
}

/// The words of `text`, a `code span` kept whole so a line never breaks inside it.
fn words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut open = false;
    for word in text.split_whitespace() {
        match words.last_mut() {
            Some(last) if open => {
                last.push(' ');
                last.push_str(word);
            }
            _ => words.push(word.to_string()),
        }
        if word.matches('`').count() % 2 == 1 {
            open = !open;
        }
    }
    words
}

/// The README's table rows for [`CODES`] (`| code | meaning |`), one per line.
pub fn markdown_rows() -> Vec<String> {
    CODES
        .iter()
        .map(|c| format!("| {} | {} |", c.code, c.meaning))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_wraps_within_the_width_and_keeps_every_word() {
        let text = help(60);
        assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
        assert!(
            text.contains("\n  0    success\n  1    a check failed"),
            "{text}"
        );
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            super::words("run `kodo hook claude` now"),
            ["run", "`kodo hook claude`", "now"]
        );
        let expected: Vec<String> = std::iter::once("Exit codes (every command):".to_string())
            .chain(CODES.iter().map(|c| format!("{} {}", c.code, c.meaning)))
            .flat_map(|s| words(&s))
            .collect();
        assert_eq!(words(&text), expected);
        assert!(
            !text.contains("`kodo\n"),
            "a code span broken across lines:\n{text}"
        );
    }

    #[test]
    fn codes_are_unique_and_in_order() {
        assert!(CODES.windows(2).all(|w| w[0].code < w[1].code));
    }
}
