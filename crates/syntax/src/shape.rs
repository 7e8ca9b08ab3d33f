//! The shape of a function's body: its syntax with names and literals left out, hashed,
//! so that a copy of a function, even with its names changed, has the same shape (the
//! "type-2 clones" of clone detection). Small bodies (a getter, `return x`) are too
//! common to mean anything and have none.

use std::hash::Hasher;

use rustc_hash::{FxHashMap, FxHasher};
use tree_sitter::Node;

/// Bodies with fewer named nodes than this have no shape.
pub const MIN_NODES: u32 = 40;

/// The shape of `body`, or 0 when it has fewer than [`MIN_NODES`] named nodes.
pub fn shape_of(body: Node<'_>) -> u64 {
    shapes_of(&[body])[0]
}

/// The shape of each of `bodies`, in their order. The hash is built bottom-up: a named
/// node's hash is of its kind and its named descendants' hashes in order (anonymous
/// tokens and comments left out), so the tree's structure counts, not only its node
/// kinds. A body nested in another (a closure's in its function's) gets its shape from
/// the walk of the outer one, so every node is hashed once however deep the nesting.
pub fn shapes_of(bodies: &[Node<'_>]) -> Vec<u64> {
    let wanted: FxHashMap<usize, usize> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| (b.id(), i))
        .collect();
    let mut out: Vec<Option<u64>> = vec![None; bodies.len()];
    for (i, body) in bodies.iter().enumerate() {
        if out[i].is_none() {
            walk(*body, &wanted, &mut out);
        }
    }
    out.into_iter().map(|s| s.unwrap_or(0)).collect()
}

/// A named node being hashed: its hash so far and how many named nodes it holds.
struct Frame {
    hasher: FxHasher,
    nodes: u32,
    id: usize,
}

/// Hashes the subtree at `root` once, recording the shape of every wanted node in it.
fn walk(root: Node<'_>, wanted: &FxHashMap<usize, usize>, out: &mut [Option<u64>]) {
    let mut cursor = root.walk();
    let mut frames: Vec<Frame> = Vec::new();
    // Per node on the cursor's path: whether it opened a frame.
    let mut framed: Vec<bool> = Vec::new();
    loop {
        let node = cursor.node();
        let named = node.is_named() && !node.is_extra();
        if named {
            let mut hasher = FxHasher::default();
            hasher.write_u16(node.kind_id());
            frames.push(Frame {
                hasher,
                nodes: 1,
                id: node.id(),
            });
        }
        framed.push(named);
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if framed.pop() == Some(true) {
                let frame = frames.pop().expect("a frame per framed node");
                let hash = frame.hasher.finish();
                if let Some(&i) = wanted.get(&frame.id) {
                    out[i] = Some(if frame.nodes >= MIN_NODES {
                        hash.max(1)
                    } else {
                        0
                    });
                }
                if let Some(parent) = frames.last_mut() {
                    parent.hasher.write_u64(hash);
                    parent.nodes = parent.nodes.saturating_add(frame.nodes);
                }
            }
            if framed.is_empty() {
                return;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The shape of the body of the first function of a Python text.
    fn shape(text: &str) -> u64 {
        let lang = codecontext_lang::language_by_name("python").expect("python");
        let tree = crate::parse(lang, text, None, Duration::from_secs(2)).expect("parses");
        let root = tree.root_node();
        let function = root.named_child(0).expect("a function");
        shape_of(function.child_by_field_name("body").expect("a body"))
    }

    const ORIGINAL: &str = "\
def summarize(orders):
    totals = {}
    for order in orders:
        if order.status == 'paid':
            totals[order.customer] = totals.get(order.customer, 0) + order.amount
        elif order.status == 'refunded':
            totals[order.customer] = totals.get(order.customer, 0) - order.amount
    return sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
";

    #[test]
    fn a_renamed_copy_has_the_same_shape_and_a_changed_one_another() {
        let original = shape(ORIGINAL);
        assert_ne!(original, 0, "large enough to have a shape");
        let renamed = ORIGINAL
            .replace("orders", "refunds")
            .replace("order", "refund")
            .replace("totals", "sums")
            .replace("'paid'", "'done'")
            .replace("summarize", "tally");
        assert_eq!(shape(&renamed), original);
        // The same statements in another structure: the elif's body moved out of it.
        let restructured = ORIGINAL.replace(
            "        elif order.status == 'refunded':\n            totals",
            "        elif order.status == 'refunded':\n            pass\n        totals",
        );
        assert_ne!(shape(&restructured), original);
        assert_eq!(shape("def f(x):\n    return x + 1\n"), 0, "too small");
    }

    #[test]
    fn a_nested_body_has_the_shape_it_has_alone() {
        let text = format!(
            "def outer(orders):\n    x = 1\n{}",
            ORIGINAL
                .replace("\n", "\n    ")
                .replacen("def", "    def", 1)
        );
        let lang = codecontext_lang::language_by_name("python").expect("python");
        let tree = crate::parse(lang, &text, None, Duration::from_secs(2)).expect("parses");
        let outer = tree.root_node().named_child(0).expect("outer");
        let outer_body = outer.child_by_field_name("body").expect("a body");
        let inner = outer_body.named_child(1).expect("inner");
        assert_eq!(inner.kind(), "function_definition");
        let inner_body = inner.child_by_field_name("body").expect("a body");
        let both = shapes_of(&[outer_body, inner_body]);
        assert_eq!(both[1], shape(ORIGINAL), "the nested copy is a clone");
        assert_eq!(both, vec![shape_of(outer_body), shape_of(inner_body)]);
        assert_ne!(both[0], both[1]);
    }
}
