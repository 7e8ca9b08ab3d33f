//! The language registry.
//!
//! Each language is data: a tree-sitter grammar, a `language.toml` with its settings
//! ([`LanguageConfig`]), and query files under `queries/<lang>/` that say what to
//! extract (`tags.scm`: definitions and references; `locals.scm`: scopes and local
//! bindings; `imports.scm`: import statements). The registry is generated at build time
//! from the query folders (see `build.rs`), so adding a language touches no Rust code.
//!
//! Queries of a language that `inherits` others are the concatenation of the inherited
//! queries and its own, compiled into one [`tree_sitter::Query`] so that a single pass
//! over a syntax tree yields every capture.

use std::{path::Path, sync::OnceLock};

use serde::Deserialize;

mod config;

pub use config::{is_known_capture, DEFINITION_KINDS, PLAIN_CAPTURES, REFERENCE_KINDS};

pub use config::{ItemMacros, LanguageConfig, ModuleScheme, QualityKinds, Reparse, SearchSyntax};

/// One language as compiled into the binary, before its queries are compiled.
pub(crate) struct LanguageSource {
    pub(crate) name: &'static str,
    pub(crate) grammar: fn() -> tree_sitter::Language,
    pub(crate) config: &'static str,
    pub(crate) tags: &'static str,
    pub(crate) locals: &'static str,
    pub(crate) imports: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/registry.rs"));

/// Index of a language in the registry; cheap to copy and store per file.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct LanguageId(pub u8);

/// A language whose settings and grammar are loaded; queries compile on first use.
pub struct Language {
    pub id: LanguageId,
    pub config: LanguageConfig,
    grammar: tree_sitter::Language,
    query_source: String,
    query: OnceLock<Result<tree_sitter::Query, QueryError>>,
}

/// A query file that does not compile against its grammar.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("queries of {language} do not compile: {message} (row {row}, column {column} of the combined query)")]
pub struct QueryError {
    pub language: String,
    pub message: String,
    pub row: usize,
    pub column: usize,
}

/// A `language.toml` that does not parse, or names an unknown parent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("queries/{language}/language.toml: {message}")]
pub struct ConfigError {
    pub language: String,
    pub message: String,
}

impl Language {
    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn grammar(&self) -> &tree_sitter::Language {
        &self.grammar
    }

    /// The combined query of this language (its inherited queries first).
    pub fn query(&self) -> Result<&tree_sitter::Query, QueryError> {
        self.query
            .get_or_init(|| {
                tree_sitter::Query::new(&self.grammar, &self.query_source).map_err(|e| QueryError {
                    language: self.config.name.clone(),
                    message: format!("{:?}: {}", e.kind, e.message),
                    row: e.row + 1,
                    column: e.column + 1,
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The source text of the combined query, for error reports and tests.
    pub fn query_source(&self) -> &str {
        &self.query_source
    }
}

impl std::fmt::Debug for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Language")
            .field("name", &self.config.name)
            .finish()
    }
}

struct Registry {
    languages: Vec<Language>,
    errors: Vec<ConfigError>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(load_registry)
}

fn load_registry() -> Registry {
    let mut errors = Vec::new();
    let mut configs: Vec<Option<LanguageConfig>> = SOURCES
        .iter()
        .map(|src| match toml::from_str::<LanguageConfig>(src.config) {
            Ok(c) => Some(c),
            Err(e) => {
                errors.push(ConfigError {
                    language: src.name.to_string(),
                    message: e.to_string(),
                });
                None
            }
        })
        .collect();
    let mut languages = Vec::new();
    for (i, src) in SOURCES.iter().enumerate() {
        let Some(config) = configs[i].take() else {
            continue;
        };
        let mut query_source = String::new();
        let mut chain = Vec::new();
        if let Err(message) = collect_inherited(src.name, &mut chain, 0) {
            errors.push(ConfigError {
                language: src.name.to_string(),
                message,
            });
            continue;
        }
        for part in chain {
            for (file, text) in [
                ("tags", part.tags),
                ("locals", part.locals),
                ("imports", part.imports),
            ] {
                if !text.is_empty() {
                    query_source.push_str(&format!(";; ---- {}/{file}.scm\n", part.name));
                    query_source.push_str(text);
                    query_source.push('\n');
                }
            }
        }
        languages.push(Language {
            id: LanguageId(languages.len() as u8),
            config,
            grammar: (src.grammar)(),
            query_source,
            query: OnceLock::new(),
        });
    }
    Registry { languages, errors }
}

/// The inherited languages of `name` in order (deepest first), then `name` itself.
fn collect_inherited(
    name: &str,
    out: &mut Vec<&'static LanguageSource>,
    depth: usize,
) -> Result<(), String> {
    #[derive(Deserialize)]
    struct Inherits {
        #[serde(default)]
        inherits: Vec<String>,
    }
    if depth > 8 {
        return Err(format!("`inherits` of {name} is cyclic"));
    }
    let src = SOURCES
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| format!("inherits unknown language `{name}`"))?;
    let parents: Inherits = toml::from_str(src.config).map_err(|e| e.to_string())?;
    for parent in &parents.inherits {
        collect_inherited(parent, out, depth + 1)?;
    }
    if !out.iter().any(|s| s.name == src.name) {
        out.push(src);
    }
    Ok(())
}

/// Every registered language, in registry order.
pub fn languages() -> &'static [Language] {
    &registry().languages
}

/// Problems found while loading `language.toml` files (empty in a correct build).
pub fn config_errors() -> &'static [ConfigError] {
    &registry().errors
}

pub fn language(id: LanguageId) -> &'static Language {
    &languages()[id.0 as usize]
}

pub fn language_by_name(name: &str) -> Option<&'static Language> {
    languages().iter().find(|l| l.config.name == name)
}

/// The language of a file, from its extension (or whole file name).
pub fn language_for_path(path: &Path) -> Option<&'static Language> {
    let file_name = path.file_name()?.to_str()?;
    // Longest matching suffix wins, so `x.d.ts` can differ from `x.ts` if a language wants.
    languages()
        .iter()
        .filter_map(|lang| {
            lang.config
                .extensions
                .iter()
                .filter(|ext| {
                    file_name.len() > ext.len() + 1
                        && file_name.ends_with(ext.as_str())
                        && file_name.as_bytes()[file_name.len() - ext.len() - 1] == b'.'
                })
                .map(|ext| ext.len())
                .max()
                .map(|len| (len, lang))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, lang)| lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_toml_loads() {
        assert_eq!(config_errors(), &[] as &[ConfigError]);
        assert!(languages().len() >= 6);
    }

    #[test]
    fn every_query_compiles_against_its_grammar() {
        for lang in languages() {
            if let Err(e) = lang.query() {
                panic!("{e}\n{}", excerpt(lang.query_source(), e.row));
            }
        }
    }

    #[test]
    fn every_query_uses_only_known_captures() {
        for lang in languages() {
            let query = lang.query().unwrap();
            for name in query.capture_names() {
                assert!(
                    config::is_known_capture(name),
                    "{}: unknown capture @{name}; see ARCHITECTURE.md for the vocabulary",
                    lang.name()
                );
            }
        }
    }

    #[test]
    fn languages_are_found_by_extension() {
        let name = |p: &str| language_for_path(Path::new(p)).map(|l| l.name().to_string());
        assert_eq!(name("a/b.py").as_deref(), Some("python"));
        assert_eq!(name("x.rs").as_deref(), Some("rust"));
        assert_eq!(name("x.tsx").as_deref(), Some("tsx"));
        assert_eq!(name("x.ts").as_deref(), Some("typescript"));
        assert_eq!(name("x.jsx").as_deref(), Some("javascript"));
        assert_eq!(name("x.go").as_deref(), Some("go"));
        assert_eq!(name("X.java").as_deref(), Some("java"));
        assert_eq!(name("README.md"), None);
        assert_eq!(name(".py"), None);
    }

    fn excerpt(source: &str, row: usize) -> String {
        source
            .lines()
            .enumerate()
            .skip(row.saturating_sub(4))
            .take(7)
            .map(|(i, l)| format!("{:5} | {l}\n", i + 1))
            .collect()
    }
}
