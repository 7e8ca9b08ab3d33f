//! Edits to verify, as whole new file contents ([`FileChange`]), and unified diffs
//! turned into them against the workspace's files.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// A file's content after the edit (`None`: deleted), by path relative to the root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    pub path: String,
    pub content: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EditError {
    #[error("the diff does not parse: {0}")]
    Parse(String),
    #[error("the diff does not apply to {path}: {reason}")]
    Apply { path: String, reason: String },
    #[error("{0} is outside the workspace")]
    Outside(String),
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
}

/// A path from a diff header, without `a/`/`b/` prefixes; `None` for `/dev/null`.
fn header_path(line: &str) -> Option<String> {
    let path = line.split('\t').next()?.trim();
    if path == "/dev/null" {
        return None;
    }
    let path = path
        .strip_prefix("a/")
        .or_else(|| path.strip_prefix("b/"))
        .unwrap_or(path);
    Some(path.to_string())
}

/// What git prints without hunks, in its `diff --git` blocks: a file renamed or copied
/// unchanged, an empty file created or deleted. A binary change cannot be carried by a
/// text diff: it is an error that names the file, not a change silently left out. A
/// change of mode alone leaves the contents as they are: it is listed second, to say so
/// when a diff has nothing else.
fn header_only_changes(
    root: &Path,
    lines: &[&str],
) -> Result<(Vec<FileChange>, Vec<String>), EditError> {
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("diff --git "))
        .collect();
    let mut changes = Vec::new();
    let mut modes = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(lines.len());
        let block: Vec<&str> = lines[start..end].iter().map(|l| l.trim_end()).collect();
        let value = |key: &str| block.iter().find_map(|l| l.strip_prefix(key));
        let paths = block[0].strip_prefix("diff --git a/").and_then(|rest| {
            let (old, new) = rest.split_once(" b/")?;
            Some((old.to_string(), new.to_string()))
        });
        if block
            .iter()
            .any(|l| l.starts_with("Binary files ") || *l == "GIT binary patch")
        {
            let path = paths.map_or_else(|| block[0].to_string(), |(_, new)| new);
            return Err(EditError::Parse(format!(
                "{path} is a binary change, which a text diff cannot carry"
            )));
        }
        if block.iter().any(|l| l.starts_with("--- ")) {
            continue;
        }
        if let (Some(from), Some(to)) = (value("rename from "), value("rename to ")) {
            changes.push(FileChange {
                path: checked(to)?,
                content: Some(read_inside(root, from)?),
            });
            changes.push(FileChange {
                path: checked(from)?,
                content: None,
            });
        } else if let (Some(from), Some(to)) = (value("copy from "), value("copy to ")) {
            changes.push(FileChange {
                path: checked(to)?,
                content: Some(read_inside(root, from)?),
            });
        } else if let (Some(_), Some((_, new))) = (value("new file mode "), &paths) {
            changes.push(FileChange {
                path: checked(new)?,
                content: Some(String::new()),
            });
        } else if let (Some(_), Some((old, _))) = (value("deleted file mode "), &paths) {
            changes.push(FileChange {
                path: checked(old)?,
                content: None,
            });
        } else if let (Some(from), Some(to), Some((_, new))) =
            (value("old mode "), value("new mode "), &paths)
        {
            modes.push(format!("{new} {from} -> {to}"));
        }
    }
    Ok((changes, modes))
}

/// The text of the workspace's file at `path`, which must stay inside it.
fn read_inside(root: &Path, path: &str) -> Result<String, EditError> {
    let path = checked(path)?;
    std::fs::read_to_string(root.join(&path)).map_err(|e| EditError::Read {
        path,
        reason: e.to_string(),
    })
}

/// Checks a relative path stays inside the workspace.
pub(crate) fn checked(path: &str) -> Result<String, EditError> {
    let p = Path::new(path);
    let inside = !p.is_absolute()
        && p.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
    if inside && !path.is_empty() {
        Ok(path.to_string())
    } else {
        Err(EditError::Outside(path.to_string()))
    }
}

/// Applies a unified diff (one or more files, `git diff` or `diff -u` style) to the
/// files under `root`, returning their new contents. Nothing is written.
pub fn apply_unified_diff(root: &Path, diff: &str) -> Result<Vec<FileChange>, EditError> {
    // Split into per-file patches at each `--- ` header followed by `+++ `.
    let lines: Vec<&str> = diff.split_inclusive('\n').collect();
    let mut starts = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("--- ") && lines.get(i + 1).is_some_and(|l| l.starts_with("+++ ")) {
            starts.push(i);
        }
    }
    let (mut changes, modes) = header_only_changes(root, &lines)?;
    if starts.is_empty() && changes.is_empty() {
        if !modes.is_empty() {
            return Err(EditError::Parse(format!(
                "the diff changes only file modes ({}): verification applies contents, and these are unchanged",
                modes.join(", ")
            )));
        }
        return Err(EditError::Parse("no `---`/`+++` file headers".into()));
    }
    for (k, &start) in starts.iter().enumerate() {
        // A file's patch ends at the next file's headers, or before the first line no
        // hunk has: git's `diff --git` and `index` lines of the next file, say.
        let next = starts.get(k + 1).copied().unwrap_or(lines.len());
        let end = (start + 2..next)
            .find(|&i| !lines[i].starts_with([' ', '+', '-', '\\', '@', '\n', '\r']))
            .unwrap_or(next);
        let text: String = lines[start..end].concat();
        let old = header_path(&lines[start][4..]);
        let new = header_path(&lines[start + 1][4..]);
        let patch = diffy::Patch::from_str(&text).map_err(|e| EditError::Parse(e.to_string()))?;
        let original = match &old {
            Some(path) => read_inside(root, path)?,
            None => String::new(),
        };
        let target = new
            .clone()
            .or(old.clone())
            .ok_or_else(|| EditError::Parse("a diff from /dev/null to /dev/null".into()))?;
        let target = checked(&target)?;
        // Renamed with edits: the old path goes.
        if let (Some(old), Some(new)) = (&old, &new) {
            if old != new {
                changes.push(FileChange {
                    path: checked(old)?,
                    content: None,
                });
            }
        }
        let content = match new {
            None => None,
            Some(_) => Some(
                diffy::apply(&original, &patch).map_err(|e| EditError::Apply {
                    path: target.clone(),
                    reason: e.to_string(),
                })?,
            ),
        };
        changes.push(FileChange {
            path: target,
            content,
        });
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_git_diff_applies_to_several_files_and_creates_and_deletes() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("src")).unwrap();
        std::fs::write(root.path().join("src/a.rs"), "fn a() {\n    1\n}\n").unwrap();
        std::fs::write(root.path().join("old.txt"), "bye\n").unwrap();
        let diff = "diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1,3 +1,3 @@\n fn a() {\n-    1\n+    2\n }\n\
                    --- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hello\n\
                    --- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n";
        let changes = apply_unified_diff(root.path(), diff).unwrap();
        assert_eq!(
            changes,
            vec![
                FileChange {
                    path: "src/a.rs".into(),
                    content: Some("fn a() {\n    2\n}\n".into())
                },
                FileChange {
                    path: "new.txt".into(),
                    content: Some("hello\n".into())
                },
                FileChange {
                    path: "old.txt".into(),
                    content: None
                },
            ]
        );
        assert_eq!(
            std::fs::read_to_string(root.path().join("src/a.rs")).unwrap(),
            "fn a() {\n    1\n}\n"
        );
    }

    #[test]
    fn git_diff_headers_between_files_are_not_hunk_lines() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("a.py"), "x = 1\n").unwrap();
        std::fs::write(root.path().join("b.py"), "y = 1\n").unwrap();
        // As `git diff` prints it: each file's extended headers before its `---`.
        let diff = "diff --git a/a.py b/a.py\nindex 1c2a1b1..8ac4d2c 100644\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n\
                    diff --git a/b.py b/b.py\nindex 3e1a2f0..9ab2c31 100644\n--- a/b.py\n+++ b/b.py\n@@ -1 +1,2 @@\n y = 1\n+z = 3\n\
                    diff --git a/c.py b/c.py\nnew file mode 100644\nindex 0000000..e69de29\n--- /dev/null\n+++ b/c.py\n@@ -0,0 +1 @@\n+w = 4\n";
        let changes = apply_unified_diff(root.path(), diff).unwrap();
        let contents: Vec<(&str, Option<&str>)> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.content.as_deref()))
            .collect();
        assert_eq!(
            contents,
            [
                ("a.py", Some("x = 2\n")),
                ("b.py", Some("y = 1\nz = 3\n")),
                ("c.py", Some("w = 4\n"))
            ]
        );
    }

    #[test]
    fn renames_copies_and_empty_files_without_hunks_apply_and_binaries_are_refused() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("old.py"), "x = 1\n").unwrap();
        std::fs::write(root.path().join("moved.py"), "y = 1\n").unwrap();
        std::fs::write(root.path().join("gone.py"), "").unwrap();
        let diff = "diff --git a/old.py b/new.py\nsimilarity index 100%\nrename from old.py\nrename to new.py\n\
                    diff --git a/pkg/__init__.py b/pkg/__init__.py\nnew file mode 100644\nindex 0000000..e69de29\n\
                    diff --git a/gone.py b/gone.py\ndeleted file mode 100644\nindex e69de29..0000000\n\
                    diff --git a/moved.py b/edited.py\nsimilarity index 50%\nrename from moved.py\nrename to edited.py\n\
                    index 1..2 100644\n--- a/moved.py\n+++ b/edited.py\n@@ -1 +1 @@\n-y = 1\n+y = 2\n";
        let changes = apply_unified_diff(root.path(), diff).unwrap();
        let got: Vec<(&str, Option<&str>)> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.content.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("new.py", Some("x = 1\n")),
                ("old.py", None),
                ("pkg/__init__.py", Some("")),
                ("gone.py", None),
                ("moved.py", None),
                ("edited.py", Some("y = 2\n")),
            ]
        );
        let modes = "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n";
        let err = apply_unified_diff(root.path(), modes).unwrap_err();
        assert_eq!(
            err,
            EditError::Parse("the diff changes only file modes (run.sh 100644 -> 100755): verification applies contents, and these are unchanged".into())
        );
        let binary = "diff --git a/logo.png b/logo.png\nindex 1..2 100644\nBinary files a/logo.png and b/logo.png differ\n";
        let err = apply_unified_diff(root.path(), binary).unwrap_err();
        assert_eq!(
            err,
            EditError::Parse("logo.png is a binary change, which a text diff cannot carry".into())
        );
    }

    #[test]
    fn bad_diffs_are_clear_errors() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("a.txt"), "x\n").unwrap();
        assert!(matches!(
            apply_unified_diff(root.path(), "nothing"),
            Err(EditError::Parse(_))
        ));
        let wrong = "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-y\n+z\n";
        assert!(matches!(
            apply_unified_diff(root.path(), wrong),
            Err(EditError::Apply { .. })
        ));
        let outside = "--- a/../etc/passwd\n+++ b/../etc/passwd\n@@ -1 +1 @@\n-y\n+z\n";
        assert!(matches!(
            apply_unified_diff(root.path(), outside),
            Err(EditError::Outside(_))
        ));
    }
}
