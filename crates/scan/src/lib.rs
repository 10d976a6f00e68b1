//! `kodo-scan` finds PostHog event captures and feature-flag checks in a repository's
//! source code, resolves the keys they use, says which side (frontend or backend) each
//! runs on, and finds the commit and pull request that first added each key.
//!
//! The central entry point is [`scan`], which returns a [`ScanReport`]; [`git::annotate`]
//! adds first commits and PR links, and [`render`] turns a report into JSON (a stable,
//! versioned contract documented in the crate's README), SARIF 2.1.0 or Markdown.
//! [`scan_file_text`] and [`resolve_identifiers`] serve callers that look at one file or a
//! few names (the pre-commit gate) without scanning everything.
//!
//! Design: a ripgrep-like parallel walk with a literal prefilter over the call names decides
//! which files to tokenize; a small per-language tokenizer drops comments and keeps string
//! literals whole; a data-driven table of SDK call shapes ([`ScanSettings::wrappers`] plug
//! into the same table) extracts each call's key; identifiers are resolved first within
//! their file, then by a second, prefiltered walk for just the names still unresolved.
//! A key that stays non-literal is reported as dynamic with its location and a reason,
//! never dropped, and never guessed.

#![deny(missing_docs)]

mod bindings;
mod cache;
mod defs;
mod error;
mod extract;
mod functions;
pub mod git;
mod imports;
mod incremental;
pub mod infer;
mod lang;
mod lexer;
mod patterns;
mod pending;
pub mod render;
mod resolve;
mod scan;
mod settings;
mod template;
mod walk;
mod walkcache;
pub mod wire;
mod words;

use std::collections::HashMap;

/// A hash map with FxHash instead of SipHash, for the maps on the scan's hot path.
pub(crate) type FastMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;
/// The set counterpart of [`FastMap`].
pub(crate) type FastSet<K> = std::collections::HashSet<K, rustc_hash::FxBuildHasher>;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use cache::CacheStatus;
pub use error::ScanError;
pub use resolve::Resolution;
pub use settings::{PathFilter, ScanSettings, Wrapper};

/// The SDK call names the scanner recognises out of the box (`capture`, `isFeatureEnabled`,
/// `useFeatureFlagEnabled`, …), sorted: what a text search would look for to find the same
/// calls (the benchmark gives them to ripgrep).
pub fn call_names() -> Vec<&'static str> {
    patterns::builtin_call_names()
}

/// The version of the JSON report format ([`ScanReport::version`]).
pub const REPORT_VERSION: u32 = 1;

/// Whether a key is an event name or a feature-flag key (shared with kodo-core through the
/// dependency-free `kodo-refs`).
pub use kodo_refs::Kind;

/// Where code runs. A single reference is `frontend` or `backend`; a key referenced from
/// both is `both`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Browser, mobile or other client code.
    Frontend,
    /// Server code.
    Backend,
    /// Referenced from both sides (only in [`KeyReport::tracked_on`]).
    Both,
}

/// The commit that first added a reference to a key.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// Full commit id.
    pub sha: String,
    /// The commit subject (for a merge, the merge commit's subject).
    pub subject: String,
    /// Committer date, ISO 8601 with offset.
    pub date: String,
}

/// One capture or flag check in the source.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Repo-relative path with `/` separators.
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column in Unicode code points.
    pub column: u32,
    /// The trimmed source line (at most 200 characters).
    pub snippet: String,
    /// Event or flag.
    pub kind: Kind,
    /// Frontend or backend.
    pub side: Side,
    /// The SDK whose call shape matched (`posthog-js`, `posthog-node`, …) or `wrapper`.
    pub sdk: String,
    /// The event name or flag key, when known.
    pub key: Option<String>,
    /// The identifier the key was written as (`EVENTS.signup`), if not a literal.
    pub identifier: Option<String>,
    /// Why the key is unknown (`interpolated string …`, `unresolved identifier …`).
    pub dynamic_reason: Option<String>,
    /// The reference is in a test file (see [`is_test_path`]).
    #[serde(default)]
    pub in_test: bool,
    /// Property keys passed with a capture, when kodo can see the properties argument.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<PropertySet>,
}

/// The property keys a capture sends, as far as the code shows them: a JS/TS object
/// literal, a Python dict (literal or `dict(k=v)`), Go `posthog.NewProperties().Set(…)` /
/// `posthog.Properties{…}`, a Ruby hash or a PHP array, through the constants, spreads and
/// local variables the scan can follow. `$`-prefixed keys (PostHog's own) are left out unless
/// `scan.include_dollar_properties` is set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct PropertySet {
    /// The keys seen, sorted by name, each once (at its first line).
    pub keys: Vec<PropertyKey>,
    /// Some keys cannot be seen (a spread of an unknown object, a variable bound elsewhere,
    /// a function call, a computed key that is not a constant): more may be sent.
    pub open: bool,
}

/// One property key a capture sends.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PropertyKey {
    /// The key.
    pub name: String,
    /// 1-based line where the key is written (in the reference's file).
    pub line: u32,
}

/// A wrapper the scan used: configured in `scan.wrappers`, or inferred from a function whose
/// parameter reaches an SDK call's key. The key fields follow `scan.wrappers` (exactly one
/// is set), so an inferred entry can be committed to the config as it is.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WrapperReport {
    /// The function or method name call sites use.
    pub call: String,
    /// Positional argument holding the event name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub event_arg: Option<usize>,
    /// Object key, keyword argument or JSX prop holding the event name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub event_key: Option<String>,
    /// Positional argument holding the flag key.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub flag_arg: Option<usize>,
    /// Object key, keyword argument or JSX prop holding the flag key.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub flag_key: Option<String>,
    /// The key of a call that leaves the argument out: configured, or the inferred
    /// wrapper's literal parameter default (`function track(event = "page_view")`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub default: Option<String>,
    /// `path:line` of the definition (inferred wrappers), else `null`.
    pub defined_at: Option<String>,
    /// The SDK the wrapper ends in (`posthog-node`), or `wrapper` when configured.
    pub sdk: String,
    /// Where its captures run, decided by the SDK behind it (inferred wrappers).
    pub side: Option<Side>,
    /// Only in this file (a name bound to a hook's result: `const track = useTrack()`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub only_in: Option<String>,
    /// Inferred by the scan rather than configured.
    pub inferred: bool,
}

/// Whether a repo-relative path is a test file by its language's convention: `*.test.*`,
/// `*.spec.*`, `*_test.go`, `test_*.py`, `*_test.py`, `*_spec.rb`, `*Test.java`/`.kt`,
/// `*Tests.cs`/`.swift`, or anything under `__tests__/`, `__mocks__/`, `test/`, `tests/`,
/// `spec/`, `e2e/`, `cypress/` or `playwright/`.
pub fn is_test_path(path: &str) -> bool {
    let mut segments: Vec<&str> = path.split('/').collect();
    let file = segments.pop().unwrap_or("");
    if segments.iter().any(|s| {
        matches!(
            *s,
            "__tests__"
                | "__mocks__"
                | "test"
                | "tests"
                | "spec"
                | "specs"
                | "e2e"
                | "cypress"
                | "playwright"
                | "testdata"
                | "fixtures"
        )
    }) {
        return true;
    }
    let stem = file.split('.').next().unwrap_or(file);
    let mut parts = file.split('.');
    parts.next();
    let middle: Vec<&str> = parts.collect();
    middle
        .iter()
        .rev()
        .skip(1)
        .any(|p| matches!(*p, "test" | "spec" | "cy"))
        || stem.ends_with("_test")
        || (stem.starts_with("test_") && file.ends_with(".py"))
        || stem.ends_with("_spec")
        || ((stem.ends_with("Test") || stem.ends_with("Tests") || stem.ends_with("Spec"))
            && stem.len() > 4
            && stem.starts_with(|c: char| c.is_ascii_uppercase()))
        || file == "conftest.py"
}

/// Everything known about one key.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct KeyReport {
    /// Event or flag.
    pub kind: Kind,
    /// The event name or flag key.
    pub key: String,
    /// `frontend`, `backend` or `both`.
    pub tracked_on: Side,
    /// Every reference, sorted by path, line and column.
    pub references: Vec<Reference>,
    /// The first mainline commit that added a reference (see [`git::annotate`]).
    pub first_commit: Option<Commit>,
    /// The pull/merge request that commit came from, when its subject names one.
    pub pr_url: Option<String>,
}

/// The result of a scan. Its JSON document is [`wire::Scan`] (this type is not serialized).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanReport {
    /// Format version, [`REPORT_VERSION`].
    pub version: u32,
    /// Keys sorted by kind (events first), then key.
    pub keys: Vec<KeyReport>,
    /// References whose key could not be determined, sorted by location.
    pub dynamic: Vec<Reference>,
    /// Source files read.
    pub files_scanned: usize,
    /// Source files with at least one reference.
    pub files_matched: usize,
    /// The wrappers used: configured, then inferred, sorted by call name.
    pub wrappers: Vec<WrapperReport>,
    /// Source files that were not scanned, and why, sorted by path. Never dropped in silence.
    pub skipped: Vec<Skipped>,
    /// The wrappers this scan inferred, whole (not part of the JSON contract): single texts
    /// scanned with them ([`scan_file_text_inferred`]) see the call sites this scan saw.
    pub inference: Inference,
}

/// The wrappers a scan of a tree inferred ([`ScanReport::inference`]), with everything the
/// scan knows of each (language, where it is defined, in which file a hook's bound result is
/// one): what lets a few changed files be scanned as the whole tree's scan would.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inference(pub(crate) Vec<infer::Inferred>);

impl Inference {
    /// How many wrappers were inferred (hooks' bound results counted per file).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was inferred.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why a source file was not scanned.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Minified or generated code (long lines that are not string data) that contains one of
    /// the call names: its references would point at unreadable lines.
    Minified,
    /// Larger than 8 MiB.
    TooLarge,
    /// Could not be opened or read (permissions, a vanished file, an I/O error).
    Unreadable,
    /// A NUL byte in its first 8 KiB.
    Binary,
}

impl SkipReason {
    /// The reason as a short phrase for people (`too large (over 8 MiB)`).
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::Minified => "minified",
            SkipReason::TooLarge => "too large (over 8 MiB)",
            SkipReason::Unreadable => "unreadable",
            SkipReason::Binary => "binary",
        }
    }
}

/// A source file the scan did not read, and why.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skipped {
    /// Repo-relative path with `/` separators.
    pub path: String,
    /// Why it was not scanned.
    pub reason: SkipReason,
}

/// Whether `path` (repo-relative) is a source file the scanner reads: its extension is one
/// of the languages it knows.
pub fn is_source(path: &str) -> bool {
    lang::Lang::from_path(path).is_some()
}

/// Whether [`scan`] would skip a source file with these contents, and why: too large, binary,
/// or minified while containing one of the call names. `None` for a file it reads, and for a
/// path that is not a source file at all. For callers that read files themselves (the
/// pre-commit gate reads staged blobs) and must not drop one in silence.
pub fn skip_reason(path: &str, bytes: &[u8], settings: &ScanSettings) -> Option<SkipReason> {
    scan::skip_reason(path, bytes, settings)
}

/// Scans the repository at `root` (a directory, or a single file), without a cache.
pub fn scan(root: &Path, settings: &ScanSettings) -> Result<ScanReport, ScanError> {
    scan::scan(root, settings)
}

/// How a scan runs.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// The directory of the persistent scan cache (kodo uses `.kodo/cache/`), or `None` for
    /// no cache. The cache is read if it is valid for this kodo version and these settings
    /// (anything else is ignored and rebuilt), and rewritten atomically when anything
    /// changed. The report is the same with and without it.
    pub cache_dir: Option<PathBuf>,
}

/// What a scan did, besides its report: how much the cache saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanStats {
    /// Whether the cache was used, and if not why.
    pub cache: CacheStatus,
    /// Files whose cached entry was used on their stat alone (not read).
    pub files_unchanged: usize,
    /// Files whose stat changed but whose content did not (read and hashed, not extracted).
    pub files_rehashed: usize,
    /// Files read and extracted.
    pub files_extracted: usize,
    /// Files read again to find the definitions of identifiers used in other files.
    pub files_read_to_resolve: usize,
    /// The cached cross-file result was kept: no file changed what it gives wrapper
    /// inference or resolution, so only the changed files' references were recomputed.
    pub cross_file_reused: bool,
    /// The tree was not walked: the cached record of the last full walk was checked
    /// instead (every directory and ignore file unchanged; files `stat`ed in place).
    pub walk_checked: bool,
    /// The cache file was (re)written.
    pub cache_written: bool,
    /// Why the cache could not be written (the scan itself succeeded).
    pub cache_error: Option<String>,
    /// Wall time of each stage, in order (for `-vv` and profiling; never compared in tests).
    pub phases: Vec<(&'static str, std::time::Duration)>,
}

impl Default for ScanStats {
    fn default() -> ScanStats {
        ScanStats {
            cache: CacheStatus::Disabled,
            files_unchanged: 0,
            files_rehashed: 0,
            files_extracted: 0,
            files_read_to_resolve: 0,
            cross_file_reused: false,
            walk_checked: false,
            cache_written: false,
            cache_error: None,
            phases: Vec::new(),
        }
    }
}

/// Scans like [`scan`], with a persistent cache when `options` name one: a re-scan reads
/// only the files whose size, modification time or inode changed, extracts again only those
/// whose content changed, and resolves identifiers across files again over all of them.
pub fn scan_with(
    root: &Path,
    settings: &ScanSettings,
    options: &ScanOptions,
) -> Result<(ScanReport, ScanStats), ScanError> {
    incremental::scan(root, settings, options)
}

/// Scans one file's text. `path` (repo-relative) selects the language and the side rules.
/// Identifiers defined in the same text are resolved; others come back with `key: None`
/// and `identifier: Some(…)`, for the caller to pass to [`resolve_identifiers`]. Settings
/// are expected to be valid (see [`ScanSettings::validate`]); invalid globs are ignored.
pub fn scan_file_text(path: &str, text: &str, settings: &ScanSettings) -> Vec<Reference> {
    scan::scan_file_text(path, text, settings, &Inference::default())
}

/// [`scan_file_text`] with the wrappers a scan of the tree inferred (the pre-commit gate's
/// form): a call of an inferred wrapper is a reference exactly where that scan would call it
/// one (its language, the files that can see its definition, a hook's bound result in its own
/// file), and a key that is an inferred wrapper's own parameter is not a reference (its call
/// sites are).
pub fn scan_file_text_inferred(
    path: &str,
    text: &str,
    settings: &ScanSettings,
    inference: &Inference,
) -> Vec<Reference> {
    scan::scan_file_text(path, text, settings, inference)
}

/// Scans one file's text like [`scan_file_text`] and resolves its identifiers against the
/// repository at `root`: a name imported from a file (JS/TS `import`, Python `from …
/// import`, Go's package) is looked up by reading just that file; only names with no
/// import to follow need a (prefiltered) walk. This is the fast path for checking a few
/// changed files; unresolved or ambiguous names get a `dynamic_reason` as in [`scan`].
pub fn scan_file_resolved(
    root: &Path,
    path: &str,
    text: &str,
    settings: &ScanSettings,
) -> Result<Vec<Reference>, ScanError> {
    scan::scan_file_resolved(
        root,
        path,
        text,
        settings,
        &Inference::default(),
        &ScanOptions::default(),
    )
}

/// [`scan_file_resolved`] with the scan cache of [`scan_with`] (the pre-commit gate's
/// form): a name with no import to follow is looked up in the cached definitions of every
/// file whose stat is unchanged since the cache was written (skipping files whose word
/// filter rules the name out), and only the other files are read. The cache is only read,
/// never written; without a valid one this is [`scan_file_resolved`].
pub fn scan_file_resolved_with(
    root: &Path,
    path: &str,
    text: &str,
    settings: &ScanSettings,
    options: &ScanOptions,
) -> Result<Vec<Reference>, ScanError> {
    scan::scan_file_resolved(root, path, text, settings, &Inference::default(), options)
}

/// [`scan_file_resolved_with`] with the wrappers a scan of the tree inferred, as
/// [`scan_file_text_inferred`] uses them.
pub fn scan_file_resolved_inferred(
    root: &Path,
    path: &str,
    text: &str,
    settings: &ScanSettings,
    inference: &Inference,
    options: &ScanOptions,
) -> Result<Vec<Reference>, ScanError> {
    scan::scan_file_resolved(root, path, text, settings, inference, options)
}

/// Finds the definitions of just `names` (as written in code: `SIGNUP`, `Events.SIGNUP`,
/// `EVENTS.signup`) under `root`, with a walk that only tokenizes files containing the
/// names' bytes.
pub fn resolve_identifiers(
    root: &Path,
    names: &[String],
    settings: &ScanSettings,
) -> Result<HashMap<String, Resolution>, ScanError> {
    resolve::resolve_identifiers(root, names, settings)
}
