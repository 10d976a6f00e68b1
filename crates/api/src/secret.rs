//! [`Secret`]: a credential (Notion token, PostHog personal API key) that never prints.
//!
//! Invariant: the wrapped value is reachable only through [`Secret::expose`]; `Debug` and
//! `Display` print `***`, so a secret can sit inside any struct that derives `Debug` or is
//! formatted into a log line or error message without leaking. [`redact`] scrubs a secret out
//! of text that came from elsewhere (e.g. a service's error message echoing a request).

use std::fmt;

/// A credential. `Debug`/`Display` print `***`; only [`Secret::expose`] yields the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself. Call only where it is sent (an `Authorization` header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the credential is empty (or only whitespace).
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Replaces every occurrence of `secret` in `text` with `***`. Short secrets (under 4
/// characters) are left alone: replacing them would mangle ordinary words, and no real token is
/// that short.
pub fn redact(text: &str, secret: &Secret) -> String {
    let value = secret.expose();
    if value.len() < 4 {
        return text.to_owned();
    }
    text.replace(value, "***")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("ntn_supersecret");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "ntn_supersecret");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            token: Secret,
        }
        let dbg = format!("{:?}", Holder { token: s });
        assert!(!dbg.contains("supersecret"), "{dbg}");
    }

    #[test]
    fn redact_scrubs_echoed_secrets() {
        let s = Secret::new("phx_abcdef");
        assert_eq!(
            redact("bad key phx_abcdef given; phx_abcdef", &s),
            "bad key *** given; ***"
        );
        assert_eq!(redact("the end", &Secret::new("e")), "the end");
        assert!(Secret::new("  ").is_blank());
    }
}
