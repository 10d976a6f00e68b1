//! Reading both sides: the PostHog resources and the Notion rows of the resources asked, and
//! the Notion users (for People properties).
//!
//! **Invariants.**
//! - Tokens are wrapped in [`Secret`] the moment they are read from the config, and only the
//!   API clients ever see them.
//! - Every Notion data source is read with full-page queries (100 rows a request), never one
//!   request per row; PostHog and Notion are read concurrently, and all Notion requests share
//!   the one client's rate limiter.
//! - A configured database is resolved to its data source once and remembered in
//!   `.kodo/state.json`, so later runs read its schema with a single request.
//! - A Notion database lacking one of the properties that identify a row (its title, a flag's
//!   key, a dashboard's ID) is an error, never a reason to create duplicates; other missing or
//!   mistyped properties are warned about and left out of every write.
//! - A documented flag that left PostHog's list is fetched by its remembered ID: deleted →
//!   its record says `archived`; not found → "may have been deleted".

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::try_join_all;
use futures_util::StreamExt;
use kodo_api::{
    ApiError, ClientOptions, DataSource, FeatureFlag, NotionClient, PostHogClient, RateLimits,
    Secret, UsersAccess,
};

use crate::config::Config;
use crate::model::{decode_page, NotionRow, Resource};
use crate::output::Printer;
use crate::state::State;

use super::normalize::People;
use super::normalize::PostHogData;
use super::SyncError;
use kodo_core::hygiene::{Directory, Member};

/// How many flags are fetched by ID at once.
const FLAG_LOOKUPS_IN_FLIGHT: usize = 4;

/// The options every Notion client of `config` starts from: Notion's defaults, the
/// `notion.rateLimit` budget, the token's variable for errors, and `printer`'s log and notice
/// lines. A caller with a deadline (the hooks' live lookup) changes only timeouts and attempts.
pub fn notion_options(config: &Config, printer: &Printer) -> ClientOptions {
    ClientOptions {
        limits: RateLimits::windows([config.notion.rate_limit]),
        logger: printer.logger(),
        notice: printer.notice(),
        credential_env_var: config.notion.token_env_var.clone(),
        ..ClientOptions::notion()
    }
}

/// The options every PostHog client of `config` starts from (as [`notion_options`], with the
/// `posthog.rateLimit` windows).
pub fn posthog_options(config: &Config, printer: &Printer) -> ClientOptions {
    ClientOptions {
        limits: RateLimits::windows(config.posthog.rate_limit),
        logger: printer.logger(),
        notice: printer.notice(),
        credential_env_var: config.posthog.token_env_var.clone(),
        ..ClientOptions::posthog()
    }
}

/// The Notion client for `config`, spending the `notion.rateLimit` budget.
pub fn notion_client(config: &Config, printer: &Printer) -> Result<NotionClient, SyncError> {
    let token = Secret::new(config.notion_token()?);
    let options = notion_options(config, printer);
    Ok(NotionClient::new(&config.notion.base_url, token, options)?)
}

/// The PostHog client for `config`.
pub fn posthog_client(config: &Config, printer: &Printer) -> Result<PostHogClient, SyncError> {
    let key = Secret::new(config.posthog_token()?);
    Ok(PostHogClient::new(
        &config.posthog.region_url,
        &config.posthog.project_id,
        key,
        posthog_options(config, printer),
    )?)
}

/// One Notion database as read.
#[derive(Debug, Clone)]
pub struct NotionSide {
    pub data_source: DataSource,
    /// Rows not in the trash, oldest first.
    pub rows: Vec<NotionRow>,
    /// The schema's properties the data source has with the right type.
    pub writable: BTreeSet<&'static str>,
    /// When the rows were asked for: a key missing from them was seen missing then.
    pub read_at: std::time::Instant,
}

/// Everything read for one run.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub posthog: PostHogData,
    pub notion: BTreeMap<Resource, NotionSide>,
    pub people: People,
    /// Who belongs to the Notion workspace (for the hygiene findings); unreadable when the
    /// users were not read or may not be.
    pub directory: Directory,
    /// Documented flags that left PostHog's list and can no longer be fetched.
    pub maybe_deleted: BTreeSet<String>,
    /// Per resource, primary keys of documented rows PostHog deleted: gone from its list, and
    /// a by-id read of the id kodo saw answers 404 (`DatabaseSchema::deletion`).
    pub deleted: BTreeMap<Resource, BTreeSet<String>>,
}

/// Reads PostHog's resources of the kinds asked, and those the normaliser needs for them
/// (`PostHogSource::needs`: flags need the experiments, as a flag an experiment uses has Type
/// `experiment`). Each list is read by its own typed call: that part is per resource.
pub async fn posthog_data(
    client: &PostHogClient,
    resources: &[Resource],
) -> Result<PostHogData, SyncError> {
    // A resource asked, or one the normaliser needs for a resource asked (the table's
    // `PostHogSource::needs`: flags need the experiments).
    let wants = |r: Resource| {
        resources
            .iter()
            .any(|asked| *asked == r || asked.schema().posthog.needs.contains(&r))
    };
    let events = async {
        if wants(Resource::Events) {
            client.event_definitions().await
        } else {
            Ok(Vec::new())
        }
    };
    let flags = async {
        if wants(Resource::Flags) {
            client.feature_flags().await
        } else {
            Ok(Vec::new())
        }
    };
    let experiments = async {
        if wants(Resource::Experiments) {
            client.experiments().await
        } else {
            Ok(Vec::new())
        }
    };
    let dashboards = async {
        if wants(Resource::Dashboards) {
            client.dashboards().await
        } else {
            Ok(Vec::new())
        }
    };
    let (events, flags, experiments, dashboards) =
        tokio::try_join!(events, flags, experiments, dashboards).map_err(SyncError::Api)?;
    Ok(PostHogData {
        events,
        flags,
        experiments,
        dashboards,
        deleted_flags: Vec::new(),
    })
}

/// The data source of `resource`'s configured database, through the state's cache, with the
/// properties a person renamed in Notion followed by their ids ([`follow_renames`]).
pub async fn data_source(
    client: &NotionClient,
    config: &Config,
    resource: Resource,
    state: &State,
) -> Result<DataSource, SyncError> {
    let ds = configured_data_source(client, config, resource, &state.data_sources).await?;
    Ok(follow_renames(client, resource, ds, state))
}

/// Follows kodo's properties that a person renamed in Notion: a property kodo knew under its
/// schema name (its id in the state's `property_ids`) that now has another name, and still
/// its type, is the schema's property under a new name. The client is told to keep using the
/// schema's name (requests carry the property's id, answers list it under the schema's name),
/// and the returned schema lists it under the schema's name: so setup adds no second column
/// and import reads and writes the renamed one. A property whose type was changed is not
/// followed (it is the person's now: setup adds kodo's again).
pub fn follow_renames(
    client: &NotionClient,
    resource: Resource,
    mut ds: DataSource,
    state: &State,
) -> DataSource {
    let Some(known) = state.property_ids.get(&ds.id) else {
        return ds;
    };
    let schema = resource.schema();
    let mut renamed = Vec::new();
    for spec in schema.properties {
        if ds.properties.contains_key(spec.name) {
            continue;
        }
        let Some(id) = known.get(spec.name) else {
            continue;
        };
        let actual = ds
            .properties
            .iter()
            .find(|(name, p)| {
                &p.id == id
                    && p.kind == spec.kind.notion_name()
                    && schema.property(name.as_str()).is_none()
            })
            .map(|(name, _)| name.clone());
        let Some(actual) = actual else {
            continue;
        };
        if let Some(p) = ds.properties.remove(&actual) {
            ds.properties.insert(spec.name.to_string(), p);
            renamed.push(kodo_api::Renamed {
                expected: spec.name.to_string(),
                id: id.clone(),
                actual,
            });
        }
    }
    if !renamed.is_empty() {
        client.follow_renamed(&ds.id, renamed);
    }
    ds
}

/// Remembers the id of each of the schema's properties `ds` has (with its type), for
/// [`follow_renames`].
pub fn remember_property_ids(state: &mut State, resource: Resource, ds: &DataSource) {
    let ids: BTreeMap<String, String> = resource
        .schema()
        .properties
        .iter()
        .filter_map(|spec| {
            let p = ds.properties.get(spec.name)?;
            (p.kind == spec.kind.notion_name() && !p.id.is_empty())
                .then(|| (spec.name.to_string(), p.id.clone()))
        })
        .collect();
    if ids.is_empty() {
        return;
    }
    // Ids already known are kept (a property renamed away keeps its entry).
    let known = state.property_ids.entry(ds.id.clone()).or_default();
    for (name, id) in ids {
        known.insert(name, id);
    }
}

async fn configured_data_source(
    client: &NotionClient,
    config: &Config,
    resource: Resource,
    cache: &BTreeMap<String, String>,
) -> Result<DataSource, SyncError> {
    let configured = config.database(resource)?;
    if let Some(cached) = cache.get(configured) {
        match client.retrieve_data_source(cached).await {
            Ok(ds) => return Ok(ds),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    // `setup` writes database IDs, so ask for a database first: two requests in all (the
    // database, then its data source's schema), where trying the ID as a data source first
    // would take three.
    let resolved = match client.retrieve_database(configured).await {
        Ok(db) => match db.data_sources.as_slice() {
            [only] => client.retrieve_data_source(&only.id).await,
            // Several data sources (or none): the client's resolution explains the choice.
            _ => client.resolve_data_source(configured).await,
        },
        Err(e) if e.is_not_found() || matches!(e, ApiError::Validation { .. }) => {
            client.resolve_data_source(configured).await
        }
        Err(e) => Err(e),
    };
    resolved.map_err(|e| name_config_key(e, config, resource))
}

/// A "not found" for a configured ID says which config key holds it, so the fix is obvious.
fn name_config_key(e: ApiError, config: &Config, resource: Resource) -> SyncError {
    match e {
        ApiError::NotFound {
            service,
            what,
            id,
            hint,
        } => ApiError::NotFound {
            service,
            what,
            id,
            hint: format!(
                "It is `notion.databases.{}` in {}: correct it there, or run `kodo ph-sync setup`. {hint}",
                resource.config_key(),
                config.path.display()
            ),
        }
        .into(),
        other => other.into(),
    }
}

/// The schema's properties the data source has with the right type; warns about the others
/// and fails when a property that identifies rows is missing.
pub fn check_schema(
    resource: Resource,
    ds: &DataSource,
    printer: &Printer,
) -> Result<BTreeSet<&'static str>, SyncError> {
    let schema = resource.schema();
    let mut writable = BTreeSet::new();
    let mut problems = Vec::new();
    for spec in schema.properties {
        match ds.properties.get(spec.name) {
            Some(p) if p.kind == spec.kind.notion_name() => {
                writable.insert(spec.name);
            }
            Some(p) => problems.push(format!(
                "`{}` is a {} property, kodo expects {}",
                spec.name,
                p.kind,
                spec.kind.notion_name()
            )),
            None => problems.push(format!("`{}` is missing", spec.name)),
        }
    }
    let keys = schema.key_properties();
    if let Some(missing) = keys.iter().find(|k| !writable.contains(*k)) {
        return Err(SyncError::Schema {
            resource,
            database: ds.title.clone(),
            message: format!(
                "it has no `{missing}` {} property, which kodo matches rows by",
                schema
                    .property(missing)
                    .map(|p| p.kind.notion_name())
                    .unwrap_or("")
            ),
        });
    }
    if !problems.is_empty() {
        printer.warn(&format!(
            "the {} database \"{}\" differs from kodo's schema ({}); those properties are left alone — `kodo ph-sync setup` adds missing ones",
            resource.label(),
            ds.title,
            problems.join("; ")
        ));
    }
    Ok(writable)
}

/// Reads one resource's Notion database: schema and every row.
pub async fn notion_side(
    client: &NotionClient,
    config: &Config,
    resource: Resource,
    state: &State,
    printer: &Printer,
) -> Result<NotionSide, SyncError> {
    let ds = data_source(client, config, resource, state).await?;
    let writable = check_schema(resource, &ds, printer)?;
    let read_at = std::time::Instant::now();
    let pages = client.query_all(&ds.id, None).await?;
    let rows = pages
        .iter()
        .filter(|p| !p.in_trash)
        .map(|p| {
            let url = (!p.url.is_empty()).then_some(p.url.as_str());
            decode_page(resource, &p.id, url, &p.properties)
        })
        .collect();
    Ok(NotionSide {
        data_source: ds,
        rows,
        writable,
        read_at,
    })
}

/// Reads the Notion databases of `resources` concurrently.
pub async fn notion_sides(
    client: &NotionClient,
    config: &Config,
    resources: &[Resource],
    state: &State,
    printer: &Printer,
) -> Result<BTreeMap<Resource, NotionSide>, SyncError> {
    let sides = try_join_all(resources.iter().map(|&r| async move {
        let side = notion_side(client, config, r, state, printer).await?;
        Ok::<_, SyncError>((r, side))
    }))
    .await?;
    Ok(sides.into_iter().collect())
}

/// The Notion users: by e-mail (to fill People properties) and as the workspace's directory.
/// Both are empty (with a note) when the integration may not read users.
pub async fn people(
    client: &NotionClient,
    printer: &Printer,
) -> Result<(People, Directory), SyncError> {
    match client.list_users().await? {
        UsersAccess::Users(users) => Ok(people_of(users)),
        UsersAccess::NotAllowed => {
            printer.info(
                "note: the Notion integration may not read users, so Owner is left empty and owners are not checked (enable \"Read user information including email addresses\" to fill and check them)",
            );
            Ok((People::default(), Directory::unreadable()))
        }
    }
}

/// The listed users (bots left out): by e-mail, to fill People properties, and as the
/// workspace's directory, to name them.
pub(super) fn people_of(users: Vec<kodo_api::User>) -> (People, Directory) {
    let people = People::new(
        users
            .iter()
            .filter(|u| !u.is_bot)
            .filter_map(|u| u.email.as_deref().map(|e| (e, u.id.as_str()))),
    );
    let directory = Directory::new(users.into_iter().filter(|u| !u.is_bot).map(member));
    (people, directory)
}

/// The workspace's people, to name them in output (the export); when the integration may not
/// read users, a note says that people are shown by their IDs.
pub async fn directory(client: &NotionClient, printer: &Printer) -> Result<Directory, SyncError> {
    match client.list_users().await? {
        UsersAccess::Users(users) => Ok(Directory::new(
            users.into_iter().filter(|u| !u.is_bot).map(member),
        )),
        UsersAccess::NotAllowed => {
            printer.info(
                "note: the Notion integration may not read users, so people are written as user IDs (enable \"Read user information including email addresses\" to write names and e-mails)",
            );
            Ok(Directory::unreadable())
        }
    }
}

fn member(u: kodo_api::User) -> Member {
    Member {
        id: u.id,
        name: u.name,
        email: u.email,
    }
}

/// How many unlisted owners are looked up by ID at once.
const USER_LOOKUPS_IN_FLIGHT: usize = 4;

/// Owners the user list lacks are looked up by ID: Notion does not list guests, so only an ID
/// it no longer knows at all (404) belongs to a former member.
async fn unlisted_owners(
    client: &NotionClient,
    inventory: &mut Inventory,
) -> Result<(), SyncError> {
    let directory = std::mem::take(&mut inventory.directory);
    let rows = inventory.notion.values().flat_map(|side| &side.rows);
    inventory.directory = with_unlisted_people(client, directory, rows).await?;
    Ok(())
}

/// The directory with the people the rows name (in any People property) that the user list
/// lacks, looked up by ID: Notion does not list guests. An ID Notion no longer knows (404)
/// stays unknown (a former member). Nothing is looked up when the users may not be read.
pub async fn with_unlisted_people<'r>(
    client: &NotionClient,
    directory: Directory,
    rows: impl Iterator<Item = &'r NotionRow>,
) -> Result<Directory, SyncError> {
    if !directory.readable() {
        return Ok(directory);
    }
    let mut unknown: BTreeSet<String> = BTreeSet::new();
    for row in rows {
        for value in row.record.props.values() {
            if let crate::model::PropValue::People(ids) = value {
                unknown.extend(
                    ids.iter()
                        .filter(|id| directory.person(id).is_none())
                        .cloned(),
                );
            }
        }
    }
    if unknown.is_empty() {
        return Ok(directory);
    }
    let found: Vec<Result<Option<kodo_api::User>, SyncError>> = futures_util::stream::iter(unknown)
        .map(|id| async move { Ok(client.retrieve_user(&id).await?) })
        .buffer_unordered(USER_LOOKUPS_IN_FLIGHT)
        .collect()
        .await;
    let mut guests = Vec::new();
    for user in found {
        if let Some(user) = user? {
            guests.push(member(user));
        }
    }
    Ok(if guests.is_empty() {
        directory
    } else {
        directory.with(guests)
    })
}

/// The directory with the PostHog organization's members, which tell a PostHog creator who
/// left; when they cannot be read, a note says so and the Notion workspace alone decides.
fn organization(
    directory: Directory,
    members: Result<kodo_api::MembersAccess, kodo_api::ApiError>,
    printer: &Printer,
) -> Directory {
    match members {
        Ok(kodo_api::MembersAccess::Members(members)) => {
            directory.with_organization(members.iter().map(|m| m.user.email.as_str()))
        }
        Ok(kodo_api::MembersAccess::NotAllowed) => {
            printer.info(
                "note: the PostHog key may not read the organization's members (scope organization_member:read), so a PostHog creator who left is recognised only by their absence from the Notion workspace",
            );
            directory
        }
        Err(e) => {
            printer.warn(&format!(
                "cannot read the PostHog organization's members, so a PostHog creator who left is recognised only by their absence from the Notion workspace: {e}"
            ));
            directory
        }
    }
}

/// What to read besides the resources themselves.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchOptions {
    /// Read the Notion users (to fill Owner and to check owners).
    pub users: bool,
    /// Scan the code (to fill Tracked On and Related PR); run by the caller, beside the reads.
    pub scan: bool,
}

/// Reads everything a run over `resources` needs.
pub async fn inventory(
    config: &Config,
    notion: &NotionClient,
    posthog: &PostHogClient,
    resources: &[Resource],
    state: &State,
    options: FetchOptions,
    printer: &Printer,
) -> Result<Inventory, SyncError> {
    let ph = posthog_data(posthog, resources);
    let sides = notion_sides(notion, config, resources, state, printer);
    let users = async {
        if options.users {
            people(notion, printer).await
        } else {
            Ok((People::default(), Directory::unreadable()))
        }
    };
    let members = async {
        if options.users {
            Some(posthog.organization_members().await)
        } else {
            None
        }
    };
    // All four run at once; when several fail, the error reported is always the first of
    // PostHog, the databases, the users (so it does not depend on which answered first).
    let (ph, sides, users, members) = tokio::join!(ph, sides, users, members);
    let (ph, sides, (mut people, directory)) = (ph?, sides?, users?);
    let directory = match members {
        None => directory,
        Some(members) => organization(directory, members, printer),
    };
    // Someone who left the PostHog organization is not made the Owner of what they created:
    // the row stays without one, and the hygiene findings ask for a current member.
    people.retain(|email| directory.left_organization(email) != Some(true));
    let mut inventory = Inventory {
        posthog: ph,
        notion: sides,
        people,
        directory,
        maybe_deleted: BTreeSet::new(),
        deleted: BTreeMap::new(),
    };
    if resources.contains(&Resource::Flags) {
        vanished_flags(posthog, &mut inventory, state).await?;
    }
    for &resource in resources {
        vanished(posthog, &mut inventory, state, resource).await?;
    }
    unlisted_owners(notion, &mut inventory).await?;
    Ok(inventory)
}

/// Documented rows of a resource PostHog answers 404 for once deleted
/// (`Deletion::readable_when_deleted` false: experiments, dashboards) whose id is not in
/// PostHog's list: read by id (the row's id property, else the id kodo remembers), and a 404
/// means deleted. Retired rows are left alone: they need nothing.
async fn vanished(
    client: &PostHogClient,
    inventory: &mut Inventory,
    state: &State,
    resource: Resource,
) -> Result<(), SyncError> {
    let schema = resource.schema();
    let Some(deletion) = schema
        .deletion
        .as_ref()
        .filter(|d| !d.readable_when_deleted)
    else {
        return Ok(());
    };
    let Some(side) = inventory.notion.get(&resource) else {
        return Ok(());
    };
    let listed = inventory.posthog.ids(resource);
    let mut lookups: Vec<(String, i64)> = side
        .rows
        .iter()
        .filter(|r| !schema.is_retired(r.record.status.as_deref()))
        .filter_map(|r| {
            let key = r.record.keys.primary.clone()?;
            let id = match deletion.id_property {
                Some(property) => match r.record.props.get(property) {
                    Some(crate::model::PropValue::Number(Some(n))) if n.fract() == 0.0 => {
                        Some(*n as i64)
                    }
                    _ => None,
                },
                None => state.posthog_id(resource, &key),
            }?;
            (!listed.contains(&id)).then_some((key, id))
        })
        .collect();
    lookups.sort();
    lookups.dedup();
    let results: Vec<Result<(String, bool), SyncError>> = futures_util::stream::iter(lookups)
        .map(|(key, id)| async move {
            let found = client.retrieve(schema.posthog.endpoint, id).await?;
            Ok((key, found.is_none()))
        })
        .buffer_unordered(FLAG_LOOKUPS_IN_FLIGHT)
        .collect()
        .await;
    for result in results {
        let (key, gone) = result?;
        if gone {
            inventory.deleted.entry(resource).or_default().insert(key);
        }
    }
    Ok(())
}

/// Documented flags missing from PostHog's list, whose ID kodo remembers: fetched by ID.
async fn vanished_flags(
    client: &PostHogClient,
    inventory: &mut Inventory,
    state: &State,
) -> Result<(), SyncError> {
    let listed: BTreeSet<&str> = inventory
        .posthog
        .flags
        .iter()
        .map(|f| f.key.trim())
        .collect();
    let Some(side) = inventory.notion.get(&Resource::Flags) else {
        return Ok(());
    };
    let mut lookups: Vec<(String, i64)> = side
        .rows
        .iter()
        .filter(|r| {
            !Resource::Flags
                .schema()
                .is_retired(r.record.status.as_deref())
        })
        .filter_map(|r| r.record.keys.primary.clone())
        .filter(|k| !listed.contains(k.as_str()))
        .filter_map(|k| state.posthog_id(Resource::Flags, &k).map(|id| (k, id)))
        .collect();
    lookups.sort();
    lookups.dedup();
    let results: Vec<Result<(String, Option<FeatureFlag>), SyncError>> =
        futures_util::stream::iter(lookups)
            .map(|(key, id)| async move {
                let flag = client.feature_flag(id).await?;
                Ok((key, flag))
            })
            .buffer_unordered(FLAG_LOOKUPS_IN_FLIGHT)
            .collect()
            .await;
    for result in results {
        let (key, flag) = result?;
        // PostHog renames a deleted flag's key to `<key>:deleted:<id>` when an experiment
        // used it (FeatureFlag.tombstoned_key); the id says it is still the same flag.
        let flag = flag.map(|mut f| {
            f.key = f.key_without_tombstone().trim().to_string();
            f
        });
        match flag {
            Some(flag) if flag.key.trim() == key && flag.deleted => {
                inventory.posthog.deleted_flags.push(flag)
            }
            // Listed after all (the list moved while it was read): an ordinary flag.
            Some(flag) if flag.key.trim() == key => inventory.posthog.flags.push(flag),
            _ => {
                inventory.maybe_deleted.insert(key);
            }
        }
    }
    inventory
        .posthog
        .deleted_flags
        .sort_by(|a, b| a.key.cmp(&b.key));
    Ok(())
}
