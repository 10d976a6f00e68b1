//! API tokens held by the sandbox (the scenario's Notion token and PostHog key).
//!
//! Invariant: a [`Token`]'s value never appears in `Debug` output; it is only reachable
//! through [`Token::expose`], used to compare a request's credentials and to write the
//! `.env` file a user asked for.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    /// Wraps a token.
    pub fn new(value: impl Into<String>) -> Self {
        Token(value.into())
    }

    /// The token itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this token.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0 == candidate
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix: String = self.0.chars().take_while(|c| *c != '_').collect();
        write!(f, "Token({prefix}_***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_value() {
        let token = Token::new("ntn_sandbox_0123456789abcdef");
        let shown = format!("{token:?}");
        assert_eq!(shown, "Token(ntn_***)");
        assert!(!shown.contains("0123456789abcdef"));
        assert!(token.matches("ntn_sandbox_0123456789abcdef"));
        assert_eq!(
            serde_json::to_string(&token).unwrap(),
            "\"ntn_sandbox_0123456789abcdef\""
        );
    }
}
