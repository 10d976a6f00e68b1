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
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("demo")
        .env("POSTHOG_PERSONAL_API_KEY", "phx_the_users_real_key")
        .env("NOTION_API_KEY", "ntn_the_users_real_token")
        .env("KODO_SKIP", "1")
        .env("KODO_ALLOW_UNDOCUMENTED", "1")
        .env("HOME", home.path())
        .env("NO_COLOR", "")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!stdout.contains("the_users_real"), "{stdout}");
    // The story's key lines, in order.
    let lines = [
        "## 1. Where PostHog, Notion and the code stand",
        "$ kodo ph-sync",
        "- [ ] Flag `release_checkout_v2`: Notion says \"draft\", PostHog is active at 100%",
        "- [ ] Event: `checkout_coupon_applied` - in neither PostHog nor Notion (web/src/checkout.ts:7)",
        "## 2. A flag is deleted in PostHog while the code still checks it",
        "$ kodo ph-sync audit flags",
        "- [ ] Flag: `beta_batched_export` - in neither PostHog nor Notion: the check is always false (web/src/export.ts:8)",
        "- [ ] Flag: `release_legacy_export_removal` - deleted in PostHog (web/src/export.ts:5)",
        "## 3. What an import would write",
        "$ kodo ph-sync import events --dry-run",
        "+ error_api_timeout",
        "Tracked On: backend",
        "$ kodo ph-sync import flags --dry-run",
        "~ release_checkout_v2: Status: draft → active; Rollout %: 0 → 100; Related PR: https://github.com/acme/web/pull/1412 → https://github.com/acme/web/pull/12",
        "Dry run: nothing was written.",
        "## 4. The pre-commit gate",
        "web/src/onboarding.ts:4  event  `onboarding_tour_skipped`  is not documented",
        "## 5. The Claude Code hook",
        "kodo: feature flag `release_promo_banner` is not documented in Notion",
        "(exit 2)",
    ];
    let mut rest: &str = &stdout;
    for line in lines {
        let Some(at) = rest.find(line) else {
            panic!("`{line}` is missing (or out of order) in the demo's output:\n{stdout}");
        };
        rest = &rest[at + line.len()..];
    }
}
