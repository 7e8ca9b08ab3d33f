//! From the analysis's answers to LSP: byte offsets to positions in the session's
//! encoding, files to URIs, navigation targets to locations, call hierarchy items and
//! symbols.

use codecontext_analysis::{
    Analysis, CallInfo, FileId, NavTarget, OutlineItem, PositionEncoding, TextRange, WideLineCol,
};
use codecontext_text::LineIndex;
use serde_json::json;
use tower_lsp_server::{
    lsp_types::{
        CallHierarchyItem, DocumentSymbol, Location, Position, Range, SymbolInformation,
        SymbolKind, Uri,
    },
    UriExt,
};

/// Positions in one encoding over one analysis snapshot.
pub(crate) struct Conv<'a> {
    pub analysis: &'a Analysis<'a>,
    pub encoding: PositionEncoding,
}

impl Conv<'_> {
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

pub(crate) fn nav_location(conv: &Conv<'_>, t: &NavTarget) -> Option<Location> {
    conv.location(t.file, t.focus)
}

pub(crate) fn call_item(conv: &Conv<'_>, t: &NavTarget) -> Option<CallHierarchyItem> {
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

/// Callers or callees as LSP calls: the other end and the call sites.
pub(crate) fn calls<T>(
    conv: &Conv<'_>,
    infos: Vec<CallInfo>,
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

#[allow(deprecated)] // `DocumentSymbol::deprecated`
/// An outline as LSP document symbols, with positions in `encoding` from the file's
/// line index: needs nothing else of the analysis, so that a large outline is
/// converted after the analysis' lock is let go.
pub(crate) fn document_symbols(
    index: &LineIndex,
    encoding: PositionEncoding,
    items: &[OutlineItem],
) -> Vec<DocumentSymbol> {
    let position = |offset: u32| {
        let WideLineCol { line, col } = index.wide_of_offset(encoding, offset);
        Position::new(line, col)
    };
    let range = |r: TextRange| Range::new(position(r.start), position(r.end));
    items
        .iter()
        .filter(|i| i.target.kind != "import")
        .map(|i| {
            let t = &i.target;
            let whole = TextRange::new(
                t.range.start.min(t.focus.start),
                t.range.end.max(t.focus.end),
            );
            DocumentSymbol {
                name: t.name.clone(),
                detail: t.signature.clone(),
                kind: symbol_kind(&t.kind),
                tags: None,
                deprecated: None,
                range: range(whole),
                selection_range: range(t.focus),
                children: Some(document_symbols(index, encoding, &i.children)),
            }
        })
        .collect()
}

#[allow(deprecated)] // `SymbolInformation::deprecated`
pub(crate) fn symbol_information(conv: &Conv<'_>, t: &NavTarget) -> Option<SymbolInformation> {
    Some(SymbolInformation {
        name: t.name.clone(),
        kind: symbol_kind(&t.kind),
        tags: None,
        deprecated: None,
        location: conv.location(t.file, t.focus)?,
        container_name: t.container.clone(),
    })
}
