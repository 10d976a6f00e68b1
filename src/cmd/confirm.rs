//! The question `import` asks before a large or destructive write (issue 13): on a terminal,
//! after the plan, when `--overwrite` is given, when `--archive-orphans` would trash rows, or
//! when more than [`ASK_ABOVE`] writes are planned. `--yes` skips it; a non-terminal (a CI
//! job, a pipe, the Claude Code plugin) never asks, so nothing that runs unattended waits.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context as _;

/// More planned writes than this ask first.
pub const ASK_ABOVE: usize = 50;

/// What decides whether to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    /// The writes the plan makes (creates, updates and, with `--archive-orphans`, archives).
    pub writes: usize,
    /// Of them, rows moved to the trash.
    pub archives: usize,
    pub overwrite: bool,
    /// `--yes`.
    pub yes: bool,
    /// Both stdin (the answer) and stderr (the question) are a terminal.
    pub terminal: bool,
}

/// The question to ask before writing, or `None` when the import goes ahead unasked.
pub fn question(ask: Ask) -> Option<String> {
    if ask.yes || !ask.terminal || ask.writes == 0 {
        return None;
    }
    let mut why = Vec::new();
    if ask.overwrite {
        why.push("--overwrite replaces what people wrote in Notion".to_string());
    }
    if ask.archives > 0 {
        why.push(format!(
            "--archive-orphans moves {} row{} to the trash",
            ask.archives,
            if ask.archives == 1 { "" } else { "s" }
        ));
    }
    if ask.writes > ASK_ABOVE {
        why.push(format!("more than {ASK_ABOVE} writes"));
    }
    if why.is_empty() {
        return None;
    }
    Some(format!(
        "Write these {} change{} to Notion ({})? [y/N] ",
        ask.writes,
        if ask.writes == 1 { "" } else { "s" },
        why.join("; ")
    ))
}

/// Whether an answer is yes: `y` or `yes` in any case; anything else (an empty line, end of
/// input) is no.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Whether this process can ask: stdin and stderr are both a terminal.
pub fn on_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks `prompt` on stderr and reads one line of stdin (even under `-q`: a question is never
/// silenced).
pub async fn ask(prompt: &str) -> anyhow::Result<bool> {
    let prompt = prompt.to_string();
    tokio::task::spawn_blocking(move || {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(prompt.as_bytes());
        let _ = err.flush();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the answer from the terminal")?;
        Ok(is_yes(&line))
    })
    .await
    .context("the confirmation was interrupted")?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(writes: usize) -> Ask {
        Ask {
            writes,
            archives: 0,
            overwrite: false,
            yes: false,
            terminal: true,
        }
    }

    #[test]
    fn a_terminal_is_asked_before_a_large_or_destructive_import() {
        assert_eq!(question(ask(ASK_ABOVE)), None);
        assert_eq!(
            question(ask(ASK_ABOVE + 1)).as_deref(),
            Some("Write these 51 changes to Notion (more than 50 writes)? [y/N] ")
        );
        let overwrite = Ask {
            overwrite: true,
            ..ask(1)
        };
        assert_eq!(
            question(overwrite).as_deref(),
            Some("Write these 1 change to Notion (--overwrite replaces what people wrote in Notion)? [y/N] ")
        );
        let archive = Ask {
            archives: 2,
            ..ask(3)
        };
        assert_eq!(
            question(archive).as_deref(),
            Some("Write these 3 changes to Notion (--archive-orphans moves 2 rows to the trash)? [y/N] ")
        );
        let all = Ask {
            archives: 1,
            overwrite: true,
            ..ask(60)
        };
        let q = question(all).unwrap();
        assert!(
            q.contains("--overwrite")
                && q.contains("1 row to the trash")
                && q.contains("more than 50"),
            "{q}"
        );
    }

    #[test]
    fn yes_a_non_terminal_or_nothing_to_write_never_asks() {
        let big = Ask {
            overwrite: true,
            archives: 3,
            ..ask(500)
        };
        assert!(question(big).is_some());
        assert_eq!(question(Ask { yes: true, ..big }), None);
        assert_eq!(
            question(Ask {
                terminal: false,
                ..big
            }),
            None
        );
        assert_eq!(
            question(Ask {
                writes: 0,
                archives: 0,
                ..big
            }),
            None
        );
    }

    #[test]
    fn only_y_or_yes_is_yes() {
        for yes in ["y", "Y", "yes", " YES\n", "y\r\n"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yep", "sure", "y y"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}
