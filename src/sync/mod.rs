//! The sync engine: fetch → normalise → plan → apply or report.
//!
//! Data flows one way. [`fetch`] reads PostHog and Notion (and the code scan); [`normalize`]
//! turns PostHog's objects into the one model; [`plan`] diffs them against Notion's rows
//! without any I/O; [`apply`] carries a plan out, or [`report`] renders it. [`analysis`] is the
//! run the `ph-sync` commands share (read, plan, keep `.kodo/` current); [`code`] judges the
//! source code against both sides (the audit's code section); [`setup`] creates the
//! databases; [`pages`] keeps the index and tracking-plan pages; [`export`] writes Notion's side to files; [`single`] serves the Claude Code hook
//! (one lookup, one upsert).
//!
//! **Invariants.** The engine takes plain values (a [`Session`], resources, the config) and
//! never imports the command line (`crate::cli`, `crate::cmd`, `crate::app`): the commands in
//! `crate::cmd` convert clap's types. Library modules return [`SyncError`]; the commands add
//! context. No error, warning or log line carries a token.

pub mod analysis;
pub mod apply;
pub mod document;
pub mod export;
pub mod fetch;
pub mod pages;
pub mod scan;
pub mod setup;
pub mod single;

// The pure stages live in `kodo-core`; re-exported so the engine's paths stay short.
pub use kodo_core::{code, normalize, plan, report};

use std::path::PathBuf;

use crate::config::{ConfigError, SyncConfig};
use crate::model::Resource;

pub use analysis::Session;
pub use single::{upsert_from_posthog, UpsertResult};

/// What can go wrong while syncing. Every variant is exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Api(#[from] kodo_api::ApiError),
    #[error("the {} database \"{database}\" cannot be synced: {message}\n  hint: run `kodo ph-sync setup` to add kodo's properties, or rename the property in Notion", resource.label())]
    Schema {
        resource: Resource,
        database: String,
        message: String,
    },
    #[error("could not read a PostHog object: {0}")]
    Decode(String),
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Snapshot(#[from] crate::snapshot::SnapshotError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

/// The normaliser's rules, from the config's `sync` section.
pub(crate) fn rules(sync: &SyncConfig) -> normalize::Rules {
    normalize::Rules {
        include_builtin_events: sync.include_builtin_events,
        flag_types: sync.flag_types.clone(),
        event_categories: sync.event_categories.clone(),
    }
}
