//! `workspace/symbol`: symbols by fuzzy name, at most `workspaceSymbolLimit`.

use codecontext_analysis::SearchMode;
use tower_lsp_server::{jsonrpc::Result, lsp_types::*};

use super::Backend;
use crate::lsp::to_proto::symbol_information;

pub(super) async fn symbol(
    backend: &Backend,
    params: WorkspaceSymbolParams,
) -> Result<Option<OneOf<Vec<SymbolInformation>, Vec<WorkspaceSymbol>>>> {
    backend
        .query("workspace/symbol", None, move |conv, settings| {
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
