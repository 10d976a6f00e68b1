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
//! **Short.** Long lists and the sections a step is not about are cut ([`Cut`]), each cut a
//! line of its own starting with `…`; what is shown is kodo's output as printed.
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
             `kodo-sandbox` plays PostHog and Notion for the ph-sync spec's example team at {};\n\
             their product, Acme Web (a TypeScript frontend, a Python billing service, four merged \
             pull requests),\nis checked out in {}.\nYour own PostHog and Notion keys are not \
             used. Long lists are cut to their first entries:\neach `…` line is the demo's cut, \
             not kodo's output.\n",
            self.emulator.base_url,
            self.app.display()
        )?;

        heading(out, "1. Where PostHog, Notion and the code stand")?;
        self.kodo_step(
            out,
            &["ph-sync"],
            &[0, 1],
            Cut::Drop(&["Orphaned Documentation", "Properties"], 1),
        )?;
        writeln!(
            out,
            "The four stale dashboards are the emulator's doing: their rows link to us.posthog.com, \
             it serves\nPostHog on 127.0.0.1. \"Edited in Notion\" is text people wrote where kodo \
             derives it: import keeps it.\n"
        )?;

        heading(
            out,
            "2. The audit's code section: a flag deleted in PostHog, still checked",
        )?;
        let project = config["posthog"]["project_id"]
            .as_str()
            .context("the emulator's config has no posthog.project_id")?;
        self.delete_flag(project, DELETED_FLAG)?;
        writeln!(
            out,
            "Alex deletes the flag `{DELETED_FLAG}` in PostHog; `web/src/export.ts` still checks \
             it. The audit's\ncode section shows it, and the names only the code knows:\n"
        )?;
        self.kodo_step(
            out,
            &["ph-sync", "audit", "flags"],
            &[0, 1],
            Cut::Drop(
                &[
                    "Summary",
                    "Issues Found",
                    "Documented, Not in Code",
                    "Clean-up Candidates",
                    "Dynamic Names",
                    "Hygiene",
                    "Recommended Actions",
                ],
                1,
            ),
        )?;

        heading(out, "3. What an import would write")?;
        writeln!(
            out,
            "Every value a new row gets and every old → new change: Tracked On comes from the \
             code, Related PR\nfrom the merge commit that first added the name.\n"
        )?;
        self.kodo_step(
            out,
            &["ph-sync", "import", "events", "--dry-run"],
            &[0],
            Cut::Plan(&["error_api_timeout", "feature_export_started"], 1),
        )?;
        self.kodo_step(
            out,
            &["ph-sync", "import", "flags", "--dry-run"],
            &[0],
            Cut::Plan(&["release_new_api_v2"], 1),
        )?;

        heading(out, "4. The pre-commit gate")?;
        std::fs::write(self.app.join("web/src/onboarding.ts"), ONBOARDING_TS)?;
        self.git(&["add", "web/src/onboarding.ts"])?;
        writeln!(
            out,
            "A developer stages `web/src/onboarding.ts`, which captures `{NEW_EVENT}` through the \
             wrapper `track`\n(inferred: no `scan.wrappers` is configured); the git hook \
             (`kodo hooks install`) runs:\n"
        )?;
        self.kodo_step(out, &["hook", "pre-commit"], &[1], Cut::None)?;

        heading(out, "5. The Claude Code hook")?;
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
        self.kodo_step_stdin(
            out,
            &["hook", "claude"],
            &payload.to_string(),
            &[2],
            Cut::None,
        )?;
        writeln!(
            out,
            "Claude Code blocks the tool call on exit 2 and shows Claude the reason.\n\n\
             That was the demo. `cargo xtask ph-sync ARGS…` runs kodo in your own repository.\n"
        )?;
        Ok(())
    }

    /// Runs `kodo ARGS…`, printing the command and what it wrote (its stdout shortened by
    /// `cut`); fails on an unexpected code.
    fn kodo_step(&self, out: &mut dyn Write, args: &[&str], ok: &[i32], cut: Cut) -> Result<()> {
        self.kodo_step_stdin(out, args, "", ok, cut)
    }

    fn kodo_step_stdin(
        &self,
        out: &mut dyn Write,
        args: &[&str],
        stdin: &str,
        ok: &[i32],
        cut: Cut,
    ) -> Result<()> {
        writeln!(out, "```console\n$ kodo {}", args.join(" "))?;
        let output = self.kodo(args, stdin)?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        write!(out, "{}", cut.apply(&stdout))?;
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

/// How the demo shortens what a command printed on stdout: only by leaving lines out, and
/// every cut leaves a line starting with `…` that says what it left out (the intro says
/// those lines are the demo's). The rest is kodo's output, byte for byte.
#[derive(Debug, Clone, Copy)]
enum Cut<'a> {
    /// Nothing left out.
    None,
    /// A Markdown report without the sections named (headings of any level, each with what
    /// is under it), each list (`- ` items) longer than `n + 1` items cut to its first `n`.
    Drop(&'a [&'a str], usize),
    /// An import plan: the new rows named (with all their values), every update, every
    /// orphan, the first `n` property-schema changes; new rows not named and the `=` notes
    /// (a derived text edited in Notion, kept) are counted in one line per resource.
    Plan(&'a [&'a str], usize),
}

impl Cut<'_> {
    fn apply(self, text: &str) -> String {
        match self {
            Cut::None => text.to_string(),
            Cut::Drop(titles, n) => cut_lists(&drop_sections(text, titles), n),
            Cut::Plan(show, n) => cut_plan(text, show, n),
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Pushes `line` and a newline.
fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

/// The list cut of [`Cut::Drop`].
fn cut_lists(text: &str, n: usize) -> String {
    let mut out = String::new();
    let mut run: Vec<&str> = Vec::new();
    let flush = |out: &mut String, run: &mut Vec<&str>| {
        if run.len() > n + 1 {
            for line in &run[..n] {
                push_line(out, line);
            }
            push_line(
                out,
                &format!("- … {} more (cut by the demo)", run.len() - n),
            );
        } else {
            for line in run.iter() {
                push_line(out, line);
            }
        }
        run.clear();
    };
    for line in text.lines() {
        if line.starts_with("- ") {
            run.push(line);
        } else {
            flush(&mut out, &mut run);
            push_line(&mut out, line);
        }
    }
    flush(&mut out, &mut run);
    out
}

/// [`Cut::Drop`] without the list cut: a section named (a Markdown heading, any level) is
/// left out up to the next heading of its level or above; each run of sections left out
/// gives way to one line naming them.
fn drop_sections(text: &str, drop: &[&str]) -> String {
    let mut out = String::new();
    let mut left_out: Vec<&str> = Vec::new();
    // The level of the section being left out, if one is.
    let mut dropping: Option<usize> = None;
    for line in text.lines() {
        let level = line.bytes().take_while(|&b| b == b'#').count();
        let title = (level > 0)
            .then(|| line[level..].strip_prefix(' '))
            .flatten();
        if let Some(title) = title {
            if dropping.is_some_and(|at| level <= at) {
                dropping = None;
            }
            if dropping.is_none() && drop.contains(&title) {
                dropping = Some(level);
                left_out.push(title);
            }
        }
        if dropping.is_none() {
            if !left_out.is_empty() {
                push_line(
                    &mut out,
                    &format!("… {} (cut by the demo)\n", left_out.join(", ")),
                );
                left_out.clear();
            }
            push_line(&mut out, line);
        }
    }
    if !left_out.is_empty() {
        push_line(
            &mut out,
            &format!("… {} (cut by the demo)", left_out.join(", ")),
        );
    }
    out
}

/// [`Cut::Plan`].
fn cut_plan(text: &str, show: &[&str], n: usize) -> String {
    #[derive(Default)]
    struct Left {
        rows: usize,
        kept: usize,
        schemas: usize,
    }
    impl Left {
        fn flush(&mut self, out: &mut String) {
            let mut parts = Vec::new();
            if self.rows > 0 {
                parts.push(format!("{} more new row{}", self.rows, plural(self.rows)));
            }
            if self.kept > 0 {
                parts.push(format!("{} `=` lines (edited in Notion, kept)", self.kept));
            }
            if self.schemas > 0 {
                parts.push(format!(
                    "{} more schema{}",
                    self.schemas,
                    plural(self.schemas)
                ));
            }
            if !parts.is_empty() {
                push_line(out, &format!("  … {} (cut by the demo)", parts.join(", ")));
            }
            *self = Left::default();
        }
    }
    let mut out = String::new();
    let mut left = Left::default();
    let mut shown_row = false;
    let mut schemas_shown = 0;
    let mut in_schemas = false;
    for line in text.lines() {
        if !line.starts_with(' ') {
            left.flush(&mut out);
            in_schemas = line.starts_with("Properties schemas:");
            schemas_shown = 0;
            push_line(&mut out, line);
        } else if let Some(row) = line.strip_prefix("  + ") {
            let key = row.split(' ').next().unwrap_or(row);
            shown_row = show.contains(&key);
            if shown_row {
                push_line(&mut out, line);
            } else {
                left.rows += 1;
            }
        } else if line.starts_with("      ") {
            if shown_row {
                push_line(&mut out, line);
            }
        } else if line.starts_with("  = ") {
            left.kept += 1;
        } else if in_schemas && schemas_shown >= n {
            left.schemas += 1;
        } else {
            schemas_shown += usize::from(in_schemas);
            push_line(&mut out, line);
        }
    }
    left.flush(&mut out);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_keeps_its_first_entries_and_says_how_many_it_cut() {
        let text = "### A\n- a1\n- a2\n- a3\n- a4\n\n### B\n- b1\n- b2\n- b3\nNone.\n";
        assert_eq!(
            cut_lists(text, 2),
            "### A\n- a1\n- a2\n- … 2 more (cut by the demo)\n\n### B\n- b1\n- b2\n- b3\nNone.\n"
        );
    }

    #[test]
    fn sections_named_give_way_to_one_line_naming_them() {
        let text = "# Report\nGenerated: now\n\n## Summary\n- s\n\n## Issues\n### One\n- i\n\n\
                    ## Code\n### Kept\n- c\n### Gone\n- g\n\n## Hygiene\n- h\n";
        assert_eq!(
            Cut::Drop(&["Summary", "Issues", "Gone", "Hygiene"], 2).apply(text),
            "# Report\nGenerated: now\n\n… Summary, Issues (cut by the demo)\n\n\
             ## Code\n### Kept\n- c\n… Gone, Hygiene (cut by the demo)\n"
        );
    }

    #[test]
    fn a_plan_shows_the_rows_named_every_update_and_counts_the_rest() {
        let text = "Flags: 2 to create, 1 to update, 7 unchanged\n\
                    \x20 = a: Targeting edited in Notion, kept (--overwrite replaces it)\n\
                    \x20 + b\n      Name: B\n\
                    \x20 ~ c: Status: draft → active\n\
                    \x20 = c: Targeting edited in Notion, kept (--overwrite replaces it)\n\
                    \x20 + d (ID: 4)\n      Name: D\n      Type: ops\n\
                    Properties schemas: 3 to extend\n  ~ e: add x\n  ~ f: add y\n  ~ g: add z\n\
                    Dry run: nothing was written.\n";
        assert_eq!(
            Cut::Plan(&["d"], 2).apply(text),
            "Flags: 2 to create, 1 to update, 7 unchanged\n\
             \x20 ~ c: Status: draft → active\n\
             \x20 + d (ID: 4)\n      Name: D\n      Type: ops\n\
             \x20 … 1 more new row, 2 `=` lines (edited in Notion, kept) (cut by the demo)\n\
             Properties schemas: 3 to extend\n  ~ e: add x\n  ~ f: add y\n\
             \x20 … 1 more schema (cut by the demo)\n\
             Dry run: nothing was written.\n"
        );
    }
}
