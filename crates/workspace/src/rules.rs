//! Project rules (`.codecontext/rules/*.yml`, see `codecontext_patterns::rules`) checked
//! against documents: each folder's rules are loaded on first use and again after a rule
//! file changes on disk ([`Workspace::rules_changed`]); what did not load is told to the
//! user once per change, with its file and line, and the rules that did load keep
//! working. [`Workspace::scan_rules`] checks them over every file of the workspace.

use std::{
    collections::HashMap,
    ops::ControlFlow,
    path::{Path, PathBuf},
    sync::{Arc, PoisonError},
    time::Instant,
};

use codecontext_analysis::{FileId, PositionEncoding};
use codecontext_patterns::{
    rules::{is_rule_file, Hit, ProjectRule, Rules, Severity},
    SgLang,
};
use codecontext_text::{LineIndex, TextRange};
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

    /// The rule hits in an open document, from its current text.
    ///
    /// Made for every keystroke, so it costs what the keystroke changed: the hits of
    /// each top-level item are kept with the hash of its text ([`Memo`]), and only the
    /// items whose text is new are checked: in the document's tree when it is current,
    /// else each parsed alone (an item that parses cleanly alone as one item parses as
    /// it does in the file: the argument of the document's own fast path, see
    /// `codecontext_syntax::document`). Rules that are not local to one item
    /// ([`ProjectRule::is_local`]) are checked on the whole file, and an item that does
    /// not parse cleanly alone sends the check to the whole file too.
    pub fn check_rules(&self, file: FileId) -> Vec<Hit> {
        let (root, rel, lang, text, tree, chunks) = {
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
            let rel = path.strip_prefix(&root).unwrap_or(&path).to_path_buf();
            (
                root,
                rel,
                SgLang::of(doc.language().id),
                doc.text().to_string(),
                doc.current_tree().cloned(),
                doc.chunk_ranges().to_vec(),
            )
        };
        let rules = self.rules(&root);
        let applies = |r: &ProjectRule| r.lang() == lang && r.applies_to(&rel);
        let memo = |m: &mut HashMap<FileId, Memo>| m.remove(&file);
        let mut memos = self
            .rule_memo
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old = memo(&mut memos).filter(|m| Arc::ptr_eq(&m.rules, &rules));
        drop(memos);
        if !rules.rules.iter().any(applies) {
            return Vec::new();
        }
        let budget = self.settings().limits().parse_budget;
        let local = |r: &ProjectRule| applies(r) && r.is_local();
        let global = |r: &ProjectRule| applies(r) && !r.is_local();

        let mut old = old.map(|m| m.items).unwrap_or_default();
        let mut items = HashMap::new();
        let mut hits = Vec::new();
        let mut todo = Vec::new();
        for &chunk in &chunks {
            let key = Memo::key(&text[chunk.as_usize()]);
            match old.remove(&key).or_else(|| items.get(&key).cloned()) {
                Some(known) => {
                    hits.extend(
                        known
                            .iter()
                            .cloned()
                            .map(|h: Hit| h.shifted(chunk.start.into())),
                    );
                    items.insert(key, known);
                }
                None => todo.push((chunk, key)),
            }
        }
        let mut whole = tree;
        // Per new item: its range, its key when its hits may be kept, its hits.
        let mut found: Vec<(TextRange, Option<ItemKey>, Vec<Hit>)> = Vec::new();
        if whole.is_none() {
            // Each new item parsed alone, unless one of them does not parse cleanly.
            for &(chunk, key) in &todo {
                let part = &text[chunk.as_usize()];
                let all = TextRange::new(0, chunk.len());
                let config = &lang.language().config;
                match codecontext_syntax::parse(lang.language(), part, None, budget) {
                    Ok(t)
                        if !t.root_node().has_error()
                            && codecontext_syntax::chunk_ranges(&t, config) == [all] =>
                    {
                        let in_part = rules.check_items(lang, &t, part, &[all], local);
                        found.push((chunk, Some(key), in_part));
                    }
                    _ => {
                        found.clear();
                        whole =
                            codecontext_syntax::parse(lang.language(), &text, None, budget).ok();
                        if whole.is_none() {
                            return Vec::new();
                        }
                        break;
                    }
                }
            }
        }
        if let Some(tree) = &whole {
            if found.is_empty() && !todo.is_empty() {
                let ranges: Vec<TextRange> = todo.iter().map(|(c, _)| *c).collect();
                let mut in_file = rules
                    .check_items(lang, tree, &text, &ranges, local)
                    .into_iter()
                    .peekable();
                // An item with syntax errors is not kept: how error recovery reads it
                // may depend on more than its text.
                let root = tree.root_node();
                let mut cursor = root.walk();
                let errors: Vec<TextRange> = root
                    .children(&mut cursor)
                    .filter(|c| c.has_error())
                    .map(|c| TextRange::from_usize(c.byte_range()))
                    .chain(
                        root.is_error()
                            .then(|| TextRange::from_usize(root.byte_range())),
                    )
                    .collect();
                for &(chunk, key) in &todo {
                    let mut mine = Vec::new();
                    while let Some(h) = in_file.next_if(|h| h.range.end <= chunk.end) {
                        mine.push(h.shifted(-i64::from(chunk.start)));
                    }
                    let clean = !errors.iter().any(|e| e.touches(chunk));
                    found.push((chunk, clean.then_some(key), mine));
                }
            }
        }
        for (chunk, key, in_chunk) in found {
            hits.extend(
                in_chunk
                    .iter()
                    .cloned()
                    .map(|h| h.shifted(chunk.start.into())),
            );
            if let Some(key) = key {
                items.insert(key, in_chunk);
            }
        }
        if rules.rules.iter().any(global) {
            if whole.is_none() {
                whole = codecontext_syntax::parse(lang.language(), &text, None, budget).ok();
            }
            if let Some(tree) = &whole {
                hits.extend(rules.check_some(lang, tree, &text, global));
            }
        }
        // In document order, and in the rules' order where two hit the same text, as
        // a check of the whole file gives them.
        let order = |id: &str| rules.rules.iter().position(|r| r.id == id);
        hits.sort_by_cached_key(|h| (h.range.start, h.range.end, order(&h.rule)));
        self.rule_memo
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(file, Memo { rules, items });
        hits
    }
}

/// The rule hits of an open document's top-level items, each under the hash of the
/// item's text with its hits relative to the item's start; kept for the rules they were
/// found with, and only for the items the last check saw.
pub(crate) struct Memo {
    rules: Arc<Rules>,
    items: HashMap<ItemKey, Vec<Hit>>,
}

/// An item's text as the memo knows it: its hash and its length.
type ItemKey = (u64, u32);

impl Memo {
    fn key(item: &str) -> ItemKey {
        (
            xxhash_rust::xxh3::xxh3_64(item.as_bytes()),
            item.len() as u32,
        )
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
    /// Files whose words no rule of their language (and of their globs) needs.
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
                let rel = Path::new(&*f.rel);
                let of_lang = || {
                    rules
                        .rules
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.lang() == lang && r.applies_to(rel))
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

#[cfg(test)]
mod tests {
    use codecontext_analysis::{DocumentChange, WideLineCol};

    use super::*;

    const RULES: &str = "id: no-unwrap\nlanguage: rust\nmessage: unwrap on $X\nrule:\n  pattern: $X.unwrap()\nfix: $X.expect(\"why\")\n\
        ---\nid: clone-in-loop\nlanguage: rust\nrule:\n  pattern: $X.clone()\n  inside:\n    kind: for_expression\n    stopBy: end\n\
        ---\nid: fn-after-const\nlanguage: rust\nrule:\n  kind: function_item\n  follows:\n    kind: const_item\n\
        ---\nid: only-in-tests\nlanguage: rust\nfiles: [\"tests/**\"]\nrule:\n  pattern: dbg!($$$)\n\
        ---\nid: not-in-src\nlanguage: rust\nignores: [\"src/**\"]\nrule:\n  pattern: todo!()\n";

    const SOURCE: &str = "const A: u32 = 1;\nfn a() { x.unwrap(); dbg!(1); }\n\n\
        fn b(v: Vec<u8>) {\n    for i in 0..3 {\n        let w = v.clone();\n    }\n    todo!()\n}\n\n\
        /// Docs.\nfn c() -> u32 { y.unwrap().len() }\nstruct S;\nimpl S {\n    fn d(&self) { self.clone().unwrap(); }\n}\n";

    fn workspace(
        file: &str,
    ) -> (
        tokio::runtime::Runtime,
        tempfile::TempDir,
        PathBuf,
        Arc<Workspace>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join(".codecontext/rules")).unwrap();
        std::fs::write(root.join(".codecontext/rules/r.yml"), RULES).unwrap();
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, SOURCE).unwrap();
        let (runtime, ws) = crate::indexed_folder(&root);
        (runtime, dir, path, ws)
    }

    /// What a check of the whole document finds: in its tree when that is current
    /// (an incremental reparse: under heavy syntax errors tree-sitter's may differ from
    /// a fresh parse, and the document's is the one the editor is answered from), else
    /// in a fresh parse of its text.
    fn whole(ws: &Workspace, id: FileId, root: &Path, rel: &Path, text: &str) -> Vec<Hit> {
        let rules = ws.rules(root);
        let lang = SgLang::by_name("rust").unwrap();
        let current = ws.read().document(id).unwrap().current_tree().cloned();
        let tree = current.unwrap_or_else(|| {
            let budget = std::time::Duration::from_secs(5);
            codecontext_syntax::parse(lang.language(), text, None, budget).unwrap()
        });
        rules.check_some(lang, &tree, text, |r| r.applies_to(rel))
    }

    fn at(text: &str, offset: usize) -> WideLineCol {
        let before = &text[..offset];
        let line = before.matches('\n').count() as u32;
        let col = (offset - before.rfind('\n').map_or(0, |i| i + 1)) as u32;
        WideLineCol { line, col }
    }

    /// Hits kept per top-level item while typing equal a check of the whole document
    /// after every edit: typing inside a body (the document's fast path), edits that break
    /// the syntax and mend it, new items and deleted ones; a rule that looks at
    /// siblings (`follows`) and globs that take or leave the file.
    #[test]
    fn rules_checked_an_item_at_a_time_equal_a_check_of_the_whole_file() {
        let (_rt, dir, path, ws) = workspace("src/lib.rs");
        let root = dir.path().canonicalize().unwrap();
        let rel = Path::new("src/lib.rs");
        let id = ws.open_document(&path, SOURCE.to_string(), true).unwrap();
        let first = ws.check_rules(id);
        let rules: Vec<&str> = first.iter().map(|h| h.rule.as_str()).collect();
        assert_eq!(
            rules,
            [
                "fn-after-const",
                "no-unwrap",
                "clone-in-loop",
                "no-unwrap",
                "no-unwrap"
            ],
            "{first:#?}"
        );
        let mut text = SOURCE.to_string();
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let typed = [
            "x",
            ".unwrap()",
            "\n",
            "}",
            "{",
            " a.clone();",
            "\nfn e() { z.unwrap(); }\n",
            "const B: u8 = 2;\n",
        ];
        for step in 0..300 {
            let offset = next(text.len() + 1);
            let (end, insert) = if next(3) == 0 {
                ((offset + 1 + next(3)).min(text.len()), "")
            } else {
                (offset, typed[next(typed.len())])
            };
            let change = DocumentChange {
                range: Some((at(&text, offset), at(&text, end))),
                text: insert.to_string(),
            };
            ws.change_document(id, &[change], PositionEncoding::Utf16)
                .unwrap();
            text.replace_range(offset..end, insert);
            assert_eq!(
                ws.check_rules(id),
                whole(&ws, id, &root, rel, &text),
                "step {step}, text:\n{text}"
            );
        }
    }

    /// `files` and `ignores` decide which files a rule applies to, relative to the folder.
    #[test]
    fn globs_pick_the_files_a_rule_applies_to() {
        let (_rt, _dir, path, ws) = workspace("tests/t.rs");
        let id = ws.open_document(&path, SOURCE.to_string(), true).unwrap();
        let rules: Vec<String> = ws.check_rules(id).into_iter().map(|h| h.rule).collect();
        assert!(rules.iter().any(|r| r == "only-in-tests"), "{rules:?}");
        assert!(rules.iter().any(|r| r == "not-in-src"), "{rules:?}");

        let (_rt, _dir, path, ws) = workspace("src/lib.rs");
        let id = ws.open_document(&path, SOURCE.to_string(), true).unwrap();
        let rules: Vec<String> = ws.check_rules(id).into_iter().map(|h| h.rule).collect();
        assert!(
            !rules
                .iter()
                .any(|r| r == "only-in-tests" || r == "not-in-src"),
            "{rules:?}"
        );
    }
}
