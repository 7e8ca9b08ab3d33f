//! The tests an edit can affect, found through the knowledge graph, on the verify
//! fixtures: an edit to `add` reaches `adds` directly and `doubles` through `double`;
//! an edit to `negate` reaches only its own test.

use codecontext_analysis::{Affected, AnalysisHost, EditScope};
use codecontext_tests::index_fixture;

/// The zero-based line of the first line containing `needle`.
fn line_of(host: &AnalysisHost, rel: &str, needle: &str) -> u32 {
    let path = host.roots().next().unwrap().join(rel);
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {rel}")) as u32
}

/// What editing the one line of `rel` holding `needle` affects.
fn affected(host: &AnalysisHost, rel: &str, needle: &str) -> Affected {
    let path = host.roots().next().unwrap().join(rel);
    let file = host.file_id(&path).unwrap();
    let line = line_of(host, rel, needle);
    host.analysis()
        .affected_tests(&[(file, EditScope::Lines(vec![(line, line + 1)]))])
}

fn names(a: &Affected) -> Vec<String> {
    a.tests.iter().map(|t| t.qualified_name.clone()).collect()
}

#[test]
fn rust_tests_are_reached_through_calls() {
    let host = index_fixture("verify/rust");
    let a = affected(&host, "src/lib.rs", "a + b");
    assert_eq!(a.edited, ["calc::add"]);
    assert_eq!(names(&a), ["calc::tests::adds", "calc::tests::doubles"]);
    let doubles = &a.tests[1];
    assert_eq!(
        doubles.via,
        ["calc::tests::doubles", "calc::double", "calc::add"]
    );
    assert_eq!(doubles.containers, ["tests"]);
    assert!(a.unknown.is_empty());

    let a = affected(&host, "src/lib.rs", "-a");
    assert_eq!(a.edited, ["calc::negate"]);
    assert_eq!(names(&a), ["calc::tests::negates"]);

    // Editing a test itself selects it; a line between items changes no symbol.
    let a = affected(&host, "src/lib.rs", "assert_eq!(double(4), 8)");
    assert_eq!(names(&a), ["calc::tests::doubles"]);
    let a = affected(&host, "src/lib.rs", "//! A tiny crate");
    assert!(a.edited.is_empty() && a.tests.is_empty(), "{a:?}");
}

#[test]
fn python_tests_include_methods_of_test_classes() {
    let host = index_fixture("verify/python");
    let a = affected(&host, "calc.py", "return add(a, a)");
    assert_eq!(a.edited, ["calc.double"]);
    assert_eq!(names(&a), ["tests.test_calc.test_doubles"]);
    let a = affected(&host, "calc.py", "return -a");
    let t = &a.tests[..];
    assert_eq!(t.len(), 1, "{a:?}");
    assert_eq!(t[0].path, "tests/test_negate.py");
    assert_eq!(t[0].containers, ["TestNegate"]);
    assert_eq!(t[0].name, "test_negates");
    // The whole module: every test of the project that uses it.
    let file = host
        .file_id(&host.roots().next().unwrap().join("calc.py"))
        .unwrap();
    let a = host.analysis().affected_tests(&[(file, EditScope::Whole)]);
    assert_eq!(a.tests.len(), 3, "{a:?}");
}

#[test]
fn javascript_tests_are_their_files() {
    let host = index_fixture("verify/node");
    let a = affected(&host, "calc.js", "return -a");
    assert_eq!(
        a.tests.iter().map(|t| t.path.as_str()).collect::<Vec<_>>(),
        ["test/negate.test.js"],
        "{a:?}"
    );
    let a = affected(&host, "calc.js", "return a + b");
    assert_eq!(
        a.tests.iter().map(|t| t.path.as_str()).collect::<Vec<_>>(),
        ["test/calc.test.js"],
        "{a:?}"
    );
}

/// Python tests reach code the way pytest runs it: through a package's submodule as an
/// attribute (`pager._impl._page` after `import pager._impl`), and through the helpers a
/// test's decorators hand it (`@pytest.mark.parametrize("page", [helper])`), and
/// through a method called on a value of unknown type, by its name.
#[test]
fn python_tests_reach_submodules_and_their_decorators_arguments() {
    let host = index_fixture("affected/python-pkg");
    let a = affected(&host, "src/pager/_impl.py", "text.upper()");
    assert_eq!(a.edited, ["src.pager._impl._page"]);
    assert_eq!(
        names(&a),
        [
            "tests.test_pager.test_pages",
            "tests.test_pager.test_the_submodule_directly"
        ]
    );
    assert_eq!(
        a.tests[0].via,
        [
            "tests.test_pager.test_pages",
            "tests.test_pager._through_the_pager",
            "src.pager._impl._page"
        ]
    );
    let a = affected(&host, "src/pager/core.py", "return text");
    assert_eq!(names(&a), ["tests.test_pager.test_echoes"]);
    // `p.render(...)` on a parameter the graph cannot type: any `render` may be meant.
    let a = affected(&host, "src/pager/core.py", "return f\"<{text}>\"");
    assert_eq!(a.edited, ["src.pager.core.Pager.render"]);
    assert_eq!(names(&a), ["tests.test_pager.test_renders"]);
    assert_eq!(a.tests[0].how, codecontext_analysis::How::Unresolved);
}

/// A method called through an interface (`v.Set(s)` on a `Value`): the call's target
/// is the interface's method, and any method of that name may be the one dispatched to.
#[test]
fn go_tests_reach_methods_called_through_an_interface() {
    let host = index_fixture("affected/go-iface");
    let a = affected(&host, "flags.go", "strconv.ParseBool(s)");
    assert_eq!(a.edited.len(), 1, "{a:?}");
    assert!(a.edited[0].ends_with("Set"), "{a:?}");
    assert_eq!(names(&a).len(), 1, "{a:?}");
    assert!(names(&a)[0].ends_with("TestParseBool"), "{a:?}");
    // A function called directly reaches only its own test.
    let a = affected(&host, "flags.go", "return !b");
    assert_eq!(names(&a).len(), 1, "{a:?}");
    assert!(names(&a)[0].ends_with("TestNegate"), "{a:?}");
}
