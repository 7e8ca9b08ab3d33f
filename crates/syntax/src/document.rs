//! An open document: text, line index and syntax tree, edited in place.
//!
//! [`Document::edit`] applies changes in order and edits the tree to match. An edit
//! strictly inside one chunk (a top-level item) takes the fast path: only that chunk's
//! text is parsed, on its own, and if it parses cleanly as one item its summary replaces
//! the old one; the file's tree is left edited but not reparsed. Any other edit (across
//! chunk boundaries, or leaving the chunk with syntax errors) reparses the whole file
//! incrementally with the edited tree and re-extracts the chunks whose text or syntax
//! changed. Either way the result is a [`FileDelta`].
//!
//! The fast path gives the same summary as a full parse would: a top-level item whose
//! text parses alone, without errors, as exactly one item parses the same way among
//! unchanged neighbours. The incremental-versus-fresh property tests check this.

use std::time::Instant;

use codecontext_lang::Language;
use codecontext_text::{LineIndex, PositionEncoding, TextRange, WideLineCol};
use tree_sitter::{InputEdit, Point, Tree};

use crate::{
    extract::{chunk_ranges, extract_chunks, ExtractOptions},
    model::{ChunkSummary, FileSummary},
    source::{parse, Limits, SkipReason},
};

/// One change as an editor sends it: a range in the current text (in the client's
/// position encoding) and its replacement, or the whole new text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentChange {
    pub range: Option<(WideLineCol, WideLineCol)>,
    pub text: String,
}

/// What an edit did to the chunks of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileDelta {
    /// Chunks `first .. first + removed` are replaced by `inserted`; the chunks after
    /// them moved by `shift` bytes.
    Chunks {
        first: usize,
        removed: usize,
        inserted: Vec<ChunkSummary>,
        shift: i64,
    },
    /// The document cannot be indexed in its new state (too large, parse too slow);
    /// its previous contents must be dropped from the graph.
    Skipped(SkipReason),
    /// The document was skipped before and is indexable again: here is all of it.
    Full(FileSummary),
}

/// Errors that leave the document unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("change range starts after it ends ({start} > {end})")]
    InvertedRange { start: u32, end: u32 },
}

/// An open document. A clone is cheap next to a parse (the text is copied, the tree
/// shared), so that an edit can be worked out on a copy outside a lock.
#[derive(Clone)]
pub struct Document {
    lang: &'static Language,
    text: String,
    line_index: LineIndex,
    /// `None` while the document is skipped (too large, or its parse timed out). Edits
    /// taken by the fast path are applied to it with `Tree::edit` but not reparsed.
    tree: Option<Tree>,
    chunks: Vec<TextRange>,
    /// Per chunk: its summary came from the fast path since the tree was last reparsed,
    /// so a difference between the stale tree and a reparse there is already accounted for.
    fresh: Vec<bool>,
    /// Per chunk: its summary has syntax errors. While any chunk has errors the chunk
    /// boundaries themselves are a product of error recovery, so no edit takes the
    /// fast path.
    errored: Vec<bool>,
    limits: Limits,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("lang", &self.lang.name())
            .field("len", &self.text.len())
            .field("chunks", &self.chunks.len())
            .finish()
    }
}

/// The span of text an edit sequence touched, in old and in new coordinates: outside
/// it, the old and new texts are the same bytes (shifted after it).
#[derive(Clone, Copy, Debug)]
struct EditSpan {
    old_lo: u32,
    old_hi: u32,
    new_lo: u32,
    new_hi: u32,
}

impl EditSpan {
    fn add(span: Option<EditSpan>, start: u32, end: u32, inserted: u32) -> EditSpan {
        let delta = inserted as i64 - (end - start) as i64;
        match span {
            None => EditSpan {
                old_lo: start,
                old_hi: end,
                new_lo: start,
                new_hi: start + inserted,
            },
            Some(s) => {
                let old_lo = s.old_lo - s.new_lo.saturating_sub(start);
                let new_lo = s.new_lo.min(start);
                let old_hi = s.old_hi + end.saturating_sub(s.new_hi);
                let new_hi = (s.new_hi.max(end) as i64 + delta) as u32;
                EditSpan {
                    old_lo,
                    old_hi,
                    new_lo,
                    new_hi,
                }
            }
        }
    }

    fn shift(self) -> i64 {
        self.new_hi as i64 - self.old_hi as i64
    }
}

impl Document {
    /// Parses a document; the summary is its full extraction. A document that cannot
    /// be indexed is still a document (edits keep applying) with a skip reason.
    pub fn open(
        lang: &'static Language,
        text: String,
        limits: Limits,
    ) -> (Document, Result<FileSummary, SkipReason>) {
        let line_index = LineIndex::new(&text);
        let mut doc = Document {
            lang,
            text,
            line_index,
            tree: None,
            chunks: Vec::new(),
            fresh: Vec::new(),
            errored: Vec::new(),
            limits,
        };
        let result = doc.full_parse();
        (doc, result)
    }

    fn full_parse(&mut self) -> Result<FileSummary, SkipReason> {
        self.tree = None;
        self.fresh.clear();
        self.chunks.clear();
        if self.text.len() as u64 > self.limits.max_file_size {
            return Err(SkipReason::TooLarge {
                size: self.text.len() as u64,
                limit: self.limits.max_file_size,
            });
        }
        let start = Instant::now();
        let tree = parse(self.lang, &self.text, None, self.limits.parse_budget)?;
        let chunks = chunk_ranges(&tree, &self.lang.config);
        let summaries = extract_chunks(
            self.lang,
            tree.root_node(),
            &self.text,
            &chunks,
            ExtractOptions::default(),
            Some(self.deadline(start)),
        )?;
        self.tree = Some(tree);
        self.fresh = vec![false; chunks.len()];
        self.errored = summaries.iter().map(|c| !c.errors.is_empty()).collect();
        self.chunks = chunks;
        Ok(FileSummary { chunks: summaries })
    }

    fn deadline(&self, start: Instant) -> (Instant, u64) {
        (
            start + self.limits.parse_budget,
            self.limits.parse_budget.as_millis() as u64,
        )
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn line_index(&self) -> &LineIndex {
        &self.line_index
    }

    pub fn language(&self) -> &'static Language {
        self.lang
    }

    /// The ranges of its chunks (top-level items with their comments), in order; empty
    /// while the document is skipped.
    pub fn chunk_ranges(&self) -> &[TextRange] {
        &self.chunks
    }

    /// Applies `changes` in order, then reparses once and re-extracts what changed.
    /// Positions past the end of a line or of the text are clamped, as LSP prescribes.
    pub fn edit(
        &mut self,
        changes: &[DocumentChange],
        encoding: PositionEncoding,
    ) -> Result<FileDelta, DocumentError> {
        let mut span: Option<EditSpan> = None;
        // The edits go into copies (or, for one change, once it is known to be valid,
        // into the document's own text), so that an error leaves the document unchanged.
        let single = changes.len() == 1;
        let (mut text, mut index) = if single {
            (
                std::mem::take(&mut self.text),
                std::mem::take(&mut self.line_index),
            )
        } else {
            (self.text.clone(), self.line_index.clone())
        };
        let mut edits = Vec::with_capacity(changes.len());
        for change in changes {
            let (start, end) = match change.range {
                None => (0, text.len() as u32),
                Some((s, e)) => (
                    index.offset_of_wide(encoding, s),
                    index.offset_of_wide(encoding, e),
                ),
            };
            if start > end {
                if single {
                    // Nothing was applied yet.
                    self.text = text;
                    self.line_index = index;
                }
                return Err(DocumentError::InvertedRange { start, end });
            }
            let start_position = point(&index, start);
            let old_end_position = point(&index, end);
            text.replace_range(start as usize..end as usize, &change.text);
            let inserted = change.text.len() as u32;
            index.edit(start, end, inserted, &text);
            let new_end = start + inserted;
            edits.push(InputEdit {
                start_byte: start as usize,
                old_end_byte: end as usize,
                new_end_byte: new_end as usize,
                start_position,
                old_end_position,
                new_end_position: point(&index, new_end),
            });
            span = Some(EditSpan::add(span, start, end, inserted));
        }
        self.text = text;
        self.line_index = index;
        if let Some(tree) = &mut self.tree {
            for edit in &edits {
                tree.edit(edit);
            }
        }
        let Some(span) = span else {
            return Ok(FileDelta::Chunks {
                first: 0,
                removed: 0,
                inserted: Vec::new(),
                shift: 0,
            });
        };
        if changes.len() == 1 && self.tree.is_some() {
            if let Some(delta) = self.edit_one_chunk(span) {
                return Ok(delta);
            }
        }
        let Some(old_tree) = self.tree.take() else {
            // Skipped before: try again from scratch.
            return Ok(match self.full_parse() {
                Ok(summary) => FileDelta::Full(summary),
                Err(reason) => FileDelta::Skipped(reason),
            });
        };
        if self.text.len() as u64 > self.limits.max_file_size {
            self.chunks.clear();
            return Ok(FileDelta::Skipped(SkipReason::TooLarge {
                size: self.text.len() as u64,
                limit: self.limits.max_file_size,
            }));
        }
        let start = Instant::now();
        let new_tree = match parse(
            self.lang,
            &self.text,
            Some(&old_tree),
            self.limits.parse_budget,
        ) {
            Ok(tree) => tree,
            Err(reason) => {
                self.chunks.clear();
                return Ok(FileDelta::Skipped(reason));
            }
        };
        let changed: Vec<TextRange> = old_tree
            .changed_ranges(&new_tree)
            .map(|r| TextRange::new(r.start_byte as u32, r.end_byte as u32))
            .collect();
        let new_chunks = chunk_ranges(&new_tree, &self.lang.config);
        let old_chunks = std::mem::take(&mut self.chunks);
        let fresh = std::mem::take(&mut self.fresh);
        // tree-sitter gives the changed ranges in order and disjoint: the one that can
        // touch `r` is the first that does not end before it.
        let is_changed = |r: TextRange| {
            let i = changed.partition_point(|c| c.end < r.start);
            changed.get(i).is_some_and(|c| c.touches(r))
        };
        let shift = span.shift();

        let mut prefix = 0;
        while prefix < old_chunks.len()
            && prefix < new_chunks.len()
            && old_chunks[prefix] == new_chunks[prefix]
            && old_chunks[prefix].end <= span.old_lo
            && (!is_changed(new_chunks[prefix]) || fresh.get(prefix) == Some(&true))
        {
            prefix += 1;
        }
        let mut suffix = 0;
        while suffix < old_chunks.len() - prefix && suffix < new_chunks.len() - prefix {
            let old = old_chunks[old_chunks.len() - 1 - suffix];
            let new = new_chunks[new_chunks.len() - 1 - suffix];
            let was_fresh = fresh.get(old_chunks.len() - 1 - suffix) == Some(&true);
            if old.start >= span.old_hi
                && old.shifted(shift) == new
                && (!is_changed(new) || was_fresh)
            {
                suffix += 1;
            } else {
                break;
            }
        }
        let dirty = &new_chunks[prefix..new_chunks.len() - suffix];
        let inserted = match extract_chunks(
            self.lang,
            new_tree.root_node(),
            &self.text,
            dirty,
            ExtractOptions::default(),
            Some(self.deadline(start)),
        ) {
            Ok(inserted) => inserted,
            Err(reason) => return Ok(FileDelta::Skipped(reason)),
        };
        let removed = old_chunks.len() - suffix - prefix;
        self.tree = Some(new_tree);
        self.fresh = vec![false; new_chunks.len()];
        let mut errored = std::mem::take(&mut self.errored);
        errored.resize(old_chunks.len(), false);
        errored.splice(
            prefix..prefix + removed,
            inserted.iter().map(|c| !c.errors.is_empty()),
        );
        self.errored = errored;
        self.chunks = new_chunks;
        Ok(FileDelta::Chunks {
            first: prefix,
            removed,
            inserted,
            shift,
        })
    }

    /// The fast path: the one edit described by `span` lies strictly inside one chunk.
    /// Parses that chunk's new text on its own; if it is one clean item, returns its
    /// summary as the delta. `None` means the caller must reparse the file.
    fn edit_one_chunk(&mut self, span: EditSpan) -> Option<FileDelta> {
        if self.errored.iter().any(|e| *e) {
            return None;
        }
        let i = self.chunks.partition_point(|c| c.end < span.old_hi);
        let old = *self.chunks.get(i)?;
        if !(old.start < span.old_lo && span.old_hi < old.end) {
            return None;
        }
        let shift = span.shift();
        let range = TextRange::new(old.start, (old.end as i64 + shift) as u32);
        // A statement that may continue the previous one cannot be parsed alone.
        let continues = |at: usize| {
            let rest = self.text[at.min(self.text.len())..].trim_start();
            self.lang
                .config
                .statement_continuations
                .iter()
                .any(|c| rest.starts_with(c.as_str()))
        };
        // An indented top-level item is error recovery at work (Python would make it
        // part of the item before): its neighbours are not safe to keep.
        let indented = |at: usize| {
            let at = at.min(self.text.len());
            let line_start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
            at > line_start
                && self.text[line_start..at]
                    .chars()
                    .all(|c| c == ' ' || c == '\t')
        };
        let next_start = self
            .chunks
            .get(i + 1)
            .map(|next| (next.start as i64 + shift) as usize);
        if continues(range.start as usize)
            || indented(range.start as usize)
            || next_start.is_some_and(|n| continues(n) || indented(n))
        {
            return None;
        }
        let last = i + 1 == self.chunks.len();
        let start = Instant::now();
        let summary = self.parse_chunk_alone(range, ExtractOptions::default(), start, last)?;
        for c in &mut self.chunks[i + 1..] {
            *c = c.shifted(shift);
        }
        self.chunks[i] = range;
        if let Some(f) = self.fresh.get_mut(i) {
            *f = true;
        }
        Some(FileDelta::Chunks {
            first: i,
            removed: 1,
            inserted: vec![summary],
            shift,
        })
    }

    /// Parses `range` of the text as a file of its own and extracts it, if it is one
    /// chunk without syntax errors.
    /// A chunk of comments alone only stays one when it ends the file (`last`);
    /// elsewhere its comments belong to the next item.
    fn parse_chunk_alone(
        &self,
        range: TextRange,
        options: ExtractOptions,
        start: Instant,
        last: bool,
    ) -> Option<ChunkSummary> {
        let chunk_text = &self.text[range.as_usize()];
        let tree = parse(self.lang, chunk_text, None, self.limits.parse_budget).ok()?;
        let root = tree.root_node();
        if root.has_error() {
            return None;
        }
        let inner = chunk_ranges(&tree, &self.lang.config);
        if inner.len() != 1 || inner[0] != TextRange::new(0, range.len()) {
            return None;
        }
        let config = &self.lang.config;
        let mut cursor = root.walk();
        let has_item = root.children(&mut cursor).any(|c| {
            !config.comment_kinds.iter().any(|k| k == c.kind())
                && !config.prefix_kinds.iter().any(|k| k == c.kind())
        });
        if !has_item && !last {
            return None;
        }
        // Extract in the chunk's own coordinates, then move the summary into place.
        // (A root placed at an offset would be simpler, but tree-sitter's parent and
        // sibling walks start from the unplaced root.)
        let mut summary = extract_chunks(
            self.lang,
            root,
            chunk_text,
            &[TextRange::new(0, range.len())],
            options,
            Some(self.deadline(start)),
        )
        .ok()?
        .pop()?;
        summary.shift(range.start as i64);
        Some(summary)
    }

    /// The chunk around `offset` extracted again with its local bindings.
    /// The syntax tree, if it is the current text's (no edit since the last reparse
    /// took the fast path, which leaves the whole-file tree behind).
    pub fn current_tree(&self) -> Option<&Tree> {
        self.tree
            .as_ref()
            .filter(|_| !self.fresh.iter().any(|f| *f))
    }

    pub fn locals_at(&self, offset: u32) -> Option<ChunkSummary> {
        let view = self.chunk_view(offset)?;
        let mut summary = extract_chunks(
            self.lang,
            view.tree.root_node(),
            view.text,
            &[view.range],
            ExtractOptions { keep_locals: true },
            None,
        )
        .ok()?
        .pop()?;
        summary.shift(view.base as i64);
        Some(summary)
    }

    /// A syntax tree around `offset`, for queries about locals and arguments: the
    /// whole-file tree when it is the current text's, else the part parsed alone. The
    /// part is the chunk, or in a language with `local_roots` the outermost such node
    /// around `offset` (a method, not its whole class), located in the stored tree,
    /// which every edit keeps in step even when it is not reparsed. This keeps a
    /// query's cost to its part while typing (reparsing the whole file, even
    /// incrementally, costs tens of milliseconds on a large one). A part with syntax
    /// errors is taken as tree-sitter recovers it alone, which for queries is as good
    /// as in context.
    pub fn chunk_view(&self, offset: u32) -> Option<ChunkView<'_>> {
        let chunk = *self.chunks.iter().find(|c| c.contains_inclusive(offset))?;
        let range = self.local_root(offset, chunk).unwrap_or(chunk);
        if let Some(tree) = self.current_tree() {
            return Some(ChunkView {
                tree: std::borrow::Cow::Borrowed(tree),
                text: &self.text,
                range,
                base: 0,
            });
        }
        let text = self.text.get(range.as_usize())?;
        let tree = parse(self.lang, text, None, self.limits.parse_budget).ok()?;
        Some(ChunkView {
            tree: std::borrow::Cow::Owned(tree),
            text,
            range: TextRange::new(0, range.len()),
            base: range.start,
        })
    }

    /// The outermost node of a `local_roots` kind around `offset` within `chunk`.
    fn local_root(&self, offset: u32, chunk: TextRange) -> Option<TextRange> {
        let kinds = &self.lang.config.local_roots;
        if kinds.is_empty() {
            return None;
        }
        let tree = self.tree.as_ref()?;
        let root = tree.root_node();
        let target = root.descendant_for_byte_range(offset as usize, offset as usize)?;
        // Its ancestors, walked down from the root: `Node::parent` walks down from the
        // root on every call, so walking up with it would cost the square of the depth.
        let mut path = vec![root];
        while let Some(&last) = path.last().filter(|n| n.id() != target.id()) {
            match last.child_with_descendant(target) {
                Some(child) => path.push(child),
                None => break,
            }
        }
        let mut found = None;
        for n in path.iter().rev() {
            let range = TextRange::from_usize(n.byte_range());
            if range.start < chunk.start || range.end > chunk.end {
                break;
            }
            if kinds.iter().any(|k| k == n.kind()) && range.contains_inclusive(offset) {
                found = Some(range);
            }
        }
        found
    }
}

/// See [`Document::chunk_view`]: `tree` is a tree of `text`, which starts at `base` in
/// the document; `range` is the part to read, in `text`.
pub struct ChunkView<'a> {
    pub tree: std::borrow::Cow<'a, Tree>,
    pub text: &'a str,
    pub range: TextRange,
    pub base: u32,
}

/// The tree-sitter point (row, byte column) of `offset`.
pub fn point(index: &LineIndex, offset: u32) -> Point {
    let lc = index
        .line_col(offset)
        .unwrap_or(codecontext_text::LineCol { line: 0, col: 0 });
    Point {
        row: lc.line as usize,
        column: lc.col as usize,
    }
}

/// Applies a [`FileDelta::Chunks`] to a list of chunk summaries (what the graph does,
/// for tests and for callers that keep summaries themselves).
pub fn apply_delta(chunks: &mut Vec<ChunkSummary>, delta: FileDelta) {
    match delta {
        FileDelta::Chunks {
            first,
            removed,
            inserted,
            shift,
        } => {
            for c in &mut chunks[first + removed..] {
                c.shift(shift);
            }
            chunks.splice(first..first + removed, inserted);
        }
        FileDelta::Skipped(_) => chunks.clear(),
        FileDelta::Full(summary) => *chunks = summary.chunks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codecontext_text::WideLineCol;

    const ADMIN: &str = "class Admin:\n    limit = 3\n\n    def first(self, a):\n        b = a\n        return b\n\n    def second(self, items):\n        total = 0\n        for item in items:\n            total += item\n        return total\n";

    fn python() -> &'static Language {
        codecontext_lang::language_by_name("python").expect("python")
    }

    /// The local definition (name and range) the name at `offset` leads to.
    fn local_def(summary: &ChunkSummary, offset: u32) -> Option<(String, TextRange)> {
        let locals = summary.locals.as_ref()?;
        let def = locals
            .uses
            .iter()
            .find(|(r, _)| r.contains_inclusive(offset))
            .map(|(_, d)| *d as usize)
            .or_else(|| {
                locals
                    .defs
                    .iter()
                    .position(|d| d.range.contains_inclusive(offset))
            })?;
        let d = &locals.defs[def];
        Some((d.name.clone(), d.range))
    }

    /// The same, from the whole chunk of a fresh parse of `text` (what queries read
    /// before local roots).
    fn local_def_in_whole_chunk(text: &str, offset: u32) -> Option<(String, TextRange)> {
        let tree = parse(python(), text, None, std::time::Duration::from_secs(1)).expect("parse");
        let chunk = chunk_ranges(&tree, &python().config)
            .into_iter()
            .find(|c| c.contains_inclusive(offset))?;
        let summary = extract_chunks(
            python(),
            tree.root_node(),
            text,
            &[chunk],
            ExtractOptions { keep_locals: true },
            None,
        )
        .ok()?
        .pop()?;
        local_def(&summary, offset)
    }

    #[test]
    fn locals_while_typing_elsewhere_in_a_class_answer_as_a_fresh_parse() {
        let (mut doc, _) = Document::open(python(), ADMIN.to_string(), Limits::default());
        // A keystroke in `first` takes the fast path: the stored tree is stale after it.
        let at = WideLineCol { line: 4, col: 8 };
        doc.edit(
            &[DocumentChange {
                range: Some((at, at)),
                text: "x".into(),
            }],
            PositionEncoding::Utf16,
        )
        .expect("edit");
        assert!(doc.current_tree().is_none(), "the test needs the fast path");
        let text = doc.text().to_string();
        let mut answered = 0;
        for needle in [
            "total += item",
            "item\n",
            "items:",
            "total\n",
            "xb = a",
            "a\n",
            "b\n",
        ] {
            let offset = text.find(needle).expect(needle) as u32;
            let expected = local_def_in_whole_chunk(&text, offset);
            let got = doc.locals_at(offset).and_then(|s| local_def(&s, offset));
            assert_eq!(got, expected, "at {needle:?}");
            answered += usize::from(got.is_some());
        }
        assert!(answered >= 5, "the needles must name locals");
        // Reading only the method around the offset, not the class.
        let offset = text.find("total += item").expect("needle") as u32;
        let view = doc.chunk_view(offset).expect("view");
        assert!(view.text.starts_with("def second"), "{:?}", view.text);
    }
}
