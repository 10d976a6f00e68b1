//! The real pipeline without the binary: kodo-api's PostHog client against the emulator,
//! straight into kodo-core's normaliser — the path on which shared experiment metrics were
//! once lost (a second set of PostHog types joined by a JSON round trip).

use std::time::Duration;

use kodo::model::PropValue;
use kodo::sync::normalize::{Normalizer, People, Rules, ScanFacts};
use kodo_api::{ClientOptions, PostHogClient, RateLimits, Secret};
use kodo_sandbox::{Sandbox, Scenario};
use serde_json::json;

use crate::common::fast_options;

/// The demo, with experiment 32 measured by the shared metric 41 as its *primary* metric and
/// no inline metric of its own.
fn scenario() -> Scenario {
    let mut scenario = Scenario::builtin("demo").expect("the demo scenario");
    let x = scenario
        .posthog
        .experiments
        .iter_mut()
        .find(|x| x["id"] == 32)
        .expect("experiment 32 in the demo");
    x.insert("metrics".into(), json!([]));
    x.insert(
        "saved_metrics_ids".into(),
        json!([{"id": 41, "metadata": {"type": "primary"}}]),
    );
    scenario
}

#[tokio::test]
async fn saved_metrics_reach_the_experiment_rows() {
    let scenario = scenario();
    let key = scenario.posthog_key().to_owned();
    let project = scenario.posthog.project_id.to_string();
    let sandbox = Sandbox::start(scenario, fast_options()).await.unwrap();
    let client = PostHogClient::new(
        &sandbox.base_url(),
        &project,
        Secret::new(key),
        ClientOptions {
            limits: RateLimits::paced(1_000.0, 1_000),
            max_retry_delay: Some(Duration::from_millis(10)),
            ..ClientOptions::posthog()
        },
    )
    .unwrap();
    let experiments = client.experiments().await.unwrap();
    sandbox.shutdown().await;

    let (rules, people, scan) = (Rules::default(), People::default(), ScanFacts::default());
    let n = Normalizer {
        region_url: "https://us.posthog.com",
        project_id: &project,
        rules: &rules,
        people: &people,
        scan: &scan,
    };
    let records = n.experiments(&experiments);
    let prop = |id: i64, name: &str| {
        let x = experiments.iter().find(|x| x.id == id).unwrap();
        records
            .iter()
            .find(|d| d.record.key == x.name.trim())
            .and_then(|d| d.record.props.get(name).cloned())
    };
    assert_eq!(
        prop(32, "Primary Metric"),
        Some(PropValue::Text("Pricing page bounce rate".into())),
        "a primary saved metric is the experiment's Primary Metric"
    );
    let secondary = prop(31, "Secondary Metrics");
    assert!(
        matches!(&secondary, Some(PropValue::Text(t)) if t.contains("Pricing page bounce rate")),
        "a secondary saved metric is listed among Secondary Metrics: {secondary:?}"
    );
}
