//! Finding the files of a workspace: a `.gitignore`-aware walk that also skips the
//! usual vendor and build folders, and reads `Cargo.toml`/`go.mod` for module naming.

use std::path::{Path, PathBuf};

use codecontext_graph::ModuleContext;
use codecontext_lang::Language;

/// Folders never indexed, whatever `.gitignore` says: dependencies, build output,
/// virtual environments and caches.
pub const EXCLUDED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "bower_components",
    "target",
    "vendor",
    "third_party",
    "dist",
    "build",
    "out",
    ".next",
    ".nuxt",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".gradle",
    ".idea",
    ".cache",
];

/// A source file found by the walk.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    /// Relative to the root, `/`-separated.
    pub rel: String,
    pub lang: &'static Language,
}

/// Everything a walk of one root found.
#[derive(Clone, Debug, Default)]
pub struct WalkResult {
    pub files: Vec<SourceFile>,
    /// `(dir relative to root, crate name)` from `Cargo.toml` files.
    pub rust_crates: Vec<(String, String)>,
    /// `(dir relative to root, module path)` from `go.mod` files.
    pub go_modules: Vec<(String, String)>,
}

pub(crate) fn rel_path(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// Whether the walk of `root` would pass `path` over: a hidden or never-indexed folder
/// or file on the way, or a `.gitignore` (of `root` or a folder between) that matches
/// it. For files that appear after the walk (reported by a file watcher).
pub fn is_ignored(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return true;
    };
    let parts: Vec<&std::ffi::OsStr> = rel.iter().collect();
    if parts.iter().any(|p| {
        p.to_str()
            .is_some_and(|n| n.starts_with('.') || EXCLUDED_DIRS.contains(&n))
    }) {
        return true;
    }
    // `.gitignore` files from the root down to the file's folder; a deeper one decides
    // first (its whitelist can undo an ignore above it).
    let mut dir = root.to_path_buf();
    let mut chain = vec![dir.clone()];
    for p in parts.iter().take(parts.len().saturating_sub(1)) {
        dir.push(p);
        chain.push(dir.clone());
    }
    let is_dir = path.is_dir();
    for folder in chain.iter().rev() {
        let file = folder.join(".gitignore");
        if !file.is_file() {
            continue;
        }
        let (matcher, _) = ignore::gitignore::Gitignore::new(&file);
        match matcher.matched_path_or_any_parents(path, is_dir) {
            ignore::Match::Ignore(_) => return true,
            ignore::Match::Whitelist(_) => return false,
            ignore::Match::None => {}
        }
    }
    false
}

/// Walks `root`, in a stable order.
pub fn walk(root: &Path) -> WalkResult {
    let mut result = WalkResult::default();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            !(is_dir
                && entry.depth() > 0
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| EXCLUDED_DIRS.contains(&n)))
        })
        .build();
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let Some(rel) = rel_path(root, path) else {
            continue;
        };
        let file_name = entry.file_name().to_string_lossy();
        let dir = rel
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_string());
        if file_name == "Cargo.toml" {
            if let Some(name) = read_manifest_value(path, "[package]", "name") {
                result.rust_crates.push((dir, name.replace('-', "_")));
            }
            continue;
        }
        if file_name == "go.mod" {
            if let Ok(text) = std::fs::read_to_string(path) {
                if let Some(module) = text.lines().find_map(|l| l.trim().strip_prefix("module ")) {
                    result
                        .go_modules
                        .push((dir, module.trim().trim_matches('"').to_string()));
                }
            }
            continue;
        }
        if let Some(lang) = codecontext_lang::language_for_path(path) {
            result.files.push(SourceFile {
                path: path.to_path_buf(),
                rel,
                lang,
            });
        }
    }
    result
}

/// Reads `key = "value"` from a section of a TOML manifest without a TOML parser:
/// enough for `[package] name`.
fn read_manifest_value(path: &Path, section: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line == section;
            continue;
        }
        if in_section {
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == key {
                    return Some(v.trim().trim_matches('"').to_string());
                }
            }
        }
    }
    None
}

/// Adds what a walk of root `root` found to a module context.
pub fn extend_module_context(ctx: &mut ModuleContext, root: u32, walk: &WalkResult) {
    for (dir, name) in &walk.rust_crates {
        ctx.rust_crates.insert((root, dir.clone()), name.clone());
    }
    for (dir, module) in &walk.go_modules {
        ctx.go_modules.insert((root, dir.clone()), module.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::is_ignored;

    #[test]
    fn files_the_walk_would_skip_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/gen")).unwrap();
        std::fs::write(root.join(".gitignore"), "*.log\n/out.py\n").unwrap();
        std::fs::write(root.join("src/.gitignore"), "gen/\n!keep.log\n").unwrap();
        assert!(!is_ignored(root, &root.join("src/a.py")));
        assert!(is_ignored(root, &root.join("out.py")));
        assert!(is_ignored(root, &root.join("src/gen/x.py")));
        assert!(is_ignored(root, &root.join("src/x.log")));
        assert!(
            !is_ignored(root, &root.join("src/keep.log")),
            "a deeper whitelist wins"
        );
        assert!(is_ignored(root, &root.join("node_modules/m/index.js")));
        assert!(is_ignored(root, &root.join(".hidden/a.py")));
        assert!(is_ignored(root, std::path::Path::new("/elsewhere/a.py")));
    }
}
