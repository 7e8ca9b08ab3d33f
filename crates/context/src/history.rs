//! What git knows about how files change: which change together (co-change), and which
//! changed lately (recency). Both come from the commits before the question, newest
//! first, as paths relative to the folder's root.

use std::{path::Path, process::Command};

use rustc_hash::FxHashMap;

/// How many commits are read: enough to see the files that change together, few enough
/// that reading them is quick (`git log` of 500 commits takes tens of milliseconds).
pub const COMMITS: usize = 500;

/// Commits touching more files than this are sweeping changes (formatting, renames,
/// version bumps): they say nothing about which files belong together.
const MAX_FILES_PER_COMMIT: usize = 30;

/// A file keeps its strongest partners only.
const PARTNERS: usize = 12;

/// Recency halves every this many commits.
const RECENCY_HALF_LIFE: f64 = 25.0;

/// Co-change and recency per file.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Per file, the files that changed with it: the share of its commits that also
    /// changed the other, strongest first.
    partners: FxHashMap<String, Vec<(String, f64)>>,
    /// Per file, 1 when changed in the newest commit (or not committed yet), halving
    /// every [`RECENCY_HALF_LIFE`] commits.
    recency: FxHashMap<String, f64>,
    commits: usize,
}

impl History {
    /// From commits given as the paths each changed, newest first; `dirty` files (changed
    /// and not committed) count as changed now.
    pub fn from_commits(commits: Vec<Vec<String>>) -> History {
        History::from_commits_and_dirty(commits, Vec::new())
    }

    fn from_commits_and_dirty(commits: Vec<Vec<String>>, dirty: Vec<String>) -> History {
        let mut recency: FxHashMap<String, f64> = FxHashMap::default();
        for path in dirty {
            recency.insert(path, 1.0);
        }
        let mut changes: FxHashMap<&str, f64> = FxHashMap::default();
        let mut pairs: FxHashMap<(&str, &str), f64> = FxHashMap::default();
        for (age, files) in commits.iter().enumerate() {
            let weight = 0.5f64.powf(age as f64 / RECENCY_HALF_LIFE);
            for f in files {
                let r = recency.entry(f.clone()).or_insert(0.0);
                *r = r.max(weight);
            }
            if files.len() < 2 || files.len() > MAX_FILES_PER_COMMIT {
                for f in files {
                    *changes.entry(f).or_default() += 1.0;
                }
                continue;
            }
            for a in files {
                *changes.entry(a).or_default() += 1.0;
                for b in files {
                    if a != b {
                        *pairs.entry((a, b)).or_default() += 1.0;
                    }
                }
            }
        }
        let mut partners: FxHashMap<String, Vec<(String, f64)>> = FxHashMap::default();
        for ((a, b), n) in pairs {
            let share = n / changes[a];
            partners
                .entry(a.to_string())
                .or_default()
                .push((b.to_string(), share));
        }
        for list in partners.values_mut() {
            list.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
            list.truncate(PARTNERS);
        }
        History {
            partners,
            recency,
            commits: commits.len(),
        }
    }

    /// The history of the git checkout around `root`: its last [`COMMITS`] commits and its
    /// uncommitted changes. No git, or no repository, is an empty history (the graph
    /// alone ranks then).
    pub fn from_git(root: &Path) -> History {
        let Some(prefix) = git(root, &["rev-parse", "--show-prefix"]) else {
            return History::default();
        };
        let prefix = prefix.trim().to_string();
        let relative = |path: &str| -> Option<String> {
            path.strip_prefix(prefix.as_str())
                .filter(|p| !p.is_empty())
                .map(str::to_string)
        };
        let log = git(
            root,
            &[
                "log",
                "--no-merges",
                "--no-renames",
                "--format=%x00",
                "--name-only",
                &format!("-n{COMMITS}"),
                "--",
                ".",
            ],
        )
        .unwrap_or_default();
        let commits: Vec<Vec<String>> = log
            .split('\0')
            .map(|block| block.lines().filter_map(relative).collect::<Vec<_>>())
            .filter(|files| !files.is_empty())
            .collect();
        let dirty = git(root, &["status", "--porcelain=v1", "--no-renames", "."])
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.get(3..))
            .filter_map(relative)
            .collect();
        History::from_commits_and_dirty(commits, dirty)
    }

    /// The files that change with `path`, with the share of its commits they share.
    pub fn partners(&self, path: &str) -> &[(String, f64)] {
        self.partners.get(path).map_or(&[], Vec::as_slice)
    }

    /// 0 (not changed in the commits read) to 1 (changed now or in the newest commit).
    pub fn recency(&self, path: &str) -> f64 {
        self.recency.get(path).copied().unwrap_or(0.0)
    }

    /// How many commits were read.
    pub fn commits(&self) -> usize {
        self.commits
    }
}

/// The output of `git -C root args`, or None when git fails.
fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::History;

    fn commit(files: &[&str]) -> Vec<String> {
        files.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn files_changed_together_are_partners() {
        let h = History::from_commits(vec![
            commit(&["a.py", "b.py"]),
            commit(&["a.py", "b.py", "c.py"]),
            commit(&["a.py"]),
            commit(&["d.py"]),
        ]);
        let partners = h.partners("a.py");
        assert_eq!(partners[0].0, "b.py");
        // a.py changed 3 times, twice with b.py, once with c.py.
        assert!((partners[0].1 - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(partners[1].0, "c.py");
        assert!(h.partners("d.py").is_empty());
        assert!(h.recency("a.py") > h.recency("d.py"));
        assert_eq!(h.recency("e.py"), 0.0);
    }
}
