//! Structural search over the languages of the registry.
//!
//! A search is written as code with metavariables, as ast-grep does (`$X.unwrap()`,
//! `requests.get($URL)`), as an ast-grep rule (a pattern with constraints), or as a raw
//! tree-sitter query. The matching is ast-grep's own (`ast-grep-core` and
//! `ast-grep-config`, built on the same tree-sitter as the rest of CodeContext), so a
//! pattern means here what it means to the `ast-grep` CLI; this crate adds our grammars
//! ([`SgLang`], from `codecontext-lang`), the words a match must contain (the index's
//! prefilter, see `codecontext_text::tokens`), and results in plain types ([`Found`]).
//!
//! Where the files come from (the index, open documents, disk) is the workspace's
//! business, not this crate's.

mod lang;
mod query;
pub mod rules;

pub use lang::SgLang;
pub use query::{pattern_tokens, Captured, Found, Query, QueryError};

/// Parses `text` as `lang` without a time budget: for tests and small inputs. The
/// workspace parses with its budgets (`codecontext_syntax::parse`).
pub fn parse(lang: SgLang, text: &str) -> Option<tree_sitter::Tree> {
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(lang.language().grammar()).ok()?;
    parser.parse(text, None)
}

/// Whether a matcher's hits lie each inside one top-level item of a file and depend on
/// that item's text alone, so that the item can be parsed and matched on its own: the
/// matcher cannot match the file's root (its kinds are known and exclude the root's),
/// and `siblings` (it uses `follows` or `precedes`, which may look at other items) is
/// false.
fn item_local(lang: SgLang, matcher: &impl ast_grep_core::Matcher, siblings: bool) -> bool {
    let root = parse(lang, "").map(|t| t.root_node().kind_id());
    !siblings
        && root.is_some_and(|root| {
            matcher
                .potential_kinds()
                .is_some_and(|kinds| !kinds.contains(root.into()))
        })
}

/// Whether `value` has one of `keys` as an object key at any depth.
fn has_key(value: &serde_json::Value, keys: &[&str]) -> bool {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(k, v)| keys.contains(&k.as_str()) || has_key(v, keys)),
        serde_json::Value::Array(items) => items.iter().any(|v| has_key(v, keys)),
        _ => false,
    }
}

/// The keys of a rule that relate a node to its siblings.
const SIBLING_KEYS: &[&str] = &["follows", "precedes"];

/// A rule written in YAML (or JSON, which YAML reads too), as a JSON value for
/// [`Query::rule`].
pub fn read_rule(text: &str) -> Result<serde_json::Value, QueryError> {
    ast_grep_config::from_str::<serde_json::Value>(text)
        .map_err(|e| QueryError::Rule(e.to_string()))
}
