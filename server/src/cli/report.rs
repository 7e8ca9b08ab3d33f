//! `codecontext report PATH [--out FILE] [--json]`: the project report (as
//! `codecontext/report` and the MCP tool `project_report`), from the shell. Learns the
//! history first when it is not learned (the risk by module needs the model).

use std::{io::Write, process::ExitCode};

use anyhow::{Context, Result};

use super::{open::open, ReportArgs};

pub(super) fn report(args: ReportArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let opened = open(&args.common, true)?;
    let root = opened.ws.roots().into_iter().next();
    let report = opened.block_on(opened.ws.report(root, true))?;
    let page = codecontext_report::html(&report);
    if let Some(path) = &args.out {
        std::fs::write(path, &page).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.common.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else if let Some(path) = &args.out {
        writeln!(
            out,
            "wrote {}: {} hotspots, {} modules, {} tests, {} verifications",
            path.display(),
            report.hotspots.len(),
            report.modules.len(),
            report.tests.len(),
            report.verifications.len()
        )?;
    } else {
        out.write_all(page.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}
