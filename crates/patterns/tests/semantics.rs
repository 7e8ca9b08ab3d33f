//! Pattern semantics per language: every pattern of `fixtures/patterns/patterns.json` run
//! over its fixture file, each match with its captures, against a snapshot. The same
//! pattern list is checked against the `ast-grep` CLI by `tests/clients/pytest`.

use std::{fmt::Write as _, path::PathBuf};

use codecontext_patterns::{parse, Query, QueryError, SgLang};
use codecontext_text::LineIndex;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/patterns")
}

#[derive(serde::Deserialize)]
struct Case {
    lang: String,
    file: String,
    pattern: String,
}

fn render(case: &Case) -> String {
    let lang = SgLang::by_name(&case.lang).expect("a known language");
    let text = std::fs::read_to_string(fixtures().join(&case.file)).expect("the fixture");
    let tree = parse(lang, &text).expect("a tree");
    let query = Query::pattern(lang, &case.pattern).expect("a valid pattern");
    let index = LineIndex::new(&text);
    let mut out = format!("{} in {}\n", case.pattern, case.file);
    let found = query.find(&tree, &text, usize::MAX);
    assert!(!found.is_empty(), "`{}` finds nothing", case.pattern);
    for m in found {
        let at = index
            .line_col(m.range.start)
            .expect("a match inside the text");
        let _ = writeln!(
            out,
            "{}:{} {}",
            at.line + 1,
            at.col + 1,
            m.text.replace('\n', "⏎")
        );
        for (name, c) in &m.captures {
            let _ = writeln!(
                out,
                "    {}{name} = {}",
                if c.multi { "$$$" } else { "$" },
                c.text.replace('\n', "⏎")
            );
        }
    }
    out
}

#[test]
fn patterns_per_language() {
    let cases: Vec<Case> = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("patterns.json")).expect("patterns.json"),
    )
    .expect("a list of cases");
    let mut by_lang: std::collections::BTreeMap<&str, String> = Default::default();
    for case in &cases {
        by_lang
            .entry(case.lang.as_str())
            .or_default()
            .push_str(&(render(case) + "\n"));
    }
    for (lang, text) in by_lang {
        insta::assert_snapshot!(lang, text);
    }
}

#[test]
fn the_index_prefilter_never_drops_a_matching_file() {
    // The words a pattern requires are words of every text it matches.
    let cases: Vec<Case> = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("patterns.json")).expect("patterns.json"),
    )
    .expect("a list of cases");
    for case in &cases {
        let lang = SgLang::by_name(&case.lang).unwrap();
        let text = std::fs::read_to_string(fixtures().join(&case.file)).unwrap();
        let query = Query::pattern(lang, &case.pattern).unwrap();
        let set = codecontext_text::tokens::token_set(&text);
        assert!(query.may_match(&set), "{} in {}", case.pattern, case.file);
        assert!(
            !query.may_match(&codecontext_text::tokens::token_set("unrelated words only"))
                || query.tokens().is_empty(),
            "{} would match a text without its words",
            case.pattern
        );
    }
}

#[test]
fn rules_constrain_metavariables() {
    let rust = SgLang::by_name("rust").unwrap();
    let text = std::fs::read_to_string(fixtures().join("sample.rs")).unwrap();
    let tree = parse(rust, &text).unwrap();
    // Every `unwrap()` inside a function that returns `Result`.
    let rule = serde_json::json!({
        "rule": {
            "pattern": "$X.unwrap()",
            "inside": {"kind": "function_item", "has": {"field": "return_type", "regex": "^Result"}, "stopBy": "end"},
        }
    });
    let query = Query::rule(rust, &rule).unwrap();
    let texts: Vec<String> = query
        .find(&tree, &text, 10)
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(
        texts,
        [
            "input.trim().parse::<u32>().unwrap()",
            "map.get(&n).unwrap()",
            "fallible().unwrap()"
        ]
    );
    // A constraint on a metavariable: only the receivers that are calls of `fallible`.
    let rule = serde_json::json!({
        "rule": {"pattern": "$X.unwrap()"},
        "constraints": {"X": {"regex": "^fallible"}},
    });
    let query = Query::rule(rust, &rule).unwrap();
    let texts: Vec<String> = query
        .find(&tree, &text, 10)
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["fallible().unwrap()"]);
}

#[test]
fn raw_tree_sitter_queries() {
    let py = SgLang::by_name("python").unwrap();
    let text = std::fs::read_to_string(fixtures().join("sample.py")).unwrap();
    let tree = parse(py, &text).unwrap();
    let query = Query::tree_sitter(
        py,
        "(call function: (attribute object: (identifier) @obj attribute: (identifier) @name (#eq? @name \"get\"))) @match",
    )
    .unwrap();
    let found = query.find(&tree, &text, 10);
    let texts: Vec<&str> = found.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["requests.get(url)", "requests.get(url, timeout=5)"]);
    assert_eq!(found[0].captures["obj"].text, "requests");
}

#[test]
fn bad_searches_say_what_is_wrong() {
    let rust = SgLang::by_name("rust").unwrap();
    let err = |r: Result<Query, QueryError>| r.err().expect("an error").to_string();
    assert_eq!(err(Query::pattern(rust, "  ")), "the pattern is empty");
    let message = err(Query::pattern(rust, "fn ( {"));
    assert!(message.contains("is not valid rust"), "{message}");
    let message = err(Query::tree_sitter(rust, "(no_such_node) @x"));
    assert!(
        message.contains("does not compile for rust") && message.contains("row 1"),
        "{message}"
    );
    let message = err(Query::rule(
        rust,
        &serde_json::json!({"rule": {"nonsense": 1}}),
    ));
    assert!(message.starts_with("the rule is not valid"), "{message}");
    let message = err(Query::rule(
        rust,
        &serde_json::json!({"rule": {"kind": "no_such_kind"}}),
    ));
    assert!(message.contains("no_such_kind"), "{message}");
}

#[test]
fn a_go_call_written_alone_matches_calls() {
    // Parsed alone, `fmt.Println($$$A)` is a conversion to the type `fmt.Println` (the
    // `ast-grep` CLI finds nothing with it); `[search] reparse` reads it as a call.
    let go = SgLang::by_name("go").unwrap();
    let text = std::fs::read_to_string(fixtures().join("sample.go")).unwrap();
    let tree = parse(go, &text).unwrap();
    let found = |pattern: &str| -> Vec<String> {
        Query::pattern(go, pattern)
            .unwrap()
            .find(&tree, &text, 10)
            .into_iter()
            .map(|m| m.text)
            .collect()
    };
    assert_eq!(
        found("fmt.Println($$$A)"),
        ["fmt.Println(\"error:\", err)", "fmt.Println(q)"]
    );
    assert_eq!(
        found("errors.New($MSG)"),
        ["errors.New(\"division by zero\")"]
    );
    // What parses alone as it means stays as it was.
    assert_eq!(found("return $A, nil"), ["return a / b, nil"]);
}
