//! The report as one HTML page: a header with what it was made from, then one section
//! per view (`#hotspots`, `#risk`, `#tests`, `#verifications`, `#dependencies`), each a
//! plot and the table behind it, or a sentence saying what would fill it.

use std::{collections::BTreeMap, fmt::Write};

use crate::{
    svg::{self, esc, Bar, Dot, Line, Node, Stack},
    Report,
};

/// How many rows a table shows.
const ROWS: usize = 20;
/// How many hotspots are named on the plot.
const LABELLED: usize = 5;

/// Milliseconds since the epoch as `2026-12-06 18:30` (UTC).
pub(crate) fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

const STYLE: &str = "
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;margin:0 auto;max-width:980px;padding:0 20px 40px}
header{border-bottom:1px solid #ddd;margin-bottom:12px}
h1{font-size:24px;margin:24px 0 4px}h2{font-size:19px;margin:32px 0 4px}
nav a{margin-right:14px}
.meta,.note{color:#555}
section{margin-bottom:12px}
svg{width:100%;height:auto;display:block;margin:8px 0}
svg text{font-size:11px;fill:#333}
svg .title{font-size:12px;fill:#555}
svg .label{font-size:11px;fill:#000}
svg .grid{stroke:#e6e6e6}
svg .axis line{stroke:#999}
svg .line{fill:none;stroke-width:2}
svg .edge{stroke:#999}
svg .node circle{stroke:#fff;stroke-width:1.5}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:13px}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
footer{margin-top:32px;color:#777;font-size:13px}
";

/// The report as a standalone page.
pub fn html(report: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>CodeContext report: {}</title><style>{STYLE}</style></head><body>",
        esc(&report.project)
    );
    header(&mut out, report);
    hotspots(&mut out, report);
    risk(&mut out, report);
    tests(&mut out, report);
    verifications(&mut out, report);
    dependencies(&mut out, report);
    let _ = writeln!(
        out,
        "<footer>Made by <code>codecontext report</code> {} on {} UTC.</footer></body></html>",
        env!("CARGO_PKG_VERSION"),
        when(report.generated_ms)
    );
    out
}

fn header(out: &mut String, r: &Report) {
    let head = r
        .head
        .as_deref()
        .map_or("not a git checkout".to_string(), |h| {
            format!("at <code>{}</code>", esc(&h[..h.len().min(12)]))
        });
    let _ = write!(
        out,
        "<header><h1>{}</h1><p class=\"meta\">{} source files; {} commits of history, {head}; risk model: {}.</p><nav><a href=\"#hotspots\">Hotspots</a><a href=\"#risk\">Risk by module</a><a href=\"#tests\">Test durations</a><a href=\"#verifications\">Verifications</a><a href=\"#dependencies\">Dependencies</a></nav></header>",
        esc(&r.project),
        r.files,
        r.commits,
        esc(&r.risk_status)
    );
}

fn section(out: &mut String, id: &str, title: &str, note: &str) {
    let _ = write!(
        out,
        "<section id=\"{id}\"><h2>{}</h2><p class=\"note\">{note}</p>",
        esc(title)
    );
}

/// A table: the header cells (a leading `#` marks a numeric column), then the rows.
fn table(out: &mut String, head: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    out.push_str("<table><thead><tr>");
    let numeric: Vec<bool> = head.iter().map(|h| h.starts_with('#')).collect();
    for h in head {
        let (class, name) = match h.strip_prefix('#') {
            Some(name) => (" class=\"n\"", name),
            None => ("", *h),
        };
        let _ = write!(out, "<th{class}>{}</th>", esc(name));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if numeric.get(i) == Some(&true) {
                " class=\"n\""
            } else {
                ""
            };
            // Cells are escaped by their makers: some hold markup (`<code>`).
            let _ = write!(out, "<td{class}>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn hotspots(out: &mut String, r: &Report) {
    let note = if r.commits == 0 {
        "Files by the sum of their functions' cyclomatic complexity. Without a git history there is no churn to weigh it by."
    } else {
        "Files that change often and are complex: commits that changed each (churn) against the sum of its functions' cyclomatic complexity. The top right is where a change is most likely to go wrong; the named dots score highest (churn × complexity)."
    };
    section(out, "hotspots", "Hotspots", note);
    if r.hotspots.is_empty() {
        out.push_str("<p>No function was found in the indexed files.</p></section>");
        return;
    }
    let dots: Vec<Dot> = r
        .hotspots
        .iter()
        .map(|h| Dot {
            x: f64::from(h.changes),
            y: f64::from(h.complexity),
            label: h.path.rsplit('/').next().unwrap_or(&h.path).to_string(),
            title: format!(
                "{}: {} changes ({} fixes), complexity {}",
                h.path, h.changes, h.fixes, h.complexity
            ),
        })
        .collect();
    out.push_str(&svg::scatter(
        &dots,
        "commits that changed the file",
        "cyclomatic complexity (sum)",
        LABELLED,
        "hotspots: churn against complexity",
    ));
    table(
        out,
        &[
            "file",
            "#changes",
            "#fixes",
            "#authors",
            "#complexity",
            "#functions",
            "most complex",
        ],
        r.hotspots.iter().take(ROWS).map(|h| {
            vec![
                format!("<code>{}</code>", esc(&h.path)),
                h.changes.to_string(),
                h.fixes.to_string(),
                h.authors.to_string(),
                h.complexity.to_string(),
                h.functions.to_string(),
                h.worst.as_ref().map_or(String::new(), |w| {
                    format!(
                        "<code>{}</code> ({}) at {}",
                        esc(&w.symbol),
                        w.cyclomatic,
                        esc(&w.location)
                    )
                }),
            ]
        }),
    );
    out.push_str("</section>");
}

fn risk(out: &mut String, r: &Report) {
    let modelled = r.modules.iter().any(|m| m.risk.is_some());
    let note = if modelled {
        "How likely a typical change (a dozen lines in one file) to each module is to need a fix later, by the model trained on this project's history (see <code>codecontext assess</code>), with the module's past changes and fixes."
    } else {
        "Past changes and fixes per module. The risk model is not trained (see the header), so the bars show the changes (commits that changed a file of the module, counted per file)."
    };
    section(out, "risk", "Risk by module", note);
    if r.modules.is_empty() {
        out.push_str("<p>No module has a history yet.</p></section>");
        return;
    }
    let shown: Vec<_> = r.modules.iter().take(ROWS).collect();
    let value = |m: &crate::ModuleRisk| {
        if modelled {
            m.risk.unwrap_or(0.0)
        } else {
            f64::from(m.changes)
        }
    };
    let bars: Vec<Bar> = shown
        .iter()
        .map(|m| Bar {
            label: m.module.clone(),
            value: value(m),
            text: if modelled {
                format!("{:.0}%", value(m) * 100.0)
            } else {
                format!("{} changes, {} fixes", m.changes, m.fixes)
            },
            title: format!(
                "{}: {} files, {} changes, {} fixes",
                m.module, m.files, m.changes, m.fixes
            ),
        })
        .collect();
    let max = if modelled {
        1.0
    } else {
        shown.iter().map(|m| value(m)).fold(0.0, f64::max)
    };
    out.push_str(&svg::bars(&bars, max, "risk by module"));
    table(
        out,
        &["module", "#files", "#changes", "#fixes", "#risk"],
        shown.iter().map(|m| {
            vec![
                format!("<code>{}</code>", esc(&m.module)),
                m.files.to_string(),
                m.changes.to_string(),
                m.fixes.to_string(),
                m.risk
                    .map_or("–".to_string(), |p| format!("{:.0}%", p * 100.0)),
            ]
        }),
    );
    out.push_str("</section>");
}

fn legend(out: &mut String, names: &[(&str, &str)]) {
    out.push_str("<p class=\"legend\">");
    for (name, colour) in names {
        let _ = write!(
            out,
            "<span><i style=\"background:{colour}\"></i>{}</span>",
            esc(name)
        );
    }
    out.push_str("</p>");
}

fn tests(out: &mut String, r: &Report) {
    section(
        out,
        "tests",
        "Test durations over time",
        "What the slowest tests took in each verification that ran them (<code>codecontext verify</code> records every test's duration).",
    );
    if r.tests.is_empty() {
        out.push_str("<p>No test duration is recorded yet: verify an edit (<code>codecontext verify PATH --diff FILE</code>) and its tests' durations appear here.</p></section>");
        return;
    }
    let lines: Vec<Line> = r
        .tests
        .iter()
        .map(|t| Line {
            name: t.name.clone(),
            points: t.runs.iter().map(|run| (run.at_ms, run.ms)).collect(),
        })
        .collect();
    out.push_str(&svg::lines(
        &lines,
        "milliseconds",
        "test durations over time",
    ));
    let names: Vec<(&str, &str)> = r
        .tests
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), svg::PALETTE[i % svg::PALETTE.len()]))
        .collect();
    legend(out, &names);
    table(
        out,
        &["test", "#runs", "#median ms", "#last ms", "last outcome"],
        r.tests.iter().map(|t| {
            let last = t.runs.last();
            vec![
                format!("<code>{}</code>", esc(&t.name)),
                t.runs.len().to_string(),
                format!("{:.0}", t.median_ms),
                last.map_or(String::new(), |run| format!("{:.0}", run.ms)),
                last.map_or(String::new(), |run| esc(&run.outcome)),
            ]
        }),
    );
    out.push_str("</section>");
}

/// Verdicts in the order they stack, and their colours.
const VERDICTS: [(&str, &str); 5] = [
    ("passed", "#009E73"),
    ("failed", "#D55E00"),
    ("build_failed", "#CC79A7"),
    ("timeout", "#E69F00"),
    ("other", "#777777"),
];

fn verifications(out: &mut String, r: &Report) {
    section(
        out,
        "verifications",
        "Verification outcomes",
        "Each verification of a proposed edit (built and tested in a sandboxed snapshot), per day, by verdict.",
    );
    if r.verifications.is_empty() {
        out.push_str("<p>No verification is recorded yet: <code>codecontext verify PATH --diff FILE</code> (or <code>verify_edit</code>, or <code>codecontext/verify</code>) records one.</p></section>");
        return;
    }
    let mut days: BTreeMap<String, [u32; VERDICTS.len()]> = BTreeMap::new();
    for v in &r.verifications {
        let category = VERDICTS
            .iter()
            .position(|(name, _)| *name == v.verdict)
            .unwrap_or(VERDICTS.len() - 1);
        days.entry(day(v.at_ms)).or_default()[category] += 1;
    }
    let stacks: Vec<Stack> = days
        .into_iter()
        .map(|(label, counts)| Stack {
            label,
            counts: counts
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(i, n)| (i, *n))
                .collect(),
        })
        .collect();
    let names: Vec<&str> = VERDICTS.iter().map(|v| v.0).collect();
    let colours: Vec<&str> = VERDICTS.iter().map(|v| v.1).collect();
    out.push_str(&svg::stacked(
        &stacks,
        &names,
        &colours,
        "verification outcomes per day",
    ));
    legend(out, &VERDICTS);
    table(
        out,
        &[
            "when (UTC)",
            "verdict",
            "#tests passed",
            "#failed",
            "#wall ms",
        ],
        r.verifications.iter().rev().take(ROWS).map(|v| {
            vec![
                when(v.at_ms),
                esc(&v.verdict),
                v.passed.to_string(),
                v.failed.to_string(),
                format!("{:.0}", v.wall_ms),
            ]
        }),
    );
    out.push_str("</section>");
}

fn dependencies(out: &mut String, r: &Report) {
    let d = &r.dependencies;
    let omitted = if d.omitted > 0 {
        format!(" The {} smallest modules are left out.", d.omitted)
    } else {
        String::new()
    };
    section(
        out,
        "dependencies",
        "Module dependencies",
        &format!("Modules (directories, two levels deep) and the imports between them, resolved by the index; an arrow points from the importer to the imported, thicker for more imports.{omitted}"),
    );
    if d.modules.is_empty() {
        out.push_str("<p>No module was indexed.</p></section>");
        return;
    }
    let nodes: Vec<Node> = d
        .modules
        .iter()
        .map(|m| Node {
            name: m.name.clone(),
            size: m.files,
        })
        .collect();
    let index = |name: &str| d.modules.iter().position(|m| m.name == name);
    let edges: Vec<(usize, usize, u32)> = d
        .edges
        .iter()
        .filter_map(|e| Some((index(&e.importer)?, index(&e.imported)?, e.imports)))
        .collect();
    out.push_str(&svg::graph(&nodes, &edges, "module dependency graph"));
    if d.edges.is_empty() {
        out.push_str("<p>No module imports another.</p>");
    } else {
        table(
            out,
            &["module", "imports", "#times"],
            d.edges.iter().take(ROWS).map(|e| {
                vec![
                    format!("<code>{}</code>", esc(&e.importer)),
                    format!("<code>{}</code>", esc(&e.imported)),
                    e.imports.to_string(),
                ]
            }),
        );
    }
    out.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Dependencies, Edge, Hotspot, Module, ModuleRisk, TestRun, TestSeries, Verification,
    };

    #[test]
    fn every_section_shows_its_data_or_says_what_would_fill_it() {
        let empty = html(&Report {
            project: "/p/<x>".into(),
            ..Report::default()
        });
        for id in ["hotspots", "risk", "tests", "verifications", "dependencies"] {
            assert!(empty.contains(&format!("<section id=\"{id}\">")), "{id}");
        }
        assert!(empty.contains("/p/&lt;x&gt;") && !empty.contains("<x>"));
        assert!(empty.contains("No test duration is recorded yet"));
        assert_eq!(empty.matches("<svg").count(), 0);

        let day = 86_400_000;
        let full = html(&Report {
            project: "/p".into(),
            commits: 3,
            hotspots: vec![Hotspot {
                path: "shop/cart.py".into(),
                changes: 3,
                complexity: 7,
                ..Hotspot::default()
            }],
            modules: vec![ModuleRisk {
                module: "shop".into(),
                risk: Some(0.25),
                ..ModuleRisk::default()
            }],
            tests: vec![TestSeries {
                name: "t::a".into(),
                runs: vec![
                    TestRun {
                        at_ms: day,
                        ms: 10.0,
                        outcome: "passed".into(),
                    },
                    TestRun {
                        at_ms: 2 * day,
                        ms: 30.0,
                        outcome: "failed".into(),
                    },
                ],
                median_ms: 30.0,
            }],
            verifications: vec![
                Verification {
                    at_ms: day,
                    verdict: "passed".into(),
                    ..Verification::default()
                },
                Verification {
                    at_ms: day + 1,
                    verdict: "failed".into(),
                    ..Verification::default()
                },
            ],
            dependencies: Dependencies {
                modules: vec![
                    Module {
                        name: "tests".into(),
                        files: 1,
                    },
                    Module {
                        name: "shop".into(),
                        files: 3,
                    },
                ],
                edges: vec![Edge {
                    importer: "tests".into(),
                    imported: "shop".into(),
                    imports: 2,
                }],
                omitted: 0,
            },
            ..Report::default()
        });
        assert_eq!(full.matches("<svg").count(), 5);
        assert!(full.contains("25%"));
        assert!(full.contains("1970-01-02: 1 passed") && full.contains("1970-01-02: 1 failed"));
        assert!(full.contains("tests imports shop: 2"));
        assert!(full.contains("t::a: 30 ms at 1970-01-03 00:00"));
    }
}
