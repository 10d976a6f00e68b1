//! The repository's `.env`, read with a standard dotenv parser (the `dotenvy` crate) and only
//! when a token is actually needed.
//!
//! The file usually belongs to the application, not to kodo: it may carry a UTF-8 byte-order
//! mark, multi-line quoted values (a PEM key), `export KEY=…`, keys with dashes, comments, or
//! bytes that are not UTF-8. None of that may stop a command that needs no token (`scan`, the
//! pre-commit gate with a fresh snapshot, the Claude hook for an unrelated tool), so:
//!
//! **Invariants.**
//! - Nothing is read until [`Env::get`] is asked for a variable the process environment does
//!   not set; a set variable always wins over the file.
//! - A line that cannot be read is a warning naming the file and line (and never its value),
//!   and the rest of the file is still read; reading never fails and never panics.
//! - Values are secrets: `Debug` shows only the variable names.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Where [`Env`] reports the lines it could not read.
pub type WarningSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Environment lookup: the process environment first, then the repository's `.env`.
#[derive(Clone, Default)]
pub struct Env {
    /// The `.env` file, if any is to be consulted.
    path: Option<PathBuf>,
    /// Its variables, once read (shared by clones, so it is read at most once).
    loaded: Arc<OnceLock<HashMap<String, String>>>,
    /// Where warnings go; stderr when unset.
    warn: Option<WarningSink>,
}

impl fmt::Debug for Env {
    // Values are secrets: only the variable names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self
            .loaded
            .get()
            .map(|vars| vars.keys().collect())
            .unwrap_or_default();
        names.sort();
        f.debug_struct("Env")
            .field("path", &self.path)
            .field("dotenv_names", &names)
            .finish()
    }
}

impl Env {
    /// The `.env` at `path`, read on first need; a missing file is an empty one.
    pub fn at(path: &Path) -> Env {
        Env {
            path: Some(path.to_path_buf()),
            ..Env::default()
        }
    }

    /// Variables given directly (tests, and callers that already hold them).
    pub fn from_vars(vars: HashMap<String, String>) -> Env {
        let loaded = OnceLock::new();
        let _ = loaded.set(vars);
        Env {
            path: None,
            loaded: Arc::new(loaded),
            warn: None,
        }
    }

    /// Sends the warnings about unreadable lines to `sink` instead of stderr.
    pub fn set_warning_sink(&mut self, sink: WarningSink) {
        self.warn = Some(sink);
    }

    /// The variable's value: a set environment variable wins over `.env`.
    pub fn get(&self, var: &str) -> Option<String> {
        if let Ok(value) = std::env::var(var) {
            return Some(value);
        }
        self.vars().get(var).cloned()
    }

    fn vars(&self) -> &HashMap<String, String> {
        self.loaded.get_or_init(|| {
            let Some(path) = &self.path else {
                return HashMap::new();
            };
            let bytes = match std::fs::read(path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return HashMap::new(),
                Err(e) => {
                    self.warning(&format!(
                        "`{}` cannot be read ({e}); its variables are ignored",
                        path.display()
                    ));
                    return HashMap::new();
                }
            };
            let parsed = parse(path, &bytes);
            for warning in &parsed.warnings {
                self.warning(warning);
            }
            parsed.vars
        })
    }

    fn warning(&self, text: &str) {
        match &self.warn {
            Some(sink) => sink(text),
            None => eprintln!("warning: {text}"),
        }
    }
}

/// What [`parse`] read.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub vars: HashMap<String, String>,
    /// One per line that could not be read: `` `path`:line: why ``, never the value.
    pub warnings: Vec<String>,
}

/// Parses `.env` bytes (`path` only names the file in warnings). dotenvy does the parsing
/// (quotes, escapes, multi-line quoted values, `export`, comments, `${VAR}` substitution);
/// around it kodo strips a byte-order mark, blanks lines that are not UTF-8 (so line numbers
/// stay right), accepts keys with dashes as Node's dotenv does, and turns every line dotenvy
/// rejects into a warning with its line number. The first definition of a key wins, as in
/// dotenvy.
pub fn parse(path: &Path, bytes: &[u8]) -> Parsed {
    let mut warnings = Vec::new();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut text = String::with_capacity(bytes.len());
    for (i, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        match std::str::from_utf8(line) {
            Ok(line) => text.push_str(line),
            Err(_) => {
                warnings.push(format!(
                    "`{}`:{}: not valid UTF-8; the line is ignored",
                    path.display(),
                    i + 1
                ));
                if line.ends_with(b"\n") {
                    text.push('\n');
                }
            }
        }
    }
    let mut vars = HashMap::new();
    // Where the search for the next rejected line's text starts, so each is found once.
    let mut searched_to = 0;
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((key, value)) => {
                vars.entry(key).or_insert(value);
            }
            Err(dotenvy::Error::LineParse(line, _)) => {
                let at = line_start(&text, &line, searched_to);
                if let Some(start) = at {
                    searched_to = start + line.len();
                }
                if let Some((key, value)) = dashed(&line) {
                    vars.entry(key).or_insert(value);
                    continue;
                }
                let number = at.map(|start| text[..start].matches('\n').count() + 1);
                warnings.push(match number {
                    Some(n) => format!(
                        "`{}`:{n}: not a dotenv line (expected KEY=value); the line is ignored",
                        path.display()
                    ),
                    None => format!(
                        "`{}`: a value is not a valid dotenv value (an unterminated quote?); it is ignored",
                        path.display()
                    ),
                });
            }
            Err(e) => warnings.push(format!(
                "`{}`: {e}; the rest of the file is ignored",
                path.display()
            )),
        }
    }
    if warnings.len() > crate::config::LISTED_WARNINGS {
        let more = warnings.len() - crate::config::LISTED_WARNINGS;
        warnings.truncate(crate::config::LISTED_WARNINGS);
        warnings.push(format!(
            "`{}`: and {} more lines that cannot be read are ignored",
            path.display(),
            crate::config::thousands(more)
        ));
    }
    Parsed { vars, warnings }
}

/// The byte offset, at or after `from`, where a line of `text` starts with `line` and `line`
/// ends at a line end, the end of the text, or an inline comment.
fn line_start(text: &str, line: &str, from: usize) -> Option<usize> {
    let mut at = from.min(text.len());
    while let Some(found) = text.get(at..).and_then(|rest| rest.find(line)) {
        let start = at + found;
        let end = start + line.len();
        let starts_line = start == 0 || text.as_bytes()[start - 1] == b'\n';
        let rest = &text[end..];
        // dotenvy cuts a line's text at a ` #` comment, so the text may be followed by
        // whitespace and a comment.
        let ends_line = rest.is_empty()
            || rest.starts_with('\n')
            || rest.starts_with("\r\n")
            || (line.ends_with(char::is_whitespace) && rest.starts_with('#'));
        if starts_line && ends_line {
            return Some(start);
        }
        at = start + line.len().max(1);
        while at < text.len() && !text.is_char_boundary(at) {
            at += 1;
        }
    }
    None
}

/// A line dotenvy rejects only for a dash in its key (`MY-KEY=value`, which Node's dotenv
/// accepts): parsed by dotenvy under a stand-in name.
fn dashed(line: &str) -> Option<(String, String)> {
    let trimmed = line.trim_start();
    let body = trimmed.strip_prefix("export ").unwrap_or(trimmed);
    let (key, rest) = body.split_once('=')?;
    let key = key.trim_end();
    let valid = key.contains('-')
        && key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid {
        return None;
    }
    // Ended by a newline: dotenvy rejects a last line that ends in whitespace without one.
    let stand_in = format!("KODO_DASHED_KEY={rest}\n");
    match dotenvy::from_read_iter(stand_in.as_bytes()).next()? {
        Ok((_, value)) => Some((key.to_string(), value)),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &[u8]) -> Parsed {
        parse(Path::new("/repo/.env"), text)
    }

    fn var(p: &Parsed, key: &str) -> Option<String> {
        p.vars.get(key).cloned()
    }

    #[test]
    fn quotes_export_and_comments() {
        let p = parsed(
            b"# comment\nexport A=\"ntn_a\\\"b\"\nB='phx x' \nC=plain # note\n\n   # indented comment\n",
        );
        assert_eq!(var(&p, "A").as_deref(), Some("ntn_a\"b"));
        assert_eq!(var(&p, "B").as_deref(), Some("phx x"));
        assert_eq!(var(&p, "C").as_deref(), Some("plain"));
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn export_with_an_empty_value() {
        let p = parsed(b"export EMPTY=\nNEXT=1\n");
        assert_eq!(var(&p, "EMPTY").as_deref(), Some(""));
        assert_eq!(var(&p, "NEXT").as_deref(), Some("1"));
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_key() {
        let p = parsed(b"\xEF\xBB\xBFNOTION_API_KEY=ntn_1\r\nOTHER=2\r\n");
        assert_eq!(var(&p, "NOTION_API_KEY").as_deref(), Some("ntn_1"));
        assert_eq!(var(&p, "OTHER").as_deref(), Some("2"));
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn a_multi_line_quoted_pem_key_is_one_value_and_later_lines_still_count() {
        let p = parsed(
            b"APP_KEY=\"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\"\nNOTION_API_KEY=ntn_2\n",
        );
        assert_eq!(
            var(&p, "APP_KEY").as_deref(),
            Some("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----")
        );
        assert_eq!(var(&p, "NOTION_API_KEY").as_deref(), Some("ntn_2"));
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn keys_with_dashes_are_read() {
        let p = parsed(
            b"MY-APP-SECRET=\"x y\"\nexport SOME-FLAG=on\nWITH-COMMENT=v # note\nNOTION_API_KEY=ntn_3\n",
        );
        assert_eq!(var(&p, "WITH-COMMENT").as_deref(), Some("v"));
        assert_eq!(var(&p, "MY-APP-SECRET").as_deref(), Some("x y"));
        assert_eq!(var(&p, "SOME-FLAG").as_deref(), Some("on"));
        assert_eq!(var(&p, "NOTION_API_KEY").as_deref(), Some("ntn_3"));
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn a_malformed_line_is_a_warning_with_its_line_and_the_rest_is_read() {
        let p = parsed(b"A=1\nnot a pair\nB=2\n=nokey\nC=3\n");
        assert_eq!(var(&p, "A").as_deref(), Some("1"));
        assert_eq!(var(&p, "B").as_deref(), Some("2"));
        assert_eq!(var(&p, "C").as_deref(), Some("3"));
        assert_eq!(
            p.warnings,
            [
                "`/repo/.env`:2: not a dotenv line (expected KEY=value); the line is ignored",
                "`/repo/.env`:4: not a dotenv line (expected KEY=value); the line is ignored",
            ]
        );
    }

    #[test]
    fn a_rejected_line_with_an_inline_comment_still_has_its_number() {
        let p = parsed(b"A=1\n9BAD=x # why\n");
        assert_eq!(
            p.warnings,
            ["`/repo/.env`:2: not a dotenv line (expected KEY=value); the line is ignored"]
        );
    }

    #[test]
    fn the_same_bad_text_twice_is_reported_at_each_line() {
        let p = parsed(b"oops\nA=1\noops\n");
        assert_eq!(p.warnings.len(), 2);
        assert!(p.warnings[0].contains(":1:"), "{:?}", p.warnings);
        assert!(p.warnings[1].contains(":3:"), "{:?}", p.warnings);
    }

    #[test]
    fn invalid_utf8_blanks_only_its_line() {
        let p = parsed(b"A=1\nB=\xFF\xFEbad\nC=3\n");
        assert_eq!(var(&p, "A").as_deref(), Some("1"));
        assert_eq!(var(&p, "B"), None);
        assert_eq!(var(&p, "C").as_deref(), Some("3"));
        assert_eq!(
            p.warnings,
            ["`/repo/.env`:2: not valid UTF-8; the line is ignored"]
        );
    }

    #[test]
    fn an_unterminated_quote_is_a_warning_not_an_error() {
        let p = parsed(b"A=1\nB=\"never closed\nC=3\n");
        assert_eq!(var(&p, "A").as_deref(), Some("1"));
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        assert!(
            !p.warnings[0].contains("never closed"),
            "no value in warnings"
        );
    }

    #[test]
    fn many_bad_lines_are_summarised() {
        let p = parsed("bad line\n".repeat(1234).as_bytes());
        assert_eq!(p.warnings.len(), crate::config::LISTED_WARNINGS + 1);
        assert_eq!(
            p.warnings.last().map(String::as_str),
            Some("`/repo/.env`: and 1,224 more lines that cannot be read are ignored")
        );
    }

    #[test]
    fn warnings_never_carry_values() {
        let p = parsed(b"SECRET ntn_very_secret_value\n");
        assert_eq!(p.warnings.len(), 1);
        assert!(
            !p.warnings[0].contains("ntn_very_secret"),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn nothing_is_read_until_a_variable_is_needed_and_a_set_variable_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "PATH=from-dotenv\nKODO_TEST_LAZY_ONLY_IN_FILE=yes\n").unwrap();
        let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let mut env = Env::at(&path);
        let sink = Arc::clone(&seen);
        env.set_warning_sink(Arc::new(move |w| sink.lock().unwrap().push(w.to_string())));
        assert!(env.loaded.get().is_none(), "not read at construction");
        // PATH is set in the test environment: the file is not even needed.
        assert_ne!(env.get("PATH").as_deref(), Some("from-dotenv"));
        assert!(env.loaded.get().is_none(), "a set variable needs no file");
        assert_eq!(
            env.get("KODO_TEST_LAZY_ONLY_IN_FILE").as_deref(),
            Some("yes")
        );
        assert!(seen.lock().unwrap().is_empty());
        assert!(!format!("{env:?}").contains("yes"));
    }

    #[test]
    fn warnings_go_to_the_sink_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "broken line\n").unwrap();
        let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let mut env = Env::at(&path);
        let sink = Arc::clone(&seen);
        env.set_warning_sink(Arc::new(move |w| sink.lock().unwrap().push(w.to_string())));
        assert_eq!(env.get("KODO_TEST_SURELY_UNSET_A"), None);
        assert_eq!(env.get("KODO_TEST_SURELY_UNSET_B"), None);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(
            seen[0].ends_with(":1: not a dotenv line (expected KEY=value); the line is ignored")
        );
    }
}
