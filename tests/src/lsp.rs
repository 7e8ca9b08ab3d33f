//! A small LSP client for the end-to-end tests: framed JSON-RPC over any byte stream,
//! either to the server running in-process over pipes or to the real binary's stdio.
//!
//! Messages are plain JSON (no shared types with the server), so the tests see exactly
//! what an editor would. Requests from the server (progress tokens, capability
//! registrations) are answered with `null` and recorded.

use std::{
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{json, Value};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader},
    sync::mpsc,
    task::JoinHandle,
};

/// How long a test waits for a message before it fails (a guard against hangs, not a
/// synchronisation: every wait is for a specific message).
pub const PATIENCE: Duration = Duration::from_secs(120);

type Writer = Arc<tokio::sync::Mutex<Box<dyn AsyncWrite + Unpin + Send>>>;

pub struct LspClient {
    writer: Writer,
    incoming: mpsc::UnboundedReceiver<Value>,
    /// Notifications received and not yet taken by a wait.
    pending: Vec<Value>,
    /// Responses that arrived while another was awaited (requests answered out of order).
    early: Vec<Value>,
    /// Requests the server sent us (method and params), in order.
    pub server_requests: Arc<Mutex<Vec<Value>>>,
    next_id: i64,
    server: Option<JoinHandle<bool>>,
    child: Option<tokio::process::Child>,
    /// The index store of an in-process server, unless the test names its own.
    store_home: Option<tempfile::TempDir>,
}

async fn write_frame(writer: &Writer, body: &[u8]) -> std::io::Result<()> {
    let mut w = writer.lock().await;
    w.write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
        .await?;
    w.write_all(body).await?;
    w.flush().await
}

/// Reads frames until the stream ends; answers the server's requests itself.
async fn read_loop<R: AsyncRead + Unpin>(
    reader: R,
    writer: Writer,
    out: mpsc::UnboundedSender<Value>,
    requests: Arc<Mutex<Vec<Value>>>,
) {
    let mut reader = BufReader::new(reader);
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                length = v.trim().parse::<usize>().ok();
            }
        }
        let Some(length) = length else { return };
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
            panic!("the server wrote a frame that is not JSON: {body:?}");
        };
        if msg.get("method").is_some() && msg.get("id").is_some() {
            requests.lock().unwrap().push(msg.clone());
            let reply = json!({"jsonrpc": "2.0", "id": msg["id"], "result": null});
            let _ = write_frame(&writer, reply.to_string().as_bytes()).await;
        }
        if out.send(msg).is_err() {
            return;
        }
    }
}

impl LspClient {
    fn start<R, W>(reader: R, writer: W) -> LspClient
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let writer: Writer = Arc::new(tokio::sync::Mutex::new(Box::new(writer)));
        let (tx, rx) = mpsc::unbounded_channel();
        let requests = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(read_loop(reader, writer.clone(), tx, requests.clone()));
        LspClient {
            writer,
            incoming: rx,
            pending: Vec::new(),
            early: Vec::new(),
            server_requests: requests,
            next_id: 1,
            server: None,
            child: None,
            store_home: None,
        }
    }

    /// The server running in this process, over in-memory pipes.
    pub fn in_process() -> LspClient {
        let (client_side, server_side) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_side);
        let server = tokio::spawn(codecontext_server::lsp::serve(server_read, server_write));
        let (read, write) = tokio::io::split(client_side);
        let mut client = LspClient::start(read, write);
        client.server = Some(server);
        client.store_home = Some(tempfile::tempdir().expect("temp dir"));
        client
    }

    /// The real `codecontext serve --stdio` binary, serving in its own process.
    pub fn spawn_binary(binary: &Path, envs: &[(&str, &str)]) -> LspClient {
        LspClient::spawn_binary_with(binary, &["serve", "--stdio", "--no-daemon"], envs)
    }

    /// The real binary run with `args` (`serve --stdio` through the folder's daemon,
    /// say).
    pub fn spawn_binary_with(binary: &Path, args: &[&str], envs: &[(&str, &str)]) -> LspClient {
        let mut child = tokio::process::Command::new(binary)
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn codecontext serve");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let mut client = LspClient::start(stdout, stdin);
        client.child = Some(child);
        client
    }

    /// Sends raw bytes, framed or not.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let mut w = self.writer.lock().await;
        w.write_all(bytes).await.expect("write to server");
        w.flush().await.expect("flush");
    }

    pub async fn send(&mut self, msg: Value) {
        write_frame(&self.writer, msg.to_string().as_bytes())
            .await
            .expect("write to server");
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Sends a request without waiting; returns its id.
    pub async fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        id
    }

    async fn next(&mut self) -> Value {
        match tokio::time::timeout(PATIENCE, self.incoming.recv()).await {
            Ok(Some(v)) => v,
            Ok(None) => panic!("the server closed the connection"),
            Err(_) => panic!("no message from the server within {PATIENCE:?}"),
        }
    }

    /// Waits for the response with this id (its whole object: `result` or `error`).
    pub async fn response(&mut self, id: impl Into<Value>) -> Value {
        let id = id.into();
        if let Some(i) = self.early.iter().position(|m| m["id"] == id) {
            return self.early.remove(i);
        }
        loop {
            let msg = self.next().await;
            if msg.get("method").is_none() && msg["id"] == id {
                return msg;
            }
            if msg.get("method").is_some() {
                self.pending.push(msg);
            } else {
                self.early.push(msg);
            }
        }
    }

    /// The response with this id if it has arrived, without waiting for it.
    pub fn try_response(&mut self, id: impl Into<Value>) -> Option<Value> {
        let id = id.into();
        while let Ok(msg) = self.incoming.try_recv() {
            if msg.get("method").is_some() {
                self.pending.push(msg);
            } else {
                self.early.push(msg);
            }
        }
        let i = self.early.iter().position(|m| m["id"] == id)?;
        Some(self.early.remove(i))
    }

    /// Sends a request and returns its `result`; panics on an error response.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params).await;
        let msg = self.response(id).await;
        if let Some(err) = msg.get("error") {
            panic!("{method} failed: {err}");
        }
        msg["result"].clone()
    }

    /// The names `workspace/symbol` answers for a query.
    pub async fn symbol_names(&mut self, query: &str) -> Vec<String> {
        let found = self
            .request("workspace/symbol", json!({ "query": query }))
            .await;
        found
            .as_array()
            .expect("a symbol list")
            .iter()
            .map(|s| s["name"].as_str().expect("a name").to_string())
            .collect()
    }

    /// Waits for the `window/showMessage` whose text names `about`, and returns that text.
    pub async fn told(&mut self, about: &str) -> String {
        let shown = self
            .notification("window/showMessage", |p| {
                p["message"].as_str().is_some_and(|m| m.contains(about))
            })
            .await;
        shown["message"].as_str().unwrap_or_default().to_string()
    }

    /// Opens a document at version 1 with the given text.
    pub async fn open(&mut self, uri: &str, language: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}}),
        )
        .await;
    }

    /// Types into a file as an editor would: opens it with what the disk holds, then
    /// replaces its whole text with `edit` of that (version 2). The disk is not touched.
    /// Returns the document's URI.
    pub async fn type_into(
        &mut self,
        path: &Path,
        language: &str,
        edit: impl FnOnce(&str) -> String,
    ) -> String {
        let uri = file_uri(path);
        let text = std::fs::read_to_string(path).expect("the file to type into");
        self.open(&uri, language, &text).await;
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2},
                   "contentChanges": [{"text": edit(&text)}]}),
        )
        .await;
        uri
    }

    /// Opens a document with the given text and returns its outline
    /// (`textDocument/documentSymbol`).
    pub async fn open_and_outline(&mut self, uri: &str, language: &str, text: &str) -> Value {
        self.open(uri, language, text).await;
        self.request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        )
        .await
    }

    /// Sends a request and returns its `error`; panics if it succeeded.
    pub async fn request_error(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params).await;
        let msg = self.response(id).await;
        msg.get("error")
            .cloned()
            .unwrap_or_else(|| panic!("{method} succeeded: {msg}"))
    }

    /// Waits for a notification (or a request from the server, already answered) of
    /// `method` that satisfies `pred`; earlier ones that do not are kept for later waits.
    pub async fn notification(&mut self, method: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self
            .pending
            .iter()
            .position(|m| m["method"] == method && pred(&m["params"]))
        {
            return self.pending.remove(i)["params"].clone();
        }
        loop {
            let msg = self.next().await;
            if msg["method"] == method && pred(&msg["params"]) {
                return msg["params"].clone();
            }
            if msg.get("method").is_some() {
                self.pending.push(msg);
            } else {
                self.early.push(msg);
            }
        }
    }

    /// Notifications received so far and not taken.
    pub fn pending_notifications(&self, method: &str) -> Vec<Value> {
        self.pending
            .iter()
            .filter(|m| m["method"] == method)
            .map(|m| m["params"].clone())
            .collect()
    }

    /// `initialize` with an editor's usual capabilities, then `initialized`; returns the
    /// server's capabilities.
    pub async fn initialize(&mut self, folders: &[&Path], extra: Value) -> Value {
        let folders: Vec<Value> = folders
            .iter()
            .map(|f| json!({"uri": file_uri(f), "name": f.file_name().unwrap().to_string_lossy()}))
            .collect();
        let mut params = json!({
            "processId": null,
            "rootUri": null,
            "workspaceFolders": folders,
            "capabilities": {
                "window": {"workDoneProgress": true},
                "workspace": {
                    "workspaceFolders": true,
                    "didChangeWatchedFiles": {"dynamicRegistration": true}
                },
                "textDocument": {
                    "documentSymbol": {"hierarchicalDocumentSymbolSupport": true},
                    "synchronization": {"didSave": true}
                }
            }
        });
        if let Some(home) = &self.store_home {
            params["initializationOptions"] = json!({"storeHome": home.path()});
        }
        merge(&mut params, extra);
        let result = self.request("initialize", params).await;
        self.notify("initialized", json!({})).await;
        result
    }

    /// Waits for the end of an indexing progress (other work reports progress too).
    pub async fn indexed(&mut self) -> Value {
        self.notification("$/progress", |p| {
            p["value"]["kind"] == "end"
                && p["token"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("codecontext/index/"))
        })
        .await
    }

    /// `shutdown` then `exit`; returns whether the server ended cleanly (the in-process
    /// server's own answer, or the binary's exit code 0).
    pub async fn shutdown_and_exit(mut self) -> bool {
        let result = self.request("shutdown", Value::Null).await;
        assert_eq!(result, Value::Null);
        self.notify("exit", Value::Null).await;
        self.finish().await
    }

    /// Waits for the server to end; `true` for a clean end.
    pub async fn finish(mut self) -> bool {
        if let Some(server) = self.server.take() {
            return tokio::time::timeout(PATIENCE, server)
                .await
                .expect("the server did not stop")
                .expect("the server task panicked");
        }
        if let Some(mut child) = self.child.take() {
            let status = tokio::time::timeout(PATIENCE, child.wait())
                .await
                .expect("the server did not exit")
                .expect("wait for the server");
            return status.success();
        }
        unreachable!("a client always has a server")
    }

    /// The exit code of the binary after `exit`.
    pub async fn exit_code(mut self) -> Option<i32> {
        let mut child = self.child.take().expect("a spawned binary");
        let status = tokio::time::timeout(PATIENCE, child.wait())
            .await
            .expect("the server did not exit")
            .expect("wait for the server");
        status.code()
    }
}

fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, e) => *b = e,
    }
}

/// `file://` URI of an absolute path (percent-encoding what needs it).
pub fn file_uri(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The path of a `file://` URI (`None` for another scheme or a path that is not UTF-8).
pub fn uri_path(uri: &str) -> Option<String> {
    let raw = uri.strip_prefix("file://")?;
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&raw[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}
