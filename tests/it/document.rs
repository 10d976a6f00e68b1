//! `kodo ph-sync document`: documentation first from the command line, against the emulator's
//! demo scenario. The row is created once (also when the create's answer is lost), re-runs
//! write only what is given, and the offline snapshot lets the Claude hook and the pre-commit
//! gate accept the key at once with Notion unreachable.

use std::process::Command as StdCommand;

use crate::common::{assert_no_tokens, plain, TestEnv};
use serde_json::{json, Value};

const MAYA: &str = "maya.chen@acme.example";
const MAYA_ID: &str = "5c0e8a3b-1f2d-4e6a-8b9c-7d1e2f3a4b51";

fn run(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let out = env
        .kodo()
        .arg("ph-sync")
        .arg("document")
        .args(args)
        .output()
        .expect("run kodo");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_no_tokens(&env.scenario, &[&stdout, &stderr]);
    out
}

fn ok(env: &TestEnv, args: &[&str]) -> String {
    let out = run(env, args);
    assert!(
        out.status.success(),
        "document {args:?} exited {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_of(env: &TestEnv, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.extend(["--format", "json"]);
    serde_json::from_str(&ok(env, &args)).expect("json output")
}

fn set_sync(env: &TestEnv, key: &str, value: Value) {
    let mut config = env.config();
    config["sync"][key] = value;
    env.write_config(&config);
}

fn git(env: &TestEnv, args: &[&str]) {
    let out = StdCommand::new("git")
        .args(args)
        .current_dir(env.root())
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

fn hook_payload(env: &TestEnv, key: &str) -> String {
    json!({
        "session_id": "0b7c5c1e-3f57-4d0a-9d1e-2c8a4f6b9e10",
        "transcript_path": "/home/dev/.claude/projects/x.jsonl",
        "cwd": env.root().display().to_string(),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "mcp__posthog__create-feature-flag",
        "tool_input": {"name": "New search", "key": key, "filters": {"groups": []}, "active": false},
        "tool_use_id": "toolu_01"
    })
    .to_string()
}

fn hook(env: &TestEnv, key: &str) -> std::process::Output {
    env.kodo()
        .args(["hook", "claude"])
        .env_remove("KODO_ALLOW_UNDOCUMENTED")
        .write_stdin(hook_payload(env, key))
        .output()
        .expect("hook")
}

fn gate(env: &TestEnv) -> std::process::Output {
    env.kodo()
        .args(["hook", "pre-commit"])
        .output()
        .expect("gate")
}

#[test]
fn a_documented_flag_passes_the_hook_and_the_gate_offline() {
    let env = TestEnv::start("demo");
    set_sync(&env, "require_notion_entry", json!(true));
    // A repository whose staged change checks a flag nobody documented.
    git(&env, &["init", "-q", "-b", "main"]);
    std::fs::write(env.root().join(".gitignore"), ".env\n.kodo/cache/\n").unwrap();
    git(&env, &["add", "."]);
    git(&env, &["commit", "-q", "-m", "initial"]);
    std::fs::create_dir_all(env.root().join("web")).unwrap();
    std::fs::write(
        env.root().join("web/search.ts"),
        "import posthog from 'posthog-js'\nif (posthog.isFeatureEnabled('release_new_search')) {}\n",
    )
    .unwrap();
    git(&env, &["add", "web/search.ts"]);

    // Before: both refuse, and both print the command that fixes it.
    let out = hook(&env, "release_new_search");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("run `kodo ph-sync document flag release_new_search`"),
        "{err}"
    );
    let out = gate(&env);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kodo ph-sync document flag release_new_search"),
        "{err}"
    );

    let done = json_of(
        &env,
        &[
            "flag",
            "release_new_search",
            "--owner",
            MAYA,
            "--planned-removal",
            "2027-03-31",
        ],
    );
    assert_eq!(done["version"], 1);
    assert_eq!(done["action"], "created");
    assert_eq!(done["snapshot_updated"], true);
    let row = env.row_where("feature_flags", "Flag Key", "release_new_search");
    let p = &row["properties"];
    assert_eq!(plain(&p["Status"]), "draft");
    assert_eq!(plain(&p["Type"]), "release");
    assert_eq!(plain(&p["Owner"]), MAYA_ID);
    assert_eq!(plain(&p["Planned Removal"]), "2027-03-31");

    // After, with Notion unreachable: the snapshot answers for both.
    let mut config = env.config();
    config["notion"]["baseUrl"] = json!("http://127.0.0.1:1");
    env.write_config(&config);
    let out = hook(&env, "release_new_search");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = gate(&env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_event_row_gets_the_planned_status_facts_and_properties() {
    let env = TestEnv::start("demo");
    let text = ok(
        &env,
        &[
            "event",
            "checkout_gift_completed",
            "--description",
            "A gift purchase went through",
            "--property",
            "amount_cents:number",
            "--property",
            "gift_wrap:bool",
        ],
    );
    assert!(
        text.starts_with(
            "Documented event `checkout_gift_completed` in Notion (Events database): created (Implementation Status = planned)."
        ),
        "{text}"
    );
    assert!(
        text.contains("Next: send it from the code (PostHog lists an event once it is captured), then run `kodo ph-sync import events`"),
        "{text}"
    );
    let row = env.row_where("events", "Event Name", "checkout_gift_completed");
    let p = &row["properties"];
    assert_eq!(plain(&p["Implementation Status"]), "planned");
    assert_eq!(plain(&p["Domain"]), "checkout_");
    assert_eq!(plain(&p["Category"]), "conversion");
    assert_eq!(plain(&p["Description"]), "A gift purchase went through");
    let schema: Value = serde_json::from_str(&plain(&p["Properties"])).unwrap();
    assert_eq!(
        schema,
        json!({"amount_cents": {"type": "number"}, "gift_wrap": {"type": "boolean"}})
    );
    // The snapshot was written (there was none): the event is listed.
    let snapshot: Value = serde_json::from_str(
        &std::fs::read_to_string(env.root().join(".kodo/snapshot.json")).unwrap(),
    )
    .unwrap();
    assert!(snapshot["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "checkout_gift_completed"));
    assert!(snapshot["events"].as_array().unwrap().len() > 1);
}

#[test]
fn rerunning_writes_only_what_is_given_and_never_a_second_row() {
    let env = TestEnv::start("demo");
    ok(
        &env,
        &["event", "search_performed", "--description", "Words"],
    );
    // A person edits the row in Notion.
    let row = env.row_where("events", "Event Name", "search_performed");
    let id = row["id"].as_str().unwrap().to_string();
    env.sandbox.admin_send(
        "PATCH",
        &format!("/notion/pages/{id}"),
        json!({"properties": {"Implementation Status": {"select": {"name": "implemented"}}}}),
    );
    env.clear_requests();
    let done = json_of(&env, &["event", "search_performed", "--owner", MAYA]);
    assert_eq!(done["action"], "updated");
    assert_eq!(done["properties"], json!(["Owner"]));
    let row = env.row_where("events", "Event Name", "search_performed");
    assert_eq!(plain(&row["properties"]["Description"]), "Words");
    assert_eq!(
        plain(&row["properties"]["Implementation Status"]),
        "implemented"
    );
    assert!(env.page_creates().is_empty());

    let again = json_of(&env, &["event", "search_performed", "--owner", MAYA]);
    assert_eq!(again["action"], "unchanged");
    let writes: Vec<Value> = env
        .notion_writes()
        .into_iter()
        .filter(|w| w["path"] != "/v1/users")
        .collect();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        env.column("events", "Event Name")
            .iter()
            .filter(|n| *n == "search_performed")
            .count(),
        1
    );
}

#[test]
fn dry_run_writes_nothing() {
    let env = TestEnv::start("demo");
    env.clear_requests();
    let out = env
        .kodo()
        .args(["ph-sync", "document", "flag", "beta_dark_mode", "--dry-run"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("Would document flag `beta_dark_mode`"),
        "{text}"
    );
    assert!(env.notion_writes().is_empty());
    assert!(!env.root().join(".kodo/snapshot.json").exists());
}

fn document_under(faults: Value) -> Vec<String> {
    let env = TestEnv::start("demo");
    env.set_faults(faults);
    let mut done = false;
    for _ in 0..4 {
        let out = run(
            &env,
            &[
                "experiment",
                "Gift checkout copy",
                "--flag-key",
                "gift-checkout-copy",
                "--hypothesis",
                "Warmer words sell more gifts",
            ],
        );
        if out.status.success() {
            done = true;
            break;
        }
        assert_eq!(out.status.code(), Some(2));
    }
    assert!(done, "document never completed under faults");
    let injected: Vec<String> = env
        .requests()
        .into_iter()
        .filter_map(|r| r["fault"].as_str().map(str::to_string))
        .collect();
    env.set_faults(json!({}));
    env.assert_no_duplicates();
    let row = env.row_where("experiments", "Experiment Name", "Gift checkout copy");
    assert_eq!(plain(&row["properties"]["Flag Key"]), "gift-checkout-copy");
    assert_eq!(plain(&row["properties"]["Status"]), "draft");
    assert_eq!(
        plain(&row["properties"]["Hypothesis"]),
        "Warmer words sell more gifts"
    );
    // And once more, quietly: nothing to do.
    let again = json_of(
        &env,
        &[
            "experiment",
            "Gift checkout copy",
            "--flag-key",
            "gift-checkout-copy",
        ],
    );
    assert_eq!(again["action"], "unchanged");
    injected
}

#[test]
fn a_create_whose_answer_is_a_503_after_the_commit_is_not_repeated() {
    let injected = document_under(json!({"rate_commit_then_503": 1.0}));
    assert!(injected.iter().any(|f| f == "commit503"), "{injected:?}");
}

#[test]
fn a_create_whose_connection_drops_after_the_commit_is_not_repeated() {
    let injected = document_under(json!({"rate_drop_after_commit": 1.0}));
    assert!(injected.iter().any(|f| f == "drop"), "{injected:?}");
}

#[test]
fn bad_requests_are_usage_errors_before_any_write() {
    let env = TestEnv::start("demo");
    env.clear_requests();
    for (args, want) in [
        (
            vec!["event", "x_y", "--owner", "nobody@acme.example"],
            "no Notion user has the e-mail `nobody@acme.example`",
        ),
        (
            vec!["flag", "x_y", "--hypothesis", "h"],
            "`--hypothesis` does not apply to flags",
        ),
        (
            vec!["flag", "x_y", "--type", "forever"],
            "is not one of the Type options",
        ),
        (
            vec!["event", "x_y", "--property", "a:uuid"],
            "`uuid` is not a property type",
        ),
    ] {
        let out = run(&env, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert!(env.notion_writes().is_empty());
    let out = run(&env, &["cohort", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A repository in the test directory with one commit, whose staged file captures `event`
/// with `properties` (a JS object literal's body).
fn stage_capture(env: &TestEnv, event: &str, properties: &str) {
    if !env.root().join(".git").exists() {
        git(env, &["init", "-q", "-b", "main"]);
        std::fs::write(env.root().join(".gitignore"), ".env\n.kodo/cache/\n").unwrap();
        git(env, &["add", "."]);
        git(env, &["commit", "-q", "-m", "initial"]);
    }
    std::fs::create_dir_all(env.root().join("web")).unwrap();
    std::fs::write(
        env.root().join("web/gift.ts"),
        format!("import posthog from 'posthog-js'\nposthog.capture('{event}', {{\n  {properties}\n}})\n"),
    )
    .unwrap();
    git(env, &["add", "web/gift.ts"]);
}

#[test]
fn the_gate_warns_on_an_undocumented_property_and_blocks_with_the_setting() {
    let env = TestEnv::start("demo");
    ok(
        &env,
        &["event", "checkout_gift_sent", "--property", "plan:string"],
    );
    stage_capture(&env, "checkout_gift_sent", "plan: 'pro',\n  coupon: code,");
    // Offline: the snapshot holds the schema.
    let mut config = env.config();
    config["notion"]["baseUrl"] = json!("http://127.0.0.1:1");
    env.write_config(&config);

    let out = gate(&env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: web/gift.ts:4  event  `checkout_gift_sent` sends the property `coupon`, which its Properties schema does not document (add it: `kodo ph-sync document event checkout_gift_sent --property coupon`)"),
        "{err}"
    );
    assert!(!err.contains("`plan`"), "{err}");

    set_sync(&env, "require_documented_properties", json!(true));
    let out = gate(&env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("`coupon`"), "{err}");

    // Documented: the gate passes again, quietly.
    let mut config = env.config();
    config["notion"]["baseUrl"] = json!(env.sandbox.base_url());
    env.write_config(&config);
    ok(
        &env,
        &["event", "checkout_gift_sent", "--property", "coupon:string"],
    );
    let out = gate(&env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("coupon"), "{err}");
}
