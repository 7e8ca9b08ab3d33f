//! Request handlers: each waits until the notifications received before it are applied,
//! then answers from the analysis on tokio's blocking pool.

use std::{
    sync::{atomic::Ordering, Arc},
    time::Instant,
};

use codecontext_analysis::{EntityId, How, NavTarget, PositionEncoding, SearchMode};
use serde_json::json;
use tower_lsp_server::{
    jsonrpc::{Error, ErrorCode, Result},
    lsp_types::*,
    Client, LanguageServer,
};
use tracing::{debug, error, info};

use super::{
    config::Settings,
    convert::{path_of, symbol_kind, Conv},
    execute, history, perf,
    state::{Shared, Work},
    team, verify,
};

pub(crate) struct Backend {
    shared: Arc<Shared>,
    client: Client,
}

impl Backend {
    pub fn new(client: Client, shared: Arc<Shared>) -> Backend {
        Backend { shared, client }
    }

    /// Answers a request from the analysis once it has caught up with the client.
    /// `codecontext/execute` (and `codecontext.execute` through executeCommand).
    pub async fn execute_request(&self, params: LSPAny) -> Result<LSPAny> {
        execute::execute(&self.shared, &self.client, params).await
    }

    /// `codecontext/perfHistory` (and `codecontext.perfHistory` through executeCommand).
    pub async fn perf_request(&self, params: LSPAny) -> Result<LSPAny> {
        perf::perf_history(&self.shared, params).await
    }

    /// `codecontext/callers` (and `codecontext.callers` through executeCommand).
    pub async fn callers_request(&self, params: LSPAny) -> Result<LSPAny> {
        team::callers(&self.shared, params).await
    }

    /// `codecontext/history` (and `codecontext.history` through executeCommand).
    pub async fn history_request(&self, params: LSPAny) -> Result<LSPAny> {
        history::history(&self.shared, params).await
    }

    /// `codecontext/verify` (and `codecontext.verify` through executeCommand).
    pub async fn verify_request(&self, params: LSPAny) -> Result<LSPAny> {
        verify::verify(&self.shared, &self.client, params).await
    }

    async fn query<T, F>(&self, method: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Conv<'_>, &Settings) -> Result<T> + Send + 'static,
    {
        let received = Instant::now();
        self.shared.caught_up().await;
        let caught_up = received.elapsed();
        let shared = self.shared.clone();
        let job = tokio::task::spawn_blocking(move || {
            let (encoding, settings) = {
                let s = shared.session();
                (s.encoding, s.settings.clone())
            };
            let started = Instant::now();
            let host = shared.read();
            let locked = started.elapsed();
            let analysis = host.analysis();
            let conv = Conv {
                analysis: &analysis,
                encoding,
            };
            let result = f(&conv, &settings);
            debug!(
                "{method}: {:?} (waited {caught_up:?} for earlier changes, {locked:?} for the lock)",
                received.elapsed()
            );
            result
        });
        match job.await {
            Ok(result) => result,
            Err(e) => {
                let why = match e.try_into_panic() {
                    Ok(payload) => payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "panic".into()),
                    Err(e) => e.to_string(),
                };
                error!("{method} failed: {why}");
                Err(Error {
                    code: ErrorCode::InternalError,
                    message: format!("codecontext: {method} failed: {why}").into(),
                    data: None,
                })
            }
        }
    }
}

/// The file and byte offset of a position, or `None` for a file we do not index.
fn at(
    conv: &Conv<'_>,
    doc: &TextDocumentPositionParams,
) -> Option<(codecontext_analysis::FileId, u32)> {
    let file = conv.file(&doc.text_document.uri)?;
    let offset = conv.offset(file, doc.position)?;
    Some((file, offset))
}

fn nav_location(conv: &Conv<'_>, t: &NavTarget) -> Option<Location> {
    conv.location(t.file, t.focus)
}

fn call_item(conv: &Conv<'_>, t: &NavTarget) -> Option<CallHierarchyItem> {
    let (range, selection_range) = conv.full_range(t)?;
    Some(CallHierarchyItem {
        name: t.name.clone(),
        kind: symbol_kind(&t.kind),
        tags: None,
        detail: Some(t.qualified_name.clone()),
        uri: conv.uri(t.file)?,
        range,
        selection_range,
        data: t.entity.map(|id| json!({ "entity": id.0.to_string() })),
    })
}

/// The entity behind a call hierarchy item this server made.
fn entity_of(item: &CallHierarchyItem) -> Result<EntityId> {
    item.data
        .as_ref()
        .and_then(|d| d.get("entity")?.as_str()?.parse().ok())
        .map(EntityId)
        .ok_or_else(|| Error::invalid_params("the call hierarchy item was not made by this server"))
}

/// Callers or callees as LSP calls: the other end and the call sites.
fn calls<T>(
    conv: &Conv<'_>,
    infos: Vec<codecontext_analysis::CallInfo>,
    make: impl Fn(CallHierarchyItem, Vec<Range>) -> T,
) -> Vec<T> {
    infos
        .iter()
        .filter_map(|c| {
            let sites = c
                .sites
                .iter()
                .filter_map(|s| conv.range(s.file, s.range))
                .collect();
            Some(make(call_item(conv, &c.target)?, sites))
        })
        .collect()
}

#[allow(deprecated)] // `SymbolInformation::deprecated` and `DocumentSymbol::deprecated`
fn document_symbols(
    conv: &Conv<'_>,
    items: &[codecontext_analysis::OutlineItem],
) -> Vec<DocumentSymbol> {
    items
        .iter()
        .filter(|i| i.target.kind != "import")
        .filter_map(|i| {
            let (range, selection_range) = conv.full_range(&i.target)?;
            Some(DocumentSymbol {
                name: i.target.name.clone(),
                detail: i.target.signature.clone(),
                kind: symbol_kind(&i.target.kind),
                tags: None,
                deprecated: None,
                range,
                selection_range,
                children: Some(document_symbols(conv, &i.children)),
            })
        })
        .collect()
}

#[allow(deprecated)]
fn symbol_information(conv: &Conv<'_>, t: &NavTarget) -> Option<SymbolInformation> {
    Some(SymbolInformation {
        name: t.name.clone(),
        kind: symbol_kind(&t.kind),
        tags: None,
        deprecated: None,
        location: conv.location(t.file, t.focus)?,
        container_name: t.container.clone(),
    })
}

fn flatten(items: &[codecontext_analysis::OutlineItem], out: &mut Vec<NavTarget>) {
    for i in items {
        if i.target.kind != "import" {
            out.push(i.target.clone());
        }
        flatten(&i.children, out);
    }
}

fn hover_text(conv: &Conv<'_>, t: &NavTarget, how: How) -> String {
    let graph = conv.analysis.host().graph();
    // Markdown code blocks are labelled by language name (`python`, not `py`), which
    // is what editors map to a highlighter.
    let lang = conv
        .analysis
        .host()
        .path(t.file)
        .and_then(|p| codecontext_lang::language_for_path(&p))
        .map(|l| l.name().to_string())
        .unwrap_or_default();
    let mut text = String::new();
    let head = t.signature.clone().unwrap_or_else(|| t.name.clone());
    text.push_str(&format!("```{lang}\n{head}\n```\n"));
    if let Some(doc) = &t.doc {
        text.push_str(&format!("\n{doc}\n"));
    }
    let mut facts = vec![format!("{} `{}`", t.kind, t.qualified_name)];
    if let Some(c) = &t.container {
        facts.push(format!("in `{c}`"));
    }
    if let Some(id) = t.entity {
        let refs = graph.references_to(id).len();
        let callers = graph.callers(id, 1).len();
        facts.push(format!("{refs} references"));
        facts.push(format!("{callers} callers"));
    }
    if how == How::Inferred || how == How::Ambiguous {
        facts.push(format!("resolved by name ({})", how.as_str()));
    }
    text.push_str(&format!("\n{}", facts.join(" · ")));
    text
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let caps = &params.capabilities;
        let utf8 = caps
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref())
            .is_some_and(|encs| encs.contains(&PositionEncodingKind::UTF8));
        // Generic clients pass options meant for others; a server that refused to start
        // over them would help nobody. Bad settings are named in the log, defaults used.
        let settings = match Settings::from_json(params.initialization_options.as_ref()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("initializationOptions: {e}; using the default settings");
                Settings::default()
            }
        };
        let text = caps.text_document.as_ref();
        {
            let mut session = self.shared.session();
            session.encoding = if utf8 {
                PositionEncoding::Utf8
            } else {
                PositionEncoding::Utf16
            };
            session.progress = caps
                .window
                .as_ref()
                .and_then(|w| w.work_done_progress)
                .unwrap_or(false);
            session.watch_dynamic = caps
                .workspace
                .as_ref()
                .and_then(|w| w.did_change_watched_files.as_ref())
                .and_then(|d| d.dynamic_registration)
                .unwrap_or(false);
            session.hierarchical_symbols = text
                .and_then(|t| t.document_symbol.as_ref())
                .and_then(|d| d.hierarchical_document_symbol_support)
                .unwrap_or(false);
            session.definition_links = text
                .and_then(|t| t.definition.as_ref())
                .and_then(|d| d.link_support)
                .unwrap_or(false);
            session.settings = settings.clone();
            session.initialized = true;
        }
        self.shared.write().set_limits(settings.limits());
        #[allow(deprecated)] // `root_uri` and `root_path`, for clients without folders
        let folders: Vec<std::path::PathBuf> = match &params.workspace_folders {
            Some(folders) => folders.iter().filter_map(|f| path_of(&f.uri)).collect(),
            None => params
                .root_uri
                .as_ref()
                .and_then(path_of)
                .or_else(|| params.root_path.as_ref().map(Into::into))
                .into_iter()
                .collect(),
        };
        info!(
            "initialize: {} folders, position encoding {}",
            folders.len(),
            if utf8 { "utf-8" } else { "utf-16" }
        );
        self.shared.send(Work::Folders(folders));
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(if utf8 {
                    PositionEncodingKind::UTF8
                } else {
                    PositionEncodingKind::UTF16
                }),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                        ..TextDocumentSyncOptions::default()
                    },
                )),
                document_symbol_provider: Some(OneOf::Left(true)),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                implementation_provider: Some(ImplementationProviderCapability::Simple(true)),
                call_hierarchy_provider: Some(CallHierarchyServerCapability::Simple(true)),
                document_highlight_provider: Some(OneOf::Left(true)),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: vec![
                        execute::EXECUTE_COMMAND.into(),
                        verify::VERIFY_COMMAND.into(),
                        history::HISTORY_COMMAND.into(),
                        perf::PERF_COMMAND.into(),
                        team::CALLERS_COMMAND.into(),
                    ],
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                }),
                experimental: Some(serde_json::json!({
                    execute::EXECUTE_REQUEST: true,
                    verify::VERIFY_REQUEST: true,
                    history::HISTORY_REQUEST: true,
                    perf::PERF_REQUEST: true,
                    team::CALLERS_REQUEST: true,
                })),
                workspace: Some(WorkspaceServerCapabilities {
                    workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                        supported: Some(true),
                        change_notifications: Some(OneOf::Left(true)),
                    }),
                    file_operations: None,
                }),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "codecontext".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
        })
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        match params.command.as_str() {
            execute::EXECUTE_COMMAND => {
                let [argument] = <[LSPAny; 1]>::try_from(params.arguments).map_err(|_| Error {
                    code: ErrorCode::InvalidParams,
                    message: "codecontext.execute takes one argument: {language, code, ...}".into(),
                    data: None,
                })?;
                self.execute_request(argument).await.map(Some)
            }
            verify::VERIFY_COMMAND => {
                let [argument] = <[LSPAny; 1]>::try_from(params.arguments).map_err(|_| Error {
                    code: ErrorCode::InvalidParams,
                    message: "codecontext.verify takes one argument: {edit, tests?, ...}".into(),
                    data: None,
                })?;
                self.verify_request(argument).await.map(Some)
            }
            history::HISTORY_COMMAND => {
                let argument =
                    match <[LSPAny; 1]>::try_from(params.arguments) {
                        Ok([argument]) => argument,
                        Err(none) if none.is_empty() => LSPAny::Null,
                        Err(_) => return Err(Error {
                            code: ErrorCode::InvalidParams,
                            message:
                                "codecontext.history takes at most one argument: {symbol} or {file}"
                                    .into(),
                            data: None,
                        }),
                    };
                self.history_request(argument).await.map(Some)
            }
            perf::PERF_COMMAND => {
                let [argument] = <[LSPAny; 1]>::try_from(params.arguments).map_err(|_| Error {
                    code: ErrorCode::InvalidParams,
                    message: "codecontext.perfHistory takes one argument: {symbol} or {test}"
                        .into(),
                    data: None,
                })?;
                self.perf_request(argument).await.map(Some)
            }
            team::CALLERS_COMMAND => {
                let [argument] = <[LSPAny; 1]>::try_from(params.arguments).map_err(|_| Error {
                    code: ErrorCode::InvalidParams,
                    message: "codecontext.callers takes one argument: {symbol, direction?, depth?}"
                        .into(),
                    data: None,
                })?;
                self.callers_request(argument).await.map(Some)
            }
            other => Err(Error {
                code: ErrorCode::InvalidParams,
                message: format!("unknown command `{other}`").into(),
                data: None,
            }),
        }
    }

    async fn shutdown(&self) -> Result<()> {
        self.shared.shutdown_requested.store(true, Ordering::SeqCst);
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Writes still on their way to a shared backend that is up get a moment to
        // arrive; whatever does not stays queued on disk for the next start.
        for store in self.shared.stores() {
            if !store.settle(std::time::Duration::from_secs(5)).await {
                debug!("{}: writes stay queued", store.describe());
            }
        }
        super::perf::settle(&self.shared, std::time::Duration::from_secs(5)).await;
        Ok(())
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let hierarchical = self.shared.session().hierarchical_symbols;
        self.query("textDocument/documentSymbol", move |conv, _| {
            let Some(file) = conv.file(&params.text_document.uri) else {
                return Ok(None);
            };
            let outline = conv.analysis.outline(file);
            Ok(Some(if hierarchical {
                DocumentSymbolResponse::Nested(document_symbols(conv, &outline))
            } else {
                let mut flat = Vec::new();
                flatten(&outline, &mut flat);
                DocumentSymbolResponse::Flat(
                    flat.iter()
                        .filter_map(|t| symbol_information(conv, t))
                        .collect(),
                )
            }))
        })
        .await
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<OneOf<Vec<SymbolInformation>, Vec<WorkspaceSymbol>>>> {
        self.query("workspace/symbol", move |conv, settings| {
            let found = conv.analysis.symbols(
                &params.query,
                SearchMode::Fuzzy,
                settings.workspace_symbol_limit,
            );
            Ok(Some(OneOf::Left(
                found
                    .iter()
                    .filter_map(|t| symbol_information(conv, t))
                    .collect(),
            )))
        })
        .await
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let links = self.shared.session().definition_links;
        self.query("textDocument/definition", move |conv, _| {
            let Some((file, offset)) = at(conv, &params.text_document_position_params) else {
                return Ok(None);
            };
            let Some(defs) = conv.analysis.definitions(file, offset) else {
                return Ok(None);
            };
            if links {
                let origin = conv.range(file, defs.origin);
                let links: Vec<LocationLink> = defs
                    .targets
                    .iter()
                    .filter_map(|t| {
                        let (target_range, target_selection_range) = conv.full_range(t)?;
                        Some(LocationLink {
                            origin_selection_range: origin,
                            target_uri: conv.uri(t.file)?,
                            target_range,
                            target_selection_range,
                        })
                    })
                    .collect();
                return Ok((!links.is_empty()).then_some(GotoDefinitionResponse::Link(links)));
            }
            let locations: Vec<Location> = defs
                .targets
                .iter()
                .filter_map(|t| nav_location(conv, t))
                .collect();
            Ok((!locations.is_empty()).then_some(GotoDefinitionResponse::Array(locations)))
        })
        .await
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        self.query("textDocument/references", move |conv, _| {
            let Some((file, offset)) = at(conv, &params.text_document_position) else {
                return Ok(None);
            };
            let include = params.context.include_declaration;
            let Some(refs) = conv.analysis.references(file, offset, include) else {
                return Ok(None);
            };
            Ok(Some(
                refs.locations
                    .iter()
                    .filter_map(|l| conv.location(l.file, l.range))
                    .collect(),
            ))
        })
        .await
    }

    async fn document_highlight(
        &self,
        params: DocumentHighlightParams,
    ) -> Result<Option<Vec<DocumentHighlight>>> {
        self.query("textDocument/documentHighlight", move |conv, _| {
            let Some((file, offset)) = at(conv, &params.text_document_position_params) else {
                return Ok(None);
            };
            let Some(refs) = conv.analysis.references(file, offset, true) else {
                return Ok(None);
            };
            Ok(Some(
                refs.locations
                    .iter()
                    .filter(|l| l.file == file)
                    .filter_map(|l| {
                        Some(DocumentHighlight {
                            range: conv.range(file, l.range)?,
                            kind: Some(DocumentHighlightKind::TEXT),
                        })
                    })
                    .collect(),
            ))
        })
        .await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let answer = self
            .query("textDocument/hover", move |conv, _| {
                let Some((file, offset)) = at(conv, &params.text_document_position_params) else {
                    return Ok(None);
                };
                let Some(defs) = conv.analysis.definitions(file, offset) else {
                    return Ok(None);
                };
                let Some(first) = defs.targets.first() else {
                    return Ok(None);
                };
                let mut value = hover_text(conv, first, defs.how);
                if defs.targets.len() > 1 {
                    value.push_str(&format!(
                        "\n\n{} candidates: {}",
                        defs.targets.len(),
                        defs.targets
                            .iter()
                            .map(|t| format!("`{}`", t.qualified_name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                // The folder of the symbol, to look up its last verification.
                let host = conv.analysis.host();
                let root = host.path(first.file).and_then(|path| {
                    host.roots()
                        .filter(|r| path.starts_with(r))
                        .max_by_key(|r| r.as_os_str().len())
                        .map(|r| r.to_path_buf())
                });
                let symbol = (first.entity.is_some()).then(|| first.qualified_name.clone());
                Ok(Some((
                    value,
                    conv.range(file, defs.origin),
                    root.zip(symbol),
                )))
            })
            .await?;
        let Some((mut value, range, subject)) = answer else {
            return Ok(None);
        };
        if let Some((root, symbol)) = subject {
            if let Some(line) = history::last_verification(&self.shared, &root, &symbol).await {
                value.push_str("\n\n---\n\n");
                value.push_str(&line);
            }
        }
        Ok(Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            }),
            range,
        }))
    }

    async fn goto_implementation(
        &self,
        params: request::GotoImplementationParams,
    ) -> Result<Option<request::GotoImplementationResponse>> {
        self.query("textDocument/implementation", move |conv, _| {
            let Some((file, offset)) = at(conv, &params.text_document_position_params) else {
                return Ok(None);
            };
            let Some(defs) = conv.analysis.definitions(file, offset) else {
                return Ok(None);
            };
            let graph = conv.analysis.host().graph();
            let mut out: Vec<Location> = Vec::new();
            for id in defs.targets.iter().filter_map(|t| t.entity) {
                for r in graph.references_to(id) {
                    if !matches!(
                        graph.ref_kind(r),
                        Some(
                            codecontext_analysis::RefKind::Inherits
                                | codecontext_analysis::RefKind::Implements
                        )
                    ) {
                        continue;
                    }
                    let Some(source) = graph.ref_source(r) else {
                        continue;
                    };
                    if let Some(t) = conv.analysis.nav(source) {
                        if let Some(l) = nav_location(conv, &t) {
                            if !out.contains(&l) {
                                out.push(l);
                            }
                        }
                    }
                }
            }
            Ok(Some(GotoDefinitionResponse::Array(out)))
        })
        .await
    }

    async fn prepare_call_hierarchy(
        &self,
        params: CallHierarchyPrepareParams,
    ) -> Result<Option<Vec<CallHierarchyItem>>> {
        self.query("textDocument/prepareCallHierarchy", move |conv, _| {
            let Some((file, offset)) = at(conv, &params.text_document_position_params) else {
                return Ok(None);
            };
            let Some(defs) = conv.analysis.definitions(file, offset) else {
                return Ok(None);
            };
            let items: Vec<CallHierarchyItem> = defs
                .targets
                .iter()
                .filter(|t| t.entity.is_some())
                .filter_map(|t| call_item(conv, t))
                .collect();
            Ok((!items.is_empty()).then_some(items))
        })
        .await
    }

    async fn incoming_calls(
        &self,
        params: CallHierarchyIncomingCallsParams,
    ) -> Result<Option<Vec<CallHierarchyIncomingCall>>> {
        let id = entity_of(&params.item)?;
        self.query("callHierarchy/incomingCalls", move |conv, _| {
            Ok(Some(calls(
                conv,
                conv.analysis.callers(id, 1),
                |from, from_ranges| CallHierarchyIncomingCall { from, from_ranges },
            )))
        })
        .await
    }

    async fn outgoing_calls(
        &self,
        params: CallHierarchyOutgoingCallsParams,
    ) -> Result<Option<Vec<CallHierarchyOutgoingCall>>> {
        let id = entity_of(&params.item)?;
        self.query("callHierarchy/outgoingCalls", move |conv, _| {
            Ok(Some(calls(
                conv,
                conv.analysis.callees(id, 1),
                |to, from_ranges| CallHierarchyOutgoingCall { to, from_ranges },
            )))
        })
        .await
    }
}
