//! `workspace/didChangeConfiguration`: new settings for the workspace; wrong ones are
//! named in the log and the settings stay as they were.

use std::sync::Arc;

use codecontext_workspace::Settings;
use tower_lsp_server::lsp_types::DidChangeConfigurationParams;
use tracing::{info, warn};

use crate::lsp::state::Shared;

pub(super) fn apply(shared: &Arc<Shared>, params: Option<DidChangeConfigurationParams>) {
    let Some(p) = params else {
        return;
    };
    match Settings::from_json(Some(&p.settings)) {
        Ok(settings) => {
            shared.ws.set_settings(settings);
            info!("configuration updated");
        }
        Err(e) => warn!("didChangeConfiguration: {e}; settings unchanged"),
    }
}
