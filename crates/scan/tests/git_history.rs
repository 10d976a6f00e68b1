//! Related PR on a real temporary git repository: squash-style subjects, a `--no-ff` merge
//! of a side branch ("Merge pull request #N from …"), a GitLab merge-request body, a key
//! reached only through a constant, a commit naming no PR, and several remote URL forms.

use std::fs;
use std::path::Path;
use std::process::Command;

use kodo_scan::{git, scan, ScanReport, ScanSettings};

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commit(dir: &Path, files: &[(&str, &str)], message: &str) -> String {
    for (path, text) in files {
        let p = dir.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    run(dir, &["add", "-A"]);
    run(dir, &["commit", "-q", "-m", message]);
    run(dir, &["rev-parse", "HEAD"])
}

struct Repo {
    _tmp: tempfile::TempDir,
    shas: Vec<String>,
}

fn history() -> Repo {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run(dir, &["init", "-q", "-b", "main"]);
    run(dir, &["config", "user.name", "Test"]);
    run(dir, &["config", "user.email", "test@example.com"]);
    run(dir, &["config", "commit.gpgsign", "false"]);
    let mut shas = Vec::new();
    shas.push(commit(
        dir,
        &[(
            "README.md",
            "posthog.capture('user_signed_up') in docs does not count\n",
        )],
        "Initial commit",
    ));
    shas.push(commit(
        dir,
        &[("web/signup.ts", "posthog.capture('user_signed_up')\n")],
        "Add signup tracking (#12)",
    ));
    // A side branch merged with --no-ff: the PR is the merge, not the side commit.
    run(dir, &["checkout", "-q", "-b", "feature/checkout"]);
    shas.push(commit(
        dir,
        &[("web/checkout.ts", "posthog.capture(\"checkout_started\")\n")],
        "wip: checkout",
    ));
    run(dir, &["checkout", "-q", "main"]);
    shas.push(commit(
        dir,
        &[("web/other.ts", "export const x = 1\n")],
        "Unrelated change (#13)",
    ));
    run(
        dir,
        &[
            "merge",
            "-q",
            "--no-ff",
            "feature/checkout",
            "-m",
            "Merge pull request #34 from acme/feature-checkout",
        ],
    );
    shas.push(run(dir, &["rev-parse", "HEAD"]));
    shas.push(commit(
        dir,
        &[(
            "api/flags.py",
            "posthog.feature_enabled('beta-flag', uid)\n",
        )],
        "Add beta flag without a PR",
    ));
    shas.push(commit(
        dir,
        &[("api/gl.py", "posthog.capture('gitlab_event', distinct_id=uid)\n")],
        "Merge branch 'gl' into 'main'\n\nAdd the GitLab event\n\nSee merge request grp/sub/proj!56",
    ));
    shas.push(commit(
        dir,
        &[("web/consts.ts", "export const LOGIN = 'user_logged_in'\n")],
        "Define login constant (#70)",
    ));
    shas.push(commit(
        dir,
        &[(
            "web/login.ts",
            "import { LOGIN } from './consts'\nposthog.capture(LOGIN)\n",
        )],
        "Track login (#71)",
    ));
    Repo { _tmp: tmp, shas }
}

fn annotated(repo: &Repo, remote: &str) -> ScanReport {
    let dir = repo._tmp.path();
    let _ = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["remote", "remove", "origin"])
        .output();
    run(dir, &["remote", "add", "origin", remote]);
    let mut report = scan(dir, &ScanSettings::default()).unwrap();
    git::annotate(dir, &mut report).unwrap();
    report
}

fn find<'a>(r: &'a ScanReport, key: &str) -> &'a kodo_scan::KeyReport {
    r.keys.iter().find(|k| k.key == key).unwrap()
}

#[test]
fn first_commits_and_pr_links_on_github() {
    let repo = history();
    let r = annotated(&repo, "git@github.com:acme/web.git");
    let signup = find(&r, "user_signed_up");
    assert_eq!(signup.first_commit.as_ref().unwrap().sha, repo.shas[1]);
    assert_eq!(
        signup.first_commit.as_ref().unwrap().subject,
        "Add signup tracking (#12)"
    );
    assert_eq!(
        signup.pr_url.as_deref(),
        Some("https://github.com/acme/web/pull/12")
    );

    let checkout = find(&r, "checkout_started");
    assert_eq!(
        checkout.first_commit.as_ref().unwrap().sha,
        repo.shas[4],
        "the mainline merge brought it in"
    );
    assert_eq!(
        checkout.pr_url.as_deref(),
        Some("https://github.com/acme/web/pull/34")
    );

    let beta = find(&r, "beta-flag");
    assert_eq!(beta.first_commit.as_ref().unwrap().sha, repo.shas[5]);
    assert_eq!(beta.pr_url, None, "no PR-looking subject means no link");

    let login = find(&r, "user_logged_in");
    assert_eq!(
        login.first_commit.as_ref().unwrap().sha,
        repo.shas[8],
        "first use of the constant, not its definition"
    );
    assert_eq!(
        login.pr_url.as_deref(),
        Some("https://github.com/acme/web/pull/71")
    );

    // A GitLab merge request number means nothing on GitHub.
    assert_eq!(find(&r, "gitlab_event").pr_url, None);
}

#[test]
fn gitlab_and_https_remotes() {
    let repo = history();
    let r = annotated(&repo, "https://gitlab.com/grp/sub/proj.git");
    assert_eq!(
        find(&r, "gitlab_event").pr_url.as_deref(),
        Some("https://gitlab.com/grp/sub/proj/-/merge_requests/56")
    );
    assert_eq!(find(&r, "user_signed_up").pr_url, None);

    let r = annotated(&repo, "https://github.com/acme/web");
    assert_eq!(
        find(&r, "user_signed_up").pr_url.as_deref(),
        Some("https://github.com/acme/web/pull/12")
    );
    let r = annotated(&repo, "ssh://git@bitbucket.org/team/web.git");
    assert_eq!(
        find(&r, "checkout_started").pr_url.as_deref(),
        Some("https://bitbucket.org/team/web/pull-requests/34")
    );
    let r = annotated(&repo, "https://git.internal.example/acme/web.git");
    assert!(r
        .keys
        .iter()
        .all(|k| k.pr_url.is_none() && k.first_commit.is_some()));
}

#[test]
fn outside_a_repository_nothing_is_annotated() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("a.ts"), "posthog.capture('x')\n").unwrap();
    let mut report = scan(tmp.path(), &ScanSettings::default()).unwrap();
    git::annotate(tmp.path(), &mut report).unwrap();
    assert_eq!(report.keys.len(), 1);
    assert_eq!(report.keys[0].first_commit, None);
    assert_eq!(report.keys[0].pr_url, None);
}
