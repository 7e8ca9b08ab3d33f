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
    if std::env::var_os("COMPILE").is_some() {
        compile_cost(lang);
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

/// Times the compilation of the combined query, then of the query without each top-level
/// pattern in turn, and prints the patterns whose removal saves the most.
fn compile_cost(lang: &codecontext_lang::Language) {
    // `QUERY_SOURCE=FILE` compiles another version of the combined query (to compare).
    let other = std::env::var("QUERY_SOURCE")
        .ok()
        .map(|f| std::fs::read_to_string(f).expect("QUERY_SOURCE"));
    let source = other.as_deref().unwrap_or(lang.query_source());
    // The fastest of three, so that a first run's page faults do not count.
    let time = |text: &str| {
        let mut best = (Duration::MAX, false);
        for _ in 0..3 {
            let t = Instant::now();
            let ok = tree_sitter::Query::new(lang.grammar(), text).is_ok();
            best = best.min((t.elapsed(), ok));
        }
        best
    };
    let (whole, _) = time(source);
    println!("whole query compiles in {whole:?}");
    if std::env::var("COMPILE").as_deref() == Ok("whole") {
        return;
    }
    let spans = top_level_spans(source);
    let mut savings = Vec::new();
    for (start, end) in &spans {
        let without = format!("{}{}", &source[..*start], &source[*end..]);
        let (d, ok) = time(&without);
        if ok {
            let line = source[..*start].lines().count() + 1;
            let head = source[*start..].lines().next().unwrap_or_default();
            savings.push((whole.saturating_sub(d), line, head));
        }
    }
    // Each pattern compiled alone: the analysis is per pattern step, so this adds up.
    let mut alone = Vec::new();
    for (start, end) in &spans {
        let (d, ok) = time(&source[*start..*end]);
        if ok {
            let line = source[..*start].lines().count() + 1;
            alone.push((d, line));
        }
    }
    let sum: Duration = alone.iter().map(|a| a.0).sum();
    alone.sort_by_key(|a| std::cmp::Reverse(a.0));
    println!("patterns compiled alone: {sum:?} in all; the costliest at query lines:");
    for (d, line) in alone.iter().take(25) {
        let head = source.lines().nth(line - 1).unwrap_or_default();
        println!("{d:>12?} line {line}: {head}");
    }
    savings.sort_by_key(|s| std::cmp::Reverse(s.0));
    for (d, line, head) in savings.iter().take(15) {
        println!("{d:>12?} saved without the pattern at query line {line}: {head}");
    }
}

/// Byte spans of the top-level patterns, each with its trailing quantifiers and captures.
fn top_level_spans(source: &str) -> Vec<(usize, usize)> {
    let bytes = source.as_bytes();
    let (mut spans, mut depth, mut start, mut i) = (Vec::new(), 0i32, 0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b';' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            b')' | b']' => {
                depth -= 1;
                if depth == 0 {
                    // Trailing quantifiers and captures belong to the pattern.
                    let mut end = i + 1;
                    let mut j = end;
                    while j < bytes.len() {
                        match bytes[j] {
                            b' ' | b'\n' | b'\t' | b'*' | b'+' | b'?' => j += 1,
                            b'@' => {
                                j += 1;
                                while j < bytes.len()
                                    && (bytes[j].is_ascii_alphanumeric()
                                        || b"._-".contains(&bytes[j]))
                                {
                                    j += 1;
                                }
                                end = j;
                            }
                            _ => break,
                        }
                        if matches!(bytes[j - 1], b'*' | b'+' | b'?') {
                            end = j;
                        }
                    }
                    spans.push((start, end));
                    i = end - 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    spans
}
