//! `codecontext assess PATH --diff FILE`: the same assessment as `codecontext/assess`
//! and the MCP tool `assess_edit`, from the shell. Exits 0 when nothing is a warning,
//! 1 when something is (as a linter does, for hooks and CI).

use std::{io::Write, process::ExitCode};

use anyhow::Result;
use codecontext_workspace::verify::Edit;

use super::{open::open, runs::read_input, AssessArgs};

pub(super) fn assess(args: AssessArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let diff = read_input(&args.diff)?;
    let opened = open(&args.common, true)?;
    let root = opened.ws.roots().into_iter().next();
    let answer = opened.block_on(opened.ws.assess(Edit::Diff(diff), root, true))?;
    let warned = answer.findings.iter().any(|f| f.severity == "warning");
    if args.common.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
    } else {
        writeln!(out, "changes {}", answer.files.join(", "))?;
        for s in &answer.symbols {
            let metrics = match (&s.before, &s.after) {
                (Some(b), Some(a)) => format!(
                    "  cyclomatic {} → {}, cognitive {} → {}, nesting {} → {}",
                    b.cyclomatic, a.cyclomatic, b.cognitive, a.cognitive, b.nesting, a.nesting
                ),
                (None, Some(a)) => format!(
                    "  cyclomatic {}, cognitive {}, nesting {}",
                    a.cyclomatic, a.cognitive, a.nesting
                ),
                _ => String::new(),
            };
            let impact = s.impact.as_ref().map_or(String::new(), |i| {
                format!(
                    "  reached by {}{} ({} tests)",
                    i.reached,
                    if i.complete { "" } else { "+" },
                    i.tests.len()
                )
            });
            writeln!(
                out,
                "{} {} {}  {}{metrics}{impact}",
                s.change, s.kind, s.symbol, s.location
            )?;
        }
        for f in &answer.findings {
            writeln!(
                out,
                "{}: {} [{}, {:.0}%] {}",
                f.location,
                f.severity,
                f.kind,
                f.confidence * 100.0,
                f.message
            )?;
        }
        match &answer.risk {
            Some(r) => {
                let why: Vec<&str> = r.factors.iter().map(|f| f.feature).collect();
                writeln!(
                    out,
                    "risk {:.2} (from {} commits, {} fix-inducing){}{}",
                    r.score,
                    r.model.commits,
                    r.model.fix_inducing,
                    if why.is_empty() { "" } else { ": " },
                    why.join(", ")
                )?;
            }
            None => writeln!(out, "risk: {}", answer.risk_status)?,
        }
        if answer.findings.is_empty() {
            writeln!(out, "no findings")?;
        }
    }
    Ok(if warned {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
