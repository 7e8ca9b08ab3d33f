//! The `codecontext` binary, run as a user runs it: index a fixture, ask for definitions,
//! references, callers and symbols, and check errors for bad input.

use std::{path::PathBuf, process::Command};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_codecontext"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> serde_json::Value {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 0, "{args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"))
}

#[test]
fn index_json_reports_files_languages_symbols_edges_and_skips() {
    let path = fixture("python");
    let report = json(&["index", path.to_str().unwrap(), "--json"]);
    assert_eq!(report["files"], 8);
    assert_eq!(report["languages"]["python"], 8);
    assert!(report["symbols"].as_u64().unwrap() > 30);
    let edges = &report["edges"];
    assert!(edges["by_kind"]["calls"].as_u64().unwrap() > 10);
    assert!(edges["by_kind"]["imports"].as_u64().unwrap() > 10);
    assert!(edges["by_resolution"]["exact"].as_u64().unwrap() > 50);
    assert_eq!(edges["by_kind_and_resolution"]["inherits"]["exact"], 1);
    assert_eq!(report["skipped"], serde_json::json!([]));
    assert!(report["elapsed_ms"].is_u64());
}

#[test]
fn definition_references_and_callers_by_position_and_name() {
    let path = fixture("python");
    let p = path.to_str().unwrap();
    let def = json(&["definition", p, "main.py:8:12", "--json"]);
    assert_eq!(def["how"], "exact");
    assert_eq!(
        def["targets"][0]["qualified_name"],
        "shop.services.pricing.Cart"
    );
    assert_eq!(
        def["targets"][0]["location"],
        "shop/services/pricing.py:16:7"
    );

    let refs = json(&["references", p, "shop/util.py:6:5", "--json"]);
    let places: Vec<&str> = refs["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["location"].as_str().unwrap())
        .collect();
    assert!(
        places.contains(&"shop/models/product.py:12:22"),
        "{places:?}"
    );
    assert!(
        places.contains(&"shop/services/pricing.py:13:23"),
        "{places:?}"
    );

    let callers = json(&["callers", p, "total_price", "--depth", "2", "--json"]);
    let entries = callers[0]["callers"].as_array().unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|c| c["entity"]["qualified_name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"shop.services.pricing.Pricer.price"),
        "{names:?}"
    );
    assert!(names.contains(&"main.main"), "{names:?}");
    // Depth 2: who calls Pricer.price.
    assert!(entries.iter().any(|c| c["depth"] == 2));

    let (code, stdout, _) = run(&["symbols", p, "totpri"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("shop.services.pricing.total_price"),
        "{stdout}"
    );
}

/// With `CODECONTEXT_REQUEST_BUDGET_MS=0` the walks stop at their first step, and the
/// answers say they are partial; with the default budget they are whole.
#[test]
fn a_spent_request_budget_is_said_in_the_answer() {
    let path = fixture("python");
    let p = path.to_str().unwrap();
    let spent = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_codecontext"))
            .args(args)
            .env("CODECONTEXT_REQUEST_BUDGET_MS", "0")
            .output()
            .expect("the binary runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code(), stdout)
    };
    let references = ["references", p, "shop/util.py:6:5", "--json"];
    let whole = json(&references);
    assert_eq!(whole["truncated"], false);
    assert!(!whole["references"].as_array().unwrap().is_empty());
    let (code, stdout) = spent(&references);
    assert_eq!(code, Some(1), "nothing found: {stdout}");
    let cut: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(cut["truncated"], true);
    assert_eq!(cut["references"], serde_json::json!([]));

    let callers = ["callers", p, "total_price", "--json"];
    assert_eq!(json(&callers)[0]["truncated"], false);
    let (_, stdout) = spent(&callers);
    let cut: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(cut[0]["truncated"], true);
    assert_eq!(cut[0]["callers"], serde_json::json!([]));
    let (_, text) = spent(&["callers", p, "total_price"]);
    assert!(
        text.contains("stopped at the 0 ms request budget"),
        "{text}"
    );

    let context = ["context", p, "total_price", "--json"];
    assert_eq!(json(&context)["truncated"], false);
    let (_, stdout) = spent(&context);
    let cut: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(cut["truncated"], true);
}

#[test]
fn human_output_and_absolute_paths() {
    let path = fixture("rust");
    let file = path.join("src/lib.rs");
    let spec = format!("{}:13:21", file.display());
    let (code, stdout, stderr) = run(&["definition", path.to_str().unwrap(), &spec]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("src/model.rs:35:12"), "{stdout}");
    assert!(
        stdout.contains("mini_shop::model::Item::new [exact]"),
        "{stdout}"
    );
}

#[test]
fn bad_input_gets_a_clear_error_and_a_nonzero_status() {
    let path = fixture("python");
    let p = path.to_str().unwrap();
    let (code, _, stderr) = run(&["definition", p, "main.py:999:1"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("line 999 is past its end"), "{stderr}");
    let (code, _, stderr) = run(&["definition", p, "nope.py:1:1"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not an indexed file"), "{stderr}");
    let (code, _, stderr) = run(&["definition", p, "main.py"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("FILE:LINE:COL"), "{stderr}");
    let (code, _, stderr) = run(&["index", "/definitely/not/here"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("is not a folder"), "{stderr}");
    // No definition is not an error, just nothing found.
    let (code, stdout, _) = run(&["definition", p, "main.py:1:1"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("no definition"), "{stdout}");
}

#[test]
fn context_and_map_rank_within_the_budget() {
    let path = fixture("context");
    let p = path.to_str().unwrap();
    let answer = json(&[
        "context",
        p,
        "shop/cart.py:14:9",
        "--budget",
        "300",
        "--json",
        "--no-store",
    ]);
    assert_eq!(
        answer["targets"],
        serde_json::json!(["shop.cart.Cart.total"])
    );
    let tokens = answer["tokens"].as_u64().unwrap();
    assert!(tokens > 0 && tokens <= 300, "{tokens}");
    let symbols: Vec<&str> = answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols[0], "shop.cart.Cart.total");
    assert!(symbols.contains(&"shop.tax.apply_tax"), "{symbols:?}");
    // A symbol, a file and a task are targets too; text output shows the code.
    let (code, text, _) = run(&["context", p, "shop.tax.apply_tax", "--no-store"]);
    assert_eq!(code, 0);
    assert!(
        text.starts_with("# context for shop.tax.apply_tax"),
        "{text}"
    );
    assert!(
        text.contains("return amount + amount * RATE // 100"),
        "{text}"
    );
    let by_file = json(&["context", p, "shop/banner.py", "--json", "--no-store"]);
    assert!(by_file["targets"][0] == "shop/banner.py", "{by_file}");
    let task = json(&[
        "context",
        p,
        "--task",
        "the landing page banner",
        "--json",
        "--no-store",
    ]);
    assert!(task["targets"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("shop.banner.render_banner")));
    let map = json(&["map", p, "--budget", "200", "--json", "--no-store"]);
    assert!(map["tokens"].as_u64().unwrap() <= 200 && !map["items"].as_array().unwrap().is_empty());
    // Bad targets and budgets: exit 2 and a message.
    let (code, _, stderr) = run(&["context", p, "no.such.thing", "--no-store"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no symbol is named `no.such.thing`"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&[
        "context",
        p,
        "shop.tax.apply_tax",
        "--budget",
        "3",
        "--no-store",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("outside"), "{stderr}");
}

/// `codecontext assess` on fixtures/assess: each kind of finding at its place, a clean
/// change without findings, and bad diffs with an error that says what is wrong.
#[test]
fn assess_reports_each_finding_at_its_place() {
    let path = fixture("assess");
    let p = path.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let assess = |name: &str, diff: &str| {
        let file = dir.path().join(format!("{name}.diff"));
        std::fs::write(&file, diff).unwrap();
        let (code, stdout, stderr) = run(&[
            "assess",
            p,
            "--diff",
            file.to_str().unwrap(),
            "--json",
            "--no-store",
        ]);
        let answer = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
        (code, answer, stderr)
    };
    let findings = |answer: &serde_json::Value| -> Vec<(String, String, String)> {
        answer["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let text = |k: &str| f[k].as_str().unwrap().to_string();
                (text("kind"), text("severity"), text("location"))
            })
            .collect()
    };

    // A clean change to a tested function: no findings, and its tests are named.
    let (code, clean, _) = assess(
        "clean",
        "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -4,2 +4,2 @@\n def price_of(item):\n-    return item.price * item.count\n+    return item.count * item.price\n",
    );
    assert_eq!(code, 0, "{clean}");
    assert_eq!(findings(&clean), vec![]);
    let changed = &clean["symbols"][0];
    assert_eq!(changed["symbol"], "shop.pricing.price_of");
    assert_eq!(changed["change"], "modified");
    let tests = changed["impact"]["tests"].as_array().unwrap();
    assert!(
        tests.contains(&serde_json::json!("tests.test_pricing.test_price_of")),
        "{tests:?}"
    );

    // A camelCase function among snake_case ones, with the rename as an edit.
    let (code, naming, _) = assess(
        "naming",
        "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -25,1 +25,5 @@\n     return round(amount, 2)\n+\n+\n+def computeTax(amount):\n+    return amount * 0.2\n",
    );
    assert_eq!(code, 1, "{naming}");
    assert_eq!(
        findings(&naming),
        vec![(
            "naming".into(),
            "warning".into(),
            "shop/pricing.py:28:5".into()
        )]
    );
    let edit = &naming["findings"][0]["edit"];
    assert_eq!(edit["newText"], "compute_tax");
    assert_eq!(
        edit["start"],
        serde_json::json!({"line": 27, "character": 4})
    );

    // A new required parameter: both callers elsewhere pass two arguments.
    let (code, breaks, _) = assess(
        "breaks",
        "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -8,2 +8,2 @@\n-def apply_discount(total, rate):\n-    return total * (1 - rate)\n+def apply_discount(total, rate, floor):\n+    return max(total * (1 - rate), floor)\n",
    );
    assert_eq!(code, 1);
    let broken: Vec<_> = findings(&breaks)
        .into_iter()
        .filter(|f| f.0 == "broken-call")
        .map(|f| f.2)
        .collect();
    assert_eq!(broken, ["shop/cart.py:15:16", "shop/checkout.py:5:25"]);
    // A default keeps the old calls right.
    let (_, defaulted, _) = assess(
        "defaulted",
        "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -8,2 +8,2 @@\n-def apply_discount(total, rate):\n-    return total * (1 - rate)\n+def apply_discount(total, rate, floor=0):\n+    return max(total * (1 - rate), floor)\n",
    );
    assert!(!findings(&defaulted).iter().any(|f| f.0 == "broken-call"));

    // A function made much more complex and deeply nested.
    let body = "    if amount is None:\n        return 0\n    for step in (1, 2, 3):\n        if step > 1 and amount > 10:\n            while amount > 100:\n                if amount % 2 or amount % 3:\n                    amount -= 1\n                elif amount % 5:\n                    amount -= 2\n                else:\n                    amount -= 3\n    return round(amount, 2) if amount else 0\n";
    let added: String = body.lines().map(|l| format!("+{l}\n")).collect();
    let (code, complex, _) = assess(
        "complex",
        &format!("--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -24,2 +24,13 @@\n def round_price(amount):\n-    return round(amount, 2)\n{added}"),
    );
    assert_eq!(code, 1);
    let kinds: Vec<_> = findings(&complex).into_iter().map(|f| (f.0, f.2)).collect();
    assert!(
        kinds.contains(&("complexity".into(), "shop/pricing.py:24:5".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("nesting".into(), "shop/pricing.py:24:5".into())),
        "{kinds:?}"
    );
    let delta = &complex["symbols"][0]["delta"];
    assert_eq!(
        (delta["cyclomatic"].as_i64(), delta["nesting"].as_i64()),
        (Some(9), Some(4))
    );

    // A function removed while another file still calls it.
    let (_, removed, _) = assess(
        "removed",
        "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -16,5 +16,1 @@\n-def format_price(amount):\n-    return f\"{amount:.2f}\"\n-\n-\n def parse_price(text):\n",
    );
    assert_eq!(
        findings(&removed),
        vec![(
            "removed-but-called".into(),
            "warning".into(),
            "shop/pricing.py:16:5".into()
        )]
    );

    // A new function that repeats an existing one under other names.
    let copy = "def summarize_refunds(refunds):\n    sums = {}\n    for refund in refunds:\n        if refund.state == \"done\":\n            who = refund.buyer\n            sums[who] = sums.get(who, 0) + refund.value\n        elif refund.state == \"undone\":\n            sums[refund.buyer] = sums.get(refund.buyer, 0) - refund.value\n    return sorted(sums.items(), key=lambda pair: pair[1], reverse=True)\n";
    let added: String = copy.lines().map(|l| format!("+{l}\n")).collect();
    let (code, clone, _) = assess(
        "clone",
        &format!("--- a/shop/checkout.py\n+++ b/shop/checkout.py\n@@ -9,1 +9,12 @@\n     return -order.amount\n+\n+\n{added}"),
    );
    assert_eq!(code, 1, "{clone}");
    assert_eq!(
        findings(&clone),
        vec![(
            "clone".into(),
            "warning".into(),
            "shop/checkout.py:12:5".into()
        )]
    );
    let message = clone["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("`shop.report.summarize_orders` (shop/report.py:1:5)"),
        "{message}"
    );

    // Bad diffs: an error that says why, exit 2.
    let (code, _, stderr) = assess("bad", "not a diff\n");
    assert_eq!(code, 2);
    assert!(stderr.contains("no `---`/`+++` file headers"), "{stderr}");
    let (code, _, stderr) = assess(
        "stale",
        "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -1,1 +1,1 @@\n-nothing like this\n+x\n",
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("does not apply to shop/pricing.py"),
        "{stderr}"
    );
}

/// The risk model learns a history built here: every change to `fragile.py` is fixed by
/// the next commit, no change to `steady.py` ever is. A new change to the first scores
/// higher than the same change to the second, for the fixes in its past, and is a
/// finding; the second is not.
#[test]
fn assess_scores_risk_from_the_projects_history() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let mut repo = codecontext_tests::GitRepo::init(&root, 90);
    let mut fragile = String::new();
    let mut steady = String::new();
    for i in 0..30 {
        fragile.push_str(&format!(
            "def f{i}(x):\n    y = x * {i}\n    return y + {i}\n\n"
        ));
        repo.commit("fragile.py", &fragile, &format!("Add f{i}"));
        fragile = fragile.replace(
            &format!("    y = x * {i}\n"),
            &format!("    y = x * {i} + 1\n"),
        );
        repo.commit("fragile.py", &fragile, &format!("Fix f{i} when x is 0"));
        steady.push_str(&format!(
            "def g{i}(x):\n    y = x - {i}\n    return y * {i}\n\n"
        ));
        repo.commit("steady.py", &steady, &format!("Add g{i}"));
    }
    let assess = |file: &str, old_lines: usize| {
        let diff = format!(
            "--- a/{file}\n+++ b/{file}\n@@ -{old_lines},0 +{},3 @@\n+def new(x):\n+    y = x * 99\n+    return y + 99\n",
            old_lines + 1
        );
        let path = root.join(format!("{file}.diff"));
        std::fs::write(&path, diff).unwrap();
        let (_, stdout, stderr) = run(&[
            "assess",
            root.to_str().unwrap(),
            "--diff",
            path.to_str().unwrap(),
            "--json",
            "--no-store",
        ]);
        serde_json::from_str::<serde_json::Value>(&stdout)
            .unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"))
    };
    let lines = 30 * 4;
    let risky = assess("fragile.py", lines);
    let calm = assess("steady.py", lines);
    assert_eq!(risky["riskStatus"], "scored", "{risky}");
    let score = |a: &serde_json::Value| a["risk"]["score"].as_f64().unwrap();
    assert!(
        score(&risky) > score(&calm) + 0.2,
        "{} vs {}",
        score(&risky),
        score(&calm)
    );
    let factors: Vec<&str> = risky["risk"]["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["feature"].as_str().unwrap())
        .collect();
    assert!(
        factors.contains(&"past fixes in the touched files"),
        "{factors:?}"
    );
    let kinds = |a: &serde_json::Value| -> Vec<String> {
        a["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{} {}",
                    f["kind"].as_str().unwrap(),
                    f["location"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert!(
        kinds(&risky).contains(&"risk fragile.py:121:5".to_string()),
        "{:?}",
        kinds(&risky)
    );
    assert!(
        !kinds(&calm).iter().any(|k| k.starts_with("risk")),
        "{:?}",
        kinds(&calm)
    );
    assert_eq!(risky["risk"]["model"]["commits"], 90);
    assert_eq!(risky["risk"]["model"]["fixInducing"], 30);
}
