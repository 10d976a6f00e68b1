//! Property keys read from each capture's properties argument (issue 14 item 2), per
//! language: closed sets (every key visible), open sets (something the scan cannot see into),
//! and look-alikes that must not be read as properties.

use kodo_scan::{scan_file_text, PropertySet, ScanSettings};

/// A property set as names and `open`.
type Set = Option<(Vec<String>, bool)>;

/// `(event key, property names, open)` of each capture in `text`, in order.
fn props(path: &str, text: &str) -> Vec<(String, Set)> {
    props_with(path, text, &ScanSettings::default())
}

fn props_with(path: &str, text: &str, settings: &ScanSettings) -> Vec<(String, Set)> {
    scan_file_text(path, text, settings)
        .into_iter()
        .map(|r| {
            let key = r.key.or(r.identifier).unwrap_or_default();
            let set = r.properties.map(|PropertySet { keys, open }| {
                (keys.into_iter().map(|k| k.name).collect(), open)
            });
            (key, set)
        })
        .collect()
}

fn closed(keys: &[&str]) -> Set {
    Some((keys.iter().map(|k| k.to_string()).collect(), false))
}

fn open(keys: &[&str]) -> Set {
    Some((keys.iter().map(|k| k.to_string()).collect(), true))
}

fn assert_props(path: &str, text: &str, want: &[(&str, Set)]) {
    let got = props(path, text);
    let want: Vec<(String, Set)> = want
        .iter()
        .map(|(k, s)| (k.to_string(), s.clone()))
        .collect();
    assert_eq!(got, want, "{path}");
}

#[test]
fn js_object_literals_shorthand_quoted_computed_and_spreads() {
    assert_props(
        "web/checkout.ts",
        r#"
const KEYS = { plan: "plan_name" } as const;
const base = { source: "web" };
posthog.capture("checkout", { plan, amount_cents: 1, "quoted-key": 2, [KEYS.plan]: 3, ...base });
posthog.capture("typed", { a: 1 } as Props);
posthog.capture("no_props");
posthog.capture("nulled", null);
posthog.captureTyped("typed_call", { t: 1 });
"#,
        &[
            (
                "checkout",
                closed(&["amount_cents", "plan", "plan_name", "quoted-key", "source"]),
            ),
            ("typed", closed(&["a"])),
            ("no_props", None),
            ("nulled", None),
            ("typed_call", closed(&["t"])),
        ],
    );
}

#[test]
fn js_variables_are_followed_with_the_keys_added_later() {
    assert_props(
        "web/a.js",
        r#"
const props = { x: 1 };
props.y = 2;
props["z"] = 3;
posthog.capture("bound", props);
function other() {
  const hidden = { secret: 1 };
}
posthog.capture("out_of_scope", hidden);
const merged = { m: 1 };
Object.assign(merged, extra);
posthog.capture("merged", merged);
"#,
        &[
            ("bound", closed(&["x", "y", "z"])),
            ("out_of_scope", open(&[])),
            ("merged", open(&["m"])),
        ],
    );
}

#[test]
fn js_open_sets() {
    assert_props(
        "web/a.ts",
        r#"
function send(extra, k) {
  posthog.capture("spread_unknown", { a: 1, ...extra });
  posthog.capture("param", extra);
  posthog.capture("computed_variable", { [k]: 1 });
}
posthog.capture("call", buildProps());
posthog.capture("member", this.props);
"#,
        &[
            ("spread_unknown", open(&["a"])),
            ("param", open(&[])),
            ("computed_variable", open(&[])),
            ("call", open(&[])),
            ("member", open(&[])),
        ],
    );
}

#[test]
fn posthog_node_properties_member() {
    assert_props(
        "server/a.ts",
        r#"
client.capture({ distinctId: "u", event: "node_ev", properties: { n: 1, plan } });
client.capture({ distinctId: "u", event: "node_none" });
client.captureImmediate({ distinctId: "u", event: "immediate", properties: { i: 1 } });
const data = { distinctId: "u", event: "bound_node", properties: { b: 1 } };
client.capture(data);
"#,
        &[
            ("node_ev", closed(&["n", "plan"])),
            ("node_none", None),
            ("immediate", closed(&["i"])),
            ("bound_node", closed(&["b"])),
        ],
    );
}

#[test]
fn dollar_keys_are_posthogs_own_and_left_out_unless_asked() {
    let text = r#"posthog.capture("e", { $set: { a: 1 }, $current_url: u, plan: 1 });"#;
    assert_props("web/a.ts", text, &[("e", closed(&["plan"]))]);
    let keep: ScanSettings =
        serde_json::from_str(r#"{"include_dollar_properties": true}"#).unwrap();
    assert_eq!(
        props_with("web/a.ts", text, &keep),
        vec![("e".to_string(), closed(&["$current_url", "$set", "plan"]))]
    );
}

#[test]
fn flags_and_look_alikes_have_no_properties() {
    assert_props(
        "web/a.ts",
        r#"
posthog.isFeatureEnabled("flag_a", { send_event: false });
mixpanel.track("mixpanel_event", { a: 1 });
Sentry.captureException(err, { tags: { a: 1 } });
logger.info({ event: "log_line", plan });
"#,
        &[("flag_a", None)],
    );
}

#[test]
fn python_dicts_keywords_and_dict_calls() {
    assert_props(
        "api/a.py",
        r#"
PLAN = "plan_const"
base = {"src": 1}
posthog.capture("e1", distinct_id="u", properties={"plan": p, "n": 1, PLAN: 2})
posthog.capture(user_id, "e2", {"plan": p})
posthog.capture(user_id, "e3", properties=dict(plan=p, **base))
posthog.capture("e4", distinct_id="u")
props = {"a": 1}
props["b"] = 2
posthog.capture("e5", distinct_id=u, properties=props)
posthog.capture("e6", distinct_id=u, properties={"$set": {"a": 1}, "$current_url": 1})
"#,
        &[
            ("e1", closed(&["n", "plan", "plan_const"])),
            ("e2", closed(&["plan"])),
            ("e3", closed(&["plan", "src"])),
            ("e4", None),
            ("e5", closed(&["a", "b"])),
            ("e6", closed(&[])),
        ],
    );
}

#[test]
fn python_open_sets() {
    assert_props(
        "api/a.py",
        r#"
def f(props, **kwargs):
    posthog.capture("o1", distinct_id="u", properties=props)
    posthog.capture("o2", distinct_id="u", properties={"a": 1, **kwargs})
posthog.capture("o3", distinct_id="u", properties=build())
posthog.capture("o4", distinct_id="u", properties={k: v for k, v in x})
posthog.capture("o5", distinct_id="u", properties={UNKNOWN: 1})
props2 = {"a": 1}
props2.update(x)
posthog.capture("o6", distinct_id=u, properties=props2)
"#,
        &[
            ("o1", open(&[])),
            ("o2", open(&["a"])),
            ("o3", open(&[])),
            ("o4", open(&[])),
            ("o5", open(&[])),
            ("o6", open(&["a"])),
        ],
    );
}

#[test]
fn go_new_properties_chains_and_literals() {
    assert_props(
        "main.go",
        r#"
package main

const KeyPlan = "plan_tier"

func a(props posthog.Properties) {
	client.Enqueue(posthog.Capture{DistinctId: "u", Event: "g1", Properties: posthog.NewProperties().Set("plan", p).Set(KeyPlan, 1)})
	client.Enqueue(posthog.Capture{DistinctId: "u", Event: "g2", Properties: posthog.Properties{"plan": p}})
	client.Enqueue(posthog.Capture{DistinctId: "u", Event: "g3", Properties: props})
	client.Enqueue(posthog.Capture{DistinctId: "u", Event: "g4", Properties: map[string]interface{}{"a": 1}})
	client.Enqueue(posthog.Capture{DistinctId: "u", Event: "g5"})
	client.Enqueue(posthog.Capture{DistinctId: "u", Event: "g6", Properties: posthog.NewProperties().Merge(props)})
}

func b() {
	props := posthog.NewProperties().
		Set("a", 1)
	props.Set("b", 2)
	client.Enqueue(posthog.Capture{
		DistinctId: "u",
		Event:      "g7",
		Properties: props,
	})
}
"#,
        &[
            ("g1", closed(&["plan", "plan_tier"])),
            ("g2", closed(&["plan"])),
            ("g3", open(&[])),
            ("g4", closed(&["a"])),
            ("g5", None),
            ("g6", open(&[])),
            ("g7", closed(&["a", "b"])),
        ],
    );
}

#[test]
fn ruby_hashes() {
    assert_props(
        "app/a.rb",
        r#"
posthog.capture(distinct_id: "u", event: "r1", properties: { plan: "x", "n" => 1, :sym => 2 })
posthog.capture({ distinct_id: "u", event: "r2", properties: props })
posthog.capture(distinct_id: "u", event: "r3", properties: { a: 1, **extra })
posthog.capture distinct_id: "u", event: "r4", properties: { b: 1 }
posthog.capture(distinct_id: "u", event: "r5")
"#,
        &[
            ("r1", closed(&["n", "plan", "sym"])),
            ("r2", open(&[])),
            ("r3", open(&["a"])),
            ("r4", closed(&["b"])),
            ("r5", None),
        ],
    );
}

#[test]
fn php_arrays() {
    assert_props(
        "app/a.php",
        r#"<?php
PostHog::capture(['distinctId' => 'u', 'event' => 'p1', 'properties' => ['plan' => $p, 'n' => 1]]);
$props = ['a' => 1];
$props['b'] = 2;
PostHog::capture(['distinctId' => 'u', 'event' => 'p2', 'properties' => $props]);
PostHog::capture(['distinctId' => 'u', 'event' => 'p3', 'properties' => ['a' => 1, ...$extra]]);
PostHog::capture(array('distinctId' => 'u', 'event' => 'p4', 'properties' => array('plan' => 1)));
PostHog::capture(['distinctId' => 'u', 'event' => 'p5', 'properties' => [$key => 1]]);
"#,
        &[
            ("p1", closed(&["n", "plan"])),
            ("p2", closed(&["a", "b"])),
            ("p3", open(&["a"])),
            ("p4", closed(&["plan"])),
            ("p5", open(&[])),
        ],
    );
}

#[test]
fn each_key_once_at_its_first_line() {
    let refs = scan_file_text(
        "web/a.ts",
        "posthog.capture('e', {\n  plan: 1,\n  ...{ plan: 2, b: 3 },\n})\n",
        &ScanSettings::default(),
    );
    let set = refs[0].properties.clone().unwrap();
    let keys: Vec<(String, u32)> = set.keys.into_iter().map(|k| (k.name, k.line)).collect();
    assert_eq!(keys, vec![("b".into(), 3), ("plan".into(), 2)]);
    assert!(!set.open);
}

#[test]
fn conditional_and_default_values_give_every_branch() {
    assert_props(
        "web/a.ts",
        r#"
posthog.capture("c1", { a: 1, ...(signedIn ? { user: u } : { $process_person_profile: false }) });
posthog.capture("c2", flag ? { x: 1 } : { y: 2 });
posthog.capture("c3", { ...(extra ?? {}), z: 1 });
posthog.capture("c4", { ...(debug && { trace: t }) });
"#,
        &[
            ("c1", closed(&["a", "user"])),
            ("c2", closed(&["x", "y"])),
            ("c3", open(&["z"])),
            ("c4", closed(&["trace"])),
        ],
    );
    assert_props(
        "api/a.py",
        "posthog.capture('p1', distinct_id=u, properties={'a': 1} if c else {'b': 2})\n",
        &[("p1", closed(&["a", "b"]))],
    );
}

/// `(event key, property names, open)` of every reference of a scanned tree, sorted.
fn scanned(files: &[(&str, &str)]) -> Vec<(String, String, Set)> {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let report = kodo_scan::scan(dir.path(), &ScanSettings::default()).unwrap();
    let mut out: Vec<(String, String, Set)> = report
        .keys
        .iter()
        .flat_map(|k| {
            k.references.iter().map(|r| {
                (
                    k.key.clone(),
                    format!("{}:{}", r.path, r.line),
                    r.properties.clone().map(|PropertySet { keys, open }| {
                        (keys.into_iter().map(|k| k.name).collect(), open)
                    }),
                )
            })
        })
        .collect();
    out.sort();
    out
}

#[test]
fn wrappers_forward_their_properties_parameter() {
    let got = scanned(&[
        (
            "web/lib/analytics.ts",
            r#"import posthog from "posthog-js";
export const capture = (event: string, properties?: Record<string, unknown>) => {
  posthog.capture(event, properties);
};
export function track(event: string, props: Record<string, unknown>) {
  posthog.capture(event, { ...props, app_version: VERSION, $lib: "web" });
}
export function ping(event: string) {
  posthog.capture(event);
}
"#,
        ),
        (
            "web/pages/home.ts",
            r#"import { capture, track, ping } from "../lib/analytics";
capture("home_viewed", { tab: "feed", count: 2 });
capture("home_left");
capture("home_scrolled", buildProps());
track("home_clicked", { target });
ping("home_pinged");
"#,
        ),
    ]);
    let want: Vec<(String, String, Set)> = vec![
        (
            "home_clicked".into(),
            "web/pages/home.ts:5".into(),
            closed(&["app_version", "target"]),
        ),
        ("home_left".into(), "web/pages/home.ts:3".into(), None),
        ("home_pinged".into(), "web/pages/home.ts:6".into(), None),
        (
            "home_scrolled".into(),
            "web/pages/home.ts:4".into(),
            open(&[]),
        ),
        (
            "home_viewed".into(),
            "web/pages/home.ts:2".into(),
            closed(&["count", "tab"]),
        ),
    ];
    assert_eq!(got, want);
}

#[test]
fn python_kwargs_wrappers_send_the_call_sites_keyword_arguments() {
    let got = scanned(&[
        (
            "app/analytics.py",
            r#"import posthog


class Analytics:
    def event(self, name, main_model=None, **kwargs):
        properties = {}
        if main_model:
            properties["main_model"] = main_model
        properties.update(kwargs)
        posthog.capture(name, distinct_id=self.user_id, properties=properties)
"#,
        ),
        (
            "app/main.py",
            r#"from app.analytics import Analytics

analytics = Analytics()
analytics.event("launched", main_model=m, edit_format="diff")
analytics.event("exited", **extra)
"#,
        ),
    ]);
    let want: Vec<(String, String, Set)> = vec![
        (
            "exited".into(),
            "app/main.py:5".into(),
            open(&["main_model"]),
        ),
        (
            "launched".into(),
            "app/main.py:4".into(),
            closed(&["edit_format", "main_model"]),
        ),
    ];
    assert_eq!(got, want);
}
