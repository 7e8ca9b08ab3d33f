//! Deciding whether a file can be parsed at all, and parsing it within a time budget.

use std::{cell::RefCell, collections::HashMap, ops::ControlFlow, time::Duration};

use codecontext_lang::{Language, LanguageId};
use serde::Serialize;

/// Limits that keep one bad file from hurting the whole workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Files larger than this are skipped (default 2 MiB).
    pub max_file_size: u64,
    /// Time allowed for parsing plus extraction of one file (default 5 s).
    pub parse_budget: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_size: 2 * 1024 * 1024,
            parse_budget: Duration::from_secs(5),
        }
    }
}

/// Why a file was not indexed. Recorded per file; never an error of the whole run.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    #[error("file is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    #[error("file looks binary (NUL byte at offset {offset})")]
    Binary { offset: u64 },
    #[error("file is not valid UTF-8 (at byte {offset})")]
    InvalidUtf8 { offset: u64 },
    #[error("parsing took longer than its {budget_ms} ms budget")]
    ParseTimeout { budget_ms: u64 },
    #[error("query error: {message}")]
    Query { message: String },
    #[error("could not read file: {message}")]
    Io { message: String },
}

/// How far into a file we look for a NUL byte to call it binary (as git does).
const BINARY_PROBE: usize = 8000;

/// Checks size, binary content and UTF-8, and returns the text.
pub fn check_source<'a>(bytes: &'a [u8], limits: &Limits) -> Result<&'a str, SkipReason> {
    if bytes.len() as u64 > limits.max_file_size {
        return Err(SkipReason::TooLarge {
            size: bytes.len() as u64,
            limit: limits.max_file_size,
        });
    }
    let probe = &bytes[..bytes.len().min(BINARY_PROBE)];
    if let Some(offset) = probe.iter().position(|&b| b == 0) {
        return Err(SkipReason::Binary {
            offset: offset as u64,
        });
    }
    std::str::from_utf8(bytes).map_err(|e| SkipReason::InvalidUtf8 {
        offset: e.valid_up_to() as u64,
    })
}

thread_local! {
    static PARSERS: RefCell<HashMap<LanguageId, tree_sitter::Parser>> = RefCell::new(HashMap::new());
}

/// The least time a parse is given, whatever the size of its text.
const PARSE_FLOOR: Duration = Duration::from_millis(200);

/// The time a parse is given per KiB of text on top of [`PARSE_FLOOR`]: a rate of 100
/// KiB/s. tree-sitter parses normal code of every language at 4-7 MiB/s and the slowest
/// pathological inputs (20,000 unclosed brackets in Python, parentheses in Go) at 400
/// KiB/s; some runs of stray tokens cost its error recovery the square of their length
/// (4,000 `->` in JavaScript, TypeScript or Go: 8 KB in 4 s). Those are cut here, long
/// before the configured budget.
const PARSE_PER_KIB: Duration = Duration::from_millis(10);

/// How long a parse of `len` bytes may take: the configured `budget`, or less for a
/// small text ([`PARSE_FLOOR`] plus [`PARSE_PER_KIB`] per KiB).
pub fn parse_budget_for(len: usize, budget: Duration) -> Duration {
    let kib = u32::try_from(len / 1024).unwrap_or(u32::MAX);
    budget.min(PARSE_FLOOR.saturating_add(PARSE_PER_KIB.saturating_mul(kib)))
}

/// Parses `text`, reusing `old_tree` (already edited to match) when given. Gives up
/// with [`SkipReason::ParseTimeout`] once its budget is spent: `budget`, or less for a
/// small text ([`parse_budget_for`]).
pub fn parse(
    lang: &Language,
    text: &str,
    old_tree: Option<&tree_sitter::Tree>,
    budget: Duration,
) -> Result<tree_sitter::Tree, SkipReason> {
    let budget = parse_budget_for(text.len(), budget);
    with_parser(lang, |parser| {
        run_parse(parser, text, old_tree, budget).ok_or(SkipReason::ParseTimeout {
            budget_ms: budget.as_millis() as u64,
        })
    })
}

/// Parses only the `ranges` of `text` (sorted, disjoint), as if the rest were not there:
/// the text between them is skipped, positions stay those of `text`. None when the parse
/// runs out of `budget`, or the ranges are not sorted and disjoint.
pub(crate) fn parse_ranges(
    lang: &Language,
    text: &str,
    ranges: &[tree_sitter::Range],
    budget: Duration,
) -> Option<tree_sitter::Tree> {
    with_parser(lang, |parser| {
        if parser.set_included_ranges(ranges).is_err() {
            return Ok(None);
        }
        let tree = run_parse(parser, text, None, budget);
        // The parser is shared: whole texts again for the next caller.
        let _ = parser.set_included_ranges(&[]);
        Ok(tree)
    })
    .ok()
    .flatten()
}

/// Runs `parse` with this thread's parser for `lang`.
fn with_parser<T>(
    lang: &Language,
    parse: impl FnOnce(&mut tree_sitter::Parser) -> Result<T, SkipReason>,
) -> Result<T, SkipReason> {
    PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        let parser = match parsers.entry(lang.id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let mut parser = tree_sitter::Parser::new();
                parser
                    .set_language(lang.grammar())
                    .map_err(|err| SkipReason::Query {
                        message: err.to_string(),
                    })?;
                e.insert(parser)
            }
        };
        parse(parser)
    })
}

/// Parses with `parser` until `budget` is spent; None when it was (the parser is reset:
/// a cancelled parse leaves state behind, and the next parse must start clean).
fn run_parse(
    parser: &mut tree_sitter::Parser,
    text: &str,
    old_tree: Option<&tree_sitter::Tree>,
    budget: Duration,
) -> Option<tree_sitter::Tree> {
    let start = std::time::Instant::now();
    let mut calls = 0u32;
    let mut check = |_: &tree_sitter::ParseState| {
        // The clock is read on every 8th callback. tree-sitter calls back every
        // hundred or so of its operations, but in a quadratic error recovery those
        // are slow: every 64th overshot a 230 ms budget by 600 ms.
        calls = calls.wrapping_add(1);
        if calls.is_multiple_of(8) && start.elapsed() > budget {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let bytes = text.as_bytes();
    let tree = parser.parse_with_options(
        &mut |offset, _| &bytes[offset.min(bytes.len())..],
        old_tree,
        Some(tree_sitter::ParseOptions::new().progress_callback(&mut check)),
    );
    if tree.is_none() {
        parser.reset();
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_large_binary_and_invalid_utf8() {
        let limits = Limits {
            max_file_size: 10,
            ..Limits::default()
        };
        assert!(matches!(
            check_source(b"0123456789ab", &limits),
            Err(SkipReason::TooLarge {
                size: 12,
                limit: 10
            })
        ));
        assert_eq!(
            check_source(b"ab\0cd", &limits),
            Err(SkipReason::Binary { offset: 2 })
        );
        assert_eq!(
            check_source(b"ab\xffcd", &limits),
            Err(SkipReason::InvalidUtf8 { offset: 2 })
        );
        assert_eq!(check_source("héllo".as_bytes(), &limits), Ok("héllo"));
    }

    #[test]
    fn a_parse_over_budget_is_a_skip_not_a_crash() {
        let lang = codecontext_lang::language_by_name("python").unwrap();
        let text = "x = [".repeat(20_000);
        let err = parse(lang, &text, None, Duration::from_nanos(1)).unwrap_err();
        assert!(matches!(err, SkipReason::ParseTimeout { .. }));
        // The parser is usable again afterwards.
        assert!(parse(lang, "x = 1\n", None, Duration::from_secs(5)).is_ok());
    }

    /// A run of stray tokens whose error recovery costs the square of its length is cut
    /// by the budget for its size, long before the configured one, and says which
    /// budget it ran out of; a normal file ten times its size parses within its own.
    #[test]
    fn a_small_text_gets_a_small_budget() {
        let lang = codecontext_lang::language_by_name("javascript").unwrap();
        let stray = format!("x = 1;\n{}\n", "->".repeat(8_000));
        let budget = parse_budget_for(stray.len(), Duration::from_secs(60));
        assert_eq!(budget, Duration::from_millis(350));
        let start = std::time::Instant::now();
        let err = parse(lang, &stray, None, Duration::from_secs(60)).unwrap_err();
        assert_eq!(err, SkipReason::ParseTimeout { budget_ms: 350 });
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );

        let normal = "function f(a, b) { return g(a.b, [b, 1], \"s\"); }\n".repeat(4_000);
        assert!(parse(lang, &normal, None, Duration::from_secs(60)).is_ok());
        assert_eq!(
            parse_budget_for(normal.len(), Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }
}
