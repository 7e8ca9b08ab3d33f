//! Test results and build errors from what the runners print: `cargo test`'s text and
//! rustc's diagnostics, JUnit XML (pytest's, collection errors included), TAP
//! (`node --test`), `go test -json` and Go's build output, and Python tracebacks.

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
        let mut build_errors = rustc_errors(&output);
        build_errors.extend(go_errors(&output));
        build_errors.extend(python_errors(&output));
        return Parsed {
            build_failed: true,
            tests: Vec::new(),
            build_errors,
        };
    }
    match reading.parser {
        ResultsParser::Cargo => cargo(stdout, stderr),
        ResultsParser::Junit => {
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
            let mut parsed = xml.map(junit).unwrap_or_default();
            if reading.pytest {
                // pytest: 2 = collection errors (the code does not import), 4 = usage.
                parsed.build_failed |= matches!(outcome.exit_code, Some(2 | 4))
                    || (report.is_none() && outcome.exit_code != Some(0));
                if parsed.build_failed && parsed.build_errors.is_empty() {
                    parsed.build_errors = pytest_collection_errors(stdout);
                }
            }
            parsed
        }
        ResultsParser::Tap => Parsed {
            tests: tap(stdout),
            ..Parsed::default()
        },
        ResultsParser::GoJson => go_json(stdout, stderr),
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
        build_errors: rustc_errors(stderr),
    }
}

/// A JUnit XML report. pytest's (`junit_family=xunit1`) keeps `file` and `line`; its
/// collection errors (`<error message="collection failure">`: the module does not
/// import) are build errors too, located where the traceback says.
pub(crate) fn junit(xml: &str) -> Parsed {
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

/// What [`junit`] has read so far.
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
            let error = python_errors(&text).pop().unwrap_or_else(|| BuildError {
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

/// `go test -json` events; build errors from the build output (`build-output` events
/// since Go 1.24, plain text on stderr before) and from a package's own output (setup
/// failures).
pub(crate) fn go_json(stdout: &str, stderr: &str) -> Parsed {
    let mut tests: Vec<TestResult> = Vec::new();
    let mut build_failed = false;
    let mut build_output = String::new();
    let mut output: std::collections::HashMap<String, String> = Default::default();
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

/// rustc's errors as cargo prints them on stderr: `error[E0308]: mismatched types` or
/// `error: cannot find macro ...`, then ` --> src/lib.rs:8:5`. Warnings are skipped, and
/// so is an `error:` with no `-->` (cargo's own summaries: `could not compile`, `test
/// failed`); an error with a code is kept even without a location.
pub(crate) fn rustc_errors(text: &str) -> Vec<BuildError> {
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

/// Go's build errors: `./calc.go:12:3: undefined: foo` lines (tab-indented lines after
/// one continue its message), and inside a `# package` block, lines without a place
/// (`import cycle not allowed`), which name the package.
pub(crate) fn go_errors(text: &str) -> Vec<BuildError> {
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

/// Python's errors in tracebacks: each `SomeError: message` line (pytest's `E   `
/// prefix allowed) is an error, located at the last place named before it, either a
/// traceback's `File "x.py", line 3` or a pytest frame `x.py:3: in <module>`; places in
/// the standard library and installed packages are passed over.
pub(crate) fn python_errors(text: &str) -> Vec<BuildError> {
    let mut errors = Vec::new();
    let mut place: Option<Location> = None;
    for line in text.lines() {
        let (line, pytest_e) = match line.strip_prefix('E') {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => (rest.trim(), true),
            _ => (line.trim(), false),
        };
        if let Some(rest) = line.strip_prefix("File \"") {
            // `File "/x/calc.py", line 3` or `..., line 3, in <module>`.
            let Some((file, rest)) = rest.split_once("\", line ") else {
                continue;
            };
            let number = rest.split(',').next().unwrap_or_default();
            if let (Ok(line), false) = (number.trim().parse::<u32>(), library(file)) {
                place = location(&format!("{file}:{line}"));
            }
        } else if let Some((head, _)) = line.split_once(": in ").filter(|_| !pytest_e) {
            if !library(head) {
                place = location(head).or(place);
            }
        } else if is_exception(line) {
            errors.push(BuildError {
                message: line.to_string(),
                location: place.take(),
            });
        }
    }
    errors
}

/// A file of Python itself or of an installed package, not of the project.
fn library(file: &str) -> bool {
    file.starts_with('<')
        || [
            "/site-packages/",
            "/dist-packages/",
            "/lib/python",
            "/_pytest/",
        ]
        .iter()
        .any(|dir| file.contains(dir))
}

/// `SyntaxError: expected ':'`, `ModuleNotFoundError: No module named 'x'`,
/// `pkg.errors.ConfigError`.
fn is_exception(line: &str) -> bool {
    let name = line.split_once(": ").map_or(line, |(name, _)| name);
    let word = name.rsplit('.').next().unwrap_or_default();
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && (word.ends_with("Error") || word.ends_with("Exception"))
        && word.starts_with(|c: char| c.is_ascii_uppercase())
}

/// pytest's collection errors as it prints them: a `___ ERROR collecting x.py ___`
/// section per module with its traceback, or failing that the short summary's
/// `ERROR x.py - SyntaxError: ...` lines.
pub(crate) fn pytest_collection_errors(stdout: &str) -> Vec<BuildError> {
    let mut errors = Vec::new();
    let mut section: Option<(String, String)> = None;
    let finish = |section: Option<(String, String)>, errors: &mut Vec<BuildError>| {
        if let Some((module, text)) = section {
            errors.push(python_errors(&text).pop().unwrap_or(BuildError {
                message: format!("collection failure in {module}"),
                location: None,
            }));
        }
    };
    for line in stdout.lines() {
        let banner = line.starts_with("___") || line.starts_with("===") || line.starts_with("---");
        if banner {
            finish(section.take(), &mut errors);
            let title = line.trim_matches(|c| c == '_' || c == ' ');
            if let Some(module) = title.strip_prefix("ERROR collecting ") {
                section = Some((module.to_string(), String::new()));
            }
        } else if let Some((_, text)) = &mut section {
            text.push_str(line);
            text.push('\n');
        }
    }
    finish(section.take(), &mut errors);
    if errors.is_empty() {
        for line in stdout.lines() {
            let Some(rest) = line.strip_prefix("ERROR ") else {
                continue;
            };
            let (module, reason) = rest.split_once(" - ").unwrap_or((rest, ""));
            // `file.py::test` is a test's error (a fixture's, say), not a collection's.
            if module.contains("::") || module.contains(' ') {
                continue;
            }
            errors.push(BuildError {
                message: if reason.is_empty() {
                    format!("collection failure in {module}")
                } else {
                    format!("{module}: {reason}")
                },
                location: None,
            });
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(file: &str, line: u32, column: Option<u32>) -> Option<Location> {
        Some(Location {
            file: file.into(),
            line,
            column,
        })
    }

    fn error(message: &str, location: Option<Location>) -> BuildError {
        BuildError {
            message: message.into(),
            location,
        }
    }

    fn outcome(exit_code: i32, stdout: &str, stderr: &str) -> RunOutcome {
        RunOutcome {
            status: if exit_code == 0 {
                codecontext_sandbox::Status::Ok
            } else {
                codecontext_sandbox::Status::Error
            },
            exit_code: Some(exit_code),
            signal: None,
            stdout: stdout.into(),
            stderr: stderr.into(),
            stdout_truncated: false,
            stderr_truncated: false,
            wall_ms: 1,
            cpu_ms: 1,
            peak_memory_bytes: 0,
            process_limit_hit: false,
            snapshot: None,
            enforcement: codecontext_sandbox::Enforcement::Rlimits,
            message: None,
            collected: Vec::new(),
        }
    }

    fn reading(parser: ResultsParser) -> Reading {
        Reading {
            parser,
            report: None,
            pytest: false,
            build: false,
        }
    }

    #[test]
    fn cargo_output_gives_each_test_and_where_a_failure_panicked() {
        let stdout = "\nrunning 3 tests\ntest tests::adds ... ok\ntest tests::slow ... ignored\ntest tests::breaks ... FAILED\n\nfailures:\n\n---- tests::breaks stdout ----\n\nthread 'tests::breaks' panicked at src/lib.rs:17:9:\nassertion `left == right` failed\n  left: 3\n right: 4\nnote: run with `RUST_BACKTRACE=1`\n\n\nfailures:\n    tests::breaks\n\ntest result: FAILED. 1 passed; 1 failed; 1 ignored\n";
        let parsed = cargo(stdout, "error: test failed, to rerun pass `--lib`\n");
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
    const RUSTC_STDERR: &str = "   Compiling broken v0.1.0 (/home/me/broken)
error: cannot find macro `undefined_macro` in this scope
  --> src/lib.rs:12:5
   |
12 |     undefined_macro!(a)
   |     ^^^^^^^^^^^^^^^

error[E0308]: mismatched types
 --> src/lib.rs:7:21
  |
7 |     let s: String = a - b;
  |            ------   ^^^^^ expected `String`, found `i32`
  |            |
  |            expected due to this
  |
help: try using a conversion method
  |
7 |     let s: String = (a - b).to_string();
  |                     +     +++++++++++++

error[E0308]: mismatched types
 --> src/lib.rs:8:5
  |
6 | pub fn sub(a: i32, b: i32) -> i32 {
  |                               --- expected `i32` because of return type
7 |     let s: String = a - b;
8 |     \"x\"
  |     ^^^ expected `i32`, found `&str`

warning: unused variable: `unused`
 --> src/lib.rs:2:9
  |
2 |     let unused = 3;
  |         ^^^^^^ help: if this is intentional, prefix it with an underscore: `_unused`
  |
  = note: `#[warn(unused_variables)]` (part of `#[warn(unused)]`) on by default

For more information about this error, try `rustc --explain E0308`.
warning: `broken` (lib) generated 1 warning
error: could not compile `broken` (lib) due to 3 previous errors; 1 warning emitted
";

    #[test]
    fn rustc_errors_with_their_places_and_no_warnings_or_summaries() {
        let parsed = cargo("", RUSTC_STDERR);
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

    #[test]
    fn junit_from_pytest_gives_names_durations_and_failure_lines() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1" skipped="0" tests="2" time="0.03"><testcase classname="tests.test_calc" name="test_add" file="tests/test_calc.py" line="3" time="0.001" /><testcase classname="tests.test_calc.TestCalc" name="test_in_class" file="tests/test_calc.py" line="12" time="0.001" /><testcase classname="tests.test_calc" name="test_sub" file="tests/test_calc.py" line="6" time="0.002"><failure message="assert 1 == 2">def test_sub():
&gt;       assert sub(3, 1) == 3
E       assert 2 == 3

tests/test_calc.py:8: AssertionError</failure></testcase></testsuite></testsuites>"#;
        let parsed = junit(xml);
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
    const PYTEST_COLLECTION_XML: &str = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="2" failures="0" skipped="0" tests="2" time="0.261" timestamp="2025-11-26T05:23:51.273365" hostname="vm"><testcase classname="" name="tests.test_calc" file="tests/test_calc.py" time="0.000"><error message="collection failure">/usr/lib/python3/dist-packages/_pytest/python.py:618: in _importtestmodule
    mod = import_path(self.path, mode=importmode, root=self.config.rootpath)
/usr/lib/python3/dist-packages/_pytest/pathlib.py:533: in import_path
    importlib.import_module(module_name)
/usr/lib/python3.11/importlib/__init__.py:126: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
&lt;frozen importlib._bootstrap&gt;:1206: in _gcd_import
    ???
&lt;frozen importlib._bootstrap&gt;:690: in _load_unlocked
    ???
/usr/lib/python3/dist-packages/_pytest/assertion/rewrite.py:168: in exec_module
    exec(co, module.__dict__)
tests/test_calc.py:1: in &lt;module&gt;
    from calc import add
E     File "/home/me/calc/calc.py", line 3
E       def add(a, b)
E                    ^
E   SyntaxError: expected ':'</error></testcase><testcase classname="" name="tests.test_imp" file="tests/test_imp.py" time="0.000"><error message="collection failure">ImportError while importing test module '/home/me/calc/tests/test_imp.py'.
Hint: make sure your test modules/packages have valid Python names.
Traceback:
/usr/lib/python3.11/importlib/__init__.py:126: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
tests/test_imp.py:1: in &lt;module&gt;
    import nosuchmodule
E   ModuleNotFoundError: No module named 'nosuchmodule'</error></testcase></testsuite></testsuites>"#;

    #[test]
    fn junit_collection_errors_are_build_errors_where_the_traceback_points() {
        let parsed = junit(PYTEST_COLLECTION_XML);
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
            junit(empty).build_errors,
            [error("collection failure in tests/test_x.py", None)]
        );
    }

    /// `pytest -q`'s stdout for the same two modules.
    const PYTEST_COLLECTION_STDOUT: &str = "
==================================== ERRORS ====================================
_____________________ ERROR collecting tests/test_calc.py ______________________
/usr/lib/python3/dist-packages/_pytest/python.py:618: in _importtestmodule
    mod = import_path(self.path, mode=importmode, root=self.config.rootpath)
<frozen importlib._bootstrap>:1206: in _gcd_import
    ???
tests/test_calc.py:1: in <module>
    from calc import add
E     File \"/home/me/calc/calc.py\", line 3
E       def add(a, b)
E                    ^
E   SyntaxError: expected ':'
______________________ ERROR collecting tests/test_imp.py ______________________
ImportError while importing test module '/home/me/calc/tests/test_imp.py'.
Hint: make sure your test modules/packages have valid Python names.
Traceback:
/usr/lib/python3.11/importlib/__init__.py:126: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
tests/test_imp.py:1: in <module>
    import nosuchmodule
E   ModuleNotFoundError: No module named 'nosuchmodule'
=========================== short test summary info ============================
ERROR tests/test_calc.py
ERROR tests/test_imp.py
!!!!!!!!!!!!!!!!!!! Interrupted: 2 errors during collection !!!!!!!!!!!!!!!!!!!!
2 errors in 0.25s
";

    #[test]
    fn pytest_stdout_collection_errors_and_the_summary_when_that_is_all() {
        assert_eq!(
            pytest_collection_errors(PYTEST_COLLECTION_STDOUT),
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
        let summary = "=========================== short test summary info ============================\nERROR tests/test_x.py - SyntaxError: invalid syntax\nERROR tests/test_y.py::test_a - fixture 'db' not found\n!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!\n";
        assert_eq!(
            pytest_collection_errors(summary),
            [error("tests/test_x.py: SyntaxError: invalid syntax", None)]
        );
    }

    #[test]
    fn pytest_without_a_report_reads_its_stdout() {
        // pytest stopped before writing the report: exit status 2, errors on stdout.
        let run = outcome(2, PYTEST_COLLECTION_STDOUT, "");
        let reading = Reading {
            parser: ResultsParser::Junit,
            report: Some(crate::project::JUNIT.into()),
            pytest: true,
            build: false,
        };
        let parsed = parse(&reading, &run);
        assert!(parsed.build_failed);
        assert_eq!(parsed.build_errors.len(), 2);
        // With the report, the errors come from it.
        let mut run = outcome(2, "", "");
        run.collected = vec![(
            crate::project::JUNIT.into(),
            PYTEST_COLLECTION_XML.as_bytes().to_vec(),
        )];
        let parsed = parse(&reading, &run);
        assert!(parsed.build_failed);
        assert_eq!(parsed.tests.len(), 2);
        assert_eq!(
            parsed.build_errors[1].location,
            at("tests/test_imp.py", 1, None)
        );
    }

    #[test]
    fn python_tracebacks_give_the_error_and_the_project_file_it_points_at() {
        let text = "*** Error compiling './calc.py'...
  File \"./calc.py\", line 1
    def add(a, b)
                 ^
SyntaxError: expected ':'
Traceback (most recent call last):
  File \"<string>\", line 1, in <module>
  File \"/home/me/calc/uses.py\", line 1, in <module>
    import helper
  File \"/home/me/calc/helper.py\", line 3, in <module>
    import missing_mod
  File \"/usr/lib/python3.11/importlib/__init__.py\", line 126, in import_module
ModuleNotFoundError: No module named 'missing_mod'
Traceback (most recent call last):
  File \"/usr/lib/python3.11/json/decoder.py\", line 355, in raw_decode
json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)
";
        assert_eq!(
            python_errors(text),
            [
                error("SyntaxError: expected ':'", at("calc.py", 1, None)),
                error(
                    "ModuleNotFoundError: No module named 'missing_mod'",
                    at("/home/me/calc/helper.py", 3, None)
                ),
                error(
                    "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
                    None
                ),
            ]
        );
        assert_eq!(python_errors("Hint: make sure\nTraceback:\nerror: bad"), []);
    }

    #[test]
    fn tap_and_go_json() {
        let tap_out = "TAP version 13\n# Subtest: adds\nok 1 - adds\n  ---\n  duration_ms: 1.5\n  ...\n# Subtest: breaks\nnot ok 2 - breaks\n  ---\n  duration_ms: 0.7\n  location: '/work/test/calc.test.js:9:1'\n  failureType: 'testCodeFailure'\n  error: 'Expected values to be strictly equal'\n  ...\n1..2\n";
        let tests = tap(tap_out);
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[1].outcome, TestOutcome::Failed);
        assert_eq!(tests[1].location, at("test/calc.test.js", 9, Some(1)));
        assert_eq!(
            tests[1].message.as_deref(),
            Some("Expected values to be strictly equal")
        );
        let go = "{\"Action\":\"run\",\"Test\":\"TestAdd\"}\n{\"Action\":\"pass\",\"Test\":\"TestAdd\",\"Elapsed\":0.01}\n{\"Action\":\"output\",\"Test\":\"TestSub\",\"Output\":\"    calc_test.go:12: got 2, want 3\\n\"}\n{\"Action\":\"fail\",\"Test\":\"TestSub\",\"Elapsed\":0}\n{\"Action\":\"output\",\"Package\":\"example.com/calc\",\"Output\":\"FAIL\\n\"}\n";
        let parsed = go_json(go, "");
        assert!(!parsed.build_failed);
        assert_eq!(parsed.build_errors, []);
        assert_eq!(parsed.tests.len(), 2);
        assert_eq!(parsed.tests[1].location, at("calc_test.go", 12, None));
    }

    #[test]
    fn go_build_errors_before_and_since_go_1_24() {
        // Before 1.24: the build output on stderr, `[build failed]` in the JSON.
        let stdout = "{\"Time\":\"2025-01-02T10:00:00Z\",\"Action\":\"start\",\"Package\":\"example.com/calc\"}\n{\"Time\":\"2025-01-02T10:00:00Z\",\"Action\":\"output\",\"Package\":\"example.com/calc\",\"Output\":\"FAIL\\texample.com/calc [build failed]\\n\"}\n{\"Time\":\"2025-01-02T10:00:00Z\",\"Action\":\"fail\",\"Package\":\"example.com/calc\",\"Elapsed\":0}\n";
        let stderr = "# example.com/calc [example.com/calc.test]\n./calc.go:12:3: undefined: foo\n./calc.go:15:9: cannot use s (variable of type string) as int value in return statement\nstats/mean.go:4:2: \"fmt\" imported and not used\n";
        let parsed = go_json(stdout, stderr);
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
        let stdout = "{\"ImportPath\":\"example.com/calc [example.com/calc.test]\",\"Action\":\"build-output\",\"Output\":\"# example.com/calc [example.com/calc.test]\\n\"}\n{\"ImportPath\":\"example.com/calc [example.com/calc.test]\",\"Action\":\"build-output\",\"Output\":\"./calc.go:8:9: cannot use a + b (value of type int) as string value in return statement\\n\"}\n{\"ImportPath\":\"example.com/calc [example.com/calc.test]\",\"Action\":\"build-output\",\"Output\":\"./calc.go:20:2: too many arguments in call to add\\n\"}\n{\"ImportPath\":\"example.com/calc [example.com/calc.test]\",\"Action\":\"build-output\",\"Output\":\"\\thave (number, number, number)\\n\"}\n{\"ImportPath\":\"example.com/calc [example.com/calc.test]\",\"Action\":\"build-output\",\"Output\":\"\\twant (int, int)\\n\"}\n{\"ImportPath\":\"example.com/calc [example.com/calc.test]\",\"Action\":\"build-fail\"}\n{\"Time\":\"2025-03-01T10:00:00Z\",\"Action\":\"start\",\"Package\":\"example.com/calc\"}\n{\"Time\":\"2025-03-01T10:00:00Z\",\"Action\":\"output\",\"Package\":\"example.com/calc\",\"Output\":\"FAIL\\texample.com/calc [build failed]\\n\"}\n{\"Time\":\"2025-03-01T10:00:00Z\",\"Action\":\"fail\",\"Package\":\"example.com/calc\",\"Elapsed\":0,\"FailedBuild\":\"example.com/calc [example.com/calc.test]\"}\n";
        let parsed = go_json(stdout, "");
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
        let text = "# example.com/calc\npackage example.com/calc\n\timports example.com/calc/stats\n\timports example.com/calc: import cycle not allowed\nFAIL\texample.com/calc [setup failed]\n# [example.com/calc/stats]\nstats/mean_test.go:9:2: fmt.Sprintf format %d has arg s of wrong type string\n";
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

    #[test]
    fn a_failed_build_command_is_a_failed_build_whatever_the_parser() {
        let stderr = format!("{RUSTC_STDERR}\n{BUILD_FAILED} 101\n");
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
        let xml = r#"<testsuites><testsuite name="unit"><testcase classname="calc" name="adds" time="0.5"/><testcase classname="calc" name="subs"><failure message="expected 1">at calc.test.js:9</failure></testcase></testsuite></testsuites>"#;
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
