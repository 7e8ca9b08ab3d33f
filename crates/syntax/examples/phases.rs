//! Times the phases of a full extraction (parse, query matching, building) over a folder,
//! on one thread: a profiling aid for the index benchmark.
#![allow(clippy::print_stdout)]
use std::time::{Duration, Instant};

fn main() {
    let dir = std::env::args().nth(1).expect("usage: phases DIR EXT");
    let ext = std::env::args().nth(2).expect("usage: phases DIR EXT");
    let lang = codecontext_lang::language_for_path(std::path::Path::new(&format!("x.{ext}")))
        .expect("language");
    let (mut parse, mut matching, mut full, mut bytes) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO, 0);
    let (mut walking, mut node_count) = (Duration::ZERO, 0);
    for entry in walk(std::path::Path::new(&dir)) {
        if entry.extension().and_then(|e| e.to_str()) != Some(ext.as_str()) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&entry) else {
            continue;
        };
        bytes += text.len();
        let t = Instant::now();
        let tree =
            codecontext_syntax::parse(lang, &text, None, Duration::from_secs(5)).expect("parse");
        parse += t.elapsed();
        let t = Instant::now();
        let query = lang.query().expect("query");
        let mut cursor = tree_sitter::QueryCursor::new();
        let mut m = cursor.matches(query, tree.root_node(), text.as_bytes());
        let mut n = 0;
        while tree_sitter::StreamingIterator::next(&mut m).is_some() {
            n += 1;
        }
        std::hint::black_box(n);
        matching += t.elapsed();
        let t = Instant::now();
        let mut c = tree.walk();
        let mut nodes = 0u64;
        'outer: loop {
            nodes += 1;
            if c.goto_first_child() || c.goto_next_sibling() {
                continue;
            }
            loop {
                if !c.goto_parent() {
                    break 'outer;
                }
                if c.goto_next_sibling() {
                    break;
                }
            }
        }
        std::hint::black_box(nodes);
        walking += t.elapsed();
        node_count += nodes;
        let t = Instant::now();
        let s = codecontext_syntax::summarize(
            lang,
            &text,
            &codecontext_syntax::Limits::default(),
            Default::default(),
        );
        std::hint::black_box(s.is_ok());
        full += t.elapsed();
    }
    if std::env::var_os("PER_PATTERN").is_some() {
        per_pattern(lang, &dir, &ext);
    }
    println!("{bytes} bytes: parse {parse:?}, query matching {matching:?}, cursor walk of {node_count} nodes {walking:?}, full summarize {full:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Times each query pattern alone over the folder's files and prints the costliest.
fn per_pattern(lang: &codecontext_lang::Language, dir: &str, ext: &str) {
    let files: Vec<String> = walk(std::path::Path::new(dir))
        .into_iter()
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    let trees: Vec<_> = files
        .iter()
        .map(|t| codecontext_syntax::parse(lang, t, None, Duration::from_secs(5)).expect("parse"))
        .collect();
    let source = lang.query_source();
    let count = lang.query().expect("query").pattern_count();
    let mut times = Vec::new();
    for i in 0..count {
        let mut q = tree_sitter::Query::new(lang.grammar(), source).expect("query");
        for j in 0..count {
            if j != i {
                q.disable_pattern(j);
            }
        }
        let t = Instant::now();
        let mut n = 0;
        for (text, tree) in files.iter().zip(&trees) {
            let mut cursor = tree_sitter::QueryCursor::new();
            let mut m = cursor.matches(&q, tree.root_node(), text.as_bytes());
            while tree_sitter::StreamingIterator::next(&mut m).is_some() {
                n += 1;
            }
        }
        let start = q.start_byte_for_pattern(i);
        let line = source[..start].lines().count() + 1;
        times.push((t.elapsed(), i, line, n));
    }
    times.sort_by_key(|t| std::cmp::Reverse(t.0));
    let total: Duration = times.iter().map(|t| t.0).sum();
    println!("sum of patterns alone: {total:?}");
    for (d, i, line, n) in times.iter().take(15) {
        println!("{d:>12?} pattern {i} (query line {line}) {n} matches");
    }
}
