//! Python's errors: tracebacks (a module that does not compile or import), and pytest's
//! printout of its collection errors when it wrote no report.

use super::{location, BuildError, Location};

/// Python's errors in tracebacks: each `SomeError: message` line (pytest's `E   `
/// prefix allowed) is an error, located at the last place named before it, either a
/// traceback's `File "x.py", line 3` or a pytest frame `x.py:3: in <module>`; places in
/// the standard library and installed packages are passed over.
pub(super) fn python_errors(text: &str) -> Vec<BuildError> {
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
pub(super) fn pytest_collection_errors(stdout: &str) -> Vec<BuildError> {
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
    use crate::results::test_support::{at, error, fixture};

    /// `pytest -q`'s stdout for the two modules of `junit/pytest-collection-errors.xml`.
    const PYTEST_COLLECTION_STDOUT: &str = fixture!("python/pytest-collection-errors.stdout");

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
        let summary = fixture!("python/pytest-short-summary.stdout");
        assert_eq!(
            pytest_collection_errors(summary),
            [error("tests/test_x.py: SyntaxError: invalid syntax", None)]
        );
    }

    #[test]
    fn python_tracebacks_give_the_error_and_the_project_file_it_points_at() {
        let text = fixture!("python/build-errors.out");
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
}
