//! The project report (see `codecontext-report`), gathered from the index (complexity,
//! imports), the git history (churn, fixes, the risk model) and the performance memory
//! (test durations, verifications).
//!
//! The index is read under its lock only to copy what the report needs (the candidate
//! files' text, the imports between files); parsing and measuring happen after, so a
//! report never holds up an edit.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use codecontext_assess::{metrics, risk};
use codecontext_report::{
    median, module_of, Dependencies, Edge, Hotspot, Module, ModuleRisk, Report, TestRun,
    TestSeries, Verification, Worst,
};
use tracing::warn;

use crate::{Result, Workspace, WorkspaceError};

/// At most this many files are measured for hotspots: the most changed (then the
/// largest), where a hotspot can be.
const MEASURED: usize = 400;
/// Hotspots kept in the report.
const HOTSPOTS: usize = 50;
/// Modules drawn in the dependency graph.
const MODULES: usize = 24;
/// Tests whose durations are plotted: the slowest by median.
const TESTS: usize = 8;
/// The typical change a module's risk is given for: lines added and deleted in one file.
const TYPICAL: (u32, u32) = (8, 4);

/// A file to measure, copied out of the index.
struct Candidate {
    rel: String,
    lang: &'static codecontext_lang::Language,
    text: String,
    line_index: codecontext_text::LineIndex,
}

impl Workspace {
    /// The report on the folder `root` (by default, the first). `learn`: train the risk
    /// model first if it is not (the CLI), rather than report without it while it trains
    /// in the background.
    pub async fn report(self: &Arc<Self>, root: Option<PathBuf>, learn: bool) -> Result<Report> {
        let roots = self.roots();
        let root = match root {
            Some(root) if roots.contains(&root) => root,
            Some(root) => {
                return Err(WorkspaceError::invalid(format!(
                    "{} is not a folder of this workspace",
                    root.display()
                )))
            }
            None => roots
                .into_iter()
                .next()
                .ok_or_else(|| WorkspaceError::invalid("no workspace folder to report on"))?,
        };
        let ws = self.clone();
        let at = root.clone();
        let (learned, status) = tokio::task::spawn_blocking(move || ws.learned_history(&at, learn))
            .await
            .map_err(|e| WorkspaceError::Internal(e.to_string()))?;
        let ws = self.clone();
        let at = root.clone();
        let mut report =
            tokio::task::spawn_blocking(move || ws.report_of_code(&at, learned, status))
                .await
                .map_err(|e| WorkspaceError::Internal(e.to_string()))?;
        let (tests, verifications) = self.recorded(&root).await;
        report.tests = tests;
        report.verifications = verifications;
        Ok(report)
    }

    /// Everything but the recorded runs: hotspots, risk by module, dependencies.
    fn report_of_code(
        &self,
        root: &Path,
        learned: Option<Arc<risk::Learned>>,
        status: String,
    ) -> Report {
        // Churn from the whole history: the model's, when it learned the current HEAD,
        // else one `git log` (seconds at most) whether or not a model learns from it.
        let head = risk::head(root);
        let current = learned
            .as_ref()
            .filter(|l| head.as_deref() == Some(l.head.as_str()));
        let read;
        let tracker = match current {
            Some(l) => &l.tracker,
            None => {
                let commits = match risk::read_commits(root) {
                    Ok(commits) => commits,
                    Err(why) => {
                        if head.is_some() {
                            warn!("{}: the history cannot be read: {why}", root.display());
                        }
                        Vec::new()
                    }
                };
                let mut fresh = risk::Tracker::default();
                for c in &commits {
                    fresh.apply(c);
                }
                read = fresh;
                &read
            }
        };
        let churn: HashMap<&str, risk::Churn> = tracker.file_churn().collect();

        let (files, candidates, dependencies) = self.copy_out(root, &churn);
        let mut hotspots: Vec<Hotspot> = candidates
            .into_iter()
            .filter_map(|c| hotspot(c, &churn))
            .collect();
        hotspots.sort_by(|a, b| {
            (b.score, b.complexity)
                .cmp(&(a.score, a.complexity))
                .then_with(|| a.path.cmp(&b.path))
        });
        hotspots.truncate(HOTSPOTS);

        let model = learned
            .as_ref()
            .and_then(|l| l.model.as_ref().map(|m| (l, m)));
        let author = risk::author(root);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut modules: HashMap<String, (ModuleRisk, Vec<f64>)> = HashMap::new();
        for m in &dependencies.modules {
            let entry = modules.entry(m.name.clone()).or_default();
            entry.0.files = m.files;
        }
        for (path, c) in &churn {
            // Only the files still there: a deleted file's fixes are history.
            let Some((risk, scores)) = modules.get_mut(&module_of(path)) else {
                continue;
            };
            if !dependencies.present(path) {
                continue;
            }
            risk.changes += c.changes;
            risk.fixes += c.fixes;
            if let Some((learned, model)) = model {
                let change = risk::FileStat {
                    path: path.to_string(),
                    added: TYPICAL.0,
                    deleted: TYPICAL.1,
                };
                let features = learned.tracker.features(&author, now, false, &[change]);
                scores.push(model.probability(&features));
            }
        }
        let mut modules: Vec<ModuleRisk> = modules
            .into_iter()
            .filter(|(_, (m, _))| m.changes > 0)
            .map(|(name, (mut m, scores))| {
                m.module = name;
                if !scores.is_empty() {
                    m.risk = Some(scores.iter().sum::<f64>() / scores.len() as f64);
                }
                m
            })
            .collect();
        modules.sort_by(|a, b| {
            b.risk
                .unwrap_or(0.0)
                .total_cmp(&a.risk.unwrap_or(0.0))
                .then((b.fixes, b.changes).cmp(&(a.fixes, a.changes)))
                .then_with(|| a.module.cmp(&b.module))
        });

        let risk_status = match (&learned, model) {
            (_, Some((_, m))) => format!(
                "learned from {} commits, {} of them fix-inducing",
                m.commits, m.fix_inducing
            ),
            (Some(_), None) => "too little history to learn from".into(),
            (None, None) => status,
        };
        Report {
            project: root.display().to_string(),
            generated_ms: now * 1000,
            head,
            commits: tracker.commits(),
            risk_status,
            files,
            hotspots,
            modules,
            tests: Vec::new(),
            verifications: Vec::new(),
            dependencies: dependencies.graph,
        }
    }

    /// Under the index's lock: how many files the folder has, the ones to measure, and
    /// the imports between its modules.
    fn copy_out(
        &self,
        root: &Path,
        churn: &HashMap<&str, risk::Churn>,
    ) -> (usize, Vec<Candidate>, ModuleImports) {
        let host = self.read();
        let analysis = host.analysis();
        let g = analysis.graph();
        let mine: Vec<_> = g
            .files()
            .filter(|(id, f)| f.skipped.is_none() && host.root_of(*id).as_deref() == Some(root))
            .map(|(id, _)| id)
            .collect();

        let mut by_interest: Vec<(u32, u32, codecontext_analysis::FileId)> = mine
            .iter()
            .filter_map(|id| {
                let f = g.file_data(*id)?;
                let changes = churn.get(&*f.rel).map_or(0, |c| c.changes);
                Some((changes, f.line_index.len(), *id))
            })
            .collect();
        by_interest.sort_by_key(|b| std::cmp::Reverse((b.0, b.1)));
        let candidates = by_interest
            .into_iter()
            .take(MEASURED)
            .filter_map(|(_, _, id)| {
                let f = g.file_data(id)?;
                Some(Candidate {
                    rel: f.rel.to_string(),
                    lang: codecontext_lang::language(f.lang),
                    text: analysis.text(id)?.into_owned(),
                    line_index: f.line_index.clone(),
                })
            })
            .collect();

        let mut imports = ModuleImports::default();
        let mut sizes: HashMap<String, u32> = HashMap::new();
        let mut edges: HashMap<(String, String), u32> = HashMap::new();
        for id in &mine {
            let Some(f) = g.file_data(*id) else { continue };
            let to = module_of(&f.rel);
            *sizes.entry(to.clone()).or_default() += 1;
            imports.paths.insert(f.rel.to_string());
            for importer in g.dependents_of(*id) {
                if host.root_of(importer).as_deref() != Some(root) {
                    continue;
                }
                let Some(d) = g.file_data(importer) else {
                    continue;
                };
                let from = module_of(&d.rel);
                if from != to {
                    *edges.entry((from, to.clone())).or_default() += 1;
                }
            }
        }
        let mut modules: Vec<Module> = sizes
            .into_iter()
            .map(|(name, files)| Module { name, files })
            .collect();
        modules.sort_by(|a, b| b.files.cmp(&a.files).then_with(|| a.name.cmp(&b.name)));
        imports.modules = modules.clone();
        let omitted = modules.len().saturating_sub(MODULES);
        modules.truncate(MODULES);
        let kept = |name: &str| modules.iter().any(|m| m.name == name);
        let mut edges: Vec<Edge> = edges
            .into_iter()
            .filter(|((from, to), _)| kept(from) && kept(to))
            .map(|((importer, imported), imports)| Edge {
                importer,
                imported,
                imports,
            })
            .collect();
        edges.sort_by(|a, b| {
            b.imports
                .cmp(&a.imports)
                .then_with(|| (&a.importer, &a.imported).cmp(&(&b.importer, &b.imported)))
        });
        imports.graph = Dependencies {
            modules,
            edges,
            omitted,
        };
        (mine.len(), candidates, imports)
    }

    /// The slowest tests' durations and the verifications, from the performance memory.
    async fn recorded(&self, root: &Path) -> (Vec<TestSeries>, Vec<Verification>) {
        let tests = self.project_points(root, "test").await;
        let verifies = self.project_points(root, "verify").await;

        let mut by_test: HashMap<String, Vec<TestRun>> = HashMap::new();
        // Newest first: reversed, oldest first.
        for p in tests.iter().rev() {
            let (Some(name), Some(ms)) = (p.tag("test"), p.field("duration_ms")) else {
                continue;
            };
            by_test.entry(name.to_string()).or_default().push(TestRun {
                at_ms: p.at_ms,
                ms,
                outcome: p.tag("outcome").unwrap_or_default().to_string(),
            });
        }
        let mut tests: Vec<TestSeries> = by_test
            .into_iter()
            .map(|(name, runs)| TestSeries {
                median_ms: median(runs.iter().map(|r| r.ms)),
                name,
                runs,
            })
            .collect();
        tests.sort_by(|a, b| {
            b.median_ms
                .total_cmp(&a.median_ms)
                .then_with(|| a.name.cmp(&b.name))
        });
        tests.truncate(TESTS);

        // A verification writes one point per symbol it changed, all at one time.
        let mut verifications: Vec<Verification> = Vec::new();
        for p in verifies.iter().rev() {
            if verifications.last().is_some_and(|v| v.at_ms == p.at_ms) {
                continue;
            }
            verifications.push(Verification {
                at_ms: p.at_ms,
                verdict: p.tag("verdict").unwrap_or_default().to_string(),
                wall_ms: p.field("wall_ms").unwrap_or_default(),
                passed: p.field("passed").unwrap_or_default() as u32,
                failed: p.field("failed").unwrap_or_default() as u32,
            });
        }
        (tests, verifications)
    }
}

/// Writes the report's page to `out`, relative to the folder it reports on (an absolute
/// `out` stays as it is); where it went, or why it could not.
pub fn write_page(report: &Report, out: &Path) -> std::result::Result<PathBuf, String> {
    let out = Path::new(&report.project).join(out);
    std::fs::write(&out, codecontext_report::html(report))
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(out)
}

/// The folder's modules, and which files it has now.
#[derive(Default)]
struct ModuleImports {
    /// Every module, largest first.
    modules: Vec<Module>,
    paths: std::collections::HashSet<String>,
    graph: Dependencies,
}

impl ModuleImports {
    fn present(&self, path: &str) -> bool {
        self.paths.contains(path)
    }
}

/// A measured file as a hotspot; none when it has no function.
fn hotspot(c: Candidate, churn: &HashMap<&str, risk::Churn>) -> Option<Hotspot> {
    let functions: Vec<metrics::Symbol> = metrics::symbols(c.lang, &c.text)
        .into_iter()
        .filter(|s| s.measured)
        .collect();
    // The most complex, the first of equals.
    let worst = functions.iter().min_by(|a, b| {
        (b.metrics.cyclomatic, a.selection.start).cmp(&(a.metrics.cyclomatic, b.selection.start))
    })?;
    let history = churn.get(c.rel.as_str()).copied().unwrap_or_default();
    let complexity: u32 = functions.iter().map(|s| s.metrics.cyclomatic).sum();
    Some(Hotspot {
        changes: history.changes,
        fixes: history.fixes,
        authors: history.authors,
        complexity,
        functions: functions.len() as u32,
        worst: Some(Worst {
            symbol: worst.local_name(&c.lang.config.separator),
            cyclomatic: worst.metrics.cyclomatic,
            location: codecontext_assess::place(&c.rel, &c.line_index, worst.selection.start),
        }),
        score: u64::from(history.changes.max(1)) * u64::from(complexity),
        path: c.rel,
    })
}
