//! `tests/it/README.md`'s issue 13 table names real tests: every test function it names (a
//! backticked snake_case word of three parts or more, alone or as the last part of a
//! `module::path`) is a `fn` somewhere in the workspace's Rust sources, every snapshot it names
//! (`*.snap`) is a file in `snapshots/files/`, and every source file it names exists. A test
//! renamed or removed turns this red until the table says where the clause is proved now.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, `target` and hidden directories left out.
fn rust_sources(dir: &Path, out: &mut String) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            rust_sources(&path, out);
        } else if name.ends_with(".rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            out.push('\n');
        }
    }
}

fn is_fn_name(word: &str) -> bool {
    word.split('_').count() >= 3
        && word
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && word.as_bytes()[0].is_ascii_lowercase()
}

/// The backticked words of the issue 13 section.
fn named() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("tests/it/README.md")).unwrap();
    let (_, section) = readme
        .split_once("## Issue 13: clause → test")
        .expect("the issue 13 section");
    let mut words = Vec::new();
    let mut parts = section.split('`');
    parts.next();
    while let Some(word) = parts.next() {
        words.push(word.to_string());
        parts.next();
    }
    words
}

#[test]
fn every_test_and_snapshot_the_clause_table_names_exists() {
    let mut sources = String::new();
    for dir in ["src", "crates", "tests", "xtask", "sandbox"] {
        rust_sources(&root().join(dir), &mut sources);
    }
    let words = named();
    assert!(
        words.len() > 100,
        "{} names: is this the table?",
        words.len()
    );
    let mut missing = Vec::new();
    let mut checked = 0;
    for word in &words {
        let last = word.rsplit("::").next().unwrap_or(word);
        if word.ends_with(".snap") {
            if !word.contains('*') {
                checked += 1;
                if !root().join("tests/it/snapshots/files").join(word).is_file() {
                    missing.push(word.clone());
                }
            }
        } else if word.ends_with(".rs") && !word.contains(' ') {
            checked += 1;
            let found = [
                root().join(word),
                root().join("tests/it").join(word),
                root().join("tests/it/snapshots").join(word),
            ]
            .iter()
            .any(|p| p.is_file());
            if !found {
                missing.push(word.clone());
            }
        } else if is_fn_name(last) {
            checked += 1;
            let defined = sources.contains(&format!("fn {last}("))
                || sources.contains(&format!("fn {last}<"))
                || sources.contains(&format!("mod {last};"))
                || sources.contains(&format!("mod {last} {{"));
            if !defined {
                missing.push(word.clone());
            }
        }
    }
    assert!(checked > 60, "only {checked} names checked");
    assert!(
        missing.is_empty(),
        "tests/it/README.md names what does not exist: {missing:?}"
    );
}
