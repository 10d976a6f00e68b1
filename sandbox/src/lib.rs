//! kodo-sandbox: a faithful, stateful, in-memory emulator of the Notion (2025-09-03)
//! and PostHog REST APIs, for kodo's tests and demos.
//!
//! One loopback listener serves Notion under `/v1/…`, PostHog under `/api/…` and an
//! admin API under `/__admin/…`. The state comes from a [`Scenario`]; [`Options`] set the
//! Notion rate limit, the per-query row cap, the seed and injected faults.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use kodo_sandbox::{Options, Sandbox, Scenario};
//! let scenario = Scenario::builtin("demo").expect("built-in scenario");
//! let config = scenario.kodo_config("http://127.0.0.1:4321");
//! let sandbox = Sandbox::start(scenario, Options::default()).await?;
//! println!("{} {}", sandbox.base_url(), config);
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

pub mod admin;
mod blocking;
pub mod clock;
pub mod faults;
pub mod ids;
pub mod limits;
pub mod notion;
pub mod options;
pub mod posthog;
pub mod property_definitions;
pub mod scenario;
pub mod secret;
pub mod server;
mod trigram;

pub use blocking::BlockingSandbox;
pub use options::{FaultConfig, FaultSpecError, Options};
pub use scenario::{Scenario, ScenarioError};
pub use server::{Sandbox, NOTION_VERSION};
