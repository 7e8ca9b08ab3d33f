//! `go test -json`: each test's outcome and the `_test.go` line it failed at; and Go's
//! build errors, from the JSON's build output (Go 1.24 on) or from stderr (before).

use std::collections::HashMap;

use super::{location, BuildError, Location, Parsed, TestOutcome, TestResult, BUILD_FAILED};

/// `go test -json` events; build errors from the build output (`build-output` events
/// since Go 1.24, plain text on stderr before) and from a package's own output (setup
/// failures).
pub(super) fn parse(stdout: &str, stderr: &str) -> Parsed {
    let mut tests: Vec<TestResult> = Vec::new();
    let mut build_failed = false;
    let mut build_output = String::new();
    let mut output: HashMap<String, String> = HashMap::new();
    for line in stdout.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let action = v["Action"].as_str().unwrap_or_default();
        let test = v["Test"].as_str();
        let text = v["Output"].as_str().unwrap_or_default();
        match (action, test) {
            ("output", Some(t)) => {
                output.entry(t.to_string()).or_default().push_str(text);
            }
            ("output", None) => {
                if text.contains("[build failed]") || text.contains("[setup failed]") {
                    build_failed = true;
                }
                build_output.push_str(text);
            }
            ("build-output", _) => build_output.push_str(text),
            ("build-fail", _) => build_failed = true,
            ("pass" | "fail" | "skip", Some(t)) => {
                let outcome = match action {
                    "pass" => TestOutcome::Passed,
                    "fail" => TestOutcome::Failed,
                    _ => TestOutcome::Skipped,
                };
                let text = output.remove(t).unwrap_or_default();
                let failing = text.lines().find(|l| l.trim_start().contains("_test.go:"));
                tests.push(TestResult {
                    name: t.to_string(),
                    outcome,
                    duration_ms: v["Elapsed"].as_f64().map(|s| s * 1000.0),
                    message: (outcome == TestOutcome::Failed).then(|| text.trim().to_string()),
                    location: failing.and_then(|l| {
                        let (head, _) = l.trim().split_once(": ")?;
                        location(head)
                    }),
                });
            }
            _ => {}
        }
    }
    let mut build_errors = go_errors(&build_output);
    build_errors.extend(go_errors(stderr));
    Parsed {
        build_failed,
        tests,
        build_errors,
    }
}

/// Go's build errors: `./calc.go:12:3: undefined: foo` lines (tab-indented lines after
/// one continue its message), and inside a `# package` block, lines without a place
/// (`import cycle not allowed`), which name the package.
pub(super) fn go_errors(text: &str) -> Vec<BuildError> {
    let mut errors: Vec<BuildError> = Vec::new();
    let mut package: Option<&str> = None;
    // Whether the last line was an error that a tab-indented line continues.
    let mut continues = false;
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("# ") {
            // `# example.com/calc`, `# example.com/calc [example.com/calc.test]`, or go
            // vet's `# [example.com/calc]`.
            let name = header.split(' ').next().unwrap_or_default();
            package = Some(name.trim_start_matches('[').trim_end_matches(']'));
            continues = false;
            continue;
        }
        if line.starts_with('\t') && continues {
            if let Some(last) = errors.last_mut() {
                last.message.push('\n');
                last.message.push_str(line.trim());
            }
            continue;
        }
        continues = false;
        if line.trim().is_empty() {
            package = None;
            continue;
        }
        if let Some((place, message)) = go_place(line) {
            errors.push(BuildError {
                message: message.to_string(),
                location: Some(place),
            });
            continues = true;
        } else if let Some(package) = package {
            let noise = [
                "FAIL",
                "ok ",
                "PASS",
                "?",
                "=== ",
                "--- ",
                "panic:",
                BUILD_FAILED,
            ];
            if !line.starts_with(char::is_whitespace) && !noise.iter().any(|n| line.starts_with(n))
            {
                errors.push(BuildError {
                    message: format!("{package}: {}", line.trim()),
                    location: None,
                });
                continues = true;
            }
        }
    }
    errors
}

/// `path.go:LINE[:COL]: message` (or `go.mod:LINE: ...`), unindented.
fn go_place(line: &str) -> Option<(Location, &str)> {
    if line.starts_with(char::is_whitespace) {
        return None;
    }
    let (head, message) = line.split_once(": ")?;
    let (file, _) = head.split_once(':')?;
    if !(file.ends_with(".go") || file.ends_with("go.mod")) {
        return None;
    }
    Some((location(head)?, message.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::test_support::{at, error, fixture};

    #[test]
    fn go_json_gives_each_test_and_where_it_failed() {
        let go = fixture!("go/test-failed.stdout");
        let parsed = parse(go, "");
        assert!(!parsed.build_failed);
        assert_eq!(parsed.build_errors, []);
        assert_eq!(parsed.tests.len(), 2);
        assert_eq!(parsed.tests[1].location, at("calc_test.go", 12, None));
    }

    #[test]
    fn go_build_errors_before_and_since_go_1_24() {
        // Before 1.24: the build output on stderr, `[build failed]` in the JSON.
        let stdout = fixture!("go/build-failed-go1.23.stdout");
        let stderr = fixture!("go/build-failed-go1.23.stderr");
        let parsed = parse(stdout, stderr);
        assert!(parsed.build_failed);
        assert_eq!(
            parsed.build_errors,
            [
                error("undefined: foo", at("calc.go", 12, Some(3))),
                error(
                    "cannot use s (variable of type string) as int value in return statement",
                    at("calc.go", 15, Some(9))
                ),
                error(
                    "\"fmt\" imported and not used",
                    at("stats/mean.go", 4, Some(2))
                ),
            ]
        );
        // Since 1.24: `build-output` and `build-fail` events.
        let stdout = fixture!("go/build-failed-go1.24.stdout");
        let parsed = parse(stdout, "");
        assert!(parsed.build_failed);
        assert_eq!(
            parsed.build_errors,
            [
                error(
                    "cannot use a + b (value of type int) as string value in return statement",
                    at("calc.go", 8, Some(9))
                ),
                error(
                    "too many arguments in call to add\nhave (number, number, number)\nwant (int, int)",
                    at("calc.go", 20, Some(2))
                ),
            ]
        );
    }

    #[test]
    fn go_errors_without_a_place_are_named_by_their_package() {
        let text = fixture!("go/setup-failed.out");
        assert_eq!(
            go_errors(text),
            [
                error(
                    "example.com/calc: package example.com/calc\nimports example.com/calc/stats\nimports example.com/calc: import cycle not allowed",
                    None
                ),
                error(
                    "fmt.Sprintf format %d has arg s of wrong type string",
                    at("stats/mean_test.go", 9, Some(2))
                ),
            ]
        );
        // Test output is not a build error.
        assert_eq!(
            go_errors("--- FAIL: TestSub (0.00s)\n    calc_test.go:12: got 2, want 3\nFAIL\n"),
            []
        );
    }
}
