//! Which symbols a change to a file touched: both versions are parsed, the line diff
//! between them is mapped onto each definition's lines, and a definition whose lines hold
//! an inserted or deleted line changed (as `git log -L` sees a line range change).
//!
//! A definition is named by its key, the names of its containers and its own joined with
//! `.` (`Cart.total`), so that the same function is recognised in both versions wherever
//! it moved within the file.

use std::sync::Arc;

use codecontext_lang::Language;
use codecontext_syntax::{EntityKind, ExtractOptions, Limits};
use codecontext_text::LineIndex;
use serde::{Deserialize, Serialize};

use crate::anchor::Fingerprint;

/// A definition of one version of a file: its key, kind and lines (zero-based, both ends
/// included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Defined {
    pub key: String,
    pub kind: EntityKind,
    pub first_line: u32,
    pub last_line: u32,
    /// Its fingerprint in this version (see [`crate::anchor`]).
    pub fingerprint: Fingerprint,
}

/// The definitions of one version of a file, in document order.
pub type Outline = Arc<Vec<Defined>>;

/// Whether a definition is one whose history is kept: what has a body, and the types
/// that hold such things. Fields, variables and imports change with their containers.
pub fn is_tracked(kind: EntityKind) -> bool {
    matches!(
        kind,
        EntityKind::Function
            | EntityKind::Method
            | EntityKind::Constructor
            | EntityKind::Class
            | EntityKind::Struct
            | EntityKind::Enum
            | EntityKind::Union
            | EntityKind::Interface
            | EntityKind::Trait
            | EntityKind::Impl
            | EntityKind::TypeAlias
            | EntityKind::Macro
    )
}

/// The tracked definitions of `text`; empty when it does not parse within the limits.
pub fn outline(lang: &Language, text: &str, limits: &Limits) -> Outline {
    let Ok(summary) = codecontext_syntax::summarize(lang, text, limits, ExtractOptions::default())
    else {
        return Arc::default();
    };
    let lines = LineIndex::new(text);
    let line_of = |offset: u32| lines.line_col(offset).map_or(0, |lc| lc.line);
    let mut out = Vec::new();
    for chunk in &summary.chunks {
        let mut keys: Vec<String> = Vec::with_capacity(chunk.entities.len());
        for e in &chunk.entities {
            let key = match e.container.and_then(|c| keys.get(c as usize)) {
                Some(parent) if !parent.is_empty() => format!("{parent}.{}", e.name),
                _ => e.name.clone(),
            };
            keys.push(key.clone());
            if !is_tracked(e.kind) || e.name.is_empty() {
                continue;
            }
            let first_line = line_of(e.range.start);
            // A range ending at the start of a line ends on the line before.
            let end = e.range.end.max(e.range.start);
            let mut last_line = line_of(end);
            if last_line > first_line && lines.line_start(last_line) == Some(end) {
                last_line -= 1;
            }
            let body = text
                .get(e.range.start as usize..e.range.end as usize)
                .unwrap_or("");
            out.push(Defined {
                key,
                kind: e.kind,
                first_line,
                last_line,
                fingerprint: Fingerprint::of_symbol(&e.signature, body),
            });
        }
    }
    Arc::new(out)
}

/// What a change did to a definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    Added,
    Modified,
    Deleted,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            How::Added => "added",
            How::Modified => "modified",
            How::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> How {
        match s {
            "added" => How::Added,
            "deleted" => How::Deleted,
            _ => How::Modified,
        }
    }
}

/// A definition a change touched, with the lines added and removed inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Touched {
    pub key: String,
    pub kind: EntityKind,
    pub how: How,
    pub added: u32,
    pub removed: u32,
}

/// The lines a diff deletes from the old text and inserts into the new one (zero-based,
/// sorted).
fn changed_lines(old: &str, new: &str) -> (Vec<u32>, Vec<u32>) {
    let patch = diffy::DiffOptions::new()
        .set_context_len(0)
        .create_patch(old, new);
    let (mut deleted, mut inserted) = (Vec::new(), Vec::new());
    for hunk in patch.hunks() {
        // diffy's starts are 1-based; an empty range starts at the line before.
        let o = hunk.old_range();
        let n = hunk.new_range();
        let mut old_line = o.start().saturating_sub(1) as u32;
        let mut new_line = n.start().saturating_sub(1) as u32;
        if o.is_empty() {
            old_line = o.start() as u32;
        }
        if n.is_empty() {
            new_line = n.start() as u32;
        }
        for line in hunk.lines() {
            match line {
                diffy::Line::Context(_) => {
                    old_line += 1;
                    new_line += 1;
                }
                diffy::Line::Delete(_) => {
                    deleted.push(old_line);
                    old_line += 1;
                }
                diffy::Line::Insert(_) => {
                    inserted.push(new_line);
                    new_line += 1;
                }
            }
        }
    }
    (deleted, inserted)
}

/// How many of the sorted `lines` lie in `first..=last`.
fn count_in(lines: &[u32], first: u32, last: u32) -> u32 {
    let from = lines.partition_point(|l| *l < first);
    let to = lines.partition_point(|l| *l <= last);
    (to - from) as u32
}

/// The definitions a change from `old` to `new` touched (`None`: the file did not exist
/// on that side), given both versions' outlines; in the new version's order, then the
/// deleted ones.
pub fn touched(old: Option<(&str, &Outline)>, new: Option<(&str, &Outline)>) -> Vec<Touched> {
    let (deleted, inserted) = changed_lines(
        old.map_or("", |(text, _)| text),
        new.map_or("", |(text, _)| text),
    );
    let empty: Outline = Arc::default();
    let old_outline = old.map_or(&empty, |(_, o)| o);
    let new_outline = new.map_or(&empty, |(_, o)| o);
    // Each key's lines changed on either side; a key defined several times (overloads,
    // several impl blocks) adds up.
    let keys = |outline: &Outline| -> rustc_hash::FxHashSet<String> {
        outline.iter().map(|d| d.key.clone()).collect()
    };
    let (old_keys, new_keys) = (keys(old_outline), keys(new_outline));
    let mut out: Vec<Touched> = Vec::new();
    let mut index: rustc_hash::FxHashMap<String, usize> = rustc_hash::FxHashMap::default();
    // The new side's definitions count inserted lines, the old side's deleted ones; one
    // only on its side was added or deleted.
    let sides = [
        (new_outline, &inserted, &old_keys, How::Added),
        (old_outline, &deleted, &new_keys, How::Deleted),
    ];
    for (outline, lines, other_side, alone) in sides {
        for d in outline.iter() {
            let n = count_in(lines, d.first_line, d.last_line);
            let how = if other_side.contains(&d.key) {
                How::Modified
            } else {
                alone
            };
            let i = *index.entry(d.key.clone()).or_insert_with(|| {
                out.push(Touched {
                    key: d.key.clone(),
                    kind: d.kind,
                    how,
                    added: 0,
                    removed: 0,
                });
                out.len() - 1
            });
            if alone == How::Added {
                out[i].added += n;
            } else {
                out[i].removed += n;
            }
        }
    }
    out.retain(|t| t.added + t.removed > 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python() -> &'static Language {
        codecontext_lang::language_by_name("python").unwrap()
    }

    fn keys(text: &str) -> Vec<(String, u32, u32)> {
        outline(python(), text, &Limits::default())
            .iter()
            .map(|d| (d.key.clone(), d.first_line, d.last_line))
            .collect()
    }

    fn changes(old: Option<&str>, new: Option<&str>) -> Vec<(String, How, u32, u32)> {
        let limits = Limits::default();
        let o = old.map(|t| (t, outline(python(), t, &limits)));
        let n = new.map(|t| (t, outline(python(), t, &limits)));
        touched(
            o.as_ref().map(|(t, o)| (*t, o)),
            n.as_ref().map(|(t, o)| (*t, o)),
        )
        .into_iter()
        .map(|t| (t.key, t.how, t.added, t.removed))
        .collect()
    }

    const V1: &str = "def a():\n    return 1\n\n\nclass Cart:\n    def total(self):\n        return 2\n\n    def count(self):\n        return 3\n";

    #[test]
    fn outlines_name_members_by_their_container() {
        assert_eq!(
            keys(V1),
            [
                ("a".to_string(), 0, 1),
                ("Cart".to_string(), 4, 9),
                ("Cart.total".to_string(), 5, 6),
                ("Cart.count".to_string(), 8, 9),
            ]
        );
    }

    #[test]
    fn an_edit_touches_the_definitions_around_its_lines() {
        use How::*;
        // One line of one method: the method and its class.
        let v2 = V1.replace("return 2", "return 20");
        assert_eq!(
            changes(Some(V1), Some(&v2)),
            [
                ("Cart".into(), Modified, 1, 1),
                ("Cart.total".into(), Modified, 1, 1)
            ]
        );
        // A function added before the others: only it, though every line below moved.
        let v3 = format!("def b():\n    pass\n\n\n{V1}");
        assert_eq!(changes(Some(V1), Some(&v3)), [("b".into(), Added, 2, 0)]);
        // A method deleted.
        let v4 = V1.replace("\n    def count(self):\n        return 3\n", "");
        assert_eq!(
            changes(Some(V1), Some(&v4)),
            [
                ("Cart".into(), Modified, 0, 3),
                ("Cart.count".into(), Deleted, 0, 2)
            ]
        );
        // A new file: everything added; a deleted file: everything deleted.
        assert_eq!(changes(None, Some(V1)).len(), 4);
        assert!(changes(Some(V1), None).iter().all(|c| c.1 == Deleted));
        // Whitespace outside every definition touches none.
        assert_eq!(changes(Some(V1), Some(&format!("{V1}\n\n"))), []);
    }
}
