//! `cargo test`'s text: each test's outcome, and where a failed test panicked; and
//! rustc's errors as cargo prints them, for a crate that does not build.

use super::{location, BuildError, Parsed, TestOutcome, TestResult};

/// `cargo test`'s human output on stdout; rustc's errors, if it did not build, on stderr.
pub(super) fn parse(stdout: &str, stderr: &str) -> Parsed {
    let build_failed = stderr.contains("error: could not compile")
        || (stderr.contains("error[E") && !stdout.contains("test result:"));
    let mut tests = Vec::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        let Some((name, result)) = rest.rsplit_once(" ... ") else {
            continue;
        };
        let outcome = match result.split([',', ' ']).next() {
            Some("ok") => TestOutcome::Passed,
            Some("FAILED") => TestOutcome::Failed,
            Some("ignored") => TestOutcome::Skipped,
            _ => continue,
        };
        tests.push(TestResult {
            name: name.to_string(),
            outcome,
            duration_ms: None,
            message: None,
            location: None,
        });
    }
    // Failure details: "---- NAME stdout ----" then "thread 'NAME' panicked at F:L:C:".
    for t in tests
        .iter_mut()
        .filter(|t| t.outcome == TestOutcome::Failed)
    {
        let header = format!("---- {} stdout ----", t.name);
        let Some(start) = stdout.find(&header) else {
            continue;
        };
        let block = &stdout[start + header.len()..];
        let end = block
            .find("\n---- ")
            .or_else(|| block.find("\nfailures:"))
            .unwrap_or(block.len());
        let block = &block[..end];
        if let Some(at) = block.find("panicked at ") {
            let after = &block[at + "panicked at ".len()..];
            let (place, message) = after.split_once('\n').unwrap_or((after, ""));
            t.location = location(place.trim_end_matches(':').trim_end_matches(','));
            let message: Vec<&str> = message
                .lines()
                .take_while(|l| !l.starts_with("note:") && !l.trim().is_empty())
                .collect();
            t.message = Some(message.join("\n"));
        }
    }
    Parsed {
        build_failed,
        tests,
        build_errors: rustc_errors(stderr),
    }
}

/// rustc's errors as cargo prints them on stderr: `error[E0308]: mismatched types` or
/// `error: cannot find macro ...`, then ` --> src/lib.rs:8:5`. Warnings are skipped, and
/// so is an `error:` with no `-->` (cargo's own summaries: `could not compile`, `test
/// failed`); an error with a code is kept even without a location.
pub(super) fn rustc_errors(text: &str) -> Vec<BuildError> {
    let mut errors = Vec::new();
    // The message of the error whose location is awaited, and whether it has a code.
    let mut pending: Option<(String, bool)> = None;
    let settle = |pending: Option<(String, bool)>, errors: &mut Vec<BuildError>| {
        if let Some((message, true)) = pending {
            errors.push(BuildError {
                message,
                location: None,
            });
        }
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("error") {
            settle(pending.take(), &mut errors);
            let header = match rest.strip_prefix('[') {
                Some(coded) => coded.split_once("]: ").map(|(_, m)| (m, true)),
                None => rest.strip_prefix(": ").map(|m| (m, false)),
            };
            pending = header.map(|(message, coded)| (message.trim().to_string(), coded));
        } else if line.starts_with("warning") || line.trim().is_empty() {
            settle(pending.take(), &mut errors);
        } else if let Some(place) = line.trim_start().strip_prefix("--> ") {
            if let Some((message, _)) = pending.take() {
                errors.push(BuildError {
                    message,
                    location: location(place),
                });
            }
        }
    }
    settle(pending.take(), &mut errors);
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::test_support::{at, error, fixture};

    #[test]
    fn cargo_output_gives_each_test_and_where_a_failure_panicked() {
        let stdout = fixture!("cargo/test-failed.stdout");
        let parsed = parse(stdout, "error: test failed, to rerun pass `--lib`\n");
        assert!(!parsed.build_failed);
        assert_eq!(parsed.build_errors, []);
        let outcomes: Vec<_> = parsed
            .tests
            .iter()
            .map(|t| (t.name.as_str(), t.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("tests::adds", TestOutcome::Passed),
                ("tests::slow", TestOutcome::Skipped),
                ("tests::breaks", TestOutcome::Failed)
            ]
        );
        let failed = &parsed.tests[2];
        assert_eq!(failed.location, at("src/lib.rs", 17, Some(9)));
        assert_eq!(
            failed.message.as_deref(),
            Some("assertion `left == right` failed\n  left: 3\n right: 4")
        );
    }

    /// What `cargo build` printed for a crate with three errors and a warning.
    const RUSTC_STDERR: &str = fixture!("cargo/build-errors.stderr");

    #[test]
    fn rustc_errors_with_their_places_and_no_warnings_or_summaries() {
        let parsed = parse("", RUSTC_STDERR);
        assert!(parsed.build_failed);
        assert_eq!(
            parsed.build_errors,
            [
                error(
                    "cannot find macro `undefined_macro` in this scope",
                    at("src/lib.rs", 12, Some(5))
                ),
                error("mismatched types", at("src/lib.rs", 7, Some(21))),
                error("mismatched types", at("src/lib.rs", 8, Some(5))),
            ]
        );
        // A coded error is kept without a place; an uncoded one is cargo's own.
        assert_eq!(
            rustc_errors(
                "error[E0463]: can't find crate for `core`\n\nerror: linking with `cc` failed\n"
            ),
            [error("can't find crate for `core`", None)]
        );
    }
}
