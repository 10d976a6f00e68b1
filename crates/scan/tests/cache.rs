//! The persistent scan cache through the public API: a re-scan reads only what changed, a
//! broken or foreign cache is ignored and rebuilt, concurrent scans never tear the file, and
//! the report is the same with and without the cache.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use kodo_scan::{render, scan, scan_with, CacheStatus, ScanOptions, ScanSettings, ScanStats};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
}

/// Sets a file's modification time `secs` seconds into the past (so its cache entry is
/// trusted on stat: entries of files modified just before a scan are checked by content).
fn age(path: &Path, secs: u64) {
    let f = fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs))
        .unwrap();
}

fn age_all(root: &Path) {
    for entry in walk(root) {
        age(&entry, 3600);
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A small app: literal keys, constants imported from another file, a Go package constant,
/// a Python module constant, a wrapper and a dynamic key.
fn app(root: &Path) {
    write(
        root,
        "web/src/analytics.ts",
        "export const EVENTS = { signup: 'user_signed_up', login: 'user_logged_in' } as const\nexport const BETA = 'beta-flag'\n",
    );
    write(
        root,
        "web/src/App.tsx",
        "import posthog from 'posthog-js'\nimport { useFeatureFlagEnabled } from 'posthog-js/react'\nimport { EVENTS, BETA } from './analytics'\nexport function App() {\n  const on = useFeatureFlagEnabled(BETA)\n  posthog.capture(EVENTS.signup, { on })\n  track('app_opened')\n  posthog.capture(`page_${name}`)\n  return null\n}\n",
    );
    write(
        root,
        "web/src/util.ts",
        "export const add = (a: number, b: number) => a + b\n",
    );
    write(
        root,
        "api/app/names.py",
        "ORDER_PLACED = \"order_placed\"\n",
    );
    write(
        root,
        "api/app/views.py",
        "import posthog\nfrom .names import ORDER_PLACED\n\ndef place(user):\n    posthog.capture(ORDER_PLACED, distinct_id=user.id)\n",
    );
    write(
        root,
        "svc/orders/events.go",
        "package orders\n\nconst (\n\tEventShipped = \"order_shipped\"\n)\n",
    );
    write(
        root,
        "svc/orders/handler.go",
        "package orders\n\nimport \"github.com/posthog/posthog-go\"\n\nfunc ship(c posthog.Client, id string) {\n\tc.Enqueue(posthog.Capture{DistinctId: id, Event: EventShipped})\n}\n",
    );
    age_all(root);
}

fn settings() -> ScanSettings {
    serde_json::from_str(r#"{"wrappers":[{"call":"track","event_arg":0}]}"#).unwrap()
}

fn cached(dir: &Path) -> ScanOptions {
    ScanOptions {
        cache_dir: Some(dir.to_path_buf()),
    }
}

fn run(root: &Path, cache: &Path) -> (String, ScanStats) {
    let (report, stats) = scan_with(root, &settings(), &cached(cache)).unwrap();
    (render::json(&report), stats)
}

fn cache_file(cache: &Path) -> PathBuf {
    let files: Vec<PathBuf> = fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

#[test]
fn rescans_reuse_unchanged_files_and_match_a_scan_without_cache() {
    let tree = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    app(tree.path());
    let plain = render::json(&scan(tree.path(), &settings()).unwrap());
    assert!(plain.contains("user_signed_up") && plain.contains("order_shipped"));
    assert!(plain.contains("order_placed") && plain.contains("beta-flag"));

    let (first, stats) = run(tree.path(), cache.path());
    assert_eq!(first, plain);
    assert_eq!(stats.cache, CacheStatus::Missing);
    assert_eq!((stats.files_extracted, stats.files_unchanged), (7, 0));
    assert!(stats.cache_written);
    assert!(cache.path().join(".gitignore").is_file());
    // The extracts were streamed into the file that became the cache: nothing else is left.
    let mut names: Vec<String> = fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".gitignore")
        .collect();
    names.retain(|n| !(n.starts_with("scan-") && n.ends_with(".bin")));
    assert!(names.is_empty(), "{names:?}");

    let (second, stats) = run(tree.path(), cache.path());
    assert_eq!(second, plain);
    assert_eq!(stats.cache, CacheStatus::Used);
    assert_eq!(
        (
            stats.files_unchanged,
            stats.files_extracted,
            stats.files_read_to_resolve
        ),
        (7, 0, 0)
    );
    // Nothing changed: the cache is not rewritten.
    assert!(!stats.cache_written);
}

#[test]
fn a_changed_stat_is_a_miss_and_a_touched_file_is_not_extracted_again() {
    let tree = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    app(tree.path());
    run(tree.path(), cache.path());

    // Same content, new modification time: read and hashed, not extracted.
    age(&tree.path().join("web/src/util.ts"), 60);
    let (out, stats) = run(tree.path(), cache.path());
    assert_eq!((stats.files_rehashed, stats.files_extracted), (1, 0));
    assert_eq!(out, render::json(&scan(tree.path(), &settings()).unwrap()));

    // New content: extracted again; the constant it now defines is found by the others.
    write(
        tree.path(),
        "web/src/analytics.ts",
        "export const EVENTS = { signup: 'user_registered', login: 'user_logged_in' } as const\nexport const BETA = 'beta-flag'\n",
    );
    let (out, stats) = run(tree.path(), cache.path());
    assert_eq!(stats.files_extracted, 1);
    assert_eq!(stats.files_unchanged + stats.files_rehashed, 6);
    assert!(out.contains("user_registered") && !out.contains("user_signed_up"));
    assert_eq!(out, render::json(&scan(tree.path(), &settings()).unwrap()));

    // A new file and a deleted one.
    write(
        tree.path(),
        "web/src/New.tsx",
        "import posthog from 'posthog-js'\nposthog.capture('new_file_event')\n",
    );
    fs::remove_file(tree.path().join("api/app/views.py")).unwrap();
    let (out, stats) = run(tree.path(), cache.path());
    assert_eq!(stats.files_extracted, 1);
    assert!(out.contains("new_file_event") && !out.contains("order_placed"));
    assert_eq!(out, render::json(&scan(tree.path(), &settings()).unwrap()));
}

#[test]
fn a_file_changed_within_the_timestamp_granularity_is_checked_by_content() {
    let tree = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    app(tree.path());
    // Modified "now": the scan that caches it cannot trust a later identical stat.
    write(tree.path(), "web/src/util.ts", "export const x = 1\n");
    run(tree.path(), cache.path());
    let (_, stats) = run(tree.path(), cache.path());
    assert_eq!(stats.files_unchanged, 6);
    assert_eq!(stats.files_rehashed, 1);
}

#[test]
fn a_corrupt_cache_is_ignored_and_rebuilt() {
    let tree = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    app(tree.path());
    let (expected, _) = run(tree.path(), cache.path());
    let file = cache_file(cache.path());
    let mut bytes = fs::read(&file).unwrap();

    // A flipped byte in the body.
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    fs::write(&file, &bytes).unwrap();
    let (out, stats) = run(tree.path(), cache.path());
    assert_eq!(out, expected);
    assert!(
        matches!(&stats.cache, CacheStatus::Ignored(why) if why.contains("corrupt")),
        "{:?}",
        stats.cache
    );
    assert!(stats.cache_written);
    assert_eq!(run(tree.path(), cache.path()).1.cache, CacheStatus::Used);

    // Truncated, and not a cache at all.
    let good = fs::read(&file).unwrap();
    for broken in [
        &good[..good.len() / 3],
        b"{\"not\": \"a cache\"}".as_slice(),
        b"",
    ] {
        fs::write(&file, broken).unwrap();
        let (out, stats) = run(tree.path(), cache.path());
        assert_eq!(out, expected);
        assert!(
            matches!(stats.cache, CacheStatus::Ignored(_)),
            "{:?}",
            stats.cache
        );
        assert_eq!(stats.files_extracted, 7);
    }
}

#[test]
fn a_cache_from_another_format_or_other_settings_is_not_trusted() {
    let tree = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    app(tree.path());
    let (expected, _) = run(tree.path(), cache.path());
    let file = cache_file(cache.path());
    let mut bytes = fs::read(&file).unwrap();
    // The format version follows the 8-byte magic.
    bytes[8] = bytes[8].wrapping_add(1);
    fs::write(&file, &bytes).unwrap();
    let (out, stats) = run(tree.path(), cache.path());
    assert_eq!(out, expected);
    assert!(
        matches!(&stats.cache, CacheStatus::Ignored(why) if why.contains("format")),
        "{:?}",
        stats.cache
    );

    // Other settings (a wrapper fewer): the extracts would differ, so nothing is reused.
    let (report, stats) =
        scan_with(tree.path(), &ScanSettings::default(), &cached(cache.path())).unwrap();
    assert!(
        matches!(&stats.cache, CacheStatus::Ignored(why) if why.contains("settings")),
        "{:?}",
        stats.cache
    );
    assert_eq!(stats.files_extracted, 7);
    assert!(!render::json(&report).contains("app_opened"));
}

#[test]
fn concurrent_scans_never_leave_a_torn_cache() {
    let tree = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    app(tree.path());
    // Enough files that writing the cache takes a while.
    for i in 0..300 {
        write(
            tree.path(),
            &format!("web/gen/f{i:03}.ts"),
            &format!("import posthog from 'posthog-js'\nexport const N{i} = 'n{i}'\nposthog.capture('gen_{i}')\n"),
        );
    }
    let expected = render::json(&scan(tree.path(), &settings()).unwrap());
    for round in 0..4 {
        // Each round starts without a cache, so every scan writes one.
        let _ = fs::remove_dir_all(cache.path());
        let outputs: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|_| s.spawn(|| run(tree.path(), cache.path())))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    let (out, stats) = h.join().unwrap();
                    assert_eq!(stats.cache_error, None, "round {round}");
                    out
                })
                .collect()
        });
        assert!(outputs.iter().all(|o| *o == expected), "round {round}");
        // The file left behind is whole, and no temporary file is.
        let (out, stats) = run(tree.path(), cache.path());
        assert_eq!(stats.cache, CacheStatus::Used, "round {round}");
        assert_eq!(out, expected);
        let leftovers: Vec<PathBuf> = fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
fn without_a_cache_directory_nothing_is_written() {
    let tree = tempfile::tempdir().unwrap();
    app(tree.path());
    let (_, stats) = scan_with(tree.path(), &settings(), &ScanOptions::default()).unwrap();
    assert_eq!(stats.cache, CacheStatus::Disabled);
    assert!(!stats.cache_written);
    assert!(!tree.path().join(".kodo").exists());
}

#[cfg(unix)]
#[test]
fn a_symlinked_cache_directory_is_never_written_through() {
    let tree = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    app(tree.path());
    let link = tree.path().join("cache-link");
    std::os::unix::fs::symlink(elsewhere.path(), &link).unwrap();
    let (report, stats) = scan_with(tree.path(), &settings(), &cached(&link)).unwrap();
    assert!(render::json(&report).contains("user_signed_up"));
    assert!(stats.cache_error.is_some());
    assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

/// Every fixture of the corpus gives the same report from a cold cache and a warm one.
#[test]
fn the_fixture_corpus_is_the_same_with_the_cache() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for entry in fs::read_dir(&fixtures).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let settings: ScanSettings = match fs::read_to_string(dir.join("settings.json")) {
            Ok(text) => serde_json::from_str(&text).unwrap(),
            Err(_) => ScanSettings::default(),
        };
        let plain = render::json(&scan(&dir, &settings).unwrap());
        let cache = tempfile::tempdir().unwrap();
        for pass in ["cold", "warm"] {
            let (report, _) = scan_with(&dir, &settings, &cached(cache.path())).unwrap();
            assert_eq!(render::json(&report), plain, "{} ({pass})", dir.display());
        }
    }
}

/// The app plus an inferred wrapper (no configuration) and a file that calls it.
fn app_with_inferred_wrapper(root: &Path) {
    app(root);
    write(
        root,
        "web/src/lib/metrics.ts",
        "import posthog from 'posthog-js'\nexport function logMetric(name: string) {\n  posthog.capture(name)\n}\n",
    );
    write(
        root,
        "web/src/Checkout.tsx",
        "import { logMetric } from './lib/metrics'\nexport function Checkout() {\n  logMetric('checkout_opened')\n  return null\n}\n",
    );
    age_all(root);
}

fn no_cache(root: &Path) -> String {
    render::json(&scan(root, &settings()).unwrap())
}

#[test]
fn an_edit_that_changes_nothing_across_files_keeps_the_cached_cross_file_result() {
    let tree = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    app_with_inferred_wrapper(tree.path());
    let (first, stats) = run(tree.path(), cache.path());
    assert!(!stats.cross_file_reused);
    assert!(first.contains("checkout_opened") && first.contains("logMetric"));

    // Unchanged: the cached result as it was.
    let (out, stats) = run(tree.path(), cache.path());
    assert_eq!(out, first);
    assert!(stats.cross_file_reused);
    assert!(!stats.cache_written);

    // A new literal capture: only that file's references are recomputed.
    write(
        tree.path(),
        "web/src/App.tsx",
        "import posthog from 'posthog-js'\nimport { useFeatureFlagEnabled } from 'posthog-js/react'\nimport { EVENTS, BETA } from './analytics'\nexport function App() {\n  const on = useFeatureFlagEnabled(BETA)\n  posthog.capture(EVENTS.signup, { on })\n  track('app_opened')\n  posthog.capture(`page_${name}`)\n  posthog.capture(EVENTS.login)\n  return null\n}\n",
    );
    let (out, stats) = run(tree.path(), cache.path());
    assert!(stats.cross_file_reused, "{stats:?}");
    assert_eq!(stats.files_extracted, 1);
    assert!(stats.cache_written);
    assert!(out.contains("user_logged_in"));
    assert_eq!(out, no_cache(tree.path()));

    // A new function (with a literal capture) in a file that has inference facts.
    let metrics = fs::read_to_string(tree.path().join("web/src/lib/metrics.ts")).unwrap();
    write(
        tree.path(),
        "web/src/lib/metrics.ts",
        &format!("{metrics}export function ping() {{\n  posthog.capture('metrics_ping')\n}}\n"),
    );
    let (out, stats) = run(tree.path(), cache.path());
    assert!(stats.cross_file_reused, "{stats:?}");
    assert!(out.contains("metrics_ping"));
    assert_eq!(out, no_cache(tree.path()));

    // A call site of an inferred wrapper with a new key: the cached inference round is
    // replayed on the file.
    write(
        tree.path(),
        "web/src/Checkout.tsx",
        "import { logMetric } from './lib/metrics'\nexport function Checkout() {\n  logMetric('checkout_started')\n  return null\n}\n",
    );
    let (out, stats) = run(tree.path(), cache.path());
    assert!(stats.cross_file_reused, "{stats:?}");
    assert!(out.contains("checkout_started") && !out.contains("checkout_opened"));
    assert_eq!(out, no_cache(tree.path()));

    // The next scan trusts the edited files by content, and keeps the result.
    let (again, stats) = run(tree.path(), cache.path());
    assert_eq!(again, out);
    assert!(stats.cross_file_reused);
}

#[test]
fn an_edit_that_changes_what_other_files_see_runs_the_cross_file_stage_again() {
    let tree = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    app_with_inferred_wrapper(tree.path());
    run(tree.path(), cache.path());

    // A constant another file resolves.
    write(
        tree.path(),
        "api/app/names.py",
        "ORDER_PLACED = \"order_submitted\"\n",
    );
    let (out, stats) = run(tree.path(), cache.path());
    assert!(!stats.cross_file_reused);
    assert!(out.contains("order_submitted") && !out.contains("order_placed"));
    assert_eq!(out, no_cache(tree.path()));

    // The wrapper's key moves to another parameter: inference facts changed.
    write(
        tree.path(),
        "web/src/lib/metrics.ts",
        "import posthog from 'posthog-js'\nexport function logMetric(scope: string, name: string) {\n  posthog.capture(name)\n}\n",
    );
    let (out, stats) = run(tree.path(), cache.path());
    assert!(!stats.cross_file_reused);
    assert_eq!(out, no_cache(tree.path()));

    // A new file that defines a constant others look up.
    write(
        tree.path(),
        "svc/orders/more.go",
        "package orders\n\nconst EventShipped = \"order_sent\"\n",
    );
    let (out, stats) = run(tree.path(), cache.path());
    assert!(!stats.cross_file_reused);
    assert_eq!(out, no_cache(tree.path()));
}

/// Every file of every fixture edited in turn (a line appended, then one prepended, then
/// removed): the cached re-scan prints what a scan without the cache prints.
#[test]
fn edits_anywhere_in_the_fixture_corpus_match_a_scan_without_the_cache() {
    let (reused, edits) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for entry in fs::read_dir(&fixtures).unwrap() {
        let src = entry.unwrap().path();
        if !src.is_dir() {
            continue;
        }
        let settings: ScanSettings = match fs::read_to_string(src.join("settings.json")) {
            Ok(text) => serde_json::from_str(&text).unwrap(),
            Err(_) => ScanSettings::default(),
        };
        let tree = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for path in walk(&src) {
            let rel = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == "settings.json" || rel.ends_with(".snap") || rel.starts_with("expected") {
                continue;
            }
            write(
                tree.path(),
                &rel,
                &fs::read_to_string(&path).unwrap_or_default(),
            );
            files.push(rel);
        }
        files.sort();
        let cache = tempfile::tempdir().unwrap();
        let scan_cached = || {
            let (report, stats) = scan_with(tree.path(), &settings, &cached(cache.path())).unwrap();
            reused.set(reused.get() + usize::from(stats.cross_file_reused));
            edits.set(edits.get() + 1);
            render::json(&report)
        };
        let plain = || render::json(&scan(tree.path(), &settings).unwrap());
        assert_eq!(scan_cached(), plain(), "{}", src.display());
        for rel in &files {
            let original = fs::read_to_string(tree.path().join(rel)).unwrap();
            for edited in [
                format!("{original}\n"),
                format!("\n{original}"),
                String::new(),
                original.clone(),
            ] {
                write(tree.path(), rel, &edited);
                assert_eq!(scan_cached(), plain(), "{} {rel}", src.display());
            }
        }
    }
    // Both ways were taken: the cached cross-file result kept, and the stage run again.
    let (reused, edits) = (reused.get(), edits.get());
    assert!(reused > edits / 10 && reused < edits, "{reused} of {edits}");
}

/// The pre-commit gate's lookup of a name with no import to follow reads the scan cache:
/// a file whose stat is unchanged gives its cached definitions, any other file is read.
#[test]
fn the_gate_lookup_takes_unchanged_files_definitions_from_the_cache() {
    let tree = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    app(tree.path());
    write(
        tree.path(),
        "web/src/consts/global.ts",
        "export const GLOBAL_EVENT = 'global_event'\n",
    );
    write(
        tree.path(),
        "web/src/Uses.ts",
        "import posthog from 'posthog-js'\nposthog.capture(GLOBAL_EVENT)\n",
    );
    age_all(tree.path());
    let (out, _) = run(tree.path(), cache.path());
    assert!(out.contains("global_event"));

    let text = "import posthog from 'posthog-js'\nposthog.capture(GLOBAL_EVENT)\n";
    let key = |options: Option<&Path>| {
        let refs = match options {
            Some(dir) => kodo_scan::scan_file_resolved_with(
                tree.path(),
                "web/src/New.ts",
                text,
                &settings(),
                &cached(dir),
            ),
            None => kodo_scan::scan_file_resolved(tree.path(), "web/src/New.ts", text, &settings()),
        }
        .unwrap();
        assert_eq!(refs.len(), 1);
        refs[0].key.clone()
    };
    assert_eq!(key(None).as_deref(), Some("global_event"));
    assert_eq!(key(Some(cache.path())).as_deref(), Some("global_event"));

    // New bytes behind an unchanged stat (same size, inode and modification time): the
    // cached definitions stand, which shows they are what the lookup used.
    let path = tree.path().join("web/src/consts/global.ts");
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    fs::write(&path, "export const GLOBAL_EVENT = 'global_evenX'\n").unwrap();
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(key(None).as_deref(), Some("global_evenX"));
    assert_eq!(key(Some(cache.path())).as_deref(), Some("global_event"));

    // A changed stat: the file is read.
    age(&path, 60);
    assert_eq!(key(Some(cache.path())).as_deref(), Some("global_evenX"));
    // No cache there: the plain lookup.
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(key(Some(empty.path())).as_deref(), Some("global_evenX"));
}

/// Sets the modification time of every directory under `root` (and `root`) an hour into the
/// past, so the walk record of a scan is trusted on the directories' stat.
fn age_dirs(root: &Path) {
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.is_symlink() {
                dirs.push(p);
            }
        }
        age_dir(&d, 3600);
    }
}

fn age_dir(path: &Path, secs: u64) {
    let f = fs::File::open(path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs))
        .unwrap();
}

#[test]
fn a_rescan_checks_the_recorded_walk_and_walks_again_when_the_tree_changed() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("repo");
    let cache = tempfile::tempdir().unwrap();
    app(&root);
    write(&root, ".gitignore", "ignored/\n");
    write(
        &root,
        "ignored/Hidden.tsx",
        "import posthog from 'posthog-js'\nposthog.capture('ignored_event')\n",
    );
    age_all(&root);
    age_dirs(&root);
    let scan_now = |expect_checked: bool, why: &str| -> String {
        let (out, stats) = run(&root, cache.path());
        assert_eq!(out, no_cache(&root), "{why}: the cache changed the report");
        assert_eq!(stats.walk_checked, expect_checked, "{why}");
        out
    };
    let first = scan_now(false, "first scan");
    assert!(!first.contains("ignored_event"));
    // Nothing changed: the recorded walk stands, nothing is rewritten.
    let (_, stats) = run(&root, cache.path());
    assert!(stats.walk_checked && !stats.cache_written);
    assert_eq!(stats.files_unchanged, 7);

    // A touched file with the same content, and an edit in place (its directory's entries
    // are the same): still no walk.
    age(&root.join("web/src/util.ts"), 60);
    scan_now(true, "touched file");
    write(
        &root,
        "web/src/analytics.ts",
        "export const EVENTS = { signup: 'user_registered', login: 'user_logged_in' } as const\nexport const BETA = 'beta-flag'\n",
    );
    age(&root.join("web/src/analytics.ts"), 30);
    let out = scan_now(true, "edited file");
    assert!(out.contains("user_registered"));

    // A new file in an existing directory changes the directory: walked again.
    write(
        &root,
        "web/src/New.tsx",
        "import posthog from 'posthog-js'\nposthog.capture('new_file_event')\n",
    );
    age(&root.join("web/src/New.tsx"), 30);
    let out = scan_now(false, "new file");
    assert!(out.contains("new_file_event"));
    // The directory changed just before that scan: its record is not trusted either.
    scan_now(false, "directory modified within the granularity");
    age_dirs(&root);
    scan_now(false, "directory stat changed since the record");
    scan_now(true, "record rebuilt");

    // A deleted file, then a renamed directory.
    fs::remove_file(root.join("api/app/views.py")).unwrap();
    age_dirs(&root);
    let out = scan_now(false, "deleted file");
    assert!(!out.contains("order_placed"));
    scan_now(true, "after the deletion");
    fs::rename(root.join("svc/orders"), root.join("svc/shipping")).unwrap();
    age_dirs(&root);
    let out = scan_now(false, "renamed directory");
    assert!(out.contains("svc/shipping/handler.go") && !out.contains("svc/orders/"));
    scan_now(true, "after the rename");

    // A changed .gitignore (its directory unchanged): walked again, the file it no longer
    // ignores is found.
    write(&root, ".gitignore", "nothing/\n");
    age(&root.join(".gitignore"), 120);
    let out = scan_now(false, "changed .gitignore");
    assert!(out.contains("ignored_event"));
    scan_now(true, "after the .gitignore change");

    // An ignore file appearing in a directory above the root.
    write(outer.path(), ".ignore", "App.tsx\n");
    age(&outer.path().join(".ignore"), 120);
    age_dir(outer.path(), 3600);
    let out = scan_now(false, "new .ignore above the root");
    assert!(!out.contains("web/src/App.tsx"));
    scan_now(true, "after the .ignore above the root");
}

#[test]
fn an_edit_that_changes_inference_facts_but_no_wrapper_keeps_the_cross_file_result() {
    let tree = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    app_with_inferred_wrapper(tree.path());
    run(tree.path(), cache.path());

    // A Go function whose parameter is a receiver of an SDK call (a forward into a
    // function no wrapper is named after): new facts, the same wrappers.
    let handler = fs::read_to_string(tree.path().join("svc/orders/handler.go")).unwrap();
    write(
        tree.path(),
        "svc/orders/handler.go",
        &format!("{handler}\nfunc benchEdit(ph posthog.Client) {{\n\t_ = ph.Enqueue(posthog.Capture{{DistinctId: \"u\", Event: \"bench_edit\"}})\n}}\n"),
    );
    // A TypeScript function forwarding its parameter to a function that is no wrapper.
    let util = fs::read_to_string(tree.path().join("web/src/util.ts")).unwrap();
    write(
        tree.path(),
        "web/src/util.ts",
        &format!("{util}export function show(label: string) {{\n  console.log(label)\n}}\n"),
    );
    let (out, stats) = run(tree.path(), cache.path());
    assert!(stats.cross_file_reused, "{stats:?}");
    assert!(out.contains("bench_edit"));
    assert_eq!(out, no_cache(tree.path()));

    // A forward into the inferred wrapper: a new wrapper, and its call site elsewhere.
    write(
        tree.path(),
        "web/src/util.ts",
        &format!("import {{ logMetric }} from './lib/metrics'\n{util}export function show(label: string) {{\n  logMetric(label)\n}}\n"),
    );
    write(
        tree.path(),
        "web/src/Banner.tsx",
        "import { show } from './util'\nexport function Banner() {\n  show('banner_shown')\n  return null\n}\n",
    );
    let (out, stats) = run(tree.path(), cache.path());
    assert!(!stats.cross_file_reused, "{stats:?}");
    assert!(out.contains("banner_shown"), "{out}");
    assert_eq!(out, no_cache(tree.path()));

    // And back: the wrapper is gone again, and so is its call site's key.
    write(
        tree.path(),
        "web/src/util.ts",
        &format!("{util}export function show(label: string) {{\n  console.log(label)\n}}\n"),
    );
    let (out, stats) = run(tree.path(), cache.path());
    assert!(!stats.cross_file_reused, "{stats:?}");
    assert!(!out.contains("banner_shown"));
    assert_eq!(out, no_cache(tree.path()));
}

/// The `.delta` file next to the cache file.
fn delta_file(cache: &Path) -> PathBuf {
    cache_file(cache).with_extension("delta")
}

#[test]
fn small_edits_are_journaled_as_a_delta_and_a_broken_delta_changes_nothing() {
    let tree = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    app(tree.path());
    age_all(tree.path());
    run(tree.path(), cache.path());
    let base = fs::read(cache_file(cache.path())).unwrap();
    assert!(!delta_file(cache.path()).exists());

    // Edits, one scan each: the base file stays as it was, the delta holds the changes
    // (each delta replaces the last, over the same base), and the report is as without a
    // cache.
    let edits = [
        (
            "web/src/util.ts",
            "import posthog from 'posthog-js'\nposthog.capture('util_loaded')\n",
        ),
        (
            "api/app/views.py",
            "import posthog\n\ndef view():\n    posthog.capture('py_view', distinct_id='u')\n",
        ),
        (
            "web/src/New.tsx",
            "import posthog from 'posthog-js'\nposthog.capture('new_file_event')\n",
        ),
    ];
    for (rel, text) in edits {
        write(tree.path(), rel, text);
        let (out, stats) = run(tree.path(), cache.path());
        assert!(stats.cache_written, "{rel}");
        assert_eq!(out, no_cache(tree.path()), "{rel}");
        assert_eq!(fs::read(cache_file(cache.path())).unwrap(), base, "{rel}");
        assert!(delta_file(cache.path()).is_file(), "{rel}");
    }
    fs::remove_file(tree.path().join("web/src/App.tsx")).unwrap();
    let (expected, stats) = run(tree.path(), cache.path());
    assert_eq!(expected, no_cache(tree.path()));
    assert!(!expected.contains("app_opened"));
    assert_eq!(stats.files_extracted, 0);
    // Replayed: base and delta together are the cache (the first scan records the aged
    // stats, the second finds nothing changed).
    age_all(tree.path());
    run(tree.path(), cache.path());
    let (out, stats) = run(tree.path(), cache.path());
    assert_eq!(out, expected);
    assert_eq!(stats.cache, CacheStatus::Used);
    assert_eq!((stats.files_unchanged, stats.files_extracted), (7, 0));
    assert!(stats.cross_file_reused && !stats.cache_written);

    // A delta with a flipped byte, a torn one, one for another base: the base alone is
    // used (an older state: the files changed since are read again), and the report is
    // the same.
    let delta = fs::read(delta_file(cache.path())).unwrap();
    let mut flipped = delta.clone();
    flipped[delta.len() / 2] ^= 0x5a;
    for broken in [flipped, delta[..delta.len() - 5].to_vec()] {
        fs::write(delta_file(cache.path()), &broken).unwrap();
        let (out, stats) = run(tree.path(), cache.path());
        assert_eq!(out, expected);
        assert_eq!(stats.cache, CacheStatus::Used);
        assert!(
            stats.files_extracted + stats.files_rehashed > 0,
            "{stats:?}"
        );
        assert!(stats.cache_written);
    }
    // A delta over another base: a new base written since (here: a corrupt base rebuilt).
    let mut bytes = fs::read(cache_file(cache.path())).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    fs::write(cache_file(cache.path()), &bytes).unwrap();
    fs::write(delta_file(cache.path()), &delta).unwrap();
    let (out, stats) = run(tree.path(), cache.path());
    assert_eq!(out, expected);
    assert!(
        matches!(stats.cache, CacheStatus::Ignored(_)),
        "{:?}",
        stats.cache
    );
    assert!(!delta_file(cache.path()).exists());
    fs::write(delta_file(cache.path()), &delta).unwrap();
    let (out, stats) = run(tree.path(), cache.path());
    assert_eq!(out, expected);
    assert_eq!(stats.cache, CacheStatus::Used);
    assert_eq!(stats.files_extracted, 0);
}
