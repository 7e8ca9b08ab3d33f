//! Rust items written inside item macros (`cfg_rt! { pub fn spawn() {} }`) are in the
//! graph at their true positions: found by name, definitions and references reach them,
//! and each macro's invocation is a call site of its `macro_rules!` definition.

use codecontext_analysis::AnalysisHost;
use codecontext_tests::answer;

const LIB: &str = "mod rt;\n\npub fn run() -> u32 {\n    rt::spawn() + rt::inner::bind()\n}\n";

const RT: &str = "macro_rules! cfg_rt {\n    ($($item:item)*) => { $($item)* };\n}\n\ncfg_rt! {\n    pub fn spawn() -> u32 {\n        helper()\n    }\n\n    fn helper() -> u32 {\n        1\n    }\n}\n\npub mod inner {\n    cfg_rt! {\n        cfg_rt! {\n            pub fn bind() -> u32 {\n                crate::rt::spawn()\n            }\n        }\n    }\n}\n";

/// `path:line:col` (1-based) of the `nth` occurrence of `needle` in `text`, plus `skip`
/// characters.
fn at_text(path: &str, text: &str, needle: &str, nth: usize, skip: usize) -> String {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("no {needle} #{nth}"))
        .0
        + skip;
    let line = text[..offset].matches('\n').count() + 1;
    let col = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{path}:{line}:{col}")
}

#[test]
fn items_in_item_macros_are_found_defined_and_referenced() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/lib.rs"), LIB).unwrap();
    std::fs::write(root.join("src/rt.rs"), RT).unwrap();
    let mut host = AnalysisHost::default();
    host.index_root(root, None);
    let analysis = host.analysis();
    let at = |kind: &str, spec: &str| answer(&analysis, kind, spec).unwrap();
    let lib = |needle: &str, nth: usize, skip: usize| at_text("src/lib.rs", LIB, needle, nth, skip);
    let rt = |needle: &str, nth: usize, skip: usize| at_text("src/rt.rs", RT, needle, nth, skip);

    // By name, where the text has them.
    for name in ["spawn", "helper", "bind"] {
        let found = analysis.find_by_name(name);
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert_eq!(found[0].path, "src/rt.rs");
        let start = found[0].range.start as usize;
        assert!(RT[start..].contains(&format!("fn {name}")), "{name}");
        assert!(
            !RT[start..start + 20].contains('}'),
            "{name} starts at its item"
        );
    }
    // Calls into the bodies resolve, from outside and inside them.
    assert_eq!(at("def", &lib("spawn", 0, 0)), "shop::rt::spawn");
    assert_eq!(at("def", &lib("bind", 0, 0)), "shop::rt::inner::bind");
    assert_eq!(at("def", &rt("helper()", 0, 0)), "shop::rt::helper");
    assert_eq!(at("def", &rt("spawn()", 1, 0)), "shop::rt::spawn");
    let refs = at("refs", &rt("fn spawn", 0, 3));
    for site in [lib("spawn", 0, 0), rt("spawn()", 1, 0)] {
        assert!(refs.contains(&site), "{site} in {refs}");
    }
    // Each invocation is a call site of the macro.
    let refs = at("refs", &rt("cfg_rt", 0, 0));
    for nth in 1..=3 {
        let site = rt("cfg_rt!", nth - 1, 0);
        assert!(refs.contains(&site), "{site} in {refs}");
    }
}
