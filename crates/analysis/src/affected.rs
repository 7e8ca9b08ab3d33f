//! Which tests an edit can affect: the symbols the edit changes, then everything that
//! calls or references them, transitively, through the knowledge graph; the tests among
//! them are the answer, each with the path that led to it.
//!
//! Tests are recognised per language, the way their runners find them: Rust functions
//! with a `#[test]`-like attribute, Python `test*` functions of `test_*.py` / `*_test.py`
//! (and `test*` methods of `Test*` classes), Go `Test*` functions of `_test.go` files,
//! and whole files for JavaScript and TypeScript (`*.test.*`, `*.spec.*`, or under a
//! `test`, `tests` or `__tests__` folder), whose tests have no names in the graph.

use std::collections::{BTreeMap, VecDeque};

use codecontext_graph::{EntityLoc, FileId, How, Name, Recv, RefLoc};
use codecontext_syntax::{EntityKind, RefKind};
use codecontext_text::TextRange;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::nav::Analysis;

/// What changed in a file, in lines of the text the graph holds (zero-based, the end
/// excluded; an empty range is an insertion before that line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditScope {
    Lines(Vec<(u32, u32)>),
    /// The whole file (deleted, or replaced).
    Whole,
}

/// A test the edit can affect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AffectedTest {
    /// The test's file, relative to its workspace folder.
    pub path: String,
    /// `rust`, `python`, `go`, `javascript`, ...
    pub language: String,
    /// The function's name; for a JavaScript or TypeScript test file, empty.
    pub name: String,
    /// The names of its containers, outermost first (modules, classes).
    pub containers: Vec<String>,
    pub qualified_name: String,
    /// How it reaches the edit: the test first, an edited symbol last.
    pub via: Vec<String>,
    /// The weakest resolution along that path.
    pub how: How,
}

/// The answer of [`Analysis::affected_tests`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Affected {
    /// Qualified names of the symbols the edit changes.
    pub edited: Vec<String>,
    pub tests: Vec<AffectedTest>,
    /// Why the answer may be incomplete; empty when the graph could tell.
    pub unknown: Vec<String>,
}

/// More symbols than this reached, and the answer is "cannot tell".
const MAX_REACHED: usize = 50_000;

impl<'a> Analysis<'a> {
    /// The symbols `edits` change: per changed span, the innermost entities around it
    /// (a container counts too when the span is not inside one of its members).
    pub fn edited_symbols(&self, edits: &[(FileId, EditScope)]) -> Vec<EntityLoc> {
        let g = self.graph();
        let mut out = Vec::new();
        for (file, scope) in edits {
            let Some(f) = g.file_data(*file) else {
                continue;
            };
            let spans: Vec<TextRange> = match scope {
                EditScope::Whole => vec![TextRange::new(0, f.line_index.len())],
                EditScope::Lines(lines) => lines
                    .iter()
                    .map(|&(start, end)| {
                        let at = |line: u32| {
                            f.line_index
                                .line_start(line)
                                .unwrap_or_else(|| f.line_index.len())
                        };
                        TextRange::new(at(start), at(end.max(start)))
                    })
                    .collect(),
            };
            for span in spans {
                for (i, e) in f.entities.iter().enumerate().skip(1) {
                    let touched = if span.is_empty() {
                        e.range.start < span.start && span.start < e.range.end
                    } else {
                        e.range.start < span.end && span.start < e.range.end
                    };
                    if !touched {
                        continue;
                    }
                    let inner = TextRange::new(
                        span.start.max(e.range.start),
                        span.end.min(e.range.end).max(span.start.max(e.range.start)),
                    );
                    let in_member =
                        f.entities.iter().skip(1).any(|c| {
                            c.container == Some(i as u32) && c.range.contains_range(inner)
                        });
                    if !in_member {
                        out.push(EntityLoc {
                            file: *file,
                            index: i as u32,
                        });
                    }
                }
            }
        }
        out.sort_by_key(|l| (l.file, l.index));
        out.dedup();
        out
    }

    /// The tests that reach the symbols `edits` change, through calls and references,
    /// transitively.
    pub fn affected_tests(&self, edits: &[(FileId, EditScope)]) -> Affected {
        let g = self.graph();
        let seeds = self.edited_symbols(edits);
        let mut affected = Affected {
            edited: seeds.iter().map(|l| g.qualified_name(*l)).collect(),
            ..Affected::default()
        };
        // Breadth first from the edited symbols to what uses them; each reached
        // entity remembers who led to it and the weakest resolution on the way.
        let mut parent: FxHashMap<EntityLoc, (Option<EntityLoc>, How)> = FxHashMap::default();
        let mut queue = VecDeque::new();
        for s in &seeds {
            parent.insert(*s, (None, How::Exact));
            queue.push_back(*s);
        }
        let mut test_files: BTreeMap<FileId, EntityLoc> = BTreeMap::new();
        let mut texts: FxHashMap<FileId, Option<std::borrow::Cow<'a, str>>> = FxHashMap::default();
        let mut untyped: Option<FxHashMap<Name, Vec<RefLoc>>> = None;
        let mut dispatched: Option<FxHashMap<Name, Vec<RefLoc>>> = None;
        while let Some(loc) = queue.pop_front() {
            if parent.len() > MAX_REACHED {
                affected.unknown.push(format!(
                    "the edit reaches more than {MAX_REACHED} symbols; not followed further"
                ));
                break;
            }
            let Some(id) = g.entity(loc).map(|e| e.id) else {
                continue;
            };
            let how_here = parent[&loc].1;
            let mut uses = g.references_to(id);
            if let Some(e) = g.entity(loc).filter(|e| e.kind.is_member()) {
                // A member the graph leaves unresolved on a value it cannot type
                // (`obj.render()` on a parameter) may be this one.
                let untyped = untyped.get_or_insert_with(|| self.untyped_member_uses());
                uses.extend(untyped.get(&e.name).into_iter().flatten().copied());
                // A call of an interface's or trait's method (`v.Set(s)` on a `Value`)
                // may be dispatched to this one.
                let dispatched = dispatched.get_or_insert_with(|| self.abstract_member_uses());
                uses.extend(dispatched.get(&e.name).into_iter().flatten().copied());
            }
            for r in uses {
                let Some(mut user) = g.call_source(r) else {
                    continue;
                };
                if user.index == 0 {
                    // In a decorator (`@pytest.mark.parametrize("f", [helper])`), it is
                    // the decorated definition's.
                    user = self.decorated_by(r, &mut texts).unwrap_or(user);
                }
                let how = g
                    .resolution(r)
                    .map_or(How::Unresolved, |x| x.how())
                    .max(how_here);
                if user.index == 0 {
                    // Code at the top of a file: for script-like test files, the test.
                    test_files.entry(user.file).or_insert(loc);
                    continue;
                }
                if let std::collections::hash_map::Entry::Vacant(v) = parent.entry(user) {
                    v.insert((Some(loc), how));
                    queue.push_back(user);
                }
            }
        }
        let mut seen: FxHashSet<(FileId, u32)> = FxHashSet::default();
        // The test around each entity walked so far (reached entities share containers:
        // walking every chain in full would cost the depth for each).
        let mut test_around: FxHashMap<EntityLoc, Option<EntityLoc>> = FxHashMap::default();
        for (&loc, _) in parent.iter() {
            // The test is the entity itself or one of its containers.
            let f = match g.file_data(loc.file) {
                Some(f) => f,
                None => continue,
            };
            let mut walked = Vec::new();
            let mut next = Some(loc.index);
            let found = loop {
                let Some(index) = next.filter(|&i| i != 0) else {
                    break None;
                };
                let at = EntityLoc {
                    file: loc.file,
                    index,
                };
                if let Some(&known) = test_around.get(&at) {
                    break known;
                }
                if self.is_test(at, &mut texts) {
                    break Some(at);
                }
                walked.push(at);
                next = f.entities[index as usize].container;
            };
            for at in walked {
                test_around.insert(at, found);
            }
            if let Some(test) = found {
                if seen.insert((test.file, test.index)) {
                    affected.tests.push(self.affected_test(test, loc, &parent));
                }
            } else if is_script_test_file(self.language_of(loc.file), &f.rel) {
                test_files.entry(loc.file).or_insert(loc);
            }
        }
        for (file, from) in test_files {
            let Some(f) = g.file_data(file) else {
                continue;
            };
            if !is_script_test_file(self.language_of(file), &f.rel) || seen.contains(&(file, 0)) {
                continue;
            }
            seen.insert((file, 0));
            let mut test = self.affected_test(EntityLoc { file, index: 0 }, from, &parent);
            test.name = String::new();
            if from.file != file || from.index != 0 {
                test.via.insert(0, f.rel.to_string());
            }
            affected.tests.push(test);
        }
        affected
            .tests
            .sort_by(|a, b| (&a.path, &a.qualified_name).cmp(&(&b.path, &b.qualified_name)));
        affected
    }

    /// Member uses on values of unknown type that stay unresolved, by name, in the
    /// languages whose resolution does not guess them from the name alone (Python,
    /// JavaScript, TypeScript): for tests to run, any method of that name may be meant.
    fn untyped_member_uses(&self) -> FxHashMap<Name, Vec<RefLoc>> {
        let g = self.graph();
        let mut out: FxHashMap<Name, Vec<RefLoc>> = FxHashMap::default();
        for (file, f) in g.files() {
            if codecontext_lang::language(f.lang)
                .config
                .member_name_fallback
            {
                continue;
            }
            for (index, (r, res)) in f.refs.iter().zip(&f.res).enumerate() {
                if matches!(r.receiver, Recv::Unknown | Recv::Ref(_))
                    && matches!(r.kind, RefKind::Call | RefKind::Read)
                    && res.how() == How::Unresolved
                {
                    out.entry(r.name).or_default().push(RefLoc {
                        file,
                        index: index as u32,
                    });
                }
            }
        }
        out
    }

    /// The uses of the members of interfaces and traits, by name: a call resolved to
    /// `Value.Set` runs whichever type's `Set` the value has.
    fn abstract_member_uses(&self) -> FxHashMap<Name, Vec<RefLoc>> {
        let g = self.graph();
        let mut out: FxHashMap<Name, Vec<RefLoc>> = FxHashMap::default();
        for (_, f) in g.files() {
            for e in &f.entities {
                let in_abstract = e
                    .container
                    .and_then(|c| f.entities.get(c as usize))
                    .is_some_and(|c| matches!(c.kind, EntityKind::Interface | EntityKind::Trait));
                if in_abstract && e.kind.is_member() {
                    out.entry(e.name).or_default().extend(g.references_to(e.id));
                }
            }
        }
        out
    }

    /// The Python definition whose decorators hold the reference `r`, if any.
    fn decorated_by(
        &self,
        r: RefLoc,
        texts: &mut FxHashMap<FileId, Option<std::borrow::Cow<'a, str>>>,
    ) -> Option<EntityLoc> {
        if self.language_of(r.file) != "python" {
            return None;
        }
        let g = self.graph();
        let f = g.file_data(r.file)?;
        let range = g.ref_range(r)?;
        // Entities are in the order they start: the first definition after the
        // reference.
        let first = f.entities.partition_point(|e| e.range.start < range.end);
        let (index, e) = f
            .entities
            .iter()
            .enumerate()
            .skip(first.max(1))
            .find(|(_, e)| {
                matches!(
                    e.kind,
                    EntityKind::Function | EntityKind::Method | EntityKind::Class
                )
            })?;
        let text = texts.entry(r.file).or_insert_with(|| self.text(r.file));
        let start = decorators_start(text.as_deref()?, e.range.start as usize);
        (start <= range.start as usize).then_some(EntityLoc {
            file: r.file,
            index: index as u32,
        })
    }

    fn language_of(&self, file: FileId) -> &'static str {
        self.graph()
            .file_data(file)
            .map_or("", |f| codecontext_lang::language(f.lang).name())
    }

    fn affected_test(
        &self,
        test: EntityLoc,
        reached: EntityLoc,
        parent: &FxHashMap<EntityLoc, (Option<EntityLoc>, How)>,
    ) -> AffectedTest {
        let g = self.graph();
        let f = g.file_data(test.file).expect("a reached file exists");
        let mut via = Vec::new();
        if test != reached {
            via.push(g.qualified_name(test));
        }
        let mut at = Some(reached);
        let how = parent.get(&reached).map_or(How::Exact, |p| p.1);
        while let Some(loc) = at {
            via.push(g.qualified_name(loc));
            at = parent.get(&loc).and_then(|p| p.0);
        }
        let mut containers: Vec<String> = f
            .container_chain(test.index)
            .map(|c| g.name(f.entities[c as usize].name).to_string())
            .collect();
        containers.reverse();
        AffectedTest {
            path: f.rel.to_string(),
            language: self.language_of(test.file).to_string(),
            name: if test.index == 0 {
                String::new()
            } else {
                g.name(f.entities[test.index as usize].name).to_string()
            },
            containers,
            qualified_name: g.qualified_name(test),
            via,
            how,
        }
    }

    /// Is this entity a test its language's runner would run?
    fn is_test(
        &self,
        loc: EntityLoc,
        texts: &mut FxHashMap<FileId, Option<std::borrow::Cow<'a, str>>>,
    ) -> bool {
        let g = self.graph();
        let Some(f) = g.file_data(loc.file) else {
            return false;
        };
        let e = &f.entities[loc.index as usize];
        if !matches!(e.kind, EntityKind::Function | EntityKind::Method) {
            return false;
        }
        let name = g.name(e.name);
        let file_name = f.rel.rsplit('/').next().unwrap_or(&f.rel);
        match self.language_of(loc.file) {
            "python" => {
                let test_file = (file_name.starts_with("test_") || file_name.ends_with("_test.py"))
                    && file_name.ends_with(".py");
                let in_class = e.container.map(|c| &f.entities[c as usize]);
                test_file
                    && name.starts_with("test")
                    && match in_class {
                        None => true,
                        Some(c) => {
                            c.kind == EntityKind::Class && g.name(c.name).starts_with("Test")
                        }
                    }
            }
            "go" => {
                file_name.ends_with("_test.go")
                    && name.starts_with("Test")
                    && !name[4..].starts_with(|c: char| c.is_lowercase())
            }
            "rust" => {
                let text = texts.entry(loc.file).or_insert_with(|| self.text(loc.file));
                match text {
                    Some(text) => has_test_attribute(text, e.range.start as usize),
                    None => false,
                }
            }
            _ => false,
        }
    }
}

/// Where the decorators of the Python definition starting at `start` begin: the topmost
/// `@` line at the definition's indentation in the block of lines right above it (lines
/// indented deeper, closing brackets, comments and blank lines continue the block); the
/// definition's own start when it has none.
fn decorators_start(text: &str, start: usize) -> usize {
    let Some(head) = text.get(..start) else {
        return start;
    };
    let line_start = head.rfind('\n').map_or(0, |i| i + 1);
    let indent = {
        let line = &text[line_start..start];
        line.len() - line.trim_start().len()
    };
    let mut top = start;
    let mut end = line_start;
    while end > 0 {
        let above = text[..end - 1].rfind('\n').map_or(0, |i| i + 1);
        let line = text[above..end - 1].trim_end_matches('\r');
        let trimmed = line.trim_start();
        let depth = line.len() - trimmed.len();
        if depth == indent && trimmed.starts_with('@') {
            top = above + depth;
        } else if !(trimmed.is_empty()
            || trimmed.starts_with('#')
            || depth > indent
            || depth == indent && trimmed.starts_with([')', ']', '}']))
        {
            break;
        }
        end = above;
    }
    top
}

/// JavaScript and TypeScript test files, as Jest, Vitest, Mocha and `node --test` find
/// them by default.
fn is_script_test_file(language: &str, rel: &str) -> bool {
    if !matches!(language, "javascript" | "typescript" | "tsx") {
        return false;
    }
    let file_name = rel.rsplit('/').next().unwrap_or(rel);
    let stem_marks = [".test.", ".spec.", "-test.", "_test."];
    stem_marks.iter().any(|m| file_name.contains(m))
        || file_name.starts_with("test.")
        || file_name.starts_with("test-")
        || rel
            .split('/')
            .rev()
            .skip(1)
            .any(|d| matches!(d, "test" | "tests" | "__tests__"))
}

/// Whether the item starting at `start` carries an attribute whose path ends in `test`
/// (`#[test]`, `#[tokio::test]`, `#[tokio::test(flavor = "multi_thread")]`).
fn has_test_attribute(text: &str, start: usize) -> bool {
    let Some(before) = text.get(..start) else {
        return false;
    };
    // The attributes and comments right above the item, up to the previous item.
    for line in before.lines().rev() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let Some(attr) = line.strip_prefix("#[") else {
            // `pub`, `async` and the like share the item's line; anything else ends
            // the attributes.
            if line
                .split_whitespace()
                .all(|w| matches!(w, "pub" | "async" | "unsafe" | "const" | "extern"))
            {
                continue;
            }
            return false;
        };
        let path: String = attr
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        if path == "test" || path.ends_with("::test") {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_attributes_are_found_above_the_item() {
        let text = "#[test]\nfn a() {}\n#[tokio::test(flavor = \"x\")]\n// note\nasync fn b() {}\n#[inline]\nfn c() {}\nfn d() {}\n";
        let at = |name: &str| text.find(&format!("fn {name}")).unwrap();
        assert!(has_test_attribute(text, at("a")));
        assert!(has_test_attribute(text, at("b") - "async ".len()));
        assert!(!has_test_attribute(text, at("c")));
        assert!(!has_test_attribute(text, at("d")));
    }

    #[test]
    fn python_decorators_are_the_lines_above_at_the_definitions_indentation() {
        let text = "x = f(\n    1,\n)\n@a\ndef one():\n    pass\n\n@p(\n    \"n\",\n    [g],\n)\n# note\n@q\ndef two():\n    pass\nclass C:\n    @staticmethod\n    def three():\n        pass\n    def four():\n        pass\n";
        let at = |s: &str| text.find(s).unwrap();
        assert_eq!(decorators_start(text, at("def one")), at("@a"));
        assert_eq!(decorators_start(text, at("def two")), at("@p("));
        assert_eq!(decorators_start(text, at("def three")), at("@staticmethod"));
        assert_eq!(decorators_start(text, at("def four")), at("def four"));
        assert_eq!(decorators_start(text, at("class C")), at("class C"));
    }

    #[test]
    fn script_test_files_follow_the_runners_conventions() {
        assert!(is_script_test_file("javascript", "test/calc.test.js"));
        assert!(is_script_test_file("typescript", "src/calc.spec.ts"));
        assert!(is_script_test_file("javascript", "__tests__/calc.js"));
        assert!(!is_script_test_file("javascript", "src/calc.js"));
        assert!(!is_script_test_file("python", "tests/test_calc.py"));
    }
}
