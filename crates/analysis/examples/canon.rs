//! Prints the canonical graph of a folder: `cargo run -p codecontext-analysis --example canon DIR`.
#![allow(clippy::print_stdout)]
fn main() {
    let dir = std::env::args().nth(1).expect("usage: canon DIR");
    let mut host = codecontext_analysis::AnalysisHost::default();
    host.index_root(std::path::Path::new(&dir), None);
    print!("{}", host.graph().canonical());
}
