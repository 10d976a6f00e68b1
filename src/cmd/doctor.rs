//! `kodo doctor`: is this repository ready for kodo? One line per check, the fix beside each
//! failure, exit 1 when any check fails.
//!
//! Checks, in order: the config (with its warnings, "did you mean" included; a near miss of
//! a safety key is already a config error), each token's presence and kind, Notion access
//! (the token's bot), the parent page (`notion.pages.analytics_home`) shared with the
//! integration, each configured database reachable with kodo's schema, PostHog access to each
//! endpoint kodo reads (the project, each endpoint's scope: the four resources, the event
//! properties and the organization's members), the snapshot's age and the installed hooks.
//!
//! **Invariants.** Read-only: doctor writes nothing, anywhere. A check that cannot run because
//! an earlier one failed is not reported (the earlier failure is the fix). No token value is
//! ever printed: a token is described by its kind (its public prefix).

use std::path::Path;

use crate::cli::ReportFormat;
use crate::config::{Config, ConfigError};
use crate::model::Resource;
use crate::snapshot::Snapshot;
use crate::sync::fetch;

use super::{Context, Outcome};

/// A check's verdict (the wire's: the same three words people and machines read).
pub use kodo_core::wire::CheckStatus as Status;

fn word(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Warn => "warn",
        Status::Fail => "FAIL",
    }
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Check {
    pub check: String,
    pub status: Status,
    pub detail: String,
    /// What to do, for a warning or a failure.
    pub hint: Option<String>,
}

fn check(name: &str, status: Status, detail: impl Into<String>, hint: Option<String>) -> Check {
    Check {
        check: name.to_string(),
        status,
        detail: detail.into(),
        hint,
    }
}

/// `kodo doctor`.
pub async fn run(ctx: &Context, format: Option<ReportFormat>) -> anyhow::Result<Outcome> {
    let checks = checks(ctx).await;
    let failed = checks.iter().any(|c| c.status == Status::Fail);
    if format == Some(ReportFormat::Json) {
        ctx.printer.data(&kodo_core::wire::to_json(&wire(&checks)));
    } else {
        ctx.printer.data(&render(&checks));
    }
    Ok(if failed {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    })
}

/// The report for machines.
pub fn wire(checks: &[Check]) -> kodo_core::wire::Doctor {
    kodo_core::wire::Doctor {
        version: kodo_core::wire::VERSION,
        ok: !checks.iter().any(|c| c.status == Status::Fail),
        checks: checks
            .iter()
            .map(|c| kodo_core::wire::DoctorCheck {
                check: c.check.clone(),
                status: c.status,
                detail: c.detail.clone(),
                hint: c.hint.clone(),
            })
            .collect(),
    }
}

/// The report for people: one line per check, the hint indented below.
pub fn render(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.check.len()).max().unwrap_or(0);
    let mut out = String::from("# kodo doctor\n\n```text\n");
    for c in checks {
        out.push_str(&format!(
            "{:<4}  {:<width$}  {}\n",
            word(c.status),
            c.check,
            c.detail
        ));
        if let Some(hint) = &c.hint {
            out.push_str(&format!("{:<4}  {:<width$}  hint: {hint}\n", "", ""));
        }
    }
    out.push_str("```\n\n");
    let fails = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warns = checks.iter().filter(|c| c.status == Status::Warn).count();
    out.push_str(&match (fails, warns) {
        (0, 0) => "Everything kodo needs is in place.\n".to_string(),
        (0, w) => format!("Ready, with {w} warning{}.\n", plural(w)),
        (f, _) => format!("{f} check{} failed.\n", plural(f)),
    });
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

async fn checks(ctx: &Context) -> Vec<Check> {
    let mut out = Vec::new();
    let config = match config_checks(ctx, &mut out) {
        Some(config) => config,
        None => {
            hook_checks(&ctx.cwd, None, &mut out);
            return out;
        }
    };
    let notion_ok = token_check(
        "notion token",
        config.notion_token(),
        &[("ntn_", "an internal integration token"), ("secret_", "an internal integration token")],
        "a Notion internal integration token (ntn_… or secret_…) from notion.so/profile/integrations",
        &mut out,
    );
    let posthog_ok = token_check(
        "posthog token",
        config.posthog_token(),
        &[("phx_", "a personal API key")],
        "a PostHog personal API key (phx_…): Settings → Personal API keys",
        &mut out,
    );
    if notion_ok {
        notion_checks(ctx, &config, &mut out).await;
    }
    if posthog_ok {
        posthog_checks(ctx, &config, &mut out).await;
    }
    snapshot_check(&config, &mut out);
    hook_checks(&config.root, Some(&config), &mut out);
    out
}

fn config_checks(ctx: &Context, out: &mut Vec<Check>) -> Option<Config> {
    let path = match ctx.config_path() {
        Ok(path) => path,
        Err(ConfigError::NotFound { .. }) => {
            out.push(check(
                "config",
                Status::Fail,
                format!(
                    "no .kodo/config.json from {} up to the repository root",
                    ctx.cwd.display()
                ),
                Some("run `kodo ph-sync setup` to write a starter config".into()),
            ));
            return None;
        }
        Err(e) => {
            out.push(fail_from("config", &e.to_string()));
            return None;
        }
    };
    match Config::load(&path) {
        Ok(config) => {
            out.push(check(
                "config",
                Status::Ok,
                path.display().to_string(),
                None,
            ));
            for warning in &config.warnings {
                out.push(check("config", Status::Warn, warning.0.clone(), None));
            }
            Some(config)
        }
        Err(e) => {
            out.push(fail_from("config", &e.to_string()));
            None
        }
    }
}

/// A failure whose message may carry `hint:` lines (kodo's error style), split apart.
fn fail_from(name: &str, message: &str) -> Check {
    let (detail, hint) = match message.split_once("\n  hint: ") {
        Some((detail, hint)) => (detail.to_string(), Some(hint.trim().to_string())),
        None => (message.to_string(), None),
    };
    check(name, Status::Fail, detail, hint)
}

/// Presence and kind of a token; true when it can be used.
fn token_check(
    name: &str,
    token: Result<String, ConfigError>,
    kinds: &[(&str, &str)],
    expected: &str,
    out: &mut Vec<Check>,
) -> bool {
    let token = match token {
        Ok(token) => token,
        Err(e) => {
            out.push(fail_from(name, &e.to_string()));
            return false;
        }
    };
    if let Some((prefix, kind)) = kinds.iter().find(|(p, _)| token.starts_with(p)) {
        out.push(check(
            name,
            Status::Ok,
            format!("set: {kind} ({prefix}…)"),
            None,
        ));
        return true;
    }
    if token.starts_with("phc_") {
        out.push(check(
            name,
            Status::Fail,
            "set, but to a project API key (phc_…), which cannot read flags, experiments, dashboards or event definitions",
            Some(format!("use {expected}")),
        ));
        return false;
    }
    out.push(check(
        name,
        Status::Warn,
        "set, but not in a form kodo recognises",
        Some(format!("expected {expected}")),
    ));
    true
}

async fn notion_checks(ctx: &Context, config: &Config, out: &mut Vec<Check>) {
    let client = match fetch::notion_client(config, &ctx.printer) {
        Ok(client) => client,
        Err(e) => {
            out.push(fail_from("notion", &e.to_string()));
            return;
        }
    };
    match client.me().await {
        Ok(me) => out.push(check(
            "notion",
            Status::Ok,
            format!(
                "reachable; the token belongs to the integration `{}`",
                me.name
            ),
            None,
        )),
        Err(e) => {
            out.push(fail_from("notion", &e.to_string()));
            return;
        }
    }
    match &config.notion.analytics_home {
        None => out.push(check(
            "parent page",
            Status::Warn,
            "`notion.pages.analytics_home` is not set",
            Some("setup creates the databases under it: paste the page's URL or ID".into()),
        )),
        Some(id) => match client.retrieve_page(id).await {
            Ok(_) => out.push(check(
                "parent page",
                Status::Ok,
                format!("{id} is shared with the integration"),
                None,
            )),
            Err(e) if e.is_not_found() => out.push(check(
                "parent page",
                Status::Fail,
                format!("{id} (`notion.pages.analytics_home`) is not shared with the integration, or does not exist"),
                Some("open the page in Notion → ••• → Connections → add the integration".into()),
            )),
            Err(e) => out.push(fail_from("parent page", &e.to_string())),
        },
    }
    let state = crate::state::State::load(&config.kodo_dir()).unwrap_or_default();
    for resource in Resource::ALL {
        let name = format!("{} database", resource.plural());
        let Some(id) = config.notion.databases.get(resource) else {
            out.push(check(
                &name,
                Status::Fail,
                format!("`notion.databases.{}` is not set", resource.config_key()),
                Some(
                    "run `kodo ph-sync setup` to create it, or paste the database's URL or ID"
                        .into(),
                ),
            ));
            continue;
        };
        let ds = match client.resolve_data_source(id).await {
            // A property renamed in Notion is followed by its id, as setup and import do.
            Ok(ds) => crate::sync::fetch::follow_renames(&client, resource, ds, &state),
            Err(e) => {
                out.push(fail_from(&name, &e.to_string()));
                continue;
            }
        };
        match crate::sync::setup::schema_update(resource.schema(), &ds) {
            Ok(None) => out.push(check(
                &name,
                Status::Ok,
                format!("`{}`: reachable, schema complete", ds.title),
                None,
            )),
            Ok(Some(update)) => {
                let mut missing = update.added_properties.clone();
                missing.extend(
                    update
                        .added_options
                        .iter()
                        .map(|(p, o)| format!("{p} options {}", o.join(", "))),
                );
                out.push(check(
                    &name,
                    Status::Fail,
                    format!("`{}`: missing {}", ds.title, missing.join("; ")),
                    Some(
                        "run `kodo ph-sync setup`, which adds them (it changes nothing else)"
                            .into(),
                    ),
                ));
            }
            Err(wrong) => out.push(check(
                &name,
                Status::Fail,
                format!("`{}`: {wrong}", ds.title),
                Some("fix the property in Notion (kodo does not change a property's type)".into()),
            )),
        }
    }
}

async fn posthog_checks(ctx: &Context, config: &Config, out: &mut Vec<Check>) {
    let client = match fetch::posthog_client(config, &ctx.printer) {
        Ok(client) => client,
        Err(e) => {
            out.push(fail_from("posthog", &e.to_string()));
            return;
        }
    };
    for resource in Resource::ALL {
        let source = &resource.schema().posthog;
        let (endpoint, scope) = (source.endpoint, source.scope);
        let name = format!("posthog {}", resource.plural());
        match client.can_read(endpoint).await {
            Ok(()) => out.push(check(
                &name,
                Status::Ok,
                format!("project {} readable ({scope})", config.posthog.project_id),
                None,
            )),
            // A key limited to other projects (its `scoped_teams`) is refused on every
            // endpoint of this one alike: one line, not one per endpoint.
            Err(kodo_api::ApiError::Forbidden { message, .. })
                if message.contains("does not have access to the requested project") =>
            {
                out.push(check(
                    "posthog project",
                    Status::Fail,
                    format!("PostHog refused: {message}"),
                    Some(format!(
                        "the key in {} is limited to other projects: give it access to project {} (PostHog: Settings → Personal API keys → edit the key), or use a key that has it",
                        config.posthog.token_env_var, config.posthog.project_id
                    )),
                ));
                return;
            }
            // The key is valid but lacks this endpoint's scope: PostHog's words and the
            // scope to add; the other endpoints are still checked.
            Err(kodo_api::ApiError::Forbidden { message, hint, .. }) => out.push(check(
                &name,
                Status::Fail,
                format!("PostHog refused: {message}"),
                Some(hint),
            )),
            // A rejected key or a connection that cannot be made is the same for every
            // endpoint: one line, named for what failed, and no scope advice (a scope is
            // PostHog's 403, above).
            Err(e @ kodo_api::ApiError::Unauthorized { .. }) => {
                let mut c = fail_from("posthog key", &e.to_string());
                c.hint.get_or_insert_with(|| {
                    format!(
                        "PostHog does not know this key at {}: create a personal API key (phx_…) under Settings → Personal API keys in that region (US https://us.posthog.com, EU https://eu.posthog.com, `posthog.region_url`) and put it in {}",
                        config.posthog.region_url, config.posthog.token_env_var
                    )
                });
                out.push(c);
                return;
            }
            Err(e @ kodo_api::ApiError::Network { .. }) => {
                out.push(fail_from("posthog", &e.to_string()));
                return;
            }
            Err(e) => {
                let mut c = fail_from(&name, &e.to_string());
                if c.hint.is_none() {
                    c.hint = Some(format!(
                        "the key needs the scope {scope} on project {}",
                        config.posthog.project_id
                    ));
                }
                out.push(c);
            }
        }
    }
    // The events' properties (the audit's Properties section, the schema `import` extends):
    // without the scope, the audit judges each event's properties on the code alone, so a
    // warning, not a failure.
    let scope = PROPERTIES_SCOPE;
    let name = "posthog properties";
    match client.can_read("property_definitions").await {
        Ok(()) => out.push(check(
            name,
            Status::Ok,
            format!("project {} readable ({scope})", config.posthog.project_id),
            None,
        )),
        Err(e) => {
            let mut c = match e {
                kodo_api::ApiError::Forbidden { message, .. } => check(
                    name,
                    Status::Warn,
                    format!("PostHog refused: {message}"),
                    None,
                ),
                // Every other failure in full, hint included (it is replaced below).
                e => fail_from(name, &e.to_string()),
            };
            c.status = Status::Warn;
            c.detail = format!(
                "{}; the audit judges event properties on the code alone",
                c.detail.trim_end_matches('.')
            );
            c.hint = Some(format!(
                "give the key the scope {scope} on project {} to check event properties against what PostHog has seen",
                config.posthog.project_id
            ));
            out.push(c);
        }
    }
    members_check(&client, config, out).await;
}

/// The organization's members (`GET /api/organizations/@current/members/`, which the sync
/// reads to tell a PostHog creator who left): without `organization_member:read`, kodo says so
/// in a note and judges owners by the Notion workspace alone, so a warning, not a failure.
async fn members_check(client: &kodo_api::PostHogClient, config: &Config, out: &mut Vec<Check>) {
    let name = "posthog members";
    match client.organization_members().await {
        Ok(kodo_api::MembersAccess::Members(members)) => out.push(check(
            name,
            Status::Ok,
            format!(
                "the organization's {} member{} readable ({MEMBERS_SCOPE})",
                members.len(),
                plural(members.len())
            ),
            None,
        )),
        Ok(kodo_api::MembersAccess::NotAllowed) => out.push(check(
            name,
            Status::Warn,
            format!("the key may not read the organization's members ({MEMBERS_SCOPE}): a PostHog creator who left is recognised only by their absence from the Notion workspace"),
            Some(format!(
                "give the key in {} the scope {MEMBERS_SCOPE}",
                config.posthog.token_env_var
            )),
        )),
        Err(e) => {
            let mut c = fail_from(name, &e.to_string());
            c.status = Status::Warn;
            out.push(c);
        }
    }
}

/// `OrganizationMemberViewSet`'s `scope_object = "organization_member"` (PostHog/posthog
/// `posthog/api/organization_member.py`).
const MEMBERS_SCOPE: &str = "organization_member:read";

/// The PostHog scope the events' property definitions need
/// (`GET /api/projects/:id/property_definitions/`, `PropertyDefinitionViewSet`'s
/// `scope_object = "property_definition"` in PostHog/posthog `posthog/api/property_definition.py`).
const PROPERTIES_SCOPE: &str = "property_definition:read";

fn snapshot_check(config: &Config, out: &mut Vec<Check>) {
    let max_hours = config.sync.snapshot_max_age_hours;
    match Snapshot::load(&config.kodo_dir()) {
        Ok(None) => out.push(check(
            "snapshot",
            Status::Warn,
            "no .kodo/snapshot.json: the hooks ask Notion on every check",
            Some("run `kodo snapshot refresh`".into()),
        )),
        Ok(Some(snapshot)) => match snapshot.age() {
            Some(age) if age.as_secs_f64() <= max_hours * 3600.0 => out.push(check(
                "snapshot",
                Status::Ok,
                format!(
                    "{} old (sync.snapshot_max_age_hours is {max_hours})",
                    human_age(age)
                ),
                None,
            )),
            Some(age) => out.push(check(
                "snapshot",
                Status::Warn,
                format!(
                    "{} old, over sync.snapshot_max_age_hours ({max_hours}): the hooks ask Notion",
                    human_age(age)
                ),
                Some("run `kodo snapshot refresh` (any ph-sync command refreshes it too)".into()),
            )),
            None => out.push(check(
                "snapshot",
                Status::Warn,
                format!("unreadable generated_at `{}`", snapshot.generated_at),
                Some("run `kodo snapshot refresh`".into()),
            )),
        },
        Err(e) => out.push(fail_from("snapshot", &e.to_string())),
    }
}

fn human_age(age: std::time::Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..=119 => "under 2 minutes".to_string(),
        120..=7199 => format!("{} minutes", secs / 60),
        _ => format!("{} hours", secs / 3600),
    }
}

/// The git pre-commit gate and the Claude Code hooks.
fn hook_checks(root: &Path, config: Option<&Config>, out: &mut Vec<Check>) {
    let git = crate::hooks::precommit::git::Git::new(root);
    match git.hooks_dir() {
        Err(_) => out.push(check(
            "git hook",
            Status::Warn,
            "not a git repository: no pre-commit gate",
            None,
        )),
        Ok(dir) => {
            let hook = std::fs::read_to_string(dir.join("pre-commit")).unwrap_or_default();
            let framework = [
                ".pre-commit-config.yaml",
                "lefthook.yml",
                ".husky/pre-commit",
            ]
            .iter()
            .find(|f| {
                std::fs::read_to_string(root.join(f)).is_ok_and(|t| {
                    t.contains("kodo hook pre-commit") || t.contains("kodo-undocumented-events")
                })
            });
            if hook
                .lines()
                .any(|l| l.trim() == crate::hooks::install::MARKER)
            {
                out.push(check(
                    "git hook",
                    Status::Ok,
                    "kodo's pre-commit hook is installed",
                    None,
                ));
            } else if let Some(file) = framework {
                out.push(check(
                    "git hook",
                    Status::Ok,
                    format!("the pre-commit gate runs from {file}"),
                    None,
                ));
            } else {
                out.push(check(
                    "git hook",
                    Status::Warn,
                    "no pre-commit gate: undocumented events can be committed",
                    Some("run `kodo hooks install`".into()),
                ));
            }
        }
    }
    let settings = [".claude/settings.json", ".claude/settings.local.json"];
    let in_settings = settings.iter().find(|f| {
        std::fs::read_to_string(root.join(f)).is_ok_and(|t| {
            t.contains(crate::hooks::install::CLAUDE_COMMAND) || t.contains("\"kodo@")
        })
    });
    let required = config.is_some_and(|c| c.sync.require_notion_entry);
    match in_settings {
        Some(file) => out.push(check(
            "claude hooks",
            Status::Ok,
            format!("{file} runs `kodo hook claude` (or enables the kodo plugin)"),
            None,
        )),
        None => out.push(check(
            "claude hooks",
            if required { Status::Fail } else { Status::Warn },
            if required {
                "sync.require_notion_entry is on, but this project's .claude settings neither run `kodo hook claude` nor enable the kodo plugin"
            } else {
                "this project's .claude settings neither run `kodo hook claude` nor enable the kodo plugin (fine if each person installs the plugin)"
            },
            Some("run `kodo hooks install --claude-settings`, or `/plugin install kodo@kodo-dev` in Claude Code".into()),
        )),
    }
}
