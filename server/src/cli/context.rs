//! `codecontext context` and `codecontext map`: the same question as the MCP tool
//! `context_for_task` and the LSP request `codecontext/context`, from the shell.

use std::{io::Read, io::Write, process::ExitCode};

use anyhow::{bail, Context as _, Result};
use codecontext_analysis::cancel;
use codecontext_context::{ContextAnswer, Form};
use codecontext_workspace::{
    context::{self, ContextRequest},
    places,
};

use super::{open::open, ContextArgs, MapArgs};

pub(super) fn context(args: ContextArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let diff = match &args.diff {
        None => None,
        Some(path) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the diff from stdin")?;
            Some(text)
        }
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the diff {}", path.display()))?,
        ),
    };
    let loaded = open(&args.common, false)?;
    let host = loaded.ws.read();
    let mut request = ContextRequest {
        diff,
        task: args.task.clone(),
        budget: Some(args.budget),
        ..ContextRequest::default()
    };
    // Each TARGET is a place, a file or a symbol, tried in that order.
    for target in &args.target {
        if places::resolve(&host, target).is_ok() {
            if request.position.replace(target.clone()).is_some() {
                bail!("give at most one FILE:LINE:COL");
            }
        } else if places::file_of(&host, target).is_ok() {
            request.files.push(target.clone());
        } else {
            request.symbols.push(target.clone());
        }
    }
    let targets = context::targets(&host, &request).map_err(anyhow::Error::msg)?;
    let budget = loaded.ws.settings().request_budget();
    let (answer, _) = cancel::within(budget, || context::answer(&host, &request, targets));
    print(&answer.map_err(anyhow::Error::msg)?, args.common.json, out)
}

pub(super) fn map(args: MapArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let loaded = open(&args.common, false)?;
    let host = loaded.ws.read();
    let request = ContextRequest {
        budget: Some(args.budget),
        map: true,
        ..ContextRequest::default()
    };
    let budget = loaded.ws.settings().request_budget();
    let (answer, _) = cancel::within(budget, || context::answer(&host, &request, Vec::new()));
    print(&answer.map_err(anyhow::Error::msg)?, args.common.json, out)
}

fn print(answer: &ContextAnswer, json: bool, out: &mut dyn Write) -> Result<ExitCode> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(answer)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if !answer.targets.is_empty() {
        writeln!(out, "# context for {}", answer.targets.join(", "))?;
    }
    writeln!(
        out,
        "# {} items, {} of {} tokens",
        answer.items.len(),
        answer.tokens,
        answer.budget
    )?;
    for item in &answer.items {
        let why: Vec<String> = item
            .why
            .iter()
            .skip(1)
            .map(|s| format!("{} {}", s.relation, s.symbol))
            .collect();
        let form = match item.form {
            Form::Skeleton => "skeleton",
            Form::Body => "body",
        };
        writeln!(
            out,
            "# {:.4} {form} {}{}",
            item.score,
            item.symbol,
            if why.is_empty() {
                String::new()
            } else {
                format!(" ({})", why.join(" / "))
            }
        )?;
        write!(out, "{}", item.text)?;
    }
    Ok(ExitCode::SUCCESS)
}
