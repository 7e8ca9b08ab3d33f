//! Module schemes: how a file's path (or package declaration) makes module keys, how an
//! import path names candidate keys, and how a module is shown in qualified names.
//!
//! A module key is an interned string such as `py:pkg.sub`, `rs:mycrate::a::b`,
//! `dir:0:internal/util`, `java:com.example` or `path:0:src/util.ts`. Files register
//! under their keys; resolution looks keys up and records each one it tried as a
//! dependency, so a file appearing under a key later re-resolves what asked for it.

use std::collections::BTreeMap;

use codecontext_lang::ModuleScheme;

/// Facts about the workspace that module naming needs beyond file paths: Rust crate
/// names (from `Cargo.toml`) and Go module paths (from `go.mod`), by root and directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleContext {
    /// `(root, dir)` of a crate (the folder holding `Cargo.toml`) -> crate name with `_`.
    pub rust_crates: BTreeMap<(u32, String), String>,
    /// `(root, dir)` of a Go module (the folder holding `go.mod`) -> module path.
    pub go_modules: BTreeMap<(u32, String), String>,
}

fn dir_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(d, _)| d)
}

fn join_dir(dir: &str, rest: &str) -> String {
    match (dir.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (false, true) => dir.to_string(),
        (false, false) => format!("{dir}/{rest}"),
    }
}

/// Normalizes `a/./b/../c` to `a/c`; `None` if it climbs out of the root.
fn normalize_path(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

pub(crate) fn path_key(root: u32, rel: &str) -> String {
    format!("path:{root}:{rel}")
}

/// The innermost `(dir, value)` of `map` whose dir contains `rel`.
fn innermost<'a>(
    map: &'a BTreeMap<(u32, String), String>,
    root: u32,
    rel: &str,
) -> Option<(&'a str, &'a str)> {
    map.iter()
        .filter(|((r, dir), _)| {
            *r == root && (dir.is_empty() || rel == dir || rel.starts_with(&format!("{dir}/")))
        })
        .max_by_key(|((_, dir), _)| dir.len())
        .map(|((_, dir), v)| (dir.as_str(), v.as_str()))
}

/// Rust: the crate and module path of a file, e.g. `("mycrate", ["a", "b"])`.
fn rust_module(ctx: &ModuleContext, root: u32, rel: &str) -> (String, Vec<String>) {
    let (crate_dir, crate_name) = match innermost(&ctx.rust_crates, root, rel) {
        Some((dir, name)) => (dir.to_string(), name.to_string()),
        None => {
            // No Cargo.toml seen: the folder above `src/` names the crate.
            match rel.find("src/") {
                Some(i) => {
                    let dir = rel[..i].trim_end_matches('/');
                    let name = dir.rsplit('/').next().unwrap_or("crate");
                    (dir.to_string(), name.replace('-', "_"))
                }
                None => (String::new(), "crate".to_string()),
            }
        }
    };
    let inside = rel
        .strip_prefix(&crate_dir)
        .unwrap_or(rel)
        .trim_start_matches('/');
    let inside = inside.strip_prefix("src/").unwrap_or(inside);
    let no_ext = inside.strip_suffix(".rs").unwrap_or(inside);
    let mut segs: Vec<String> = no_ext.split('/').map(str::to_string).collect();
    match segs.last().map(String::as_str) {
        Some("lib") | Some("main") if segs.len() == 1 => {
            segs.pop();
        }
        Some("mod") => {
            segs.pop();
        }
        _ => {}
    }
    (crate_name, segs)
}

pub(crate) fn python_module(rel: &str) -> Vec<String> {
    let no_ext = rel
        .strip_suffix(".py")
        .or_else(|| rel.strip_suffix(".pyi"))
        .unwrap_or(rel);
    let mut segs: Vec<String> = no_ext.split('/').map(str::to_string).collect();
    if segs.last().map(String::as_str) == Some("__init__") {
        segs.pop();
    }
    segs
}

/// The compilation unit of a file: its crate for Rust (`impl` blocks of a type live in
/// the type's crate), its root otherwise. Members declared outside their type are only
/// looked for within the type's unit.
pub(crate) fn unit_key(scheme: ModuleScheme, ctx: &ModuleContext, root: u32, rel: &str) -> String {
    match scheme {
        ModuleScheme::Rust => format!("unit:rs:{}", rust_module(ctx, root, rel).0),
        _ => format!("unit:{root}"),
    }
}

/// Module keys a file registers under.
pub(crate) fn file_module_keys(
    scheme: ModuleScheme,
    ctx: &ModuleContext,
    root: u32,
    rel: &str,
    package: Option<&str>,
) -> Vec<String> {
    let mut keys = vec![path_key(root, rel)];
    match scheme {
        ModuleScheme::Python => {
            let segs = python_module(rel);
            // Every suffix, so that `import pkg.mod` finds `src/pkg/mod.py` whatever
            // folder is on the import path.
            for i in 0..segs.len() {
                keys.push(format!("py:{}", segs[i..].join(".")));
            }
        }
        ModuleScheme::Rust => {
            let (krate, segs) = rust_module(ctx, root, rel);
            if segs.is_empty() {
                keys.push(format!("rs:{krate}"));
            } else {
                keys.push(format!("rs:{krate}::{}", segs.join("::")));
            }
        }
        ModuleScheme::Go => {
            keys.push(format!("dir:{root}:{}", dir_of(rel)));
        }
        ModuleScheme::Java => {
            if let Some(p) = package {
                keys.push(format!("java:{p}"));
            }
        }
        ModuleScheme::Node | ModuleScheme::None => {}
    }
    keys
}

/// The key of the package whose files share one scope with this file (Go: the
/// directory; Java: the declared package).
pub(crate) fn package_scope_key(
    scheme: ModuleScheme,
    root: u32,
    rel: &str,
    package: Option<&str>,
) -> Option<String> {
    match scheme {
        ModuleScheme::Go => Some(format!("dir:{root}:{}", dir_of(rel))),
        ModuleScheme::Java => package.map(|p| format!("java:{p}")),
        _ => None,
    }
}

/// The module part of qualified names of a file's entities.
pub(crate) fn display_module(
    scheme: ModuleScheme,
    ctx: &ModuleContext,
    root: u32,
    rel: &str,
    package: Option<&str>,
) -> String {
    match scheme {
        ModuleScheme::Python => python_module(rel).join("."),
        ModuleScheme::Rust => {
            let (krate, segs) = rust_module(ctx, root, rel);
            std::iter::once(krate)
                .chain(segs)
                .collect::<Vec<_>>()
                .join("::")
        }
        ModuleScheme::Go => match innermost(&ctx.go_modules, root, rel) {
            Some((dir, module)) => {
                let inside = dir_of(rel)
                    .strip_prefix(dir)
                    .unwrap_or(dir_of(rel))
                    .trim_start_matches('/');
                join_dir(module, inside)
            }
            None => dir_of(rel).to_string(),
        },
        ModuleScheme::Java => package.unwrap_or("").to_string(),
        ModuleScheme::Node | ModuleScheme::None => {
            let no_ext = rel.rsplit_once('.').map_or(rel, |(a, _)| a);
            no_ext.to_string()
        }
    }
}

/// Splits an import path into segments the resolver walks: the first `k` segments
/// name a module (longest first), the rest are members.
pub(crate) fn path_segments(scheme: ModuleScheme, path: &str) -> Vec<String> {
    match scheme {
        ModuleScheme::Python => {
            let dots = path.chars().take_while(|&c| c == '.').count();
            let mut segs = Vec::new();
            if dots > 0 {
                segs.push(".".repeat(dots));
            }
            segs.extend(
                path[dots..]
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            segs
        }
        ModuleScheme::Rust => path
            .split("::")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        ModuleScheme::Java => path.split('.').map(str::to_string).collect(),
        ModuleScheme::Node | ModuleScheme::Go | ModuleScheme::None => vec![path.to_string()],
    }
}

/// Candidate module keys for the module named by `segs` (an import path prefix), as
/// seen from a file, in priority order.
pub(crate) fn module_keys_for(
    scheme: ModuleScheme,
    ctx: &ModuleContext,
    root: u32,
    from_rel: &str,
    segs: &[String],
) -> Vec<String> {
    if segs.is_empty() {
        return Vec::new();
    }
    match scheme {
        ModuleScheme::Python => {
            if segs[0].starts_with('.') {
                let dots = segs[0].len();
                let mut dir = dir_of(from_rel).to_string();
                for _ in 1..dots {
                    dir = dir_of(&dir).to_string();
                }
                let rest = segs[1..].join("/");
                let base = join_dir(&dir, &rest);
                let mut keys = Vec::new();
                if !rest.is_empty() {
                    keys.push(path_key(root, &format!("{base}.py")));
                    keys.push(path_key(root, &format!("{base}.pyi")));
                }
                keys.push(path_key(root, &join_dir(&base, "__init__.py")));
                keys.push(path_key(root, &join_dir(&base, "__init__.pyi")));
                keys
            } else {
                vec![format!("py:{}", segs.join("."))]
            }
        }
        ModuleScheme::Rust => {
            let (krate, own) = rust_module(ctx, root, from_rel);
            let join = |mut base: Vec<String>, rest: &[String]| {
                base.extend(rest.iter().cloned());
                if base.len() == 1 {
                    format!("rs:{}", base[0])
                } else {
                    format!("rs:{}", base.join("::"))
                }
            };
            let mut crate_path = vec![krate.clone()];
            match segs[0].as_str() {
                "crate" => vec![join(crate_path, &segs[1..])],
                "self" => {
                    crate_path.extend(own);
                    vec![join(crate_path, &segs[1..])]
                }
                "super" => {
                    let mut module = own;
                    let mut i = 0;
                    while i < segs.len() && segs[i] == "super" {
                        module.pop();
                        i += 1;
                    }
                    crate_path.extend(module);
                    vec![join(crate_path, &segs[i..])]
                }
                _ => {
                    let mut relative = crate_path.clone();
                    relative.extend(own.iter().cloned());
                    let mut keys = vec![join(relative, segs)];
                    let absolute = join(crate_path, segs);
                    if !keys.contains(&absolute) {
                        keys.push(absolute);
                    }
                    keys.push(join(Vec::new(), segs));
                    keys
                }
            }
        }
        ModuleScheme::Java => vec![format!("java:{}", segs.join("."))],
        ModuleScheme::Go => {
            let path = &segs[0];
            ctx.go_modules
                .iter()
                .filter(|((r, _), module)| {
                    *r == root && (path == *module || path.starts_with(&format!("{module}/")))
                })
                .map(|((r, dir), module)| {
                    let rest = path[module.len()..].trim_start_matches('/');
                    format!("dir:{r}:{}", join_dir(dir, rest))
                })
                .collect()
        }
        ModuleScheme::Node => {
            let spec = &segs[0];
            if !(spec.starts_with("./") || spec.starts_with("../") || spec == "." || spec == "..") {
                return Vec::new();
            }
            let Some(base) = normalize_path(&join_dir(dir_of(from_rel), spec)) else {
                return Vec::new();
            };
            let mut stems = vec![base.clone()];
            // TypeScript sources import `./x.js` and mean `./x.ts`.
            for ext in [".js", ".jsx", ".mjs", ".cjs"] {
                if let Some(stem) = base.strip_suffix(ext) {
                    stems.push(stem.to_string());
                }
            }
            let mut keys = vec![path_key(root, &base)];
            for stem in &stems {
                for ext in ["ts", "tsx", "d.ts", "js", "jsx", "mjs", "cjs"] {
                    keys.push(path_key(root, &format!("{stem}.{ext}")));
                }
            }
            for ext in ["ts", "tsx", "d.ts", "js", "jsx"] {
                keys.push(path_key(root, &join_dir(&base, &format!("index.{ext}"))));
            }
            keys
        }
        ModuleScheme::None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_keys_and_relative_imports() {
        let ctx = ModuleContext::default();
        let keys = file_module_keys(
            ModuleScheme::Python,
            &ctx,
            0,
            "src/pkg/sub/__init__.py",
            None,
        );
        assert!(keys.contains(&"py:pkg.sub".to_string()));
        assert!(keys.contains(&"py:src.pkg.sub".to_string()));
        let segs = path_segments(ModuleScheme::Python, "..util");
        assert_eq!(segs, vec!["..", "util"]);
        let keys = module_keys_for(ModuleScheme::Python, &ctx, 0, "src/pkg/sub/m.py", &segs);
        assert_eq!(keys[0], "path:0:src/pkg/util.py");
    }

    #[test]
    fn rust_modules_from_paths() {
        let mut ctx = ModuleContext::default();
        ctx.rust_crates
            .insert((0, "crates/text".into()), "codecontext_text".into());
        let keys = file_module_keys(
            ModuleScheme::Rust,
            &ctx,
            0,
            "crates/text/src/line_index.rs",
            None,
        );
        assert!(keys.contains(&"rs:codecontext_text::line_index".to_string()));
        let keys = file_module_keys(ModuleScheme::Rust, &ctx, 0, "crates/text/src/lib.rs", None);
        assert!(keys.contains(&"rs:codecontext_text".to_string()));
        let segs = path_segments(ModuleScheme::Rust, "super::edit");
        let keys = module_keys_for(ModuleScheme::Rust, &ctx, 0, "crates/text/src/a/b.rs", &segs);
        assert_eq!(keys, vec!["rs:codecontext_text::a::edit"]);
    }

    #[test]
    fn node_relative_specifiers() {
        let ctx = ModuleContext::default();
        let keys = module_keys_for(
            ModuleScheme::Node,
            &ctx,
            0,
            "src/app.ts",
            &["../lib/util.js".to_string()],
        );
        assert!(keys.contains(&"path:0:lib/util.ts".to_string()));
        assert!(keys.contains(&"path:0:lib/util.js/index.ts".to_string()));
        assert!(
            module_keys_for(ModuleScheme::Node, &ctx, 0, "a.ts", &["react".to_string()]).is_empty()
        );
        assert!(module_keys_for(
            ModuleScheme::Node,
            &ctx,
            0,
            "a.ts",
            &["../../x".to_string()]
        )
        .is_empty());
    }

    #[test]
    fn go_import_paths_through_go_mod() {
        let mut ctx = ModuleContext::default();
        ctx.go_modules
            .insert((0, "".into()), "example.com/proj".into());
        let keys = module_keys_for(
            ModuleScheme::Go,
            &ctx,
            0,
            "cmd/main.go",
            &["example.com/proj/internal/util".to_string()],
        );
        assert_eq!(keys, vec!["dir:0:internal/util"]);
        assert!(module_keys_for(
            ModuleScheme::Go,
            &ctx,
            0,
            "cmd/main.go",
            &["fmt".to_string()]
        )
        .is_empty());
    }
}
