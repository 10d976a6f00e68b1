//! `kodo ph-sync document` in each format it writes (a create, a re-run that changes nothing,
//! a dry run), its help, and the error of each bad input, on the spec's demo scenario.

use super::{check, run};
use crate::common::TestEnv;

const MAYA: &str = "maya.chen@acme.example";

fn snap(env: &TestEnv, name: &str, args: &[&str]) {
    let out = run(env.kodo().arg("ph-sync").arg("document").args(args));
    check(name, env.root(), &out);
}

#[test]
fn document_in_each_format() {
    let env = TestEnv::start("demo");
    snap(
        &env,
        "document_flag_dry_run_md",
        &["flag", "beta_dark_mode", "--owner", MAYA, "--dry-run"],
    );
    snap(
        &env,
        "document_flag_md",
        &[
            "flag",
            "beta_dark_mode",
            "--name",
            "Dark mode",
            "--owner",
            MAYA,
            "--planned-removal",
            "2027-03-01",
        ],
    );
    snap(
        &env,
        "document_flag_again_md",
        &["flag", "beta_dark_mode", "--name", "Dark mode"],
    );
    snap(
        &env,
        "document_event_json",
        &[
            "event",
            "feature_report_shared",
            "--description",
            "A user shared a report",
            "--owner",
            MAYA,
            "--property",
            "report_id:string",
            "--property",
            "recipients:number",
            "--format",
            "json",
        ],
    );
    // The report names the owners it changes (name and e-mail), not their user IDs.
    snap(
        &env,
        "document_event_owner_md",
        &[
            "event",
            "feature_report_shared",
            "--owner",
            "priya.raman@acme.example",
        ],
    );
    snap(
        &env,
        "document_experiment_dry_run_json",
        &[
            "experiment",
            "onboarding_checklist_test",
            "--hypothesis",
            "A checklist raises activation",
            "--flag-key",
            "release_onboarding_checklist",
            "--dry-run",
            "--format",
            "json",
        ],
    );
}

#[test]
fn document_errors_and_help() {
    let env = TestEnv::start("demo");
    snap(&env, "help_ph_sync_document", &["--help"]);
    snap(
        &env,
        "document_unknown_owner",
        &["event", "x_y", "--owner", "nobody@acme.example"],
    );
    snap(
        &env,
        "document_option_of_another_resource",
        &["flag", "x_y", "--hypothesis", "h"],
    );
    snap(
        &env,
        "document_unknown_flag_type",
        &["flag", "x_y", "--type", "forever"],
    );
    snap(
        &env,
        "document_unknown_property_type",
        &["event", "x_y", "--property", "a:uuid"],
    );
    snap(
        &env,
        "document_bad_planned_removal",
        &["flag", "x_y", "--planned-removal", "next spring"],
    );
    snap(&env, "document_unknown_noun", &["cohort", "x"]);
    snap(
        &env,
        "document_csv_is_refused",
        &["flag", "x_y", "--format", "csv"],
    );
    assert!(
        env.notion_writes().is_empty(),
        "every bad input fails before a write"
    );
}

/// The JSON of `document`, `setup` and `status` reads back as its wire type, field for field.
#[test]
fn machine_outputs_read_back_as_their_wire_types() {
    use kodo_core::wire;
    let env = TestEnv::start("demo");
    let text = env.ph_sync(&[
        "document",
        "flag",
        "beta_dark_mode",
        "--dry-run",
        "--format",
        "json",
    ]);
    let document: wire::Document = serde_json::from_str(&text).expect("wire::Document");
    assert_eq!(document.version, wire::VERSION);
    assert_eq!(document.action, "would_create");
    assert_eq!(wire::to_json(&document), text);

    let text = env.ph_sync(&["setup", "--dry-run", "--format", "json"]);
    let setup: wire::Setup = serde_json::from_str(&text).expect("wire::Setup");
    assert!(setup.dry_run);
    assert_eq!(setup.resources.len(), 4);
    assert_eq!(wire::to_json(&setup), text);

    let text = env.ph_sync(&["status", "--format", "json"]);
    let status: wire::Status = serde_json::from_str(&text).expect("wire::Status");
    assert!(!status.in_sync);
    assert_eq!(wire::to_json(&status), text);
}
