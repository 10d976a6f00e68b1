//! The end-to-end harness shared by kodo's integration tests: a temporary project directory,
//! a running emulator ([`BlockingSandbox`]) with its `.kodo/config.json` and `.env` written,
//! and an `assert_cmd` command for the real `kodo` binary.
//!
//! Invariants: the emulator runs at a high rate limit (100,000 requests per 60-second window)
//! and the config's `notion.rateLimit` matches, so tests are fast without any timed assertion; the
//! `kodo` command never inherits a token from the developer's environment — it gets the
//! scenario's, plus `NO_COLOR=1`, `KODO_TEST_NO_RETRY_DELAY=1` and an hour's
//! `KODO_PROGRESS_INTERVAL_MS` (so no progress line depends on how fast the machine is; a test
//! of the lines sets 0).

#![allow(dead_code)]

#[cfg(unix)]
pub mod pty;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use kodo_sandbox::{BlockingSandbox, FaultConfig, Options, Scenario};
use serde_json::{json, Value};
use tempfile::TempDir;

/// The Notion budget tests run at (requests per 60-second window).
pub const FAST_BUDGET: u32 = 100_000;

/// A project directory wired to a running emulator.
pub struct TestEnv {
    pub dir: TempDir,
    pub sandbox: BlockingSandbox,
    pub scenario: Scenario,
}

/// Emulator options for tests: fast, no faults, a fixed seed.
pub fn fast_options() -> Options {
    Options {
        notion_budget: FAST_BUDGET,
        faults: FaultConfig::default(),
        seed: 7,
        ..Options::default()
    }
}

impl TestEnv {
    /// A built-in scenario (`demo` or `empty`) at the test rate.
    pub fn start(name: &str) -> TestEnv {
        let scenario = Scenario::builtin(name).unwrap_or_else(|| panic!("no scenario {name}"));
        TestEnv::with(scenario, fast_options())
    }

    /// Any scenario and options; the config's `notion.rateLimit` follows the options.
    pub fn with(scenario: Scenario, options: Options) -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        let budget = json!({
            "requestsPerWindow": options.notion_budget,
            "windowSeconds": options.notion_window.as_secs_f64(),
        });
        let (options_per_minute, options_per_hour) =
            (options.posthog_per_minute, options.posthog_per_hour);
        let posthog_budget = json!({
            "requestsPerMinute": options_per_minute,
            "requestsPerHour": options_per_hour,
        });
        let sandbox = BlockingSandbox::start(scenario.clone(), options).expect("start sandbox");
        let env = TestEnv {
            dir,
            sandbox,
            scenario,
        };
        let mut config = env.scenario.kodo_config(&env.sandbox.base_url());
        config["notion"]["rateLimit"] = budget;
        // Written only when a test changes PostHog's throttles: other configs stay as users write them.
        let defaults = Options::default();
        if (options_per_minute, options_per_hour)
            != (defaults.posthog_per_minute, defaults.posthog_per_hour)
        {
            config["posthog"]["rateLimit"] = posthog_budget;
        }
        env.write_config(&config);
        std::fs::write(
            env.root().join(".env"),
            format!(
                "NOTION_API_KEY={}\nPOSTHOG_PERSONAL_API_KEY={}\n",
                env.scenario.notion_token(),
                env.scenario.posthog_key()
            ),
        )
        .expect("write .env");
        env
    }

    /// The project directory.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.root().join(".kodo/config.json")
    }

    /// Writes `.kodo/config.json`.
    pub fn write_config(&self, config: &Value) {
        std::fs::create_dir_all(self.root().join(".kodo")).expect("mkdir .kodo");
        let mut text = serde_json::to_string_pretty(config).expect("config json");
        text.push('\n');
        std::fs::write(self.config_path(), text).expect("write config");
    }

    /// The current `.kodo/config.json`.
    pub fn config(&self) -> Value {
        let text = std::fs::read_to_string(self.config_path()).expect("read config");
        serde_json::from_str(&text).expect("config is JSON")
    }

    /// The `kodo` binary, run in the project directory with the scenario's tokens.
    pub fn kodo(&self) -> Command {
        Command::from_std(self.kodo_process())
    }

    /// The `kodo` binary as a plain `std` command (to spawn and kill): run in the project
    /// directory with the scenario's tokens (never the developer's), `NO_COLOR=1` and
    /// `KODO_TEST_NO_RETRY_DELAY=1`.
    pub fn kodo_process(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("kodo"));
        cmd.current_dir(self.root())
            .env("NO_COLOR", "1")
            .env("KODO_TEST_NO_RETRY_DELAY", "1")
            .env("KODO_PROGRESS_INTERVAL_MS", "3600000")
            .env("NOTION_API_KEY", self.scenario.notion_token())
            .env("POSTHOG_PERSONAL_API_KEY", self.scenario.posthog_key());
        cmd
    }

    /// Sets the emulator's injected faults.
    pub fn set_faults(&self, faults: Value) {
        self.sandbox.admin_send("PUT", "/faults", faults);
    }

    /// Every live row of every kodo database, keyed by database, as sorted lines of
    /// `property=value` pairs (the emulator's address replaced by `<sandbox>`): two
    /// workspaces holding the same documentation give the same picture.
    pub fn notion_picture(&self) -> Vec<(String, Vec<String>)> {
        let base = self.sandbox.base_url();
        ["events", "feature_flags", "experiments", "dashboards"]
            .iter()
            .map(|key| {
                let mut lines: Vec<String> = self
                    .rows(key)
                    .iter()
                    .map(|row| {
                        let mut props: Vec<String> = row["properties"]
                            .as_object()
                            .into_iter()
                            .flatten()
                            .map(|(name, value)| format!("{name}={}", plain(value)))
                            .collect();
                        props.sort();
                        props.join(" | ").replace(&base, "<sandbox>")
                    })
                    .collect();
                lines.sort();
                (key.to_string(), lines)
            })
            .collect()
    }

    /// Panics if two live rows of a database share their title.
    pub fn assert_no_duplicates(&self) {
        for (key, title) in [
            ("events", "Event Name"),
            ("feature_flags", "Flag Key"),
            ("experiments", "Experiment Name"),
            ("dashboards", "Dashboard Name"),
        ] {
            let values = self.column(key, title);
            let mut unique = values.clone();
            unique.dedup();
            assert_eq!(values, unique, "duplicate rows in {key}");
        }
    }

    /// `kodo ph-sync <args>`, expected to exit 0; returns stdout.
    pub fn ph_sync(&self, args: &[&str]) -> String {
        let out = self
            .kodo()
            .arg("ph-sync")
            .args(args)
            .output()
            .expect("run kodo");
        assert!(
            out.status.success(),
            "kodo ph-sync {args:?} exited {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The emulator's whole state.
    pub fn state(&self) -> Value {
        self.sandbox.admin_get("/state")
    }

    /// The request log since the last [`clear_requests`](Self::clear_requests).
    pub fn requests(&self) -> Vec<Value> {
        self.sandbox
            .admin_get("/requests")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn clear_requests(&self) {
        self.sandbox.admin_send("DELETE", "/requests", Value::Null);
    }

    /// Logged Notion requests that change state.
    pub fn notion_writes(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["service"] == "notion" && r["write"] == true)
            .collect()
    }

    /// Logged `POST /v1/pages` requests (row creates), whatever their answer.
    pub fn page_creates(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["method"] == "POST" && r["path"] == "/v1/pages")
            .collect()
    }

    /// The data source id of the database configured under `notion.databases.<key>`.
    pub fn data_source_of(&self, key: &str) -> String {
        let config = self.config();
        let database = config["notion"]["databases"][key]
            .as_str()
            .unwrap_or_else(|| panic!("no database configured for {key}"))
            .to_string();
        let state = self.state();
        state["notion"]["data_sources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|ds| ds["parent"]["database_id"] == database.as_str())
            .and_then(|ds| ds["id"].as_str())
            .unwrap_or_else(|| panic!("no data source for database {database}"))
            .to_string()
    }

    /// The live (not trashed) rows of the database configured under `key`, as raw pages.
    pub fn rows(&self, key: &str) -> Vec<Value> {
        let ds = self.data_source_of(key);
        self.state()["notion"]["pages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["parent"]["data_source_id"] == ds.as_str())
            .filter(|p| p["in_trash"] != true)
            .cloned()
            .collect()
    }

    /// The value of `property` on every live row of `key`'s database, as plain text (titles,
    /// rich text, selects; numbers printed).
    pub fn column(&self, key: &str, property: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .rows(key)
            .iter()
            .map(|p| plain(&p["properties"][property]))
            .collect();
        values.sort();
        values
    }

    /// The live row of `key`'s database whose `property` reads `value`.
    pub fn row_where(&self, key: &str, property: &str, value: &str) -> Value {
        let rows = self.rows(key);
        let found: Vec<&Value> = rows
            .iter()
            .filter(|p| plain(&p["properties"][property]) == value)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "expected one {key} row with {property} = {value}, found {}",
            found.len()
        );
        found[0].clone()
    }
}

/// A Notion property value as plain text.
pub fn plain(prop: &Value) -> String {
    match prop["type"].as_str() {
        Some("title") | Some("rich_text") => {
            let kind = prop["type"].as_str().unwrap_or("title");
            prop[kind]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["plain_text"].as_str().or(t["text"]["content"].as_str()))
                .collect()
        }
        Some("select") => prop["select"]["name"].as_str().unwrap_or("").to_string(),
        Some("number") => match prop["number"].as_f64() {
            Some(n) if n.fract() == 0.0 => format!("{}", n as i64),
            Some(n) => n.to_string(),
            None => String::new(),
        },
        Some("url") => prop["url"].as_str().unwrap_or("").to_string(),
        Some("checkbox") => prop["checkbox"].to_string(),
        Some("date") => prop["date"]["start"].as_str().unwrap_or("").to_string(),
        Some("multi_select") => prop["multi_select"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["name"].as_str())
            .collect::<Vec<_>>()
            .join(","),
        Some("people") => prop["people"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u["id"].as_str())
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    }
}

/// Asserts that no output of a run contains either token of the scenario.
pub fn assert_no_tokens(scenario: &Scenario, texts: &[&str]) {
    for text in texts {
        for token in [scenario.notion_token(), scenario.posthog_key()] {
            assert!(
                !text.contains(token),
                "a token appeared in the output:\n{text}"
            );
        }
    }
}

/// A Markdown report with its Notion links taken out (``[`key`](url)`` → `` `key` ``), to
/// compare it with text written without them (the spec's example).
pub fn unlinked(md: &str) -> String {
    let link = regex::Regex::new(r"\[(`[^`]*`)\]\(https?://[^)\s]*\)").expect("a valid pattern");
    link.replace_all(md, "$1").into_owned()
}
