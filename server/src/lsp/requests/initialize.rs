//! `initialize`: what the client can do (position encoding, progress, file watching,
//! symbol and definition shapes), the settings from `initializationOptions`, the
//! folders to index, and the server's capabilities.

use std::path::PathBuf;

use codecontext_analysis::PositionEncoding;
use codecontext_workspace::Settings;
use tower_lsp_server::{jsonrpc::Result, lsp_types::*};
use tracing::info;

use super::custom::METHODS;
use crate::lsp::{
    from_proto::path_of,
    state::{Shared, Work},
};

pub(super) fn initialize(shared: &Shared, params: InitializeParams) -> Result<InitializeResult> {
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
    let progress = caps
        .window
        .as_ref()
        .and_then(|w| w.work_done_progress)
        .unwrap_or(false);
    shared.notifier.set_progress(progress);
    shared.ws.set_settings(settings);
    {
        let mut session = shared.session();
        session.encoding = if utf8 {
            PositionEncoding::Utf8
        } else {
            PositionEncoding::Utf16
        };
        session.progress = progress;
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
        session.initialized = true;
    }
    #[allow(deprecated)] // `root_uri` and `root_path`, for clients without folders
    let folders: Vec<PathBuf> = match &params.workspace_folders {
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
    shared.send(Work::Folders(folders));
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
            // The quick fixes of project rules (see code_action.rs).
            code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                ..CodeActionOptions::default()
            })),
            implementation_provider: Some(ImplementationProviderCapability::Simple(true)),
            call_hierarchy_provider: Some(CallHierarchyServerCapability::Simple(true)),
            document_highlight_provider: Some(OneOf::Left(true)),
            execute_command_provider: Some(ExecuteCommandOptions {
                commands: METHODS.iter().map(|m| m.command.to_string()).collect(),
                work_done_progress_options: WorkDoneProgressOptions::default(),
            }),
            experimental: Some(serde_json::Value::Object(
                METHODS
                    .iter()
                    .map(|m| (m.request.to_string(), serde_json::Value::Bool(true)))
                    .collect(),
            )),
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
