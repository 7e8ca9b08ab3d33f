//! Test results from what the runners print: `cargo test`'s text, pytest's JUnit XML,
//! TAP (`node --test`) and `go test -json`.

use codecontext_sandbox::RunOutcome;
use serde::{Deserialize, Serialize};

use crate::project::{ProjectKind, JUNIT};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    Passed,
    Failed,
    Skipped,
}

/// Where a failure happened: a path relative to the workspace root, 1-based line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    pub name: String,
    pub outcome: TestOutcome,
    /// Not reported by `cargo test` on stable Rust.
    pub duration_ms: Option<f64>,
    pub message: Option<String>,
    pub location: Option<Location>,
}

pub(crate) struct Parsed {
    pub build_failed: bool,
    pub tests: Vec<TestResult>,
}

pub(crate) fn parse(kind: ProjectKind, outcome: &RunOutcome) -> Parsed {
    match kind {
        ProjectKind::Cargo => cargo(&outcome.stdout, &outcome.stderr),
        ProjectKind::Python => {
            let xml = outcome
                .collected
                .iter()
                .find(|(rel, _)| rel == JUNIT)
                .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned());
            let tests = xml.as_deref().map(junit).unwrap_or_default();
            // pytest: 2 = collection errors (the code does not import), 4 = usage.
            let build_failed = matches!(outcome.exit_code, Some(2 | 4))
                || (xml.is_none() && outcome.exit_code != Some(0));
            Parsed {
                build_failed,
                tests,
            }
        }
        ProjectKind::Node => Parsed {
            build_failed: false,
            tests: tap(&outcome.stdout),
        },
        ProjectKind::Go => go_json(&outcome.stdout),
    }
}

/// `path:line` (optionally `:col`) with the path relative to `/work`.
fn location(text: &str) -> Option<Location> {
    let mut parts = text.trim().trim_matches('\'').rsplitn(3, ':');
    let last = parts.next()?;
    let (file, line) = match (parts.next(), parts.next()) {
        (Some(line), Some(file)) if line.parse::<u32>().is_ok() && last.parse::<u32>().is_ok() => {
            (file, line)
        }
        (Some(file), _) => (file, last),
        _ => return None,
    };
    let line: u32 = line.parse().ok()?;
    let file = file.trim_start_matches("/work/").to_string();
    Some(Location { file, line })
}

/// `cargo test`'s human output.
pub(crate) fn cargo(stdout: &str, stderr: &str) -> Parsed {
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
    }
}

/// pytest's JUnit XML (`junit_family=xunit1`, which keeps `file` and `line`).
pub(crate) fn junit(xml: &str) -> Vec<TestResult> {
    use quick_xml::{events::Event, Reader};
    let mut reader = Reader::from_str(xml);
    let mut tests: Vec<TestResult> = Vec::new();
    let mut in_case = false;
    let mut in_detail = false;
    let mut attr_location: Option<Location> = None;
    let attrs = |e: &quick_xml::events::BytesStart<'_>| -> Vec<(String, String)> {
        e.attributes()
            .flatten()
            .map(|a| {
                (
                    String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                    a.unescape_value()
                        .map(|v| v.into_owned())
                        .unwrap_or_default(),
                )
            })
            .collect()
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let name = e.name();
                let a = attrs(&e);
                let get = |k: &str| a.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
                match name.as_ref() {
                    b"testcase" => {
                        let test = get("name").unwrap_or_default();
                        let file = get("file");
                        let full = match (&file, get("classname")) {
                            (Some(f), _) => format!("{f}::{test}"),
                            (None, Some(c)) if !c.is_empty() => format!("{c}::{test}"),
                            _ => test,
                        };
                        attr_location = file
                            .zip(get("line").and_then(|l| l.parse::<u32>().ok()))
                            .map(|(file, line)| Location {
                                file,
                                line: line + 1,
                            });
                        tests.push(TestResult {
                            name: full,
                            outcome: TestOutcome::Passed,
                            duration_ms: get("time")
                                .and_then(|t| t.parse::<f64>().ok())
                                .map(|s| s * 1000.0),
                            message: None,
                            location: None,
                        });
                        in_case = true;
                    }
                    b"failure" | b"error" if in_case => {
                        if let Some(t) = tests.last_mut() {
                            t.outcome = TestOutcome::Failed;
                            t.message = get("message");
                            t.location = attr_location.clone();
                        }
                        in_detail = true;
                    }
                    b"skipped" if in_case => {
                        if let Some(t) = tests.last_mut() {
                            t.outcome = TestOutcome::Skipped;
                            t.message = get("message");
                        }
                    }
                    _ => {}
                }
            }
            Ok(Event::Text(text)) if in_detail => {
                // The traceback's last `path.py:LINE: Error` is where it failed.
                let text = text.decode().map(|t| t.into_owned()).unwrap_or_default();
                let text = quick_xml::escape::unescape(&text)
                    .map(|t| t.into_owned())
                    .unwrap_or(text);
                if let Some(t) = tests.last_mut() {
                    let place = text.lines().rev().find_map(|l| {
                        let (head, _) = l.split_once(": ")?;
                        head.ends_with(|c: char| c.is_ascii_digit())
                            .then(|| location(head))
                            .flatten()
                    });
                    if place.is_some() {
                        t.location = place;
                    }
                }
            }
            Ok(Event::End(e)) => match e.name().as_ref() {
                b"testcase" => in_case = false,
                b"failure" | b"error" => in_detail = false,
                _ => {}
            },
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    tests
}

/// TAP, as `node --test` prints it (subtests indented).
pub(crate) fn tap(stdout: &str) -> Vec<TestResult> {
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

/// `go test -json` events.
pub(crate) fn go_json(stdout: &str) -> Parsed {
    let mut tests: Vec<TestResult> = Vec::new();
    let mut build_failed = false;
    let mut output: std::collections::HashMap<String, String> = Default::default();
    for line in stdout.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let action = v["Action"].as_str().unwrap_or_default();
        let test = v["Test"].as_str();
        match (action, test) {
            ("output", Some(t)) => {
                output
                    .entry(t.to_string())
                    .or_default()
                    .push_str(v["Output"].as_str().unwrap_or_default());
            }
            ("output", None)
                if v["Output"].as_str().is_some_and(|o| {
                    o.contains("[build failed]") || o.contains("[setup failed]")
                }) =>
            {
                build_failed = true
            }
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
    Parsed {
        build_failed,
        tests,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_output_gives_each_test_and_where_a_failure_panicked() {
        let stdout = "\nrunning 3 tests\ntest tests::adds ... ok\ntest tests::slow ... ignored\ntest tests::breaks ... FAILED\n\nfailures:\n\n---- tests::breaks stdout ----\n\nthread 'tests::breaks' panicked at src/lib.rs:17:9:\nassertion `left == right` failed\n  left: 3\n right: 4\nnote: run with `RUST_BACKTRACE=1`\n\n\nfailures:\n    tests::breaks\n\ntest result: FAILED. 1 passed; 1 failed; 1 ignored\n";
        let parsed = cargo(stdout, "error: test failed, to rerun pass `--lib`\n");
        assert!(!parsed.build_failed);
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
        assert_eq!(
            failed.location,
            Some(Location {
                file: "src/lib.rs".into(),
                line: 17
            })
        );
        assert_eq!(
            failed.message.as_deref(),
            Some("assertion `left == right` failed\n  left: 3\n right: 4")
        );
        assert!(
            cargo(
                "",
                "error[E0308]: mismatched types\nerror: could not compile `x`"
            )
            .build_failed
        );
    }

    #[test]
    fn junit_from_pytest_gives_names_durations_and_failure_lines() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1" skipped="0" tests="2" time="0.03"><testcase classname="tests.test_calc" name="test_add" file="tests/test_calc.py" line="3" time="0.001" /><testcase classname="tests.test_calc" name="test_sub" file="tests/test_calc.py" line="6" time="0.002"><failure message="assert 1 == 2">def test_sub():
&gt;       assert sub(3, 1) == 3
E       assert 2 == 3

tests/test_calc.py:8: AssertionError</failure></testcase></testsuite></testsuites>"#;
        let tests = junit(xml);
        assert_eq!(tests.len(), 2);
        assert_eq!(
            (tests[0].name.as_str(), tests[0].outcome),
            ("tests/test_calc.py::test_add", TestOutcome::Passed)
        );
        assert_eq!(tests[1].outcome, TestOutcome::Failed);
        assert_eq!(
            tests[1].location,
            Some(Location {
                file: "tests/test_calc.py".into(),
                line: 8
            })
        );
        assert_eq!(tests[1].message.as_deref(), Some("assert 1 == 2"));
        assert_eq!(tests[1].duration_ms, Some(2.0));
    }

    #[test]
    fn tap_and_go_json() {
        let tap_out = "TAP version 13\n# Subtest: adds\nok 1 - adds\n  ---\n  duration_ms: 1.5\n  ...\n# Subtest: breaks\nnot ok 2 - breaks\n  ---\n  duration_ms: 0.7\n  location: '/work/test/calc.test.js:9:1'\n  failureType: 'testCodeFailure'\n  error: 'Expected values to be strictly equal'\n  ...\n1..2\n";
        let tests = tap(tap_out);
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[1].outcome, TestOutcome::Failed);
        assert_eq!(
            tests[1].location,
            Some(Location {
                file: "test/calc.test.js".into(),
                line: 9
            })
        );
        assert_eq!(
            tests[1].message.as_deref(),
            Some("Expected values to be strictly equal")
        );
        let go = "{\"Action\":\"run\",\"Test\":\"TestAdd\"}\n{\"Action\":\"pass\",\"Test\":\"TestAdd\",\"Elapsed\":0.01}\n{\"Action\":\"output\",\"Test\":\"TestSub\",\"Output\":\"    calc_test.go:12: got 2, want 3\\n\"}\n{\"Action\":\"fail\",\"Test\":\"TestSub\",\"Elapsed\":0}\n";
        let parsed = go_json(go);
        assert_eq!(parsed.tests.len(), 2);
        assert_eq!(
            parsed.tests[1].location,
            Some(Location {
                file: "calc_test.go".into(),
                line: 12
            })
        );
    }
}
