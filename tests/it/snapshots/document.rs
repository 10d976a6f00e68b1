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
