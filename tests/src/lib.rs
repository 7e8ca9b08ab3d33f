//! Helpers shared by the end-to-end tests: locating fixtures, indexing them, and
//! checking `expect.txt` files.
//!
//! An `expect.txt` next to a fixture lists what navigation must answer, one query per
//! line (`#` starts a comment; positions are 1-based, columns in characters):
//!
//! ```text
//! def  src/app.ts:12:9  =>  src/services/cart.Cart.add
//! def  src/app.ts:14:3  =>  local x
//! def  src/app.ts:20:5  =>  none
//! refs src/util.ts:3:17 =>  src/app.ts:12:9 src/cart.ts:4:10
//! ```

pub mod lsp;
pub mod pathological;

use std::path::{Path, PathBuf};

use codecontext_analysis::{Analysis, AnalysisHost, FileId, PositionEncoding};

/// The repository's `fixtures/` folder.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// Copies a fixture into a fresh temporary folder.
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&fixtures_dir().join(name), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Indexes `fixtures/<name>`.
pub fn index_fixture(name: &str) -> AnalysisHost {
    let mut host = AnalysisHost::default();
    host.index_root(&fixtures_dir().join(name), None);
    host
}

/// A position given as `FILE:LINE:COL` (1-based, characters) to a file id and offset.
pub fn position(analysis: &Analysis<'_>, spec: &str) -> Result<(FileId, u32), String> {
    let mut parts = spec.rsplitn(3, ':');
    let (Some(col), Some(line), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("bad position `{spec}`"));
    };
    let line: u32 = line.parse().map_err(|_| format!("bad line in `{spec}`"))?;
    let col: u32 = col.parse().map_err(|_| format!("bad column in `{spec}`"))?;
    let id = analysis
        .host()
        .file_id(Path::new(file))
        .ok_or_else(|| format!("`{file}` is not indexed"))?;
    let offset = analysis
        .offset(id, line - 1, col - 1, PositionEncoding::Utf32)
        .ok_or_else(|| format!("no position {spec}"))?;
    Ok((id, offset))
}

/// `path:line:col` of an offset (1-based, characters).
pub fn place(analysis: &Analysis<'_>, file: FileId, offset: u32) -> String {
    let lc = analysis.line_col(file, offset).expect("offset in file");
    let index = analysis.line_index(file).expect("indexed file");
    let col = index.to_wide(PositionEncoding::Utf32, lc).col;
    format!("{}:{}:{}", analysis.path_of(file), lc.line + 1, col + 1)
}

/// What the analysis answers for one `expect.txt` query, in the file's notation.
pub fn answer(analysis: &Analysis<'_>, kind: &str, spec: &str) -> Result<String, String> {
    let (file, offset) = position(analysis, spec)?;
    match kind {
        "def" => {
            let Some(defs) = analysis.definitions(file, offset) else {
                return Ok("none".to_string());
            };
            if defs.targets.is_empty() {
                return Ok("none".to_string());
            }
            let mut names: Vec<String> = defs
                .targets
                .iter()
                .map(|t| {
                    if t.kind == "local" {
                        format!("local {}", t.name)
                    } else {
                        t.qualified_name.clone()
                    }
                })
                .collect();
            names.sort();
            Ok(names.join(", "))
        }
        "refs" => {
            let refs = analysis.references(file, offset, false);
            let mut places: Vec<String> = refs
                .map(|r| {
                    r.locations
                        .iter()
                        .map(|l| place(analysis, l.file, l.range.start))
                        .collect()
                })
                .unwrap_or_default();
            places.sort();
            Ok(places.join(" "))
        }
        other => Err(format!("unknown query kind `{other}`")),
    }
}

/// Checks every line of `fixtures/<name>/expect.txt`; returns the mismatches.
pub fn check_expectations(host: &AnalysisHost, name: &str) -> Vec<String> {
    let path = fixtures_dir().join(name).join("expect.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let analysis = host.analysis();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let Some((query, expected)) = line.split_once("=>") else {
            failures.push(format!("expect.txt:{}: no `=>`", n + 1));
            continue;
        };
        let mut words = query.split_whitespace();
        let (Some(kind), Some(spec)) = (words.next(), words.next()) else {
            failures.push(format!(
                "expect.txt:{}: expected `def|refs FILE:LINE:COL`",
                n + 1
            ));
            continue;
        };
        let expected = expected.split_whitespace().collect::<Vec<_>>().join(" ");
        checked += 1;
        match answer(&analysis, kind, spec) {
            Ok(got) if got == expected => {}
            Ok(got) => failures.push(format!(
                "expect.txt:{}: {kind} {spec}\n    expected: {expected}\n    got:      {got}",
                n + 1
            )),
            Err(e) => failures.push(format!("expect.txt:{}: {e}", n + 1)),
        }
    }
    assert!(checked > 0, "{} has no expectations", path.display());
    failures
}

/// The URL of a team service for the tests that need it, from its test variable
/// (`CODECONTEXT_TEST_POSTGRES_URL`, ...: `.ci/run` sets them from what `.ci/services`
/// started, and keeps the server's own variables unset so that other tests use the
/// embedded store). Unset, the test is not run here, unless
/// `CODECONTEXT_REQUIRE_SERVICES` is set (as in CI), where that is a failure.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CODECONTEXT_REQUIRE_SERVICES").is_some() => {
            panic!("{var} is not set: run `source .ci/services` first")
        }
        _ => None,
    }
}

/// A name no other test run uses (for rows in shared services).
pub fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// Runs `.ci/services ACTION NAME`: starts or stops one of the team's services, for the
/// outage tests (each alone in its test binary, as the service is shared).
pub fn services(action: &str, name: &str) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/services");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .args([action, name])
        .status()
        .expect("run .ci/services");
    assert!(status.success(), ".ci/services {action} {name} failed");
}

/// A service stopped until [`Stopped::restart`] or drop (also when the test fails).
pub struct Stopped {
    name: &'static str,
    down: bool,
}

impl Stopped {
    pub fn now(name: &'static str) -> Stopped {
        services("stop", name);
        Stopped { name, down: true }
    }

    pub fn restart(&mut self) {
        services("start", self.name);
        self.down = false;
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if self.down {
            services("start", self.name);
        }
    }
}

/// A git repository whose history a test writes: one commit an hour, the last one an
/// hour before now, by one author.
pub struct GitRepo {
    root: PathBuf,
    /// The first commit's time, seconds since the epoch.
    start: u64,
    /// Commits written so far.
    hour: u64,
}

impl GitRepo {
    /// `git init` in `root`, for a history of at most `hours` commits.
    pub fn init(root: &Path, hours: u64) -> GitRepo {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let repo = GitRepo {
            root: root.to_path_buf(),
            start: now - (hours + 1) * 3600,
            hour: 0,
        };
        repo.git(&["init", "-q"]);
        repo.git(&["config", "user.email", "dev@example.com"]);
        repo.git(&["config", "user.name", "Dev"]);
        repo
    }

    /// Runs git in the repository, dated at the current hour.
    pub fn git(&self, args: &[&str]) {
        let date = format!("{} +0000", self.start + self.hour * 3600);
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(&self.root)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    /// Writes `text` to `path` (relative, its folders made) and commits it an hour after
    /// the commit before.
    pub fn commit(&mut self, path: &str, text: &str, message: &str) {
        let file = self.root.join(path);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(file, text).unwrap();
        self.hour += 1;
        self.git(&["add", path]);
        self.git(&["commit", "-q", "-m", message]);
    }
}

/// Runs the command-line binary `binary` (a test's `env!("CARGO_BIN_EXE_codecontext")`)
/// with its store in `home`, on the embedded default (no sandbox or team backend from the
/// environment); its exit code, stdout and stderr.
pub fn run_cli(binary: &str, home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(binary)
        .args(args)
        .env("CODECONTEXT_HOME", home)
        .env("CODECONTEXT_LOG", "warn")
        .env_remove("CODECONTEXT_SANDBOX")
        .env_remove("CODECONTEXT_POSTGRES_URL")
        .env_remove("CODECONTEXT_BOLT_URL")
        .env_remove("CODECONTEXT_REDIS_URL")
        .env_remove("CODECONTEXT_INFLUX_URL")
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`run_cli`] for a command with `--json` among its `args`: its answer, which must come
/// with exit code 0 or 1.
pub fn cli_json(binary: &str, home: &Path, args: &[&str]) -> serde_json::Value {
    let (code, stdout, stderr) = run_cli(binary, home, args);
    assert!(code == 0 || code == 1, "{args:?} failed ({code}): {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"))
}

/// Runs `command`, which must succeed (else the test fails with what it printed); its
/// stdout.
pub fn check(command: &mut std::process::Command) -> String {
    let out = command.output().expect("it runs");
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `codecontext verify PROJECT --diff DIFF --json` (the binary `binary`) with its store
/// in `home`, on the local sandbox, with `envs` set besides: its verdict.
pub fn verify_json(
    binary: &str,
    home: &Path,
    project: &Path,
    diff: &str,
    envs: &[(&str, &std::ffi::OsStr)],
) -> serde_json::Value {
    let out = std::process::Command::new(binary)
        .args([
            "verify",
            &project.display().to_string(),
            "--diff",
            diff,
            "--json",
        ])
        .env("CODECONTEXT_HOME", home)
        .env("CODECONTEXT_LOG", "warn")
        .env_remove("CODECONTEXT_SANDBOX")
        .envs(envs.iter().copied())
        .output()
        .expect("the binary runs");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "exit {:?}, not JSON ({e}): {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Checks that `verdict` says the install phase failed (not the code): the reason, what
/// was missing, and a message naming the files and the installer. The message.
pub fn assert_install_failed<'v>(
    verdict: &'v serde_json::Value,
    missing: &[&str],
    files: &str,
    installer: &str,
) -> &'v str {
    assert_eq!(verdict["verdict"], "sandbox_error", "{verdict}");
    assert_eq!(verdict["reason"], "install_failed", "{verdict}");
    assert_eq!(verdict["install"]["status"], "failed", "{verdict}");
    assert_eq!(
        verdict["install"]["missing"],
        serde_json::json!(missing),
        "{verdict}"
    );
    assert_eq!(verdict["tests"], serde_json::json!([]), "{verdict}");
    let message = verdict["message"].as_str().unwrap_or("");
    let start = format!("installing the dependencies ({files}) with {installer} failed: ");
    assert!(message.starts_with(&start), "{message}");
    message
}

/// A folder served over HTTP on 127.0.0.1 (Python's http.server: its folder listings are
/// the simple index pip reads; files are what Cargo's sparse registries and npm's
/// tarballs are), stopped when dropped.
pub struct StaticServer {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>/`.
    pub url: String,
}

impl StaticServer {
    pub fn serve(dir: &Path) -> StaticServer {
        use std::io::BufRead;
        let mut child = std::process::Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m http.server starts");
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        StaticServer {
            child,
            url: format!("http://127.0.0.1:{port}/"),
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
