//! Prints the summary of a file as JSON: `cargo run -p codecontext-syntax --example dump FILE`.
#![allow(clippy::print_stdout)]
fn main() {
    let path = std::env::args().nth(1).expect("usage: dump FILE");
    let text = std::fs::read_to_string(&path).unwrap();
    let lang =
        codecontext_lang::language_for_path(std::path::Path::new(&path)).expect("known language");
    let summary = codecontext_syntax::summarize(
        lang,
        &text,
        &Default::default(),
        codecontext_syntax::ExtractOptions { keep_locals: true },
    )
    .unwrap();
    println!("{}", serde_json::to_string_pretty(&summary).unwrap());
}
