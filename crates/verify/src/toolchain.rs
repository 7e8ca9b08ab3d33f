//! Which interpreter or compiler runs a project's tests, found the way the project's own
//! developers run them, and what the sandbox must show of it (read-only).
//!
//! - Python: `[verify] python`, PDM's `.pdm-python`, uv's `UV_PROJECT_ENVIRONMENT`, a
//!   virtualenv in the project (`.venv`, `venv`, `env`, `.env`), `VIRTUAL_ENV`, Poetry's
//!   and Hatch's environments (asked of `poetry`/`hatch` when the project uses them),
//!   `CONDA_PREFIX`, pyenv (`.python-version`, `PYENV_VERSION`, its global version), then
//!   `python3` on the `PATH`.
//! - Node: `[verify] node`, Volta's pin in `package.json`, `.nvmrc`/`.node-version`
//!   through nvm or fnm, then `node` on the `PATH`.
//! - Rust: rustup's `cargo` (with `rust-toolchain.toml` or `rust-toolchain` checked
//!   against the installed toolchains), else `cargo` on the `PATH`.
//! - Go: `[verify] go`, `GOROOT`, `go` on the `PATH`, with `go.mod`'s `toolchain` or `go`
//!   line checked against the installed version.
//!
//! Nothing here runs the project's code: only files are read, and for Poetry and Hatch
//! their own command is asked where the environment is.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use serde::{Deserialize, Serialize};

use crate::{config::VerifyConfig, ProjectKind};

/// What runs the tests: reported in the verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Toolchain {
    /// The interpreter or tool, as a path on the host (visible at the same path inside).
    pub program: String,
    /// Its version, when a file says it (`pyvenv.cfg`, the install's folder name,
    /// Go's `VERSION`, the Rust toolchain's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// How it was found: `codecontext.toml`, `.venv`, `VIRTUAL_ENV`, `poetry`, `pyenv`,
    /// `nvm (.nvmrc)`, `rustup`, `PATH`, ...
    pub source: String,
    /// The test runner: `pytest`, `cargo test`, `go test`, or the `test` script.
    pub runner: String,
    /// Host folders shown read-only inside the sandbox.
    #[serde(skip)]
    pub readonly: Vec<PathBuf>,
    /// Folders put first on the `PATH` inside.
    #[serde(skip)]
    pub path: Vec<PathBuf>,
    /// Variables set inside.
    #[serde(skip)]
    pub env: Vec<(String, String)>,
    /// Host folders shown inside as overlays (read, written, and left as they were):
    /// build caches (Go's).
    #[serde(skip)]
    pub overlays: Vec<PathBuf>,
}

/// The value of `name` among variables set inside (a toolchain's, a run's).
pub(crate) fn var<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Sets `name` among variables set inside, in place of any value it had.
pub(crate) fn set_var(env: &mut Vec<(String, String)>, name: &str, value: impl Into<String>) {
    env.retain(|(k, _)| k != name);
    env.push((name.to_string(), value.into()));
}

/// A toolchain or test runner that is not there: the verdict is `sandbox_error` with
/// `reason: toolchain_missing`, not a failure of the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// What is missing, naming it.
    pub what: String,
    /// How to provide it.
    pub how: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.how)
    }
}

fn missing(what: impl Into<String>, how: impl Into<String>) -> Missing {
    Missing {
        what: what.into(),
        how: how.into(),
    }
}

/// The environment variables discovery reads, taken once (tests give their own).
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

const VARS: &[&str] = &[
    "HOME",
    "PATH",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYENV_ROOT",
    "PYENV_VERSION",
    "UV_PROJECT_ENVIRONMENT",
    "NVM_DIR",
    "FNM_DIR",
    "XDG_DATA_HOME",
    "VOLTA_HOME",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "GOROOT",
    "GOPATH",
    "GOMODCACHE",
    "GOCACHE",
    "XDG_CACHE_HOME",
];

impl Env {
    /// The server's own environment.
    pub fn current() -> Env {
        Env {
            vars: VARS
                .iter()
                .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
                .collect(),
        }
    }

    /// Only these variables (tests).
    pub fn of(vars: &[(&str, &str)]) -> Env {
        Env {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `$name`, else `$HOME/default`.
    fn dir(&self, name: &str, default: &str) -> Option<PathBuf> {
        self.get(name)
            .map(PathBuf::from)
            .or_else(|| self.get("HOME").map(|h| Path::new(h).join(default)))
    }

    /// `program` on the `PATH`.
    fn which(&self, program: &str) -> Option<PathBuf> {
        std::env::split_paths(self.get("PATH")?)
            .map(|dir| dir.join(program))
            .find(|p| is_executable(p))
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Folders every sandbox shows already.
fn is_system(path: &Path) -> bool {
    ["/usr", "/bin", "/sbin", "/lib", "/lib64"]
        .iter()
        .any(|dir| path.starts_with(dir))
}

/// The toolchain of a project of `kind` at `root`.
pub fn find(
    kind: ProjectKind,
    root: &Path,
    config: &VerifyConfig,
    env: &Env,
) -> Result<Toolchain, Missing> {
    let mut found = match kind {
        ProjectKind::Python => python(root, config, env),
        ProjectKind::Node => node(root, config, env),
        ProjectKind::Cargo => rust(root, env),
        ProjectKind::Go => go(root, config, env),
    }?;
    // What the workspace's own snapshot shows is not mounted again over it, and the
    // workspace is not mounted inside a read-only folder.
    found.readonly.retain(|dir| {
        !is_system(dir) && !dir.starts_with(root) && !root.starts_with(dir) && dir.exists()
    });
    found.readonly.sort();
    found.readonly.dedup();
    Ok(found)
}

/// The toolchain of a project of `kind` run in a container: the image's, found on its
/// `PATH` (the host's paths mean nothing there).
pub fn in_image(kind: ProjectKind, root: &Path) -> Toolchain {
    let (program, runner) = match kind {
        ProjectKind::Python => ("python3", "pytest".to_string()),
        ProjectKind::Node => ("node", node_runner(root)),
        ProjectKind::Cargo => ("cargo", "cargo test".to_string()),
        ProjectKind::Go => ("go", "go test".to_string()),
    };
    Toolchain {
        program: program.into(),
        source: "the sandbox's image".into(),
        runner,
        ..Toolchain::default()
    }
}

/// What runs a Node project's tests: its `test` script, else `node --test`.
fn node_runner(root: &Path) -> String {
    let script = std::fs::read_to_string(root.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["scripts"]["test"].as_str().map(String::from));
    match script {
        Some(script) => format!("npm test: {script}"),
        None => "node --test".into(),
    }
}

/// A configured program's path, relative to `root` unless absolute.
fn configured(root: &Path, path: &str, key: &str) -> Result<PathBuf, Missing> {
    let program = root.join(path);
    if is_executable(&program) {
        Ok(program)
    } else {
        Err(missing(
            format!(
                "{} ([verify] {key} in codecontext.toml) is not an executable file",
                program.display()
            ),
            format!(
                "correct [verify] {key}, or remove it to find one as the project's developers do"
            ),
        ))
    }
}

/// The prefix an interpreter is installed under: the folder above its `bin`.
fn prefix_of(program: &Path) -> Option<PathBuf> {
    let bin = program.parent()?;
    (bin.file_name()? == "bin").then(|| bin.parent().map(Path::to_path_buf))?
}

/// A virtualenv's `pyvenv.cfg`, as keys and values.
fn pyvenv_cfg(venv: &Path) -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(venv.join("pyvenv.cfg")).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect(),
    )
}

fn python(root: &Path, config: &VerifyConfig, env: &Env) -> Result<Toolchain, Missing> {
    let (program, source, version) = python_program(root, config, env)?;
    let mut found = Toolchain {
        program: program.display().to_string(),
        version,
        source,
        runner: "pytest".into(),
        ..Toolchain::default()
    };
    // A virtualenv: itself, and the interpreter it was made from.
    let venv = prefix_of(&program).filter(|p| p.join("pyvenv.cfg").is_file());
    if let Some(venv) = &venv {
        let cfg = pyvenv_cfg(venv).unwrap_or_default();
        found.version = cfg
            .get("version")
            .or_else(|| cfg.get("version_info"))
            .cloned()
            .or(found.version);
        found.readonly.push(venv.clone());
        if let Some(home) = cfg.get("home") {
            let home = Path::new(home);
            let base = if home.ends_with("bin") {
                home.parent().unwrap_or(home)
            } else {
                home
            };
            found.readonly.push(base.to_path_buf());
        }
        found.path.push(venv.join("bin"));
        found
            .env
            .push(("VIRTUAL_ENV".into(), venv.display().to_string()));
    }
    // Where the program really is (a conda or pyenv install, a venv's link target).
    if let Some(real) = std::fs::canonicalize(&program)
        .ok()
        .and_then(|real| prefix_of(&real))
    {
        if found.version.is_none() && real.parent().is_some_and(|p| p.ends_with("versions")) {
            found.version = real.file_name().map(|v| v.to_string_lossy().into_owned());
        }
        found.readonly.push(real);
    }
    if venv.is_none() {
        if let Some(prefix) = prefix_of(&program) {
            found.readonly.push(prefix);
        }
    }
    Ok(found)
}

/// The Python interpreter, and how it was found.
fn python_program(
    root: &Path,
    config: &VerifyConfig,
    env: &Env,
) -> Result<(PathBuf, String, Option<String>), Missing> {
    if let Some(path) = &config.python {
        return Ok((
            configured(root, path, "python")?,
            "codecontext.toml".into(),
            None,
        ));
    }
    let in_venv = |venv: &Path| Some(venv.join("bin/python")).filter(|p| is_executable(p));
    // PDM remembers the interpreter it chose for the project.
    if let Ok(text) = std::fs::read_to_string(root.join(".pdm-python")) {
        let program = root.join(text.trim());
        if is_executable(&program) {
            return Ok((program, ".pdm-python".into(), None));
        }
    }
    if let Some(dir) = env.get("UV_PROJECT_ENVIRONMENT") {
        if let Some(program) = in_venv(&root.join(dir)) {
            return Ok((program, "UV_PROJECT_ENVIRONMENT".into(), None));
        }
    }
    for name in [".venv", "venv", "env", ".env"] {
        let venv = root.join(name);
        if venv.join("pyvenv.cfg").is_file() {
            if let Some(program) = in_venv(&venv) {
                return Ok((program, name.into(), None));
            }
        }
    }
    if let Some(program) = env.get("VIRTUAL_ENV").and_then(|v| in_venv(Path::new(v))) {
        return Ok((program, "VIRTUAL_ENV".into(), None));
    }
    let pyproject = std::fs::read_to_string(root.join("pyproject.toml")).unwrap_or_default();
    if pyproject.contains("[tool.poetry") {
        if let Some(venv) = ask(env, root, "poetry", &["env", "info", "--path"]) {
            if let Some(program) = in_venv(&venv) {
                return Ok((program, "poetry".into(), None));
            }
        }
    }
    if pyproject.contains("[tool.hatch") || root.join("hatch.toml").is_file() {
        if let Some(venv) = ask(env, root, "hatch", &["env", "find", "default"]) {
            if let Some(program) = in_venv(&venv) {
                return Ok((program, "hatch".into(), None));
            }
        }
    }
    if let Some(program) = env.get("CONDA_PREFIX").and_then(|p| in_venv(Path::new(p))) {
        return Ok((program, "CONDA_PREFIX".into(), None));
    }
    if let Some((program, source)) = pyenv(root, env)? {
        return Ok((program, source, None));
    }
    python_on_path(env)
}

/// pyenv's interpreter pinned for the project: `PYENV_VERSION`, or `.python-version` in
/// the project or a folder above it; `None` when pyenv is not installed, nothing is
/// pinned or the pin is `system`.
fn pyenv(root: &Path, env: &Env) -> Result<Option<(PathBuf, String)>, Missing> {
    let Some(pyenv_root) = env.dir("PYENV_ROOT", ".pyenv").filter(|d| d.is_dir()) else {
        return Ok(None);
    };
    let (version, source) = if let Some(v) = env.get("PYENV_VERSION") {
        let v = v.split(':').next().unwrap_or(v).to_string();
        (v, "pyenv (PYENV_VERSION)")
    } else if let Some(v) = root
        .ancestors()
        .find_map(|dir| first_word(&dir.join(".python-version")))
    {
        (v, "pyenv (.python-version)")
    } else {
        return Ok(None);
    };
    match pyenv_version(&pyenv_root, &version) {
        _ if version == "system" => Ok(None),
        Some(program) => Ok(Some((program, source.into()))),
        None => Err(missing(
            format!("Python {version} ({source}) is not installed"),
            format!("pyenv install {version}"),
        )),
    }
}

fn first_word(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.split_whitespace().next().map(String::from)
}

/// pyenv's interpreter of `version`: that install, or for `3.12` the newest 3.12.x.
fn pyenv_version(pyenv_root: &Path, version: &str) -> Option<PathBuf> {
    let versions = pyenv_root.join("versions");
    [
        Some(versions.join(version)),
        newest_with_prefix(&versions, version, ""),
    ]
    .into_iter()
    .flatten()
    .map(|dir| dir.join("bin/python"))
    .find(|p| is_executable(p))
}

/// With nothing chosen for the project, the Python a developer's shell would run
/// (pyenv's global version, then each `python3` on the `PATH`, shims skipped), the
/// first that has pytest.
fn python_on_path(env: &Env) -> Result<(PathBuf, String, Option<String>), Missing> {
    let mut candidates: Vec<(PathBuf, &str)> = Vec::new();
    if let Some(pyenv_root) = env.dir("PYENV_ROOT", ".pyenv").filter(|d| d.is_dir()) {
        let global = first_word(&pyenv_root.join("version"));
        if let Some(program) = global
            .filter(|v| v != "system")
            .and_then(|v| pyenv_version(&pyenv_root, &v))
        {
            candidates.push((program, "pyenv"));
        }
    }
    if let Some(path) = env.get("PATH") {
        for dir in std::env::split_paths(path) {
            let program = dir.join("python3");
            // A shim (pyenv's, asdf's) runs its manager, which the sandbox does not have.
            if is_executable(&program) && !dir.ends_with("shims") {
                candidates.push((program, "PATH"));
            }
        }
    }
    let mut seen = Vec::new();
    candidates.retain(|(p, _)| {
        let real = std::fs::canonicalize(p).unwrap_or(p.clone());
        let new = !seen.contains(&real);
        seen.push(real);
        new
    });
    for (program, source) in &candidates {
        if let Some(version) = pytest_version(program) {
            let version = Some(version).filter(|v| !v.is_empty());
            return Ok((program.clone(), source.to_string(), version));
        }
    }
    match candidates.first() {
        Some((first, _)) => {
            let tried: Vec<String> = candidates.iter().map(|(p, _)| p.display().to_string()).collect();
            Err(missing(
                format!(
                    "pytest is not installed for any Python found (tried {}), and the project has no virtualenv",
                    tried.join(", ")
                ),
                format!(
                    "create the project's virtualenv with pytest (python3 -m venv .venv && .venv/bin/pip install pytest), \
                     or install pytest for {}",
                    first.display()
                ),
            ))
        }
        None => Err(missing(
            "no Python interpreter was found (no virtualenv in the project, none active, no python3 on the PATH)",
            "create the project's virtualenv (python3 -m venv .venv), or set [verify] python in codecontext.toml",
        )),
    }
}

/// Whether `python` can import pytest, isolated from the user's site and variables as
/// in the sandbox: its own version if so.
fn pytest_version(python: &Path) -> Option<String> {
    let check = "import importlib.util\n\
                 if importlib.util.find_spec('pytest') is None: sys.exit(1)\n\
                 print('%d.%d.%d' % sys.version_info[:3])";
    probe(python, check, &[]).map(|v| v.trim().to_string())
}

/// An interpreter's answer, and what it depends on: the program and each folder on the
/// interpreter's path, with their modification times (installing or removing a
/// package changes its folder's).
struct Probe {
    stamps: Vec<(PathBuf, Option<std::time::SystemTime>)>,
    answer: Option<String>,
}

fn stamp(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// What `script` prints when `python -I` runs it with `args` (`sys` imported; `None`
/// when it fails), kept while the interpreter and the folders on its path are
/// unchanged: a verification asks the same questions every time, and an interpreter
/// takes tens of milliseconds to start.
pub(crate) fn probe(python: &Path, script: &str, args: &[&str]) -> Option<String> {
    static PROBES: std::sync::Mutex<Vec<(Vec<String>, Probe)>> = std::sync::Mutex::new(Vec::new());
    let mut key = vec![python.display().to_string(), script.to_string()];
    key.extend(args.iter().map(|a| a.to_string()));
    {
        let probes = PROBES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, probe)) = probes.iter().find(|(k, _)| *k == key) {
            if probe.stamps.iter().all(|(path, at)| stamp(path) == *at) {
                return probe.answer.clone();
            }
        }
    }
    // The path first, whatever the script does next.
    let script = format!(
        "import sys\nprint('\\n'.join('@path ' + p for p in sys.path if p), flush=True)\n{script}"
    );
    let mut argv = vec!["-I", "-c", script.as_str()];
    argv.extend(args);
    let (ok, out) = run_quietly(python, &argv, None)?;
    let mut stamps = vec![(
        std::fs::canonicalize(python).unwrap_or(python.to_path_buf()),
        None,
    )];
    let mut answer = String::new();
    for line in out.lines() {
        match line.strip_prefix("@path ") {
            Some(dir) => stamps.push((PathBuf::from(dir), None)),
            None => {
                answer.push_str(line);
                answer.push('\n');
            }
        }
    }
    for (path, at) in &mut stamps {
        *at = stamp(path);
    }
    let answer = ok.then_some(answer);
    let mut probes = PROBES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    probes.retain(|(k, _)| *k != key);
    // A server sees few interpreters and questions; a bound all the same.
    if probes.len() >= 64 {
        probes.remove(0);
    }
    probes.push((
        key,
        Probe {
            stamps,
            answer: answer.clone(),
        },
    ));
    answer
}

/// The folder of `dir` named `lead` + `version` or `lead` + `version` + `.…`, the
/// newest by its numbers.
fn newest_with_prefix(dir: &Path, version: &str, lead: &str) -> Option<PathBuf> {
    let wanted = format!("{lead}{version}");
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name == wanted || name.starts_with(&format!("{wanted}."))
        })
        .max_by_key(|e| numbers(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
}

/// The numbers in a version string, in order: `v20.11.1` is `[20, 11, 1]`.
fn numbers(version: &str) -> Vec<u64> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Runs `program args` in `root` (found on the `PATH`) and takes its first line of
/// output as a folder; `None` when it is not installed, fails or is slow.
fn ask(env: &Env, root: &Path, program: &str, args: &[&str]) -> Option<PathBuf> {
    let (ok, out) = run_quietly(&env.which(program)?, args, Some(root))?;
    if !ok {
        return None;
    }
    let path = PathBuf::from(out.lines().next()?.trim());
    path.is_dir().then_some(path)
}

/// Whether `program args` succeeded within ten seconds, and what it printed; `None`
/// when it could not start or took longer.
fn run_quietly(program: &Path, args: &[&str], cwd: Option<&Path>) -> Option<(bool, String)> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let mut child = command.spawn().ok()?;
    let mut stdout = child.stdout.take()?;
    // Read while it runs: a full pipe would stall it.
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
        out
    });
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(5))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let out = reader.join().ok()?;
    Some((status.success(), out))
}

fn node(root: &Path, config: &VerifyConfig, env: &Env) -> Result<Toolchain, Missing> {
    let (program, source, version) = node_program(root, config, env)?;
    let mut found = Toolchain {
        version,
        source,
        runner: node_runner(root),
        ..Toolchain::default()
    };
    let real = std::fs::canonicalize(&program).unwrap_or(program.clone());
    if let Some(bin) = program.parent() {
        found.path.push(bin.to_path_buf());
    }
    found.readonly.extend(prefix_of(&program));
    found.readonly.extend(prefix_of(&real));
    found.program = program.display().to_string();
    Ok(found)
}

/// node, how it was found, and its version when the install's folder says it.
fn node_program(
    root: &Path,
    config: &VerifyConfig,
    env: &Env,
) -> Result<(PathBuf, String, Option<String>), Missing> {
    if let Some(path) = &config.node {
        return Ok((
            configured(root, path, "node")?,
            "codecontext.toml".into(),
            None,
        ));
    }
    let manifest = std::fs::read_to_string(root.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
    let volta = manifest
        .as_ref()
        .and_then(|m| m["volta"]["node"].as_str().map(String::from));
    if let Some(version) = volta {
        let images = env
            .dir("VOLTA_HOME", ".volta")
            .map(|h| h.join("tools/image/node"));
        let dir = images.and_then(|d| newest_with_prefix(&d, &version, ""));
        return match dir.map(|d| d.join("bin/node")).filter(|p| is_executable(p)) {
            Some(program) => {
                let version = version_of(&program);
                Ok((program, "volta (package.json)".into(), version))
            }
            None => Err(missing(
                format!("Node {version} (package.json's volta pin) is not installed"),
                format!("volta install node@{version}"),
            )),
        };
    }
    let pinned = [".nvmrc", ".node-version"].iter().find_map(|name| {
        let text = std::fs::read_to_string(root.join(name)).ok()?;
        let version = text.split_whitespace().next()?.trim_start_matches('v');
        // Aliases (`lts/*`, `node`) are nvm's to resolve: the PATH's node stands.
        version
            .starts_with(|c: char| c.is_ascii_digit())
            .then(|| (version.to_string(), *name))
    });
    if let Some((version, file)) = pinned {
        let nvm = env
            .dir("NVM_DIR", ".nvm")
            .map(|d| d.join("versions/node"))
            .and_then(|d| newest_with_prefix(&d, &version, "v"))
            .map(|d| (d.join("bin/node"), "nvm"));
        let fnm = || {
            let base = env.get("FNM_DIR").map(PathBuf::from).or_else(|| {
                env.dir("XDG_DATA_HOME", ".local/share")
                    .map(|d| d.join("fnm"))
            })?;
            newest_with_prefix(&base.join("node-versions"), &version, "v")
                .map(|d| (d.join("installation/bin/node"), "fnm"))
        };
        let found = nvm.into_iter().chain(fnm()).find(|(p, _)| is_executable(p));
        if let Some((program, by)) = found {
            let version = version_of(&program);
            return Ok((program, format!("{by} ({file})"), version));
        }
        // The PATH's node may be the one pinned (installed another way).
        if let Some(program) = env.which("node") {
            let real = std::fs::canonicalize(&program).unwrap_or(program.clone());
            let at = version_of(&real);
            if at
                .as_deref()
                .is_some_and(|v| numbers(v).starts_with(&numbers(&version)))
            {
                return Ok((program, "PATH".into(), at));
            }
        }
        return Err(missing(
            format!("Node {version} ({file}) is not installed"),
            format!("nvm install {version} (or fnm install {version})"),
        ));
    }
    match env.which("node") {
        Some(program) => {
            let version = std::fs::canonicalize(&program)
                .ok()
                .and_then(|r| version_of(&r));
            Ok((program, "PATH".into(), version))
        }
        None => Err(missing(
            "node is not installed (none on the PATH, no .nvmrc or Volta pin)",
            "install Node.js, or set [verify] node in codecontext.toml",
        )),
    }
}

/// The version a node install's folder is named with (`…/v20.11.1/bin/node`).
fn version_of(program: &Path) -> Option<String> {
    let mut prefix = prefix_of(program)?;
    if prefix.ends_with("installation") {
        prefix = prefix.parent()?.to_path_buf();
    }
    let name = prefix.file_name()?.to_string_lossy().into_owned();
    let name = name.trim_start_matches('v');
    name.starts_with(|c: char| c.is_ascii_digit())
        .then(|| name.to_string())
}

fn rust(root: &Path, env: &Env) -> Result<Toolchain, Missing> {
    let cargo_home = env.dir("CARGO_HOME", ".cargo").filter(|d| d.is_dir());
    let rustup_home = env.dir("RUSTUP_HOME", ".rustup").filter(|d| d.is_dir());
    let mut found = Toolchain {
        runner: "cargo test".into(),
        ..Toolchain::default()
    };
    let rustup_cargo = cargo_home
        .as_ref()
        .map(|h| h.join("bin/cargo"))
        .filter(|p| is_executable(p));
    let (program, source) = match (rustup_cargo, env.which("cargo")) {
        (Some(program), _) => (program, "rustup"),
        (None, Some(program)) => (program, "PATH"),
        (None, None) => {
            return Err(missing(
                "cargo is not installed (none in CARGO_HOME or on the PATH)",
                "install Rust with rustup (https://rustup.rs)",
            ))
        }
    };
    found.program = program.display().to_string();
    found.source = source.into();
    if let Some(cargo) = &cargo_home {
        // Not the whole home: it may hold credentials.
        for sub in ["bin", "registry", "git"] {
            found.readonly.push(cargo.join(sub));
        }
        found.path.push(cargo.join("bin"));
        found.env.push((
            crate::deps::HOST_CARGO_HOME.into(),
            cargo.display().to_string(),
        ));
    } else if let Some(prefix) = prefix_of(&program) {
        found.readonly.push(prefix);
    }
    if let Some(rustup) = &rustup_home {
        found.readonly.push(rustup.clone());
        found
            .env
            .push(("RUSTUP_HOME".into(), rustup.display().to_string()));
        // The toolchain the project asks for must be installed: rustup cannot fetch it
        // inside (no network).
        let (channel, file) = match env.get("RUSTUP_TOOLCHAIN") {
            Some(c) => (Some(c.to_string()), "RUSTUP_TOOLCHAIN"),
            None => (rust_toolchain_file(root), "rust-toolchain.toml"),
        };
        if let Some(channel) = channel {
            let installed = rustup.join("toolchains");
            let has = std::fs::read_dir(&installed)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name == channel || name.starts_with(&format!("{channel}-"))
                });
            if !has {
                return Err(missing(
                    format!("the Rust toolchain {channel} ({file}) is not installed"),
                    format!("rustup toolchain install {channel}"),
                ));
            }
            found.version = Some(channel);
        } else {
            found.version = std::fs::read_to_string(rustup.join("settings.toml"))
                .ok()
                .and_then(|t| t.parse::<toml::Table>().ok())
                .and_then(|t| t.get("default_toolchain")?.as_str().map(String::from));
        }
    }
    Ok(found)
}

/// The channel `rust-toolchain.toml` (or the older `rust-toolchain`, TOML or a bare
/// channel name) pins.
fn rust_toolchain_file(root: &Path) -> Option<String> {
    let channel = |text: &str| {
        let table = text.parse::<toml::Table>().ok()?;
        let channel = table.get("toolchain")?.get("channel")?.as_str()?;
        Some(channel.to_string())
    };
    if let Ok(text) = std::fs::read_to_string(root.join("rust-toolchain.toml")) {
        return channel(&text);
    }
    let text = std::fs::read_to_string(root.join("rust-toolchain")).ok()?;
    channel(&text).or_else(|| text.split_whitespace().next().map(String::from))
}

fn go(root: &Path, config: &VerifyConfig, env: &Env) -> Result<Toolchain, Missing> {
    let (program, source) = if let Some(path) = &config.go {
        (configured(root, path, "go")?, "codecontext.toml")
    } else if let Some(program) = env
        .get("GOROOT")
        .map(|r| Path::new(r).join("bin/go"))
        .filter(|p| is_executable(p))
    {
        (program, "GOROOT")
    } else if let Some(program) = env.which("go") {
        (program, "PATH")
    } else if let Some(program) =
        Some(PathBuf::from("/usr/local/go/bin/go")).filter(|p| is_executable(p))
    {
        (program, "/usr/local/go")
    } else {
        return Err(missing(
            "go is not installed (none on the PATH, no GOROOT)",
            "install Go (https://go.dev/dl), or set [verify] go in codecontext.toml",
        ));
    };
    let real = std::fs::canonicalize(&program).unwrap_or(program.clone());
    let goroot = prefix_of(&real);
    let version = goroot
        .as_ref()
        .and_then(|r| std::fs::read_to_string(r.join("VERSION")).ok())
        .and_then(|t| t.lines().next().map(|l| l.trim().to_string()));
    if let (Some(have), Some((want, line))) = (&version, go_mod_wants(root)) {
        if numbers(have) < numbers(&want) {
            return Err(missing(
                format!(
                    "go.mod's `{line}` asks for go{want}, and the go found ({}) is {have}",
                    program.display()
                ),
                format!("install Go {want} or newer, or set [verify] go in codecontext.toml"),
            ));
        }
    }
    let mut found = Toolchain {
        program: program.display().to_string(),
        version,
        source: source.into(),
        runner: "go test".into(),
        ..Toolchain::default()
    };
    if let Some(bin) = program.parent() {
        found.path.push(bin.to_path_buf());
    }
    found.readonly.extend(goroot);
    // The modules downloaded on the host, read-only: the offline build's dependencies.
    let gopath = env
        .get("GOPATH")
        .and_then(|p| std::env::split_paths(p).next())
        .or_else(|| env.get("HOME").map(|h| Path::new(h).join("go")));
    let modcache = env
        .get("GOMODCACHE")
        .map(PathBuf::from)
        .or_else(|| gopath.map(|p| p.join("pkg/mod")));
    // The host's build cache, as an overlay: the build starts warm, as the user's does,
    // and what it adds is thrown away with the run.
    let gocache = env
        .get("GOCACHE")
        .map(PathBuf::from)
        .or_else(|| {
            env.get("XDG_CACHE_HOME")
                .map(|c| Path::new(c).join("go-build"))
        })
        .or_else(|| {
            env.get("HOME")
                .map(|h| Path::new(h).join(".cache/go-build"))
        });
    if let Some(gocache) = gocache.filter(|c| c.is_dir()) {
        found.overlays.push(gocache.clone());
        found
            .env
            .push(("GOCACHE".into(), gocache.display().to_string()));
    }
    if let Some(modcache) = modcache.filter(|m| m.is_dir()) {
        found.readonly.push(modcache.clone());
        found.env.push((
            crate::deps::GOMODCACHE.into(),
            modcache.display().to_string(),
        ));
    }
    Ok(found)
}

/// The Go version `go.mod` asks for (its `toolchain` line, else its `go` line), and
/// the line's keyword.
fn go_mod_wants(root: &Path) -> Option<(String, &'static str)> {
    let text = std::fs::read_to_string(root.join("go.mod")).ok()?;
    let line = |key: &str| {
        text.lines().find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(key)).then(|| words.next().map(String::from))?
        })
    };
    if let Some(v) = line("toolchain") {
        return Some((v.trim_start_matches("go").to_string(), "toolchain"));
    }
    line("go").map(|v| (v, "go"))
}

/// What a run's output says is missing from the toolchain, when the run failed
/// because of it rather than because of the code: pytest not installed for the
/// interpreter, or the test script's command not found.
pub fn missing_in_output(
    kind: ProjectKind,
    toolchain: &Toolchain,
    exit_code: Option<i32>,
    stderr: &str,
) -> Option<Missing> {
    match kind {
        ProjectKind::Python if exit_code == Some(1) => {
            // What `python -m pytest` says when the module is not there.
            stderr.lines().any(|l| l.ends_with("No module named pytest")).then(|| {
                missing(
                    format!(
                        "pytest is not installed for {} ({})",
                        toolchain.program, toolchain.source
                    ),
                    format!(
                        "install it there ({} -m pip install pytest), or set [verify] test in codecontext.toml",
                        toolchain.program
                    ),
                )
            })
        }
        ProjectKind::Node if exit_code == Some(127) => {
            // sh: `sh: 1: jest: not found`; bash: `jest: command not found`.
            let command = stderr.lines().rev().find_map(|l| {
                let l = l
                    .strip_suffix(": not found")
                    .or_else(|| l.strip_suffix(": command not found"))?;
                Some(l.rsplit(": ").next().unwrap_or(l).trim().to_string())
            })?;
            Some(missing(
                format!("`{command}`, which the test script runs, is not installed"),
                "install the project's dependencies (npm ci), or set [verify] test in codecontext.toml",
            ))
        }
        ProjectKind::Cargo => stderr
            .lines()
            .find(|l| l.contains("error: toolchain '") && l.contains("is not installed"))
            .map(|l| {
                missing(
                    l.trim_start_matches("error: ").to_string(),
                    "install it with rustup (rustup toolchain install …)",
                )
            }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn executable(path: &Path) {
        script(path, "");
    }

    fn script(path: &Path, body: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A virtualenv at `dir`, made from the interpreter under `home`.
    fn venv(dir: &Path, home: &Path) {
        executable(&dir.join("bin/python"));
        std::fs::write(
            dir.join("pyvenv.cfg"),
            format!(
                "home = {}\ninclude-system-site-packages = false\nversion = 3.11.7\n",
                home.join("bin").display()
            ),
        )
        .unwrap();
    }

    fn find_python(root: &Path, env: &Env) -> Result<Toolchain, Missing> {
        find(ProjectKind::Python, root, &VerifyConfig::default(), env)
    }

    #[test]
    fn a_project_venv_comes_first_and_shows_the_interpreter_it_was_made_from() {
        let host = tempfile::tempdir().unwrap();
        let (root, base) = (host.path().join("proj"), host.path().join("pyenv/3.11.7"));
        executable(&base.join("bin/python3.11"));
        venv(&root.join(".venv"), &base);
        let outside = host.path().join("active");
        venv(&outside, &base);
        let env = Env::of(&[
            ("VIRTUAL_ENV", outside.to_str().unwrap()),
            ("PATH", "/usr/bin"),
        ]);
        let found = find_python(&root, &env).unwrap();
        assert_eq!(
            found.program,
            root.join(".venv/bin/python").display().to_string()
        );
        assert_eq!(found.source, ".venv");
        assert_eq!(found.version.as_deref(), Some("3.11.7"));
        assert_eq!(found.runner, "pytest");
        // The venv is in the snapshot already; its base interpreter is not.
        assert_eq!(found.readonly, std::slice::from_ref(&base));
        assert_eq!(found.path, [root.join(".venv/bin")]);

        // Without one in the project, the active one, shown read-only.
        std::fs::remove_dir_all(root.join(".venv")).unwrap();
        let found = find_python(&root, &env).unwrap();
        assert_eq!(found.source, "VIRTUAL_ENV");
        assert_eq!(found.readonly, [outside, base]);
    }

    /// Poetry's and Hatch's environments live outside the project: their tools say
    /// where, and are asked only when `pyproject.toml` says the project uses them.
    #[test]
    fn poetry_and_hatch_environments_are_asked_of_their_tools() {
        let host = tempfile::tempdir().unwrap();
        let (root, base) = (host.path().join("proj"), host.path().join("base"));
        std::fs::create_dir_all(&root).unwrap();
        executable(&base.join("bin/python3.12"));
        let (poetry_env, hatch_env) = (
            host.path().join("poetry-env"),
            host.path().join("hatch-env"),
        );
        venv(&poetry_env, &base);
        venv(&hatch_env, &base);
        let tools = host.path().join("tools");
        // Each answers in the project's folder only, as the real ones do.
        let answer = |env: &Path, asked: &str| {
            format!(
                "[ \"$*\" = \"{asked}\" ] && [ \"$PWD\" = \"{}\" ] && echo {} || exit 1",
                root.display(),
                env.display()
            )
        };
        script(
            &tools.join("poetry"),
            &answer(&poetry_env, "env info --path"),
        );
        script(
            &tools.join("hatch"),
            &answer(&hatch_env, "env find default"),
        );
        let env = Env::of(&[("PATH", tools.to_str().unwrap())]);

        std::fs::write(root.join("pyproject.toml"), "[tool.poetry]\nname = \"p\"\n").unwrap();
        let found = find_python(&root, &env).unwrap();
        assert_eq!(Path::new(&found.program), poetry_env.join("bin/python"));
        assert_eq!(found.source, "poetry");
        assert_eq!(found.readonly, [base.clone(), poetry_env.clone()]);

        std::fs::write(root.join("pyproject.toml"), "[tool.hatch.envs.default]\n").unwrap();
        let found = find_python(&root, &env).unwrap();
        assert_eq!(Path::new(&found.program), hatch_env.join("bin/python"));
        assert_eq!(found.source, "hatch");

        // Neither named: neither asked (and no other interpreter here).
        std::fs::write(root.join("pyproject.toml"), "[project]\nname = \"p\"\n").unwrap();
        assert!(find_python(&root, &env).is_err());
    }

    #[test]
    fn pyenv_gives_the_projects_version_and_says_when_it_is_not_installed() {
        let host = tempfile::tempdir().unwrap();
        let root = host.path().join("proj");
        std::fs::create_dir_all(&root).unwrap();
        let pyenv = host.path().join(".pyenv");
        executable(&pyenv.join("versions/3.12.4/bin/python"));
        executable(&pyenv.join("versions/3.12.1/bin/python"));
        let env = Env::of(&[("PYENV_ROOT", pyenv.to_str().unwrap()), ("PATH", "")]);
        std::fs::write(root.join(".python-version"), "3.12\n").unwrap();
        let found = find_python(&root, &env).unwrap();
        assert_eq!(
            Path::new(&found.program),
            pyenv.join("versions/3.12.4/bin/python")
        );
        assert_eq!(found.source, "pyenv (.python-version)");
        assert_eq!(found.version.as_deref(), Some("3.12.4"));
        assert_eq!(found.readonly, [pyenv.join("versions/3.12.4")]);

        std::fs::write(root.join(".python-version"), "3.13.0\n").unwrap();
        let err = find_python(&root, &env).unwrap_err();
        assert_eq!(
            err.what,
            "Python 3.13.0 (pyenv (.python-version)) is not installed"
        );
        assert_eq!(err.how, "pyenv install 3.13.0");
    }

    #[test]
    fn no_interpreter_anywhere_says_how_to_provide_one() {
        let root = tempfile::tempdir().unwrap();
        let err = find_python(root.path(), &Env::of(&[("PATH", "")])).unwrap_err();
        assert!(
            err.what.starts_with("no Python interpreter was found"),
            "{err}"
        );
        assert!(err.how.contains("python3 -m venv .venv"), "{err}");

        let config = VerifyConfig {
            python: Some("py/bin/python".into()),
            ..VerifyConfig::default()
        };
        let err = find(ProjectKind::Python, root.path(), &config, &Env::default()).unwrap_err();
        assert!(err.what.contains("[verify] python"), "{err}");
        executable(&root.path().join("py/bin/python"));
        let found = find(ProjectKind::Python, root.path(), &config, &Env::default()).unwrap();
        assert_eq!(found.source, "codecontext.toml");
    }

    #[test]
    fn with_nothing_chosen_the_first_python_on_the_path_that_has_pytest() {
        let host = tempfile::tempdir().unwrap();
        let root = host.path().join("proj");
        std::fs::create_dir_all(&root).unwrap();
        let dirs = ["shims", "a/bin", "b/bin"].map(|d| host.path().join(d));
        // A shim would run; the one without pytest says so as `python -c` does.
        script(&dirs[0].join("python3"), "exit 0");
        script(&dirs[1].join("python3"), "exit 1");
        script(&dirs[2].join("python3"), "exit 0");
        let path = std::env::join_paths(&dirs).unwrap();
        let env = Env::of(&[("PATH", path.to_str().unwrap()), ("HOME", "/nonexistent")]);
        let found = find_python(&root, &env).unwrap();
        assert_eq!(Path::new(&found.program), dirs[2].join("python3"));
        assert_eq!(found.source, "PATH");
        assert_eq!(found.readonly, [host.path().join("b")]);

        script(&dirs[2].join("python3"), "exit 1");
        let err = find_python(&root, &env).unwrap_err();
        let tried = format!(
            "{}, {}",
            dirs[1].join("python3").display(),
            dirs[2].join("python3").display()
        );
        assert!(err.what.contains(&format!("(tried {tried})")), "{err}");
        assert!(err.how.contains(".venv/bin/pip install pytest"), "{err}");
    }

    #[test]
    fn an_interpreters_answer_is_kept_until_a_folder_on_its_path_changes() {
        let host = tempfile::tempdir().unwrap();
        let site = host.path().join("site-packages");
        std::fs::create_dir_all(&site).unwrap();
        let calls = host.path().join("calls");
        let python = host.path().join("bin/python3");
        // Prints its path as Python's sys.path would, then the answer; counts its runs.
        script(
            &python,
            &format!(
                "echo run >> {}\necho '@path {}'\necho 3.12.1",
                calls.display(),
                site.display()
            ),
        );
        let runs = || std::fs::read_to_string(&calls).unwrap().lines().count();
        assert_eq!(probe(&python, "q", &[]).as_deref(), Some("3.12.1\n"));
        assert_eq!(probe(&python, "q", &[]).as_deref(), Some("3.12.1\n"));
        assert_eq!(runs(), 1, "asked once");
        assert_eq!(probe(&python, "q", &["other"]).as_deref(), Some("3.12.1\n"));
        assert_eq!(runs(), 2, "another question");
        // A package installed: the folder's modification time moves.
        let before = stamp(&site).unwrap();
        std::fs::File::open(&site)
            .unwrap()
            .set_modified(before - Duration::from_secs(10))
            .unwrap();
        assert_eq!(probe(&python, "q", &[]).as_deref(), Some("3.12.1\n"));
        assert_eq!(runs(), 3, "asked again");
    }

    #[test]
    fn nvmrc_picks_the_newest_matching_nvm_install() {
        let host = tempfile::tempdir().unwrap();
        let root = host.path().join("proj");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(
            root.join("package.json"),
            r#"{"scripts": {"test": "jest"}}"#,
        )
        .unwrap();
        let nvm = host.path().join("nvm");
        for v in ["v18.19.0", "v20.9.0", "v20.11.1"] {
            executable(&nvm.join("versions/node").join(v).join("bin/node"));
        }
        let env = Env::of(&[("NVM_DIR", nvm.to_str().unwrap()), ("PATH", "")]);
        std::fs::write(root.join(".nvmrc"), "v20\n").unwrap();
        let found = find(ProjectKind::Node, &root, &VerifyConfig::default(), &env).unwrap();
        let install = nvm.join("versions/node/v20.11.1");
        assert_eq!(Path::new(&found.program), install.join("bin/node"));
        assert_eq!(found.source, "nvm (.nvmrc)");
        assert_eq!(found.version.as_deref(), Some("20.11.1"));
        assert_eq!(found.runner, "npm test: jest");
        assert_eq!(found.readonly, std::slice::from_ref(&install));
        assert_eq!(found.path, [install.join("bin")]);

        std::fs::write(root.join(".nvmrc"), "22.1\n").unwrap();
        let err = find(ProjectKind::Node, &root, &VerifyConfig::default(), &env).unwrap_err();
        assert_eq!(err.what, "Node 22.1 (.nvmrc) is not installed");
    }

    /// package.json's `volta` pin is Volta's image of that version; `.node-version` is
    /// fnm's install when nvm has none.
    #[test]
    fn volta_and_fnm_pins_give_their_installs() {
        let host = tempfile::tempdir().unwrap();
        let root = host.path().join("proj");
        std::fs::create_dir_all(&root).unwrap();
        let (volta, fnm) = (host.path().join("volta"), host.path().join("fnm"));
        executable(&volta.join("tools/image/node/20.11.1/bin/node"));
        executable(&fnm.join("node-versions/v18.19.0/installation/bin/node"));
        let env = Env::of(&[
            ("VOLTA_HOME", volta.to_str().unwrap()),
            ("FNM_DIR", fnm.to_str().unwrap()),
            ("PATH", ""),
        ]);

        std::fs::write(
            root.join("package.json"),
            r#"{"scripts": {"test": "node --test"}, "volta": {"node": "20.11.1"}}"#,
        )
        .unwrap();
        let found = find(ProjectKind::Node, &root, &VerifyConfig::default(), &env).unwrap();
        let image = volta.join("tools/image/node/20.11.1");
        assert_eq!(Path::new(&found.program), image.join("bin/node"));
        assert_eq!(found.source, "volta (package.json)");
        assert_eq!(found.readonly, std::slice::from_ref(&image));

        std::fs::write(
            root.join("package.json"),
            r#"{"scripts": {"test": "node --test"}, "volta": {"node": "22.0.0"}}"#,
        )
        .unwrap();
        let err = find(ProjectKind::Node, &root, &VerifyConfig::default(), &env).unwrap_err();
        assert_eq!(
            err.what,
            "Node 22.0.0 (package.json's volta pin) is not installed"
        );
        assert_eq!(err.how, "volta install node@22.0.0");

        std::fs::write(
            root.join("package.json"),
            r#"{"scripts": {"test": "node --test"}}"#,
        )
        .unwrap();
        std::fs::write(root.join(".node-version"), "18\n").unwrap();
        let found = find(ProjectKind::Node, &root, &VerifyConfig::default(), &env).unwrap();
        assert_eq!(
            Path::new(&found.program),
            fnm.join("node-versions/v18.19.0/installation/bin/node")
        );
        assert_eq!(found.source, "fnm (.node-version)");
    }

    #[test]
    fn a_pinned_rust_toolchain_must_be_installed() {
        let host = tempfile::tempdir().unwrap();
        let root = host.path().join("proj");
        std::fs::create_dir_all(&root).unwrap();
        let (cargo, rustup) = (host.path().join("cargo"), host.path().join("rustup"));
        executable(&cargo.join("bin/cargo"));
        std::fs::create_dir_all(rustup.join("toolchains/1.80.0-x86_64-unknown-linux-gnu")).unwrap();
        std::fs::write(
            rustup.join("settings.toml"),
            "default_toolchain = \"1.80.0-x86_64-unknown-linux-gnu\"\n",
        )
        .unwrap();
        let env = Env::of(&[
            ("CARGO_HOME", cargo.to_str().unwrap()),
            ("RUSTUP_HOME", rustup.to_str().unwrap()),
        ]);
        let found = find(ProjectKind::Cargo, &root, &VerifyConfig::default(), &env).unwrap();
        assert_eq!(found.source, "rustup");
        assert_eq!(
            found.version.as_deref(),
            Some("1.80.0-x86_64-unknown-linux-gnu")
        );

        std::fs::write(
            root.join("rust-toolchain.toml"),
            "[toolchain]\nchannel = \"1.80.0\"\n",
        )
        .unwrap();
        let found = find(ProjectKind::Cargo, &root, &VerifyConfig::default(), &env).unwrap();
        assert_eq!(found.version.as_deref(), Some("1.80.0"));

        std::fs::write(
            root.join("rust-toolchain.toml"),
            "[toolchain]\nchannel = \"nightly-2024-01-01\"\n",
        )
        .unwrap();
        let err = find(ProjectKind::Cargo, &root, &VerifyConfig::default(), &env).unwrap_err();
        assert_eq!(
            err.what,
            "the Rust toolchain nightly-2024-01-01 (rust-toolchain.toml) is not installed"
        );
        assert_eq!(err.how, "rustup toolchain install nightly-2024-01-01");
    }

    #[test]
    fn go_mod_asking_for_a_newer_go_is_a_missing_toolchain() {
        let host = tempfile::tempdir().unwrap();
        let root = host.path().join("proj");
        std::fs::create_dir_all(&root).unwrap();
        let goroot = host.path().join("go");
        executable(&goroot.join("bin/go"));
        std::fs::write(goroot.join("VERSION"), "go1.21.5\ntime 2023-11-29\n").unwrap();
        let env = Env::of(&[("GOROOT", goroot.to_str().unwrap())]);
        std::fs::write(root.join("go.mod"), "module x\n\ngo 1.21\n").unwrap();
        let found = find(ProjectKind::Go, &root, &VerifyConfig::default(), &env).unwrap();
        assert_eq!(found.version.as_deref(), Some("go1.21.5"));
        assert_eq!(found.readonly, std::slice::from_ref(&goroot));
        std::fs::write(
            root.join("go.mod"),
            "module x\n\ngo 1.21\ntoolchain go1.22.3\n",
        )
        .unwrap();
        let err = find(ProjectKind::Go, &root, &VerifyConfig::default(), &env).unwrap_err();
        assert!(
            err.what
                .starts_with("go.mod's `toolchain` asks for go1.22.3"),
            "{err}"
        );
        assert!(err.what.ends_with("is go1.21.5"), "{err}");
    }

    #[test]
    fn a_runs_output_tells_a_missing_runner_from_a_failing_test() {
        let python = Toolchain {
            program: "/p/.venv/bin/python".into(),
            source: ".venv".into(),
            ..Toolchain::default()
        };
        let said = "/p/.venv/bin/python: No module named pytest\n";
        let m = missing_in_output(ProjectKind::Python, &python, Some(1), said).unwrap();
        assert_eq!(
            m.what,
            "pytest is not installed for /p/.venv/bin/python (.venv)"
        );
        // A test's own import error is the code's.
        let own = "E   ModuleNotFoundError: No module named 'requests'\n";
        assert_eq!(
            missing_in_output(ProjectKind::Python, &python, Some(1), own),
            None
        );
        assert_eq!(
            missing_in_output(ProjectKind::Python, &python, Some(2), said),
            None
        );

        let node = Toolchain::default();
        let m = missing_in_output(
            ProjectKind::Node,
            &node,
            Some(127),
            "sh: 1: jest: not found\n",
        )
        .unwrap();
        assert_eq!(
            m.what,
            "`jest`, which the test script runs, is not installed"
        );
        let m = missing_in_output(
            ProjectKind::Node,
            &node,
            Some(127),
            "bash: vitest: command not found\n",
        )
        .unwrap();
        assert!(m.what.starts_with("`vitest`"), "{m}");
        assert_eq!(
            missing_in_output(
                ProjectKind::Node,
                &node,
                Some(1),
                "sh: 1: jest: not found\n"
            ),
            None
        );
    }
}
