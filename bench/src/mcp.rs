//! The MCP server as an AI assistant runs it, over the real binary's stdio
//! (newline-delimited JSON-RPC 2.0), on a folder whose store one first `codecontext index`
//! filled:
//! - first answer, warm: from spawning `codecontext mcp DIR --no-daemon` to the answer of
//!   its first `find_symbol` (after `initialize`), with `ctags -R` over the same folder
//!   and languages in the same run as the peer;
//! - latency: in one session, `find_symbol`, `find_references` and `call_graph` on names
//!   and positions taken from a few `find_symbol` answers, p50 and p99 per tool; every
//!   answer must not be an error;
//! - memory: peak RSS (`VmHWM`) of separate servers, one per client, against as many
//!   clients of the folder's daemon plus the daemon itself.
//!
//! Every child gets a fresh temporary `CODECONTEXT_HOME` and no other `CODECONTEXT_*`
//! variable (see [`crate::cli`]), so only the embedded store is used.

use std::{
    ffi::OsStr,
    fs::File,
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::mpsc::{self, Receiver, RecvTimeoutError},
    time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};

use crate::{
    cli::{ctags, ctags_version, Codecontext},
    index::ctags_language,
    stats::{median, ms, percentile},
};

/// The protocol version the client asks for.
const PROTOCOL_VERSION: &str = "2025-11-25";
/// How long one answer may take (a debug build restoring a large folder is slow).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a server may take to leave once its input is closed.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);
/// The `find_symbol` queries whose answers give the names and positions asked about.
const SAMPLE_QUERIES: &[&str] = &[
    "new",
    "from",
    "parse",
    "next",
    "get",
    "len",
    "push",
    "insert",
    "build",
    "write",
    "read",
    "visit",
    "serialize",
    "spawn",
    "iter",
];
/// The three tools of the latency part, in the order they are asked.
const TOOLS: [&str; 3] = ["find_symbol", "find_references", "call_graph"];
const DIRECTIONS: [&str; 3] = ["callers", "callees", "impact"];

/// One MCP session over a child's stdio.
struct McpSession {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Lines of the child's stdout, read on a thread of their own.
    lines: Receiver<String>,
    next_id: u64,
    /// Where the child's stderr goes.
    log: PathBuf,
}

impl McpSession {
    /// Starts `command` with piped stdin and stdout and its stderr written to `log`.
    fn start(mut command: Command, log: &Path) -> Result<McpSession> {
        let stderr = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .context("starting codecontext mcp")?;
        let stdin = child.stdin.take().context("the child's stdin")?;
        let stdout = child.stdout.take().context("the child's stdout")?;
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(McpSession {
            child,
            stdin: Some(stdin),
            lines,
            next_id: 1,
            log: log.to_path_buf(),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn send(&mut self, message: &Value) -> Result<()> {
        let stdin = self.stdin.as_mut().context("the session is closed")?;
        writeln!(stdin, "{message}")
            .and_then(|()| stdin.flush())
            .with_context(|| format!("writing to the server{}", log_tail(&self.log)))
    }

    /// Sends a request and waits for the response to it: its result, or an error for a
    /// JSON-RPC error. Notifications and requests from the server are skipped.
    fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))?;
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let line = match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => bail!(
                    "no answer to {method} within {} s{}",
                    ANSWER_TIMEOUT.as_secs(),
                    log_tail(&self.log)
                ),
                Err(RecvTimeoutError::Disconnected) => bail!(
                    "the server closed its output before answering {method}{}",
                    log_tail(&self.log)
                ),
            };
            if line.trim().is_empty() {
                continue;
            }
            let message: Value = serde_json::from_str(&line).with_context(|| {
                let start: String = line.chars().take(200).collect();
                format!("the server wrote a line that is not JSON on stdout: {start}")
            })?;
            if message.get("method").is_some() || message.get("id") != Some(&json!(id)) {
                continue;
            }
            if let Some(error) = message.get("error") {
                bail!("{method} failed: {error}");
            }
            return Ok(message.get("result").cloned().unwrap_or(Value::Null));
        }
    }

    /// The handshake: `initialize`, then `notifications/initialized`.
    fn initialize(&mut self) -> Result<()> {
        let result = self.request(
            "initialize",
            json!({
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "codecontext-bench", "version": env!("CARGO_PKG_VERSION")},
            }),
        )?;
        ensure!(
            result["capabilities"]["tools"].is_object(),
            "the server offers no tools: {result}"
        );
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    }

    /// Calls a tool: its result, which may be a tool error (`isError: true`).
    fn call(&mut self, tool: &str, arguments: Value) -> Result<Value> {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
    }

    /// Calls `find_symbol` for `query`: the symbols found, none being an error.
    fn find_symbol(&mut self, query: &str, limit: usize) -> Result<Vec<Value>> {
        let result = self.call("find_symbol", json!({"query": query, "limit": limit}))?;
        if let Some(message) = tool_error(&result) {
            bail!("find_symbol `{query}` answered an error: {message}");
        }
        Ok(result["structuredContent"]["symbols"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// Closes the server's input and waits for it to leave (killed after
    /// [`EXIT_TIMEOUT`]).
    fn close(mut self) -> Result<()> {
        self.stdin = None;
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            // How a server whose client left exits is not part of the benchmark.
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the server did not leave within {} s of its input closing{}",
                    EXIT_TIMEOUT.as_secs(),
                    log_tail(&self.log)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for McpSession {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The message of a tool's error answer, or `None` for an answer.
fn tool_error(result: &Value) -> Option<String> {
    (result["isError"] == true).then(|| {
        result["content"][0]["text"]
            .as_str()
            .unwrap_or("(no message)")
            .to_string()
    })
}

/// The last lines of a server's log, for an error message ("" when there are none).
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = lines[lines.len().saturating_sub(10)..].join("\n  ");
    format!("; its log ({}) ends with:\n  {tail}", log.display())
}

/// Peak resident memory of a running process (`VmHWM`), in KiB.
fn peak_rss_kb(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no VmHWM in {path}"))
}

/// Proportional set size of a running process (`Pss` in `smaps_rollup`), in KiB: its
/// own pages, plus its share of the pages it maps with others (the binary's text, shared
/// by every `codecontext` process). What the processes together cost is the sum of
/// their PSS, taken at one moment.
fn pss_kb(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/smaps_rollup");
    let rollup = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    rollup
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no Pss in {path}"))
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// How `codecontext mcp` is started and where its logs go.
struct Servers<'a> {
    cc: &'a Codecontext<'a>,
    dir: &'a Path,
    logs: &'a Path,
    /// `--no-daemon` when the binary has it (a server in its own process).
    standalone: Vec<&'static str>,
    started: usize,
}

impl Servers<'_> {
    /// Starts `codecontext mcp DIR`, in its own process or through the daemon.
    fn start(&mut self, own_process: bool) -> Result<McpSession> {
        self.started += 1;
        let log = self.logs.join(format!("mcp-{}.log", self.started));
        let args: &[&str] = if own_process { &self.standalone } else { &[] };
        let mut command = self.cc.command([OsStr::new("mcp"), self.dir.as_os_str()]);
        command.args(args);
        McpSession::start(command, &log)
    }
}

/// Whether this binary's `mcp` has `--no-daemon` (binaries before the daemon do not:
/// their `mcp` always serves in its own process).
fn has_no_daemon(cc: &Codecontext<'_>) -> Result<bool> {
    let output = Command::new(cc.binary)
        .args(["mcp", "--help"])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} mcp --help", cc.binary.display()))?;
    Ok(String::from_utf8_lossy(&output.stdout).contains("--no-daemon"))
}

/// A symbol to ask about: its name, its position and whether it has a call graph.
struct Sample {
    name: String,
    location: String,
    callable: bool,
}

/// Symbols from the answers of [`SAMPLE_QUERIES`], each position once, in answer order.
fn samples(session: &mut McpSession) -> Result<Vec<Sample>> {
    let mut found: Vec<Sample> = Vec::new();
    for query in SAMPLE_QUERIES {
        for symbol in session.find_symbol(query, 50)? {
            let (Some(name), Some(location)) =
                (symbol["name"].as_str(), symbol["location"].as_str())
            else {
                continue;
            };
            if found.iter().any(|s| s.location == location) {
                continue;
            }
            found.push(Sample {
                name: name.to_string(),
                location: location.to_string(),
                callable: matches!(symbol["kind"].as_str(), Some("function" | "method")),
            });
        }
    }
    ensure!(
        found.iter().any(|s| s.callable),
        "no function or method among the answers of {SAMPLE_QUERIES:?}"
    );
    Ok(found)
}

/// The latency of one tool: every call's time, and its errors.
#[derive(Default)]
struct ToolLatency {
    times: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

/// `calls` rounds of the three [`TOOLS`] in one session that has answered already.
fn latency(session: &mut McpSession, calls: usize) -> Result<(Vec<ToolLatency>, usize)> {
    let samples = samples(session)?;
    let callable: Vec<&Sample> = samples.iter().filter(|s| s.callable).collect();
    let mut tools: Vec<ToolLatency> = TOOLS.iter().map(|_| ToolLatency::default()).collect();
    for i in 0..calls {
        let sample = &samples[i % samples.len()];
        let function = callable[i % callable.len()];
        let asked = [
            json!({"query": sample.name}),
            json!({"position": sample.location}),
            json!({"position": function.location, "direction": DIRECTIONS[i % 3], "depth": 2}),
        ];
        for ((tool, arguments), measured) in TOOLS.iter().zip(asked).zip(&mut tools) {
            let start = Instant::now();
            let result = session.call(tool, arguments.clone())?;
            measured.times.push(start.elapsed());
            if let Some(message) = tool_error(&result) {
                measured.errors += 1;
                measured
                    .first_error
                    .get_or_insert_with(|| format!("{arguments}: {message}"));
            }
        }
    }
    Ok((tools, samples.len()))
}

/// Peak RSS of the processes serving `clients` clients, each having answered a
/// `find_symbol`.
struct Memory {
    /// One per client process.
    clients: Vec<u64>,
    /// The daemon's, in daemon mode.
    daemon: Option<u64>,
    /// The sum of every process's PSS, with all of them running (KiB).
    pss: u64,
}

impl Memory {
    fn total(&self) -> u64 {
        self.clients.iter().sum::<u64>() + self.daemon.unwrap_or(0)
    }
}

/// Starts `clients` sessions at once, then has each answer `query`.
fn answered_sessions(
    servers: &mut Servers<'_>,
    own_process: bool,
    clients: usize,
    query: &str,
) -> Result<Vec<McpSession>> {
    let mut sessions = (0..clients)
        .map(|_| servers.start(own_process))
        .collect::<Result<Vec<_>>>()?;
    for session in &mut sessions {
        session.initialize()?;
        ensure!(
            !session.find_symbol(query, 50)?.is_empty(),
            "find_symbol `{query}` found nothing"
        );
    }
    Ok(sessions)
}

/// (a) Separate servers, one per client.
fn memory_separate(servers: &mut Servers<'_>, clients: usize, query: &str) -> Result<Memory> {
    let sessions = answered_sessions(servers, true, clients, query)?;
    let peaks = sessions
        .iter()
        .map(|s| peak_rss_kb(s.pid()))
        .collect::<Result<Vec<_>>>()?;
    let pss = sessions
        .iter()
        .map(|s| pss_kb(s.pid()))
        .sum::<Result<u64>>()?;
    for session in sessions {
        session.close()?;
    }
    Ok(Memory {
        clients: peaks,
        daemon: None,
        pss,
    })
}

/// (b) Clients of the folder's daemon, and the daemon (found by `daemon status`).
fn memory_daemon(servers: &mut Servers<'_>, clients: usize, query: &str) -> Result<Memory> {
    let sessions = answered_sessions(servers, false, clients, query)?;
    let status = daemon_status(servers.cc, servers.dir)?;
    ensure!(
        status["running"] == true,
        "no daemon is running after {clients} clients answered: {status}"
    );
    let pid = status["pid"]
        .as_u64()
        .and_then(|p| u32::try_from(p).ok())
        .with_context(|| format!("no pid in the daemon's status: {status}"))?;
    let own: Vec<u32> = sessions.iter().map(McpSession::pid).collect();
    ensure!(
        !own.contains(&pid),
        "the daemon's pid {pid} is one of the clients: they did not go through a daemon"
    );
    let peaks = own
        .iter()
        .map(|p| peak_rss_kb(*p))
        .collect::<Result<Vec<_>>>()?;
    let daemon = peak_rss_kb(pid).context("the daemon's peak RSS")?;
    let pss = own.iter().map(|p| pss_kb(*p)).sum::<Result<u64>>()? + pss_kb(pid)?;
    for session in sessions {
        session.close()?;
    }
    Ok(Memory {
        clients: peaks,
        daemon: Some(daemon),
        pss,
    })
}

/// `codecontext daemon status DIR --json`: `{"running": bool, "pid": ...}`.
fn daemon_status(cc: &Codecontext<'_>, dir: &Path) -> Result<Value> {
    let output = cc
        .command([OsStr::new("daemon"), OsStr::new("status"), dir.as_os_str()])
        .arg("--json")
        .stdin(Stdio::null())
        .output()
        .context("running codecontext daemon status")?;
    // Exit status 1 with `{"running": false}` is an answer.
    serde_json::from_slice(&output.stdout).with_context(|| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        format!(
            "`codecontext daemon status DIR --json` failed ({}): {}",
            output.status,
            stderr.lines().next().unwrap_or("").trim()
        )
    })
}

/// Stops the folder's daemon, if any; whether one was stopped is not an error either way.
fn stop_daemon(cc: &Codecontext<'_>, dir: &Path) {
    let _ = cc
        .command([OsStr::new("daemon"), OsStr::new("stop"), dir.as_os_str()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

pub fn run(
    binary: &Path,
    dir: &Path,
    runs: usize,
    calls: usize,
    query: &str,
    clients: usize,
) -> Result<()> {
    ensure!(runs > 0, "--runs must be at least 1");
    ensure!(clients > 0, "--clients must be at least 1");
    let dir = dir
        .canonicalize()
        .with_context(|| format!("{}", dir.display()))?;
    ensure!(
        binary.is_file(),
        "{} not found (cargo build --release -p codecontext-server)",
        binary.display()
    );
    let home = tempfile::Builder::new()
        .prefix("codecontext-bench-home-")
        .tempdir()
        .context("creating a temporary CODECONTEXT_HOME")?;
    let logs = tempfile::Builder::new()
        .prefix("codecontext-bench-logs-")
        .tempdir()
        .context("creating a folder for the servers' logs")?;
    let cc = Codecontext {
        binary,
        home: home.path(),
    };
    let version = ctags_version()?;
    let tags = tempfile::NamedTempFile::new().context("creating the tags file")?;
    let no_daemon = has_no_daemon(&cc)?;
    let mut servers = Servers {
        cc: &cc,
        dir: &dir,
        logs: logs.path(),
        standalone: if no_daemon {
            vec!["--no-daemon"]
        } else {
            vec![]
        },
        started: 0,
    };

    // 1. Warm the store; the folder as CodeContext sees it (the languages ctags is
    // limited to).
    let (first_index, indexed) = cc.run("index", &dir, &["--json"])?;
    let files = indexed["files"].as_u64().unwrap_or(0);
    ensure!(files > 0, "no source files in {}", dir.display());
    let by_language: Vec<(&String, &Value)> = indexed["languages"]
        .as_object()
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    let mut languages: Vec<&str> = by_language.iter().map(|(l, _)| ctags_language(l)).collect();
    languages.sort();
    languages.dedup();
    let languages = languages.join(",");

    // 2. The first answer, warm, each run followed by ctags so that both see the same
    // machine.
    let mut first = Vec::new();
    let mut peer = Vec::new();
    let mut found = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let mut session = servers.start(true)?;
        session.initialize()?;
        let symbols = session.find_symbol(query, 50)?;
        first.push(start.elapsed());
        ensure!(!symbols.is_empty(), "find_symbol `{query}` found nothing");
        found = symbols.len();
        session.close()?;
        peer.push(ctags(&dir, &languages, tags.path())?);
    }
    // The number of tags ctags found, so that a misconfigured run cannot pass unnoticed.
    let tag_count = std::fs::read_to_string(tags.path())
        .context("reading the tags file")?
        .lines()
        .filter(|l| !l.starts_with("!_"))
        .count();
    ensure!(tag_count > 0, "ctags found no tags in {}", dir.display());

    // 3. Latency, in one session that has answered once.
    let mut session = servers.start(true)?;
    session.initialize()?;
    session.find_symbol(query, 50)?;
    let (tools, sampled) = latency(&mut session, calls)?;
    session.close()?;

    // 4. Memory: separate servers against the daemon's clients and the daemon.
    let separate = memory_separate(&mut servers, clients, query)?;
    let shared = memory_daemon(&mut servers, clients, query);
    stop_daemon(&cc, &dir);

    let languages_seen: Vec<String> = by_language
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect();
    let ratio = |a: f64, b: f64| a / b.max(1e-9);
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "corpus      {} ({files} files: {})",
        dir.display(),
        languages_seen.join(", ")
    );
    println!("binary      {}", binary.display());
    println!(
        "server      codecontext mcp DIR{}",
        if no_daemon {
            " --no-daemon"
        } else {
            " (this binary has no --no-daemon: its mcp always serves in its own process)"
        }
    );
    println!(
        "threads     {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "store       filled by `codecontext index` in {:.0} ms ({} ms inside)",
        ms(first_index),
        indexed["elapsed_ms"].as_u64().unwrap_or(0)
    );
    println!();
    println!("first answer, warm      p50 ms      min ms  runs");
    let min = |s: &[Duration]| s.iter().min().copied().unwrap_or_default();
    let row = |name: &str, s: &[Duration], note: &str| {
        println!(
            "{name:<22} {:>9.1}   {:>9.1}  {:>4}  {note}",
            ms(median(s)),
            ms(min(s)),
            s.len()
        );
    };
    row(
        "mcp find_symbol",
        &first,
        &format!("spawn, initialize, find_symbol `{query}`: {found} symbols"),
    );
    row(
        "ctags -R",
        &peer,
        &format!("--languages={languages}: {version}, {tag_count} tags"),
    );
    println!(
        "mcp / ctags            {:>8.2}x   {:>8.2}x",
        ratio(ms(median(&first)), ms(median(&peer))),
        ratio(ms(min(&first)), ms(min(&peer)))
    );
    println!();
    println!(
        "latency, one session    p50 ms      p99 ms   calls  errors  ({sampled} symbols sampled)"
    );
    let mut worst_p99 = Duration::ZERO;
    let mut errors = 0;
    for (tool, measured) in TOOLS.iter().zip(&tools) {
        let p99 = percentile(&measured.times, 99.0);
        worst_p99 = worst_p99.max(p99);
        errors += measured.errors;
        println!(
            "{tool:<22} {:>9.2}   {:>9.2}  {:>6}  {:>6}",
            ms(median(&measured.times)),
            ms(p99),
            measured.times.len(),
            measured.errors
        );
    }
    for (tool, measured) in TOOLS.iter().zip(&tools) {
        if let Some(error) = &measured.first_error {
            println!("  first {tool} error: {error}");
        }
    }
    println!();
    println!("peak RSS (VmHWM)            MB");
    let one = {
        let mut peaks = separate.clients.clone();
        peaks.sort_unstable();
        peaks[peaks.len() / 2]
    };
    let each: Vec<String> = separate
        .clients
        .iter()
        .map(|k| format!("{:.1}", mb(*k)))
        .collect();
    println!(
        "(a) {clients} servers      {:>9.1}  {} MB, each in its own process (one: {:.1} MB, median)",
        mb(separate.total()),
        each.join(" + "),
        mb(one)
    );
    let shared_total = match &shared {
        Ok(memory) => {
            let each: Vec<String> = memory
                .clients
                .iter()
                .map(|k| format!("{:.1}", mb(*k)))
                .collect();
            println!(
                "(b) {clients} daemon clients {:>7.1}  {} MB clients + {:.1} MB daemon",
                mb(memory.total()),
                each.join(" + "),
                mb(memory.daemon.unwrap_or(0))
            );
            println!(
                "(b) / one server       {:>8.2}x",
                ratio(mb(memory.total()), mb(one))
            );
            println!(
                "(a) / (b)              {:>8.2}x",
                ratio(mb(separate.total()), mb(memory.total()))
            );
            // RSS counts the binary's shared pages once per process; PSS shares them out.
            let one_pss = separate.pss / clients.max(1) as u64;
            println!(
                "PSS, all running: (a) {:.1} MB, (b) {:.1} MB; (b) / one server ((a)/{clients}) {:.2}x",
                mb(separate.pss),
                mb(memory.pss),
                ratio(mb(memory.pss), mb(one_pss))
            );
            Some(memory.total())
        }
        Err(e) => {
            println!("(b) {clients} daemon clients  error: {e:#}");
            None
        }
    };
    println!();
    println!("targets");
    let first_p50 = median(&first);
    println!(
        "  first find_symbol, warm, p50 <= 1 s:        {:>9.1} ms  {}",
        ms(first_p50),
        met(first_p50 <= Duration::from_secs(1))
    );
    println!(
        "  p99 of every tool <= 50 ms:                 {:>9.2} ms  {}",
        ms(worst_p99),
        met(worst_p99 <= Duration::from_millis(50))
    );
    match shared_total {
        Some(total) => println!(
            "  {clients} daemon clients <= 1.2x one server:    {:>9.2}x     {}",
            ratio(mb(total), mb(one)),
            met(total as f64 <= 1.2 * one as f64)
        ),
        None => {
            println!("  {clients} daemon clients <= 1.2x one server:    not measured (see (b))")
        }
    }
    if errors > 0 {
        bail!("{errors} tool call(s) answered an error");
    }
    Ok(())
}
