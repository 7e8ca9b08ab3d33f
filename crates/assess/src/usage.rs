//! Usage patterns: how the project calls a function or method. Its call sites (the
//! graph's call references to it) are grouped by shape: how each argument is passed (a
//! literal, a keyword, `None`, a lambda, a name, a call), what is done with the result
//! (assigned, returned, discarded, awaited, chained), and what is called right before
//! and after; with counts and one example each, and a summary in words ("41 of 44 calls
//! pass `timeout=`; 3 do not: ...").
//!
//! What a node is comes from the language's data (`literal_kinds`, `[quality] nulls`,
//! `keyword_argument`, `identifier_kinds`, `[search] lambdas`); where the result goes is
//! read from the node kinds' names (`return`, `assignment`, `expression_statement`),
//! which the grammars share.

use std::collections::HashMap;

use codecontext_analysis::{cancel, Analysis, EntityLoc};
use codecontext_lang::Language;
use serde::Serialize;
use tree_sitter::Node;

use crate::{metrics, place};

/// How many places an answer lists for a keyword some calls leave out.
const MISSING_PLACES: usize = 5;

/// One call site, as an example.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Example {
    pub place: String,
    /// The call's text, on one line, cut at 120 characters.
    pub text: String,
}

/// Calls of one shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Shape {
    /// `(name, timeout=literal)`.
    pub shape: String,
    pub count: usize,
    pub example: Example,
}

/// A keyword argument: how many calls pass it, and where the others are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Keyword {
    pub name: String,
    pub passed: usize,
    pub missing: usize,
    /// The first few calls that do not pass it.
    pub missing_at: Vec<String>,
}

/// A count of something the calls do (a use of the result, a neighbouring call).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Count {
    pub what: String,
    pub count: usize,
    pub example: String,
}

/// How a symbol is called across the project.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usages {
    pub symbol: String,
    pub calls: usize,
    pub files: usize,
    /// Most common first.
    pub shapes: Vec<Shape>,
    pub keywords: Vec<Keyword>,
    /// What is done with the result.
    pub results: Vec<Count>,
    /// What is called in the statement right before the call's, and right after.
    pub before: Vec<Count>,
    pub after: Vec<Count>,
    /// The patterns in words, the most telling first.
    pub summary: Vec<String>,
    /// Stopped at the request's budget: counts are of the calls read so far.
    pub truncated: bool,
}

/// One call site, read.
struct Site {
    /// Its file and offset: sites are read in document order.
    at: (String, u32),
    place: String,
    text: String,
    shape: String,
    keywords: Vec<String>,
    result: String,
    before: Option<String>,
    after: Option<String>,
}

/// The usage patterns of the function or method at `loc`.
pub fn usages(analysis: &Analysis<'_>, loc: EntityLoc) -> Usages {
    let g = analysis.graph();
    let mut out = Usages {
        symbol: g.qualified_name(loc),
        ..Usages::default()
    };
    let Some(entity) = g.entity(loc) else {
        return out;
    };
    let by_file = crate::calls_by_file(analysis, entity.id, &[]);
    let mut sites: Vec<Site> = Vec::new();
    for (file, refs) in &by_file {
        cancel::check();
        if cancel::out_of_time() {
            out.truncated = true;
            break;
        }
        let (Some(f), Some((lang, text, tree))) =
            (g.file_data(*file), crate::parse_file(analysis, *file))
        else {
            continue;
        };
        out.files += 1;
        for r in refs {
            let Some(range) = g.ref_range(*r) else {
                continue;
            };
            let Some(args) = metrics::argument_list(tree.root_node(), range) else {
                continue;
            };
            let Some(call) = args.parent() else { continue };
            let mut site = read_site(
                lang,
                &text,
                call,
                args,
                place(&f.rel, &f.line_index, range.start),
            );
            site.at = (f.rel.to_string(), range.start);
            sites.push(site);
        }
    }
    sites.sort_by(|a, b| a.at.cmp(&b.at));
    out.calls = sites.len();
    summarize(&mut out, &sites);
    out
}

fn read_site(lang: &Language, text: &str, call: Node<'_>, args: Node<'_>, place: String) -> Site {
    let src = |n: Node<'_>| &text[n.byte_range()];
    let mut parts = Vec::new();
    let mut keywords = Vec::new();
    let mut cursor = args.walk();
    for arg in args.named_children(&mut cursor) {
        if lang.config.comment_kinds.iter().any(|k| k == arg.kind()) {
            continue;
        }
        match keyword(lang, arg, text) {
            Some((name, value)) => {
                parts.push(format!("{name}={}", class(lang, value, text)));
                keywords.push(name.to_string());
            }
            None => parts.push(class(lang, arg, text)),
        }
    }
    let one_line: String = src(call).split_whitespace().collect::<Vec<_>>().join(" ");
    let text_out = if one_line.chars().count() > 120 {
        one_line.chars().take(119).collect::<String>() + "…"
    } else {
        one_line
    };
    let statement = statement_of(call);
    Site {
        at: (String::new(), 0),
        place,
        text: text_out,
        shape: format!("({})", parts.join(", ")),
        keywords,
        result: result_use(call, text),
        before: statement.and_then(|s| neighbour(lang, s, false, text)),
        after: statement.and_then(|s| neighbour(lang, s, true, text)),
    }
}

/// A keyword argument's name and value (`f(timeout=5)`), from the language's
/// `keyword_argument = [kind, name field]`.
fn keyword<'t>(lang: &Language, arg: Node<'t>, text: &'t str) -> Option<(&'t str, Node<'t>)> {
    let [kind, field] = lang.config.keyword_argument.as_ref()?;
    if arg.kind() != kind {
        return None;
    }
    let name = arg.child_by_field_name(field.as_str())?;
    let value = arg.child_by_field_name("value").or_else(|| {
        arg.named_child(u32::try_from(arg.named_child_count().checked_sub(1)?).ok()?)
    })?;
    Some((&text[name.byte_range()], value))
}

/// How an argument is passed: the null itself (`None`), `literal`, `lambda`, `name`,
/// `call`, or `expression`.
fn class(lang: &Language, node: Node<'_>, text: &str) -> String {
    let kind = node.kind();
    let has = |kinds: &[String]| kinds.iter().any(|k| k == kind);
    if has(&lang.config.quality.nulls) {
        text[node.byte_range()].to_string()
    } else if has(&lang.config.literal_kinds) {
        "literal".into()
    } else if has(&lang.config.search.lambdas) {
        "lambda".into()
    } else if has(&lang.config.identifier_kinds) || kind == "identifier" {
        "name".into()
    } else if node.child_by_field_name("arguments").is_some() {
        "call".into()
    } else {
        "expression".into()
    }
}

/// What is done with a call's result, from the node that holds it.
fn result_use(call: Node<'_>, text: &str) -> String {
    let mut node = call;
    let mut awaited = false;
    let mut parent = call.parent();
    while let Some(p) = parent {
        if p.kind().contains("await") {
            awaited = true;
        } else if !p.kind().contains("parenthesized") {
            break;
        }
        node = p;
        parent = p.parent();
    }
    let Some(p) = parent else {
        return "discarded".into();
    };
    let kind = p.kind();
    let is_receiver = ["object", "value", "operand", "function"]
        .iter()
        .any(|f| p.child_by_field_name(f) == Some(node));
    let what = if kind.contains("expression_statement") {
        "discarded".to_string()
    } else if kind.contains("return") {
        "returned".to_string()
    } else if kind.contains("assignment")
        || kind.contains("declarator")
        || kind.contains("let_declaration")
        || kind.contains("short_var_declaration")
    {
        "assigned".to_string()
    } else if kind.contains("argument") {
        "passed to a call".to_string()
    } else if is_receiver {
        let member = ["attribute", "property", "field", "name"]
            .iter()
            .find_map(|f| p.child_by_field_name(f))
            .filter(|m| m.start_byte() >= node.end_byte());
        match member {
            Some(m) => format!("chained: .{}", &text[m.byte_range()]),
            None => "chained".to_string(),
        }
    } else if kind.starts_with("if") || kind.starts_with("while") || kind.contains("condition") {
        "tested".to_string()
    } else {
        format!("in {}", kind.replace('_', " "))
    };
    if awaited {
        format!("awaited, {what}")
    } else {
        what
    }
}

/// The statement a call is part of: its ancestor whose parent holds statements.
fn statement_of(call: Node<'_>) -> Option<Node<'_>> {
    let mut node = call;
    while let Some(p) = node.parent() {
        let kind = p.kind();
        if kind.contains("block")
            || kind.ends_with("body")
            || matches!(
                kind,
                "module" | "program" | "source_file" | "statement_list"
            )
        {
            return Some(node);
        }
        node = p;
    }
    None
}

/// The name of the first call in the statement before (or after) `statement`.
fn neighbour(lang: &Language, statement: Node<'_>, after: bool, text: &str) -> Option<String> {
    let mut sibling = statement;
    loop {
        sibling = if after {
            sibling.next_named_sibling()?
        } else {
            sibling.prev_named_sibling()?
        };
        if !lang
            .config
            .comment_kinds
            .iter()
            .any(|k| k == sibling.kind())
        {
            break;
        }
    }
    let mut stack = vec![sibling];
    while let Some(node) = stack.pop() {
        if node.child_by_field_name("arguments").is_some() {
            let callee = ["function", "name", "method"]
                .iter()
                .find_map(|f| node.child_by_field_name(f))?;
            let name = &text[callee.byte_range()];
            let last = name.rsplit(['.', ':', '>']).next().unwrap_or(name).trim();
            return (!last.is_empty()).then(|| last.to_string());
        }
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    None
}

/// Counts, most common first, each with its first example.
fn tally<'s>(items: impl Iterator<Item = (String, &'s Site)>) -> Vec<Count> {
    let mut counts: Vec<Count> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for (what, site) in items {
        match at.get(&what) {
            Some(&i) => counts[i].count += 1,
            None => {
                at.insert(what.clone(), counts.len());
                counts.push(Count {
                    what,
                    count: 1,
                    example: site.place.clone(),
                });
            }
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.count));
    counts
}

fn summarize(out: &mut Usages, sites: &[Site]) {
    let n = sites.len();
    if n == 0 {
        out.summary
            .push(format!("`{}` has no calls in the index", out.symbol));
        return;
    }
    // Shapes.
    let mut at: HashMap<&str, usize> = HashMap::new();
    for site in sites {
        match at.get(site.shape.as_str()) {
            Some(&i) => out.shapes[i].count += 1,
            None => {
                at.insert(&site.shape, out.shapes.len());
                out.shapes.push(Shape {
                    shape: site.shape.clone(),
                    count: 1,
                    example: Example {
                        place: site.place.clone(),
                        text: site.text.clone(),
                    },
                });
            }
        }
    }
    out.shapes.sort_by_key(|s| std::cmp::Reverse(s.count));
    // Keywords: each one some call passes.
    let mut names: Vec<&str> = sites
        .iter()
        .flat_map(|s| s.keywords.iter().map(String::as_str))
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let passed = sites
            .iter()
            .filter(|s| s.keywords.iter().any(|k| k == name))
            .count();
        let missing: Vec<&Site> = sites
            .iter()
            .filter(|s| !s.keywords.iter().any(|k| k == name))
            .collect();
        out.keywords.push(Keyword {
            name: name.to_string(),
            passed,
            missing: missing.len(),
            missing_at: missing
                .iter()
                .take(MISSING_PLACES)
                .map(|s| s.place.clone())
                .collect(),
        });
    }
    out.keywords
        .sort_by(|a, b| b.passed.cmp(&a.passed).then(a.name.cmp(&b.name)));
    out.results = tally(sites.iter().map(|s| (s.result.clone(), s)));
    out.before = tally(sites.iter().filter_map(|s| Some((s.before.clone()?, s))));
    out.after = tally(sites.iter().filter_map(|s| Some((s.after.clone()?, s))));

    // In words: the keywords most calls pass and some do not, first.
    for k in &out.keywords {
        if k.missing > 0 && k.passed * 2 >= n {
            out.summary.push(format!(
                "{} of {n} calls pass `{}=`; {} do not: {}",
                k.passed,
                k.name,
                k.missing,
                k.missing_at.join(", ")
            ));
        } else if k.missing == 0 && n > 1 {
            out.summary
                .push(format!("every one of the {n} calls passes `{}=`", k.name));
        }
    }
    if let Some(top) = out.shapes.first() {
        out.summary.push(if top.count == n {
            format!(
                "all {n} calls look like `{}`, e.g. {}",
                top.shape, top.example.text
            )
        } else {
            format!(
                "{} of {n} calls look like `{}`, e.g. {}",
                top.count, top.shape, top.example.text
            )
        });
    }
    if let Some(top) = out.results.first() {
        out.summary.push(format!(
            "the result is {} in {} of {n} calls",
            top.what, top.count
        ));
    }
    for (list, word) in [(&out.before, "before"), (&out.after, "after")] {
        if let Some(top) = list.first().filter(|c| c.count >= 2) {
            out.summary.push(format!(
                "`{}` is called right {word} it in {} of {n} calls",
                top.what, top.count
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first call of `callee` in `text`, read as a site.
    fn site(lang: &str, text: &str, callee: &str) -> Site {
        let lang = codecontext_lang::language_by_name(lang).expect("a language");
        let tree = codecontext_syntax::parse(lang, text, None, std::time::Duration::from_secs(5))
            .expect("a tree");
        let at = text.find(callee).expect("the callee") as u32;
        let name = codecontext_text::TextRange::new(at, at + callee.len() as u32);
        let args = metrics::argument_list(tree.root_node(), name).expect("a call");
        read_site(lang, text, args.parent().unwrap(), args, String::new())
    }

    #[test]
    fn arguments_results_and_neighbours_in_other_languages() {
        let js = "async function f(u) {\n  log(1);\n  const r = await fetch(u, () => 1, null, 'x');\n  done();\n}\n";
        let s = site("javascript", js, "fetch");
        assert_eq!(s.shape, "(name, lambda, null, literal)");
        assert_eq!(s.result, "awaited, assigned");
        assert_eq!(
            (s.before.as_deref(), s.after.as_deref()),
            (Some("log"), Some("done"))
        );

        let rust = "fn f() {\n    let n = parse(s, |x| x + 1).unwrap();\n}\n";
        let s = site("rust", rust, "parse");
        assert_eq!(s.shape, "(name, lambda)");
        assert_eq!(s.result, "chained: .unwrap");

        let go = "package p\n\nfunc f() {\n\tif check(a, nil) {\n\t}\n}\n";
        let s = site("go", go, "check");
        assert_eq!(s.shape, "(name, nil)");
        assert_eq!(s.result, "tested");
    }
}
