//! The analysis API, in editor terms and free of any protocol.
//!
//! [`AnalysisHost`] owns the knowledge graph and the open documents; it is the one
//! place where changes are applied, in the order they arrive. [`Analysis`] is a
//! read-only view that answers queries: symbol search, definitions, references, call
//! hierarchies, outlines, imports, dependents, and the tests an edit can affect. The LSP server, the CLI and later the
//! MCP server are thin adapters over these two types.

mod affected;
mod host;
mod nav;
pub mod persist;
mod restore;
pub mod workspace;

pub use affected::{Affected, AffectedTest, EditScope};
pub use codecontext_graph::cancel;
pub use codecontext_graph::{
    EdgeKind, EntityId, EntityLoc, ExportEdge, ExportEntity, FileExport, FileId, FileInput, How,
    Reached, RefLoc, ResolveStep, SearchMode, Walk,
};
pub use codecontext_syntax::{
    DocumentChange, EntityKind, Limits, RefKind, SkipReason, SyntaxError,
};
pub use codecontext_text::{LineCol, PositionEncoding, TextRange, WideLineCol};
pub use host::{
    edit_document, load_batch, load_batch_reusing, AnalysisHost, ChangeError, EdgesReport,
    EditedDocument, EditingDocument, HostConfig, IndexReport, LoadedBatch, OpenPlan, OpenStep,
    OpenedDocument, Opening, Progress, Reload, ReloadPlan, Reloaded, Reuse, Skipped, Timings,
    BATCH,
};
pub use nav::{
    Analysis, CallInfo, Definitions, ImportInfo, Location, NavTarget, OutlineItem, References,
    Usage,
};
pub use restore::{decode_snapshot, encode_snapshot, snapshot_key};
