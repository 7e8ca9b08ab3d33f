//! `codecontext-bench`: the benchmarks behind every performance and accuracy number we
//! report. Each subcommand measures CodeContext against a peer in the same run (ctags,
//! a type-aware language server) so that ratios, not absolute times, carry the claim.
//!
//! Corpora are real projects fetched by `bench/fetch-corpora.sh` into `bench-data/`.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark's report is its output"
)]

mod accuracy;
mod assess;
mod batch;
mod cli;
mod context;
mod coverage;
mod docker;
mod history;
mod index;
mod keystroke;
mod lsp;
mod mcp;
mod memory;
mod pathological;
mod pattern;
mod replay;
mod risk;
mod sandbox;
mod search;
mod server;
mod stats;
mod team;
mod verify;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "codecontext-bench",
    about = "Rerunnable benchmarks of CodeContext."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// How many of a Rust tree's `fn NAME` items (a plain text search) the index knows,
    /// with the misses.
    FnCoverage { dir: PathBuf },
    /// Full index of a folder against `ctags -R` on the same files (wall time, median).
    Index {
        dir: PathBuf,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Keystroke updates on a ~300 KB file: edit, reparse, re-extract, graph updated.
    Keystroke {
        /// A folder whose source files are concatenated into the edited file.
        dir: PathBuf,
        /// File extension to take (`rs` or `py`).
        #[arg(long, default_value = "rs")]
        ext: String,
        #[arg(long, default_value_t = 300 * 1024)]
        size: usize,
        #[arg(long, default_value_t = 2000)]
        edits: usize,
    },
    /// Structural search against `ast-grep run` on the same folder: each pattern's
    /// median time and match count, both sides, with a warm index.
    Pattern {
        dir: PathBuf,
        #[arg(long)]
        lang: String,
        /// Repeatable; each is measured on its own.
        #[arg(long = "pattern", required = true)]
        patterns: Vec<String>,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// The peer: the `ast-grep` binary (PyPI's ast-grep-cli).
        #[arg(long, default_value = "ast-grep")]
        ast_grep: PathBuf,
    },
    /// Project rules on a keystroke: edit applied and rules checked on a ~300 KB open
    /// document, p50 and p99, against `ast-grep scan` of the file.
    Rules {
        dir: PathBuf,
        #[arg(long, default_value_t = 300_000)]
        size: usize,
        #[arg(long, default_value_t = 200)]
        edits: usize,
        #[arg(long, default_value = "ast-grep")]
        ast_grep: PathBuf,
    },
    /// Symbol search latency: fuzzy and exact queries over the definitions of a folder.
    Search {
        dirs: Vec<PathBuf>,
        #[arg(long, default_value_t = 2000)]
        queries: usize,
    },
    /// Pathological inputs (nesting 20,000 deep, a 1 MB line, 100,000 siblings, 10,000
    /// definitions of one name, per language): the time to process each against a
    /// normal file of its size, and the worst latency of requests about a normal file
    /// while the server processes it.
    Pathological {
        /// The `codecontext` binary.
        #[arg(long, default_value = "target/release/codecontext")]
        binary: PathBuf,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Only this language.
        #[arg(long)]
        language: Option<String>,
        /// Only this input (`siblings`, `single_line`, `candidates`, `parens`, ...).
        #[arg(long)]
        input: Option<String>,
    },
    /// One didChange of many changes against one change of the whole new text, on a
    /// normal file of each language.
    Batch {
        #[arg(long, default_value_t = 1024 * 1024)]
        size: usize,
        #[arg(long, default_value_t = 1000)]
        changes: usize,
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// The risk model of `assess` on real history: trained on the older 70% of each
    /// repository's commits, AUC on the newer 30%, against ranking by lines changed.
    Risk { repos: Vec<PathBuf> },
    /// Assessment latency on a large folder: random diffs of N functions assessed
    /// in-process, p50 and p99, against parsing the changed files alone.
    Assess {
        dir: PathBuf,
        #[arg(long, default_value_t = 200)]
        diffs: usize,
        #[arg(long, default_value_t = 10)]
        functions: usize,
    },
    /// The change log read from git: import of a repository's last commits (against `git
    /// log -p`), one new commit, recall latency, and agreement with `git log -L`.
    History {
        /// A git repository (e.g. bench-data/history/click).
        repo: PathBuf,
        /// Commits for the peer (`git log -p -n N`); the server reads its own maximum.
        #[arg(long, default_value_t = 2000)]
        commits: usize,
        /// Later commits read one at a time.
        #[arg(long, default_value_t = 20)]
        steps: usize,
        /// Functions compared with `git log -L`.
        #[arg(long, default_value_t = 100)]
        sample: usize,
        /// Recalls timed.
        #[arg(long, default_value_t = 200)]
        recalls: usize,
    },
    /// Peak memory (RSS) of indexing folders in a fresh process.
    Memory { dirs: Vec<PathBuf> },
    /// Internal: index and report peak RSS (run by `memory`).
    #[command(hide = true)]
    MemoryChild { dirs: Vec<PathBuf> },
    /// The language server over its stdio: startup cold and warm (to the first
    /// workspace/symbol answer and to the end of indexing), then definition and
    /// references latency while typing into an open ~300 KB file.
    Server {
        dir: PathBuf,
        /// The `codecontext` binary.
        #[arg(long, default_value = "target/release/codecontext")]
        binary: PathBuf,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// What the first workspace/symbol asks for.
        #[arg(long, default_value = "new")]
        query: String,
        /// Extension of the files the typed-into file is made of.
        #[arg(long, default_value = "rs")]
        ext: String,
        #[arg(long, default_value_t = 400)]
        keystrokes: usize,
        /// Milliseconds between keystrokes.
        #[arg(long, default_value_t = 30)]
        pace: u64,
    },
    /// The command line, whole processes: `definition` cold (`--no-store`) against warm
    /// (from the folder's store, filled by a first `index`), and `ctags -R` on the same
    /// folder in the same run.
    Cli {
        dir: PathBuf,
        /// The `codecontext` binary.
        #[arg(long, default_value = "target/release/codecontext")]
        binary: PathBuf,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// The MCP server over its stdio, on a folder whose store a first `index` filled: the
    /// first `find_symbol` answer warm (from spawn) against `ctags -R` in the same run;
    /// `find_symbol`, `find_references` and `call_graph` latency in one session; peak RSS
    /// of separate servers against the daemon's clients and the daemon.
    Mcp {
        dir: PathBuf,
        /// The `codecontext` binary.
        #[arg(long, default_value = "target/release/codecontext")]
        binary: PathBuf,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Calls of each tool in the latency session.
        #[arg(long, default_value_t = 200)]
        calls: usize,
        /// What the first find_symbol asks for.
        #[arg(long, default_value = "new")]
        query: String,
        /// Clients (and separate servers) in the memory part.
        #[arg(long, default_value_t = 3)]
        clients: usize,
    },
    /// Context recall on real git history against Aider's repository map: per repository
    /// under `--repos` (see `bench/fetch-history.sh`), the newest commits that change two
    /// or more source files, each replayed on its parent at several token budgets; with
    /// `--latency DIR`, context answer latency on a large folder.
    Context(context::Options),
    /// Definition answers against a type-aware language server.
    Accuracy {
        dir: PathBuf,
        /// The server command, e.g. `node_modules/.bin/pyright-langserver --stdio`.
        #[arg(long)]
        server: String,
        /// Only files of this language (`python`, `typescript`, ...).
        #[arg(long)]
        lang: String,
        /// At most this many positions are asked.
        #[arg(long, default_value_t = 3000)]
        positions: usize,
        /// Print the first N disagreements.
        #[arg(long, default_value_t = 0)]
        show: usize,
    },
    /// Sandbox start overhead against a plain spawn and bwrap; snapshot cost by size.
    Sandbox {
        #[arg(long, default_value_t = 30)]
        runs: usize,
    },
    /// Docker sandbox start: cold `docker run`, a cold container through bollard, and an
    /// exec into a warm pooled container (the image of `.ci/docker` unless --image).
    Docker {
        #[arg(long, default_value_t = 20)]
        runs: usize,
        #[arg(long)]
        image: Option<String>,
    },
    /// Team mode against the embedded store: storing an index of the folders (PostgreSQL
    /// and the graph database against SQLite), callers to depth 3 through Cypher against
    /// the embedded graph, and a Redis cache hit. Backends from `CODECONTEXT_*` (see
    /// `.ci/services env`).
    Team {
        dirs: Vec<PathBuf>,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        #[arg(long, env = "CODECONTEXT_POSTGRES_URL")]
        postgres: String,
        #[arg(long, env = "CODECONTEXT_BOLT_URL")]
        bolt: String,
        #[arg(long, env = "CODECONTEXT_REDIS_URL")]
        redis: String,
    },
    /// Verification on a Python or Rust project's real history (its newest commits that
    /// change code and tests), each verdict against pytest or `cargo test` run directly
    /// on the same tree.
    Replay {
        repo: PathBuf,
        #[arg(long, default_value_t = 20)]
        commits: usize,
    },
    /// End-to-end verification of a project against running its tests directly.
    Verify {
        dir: PathBuf,
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
}

fn main() -> Result<()> {
    // This binary is also the sandbox's helper (see `codecontext-bench sandbox`).
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(codecontext_sandbox::HELPER_ARG) {
        std::process::exit(codecontext_sandbox::helper_main(&argv[2..]));
    }
    match Cli::parse().command {
        Command::Index { dir, runs } => index::run(&dir, runs),
        Command::FnCoverage { dir } => coverage::run(&dir),
        Command::Keystroke {
            dir,
            ext,
            size,
            edits,
        } => keystroke::run(&dir, &ext, size, edits),
        Command::Search { dirs, queries } => search::run(&dirs, queries),
        Command::Pattern {
            dir,
            lang,
            patterns,
            rounds,
            ast_grep,
        } => pattern::run(&dir, &lang, &patterns, rounds, &ast_grep),
        Command::Rules {
            dir,
            size,
            edits,
            ast_grep,
        } => pattern::rules(&dir, size, edits, &ast_grep),
        Command::Pathological {
            binary,
            runs,
            language,
            input,
        } => pathological::run(&binary, runs, language.as_deref(), input.as_deref()),
        Command::Batch {
            size,
            changes,
            runs,
        } => batch::run(size, changes, runs),
        Command::Risk { repos } => risk::run(&repos),
        Command::Assess {
            dir,
            diffs,
            functions,
        } => assess::run(&dir, diffs, functions),
        Command::History {
            repo,
            commits,
            steps,
            sample,
            recalls,
        } => history::run(&repo, commits, steps, sample, recalls),
        Command::Memory { dirs } => memory::run(&dirs),
        Command::MemoryChild { dirs } => memory::child(&dirs),
        Command::Accuracy {
            dir,
            server,
            lang,
            positions,
            show,
        } => accuracy::run(&dir, &server, &lang, positions, show),
        Command::Server {
            dir,
            binary,
            runs,
            query,
            ext,
            keystrokes,
            pace,
        } => server::run(&binary, &dir, runs, &query, &ext, keystrokes, pace),
        Command::Cli { dir, binary, runs } => cli::run(&binary, &dir, runs),
        Command::Mcp {
            dir,
            binary,
            runs,
            calls,
            query,
            clients,
        } => mcp::run(&binary, &dir, runs, calls, &query, clients),
        Command::Context(options) => context::run(&options),
        Command::Sandbox { runs } => sandbox::run(runs),
        Command::Docker { runs, image } => docker::run(runs, image),
        Command::Verify { dir, runs } => verify::run(&dir, runs),
        Command::Replay { repo, commits } => replay::run(&repo, commits),
        Command::Team {
            dirs,
            runs,
            postgres,
            bolt,
            redis,
        } => team::run(
            &dirs,
            &team::Backends {
                postgres,
                bolt,
                redis,
            },
            runs,
        ),
    }
}
