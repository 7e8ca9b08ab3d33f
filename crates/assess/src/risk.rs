//! The risk of a change, from a model trained on the project's own history: just-in-time
//! defect prediction (Kamei et al., 2013). Each commit is described by what it touches
//! (lines added and deleted, files, directories, subsystems, how spread its change is)
//! and by the history of what it touches (how large, how old, how often changed and
//! fixed, by how many authors) and of its author (experience); it is labelled
//! fix-inducing when a later fix commit deleted or changed lines it wrote, found by
//! blaming those lines in the fix's parent (SZZ, Śliwerski, Zimmermann and Zeller,
//! 2005). A logistic regression (`linfa-logistic`) learns from them; a proposed edit is
//! described the same way and scored, with the features that pushed its score up most.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    process::Command,
};

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use serde::Serialize;

/// What a commit (or a proposed edit) changed in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStat {
    pub path: String,
    pub added: u32,
    pub deleted: u32,
}

/// A commit of the history, as the model sees it.
#[derive(Clone, Debug)]
pub struct Commit {
    pub hash: String,
    pub author: String,
    /// Seconds since the epoch.
    pub time: i64,
    /// Its message says it fixes something.
    pub fix: bool,
    pub files: Vec<FileStat>,
}

/// The features, in order, as they are named in an answer.
pub const FEATURES: [&str; 13] = [
    "lines added",
    "lines deleted",
    "files touched",
    "directories touched",
    "subsystems touched",
    "spread of the change (entropy)",
    "size of the touched files",
    "past authors of the touched files",
    "age of the touched code",
    "past changes to the touched files",
    "author's experience",
    "past fixes in the touched files",
    "is a fix",
];

pub type Features = [f64; FEATURES.len()];

/// Whether a commit message says it fixes something.
pub fn is_fix(message: &str) -> bool {
    message
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .any(|w| {
            matches!(
                w.as_str(),
                "fix"
                    | "fixes"
                    | "fixed"
                    | "fixing"
                    | "bug"
                    | "bugs"
                    | "bugfix"
                    | "hotfix"
                    | "defect"
                    | "crash"
                    | "regression"
            )
        })
}

fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {}: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The commit checked out at `root`, if it is in a git repository.
pub fn head(root: &Path) -> Option<String> {
    git(root, &["rev-parse", "HEAD"])
        .ok()
        .map(|h| h.trim().to_string())
}

/// The folder's commits, oldest first, with paths relative to the folder (changes
/// outside it are left out). Merges are left out: their changes are their parents'.
pub fn read_commits(root: &Path) -> Result<Vec<Commit>, String> {
    let prefix = git(root, &["rev-parse", "--show-prefix"])?
        .trim()
        .to_string();
    let log = git(
        root,
        &[
            "log",
            "--no-merges",
            "--no-renames",
            "--reverse",
            "--format=%x00%H%x1f%ae%x1f%at%x1f%s",
            "--numstat",
            "--",
            ".",
        ],
    )?;
    let mut commits = Vec::new();
    for block in log.split('\0').filter(|b| !b.trim().is_empty()) {
        let mut lines = block.lines();
        let Some(header) = lines.next() else {
            continue;
        };
        let mut parts = header.split('\u{1f}');
        let (Some(hash), Some(author), Some(time), Some(subject)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let files = lines
            .filter_map(|line| {
                let mut cols = line.splitn(3, '\t');
                let added = cols.next()?.parse().unwrap_or(0);
                let deleted = cols.next()?.parse().unwrap_or(0);
                let path = cols.next()?.strip_prefix(prefix.as_str())?.to_string();
                Some(FileStat {
                    path,
                    added,
                    deleted,
                })
            })
            .collect::<Vec<_>>();
        if files.is_empty() {
            continue;
        }
        commits.push(Commit {
            hash: hash.to_string(),
            author: author.to_lowercase(),
            time: time.parse().unwrap_or(0),
            fix: is_fix(subject),
            files,
        });
    }
    Ok(commits)
}

/// A fix commit touching more files than this is a sweep (a rename, a reformat): its
/// deleted lines are not blamed.
const MAX_FIX_FILES: usize = 20;

/// The commits that induced a later fix (SZZ): for each fix commit, the lines it deleted
/// or changed (not blank, not a comment) are blamed in its parent, and the commits that
/// wrote them are fix-inducing.
pub fn fix_inducing(root: &Path, commits: &[Commit]) -> HashSet<String> {
    let prefix = git(root, &["rev-parse", "--show-prefix"])
        .map(|p| p.trim().to_string())
        .unwrap_or_default();
    let mut inducing = HashSet::new();
    for fix in commits
        .iter()
        .filter(|c| c.fix && c.files.len() <= MAX_FIX_FILES)
    {
        let Ok(diff) = git(
            root,
            &[
                "show",
                "-U0",
                "--format=",
                "--no-renames",
                "--no-color",
                &fix.hash,
                "--",
                ".",
            ],
        ) else {
            continue;
        };
        for (path, lines) in deleted_lines(&diff) {
            if lines.is_empty() {
                continue;
            }
            let mut args: Vec<String> = vec!["blame".into(), "--porcelain".into(), "-w".into()];
            for (start, end) in ranges(&lines) {
                args.push("-L".into());
                args.push(format!("{start},{end}"));
            }
            args.push(format!("{}^", fix.hash));
            args.push("--".into());
            args.push(
                path.strip_prefix(prefix.as_str())
                    .unwrap_or(&path)
                    .to_string(),
            );
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let Ok(blame) = git(root, &args) else {
                continue;
            };
            for line in blame.lines() {
                let Some(hash) = line.split(' ').next() else {
                    continue;
                };
                if hash.len() == 40
                    && hash.bytes().all(|b| b.is_ascii_hexdigit())
                    && line.split(' ').count() >= 3
                    && hash != fix.hash
                {
                    inducing.insert(hash.to_string());
                }
            }
        }
    }
    inducing
}

/// Per file of a `git show -U0` diff (paths as in the diff, from the repository's root),
/// the 1-based lines of the parent it deleted or changed, leaving out blank lines and
/// comments (which cannot have caused a defect).
fn deleted_lines(diff: &str) -> Vec<(String, Vec<u32>)> {
    let mut out: Vec<(String, Vec<u32>)> = Vec::new();
    let mut line = 0u32;
    for text in diff.lines() {
        if let Some(path) = text.strip_prefix("--- ") {
            let path = path.strip_prefix("a/").unwrap_or(path);
            out.push((path.to_string(), Vec::new()));
        } else if text.starts_with("+++ ") {
            continue;
        } else if let Some(hunk) = text.strip_prefix("@@ -") {
            let old = hunk.split(' ').next().unwrap_or_default();
            line = old
                .split(',')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        } else if let Some(deleted) = text.strip_prefix('-') {
            let code = deleted.trim();
            let comment = ["#", "//", "/*", "*", "\"\"\""]
                .iter()
                .any(|c| code.starts_with(c));
            if !code.is_empty() && !comment {
                if let Some((path, lines)) = out.last_mut() {
                    if path != "/dev/null" {
                        lines.push(line);
                    }
                }
            }
            line += 1;
        }
    }
    out
}

/// Runs of consecutive lines, as inclusive ranges.
fn ranges(lines: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &l in lines {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == l => *end = l,
            _ => out.push((l, l)),
        }
    }
    out
}

/// Counts of past changes, fixes, authors and experience look this many commits back:
/// a project's whole history only grows, so counts over all of it would drift from the
/// commits a model learned on to the ones it scores.
pub const WINDOW: u64 = 500;

/// A file's history in numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Churn {
    /// Commits that changed it.
    pub changes: u32,
    /// Of them, the ones whose message says they fix something.
    pub fixes: u32,
    pub authors: u32,
    /// When it last changed, seconds since the epoch.
    pub last: i64,
}

/// What the history says of each file and author, up to some commit.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    files: HashMap<String, FileState>,
    /// Per author, the commits (by number) they made.
    authors: HashMap<String, Vec<u64>>,
    /// Commits taken in so far.
    seq: u64,
}

#[derive(Clone, Debug, Default)]
struct FileState {
    /// Lines, as added minus deleted over its history.
    lines: i64,
    /// When it last changed.
    last: i64,
    /// Each author and the last commit (by number) in which they changed it.
    authors: Vec<(String, u64)>,
    /// The commits that changed it, and those of them that were fixes.
    changes: Vec<u64>,
    fixes: Vec<u64>,
}

impl Tracker {
    /// The features of a change by `author` at `time` (a fix or not) to `files`, given
    /// the history so far.
    pub fn features(&self, author: &str, time: i64, fix: bool, files: &[FileStat]) -> Features {
        let ln = |x: f64| (1.0 + x.max(0.0)).ln();
        let added: u32 = files.iter().map(|f| f.added).sum();
        let deleted: u32 = files.iter().map(|f| f.deleted).sum();
        let dir = |p: &str| p.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        let top = |p: &str| p.split_once('/').map_or("", |(t, _)| t).to_string();
        let dirs: HashSet<String> = files.iter().map(|f| dir(&f.path)).collect();
        let subsystems: HashSet<String> = files.iter().map(|f| top(&f.path)).collect();
        let total = f64::from(added + deleted).max(1.0);
        let entropy: f64 = files
            .iter()
            .map(|f| f64::from(f.added + f.deleted) / total)
            .filter(|p| *p > 0.0)
            .map(|p| -p * p.log2())
            .sum();
        let seen: Vec<&FileState> = files
            .iter()
            .filter_map(|f| self.files.get(&f.path))
            .collect();
        let n = seen.len().max(1) as f64;
        let size = seen.iter().map(|s| s.lines.max(0) as f64).sum::<f64>() / n;
        let since = self.seq.saturating_sub(WINDOW);
        let recent = |seqs: &[u64]| seqs.iter().filter(|s| **s >= since).count() as u32;
        let mut past_authors: HashSet<&str> = HashSet::new();
        for s in &seen {
            past_authors.extend(
                s.authors
                    .iter()
                    .filter(|(_, last)| *last >= since)
                    .map(|(a, _)| a.as_str()),
            );
        }
        let age = seen
            .iter()
            .map(|s| (time - s.last).max(0) as f64 / 86_400.0)
            .sum::<f64>()
            / n;
        let changes: u32 = seen.iter().map(|s| recent(&s.changes)).sum();
        let fixes: u32 = seen.iter().map(|s| recent(&s.fixes)).sum();
        let experience = self.authors.get(author).map_or(0, |seqs| recent(seqs));
        [
            ln(f64::from(added)),
            ln(f64::from(deleted)),
            ln(files.len() as f64),
            ln(dirs.len() as f64),
            ln(subsystems.len() as f64),
            entropy,
            ln(size),
            ln(past_authors.len() as f64),
            ln(age),
            ln(f64::from(changes)),
            ln(f64::from(experience)),
            ln(f64::from(fixes)),
            f64::from(u8::from(fix)),
        ]
    }

    /// What the history says of each file changed in it, by path (relative to the
    /// folder): how often it changed, how often in a fix, by how many authors.
    pub fn file_churn(&self) -> impl Iterator<Item = (&str, Churn)> + '_ {
        self.files.iter().map(|(path, s)| {
            let churn = Churn {
                changes: s.changes.len() as u32,
                fixes: s.fixes.len() as u32,
                authors: s.authors.len() as u32,
                last: s.last,
            };
            (path.as_str(), churn)
        })
    }

    /// The commits taken in so far.
    pub fn commits(&self) -> u64 {
        self.seq
    }

    /// Takes `commit` into the history.
    pub fn apply(&mut self, commit: &Commit) {
        let seq = self.seq;
        for f in &commit.files {
            let s = self.files.entry(f.path.clone()).or_default();
            s.lines += i64::from(f.added) - i64::from(f.deleted);
            s.last = commit.time;
            match s.authors.iter_mut().find(|(a, _)| *a == commit.author) {
                Some((_, last)) => *last = seq,
                None => s.authors.push((commit.author.clone(), seq)),
            }
            s.changes.push(seq);
            if commit.fix {
                s.fixes.push(seq);
            }
        }
        self.authors
            .entry(commit.author.clone())
            .or_default()
            .push(seq);
        self.seq += 1;
    }
}

/// The history as rows to learn from: each commit's features (from the history before
/// it) and whether it induced a fix; and the history after the last commit.
pub fn rows(commits: &[Commit], inducing: &HashSet<String>) -> (Vec<(Features, bool)>, Tracker) {
    let mut tracker = Tracker::default();
    let mut rows = Vec::with_capacity(commits.len());
    for c in commits {
        rows.push((
            tracker.features(&c.author, c.time, c.fix, &c.files),
            inducing.contains(&c.hash),
        ));
        tracker.apply(c);
    }
    (rows, tracker)
}

/// A trained model: the features' scaling and the regression's weights.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskModel {
    #[serde(skip)]
    mean: Features,
    #[serde(skip)]
    scale: Features,
    #[serde(skip)]
    weights: Features,
    #[serde(skip)]
    intercept: f64,
    /// Commits it learned from, and how many of them induced a fix.
    pub commits: usize,
    pub fix_inducing: usize,
}

/// The weight of the L2 penalty per commit learned from. Strong: with it the model held
/// its ranking on the newer commits of real projects (`codecontext-bench risk`: AUC
/// 0.759 on requests and 0.695 on click, against 0.760 and 0.667 with a penalty of 1),
/// where weaker ones learned the older commits' quirks.
const ALPHA_PER_COMMIT: f64 = 0.05;

/// How far from the learned commits a feature counts, in standard deviations.
const MAX_DEVIATIONS: f64 = 3.0;

/// Fewer commits than this, or fewer of either label, and there is nothing to learn.
pub const MIN_COMMITS: usize = 20;
const MIN_LABELLED: usize = 3;

impl RiskModel {
    /// Learns from `rows`; `None` when there are too few, or of one label only.
    pub fn train(rows: &[(Features, bool)]) -> Option<RiskModel> {
        let positives = rows.iter().filter(|r| r.1).count();
        if rows.len() < MIN_COMMITS
            || positives < MIN_LABELLED
            || rows.len() - positives < MIN_LABELLED
        {
            return None;
        }
        let n = FEATURES.len();
        let mut mean = [0.0; FEATURES.len()];
        let mut scale = [1.0; FEATURES.len()];
        for j in 0..n {
            let m = rows.iter().map(|r| r.0[j]).sum::<f64>() / rows.len() as f64;
            let var = rows.iter().map(|r| (r.0[j] - m).powi(2)).sum::<f64>() / rows.len() as f64;
            mean[j] = m;
            scale[j] = if var > 1e-12 { var.sqrt() } else { 1.0 };
        }
        let x = Array2::from_shape_fn((rows.len(), n), |(i, j)| {
            (rows[i].0[j] - mean[j]) / scale[j]
        });
        let y: Array1<bool> = rows.iter().map(|r| r.1).collect();
        let fitted = LogisticRegression::default()
            .alpha(ALPHA_PER_COMMIT * rows.len() as f64)
            .max_iterations(200)
            .fit(&Dataset::new(x, y))
            .ok()?;
        // linfa models the probability of the more frequent label (usually `false`,
        // "induced no fix"): turned around when it is, so that scores are of inducing.
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        let mut weights = [0.0; FEATURES.len()];
        for (w, p) in weights.iter_mut().zip(fitted.params().iter()) {
            *w = sign * *p;
        }
        Some(RiskModel {
            mean,
            scale,
            weights,
            intercept: sign * fitted.intercept(),
            commits: rows.len(),
            fix_inducing: positives,
        })
    }

    /// The `n` features with the largest weights (per standard deviation), largest first.
    pub fn strongest(&self, n: usize) -> Vec<(&'static str, f64)> {
        let mut out: Vec<(&'static str, f64)> =
            FEATURES.iter().copied().zip(self.weights).collect();
        out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        out.truncate(n);
        out
    }

    /// Feature `j` of `features` in standard deviations from the commits learned from,
    /// at most [`MAX_DEVIATIONS`] either way: a change far outside them (code untouched
    /// for years when the history moved hourly) is scored as the furthest it has seen,
    /// not extrapolated.
    fn standard(&self, features: &Features, j: usize) -> f64 {
        ((features[j] - self.mean[j]) / self.scale[j]).clamp(-MAX_DEVIATIONS, MAX_DEVIATIONS)
    }

    /// The probability that a change with `features` induces a fix.
    pub fn probability(&self, features: &Features) -> f64 {
        let z: f64 = self.intercept
            + (0..FEATURES.len())
                .map(|j| self.weights[j] * self.standard(features, j))
                .sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }

    /// The features that raised the score most: each with its share of the log-odds
    /// above the average change, largest first; at most `n`.
    pub fn factors(&self, features: &Features, n: usize) -> Vec<Factor> {
        let mut out: Vec<Factor> = (0..FEATURES.len())
            .map(|j| Factor {
                feature: FEATURES[j],
                weight: self.weights[j] * self.standard(features, j),
            })
            .filter(|f| f.weight > 0.0)
            .collect();
        out.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        out.truncate(n);
        out
    }
}

/// A feature's push on a score (log-odds above the average change).
#[derive(Clone, Debug, Serialize)]
pub struct Factor {
    pub feature: &'static str,
    pub weight: f64,
}

/// The area under the ROC curve of `scored` (a score and whether it was positive): the
/// chance that a positive scores above a negative, ties counting half.
pub fn auc(scored: &[(f64, bool)]) -> Option<f64> {
    let mut sorted: Vec<(f64, bool)> = scored.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = sorted.iter().filter(|s| s.1).count() as f64;
    let negatives = sorted.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    // Rank sum of the positives, with tied scores sharing their average rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j].0 == sorted[i].0 {
            j += 1;
        }
        let rank = (i + j + 1) as f64 / 2.0;
        rank_sum += rank * sorted[i..j].iter().filter(|s| s.1).count() as f64;
        i = j;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// A project's history, learned: the model (if there was enough to learn from) and the
/// history after the last commit, to describe a proposed change.
#[derive(Clone, Debug)]
pub struct Learned {
    pub head: String,
    pub model: Option<RiskModel>,
    pub tracker: Tracker,
}

/// Reads and learns the history of the git checkout around `root`.
pub fn learn(root: &Path) -> Result<Learned, String> {
    let head = head(root).ok_or("not a git checkout")?;
    let commits = read_commits(root)?;
    let inducing = fix_inducing(root, &commits);
    let (rows, tracker) = rows(&commits, &inducing);
    Ok(Learned {
        head,
        model: RiskModel::train(&rows),
        tracker,
    })
}

/// The risk of a proposed change: its probability of inducing a fix, and why.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Risk {
    /// 0 to 1.
    pub score: f64,
    /// The features that raised it most.
    pub factors: Vec<Factor>,
    /// What the model learned from.
    pub model: RiskModel,
}

impl Learned {
    /// The risk of a change to `files` by `author`, now.
    pub fn risk(&self, author: &str, time: i64, files: &[FileStat]) -> Option<Risk> {
        let model = self.model.clone()?;
        let features = self.tracker.features(author, time, false, files);
        Some(Risk {
            score: model.probability(&features),
            factors: model.factors(&features, 3),
            model,
        })
    }
}

/// Lines added and deleted from `before` to `after` (a line diff).
pub fn line_stat(path: &str, before: &str, after: &str) -> FileStat {
    let patch = diffy::create_patch(before, after);
    let (mut added, mut deleted) = (0, 0);
    for hunk in patch.hunks() {
        for line in hunk.lines() {
            match line {
                diffy::Line::Insert(_) => added += 1,
                diffy::Line::Delete(_) => deleted += 1,
                diffy::Line::Context(_) => {}
            }
        }
    }
    FileStat {
        path: path.to_string(),
        added,
        deleted,
    }
}

/// Who is making the change: the checkout's `user.email`, else nobody known.
pub fn author(root: &Path) -> String {
    git(root, &["config", "user.email"])
        .map(|e| e.trim().to_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fix_messages_are_recognised_by_their_words() {
        assert!(is_fix("Fix crash when the list is empty"));
        assert!(is_fix("parser: fixes #12"));
        assert!(!is_fix("Add a prefix option"), "`prefix` is not `fix`");
        assert!(!is_fix("Refactor the cart"));
    }

    #[test]
    fn auc_is_the_chance_a_positive_outranks_a_negative() {
        assert_eq!(auc(&[(0.9, true), (0.1, false)]), Some(1.0));
        assert_eq!(auc(&[(0.1, true), (0.9, false)]), Some(0.0));
        assert_eq!(auc(&[(0.5, true), (0.5, false)]), Some(0.5));
        assert_eq!(auc(&[(0.2, true), (0.4, false), (0.6, true)]), Some(0.5));
        assert_eq!(auc(&[(0.2, true)]), None);
    }

    #[test]
    fn deleted_lines_leave_out_blanks_and_comments() {
        let diff = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -3,4 +3,1 @@ def f():\n-    x = 1\n-\n-    # note\n-    return x\n+    return 2\n";
        assert_eq!(deleted_lines(diff), vec![("a.py".to_string(), vec![3, 6])]);
        assert_eq!(ranges(&[3, 4, 5, 9]), vec![(3, 5), (9, 9)]);
    }

    #[test]
    fn features_describe_the_change_and_the_history_before_it() {
        let file = |path: &str, added, deleted| FileStat {
            path: path.into(),
            added,
            deleted,
        };
        let mut t = Tracker::default();
        let first = Commit {
            hash: "a".into(),
            author: "ann".into(),
            time: 0,
            fix: false,
            files: vec![file("src/a.py", 100, 0)],
        };
        t.apply(&first);
        t.apply(&Commit {
            hash: "b".into(),
            author: "bob".into(),
            time: 86_400,
            fix: true,
            files: vec![file("src/a.py", 5, 5)],
        });
        let f = t.features(
            "ann",
            3 * 86_400,
            false,
            &[file("src/a.py", 3, 1), file("docs/b.md", 1, 0)],
        );
        let ln = |x: f64| (1.0 + x).ln();
        assert_eq!(f[0], ln(4.0), "lines added");
        assert_eq!(f[2], ln(2.0), "files");
        assert_eq!(f[4], ln(2.0), "two subsystems");
        assert!(f[5] > 0.0 && f[5] < 1.0, "spread unevenly over two files");
        // Only src/a.py has a history: 100 lines, 2 authors, 2 days old, 2 changes, 1 fix.
        assert_eq!(f[6], ln(100.0));
        assert_eq!(f[7], ln(2.0));
        assert_eq!(f[8], ln(2.0));
        assert_eq!(f[9], ln(2.0));
        assert_eq!(f[10], ln(1.0), "ann's one earlier commit");
        assert_eq!(f[11], ln(1.0));
        let churn: HashMap<&str, Churn> = t.file_churn().collect();
        let expected = Churn {
            changes: 2,
            fixes: 1,
            authors: 2,
            last: 86_400,
        };
        assert_eq!(churn, HashMap::from([("src/a.py", expected)]));
        assert_eq!(t.commits(), 2);
    }

    #[test]
    fn a_model_learns_which_changes_induce_fixes() {
        // Changes to a file with past fixes induce fixes; the others do not.
        let mut rows = Vec::new();
        for i in 0..60 {
            let risky = i % 3 == 0;
            let mut f = [0.0; FEATURES.len()];
            f[11] = if risky { 2.0 } else { 0.0 } + (i % 5) as f64 * 0.01;
            f[0] = (i % 7) as f64;
            rows.push((f, risky));
        }
        let model = RiskModel::train(&rows).expect("enough to learn");
        let mut risky = [0.0; FEATURES.len()];
        risky[11] = 2.0;
        let safe = [0.0; FEATURES.len()];
        assert!(model.probability(&risky) > 0.5 && model.probability(&safe) < 0.5);
        assert_eq!(
            model.factors(&risky, 1)[0].feature,
            "past fixes in the touched files"
        );
        assert!(RiskModel::train(&rows[..10]).is_none(), "too few commits");
    }
}
