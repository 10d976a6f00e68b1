//! One writer at a time: two imports started together in one repository hold `.kodo/lock`
//! in turn, so the documentation ends with exactly one row per key; `--no-wait` exits 2 while
//! another run holds the lock.

use crate::common::TestEnv;

#[test]
fn two_imports_at_once_make_one_row_each() {
    let env = TestEnv::start("demo");
    let a = env
        .kodo_process()
        .args(["ph-sync", "import", "all"])
        .spawn()
        .unwrap();
    let b = env
        .kodo_process()
        .args(["ph-sync", "import", "all"])
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    env.assert_no_duplicates();
}

#[test]
fn no_wait_exits_while_the_lock_is_held() {
    let env = TestEnv::start("demo");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(env.root().join(".kodo/lock"))
        .unwrap();
    file.lock().unwrap();
    let out = env
        .kodo()
        .args(["ph-sync", "import", "all", "--no-wait"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another kodo run is writing to Notion"),
        "{err}"
    );
    assert!(env.page_creates().is_empty());
    drop(file);
    env.ph_sync(&["import", "all", "--no-wait"]);
    env.assert_no_duplicates();
}
