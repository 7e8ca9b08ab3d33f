//! Framing guard between the client's byte stream and tower-lsp-server.
//!
//! tower-lsp-server stops reading at the first frame it cannot decode (its framed
//! reader ends after an error), so one malformed message would end the session. Frames
//! are therefore checked here first: well-formed JSON-RPC messages go on to the LSP
//! service unchanged, anything else is answered with a JSON-RPC error (`-32700` parse
//! error, `-32600` invalid request) and reading goes on. Both the service's frames and
//! these errors reach the client through one writer, a whole frame at a time.

use serde_json::{json, Value};
use tokio::{
    io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    sync::mpsc,
};
use tracing::warn;

/// Larger messages are refused (and skipped without being held in memory).
const MAX_MESSAGE: usize = 512 * 1024 * 1024;

/// One header block and body, or why there is none.
enum Frame {
    Body(Vec<u8>),
    /// Something to answer with an error; reading goes on.
    Bad(&'static str),
    End,
}

async fn read_frame<R: AsyncBufRead + Unpin>(reader: &mut R) -> Frame {
    let mut length: Option<usize> = None;
    let mut saw_header = false;
    loop {
        let mut line = Vec::new();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return Frame::End,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if !saw_header {
                continue; // stray blank lines between frames
            }
            break;
        }
        saw_header = true;
        if let Some((name, value)) = text.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok();
            }
        }
    }
    let Some(length) = length else {
        return Frame::Bad("missing or invalid Content-Length header");
    };
    if length > MAX_MESSAGE {
        let skipped =
            tokio::io::copy(&mut reader.take(length as u64), &mut tokio::io::sink()).await;
        if skipped.is_err() {
            return Frame::End;
        }
        return Frame::Bad("message larger than 512 MiB");
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).await.is_err() {
        return Frame::End;
    }
    Frame::Body(body)
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

fn error_frame(id: Value, code: i64, message: &str) -> Vec<u8> {
    let msg = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    frame(msg.to_string().as_bytes())
}

/// Checks that a body is a JSON-RPC 2.0 request, notification or response, as
/// tower-lsp-server will decode it; otherwise returns the error to answer with.
fn check(body: &[u8]) -> Result<(), Vec<u8>> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            warn!("malformed JSON-RPC message: {e}");
            return Err(error_frame(
                Value::Null,
                -32700,
                &format!("Parse error: {e}"),
            ));
        }
    };
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    let valid_id = matches!(id, Value::Null | Value::Number(_) | Value::String(_));
    let ok = value.get("jsonrpc") == Some(&json!("2.0"))
        && valid_id
        && match value.get("method") {
            Some(Value::String(_)) => value
                .get("params")
                .is_none_or(|p| p.is_object() || p.is_array() || p.is_null()),
            Some(_) => false,
            None => {
                value.get("id").is_some()
                    && (value.get("result").is_some() || value.get("error").is_some())
            }
        };
    if ok {
        Ok(())
    } else {
        warn!(
            "invalid JSON-RPC message: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        );
        let id = if valid_id { id } else { Value::Null };
        Err(error_frame(
            id,
            -32600,
            "Invalid request: not a JSON-RPC 2.0 message",
        ))
    }
}

/// Copies well-formed frames from `input` to `to_service`; answers the others through
/// `out`. Ends when `input` ends.
pub(crate) async fn guard_input<R, W>(
    input: R,
    mut to_service: W,
    out: mpsc::UnboundedSender<Vec<u8>>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = tokio::io::BufReader::with_capacity(1 << 16, input);
    loop {
        match read_frame(&mut reader).await {
            Frame::End => break,
            Frame::Bad(why) => {
                warn!("unreadable frame: {why}");
                let _ = out.send(error_frame(
                    Value::Null,
                    -32700,
                    &format!("Parse error: {why}"),
                ));
            }
            Frame::Body(body) => match check(&body) {
                Ok(()) => {
                    if to_service.write_all(&frame(&body)).await.is_err() {
                        break;
                    }
                    let _ = to_service.flush().await;
                }
                Err(reply) => {
                    let _ = out.send(reply);
                }
            },
        }
    }
    let _ = to_service.shutdown().await;
}

/// Splits the service's output back into frames and queues them whole.
pub(crate) async fn collect_output<R: AsyncRead + Unpin>(
    from_service: R,
    out: mpsc::UnboundedSender<Vec<u8>>,
) {
    let mut reader = tokio::io::BufReader::with_capacity(1 << 16, from_service);
    loop {
        match read_frame(&mut reader).await {
            Frame::Body(body) => {
                if out.send(frame(&body)).is_err() {
                    break;
                }
            }
            Frame::Bad(why) => warn!("the LSP service wrote a bad frame: {why}"),
            Frame::End => break,
        }
    }
}

/// Writes queued frames to the client, one whole frame at a time.
pub(crate) async fn write_output<W: AsyncWrite + Unpin>(
    mut output: W,
    mut frames: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    while let Some(f) = frames.recv().await {
        if output.write_all(&f).await.is_err() || output.flush().await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_messages_as_the_service_decodes_them() {
        assert!(check(br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#).is_ok());
        assert!(check(br#"{"jsonrpc":"2.0","method":"exit"}"#).is_ok());
        assert!(check(br#"{"jsonrpc":"2.0","id":"a","result":null}"#).is_ok());
        let parse = check(br#"{"jsonrpc":"2.0","id":1,"#).unwrap_err();
        assert!(String::from_utf8_lossy(&parse).contains("-32700"));
        let invalid = check(br#"{"jsonrpc":"1.0","id":4,"method":"x"}"#).unwrap_err();
        let text = String::from_utf8_lossy(&invalid);
        assert!(
            text.contains("-32600") && text.contains(r#""id":4"#),
            "{text}"
        );
        assert!(check(br#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#).is_err());
        assert!(check(br#"[1,2]"#).is_err());
    }
}
