//! Inputs that must never break indexing: syntax errors mid-edit, empty files, unicode
//! identifiers, CRLF line ends, very long lines, deep nesting, binary and non-UTF-8
//! files, files over the size limit.

use std::path::Path;

use codecontext_analysis::{
    AnalysisHost, DocumentChange, HostConfig, Limits, PositionEncoding, SkipReason, WideLineCol,
};
use codecontext_tests::answer;

fn workspace(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, bytes) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }
    dir
}

fn index(dir: &Path) -> AnalysisHost {
    let mut host = AnalysisHost::default();
    host.index_root(dir, None);
    host
}

fn def(host: &AnalysisHost, spec: &str) -> String {
    answer(&host.analysis(), "def", spec).expect("valid position")
}

#[test]
fn syntax_errors_mid_edit_are_kept_as_data_and_go_away_when_fixed() {
    let dir = workspace(&[(
        "m.py",
        b"def helper():\n    return 1\n\n\ndef user():\n    return helper()\n",
    )]);
    let mut host = index(dir.path());
    let path = dir.path().canonicalize().unwrap().join("m.py");
    let text = std::fs::read_to_string(&path).unwrap();
    let id = host.open_document(&path, text).unwrap();
    assert!(host.analysis().syntax_errors(id).is_empty());
    // Type an unfinished definition between the two functions.
    let at = WideLineCol { line: 3, col: 0 };
    host.change_document(
        id,
        &[DocumentChange {
            range: Some((at, at)),
            text: "def broken(:\n".into(),
        }],
        PositionEncoding::Utf16,
    )
    .unwrap();
    let errors = host.analysis().syntax_errors(id);
    assert!(!errors.is_empty(), "the half-typed definition is an error");
    assert!(errors.iter().all(|e| !e.message.is_empty()));
    // The rest of the file still resolves.
    assert_eq!(def(&host, "m.py:7:12"), "m.helper");
    // Finish typing: the error is gone.
    let at = WideLineCol { line: 3, col: 11 };
    host.change_document(
        id,
        &[DocumentChange {
            range: Some((at, at)),
            text: ")".into(),
        }],
        PositionEncoding::Utf16,
    )
    .unwrap();
    let at = WideLineCol { line: 3, col: 13 };
    host.change_document(
        id,
        &[DocumentChange {
            range: Some((at, at)),
            text: "\n    return helper()".into(),
        }],
        PositionEncoding::Utf16,
    )
    .unwrap();
    assert!(host.analysis().syntax_errors(id).is_empty());
    assert_eq!(def(&host, "m.py:5:12"), "m.helper");
}

#[test]
fn empty_files_index_to_nothing() {
    let dir = workspace(&[
        ("empty.py", b""),
        ("empty.rs", b""),
        ("blank.ts", b"\n\n\n"),
    ]);
    let host = index(dir.path());
    let report = host.report();
    assert_eq!(report.files, 3);
    assert!(report.skipped.is_empty());
    assert_eq!(report.symbols, 0);
}

#[test]
fn unicode_identifiers_resolve_with_utf16_columns() {
    // '😀' is two UTF-16 units and one character; the cursor columns below count
    // characters, the document edit counts UTF-16 units.
    let dir = workspace(&[(
        "uni.py",
        "def grüße(名前):\n    return 名前\n\nemoji = \"😀\"; x = grüße(\"世界\")\n".as_bytes(),
    )]);
    let mut host = index(dir.path());
    assert_eq!(def(&host, "uni.py:4:20"), "uni.grüße");
    assert_eq!(def(&host, "uni.py:2:12"), "local 名前");
    // An edit after the emoji, addressed in UTF-16, lands where it should.
    let path = dir.path().canonicalize().unwrap().join("uni.py");
    let text = std::fs::read_to_string(&path).unwrap();
    let id = host.open_document(&path, text).unwrap();
    // Replace the call on line 4: after the emoji (two UTF-16 units), `grüße`
    // spans UTF-16 columns 18..23.
    let start = WideLineCol { line: 3, col: 18 };
    let end = WideLineCol { line: 3, col: 23 };
    host.change_document(
        id,
        &[DocumentChange {
            range: Some((start, end)),
            text: "grüße".into(),
        }],
        PositionEncoding::Utf16,
    )
    .unwrap();
    assert_eq!(
        host.document(id).unwrap().text(),
        "def grüße(名前):\n    return 名前\n\nemoji = \"😀\"; x = grüße(\"世界\")\n"
    );
}

#[test]
fn crlf_files_have_the_same_positions() {
    let dir = workspace(&[(
        "crlf.py",
        b"import os\r\n\r\ndef a():\r\n    return 1\r\n\r\ndef b():\r\n    return a()\r\n",
    )]);
    let host = index(dir.path());
    assert_eq!(def(&host, "crlf.py:7:12"), "crlf.a");
    assert_eq!(def(&host, "crlf.py:6:5"), "crlf.b");
}

#[test]
fn very_long_lines_and_deep_nesting_are_fine() {
    let mut long = String::from("def f(x):\n    return x\n\ny = [");
    for _ in 0..20_000 {
        long.push_str("f(1), ");
    }
    long.push_str("]\n");
    let mut deep = String::new();
    for i in 0..200 {
        deep.push_str(&"    ".repeat(i));
        deep.push_str(&format!("def level{i}():\n"));
    }
    deep.push_str(&"    ".repeat(200));
    deep.push_str("return level0\n");
    let parens = format!("z = {}1{}\n", "(".repeat(5000), ")".repeat(5000));
    let dir = workspace(&[
        ("long.py", long.as_bytes()),
        ("deep.py", deep.as_bytes()),
        ("parens.py", parens.as_bytes()),
    ]);
    let host = index(dir.path());
    assert!(host.report().skipped.is_empty());
    // The last call on the long line, far to the right.
    let col = 5 + 6 * 19_999 + 1;
    assert_eq!(def(&host, &format!("long.py:4:{col}")), "long.f");
    assert_eq!(def(&host, "deep.py:201:808"), "deep.level0");
}

#[test]
fn binary_invalid_utf8_and_huge_files_are_skipped_with_a_reason() {
    let dir = workspace(&[
        ("ok.py", b"def fine():\n    pass\n"),
        ("binary.py", b"def a():\x00\x01\x02 pass\n"),
        ("latin1.py", b"name = '\xe9t\xe9'\n"),
        ("huge.py", &vec![b'#'; 4096]),
    ]);
    let mut host = AnalysisHost::new(HostConfig {
        limits: Limits {
            max_file_size: 1024,
            ..Limits::default()
        },
    });
    host.index_root(dir.path(), None);
    let report = host.report();
    let reason = |name: &str| {
        report
            .skipped
            .iter()
            .find(|s| s.path == name)
            .map(|s| s.reason.clone())
    };
    assert!(matches!(
        reason("binary.py"),
        Some(SkipReason::Binary { .. })
    ));
    assert!(matches!(
        reason("latin1.py"),
        Some(SkipReason::InvalidUtf8 { offset: 8 })
    ));
    assert!(matches!(
        reason("huge.py"),
        Some(SkipReason::TooLarge {
            size: 4096,
            limit: 1024
        })
    ));
    assert_eq!(reason("ok.py"), None);
    assert_eq!(def(&host, "ok.py:1:5"), "ok.fine");
}

#[test]
fn a_document_growing_past_the_limit_is_dropped_then_restored() {
    let dir = workspace(&[("g.py", b"def g():\n    pass\n")]);
    let mut host = AnalysisHost::new(HostConfig {
        limits: Limits {
            max_file_size: 256,
            ..Limits::default()
        },
    });
    host.index_root(dir.path(), None);
    let path = dir.path().canonicalize().unwrap().join("g.py");
    let id = host
        .open_document(&path, "def g():\n    pass\n".to_string())
        .unwrap();
    let end = WideLineCol { line: 2, col: 0 };
    host.change_document(
        id,
        &[DocumentChange {
            range: Some((end, end)),
            text: "#".repeat(300),
        }],
        PositionEncoding::Utf16,
    )
    .unwrap();
    assert!(matches!(
        host.report().skipped.first().map(|s| &s.reason),
        Some(SkipReason::TooLarge { .. })
    ));
    assert_eq!(def(&host, "g.py:1:5"), "none");
    let end2 = WideLineCol { line: 2, col: 300 };
    host.change_document(
        id,
        &[DocumentChange {
            range: Some((end, end2)),
            text: String::new(),
        }],
        PositionEncoding::Utf16,
    )
    .unwrap();
    assert!(host.report().skipped.is_empty());
    assert_eq!(def(&host, "g.py:1:5"), "g.g");
}
