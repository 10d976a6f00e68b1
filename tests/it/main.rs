//! One integration-test binary: every end-to-end test of the `kodo` crate.
//!
//! One binary links once instead of fourteen times; each module is one area.

mod common;
mod precommit_support;
mod properties;
mod reliability;

mod architecture;
mod clause_table;
mod code_map;
mod completions;
mod document;
mod documented;
mod everyday;
mod hook_claude;
mod hygiene;
mod import_run;
mod json_contract;
mod notion_fidelity;
mod notion_urls;
mod pages;
mod pipeline;
mod plugin_launcher;
mod plugin_manifest;
mod posthog_fidelity;
mod precommit_hook;
mod precommit_install;
mod precommit_offline;
mod precommit_range;
mod readme_commands;
mod renamed_properties;
mod scan_cli;
mod snapshots;
mod sync_code;
mod sync_demo;
mod sync_errors;
mod sync_faults;
mod sync_lifecycle;
mod sync_rate_limits;
mod sync_single;
