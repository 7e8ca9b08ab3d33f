//! A compiled search ([`Query`]): an ast-grep pattern, an ast-grep rule (a pattern with
//! constraints: `kind`, `regex`, `inside`, `has`, `not`, ...), or a raw tree-sitter
//! query; and the matches it finds in one syntax tree.

use std::collections::BTreeMap;

use ast_grep_config::{DeserializeEnv, RuleCore, SerializableRuleCore};
use ast_grep_core::{
    meta_var::MetaVariable, tree_sitter::StrDoc, AstGrep, Matcher, NodeMatch, Pattern,
};
use codecontext_text::{tokens, TextRange};
use serde::Serialize;

use crate::SgLang;

/// Why a search cannot be compiled; every message says what to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("unknown language `{name}` (known: {known})")]
    UnknownLanguage { name: String, known: String },
    #[error("the pattern is empty")]
    Empty,
    #[error("the pattern `{pattern}` is not valid {language}: {message}")]
    Pattern {
        pattern: String,
        language: &'static str,
        message: String,
    },
    #[error("the rule is not valid: {0}")]
    Rule(String),
    #[error("the tree-sitter query does not compile for {language}: {message} (row {row}, column {column})")]
    TreeSitter {
        language: &'static str,
        message: String,
        row: usize,
        column: usize,
    },
}

enum Compiled {
    Pattern(Pattern),
    Rule(Box<RuleCore>),
    TreeSitter(tree_sitter::Query),
}

/// A search, compiled for one language.
pub struct Query {
    lang: SgLang,
    compiled: Compiled,
    /// Words every match must contain (hashed, sorted): a file lacking one of them
    /// cannot match. Empty when nothing is certain (a pattern of metavariables only).
    tokens: Vec<u32>,
    /// What the user should know about the query (a pattern that parses only with
    /// errors may match less than it says).
    warnings: Vec<String>,
    /// Its matches can be found one top-level item at a time (see [`Query::is_local`]).
    local: bool,
}

/// One metavariable's capture in a match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Captured {
    /// From the first captured node's start to the last one's end.
    pub range: TextRange,
    pub text: String,
    /// `$$$ARGS` (any number of nodes) rather than `$X` (one).
    pub multi: bool,
}

/// One match in a tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Found {
    pub range: TextRange,
    pub text: String,
    /// By metavariable name (`X` for `$X`, the capture name of a tree-sitter query).
    pub captures: BTreeMap<String, Captured>,
}

impl Found {
    /// The match moved by `by` bytes (found in a part of a text that starts there).
    pub fn shifted(mut self, by: i64) -> Found {
        self.range = self.range.shifted(by);
        for capture in self.captures.values_mut() {
            capture.range = capture.range.shifted(by);
        }
        self
    }
}

/// Words of `pattern` outside its metavariables (`$X`, `$$$ARGS`, `$_`).
pub fn pattern_tokens(pattern: &str) -> Vec<u32> {
    let mut out: Vec<u32> = tokens::words(pattern)
        .filter(|&(at, word)| {
            let after_dollar = at > 0 && pattern.as_bytes()[at - 1] == b'$';
            let meta_name = word
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && !word.starts_with(|c: char| c.is_ascii_digit());
            !(after_dollar && meta_name)
        })
        .map(|(_, word)| tokens::token_hash(word))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

impl Query {
    /// An ast-grep pattern: code with metavariables (`$X.unwrap()`).
    pub fn pattern(lang: SgLang, source: &str) -> Result<Query, QueryError> {
        if source.trim().is_empty() {
            return Err(QueryError::Empty);
        }
        let invalid = |message: String| QueryError::Pattern {
            pattern: source.to_string(),
            language: lang.name(),
            message,
        };
        let mut pattern = Pattern::try_new(source, lang).map_err(|e| invalid(e.to_string()))?;
        if let Some(contextual) = reparse(lang, &pattern, source) {
            pattern = contextual;
        }
        if pattern.has_error() {
            return Err(invalid("it does not parse (a syntax error)".to_string()));
        }
        let mut warnings = Vec::new();
        let processed = ast_grep_core::Language::pre_process_pattern(&lang, source);
        if let Some(at) = crate::parse(lang, &processed).and_then(|t| first_error(&t)) {
            warnings.push(format!(
                "the pattern `{source}` has a syntax error as {} at byte {at}: \
                 that part matches only the same erroneous code",
                lang.name()
            ));
        }
        Ok(Query {
            lang,
            local: crate::item_local(lang, &pattern, false),
            compiled: Compiled::Pattern(pattern),
            tokens: pattern_tokens(source),
            warnings,
        })
    }

    /// An ast-grep rule, as the `rule:` (with `constraints:` and `utils:`) of its rule
    /// files: `{"rule": {"pattern": "$X.unwrap()", "inside": {"kind": "function_item"}}}`.
    /// A bare rule object (`{"pattern": ..., "inside": ...}`) is taken as `{"rule": it}`.
    pub fn rule(lang: SgLang, rule: &serde_json::Value) -> Result<Query, QueryError> {
        let core = if rule.get("rule").is_some() {
            rule.clone()
        } else {
            serde_json::json!({ "rule": rule })
        };
        let core: SerializableRuleCore =
            serde_json::from_value(core).map_err(|e| QueryError::Rule(e.to_string()))?;
        let tokens = rule_tokens(&serde_json::to_value(&core.rule).unwrap_or_default());
        let siblings = [
            serde_json::to_value(&core.rule).ok(),
            serde_json::to_value(&core.utils).ok(),
            serde_json::to_value(&core.constraints).ok(),
        ]
        .iter()
        .flatten()
        .any(|v| crate::has_key(v, crate::SIBLING_KEYS));
        let matcher = core
            .get_matcher(DeserializeEnv::new(lang))
            .map_err(|e| QueryError::Rule(error_chain(&e)))?;
        Ok(Query {
            lang,
            local: crate::item_local(lang, &matcher, siblings),
            compiled: Compiled::Rule(Box::new(matcher)),
            tokens,
            warnings: Vec::new(),
        })
    }

    /// A raw tree-sitter query. Each match is its `@match` capture when it has one,
    /// else the span of its captures; every capture is reported by name.
    pub fn tree_sitter(lang: SgLang, source: &str) -> Result<Query, QueryError> {
        if source.trim().is_empty() {
            return Err(QueryError::Empty);
        }
        let query = tree_sitter::Query::new(lang.language().grammar(), source).map_err(|e| {
            QueryError::TreeSitter {
                language: lang.name(),
                message: format!("{:?}: {}", e.kind, e.message),
                row: e.row + 1,
                column: e.column + 1,
            }
        })?;
        Ok(Query {
            lang,
            compiled: Compiled::TreeSitter(query),
            tokens: Vec::new(),
            warnings: Vec::new(),
            // A query may match the root, or siblings across items (`(a) . (b)`).
            local: false,
        })
    }

    /// Whether every match lies inside one top-level item of its file and depends on
    /// that item's text alone, so that a search may parse only the items that hold the
    /// query's words: true for patterns and for rules without `follows` / `precedes`
    /// that cannot match the file's root; false for tree-sitter queries.
    pub fn is_local(&self) -> bool {
        self.local
    }

    /// See [`Query::warnings`](struct.Query.html#structfield.warnings).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn lang(&self) -> SgLang {
        self.lang
    }

    /// See [`Query::tokens`](struct.Query.html#structfield.tokens).
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Whether a text whose word set (sorted hashes) is `set` may match.
    pub fn may_match(&self, set: &[u32]) -> bool {
        self.tokens.iter().all(|&t| tokens::has_token(set, t))
    }

    /// The matches in `tree` (parsed from `text` in this query's language), in
    /// document order, at most `limit`.
    pub fn find(&self, tree: &tree_sitter::Tree, text: &str, limit: usize) -> Vec<Found> {
        match &self.compiled {
            Compiled::Pattern(pattern) => self.find_ast_grep(pattern, tree, text, limit),
            Compiled::Rule(rule) => self.find_ast_grep(rule.as_ref(), tree, text, limit),
            Compiled::TreeSitter(query) => find_tree_sitter(query, tree, text, limit),
        }
    }

    fn find_ast_grep<M: Matcher>(
        &self,
        matcher: &M,
        tree: &tree_sitter::Tree,
        text: &str,
        limit: usize,
    ) -> Vec<Found> {
        let doc = StrDoc {
            src: text.to_string(),
            lang: self.lang,
            tree: tree.clone(),
        };
        let grep = AstGrep::doc(doc);
        grep.root()
            .find_all(matcher)
            .take(limit)
            .map(|m| found(&m, text))
            .collect()
    }
}

fn found(m: &NodeMatch<'_, StrDoc<SgLang>>, text: &str) -> Found {
    let range = TextRange::from_usize(m.range());
    let env = m.get_env();
    let mut captures = BTreeMap::new();
    for var in env.get_matched_variables() {
        let (name, nodes, multi) = match var {
            MetaVariable::Capture(name, _) => {
                let Some(node) = env.get_match(&name) else {
                    continue;
                };
                let node = node.clone();
                (name, vec![node], false)
            }
            MetaVariable::MultiCapture(name) => {
                let nodes = env.get_multiple_matches(&name);
                (name, nodes, true)
            }
            _ => continue,
        };
        let span = match (nodes.first(), nodes.last()) {
            (Some(first), Some(last)) => {
                TextRange::new(first.range().start as u32, last.range().end as u32)
            }
            // `$$$ARGS` matched nothing: an empty capture where the match starts.
            _ => TextRange::empty(range.start),
        };
        captures.insert(
            name,
            Captured {
                range: span,
                text: text[span.as_usize()].to_string(),
                multi,
            },
        );
    }
    Found {
        range,
        text: text[range.as_usize()].to_string(),
        captures,
    }
}

fn find_tree_sitter(
    query: &tree_sitter::Query,
    tree: &tree_sitter::Tree,
    text: &str,
    limit: usize,
) -> Vec<Found> {
    use tree_sitter::StreamingIterator;
    let names = query.capture_names();
    let whole = names.iter().position(|n| *n == "match");
    let mut cursor = tree_sitter::QueryCursor::new();
    let mut matches = cursor.matches(query, tree.root_node(), text.as_bytes());
    let mut out: Vec<Found> = Vec::new();
    while let Some(m) = matches.next() {
        if out.len() >= limit {
            break;
        }
        if m.captures().is_empty() {
            continue;
        }
        let mut captures = BTreeMap::new();
        let mut span: Option<TextRange> = None;
        for c in m.captures() {
            let r = TextRange::from_usize(c.node.byte_range());
            span = Some(match span {
                None => r,
                Some(s) => TextRange::new(s.start.min(r.start), s.end.max(r.end)),
            });
            let name = names[c.index as usize].to_string();
            captures.entry(name).or_insert_with(|| Captured {
                range: r,
                text: text[r.as_usize()].to_string(),
                multi: false,
            });
        }
        let range = match whole {
            Some(i) => m
                .captures()
                .iter()
                .find(|c| c.index as usize == i)
                .map(|c| TextRange::from_usize(c.node.byte_range())),
            None => span,
        };
        let Some(range) = range else { continue };
        out.push(Found {
            range,
            text: text[range.as_usize()].to_string(),
            captures,
        });
    }
    // Matches come in the order their patterns start; answers are in document order.
    out.sort_by_key(|f| (f.range.start, std::cmp::Reverse(f.range.end)));
    out.dedup_by_key(|f| f.range);
    out
}

/// The start of the first `ERROR` node in what a pattern matches with: below the chain
/// of single children from the root, as ast-grep picks the pattern's node (a Go
/// expression alone is an error as a file, but not as the expression it holds).
/// `MISSING` nodes do not count: an expression alone lacks the `;` a statement would
/// end with, and that costs the match nothing.
fn first_error(tree: &tree_sitter::Tree) -> Option<usize> {
    let mut node = tree.root_node();
    loop {
        let single = match node.child_count() {
            1 => true,
            2 => node
                .child(1)
                .is_some_and(|c| c.is_missing() || c.kind().is_empty()),
            _ => false,
        };
        match node.child(0) {
            Some(child) if single => node = child,
            _ => break,
        }
    }
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        if node.is_error() {
            return Some(node.start_byte());
        }
        if node.has_error() {
            let mut cursor = node.walk();
            let children: Vec<_> = node.children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
    }
    None
}

/// The pattern parsed again in the context the language gives for what its node is alone
/// (see `[search] reparse` in language.toml), when it is such a node.
fn reparse(lang: SgLang, pattern: &Pattern, source: &str) -> Option<Pattern> {
    use ast_grep_core::{matcher::PatternNode, Language as _};
    let kind = match &pattern.node {
        PatternNode::Internal { kind_id, .. } | PatternNode::Terminal { kind_id, .. } => *kind_id,
        PatternNode::MetaVar { .. } => return None,
    };
    let rule = lang
        .language()
        .config
        .search
        .reparse
        .iter()
        .find(|r| lang.kind_to_id(&r.kind) == kind)?;
    let context = format!("{}{source}{}", rule.context[0], rule.context[1]);
    Pattern::contextual(&context, &rule.selector, lang).ok()
}

/// Words every match of a rule must contain: those of its `pattern` when it is a plain
/// string, and of each plain-string pattern it requires with `all`. Anything else
/// (`any`, `not`, a pattern object with its own strictness or context) promises
/// nothing.
pub(crate) fn rule_tokens(rule: &serde_json::Value) -> Vec<u32> {
    let mut out = Vec::new();
    if let Some(pattern) = rule.get("pattern").and_then(|p| p.as_str()) {
        out.extend(pattern_tokens(pattern));
    }
    if let Some(all) = rule.get("all").and_then(|a| a.as_array()) {
        for sub in all {
            out.extend(rule_tokens(sub));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// An error and its causes, in one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
