//! Coding style measured from lines of code: the lines each commit added, summed per
//! author and language, say how that author writes (indentation, quotes, line length,
//! imports, error handling, tests; naming is counted by the caller, who knows the
//! definitions a commit added). The measures are plain counts so that they add up across
//! commits; [`StyleCounts::summary`] turns them into each habit's dominant choice and its
//! share.
//!
//! The measures read lines, not trees: a line added to a file is seen without the rest of
//! the file. That is enough for habits that show on the line itself and is far cheaper
//! than parsing each commit again; what needs a tree (naming) comes from the outlines
//! the change log parses anyway.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Counts of each choice, by habit.
pub type Tally = BTreeMap<String, u32>;

/// What lines of one language showed, as counts that add up.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StyleCounts {
    /// Per file change, its indentation unit: `tab`, or the number of spaces.
    #[serde(skip_serializing_if = "Tally::is_empty")]
    pub indent: Tally,
    /// String literals by quote: `single`, `double` (Python, JavaScript, TypeScript).
    #[serde(skip_serializing_if = "Tally::is_empty")]
    pub quotes: Tally,
    /// Non-blank lines by the shortest usual limit they fit: `79`, `88`, `100`, `120`,
    /// `longer`.
    #[serde(skip_serializing_if = "Tally::is_empty")]
    pub line_length: Tally,
    /// Import statements by form.
    #[serde(skip_serializing_if = "Tally::is_empty")]
    pub imports: Tally,
    /// Error handling idioms.
    #[serde(skip_serializing_if = "Tally::is_empty")]
    pub errors: Tally,
    /// How tests are written.
    #[serde(skip_serializing_if = "Tally::is_empty")]
    pub tests: Tally,
    /// Names of the definitions added, by kind, then by naming style.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub naming: BTreeMap<String, Tally>,
}

/// Line-length limits, shortest first.
const LIMITS: [(usize, &str); 4] = [(79, "79"), (88, "88"), (100, "100"), (120, "120")];

fn bump(tally: &mut Tally, key: &str, n: u32) {
    if n > 0 {
        *tally.entry(key.to_string()).or_default() += n;
    }
}

fn merge(into: &mut Tally, from: &Tally) {
    for (k, n) in from {
        *into.entry(k.clone()).or_default() += n;
    }
}

/// The dominant choice of a habit: what it is, its share of the counted, how many were.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Habit {
    pub value: String,
    pub share: f64,
    pub of: u32,
}

/// Each habit's dominant choice.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StyleSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indent: Option<Habit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quotes: Option<Habit>,
    /// The shortest limit that 95% of the lines fit, and the share that fits it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_length: Option<Habit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imports: Option<Habit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Habit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tests: Option<Habit>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub naming: BTreeMap<String, Habit>,
}

fn dominant(tally: &Tally) -> Option<Habit> {
    let of: u32 = tally.values().sum();
    let (value, n) = tally
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
    (of > 0).then(|| Habit {
        value: value.clone(),
        share: f64::from(*n) / f64::from(of),
        of,
    })
}

impl StyleCounts {
    pub fn is_empty(&self) -> bool {
        *self == StyleCounts::default()
    }

    pub fn add(&mut self, other: &StyleCounts) {
        merge(&mut self.indent, &other.indent);
        merge(&mut self.quotes, &other.quotes);
        merge(&mut self.line_length, &other.line_length);
        merge(&mut self.imports, &other.imports);
        merge(&mut self.errors, &other.errors);
        merge(&mut self.tests, &other.tests);
        for (kind, styles) in &other.naming {
            merge(self.naming.entry(kind.clone()).or_default(), styles);
        }
    }

    /// Counts a name of a definition of `kind` written in `style`.
    pub fn name(&mut self, kind: &str, style: &str) {
        bump(self.naming.entry(kind.to_string()).or_default(), style, 1);
    }

    /// Counts the lines one change added to a file of `language` (a language name as
    /// `codecontext_lang` spells it).
    pub fn measure<'a>(&mut self, language: &str, lines: impl IntoIterator<Item = &'a str>) {
        let lines: Vec<&str> = lines.into_iter().filter(|l| !l.trim().is_empty()).collect();
        if lines.is_empty() {
            return;
        }
        if let Some(unit) = indent_unit(&lines) {
            bump(&mut self.indent, &unit, 1);
        }
        for line in &lines {
            let width = line.chars().count();
            let fits = LIMITS
                .iter()
                .find(|(limit, _)| width <= *limit)
                .map_or("longer", |(_, name)| name);
            bump(&mut self.line_length, fits, 1);
            let code = line.trim();
            match language {
                "python" => self.python(code),
                "javascript" | "typescript" | "tsx" => self.script(code),
                "rust" => self.rust(code),
                "go" => self.go(code),
                "java" => self.java(code),
                _ => {}
            }
        }
    }

    fn python(&mut self, code: &str) {
        if code.starts_with('#') {
            return;
        }
        let (single, double) = quotes(code, true);
        bump(&mut self.quotes, "single", single);
        bump(&mut self.quotes, "double", double);
        if code.starts_with("from ") && code.contains(" import ") {
            bump(&mut self.imports, "from_import", 1);
        } else if code.starts_with("import ") {
            bump(&mut self.imports, "import_module", 1);
        }
        if code == "except:" || code.starts_with("except:") {
            bump(&mut self.errors, "bare_except", 1);
        } else if code.starts_with("except Exception") || code.starts_with("except BaseException") {
            bump(&mut self.errors, "broad_except", 1);
        } else if code.starts_with("except ") {
            bump(&mut self.errors, "specific_except", 1);
        }
        if code.starts_with("class Test") && code.contains("TestCase") {
            bump(&mut self.tests, "unittest_class", 1);
        } else if code.starts_with("def test") || code.starts_with("async def test") {
            bump(&mut self.tests, "test_function", 1);
        }
    }

    fn script(&mut self, code: &str) {
        if code.starts_with("//") || code.starts_with('*') || code.starts_with("/*") {
            return;
        }
        let (single, double) = quotes(code, false);
        bump(&mut self.quotes, "single", single);
        bump(&mut self.quotes, "double", double);
        if code.starts_with("import ") {
            bump(&mut self.imports, "import", 1);
        } else if code.contains("require(") {
            bump(&mut self.imports, "require", 1);
        }
        if code.contains(".catch(") {
            bump(&mut self.errors, "promise_catch", 1);
        } else if code.starts_with("} catch") || code.starts_with("catch") {
            bump(&mut self.errors, "try_catch", 1);
        }
        for (call, name) in [("describe(", "describe_it"), ("test(", "test_call")] {
            if code.starts_with(call) {
                bump(&mut self.tests, name, 1);
            }
        }
    }

    fn rust(&mut self, code: &str) {
        if code.starts_with("//") {
            return;
        }
        if code.starts_with("use ") {
            let form = if code.contains('{') {
                "grouped_use"
            } else {
                "single_use"
            };
            bump(&mut self.imports, form, 1);
        }
        let question = code
            .match_indices('?')
            .filter(|(i, _)| {
                code[i + 1..]
                    .chars()
                    .next()
                    .is_none_or(|c| matches!(c, ';' | ')' | '.' | ',' | '}'))
            })
            .count() as u32;
        bump(&mut self.errors, "question_mark", question);
        bump(
            &mut self.errors,
            "unwrap",
            code.matches(".unwrap()").count() as u32,
        );
        bump(
            &mut self.errors,
            "expect",
            code.matches(".expect(").count() as u32,
        );
        if code.starts_with("#[test]") {
            bump(&mut self.tests, "test_attribute", 1);
        } else if code.starts_with("#[tokio::test") {
            bump(&mut self.tests, "tokio_test", 1);
        }
    }

    fn go(&mut self, code: &str) {
        if code.starts_with("if err != nil") {
            bump(&mut self.errors, "if_err", 1);
        } else if code.starts_with("panic(") {
            bump(&mut self.errors, "panic", 1);
        }
        if code.starts_with("func Test") {
            bump(&mut self.tests, "test_function", 1);
        } else if code.contains("t.Run(") {
            bump(&mut self.tests, "subtest", 1);
        }
    }

    fn java(&mut self, code: &str) {
        if code.starts_with("import static ") {
            bump(&mut self.imports, "static_import", 1);
        } else if code.starts_with("import ") {
            let form = if code.ends_with(".*;") {
                "wildcard_import"
            } else {
                "single_import"
            };
            bump(&mut self.imports, form, 1);
        }
        if code.starts_with("} catch (Exception ") || code.starts_with("catch (Exception ") {
            bump(&mut self.errors, "broad_catch", 1);
        } else if code.starts_with("} catch (") || code.starts_with("catch (") {
            bump(&mut self.errors, "specific_catch", 1);
        }
        if code.starts_with("@Test") {
            bump(&mut self.tests, "junit_test", 1);
        }
    }

    /// Each habit's dominant choice; the line length is the shortest limit 95% of the
    /// lines fit.
    pub fn summary(&self) -> StyleSummary {
        let total: u32 = self.line_length.values().sum();
        let line_length = (total > 0).then(|| {
            let mut fitting = 0;
            for (_, name) in LIMITS {
                fitting += self.line_length.get(name).copied().unwrap_or(0);
                let share = f64::from(fitting) / f64::from(total);
                if share >= 0.95 {
                    return Habit {
                        value: name.to_string(),
                        share,
                        of: total,
                    };
                }
            }
            Habit {
                value: "longer".to_string(),
                share: 1.0,
                of: total,
            }
        });
        StyleSummary {
            indent: dominant(&self.indent),
            quotes: dominant(&self.quotes),
            line_length,
            imports: dominant(&self.imports),
            errors: dominant(&self.errors),
            tests: dominant(&self.tests),
            naming: self
                .naming
                .iter()
                .filter_map(|(kind, styles)| Some((kind.clone(), dominant(styles)?)))
                .collect(),
        }
    }
}

/// The indentation unit of some lines: `tab` when most indented lines start with one,
/// else the most common step between the widths of consecutive lines (2 to 8 spaces).
fn indent_unit(lines: &[&str]) -> Option<String> {
    let indented: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with([' ', '\t']))
        .collect();
    if indented.is_empty() {
        return None;
    }
    let tabs = indented.iter().filter(|l| l.starts_with('\t')).count();
    if tabs * 2 >= indented.len() {
        return Some("tab".to_string());
    }
    let widths: Vec<usize> = lines
        .iter()
        .filter(|l| !l.starts_with('\t'))
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .collect();
    let mut steps = [0u32; 9];
    for pair in widths.windows(2) {
        let step = pair[0].abs_diff(pair[1]);
        if (2..=8).contains(&step) {
            steps[step] += 1;
        }
    }
    let (step, n) = steps
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))?;
    (*n > 0).then(|| step.to_string())
}

/// String literals on a line by their quote, (single, double); a Python triple-quoted
/// string is a docstring and not counted, a backquoted template is neither.
fn quotes(code: &str, python: bool) -> (u32, u32) {
    let (mut single, mut double) = (0, 0);
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if python && c == b'#' {
            break;
        }
        if c == b'\'' || c == b'"' || c == b'`' {
            if python && bytes[i..].starts_with(&[c, c, c]) {
                // A docstring or a long string: to its end on this line, or the line's.
                let close = code[i + 3..].find(std::str::from_utf8(&[c, c, c]).unwrap_or("\"\"\""));
                i = close.map_or(bytes.len(), |at| i + 3 + at + 3);
                continue;
            }
            match c {
                b'\'' => single += 1,
                b'"' => double += 1,
                _ => {}
            }
            // To the closing quote, past escapes.
            i += 1;
            while i < bytes.len() && bytes[i] != c {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
        }
        i += 1;
    }
    (single, double)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_lines_show_their_habits() {
        let mut counts = StyleCounts::default();
        counts.measure(
            "python",
            [
                "from os import path",
                "import sys",
                "from typing import Any",
                "",
                "def load(name):",
                "    \"\"\"Load it.\"\"\"",
                "    try:",
                "        return open('a' + \"it's\" + 'b')",
                "    except OSError:",
                "        return None",
                "",
                "def test_load():",
                "    assert load('x') is None  # 'not' counted",
            ],
        );
        let summary = counts.summary();
        assert_eq!(summary.indent.unwrap().value, "4");
        let quotes = summary.quotes.unwrap();
        assert_eq!((quotes.value.as_str(), quotes.of), ("single", 4));
        assert_eq!(summary.imports.unwrap().value, "from_import");
        assert_eq!(summary.errors.unwrap().value, "specific_except");
        assert_eq!(summary.tests.unwrap().value, "test_function");
        assert_eq!(summary.line_length.unwrap().value, "79");
    }

    #[test]
    fn counts_add_up_and_other_languages_have_their_own_idioms() {
        let mut rust = StyleCounts::default();
        rust.measure(
            "rust",
            [
                "use std::{fs, io};",
                "fn read() -> io::Result<String> {",
                "\tlet text = fs::read_to_string(\"a\")?;",
                "\tOk(text.trim().parse().unwrap())",
                "}",
            ],
        );
        let mut more = StyleCounts::default();
        more.measure("rust", ["\tlet n = f()?;", "\tg(n)?.h()"]);
        more.name("function", "snake_case");
        rust.add(&more);
        let summary = rust.summary();
        assert_eq!(
            summary.indent.unwrap(),
            Habit {
                value: "tab".into(),
                share: 1.0,
                of: 2
            }
        );
        let errors = summary.errors.unwrap();
        assert_eq!((errors.value.as_str(), errors.of), ("question_mark", 4));
        assert_eq!(summary.imports.unwrap().value, "grouped_use");
        assert_eq!(summary.naming["function"].value, "snake_case");
        let long = "x".repeat(101);
        let mut lines = StyleCounts::default();
        lines.measure("go", [long.as_str(), "if err != nil {"]);
        assert_eq!(lines.summary().line_length.unwrap().value, "120");
        assert_eq!(lines.summary().errors.unwrap().value, "if_err");
    }
}
