//! The plain vocabulary shared by the scanner (`kodo-scan`, which finds references) and the
//! pure core (`kodo-core`, which judges them): [`Kind`] and [`display_path`]. No I/O, no
//! dependency but serde, so the core can use it without linking the scanner.

use serde::{Deserialize, Serialize};

/// Whether a key is an event name or a feature-flag key.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An event capture.
    Event,
    /// A feature-flag check.
    Flag,
}

/// A file name as people see it in a terminal or a Markdown report: control characters
/// (a newline, an escape sequence that could rewrite the terminal, a DEL) are written as
/// `\u{1b}`-style escapes, and a backslash as `\\` so an escape cannot be faked.
/// JSON output needs no such care: its encoder escapes them.
pub fn display_path(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.chars().any(|c| c.is_control() || c == '\\') {
        return std::borrow::Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path.len() + 8);
    for c in path.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_backslashes_are_escaped() {
        assert_eq!(display_path("web/a.ts"), "web/a.ts");
        assert_eq!(display_path("a\u{1b}[2Jb\nc"), "a\\u{1b}[2Jb\\u{a}c");
        assert_eq!(display_path("a\\u{1b}"), "a\\\\u{1b}");
        assert_eq!(
            serde_json::to_string(&Kind::Flag).ok().as_deref(),
            Some("\"flag\"")
        );
    }
}
