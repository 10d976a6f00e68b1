//! The command-line surface, as clap sees it: raw arguments, no I/O.
//!
//! `main.rs` turns these into calls on the library. Every subcommand listed here does real
//! work; a command appears only once it is built.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::Resource;

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  a check failed: drift found with --check, or a git hook blocked the commit
  2  usage, configuration, authentication or network error";

/// Keep PostHog analytics configuration, Notion documentation and source code in agreement.
#[derive(Debug, Parser)]
#[command(name = "kodo", version, about, after_help = EXIT_CODES_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Config file [default: .kodo/config.json, found from the current directory up to the repository root]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Output format: md (human Markdown), json (stable, for machines), csv, sarif (scan only)
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// Show what would change without writing anything
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Exit 1 when anything is out of sync (audit, status, scan)
    #[arg(long, global = true)]
    pub check: bool,
    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log each request (-v) and more detail (-vv); tokens are never printed
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Md,
    Json,
    Csv,
    Sarif,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sync PostHog and Notion: status, import, export, audit or setup (none: status, the
    /// discrepancies, and the commands that would fix them)
    #[command(name = "ph-sync", after_help = EXIT_CODES_HELP)]
    PhSync(PhSyncArgs),
    /// The spec's CLI alternative: `--direction push` is `ph-sync import`, `pull` is `export`
    #[command(name = "notion-sync", after_help = EXIT_CODES_HELP)]
    NotionSync(NotionSyncArgs),
}

#[derive(Debug, Args)]
pub struct PhSyncArgs {
    /// What to do
    #[arg(value_enum)]
    pub action: Option<Action>,
    /// Which resources
    #[arg(value_enum, default_value = "all")]
    pub resource: ResourceArg,
    /// Overwrite fields people write (Description, Hypothesis, Owner, …) with PostHog's values
    #[arg(long)]
    pub overwrite: bool,
    /// Move orphaned Notion rows (no PostHog counterpart) to the trash during import
    #[arg(long)]
    pub archive_orphans: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Action {
    /// Counts in PostHog and Notion, undocumented resources, last sync time
    Status,
    /// Create missing and update stale Notion entries from PostHog
    Import,
    /// Write the Notion side to .kodo/export/<resource>.json and .csv (or stdout with --format)
    Export,
    /// The full discrepancy report: undocumented, orphaned, status mismatches
    Audit,
    /// Create the four Notion databases and write their IDs into the config
    Setup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResourceArg {
    Events,
    Flags,
    Experiments,
    Dashboards,
    All,
}

impl ResourceArg {
    pub fn from_resource(resource: Resource) -> ResourceArg {
        match resource {
            Resource::Events => ResourceArg::Events,
            Resource::Flags => ResourceArg::Flags,
            Resource::Experiments => ResourceArg::Experiments,
            Resource::Dashboards => ResourceArg::Dashboards,
        }
    }

    pub fn resources(self) -> Vec<Resource> {
        match self {
            ResourceArg::Events => vec![Resource::Events],
            ResourceArg::Flags => vec![Resource::Flags],
            ResourceArg::Experiments => vec![Resource::Experiments],
            ResourceArg::Dashboards => vec![Resource::Dashboards],
            ResourceArg::All => Resource::ALL.to_vec(),
        }
    }
}

#[derive(Debug, Args)]
pub struct NotionSyncArgs {
    #[arg(long, value_enum)]
    pub direction: Direction,
    #[arg(long = "type", value_enum)]
    pub resource: Resource,
    /// Overwrite fields people write (push only)
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Direction {
    /// PostHog → Notion (import)
    Push,
    /// Notion → files (export)
    Pull,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_work_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "kodo", "ph-sync", "audit", "flags", "--format", "json", "--check", "-vv",
        ])
        .unwrap();
        assert_eq!(cli.global.format, Some(Format::Json));
        assert!(cli.global.check);
        assert_eq!(cli.global.verbose, 2);
        let Command::PhSync(args) = cli.command else {
            panic!("expected ph-sync")
        };
        assert_eq!(args.action, Some(Action::Audit));
        assert_eq!(args.resource.resources(), vec![Resource::Flags]);
    }

    #[test]
    fn no_action_means_all_resources() {
        let cli = Cli::try_parse_from(["kodo", "ph-sync"]).unwrap();
        let Command::PhSync(args) = cli.command else {
            panic!("expected ph-sync")
        };
        assert_eq!(args.action, None);
        assert_eq!(args.resource, ResourceArg::All);
    }

    #[test]
    fn notion_sync_maps_type() {
        let cli = Cli::try_parse_from([
            "kodo",
            "notion-sync",
            "--direction",
            "push",
            "--type",
            "experiments",
        ])
        .unwrap();
        let Command::NotionSync(args) = cli.command else {
            panic!("expected notion-sync")
        };
        assert_eq!(args.direction, Direction::Push);
        assert_eq!(args.resource, Resource::Experiments);
    }

    #[test]
    fn unknown_resource_is_a_usage_error() {
        let err = Cli::try_parse_from(["kodo", "ph-sync", "audit", "cohorts"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
