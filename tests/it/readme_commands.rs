//! Every `kodo` command of README.md's `sh` blocks, taken from README.md itself (not retyped
//! here), run in order through `sh` as a user pastes them, against the emulator's `empty`
//! scenario (a workspace before `setup`): the quick start, then "Every day". An edit to the
//! README that breaks a command, or changes what it exits with, fails this test.
//!
//! The steps the README leaves to the reader are done here where it says: after the command
//! that writes the starter config, the tokens go into `.env` (step 2) and the two values into
//! the config (step 3), plus the emulator's URLs and rate limit (the wiring a real workspace
//! does not need). Every command must exit 0, except `kodo doctor` before `setup` has made the
//! databases, which exits 1 ("until step 5 the four databases fail").

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::common::{TestEnv, FAST_BUDGET};

/// README.md's `sh` blocks' `kodo` commands, in order, each with the heading it is under; a
/// command continued with `\` is one command.
fn readme_commands(readme: &str) -> Vec<(String, String)> {
    let mut commands = Vec::new();
    let mut heading = String::new();
    let mut in_sh: Option<bool> = None;
    let mut pending: Option<String> = None;
    for line in readme.lines() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            in_sh = match in_sh {
                Some(_) => None,
                None => Some(info.trim() == "sh"),
            };
            continue;
        }
        match in_sh {
            None if trimmed.starts_with('#') => {
                heading = trimmed.trim_start_matches('#').trim().to_string();
            }
            Some(true) => {
                let text = match pending.take() {
                    Some(start) => format!("{start} {trimmed}"),
                    None if trimmed.starts_with("kodo ") => trimmed.to_string(),
                    None => continue,
                };
                match text.strip_suffix('\\') {
                    Some(start) => pending = Some(start.trim_end().to_string()),
                    None => commands.push((heading.clone(), text)),
                }
            }
            _ => {}
        }
    }
    assert!(pending.is_none(), "a README command ends with `\\`");
    commands
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?}");
}

#[test]
fn the_readme_parser_takes_each_kodo_command_of_the_sh_blocks() {
    let readme = "# T\n```sh\nkodo a   # note\ncargo x\n```\n## S\n   ```sh\n   kodo b --x \"y z\" \\\n        --w 1\n   ```\n```text\nkodo c\n```\n```\nkodo d\n```\n";
    assert_eq!(
        readme_commands(readme),
        vec![
            ("T".to_string(), "kodo a   # note".to_string()),
            ("S".to_string(), "kodo b --x \"y z\" --w 1".to_string()),
        ]
    );
}

#[test]
fn every_readme_command_runs_against_the_emulator_as_the_readme_says() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let commands = readme_commands(&readme);
    // The README's two walk-throughs are where its commands are (a block moved elsewhere
    // would be run too, but these two must not vanish).
    for section in [
        "Quick start on your workspace",
        "Every day: document, create, import, audit",
    ] {
        assert!(
            commands.iter().any(|(h, _)| h == section),
            "README.md has no kodo command under `{section}`: {commands:?}"
        );
    }

    let env = TestEnv::start("empty");
    let root = env.root();
    // A product's repository before kodo: no config, no .env.
    std::fs::remove_dir_all(root.join(".kodo")).unwrap();
    std::fs::remove_file(root.join(".env")).unwrap();
    git(root, &["init", "-q", "-b", "main"]);
    let kodo_dir = assert_cmd::cargo::cargo_bin("kodo")
        .parent()
        .unwrap()
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(kodo_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let config_path = root.join(".kodo/config.json");
    let mut filled_in = false;
    for (heading, command) in &commands {
        let config: Option<Value> = std::fs::read_to_string(&config_path)
            .ok()
            .map(|text| serde_json::from_str(&text).expect("the config is JSON"));
        let databases = config.as_ref().map_or(0, |c| {
            c["notion"]["databases"].as_object().map_or(0, |d| {
                d.values()
                    .filter(|id| id.as_str().is_some_and(|s| !s.is_empty()))
                    .count()
            })
        });
        let expected = if command.starts_with("kodo doctor") && databases < 4 {
            1
        } else {
            0
        };
        let out = Command::new("sh")
            .args(["-c", command])
            .current_dir(root)
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .env("KODO_TEST_NO_RETRY_DELAY", "1")
            .env("KODO_PROGRESS_INTERVAL_MS", "3600000")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("NOTION_API_KEY")
            .env_remove("POSTHOG_PERSONAL_API_KEY")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run sh");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(
            out.status.code(),
            Some(expected),
            "README ({heading}): `{command}`\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        if expected == 1 {
            assert!(stdout.contains("database"), "`{command}`:\n{stdout}");
        }
        if !filled_in && config_path.is_file() {
            // Steps 2 and 3, as the README tells the reader to do them by hand.
            filled_in = true;
            let gitignore = std::fs::read_to_string(root.join(".gitignore")).unwrap();
            assert!(gitignore.lines().any(|l| l == ".env"), "{gitignore}");
            std::fs::write(
                root.join(".env"),
                format!(
                    "NOTION_API_KEY={}\nPOSTHOG_PERSONAL_API_KEY={}\n",
                    env.scenario.notion_token(),
                    env.scenario.posthog_key()
                ),
            )
            .unwrap();
            let wired = env.scenario.kodo_config(&env.sandbox.base_url());
            let mut config: Value =
                serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
            config["posthog"]["project_id"] = wired["posthog"]["project_id"].clone();
            config["notion"]["pages"]["analytics_home"] =
                wired["notion"]["pages"]["analytics_home"].clone();
            // The emulator's wiring (a real workspace keeps the defaults).
            config["posthog"]["region_url"] = wired["posthog"]["region_url"].clone();
            config["notion"]["baseUrl"] = wired["notion"]["baseUrl"].clone();
            config["notion"]["rateLimit"] =
                json!({"requestsPerWindow": FAST_BUDGET, "windowSeconds": 60.0});
            std::fs::write(
                &config_path,
                serde_json::to_string_pretty(&config).unwrap() + "\n",
            )
            .unwrap();
        }
    }
    assert!(filled_in, "no README command wrote the starter config");
    // What the walk-throughs leave behind: the four databases, both hooks, the rows the
    // "Every day" block documented.
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    assert_eq!(
        config["notion"]["databases"].as_object().map(|d| d.len()),
        Some(4),
        "{config}"
    );
    assert!(root.join(".git/hooks/pre-commit").is_file());
    assert!(root.join(".claude/settings.json").is_file());
    for (_, command) in &commands {
        let words: Vec<&str> = command.split_whitespace().collect();
        let (db, property) = match words.get(..4) {
            Some(["kodo", "ph-sync", "document", "event"]) => ("events", "Event Name"),
            Some(["kodo", "ph-sync", "document", "flag"]) => ("feature_flags", "Flag Key"),
            _ => continue,
        };
        // One row per documented key (row_where fails on none or two).
        env.row_where(db, property, words[4]);
    }
}
