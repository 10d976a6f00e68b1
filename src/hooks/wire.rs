//! The JSON the hooks print, as versioned wire types (as `kodo_core::wire` for the other
//! commands): `kodo hook pre-commit --format json` ([`PreCommit`]) and the Claude Code
//! PostToolUse answer of `kodo hook claude` ([`ClaudeHookOutput`]).
//!
//! **Invariants.** [`PreCommit`] starts with `"version": 1` ([`kodo_core::wire::VERSION`]);
//! fields are only ever added. [`ClaudeHookOutput`] is Claude Code's hook-output schema, not
//! kodo's: it has no version, and its field names are Claude Code's
//! (<https://docs.anthropic.com/en/docs/claude-code/hooks>, "Advanced: JSON Output").

use kodo_scan::{Kind, SkipReason};
use serde::{Deserialize, Serialize};

use super::precommit::check::{Problem, Severity, Waiver};

/// `kodo hook pre-commit --format json`: what the gate found in the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreCommit {
    /// [`kodo_core::wire::VERSION`].
    pub version: u32,
    /// Whether the commit is stopped (a finding or an unscanned file that blocks); the exit
    /// code is 1 then.
    pub blocked: bool,
    /// One per problem at one place, sorted by path, line, kind and key.
    pub findings: Vec<PreCommitFinding>,
    /// What the gate says about itself (an offline check, a skipped lookup).
    pub notes: Vec<String>,
    /// Changed files the gate could not scan, by path.
    pub unscanned: Vec<PreCommitUnscanned>,
}

/// One problem of an added reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreCommitFinding {
    /// The file, relative to the repository root.
    pub path: String,
    pub line: u32,
    pub kind: Kind,
    /// The event name or flag key; `null` for a dynamic key.
    pub key: Option<String>,
    /// `problem` (`undocumented`, `unverified`, `not_snake_case`, `no_allowed_prefix`,
    /// `dynamic`, `undocumented_property`) and its own fields (`reason`, `prefixes`,
    /// `property`).
    #[serde(flatten)]
    pub problem: Problem,
    pub severity: Severity,
    /// `{"status": "none"}`, `{"status": "waived", "reason": …}` (a `kodo-ignore: <reason>`
    /// comment) or `{"status": "missing_reason"}` (a `kodo-ignore` without one: no waiver).
    pub waiver: Waiver,
    /// Whether this finding stops the commit.
    pub blocks: bool,
}

/// A changed file the gate could not scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreCommitUnscanned {
    pub path: String,
    pub reason: SkipReason,
    /// Blocks under `sync.strict_offline`; a warning otherwise.
    pub blocks: bool,
}

/// `kodo hook claude` after a PostHog creation it documented: the context Claude Code hands
/// to Claude (Claude Code's schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaudeHookOutput {
    #[serde(rename = "hookSpecificOutput")]
    pub hook_specific_output: HookSpecificOutput,
}

/// Claude Code's `hookSpecificOutput` of a PostToolUse hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookSpecificOutput {
    /// `PostToolUse`.
    #[serde(rename = "hookEventName")]
    pub hook_event_name: String,
    /// What kodo wrote to Notion, in words, for Claude.
    #[serde(rename = "additionalContext")]
    pub additional_context: String,
}

impl ClaudeHookOutput {
    /// The PostToolUse answer carrying `context`.
    pub fn post_tool_use(context: String) -> ClaudeHookOutput {
        ClaudeHookOutput {
            hook_specific_output: HookSpecificOutput {
                hook_event_name: "PostToolUse".to_string(),
                additional_context: context,
            },
        }
    }
}
