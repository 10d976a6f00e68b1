//! Runs Notion's official JavaScript SDK (`tests/sdk/check.mjs`) against a sandbox on
//! the demo scenario, so the emulator's answers are checked by a real client.
//!
//! Needs `npm ci --prefix tests/sdk` first; set `KODO_SKIP_SDK_CHECK=1` to skip.

use std::path::PathBuf;
use std::process::Command;

use kodo_sandbox::{BlockingSandbox, Options, Scenario};

#[test]
fn notion_js_sdk_accepts_the_sandbox() {
    if std::env::var("KODO_SKIP_SDK_CHECK").as_deref() == Ok("1") {
        eprintln!("skipped the Notion SDK check (KODO_SKIP_SDK_CHECK=1)");
        return;
    }
    let sdk_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/sdk");
    assert!(
        sdk_dir.join("node_modules/@notionhq/client").is_dir(),
        "tests/sdk/node_modules is missing: run `npm ci --prefix tests/sdk` (or set KODO_SKIP_SDK_CHECK=1 to skip this check)"
    );
    let scenario = Scenario::builtin("demo").expect("demo scenario");
    let token = scenario.notion_token().to_string();
    let options = Options {
        notion_budget: 100_000,
        ..Options::default()
    };
    let sandbox = BlockingSandbox::start(scenario, options).expect("sandbox starts");
    let output = Command::new("node")
        .arg("check.mjs")
        .current_dir(&sdk_dir)
        .env("KODO_SANDBOX_URL", sandbox.base_url())
        .env("NOTION_API_KEY", token)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `node` (is Node.js 18+ installed?): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Notion SDK check failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("8 passed, 0 failed"), "{stdout}");
    // The SDK's requests went through the sandbox (and were logged without tokens).
    let log = sandbox.admin_get("/requests");
    let entries = log.as_array().expect("log is a list");
    assert!(entries
        .iter()
        .any(|e| e["path"] == "/v1/pages" && e["method"] == "POST" && e["status"] == 200));
    assert!(!log.to_string().contains("ntn_sandbox_"));
}
