//! Every fixture workspace: a snapshot of the graph it produces (entities, references,
//! resolutions), and the navigation answers listed in its `expect.txt`.

use codecontext_tests::{check_expectations, index_fixture};

fn check_fixture(name: &str) {
    let host = index_fixture(name);
    let report = host.report();
    assert!(
        report.files >= 4,
        "{name}: only {} files indexed",
        report.files
    );
    assert!(
        report.skipped.is_empty(),
        "{name}: skipped {:?}",
        report.skipped
    );
    insta::assert_snapshot!(format!("{name}_graph"), host.graph().canonical());
    let failures = check_expectations(&host, name);
    assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n"));
}

#[test]
fn python() {
    check_fixture("python");
}

#[test]
fn rust() {
    check_fixture("rust");
}

#[test]
fn go() {
    check_fixture("go");
}

#[test]
fn java() {
    check_fixture("java");
}

#[test]
fn typescript() {
    check_fixture("typescript");
}

#[test]
fn javascript() {
    check_fixture("javascript");
}
