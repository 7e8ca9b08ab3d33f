//! `codecontext search PATH PATTERN --lang L [--rule | --query] [--json]`: structural
//! search, as `codecontext/search` and the MCP tool `search_pattern`, from the shell; and
//! `codecontext rules PATH [--json]`, the project's rules over its files, as
//! `codecontext/rules` and the MCP tool `check_rules`.

use std::{io::Read, io::Write, process::ExitCode};

use anyhow::{Context as _, Result};
use codecontext_analysis::cancel;
use codecontext_patterns::rules::Severity;
use codecontext_workspace::{
    rules::{RulesAnswer, RulesRequest},
    search::{SearchAnswer, SearchRequest},
};

use super::{open::open, RulesArgs, SearchArgs};

pub(super) fn search(args: SearchArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let mut request = SearchRequest {
        lang: args.lang.clone(),
        paths: args.under.clone(),
        limit: Some(args.limit),
        ..SearchRequest::default()
    };
    if args.rule {
        let text = if args.pattern == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the rule from stdin")?;
            text
        } else {
            std::fs::read_to_string(&args.pattern)
                .with_context(|| format!("reading the rule {}", args.pattern))?
        };
        request.rule = Some(codecontext_patterns::read_rule(&text)?);
    } else if args.query {
        request.query = Some(args.pattern.clone());
    } else {
        request.pattern = Some(args.pattern.clone());
    }
    // A bad pattern is the user's to fix: say so before indexing anything.
    request.compile()?;
    let loaded = open(&args.common, false)?;
    let budget = loaded.ws.settings().request_budget();
    let (answer, _) = cancel::within(budget, || loaded.ws.search(&request, &|_, _| {}));
    let answer = answer?;
    print(&answer, args.common.json, out)?;
    Ok(if answer.matches.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print(answer: &SearchAnswer, json: bool, out: &mut dyn Write) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(answer)?)?;
        return Ok(());
    }
    for warning in &answer.warnings {
        writeln!(out, "# warning: {warning}")?;
    }
    for m in &answer.matches {
        let first_line = m.text.lines().next().unwrap_or("");
        let more = if m.text.contains('\n') { " …" } else { "" };
        match &m.symbol {
            Some(symbol) => writeln!(out, "{}: {first_line}{more}  [in {symbol}]", m.place)?,
            None => writeln!(out, "{}: {first_line}{more}", m.place)?,
        }
        for (name, capture) in &m.captures {
            let sigil = if capture.multi { "$$$" } else { "$" };
            writeln!(
                out,
                "    {sigil}{name} = {}",
                capture.text.replace('\n', " ")
            )?;
        }
    }
    writeln!(
        out,
        "# {} matches in {} files searched ({} ruled out by the index, {} not searched){} in {} ms",
        answer.matches.len(),
        answer.files_searched,
        answer.files_ruled_out,
        answer.files_not_searched,
        if answer.truncated { ", truncated" } else { "" },
        answer.elapsed_ms
    )?;
    Ok(())
}

pub(super) fn rules(args: RulesArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let request = RulesRequest {
        paths: args.under.clone(),
        limit: Some(args.limit),
        ..RulesRequest::default()
    };
    let loaded = open(&args.common, false)?;
    let budget = loaded.ws.settings().request_budget();
    let (answer, _) = cancel::within(budget, || loaded.ws.scan_rules(&request));
    let answer = answer?;
    print_rules(&answer, args.common.json, out)?;
    let serious = answer
        .hits
        .iter()
        .any(|h| matches!(h.severity, Severity::Warning | Severity::Error));
    Ok(if serious {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_rules(answer: &RulesAnswer, json: bool, out: &mut dyn Write) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(answer)?)?;
        return Ok(());
    }
    for error in &answer.errors {
        writeln!(out, "# rule not loaded: {error}")?;
    }
    for hit in &answer.hits {
        let severity = match hit.severity {
            Severity::Hint => "hint",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        writeln!(
            out,
            "{}: {severity}[{}] {}",
            hit.place, hit.rule, hit.message
        )?;
        if let Some(fix) = &hit.fix {
            writeln!(out, "    fix: {}", fix.text.replace('\n', " "))?;
        }
    }
    writeln!(
        out,
        "# {} hits of {} rules in {} files checked ({} ruled out by the index){} in {} ms",
        answer.hits.len(),
        answer.rules.len(),
        answer.files_checked,
        answer.files_ruled_out,
        if answer.truncated { ", truncated" } else { "" },
        answer.elapsed_ms
    )?;
    Ok(())
}
