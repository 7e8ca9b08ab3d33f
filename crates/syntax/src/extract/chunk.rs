//! One chunk's matches turned into its [`ChunkSummary`]: entities (definitions, imports,
//! file-level bindings) with their containers, docs and signatures; references with their
//! receivers; local scopes and bindings; syntax errors. [`ChunkBuilder::build`] runs the
//! steps in order, each a method or function of its own.

use codecontext_lang::{Language, LanguageConfig};
use codecontext_text::TextRange;
use rustc_hash::{FxHashMap, FxHashSet};
use tree_sitter::Node;

use super::{
    ancestry::Ancestry,
    lookup::{Cover, LastReaching},
    module_binding_name, ExtractOptions, ImportItem, Item,
};
use crate::{
    model::{
        ChunkSummary, EntityData, EntityKind, ImportData, LocalBindings, LocalDef, Receiver,
        RefData, RefKind, SyntaxError,
    },
    typename::{doc_first_line, normalize_type, signature_text},
};

/// At most this many syntax errors are kept per chunk.
const MAX_ERRORS_PER_CHUNK: usize = 64;

/// An import under more than this many path prefixes (Rust `use a::{b::{c::{...}}}`) is
/// left out, with a syntax error saying so: each import carries its whole path and
/// claims its prefixes, so every import of a list nested N deep would cost N.
const MAX_IMPORT_PREFIXES: usize = 32;

/// At most this many segments of one import's path are references of their own (each
/// carries the path up to it, so all segments of a path N long would carry N²/2).
const MAX_IMPORT_PATH_REFS: usize = 64;

/// A candidate entity before containers are assigned.
struct EntityCandidate<'t> {
    pattern: usize,
    data: EntityData,
    node: Option<Node<'t>>,
    doc_node: Option<Node<'t>>,
    import: Option<usize>,
}

/// The entity candidates found so far, and where each is by selection range (a name
/// node matched twice makes one entity).
#[derive(Default)]
struct EntityCandidates<'t> {
    list: Vec<EntityCandidate<'t>>,
    by_selection: FxHashMap<TextRange, usize>,
}

/// The matches of one chunk, grouped by what they are.
struct ChunkItems<'t> {
    /// The `Item::Def`s.
    defs: Vec<Item<'t>>,
    /// The `Item::Ref`s.
    refs: Vec<Item<'t>>,
    imports: Vec<ImportItem<'t>>,
    /// Local scopes, except the root.
    scopes: Vec<Node<'t>>,
    /// Local bindings, with their `@local.type` nodes.
    local_defs: Vec<(Node<'t>, Option<Node<'t>>)>,
    local_refs: Vec<Node<'t>>,
    /// Standalone doc captures (docstrings).
    docs: Vec<Node<'t>>,
    /// Ranges no reference is taken from.
    skips: Vec<TextRange>,
    /// The first package declaration, trimmed.
    package: Option<String>,
}

/// What the imports of a chunk leave to the later steps.
#[derive(Default)]
struct ImportParts {
    /// The ranges of import nodes: no local binding or reference comes from them.
    claimed: Vec<TextRange>,
    /// Import names and path segments: (kind, range, name, import index).
    refs: Vec<(RefKind, TextRange, String, usize)>,
    /// The first import left out for its nesting (see [`MAX_IMPORT_PREFIXES`]).
    too_deep: Option<TextRange>,
}

/// The references decided so far: those kept for the graph, and the uses of local
/// bindings.
#[derive(Default)]
struct ResolvedRefs {
    kept: Vec<RefData>,
    uses: Vec<(TextRange, u32)>,
}

/// Local bindings by scope and name, each list in order of the bindings.
type ScopeDefs<'l> = FxHashMap<(TextRange, &'l str), Vec<usize>>;

/// Builds the summary of one chunk from its matches.
pub(super) struct ChunkBuilder<'a, 't> {
    config: &'a LanguageConfig,
    text: &'a str,
    range: TextRange,
    root: Node<'t>,
    options: ExtractOptions,
}

/// A reference before indices are final.
struct RefCandidate<'t> {
    kind: RefKind,
    name: Node<'t>,
    exprs: Vec<Node<'t>>,
    receiver: Option<Node<'t>>,
    /// The receiver's declared type, when the pattern names it instead of an expression.
    receiver_type: Option<Node<'t>>,
}

/// What became of a reference candidate.
#[derive(Clone, Debug)]
enum RefFate {
    /// Kept for the graph, at this position of the sorted list of kept refs.
    Kept(usize),
    /// A use of a local binding (index into local defs).
    Local(usize),
}

impl<'a, 't> ChunkBuilder<'a, 't> {
    pub(super) fn new(
        lang: &'a Language,
        text: &'a str,
        range: TextRange,
        root: Node<'t>,
        options: ExtractOptions,
    ) -> Self {
        ChunkBuilder {
            config: &lang.config,
            text,
            range,
            root,
            options,
        }
    }

    fn text_of(&self, node: Node<'_>) -> &'a str {
        &self.text[node.byte_range()]
    }

    fn range_of(node: Node<'_>) -> TextRange {
        TextRange::from_usize(node.byte_range())
    }

    /// The type name of a `@type`/`@local.type` node: a literal's built-in type, or the
    /// type expression reduced to a name.
    fn type_of(&self, node: Node<'_>) -> Option<String> {
        if self.config.literal_kinds.iter().any(|k| k == node.kind()) {
            return Some(crate::EXTERNAL_TYPE.to_string());
        }
        normalize_type(self.text_of(node), &self.config.type_wrappers)
    }

    fn is_comment(&self, node: Node<'_>) -> bool {
        self.config.comment_kinds.iter().any(|k| k == node.kind())
    }

    /// The summary of the chunk whose matches are `items`.
    /// `tops` are the root's children in the chunk, where syntax errors are looked for.
    pub(super) fn build(self, items: Vec<Item<'t>>, tops: Vec<Node<'t>>) -> ChunkSummary {
        let ChunkItems {
            defs,
            refs,
            imports,
            mut scopes,
            local_defs,
            local_refs,
            docs,
            skips,
            package,
        } = self.group_items(items);

        // Parents and siblings come from here, not from `Node::parent` (see `ancestry`).
        let mut ancestry = Ancestry::new(self.root, &tops, &self.config.import_prefix);

        // Entities: definitions, imports, file-level bindings; then their containers.
        let mut candidates = EntityCandidates::default();
        self.add_definitions(defs, &mut candidates);
        let mut import_parts = ImportParts::default();
        self.add_imports(&imports, &mut ancestry, &mut candidates, &mut import_parts);
        let claimed = Cover::new(import_parts.claimed.iter().copied());
        sort_scopes(&mut scopes);
        let tree = ScopeTree::new(&scopes);
        let mut locals: Vec<LocalDef> = Vec::new();
        self.add_local_defs(
            local_defs,
            &tree,
            &claimed,
            &mut ancestry,
            &mut candidates,
            &mut locals,
        );
        order_candidates(&mut candidates.list);
        let (entities, import_slots) =
            self.assign_containers(candidates.list, &docs, &mut ancestry);
        link_locals_to_entities(&entities, &mut locals);
        let scope_defs = locals_by_scope(&locals);
        let bindings = tree.bindings(&scope_defs, &locals);

        // References: gathered, resolved (receivers, locals), imports added, ordered.
        let mut ref_cands: Vec<RefCandidate<'t>> = Vec::new();
        let claimed_or_skipped = Cover::new(import_parts.claimed.iter().chain(&skips).copied());
        Self::collect_refs(
            refs,
            local_refs,
            &entities,
            &locals,
            &claimed_or_skipped,
            &mut ref_cands,
        );
        let mut resolved = ResolvedRefs::default();
        self.resolve_refs(
            &ref_cands,
            &tree,
            &bindings,
            &locals,
            &mut ancestry,
            &mut resolved,
        );
        let ResolvedRefs { mut kept, mut uses } = resolved;
        add_import_refs(import_parts.refs, &entities, &import_slots, &mut kept);
        let mut sorted = sort_by_position(&kept);
        self.assign_sources(&entities, &mut sorted);

        let mut errors = self.errors(&tops);
        if let Some(range) = import_parts.too_deep {
            errors.push(SyntaxError {
                range,
                message: format!(
                    "imports nested more than {MAX_IMPORT_PREFIXES} lists deep are not indexed"
                ),
            });
        }
        let locals = self.options.keep_locals.then(|| {
            uses.sort();
            LocalBindings { defs: locals, uses }
        });
        ChunkSummary {
            range: self.range,
            entities,
            refs: sorted,
            errors,
            package,
            locals,
            tokens: codecontext_text::tokens::token_set(&self.text[self.range.as_usize()]),
        }
    }

    /// Groups the matches of the chunk by what they are; keeps the first package name.
    fn group_items(&self, items: Vec<Item<'t>>) -> ChunkItems<'t> {
        let mut defs = Vec::new();
        let mut refs = Vec::new();
        let mut imports = Vec::new();
        let mut scopes = Vec::new();
        let mut local_defs: Vec<(Node<'t>, Option<Node<'t>>)> = Vec::new();
        let mut local_refs = Vec::new();
        let mut docs = Vec::new();
        let mut skips = Vec::new();
        let mut package = None;
        for item in items {
            match item {
                Item::Def { .. } => defs.push(item),
                Item::Ref { .. } => refs.push(item),
                Item::Import(i) => imports.push(i),
                Item::Scope(n) => {
                    if n.id() != self.root.id() {
                        scopes.push(n)
                    }
                }
                Item::LocalDef { node, ty } => local_defs.push((node, ty)),
                Item::LocalRef(n) => local_refs.push(n),
                Item::Doc(n) => docs.push(n),
                Item::Package(n) => {
                    package.get_or_insert_with(|| self.text_of(n).trim().to_string());
                }
                Item::Skip(n) => skips.push(Self::range_of(n)),
            }
        }
        ChunkItems {
            defs,
            refs,
            imports,
            scopes,
            local_defs,
            local_refs,
            docs,
            skips,
            package,
        }
    }

    /// Makes entity candidates of the definition matches, one per name node: of several
    /// matches of one name, the earliest pattern gives the kind and range, and the others
    /// fill in a type, doc or owner it lacks.
    fn add_definitions(&self, defs: Vec<Item<'t>>, candidates: &mut EntityCandidates<'t>) {
        let EntityCandidates {
            list: candidates,
            by_selection,
        } = candidates;
        for item in defs {
            let Item::Def {
                pattern,
                kind,
                node,
                name,
                doc,
                ty,
                owner,
            } = item
            else {
                continue;
            };
            let owner =
                owner.and_then(|o| normalize_type(self.text_of(o), &self.config.type_wrappers));
            let selection = Self::range_of(name);
            let type_name =
                ty.and_then(|t| normalize_type(self.text_of(t), &self.config.type_wrappers));
            if let Some(&i) = by_selection.get(&selection) {
                let c = &mut candidates[i];
                if pattern < c.pattern {
                    c.pattern = pattern;
                    c.data.kind = kind;
                    c.data.range = Self::range_of(node);
                    c.node = Some(node);
                }
                if c.data.type_name.is_none() {
                    c.data.type_name = type_name;
                }
                if c.doc_node.is_none() {
                    c.doc_node = doc;
                }
                if c.data.owner.is_none() {
                    c.data.owner = owner;
                }
                continue;
            }
            let name_text = self.text_of(name).trim();
            if name_text.is_empty() {
                continue;
            }
            by_selection.insert(selection, candidates.len());
            candidates.push(EntityCandidate {
                pattern,
                data: EntityData {
                    kind,
                    name: name_text.to_string(),
                    range: Self::range_of(node),
                    selection,
                    container: None,
                    signature: String::new(),
                    doc: None,
                    type_name,
                    owner,
                    import: None,
                    has_body: false,
                    shape: 0,
                },
                node: Some(node),
                doc_node: doc,
                import: None,
            });
        }
    }

    /// Makes an import entity of each import match (replacing a definition of the same
    /// name node), claims the import's nodes and collects its clickable parts.
    fn add_imports(
        &self,
        imports: &[ImportItem<'t>],
        ancestry: &mut Ancestry<'_, 't>,
        candidates: &mut EntityCandidates<'t>,
        parts: &mut ImportParts,
    ) {
        let EntityCandidates {
            list: candidates,
            by_selection,
        } = candidates;
        let ImportParts {
            claimed,
            refs: import_refs,
            too_deep,
        } = parts;
        for (import_index, imp) in imports.iter().enumerate() {
            let Some(prefixes) = self.import_prefix_nodes(imp, ancestry) else {
                too_deep.get_or_insert(Self::range_of(imp.stmt));
                continue;
            };
            let Some(entity) = self.import_entity(imp, &prefixes, import_index, import_refs) else {
                continue;
            };
            for node in [imp.path, imp.name, imp.alias, imp.submodule]
                .into_iter()
                .flatten()
            {
                claimed.push(Self::range_of(node));
            }
            for prefix in prefixes {
                claimed.push(Self::range_of(prefix));
            }
            // An import alias that a definition pattern also matched (`const x =
            // require(...)`) is an import, not a variable.
            if let Some(&i) = by_selection.get(&entity.data.selection) {
                candidates[i] = entity;
            } else {
                by_selection.insert(entity.data.selection, candidates.len());
                candidates.push(entity);
            }
        }
    }

    /// Makes local bindings of the `@local.definition` matches outside claimed import
    /// nodes, each in its scope; a binding in no scope is a file-level one (see
    /// [`Self::add_file_level_binding`]).
    fn add_local_defs(
        &self,
        local_defs: Vec<(Node<'t>, Option<Node<'t>>)>,
        tree: &ScopeTree<'_, 't>,
        claimed: &Cover,
        ancestry: &mut Ancestry<'_, 't>,
        candidates: &mut EntityCandidates<'t>,
        locals: &mut Vec<LocalDef>,
    ) {
        let mut local_by_range: FxHashMap<TextRange, usize> = FxHashMap::default();
        // The definitions and imports: file-level bindings inside one are not variables
        // of the file. (The bindings added here are neither.)
        let definitions = Cover::new(
            candidates
                .list
                .iter()
                .filter(|c| c.pattern != usize::MAX)
                .map(|c| c.data.range),
        );
        for (node, ty) in local_defs {
            let range = Self::range_of(node);
            let type_name = ty.and_then(|t| self.type_of(t));
            if let Some(&i) = local_by_range.get(&range) {
                if locals[i].type_name.is_none() {
                    locals[i].type_name = type_name;
                }
                continue;
            }
            if claimed.holds(range) {
                continue;
            }
            let scope = tree.scope_of(node);
            match scope {
                Some(scope) => {
                    local_by_range.insert(range, locals.len());
                    locals.push(LocalDef {
                        name: self.text_of(node).to_string(),
                        range,
                        scope,
                        type_name,
                        entity: None,
                    });
                }
                None => self.add_file_level_binding(
                    node,
                    range,
                    type_name,
                    &definitions,
                    ancestry,
                    candidates,
                ),
            }
        }
    }

    /// A binding at file level: an entity already, or a top-level variable if no
    /// definition pattern named it and it is not inside some other definition (a class
    /// body).
    fn add_file_level_binding(
        &self,
        node: Node<'t>,
        range: TextRange,
        type_name: Option<String>,
        definitions: &Cover,
        ancestry: &mut Ancestry<'_, 't>,
        candidates: &mut EntityCandidates<'t>,
    ) {
        let EntityCandidates {
            list: candidates,
            by_selection,
        } = candidates;
        if by_selection.contains_key(&range) || definitions.holds(range) {
            return;
        }
        let stmt = statement_of(node, ancestry);
        by_selection.insert(range, candidates.len());
        candidates.push(EntityCandidate {
            pattern: usize::MAX,
            data: EntityData {
                kind: EntityKind::Variable,
                name: self.text_of(node).to_string(),
                range,
                selection: range,
                container: None,
                signature: String::new(),
                doc: None,
                type_name,
                owner: None,
                import: None,
                has_body: false,
                shape: 0,
            },
            node: Some(stmt),
            doc_node: None,
            import: None,
        });
    }

    /// Gathers reference candidates from the reference matches and the uses of local
    /// bindings, one per name node, leaving out names that define, bind, import or are
    /// skipped; in order of position.
    fn collect_refs(
        refs: Vec<Item<'t>>,
        local_refs: Vec<Node<'t>>,
        entities: &[EntityData],
        locals: &[LocalDef],
        claimed_or_skipped: &Cover,
        ref_cands: &mut Vec<RefCandidate<'t>>,
    ) {
        let mut ref_index: FxHashMap<TextRange, usize> = FxHashMap::default();
        // An impl block's name is its type: it stays a reference to that type.
        let def_ranges: FxHashSet<TextRange> = entities
            .iter()
            .filter(|e| e.kind != EntityKind::Impl)
            .map(|e| e.selection)
            .collect();
        let local_ranges: FxHashSet<TextRange> = locals.iter().map(|l| l.range).collect();
        // A local binding can also be a member reference: `const { a } = obj` binds `a`
        // and reads `obj.a`.
        let excluded = |range: TextRange, member: bool| {
            def_ranges.contains(&range)
                || (!member && local_ranges.contains(&range))
                || claimed_or_skipped.holds(range)
        };
        let mut add_ref = |kind: RefKind,
                           node: Node<'t>,
                           name: Node<'t>,
                           receiver: Option<Node<'t>>,
                           receiver_type: Option<Node<'t>>| {
            let member = receiver.is_some() || receiver_type.is_some();
            let range = Self::range_of(name);
            if range.is_empty() || excluded(range, member) {
                return;
            }
            match ref_index.get(&range) {
                Some(&i) => {
                    let c: &mut RefCandidate<'t> = &mut ref_cands[i];
                    if kind.rank() > c.kind.rank() {
                        c.kind = kind;
                    }
                    if c.receiver.is_none() && c.receiver_type.is_none() {
                        c.receiver = receiver;
                        c.receiver_type = receiver_type;
                    }
                    if !c.exprs.iter().any(|e| e.id() == node.id()) {
                        c.exprs.push(node);
                    }
                }
                None => {
                    ref_index.insert(range, ref_cands.len());
                    ref_cands.push(RefCandidate {
                        kind,
                        name,
                        exprs: vec![node, name],
                        receiver,
                        receiver_type,
                    });
                }
            }
        };
        for item in refs {
            if let Item::Ref {
                kind,
                node,
                name,
                receiver,
                receiver_type,
            } = item
            {
                add_ref(kind, node, name, receiver, receiver_type);
            }
        }
        for node in local_refs {
            add_ref(RefKind::Read, node, node, None, None);
        }
        ref_cands.sort_by_key(|c| (c.name.start_byte(), c.name.end_byte()));
    }

    /// Decides the fate of each candidate, in order (receivers come first): a use of a
    /// local binding, or a reference kept for the graph with its receiver and the entity
    /// a local binding names.
    fn resolve_refs(
        &self,
        ref_cands: &[RefCandidate<'t>],
        tree: &ScopeTree<'_, 't>,
        bindings: &Bindings<'_>,
        locals: &[LocalDef],
        ancestry: &mut Ancestry<'_, 't>,
        resolved: &mut ResolvedRefs,
    ) {
        let ResolvedRefs { kept, uses } = resolved;
        // Expression node -> candidate, for receivers.
        let mut expr_owner: FxHashMap<(usize, usize), usize> = FxHashMap::default();
        for (i, c) in ref_cands.iter().enumerate() {
            for e in &c.exprs {
                expr_owner
                    .entry((e.start_byte(), e.end_byte()))
                    .or_insert(i);
            }
        }

        let mut fates: Vec<Option<RefFate>> = vec![None; ref_cands.len()];
        for i in 0..ref_cands.len() {
            let c = &ref_cands[i];
            let name = self.text_of(c.name).to_string();
            let range = Self::range_of(c.name);
            let mut receiver = Receiver::None;
            let mut local_target = None;
            if let Some(ty) = c.receiver_type {
                // A declared type that names nothing (`{ a: number }`) has no members
                // in the workspace.
                receiver = Receiver::Type(
                    self.type_of(ty)
                        .unwrap_or_else(|| crate::EXTERNAL_TYPE.to_string()),
                );
            } else if let Some(recv) = c.receiver {
                receiver = self.receiver_of(recv, i, &expr_owner, &fates, locals, ancestry);
            } else if let Some(d) = (!(self.config.calls_skip_locals && c.kind == RefKind::Call))
                .then(|| tree.resolve(bindings, locals, range, &name))
                .flatten()
            {
                match locals[d].entity {
                    Some(e) => local_target = Some(e),
                    None => {
                        fates[i] = Some(RefFate::Local(d));
                        uses.push((range, d as u32));
                        continue;
                    }
                }
            }
            fates[i] = Some(RefFate::Kept(kept.len()));
            kept.push(RefData {
                kind: c.kind,
                name,
                range,
                receiver,
                source: None,
                local_target,
                import: None,
            });
        }
    }

    /// The receiver of reference candidate `i` whose receiver expression is `recv`: a
    /// literal's type, a module path, `self`/`super`, or what an earlier candidate that
    /// is the expression became.
    fn receiver_of(
        &self,
        recv: Node<'t>,
        i: usize,
        expr_owner: &FxHashMap<(usize, usize), usize>,
        fates: &[Option<RefFate>],
        locals: &[LocalDef],
        ancestry: &mut Ancestry<'_, 't>,
    ) -> Receiver {
        let recv_text = self.text_of(recv).trim();
        let literal = self.config.literal_kinds.iter().any(|k| k == recv.kind());
        let mut in_path = || {
            ancestry
                .parent(recv)
                .is_some_and(|p| self.config.path_kinds.iter().any(|k| k == p.kind()))
        };
        if literal {
            Receiver::Type(crate::EXTERNAL_TYPE.to_string())
        } else if self.config.path_keywords.iter().any(|s| s == recv_text) && in_path() {
            Receiver::ModulePath(recv_text.to_string())
        } else if self.config.self_names.iter().any(|s| s == recv_text) {
            Receiver::SelfType
        } else if self.config.super_names.iter().any(|s| s == recv_text) {
            Receiver::SuperType
        } else {
            match expr_owner.get(&(recv.start_byte(), recv.end_byte())) {
                Some(&owner) if owner < i => match &fates[owner] {
                    Some(RefFate::Kept(k)) => Receiver::Ref(*k as u32),
                    Some(RefFate::Local(d)) => match (&locals[*d].type_name, locals[*d].entity) {
                        (_, Some(_)) => Receiver::Unknown,
                        (Some(t), None) => Receiver::Type(t.clone()),
                        // `const { options } = this`: a binding that reads a member is
                        // what that member is.
                        (None, None) => {
                            let at = locals[*d].range;
                            match expr_owner.get(&(at.start as usize, at.end as usize)) {
                                Some(&j) if j < i => match &fates[j] {
                                    Some(RefFate::Kept(k)) => Receiver::Ref(*k as u32),
                                    _ => Receiver::Unknown,
                                },
                                _ => Receiver::Unknown,
                            }
                        }
                    },
                    None => Receiver::Unknown,
                },
                _ => Receiver::Unknown,
            }
        }
    }

    /// Sorts out containers, method/field kinds, docs and signatures. Also returns,
    /// per entity, the index of the import match it came from.
    fn assign_containers(
        &self,
        candidates: Vec<EntityCandidate<'t>>,
        docs: &[Node<'t>],
        ancestry: &mut Ancestry<'_, 't>,
    ) -> (Vec<EntityData>, Vec<Option<usize>>) {
        let mut slots: Vec<Option<usize>> = Vec::with_capacity(candidates.len());
        let mut out: Vec<EntityData> = Vec::with_capacity(candidates.len());
        let mut doc_nodes: Vec<Option<Node<'t>>> = Vec::with_capacity(candidates.len());
        let mut def_nodes: Vec<Option<Node<'t>>> = Vec::with_capacity(candidates.len());
        let mut stack: Vec<usize> = Vec::new();
        let mut fields_seen: FxHashSet<(Option<u32>, String)> = FxHashSet::default();
        let mut implicit_fields: Vec<bool> = Vec::with_capacity(candidates.len());
        // Per callable with a body: its index and its body, whose shape is taken below.
        let mut bodies: Vec<(usize, Node<'t>)> = Vec::new();
        // Per entity: the innermost type among itself and its containers.
        let mut type_of: Vec<Option<usize>> = Vec::with_capacity(candidates.len());
        for cand in candidates {
            let mut data = cand.data;
            // Only strict containment makes a container: two definitions of one
            // statement (`a, b = 1, 2`) are siblings.
            while let Some(&top) = stack.last() {
                if out[top].range.contains_range(data.range) && out[top].range != data.range {
                    break;
                }
                stack.pop();
            }
            let mut container = stack.last().copied();
            let mut implicit = false;
            if data.kind == EntityKind::Field && data.owner.is_some() {
                // A field with an `@owner` is a key of the literal bound to that name
                // (`const T = { a: 1 }`): it belongs to the name where that is an entity,
                // and is nothing elsewhere (a local in a function).
                let bound = container.is_some_and(|c| {
                    matches!(out[c].kind, EntityKind::Variable | EntityKind::Constant)
                        && data.owner.as_deref() == Some(out[c].name.as_str())
                });
                if !bound {
                    continue;
                }
                data.owner = None;
            } else if data.kind == EntityKind::Field {
                // Fields belong to types, even when assigned in a method (`self.x = ...`).
                implicit = container.is_some_and(|c| !out[c].kind.is_type());
                container = container.and_then(|c| type_of[c]);
                if container.is_none() && !stack.is_empty() {
                    continue;
                }
                if !self.config.all_declarations
                    && !fields_seen.insert((container.map(|c| c as u32), data.name.clone()))
                {
                    continue;
                }
            }
            if data.kind == EntityKind::Function {
                let in_type = container.is_some_and(|c| out[c].kind.is_type());
                if in_type || data.owner.is_some() {
                    data.kind = EntityKind::Method;
                }
            }
            data.container = container.map(|c| c as u32);
            if let Some(node) = cand.node {
                if data.kind != EntityKind::Import && data.signature.is_empty() {
                    data.signature = signature_text(self.text, node, &self.config.body_fields);
                }
                let body = self
                    .config
                    .body_fields
                    .iter()
                    .find_map(|f| node.child_by_field_name(f));
                data.has_body = body.is_some();
                if let Some(body) = body.filter(|_| data.kind.is_callable()) {
                    bodies.push((out.len(), body));
                }
            }
            let index = out.len();
            // A type alias's object type (`type A = { x: number }`) holds fields too.
            type_of.push(
                if data.kind.is_type() || data.kind == EntityKind::TypeAlias {
                    Some(index)
                } else {
                    data.container.and_then(|c| type_of[c as usize])
                },
            );
            out.push(data);
            doc_nodes.push(cand.doc_node);
            def_nodes.push(cand.node);
            slots.push(cand.import);
            implicit_fields.push(implicit);
            if out[index].kind != EntityKind::Import {
                stack.push(index);
            }
        }
        let nodes: Vec<Node<'t>> = bodies.iter().map(|(_, body)| *body).collect();
        for ((index, _), shape) in bodies.iter().zip(crate::shape::shapes_of(&nodes)) {
            out[*index].shape = shape;
        }
        if self.config.all_declarations {
            // Every `self.x = ...` declares `x`, unless the type declares it itself (a
            // class attribute, an annotation, a property): then those assignments use it.
            let explicit: FxHashSet<(Option<u32>, &str)> = out
                .iter()
                .zip(&implicit_fields)
                .filter(|(_, implicit)| !**implicit)
                .map(|(e, _)| (e.container, e.name.as_str()))
                .collect();
            let drop: Vec<bool> = out
                .iter()
                .zip(&implicit_fields)
                .map(|(e, implicit)| {
                    *implicit && explicit.contains(&(e.container, e.name.as_str()))
                })
                .collect();
            if drop.iter().any(|d| *d) {
                let mut new_index = vec![0u32; out.len()];
                let mut next = 0u32;
                for (i, d) in drop.iter().enumerate() {
                    new_index[i] = next;
                    if !d {
                        next += 1;
                    }
                }
                fn keep<T>(v: &mut Vec<T>, drop: &[bool]) {
                    let mut i = 0;
                    v.retain(|_| {
                        i += 1;
                        !drop[i - 1]
                    });
                }
                keep(&mut doc_nodes, &drop);
                keep(&mut def_nodes, &drop);
                keep(&mut slots, &drop);
                keep(&mut out, &drop);
                for e in &mut out {
                    e.container = e.container.map(|c| new_index[c as usize]);
                }
            }
        }
        // Standalone doc captures (docstrings) go to the innermost entity holding them
        // that has none yet: the last one starting before the doc and ending after it
        // (entities are in order of their starts).
        if !docs.is_empty() {
            let mut free = LastReaching::new(out.iter().map(|e| e.range.end));
            for (i, d) in doc_nodes.iter().enumerate() {
                if d.is_some() {
                    free.clear(i);
                }
            }
            for doc in docs {
                let range = Self::range_of(*doc);
                let before = out.partition_point(|e| e.range.start <= range.start);
                if let Some(i) = free.last_before(before, range.end) {
                    doc_nodes[i] = Some(*doc);
                    free.clear(i);
                }
            }
        }
        for (i, e) in out.iter_mut().enumerate() {
            e.doc = match doc_nodes[i] {
                Some(n) => doc_first_line(self.text_of(n)),
                None => def_nodes[i].and_then(|n| self.leading_doc(n, ancestry)),
            };
        }
        (out, slots)
    }

    /// The first line of the doc comment right before a definition.
    fn leading_doc(&self, node: Node<'t>, ancestry: &mut Ancestry<'_, 't>) -> Option<String> {
        let ancestors = ancestry.ancestors(node);
        let mut node = node;
        let mut parent = ancestors.len().checked_sub(1);
        while let Some(p) = parent {
            let candidate = ancestors[p];
            if self
                .config
                .doc_wrapper_kinds
                .iter()
                .any(|k| k == candidate.kind())
                && candidate.id() != self.root.id()
            {
                node = candidate;
                parent = p.checked_sub(1);
            } else {
                break;
            }
        }
        let parent = parent.map(|p| ancestors[p]);
        let mut next_row = node.start_position().row;
        let mut earlier = ancestry.earlier_siblings(node, parent);
        let mut prev = earlier.next();
        let mut block: Vec<Node<'t>> = Vec::new();
        while let Some(p) = prev {
            // Never look outside the chunk: what is there may change without this
            // chunk being extracted again.
            if (p.start_byte() as u32) < self.range.start {
                break;
            }
            if self.config.comment_kinds.iter().any(|k| k == p.kind()) {
                if p.end_position().row + 1 < next_row {
                    break;
                }
                block.push(p);
            } else if !(p.kind().contains("attribute") || p.kind() == "decorator") {
                break;
            }
            next_row = p.start_position().row;
            prev = earlier.next();
        }
        block.reverse();
        let prefixes = &self.config.doc_comment_prefixes;
        block
            .into_iter()
            .filter(|c| self.is_comment(*c))
            .map(|c| self.text_of(c))
            .filter(|t| prefixes.is_empty() || prefixes.iter().any(|p| t.starts_with(p.as_str())))
            .find_map(doc_first_line)
    }

    /// Nodes of enclosing `import_prefix` constructs (Rust `use a::{...}`), outermost first.
    /// `None` when there are more than [`MAX_IMPORT_PREFIXES`].
    fn import_prefix_nodes(
        &self,
        imp: &ImportItem<'t>,
        ancestry: &mut Ancestry<'_, 't>,
    ) -> Option<Vec<Node<'t>>> {
        if self.config.import_prefix.is_empty() {
            return Some(Vec::new());
        }
        let Some(start) = imp.name.or(imp.path).or(imp.alias) else {
            return Some(Vec::new());
        };
        let mut out = Vec::new();
        // Innermost first, then reversed.
        let parents = ancestry.marked_ancestors(start, MAX_IMPORT_PREFIXES + 1);
        if parents.len() > MAX_IMPORT_PREFIXES {
            return None;
        }
        for parent in parents {
            for [kind, field] in &self.config.import_prefix {
                if parent.kind() == kind {
                    if let Some(prefix) = parent.child_by_field_name(field) {
                        if !Self::range_of(prefix).contains_range(Self::range_of(start)) {
                            out.push(prefix);
                        }
                    }
                }
            }
        }
        out.reverse();
        Some(out)
    }

    /// Builds the import entity of one import match and its clickable parts.
    fn import_entity(
        &self,
        imp: &ImportItem<'t>,
        prefixes: &[Node<'t>],
        import_index: usize,
        import_refs: &mut Vec<(RefKind, TextRange, String, usize)>,
    ) -> Option<EntityCandidate<'t>> {
        let sep = self.config.separator.as_str();
        let mut parts: Vec<Node<'t>> = prefixes.to_vec();
        if let Some(p) = imp.path {
            parts.push(p);
        }
        let mut path = String::new();
        let mut segment_refs = 0;
        for part in &parts {
            // Path segments are clickable: each goes to the module named so far.
            let base = if segment_refs < MAX_IMPORT_PATH_REFS {
                path.clone()
            } else {
                String::new()
            };
            for leaf in named_leaves(*part) {
                if segment_refs == MAX_IMPORT_PATH_REFS {
                    break;
                }
                segment_refs += 1;
                let end = leaf.end_byte().min(part.end_byte());
                let prefix_text = strip_quotes(&self.text[part.start_byte()..end]);
                let full = if base.is_empty() {
                    prefix_text.to_string()
                } else {
                    format!("{base}{sep}{prefix_text}")
                };
                import_refs.push((
                    RefKind::ImportPath,
                    Self::range_of(leaf),
                    full,
                    import_index,
                ));
            }
            let text = strip_quotes(self.text_of(*part));
            if !path.is_empty() {
                path.push_str(sep);
            }
            path.push_str(text);
        }
        let mut name = imp.name.map(|n| self.text_of(n).trim().to_string());
        if let Some(sub) = imp.submodule {
            name = Some(self.text_of(sub).to_string());
        }
        if name.as_deref() == Some("self") {
            name = None;
        }
        if imp.default {
            name = Some("default".to_string());
        }
        if path.is_empty() && name.is_none() && imp.alias.is_none() {
            return None;
        }
        let binding = if let Some(alias) = imp.alias {
            self.text_of(alias).trim().to_string()
        } else if imp.glob {
            "*".to_string()
        } else if let Some(n) = &name {
            n.clone()
        } else {
            module_binding_name(self.config.module_scheme, &path, sep)
                .unwrap_or_else(|| path.clone())
        };
        if let (true, Some(alias)) = (imp.default, imp.alias) {
            // `import x from './m'`: `x` leads to the module's default export.
            import_refs.push((
                RefKind::ImportName,
                Self::range_of(alias),
                "default".to_string(),
                import_index,
            ));
        }
        if let (Some(n), Some(node)) = (&name, imp.name) {
            if !imp.default && imp.submodule.is_none() {
                import_refs.push((
                    RefKind::ImportName,
                    Self::range_of(node),
                    n.clone(),
                    import_index,
                ));
            }
        }
        if let Some(sub) = imp.submodule {
            import_refs.push((
                RefKind::ImportPath,
                Self::range_of(sub),
                self.text_of(sub).to_string(),
                import_index,
            ));
        }
        let selection = imp
            .alias
            .or(imp.name)
            .or(imp.submodule)
            .or(imp.path)
            .map(Self::range_of)
            .unwrap_or_else(|| Self::range_of(imp.stmt));
        let signature = first_line(self.text_of(imp.stmt));
        Some(EntityCandidate {
            pattern: 0,
            data: EntityData {
                kind: EntityKind::Import,
                name: binding,
                range: Self::range_of(imp.stmt),
                selection,
                container: None,
                signature,
                doc: None,
                type_name: None,
                owner: None,
                import: Some(ImportData {
                    path,
                    name,
                    glob: imp.glob,
                    export: imp.export,
                    default: imp.default,
                    submodule: imp.submodule.is_some(),
                }),
                has_body: false,
                shape: 0,
            },
            node: None,
            doc_node: None,
            import: Some(import_index),
        })
    }

    /// Sets each reference's source: the innermost non-import entity around it.
    fn assign_sources(&self, entities: &[EntityData], refs: &mut [RefData]) {
        let mut stack: Vec<usize> = Vec::new();
        let mut next = 0;
        for r in refs.iter_mut() {
            if r.import.is_some() {
                r.source = None;
                continue;
            }
            while next < entities.len() && entities[next].range.start <= r.range.start {
                if entities[next].kind != EntityKind::Import {
                    while let Some(&top) = stack.last() {
                        if entities[top].range.contains_range(entities[next].range) {
                            break;
                        }
                        stack.pop();
                    }
                    stack.push(next);
                }
                next += 1;
            }
            while let Some(&top) = stack.last() {
                if entities[top].range.contains_range(r.range) {
                    break;
                }
                stack.pop();
            }
            r.source = stack.last().map(|&i| i as u32);
        }
    }

    /// `ERROR` and `MISSING` nodes under `tops`, the root's children in this chunk.
    fn errors(&self, tops: &[Node<'t>]) -> Vec<SyntaxError> {
        let mut out = Vec::new();
        if !self.root.has_error() {
            return out;
        }
        // The root is the error when nothing in the file parsed as an item; then it
        // is the only chunk (see `chunk_ranges`).
        let mut stack: Vec<Node<'t>> = if self.root.is_error() {
            vec![self.root]
        } else {
            tops.iter().rev().copied().collect()
        };
        while let Some(node) = stack.pop() {
            if out.len() >= MAX_ERRORS_PER_CHUNK {
                break;
            }
            if node.is_missing() {
                out.push(SyntaxError {
                    range: Self::range_of(node),
                    message: format!("missing `{}`", node.kind()),
                });
                continue;
            }
            if node.is_error() {
                let snippet: String = self.text_of(node).chars().take(30).collect();
                let snippet = snippet.split('\n').next().unwrap_or("").trim().to_string();
                out.push(SyntaxError {
                    range: Self::range_of(node),
                    message: if snippet.is_empty() {
                        "syntax error".to_string()
                    } else {
                        format!("syntax error near `{snippet}`")
                    },
                });
                continue;
            }
            if !node.has_error() {
                continue;
            }
            let mut c = node.walk();
            let children: Vec<Node<'t>> = node.children(&mut c).collect();
            stack.extend(children.into_iter().rev());
        }
        out
    }
}

/// Orders entity candidates by position, outer before inner, as
/// [`ChunkBuilder::assign_containers`] needs them.
fn order_candidates(candidates: &mut [EntityCandidate<'_>]) {
    candidates.sort_by_key(|c| {
        (
            c.data.range.start,
            std::cmp::Reverse(c.data.range.end),
            c.data.selection.start,
        )
    });
}

/// Sets the entity of each local binding that is also an entity (same range as its
/// selection).
fn link_locals_to_entities(entities: &[EntityData], locals: &mut [LocalDef]) {
    let selection_index: FxHashMap<TextRange, usize> = entities
        .iter()
        .enumerate()
        .map(|(i, e)| (e.selection, i))
        .collect();
    for local in locals {
        local.entity = selection_index.get(&local.range).map(|&i| i as u32);
    }
}

/// Locals sorted by scope for lookup: (scope, name) -> defs in order.
fn locals_by_scope(locals: &[LocalDef]) -> ScopeDefs<'_> {
    let mut scope_defs: ScopeDefs<'_> = FxHashMap::default();
    for (i, d) in locals.iter().enumerate() {
        scope_defs
            .entry((d.scope, d.name.as_str()))
            .or_default()
            .push(i);
    }
    scope_defs
}

/// Adds the import names and path segments to the kept references, each linked to its
/// import entity, except names of definitions and ranges already referenced.
fn add_import_refs(
    import_refs: Vec<(RefKind, TextRange, String, usize)>,
    entities: &[EntityData],
    import_slots: &[Option<usize>],
    kept: &mut Vec<RefData>,
) {
    let import_entity_of: FxHashMap<usize, u32> = import_slots
        .iter()
        .enumerate()
        .filter_map(|(i, slot)| slot.map(|s| (s, i as u32)))
        .collect();
    let mut seen_import_refs: FxHashSet<TextRange> = kept.iter().map(|r| r.range).collect();
    // `export default function f() {}`: `f` is the function's own name, not a use of it.
    let definition_names: FxHashSet<TextRange> = entities
        .iter()
        .filter(|e| e.kind != EntityKind::Import)
        .map(|e| e.selection)
        .collect();
    for (kind, range, name, import_index) in import_refs {
        if definition_names.contains(&range) || !seen_import_refs.insert(range) {
            continue;
        }
        kept.push(RefData {
            kind,
            name,
            range,
            receiver: Receiver::None,
            source: None,
            local_target: None,
            import: import_entity_of.get(&import_index).copied(),
        });
    }
}

/// The kept references in final order, by position, with receiver indices remapped to
/// that order.
fn sort_by_position(kept: &[RefData]) -> Vec<RefData> {
    let mut order: Vec<usize> = (0..kept.len()).collect();
    order.sort_by_key(|&i| (kept[i].range.start, kept[i].range.end));
    let mut new_pos = vec![0u32; kept.len()];
    for (pos, &old) in order.iter().enumerate() {
        new_pos[old] = pos as u32;
    }
    let mut sorted: Vec<RefData> = order.iter().map(|&i| kept[i].clone()).collect();
    for r in &mut sorted {
        if let Receiver::Ref(k) = r.receiver {
            r.receiver = Receiver::Ref(new_pos[k as usize]);
        }
    }
    sorted
}

/// Sorts scope nodes by start, then by end descending, as [`ScopeTree::new`] needs
/// them; drops repeats.
fn sort_scopes(scopes: &mut Vec<Node<'_>>) {
    scopes.sort_by_key(|n| (n.start_byte(), std::cmp::Reverse(n.end_byte())));
    scopes.dedup_by_key(|n| n.id());
}

/// The local scopes of a chunk as a tree, for lookups by position.
struct ScopeTree<'a, 't> {
    nodes: &'a [Node<'t>],
    ranges: Vec<TextRange>,
    parent: Vec<Option<usize>>,
    /// The ends of `ranges`, for [`Self::innermost`].
    ends: LastReaching,
}

/// Per name, the scopes that bind it, for [`ScopeTree::resolve`].
struct Bindings<'s> {
    scope_defs: &'s ScopeDefs<'s>,
    /// Per name: the indices of the scopes binding it, in order, and their ends.
    by_name: FxHashMap<&'s str, (Vec<usize>, LastReaching)>,
    /// The lists of `scope_defs` whose bindings are not in order of position.
    unordered: FxHashSet<(TextRange, &'s str)>,
}

impl<'a, 't> ScopeTree<'a, 't> {
    /// `nodes` must be sorted by start, then by end descending.
    fn new(nodes: &'a [Node<'t>]) -> Self {
        let ranges: Vec<TextRange> = nodes
            .iter()
            .map(|n| TextRange::from_usize(n.byte_range()))
            .collect();
        let mut parent = Vec::with_capacity(ranges.len());
        let mut stack: Vec<usize> = Vec::new();
        for (i, r) in ranges.iter().enumerate() {
            while let Some(&top) = stack.last() {
                if ranges[top].contains_range(*r) {
                    break;
                }
                stack.pop();
            }
            parent.push(stack.last().copied());
            stack.push(i);
        }
        let ends = LastReaching::new(ranges.iter().map(|r| r.end));
        ScopeTree {
            nodes,
            ranges,
            parent,
            ends,
        }
    }

    /// The innermost scope containing `range`: of the scopes starting at or before it,
    /// the last that ends at or after it. (Each scope before it that ends at or after
    /// `range` would have been popped off the construction stack by a later one that
    /// does too, so the last one is where the walk up from the last scope starting
    /// before `range` stops.)
    fn innermost(&self, range: TextRange) -> Option<usize> {
        let before = self.ranges.partition_point(|r| r.start <= range.start);
        self.ends.last_before(before, range.end)
    }

    /// The scope that owns a binding at `node`. A binding that is the `name` of a scope
    /// node (a nested function's name) belongs to the scope around it.
    fn scope_of(&self, node: Node<'t>) -> Option<TextRange> {
        let mut i = self.innermost(TextRange::from_usize(node.byte_range()))?;
        if self.nodes[i]
            .child_by_field_name("name")
            .is_some_and(|n| n.id() == node.id())
        {
            i = self.parent[i]?;
        }
        Some(self.ranges[i])
    }

    /// Indexes the bindings of `scope_defs` by name.
    fn bindings<'s>(&self, scope_defs: &'s ScopeDefs<'s>, locals: &[LocalDef]) -> Bindings<'s> {
        let mut scopes_by_name: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
        let mut unordered = FxHashSet::default();
        let key = |r: &TextRange| (r.start, std::cmp::Reverse(r.end));
        for (&(range, name), defs) in scope_defs {
            // The scopes with this range: a run of `ranges`.
            let first = self.ranges.partition_point(|r| key(r) < key(&range));
            let scopes = scopes_by_name.entry(name).or_default();
            scopes.extend((first..self.ranges.len()).take_while(|&i| self.ranges[i] == range));
            if !defs.is_sorted_by_key(|&d| locals[d].range.start) {
                unordered.insert((range, name));
            }
        }
        let by_name = scopes_by_name
            .into_iter()
            .map(|(name, mut scopes)| {
                scopes.sort_unstable();
                scopes.dedup();
                let ends = LastReaching::new(scopes.iter().map(|&i| self.ranges[i].end));
                (name, (scopes, ends))
            })
            .collect();
        Bindings {
            scope_defs,
            by_name,
            unordered,
        }
    }

    /// The local binding a bare name at `range` (not empty) refers to: the innermost
    /// scope around it that binds the name; within it the last binding before the use,
    /// else the first.
    ///
    /// The scopes around a range are the scopes that contain it (scope nodes nest), so
    /// the innermost that binds the name is the last one, in order, of those that bind
    /// it, start before the range and end after it.
    fn resolve(
        &self,
        bindings: &Bindings<'_>,
        locals: &[LocalDef],
        range: TextRange,
        name: &str,
    ) -> Option<usize> {
        let (scopes, ends) = bindings.by_name.get(name)?;
        let before = self.ranges.partition_point(|r| r.start <= range.start);
        let scope = scopes[ends.last_before(scopes.partition_point(|&i| i < before), range.end)?];
        let key = (self.ranges[scope], name);
        let defs = bindings.scope_defs.get(&key)?;
        let is_before = |d: &usize| locals[*d].range.start <= range.start;
        let last_before = if bindings.unordered.contains(&key) {
            defs.iter().rposition(is_before)
        } else {
            defs.partition_point(is_before).checked_sub(1)
        };
        Some(defs[last_before.unwrap_or(0)])
    }
}

/// The statement that holds `node`: its ancestor whose parent is the root or a block.
fn statement_of<'t>(node: Node<'t>, ancestry: &mut Ancestry<'_, 't>) -> Node<'t> {
    let root = ancestry.root();
    let mut n = node;
    for &p in ancestry.ancestors(node).iter().rev() {
        if p.id() == root.id() || p.kind().ends_with("block") {
            return n;
        }
        n = p;
    }
    n
}

/// Named leaf nodes under `node` (the segments of a path), in order.
fn named_leaves(node: Node<'_>) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.child_count() == 0 {
            if n.is_named() {
                out.push(n);
            }
            continue;
        }
        let mut c = n.walk();
        let children: Vec<_> = n.children(&mut c).collect();
        stack.extend(children.into_iter().rev());
    }
    out
}

fn strip_quotes(text: &str) -> &str {
    let t = text.trim();
    for q in ['"', '\'', '`'] {
        if let Some(inner) = t.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    t.trim_start_matches(['"', '\'', '`'])
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let mut s: String = line.chars().take(240).collect();
    if line.chars().count() > 240 {
        s.push('…');
    }
    s
}
