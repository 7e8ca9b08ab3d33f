//! Interned strings: every name, module key and type name in the graph is a [`Name`],
//! a `u32` that compares and hashes in one instruction.

use std::sync::Arc;

use rustc_hash::FxHashMap;

/// An interned string. Only meaningful together with the [`Interner`] that made it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Name(pub(crate) u32);

/// Maps strings to [`Name`]s and back. Names are never freed: a long session holds
/// every distinct identifier it has seen, which is bounded by the vocabulary of the code.
#[derive(Default, Clone)]
pub struct Interner {
    map: FxHashMap<Arc<str>, Name>,
    strings: Vec<Arc<str>>,
}

impl Interner {
    /// Approximate heap bytes held (for memory diagnostics).
    pub fn heap_size(&self) -> usize {
        let strings: usize = self.strings.iter().map(|s| s.len() + 16).sum();
        self.map.capacity() * (std::mem::size_of::<(Arc<str>, Name)>() + 1)
            + self.strings.capacity() * std::mem::size_of::<Arc<str>>()
            + strings
    }

    pub fn intern(&mut self, s: &str) -> Name {
        if let Some(&n) = self.map.get(s) {
            return n;
        }
        let arc: Arc<str> = Arc::from(s);
        let name = Name(self.strings.len() as u32);
        self.strings.push(arc.clone());
        self.map.insert(arc, name);
        name
    }

    /// The name of `s` if it was ever interned.
    pub fn get(&self, s: &str) -> Option<Name> {
        self.map.get(s).copied()
    }

    pub fn resolve(&self, name: Name) -> &str {
        &self.strings[name.0 as usize]
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}
