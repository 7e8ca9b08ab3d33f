//! Runs from the command line: `execute` (a snippet in the sandbox), `verify` (an edit
//! built and tested in a sandboxed snapshot) and `history` (the runs recorded in the
//! folder's store), through the same workspace methods as the language server's
//! `codecontext/execute`, `codecontext/verify` and `codecontext/history`.

use std::{io::Write, path::PathBuf, process::ExitCode};

use anyhow::{Context, Result};
use codecontext_sandbox::Status;
use codecontext_verify::{InstallStatus, TestOutcome, TestSelection, VerdictKind};
use codecontext_workspace::{
    execute::ExecuteRequest,
    history::HistoryOf,
    verify::{Edit, VerifyRequest},
};
use serde_json::json;

use super::{
    open::{open, open_folder},
    ExecuteArgs, HistoryArgs, VerifyArgs,
};

/// Reads a file's text, or stdin for `-`.
pub(super) fn read_input(path: &PathBuf) -> Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("cannot read stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub(super) fn execute(args: ExecuteArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let code = match (&args.code, &args.file) {
        (Some(code), _) => code.clone(),
        (None, Some(file)) => read_input(file)?,
        (None, None) => read_input(&PathBuf::from("-"))?,
    };
    // A snippet needs the folder's sandbox settings and run history, not its index.
    let opened = open_folder(&args.path, true, false, false)?;
    let request = ExecuteRequest {
        language: args.language,
        code,
        stdin: args.stdin,
        args: args.args,
        timeout_ms: args.timeout_ms,
    };
    let answer = opened.block_on(opened.ws.execute(request, false))?;
    let ok = answer.outcome.status == Status::Ok && answer.outcome.exit_code == Some(0);
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
    } else {
        let o = &answer.outcome;
        out.write_all(o.stdout.as_bytes())?;
        if !o.stdout.is_empty() && !o.stdout.ends_with('\n') {
            writeln!(out)?;
        }
        if !o.stderr.is_empty() {
            writeln!(out, "--- stderr")?;
            out.write_all(o.stderr.as_bytes())?;
            if !o.stderr.ends_with('\n') {
                writeln!(out)?;
            }
        }
        let status = serde_json::to_value(o.status)?;
        writeln!(
            out,
            "--- {} {}: {}{} in {} ms, cpu {} ms, peak memory {} KiB{}",
            answer.language,
            status.as_str().unwrap_or("?"),
            o.exit_code
                .map_or_else(|| "no exit code".to_string(), |c| format!("exit {c}")),
            o.signal.map_or(String::new(), |s| format!(", signal {s}")),
            o.wall_ms,
            o.cpu_ms,
            o.peak_memory_bytes / 1024,
            answer
                .run_id
                .map_or(String::new(), |id| format!(" · run {id}")),
        )?;
        if let Some(message) = &o.message {
            writeln!(out, "--- {message}")?;
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(super) fn verify(args: VerifyArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let diff = read_input(&args.diff)?;
    let tests = match args.tests.as_str() {
        "all" | "affected" => TestSelection::Mode(args.tests.clone()),
        names => TestSelection::Names(
            names
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(String::from)
                .collect(),
        ),
    };
    // The index tells which symbols the edit changes and which tests reach them.
    let opened = open(&args.common, true)?;
    let request = VerifyRequest {
        edit: Edit::Diff(diff),
        root: opened.ws.roots().into_iter().next(),
        tests,
        timeout_ms: args.timeout_ms,
    };
    let answer = opened.block_on(opened.ws.verify(request, true))?;
    let passed = answer.verdict.verdict == VerdictKind::Passed;
    if args.common.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
    } else {
        let v = &answer.verdict;
        let count = |o: TestOutcome| v.tests.iter().filter(|t| t.outcome == o).count();
        let verdict = serde_json::to_value(v.verdict)?;
        writeln!(
            out,
            "{}: {} passed, {} failed, in {} ms ({}){}",
            verdict.as_str().unwrap_or("?"),
            count(TestOutcome::Passed),
            count(TestOutcome::Failed),
            v.wall_ms,
            v.command.join(" "),
            answer
                .run_id
                .map_or(String::new(), |id| format!(" · run {id}")),
        )?;
        if let Some(t) = &v.toolchain {
            let version = t
                .version
                .as_deref()
                .map_or(String::new(), |v| format!(" {v}"));
            writeln!(
                out,
                "with {}{version} (found by {}), {}",
                t.program, t.source, t.runner
            )?;
        }
        if let Some(i) = &v.install {
            let missing = codecontext_verify::deps::summary(&i.missing);
            let files = i.requirements.join(", ");
            match i.status {
                InstallStatus::Installed => {
                    writeln!(out, "installed {missing} ({files}) in {} ms", i.wall_ms)?
                }
                InstallStatus::Cached => {
                    writeln!(out, "{missing} ({files}) from the install cache")?
                }
                InstallStatus::Failed => writeln!(out, "installing {missing} ({files}) failed")?,
            }
        }
        if !answer.edit.symbols.is_empty() {
            writeln!(out, "changes {}", answer.edit.symbols.join(", "))?;
        }
        for e in &v.build_errors {
            let at = e
                .location
                .as_ref()
                .map_or(String::new(), |l| format!("{}:{}: ", l.file, l.line));
            writeln!(out, "  build error: {at}{}", e.message)?;
        }
        for t in v.tests.iter().filter(|t| t.outcome == TestOutcome::Failed) {
            writeln!(
                out,
                "  failed: {}{}",
                t.name,
                t.message
                    .as_deref()
                    .map_or(String::new(), |m| format!(": {m}"))
            )?;
        }
        if let Some(message) = &v.message {
            writeln!(out, "  {message}")?;
        }
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(super) fn history(args: HistoryArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let opened = open_folder(&args.path, true, false, false)?;
    let of = HistoryOf::of(args.symbol, args.file)?;
    let runs = opened.block_on(opened.ws.history(of, args.limit))?;
    if args.json {
        let runs: Vec<_> = runs.iter().map(|r| r.to_json(args.detail)).collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json!({ "runs": runs }))?
        )?;
    } else {
        for r in &runs {
            let run = &r.run;
            let kind = serde_json::to_value(run.kind)?;
            let subjects = if run.symbols.is_empty() {
                run.files.join(", ")
            } else {
                run.symbols.join(", ")
            };
            writeln!(
                out,
                "run {}  {}  {} {}  {} passed, {} failed  {} ms  {}",
                run.id,
                codecontext_workspace::history::ago(run.at_ms),
                kind.as_str().unwrap_or("?"),
                run.status,
                run.passed,
                run.failed,
                run.wall_ms,
                subjects
            )?;
        }
        if runs.is_empty() {
            writeln!(out, "no runs recorded")?;
        }
    }
    Ok(super::nav::exit_for(!runs.is_empty()))
}
