//! The command-line surface, as clap sees it: raw arguments, no I/O.
//!
//! `main.rs` turns these into calls on the library. Every subcommand listed here does real
//! work; a command appears only once it is built.

use std::path::PathBuf;

use std::sync::LazyLock;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::Resource;

/// The exit-code table every `--help` ends with, rendered from [`crate::exit::CODES`].
pub static EXIT_CODES_HELP: LazyLock<String> = LazyLock::new(|| crate::exit::help(92));

/// `kodo completions --help`'s epilogue: where to put the script, then the exit codes.
static COMPLETIONS_HELP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "Install, for example:\n  bash: kodo completions bash > ~/.local/share/bash-completion/completions/kodo\n  \
         zsh:  kodo completions zsh > \"${{fpath[1]}}/_kodo\"\n  \
         fish: kodo completions fish > ~/.config/fish/completions/kodo.fish\n\n{}",
        *EXIT_CODES_HELP
    )
});

/// Keep PostHog analytics configuration, Notion documentation and source code in agreement.
#[derive(Debug, Parser)]
#[command(name = "kodo", version, about, after_help = EXIT_CODES_HELP.as_str(), max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub before: BeforeArgs,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments; a usage error (clap's, or a word in the wrong place)
    /// prints itself and exits 2.
    pub fn parse_args() -> Cli {
        match Cli::try_parse_checked(std::env::args_os()) {
            Ok(cli) => cli,
            Err(e) => e.exit(),
        }
    }

    /// [`Cli::parse_args`] on given arguments, for tests.
    pub fn try_parse_checked<I, T>(argv: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = Cli::try_parse_from(argv)?;
        if let Command::PhSync(args) = &cli.command {
            if let Some(message) = args.misplaced() {
                return Err(subcommand_error(&["ph-sync"], message));
            }
        }
        cli.check_options_before()?;
        Ok(cli)
    }

    /// An option given before the command's name must be one the command honours (after
    /// the name, clap itself refuses the others), and `-q` cannot meet `-v` across the name.
    fn check_options_before(&self) -> Result<(), clap::Error> {
        let honoured = self.command.honoured();
        let given = [
            (
                "--config",
                self.before.config.is_some(),
                honoured.config.is_some(),
            ),
            ("-q", self.before.quiet, honoured.quiet.is_some()),
            ("-v", self.before.verbose > 0, honoured.verbose.is_some()),
        ];
        for (option, given, takes) in given {
            if given && !takes {
                let path = honoured.path.join(" ");
                return Err(subcommand_error(
                    honoured.path,
                    format!(
                        "`{option}` does not apply to `kodo {path}` (`kodo {path} --help` lists \
                         the options it takes)"
                    ),
                ));
            }
        }
        let options = self.options();
        if options.quiet && options.verbose > 0 {
            return Err(subcommand_error(
                honoured.path,
                "`-q` (only errors) and `-v` (log each request) cannot be used together".into(),
            ));
        }
        Ok(())
    }

    /// The run-wide options the command line set, before the command's name or after it.
    pub fn options(&self) -> CommonOptions {
        let honoured = self.command.honoured();
        CommonOptions {
            config: self
                .before
                .config
                .clone()
                .or_else(|| honoured.config.cloned().flatten()),
            quiet: self.before.quiet || honoured.quiet.unwrap_or(false),
            verbose: self
                .before
                .verbose
                .saturating_add(honoured.verbose.unwrap_or(0)),
        }
    }
}

/// A usage error (exit 2) reported by the subcommand at `path` (its usage line included).
fn subcommand_error(path: &[&str], message: String) -> clap::Error {
    fn at(cmd: &mut clap::Command, path: &[&str], message: String) -> clap::Error {
        if let Some((name, rest)) = path.split_first() {
            if let Some(sub) = cmd.find_subcommand_mut(name) {
                return at(sub, rest, message);
            }
        }
        cmd.error(clap::error::ErrorKind::ArgumentConflict, message)
    }
    let mut cmd = <Cli as clap::CommandFactory>::command();
    cmd.build();
    at(&mut cmd, path, message)
}

/// The run-wide options a command line set, wherever it put them: what a command reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommonOptions {
    pub config: Option<PathBuf>,
    pub quiet: bool,
    pub verbose: u8,
}

/// `--config`, `-q` and `-v` before the command's name (`kodo -v ph-sync import`): each is
/// accepted only for a command that honours it ([`Command::honoured`]). The ids differ from
/// the commands' own so the two never meet in clap's matches.
#[derive(Debug, Args, Clone)]
pub struct BeforeArgs {
    /// Config file, for the commands that read one [default: .kodo/config.json, found from
    /// the current directory up to the repository root]
    #[arg(
        id = "config_before",
        long = "config",
        value_name = "PATH",
        display_order = 900
    )]
    pub config: Option<PathBuf>,
    /// Print only errors (every command but `completions` and `hook claude`)
    #[arg(
        id = "quiet_before",
        short = 'q',
        long = "quiet",
        conflicts_with = "verbose_before",
        display_order = 901
    )]
    pub quiet: bool,
    /// Log each request (-v) and more detail (-vv), for the commands that send requests or
    /// read code; tokens are never printed
    #[arg(
        id = "verbose_before",
        short = 'v',
        long = "verbose",
        action = clap::ArgAction::Count,
        display_order = 902
    )]
    pub verbose: u8,
}

/// `--config`, on the commands that read the config. Global within a command, so that each
/// of its own subcommands (all of which read it) takes it too.
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArg {
    /// Config file [default: .kodo/config.json, found from the current directory up to the repository root]
    #[arg(long, global = true, value_name = "PATH", display_order = 900)]
    pub config: Option<PathBuf>,
}

/// `-q`, on the commands that print more than errors.
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct QuietArg {
    /// Print only errors
    #[arg(short, long, global = true, display_order = 901)]
    pub quiet: bool,
}

/// `-q` and `-v`, on the commands that also have requests (or skipped files) to log.
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct OutputArgs {
    #[command(flatten)]
    pub quiet: QuietArg,
    /// Log each request (-v) and more detail (-vv); tokens are never printed
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet", display_order = 902)]
    pub verbose: u8,
}

/// All three, on the commands that read the config, print and send requests (most of them).
#[derive(Debug, Args, Clone, Default)]
pub struct CommonArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Which of `--config`, `-q` and `-v` a command takes, and the values its own command line
/// gave them (`None`: the command does not take that option).
#[derive(Debug, Clone, Copy)]
pub struct Honoured<'a> {
    /// The command's name after `kodo` (`["hook", "claude"]`), for messages.
    pub path: &'static [&'static str],
    pub config: Option<&'a Option<PathBuf>>,
    pub quiet: Option<bool>,
    pub verbose: Option<u8>,
}

impl<'a> Honoured<'a> {
    fn all(path: &'static [&'static str], common: &'a CommonArgs) -> Honoured<'a> {
        Honoured {
            path,
            config: Some(&common.config.config),
            quiet: Some(common.output.quiet.quiet),
            verbose: Some(common.output.verbose),
        }
    }
}

/// `--dry-run`, on the commands that write (import, setup, export, hooks install, notion-sync).
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct DryRunArg {
    /// Show what would change without writing anything
    #[arg(long)]
    pub dry_run: bool,
}

/// `--check`, on the commands that judge (the overview, status, audit, scan).
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct CheckArg {
    /// Exit 1 when anything is out of sync (for CI)
    #[arg(long)]
    pub check: bool,
}

/// `--no-cache`, on the commands that scan the code.
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct CacheArg {
    /// Neither read nor write the code scan's cache (.kodo/cache/); scan every file afresh
    #[arg(long)]
    pub no_cache: bool,
}

/// `--no-wait`, on the commands that write to Notion.
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct WaitArg {
    /// When another kodo run is writing to Notion from this repository, exit 2 at once
    /// instead of waiting for it
    #[arg(long)]
    pub no_wait: bool,
}

/// The run-wide switches one command line set, whichever subcommand carries them (a
/// subcommand offers only those it honours; the others stay off).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    pub dry_run: bool,
    pub check: bool,
    pub no_cache: bool,
    pub no_wait: bool,
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

/// The formats of the commands that write no table: `ph-sync import`, `setup` and `document`,
/// `kodo hook pre-commit` and `kodo doctor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Md,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sync PostHog and Notion: status, import, export, audit or setup (none: status, the
    /// discrepancies, and the commands that would fix them)
    #[command(name = "ph-sync", after_help = EXIT_CODES_HELP.as_str())]
    PhSync(PhSyncArgs),
    /// The spec's CLI alternative: `--direction push` is `ph-sync import`, `pull` is `export`
    #[command(name = "notion-sync", after_help = EXIT_CODES_HELP.as_str())]
    NotionSync(NotionSyncArgs),
    /// Find PostHog event captures and feature-flag checks in the source code
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    Scan(ScanArgs),
    /// Run a hook: `claude` (Claude Code PreToolUse/PostToolUse, JSON on stdin) or `pre-commit`
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    Hook(HookArgs),
    /// Install kodo's hooks: the git pre-commit hook, or Claude Code hooks in .claude/settings.json
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    Hooks(HooksArgs),
    /// The local snapshot of what Notion documents (.kodo/snapshot.json), used offline by hooks
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    Snapshot(SnapshotArgs),
    /// Check that this repository is ready: config, tokens, Notion databases and parent page,
    /// PostHog access, the snapshot and the hooks (one line per check; exit 1 if one fails)
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    Doctor(DoctorArgs),
    /// Print a shell completion script for kodo to stdout (bash, zsh, fish, elvish, powershell)
    #[command(after_help = COMPLETIONS_HELP.as_str())]
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
    #[command(flatten)]
    pub common: CommonArgs,
    /// Output format: md (one line per check) or json (stable, for machines)
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
}

impl ReportArgs {
    /// The run-wide switches a report's options set.
    fn run_options(&self) -> RunOptions {
        RunOptions {
            check: self.check.check,
            no_cache: self.cache.no_cache,
            ..RunOptions::default()
        }
    }
}

impl Command {
    /// Which of `--config`, `-q` and `-v` this command honours, as it reads them: the config
    /// (all but `completions` and `hooks install`), messages `-q` silences (all but
    /// `completions`, which prints only the script, and `hook claude`, whose stderr is Claude
    /// Code's to read), and requests or details `-v` logs (those that read the config but
    /// `hook claude`, whose clients log nothing).
    pub fn honoured(&self) -> Honoured<'_> {
        match self {
            Command::PhSync(args) => Honoured::all(&["ph-sync"], &args.common),
            Command::NotionSync(args) => Honoured::all(&["notion-sync"], &args.common),
            Command::Scan(args) => Honoured::all(&["scan"], &args.common),
            Command::Hook(HookArgs {
                which: HookWhich::PreCommit(args),
            }) => Honoured::all(&["hook", "pre-commit"], &args.common),
            Command::Hook(HookArgs {
                which: HookWhich::Claude(args),
            }) => Honoured {
                path: &["hook", "claude"],
                config: Some(&args.config.config),
                quiet: None,
                verbose: None,
            },
            Command::Hooks(HooksArgs {
                action: HooksAction::Install(args),
            }) => Honoured {
                path: &["hooks", "install"],
                config: None,
                quiet: Some(args.quiet.quiet),
                verbose: None,
            },
            Command::Snapshot(args) => Honoured::all(&["snapshot", "refresh"], &args.common),
            Command::Doctor(args) => Honoured::all(&["doctor"], &args.common),
            Command::Completions(_) => Honoured {
                path: &["completions"],
                config: None,
                quiet: None,
                verbose: None,
            },
        }
    }

    /// Whether the command line asked for a `--format` (machine output `-q` does not silence).
    pub fn format_given(&self) -> bool {
        match self {
            Command::PhSync(args) => match &args.action {
                None => args.overview.report.format.is_some(),
                Some(PhSyncAction::Status(a)) => a.format.is_some(),
                Some(PhSyncAction::Import(a)) => a.format.is_some(),
                Some(PhSyncAction::Export(a)) => a.format.is_some(),
                Some(PhSyncAction::Audit(a)) => a.report.format.is_some(),
                Some(PhSyncAction::Setup(a)) => a.format.is_some(),
                Some(PhSyncAction::Document(a)) => a.format.is_some(),
            },
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

    /// The run-wide switches this command line set (each subcommand has only those it honours).
    pub fn run_options(&self) -> RunOptions {
        let off = RunOptions::default();
        match self {
            Command::PhSync(args) => match &args.action {
                None => args.overview.report.run_options(),
                Some(PhSyncAction::Status(a)) => RunOptions {
                    check: a.check.check,
                    ..off
                },
                Some(PhSyncAction::Import(a)) => RunOptions {
                    dry_run: a.dry_run.dry_run,
                    no_cache: a.cache.no_cache,
                    no_wait: a.wait.no_wait,
                    ..off
                },
                Some(PhSyncAction::Export(a)) => RunOptions {
                    dry_run: a.dry_run.dry_run,
                    ..off
                },
                Some(PhSyncAction::Audit(a)) => a.report.run_options(),
                Some(PhSyncAction::Setup(a)) => RunOptions {
                    dry_run: a.dry_run.dry_run,
                    no_wait: a.wait.no_wait,
                    ..off
                },
                Some(PhSyncAction::Document(a)) => RunOptions {
                    dry_run: a.dry_run.dry_run,
                    no_wait: a.wait.no_wait,
                    ..off
                },
            },
            Command::NotionSync(a) => RunOptions {
                dry_run: a.dry_run.dry_run,
                no_cache: a.cache.no_cache,
                no_wait: a.wait.no_wait,
                ..off
            },
            Command::Scan(a) => RunOptions {
                check: a.check,
                no_cache: a.cache.no_cache,
                ..off
            },
            Command::Hook(HookArgs {
                which: HookWhich::PreCommit(a),
            }) => RunOptions {
                no_cache: a.cache.no_cache,
                ..off
            },
            Command::Hooks(HooksArgs {
                action: HooksAction::Install(a),
            }) => RunOptions {
                dry_run: a.dry_run,
                ..off
            },
            Command::Hook(_)
            | Command::Snapshot(_)
            | Command::Doctor(_)
            | Command::Completions(_) => off,
        }
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub common: CommonArgs,
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
    /// Exit 1 when the code uses events or flags that are not documented (needs the full config)
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub cache: CacheArg,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub which: HookWhich,
}

#[derive(Debug, Subcommand)]
pub enum HookWhich {
    /// Claude Code hook: reads the hook JSON on stdin; exit 2 blocks an undocumented create
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    Claude(ClaudeArgs),
    /// Git pre-commit hook: blocks commits that add undocumented events or flags (exit 1)
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    PreCommit(PreCommitArgs),
}

/// `kodo hook claude`: the config is all it reads from the command line (its messages are
/// Claude Code's to read, and its requests are not logged).
#[derive(Debug, Args)]
pub struct ClaudeArgs {
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Args)]
pub struct PreCommitArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Output format: md (the human report, on stderr) or json (on stdout)
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    #[command(flatten)]
    pub cache: CacheArg,
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
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    Install(HooksInstallArgs),
}

#[derive(Debug, Args)]
pub struct HooksInstallArgs {
    #[command(flatten)]
    pub quiet: QuietArg,
    /// Install the Claude Code hooks into the project's .claude/settings.json instead
    #[arg(long)]
    pub claude_settings: bool,
    /// Replace a pre-commit hook that kodo did not write
    #[arg(long)]
    pub force: bool,
    /// Print what would be written instead of writing it
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub action: SnapshotAction,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotAction {
    /// Read the Notion databases and rewrite .kodo/snapshot.json
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    Refresh,
}

/// `kodo ph-sync [ACTION] [RESOURCE]`: an action is a subcommand with its own options; with
/// none, the words and options here are the overview's (`kodo ph-sync flags --check`).
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_value_name = "ACTION",
    subcommand_help_heading = "Actions",
    override_usage = "kodo ph-sync [RESOURCE] [OPTIONS]\n       kodo ph-sync <ACTION> [RESOURCE] [OPTIONS]\n       kodo ph-sync document <event|flag|experiment|dashboard> <KEY> [OPTIONS]"
)]
pub struct PhSyncArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub action: Option<PhSyncAction>,
    #[command(flatten)]
    pub overview: OverviewArgs,
}

/// The overview (no action): the status, the discrepancies and the commands that fix them.
#[derive(Debug, Args)]
pub struct OverviewArgs {
    /// events, flags, experiments, dashboards or all [default: all]
    #[arg(value_name = "RESOURCE", value_parser = OverviewWord, hide_possible_values = true)]
    pub resource: Option<ResourceArg>,
    /// A word after the resource: always a mistake (the action comes first), reported as such
    #[arg(hide = true, value_name = "MISPLACED")]
    pub misplaced: Option<String>,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// The options of a discrepancy report (the overview and `audit`): the same four, declared once.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub check: CheckArg,
    /// Leave the source code out (no code scan, no code section)
    #[arg(long)]
    pub no_code: bool,
    #[command(flatten)]
    pub cache: CacheArg,
    /// Output format: md (human Markdown), json (stable, for machines) or csv
    #[arg(long, value_enum)]
    pub format: Option<SyncFormat>,
}

/// The actions of `ph-sync`, each with the options it honours.
#[derive(Debug, Subcommand)]
pub enum PhSyncAction {
    /// Counts in PostHog and Notion, undocumented resources, last sync time
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    Status(StatusArgs),
    /// Create missing and update stale Notion entries from PostHog
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    Import(ImportArgs),
    /// Write the Notion side to .kodo/export/<resource>.json and .csv (or stdout with --format)
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    Export(ExportArgs),
    /// The full discrepancy report: undocumented, orphaned, status mismatches, stale facts,
    /// the code section and the best-practice findings
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    Audit(AuditArgs),
    /// Create the four Notion databases (or adopt kodo's existing ones) and write their IDs
    /// into the config
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    Setup(SetupArgs),
    /// Write the Notion row of an event, flag, experiment or dashboard before it exists in
    /// PostHog (documentation first): created once, with the planned status and the facts
    /// kodo derives; re-running writes only what is given. Refreshes the offline snapshot.
    #[command(after_help = EXIT_CODES_HELP.as_str())]
    Document(Box<DocumentArgs>),
}

/// `[RESOURCE]` of an action: which resources it works on.
#[derive(Debug, Args, Clone, Copy)]
pub struct ResourceWord {
    #[arg(value_enum, value_name = "RESOURCE", default_value_t = ResourceArg::All)]
    pub resource: ResourceArg,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: ResourceWord,
    #[command(flatten)]
    pub check: CheckArg,
    /// Output format: md (human Markdown), json (stable, for machines) or csv
    #[arg(long, value_enum)]
    pub format: Option<SyncFormat>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub target: ResourceWord,
    #[command(flatten)]
    pub dry_run: DryRunArg,
    /// Overwrite fields people write (Description, Hypothesis, Owner, …) with PostHog's values
    #[arg(long)]
    pub overwrite: bool,
    /// Move orphaned Notion rows (no PostHog counterpart) to the trash
    #[arg(long)]
    pub archive_orphans: bool,
    /// Write without asking: on a terminal, an import with --overwrite, with --archive-orphans
    /// or with more than 50 writes asks for confirmation after the plan (a non-terminal never
    /// asks)
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub cache: CacheArg,
    #[command(flatten)]
    pub wait: WaitArg,
    /// Output format: md (the plan and the result for people) or json (stable, for machines)
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub target: ResourceWord,
    #[command(flatten)]
    pub dry_run: DryRunArg,
    /// Print to stdout instead of writing .kodo/export/: json (stable, for machines) or csv
    /// (one resource); md is the default, the files
    #[arg(long, value_enum)]
    pub format: Option<SyncFormat>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub target: ResourceWord,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    #[command(flatten)]
    pub target: ResourceWord,
    #[command(flatten)]
    pub dry_run: DryRunArg,
    /// Regenerate the tracking-plan page from the Notion databases now (import does it after
    /// every run)
    #[arg(long)]
    pub refresh_pages: bool,
    #[command(flatten)]
    pub wait: WaitArg,
    /// Output format: md (one line per database) or json (stable, for machines)
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
}

/// The action names, for the overview's error message.
pub const ACTIONS: [&str; 6] = ["status", "import", "export", "audit", "setup", "document"];

/// The overview's `[RESOURCE]`: a resource. Any other word is neither an action (clap matched
/// those as subcommands first) nor a resource; the error lists both, with the nearest name.
fn parse_overview_word(word: &str) -> Result<ResourceArg, String> {
    if let Ok(resource) = ResourceArg::from_str(word, true) {
        return Ok(resource);
    }
    let resources: Vec<String> = ResourceArg::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value())
        .map(|v| v.get_name().to_string())
        .collect();
    let lower = word.to_ascii_lowercase();
    let nearest = ACTIONS
        .iter()
        .map(|a| a.to_string())
        .chain(resources.iter().cloned())
        .map(|name| (crate::config::edit_distance(&lower, &name), name))
        .filter(|(d, name)| *d <= (name.len() / 3).clamp(1, 3))
        .min()
        .map(|(_, name)| format!("; did you mean `{name}`?"))
        .unwrap_or_default();
    Err(format!(
        "neither an action nor a resource{nearest}\n  actions:   {}\n  resources: {}\n  \
         usage: kodo ph-sync [ACTION] [RESOURCE], e.g. `kodo ph-sync audit flags`",
        ACTIONS.join(", "),
        resources.join(", ")
    ))
}

/// The overview's `[RESOURCE]` parser: [`parse_overview_word`], offering the resources to
/// shell completion.
#[derive(Debug, Clone, Copy)]
struct OverviewWord;

impl clap::builder::TypedValueParser for OverviewWord {
    type Value = ResourceArg;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<ResourceArg, clap::Error> {
        let word = value.to_string_lossy();
        parse_overview_word(&word).map_err(|message| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("invalid value '{word}' for '[RESOURCE]': {message}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            ResourceArg::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value()),
        ))
    }
}

impl PhSyncArgs {
    /// A second word after the overview's resource is a usage error: the action comes first.
    pub fn misplaced(&self) -> Option<String> {
        let word = self.overview.misplaced.as_ref()?;
        let resource = self
            .overview
            .resource
            .and_then(|r| r.to_possible_value())
            .map(|v| v.get_name().to_string())
            .unwrap_or_default();
        Some(if ACTIONS.contains(&word.as_str()) {
            format!(
                "`{word}` cannot follow `{resource}`: the action comes first, then the resource \
                 (`kodo ph-sync {word} {resource}`)"
            )
        } else {
            format!("unexpected word `{word}` after `{resource}`: usage: kodo ph-sync [ACTION] [RESOURCE]")
        })
    }
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
    #[command(flatten)]
    pub dry_run: DryRunArg,
    #[command(flatten)]
    pub wait: WaitArg,
    /// Output format: md (human Markdown) or json (stable, for machines)
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
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

#[derive(Debug, Args)]
pub struct NotionSyncArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[arg(long, value_enum)]
    pub direction: Direction,
    #[arg(long = "type", value_enum)]
    pub resource: ResourceType,
    /// Overwrite fields people write (push only)
    #[arg(long)]
    pub overwrite: bool,
    /// Write without asking (push only; see `kodo ph-sync import --help`)
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub dry_run: DryRunArg,
    #[command(flatten)]
    pub cache: CacheArg,
    #[command(flatten)]
    pub wait: WaitArg,
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
        let cli = Cli::try_parse_checked([
            "kodo", "ph-sync", "audit", "flags", "--format", "json", "--check", "-vv",
        ])
        .unwrap();
        assert_eq!(cli.options().verbose, 2);
        assert!(cli.command.run_options().check);
        let Command::PhSync(PhSyncArgs {
            action: Some(PhSyncAction::Audit(audit)),
            ..
        }) = cli.command
        else {
            panic!("expected ph-sync audit")
        };
        assert_eq!(audit.report.format, Some(SyncFormat::Json));
        assert_eq!(audit.target.resource.resources(), vec![Resource::Flags]);
    }

    /// What the words of `ph-sync` name: the action (None: the overview) and the resource.
    fn target(words: &[&str]) -> Result<(Option<&'static str>, ResourceArg), String> {
        let mut argv = vec!["kodo", "ph-sync"];
        argv.extend(words);
        let cli = Cli::try_parse_checked(argv).map_err(|e| e.to_string())?;
        let Command::PhSync(args) = cli.command else {
            panic!("expected ph-sync")
        };
        Ok(match args.action {
            None => (None, args.overview.resource.unwrap_or(ResourceArg::All)),
            Some(PhSyncAction::Status(a)) => (Some("status"), a.target.resource),
            Some(PhSyncAction::Import(a)) => (Some("import"), a.target.resource),
            Some(PhSyncAction::Export(a)) => (Some("export"), a.target.resource),
            Some(PhSyncAction::Audit(a)) => (Some("audit"), a.target.resource),
            Some(PhSyncAction::Setup(a)) => (Some("setup"), a.target.resource),
            Some(PhSyncAction::Document(_)) => (Some("document"), ResourceArg::All),
        })
    }

    /// The documented syntax `[status|import|export|audit|setup] [events|…|all]`, each word
    /// optional, keeps working.
    #[test]
    fn action_and_resource_are_each_optional() {
        assert_eq!(target(&[]), Ok((None, ResourceArg::All)));
        assert_eq!(
            target(&["flags"]),
            Ok((None, ResourceArg::One(Resource::Flags)))
        );
        assert_eq!(target(&["import"]), Ok((Some("import"), ResourceArg::All)));
        assert_eq!(
            target(&["export", "events"]),
            Ok((Some("export"), ResourceArg::One(Resource::Events)))
        );
        for action in ["status", "import", "export", "audit", "setup"] {
            assert_eq!(
                target(&[action, "dashboards"]),
                Ok((Some(action), ResourceArg::One(Resource::Dashboards)))
            );
        }
        let err = target(&["flags", "audit"]).unwrap_err();
        assert!(err.contains("the action comes first"), "{err}");
        assert!(err.contains("kodo ph-sync audit flags"), "{err}");
        assert!(target(&["audit", "import"]).is_err());
        assert!(target(&["audit", "flags", "events"]).is_err());
        assert!(target(&["flags", "events"]).is_err());
    }

    /// An unknown word names what is wrong and lists both kinds of word, with the nearest one.
    #[test]
    fn an_unknown_word_lists_actions_and_resources() {
        let err = target(&["frobnicate"]).unwrap_err();
        assert!(err.contains("neither an action nor a resource"), "{err}");
        assert!(
            err.contains("actions:   status, import, export, audit, setup, document"),
            "{err}"
        );
        assert!(
            err.contains("resources: events, flags, experiments, dashboards, all"),
            "{err}"
        );
        assert!(!err.contains("did you mean"), "{err}");
        let err = target(&["imprt"]).unwrap_err();
        assert!(err.contains("did you mean `import`?"), "{err}");
        let err = target(&["flgs"]).unwrap_err();
        assert!(err.contains("did you mean `flags`?"), "{err}");
        let err = target(&["import", "frobs"]).unwrap_err();
        assert!(
            err.contains("[possible values: events, flags, experiments, dashboards, all]"),
            "{err}"
        );
    }

    /// Each action takes only the options it honours.
    #[test]
    fn each_action_offers_only_its_options() {
        let refused: [&[&str]; 9] = [
            &["audit", "--overwrite"],
            &["audit", "--dry-run"],
            &["status", "--no-code"],
            &["status", "--dry-run"],
            &["import", "--check"],
            &["export", "--check"],
            &["setup", "--check"],
            &["setup", "--overwrite"],
            &["--dry-run"],
        ];
        for words in refused {
            let err = target(words).unwrap_err();
            assert!(err.contains("unexpected argument"), "{words:?}: {err}");
        }
        let refused_elsewhere: [&[&str]; 5] = [
            &["kodo", "doctor", "--check"],
            &["kodo", "snapshot", "refresh", "--dry-run"],
            &["kodo", "hook", "claude", "--no-cache"],
            &["kodo", "hooks", "install", "--check"],
            &["kodo", "--dry-run", "scan"],
        ];
        for argv in refused_elsewhere {
            assert!(Cli::try_parse_checked(argv).is_err(), "{argv:?}");
        }
        let accepted: [(&[&str], RunOptions); 5] = [
            (
                &[
                    "kodo",
                    "ph-sync",
                    "import",
                    "flags",
                    "--dry-run",
                    "--no-wait",
                ],
                RunOptions {
                    dry_run: true,
                    no_wait: true,
                    ..RunOptions::default()
                },
            ),
            (
                &["kodo", "ph-sync", "--check", "--no-cache"],
                RunOptions {
                    check: true,
                    no_cache: true,
                    ..RunOptions::default()
                },
            ),
            (
                &["kodo", "scan", "--check", "--no-cache"],
                RunOptions {
                    check: true,
                    no_cache: true,
                    ..RunOptions::default()
                },
            ),
            (
                &["kodo", "hooks", "install", "--dry-run"],
                RunOptions {
                    dry_run: true,
                    ..RunOptions::default()
                },
            ),
            (
                &["kodo", "ph-sync", "setup", "--dry-run", "--format", "json"],
                RunOptions {
                    dry_run: true,
                    ..RunOptions::default()
                },
            ),
        ];
        for (argv, options) in accepted {
            let cli = Cli::try_parse_checked(argv).unwrap();
            assert_eq!(cli.command.run_options(), options, "{argv:?}");
        }
    }

    /// Every command's own command line, the shortest that parses: the table below must
    /// name each leaf command clap has.
    const EVERY_COMMAND: [&[&str]; 15] = [
        &["ph-sync"],
        &["ph-sync", "status"],
        &["ph-sync", "import"],
        &["ph-sync", "export"],
        &["ph-sync", "audit"],
        &["ph-sync", "setup"],
        &["ph-sync", "document", "event", "signup"],
        &["notion-sync", "--direction", "push", "--type", "flags"],
        &["scan"],
        &["hook", "claude"],
        &["hook", "pre-commit"],
        &["hooks", "install"],
        &["snapshot", "refresh"],
        &["doctor"],
        &["completions", "bash"],
    ];

    /// The subcommand of the built clap tree that `argv` (an [`EVERY_COMMAND`] row) names.
    fn leaf<'a>(cli: &'a clap::Command, argv: &[&str]) -> &'a clap::Command {
        let mut cmd = cli;
        for word in argv {
            match cmd.find_subcommand(word) {
                Some(sub) => cmd = sub,
                None => break,
            }
        }
        cmd
    }

    /// `--config`, `-q` and `-v` show (in `--help`, in completion scripts) on exactly the
    /// commands that honour them ([`Command::honoured`], which says what each one reads),
    /// after the name and before it alike; anywhere else they are a usage error that says
    /// the option does not apply.
    #[test]
    fn each_command_shows_only_the_run_wide_options_it_honours() {
        let mut cli = Cli::command();
        cli.build();
        let mut leaves = Vec::new();
        for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
            let nested: Vec<_> = sub
                .get_subcommands()
                .filter(|s| s.get_name() != "help")
                .map(|n| format!("{} {}", sub.get_name(), n.get_name()))
                .collect();
            if nested.is_empty() || sub.get_name() == "ph-sync" {
                leaves.push(sub.get_name().to_string());
            }
            leaves.extend(nested);
        }
        let named: Vec<String> = EVERY_COMMAND
            .iter()
            .map(|argv| leaf(&cli, argv).get_name().to_string())
            .collect();
        for l in &leaves {
            let last = l.rsplit(' ').next().unwrap_or(l);
            assert!(
                named.iter().any(|n| n == last),
                "EVERY_COMMAND lacks `kodo {l}`"
            );
        }
        let mut refused = 0;
        for argv in EVERY_COMMAND {
            let parsed =
                Cli::try_parse_checked(std::iter::once("kodo").chain(argv.iter().copied()))
                    .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            let honoured = parsed.command.honoured();
            let cmd = leaf(&cli, argv);
            let shows = |id: &str| cmd.get_arguments().any(|a| a.get_id() == id);
            for (id, option, takes) in [
                (
                    "config",
                    ["--config", "x.json"].as_slice(),
                    honoured.config.is_some(),
                ),
                ("quiet", &["-q"], honoured.quiet.is_some()),
                ("verbose", &["-v"], honoured.verbose.is_some()),
            ] {
                assert_eq!(shows(id), takes, "`kodo {}` and {id}", argv.join(" "));
                let after =
                    Cli::try_parse_checked(["kodo"].iter().chain(argv).chain(option).copied());
                let before =
                    Cli::try_parse_checked(["kodo"].iter().chain(option).chain(argv).copied());
                if takes {
                    let after = after.unwrap_or_else(|e| panic!("{argv:?} {option:?}: {e}"));
                    let before = before.unwrap_or_else(|e| panic!("{option:?} {argv:?}: {e}"));
                    assert_eq!(after.options(), before.options(), "{argv:?} {option:?}");
                    assert_ne!(
                        after.options(),
                        CommonOptions::default(),
                        "{argv:?} {option:?}"
                    );
                } else {
                    refused += 1;
                    let after = after.expect_err("accepted after the name").to_string();
                    assert!(after.contains("unexpected argument"), "{argv:?}: {after}");
                    let before = before.expect_err("accepted before the name");
                    assert_eq!(before.exit_code(), 2);
                    let before = before.to_string();
                    assert!(
                        before.contains("does not apply to `kodo "),
                        "{argv:?}: {before}"
                    );
                }
            }
        }
        // completions (all three), hook claude (-q, -v), hooks install (--config, -v).
        assert_eq!(refused, 7);
    }

    #[test]
    fn quiet_and_verbose_conflict_across_the_command_name() {
        for argv in [
            &["kodo", "-q", "ph-sync", "status", "-v"][..],
            &["kodo", "-v", "scan", "-q"],
            &["kodo", "doctor", "-q", "-v"],
        ] {
            let err = Cli::try_parse_checked(argv).expect_err("-q with -v");
            assert_eq!(err.exit_code(), 2, "{argv:?}");
        }
        let cli = Cli::try_parse_checked(["kodo", "-v", "ph-sync", "import", "-v"]).unwrap();
        assert_eq!(cli.options().verbose, 2);
        let cli = Cli::try_parse_checked(["kodo", "--config", "a.json", "hook", "claude"]).unwrap();
        assert_eq!(cli.options().config, Some(PathBuf::from("a.json")));
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
        let refused: [&[&str]; 8] = [
            &["kodo", "ph-sync", "audit", "--format", "sarif"],
            &["kodo", "ph-sync", "import", "--format", "csv"],
            &["kodo", "ph-sync", "setup", "--format", "csv"],
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
        for argv in [
            &["kodo", "ph-sync", "audit", "cohorts"][..],
            &["kodo", "ph-sync", "cohorts"],
            &["kodo", "ph-sync", "flags", "audit"],
        ] {
            let err = Cli::try_parse_checked(argv).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{argv:?}");
        }
    }
}
