//! Claude Code hook input: parsing, classification of PostHog creations, and the
//! messages `kodo hook claude` gives back.
//!
//! Claude Code runs `kodo hook claude` with one JSON object on stdin for each
//! `PreToolUse` / `PostToolUse` event whose tool name matches [`TOOL_MATCHER`].
//! This module is pure: it never touches the network, the config or the
//! environment. The caller decides what to do with the result.
//!
//! Invariants:
//! - Nothing here panics on any input; malformed stdin is a [`HookInputError`].
//! - [`CREATE_TOOLS`] is the one table of PostHog's MCP tools that create something kodo
//!   documents, with their argument shapes as the real server defines them
//!   (PostHog/posthog `products/*/mcp/tools.yaml` and the generated
//!   `services/mcp/src/tools/generated/*.ts`). [`classify_call`] recognises exactly those,
//!   under any `mcp__<server>__` prefix, both called directly and through PostHog's
//!   single-tool CLI mode (`mcp__<server>__exec` with `call <tool> <json>`), and
//!   [`TOOL_MATCHER`] selects exactly those plus `exec`. Everything else is `None`: not a
//!   creation kodo gates.
//! - [`created_object`] only ever returns a JSON object that carries `id`,
//!   `key` or `name`, found breadth-first so the top-level resource wins over
//!   nested ones such as `created_by`.

use std::fmt;
use std::path::PathBuf;

use crate::model::Resource;
use serde_json::{Map, Value};

/// The Claude Code hook matcher (a JavaScript regular expression, also valid
/// for the `regex` crate) for the tools `kodo hook claude` handles: the three
/// PostHog create tools and the CLI-mode `exec` tool, under any MCP server
/// prefix. Used by `plugin/hooks.json` and by `.claude/settings.json` installs.
pub const TOOL_MATCHER: &str = "^mcp__.+__(create-feature-flag|feature-flags-copy-flags-create|experiment-create|experiment-duplicate|experiment-copy-to-project|experiment-create-from-prompt|dashboard-create|exec)$";

/// Seconds Claude Code gives the hook before it kills it. A PreToolUse hook
/// that times out does not block, so kodo's own network timeout must stay well
/// below this.
pub const HOOK_TIMEOUT_SECS: u64 = 10;

/// Environment variable that lets an undocumented creation through the
/// PreToolUse gate (checked by the caller, named in [`block_reason`]).
pub const ALLOW_UNDOCUMENTED_ENV: &str = "KODO_ALLOW_UNDOCUMENTED";

/// Which hook event Claude Code is reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookEvent {
    /// Before a tool runs; exit code 2 blocks the call.
    PreToolUse,
    /// After a tool ran successfully; `tool_response` holds its result.
    PostToolUse,
    /// Any other event (kodo's hooks are not registered for these).
    Other(String),
}

impl HookEvent {
    fn from_name(name: &str) -> Self {
        match name {
            "PreToolUse" => Self::PreToolUse,
            "PostToolUse" => Self::PostToolUse,
            other => Self::Other(other.to_string()),
        }
    }
}

impl fmt::Display for HookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PreToolUse => f.write_str("PreToolUse"),
            Self::PostToolUse => f.write_str("PostToolUse"),
            Self::Other(name) => f.write_str(name),
        }
    }
}

/// The fields of Claude Code's hook input that kodo uses.
#[derive(Debug, Clone, PartialEq)]
pub struct HookInput {
    /// `hook_event_name`.
    pub hook_event_name: HookEvent,
    /// `tool_name`, absent for events that are not about a tool.
    pub tool_name: Option<String>,
    /// `tool_input`; `Value::Null` when absent.
    pub tool_input: Value,
    /// `tool_response` (PostToolUse only).
    pub tool_response: Option<Value>,
    /// `cwd`: the session's working directory.
    pub cwd: Option<PathBuf>,
}

/// Why stdin could not be read as a hook input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HookInputError {
    /// Nothing but whitespace on stdin.
    #[error("no hook input on stdin: `kodo hook claude` expects the JSON object Claude Code sends to hooks")]
    Empty,
    /// Not valid JSON.
    #[error("hook input is not valid JSON (line {line}, column {column}): {message}")]
    InvalidJson {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// serde_json's description, without the position.
        message: String,
    },
    /// Valid JSON, but not an object.
    #[error("hook input must be a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A field is missing or has the wrong type.
    #[error("hook input field `{field}` is missing or not {expected}")]
    BadField {
        /// The field's name.
        field: &'static str,
        /// What it should have been.
        expected: &'static str,
    },
}

/// Parses Claude Code's hook JSON from stdin.
pub fn parse_input(stdin: &str) -> Result<HookInput, HookInputError> {
    if stdin.trim().is_empty() {
        return Err(HookInputError::Empty);
    }
    let value: Value = serde_json::from_str(stdin).map_err(|e| {
        let full = e.to_string();
        // serde_json appends " at line L column C"; keep only the description.
        let message = match full.rfind(" at line ") {
            Some(at) => full[..at].to_string(),
            None => full,
        };
        HookInputError::InvalidJson {
            line: e.line(),
            column: e.column(),
            message,
        }
    })?;
    let Value::Object(mut map) = value else {
        return Err(HookInputError::NotAnObject {
            found: json_type(&value),
        });
    };
    let hook_event_name = match map.get("hook_event_name") {
        Some(Value::String(name)) => HookEvent::from_name(name),
        _ => {
            return Err(HookInputError::BadField {
                field: "hook_event_name",
                expected: "a string",
            })
        }
    };
    let tool_name = match map.remove("tool_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => {
            return Err(HookInputError::BadField {
                field: "tool_name",
                expected: "a string",
            })
        }
    };
    let cwd = match map.remove("cwd") {
        None | Some(Value::Null) => None,
        Some(Value::String(dir)) => Some(PathBuf::from(dir)),
        Some(_) => {
            return Err(HookInputError::BadField {
                field: "cwd",
                expected: "a string",
            })
        }
    };
    let tool_input = map.remove("tool_input").unwrap_or(Value::Null);
    let tool_response = match map.remove("tool_response") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v),
    };
    Ok(HookInput {
        hook_event_name,
        tool_name,
        tool_input,
        tool_response,
        cwd,
    })
}

/// A PostHog resource an MCP tool call is about to create (or has created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Creation {
    /// `create-feature-flag`.
    Flag {
        /// The flag key (the Notion row's Flag Key).
        key: String,
        /// The human-readable name, when given.
        name: Option<String>,
    },
    /// `experiment-create`.
    Experiment {
        /// The experiment's name (the Notion row's Experiment Name).
        name: String,
        /// The key of the flag the experiment is created on, when the call gives it: PostHog
        /// creates that flag when none has the key.
        flag_key: Option<String>,
    },
    /// `dashboard-create`.
    Dashboard {
        /// The dashboard's name (the Notion row's Dashboard Name).
        name: String,
    },
}

impl Creation {
    /// The resource this creates: every other fact about it is the schema table's.
    pub fn resource(&self) -> Resource {
        match self {
            Self::Flag { .. } => Resource::Flags,
            Self::Experiment { .. } => Resource::Experiments,
            Self::Dashboard { .. } => Resource::Dashboards,
        }
    }

    /// What kind of resource this is, in words ("feature flag").
    pub fn kind(&self) -> &'static str {
        self.resource().schema().posthog.object
    }

    /// The identifier the Notion title property holds (flag key, experiment
    /// or dashboard name).
    pub fn identifier(&self) -> &str {
        match self {
            Self::Flag { key, .. } => key,
            Self::Experiment { name, .. } | Self::Dashboard { name } => name,
        }
    }

    /// The Notion database that documents this kind of resource.
    pub fn notion_database(&self) -> &'static str {
        self.resource().schema().title
    }

    /// The title property of that database, which holds [`Self::identifier`].
    pub fn title_property(&self) -> &'static str {
        self.resource().schema().title_property().name
    }

    /// The command that documents it first (`kodo ph-sync document flag release_x`).
    pub fn document_command(&self) -> String {
        use crate::model::DocField;
        let extra: Vec<(DocField, &str)> = match self {
            Self::Experiment {
                flag_key: Some(k), ..
            } => vec![(DocField::FlagKey, k.as_str())],
            _ => Vec::new(),
        };
        kodo_core::document::command(self.resource(), self.identifier(), &extra)
    }

    /// The `kodo ph-sync` resource type for this kind (`flags`, ...).
    pub fn resource_type(&self) -> &'static str {
        self.resource().plural()
    }
}

/// What kind of PostHog object a create tool makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreatesKind {
    Flag,
    Experiment,
    Dashboard,
}

/// One PostHog MCP tool that creates something kodo documents, and the shape of its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateTool {
    /// The tool's name on PostHog's MCP server (the part after `mcp__<server>__`).
    pub name: &'static str,
    /// What it creates.
    pub creates: CreatesKind,
    /// The arguments holding the new object's identifier (flag key, experiment or dashboard
    /// name), first present wins; `data.name` is an argument nested in `data`.
    pub identifier: &'static [&'static str],
    /// Whether PostHog picks the identifier when it is not given (a duplicate's
    /// "Original Name (Copy)", a prompt experiment's generated name). Otherwise a call
    /// without it is refused by PostHog itself, and is no creation.
    pub identifier_defaults: bool,
    /// The argument with the key of the flag an experiment is created on, which PostHog
    /// creates when no flag has it.
    pub flag_key: Option<&'static str>,
    /// The argument naming the project (a number) or projects (an array of numbers) the
    /// object is created in, when not the current one.
    pub target_project: Option<&'static str>,
}

/// PostHog's MCP tools that create a flag, an experiment or a dashboard. The one table: the
/// hook matcher, the classification and the tests all read it.
///
/// Sources (PostHog/posthog): `products/feature_flags/mcp/tools.yaml` (`create-feature-flag`:
/// `key`, `name`); `products/experiments/mcp/tools.yaml` and
/// `services/mcp/src/tools/generated/feature_flags.ts` (`feature-flags-copy-flags-create`:
/// `feature_flag_key`, `from_project` and `target_project_ids` — 1 to 50 project numbers —
/// required; it POSTs `/api/organizations/{org}/feature_flags/copy_flags/` and creates, or
/// overwrites, the flag with that key in every target project, so it creates in this project
/// exactly when its id is among the targets); `products/experiments/mcp/tools.yaml` and
/// `services/mcp/src/tools/generated/experiments.ts` (`experiment-create`: `name` and
/// `feature_flag_key` required, "Feature flag is auto-created"; `experiment-duplicate`: `id`,
/// optional `name` — default "Original Name (Copy)" — and `feature_flag_key`, the original's
/// flag reused when omitted; `experiment-copy-to-project`: `id`, `target_team_id`, optional
/// `name` and `feature_flag_key`; `experiment-create-from-prompt`: `prompt_name`, `versions`,
/// `templates`, optional `name` — default built from the prompt, versions and templates — and
/// `feature_flag_key`, the flag auto-created); `products/dashboards/mcp/tools.yaml`
/// (`dashboard-create`: flat `name`; older servers nest it in `data`).
pub const CREATE_TOOLS: &[CreateTool] = &[
    CreateTool {
        name: "create-feature-flag",
        creates: CreatesKind::Flag,
        identifier: &["key"],
        identifier_defaults: false,
        flag_key: None,
        target_project: None,
    },
    CreateTool {
        name: "feature-flags-copy-flags-create",
        creates: CreatesKind::Flag,
        identifier: &["feature_flag_key"],
        identifier_defaults: false,
        flag_key: None,
        target_project: Some("target_project_ids"),
    },
    CreateTool {
        name: "experiment-create",
        creates: CreatesKind::Experiment,
        identifier: &["name"],
        identifier_defaults: false,
        flag_key: Some("feature_flag_key"),
        target_project: None,
    },
    CreateTool {
        name: "experiment-duplicate",
        creates: CreatesKind::Experiment,
        identifier: &["name"],
        identifier_defaults: true,
        flag_key: Some("feature_flag_key"),
        target_project: None,
    },
    CreateTool {
        name: "experiment-copy-to-project",
        creates: CreatesKind::Experiment,
        identifier: &["name"],
        identifier_defaults: true,
        flag_key: Some("feature_flag_key"),
        target_project: Some("target_team_id"),
    },
    CreateTool {
        name: "experiment-create-from-prompt",
        creates: CreatesKind::Experiment,
        identifier: &["name"],
        identifier_defaults: true,
        flag_key: Some("feature_flag_key"),
        target_project: None,
    },
    CreateTool {
        name: "dashboard-create",
        creates: CreatesKind::Dashboard,
        identifier: &["data.name", "name"],
        identifier_defaults: false,
        flag_key: None,
        target_project: None,
    },
];

impl CreateTool {
    fn from_name(tool: &str) -> Option<&'static CreateTool> {
        CREATE_TOOLS.iter().find(|t| t.name == tool)
    }

    /// The argument a caller must give so kodo can check the new object's identifier.
    pub fn identifier_arg(&self) -> &'static str {
        self.identifier.last().copied().unwrap_or("name")
    }
}

/// A call of one of [`CREATE_TOOLS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCall {
    /// The tool.
    pub tool: &'static CreateTool,
    /// What it creates; `None` when the call leaves the name to PostHog
    /// ([`CreateTool::identifier_defaults`]), so nobody can document it first.
    pub creation: Option<Creation>,
    /// The projects it creates in, when the call names them ([`CreateTool::target_project`]);
    /// `None` is the current project.
    pub target_projects: Option<Vec<String>>,
}

/// The bare MCP tool name: `create-feature-flag` for
/// `mcp__plugin_posthog_posthog__create-feature-flag`. `None` for tools that
/// are not MCP tools.
fn mcp_tool(tool_name: &str) -> Option<&str> {
    let rest = tool_name.strip_prefix("mcp__")?;
    let (server, tool) = rest.rsplit_once("__")?;
    if server.is_empty() || tool.is_empty() {
        return None;
    }
    Some(tool)
}

/// Recognises a PostHog create call and extracts what identifies the new resource. `None` for
/// every other tool, for CLI-mode commands that are not a `call` of a create tool, for calls
/// without a JSON object of arguments, and for creates missing an identifier PostHog requires.
pub fn classify_call(input: &HookInput) -> Option<CreateCall> {
    let tool = mcp_tool(input.tool_name.as_deref()?)?;
    if tool == "exec" {
        let command = input.tool_input.get("command")?.as_str()?;
        let (tool, args) = parse_exec_call(command)?;
        return call_from_args(tool, &args);
    }
    call_from_args(CreateTool::from_name(tool)?, &input.tool_input)
}

/// What a create call creates, when it says (see [`classify_call`]).
pub fn classify(input: &HookInput) -> Option<Creation> {
    classify_call(input)?.creation
}

fn call_from_args(tool: &'static CreateTool, args: &Value) -> Option<CreateCall> {
    let args = args.as_object()?;
    let arg = |path: &str| -> Option<String> {
        match path.split_once('.') {
            Some((outer, inner)) => match args.get(outer).map(inline_json) {
                Some(Value::Object(nested)) => non_empty_str(nested.get(inner)),
                _ => None,
            },
            None => non_empty_str(args.get(path)),
        }
    };
    let identifier = tool.identifier.iter().find_map(|path| arg(path));
    if identifier.is_none() && !tool.identifier_defaults {
        return None;
    }
    let creation = identifier.map(|id| match tool.creates {
        CreatesKind::Flag => Creation::Flag {
            key: id,
            name: arg("name"),
        },
        CreatesKind::Experiment => Creation::Experiment {
            name: id,
            flag_key: tool.flag_key.and_then(arg),
        },
        CreatesKind::Dashboard => Creation::Dashboard { name: id },
    });
    let target_projects = match tool
        .target_project
        .map(|key| args.get(key).map(inline_json))
    {
        None => None,
        Some(Some(Value::Array(items))) => Some(items.iter().filter_map(project_id).collect()),
        Some(Some(one)) => project_id(&one).map(|p| vec![p]),
        Some(None) => None,
    };
    Some(CreateCall {
        tool,
        creation,
        target_projects,
    })
}

/// A project id as a call gives it: a number, or a string holding one.
fn project_id(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

impl CreateCall {
    /// Whether the call creates in `project` (the project kodo documents): always, unless it
    /// names target projects and `project` is not among them.
    pub fn creates_in(&self, project: &str) -> bool {
        self.target_projects
            .as_ref()
            .is_none_or(|targets| targets.iter().any(|t| t == project.trim()))
    }

    /// Whether the tool's response describes the object created in this project. A copy into
    /// several projects answers with one object per target, in no stated order, so kodo reads
    /// this project's copy back from PostHog instead.
    pub fn response_is_this_projects(&self) -> bool {
        self.target_projects.as_ref().is_none_or(|t| t.len() <= 1)
    }
}

/// Models sometimes pass a nested object as a JSON string; read it as JSON.
fn inline_json(value: &Value) -> Value {
    match value {
        Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    }
}

fn non_empty_str(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Parses a CLI-mode command `call [--json] [--confirm] <tool> <json>` into the
/// create tool and its JSON input. `None` for other commands (`learn`,
/// `tools`, `search`, `info`, `schema`), for calls of other tools, and for
/// input that is not a JSON object.
fn parse_exec_call(command: &str) -> Option<(&'static CreateTool, Value)> {
    let (verb, mut rest) = next_word(command)?;
    if verb != "call" {
        return None;
    }
    let tool = loop {
        let (word, after) = next_word(rest)?;
        rest = after;
        if !word.starts_with("--") {
            // Agents sometimes keep PostHog's `posthog:` namespace prefix.
            let name = unquote_word(word);
            break CreateTool::from_name(name.strip_prefix("posthog:").unwrap_or(name))?;
        }
    };
    // Flags may also follow the tool name.
    loop {
        match next_word(rest) {
            Some((word, after)) if word.starts_with("--") => rest = after,
            _ => break,
        }
    }
    let args = parse_exec_json(rest.trim())?;
    Some((tool, args))
}

/// Splits off the first whitespace-separated word.
fn next_word(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start();
    if text.is_empty() {
        return None;
    }
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    Some((&text[..end], &text[end..]))
}

fn unquote_word(word: &str) -> &str {
    for quote in ['\'', '"'] {
        if let Some(inner) = word.strip_prefix(quote).and_then(|w| w.strip_suffix(quote)) {
            return inner;
        }
    }
    word
}

/// Reads the JSON input of an exec `call`: bare (`{"key": "a b"}`), single
/// quoted shell-style (`'{"key":"x"}'`, with `'\''` for a quote), or a JSON
/// string that itself holds the object. Text after the object (say a trailing
/// `--json`) is ignored. An absent input is `{}`.
fn parse_exec_json(text: &str) -> Option<Value> {
    if text.is_empty() {
        return Some(Value::Object(Map::new()));
    }
    if let Some(inner) = text.strip_prefix('\'') {
        let end = inner.rfind('\'')?;
        let unquoted = inner[..end].replace("'\\''", "'");
        return first_json_object(&unquoted);
    }
    match first_json_value(text)? {
        obj @ Value::Object(_) => Some(obj),
        Value::String(inner) => first_json_object(&inner),
        _ => None,
    }
}

fn first_json_value(text: &str) -> Option<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .next()?
        .ok()
}

fn first_json_object(text: &str) -> Option<Value> {
    match first_json_value(text.trim())? {
        obj @ Value::Object(_) => Some(obj),
        _ => None,
    }
}

/// How deep [`created_object`] looks into a response.
const MAX_RESPONSE_DEPTH: usize = 8;

/// The PostHog object a create tool returned, from a PostToolUse
/// `tool_response`. MCP responses come as content blocks
/// (`[{"type":"text","text":"<json>"}]` or `{"content":[...]}`), as a JSON
/// string, or as a plain object; text may wrap the JSON in prose. Returns the
/// first object (breadth-first) carrying `id`, `key` or `name`. `None` when
/// the response reports an error (`isError: true`) or holds no such object,
/// for example PostHog's non-JSON "optimized" CLI-mode output.
pub fn created_object(input: &HookInput) -> Option<Value> {
    let response = input.tool_response.as_ref()?;
    if response.get("isError").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let mut queue: std::collections::VecDeque<(Value, usize)> =
        std::collections::VecDeque::from([(response.clone(), 0)]);
    while let Some((value, depth)) = queue.pop_front() {
        if depth > MAX_RESPONSE_DEPTH {
            continue;
        }
        match value {
            Value::Object(map) => {
                if is_resource(&map) {
                    return Some(Value::Object(map));
                }
                queue.extend(map.into_iter().map(|(_, v)| (v, depth + 1)));
            }
            Value::Array(items) => queue.extend(items.into_iter().map(|v| (v, depth + 1))),
            Value::String(text) => {
                if let Some(parsed) = json_in_text(&text) {
                    queue.push_back((parsed, depth + 1));
                }
            }
            _ => {}
        }
    }
    None
}

fn is_resource(map: &Map<String, Value>) -> bool {
    let id = matches!(map.get("id"), Some(Value::Number(_) | Value::String(_)));
    let key = matches!(map.get("key"), Some(Value::String(_)));
    let name = matches!(map.get("name"), Some(Value::String(_)));
    id || key || name
}

/// The first JSON object or array in a text: the whole text when it is JSON,
/// else the first `{` or `[` from which a JSON value parses.
fn json_in_text(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if let Ok(value @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(trimmed) {
        return Some(value);
    }
    trimmed
        .char_indices()
        .filter(|(_, c)| *c == '{' || *c == '[')
        .take(64)
        .find_map(|(at, _)| match first_json_value(&trimmed[at..]) {
            Some(value @ (Value::Object(_) | Value::Array(_))) => Some(value),
            _ => None,
        })
}

/// The message a blocked PreToolUse prints on stderr (Claude reads it): names
/// the missing Notion entry, how to document it, and how to let it through.
pub fn block_reason(c: &Creation) -> String {
    let id = c.identifier();
    let database = c.notion_database();
    let mut row = format!("{} = `{id}`", c.title_property());
    if let Creation::Experiment {
        flag_key: Some(flag),
        ..
    } = c
    {
        row.push_str(&format!(" and Flag Key = `{flag}`"));
    }
    format!(
        "kodo: {kind} `{id}` is not documented in Notion ({database} database), and \
         sync.require_notion_entry is on.\n\
         Document it first, then retry: run `{command}` (ask the user first: it writes the \
         Notion row and refreshes the snapshot), or add a row with {row} to the {database} \
         database. \
         (Or, with sync.require_notion_entry off, create it and run \
         `kodo ph-sync import {resource}` to document it afterwards.)\n\
         To let undocumented creations through, restart Claude Code with \
         {ALLOW_UNDOCUMENTED_ENV}=1 in its environment.",
        kind = c.kind(),
        resource = c.resource_type(),
        command = c.document_command(),
    )
}

/// The message when an experiment is documented but the flag the call creates it on is not.
pub fn undocumented_flag_reason(c: &Creation) -> String {
    let (name, flag) = match c {
        Creation::Experiment {
            name,
            flag_key: Some(flag),
        } => (name.as_str(), flag.as_str()),
        other => return block_reason(other),
    };
    format!(
        "kodo: experiment `{name}` is documented, but its feature flag `{flag}` (which PostHog \
         creates for it when no flag has that key) is not documented in Notion, and \
         sync.require_notion_entry is on.\n\
         Document it first: run `{command}` (ask the user first), or set Flag Key = `{flag}` on \
         the experiment's row in the Experiments database, then retry.\n\
         To let undocumented creations through, restart Claude Code with \
         {ALLOW_UNDOCUMENTED_ENV}=1 in its environment.",
        command = kodo_core::document::command(crate::model::Resource::Flags, flag, &[]),
    )
}

/// The message when a create leaves the new object's name to PostHog.
pub fn unnamed_reason(tool: &CreateTool) -> String {
    format!(
        "kodo: `{tool}` was called without `{arg}`, so PostHog would pick the new experiment's \
         name and nobody can have documented it in Notion first (sync.require_notion_entry is \
         on).\n\
         Pass `{arg}` (and `feature_flag_key` for a flag of its own), add a row with that \
         Experiment Name to the Experiments database, then retry.\n\
         To let undocumented creations through, restart Claude Code with \
         {ALLOW_UNDOCUMENTED_ENV}=1 in its environment.",
        tool = tool.name,
        arg = tool.identifier_arg(),
    )
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A PreToolUse payload as Claude Code sends it.
    fn pre(tool_name: &str, tool_input: Value) -> HookInput {
        let payload = json!({
            "session_id": "0b7c5c1e-3f57-4d0a-9d1e-2c8a4f6b9e10",
            "transcript_path": "/home/dev/.claude/projects/-work-app/0b7c5c1e.jsonl",
            "cwd": "/work/app",
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": tool_name,
            "tool_input": tool_input,
            "tool_use_id": "toolu_01ABCDEF"
        });
        parse_input(&payload.to_string()).unwrap()
    }

    fn post(tool_name: &str, tool_input: Value, tool_response: Value) -> HookInput {
        let payload = json!({
            "session_id": "0b7c5c1e-3f57-4d0a-9d1e-2c8a4f6b9e10",
            "cwd": "/work/app",
            "hook_event_name": "PostToolUse",
            "tool_name": tool_name,
            "tool_input": tool_input,
            "tool_response": tool_response,
            "duration_ms": 412
        });
        parse_input(&payload.to_string()).unwrap()
    }

    fn exec(command: &str) -> HookInput {
        pre("mcp__posthog__exec", json!({ "command": command }))
    }

    fn flag(key: &str, name: Option<&str>) -> Creation {
        Creation::Flag {
            key: key.into(),
            name: name.map(Into::into),
        }
    }

    #[test]
    fn parses_the_fields_kodo_uses() {
        let input = pre(
            "mcp__posthog__create-feature-flag",
            json!({"key": "release_x"}),
        );
        assert_eq!(input.hook_event_name, HookEvent::PreToolUse);
        assert_eq!(
            input.tool_name.as_deref(),
            Some("mcp__posthog__create-feature-flag")
        );
        assert_eq!(input.tool_input, json!({"key": "release_x"}));
        assert_eq!(input.tool_response, None);
        assert_eq!(input.cwd, Some(PathBuf::from("/work/app")));
    }

    #[test]
    fn other_events_parse_without_a_tool() {
        let input =
            parse_input(r#"{"hook_event_name":"SessionStart","source":"startup"}"#).unwrap();
        assert_eq!(
            input.hook_event_name,
            HookEvent::Other("SessionStart".into())
        );
        assert_eq!(input.tool_name, None);
        assert_eq!(classify(&input), None);
    }

    #[test]
    fn malformed_input_is_a_clear_error_not_a_panic() {
        assert_eq!(parse_input("  \n"), Err(HookInputError::Empty));
        match parse_input("{\"hook_event_name\": \"PreToolUse\",\n  \"tool_name\": }") {
            Err(HookInputError::InvalidJson { line, column, .. }) => {
                assert_eq!((line, column), (2, 16));
            }
            other => panic!("expected InvalidJson, got {other:?}"),
        }
        assert_eq!(
            parse_input("[1,2]"),
            Err(HookInputError::NotAnObject { found: "an array" })
        );
        assert_eq!(
            parse_input(r#"{"tool_name":"Bash"}"#),
            Err(HookInputError::BadField {
                field: "hook_event_name",
                expected: "a string"
            })
        );
        assert_eq!(
            parse_input(r#"{"hook_event_name":"PreToolUse","tool_name":7}"#),
            Err(HookInputError::BadField {
                field: "tool_name",
                expected: "a string"
            })
        );
        let message = parse_input("not json").unwrap_err().to_string();
        assert!(
            message.contains("not valid JSON (line 1, column 2)"),
            "{message}"
        );
    }

    #[test]
    fn per_tool_flag_create_under_any_prefix() {
        let args = json!({
            "name": "Release X",
            "key": "release_x",
            "description": "New checkout",
            "filters": {"groups": [{"properties": [], "rollout_percentage": 10}]},
            "active": false,
            "tags": ["checkout"]
        });
        for tool in [
            "mcp__posthog__create-feature-flag",
            "mcp__plugin_posthog_posthog__create-feature-flag",
            "mcp__posthog_posthog__create-feature-flag",
            "mcp__ph-eu__create-feature-flag",
        ] {
            assert_eq!(
                classify(&pre(tool, args.clone())),
                Some(flag("release_x", Some("Release X"))),
                "{tool}"
            );
        }
    }

    #[test]
    fn flag_without_key_or_name_is_handled() {
        let tool = "mcp__posthog__create-feature-flag";
        assert_eq!(
            classify(&pre(tool, json!({"key": "ops_kill", "name": ""}))),
            Some(flag("ops_kill", None))
        );
        assert_eq!(classify(&pre(tool, json!({"name": "No key"}))), None);
        assert_eq!(classify(&pre(tool, json!({"key": "  "}))), None);
        assert_eq!(classify(&pre(tool, json!("release_x"))), None);
    }

    #[test]
    fn per_tool_experiment_create_from_the_real_payload() {
        // The body PostHog's MCP server sends for a draft experiment
        // (reference example posthog.experiments.create.mcp-payload).
        let request = json!({
            "name": "Checkout button color",
            "description": "Does a green checkout button increase completed checkouts?",
            "feature_flag_key": "checkout-button-color",
            "type": "product",
            "metrics": [{
                "kind": "ExperimentMetric",
                "uuid": "7d1e4f2a-3b5c-4d6e-8f90-a1b2c3d4e5f6",
                "name": "Checkout conversion",
                "metric_type": "funnel",
                "series": [
                    {"kind": "EventsNode", "event": "checkout_started", "properties": {}},
                    {"kind": "EventsNode", "event": "checkout_completed", "properties": {}}
                ]
            }],
            "parameters": {
                "feature_flag_variants": [
                    {"key": "control", "name": "Control", "rollout_percentage": 50},
                    {"key": "test", "name": "Test", "rollout_percentage": 50}
                ],
                "minimum_detectable_effect": 30
            },
            "start_date": null,
            "end_date": null,
            "archived": false
        });
        let input = pre("mcp__plugin_posthog_posthog__experiment-create", request);
        assert_eq!(
            classify(&input),
            Some(Creation::Experiment {
                name: "Checkout button color".into(),
                flag_key: Some("checkout-button-color".into()),
            })
        );
        let bare = pre(
            "mcp__posthog__experiment-create",
            json!({"name": "Pricing page copy"}),
        );
        assert_eq!(
            classify(&bare),
            Some(Creation::Experiment {
                name: "Pricing page copy".into(),
                flag_key: None
            })
        );
    }

    #[test]
    fn dashboard_create_legacy_nested_and_flat() {
        let legacy = pre(
            "mcp__posthog__dashboard-create",
            json!({"data": {"name": "API Performance", "description": "p95", "pinned": true}}),
        );
        let flat = pre(
            "mcp__plugin_posthog_posthog__dashboard-create",
            json!({"name": "Error Tracking", "tags": ["technical"]}),
        );
        let stringly = pre(
            "mcp__posthog__dashboard-create",
            json!({"data": "{\"name\": \"Growth\"}"}),
        );
        let dashboard = |name: &str| Some(Creation::Dashboard { name: name.into() });
        assert_eq!(classify(&legacy), dashboard("API Performance"));
        assert_eq!(classify(&flat), dashboard("Error Tracking"));
        assert_eq!(classify(&stringly), dashboard("Growth"));
        assert_eq!(
            classify(&pre("mcp__posthog__dashboard-create", json!({"data": {}}))),
            None
        );
    }

    #[test]
    fn unrelated_tools_are_not_creations() {
        for (tool, args) in [
            (
                "mcp__posthog__feature-flag-get-all",
                json!({"data": {"limit": 100}}),
            ),
            (
                "mcp__posthog__update-feature-flag",
                json!({"flagKey": "x", "data": {}}),
            ),
            (
                "mcp__posthog__dashboard-create-tile",
                json!({"name": "tile"}),
            ),
            (
                "mcp__posthog__experiment-update",
                json!({"experimentId": 1}),
            ),
            ("create-feature-flag", json!({"key": "x"})),
            ("mcp__create-feature-flag", json!({"key": "x"})),
            (
                "Bash",
                json!({"command": "call create-feature-flag {\"key\":\"x\"}"}),
            ),
            ("mcp__notion__notion-create-pages", json!({"pages": []})),
        ] {
            assert_eq!(classify(&pre(tool, args)), None, "{tool}");
        }
    }

    #[test]
    fn exec_call_with_bare_json_containing_spaces() {
        let input = exec(
            r#"call create-feature-flag {"key": "release_new_api_v2", "name": "New API v2", "description": "Roll out \"v2\" endpoints", "filters": {"groups": [{"rollout_percentage": 25}]}, "active": true}"#,
        );
        assert_eq!(
            classify(&input),
            Some(flag("release_new_api_v2", Some("New API v2")))
        );
    }

    #[test]
    fn exec_call_with_flags_and_any_prefix() {
        let command = r#"call --json --confirm experiment-create {"name":"Onboarding checklist","feature_flag_key":"exp_onboarding_checklist"}"#;
        for tool in [
            "mcp__posthog__exec",
            "mcp__plugin_posthog_posthog__exec",
            "mcp__posthog_posthog__exec",
        ] {
            let input = pre(tool, json!({ "command": command }));
            assert_eq!(
                classify(&input),
                Some(Creation::Experiment {
                    name: "Onboarding checklist".into(),
                    flag_key: Some("exp_onboarding_checklist".into()),
                }),
                "{tool}"
            );
        }
        // Flags after the tool name and trailing text are tolerated too.
        let late = exec(r#"  call  dashboard-create --json {"name":"Exec KPIs"} --confirm"#);
        assert_eq!(
            classify(&late),
            Some(Creation::Dashboard {
                name: "Exec KPIs".into()
            })
        );
    }

    #[test]
    fn exec_call_with_single_quoted_or_string_encoded_json() {
        let quoted =
            exec(r#"call create-feature-flag '{"key":"beta_it'\''s","name":"It'\''s beta"}'"#);
        assert_eq!(
            classify(&quoted),
            Some(flag("beta_it's", Some("It's beta")))
        );
        let encoded = exec(r#"call create-feature-flag "{\"key\": \"ops_maintenance_mode\"}""#);
        assert_eq!(classify(&encoded), Some(flag("ops_maintenance_mode", None)));
        let namespaced = exec(r#"call posthog:create-feature-flag {"key":"beta_ns"}"#);
        assert_eq!(classify(&namespaced), Some(flag("beta_ns", None)));
        let legacy_dashboard = exec(r#"call dashboard-create {"data": {"name": "Weekly review"}}"#);
        assert_eq!(
            classify(&legacy_dashboard),
            Some(Creation::Dashboard {
                name: "Weekly review".into()
            })
        );
    }

    #[test]
    fn exec_commands_that_do_not_create_are_ignored() {
        for command in [
            "tools",
            "learn feature-flags",
            "search flag",
            "info create-feature-flag",
            "info --json create-feature-flag",
            "schema experiment-create feature_flag_key",
            "call feature-flag-get-all {}",
            r#"call update-feature-flag {"id": 4, "key": "x"}"#,
            "call --json",
            "call create-feature-flag not-json",
            "call create-feature-flag {\"key\": ",
            "call create-feature-flag {}",
            "",
        ] {
            assert_eq!(classify(&exec(command)), None, "{command:?}");
        }
        let no_command = pre(
            "mcp__posthog__exec",
            json!({"cmd": "call create-feature-flag {}"}),
        );
        assert_eq!(classify(&no_command), None);
    }

    #[test]
    fn created_object_from_content_blocks() {
        let flag_json = json!({
            "id": 104, "key": "alpha-feature", "name": "Alpha feature", "active": true,
            "created_by": {"id": 1, "email": "user@example.com"}
        });
        let input = post(
            "mcp__posthog__create-feature-flag",
            json!({"key": "alpha-feature"}),
            json!([{"type": "text", "text": flag_json.to_string()}]),
        );
        assert_eq!(created_object(&input), Some(flag_json.clone()));

        let wrapped = post(
            "mcp__posthog__create-feature-flag",
            json!({}),
            json!({"content": [{"type": "text", "text": flag_json.to_string()}], "isError": false}),
        );
        assert_eq!(created_object(&wrapped), Some(flag_json));
    }

    #[test]
    fn created_object_from_string_plain_object_and_prose() {
        let dashboard = json!({"id": 42, "name": "Default", "pinned": true, "tiles": []});
        let as_string = post(
            "mcp__posthog__dashboard-create",
            json!({}),
            Value::String(dashboard.to_string()),
        );
        assert_eq!(created_object(&as_string), Some(dashboard.clone()));

        let plain = post(
            "mcp__posthog__dashboard-create",
            json!({}),
            dashboard.clone(),
        );
        assert_eq!(created_object(&plain), Some(dashboard.clone()));

        let prose = post(
            "mcp__posthog__exec",
            json!({"command": "call --json dashboard-create {\"name\":\"Default\"}"}),
            json!([{"type": "text", "text": format!("Dashboard created: {dashboard}\nOpen it in PostHog.")}]),
        );
        assert_eq!(created_object(&prose), Some(dashboard));
    }

    #[test]
    fn created_object_prefers_the_top_level_resource() {
        let experiment = json!({
            "id": 7, "name": "Checkout button color",
            "feature_flag_key": "checkout-button-color",
            "feature_flag": {"id": 105, "key": "checkout-button-color"},
            "start_date": null
        });
        let input = post(
            "mcp__posthog__experiment-create",
            json!({}),
            json!({"content": [{"type": "text", "text": experiment.to_string()}]}),
        );
        assert_eq!(created_object(&input), Some(experiment));
    }

    #[test]
    fn created_object_none_for_errors_and_non_json() {
        let error = post(
            "mcp__posthog__create-feature-flag",
            json!({}),
            json!({"content": [{"type": "text", "text": "{\"id\": 1, \"key\": \"x\"}"}], "isError": true}),
        );
        assert_eq!(created_object(&error), None);
        let optimized = post(
            "mcp__posthog__exec",
            json!({}),
            json!([{"type": "text", "text": "Created flag release_x (id 12), active, 25% rollout"}]),
        );
        assert_eq!(created_object(&optimized), None);
        let pre_input = pre("mcp__posthog__create-feature-flag", json!({"key": "x"}));
        assert_eq!(created_object(&pre_input), None);
    }

    #[test]
    fn block_reason_names_the_entry_the_fix_and_the_escape_hatch() {
        let reason = block_reason(&flag("release_x", Some("Release X")));
        assert!(reason.contains(
            "feature flag `release_x` is not documented in Notion (Feature Flags database)"
        ));
        assert!(
            reason.contains("add a row with Flag Key = `release_x` to the Feature Flags database")
        );
        assert!(reason.contains("kodo ph-sync import flags"));
        assert!(reason.contains("KODO_ALLOW_UNDOCUMENTED=1"));

        let experiment = block_reason(&Creation::Experiment {
            name: "Checkout button color".into(),
            flag_key: Some("checkout-button-color".into()),
        });
        assert!(experiment.contains(
            "experiment `Checkout button color` is not documented in Notion (Experiments database)"
        ));
        assert!(experiment.contains(
            "Experiment Name = `Checkout button color` and Flag Key = `checkout-button-color`"
        ));
        assert!(experiment.contains("kodo ph-sync import experiments"));

        let dashboard = block_reason(&Creation::Dashboard {
            name: "API Performance".into(),
        });
        assert!(dashboard.contains("Dashboard Name = `API Performance` to the Dashboards database"));
        assert!(dashboard.contains("kodo ph-sync import dashboards"));
    }

    #[test]
    fn the_matcher_selects_exactly_the_table_and_exec() {
        let re = regex::Regex::new(TOOL_MATCHER).unwrap();
        for tool in CREATE_TOOLS {
            assert!(
                re.is_match(&format!("mcp__posthog__{}", tool.name)),
                "{}",
                tool.name
            );
        }
        let listed = TOOL_MATCHER
            .trim_start_matches("^mcp__.+__(")
            .trim_end_matches(")$")
            .split('|')
            .filter(|t| *t != "exec")
            .count();
        assert_eq!(listed, CREATE_TOOLS.len());
    }

    #[test]
    fn experiment_duplicates_copies_and_prompt_experiments_are_creations() {
        let dup = classify_call(&pre(
            "mcp__posthog__experiment-duplicate",
            json!({"id": "31", "name": "Pricing v2", "feature_flag_key": "exp_pricing_v2"}),
        ))
        .unwrap();
        assert_eq!(dup.tool.name, "experiment-duplicate");
        assert_eq!(
            dup.creation,
            Some(Creation::Experiment {
                name: "Pricing v2".into(),
                flag_key: Some("exp_pricing_v2".into())
            })
        );
        // No name: PostHog names it "Original Name (Copy)"; still a creation, unnamed.
        let unnamed = classify_call(&pre(
            "mcp__posthog__experiment-duplicate",
            json!({"id": 31}),
        ))
        .unwrap();
        assert_eq!(unnamed.creation, None);
        let copy = classify_call(&exec(
            r#"call experiment-copy-to-project {"id": 31, "target_team_id": 2, "name": "X"}"#,
        ))
        .unwrap();
        assert_eq!(copy.target_projects, Some(vec!["2".to_string()]));
        assert!(copy.creates_in("2") && !copy.creates_in("3"));
        let prompt = classify_call(&pre(
            "mcp__posthog__experiment-create-from-prompt",
            json!({"prompt_name": "p", "versions": [1, 2], "templates": ["cost"], "name": "P"}),
        ))
        .unwrap();
        assert_eq!(prompt.creation.unwrap().identifier(), "P");
        // A plain experiment create without a name is PostHog's to refuse.
        assert_eq!(
            classify_call(&pre(
                "mcp__posthog__experiment-create",
                json!({"feature_flag_key": "k"})
            )),
            None
        );
    }

    #[test]
    fn a_flag_copy_creates_its_key_in_each_target_project() {
        let copy = classify_call(&pre(
            "mcp__posthog__feature-flags-copy-flags-create",
            json!({"feature_flag_key": "beta_x", "from_project": 1, "target_project_ids": [2, 3]}),
        ))
        .unwrap();
        assert_eq!(
            copy.creation,
            Some(Creation::Flag {
                key: "beta_x".into(),
                name: None
            })
        );
        assert_eq!(copy.target_projects, Some(vec!["2".into(), "3".into()]));
        assert!(copy.creates_in("3") && copy.creates_in(" 2 ") && !copy.creates_in("1"));
        assert!(!copy.response_is_this_projects());
        // Through the CLI mode, the ids as a JSON string inside the object.
        let exec = classify_call(&exec(
            r#"call feature-flags-copy-flags-create {"feature_flag_key": "beta_x", "from_project": 1, "target_project_ids": "[2]"}"#,
        ))
        .unwrap();
        assert!(exec.creates_in("2") && exec.response_is_this_projects());
        // Without the key PostHog refuses the call: no creation.
        assert_eq!(
            classify_call(&pre(
                "mcp__posthog__feature-flags-copy-flags-create",
                json!({"from_project": 1, "target_project_ids": [2]}),
            )),
            None
        );
        // A plain create names no target projects: always this project.
        let create = classify_call(&pre(
            "mcp__posthog__create-feature-flag",
            json!({"key": "beta_x"}),
        ))
        .unwrap();
        assert!(create.creates_in("anything") && create.response_is_this_projects());
    }

    #[test]
    fn matcher_constant_compiles_and_selects_the_right_tools() {
        let re = regex::Regex::new(TOOL_MATCHER).unwrap();
        assert!(re.is_match("mcp__posthog__create-feature-flag"));
        assert!(re.is_match("mcp__plugin_posthog_posthog__exec"));
        assert!(!re.is_match("mcp__posthog__feature-flag-get-all"));
        assert!(!re.is_match("mcp__posthog__dashboard-create-tile"));
    }
}
