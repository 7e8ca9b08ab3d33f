//! From LSP to the analysis: URIs to paths and files, positions in the session's
//! encoding to byte offsets, call hierarchy items back to entities.

use std::path::PathBuf;

use codecontext_analysis::{EntityId, FileId};
use tower_lsp_server::{
    jsonrpc::{Error, Result},
    lsp_types::{CallHierarchyItem, Position, Uri},
    UriExt,
};

use super::to_proto::Conv;

pub(crate) fn path_of(uri: &Uri) -> Option<PathBuf> {
    uri.to_file_path().map(|p| p.into_owned())
}

/// The path a custom request's `file` names when it is a `file:` URI; `None` for anything
/// else (a path, relative to a workspace folder or absolute, is taken as it is).
pub(crate) fn path_of_file_uri(file: &str) -> Option<PathBuf> {
    file.parse::<Uri>()
        .ok()
        .filter(|u| u.scheme().is_some_and(|s| s.as_str() == "file"))
        .and_then(|u| path_of(&u))
}

impl Conv<'_> {
    /// The indexed file behind a URI, if any.
    pub fn file(&self, uri: &Uri) -> Option<FileId> {
        let path = path_of(uri)?;
        self.analysis.host().file_id(&path)
    }

    /// The byte offset of a position; positions past the end of a line or of the file
    /// are clamped, as LSP prescribes.
    pub fn offset(&self, file: FileId, pos: Position) -> Option<u32> {
        self.analysis
            .offset(file, pos.line, pos.character, self.encoding)
    }
}

/// The entity behind a call hierarchy item this server made.
pub(crate) fn entity_of(item: &CallHierarchyItem) -> Result<EntityId> {
    item.data
        .as_ref()
        .and_then(|d| d.get("entity")?.as_str()?.parse().ok())
        .map(EntityId)
        .ok_or_else(|| Error::invalid_params("the call hierarchy item was not made by this server"))
}
