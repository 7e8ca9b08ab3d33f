//! House rules checked on the source tree: every Rust file starts with a `//!` comment
//! saying what it is for. (Stdout discipline is enforced by the workspace lints.)

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && name != "snapshots" {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn workspace_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["crates", "server", "tests", "bench"] {
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    files
}

#[test]
fn every_rust_file_says_what_it_is_for() {
    let files = workspace_files();
    assert!(files.len() > 20, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! doc comment:\n{}",
        missing.join("\n")
    );
}

/// The top-level modules of the language server that a file under `server/src/lsp/`
/// imports, by the paths it names (`super::x`, `crate::lsp::x`, in `use` and in code).
fn lsp_imports(lsp: &Path, file: &Path) -> std::collections::BTreeSet<String> {
    let rel = file.strip_prefix(lsp).unwrap();
    let parts: Vec<&str> = rel.iter().map(|p| p.to_str().unwrap()).collect();
    // What `super::` means in this file: the lsp module itself for a top-level file or a
    // folder's mod.rs, the folder for any other file in a folder.
    let super_is_lsp = parts.len() == 1 || parts.last() == Some(&"mod.rs");
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = std::collections::BTreeSet::new();
    let mut prefixes = vec!["crate::lsp::"];
    if super_is_lsp {
        prefixes.push("super::");
    } else {
        prefixes.push("super::super::");
    }
    for prefix in prefixes {
        let mut rest = text.as_str();
        while let Some(at) = rest.find(prefix) {
            rest = &rest[at + prefix.len()..];
            // `super::super::x` is not `super::x` read twice.
            if prefix == "super::" && rest.starts_with("super::") {
                continue;
            }
            let names: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let mut current = String::new();
                let mut names = Vec::new();
                let mut first = true;
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            first = true;
                            names.push(std::mem::take(&mut current));
                            continue;
                        }
                        _ => {}
                    }
                    if first && (c.is_alphanumeric() || c == '_') {
                        current.push(c);
                    } else if !current.is_empty() {
                        first = false;
                    }
                }
                names.push(current);
                names
            } else {
                vec![rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()]
            };
            out.extend(names.into_iter().filter(|n| !n.is_empty()));
        }
    }
    out
}

#[test]
fn the_language_servers_modules_import_each_other_without_a_cycle() {
    let lsp = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src/lsp");
    let mut files = Vec::new();
    rust_files(&lsp, &mut files);
    // Module -> the modules it imports (a folder counts as one module).
    let mut edges: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for file in &files {
        let rel = file.strip_prefix(&lsp).unwrap();
        let first = rel.iter().next().unwrap().to_str().unwrap();
        if first == "mod.rs" {
            continue; // the root declares every module
        }
        let module = first.trim_end_matches(".rs").to_string();
        let imports = lsp_imports(&lsp, file);
        let entry = edges.entry(module.clone()).or_default();
        entry.extend(imports.into_iter().filter(|m| *m != module));
    }
    assert!(edges.len() > 8, "found only {:?}", edges.keys());
    assert!(
        edges["requests"].contains("state"),
        "the import reader misses imports: {edges:?}"
    );
    // Depth-first search for a cycle.
    fn visit(
        node: &str,
        edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, &edges, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn adapters_read_the_graph_only_through_the_analysis() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let offenders: Vec<String> = files
        .iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            text.contains(".graph()")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "these adapter files reach into the graph instead of asking the analysis:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn only_the_configuration_crate_reads_the_environment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["crates", "server/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let offenders: Vec<String> = files
        .iter()
        .filter(|p| {
            let shown = p.to_string_lossy();
            // The configuration crate reads it; build scripts, examples and tests may.
            !shown.contains("crates/config/")
                && !shown.contains("/tests/")
                && !shown.contains("/examples/")
                && !shown.ends_with("build.rs")
        })
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            code.contains("env::var")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "these files read environment variables; codecontext-config should:\n{}",
        offenders.join("\n")
    );
}
