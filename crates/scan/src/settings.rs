//! The `scan` section of `.kodo/config.json`, its validation, and its compiled form.
//!
//! Invariants: [`ScanSettings::validate`] names the offending field (`scan.wrappers[2]`,
//! `scan.exclude[0]`) in every error; compiling settings never fails once they validate;
//! the default exclusions (`node_modules`, `vendor`, `dist`, `build`, …) can be lifted one
//! by one with a `!name` entry in `scan.exclude`.

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::ScanError;

/// The `scan` section of `.kodo/config.json`. Every field is optional.
#[derive(Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(default)]
pub struct ScanSettings {
    /// Extra names of PostHog client objects (`analytics`, `tracker`); `posthog`, `client`,
    /// `ph` and any name containing `posthog` are always recognised.
    pub clients: Vec<String>,
    /// Project-specific functions that capture events or check flags.
    pub wrappers: Vec<Wrapper>,
    /// Globs of paths whose references count as frontend, whatever the call looks like.
    pub frontend: Vec<String>,
    /// Globs of paths whose references count as backend, whatever the call looks like.
    pub backend: Vec<String>,
    /// Globs of paths to skip, added to the defaults; `!name` lifts a default directory.
    pub exclude: Vec<String>,
    /// Infer wrappers: functions whose parameter reaches an SDK call's key (default true).
    pub infer_wrappers: bool,
    /// Count references in test files (`*.test.ts`, `test_*.py`, `*_test.go`, `tests/`, …)
    /// like any other; by default a key referenced only from tests is left out of the
    /// report's keys (its references are still marked `in_test`).
    pub include_tests: bool,
    /// Keep PostHog's own `$`-prefixed property keys (`$set`, `$current_url`) in the
    /// property keys read from captures; by default they are left out.
    pub include_dollar_properties: bool,
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings {
            clients: Vec::new(),
            wrappers: Vec::new(),
            frontend: Vec::new(),
            backend: Vec::new(),
            exclude: Vec::new(),
            infer_wrappers: true,
            include_tests: false,
            include_dollar_properties: false,
        }
    }
}

/// A custom function that captures an event or checks a flag, e.g.
/// `{"call": "capturePostHogEvent", "event_arg": 1}` or
/// `{"call": "sendPostHogEvents", "event_key": "event"}`.
///
/// Exactly one of the four key fields must be set: `*_arg` is a 0-based positional
/// argument, `*_key` a key of an object/hash argument or a keyword argument; or both of one
/// kind (`event_arg` and `event_key`): the keyword argument when the call names it, else
/// the positional one (Python `def track(user, event)` called either way). `default` is
/// the key of a call that leaves that argument out (the wrapper's parameter default,
/// `function track(event = "page_view")`), unless the call spreads something into its
/// arguments that could set it. A capitalised `call` with a `*_key` is also a JSX
/// component in JS/TS (`<Btn eventName="…" />`).
#[derive(Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Wrapper {
    /// The function or method name (`capturePostHogEvent`), or `receiver.name` to require
    /// a receiver (`analytics.track`).
    pub call: String,
    /// Positional argument holding the event name.
    pub event_arg: Option<usize>,
    /// Object key or keyword argument holding the event name.
    pub event_key: Option<String>,
    /// Positional argument holding the flag key.
    pub flag_arg: Option<usize>,
    /// Object key or keyword argument holding the flag key.
    pub flag_key: Option<String>,
    /// The event name or flag key of a call that leaves the argument out.
    #[serde(default)]
    pub default: Option<String>,
}

/// Directories skipped unless lifted with `!name` in `scan.exclude`.
pub(crate) const DEFAULT_EXCLUDED_DIRS: &[&str] = &[
    "node_modules",
    "vendor",
    "dist",
    "build",
    "bower_components",
    "Pods",
    "target",
    "__pycache__",
];

impl ScanSettings {
    /// Checks the settings and says which entry is wrong.
    pub fn validate(&self) -> Result<(), ScanError> {
        for (i, client) in self.clients.iter().enumerate() {
            if !is_identifier(client) {
                return Err(invalid(
                    format!("scan.clients[{i}]"),
                    format!("`{client}` is not an identifier"),
                ));
            }
        }
        for (i, w) in self.wrappers.iter().enumerate() {
            let field = format!("scan.wrappers[{i}]");
            let names: Vec<&str> = w.call.split('.').collect();
            if w.call.is_empty() || !names.iter().all(|n| is_identifier(n)) {
                return Err(invalid(
                    format!("{field}.call"),
                    format!("`{}` is not a function or method name", w.call),
                ));
            }
            let set = [
                w.event_arg.is_some(),
                w.event_key.is_some(),
                w.flag_arg.is_some(),
                w.flag_key.is_some(),
            ]
            .iter()
            .filter(|s| **s)
            .count();
            if set == 0 {
                return Err(invalid(
                    field,
                    "says neither where the event is (`event_arg`/`event_key`) nor where the flag is (`flag_arg`/`flag_key`)".into(),
                ));
            }
            // `*_arg` with the same kind's `*_key`: a keyword argument, else that positional one.
            let pair = set == 2
                && ((w.event_arg.is_some() && w.event_key.is_some())
                    || (w.flag_arg.is_some() && w.flag_key.is_some()));
            if set > 1 && !pair {
                return Err(invalid(
                    field,
                    "sets more than one of `event_arg`, `event_key`, `flag_arg`, `flag_key`; a wrapper has one key (an `*_arg` with the same kind's `*_key`: a keyword argument, else that positional one)".into(),
                ));
            }
            for key in [&w.event_key, &w.flag_key].into_iter().flatten() {
                if key.is_empty() {
                    return Err(invalid(field.clone(), "has an empty key name".into()));
                }
            }
            if w.default.as_deref().is_some_and(|d| d.trim().is_empty()) {
                return Err(invalid(
                    format!("{field}.default"),
                    "is empty; it is the event name or flag key a call without the argument sends"
                        .into(),
                ));
            }
        }
        for (name, globs) in [
            ("scan.frontend", &self.frontend),
            ("scan.backend", &self.backend),
            ("scan.exclude", &self.exclude),
        ] {
            for (i, g) in globs.iter().enumerate() {
                let pattern = g.strip_prefix('!').unwrap_or(g);
                if let Err(e) = Glob::new(pattern) {
                    return Err(invalid(
                        format!("{name}[{i}]"),
                        format!("bad glob `{g}`: {}", e.kind()),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Which repository-relative paths a scan skips, for callers that see paths without walking
/// the tree (the pre-commit gate reads a diff): hidden files and directories, the default
/// excluded directories (unless lifted with `!name`) and `scan.exclude`.
#[derive(Debug, Clone)]
pub struct PathFilter {
    excluded_dirs: Vec<String>,
    exclude: GlobSet,
}

impl PathFilter {
    /// Whether the walk would skip `path` (repository-relative, `/`-separated).
    pub fn excluded(&self, path: &str) -> bool {
        let mut segments: Vec<&str> = path.split('/').collect();
        let file = segments.pop().unwrap_or("");
        file.starts_with('.')
            || segments
                .iter()
                .any(|s| s.starts_with('.') || self.excluded_dirs.iter().any(|d| d == s))
            || (!self.exclude.is_empty() && self.exclude.is_match(path))
    }
}

impl ScanSettings {
    /// The path rules of these settings; fails as [`ScanSettings::validate`] does.
    pub fn path_filter(&self) -> Result<PathFilter, ScanError> {
        let compiled = Compiled::new(self)?;
        Ok(PathFilter {
            excluded_dirs: compiled.excluded_dirs,
            exclude: compiled.exclude,
        })
    }
}

fn invalid(field: String, message: String) -> ScanError {
    ScanError::InvalidSetting { field, message }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '?' || c == '!')
}

/// Settings after validation: globs compiled, defaults applied.
pub(crate) struct Compiled {
    pub clients: Vec<String>,
    pub frontend: GlobSet,
    pub backend: GlobSet,
    pub exclude: GlobSet,
    pub excluded_dirs: Vec<String>,
}

impl Compiled {
    pub(crate) fn new(s: &ScanSettings) -> Result<Compiled, ScanError> {
        s.validate()?;
        let mut clients: Vec<String> = ["posthog", "client", "ph"]
            .iter()
            .map(|c| c.to_string())
            .collect();
        clients.extend(
            s.clients
                .iter()
                .map(|c| c.trim_start_matches('$').to_ascii_lowercase()),
        );
        let lifted: Vec<&str> = s
            .exclude
            .iter()
            .filter_map(|e| e.strip_prefix('!'))
            .map(|e| e.trim_end_matches('/'))
            .collect();
        let excluded_dirs = DEFAULT_EXCLUDED_DIRS
            .iter()
            .filter(|d| !lifted.contains(d))
            .map(|d| d.to_string())
            .collect();
        Ok(Compiled {
            clients,
            frontend: globs("scan.frontend", &s.frontend)?,
            backend: globs("scan.backend", &s.backend)?,
            exclude: globs("scan.exclude", &s.exclude)?,
            excluded_dirs,
        })
    }

    /// Whether a repo-relative file path is excluded by `scan.exclude`.
    pub(crate) fn excluded(&self, rel: &str) -> bool {
        !self.exclude.is_empty() && self.exclude.is_match(rel)
    }
}

fn globs(name: &str, patterns: &[String]) -> Result<GlobSet, ScanError> {
    let mut b = GlobSetBuilder::new();
    for (i, p) in patterns.iter().enumerate() {
        if p.starts_with('!') {
            continue;
        }
        // A bare directory name or path also matches everything below it.
        for variant in [p.clone(), format!("{}/**", p.trim_end_matches('/'))] {
            let g = Glob::new(&variant).map_err(|e| {
                invalid(
                    format!("{name}[{i}]"),
                    format!("bad glob `{p}`: {}", e.kind()),
                )
            })?;
            b.add(g);
        }
    }
    b.build()
        .map_err(|e| invalid(name.to_string(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrapper(call: &str) -> Wrapper {
        Wrapper {
            call: call.into(),
            event_arg: None,
            event_key: None,
            flag_arg: None,
            flag_key: None,
            default: None,
        }
    }

    #[test]
    fn an_empty_default_names_its_field() {
        let mut w = wrapper("track");
        w.event_arg = Some(0);
        w.default = Some(" ".into());
        let s = ScanSettings {
            wrappers: vec![w],
            ..Default::default()
        };
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("`scan.wrappers[0].default`: is empty"),
            "{err}"
        );
    }

    #[test]
    fn wrapper_without_a_key_names_its_index() {
        let mut ok = wrapper("track");
        ok.event_arg = Some(0);
        let s = ScanSettings {
            wrappers: vec![ok.clone(), ok, wrapper("useFlag")],
            ..Default::default()
        };
        let err = s.validate().unwrap_err().to_string();
        assert!(err.starts_with("`scan.wrappers[2]`: says neither"), "{err}");
    }

    #[test]
    fn wrapper_with_two_keys_is_rejected() {
        let mut w = wrapper("track");
        w.event_arg = Some(0);
        w.flag_key = Some("flag".into());
        let err = ScanSettings {
            wrappers: vec![w.clone()],
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("more than one"), "{err}");
        // A position and a keyword of the same kind are one key, given either way.
        w.flag_key = None;
        w.event_key = Some("event".into());
        let pair = ScanSettings {
            wrappers: vec![w.clone()],
            ..Default::default()
        };
        assert!(pair.validate().is_ok());
        w.flag_arg = Some(1);
        let err = ScanSettings {
            wrappers: vec![w],
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("more than one"), "{err}");
    }

    #[test]
    fn bad_glob_and_bad_call_name_are_named() {
        let s = ScanSettings {
            backend: vec!["ok/**".into(), "a[".into()],
            ..Default::default()
        };
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("`scan.backend[1]`"));
        let mut w = wrapper("track event");
        w.event_arg = Some(0);
        let s = ScanSettings {
            wrappers: vec![w],
            ..Default::default()
        };
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("`scan.wrappers[0].call`"));
    }

    #[test]
    fn config_json_section_deserializes() {
        let s: ScanSettings = serde_json::from_str(
            r#"{"clients":["tracker"],"wrappers":[{"call":"sendPostHogEvents","event_key":"event"}],"exclude":["!build","legacy"]}"#,
        )
        .unwrap();
        assert_eq!(s.wrappers[0].event_key.as_deref(), Some("event"));
        let c = Compiled::new(&s).unwrap();
        assert!(!c.excluded_dirs.contains(&"build".to_string()));
        assert!(c.excluded_dirs.contains(&"node_modules".to_string()));
        assert!(c.excluded("legacy/a.ts"));
        assert!(!c.excluded("src/legacy.ts"));
    }

    #[test]
    fn path_filter_skips_what_the_walk_skips() {
        let s = ScanSettings {
            exclude: vec!["legacy".into(), "!build".into()],
            ..ScanSettings::default()
        };
        let f = s.path_filter().unwrap();
        assert!(f.excluded("legacy/a.ts"));
        assert!(f.excluded("web/node_modules/x/index.js"));
        assert!(f.excluded(".github/workflows/x.ts"));
        assert!(f.excluded("web/.hidden.ts"));
        assert!(!f.excluded("build/app.ts"));
        assert!(!f.excluded("src/legacy.ts"));
    }
}
