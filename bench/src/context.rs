//! `codecontext-bench context`: how much of a real change's context the context API finds,
//! replayed on git history, against Aider's repository map in the same run (issue 15).
//!
//! Per repository (each folder under `--repos`, fetched by `bench/fetch-history.sh`): the
//! newest `--commits` commits of `git log --first-parent` from `HEAD` that have one parent
//! and change two or more source files that exist in the parent. For each, the parent's tree
//! is checked out into a scratch folder and indexed afresh; the target is the first
//! function or method the commit changes (in diff order, the innermost one around a
//! changed line of the parent); git history comes from the parent and the commits before
//! it only. Then, for each budget, the context of the target is asked for and scored:
//! - recall of files: the share of the other changed files (indexed in the parent, not the
//!   target's) that the answer's items are in;
//! - recall of symbols: the share of the other changed functions, methods and types
//!   (innermost around a changed line) that are items of the answer.
//!
//! The baseline is Aider's repository map, written here: a graph of files with an edge from
//! each file that references an identifier to each file that defines it, PageRank
//! personalized to the target's file, each file's rank shared out over the definitions it
//! points at, and definition lines packed in rank order into the same token budget, counted
//! with the same tokenizer.
//!
//! `--latency DIR` also indexes a large folder once and times context answers for random
//! functions at a 4k budget.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context as _, Result};
use codecontext_analysis::{AnalysisHost, EntityId, EntityKind, FileId};
use codecontext_assess::metrics::is_function;
use codecontext_context::{context, count_tokens, ContextQuery, History, Target};
use codecontext_graph::{FileData, Name, SymbolGraph};
use serde_json::{json, Value};

use crate::stats::{median, ms, percentile, Rng};

/// Commits of history given to the context API, as `History::from_git` reads them.
const HISTORY_COMMITS: usize = 500;
/// The budget the target ratio and the latency part are measured at.
const TARGET_BUDGET: usize = 4000;
/// CodeContext's recall at [`TARGET_BUDGET`] should be at least this times the baseline's.
const TARGET_RATIO: f64 = 1.3;
/// The p99 of a context answer on the large folder should be at most this.
const TARGET_P99: Duration = Duration::from_millis(100);

/// What `codecontext-bench context` was asked to do.
#[derive(clap::Args)]
pub struct Options {
    /// A folder of git checkouts, one per repository.
    #[arg(long, default_value = "bench-data/history")]
    pub repos: PathBuf,
    /// Commits replayed per repository (0: only the latency part).
    #[arg(long, default_value_t = 200)]
    pub commits: usize,
    /// Token budgets, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "2000,4000,8000")]
    pub budgets: Vec<usize>,
    /// A large folder (e.g. bench-data/rust) for the latency part.
    #[arg(long)]
    pub latency: Option<PathBuf>,
    /// Context queries of the latency part.
    #[arg(long, default_value_t = 200)]
    pub queries: usize,
    /// Also replay first-parent merges, as one change against their first parent.
    #[arg(long)]
    pub merges: bool,
    /// One line per replayed commit (on stderr).
    #[arg(long)]
    pub verbose: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn run(options: &Options) -> Result<()> {
    ensure!(!options.budgets.is_empty(), "--budgets names no budget");
    ensure!(
        options.commits > 0 || options.latency.is_some(),
        "--commits 0 replays nothing: give --latency DIR too"
    );
    // `--commits 0`: the latency part alone.
    let repos = if options.commits == 0 {
        Vec::new()
    } else {
        checkouts(&options.repos)?
    };
    // The tokenizer loads its ranks once per process: a cost of starting, not of an answer.
    let start = Instant::now();
    count_tokens("warm up");
    eprintln!(
        "tokenizer loaded in {:.0} ms (before any timing)",
        ms(start.elapsed())
    );
    let mut reports = Vec::new();
    for repo in &repos {
        reports.push(replay(repo, options)?);
    }
    let latency = match &options.latency {
        Some(dir) => Some(latency(dir, options.queries)?),
        None => None,
    };
    if options.json {
        let value = json!({
            "budgets": options.budgets,
            "repos": reports.iter().map(|r| r.to_json(&options.budgets)).collect::<Vec<_>>(),
            "latency": latency.as_ref().map(LatencyReport::to_json),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_report(&reports, latency.as_ref(), &options.budgets);
    }
    Ok(())
}

/// The git checkouts directly under `dir`, sorted.
fn checkouts(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut repos: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{} (fetch it with bench/fetch-history.sh)", dir.display()))?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.join(".git").exists())
        .collect();
    repos.sort();
    ensure!(
        !repos.is_empty(),
        "no git checkout under {} (fetch them with bench/fetch-history.sh)",
        dir.display()
    );
    Ok(repos)
}

// ---------------------------------------------------------------------------------------
// Git

/// `git -C repo args`: its output, or an error with git's message.
pub(crate) fn git(repo: &Path, args: &[&str]) -> Result<String> {
    git_with(repo, args, None)
}

/// `git -C repo args`, with `GIT_INDEX_FILE` set to `index` if given; its output, or an
/// error with git's message.
fn git_with(repo: &Path, args: &[&str], index: Option<&Path>) -> Result<String> {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(repo)
        .args(["-c", "core.quotePath=false", "--literal-pathspecs"])
        .args(args)
        .stdin(Stdio::null());
    if let Some(index) = index {
        command.env("GIT_INDEX_FILE", index);
    }
    let out = command.output().context("running git")?;
    ensure!(
        out.status.success(),
        "git {} in {} failed: {}",
        args.join(" "),
        repo.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A changed source file that exists in the parent.
struct Changed {
    path: String,
    /// Deleted by the commit (it has no hunks to find symbols in).
    deleted: bool,
}

/// A commit to replay.
struct Candidate {
    commit: String,
    parent: String,
    /// In diff order.
    changed: Vec<Changed>,
}

/// What the walk of the history saw before taking its commits.
#[derive(Default)]
struct Scan {
    commits: usize,
    merges: usize,
    too_few_files: usize,
}

/// The newest `limit` commits of the first-parent history of `HEAD` that change two or
/// more source files existing in the parent.
fn candidates(repo: &Path, limit: usize, merges: bool) -> Result<(Vec<Candidate>, Scan)> {
    let mut args = vec![
        "log",
        "--first-parent",
        "--no-renames",
        "--name-status",
        "--format=%x00%H %P",
    ];
    args.push(if merges {
        "--diff-merges=first-parent"
    } else {
        "--diff-merges=off"
    });
    args.push("HEAD");
    let log = git(repo, &args)?;
    let mut scan = Scan::default();
    let mut found = Vec::new();
    for block in log.split('\0').filter(|b| !b.trim().is_empty()) {
        let mut lines = block.lines();
        let Some(header) = lines.next() else { continue };
        let mut ids = header.split_whitespace();
        let (Some(commit), Some(parent)) = (ids.next(), ids.next()) else {
            continue; // the root commit
        };
        scan.commits += 1;
        if ids.next().is_some() {
            scan.merges += 1;
            if !merges {
                continue;
            }
        }
        let changed: Vec<Changed> = lines
            .filter_map(|line| {
                let (status, path) = line.split_once('\t')?;
                let deleted = match status {
                    "M" | "T" => false,
                    "D" => true,
                    _ => return None,
                };
                codecontext_lang::language_for_path(Path::new(path))?;
                Some(Changed {
                    path: path.to_string(),
                    deleted,
                })
            })
            .collect();
        if changed.len() < 2 {
            scan.too_few_files += 1;
            continue;
        }
        found.push(Candidate {
            commit: commit.to_string(),
            parent: parent.to_string(),
            changed,
        });
        if found.len() == limit {
            break;
        }
    }
    Ok((found, scan))
}

/// Replaces `dir` with the tree of `commit`, through a scratch index so that the
/// checkout's own index and work tree are left alone.
fn materialize(repo: &Path, commit: &str, dir: &Path, index: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    git_with(repo, &["read-tree", commit], Some(index))?;
    let prefix = format!("{}/", dir.display());
    git_with(
        repo,
        &["checkout-index", "--all", "--force", "--prefix", &prefix],
        Some(index),
    )?;
    Ok(())
}

/// The lines of the parent's `path` that `commit` changes, zero-based, end excluded; an
/// empty range is an insertion before that line.
fn old_hunks(repo: &Path, parent: &str, commit: &str, path: &str) -> Result<Vec<(u32, u32)>> {
    let diff = git(
        repo,
        &[
            "diff",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--no-renames",
            parent,
            commit,
            "--",
            path,
        ],
    )?;
    let mut hunks = Vec::new();
    for header in diff.lines().filter_map(|l| l.strip_prefix("@@ -")) {
        let old = header.split(' ').next().unwrap_or("");
        let (start, count) = match old.split_once(',') {
            Some((start, count)) => (start.parse::<u32>()?, count.parse::<u32>()?),
            None => (old.parse::<u32>()?, 1),
        };
        hunks.push(if count == 0 {
            // Inserted after (one-based) line `start`.
            (start, start)
        } else {
            (start - 1, start - 1 + count)
        });
    }
    Ok(hunks)
}

/// The history before (and with) `parent`, as `History::from_git` would read it there.
fn history_at(repo: &Path, parent: &str) -> Result<History> {
    let log = git(
        repo,
        &[
            "log",
            "--no-merges",
            "--no-renames",
            "--format=%x00",
            "--name-only",
            &format!("-n{HISTORY_COMMITS}"),
            parent,
        ],
    )?;
    let commits: Vec<Vec<String>> = log
        .split('\0')
        .map(|block| {
            block
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|files| !files.is_empty())
        .collect();
    Ok(History::from_commits(commits))
}

// ---------------------------------------------------------------------------------------
// Changed symbols

/// Functions, methods and types: what the recall of symbols counts.
fn is_symbol(kind: EntityKind) -> bool {
    is_function(kind)
        || matches!(
            kind,
            EntityKind::Class
                | EntityKind::Struct
                | EntityKind::Enum
                | EntityKind::Union
                | EntityKind::Interface
                | EntityKind::Trait
                | EntityKind::TypeAlias
        )
}

/// The first and last line of each entity of a file.
fn entity_lines(f: &FileData) -> Vec<(u32, u32)> {
    let line = |offset: u32| f.line_index.line_col(offset).map_or(0, |lc| lc.line);
    f.entities
        .iter()
        .map(|e| {
            (
                line(e.range.start),
                line(e.range.end.saturating_sub(1).max(e.range.start)),
            )
        })
        .collect()
}

/// The innermost entity of a kind `keep` takes around a changed range of old lines, per
/// changed line (or, for an insertion, around both lines it goes between), in order.
fn changed_entities(
    f: &FileData,
    lines: &[(u32, u32)],
    hunks: &[(u32, u32)],
    keep: fn(EntityKind) -> bool,
) -> Vec<u32> {
    let innermost = |covers: &dyn Fn(u32, u32) -> bool| {
        f.entities
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(i, e)| keep(e.kind) && covers(lines[*i].0, lines[*i].1))
            .max_by_key(|(_, e)| (e.range.start, std::cmp::Reverse(e.range.end)))
            .map(|(i, _)| i as u32)
    };
    let mut out: Vec<u32> = Vec::new();
    let mut push = |found: Option<u32>| {
        if let Some(i) = found {
            if !out.contains(&i) {
                out.push(i);
            }
        }
    };
    for &(start, end) in hunks {
        if start == end {
            push(innermost(&|first, last| first < start && last >= start));
        } else {
            for line in start..end {
                push(innermost(&|first, last| first <= line && last >= line));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The baseline: Aider's repository map

/// Aider's repository map over one graph: which files define and reference each
/// identifier. Independent of the target; [`RepoMap::rank`] personalizes it.
struct RepoMap {
    files: Vec<FileId>,
    slot: HashMap<FileId, usize>,
    /// Per identifier, the files defining it.
    defines: HashMap<Name, Vec<usize>>,
    /// Per identifier, the files referencing it and how often.
    references: HashMap<Name, Vec<(usize, u32)>>,
    /// Per file and identifier, the entities defining it there.
    definitions: HashMap<(usize, Name), Vec<u32>>,
}

/// What the map counts as a definition (Aider's tags: types, functions, modules, macros
/// and named constants; not fields, imports or `impl` blocks).
fn is_definition(kind: EntityKind) -> bool {
    is_symbol(kind)
        || matches!(
            kind,
            EntityKind::Module
                | EntityKind::Namespace
                | EntityKind::Macro
                | EntityKind::Constant
                | EntityKind::Variable
        )
}

/// The weight Aider gives an identifier: mentioned ones and long structured names
/// count more, private ones and names defined in many files less.
fn identifier_weight(ident: &str, definers: usize, mentioned: bool) -> f64 {
    let mut weight = 1.0;
    if mentioned {
        weight *= 10.0;
    }
    let has_letters = ident.chars().any(char::is_alphabetic);
    let snake = ident.contains('_') && has_letters;
    let kebab = ident.contains('-') && has_letters;
    let camel = ident.chars().any(char::is_uppercase) && ident.chars().any(char::is_lowercase);
    if (snake || kebab || camel) && ident.chars().count() >= 8 {
        weight *= 10.0;
    }
    if ident.starts_with('_') {
        weight *= 0.1;
    }
    if definers > 5 {
        weight *= 0.1;
    }
    weight
}

/// One edge of the file graph: `from` references `ident`, which `to` defines.
struct Edge {
    from: usize,
    to: usize,
    ident: Name,
    weight: f64,
}

const DAMPING: f64 = 0.85;
const ITERATIONS: usize = 50;
const TOLERANCE: f64 = 1e-6;

/// A baseline answer: what it holds, and what it cost.
struct MapAnswer {
    files: HashSet<FileId>,
    entities: HashSet<EntityId>,
    tokens: usize,
}

impl RepoMap {
    fn new(g: &SymbolGraph) -> RepoMap {
        let mut map = RepoMap {
            files: Vec::new(),
            slot: HashMap::new(),
            defines: HashMap::new(),
            references: HashMap::new(),
            definitions: HashMap::new(),
        };
        for (id, f) in g.files() {
            let slot = map.files.len();
            map.files.push(id);
            map.slot.insert(id, slot);
            for (i, e) in f.entities.iter().enumerate().skip(1) {
                if !is_definition(e.kind) {
                    continue;
                }
                map.definitions
                    .entry((slot, e.name))
                    .or_default()
                    .push(i as u32);
                let definers = map.defines.entry(e.name).or_default();
                if definers.last() != Some(&slot) {
                    definers.push(slot);
                }
            }
            let mut counts: HashMap<Name, u32> = HashMap::new();
            for r in &f.refs {
                *counts.entry(r.name).or_default() += 1;
            }
            let mut counts: Vec<(Name, u32)> = counts.into_iter().collect();
            counts.sort_unstable();
            for (name, n) in counts {
                map.references.entry(name).or_default().push((slot, n));
            }
        }
        map
    }

    /// Definitions `(file, identifier)` ranked for a target in `target_file` that
    /// mentions `mentioned`, best first.
    fn rank(
        &self,
        g: &SymbolGraph,
        target_file: usize,
        mentioned: &HashSet<Name>,
    ) -> Vec<(usize, Name)> {
        let mut idents: Vec<Name> = self.defines.keys().copied().collect();
        idents.sort_unstable();
        let mut edges: Vec<Edge> = Vec::new();
        for ident in idents {
            let definers = &self.defines[&ident];
            let Some(referencers) = self.references.get(&ident) else {
                // Defined and never referenced: a weak edge to itself, so that it ranks.
                edges.extend(definers.iter().map(|&d| Edge {
                    from: d,
                    to: d,
                    ident,
                    weight: 0.1,
                }));
                continue;
            };
            let weight =
                identifier_weight(g.name(ident), definers.len(), mentioned.contains(&ident));
            for &(referencer, n) in referencers {
                // The target's file is the file in the chat.
                let chat = if referencer == target_file { 50.0 } else { 1.0 };
                let w = weight * chat * f64::from(n).sqrt();
                edges.extend(definers.iter().map(|&definer| Edge {
                    from: referencer,
                    to: definer,
                    ident,
                    weight: w,
                }));
            }
        }
        let n = self.files.len();
        let mut out_weight = vec![0.0; n];
        for e in &edges {
            out_weight[e.from] += e.weight;
        }
        let rank = pagerank(n, &edges, &out_weight, target_file);
        let mut by_definition: HashMap<(usize, Name), f64> = HashMap::new();
        for e in &edges {
            *by_definition.entry((e.to, e.ident)).or_default() +=
                rank[e.from] * e.weight / out_weight[e.from];
        }
        let mut ranked: Vec<((usize, Name), f64)> = by_definition.into_iter().collect();
        let path = |slot: usize| g.file_data(self.files[slot]).map(|f| f.rel.clone());
        ranked.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| path(a.0 .0).cmp(&path(b.0 .0)))
                .then_with(|| g.name(a.0 .1).cmp(g.name(b.0 .1)))
        });
        ranked.into_iter().map(|(key, _)| key).collect()
    }

    /// The map within `budget` tokens: the target's file and signature first, then
    /// definition lines in rank order, each file's path once before its first line, up to
    /// the first that does not fit.
    fn pack(
        &self,
        g: &SymbolGraph,
        ranked: &[(usize, Name)],
        target: (usize, u32),
        budget: usize,
    ) -> MapAnswer {
        let mut answer = MapAnswer {
            files: HashSet::new(),
            entities: HashSet::new(),
            tokens: 0,
        };
        let header = |slot: usize| {
            g.file_data(self.files[slot])
                .map_or(0, |f| count_tokens(&format!("{}:\n", f.rel)))
        };
        let line = |slot: usize, index: u32| {
            g.file_data(self.files[slot])
                .and_then(|f| f.entities.get(index as usize))
                .map_or(0, |e| count_tokens(&format!("  {}\n", e.signature)))
        };
        let entity_id = |slot: usize, index: u32| {
            g.file_data(self.files[slot])
                .and_then(|f| f.entities.get(index as usize))
                .map(|e| e.id)
        };
        answer.tokens = header(target.0) + line(target.0, target.1);
        answer.files.insert(self.files[target.0]);
        answer.entities.extend(entity_id(target.0, target.1));
        for &(slot, ident) in ranked {
            let indices: Vec<u32> = self.definitions[&(slot, ident)]
                .iter()
                .copied()
                .filter(|&i| (slot, i) != target)
                .collect();
            if indices.is_empty() {
                continue;
            }
            let file = self.files[slot];
            let mut cost: usize = indices.iter().map(|&i| line(slot, i)).sum();
            if !answer.files.contains(&file) {
                cost += header(slot);
            }
            if answer.tokens + cost > budget {
                break;
            }
            answer.tokens += cost;
            answer.files.insert(file);
            answer
                .entities
                .extend(indices.iter().filter_map(|&i| entity_id(slot, i)));
        }
        answer
    }
}

/// PageRank by power iteration, teleporting (and leaving dangling files) to `target`.
fn pagerank(n: usize, edges: &[Edge], out_weight: &[f64], target: usize) -> Vec<f64> {
    let mut rank = vec![1.0 / n as f64; n];
    for _ in 0..ITERATIONS {
        let dangling: f64 = (0..n)
            .filter(|&u| out_weight[u] == 0.0)
            .map(|u| rank[u])
            .sum();
        let mut next = vec![0.0; n];
        for e in edges {
            next[e.to] += DAMPING * rank[e.from] * e.weight / out_weight[e.from];
        }
        next[target] += DAMPING * dangling + (1.0 - DAMPING);
        let change: f64 = next.iter().zip(&rank).map(|(a, b)| (a - b).abs()).sum();
        rank = next;
        if change < TOLERANCE {
            break;
        }
    }
    rank
}

// ---------------------------------------------------------------------------------------
// Replay

/// Recall of one commit at one budget.
#[derive(Clone, Copy, Default)]
struct Recall {
    files: f64,
    /// None when the commit changes no other symbol.
    symbols: Option<f64>,
    tokens: usize,
    /// Distinct files in the answer.
    answer_files: usize,
}

/// One replayed commit.
struct Replayed {
    commit: String,
    target: String,
    other_files: usize,
    other_symbols: usize,
    /// Per budget.
    ours: Vec<Recall>,
    theirs: Vec<Recall>,
}

/// Why a commit was not replayed.
#[derive(Default)]
struct Skips {
    no_function: usize,
    no_other_file: usize,
    errors: usize,
    first_error: Option<String>,
}

struct RepoReport {
    name: String,
    head: String,
    scan: Scan,
    candidates: usize,
    replayed: Vec<Replayed>,
    skips: Skips,
    /// Changed files existing in the parent that the index did not hold.
    unindexed: usize,
    context_times: Vec<Duration>,
    baseline_times: Vec<Duration>,
    index_times: Vec<Duration>,
    lines: u64,
    files: usize,
}

/// The mean of the values present, and how many there were.
fn mean(values: impl Iterator<Item = Option<f64>>) -> (f64, usize) {
    let (sum, n) = values
        .flatten()
        .fold((0.0, 0usize), |(sum, n), v| (sum + v, n + 1));
    (if n == 0 { 0.0 } else { sum / n as f64 }, n)
}

impl RepoReport {
    /// Mean recall at the `b`-th budget, and over how many commits.
    fn recall(&self, b: usize, ours: bool, symbols: bool) -> (f64, usize) {
        mean(self.replayed.iter().map(|r| {
            let recall = if ours { r.ours[b] } else { r.theirs[b] };
            if symbols {
                recall.symbols
            } else {
                Some(recall.files)
            }
        }))
    }

    /// Mean tokens of the answers at the `b`-th budget.
    fn tokens(&self, b: usize, ours: bool) -> f64 {
        mean(self.replayed.iter().map(|r| {
            let recall = if ours { r.ours[b] } else { r.theirs[b] };
            Some(recall.tokens as f64)
        }))
        .0
    }

    /// Mean distinct files of the answers at the `b`-th budget.
    fn answer_files(&self, b: usize, ours: bool) -> f64 {
        mean(self.replayed.iter().map(|r| {
            let recall = if ours { r.ours[b] } else { r.theirs[b] };
            Some(recall.answer_files as f64)
        }))
        .0
    }

    fn to_json(&self, budgets: &[usize]) -> Value {
        let by_budget: Vec<Value> = budgets
            .iter()
            .enumerate()
            .map(|(b, budget)| {
                json!({
                    "budget": budget,
                    "codecontext": {
                        "files": self.recall(b, true, false).0,
                        "symbols": self.recall(b, true, true).0,
                        "tokens": self.tokens(b, true),
                        "answer_files": self.answer_files(b, true),
                    },
                    "aider": {
                        "files": self.recall(b, false, false).0,
                        "symbols": self.recall(b, false, true).0,
                        "tokens": self.tokens(b, false),
                        "answer_files": self.answer_files(b, false),
                    },
                })
            })
            .collect();
        json!({
            "repo": self.name,
            "head": self.head,
            "commits_scanned": self.scan.commits,
            "merges_scanned": self.scan.merges,
            "fewer_than_two_files": self.scan.too_few_files,
            "candidates": self.candidates,
            "replayed": self.replayed.len(),
            "with_other_symbols": self.replayed.iter().filter(|r| r.other_symbols > 0).count(),
            "skipped": {
                "no_changed_function": self.skips.no_function,
                "no_other_indexed_file": self.skips.no_other_file,
                "errors": self.skips.errors,
                "first_error": self.skips.first_error,
            },
            "unindexed_changed_files": self.unindexed,
            "recall": by_budget,
            "context_ms": {"p50": ms(median(&self.context_times)), "p99": ms(percentile(&self.context_times, 99.0)), "answers": self.context_times.len()},
            "aider_ms": {"p50": ms(median(&self.baseline_times)), "p99": ms(percentile(&self.baseline_times, 99.0))},
            "index_ms": {"p50": ms(median(&self.index_times))},
            "parent_files": self.files,
            "parent_lines": self.lines,
            "commits": self.replayed.iter().map(|r| json!({
                "commit": r.commit,
                "target": r.target,
                "other_files": r.other_files,
                "other_symbols": r.other_symbols,
                "codecontext": r.ours.iter().map(|x| json!({"files": x.files, "symbols": x.symbols, "tokens": x.tokens, "answer_files": x.answer_files})).collect::<Vec<_>>(),
                "aider": r.theirs.iter().map(|x| json!({"files": x.files, "symbols": x.symbols, "tokens": x.tokens, "answer_files": x.answer_files})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// Replays the history of one repository.
fn replay(repo: &Path, options: &Options) -> Result<RepoReport> {
    let name = repo.file_name().map_or_else(
        || repo.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let head = git(repo, &["rev-parse", "HEAD"])?.trim().to_string();
    let (candidates, scan) = candidates(repo, options.commits, options.merges)?;
    ensure!(
        !candidates.is_empty(),
        "{name}: no commit changes two or more source files"
    );
    eprintln!(
        "{name}: {} commits to replay (of {} scanned)",
        candidates.len(),
        scan.commits
    );
    let scratch = tempfile::Builder::new()
        .prefix("codecontext-bench-history-")
        .tempdir()
        .context("creating a scratch folder")?;
    let tree = scratch.path().join(&name);
    let index = scratch.path().join("index");
    let mut report = RepoReport {
        name: name.clone(),
        head,
        scan,
        candidates: candidates.len(),
        replayed: Vec::new(),
        skips: Skips::default(),
        unindexed: 0,
        context_times: Vec::new(),
        baseline_times: Vec::new(),
        index_times: Vec::new(),
        lines: 0,
        files: 0,
    };
    for (n, candidate) in candidates.iter().enumerate() {
        match replay_commit(repo, candidate, &tree, &index, options, &mut report) {
            Ok(Some(replayed)) => {
                if options.verbose {
                    let at = options
                        .budgets
                        .iter()
                        .position(|&b| b == TARGET_BUDGET)
                        .unwrap_or(0);
                    eprintln!(
                        "  {} {:<50} files {}: {:.2} vs {:.2}  symbols {}: {} vs {}",
                        &replayed.commit[..10],
                        replayed.target,
                        replayed.other_files,
                        replayed.ours[at].files,
                        replayed.theirs[at].files,
                        replayed.other_symbols,
                        replayed.ours[at]
                            .symbols
                            .map_or("-".into(), |s| format!("{s:.2}")),
                        replayed.theirs[at]
                            .symbols
                            .map_or("-".into(), |s| format!("{s:.2}")),
                    );
                }
                report.replayed.push(replayed);
            }
            Ok(None) => {}
            Err(e) => {
                report.skips.errors += 1;
                report
                    .skips
                    .first_error
                    .get_or_insert_with(|| format!("{}: {e:#}", candidate.commit));
            }
        }
        if (n + 1) % 25 == 0 {
            eprintln!("{name}: {}/{}", n + 1, candidates.len());
        }
    }
    Ok(report)
}

/// Replays one commit: None when it has no target or nothing else to find.
fn replay_commit(
    repo: &Path,
    candidate: &Candidate,
    tree: &Path,
    index: &Path,
    options: &Options,
    report: &mut RepoReport,
) -> Result<Option<Replayed>> {
    materialize(repo, &candidate.parent, tree, index)?;
    let start = Instant::now();
    let mut host = AnalysisHost::default();
    let indexed = host.index_root(tree, None);
    report.index_times.push(start.elapsed());
    if report.files == 0 {
        // The first parent replayed is the newest.
        report.files = indexed.files;
        report.lines = indexed.lines;
    }
    let root = tree.canonicalize()?;
    let g = host.graph();

    // The changed files the index holds, their changed lines, and the target.
    let mut changed: Vec<(FileId, Vec<(u32, u32)>)> = Vec::new();
    for c in &candidate.changed {
        let Some(file) = host.file_id(&root.join(&c.path)) else {
            report.unindexed += 1;
            continue;
        };
        let hunks = if c.deleted {
            Vec::new()
        } else {
            old_hunks(repo, &candidate.parent, &candidate.commit, &c.path)?
        };
        changed.push((file, hunks));
    }
    let mut target: Option<(FileId, u32)> = None;
    let mut symbols: HashSet<EntityId> = HashSet::new();
    for (file, hunks) in &changed {
        let Some(f) = g.file_data(*file) else {
            continue;
        };
        let lines = entity_lines(f);
        if target.is_none() {
            target = changed_entities(f, &lines, hunks, is_function)
                .first()
                .map(|&i| (*file, i));
        }
        symbols.extend(
            changed_entities(f, &lines, hunks, is_symbol)
                .into_iter()
                .map(|i| f.entities[i as usize].id),
        );
    }
    let Some((target_file, target_index)) = target else {
        report.skips.no_function += 1;
        if options.verbose {
            let files: Vec<&str> = candidate.changed.iter().map(|c| c.path.as_str()).collect();
            eprintln!(
                "  {} skipped: no changed function in {}",
                &candidate.commit[..10],
                files.join(", ")
            );
        }
        return Ok(None);
    };
    let f = g.file_data(target_file).context("the target's file")?;
    let entity = &f.entities[target_index as usize];
    symbols.remove(&entity.id);
    let other_files: HashSet<FileId> = changed
        .iter()
        .map(|(file, _)| *file)
        .filter(|file| *file != target_file)
        .collect();
    if other_files.is_empty() {
        report.skips.no_other_file += 1;
        if options.verbose {
            eprintln!(
                "  {} skipped: no other changed file indexed",
                &candidate.commit[..10]
            );
        }
        return Ok(None);
    }
    let target_name = format!(
        "{}:{}",
        f.rel,
        g.qualified_name(codecontext_analysis::EntityLoc {
            file: target_file,
            index: target_index,
        })
    );

    let history = history_at(repo, &candidate.parent)?;
    let score = |files: &HashSet<FileId>, entities: &HashSet<EntityId>, tokens: usize| Recall {
        files: other_files.intersection(files).count() as f64 / other_files.len() as f64,
        symbols: (!symbols.is_empty())
            .then(|| symbols.intersection(entities).count() as f64 / symbols.len() as f64),
        tokens,
        answer_files: files.len(),
    };
    let analysis = host.analysis();
    let mut ours = Vec::new();
    for &budget in &options.budgets {
        let query = ContextQuery {
            targets: vec![Target::Position {
                file: target_file,
                offset: entity.selection.start,
            }],
            budget,
        };
        let start = Instant::now();
        let answer = context(&analysis, &history, &query)
            .map_err(|e| anyhow::anyhow!("context of {target_name} at {budget}: {e}"))?;
        report.context_times.push(start.elapsed());
        let files: HashSet<FileId> = answer.items.iter().map(|i| i.file).collect();
        let entities: HashSet<EntityId> = answer.items.iter().filter_map(|i| i.entity).collect();
        ours.push(score(&files, &entities, answer.tokens));
    }

    let start = Instant::now();
    let map = RepoMap::new(g);
    let target_slot = map.slot[&target_file];
    let mut mentioned: HashSet<Name> = f
        .refs
        .iter()
        .filter(|r| entity.range.contains_range(r.range))
        .map(|r| r.name)
        .collect();
    mentioned.insert(entity.name);
    let ranked = map.rank(g, target_slot, &mentioned);
    let answers: Vec<MapAnswer> = options
        .budgets
        .iter()
        .map(|&budget| map.pack(g, &ranked, (target_slot, target_index), budget))
        .collect();
    report.baseline_times.push(start.elapsed());
    let theirs = answers
        .iter()
        .map(|a| score(&a.files, &a.entities, a.tokens))
        .collect();

    Ok(Some(Replayed {
        commit: candidate.commit.clone(),
        target: target_name,
        other_files: other_files.len(),
        other_symbols: symbols.len(),
        ours,
        theirs,
    }))
}

// ---------------------------------------------------------------------------------------
// Latency on a large folder

struct LatencyReport {
    dir: PathBuf,
    files: usize,
    lines: u64,
    functions: usize,
    index: Duration,
    times: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    items: f64,
    tokens: f64,
}

impl LatencyReport {
    fn to_json(&self) -> Value {
        json!({
            "dir": self.dir.display().to_string(),
            "files": self.files,
            "lines": self.lines,
            "functions": self.functions,
            "index_ms": ms(self.index),
            "budget": TARGET_BUDGET,
            "queries": self.times.len(),
            "p50_ms": ms(median(&self.times)),
            "p99_ms": ms(percentile(&self.times, 99.0)),
            "max_ms": ms(self.times.iter().max().copied().unwrap_or_default()),
            "errors": self.errors,
            "first_error": self.first_error,
            "mean_items": self.items,
            "mean_tokens": self.tokens,
        })
    }
}

/// Indexes `dir` once and times `queries` context answers for random functions.
fn latency(dir: &Path, queries: usize) -> Result<LatencyReport> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("{}", dir.display()))?;
    eprintln!("latency: indexing {}", dir.display());
    let start = Instant::now();
    let mut host = AnalysisHost::default();
    let indexed = host.index_root(&dir, None);
    let index = start.elapsed();
    let g = host.graph();
    let functions: Vec<(FileId, u32)> = g
        .files()
        .flat_map(|(file, f)| {
            f.entities
                .iter()
                .skip(1)
                .filter(|e| is_function(e.kind) && e.has_body)
                .map(move |e| (file, e.selection.start))
        })
        .collect();
    if functions.is_empty() {
        bail!("no function in {}", dir.display());
    }
    let history = History::default();
    let analysis = host.analysis();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut report = LatencyReport {
        dir: dir.clone(),
        files: indexed.files,
        lines: indexed.lines,
        functions: functions.len(),
        index,
        times: Vec::with_capacity(queries),
        errors: 0,
        first_error: None,
        items: 0.0,
        tokens: 0.0,
    };
    let (mut items, mut tokens) = (0usize, 0usize);
    for _ in 0..queries {
        let (file, offset) = functions[(rng.next() % functions.len() as u64) as usize];
        let query = ContextQuery {
            targets: vec![Target::Position { file, offset }],
            budget: TARGET_BUDGET,
        };
        let start = Instant::now();
        let answer = context(&analysis, &history, &query);
        report.times.push(start.elapsed());
        match answer {
            Ok(answer) => {
                items += answer.items.len();
                tokens += answer.tokens;
            }
            Err(e) => {
                report.errors += 1;
                report.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    let answered = (queries - report.errors).max(1) as f64;
    report.items = items as f64 / answered;
    report.tokens = tokens as f64 / answered;
    Ok(report)
}

// ---------------------------------------------------------------------------------------
// Report

fn print_report(reports: &[RepoReport], latency: Option<&LatencyReport>, budgets: &[usize]) {
    let at = budgets
        .iter()
        .position(|&b| b == TARGET_BUDGET)
        .unwrap_or(budgets.len() / 2);
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.2}x", a / b)
        } else {
            "-".into()
        }
    };
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    println!("context recall on real history: CodeContext against Aider's repository map");
    println!("(same targets, same o200k token budgets; mean recall over the replayed commits)");
    println!();
    for r in reports {
        let with_symbols = r.replayed.iter().filter(|c| c.other_symbols > 0).count();
        println!(
            "{} @ {} ({} files, {} lines in the newest parent)",
            r.name,
            &r.head[..r.head.len().min(12)],
            r.files,
            r.lines
        );
        println!(
            "  {} commits scanned ({} merges, {} with fewer than two source files changed), {} taken, {} replayed ({} with other changed symbols); skipped: {} no changed function, {} no other indexed file, {} errors; {} changed files not indexed",
            r.scan.commits,
            r.scan.merges,
            r.scan.too_few_files,
            r.candidates,
            r.replayed.len(),
            with_symbols,
            r.skips.no_function,
            r.skips.no_other_file,
            r.skips.errors,
            r.unindexed
        );
        if let Some(e) = &r.skips.first_error {
            println!("  first error: {e}");
        }
        println!("  budget   files: ours  aider  ratio   symbols: ours  aider  ratio   tokens: ours  aider   files in answer: ours  aider");
        for (b, budget) in budgets.iter().enumerate() {
            let (of, _) = r.recall(b, true, false);
            let (tf, _) = r.recall(b, false, false);
            let (os, _) = r.recall(b, true, true);
            let (ts, _) = r.recall(b, false, true);
            println!(
                "  {budget:>6}          {of:.3}  {tf:.3}  {:>5}            {os:.3}  {ts:.3}  {:>5}          {:>5.0}  {:>5.0}                   {:>4.1}  {:>5.1}",
                ratio(of, tf),
                ratio(os, ts),
                r.tokens(b, true),
                r.tokens(b, false),
                r.answer_files(b, true),
                r.answer_files(b, false)
            );
        }
        println!(
            "  context answer p50 {:.1} ms, p99 {:.1} ms ({} answers); aider map p50 {:.1} ms; index p50 {:.0} ms",
            ms(median(&r.context_times)),
            ms(percentile(&r.context_times, 99.0)),
            r.context_times.len(),
            ms(median(&r.baseline_times)),
            ms(median(&r.index_times))
        );
        println!();
    }
    if let Some(l) = latency {
        println!(
            "latency on {} ({} files, {} lines, {} functions; indexed in {:.1} s)",
            l.dir.display(),
            l.files,
            l.lines,
            l.functions,
            l.index.as_secs_f64()
        );
        println!(
            "  {} context answers at {TARGET_BUDGET} tokens: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {:.1} items, {:.0} tokens on average; {} errors",
            l.times.len(),
            ms(median(&l.times)),
            ms(percentile(&l.times, 99.0)),
            ms(l.times.iter().max().copied().unwrap_or_default()),
            l.items,
            l.tokens,
            l.errors
        );
        if let Some(e) = &l.first_error {
            println!("  first error: {e}");
        }
        println!();
    }
    println!("targets");
    for r in reports {
        let (ours, _) = r.recall(at, true, false);
        let (theirs, _) = r.recall(at, false, false);
        println!(
            "  {:<10} recall of files at {}: {:.3} vs {:.3} = {:>6} (>= {TARGET_RATIO}x)  {}",
            r.name,
            budgets[at],
            ours,
            theirs,
            ratio(ours, theirs),
            met(theirs > 0.0 && ours >= TARGET_RATIO * theirs || theirs == 0.0 && ours > 0.0)
        );
    }
    if let Some(l) = latency {
        let p99 = percentile(&l.times, 99.0);
        println!(
            "  context p99 at {TARGET_BUDGET} on {}: {:.1} ms (<= {} ms)  {}",
            l.dir.display(),
            ms(p99),
            TARGET_P99.as_millis(),
            met(p99 <= TARGET_P99 && l.errors == 0)
        );
    }
}
