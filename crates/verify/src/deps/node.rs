//! Node projects: the packages the lockfile (`package-lock.json`, else
//! `npm-shrinkwrap.json`) pins that `node_modules` does not hold at their version,
//! installed by `npm ci` into a `node_modules` of the cache's own.
//!
//! What is there is read from each package's `package.json` under `node_modules`,
//! without running npm. Optional packages (another platform's binaries) are not asked
//! for, and the packages of workspace members are left to their own `node_modules`.
//!
//! `npm ci` runs in the snapshot, where it replaces `node_modules` as it always does
//! (in the snapshot only), and the result is copied into the cache; the test run's
//! prelude links the cache's `node_modules` in place of the project's.

use std::path::Path;

use codecontext_sandbox::RunSpec;

use crate::edit::FileChange;

/// The variable the test run's prelude reads the `node_modules` to link from (see
/// `project::detected`).
pub(crate) const NODE_MODULES: &str = "CODECONTEXT_NODE_MODULES";

/// The lockfile's name and text as the edit leaves them, and the packages it pins that
/// `node_modules` lacks (`name version`); `None` without a lockfile or when none is
/// lacking.
pub(super) fn lacking(
    root: &Path,
    changes: &[FileChange],
) -> Option<(&'static str, String, Vec<String>)> {
    let (file, lock) = ["package-lock.json", "npm-shrinkwrap.json"]
        .into_iter()
        .find_map(|file| Some((file, super::edited(root, changes, file)?)))?;
    let missing = missing_from(&lock, root)?;
    (!missing.is_empty()).then_some((file, lock, missing))
}

/// The packages of the lockfile `lock` that `root`'s `node_modules` does not hold at
/// their version; `None` when `lock` is not a lockfile.
fn missing_from(lock: &str, root: &Path) -> Option<Vec<String>> {
    let lock: serde_json::Value = serde_json::from_str(lock).ok()?;
    let installed = |path: &str| -> Option<String> {
        let text = std::fs::read_to_string(root.join(path).join("package.json")).ok()?;
        let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
        manifest["version"].as_str().map(String::from)
    };
    let mut missing = Vec::new();
    let mut check = |path: &str, version: Option<&str>| {
        if let Some(version) = version {
            if installed(path).as_deref() != Some(version) {
                let name = path.rsplit("node_modules/").next().unwrap_or(path);
                missing.push(format!("{name} {version}"));
            }
        }
    };
    if let Some(packages) = lock["packages"].as_object() {
        // Lockfile versions 2 and 3: every installed path.
        for (path, entry) in packages {
            let skipped = !path.starts_with("node_modules/")
                || entry["link"] == true
                || entry["optional"] == true;
            if !skipped {
                check(path, entry["version"].as_str());
            }
        }
    } else {
        // Version 1: the top level's dependencies.
        for (name, entry) in lock["dependencies"].as_object()? {
            if entry["optional"] != true {
                check(&format!("node_modules/{name}"), entry["version"].as_str());
            }
        }
    }
    Some(missing)
}

/// `npm ci` in the snapshot, its `node_modules` then copied into `partial`.
pub(super) fn install(spec: &mut RunSpec, partial: String) -> Vec<String> {
    spec.env.extend(
        [
            // npm's own cache, inside: the install is what is kept.
            ("npm_config_cache", "/tmp/npm-cache"),
            ("npm_config_audit", "false"),
            ("npm_config_fund", "false"),
            ("npm_config_update_notifier", "false"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    [
        "sh",
        "-c",
        "npm ci && cp -a node_modules \"$1\"/",
        "install",
        partial.as_str(),
    ]
    .map(String::from)
    .to_vec()
}

/// The cache's `node_modules` linked in place of the project's.
pub(super) fn use_cache(spec: &mut RunSpec, cache: &Path) {
    spec.env.push((
        NODE_MODULES.into(),
        cache.join("node_modules").display().to_string(),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_are_there_at_their_version_optional_ones_are_not_asked_for() {
        let root = tempfile::tempdir().unwrap();
        let lock = r#"{
          "name": "app", "lockfileVersion": 3,
          "packages": {
            "": {"name": "app", "dependencies": {"calcdep": "^1.0.0"}},
            "node_modules/calcdep": {"version": "1.0.0", "resolved": "file:calcdep-1.0.0.tgz"},
            "node_modules/calcdep/node_modules/inner": {"version": "2.1.0"},
            "node_modules/fsevents": {"version": "2.3.3", "optional": true},
            "node_modules/member": {"resolved": "packages/member", "link": true},
            "packages/member": {"version": "0.1.0"}
          }
        }"#;
        let missing = || missing_from(lock, root.path()).unwrap();
        assert_eq!(missing(), ["calcdep 1.0.0", "inner 2.1.0"]);
        let install = |path: &str, version: &str| {
            let dir = root.path().join(path);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join("package.json"),
                format!(r#"{{"version": "{version}"}}"#),
            )
            .unwrap();
        };
        install("node_modules/calcdep", "0.9.0");
        install("node_modules/calcdep/node_modules/inner", "2.1.0");
        assert_eq!(missing(), ["calcdep 1.0.0"]);
        install("node_modules/calcdep", "1.0.0");
        assert!(missing().is_empty());

        let v1 = r#"{"lockfileVersion": 1, "dependencies": {"calcdep": {"version": "1.0.0"}, "left": {"version": "3.0.0"}}}"#;
        assert_eq!(missing_from(v1, root.path()).unwrap(), ["left 3.0.0"]);
        assert_eq!(missing_from("{not json", root.path()), None);
    }

    #[test]
    fn the_lockfile_is_read_as_edited() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(lacking(root.path(), &[]), None);
        std::fs::write(
            root.path().join("npm-shrinkwrap.json"),
            r#"{"packages": {}}"#,
        )
        .unwrap();
        assert_eq!(lacking(root.path(), &[]), None);
        let edit = [FileChange {
            path: "package-lock.json".into(),
            content: Some(r#"{"packages": {"node_modules/a": {"version": "1.0.0"}}}"#.into()),
        }];
        let (file, _, missing) = lacking(root.path(), &edit).unwrap();
        assert_eq!(
            (file, missing),
            ("package-lock.json", vec!["a 1.0.0".to_string()])
        );
    }
}
