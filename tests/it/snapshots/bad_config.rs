//! The error of each kind of bad configuration the other snapshots do not show: a `--config`
//! path that does not exist, a required key that is missing, and each kind of invalid value
//! (an unsupported auth method, an unknown hygiene rule, a number out of range, a number of
//! days that is not whole, a URL that is not one, bad scan settings).

use serde_json::{json, Value};

use super::{check, run};
use crate::common::TestEnv;

fn snap(env: &TestEnv, name: &str, args: &[&str]) {
    let out = run(env.kodo().args(args));
    assert_eq!(out.code, Some(2), "{name}: {}", out.stderr);
    check(name, env.root(), &out);
}

/// A change to the config.
type Edit = fn(&mut Value);

fn edited(change: impl FnOnce(&mut Value)) -> TestEnv {
    let env = TestEnv::start("empty");
    let mut config = env.config();
    change(&mut config);
    env.write_config(&config);
    env
}

#[test]
fn each_bad_config_value_is_named_with_its_fix() {
    let env = TestEnv::start("empty");
    snap(
        &env,
        "config_no_such_file",
        &["ph-sync", "audit", "--config", "elsewhere/kodo.json"],
    );
    let cases: [(&str, Edit); 7] = [
        ("config_missing_project_id", |c| {
            c["posthog"]
                .as_object_mut()
                .expect("posthog")
                .remove("project_id");
        }),
        ("config_unsupported_auth_method", |c| {
            c["notion"]["authMethod"] = json!("oauth");
        }),
        ("config_unknown_hygiene_rule", |c| {
            c["sync"]["hygiene"] = json!({"missing-owners": "error"});
        }),
        ("config_rate_limit_out_of_range", |c| {
            c["notion"]["rateLimit"] = json!({"requestsPerWindow": 0, "windowSeconds": 60});
        }),
        ("config_days_not_whole", |c| {
            c["sync"]["cleanup_after_days"] = json!(2.5);
        }),
        ("config_url_not_a_url", |c| {
            c["posthog"]["region_url"] = json!("us.posthog.com");
        }),
        ("config_bad_scan_wrapper", |c| {
            c["scan"] = json!({"wrappers": [{"call": ""}]});
        }),
    ];
    for (name, change) in cases {
        let env = edited(change);
        snap(&env, name, &["ph-sync", "audit"]);
    }
}
