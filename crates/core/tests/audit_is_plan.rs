//! Property: the audit is the import's plan. On random scenarios (PostHog records, Notion rows
//! that agree, disagree, lack values or were edited by people, fingerprints of what kodo last
//! wrote, with and without `--overwrite`), every write the plan would make is exactly one
//! finding of the audit, and every finding is a write — except the edits people made to
//! derived text, which are reported as kept and never written.
//!
//! The scenarios come from a small seeded generator (xorshift), not a property-testing crate:
//! the inputs are plain data, a failing seed is printed and replays exactly, and kodo-core
//! keeps no dependency beyond serde and time.

use std::collections::{BTreeMap, BTreeSet};

use kodo_core::model::{self, MatchKeys, NotionRow, PropType, PropValue, Record, Resource};
use kodo_core::normalize::Desired;
use kodo_core::plan::{self, PlanInput, PlanOptions, Step, Written};
use kodo_core::report::Findings;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A value of `spec`'s type from a small pool, so rows and records often agree.
fn value(rng: &mut Rng, spec: &model::PropSpec) -> Option<PropValue> {
    Some(match spec.kind {
        PropType::Title | PropType::RichText => {
            PropValue::Text(["alpha", "beta", "50% of all users"][rng.below(3)].into())
        }
        PropType::Select => {
            let options = spec.options;
            if options.is_empty() {
                return None;
            }
            PropValue::Select(Some(options[rng.below(options.len())].into()))
        }
        PropType::Number => PropValue::Number([Some(0.0), Some(25.0), Some(100.0)][rng.below(3)]),
        PropType::Checkbox => PropValue::Checkbox(rng.chance(50)),
        PropType::Date => PropValue::Date(Some(["2026-01-01", "2026-02-02"][rng.below(2)].into())),
        _ => return None,
    })
}

fn row_of(resource: Resource, page: &str, props: &BTreeMap<&'static str, PropValue>) -> NotionRow {
    let mut raw = serde_json::Map::new();
    for (name, v) in props {
        let spec = resource.schema().property(name).unwrap();
        let mut encoded = model::encode(spec, v);
        encoded["type"] = serde_json::json!(spec.kind.notion_name());
        raw.insert(name.to_string(), encoded);
    }
    model::decode_page(resource, page, Some("https://notion.so/x"), &raw)
}

fn scenario(seed: u64) -> (PlanInput, PlanOptions) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let resource = Resource::ALL[rng.below(4)];
    let schema = resource.schema();
    let title = schema.properties[0].name;
    let status_prop = resource.schema().status_property();
    let mut desired = Vec::new();
    let mut rows = Vec::new();
    let mut written = Written::new();
    for i in 0..(1 + rng.below(6)) {
        let key = format!("k{i}");
        let mut props = BTreeMap::new();
        props.insert(title, PropValue::Text(key.clone()));
        for spec in &schema.properties[1..] {
            if rng.chance(60) {
                if let Some(v) = value(&mut rng, spec) {
                    props.insert(spec.name, v);
                }
            }
        }
        let status = status_prop
            .and_then(|s| props.get(s))
            .and_then(|v| v.as_text().map(str::to_string));
        let soft: BTreeSet<&'static str> = props
            .keys()
            .copied()
            .filter(|name| *name != title && rng.chance(10))
            .collect();
        let d = Desired {
            record: Record {
                resource,
                key: key.clone(),
                keys: MatchKeys {
                    primary: Some(key.clone()),
                    fallback: Some(key.clone()),
                },
                status,
                props: props.clone(),
            },
            soft,
            detail: None,
            deleted: false,
            posthog_id: None,
            creator: None,
            serving: None,
        };
        if rng.chance(75) {
            // Notion's row: a copy with some values changed, emptied or missing.
            let mut have = BTreeMap::new();
            have.insert(title, PropValue::Text(key.clone()));
            for spec in &schema.properties[1..] {
                let roll = rng.below(4);
                let v = match (roll, props.get(spec.name)) {
                    (0 | 1, Some(v)) => Some(v.clone()),
                    (2, _) => value(&mut rng, spec),
                    _ => None,
                };
                if let Some(v) = v {
                    have.insert(spec.name, v);
                }
            }
            // Fingerprints: sometimes of Notion's current value (kodo wrote it), sometimes of
            // something else (a person edited it since).
            for spec in schema.properties {
                if spec.ownership == model::Ownership::Derived && rng.chance(50) {
                    let fp = match have.get(spec.name) {
                        Some(v) if rng.chance(70) => model::fingerprint(v),
                        _ => model::fingerprint(&PropValue::Text("older".into())),
                    };
                    written
                        .entry(key.clone())
                        .or_default()
                        .insert(spec.name.to_string(), fp);
                }
            }
            rows.push(row_of(resource, &format!("p{i}"), &have));
        }
        desired.push(d);
    }
    let options = PlanOptions {
        overwrite: rng.chance(20),
    };
    (
        PlanInput {
            resource,
            desired,
            rows,
            maybe_deleted: BTreeSet::new(),
            deleted: BTreeSet::new(),
            writable: None,
            written,
        },
        options,
    )
}

#[test]
fn audit_findings_are_the_plans_writes() {
    for seed in 0..2_000u64 {
        let (input, options) = scenario(seed);
        let resource = input.resource;
        let p = plan::plan(input, options);
        let status_prop = resource.schema().status_property();

        let mut writes: BTreeSet<(String, String)> = BTreeSet::new();
        let mut kept: BTreeSet<(String, String)> = BTreeSet::new();
        for item in &p.items {
            let key = item.desired.record.key.clone();
            match &item.step {
                Step::Create => {
                    writes.insert((key.clone(), "(create)".into()));
                }
                Step::Update { changes, .. } => {
                    for c in changes {
                        writes.insert((key.clone(), c.property.to_string()));
                    }
                }
                Step::Unchanged { .. } => {}
            }
            for c in &item.kept {
                kept.insert((key.clone(), c.property.to_string()));
            }
        }

        let f = Findings::from_plans(
            std::slice::from_ref(&p),
            &kodo_core::hygiene::Directory::unreadable(),
        );
        let mut found: BTreeSet<(String, String)> = BTreeSet::new();
        for x in &f.undocumented {
            found.insert((x.key.clone(), "(create)".into()));
        }
        for x in &f.mismatches {
            found.insert((x.key.clone(), status_prop.unwrap().to_string()));
        }
        for x in &f.stale {
            assert!(
                !x.changes.is_empty(),
                "seed {seed}: a stale finding lists its changes"
            );
            for c in &x.changes {
                found.insert((x.key.clone(), c.property.to_string()));
            }
        }
        assert_eq!(
            found, writes,
            "seed {seed}: the audit's findings are the plan's writes"
        );

        let mut edited: BTreeSet<(String, String)> = BTreeSet::new();
        for x in &f.edited {
            for c in &x.changes {
                edited.insert((x.key.clone(), c.property.to_string()));
            }
        }
        assert_eq!(edited, kept, "seed {seed}: every kept edit is reported");
        assert!(
            writes.is_disjoint(&kept),
            "seed {seed}: a kept edit is never written"
        );
        if options.overwrite {
            assert!(kept.is_empty(), "seed {seed}: --overwrite keeps nothing");
        }
    }
}
