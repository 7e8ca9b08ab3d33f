//! Prints sizes of the graph's parts after indexing a folder (a memory diagnosis aid).
#![allow(clippy::print_stdout)]
fn main() {
    let dir = std::env::args().nth(1).expect("usage: stats DIR");
    let mut host = codecontext_analysis::AnalysisHost::default();
    host.index_root(std::path::Path::new(&dir), None);
    let g = host.graph();
    let (mut ents, mut refs, mut depsets, mut depnames, mut lines, mut sig) = (0, 0, 0, 0, 0, 0);
    for (_, f) in g.files() {
        ents += f.entities.len();
        refs += f.refs.len();
        lines += f.line_index.line_count();
        sig += f
            .entities
            .iter()
            .map(|e| e.signature.len() + e.doc.as_ref().map_or(0, |d| d.len()))
            .sum::<usize>();
        let s = f.dep_set_stats();
        depsets += s.0;
        depnames += s.1;
    }
    println!("files {} entities {ents} refs {refs} lines {lines} sig+doc bytes {sig} dep sets {depsets} dep names {depnames} interned {}", g.file_count(), g.interner().len());
    println!("{}", g.index_stats());
}
