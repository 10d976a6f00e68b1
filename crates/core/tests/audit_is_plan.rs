//! Property: the audit is the import's plan. On random scenarios (see [`scenario`]: stale
//! facts, status mismatches, values emptied or missing, a property removed from the data
//! source or removed and re-added, derived text kodo wrote or a person edited since, flags
//! deleted in PostHog, duplicates and orphans of every reason, with and without
//! `--overwrite`), every write the plan would make is exactly one finding of the audit, and
//! every finding is a write — except the edits people made to derived text, which are
//! reported as kept and never written, and the rows import leaves alone (orphans, planned,
//! retired), each reported with its reason. Independently of the audit, the plan never writes
//! a property the data source lacks, nor replaces a value a person wrote without
//! `--overwrite`. The generator's reach is counted, so losing a case fails the test.
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

/// A non-title property of `schema`, at random.
fn some_property(rng: &mut Rng, schema: &model::DatabaseSchema) -> &'static str {
    schema.properties[1 + rng.below(schema.properties.len() - 1)].name
}

/// A random scenario for one resource: PostHog's records (some of them flags deleted in
/// PostHog, documented `archived`); Notion's rows for most of them, each a copy with values
/// changed (stale facts, status mismatches), emptied or missing, sometimes twice (a duplicate);
/// fingerprints of what kodo last wrote to derived text (Targeting, Name, Purpose …), of the
/// row's value (kodo wrote it) or of something else (a person edited it since); rows no record
/// has (orphans: planned, retired, deleted in PostHog, may have been deleted, no match); a
/// property removed from the data source (not writable), or removed and re-added by `setup`
/// (empty in every row); with and without `--overwrite`.
fn scenario(seed: u64) -> (PlanInput, PlanOptions) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let resource = Resource::ALL[rng.below(4)];
    let schema = resource.schema();
    let title = schema.properties[0].name;
    let status_prop = resource.schema().status_property();
    let mut removed: BTreeSet<&'static str> = BTreeSet::new();
    for _ in 0..rng.below(3) {
        if rng.chance(40) {
            removed.insert(some_property(&mut rng, schema));
        }
    }
    let readded: Option<&'static str> = rng
        .chance(30)
        .then(|| some_property(&mut rng, schema))
        .filter(|p| !removed.contains(p));
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
        // A flag deleted in PostHog (found by ID): documented `archived`, not counted.
        let deleted = schema
            .deletion
            .as_ref()
            .is_some_and(|d| d.readable_when_deleted)
            && rng.chance(15);
        if let (true, Some(status), Some(l)) = (deleted, status_prop, &schema.lifecycle) {
            props.insert(status, PropValue::Select(Some(l.retired.into())));
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
            deleted,
            posthog_id: None,
            creator: None,
            serving: None,
        };
        if rng.chance(75) {
            // Notion's row: a copy with some values changed, emptied or missing.
            let mut have = BTreeMap::new();
            have.insert(title, PropValue::Text(key.clone()));
            for spec in &schema.properties[1..] {
                if Some(spec.name) == readded {
                    continue;
                }
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
            if rng.chance(10) {
                // A second row documenting the same resource.
                rows.push(row_of(resource, &format!("p{i}-again"), &have));
            }
        }
        desired.push(d);
    }
    // Rows no PostHog record has: their status decides planned, retired or orphaned.
    let mut deleted_keys = BTreeSet::new();
    let mut maybe_deleted = BTreeSet::new();
    for j in 0..rng.below(3) {
        let key = format!("o{j}");
        let mut have = BTreeMap::new();
        have.insert(title, PropValue::Text(key.clone()));
        for spec in &schema.properties[1..] {
            if rng.chance(50) {
                if let Some(v) = value(&mut rng, spec) {
                    have.insert(spec.name, v);
                }
            }
        }
        let row = row_of(resource, &format!("o{j}"), &have);
        if let Some(primary) = row.record.keys.primary.clone() {
            match rng.below(4) {
                0 => {
                    deleted_keys.insert(primary);
                }
                1 => {
                    maybe_deleted.insert(primary);
                }
                _ => {}
            }
        }
        rows.push(row);
    }
    let writable = (!removed.is_empty() || rng.chance(50)).then(|| {
        schema
            .properties
            .iter()
            .map(|p| p.name)
            .filter(|name| !removed.contains(name))
            .collect()
    });
    let options = PlanOptions {
        overwrite: rng.chance(20),
    };
    (
        PlanInput {
            resource,
            desired,
            rows,
            maybe_deleted,
            deleted: deleted_keys,
            writable,
            written,
        },
        options,
    )
}

/// What the generator covers, counted over the seeds (so a generator change that loses a
/// case shows).
#[derive(Debug, Default)]
struct Coverage {
    creates: usize,
    stale: usize,
    mismatches: usize,
    kept_edits: usize,
    with_overwrite: usize,
    deleted_flags_archived: usize,
    orphans: BTreeMap<String, usize>,
    planned: usize,
    retired: usize,
    unwritable_left_alone: usize,
    /// Scenarios where a value is written into an empty property (a re-added property is
    /// empty in every row).
    empty_filled: usize,
}

#[test]
fn audit_findings_are_the_plans_writes() {
    let mut seen = Coverage::default();
    for seed in 0..3_000u64 {
        let (input, options) = scenario(seed);
        let resource = input.resource;
        let writable = input.writable.clone();
        let page_ids: BTreeSet<String> = input.rows.iter().map(|r| r.page_id.clone()).collect();
        let deleted_records: BTreeSet<String> = input
            .desired
            .iter()
            .filter(|d| d.deleted)
            .map(|d| d.record.key.clone())
            .collect();
        let removed_wanted = input.desired.iter().any(|d| {
            d.record
                .props
                .keys()
                .any(|p| writable.as_ref().is_some_and(|w| !w.contains(p)))
        });
        let fingerprints = input.written.clone();
        let p = plan::plan(input, options);
        let status_prop = resource.schema().status_property();

        let mut writes: BTreeSet<(String, String)> = BTreeSet::new();
        let mut kept: BTreeSet<(String, String)> = BTreeSet::new();
        let mut matched: Vec<String> = Vec::new();
        for item in &p.items {
            let key = item.desired.record.key.clone();
            match &item.step {
                Step::Create => {
                    assert!(
                        !item.desired.deleted,
                        "seed {seed}: no row is created for a flag PostHog deleted"
                    );
                    writes.insert((key.clone(), "(create)".into()));
                    seen.creates += 1;
                }
                Step::Update { changes, page_id } => {
                    matched.push(page_id.clone());
                    for c in changes {
                        // Independently of the audit: a value someone wrote is replaced only
                        // with `--overwrite`, or when it is derived text kodo wrote itself.
                        let spec = resource.schema().property(c.property).unwrap();
                        if !c.from.is_empty() && !options.overwrite {
                            let kodo_wrote = fingerprints.get(&key).and_then(|w| w.get(c.property))
                                == Some(&model::fingerprint(&c.from));
                            assert!(
                                !item.desired.soft.contains(c.property)
                                    && match spec.ownership {
                                        model::Ownership::Human => false,
                                        model::Ownership::Derived => kodo_wrote,
                                        model::Ownership::Kodo => true,
                                    },
                                "seed {seed}: {key}'s {} ({:?}) is overwritten",
                                c.property,
                                spec.ownership
                            );
                        }
                        assert!(
                            writable.as_ref().is_none_or(|w| w.contains(c.property)),
                            "seed {seed}: {} is not in the data source, yet written",
                            c.property
                        );
                        writes.insert((key.clone(), c.property.to_string()));
                        if item.desired.deleted && Some(c.property) == status_prop {
                            seen.deleted_flags_archived += 1;
                        }
                    }
                }
                Step::Unchanged { page_id } => matched.push(page_id.clone()),
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
            assert!(
                !deleted_records.contains(&x.key),
                "seed {seed}: a deleted flag is not undocumented"
            );
            found.insert((x.key.clone(), "(create)".into()));
        }
        for x in &f.mismatches {
            found.insert((x.key.clone(), status_prop.unwrap().to_string()));
            seen.mismatches += 1;
        }
        for x in &f.stale {
            assert!(
                !x.changes.is_empty(),
                "seed {seed}: a stale finding lists its changes"
            );
            seen.stale += 1;
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
        seen.kept_edits += kept.len();
        if options.overwrite {
            assert!(kept.is_empty(), "seed {seed}: --overwrite keeps nothing");
        }

        // Every row is accounted for exactly once: matched (written or up to date), or
        // reported as orphaned, planned or retired, which import leaves alone and the audit
        // says why.
        let mut accounted: Vec<String> = matched;
        accounted.extend(p.orphans.iter().map(|o| o.row.page_id.clone()));
        accounted.extend(p.planned.iter().map(|r| r.page_id.clone()));
        accounted.extend(p.retired.iter().map(|r| r.page_id.clone()));
        let unique: BTreeSet<String> = accounted.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            accounted.len(),
            "seed {seed}: a row counted twice"
        );
        assert_eq!(unique, page_ids, "seed {seed}: every row is accounted for");
        let orphans = |reasons: Vec<(String, Option<plan::OrphanReason>)>| {
            let mut r: Vec<(String, String)> = reasons
                .into_iter()
                .map(|(k, why)| (k, format!("{why:?}")))
                .collect();
            r.sort();
            r
        };
        assert_eq!(
            orphans(
                f.orphaned
                    .iter()
                    .map(|x| (x.key.clone(), x.reason))
                    .collect()
            ),
            orphans(
                p.orphans
                    .iter()
                    .map(|o| (o.row.record.key.clone(), Some(o.reason)))
                    .collect()
            ),
            "seed {seed}: every orphan is reported, with its reason"
        );
        assert_eq!(
            f.planned.len(),
            p.planned.len(),
            "seed {seed}: every planned row is reported"
        );
        for o in &p.orphans {
            *seen.orphans.entry(format!("{:?}", o.reason)).or_default() += 1;
        }
        seen.planned += p.planned.len();
        seen.retired += p.retired.len();
        if options.overwrite {
            seen.with_overwrite += 1;
        }
        if removed_wanted {
            seen.unwritable_left_alone += 1;
        }
        if p.items.iter().any(|i| {
            matches!(&i.step, Step::Update { changes, .. }
                if changes.iter().any(|c| c.from.is_empty()))
        }) {
            seen.empty_filled += 1;
        }
    }
    eprintln!("{seen:?}");
    // The generator reaches every case (counts over 3,000 seeds).
    assert!(seen.creates > 500, "{seen:?}");
    assert!(seen.stale > 1_000, "{seen:?}");
    assert!(seen.mismatches > 100, "{seen:?}");
    assert!(seen.kept_edits > 50, "{seen:?}");
    assert!(seen.with_overwrite > 100, "{seen:?}");
    assert!(seen.deleted_flags_archived > 30, "{seen:?}");
    for reason in ["NoMatch", "Deleted", "MayHaveBeenDeleted", "Duplicate"] {
        assert!(
            seen.orphans.get(reason).is_some_and(|n| *n > 100),
            "{reason}: {seen:?}"
        );
    }
    assert!(seen.planned > 100 && seen.retired > 100, "{seen:?}");
    assert!(seen.unwritable_left_alone > 200, "{seen:?}");
    assert!(seen.empty_filled > 500, "{seen:?}");
}
