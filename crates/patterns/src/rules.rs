//! Project rules: `.codecontext/rules/*.yml` in ast-grep's rule format (`id`, `language`,
//! `rule`, `constraints`, `message`, `severity`, `note`, `fix`, `url`), each checked
//! against a document to give [`Hit`]s, with the fix as an edit when the rule has one.
//!
//! A file is read document by document (`---` separates them): a document that does not
//! parse or compile is a [`RuleError`] with its file and line, and the other documents,
//! and the other files, keep working.

use std::path::{Path, PathBuf};

use ast_grep_config::{GlobalRules, RuleConfig, SerializableRuleConfig, Severity as SgSeverity};
use ast_grep_core::{tree_sitter::StrDoc, AstGrep};
use codecontext_text::TextRange;
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
    pub file: PathBuf,
    pub severity: Severity,
    /// Words every hit contains (see `Query::tokens`).
    pub tokens: Vec<u32>,
    config: RuleConfig<SgLang>,
}

impl ProjectRule {
    pub fn lang(&self) -> SgLang {
        self.config.language
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
                match RuleConfig::try_from(parsed, &globals) {
                    Ok(config) => out.rules.push(ProjectRule {
                        id,
                        file: file.clone(),
                        severity,
                        tokens,
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

    /// [`Rules::check`] with only the rules `keep` keeps (those whose words a file has).
    pub fn check_some(
        &self,
        lang: SgLang,
        tree: &tree_sitter::Tree,
        text: &str,
        keep: impl Fn(&ProjectRule) -> bool,
    ) -> Vec<Hit> {
        let mine: Vec<&ProjectRule> = self
            .rules
            .iter()
            .filter(|r| r.config.language == lang && keep(r))
            .collect();
        if mine.is_empty() {
            return Vec::new();
        }
        let grep = AstGrep::doc(StrDoc {
            src: text.to_string(),
            lang,
            tree: tree.clone(),
        });
        let mut hits = Vec::new();
        for rule in mine {
            for m in grep.root().find_all(&rule.config.matcher) {
                let fix = rule.config.fixer.first().map(|fixer| {
                    let edit = m.make_edit(&rule.config.matcher, fixer);
                    Fix {
                        range: TextRange::new(
                            edit.position as u32,
                            (edit.position + edit.deleted_length) as u32,
                        ),
                        text: String::from_utf8_lossy(&edit.inserted_text).into_owned(),
                        title: fixer.title().map(str::to_string),
                    }
                });
                let message = rule.config.get_message(&m);
                hits.push(Hit {
                    rule: rule.id.clone(),
                    severity: rule.severity,
                    message: if message.is_empty() {
                        rule.id.clone()
                    } else {
                        message
                    },
                    note: rule.config.note.clone(),
                    url: rule.config.url.clone(),
                    range: TextRange::from_usize(m.range()),
                    fix,
                });
            }
        }
        hits.sort_by_key(|h| (h.range.start, h.range.end));
        hits
    }
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
