//! The git side of the pre-commit gate: which lines a change adds, and the file contents on
//! both sides of it.
//!
//! **Invariants.**
//! - Every `git` call is independent of the user's git configuration where that configuration
//!   could change the output we parse: no colour, no external diff, no textconv, fixed `a/` and
//!   `b/` prefixes, rename detection on, submodules ignored, paths unquoted where git allows.
//! - What is read is what is committed: the new side of a staged change comes from the index
//!   (`:path`), never from the working tree, and the inherited `GIT_INDEX_FILE` is kept, so
//!   `git commit -a` and `git commit <paths>` (which use a temporary index) are seen correctly.
//! - All contents are read through one `git cat-file --batch` process, so the cost follows the
//!   number of changed files, not the size of the repository.
//! - [`parse_diff`] is pure and never panics on any input.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Files larger than this are generated or data, not hand-written code (the scanner's limit).
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// A failure to run or understand git. Exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run `git {args}`: {source}\n  hint: install git and make sure it is on PATH")]
    Spawn {
        args: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`git {args}` failed: {stderr}")]
    Failed { args: String, stderr: String },
    #[error("`{}` is not inside a git repository\n  hint: run kodo from a git checkout", dir.display())]
    NotARepository { dir: PathBuf },
    #[error(
        "`{range}` is not a revision range\n  hint: use A..B (or A...B), e.g. origin/main..HEAD"
    )]
    BadRange { range: String },
    #[error(
        "`{rev}` (in `{range}`) is not a commit this repository has\n  hint: check the spelling, or fetch it first (in CI, a shallow clone may lack it: fetch with enough depth)"
    )]
    UnknownRevision { range: String, rev: String },
    #[error(
        "the two sides of `{range}` share no history (no merge base)\n  hint: name a base branch the other side forked from, e.g. origin/main..HEAD"
    )]
    NoMergeBase { range: String },
    #[error("cannot read the contents git printed for `git cat-file --batch`: {0}")]
    Batch(String),
}

/// One file of a diff, with the lines the new side adds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileChange {
    /// The path on the new side, relative to the repository root; `None` for a deleted file.
    pub new_path: Option<String>,
    /// The path on the old side; `None` for an added file.
    pub old_path: Option<String>,
    /// 1-based line numbers, on the new side, of the added lines.
    pub added: BTreeSet<u32>,
    /// The blob on the old side (`git diff --full-index`), when the diff names one.
    pub old_blob: Option<String>,
    /// The blob on the new side, when the diff names one.
    pub new_blob: Option<String>,
}

/// Parses the output of `git diff -U0 --src-prefix=a/ --dst-prefix=b/` into one entry per
/// file. Binary files and pure renames come back with no added lines.
pub fn parse_diff(text: &str) -> Vec<FileChange> {
    let mut files: Vec<FileChange> = Vec::new();
    let mut next_line: Option<u32> = None;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(rest) = line.strip_prefix("diff --git ") {
            files.push(header_paths(rest));
            next_line = None;
            continue;
        }
        let Some(file) = files.last_mut() else {
            continue;
        };
        if let Some(n) = next_line {
            if let Some(_added) = line.strip_prefix('+') {
                file.added.insert(n);
                next_line = Some(n.saturating_add(1));
                continue;
            }
            if line.starts_with('-') || line.starts_with('\\') {
                continue;
            }
            if line.starts_with(' ') {
                next_line = Some(n.saturating_add(1));
                continue;
            }
        }
        if let Some(rest) = line.strip_prefix("@@ ") {
            next_line = hunk_new_start(rest);
        } else if let Some(rest) = line.strip_prefix("--- ") {
            file.old_path = side_path(rest, "a/");
        } else if let Some(rest) = line.strip_prefix("+++ ") {
            file.new_path = side_path(rest, "b/");
        } else if let Some(rest) = line.strip_prefix("rename from ") {
            file.old_path = Some(unquote(rest));
        } else if let Some(rest) = line.strip_prefix("rename to ") {
            file.new_path = Some(unquote(rest));
        } else if let Some(rest) = line.strip_prefix("index ") {
            let ids = rest.split(' ').next().unwrap_or("");
            if let Some((old, new)) = ids.split_once("..") {
                file.old_blob = blob_id(old);
                file.new_blob = blob_id(new);
            }
        } else if line.starts_with("new file mode") {
            file.old_path = None;
        } else if line.starts_with("deleted file mode") {
            file.new_path = None;
        } else {
            next_line = None;
        }
    }
    files
}

/// The paths in `diff --git a/x b/y`, a first guess that `---`/`+++`/`rename` lines refine.
fn header_paths(rest: &str) -> FileChange {
    let (old, new) = if rest.starts_with('"') {
        match split_quoted(rest) {
            Some((a, b)) => (a, b),
            None => return FileChange::default(),
        }
    } else {
        // Unquoted: `a/<p> b/<p>`; without a rename both halves are the same path.
        let half = rest.len() / 2;
        if rest.len() % 2 == 1 && rest.is_char_boundary(half) && &rest[half..half + 1] == " " {
            (rest[..half].to_string(), rest[half + 1..].to_string())
        } else {
            match rest.split_once(" b/") {
                Some((a, b)) => (a.to_string(), format!("b/{b}")),
                None => return FileChange::default(),
            }
        }
    };
    FileChange {
        old_path: old.strip_prefix("a/").map(str::to_string),
        new_path: new.strip_prefix("b/").map(str::to_string),
        ..FileChange::default()
    }
}

fn split_quoted(rest: &str) -> Option<(String, String)> {
    let (first, tail) = take_path(rest)?;
    let (second, _) = take_path(tail.trim_start())?;
    Some((first, second))
}

/// One path, quoted or not, from the start of `s`; returns it and the rest.
fn take_path(s: &str) -> Option<(String, &str)> {
    if let Some(inner) = s.strip_prefix('"') {
        let mut escaped = false;
        for (i, c) in inner.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                return Some((unquote(&s[..i + 2]), &inner[i + 1..]));
            }
        }
        None
    } else {
        let end = s.find(' ').unwrap_or(s.len());
        Some((s[..end].to_string(), &s[end..]))
    }
}

fn side_path(rest: &str, prefix: &str) -> Option<String> {
    let rest = rest.split('\t').next().unwrap_or(rest);
    if rest == "/dev/null" {
        return None;
    }
    let path = unquote(rest);
    Some(path.strip_prefix(prefix).unwrap_or(&path).to_string())
}

/// An object id from an `index` line; all zeros (no object) is `None`.
fn blob_id(id: &str) -> Option<String> {
    let hex = id.len() >= 4 && id.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && !id.bytes().all(|b| b == b'0')).then(|| id.to_string())
}

/// `+c,d` from a hunk header `-a,b +c,d @@ …`.
fn hunk_new_start(rest: &str) -> Option<u32> {
    let plus = rest.split(' ').find(|part| part.starts_with('+'))?;
    let digits = plus[1..].split(',').next()?;
    digits.parse().ok()
}

/// Undoes git's C-style quoting of a path (`"a\tb\303\251"`); an unquoted path is returned as is.
pub fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return s.to_string();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let raw = inner.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' || i + 1 == raw.len() {
            bytes.push(b);
            i += 1;
            continue;
        }
        let next = raw[i + 1];
        let octal = raw
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        if let Some(d) = octal {
            bytes.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
            i += 4;
            continue;
        }
        bytes.push(match next {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'v' => 0x0b,
            other => other,
        });
        i += 2;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs git in one directory.
#[derive(Debug, Clone)]
pub struct Git {
    dir: PathBuf,
}

/// The options that make `git diff` output parseable whatever the user's configuration.
const DIFF_OPTIONS: &[&str] = &[
    "-c",
    "core.quotePath=false",
    "diff",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "-U0",
    "--full-index",
    "-M",
    "--ignore-submodules=all",
    "--diff-filter=ACMRD",
];

impl Git {
    pub fn new(dir: &Path) -> Git {
        Git {
            dir: dir.to_path_buf(),
        }
    }

    fn run(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let output = Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| GitError::Spawn {
                args: args.join(" "),
                source,
            })?;
        if !output.status.success() {
            return Err(GitError::Failed {
                args: args.join(" "),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(output.stdout)
    }

    /// The root of the working tree this directory belongs to: the nearest directory with a
    /// `.git` entry, found without running git unless `GIT_DIR` or `GIT_WORK_TREE` is set (then
    /// git decides).
    pub fn toplevel(&self) -> Result<PathBuf, GitError> {
        if std::env::var_os("GIT_DIR").is_none() && std::env::var_os("GIT_WORK_TREE").is_none() {
            if let Some(found) = self.dir.ancestors().find(|d| d.join(".git").exists()) {
                return Ok(found.to_path_buf());
            }
        }
        self.toplevel_from_git()
    }

    fn toplevel_from_git(&self) -> Result<PathBuf, GitError> {
        let out =
            self.run(&["rev-parse", "--show-toplevel"])
                .map_err(|_| GitError::NotARepository {
                    dir: self.dir.clone(),
                })?;
        let text = String::from_utf8_lossy(&out);
        Ok(PathBuf::from(text.trim_end_matches(['\n', '\r'])))
    }

    /// The directory git runs hooks from (`core.hooksPath` and worktrees respected), absolute.
    pub fn hooks_dir(&self) -> Result<PathBuf, GitError> {
        let out = self
            .run(&["rev-parse", "--git-path", "hooks"])
            .map_err(|_| GitError::NotARepository {
                dir: self.dir.clone(),
            })?;
        let text = String::from_utf8_lossy(&out);
        let path = PathBuf::from(text.trim_end_matches(['\n', '\r']));
        Ok(if path.is_absolute() {
            path
        } else {
            self.dir.join(path)
        })
    }

    /// The staged change: index against `HEAD` (against the empty tree before the first commit).
    pub fn staged_diff(&self) -> Result<Vec<FileChange>, GitError> {
        let mut args = DIFF_OPTIONS.to_vec();
        args.push("--cached");
        Ok(parse_diff(&String::from_utf8_lossy(&self.run(&args)?)))
    }

    /// The commit a range's new side names, and the merge base its changes are measured from:
    /// `A..B` and `A...B` both mean "what B adds since it forked from A", as a pull request does.
    pub fn range_bounds(&self, range: &str) -> Result<(String, String), GitError> {
        let (a, b) = match range.split_once("...") {
            Some(pair) => pair,
            None => range.split_once("..").ok_or_else(|| GitError::BadRange {
                range: range.to_string(),
            })?,
        };
        let a = if a.is_empty() { "HEAD" } else { a };
        let b = if b.is_empty() { "HEAD" } else { b };
        let unknown = |rev: &str| {
            let (range, rev) = (range.to_string(), rev.to_string());
            move |_| GitError::UnknownRevision { range, rev }
        };
        let old = self.rev(a).map_err(unknown(a))?;
        let new = self.rev(b).map_err(unknown(b))?;
        let no_base = |_| GitError::NoMergeBase {
            range: range.to_string(),
        };
        let base =
            String::from_utf8_lossy(&self.run(&["merge-base", &old, &new]).map_err(no_base)?)
                .trim()
                .to_string();
        Ok((base, new))
    }

    fn rev(&self, rev: &str) -> Result<String, GitError> {
        let spec = format!("{rev}^{{commit}}");
        let out = self.run(&[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ])?;
        Ok(String::from_utf8_lossy(&out).trim().to_string())
    }

    /// The change from commit `base` to commit `new`.
    pub fn range_diff(&self, base: &str, new: &str) -> Result<Vec<FileChange>, GitError> {
        let mut args = DIFF_OPTIONS.to_vec();
        args.extend([base, new, "--"]);
        Ok(parse_diff(&String::from_utf8_lossy(&self.run(&args)?)))
    }

    /// Reads objects (blob ids, or `:path`, `HEAD:path`, `<sha>:path`) with one
    /// `git cat-file --batch`.
    /// A missing object, a non-blob, a path git cannot be asked for (a newline in it) or a file
    /// over [`MAX_FILE_BYTES`] is `None`.
    pub fn read_blobs(&self, specs: &[String]) -> Result<Vec<Option<Vec<u8>>>, GitError> {
        let mut out: Vec<Option<Vec<u8>>> = vec![None; specs.len()];
        let asked: Vec<(usize, &String)> = specs
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.contains('\n'))
            .collect();
        if asked.is_empty() {
            return Ok(out);
        }
        let args = ["cat-file", "--batch"];
        let spawn_err = |source| GitError::Spawn {
            args: args.join(" "),
            source,
        };
        let mut child = Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_err)?;
        let mut input = String::new();
        for (_, spec) in &asked {
            input.push_str(spec);
            input.push('\n');
        }
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| GitError::Batch("no stdin".into()))?;
        // Written from a thread so a large answer cannot deadlock against our input.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| GitError::Batch("no stdout".into()))?;
        let mut reader = BufReader::new(stdout);
        for (index, spec) in &asked {
            let mut header = String::new();
            reader
                .read_line(&mut header)
                .map_err(|e| GitError::Batch(e.to_string()))?;
            let header = header.trim_end();
            if header.is_empty() {
                return Err(GitError::Batch(format!("no answer for `{spec}`")));
            }
            let fields: Vec<&str> = header.split(' ').collect();
            if fields.len() != 3 {
                // `<spec> missing`, `<spec> ambiguous`: nothing follows.
                continue;
            }
            let size: u64 = fields[2]
                .parse()
                .map_err(|_| GitError::Batch(format!("bad header `{header}`")))?;
            let mut content = Vec::new();
            (&mut reader)
                .take(size)
                .read_to_end(&mut content)
                .map_err(|e| GitError::Batch(e.to_string()))?;
            let mut newline = [0u8; 1];
            reader
                .read_exact(&mut newline)
                .map_err(|e| GitError::Batch(e.to_string()))?;
            if fields[1] == "blob" && size <= MAX_FILE_BYTES {
                out[*index] = Some(content);
            }
        }
        let _ = writer.join();
        let status = child.wait().map_err(spawn_err)?;
        if !status.success() {
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut stderr);
            }
            return Err(GitError::Failed {
                args: args.join(" "),
                stderr: stderr.trim().to_string(),
            });
        }
        Ok(out)
    }
}

/// The added line numbers of every changed file that has a new side, by new path.
pub fn added_by_path(changes: &[FileChange]) -> BTreeMap<&str, &BTreeSet<u32>> {
    changes
        .iter()
        .filter_map(|c| c.new_path.as_deref().map(|p| (p, &c.added)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_of_modified_added_and_renamed_files() {
        let diff = "\
diff --git a/src/app.ts b/src/app.ts
index 1111111..2222222 100644
--- a/src/app.ts
+++ b/src/app.ts
@@ -3,0 +4,2 @@ function main() {
+  posthog.capture('a')
+  posthog.capture('b')
@@ -10 +12 @@ x
-old
+new
diff --git a/new.py b/new.py
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/new.py
@@ -0,0 +1,2 @@
+import posthog
+posthog.capture('c')
diff --git a/old name.js b/new name.js
similarity index 90%
rename from old name.js
rename to new name.js
index 4444444..5555555 100644
--- a/old name.js
+++ b/new name.js
@@ -1 +1 @@
-x
+y
diff --git a/gone.js b/gone.js
deleted file mode 100644
index 6666666..0000000
--- a/gone.js
+++ /dev/null
@@ -1 +0,0 @@
-posthog.capture('d')
";
        let files = parse_diff(diff);
        assert_eq!(files.len(), 4);
        assert_eq!(files[0].new_path.as_deref(), Some("src/app.ts"));
        assert_eq!(files[0].old_path.as_deref(), Some("src/app.ts"));
        assert_eq!(
            files[0].added.iter().copied().collect::<Vec<_>>(),
            [4, 5, 12]
        );
        assert_eq!(files[1].old_path, None);
        assert_eq!(files[1].added.iter().copied().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(files[2].old_path.as_deref(), Some("old name.js"));
        assert_eq!(files[2].new_path.as_deref(), Some("new name.js"));
        assert_eq!(files[2].added.iter().copied().collect::<Vec<_>>(), [1]);
        assert_eq!(files[3].new_path, None);
        assert_eq!(files[3].old_path.as_deref(), Some("gone.js"));
        assert!(files[3].added.is_empty());
    }

    #[test]
    fn pure_rename_and_binary_files_add_nothing() {
        let diff = "\
diff --git a/a.js b/b.js
similarity index 100%
rename from a.js
rename to b.js
diff --git a/img.png b/img.png
index 1..2 100644
Binary files a/img.png and b/img.png differ
";
        let files = parse_diff(diff);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].old_path.as_deref(), Some("a.js"));
        assert_eq!(files[0].new_path.as_deref(), Some("b.js"));
        assert!(files.iter().all(|f| f.added.is_empty()));
    }

    #[test]
    fn quoted_paths_are_unquoted() {
        assert_eq!(unquote("\"a\\tb\\303\\251.js\""), "a\tbé.js");
        assert_eq!(unquote("plain.js"), "plain.js");
        let diff = "diff --git \"a/x\\\"y.js\" \"b/x\\\"y.js\"\n--- \"a/x\\\"y.js\"\n+++ \"b/x\\\"y.js\"\n@@ -0,0 +1 @@\n+z\n";
        let files = parse_diff(diff);
        assert_eq!(files[0].new_path.as_deref(), Some("x\"y.js"));
        assert_eq!(files[0].added.len(), 1);
    }

    #[test]
    fn a_removed_line_that_looks_like_a_header_is_not_one() {
        // `--- x` inside a hunk is a removed line `-- x`, not a file header.
        let diff = "diff --git a/a.sql b/a.sql\n--- a/a.sql\n+++ b/a.sql\n@@ -1,2 +1 @@\n--- comment\n-++ y\n+kept\n";
        let files = parse_diff(diff);
        assert_eq!(files[0].new_path.as_deref(), Some("a.sql"));
        assert_eq!(files[0].added.iter().copied().collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "",
            "@@ +x @@\n+a",
            "diff --git \"unterminated\n+++ b/\n@@ -1 +",
            "\u{0}\n+\n",
        ] {
            let _ = parse_diff(text);
        }
    }
}
