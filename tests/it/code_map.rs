//! ARCHITECTURE.md's "Code map" matches the workspace: every crate of the workspace and every
//! top-level module of each crate is named in its crate's section, and every file, directory,
//! crate and module the map names exists.
//!
//! The map is read the way a person reads it: a section (`### …`) belongs to the crates whose
//! directories (or package names) its heading names (`src/…` is the `kodo` crate); a module is
//! named by a backticked word (`model`, `model::Record`, `sync/`, `cache.rs`, `src/sync/fetch.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One crate of the workspace.
#[derive(Debug)]
struct Crate {
    /// Its directory, relative to the root (`""` for the root package).
    dir: String,
    /// Its package name (`kodo-core`).
    name: String,
    /// Its top-level modules (`mod x;` in `src/lib.rs` or `src/main.rs`), test-only ones left out.
    modules: BTreeSet<String>,
}

impl Crate {
    fn src(&self) -> PathBuf {
        root().join(&self.dir).join("src")
    }

    /// Whether `path` (`["sync", "setup"]`) is a module of this crate, as far as it goes: each
    /// segment a file or directory module of the one before; a segment that is neither is an
    /// item of its module (a type, a function) and ends the walk.
    fn has_module_path(&self, path: &[&str]) -> bool {
        let Some((first, rest)) = path.split_first() else {
            return false;
        };
        if !self.modules.contains(*first) {
            return false;
        }
        let mut dir = self.src().join(first);
        for segment in rest {
            let file = dir.join(format!("{segment}.rs"));
            let sub = dir.join(segment);
            if file.is_file() || sub.join("mod.rs").is_file() {
                dir = sub;
            } else {
                break;
            }
        }
        true
    }
}

/// The value of `key = "…"` in the `[package]` table of a manifest.
fn package_name(manifest: &str) -> String {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if in_package {
            if let Some(value) = line.strip_prefix("name") {
                let value = value.trim_start();
                if let Some(value) = value.strip_prefix('=') {
                    return value.trim().trim_matches('"').to_string();
                }
            }
        }
    }
    panic!("no [package] name in {manifest}")
}

/// `mod x;` / `pub mod x;` / `pub(crate) mod x;` declarations of a crate root, except those
/// under `#[cfg(test)]` (or `#[cfg(all(test, …))]`).
fn top_modules(root_file: &Path) -> BTreeSet<String> {
    let Ok(text) = std::fs::read_to_string(root_file) else {
        return BTreeSet::new();
    };
    let mut modules = BTreeSet::new();
    let mut test_only = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("#[cfg(") {
            test_only = line.starts_with("#[cfg(test)]") || line.starts_with("#[cfg(all(test");
            continue;
        }
        if line.starts_with("#[") || line.starts_with("//") {
            continue;
        }
        let decl = line
            .strip_prefix("pub(crate) ")
            .or_else(|| line.strip_prefix("pub "))
            .unwrap_or(line);
        if let Some(name) = decl.strip_prefix("mod ").and_then(|d| d.strip_suffix(';')) {
            if !test_only {
                modules.insert(name.trim().to_string());
            }
        }
        test_only = false;
    }
    modules
}

fn workspace() -> Vec<Crate> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let members_line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .expect("workspace members");
    let members: Vec<String> = members_line
        .split('"')
        .skip(1)
        .step_by(2)
        .map(|m| m.trim_start_matches("./").trim_end_matches('/').to_string())
        .collect();
    assert!(members.len() > 3, "{members_line}");
    members
        .into_iter()
        .map(|m| {
            let dir = if m == "." { String::new() } else { m };
            let base = root().join(&dir);
            let text = std::fs::read_to_string(base.join("Cargo.toml")).expect("member manifest");
            let mut modules = top_modules(&base.join("src/lib.rs"));
            modules.extend(top_modules(&base.join("src/main.rs")));
            Crate {
                dir,
                name: package_name(&text),
                modules,
            }
        })
        .collect()
}

/// A `### ` section of the code map: its heading's backticked words and all of its words.
struct Section {
    heading: String,
    heading_words: Vec<String>,
    words: Vec<String>,
}

/// The backticked spans of `text`, split into words (`sync::{model, normalize}` gives
/// `sync::{model` and `normalize}`; punctuation around a word is trimmed).
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|span| {
            span.split([' ', ','])
                .map(|w| w.trim_matches(|c: char| "(){}[];".contains(c)))
                .map(|w| w.trim_end_matches(':').to_string())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn code_map() -> Vec<Section> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let start = text.find("\n## Code map\n").expect("a Code map section");
    let rest = &text[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    let map = &rest[..end];
    let mut sections = Vec::new();
    for part in map.split("\n### ").skip(1) {
        let heading = part.split_once('\n').map_or(part, |(h, _)| h);
        sections.push(Section {
            heading: heading.to_string(),
            heading_words: backticked(heading),
            words: backticked(part),
        });
    }
    assert!(sections.len() > 5, "the code map has its sections");
    sections
}

/// The crates a section is about: those whose directory or package name its heading names.
fn owners<'c>(section: &Section, crates: &'c [Crate]) -> Vec<&'c Crate> {
    crates
        .iter()
        .filter(|c| {
            section.heading_words.iter().any(|w| {
                let w = w.trim_end_matches('/');
                *w == c.name
                    || if c.dir.is_empty() {
                        w == "src" || w.starts_with("src/")
                    } else {
                        w == c.dir || w.starts_with(&format!("{}/", c.dir))
                    }
            })
        })
        .collect()
}

/// Whether `word` names the module `m` (of the crate whose section it is in).
fn names_module(word: &str, m: &str) -> bool {
    let word = word.trim_end_matches('/');
    word == m
        || word.starts_with(&format!("{m}::"))
        || word == format!("{m}.rs")
        || word.ends_with(&format!("/{m}.rs"))
        || word.ends_with(&format!("/{m}"))
}

/// A word that is a path in the repository (not a runtime file under `.kodo/`, not a command
/// line, not a placeholder).
fn as_path(word: &str) -> Option<&str> {
    let looks_like_path = word.contains('/')
        || [".rs", ".md", ".json", ".toml"]
            .iter()
            .any(|ext| word.ends_with(ext));
    let excluded = word.starts_with(".kodo")
        || word.starts_with('/')
        || word.starts_with('-')
        || word.contains("::")
        || word.contains('<')
        || word.contains('*')
        || word.contains('…');
    (looks_like_path && !excluded).then_some(word)
}

#[test]
fn every_crate_and_top_level_module_is_in_the_code_map() {
    let crates = workspace();
    let sections = code_map();
    let mut missing = Vec::new();
    for c in &crates {
        let own: Vec<&Section> = sections
            .iter()
            .filter(|s| owners(s, &crates).iter().any(|o| o.dir == c.dir))
            .collect();
        if own.is_empty() {
            missing.push(format!(
                "crate {} ({}) has no section",
                c.name,
                if c.dir.is_empty() { "." } else { &c.dir }
            ));
            continue;
        }
        for m in &c.modules {
            let named = own
                .iter()
                .any(|s| s.words.iter().any(|w| names_module(w, m)));
            if !named {
                missing.push(format!("{}: module `{m}` is not in its sections", c.name));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map lacks:\n{}",
        missing.join("\n")
    );
}

#[test]
fn everything_the_code_map_names_exists() {
    let crates = workspace();
    let by_name: BTreeMap<String, &Crate> = crates
        .iter()
        .map(|c| (c.name.replace('-', "_"), c))
        .collect();
    let mut stale = Vec::new();
    for section in code_map() {
        let own = owners(&section, &crates);
        // A heading's package name belongs to the crate whose directory it names.
        for w in &section.heading_words {
            if w.starts_with("kodo-") && !crates.iter().any(|c| &c.name == w) {
                stale.push(format!("{}: no crate is named `{w}`", section.heading));
            }
        }
        // Where a relative path may start: the root, the section's crates and their `src/`,
        // the directories its heading names (or holds the files of) and those its text names.
        let mut bases: Vec<PathBuf> = vec![root()];
        for c in &own {
            bases.push(root().join(&c.dir));
            bases.push(c.src());
        }
        let heading_paths = section.heading_words.iter().filter_map(|w| as_path(w));
        // A directory the text names is where the file names after it live ("the commands
        // are in `src/cmd/`: `hooks.rs` …").
        let named_dirs = section
            .words
            .iter()
            .filter(|w| w.ends_with('/'))
            .filter_map(|w| as_path(w));
        for w in heading_paths.chain(named_dirs) {
            let p = root().join(w);
            if p.is_dir() {
                bases.push(p);
            } else if let Some(parent) = p.parent() {
                bases.push(parent.to_path_buf());
            }
        }
        for word in &section.words {
            if let Some(path) = as_path(word) {
                if !bases.iter().any(|b| b.join(path).exists()) {
                    stale.push(format!("{}: `{path}` does not exist", section.heading));
                }
                continue;
            }
            // `module::item`: the module exists in one of the section's crates (or in the
            // crate the path starts with).
            let Some((head, _)) = word.split_once("::") else {
                continue;
            };
            if head.starts_with(|c: char| c.is_ascii_uppercase()) {
                continue;
            }
            let segments: Vec<&str> = word
                .split("::")
                .map(|s| s.trim_start_matches('{'))
                .collect();
            let found = if let Some(c) = by_name.get(head) {
                c.has_module_path(&segments[1..])
            } else if head == "crate" {
                own.iter().any(|c| c.has_module_path(&segments[1..]))
            } else {
                own.iter().any(|c| c.has_module_path(&segments))
            };
            if !found {
                stale.push(format!(
                    "{}: `{word}` names no module of {:?}",
                    section.heading,
                    own.iter().map(|c| c.name.as_str()).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "ARCHITECTURE.md's code map names what does not exist:\n{}",
        stale.join("\n")
    );
}

/// The checks above can fail: a module missing from the map, and a path the map names that
/// is gone, are both seen.
#[test]
fn the_code_map_checks_see_a_missing_module_and_a_stale_path() {
    assert!(names_module("src/sync/fetch.rs", "fetch"));
    assert!(names_module("sync/", "sync"));
    assert!(names_module("model::Record", "model"));
    assert!(!names_module("modelling", "model"));
    assert!(!names_module("remodel", "model"));
    assert_eq!(as_path("src/nope.rs"), Some("src/nope.rs"));
    assert!(!root().join("src/nope.rs").exists());
    assert_eq!(as_path(".kodo/state.json"), None);
    assert_eq!(as_path("GET"), None);
    let core = workspace()
        .into_iter()
        .find(|c| c.name == "kodo-core")
        .expect("kodo-core");
    assert!(core.has_module_path(&["model", "Record"]));
    assert!(!core.has_module_path(&["no_such_module"]));
}
