//! Navigation from the command line: index, symbols, definition, references, callers and
//! callees, outline, imports. Each opens the workspace (a warm start from the store when
//! the folder was indexed before) and answers from its analysis.

use std::{io::Write, path::Path, process::ExitCode};

use anyhow::Result;
use codecontext_analysis::{
    cancel, Analysis, AnalysisHost, CallInfo, FileId, Location, NavTarget, OutlineItem, SearchMode,
};
use codecontext_workspace::places::{self, place};
use serde_json::json;

use super::{
    open::open, CallArgs, FileArgs, IndexArgs, Mode, PositionArgs, ReferencesArgs, SymbolsArgs,
};

pub(super) fn index(args: IndexArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let loaded = open(&args.common, !args.no_progress)?;
    let report = loaded.report();
    let (from_store, restored) = loaded
        .summary
        .as_ref()
        .map_or((0, false), |s| (s.from_store, s.restored));
    if args.common.json {
        let mut value = serde_json::to_value(&report)?;
        value["from_store"] = json!(from_store);
        value["resolutions_restored"] = json!(restored);
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let langs: Vec<String> = report
        .languages
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect();
    writeln!(
        out,
        "indexed {} files ({}) in {} ms: {} lines, {} symbols, {} edges",
        report.files,
        langs.join(", "),
        report.elapsed_ms,
        report.lines,
        report.symbols,
        report.edges.total
    )?;
    if from_store > 0 {
        writeln!(
            out,
            "  {from_store} files from the store{}",
            if restored {
                ", resolutions restored"
            } else {
                ""
            }
        )?;
    }
    for (kind, n) in &report.edges.by_kind {
        let by: Vec<String> = report
            .edges
            .by_kind_and_resolution
            .get(kind)
            .map(|m| m.iter().map(|(h, n)| format!("{h} {n}")).collect())
            .unwrap_or_default();
        writeln!(out, "  {kind:<11} {n:>8}  ({})", by.join(", "))?;
    }
    if report.syntax_errors > 0 {
        writeln!(out, "  {} syntax errors", report.syntax_errors)?;
    }
    if !report.skipped.is_empty() {
        writeln!(out, "skipped {} files:", report.skipped.len())?;
        for s in &report.skipped {
            writeln!(out, "  {}: {}", s.path, s.message)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn symbols(args: SymbolsArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let loaded = open(&args.common, false)?;
    let host = loaded.ws.read();
    let analysis = host.analysis();
    let mode = match args.mode {
        Mode::Exact => SearchMode::Exact,
        Mode::Prefix => SearchMode::Prefix,
        Mode::Fuzzy => SearchMode::Fuzzy,
    };
    let found = analysis.symbols(&args.query, mode, args.limit);
    if args.common.json {
        let items: Vec<_> = found.iter().map(|t| target_json(&analysis, t)).collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
    } else {
        for t in &found {
            writeln!(
                out,
                "{}  {} {}",
                place(&analysis, t.file, t.focus.start),
                t.kind,
                t.qualified_name
            )?;
        }
    }
    Ok(exit_for(!found.is_empty()))
}

/// Parses `FILE:LINE:COL` into a file id and byte offset.
/// Parses `FILE:LINE:COL` into a file id and byte offset.
pub(super) fn position(host: &AnalysisHost, spec: &str) -> Result<(FileId, u32)> {
    Ok(places::resolve(host, spec)?)
}

fn target_json(analysis: &Analysis<'_>, t: &NavTarget) -> serde_json::Value {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "location".into(),
            json!(place(analysis, t.file, t.focus.start)),
        );
        if let Some(id) = t.entity {
            obj.insert("id".into(), json!(id.to_string()));
        }
    }
    v
}

fn location_json(analysis: &Analysis<'_>, l: &Location) -> serde_json::Value {
    json!({ "location": place(analysis, l.file, l.range.start), "path": l.path, "range": l.range })
}

/// The line that says an answer stopped at the request budget.
fn out_of_budget(budget: std::time::Duration) -> String {
    format!(
        "(stopped at the {} ms request budget: the list is partial; CODECONTEXT_REQUEST_BUDGET_MS sets it)",
        budget.as_millis()
    )
}

pub(super) fn exit_for(found: bool) -> ExitCode {
    if found {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

pub(super) fn definition(args: PositionArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let loaded = open(&args.common, false)?;
    let host = loaded.ws.read();
    let (file, offset) = position(&host, &args.position)?;
    let analysis = host.analysis();
    let defs = analysis.definitions(file, offset);
    if args.common.json {
        let value = match &defs {
            Some(d) => json!({
                "how": d.how,
                "targets": d.targets.iter().map(|t| target_json(&analysis, t)).collect::<Vec<_>>(),
            }),
            None => json!({ "how": "unresolved", "targets": [] }),
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        match &defs {
            Some(d) if !d.targets.is_empty() => {
                for t in &d.targets {
                    writeln!(
                        out,
                        "{}  {} {} [{}]",
                        place(&analysis, t.file, t.focus.start),
                        t.kind,
                        t.qualified_name,
                        d.how.as_str()
                    )?;
                }
            }
            _ => writeln!(out, "no definition found")?,
        }
    }
    Ok(exit_for(defs.is_some_and(|d| !d.targets.is_empty())))
}

pub(super) fn references(args: ReferencesArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let loaded = open(&args.position.common, false)?;
    let host = loaded.ws.read();
    let (file, offset) = position(&host, &args.position.position)?;
    let analysis = host.analysis();
    let budget = loaded.ws.settings().request_budget();
    let (refs, truncated) = cancel::within(budget, || {
        analysis.references(file, offset, args.include_declaration)
    });
    let locations = refs
        .as_ref()
        .map(|r| r.locations.clone())
        .unwrap_or_default();
    if args.position.common.json {
        let value = json!({
            "targets": refs.as_ref().map(|r| r.targets.iter().map(|t| target_json(&analysis, t)).collect::<Vec<_>>()).unwrap_or_default(),
            "references": locations.iter().map(|l| location_json(&analysis, l)).collect::<Vec<_>>(),
            "truncated": truncated,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        for l in &locations {
            writeln!(out, "{}", place(&analysis, l.file, l.range.start))?;
        }
        if locations.is_empty() {
            writeln!(out, "no references found")?;
        }
        if truncated {
            writeln!(out, "{}", out_of_budget(budget))?;
        }
    }
    Ok(exit_for(!locations.is_empty()))
}

pub(super) fn calls(args: CallArgs, callers: bool, out: &mut dyn Write) -> Result<ExitCode> {
    let loaded = open(&args.common, false)?;
    let host = loaded.ws.read();
    let analysis = host.analysis();
    let targets: Vec<NavTarget> = analysis
        .find_by_name(&args.name)
        .into_iter()
        .filter(|t| {
            matches!(
                t.kind.as_str(),
                "function" | "method" | "constructor" | "macro" | "class" | "struct"
            )
        })
        .collect();
    if targets.is_empty() {
        if args.common.json {
            writeln!(out, "[]")?;
        } else {
            writeln!(out, "no function named `{}`", args.name)?;
        }
        return Ok(ExitCode::from(1));
    }
    let budget = loaded.ws.settings().request_budget();
    let mut json_items = Vec::new();
    for t in &targets {
        let Some(id) = t.entity else { continue };
        let (steps, truncated): (Vec<CallInfo>, bool) = cancel::within(budget, || {
            if callers {
                analysis.callers(id, args.depth)
            } else {
                analysis.callees(id, args.depth)
            }
        });
        if args.common.json {
            json_items.push(json!({
                "target": target_json(&analysis, t),
                if callers { "callers" } else { "callees" }: steps.iter().map(|s| json!({
                    "entity": target_json(&analysis, &s.target),
                    "depth": s.depth,
                    "via": s.via,
                    "how": s.how,
                    "sites": s.sites.iter().map(|l| location_json(&analysis, l)).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "truncated": truncated,
            }));
        } else {
            writeln!(
                out,
                "{} {}  ({})",
                t.kind,
                t.qualified_name,
                place(&analysis, t.file, t.focus.start)
            )?;
            if steps.is_empty() {
                writeln!(
                    out,
                    "  {}",
                    if callers { "no callers" } else { "no callees" }
                )?;
            }
            for s in &steps {
                let indent = "  ".repeat(s.depth as usize);
                let site = s
                    .sites
                    .first()
                    .map(|l| place(&analysis, l.file, l.range.start))
                    .unwrap_or_default();
                let name = if s.target.kind == "file" {
                    format!("<top level of {}>", s.target.path)
                } else {
                    s.target.qualified_name.clone()
                };
                writeln!(out, "{indent}{name}  at {site} [{}]", s.how.as_str())?;
            }
            if truncated {
                writeln!(out, "  {}", out_of_budget(budget))?;
            }
        }
    }
    if args.common.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&json_items)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn file_of(host: &AnalysisHost, file: &Path) -> Result<FileId> {
    Ok(places::file_of(host, &file.to_string_lossy())?)
}

pub(super) fn outline(args: FileArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let loaded = open(&args.common, false)?;
    let host = loaded.ws.read();
    let file = file_of(&host, &args.file)?;
    let analysis = host.analysis();
    let items = analysis.outline(file);
    if args.common.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
    } else {
        fn walk(
            a: &Analysis<'_>,
            items: &[OutlineItem],
            depth: usize,
            out: &mut dyn Write,
        ) -> std::io::Result<()> {
            for i in items {
                let lc = a
                    .line_col(i.target.file, i.target.focus.start)
                    .map_or(0, |l| l.line + 1);
                writeln!(
                    out,
                    "{}{} {}  :{lc}",
                    "  ".repeat(depth),
                    i.target.kind,
                    i.target.name
                )?;
                walk(a, &i.children, depth + 1, out)?;
            }
            Ok(())
        }
        walk(&analysis, &items, 0, out)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn imports(args: FileArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let loaded = open(&args.common, false)?;
    let host = loaded.ws.read();
    let file = file_of(&host, &args.file)?;
    let analysis = host.analysis();
    let imports = analysis.imports(file);
    let dependents = analysis.dependents(file);
    if args.common.json {
        let value = json!({ "imports": imports, "dependents": dependents });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        writeln!(out, "imports:")?;
        for i in &imports {
            let to: Vec<String> = i
                .targets
                .iter()
                .map(|t| format!("{} ({})", t.qualified_name, t.path))
                .collect();
            let to = if to.is_empty() {
                "<outside the workspace>".to_string()
            } else {
                to.join(", ")
            };
            writeln!(
                out,
                "  {} -> {to}",
                i.binding.signature.as_deref().unwrap_or(&i.binding.name)
            )?;
        }
        writeln!(out, "imported by:")?;
        for d in &dependents {
            writeln!(out, "  {d}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
