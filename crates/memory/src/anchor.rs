//! Anchors: a symbol's fingerprint when a memory was made, and what became of it.
//!
//! A memory is about code. When it is made, each symbol it is about is fingerprinted:
//! the hash of its signature and the hash of its whole text with whitespace runs
//! collapsed (reindenting or rewrapping a function does not change what it does). When
//! the memory is recalled, the fingerprints are compared with the code as it is now: a
//! symbol whose text changed makes the memory `suspect` (it may no longer hold), a
//! symbol that is gone makes it `orphaned` once no anchor is left.

use serde::{Deserialize, Serialize};

/// What a memory's anchor points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorKind {
    /// A symbol of the graph, by qualified name (and file).
    Symbol,
    /// A whole file, by path relative to its workspace folder.
    File,
}

/// The hashes of a symbol's (or a file's) text at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// xxh3 of the signature with whitespace collapsed; 0 for a file.
    pub signature: u64,
    /// xxh3 of the whole text with whitespace collapsed.
    pub body: u64,
}

impl Fingerprint {
    /// The fingerprint of a symbol from its signature and its whole text.
    pub fn of_symbol(signature: &str, text: &str) -> Fingerprint {
        Fingerprint {
            signature: collapsed_hash(signature),
            body: collapsed_hash(text),
        }
    }

    /// The fingerprint of a file from its text.
    pub fn of_file(text: &str) -> Fingerprint {
        Fingerprint {
            signature: 0,
            body: collapsed_hash(text),
        }
    }
}

/// xxh3 of the words of `text` (runs of non-whitespace), each followed by one space: the
/// same for two texts that differ only in how they are spaced or wrapped.
fn collapsed_hash(text: &str) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for word in text.split_whitespace() {
        hasher.update(word.as_bytes());
        hasher.update(b" ");
    }
    hasher.digest()
}

/// What became of an anchored symbol since its fingerprint was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Drift {
    /// Its text is as it was.
    Same,
    /// Its body changed, its signature did not.
    BodyChanged,
    /// Its signature changed (and so its text).
    SignatureChanged,
    /// It is not in the code any more.
    Gone,
}

impl Drift {
    /// Compares the fingerprint taken then with the one of the code now (`None`: gone).
    pub fn between(then: Fingerprint, now: Option<Fingerprint>) -> Drift {
        match now {
            None => Drift::Gone,
            Some(now) if now.signature != then.signature => Drift::SignatureChanged,
            Some(now) if now.body != then.body => Drift::BodyChanged,
            Some(_) => Drift::Same,
        }
    }
}

/// Whether a memory still holds, as far as the code can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every anchored symbol is as it was (or nothing is anchored).
    Current,
    /// Some anchored symbol changed or is gone since: the memory may no longer hold.
    Suspect,
    /// Every anchored symbol is gone.
    Orphaned,
    /// A later record replaced it.
    Superseded,
    /// Someone asked to forget it; kept for the record of what held when.
    Forgotten,
}

impl Status {
    /// The status of a memory from what became of each of its anchors.
    pub fn of(forgotten: bool, superseded: bool, drifts: &[Drift]) -> Status {
        if forgotten {
            Status::Forgotten
        } else if superseded {
            Status::Superseded
        } else if !drifts.is_empty() && drifts.iter().all(|d| *d == Drift::Gone) {
            Status::Orphaned
        } else if drifts.iter().any(|d| *d != Drift::Same) {
            Status::Suspect
        } else {
            Status::Current
        }
    }

    /// Its name, as in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Current => "current",
            Status::Suspect => "suspect",
            Status::Orphaned => "orphaned",
            Status::Superseded => "superseded",
            Status::Forgotten => "forgotten",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_does_not_change_a_fingerprint_but_words_do() {
        let a = Fingerprint::of_symbol("fn f(x: u32)", "fn f(x: u32) {\n    x + 1\n}");
        let b = Fingerprint::of_symbol("fn  f(x: u32)", "fn f(x: u32) { x + 1 }");
        assert_eq!(a, b);
        let c = Fingerprint::of_symbol("fn f(x: u32)", "fn f(x: u32) { x + 2 }");
        assert_eq!(a.signature, c.signature);
        assert_ne!(a.body, c.body);
        // Words are not glued together: "ab c" is not "a bc".
        assert_ne!(Fingerprint::of_file("ab c"), Fingerprint::of_file("a bc"));
    }

    #[test]
    fn drift_and_status() {
        let then = Fingerprint::of_symbol("fn f()", "fn f() { 1 }");
        let body = Fingerprint::of_symbol("fn f()", "fn f() { 2 }");
        let sig = Fingerprint::of_symbol("fn f(x: u8)", "fn f(x: u8) { 1 }");
        assert_eq!(Drift::between(then, Some(then)), Drift::Same);
        assert_eq!(Drift::between(then, Some(body)), Drift::BodyChanged);
        assert_eq!(Drift::between(then, Some(sig)), Drift::SignatureChanged);
        assert_eq!(Drift::between(then, None), Drift::Gone);

        use Drift::*;
        assert_eq!(Status::of(false, false, &[]), Status::Current);
        assert_eq!(Status::of(false, false, &[Same, Same]), Status::Current);
        assert_eq!(
            Status::of(false, false, &[Same, BodyChanged]),
            Status::Suspect
        );
        assert_eq!(Status::of(false, false, &[Same, Gone]), Status::Suspect);
        assert_eq!(Status::of(false, false, &[Gone, Gone]), Status::Orphaned);
        assert_eq!(Status::of(false, true, &[Gone]), Status::Superseded);
        assert_eq!(Status::of(true, true, &[Same]), Status::Forgotten);
    }
}
