//! Merging kodo's Claude Code hooks into a project's `.claude/settings.json`,
//! for teams that prefer settings-based hooks to the plugin's hooks file.
//!
//! Invariants:
//! - Everything already in the file is kept: other top-level keys, other
//!   events, other matcher groups and other hooks, in their order.
//! - kodo's entry is one `PreToolUse` and one `PostToolUse` matcher group with
//!   [`TOOL_MATCHER`] running the given command with a [`HOOK_TIMEOUT_SECS`]
//!   timeout. A hook is kodo's when its command is the given one or any other
//!   `… kodo hook claude` invocation (an older install), so re-running the
//!   merge updates kodo's entry in place instead of adding a second one: the
//!   merge is idempotent.
//! - Malformed JSON, or a file whose `hooks` do not have Claude Code's shape,
//!   is an error; the text is never overwritten with a guess.
//! - Output is pretty-printed JSON with a trailing newline.

use serde_json::{json, Map, Value};

use super::claude::{HOOK_TIMEOUT_SECS, TOOL_MATCHER};

/// The hook events kodo registers for.
const EVENTS: [&str; 2] = ["PreToolUse", "PostToolUse"];

/// Why `.claude/settings.json` could not be merged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    /// The existing text is not valid JSON.
    #[error("settings file is not valid JSON (line {line}, column {column}): {message}")]
    InvalidJson {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// serde_json's description, without the position.
        message: String,
    },
    /// The merged settings could not be written as JSON.
    #[error("could not write the merged settings as JSON: {0}")]
    Write(String),
    /// A value has a shape Claude Code would not accept either.
    #[error("settings file: `{path}` must be {expected}")]
    Shape {
        /// Where in the file, e.g. `hooks.PreToolUse[2].hooks`.
        path: String,
        /// What it should be.
        expected: &'static str,
    },
}

/// Adds kodo's PreToolUse/PostToolUse hooks running `command` to the text of a
/// `.claude/settings.json` (`None` or blank when the file does not exist) and
/// returns the new text.
pub fn merge_claude_settings(
    existing: Option<&str>,
    command: &str,
) -> Result<String, SettingsError> {
    let mut root = match existing {
        Some(text) if !text.trim().is_empty() => parse(text)?,
        _ => Value::Object(Map::new()),
    };
    let Value::Object(root_map) = &mut root else {
        return Err(shape("(top level)", "a JSON object"));
    };
    let hooks = root_map
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(hooks) = hooks else {
        return Err(shape("hooks", "an object of hook events"));
    };
    for event in EVENTS {
        let groups = hooks
            .entry(event)
            .or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(groups) = groups else {
            return Err(shape(
                &format!("hooks.{event}"),
                "an array of matcher groups",
            ));
        };
        merge_event(groups, event, command)?;
    }
    let mut text =
        serde_json::to_string_pretty(&root).map_err(|e| SettingsError::Write(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

/// Puts kodo's hook into one event's matcher groups.
fn merge_event(groups: &mut Vec<Value>, event: &str, command: &str) -> Result<(), SettingsError> {
    // Validate the shape first, and find kodo's home group: the first group
    // with kodo's matcher that already runs kodo.
    let mut home = None;
    for (g, group) in groups.iter().enumerate() {
        let Some(fields) = group.as_object() else {
            return Err(shape(
                &format!("hooks.{event}[{g}]"),
                "an object with `hooks`",
            ));
        };
        let Some(list) = fields.get("hooks").and_then(Value::as_array) else {
            return Err(shape(
                &format!("hooks.{event}[{g}].hooks"),
                "an array of hooks",
            ));
        };
        let matcher = fields.get("matcher").and_then(Value::as_str);
        if home.is_none()
            && matcher == Some(TOOL_MATCHER)
            && list.iter().any(|h| is_kodo(h, command))
        {
            home = Some(g);
        }
    }
    let ours = json!({
        "type": "command",
        "command": command,
        "timeout": HOOK_TIMEOUT_SECS,
    });
    let old = std::mem::take(groups);
    for (g, mut group) in old.into_iter().enumerate() {
        let Some(list) = group.get_mut("hooks").and_then(Value::as_array_mut) else {
            continue; // unreachable: validated above
        };
        if Some(g) == home {
            let mut seen = false;
            list.retain_mut(|hook| {
                if !is_kodo(hook, command) {
                    return true;
                }
                if seen {
                    return false; // a duplicate of kodo's hook
                }
                seen = true;
                if let (Value::Object(fields), Value::Object(new)) = (hook, &ours) {
                    // Update kodo's fields, keep any the user added.
                    for (k, v) in new {
                        fields.insert(k.clone(), v.clone());
                    }
                }
                true
            });
            groups.push(group);
        } else {
            let before = list.len();
            list.retain(|hook| !is_kodo(hook, command));
            // A group that only held kodo's hooks (a stale matcher) goes.
            if list.is_empty() && before > 0 {
                continue;
            }
            groups.push(group);
        }
    }
    if home.is_none() {
        groups.push(json!({
            "matcher": TOOL_MATCHER,
            "hooks": [ours],
        }));
    }
    Ok(())
}

/// Whether a hook entry is kodo's: a command hook running `command`, or any
/// `<path>/kodo[-launcher] hook claude` command from an earlier install.
fn is_kodo(hook: &Value, command: &str) -> bool {
    let Some(cmd) = hook.get("command").and_then(Value::as_str) else {
        return false;
    };
    if cmd.trim() == command.trim() {
        return true;
    }
    // `<program> hook claude`, where the program's file name is kodo's binary
    // or the plugin's launcher (possibly quoted, possibly run with `sh`).
    let Some(program) = cmd.trim().strip_suffix("hook claude") else {
        return false;
    };
    let program = program.trim_end();
    if program.len() == cmd.trim().len() - "hook claude".len() {
        return false; // no space before `hook`
    }
    let program = program.trim_matches(|c| c == '"' || c == '\'');
    let file = program.rsplit(['/', '\\']).next().unwrap_or(program);
    matches!(file, "kodo" | "kodo.exe" | "kodo-launcher")
}

fn parse(text: &str) -> Result<Value, SettingsError> {
    serde_json::from_str(text).map_err(|e| {
        let full = e.to_string();
        let message = match full.rfind(" at line ") {
            Some(at) => full[..at].to_string(),
            None => full,
        };
        SettingsError::InvalidJson {
            line: e.line(),
            column: e.column(),
            message,
        }
    })
}

fn shape(path: &str, expected: &'static str) -> SettingsError {
    SettingsError::Shape {
        path: path.to_string(),
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "kodo hook claude";

    fn merged(existing: Option<&str>) -> Value {
        serde_json::from_str(&merge_claude_settings(existing, CMD).unwrap()).unwrap()
    }

    fn kodo_group() -> Value {
        json!({
            "matcher": TOOL_MATCHER,
            "hooks": [{"type": "command", "command": CMD, "timeout": HOOK_TIMEOUT_SECS}]
        })
    }

    #[test]
    fn creates_settings_when_there_are_none() {
        let text = merge_claude_settings(None, CMD).unwrap();
        assert!(text.ends_with("}\n"), "{text:?}");
        assert!(
            text.contains("\n  \"hooks\": {\n"),
            "pretty-printed: {text}"
        );
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            json!({"hooks": {"PreToolUse": [kodo_group()], "PostToolUse": [kodo_group()]}})
        );
        assert_eq!(merge_claude_settings(Some("  \n"), CMD).unwrap(), text);
    }

    #[test]
    fn keeps_other_keys_and_other_hooks_in_order() {
        let existing = r#"{
  "permissions": {"allow": ["Bash(npm test:*)"]},
  "env": {"FOO": "1"},
  "hooks": {
    "PreToolUse": [
      {"matcher": "Bash", "hooks": [{"type": "command", "command": "./scripts/guard.sh"}]}
    ],
    "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]
  },
  "model": "opus"
}"#;
        let value = merged(Some(existing));
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["permissions", "env", "hooks", "model"]);
        assert_eq!(value["permissions"], json!({"allow": ["Bash(npm test:*)"]}));
        assert_eq!(
            value["hooks"]["Stop"],
            json!([{"hooks": [{"type": "command", "command": "say done"}]}])
        );
        assert_eq!(
            value["hooks"]["PreToolUse"],
            json!([
                {"matcher": "Bash", "hooks": [{"type": "command", "command": "./scripts/guard.sh"}]},
                kodo_group()
            ])
        );
        assert_eq!(value["hooks"]["PostToolUse"], json!([kodo_group()]));
    }

    #[test]
    fn merging_twice_changes_nothing() {
        let existing = r#"{"hooks": {"PostToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "fmt"}]}]}}"#;
        let once = merge_claude_settings(Some(existing), CMD).unwrap();
        let twice = merge_claude_settings(Some(&once), CMD).unwrap();
        assert_eq!(once, twice);
        let value: Value = serde_json::from_str(&twice).unwrap();
        assert_eq!(value["hooks"]["PostToolUse"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn updates_an_older_kodo_entry_instead_of_duplicating_it() {
        let existing = r#"{"hooks": {"PreToolUse": [
  {"matcher": "mcp__posthog__create-feature-flag", "hooks": [{"type": "command", "command": "/opt/kodo/bin/kodo hook claude", "timeout": 30}]},
  {"matcher": "Bash", "hooks": [{"type": "command", "command": "guard"}, {"type": "command", "command": "\"/old path/kodo\" hook claude"}]},
  {"matcher": "Edit", "hooks": [{"type": "command", "command": "sh \"${CLAUDE_PLUGIN_ROOT}/plugin/kodo-launcher\" hook claude"}]},
  {"matcher": "^mcp__.+__(create-feature-flag|experiment-create|dashboard-create|exec)$", "hooks": [{"type": "command", "command": "kodo hook claude"}]},
  {"matcher": "MATCHER", "hooks": [{"type": "command", "command": "kodo hook claude", "timeout": 60, "statusMessage": "Checking Notion"}]}
]}}"#
            .replace("MATCHER", &TOOL_MATCHER.replace('\\', "\\\\"));
        let value = merged(Some(&existing));
        assert_eq!(
            value["hooks"]["PreToolUse"],
            json!([
                {"matcher": "Bash", "hooks": [{"type": "command", "command": "guard"}]},
                {"matcher": TOOL_MATCHER, "hooks": [{"type": "command", "command": CMD, "timeout": HOOK_TIMEOUT_SECS, "statusMessage": "Checking Notion"}]}
            ])
        );
    }

    #[test]
    fn a_different_command_replaces_the_old_one() {
        let first = merge_claude_settings(None, "kodo hook claude").unwrap();
        let second =
            merge_claude_settings(Some(&first), "/usr/local/bin/kodo hook claude").unwrap();
        let value: Value = serde_json::from_str(&second).unwrap();
        assert_eq!(
            value["hooks"]["PreToolUse"],
            json!([{"matcher": TOOL_MATCHER, "hooks": [{"type": "command", "command": "/usr/local/bin/kodo hook claude", "timeout": HOOK_TIMEOUT_SECS}]}])
        );
    }

    #[test]
    fn unrelated_commands_that_mention_kodo_are_kept() {
        let existing = r#"{"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [
  {"type": "command", "command": "kodo hook pre-commit"},
  {"type": "command", "command": "echo kodo hook claude > log"},
  {"type": "command", "command": "echo kodo hook claude"},
  {"type": "command", "command": "kodohook claude"}
]}]}}"#;
        let value = merged(Some(existing));
        assert_eq!(
            value["hooks"]["PreToolUse"][0]["hooks"]
                .as_array()
                .unwrap()
                .len(),
            4
        );
    }

    #[test]
    fn malformed_json_is_an_error_with_its_position() {
        let err = merge_claude_settings(Some("{\n  \"hooks\": {,\n}"), CMD).unwrap_err();
        match &err {
            SettingsError::InvalidJson { line, column, .. } => {
                assert_eq!((*line, *column), (2, 13))
            }
            other => panic!("expected InvalidJson, got {other:?}"),
        }
        assert!(err.to_string().contains("line 2, column 13"), "{err}");
    }

    #[test]
    fn wrong_shapes_are_errors_not_overwritten() {
        let cases = [
            ("[]", "(top level)"),
            (r#"{"hooks": []}"#, "hooks"),
            (r#"{"hooks": {"PreToolUse": {}}}"#, "hooks.PreToolUse"),
            (
                r#"{"hooks": {"PostToolUse": ["x"]}}"#,
                "hooks.PostToolUse[0]",
            ),
            (
                r#"{"hooks": {"PreToolUse": [{"matcher": "Bash"}]}}"#,
                "hooks.PreToolUse[0].hooks",
            ),
        ];
        for (text, path) in cases {
            match merge_claude_settings(Some(text), CMD) {
                Err(SettingsError::Shape { path: got, .. }) => assert_eq!(got, path, "{text}"),
                other => panic!("{text}: expected a shape error, got {other:?}"),
            }
        }
    }
}
