//! Ancestors and earlier siblings of the nodes of one chunk, without `Node::parent`.
//!
//! tree-sitter nodes do not store their parent: `Node::parent` (and `prev_sibling`,
//! which starts with it) walks down from the root on every call, so it costs the
//! node's depth. Asked for every definition of a chunk nested a thousand deep, that is
//! the square of the depth. [`Ancestry`] keeps the path of the last node it was asked
//! about and extends it from the deepest ancestor the next node shares with it, so
//! nodes asked about in document order cost about one walk down the chunk's tree.

use tree_sitter::Node;

/// The path from the root to the last node asked about, reused for the next one.
pub(super) struct Ancestry<'a, 't> {
    root: Node<'t>,
    /// The root's children in the chunk, in order.
    tops: &'a [Node<'t>],
    /// The root, the ancestors of the last node asked about (outermost first), then
    /// that node.
    path: Vec<Node<'t>>,
    /// Node kinds that [`Self::marked_ancestors`] lists.
    marked_kinds: &'a [[String; 2]],
    /// Per node of `path`: the position in `path` of the nearest node at or above it
    /// whose kind is marked.
    marks: Vec<Option<usize>>,
}

impl<'a, 't> Ancestry<'a, 't> {
    /// `tops` are the children of `root` in the chunk whose nodes will be asked about,
    /// in order (nodes outside them are answered too, more slowly). The first element of
    /// each pair of `marked_kinds` is a node kind that [`Self::marked_ancestors`] lists
    /// (the language's `import_prefix`).
    pub(super) fn new(
        root: Node<'t>,
        tops: &'a [Node<'t>],
        marked_kinds: &'a [[String; 2]],
    ) -> Self {
        let mut ancestry = Ancestry {
            root,
            tops,
            path: Vec::new(),
            marked_kinds,
            marks: Vec::new(),
        };
        ancestry.push(root);
        ancestry
    }

    fn push(&mut self, node: Node<'t>) {
        let marked = self.marked_kinds.iter().any(|[k, _]| k == node.kind());
        let mark = if marked {
            Some(self.path.len())
        } else {
            self.marks.last().copied().flatten()
        };
        self.path.push(node);
        self.marks.push(mark);
    }

    fn truncate(&mut self, len: usize) {
        self.path.truncate(len);
        self.marks.truncate(len);
    }

    /// The ancestors of `node` whose kind is marked, innermost first, at most `limit`
    /// of them; the root is not one. Costs the number of them, not the depth.
    pub(super) fn marked_ancestors(&mut self, node: Node<'t>, limit: usize) -> Vec<Node<'t>> {
        let parent = self.ancestors(node).len().checked_sub(1);
        let mut out = Vec::new();
        let mut mark = parent.and_then(|p| self.marks[p]);
        while let Some(m) = mark.filter(|&m| m > 0 && out.len() < limit) {
            out.push(self.path[m]);
            mark = m.checked_sub(1).and_then(|above| self.marks[above]);
        }
        out
    }

    pub(super) fn root(&self) -> Node<'t> {
        self.root
    }

    /// The ancestors of `node`, the root first and its parent last; empty for the root.
    pub(super) fn ancestors(&mut self, node: Node<'t>) -> &[Node<'t>] {
        // Keep the part of the path that can hold `node`, then walk down to it. A path
        // node whose range holds `node` is not always its ancestor (an empty node where
        // a sibling ends): then the walk fails and the path is cut one node shorter.
        while self.path.len() > 1 && !holds(self.path[self.path.len() - 1], node) {
            self.truncate(self.path.len() - 1);
        }
        while !self.walk_down_to(node) {
            if self.path.len() == 1 {
                // Not under this chunk's top nodes: from the root, as `Node::parent` does.
                self.walk_from(self.root, node);
                break;
            }
            self.truncate(self.path.len() - 1);
        }
        let end = self.path.len() - 1;
        &self.path[..end]
    }

    /// The parent of `node` (`None` for the root).
    pub(super) fn parent(&mut self, node: Node<'t>) -> Option<Node<'t>> {
        self.ancestors(node).last().copied()
    }

    /// Extends the path from its last node down to `node`; false if that last node is
    /// not `node` or one of its ancestors (the path is then left as it was).
    fn walk_down_to(&mut self, node: Node<'t>) -> bool {
        let Some(&last) = self.path.last() else {
            return false;
        };
        if last.id() == node.id() {
            return true;
        }
        if self.path.len() == 1 {
            // At the root: start from the top node that holds `node`.
            let Some(top) = self.top_holding(node) else {
                return false;
            };
            self.push(top);
            if top.id() == node.id() {
                return true;
            }
            if self.walk_from(top, node) {
                return true;
            }
            self.truncate(1);
            return false;
        }
        let len = self.path.len();
        if self.walk_from(last, node) {
            return true;
        }
        self.truncate(len);
        false
    }

    /// Pushes the nodes from below `from` (the path's last node) down to `node`; false
    /// if `node` is not under `from`.
    fn walk_from(&mut self, from: Node<'t>, node: Node<'t>) -> bool {
        let mut current = from;
        while current.id() != node.id() {
            match current.child_with_descendant(node) {
                Some(child) => {
                    self.push(child);
                    current = child;
                }
                None => return false,
            }
        }
        true
    }

    /// The top node that is `node` or holds it.
    fn top_holding(&self, node: Node<'t>) -> Option<Node<'t>> {
        let start = node.start_byte();
        let first = self.tops.partition_point(|t| t.end_byte() < start);
        self.tops[first..]
            .iter()
            .take_while(|t| t.start_byte() <= start)
            .find(|t| {
                t.id() == node.id() || (holds(**t, node) && t.child_with_descendant(node).is_some())
            })
            .copied()
    }

    /// The siblings before `node`, nearest first. `parent` is its parent, from
    /// [`Self::ancestors`]. Among the root's children only those of the chunk are
    /// listed.
    pub(super) fn earlier_siblings(
        &self,
        node: Node<'t>,
        parent: Option<Node<'t>>,
    ) -> EarlierSiblings<'a, 't> {
        let Some(parent) = parent else {
            return EarlierSiblings::Done;
        };
        if parent.id() == self.root.id() {
            let start = node.start_byte();
            let first = self.tops.partition_point(|t| t.start_byte() < start);
            if let Some(i) = self.tops[first..]
                .iter()
                .take_while(|t| t.start_byte() == start)
                .position(|t| t.id() == node.id())
            {
                return EarlierSiblings::Tops(self.tops[..first + i].iter().rev());
            }
            return EarlierSiblings::Slow(node);
        }
        // A cursor under the parent finds `node` in about the log of the number of
        // children (repetitions are balanced subtrees), where a linear scan would not.
        let mut cursor = parent.walk();
        if cursor
            .goto_first_child_for_byte(node.start_byte())
            .is_some()
            && cursor.node().id() == node.id()
        {
            return EarlierSiblings::Cursor(cursor);
        }
        // An empty node, which the cursor steps over: ask the node itself.
        EarlierSiblings::Slow(node)
    }
}

/// The siblings before a node, nearest first (see [`Ancestry::earlier_siblings`]).
pub(super) enum EarlierSiblings<'a, 't> {
    Tops(std::iter::Rev<std::slice::Iter<'a, Node<'t>>>),
    Cursor(tree_sitter::TreeCursor<'t>),
    Slow(Node<'t>),
    Done,
}

impl<'t> Iterator for EarlierSiblings<'_, 't> {
    type Item = Node<'t>;

    fn next(&mut self) -> Option<Node<'t>> {
        match self {
            EarlierSiblings::Tops(it) => it.next().copied(),
            EarlierSiblings::Cursor(cursor) => {
                cursor.goto_previous_sibling().then(|| cursor.node())
            }
            EarlierSiblings::Slow(node) => {
                let prev = node.prev_sibling()?;
                *node = prev;
                Some(prev)
            }
            EarlierSiblings::Done => None,
        }
    }
}

/// True when the range of `outer` holds that of `inner`.
fn holds(outer: Node<'_>, inner: Node<'_>) -> bool {
    outer.start_byte() <= inner.start_byte() && inner.end_byte() <= outer.end_byte()
}
