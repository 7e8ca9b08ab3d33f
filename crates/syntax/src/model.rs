//! What extraction produces: plain data about one chunk of a file, in byte offsets.
//! Nothing here refers to a syntax tree, so summaries outlive the trees they came from.

use codecontext_text::TextRange;
use serde::{Deserialize, Serialize};

/// The kinds of code entity the knowledge graph knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    File,
    Module,
    Namespace,
    Package,
    Class,
    Struct,
    Enum,
    Union,
    Interface,
    Trait,
    Impl,
    TypeAlias,
    Function,
    Method,
    Constructor,
    Field,
    Constant,
    Variable,
    EnumMember,
    Macro,
    Import,
}

impl EntityKind {
    /// The kind named by a `@definition.<kind>` capture.
    pub fn from_capture(kind: &str) -> Option<EntityKind> {
        Some(match kind {
            "module" => EntityKind::Module,
            "namespace" => EntityKind::Namespace,
            "package" => EntityKind::Package,
            "class" => EntityKind::Class,
            "struct" => EntityKind::Struct,
            "enum" => EntityKind::Enum,
            "union" => EntityKind::Union,
            "interface" => EntityKind::Interface,
            "trait" => EntityKind::Trait,
            "impl" => EntityKind::Impl,
            "type" => EntityKind::TypeAlias,
            "function" => EntityKind::Function,
            "method" => EntityKind::Method,
            "constructor" => EntityKind::Constructor,
            "field" => EntityKind::Field,
            "constant" => EntityKind::Constant,
            "variable" => EntityKind::Variable,
            "enum_member" => EntityKind::EnumMember,
            "macro" => EntityKind::Macro,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::File => "file",
            EntityKind::Module => "module",
            EntityKind::Namespace => "namespace",
            EntityKind::Package => "package",
            EntityKind::Class => "class",
            EntityKind::Struct => "struct",
            EntityKind::Enum => "enum",
            EntityKind::Union => "union",
            EntityKind::Interface => "interface",
            EntityKind::Trait => "trait",
            EntityKind::Impl => "impl",
            EntityKind::TypeAlias => "type_alias",
            EntityKind::Function => "function",
            EntityKind::Method => "method",
            EntityKind::Constructor => "constructor",
            EntityKind::Field => "field",
            EntityKind::Constant => "constant",
            EntityKind::Variable => "variable",
            EntityKind::EnumMember => "enum_member",
            EntityKind::Macro => "macro",
            EntityKind::Import => "import",
        }
    }

    /// Types: their members are looked up through `self`, `this` and receivers.
    pub fn is_type(self) -> bool {
        matches!(
            self,
            EntityKind::Class
                | EntityKind::Struct
                | EntityKind::Enum
                | EntityKind::Union
                | EntityKind::Interface
                | EntityKind::Trait
                | EntityKind::Impl
        )
    }

    /// Code that runs: the source of `calls` edges.
    pub fn is_callable(self) -> bool {
        matches!(
            self,
            EntityKind::Function | EntityKind::Method | EntityKind::Constructor | EntityKind::Macro
        )
    }

    /// Entities that hold module-level names (a file, an inline module, a namespace).
    pub fn is_module_like(self) -> bool {
        matches!(
            self,
            EntityKind::File | EntityKind::Module | EntityKind::Namespace | EntityKind::Package
        )
    }

    /// Kinds that live inside a type and are reached through a receiver.
    pub fn is_member(self) -> bool {
        matches!(
            self,
            EntityKind::Method
                | EntityKind::Constructor
                | EntityKind::Field
                | EntityKind::EnumMember
        )
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An import statement's meaning, for import entities.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImportData {
    /// The module path as written (`..pkg.mod`, `./util`, `crate::a::b`, `fmt`).
    pub path: String,
    /// The imported symbol, if the import names one (`from m import name`).
    pub name: Option<String>,
    /// Everything the module exports is imported (`*`).
    pub glob: bool,
    /// The binding is re-exported from this module (`export {x} from`, `pub use`).
    pub export: bool,
    /// A default import (`import x from './m'`).
    pub default: bool,
    /// A child module declared by name (Rust `mod foo;`).
    pub submodule: bool,
}

/// A definition found in a chunk.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EntityData {
    pub kind: EntityKind,
    pub name: String,
    /// The whole definition.
    pub range: TextRange,
    /// The name, or what a user would select to mean this entity.
    pub selection: TextRange,
    /// Index of the containing entity among the chunk's entities (always earlier);
    /// `None` means the file.
    pub container: Option<u32>,
    /// The declaration up to its body, whitespace collapsed.
    pub signature: String,
    /// First line of the doc comment or docstring.
    pub doc: Option<String>,
    /// Declared type (fields, variables) or return type (functions), as a plain name.
    pub type_name: Option<String>,
    /// The type this definition is a member of when it is declared outside the type
    /// (Go methods: `func (s *Server) Run()` belongs to `Server`).
    pub owner: Option<String>,
    /// For imports: what is imported.
    pub import: Option<ImportData>,
    /// The definition has a body (not an overload signature or abstract declaration).
    pub has_body: bool,
    /// For a function, method or constructor whose body has at least
    /// [`crate::shape::MIN_NODES`] named nodes: the body's shape, a hash of its syntax
    /// with names and literals left out, equal for copies even when renamed; 0 otherwise.
    #[serde(default)]
    pub shape: u64,
}

/// How a reference is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    /// A name that is read, written or passed along.
    Read,
    /// A call site; the edge is `calls`.
    Call,
    /// A type position.
    Type,
    /// A base class or extended interface; the edge is `inherits`.
    Inherits,
    /// An implemented interface or trait; the edge is `implements`.
    Implements,
    /// The imported name inside an import statement.
    ImportName,
    /// A segment of an imported module path; its name is the path up to that segment.
    ImportPath,
}

impl RefKind {
    /// Merge precedence when several query patterns capture the same name node.
    pub(crate) fn rank(self) -> u8 {
        match self {
            RefKind::Read => 0,
            RefKind::Type => 1,
            RefKind::Call => 2,
            RefKind::Inherits | RefKind::Implements => 3,
            RefKind::ImportName | RefKind::ImportPath => 4,
        }
    }
}

/// What the expression before a `.` or `::` is, as far as syntax alone can tell.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Receiver {
    /// No receiver: a bare name.
    None,
    /// `self`, `this`, `Self`: the enclosing type.
    SelfType,
    /// `super`, `super()`: the bases of the enclosing type.
    SuperType,
    /// A local variable or parameter whose declared or constructed type is known.
    Type(String),
    /// Another reference of the same chunk (index among the chunk's refs, earlier).
    Ref(u32),
    /// A module path keyword (`crate`, `self`, `super` in `crate::a::b`).
    ModulePath(String),
    /// An expression we cannot type (a literal, a call on an unknown value, an untyped local).
    Unknown,
}

/// A use of a name that may lead outside its function.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RefData {
    pub kind: RefKind,
    pub name: String,
    /// The name node.
    pub range: TextRange,
    pub receiver: Receiver,
    /// The innermost entity containing the reference (the edge's source); `None` = file.
    pub source: Option<u32>,
    /// Set when local scopes already lead to an entity of this chunk (a nested function).
    pub local_target: Option<u32>,
    /// For import names and paths: the import entity (index among the chunk's entities).
    pub import: Option<u32>,
}

/// A variable or parameter that lives inside a function or block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalDef {
    pub name: String,
    pub range: TextRange,
    /// The scope the binding belongs to.
    pub scope: TextRange,
    pub type_name: Option<String>,
    /// The entity this binding names, if it is one (a nested function).
    pub entity: Option<u32>,
}

/// Local bindings of a chunk and the uses that resolve to them; computed on demand.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalBindings {
    pub defs: Vec<LocalDef>,
    /// `(use range, index into defs)`, sorted by range.
    pub uses: Vec<(TextRange, u32)>,
}

/// A tree-sitter `ERROR` or `MISSING` node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyntaxError {
    pub range: TextRange,
    pub message: String,
}

/// Everything extracted from one chunk (a top-level item with its leading comments).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkSummary {
    pub range: TextRange,
    /// In document order; containers come before what they contain.
    pub entities: Vec<EntityData>,
    /// Sorted by range start.
    pub refs: Vec<RefData>,
    pub errors: Vec<SyntaxError>,
    /// A package declaration found in this chunk (Java `package`, Go `package`).
    pub package: Option<String>,
    /// Present only when extraction was asked to keep local bindings.
    pub locals: Option<LocalBindings>,
    /// The distinct words of the chunk's text, hashed and sorted
    /// ([`codecontext_text::tokens`]): the pattern search's prefilter.
    pub tokens: Vec<u32>,
}

impl ChunkSummary {
    /// Moves every range by `delta` bytes (the chunk moved after an edit before it).
    pub fn shift(&mut self, delta: i64) {
        if delta == 0 {
            return;
        }
        self.range = self.range.shifted(delta);
        for e in &mut self.entities {
            e.range = e.range.shifted(delta);
            e.selection = e.selection.shifted(delta);
        }
        for r in &mut self.refs {
            r.range = r.range.shifted(delta);
        }
        for e in &mut self.errors {
            e.range = e.range.shifted(delta);
        }
        if let Some(locals) = &mut self.locals {
            for d in &mut locals.defs {
                d.range = d.range.shifted(delta);
                d.scope = d.scope.shifted(delta);
            }
            for (r, _) in &mut locals.uses {
                *r = r.shifted(delta);
            }
        }
    }
}

/// All chunks of a file, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSummary {
    pub chunks: Vec<ChunkSummary>,
}

impl FileSummary {
    pub fn package(&self) -> Option<&str> {
        self.chunks.iter().find_map(|c| c.package.as_deref())
    }

    pub fn errors(&self) -> impl Iterator<Item = &SyntaxError> {
        self.chunks.iter().flat_map(|c| c.errors.iter())
    }
}
