//! First commits and pull-request links for every key, from one pass over git history.
//!
//! [`annotate`] runs a single `git log --first-parent --reverse -m -p --unified=0` over the
//! scanned tree, so every mainline commit (a merge included, diffed against its first
//! parent) shows the lines it brought in, oldest first. Added lines in source files are
//! matched against all keys at once (one Aho-Corasick automaton over the quoted key
//! literals and the identifiers that resolved to them); the first mainline commit that adds
//! a match is the key's first commit. Its subject (and body) give the PR number: GitHub
//! squash `(#123)`, `Merge pull request #123 from …`, GitLab `See merge request g/p!123`,
//! Bitbucket `(pull request #123)`; the `origin` remote gives the host and project.
//!
//! Invariants: no match or no PR-looking subject gives `None`, never a guess; no `git`
//! binary, a directory outside any repository, or a repository without commits leave the
//! report unannotated and are not errors; output is streamed, never held whole.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use aho_corasick::MatchKind;

use crate::lang::Lang;
use crate::{Commit, ScanError, ScanReport};

/// Fills [`crate::KeyReport::first_commit`] and [`crate::KeyReport::pr_url`] from the
/// history of the repository containing `repo`, restricted to `repo`'s subtree.
pub fn annotate(repo: &Path, report: &mut ScanReport) -> Result<(), ScanError> {
    if report.keys.is_empty() {
        return Ok(());
    }
    let dir = if repo.is_file() {
        repo.parent().unwrap_or(repo)
    } else {
        repo
    };
    let probe = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--verify", "--quiet", "HEAD"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        _ => return Ok(()),
    }
    let remote = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["config", "--get", "remote.origin.url"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();

    // Needles: quoted literals and identifiers, each pointing at the keys it stands for.
    let mut needles: Vec<String> = Vec::new();
    let mut owners: Vec<(Vec<usize>, bool)> = Vec::new(); // (key indexes, needs word boundaries)
    let mut add = |needle: String, key: usize, word: bool| {
        if let Some(i) = needles.iter().position(|n| *n == needle) {
            if !owners[i].0.contains(&key) {
                owners[i].0.push(key);
            }
        } else {
            needles.push(needle);
            owners.push((vec![key], word));
        }
    };
    for (i, k) in report.keys.iter().enumerate() {
        // The literal counts only for keys written literally somewhere; a key reached only
        // through a constant is first referenced where the constant is first used.
        if k.references.iter().any(|r| r.identifier.is_none()) {
            for q in ['\'', '"', '`'] {
                add(format!("{q}{}{q}", k.key), i, false);
            }
        }
        for r in &k.references {
            if let Some(id) = &r.identifier {
                add(id.clone(), i, true);
                if id.contains('.') {
                    add(id.replace('.', "::"), i, true);
                    add(id.replace('.', "->"), i, true);
                }
            }
        }
    }
    let matcher = crate::patterns::literal_matcher(&needles, MatchKind::Standard)?;

    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "core.quotepath=off",
            "log",
            "--first-parent",
            "--reverse",
            "-m",
            "-p",
            "--unified=0",
            "--no-color",
            "--no-renames",
            "--no-ext-diff",
            "--format=%x1e%H%x1f%cI%x1f%s%x1f%b%x1d",
            "--",
            ".",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| ScanError::Git(format!("cannot run git log: {e}")))?;
    let Some(stdout) = child.stdout.take() else {
        return Err(ScanError::Git("git log has no output stream".into()));
    };
    let mut found: Vec<Option<(Commit, String)>> = vec![None; report.keys.len()];
    let mut remaining = report.keys.len();
    let mut current: Option<(Commit, String)> = None;
    let mut header: Option<String> = None;
    let mut source_file = false;
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| ScanError::Git(format!("reading git log: {e}")))?;
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        if let Some(rest) = text.strip_prefix('\u{1e}') {
            header = Some(rest.to_string());
        } else if let Some(h) = header.as_mut() {
            h.push_str(&text);
        }
        if let Some(h) = header.as_ref().filter(|h| h.contains('\u{1d}')) {
            let body_end = h.find('\u{1d}').unwrap_or(h.len());
            let mut parts = h[..body_end].splitn(4, '\u{1f}');
            let sha = parts.next().unwrap_or_default().trim().to_string();
            let date = parts.next().unwrap_or_default().to_string();
            let subject = parts.next().unwrap_or_default().to_string();
            let body = parts.next().unwrap_or_default().to_string();
            current = Some((Commit { sha, subject, date }, body));
            header = None;
            source_file = false;
            continue;
        }
        if header.is_some() {
            continue;
        }
        if let Some(path) = text.strip_prefix("+++ ") {
            let path = path.trim_end();
            source_file = path
                .strip_prefix("b/")
                .is_some_and(|p| Lang::from_path(p).is_some());
            continue;
        }
        if !source_file || !text.starts_with('+') {
            continue;
        }
        let Some(commit) = current.as_ref() else {
            continue;
        };
        let added = &line[1..];
        for m in matcher.find_overlapping_iter(added) {
            let (keys, word) = &owners[m.pattern().as_usize()];
            if *word {
                let before = m.start().checked_sub(1).map(|i| added[i]);
                let after = added.get(m.end()).copied();
                let ident = |b: Option<u8>| {
                    b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
                };
                if ident(before)
                    || ident(after)
                    || before == Some(b'.')
                    || defines(&added[m.end()..])
                {
                    continue;
                }
            }
            for &k in keys {
                if found[k].is_none() {
                    found[k] = Some(commit.clone());
                    remaining -= 1;
                }
            }
        }
        if remaining == 0 {
            break;
        }
    }
    if remaining == 0 {
        let _ = child.kill();
    }
    let status = child
        .wait()
        .map_err(|e| ScanError::Git(format!("waiting for git log: {e}")))?;
    if remaining != 0 && !status.success() {
        return Err(ScanError::Git(format!("git log failed ({status})")));
    }
    for (k, f) in report.keys.iter_mut().zip(found) {
        if let Some((commit, body)) = f {
            k.pr_url = pr_url(&remote, &format!("{}\n{}", commit.subject, body));
            k.first_commit = Some(commit);
        }
    }
    Ok(())
}

/// Text following a name that makes it a definition (`= …`, `: …`), not a use.
fn defines(rest: &[u8]) -> bool {
    let rest = rest.trim_ascii_start();
    (rest.starts_with(b"=") && !rest.starts_with(b"==") && !rest.starts_with(b"=>"))
        || (rest.starts_with(b":") && !rest.starts_with(b"::"))
        || rest.starts_with(b":=")
}

/// The pull/merge request URL for a commit message (`subject`, optionally followed by the
/// body) and an `origin` URL in any of the usual forms (`https://host/o/r(.git)`,
/// `git@host:o/r.git`, `ssh://git@host[:port]/o/r.git`). GitHub and GitHub Enterprise,
/// GitLab (subgroups included) and Bitbucket; any other host, or a message naming no PR,
/// gives `None`.
pub fn pr_url(remote_url: &str, subject: &str) -> Option<String> {
    let (host, project) = parse_remote(remote_url)?;
    let host_l = host.to_ascii_lowercase();
    if host_l.contains("gitlab") {
        let n = gitlab_mr(subject)?;
        return Some(format!("https://{host}/{project}/-/merge_requests/{n}"));
    }
    let n = hash_pr(subject)?;
    if host_l == "bitbucket.org" || host_l.contains("bitbucket") {
        return Some(format!("https://{host}/{project}/pull-requests/{n}"));
    }
    if host_l.contains("github") {
        return Some(format!("https://{host}/{project}/pull/{n}"));
    }
    None
}

/// `(host, owner/…/repo)` from a remote URL.
fn parse_remote(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let (host, path) = if let Some((scheme, rest)) = url.split_once("://") {
        if !matches!(
            scheme,
            "https" | "http" | "ssh" | "git" | "git+ssh" | "ssh+git"
        ) {
            return None;
        }
        let (authority, path) = rest.split_once('/')?;
        let host = authority.rsplit('@').next()?;
        let host = host.split(':').next()?;
        (host.to_string(), path.to_string())
    } else {
        // scp-like: [user@]host:path
        let (left, path) = url.split_once(':')?;
        if left.contains('/') {
            return None;
        }
        let host = left.rsplit('@').next()?;
        (host.to_string(), path.to_string())
    };
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path).trim_matches('/');
    if host.is_empty() || !path.contains('/') {
        return None;
    }
    Some((host, path.to_string()))
}

/// `#123` as GitHub and Bitbucket write it in squash and merge subjects.
fn hash_pr(msg: &str) -> Option<u64> {
    let subject = msg.lines().next().unwrap_or("");
    for marker in ["Merge pull request #", "pull request #"] {
        if let Some(i) = msg.find(marker) {
            return digits(&msg[i + marker.len()..]);
        }
    }
    // Squash: the last `(#123)` in the subject.
    let i = subject.rfind("(#")?;
    let n = digits(&subject[i + 2..])?;
    subject[i + 2..]
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .starts_with(')')
        .then_some(n)
}

/// `!123` as GitLab writes it (`See merge request group/project!123`, `… (!123)`).
fn gitlab_mr(msg: &str) -> Option<u64> {
    if let Some(i) = msg.find("See merge request ") {
        let rest = &msg[i..];
        let bang = rest.find('!')?;
        return digits(&rest[bang + 1..]);
    }
    let subject = msg.lines().next().unwrap_or("");
    let i = subject.rfind("(!")?;
    digits(&subject[i + 2..])
}

fn digits(s: &str) -> Option<u64> {
    let d: String = s.chars().take_while(char::is_ascii_digit).collect();
    d.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_forms() {
        let cases = [
            (
                "https://github.com/acme/web.git",
                "Add signup (#42)",
                Some("https://github.com/acme/web/pull/42"),
            ),
            (
                "git@github.com:acme/web.git",
                "Merge pull request #7 from acme/feature",
                Some("https://github.com/acme/web/pull/7"),
            ),
            (
                "ssh://git@github.com/acme/web",
                "x (#9)",
                Some("https://github.com/acme/web/pull/9"),
            ),
            (
                "https://user:token@github.com/acme/web.git",
                "x (#9)",
                Some("https://github.com/acme/web/pull/9"),
            ),
            (
                "git@gitlab.com:grp/sub/proj.git",
                "Merge branch 'f' into 'main'\n\nSee merge request grp/sub/proj!15",
                Some("https://gitlab.com/grp/sub/proj/-/merge_requests/15"),
            ),
            (
                "ssh://git@gitlab.example.com:2222/grp/proj.git",
                "Fix (!3)",
                Some("https://gitlab.example.com/grp/proj/-/merge_requests/3"),
            ),
            (
                "https://bitbucket.org/team/repo.git",
                "Merged in feature (pull request #5)",
                Some("https://bitbucket.org/team/repo/pull-requests/5"),
            ),
            (
                "git@bitbucket.org:team/repo.git",
                "Add x (#6)",
                Some("https://bitbucket.org/team/repo/pull-requests/6"),
            ),
            ("https://git.example.org/acme/web.git", "Add (#1)", None),
            ("https://github.com/acme/web.git", "No PR here", None),
            (
                "https://github.com/acme/web.git",
                "Fix issue #12 typo",
                None,
            ),
            ("", "Add (#1)", None),
        ];
        for (remote, subject, want) in cases {
            assert_eq!(
                pr_url(remote, subject).as_deref(),
                want,
                "{remote} / {subject}"
            );
        }
    }
}
