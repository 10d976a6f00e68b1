//! kodo's pure pipeline: PostHog's objects and Notion's rows → one model → a plan → an audit
//! or a rendered report.
//!
//! - [`model`]: the four databases' schemas, typed property values with Notion's encoding,
//!   [`model::Record`] and the spec's status tables.
//! - [`normalize`]: PostHog objects → the records kodo would write.
//! - [`plan`]: records against Notion's rows → creates, updates, orphans.
//! - [`documented`]: "is this key documented?", the one rule the Claude hook, the pre-commit
//!   gate and `scan --check` share.
//! - [`code`]: the audit's code section (the code scan judged against both sides).
//! - [`report`]: the audit and status renderers (Markdown, JSON, CSV).
//! - [`outcome`]: what applying a plan did.
//! - [`pages`]: the index and tracking-plan pages rendered from the model, and the writes
//!   that bring kodo's region of a page up to date.
//!
//! **Invariant.** Nothing here performs I/O or reads the clock: the crate depends on no async
//! runtime, HTTP client, CLI parser or file-system access; a timestamp is passed in.

pub mod code;
pub mod document;
pub mod documented;
pub mod hygiene;
pub mod model;
pub mod normalize;
pub mod outcome;
pub mod pages;
pub mod plan;
pub mod properties;
pub mod property_schema;
pub mod report;
pub mod wire;
