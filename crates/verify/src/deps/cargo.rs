//! Cargo projects: the packages `Cargo.lock` pins that the host's Cargo home has not
//! downloaded, fetched by `cargo fetch` into a Cargo home of the cache's own.
//!
//! What is there is read from the Cargo home's folders, without running Cargo: a
//! registry package is there when its sources are unpacked (`registry/src/*/name-version`),
//! a git one when its commit is checked out (`git/checkouts/*/<short id>`). Without a
//! `Cargo.lock` nothing pins the packages, and there is no install phase: the offline
//! build says what it cannot find.
//!
//! The cache is a whole Cargo home (`registry`, `git`) for the lockfile: the test run
//! links it in place of the host's.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
};

use codecontext_sandbox::RunSpec;

use crate::{
    edit::FileChange,
    toolchain::{set_var, var, Toolchain},
};

/// The variable that names the host's Cargo home, which the test run uses (see
/// `project::cargo_home`), or the install cache in its place.
pub(crate) const HOST_CARGO_HOME: &str = "HOST_CARGO_HOME";

/// `Cargo.lock` as the edit leaves it, and the packages it pins that the toolchain's
/// Cargo home lacks (`name version`); `None` without a lockfile or when none is lacking.
pub(super) fn lacking(
    root: &Path,
    changes: &[FileChange],
    toolchain: &Toolchain,
) -> Option<(String, Vec<String>)> {
    let lock = super::edited(root, changes, "Cargo.lock")?;
    let home = var(&toolchain.env, HOST_CARGO_HOME).map(PathBuf::from);
    let missing = missing_from(&lock, home.as_deref())?;
    (!missing.is_empty()).then_some((lock, missing))
}

/// The packages of the lockfile `lock` that the Cargo home at `home` has not
/// downloaded; `None` when `lock` is not a lockfile.
fn missing_from(lock: &str, home: Option<&Path>) -> Option<Vec<String>> {
    let lock: toml::Table = lock.parse().ok()?;
    let packages = lock.get("package")?.as_array()?;
    // Each registry's unpacked sources, and each repository's checked-out commits.
    let entries = |dir: &str| home.map(|h| entries(h, dir)).unwrap_or_default();
    let unpacked = entries("registry/src");
    let checked_out = entries("git/checkouts");
    let mut missing = Vec::new();
    for package in packages {
        let field = |key: &str| package.get(key).and_then(|v| v.as_str());
        let (Some(name), Some(version), Some(source)) =
            (field("name"), field("version"), field("source"))
        else {
            // The workspace's own packages, and paths: nothing to fetch.
            continue;
        };
        let there = if source.starts_with("git+") {
            // `git+https://…?rev=x#<commit>`: checked out under a short id of the commit.
            let commit = source.rsplit('#').next().unwrap_or("");
            checked_out
                .iter()
                .any(|id| id.len() >= 7 && commit.starts_with(id.as_str()))
        } else {
            unpacked.contains(&format!("{name}-{version}"))
        };
        if !there {
            missing.push(format!("{name} {version}"));
        }
    }
    Some(missing)
}

/// The names in the folders of `home`'s `dir` (`registry/src`, `git/checkouts`), one
/// level down: each registry's unpacked packages, each repository's checkouts.
fn entries(home: &Path, dir: &str) -> HashSet<String> {
    let parents = std::fs::read_dir(home.join(dir))
        .into_iter()
        .flatten()
        .flatten();
    parents
        .flat_map(|parent| {
            std::fs::read_dir(parent.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Of `missing` (`name version`), those the Cargo home at `home` holds: registry
/// packages it has unpacked, and (by their repository's folder, named for it) git ones.
pub(super) fn present(missing: &[String], home: &Path) -> Vec<String> {
    let unpacked = entries(home, "registry/src");
    let repositories: Vec<String> = std::fs::read_dir(home.join("git/checkouts"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    missing
        .iter()
        .filter(|m| {
            let name = m.split(' ').next().unwrap_or("");
            unpacked.contains(&m.replacen(' ', "-", 1))
                || repositories
                    .iter()
                    .any(|r| r.starts_with(&format!("{name}-")))
        })
        .cloned()
        .collect()
}

/// `cargo fetch`'s argv, into a Cargo home at `partial`: the packages this platform
/// builds with (what the probe found lacking among them).
pub(super) fn install(spec: &mut RunSpec, toolchain: &Toolchain, partial: String) -> Vec<String> {
    spec.env.extend(
        [
            ("CARGO_HOME", partial.as_str()),
            ("CARGO_TERM_COLOR", "never"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    [
        toolchain.program.as_str(),
        "fetch",
        "--target",
        "host-tuple",
    ]
    .map(String::from)
    .to_vec()
}

/// The cache as the test run's Cargo home, in place of the host's.
pub(super) fn use_cache(spec: &mut RunSpec, cache: &Path) {
    let cache = cache.display().to_string();
    set_var(&mut spec.env, HOST_CARGO_HOME, cache.clone());
    set_var(&mut spec.env, "CARGO_HOME", cache);
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["itoa", "local", "forked"]

[[package]]
name = "itoa"
version = "1.0.19"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "00"

[[package]]
name = "ryu"
version = "1.0.20"
source = "sparse+http://127.0.0.1:9/index/"
checksum = "00"

[[package]]
name = "forked"
version = "0.3.0"
source = "git+https://example.invalid/forked?branch=main#0123456789abcdef0123456789abcdef01234567"

[[package]]
name = "local"
version = "0.1.0"
"#;

    #[test]
    fn registry_and_git_packages_are_there_when_unpacked_or_checked_out() {
        let home = tempfile::tempdir().unwrap();
        let missing = |home: Option<&Path>| missing_from(LOCK, home).unwrap();
        let all = ["itoa 1.0.19", "ryu 1.0.20", "forked 0.3.0"];
        assert_eq!(missing(None), all);
        assert_eq!(missing(Some(home.path())), all);

        let mkdir = |p: &str| std::fs::create_dir_all(home.path().join(p)).unwrap();
        mkdir("registry/src/index.crates.io-1949cf8c6b5b557f/itoa-1.0.19");
        // Downloaded but another version: still lacking.
        mkdir("registry/src/127.0.0.1-0123/ryu-1.0.19");
        mkdir("git/checkouts/forked-abcd/0123456");
        assert_eq!(missing(Some(home.path())), ["ryu 1.0.20"]);
        mkdir("registry/src/127.0.0.1-0123/ryu-1.0.20");
        assert!(missing(Some(home.path())).is_empty());

        assert_eq!(missing_from("not = [a lockfile", Some(home.path())), None);
    }

    #[test]
    fn what_an_install_holds_narrows_what_was_missing() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("registry/src/index-1/itoa-1.0.19")).unwrap();
        std::fs::create_dir_all(home.path().join("git/checkouts/forked-abcd/0123456")).unwrap();
        let missing = ["itoa 1.0.19", "windows-sys 0.61.2", "forked 0.3.0"].map(String::from);
        assert_eq!(
            present(&missing, home.path()),
            ["itoa 1.0.19", "forked 0.3.0"]
        );
    }

    #[test]
    fn the_edit_decides_and_no_lockfile_means_no_phase() {
        let root = tempfile::tempdir().unwrap();
        let toolchain = Toolchain::default();
        assert_eq!(lacking(root.path(), &[], &toolchain), None);
        let edit = [FileChange {
            path: "Cargo.lock".into(),
            content: Some(LOCK.into()),
        }];
        let (lock, missing) = lacking(root.path(), &edit, &toolchain).unwrap();
        assert_eq!(lock, LOCK);
        assert_eq!(missing.len(), 3);
    }
}
