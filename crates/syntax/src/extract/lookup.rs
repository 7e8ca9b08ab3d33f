//! Range lookups in logarithmic time, for the questions chunk building asks once per
//! reference, binding or doc: is this range inside one of those ranges ([`Cover`]);
//! which is the last range starting before this one that reaches past its end
//! ([`LastReaching`]). Asked by scanning every range instead, each question costs the
//! number of ranges, and a chunk with many of both costs their product.

use codecontext_text::TextRange;

/// A set of ranges that says whether one of them holds a given range.
#[derive(Default)]
pub(super) struct Cover {
    /// Range starts, sorted.
    starts: Vec<u32>,
    /// `max_end[i]`: the greatest end among the ranges of `starts[..=i]`.
    max_end: Vec<u32>,
}

impl Cover {
    pub(super) fn new(ranges: impl IntoIterator<Item = TextRange>) -> Self {
        let mut ranges: Vec<TextRange> = ranges.into_iter().collect();
        ranges.sort_by_key(|r| r.start);
        let mut max_end = Vec::with_capacity(ranges.len());
        let mut end = 0;
        for r in &ranges {
            end = end.max(r.end);
            max_end.push(end);
        }
        Cover {
            starts: ranges.iter().map(|r| r.start).collect(),
            max_end,
        }
    }

    /// True when some range of the set holds `range` (`contains_range`).
    pub(super) fn holds(&self, range: TextRange) -> bool {
        let before = self.starts.partition_point(|&s| s <= range.start);
        before > 0 && self.max_end[before - 1] >= range.end
    }
}

/// A list of values (range ends) that finds the last index before a bound whose
/// value reaches a threshold; values can be cleared (taken). A max segment tree.
pub(super) struct LastReaching {
    /// Leaves start at `leaves`, each a value plus one (0: none, or cleared); node `k`
    /// holds the maximum of nodes `2k` and `2k + 1`.
    tree: Vec<u64>,
    leaves: usize,
    len: usize,
}

impl LastReaching {
    pub(super) fn new(values: impl ExactSizeIterator<Item = u32>) -> Self {
        let len = values.len();
        let leaves = len.next_power_of_two();
        let mut tree = vec![0; 2 * leaves];
        for (i, v) in values.enumerate() {
            tree[leaves + i] = u64::from(v) + 1;
        }
        for k in (1..leaves).rev() {
            tree[k] = tree[2 * k].max(tree[2 * k + 1]);
        }
        LastReaching { tree, leaves, len }
    }

    /// Takes index `i` out of later answers.
    pub(super) fn clear(&mut self, i: usize) {
        let mut k = self.leaves + i;
        self.tree[k] = 0;
        while k > 1 {
            k /= 2;
            self.tree[k] = self.tree[2 * k].max(self.tree[2 * k + 1]);
        }
    }

    /// The greatest index below `bound`, not cleared, whose value is at least `min`.
    pub(super) fn last_before(&self, bound: usize, min: u32) -> Option<usize> {
        self.find(1, 0, self.leaves, bound.min(self.len), u64::from(min) + 1)
    }

    fn find(&self, node: usize, lo: usize, hi: usize, bound: usize, min: u64) -> Option<usize> {
        if lo >= bound || self.tree[node] < min {
            return None;
        }
        if hi - lo == 1 {
            return Some(lo);
        }
        let mid = (lo + hi) / 2;
        self.find(2 * node + 1, mid, hi, bound, min)
            .or_else(|| self.find(2 * node, lo, mid, bound, min))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cover_is_any_contains_range() {
        let ranges =
            [(0, 4), (2, 9), (3, 5), (12, 12), (20, 30)].map(|(s, e)| TextRange::new(s, e));
        let cover = Cover::new(ranges);
        for start in 0..32 {
            for end in start..32 {
                let r = TextRange::new(start, end);
                let expected = ranges.iter().any(|c| c.contains_range(r));
                assert_eq!(cover.holds(r), expected, "{r:?}");
            }
        }
        assert!(!Cover::default().holds(TextRange::new(0, 0)));
    }

    #[test]
    fn last_reaching_is_a_backward_scan() {
        let values = [5u32, 0, 9, 3, 9, 1, 7];
        let mut tree = LastReaching::new(values.iter().copied());
        let mut cleared = [false; 7];
        for step in 0..3 {
            for bound in 0..=8 {
                for min in 0..=10 {
                    let expected = (0..bound.min(values.len()))
                        .rev()
                        .find(|&i| !cleared[i] && values[i] >= min);
                    assert_eq!(tree.last_before(bound, min), expected, "{bound} {min}");
                }
            }
            tree.clear(2 * step + 1);
            cleared[2 * step + 1] = true;
        }
        assert_eq!(
            LastReaching::new(std::iter::empty()).last_before(3, 0),
            None
        );
    }
}
