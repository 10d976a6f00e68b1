//! The services' objects, decoded: plain serde types with no HTTP client behind them.
//!
//! Always compiled (the rest of the crate needs the default `client` feature), so the pure
//! pipeline in `kodo-core` can read PostHog's objects and Notion's rich text without linking
//! reqwest or tokio.

pub mod notion;
pub mod posthog;
