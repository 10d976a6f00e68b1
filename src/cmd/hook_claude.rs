//! `kodo hook claude`: the Claude Code PreToolUse / PostToolUse hook on PostHog's MCP create
//! tools (see `plugin/README.md` for what users are promised, [`super::claude`] for parsing).
//!
//! Flow: stdin (at most [`MAX_INPUT_BYTES`]) → [`parse_input`] → [`classify`]. A tool that
//! creates nothing kodo documents ends here, before the config is read or the network touched.
//! Otherwise the config is found from the hook's `cwd` (else the process's; `--config` wins) and:
//!
//! - **PreToolUse**, with `sync.require_notion_entry`: [`ALLOW_UNDOCUMENTED_ENV`] set → allowed
//!   with a note; else [`crate::lookup`] in live mode (one filtered Notion query; the rule for
//!   what documents a creation is [`crate::documented`]'s, the same as the git gates') →
//!   documented: allowed silently, not documented: blocked (exit 2, [`block_reason`] on stderr).
//!   When Notion does not answer, the local snapshot answers as far as it can (a block says so,
//!   with its date); when it cannot either, `sync.offline_policy` decides (`block` by default,
//!   with a message naming both ways to let creations through).
//! - **PostToolUse**, with `sync.auto_sync_on_create`: the created object is read from the tool's
//!   response ([`created_object`]), or read back from PostHog when the response does not hold
//!   it (the CLI mode's text output): by id when the output has one, else with the list's
//!   `?search=`, never a whole list; then [`crate::sync::upsert_from_posthog`] creates or
//!   updates its Notion row, and a `hookSpecificOutput.additionalContext` JSON on stdout tells
//!   Claude what was written.
//!
//! **Invariants.**
//! - The hook never hangs: the whole run, stdin included, ends within [`RUN_DEADLINE`], well
//!   below Claude Code's [`HOOK_TIMEOUT_SECS`]. The Notion lookup and the PostHog read-back each
//!   get at most [`TIMEOUT_ENV`] (default [`DEFAULT_STEP_TIMEOUT`]); the Notion write (several
//!   requests) gets what is left of the deadline. Each step runs on a thread and runtime of its
//!   own and is abandoned when it overruns (the thread dies with the process), so not even a
//!   stuck DNS lookup can hold the process open.
//! - Exit 2 ([`Outcome::Blocked`]) only ever means "this creation is refused", and only in
//!   PreToolUse. Every failure of the hook itself (unreadable stdin, a broken config, a Notion
//!   write that failed) is reported on stderr with exit 1, which Claude Code treats as a
//!   non-blocking error. Nothing panics on any input.
//! - stdout carries nothing but the PostToolUse JSON. No message contains a token: errors name
//!   the token's variable, and the API clients redact their own errors.
//! - A project without `.kodo/config.json` is never blocked and gets no output.

use std::future::Future;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::{self, Config, ConfigError, OfflinePolicy};
use crate::documented::DocKey;
use crate::hooks::claude::{
    block_reason, classify_call, created_object, parse_input, undocumented_flag_reason,
    unnamed_reason, CreateCall, Creation, HookEvent, HookInput, ALLOW_UNDOCUMENTED_ENV,
    HOOK_TIMEOUT_SECS,
};
use crate::lookup::{self, seconds, Answer, Mode};
use crate::model::Resource;
use crate::output::Printer;
use crate::sync::{self, fetch, UpsertResult};

use super::{Context, Outcome};

/// Environment variable overriding the timeout of the Notion lookup and of the PostHog
/// read-back, in milliseconds (1 to [`RUN_DEADLINE`]).
pub const TIMEOUT_ENV: &str = "KODO_HOOK_TIMEOUT_MS";

/// How long the Notion lookup (PreToolUse) or the PostHog read-back (PostToolUse) may take
/// unless [`TIMEOUT_ENV`] says otherwise.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(4);

/// The whole run's budget, stdin included: three seconds under Claude Code's hook timeout.
pub const RUN_DEADLINE: Duration = Duration::from_secs(HOOK_TIMEOUT_SECS - 3);

/// The most stdin the hook reads (a hook input is a few kilobytes; tool responses can be large).
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Prefix of every message the hook prints about itself.
const PREFIX: &str = "kodo hook claude";

/// `kodo hook claude`.
pub async fn run(ctx: &Context) -> anyhow::Result<Outcome> {
    let (step, warning) = step_timeout_checked(std::env::var(TIMEOUT_ENV).ok().as_deref());
    if let Some(warning) = warning {
        eprintln!("{PREFIX}: warning: {warning}");
    }
    let budget = Budget::start(step);
    let text = match read_stdin(budget.remaining()).await {
        Ok(text) => text,
        Err(why) => return Ok(input_error(&why)),
    };
    let input = match parse_input(&text) {
        Ok(input) => input,
        Err(e) => return Ok(input_error(&e.to_string())),
    };
    let Some(call) = classify_call(&input) else {
        return Ok(Outcome::Success);
    };
    let event = input.hook_event_name.clone();
    if !matches!(event, HookEvent::PreToolUse | HookEvent::PostToolUse) {
        return Ok(Outcome::Success);
    }
    let config = match load_config(ctx, input.cwd.as_deref()) {
        Loaded::Config(config) => *config,
        Loaded::NoProject => return Ok(Outcome::Success),
        Loaded::Broken(why) => {
            let skipped = match event {
                HookEvent::PostToolUse => "the Notion entry was not written",
                _ => "the documentation check was skipped",
            };
            eprintln!("{PREFIX}: the kodo config cannot be used, so {skipped}:\n{why}");
            return Ok(Outcome::CheckFailed);
        }
    };
    // A copy into other projects only (`experiment-copy-to-project`,
    // `feature-flags-copy-flags-create`): not the project kodo documents.
    if !call.creates_in(&config.posthog.project_id) {
        return Ok(Outcome::Success);
    }
    Ok(match (event, &call.creation) {
        (HookEvent::PreToolUse, Some(creation)) => pre_tool_use(&config, creation, &budget).await,
        (HookEvent::PreToolUse, None) => pre_tool_use_unnamed(&config, &call),
        (_, _) => post_tool_use(&config, &call, &input, &budget).await,
    })
}

fn input_error(why: &str) -> Outcome {
    eprintln!("{PREFIX}: cannot read the hook input: {why}");
    Outcome::CheckFailed
}

// ---- time ------------------------------------------------------------------------------------

/// The run's clock: a per-step timeout, capped by what is left of [`RUN_DEADLINE`].
struct Budget {
    started: Instant,
    step: Duration,
}

impl Budget {
    fn start(step: Duration) -> Budget {
        Budget {
            started: Instant::now(),
            step,
        }
    }

    fn remaining(&self) -> Duration {
        RUN_DEADLINE.saturating_sub(self.started.elapsed())
    }

    /// The time the next network step may take.
    fn step(&self) -> Duration {
        self.step.min(self.remaining())
    }
}

/// The per-step timeout from [`TIMEOUT_ENV`]'s value: whole milliseconds, at least 1, at most
/// [`RUN_DEADLINE`]; anything unreadable means [`DEFAULT_STEP_TIMEOUT`].
#[cfg(test)]
fn step_timeout(value: Option<&str>) -> Duration {
    step_timeout_checked(value).0
}

/// [`step_timeout`], with a warning when the value was unreadable or out of range (the hook
/// never fails over it: it says what it used instead).
fn step_timeout_checked(value: Option<&str>) -> (Duration, Option<String>) {
    let max = RUN_DEADLINE.as_millis() as u64;
    let Some(raw) = value.map(str::trim) else {
        return (DEFAULT_STEP_TIMEOUT, None);
    };
    match raw.parse::<u64>() {
        Ok(ms) if (1..=max).contains(&ms) => (Duration::from_millis(ms), None),
        Ok(ms) => {
            let used = ms.clamp(1, max);
            (
                Duration::from_millis(used),
                Some(format!(
                    "{TIMEOUT_ENV}={ms} is outside 1–{max} milliseconds; using {used} (unset it for the default, {} ms)",
                    DEFAULT_STEP_TIMEOUT.as_millis()
                )),
            )
        }
        Err(_) => (
            DEFAULT_STEP_TIMEOUT,
            Some(format!(
                "{TIMEOUT_ENV} is not a whole number of milliseconds; using the default, {} ms",
                DEFAULT_STEP_TIMEOUT.as_millis()
            )),
        ),
    }
}

/// Runs `make()`'s future on a thread and runtime of its own and waits at most `limit` for it.
/// On timeout the thread is abandoned (it ends with the process), so nothing it waits on, not
/// even a blocking DNS lookup, can delay the hook's exit. `Err` says why there is no value.
async fn detached<T, F, Fut>(limit: Duration, make: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("kodo-hook-step".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = tx.send(Err(format!("cannot start the async runtime: {e}")));
                    return;
                }
            };
            let value = runtime.block_on(async move { tokio::time::timeout(limit, make()).await });
            if let Ok(value) = value {
                let _ = tx.send(Ok(value));
            }
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    match tokio::time::timeout(limit, rx).await {
        Ok(Ok(result)) => result,
        _ => Err(format!("no answer within {}", seconds(limit))),
    }
}

// ---- stdin -----------------------------------------------------------------------------------

async fn read_stdin(limit: Duration) -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        return Err(
            "stdin is a terminal; `kodo hook claude` reads the JSON object Claude Code \
                    sends to hooks on stdin"
                .into(),
        );
    }
    match detached(limit, || async {
        read_capped(std::io::stdin().lock(), MAX_INPUT_BYTES)
    })
    .await
    {
        Ok(result) => result,
        Err(why) => Err(format!("stdin was not closed ({why})")),
    }
}

/// Reads all of `reader` as UTF-8, refusing more than `max` bytes.
fn read_capped(reader: impl Read, max: u64) -> Result<String, String> {
    let mut bytes = Vec::new();
    reader
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read stdin: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "the input is larger than {} MiB; a hook input is one JSON object of a few kilobytes",
            max / (1024 * 1024)
        ));
    }
    String::from_utf8(bytes).map_err(|e| format!("the input is not UTF-8 text: {e}"))
}

// ---- config ----------------------------------------------------------------------------------

enum Loaded {
    Config(Box<Config>),
    /// No `.kodo/config.json` found from the session's directory: not a kodo project.
    NoProject,
    Broken(String),
}

/// The config for the session: `--config` (relative to the process's directory), else the
/// first `.kodo/config.json` from the hook's `cwd` (else the process's) up to the repository
/// root. Warnings are not printed: a hook that lets a call through says nothing.
fn load_config(ctx: &Context, hook_cwd: Option<&Path>) -> Loaded {
    let path = match &ctx.common.config {
        Some(path) if path.is_absolute() => path.clone(),
        Some(path) => ctx.cwd.join(path),
        None => {
            let start: PathBuf = match hook_cwd {
                Some(dir) if dir.is_absolute() => dir.to_path_buf(),
                Some(dir) => ctx.cwd.join(dir),
                None => ctx.cwd.clone(),
            };
            match config::find(&start) {
                Ok(path) => path,
                Err(ConfigError::NotFound { .. }) => return Loaded::NoProject,
                Err(e) => return Loaded::Broken(e.to_string()),
            }
        }
    };
    match Config::load(&path) {
        Ok(config) => Loaded::Config(Box::new(config)),
        Err(e) => Loaded::Broken(e.to_string()),
    }
}

// ---- PreToolUse ------------------------------------------------------------------------------

/// Whether [`ALLOW_UNDOCUMENTED_ENV`]'s value lets undocumented creations through.
fn allows_undocumented(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// The resource a creation documents.
fn resource_of(creation: &Creation) -> Resource {
    creation.resource()
}

/// What the documentation lookup is asked about a creation: the object itself.
fn doc_key(creation: &Creation) -> DocKey {
    DocKey::new(creation.resource(), creation.identifier(), None)
}

/// The flag an experiment call creates for itself (PostHog makes it when no flag has the key),
/// which must be documented too: by a Feature Flags row, or by an experiment row naming it.
fn flag_key_of(creation: &Creation) -> Option<DocKey> {
    match creation {
        Creation::Experiment {
            flag_key: Some(key),
            ..
        } => Some(DocKey::flag(key)),
        _ => None,
    }
}

/// A create whose name PostHog picks: nobody can have documented it under that name, so with
/// `sync.require_notion_entry` it is refused until the call names it.
fn pre_tool_use_unnamed(config: &Config, call: &CreateCall) -> Outcome {
    if !config.sync.require_notion_entry
        || allows_undocumented(std::env::var(ALLOW_UNDOCUMENTED_ENV).ok().as_deref())
    {
        return Outcome::Success;
    }
    eprintln!("{}", unnamed_reason(call.tool));
    Outcome::Blocked
}

async fn pre_tool_use(config: &Config, creation: &Creation, budget: &Budget) -> Outcome {
    if !config.sync.require_notion_entry {
        return Outcome::Success;
    }
    if allows_undocumented(std::env::var(ALLOW_UNDOCUMENTED_ENV).ok().as_deref()) {
        eprintln!(
            "kodo: {ALLOW_UNDOCUMENTED_ENV} is set, so {} `{}` was not checked against Notion",
            creation.kind(),
            creation.identifier()
        );
        return Outcome::Success;
    }
    let key = doc_key(creation);
    let flag = flag_key_of(creation);
    let mut keys = std::collections::BTreeSet::from([key.clone()]);
    keys.extend(flag.clone());
    let (owned, asked, step) = (config.clone(), keys.clone(), budget.step());
    let answers = match detached(budget.remaining(), move || async move {
        lookup::answer(&owned, &asked, Mode::Live, step).await
    })
    .await
    {
        Ok(answers) => answers,
        Err(why) => lookup::without_notion(config, &keys, &why),
    };
    let why = answers.notion_failure.as_deref().unwrap_or_default();
    let flag_answer = flag.as_ref().map_or(Answer::Documented, |f| answers.get(f));
    match answers.get(&key) {
        Answer::Documented if flag_answer == Answer::Documented => Outcome::Success,
        Answer::Documented if flag_answer == Answer::Undocumented => {
            eprintln!("{}", undocumented_flag_reason(creation));
            Outcome::Blocked
        }
        Answer::Documented => offline_answer(
            config,
            creation,
            why,
            answers.snapshot_gap.as_deref().unwrap_or_default(),
        ),
        Answer::Undocumented if answers.from_snapshot.contains(&key) => {
            eprintln!(
                "{}\n(answered from the snapshot of {}: Notion did not answer: {why})",
                block_reason(creation),
                answers.snapshot_of.as_deref().unwrap_or("unknown date"),
            );
            Outcome::Blocked
        }
        Answer::Undocumented => {
            eprintln!("{}", block_reason(creation));
            Outcome::Blocked
        }
        Answer::Unknown => offline_answer(
            config,
            creation,
            why,
            answers.snapshot_gap.as_deref().unwrap_or_default(),
        ),
    }
}

/// Neither Notion (`why`) nor the snapshot (`gap`) could answer: `sync.offline_policy` decides.
fn offline_answer(config: &Config, creation: &Creation, why: &str, gap: &str) -> Outcome {
    let what = format!(
        "kodo: cannot tell whether {} `{}` is documented in Notion ({} database): Notion could \
         not be reached ({why}), and {gap}; `kodo snapshot refresh` writes a fresh one.",
        creation.kind(),
        creation.identifier(),
        creation.notion_database(),
    );
    match config.sync.offline_policy {
        OfflinePolicy::Block => {
            eprintln!(
                "{what}\nsync.offline_policy is \"block\", so the creation is blocked. To let it \
                 through, restart Claude Code with {ALLOW_UNDOCUMENTED_ENV}=1 in its environment, \
                 or set sync.offline_policy to \"allow\" in `{}`.",
                config.path.display()
            );
            Outcome::Blocked
        }
        OfflinePolicy::Allow => {
            eprintln!("warning: {what}\nsync.offline_policy is \"allow\", so it goes ahead.");
            Outcome::Success
        }
    }
}

fn one_line(text: &str) -> String {
    text.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

// ---- PostToolUse -----------------------------------------------------------------------------

async fn post_tool_use(
    config: &Config,
    call: &CreateCall,
    input: &HookInput,
    budget: &Budget,
) -> Outcome {
    if !config.sync.auto_sync_on_create || tool_failed(input) {
        return Outcome::Success;
    }
    // A call that left the name to PostHog: the response names what was created.
    let named = call.creation.clone().or_else(|| {
        let object = created_object(input)?;
        Some(Creation::Experiment {
            name: object.get("name")?.as_str()?.to_string(),
            flag_key: object
                .get("feature_flag_key")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    });
    let Some(creation) = named.as_ref() else {
        eprintln!(
            "{PREFIX}: `{}` created an experiment whose name its response does not give, so \
             its Notion entry was not written.\nRun `kodo ph-sync import experiments` to \
             document it.",
            call.tool.name
        );
        return Outcome::CheckFailed;
    };
    let resource = resource_of(creation);
    // A copy into several projects answers with every target's copy: read this one's back.
    let response = Some(input).filter(|_| call.response_is_this_projects());
    let object = match response
        .and_then(created_object)
        .filter(|o| fits(creation, o))
    {
        Some(object) => object,
        None => {
            let owned = (
                config.clone(),
                creation.clone(),
                response.and_then(output_id),
            );
            let fetched = detached(budget.step(), move || async move {
                find_in_posthog(&owned.0, &owned.1, owned.2).await
            })
            .await
            .and_then(|found| found);
            match fetched {
                Ok(object) => object,
                Err(why) => {
                    return not_written(
                        creation,
                        &format!(
                            "the tool's response does not hold the created object, and reading \
                             it back from PostHog failed: {why}"
                        ),
                    )
                }
            }
        }
    };
    let name = object_name(resource, &object).unwrap_or_else(|| creation.identifier().into());
    let owned = config.clone();
    let deadline = std::time::Instant::now() + budget.remaining();
    let written = detached(budget.remaining(), move || async move {
        // One writer at a time: a second hook for the same creation (plugin hooks plus
        // settings hooks) waits here, then finds the row the first one wrote.
        let _lock =
            crate::lock::acquire(&owned.kodo_dir(), crate::lock::Wait::Until(deadline), || {})
                .await
                .map_err(|e| e.to_string())?;
        sync::upsert_from_posthog(&owned, resource, &object, &Printer::silent())
            .await
            .map_err(|e| format!("{e:#}"))
    })
    .await
    .and_then(|result| result);
    match written {
        Ok(result) => {
            let context = describe(creation, &name, &result);
            let output = crate::hooks::wire::ClaudeHookOutput::post_tool_use(context);
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string(&output).unwrap_or_default()
            );
            let _ = out.flush();
            Outcome::Success
        }
        Err(why) => not_written(creation, &format!("writing to Notion failed: {why}")),
    }
}

fn not_written(creation: &Creation, why: &str) -> Outcome {
    eprintln!(
        "{PREFIX}: {} `{}` was created in PostHog, but its Notion entry was not written: {}\n\
         Run `kodo ph-sync import {}` to document it.",
        creation.kind(),
        creation.identifier(),
        one_line(why),
        creation.resource_type()
    );
    Outcome::CheckFailed
}

/// Whether the tool call reported a failure: MCP's `isError`, PostHog's error object
/// (`{type, code, detail}`), or a text answer that starts with `Error:` (PostHog's MCP server)
/// or `MCP error` (the MCP SDK's).
fn tool_failed(input: &HookInput) -> bool {
    let Some(response) = input.tool_response.as_ref() else {
        return false;
    };
    let flagged = ["isError", "is_error"]
        .iter()
        .any(|k| response.get(k).and_then(Value::as_bool) == Some(true));
    flagged || is_error_value(response, 0)
}

fn is_error_value(value: &Value, depth: usize) -> bool {
    if depth > 3 {
        return false;
    }
    match value {
        Value::String(text) => {
            let text = text.trim_start();
            ["error:", "mcp error"].iter().any(|prefix| {
                text.get(..prefix.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
            }) || serde_json::from_str::<Value>(text)
                .is_ok_and(|v| v.is_object() && is_posthog_error(&v))
        }
        Value::Array(items) => items.first().is_some_and(|v| is_error_value(v, depth + 1)),
        Value::Object(map) => {
            is_posthog_error(value)
                || ["text", "content"]
                    .iter()
                    .filter_map(|k| map.get(*k))
                    .any(|v| is_error_value(v, depth + 1))
        }
        _ => false,
    }
}

fn is_posthog_error(value: &Value) -> bool {
    value.get("detail").is_some_and(Value::is_string)
        && value.get("type").is_some_and(Value::is_string)
        && value.get("id").is_none()
}

/// Whether an object from the response is the kind of resource the call creates.
fn fits(creation: &Creation, object: &Value) -> bool {
    let text = |k: &str| object.get(k).and_then(Value::as_str).is_some();
    match creation {
        Creation::Flag { .. } => text("key"),
        Creation::Experiment { .. } | Creation::Dashboard { .. } => {
            text("name") && object.get("id").is_some()
        }
    }
}

fn object_name(resource: Resource, object: &Value) -> Option<String> {
    object
        .get(resource.schema().posthog.name_field)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
}

/// Reads the created resource back from PostHog within the hook's budget, never a whole list:
/// by id when the tool's output gives one (`id`), else through the list's `?search=` (flags by
/// key, experiments and dashboards by name), keeping the exact match: the flag with the key,
/// the newest experiment with the name (and flag key, when given), the newest dashboard with
/// the name.
async fn find_in_posthog(
    config: &Config,
    creation: &Creation,
    id: Option<i64>,
) -> Result<Value, String> {
    let client = fetch::posthog_client(config, &Printer::silent()).map_err(|e| e.to_string())?;
    if let Some(id) = id {
        let resource = match creation {
            Creation::Flag { .. } => "feature_flags",
            Creation::Experiment { .. } => "experiments",
            Creation::Dashboard { .. } => "dashboards",
        };
        if let Some(object) = client
            .retrieve(resource, id)
            .await
            .map_err(|e| e.to_string())?
            .filter(|o| fits(creation, o) && object_is(creation, o))
        {
            return Ok(object);
        }
    }
    let found = match creation {
        Creation::Flag { key, .. } => client
            .feature_flags_matching(key)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|f| &f.key == key)
            .map(serde_json::to_value),
        Creation::Experiment { name, flag_key } => client
            .experiments_matching(name)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|x| &x.name == name)
            .filter(|x| flag_key.as_ref().is_none_or(|k| &x.feature_flag_key == k))
            .max_by_key(|x| x.id)
            .map(serde_json::to_value),
        Creation::Dashboard { name } => client
            .dashboards_matching(name)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|d| &d.name == name)
            .max_by_key(|d| d.id)
            .map(serde_json::to_value),
    };
    match found {
        Some(Ok(object)) => Ok(object),
        Some(Err(e)) => Err(format!("cannot read PostHog's answer: {e}")),
        None => Err(format!(
            "PostHog has no {} `{}`",
            creation.kind(),
            creation.identifier()
        )),
    }
}

/// Whether an object read by id is the one the call created (its key or name).
fn object_is(creation: &Creation, object: &Value) -> bool {
    let field = if matches!(creation, Creation::Flag { .. }) {
        "key"
    } else {
        "name"
    };
    object.get(field).and_then(Value::as_str) == Some(creation.identifier())
}

/// The id in a tool's output, when it has one: a JSON object with a numeric `id`.
fn output_id(input: &HookInput) -> Option<i64> {
    created_object(input)?.get("id")?.as_i64()
}

/// What Claude is told after the write.
fn describe(creation: &Creation, name: &str, result: &UpsertResult) -> String {
    let kind = creation.kind();
    let database = creation.notion_database();
    let (what, url) = match result {
        UpsertResult::Created { url, .. } | UpsertResult::Recovered { url, .. } => {
            ("created".to_string(), url)
        }
        UpsertResult::Updated {
            url, properties, ..
        } => (format!("updated: {}", properties.join(", ")), url),
        UpsertResult::Unchanged { url, .. } => ("unchanged, already up to date".to_string(), url),
        UpsertResult::Existing { url, .. } => {
            ("already created by another kodo run".to_string(), url)
        }
        UpsertResult::Skipped { reason } => {
            return format!("kodo did not document {kind} `{name}` in Notion: {reason}");
        }
    };
    let mut text =
        format!("kodo documented {kind} `{name}` in Notion ({database} database, {what})");
    if let Some(url) = url {
        text.push_str(": ");
        text.push_str(url);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn post(response: Value) -> HookInput {
        let payload = json!({
            "hook_event_name": "PostToolUse",
            "tool_name": "mcp__posthog__create-feature-flag",
            "tool_input": {"key": "release_x"},
            "tool_response": response,
        });
        parse_input(&payload.to_string()).expect("valid hook input")
    }

    #[test]
    fn the_step_timeout_comes_from_the_environment_within_the_deadline() {
        assert_eq!(step_timeout(None), DEFAULT_STEP_TIMEOUT);
        assert_eq!(step_timeout(Some("250")), Duration::from_millis(250));
        assert_eq!(step_timeout(Some(" 900 ")), Duration::from_millis(900));
        assert_eq!(step_timeout(Some("0")), Duration::from_millis(1));
        assert_eq!(step_timeout(Some("60000")), RUN_DEADLINE);
        assert_eq!(step_timeout(Some("soon")), DEFAULT_STEP_TIMEOUT);
        assert_eq!(step_timeout_checked(Some("250")).1, None);
        let (_, warning) = step_timeout_checked(Some("60000"));
        assert!(
            warning.is_some_and(|w| w.contains("KODO_HOOK_TIMEOUT_MS=60000 is outside 1–")),
            "out of range is said"
        );
        let (_, warning) = step_timeout_checked(Some("soon"));
        assert!(
            warning.is_some_and(|w| w.contains("not a whole number of milliseconds")),
            "unreadable is said"
        );
        assert!(DEFAULT_STEP_TIMEOUT < RUN_DEADLINE);
        assert!(RUN_DEADLINE < Duration::from_secs(HOOK_TIMEOUT_SECS));
    }

    #[test]
    fn the_budget_never_gives_a_step_more_than_is_left() {
        let budget = Budget::start(Duration::from_secs(60));
        assert!(budget.step() <= RUN_DEADLINE);
        let budget = Budget::start(Duration::from_millis(5));
        assert_eq!(budget.step(), Duration::from_millis(5));
    }

    #[test]
    fn stdin_is_capped_and_must_be_text() {
        assert_eq!(read_capped(&b"{}"[..], 16).as_deref(), Ok("{}"));
        let too_big = read_capped(&[b' '; 17][..], 16).unwrap_err();
        assert!(too_big.contains("larger than"), "{too_big}");
        let binary = read_capped(&[0xff, 0xfe][..], 16).unwrap_err();
        assert!(binary.contains("not UTF-8"), "{binary}");
    }

    #[tokio::test]
    async fn a_step_that_never_ends_is_abandoned() {
        let result: Result<(), String> =
            detached(Duration::from_millis(20), std::future::pending::<()>).await;
        assert_eq!(result, Err("no answer within 0.0 s".to_string()));
        let done = detached(Duration::from_secs(5), || async { 7 }).await;
        assert_eq!(done, Ok(7));
    }

    #[test]
    fn the_escape_hatch_takes_the_usual_spellings_of_yes() {
        for yes in ["1", "true", "TRUE", " yes ", "on"] {
            assert!(allows_undocumented(Some(yes)), "{yes}");
        }
        for no in ["", "0", "false", "no", "off"] {
            assert!(!allows_undocumented(Some(no)), "{no}");
        }
        assert!(!allows_undocumented(None));
    }

    #[test]
    fn failed_tool_calls_are_recognised() {
        assert!(tool_failed(&post(json!({"content": [], "isError": true}))));
        assert!(tool_failed(&post(json!([{"type": "text",
            "text": "Error: Failed to create feature flag: A feature flag with this key already exists."}]))));
        assert!(tool_failed(&post(json!([{"type": "text", "text":
            "{\"type\":\"validation_error\",\"code\":\"unique\",\"detail\":\"There is already a feature flag with this key.\",\"attr\":\"key\"}"}]))));
        assert!(!tool_failed(&post(
            json!([{"type": "text", "text": "{\"id\": 4, \"key\": \"release_x\"}"}])
        )));
        assert!(!tool_failed(&post(
            json!([{"type": "text", "text": "Created flag release_x (id 12)"}])
        )));
        assert!(!tool_failed(&post(
            json!([{"type": "text", "text": "Error Tracking (id 124) created"}])
        )));
        assert!(!tool_failed(&post(
            json!({"id": 4, "key": "release_x", "type": "boolean", "detail": "x"})
        )));
    }

    #[test]
    fn response_objects_must_be_the_created_kind() {
        let flag = Creation::Flag {
            key: "release_x".into(),
            name: None,
        };
        assert!(fits(&flag, &json!({"id": 4, "key": "release_x"})));
        assert!(!fits(&flag, &json!({"id": 4, "name": "Release X"})));
        let dashboard = Creation::Dashboard {
            name: "Growth".into(),
        };
        assert!(fits(&dashboard, &json!({"id": 9, "name": "Growth"})));
        assert!(!fits(&dashboard, &json!({"name": "Growth"})));
    }

    #[test]
    fn claude_is_told_what_was_written_and_where() {
        let flag = Creation::Flag {
            key: "release_x".into(),
            name: None,
        };
        let created = UpsertResult::Created {
            page_id: "p".into(),
            url: Some("https://www.notion.so/p".into()),
        };
        assert_eq!(
            describe(&flag, "release_x", &created),
            "kodo documented feature flag `release_x` in Notion (Feature Flags database, created): https://www.notion.so/p"
        );
        let updated = UpsertResult::Updated {
            page_id: "p".into(),
            url: None,
            properties: vec!["Status".into(), "Rollout %".into()],
        };
        assert_eq!(
            describe(&flag, "release_x", &updated),
            "kodo documented feature flag `release_x` in Notion (Feature Flags database, updated: Status, Rollout %)"
        );
    }
}
