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
pub mod shape;
mod source;
mod typename;

pub use document::{
    apply_delta, point, ChunkView, Document, DocumentChange, DocumentError, FileDelta,
};
pub use extract::{chunk_ranges, extract_chunks, module_binding_name, ExtractOptions};
pub use model::{
    ChunkSummary, EntityData, EntityKind, FileSummary, ImportData, LocalBindings, LocalDef,
    Receiver, RefData, RefKind, SyntaxError,
};
pub use source::{check_source, parse, parse_budget_for, Limits, SkipReason};
pub use typename::{normalize_type, type_parts};

use std::time::Instant;

/// The type name given to values whose type is built into the language (literals such
/// as `[]`, `""`, `{}`): their members are never the workspace's.
pub const EXTERNAL_TYPE: &str = "!";

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

/// A keyword argument's name at an offset, and the name of the function it is passed
/// to (`f` in `f(x=1)`, `m` in `a.m(x=1)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeywordArgument {
    pub name: String,
    pub callee: codecontext_text::TextRange,
}

/// The keyword argument whose name covers `offset`, if the language has them.
pub fn keyword_argument_at(
    lang: &Language,
    text: &str,
    offset: u32,
    limits: &Limits,
) -> Option<KeywordArgument> {
    lang.config.keyword_argument.as_ref()?;
    let tree = parse(lang, text, None, limits.parse_budget).ok()?;
    keyword_argument_in(lang, &tree, text, offset)
}

/// [`keyword_argument_at`] with a tree of `text` already at hand.
pub fn keyword_argument_in(
    lang: &Language,
    tree: &tree_sitter::Tree,
    text: &str,
    offset: u32,
) -> Option<KeywordArgument> {
    let [kind, field] = lang.config.keyword_argument.as_ref()?;
    let node = tree
        .root_node()
        .named_descendant_for_byte_range(offset as usize, offset as usize)?;
    let arg = node.parent()?;
    if arg.kind() != kind || arg.child_by_field_name(field)?.id() != node.id() {
        return None;
    }
    let call = arg.parent()?.parent()?;
    let function = call.child_by_field_name("function")?;
    let callee = match function.child_by_field_name("attribute") {
        Some(attribute) => attribute,
        None => function,
    };
    Some(KeywordArgument {
        name: text.get(node.byte_range())?.to_string(),
        callee: codecontext_text::TextRange::from_usize(callee.byte_range()),
    })
}
