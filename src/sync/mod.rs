//! The sync engine (being built): fetch → normalise → plan → apply or report.

pub mod command;
