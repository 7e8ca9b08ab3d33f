//! Which tests a verification runs: all, the ones named, or the ones the edit affects
//! as the knowledge graph found them ([`GraphAnswer`]), in the names the project's
//! runner takes.

use serde::{Deserialize, Serialize};

use crate::{ProjectKind, TestSelection, VerifyConfig};

/// A test that reaches the edit through the knowledge graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReachedTest {
    /// The test's file, relative to the folder.
    pub path: String,
    pub language: String,
    /// The function; empty when the test is a whole file (JavaScript, TypeScript).
    pub name: String,
    /// Its modules and classes within the file, outermost first.
    pub containers: Vec<String>,
    /// From the test to an edited symbol.
    pub via: Vec<String>,
    /// The weakest resolution on the way (`exact`, `inferred`, `ambiguous`).
    pub how: String,
}

/// What the knowledge graph says about an edit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GraphAnswer {
    /// Qualified names of the symbols the edit changes.
    pub edited: Vec<String>,
    pub tests: Vec<ReachedTest>,
    /// Why the graph cannot tell (files it does not hold, too much reached).
    pub unknown: Vec<String>,
}

/// A test chosen because the edit affects it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChosenTest {
    /// As the runner takes it.
    pub name: String,
    pub via: Vec<String>,
    pub how: String,
}

pub(crate) struct Selection {
    /// Names for the runner; empty = all tests.
    pub names: Vec<String>,
    pub description: String,
    pub chosen: Vec<ChosenTest>,
}

/// The module path of a Rust file within its crate (`src/a/b.rs` -> `a::b`; crate
/// roots -> ``), as libtest prefixes the names of its tests.
fn rust_module(path: &str) -> Vec<String> {
    let segments: Vec<&str> = path.split('/').collect();
    // After the last `src` (or a top-level `tests`, `benches`, `examples` folder, whose
    // files are crate roots of their own).
    let start = segments
        .iter()
        .rposition(|s| matches!(*s, "src" | "tests" | "benches" | "examples"))
        .map_or(0, |i| i + 1);
    let mut module: Vec<String> = segments[start..]
        .iter()
        .map(|s| s.trim_end_matches(".rs").to_string())
        .collect();
    let in_src = start > 0 && segments[start - 1] == "src";
    match module.as_slice() {
        // `src/lib.rs`, `src/main.rs`, `src/bin/x.rs`, `tests/x.rs`: crate roots.
        [only] if !in_src || only == "lib" || only == "main" => module.clear(),
        [bin, _] if in_src && bin == "bin" => module.clear(),
        [.., last] if last == "mod" || (!in_src && last == "main") => {
            module.pop();
        }
        _ => {}
    }
    if !in_src && !module.is_empty() {
        // `tests/it/helpers.rs` is the module `helpers` of the crate `tests/it/main.rs`.
        module.remove(0);
    }
    module
}

/// The name the project's runner takes for a reached test, if it runs it.
pub fn runner_name(kind: ProjectKind, test: &ReachedTest) -> Option<String> {
    match (kind, test.language.as_str()) {
        (ProjectKind::Cargo, "rust") => {
            let mut parts = rust_module(&test.path);
            parts.extend(test.containers.iter().cloned());
            parts.push(test.name.clone());
            Some(parts.join("::"))
        }
        (ProjectKind::Python, "python") => {
            let mut parts = vec![test.path.clone()];
            parts.extend(test.containers.iter().cloned());
            parts.push(test.name.clone());
            Some(parts.join("::"))
        }
        (ProjectKind::Go, "go") => Some(test.name.clone()),
        (ProjectKind::Node, "javascript" | "typescript" | "tsx") => Some(test.path.clone()),
        _ => None,
    }
}

/// Chooses the tests to run.
pub(crate) fn select(
    tests: &TestSelection,
    graph: Option<&GraphAnswer>,
    kind: Option<ProjectKind>,
    config: &VerifyConfig,
) -> Selection {
    let all = |why: String| Selection {
        names: Vec::new(),
        description: why,
        chosen: Vec::new(),
    };
    match tests {
        TestSelection::Names(names) => Selection {
            names: names.clone(),
            description: format!("the {} named tests", names.len()),
            chosen: Vec::new(),
        },
        TestSelection::Mode(mode) if mode == "affected" => {
            let Some(graph) = graph else {
                return all("all tests: no knowledge graph to choose from".into());
            };
            if !graph.unknown.is_empty() {
                return all(format!(
                    "all tests: the graph cannot tell which tests the edit affects ({})",
                    graph.unknown.join("; ")
                ));
            }
            let Some(kind) = kind.filter(|_| config.test.is_none()) else {
                return all(
                    "all tests: the configured test command takes no names the graph can give"
                        .into(),
                );
            };
            let mut chosen: Vec<ChosenTest> = Vec::new();
            for test in &graph.tests {
                let Some(name) = runner_name(kind, test) else {
                    continue;
                };
                if chosen.iter().any(|c| c.name == name) {
                    continue;
                }
                chosen.push(ChosenTest {
                    name,
                    via: test.via.clone(),
                    how: test.how.clone(),
                });
            }
            if chosen.is_empty() {
                let edited = if graph.edited.is_empty() {
                    "the edit changes no symbol the graph knows".to_string()
                } else {
                    format!(
                        "no test reaches {} through calls or references",
                        graph.edited.join(", ")
                    )
                };
                return all(format!("all tests: {edited}"));
            }
            let reasons: Vec<String> = chosen
                .iter()
                .map(|c| format!("{} ({})", c.name, c.via.join(" -> ")))
                .collect();
            Selection {
                names: chosen.iter().map(|c| c.name.clone()).collect(),
                description: format!(
                    "{} affected tests, reaching {}: {}",
                    chosen.len(),
                    graph.edited.join(", "),
                    reasons.join("; ")
                ),
                chosen,
            }
        }
        TestSelection::Mode(_) => all("all tests".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reached(path: &str, language: &str, name: &str, containers: &[&str]) -> ReachedTest {
        ReachedTest {
            path: path.into(),
            language: language.into(),
            name: name.into(),
            containers: containers.iter().map(|s| s.to_string()).collect(),
            via: vec!["t".into(), "f".into()],
            how: "exact".into(),
        }
    }

    #[test]
    fn rust_test_names_carry_their_module_path() {
        let name = |path: &str, containers: &[&str]| {
            runner_name(
                ProjectKind::Cargo,
                &reached(path, "rust", "adds", containers),
            )
            .unwrap()
        };
        assert_eq!(name("src/lib.rs", &["tests"]), "tests::adds");
        assert_eq!(
            name("src/calc/ops.rs", &["tests"]),
            "calc::ops::tests::adds"
        );
        assert_eq!(name("src/calc/mod.rs", &[]), "calc::adds");
        assert_eq!(name("crates/x/src/main.rs", &["tests"]), "tests::adds");
        assert_eq!(name("src/bin/tool.rs", &[]), "adds");
        assert_eq!(name("tests/it.rs", &[]), "adds");
        assert_eq!(name("tests/it/main.rs", &[]), "adds");
        assert_eq!(
            name("tests/it/helpers.rs", &["inner"]),
            "helpers::inner::adds"
        );
    }

    #[test]
    fn affected_falls_back_to_all_tests_and_says_why() {
        let config = VerifyConfig::default();
        let affected = TestSelection::Mode("affected".into());
        let unknown = GraphAnswer {
            unknown: vec!["Cargo.toml is not in the knowledge graph".into()],
            ..GraphAnswer::default()
        };
        let s = select(&affected, Some(&unknown), Some(ProjectKind::Cargo), &config);
        assert!(s.names.is_empty());
        assert!(s.description.contains("Cargo.toml"), "{}", s.description);

        let nothing = GraphAnswer {
            edited: vec!["calc::helper".into()],
            ..GraphAnswer::default()
        };
        let s = select(&affected, Some(&nothing), Some(ProjectKind::Cargo), &config);
        assert!(s.names.is_empty());
        assert!(s.description.contains("no test reaches calc::helper"));

        let python = GraphAnswer {
            edited: vec!["calc.neg".into()],
            tests: vec![
                reached("tests/test_neg.py", "python", "test_neg", &["TestNeg"]),
                reached("test/neg.test.js", "javascript", "", &[]),
            ],
            unknown: vec![],
        };
        let s = select(&affected, Some(&python), Some(ProjectKind::Python), &config);
        assert_eq!(s.names, ["tests/test_neg.py::TestNeg::test_neg"]);
        assert_eq!(s.chosen[0].via, ["t", "f"]);
        assert!(
            s.description.starts_with("1 affected tests"),
            "{}",
            s.description
        );
        let s = select(&affected, Some(&python), Some(ProjectKind::Node), &config);
        assert_eq!(s.names, ["test/neg.test.js"]);
    }
}
