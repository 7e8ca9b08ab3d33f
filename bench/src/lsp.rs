//! A minimal LSP client over a child process's stdio: framed JSON-RPC requests and
//! notifications, answering the few server-to-client requests servers make while
//! starting (configuration, progress tokens, capability registration).

use std::{
    io::{BufRead, BufReader, Read, Write},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

pub struct LspClient {
    child: Child,
    stdin: ChildStdin,
    reader: BufReader<ChildStdout>,
    next_id: i64,
    /// Notifications received while waiting for something else.
    pending: Vec<Value>,
    /// Responses to requests sent with [`LspClient::send_request`], received while
    /// waiting for something else.
    responses: Vec<Value>,
}

impl LspClient {
    /// Starts `command` (run through `sh -c`).
    pub fn start(command: &str) -> Result<LspClient> {
        LspClient::start_with_env(command, &[])
    }

    /// Starts `command` with extra environment variables.
    pub fn start_with_env(command: &str, envs: &[(&str, &std::ffi::OsStr)]) -> Result<LspClient> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .envs(envs.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting `{command}`"))?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = child.stdout.take().context("stdout")?;
        Ok(LspClient {
            child,
            stdin,
            reader: BufReader::new(stdout),
            next_id: 1,
            pending: Vec::new(),
            responses: Vec::new(),
        })
    }

    fn send(&mut self, message: &Value) -> Result<()> {
        let body = serde_json::to_string(message)?;
        if std::env::var_os("CODECONTEXT_BENCH_TRACE").is_some() {
            eprintln!("-> {}", body.chars().take(300).collect::<String>());
        }
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len())?;
        self.stdin.flush()?;
        Ok(())
    }

    fn receive(&mut self) -> Result<Value> {
        let mut length = None;
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                bail!("the server closed its output");
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length:") {
                length = Some(v.trim().parse::<usize>()?);
            }
        }
        let mut body = vec![0; length.context("no Content-Length")?];
        self.reader.read_exact(&mut body)?;
        if std::env::var_os("CODECONTEXT_BENCH_TRACE").is_some() {
            eprintln!(
                "<- {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
        Ok(serde_json::from_slice(&body)?)
    }

    pub fn notify(&mut self, method: &str, params: Value) -> Result<()> {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }))
    }

    /// Sends a request without waiting for its answer (see
    /// [`LspClient::take_response`]); returns its id.
    pub fn send_request(&mut self, method: &str, params: Value) -> Result<i64> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))?;
        Ok(id)
    }

    pub fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.send_request(method, params)?;
        loop {
            let message = self.receive()?;
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                if let Some(error) = message.get("error") {
                    bail!("{method} failed: {error}");
                }
                return Ok(message.get("result").cloned().unwrap_or(Value::Null));
            }
            self.answer_or_keep(message)?;
        }
    }

    /// Waits for a notification of `method` satisfying `pred` (earlier ones are kept).
    pub fn notification(&mut self, method: &str, pred: impl Fn(&Value) -> bool) -> Result<Value> {
        if let Some(i) = self
            .pending
            .iter()
            .position(|m| m["method"] == method && pred(&m["params"]))
        {
            return Ok(self.pending.remove(i)["params"].clone());
        }
        loop {
            let message = self.receive()?;
            if message.get("id").is_none()
                && message["method"] == method
                && pred(&message["params"])
            {
                return Ok(message["params"].clone());
            }
            self.answer_or_keep(message)?;
        }
    }

    /// Whether a notification of `method` satisfying `pred` was already received
    /// (without waiting for more).
    pub fn received(&self, method: &str, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        self.pending
            .iter()
            .find(|m| m["method"] == method && pred(&m["params"]))
            .map(|m| m["params"].clone())
    }

    /// Answers a request from the server (so that it does not wait on us); keeps a
    /// notification for a later [`LspClient::notification`].
    fn answer_or_keep(&mut self, message: Value) -> Result<()> {
        if let (Some(server_id), Some(m)) = (message.get("id"), message.get("method")) {
            let result = match m.as_str() {
                Some("workspace/configuration") => {
                    let n = message["params"]["items"].as_array().map_or(0, |a| a.len());
                    Value::Array(vec![Value::Null; n])
                }
                _ => Value::Null,
            };
            let reply = json!({ "jsonrpc": "2.0", "id": server_id, "result": result });
            self.send(&reply)?;
        } else if message.get("method").is_none() {
            self.responses.push(message);
        } else if message["method"] == "$/progress" {
            // Only what a wait may ask for is kept; diagnostics would pile up.
            self.pending.push(message);
        }
        Ok(())
    }

    pub fn shutdown(mut self) {
        let _ = self.request("shutdown", Value::Null);
        let _ = self.notify("exit", Value::Null);
        let _ = self.child.wait();
    }
}

pub use codecontext_tests::lsp::{file_uri as uri, uri_path};
