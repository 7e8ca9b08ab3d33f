//! Symbol search latency over the definitions of one or more folders: fuzzy queries
//! (random subsequences of existing names, as a user types them) and exact lookups.

use std::{path::PathBuf, time::Instant};

use anyhow::{bail, Result};
use codecontext_analysis::{AnalysisHost, SearchMode};

use crate::stats::{percentile, us, Rng};

pub fn run(dirs: &[PathBuf], queries: usize) -> Result<()> {
    let mut host = AnalysisHost::default();
    for d in dirs {
        host.index_root(d, None);
    }
    let g = host.graph();
    let mut names: Vec<String> = Vec::new();
    let mut definitions = 0usize;
    for (_, f) in g.files() {
        for e in f.entities.iter().skip(1) {
            // Imports and `impl` blocks are not symbols of their own: search leaves them out.
            if !matches!(
                e.kind,
                codecontext_analysis::EntityKind::Import | codecontext_analysis::EntityKind::Impl
            ) {
                definitions += 1;
                names.push(g.name(e.name).to_string());
            }
        }
    }
    if names.is_empty() {
        bail!("no definitions");
    }
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let analysis = host.analysis();
    let mut fuzzy = Vec::with_capacity(queries);
    let mut exact = Vec::with_capacity(queries);
    let mut exact_locs = Vec::with_capacity(queries);
    let mut fuzzy_hits = 0usize;
    for _ in 0..queries {
        let name = &names[(rng.next() % names.len() as u64) as usize];
        let chars: Vec<char> = name.chars().collect();
        let want = 3 + (rng.next() % 4) as usize;
        let mut query = String::new();
        let mut i = 0;
        while query.chars().count() < want.min(chars.len()) && i < chars.len() {
            if rng.next().is_multiple_of(2) || chars.len() - i <= want - query.chars().count() {
                query.push(chars[i].to_ascii_lowercase());
            }
            i += 1;
        }
        let t = Instant::now();
        let found = analysis.symbols(&query, SearchMode::Fuzzy, 100);
        fuzzy.push(t.elapsed());
        fuzzy_hits += usize::from(!found.is_empty());
        // The lookup itself (ranked locations), then the same with every answer
        // materialised as a navigation target (paths, qualified names, signatures).
        let t = Instant::now();
        let locs = g.search_symbols(name, SearchMode::Exact, 100);
        exact_locs.push(t.elapsed());
        std::hint::black_box(locs);
        let t = Instant::now();
        let found = analysis.symbols(name, SearchMode::Exact, 100);
        exact.push(t.elapsed());
        if found.is_empty() {
            bail!("exact lookup of `{name}` found nothing");
        }
    }
    println!(
        "index       {definitions} definitions, {} distinct names",
        g.distinct_names()
    );
    println!("fuzzy       p50 {:>8.1} us   p99 {:>8.1} us   ({queries} queries of 3-6 chars, limit 100, {fuzzy_hits} with results)", us(percentile(&fuzzy, 50.0)), us(percentile(&fuzzy, 99.0)));
    println!(
        "exact       p50 {:>8.1} us   p99 {:>8.1} us   (ranked locations, limit 100)",
        us(percentile(&exact_locs, 50.0)),
        us(percentile(&exact_locs, 99.0))
    );
    println!(
        "exact+nav   p50 {:>8.1} us   p99 {:>8.1} us   (the same, each answer with path, qualified name, signature)",
        us(percentile(&exact, 50.0)),
        us(percentile(&exact, 99.0))
    );
    Ok(())
}
