//! Python projects: the requirements their interpreter lacks, installed by pip.
//!
//! Requirements are read from the usual files at the project's root
//! (`requirements.txt`, `requirements-dev.txt`, `requirements-test.txt`,
//! `dev-requirements.txt`, `test-requirements.txt`, `requirements/dev.txt`,
//! `requirements/test.txt`), following their `-r` includes; pip installs them
//! (`pip install --target`), configured by the server's `PIP_*` variables (an index
//! URL, find-links, trusted hosts), which the phase passes on.

use std::path::{Path, PathBuf};

use codecontext_sandbox::RunSpec;

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
    let Some(text) = super::edited(root, changes, &name) else {
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
        let files: Vec<(&str, &str)> = self
            .files
            .iter()
            .zip(&self.texts)
            .map(|(f, t)| (f.as_str(), t.as_str()))
            .collect();
        super::cache_dir(home, "python", &files, toolchain)
    }
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

/// pip's argv, installing the requirements files into `partial`.
pub(super) fn install(
    spec: &mut RunSpec,
    toolchain: &Toolchain,
    requirements: &Requirements,
    partial: String,
) -> Vec<String> {
    spec.env.push(("PIP_NO_INPUT".into(), "1".into()));
    spec.env
        .push(("PIP_DISABLE_PIP_VERSION_CHECK".into(), "1".into()));
    let mut argv: Vec<String> = [
        toolchain.program.as_str(),
        "-m",
        "pip",
        "install",
        "--no-warn-script-location",
        "--target",
    ]
    .map(String::from)
    .to_vec();
    argv.push(partial);
    for file in &requirements.files {
        argv.extend(["-r".to_string(), file.clone()]);
    }
    argv
}

/// The installed distributions on the interpreter's path, their scripts on the `PATH`.
pub(super) fn use_cache(spec: &mut RunSpec, cache: &Path) {
    spec.path.push(cache.join("bin"));
    spec.env
        .push(("PYTHONPATH".into(), cache.display().to_string()));
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
}
