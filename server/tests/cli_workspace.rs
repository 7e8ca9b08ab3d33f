//! The command line over the workspace, as a user runs it: a folder indexed once answers
//! from its store afterwards (and the same as a cold index), and `execute`, `verify
//! --diff` and `history` reach the sandbox and the run history with `--json`.

use std::path::Path;

use codecontext_tests::{cli_json, copy_fixture, run_cli};
use serde_json::Value;

/// Runs the binary with its store in `home`; exit code, stdout, stderr.
fn run(home: &Path, args: &[&str]) -> (i32, String, String) {
    run_cli(env!("CARGO_BIN_EXE_codecontext"), home, args)
}

fn json(home: &Path, args: &[&str]) -> Value {
    cli_json(env!("CARGO_BIN_EXE_codecontext"), home, args)
}

#[test]
fn a_folder_indexed_once_answers_from_its_store_as_a_cold_index_does() {
    let project = copy_fixture("python");
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();

    let first = json(home.path(), &["index", p, "--json"]);
    assert_eq!(first["files"], 8);
    assert_eq!(first["from_store"], 0, "nothing stored yet: {first}");
    let second = json(home.path(), &["index", p, "--json"]);
    assert_eq!(
        second["from_store"], 8,
        "every file from the store: {second}"
    );
    assert_eq!(second["resolutions_restored"], true, "{second}");
    for key in ["files", "symbols", "lines", "edges", "syntax_errors"] {
        assert_eq!(first[key], second[key], "{key} differs after a warm start");
    }

    let cold = json(
        home.path(),
        &["definition", p, "main.py:8:12", "--json", "--no-store"],
    );
    let warm = json(home.path(), &["definition", p, "main.py:8:12", "--json"]);
    assert_eq!(warm["how"], "exact");
    assert_eq!(
        warm["targets"][0]["location"],
        "shop/services/pricing.py:16:7"
    );
    assert_eq!(cold, warm);
    let cold = json(
        home.path(),
        &["references", p, "shop/util.py:6:5", "--json", "--no-store"],
    );
    let warm = json(
        home.path(),
        &["references", p, "shop/util.py:6:5", "--json"],
    );
    assert!(!warm["references"].as_array().unwrap().is_empty());
    assert_eq!(cold, warm);

    // A file edited between two commands is read again, not taken from the store.
    let util = project.path().join("shop/util.py");
    let text = std::fs::read_to_string(&util).unwrap();
    std::fs::write(&util, format!("\n\n{text}")).unwrap();
    let moved = json(
        home.path(),
        &["references", p, "shop/util.py:8:5", "--json"],
    );
    let fresh = json(
        home.path(),
        &["references", p, "shop/util.py:8:5", "--json", "--no-store"],
    );
    assert_eq!(moved, fresh);
    assert!(!moved["references"].as_array().unwrap().is_empty());
}

#[test]
fn execute_runs_a_snippet_and_history_lists_the_run() {
    let project = copy_fixture("verify/python");
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();

    let answer = json(
        home.path(),
        &[
            "execute",
            p,
            "--language",
            "python",
            "--code",
            "print(6 * 7)",
            "--json",
        ],
    );
    assert_eq!(answer["status"], "ok", "{answer}");
    assert_eq!(answer["exitCode"], 0);
    assert_eq!(answer["stdout"], "42\n");
    let run_id = answer["runId"].as_i64().expect("the run is recorded");

    let (code, stdout, _) = run(
        home.path(),
        &[
            "execute",
            p,
            "--language",
            "python",
            "--code",
            "import sys; sys.exit(3)",
        ],
    );
    assert_eq!(code, 1, "a snippet that fails exits 1: {stdout}");
    assert!(stdout.contains("exit 3"), "{stdout}");

    let history = json(home.path(), &["history", p, "--json"]);
    let runs = history["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{history}");
    assert_eq!(runs[1]["id"], run_id);
    assert_eq!(runs[1]["kind"], "execute");
    assert_eq!(runs[1]["status"], "ok");
    assert!(runs[1].get("detail").is_none(), "detail only when asked");

    let (code, _, stderr) = run(
        home.path(),
        &["execute", p, "--language", "cobol", "--code", "x"],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown language `cobol`"), "{stderr}");
}

#[test]
fn verify_takes_a_diff_and_the_history_of_a_symbol_shows_it() {
    let project = copy_fixture("verify/python");
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();
    let before = std::fs::read_to_string(project.path().join("calc.py")).unwrap();

    let broken = project.path().join("broken.diff");
    std::fs::write(
        &broken,
        "--- a/calc.py\n+++ b/calc.py\n@@ -8,2 +8,2 @@\n def double(a):\n-    return add(a, a)\n+    return 3 * a\n",
    )
    .unwrap();
    let b = broken.to_str().unwrap();
    let verdict = json(home.path(), &["verify", p, "--diff", b, "--json"]);
    assert_eq!(verdict["verdict"], "failed", "{verdict}");
    assert_eq!(
        verdict["edit"]["symbols"],
        serde_json::json!(["calc.double"])
    );
    let failed: Vec<&str> = verdict["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == "failed")
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["tests/test_calc.py::test_doubles"]);
    let (code, text, _) = run(home.path(), &["verify", p, "--diff", b]);
    assert_eq!(code, 1);
    assert!(text.starts_with("failed:"), "{text}");
    assert!(
        text.contains("failed: tests/test_calc.py::test_doubles"),
        "{text}"
    );

    let fixed = project.path().join("fixed.diff");
    std::fs::write(
        &fixed,
        "--- a/calc.py\n+++ b/calc.py\n@@ -8,2 +8,2 @@\n def double(a):\n-    return add(a, a)\n+    return 2 * a\n",
    )
    .unwrap();
    let verdict = json(
        home.path(),
        &[
            "verify",
            p,
            "--diff",
            fixed.to_str().unwrap(),
            "--tests",
            "affected",
            "--json",
        ],
    );
    assert_eq!(verdict["verdict"], "passed", "{verdict}");
    // The graph chose the one test that reaches `double`, through the warm index.
    assert_eq!(
        verdict["affected"][0]["name"], "tests/test_calc.py::test_doubles",
        "{verdict}"
    );
    assert_eq!(verdict["tests"].as_array().unwrap().len(), 1, "{verdict}");

    // The user's files are never touched.
    assert_eq!(
        std::fs::read_to_string(project.path().join("calc.py")).unwrap(),
        before
    );
    let history = json(
        home.path(),
        &["history", p, "--symbol", "calc.double", "--json"],
    );
    let statuses: Vec<&str> = history["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    // The broken edit ran twice (--json, then text), the fixed one last.
    assert_eq!(
        statuses,
        ["passed", "failed", "failed"],
        "newest first: {history}"
    );
    let (code, _, stderr) = run(
        home.path(),
        &[
            "verify",
            p,
            "--diff",
            project.path().join("missing.diff").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read"), "{stderr}");
}

#[test]
fn assess_predicts_which_tests_slow_down_from_the_recorded_runs() {
    let project = copy_fixture("assess");
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();
    let diff = |name: &str, text: &str| {
        let path = project.path().join(format!("{name}.diff"));
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };

    // A verification records what each test took.
    let noop = diff(
        "noop",
        "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -1,1 +1,1 @@\n-\"\"\"Prices: what an item costs, discounts, formatting.\"\"\"\n+\"\"\"Prices: what an item costs, its discounts, formatting.\"\"\"\n",
    );
    let verdict = json(home.path(), &["verify", p, "--diff", &noop, "--json"]);
    assert_eq!(verdict["verdict"], "passed", "{verdict}");

    // Loops nested one level deeper in a tested function: its tests will feel it, and
    // the answer says what they took so far.
    let nested = diff(
        "nested",
        "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -12,2 +12,6 @@\n def total_price(items):\n-    return sum(price_of(i) for i in items)\n+    total = 0\n+    for i in items:\n+        for _ in range(i.count):\n+            total += i.price\n+    return total\n",
    );
    let answer = json(home.path(), &["assess", p, "--diff", &nested, "--json"]);
    let predictions = answer["performance"].as_array().unwrap();
    assert_eq!(predictions.len(), 1, "{answer}");
    let prediction = &predictions[0];
    assert_eq!(prediction["symbol"], "shop.pricing.total_price");
    assert_eq!(
        prediction["causes"][0]["kind"], "loop-nesting",
        "{prediction}"
    );
    // The innermost loop is where the time goes.
    assert_eq!(prediction["causes"][0]["location"], "shop/pricing.py:15:9");
    let tests = prediction["tests"].as_array().unwrap();
    assert_eq!(
        tests[0]["name"], "tests/test_pricing.py::test_total_price",
        "{prediction}"
    );
    assert_eq!(tests[0]["recorded"]["runs"], 1, "{prediction}");
    assert!(tests[0]["recorded"]["medianMs"].as_f64().unwrap() >= 0.0);
    let finding = answer["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "performance")
        .unwrap_or_else(|| panic!("a performance finding: {answer}"));
    assert_eq!(finding["location"], "shop/pricing.py:12:5");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("tests/test_pricing.py::test_total_price (median"),
        "{message}"
    );

    // A call, inside a loop, of a function that loops itself.
    let call = diff(
        "call",
        "--- a/shop/cart.py\n+++ b/shop/cart.py\n@@ -14,2 +14,2 @@\n     def total(self):\n-        return apply_discount(sum(price_of(i) for i in self.items), 0.1)\n+        return apply_discount(sum(total_price([i]) for i in self.items), 0.1)\n",
    );
    let answer = json(home.path(), &["assess", p, "--diff", &call, "--json"]);
    let cause = &answer["performance"][0]["causes"][0];
    assert_eq!(cause["kind"], "call-in-loop", "{answer}");
    assert_eq!(cause["location"], "shop/cart.py:15:35");
    assert!(
        cause["message"]
            .as_str()
            .unwrap()
            .contains("`shop.pricing.total_price` inside a loop, and it loops itself"),
        "{cause}"
    );

    // Moving code around inside a loop adds no cost.
    let same = diff(
        "same",
        "--- a/shop/report.py\n+++ b/shop/report.py\n@@ -5,2 +5,2 @@\n             key = order.customer\n-            totals[key] = totals.get(key, 0) + order.amount\n+            totals[key] = order.amount + totals.get(key, 0)\n",
    );
    let answer = json(home.path(), &["assess", p, "--diff", &same, "--json"]);
    assert_eq!(answer["performance"], serde_json::json!([]), "{answer}");
}

/// `codecontext report` on a history built here: `core/fragile.py` is changed and fixed
/// over and over, `util/steady.py` only grows, `app.py` imports both and a test imports
/// `app`. The report ranks the fragile file first, its module riskiest, draws the
/// imports between modules, and shows the verification run before it with its test.
#[test]
fn report_ranks_hotspots_and_risk_and_shows_the_recorded_runs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let p = root.to_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut repo = codecontext_tests::GitRepo::init(&root, 100);
    let (mut fragile, mut steady) = (String::new(), String::new());
    for i in 0..30 {
        fragile.push_str(&format!(
            "def f{i}(x):\n    if x > {i}:\n        return x\n    y = x * {i}\n    return y + {i}\n\n\n"
        ));
        repo.commit("core/fragile.py", &fragile, &format!("Add f{i}"));
        fragile = fragile.replace(
            &format!("    y = x * {i}\n"),
            &format!("    y = x * {i} + 1\n"),
        );
        repo.commit(
            "core/fragile.py",
            &fragile,
            &format!("Fix f{i} when x is 0"),
        );
        steady.push_str(&format!("def g{i}(x):\n    return x * {i}\n\n\n"));
        repo.commit("util/steady.py", &steady, &format!("Add g{i}"));
    }
    repo.commit(
        "app.py",
        "\"\"\"The app.\"\"\"\nfrom core.fragile import f0\nfrom util.steady import g0\n\n\ndef main(x):\n    return f0(x) + g0(x)\n",
        "Add the app",
    );
    repo.commit(
        "tests/test_app.py",
        "from app import main\n\n\ndef test_main():\n    assert main(1) == 1\n",
        "Test the app",
    );

    // A verification, for the recorded runs.
    let noop = root.join("noop.diff");
    std::fs::write(
        &noop,
        "--- a/app.py\n+++ b/app.py\n@@ -1,1 +1,1 @@\n-\"\"\"The app.\"\"\"\n+\"\"\"The application.\"\"\"\n",
    )
    .unwrap();
    let verdict = json(
        home.path(),
        &["verify", p, "--diff", noop.to_str().unwrap(), "--json"],
    );
    assert_eq!(verdict["verdict"], "passed", "{verdict}");

    let report = json(home.path(), &["report", p, "--json"]);
    assert_eq!(report["commits"], 92, "{report}");
    let risk_status = report["riskStatus"].as_str().unwrap();
    assert!(risk_status.starts_with("learned from"), "{risk_status}");

    let hot = &report["hotspots"];
    assert_eq!(hot[0]["path"], "core/fragile.py", "{hot}");
    assert_eq!(
        (&hot[0]["changes"], &hot[0]["fixes"], &hot[0]["complexity"]),
        (&Value::from(60), &Value::from(30), &Value::from(60)),
        "{hot}"
    );
    assert_eq!(hot[0]["worst"]["symbol"], "f0");
    assert_eq!(hot[0]["worst"]["location"], "core/fragile.py:1:5");
    assert_eq!(hot[1]["path"], "util/steady.py", "{hot}");
    assert_eq!(hot[1]["score"], 30 * 30);

    let modules = report["modules"].as_array().unwrap();
    let risk = |name: &str| {
        let m = modules.iter().find(|m| m["module"] == name).unwrap();
        m["risk"].as_f64().unwrap()
    };
    assert_eq!(modules[0]["module"], "core", "{modules:?}");
    assert_eq!(modules[0]["fixes"], 30);
    assert!(risk("core") > risk("util"), "{modules:?}");

    let edges: Vec<(&str, &str)> = report["dependencies"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let end = |key: &str| e[key].as_str().unwrap();
            (end("importer"), end("imported"))
        })
        .collect();
    for edge in [(".", "core"), (".", "util"), ("tests", ".")] {
        assert!(edges.contains(&edge), "{edge:?} in {edges:?}");
    }

    let tests = report["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 1, "{tests:?}");
    assert_eq!(tests[0]["name"], "tests/test_app.py::test_main");
    assert_eq!(tests[0]["runs"][0]["outcome"], "passed");
    let verifications = report["verifications"].as_array().unwrap();
    assert_eq!(verifications.len(), 1, "{verifications:?}");
    assert_eq!(verifications[0]["verdict"], "passed");
    assert_eq!(verifications[0]["passed"], 1);

    // The page: written where asked, each section there.
    let page = root.join("report.html");
    let (code, stdout, stderr) = run(home.path(), &["report", p, "--out", page.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("wrote "), "{stdout}");
    let html = std::fs::read_to_string(&page).unwrap();
    for id in ["hotspots", "risk", "tests", "verifications", "dependencies"] {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    assert!(html.contains("tests/test_app.py::test_main"));

    let (code, _, stderr) = run(home.path(), &["report", "/no/such/folder"]);
    assert_eq!(code, 2, "{stderr}");
}

/// An edit that starts to use a parameter as an object, unchecked, while callers
/// elsewhere pass it `None` or leave it at its `None` default: each such call is named;
/// with a check first, nothing is said.
#[test]
fn assess_names_the_calls_that_pass_none_to_a_parameter_the_edit_dereferences() {
    let project = copy_fixture("assess");
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();
    let write = |path: &str, text: &str| std::fs::write(project.path().join(path), text).unwrap();
    write(
        "shop/notify.py",
        "def send(message, timeout=None):\n    return message\n",
    );
    write(
        "shop/alerts.py",
        "from shop.notify import send\n\n\ndef ping():\n    return send(\"ping\", None)\n\n\ndef hello():\n    return send(\"hello\")\n\n\ndef urgent():\n    return send(\"urgent\", timeout=3)\n",
    );
    let assess = |name: &str, new_line: &str| {
        let diff = format!(
            "--- a/shop/notify.py\n+++ b/shop/notify.py\n@@ -2,1 +2,1 @@\n-    return message\n+{new_line}\n"
        );
        let path = project.path().join(format!("{name}.diff"));
        std::fs::write(&path, diff).unwrap();
        json(
            home.path(),
            &["assess", p, "--diff", path.to_str().unwrap(), "--json"],
        )
    };
    let nulls = |answer: &Value| -> Vec<Value> {
        answer["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "null-dereference")
            .cloned()
            .collect()
    };

    let unchecked = assess(
        "unchecked",
        "    return message if timeout.seconds > 0 else \"\"",
    );
    let found = nulls(&unchecked);
    assert_eq!(found.len(), 1, "{unchecked}");
    let finding = &found[0];
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["symbol"], "shop.notify.send");
    assert_eq!(finding["location"], "shop/notify.py:2:23");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("(`timeout.seconds`), and 2 calls pass it `None`: shop/alerts.py:5:12, shop/alerts.py:9:12 (the default)"),
        "{message}"
    );
    assert!(!message.contains("alerts.py:13"), "{message}");

    let checked = assess(
        "checked",
        "    return message if timeout is not None and timeout.seconds > 0 else \"\"",
    );
    assert_eq!(nulls(&checked), Vec::<Value>::new(), "{checked}");
}

#[test]
fn remember_and_recall_follow_the_code_from_one_command_to_the_next() {
    let project = copy_fixture("memory");
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();

    let remembered = json(
        home.path(),
        &[
            "remember",
            p,
            "--text",
            "Retries back off exponentially",
            "--rationale",
            "the gateway rate-limits",
            "--symbol",
            "retry_delay",
            "--json",
        ],
    );
    assert_eq!(remembered["status"], "current");
    let id = remembered["id"].as_str().unwrap().to_string();

    // The decision records, and the remembered decision, by symbol; text for people.
    let (code, text, _) = run(home.path(), &["recall", p, "--symbol", "retry_delay"]);
    assert_eq!(code, 0);
    assert!(
        text.starts_with(&format!(
            "{id}  decision current  Retries back off exponentially"
        )),
        "{text}"
    );
    assert!(
        text.contains("on symbol billing.retry_delay (billing.py)  same"),
        "{text}"
    );

    // The body edited between two commands: suspect. The symbol deleted: orphaned.
    let billing = project.path().join("billing.py");
    let source = std::fs::read_to_string(&billing).unwrap();
    std::fs::write(&billing, source.replace("2 ** attempt", "3 * attempt")).unwrap();
    let answer = json(
        home.path(),
        &["recall", p, "--symbol", "retry_delay", "--json"],
    );
    assert_eq!(answer["memories"][0]["status"], "suspect", "{answer}");
    assert_eq!(answer["memories"][0]["anchors"][0]["drift"], "body_changed");
    let cut = source.find("def retry_delay").unwrap();
    std::fs::write(&billing, &source[..cut]).unwrap();
    let answer = json(home.path(), &["recall", p, "--query", "retries", "--json"]);
    assert_eq!(answer["memories"][0]["status"], "orphaned", "{answer}");

    // Forgotten: gone from recall, and nothing left to recall exits 1.
    let forgotten = json(home.path(), &["forget", p, &id, "--json"]);
    assert_eq!(forgotten["status"], "forgotten");
    let (code, text, _) = run(home.path(), &["recall", p, "--query", "retries"]);
    assert_eq!((code, text.trim()), (1, "nothing remembered"));
    let (code, _, err) = run(
        home.path(),
        &["remember", p, "--kind", "wish", "--text", "x"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`kind` is `wish`"), "{err}");
}

#[test]
fn recall_of_a_file_shows_each_authors_style_from_git() {
    let project = copy_fixture("memory");
    let home = tempfile::tempdir().unwrap();
    let root = project.path();
    let repo = codecontext_tests::GitRepo::init(root, 1);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "first"]);
    let p = root.to_str().unwrap();
    let (code, text, err) = run(home.path(), &["recall", p, "--file", "billing.py"]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("style of python (1 commits;"), "{text}");
    assert!(
        text.contains("Dev <dev@example.com> (1 commits): indent 4 100%, quotes double 100%"),
        "{text}"
    );
    let answer = json(
        home.path(),
        &["recall", p, "--file", "billing.py", "--json"],
    );
    assert_eq!(
        answer["style"][0]["authors"][0]["habits"]["naming"]["function"]["value"], "snake_case",
        "{answer}"
    );
}
