//! Test results and build errors from what the runners print, one parser per runner:
//!
//! - `cargo`: `cargo test`'s text, and rustc's diagnostics as cargo prints them.
//! - `junit`: JUnit XML (pytest's, collection errors included), and a pytest run's
//!   report, exit status and stdout read together.
//! - `tap`: TAP, as `node --test` prints it.
//! - `go`: `go test -json`, and Go's build output.
//! - `python`: Python tracebacks, and pytest's printout of collection errors.
//!
//! Here: the types every parser answers with, which parser reads a run (`Reading`), and
//! `parse`, which hands a run's output to it. The parsers' tests read real runner output
//! from `tests/data/results/<runner>/`.

mod cargo;
mod go;
mod junit;
mod python;
mod tap;
#[cfg(test)]
mod test_support;

use codecontext_sandbox::RunOutcome;
use serde::{Deserialize, Serialize};

use crate::project::ProjectKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    Passed,
    Failed,
    Skipped,
}

/// Where something happened: a path relative to the workspace root, 1-based line and,
/// when the tool says, 1-based column (as the tool counts: characters for rustc, bytes
/// for Go).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
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

/// An error that kept the code from building (or, for Python, from importing): the
/// compiler's one-line message and where it points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildError {
    pub message: String,
    pub location: Option<Location>,
}

/// Which parser reads a run's output (`parser` in `codecontext.toml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResultsParser {
    /// `cargo test`'s text on stdout, rustc's diagnostics on stderr.
    Cargo,
    /// A JUnit XML report: the configured `results` file, pytest's, or else stdout.
    Junit,
    /// TAP on stdout, as `node --test` prints it.
    Tap,
    /// `go test -json` on stdout, Go's build output on stderr.
    GoJson,
    /// No test results: only the exit status counts (`"none"`).
    #[serde(rename = "none")]
    ExitStatus,
}

impl ResultsParser {
    /// The parser for a detected project's own test command.
    pub fn of(kind: ProjectKind) -> ResultsParser {
        match kind {
            ProjectKind::Cargo => ResultsParser::Cargo,
            ProjectKind::Python => ResultsParser::Junit,
            ProjectKind::Node => ResultsParser::Tap,
            ProjectKind::Go => ResultsParser::GoJson,
        }
    }

    /// The name `codecontext.toml` gives it.
    pub fn name(self) -> &'static str {
        match self {
            ResultsParser::Cargo => "cargo",
            ResultsParser::Junit => "junit",
            ResultsParser::Tap => "tap",
            ResultsParser::GoJson => "go-json",
            ResultsParser::ExitStatus => "none",
        }
    }
}

/// The line a configured build command's failure prints to stderr, then its exit
/// status: how the parser tells a failed build from failed tests, whatever the build.
pub(crate) const BUILD_FAILED: &str = "codecontext-verify: the build command failed, exit status";

/// How to read a planned run's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reading {
    pub parser: ResultsParser,
    /// The JUnit XML report the run writes (collected), relative to the root.
    pub report: Option<String>,
    /// The detected pytest command runs: its exit status tells collection errors.
    pub pytest: bool,
    /// A configured build command runs first and announces its failure ([`BUILD_FAILED`]).
    pub build: bool,
}

#[derive(Debug, Default, PartialEq)]
pub(crate) struct Parsed {
    pub build_failed: bool,
    pub tests: Vec<TestResult>,
    pub build_errors: Vec<BuildError>,
}

/// The tests and build errors of a run planned to be read as `reading` says. A failed
/// build command is a failed build whatever the parser, with the errors of any compiler
/// found in its output.
pub(crate) fn parse(reading: &Reading, outcome: &RunOutcome) -> Parsed {
    let (stdout, stderr) = (outcome.stdout.as_str(), outcome.stderr.as_str());
    if reading.build && stderr.lines().any(|l| l.starts_with(BUILD_FAILED)) {
        // The tests did not run: everything printed is the build's.
        let output = format!("{stdout}\n{stderr}");
        let mut build_errors = cargo::rustc_errors(&output);
        build_errors.extend(go::go_errors(&output));
        build_errors.extend(python::python_errors(&output));
        return Parsed {
            build_failed: true,
            tests: Vec::new(),
            build_errors,
        };
    }
    match reading.parser {
        ResultsParser::Cargo => cargo::parse(stdout, stderr),
        ResultsParser::Junit => junit::parse_run(reading, outcome),
        ResultsParser::Tap => Parsed {
            tests: tap::parse(stdout),
            ..Parsed::default()
        },
        ResultsParser::GoJson => go::parse(stdout, stderr),
        ResultsParser::ExitStatus => Parsed::default(),
    }
}

/// `path:line` or `path:line:column`, with the path relative to `/work` and without `./`.
fn location(text: &str) -> Option<Location> {
    let text = text.trim().trim_matches('\'');
    let (rest, last) = text.rsplit_once(':')?;
    let last: u32 = last.parse().ok()?;
    let (file, line, column) = match rest
        .rsplit_once(':')
        .and_then(|(file, line)| Some((file, line.parse::<u32>().ok()?)))
    {
        Some((file, line)) => (file, line, Some(last)),
        None => (rest, last, None),
    };
    let file = file
        .strip_prefix("/work/")
        .or_else(|| file.strip_prefix("./"))
        .unwrap_or(file);
    if file.is_empty() {
        return None;
    }
    Some(Location {
        file: file.to_string(),
        line,
        column,
    })
}

#[cfg(test)]
mod tests {
    use super::test_support::{at, error, fixture, outcome, reading};
    use super::*;

    #[test]
    fn a_failed_build_command_is_a_failed_build_whatever_the_parser() {
        let rustc_stderr = fixture!("cargo/build-errors.stderr");
        let stderr = format!("{rustc_stderr}\n{BUILD_FAILED} 101\n");
        let build = Reading {
            build: true,
            ..reading(ResultsParser::Tap)
        };
        let parsed = parse(&build, &outcome(101, "", &stderr));
        assert!(parsed.build_failed);
        assert_eq!(parsed.tests, []);
        assert_eq!(parsed.build_errors.len(), 3);
        assert_eq!(
            parsed.build_errors[2].location,
            at("src/lib.rs", 8, Some(5))
        );
        // Any compiler: here Go's, on stdout.
        let go = "# example.com/calc\n./calc.go:12:3: undefined: foo\n";
        let parsed = parse(&build, &outcome(1, go, &format!("\n{BUILD_FAILED} 1\n")));
        assert_eq!(
            parsed.build_errors,
            [error("undefined: foo", at("calc.go", 12, Some(3)))]
        );
        // Without the marker, the tests ran: TAP says how they went.
        let parsed = parse(&build, &outcome(1, "ok 1 - adds\nnot ok 2 - subs\n", ""));
        assert!(!parsed.build_failed);
        assert_eq!(parsed.tests.len(), 2);
        // Without a build command, the marker means nothing.
        let parsed = parse(
            &reading(ResultsParser::Tap),
            &outcome(1, "", &format!("{BUILD_FAILED} 1\n")),
        );
        assert!(!parsed.build_failed);
    }

    #[test]
    fn exit_status_parser_and_a_configured_report() {
        assert_eq!(
            parse(
                &reading(ResultsParser::ExitStatus),
                &outcome(1, "3 failed", "")
            ),
            Parsed::default()
        );
        let xml = fixture!("junit/configured-report.xml");
        let mut run = outcome(1, "", "");
        run.collected = vec![("out/junit.xml".into(), xml.as_bytes().to_vec())];
        let configured = Reading {
            report: Some("out/junit.xml".into()),
            ..reading(ResultsParser::Junit)
        };
        let parsed = parse(&configured, &run);
        assert!(!parsed.build_failed);
        let names: Vec<_> = parsed
            .tests
            .iter()
            .map(|t| (t.name.as_str(), t.outcome))
            .collect();
        assert_eq!(
            names,
            [
                ("calc::adds", TestOutcome::Passed),
                ("calc::subs", TestOutcome::Failed)
            ]
        );
        // The report is missing: no tests, and not a failed build (only pytest's
        // exit status says that).
        assert_eq!(parse(&configured, &outcome(1, xml, "")), Parsed::default());
        // No report configured: XML on stdout is read.
        assert_eq!(
            parse(&reading(ResultsParser::Junit), &outcome(1, xml, ""))
                .tests
                .len(),
            2
        );
    }

    #[test]
    fn locations_keep_the_column_and_drop_work_and_dot_slash() {
        assert_eq!(location("/work/src/a.rs:3:7"), at("src/a.rs", 3, Some(7)));
        assert_eq!(location("./calc.go:12"), at("calc.go", 12, None));
        assert_eq!(location("'x.js:1:2'"), at("x.js", 1, Some(2)));
        assert_eq!(location("src/a.rs"), None);
        assert_eq!(location(":3"), None);
    }

    #[test]
    fn verdict_json_keeps_location_compatible() {
        let json = serde_json::to_value(error("undefined: foo", at("calc.go", 12, None))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"message": "undefined: foo", "location": {"file": "calc.go", "line": 12}})
        );
        let old: Location = serde_json::from_str(r#"{"file": "a.py", "line": 2}"#).unwrap();
        assert_eq!(Some(old), at("a.py", 2, None));
    }
}
