//! The extraction engine: runs a language's combined query over a syntax tree and turns
//! the captures into [`ChunkSummary`]s. Everything language-specific comes from the
//! query files and `language.toml`; this module only knows the capture vocabulary.
//!
//! A file is split into chunks, one per top-level item together with the comments
//! before it. Every capture is assigned to the chunk holding its anchor node, and a
//! chunk's summary depends only on the nodes inside it, so re-extracting one chunk
//! after an edit gives exactly what a full extraction would.
//!
//! This module runs the query and sorts its matches into chunks; `chunk` turns the
//! matches of one chunk into its summary.

mod ancestry;
mod chunk;
mod lookup;
mod macros;

use std::time::Instant;

use codecontext_lang::{Language, LanguageConfig, ModuleScheme};
use codecontext_text::TextRange;
use tree_sitter::{Node, StreamingIterator, Tree};

use crate::{
    model::{ChunkSummary, EntityKind, RefKind, SyntaxError},
    source::SkipReason,
};
use chunk::ChunkBuilder;

/// What extraction keeps besides the graph-facing data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Keep local variables and their uses ([`ChunkSummary::locals`]).
    pub keep_locals: bool,
}

/// At most this many query matches may be in progress at once. Matches stay in
/// progress while the matcher walks the nodes between their first and last captures, and
/// every node visited costs time for each of them: in a chain of calls `a.b().b()...` N
/// long, N of them at once, so the walk would cost the square of N. Past the limit the
/// match that started first is given up (tree-sitter's match limit), which keeps the walk
/// linear; the chunk that is most likely concerned says so with a syntax error. Real code
/// needs far fewer: under 100 over a corpus of thousands of files of every language.
const MAX_MATCHES_IN_PROGRESS: u32 = 512;

/// The chunks of a tree: each named child of the root, with the comments right before
/// it. Comments at the end of a file form a chunk of their own.
pub fn chunk_ranges(tree: &Tree, config: &LanguageConfig) -> Vec<TextRange> {
    let root = tree.root_node();
    // When error recovery found no item at all, the root itself is the error and its
    // children are loose tokens (`fn a(){` repeated, unclosed): one chunk, not one per
    // token, and its error is reported (see `ChunkBuilder::errors`).
    if root.is_error() {
        return vec![TextRange::from_usize(root.byte_range())];
    }
    let mut chunks = Vec::new();
    let mut pending_start: Option<usize> = None;
    let mut cursor = root.walk();
    for child in root.children(&mut cursor) {
        if child.byte_range().is_empty() {
            continue;
        }
        if config.comment_kinds.iter().any(|k| k == child.kind())
            || config.prefix_kinds.iter().any(|k| k == child.kind())
        {
            pending_start.get_or_insert(child.start_byte());
            continue;
        }
        let start = pending_start.take().unwrap_or(child.start_byte());
        chunks.push(TextRange::new(start as u32, child.end_byte() as u32));
    }
    if let Some(start) = pending_start {
        chunks.push(TextRange::new(start as u32, root.end_byte() as u32));
    }
    chunks
}

/// The role of a capture, decoded once per query from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cap {
    Definition(EntityKind),
    Reference(RefKind, bool),
    Name,
    Doc,
    Type,
    Receiver,
    Scope,
    LocalDef,
    LocalType,
    LocalRef,
    Import,
    ImportPath,
    ImportName,
    ImportAlias,
    ImportGlob,
    ImportExport,
    ImportDefault,
    ImportSubmodule,
    Package,
    Skip,
    Owner,
    Ignore,
}

fn decode_capture(name: &str) -> Cap {
    if let Some(kind) = name.strip_prefix("definition.") {
        return EntityKind::from_capture(kind).map_or(Cap::Ignore, Cap::Definition);
    }
    if let Some(kind) = name.strip_prefix("reference.") {
        let (kind, member) = match kind {
            "call" => (RefKind::Call, false),
            "type" | "class" => (RefKind::Type, false),
            "member" => (RefKind::Read, true),
            "inherits" => (RefKind::Inherits, false),
            "implementation" => (RefKind::Implements, false),
            _ => (RefKind::Read, false),
        };
        return Cap::Reference(kind, member);
    }
    if name.starts_with("local.definition") {
        return Cap::LocalDef;
    }
    match name {
        "name" => Cap::Name,
        "doc" => Cap::Doc,
        "type" => Cap::Type,
        "receiver" => Cap::Receiver,
        "local.scope" => Cap::Scope,
        "local.type" => Cap::LocalType,
        "local.reference" => Cap::LocalRef,
        "import" => Cap::Import,
        "import.path" => Cap::ImportPath,
        "import.name" => Cap::ImportName,
        "import.alias" => Cap::ImportAlias,
        "import.glob" => Cap::ImportGlob,
        "import.export" => Cap::ImportExport,
        "import.default" => Cap::ImportDefault,
        "import.submodule" => Cap::ImportSubmodule,
        "package" => Cap::Package,
        "skip" => Cap::Skip,
        "owner" => Cap::Owner,
        _ => Cap::Ignore,
    }
}

/// One query match, reduced to what the chunk builder needs.
enum Item<'t> {
    Def {
        pattern: usize,
        kind: EntityKind,
        node: Node<'t>,
        name: Node<'t>,
        doc: Option<Node<'t>>,
        ty: Option<Node<'t>>,
        owner: Option<Node<'t>>,
    },
    Ref {
        kind: RefKind,
        node: Node<'t>,
        name: Node<'t>,
        receiver: Option<Node<'t>>,
        /// `@type` in a reference pattern: the receiver's declared type, written
        /// elsewhere (`const o: Options = { json }` reads `Options.json`).
        receiver_type: Option<Node<'t>>,
    },
    Import(ImportItem<'t>),
    Scope(Node<'t>),
    LocalDef {
        node: Node<'t>,
        ty: Option<Node<'t>>,
    },
    LocalRef(Node<'t>),
    Doc(Node<'t>),
    Package(Node<'t>),
    Skip(Node<'t>),
}

struct ImportItem<'t> {
    stmt: Node<'t>,
    path: Option<Node<'t>>,
    name: Option<Node<'t>>,
    alias: Option<Node<'t>>,
    glob: bool,
    export: bool,
    default: bool,
    submodule: Option<Node<'t>>,
}

impl<'t> Item<'t> {
    /// The node whose start decides which chunk the item belongs to.
    fn anchor(&self) -> Node<'t> {
        match self {
            Item::Def { name, .. } | Item::Ref { name, .. } => *name,
            Item::Import(i) => i.stmt,
            Item::Scope(n)
            | Item::LocalDef { node: n, .. }
            | Item::LocalRef(n)
            | Item::Doc(n)
            | Item::Package(n)
            | Item::Skip(n) => *n,
        }
    }
}

fn decode_match<'t>(caps: &[Cap], m: &tree_sitter::QueryMatch<'_, 't>) -> Option<Item<'t>> {
    let mut def = None;
    let mut reference = None;
    let mut name = None;
    let mut doc = None;
    let mut ty = None;
    let mut receiver = None;
    let mut scope = None;
    let mut local_def = None;
    let mut local_type = None;
    let mut local_ref = None;
    let mut package = None;
    let mut skip = None;
    let mut owner = None;
    let mut import: Option<Node<'t>> = None;
    let mut imp = ImportItem {
        stmt: m.captures().first()?.node,
        path: None,
        name: None,
        alias: None,
        glob: false,
        export: false,
        default: false,
        submodule: None,
    };
    for c in m.captures() {
        let node = c.node;
        match caps[c.index as usize] {
            Cap::Definition(kind) => def = Some((kind, node)),
            Cap::Reference(kind, member) => reference = Some((kind, member, node)),
            Cap::Name => name = Some(node),
            Cap::Doc => doc = Some(node),
            Cap::Type => ty = Some(node),
            Cap::Receiver => receiver = Some(node),
            Cap::Scope => scope = Some(node),
            Cap::LocalDef => local_def = Some(node),
            Cap::LocalType => local_type = Some(node),
            Cap::LocalRef => local_ref = Some(node),
            Cap::Import => import = Some(node),
            Cap::ImportPath => imp.path = Some(node),
            Cap::ImportName => imp.name = Some(node),
            Cap::ImportAlias => imp.alias = Some(node),
            Cap::ImportGlob => imp.glob = true,
            Cap::ImportExport => imp.export = true,
            Cap::ImportDefault => imp.default = true,
            Cap::ImportSubmodule => imp.submodule = Some(node),
            Cap::Package => package = Some(node),
            Cap::Skip => skip = Some(node),
            Cap::Owner => owner = Some(node),
            Cap::Ignore => {}
        }
    }
    if let Some((kind, node)) = def {
        return Some(Item::Def {
            pattern: m.pattern_index,
            kind,
            node,
            name: name.unwrap_or(node),
            doc,
            ty,
            owner,
        });
    }
    if let Some((kind, _member, node)) = reference {
        return Some(Item::Ref {
            kind,
            node,
            name: name.unwrap_or(node),
            receiver,
            receiver_type: ty,
        });
    }
    if let Some(stmt) = import {
        imp.stmt = stmt;
        return Some(Item::Import(imp));
    }
    if let Some(node) = scope {
        return Some(Item::Scope(node));
    }
    if let Some(node) = local_def {
        return Some(Item::LocalDef {
            node,
            ty: local_type,
        });
    }
    if let Some(node) = local_ref {
        return Some(Item::LocalRef(node));
    }
    if let Some(node) = package {
        return Some(Item::Package(node));
    }
    if let Some(node) = skip {
        return Some(Item::Skip(node));
    }
    doc.map(Item::Doc)
}

/// Extracts the chunks under `root` whose ranges are given (all chunks for a full
/// extraction, the dirty ones after an edit). `chunks` must be sorted and disjoint.
/// `root` is the root node of a tree parsed from `text`.
pub fn extract_chunks<'t>(
    lang: &Language,
    root: Node<'t>,
    text: &str,
    chunks: &[TextRange],
    options: ExtractOptions,
    deadline: Option<(Instant, u64)>,
) -> Result<Vec<ChunkSummary>, SkipReason> {
    let query = lang.query().map_err(|e| SkipReason::Query {
        message: e.to_string(),
    })?;
    if chunks.is_empty() {
        return Ok(Vec::new());
    }
    let caps: Vec<Cap> = query
        .capture_names()
        .iter()
        .map(|n| decode_capture(n))
        .collect();
    let mut per_chunk: Vec<Vec<Item<'_>>> = chunks.iter().map(|_| Vec::new()).collect();
    let span = chunks[0].start as usize..chunks[chunks.len() - 1].end as usize;
    let mut cursor = tree_sitter::QueryCursor::new();
    cursor.set_byte_range(span);
    cursor.set_match_limit(MAX_MATCHES_IN_PROGRESS);
    let mut timed_out = false;
    let mut check = |_: &tree_sitter::QueryCursorState| {
        if let Some((deadline, _)) = deadline {
            if Instant::now() > deadline {
                timed_out = true;
                return std::ops::ControlFlow::Break(());
            }
        }
        std::ops::ControlFlow::Continue(())
    };
    let options_ts = tree_sitter::QueryCursorOptions::new().progress_callback(&mut check);
    let mut matches = cursor.matches_with_options(query, root, text.as_bytes(), options_ts);
    while let Some(m) = matches.next() {
        let Some(item) = decode_match(&caps, m) else {
            continue;
        };
        let at = item.anchor().start_byte() as u32;
        let idx = chunks.partition_point(|c| c.end <= at);
        if idx < chunks.len() && chunks[idx].start <= at {
            per_chunk[idx].push(item);
        }
    }
    drop(matches);
    if timed_out {
        return Err(SkipReason::ParseTimeout {
            budget_ms: deadline.map_or(0, |(_, ms)| ms),
        });
    }
    let tops = tops_per_chunk(root, chunks);
    // Matches given up on are most likely in the most deeply nested item: say so there.
    let gave_up = cursor
        .did_exceed_match_limit()
        .then(|| deepest_node(&tops))
        .flatten();
    let mut summaries: Vec<ChunkSummary> = chunks
        .iter()
        .zip(per_chunk)
        .zip(tops)
        .map(|((&range, items), tops)| {
            // Items inside item macros: the chunk from a tree that sees them.
            if let Some(unwrapped) = macros::unwrapped(lang, text, &tops) {
                return unwrapped_summary(lang, query, &caps, &unwrapped, text, range, options);
            }
            ChunkBuilder::new(lang, text, range, root, options).build(items, tops)
        })
        .collect();
    if let Some((chunk, node)) = gave_up {
        summaries[chunk].errors.push(SyntaxError {
            range: TextRange::from_usize(node.byte_range()),
            message: format!(
                "nested too deeply to index fully: over {MAX_MATCHES_IN_PROGRESS} query matches \
                 were in progress at once, so some names around here may be missing"
            ),
        });
    }
    Ok(summaries)
}

/// The summary of one chunk from `tree`, the chunk parsed again with its item macros'
/// wrappers left out (see `macros`).
fn unwrapped_summary(
    lang: &Language,
    query: &tree_sitter::Query,
    caps: &[Cap],
    unwrapped: &macros::Unwrapped,
    text: &str,
    range: TextRange,
    options: ExtractOptions,
) -> ChunkSummary {
    let root = unwrapped.tree.root_node();
    let mut cursor = tree_sitter::QueryCursor::new();
    cursor.set_byte_range(range.start as usize..range.end as usize);
    cursor.set_match_limit(MAX_MATCHES_IN_PROGRESS);
    let mut items = Vec::new();
    let mut matches = cursor.matches(query, root, text.as_bytes());
    while let Some(m) = matches.next() {
        if let Some(item) = decode_match(caps, m) {
            if range.contains_inclusive(item.anchor().start_byte() as u32) {
                items.push(item);
            }
        }
    }
    drop(matches);
    let tops = tops_per_chunk(root, &[range]).pop().unwrap_or_default();
    let mut summary = ChunkBuilder::new(lang, text, range, root, options).build(items, tops);
    // The macros' call sites, which the tree read leaves out: references from the
    // innermost entity around them.
    for &(start, end) in &unwrapped.macro_names {
        let at = TextRange::from_usize(start..end);
        let source = summary
            .entities
            .iter()
            .enumerate()
            .filter(|(_, e)| e.range.contains_range(at))
            .min_by_key(|(_, e)| e.range.len())
            .map(|(i, _)| i as u32);
        let index = summary.refs.partition_point(|r| r.range.start <= at.start);
        for r in &mut summary.refs {
            if let crate::model::Receiver::Ref(i) = &mut r.receiver {
                if *i as usize >= index {
                    *i += 1;
                }
            }
        }
        summary.refs.insert(
            index,
            crate::model::RefData {
                kind: RefKind::Call,
                name: text[start..end].to_string(),
                range: at,
                receiver: crate::model::Receiver::None,
                source,
                local_target: None,
                import: None,
            },
        );
    }
    summary
}

/// The chunk holding the deepest node under the chunks' top nodes, and that node.
fn deepest_node<'t>(tops: &[Vec<Node<'t>>]) -> Option<(usize, Node<'t>)> {
    let mut deepest: Option<(usize, usize, Node<'t>)> = None;
    for (chunk, nodes) in tops.iter().enumerate() {
        for top in nodes {
            let mut cursor = top.walk();
            let mut depth = 0;
            loop {
                if deepest.is_none_or(|(d, _, _)| depth > d) {
                    deepest = Some((depth, chunk, cursor.node()));
                }
                if cursor.goto_first_child() {
                    depth += 1;
                    continue;
                }
                while !cursor.goto_next_sibling() {
                    if !cursor.goto_parent() {
                        break;
                    }
                    depth -= 1;
                }
                if depth == 0 {
                    break;
                }
            }
        }
    }
    deepest.map(|(_, chunk, node)| (chunk, node))
}

/// The children of `root` in each chunk: non-empty children inside it, and empty ones
/// (`MISSING` nodes) at its start or within it. One pass over the children for all the
/// chunks, where each chunk looking for its own would cost the number of chunks times
/// the number of children.
fn tops_per_chunk<'t>(root: Node<'t>, chunks: &[TextRange]) -> Vec<Vec<Node<'t>>> {
    let mut tops: Vec<Vec<Node<'t>>> = chunks.iter().map(|_| Vec::new()).collect();
    let Some(first) = chunks.first() else {
        return tops;
    };
    let mut cursor = root.walk();
    // From the first child that ends at or after the first chunk's start.
    let found = match (first.start as usize).checked_sub(1) {
        Some(before) => cursor.goto_first_child_for_byte(before).is_some(),
        None => cursor.goto_first_child(),
    };
    if !found {
        return tops;
    }
    loop {
        let child = cursor.node();
        let r = TextRange::from_usize(child.byte_range());
        // The only chunk that can hold `r`: chunks are sorted and disjoint.
        let idx = chunks.partition_point(|c| c.end <= r.start);
        let Some(&chunk) = chunks.get(idx) else {
            break;
        };
        let inside = if r.is_empty() {
            chunk.contains_inclusive(r.start) && r.start != chunk.end
        } else {
            chunk.contains_range(r)
        };
        if inside {
            tops[idx].push(child);
        }
        if !cursor.goto_next_sibling() {
            break;
        }
    }
    tops
}

/// The name a module import binds when nothing else names it.
pub fn module_binding_name(scheme: ModuleScheme, path: &str, sep: &str) -> Option<String> {
    let path = path.trim();
    let seg = match scheme {
        // `import a.b.c` binds `a`.
        ModuleScheme::Python => path.split('.').find(|s| !s.is_empty())?,
        // `import "net/http"` binds `http`.
        ModuleScheme::Go => path.rsplit('/').next()?,
        ModuleScheme::Rust | ModuleScheme::Java | ModuleScheme::None => path.rsplit(sep).next()?,
        ModuleScheme::Node => return None,
    };
    let seg = seg.trim();
    (!seg.is_empty()).then(|| seg.to_string())
}

#[cfg(test)]
mod tests {
    use crate::{summarize, ExtractOptions, Limits};

    /// `fn a(){` repeated leaves no item for error recovery to keep: the root itself is
    /// the error. That is one chunk with its error, not a chunk per token and no error.
    #[test]
    fn a_file_that_is_one_error_is_one_chunk_with_an_error() {
        let rust = codecontext_lang::language_by_name("rust").expect("rust");
        let text = "fn a(){".repeat(50);
        let summary =
            summarize(rust, &text, &Limits::default(), ExtractOptions::default()).expect("indexed");
        assert_eq!(summary.chunks.len(), 1);
        assert_eq!(summary.chunks[0].errors.len(), 1, "{:?}", summary.chunks[0]);
        // What error recovery did keep is still extracted.
        let summary = summarize(
            rust,
            "fn a(){fn b(){}",
            &Limits::default(),
            ExtractOptions::default(),
        )
        .expect("indexed");
        assert_eq!(
            summary
                .chunks
                .iter()
                .map(|c| c.entities.len())
                .sum::<usize>(),
            1
        );
    }

    fn rust_summary(text: &str) -> crate::FileSummary {
        let rust = codecontext_lang::language_by_name("rust").expect("rust");
        summarize(rust, text, &Limits::default(), ExtractOptions::default()).expect("indexed")
    }

    /// (name, kind, container's name, the text at its selection) of every entity.
    fn entities(text: &str) -> Vec<(String, &'static str, String, String)> {
        entities_in("rust", text)
    }

    fn entities_in(lang: &str, text: &str) -> Vec<(String, &'static str, String, String)> {
        let lang = codecontext_lang::language_by_name(lang).expect("language");
        let summary =
            summarize(lang, text, &Limits::default(), ExtractOptions::default()).expect("indexed");
        let mut out = Vec::new();
        for chunk in &summary.chunks {
            for e in &chunk.entities {
                let container = e
                    .container
                    .map(|c| chunk.entities[c as usize].name.clone())
                    .unwrap_or_default();
                let at = text[e.selection.start as usize..e.selection.end as usize].to_string();
                out.push((e.name.clone(), e.kind.as_str(), container, at));
            }
        }
        out
    }

    /// `const T = { a: 1 }` makes `a` a field of `T`; a typed literal's keys are the type's
    /// (references); neither `this.x` in a function inside the value nor the keys of a
    /// literal bound to a local are fields (of the class around them).
    #[test]
    fn keys_of_a_literal_bound_to_a_name_are_its_fields() {
        let text = "const T = { a: 1, b: 2 } as const;\nexport const U = { c: 3 };\n\
                    const E = make(function () { this.message = 'x'; });\n\
                    const O: Opts = { d: 4 };\n\
                    class K { m() { const L = { z: 1 }; } }\nfunction f() { const M = { y: 1 }; }\n";
        let fields: Vec<(String, String)> = entities_in("typescript", text)
            .into_iter()
            .filter(|e| e.1 == "field")
            .map(|(name, _, container, _)| (name, container))
            .collect();
        let expected =
            [("a", "T"), ("b", "T"), ("c", "U")].map(|(n, c)| (n.to_string(), c.to_string()));
        assert_eq!(fields, expected);
        let js = entities_in("javascript", "const T = { a: 1 };\n");
        assert!(
            js.iter()
                .any(|e| e.0 == "a" && e.1 == "field" && e.2 == "T"),
            "{js:?}"
        );
    }

    #[test]
    fn items_inside_item_macros_are_entities_at_their_true_positions() {
        let text = "cfg_rt! {\n    pub fn spawn() {}\n    cfg_net! {\n        fn bind() {}\n    }\n}\n\nmod m {\n    cfg_io! {\n        pub struct Reader;\n    }\n}\n\nimpl S {\n    cfg_io! {\n        fn read(&self) {}\n    }\n}\n";
        let found = entities(text);
        let has = |name: &str, kind: &str, container: &str| {
            found
                .iter()
                .any(|(n, k, c, at)| n == name && *k == kind && c == container && at == name)
        };
        assert!(has("spawn", "function", ""), "{found:?}");
        assert!(has("bind", "function", ""), "nested: {found:?}");
        assert!(has("Reader", "struct", "m"), "in a module: {found:?}");
        assert!(has("read", "method", "S"), "in an impl: {found:?}");
        // The invocations are call sites of the macros.
        let summary = rust_summary(text);
        let calls: Vec<&str> = summary
            .chunks
            .iter()
            .flat_map(|c| &c.refs)
            .filter(|r| r.kind == crate::RefKind::Call)
            .map(|r| r.name.as_str())
            .collect();
        for name in ["cfg_rt", "cfg_net", "cfg_io"] {
            assert!(calls.contains(&name), "{name}: {calls:?}");
        }
        assert!(summary.chunks.iter().all(|c| c.errors.is_empty()));
    }

    #[test]
    fn macro_bodies_that_are_not_items_are_left_alone() {
        // A DSL, a statement macro, an expression macro, a parenthesised body.
        let text = "mock! {\n    pub File {\n        fn create() -> u8;\n    }\n}\n\nfn main() {\n    select! { x = a => b }\n    let v = vec![1, 2];\n}\n\nthread_local!(static X: u8 = 1);\n\nmacro_rules! m {\n    ($n:ident) => { fn $n() {} };\n}\n";
        let found = entities(text);
        let names: Vec<&str> = found.iter().map(|e| e.0.as_str()).collect();
        assert!(!names.contains(&"create"), "{found:?}");
        assert!(names.contains(&"main") && names.contains(&"m"), "{found:?}");
        // Beside one that is not items, a body that is still counts.
        let mixed = "mod m {\n    mock! {\n        pub File {\n            fn create() -> u8;\n        }\n    }\n    cfg_x! {\n        pub fn kept() {}\n    }\n}\n";
        let found = entities(mixed);
        assert!(
            found
                .iter()
                .any(|e| e.0 == "kept" && e.2 == "m" && e.3 == "kept"),
            "{found:?}"
        );
        assert!(!found.iter().any(|e| e.0 == "create"), "{found:?}");
        assert!(rust_summary(text)
            .chunks
            .iter()
            .all(|c| c.errors.is_empty()));
    }
}
