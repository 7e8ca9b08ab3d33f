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

/// Whether definitions of a kind may share a key in one file as different things
/// (overload signatures, a function defined in both branches of an `if`): the second and
/// later are told apart by their order.
fn is_overloadable(kind: EntityKind) -> bool {
    matches!(
        kind,
        EntityKind::Function | EntityKind::Method | EntityKind::Constructor
    )
}

/// The keys of a file's definitions, given in document order as (kind, name, index of
/// the container in the same list): the containers' keys and the name joined with `.`;
/// the second and later function-like definitions of one key in the file get `#2`,
/// `#3`, … (and their members inherit it). Types keep their key however often they
/// appear (several `impl` blocks of one type are one history).
pub fn keys_of<'a>(
    defs: impl IntoIterator<Item = (EntityKind, &'a str, Option<usize>)>,
) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut seen: rustc_hash::FxHashMap<String, u32> = rustc_hash::FxHashMap::default();
    for (kind, name, container) in defs {
        let mut key = match container.and_then(|c| keys.get(c)) {
            Some(parent) if !parent.is_empty() => format!("{parent}.{name}"),
            _ => name.to_string(),
        };
        if is_overloadable(kind) && !name.is_empty() {
            let n = seen.entry(key.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                key = format!("{key}#{n}");
            }
        }
        keys.push(key);
    }
    keys
}

/// The tracked definitions of `text`; empty when it does not parse within the limits.
pub fn outline(lang: &Language, text: &str, limits: &Limits) -> Outline {
    let Ok(summary) = codecontext_syntax::summarize(lang, text, limits, ExtractOptions::default())
    else {
        return Arc::default();
    };
    let lines = LineIndex::new(text);
    let line_of = |offset: u32| lines.line_col(offset).map_or(0, |lc| lc.line);
    // Containers are numbered within their chunk; the keys, within the file.
    let mut flat = Vec::new();
    for chunk in &summary.chunks {
        let base = flat.len();
        flat.extend(
            chunk
                .entities
                .iter()
                .map(|e| (e, e.container.map(|c| base + c as usize))),
        );
    }
    let keys = keys_of(flat.iter().map(|(e, c)| (e.kind, e.name.as_str(), *c)));
    let mut out = Vec::new();
    for ((e, _), key) in flat.iter().zip(keys) {
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

/// What a change did to one file's definitions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileDiff {
    /// The definitions it touched, in the new version's order, then the deleted ones.
    pub touched: Vec<Touched>,
    /// The definitions it renamed, (old key, new key), containers before their members
    /// (whose keys follow their container's without a pair of their own).
    pub renamed: Vec<(String, String)>,
    /// The lines of the new version the change inserted (zero-based, sorted).
    pub inserted: Vec<u32>,
}

/// For each line of the old text left unchanged, the line it is in the new one.
fn kept_lines(old_len: u32, deleted: &[u32], inserted: &[u32]) -> Vec<Option<u32>> {
    let mut map = vec![None; old_len as usize];
    let (mut d, mut i, mut new_line) = (0, 0, 0u32);
    for (old_line, slot) in map.iter_mut().enumerate() {
        if deleted.get(d) == Some(&(old_line as u32)) {
            d += 1;
            continue;
        }
        while inserted.get(i) == Some(&new_line) {
            i += 1;
            new_line += 1;
        }
        *slot = Some(new_line);
        new_line += 1;
    }
    map
}

/// `key` with its leading `from` (whole segments) replaced by `to`: the key of a member
/// of a renamed container.
pub fn rebase(key: &str, from: &str, to: &str) -> Option<String> {
    let rest = key.strip_prefix(from)?;
    (rest.is_empty() || rest.starts_with('.')).then(|| format!("{to}{rest}"))
}

/// The definitions a change from `old` to `new` touched (`None`: the file did not exist
/// on that side), given both versions' outlines.
///
/// A definition only in the old version whose unchanged lines make up at least half of
/// a definition of the same kind only in the new one (and half of itself) was renamed,
/// as `git log -L` follows lines whatever their names: it is one history, modified, and
/// so are its members under their new container's key.
pub fn touched(old: Option<(&str, &Outline)>, new: Option<(&str, &Outline)>) -> FileDiff {
    let old_text = old.map_or("", |(text, _)| text);
    let (deleted, inserted) = changed_lines(old_text, new.map_or("", |(text, _)| text));
    let empty: Outline = Arc::default();
    let old_outline = old.map_or(&empty, |(_, o)| o);
    let new_outline = new.map_or(&empty, |(_, o)| o);
    let keys = |outline: &Outline| -> rustc_hash::FxHashSet<String> {
        outline.iter().map(|d| d.key.clone()).collect()
    };
    let (old_keys, new_keys) = (keys(old_outline), keys(new_outline));

    // Renames: old-only definitions against new-only ones of the same kind, containers
    // first; a member of a renamed container follows it.
    let mut renamed: Vec<(String, String)> = Vec::new();
    let new_only: Vec<&Defined> = new_outline
        .iter()
        .filter(|d| !old_keys.contains(&d.key))
        .collect();
    if old.is_some() && !new_only.is_empty() {
        let kept = kept_lines(old_text.lines().count() as u32 + 1, &deleted, &inserted);
        let mut taken: rustc_hash::FxHashSet<&str> = rustc_hash::FxHashSet::default();
        for d in old_outline.iter().filter(|d| !new_keys.contains(&d.key)) {
            if renamed
                .iter()
                .any(|(from, _)| rebase(&d.key, from, "").is_some())
            {
                continue;
            }
            let moved: Vec<u32> = (d.first_line..=d.last_line)
                .filter_map(|l| kept.get(l as usize).copied().flatten())
                .collect();
            let (Some(&low), Some(&high)) = (moved.first(), moved.last()) else {
                continue;
            };
            let best = new_only
                .iter()
                .filter(|n| n.kind == d.kind && !taken.contains(n.key.as_str()))
                .filter(|n| n.first_line <= high && n.last_line >= low)
                .map(|n| (count_in(&moved, n.first_line, n.last_line), *n))
                .max_by_key(|(common, _)| *common);
            if let Some((common, n)) = best {
                let longest = (d.last_line - d.first_line).max(n.last_line - n.first_line) + 1;
                if common * 2 >= longest {
                    taken.insert(n.key.as_str());
                    renamed.push((d.key.clone(), n.key.clone()));
                }
            }
        }
    }
    // An old key's name in the new version.
    let now = |key: &str| -> String {
        renamed
            .iter()
            .find_map(|(from, to)| rebase(key, from, to))
            .unwrap_or_else(|| key.to_string())
    };

    let mut out: Vec<Touched> = Vec::new();
    let mut index: rustc_hash::FxHashMap<String, usize> = rustc_hash::FxHashMap::default();
    let old_now: rustc_hash::FxHashSet<String> = old_keys.iter().map(|k| now(k)).collect();
    // The new side's definitions count inserted lines, the old side's deleted ones (under
    // their new keys); one only on its side was added or deleted. A key defined several
    // times (several impl blocks) adds up.
    for d in new_outline.iter() {
        let how = if old_now.contains(&d.key) {
            How::Modified
        } else {
            How::Added
        };
        let n = count_in(&inserted, d.first_line, d.last_line);
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
        out[i].added += n;
    }
    for d in old_outline.iter() {
        let n = count_in(&deleted, d.first_line, d.last_line);
        let key = now(&d.key);
        let i = *index.entry(key.clone()).or_insert_with(|| {
            out.push(Touched {
                key,
                kind: d.kind,
                how: How::Deleted,
                added: 0,
                removed: 0,
            });
            out.len() - 1
        });
        out[i].removed += n;
    }
    out.retain(|t| t.added + t.removed > 0);
    FileDiff {
        touched: out,
        renamed,
        inserted,
    }
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
        .touched
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

    #[test]
    fn overloads_are_told_apart_by_their_order() {
        let text = "class C:\n    @overload\n    def f(self, x: int) -> int: ...\n    @overload\n    def f(self, x: str) -> str: ...\n    def f(self, x):\n        return x\n";
        let found: Vec<String> = keys(text).into_iter().map(|k| k.0).collect();
        assert_eq!(found, ["C", "C.f", "C.f#2", "C.f#3"]);
        // An edit of the implementation touches it, not the stubs.
        let edited = text.replace("return x", "return x * 2");
        let touched: Vec<String> = changes(Some(text), Some(&edited))
            .into_iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(touched, ["C", "C.f#3"]);
    }

    #[test]
    fn a_renamed_definition_keeps_its_history_and_so_do_its_members() {
        let limits = Limits::default();
        let v2 = V1.replace("class Cart:", "class Basket:");
        let (o, n) = (
            outline(python(), V1, &limits),
            outline(python(), &v2, &limits),
        );
        let diff = touched(Some((V1, &o)), Some((&v2, &n)));
        assert_eq!(diff.renamed, [("Cart".to_string(), "Basket".to_string())]);
        // One history, modified on its first line; the methods did not change.
        assert_eq!(
            changes(Some(V1), Some(&v2)),
            [("Basket".into(), How::Modified, 1, 1)]
        );
        // A function replaced by an unrelated one of another name is not a rename.
        let v3 = V1.replace(
            "def a():\n    return 1",
            "def b():\n    x = 5\n    y = 6\n    return x + y",
        );
        let n3 = outline(python(), &v3, &limits);
        assert!(touched(Some((V1, &o)), Some((&v3, &n3))).renamed.is_empty());
        assert_eq!(
            rebase("Cart.total", "Cart", "Basket").as_deref(),
            Some("Basket.total")
        );
        assert_eq!(rebase("Carts.total", "Cart", "Basket"), None);
    }
}
