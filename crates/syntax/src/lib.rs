//! Syntax: parse source files with tree-sitter (incrementally for open documents) and
//! extract what the knowledge graph needs: definitions, references with their
//! receivers, imports, local bindings and syntax errors.
//!
//! Extraction works per chunk (a top-level item with its leading comments). An edit
//! re-parses with the old tree and re-extracts only the chunks it touched; see
//! [`Document::edit`].

mod document;
mod extract;
mod model;
mod source;
mod typename;

pub use document::{apply_delta, Document, DocumentChange, DocumentError, FileDelta};
pub use extract::{chunk_ranges, extract_chunks, module_binding_name, ExtractOptions};
pub use model::{
    ChunkSummary, EntityData, EntityKind, FileSummary, ImportData, LocalBindings, LocalDef,
    Receiver, RefData, RefKind, SyntaxError,
};
pub use source::{check_source, parse, Limits, SkipReason};
pub use typename::normalize_type;

use std::time::Instant;

use codecontext_lang::Language;

/// Parses and extracts a whole file (no tree is kept).
pub fn summarize(
    lang: &Language,
    text: &str,
    limits: &Limits,
    options: ExtractOptions,
) -> Result<FileSummary, SkipReason> {
    if text.len() as u64 > limits.max_file_size {
        return Err(SkipReason::TooLarge {
            size: text.len() as u64,
            limit: limits.max_file_size,
        });
    }
    let start = Instant::now();
    let tree = parse(lang, text, None, limits.parse_budget)?;
    let chunks = chunk_ranges(&tree, &lang.config);
    let deadline = start + limits.parse_budget;
    let summaries = extract_chunks(
        lang,
        tree.root_node(),
        text,
        &chunks,
        options,
        Some((deadline, limits.parse_budget.as_millis() as u64)),
    )?;
    Ok(FileSummary { chunks: summaries })
}
