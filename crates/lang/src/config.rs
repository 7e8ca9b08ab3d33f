//! The settings in `queries/<lang>/language.toml`, and the capture vocabulary that the
//! query files of every language share.

use serde::Deserialize;

/// How files map to modules and how import paths find files. Languages that share an
/// import system share a scheme; a language with a new import system adds one in the
/// graph crate's `modules` module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ModuleScheme {
    /// Dotted packages from directories, `__init__.py`, relative imports with dots.
    Python,
    /// Relative specifiers (`./x`, `../y`) with extension and `index` file lookup.
    Node,
    /// `crate::`/`self::`/`super::` paths over `src/` files and `mod.rs`.
    Rust,
    /// A package is a directory; import paths end in the directory's path.
    Go,
    /// A package is declared in the file; classes are found by package and name.
    Java,
    /// No imports: files only see their own names and the workspace by name.
    #[default]
    None,
}

/// Where macro invocations may hold items, and how the grammar names them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemMacros {
    /// The invocation's node kind (`macro_invocation`).
    pub invocation: String,
    /// Its body's node kind (`token_tree`); only a body in braces is read as items.
    pub body: String,
    /// Node kinds whose children are items (`source_file`, `declaration_list`): an
    /// invocation there is in item position.
    pub holders: Vec<String>,
    /// Node kinds under which items are looked for (`mod_item`, `impl_item`, ...), with
    /// the holders.
    pub descend: Vec<String>,
}

/// Everything about a language that its query files do not say.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageConfig {
    /// Folder name under `queries/`, used in output (`python`, `tsx`, ...).
    pub name: String,
    /// Rust path of the grammar crate's `LanguageFn`; read by `build.rs`.
    pub grammar: String,
    /// File extensions without the dot.
    pub extensions: Vec<String>,
    /// Languages whose queries are prepended to this one's.
    #[serde(default)]
    pub inherits: Vec<String>,
    #[serde(default)]
    pub module_scheme: ModuleScheme,
    /// Joins the segments of qualified names (`.` or `::`).
    #[serde(default = "dot")]
    pub separator: String,
    /// Receivers that mean "the enclosing type" (`self`, `this`, `Self`).
    #[serde(default)]
    pub self_names: Vec<String>,
    /// Receivers that mean "the bases of the enclosing type" (`super`, `super()`).
    #[serde(default)]
    pub super_names: Vec<String>,
    /// Parent node kinds in which a receiver is a module path (`a::b`), where the
    /// keywords in `path_keywords` name modules rather than values.
    #[serde(default)]
    pub path_kinds: Vec<String>,
    #[serde(default)]
    pub path_keywords: Vec<String>,
    /// A bare name that nothing in scope defines may name a module (Rust: extern crates
    /// and sibling modules are in scope without an import). Only names that start in
    /// lowercase are tried: module names do.
    #[serde(default)]
    pub bare_names_as_modules: bool,
    /// Every binding declares (Python): a name's definitions are all its bindings in
    /// its scope (locals, repeated `self.x =` fields, redefinitions), not only the one
    /// that reaches the use; fields are not merged into their first assignment.
    #[serde(default)]
    pub all_declarations: bool,
    /// Node kinds of literals (`string`, `list`, ...): a receiver or a local initialised
    /// with one has a built-in type, so its members are not looked up by name.
    #[serde(default)]
    pub literal_kinds: Vec<String>,
    /// `[node kind, field]` of a keyword argument's name in a call (`f(x=1)`): it names a
    /// parameter of the callee.
    #[serde(default)]
    pub keyword_argument: Option<[String; 2]>,
    /// Names every module has without defining them (`__name__`): they lead to the
    /// module itself.
    #[serde(default)]
    pub module_attributes: Vec<String>,
    /// A member of a receiver whose type is unknown resolves by member name across the
    /// workspace (`inferred` when one type has it, `ambiguous` otherwise). Off, such
    /// members stay unresolved.
    #[serde(default = "yes")]
    pub member_name_fallback: bool,
    /// Definitions of an overloaded function or method are its implementation, not its
    /// overload signatures (TypeScript).
    #[serde(default)]
    pub prefer_implementations: bool,
    /// `new C()` leads to the class and its constructor.
    #[serde(default)]
    pub calls_include_constructors: bool,
    /// Calls without a receiver never name a local variable (Java: methods and
    /// variables live in separate namespaces).
    #[serde(default)]
    pub calls_skip_locals: bool,
    /// Bare names inside a class see its members without `this.` (Java).
    #[serde(default)]
    pub implicit_member_scope: bool,
    /// A bare name that no scope or import defines may resolve to a definition
    /// anywhere in the workspace with that name (`inferred` or `ambiguous`). Off for
    /// languages where every name must be imported.
    #[serde(default)]
    pub bare_name_fallback: bool,
    /// Every import is also a name other modules can import from this one (Python,
    /// Rust within a crate); otherwise only imports marked `@import.export` are.
    #[serde(default)]
    pub imports_are_exports: bool,
    /// Node kinds that are comments, for doc comments and chunk boundaries.
    #[serde(default)]
    pub comment_kinds: Vec<String>,
    /// Node kinds that, like comments, belong to the item after them (Rust
    /// `#[attributes]`): they start that item's chunk.
    #[serde(default)]
    pub prefix_kinds: Vec<String>,
    /// Macro invocations in item position whose bodies hold items (Rust's
    /// `cfg_rt! { pub fn spawn() {} }`): the grammar sees a token tree, the index the
    /// items.
    #[serde(default)]
    pub item_macros: Option<ItemMacros>,
    /// Leading characters with which a top-level statement may continue the previous
    /// one (JavaScript's automatic semicolons: `a\n(b)` is a call). An edit near such
    /// a boundary reparses the whole file instead of only its chunk.
    #[serde(default)]
    pub statement_continuations: Vec<String>,
    /// A comment is a doc comment only if it starts with one of these; empty = any.
    #[serde(default)]
    pub doc_comment_prefixes: Vec<String>,
    /// Node kinds that wrap a definition and carry its doc comment before them
    /// (`export_statement`, `decorated_definition`, ...).
    #[serde(default)]
    pub doc_wrapper_kinds: Vec<String>,
    /// Fields whose child is a definition's body; its signature stops there.
    #[serde(default = "body_fields")]
    pub body_fields: Vec<String>,
    /// Node kinds a user can click to go to a definition.
    pub identifier_kinds: Vec<String>,
    /// `[node kind, field]` pairs whose field is a path prefix for the imports nested in
    /// them (Rust `use a::{b, c}`).
    #[serde(default)]
    pub import_prefix: Vec<[String; 2]>,
    /// Generic types that a receiver's type is unwrapped from (`Option<T>` -> `T`).
    #[serde(default)]
    pub type_wrappers: Vec<String>,
    /// Node kinds whose local bindings are self-contained: nothing around them binds a
    /// name their body can see as a local (Python functions: class bodies are not
    /// scopes). A query about a local reads only the outermost such node around it,
    /// not its whole chunk (a large class). Leave empty where an enclosing item binds
    /// locals (Rust `impl<T>`, Java and TypeScript class type parameters).
    #[serde(default)]
    pub local_roots: Vec<String>,
    /// What the quality metrics of a function count (see `codecontext-assess`).
    #[serde(default)]
    pub quality: QualityKinds,
    /// How structural search patterns are written in this language.
    #[serde(default)]
    pub search: SearchSyntax,
}

/// How structural search patterns (`$X.unwrap()`) are written in a language, and what
/// usage patterns need to know of its expressions.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSyntax {
    /// The character that stands for `$` when the pattern is parsed, for grammars in
    /// which `$` cannot start an identifier (Rust, Python, Go: `µ`). None: `$` itself.
    #[serde(default)]
    pub expando: Option<char>,
    /// Other names users give the language in patterns and rule files (`rs`, `py`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Node kinds of anonymous functions (`lambda`, closures, arrow functions): how
    /// usage patterns name an argument that is one.
    #[serde(default)]
    pub lambdas: Vec<String>,
    /// Patterns that parse, alone, as something other than what they mean in code.
    #[serde(default)]
    pub reparse: Vec<Reparse>,
}

/// A pattern whose node is `kind` when parsed alone is parsed again inside `context`
/// (`prefix`, the pattern, `suffix`), and its `selector` node is the pattern. Go:
/// `fmt.Println($A)` alone is a type conversion; inside a function body, a call.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reparse {
    pub kind: String,
    pub context: [String; 2],
    pub selector: String,
}

/// The node kinds behind a function's complexity: cyclomatic complexity is one plus
/// its decisions (`branches`, and boolean operators); cognitive complexity counts each
/// branch one plus how deeply it is nested, each `continuations` (a plain `else`) and
/// each boolean operator one; nesting is how deep `nesting` kinds go.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct QualityKinds {
    /// Decisions: conditionals, loops, cases, catches, conditional expressions.
    #[serde(default)]
    pub branches: Vec<String>,
    /// Decisions that continue another and add no nesting (Python `elif`).
    #[serde(default)]
    pub flat_branches: Vec<String>,
    /// Another way through a decision that is not one itself (`else`); one holding a
    /// branch is an `else if`, counted once, without nesting.
    #[serde(default)]
    pub continuations: Vec<String>,
    /// Nodes that are a boolean operator whatever their text (Python `boolean_operator`).
    #[serde(default)]
    pub boolean_kinds: Vec<String>,
    /// Binary expressions, a boolean operator when their `operator` is in `boolean_operators`.
    #[serde(default)]
    pub binary_kinds: Vec<String>,
    #[serde(default)]
    pub boolean_operators: Vec<String>,
    /// What nests: code inside one of these is one level deeper.
    #[serde(default)]
    pub nesting: Vec<String>,
    /// Loops: what is inside one's `body` (or, without a body, inside it) runs once per
    /// iteration.
    #[serde(default)]
    pub loops: Vec<String>,
    /// Methods that call their function arguments once per element (`forEach`, `map`):
    /// their arguments are inside a loop.
    #[serde(default)]
    pub loop_methods: Vec<String>,
    /// Expressions that allocate whatever their text (`new X()`, a list literal).
    #[serde(default)]
    pub allocations: Vec<String>,
    /// Calls that allocate, by the callee's last name (`clone`, `make`, `format!`).
    #[serde(default)]
    pub allocating_calls: Vec<String>,
    /// The literals that are no value (`none`, `null`, `nil`); none in a language
    /// without one (Rust).
    #[serde(default)]
    pub nulls: Vec<String>,
    /// Where a name is dereferenced, as `kind.field`: the `field` child of a `kind` node
    /// (`attribute.object` for Python's `x.y`): no value there fails.
    #[serde(default)]
    pub dereferences: Vec<String>,
}

fn yes() -> bool {
    true
}

fn dot() -> String {
    ".".to_string()
}

fn body_fields() -> Vec<String> {
    vec!["body".to_string()]
}

/// Kinds that may follow `@definition.` in a query.
pub const DEFINITION_KINDS: &[&str] = &[
    "module",
    "namespace",
    "package",
    "class",
    "struct",
    "enum",
    "union",
    "interface",
    "trait",
    "impl",
    "type",
    "function",
    "method",
    "constructor",
    "field",
    "constant",
    "variable",
    "enum_member",
    "macro",
];

/// Kinds that may follow `@reference.` in a query.
pub const REFERENCE_KINDS: &[&str] = &[
    "call",
    "type",
    "class",
    "member",
    "inherits",
    "implementation",
    "read",
    "macro",
];

/// Captures with a fixed meaning in every language's queries.
pub const PLAIN_CAPTURES: &[&str] = &[
    "name",
    "doc",
    "type",
    "receiver",
    "local.scope",
    "local.definition",
    "local.type",
    "local.reference",
    "import",
    "import.path",
    "import.name",
    "import.alias",
    "import.glob",
    "import.export",
    "import.default",
    "import.submodule",
    "package",
    "skip",
    "owner",
];

/// True for every capture name the extractor understands; `_`-prefixed captures are
/// helpers for predicates and ignored.
pub fn is_known_capture(name: &str) -> bool {
    if name.starts_with('_') || PLAIN_CAPTURES.contains(&name) {
        return true;
    }
    if let Some(kind) = name.strip_prefix("definition.") {
        return DEFINITION_KINDS.contains(&kind);
    }
    if let Some(kind) = name.strip_prefix("reference.") {
        return REFERENCE_KINDS.contains(&kind);
    }
    if let Some(rest) = name.strip_prefix("local.definition.") {
        return !rest.is_empty();
    }
    false
}
