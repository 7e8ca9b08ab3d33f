//! Context for a task (issue 15), on `fixtures/context`: the budget is kept to the token,
//! a function's callees and callers rank above unrelated code, ambiguous edges below
//! exact ones, files that git shows changing together rise, an edit gives the answer a
//! fresh index gives, and bad targets say what is wrong.

use std::{path::Path, process::Command};

use codecontext_analysis::{AnalysisHost, DocumentChange};
use codecontext_context::{
    context, count_tokens, map, ContextAnswer, ContextError, ContextQuery, History, Target,
};
use codecontext_tests::{copy_fixture, position};

fn index(dir: &Path) -> AnalysisHost {
    let mut host = AnalysisHost::default();
    host.index_root(dir, None);
    host
}

fn ask(host: &AnalysisHost, history: &History, target: Target, budget: usize) -> ContextAnswer {
    context(
        &host.analysis(),
        history,
        &ContextQuery {
            targets: vec![target],
            budget,
        },
    )
    .expect("an answer")
}

fn at(host: &AnalysisHost, spec: &str) -> Target {
    let (file, offset) = position(&host.analysis(), spec).expect("a position");
    Target::Position { file, offset }
}

/// Where `symbol` ranks in the answer (its index), if it is there.
fn rank_of(answer: &ContextAnswer, symbol: &str) -> Option<usize> {
    answer.items.iter().position(|i| i.symbol == symbol)
}

fn symbols(answer: &ContextAnswer) -> Vec<&str> {
    answer.items.iter().map(|i| i.symbol.as_str()).collect()
}

#[test]
fn the_budget_is_kept_to_the_token() {
    let dir = copy_fixture("context");
    let host = index(dir.path());
    let history = History::default();
    for budget in [64, 100, 150, 300, 1000, 4000] {
        let answer = ask(&host, &history, at(&host, "shop/cart.py:14:9"), budget);
        assert_eq!(answer.tokens, count_tokens(&answer.text), "budget {budget}");
        assert!(answer.tokens <= budget, "{} > {budget}", answer.tokens);
        let joined: String = answer.items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(joined, answer.text);
    }
    // A budget with room for everything near the target holds the target's body.
    let roomy = ask(&host, &history, at(&host, "shop/cart.py:14:9"), 4000);
    assert_eq!(roomy.items[0].symbol, "shop.cart.Cart.total");
    assert!(roomy.items[0].text.contains("return apply_tax(subtotal)"));
    // A tight one still answers, with less.
    let tight = ask(&host, &history, at(&host, "shop/cart.py:14:9"), 64);
    assert!(!tight.items.is_empty() && tight.items.len() < roomy.items.len());
}

#[test]
fn callees_and_callers_rank_above_unrelated_code() {
    let dir = copy_fixture("context");
    let host = index(dir.path());
    let answer = ask(
        &host,
        &History::default(),
        at(&host, "shop/cart.py:14:9"),
        4000,
    );
    let all = symbols(&answer);
    let callee = rank_of(&answer, "shop.tax.apply_tax").expect("callee in the answer");
    let caller = rank_of(&answer, "shop.checkout.checkout").expect("caller in the answer");
    for unrelated in [
        "shop.banner.render_banner",
        "shop.banner.shout",
        "vault::sync",
    ] {
        if let Some(r) = rank_of(&answer, unrelated) {
            assert!(callee < r && caller < r, "{all:?}");
        }
    }
    // Each item says how it was reached, from the target.
    let why = &answer.items[callee].why;
    assert_eq!(why[0].relation, "target");
    assert_eq!(why[0].symbol, "shop.cart.Cart.total");
    assert_eq!(why.last().map(|s| s.relation), Some("calls"));
    let why = &answer.items[caller].why;
    assert_eq!(why.last().map(|s| s.relation), Some("called by"));
}

#[test]
fn ambiguous_edges_rank_below_exact_ones() {
    let dir = copy_fixture("context");
    let host = index(dir.path());
    let (file, offset) = position(&host.analysis(), "vault/src/lib.rs:12:16").expect("position");
    let how = host.analysis().definitions(file, offset).map(|d| d.how);
    assert_eq!(
        how,
        Some(codecontext_analysis::How::Ambiguous),
        "the fixture's call is ambiguous"
    );
    let answer = ask(
        &host,
        &History::default(),
        at(&host, "vault/src/lib.rs:8:8"),
        4000,
    );
    let exact = rank_of(&answer, "vault::disk::persist").expect("the exact callee");
    let through_archive: Vec<&str> = answer
        .items
        .iter()
        .filter(|i| i.why.iter().any(|s| s.symbol.ends_with("::archive")))
        .map(|i| i.symbol.as_str())
        .collect();
    assert!(!through_archive.is_empty(), "{:?}", symbols(&answer));
    for (i, item) in answer.items.iter().enumerate() {
        if item.why.iter().any(|s| s.symbol.ends_with("::archive")) {
            assert!(
                exact < i && item.score * 3.0 < answer.items[exact].score,
                "{:?}",
                symbols(&answer)
            );
        }
    }
}

/// Commits `files` (written with a new line each time) in `dir`'s git repository.
fn commit(dir: &Path, files: &[&str], n: usize) {
    for path in files {
        let path = dir.join(path);
        let mut text = std::fs::read_to_string(&path).expect("read");
        text.push_str(&format!("# change {n}\n"));
        std::fs::write(&path, text).expect("write");
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", &format!("change {n}")]);
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@localhost",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

#[test]
fn files_changed_together_rise() {
    let dir = copy_fixture("context");
    git(dir.path(), &["init", "-q"]);
    commit(dir.path(), &[], 0);
    let host = index(dir.path());
    let target = || at(&host, "shop/cart.py:14:9");
    let before = ask(&host, &History::from_git(dir.path()), target(), 4000);
    let banner_before = before
        .items
        .iter()
        .find(|i| i.path == "shop/banner.py")
        .map(|i| i.score);
    // cart.py and banner.py change together, again and again.
    for n in 1..=6 {
        commit(dir.path(), &["shop/cart.py", "shop/banner.py"], n);
    }
    commit(dir.path(), &["shop/tax.py"], 7);
    let history = History::from_git(dir.path());
    assert_eq!(history.partners("shop/cart.py")[0].0, "shop/banner.py");
    // The index is of the files as they were: only history differs.
    let after = ask(&host, &history, target(), 4000);
    let banner = after
        .items
        .iter()
        .find(|i| i.path == "shop/banner.py")
        .unwrap_or_else(|| panic!("banner.py rises into the answer: {:?}", symbols(&after)));
    assert!(banner_before.is_none_or(|s| s < banner.score));
    assert!(
        banner.why.iter().any(|s| s.relation == "changes with"),
        "{:?}",
        banner.why
    );
}

#[test]
fn a_partner_with_nothing_to_reach_is_named_as_a_file() {
    let dir = copy_fixture("context");
    git(dir.path(), &["init", "-q"]);
    commit(dir.path(), &[], 0);
    // A smoke script, new: no definitions and no resolved references, so the graph
    // alone never reaches it.
    std::fs::write(
        dir.path().join("smoke_cart.py"),
        "print(\"cart smoke test\")\n",
    )
    .expect("write");
    let host = index(dir.path());
    let target = || at(&host, "shop/cart.py:14:9");
    let named = |answer: &ContextAnswer| {
        answer
            .items
            .iter()
            .find(|i| i.path == "smoke_cart.py")
            .cloned()
    };
    let before = ask(&host, &History::from_git(dir.path()), target(), 4000);
    assert!(named(&before).is_none(), "{:?}", symbols(&before));
    for n in 1..=4 {
        commit(dir.path(), &["shop/cart.py", "smoke_cart.py"], n);
    }
    let after = ask(&host, &History::from_git(dir.path()), target(), 4000);
    let smoke =
        named(&after).unwrap_or_else(|| panic!("smoke_cart.py is named: {:?}", symbols(&after)));
    assert_eq!(
        (smoke.kind, smoke.text.as_str()),
        ("file", "smoke_cart.py file\n")
    );
    assert!(
        smoke.why.iter().any(|s| s.relation == "changes with"),
        "{:?}",
        smoke.why
    );
}

#[test]
fn an_edit_answers_as_a_fresh_index_does() {
    let dir = copy_fixture("context");
    let mut host = index(dir.path());
    let cart = dir.path().join("shop/cart.py");
    let text = std::fs::read_to_string(&cart).expect("read");
    let file = host.open_document(&cart, text.clone()).expect("open");
    // `total` now also calls `persist`, imported at the top.
    let edited = text
        .replacen(
            "from shop.tax import apply_tax\n",
            "from shop.tax import apply_tax\nfrom shop.disk import persist\n",
            1,
        )
        .replacen(
            "        return apply_tax(subtotal)",
            "        persist(subtotal)\n        return apply_tax(subtotal)",
            1,
        );
    host.change_document(
        file,
        &[DocumentChange {
            range: None,
            text: edited.clone(),
        }],
        codecontext_analysis::PositionEncoding::Utf8,
    )
    .expect("change");
    let incremental = ask(
        &host,
        &History::default(),
        at(&host, "shop/cart.py:15:9"),
        2000,
    );
    assert!(
        rank_of(&incremental, "shop.disk.persist").is_some(),
        "{:?}",
        symbols(&incremental)
    );
    std::fs::write(&cart, &edited).expect("write");
    let fresh_host = index(dir.path());
    let fresh = ask(
        &fresh_host,
        &History::default(),
        at(&fresh_host, "shop/cart.py:15:9"),
        2000,
    );
    assert_eq!(
        serde_json::to_value(&incremental).expect("json"),
        serde_json::to_value(&fresh).expect("json")
    );
}

#[test]
fn bad_targets_say_what_is_wrong() {
    let dir = copy_fixture("context");
    let host = index(dir.path());
    let analysis = host.analysis();
    let history = History::default();
    let err = |targets: Vec<Target>, budget: usize| -> String {
        match context(&analysis, &history, &ContextQuery { targets, budget }) {
            Err(e) => e.to_string(),
            Ok(a) => panic!("an answer for a bad question: {:?}", symbols(&a)),
        }
    };
    assert!(err(vec![], 1000).contains("no target"));
    assert!(err(vec![Target::Symbol("no_such_thing".into())], 1000)
        .contains("no symbol is named `no_such_thing`"));
    let (file, _) = position(&analysis, "shop/cart.py:1:1").expect("position");
    assert!(err(
        vec![Target::Position {
            file,
            offset: 1_000_000
        }],
        1000
    )
    .contains("past the end of shop/cart.py"));
    assert!(err(vec![Target::Diff("not a diff".into())], 1000).contains("names no file"));
    assert!(err(
        vec![Target::Diff(
            "--- a/nowhere.py\n+++ b/nowhere.py\n@@ -1 +1 @@\n-a\n+b\n".into()
        )],
        1000
    )
    .contains("not indexed: nowhere.py"));
    assert!(err(vec![Target::Task("the and for".into())], 1000).contains("names nothing"));
    let budget = err(vec![Target::Symbol("sync".into())], 10);
    assert!(
        matches!(
            context(
                &analysis,
                &history,
                &ContextQuery {
                    targets: vec![Target::File(file)],
                    budget: 10
                }
            ),
            Err(ContextError::Budget(10))
        ),
        "{budget}"
    );
}

#[test]
fn diffs_tasks_and_the_map_find_their_symbols() {
    let dir = copy_fixture("context");
    let host = index(dir.path());
    let history = History::default();
    let diff = "--- a/shop/tax.py\n+++ b/shop/tax.py\n@@ -5,2 +5,2 @@\n     \"\"\"The amount with value-added tax.\"\"\"\n-    return amount + amount * RATE // 100\n+    return amount + amount * RATE // 100 + 1\n";
    let answer = ask(&host, &history, Target::Diff(diff.into()), 1000);
    assert_eq!(answer.targets, vec!["shop.tax.apply_tax"]);
    assert_eq!(answer.items[0].symbol, "shop.tax.apply_tax");
    // Its caller, as an item or inside its class's body.
    assert!(answer.text.contains("def total"), "{:?}", symbols(&answer));
    let answer = ask(
        &host,
        &history,
        Target::Task("make price_of round to whole cents".into()),
        1000,
    );
    assert_eq!(answer.targets, vec!["shop.pricing.price_of"]);
    let answer = ask(
        &host,
        &history,
        Target::Task("the landing page banner looks wrong".into()),
        1000,
    );
    assert!(
        answer
            .targets
            .contains(&"shop.banner.render_banner".to_string()),
        "{:?}",
        answer.targets
    );
    // The map: central symbols as skeletons, in the budget; the same twice.
    let first = map(&host.analysis(), &history, 300).expect("map");
    assert!(first.tokens <= 300 && !first.items.is_empty());
    assert!(first
        .items
        .iter()
        .all(|i| i.form == codecontext_context::Form::Skeleton));
    let second = map(&host.analysis(), &history, 300).expect("map");
    assert_eq!(
        serde_json::to_value(&first).expect("json"),
        serde_json::to_value(&second).expect("json")
    );
}
