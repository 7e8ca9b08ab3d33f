//! JUnit XML reports: pytest's (node ids, failure lines, collection errors as build
//! errors) and other tools', and how a run's report, stdout and, for pytest, exit
//! status are read together.

use codecontext_sandbox::RunOutcome;

use super::{location, python, BuildError, Location, Parsed, Reading, TestOutcome, TestResult};

/// A run read with the JUnit parser: the report it wrote (collected), or without one the
/// XML on stdout; for the detected pytest command, its exit status and stdout tell
/// collection errors too.
pub(super) fn parse_run(reading: &Reading, outcome: &RunOutcome) -> Parsed {
    let stdout = outcome.stdout.as_str();
    let report = reading.report.as_ref().and_then(|report| {
        outcome
            .collected
            .iter()
            .find(|(rel, _)| rel == report)
            .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
    });
    let xml = match (&report, &reading.report) {
        (Some(xml), _) => Some(xml.as_str()),
        // No report file: some tools print the XML.
        (None, None) if stdout.contains("<testsuite") => Some(stdout),
        _ => None,
    };
    let mut parsed = xml.map(parse).unwrap_or_default();
    if reading.pytest {
        // pytest: 2 = collection errors (the code does not import), 4 = usage.
        parsed.build_failed |= matches!(outcome.exit_code, Some(2 | 4))
            || (report.is_none() && outcome.exit_code != Some(0));
        if parsed.build_failed && parsed.build_errors.is_empty() {
            parsed.build_errors = python::pytest_collection_errors(stdout);
        }
    }
    parsed
}

/// A JUnit XML report. pytest's (`junit_family=xunit1`) keeps `file` and `line`; its
/// collection errors (`<error message="collection failure">`: the module does not
/// import) are build errors too, located where the traceback says.
pub(super) fn parse(xml: &str) -> Parsed {
    use quick_xml::{events::Event, Reader};
    let mut reader = Reader::from_str(xml);
    let mut report = JunitReport::default();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => report.open(&e, false),
            Ok(Event::Empty(e)) => report.open(&e, true),
            Ok(Event::Text(text)) => report.text(&text.xml_content().unwrap_or_default()),
            Ok(Event::CData(text)) => report.text(&text.decode().unwrap_or_default()),
            Ok(Event::GeneralRef(r)) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    _ => r.decode().ok().and_then(|name| {
                        quick_xml::escape::resolve_predefined_entity(&name).map(String::from)
                    }),
                };
                if let Some(resolved) = resolved {
                    report.text(&resolved);
                }
            }
            Ok(Event::End(e)) => match e.name().as_ref() {
                b"testcase" => report.in_case = false,
                b"failure" | b"error" => report.close_detail(),
                _ => {}
            },
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    report.parsed.build_failed = !report.parsed.build_errors.is_empty();
    report.parsed
}

/// What [`parse`] has read so far.
#[derive(Default)]
struct JunitReport {
    parsed: Parsed,
    in_case: bool,
    /// The current test case's `file`, and its `line` as a location.
    case_file: Option<String>,
    case_location: Option<Location>,
    /// The text of the `<failure>` or `<error>` being read; `true` for a collection error.
    detail: Option<(String, bool)>,
}

impl JunitReport {
    fn open(&mut self, e: &quick_xml::events::BytesStart<'_>, empty: bool) {
        let attrs: Vec<(String, String)> = e
            .attributes()
            .flatten()
            .map(|a| {
                (
                    String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                    a.unescape_value()
                        .map(|v| v.into_owned())
                        .unwrap_or_default(),
                )
            })
            .collect();
        let get = |k: &str| {
            attrs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        match e.name().as_ref() {
            b"testcase" => {
                let test = get("name").unwrap_or_default();
                let file = get("file");
                let full = match (&file, get("classname")) {
                    // pytest's node id: the file, then the classes the module path
                    // in `classname` does not cover.
                    (Some(f), Some(c)) => {
                        let module = f.trim_end_matches(".py").replace('/', ".");
                        match c.strip_prefix(&module).and_then(|r| r.strip_prefix('.')) {
                            Some(classes) if !classes.is_empty() => {
                                format!("{f}::{}::{test}", classes.replace('.', "::"))
                            }
                            _ => format!("{f}::{test}"),
                        }
                    }
                    (Some(f), None) => format!("{f}::{test}"),
                    (None, Some(c)) if !c.is_empty() => format!("{c}::{test}"),
                    _ => test,
                };
                self.case_location = file
                    .clone()
                    .zip(get("line").and_then(|l| l.parse::<u32>().ok()))
                    .map(|(file, line)| Location {
                        file,
                        line: line + 1,
                        column: None,
                    });
                self.case_file = file;
                self.parsed.tests.push(TestResult {
                    name: full,
                    outcome: TestOutcome::Passed,
                    duration_ms: get("time")
                        .and_then(|t| t.parse::<f64>().ok())
                        .map(|s| s * 1000.0),
                    message: None,
                    location: None,
                });
                self.in_case = !empty;
            }
            b"failure" | b"error" if self.in_case => {
                let message = get("message");
                let collection = message.as_deref().is_some_and(|m| {
                    m.contains("collection failure") || m.contains("collection error")
                });
                if let Some(t) = self.parsed.tests.last_mut() {
                    t.outcome = TestOutcome::Failed;
                    t.message = message;
                    t.location = self.case_location.clone();
                }
                self.detail = Some((String::new(), collection));
                if empty {
                    self.close_detail();
                }
            }
            b"skipped" if self.in_case => {
                if let Some(t) = self.parsed.tests.last_mut() {
                    t.outcome = TestOutcome::Skipped;
                    t.message = get("message");
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, text: &str) {
        if let Some((detail, _)) = &mut self.detail {
            detail.push_str(text);
        }
    }

    fn close_detail(&mut self) {
        let Some((text, collection)) = self.detail.take() else {
            return;
        };
        // The traceback's last `path.py:LINE: Error` is where it failed.
        let place = text.lines().rev().find_map(|l| {
            let (head, _) = l.split_once(": ")?;
            head.ends_with(|c: char| c.is_ascii_digit())
                .then(|| location(head))
                .flatten()
        });
        if let (Some(t), Some(place)) = (self.parsed.tests.last_mut(), place) {
            t.location = Some(place);
        }
        if collection {
            let error = python::python_errors(&text)
                .pop()
                .unwrap_or_else(|| BuildError {
                    message: match &self.case_file {
                        Some(file) => format!("collection failure in {file}"),
                        None => "collection failure".to_string(),
                    },
                    location: None,
                });
            self.parsed.build_errors.push(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{
        self,
        test_support::{at, error, fixture, outcome},
        ResultsParser,
    };

    #[test]
    fn junit_from_pytest_gives_names_durations_and_failure_lines() {
        let xml = fixture!("junit/pytest-failure.xml");
        let parsed = parse(xml);
        assert!(!parsed.build_failed);
        assert_eq!(parsed.build_errors, []);
        let tests = parsed.tests;
        assert_eq!(tests.len(), 3);
        assert_eq!(
            (tests[0].name.as_str(), tests[0].outcome),
            ("tests/test_calc.py::test_add", TestOutcome::Passed)
        );
        // A method of a test class has the class in its node id.
        assert_eq!(
            tests[1].name.as_str(),
            "tests/test_calc.py::TestCalc::test_in_class"
        );
        assert_eq!(tests[2].outcome, TestOutcome::Failed);
        assert_eq!(tests[2].location, at("tests/test_calc.py", 8, None));
        assert_eq!(tests[2].message.as_deref(), Some("assert 1 == 2"));
        assert_eq!(tests[2].duration_ms, Some(2.0));
    }

    /// pytest 7's JUnit report (xunit1) of a module with a syntax error in what it
    /// imports, and of a module importing a missing package.
    const PYTEST_COLLECTION_XML: &str = fixture!("junit/pytest-collection-errors.xml");

    #[test]
    fn junit_collection_errors_are_build_errors_where_the_traceback_points() {
        let parsed = parse(PYTEST_COLLECTION_XML);
        assert!(parsed.build_failed);
        assert_eq!(
            parsed.build_errors,
            [
                error(
                    "SyntaxError: expected ':'",
                    at("/home/me/calc/calc.py", 3, None)
                ),
                error(
                    "ModuleNotFoundError: No module named 'nosuchmodule'",
                    at("tests/test_imp.py", 1, None)
                ),
            ]
        );
        // As before, each module is also a failed "test" at its import line.
        assert_eq!(parsed.tests[0].location, at("tests/test_calc.py", 1, None));
        let empty = r#"<testsuite><testcase classname="" name="tests.test_x" file="tests/test_x.py"><error message="collection failure"/></testcase></testsuite>"#;
        assert_eq!(
            parse(empty).build_errors,
            [error("collection failure in tests/test_x.py", None)]
        );
    }

    #[test]
    fn pytest_without_a_report_reads_its_stdout() {
        // pytest stopped before writing the report: exit status 2, errors on stdout.
        let run = outcome(2, fixture!("python/pytest-collection-errors.stdout"), "");
        let reading = Reading {
            parser: ResultsParser::Junit,
            report: Some(crate::project::JUNIT.into()),
            pytest: true,
            build: false,
        };
        let parsed = results::parse(&reading, &run);
        assert!(parsed.build_failed);
        assert_eq!(parsed.build_errors.len(), 2);
        // With the report, the errors come from it.
        let mut run = outcome(2, "", "");
        run.collected = vec![(
            crate::project::JUNIT.into(),
            PYTEST_COLLECTION_XML.as_bytes().to_vec(),
        )];
        let parsed = results::parse(&reading, &run);
        assert!(parsed.build_failed);
        assert_eq!(parsed.tests.len(), 2);
        assert_eq!(
            parsed.build_errors[1].location,
            at("tests/test_imp.py", 1, None)
        );
    }
}
