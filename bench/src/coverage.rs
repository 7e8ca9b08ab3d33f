//! How many of a Rust tree's `fn` items the index knows: every `fn NAME` a plain text
//! search finds (outside `//` lines) against the functions and methods of that name the
//! index has in the same file. The misses are printed with where they are (a block
//! comment, a `macro_rules!` template, another macro's body): code inside macro
//! invocations (`cfg_rt! { … }`) is where an index built on a parser meets them, and
//! templates and comments hold no items, so the ratio without them is printed too.

use std::path::Path;

use anyhow::{bail, Context, Result};
use codecontext_analysis::{workspace::walk, AnalysisHost};

/// Misses printed.
const SHOWN: usize = 100;

pub fn run(dir: &Path) -> Result<()> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("{}", dir.display()))?;
    let mut host = AnalysisHost::default();
    host.index_root(&dir, None);
    let found = walk(&dir);
    let analysis = host.analysis();
    let g = analysis.graph();
    let (mut total, mut known) = (0usize, 0usize);
    let mut misses = Vec::new();
    let mut by_place: std::collections::BTreeMap<&str, usize> = Default::default();
    for f in found.files.iter().filter(|f| f.lang.name() == "rust") {
        let Ok(text) = std::fs::read_to_string(&f.path) else {
            continue;
        };
        let names: std::collections::HashMap<&str, usize> =
            match host.file_id(&f.path).and_then(|id| g.file_data(id)) {
                Some(data) => {
                    let mut counts = std::collections::HashMap::new();
                    for e in data.entities.iter().skip(1) {
                        if matches!(
                            e.kind,
                            codecontext_syntax::EntityKind::Function
                                | codecontext_syntax::EntityKind::Method
                                | codecontext_syntax::EntityKind::Constructor
                        ) {
                            *counts.entry(g.name(e.name)).or_default() += 1;
                        }
                    }
                    counts
                }
                None => Default::default(),
            };
        let tree =
            codecontext_syntax::parse(f.lang, &text, None, std::time::Duration::from_secs(5)).ok();
        // Every occurrence: (name, line, the macro it is in).
        let mut occurrences: Vec<(&str, usize, &'static str)> = Vec::new();
        let mut offset = 0;
        for (line_no, line) in text.lines().enumerate() {
            let line_start = offset;
            offset += line.len() + 1;
            if line.trim_start().starts_with("//") {
                continue;
            }
            for name in fn_names(line) {
                let column = line.find(&format!("fn {name}")).unwrap_or(0);
                let inside = tree
                    .as_ref()
                    .map_or("", |t| inside_macro(t, line_start + column));
                occurrences.push((name, line_no, inside));
            }
        }
        // Per name, the index's count covers the plain occurrences first: the misses
        // are told where they most likely are.
        occurrences.sort_by_key(|(name, line, inside)| (*name, !inside.is_empty(), *inside, *line));
        let mut used: std::collections::HashMap<&str, usize> = Default::default();
        for (name, line_no, inside) in occurrences {
            total += 1;
            let n = used.entry(name).or_default();
            *n += 1;
            if names.get(name).is_some_and(|have| *have >= *n) {
                known += 1;
                continue;
            }
            let rel = f.path.strip_prefix(&dir).unwrap_or(&f.path);
            *by_place
                .entry(if inside.is_empty() { "plain" } else { inside })
                .or_default() += 1;
            misses.push(format!(
                "{}:{}: fn {name}{}",
                rel.display(),
                line_no + 1,
                if inside.is_empty() {
                    String::new()
                } else {
                    format!(" (in a {inside})")
                }
            ));
        }
    }
    if total == 0 {
        bail!("no `fn NAME` in the Rust files of {}", dir.display());
    }
    println!(
        "fn items: {known} of {total} known to the index ({:.2}%, target >= 99%); {} missed",
        100.0 * known as f64 / total as f64,
        misses.len()
    );
    let not_items = by_place.get("macro_rules! template").copied().unwrap_or(0)
        + by_place.get("comment").copied().unwrap_or(0);
    println!(
        "misses by place: {by_place:?}; outside comments and macro_rules! templates: {} of {} ({:.2}%)",
        known,
        total - not_items,
        100.0 * known as f64 / (total - not_items) as f64
    );
    for m in misses.iter().take(SHOWN) {
        println!("  missed {m}");
    }
    if misses.len() > SHOWN {
        println!("  … and {} more", misses.len() - SHOWN);
    }
    Ok(())
}

/// What the byte at `offset` is inside: a comment, a `macro_rules!` template, another
/// macro's body (a token tree), or "" for none of them.
fn inside_macro(tree: &tree_sitter::Tree, offset: usize) -> &'static str {
    let mut node = tree.root_node().descendant_for_byte_range(offset, offset);
    let mut found = "";
    while let Some(n) = node {
        match n.kind() {
            "block_comment" | "line_comment" => return "comment",
            "macro_definition" => return "macro_rules! template",
            "macro_invocation" if found.is_empty() => found = "macro body",
            _ => {}
        }
        node = n.parent();
    }
    found
}

/// The names after `fn ` on a line (`fn name`, not `fn(` types), outside strings as far
/// as a line can tell.
fn fn_names(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(at) = line[from..].find("fn ") {
        let start = from + at;
        from = start + 3;
        let before_ok =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if !before_ok || line[..start].matches('"').count() % 2 == 1 {
            continue;
        }
        let rest = line[from..].trim_start();
        let name_len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        out.push(name);
    }
    out
}
