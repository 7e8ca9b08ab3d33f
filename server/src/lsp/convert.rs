//! Between the analysis's byte offsets and paths, and LSP's positions and URIs.

use std::path::PathBuf;

use codecontext_analysis::{Analysis, FileId, NavTarget, PositionEncoding, TextRange, WideLineCol};
use tower_lsp_server::{
    lsp_types::{Location, Position, Range, SymbolKind, Uri},
    UriExt,
};

/// Positions in one encoding over one analysis snapshot.
pub(crate) struct Conv<'a> {
    pub analysis: &'a Analysis<'a>,
    pub encoding: PositionEncoding,
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

    pub fn position(&self, file: FileId, offset: u32) -> Option<Position> {
        let index = self.analysis.line_index(file)?;
        let WideLineCol { line, col } = index.wide_of_offset(self.encoding, offset);
        Some(Position::new(line, col))
    }

    pub fn range(&self, file: FileId, range: TextRange) -> Option<Range> {
        Some(Range::new(
            self.position(file, range.start)?,
            self.position(file, range.end)?,
        ))
    }

    pub fn uri(&self, file: FileId) -> Option<Uri> {
        Uri::from_file_path(self.analysis.host().path(file)?)
    }

    pub fn location(&self, file: FileId, range: TextRange) -> Option<Location> {
        Some(Location::new(self.uri(file)?, self.range(file, range)?))
    }

    /// A target's whole range, widened if needed so that it holds the name (LSP requires
    /// the selection range inside the range).
    pub fn full_range(&self, t: &NavTarget) -> Option<(Range, Range)> {
        let whole = TextRange::new(
            t.range.start.min(t.focus.start),
            t.range.end.max(t.focus.end),
        );
        Some((self.range(t.file, whole)?, self.range(t.file, t.focus)?))
    }
}

pub(crate) fn path_of(uri: &Uri) -> Option<PathBuf> {
    uri.to_file_path().map(|p| p.into_owned())
}

/// The LSP kind of an entity kind (or `local`).
pub(crate) fn symbol_kind(kind: &str) -> SymbolKind {
    match kind {
        "file" => SymbolKind::FILE,
        "module" => SymbolKind::MODULE,
        "namespace" => SymbolKind::NAMESPACE,
        "package" => SymbolKind::PACKAGE,
        "class" => SymbolKind::CLASS,
        "struct" | "union" => SymbolKind::STRUCT,
        "enum" => SymbolKind::ENUM,
        "interface" | "trait" => SymbolKind::INTERFACE,
        "impl" => SymbolKind::OBJECT,
        "type_alias" => SymbolKind::TYPE_PARAMETER,
        "function" | "macro" => SymbolKind::FUNCTION,
        "method" => SymbolKind::METHOD,
        "constructor" => SymbolKind::CONSTRUCTOR,
        "field" => SymbolKind::FIELD,
        "constant" => SymbolKind::CONSTANT,
        "enum_member" => SymbolKind::ENUM_MEMBER,
        "import" => SymbolKind::MODULE,
        _ => SymbolKind::VARIABLE,
    }
}
