//! Items written inside macro invocations: Rust's `cfg_rt! { pub fn spawn() {} }`
//! declares `spawn`, but the grammar sees a token tree and the query finds nothing in it.
//!
//! A chunk holding invocations in item position (`holders`: the file, a module's or an
//! impl's body) whose brace bodies parse as items on their own is parsed again with the
//! invocations' wrappers left out (tree-sitter's included ranges): `cfg_rt! {`, and the
//! closing `}`. What is left is the chunk as if the bodies were written in place, at their
//! true positions, and its summary is taken from that tree. Bodies inside bodies are
//! unwrapped too, to [`MAX_DEPTH`]. A body that does not parse as items (`select!`,
//! `quote!`, a DSL) is left as it is, and so is the chunk if leaving the wrappers out
//! makes an error that was not there.

use std::time::{Duration, Instant};

use codecontext_lang::{ItemMacros, Language};
use tree_sitter::{Node, Point, Range, Tree};

use crate::source::parse_ranges;

/// Macros inside macros unwrapped, at most.
const MAX_DEPTH: usize = 4;
/// Invocations unwrapped per chunk, at most (each costs a parse of its body).
const MAX_INVOCATIONS: usize = 256;
/// The longest the parses of one chunk's bodies, and of the chunk again, may take
/// together: past it the chunk is read as the grammar sees it.
const PARSE_BUDGET: Duration = Duration::from_millis(200);

/// One invocation's wrapper: its start to its body's first byte, and its body's last
/// byte to its end, with the points there.
#[derive(Clone, Copy)]
struct Wrapper {
    /// The macro's name, when it is a plain identifier: its call site is kept as a
    /// reference, though the tree the chunk is read from leaves it out.
    name: Option<(usize, usize)>,
    start: (usize, Point),
    open_end: (usize, Point),
    close_start: (usize, Point),
    end: (usize, Point),
}

/// A chunk parsed again with its item macros' wrappers left out.
pub(super) struct Unwrapped {
    pub tree: Tree,
    /// The byte ranges of the unwrapped macros' names (plain identifiers), in order.
    pub macro_names: Vec<(usize, usize)>,
}

/// The chunk whose root children are `tops` parsed with the wrappers of its item macros
/// left out, when it has any whose bodies hold items; None otherwise.
///
/// First every brace body is cut at once, then those that this uncovers, one level at a
/// time: a parse of the chunk per level. If the first level breaks the chunk (a body
/// that is not items), each body is tried on its own instead and only those that parse
/// as items are cut.
pub(super) fn unwrapped(lang: &Language, text: &str, tops: &[Node<'_>]) -> Option<Unwrapped> {
    let config = lang.config.item_macros.as_ref()?;
    let mut found = Vec::new();
    for top in tops {
        invocations(config, *top, true, &mut found);
    }
    let mut wrappers: Vec<Wrapper> = found
        .iter()
        .filter_map(|n| wrapper_of(config, text, *n))
        .collect();
    if wrappers.is_empty() {
        return None;
    }
    let deadline = Instant::now() + PARSE_BUDGET;
    let had_error = tops.iter().any(|t| t.has_error());
    let breaks = |tree: &Tree| tree.root_node().has_error() && !had_error;
    let mut best: Option<(Tree, Vec<Wrapper>)> = None;
    for _ in 0..MAX_DEPTH {
        let tree = parse_cut(lang, text, tops, &wrappers, deadline)?;
        if breaks(&tree) {
            break;
        }
        let more: Vec<Wrapper> = {
            let mut inner = Vec::new();
            let root = tree.root_node();
            let mut cursor = root.walk();
            for child in root.named_children(&mut cursor) {
                invocations(config, child, true, &mut inner);
            }
            inner
                .iter()
                .filter_map(|n| wrapper_of(config, text, *n))
                .collect()
        };
        best = Some((tree, wrappers.clone()));
        if more.is_empty() {
            break;
        }
        wrappers.extend(more);
    }
    let (tree, wrappers) = match best {
        Some(found) => found,
        None => {
            // Some body is not items: each on its own.
            let mut checked = Vec::new();
            for node in found {
                unwrap_body(lang, text, config, node, 1, deadline, &mut checked);
            }
            if checked.is_empty() {
                return None;
            }
            let tree = parse_cut(lang, text, tops, &checked, deadline)?;
            if breaks(&tree) {
                return None;
            }
            (tree, checked)
        }
    };
    let mut macro_names: Vec<(usize, usize)> = wrappers.iter().filter_map(|w| w.name).collect();
    macro_names.sort_unstable();
    Some(Unwrapped { tree, macro_names })
}

/// The chunk of `tops` parsed with `wrappers` cut out: each its opening and its closing
/// (nested ones inside their outer body); the chunk is what lies between the cuts.
fn parse_cut(
    lang: &Language,
    text: &str,
    tops: &[Node<'_>],
    wrappers: &[Wrapper],
    deadline: Instant,
) -> Option<Tree> {
    let (first, last) = (tops.first()?, tops.last()?);
    let mut cuts: Vec<((usize, Point), (usize, Point))> = wrappers
        .iter()
        .flat_map(|w| [(w.start, w.open_end), (w.close_start, w.end)])
        .collect();
    cuts.sort_by_key(|c| c.0 .0);
    let mut ranges = Vec::with_capacity(cuts.len() + 1);
    let mut from = (first.start_byte(), first.start_position());
    for (start, end) in cuts {
        push_range(&mut ranges, from, start);
        if end.0 > from.0 {
            from = end;
        }
    }
    push_range(&mut ranges, from, (last.end_byte(), last.end_position()));
    parse_ranges(lang, text, &ranges, left(deadline)?)
}

/// The time left before `deadline`, if any.
fn left(deadline: Instant) -> Option<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
}

fn push_range(ranges: &mut Vec<Range>, from: (usize, Point), to: (usize, Point)) {
    if to.0 > from.0 {
        ranges.push(Range {
            start_byte: from.0,
            end_byte: to.0,
            start_point: from.1,
            end_point: to.1,
        });
    }
}

/// The invocations in item position under `node` (`node` itself when it is one and
/// `in_holder`), looking through holders and the kinds that contain them.
fn invocations<'t>(config: &ItemMacros, node: Node<'t>, in_holder: bool, out: &mut Vec<Node<'t>>) {
    if out.len() >= MAX_INVOCATIONS {
        return;
    }
    let kind = node.kind();
    if kind == config.invocation {
        if in_holder {
            out.push(node);
        }
        return;
    }
    let holder = config.holders.iter().any(|h| h == kind);
    if !holder && !config.descend.iter().any(|d| d == kind) {
        return;
    }
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        invocations(config, child, holder, out);
    }
}

/// `invocation`'s wrapper, if its body is in braces and not empty.
fn wrapper_of(config: &ItemMacros, text: &str, invocation: Node<'_>) -> Option<Wrapper> {
    let mut cursor = invocation.walk();
    let body = invocation
        .named_children(&mut cursor)
        .find(|c| c.kind() == config.body)?;
    let bytes = text.as_bytes();
    let (open, close) = (body.start_byte(), body.end_byte());
    if close < open + 2 || bytes[open] != b'{' || bytes[close - 1] != b'}' {
        return None;
    }
    // `{` and `}` are one byte on their rows.
    let open_end = (
        open + 1,
        Point::new(body.start_position().row, body.start_position().column + 1),
    );
    let close_start = (
        close - 1,
        Point::new(
            body.end_position().row,
            body.end_position().column.saturating_sub(1),
        ),
    );
    if close_start.0 <= open_end.0 {
        return None;
    }
    let name = invocation
        .child_by_field_name("macro")
        .filter(|n| n.kind() == "identifier")
        .map(|n| (n.start_byte(), n.end_byte()));
    Some(Wrapper {
        name,
        start: (invocation.start_byte(), invocation.start_position()),
        open_end,
        close_start,
        end: (invocation.end_byte(), invocation.end_position()),
    })
}

/// If `invocation`'s body is in braces and parses as items on its own, its wrapper,
/// then those of the item macros inside it (to [`MAX_DEPTH`]).
fn unwrap_body(
    lang: &Language,
    text: &str,
    config: &ItemMacros,
    invocation: Node<'_>,
    depth: usize,
    deadline: Instant,
    out: &mut Vec<Wrapper>,
) {
    if depth > MAX_DEPTH || out.len() >= MAX_INVOCATIONS {
        return;
    }
    let Some(wrapper) = wrapper_of(config, text, invocation) else {
        return;
    };
    let interior = [Range {
        start_byte: wrapper.open_end.0,
        end_byte: wrapper.close_start.0,
        start_point: wrapper.open_end.1,
        end_point: wrapper.close_start.1,
    }];
    let Some(tree) = left(deadline).and_then(|budget| parse_ranges(lang, text, &interior, budget))
    else {
        return;
    };
    let root = tree.root_node();
    if root.has_error() || root.named_child_count() == 0 {
        return;
    }
    out.push(wrapper);
    let mut inner = Vec::new();
    let mut cursor = root.walk();
    for child in root.named_children(&mut cursor) {
        invocations(config, child, true, &mut inner);
    }
    for node in inner {
        unwrap_body(lang, text, config, node, depth + 1, deadline, out);
    }
}
