//! The install phase: the dependencies a project's toolchain lacks are installed before
//! the tests run, in the sandbox with the network on (that phase only), into a cache on
//! the host keyed by the files that pin them and the toolchain. Later verifications show
//! the cache read-only and skip the phase.
//!
//! - [`python`]: pip, from the requirements files;
//! - [`cargo`]: `cargo fetch`, from `Cargo.lock`;
//! - [`node`]: `npm ci`, from `package-lock.json`;
//! - [`go`]: `go mod download`, from `go.mod`.
//!
//! Each decides what is lacking without running the tool (files on the host, or the
//! interpreter asked what it has), so a project whose dependencies are all there pays
//! nothing. Where the files say more than the build needs (`Cargo.lock` pins every
//! platform's packages; `go.mod` requires modules no package imports), the toolchain
//! is asked too, offline in the sandbox, before anything is installed: see
//! [`Needed::probe_spec`].

mod cargo;
mod go;
mod node;
mod python;

use std::path::{Path, PathBuf};

use codecontext_sandbox::{RunOutcome, RunSpec, Status};
use serde::{Deserialize, Serialize};

pub(crate) use cargo::HOST_CARGO_HOME;
pub(crate) use go::GOMODCACHE;
pub(crate) use node::NODE_MODULES;
pub use python::{lacking, python_requirements, Requirement, Requirements};

use crate::{edit::FileChange, toolchain::Missing, toolchain::Toolchain, ProjectKind};

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
    /// The files read that pin the dependencies, relative to the root: requirements
    /// files, `Cargo.lock`, `package-lock.json`.
    pub requirements: Vec<String>,
    /// What the toolchain lacked: distributions, crates or packages (`itoa 1.0.19`).
    pub missing: Vec<String>,
    /// For a failed install: the end of what the installer said.
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

/// The dependencies a project lacks, and how they are installed.
#[derive(Clone, Debug)]
pub struct Needed {
    /// The files that pin them, relative to the root.
    pub files: Vec<String>,
    /// What is lacking, as [`InstallPhase::missing`] says it.
    pub missing: Vec<String>,
    /// The cache folder that holds, or is to hold, the install.
    pub cache: PathBuf,
    installer: Installer,
}

#[derive(Clone, Debug)]
enum Installer {
    Pip(Requirements),
    Cargo,
    Npm,
    Go,
}

/// What the project of `kind` at `root`, as `changes` leave it, lacks for `toolchain`,
/// with its cache under `home`; `None` when nothing is lacking or nothing pins its
/// dependencies. Blocking: it reads files, and may ask the interpreter.
pub fn needed(
    kind: ProjectKind,
    root: &Path,
    changes: &[FileChange],
    toolchain: &Toolchain,
    home: &Path,
) -> Option<Needed> {
    match kind {
        ProjectKind::Python => {
            let requirements = python_requirements(root, changes)?;
            let missing = lacking(&toolchain.program, None, &requirements.listed)?;
            (!missing.is_empty()).then(|| Needed {
                files: requirements.files.clone(),
                missing,
                cache: requirements.cache_dir(home, toolchain),
                installer: Installer::Pip(requirements),
            })
        }
        ProjectKind::Cargo => {
            let (lock, missing) = cargo::lacking(root, changes, toolchain)?;
            Some(Needed {
                cache: cache_dir(home, "cargo", &[("Cargo.lock", &lock)], toolchain),
                files: vec!["Cargo.lock".into()],
                missing,
                installer: Installer::Cargo,
            })
        }
        ProjectKind::Node => {
            let (file, lock, missing) = node::lacking(root, changes)?;
            Some(Needed {
                cache: cache_dir(home, "node", &[(file, &lock)], toolchain),
                files: vec![file.into()],
                missing,
                installer: Installer::Npm,
            })
        }
        ProjectKind::Go => {
            let (text, missing) = go::lacking(root, changes, toolchain)?;
            Some(Needed {
                cache: cache_dir(home, "go", &[("go.mod", &text)], toolchain),
                files: vec!["go.mod".into()],
                missing,
                installer: Installer::Go,
            })
        }
    }
}

impl Needed {
    /// A run that asks the toolchain, offline and as the tests' build would see the
    /// project, whether what the files say is lacking is needed here: `cargo fetch
    /// --offline --target host-tuple`, `go list -deps -test ./...` with no proxy. `None`
    /// where the files' word is final (pip's requirements, npm's lockfile).
    pub fn probe_spec(
        &self,
        root: &Path,
        changes: &[FileChange],
        toolchain: &Toolchain,
    ) -> Option<RunSpec> {
        let mut spec = edited_project(root, changes, toolchain);
        let program = crate::project::quote(&toolchain.program);
        let script = match self.installer {
            Installer::Cargo => {
                crate::project::cargo_home(&mut spec);
                format!("exec {program} fetch --offline --target host-tuple")
            }
            Installer::Go => {
                crate::project::go_offline(&mut spec);
                format!("exec {program} list -deps -test ./... >/dev/null")
            }
            Installer::Pip(_) | Installer::Npm => return None,
        };
        spec.argv = ["sh", "-c", script.as_str()].map(String::from).to_vec();
        Some(spec)
    }

    /// Whether the probe's outcome says something needed is not there (a failure for
    /// another reason, an old Cargo without `host-tuple` say, is left to the tests'
    /// build to report).
    pub fn probe_says_lacking(&self, outcome: &RunOutcome) -> bool {
        outcome.status == Status::Error
            && match self.installer {
                Installer::Cargo => outcome.stderr.contains("--offline"),
                Installer::Go => outcome.stderr.contains("GOPROXY=off"),
                Installer::Pip(_) | Installer::Npm => true,
            }
    }

    /// What was lacking, narrowed to what the install put in the cache (Cargo's
    /// lockfile names other platforms' packages, which `cargo fetch --target` leaves).
    pub fn installed_missing(&self) -> Vec<String> {
        match self.installer {
            Installer::Cargo => cargo::present(&self.missing, &self.cache),
            _ => self.missing.clone(),
        }
    }

    /// The installer, as the user would name it: `pip`, `cargo fetch`, `npm ci`,
    /// `go mod download`.
    pub fn installer(&self) -> &'static str {
        match self.installer {
            Installer::Pip(_) => "pip",
            Installer::Cargo => "cargo fetch",
            Installer::Npm => "npm ci",
            Installer::Go => "go mod download",
        }
    }

    /// The install phase's run: the installer fills `partial` (a fresh folder beside
    /// the cache), the project shown at its own path as the edit leaves it, the
    /// network on.
    pub fn install_spec(
        &self,
        root: &Path,
        changes: &[FileChange],
        toolchain: &Toolchain,
        partial: &Path,
    ) -> RunSpec {
        let mut spec = edited_project(root, changes, toolchain);
        // Downloads take longer than builds.
        spec.limits.timeout_ms *= 2;
        spec.limits.cpu_ms *= 2;
        spec.network = true;
        spec.env.extend(passed_env());
        spec.writable = vec![partial.to_path_buf()];
        let partial = partial.display().to_string();
        spec.argv = match &self.installer {
            Installer::Pip(requirements) => {
                python::install(&mut spec, toolchain, requirements, partial)
            }
            Installer::Cargo => cargo::install(&mut spec, toolchain, partial),
            Installer::Npm => node::install(&mut spec, partial),
            Installer::Go => go::install(&mut spec, toolchain, partial),
        };
        spec
    }

    /// Shows the finished cache to the test run.
    pub fn use_cache(&self, spec: &mut RunSpec) {
        spec.readonly.push(self.cache.clone());
        match &self.installer {
            Installer::Pip(_) => python::use_cache(spec, &self.cache),
            Installer::Cargo => cargo::use_cache(spec, &self.cache),
            Installer::Npm => node::use_cache(spec, &self.cache),
            Installer::Go => go::use_cache(spec, &self.cache),
        }
    }

    /// Whether a failed install failed for want of the installer itself.
    pub fn installer_missing(
        &self,
        outcome: &RunOutcome,
        toolchain: &Toolchain,
    ) -> Option<Missing> {
        let said = |line: &str| outcome.stderr.lines().any(|l| l.ends_with(line));
        match self.installer {
            Installer::Pip(_) if said("No module named pip") => Some(Missing {
                what: format!(
                    "pip is not installed for {} ({}), and the project's requirements must be installed",
                    toolchain.program, toolchain.source
                ),
                how: "install it (Debian: python3-pip), or use a virtualenv (python3 -m venv .venv)"
                    .into(),
            }),
            Installer::Npm if outcome.exit_code == Some(127) && said("npm: not found") => {
                Some(Missing {
                    what: format!(
                        "npm is not installed beside {} ({}), and the project's dependencies must be installed",
                        toolchain.program, toolchain.source
                    ),
                    how: "install npm (Debian: npm), or the project's dependencies (npm ci)".into(),
                })
            }
            _ => None,
        }
    }
}

/// A run on the project at `root` as `changes` leave it (the whole edit: a manifest it
/// changes matters as much as the lockfile), shown at its own path, with `toolchain`,
/// a build's limits and no network.
fn edited_project(root: &Path, changes: &[FileChange], toolchain: &Toolchain) -> RunSpec {
    let mut spec = RunSpec {
        limits: crate::project::build_limits(),
        workspace: Some(root.to_path_buf()),
        mount_at: Some(root.to_path_buf()),
        readonly: toolchain.readonly.clone(),
        overlays: toolchain.overlays.clone(),
        path: toolchain.path.clone(),
        env: toolchain.env.clone(),
        ..RunSpec::default()
    };
    for change in changes {
        if let Some(text) = &change.content {
            spec.files
                .push((change.path.clone(), text.clone().into_bytes()));
        }
    }
    spec
}

/// What is missing, for a line of text: the first few, and how many more.
pub fn summary(missing: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut text = missing[..missing.len().min(SHOWN)].join(", ");
    if missing.len() > SHOWN {
        text.push_str(&format!(" and {} more", missing.len() - SHOWN));
    }
    text
}

/// A cache folder under `home`: `<prefix>-<hash>` of the pinning files' names and
/// contents and the toolchain.
fn cache_dir(home: &Path, prefix: &str, files: &[(&str, &str)], toolchain: &Toolchain) -> PathBuf {
    let mut key = String::new();
    for (file, text) in files {
        key.push_str(file);
        key.push('\0');
        key.push_str(text);
        key.push('\0');
    }
    key.push_str(&toolchain.program);
    key.push('\0');
    key.push_str(toolchain.version.as_deref().unwrap_or(""));
    let hash = xxhash_rust::xxh3::xxh3_64(key.as_bytes());
    home.join("deps").join(format!("{prefix}-{hash:016x}"))
}

/// The text of the workspace's file at `path` as the edit leaves it; `None` when it is
/// not there (or the edit deletes it).
fn edited(root: &Path, changes: &[FileChange], path: &str) -> Option<String> {
    match changes.iter().find(|c| c.path == path) {
        Some(change) => change.content.clone(),
        None => std::fs::read_to_string(root.join(path)).ok(),
    }
}

/// Marks a cache folder whose install finished.
const COMPLETE: &str = ".codecontext-complete";

/// Whether `cache` holds a finished install.
pub fn is_complete(cache: &Path) -> bool {
    cache.join(COMPLETE).is_file()
}

/// The variables of the server's environment passed to the install phase: the
/// installers' own configuration (pip's index, find-links and trusted hosts; npm's
/// registry; Cargo's registries and network settings; Go's module proxy and checksum
/// database), and a proxy.
fn passed_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| {
            [
                "PIP_",
                "npm_config_",
                "NPM_CONFIG_",
                "CARGO_NET_",
                "CARGO_HTTP_",
                "CARGO_REGISTRIES_",
                "CARGO_REGISTRY_",
            ]
            .iter()
            .any(|p| k.starts_with(p))
                || [
                    "GOPROXY",
                    "GOSUMDB",
                    "GONOSUMDB",
                    "GOPRIVATE",
                    "GONOPROXY",
                    "GOINSECURE",
                ]
                .contains(&k.as_str())
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

/// Why an install failed, from its outcome: the end of the installer's output, or the
/// sandbox's message.
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_summary_names_three_and_counts_the_rest() {
        let names = |n: usize| (1..=n).map(|i| format!("p{i}")).collect::<Vec<_>>();
        assert_eq!(summary(&names(0)), "");
        assert_eq!(summary(&names(3)), "p1, p2, p3");
        assert_eq!(summary(&names(5)), "p1, p2, p3 and 2 more");
    }

    #[test]
    fn the_cache_is_keyed_by_the_pinning_files_and_the_toolchain() {
        let key = |lock: &str, version: &str| {
            let toolchain = Toolchain {
                program: "/usr/bin/node".into(),
                version: Some(version.into()),
                ..Toolchain::default()
            };
            cache_dir(
                Path::new("/h"),
                "node",
                &[("package-lock.json", lock)],
                &toolchain,
            )
        };
        let first = key("{}", "20");
        assert!(first.starts_with("/h/deps"));
        assert!(first
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("node-"));
        assert_eq!(key("{}", "20"), first);
        assert_ne!(key("{ }", "20"), first);
        assert_ne!(key("{}", "22"), first);
    }
}
