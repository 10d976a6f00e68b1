//! ARCHITECTURE.md's layering, checked on the source: `main.rs` → `app.rs` (dispatch) →
//! `cmd/` (the commands) → the engine (`sync/`, `hooks/`, `lookup`, `config`, …). Only
//! `app.rs` and `cmd/` know clap's types (`cli.rs`); the engine never imports the command
//! line, so there is no module cycle through `app.rs`.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code without its comments (doc comments name modules freely).
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).expect("read source");
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect()
}

/// The top-level module a file of `src/` belongs to: `sync` for `src/sync/apply.rs`.
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

fn violations(forbidden: impl Fn(&str) -> &'static [&'static str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in &files {
        let module = top_module(&src, file);
        for needle in forbidden(&module) {
            for (line, text) in code_lines(file) {
                if text.contains(needle) {
                    found.push(format!("{}:{line}: {}", file.display(), text.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn the_engine_never_imports_the_command_line() {
    let found = violations(|module| match module {
        // The binary, dispatch, the commands and clap's types may use each other downwards.
        "main" | "app" | "cli" | "cmd" => &[],
        // Everything else is the engine.
        _ => &[
            "crate::cli",
            "crate::app",
            "crate::cmd",
            "kodo::cli",
            "kodo::app",
        ],
    });
    assert!(
        found.is_empty(),
        "the engine imports the CLI:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_main_reaches_dispatch_and_commands_do_not_reach_back() {
    let found = violations(|module| match module {
        "main" | "app" => &[],
        "cmd" => &["crate::app"],
        _ => &["crate::app", "kodo::app"],
    });
    assert!(
        found.is_empty(),
        "a module cycle through app.rs:\n{}",
        found.join("\n")
    );
}

/// `app.rs` is dispatch only: one function, which matches on the command.
#[test]
fn app_is_only_dispatch() {
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app.rs");
    let fns: Vec<String> = code_lines(&app)
        .into_iter()
        .filter(|(_, l)| l.contains("fn "))
        .map(|(n, l)| format!("{n}: {}", l.trim()))
        .collect();
    assert_eq!(
        fns.len(),
        1,
        "app.rs should hold only `run`:\n{}",
        fns.join("\n")
    );
    assert!(fns[0].contains("pub fn run(cli: Cli)"), "{fns:?}");
}

/// Every subcommand has its module in `src/cmd/`.
#[test]
fn one_module_per_command() {
    let cmd = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cmd");
    for module in [
        "status",
        "audit",
        "import",
        "export",
        "setup",
        "scan",
        "snapshot",
        "hooks",
        "hook_claude",
        "hook_pre_commit",
        "doctor",
        "document",
    ] {
        assert!(
            cmd.join(format!("{module}.rs")).is_file(),
            "src/cmd/{module}.rs"
        );
    }
}

/// The code before a file's `#[cfg(test)]` module.
fn non_test_code(rel: &str) -> Vec<(usize, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    code_lines(&path)
        .into_iter()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .collect()
}

/// Per-resource facts (identity, status property, planned/retired/protected values, the key
/// a row is fetched and looked up by) live in the schema table (`kodo_core::model`'s
/// `DatabaseSchema`): the planner, the writer, the reader and the documentation lookup spell
/// neither a resource `match` nor a key or status property's name.
#[test]
fn per_resource_facts_live_in_the_schema_table() {
    let needles = [
        "match resource",
        "Resource::Events =>",
        "\"Implementation Status\"",
        "\"Event Name\"",
        "\"Flag Key\"",
        "\"Experiment Name\"",
        "\"Dashboard Name\"",
        "\"ID\"",
    ];
    // A resource's names, its PostHog endpoint and scope, its config key and its report
    // wording are table entries too: these files test for no resource by name.
    let arms = [
        "Resource::Flags =>",
        "Resource::Experiments =>",
        "Resource::Dashboards =>",
        "== Resource::",
        "!= Resource::",
    ];
    let mut found = Vec::new();
    for rel in [
        "crates/core/src/plan.rs",
        "crates/core/src/document.rs",
        "crates/core/src/documented.rs",
        "src/lookup.rs",
        "src/sync/apply.rs",
        "src/sync/document.rs",
        "src/sync/fetch.rs",
        "src/sync/single.rs",
        // Where ids are remembered and the snapshot's list shapes are table entries too.
        "src/state.rs",
        "src/snapshot.rs",
        "src/cmd/hook_claude.rs",
    ] {
        for (line, text) in non_test_code(rel) {
            if needles.iter().chain(&arms).any(|n| text.contains(n)) {
                found.push(format!("{rel}:{line}: {}", text.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "per-resource facts outside the table:\n{}",
        found.join("\n")
    );
}

/// Every non-test source file of the binary and of kodo-core, relative to the workspace root.
fn engine_files() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("crates/core/src"), &mut files);
    files.sort();
    files
        .iter()
        .map(|f| {
            f.strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect()
}

/// No `match` on a resource outside the table (`Resource::schema`, the one `match self`):
/// per-resource facts are entries of `DatabaseSchema`. One place dispatches on a resource's
/// *shape* and nothing else: kodo-core's `normalize` (PostHog's four object types: decode one,
/// list ids, normalise). The snapshot's four lists take their shapes from the table
/// (`DatabaseSchema::snapshot`).
#[test]
fn no_resource_match_outside_the_table() {
    let shape_only = ["crates/core/src/normalize.rs"];
    let needles = [
        "match resource",
        "match self.resource",
        "match f.resource",
        "match (self, resource)",
        "Resource::Events =>",
        "Resource::Flags =>",
        "Resource::Experiments =>",
        "Resource::Dashboards =>",
    ];
    let mut found = Vec::new();
    let mut shapes = 0;
    for rel in engine_files() {
        if rel == "crates/core/src/model.rs" {
            continue;
        }
        for (line, text) in non_test_code(&rel) {
            if needles.iter().any(|n| text.contains(n)) {
                if shape_only.contains(&rel.as_str()) {
                    shapes += 1;
                } else {
                    found.push(format!("{rel}:{line}: {}", text.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "a resource match outside the schema table:\n{}",
        found.join("\n")
    );
    // The check can fail: it sees the shape-only dispatches.
    assert!(shapes > 0);
}

/// The string literals of a line of code (no escapes inside are needed for property names).
fn literals(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

/// Every property name is spelled once, in `kodo_core::model::props` (which the schema table
/// is built from): the rest of the engine names a property by its constant or asks the table.
#[test]
fn property_names_are_spelled_only_in_the_table() {
    use kodo::model::Resource;
    let names: std::collections::BTreeSet<&str> = Resource::ALL
        .iter()
        .flat_map(|r| r.schema().properties.iter().map(|p| p.name))
        .collect();
    // Words for people that happen to be a property's name: the tracking plan's "Status:"
    // label of an event's Implementation Status.
    let allowed = [(
        "crates/core/src/pages.rs",
        "(\"Status\", text(row, props::IMPLEMENTATION_STATUS))",
    )];
    let mut found = Vec::new();
    for rel in engine_files() {
        if rel == "crates/core/src/model.rs" {
            continue;
        }
        for (line, text) in non_test_code(&rel) {
            if allowed
                .iter()
                .any(|(f, l)| *f == rel && text.trim().starts_with(l))
            {
                continue;
            }
            if literals(&text).iter().any(|l| names.contains(l)) {
                found.push(format!("{rel}:{line}: {}", text.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "property names spelled outside the table:\n{}",
        found.join("\n")
    );
    assert!(literals(r#"d.set("Flag Key", x)"#).contains(&"Flag Key"));
}

/// The packages `package` links (normal and build dependencies, not dev), with the features
/// it asks of each, resolved from `cargo metadata` the way Cargo resolves `cargo tree -p
/// package` on its own: optional dependencies only when a feature enables them, so
/// `kodo-api` without its `client` feature brings no HTTP client, even though the workspace's
/// unified resolve (which `cargo metadata` reports) includes it for the binary.
fn linked_packages(package: &str) -> std::collections::BTreeSet<String> {
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet};

    // `--offline` keeps the test off the network, and `--filter-platform` is what makes that
    // work on a fresh machine: without it `cargo metadata` wants every platform's packages
    // (anstyle-wincon, windows-sys, ...), which a Linux build never downloaded (CI failed here).
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    let version = String::from_utf8_lossy(&version.stdout);
    let host = version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let meta: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");
    let packages: BTreeMap<&str, &Value> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().expect("id"), p))
        .collect();
    // Each package's resolved dependencies: declared package name → package id.
    let resolved: BTreeMap<&str, BTreeMap<String, &str>> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve.nodes")
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .expect("deps")
                .iter()
                .map(|d| {
                    let id = d["pkg"].as_str().expect("pkg");
                    let name = packages[id]["name"].as_str().expect("name").to_string();
                    (name, id)
                })
                .collect();
            (node["id"].as_str().expect("id"), deps)
        })
        .collect();
    let root = packages
        .iter()
        .find(|(_, p)| p["name"] == package)
        .map(|(id, _)| *id)
        .expect("the package is in the workspace");

    // Package id → the features enabled on it; a package is (re)visited when first reached
    // and whenever it is asked for a feature it does not have yet.
    let mut enabled: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut work = vec![(root, BTreeSet::from(["default".to_string()]))];
    while let Some((id, asked)) = work.pop() {
        if enabled
            .get(id)
            .is_some_and(|have| asked.iter().all(|f| have.contains(f)))
        {
            continue;
        }
        let features = enabled.entry(id).or_default();
        features.extend(asked);
        let pkg = packages[id];
        let table = pkg["features"].as_object().expect("features");
        // The closure of the features enabled, and what they ask of dependencies.
        let mut todo: Vec<String> = features.iter().cloned().collect();
        let mut dep_on: BTreeSet<String> = BTreeSet::new();
        let mut dep_features: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        while let Some(f) = todo.pop() {
            if !seen.insert(f.clone()) {
                continue;
            }
            features.insert(f.clone());
            for entry in table
                .get(&f)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let entry = entry.as_str().expect("feature entry");
                if let Some(dep) = entry.strip_prefix("dep:") {
                    dep_on.insert(dep.to_string());
                } else if let Some((dep, feature)) = entry.split_once('/') {
                    let weak = dep.ends_with('?');
                    let dep = dep.trim_end_matches('?');
                    if !weak {
                        dep_on.insert(dep.to_string());
                    }
                    dep_features
                        .entry(dep.to_string())
                        .or_default()
                        .insert(feature.to_string());
                } else {
                    todo.push(entry.to_string());
                }
            }
        }
        for dep in pkg["dependencies"].as_array().expect("dependencies") {
            if dep["kind"] == "dev" {
                continue;
            }
            let name = dep["name"].as_str().expect("dependency name");
            let key = dep["rename"].as_str().unwrap_or(name);
            if dep["optional"] == true && !dep_on.contains(key) {
                continue;
            }
            let Some(dep_id) = resolved.get(id).and_then(|d| d.get(name)) else {
                continue; // a dependency for another platform
            };
            let mut ask: BTreeSet<String> = dep["features"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            if dep["uses_default_features"] == true {
                ask.insert("default".into());
            }
            ask.extend(dep_features.get(key).cloned().unwrap_or_default());
            work.push((dep_id, ask));
        }
    }
    enabled
        .keys()
        .map(|id| packages[id]["name"].as_str().expect("name").to_string())
        .collect()
}

/// ARCHITECTURE.md: kodo-core depends on no async runtime, HTTP client, CLI parser or the
/// scanner, so "the plan and the audit do no I/O" is enforced by the compiler.
#[test]
fn the_core_links_no_runtime_http_cli_or_scanner() {
    let linked = linked_packages("kodo-core");
    assert!(linked.contains("kodo-api"), "{linked:?}");
    assert!(linked.contains("serde"), "{linked:?}");
    let forbidden = [
        "tokio",
        "reqwest",
        "clap",
        "hyper",
        "kodo-scan",
        "ignore",
        "axum",
    ];
    let found: Vec<&&str> = forbidden.iter().filter(|f| linked.contains(**f)).collect();
    assert!(found.is_empty(), "kodo-core links {found:?}: {linked:?}");
    // The check can fail: the binary links all of them.
    let binary = linked_packages("kodo");
    for f in ["tokio", "reqwest", "clap", "hyper", "kodo-scan"] {
        assert!(binary.contains(f), "kodo links {f}: {binary:?}");
    }
}
