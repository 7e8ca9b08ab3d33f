//! Performance prediction: what in a changed function makes it slower (a loop nested
//! deeper, a call inside a loop to something that loops or goes out, an allocation per
//! iteration), and which tests will feel it, with what they took in the runs recorded
//! before (the performance memory: each verification records its tests' durations).
//!
//! A prediction is evidence for a reader, not a measurement: its confidence says how
//! often such a cause slows a function down in practice, raised when the tests that
//! reach it are known to be slow already.

use rustc_hash::FxHashMap;
use serde::Serialize;

use codecontext_analysis::{AffectedTest, Analysis};
use codecontext_lang::Language;
use codecontext_text::LineIndex;

use crate::metrics::{self, Site, Symbol};

/// What the runs recorded so far say about the tests: each test's durations in
/// milliseconds, newest first, by the name its runner gives it.
#[derive(Clone, Debug, Default)]
pub struct TestTimes {
    pub durations: FxHashMap<String, Vec<f64>>,
}

/// The name a project's runner gives a test the graph found; none when the project's
/// runner does not run it.
pub type RunnerName<'a> = &'a (dyn Fn(&AffectedTest) -> Option<String> + Sync);

/// A changed function predicted to be slower, and the tests predicted to slow down.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Prediction {
    pub symbol: String,
    pub location: String,
    pub causes: Vec<Cause>,
    /// The tests that reach it, slowest recorded first.
    pub tests: Vec<PredictedTest>,
    /// How sure the prediction is, 0 to 1.
    pub confidence: f64,
}

/// Something the edit does that costs time.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cause {
    /// `loop-nesting`, `call-in-loop` or `allocation-in-loop`.
    pub kind: &'static str,
    pub location: String,
    pub message: String,
    pub confidence: f64,
}

/// A test that reaches a function predicted to be slower.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PredictedTest {
    /// As its runner names it, else its qualified name.
    pub name: String,
    /// What the recorded runs took; none when it never ran under CodeContext.
    pub recorded: Option<Recorded>,
}

/// A test's recorded durations.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    pub runs: usize,
    pub median_ms: f64,
    pub last_ms: f64,
}

/// A test recorded at least this slow makes a prediction more certain: a cost per
/// iteration shows in a test that already iterates.
const SLOW_MS: f64 = 100.0;
/// At most this many functions of one name are looked at to tell whether a call in a
/// loop calls something that loops.
const CALLEES: usize = 3;
/// Callee names that usually mean a round trip (a query, a request, a file): one per
/// iteration is the N+1 pattern.
const ROUND_TRIPS: &[&str] = &[
    "query", "fetch", "load", "read", "select", "request", "execute", "download", "send", "open",
    "get_", "find_",
];

/// What the edit does to `after` (from `before`, none when it adds it) that costs time.
pub(crate) fn causes(
    analysis: &Analysis<'_>,
    lang: &Language,
    before: Option<&Symbol>,
    after: &Symbol,
    rel: &str,
    index: &LineIndex,
) -> Vec<Cause> {
    let place = |offset: u32| crate::place(rel, index, offset);
    let mut causes = Vec::new();
    let was = before.map_or(0, |b| b.hot.loops);
    if after.hot.loops >= 2 && after.hot.loops > was {
        causes.push(Cause {
            kind: "loop-nesting",
            location: place(after.hot.deepest.unwrap_or(after.selection.start)),
            message: format!(
                "loops now nest {} deep (were {was}): its time grows with the product of their lengths",
                after.hot.loops
            ),
            confidence: 0.6,
        });
    }
    let mut callees = Callees::default();
    for site in added_sites(before.map(|b| &b.hot.sites[..]), &after.hot.sites) {
        let at = place(site.at);
        if site.allocates {
            causes.push(Cause {
                kind: "allocation-in-loop",
                location: at,
                message: format!("allocates a new `{}` on every iteration", site.name),
                confidence: 0.3,
            });
            continue;
        }
        if site.name == after.name() {
            continue;
        }
        if let Some((callee, loops)) = callees.looping(analysis, lang, &site.name) {
            causes.push(Cause {
                kind: "call-in-loop",
                location: at,
                message: format!(
                    "calls `{callee}` inside a loop, and it loops itself ({loops} deep): {} levels of iteration",
                    site.depth + loops
                ),
                confidence: 0.6,
            });
        } else if round_trip(&site.name) {
            causes.push(Cause {
                kind: "call-in-loop",
                location: at,
                message: format!(
                    "calls `{}` once per iteration: if it queries or fetches, that is one round trip per item (N+1)",
                    site.name
                ),
                confidence: 0.4,
            });
        }
    }
    causes
}

/// The sites of `after` that `before` does not have as many of (by kind and name).
fn added_sites<'s>(before: Option<&[Site]>, after: &'s [Site]) -> Vec<&'s Site> {
    let mut had: FxHashMap<(bool, &str), usize> = FxHashMap::default();
    for s in before.unwrap_or_default() {
        *had.entry((s.allocates, s.name.as_str())).or_default() += 1;
    }
    after
        .iter()
        .filter(|s| match had.get_mut(&(s.allocates, s.name.as_str())) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect()
}

fn round_trip(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ROUND_TRIPS.iter().any(|verb| lower.starts_with(verb))
}

/// The functions a call in a loop may reach, and whether they loop.
#[derive(Default)]
struct Callees {
    /// Per name: the looping one found (qualified name and loop depth), if any.
    seen: FxHashMap<String, Option<(String, u32)>>,
}

impl Callees {
    fn looping(
        &mut self,
        analysis: &Analysis<'_>,
        lang: &Language,
        name: &str,
    ) -> Option<(String, u32)> {
        if let Some(known) = self.seen.get(name) {
            return known.clone();
        }
        let mut found = None;
        let candidates = analysis
            .find_by_name(name)
            .into_iter()
            .filter(|t| matches!(t.kind.as_str(), "function" | "method"))
            .filter(|t| {
                analysis
                    .graph()
                    .file_data(t.file)
                    .is_some_and(|f| codecontext_lang::language(f.lang).name() == lang.name())
            })
            .take(CALLEES);
        for target in candidates {
            let Some(text) = analysis.text(target.file) else {
                continue;
            };
            let Ok(tree) =
                codecontext_syntax::parse(lang, &text, None, std::time::Duration::from_secs(2))
            else {
                continue;
            };
            let Some(node) = metrics::function_node(tree.root_node(), target.focus) else {
                continue;
            };
            let loops = metrics::hot(lang, node, &text).loops;
            if loops > 0 {
                found = Some((target.qualified_name.clone(), loops));
                break;
            }
        }
        self.seen.insert(name.to_string(), found.clone());
        found
    }
}

/// The prediction for a changed function with `causes`, reached by `tests`.
pub(crate) fn predict(
    symbol: &str,
    location: &str,
    causes: Vec<Cause>,
    tests: &[AffectedTest],
    runner: Option<RunnerName<'_>>,
    times: &TestTimes,
) -> Prediction {
    let mut predicted: Vec<PredictedTest> = Vec::new();
    for test in tests {
        let name = runner
            .and_then(|r| r(test))
            .unwrap_or_else(|| test.qualified_name.clone());
        if predicted.iter().any(|p| p.name == name) {
            continue;
        }
        let recorded = times
            .durations
            .get(&name)
            .filter(|d| !d.is_empty())
            .map(|d| {
                let mut sorted = d.clone();
                sorted.sort_by(f64::total_cmp);
                Recorded {
                    runs: d.len(),
                    median_ms: sorted[sorted.len() / 2],
                    last_ms: d[0],
                }
            });
        predicted.push(PredictedTest { name, recorded });
    }
    predicted.sort_by(|a, b| {
        let ms = |p: &PredictedTest| p.recorded.as_ref().map_or(-1.0, |r| r.median_ms);
        ms(b).total_cmp(&ms(a)).then_with(|| a.name.cmp(&b.name))
    });
    let strongest = causes.iter().map(|c| c.confidence).fold(0.0, f64::max);
    let slow = predicted
        .iter()
        .any(|p| p.recorded.as_ref().is_some_and(|r| r.median_ms >= SLOW_MS));
    Prediction {
        symbol: symbol.to_string(),
        location: location.to_string(),
        causes,
        tests: predicted,
        confidence: if slow {
            (strongest + 0.2).min(0.9)
        } else {
            strongest
        },
    }
}

impl Prediction {
    /// The prediction as one sentence: its causes, then the tests to watch.
    pub fn message(&self) -> String {
        let causes: Vec<String> = self
            .causes
            .iter()
            .map(|c| format!("{} ({})", c.message, c.location))
            .collect();
        let mut message = format!("`{}` {}", self.symbol, causes.join("; "));
        if !self.tests.is_empty() {
            let tests: Vec<String> = self
                .tests
                .iter()
                .take(3)
                .map(|t| match &t.recorded {
                    Some(r) => format!(
                        "{} (median {:.0} ms over {} run{})",
                        t.name,
                        r.median_ms,
                        r.runs,
                        if r.runs == 1 { "" } else { "s" }
                    ),
                    None => t.name.clone(),
                })
                .collect();
            let more = self.tests.len().saturating_sub(3);
            message.push_str(&format!("; predicted to slow down: {}", tests.join(", ")));
            if more > 0 {
                message.push_str(&format!(" and {more} more"));
            }
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codecontext_analysis::How;

    fn site(allocates: bool, name: &str) -> Site {
        Site {
            allocates,
            name: name.to_string(),
            at: 0,
            depth: 1,
        }
    }

    fn test(name: &str) -> AffectedTest {
        AffectedTest {
            path: "tests/test_a.py".to_string(),
            language: "python".to_string(),
            name: name.to_string(),
            containers: vec!["tests".to_string(), "test_a".to_string()],
            qualified_name: format!("tests.test_a.{name}"),
            via: Vec::new(),
            how: How::Exact,
        }
    }

    fn cause(confidence: f64) -> Cause {
        Cause {
            kind: "loop-nesting",
            location: "a.py:1:1".to_string(),
            message: "loops".to_string(),
            confidence,
        }
    }

    #[test]
    fn only_sites_the_function_did_not_have_are_added() {
        let before = [site(false, "load"), site(true, "list")];
        let after = [
            site(true, "list"),
            site(false, "load"),
            site(false, "load"),
            site(true, "dict"),
        ];
        let added: Vec<(bool, &str)> = added_sites(Some(&before), &after)
            .into_iter()
            .map(|s| (s.allocates, s.name.as_str()))
            .collect();
        assert_eq!(added, [(false, "load"), (true, "dict")]);
        assert_eq!(added_sites(None, &after).len(), 4);
        assert!(round_trip("fetch_user") && round_trip("get_item") && !round_trip("getter"));
    }

    #[test]
    fn tests_come_slowest_first_and_slow_ones_raise_the_confidence() {
        let tests = [
            test("test_fast"),
            test("test_slow"),
            test("test_new"),
            test("test_fast"),
        ];
        let mut times = TestTimes::default();
        times
            .durations
            .insert("test_a.py::test_fast".to_string(), vec![3.0, 1.0, 2.0]);
        times
            .durations
            .insert("test_a.py::test_slow".to_string(), vec![250.0]);
        let runner = |t: &AffectedTest| Some(format!("test_a.py::{}", t.name));
        let runner: RunnerName<'_> = &runner;
        let p = predict(
            "a.f",
            "a.py:1:1",
            vec![cause(0.6)],
            &tests,
            Some(runner),
            &times,
        );
        let names: Vec<&str> = p.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "test_a.py::test_slow",
                "test_a.py::test_fast",
                "test_a.py::test_new"
            ]
        );
        let fast = p.tests[1].recorded.as_ref().unwrap();
        assert_eq!((fast.runs, fast.median_ms, fast.last_ms), (3, 2.0, 3.0));
        assert!(p.tests[2].recorded.is_none());
        assert!((p.confidence - 0.8).abs() < 1e-9, "{}", p.confidence);
        assert!(p
            .message()
            .contains("test_a.py::test_slow (median 250 ms over 1 run)"));

        // Without recorded runs, nor a runner: the graph's names, and the cause's confidence.
        let p = predict(
            "a.f",
            "a.py:1:1",
            vec![cause(0.3), cause(0.6)],
            &tests[..1],
            None,
            &TestTimes::default(),
        );
        assert_eq!(p.tests[0].name, "tests.test_a.test_fast");
        assert!((p.confidence - 0.6).abs() < 1e-9);
    }
}
