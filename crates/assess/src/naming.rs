//! Naming conventions, measured from the project itself: for each language and kind of
//! symbol, how its names are written (snake_case, camelCase, PascalCase,
//! SCREAMING_SNAKE_CASE), and a name an edit adds that breaks a convention nearly all of
//! its neighbours keep, with the name it would have.

use codecontext_analysis::{Analysis, EntityKind};
use rustc_hash::FxHashMap;
use serde::Serialize;

/// How a name is written. Names that fit several (`run`, `x`) are not counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    SnakeCase,
    CamelCase,
    PascalCase,
    ScreamingSnakeCase,
}

impl Style {
    pub fn as_str(self) -> &'static str {
        match self {
            Style::SnakeCase => "snake_case",
            Style::CamelCase => "camelCase",
            Style::PascalCase => "PascalCase",
            Style::ScreamingSnakeCase => "SCREAMING_SNAKE_CASE",
        }
    }

    /// The style of `name`, if it has exactly one (leading and trailing underscores,
    /// Python's `_private` and `__dunder__`, do not count).
    pub fn of(name: &str) -> Option<Style> {
        let core = name.trim_matches('_');
        let first = core.chars().next()?;
        if !core.chars().all(|c| c.is_alphanumeric() || c == '_') || !first.is_alphabetic() {
            return None;
        }
        let underscore = core.contains('_');
        let upper = core.chars().any(char::is_uppercase);
        let lower = core.chars().any(char::is_lowercase);
        match (underscore, upper, lower) {
            (true, false, true) => Some(Style::SnakeCase),
            (true, true, false) => Some(Style::ScreamingSnakeCase),
            (false, true, true) if first.is_uppercase() => Some(Style::PascalCase),
            (false, true, true) => Some(Style::CamelCase),
            // One lowercase word fits snake_case and camelCase; one uppercase word, a
            // constant or an acronym.
            _ => None,
        }
    }

    /// `name` written in this style.
    pub fn apply(self, name: &str) -> String {
        let lead: String = name.chars().take_while(|c| *c == '_').collect();
        let trail: String = {
            let core = name.trim_start_matches('_');
            core.chars().rev().take_while(|c| *c == '_').collect()
        };
        let words = words(name.trim_matches('_'));
        let body = match self {
            Style::SnakeCase => words.join("_"),
            Style::ScreamingSnakeCase => words.join("_").to_uppercase(),
            Style::PascalCase => words.iter().map(|w| capitalized(w)).collect(),
            Style::CamelCase => words
                .iter()
                .enumerate()
                .map(|(i, w)| if i == 0 { w.clone() } else { capitalized(w) })
                .collect(),
        };
        format!("{lead}{body}{trail}")
    }
}

/// The lowercase words of a name in any style (`parseHTTPHeader` → parse, http, header).
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let boundary = c.is_uppercase()
            && !current.is_empty()
            && (chars[i - 1].is_lowercase()
                || chars[i - 1].is_numeric()
                || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
        if boundary {
            words.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The kinds of symbols a convention is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    Function,
    Method,
    Type,
    Constant,
}

impl Group {
    pub fn of(kind: EntityKind) -> Option<Group> {
        Some(match kind {
            EntityKind::Function => Group::Function,
            EntityKind::Method => Group::Method,
            EntityKind::Class
            | EntityKind::Struct
            | EntityKind::Enum
            | EntityKind::Interface
            | EntityKind::Trait
            | EntityKind::TypeAlias => Group::Type,
            EntityKind::Constant => Group::Constant,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Group::Function => "function",
            Group::Method => "method",
            Group::Type => "type",
            Group::Constant => "constant",
        }
    }
}

/// How one language's names of one group are written in the project.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Convention {
    pub language: &'static str,
    pub group: Group,
    /// The most common style.
    pub style: &'static str,
    #[serde(skip)]
    pub dominant: Style,
    /// Its share of the names that have a style.
    pub share: f64,
    /// How many names have a style.
    pub names: usize,
}

/// At least this many names make a convention.
pub const MIN_NAMES: usize = 10;
/// A name breaks a convention this many of its neighbours keep.
pub const MIN_SHARE: f64 = 0.9;

/// The conventions of every language and group with at least [`MIN_NAMES`] named
/// symbols, by language then group.
pub fn conventions(analysis: &Analysis<'_>) -> Vec<Convention> {
    let g = analysis.graph();
    let mut counts: FxHashMap<(&'static str, Group), FxHashMap<Style, usize>> =
        FxHashMap::default();
    for (_, f) in g.files() {
        for e in f.entities.iter().skip(1) {
            let Some(group) = Group::of(e.kind) else {
                continue;
            };
            let Some(style) = Style::of(g.name(e.name)) else {
                continue;
            };
            *counts
                .entry((lang_name(f.lang), group))
                .or_default()
                .entry(style)
                .or_default() += 1;
        }
    }
    let mut out: Vec<Convention> = counts
        .into_iter()
        .filter_map(|((language, group), styles)| {
            let names: usize = styles.values().sum();
            let (&dominant, &count) = styles.iter().max_by_key(|(s, n)| (**n, **s))?;
            (names >= MIN_NAMES).then(|| Convention {
                language,
                group,
                style: dominant.as_str(),
                dominant,
                share: count as f64 / names as f64,
                names,
            })
        })
        .collect();
    out.sort_by(|a, b| (a.language, a.group).cmp(&(b.language, b.group)));
    out
}

fn lang_name(id: codecontext_lang::LanguageId) -> &'static str {
    codecontext_lang::language(id).config.name.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_are_told_apart_and_applied() {
        assert_eq!(Style::of("total_price"), Some(Style::SnakeCase));
        assert_eq!(Style::of("__init__"), None, "one word fits two styles");
        assert_eq!(Style::of("_private_helper"), Some(Style::SnakeCase));
        assert_eq!(Style::of("totalPrice"), Some(Style::CamelCase));
        assert_eq!(Style::of("TotalPrice"), Some(Style::PascalCase));
        assert_eq!(Style::of("MAX_SIZE"), Some(Style::ScreamingSnakeCase));
        assert_eq!(Style::of("run"), None);
        assert_eq!(
            Style::SnakeCase.apply("computeTotalHTTPPrice"),
            "compute_total_http_price"
        );
        assert_eq!(Style::CamelCase.apply("total_price"), "totalPrice");
        assert_eq!(Style::PascalCase.apply("total_price"), "TotalPrice");
        assert_eq!(Style::SnakeCase.apply("_privateThing"), "_private_thing");
    }
}
