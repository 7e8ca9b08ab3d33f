//! The language server end to end, in-process over pipes: framed JSON-RPC in, JSON out.

use std::path::Path;

use codecontext_tests::{
    copy_fixture, fixtures_dir, index_fixture, lsp::file_uri, lsp::uri_path, lsp::LspClient, place,
    position,
};
use serde_json::{json, Value};

/// UTF-16 column of a 1-based character column on a line of a file.
fn utf16_col(path: &Path, line: u32, col: u32) -> u32 {
    let text = std::fs::read_to_string(path).unwrap();
    let l = text.lines().nth(line as usize - 1).unwrap_or("");
    l.chars()
        .take(col as usize - 1)
        .map(|c| c.len_utf16() as u32)
        .sum()
}

/// `rel:line:col` (1-based, characters) of an LSP location under `root`.
fn lsp_place(root: &Path, location: &Value) -> String {
    let path = uri_path(location["uri"].as_str().unwrap()).expect("a file URI");
    let root = root.canonicalize().unwrap();
    let rel = Path::new(&path)
        .strip_prefix(&root)
        .unwrap_or_else(|_| panic!("{path} outside {}", root.display()))
        .to_string_lossy()
        .into_owned();
    let line = location["range"]["start"]["line"].as_u64().unwrap() as usize;
    let units = location["range"]["start"]["character"].as_u64().unwrap() as usize;
    let text = std::fs::read_to_string(&path).unwrap();
    let l = text.lines().nth(line).unwrap_or("");
    let mut seen = 0;
    let mut chars = 0;
    for c in l.chars() {
        if seen >= units {
            break;
        }
        seen += c.len_utf16();
        chars += 1;
    }
    format!("{rel}:{}:{}", line + 1, chars + 1)
}

fn text_position(root: &Path, spec: &str) -> (String, Value) {
    let mut parts = spec.rsplitn(3, ':');
    let col: u32 = parts.next().unwrap().parse().unwrap();
    let line: u32 = parts.next().unwrap().parse().unwrap();
    let file = parts.next().unwrap();
    let path = root.join(file);
    let pos = json!({
        "textDocument": {"uri": file_uri(&path)},
        "position": {"line": line - 1, "character": utf16_col(&path, line, col)}
    });
    (file.to_string(), pos)
}

async fn started(root: &Path) -> LspClient {
    let mut client = LspClient::in_process();
    client.initialize(&[root], json!({})).await;
    client.indexed().await;
    client
}

/// Every `def` and `refs` line of every fixture's `expect.txt`, asked through LSP:
/// definitions must be exactly what the analysis answers (which the fixture tests check
/// against the expectations), references exactly what `expect.txt` lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn navigation_through_lsp_matches_every_fixture() {
    for lang in ["python", "rust", "typescript", "javascript", "go", "java"] {
        let root = fixtures_dir().join(lang).canonicalize().unwrap();
        let host = index_fixture(lang);
        let analysis = host.analysis();
        let mut client = started(&root).await;
        let expect = std::fs::read_to_string(root.join("expect.txt")).unwrap();
        let mut failures = Vec::new();
        let mut checked = 0;
        for line in expect.lines() {
            let line = line.split('#').next().unwrap().trim();
            let Some((query, expected)) = line.split_once("=>") else {
                continue;
            };
            let mut words = query.split_whitespace();
            let (kind, spec) = (words.next().unwrap(), words.next().unwrap());
            let (_, pos) = text_position(&root, spec);
            checked += 1;
            let (want, got) = if kind == "def" {
                let (file, offset) = position(&analysis, spec).unwrap();
                let mut want: Vec<String> = analysis
                    .definitions(file, offset)
                    .map(|d| {
                        d.targets
                            .iter()
                            .map(|t| place(&analysis, t.file, t.focus.start))
                            .collect()
                    })
                    .unwrap_or_default();
                want.sort();
                let result = client.request("textDocument/definition", pos).await;
                let mut got: Vec<String> = result
                    .as_array()
                    .map(|a| a.iter().map(|l| lsp_place(&root, l)).collect())
                    .unwrap_or_default();
                got.sort();
                (want.join(" "), got.join(" "))
            } else {
                let mut params = pos;
                params["context"] = json!({"includeDeclaration": false});
                let result = client.request("textDocument/references", params).await;
                let mut got: Vec<String> = result
                    .as_array()
                    .map(|a| a.iter().map(|l| lsp_place(&root, l)).collect())
                    .unwrap_or_default();
                got.sort();
                let expected = expected.split_whitespace().collect::<Vec<_>>().join(" ");
                (expected, got.join(" "))
            };
            if want != got {
                failures.push(format!(
                    "{lang} {kind} {spec}\n  want: {want}\n  got:  {got}"
                ));
            }
        }
        assert!(checked > 5, "{lang}: too few expectations");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(client.shutdown_and_exit().await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initialize_negotiates_encoding_and_advertises_what_is_implemented() {
    let root = fixtures_dir().join("python");
    let mut client = LspClient::in_process();
    let result = client.initialize(&[&root], json!({})).await;
    let caps = &result["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-16");
    assert_eq!(caps["textDocumentSync"]["change"], 2, "incremental sync");
    for key in [
        "documentSymbolProvider",
        "workspaceSymbolProvider",
        "definitionProvider",
        "referencesProvider",
        "hoverProvider",
        "implementationProvider",
        "callHierarchyProvider",
        "documentHighlightProvider",
    ] {
        assert_eq!(caps[key], true, "{key}");
    }
    // Code actions are the quick fixes of project rules.
    assert_eq!(
        caps["codeActionProvider"]["codeActionKinds"],
        json!(["quickfix"])
    );
    for key in ["completionProvider", "renameProvider"] {
        assert!(
            caps.get(key).is_none(),
            "{key} is advertised but not implemented"
        );
    }
    assert!(client.shutdown_and_exit().await);

    // Options meant for another server do not stop this one from starting.
    let mut client = LspClient::in_process();
    let result = client
        .initialize(
            &[&root],
            json!({"initializationOptions": {"someOtherServer": {"enable": true}}}),
        )
        .await;
    assert_eq!(result["serverInfo"]["name"], "codecontext");
    assert!(client.shutdown_and_exit().await);

    // A client that offers UTF-8 gets it, and positions are then bytes: `é` is two.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.py"), "café = 1\nx = café\n").unwrap();
    let mut client = LspClient::in_process();
    let result = client
        .initialize(
            &[dir.path()],
            json!({"capabilities": {"general": {"positionEncodings": ["utf-8", "utf-16"]}}}),
        )
        .await;
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-8");
    client.indexed().await;
    let uri = file_uri(&dir.path().join("m.py"));
    let defs = client
        .request(
            "textDocument/definition",
            json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 5}}),
        )
        .await;
    assert_eq!(
        defs[0]["range"]["start"],
        json!({"line": 0, "character": 0})
    );
    assert_eq!(defs[0]["range"]["end"], json!({"line": 0, "character": 5}));
    assert!(client.shutdown_and_exit().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_outline_symbols_hierarchy_and_implementations() {
    let root = fixtures_dir().join("python").canonicalize().unwrap();
    let mut client = started(&root).await;

    // Progress was announced with a token the server created first.
    let created = client
        .notification("window/workDoneProgress/create", |_| true)
        .await;
    let begin = client
        .notification("$/progress", |p| p["value"]["kind"] == "begin")
        .await;
    assert_eq!(begin["token"], created["token"]);

    // workspace/symbol: fuzzy and ranked.
    let found = client
        .request("workspace/symbol", json!({"query": "totpr"}))
        .await;
    assert_eq!(found[0]["name"], "total_price", "{found}");
    // An empty query asks for all symbols (VS Code's Ctrl+T opens that way).
    let all = client
        .request("workspace/symbol", json!({"query": ""}))
        .await;
    assert!(all.as_array().unwrap().len() > 10, "{all}");

    // Hover on a use of `clamp`: signature, doc line, kind and counts.
    let (_, pos) = text_position(&root, "shop/models/product.py:12:22");
    let hover = client.request("textDocument/hover", pos).await;
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.starts_with("```python\ndef clamp(value, low, high)"),
        "{text}"
    );
    assert!(text.contains("Keep value within [low, high]."), "{text}");
    assert!(text.contains("3 references"), "{text}");
    assert!(text.contains("2 callers"), "{text}");

    // documentSymbol: hierarchical, methods inside their class.
    let uri = file_uri(&root.join("shop/models/product.py"));
    let symbols = client
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let product = symbols
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Product")
        .expect("Product in the outline");
    let methods: Vec<&str> = product["children"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == 6)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        ["__init__", "describe", "discounted", "is_valid"],
        "{product}"
    );

    // Implementation of `Model`: its subclass.
    let (_, pos) = text_position(&root, "shop/models/base.py:4:7");
    let impls = client.request("textDocument/implementation", pos).await;
    let places: Vec<String> = impls
        .as_array()
        .unwrap()
        .iter()
        .map(|l| lsp_place(&root, l))
        .collect();
    assert_eq!(places, ["shop/models/product.py:6:7"]);

    // Call hierarchy around `clamp`: its callers, and what a caller calls.
    let (_, pos) = text_position(&root, "shop/util.py:6:5");
    let items = client
        .request("textDocument/prepareCallHierarchy", pos)
        .await;
    assert_eq!(items[0]["name"], "clamp");
    let incoming = client
        .request("callHierarchy/incomingCalls", json!({"item": items[0]}))
        .await;
    let mut callers: Vec<&str> = incoming
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["from"]["name"].as_str().unwrap())
        .collect();
    callers.sort();
    assert_eq!(callers, ["__init__", "total_price"], "{incoming}");
    let caller = incoming
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["from"]["name"] == "total_price")
        .unwrap();
    let outgoing = client
        .request(
            "callHierarchy/outgoingCalls",
            json!({"item": caller["from"]}),
        )
        .await;
    let callees: Vec<&str> = outgoing
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["to"]["name"].as_str().unwrap())
        .collect();
    assert!(callees.contains(&"clamp"), "{outgoing}");

    // documentHighlight: the uses of a local within its file.
    let (_, pos) = text_position(&root, "shop/services/pricing.py:13:29");
    let highlights = client.request("textDocument/documentHighlight", pos).await;
    assert!(highlights.as_array().unwrap().len() >= 2, "{highlights}");

    assert!(client.shutdown_and_exit().await);
}

/// Edits sent back to back, without waiting, are applied in order; requests see them
/// all; diagnostics follow the text and carry the source `codecontext`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_apply_in_arrival_order_and_diagnostics_follow() {
    let dir = copy_fixture("python");
    let root = dir.path().canonicalize().unwrap();
    let mut client = started(&root).await;
    let path = root.join("shop/util.py");
    let uri = file_uri(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    client.open(&uri, "python", &text).await;
    // Type a new function at the end, one character per change: each edit's position
    // is only right if every earlier one was applied first.
    let lines = text.lines().count() as u32;
    let typed = "\n\ndef freshly_typed(x):\n    return clamp(x, 0, 1)\n";
    let (mut line, mut col) = (lines, 0u32);
    for (i, c) in typed.chars().enumerate() {
        client
            .notify(
                "textDocument/didChange",
                json!({
                    "textDocument": {"uri": uri, "version": 2 + i},
                    "contentChanges": [{
                        "range": {"start": {"line": line, "character": col},
                                  "end": {"line": line, "character": col}},
                        "text": c.to_string()
                    }]
                }),
            )
            .await;
        if c == '\n' {
            line += 1;
            col = 0;
        } else {
            col += 1;
        }
    }
    let symbols = client
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let names: Vec<&str> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"freshly_typed"), "{names:?}");
    // The open document wins over disk: the new call counts as a reference.
    let found = client
        .request("workspace/symbol", json!({"query": "freshly_typed"}))
        .await;
    assert_eq!(found[0]["location"]["uri"], uri);
    // The call inside it resolves (the graph was updated, not only the outline).
    let defs = client
        .request(
            "textDocument/definition",
            json!({"textDocument": {"uri": uri}, "position": {"line": line - 1, "character": 12}}),
        )
        .await;
    assert_eq!(defs[0]["range"]["start"]["line"], 5, "{defs}");

    // A syntax error is published, then cleared when fixed.
    let version = 2 + typed.chars().count();
    client
        .notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": {"line": 0, "character": 0},
                                              "end": {"line": 0, "character": 0}},
                                    "text": "def broken(:\n"}]
            }),
        )
        .await;
    let diags = client
        .notification("textDocument/publishDiagnostics", |p| {
            p["uri"] == uri && !p["diagnostics"].as_array().unwrap().is_empty()
        })
        .await;
    assert_eq!(diags["diagnostics"][0]["source"], "codecontext");
    assert_eq!(diags["diagnostics"][0]["range"]["start"]["line"], 0);
    assert_eq!(diags["version"], version);
    client
        .notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": version + 1},
                "contentChanges": [{"range": {"start": {"line": 0, "character": 0},
                                              "end": {"line": 1, "character": 0}},
                                    "text": ""}]
            }),
        )
        .await;
    client
        .notification("textDocument/publishDiagnostics", |p| {
            p["uri"] == uri
                && p["version"] == version + 1
                && p["diagnostics"].as_array().unwrap().is_empty()
        })
        .await;

    // Closing goes back to the disk text: the typed function is gone.
    client
        .notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let names = client.symbol_names("freshly_typed").await;
    assert!(!names.iter().any(|n| n == "freshly_typed"), "{names:?}");
    assert!(client.shutdown_and_exit().await);
}

/// Each kind of bad input gets a JSON-RPC error or is ignored, and the server keeps
/// answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_an_error_and_the_server_keeps_serving() {
    let dir = copy_fixture("python");
    let root = dir.path().canonicalize().unwrap();
    // Invalid UTF-8 and binary content on disk: skipped at indexing, not fatal.
    std::fs::write(root.join("latin1.py"), b"name = '\xe9t\xe9'\n").unwrap();
    std::fs::write(root.join("blob.py"), b"\x00\x01\x02\x7fELF\x00").unwrap();
    let mut client = started(&root).await;

    async fn still_serving(client: &mut LspClient) {
        let names = client.symbol_names("clamp").await;
        assert_eq!(
            names.first().map(String::as_str),
            Some("clamp"),
            "{names:?}"
        );
    }
    still_serving(&mut client).await;

    // Malformed JSON: a parse error with a null id.
    let garbage = b"{\"jsonrpc\": \"2.0\", \"id\": 99, \"method\": ";
    client
        .send_raw(format!("Content-Length: {}\r\n\r\n", garbage.len()).as_bytes())
        .await;
    client.send_raw(garbage).await;
    let err = client.response(Value::Null).await;
    assert_eq!(err["error"]["code"], -32700, "{err}");
    still_serving(&mut client).await;

    // An unknown method.
    let err = client
        .request_error("textDocument/teleport", json!({}))
        .await;
    assert_eq!(err["code"], -32601);

    // Params of the wrong shape.
    let err = client
        .request_error("textDocument/definition", json!({"position": "here"}))
        .await;
    assert_eq!(err["code"], -32602);

    // Positions past the end of a line and of the file are clamped.
    let uri = file_uri(&root.join("shop/util.py"));
    for (line, character) in [(5, 10_000), (10_000, 3), (u32::MAX, u32::MAX)] {
        client
            .request(
                "textDocument/hover",
                json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
            )
            .await;
    }

    // A request on a file we do not know answers nothing.
    let result = client
        .request(
            "textDocument/definition",
            json!({"textDocument": {"uri": "file:///nowhere/x.py"}, "position": {"line": 0, "character": 0}}),
        )
        .await;
    assert_eq!(result, Value::Null);

    // didChange for a document that was never opened: ignored.
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 7},
                   "contentChanges": [{"range": {"start": {"line": 0, "character": 0},
                                                 "end": {"line": 0, "character": 0}},
                                       "text": "oops"}]}),
        )
        .await;
    still_serving(&mut client).await;

    // A 50 MB document: over the size limit, kept out of the graph, never parsed.
    let big_uri = file_uri(&root.join("big.py"));
    let big = "x = 1\n".repeat(50 * 1024 * 1024 / 6);
    let outline = client.open_and_outline(&big_uri, "python", &big).await;
    assert_eq!(outline, json!([]));
    still_serving(&mut client).await;

    // Binary content in an open document.
    let bin_uri = file_uri(&root.join("bin.py"));
    let outline = client
        .open_and_outline(&bin_uri, "python", "\u{0}\u{1}\u{2}abc\u{0}")
        .await;
    assert_eq!(outline, json!([]));

    // The invalid UTF-8 file on disk answers nothing rather than failing.
    let outline = client
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": file_uri(&root.join("latin1.py"))}}),
        )
        .await;
    assert_eq!(outline, json!([]));

    // A workspace folder that disappears: its files go, the server stays.
    std::fs::remove_dir_all(root.join("shop")).unwrap();
    client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({"changes": [{"uri": file_uri(&root).to_string() + "/shop", "type": 3}]}),
        )
        .await;
    assert!(client.symbol_names("clamp").await.is_empty());
    assert!(client.shutdown_and_exit().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_and_files_changed_outside_the_editor() {
    let a = copy_fixture("python");
    let b = copy_fixture("go");
    let root_a = a.path().canonicalize().unwrap();
    let root_b = b.path().canonicalize().unwrap();
    let mut client = started(&root_a).await;

    // The client was asked to watch files for us.
    client
        .notification("client/registerCapability", |p| {
            p["registrations"][0]["method"] == "workspace/didChangeWatchedFiles"
        })
        .await;

    // A file created on disk, then deleted.
    let extra = root_a.join("extra.py");
    std::fs::write(&extra, "def brand_new_helper():\n    return 1\n").unwrap();
    disk_changed(&mut client, &extra, 1).await;
    let found = client.symbol_names("brand_new_helper").await;
    assert_eq!(found, ["brand_new_helper"]);
    std::fs::remove_file(&extra).unwrap();
    disk_changed(&mut client, &extra, 3).await;
    assert!(client.symbol_names("brand_new_helper").await.is_empty());

    // A file the walk would have skipped (.gitignore) stays out when it appears.
    std::fs::write(root_a.join(".gitignore"), "generated/\n").unwrap();
    std::fs::create_dir_all(root_a.join("generated")).unwrap();
    let generated = root_a.join("generated/gen.py");
    std::fs::write(&generated, "def should_stay_hidden():\n    pass\n").unwrap();
    disk_changed(&mut client, &generated, 1).await;
    assert!(client.symbol_names("should_stay_hidden").await.is_empty());

    // A folder added: indexed in the background with progress; then removed.
    client
        .notify(
            "workspace/didChangeWorkspaceFolders",
            json!({"event": {"added": [{"uri": file_uri(&root_b), "name": "b"}], "removed": []}}),
        )
        .await;
    client.indexed().await;
    let go_symbol = "NewLogger";
    let found = client
        .request("workspace/symbol", json!({"query": go_symbol}))
        .await;
    assert!(
        found
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["location"]["uri"]
                .as_str()
                .unwrap()
                .starts_with(&file_uri(&root_b))),
        "{found}"
    );
    client
        .notify(
            "workspace/didChangeWorkspaceFolders",
            json!({"event": {"added": [], "removed": [{"uri": file_uri(&root_b), "name": "b"}]}}),
        )
        .await;
    let found = client
        .request("workspace/symbol", json!({"query": go_symbol}))
        .await;
    assert!(
        found
            .as_array()
            .unwrap()
            .iter()
            .all(|s| !s["location"]["uri"]
                .as_str()
                .unwrap()
                .starts_with(&file_uri(&root_b))),
        "{found}"
    );
    // Configuration: bad keys are refused with the old settings kept; good ones apply.
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"codecontext": {"workspaceSymbolLimit": 1}}}),
        )
        .await;
    let found = client
        .request("workspace/symbol", json!({"query": "e"}))
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert!(client.shutdown_and_exit().await);
}

/// A client that cannot watch files: the server watches the folders itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_client_watching_the_server_sees_disk_changes_itself() {
    let dir = copy_fixture("python");
    let root = dir.path().canonicalize().unwrap();
    let mut client = LspClient::in_process();
    client
        .initialize(
            &[&root],
            json!({"capabilities": {"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": false}}}}),
        )
        .await;
    client.indexed().await;
    std::fs::write(
        root.join("shop/late.py"),
        "def appeared_on_disk():\n    return 2\n",
    )
    .unwrap();
    // Nothing to wait on but the answer itself: ask until it shows (bounded).
    symbols_until(&mut client, "appeared_on_disk", |found| !found.is_empty()).await;
    std::fs::remove_file(root.join("shop/late.py")).unwrap();
    symbols_until(&mut client, "appeared_on_disk", |found| found.is_empty()).await;
    assert!(client.shutdown_and_exit().await);
}

/// Asks `workspace/symbol` until its answer satisfies `done`, within the tests' patience.
async fn symbols_until(client: &mut LspClient, query: &str, done: impl Fn(&[Value]) -> bool) {
    let deadline = std::time::Instant::now() + codecontext_tests::lsp::PATIENCE;
    loop {
        let found = client
            .request("workspace/symbol", json!({ "query": query }))
            .await;
        if done(found.as_array().map_or(&[], Vec::as_slice)) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "workspace/symbol {query:?} never gave the expected answer; last: {found}"
        );
        tokio::task::yield_now().await;
    }
}

/// Tells the server, as a watching client would, that a file was created (1), changed (2)
/// or deleted (3).
async fn disk_changed(client: &mut LspClient, path: &Path, change: u32) {
    client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({"changes": [{"uri": file_uri(path), "type": change}]}),
        )
        .await;
}
