//! `codecontext search` as a user runs it: matches with captures and the symbol around
//! them, the index ruling out files that lack the pattern's words, a warm store that
//! answers like a fresh index after a file changed on disk, rules from a file, and clear
//! errors for bad patterns, rules and languages.

use std::path::Path;

use codecontext_tests::{cli_json, copy_fixture, run_cli};
use serde_json::Value;

fn run(home: &Path, args: &[&str]) -> (i32, String, String) {
    run_cli(env!("CARGO_BIN_EXE_codecontext"), home, args)
}

fn search(home: &Path, args: &[&str]) -> Value {
    let mut all = vec!["search"];
    all.extend_from_slice(args);
    all.push("--json");
    cli_json(env!("CARGO_BIN_EXE_codecontext"), home, &all)
}

/// `(place, text)` of each match.
fn places(answer: &Value) -> Vec<(String, String)> {
    answer["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .map(|m| {
            (
                m["place"].as_str().unwrap().to_string(),
                m["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn matches_come_with_captures_and_symbols_and_the_index_rules_out_files() {
    let project = copy_fixture("patterns");
    std::fs::write(
        project.path().join("other.py"),
        "def unrelated():\n    return 1\n",
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();

    let answer = search(
        home.path(),
        &[p, "requests.get($$$ARGS)", "--lang", "py", "--no-store"],
    );
    assert_eq!(answer["language"], "python");
    assert_eq!(
        places(&answer),
        [
            ("sample.py:5:12".into(), "requests.get(url)".into()),
            (
                "sample.py:9:12".into(),
                "requests.get(url, timeout=5)".into()
            ),
        ]
    );
    let second = &answer["matches"][1];
    assert_eq!(second["captures"]["ARGS"]["text"], "url, timeout=5");
    assert_eq!(second["captures"]["ARGS"]["multi"], true);
    assert_eq!(second["symbol"], "sample.fetch_with_timeout");
    assert_eq!(second["symbol_kind"], "function");
    assert_eq!(answer["files_searched"], 1, "{answer}");
    assert_eq!(
        answer["files_ruled_out"], 1,
        "other.py has no `requests`: {answer}"
    );
    assert_eq!(answer["truncated"], false);

    // No literal word: every file of the language is searched.
    let answer = search(
        home.path(),
        &[p, "return $X", "--lang", "python", "--no-store"],
    );
    assert_eq!(answer["files_searched"], 2, "{answer}");
    assert_eq!(answer["files_ruled_out"], 0, "{answer}");

    // The limit cuts the answer and says so.
    let answer = search(
        home.path(),
        &[
            p,
            "$X.unwrap()",
            "--lang",
            "rust",
            "--no-store",
            "--limit",
            "2",
        ],
    );
    assert_eq!(answer["matches"].as_array().unwrap().len(), 2);
    assert_eq!(answer["truncated"], true);

    // Text output: grep's exit codes, one line per match with the symbol around it.
    let (code, stdout, _) = run(
        home.path(),
        &[
            "search",
            p,
            "helper($A, $B)",
            "--lang",
            "rust",
            "--no-store",
        ],
    );
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("sample.rs:24:22: helper(self.count, 1)  [in crate::sample::Counter::bump]\n    $A = self.count\n    $B = 1\n"),
        "{stdout}"
    );
    let (code, stdout, _) = run(
        home.path(),
        &[
            "search",
            p,
            "no_such_function($A)",
            "--lang",
            "rust",
            "--no-store",
        ],
    );
    assert_eq!(code, 1, "{stdout}");
}

#[test]
fn a_warm_store_answers_like_a_fresh_index_after_a_file_changed() {
    let project = copy_fixture("patterns");
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();
    let pattern = ["requests.get($$$ARGS)", "--lang", "python"];

    let mut args = vec![p];
    args.extend_from_slice(&pattern);
    let before = search(home.path(), &args);
    assert_eq!(places(&before).len(), 2);

    // A third call, and `requests` gone from a file the store had ruled in.
    let sample = project.path().join("sample.py");
    let text = std::fs::read_to_string(&sample).unwrap();
    std::fs::write(
        &sample,
        text.replace(
            "def main():",
            "def again():\n    return requests.get(\"x\", stream=True)\n\n\ndef main():",
        ),
    )
    .unwrap();
    std::fs::write(
        project.path().join("later.py"),
        "import requests\n\nrequests.get(1)\n",
    )
    .unwrap();

    let warm = search(home.path(), &args);
    args.push("--no-store");
    let fresh = search(home.path(), &args);
    assert_eq!(places(&warm), places(&fresh));
    assert_eq!(
        places(&warm)
            .into_iter()
            .map(|(p, _)| p)
            .collect::<Vec<_>>(),
        [
            "later.py:3:1",
            "sample.py:5:12",
            "sample.py:9:12",
            "sample.py:26:12"
        ]
    );
}

#[test]
fn rules_come_from_a_file_in_ast_grep_format() {
    let project = copy_fixture("patterns");
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();
    let rule = project.path().join("unwrap.yml");
    std::fs::write(
        &rule,
        "rule:\n  pattern: $X.unwrap()\n  inside:\n    kind: impl_item\n    stopBy: end\n",
    )
    .unwrap();
    let answer = search(
        home.path(),
        &[
            p,
            rule.to_str().unwrap(),
            "--rule",
            "--lang",
            "rust",
            "--no-store",
        ],
    );
    assert_eq!(
        places(&answer),
        [("sample.rs:25:17".into(), "fallible().unwrap()".into())]
    );
}

#[test]
fn bad_searches_are_clear_errors() {
    let project = copy_fixture("patterns");
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();
    for (args, expected) in [
        (
            vec!["search", p, "fn ( {", "--lang", "rust"],
            "the pattern `fn ( {` is not valid rust",
        ),
        (
            vec!["search", p, "$X", "--lang", "cobol"],
            "unknown language `cobol` (known: ",
        ),
        (
            vec!["search", p, "(call) @x (", "--query", "--lang", "python"],
            "the tree-sitter query does not compile for python",
        ),
        (
            vec!["search", p, "/nonexistent.yml", "--rule", "--lang", "rust"],
            "reading the rule /nonexistent.yml",
        ),
    ] {
        let (code, stdout, stderr) = run(home.path(), &args);
        assert_eq!(code, 2, "{args:?}: {stdout}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let broken = project.path().join("broken.yml");
    std::fs::write(&broken, "rule:\n  pattern: [unclosed\n").unwrap();
    let (code, _, stderr) = run(
        home.path(),
        &[
            "search",
            p,
            broken.to_str().unwrap(),
            "--rule",
            "--lang",
            "rust",
        ],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("the rule is not valid"), "{stderr}");
}

#[test]
fn rules_check_every_file_and_name_the_rule_files_that_do_not_load() {
    let project = copy_fixture("patterns");
    let rules = project.path().join(".codecontext/rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("python.yml"),
        "id: get-without-timeout\nlanguage: python\nseverity: warning\n\
         message: requests.get($$$A) has no timeout\n\
         rule:\n  pattern: requests.get($$$A)\n  not:\n    has:\n      kind: keyword_argument\n      regex: ^timeout\n      stopBy: end\n\
         fix: requests.get($$$A, timeout=10)\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("rust.yml"),
        "id: no-helper\nlanguage: rust\nseverity: hint\nmessage: helper\nrule:\n  pattern: helper($$$)\n\
         ---\nid: broken\nlanguage: rust\nrule:\n  pattern: fn (\n",
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();
    let (code, stdout, stderr) = run(home.path(), &["rules", p, "--json", "--no-store"]);
    assert_eq!(code, 1, "a warning: {stdout}{stderr}");
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        answer["rules"],
        serde_json::json!(["get-without-timeout", "no-helper"])
    );
    let errors = answer["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{answer}");
    assert!(
        errors[0]
            .as_str()
            .unwrap()
            .starts_with(".codecontext/rules/rust.yml:8: rule `broken`: "),
        "{errors:?}"
    );
    let hits: Vec<(&str, &str, &str)> = answer["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["place"].as_str().unwrap(),
                h["rule"].as_str().unwrap(),
                h["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        hits,
        [
            (
                "sample.py:5:12",
                "get-without-timeout",
                "requests.get(url) has no timeout"
            ),
            ("sample.rs:24:22", "no-helper", "helper"),
        ]
    );
    assert_eq!(
        answer["hits"][0]["fix"]["text"],
        "requests.get(url, timeout=10)"
    );
    // Files of languages without rules are not checked; Java has no rule.
    assert_eq!(answer["files_checked"], 2, "{answer}");

    // Only hints: exit 0.
    let (code, stdout, _) = run(
        home.path(),
        &["rules", p, "--under", "sample.rs", "--no-store"],
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("sample.rs:24:22: hint[no-helper] helper\n"),
        "{stdout}"
    );
}

/// `files` and `ignores` globs, relative to the folder, decide which files a rule checks.
#[test]
fn rules_apply_to_the_files_their_globs_take() {
    let project = copy_fixture("patterns");
    let root = project.path();
    std::fs::create_dir_all(root.join("tests")).unwrap();
    std::fs::copy(root.join("sample.rs"), root.join("tests/sample.rs")).unwrap();
    let rules = root.join(".codecontext/rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("globs.yml"),
        "id: helper-in-tests\nlanguage: rust\nseverity: hint\nfiles: [\"tests/**\"]\nrule:\n  pattern: helper($$$)\n\
         ---\nid: helper-not-in-tests\nlanguage: rust\nseverity: hint\nignores: [\"tests/**\"]\nrule:\n  pattern: helper($$$)\n\
         ---\nid: bad-glob\nlanguage: rust\nfiles: [\"a[\"]\nrule:\n  pattern: helper($$$)\n",
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(
        home.path(),
        &["rules", root.to_str().unwrap(), "--json", "--no-store"],
    );
    assert_eq!(code, 0, "hints only: {stdout}{stderr}");
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    let hits: Vec<(&str, &str)> = answer["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["place"].as_str().unwrap(), h["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(
        hits,
        [
            ("sample.rs:24:22", "helper-not-in-tests"),
            ("tests/sample.rs:24:22", "helper-in-tests"),
        ]
    );
    let errors = answer["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{answer}");
    assert!(
        errors[0]
            .as_str()
            .unwrap()
            .starts_with(".codecontext/rules/globs.yml:17: rule `bad-glob`: its `files`: "),
        "{errors:?}"
    );
}

#[test]
fn usages_group_the_calls_of_a_function_by_shape() {
    let project = copy_fixture("usages");
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();
    let (code, stdout, stderr) = run(home.path(), &["usages", p, "fetch", "--json", "--no-store"]);
    assert_eq!(code, 0, "{stderr}");
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["symbol"], "client.fetch");
    assert_eq!(answer["calls"], 5);
    assert_eq!(answer["files"], 1);
    assert_eq!(
        answer["summary"][0],
        "4 of 5 calls pass `timeout=`; 1 do not: app.py:21:5"
    );
    let keywords: Vec<(&str, u64, u64)> = answer["keywords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["name"].as_str().unwrap(),
                k["passed"].as_u64().unwrap(),
                k["missing"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(keywords, [("timeout", 4, 1), ("retries", 1, 4)]);
    let mut shapes: Vec<(&str, u64)> = answer["shapes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["shape"].as_str().unwrap(), s["count"].as_u64().unwrap()))
        .collect();
    shapes.sort();
    assert_eq!(
        shapes,
        [
            ("(lambda, timeout=None)", 1),
            ("(literal, timeout=literal)", 1),
            ("(literal, timeout=literal, retries=literal)", 1),
            ("(name)", 1),
            ("(name, timeout=literal)", 1),
        ]
    );
    let results: Vec<(&str, u64)> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["what"].as_str().unwrap(), r["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        results,
        [("assigned", 3), ("returned", 1), ("discarded", 1)]
    );
    assert_eq!(answer["before"][0]["what"], "log");
    assert_eq!(answer["before"][0]["count"], 2);
    assert_eq!(answer["after"][0]["what"], "log");

    // The same from a place on the definition; a clear error for an unknown name.
    let (code, by_place, _) = run(
        home.path(),
        &["usages", p, "client.py:1:5", "--json", "--no-store"],
    );
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&by_place).unwrap(), answer);
    let (code, _, stderr) = run(
        home.path(),
        &["usages", p, "no_such_function", "--no-store"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no function or method is named `no_such_function`"),
        "{stderr}"
    );
}
