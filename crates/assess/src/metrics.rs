//! The functions of a text and their quality metrics: cyclomatic and cognitive
//! complexity, nesting, length and parameters, counted on the tree-sitter tree with the
//! node kinds of the language's `[quality]` table.

use codecontext_lang::{Language, QualityKinds};
use codecontext_syntax::{chunk_ranges, extract_chunks, parse, point, EntityKind, ExtractOptions};
use codecontext_text::{LineIndex, TextRange};
use serde::Serialize;
use std::time::Duration;
use tree_sitter::Node;

/// How complex a function is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Metrics {
    /// One plus its decisions (McCabe).
    pub cyclomatic: u32,
    /// Its decisions, each weighted by how deeply it is nested (after SonarSource's
    /// cognitive complexity, simplified: a plain `else` and each boolean operator add one).
    pub cognitive: u32,
    /// How deep its control structures nest.
    pub nesting: u32,
    /// Its lines, from the first of its definition to the last.
    pub lines: u32,
    /// Its parameters, without the receiver (`self`, `this`).
    pub parameters: u32,
    /// How deep its loops nest (a `forEach` callback counts as a loop).
    pub loops: u32,
}

impl Metrics {
    /// `after - before`, field by field.
    pub fn delta(before: &Metrics, after: &Metrics) -> MetricsDelta {
        let d = |a: u32, b: u32| i64::from(b) - i64::from(a);
        MetricsDelta {
            cyclomatic: d(before.cyclomatic, after.cyclomatic),
            cognitive: d(before.cognitive, after.cognitive),
            nesting: d(before.nesting, after.nesting),
            lines: d(before.lines, after.lines),
            parameters: d(before.parameters, after.parameters),
            loops: d(before.loops, after.loops),
        }
    }
}

/// The change of each metric.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MetricsDelta {
    pub cyclomatic: i64,
    pub cognitive: i64,
    pub nesting: i64,
    pub lines: i64,
    pub parameters: i64,
    pub loops: i64,
}

/// How many arguments a call may pass: at least `required`, at most `max` (none:
/// variadic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Arity {
    pub required: u32,
    pub max: Option<u32>,
}

impl Arity {
    pub fn accepts(&self, arguments: u32) -> bool {
        arguments >= self.required && self.max.is_none_or(|max| arguments <= max)
    }
}

/// A function, method, type or constant of a text.
#[derive(Clone, Debug)]
pub struct Symbol {
    /// Its containers' names and its own (`["Cart", "total"]`): how the same function is
    /// found in the text before and after an edit.
    pub path: Vec<String>,
    pub kind: EntityKind,
    pub range: TextRange,
    pub selection: TextRange,
    /// 0-based line of its name.
    pub line: u32,
    /// Functions only: measured (others have default metrics).
    pub measured: bool,
    pub metrics: Metrics,
    pub arity: Arity,
    /// Its body's shape (see `codecontext_syntax::shape`), or 0.
    pub shape: u64,
    /// Functions only: what it does inside loops, and where its deepest loop starts.
    pub hot: Hot,
    /// Functions only: its parameters and whether it dereferences them unchecked.
    pub params: Vec<crate::nulls::Param>,
    /// Its text, to tell whether an edit changed it.
    pub text: String,
}

impl Symbol {
    pub fn name(&self) -> &str {
        self.path.last().map_or("", String::as_str)
    }

    /// `Cart.total`: the path joined by the language's separator.
    pub fn local_name(&self, separator: &str) -> String {
        self.path.join(separator)
    }
}

/// Whether an entity kind is something with a body that runs.
pub fn is_function(kind: EntityKind) -> bool {
    matches!(
        kind,
        EntityKind::Function | EntityKind::Method | EntityKind::Constructor
    )
}

/// How long a side of an edit may take to parse.
const BUDGET: Duration = Duration::from_secs(2);

/// The functions (with their metrics), types and constants of `text`; none when it does
/// not parse in time.
pub fn symbols(lang: &Language, text: &str) -> Vec<Symbol> {
    match parse(lang, text, None, BUDGET) {
        Ok(tree) => {
            let chunks = chunk_ranges(&tree, &lang.config);
            symbols_in(lang, text, &LineIndex::new(text), &tree, &chunks)
        }
        Err(_) => Vec::new(),
    }
}

/// The symbols of both sides of an edit of one text, in the top-level chunks the edit
/// touches: the others are the same before and after, and are not read (a one-line
/// change in a file of thousands of lines reads one chunk). The side after is parsed
/// incrementally from the side before.
pub fn edited_symbols(lang: &Language, before: &str, after: &str) -> (Vec<Symbol>, Vec<Symbol>) {
    let prefix = before
        .char_indices()
        .zip(after.chars())
        .find(|((_, a), b)| a != b)
        .map_or(before.len().min(after.len()), |((i, _), _)| i);
    let most = before.len().min(after.len()) - prefix;
    let suffix = before
        .chars()
        .rev()
        .zip(after.chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .scan(0, |sum, n| {
            *sum += n;
            Some(*sum)
        })
        .take_while(|sum| *sum <= most)
        .last()
        .unwrap_or(0);
    let (old_end, new_end) = (before.len() - suffix, after.len() - suffix);
    let (old_index, new_index) = (LineIndex::new(before), LineIndex::new(after));
    let Ok(mut tree) = parse(lang, before, None, BUDGET) else {
        return (Vec::new(), symbols(lang, after));
    };
    let old_tree = tree.clone();
    let old_chunks = chunk_ranges(&old_tree, &lang.config);
    tree.edit(&tree_sitter::InputEdit {
        start_byte: prefix,
        old_end_byte: old_end,
        new_end_byte: new_end,
        start_position: point(&old_index, prefix as u32),
        old_end_position: point(&old_index, old_end as u32),
        new_end_position: point(&new_index, new_end as u32),
    });
    let Ok(new_tree) = parse(lang, after, Some(&tree), BUDGET) else {
        let old = symbols_in(lang, before, &old_index, &old_tree, &old_chunks);
        return (old, Vec::new());
    };
    let new_chunks = chunk_ranges(&new_tree, &lang.config);
    // The chunks outside the edit must be the same on both sides; when the edit moved
    // a boundary there (closing a brace left open before it), both are read whole.
    let outside = |chunks: &[TextRange], end: usize| {
        let before_edit = chunks.iter().filter(|c| (c.end as usize) < prefix).count();
        let after_edit = chunks.iter().filter(|c| c.start as usize > end).count();
        (before_edit, after_edit)
    };
    let same = outside(&old_chunks, old_end) == outside(&new_chunks, new_end);
    let touched = |chunks: Vec<TextRange>, end: usize| -> Vec<TextRange> {
        if !same {
            return chunks;
        }
        let (start, end) = (prefix as u32, end as u32);
        chunks
            .into_iter()
            .filter(|c| c.start <= end && start <= c.end)
            .collect()
    };
    let (old_chunks, new_chunks) = (touched(old_chunks, old_end), touched(new_chunks, new_end));
    (
        symbols_in(lang, before, &old_index, &old_tree, &old_chunks),
        symbols_in(lang, after, &new_index, &new_tree, &new_chunks),
    )
}

/// The symbols of `chunks` (top-level chunks of `tree`, the parse of `text`).
fn symbols_in(
    lang: &Language,
    text: &str,
    index: &LineIndex,
    tree: &tree_sitter::Tree,
    chunks: &[TextRange],
) -> Vec<Symbol> {
    let Ok(summaries) = extract_chunks(
        lang,
        tree.root_node(),
        text,
        chunks,
        ExtractOptions::default(),
        None,
    ) else {
        return Vec::new();
    };
    let root = tree.root_node();
    let mut out = Vec::new();
    for chunk in &summaries {
        for e in &chunk.entities {
            let measured = is_function(e.kind);
            if !measured && crate::naming::Group::of(e.kind).is_none() {
                continue;
            }
            let mut path = vec![e.name.clone()];
            let mut container = e.container;
            while let Some(c) = container {
                let Some(outer) = chunk.entities.get(c as usize) else {
                    break;
                };
                path.push(outer.name.clone());
                container = outer.container;
            }
            path.reverse();
            let node = measured.then(|| function_node(root, e.selection)).flatten();
            let line = index.line_col(e.selection.start).map_or(0, |lc| lc.line);
            let end_line = index
                .line_col(e.range.end.saturating_sub(1).max(e.range.start))
                .map_or(line, |lc| lc.line);
            let start_line = index.line_col(e.range.start).map_or(line, |lc| lc.line);
            let (metrics, arity, hot, params) = match node {
                Some(node) => {
                    let (metrics, arity) = measure(lang, node, text);
                    let hot = hot(lang, node, text);
                    (
                        Metrics {
                            loops: hot.loops,
                            ..metrics
                        },
                        arity,
                        hot,
                        crate::nulls::params(lang, node, text),
                    )
                }
                None => (
                    Metrics::default(),
                    Arity {
                        required: 0,
                        max: None,
                    },
                    Hot::default(),
                    Vec::new(),
                ),
            };
            out.push(Symbol {
                path,
                kind: e.kind,
                range: e.range,
                selection: e.selection,
                line,
                measured,
                metrics: Metrics {
                    lines: end_line - start_line + 1,
                    ..metrics
                },
                arity,
                shape: e.shape,
                hot,
                params,
                text: text
                    .get(e.range.start as usize..e.range.end as usize)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
    }
    out
}

/// The node of the function whose name is at `selection`: the nearest ancestor of the
/// name with `parameters`, or the function a declarator's `value` holds
/// (`const f = () => ...`).
pub fn function_node(root: Node<'_>, selection: TextRange) -> Option<Node<'_>> {
    let name = root.descendant_for_byte_range(selection.start as usize, selection.end as usize)?;
    let mut node = name;
    for _ in 0..4 {
        if node.child_by_field_name("parameters").is_some() {
            return Some(node);
        }
        if let Some(value) = node.child_by_field_name("value") {
            if value.child_by_field_name("parameters").is_some()
                || value.child_by_field_name("parameter").is_some()
            {
                return Some(value);
            }
        }
        node = node.parent()?;
    }
    None
}

/// The metrics of a function's node (all but `lines`) and how it may be called.
pub fn measure(lang: &Language, function: Node<'_>, text: &str) -> (Metrics, Arity) {
    let kinds = &lang.config.quality;
    let mut metrics = Metrics {
        cyclomatic: 1,
        ..Metrics::default()
    };
    if let Some(body) = function.child_by_field_name("body") {
        walk(kinds, body, text, 0, &mut metrics);
    }
    let (arity, declared) = parameters(lang, function, text);
    metrics.parameters = declared;
    (metrics, arity)
}

fn walk(kinds: &QualityKinds, node: Node<'_>, text: &str, depth: u32, m: &mut Metrics) {
    let kind = node.kind();
    let has = |list: &[String]| list.iter().any(|k| k == kind);
    let mut nests = has(&kinds.nesting);
    if has(&kinds.branches) {
        m.cyclomatic += 1;
        if is_else_if(kinds, node) {
            // `else if` reads as one more way through the same decision: no nesting.
            m.cognitive += 1;
            nests = false;
        } else {
            m.cognitive += 1 + depth;
        }
    } else if has(&kinds.flat_branches) {
        m.cyclomatic += 1;
        m.cognitive += 1;
    } else if has(&kinds.continuations) {
        let mut cursor = node.walk();
        let else_if = node
            .named_children(&mut cursor)
            .any(|c| kinds.branches.iter().any(|k| k == c.kind()));
        if !else_if {
            m.cognitive += 1;
        }
    } else if has(&kinds.boolean_kinds) || is_boolean_binary(kinds, node, text) {
        m.cyclomatic += 1;
        m.cognitive += 1;
    }
    let inner = if nests { depth + 1 } else { depth };
    if nests {
        m.nesting = m.nesting.max(inner);
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        walk(kinds, child, text, inner, m);
    }
}

/// What a function does inside its loops.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hot {
    /// How deep its loops nest.
    pub loops: u32,
    /// Where the first of its deepest loops starts (a byte offset).
    pub deepest: Option<u32>,
    /// Calls and allocations inside loops, in text order.
    pub sites: Vec<Site>,
}

/// A call or an allocation inside a loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// An allocation (a node kind, or an allocating call's name), else a call.
    pub allocates: bool,
    /// The callee's last name (`load` for `self.repo.load(x)`), or the allocating node's
    /// kind.
    pub name: String,
    /// Byte offset of its start.
    pub at: u32,
    /// How many loops it is inside.
    pub depth: u32,
}

/// What `function` does inside its loops.
pub fn hot(lang: &Language, function: Node<'_>, text: &str) -> Hot {
    let mut hot = Hot::default();
    if let Some(body) = function.child_by_field_name("body") {
        hot_walk(&lang.config.quality, body, text, 0, &mut hot);
    }
    hot
}

fn hot_walk(kinds: &QualityKinds, node: Node<'_>, text: &str, depth: u32, hot: &mut Hot) {
    let kind = node.kind();
    let has = |list: &[String], what: &str| list.iter().any(|k| k == what);
    let callee = if node.child_by_field_name("arguments").is_some() || kind == "macro_invocation" {
        callee_name(node, text)
    } else {
        None
    };
    if depth > 0 {
        let site = |allocates, name: &str| Site {
            allocates,
            name: name.to_string(),
            at: node.start_byte() as u32,
            depth,
        };
        if has(&kinds.allocations, kind) {
            hot.sites.push(site(true, kind));
        } else if let Some(name) = callee {
            hot.sites
                .push(site(has(&kinds.allocating_calls, name), name));
        }
    }
    let is_loop = has(&kinds.loops, kind);
    let loop_method = callee.is_some_and(|name| has(&kinds.loop_methods, name));
    if (is_loop || loop_method) && depth + 1 > hot.loops {
        hot.loops = depth + 1;
        hot.deepest = Some(node.start_byte() as u32);
    }
    // What runs per iteration: a loop's body (its header runs once, or once per
    // iteration but is not what was added to it), a loop method's arguments.
    let inner = if is_loop {
        node.child_by_field_name("body").map(|b| b.id())
    } else if loop_method {
        node.child_by_field_name("arguments").map(|a| a.id())
    } else {
        None
    };
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        let deeper = match inner {
            Some(id) => child.id() == id,
            None => is_loop,
        };
        hot_walk(kinds, child, text, depth + u32::from(deeper), hot);
    }
}

/// The last name of a call's callee: `load` for `self.repo.load(x)`, `Vec::<u8>::new`'s
/// `new`, Java's method name, a macro's name.
pub fn callee_name<'t>(call: Node<'_>, text: &'t str) -> Option<&'t str> {
    let mut callee = ["function", "name", "macro"]
        .iter()
        .find_map(|f| call.child_by_field_name(f))?;
    for _ in 0..4 {
        match ["field", "attribute", "property", "name", "function"]
            .iter()
            .find_map(|f| callee.child_by_field_name(f))
        {
            Some(inner) => callee = inner,
            None => break,
        }
    }
    text.get(callee.byte_range())
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

/// A decision that continues another (`else if`): inside a continuation, or the
/// `alternative` of its parent (Go).
fn is_else_if(kinds: &QualityKinds, node: Node<'_>) -> bool {
    let Some(parent) = node.parent() else {
        return false;
    };
    kinds.continuations.iter().any(|k| k == parent.kind())
        || parent.child_by_field_name("alternative") == Some(node)
}

fn is_boolean_binary(kinds: &QualityKinds, node: Node<'_>, text: &str) -> bool {
    if !kinds.binary_kinds.iter().any(|k| k == node.kind()) {
        return false;
    }
    node.child_by_field_name("operator")
        .and_then(|op| text.get(op.byte_range()))
        .is_some_and(|op| kinds.boolean_operators.iter().any(|b| b == op))
}

/// Node kinds of parameters that make a function variadic, or that have a default.
const VARIADIC: &[&str] = &[
    "list_splat_pattern",
    "dictionary_splat_pattern",
    "rest_pattern",
    "variadic_parameter_declaration",
    "spread_parameter",
    "variadic_parameter",
];
const DEFAULTED: &[&str] = &[
    "default_parameter",
    "typed_default_parameter",
    "optional_parameter",
    "assignment_pattern",
];

/// How many arguments the function takes, and how many parameters it declares: its
/// named parameters, without a receiver (`self`, `this`, Rust's `self_parameter`); those
/// with a default are optional, a variadic one (`*args`, `...rest`) unbounded.
pub fn parameters(lang: &Language, function: Node<'_>, text: &str) -> (Arity, u32) {
    let Some(params) = function
        .child_by_field_name("parameters")
        .or_else(|| function.child_by_field_name("parameter"))
    else {
        let none = Arity {
            required: 0,
            max: Some(0),
        };
        return (none, 0);
    };
    if params.kind() == "identifier" {
        // `x => ...`
        let one = Arity {
            required: 1,
            max: Some(1),
        };
        return (one, 1);
    }
    let comments = &lang.config.comment_kinds;
    let (mut required, mut optional, mut variadic) = (0u32, 0u32, false);
    let mut cursor = params.walk();
    for (i, p) in params.named_children(&mut cursor).enumerate() {
        let kind = p.kind();
        if comments.iter().any(|c| c == kind) || kind == "self_parameter" {
            continue;
        }
        let name = text.get(p.byte_range()).unwrap_or_default();
        if i == 0 && lang.config.self_names.iter().any(|s| s == name) {
            continue;
        }
        // Python's `*` and `/` markers, and a bare `*args`/`**kwargs` spelled as such.
        if matches!(kind, "keyword_separator" | "positional_separator") {
            continue;
        }
        if VARIADIC.contains(&kind) || name.starts_with('*') || name.starts_with("...") {
            variadic = true;
        } else if DEFAULTED.contains(&kind) || p.child_by_field_name("value").is_some() {
            optional += 1;
        } else {
            required += 1;
        }
    }
    let arity = Arity {
        required,
        max: (!variadic).then_some(required + optional),
    };
    (arity, required + optional + u32::from(variadic))
}

/// How many arguments an argument list passes; none when it spreads a list (`f(*xs)`).
pub fn count_arguments(lang: &Language, args: Node<'_>) -> Option<u32> {
    let comments = &lang.config.comment_kinds;
    let mut cursor = args.walk();
    let mut n = 0;
    for a in args.named_children(&mut cursor) {
        if comments.iter().any(|c| c == a.kind()) {
            continue;
        }
        if matches!(
            a.kind(),
            "list_splat" | "dictionary_splat" | "spread_element" | "variadic_argument"
        ) {
            // `f(*xs)`: any number.
            return None;
        }
        n += 1;
    }
    Some(n)
}

/// The argument list of the call whose callee name is at `name`.
pub fn argument_list(root: Node<'_>, name: TextRange) -> Option<Node<'_>> {
    let mut node = root.descendant_for_byte_range(name.start as usize, name.end as usize)?;
    for _ in 0..4 {
        node = node.parent()?;
        if let Some(args) = node.child_by_field_name("arguments") {
            // The name must be the callee, not inside the arguments.
            return (args.start_byte() >= name.end as usize).then_some(args);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(name: &str) -> &'static Language {
        codecontext_lang::language_by_name(name).expect("a language")
    }

    fn only(lang: &Language, text: &str, name: &str) -> Symbol {
        symbols(lang, text)
            .into_iter()
            .find(|s| s.name() == name)
            .unwrap_or_else(|| panic!("no `{name}` in {text}"))
    }

    /// An edit reads the chunks it touches, on both sides; one that moves a chunk
    /// boundary outside it (closing a brace) reads both sides whole.
    #[test]
    fn an_edit_reads_the_chunks_it_touches() {
        let py = lang("python");
        let before =
            "def a():\n    return 1\n\n\ndef b():\n    return 2\n\n\ndef c():\n    return 3\n";
        let after = before.replace("return 2", "return 2 + 2");
        let names = |symbols: &[Symbol]| -> Vec<String> {
            symbols.iter().map(|s| s.name().to_string()).collect()
        };
        let (old, new) = edited_symbols(py, before, &after);
        assert_eq!(
            (names(&old), names(&new)),
            (vec!["b".to_string()], vec!["b".to_string()])
        );
        assert_ne!(old[0].text, new[0].text);
        assert_eq!(new[0].metrics, only(py, &after, "b").metrics);
        // A new function between two others: added, the others not read.
        let added = before.replace("def c", "def bb():\n    return 4\n\n\ndef c");
        let (old, new) = edited_symbols(py, before, &added);
        assert!(!names(&new).contains(&"a".to_string()), "{:?}", names(&new));
        assert!(
            names(&new).contains(&"bb".to_string()) && !names(&old).contains(&"bb".to_string())
        );

        let js = lang("javascript");
        let open = "function a() {\n  return 1;\n\nfunction b() {\n  return 2;\n}\n";
        let closed = open.replace("return 1;\n", "return 1;\n}\n");
        let (_, new) = edited_symbols(js, open, &closed);
        assert_eq!(names(&new), ["a", "b"]);
        let (old, new) = edited_symbols(js, "", "function z() {}\n");
        assert_eq!((old.len(), names(&new)), (0, vec!["z".to_string()]));
    }

    /// A node kind the grammar does not have would silently count nothing.
    #[test]
    fn every_quality_kind_is_a_node_kind_of_its_grammar() {
        for lang in codecontext_lang::languages() {
            let q = &lang.config.quality;
            let kinds = q
                .branches
                .iter()
                .chain(&q.flat_branches)
                .chain(&q.continuations)
                .chain(&q.boolean_kinds)
                .chain(&q.binary_kinds)
                .chain(&q.nesting)
                .chain(&q.loops)
                .chain(&q.allocations)
                .chain(&q.nulls);
            let mut n = 0;
            for kind in kinds {
                n += 1;
                assert_ne!(
                    lang.grammar().id_for_node_kind(kind, true),
                    0,
                    "{}: `{kind}` is not a node kind",
                    lang.name()
                );
            }
            assert!(n > 5, "{}: no [quality] table", lang.name());
            for d in &q.dereferences {
                let (kind, field) = d.split_once('.').expect("`kind.field`");
                assert_ne!(lang.grammar().id_for_node_kind(kind, true), 0, "{d}");
                assert!(lang.grammar().field_id_for_name(field).is_some(), "{d}");
            }
            assert_eq!(
                q.nulls.is_empty(),
                q.dereferences.is_empty(),
                "{}",
                lang.name()
            );
            assert_eq!(q.binary_kinds.is_empty(), q.boolean_operators.is_empty());
        }
    }

    #[test]
    fn python_decisions_nesting_and_parameters() {
        let text = "\
class Cart:
    def total(self, items, tax=0.2, *rest):
        s = 0
        for i in items:
            if i.price > 0 and i.count:
                s += i.price
            elif i.free:
                pass
            else:
                s -= 1
        return s if s else 0
";
        let s = only(lang("python"), text, "total");
        assert_eq!(s.path, ["Cart", "total"]);
        // for, if, `and`, elif, conditional expression.
        assert_eq!(s.metrics.cyclomatic, 6);
        // for 1, if 1+1 (nested in the for), and 1, elif 1, else 1, conditional 1.
        assert_eq!(s.metrics.cognitive, 7);
        assert_eq!(s.metrics.nesting, 2);
        assert_eq!(s.metrics.lines, 10);
        assert_eq!(
            s.arity,
            Arity {
                required: 1,
                max: None
            }
        );
        assert_eq!(s.metrics.parameters, 3);
    }

    #[test]
    fn rust_receivers_and_boolean_operators() {
        let text = "\
struct S;
impl S {
    fn f(&self, a: u32, b: u32) -> bool {
        if a > 1 && b > 2 || a == b {
            return match a { 0 => true, _ => false };
        }
        false
    }
}
";
        let s = only(lang("rust"), text, "f");
        assert_eq!(s.path, ["S", "f"]);
        assert_eq!(
            s.arity,
            Arity {
                required: 2,
                max: Some(2)
            }
        );
        // if, &&, ||, two match arms.
        assert_eq!(s.metrics.cyclomatic, 6);
        assert_eq!(s.metrics.nesting, 2);
    }

    #[test]
    fn javascript_arrow_functions_and_call_sites() {
        let text = "const f = (a, b = 1, ...rest) => a ? b : rest;\nf(1, 2);\nf(...xs);\n";
        let js = lang("javascript");
        let s = only(js, text, "f");
        assert_eq!(
            s.arity,
            Arity {
                required: 1,
                max: None
            }
        );
        // The conditional expression that is its body.
        assert_eq!(s.metrics.cyclomatic, 2);
        let tree = parse(js, text, None, Duration::from_secs(2)).expect("parses");
        let at = |needle: &str| {
            let start = text.find(needle).expect("in text") as u32;
            TextRange::new(start, start + 1)
        };
        let count = |needle: &str| {
            let args = argument_list(tree.root_node(), at(needle)).expect("a call");
            count_arguments(js, args)
        };
        assert_eq!(count("f(1"), Some(2));
        assert_eq!(count("f(..."), None);
    }

    /// `(allocates, name, depth)` of each site inside a loop, in text order.
    fn sites(s: &Symbol) -> Vec<(bool, &str, u32)> {
        s.hot
            .sites
            .iter()
            .map(|x| (x.allocates, x.name.as_str(), x.depth))
            .collect()
    }

    #[test]
    fn loops_and_what_runs_in_them() {
        let text = "\
def total(orders, rates):
    s = load_all(orders)
    for o in load_orders():
        for r in rates:
            s += load_rate(r) * o
        items = [x for x in o.items]
    return s
";
        let s = only(lang("python"), text, "total");
        assert_eq!(s.metrics.loops, 2);
        assert_eq!(s.hot.deepest, text.find("for r").map(|i| i as u32));
        // `load_all` and the loop's iterable run once: not inside the loop.
        assert_eq!(
            sites(&s),
            [(false, "load_rate", 2), (true, "list_comprehension", 1)]
        );

        let js = "function f(items) { items.forEach(i => { fetchUser(i.id); }); return [1]; }\n";
        let s = only(lang("javascript"), js, "f");
        assert_eq!(s.metrics.loops, 1);
        assert_eq!(sites(&s), [(false, "fetchUser", 1)]);

        let rust =
            "fn f(xs: &[String], v: &mut Vec<String>) { for x in xs { v.push(x.clone()); } }\n";
        let s = only(lang("rust"), rust, "f");
        assert_eq!(s.metrics.loops, 1);
        assert_eq!(sites(&s), [(false, "push", 1), (true, "clone", 1)]);
    }
}
