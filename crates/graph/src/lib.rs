//! The code knowledge graph.
//!
//! Entities (files, modules, types, functions, methods, fields, variables, imports) come
//! from extraction summaries; relations (contains, calls, references, imports, inherits,
//! implements) come from references, each resolved `exact`, `inferred`, `ambiguous` or
//! left `unresolved`. Updates are incremental: replacing chunks of one file re-resolves
//! only the references, anywhere, that read a name whose facts changed.
//!
//! Everything is in editor-neutral terms: file ids, byte ranges, entity ids.

pub mod cancel;
mod canon;
mod graph;
mod intern;
mod model;
mod modules;
mod query;
mod resolve;
mod restore;
mod search;
mod walk;

pub use graph::{FileInput, ResolveStep, SymbolGraph, UpdateStats};
pub use intern::{Interner, Name};
pub use model::{
    ChunkInfo, EdgeKind, Entity, EntityId, EntityLoc, FileData, FileId, How, ImportInfo, OptIdx,
    Recv, Ref, Resolution,
};
pub use modules::ModuleContext;
pub use query::{CallStep, EdgeStats, ExportEdge, ExportEntity, FileExport, RefLoc};
pub use search::{NameMatch, SearchMode, SymbolIndex};
pub use walk::{Reached, Walk};
