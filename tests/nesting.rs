//! Deeply nested input costs time in proportion to its size (issue 24): each shape is
//! indexed at a size N and at 4N, and the second must take less than 10 times as long.
//! Linear work takes about 4 times as long, quadratic work 16 times; the ratio does not
//! depend on the machine or the build profile. Each time is the best of a few runs, so
//! that a pause of the machine during one run does not count.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use codecontext_analysis::AnalysisHost;

/// The input file of a shape at size `n`: its name and its text.
type Shape = fn(usize) -> (&'static str, String);

/// `fn a(){` repeated, never closed: the input of the issue.
fn rust_unclosed(n: usize) -> (&'static str, String) {
    ("lib.rs", "fn a(){".repeat(n))
}

/// `open(i)` for each level `i` below `n`, then `close` once per level.
fn nest(n: usize, open: impl Fn(usize) -> String, close: &str) -> String {
    let mut text: String = (0..n).map(open).collect();
    text.push_str(&close.repeat(n));
    text
}

/// Functions nested in functions, each with a doc comment, an import, calls and paths.
fn rust_nested_functions(n: usize) -> (&'static str, String) {
    let open = |i| {
        format!("/// Level {i}.\nfn a{i}(x: u32) {{ let y = x; use m::b{i}; self::f(); b{i}(y);\n")
    };
    ("lib.rs", nest(n, open, "}"))
}

/// Classes nested in methods of classes.
fn typescript_nested_classes(n: usize) -> (&'static str, String) {
    let text = "class A { m() {".repeat(n) + &"}}".repeat(n);
    ("a.ts", text)
}

/// Functions nested in functions, each with locals, members and a call of a name
/// defined nowhere (looked up through every enclosing function).
fn javascript_nested_functions(n: usize) -> (&'static str, String) {
    let open =
        |i| format!("// Level {i}.\nfunction a{i}(p) {{ var x = p; x.y(); this.z(); q(x);\n");
    ("a.js", nest(n, open, "}"))
}

/// Classes nested in classes, each method calling a method by its bare name.
fn java_nested_classes(n: usize) -> (&'static str, String) {
    let open = |i| {
        format!("/** Level {i}. */ class A{i} {{ int f{i}; void m() {{ this.m(); g(f{i}); }}\n")
    };
    ("A.java", nest(n, open, "}"))
}

/// A chain of calls, `a.b().b().b()...`.
fn go_call_chain(n: usize) -> (&'static str, String) {
    (
        "a.go",
        format!("package a\nvar x = a{}\n", ".b()".repeat(n)),
    )
}

/// Lists and tuples, unclosed.
fn python_open_brackets(n: usize) -> (&'static str, String) {
    let text = format!("x = {}\ny = {}\n", "[a, ".repeat(n), "(a, ".repeat(n));
    ("a.py", text)
}

/// The best of `runs` times to index a folder holding the shape's file at size `n`.
fn index_time(shape: Shape, n: usize, runs: usize) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    let (name, text) = shape(n);
    std::fs::write(dir.path().join(name), text).expect("write");
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            let mut host = AnalysisHost::default();
            host.index_root(Path::new(dir.path()), None);
            let report = host.report();
            assert!(
                report.skipped.is_empty(),
                "{name} at {n}: {:?}",
                report.skipped
            );
            start.elapsed()
        })
        .min()
        .expect("at least one run")
}

#[test]
fn nesting_costs_time_in_proportion_to_its_depth() {
    let shapes: [(&str, Shape, usize); 7] = [
        ("rust_unclosed", rust_unclosed, 500),
        ("rust_nested_functions", rust_nested_functions, 120),
        ("typescript_nested_classes", typescript_nested_classes, 200),
        (
            "javascript_nested_functions",
            javascript_nested_functions,
            150,
        ),
        ("java_nested_classes", java_nested_classes, 100),
        ("go_call_chain", go_call_chain, 500),
        ("python_open_brackets", python_open_brackets, 300),
    ];
    let mut times = Vec::new();
    let mut superlinear = false;
    for (name, shape, n) in shapes {
        // Once small, for what happens once per process (queries compiled, parsers made).
        index_time(shape, 10, 1);
        let small = index_time(shape, n, 3);
        let large = index_time(shape, 4 * n, 3);
        let ratio = large.as_secs_f64() / small.as_secs_f64();
        superlinear |= ratio >= 10.0;
        times.push(format!(
            "{name}: {small:?} at {n}, {large:?} at {} ({ratio:.1}x)",
            4 * n
        ));
    }
    assert!(!superlinear, "superlinear: {times:#?}");
}
