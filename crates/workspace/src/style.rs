//! User context: how the project's code is written, by whom, and what its user runs.
//!
//! - Style: naming conventions measured from the code as it is (the graph), and each
//!   author's habits measured from the lines their commits added (the change log keeps
//!   the counts per commit, see `codecontext_memory::style`), per language.
//! - Habits: the commands and tests this workspace's runs use most (the run log).
//!
//! Both are part of `recall` for a file (its language, the authors who changed it) and
//! for the whole project.

use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
};

use codecontext_memory::style::StyleCounts;
use codecontext_store::ChangeLog;
use serde_json::{json, Value};

use crate::{history::HistoryOf, Result, Workspace, WorkspaceError};

/// Authors listed per language, most commits first.
const MAX_AUTHORS: usize = 10;
/// Commands and tests listed as habits.
const MAX_HABITS: usize = 10;
/// Runs read for habits, newest first.
const HABIT_RUNS: u32 = 500;

/// One author's counts in one language.
#[derive(Default)]
struct Author {
    name: String,
    commits: u32,
    counts: StyleCounts,
}

impl Workspace {
    /// The style of the folder's code: for each language (or `language` only), the
    /// naming conventions of the code as it is, the habits of all the commits read, and
    /// of each author; with `paths` (a file and its older names), only the commits that
    /// changed a definition in it.
    pub async fn style_of(
        &self,
        root: &Path,
        paths: Option<Vec<String>>,
        language: Option<&str>,
    ) -> Result<Value> {
        let store = self.memory_store("recall", root).await?;
        let rows = match store.embedded() {
            Some(log) => log.styles(paths).await.map_err(|e| {
                WorkspaceError::internal(format!("codecontext.recall: the change log: {e}"))
            })?,
            None => Vec::new(),
        };
        // language -> email -> author
        let mut by_language: BTreeMap<String, HashMap<String, Author>> = BTreeMap::new();
        for codecontext_store::CommitStyle {
            author: name,
            email,
            style,
        } in rows
        {
            let Ok(per_language) = serde_json::from_str::<BTreeMap<String, StyleCounts>>(&style)
            else {
                continue;
            };
            for (lang, counts) in per_language {
                if language.is_some_and(|l| l != lang) {
                    continue;
                }
                let author = by_language
                    .entry(lang)
                    .or_default()
                    .entry(email.clone())
                    .or_default();
                author.name.clone_from(&name);
                author.commits += 1;
                author.counts.add(&counts);
            }
        }
        let code: Vec<codecontext_assess::Convention> = {
            let host = self.read();
            codecontext_assess::naming::conventions(&host.analysis())
        };
        let mut languages: Vec<&str> = by_language.keys().map(String::as_str).collect();
        for c in &code {
            if !languages.contains(&c.language) && language.is_none_or(|l| l == c.language) {
                languages.push(c.language);
            }
        }
        languages.sort_unstable();
        let out: Vec<Value> = languages
            .into_iter()
            .map(|lang| {
                let naming: Vec<Value> = code
                    .iter()
                    .filter(|c| c.language == lang)
                    .map(|c| {
                        json!({
                            "kind": c.group.as_str(),
                            "style": c.style,
                            "share": c.share,
                            "names": c.names,
                        })
                    })
                    .collect();
                let mut authors: Vec<(&String, &Author)> = by_language
                    .get(lang)
                    .map(|a| a.iter().collect())
                    .unwrap_or_default();
                authors.sort_by(|a, b| b.1.commits.cmp(&a.1.commits).then(a.0.cmp(b.0)));
                let mut all = StyleCounts::default();
                for (_, a) in &authors {
                    all.add(&a.counts);
                }
                let commits: u32 = authors.iter().map(|(_, a)| a.commits).sum();
                json!({
                    "language": lang,
                    "code": { "naming": naming },
                    "commits": { "commits": commits, "habits": all.summary() },
                    "authors": authors.iter().take(MAX_AUTHORS).map(|(email, a)| json!({
                        "author": a.name,
                        "email": email,
                        "commits": a.commits,
                        "habits": a.counts.summary(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(json!({ "languages": out }))
    }

    /// The commands and tests the folder's runs used most: each verification's test
    /// command and the tests it ran, each execution's language.
    pub async fn habits_of(&self, root: &Path) -> Result<Value> {
        let runs = self.history(HistoryOf::Any, HABIT_RUNS).await?;
        let mut commands: HashMap<String, u32> = HashMap::new();
        let mut tests: HashMap<String, u32> = HashMap::new();
        for r in runs.iter().filter(|r| r.root == root) {
            let detail = &r.run.detail;
            let command = match r.run.kind {
                codecontext_store::RunKind::Verify => detail["command"]
                    .as_array()
                    .map(|words| {
                        words
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .filter(|c| !c.is_empty()),
                codecontext_store::RunKind::Execute => {
                    detail["language"].as_str().map(|l| format!("execute {l}"))
                }
            };
            if let Some(c) = command {
                *commands.entry(c).or_default() += 1;
            }
            for t in detail["tests"].as_array().into_iter().flatten() {
                if let Some(name) = t["name"].as_str() {
                    *tests.entry(name.to_string()).or_default() += 1;
                }
            }
        }
        let top = |counts: HashMap<String, u32>| -> Vec<Value> {
            let mut v: Vec<(String, u32)> = counts.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            v.into_iter()
                .take(MAX_HABITS)
                .map(|(what, runs)| json!({ "what": what, "runs": runs }))
                .collect()
        };
        Ok(json!({
            "runs": runs.iter().filter(|r| r.root == root).count(),
            "commands": top(commands),
            "tests": top(tests),
        }))
    }
}
