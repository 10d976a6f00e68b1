//! The command-line surface, as clap sees it: raw arguments, no I/O.
//!
//! `main.rs` turns these into calls on the library. Every subcommand listed here does real
//! work; a command appears only once it is built.

use std::path::PathBuf;

use std::sync::LazyLock;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::Resource;

pub const EXIT_CODES_HELP: &str = "\
Exit codes (every command):
  0  success
  1  a check failed: drift found with --check, a git hook blocked the commit, `kodo doctor`
     found a problem; from `kodo hook claude`, its input or the kodo config could not be read
     (Claude Code shows the message and lets the tool call go ahead)
  2  usage, configuration, authentication or network error; from `kodo hook claude`, the
     refusal of an undocumented create (Claude Code blocks the tool call on exit 2)";

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
    /// Show what would change without writing anything
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Exit 1 when anything is out of sync (audit, status, scan)
    #[arg(long, global = true)]
    pub check: bool,
    /// Neither read nor write the code scan's cache (.kodo/cache/); scan every file afresh
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// When another kodo run is writing to Notion from this repository, exit 2 at once
    /// instead of waiting for it
    #[arg(long, global = true)]
    pub no_wait: bool,
    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log each request (-v) and more detail (-vv); tokens are never printed
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The formats of `ph-sync` and `notion-sync`: each subcommand accepts only the formats it
/// writes, so a wrong one is a usage error at parse time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncFormat {
    Md,
    Json,
    Csv,
}

/// The formats of `kodo scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    Md,
    Json,
    Sarif,
}

/// The formats of `kodo hook pre-commit` and `kodo doctor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Md,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sync PostHog and Notion: status, import, export, audit or setup (none: status, the
    /// discrepancies, and the commands that would fix them)
    #[command(
        name = "ph-sync",
        after_help = EXIT_CODES_HELP,
        override_usage = "kodo ph-sync [OPTIONS] [ACTION] [RESOURCE]\n       kodo ph-sync document <event|flag|experiment|dashboard> <KEY> [OPTIONS]"
    )]
    PhSync(PhSyncArgs),
    /// The spec's CLI alternative: `--direction push` is `ph-sync import`, `pull` is `export`
    #[command(name = "notion-sync", after_help = EXIT_CODES_HELP)]
    NotionSync(NotionSyncArgs),
    /// Find PostHog event captures and feature-flag checks in the source code
    #[command(after_help = EXIT_CODES_HELP)]
    Scan(ScanArgs),
    /// Run a hook: `claude` (Claude Code PreToolUse/PostToolUse, JSON on stdin) or `pre-commit`
    #[command(after_help = EXIT_CODES_HELP)]
    Hook(HookArgs),
    /// Install kodo's hooks: the git pre-commit hook, or Claude Code hooks in .claude/settings.json
    #[command(after_help = EXIT_CODES_HELP)]
    Hooks(HooksArgs),
    /// The local snapshot of what Notion documents (.kodo/snapshot.json), used offline by hooks
    #[command(after_help = EXIT_CODES_HELP)]
    Snapshot(SnapshotArgs),
    /// Check that this repository is ready: config, tokens, Notion databases and parent page,
    /// PostHog access, the snapshot and the hooks (one line per check; exit 1 if one fails)
    #[command(after_help = EXIT_CODES_HELP)]
    Doctor(DoctorArgs),
    /// Print a shell completion script for kodo to stdout (bash, zsh, fish, elvish, powershell)
    #[command(
        after_help = "Install, for example:\n  bash: kodo completions bash > ~/.local/share/bash-completion/completions/kodo\n  zsh:  kodo completions zsh > \"${fpath[1]}/_kodo\"\n  fish: kodo completions fish > ~/.config/fish/completions/kodo.fish"
    )]
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Output format: md (one line per check) or json (stable, for machines)
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
}

impl Command {
    /// Whether the command line asked for a `--format` (machine output `-q` does not silence).
    pub fn format_given(&self) -> bool {
        match self {
            Command::PhSync(args) => {
                args.format.is_some()
                    || matches!(&args.document, Some(PhSyncDocument::Document(d)) if d.format.is_some())
            }
            Command::NotionSync(args) => args.format.is_some(),
            Command::Scan(args) => args.format.is_some(),
            Command::Hook(HookArgs {
                which: HookWhich::PreCommit(args),
            }) => args.format.is_some(),
            Command::Doctor(args) => args.format.is_some(),
            Command::Hook(_)
            | Command::Hooks(_)
            | Command::Snapshot(_)
            | Command::Completions(_) => false,
        }
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Directory to scan [default: the repository root of the config, else the current directory]
    pub path: Option<PathBuf>,
    /// Check only what the commits in A..B add, against the documentation (for CI; with --check,
    /// exit 1 when they add undocumented events or flags)
    #[arg(long, value_name = "A..B")]
    pub rev_range: Option<String>,
    /// Do not read git history for "Related PR"
    #[arg(long)]
    pub no_git: bool,
    /// Count keys referenced only from test files too (overrides `scan.include_tests`)
    #[arg(long)]
    pub include_tests: bool,
    /// Print a `scan.wrappers` block of the wrappers the scan inferred, to commit and edit
    #[arg(long)]
    pub suggest_config: bool,
    /// Output format: md (human Markdown), json (stable, for machines) or sarif (code scanning)
    #[arg(long, value_enum)]
    pub format: Option<ScanFormat>,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub which: HookWhich,
}

#[derive(Debug, Subcommand)]
pub enum HookWhich {
    /// Claude Code hook: reads the hook JSON on stdin; exit 2 blocks an undocumented create
    Claude,
    /// Git pre-commit hook: blocks commits that add undocumented events or flags (exit 1)
    PreCommit(PreCommitArgs),
}

#[derive(Debug, Args)]
pub struct PreCommitArgs {
    /// Output format: md (the human report, on stderr) or json (on stdout)
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
}

#[derive(Debug, Args)]
pub struct HooksArgs {
    #[command(subcommand)]
    pub action: HooksAction,
}

#[derive(Debug, Subcommand)]
pub enum HooksAction {
    /// Write .git/hooks/pre-commit (respecting core.hooksPath), or with --claude-settings merge
    /// kodo's hooks into .claude/settings.json
    Install(HooksInstallArgs),
}

#[derive(Debug, Args)]
pub struct HooksInstallArgs {
    /// Install the Claude Code hooks into the project's .claude/settings.json instead
    #[arg(long)]
    pub claude_settings: bool,
    /// Replace a pre-commit hook that kodo did not write
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    pub action: SnapshotAction,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotAction {
    /// Read the Notion databases and rewrite .kodo/snapshot.json
    Refresh,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PhSyncArgs {
    /// `document`: write a resource's Notion row first, before it exists in PostHog
    #[command(subcommand)]
    pub document: Option<PhSyncDocument>,
    /// [ACTION] [RESOURCE], both optional: ACTION is status, import, export, audit or setup (none:
    /// status, the discrepancies and the commands that fix them); RESOURCE is events, flags,
    /// experiments, dashboards or all (the default)
    #[arg(value_enum, value_name = "WORD", num_args = 0..=2, hide_possible_values = true)]
    pub words: Vec<Word>,
    /// Overwrite fields people write (Description, Hypothesis, Owner, …) with PostHog's values
    #[arg(long)]
    pub overwrite: bool,
    /// Move orphaned Notion rows (no PostHog counterpart) to the trash during import
    #[arg(long)]
    pub archive_orphans: bool,
    /// Leave the source code out of audit and the overview (no code scan, no code section)
    #[arg(long)]
    pub no_code: bool,
    /// With setup: regenerate the tracking-plan page from the Notion databases now (import
    /// does it after every run)
    #[arg(long)]
    pub refresh_pages: bool,
    /// Output format: md (human Markdown), json (stable, for machines) or csv
    #[arg(long, value_enum)]
    pub format: Option<SyncFormat>,
}

/// `ph-sync document`, the action that takes a resource and a key.
#[derive(Debug, Subcommand)]
pub enum PhSyncDocument {
    /// Write the Notion row of an event, flag, experiment or dashboard before it exists in
    /// PostHog (documentation first): created once, with the planned status and the facts
    /// kodo derives; re-running writes only what is given. Refreshes the offline snapshot.
    #[command(after_help = EXIT_CODES_HELP)]
    Document(Box<DocumentArgs>),
}

/// The resource `document` writes, named in the singular by the resource table
/// (`documenting.noun`: `event`, `flag`, `experiment`, `dashboard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Noun(pub Resource);

impl ValueEnum for Noun {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: LazyLock<Vec<Noun>> = LazyLock::new(|| Resource::ALL.map(Noun).to_vec());
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.schema().documenting.noun))
    }
}

/// The formats of `ph-sync document`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocumentFormat {
    Md,
    Json,
}

#[derive(Debug, Args)]
pub struct DocumentArgs {
    /// What to document
    #[arg(value_enum)]
    pub noun: Noun,
    /// The event name, flag key, experiment name or dashboard name
    pub key: String,
    /// What the event tracks (events)
    #[arg(long)]
    pub description: Option<String>,
    /// The owner, by e-mail: a member of the Notion workspace
    #[arg(long, value_name = "EMAIL")]
    pub owner: Option<String>,
    /// The flag's type: release, experiment, ops, beta or config (flags; default: from the key)
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// The flag's human-readable name (flags)
    #[arg(long)]
    pub name: Option<String>,
    /// What the experiment tests (experiments)
    #[arg(long)]
    pub hypothesis: Option<String>,
    /// The key of the experiment's feature flag (experiments)
    #[arg(long, value_name = "KEY")]
    pub flag_key: Option<String>,
    /// What the dashboard monitors (dashboards)
    #[arg(long)]
    pub purpose: Option<String>,
    /// When the flag is to be removed, YYYY-MM-DD (flags)
    #[arg(long, value_name = "DATE")]
    pub planned_removal: Option<String>,
    /// A property the event sends, with its type (string, number, boolean, datetime,
    /// duration, object, array); repeat for each (events)
    #[arg(long = "property", value_name = "NAME[:TYPE]")]
    pub properties: Vec<String>,
    /// Output format: md (human Markdown) or json (stable, for machines)
    #[arg(long, value_enum)]
    pub format: Option<DocumentFormat>,
}

impl DocumentArgs {
    /// The options given, as the engine's fields.
    pub fn fields(&self) -> Vec<(crate::model::DocField, String)> {
        use crate::model::DocField;
        [
            (DocField::Description, &self.description),
            (DocField::Owner, &self.owner),
            (DocField::Type, &self.kind),
            (DocField::Name, &self.name),
            (DocField::Hypothesis, &self.hypothesis),
            (DocField::FlagKey, &self.flag_key),
            (DocField::Purpose, &self.purpose),
            (DocField::PlannedRemoval, &self.planned_removal),
        ]
        .into_iter()
        .filter_map(|(field, value)| value.clone().map(|v| (field, v)))
        .collect()
    }
}

impl From<Noun> for Resource {
    fn from(n: Noun) -> Resource {
        n.0
    }
}

/// A positional word of `ph-sync`: an action or a resource (the resources' names come from
/// the resource table, then `all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    Action(Action),
    Resource(ResourceArg),
}

impl ValueEnum for Word {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: LazyLock<Vec<Word>> = LazyLock::new(|| {
            let actions = Action::value_variants().iter().copied().map(Word::Action);
            let resources = ResourceArg::value_variants().iter().copied();
            actions.chain(resources.map(Word::Resource)).collect()
        });
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        // The words are listed by name only (the actions' descriptions are on `ph-sync`).
        let value = match self {
            Word::Action(a) => a.to_possible_value()?,
            Word::Resource(r) => r.to_possible_value()?,
        };
        Some(value.help(None::<&'static str>))
    }
}

impl Word {
    fn action(self) -> Option<Action> {
        match self {
            Word::Action(a) => Some(a),
            Word::Resource(_) => None,
        }
    }

    fn resource(self) -> Option<ResourceArg> {
        match self {
            Word::Resource(r) => Some(r),
            Word::Action(_) => None,
        }
    }
}

impl PhSyncArgs {
    /// The action (if any) and the resources the words name: `[ACTION] [RESOURCE]`, each
    /// optional, in that order.
    pub fn target(&self) -> Result<(Option<Action>, ResourceArg), String> {
        let usage = "usage: kodo ph-sync [status|import|export|audit|setup] \
                     [events|flags|experiments|dashboards|all]";
        match self.words.as_slice() {
            [] => Ok((None, ResourceArg::All)),
            [one] => match (one.action(), one.resource()) {
                (Some(action), _) => Ok((Some(action), ResourceArg::All)),
                (_, Some(resource)) => Ok((None, resource)),
                _ => Err(usage.into()),
            },
            [first, second] => match (first.action(), second.resource()) {
                (Some(action), Some(resource)) => Ok((Some(action), resource)),
                _ => Err(format!(
                    "`{}` cannot follow `{}`: the action comes first, then the resource\n  {usage}",
                    word_name(*second),
                    word_name(*first)
                )),
            },
            _ => Err(usage.into()),
        }
    }
}

fn word_name(word: Word) -> String {
    word.to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
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

/// The resources a `ph-sync` command works on: one (named by the resource table's `plural`)
/// or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceArg {
    One(Resource),
    All,
}

impl ValueEnum for ResourceArg {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: LazyLock<Vec<ResourceArg>> = LazyLock::new(|| {
            let one = Resource::ALL.into_iter().map(ResourceArg::One);
            one.chain([ResourceArg::All]).collect()
        });
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            ResourceArg::One(r) => r.plural(),
            ResourceArg::All => "all",
        }))
    }
}

impl ResourceArg {
    pub fn resources(self) -> Vec<Resource> {
        match self {
            ResourceArg::One(r) => vec![r],
            ResourceArg::All => Resource::ALL.to_vec(),
        }
    }
}

/// One resource on the command line (`--type`): the clap-facing twin of the model's
/// [`Resource`], which knows nothing of the CLI; its names are the resource table's `plural`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceType(pub Resource);

impl ValueEnum for ResourceType {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: LazyLock<Vec<ResourceType>> =
            LazyLock::new(|| Resource::ALL.map(ResourceType).to_vec());
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.plural()))
    }
}

impl From<ResourceType> for Resource {
    fn from(r: ResourceType) -> Resource {
        r.0
    }
}

#[derive(Debug, Args)]
pub struct NotionSyncArgs {
    #[arg(long, value_enum)]
    pub direction: Direction,
    #[arg(long = "type", value_enum)]
    pub resource: ResourceType,
    /// Overwrite fields people write (push only)
    #[arg(long)]
    pub overwrite: bool,
    /// Output format: md (human Markdown), json (stable, for machines) or csv
    #[arg(long, value_enum)]
    pub format: Option<SyncFormat>,
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
        assert!(cli.global.check);
        assert_eq!(cli.global.verbose, 2);
        let Command::PhSync(args) = cli.command else {
            panic!("expected ph-sync")
        };
        assert_eq!(args.format, Some(SyncFormat::Json));
        let (action, resource) = args.target().unwrap();
        assert_eq!(action, Some(Action::Audit));
        assert_eq!(resource.resources(), vec![Resource::Flags]);
    }

    fn target(words: &[&str]) -> Result<(Option<Action>, ResourceArg), String> {
        let mut argv = vec!["kodo", "ph-sync"];
        argv.extend(words);
        let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        let Command::PhSync(args) = cli.command else {
            panic!("expected ph-sync")
        };
        args.target()
    }

    #[test]
    fn action_and_resource_are_each_optional() {
        assert_eq!(
            target(&["flags"]),
            Ok((None, ResourceArg::One(Resource::Flags)))
        );
        assert_eq!(
            target(&["import"]),
            Ok((Some(Action::Import), ResourceArg::All))
        );
        assert_eq!(
            target(&["export", "events"]),
            Ok((Some(Action::Export), ResourceArg::One(Resource::Events)))
        );
        let err = target(&["flags", "audit"]).unwrap_err();
        assert!(err.contains("the action comes first"), "{err}");
        assert!(target(&["audit", "import"]).is_err());
        assert!(target(&["audit", "flags", "events"]).is_err());
    }

    #[test]
    fn no_action_means_all_resources() {
        let cli = Cli::try_parse_from(["kodo", "ph-sync"]).unwrap();
        let Command::PhSync(args) = cli.command else {
            panic!("expected ph-sync")
        };
        assert_eq!(args.target(), Ok((None, ResourceArg::All)));
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
        assert_eq!(Resource::from(args.resource), Resource::Experiments);
    }

    /// Each subcommand accepts only the formats it writes: anything else is a usage error
    /// (exit 2) before any work is done.
    #[test]
    fn formats_are_checked_at_parse_time() {
        let refused: [&[&str]; 6] = [
            &["kodo", "ph-sync", "audit", "--format", "sarif"],
            &[
                "kodo",
                "notion-sync",
                "--direction",
                "pull",
                "--type",
                "flags",
                "--format",
                "sarif",
            ],
            &["kodo", "scan", "--format", "csv"],
            &["kodo", "hook", "pre-commit", "--format", "csv"],
            &["kodo", "hooks", "install", "--format", "sarif"],
            &["kodo", "snapshot", "refresh", "--format", "json"],
        ];
        for argv in refused {
            let err = Cli::try_parse_from(argv).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{argv:?}");
        }
        let accepted: [&[&str]; 4] = [
            &["kodo", "ph-sync", "audit", "--format", "csv"],
            &["kodo", "scan", "--format", "sarif"],
            &["kodo", "hook", "pre-commit", "--format", "json"],
            &[
                "kodo",
                "notion-sync",
                "--direction",
                "pull",
                "--type",
                "flags",
                "--format",
                "csv",
            ],
        ];
        for argv in accepted {
            assert!(Cli::try_parse_from(argv).is_ok(), "{argv:?}");
        }
    }

    #[test]
    fn unknown_resource_is_a_usage_error() {
        let err = Cli::try_parse_from(["kodo", "ph-sync", "audit", "cohorts"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
