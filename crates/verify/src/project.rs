//! What kind of project a folder is, and how its build and tests run in a sandbox.

use std::path::Path;

use codecontext_sandbox::RunSpec;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectKind {
    /// `cargo test`.
    Cargo,
    /// pytest, results from JUnit XML.
    Python,
    /// The `test` script of `package.json`, results from TAP (`node --test`).
    Node,
    /// `go test -json`.
    Go,
}

/// The project kind of a folder, from its manifest files.
pub fn detect(root: &Path) -> Option<ProjectKind> {
    let has = |name: &str| root.join(name).exists();
    if has("Cargo.toml") {
        Some(ProjectKind::Cargo)
    } else if has("go.mod") {
        Some(ProjectKind::Go)
    } else if has("package.json") {
        Some(ProjectKind::Node)
    } else if [
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "pytest.ini",
        "tox.ini",
        "conftest.py",
    ]
    .iter()
    .any(|f| has(f))
        || has("tests")
    {
        Some(ProjectKind::Python)
    } else {
        None
    }
}

/// Where pytest writes its JUnit report, inside the snapshot.
pub(crate) const JUNIT: &str = ".codecontext-junit.xml";

pub(crate) struct Plan {
    pub spec: RunSpec,
    /// The command as a user would type it.
    pub command: Vec<String>,
}

fn sh(script: String, args: &[String]) -> Vec<String> {
    let mut argv = vec!["sh".into(), "-c".into(), script, "verify".into()];
    argv.extend(args.iter().cloned());
    argv
}

/// How to build and test a project of `kind`, running only `names` if any.
pub(crate) fn plan(kind: ProjectKind, root: &Path, names: &[String]) -> Plan {
    let mut spec = RunSpec::default();
    // Builds need more room than snippets.
    spec.limits.timeout_ms = 300_000;
    spec.limits.cpu_ms = 600_000;
    spec.limits.memory_bytes = 4 << 30;
    spec.limits.processes = 1024;
    spec.limits.output_bytes = 8 << 20;
    match kind {
        ProjectKind::Cargo => {
            let cargo = codecontext_sandbox::toolchain_dir("CARGO_HOME", ".cargo");
            let rustup = codecontext_sandbox::toolchain_dir("RUSTUP_HOME", ".rustup");
            let mut command: Vec<String> = ["cargo", "test", "--offline", "--no-fail-fast"]
                .map(String::from)
                .to_vec();
            if !names.is_empty() {
                command.extend(["--".to_string(), "--exact".to_string()]);
                command.extend(names.iter().cloned());
            }
            // Cargo locks and writes its home: a writable one inside, linking the
            // host's registry and git checkouts (read-only) for offline builds.
            let script = "mkdir -p /tmp/cargo-home && for d in registry git; do \
                          if [ -e \"$HOST_CARGO_HOME/$d\" ]; then ln -s \"$HOST_CARGO_HOME/$d\" /tmp/cargo-home/$d; fi; \
                          done; exec \"$@\""
                .to_string();
            spec.argv = sh(script, &command);
            if let Some(cargo) = &cargo {
                // Not the whole home: it may hold credentials.
                for sub in ["bin", "registry", "git"] {
                    spec.readonly.push(cargo.join(sub));
                }
                spec.path.push(cargo.join("bin"));
                spec.env
                    .push(("HOST_CARGO_HOME".into(), cargo.display().to_string()));
            }
            if let Some(rustup) = &rustup {
                spec.readonly.push(rustup.clone());
                spec.env
                    .push(("RUSTUP_HOME".into(), rustup.display().to_string()));
            }
            spec.env.extend(
                [
                    ("CARGO_HOME", "/tmp/cargo-home"),
                    ("CARGO_TERM_COLOR", "never"),
                    ("RUST_BACKTRACE", "0"),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string())),
            );
            Plan { spec, command }
        }
        ProjectKind::Python => {
            let venv = root.join(".venv/bin/python");
            let python = if venv.exists() {
                venv.display().to_string()
            } else {
                "python3".to_string()
            };
            let mut command = vec![
                python,
                "-m".into(),
                "pytest".into(),
                "-q".into(),
                "-p".into(),
                "no:cacheprovider".into(),
                "-o".into(),
                "junit_family=xunit1".into(),
                format!("--junitxml={JUNIT}"),
            ];
            command.extend(names.iter().cloned());
            spec.argv = command.clone();
            spec.collect = vec![JUNIT.to_string()];
            spec.env
                .push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
            Plan { spec, command }
        }
        ProjectKind::Node => {
            // What `npm test` runs, without needing npm: the `test` script, with the
            // project's own binaries on the PATH.
            let script = std::fs::read_to_string(root.join("package.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["scripts"]["test"].as_str().map(String::from))
                .unwrap_or_else(|| "node --test".to_string());
            let command = vec!["npm".to_string(), "test".to_string()];
            spec.argv = sh(
                format!(
                    "PATH={}/node_modules/.bin:$PATH; {script} \"$@\"",
                    root.display()
                ),
                names,
            );
            Plan { spec, command }
        }
        ProjectKind::Go => {
            let mut command: Vec<String> = ["go", "test", "-json"].map(String::from).to_vec();
            if names.is_empty() {
                command.push("./...".into());
            } else {
                command.extend([
                    "-run".to_string(),
                    format!("^({})$", names.join("|")),
                    "./...".to_string(),
                ]);
            }
            spec.argv = command.clone();
            spec.env.extend(
                [
                    ("GOCACHE", "/tmp/go-cache"),
                    ("GOFLAGS", "-mod=mod"),
                    ("GOPROXY", "off"),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string())),
            );
            if let Some(gopath) = codecontext_sandbox::toolchain_dir("GOPATH", "go") {
                spec.readonly.push(gopath.clone());
                spec.env
                    .push(("GOPATH".into(), gopath.display().to_string()));
            }
            Plan { spec, command }
        }
    }
}
