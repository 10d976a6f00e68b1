//! `cargo xtask demo` end to end, in a hostile environment: the user's own PostHog and Notion
//! keys (which the emulator refuses), the hooks' skip switches and a git configuration that
//! would break commits must not change the story.

use std::process::Command;

#[test]
fn the_demo_tells_the_whole_story_whatever_the_users_environment() {
    let home = tempfile::tempdir().unwrap();
    // A global git config that would make every demo commit fail if it were read.
    std::fs::write(
        home.path().join(".gitconfig"),
        "[commit]\n\tgpgsign = true\n[gpg]\n\tprogram = /nonexistent/gpg\n[core]\n\thooksPath = /nonexistent\n",
    )
    .unwrap();
    // Run from a directory whose `.env` and `.kodo/config.json` are the user's own project's.
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join(".env"),
        "POSTHOG_PERSONAL_API_KEY=phx_the_users_real_key_from_dotenv\nNOTION_API_KEY=ntn_the_users_real_dotenv\n",
    )
    .unwrap();
    std::fs::create_dir(cwd.path().join(".kodo")).unwrap();
    std::fs::write(cwd.path().join(".kodo/config.json"), "{ not json").unwrap();
    // Every variable kodo (src/, crates/) or git reads, set to what would change the story.
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("demo")
        .current_dir(cwd.path())
        .env("POSTHOG_PERSONAL_API_KEY", "phx_the_users_real_key")
        .env("NOTION_API_KEY", "ntn_the_users_real_token")
        .env("KODO_SKIP", "1")
        .env("KODO_ALLOW_UNDOCUMENTED", "1")
        .env("KODO_HOOK_TIMEOUT_MS", "1")
        .env("KODO_PROGRESS_INTERVAL_MS", "1")
        .env("KODO_TEST_NO_RETRY_DELAY", "1")
        .env("GITHUB_ACTIONS", "true")
        .env("NO_COLOR", "")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env("GIT_DIR", cwd.path().join("no-such-git-dir"))
        .env("GIT_WORK_TREE", cwd.path())
        .env("GIT_INDEX_FILE", cwd.path().join("no-such-index"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!stdout.contains("the_users_real"), "{stdout}");
    assert!(!stderr.contains("the_users_real"), "{stderr}");
    // No trace of a failure or of the hooks' skip switches taking effect.
    for wrong in [
        "Error:",
        "error:",
        "panicked",
        "KODO_SKIP is set",
        "KODO_ALLOW_UNDOCUMENTED is set",
    ] {
        assert!(
            !stdout.contains(wrong),
            "`{wrong}` in the demo's output:\n{stdout}"
        );
    }
    // Short enough to read: the story, not every row of every report. Each cut the demo makes
    // is a line of its own starting with `…` (kodo's output is otherwise shown as printed).
    let length = stdout.lines().count();
    assert!(length <= 180, "the demo grew to {length} lines:\n{stdout}");
    assert!(
        stdout
            .lines()
            .filter(|l| l.contains("(cut by the demo)"))
            .all(|l| l.trim_start().starts_with("- …") || l.trim_start().starts_with('…')),
        "{stdout}"
    );
    // The story's key lines, in order.
    let lines = [
        "Your own PostHog and Notion keys are not used.",
        "each `…` line is the demo's cut, not kodo's output.",
        "## 1. Where PostHog, Notion and the code stand",
        "$ kodo ph-sync",
        // The status is a Markdown table with a Planned column.
        "| Resource    | PostHog | Notion | Undocumented | Orphaned | Mismatched | Stale | Planned | Last sync |",
        "| ----------- | ------: | -----: |",
        "| Flags       |      12 |     10 |            2 |",
        "### Undocumented Resources\nThese exist in PostHog but not in Notion:\n- [ ] Event: `error_api_timeout`\n- … 9 more (cut by the demo)\n",
        // Each row with a Notion page links to it.
        "- [ ] Flag [`release_checkout_v2`](https://www.notion.so/release-checkout-v2-",
        "): Notion says \"draft\", PostHog is active at 100%",
        "### Edited in Notion",
        "- [ ] Event: `checkout_coupon_applied` - in neither PostHog nor Notion (web/src/checkout.ts:7)",
        // Several resources to import: one `import all`.
        "## To fix\n    kodo ph-sync import all\n",
        "The four stale dashboards are the emulator's doing",
        "## 2. The audit's code section: a flag deleted in PostHog, still checked",
        "$ kodo ph-sync audit flags",
        "## Code",
        "- [ ] Flag: `beta_batched_export` - in neither PostHog nor Notion: the check is always false (web/src/export.ts:8)",
        "- [ ] Flag: `release_legacy_export_removal` - deleted in PostHog (web/src/export.ts:5)",
        "## 3. What an import would write",
        "$ kodo ph-sync import events --dry-run",
        "Events: 6 to create, 0 to update, 41 unchanged",
        // Every value of a new row; Tracked On from the backend and from the frontend.
        "  + error_api_timeout\n      Domain: error_\n      Category: error\n      \
         Implementation Status: implemented\n      Tracked On: backend\n      Created: 2025-10-06\n",
        "  + feature_export_started\n",
        "      Tracked On: frontend\n",
        "  … 4 more new rows (cut by the demo)",
        "  ~ error_api_timeout: add provider",
        "Dry run: nothing was written.",
        "$ kodo ph-sync import flags --dry-run",
        "Flags: 2 to create, 3 to update, 7 unchanged",
        // Old → new for an update, Related PR from the merge commit that added the check.
        "  ~ release_checkout_v2: Status: draft → active; Rollout %: 0 → 100; Related PR: https://github.com/acme/web/pull/1412 → https://github.com/acme/web/pull/12\n",
        "  ~ release_legacy_export_removal: Status: draft → archived; Related PR: https://github.com/acme/web/pull/1650 → https://github.com/acme/web/pull/47\n",
        "  + release_new_api_v2\n      Name: New API v2\n      Type: release\n      Status: rolling_out\n      \
         Rollout %: 25\n",
        "      Owner: Maya Chen <maya.chen@acme.example>\n",
        "  … 1 more new row, 9 `=` lines (edited in Notion, kept) (cut by the demo)",
        "Dry run: nothing was written.",
        "## 4. The pre-commit gate",
        "$ kodo hook pre-commit\nkodo: this commit cannot go in as is:",
        "web/src/onboarding.ts:4  event  `onboarding_tour_skipped`  is not documented",
        "To fix, document each key in Notion first:\n  kodo ph-sync document event onboarding_tour_skipped\n",
        "(exit 1)",
        "## 5. The Claude Code hook",
        "$ kodo hook claude\nkodo: feature flag `release_promo_banner` is not documented in Notion",
        "run `kodo ph-sync document flag release_promo_banner`",
        "(exit 2)",
        "Claude Code blocks the tool call on exit 2",
    ];
    let mut rest: &str = &stdout;
    for line in lines {
        let Some(at) = rest.find(line) else {
            panic!("`{line}` is missing (or out of order) in the demo's output:\n{stdout}");
        };
        rest = &rest[at + line.len()..];
    }
}
