//! Project rules: `.codecontext/rules/*.yml` in ast-grep's rule format (`id`, `language`,
//! `rule`, `constraints`, `message`, `severity`, `note`, `fix`, `url`), each checked
//! against a document to give [`Hit`]s, with the fix as an edit when the rule has one.
//!
//! A file is read document by document (`---` separates them): a document that does not
//! parse or compile is a [`RuleError`] with its file and line, and the other documents,
//! and the other files, keep working.

use std::path::{Path, PathBuf};

use ast_grep_config::{GlobalRules, RuleConfig, SerializableRuleConfig, Severity as SgSeverity};
use ast_grep_core::{matcher::MatcherExt, tree_sitter::StrDoc, AstGrep, Matcher, Node, NodeMatch};
use codecontext_text::TextRange;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Serialize;

use crate::SgLang;

/// Where project rules live, relative to a folder.
pub const RULES_DIR: &str = ".codecontext/rules";

/// How much a hit matters (a rule's `severity`; `off` rules are dropped on load).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Hint,
    Info,
    Warning,
    Error,
}

/// One rule, compiled.
pub struct ProjectRule {
    pub id: String,
    /// The rule file it came from, relative to its folder.
    pub file: PathBuf,
    pub severity: Severity,
    /// Words every hit contains (see `Query::tokens`).
    pub tokens: Vec<u32>,
    /// Its `files` globs (`None`: every file of its language) and its `ignores`.
    files: Option<GlobSet>,
    ignores: Option<GlobSet>,
    /// Its hits can be found one top-level item at a time (see [`ProjectRule::is_local`]).
    local: bool,
    config: RuleConfig<SgLang>,
}

impl ProjectRule {
    pub fn lang(&self) -> SgLang {
        self.config.language
    }

    /// Whether the rule applies to the file at `rel` (relative to its folder), by its
    /// `files` and `ignores` globs as ast-grep reads them: ignored wins, then `files`
    /// (when given) must match.
    pub fn applies_to(&self, rel: &Path) -> bool {
        if self.ignores.as_ref().is_some_and(|g| g.is_match(rel)) {
            return false;
        }
        self.files.as_ref().is_none_or(|g| g.is_match(rel))
    }

    /// Whether the rule's hits in a top-level item depend on that item's text alone, so
    /// that it can be checked one item at a time ([`Rules::check_items`]): it does not
    /// look at siblings (`follows`, `precedes`), and cannot match the file's root.
    pub fn is_local(&self) -> bool {
        self.local
    }

    fn hit(&self, m: &NodeMatch<'_, StrDoc<SgLang>>) -> Hit {
        let fix = self.config.fixer.first().map(|fixer| {
            let edit = m.make_edit(&self.config.matcher, fixer);
            Fix {
                range: TextRange::new(
                    edit.position as u32,
                    (edit.position + edit.deleted_length) as u32,
                ),
                text: String::from_utf8_lossy(&edit.inserted_text).into_owned(),
                title: fixer.title().map(str::to_string),
            }
        });
        let message = self.config.get_message(m);
        Hit {
            rule: self.id.clone(),
            severity: self.severity,
            message: if message.is_empty() {
                self.id.clone()
            } else {
                message
            },
            note: self.config.note.clone(),
            url: self.config.url.clone(),
            range: TextRange::from_usize(m.range()),
            fix,
        }
    }
}

/// A rule document that does not load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleError {
    pub file: PathBuf,
    /// 1-based, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// A rule's fix for one hit: replace `range` with `text`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub range: TextRange,
    pub text: String,
    /// The fix's own title, if the rule gave one.
    pub title: Option<String>,
}

impl Hit {
    /// The hit moved by `by` bytes (found in a part of a text that starts there).
    pub fn shifted(mut self, by: i64) -> Hit {
        self.range = self.range.shifted(by);
        if let Some(fix) = &mut self.fix {
            fix.range = fix.range.shifted(by);
        }
        self
    }
}

/// Where a rule matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hit {
    pub rule: String,
    pub severity: Severity,
    /// The rule's message with its metavariables filled in.
    pub message: String,
    pub note: Option<String>,
    pub url: Option<String>,
    pub range: TextRange,
    pub fix: Option<Fix>,
}

/// The rules of one folder, and what did not load.
#[derive(Default)]
pub struct Rules {
    pub rules: Vec<ProjectRule>,
    pub errors: Vec<RuleError>,
}

/// Whether `path` is a rule file of some folder (under `.codecontext/rules/`).
pub fn is_rule_file(path: &Path) -> bool {
    let in_rules = path.parent().is_some_and(|dir| dir.ends_with(RULES_DIR));
    let yaml = path.extension().is_some_and(|e| e == "yml" || e == "yaml");
    in_rules && yaml
}

impl Rules {
    /// The rules of the folder `root`: every `*.yml` and `*.yaml` of its rules folder, in
    /// name order, their files relative to `root`. No folder: no rules.
    pub fn load(root: &Path) -> Rules {
        let dir = root.join(RULES_DIR);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Rules::default();
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_rule_file(p))
            .collect();
        paths.sort();
        let mut files = Vec::new();
        let mut errors = Vec::new();
        for path in paths {
            match std::fs::read_to_string(&path) {
                Ok(text) => files.push((path, text)),
                Err(e) => errors.push(RuleError {
                    file: path,
                    line: None,
                    message: format!("cannot read it: {e}"),
                }),
            }
        }
        let mut rules = Rules::from_sources(&files);
        errors.append(&mut rules.errors);
        rules.errors = errors;
        // Said relative to the folder, as every other answer names files.
        let relative = |p: &mut PathBuf| {
            if let Ok(rel) = p.strip_prefix(root) {
                *p = rel.to_path_buf();
            }
        };
        rules.errors.iter_mut().for_each(|e| relative(&mut e.file));
        rules.rules.iter_mut().for_each(|r| relative(&mut r.file));
        rules
    }

    /// Rules from `(file, text)` pairs.
    pub fn from_sources(files: &[(PathBuf, String)]) -> Rules {
        let mut out = Rules::default();
        let globals = GlobalRules::default();
        for (file, text) in files {
            for (line, doc) in documents(text) {
                if doc.trim().is_empty()
                    || doc
                        .lines()
                        .all(|l| l.trim_start().starts_with('#') || l.trim().is_empty())
                {
                    continue;
                }
                let error = |message: String, at: Option<usize>| RuleError {
                    file: file.clone(),
                    line: Some(line + at.unwrap_or(1) - 1),
                    message,
                };
                let parsed: SerializableRuleConfig<SgLang> = match ast_grep_config::from_str(doc) {
                    Ok(parsed) => parsed,
                    Err(e) => {
                        let (message, at) = yaml_error(&e);
                        out.errors.push(error(message, at));
                        continue;
                    }
                };
                let id = parsed.id.clone();
                let severity = match parsed.severity {
                    SgSeverity::Off => continue,
                    SgSeverity::Hint => Severity::Hint,
                    SgSeverity::Info => Severity::Info,
                    SgSeverity::Warning => Severity::Warning,
                    SgSeverity::Error => Severity::Error,
                };
                if id.is_empty() {
                    out.errors
                        .push(error("the rule has no `id`".to_string(), None));
                    continue;
                }
                let tokens = crate::query::rule_tokens(
                    &serde_json::to_value(&parsed.core.rule).unwrap_or_default(),
                );
                let siblings = [
                    serde_json::to_value(&parsed.core.rule).ok(),
                    serde_json::to_value(&parsed.core.utils).ok(),
                    serde_json::to_value(&parsed.core.constraints).ok(),
                ]
                .iter()
                .flatten()
                .any(|v| crate::has_key(v, crate::SIBLING_KEYS));
                // As JSON: ast-grep-config does not export the globs' type.
                let globs = |which: &str, globs: serde_json::Result<serde_json::Value>| {
                    glob_set(&globs.unwrap_or_default()).map_err(|e| {
                        let at = doc
                            .lines()
                            .position(|l| l.starts_with(&format!("{which}:")))
                            .map(|i| i + 1);
                        error(format!("rule `{id}`: its `{which}`: {e}"), at)
                    })
                };
                let (files, ignores) = match (
                    globs("files", serde_json::to_value(&parsed.files)),
                    globs("ignores", serde_json::to_value(&parsed.ignores)),
                ) {
                    (Ok(files), Ok(ignores)) => (files, ignores),
                    (Err(e), _) | (_, Err(e)) => {
                        out.errors.push(e);
                        continue;
                    }
                };
                let lang = parsed.language;
                match RuleConfig::try_from(parsed, &globals) {
                    Ok(config) => out.rules.push(ProjectRule {
                        id,
                        file: file.clone(),
                        severity,
                        tokens,
                        files,
                        ignores,
                        local: crate::item_local(lang, &config.matcher, siblings),
                        config,
                    }),
                    Err(e) => out.errors.push(error(
                        format!("rule `{id}`: {}", crate::query::error_chain(&e)),
                        None,
                    )),
                }
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The hits of every rule of `lang` in `tree` (parsed from `text`), in document order.
    pub fn check(&self, lang: SgLang, tree: &tree_sitter::Tree, text: &str) -> Vec<Hit> {
        self.check_some(lang, tree, text, |_| true)
    }

    /// [`Rules::check`] with only the rules `keep` keeps (those whose words a file has,
    /// whose globs take the file).
    pub fn check_some(
        &self,
        lang: SgLang,
        tree: &tree_sitter::Tree,
        text: &str,
        keep: impl Fn(&ProjectRule) -> bool,
    ) -> Vec<Hit> {
        self.check_within(lang, tree, text, None, keep)
    }

    /// The hits of the rules `keep` keeps inside `items`: ranges of top-level items of
    /// `tree` (whole children of its root, in order). Nodes outside them, the root
    /// among them, are not looked at; see [`ProjectRule::is_local`] for the rules this
    /// gives the same hits as [`Rules::check`] for.
    pub fn check_items(
        &self,
        lang: SgLang,
        tree: &tree_sitter::Tree,
        text: &str,
        items: &[TextRange],
        keep: impl Fn(&ProjectRule) -> bool,
    ) -> Vec<Hit> {
        self.check_within(lang, tree, text, Some(items), keep)
    }

    /// One walk over the nodes (of `items`, or all), each tried against every rule
    /// that can match its kind.
    fn check_within(
        &self,
        lang: SgLang,
        tree: &tree_sitter::Tree,
        text: &str,
        items: Option<&[TextRange]>,
        keep: impl Fn(&ProjectRule) -> bool,
    ) -> Vec<Hit> {
        let mine: Vec<(&ProjectRule, _)> = self
            .rules
            .iter()
            .filter(|r| r.config.language == lang && keep(r))
            .map(|r| (r, r.config.matcher.potential_kinds()))
            .collect();
        if mine.is_empty() || items.is_some_and(<[_]>::is_empty) {
            return Vec::new();
        }
        let grep = AstGrep::doc(StrDoc {
            src: text.to_string(),
            lang,
            tree: tree.clone(),
        });
        let mut hits = Vec::new();
        let mut walk = |top: Node<'_, StrDoc<SgLang>>| {
            for node in top.dfs() {
                let kind = node.kind_id() as usize;
                for (order, (rule, kinds)) in mine.iter().enumerate() {
                    if kinds.as_ref().is_some_and(|k| !k.contains(kind)) {
                        continue;
                    }
                    if let Some(m) = rule.config.matcher.match_node(node.clone()) {
                        hits.push((order, rule.hit(&m)));
                    }
                }
            }
        };
        let root = grep.root();
        match items {
            None => walk(root),
            Some(items) => {
                for child in root.children() {
                    let range = TextRange::from_usize(child.range());
                    let i = items.partition_point(|item| item.end < range.end);
                    if items.get(i).is_some_and(|item| item.contains_range(range)) {
                        walk(child);
                    }
                }
            }
        }
        // In document order, and in the rules' order where two hit the same text.
        hits.sort_by_key(|(order, h)| (h.range.start, h.range.end, *order));
        hits.into_iter().map(|(_, h)| h).collect()
    }
}

/// The glob set of a rule's `files` or `ignores` (`None` when it has none): each entry
/// a glob, or `{glob, caseInsensitive}`.
fn glob_set(globs: &serde_json::Value) -> Result<Option<GlobSet>, globset::Error> {
    let Some(globs) = globs.as_array() else {
        return Ok(None);
    };
    let mut set = GlobSetBuilder::new();
    for glob in globs {
        let (pattern, case_insensitive) = match glob {
            serde_json::Value::String(glob) => (glob.as_str(), false),
            other => (
                other["glob"].as_str().unwrap_or_default(),
                other["caseInsensitive"].as_bool().unwrap_or(false),
            ),
        };
        set.add(
            GlobBuilder::new(pattern)
                .case_insensitive(case_insensitive)
                .build()?,
        );
    }
    set.build().map(Some)
}

/// The YAML documents of a file with the 1-based line each starts on.
fn documents(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_end() == "---" {
            out.push((start_line, &text[start..offset]));
            start = offset + line.len();
            start_line = i + 2;
        }
        offset += line.len();
    }
    out.push((start_line, &text[start..]));
    out
}

/// A YAML error's message and the 1-based line in its document it points at.
fn yaml_error(e: &dyn std::error::Error) -> (String, Option<usize>) {
    let message = crate::query::error_chain(e);
    // The YAML reader says where: "... at line L, column C" or "line L column C".
    let line = message.split("line ").nth(1).and_then(|rest| {
        rest.split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
    });
    (message, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_start_where_their_lines_do() {
        let docs = documents("a: 1\n---\nb: 2\nc: 3\n---\nd: 4\n");
        assert_eq!(docs, [(1, "a: 1\n"), (3, "b: 2\nc: 3\n"), (6, "d: 4\n")]);
    }

    #[test]
    fn rule_files_are_yaml_under_the_rules_folder() {
        assert!(is_rule_file(Path::new("/p/.codecontext/rules/a.yml")));
        assert!(is_rule_file(Path::new("/p/.codecontext/rules/b.yaml")));
        assert!(!is_rule_file(Path::new("/p/.codecontext/rules/notes.md")));
        assert!(!is_rule_file(Path::new("/p/rules/a.yml")));
    }
}
