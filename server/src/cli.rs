//! Command-line subcommands over the analysis API.
//!
//! Positions are `FILE:LINE:COL`, 1-based, with `COL` counted in characters; `FILE` is
//! relative to the workspace path or absolute.

use std::{
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use codecontext_analysis::{
    Analysis, AnalysisHost, CallInfo, FileId, IndexReport, Location, NavTarget, OutlineItem,
    PositionEncoding, Progress, SearchMode,
};
use serde_json::json;

#[derive(Parser, Debug)]
#[command(
    name = "codecontext",
    version,
    about = "A live memory of your code: index, navigate, verify."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Index a workspace and print a summary.
    Index(IndexArgs),
    /// Search symbols by name (fuzzy by default).
    Symbols(SymbolsArgs),
    /// Go to the definition(s) of the name at FILE:LINE:COL.
    Definition(PositionArgs),
    /// Find the references of the symbol at FILE:LINE:COL.
    References(ReferencesArgs),
    /// Who calls the functions or methods named NAME (transitively with --depth).
    Callers(CallArgs),
    /// What the functions or methods named NAME call (transitively with --depth).
    Callees(CallArgs),
    /// The definitions of a file as a tree.
    Outline(FileArgs),
    /// A file's imports and the files that import it.
    Imports(FileArgs),
    /// Run the language server over stdio (LSP).
    Serve(ServeArgs),
    /// Check every configured backend (PostgreSQL, Bolt, Redis, InfluxDB): its state,
    /// its version and the latency of a round trip. Exits 1 if one is down.
    Doctor(DoctorArgs),
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// The workspace folder whose `codecontext.toml` counts (default: the current one).
    pub path: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Speak LSP over stdin and stdout (the default, and the only transport; accepted
    /// because editors pass it).
    #[arg(long)]
    pub stdio: bool,
}

#[derive(Args, Debug)]
pub struct Common {
    /// The workspace folder.
    pub path: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct IndexArgs {
    #[command(flatten)]
    pub common: Common,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Mode {
    Exact,
    Prefix,
    Fuzzy,
}

#[derive(Args, Debug)]
pub struct SymbolsArgs {
    #[command(flatten)]
    pub common: Common,
    pub query: String,
    #[arg(long, value_enum, default_value = "fuzzy")]
    pub mode: Mode,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Args, Debug)]
pub struct PositionArgs {
    #[command(flatten)]
    pub common: Common,
    /// FILE:LINE:COL, 1-based.
    pub position: String,
}

#[derive(Args, Debug)]
pub struct ReferencesArgs {
    #[command(flatten)]
    pub position: PositionArgs,
    /// Also list the declaration itself.
    #[arg(long)]
    pub include_declaration: bool,
}

#[derive(Args, Debug)]
pub struct CallArgs {
    #[command(flatten)]
    pub common: Common,
    /// A name, or a qualified name suffix such as `Parser.parse`.
    pub name: String,
    #[arg(long, default_value_t = 1)]
    pub depth: u32,
}

#[derive(Args, Debug)]
pub struct FileArgs {
    #[command(flatten)]
    pub common: Common,
    pub file: PathBuf,
}

/// Runs a command, writing results to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<ExitCode> {
    match cli.command {
        Command::Index(args) => index(args, out),
        Command::Symbols(args) => symbols(args, out),
        Command::Definition(args) => definition(args, out),
        Command::References(args) => references(args, out),
        Command::Callers(args) => calls(args, true, out),
        Command::Callees(args) => calls(args, false, out),
        Command::Outline(args) => outline(args, out),
        Command::Imports(args) => imports(args, out),
        Command::Serve(_) => bail!("`serve` owns stdout; main runs it before locking stdout"),
        Command::Doctor(args) => doctor(args, out),
    }
}

fn doctor(args: DoctorArgs, out: &mut dyn Write) -> Result<ExitCode> {
    use codecontext_team::doctor::State;
    let root = match args.path {
        Some(path) => path,
        None => std::env::current_dir()?,
    };
    let config = codecontext_config::load(Some(&root), None)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut checks = runtime.block_on(codecontext_team::doctor::check_all(&config));
    checks.push(runtime.block_on(docker_check(&root)));
    let down = checks.iter().any(|c| matches!(c.state, State::Down(_)));
    let store = codecontext_store::store_home();
    if args.json {
        let backends: Vec<serde_json::Value> = checks
            .iter()
            .map(|c| {
                let (state, error) = match &c.state {
                    State::Ok => ("ok", None),
                    State::Down(why) => ("down", Some(why.clone())),
                    State::NotConfigured => ("not_configured", None),
                };
                json!({
                    "backend": c.backend,
                    "target": c.target,
                    "state": state,
                    "error": error,
                    "latencyMs": c.latency.map(|l| l.as_secs_f64() * 1000.0),
                    "version": c.detail,
                })
            })
            .collect();
        let answer = json!({"embeddedStore": store.display().to_string(), "backends": backends});
        writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
    } else {
        writeln!(out, "{:<15} ok       {}", "embedded store", store.display())?;
        for c in &checks {
            match &c.state {
                State::Ok => writeln!(
                    out,
                    "{:<15} ok       {}  {:.1} ms  {}",
                    c.backend,
                    c.target,
                    c.latency.unwrap_or_default().as_secs_f64() * 1000.0,
                    c.detail.as_deref().unwrap_or("")
                )?,
                State::Down(why) => {
                    writeln!(out, "{:<15} DOWN     {}: {why}", c.backend, c.target)?
                }
                State::NotConfigured if c.backend == "docker" => writeln!(
                    out,
                    "{:<15} -        not chosen (the local sandbox runs)",
                    c.backend
                )?,
                State::NotConfigured => writeln!(
                    out,
                    "{:<15} -        not configured (the embedded store serves)",
                    c.backend
                )?,
            }
        }
    }
    Ok(if down {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The Docker daemon, when the Docker sandbox is chosen (`CODECONTEXT_SANDBOX=docker`,
/// or `sandbox = "docker"` in `codecontext.toml`): its version, the API version
/// negotiated, and its images, of which every image configured must be one.
async fn docker_check(root: &Path) -> codecontext_team::doctor::Check {
    use codecontext_team::doctor::{Check, State};
    let config = match codecontext_config::load_sandbox(Some(root)) {
        Ok(config) => config,
        Err(e) => {
            return Check {
                backend: "docker",
                target: String::new(),
                state: State::Down(e.to_string()),
                latency: None,
                detail: None,
            }
        }
    };
    let target =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    if config.kind != codecontext_config::SandboxKind::Docker {
        return Check {
            backend: "docker",
            target: String::new(),
            state: State::NotConfigured,
            latency: None,
            detail: None,
        };
    }
    let started = std::time::Instant::now();
    let report = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        codecontext_sandbox::daemon_report(),
    )
    .await;
    let (state, detail) = match report {
        Ok(Ok(report)) => {
            let present = |image: &str| {
                report
                    .images
                    .iter()
                    .any(|i| i == image || *i == format!("{image}:latest"))
            };
            let missing: Vec<&String> = config
                .default_image
                .iter()
                .chain(&config.image)
                .chain(config.images.values())
                .filter(|image| !present(image))
                .collect();
            let detail = format!(
                "Docker {}, API {}, images: {}",
                report.version,
                report.api_version,
                if report.images.is_empty() {
                    "none".to_string()
                } else {
                    report.images.join(", ")
                }
            );
            if !missing.is_empty() {
                let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                (
                    State::Down(format!(
                        "configured but not there: {}; {detail}",
                        missing.join(", ")
                    )),
                    None,
                )
            } else {
                (State::Ok, Some(detail))
            }
        }
        Ok(Err(e)) => (State::Down(e.to_string()), None),
        Err(_) => (State::Down("no answer within 5 s".into()), None),
    };
    Check {
        backend: "docker",
        target,
        latency: matches!(state, State::Ok).then(|| started.elapsed()),
        state,
        detail,
    }
}

fn load(path: &Path, progress: bool) -> Result<(AnalysisHost, IndexReport)> {
    if !path.is_dir() {
        bail!("{} is not a folder", path.display());
    }
    let mut host = AnalysisHost::default();
    let report = if progress && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} indexing {pos}/{len} files {wide_msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let tick = |p: Progress<'_>| {
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
            if p.done % 64 == 0 {
                bar.set_message(p.current.to_string());
            }
        };
        let report = host.index_root(path, Some(&tick));
        bar.finish_and_clear();
        report
    } else {
        host.index_root(path, None)
    };
    Ok((host, report))
}

fn index(args: IndexArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let (_, report) = load(&args.common.path, !args.no_progress)?;
    if args.common.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
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

fn symbols(args: SymbolsArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let (host, _) = load(&args.common.path, false)?;
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
fn position(host: &AnalysisHost, spec: &str) -> Result<(FileId, u32)> {
    let mut parts = spec.rsplitn(3, ':');
    let (Some(col), Some(line), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("expected FILE:LINE:COL, got `{spec}`");
    };
    let line: u32 = line
        .parse()
        .with_context(|| format!("bad line number `{line}`"))?;
    let col: u32 = col.parse().with_context(|| format!("bad column `{col}`"))?;
    if line == 0 || col == 0 {
        bail!("lines and columns start at 1");
    }
    let path = Path::new(file);
    let id = host
        .file_id(path)
        .or_else(|| host.file_id(&path.canonicalize().ok()?))
        .with_context(|| format!("{file} is not an indexed file of this workspace"))?;
    let analysis = host.analysis();
    let index = analysis.line_index(id).context("file has no text")?;
    if line > index.line_count() {
        bail!(
            "{file} has {} lines; line {line} is past its end",
            index.line_count()
        );
    }
    let offset = analysis
        .offset(id, line - 1, col - 1, PositionEncoding::Utf32)
        .context("position outside the file")?;
    Ok((id, offset))
}

fn place(analysis: &Analysis<'_>, file: FileId, offset: u32) -> String {
    let lc = analysis.line_col(file, offset);
    let col = lc.and_then(|lc| {
        let index = analysis.line_index(file)?;
        Some(index.to_wide(PositionEncoding::Utf32, lc).col)
    });
    match (lc, col) {
        (Some(lc), Some(col)) => format!("{}:{}:{}", analysis.path_of(file), lc.line + 1, col + 1),
        _ => analysis.path_of(file),
    }
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

fn exit_for(found: bool) -> ExitCode {
    if found {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn definition(args: PositionArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let (host, _) = load(&args.common.path, false)?;
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

fn references(args: ReferencesArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let (host, _) = load(&args.position.common.path, false)?;
    let (file, offset) = position(&host, &args.position.position)?;
    let analysis = host.analysis();
    let refs = analysis.references(file, offset, args.include_declaration);
    let locations = refs
        .as_ref()
        .map(|r| r.locations.clone())
        .unwrap_or_default();
    if args.position.common.json {
        let value = json!({
            "targets": refs.as_ref().map(|r| r.targets.iter().map(|t| target_json(&analysis, t)).collect::<Vec<_>>()).unwrap_or_default(),
            "references": locations.iter().map(|l| location_json(&analysis, l)).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        for l in &locations {
            writeln!(out, "{}", place(&analysis, l.file, l.range.start))?;
        }
        if locations.is_empty() {
            writeln!(out, "no references found")?;
        }
    }
    Ok(exit_for(!locations.is_empty()))
}

fn calls(args: CallArgs, callers: bool, out: &mut dyn Write) -> Result<ExitCode> {
    let (host, _) = load(&args.common.path, false)?;
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
    let mut json_items = Vec::new();
    for t in &targets {
        let Some(id) = t.entity else { continue };
        let steps: Vec<CallInfo> = if callers {
            analysis.callers(id, args.depth)
        } else {
            analysis.callees(id, args.depth)
        };
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
        }
    }
    if args.common.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&json_items)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn file_of(host: &AnalysisHost, file: &Path) -> Result<FileId> {
    host.file_id(file)
        .or_else(|| host.file_id(&file.canonicalize().ok()?))
        .with_context(|| {
            format!(
                "{} is not an indexed file of this workspace",
                file.display()
            )
        })
}

fn outline(args: FileArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let (host, _) = load(&args.common.path, false)?;
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

fn imports(args: FileArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let (host, _) = load(&args.common.path, false)?;
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
