//! The registry's languages as ast-grep sees them: grammar, node kinds and fields, and
//! how a pattern's metavariables survive the grammar (the `expando` of `language.toml`).

use std::borrow::Cow;

use ast_grep_core::{
    matcher::PatternBuilder,
    tree_sitter::{LanguageExt, StrDoc, TSLanguage},
    Pattern, PatternError,
};
use codecontext_lang::{Language, LanguageId};
use serde::{Deserialize, Deserializer};

/// One language of the registry, for the matcher. Cheap to copy.
#[derive(Clone, Copy)]
pub struct SgLang(&'static Language);

impl SgLang {
    /// The language named `name`, or one of its aliases (`rs`, `py`, `ts`), in any case.
    pub fn by_name(name: &str) -> Option<SgLang> {
        codecontext_lang::languages()
            .iter()
            .find(|l| {
                l.config.name.eq_ignore_ascii_case(name)
                    || l.config
                        .search
                        .aliases
                        .iter()
                        .any(|a| a.eq_ignore_ascii_case(name))
            })
            .map(SgLang)
    }

    pub fn of(id: LanguageId) -> SgLang {
        SgLang(codecontext_lang::language(id))
    }

    pub fn language(self) -> &'static Language {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    pub fn id(self) -> LanguageId {
        self.0.id
    }

    /// Every name [`SgLang::by_name`] knows, for error messages.
    pub fn known_names() -> String {
        codecontext_lang::languages()
            .iter()
            .map(|l| l.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::fmt::Debug for SgLang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for SgLang {
    fn eq(&self, other: &SgLang) -> bool {
        self.0.id == other.0.id
    }
}

/// Rule files name their language (`language: rust`).
impl<'de> Deserialize<'de> for SgLang {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SgLang, D::Error> {
        let name = String::deserialize(deserializer)?;
        SgLang::by_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown language `{name}` (known: {})",
                SgLang::known_names()
            ))
        })
    }
}

/// Whether the `$` at `at` in `pattern` starts a metavariable: `$$$` alone, or one to
/// three `$` and then a capital letter or `_` (`$X`, `$$ARGS`, `$_`).
fn starts_meta_var(pattern: &str, at: usize) -> bool {
    let rest = &pattern[at..];
    let dollars = rest.bytes().take_while(|&b| b == b'$').count();
    if dollars == 3 {
        return true;
    }
    dollars <= 3
        && rest[dollars..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
}

impl ast_grep_core::Language for SgLang {
    /// Where `$` cannot start an identifier, the metavariables' `$` become the
    /// language's expando character so that the pattern parses; other `$` stay.
    fn pre_process_pattern<'q>(&self, query: &'q str) -> Cow<'q, str> {
        let Some(expando) = self.0.config.search.expando else {
            return Cow::Borrowed(query);
        };
        let mut out = String::with_capacity(query.len() + 8);
        let mut run_is_meta = false;
        for (i, c) in query.char_indices() {
            if c == '$' {
                let previous_is_dollar = i > 0 && query.as_bytes()[i - 1] == b'$';
                if !previous_is_dollar {
                    run_is_meta = starts_meta_var(query, i);
                }
                out.push(if run_is_meta { expando } else { c });
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }

    fn expando_char(&self) -> char {
        self.0.config.search.expando.unwrap_or('$')
    }

    fn kind_to_id(&self, kind: &str) -> u16 {
        self.0.grammar().id_for_node_kind(kind, true)
    }

    fn field_to_id(&self, field: &str) -> Option<u16> {
        self.0.grammar().field_id_for_name(field).map(|f| f.get())
    }

    fn build_pattern(&self, builder: &PatternBuilder) -> Result<Pattern, PatternError> {
        builder.build(|src| StrDoc::try_new(src, *self))
    }
}

impl LanguageExt for SgLang {
    fn get_ts_language(&self) -> TSLanguage {
        self.0.grammar().clone()
    }
}

#[cfg(test)]
mod tests {
    use ast_grep_core::Language as _;

    use super::*;

    #[test]
    fn names_and_aliases_in_any_case() {
        assert_eq!(SgLang::by_name("Rust").map(SgLang::name), Some("rust"));
        assert_eq!(SgLang::by_name("py").map(SgLang::name), Some("python"));
        assert_eq!(SgLang::by_name("TS").map(SgLang::name), Some("typescript"));
        assert!(SgLang::by_name("cobol").is_none());
    }

    #[test]
    fn only_metavariables_take_the_expando() {
        let rust = SgLang::by_name("rust").unwrap();
        assert_eq!(
            rust.pre_process_pattern("fn $F($$$ARGS) { $$$ } \"$5\" $$_ $x"),
            "fn µF(µµµARGS) { µµµ } \"$5\" µµ_ $x"
        );
        let js = SgLang::by_name("javascript").unwrap();
        assert_eq!(js.pre_process_pattern("$X.y($$$)"), "$X.y($$$)");
    }
}
