//! `.kodo/config.json` (+ `.env`): finding, parsing and validating kodo's configuration.
//!
//! The file format is the spec's, plus a few optional keys of ours; its JSON Schema is
//! `schema/config.schema.json`, which is embedded here and is the single source of the known
//! keys: a key the schema does not know is a warning (with "did you mean"), except a near miss
//! of one of [`SAFETY_KEYS`], which is an error (the check would silently stay off).
//!
//! **Invariants.**
//! - Every error names the file and either the line and column or the key path, and says how to
//!   fix it.
//! - Token values are read from the environment (or `.env`, which never overrides a variable
//!   that is already set) only when a command needs them, and no error or warning ever contains
//!   one: errors name the variable, never its value.
//! - A base URL that would carry a token is `https`, or plain `http` to a loopback host.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::model::Resource;

use kodo_scan::ScanSettings;

pub use crate::dotenv::Env;

/// The JSON Schema of the config file, shipped in the repository and written beside the config
/// by `kodo ph-sync setup` so editors complete and check it.
pub const SCHEMA: &str = include_str!("../schema/config.schema.json");

/// The name the config file's `$schema` key uses for the schema written beside it.
pub const SCHEMA_FILE_NAME: &str = "config.schema.json";

/// Where the config lives relative to the repository root.
pub const CONFIG_RELATIVE_PATH: &str = ".kodo/config.json";

/// Default PostHog personal API key variable.
pub const DEFAULT_POSTHOG_TOKEN_VAR: &str = "POSTHOG_PERSONAL_API_KEY";
/// Default Notion integration token variable.
pub const DEFAULT_NOTION_TOKEN_VAR: &str = "NOTION_API_KEY";
/// Default Notion API base URL.
pub const DEFAULT_NOTION_BASE_URL: &str = "https://api.notion.com";
/// Default PostHog app host.
pub const DEFAULT_POSTHOG_REGION_URL: &str = "https://us.posthog.com";

/// Everything that can be wrong with the configuration. All are exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no kodo config found: looked for `{CONFIG_RELATIVE_PATH}` in `{}` and its parents up to the repository root\n  hint: run `kodo ph-sync setup` to create one",
        searched_from.display()
    )]
    NotFound { searched_from: PathBuf },
    /// The config file given to [`Config::load`] (a `--config` path) does not exist; a config
    /// that [`find`] could not find is [`ConfigError::NotFound`].
    #[error(
        "the config file `{}` does not exist\n  hint: check the --config path, or run `kodo ph-sync setup --config {}` to create it",
        path.display(),
        path.display()
    )]
    NoSuchFile { path: PathBuf },
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}`:{line}:{column}: malformed JSON: {message}\n  hint: fix the JSON syntax at that position", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("`{}`:{line}:{column}: `{key}`: {message}", path.display())]
    WrongType {
        path: PathBuf,
        key: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("`{}`: `{key}` is missing\n  hint: {hint}", path.display())]
    Missing {
        path: PathBuf,
        key: String,
        hint: String,
    },
    #[error("`{}`: `{key}`: {message}\n  hint: {hint}", path.display())]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
        hint: String,
    },
    #[error(
        "`{}`: `{key}` is `{url}`, but tokens are only sent over https (plain http is allowed only to loopback hosts such as 127.0.0.1 or localhost)\n  hint: use an https URL",
        path.display()
    )]
    InsecureUrl {
        path: PathBuf,
        key: String,
        url: String,
    },
    #[error(
        "the environment variable `{var}` is not set (named by `{key}` in `{}`)\n  hint: export {var}=… or add it to `{}`",
        path.display(), dotenv.display()
    )]
    TokenUnset {
        var: String,
        key: String,
        path: PathBuf,
        dotenv: PathBuf,
    },
    #[error(
        "`{}`: no Notion database configured for {resource} (`notion.databases.{key}`)\n  hint: run `kodo ph-sync setup` to create the databases, or paste the database ID from its Notion URL",
        path.display()
    )]
    MissingDatabase {
        path: PathBuf,
        resource: &'static str,
        key: &'static str,
    },
}

/// A configuration warning: something the user should fix but that does not stop kodo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning(pub String);

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The loaded configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file.
    pub path: PathBuf,
    /// The repository root: the directory that holds `.kodo/`.
    pub root: PathBuf,
    pub posthog: PostHogConfig,
    pub notion: NotionConfig,
    pub sync: SyncConfig,
    pub scan: ScanSettings,
    /// Unknown keys and other non-fatal findings.
    pub warnings: Vec<Warning>,
    env: Env,
}

#[derive(Debug, Clone)]
pub struct PostHogConfig {
    pub project_id: String,
    pub organization_slug: Option<String>,
    pub region_url: String,
    pub token_env_var: String,
    /// The personal API key's throttles kodo stays within (`posthog.rateLimit`): requests per
    /// minute and per hour, sliding windows.
    pub rate_limit: [kodo_api::Budget; 2],
}

#[derive(Debug, Clone)]
pub struct NotionConfig {
    pub token_env_var: String,
    pub base_url: String,
    /// The per-connection request budget kodo spends (`notion.rateLimit`).
    pub rate_limit: kodo_api::Budget,
    pub databases: Databases,
    pub analytics_home: Option<String>,
    pub tracking_plan: Option<String>,
}

/// Configured Notion database (or data-source) IDs, one per resource, read from
/// `notion.databases.<config_key>` (the resource table's name for it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Databases {
    ids: std::collections::BTreeMap<Resource, String>,
}

impl Databases {
    pub fn get(&self, resource: Resource) -> Option<&str> {
        self.ids.get(&resource).map(String::as_str)
    }

    /// Each configured ID or URL in its canonical form ([`crate::notion_id::parse`]).
    fn from_raw(path: &Path, mut raw: RawDatabases) -> Result<Databases, ConfigError> {
        let mut ids = std::collections::BTreeMap::new();
        for r in Resource::ALL {
            let key = format!("notion.databases.{}", r.config_key());
            if let Some(id) = notion_id(path, &key, raw.0.remove(r.config_key()).flatten())? {
                ids.insert(r, id);
            }
        }
        Ok(Databases { ids })
    }
}

/// The offline policy of the Claude Code hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfflinePolicy {
    Block,
    Allow,
}

/// How a naming rule is enforced by the pre-commit gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleLevel {
    #[default]
    Off,
    Warning,
    Error,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NamingRules {
    pub snake_case: RuleLevel,
    pub prefixes: Vec<String>,
    pub prefix_rule: RuleLevel,
}

#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub auto_sync_on_create: bool,
    pub require_notion_entry: bool,
    /// Undocumented event properties fail `audit --check` and block the pre-commit gate
    /// (otherwise they are findings and warnings).
    pub require_documented_properties: bool,
    pub include_builtin_events: bool,
    pub offline_policy: OfflinePolicy,
    pub strict_offline: bool,
    pub snapshot_max_age_hours: f64,
    /// Audit: a flag released to everyone and unchanged for this many days, still checked in
    /// code, is a clean-up candidate.
    pub cleanup_after_days: u32,
    pub flag_types: BTreeMap<String, String>,
    pub event_categories: BTreeMap<String, String>,
    pub naming: NamingRules,
    /// The best-practice rules' levels (`sync.hygiene`) and the experiment grace period
    /// (`sync.experiment_result_grace_days`).
    pub hygiene: kodo_core::hygiene::Settings,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            auto_sync_on_create: true,
            require_notion_entry: false,
            require_documented_properties: false,
            include_builtin_events: false,
            offline_policy: OfflinePolicy::Block,
            strict_offline: false,
            snapshot_max_age_hours: 168.0,
            cleanup_after_days: 30,
            flag_types: BTreeMap::new(),
            event_categories: BTreeMap::new(),
            naming: NamingRules::default(),
            hygiene: kodo_core::hygiene::Settings::default(),
        }
    }
}

// The raw file, as serde sees it. Unknown keys are ignored here and reported from the schema.
#[derive(Deserialize)]
struct RawConfig {
    posthog: Option<RawPostHog>,
    notion: Option<RawNotion>,
    #[serde(default)]
    sync: RawSync,
    #[serde(default)]
    scan: ScanSettings,
}

#[derive(Deserialize)]
struct RawPostHog {
    project_id: Option<StringOrInt>,
    organization_slug: Option<String>,
    region_url: Option<String>,
    #[serde(rename = "tokenEnvVar")]
    token_env_var: Option<String>,
    #[serde(rename = "rateLimit")]
    rate_limit: Option<Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrInt {
    String(String),
    Int(u64),
}

#[derive(Deserialize)]
struct RawNotion {
    #[serde(rename = "authMethod")]
    auth_method: Option<String>,
    #[serde(rename = "tokenEnvVar")]
    token_env_var: Option<String>,
    #[serde(rename = "baseUrl")]
    base_url: Option<String>,
    #[serde(rename = "rateLimit")]
    rate_limit: Option<Value>,
    #[serde(default)]
    databases: RawDatabases,
    #[serde(default)]
    pages: RawPages,
}

/// `notion.databases`: an ID (a string or `null`) per resource's `config_key`; an unknown key
/// is the JSON Schema's warning, not an error, whatever its value.
#[derive(Default)]
struct RawDatabases(std::collections::BTreeMap<String, Option<String>>);

impl<'de> Deserialize<'de> for RawDatabases {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ids;
        impl<'de> serde::de::Visitor<'de> for Ids {
            type Value = RawDatabases;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of database IDs")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawDatabases, A::Error> {
                let mut ids = std::collections::BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    if Resource::ALL.iter().any(|r| r.config_key() == key) {
                        let id = map.next_value::<Option<String>>()?;
                        ids.insert(key, id);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(RawDatabases(ids))
            }
        }
        deserializer.deserialize_map(Ids)
    }
}

#[derive(Deserialize, Default)]
struct RawPages {
    analytics_home: Option<String>,
    tracking_plan: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawSync {
    auto_sync_on_create: Option<bool>,
    require_notion_entry: Option<bool>,
    require_documented_properties: Option<bool>,
    include_builtin_events: Option<bool>,
    offline_policy: Option<OfflinePolicy>,
    strict_offline: Option<bool>,
    snapshot_max_age_hours: Option<f64>,
    cleanup_after_days: Option<serde_json::Number>,
    flag_types: BTreeMap<String, String>,
    event_categories: BTreeMap<String, String>,
    naming: NamingRules,
    hygiene: BTreeMap<String, String>,
    experiment_result_grace_days: Option<serde_json::Number>,
}

/// The config file's text, with the error a missing or unreadable file gets.
fn read_config(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ConfigError::NoSuchFile {
                path: path.to_path_buf(),
            }
        } else {
            ConfigError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// Config text as JSON checked against the schema (unknown keys are warnings) and typed.
fn parse_raw(path: &Path, text: &str) -> Result<(RawConfig, Vec<Warning>), ConfigError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ConfigError::Malformed {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })?;
    let mut unknown = Vec::new();
    let schema: Value = serde_json::from_str(SCHEMA).unwrap_or(Value::Null);
    unknown_keys(&value, &schema, "", &mut unknown);
    let mut warnings = Vec::new();
    // Unknown keys past the first few are counted, not listed: 200,000 of them must not print
    // 26 MB on every command. (A misspelt safety key is an error wherever it is.)
    let mut more: usize = 0;
    for key in unknown {
        let suggestion = did_you_mean(&key);
        if let Some(safety) = suggestion
            .as_ref()
            .filter(|s| SAFETY_KEYS.contains(&s.as_str()))
        {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                key: key.path,
                message: format!(
                    "unknown key; did you mean `{safety}`? A misspelt safety setting would \
                     silently leave its check at the default"
                ),
                hint: format!("rename the key to `{safety}`"),
            });
        }
        if warnings.len() >= LISTED_WARNINGS {
            more += 1;
            continue;
        }
        let mean = suggestion
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        warnings.push(Warning(format!(
            "`{}`: unknown key `{}` is ignored{mean} (see schema/config.schema.json for the keys kodo reads)",
            path.display(),
            key.path
        )));
    }
    if more > 0 {
        warnings.push(Warning(format!(
            "`{}`: and {} more unknown {} ignored (the first {LISTED_WARNINGS} are listed above)",
            path.display(),
            thousands(more),
            if more == 1 { "key is" } else { "keys are" }
        )));
    }

    let mut de = serde_json::Deserializer::from_str(text);
    let raw: RawConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        ConfigError::WrongType {
            path: path.to_path_buf(),
            key,
            line: inner.line(),
            column: inner.column(),
            message: strip_position(&inner.to_string()),
        }
    })?;
    Ok((raw, warnings))
}

/// What `kodo scan` needs of a config: the repository it belongs to and its `scan` section.
/// A config with only a `scan` section is enough; `posthog` and `notion` are needed only by
/// the commands that call them (a section that is there and broken is still an error).
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// The config file.
    pub path: PathBuf,
    /// The repository root: the directory that holds `.kodo/`.
    pub root: PathBuf,
    pub scan: ScanSettings,
    /// Unknown keys and other non-fatal findings.
    pub warnings: Vec<Warning>,
}

impl ScanConfig {
    /// Loads the config at `path` for a scan.
    pub fn load(path: &Path) -> Result<ScanConfig, ConfigError> {
        let text = read_config(path)?;
        let (raw, warnings) = parse_raw(path, &text)?;
        validate_scan(path, &raw.scan)?;
        Ok(ScanConfig {
            path: path.to_path_buf(),
            root: root_of(path),
            scan: raw.scan,
            warnings,
        })
    }
}

fn validate_scan(path: &Path, scan: &ScanSettings) -> Result<(), ConfigError> {
    scan.validate().map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: "scan".into(),
        message: e.to_string(),
        hint: "see the `scan` section of the README".into(),
    })
}

/// Finds `.kodo/config.json` from `start` upwards, stopping at the repository root (the first
/// directory holding `.git`) or the filesystem root.
pub fn find(start: &Path) -> Result<PathBuf, ConfigError> {
    let mut dir = Some(start);
    while let Some(current) = dir {
        let candidate = current.join(CONFIG_RELATIVE_PATH);
        if candidate.is_file() {
            return Ok(candidate);
        }
        if current.join(".git").exists() {
            break;
        }
        dir = current.parent();
    }
    Err(ConfigError::NotFound {
        searched_from: start.to_path_buf(),
    })
}

/// The repository root a config file belongs to: the parent of its `.kodo` directory, or the
/// file's own directory for a config kept elsewhere.
pub fn root_of(config_path: &Path) -> PathBuf {
    let dir = config_path.parent().unwrap_or(Path::new("."));
    if dir.file_name().is_some_and(|n| n == ".kodo") {
        dir.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

impl Config {
    /// Loads and validates the config at `path`, reading `.env` at the repository root.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read_config(path)?;
        let root = root_of(path);
        let env = Env::at(&root.join(".env"));
        Config::parse(path, &text, env)
    }

    /// Parses config text; `path` is used in messages and to find the repository root.
    pub fn parse(path: &Path, text: &str, env: Env) -> Result<Config, ConfigError> {
        let (raw, warnings) = parse_raw(path, text)?;
        let file = path.to_path_buf();
        let posthog = raw.posthog.ok_or_else(|| ConfigError::Missing {
            path: file.clone(),
            key: "posthog".into(),
            hint: "add a `posthog` section with at least `project_id` (see the README)".into(),
        })?;
        let project_id = match posthog.project_id {
            Some(StringOrInt::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(StringOrInt::Int(n)) => n.to_string(),
            _ => {
                return Err(ConfigError::Missing {
                    path: file,
                    key: "posthog.project_id".into(),
                    hint: "set it to your PostHog project ID (Project settings → Project ID)"
                        .into(),
                })
            }
        };
        let region_url = trim_slash(
            posthog
                .region_url
                .unwrap_or_else(|| DEFAULT_POSTHOG_REGION_URL.into()),
        );
        check_url(&file, "posthog.region_url", &region_url)?;
        let posthog_rate_limit =
            posthog_budget(posthog.rate_limit.as_ref()).map_err(|(key, message)| {
                ConfigError::Invalid {
                    path: file.clone(),
                    key: key.to_string(),
                    message,
                    hint: range_of(key).hint.to_string(),
                }
            })?;
        let notion = raw.notion.ok_or_else(|| ConfigError::Missing {
            path: file.clone(),
            key: "notion".into(),
            hint: "add a `notion` section (run `kodo ph-sync setup` to create one)".into(),
        })?;
        if let Some(method) = &notion.auth_method {
            if method != "api-token" {
                return Err(ConfigError::Invalid {
                    path: file,
                    key: "notion.authMethod".into(),
                    message: format!("`{method}` is not supported"),
                    hint: "use \"api-token\" (a Notion integration token)".into(),
                });
            }
        }
        let base_url = trim_slash(
            notion
                .base_url
                .unwrap_or_else(|| DEFAULT_NOTION_BASE_URL.into()),
        );
        check_url(&file, "notion.baseUrl", &base_url)?;
        let rate_limit = notion_budget(notion.rate_limit.as_ref()).map_err(|(key, message)| {
            ConfigError::Invalid {
                path: file.clone(),
                key: key.into(),
                message,
                hint: range_of(key).hint.into(),
            }
        })?;
        let sync_defaults = SyncConfig::default();
        let cleanup_after_days = match &raw.sync.cleanup_after_days {
            None => sync_defaults.cleanup_after_days,
            Some(n) => whole_days(&file, "sync.cleanup_after_days", n)?,
        };
        let grace_days = match &raw.sync.experiment_result_grace_days {
            None => kodo_core::hygiene::DEFAULT_RESULT_GRACE_DAYS,
            Some(n) => whole_days(&file, "sync.experiment_result_grace_days", n)?,
        };
        let snapshot_max_age_hours = match raw.sync.snapshot_max_age_hours {
            None => sync_defaults.snapshot_max_age_hours,
            Some(hours) => checked(&file, "sync.snapshot_max_age_hours", hours)?,
        };
        let hygiene = kodo_core::hygiene::Settings::from_pairs(
            raw.sync
                .hygiene
                .iter()
                .map(|(rule, level)| (rule.as_str(), level.as_str())),
            grace_days,
        )
        .map_err(|e| {
            let rule = match &e {
                kodo_core::hygiene::SettingError::UnknownRule { rule }
                | kodo_core::hygiene::SettingError::UnknownLevel { rule, .. } => rule.clone(),
            };
            let hint = match &e {
                kodo_core::hygiene::SettingError::UnknownRule { .. } => {
                    "use one of the rule ids above (they are listed in schema/config.schema.json), e.g. {\"missing-owner\": \"error\"}"
                }
                kodo_core::hygiene::SettingError::UnknownLevel { .. } => {
                    "\"off\" skips the rule, \"warn\" reports it (the default), \"error\" also fails `--check`"
                }
            };
            ConfigError::Invalid {
                path: file.clone(),
                key: format!("sync.hygiene.{rule}"),
                message: e.to_string(),
                hint: hint.into(),
            }
        })?;
        let sync = SyncConfig {
            auto_sync_on_create: raw
                .sync
                .auto_sync_on_create
                .unwrap_or(sync_defaults.auto_sync_on_create),
            require_notion_entry: raw
                .sync
                .require_notion_entry
                .unwrap_or(sync_defaults.require_notion_entry),
            require_documented_properties: raw
                .sync
                .require_documented_properties
                .unwrap_or(sync_defaults.require_documented_properties),
            include_builtin_events: raw.sync.include_builtin_events.unwrap_or(false),
            offline_policy: raw.sync.offline_policy.unwrap_or(OfflinePolicy::Block),
            strict_offline: raw.sync.strict_offline.unwrap_or(false),
            snapshot_max_age_hours,
            cleanup_after_days,
            flag_types: raw.sync.flag_types,
            event_categories: raw.sync.event_categories,
            naming: raw.sync.naming,
            hygiene,
        };
        validate_scan(&file, &raw.scan)?;
        let databases = Databases::from_raw(&file, notion.databases)?;
        let analytics_home = notion_id(
            &file,
            "notion.pages.analytics_home",
            notion.pages.analytics_home,
        )?;
        let tracking_plan = notion_id(
            &file,
            "notion.pages.tracking_plan",
            notion.pages.tracking_plan,
        )?;
        Ok(Config {
            root: root_of(path),
            path: file,
            posthog: PostHogConfig {
                project_id,
                organization_slug: posthog.organization_slug,
                region_url,
                token_env_var: posthog
                    .token_env_var
                    .unwrap_or_else(|| DEFAULT_POSTHOG_TOKEN_VAR.into()),
                rate_limit: posthog_rate_limit,
            },
            notion: NotionConfig {
                token_env_var: notion
                    .token_env_var
                    .unwrap_or_else(|| DEFAULT_NOTION_TOKEN_VAR.into()),
                base_url,
                rate_limit,
                databases,
                analytics_home,
                tracking_plan,
            },
            sync,
            scan: raw.scan,
            warnings,
            env,
        })
    }

    /// Sends the `.env` reader's warnings (lines it could not read, reported when a token is
    /// first needed) to `sink`.
    pub fn set_warning_sink(&mut self, sink: crate::dotenv::WarningSink) {
        self.env.set_warning_sink(sink);
    }

    /// The Notion integration token, from the environment or `.env`.
    pub fn notion_token(&self) -> Result<String, ConfigError> {
        self.token(&self.notion.token_env_var, "notion.tokenEnvVar")
    }

    /// The PostHog personal API key, from the environment or `.env`.
    pub fn posthog_token(&self) -> Result<String, ConfigError> {
        self.token(&self.posthog.token_env_var, "posthog.tokenEnvVar")
    }

    fn token(&self, var: &str, key: &str) -> Result<String, ConfigError> {
        match self.env.get(var) {
            Some(value) if !value.trim().is_empty() => Ok(value.trim().to_string()),
            _ => Err(ConfigError::TokenUnset {
                var: var.to_string(),
                key: key.to_string(),
                path: self.path.clone(),
                dotenv: self.root.join(".env"),
            }),
        }
    }

    /// The configured database ID for `resource`, or an error that says how to get one.
    pub fn database(&self, resource: Resource) -> Result<&str, ConfigError> {
        self.notion
            .databases
            .get(resource)
            .ok_or(ConfigError::MissingDatabase {
                path: self.path.clone(),
                resource: resource.plural(),
                key: resource.config_key(),
            })
    }

    /// The directory kodo keeps its local files in (`state.json`, `snapshot.json`, `export/`).
    pub fn kodo_dir(&self) -> PathBuf {
        self.root.join(".kodo")
    }
}

/// A configured Notion ID (or a Notion URL, which people paste) in its canonical form; unset or
/// empty is `None`.
fn notion_id(path: &Path, key: &str, value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(value) = non_empty(value) else {
        return Ok(None);
    };
    crate::notion_id::parse(&value)
        .map(Some)
        .map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            message: e.to_string(),
            hint: e.hint().to_string(),
        })
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// How many warnings of one kind are listed; the rest are counted in one line.
pub const LISTED_WARNINGS: usize = 10;

/// `199998` as `199,998`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A numeric setting's sane range: outside it a value is an error that says what, where and
/// how to fix it (a rate of 1e-9 would sleep forever; an age of 1e300 hours overflows).
struct Range {
    key: &'static str,
    min: f64,
    max: f64,
    unit: &'static str,
    hint: &'static str,
}

/// Every numeric setting kodo reads, with its range: the one table the checks use.
const RANGES: &[Range] = &[
    Range {
        key: "notion.rateLimit",
        min: 0.1,
        max: 100.0,
        unit: "requests per second",
        hint: "use {\"requestsPerWindow\": 180} (Notion's per-connection budget per 60-second \
               window: 180 on most plans, 600 on Business and Enterprise), or a number of \
               requests per second between 0.1 and 100",
    },
    Range {
        key: "notion.rateLimit.requestsPerWindow",
        min: 1.0,
        max: 100_000.0,
        unit: "requests",
        hint:
            "use Notion's budget for your plan: 180 (most plans) or 600 (Business and Enterprise)",
    },
    Range {
        key: "notion.rateLimit.windowSeconds",
        min: 0.1,
        max: 3600.0,
        unit: "seconds",
        hint: "leave it out: Notion's window is 60 seconds",
    },
    Range {
        key: "posthog.rateLimit",
        min: 0.0,
        max: 0.0,
        unit: "",
        hint: "use {\"requestsPerMinute\": 480, \"requestsPerHour\": 4800} (PostHog's throttles \
               for a personal API key), or leave it out",
    },
    Range {
        key: "posthog.rateLimit.requestsPerMinute",
        min: 1.0,
        max: 1_000_000.0,
        unit: "requests",
        hint: "use PostHog's limit, 480, or your self-hosted instance's",
    },
    Range {
        key: "posthog.rateLimit.requestsPerHour",
        min: 1.0,
        max: 10_000_000.0,
        unit: "requests",
        hint: "use PostHog's limit, 4800, or your self-hosted instance's",
    },
    Range {
        key: "sync.snapshot_max_age_hours",
        min: 0.0,
        max: 8760.0,
        unit: "hours",
        hint: "use a number of hours up to a year (8760), such as 168 for a week (0: the hooks \
               always ask Notion before saying \"not documented\")",
    },
    Range {
        key: "sync.cleanup_after_days",
        min: 0.0,
        max: 3650.0,
        unit: "days",
        hint: "use a number of days up to ten years (3650), such as 30 (0 makes every flag at \
               100% a candidate)",
    },
    Range {
        key: "sync.experiment_result_grace_days",
        min: 0.0,
        max: 3650.0,
        unit: "days",
        hint: "use a number of days up to ten years (3650), such as 14 (0 asks for the result as \
               soon as the experiment ends)",
    },
];

fn range_of(key: &str) -> &'static Range {
    RANGES.iter().find(|r| r.key == key).unwrap_or(&RANGES[0])
}

/// `value` of setting `key`, if within its [`RANGES`] entry; `Err` is the message.
fn in_range(key: &str, value: f64) -> Result<f64, String> {
    let r = range_of(key);
    if value.is_finite() && value >= r.min && value <= r.max {
        Ok(value)
    } else {
        Err(format!(
            "{} is outside the sane range {}–{} {}",
            shown(value),
            shown(r.min),
            shown(r.max),
            r.unit
        ))
    }
}

/// A number as a person would write it (no `1.0`, no `1e-9` unless needed).
fn shown(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// A setting's number checked against its range, as a [`ConfigError::Invalid`].
fn checked(path: &Path, key: &str, value: f64) -> Result<f64, ConfigError> {
    in_range(key, value).map_err(|message| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        message,
        hint: range_of(key).hint.to_string(),
    })
}

/// A whole number of days (`sync.*_days`), in range.
fn whole_days(path: &Path, key: &str, n: &serde_json::Number) -> Result<u32, ConfigError> {
    let Some(days) = n.as_u64().and_then(|d| u32::try_from(d).ok()) else {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            message: format!("{n} is not a whole number of days"),
            hint: range_of(key).hint.to_string(),
        });
    };
    checked(path, key, f64::from(days))?;
    Ok(days)
}

/// `notion.rateLimit`: `{"requestsPerWindow": N, "windowSeconds": S}` (defaults 180 and 60:
/// Notion's per-connection budget on every plan but Business and Enterprise, which get 600;
/// <https://developers.notion.com/reference/request-limits>), or, the older form, a number of
/// requests per second, spent per 60-second window (`3` = 180 per window).
fn notion_budget(value: Option<&Value>) -> Result<kodo_api::Budget, (&'static str, String)> {
    let minute = std::time::Duration::from_secs(60);
    let default = kodo_api::Budget::per_minute(kodo_api::NOTION_DEFAULT_BUDGET_PER_MINUTE);
    let number = |v: &Value, key: &'static str| -> Result<f64, (&'static str, String)> {
        match v.as_f64() {
            Some(n) => in_range(key, n).map_err(|m| (key, m)),
            None => Err((key, format!("{v} is not a number"))),
        }
    };
    match value {
        None | Some(Value::Null) => Ok(default),
        Some(n @ Value::Number(_)) => {
            let per_sec = number(n, "notion.rateLimit")?;
            Ok(kodo_api::Budget {
                requests: ((per_sec * 60.0).round() as u32).max(1),
                per: minute,
            })
        }
        Some(Value::Object(map)) => {
            let requests = match map.get("requestsPerWindow") {
                None => default.requests,
                Some(v) => whole_requests(v, "notion.rateLimit.requestsPerWindow")?,
            };
            let per = match map.get("windowSeconds") {
                None => minute,
                Some(v) => {
                    std::time::Duration::from_secs_f64(number(v, "notion.rateLimit.windowSeconds")?)
                }
            };
            // Each bound alone still allows 1 request an hour: the average pace has the number
            // form's floor too.
            let rate = f64::from(requests) / per.as_secs_f64();
            let floor = range_of("notion.rateLimit").min;
            if rate < floor {
                return Err((
                    "notion.rateLimit",
                    format!(
                        "{requests} requests per {} seconds is {} requests per second, slower than \
                         the floor of {} (kodo would all but stop)",
                        shown(per.as_secs_f64()),
                        shown(rate),
                        shown(floor)
                    ),
                ));
            }
            Ok(kodo_api::Budget { requests, per })
        }
        Some(other) => Err((
            "notion.rateLimit",
            format!("{other} is neither a budget object nor a number of requests per second"),
        )),
    }
}

/// A budget's number of requests at `key`: a whole number within the key's [`Range`].
fn whole_requests(v: &Value, key: &'static str) -> Result<u32, (&'static str, String)> {
    match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
        Some(n) => in_range(key, f64::from(n)).map(|_| n).map_err(|m| (key, m)),
        None => Err((key, format!("{v} is not a whole number of requests"))),
    }
}

/// `posthog.rateLimit`: `{"requestsPerMinute": N, "requestsPerHour": M}`, the sliding windows
/// kodo stays within; each defaults to PostHog's throttle for a personal API key (480 per
/// minute, 4,800 per hour: [`kodo_api::POSTHOG_DEFAULT_WINDOWS`]). A self-hosted instance may
/// configure others.
fn posthog_budget(value: Option<&Value>) -> Result<[kodo_api::Budget; 2], (&'static str, String)> {
    let [minute, hour] = kodo_api::POSTHOG_DEFAULT_WINDOWS;
    let map = match value {
        None | Some(Value::Null) => return Ok([minute, hour]),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err((
                "posthog.rateLimit",
                format!("{other} is not an object of requestsPerMinute and requestsPerHour"),
            ))
        }
    };
    if let Some(key) = map
        .keys()
        .find(|k| !["requestsPerMinute", "requestsPerHour"].contains(&k.as_str()))
    {
        return Err((
            "posthog.rateLimit",
            format!("`{key}` is not a setting of posthog.rateLimit"),
        ));
    }
    let requests = |name: &str, key: &'static str, default: u32| match map.get(name) {
        None => Ok(default),
        Some(v) => whole_requests(v, key),
    };
    Ok([
        kodo_api::Budget {
            requests: requests(
                "requestsPerMinute",
                "posthog.rateLimit.requestsPerMinute",
                minute.requests,
            )?,
            per: minute.per,
        },
        kodo_api::Budget {
            requests: requests(
                "requestsPerHour",
                "posthog.rateLimit.requestsPerHour",
                hour.requests,
            )?,
            per: hour.per,
        },
    ])
}

fn trim_slash(url: String) -> String {
    url.trim_end_matches('/').to_string()
}

/// serde_json appends " at line L column C" to its messages; the position is shown separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Refuses any URL that would carry a token in clear text to a non-loopback host, using the
/// API clients' own check so the config and the clients agree.
fn check_url(path: &Path, key: &str, url: &str) -> Result<(), ConfigError> {
    match kodo_api::check_base_url(url, key) {
        Ok(_) => Ok(()),
        Err(kodo_api::ApiError::InsecureUrl { .. }) => Err(ConfigError::InsecureUrl {
            path: path.to_path_buf(),
            key: key.to_string(),
            url: url.to_string(),
        }),
        Err(e) => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            // The error names the key already given before it: say only what is wrong.
            message: match e {
                kodo_api::ApiError::InvalidUrl { url, reason, .. } => {
                    format!("`{url}` is not a usable URL: {reason}")
                }
                other => other.to_string(),
            },
            hint: "use a full URL such as https://eu.posthog.com".into(),
        }),
    }
}

/// Settings whose misspelling silently turns a safety check off (or leaves it at its
/// default): a near miss of one is an error, not a warning.
pub const SAFETY_KEYS: &[&str] = &[
    "sync.require_notion_entry",
    "sync.require_documented_properties",
    "sync.strict_offline",
    "sync.offline_policy",
];

/// A key the schema does not declare: its path, and the keys declared beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    pub path: String,
    /// The full paths of the keys the schema declares at the same level.
    pub known: Vec<String>,
}

/// The declared key `key` most likely meant (a small edit away), if any.
pub fn did_you_mean(key: &UnknownKey) -> Option<String> {
    let (_, name) = key.path.rsplit_once('.').unwrap_or(("", &key.path));
    let name = name.to_ascii_lowercase();
    key.known
        .iter()
        .filter_map(|k| {
            let (_, known) = k.rsplit_once('.').unwrap_or(("", k));
            // The distance is at least the difference in length, and at most 3 is accepted:
            // skipping the rest keeps 200,000 unknown keys cheap.
            if known.chars().count().abs_diff(name.chars().count()) > 3 {
                return None;
            }
            Some((edit_distance(&name, &known.to_ascii_lowercase()), k))
        })
        .filter(|(d, k)| *d <= (k.len().min(name.len()) / 4).clamp(1, 3))
        .min()
        .map(|(_, k)| k.clone())
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Collects the keys the schema does not declare.
fn unknown_keys(value: &Value, schema: &Value, prefix: &str, out: &mut Vec<UnknownKey>) {
    match value {
        Value::Object(map) => {
            // A key that may be a number or an object (`oneOf`) is checked against its object form.
            let schema = schema
                .get("oneOf")
                .and_then(Value::as_array)
                .and_then(|alts| {
                    alts.iter()
                        .find(|a| a.get("type") == Some(&json!("object")))
                })
                .unwrap_or(schema);
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                if let Some(child_schema) = properties.and_then(|p| p.get(key)) {
                    unknown_keys(child, child_schema, &path, out);
                } else if let Some(extra @ Value::Object(_)) = additional {
                    unknown_keys(child, extra, &path, out);
                } else if let Some(properties) = properties {
                    let known = properties
                        .keys()
                        .filter(|k| !k.starts_with('$'))
                        .map(|k| {
                            if prefix.is_empty() {
                                k.clone()
                            } else {
                                format!("{prefix}.{k}")
                            }
                        })
                        .collect();
                    out.push(UnknownKey { path, known });
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    unknown_keys(item, item_schema, &format!("{prefix}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/repo/.kodo/config.json"), text, Env::default())
    }

    const MINIMAL: &str = r#"{
  "posthog": {"project_id": "123", "region_url": "https://eu.posthog.com/"},
  "notion": {"databases": {"events": "https://www.notion.so/acme/0000000000004000800000000000e001?v=9a8b7c6d5e4f40312233445566778899"}}
}"#;

    #[test]
    fn minimal_config_gets_defaults() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.root, Path::new("/repo"));
        assert_eq!(config.posthog.project_id, "123");
        assert_eq!(config.posthog.region_url, "https://eu.posthog.com");
        assert_eq!(config.posthog.token_env_var, "POSTHOG_PERSONAL_API_KEY");
        assert_eq!(config.notion.token_env_var, "NOTION_API_KEY");
        assert_eq!(config.notion.base_url, "https://api.notion.com");
        assert!(config.sync.auto_sync_on_create);
        assert!(!config.sync.require_notion_entry);
        // A pasted URL is the database's ID, canonical.
        assert_eq!(
            config.database(Resource::Events).unwrap(),
            "00000000-0000-4000-8000-00000000e001"
        );
        assert!(config.warnings.is_empty());
    }

    #[test]
    fn numeric_project_id_is_accepted() {
        let config = parse(r#"{"posthog": {"project_id": 4242}, "notion": {}}"#).unwrap();
        assert_eq!(config.posthog.project_id, "4242");
    }

    #[test]
    fn posthog_rate_limit_defaults_to_posthogs_throttles_and_can_be_raised() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.posthog.rate_limit, kodo_api::POSTHOG_DEFAULT_WINDOWS);
        let config = parse(
            r#"{"posthog": {"project_id": "1", "rateLimit": {"requestsPerMinute": 1000}}, "notion": {}}"#,
        )
        .unwrap();
        assert_eq!(config.posthog.rate_limit[0].requests, 1000);
        assert_eq!(config.posthog.rate_limit[0].per.as_secs(), 60);
        assert_eq!(config.posthog.rate_limit[1].requests, 4_800);
        for (rate, key, says) in [
            (
                r#"{"requestsPerMinute": 0}"#,
                "posthog.rateLimit.requestsPerMinute",
                "0 is outside the sane range",
            ),
            (
                r#"{"requestsPerHour": 2.5}"#,
                "posthog.rateLimit.requestsPerHour",
                "2.5 is not a whole number of requests",
            ),
            (
                r#"{"requestsPerMinit": 10}"#,
                "posthog.rateLimit",
                "`requestsPerMinit` is not a setting",
            ),
            ("8", "posthog.rateLimit", "8 is not an object"),
        ] {
            let err = parse(&format!(
                r#"{{"posthog": {{"project_id": "1", "rateLimit": {rate}}}, "notion": {{}}}}"#
            ))
            .unwrap_err()
            .to_string();
            assert!(err.contains(key) && err.contains(says), "{rate}: {err}");
        }
    }

    fn error_of(notion: &str, sync: &str) -> String {
        parse(&format!(
            r#"{{"posthog": {{"project_id": "1"}}, "notion": {{{notion}}}, "sync": {{{sync}}}}}"#
        ))
        .unwrap_err()
        .to_string()
    }

    #[test]
    fn numeric_settings_outside_their_range_are_clear_errors() {
        for (notion, sync, key, says) in [
            (r#""rateLimit": 1e-9"#, "", "notion.rateLimit", "0.000000001 is outside the sane range 0.1–100 requests per second"),
            (r#""rateLimit": 1000"#, "", "notion.rateLimit", "1000 is outside the sane range 0.1–100 requests per second"),
            (r#""rateLimit": -3"#, "", "notion.rateLimit", "-3 is outside"),
            (r#""rateLimit": {"requestsPerWindow": 0}"#, "", "notion.rateLimit.requestsPerWindow", "0 is outside the sane range 1–100000 requests"),
            (r#""rateLimit": {"requestsPerWindow": 2.5}"#, "", "notion.rateLimit.requestsPerWindow", "2.5 is not a whole number of requests"),
            (r#""rateLimit": {"windowSeconds": 1e-9}"#, "", "notion.rateLimit.windowSeconds", "is outside the sane range 0.1–3600 seconds"),
            (r#""rateLimit": {"windowSeconds": 86400}"#, "", "notion.rateLimit.windowSeconds", "86400 is outside"),
            (r#""rateLimit": {"requestsPerWindow": 1, "windowSeconds": 3600}"#, "", "notion.rateLimit", "1 requests per 3600 seconds is 0.0002777777777777778 requests per second, slower than the floor of 0.1"),
            (r#""rateLimit": "fast""#, "", "notion.rateLimit", "neither a budget object nor a number"),
            ("", r#""snapshot_max_age_hours": 1e300"#, "sync.snapshot_max_age_hours", "is outside the sane range 0–8760 hours"),
            ("", r#""snapshot_max_age_hours": -1"#, "sync.snapshot_max_age_hours", "-1 is outside"),
            ("", r#""cleanup_after_days": 100000"#, "sync.cleanup_after_days", "100000 is outside the sane range 0–3650 days"),
            ("", r#""cleanup_after_days": 1.5"#, "sync.cleanup_after_days", "1.5 is not a whole number of days"),
            ("", r#""experiment_result_grace_days": 99999"#, "sync.experiment_result_grace_days", "99999 is outside the sane range 0–3650 days"),
        ] {
            let message = error_of(notion, sync);
            assert!(
                message.starts_with(&format!("`/repo/.kodo/config.json`: `{key}`: ")),
                "{message}"
            );
            assert!(message.contains(says), "{says}\n{message}");
            assert!(message.contains("\n  hint: "), "{message}");
        }
    }

    #[test]
    fn numeric_settings_at_their_bounds_are_accepted() {
        for notion in [
            r#""rateLimit": 0.1"#,
            r#""rateLimit": 100"#,
            r#""rateLimit": {"requestsPerWindow": 100000, "windowSeconds": 60}"#,
            r#""rateLimit": {"requestsPerWindow": 1, "windowSeconds": 0.25}"#,
            r#""rateLimit": {"requestsPerWindow": 6, "windowSeconds": 60}"#,
        ] {
            parse(&format!(
                r#"{{"posthog": {{"project_id": "1"}}, "notion": {{{notion}}}}}"#
            ))
            .unwrap_or_else(|e| panic!("{notion}: {e}"));
        }
        let config = parse(
            r#"{"posthog": {"project_id": "1"}, "notion": {},
                "sync": {"snapshot_max_age_hours": 0, "cleanup_after_days": 3650, "experiment_result_grace_days": 0}}"#,
        )
        .unwrap();
        assert_eq!(config.sync.snapshot_max_age_hours, 0.0);
        assert_eq!(config.sync.cleanup_after_days, 3650);
    }

    #[test]
    fn many_unknown_keys_are_summarised_in_one_line() {
        let keys: Vec<String> = (0..20_008).map(|i| format!("\"k{i}\": 1")).collect();
        let config = parse(&format!(
            r#"{{"posthog": {{"project_id": "1"}}, "notion": {{}}, {}}}"#,
            keys.join(", ")
        ))
        .unwrap();
        assert_eq!(config.warnings.len(), LISTED_WARNINGS + 1);
        assert_eq!(
            config.warnings.last().map(|w| w.0.as_str()),
            Some("`/repo/.kodo/config.json`: and 19,998 more unknown keys are ignored (the first 10 are listed above)")
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn unknown_keys_warn_with_their_path() {
        let config = parse(
            r#"{"posthog": {"project_id": "1", "colour": "x"}, "notion": {}, "extra": 1,
                "scan": {"wrappers": [{"call": "track", "event_arg": 0, "oops": true}]}}"#,
        )
        .unwrap();
        let text: Vec<String> = config.warnings.iter().map(|w| w.0.clone()).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].contains("`posthog.colour`"), "{text:?}");
        assert!(text.iter().any(|w| w.contains("`extra`")));
        assert!(text.iter().any(|w| w.contains("`scan.wrappers[0].oops`")));
    }

    #[test]
    fn unknown_keys_suggest_the_key_meant_and_a_misspelt_safety_key_is_an_error() {
        let config = parse(
            r#"{"posthog": {"project_id": "1", "organisation_slug": "acme"}, "notion": {},
                "sync": {"auto_sync_oncreate": true, "totally_new": 1}}"#,
        )
        .unwrap();
        let text: Vec<String> = config.warnings.iter().map(|w| w.0.clone()).collect();
        assert!(
            text.iter().any(|w| w.contains(
                "unknown key `posthog.organisation_slug` is ignored; did you mean `posthog.organization_slug`?"
            )),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|w| w.contains("did you mean `sync.auto_sync_on_create`?")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|w| w.contains("`sync.totally_new` is ignored (see")),
            "{text:?}"
        );
        for typo in [
            "requre_notion_entry",
            "require_notion_entri",
            "strict_ofline",
            "offline_polcy",
        ] {
            let err = parse(&format!(
                r#"{{"posthog": {{"project_id": "1"}}, "notion": {{}}, "sync": {{"{typo}": true}}}}"#
            ))
            .unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains(&format!("`sync.{typo}`: unknown key; did you mean `sync."))
                    && message.contains("hint: rename the key"),
                "{message}"
            );
        }
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let err = parse("{\n  \"posthog\": {\"project_id\": \"1\",}\n}").unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("`/repo/.kodo/config.json`:2:"),
            "{message}"
        );
        assert!(message.contains("malformed JSON"), "{message}");
    }

    #[test]
    fn wrong_type_names_key_path_and_position() {
        let err = parse(
            "{\"posthog\": {\"project_id\": \"1\"},\n \"notion\": {},\n \"sync\": {\"require_notion_entry\": \"yes\"}}",
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("`sync.require_notion_entry`"), "{message}");
        assert!(message.contains(":3:"), "{message}");
        assert!(message.contains("expected a boolean"), "{message}");
    }

    #[test]
    fn missing_project_id_says_how_to_fix() {
        let err = parse(r#"{"posthog": {}, "notion": {}}"#).unwrap_err();
        assert!(err.to_string().contains("`posthog.project_id` is missing"));
        assert!(err.to_string().contains("Project ID"));
    }

    #[test]
    fn plain_http_is_refused_except_to_loopback() {
        let err = parse(
            r#"{"posthog": {"project_id": "1", "region_url": "http://posthog.example.com"}, "notion": {}}"#,
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::InsecureUrl { .. }), "{err}");
        assert!(err.to_string().contains("posthog.region_url"));
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://localhost:9",
            "http://[::1]:80",
        ] {
            let text =
                format!(r#"{{"posthog": {{"project_id": "1"}}, "notion": {{"baseUrl": "{ok}"}}}}"#);
            assert!(parse(&text).is_ok(), "{ok}");
        }
        let err =
            parse(r#"{"posthog": {"project_id": "1"}, "notion": {"baseUrl": "http://10.0.0.1"}}"#)
                .unwrap_err();
        assert!(err.to_string().contains("notion.baseUrl"));
    }

    #[test]
    fn invalid_scan_settings_name_the_entry() {
        let err = parse(
            r#"{"posthog": {"project_id": "1"}, "notion": {},
                "scan": {"wrappers": [{"call": "track", "event_arg": 0}, {"call": "trackFlag"}]}}"#,
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("scan.wrappers[1]"), "{message}");
    }

    #[test]
    fn missing_database_names_resource_and_fix() {
        let config = parse(MINIMAL).unwrap();
        let err = config.database(Resource::Flags).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("notion.databases.feature_flags"),
            "{message}"
        );
        assert!(message.contains("kodo ph-sync setup"), "{message}");
    }

    #[test]
    fn unset_token_names_the_variable() {
        let config = Config::parse(
            Path::new("/repo/.kodo/config.json"),
            r#"{"posthog": {"project_id": "1", "tokenEnvVar": "KODO_TEST_SURELY_UNSET_VAR"}, "notion": {}}"#,
            Env::default(),
        )
        .unwrap();
        let message = config.posthog_token().unwrap_err().to_string();
        assert!(
            message.contains("`KODO_TEST_SURELY_UNSET_VAR` is not set"),
            "{message}"
        );
        assert!(message.contains("/repo/.env"), "{message}");
    }

    #[test]
    fn find_walks_up_to_the_repository_root() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join(".kodo")).unwrap();
        std::fs::create_dir_all(repo.join("a/b")).unwrap();
        std::fs::write(repo.join(".kodo/config.json"), MINIMAL).unwrap();
        assert_eq!(
            find(&repo.join("a/b")).unwrap(),
            repo.join(".kodo/config.json")
        );
        // A nested repository without a config stops the walk at its own root.
        std::fs::create_dir_all(repo.join("nested/.git")).unwrap();
        assert!(matches!(
            find(&repo.join("nested")),
            Err(ConfigError::NotFound { .. })
        ));
    }

    #[test]
    fn schema_declares_every_key_the_loader_reads() {
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        let full = r#"{"$schema": "./config.schema.json",
          "posthog": {"project_id": "1", "organization_slug": "o", "region_url": "https://us.posthog.com", "tokenEnvVar": "P"},
          "notion": {"authMethod": "api-token", "tokenEnvVar": "N", "baseUrl": "https://api.notion.com", "rateLimit": 3,
                     "databases": {"events": "0000000000004000800000000000000a", "feature_flags": "0000000000004000800000000000000b", "experiments": "0000000000004000800000000000000c", "dashboards": "0000000000004000800000000000000d"},
                     "pages": {"analytics_home": "https://acme.notion.site/Home-00000000000040008000000000000001", "tracking_plan": "00000000-0000-4000-8000-000000000002"}},
          "sync": {"auto_sync_on_create": true, "require_notion_entry": false, "include_builtin_events": false,
                   "offline_policy": "block", "strict_offline": false, "snapshot_max_age_hours": 1,
                   "cleanup_after_days": 14, "flag_types": {"x": "ops"}, "event_categories": {"y": "error"},
                   "naming": {"snake_case": "error", "prefixes": ["user_"], "prefix_rule": "warning"},
                   "hygiene": {"missing-owner": "error", "no-cleanup-plan": "off"}, "experiment_result_grace_days": 7},
          "scan": {"clients": ["analytics"], "wrappers": [{"call": "track", "event_arg": 0}],
                   "frontend": ["web/**"], "backend": ["api/**"], "exclude": ["gen/**"]}}"#;
        let mut unknown = Vec::new();
        unknown_keys(
            &serde_json::from_str(full).unwrap(),
            &schema,
            "",
            &mut unknown,
        );
        assert!(unknown.is_empty(), "{unknown:?}");
        let config = parse(full).unwrap();
        assert!(config.warnings.is_empty());
        assert_eq!(config.sync.naming.snake_case, RuleLevel::Error);
        assert_eq!(
            config.notion.analytics_home.as_deref(),
            Some("00000000-0000-4000-8000-000000000001")
        );
        assert_eq!(config.sync.cleanup_after_days, 14);
        use kodo_core::hygiene::{Level, Rule};
        assert_eq!(config.sync.hygiene.level(Rule::MissingOwner), Level::Error);
        assert_eq!(config.sync.hygiene.level(Rule::NoCleanupPlan), Level::Off);
        assert_eq!(config.sync.hygiene.level(Rule::FormerOwner), Level::Warn);
        assert_eq!(config.sync.hygiene.result_grace_days, 7);
    }

    #[test]
    fn the_schema_lists_exactly_the_hygiene_rule_ids() {
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        let listed: Vec<&str> = schema["properties"]["sync"]["properties"]["hygiene"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut ids: Vec<&str> = kodo_core::hygiene::Rule::ALL
            .iter()
            .map(|r| r.id())
            .collect();
        ids.sort();
        let mut listed_sorted = listed.clone();
        listed_sorted.sort();
        assert_eq!(listed_sorted, ids);
        for rule in listed {
            assert_eq!(
                schema["properties"]["sync"]["properties"]["hygiene"]["properties"][rule]["enum"],
                json!(["off", "warn", "error"])
            );
        }
    }

    /// The schema's per-resource keys are the resource table's: `notion.databases` has one key
    /// per resource, its `config_key`, in the table's order, each an ID or `null`; the values
    /// `sync.flag_types` and `sync.event_categories` may map to are the options of the
    /// property the table fills from that fact (a flag's type, an event's category).
    #[test]
    fn the_schemas_per_resource_keys_are_the_resource_tables() {
        use kodo_core::model::{KeyFact, Resource};
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        let databases = &schema["properties"]["notion"]["properties"]["databases"];
        let listed: Vec<&str> = databases["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let keys: Vec<&str> = Resource::ALL.iter().map(|r| r.config_key()).collect();
        assert_eq!(listed, keys, "notion.databases in the schema");
        assert_eq!(databases["additionalProperties"], json!(false));
        for key in keys {
            assert_eq!(
                databases["properties"][key]["type"],
                json!(["string", "null"]),
                "notion.databases.{key}"
            );
        }
        for (fact, config_key) in [
            (KeyFact::FlagType, "flag_types"),
            (KeyFact::EventCategory, "event_categories"),
        ] {
            let options: Vec<&str> = Resource::ALL
                .iter()
                .flat_map(|r| {
                    let schema = r.schema();
                    schema
                        .documenting
                        .key_facts
                        .iter()
                        .filter(move |(f, _)| *f == fact)
                        .filter_map(move |(_, property)| schema.property(property))
                })
                .flat_map(|p| p.options.iter().copied())
                .collect();
            assert!(!options.is_empty(), "{fact:?} fills a select property");
            let allowed: Vec<&str> = schema["properties"]["sync"]["properties"][config_key]
                ["additionalProperties"]["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("sync.{config_key} lists its values"))
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(allowed, options, "sync.{config_key} in the schema");
        }
    }

    #[test]
    fn hygiene_settings_are_validated() {
        let with = |sync: &str| {
            parse(&format!(
                r#"{{"posthog": {{"project_id": "1"}}, "notion": {{}}, "sync": {sync}}}"#
            ))
        };
        let config = with("{}").unwrap();
        assert_eq!(config.sync.hygiene, kodo_core::hygiene::Settings::default());
        assert_eq!(config.sync.hygiene.result_grace_days, 14);
        let error = with(r#"{"hygiene": {"missing-owners": "error"}}"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`/repo/.kodo/config.json`: `sync.hygiene.missing-owners`: `missing-owners` is not a hygiene rule; the rules are missing-owner, former-owner, missing-purpose, no-cleanup-plan, cleanup-overdue, experiment-without-result, deleted-not-archived\n  hint: use one of the rule ids above (they are listed in schema/config.schema.json), e.g. {\"missing-owner\": \"error\"}"
        );
        let error = with(r#"{"hygiene": {"missing-owner": "fatal"}}"#).unwrap_err();
        assert!(
            error.to_string().contains("`sync.hygiene.missing-owner`: `fatal` is not a level for `missing-owner`; use \"off\", \"warn\" or \"error\""),
            "{error}"
        );
        let error = with(r#"{"hygiene": {"missing-owner": true}}"#).unwrap_err();
        assert!(
            error.to_string().contains("sync.hygiene.missing-owner"),
            "{error}"
        );
        let error = with(r#"{"experiment_result_grace_days": -1}"#).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("sync.experiment_result_grace_days"),
            "{error}"
        );
    }

    #[test]
    fn cleanup_after_days_defaults_to_30_and_must_be_whole_days() {
        assert_eq!(parse(MINIMAL).unwrap().sync.cleanup_after_days, 30);
        let with = |days: &str| {
            let mut v: Value = serde_json::from_str(MINIMAL).unwrap();
            v["sync"] =
                serde_json::from_str(&format!("{{\"cleanup_after_days\": {days}}}")).unwrap();
            parse(&v.to_string())
        };
        assert_eq!(with("0").unwrap().sync.cleanup_after_days, 0);
        assert_eq!(with("90").unwrap().sync.cleanup_after_days, 90);
        for bad in ["-1", "1.5"] {
            match with(bad) {
                Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "sync.cleanup_after_days"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
