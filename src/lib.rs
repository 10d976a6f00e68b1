//! kodo keeps a product team's PostHog analytics configuration (events, feature flags,
//! experiments, dashboards), its Notion documentation and its source code in agreement.
//!
//! Data flows one way: fetch (PostHog, Notion, the code scan) → normalise into one model
//! ([`model::Record`]) → diff into a plan → apply it or render a report. See ARCHITECTURE.md
//! for the code map.

pub mod app;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod dotenv;
pub mod exit;
pub mod hooks;
pub mod lock;
pub mod lookup;
pub mod notion_id;
pub mod output;
pub mod snapshot;
pub mod state;
pub mod sync;

/// "Is this key documented?": the one rule, from the pure core.
pub use kodo_core::documented;
/// The one model, from the pure core (re-exported so `crate::model` paths keep working).
pub use kodo_core::model;
