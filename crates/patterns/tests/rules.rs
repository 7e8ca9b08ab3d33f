//! Project rules: loading (documents, `off`, errors with their file and line, the other
//! rules unharmed) and checking (messages with metavariables, fixes as edits).

use std::path::PathBuf;

use codecontext_patterns::{
    parse,
    rules::{Rules, Severity},
    SgLang,
};

const GOOD: &str = "\
id: no-unwrap
language: rust
severity: warning
message: \"`$X.unwrap()` panics on failure\"
note: Propagate the error with `?` instead.
rule:
  pattern: $X.unwrap()
fix: $X.expect(\"why this cannot fail\")
---
id: helper-call
language: rs
severity: info
message: helper is called with $A
rule:
  pattern: helper($A, $B)
---
id: silenced
language: rust
severity: off
rule:
  pattern: Ok($X)
";

#[test]
fn rules_load_by_document_and_errors_keep_their_file_and_line() {
    let broken = "\
id: fine
language: python
rule:
  pattern: print($$$A)
---
id: bad-kind
language: rust
rule:
  kind: no_such_kind
---
id: bad-yaml
language: rust
rule: [unclosed
";
    let rules = Rules::from_sources(&[
        (PathBuf::from("good.yml"), GOOD.to_string()),
        (PathBuf::from("broken.yml"), broken.to_string()),
    ]);
    let ids: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["no-unwrap", "helper-call", "fine"],
        "{:?}",
        rules.errors
    );
    let errors: Vec<String> = rules.errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("broken.yml:6: rule `bad-kind`")
            && errors[0].contains("no_such_kind"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("broken.yml:1"),
        "the YAML error's line: {errors:?}"
    );
    assert_eq!(rules.errors[1].line, Some(13), "{errors:?}");
}

#[test]
fn hits_carry_messages_severities_and_fixes() {
    let rules = Rules::from_sources(&[(PathBuf::from("good.yml"), GOOD.to_string())]);
    let rust = SgLang::by_name("rust").unwrap();
    let text = "fn main() {\n    let v = parse().unwrap();\n    helper(v, 2);\n    Ok(())\n}\n";
    let tree = parse(rust, text).unwrap();
    let hits = rules.check(rust, &tree, text);
    assert_eq!(hits.len(), 2, "{hits:?}");
    let unwrap = &hits[0];
    assert_eq!(unwrap.rule, "no-unwrap");
    assert_eq!(unwrap.severity, Severity::Warning);
    assert_eq!(unwrap.message, "`parse().unwrap()` panics on failure");
    assert_eq!(
        unwrap.note.as_deref(),
        Some("Propagate the error with `?` instead.")
    );
    assert_eq!(&text[unwrap.range.as_usize()], "parse().unwrap()");
    let fix = unwrap.fix.as_ref().unwrap();
    assert_eq!(&text[fix.range.as_usize()], "parse().unwrap()");
    assert_eq!(fix.text, "parse().expect(\"why this cannot fail\")");
    assert_eq!(hits[1].message, "helper is called with v");
    assert_eq!(hits[1].severity, Severity::Info);
    assert!(hits[1].fix.is_none());

    // Rules of another language do not apply.
    let py = SgLang::by_name("python").unwrap();
    let tree = parse(py, "x.unwrap()\n").unwrap();
    assert!(rules.check(py, &tree, "x.unwrap()\n").is_empty());
}
