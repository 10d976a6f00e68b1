//! The plugin's JSON contract, `plugin/json-contract.md`, is kept true: a populated sample of
//! every wire type a command or hook prints is serialised, and the field paths it has are
//! exactly the ones the document's table for that type lists (no field missing, none that
//! does not exist). The samples are struct literals, so a field added to a wire type does
//! not compile until it is added here, and then fails until the document names it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use kodo::hooks::precommit::check::{Problem, Severity, Waiver};
use kodo::hooks::wire::{ClaudeHookOutput, PreCommit, PreCommitFinding, PreCommitUnscanned};
use kodo_core::code::{DeadState, System};
use kodo_core::hygiene::{Level, Rule};
use kodo_core::model::Resource;
use kodo_core::plan::OrphanReason;
use kodo_core::properties::{Fix, Source};
use kodo_core::property_schema::PropertyType;
use kodo_core::wire::*;
use kodo_scan::wire::Scan;
use kodo_scan::{
    Commit, KeyReport, Kind, PropertyKey, PropertySet, Reference, Side, SkipReason, Skipped,
    WrapperReport,
};

const DOCUMENT: &str = "plugin/json-contract.md";

/// Property names a sample uses as keys (Notion's names, which vary by resource).
const PROPERTY_KEYS: [&str; 2] = ["Flag Key", "Owner"];

fn change() -> Change {
    Change {
        property: "Rollout %".into(),
        from: json!(10),
        to: json!(25),
    }
}

fn finding() -> Finding {
    Finding {
        resource: Resource::Flags,
        key: "beta_ai_assistant".into(),
        id: Some(7),
        notion_status: Some("active".into()),
        posthog_status: Some("active".into()),
        detail: "Rollout %".into(),
        reason: Some(OrphanReason::MayHaveBeenDeleted),
        url: Some("https://www.notion.so/x".into()),
        changes: vec![change()],
    }
}

fn counts() -> Counts {
    Counts {
        posthog: 2,
        notion: 1,
        undocumented: 1,
        orphaned: 0,
        mismatches: 0,
        stale: 0,
        planned: 0,
        edited: 0,
    }
}

fn audit() -> Audit {
    Audit {
        version: VERSION,
        generated_at: "2026-12-07T10:00:00Z".into(),
        summary: PerResource(vec![(Resource::Flags, counts())]),
        undocumented: vec![finding()],
        orphaned: vec![finding()],
        mismatches: vec![finding()],
        stale: vec![finding()],
        planned: vec![finding()],
        edited: vec![finding()],
        code: Some(Code {
            scanned: true,
            reason: Some("no source files".into()),
            files_scanned: 3,
            in_code_only: vec![InCodeOnly {
                kind: Kind::Event,
                key: "user_signed_up".into(),
                missing: vec![System::Notion],
                references: vec!["web/app.ts:5".into()],
            }],
            unreferenced: vec![Unreferenced {
                resource: Resource::Events,
                key: "old_event".into(),
            }],
            dead_flag_references: vec![DeadFlag {
                key: "release_old_navbar".into(),
                posthog_state: DeadState::Deleted,
                references: vec!["web/nav.ts:9".into()],
            }],
            cleanup_candidates: vec![Cleanup {
                key: "release_done".into(),
                since: "2026-01-02".into(),
                references: vec!["web/done.ts:1".into()],
            }],
            dynamic: vec![Dynamic {
                kind: Kind::Flag,
                path: "web/x.ts".into(),
                line: 4,
                snippet: "isEnabled(name)".into(),
                reason: "unresolved identifier `name`".into(),
            }],
        }),
        in_sync: false,
        hygiene: vec![HygieneFinding {
            resource: Resource::Flags,
            key: "beta_ai_assistant".into(),
            rule: Rule::MissingOwner,
            level: Level::Error,
            detail: "No Owner".into(),
            url: Some("https://www.notion.so/x".into()),
            owner: Some("Maya Chen".into()),
            references: vec!["web/x.ts:4".into()],
        }],
        hygiene_errors: 1,
        properties: vec![PropertyFinding {
            event: "user_signed_up".into(),
            kind: kodo_core::properties::Kind::TypeMismatch,
            property: Some("plan".into()),
            seen_by: vec![Source::Code],
            references: vec!["web/app.ts:5".into()],
            schema_type: Some("string".into()),
            posthog_type: Some(PropertyType::Number),
            fix: Fix::TypeIsPeoples,
            detail: "documented as string".into(),
            url: Some("https://www.notion.so/e".into()),
        }],
        property_errors: 1,
        tracking_plan: Some(TrackingPlan {
            page_id: "p".into(),
            in_sync: false,
            missing: false,
            changed: vec!["Events".into()],
            blocks_to_write: 3,
        }),
    }
}

fn status() -> Status {
    Status {
        version: VERSION,
        generated_at: "2026-12-07T10:00:00Z".into(),
        resources: PerResource(vec![(
            Resource::Flags,
            ResourceStatus {
                counts: counts(),
                last_sync: Some(LastSync {
                    at: "2026-12-06T09:00:00Z".into(),
                    action: "import".into(),
                }),
            },
        )]),
        in_sync: true,
    }
}

fn import() -> Import {
    let write = ImportWrite {
        resource: Resource::Flags,
        key: "k".into(),
        action: "update".into(),
    };
    Import {
        version: VERSION,
        dry_run: false,
        plan: PerResource(vec![(
            Resource::Flags,
            Plan {
                create: vec!["new_flag".into()],
                update: vec![Update {
                    key: "k".into(),
                    page_id: "p".into(),
                    changes: vec![change()],
                }],
                unchanged: 3,
                orphaned: vec![Orphan {
                    key: "gone".into(),
                    page_id: "q".into(),
                    reason: OrphanReason::NoMatch,
                }],
            },
        )]),
        result: Some(ImportResult {
            created: 1,
            recovered: 0,
            existing: vec![(Resource::Flags, "other".into())],
            updated: 1,
            unchanged: 3,
            archived: 0,
            failed: vec![ImportFailure {
                resource: Resource::Flags,
                key: "bad".into(),
                action: "create".into(),
                error: "Notion said 400".into(),
            }],
            written: vec![write.clone()],
            interrupted: true,
            left: vec![write],
        }),
    }
}

fn setup() -> Setup {
    Setup {
        version: VERSION,
        dry_run: false,
        resources: vec![SetupDatabase {
            resource: Resource::Flags,
            action: "updated".into(),
            database_id: Some("d".into()),
            added_properties: vec!["Owner".into()],
            added_options: BTreeMap::from([("Owner".to_string(), vec!["x".to_string()])]),
        }],
        pages: Some(SetupPages {
            tracking_plan: Some("p".into()),
            tracking_plan_action: "created".into(),
            index_action: "updated".into(),
        }),
    }
}

fn document() -> Document {
    Document {
        version: VERSION,
        resource: Resource::Flags,
        key: "k".into(),
        action: "updated".into(),
        page_id: Some("p".into()),
        url: Some("https://www.notion.so/p".into()),
        properties: vec!["Owner".into()],
        changes: vec![change()],
        created_meanwhile: false,
        snapshot_updated: true,
    }
}

fn export() -> Export {
    Export {
        version: VERSION,
        resources: PerResource(vec![(
            Resource::Flags,
            vec![ExportRow {
                page_id: "p".into(),
                url: Some("https://www.notion.so/p".into()),
                properties: Map::from_iter([("Flag Key".to_string(), json!("k"))]),
            }],
        )]),
    }
}

fn doctor() -> Doctor {
    Doctor {
        version: VERSION,
        ok: false,
        checks: vec![DoctorCheck {
            check: "config".into(),
            status: CheckStatus::Fail,
            detail: "no .kodo/config.json".into(),
            hint: Some("run kodo ph-sync setup".into()),
        }],
    }
}

fn pre_commit() -> PreCommit {
    let finding = |problem: Problem| PreCommitFinding {
        path: "src/app.ts".into(),
        line: 5,
        kind: Kind::Event,
        key: Some("checkout_started".into()),
        problem,
        severity: Severity::Error,
        waiver: Waiver::Waived("removed next sprint".into()),
        blocks: true,
    };
    PreCommit {
        version: VERSION,
        blocked: true,
        findings: vec![
            finding(Problem::Unverified {
                reason: "offline".into(),
            }),
            finding(Problem::NoAllowedPrefix {
                prefixes: vec!["user_".into()],
            }),
            finding(Problem::UndocumentedProperty {
                property: "plan".into(),
            }),
        ],
        notes: vec!["checked against the snapshot".into()],
        unscanned: vec![PreCommitUnscanned {
            path: "web/bundle.js".into(),
            reason: SkipReason::Minified,
            blocks: false,
        }],
    }
}

fn scan() -> Scan {
    let reference = Reference {
        path: "web/src/signup.ts".into(),
        line: 12,
        column: 5,
        snippet: "posthog.capture(EVENTS.signup, { plan })".into(),
        kind: Kind::Event,
        side: Side::Frontend,
        sdk: "posthog-js".into(),
        key: Some("user_signed_up".into()),
        identifier: Some("EVENTS.signup".into()),
        dynamic_reason: Some("interpolated string".into()),
        in_test: false,
        properties: Some(PropertySet {
            keys: vec![PropertyKey {
                name: "plan".into(),
                line: 12,
            }],
            open: false,
        }),
    };
    Scan {
        version: kodo_scan::REPORT_VERSION,
        keys: vec![KeyReport {
            kind: Kind::Event,
            key: "user_signed_up".into(),
            tracked_on: Side::Both,
            references: vec![reference.clone()],
            first_commit: Some(Commit {
                sha: "9f1c".into(),
                subject: "Add signup tracking (#42)".into(),
                date: "2026-03-02T10:11:12+01:00".into(),
            }),
            pr_url: Some("https://github.com/acme/web/pull/42".into()),
        }],
        dynamic: vec![reference],
        files_scanned: 10,
        files_matched: 2,
        wrappers: vec![WrapperReport {
            call: "track".into(),
            event_arg: Some(0),
            event_key: Some("event".into()),
            flag_arg: Some(0),
            flag_key: Some("flag".into()),
            default: Some("page_viewed".into()),
            defined_at: Some("web/track.ts:3".into()),
            sdk: "posthog-js".into(),
            side: Some(Side::Frontend),
            only_in: Some("web/a.ts".into()),
            inferred: true,
        }],
        skipped: vec![Skipped {
            path: "web/public/bundle.js".into(),
            reason: SkipReason::Minified,
        }],
    }
}

/// Every document the contract describes: its type's name (the document's section is
/// headed with it in backticks) and a populated sample.
fn documents() -> Vec<(&'static str, Value)> {
    let v = |x: Result<Value, serde_json::Error>| x.expect("a wire type serialises");
    vec![
        ("Audit", v(serde_json::to_value(audit()))),
        ("Status", v(serde_json::to_value(status()))),
        ("Import", v(serde_json::to_value(import()))),
        ("Setup", v(serde_json::to_value(setup()))),
        ("Document", v(serde_json::to_value(document()))),
        ("Export", v(serde_json::to_value(export()))),
        ("Doctor", v(serde_json::to_value(doctor()))),
        ("Scan", v(serde_json::to_value(scan()))),
        ("PreCommit", v(serde_json::to_value(pre_commit()))),
        (
            "ClaudeHookOutput",
            v(serde_json::to_value(ClaudeHookOutput::post_tool_use(
                "Documented".into(),
            ))),
        ),
    ]
}

/// The field paths of `value`: `a.b`, `list[].c`; a resource's plural as a key is
/// `<resource>`, a Notion property's name `<property>`. Every field is one path (a list's
/// items' fields are under `list[]`); an array of arrays (`[resource, key]` pairs) ends its
/// path.
fn paths(value: &Value, at: &str, out: &mut BTreeSet<String>, empty: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if map.is_empty() {
                empty.push(at.to_string());
            }
            for (key, v) in map {
                let segment = if Resource::from_plural(key).is_some() {
                    "<resource>"
                } else if PROPERTY_KEYS.contains(&key.as_str()) {
                    "<property>"
                } else {
                    key.as_str()
                };
                let path = if at.is_empty() {
                    segment.to_string()
                } else {
                    format!("{at}.{segment}")
                };
                out.insert(path.clone());
                paths(v, &path, out, empty);
            }
        }
        Value::Array(items) => {
            if items.is_empty() {
                empty.push(at.to_string());
            }
            let path = format!("{at}[]");
            for item in items {
                if !item.is_array() {
                    paths(item, &path, out, empty);
                }
            }
        }
        Value::Null => empty.push(at.to_string()),
        _ => {}
    }
}

/// The paths the document's table for `name` lists: the first cell of each row of the
/// section whose heading names `` `name` ``, a leading `{a,b}` group standing for each of its
/// members.
fn documented(text: &str, name: &str) -> Option<BTreeSet<String>> {
    let marker = format!("(`{name}`)");
    let mut sections = text.split("\n## ").skip(1);
    let section = sections.find(|s| s.lines().next().is_some_and(|h| h.contains(&marker)))?;
    let mut out = BTreeSet::new();
    for cell in section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once("` |").map(|(path, _)| path))
    {
        match cell.strip_prefix('{').and_then(|rest| rest.split_once('}')) {
            Some((group, tail)) => {
                out.extend(group.split(',').map(|head| format!("{head}{tail}")));
            }
            None => {
                out.insert(cell.to_string());
            }
        }
    }
    Some(out)
}

#[test]
fn the_plugins_json_contract_names_every_field_of_every_wire_type() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DOCUMENT);
    let text = std::fs::read_to_string(&path).expect("the plugin's JSON contract");
    let mut problems = Vec::new();
    for (name, sample) in documents() {
        let mut actual = BTreeSet::new();
        let mut empty = Vec::new();
        paths(&sample, "", &mut actual, &mut empty);
        assert!(
            empty.is_empty(),
            "the {name} sample must populate every field (null or empty: {empty:?})"
        );
        let Some(listed) = documented(&text, name) else {
            problems.push(format!("{DOCUMENT} has no section headed with `{name}`"));
            continue;
        };
        for missing in actual.difference(&listed) {
            problems.push(format!("{name}: `{missing}` is not in {DOCUMENT}"));
        }
        for extra in listed.difference(&actual) {
            problems.push(format!(
                "{name}: {DOCUMENT} lists `{extra}`, which {name} does not have"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_command_points_at_the_contract_shipped_with_the_plugin() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let command = std::fs::read_to_string(root.join("commands/ph-sync.md")).unwrap();
    assert!(
        command.contains("${CLAUDE_PLUGIN_ROOT}/plugin/json-contract.md"),
        "commands/ph-sync.md reads the JSON by the contract the plugin ships"
    );
    for dir in ["commands", "skills", "plugin"] {
        for entry in walk(&root.join(dir)) {
            let text = std::fs::read_to_string(&entry).unwrap_or_default();
            assert!(
                !text.contains("crates/core/src/wire.rs") && !text.contains("src/wire.rs"),
                "{} points into the source tree, which a packaged plugin does not have",
                entry.display()
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    out
}
