//! Generated inputs that a hostile or unlucky user could open (issue 24), per language,
//! normal files of any size to compare them with, and [`process`], what an editor does
//! with a file (index, open, edit, ask). Shared by `tests/pathological.rs` and
//! `codecontext-bench pathological`.
//!
//! - nesting 20,000 deep: braces (unclosed items, and blocks closed again), brackets and
//!   parentheses; in Python also functions nested by indentation, as deep as a file
//!   under the 2 MiB limit holds (each level costs one more space on every line below
//!   it: 1,400 levels are about 1 MB; the grammar gives up on indentation past a few
//!   hundred levels, and what it kept is indexed with a syntax error);
//! - a 1 MB single line: the items of a normal file, minified;
//! - 100,000 sibling definitions;
//! - 10,000 definitions of one name, each referring to it (10,000 references with
//!   10,000 candidates each).

use std::time::{Duration, Instant};

use codecontext_analysis::{
    AnalysisHost, DocumentChange, FileId, PositionEncoding, SearchMode, TextRange,
};

/// How deep the nesting inputs nest.
pub const DEPTH: usize = 20_000;
/// How deep the indentation input nests (bounded by the file size limit, see above).
pub const INDENT_DEPTH: usize = 1_400;
/// The length of the single-line input.
pub const LINE_BYTES: usize = 1_000_000;
/// How many siblings the siblings input defines.
pub const SIBLINGS: usize = 100_000;
/// How many definitions of one name the candidates input has.
pub const CANDIDATES: usize = 10_000;

/// A language and how to write normal code in it.
pub struct Lang {
    /// The registry's name.
    pub name: &'static str,
    /// The name of the file the inputs are written to.
    pub file: &'static str,
    /// Text before the items (a package clause).
    header: &'static str,
    /// Item `i` of a normal file: a type with a method, a function, calls, a doc
    /// comment, a local and a non-ASCII string. `one_line` writes it without line
    /// comments or newlines that matter.
    item: fn(usize, bool) -> String,
    /// Separator of the items of the single-line input.
    line_separator: &'static str,
}

/// A generated input: which shape, its text, and where a reference to a name defined in
/// it sits (a byte offset inside the name), if it has one worth asking about.
pub struct Input {
    pub shape: &'static str,
    pub text: String,
    pub reference: Option<usize>,
}

/// The six languages.
pub const LANGUAGES: &[Lang] = &[
    Lang {
        name: "rust",
        file: "lib.rs",
        header: "",
        item: rust_item,
        line_separator: " ",
    },
    Lang {
        name: "python",
        file: "a.py",
        header: "",
        item: python_item,
        line_separator: "; ",
    },
    Lang {
        name: "typescript",
        file: "a.ts",
        header: "",
        item: typescript_item,
        line_separator: " ",
    },
    Lang {
        name: "javascript",
        file: "a.js",
        header: "",
        item: javascript_item,
        line_separator: " ",
    },
    Lang {
        name: "go",
        file: "a.go",
        header: "package a\n",
        item: go_item,
        line_separator: "; ",
    },
    Lang {
        name: "java",
        file: "A.java",
        header: "",
        item: java_item,
        line_separator: " ",
    },
];

fn rust_item(i: usize, one_line: bool) -> String {
    let doc = if one_line {
        format!("/** Item {i}. */")
    } else {
        format!("/// Item {i}.\n")
    };
    format!(
        "{doc}pub struct S{i} {{ x: u32 }}\nimpl S{i} {{\n    pub fn get(&self, y: u32) -> u32 \
         {{ let z = self.x + y; let s = \"é{i}\"; helper{i}(z, s) }}\n}}\n\
         fn helper{i}(v: u32, s: &str) -> u32 {{ v * s.len() as u32 }}\n"
    )
}

fn python_item(i: usize, one_line: bool) -> String {
    if one_line {
        // Compound statements cannot share a line: simple ones, separated by `;`.
        format!("x{i} = helper(y{i}, \"é{i}\"); z{i} = x{i}.get(w{i})")
    } else {
        format!(
            "class C{i}:\n    \"\"\"Item {i}.\"\"\"\n\n    def get(self, y):\n        \
             z = self.x + y\n        return helper{i}(z, \"é{i}\")\n\n\n\
             def helper{i}(v, s):\n    return v * len(s)\n\n\n"
        )
    }
}

fn typescript_item(i: usize, _one_line: bool) -> String {
    format!(
        "/** Item {i}. */\nexport class C{i} {{\n  x: number = 0;\n  get(y: number): number \
         {{ const z = this.x + y; return helper{i}(z, \"é{i}\"); }}\n}}\n\
         function helper{i}(v: number, s: string): number {{ return v * s.length; }}\n"
    )
}

fn javascript_item(i: usize, _one_line: bool) -> String {
    format!(
        "/** Item {i}. */\nexport class C{i} {{\n  get(y) {{ const z = this.x + y; \
         return helper{i}(z, \"é{i}\"); }}\n}}\n\
         function helper{i}(v, s) {{ return v * s.length; }}\n"
    )
}

fn go_item(i: usize, one_line: bool) -> String {
    let doc = if one_line {
        String::new()
    } else {
        format!("// S{i} is item {i}.\n")
    };
    let sep = if one_line { "; " } else { "\n" };
    format!(
        "{doc}type S{i} struct {{ x int }}{sep}func (s *S{i}) Get(y int) int {{ z := s.x + y; \
         return helper{i}(z, \"é{i}\") }}{sep}func helper{i}(v int, s string) int \
         {{ return v * len(s) }}{sep}"
    )
}

fn java_item(i: usize, _one_line: bool) -> String {
    format!(
        "/** Item {i}. */\nclass C{i} {{\n  int x;\n  int get(int y) {{ int z = this.x + y; \
         return helper{i}(z, \"é{i}\"); }}\n  static int helper{i}(int v, String s) \
         {{ return v * s.length(); }}\n}}\n"
    )
}

/// Items `0..` of `lang` until the text is `size` bytes long (cut at the end of an
/// item, or padded with spaces, so that it is exactly `size`), with a reference to the
/// first item's helper.
fn items(lang: &Lang, size: usize, one_line: bool) -> Input {
    let mut text = lang.header.to_string();
    let mut i = 0;
    while text.len() < size {
        let mut item = (lang.item)(i, one_line);
        if one_line {
            item = item.replace('\n', " ");
            if i > 0 {
                text.push_str(lang.line_separator);
            }
        }
        if text.len() + item.len() > size && i > 0 {
            break;
        }
        text.push_str(&item);
        i += 1;
    }
    while text.len() < size {
        text.push(' ');
    }
    let reference = text
        .find("helper0(")
        .or_else(|| text.find("helper("))
        .map(|at| at + 1);
    Input {
        shape: if one_line { "single_line" } else { "normal" },
        text,
        reference,
    }
}

/// A normal file of `lang` of `size` bytes.
pub fn normal(lang: &Lang, size: usize) -> Input {
    items(lang, size, false)
}

/// `open` `n` times, then `close` `n` times, between `before` and `after`.
fn nest(before: &str, open: &str, n: usize, middle: &str, close: &str, after: &str) -> String {
    let mut text = String::with_capacity(before.len() + n * (open.len() + close.len()) + 64);
    text.push_str(before);
    for _ in 0..n {
        text.push_str(open);
    }
    text.push_str(middle);
    for _ in 0..n {
        text.push_str(close);
    }
    text.push_str(after);
    text
}

/// `n` copies of `item(i)`, after `before` and before `after`.
fn repeat(before: &str, n: usize, item: impl Fn(usize) -> String, after: &str) -> String {
    let mut text = before.to_string();
    for i in 0..n {
        text.push_str(&item(i));
    }
    text.push_str(after);
    text
}

/// The pathological inputs of a language.
pub fn pathological_inputs(lang: &Lang) -> Vec<Input> {
    let n = DEPTH;
    let input = |shape, text: String| Input {
        shape,
        text,
        reference: None,
    };
    // The candidates: the reference asked about is the last definition's.
    let candidates = |before: &str, item: &dyn Fn(usize) -> String, after: &str| {
        let text = repeat(before, CANDIDATES, item, after);
        let reference = text.rfind("same(").map(|at| at + 1);
        Input {
            shape: "candidates",
            text,
            reference,
        }
    };
    let mut inputs = match lang.name {
        "rust" => vec![
            input("unclosed_braces", "fn a(){".repeat(n)),
            input("blocks", nest("fn f() {", "{", n, "", "}", "}\n")),
            input(
                "brackets",
                nest("fn f() { let x = ", "[", n, "", "]", "; }\n"),
            ),
            input(
                "parens",
                nest("fn f() { let x = ", "f(", n, "", ")", "; }\n"),
            ),
            input(
                "siblings",
                repeat("", SIBLINGS, |i| format!("fn a{i}() {{}}\n"), ""),
            ),
            candidates("", &|_| "fn same() { same(); }\n".to_string(), ""),
        ],
        "python" => vec![
            input("unclosed_brackets", format!("x = {}\n", "[a, ".repeat(n))),
            input(
                "indentation",
                (0..INDENT_DEPTH)
                    .map(|i| format!("{}def f{i}(x):\n", " ".repeat(i)))
                    .chain([format!("{}pass\n", " ".repeat(INDENT_DEPTH))])
                    .collect(),
            ),
            input("braces", nest("x = ", "{", n, "", "}", "\n")),
            input("brackets", nest("x = ", "[", n, "", "]", "\n")),
            input("parens", nest("x = ", "f(", n, "", ")", "\n")),
            input(
                "siblings",
                repeat("", SIBLINGS, |i| format!("def a{i}(): pass\n"), ""),
            ),
            candidates("", &|_| "def same(): same()\n".to_string(), ""),
        ],
        "typescript" | "javascript" => vec![
            input("unclosed_braces", "function a(){".repeat(n)),
            input("blocks", nest("function f() {", "{", n, "", "}", "}\n")),
            input("brackets", nest("const x = ", "[", n, "", "]", ";\n")),
            input("parens", nest("const x = ", "f(", n, "", ")", ";\n")),
            input(
                "siblings",
                repeat("", SIBLINGS, |i| format!("function a{i}() {{}}\n"), ""),
            ),
            candidates("", &|_| "function same() { same(); }\n".to_string(), ""),
        ],
        "go" => vec![
            input(
                "unclosed_braces",
                format!("package a\n{}", "func a(){".repeat(n)),
            ),
            input(
                "blocks",
                nest("package a\nfunc f() {", "{", n, "", "}", "}\n"),
            ),
            input(
                "brackets",
                nest("package a\nvar x = ", "a[", n, "0", "]", "\n"),
            ),
            input(
                "parens",
                nest("package a\nvar x = ", "f(", n, "", ")", "\n"),
            ),
            input(
                "siblings",
                repeat(
                    "package a\n",
                    SIBLINGS,
                    |i| format!("func a{i}() {{}}\n"),
                    "",
                ),
            ),
            candidates(
                "package a\n",
                &|_| "func same() { same() }\n".to_string(),
                "",
            ),
        ],
        "java" => vec![
            input("unclosed_braces", "class A { void m() {".repeat(n)),
            input(
                "blocks",
                nest("class A { void m() {", "{", n, "", "}", "}}\n"),
            ),
            input(
                "brackets",
                nest("class A { int x = ", "a[", n, "0", "]", "; }\n"),
            ),
            input(
                "parens",
                nest("class A { int x = ", "f(", n, "", ")", "; }\n"),
            ),
            input(
                "siblings",
                repeat(
                    "class A {\n",
                    SIBLINGS,
                    |i| format!("void a{i}() {{}}\n"),
                    "}\n",
                ),
            ),
            candidates(
                "class A {\n",
                &|_| "void same() { same(); }\n".to_string(),
                "}\n",
            ),
        ],
        other => panic!("no pathological inputs for {other}"),
    };
    inputs.push(items(lang, LINE_BYTES, true));
    inputs
}

/// What processing one file found, so that a test can tell it was really processed.
#[derive(Debug, Default)]
pub struct Processed {
    pub skipped: Option<String>,
    pub outline_items: usize,
    pub errors: usize,
    pub definitions: usize,
    pub references: usize,
}

/// Indexes a folder holding `text` as `file`, opens it, edits it once in the middle, and
/// asks what an editor would; every range answered is converted to UTF-16.
pub fn process(file: &str, text: &str, reference: Option<usize>) -> (Duration, Processed) {
    let start = Instant::now();
    let (_dir, mut host, id) = opened(file, text);
    let mut middle = text.len() / 2;
    while !text.is_char_boundary(middle) {
        middle -= 1;
    }
    let index = host
        .analysis()
        .line_index(id)
        .expect("a line index")
        .clone();
    let position = index.wide_of_offset(PositionEncoding::Utf16, middle as u32);
    host.change_document(
        id,
        &[DocumentChange {
            range: Some((position, position)),
            text: " ".into(),
        }],
        PositionEncoding::Utf16,
    )
    .expect("the edit applies");
    // The space moved what came after it.
    let reference = reference.map(|r| r as u32 + u32::from(middle <= r));
    let processed = ask(&host, id, reference);
    (start.elapsed(), processed)
}

/// A folder holding `text` as `file` (removed when the `TempDir` is dropped), indexed,
/// with the file open.
pub fn opened(file: &str, text: &str) -> (tempfile::TempDir, AnalysisHost, FileId) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir
        .path()
        .canonicalize()
        .expect("canonical temp dir")
        .join(file);
    std::fs::write(&path, text).expect("write");
    let mut host = AnalysisHost::default();
    host.index_root(dir.path(), None);
    let id = host
        .open_document(&path, text.to_string())
        .expect("the file opens");
    (dir, host, id)
}

/// What an editor asks about an open file.
fn ask(host: &AnalysisHost, id: FileId, reference: Option<u32>) -> Processed {
    let analysis = host.analysis();
    let index = analysis.line_index(id).expect("a line index");
    let to_utf16 = |range: TextRange| {
        (
            index.wide_of_offset(PositionEncoding::Utf16, range.start),
            index.wide_of_offset(PositionEncoding::Utf16, range.end),
        )
    };
    let mut processed = Processed {
        skipped: host
            .report()
            .skipped
            .first()
            .map(|s| format!("{}: {}", s.path, s.message)),
        ..Processed::default()
    };
    let mut stack = analysis.outline(id);
    while let Some(item) = stack.pop() {
        to_utf16(item.target.range);
        to_utf16(item.target.focus);
        processed.outline_items += 1;
        stack.extend(item.children);
    }
    for error in analysis.syntax_errors(id) {
        to_utf16(error.range);
        processed.errors += 1;
    }
    for target in analysis.symbols("a", SearchMode::Fuzzy, 128) {
        to_utf16(target.focus);
    }
    if let Some(offset) = reference {
        if let Some(defs) = analysis.definitions(id, offset) {
            for target in &defs.targets {
                to_utf16(target.focus);
            }
            processed.definitions = defs.targets.len();
        }
        if let Some(refs) = analysis.references(id, offset, true) {
            for location in &refs.locations {
                to_utf16(location.range);
            }
            processed.references = refs.locations.len();
        }
    }
    processed
}
