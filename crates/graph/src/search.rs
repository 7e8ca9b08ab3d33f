//! Symbol search over the distinct names of the workspace: exact (case-sensitive, then
//! case-insensitive), prefix (an ordered set), and fuzzy (nucleo's matcher behind a
//! bitmask prefilter that skips names lacking a character of the query).

use std::collections::{BTreeSet, BinaryHeap};

use nucleo_matcher::{
    pattern::{AtomKind, CaseMatching, Normalization, Pattern},
    Config, Matcher, Utf32Str,
};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::intern::Name;

/// How a query matches names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchMode {
    Exact,
    Prefix,
    Fuzzy,
}

#[derive(Clone)]
struct NameEntry {
    name: Name,
    text: Box<str>,
    mask: u64,
}

/// Bit per character class: `a`-`z` (case-folded), `0`-`9`, `_`, and "other".
fn char_mask(s: &str) -> u64 {
    let mut m = 0u64;
    for c in s.chars() {
        let bit = match c.to_ascii_lowercase() {
            c @ 'a'..='z' => c as u32 - 'a' as u32,
            c @ '0'..='9' => 26 + c as u32 - '0' as u32,
            '_' => 36,
            _ => 37,
        };
        m |= 1 << bit;
    }
    m
}

/// The distinct names of defined entities, indexed for search.
#[derive(Clone, Default)]
pub struct SymbolIndex {
    entries: Vec<NameEntry>,
    slot: FxHashMap<Name, u32>,
    lower: FxHashMap<Box<str>, SmallVec<[Name; 1]>>,
    sorted: BTreeSet<(Box<str>, Name)>,
}

/// A name that matched, with its score (higher is better).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NameMatch {
    pub score: u32,
    pub name: Name,
}

impl SymbolIndex {
    /// Approximate heap bytes held (for memory diagnostics).
    pub fn heap_size(&self) -> usize {
        use std::mem::size_of;
        let texts: usize = self.entries.iter().map(|e| e.text.len()).sum();
        self.entries.capacity() * size_of::<NameEntry>()
            + self.slot.capacity() * (size_of::<(Name, u32)>() + 1)
            + self.lower.capacity() * (size_of::<(Box<str>, SmallVec<[Name; 1]>)>() + 1)
            + self.sorted.len() * (size_of::<(Box<str>, Name)>() + 8)
            + 3 * texts
    }

    pub(crate) fn add_name(&mut self, name: Name, text: &str) {
        if self.slot.contains_key(&name) {
            return;
        }
        self.slot.insert(name, self.entries.len() as u32);
        self.entries.push(NameEntry {
            name,
            text: text.into(),
            mask: char_mask(text),
        });
        let lower: Box<str> = text.to_lowercase().into();
        self.lower.entry(lower.clone()).or_default().push(name);
        self.sorted.insert((lower, name));
    }

    pub(crate) fn remove_name(&mut self, name: Name) {
        let Some(slot) = self.slot.remove(&name) else {
            return;
        };
        let entry = self.entries.swap_remove(slot as usize);
        if let Some(moved) = self.entries.get(slot as usize) {
            self.slot.insert(moved.name, slot);
        }
        let lower: Box<str> = entry.text.to_lowercase().into();
        if let Some(list) = self.lower.get_mut(&lower) {
            list.retain(|n| *n != name);
            if list.is_empty() {
                self.lower.remove(&lower);
            }
        }
        self.sorted.remove(&(lower, name));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Names matching `query`, best first, at most `limit`.
    pub fn search(&self, query: &str, mode: SearchMode, limit: usize) -> Vec<NameMatch> {
        let query = query.trim();
        if limit == 0 {
            return Vec::new();
        }
        if query.is_empty() {
            // "All symbols" (LSP clients open their symbol pickers this way): the
            // first names in alphabetical order, up to the limit.
            if mode == SearchMode::Exact {
                return Vec::new();
            }
            return self
                .sorted
                .iter()
                .take(limit)
                .map(|(_, name)| NameMatch {
                    score: 0,
                    name: *name,
                })
                .collect();
        }
        let lower = query.to_lowercase();
        match mode {
            SearchMode::Exact => self
                .lower
                .get(lower.as_str())
                .into_iter()
                .flatten()
                .map(|&name| NameMatch {
                    score: if self.text(name) == Some(query) { 2 } else { 1 },
                    name,
                })
                .collect::<Vec<_>>()
                .into_iter()
                .take(limit)
                .collect(),
            SearchMode::Prefix => {
                let mut out: Vec<NameMatch> = self
                    .sorted
                    .range((Box::<str>::from(lower.as_str()), Name(0))..)
                    .take_while(|(l, _)| l.starts_with(lower.as_str()))
                    .take(limit.saturating_mul(8))
                    .map(|(l, name)| NameMatch {
                        score: u32::MAX - l.len() as u32,
                        name: *name,
                    })
                    .collect();
                out.sort_by(|a, b| b.score.cmp(&a.score).then(a.name.cmp(&b.name)));
                out.truncate(limit);
                out
            }
            SearchMode::Fuzzy => self.fuzzy(query, &lower, limit),
        }
    }

    fn text(&self, name: Name) -> Option<&str> {
        self.slot
            .get(&name)
            .map(|&s| &*self.entries[s as usize].text)
    }

    fn fuzzy(&self, query: &str, lower: &str, limit: usize) -> Vec<NameMatch> {
        let need = char_mask(query);
        let mut matcher = Matcher::new(Config::DEFAULT);
        let pattern = Pattern::new(
            query,
            CaseMatching::Smart,
            Normalization::Smart,
            AtomKind::Fuzzy,
        );
        let mut buf = Vec::new();
        // A min-heap of the best `limit` matches.
        let mut heap: BinaryHeap<std::cmp::Reverse<(u32, std::cmp::Reverse<u32>, Name)>> =
            BinaryHeap::with_capacity(limit + 1);
        for e in &self.entries {
            if e.mask & need != need || e.text.len() < query.len() {
                continue;
            }
            let hay = Utf32Str::new(&e.text, &mut buf);
            let Some(score) = pattern.score(hay, &mut matcher) else {
                continue;
            };
            let text_lower_eq = e.text.eq_ignore_ascii_case(lower);
            let prefix = e.text.len() >= lower.len()
                && e.text.is_char_boundary(lower.len())
                && e.text[..lower.len()].eq_ignore_ascii_case(lower);
            let bonus = if text_lower_eq {
                1 << 20
            } else if prefix {
                1 << 18
            } else {
                0
            };
            let key = (
                score + bonus,
                std::cmp::Reverse(e.text.len() as u32),
                e.name,
            );
            if heap.len() < limit {
                heap.push(std::cmp::Reverse(key));
            } else if let Some(std::cmp::Reverse(min)) = heap.peek() {
                if key > *min {
                    heap.pop();
                    heap.push(std::cmp::Reverse(key));
                }
            }
        }
        let mut out: Vec<_> = heap.into_iter().map(|std::cmp::Reverse(k)| k).collect();
        out.sort_by(|a, b| b.cmp(a));
        out.into_iter()
            .map(|(score, _, name)| NameMatch { score, name })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intern::Interner;

    fn index(names: &[&str]) -> (SymbolIndex, Interner) {
        let mut interner = Interner::default();
        let mut idx = SymbolIndex::default();
        for n in names {
            let name = interner.intern(n);
            idx.add_name(name, n);
        }
        (idx, interner)
    }

    fn texts(idx: &SymbolIndex, i: &Interner, q: &str, mode: SearchMode) -> Vec<String> {
        idx.search(q, mode, 10)
            .into_iter()
            .map(|m| i.resolve(m.name).to_string())
            .collect()
    }

    #[test]
    fn fuzzy_prefers_exact_then_prefix_then_scattered() {
        let (idx, i) = index(&[
            "get_user",
            "GetUser",
            "forget_user_data",
            "user",
            "getusers",
        ]);
        let got = texts(&idx, &i, "getuser", SearchMode::Fuzzy);
        assert_eq!(got[0], "GetUser");
        assert!(got.contains(&"forget_user_data".to_string()));
        assert_eq!(
            texts(&idx, &i, "get", SearchMode::Prefix),
            vec!["GetUser", "get_user", "getusers"]
        );
        assert_eq!(texts(&idx, &i, "user", SearchMode::Exact), vec!["user"]);
    }

    #[test]
    fn removal_keeps_slots_consistent() {
        let (mut idx, mut i) = index(&["alpha", "beta", "gamma"]);
        let beta = i.intern("beta");
        idx.remove_name(beta);
        assert!(texts(&idx, &i, "beta", SearchMode::Fuzzy).is_empty());
        assert_eq!(texts(&idx, &i, "gamma", SearchMode::Exact), vec!["gamma"]);
        assert_eq!(idx.len(), 2);
    }
}
