//! `kodo ph-sync setup`: the four Notion databases with exactly the spec's schemas, and their
//! IDs in `.kodo/config.json`.
//!
//! **Invariants.**
//! - Idempotent: a configured database that resolves is checked, never recreated; only missing
//!   properties and missing select options are added (one schema update per database). A
//!   second run writes nothing.
//! - User data is never changed: a property of the wrong type is an error naming it, existing
//!   select options are all kept.
//! - The config file is edited in place as text, not rewritten: only the value of
//!   `notion.databases.<key>` changes (or one member is inserted), so formatting, key order,
//!   number spelling and line endings are kept byte for byte; the file is written (atomically)
//!   right after each database is created, so a run that stops halfway never forgets a
//!   database it made. A symlinked config is written through to its target, which must be
//!   inside the repository.
//! - Never a second database: one kodo creates carries a marker in its description
//!   (`kodo:<key>`); when `notion.databases.<key>` is not set, setup first looks for a database
//!   with the schema's title and that marker under the analytics page and adopts it. So a
//!   create whose answer was lost (a dropped connection, a late 503) is not repeated on re-run.
//! - `--dry-run` reads, and prints what it would create or add, but writes nothing.
//! - With no config at all, a starter `.kodo/config.json` (and its JSON Schema) is written and
//!   the run stops, naming the keys to fill in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kodo_api::{DataSource, NotionClient};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::config::{self, Config};
use crate::model::{DatabaseSchema, PropType, Resource};
use crate::output::Printer;
use crate::state::{write_atomic, State};

use super::fetch;

/// What setup did (or would do) to one resource's database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetupResult {
    pub resource: Resource,
    /// `created`, `adopted` (a database kodo created earlier, found by title and marker),
    /// `updated` or `unchanged`.
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

/// Sets `notion.databases.<key>` to `id` in the config's text, editing only that value: the
/// file's formatting, key order, comments-free layout, number spelling and line endings are
/// kept byte for byte. The edit is guided by the JSON's spans (a value is replaced where it
/// stands; a missing member is inserted after the last member of its object, indented and
/// terminated like its siblings), never a re-serialisation, so `setup` gives a one-line diff.
pub fn set_database_id(text: &str, key: &str, id: &str) -> Result<String, serde_json::Error> {
    set_config_string(text, &["notion", "databases", key], id)
}

/// Sets the string at `path` (`["notion", "pages", "tracking_plan"]`) in the config's text,
/// editing only that value, as [`set_database_id`] does.
pub fn set_config_string(text: &str, path: &[&str], id: &str) -> Result<String, serde_json::Error> {
    // Validate first: the span walk below may then assume well-formed JSON.
    let _: Value = serde_json::from_str(text)?;
    let value = serde_json::to_string(id)?;
    let bytes = text.as_bytes();
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let root = spans::value_at(bytes, spans::skip_ws(bytes, 0));
    let mut path: Vec<&str> = path.to_vec();
    let mut obj = root;
    while let Some(step) = path.first().copied() {
        let members = spans::members(bytes, obj.start);
        match members.iter().find(|m| m.key == step) {
            Some(m) if path.len() == 1 || bytes.get(m.value.start) != Some(&b'{') => {
                if path.len() == 1 {
                    return Ok(splice(text, m.value.start, m.value.end, &value));
                }
                // A non-object where an object belongs: replace it with the nested members.
                let inner = nested(&path[1..], &value);
                return Ok(splice(text, m.value.start, m.value.end, &inner));
            }
            Some(m) => {
                obj = m.value;
                path.remove(0);
            }
            None => {
                let member_value = if path.len() == 1 {
                    value.clone()
                } else {
                    nested(&path[1..], &value)
                };
                let member = format!("{}: {member_value}", serde_json::to_string(step)?);
                return Ok(insert_member(text, obj, &members, &member, newline));
            }
        }
    }
    Ok(text.to_string())
}

/// `{"a": {"b": value}}` for a path of missing objects, on one line.
fn nested(path: &[&str], value: &str) -> String {
    let mut out = value.to_string();
    for step in path.iter().rev() {
        out = format!(
            "{{{}: {out}}}",
            serde_json::to_string(step).unwrap_or_default()
        );
    }
    out
}

fn splice(text: &str, start: usize, end: usize, with: &str) -> String {
    format!("{}{with}{}", &text[..start], &text[end..])
}

/// Inserts `member` into the object at `obj`, after its last member, with the siblings'
/// indentation, or on the same line when the siblings share the object's line.
fn insert_member(
    text: &str,
    obj: spans::Span,
    members: &[spans::Member],
    member: &str,
    newline: &str,
) -> String {
    let bytes = text.as_bytes();
    let indent_of = |pos: usize| -> &str {
        let line_start = text[..pos].rfind('\n').map_or(0, |p| p + 1);
        let ws_end = line_start
            + bytes[line_start..]
                .iter()
                .take_while(|b| **b == b' ' || **b == b'\t')
                .count();
        &text[line_start..ws_end]
    };
    match members.last() {
        Some(last) => {
            let first = &members[0];
            let same_line = !text[obj.start..first.key_start].contains('\n');
            let insertion = if same_line {
                format!(", {member}")
            } else {
                format!(",{newline}{}{member}", indent_of(first.key_start))
            };
            splice(text, last.value.end, last.value.end, &insertion)
        }
        // An empty object gets the member on its line: `{}` becomes `{"key": "id"}`.
        None => splice(text, obj.start + 1, obj.end - 1, member),
    }
}

/// Byte spans of JSON values in text already known to be valid JSON.
mod spans {
    #[derive(Clone, Copy, Debug)]
    pub struct Span {
        pub start: usize,
        pub end: usize,
    }

    pub struct Member {
        pub key: String,
        pub key_start: usize,
        pub value: Span,
    }

    pub fn skip_ws(b: &[u8], mut i: usize) -> usize {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    }

    fn string_end(b: &[u8], start: usize) -> usize {
        let mut i = start + 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => return i + 1,
                _ => i += 1,
            }
        }
        b.len()
    }

    /// The span of the value starting at `i`.
    pub fn value_at(b: &[u8], i: usize) -> Span {
        let end = match b.get(i) {
            Some(b'"') => string_end(b, i),
            Some(b'{') | Some(b'[') => {
                let mut depth = 0usize;
                let mut j = i;
                loop {
                    match b.get(j) {
                        None => break b.len(),
                        Some(b'"') => {
                            j = string_end(b, j);
                            continue;
                        }
                        Some(b'{') | Some(b'[') => depth += 1,
                        Some(b'}') | Some(b']') => {
                            depth -= 1;
                            if depth == 0 {
                                break j + 1;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
            _ => {
                let mut j = i;
                while j < b.len()
                    && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                {
                    j += 1;
                }
                j
            }
        };
        Span { start: i, end }
    }

    /// The members of the object whose `{` is at `start` (empty if it is not an object).
    pub fn members(b: &[u8], start: usize) -> Vec<Member> {
        let mut out = Vec::new();
        if b.get(start) != Some(&b'{') {
            return out;
        }
        let mut i = skip_ws(b, start + 1);
        while b.get(i) == Some(&b'"') {
            let key_end = string_end(b, i);
            let key: String = serde_json::from_slice(&b[i..key_end]).unwrap_or_default();
            let colon = skip_ws(b, key_end);
            let value = value_at(b, skip_ws(b, colon + 1));
            out.push(Member {
                key,
                key_start: i,
                value,
            });
            i = skip_ws(b, value.end);
            if b.get(i) == Some(&b',') {
                i = skip_ws(b, i + 1);
            }
        }
        out
    }
}

/// Where an edited config is written: the file itself, or, when `path` is a symbolic link
/// (a config shared across a monorepo), the file it points to, which must be inside the
/// repository; the link stays a link.
fn write_target(path: &Path, root: &Path) -> anyhow::Result<PathBuf> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(path.to_path_buf());
    }
    let target = path
        .canonicalize()
        .with_context(|| format!("cannot follow the symbolic link `{}`", path.display()))?;
    let real_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    if !target.starts_with(&real_root) {
        anyhow::bail!(
            "`{}` is a symbolic link to `{}`, outside the repository, and kodo writes only inside it\n  hint: copy the file into the repository, or point the link at a file inside it",
            path.display(),
            target.display()
        );
    }
    Ok(target)
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

/// Checks (and completes) or creates one resource's database; `dry_run` reads but writes
/// nothing.
pub async fn setup_one(
    dry_run: bool,
    printer: &Printer,
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
        let ds = fetch::data_source(client, config, resource, state)
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
        fetch::remember_property_ids(state, resource, &ds);
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
            if !dry_run {
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
            "`{}`: `notion.pages.analytics_home` is not set, and setup creates the databases under that page\n  hint: paste the link of a Notion page shared with your integration (⋯ → Copy link), or its ID",
            config.path.display()
        );
    };
    // A database this setup created earlier whose ID never reached the config: the answer to
    // the create was lost (a dropped connection, a timeout while Notion was still saving), or
    // the config was reset. It is adopted, never created a second time.
    let found = client
        .find_databases(parent, schema.title)
        .await
        .with_context(|| {
            format!(
                "cannot look for an earlier {} database under `notion.pages.analytics_home`",
                resource.label()
            )
        })?;
    let marker = created_marker(resource);
    let made_by_kodo: Vec<_> = found
        .into_iter()
        .filter(|db| db.description.contains(&marker))
        .collect();
    if let Some(database) = made_by_kodo.first() {
        if made_by_kodo.len() > 1 {
            let others: Vec<&str> = made_by_kodo[1..].iter().map(|d| d.id.as_str()).collect();
            printer.warn(&format!(
                "several {} databases made by kodo are under the analytics page; using the oldest ({}), not {}",
                resource.label(),
                database.id,
                others.join(", ")
            ));
        }
        result.action = "adopted";
        result.database_id = Some(database.id.clone());
        let Some(ds_ref) = database.data_sources.first() else {
            anyhow::bail!(
                "the {} database {} that kodo created has no data source; delete it in Notion and run setup again",
                resource.label(),
                database.id
            );
        };
        let ds = client
            .retrieve_data_source(&ds_ref.id)
            .await
            .with_context(|| format!("cannot read the {} database", resource.label()))?;
        let ds = fetch::follow_renames(client, resource, ds, state);
        if !dry_run {
            fetch::remember_property_ids(state, resource, &ds);
        }
        if let Ok(Some(update)) = schema_update(schema, &ds) {
            result.added_properties = update.added_properties;
            result.added_options = update.added_options;
            if !dry_run {
                client
                    .update_data_source(&ds.id, update.body)
                    .await
                    .with_context(|| {
                        format!("cannot update the {} database's schema", resource.label())
                    })?;
            }
        }
        if !dry_run {
            save_database_id(config, path, resource, &database.id)?;
            state
                .data_sources
                .insert(database.id.clone(), ds.id.clone());
        }
        return Ok(result);
    }
    result.action = "created";
    result.added_properties = schema
        .properties
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    if dry_run {
        return Ok(result);
    }
    let database = client
        .create_database(
            parent,
            schema.title,
            &created_description(resource),
            schema.notion_properties(),
        )
        .await
        .with_context(|| format!("cannot create the {} database", resource.label()))?;
    save_database_id(config, path, resource, &database.id)?;
    if let Some(ds) = database.data_sources.first() {
        state
            .data_sources
            .insert(database.id.clone(), ds.id.clone());
        // Its properties' ids, so a property renamed in Notion later is followed, not added
        // again (a database's answer lists its data sources, not their schemas).
        match client.retrieve_data_source(&ds.id).await {
            Ok(ds) => fetch::remember_property_ids(state, resource, &ds),
            Err(e) => printer.warn(&format!(
                "cannot read the new {} database's schema ({e}); the next run remembers its property ids",
                resource.label()
            )),
        }
    }
    result.database_id = Some(database.id);
    Ok(result)
}

/// The machine summary (`--format json`), version 1.
pub fn render_json(
    results: &[SetupResult],
    pages: Option<&super::pages::PagesResult>,
    dry_run: bool,
) -> String {
    use kodo_core::wire;
    kodo_core::wire::to_json(&wire::Setup {
        version: wire::VERSION,
        dry_run,
        resources: results
            .iter()
            .map(|r| wire::SetupDatabase {
                resource: r.resource,
                action: if dry_run {
                    match r.action {
                        "created" => "would_create",
                        "updated" => "would_update",
                        "adopted" => "would_adopt",
                        other => other,
                    }
                } else {
                    r.action
                }
                .to_string(),
                database_id: r.database_id.clone(),
                added_properties: r.added_properties.clone(),
                added_options: r.added_options.clone(),
            })
            .collect(),
        pages: pages.map(|p| wire::SetupPages {
            tracking_plan: p.tracking_plan.clone(),
            tracking_plan_action: p.tracking_plan_action.to_string(),
            index_action: p.index_action.to_string(),
        }),
    })
}

/// The token in a database's description that says kodo's setup created it for `resource`.
fn created_marker(resource: Resource) -> String {
    format!("kodo:{}", resource.config_key())
}

/// The description setup gives a database it creates: a line for people, and the marker a
/// re-run recognises it by.
fn created_description(resource: Resource) -> String {
    format!(
        "Kept in agreement with PostHog by kodo ph-sync; edit rows freely. ({})",
        created_marker(resource)
    )
}

/// Writes `notion.databases.<key>` into the config file.
fn save_database_id(
    config: &Config,
    path: &Path,
    resource: Resource,
    database_id: &str,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let updated = set_database_id(&text, resource.config_key(), database_id)
        .with_context(|| format!("cannot edit `{}`", path.display()))?;
    if updated == text {
        // Already there (a re-run of setup): the config file is left as it is.
        return Ok(());
    }
    let target = write_target(path, &config.root)?;
    write_atomic(&target, updated.as_bytes()).with_context(|| {
        format!(
            "the {} database ({database_id}) exists but its ID cannot be written into `{}`; add it as `notion.databases.{}`",
            resource.label(),
            path.display(),
            resource.config_key()
        )
    })
}

/// Writes the string at `path` (e.g. `notion.pages.tracking_plan`) into the config file, in
/// place.
pub fn save_config_value(
    config: &Config,
    path: &Path,
    key: &[&str],
    value: &str,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let updated = set_config_string(&text, key, value)
        .with_context(|| format!("cannot edit `{}`", path.display()))?;
    if updated == text {
        return Ok(());
    }
    let target = write_target(path, &config.root)?;
    write_atomic(&target, updated.as_bytes()).with_context(|| {
        format!(
            "`{value}` cannot be written into `{}`; add it as `{}`",
            path.display(),
            key.join(".")
        )
    })
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
            ("adopted", dry_run) => format!(
                "{name}: {} the database kodo created earlier ({}){}",
                if dry_run { "would use" } else { "found" },
                r.database_id.as_deref().unwrap_or(""),
                if dry_run {
                    String::new()
                } else {
                    format!(", ID saved as notion.databases.{}", r.resource.config_key())
                }
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
    fn config_edit_changes_only_the_database_id() {
        // Inline objects, key order, number spelling and the missing final newline are kept.
        let text = "{\n  \"posthog\": {\"project_id\": \"1\", \"zeta\": true},\n  \"notion\": {\"tokenEnvVar\": \"N\", \"rateLimit\": 3.0e0, \"databases\": {\"events\": \"e\"}},\n  \"custom\": [1, 2]\n}";
        let out = set_database_id(text, "feature_flags", "db-123").unwrap();
        assert_eq!(
            out,
            text.replace(
                "{\"events\": \"e\"}",
                "{\"events\": \"e\", \"feature_flags\": \"db-123\"}"
            )
        );
        // An existing value is replaced where it stands.
        let out = set_database_id(text, "events", "db-9").unwrap();
        assert_eq!(
            out,
            text.replace("\"events\": \"e\"", "\"events\": \"db-9\"")
        );
        // Tabs and CRLF line endings: the new member is indented and terminated like its siblings.
        let text = "{\r\n\t\"notion\": {\r\n\t\t\"databases\": {\r\n\t\t\t\"events\": \"e\"\r\n\t\t}\r\n\t}\r\n}\r\n";
        let out = set_database_id(text, "dashboards", "d\"1").unwrap();
        assert_eq!(
            out,
            "{\r\n\t\"notion\": {\r\n\t\t\"databases\": {\r\n\t\t\t\"events\": \"e\",\r\n\t\t\t\"dashboards\": \"d\\\"1\"\r\n\t\t}\r\n\t}\r\n}\r\n"
        );
        // Missing objects are created, one line, in the nearest existing object.
        let text = "{\n    \"notion\": {\n        \"tokenEnvVar\": \"N\"\n    }\n}\n";
        let out = set_database_id(text, "events", "x").unwrap();
        assert_eq!(
            out,
            "{\n    \"notion\": {\n        \"tokenEnvVar\": \"N\",\n        \"databases\": {\"events\": \"x\"}\n    }\n}\n"
        );
        let out = set_database_id("{}", "events", "x").unwrap();
        assert_eq!(out, "{\"notion\": {\"databases\": {\"events\": \"x\"}}}");
        let out = set_database_id("{\"notion\": {\"databases\": { }}}", "events", "x").unwrap();
        assert_eq!(out, "{\"notion\": {\"databases\": {\"events\": \"x\"}}}");
        // Whatever the edit, the result is valid JSON with the ID in place.
        for text in [
            "{\"notion\": null}",
            "{\"notion\": {\"databases\": \"oops\"}}",
            "{\"a\": \"}{\\\"\", \"notion\": {\"databases\": {\"x\": [1, {\"y\": 2}]}}}",
        ] {
            let out = set_database_id(text, "events", "x").unwrap();
            let v: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["notion"]["databases"]["events"], "x", "{out}");
        }
        assert!(set_database_id("{", "events", "x").is_err());
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
