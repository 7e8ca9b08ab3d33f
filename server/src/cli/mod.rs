//! Command-line subcommands, a thin adapter over the workspace (`codecontext-workspace`)
//! as the language server is: navigation ([`nav`]), runs and their history ([`runs`]),
//! and the backends' health ([`doctor`]).
//!
//! Positions are `FILE:LINE:COL`, 1-based, with `COL` counted in characters; `FILE` is
//! relative to the workspace path or absolute.

mod assess;
mod context;
mod daemon;
mod doctor;
mod memory;
mod nav;
mod open;
mod report;
mod runs;
mod search;
mod usages;

use std::{io::Write, path::PathBuf, process::ExitCode};

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// The code a task needs, ranked and packed within a token budget: TARGET is
    /// FILE:LINE:COL, a file, or a symbol's qualified name; or give --task or --diff.
    Context(ContextArgs),
    /// The project's map: its most central symbols as skeletons within a token budget.
    Map(MapArgs),
    /// Run the language server over stdio (LSP).
    Serve(ServeArgs),
    /// Run the MCP server over stdio, for AI assistants (Claude Code, Cursor, Copilot,
    /// Codex, Zed): tools to find symbols, definitions, references and call graphs, run
    /// snippets and verify edits. See docs/mcp.md.
    Mcp(McpArgs),
    /// The daemon that serves every client of a folder from one index (`serve` and
    /// `mcp` start it when it is not running, and it leaves when idle): run, status,
    /// stop.
    Daemon(DaemonArgs),
    /// Check every configured backend (PostgreSQL, Bolt, Redis, InfluxDB): its state,
    /// its version and the latency of a round trip. Exits 1 if one is down.
    Doctor(DoctorArgs),
    /// Run a snippet in the sandbox (the code from --code, --file, or stdin). Exits 0
    /// when it ran and exited 0, 1 when it ran and failed, 2 on error.
    Execute(ExecuteArgs),
    /// Verify a proposed edit (a unified diff): build and test it in a sandboxed snapshot
    /// of the workspace; the files are never touched. Exits 0 when it passes, 1 when not.
    Verify(VerifyArgs),
    /// The recorded runs (executions and verifications) of a symbol or a file, or all,
    /// newest first.
    History(HistoryArgs),
    /// Assess a proposed edit (a unified diff) before running it: changed symbols and
    /// what reaches them, complexity before and after, naming conventions, calls it
    /// breaks. Exits 0 without warnings, 1 with some.
    Assess(AssessArgs),
    /// A report on the project, as one HTML page with plots: hotspots (churn ×
    /// complexity), risk by module, test durations over time, verification outcomes and
    /// the module dependency graph. Written to --out, else to stdout; --json prints its
    /// data instead.
    Report(ReportArgs),
    /// Structural search: code with metavariables (`$X.unwrap()`,
    /// `requests.get($$$ARGS)`), an ast-grep rule (--rule), or a tree-sitter query
    /// (--query). Prints `path:line:col` and the match, with the symbol around it.
    /// Exits 0 with matches, 1 without (as grep does).
    Search(SearchArgs),
    /// Check the project's rules (`.codecontext/rules/*.yml`, ast-grep's rule format)
    /// over its files: each hit with its rule, message and fix. Exits 0 without hits at
    /// warning or error severity, 1 with some; rule files that do not load are listed
    /// first.
    Rules(RulesArgs),
    /// How the project calls a function or method: call sites grouped by shape (literal,
    /// keyword, None, lambda, name, call per argument), the keywords most calls pass and
    /// the calls that do not, what is done with the result, what is called around it.
    Usages(UsagesArgs),
    /// What the project remembers about a symbol (--symbol), a file (--file) or some
    /// words (--query), or all of it: decisions (from docs/adr and similar folders, or
    /// remembered), preferences and feedback, each with its status (current, suspect,
    /// orphaned, superseded). Exits 1 when nothing is remembered.
    Recall(RecallArgs),
    /// Remember a decision or a preference, anchored to symbols (--symbol) and files
    /// (--file); it turns suspect when their code changes.
    Remember(RememberArgs),
    /// Forget a memory by its id (it is kept, marked forgotten).
    Forget(ForgetArgs),
    /// Record what became of a suggestion; a kind of suggestion rejected repeatedly
    /// becomes a preference.
    Feedback(FeedbackArgs),
}

#[derive(Args, Debug)]
pub struct RecallArgs {
    #[command(flatten)]
    pub common: Common,
    /// A qualified or bare name.
    #[arg(long, conflicts_with_all = ["file", "query"])]
    pub symbol: Option<String>,
    /// A path relative to the folder, or absolute.
    #[arg(long, conflicts_with = "query")]
    pub file: Option<String>,
    /// Words to look for.
    #[arg(long)]
    pub query: Option<String>,
    /// Include forgotten memories.
    #[arg(long)]
    pub include_forgotten: bool,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

#[derive(Args, Debug)]
pub struct RememberArgs {
    #[command(flatten)]
    pub common: Common,
    /// `decision` or `preference`.
    #[arg(long, default_value = "decision")]
    pub kind: String,
    /// What was decided, or what is preferred.
    #[arg(long)]
    pub text: String,
    /// Why.
    #[arg(long)]
    pub rationale: Option<String>,
    /// A symbol it is about (qualified or bare name); repeatable.
    #[arg(long)]
    pub symbol: Vec<String>,
    /// A file it is about (relative to the folder); repeatable.
    #[arg(long)]
    pub file: Vec<String>,
    /// The id of a memory this one replaces.
    #[arg(long)]
    pub supersedes: Option<String>,
    /// Who decides (default: the OS user).
    #[arg(long)]
    pub author: Option<String>,
}

#[derive(Args, Debug)]
pub struct ForgetArgs {
    #[command(flatten)]
    pub common: Common,
    /// The memory's id, as recall shows it.
    pub id: String,
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum VerdictArg {
    Accepted,
    Rejected,
    Edited,
}

#[derive(Args, Debug)]
pub struct FeedbackArgs {
    #[command(flatten)]
    pub common: Common,
    /// The kind of suggestion (`rule:no-unwrap`, `assess.naming`, `rename`).
    #[arg(long)]
    pub about: String,
    #[arg(long, value_enum)]
    pub verdict: VerdictArg,
    #[arg(long)]
    pub reason: Option<String>,
    /// A symbol the suggestion was about; repeatable.
    #[arg(long)]
    pub symbol: Vec<String>,
    /// A file the suggestion was about; repeatable.
    #[arg(long)]
    pub file: Vec<String>,
}

#[derive(Args, Debug)]
pub struct UsagesArgs {
    #[command(flatten)]
    pub common: Common,
    /// A qualified name (or a unique suffix of one), or FILE:LINE:COL.
    pub symbol: String,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    #[command(flatten)]
    pub common: Common,
    /// Only files under this path (relative to the folder); repeatable.
    #[arg(long = "under")]
    pub under: Vec<String>,
    /// At most this many hits.
    #[arg(long, default_value_t = codecontext_workspace::search::DEFAULT_LIMIT)]
    pub limit: usize,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    #[command(flatten)]
    pub common: Common,
    /// The pattern; with --rule, a file holding the rule (YAML or JSON; `-` reads stdin);
    /// with --query, the tree-sitter query.
    pub pattern: String,
    /// The language of the files to search (rust, python, typescript, tsx, javascript,
    /// go, java).
    #[arg(long)]
    pub lang: String,
    /// PATTERN names a rule file (ast-grep's rule format: `rule`, `constraints`, `utils`).
    #[arg(long, conflicts_with = "query")]
    pub rule: bool,
    /// PATTERN is a raw tree-sitter query (`@match` marks the matched node).
    #[arg(long)]
    pub query: bool,
    /// Only files under this path (relative to the folder); repeatable.
    #[arg(long = "under")]
    pub under: Vec<String>,
    /// At most this many matches.
    #[arg(long, default_value_t = codecontext_workspace::search::DEFAULT_LIMIT)]
    pub limit: usize,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub common: Common,
    /// Write the page to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct AssessArgs {
    #[command(flatten)]
    pub common: Common,
    /// The edit as a unified diff (`-` reads stdin), against the files on disk.
    #[arg(long)]
    pub diff: PathBuf,
}

#[derive(Args, Debug)]
pub struct ExecuteArgs {
    /// The workspace folder (its sandbox configuration and run history).
    pub path: PathBuf,
    /// python, javascript, rust, shell or bash.
    #[arg(long)]
    pub language: String,
    /// The code to run.
    #[arg(long, conflicts_with = "file")]
    pub code: Option<String>,
    /// A file holding the code to run.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Text for the snippet's standard input.
    #[arg(long)]
    pub stdin: Option<String>,
    /// At most this long (1 to 120000 ms).
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Arguments for the snippet.
    #[arg(last = true)]
    pub args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub common: Common,
    /// The edit as a unified diff (`-` reads stdin), against the files on disk.
    #[arg(long)]
    pub diff: PathBuf,
    /// `all`, `affected` (the tests the knowledge graph says reach the edit), or test
    /// names separated by commas.
    #[arg(long, default_value = "all")]
    pub tests: String,
    /// At most this long for the build and the tests.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// The workspace folder.
    pub path: PathBuf,
    /// The runs that changed this symbol (a qualified or a bare name).
    #[arg(long, conflicts_with = "file")]
    pub symbol: Option<String>,
    /// The runs that changed this file (relative to the folder, or absolute).
    #[arg(long)]
    pub file: Option<PathBuf>,
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Include each run's whole answer (with --json).
    #[arg(long)]
    pub detail: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
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
pub struct McpArgs {
    /// The project folder (default: the current one).
    pub path: Option<PathBuf>,
    /// Index in memory only: neither read nor write the folder's store.
    #[arg(long)]
    pub no_store: bool,
    /// Serve Streamable HTTP at this loopback address (`127.0.0.1:PORT`; port 0 picks
    /// one, printed on stderr) instead of stdio.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<std::net::SocketAddr>,
    /// Serve in this process instead of through the folder's daemon (the daemon is
    /// shared by every client of the folder: one index for all of them).
    #[arg(long)]
    pub no_daemon: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Speak LSP over stdin and stdout (the default, and the only transport; accepted
    /// because editors pass it).
    #[arg(long)]
    pub stdio: bool,
    /// Serve in this process instead of through the workspace folder's daemon (the
    /// daemon is shared by every client of the folder: one index for all of them).
    #[arg(long)]
    pub no_daemon: bool,
}

#[derive(Args, Debug)]
pub struct DaemonArgs {
    #[command(subcommand)]
    pub command: DaemonCommand,
}

#[derive(Subcommand, Debug)]
pub enum DaemonCommand {
    /// Run the daemon of a folder in the foreground (clients start it when they need it).
    Run {
        /// The workspace folder.
        path: PathBuf,
    },
    /// Whether the folder's daemon runs: its pid, its clients, its index's version.
    /// Exits 1 when none runs.
    Status {
        /// The workspace folder.
        path: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Stop the folder's daemon (its clients start a new one if they still need it).
    Stop {
        /// The workspace folder.
        path: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct Common {
    /// The workspace folder.
    pub path: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Index in memory only: neither read nor write the folder's store.
    #[arg(long)]
    pub no_store: bool,
}

#[derive(Args, Debug)]
pub struct ContextArgs {
    #[command(flatten)]
    pub common: Common,
    /// FILE:LINE:COL, a file (relative to the folder), or a qualified name.
    pub target: Vec<String>,
    /// The task in words: symbols whose names or docs it mentions.
    #[arg(long)]
    pub task: Option<String>,
    /// A unified diff (`-` reads stdin): the entities it changes.
    #[arg(long)]
    pub diff: Option<PathBuf>,
    /// In o200k tokens.
    #[arg(long, default_value_t = codecontext_workspace::context::DEFAULT_BUDGET)]
    pub budget: usize,
}

#[derive(Args, Debug)]
pub struct MapArgs {
    #[command(flatten)]
    pub common: Common,
    /// In o200k tokens.
    #[arg(long, default_value_t = 2000)]
    pub budget: usize,
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
        Command::Index(args) => nav::index(args, out),
        Command::Symbols(args) => nav::symbols(args, out),
        Command::Definition(args) => nav::definition(args, out),
        Command::References(args) => nav::references(args, out),
        Command::Callers(args) => nav::calls(args, true, out),
        Command::Callees(args) => nav::calls(args, false, out),
        Command::Outline(args) => nav::outline(args, out),
        Command::Context(args) => context::context(args, out),
        Command::Map(args) => context::map(args, out),
        Command::Imports(args) => nav::imports(args, out),
        Command::Serve(_)
        | Command::Mcp(_)
        | Command::Daemon(DaemonArgs {
            command: DaemonCommand::Run { .. },
        }) => {
            bail!("the servers own stdout; main runs them before locking stdout")
        }
        Command::Daemon(args) => daemon::daemon(args, out),
        Command::Doctor(args) => doctor::doctor(args, out),
        Command::Execute(args) => runs::execute(args, out),
        Command::Verify(args) => runs::verify(args, out),
        Command::History(args) => runs::history(args, out),
        Command::Assess(args) => assess::assess(args, out),
        Command::Report(args) => report::report(args, out),
        Command::Search(args) => search::search(args, out),
        Command::Rules(args) => search::rules(args, out),
        Command::Usages(args) => usages::usages(args, out),
        Command::Recall(args) => memory::recall(args, out),
        Command::Remember(args) => memory::remember(args, out),
        Command::Forget(args) => memory::forget(args, out),
        Command::Feedback(args) => memory::feedback(args, out),
    }
}
