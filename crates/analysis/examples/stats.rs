//! Prints sizes of the graph's parts after indexing a folder (a memory diagnosis aid).
#![allow(clippy::print_stdout)]
// A counting allocator needs `unsafe impl GlobalAlloc`; it only forwards to `System`.
#![allow(unsafe_code)]
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Counts live heap bytes, to tell the graph's own size from allocator overhead.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(now, Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

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
    println!(
        "size_of Ref {} Resolution {} Entity {}",
        std::mem::size_of::<codecontext_graph::Ref>(),
        std::mem::size_of::<codecontext_graph::Resolution>(),
        std::mem::size_of::<codecontext_graph::Entity>()
    );
    let mut hist = [0usize; 6];
    let mut spilled_targets = 0;
    for (_, f) in g.files() {
        for r in &f.res {
            let n = r.targets().len();
            hist[match n {
                0 => 0,
                1 => 1,
                2..=4 => 2,
                5..=16 => 3,
                17..=64 => 4,
                _ => 5,
            }] += 1;
            if n > 1 {
                spilled_targets += n;
            }
        }
    }
    println!("targets per ref: 0: {} 1: {} 2-4: {} 5-16: {} 17-64: {} >64: {} (targets in lists {spilled_targets})", hist[0], hist[1], hist[2], hist[3], hist[4], hist[5]);
    for (part, bytes) in g.memory_report() {
        println!("{:>8.1} MB  {part}", mb(bytes));
    }
    println!(
        "live heap {:.1} MB, peak live heap {:.1} MB",
        mb(LIVE.load(Relaxed)),
        mb(PEAK.load(Relaxed))
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status
        .lines()
        .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
    {
        println!("{line}");
    }
}
