//! `codecontext usages PATH SYMBOL [--json]`: how the project calls a function or method
//! (as `codecontext/usages` and the MCP tool `usage_patterns`), from the shell. SYMBOL is
//! a qualified name (or a unique suffix of one) or a place FILE:LINE:COL.

use std::{io::Write, process::ExitCode};

use anyhow::Result;
use codecontext_analysis::cancel;
use codecontext_workspace::{
    places,
    usages::{self, UsagesRequest},
};

use super::{open::open, UsagesArgs};

pub(super) fn usages(args: UsagesArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let loaded = open(&args.common, false)?;
    let host = loaded.ws.read();
    let request = if places::resolve(&host, &args.symbol).is_ok() {
        UsagesRequest {
            position: Some(args.symbol.clone()),
            ..UsagesRequest::default()
        }
    } else {
        UsagesRequest {
            symbol: Some(args.symbol.clone()),
            ..UsagesRequest::default()
        }
    };
    let analysis = host.analysis();
    let budget = loaded.ws.settings().request_budget();
    let (answer, _) = cancel::within(budget, || usages::answer(&analysis, &request));
    let answer = answer?;
    if args.common.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "# {}: {} calls in {} files{}",
        answer.symbol,
        answer.calls,
        answer.files,
        if answer.truncated { " (truncated)" } else { "" }
    )?;
    for line in &answer.summary {
        writeln!(out, "{line}")?;
    }
    if !answer.shapes.is_empty() {
        writeln!(out, "# shapes")?;
        for s in &answer.shapes {
            writeln!(
                out,
                "{:>5}  {}  e.g. {}: {}",
                s.count, s.shape, s.example.place, s.example.text
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
