//! Incremental updates give the same graph as a fresh index: random edit sequences are
//! applied to open documents of the fixture workspaces, one keystroke-sized change at a
//! time, and the resulting graph must equal (in canonical form) the graph of a fresh
//! index of the same texts:
//!
//! - after the edits, whenever the edited texts parse without syntax errors;
//! - after undoing the edits one by one, always (the walk goes through error states).
//!
//! While a text has syntax errors, tree-sitter's error recovery may shape an
//! incrementally reparsed tree differently from a fresh parse of the same text (it
//! reuses subtrees); the graph then follows the tree it has, and converges as soon as
//! the errors are gone, which the undo walk checks.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use codecontext_analysis::{AnalysisHost, DocumentChange, PositionEncoding, WideLineCol};
use codecontext_tests::copy_fixture;
use proptest::prelude::*;

fn source_files(root: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// One edit: in file `file % n`, at character `at % len`, delete `delete` characters
/// and insert `insert`.
#[derive(Clone, Debug)]
struct Edit {
    file: usize,
    at: usize,
    delete: usize,
    insert: String,
    /// Send this edit together with the next one in a single change notification.
    batch: bool,
}

fn edits(snippets: &'static [&'static str]) -> impl Strategy<Value = Vec<Edit>> {
    let edit = (
        any::<usize>(),
        any::<usize>(),
        prop_oneof![3 => Just(0usize), 2 => 1usize..4, 1 => 4usize..40],
        prop_oneof![
            1 => Just(String::new()),
            4 => proptest::sample::select(snippets).prop_map(str::to_string),
            1 => "[a-zé_]{1,6}",
        ],
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(file, at, delete, insert, batch)| Edit {
            file,
            at,
            delete,
            insert,
            batch,
        });
    proptest::collection::vec(edit, 1..12)
}

/// UTF-16 position of character index `chars` in `text`.
fn wide_position(text: &str, chars: usize) -> WideLineCol {
    let mut line = 0;
    let mut col = 0;
    for c in text.chars().take(chars) {
        if c == '\n' {
            line += 1;
            col = 0;
        } else {
            col += c.len_utf16() as u32;
        }
    }
    WideLineCol { line, col }
}

fn run_edits(fixture: &str, ext: &str, edits: &[Edit]) -> Result<(), TestCaseError> {
    let work = copy_fixture(fixture);
    let files = source_files(work.path(), ext);
    let mut host = AnalysisHost::default();
    host.index_root(work.path(), None);
    let mut texts: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut ids = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("fixture text");
        let id = host
            .open_document(&path.canonicalize().expect("canonical"), text.clone())
            .expect("open");
        ids.push(id);
        texts.insert(path.clone(), text);
    }
    // Forward edits, remembering how to undo each notification.
    let mut undo: Vec<(usize, Vec<DocumentChange>)> = Vec::new();
    let mut pending: Vec<DocumentChange> = Vec::new();
    let mut pending_undo: Vec<DocumentChange> = Vec::new();
    for (i, edit) in edits.iter().enumerate() {
        let k = edit.file % files.len();
        let path = &files[k];
        let text = texts.get_mut(path).expect("text");
        let len = text.chars().count();
        let at = edit.at % (len + 1);
        let end = (at + edit.delete).min(len);
        let start_pos = wide_position(text, at);
        let end_pos = wide_position(text, end);
        let byte_start = text.char_indices().nth(at).map_or(text.len(), |(b, _)| b);
        let byte_end = text.char_indices().nth(end).map_or(text.len(), |(b, _)| b);
        let removed = text[byte_start..byte_end].to_string();
        text.replace_range(byte_start..byte_end, &edit.insert);
        pending.push(DocumentChange {
            range: Some((start_pos, end_pos)),
            text: edit.insert.clone(),
        });
        let inserted_end = wide_position(text, at + edit.insert.chars().count());
        pending_undo.push(DocumentChange {
            range: Some((start_pos, inserted_end)),
            text: removed,
        });
        let next_same_file = edits.get(i + 1).is_some_and(|n| n.file % files.len() == k);
        if edit.batch && next_same_file {
            continue;
        }
        host.change_document(ids[k], &pending, PositionEncoding::Utf16)
            .map_err(|e| TestCaseError::fail(format!("change rejected: {e}")))?;
        pending.clear();
        pending_undo.reverse();
        undo.push((k, std::mem::take(&mut pending_undo)));
        let doc_text = host.document(ids[k]).expect("open").text().to_string();
        prop_assert_eq!(&doc_text, &*text, "document text diverged");
    }
    let (fresh, errors) = fresh_index(fixture, work.path(), &texts);
    if errors == 0 {
        compare(&host, &fresh, "after the edits")?;
    }
    // Undo every notification, newest first: back to the original texts.
    for (k, changes) in undo.into_iter().rev() {
        host.change_document(ids[k], &changes, PositionEncoding::Utf16)
            .map_err(|e| TestCaseError::fail(format!("undo rejected: {e}")))?;
    }
    let originals: BTreeMap<PathBuf, String> = files
        .iter()
        .map(|p| (p.clone(), std::fs::read_to_string(p).expect("original")))
        .collect();
    for (k, path) in files.iter().enumerate() {
        let doc_text = host.document(ids[k]).expect("open").text();
        prop_assert_eq!(doc_text, &originals[path], "undo did not restore the text");
    }
    let (fresh, _) = fresh_index(fixture, work.path(), &originals);
    compare(&host, &fresh, "after undoing the edits")
}

/// A fresh index of the fixture with `texts` written over it, and its error count.
fn fresh_index(
    fixture: &str,
    work: &Path,
    texts: &BTreeMap<PathBuf, String>,
) -> (AnalysisHost, usize) {
    let fresh_dir = copy_fixture(fixture);
    for (path, text) in texts {
        let rel = path.strip_prefix(work).expect("inside work dir");
        std::fs::write(fresh_dir.path().join(rel), text).expect("write");
    }
    let mut fresh = AnalysisHost::default();
    let report = fresh.index_root(fresh_dir.path(), None);
    (fresh, report.syntax_errors)
}

fn compare(host: &AnalysisHost, fresh: &AnalysisHost, when: &str) -> Result<(), TestCaseError> {
    let incremental = host.graph().canonical();
    let expected = fresh.graph().canonical();
    if incremental != expected {
        let diff: Vec<String> = incremental
            .lines()
            .zip(expected.lines())
            .filter(|(a, b)| a != b)
            .take(6)
            .map(|(a, b)| format!("incremental: {a}\n      fresh: {b}"))
            .collect();
        return Err(TestCaseError::fail(format!(
            "graphs differ {when} ({} vs {} lines):\n{}",
            incremental.lines().count(),
            expected.lines().count(),
            diff.join("\n")
        )));
    }
    Ok(())
}

const PYTHON_SNIPPETS: &[&str] = &[
    "\n",
    " ",
    "(",
    ")",
    ":",
    "\"",
    "'",
    "#",
    ".",
    ",",
    "=",
    "\n    ",
    "clamp",
    "Model",
    "Product",
    "self.",
    "super().",
    "total_price",
    "def helper(x):\n    return clamp(x, 0, 1)\n",
    "class Extra(Model):\n    def run(self):\n        return self.describe()\n",
    "from .util import clamp\n",
    "import shop\n",
    "from shop.util import *\n",
    "é",
    "😀",
    "\r\n",
    "x = Cart()\nx.add(None)\n",
    "    ",
    "return ",
    "pass\n",
];

const RUST_SNIPPETS: &[&str] = &[
    "\n",
    " ",
    "{",
    "}",
    "(",
    ")",
    ";",
    "::",
    ".",
    "\"",
    "//",
    "/// doc\n",
    "fn",
    "impl",
    "Item",
    "Money",
    "self.",
    "Self::",
    "fn helper() -> Money { Money::cents(1) }\n",
    "impl Item { pub fn extra(&self) -> u32 { self.id } }\n",
    "use crate::model::Item;\n",
    "use crate::pricing::*;\n",
    "mod extra;\n",
    "pub struct Extra { pub item: Item }\n",
    // Items inside item macros: the chunk is read from a tree with the wrappers left out.
    "cfg_extra! {\n    pub fn in_macro() -> Money { Money::cents(2) }\n}\n",
    "cfg_more! { impl Item { fn in_impl(&self) {} } }\n",
    "m! {",
    "é",
    "😀",
    "let x = Item::new(1, \"a\", Money::cents(2));\nx.label();\n",
    "    ",
    "pub ",
];

const TYPESCRIPT_SNIPPETS: &[&str] = &[
    "\n",
    " ",
    "{",
    "}",
    "(",
    ")",
    ";",
    ".",
    "\"",
    "'",
    "`",
    "//",
    "/** doc */\n",
    "=>",
    "this.",
    "export ",
    "import { Cart } from './services/cart';\n",
    "export * from './models/user';\n",
    "function helper(): number { return 1; }\n",
    "class Extra extends Base { run() { return this.name; } }\n",
    "const x = new Cart();\nx.add(1);\n",
    "(1)\n",
    "[1]\n",
    "é",
    "😀",
    "interface I { a: number }\n",
    "    ",
    "return ",
    // Members through declared types: an alias's members change, an intersection grows.
    "type Timeout = { seconds: number };\n",
    " & { milliseconds: string }",
    "retry: Required<RetryOptions>;\n",
    "const o: Options = { timeout: 1 };\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 200, .. ProptestConfig::default() })]

    #[test]
    fn python_edits_equal_fresh_index(edits in edits(PYTHON_SNIPPETS)) {
        run_edits("python", "py", &edits)?;
    }

    #[test]
    fn typescript_edits_equal_fresh_index(edits in edits(TYPESCRIPT_SNIPPETS)) {
        run_edits("typescript", "ts", &edits)?;
    }

    #[test]
    fn rust_edits_equal_fresh_index(edits in edits(RUST_SNIPPETS)) {
        run_edits("rust", "rs", &edits)?;
    }
}
