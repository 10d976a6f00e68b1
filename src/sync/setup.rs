//! `kodo ph-sync setup`: the four Notion databases with exactly the spec's schemas, and their
//! IDs in `.kodo/config.json`.
//!
//! **Invariants.**
//! - Idempotent: a configured database that resolves is checked, never recreated; only missing
//!   properties and missing select options are added (one schema update per database). A
//!   second run writes nothing.
//! - User data is never changed: a property of the wrong type is an error naming it, existing
//!   select options are all kept.
//! - The config file is edited, not rewritten from kodo's model: only
//!   `notion.databases.<key>` changes, every other key keeps its value and place; the file is
//!   written (atomically) right after each database is created, so a run that stops halfway
//!   never forgets a database it made.
//! - `--dry-run` reads, and prints what it would create or add, but writes nothing.
//! - With no config at all, a starter `.kodo/config.json` (and its JSON Schema) is written and
//!   the run stops, naming the keys to fill in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kodo_api::{DataSource, NotionClient};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::app::{Context, Outcome};
use crate::cli::Format;
use crate::config::{self, Config, ConfigError};
use crate::model::{DatabaseSchema, PropType, Resource};
use crate::state::{write_atomic, State};

use super::fetch;

/// What setup did (or would do) to one resource's database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetupResult {
    pub resource: Resource,
    /// `created`, `updated` or `unchanged`.
    pub action: &'static str,
    pub database_id: Option<String>,
    pub added_properties: Vec<String>,
    /// Property → options added.
    pub added_options: BTreeMap<String, Vec<String>>,
}

/// A schema update: the request body and what it adds.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaUpdate {
    /// The `PATCH /v1/data_sources/{id}` body.
    pub body: Value,
    pub added_properties: Vec<String>,
    /// Property → options added.
    pub added_options: BTreeMap<String, Vec<String>>,
}

/// The schema changes a data source needs to match `schema`: missing properties and missing
/// select options, as one `PATCH /v1/data_sources` body; an error names any property of the
/// wrong type.
pub fn schema_update(
    schema: &DatabaseSchema,
    ds: &DataSource,
) -> Result<Option<SchemaUpdate>, String> {
    let mut properties = Map::new();
    let mut added = Vec::new();
    let mut options_added = BTreeMap::new();
    let mut wrong = Vec::new();
    for spec in schema.properties {
        match ds.properties.get(spec.name) {
            None => {
                if spec.kind == PropType::Title {
                    // A data source has exactly one title property; a differently named one
                    // cannot be replaced without touching the user's data.
                    let current = ds
                        .properties
                        .iter()
                        .find(|(_, p)| p.kind == "title")
                        .map(|(n, _)| n.clone())
                        .unwrap_or_default();
                    wrong.push(format!(
                        "its title property is `{current}`, kodo expects `{}` (rename it in Notion)",
                        spec.name
                    ));
                    continue;
                }
                properties.insert(spec.name.to_string(), crate::model::property_config(spec));
                added.push(spec.name.to_string());
            }
            Some(p) if p.kind != spec.kind.notion_name() => wrong.push(format!(
                "`{}` is a {} property, kodo expects {}",
                spec.name,
                p.kind,
                spec.kind.notion_name()
            )),
            Some(p) => {
                let missing: Vec<&str> = spec
                    .options
                    .iter()
                    .copied()
                    .filter(|o| !p.options.iter().any(|have| have == o))
                    .collect();
                if !missing.is_empty() {
                    // Options omitted from an update are removed: send every existing one.
                    let mut all: Vec<Value> =
                        p.options.iter().map(|o| json!({"name": o})).collect();
                    all.extend(missing.iter().map(|o| json!({"name": o})));
                    properties.insert(
                        spec.name.to_string(),
                        json!({ spec.kind.notion_name(): {"options": all} }),
                    );
                    options_added.insert(
                        spec.name.to_string(),
                        missing.iter().map(|s| s.to_string()).collect(),
                    );
                }
            }
        }
    }
    if !wrong.is_empty() {
        return Err(wrong.join("; "));
    }
    if properties.is_empty() {
        return Ok(None);
    }
    Ok(Some(SchemaUpdate {
        body: json!({ "properties": properties }),
        added_properties: added,
        added_options: options_added,
    }))
}

/// Sets `notion.databases.<key>` in the config text, keeping everything else as it was.
pub fn set_database_id(text: &str, key: &str, id: &str) -> Result<String, serde_json::Error> {
    let mut value: Value = serde_json::from_str(text)?;
    let root = ensure_object(&mut value);
    let notion = ensure_object(root.entry("notion").or_insert_with(|| json!({})));
    let databases = ensure_object(notion.entry("databases").or_insert_with(|| json!({})));
    databases.insert(key.to_string(), Value::String(id.to_string()));
    let mut out = serde_json::to_string_pretty(&value)?;
    out.push('\n');
    Ok(out)
}

fn ensure_object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = json!({});
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("made an object above"),
    }
}

/// The starter config written when there is none.
pub fn starter_config() -> String {
    let value = json!({
        "$schema": format!("./{}", config::SCHEMA_FILE_NAME),
        "posthog": {
            "project_id": "",
            "region_url": config::DEFAULT_POSTHOG_REGION_URL,
            "tokenEnvVar": config::DEFAULT_POSTHOG_TOKEN_VAR,
        },
        "notion": {
            "authMethod": "api-token",
            "tokenEnvVar": config::DEFAULT_NOTION_TOKEN_VAR,
            "databases": {},
            "pages": {"analytics_home": ""},
        },
        "sync": {
            "auto_sync_on_create": true,
            "require_notion_entry": false,
        },
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Where a new config goes: `--config`, else `.kodo/config.json` at the repository root
/// (the nearest directory holding `.git`), else in the current directory.
fn new_config_path(ctx: &Context) -> PathBuf {
    if let Some(path) = &ctx.global.config {
        return if path.is_absolute() {
            path.clone()
        } else {
            ctx.cwd.join(path)
        };
    }
    let root = ctx
        .cwd
        .ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(&ctx.cwd);
    root.join(config::CONFIG_RELATIVE_PATH)
}

fn write_starter(ctx: &Context, path: &Path) -> anyhow::Result<Outcome> {
    let shown = path.display();
    if ctx.global.dry_run {
        ctx.printer.data(&format!(
            "Would write a starter config to {shown} (and its JSON Schema beside it)."
        ));
        anyhow::bail!(
            "no kodo config yet: run `kodo ph-sync setup` without --dry-run to write a starter one"
        );
    }
    write_atomic(path, starter_config().as_bytes())
        .with_context(|| format!("cannot write `{shown}`"))?;
    let schema_path = path.with_file_name(config::SCHEMA_FILE_NAME);
    write_atomic(&schema_path, config::SCHEMA.as_bytes())
        .with_context(|| format!("cannot write `{}`", schema_path.display()))?;
    ctx.printer.data(&format!(
        "Wrote a starter config to {shown}.\n\
         Fill in:\n\
         \x20 posthog.project_id          your PostHog project ID (Project settings → Project ID)\n\
         \x20 notion.pages.analytics_home the ID of the Notion page to create the databases under (share it with your integration)\n\
         and set {} and {} (in the environment or .env), then run `kodo ph-sync setup` again.",
        config::DEFAULT_NOTION_TOKEN_VAR,
        config::DEFAULT_POSTHOG_TOKEN_VAR
    ));
    anyhow::bail!("setup needs `posthog.project_id` and `notion.pages.analytics_home` in {shown} before it can create the databases")
}

/// `kodo ph-sync setup [resource]`.
pub async fn run(ctx: &Context, resources: &[Resource]) -> anyhow::Result<Outcome> {
    let path = match ctx.config_path() {
        Ok(path) if path.exists() => path,
        Ok(path) => return write_starter(ctx, &path),
        Err(ConfigError::NotFound { .. }) => return write_starter(ctx, &new_config_path(ctx)),
        Err(e) => return Err(e.into()),
    };
    let config = ctx.load_config()?;
    let client = fetch::notion_client(&config, &ctx.printer)?;
    let kodo_dir = config.kodo_dir();
    let mut state = State::load(&kodo_dir).unwrap_or_else(|e| {
        ctx.printer.warn(&e.to_string());
        State::default()
    });
    let mut results = Vec::new();
    for &resource in resources {
        let result = setup_one(ctx, &config, &path, &client, resource, &mut state).await?;
        results.push(result);
    }
    if !ctx.global.dry_run {
        if let Err(e) = state.save(&kodo_dir) {
            ctx.printer.warn(&e.to_string());
        }
    }
    match ctx.global.format {
        Some(Format::Json) => {
            let mut text = serde_json::to_string_pretty(&json!({
                "version": 1,
                "dry_run": ctx.global.dry_run,
                "resources": results,
            }))?;
            text.push('\n');
            ctx.printer.data(&text);
        }
        _ => ctx.printer.data(&render(&results, ctx.global.dry_run)),
    }
    Ok(Outcome::Success)
}

async fn setup_one(
    ctx: &Context,
    config: &Config,
    path: &Path,
    client: &NotionClient,
    resource: Resource,
    state: &mut State,
) -> anyhow::Result<SetupResult> {
    let schema = resource.schema();
    let mut result = SetupResult {
        resource,
        action: "unchanged",
        database_id: None,
        added_properties: Vec::new(),
        added_options: BTreeMap::new(),
    };
    if let Some(configured) = config.notion.databases.get(resource) {
        let ds = fetch::data_source(client, config, resource, &state.data_sources)
            .await
            .with_context(|| {
                format!(
                    "the {} database configured as `notion.databases.{}` cannot be read; fix or remove the ID and run setup again",
                    resource.label(),
                    resource.config_key()
                )
            })?;
        state
            .data_sources
            .insert(configured.to_string(), ds.id.clone());
        result.database_id = Some(configured.to_string());
        let update = schema_update(schema, &ds).map_err(|problems| {
            anyhow::anyhow!(
                "the {} database \"{}\" does not match kodo's schema: {problems}\n  hint: kodo does not change existing properties; fix them in Notion, or configure another database",
                resource.label(),
                ds.title
            )
        })?;
        if let Some(SchemaUpdate {
            body,
            added_properties,
            added_options,
        }) = update
        {
            result.action = "updated";
            result.added_properties = added_properties;
            result.added_options = added_options;
            if !ctx.global.dry_run {
                client
                    .update_data_source(&ds.id, body)
                    .await
                    .with_context(|| {
                        format!("cannot update the {} database's schema", resource.label())
                    })?;
            }
        }
        return Ok(result);
    }
    let Some(parent) = config.notion.analytics_home.as_deref() else {
        anyhow::bail!(
            "`{}`: `notion.pages.analytics_home` is not set, and setup creates the databases under that page\n  hint: paste the ID of a Notion page shared with your integration (the 32 hex characters at the end of its URL)",
            config.path.display()
        );
    };
    result.action = "created";
    result.added_properties = schema
        .properties
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    if ctx.global.dry_run {
        return Ok(result);
    }
    let database = client
        .create_database(parent, schema.title, schema.notion_properties())
        .await
        .with_context(|| format!("cannot create the {} database", resource.label()))?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let updated = set_database_id(&text, resource.config_key(), &database.id)
        .with_context(|| format!("cannot edit `{}`", path.display()))?;
    write_atomic(path, updated.as_bytes()).with_context(|| {
        format!(
            "created the {} database ({}) but cannot write its ID into `{}`; add it as `notion.databases.{}`",
            resource.label(),
            database.id,
            path.display(),
            resource.config_key()
        )
    })?;
    if let Some(ds) = database.data_sources.first() {
        state
            .data_sources
            .insert(database.id.clone(), ds.id.clone());
    }
    result.database_id = Some(database.id);
    Ok(result)
}

/// The human summary.
pub fn render(results: &[SetupResult], dry_run: bool) -> String {
    let mut out = String::new();
    for r in results {
        let name = r.resource.schema().title;
        let line = match (r.action, dry_run) {
            ("created", true) => format!(
                "{name}: would create the database with {} properties",
                r.added_properties.len()
            ),
            ("created", false) => format!(
                "{name}: created the database ({}), ID saved as notion.databases.{}",
                r.database_id.as_deref().unwrap_or(""),
                r.resource.config_key()
            ),
            ("updated", _) => {
                let mut parts = Vec::new();
                if !r.added_properties.is_empty() {
                    parts.push(format!("properties {}", r.added_properties.join(", ")));
                }
                for (prop, options) in &r.added_options {
                    parts.push(format!("{prop} options {}", options.join(", ")));
                }
                let verb = if dry_run { "would add" } else { "added" };
                format!("{name}: {verb} {}", parts.join("; "))
            }
            _ => format!("{name}: up to date"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    if dry_run {
        out.push_str("Dry run: nothing was written.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kodo_api::PropertySchema;

    fn ds(props: &[(&str, &str, &[&str])]) -> DataSource {
        DataSource {
            id: "ds".into(),
            database_id: "db".into(),
            title: "Flags".into(),
            properties: props
                .iter()
                .map(|(name, kind, options)| {
                    (
                        name.to_string(),
                        PropertySchema {
                            id: "x".into(),
                            kind: kind.to_string(),
                            options: options.iter().map(|s| s.to_string()).collect(),
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn complete_schema_needs_nothing() {
        let schema = Resource::Flags.schema();
        let props: Vec<(&str, &str, &[&str])> = schema
            .properties
            .iter()
            .map(|p| (p.name, p.kind.notion_name(), p.options))
            .collect();
        assert_eq!(schema_update(schema, &ds(&props)).unwrap(), None);
    }

    #[test]
    fn missing_properties_and_options_are_added_keeping_existing_options() {
        let schema = Resource::Flags.schema();
        let have = ds(&[
            ("Flag Key", "title", &[]),
            ("Status", "select", &["draft", "custom"]),
        ]);
        let SchemaUpdate {
            body,
            added_properties: added,
            added_options: options,
        } = schema_update(schema, &have).unwrap().unwrap();
        assert_eq!(
            added,
            [
                "Name",
                "Type",
                "Rollout %",
                "Targeting",
                "Owner",
                "Created",
                "Planned Removal",
                "Related PR"
            ]
        );
        assert_eq!(options["Status"], ["active", "rolling_out", "archived"]);
        assert_eq!(
            body["properties"]["Status"],
            json!({"select": {"options": [
                {"name": "draft"}, {"name": "custom"}, {"name": "active"}, {"name": "rolling_out"}, {"name": "archived"}
            ]}})
        );
        assert_eq!(
            body["properties"]["Rollout %"],
            json!({"number": {"format": "number"}})
        );
        assert!(body["properties"].get("Flag Key").is_none());
    }

    #[test]
    fn wrong_types_are_errors_naming_the_property() {
        let schema = Resource::Flags.schema();
        let have = ds(&[("Name", "title", &[]), ("Rollout %", "rich_text", &[])]);
        let err = schema_update(schema, &have).unwrap_err();
        assert!(
            err.contains("its title property is `Name`, kodo expects `Flag Key`"),
            "{err}"
        );
        assert!(
            err.contains("`Rollout %` is a rich_text property, kodo expects number"),
            "{err}"
        );
    }

    #[test]
    fn config_edit_keeps_everything_else() {
        let text = "{\n  \"posthog\": {\"project_id\": \"1\", \"zeta\": true},\n  \"notion\": {\"tokenEnvVar\": \"N\", \"databases\": {\"events\": \"e\"}},\n  \"custom\": [1, 2]\n}\n";
        let out = set_database_id(text, "feature_flags", "db-123").unwrap();
        let expected = "{\n  \"posthog\": {\n    \"project_id\": \"1\",\n    \"zeta\": true\n  },\n  \"notion\": {\n    \"tokenEnvVar\": \"N\",\n    \"databases\": {\n      \"events\": \"e\",\n      \"feature_flags\": \"db-123\"\n    }\n  },\n  \"custom\": [\n    1,\n    2\n  ]\n}\n";
        assert_eq!(out, expected);
        let out = set_database_id("{}", "events", "x").unwrap();
        assert_eq!(
            out,
            "{\n  \"notion\": {\n    \"databases\": {\n      \"events\": \"x\"\n    }\n  }\n}\n"
        );
    }

    #[test]
    fn starter_config_loads_only_once_filled_in() {
        let text = starter_config();
        let err = Config::parse(
            Path::new("/r/.kodo/config.json"),
            &text,
            config::Env::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("posthog.project_id"), "{err}");
        let filled = text.replace("\"project_id\": \"\"", "\"project_id\": \"42\"");
        let config = Config::parse(
            Path::new("/r/.kodo/config.json"),
            &filled,
            config::Env::default(),
        )
        .unwrap();
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        assert_eq!(config.notion.analytics_home, None);
    }
}
