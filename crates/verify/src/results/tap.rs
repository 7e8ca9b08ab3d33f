//! TAP, as `node --test` prints it: each test's outcome and, for a failure, its message
//! and where it failed, from the YAML block under it.

use super::{location, TestOutcome, TestResult};

/// TAP, as `node --test` prints it (subtests indented).
pub(super) fn parse(stdout: &str) -> Vec<TestResult> {
    let mut tests: Vec<TestResult> = Vec::new();
    for line in stdout.lines() {
        let trimmed = line.trim_start();
        let (outcome, rest) = if let Some(r) = trimmed.strip_prefix("not ok ") {
            (TestOutcome::Failed, r)
        } else if let Some(r) = trimmed.strip_prefix("ok ") {
            (TestOutcome::Passed, r)
        } else {
            if let (Some(t), Some(loc)) = (tests.last_mut(), trimmed.strip_prefix("location: ")) {
                if t.outcome == TestOutcome::Failed {
                    t.location = location(loc);
                }
            }
            if let (Some(t), Some(ms)) = (tests.last_mut(), trimmed.strip_prefix("duration_ms: ")) {
                t.duration_ms = ms.parse().ok();
            }
            if let Some(t) = tests.last_mut() {
                if t.outcome == TestOutcome::Failed && t.message.is_none() {
                    if let Some(err) = trimmed.strip_prefix("error: ") {
                        t.message = Some(err.trim_matches('\'').to_string());
                    }
                }
            }
            continue;
        };
        let name = rest
            .split_once(" - ")
            .map_or(rest, |(_, n)| n)
            .split(" # ")
            .next()
            .unwrap_or_default()
            .to_string();
        let outcome = if rest.contains("# SKIP") {
            TestOutcome::Skipped
        } else {
            outcome
        };
        tests.push(TestResult {
            name,
            outcome,
            duration_ms: None,
            message: None,
            location: None,
        });
    }
    tests
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::test_support::{at, fixture};

    #[test]
    fn tap_from_node_test_gives_failures_and_where() {
        let tap_out = fixture!("tap/node-test.stdout");
        let tests = parse(tap_out);
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[1].outcome, TestOutcome::Failed);
        assert_eq!(tests[1].location, at("test/calc.test.js", 9, Some(1)));
        assert_eq!(
            tests[1].message.as_deref(),
            Some("Expected values to be strictly equal")
        );
    }
}
