//! Times parsing and extraction over a folder: `cargo run --release -p codecontext-syntax --example timing DIR`.
#![allow(clippy::print_stdout)]
use std::time::{Duration, Instant};
fn main() {
    let dir = std::env::args().nth(1).expect("usage: timing DIR");
    let mut files = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p)
            } else if let Some(l) = codecontext_lang::language_for_path(&p) {
                files.push((p, l))
            }
        }
    }
    let (mut parse, mut extract) = (Duration::ZERO, Duration::ZERO);
    let mut bytes = 0;
    for (p, lang) in &files {
        let text = std::fs::read_to_string(p).unwrap();
        bytes += text.len();
        let t = Instant::now();
        let tree = codecontext_syntax::parse(lang, &text, None, Duration::from_secs(10)).unwrap();
        parse += t.elapsed();
        let t = Instant::now();
        let chunks = codecontext_syntax::chunk_ranges(&tree, &lang.config);
        let _ = codecontext_syntax::extract_chunks(
            lang,
            &tree,
            &text,
            &chunks,
            Default::default(),
            None,
        )
        .unwrap();
        extract += t.elapsed();
    }
    let mut plain = Duration::ZERO;
    for (p, lang) in &files {
        let text = std::fs::read_to_string(p).unwrap();
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(lang.grammar()).unwrap();
        let t = Instant::now();
        let _tree = parser.parse(&text, None).unwrap();
        plain += t.elapsed();
    }
    println!("plain parse {:?}", plain);
    println!(
        "{} files, {} bytes: parse {:?}, extract {:?}",
        files.len(),
        bytes,
        parse,
        extract
    );
}
