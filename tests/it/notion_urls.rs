//! Notion URLs are accepted wherever an ID is: a config whose database and page IDs are the
//! links people paste (a workspace URL with a title slug, a database view's `?v=`, notion.site,
//! undashed and dashed IDs, a data source's `collection://`) reads and writes exactly what the
//! same config with bare IDs does; what is not an ID is a config error naming the key and
//! what to paste.

use serde_json::{json, Value};

use crate::common::TestEnv;

/// `id` (dashed, as the emulator gives it) in the shape `n` of the URLs Notion produces.
fn as_url(id: &str, title: &str, n: usize) -> String {
    let compact = id.replace('-', "");
    let slug = title.replace(' ', "-");
    match n % 6 {
        0 => format!("https://www.notion.so/acme/{slug}-{compact}"),
        1 => {
            format!("https://www.notion.so/acme/{compact}?v=9a8b7c6d5e4f40312233445566778899&pvs=4")
        }
        2 => format!("https://acme.notion.site/{slug}-{compact}"),
        3 => compact.to_uppercase(),
        4 => format!("www.notion.so/{slug}-{compact}#block-0a0b0c0d0e0f40112233445566778899"),
        _ => format!("collection://{id}"),
    }
}

/// The config with every Notion ID replaced by one of Notion's URL shapes.
fn with_urls(config: &Value) -> Value {
    let mut config = config.clone();
    let mut n = 0;
    for section in ["databases", "pages"] {
        let Some(ids) = config["notion"][section].as_object_mut() else {
            continue;
        };
        for (key, value) in ids.iter_mut() {
            if let Some(id) = value.as_str().map(str::to_string) {
                // A page is never a data source: the collection:// shape only for databases.
                let shape = if section == "pages" && n % 6 == 5 {
                    0
                } else {
                    n
                };
                *value = json!(as_url(&id, key, shape));
                n += 1;
            }
        }
    }
    config
}

fn audit_json(env: &TestEnv) -> Value {
    let out = env
        .kodo()
        .args(["ph-sync", "audit", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "audit failed: {stderr}"
    );
    let mut report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["generated_at"] = Value::Null;
    report
}

#[test]
fn a_config_of_pasted_urls_reads_what_a_config_of_ids_reads() {
    let env = TestEnv::start("demo");
    let ids = env.config();
    let expected = audit_json(&env);
    let urls = with_urls(&ids);
    assert_ne!(urls, ids);
    env.write_config(&urls);
    assert_eq!(audit_json(&env), expected);
    // And `doctor` finds every database and the parent page through them.
    let out = env.kodo().args(["doctor"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("not a Notion ID"),
        "doctor refused a URL: {stdout}"
    );
    // The file keeps what the person pasted: nothing rewrote it.
    assert_eq!(env.config(), urls);
}

#[test]
fn setup_creates_the_databases_under_a_parent_page_given_by_its_url() {
    let env = TestEnv::start("empty");
    let mut config = env.config();
    let home = config["notion"]["pages"]["analytics_home"]
        .as_str()
        .expect("the empty scenario has a parent page")
        .to_string();
    config["notion"]["pages"]["analytics_home"] = json!(format!(
        "https://www.notion.so/acme/Analytics-Home-{}?pvs=4",
        home.replace('-', "")
    ));
    env.write_config(&config);
    let out = env.ph_sync(&["setup"]);
    assert!(out.contains("Events: created the database"), "{out}");
    let databases = env.state()["notion"]["databases"].clone();
    let databases = databases.as_array().unwrap();
    assert_eq!(databases.len(), 4, "{databases:?}");
    for db in databases {
        assert_eq!(db["parent"]["page_id"], json!(home), "{db}");
    }
    // A second run adopts them: the parent page compares equal whatever its spelling.
    let again = env.ph_sync(&["setup"]);
    assert!(!again.contains("created the database"), "{again}");
    assert_eq!(
        env.state()["notion"]["databases"].as_array().unwrap().len(),
        4
    );
}

#[test]
fn what_is_not_a_notion_id_is_a_config_error_naming_the_key_and_the_fix() {
    let env = TestEnv::start("demo");
    let cases = [
        (
            "databases",
            "events",
            "notion_database_id_for_events",
            "is not a Notion ID",
        ),
        (
            "databases",
            "feature_flags",
            "https://example.com/Flags-1f2e3d4c5b6a47988776655443322110",
            "is not a Notion URL",
        ),
        (
            "pages",
            "analytics_home",
            "https://www.notion.so/acme/1f2e3d4c5b6a47988776655443322110?v=9a8b7c6d5e4f40312233445566778899&p=0a0b0c0d0e0f40112233445566778899&pm=s",
            "opened as a peek",
        ),
    ];
    let original = env.config();
    for (section, key, value, says) in cases {
        let mut config = original.clone();
        config["notion"][section][key] = json!(value);
        env.write_config(&config);
        let out = env.kodo().args(["ph-sync", "status"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("`notion.{section}.{key}`")),
            "{stderr}"
        );
        assert!(stderr.contains(says), "{stderr}");
        assert!(stderr.contains("hint: "), "{stderr}");
    }
}
