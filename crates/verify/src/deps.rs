//! The install phase of a Python project: the requirements its interpreter lacks are
//! installed before the tests run, in the sandbox with the network on (that phase
//! only), into a cache on the host keyed by the requirements files and the
//! interpreter. Later verifications show the cache read-only and skip the phase.
//!
//! Requirements are read from the usual files at the project's root
//! (`requirements.txt`, `requirements-dev.txt`, `requirements-test.txt`,
//! `dev-requirements.txt`, `test-requirements.txt`, `requirements/dev.txt`,
//! `requirements/test.txt`), following their `-r` includes; pip installs them
//! (`pip install --target`), configured by the server's `PIP_*` variables (an index
//! URL, find-links, trusted hosts), which the phase passes on.

use std::path::{Path, PathBuf};

use codecontext_sandbox::{RunOutcome, RunSpec, Status};
use serde::{Deserialize, Serialize};

use crate::{edit::FileChange, toolchain::Toolchain};

/// The files that list a project's requirements, at its root.
const FILES: &[&str] = &[
    "requirements.txt",
    "requirements-dev.txt",
    "requirements-test.txt",
    "dev-requirements.txt",
    "test-requirements.txt",
    "requirements/dev.txt",
    "requirements/test.txt",
];

/// What the verdict says of the install phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallPhase {
    /// `installed` (this run), `cached` (an earlier run's install, shown read-only), or
    /// `failed`.
    pub status: InstallStatus,
    pub wall_ms: u64,
    /// Whether the cache served it, with no install.
    pub cached: bool,
    /// The requirements files read, relative to the root.
    pub requirements: Vec<String>,
    /// The requirements the interpreter lacked.
    pub missing: Vec<String>,
    /// For a failed install: the end of what pip said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallStatus {
    Installed,
    Cached,
    Failed,
}

/// A project's requirements files and the requirements they list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    pub files: Vec<String>,
    /// In order, as listed.
    pub listed: Vec<Requirement>,
    /// The files' contents, for the cache's key.
    texts: Vec<String>,
}

/// One requirement: what an installed distribution must satisfy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    /// The distribution's normalized name (`Foo_Bar` is `foo-bar`).
    pub name: String,
    /// As written (`PyYAML==6.0.1; python_version >= '3.8'`).
    pub spec: String,
}

impl Requirement {
    /// A requirements file's line, its comment cut; `None` for a line that names no
    /// distribution here (options such as -e, --index-url, -c; URLs).
    pub fn parse(line: &str) -> Option<Requirement> {
        if line.starts_with('-') || line.contains("://") {
            return None;
        }
        let end = line
            .find(|c: char| "<>=!~;[ @".contains(c))
            .unwrap_or(line.len());
        let name = normalize(&line[..end]);
        (!name.is_empty()).then(|| Requirement {
            name,
            spec: line.to_string(),
        })
    }
}

/// The requirements of the Python project at `root`, as the edit's `changes` leave
/// them; `None` when it lists none.
pub fn python_requirements(root: &Path, changes: &[FileChange]) -> Option<Requirements> {
    let mut found = Requirements::default();
    for file in FILES {
        read(root, changes, Path::new(file), &mut found, 0);
    }
    (!found.listed.is_empty()).then_some(found)
}

/// Reads one requirements file (as edited) and what it includes (`-r`), to a bounded
/// depth.
fn read(root: &Path, changes: &[FileChange], file: &Path, found: &mut Requirements, depth: usize) {
    let name = file.display().to_string();
    if depth > 4 || found.files.contains(&name) {
        return;
    }
    let text = match changes.iter().find(|c| c.path == name) {
        Some(change) => change.content.clone(),
        None => std::fs::read_to_string(root.join(file)).ok(),
    };
    let Some(text) = text else {
        return;
    };
    found.files.push(name);
    for line in text.lines() {
        let line = line.split(" #").next().unwrap_or(line).trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let include = ["-r ", "--requirement ", "--requirement="]
            .iter()
            .find_map(|flag| line.strip_prefix(flag));
        if let Some(included) = include {
            let at = file.parent().unwrap_or(Path::new("")).join(included.trim());
            read(root, changes, &at, found, depth + 1);
            continue;
        }
        found.listed.extend(Requirement::parse(line));
    }
    found.texts.push(text);
}

/// A distribution's name as pip compares them (PEP 503).
fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if "-_.".contains(c) {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

impl Requirements {
    /// The distributions' names, in order, without repeats.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for r in &self.listed {
            if !names.contains(&r.name) {
                names.push(r.name.clone());
            }
        }
        names
    }

    /// The cache's folder for these requirements installed for `toolchain`, under
    /// `home`: a key of the files' contents and the interpreter.
    pub fn cache_dir(&self, home: &Path, toolchain: &Toolchain) -> PathBuf {
        let mut key = String::new();
        for (file, text) in self.files.iter().zip(&self.texts) {
            key.push_str(file);
            key.push('\0');
            key.push_str(text);
            key.push('\0');
        }
        key.push_str(&toolchain.program);
        key.push('\0');
        key.push_str(toolchain.version.as_deref().unwrap_or(""));
        let hash = xxhash_rust::xxh3::xxh3_64(key.as_bytes());
        home.join("deps").join(format!("python-{hash:016x}"))
    }
}

/// Marks a cache folder whose install finished.
const COMPLETE: &str = ".codecontext-complete";

/// Whether `cache` holds a finished install.
pub fn is_complete(cache: &Path) -> bool {
    cache.join(COMPLETE).is_file()
}

/// The names of the distributions `listed` requires that `python` does not have
/// installed (with `cache` on its path, if given) or has at a version they exclude, asked of the
/// interpreter itself, isolated as in the sandbox. Versions and environment markers are
/// judged by `packaging` (the project's, else pip's own copy); without either, a
/// distribution counts as present at any version. `None` when it cannot be asked.
pub fn lacking(python: &str, cache: Option<&Path>, listed: &[Requirement]) -> Option<Vec<String>> {
    const SCRIPT: &str = r#"import re, importlib.metadata as m
if sys.argv[1]: sys.path.insert(0, sys.argv[1])
norm = lambda n: re.sub(r'[-_.]+', '-', n).lower()
have = {}
for d in m.distributions():
    have.setdefault(norm(d.metadata['Name'] or ''), d.version)
try:
    from packaging.requirements import Requirement
except Exception:
    try:
        from pip._vendor.packaging.requirements import Requirement
    except Exception:
        Requirement = None
out = []
pairs = sys.argv[2:]
for name, spec in zip(pairs[0::2], pairs[1::2]):
    ok = name in have
    if Requirement is not None:
        try:
            r = Requirement(spec)
            if r.marker is not None and not r.marker.evaluate():
                continue
            ok = ok and r.specifier.contains(have[name], prereleases=True)
        except Exception:
            pass
    if not ok and name not in out:
        out.append(name)
print('\n'.join(out))"#;
    let cache = cache.map(|c| c.display().to_string()).unwrap_or_default();
    let mut args = vec![cache.as_str()];
    for r in listed {
        args.extend([r.name.as_str(), r.spec.as_str()]);
    }
    let out = crate::toolchain::probe(Path::new(python), SCRIPT, &args)?;
    Some(
        out.lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// The variables of the server's environment passed to the install phase: pip's own
/// configuration (an index, find-links, trusted hosts, certificates), and a proxy.
fn passed_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("PIP_")
                || [
                    "HTTP_PROXY",
                    "HTTPS_PROXY",
                    "NO_PROXY",
                    "http_proxy",
                    "https_proxy",
                    "no_proxy",
                ]
                .contains(&k.as_str())
        })
        .collect()
}

/// The install phase's run: pip installs the requirements files (as the edit leaves
/// them) into `partial` (a fresh folder next to the cache), the project shown at its
/// own path, the network on.
pub fn install_spec(
    root: &Path,
    changes: &[FileChange],
    toolchain: &Toolchain,
    requirements: &Requirements,
    partial: &Path,
) -> RunSpec {
    let mut spec = RunSpec {
        limits: crate::project::build_limits(),
        ..RunSpec::default()
    };
    // Downloads take longer than builds.
    spec.limits.timeout_ms *= 2;
    spec.limits.cpu_ms *= 2;
    spec.network = true;
    spec.workspace = Some(root.to_path_buf());
    spec.mount_at = Some(root.to_path_buf());
    spec.readonly = toolchain.readonly.clone();
    spec.path = toolchain.path.clone();
    spec.env = toolchain.env.clone();
    spec.env.extend(passed_env());
    spec.env.push(("PIP_NO_INPUT".into(), "1".into()));
    spec.env
        .push(("PIP_DISABLE_PIP_VERSION_CHECK".into(), "1".into()));
    spec.writable = vec![partial.to_path_buf()];
    for change in changes {
        if let (true, Some(text)) = (requirements.files.contains(&change.path), &change.content) {
            spec.files
                .push((change.path.clone(), text.clone().into_bytes()));
        }
    }
    spec.argv = [
        toolchain.program.as_str(),
        "-m",
        "pip",
        "install",
        "--no-warn-script-location",
        "--target",
    ]
    .map(String::from)
    .to_vec();
    spec.argv.push(partial.display().to_string());
    for file in &requirements.files {
        spec.argv.extend(["-r".to_string(), file.clone()]);
    }
    spec
}

/// A folder beside `cache` for one install to fill.
pub fn partial_dir(cache: &Path) -> std::io::Result<tempfile::TempDir> {
    let parent = cache.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    tempfile::Builder::new()
        .prefix(".installing-")
        .tempdir_in(parent)
}

/// Makes a finished install the cache (another verification's finished first: theirs
/// stays).
pub fn finish(partial: tempfile::TempDir, cache: &Path) -> std::io::Result<()> {
    std::fs::write(partial.path().join(COMPLETE), b"")?;
    let path = partial.keep();
    if std::fs::rename(&path, cache).is_err() && is_complete(cache) {
        let _ = std::fs::remove_dir_all(&path);
        return Ok(());
    }
    if !is_complete(cache) {
        return Err(std::io::Error::other(format!(
            "could not move the install to {}",
            cache.display()
        )));
    }
    Ok(())
}

/// Why an install failed, from its outcome: the end of pip's output, or the sandbox's
/// message.
pub fn failure(outcome: &RunOutcome) -> String {
    if outcome.status == Status::SandboxError {
        return outcome.message.clone().unwrap_or_default();
    }
    let text = if outcome.stderr.trim().is_empty() {
        &outcome.stdout
    } else {
        &outcome.stderr
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(6)..].join("\n")
}

/// Whether a failed install failed for want of pip itself.
pub fn pip_missing(outcome: &RunOutcome) -> bool {
    outcome
        .stderr
        .lines()
        .any(|l| l.ends_with("No module named pip"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_files_give_normalized_names_and_follow_includes() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(
            root.path().join("requirements.txt"),
            "# runtime\nRequests>=2.31  # http\nPyYAML==6.0.1; python_version >= '3.8'\n\
             -r requirements/base.txt\n-e .\n--index-url https://example.invalid/simple\n\
             git+https://example.invalid/x.git\nrich[jupyter] ~= 13.0\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.path().join("requirements")).unwrap();
        std::fs::write(
            root.path().join("requirements/base.txt"),
            "zope.interface\nrequests\n",
        )
        .unwrap();
        std::fs::write(root.path().join("requirements-dev.txt"), "pytest_cov\n").unwrap();
        let found = python_requirements(root.path(), &[]).unwrap();
        assert_eq!(
            found.files,
            [
                "requirements.txt",
                "requirements/base.txt",
                "requirements-dev.txt"
            ]
        );
        assert_eq!(
            found.names(),
            ["requests", "pyyaml", "zope-interface", "rich", "pytest-cov"]
        );
        let specs: Vec<&str> = found.listed.iter().map(|r| r.spec.as_str()).collect();
        assert_eq!(
            specs,
            [
                "Requests>=2.31",
                "PyYAML==6.0.1; python_version >= '3.8'",
                "zope.interface",
                "requests",
                "rich[jupyter] ~= 13.0",
                "pytest_cov"
            ]
        );

        let toolchain = Toolchain {
            program: "/usr/bin/python3".into(),
            ..Toolchain::default()
        };
        let home = Path::new("/h");
        let key = found.cache_dir(home, &toolchain);
        assert!(key.starts_with("/h/deps"));
        assert_eq!(found.cache_dir(home, &toolchain), key);
        std::fs::write(root.path().join("requirements-dev.txt"), "pytest-cov==5\n").unwrap();
        let changed = python_requirements(root.path(), &[]).unwrap();
        assert_ne!(changed.cache_dir(home, &toolchain), key);
        // As the edit leaves them.
        let edit = [FileChange {
            path: "requirements/base.txt".into(),
            content: Some("attrs\n".into()),
        }];
        let edited = python_requirements(root.path(), &edit).unwrap();
        assert_eq!(
            edited.names(),
            ["requests", "pyyaml", "attrs", "rich", "pytest-cov"]
        );

        assert_eq!(
            python_requirements(tempfile::tempdir().unwrap().path(), &[]),
            None
        );
    }

    /// Asked of a real virtualenv: a distribution at a version the requirement excludes
    /// is lacking; one whose marker excludes this interpreter is not wanted.
    #[test]
    fn versions_and_markers_decide_what_is_lacking() {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join("v");
        let made = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(made.success(), "python3 -m venv (python3-venv) is needed");
        let python = venv.join("bin/python").display().to_string();
        let listed = |s: &[&str]| {
            s.iter()
                .map(|line| Requirement::parse(line).unwrap())
                .collect::<Vec<_>>()
        };
        let lacking = |s: &[&str]| lacking(&python, None, &listed(s)).unwrap();
        assert_eq!(lacking(&["pip", "Pip>=1.0"]), Vec::<String>::new());
        assert_eq!(
            lacking(&["pip<1", "no-such-dist==1"]),
            ["pip", "no-such-dist"]
        );
        assert_eq!(
            lacking(&[
                "pip<1; python_version < '3'",
                "no-such-dist; sys_platform == 'nowhere'"
            ]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_finished_install_becomes_the_cache_once() {
        let home = tempfile::tempdir().unwrap();
        let cache = home.path().join("deps/python-1");
        let first = partial_dir(&cache).unwrap();
        std::fs::write(first.path().join("a.py"), "").unwrap();
        let second = partial_dir(&cache).unwrap();
        std::fs::write(second.path().join("b.py"), "").unwrap();
        assert!(!is_complete(&cache));
        finish(first, &cache).unwrap();
        assert!(is_complete(&cache) && cache.join("a.py").is_file());
        finish(second, &cache).unwrap();
        assert!(cache.join("a.py").is_file() && !cache.join("b.py").exists());
        let left: Vec<_> = std::fs::read_dir(home.path().join("deps"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, ["python-1"]);
    }
}
