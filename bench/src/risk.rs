//! The risk model on real history, time split: the model learns from the older 70% of a
//! repository's commits, labelled by the fixes made before the split (what a project
//! would have known then), and scores the newer 30%, labelled by every fix since; the
//! answer is the area under the ROC curve for fix-inducing commits (target: at least
//! 0.70), against the peer every JIT study reports: ranking by lines changed alone.

use std::{collections::HashSet, path::Path, time::Instant};

use anyhow::{bail, Result};
use codecontext_assess::risk::{self, auc, RiskModel};

pub fn run(repos: &[std::path::PathBuf]) -> Result<()> {
    println!(
        "{:<28} {:>8} {:>8} {:>9} {:>8} {:>10} {:>10}",
        "repository", "commits", "fixes", "inducing", "AUC", "AUC lines", "learn"
    );
    for repo in repos {
        one(repo)?;
    }
    Ok(())
}

fn one(repo: &Path) -> Result<()> {
    let started = Instant::now();
    let commits = risk::read_commits(repo).map_err(anyhow::Error::msg)?;
    if commits.len() < 100 {
        bail!("{}: only {} commits", repo.display(), commits.len());
    }
    let split = commits.len() * 7 / 10;
    // What was known at the split: the fixes made before it.
    let known = risk::fix_inducing(repo, &commits[..split]);
    let all = risk::fix_inducing(repo, &commits);
    let learned = started.elapsed();
    let train_labels: HashSet<String> = known;
    let (train_rows, _) = risk::rows(&commits[..split], &train_labels);
    let (all_rows, _) = risk::rows(&commits, &all);
    let model = RiskModel::train(&train_rows).ok_or_else(|| anyhow::anyhow!("nothing to learn"))?;
    let test = &all_rows[split..];
    let scored: Vec<(f64, bool)> = test
        .iter()
        .map(|(f, y)| (model.probability(f), *y))
        .collect();
    // The peer: lines added plus deleted (features 0 and 1 are their logarithms).
    let by_lines: Vec<(f64, bool)> = test.iter().map(|(f, y)| (f[0] + f[1], *y)).collect();
    let name = repo.canonicalize()?.file_name().map_or_else(
        || repo.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    println!(
        "{:<28} {:>8} {:>8} {:>9} {:>8.3} {:>10.3} {:>9.1}s",
        name,
        commits.len(),
        commits.iter().filter(|c| c.fix).count(),
        all.len(),
        auc(&scored).unwrap_or(f64::NAN),
        auc(&by_lines).unwrap_or(f64::NAN),
        learned.as_secs_f64()
    );
    let top: Vec<String> = model
        .strongest(4)
        .into_iter()
        .map(|(name, w)| format!("{name} ({w:+.2})"))
        .collect();
    println!("  strongest: {}", top.join(", "));
    Ok(())
}
