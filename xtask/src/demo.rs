//! `cargo xtask demo`: the whole product on the emulator's `demo` scenario, in five steps.
//!
//! The scenario is the ph-sync spec's example team (PostHog and Notion) plus a small sample
//! application, `sandbox/scenarios/demo-app/` (a TypeScript web frontend with a home-made
//! capture wrapper, a Python billing service), which this module copies into a temporary
//! directory and gives a git history whose merge commits name pull requests. The story:
//!
//! 1. `kodo ph-sync`: status, discrepancies, the fix;
//! 2. a flag is deleted in PostHog while the code still checks it; `kodo ph-sync audit`
//!    shows it in its code section, with the names only the code knows;
//! 3. `kodo ph-sync import --dry-run`: the values an import would write, Tracked On and
//!    Related PR included;
//! 4. the pre-commit gate blocking a staged undocumented event, with the fix;
//! 5. the Claude Code hook refusing to create an undocumented flag.
//!
//! **Hermetic.** Every child process (git, kodo) starts from an empty environment plus the
//! variables set here: a user's own `POSTHOG_PERSONAL_API_KEY` or `NOTION_API_KEY`, git
//! configuration (signing, hooks, templates) or `KODO_*` switches never reach it. The
//! commits have fixed authors and dates, so the history is the same on every machine.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// The flag someone deletes in PostHog during the story (the web app still checks it).
const DELETED_FLAG: &str = "release_legacy_export_removal";
/// The flag Claude is asked to create (Notion does not document it).
const NEW_FLAG: &str = "release_promo_banner";
/// The event the staged change adds (Notion does not document it).
const NEW_EVENT: &str = "onboarding_tour_skipped";

/// One step of the sample application's history: a branch whose files are added in one
/// commit and merged with a merge commit naming its pull request (or, without a PR, a
/// commit on `main`).
struct Step {
    pr: Option<(u32, &'static str)>,
    subject: &'static str,
    files: &'static [&'static str],
    date: &'static str,
}

const HISTORY: &[Step] = &[
    Step {
        pr: None,
        subject: "Web app skeleton with the analytics helpers",
        files: &["README.md", "web/src/analytics.ts", "web/src/events.ts"],
        date: "2025-03-04T09:00:00+00:00",
    },
    Step {
        pr: Some((12, "checkout-v2")),
        subject: "Checkout v2 behind release_checkout_v2",
        files: &["web/src/checkout.ts"],
        date: "2025-05-12T14:30:00+00:00",
    },
    Step {
        pr: Some((31, "billing-webhooks")),
        subject: "Billing webhooks report to PostHog",
        files: &["services/billing/webhooks.py"],
        date: "2025-08-19T10:15:00+00:00",
    },
    Step {
        pr: Some((47, "remove-csv-export")),
        subject: "Hide the legacy CSV export behind a flag",
        files: &["web/src/export.ts"],
        date: "2025-09-22T16:45:00+00:00",
    },
];

/// The staged change of step 4.
const ONBOARDING_TS: &str = r#"import { track } from "./analytics";

export function skipTour(step: number) {
  track("onboarding_tour_skipped", { step });
}
"#;

/// What the demo needs to know about the running emulator.
pub struct Emulator {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The scenario's PostHog personal API key and Notion token (from the `.env` the emulator
    /// wrote).
    pub posthog_key: String,
    pub notion_token: String,
}

/// A running `kodo-sandbox`, stopped on drop.
pub struct Sandbox {
    child: Child,
    pub base_url: String,
}

impl Sandbox {
    /// Starts `kodo-sandbox` on `scenario`, writing its config and `.env` into `config_dir`.
    pub fn start(
        bin_dir: &Path,
        scenario: &str,
        config_dir: &Path,
        extra: &[&str],
    ) -> Result<Sandbox> {
        let mut child = Command::new(bin_dir.join("kodo-sandbox"))
            .args(["--scenario", scenario, "--port", "0", "--write-config"])
            .arg(config_dir)
            .args(extra)
            .env_clear()
            .envs(base_env(config_dir))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start kodo-sandbox")?;
        let stdout = child.stdout.take().context("no stdout from kodo-sandbox")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(base_url) = line.trim().strip_prefix("kodo-sandbox listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("kodo-sandbox did not start (it printed `{}`)", line.trim());
        };
        Ok(Sandbox {
            base_url: base_url.to_string(),
            child,
        })
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cargo xtask demo` with the binaries in `bin_dir`: prints the story on stdout.
/// With `keep`, the sample application stays on disk (its path is printed at the end).
pub fn run(bin_dir: &Path, keep: bool, out: &mut dyn Write) -> Result<()> {
    let work = crate::tempdir()?;
    let result = run_in(bin_dir, &work, out);
    if keep {
        writeln!(
            out,
            "\nThe sample application is kept in {} (its .env holds the emulator's keys; the emulator is stopped).",
            work.join("acme-web").display()
        )?;
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
    result
}

fn run_in(bin_dir: &Path, work: &Path, out: &mut dyn Write) -> Result<()> {
    let app = work.join("acme-web");
    let home = work.join("home");
    std::fs::create_dir_all(&home)?;
    make_app(&app, &home)?;
    let sandbox = Sandbox::start(bin_dir, "demo", &app, &[])?;
    let emulator = Emulator {
        base_url: sandbox.base_url.clone(),
        posthog_key: dotenv_value(&app, "POSTHOG_PERSONAL_API_KEY")?,
        notion_token: dotenv_value(&app, "NOTION_API_KEY")?,
    };
    // The team wants undocumented creates refused (step 5).
    let config_path = app.join(".kodo/config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&config_path)?)?;
    config["sync"]["require_notion_entry"] = json!(true);
    std::fs::write(&config_path, serde_json::to_string_pretty(&config)? + "\n")?;
    let demo = Demo {
        kodo: bin_dir.join("kodo"),
        app,
        home,
        emulator,
    };
    demo.story(&config, out)
}

struct Demo {
    kodo: PathBuf,
    app: PathBuf,
    home: PathBuf,
    emulator: Emulator,
}

impl Demo {
    fn story(&self, config: &Value, out: &mut dyn Write) -> Result<()> {
        writeln!(
            out,
            "# kodo demo\n\n\
             The emulator (`kodo-sandbox`) plays PostHog and Notion for the ph-sync spec's example \
             team at {}.\nTheir product, Acme Web (a TypeScript frontend and a Python billing \
             service, with four pull\nrequests of history), is checked out in {}.\n\
             Nothing here uses your own PostHog or Notion keys.\n",
            self.emulator.base_url,
            self.app.display()
        )?;

        heading(out, "1. Where PostHog, Notion and the code stand")?;
        self.kodo_step(out, &["ph-sync"], &[0, 1])?;
        writeln!(
            out,
            "Two things a newcomer may wonder about: the four stale dashboard URLs are the \
             emulator's doing (it\nserves PostHog on 127.0.0.1; the team's rows link to \
             us.posthog.com), and \"Edited in Notion\" is text the\nteam wrote by hand where \
             kodo would derive it from PostHog: kept unless `import --overwrite`.\n"
        )?;

        heading(
            out,
            "2. A flag is deleted in PostHog while the code still checks it",
        )?;
        let project = config["posthog"]["project_id"]
            .as_str()
            .context("the emulator's config has no posthog.project_id")?;
        self.delete_flag(project, DELETED_FLAG)?;
        writeln!(
            out,
            "Alex deletes the flag `{DELETED_FLAG}` in PostHog; `web/src/export.ts` still checks it.\n\
             The audit's code section also lists the names only the code knows.\n"
        )?;
        self.kodo_step(out, &["ph-sync", "audit", "flags"], &[0, 1])?;

        heading(out, "3. What an import would write")?;
        writeln!(
            out,
            "The dry run lists every value a new row gets and every old → new change: Tracked On \
             comes from\nthe code, Related PR from the merge commit that first added the name.\n"
        )?;
        self.kodo_step(out, &["ph-sync", "import", "events", "--dry-run"], &[0])?;
        self.kodo_step(out, &["ph-sync", "import", "flags", "--dry-run"], &[0])?;

        heading(out, "4. The Tracking Plan page in Notion")?;
        writeln!(
            out,
            "Setup keeps an index on the analytics page and regenerates the Tracking Plan page \
             from the four\ndatabases (import does it after every run). kodo writes only between its \
             own start and end notes;\nwhat people write above and below stays.\n"
        )?;
        self.kodo_step(out, &["ph-sync", "setup", "--refresh-pages"], &[0])?;
        self.tracking_plan_outline(config, out)?;

        heading(out, "5. The pre-commit gate")?;
        std::fs::write(self.app.join("web/src/onboarding.ts"), ONBOARDING_TS)?;
        self.git(&["add", "web/src/onboarding.ts"])?;
        writeln!(
            out,
            "A developer stages `web/src/onboarding.ts`, which captures `{NEW_EVENT}` through the \
             wrapper `track`\n(inferred: no `scan.wrappers` is configured); the git hook \
             (`kodo hooks install`) runs:\n"
        )?;
        self.kodo_step(out, &["hook", "pre-commit"], &[1])?;

        heading(out, "6. The Claude Code hook")?;
        writeln!(
            out,
            "With `sync.require_notion_entry: true`, Claude asks PostHog's MCP server to create the \
             flag `{NEW_FLAG}`,\nwhich Notion does not document:\n"
        )?;
        let payload = json!({
            "session_id": "demo",
            "cwd": self.app.display().to_string(),
            "hook_event_name": "PreToolUse",
            "tool_name": "mcp__posthog__create-feature-flag",
            "tool_input": {"key": NEW_FLAG, "name": "Promo banner", "active": false},
        });
        self.kodo_step_stdin(out, &["hook", "claude"], &payload.to_string(), &[2])?;
        writeln!(
            out,
            "Claude Code blocks the tool call on exit 2 and shows Claude the reason.\n\n\
             That was the demo. `cargo xtask ph-sync ARGS…` runs kodo in your own repository.\n"
        )?;
        Ok(())
    }

    /// Runs `kodo ARGS…`, printing the command and what it wrote; fails on an unexpected code.
    fn kodo_step(&self, out: &mut dyn Write, args: &[&str], ok: &[i32]) -> Result<()> {
        self.kodo_step_stdin(out, args, "", ok)
    }

    fn kodo_step_stdin(
        &self,
        out: &mut dyn Write,
        args: &[&str],
        stdin: &str,
        ok: &[i32],
    ) -> Result<()> {
        writeln!(out, "```console\n$ kodo {}", args.join(" "))?;
        let output = self.kodo(args, stdin)?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        write!(out, "{stdout}")?;
        write!(out, "{stderr}")?;
        let code = output.status.code();
        if code != Some(0) {
            writeln!(
                out,
                "(exit {})",
                code.map_or("by signal".into(), |c| c.to_string())
            )?;
        }
        writeln!(out, "```\n")?;
        if !code.is_some_and(|c| ok.contains(&c)) {
            bail!(
                "`kodo {}` exited with {code:?} (expected {ok:?}):\n{stderr}",
                args.join(" ")
            );
        }
        Ok(())
    }

    fn kodo(&self, args: &[&str], stdin: &str) -> Result<Output> {
        let mut child = Command::new(&self.kodo)
            .args(args)
            .current_dir(&self.app)
            .env_clear()
            .envs(self.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {}", self.kodo.display()))?;
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.as_bytes())?;
        }
        Ok(child.wait_with_output()?)
    }

    /// The whole environment of every kodo run: the emulator's keys, no colours, git
    /// isolated from the user's configuration.
    fn env(&self) -> Vec<(OsString, OsString)> {
        let mut env = base_env(&self.home);
        env.extend(
            [
                (
                    "POSTHOG_PERSONAL_API_KEY",
                    self.emulator.posthog_key.as_str(),
                ),
                ("NOTION_API_KEY", self.emulator.notion_token.as_str()),
                ("NO_COLOR", "1"),
            ]
            .map(|(k, v)| (k.into(), v.into())),
        );
        env
    }

    fn git(&self, args: &[&str]) -> Result<()> {
        git(&self.app, &self.home, args, None)
    }

    /// The Tracking Plan page's outline as Notion shows it: kodo's note, each section's
    /// heading and its first entry.
    fn tracking_plan_outline(&self, config: &Value, out: &mut dyn Write) -> Result<()> {
        let page = config["notion"]["pages"]["tracking_plan"]
            .as_str()
            .context("the emulator's config has no notion.pages.tracking_plan")?;
        let blocks = self.request("GET", &format!("/__admin/blocks/{page}"), None)?;
        let blocks = blocks
            .as_array()
            .context("the emulator's page content is not a list")?;
        writeln!(out, "The page in Notion (outline):\n")?;
        let mut first_of_section = false;
        for block in blocks {
            let text = block["text"].as_str().unwrap_or_default();
            let first_line = text.lines().next().unwrap_or_default();
            match block["type"].as_str().unwrap_or_default() {
                "child_database" => writeln!(out, "    [database] {text}")?,
                "callout" => {
                    let sentence = first_line.split_once(". ").map_or(first_line, |(s, _)| s);
                    writeln!(out, "    > {sentence}.")?
                }
                "heading_2" => {
                    writeln!(out, "    ## {text}")?;
                    first_of_section = true;
                }
                "bulleted_list_item" if first_of_section => {
                    writeln!(out, "       • {first_line}")?;
                    first_of_section = false;
                }
                "paragraph" if first_of_section => {
                    writeln!(out, "       {first_line}")?;
                    first_of_section = false;
                }
                "paragraph" if text.contains("kodo:tracking-plan:end") => {
                    writeln!(out, "    {text}")?
                }
                _ => {}
            }
        }
        writeln!(out)?;
        Ok(())
    }

    /// Deletes a flag as PostHog's UI does (`PATCH {"deleted": true}`).
    fn delete_flag(&self, project: &str, key: &str) -> Result<()> {
        let list = self.posthog(
            "GET",
            &format!("/api/projects/{project}/feature_flags/?limit=200"),
            None,
        )?;
        let id = list["results"]
            .as_array()
            .and_then(|flags| flags.iter().find(|f| f["key"] == key))
            .and_then(|f| f["id"].as_i64())
            .with_context(|| format!("the emulator has no flag `{key}`"))?;
        self.posthog(
            "PATCH",
            &format!("/api/projects/{project}/feature_flags/{id}/"),
            Some(&json!({"deleted": true})),
        )?;
        Ok(())
    }

    /// One request to the emulator's PostHog API (plain HTTP/1.1 on loopback).
    fn posthog(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        self.request(method, path, body)
    }

    /// One request to the emulator (PostHog's API, or `/__admin`, which ignores the token).
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let host = self
            .emulator
            .base_url
            .strip_prefix("http://")
            .context("the emulator's URL is not http://")?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(host).context("cannot reach the emulator")?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.emulator.posthog_key,
            body.len()
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let (head, body) = response
            .split_once("\r\n\r\n")
            .context("the emulator sent no HTTP response")?;
        let status = head.split_whitespace().nth(1).unwrap_or("");
        if !status.starts_with('2') {
            bail!("{method} {path}: the emulator answered {status}: {body}");
        }
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        };
        serde_json::from_str(&body).with_context(|| format!("{method} {path}: not JSON: {body}"))
    }
}

/// A chunked HTTP body, reassembled.
fn dechunk(mut body: &str) -> String {
    let mut text = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        text.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    text
}

fn heading(out: &mut dyn Write, title: &str) -> Result<()> {
    writeln!(out, "## {title}\n")?;
    Ok(())
}

/// The variables every child gets: a PATH to find git, a private HOME, and git told to read
/// no system or global configuration.
fn base_env(home: &Path) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = vec![
        ("HOME".into(), home.into()),
        ("LANG".into(), "C".into()),
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        ("GIT_CONFIG_GLOBAL".into(), null_device().into()),
        ("GIT_TERMINAL_PROMPT".into(), "0".into()),
    ];
    for var in ["PATH", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP"] {
        if let Some(value) = std::env::var_os(var) {
            env.push((var.into(), value));
        }
    }
    env
}

fn null_device() -> &'static str {
    if cfg!(windows) {
        "NUL"
    } else {
        "/dev/null"
    }
}

/// Runs git in `dir` with the demo's environment (and a fixed author and date when given).
fn git(dir: &Path, home: &Path, args: &[&str], date: Option<&str>) -> Result<()> {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(args)
        .env_clear()
        .envs(base_env(home))
        .stdin(Stdio::null());
    if let Some(date) = date {
        cmd.envs([
            ("GIT_AUTHOR_NAME", "Maya Chen"),
            ("GIT_AUTHOR_EMAIL", "maya.chen@acme.example"),
            ("GIT_COMMITTER_NAME", "Maya Chen"),
            ("GIT_COMMITTER_EMAIL", "maya.chen@acme.example"),
            ("GIT_AUTHOR_DATE", date),
            ("GIT_COMMITTER_DATE", date),
        ]);
    }
    let output = cmd.output().context("cannot run git (is it installed?)")?;
    if !output.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// The sample application with its history, in `app`.
fn make_app(app: &Path, home: &Path) -> Result<()> {
    let source = crate::root().join("sandbox/scenarios/demo-app");
    std::fs::create_dir_all(app)?;
    git(
        app,
        home,
        &["init", "--quiet", "--initial-branch=main"],
        None,
    )?;
    git(
        app,
        home,
        &["remote", "add", "origin", "https://github.com/acme/web.git"],
        None,
    )?;
    std::fs::write(app.join(".gitignore"), ".env\n.kodo/cache/\n")?;
    git(app, home, &["add", ".gitignore"], None)?;
    for step in HISTORY {
        if let Some((_, branch)) = step.pr {
            git(app, home, &["checkout", "--quiet", "-b", branch], None)?;
        }
        for file in step.files {
            let to = app.join(file);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(source.join(file), &to)
                .with_context(|| format!("cannot copy {}", source.join(file).display()))?;
            git(app, home, &["add", file], None)?;
        }
        git(
            app,
            home,
            &["commit", "--quiet", "--no-verify", "-m", step.subject],
            Some(step.date),
        )?;
        if let Some((number, branch)) = step.pr {
            git(app, home, &["checkout", "--quiet", "main"], None)?;
            let message = format!(
                "Merge pull request #{number} from acme/{branch}\n\n{}",
                step.subject
            );
            git(
                app,
                home,
                &[
                    "merge",
                    "--quiet",
                    "--no-ff",
                    "--no-verify",
                    "-m",
                    &message,
                    branch,
                ],
                Some(step.date),
            )?;
        }
    }
    Ok(())
}

/// A value of the `.env` file the emulator wrote into `dir`.
fn dotenv_value(dir: &Path, name: &str) -> Result<String> {
    let text = std::fs::read_to_string(dir.join(".env")).context("the emulator wrote no .env")?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
        .map(str::to_string)
        .with_context(|| format!("the emulator's .env has no {name}"))
}
