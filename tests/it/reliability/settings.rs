//! Bounded cost for any config: a numeric setting outside its sane range is an error with the
//! file, the key and the fix (never a run that sleeps forever), and thousands of unknown keys
//! are one summarised warning, not megabytes of them.

use crate::common::TestEnv;
use serde_json::json;

#[test]
fn a_near_zero_rate_limit_is_refused_before_any_request() {
    let env = TestEnv::start("demo");
    let mut config = env.config();
    config["notion"]["rateLimit"] = json!(1e-9);
    env.write_config(&config);
    env.clear_requests();
    let out = env.kodo().args(["ph-sync", "status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "`notion.rateLimit`: 0.000000001 is outside the sane range 0.1–100 requests per second"
        ),
        "{err}"
    );
    assert!(err.contains("config.json"), "{err}");
    assert!(err.contains("hint: "), "{err}");
    assert!(env.requests().is_empty(), "nothing was sent");
}

#[test]
fn thousands_of_unknown_keys_are_one_summarised_warning() {
    let env = TestEnv::start("demo");
    let mut config = env.config();
    for i in 0..5_000 {
        config["sync"][format!("unknown_{i}")] = json!(true);
    }
    env.write_config(&config);
    let out = env.kodo().args(["scan"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(err.matches("unknown key `").count(), 10, "{err}");
    assert!(
        err.contains("and 4,990 more unknown keys are ignored (the first 10 are listed above)"),
        "{err}"
    );
    assert!(
        err.len() < 5_000,
        "a few lines, not one per key: {} bytes",
        err.len()
    );
}
