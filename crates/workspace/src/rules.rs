//! Project rules (`.codecontext/rules/*.yml`, see `codecontext_patterns::rules`) checked
//! against documents: each folder's rules are loaded on first use and again after a rule
//! file changes on disk ([`Workspace::rules_changed`]); what did not load is told to the
//! user once per change, with its file and line, and the rules that did load keep
//! working. [`Workspace::scan_rules`] checks them over every file of the workspace.

use std::{
    ops::ControlFlow,
    path::{Path, PathBuf},
    sync::{Arc, PoisonError},
    time::Instant,
};

use codecontext_analysis::{FileId, PositionEncoding};
use codecontext_patterns::{
    rules::{is_rule_file, Hit, Rules, Severity},
    SgLang,
};
use codecontext_text::LineIndex;
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use crate::{
    search::{self, Point},
    Level, Result, Workspace,
};

impl Workspace {
    /// The rules of the folder `root`, loaded now if they are not yet.
    pub fn rules(&self, root: &Path) -> Arc<Rules> {
        let folder = self.folder(root);
        let mut slot = folder.rules.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(rules) = &*slot {
            return rules.clone();
        }
        let rules = Arc::new(Rules::load(root));
        debug!(
            "{}: {} project rules, {} errors",
            root.display(),
            rules.rules.len(),
            rules.errors.len()
        );
        if !rules.errors.is_empty() {
            let text = rules
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            warn!("project rules that do not load:\n{text}");
            let notifier = self.notifier.clone();
            let message = format!(
                "codecontext: {} project rule(s) do not load; the others apply.\n{text}",
                rules.errors.len()
            );
            self.runtime.spawn(async move {
                notifier.message(Level::Warning, message).await;
            });
        }
        *slot = Some(rules.clone());
        rules
    }

    /// Whether `path` is a rule file; if it is, its folder's rules are loaded again on
    /// next use (the caller checks the open documents again).
    pub fn rules_changed(&self, path: &Path) -> bool {
        if !is_rule_file(path) {
            return false;
        }
        if let Some(root) = self.root_of(path) {
            *self
                .folder(&root)
                .rules
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = None;
        }
        true
    }

    /// The rule hits in a document (open or indexed), from its current text.
    pub fn check_rules(&self, file: FileId) -> Vec<Hit> {
        let (root, lang, text, tree) = {
            let host = self.read();
            let Some(path) = host.path(file) else {
                return Vec::new();
            };
            // The host's roots, not `root_of`: the read lock is held already.
            let Some(root) = host
                .roots()
                .filter(|r| path.starts_with(r))
                .max_by_key(|r| r.as_os_str().len())
                .map(Path::to_path_buf)
            else {
                return Vec::new();
            };
            let Some(doc) = host.document(file) else {
                return Vec::new();
            };
            (
                root,
                SgLang::of(doc.language().id),
                doc.text().to_string(),
                doc.current_tree().cloned(),
            )
        };
        let rules = self.rules(&root);
        if rules.is_empty() {
            return Vec::new();
        }
        let budget = self.settings().limits().parse_budget;
        let tree = match tree {
            Some(tree) => tree,
            None => match codecontext_syntax::parse(lang.language(), &text, None, budget) {
                Ok(tree) => tree,
                Err(_) => return Vec::new(),
            },
        };
        rules.check(lang, &tree, &text)
    }
}

/// A check of the project's rules over its files (`codecontext/rules`, `codecontext
/// rules`, the MCP tool `check_rules`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RulesRequest {
    /// Only files under these paths (relative to their folder, or absolute).
    #[serde(default)]
    pub paths: Vec<String>,
    /// At most this many hits (default [`search::DEFAULT_LIMIT`]).
    #[serde(default)]
    pub limit: Option<usize>,
    /// How columns are counted (characters unless the door says otherwise).
    #[serde(skip)]
    pub encoding: Option<PositionEncoding>,
}

/// A rule's fix for one hit: replace from `start` to `end` with `text`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FixOut {
    pub start: Point,
    pub end: Point,
    pub text: String,
}

/// Where a rule matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleHit {
    pub place: String,
    pub path: String,
    pub start: Point,
    pub end: Point,
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    pub note: Option<String>,
    pub fix: Option<FixOut>,
    #[serde(skip)]
    pub file: PathBuf,
}

/// What the rules found, and which rules there were.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RulesAnswer {
    /// The ids of the rules that loaded.
    pub rules: Vec<String>,
    /// The rule documents that did not load, as `file:line: why`.
    pub errors: Vec<String>,
    pub hits: Vec<RuleHit>,
    pub files_checked: usize,
    /// Files whose words no rule of their language needs.
    pub files_ruled_out: usize,
    pub truncated: bool,
    pub elapsed_ms: u64,
}

impl Workspace {
    /// Checks the rules of every folder against its files (open documents from their
    /// live text), as [`Workspace::search`] goes through files: candidates under the
    /// read lock, then reading and matching outside it in parallel batches, stopping when
    /// cancelled, out of time or past `limit`.
    pub fn scan_rules(&self, request: &RulesRequest) -> Result<RulesAnswer> {
        let started = Instant::now();
        let limit = request.limit.unwrap_or(search::DEFAULT_LIMIT).max(1);
        let encoding = request.encoding.unwrap_or(PositionEncoding::Utf32);
        let mut answer = RulesAnswer::default();
        let roots = self.roots();
        let by_root: Vec<(PathBuf, Arc<Rules>)> =
            roots.iter().map(|r| (r.clone(), self.rules(r))).collect();
        for (_, rules) in &by_root {
            answer
                .rules
                .extend(rules.rules.iter().map(|r| r.id.clone()));
            answer
                .errors
                .extend(rules.errors.iter().map(ToString::to_string));
        }
        /// A file, its folder's rules, and which of them may hit it.
        struct Candidate {
            source: search::Source,
            rules: Arc<Rules>,
            lang: SgLang,
            keep: Vec<usize>,
        }
        let candidates: Vec<Candidate> = {
            let host = self.read();
            let under = search::scopes(&request.paths, &roots)?;
            let mut out = Vec::new();
            for (id, f) in host.graph().files() {
                let Some(path) = host.path(id) else { continue };
                if f.skipped.is_some()
                    || (!under.is_empty() && !under.iter().any(|u| path.starts_with(u)))
                {
                    continue;
                }
                let Some((_, rules)) = by_root
                    .iter()
                    .filter(|(r, _)| path.starts_with(r))
                    .max_by_key(|(r, _)| r.as_os_str().len())
                else {
                    continue;
                };
                let lang = SgLang::of(f.lang);
                let of_lang = || {
                    rules
                        .rules
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.lang() == lang)
                };
                // The rules whose words are all in some chunk of the file.
                let keep: Vec<usize> = of_lang()
                    .filter(|(_, r)| {
                        r.tokens
                            .iter()
                            .all(|&t| f.chunks.iter().any(|c| c.tokens.binary_search(&t).is_ok()))
                    })
                    .map(|(i, _)| i)
                    .collect();
                if keep.is_empty() {
                    if of_lang().next().is_some() {
                        answer.files_ruled_out += 1;
                    }
                    continue;
                }
                out.push(Candidate {
                    source: search::Source::of(&host, id, path, &f.rel),
                    rules: rules.clone(),
                    lang,
                    keep,
                });
            }
            out
        };
        let budget = self.settings().limits().parse_budget;
        let check = |c: &Candidate| -> Option<(Vec<Hit>, LineIndex)> {
            let text = c.source.text()?;
            let tree = c.source.tree(c.lang.language(), &text, budget)?;
            let hits = c.rules.check_some(c.lang, &tree, &text, |r| {
                c.keep.iter().any(|&k| std::ptr::eq(&c.rules.rules[k], r))
            });
            Some((hits, LineIndex::new(&text)))
        };
        let cut = search::in_batches(
            &candidates,
            check,
            |i, checked| {
                let Some((hits, index)) = checked else {
                    return ControlFlow::Continue(());
                };
                answer.files_checked += 1;
                let c = &candidates[i];
                for hit in hits {
                    if answer.hits.len() >= limit {
                        answer.truncated = true;
                        return ControlFlow::Break(());
                    }
                    let start = search::point(&index, encoding, hit.range.start);
                    answer.hits.push(RuleHit {
                        place: format!("{}:{}:{}", c.source.rel, start.line, start.column),
                        path: c.source.rel.clone(),
                        start,
                        end: search::point(&index, encoding, hit.range.end),
                        rule: hit.rule,
                        severity: hit.severity,
                        message: hit.message,
                        note: hit.note,
                        fix: hit.fix.map(|fix| FixOut {
                            start: search::point(&index, encoding, fix.range.start),
                            end: search::point(&index, encoding, fix.range.end),
                            text: fix.text,
                        }),
                        file: c.source.path.clone(),
                    });
                }
                ControlFlow::Continue(())
            },
            &|_, _| {},
        );
        answer.truncated |= cut;
        answer.hits.sort_by(|a, b| {
            (&a.path, a.start.line, a.start.column).cmp(&(&b.path, b.start.line, b.start.column))
        });
        answer.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(answer)
    }
}
