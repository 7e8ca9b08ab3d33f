//! The shape of a function's body: its syntax with names and literals left out, hashed,
//! so that a copy of a function, even with its names changed, has the same shape (the
//! "type-2 clones" of clone detection). Small bodies (a getter, `return x`) are too
//! common to mean anything and have none.

use std::hash::Hasher;

use rustc_hash::FxHasher;
use tree_sitter::Node;

/// Bodies with fewer named nodes than this have no shape.
pub const MIN_NODES: u32 = 40;

/// The shape of `body`, or 0 when it has fewer than [`MIN_NODES`] named nodes. The hash
/// is of the named nodes' kinds in order, each with how many levels the walk climbed
/// before it, so that the tree's structure counts, not only its node kinds.
pub fn shape_of(body: Node<'_>) -> u64 {
    let mut hasher = FxHasher::default();
    let mut cursor = body.walk();
    let mut nodes = 0u32;
    let mut climbed = 0u16;
    loop {
        let node = cursor.node();
        if node.is_named() && !node.is_extra() {
            nodes += 1;
            hasher.write_u16(node.kind_id());
            hasher.write_u16(climbed);
            climbed = 0;
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return if nodes >= MIN_NODES {
                    hasher.finish().max(1)
                } else {
                    0
                };
            }
            climbed = climbed.saturating_add(1);
            if cursor.node() == body {
                return if nodes >= MIN_NODES {
                    hasher.finish().max(1)
                } else {
                    0
                };
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
}
