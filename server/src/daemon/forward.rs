//! A client process as the daemon's proxy: `codecontext serve --stdio` and
//! `codecontext mcp` carry their client's messages to the folder's daemon and its
//! answers back, unchanged. They remember what a new daemon would need to serve the same
//! client: the `initialize` request and `initialized` notification, and (LSP) the open
//! documents with their current text. When the daemon dies, requests in flight are
//! answered with an error that says to send them again, a new daemon is started, and
//! the handshake and the documents are replayed to it.

use std::{
    collections::{BTreeMap, HashSet},
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{bail, Context, Result};
use codecontext_text::{LineIndex, PositionEncoding, WideLineCol};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    sync::mpsc,
};
use tracing::{info, warn};

use super::{client, Want};

/// How messages are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// `Content-Length` headers (LSP).
    Lsp,
    /// One JSON text per line (MCP over stdio).
    Mcp,
}

impl Wire {
    fn want(self) -> Want {
        match self {
            Wire::Lsp => Want::Lsp,
            Wire::Mcp => Want::Mcp,
        }
    }
}

/// The largest message carried (as the in-process server's limit).
const MAX_MESSAGE: usize = 512 * 1024 * 1024;

/// What the forwarder reads of every message; the rest is skipped unparsed.
#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<String>,
}

/// The id of a replayed `initialize`, whose answer the client never sees.
const REPLAY_ID: &str = "codecontext-daemon-replay";

/// Restarts of the daemon tolerated in one session before the client gives up.
const MAX_RESTARTS: u32 = 5;

/// Reads one message's body; `None` at the end of the stream.
pub async fn read_message<R: AsyncBufRead + Unpin>(wire: Wire, reader: &mut R) -> Option<Vec<u8>> {
    match wire {
        Wire::Mcp => loop {
            let mut line = Vec::new();
            let n = (&mut *reader)
                .take(MAX_MESSAGE as u64)
                .read_until(b'\n', &mut line)
                .await
                .ok()?;
            if n == 0 {
                return None;
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                return Some(line);
            }
        },
        Wire::Lsp => {
            let mut length: Option<usize> = None;
            let mut headers = Vec::new();
            loop {
                let mut line = Vec::new();
                let n = (&mut *reader)
                    .take(64 * 1024)
                    .read_until(b'\n', &mut line)
                    .await
                    .ok()?;
                if n == 0 {
                    return None;
                }
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\r', '\n']);
                if text.is_empty() {
                    if headers.is_empty() {
                        continue;
                    }
                    break;
                }
                if let Some((name, value)) = text.split_once(':') {
                    if name.trim().eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().ok();
                    }
                }
                headers.push(text.to_string());
            }
            // A frame the daemon cannot read is still the daemon's to answer: it is
            // passed on as it came, and the daemon's framing guard replies.
            let length = length.filter(|l| *l <= MAX_MESSAGE).unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).await.ok()?;
            Some(body)
        }
    }
}

/// One message, framed.
pub fn frame(wire: Wire, body: &[u8]) -> Vec<u8> {
    match wire {
        Wire::Lsp => {
            let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
            out.extend_from_slice(body);
            out
        }
        Wire::Mcp => {
            let mut out = body.to_vec();
            if out.last() != Some(&b'\n') {
                out.push(b'\n');
            }
            out
        }
    }
}

/// An open document as its client last described it.
#[derive(Clone, Debug)]
struct Document {
    language_id: Value,
    version: Value,
    text: String,
}

/// What a new daemon needs to serve the same client.
#[derive(Default)]
struct Memory {
    initialize: Option<Value>,
    initialized: Option<Value>,
    /// Requests sent to the daemon and not answered yet, by id (as JSON text).
    pending: HashSet<String>,
    documents: BTreeMap<String, Document>,
    encoding: Option<PositionEncoding>,
    /// `shutdown` was asked (LSP): the exit code is then 0.
    shutdown: bool,
    /// `exit` was sent (LSP): the daemon's end of this session is expected.
    exiting: bool,
}

impl Memory {
    /// Notes what a message from the client changes. Only its envelope is parsed,
    /// unless it is one whose content is kept (the handshake, a document's text).
    fn client_said(&mut self, body: &[u8]) {
        let Ok(envelope) = serde_json::from_slice::<Envelope>(body) else {
            return;
        };
        match (envelope.method.as_deref(), envelope.id) {
            (
                Some(
                    "initialize"
                    | "initialized"
                    | "notifications/initialized"
                    | "textDocument/didOpen"
                    | "textDocument/didChange"
                    | "textDocument/didClose"
                    | "shutdown"
                    | "exit",
                ),
                _,
            ) => {
                if let Ok(message) = serde_json::from_slice::<Value>(body) {
                    self.heard_from_client(&message);
                }
            }
            (Some(_), Some(id)) => {
                self.pending.insert(id.to_string());
            }
            _ => {}
        }
    }

    /// Notes what a message from the daemon changes: an answer is no longer pending.
    /// Only its envelope is parsed (an answer may be megabytes), unless it answers
    /// `initialize`.
    fn daemon_said(&mut self, body: &[u8]) {
        let Ok(envelope) = serde_json::from_slice::<Envelope>(body) else {
            return;
        };
        let (None, Some(id)) = (envelope.method, envelope.id) else {
            return;
        };
        let answers_initialize = self
            .initialize
            .as_ref()
            .is_some_and(|init| init.get("id") == Some(&id));
        if answers_initialize {
            if let Ok(message) = serde_json::from_slice::<Value>(body) {
                self.heard_from_daemon(&message);
            }
        } else {
            self.pending.remove(&id.to_string());
        }
    }

    fn heard_from_client(&mut self, message: &Value) {
        let method = message.get("method").and_then(Value::as_str);
        let id = message.get("id");
        match (method, id) {
            (Some(method), Some(id)) => {
                self.pending.insert(id.to_string());
                match method {
                    "initialize" => self.initialize = Some(message.clone()),
                    "shutdown" => self.shutdown = true,
                    _ => {}
                }
            }
            (Some(method), None) => match method {
                "initialized" | "notifications/initialized" => {
                    self.initialized = Some(message.clone())
                }
                "exit" => self.exiting = true,
                "textDocument/didOpen" => self.opened(&message["params"]["textDocument"]),
                "textDocument/didChange" => self.changed(&message["params"]),
                "textDocument/didClose" => {
                    if let Some(uri) = message["params"]["textDocument"]["uri"].as_str() {
                        self.documents.remove(uri);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    fn heard_from_daemon(&mut self, message: &Value) {
        if message.get("method").is_some() {
            return;
        }
        let Some(id) = message.get("id") else {
            return;
        };
        let was_initialize = self
            .initialize
            .as_ref()
            .is_some_and(|init| init.get("id") == Some(id));
        if was_initialize {
            let encoding = &message["result"]["capabilities"]["positionEncoding"];
            self.encoding = Some(if encoding == "utf-8" {
                PositionEncoding::Utf8
            } else {
                PositionEncoding::Utf16
            });
        }
        self.pending.remove(&id.to_string());
    }

    fn opened(&mut self, doc: &Value) {
        let (Some(uri), Some(text)) = (doc["uri"].as_str(), doc["text"].as_str()) else {
            return;
        };
        self.documents.insert(
            uri.to_string(),
            Document {
                language_id: doc["languageId"].clone(),
                version: doc["version"].clone(),
                text: text.to_string(),
            },
        );
    }

    fn changed(&mut self, params: &Value) {
        let Some(uri) = params["textDocument"]["uri"].as_str() else {
            return;
        };
        let encoding = self.encoding.unwrap_or(PositionEncoding::Utf16);
        let Some(doc) = self.documents.get_mut(uri) else {
            return;
        };
        doc.version = params["textDocument"]["version"].clone();
        for change in params["contentChanges"].as_array().into_iter().flatten() {
            let Some(text) = change["text"].as_str() else {
                continue;
            };
            let range = &change["range"];
            if range.is_null() {
                doc.text = text.to_string();
                continue;
            }
            let index = LineIndex::new(&doc.text);
            let at = |p: &Value| {
                let pos = WideLineCol {
                    line: p["line"].as_u64().unwrap_or(0) as u32,
                    col: p["character"].as_u64().unwrap_or(0) as u32,
                };
                (index.offset_of_wide(encoding, pos) as usize).min(doc.text.len())
            };
            let (start, end) = (at(&range["start"]), at(&range["end"]));
            if start <= end && doc.text.is_char_boundary(start) && doc.text.is_char_boundary(end) {
                doc.text.replace_range(start..end, text);
            }
        }
    }

    /// The messages that set a new daemon up as the old one was for this client, after
    /// the answer to the replayed `initialize`.
    fn replay_after_initialize(&self, wire: Wire) -> Vec<Value> {
        let mut out: Vec<Value> = self.initialized.iter().cloned().collect();
        if wire == Wire::Lsp {
            for (uri, doc) in &self.documents {
                out.push(json!({
                    "jsonrpc": "2.0",
                    "method": "textDocument/didOpen",
                    "params": {"textDocument": {
                        "uri": uri,
                        "languageId": doc.language_id,
                        "version": doc.version,
                        "text": doc.text,
                    }},
                }));
            }
        }
        out
    }
}

/// The answer to a request the dead daemon never answered: send it again.
fn retry_error(wire: Wire, id: &str) -> Value {
    let id: Value = serde_json::from_str(id).unwrap_or(Value::Null);
    // LSP's ContentModified asks the client to retry; MCP has no such code.
    let code = match wire {
        Wire::Lsp => -32801,
        Wire::Mcp => -32603,
    };
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": code, "message": "the CodeContext daemon restarted; send the request again"},
    })
}

/// The daemon's messages, read on a task of their own (reading is not cancellable
/// mid-message); `None` when the daemon's end closes.
fn read_daemon(
    wire: Wire,
    mut read: tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>,
) -> mpsc::Receiver<Option<Vec<u8>>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let message = read_message(wire, &mut read).await;
            let end = message.is_none();
            if tx.send(message).await.is_err() || end {
                return;
            }
        }
    });
    rx
}

/// Carries the messages of `input` (this process's stdin) and stdout to the daemon of
/// `root`, over `connection`. `first` is what was read of the input already (LSP: the
/// `initialize` frame, read to learn the folder). The exit code follows the in-process
/// server's.
pub async fn forward<R>(
    wire: Wire,
    root: &Path,
    connection: client::Connection,
    first: Option<Vec<u8>>,
    mut input: R,
) -> Result<ExitCode>
where
    R: AsyncBufRead + Unpin + Send + 'static,
{
    let root = root.to_path_buf();
    info!(
        "serving through the daemon of {} (pid {}, {} clients)",
        root.display(),
        connection.welcome.pid,
        connection.welcome.clients
    );
    let mut stdout = tokio::io::stdout();
    let (client_tx, mut client_rx) = mpsc::channel::<Vec<u8>>(64);
    if let Some(first) = first {
        client_tx.send(first).await.ok();
    }
    tokio::spawn(async move {
        while let Some(message) = read_message(wire, &mut input).await {
            if client_tx.send(message).await.is_err() {
                return;
            }
        }
    });
    let mut memory = Memory::default();
    let mut daemon_rx = read_daemon(wire, connection.read);
    let mut daemon_write = Some(connection.write);
    let mut restarts = 0;
    loop {
        tokio::select! {
            message = client_rx.recv() => {
                let Some(body) = message else {
                    // The client left: so does its session with the daemon.
                    if let Some(mut w) = daemon_write.take() {
                        let _ = w.shutdown().await;
                    }
                    return Ok(exit_code(wire, &memory));
                };
                memory.client_said(&body);
                if let Some(w) = daemon_write.as_mut() {
                    // A failed write means the daemon died: its reader says so next.
                    let _ = w.write_all(&frame(wire, &body)).await;
                }
            }
            message = daemon_rx.recv() => {
                match message.flatten() {
                    Some(body) => {
                        memory.daemon_said(&body);
                        write_client(&mut stdout, wire, &body).await?;
                    }
                    None => {
                        if memory.exiting {
                            return Ok(exit_code(wire, &memory));
                        }
                        restarts += 1;
                        if restarts > MAX_RESTARTS {
                            bail!("the daemon of {} stopped {restarts} times; giving up", root.display());
                        }
                        warn!("the daemon of {} went away; starting a new one", root.display());
                        let (rx, write) = restart(wire, &root, &mut memory, &mut stdout).await?;
                        daemon_rx = rx;
                        daemon_write = Some(write);
                    }
                }
            }
        }
    }
}

async fn write_client(
    stdout: &mut (impl AsyncWrite + Unpin),
    wire: Wire,
    body: &[u8],
) -> Result<()> {
    stdout
        .write_all(&frame(wire, body))
        .await
        .context("writing to the client")?;
    stdout.flush().await.context("writing to the client")?;
    Ok(())
}

/// Answers the requests in flight with a retry error, starts a new daemon, and replays
/// the handshake and the documents to it.
async fn restart(
    wire: Wire,
    root: &Path,
    memory: &mut Memory,
    stdout: &mut (impl AsyncWrite + Unpin),
) -> Result<(
    mpsc::Receiver<Option<Vec<u8>>>,
    tokio::net::unix::OwnedWriteHalf,
)> {
    let initialize_id = memory
        .initialize
        .as_ref()
        .and_then(|i| i.get("id"))
        .map(Value::to_string);
    // An `initialize` still unanswered is sent again as it was; anything else is the
    // client's to send again.
    let handshake_pending = initialize_id
        .as_ref()
        .is_some_and(|id| memory.pending.contains(id));
    let lost: Vec<String> = memory
        .pending
        .iter()
        .filter(|id| Some(*id) != initialize_id.as_ref())
        .cloned()
        .collect();
    for id in lost {
        memory.pending.remove(&id);
        let error = retry_error(wire, &id).to_string();
        write_client(stdout, wire, error.as_bytes()).await?;
    }
    let connection = client::connect_or_start(root, wire.want()).await?;
    info!(
        "the new daemon of {} is pid {}",
        root.display(),
        connection.welcome.pid
    );
    let mut write = connection.write;
    let mut rx = read_daemon(wire, connection.read);
    let Some(initialize) = memory.initialize.clone() else {
        return Ok((rx, write));
    };
    if handshake_pending {
        write
            .write_all(&frame(wire, initialize.to_string().as_bytes()))
            .await?;
        return Ok((rx, write));
    }
    let mut replayed = initialize;
    replayed["id"] = json!(REPLAY_ID);
    write
        .write_all(&frame(wire, replayed.to_string().as_bytes()))
        .await?;
    answered(wire, root, &mut rx, vec![json!(REPLAY_ID)], stdout).await?;
    let mut asked = Vec::new();
    for message in memory.replay_after_initialize(wire) {
        write
            .write_all(&frame(wire, message.to_string().as_bytes()))
            .await?;
        // Each replayed document is asked about, so that the client's next request,
        // whatever it is about, finds it as the client left it: a hover past its last
        // line, which names nothing, answered once the document is processed (however
        // slowly: the daemon is indexing as it starts), and cheap whatever its size
        // (its outline was not: a file of 100,000 definitions answers in megabytes).
        if message["method"] == "textDocument/didOpen" {
            let id = json!(format!("{REPLAY_ID}-document-{}", asked.len()));
            let ask = json!({
                "jsonrpc": "2.0",
                "id": id,
                "method": "textDocument/hover",
                "params": {
                    "textDocument": {"uri": message["params"]["textDocument"]["uri"]},
                    "position": {"line": u32::MAX, "character": 0},
                },
            });
            write
                .write_all(&frame(wire, ask.to_string().as_bytes()))
                .await?;
            asked.push(id);
        }
    }
    answered(wire, root, &mut rx, asked, stdout).await?;
    Ok((rx, write))
}

/// Waits until the new daemon has answered each of the forwarder's own requests `ids`;
/// what else it says meanwhile goes on to the client (a log message, say), the answers
/// themselves are not the client's.
async fn answered(
    wire: Wire,
    root: &Path,
    rx: &mut mpsc::Receiver<Option<Vec<u8>>>,
    mut ids: Vec<Value>,
    stdout: &mut (impl AsyncWrite + Unpin),
) -> Result<()> {
    while !ids.is_empty() {
        let Some(Some(body)) = rx.recv().await else {
            bail!(
                "the new daemon of {} went away while it was set up",
                root.display()
            );
        };
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if value.get("method").is_none() {
            if let Some(at) = ids.iter().position(|id| value.get("id") == Some(id)) {
                ids.swap_remove(at);
                continue;
            }
        }
        write_client(stdout, wire, &body).await?;
    }
    Ok(())
}

fn exit_code(wire: Wire, memory: &Memory) -> ExitCode {
    match wire {
        Wire::Lsp if !memory.shutdown => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

/// The workspace folder an LSP `initialize` names: the first workspace folder, else
/// the root URI, else the root path.
pub fn folder_of_initialize(message: &Value) -> Option<PathBuf> {
    if message.get("method").and_then(Value::as_str) != Some("initialize") {
        return None;
    }
    let params = &message["params"];
    let uri = params["workspaceFolders"][0]["uri"]
        .as_str()
        .or_else(|| params["rootUri"].as_str());
    if let Some(uri) = uri {
        let uri: tower_lsp_server::lsp_types::Uri = uri.parse().ok()?;
        return crate::lsp::path_of_uri(&uri);
    }
    params["rootPath"].as_str().map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(method: &str, params: Value) -> Value {
        json!({"jsonrpc": "2.0", "method": method, "params": params})
    }

    #[test]
    fn remembers_open_documents_as_their_edits_leave_them() {
        let mut memory = Memory::default();
        let uri = "file:///w/a.py";
        memory.heard_from_client(&notification(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                   "text": "def f():\n    return \"é😀\"\n"}}),
        ));
        // UTF-16 columns (the default): the emoji is two code units.
        memory.heard_from_client(&notification(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
                {"range": {"start": {"line": 1, "character": 13}, "end": {"line": 1, "character": 15}},
                 "text": "!"},
                {"range": {"start": {"line": 0, "character": 4}, "end": {"line": 0, "character": 5}},
                 "text": "g"},
            ]}),
        ));
        let doc = &memory.documents[uri];
        assert_eq!(doc.text, "def g():\n    return \"é!\"\n");
        assert_eq!(doc.version, json!(2));

        let replay = memory.replay_after_initialize(Wire::Lsp);
        assert_eq!(replay.len(), 1, "no `initialized` was seen, one document");
        assert_eq!(replay[0]["params"]["textDocument"]["text"], json!(doc.text));

        memory.heard_from_client(&notification(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": "x = 1\n"}]}),
        ));
        assert_eq!(memory.documents[uri].text, "x = 1\n");
        memory.heard_from_client(&notification(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        ));
        assert!(memory.documents.is_empty());
    }

    #[test]
    fn requests_in_flight_are_those_not_answered() {
        let mut memory = Memory::default();
        let client = |memory: &mut Memory, message: Value| {
            memory.client_said(message.to_string().as_bytes())
        };
        let daemon = |memory: &mut Memory, message: Value| {
            memory.daemon_said(message.to_string().as_bytes())
        };
        client(
            &mut memory,
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}),
        );
        client(
            &mut memory,
            json!({"jsonrpc": "2.0", "id": "b", "method": "workspace/symbol", "params": {}}),
        );
        client(
            &mut memory,
            json!({"jsonrpc": "2.0", "id": 7, "method": "textDocument/documentSymbol", "params": {}}),
        );
        daemon(
            &mut memory,
            json!({"jsonrpc": "2.0", "id": 1,
            "result": {"capabilities": {"positionEncoding": "utf-8"}}}),
        );
        // A request from the daemon is not an answer.
        daemon(
            &mut memory,
            json!({"jsonrpc": "2.0", "id": "b", "method": "window/workDoneProgress/create"}),
        );
        // An answer, however large, is read only as far as its id.
        let outline: Vec<Value> = (0..1000)
            .map(|i| json!({"name": format!("a{i}"), "kind": 12}))
            .collect();
        daemon(
            &mut memory,
            json!({"jsonrpc": "2.0", "id": 7, "result": outline}),
        );
        assert_eq!(memory.pending, HashSet::from(["\"b\"".to_string()]));
        assert_eq!(memory.encoding, Some(PositionEncoding::Utf8));
        assert!(memory.initialize.is_some());
        assert_eq!(retry_error(Wire::Lsp, "\"b\"")["id"], json!("b"));
        assert_eq!(
            retry_error(Wire::Lsp, "\"b\"")["error"]["code"],
            json!(-32801)
        );
    }

    #[tokio::test]
    async fn reads_both_framings() {
        let lsp = b"Content-Length: 2\r\n\r\n{}Content-Length: 4\r\n\r\n[1] ";
        let mut reader = tokio::io::BufReader::new(&lsp[..]);
        assert_eq!(
            read_message(Wire::Lsp, &mut reader).await.as_deref(),
            Some(&b"{}"[..])
        );
        assert_eq!(
            read_message(Wire::Lsp, &mut reader).await.as_deref(),
            Some(&b"[1] "[..])
        );
        assert_eq!(read_message(Wire::Lsp, &mut reader).await, None);
        let mcp = b"{\"a\":1}\n\n{\"b\":2}\n";
        let mut reader = tokio::io::BufReader::new(&mcp[..]);
        assert_eq!(
            read_message(Wire::Mcp, &mut reader).await.as_deref(),
            Some(&b"{\"a\":1}\n"[..])
        );
        assert_eq!(
            read_message(Wire::Mcp, &mut reader).await.as_deref(),
            Some(&b"{\"b\":2}\n"[..])
        );
        assert_eq!(read_message(Wire::Mcp, &mut reader).await, None);
    }
}
