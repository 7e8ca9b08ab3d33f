//! `textDocument/definition`: locations, or links when the client takes them.

use tower_lsp_server::{jsonrpc::Result, lsp_types::*};

use super::Backend;
use crate::lsp::to_proto::nav_location;

pub(super) async fn goto_definition(
    backend: &Backend,
    params: GotoDefinitionParams,
) -> Result<Option<GotoDefinitionResponse>> {
    let links = backend.shared.session().definition_links;
    backend
        .query_at(
            "textDocument/definition",
            params.text_document_position_params.clone(),
            move |conv, file, offset| {
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
            },
        )
        .await
}
