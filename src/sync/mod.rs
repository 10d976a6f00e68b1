//! The sync engine: fetch → normalise → plan → apply or report.
//!
//! Data flows one way. [`fetch`] reads PostHog and Notion (and the code scan); [`normalize`]
//! turns PostHog's objects into the one model; [`plan`] diffs them against Notion's rows
//! without any I/O; [`apply`] carries a plan out, or [`report`] renders it.

pub mod command;
pub mod normalize;
pub mod plan;
pub mod report;
pub mod source;
