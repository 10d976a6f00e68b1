//! Files kodo writes cannot be turned against the user: a symbolic link planted where kodo
//! writes (state, snapshot, export, config, hooks) is refused and the file it points to is
//! untouched; an export directory that leads out of the repository is refused; a symlinked
//! config is edited through to its target inside the repository, and stays a link; no
//! temporary file is left behind.

#![cfg(unix)]

use std::os::unix::fs::symlink;
use std::path::Path;

use crate::common::TestEnv;

const BAIT: &str = "precious user data\n";

/// A file outside the project that a planted link points at.
fn bait(outside: &Path, name: &str) -> std::path::PathBuf {
    let path = outside.join(name);
    std::fs::write(&path, BAIT).unwrap();
    path
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn planted_links_at_state_and_snapshot_are_refused() {
    let env = TestEnv::start("demo");
    let outside = tempfile::tempdir().unwrap();
    let kodo = env.root().join(".kodo");
    for name in ["state.json", "snapshot.json"] {
        symlink(bait(outside.path(), name), kodo.join(name)).unwrap();
    }
    let out = env.kodo().args(["snapshot", "refresh"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    for name in ["state.json", "snapshot.json"] {
        assert_eq!(
            std::fs::read_to_string(outside.path().join(name)).unwrap(),
            BAIT,
            "{name} was written through the link: {err}"
        );
        assert!(
            std::fs::symlink_metadata(kodo.join(name))
                .unwrap()
                .file_type()
                .is_symlink(),
            "{name} was replaced silently"
        );
    }
    assert!(err.contains("is a symbolic link"), "{err}");
    assert!(err.contains("never writes through one"), "{err}");
    assert!(leftovers(&kodo).is_empty(), "{:?}", leftovers(&kodo));
}

#[test]
fn export_refuses_links_out_of_the_repository() {
    let env = TestEnv::start("demo");
    let outside = tempfile::tempdir().unwrap();
    // The directory itself leads outside.
    symlink(outside.path(), env.root().join(".kodo/export")).unwrap();
    bait(outside.path(), "events.json");
    let out = env
        .kodo()
        .args(["ph-sync", "export", "events"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("outside the repository"), "{err}");
    assert_eq!(
        std::fs::read_to_string(outside.path().join("events.json")).unwrap(),
        BAIT
    );
    assert!(!outside.path().join("events.csv").exists());

    // A file link inside a real export directory.
    std::fs::remove_file(env.root().join(".kodo/export")).unwrap();
    std::fs::create_dir(env.root().join(".kodo/export")).unwrap();
    symlink(
        outside.path().join("events.json"),
        env.root().join(".kodo/export/events.json"),
    )
    .unwrap();
    let out = env
        .kodo()
        .args(["ph-sync", "export", "events"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a symbolic link"));
    assert_eq!(
        std::fs::read_to_string(outside.path().join("events.json")).unwrap(),
        BAIT
    );
}

#[test]
fn setup_writes_a_symlinked_config_through_to_its_target() {
    let env = TestEnv::start("empty");
    let shared = env.root().join("config/kodo.json");
    std::fs::create_dir_all(shared.parent().unwrap()).unwrap();
    std::fs::rename(env.config_path(), &shared).unwrap();
    symlink("../config/kodo.json", env.config_path()).unwrap();
    let before = std::fs::read_to_string(&shared).unwrap();

    env.ph_sync(&["setup"]);
    assert!(std::fs::symlink_metadata(env.config_path())
        .unwrap()
        .file_type()
        .is_symlink());
    let after = std::fs::read_to_string(&shared).unwrap();
    let config: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert!(
        config["notion"]["databases"]["dashboards"].is_string(),
        "{after}"
    );
    // Only database ID values changed: every other line is as it was (the member before an
    // inserted one gains its comma).
    let changed: Vec<&str> = after
        .lines()
        .filter(|l| !before.lines().any(|b| b == *l || format!("{b},") == *l))
        .collect();
    assert!(
        changed.iter().all(|l| l.contains("\"events\"")
            || l.contains("\"feature_flags\"")
            || l.contains("\"experiments\"")
            || l.contains("\"dashboards\"")
            || l.contains("\"databases\"")),
        "{changed:?}\n{after}"
    );
    assert!(leftovers(&env.root().join("config")).is_empty());
}

#[test]
fn setup_refuses_a_config_link_leading_out_of_the_repository() {
    let env = TestEnv::start("empty");
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("kodo.json");
    std::fs::rename(env.config_path(), &target).unwrap();
    symlink(&target, env.config_path()).unwrap();
    let before = std::fs::read_to_string(&target).unwrap();
    let out = env.kodo().args(["ph-sync", "setup"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("outside the repository"), "{err}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), before);
}
