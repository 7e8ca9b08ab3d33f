//! Structural search over the workspace (`codecontext/search`, `codecontext search`, the
//! MCP tool `search_pattern`): an ast-grep pattern, rule or tree-sitter query
//! (`codecontext-patterns`) run over the files of one language.
//!
//! The index makes it fast: every chunk of every file keeps the hashes of its words
//! (`ChunkSummary::tokens`, updated with the chunk and persisted with the records), so a
//! pattern holding a word (`requests.get($URL)`: `requests`, `get`) parses only the files
//! that contain all its words. Open documents answer from their live text and tree.
//! The index's lock is held only to pick the candidates and, at the end, to name the
//! symbol around each match; files are read and parsed outside it, a batch at a time in
//! parallel, and between batches the search stops if it was cancelled, ran out of its
//! time budget (`truncated`), or found `limit` matches (`truncated` too).

use std::{
    collections::BTreeMap,
    ops::ControlFlow,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use codecontext_analysis::{cancel, AnalysisHost, FileId, PositionEncoding};
use codecontext_patterns::{Found, Query, SgLang};
use codecontext_text::{LineIndex, TextRange};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Result, Workspace, WorkspaceError};

/// Matches an answer holds unless the request says otherwise.
pub const DEFAULT_LIMIT: usize = 1000;
/// Files read and matched between two checks of cancellation and budget.
const BATCH: usize = 64;

/// A search, as every door takes it: exactly one of `pattern`, `rule` or `query`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchRequest {
    /// `rust`, `python`, `typescript`, `tsx`, `javascript`, `go`, `java` (or `rs`, `py`,
    /// `ts`, `js`, `golang`).
    pub lang: String,
    /// Code with metavariables: `$X.unwrap()`, `requests.get($$$ARGS)`.
    #[serde(default)]
    pub pattern: Option<String>,
    /// An ast-grep rule: `{"rule": {"pattern": ..., "inside": ...}, "constraints": ...}`.
    #[serde(default)]
    pub rule: Option<serde_json::Value>,
    /// A raw tree-sitter query; `@match` marks the matched node.
    #[serde(default)]
    pub query: Option<String>,
    /// Only files under these paths (relative to their folder, or absolute).
    #[serde(default)]
    pub paths: Vec<String>,
    /// At most this many matches (default [`DEFAULT_LIMIT`]).
    #[serde(default)]
    pub limit: Option<usize>,
    /// How columns are counted in the answer: characters unless the door says otherwise
    /// (an LSP session's negotiated encoding).
    #[serde(skip)]
    pub encoding: Option<PositionEncoding>,
}

/// A place in a file: 1-based line and column (column in the request's encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Point {
    pub line: u32,
    pub column: u32,
}

/// One metavariable's capture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Capture {
    pub text: String,
    pub start: Point,
    pub end: Point,
    /// `$$$NAME`: any number of nodes.
    pub multi: bool,
}

/// One match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SearchMatch {
    /// `path:line:col`, as every other answer names a place.
    pub place: String,
    /// Relative to its folder.
    pub path: String,
    pub start: Point,
    pub end: Point,
    pub text: String,
    pub captures: BTreeMap<String, Capture>,
    /// The qualified name of the innermost symbol around the match, from the graph.
    pub symbol: Option<String>,
    /// Its kind (`function`, `method`, `class`, ...).
    pub symbol_kind: Option<String>,
    /// The file, for doors that need it whole (an LSP `Location`).
    #[serde(skip)]
    pub file: PathBuf,
    #[serde(skip)]
    pub range: TextRange,
}

/// What a search found, and what it looked at.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SearchAnswer {
    pub language: String,
    pub matches: Vec<SearchMatch>,
    /// Files of the language that were parsed and matched.
    pub files_searched: usize,
    /// Files of the language the index ruled out: they lack a word the search needs.
    pub files_ruled_out: usize,
    /// Files the index does not hold (too large, not text, too slow to parse), or that
    /// could not be read or parsed now: not searched.
    pub files_not_searched: usize,
    /// Of the files searched, how many answered from an open document.
    pub open_documents: usize,
    /// The answer stopped early: at `limit` matches, at the request's time budget.
    pub truncated: bool,
    pub warnings: Vec<String>,
    pub elapsed_ms: u64,
}

/// A file a walk over the workspace reads (a search, a check of the rules), taken under
/// the index's lock and read outside it.
pub(crate) struct Source {
    pub(crate) id: FileId,
    pub(crate) path: PathBuf,
    pub(crate) rel: String,
    /// An open document's text and, when current, its tree.
    pub(crate) live: Option<(Arc<str>, Option<tree_sitter::Tree>)>,
    /// For a search that can parse only some top-level items of the file: those items,
    /// with the length of the text the index took them from.
    pub(crate) items: Option<(Vec<TextRange>, u32)>,
}

impl Source {
    /// The file `id` at `path`; an open document's text and tree come along.
    pub(crate) fn of(host: &AnalysisHost, id: FileId, path: PathBuf, rel: &str) -> Source {
        let live = host
            .document(id)
            .map(|d| (Arc::<str>::from(d.text()), d.current_tree().cloned()));
        Source {
            id,
            path,
            rel: rel.to_string(),
            live,
            items: None,
        }
    }

    /// Its text now: the open document's, else the file's on disk (`None`: unreadable,
    /// or not UTF-8).
    pub(crate) fn text(&self) -> Option<Text> {
        match &self.live {
            Some((text, _)) => Some(Text::Live(text.clone())),
            None => {
                let bytes = std::fs::read(&self.path).ok()?;
                Some(Text::Read(String::from_utf8(bytes).ok()?))
            }
        }
    }

    /// The tree of `text` (from [`Source::text`]): the open document's when current,
    /// else parsed within `budget`.
    pub(crate) fn tree(
        &self,
        lang: &codecontext_lang::Language,
        text: &str,
        budget: Duration,
    ) -> Option<tree_sitter::Tree> {
        match &self.live {
            Some((_, Some(tree))) => Some(tree.clone()),
            _ => codecontext_syntax::parse(lang, text, None, budget).ok(),
        }
    }
}

/// A file's text: an open document's (shared), or read from disk (not copied again).
pub(crate) enum Text {
    Live(Arc<str>),
    Read(String),
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Text::Live(text) => text,
            Text::Read(text) => text,
        }
    }
}

/// Runs `work` over `items` a batch at a time, in parallel within a batch, and hands
/// each result to `take` in order, then `(done, total)` to `progress`. Between batches
/// it unwinds if the request was cancelled ([`cancel::check`]), and stops if `take`
/// says so or the time budget is spent; the answer is whether the budget stopped it.
pub(crate) fn in_batches<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&T) -> R + Sync + Send,
    mut take: impl FnMut(usize, R) -> ControlFlow<()>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> bool {
    for (batch_no, batch) in items.chunks(BATCH).enumerate() {
        cancel::check();
        if batch_no > 0 && cancel::out_of_time() {
            return true;
        }
        let start = batch_no * BATCH;
        let results: Vec<R> = batch.par_iter().map(&work).collect();
        let mut stop = false;
        for (i, result) in results.into_iter().enumerate() {
            stop |= take(start + i, result).is_break();
        }
        progress(start + batch.len(), items.len());
        if stop {
            break;
        }
    }
    false
}

/// A searched file's matches.
struct Searched {
    candidate: usize,
    found: Vec<Found>,
    index: LineIndex,
}

impl SearchRequest {
    /// The compiled query, or what is wrong with the request.
    pub fn compile(&self) -> Result<Query> {
        let lang = SgLang::by_name(&self.lang).ok_or_else(|| {
            WorkspaceError::invalid(format!(
                "unknown language `{}` (known: {})",
                self.lang,
                SgLang::known_names()
            ))
        })?;
        let query = match (&self.pattern, &self.rule, &self.query) {
            (Some(pattern), None, None) => Query::pattern(lang, pattern),
            (None, Some(rule), None) => Query::rule(lang, rule),
            (None, None, Some(query)) => Query::tree_sitter(lang, query),
            _ => {
                return Err(WorkspaceError::invalid(
                    "give exactly one of `pattern`, `rule` or `query`",
                ))
            }
        };
        query.map_err(|e| WorkspaceError::invalid(e.to_string()))
    }
}

impl Workspace {
    /// Runs `request` over the workspace (see the module's documentation). `progress`
    /// hears `(files done, files to do)` after each batch.
    ///
    /// Call it inside [`cancel::scope`] and [`cancel::within`] to make it cancellable
    /// and budgeted; outside them it runs to `limit`.
    pub fn search(
        &self,
        request: &SearchRequest,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<SearchAnswer> {
        let started = Instant::now();
        let query = request.compile()?;
        let limit = request.limit.unwrap_or(DEFAULT_LIMIT).max(1);
        let encoding = request.encoding.unwrap_or(PositionEncoding::Utf32);
        let mut answer = SearchAnswer {
            language: query.lang().name().to_string(),
            warnings: query.warnings().to_vec(),
            ..SearchAnswer::default()
        };
        let candidates = {
            let host = self.read();
            let roots: Vec<PathBuf> = host.roots().map(Path::to_path_buf).collect();
            let under = scopes(&request.paths, &roots)?;
            pick(&host, &query, &under, &mut answer)
        };
        let parse_budget = self.settings().limits().parse_budget;
        let mut searched: Vec<Searched> = Vec::new();
        let mut matches = 0;
        answer.truncated = in_batches(
            &candidates,
            // Each file is asked for one match more than the limit: that one says the
            // answer is cut.
            |c| search_file(&query, c, parse_budget, limit + 1),
            |candidate, result| {
                match result {
                    Some((found, index)) => {
                        answer.files_searched += 1;
                        matches += found.len();
                        if !found.is_empty() {
                            searched.push(Searched {
                                candidate,
                                found,
                                index,
                            });
                        }
                    }
                    None => answer.files_not_searched += 1,
                }
                if matches > limit {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
            progress,
        );
        answer.open_documents = candidates.iter().filter(|c| c.live.is_some()).count();
        let host = self.read();
        for s in searched {
            let c = &candidates[s.candidate];
            for found in s.found {
                if answer.matches.len() >= limit {
                    answer.truncated = true;
                    break;
                }
                answer
                    .matches
                    .push(to_match(&host, c, &s.index, encoding, found));
            }
        }
        answer
            .matches
            .sort_by(|a, b| (&a.path, a.range.start).cmp(&(&b.path, b.range.start)));
        answer.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(answer)
    }
}

/// The absolute folders or files `paths` restricts the search to (empty: everything).
pub(crate) fn scopes(paths: &[String], roots: &[PathBuf]) -> Result<Vec<PathBuf>> {
    paths
        .iter()
        .map(|p| {
            let p = Path::new(p);
            if p.is_absolute() {
                return Ok(p.to_path_buf());
            }
            roots
                .iter()
                .map(|r| r.join(p))
                .find(|candidate| candidate.exists())
                .ok_or_else(|| {
                    WorkspaceError::invalid(format!(
                        "`{}` is in no folder of the workspace",
                        p.display()
                    ))
                })
        })
        .collect()
}

/// The files of the query's language under `under` that the index cannot rule out.
fn pick(
    host: &AnalysisHost,
    query: &Query,
    under: &[PathBuf],
    answer: &mut SearchAnswer,
) -> Vec<Source> {
    let graph = host.graph();
    let lang = query.lang().id();
    let mut out = Vec::new();
    for (id, f) in graph.files() {
        if f.lang != lang {
            continue;
        }
        let Some(path) = host.path(id) else { continue };
        if !under.is_empty() && !under.iter().any(|u| path.starts_with(u)) {
            continue;
        }
        if f.skipped.is_some() {
            answer.files_not_searched += 1;
            continue;
        }
        let has = |words: &[u32], t: &u32| words.binary_search(t).is_ok();
        let mut source = Source::of(host, id, path, &f.rel);
        if query.is_local() {
            // Every match lies inside one item and holds every word: only the items
            // that hold them all may match, and they are parsed alone. Even when they
            // are the whole file that costs less than one parse of it (see
            // `codecontext-bench pattern`), so a pattern without words goes by items too.
            let items: Vec<TextRange> = f
                .chunks
                .iter()
                .filter(|c| query.tokens().iter().all(|t| has(&c.tokens, t)))
                .map(|c| c.range)
                .collect();
            if items.is_empty() {
                answer.files_ruled_out += 1;
                continue;
            }
            source.items = Some((items, f.line_index.len()));
        } else {
            // Every word in some chunk: a match may span chunks (the root), so this
            // is the test that never rules out a match.
            let has_all = query
                .tokens()
                .iter()
                .all(|t| f.chunks.iter().any(|c| has(&c.tokens, t)));
            if !has_all {
                answer.files_ruled_out += 1;
                continue;
            }
        }
        out.push(source);
    }
    out
}

/// One file's matches, or `None` when it cannot be read or parsed now.
fn search_file(
    query: &Query,
    source: &Source,
    parse_budget: Duration,
    limit: usize,
) -> Option<(Vec<Found>, LineIndex)> {
    let text = source.text()?;
    if source.live.is_none()
        && source.items.is_none()
        && !query.tokens().is_empty()
        && !query.may_match(&codecontext_text::tokens::token_set(&text))
    {
        // Changed on disk since it was indexed, and no longer holds the words.
        return Some((Vec::new(), LineIndex::new("")));
    }
    if let Some(found) = search_items(query, source, &text, parse_budget, limit) {
        return Some((found, LineIndex::new(&text)));
    }
    let tree = source.tree(query.lang().language(), &text, parse_budget)?;
    let found = query.find(&tree, &text, limit);
    Some((found, LineIndex::new(&text)))
}

/// The matches in the file's items that hold the query's words (`Source::items`), each
/// item parsed alone, or `None` to search the whole file: the search cannot go by items,
/// the text is not the one the index took the items from (its length differs, or an
/// item no longer holds the words), or an item does not parse cleanly alone as one item. An item that does parses as it does in its file (the
/// argument of the document's fast path, `codecontext_syntax::document`), so its
/// matches are the file's there.
fn search_items(
    query: &Query,
    source: &Source,
    text: &str,
    parse_budget: Duration,
    limit: usize,
) -> Option<Vec<Found>> {
    let (items, len) = source.items.as_ref()?;
    if source.live.as_ref().is_some_and(|(_, tree)| tree.is_some()) || text.len() != *len as usize {
        return None;
    }
    let lang = query.lang().language();
    let mut found = Vec::new();
    for item in items {
        let part = text.get(item.as_usize())?;
        if !query.tokens().is_empty()
            && !query.may_match(&codecontext_text::tokens::token_set(part))
        {
            return None;
        }
        let tree = codecontext_syntax::parse(lang, part, None, parse_budget).ok()?;
        let whole = TextRange::new(0, item.len());
        if tree.root_node().has_error()
            || codecontext_syntax::chunk_ranges(&tree, &lang.config) != [whole]
        {
            return None;
        }
        let left = limit.saturating_sub(found.len());
        found.extend(
            query
                .find(&tree, part, left)
                .into_iter()
                .map(|f| f.shifted(item.start.into())),
        );
        if found.len() >= limit {
            break;
        }
    }
    Some(found)
}

pub(crate) fn point(index: &LineIndex, encoding: PositionEncoding, offset: u32) -> Point {
    match index.line_col(offset) {
        Ok(lc) => Point {
            line: lc.line + 1,
            column: index.to_wide(encoding, lc).col + 1,
        },
        Err(_) => Point { line: 0, column: 0 },
    }
}

fn to_match(
    host: &AnalysisHost,
    c: &Source,
    index: &LineIndex,
    encoding: PositionEncoding,
    found: Found,
) -> SearchMatch {
    let graph = host.graph();
    let start = point(index, encoding, found.range.start);
    let end = point(index, encoding, found.range.end);
    let enclosing = graph
        .enclosing_entity(c.id, found.range.start)
        .filter(|loc| {
            graph
                .entity(*loc)
                .is_some_and(|e| e.range.contains_range(found.range))
        });
    let captures = found
        .captures
        .into_iter()
        .map(|(name, cap)| {
            (
                name,
                Capture {
                    start: point(index, encoding, cap.range.start),
                    end: point(index, encoding, cap.range.end),
                    text: cap.text,
                    multi: cap.multi,
                },
            )
        })
        .collect();
    SearchMatch {
        place: format!("{}:{}:{}", c.rel, start.line, start.column),
        path: c.rel.clone(),
        start,
        end,
        text: found.text,
        captures,
        symbol: enclosing.map(|loc| graph.qualified_name(loc)),
        symbol_kind: enclosing
            .and_then(|loc| graph.entity(loc))
            .map(|e| e.kind.as_str().to_string()),
        file: c.path.clone(),
        range: found.range,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Generated files of many items, so that a rare word sits in few of them.
    fn many_items(root: &Path) {
        let mut rust = String::from("//! Many items.\nuse std::fmt;\n\n");
        let mut python = String::from("import requests\n\n");
        for i in 0..40 {
            let body = if i % 9 == 0 {
                "helper(a, b).unwrap()"
            } else {
                "a + b"
            };
            rust.push_str(&format!(
                "/// Item {i}.\n#[inline]\nfn f{i}(a: u32, b: u32) -> u32 {{\n    {body}\n}}\n\n"
            ));
            let call = if i % 7 == 0 {
                "requests.get(url)"
            } else {
                "len(url)"
            };
            python.push_str(&format!(
                "@cached\ndef g{i}(url):\n    # a comment\n    return {call}\n\n\nclass C{i}:\n    x = {i}\n\n"
            ));
        }
        rust.push_str("// a comment that ends the file: helper\n");
        std::fs::write(root.join("many.rs"), rust).unwrap();
        std::fs::write(root.join("many.py"), python).unwrap();
    }

    /// A search that parses only the items holding its words finds what matching every
    /// file whole finds: each pattern of the fixtures, and patterns whose words are rare
    /// in generated files (where the search goes by items).
    #[test]
    fn searching_items_alone_equals_searching_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/patterns");
        for entry in std::fs::read_dir(&fixtures).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, root.join(path.file_name().unwrap())).unwrap();
        }
        many_items(&root);
        let (_runtime, ws) = crate::indexed_folder(&root);

        let cases: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(fixtures.join("patterns.json")).unwrap())
                .unwrap();
        let mut cases: Vec<(String, String)> = cases
            .iter()
            .map(|c| {
                (
                    c["lang"].as_str().unwrap().to_string(),
                    c["pattern"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for (lang, pattern) in [
            ("rust", "helper($A, $B)"),
            ("rust", "$X.unwrap()"),
            ("rust", "fn $F($$$P) -> u32 { $$$B }"),
            ("python", "requests.get($U)"),
            ("python", "def $F($$$P): $$$B"),
        ] {
            cases.push((lang.to_string(), pattern.to_string()));
        }
        let mut by_items = 0;
        for (lang, pattern) in cases {
            let request = SearchRequest {
                lang: lang.clone(),
                pattern: Some(pattern.clone()),
                limit: Some(100_000),
                ..SearchRequest::default()
            };
            let query = request.compile().unwrap();
            let candidates = {
                let host = ws.read();
                let mut answer = SearchAnswer::default();
                pick(&host, &query, &[], &mut answer)
            };
            by_items += candidates.iter().filter(|c| c.items.is_some()).count();
            let answer = ws.search(&request, &|_, _| {}).unwrap();
            let got: Vec<(String, TextRange, String)> = answer
                .matches
                .iter()
                .map(|m| (m.path.clone(), m.range, m.text.clone()))
                .collect();
            let mut expected = Vec::new();
            let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            for path in files {
                let lang_of = codecontext_lang::language_for_path(&path);
                if lang_of.is_none_or(|l| l.id != query.lang().id()) {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let tree = codecontext_patterns::parse(query.lang(), &text).unwrap();
                for f in query.find(&tree, &text, usize::MAX) {
                    let rel = path.file_name().unwrap().to_string_lossy().to_string();
                    expected.push((rel, f.range, f.text));
                }
            }
            assert_eq!(got, expected, "{lang} `{pattern}`");
            for m in &answer.matches {
                let whole = std::fs::read_to_string(&m.file).unwrap();
                for (name, c) in &m.captures {
                    assert_eq!(
                        whole
                            .lines()
                            .nth(c.start.line as usize - 1)
                            .map(|l| l.contains(c.text.lines().next().unwrap_or(""))),
                        Some(true),
                        "{pattern}: ${name} is placed on the line of its text"
                    );
                }
            }
        }
        assert!(
            by_items >= 4,
            "the rare words were searched by items: {by_items}"
        );

        // Changed on disk, to the same length, and not indexed again: an item that no
        // longer holds the words sends the search to the whole file, as it is now.
        let many = root.join("many.rs");
        let text = std::fs::read_to_string(&many).unwrap();
        let changed = text
            .replacen("helper(a, b)", "hxlper(a, b)", 1)
            .replacen("a + b", "f(b)x", 1);
        assert_eq!(changed.len(), text.len());
        std::fs::write(&many, &changed).unwrap();
        let request = SearchRequest {
            lang: "rust".into(),
            pattern: Some("$F(b)".into()),
            ..SearchRequest::default()
        };
        let query = request.compile().unwrap();
        let tree = codecontext_patterns::parse(query.lang(), &changed).unwrap();
        let expected: Vec<TextRange> = query
            .find(&tree, &changed, usize::MAX)
            .iter()
            .map(|f| f.range)
            .collect();
        assert!(!expected.is_empty());
        let got: Vec<TextRange> = ws
            .search(&request, &|_, _| {})
            .unwrap()
            .matches
            .iter()
            .filter(|m| m.path == "many.rs")
            .map(|m| m.range)
            .collect();
        assert_eq!(got, expected);
    }
}
