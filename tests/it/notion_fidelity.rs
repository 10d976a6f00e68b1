//! What real Notion does that a naive client gets wrong (issue #12, the Notion side), end to
//! end: the `kodo` binary against the emulator, which does each of these by default.

use serde_json::{json, Value};

use crate::common::*;

/// Notion counts lengths in UTF-16 units (developers.notion.com/reference/request-limits):
/// 1,500 emoji are 1,500 chars but 3,000 units, too long for one rich-text piece; a Domain
/// derived from a long key is over the 100-unit option limit (dvanoni/notero#427). Both are
/// imported, and a second run writes nothing.
#[test]
fn emoji_text_and_a_long_domain_are_imported_within_notions_utf16_limits() {
    let env = TestEnv::start("demo");
    let description = "🚀".repeat(1500);
    let name = format!("{}_clicked", "launch".repeat(20)); // domain: 121 units
    env.sandbox.admin_send(
        "POST",
        "/posthog/event_definitions",
        json!({"name": name, "description": description}),
    );
    env.sandbox.admin_send(
        "POST",
        "/posthog/event_definitions",
        json!({"name": format!("{}_opened", "🚀".repeat(60))}),
    );
    env.ph_sync(&["import"]);
    let row = env.row_where("events", "Event Name", &name);
    assert_eq!(plain(&row["properties"]["Description"]), description);
    let domain = plain(&row["properties"]["Domain"]);
    assert!(
        domain.starts_with("launchlaunch") && domain.ends_with('…'),
        "{domain}"
    );
    assert!(domain.encode_utf16().count() <= 100, "{domain}");
    let row = env.row_where(
        "events",
        "Event Name",
        &format!("{}_opened", "🚀".repeat(60)),
    );
    let domain = plain(&row["properties"]["Domain"]);
    assert_eq!(domain, format!("{}…", "🚀".repeat(49)));

    env.clear_requests();
    env.ph_sync(&["import"]);
    assert!(env.notion_writes().is_empty(), "{:?}", env.notion_writes());
}

fn databases_titled(env: &TestEnv, title: &str) -> Vec<serde_json::Value> {
    env.state()["notion"]["databases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|db| plain_title(&db["title"]) == title && db["in_trash"] != true)
        .cloned()
        .collect()
}

fn plain_title(title: &serde_json::Value) -> String {
    title
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["plain_text"].as_str().or(t["text"]["content"].as_str()))
        .collect()
}

/// A database create whose answer is lost (the connection drops after Notion saved it) fails
/// setup; the re-run finds that database by its title and kodo's marker under the analytics
/// page and adopts it, instead of making a second one.
#[test]
fn setup_after_a_lost_database_create_adopts_the_database_it_made() {
    let env = TestEnv::start("empty");
    env.set_faults(json!({"rate_drop_after_commit": 1.0}));
    let out = env
        .kodo()
        .args(["ph-sync", "setup", "events"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(env.config()["notion"]["databases"]["events"].is_null());
    let made = databases_titled(&env, "Events");
    assert_eq!(made.len(), 1, "the lost create was saved");

    env.set_faults(json!({}));
    let text = env.ph_sync(&["setup"]);
    assert!(
        text.contains("found the database kodo created earlier"),
        "{text}"
    );
    let events = databases_titled(&env, "Events");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        env.config()["notion"]["databases"]["events"],
        events[0]["id"],
        "the config names the adopted database"
    );
    for title in ["Feature Flags", "Experiments", "Dashboards"] {
        assert_eq!(databases_titled(&env, title).len(), 1, "{title}");
    }
    // The adopted database works like a created one.
    env.sandbox.admin_send(
        "POST",
        "/posthog/event_definitions",
        json!({"name": "user_signed_up"}),
    );
    env.ph_sync(&["import"]);
    assert_eq!(env.column("events", "Event Name"), vec!["user_signed_up"]);
}

/// A database with kodo's title that kodo did not make (no marker) is left alone.
#[test]
fn setup_does_not_adopt_a_database_a_person_made() {
    let env = TestEnv::start("empty");
    let parent = env.config()["notion"]["pages"]["analytics_home"].clone();
    let (status, body) = env.sandbox.admin_request(
        "POST",
        "/notion/databases",
        json!({
            "parent": {"type": "page_id", "page_id": parent},
            "title": [{"text": {"content": "Events"}}],
            "initial_data_source": {"properties": {"Name": {"title": {}}}}
        }),
    );
    assert_eq!(status, 200, "{body}");
    let text = env.ph_sync(&["setup", "events"]);
    assert!(text.contains("created the database"), "{text}");
    assert_eq!(databases_titled(&env, "Events").len(), 2);
    assert_ne!(env.config()["notion"]["databases"]["events"], body["id"]);
}

/// Notion answers a write that outlived its server deadline (~55 s) with a late 503 naming what
/// it saved; kodo waits for it (its Notion timeout, 60 s as in the official SDK, is above the
/// deadline) and uses that database, in one send and one run.
///
/// The answer comes a second after the 30 s timeout kodo gave every request before (and still
/// gives PostHog's), so a client that gives up before the deadline fails this test: setup
/// abandons the create as ambiguous and exits 2 (checked by setting `NOTION_TIMEOUT` back to
/// 30 s). The real deadline would make this test take a minute; what matters is that the
/// answer outlives the old timeout and not the new one.
#[test]
fn setup_waits_for_a_late_commit_then_503_and_makes_one_database() {
    let late = kodo_api::ClientOptions::posthog().timeout + std::time::Duration::from_secs(1);
    assert!(
        late < kodo_api::ClientOptions::notion().timeout,
        "the answer must come before kodo gives up on Notion"
    );
    let env = TestEnv::start("empty");
    env.set_faults(json!({
        "rate_commit_then_503": 1.0,
        "commit503_delay_ms": u64::try_from(late.as_millis()).unwrap(),
    }));
    env.ph_sync(&["setup", "events"]);
    let events = databases_titled(&env, "Events");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        env.config()["notion"]["databases"]["events"],
        events[0]["id"]
    );
    let creates = env
        .requests()
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/v1/databases")
        .count();
    assert_eq!(creates, 1, "the create was sent once, never re-sent");
}

/// A query returns at most the cap's rows, and `request_status: incomplete` may come on any
/// page of the result, before the last ("Any page with request_status.type === "incomplete"
/// means the whole query result was capped", developers.notion.com/guides/data-apis/
/// query-large-data-sources). The emulator marks every page from the one that crosses the cap
/// (here, with a cap of 15, the first page of kodo's 100-row pages) and stops there with
/// `has_more: false`; a marker on one page only, before the last, is the next test's. kodo reads past the cap
/// (created_time partitions): every documented event is found, so the import creates only the
/// missing ones and no row twice.
#[test]
fn rows_past_the_query_cap_are_read_and_never_documented_twice() {
    let env = TestEnv::with(
        kodo_sandbox::Scenario::builtin("demo").unwrap(),
        kodo_sandbox::Options {
            query_row_cap: 15,
            ..fast_options()
        },
    );
    let documented = env.rows("events").len();
    assert!(documented > 30, "{documented} rows: the cap must bite");
    let report: serde_json::Value =
        serde_json::from_str(&env.ph_sync(&["audit", "--format", "json"])).unwrap();
    let undocumented = report["undocumented"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["resource"] == "events")
        .count();
    env.ph_sync(&["import", "events"]);
    env.assert_no_duplicates();
    assert_eq!(env.rows("events").len(), documented + undocumented);
    // Capped queries were answered incomplete, and kodo went on past them.
    let capped = env
        .requests()
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/query")))
        .count();
    assert!(capped > 4, "{capped} queries");
}

/// "Check request_status.type === "incomplete" on every response page" (developers.notion.com/
/// guides/data-apis/query-large-data-sources): kodo does. Here the emulator's test option marks
/// only the middle one of a capped query's three 100-row pages (Notion itself marks every page
/// of a capped result, as the test above has it), so a client that looks at the first page
/// only, or at the last page only, takes 250 of 301 rows for all of them and reports the other
/// 51 undocumented (and would document them a second time). kodo sees the cap and reads on.
#[test]
fn a_cap_marked_on_a_middle_page_only_is_still_a_cap() {
    // The demo plus 260 events, each documented by a row created a minute after the last
    // (kodo reads past a cap by creation time, which Notion shows to the minute).
    let mut scenario: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sandbox/scenarios/demo.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let names: Vec<String> = (0..260).map(|i| format!("report_viewed_{i:03}")).collect();
    let events = scenario["notion"]["databases"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|d| d["key"] == "events")
        .unwrap();
    for (i, name) in names.iter().enumerate() {
        events["rows"].as_array_mut().unwrap().push(json!({
            "created_time": format!("2025-01-{:02}T{:02}:{:02}:00Z", 1 + i / 60, (i / 60) % 24, i % 60),
            "values": {"Event Name": name},
        }));
    }
    for name in &names {
        scenario["posthog"]["event_definitions"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": name}));
    }
    let env = TestEnv::with(
        kodo_sandbox::Scenario::from_json(&scenario.to_string()).unwrap(),
        kodo_sandbox::Options {
            query_row_cap: 250,
            query_incomplete_only_page: Some(1),
            ..fast_options()
        },
    );
    let documented = env.rows("events").len();
    assert!(
        documented > 300,
        "{documented} rows: three pages, past the cap"
    );
    env.clear_requests();
    // Every row is read: none of the 260 is undocumented (the audit has no second chance: the
    // import's re-check of a key right before its create would hide a missed row).
    let report: serde_json::Value =
        serde_json::from_str(&env.ph_sync(&["audit", "--format", "json"])).unwrap();
    let missed: Vec<&serde_json::Value> = report["undocumented"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["key"]
                .as_str()
                .is_some_and(|k| k.starts_with("report_viewed_"))
        })
        .collect();
    assert!(
        missed.is_empty(),
        "{} rows missed: {missed:?}",
        missed.len()
    );
    env.ph_sync(&["import", "events"]);
    env.assert_no_duplicates();
    // Three pages up to the cap, then a query for the rows created since the last one read.
    let queries = env
        .requests()
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/query")))
        .count();
    assert!(queries > 3, "{queries} queries");
    let names = env.column("events", "Event Name");
    let unique: std::collections::BTreeSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "a row twice");
    assert!(names.contains(&"report_viewed_259".to_string()));
}

fn git(env: &TestEnv, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(env.root())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// Notion refuses a whole page write whose URL property is over 2,000 UTF-16 units
/// (developers.notion.com/reference/request-limits, "Size limits": any URL, 2000). A flag's
/// Related PR that long (a repository path that deep) is written as no URL, and the flag is
/// imported; with a normal repository path the same commit gives the link.
#[test]
fn a_related_pr_url_over_notions_2000_units_is_left_empty_not_refused() {
    let env = TestEnv::start("demo");
    git(&env, &["init", "-q", "-b", "main"]);
    std::fs::write(env.root().join(".gitignore"), ".env\n.kodo/\n").unwrap();
    std::fs::write(
        env.root().join("checkout.ts"),
        "if (posthog.isFeatureEnabled('release_checkout_v2')) {}\n",
    )
    .unwrap();
    git(&env, &["add", "."]);
    git(
        &env,
        &["commit", "-q", "-m", "New checkout behind a flag (#42)"],
    );
    let deep = (0..450)
        .map(|i| format!("g{i:03}"))
        .collect::<Vec<_>>()
        .join("/");
    let remote = format!("https://github.com/acme/{deep}/web.git");
    assert!(remote.len() > 2000);
    git(&env, &["remote", "add", "origin", &remote]);
    env.ph_sync(&["import"]);
    let row = env.row_where("feature_flags", "Flag Key", "release_checkout_v2");
    assert_eq!(
        row["properties"]["Related PR"]["url"],
        serde_json::Value::Null
    );

    git(
        &env,
        &[
            "remote",
            "set-url",
            "origin",
            "https://github.com/acme/web.git",
        ],
    );
    env.ph_sync(&["import"]);
    let row = env.row_where("feature_flags", "Flag Key", "release_checkout_v2");
    assert_eq!(
        row["properties"]["Related PR"]["url"],
        "https://github.com/acme/web/pull/42"
    );
}

/// Issue 13 item 4: a second repository (its own config, with no database IDs and no
/// `.kodo/state.json`) pointed at the same Notion page adopts the four databases the first
/// one's setup made there (found by title and kodo's marker) instead of making four more, and
/// writes their IDs into its own config.
#[test]
fn a_second_repository_adopts_the_databases_kodo_made_under_the_page() {
    let env = TestEnv::start("empty");
    let first = env.ph_sync(&["setup"]);
    assert!(first.contains("Events: created the database"), "{first}");
    let made = env.config()["notion"]["databases"].clone();

    let other = tempfile::tempdir().unwrap();
    let mut config = env.config();
    config["notion"]["databases"] = json!({});
    config["notion"]["pages"]
        .as_object_mut()
        .unwrap()
        .remove("tracking_plan");
    std::fs::create_dir_all(other.path().join(".kodo")).unwrap();
    std::fs::write(
        other.path().join(".kodo/config.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    let out = env
        .kodo()
        .current_dir(other.path())
        .args(["ph-sync", "setup"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("created the database"), "{text}");
    assert_eq!(
        text.matches("found the database kodo created earlier")
            .count(),
        4,
        "{text}"
    );
    for title in ["Events", "Feature Flags", "Experiments", "Dashboards"] {
        assert_eq!(databases_titled(&env, title).len(), 1, "{title}");
    }
    let adopted: Value = serde_json::from_str(
        &std::fs::read_to_string(other.path().join(".kodo/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(adopted["notion"]["databases"], made);
}

/// Issue 13: `setup --dry-run` checks that the parent page exists and is shared with the
/// integration (it reads what setup would create the databases under), and says which page
/// and how to share it, instead of planning creates that would fail.
#[test]
fn setup_dry_run_checks_the_parent_page_is_shared() {
    let mut scenario = kodo_sandbox::Scenario::builtin("empty").unwrap();
    for page in scenario.notion.pages.values_mut() {
        page.shared = false;
    }
    let env = TestEnv::with(scenario, crate::common::fast_options());
    env.clear_requests();
    let out = env
        .kodo()
        .args(["ph-sync", "setup", "--dry-run"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("notion.pages.analytics_home") && stderr.contains("Connections"),
        "{stderr}"
    );
    assert!(env.notion_writes().is_empty());
}
