//! `codecontext recall | remember | forget | feedback PATH ...`: the project's memory
//! (as `codecontext/recall` and the others, and the MCP tools of the same names), from
//! the shell. Text answers are one memory per paragraph; `--json` prints the answer
//! as the other doors give it.

use std::{io::Write, process::ExitCode};

use anyhow::Result;
use codecontext_workspace::{
    history::ago,
    memory::{FeedbackRequest, ForgetRequest, RecallRequest, RememberRequest, Verdict},
};
use serde_json::Value;

use super::{open::open, FeedbackArgs, ForgetArgs, RecallArgs, RememberArgs, VerdictArg};

/// One memory, for people.
fn write_memory(out: &mut dyn Write, m: &Value) -> Result<()> {
    let s = |key: &str| m[key].as_str().unwrap_or_default().to_string();
    let head = m["title"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| s("text"));
    let source = match m["source"]["path"].as_str() {
        Some(path) => format!(" ({path})"),
        None => String::new(),
    };
    writeln!(
        out,
        "{}  {} {}  {}{}  {}",
        s("id"),
        s("kind"),
        s("status"),
        head.lines().next().unwrap_or(""),
        source,
        ago(m["madeMs"].as_i64().unwrap_or(0)),
    )?;
    if m["title"].is_string() {
        for line in s("text").lines().take(6) {
            writeln!(out, "    {line}")?;
        }
    }
    if let Some(r) = m["rationale"].as_str() {
        writeln!(out, "    why: {}", r.lines().next().unwrap_or(""))?;
    }
    for a in m["anchors"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "    on {} {}{}  {}",
            a["kind"].as_str().unwrap_or(""),
            a["name"].as_str().unwrap_or(""),
            a["file"]
                .as_str()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default(),
            a["drift"].as_str().unwrap_or("").replace('_', " "),
        )?;
    }
    if let Some(by) = m["supersededBy"].as_str() {
        writeln!(out, "    superseded by {by}")?;
    }
    Ok(())
}

fn print(out: &mut dyn Write, json: bool, answer: &Value) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(answer)?)?;
    } else {
        write_memory(out, answer)?;
    }
    Ok(())
}

/// An author's habits on one line: each one's dominant choice and its share.
fn habits_line(habits: &Value) -> String {
    let mut parts = Vec::new();
    for (key, label) in [
        ("indent", "indent"),
        ("quotes", "quotes"),
        ("lineLength", "lines fit"),
        ("imports", "imports"),
        ("errors", "errors"),
        ("tests", "tests"),
    ] {
        let h = &habits[key];
        if let Some(value) = h["value"].as_str() {
            parts.push(format!(
                "{label} {value} {:.0}%",
                h["share"].as_f64().unwrap_or(0.0) * 100.0
            ));
        }
    }
    for (kind, h) in habits["naming"].as_object().into_iter().flatten() {
        parts.push(format!("{kind} {}", h["value"].as_str().unwrap_or("")));
    }
    if parts.is_empty() {
        "nothing measured".to_string()
    } else {
        parts.join(", ")
    }
}

pub(super) fn recall(args: RecallArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let opened = open(&args.common, false)?;
    // A command waits for the change log to be read to the end (a server answers with
    // what is read so far, and reads on in the background).
    for root in opened.ws.roots() {
        opened.block_on(opened.ws.read_history(&root))?;
    }
    let answer = opened.block_on(opened.ws.recall(RecallRequest {
        symbol: args.symbol,
        file: args.file,
        query: args.query,
        include_forgotten: args.include_forgotten,
        limit: Some(args.limit),
    }))?;
    let memories = answer["memories"].as_array().cloned().unwrap_or_default();
    let learned = answer["learned"].as_array().cloned().unwrap_or_default();
    if args.common.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
    } else {
        for m in &memories {
            write_memory(out, m)?;
        }
        for symbol in answer["changes"].as_array().into_iter().flatten() {
            let commits = symbol["commits"].as_array().cloned().unwrap_or_default();
            if commits.is_empty() {
                continue;
            }
            writeln!(
                out,
                "changes of {} ({}):",
                symbol["symbol"].as_str().unwrap_or(""),
                symbol["path"].as_str().unwrap_or("")
            )?;
            for c in &commits {
                let id = c["commit"].as_str().unwrap_or("");
                writeln!(
                    out,
                    "    {}  {}  {}  {} +{} -{}  {}",
                    &id[..id.len().min(10)],
                    ago(c["atMs"].as_i64().unwrap_or(0)),
                    c["author"].as_str().unwrap_or(""),
                    c["how"].as_str().unwrap_or(""),
                    c["added"],
                    c["removed"],
                    c["summary"].as_str().unwrap_or("")
                )?;
            }
        }
        for lang in answer["style"].as_array().into_iter().flatten() {
            let naming: Vec<String> = lang["code"]["naming"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| {
                    format!(
                        "{} {} {:.0}%",
                        n["kind"].as_str().unwrap_or(""),
                        n["style"].as_str().unwrap_or(""),
                        n["share"].as_f64().unwrap_or(0.0) * 100.0
                    )
                })
                .collect();
            writeln!(
                out,
                "style of {} ({} commits; code: {}):",
                lang["language"].as_str().unwrap_or(""),
                lang["commits"]["commits"],
                if naming.is_empty() {
                    "too few names".to_string()
                } else {
                    naming.join(", ")
                }
            )?;
            writeln!(out, "    all: {}", habits_line(&lang["commits"]["habits"]))?;
            for a in lang["authors"].as_array().into_iter().flatten() {
                writeln!(
                    out,
                    "    {} <{}> ({} commits): {}",
                    a["author"].as_str().unwrap_or(""),
                    a["email"].as_str().unwrap_or(""),
                    a["commits"],
                    habits_line(&a["habits"])
                )?;
            }
        }
        for kind in ["commands", "tests"] {
            let ran: Vec<String> = answer["habits"][kind]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| format!("{} ({}x)", c["what"].as_str().unwrap_or(""), c["runs"]))
                .collect();
            if !ran.is_empty() {
                writeln!(out, "{kind} run most: {}", ran.join(", "))?;
            }
        }
        for p in &learned {
            writeln!(
                out,
                "learned preference: {}",
                p["text"].as_str().unwrap_or("")
            )?;
        }
        for s in answer["skipped"].as_array().into_iter().flatten() {
            writeln!(
                out,
                "skipped {}: {}",
                s["path"].as_str().unwrap_or(""),
                s["reason"].as_str().unwrap_or("")
            )?;
        }
        if memories.is_empty()
            && learned.is_empty()
            && answer["changes"].as_array().is_none_or(|c| c.is_empty())
            && answer["style"].as_array().is_none_or(|s| s.is_empty())
        {
            writeln!(out, "nothing remembered")?;
        }
    }
    Ok(super::nav::exit_for(
        !memories.is_empty() || !learned.is_empty(),
    ))
}

pub(super) fn remember(args: RememberArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let opened = open(&args.common, false)?;
    let answer = opened.block_on(opened.ws.remember(RememberRequest {
        kind: args.kind,
        text: args.text,
        rationale: args.rationale,
        symbols: args.symbol,
        files: args.file,
        supersedes: args.supersedes,
        author: args.author,
    }))?;
    print(out, args.common.json, &answer)?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn forget(args: ForgetArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let opened = open(&args.common, false)?;
    let answer = opened.block_on(opened.ws.forget(ForgetRequest {
        id: args.id,
        reason: args.reason,
    }))?;
    print(out, args.common.json, &answer)?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn feedback(args: FeedbackArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let opened = open(&args.common, false)?;
    let answer = opened.block_on(opened.ws.feedback(FeedbackRequest {
        about: args.about,
        verdict: match args.verdict {
            VerdictArg::Accepted => Verdict::Accepted,
            VerdictArg::Rejected => Verdict::Rejected,
            VerdictArg::Edited => Verdict::Edited,
        },
        reason: args.reason,
        symbols: args.symbol,
        files: args.file,
    }))?;
    if args.common.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
    } else {
        write_memory(out, &answer["feedback"])?;
        if let Some(text) = answer["preference"]["text"].as_str() {
            writeln!(out, "learned preference: {text}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
