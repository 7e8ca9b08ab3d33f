//! Go projects: the modules `go.mod` requires that the host's module cache has not
//! extracted, downloaded by `go mod download` into a module cache of the cache's own,
//! from the server's `GOPROXY` (checked against `GOSUMDB`, as configured).
//!
//! What is there is read from the module cache's folders (`<module>@<version>`, with
//! Go's escaping of capitals), without running Go. Modules that `replace` directives
//! redirect are left to the build. A `go.mod` older than Go 1.17 lists only direct
//! requirements, so an indirect one missing is found by the build, not here.

use std::path::{Path, PathBuf};

use codecontext_sandbox::RunSpec;

use crate::{
    edit::FileChange,
    toolchain::{set_var, var, Toolchain},
};

/// The variable that names the module cache the tests' offline build reads: the host's
/// (see `toolchain::go`), or the install cache's.
pub(crate) const GOMODCACHE: &str = "GOMODCACHE";

/// `go.mod` as the edit leaves it, and the modules it requires that the toolchain's
/// module cache lacks (`module version`); `None` without a `go.mod` or when none is
/// lacking.
pub(super) fn lacking(
    root: &Path,
    changes: &[FileChange],
    toolchain: &Toolchain,
) -> Option<(String, Vec<String>)> {
    let text = super::edited(root, changes, "go.mod")?;
    let modcache = var(&toolchain.env, GOMODCACHE).map(PathBuf::from);
    let missing: Vec<String> = requirements(&text)
        .into_iter()
        .filter(|(module, version)| {
            let folder = format!("{}@{}", escape(module), escape(version));
            !modcache.as_ref().is_some_and(|c| c.join(folder).is_dir())
        })
        .map(|(module, version)| format!("{module} {version}"))
        .collect();
    (!missing.is_empty()).then_some((text, missing))
}

/// The `require`d modules of a `go.mod` and their versions, in order, without those a
/// `replace` redirects.
fn requirements(text: &str) -> Vec<(String, String)> {
    let mut required = Vec::new();
    let mut replaced = Vec::new();
    let mut block: Option<&str> = None;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (verb, rest) = match block {
            Some(_) if line == ")" => {
                block = None;
                continue;
            }
            Some(verb) => (verb, line),
            None => {
                let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                let rest = rest.trim();
                if rest == "(" {
                    block = Some(match verb {
                        "require" => "require",
                        "replace" => "replace",
                        _ => "other",
                    });
                    continue;
                }
                (verb, rest)
            }
        };
        let mut words = rest.split_whitespace();
        match verb {
            "require" => {
                if let (Some(module), Some(version)) = (words.next(), words.next()) {
                    required.push((unquote(module), unquote(version)));
                }
            }
            "replace" => replaced.extend(words.next().map(unquote)),
            _ => {}
        }
    }
    required.retain(|(module, _)| !replaced.contains(module));
    required
}

fn unquote(word: &str) -> String {
    word.trim_matches('"').to_string()
}

/// A module path or version as the module cache names it: each capital letter is `!`
/// and the letter in lower case.
fn escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `go mod download`'s argv, into a module cache at `partial` (writable, so that a
/// failed install can be removed).
pub(super) fn install(spec: &mut RunSpec, toolchain: &Toolchain, partial: String) -> Vec<String> {
    for (name, value) in [
        (GOMODCACHE, partial.as_str()),
        ("GOFLAGS", "-modcacherw"),
        // Not the host's (an overlay for the tests): nothing is built here.
        ("GOCACHE", "/tmp/go-cache"),
        ("GOPATH", "/tmp/gopath"),
        // No toolchain downloads: the one found runs.
        ("GOTOOLCHAIN", "local"),
    ] {
        set_var(&mut spec.env, name, value);
    }
    vec![toolchain.program.clone(), "mod".into(), "download".into()]
}

/// The cache's modules in place of the host's.
pub(super) fn use_cache(spec: &mut RunSpec, cache: &Path) {
    set_var(&mut spec.env, GOMODCACHE, cache.display().to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_MOD: &str = r#"module example.com/app

go 1.21

require example.com/single v1.2.0

require (
	github.com/BurntSushi/toml v1.3.2
	golang.org/x/text v0.14.0 // indirect
	example.com/local v0.1.0
	"example.com/quoted" v0.0.0-20240101000000-abcdef012345
)

replace example.com/local => ../local

replace (
	example.com/gone v1.0.0 => example.com/other v1.1.0
)
"#;

    #[test]
    fn requirements_in_lines_and_blocks_without_the_replaced() {
        assert_eq!(
            requirements(GO_MOD),
            [
                ("example.com/single", "v1.2.0"),
                ("github.com/BurntSushi/toml", "v1.3.2"),
                ("golang.org/x/text", "v0.14.0"),
                ("example.com/quoted", "v0.0.0-20240101000000-abcdef012345"),
            ]
            .map(|(m, v)| (m.to_string(), v.to_string()))
        );
        assert_eq!(
            escape("github.com/BurntSushi/toml"),
            "github.com/!burnt!sushi/toml"
        );
    }

    #[test]
    fn modules_are_there_when_extracted_in_the_module_cache() {
        let root = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("go.mod"), GO_MOD).unwrap();
        let toolchain = Toolchain {
            env: vec![(GOMODCACHE.into(), cache.path().display().to_string())],
            ..Toolchain::default()
        };
        let (_, missing) = lacking(root.path(), &[], &toolchain).unwrap();
        assert_eq!(missing.len(), 4);
        for folder in [
            "example.com/single@v1.2.0",
            "github.com/!burnt!sushi/toml@v1.3.2",
            "golang.org/x/text@v0.14.0",
        ] {
            std::fs::create_dir_all(cache.path().join(folder)).unwrap();
        }
        let (_, missing) = lacking(root.path(), &[], &toolchain).unwrap();
        assert_eq!(
            missing,
            ["example.com/quoted v0.0.0-20240101000000-abcdef012345"]
        );
        std::fs::create_dir_all(
            cache
                .path()
                .join("example.com/quoted@v0.0.0-20240101000000-abcdef012345"),
        )
        .unwrap();
        assert_eq!(lacking(root.path(), &[], &toolchain), None);
        // Without a module cache, everything required is lacking; without go.mod, nothing.
        let (_, missing) = lacking(root.path(), &[], &Toolchain::default()).unwrap();
        assert_eq!(missing.len(), 4);
        assert_eq!(lacking(cache.path(), &[], &toolchain), None);
    }
}
