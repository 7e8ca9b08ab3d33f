//! Which sandbox runs executions and verifications, and in Docker, which image:
//!
//! - `CODECONTEXT_SANDBOX` (`local` or `docker`) and `CODECONTEXT_DOCKER_IMAGE`, first;
//! - then `codecontext.toml` at the workspace root, then the user's file:
//!
//! ```toml
//! sandbox = "docker"
//! [docker]
//! image = "registry.internal/team/app-ci:3"   # the project's image
//! runtime = "runsc"                           # gVisor, a runtime dockerd knows
//! [docker.images]                             # or one per language
//! python = "python:3.12-slim"
//! ```
//!
//! `CODECONTEXT_DOCKER_RUNTIME` names the container runtime too (first, as the other
//! variables): `runsc` runs each container under gVisor's own kernel, a stronger
//! isolation tier than runc's namespaces; dockerd must have it among its runtimes.
//!
//! The first layer that says something wins, value by value; an image for the language
//! wins over the project's image, which wins over `CODECONTEXT_DOCKER_IMAGE`'s default.
//!
//! From the environment only: `CODECONTEXT_DOCKER_POOL` (warm containers per image),
//! `CODECONTEXT_DOCKER_IDLE_SECS` (how long an idle one lives) and
//! `CODECONTEXT_SANDBOX_HELPER` (the local sandbox's helper binary, for packaging).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use crate::{ConfigError, PROJECT_FILE};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxKind {
    #[default]
    Local,
    Docker,
}

/// The sandbox of a workspace folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SandboxConfig {
    pub kind: SandboxKind,
    /// The project's image.
    pub image: Option<String>,
    /// Images by language (`python`, `rust`, `javascript`, ...).
    pub images: BTreeMap<String, String>,
    /// `CODECONTEXT_DOCKER_IMAGE`: the image when nothing else names one.
    pub default_image: Option<String>,
    /// `CODECONTEXT_DOCKER_POOL`: warm containers per image.
    pub docker_pool: Option<usize>,
    /// The container runtime (`runsc` for gVisor): `CODECONTEXT_DOCKER_RUNTIME`, else
    /// `runtime` under [docker]; dockerd's default (runc) when unset.
    pub docker_runtime: Option<String>,
    /// `CODECONTEXT_DOCKER_IDLE_SECS`: how long an idle warm container lives.
    pub docker_idle_secs: Option<u64>,
    /// `CODECONTEXT_SANDBOX_HELPER`: the local sandbox's helper binary.
    pub helper: Option<PathBuf>,
}

impl SandboxConfig {
    /// The image for a language, if Docker is the sandbox and one is named.
    pub fn image_for(&self, language: &str) -> Option<&str> {
        self.images
            .get(language)
            .or(self.image.as_ref())
            .or(self.default_image.as_ref())
            .map(String::as_str)
    }
}

#[derive(Deserialize, Default)]
struct FileLayer {
    sandbox: Option<SandboxKind>,
    #[serde(default)]
    docker: DockerTable,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DockerTable {
    image: Option<String>,
    runtime: Option<String>,
    #[serde(default)]
    images: BTreeMap<String, String>,
}

fn read(path: &Path) -> Result<Option<FileLayer>, ConfigError> {
    let Some(text) = crate::read_text(path)? else {
        return Ok(None);
    };
    toml::from_str(&text)
        .map(Some)
        .map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            message: format!(
                "{e}(`sandbox` is \"local\" or \"docker\"; [docker] takes `image`, `runtime` and [docker.images])"
            ),
        })
}

/// Reads the sandbox settings for a workspace root from `env`, the root's
/// `codecontext.toml` and the user's file.
pub fn load_sandbox_layers(
    env: &dyn Fn(&str) -> Option<String>,
    root: Option<&Path>,
    user_file: Option<PathBuf>,
) -> Result<SandboxConfig, ConfigError> {
    let mut kind = match env("CODECONTEXT_SANDBOX").as_deref() {
        Some("docker") => Some(SandboxKind::Docker),
        Some("local") => Some(SandboxKind::Local),
        Some("") | None => None,
        Some(other) => {
            return Err(ConfigError::File {
                path: PathBuf::from("CODECONTEXT_SANDBOX"),
                message: format!("`{other}` is not a sandbox (local, docker)"),
            })
        }
    };
    let number = |var: &str| env(var).and_then(|v| v.trim().parse::<u64>().ok());
    let mut config = SandboxConfig {
        default_image: env("CODECONTEXT_DOCKER_IMAGE").filter(|i| !i.is_empty()),
        docker_pool: number("CODECONTEXT_DOCKER_POOL").map(|n| n as usize),
        docker_runtime: env("CODECONTEXT_DOCKER_RUNTIME").filter(|r| !r.trim().is_empty()),
        docker_idle_secs: number("CODECONTEXT_DOCKER_IDLE_SECS"),
        helper: env("CODECONTEXT_SANDBOX_HELPER")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from),
        ..SandboxConfig::default()
    };
    let files = root
        .map(|r| r.join(PROJECT_FILE))
        .into_iter()
        .chain(user_file);
    for path in files {
        let Some(layer) = read(&path)? else {
            continue;
        };
        kind = kind.or(layer.sandbox);
        if config.image.is_none() {
            config.image = layer.docker.image;
        }
        if config.docker_runtime.is_none() {
            config.docker_runtime = layer.docker.runtime;
        }
        for (language, image) in layer.docker.images {
            config.images.entry(language).or_insert(image);
        }
    }
    config.kind = kind.unwrap_or_default();
    Ok(config)
}

/// [`load_sandbox_layers`] from the process's environment and the user's file.
pub fn load_sandbox(root: Option<&Path>) -> Result<SandboxConfig, ConfigError> {
    let env = |name: &str| std::env::var(name).ok();
    load_sandbox_layers(&env, root, crate::user_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_then_the_project_then_the_user_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("app");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(
            root.join(PROJECT_FILE),
            "sandbox = \"docker\"\n[docker.images]\npython = \"py:project\"\n[verify]\ntest = \"make\"\n",
        )
        .unwrap();
        let user = dir.path().join("user.toml");
        std::fs::write(
            &user,
            "sandbox = \"local\"\n[docker]\nimage = \"user:image\"\nruntime = \"runsc\"\n[docker.images]\npython = \"py:user\"\nnode = \"node:user\"\n",
        )
        .unwrap();
        let none = |_: &str| None;
        let config = load_sandbox_layers(&none, Some(&root), Some(user.clone())).unwrap();
        assert_eq!(config.kind, SandboxKind::Docker, "the project's word wins");
        assert_eq!(config.image_for("python"), Some("py:project"));
        assert_eq!(config.image_for("node"), Some("node:user"));
        assert_eq!(config.image_for("go"), Some("user:image"));
        assert_eq!(config.docker_runtime.as_deref(), Some("runsc"));

        let env = |name: &str| match name {
            "CODECONTEXT_SANDBOX" => Some("local".to_string()),
            "CODECONTEXT_DOCKER_IMAGE" => Some("env:image".to_string()),
            "CODECONTEXT_DOCKER_RUNTIME" => Some("runc".to_string()),
            _ => None,
        };
        let config = load_sandbox_layers(&env, Some(&root), None).unwrap();
        assert_eq!(config.kind, SandboxKind::Local, "the environment wins");
        assert_eq!(config.image_for("go"), Some("env:image"));
        assert_eq!(config.docker_runtime.as_deref(), Some("runc"));
        assert_eq!(
            load_sandbox_layers(&none, None, None).unwrap(),
            SandboxConfig::default()
        );
    }

    #[test]
    fn a_wrong_value_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PROJECT_FILE), "sandbox = \"vm\"\n").unwrap();
        let none = |_: &str| None;
        let err = load_sandbox_layers(&none, Some(dir.path()), None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("codecontext.toml") && text.contains("docker"),
            "{text}"
        );
        let env = |_: &str| Some("vm".to_string());
        assert!(load_sandbox_layers(&env, None, None).is_err());
    }
}
