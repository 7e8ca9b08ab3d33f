//! The install phase of Cargo and Node projects, through `codecontext verify`: what the
//! lockfile pins that is not there is fetched once (`cargo fetch`, `npm ci`) in the
//! sandbox with the network on, from a registry the test serves on 127.0.0.1, into the
//! cache; with the registry gone, the next verification runs from the cache. The user's
//! Cargo home and `node_modules` are never written.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use codecontext_tests::{assert_install_failed, check, copy_fixture, verify_json, StaticServer};
use serde_json::Value;

/// Whether `program` (asked its version with `arg`) runs here; a test without it is not
/// run. Where the services and toolchains are required (CI: `.ci/run` installs npm and
/// Go), it must run.
fn available(program: &str, arg: &str) -> bool {
    let runs = Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        runs || std::env::var_os("CODECONTEXT_REQUIRE_SERVICES").is_none(),
        "{program} is not installed (.ci/run installs it)"
    );
    runs
}

/// `codecontext verify PROJECT --diff DIFF --json`, its verdict, with `envs` set.
fn verify_with(home: &Path, project: &Path, diff: &str, envs: &[(&str, &OsStr)]) -> Value {
    verify_json(env!("CARGO_BIN_EXE_codecontext"), home, project, diff, envs)
}

fn verify(home: &Path, project: &Path, diff: &str) -> Value {
    verify_with(home, project, diff, &[])
}

/// Writes `text` as a diff that adds the file `path`, beside the project; its path.
fn adding(dir: &Path, path: &str, text: &str) -> String {
    let lines: Vec<String> = text.lines().map(|l| format!("+{l}\n")).collect();
    let diff = format!(
        "--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{} @@\n{}",
        lines.len(),
        lines.concat()
    );
    let file = dir.join("adding.diff");
    std::fs::write(&file, diff).unwrap();
    file.display().to_string()
}

/// The files in `dir`, recursively, relative to it.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out
}

/// A sparse Cargo registry serving one crate, `calcdep` 0.1.0 (`twice`), as Cargo
/// packages it; and in its index only, `windep` 0.2.0 (a Windows dependency, which no
/// build here may download).
fn crate_registry(dir: &Path) -> StaticServer {
    let source = dir.join("calcdep");
    std::fs::create_dir_all(source.join("src")).unwrap();
    std::fs::write(
        source.join("Cargo.toml"),
        "[package]\nname = \"calcdep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         description = \"a test crate\"\nlicense = \"MIT\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        source.join("src/lib.rs"),
        "pub fn twice(x: i64) -> i64 {\n    x * 2\n}\n",
    )
    .unwrap();
    check(
        Command::new("cargo")
            .args([
                "package",
                "--no-verify",
                "--allow-dirty",
                "--offline",
                "--quiet",
            ])
            .current_dir(&source),
    );
    let registry = dir.join("registry");
    std::fs::create_dir_all(registry.join("index/ca/lc")).unwrap();
    std::fs::create_dir_all(registry.join("dl")).unwrap();
    let packaged = source.join("target/package/calcdep-0.1.0.crate");
    std::fs::copy(&packaged, registry.join("dl/calcdep-0.1.0.crate")).unwrap();
    let sum = check(Command::new("sha256sum").arg(&packaged));
    let sum = sum.split_whitespace().next().unwrap();
    std::fs::write(
        registry.join("index/ca/lc/calcdep"),
        format!(
            r#"{{"name":"calcdep","vers":"0.1.0","deps":[],"cksum":"{sum}","features":{{}},"yanked":false}}"#
        ) + "\n",
    )
    .unwrap();
    std::fs::create_dir_all(registry.join("index/wi/nd")).unwrap();
    std::fs::write(
        registry.join("index/wi/nd/windep"),
        format!(
            r#"{{"name":"windep","vers":"0.2.0","deps":[],"cksum":"{}","features":{{}},"yanked":false}}"#,
            "0".repeat(64)
        ) + "\n",
    )
    .unwrap();
    let server = StaticServer::serve(&registry);
    std::fs::write(
        registry.join("index/config.json"),
        format!(
            r#"{{"dl": "{}dl/{{crate}}-{{version}}.crate"}}"#,
            server.url
        ),
    )
    .unwrap();
    server
}

/// Depends on `calcdep`.
const CALCDEP: &str = "[dependencies.calcdep]\nversion = \"0.1\"\nregistry = \"local\"\n";
/// Depends on `windep` on Windows.
const WINDEP: &str =
    "[target.'cfg(windows)'.dependencies.windep]\nversion = \"0.2\"\nregistry = \"local\"\n";

/// The Rust fixture with `dependencies` (tables of the manifest) from the registry at
/// `url`, its lockfile made with a Cargo home of its own (the user's never sees the
/// registry).
fn rust_project_on(url: &str, scratch: &Path, dependencies: &[&str]) -> tempfile::TempDir {
    let project = copy_fixture("verify/rust");
    let root = project.path();
    std::fs::create_dir_all(root.join(".cargo")).unwrap();
    std::fs::write(
        root.join(".cargo/config.toml"),
        format!("[registries.local]\nindex = \"sparse+{url}index/\"\n"),
    )
    .unwrap();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        manifest + "\n" + &dependencies.join("\n"),
    )
    .unwrap();
    check(
        Command::new("cargo")
            .arg("generate-lockfile")
            .env("CARGO_HOME", scratch.join("cargo-home"))
            .current_dir(root),
    );
    project
}

const RUST_TEST: &str =
    "#[test]\nfn twice_comes_from_calcdep() {\n    assert_eq!(calcdep::twice(21), 42);\n}\n";

#[test]
fn a_crate_the_cargo_home_lacks_is_fetched_once_then_served_from_the_cache_offline() {
    let scratch = tempfile::tempdir().unwrap();
    let registry = crate_registry(scratch.path());
    let project = rust_project_on(&registry.url, scratch.path(), &[CALCDEP, WINDEP]);
    let home = tempfile::tempdir().unwrap();
    let diff = adding(scratch.path(), "tests/twice.rs", RUST_TEST);

    // The lockfile pins windep too; only what this platform builds with is fetched
    // (windep's crate is nowhere to be had), and said.
    let verdict = verify(home.path(), project.path(), &diff);
    assert_eq!(verdict["verdict"], "passed", "{verdict}");
    let install = &verdict["install"];
    assert_eq!(install["status"], "installed", "{verdict}");
    assert_eq!(install["cached"], false);
    assert_eq!(install["missing"], serde_json::json!(["calcdep 0.1.0"]));
    assert_eq!(install["requirements"], serde_json::json!(["Cargo.lock"]));
    let tests = verdict["tests"].as_array().unwrap();
    assert!(
        tests
            .iter()
            .any(|t| t["name"] == "twice_comes_from_calcdep" && t["outcome"] == "passed"),
        "{verdict}"
    );
    // Fetched into the cache, not into the user's Cargo home or the project.
    let cached = files(&home.path().join("deps"));
    assert!(
        cached
            .iter()
            .any(|f| f.ends_with("calcdep-0.1.0/src/lib.rs")),
        "{cached:?}"
    );
    let user_has = std::fs::read_dir(users_cargo_home().join("registry/src"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|index| index.path().join("calcdep-0.1.0").exists());
    assert!(!user_has, "the user's Cargo home was written");
    assert!(!project.path().join("target").exists());

    // The registry is gone: the cache serves the next verification, with no fetch.
    drop(registry);
    let verdict = verify(home.path(), project.path(), &diff);
    assert_eq!(verdict["verdict"], "passed", "{verdict}");
    assert_eq!(verdict["install"]["status"], "cached");
    assert_eq!(verdict["install"]["wallMs"], 0);

    // A crate the registry never had: the fetch fails, and says so; nothing is cached.
    let lock = project.path().join("Cargo.lock");
    let pinned = std::fs::read_to_string(&lock).unwrap();
    std::fs::write(&lock, pinned.replace("0.1.0\"\nsource", "0.1.9\"\nsource")).unwrap();
    let before = std::fs::read_dir(home.path().join("deps")).unwrap().count();
    let verdict = verify(home.path(), project.path(), &diff);
    let missing = ["calcdep 0.1.9", "windep 0.2.0"];
    assert_install_failed(&verdict, &missing, "Cargo.lock", "cargo fetch");
    assert_eq!(
        std::fs::read_dir(home.path().join("deps")).unwrap().count(),
        before
    );
}

/// The Cargo home the tests run with (`CARGO_HOME`, else `~/.cargo`).
fn users_cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"))
}

/// Only another platform's package is missing: Cargo.lock pins it, and the Cargo home
/// has its registry's index but, as after any build here, not its sources. Cargo,
/// asked offline, needs nothing, and there is no install phase.
#[test]
fn another_platforms_package_missing_is_not_installed() {
    let scratch = tempfile::tempdir().unwrap();
    let registry = crate_registry(scratch.path());
    let project = rust_project_on(&registry.url, scratch.path(), &[WINDEP]);
    drop(registry);
    let lock = std::fs::read_to_string(project.path().join("Cargo.lock")).unwrap();
    assert!(lock.contains("name = \"windep\""), "{lock}");
    // The server's Cargo home: the one the lockfile was made with (the registry's
    // index, no sources), and rustup's proxies.
    let cargo_home = scratch.path().join("cargo-home");
    std::fs::create_dir_all(cargo_home.join("bin")).unwrap();
    for proxy in ["cargo", "rustc", "rustdoc"] {
        // rustup's proxies are links to rustup, which acts on the name it runs as.
        let from = std::fs::canonicalize(users_cargo_home().join("bin").join(proxy)).unwrap();
        let to = cargo_home.join("bin").join(proxy);
        if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to).unwrap();
        }
    }
    let home = tempfile::tempdir().unwrap();
    let diff = adding(scratch.path(), "tests/more.rs", "#[test]\nfn more() {}\n");
    let envs = [("CARGO_HOME", cargo_home.as_os_str())];
    let verdict = verify_with(home.path(), project.path(), &diff, &envs);
    assert_eq!(verdict["verdict"], "passed", "{verdict}");
    assert_eq!(verdict["install"], Value::Null, "{verdict}");
}

/// A folder holding npm's tarball of `calcdep` 1.0.0 (`twice`), as a registry serves it
/// (`calcdep/-/calcdep-1.0.0.tgz`).
fn npm_registry(dir: &Path) -> StaticServer {
    let source = dir.join("calcdep");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(
        source.join("package.json"),
        r#"{"name": "calcdep", "version": "1.0.0", "main": "index.js"}"#,
    )
    .unwrap();
    std::fs::write(source.join("index.js"), "exports.twice = (x) => x * 2;\n").unwrap();
    let served = dir.join("registry/calcdep/-");
    std::fs::create_dir_all(&served).unwrap();
    check(
        Command::new("npm")
            .args(["pack", "--quiet", "--pack-destination"])
            .arg(&served)
            .current_dir(&source),
    );
    StaticServer::serve(&dir.join("registry"))
}

/// The Node fixture depending on `calcdep` as the registry at `url` serves it, pinned
/// by a lockfile.
fn node_project_on(url: &str) -> tempfile::TempDir {
    let project = copy_fixture("verify/node");
    let root = project.path();
    let manifest = std::fs::read_to_string(root.join("package.json")).unwrap();
    let mut manifest: Value = serde_json::from_str(&manifest).unwrap();
    manifest["dependencies"] = serde_json::json!({"calcdep": "^1.0.0"});
    std::fs::write(root.join("package.json"), manifest.to_string()).unwrap();
    let lock = serde_json::json!({
        "name": "calc",
        "version": "0.1.0",
        "lockfileVersion": 3,
        "requires": true,
        "packages": {
            "": {"name": "calc", "version": "0.1.0", "dependencies": {"calcdep": "^1.0.0"}},
            "node_modules/calcdep": {
                "version": "1.0.0",
                "resolved": format!("{url}calcdep/-/calcdep-1.0.0.tgz"),
            },
        },
    });
    std::fs::write(root.join("package-lock.json"), lock.to_string()).unwrap();
    project
}

const NODE_TEST: &str =
    "const test = require(\"node:test\");\nconst assert = require(\"node:assert\");\n\
const { twice } = require(\"calcdep\");\n\ntest(\"twice comes from calcdep\", () => {\n  \
assert.strictEqual(twice(21), 42);\n});\n";

#[test]
fn a_package_node_modules_lacks_is_installed_by_npm_ci_once_then_served_from_the_cache() {
    if !available("npm", "--version") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let registry = npm_registry(scratch.path());
    let project = node_project_on(&registry.url);
    let home = tempfile::tempdir().unwrap();
    let diff = adding(scratch.path(), "test/twice.test.js", NODE_TEST);

    let verdict = verify(home.path(), project.path(), &diff);
    assert_eq!(verdict["verdict"], "passed", "{verdict}");
    let install = &verdict["install"];
    assert_eq!(install["status"], "installed", "{verdict}");
    assert_eq!(install["missing"], serde_json::json!(["calcdep 1.0.0"]));
    assert_eq!(
        install["requirements"],
        serde_json::json!(["package-lock.json"])
    );
    let tests = verdict["tests"].as_array().unwrap();
    assert!(
        tests.iter().any(|t| t["name"]
            .as_str()
            .unwrap_or("")
            .contains("twice comes from calcdep")
            && t["outcome"] == "passed"),
        "{verdict}"
    );
    // Installed into the cache, the project's folder untouched.
    assert!(!project.path().join("node_modules").exists());
    let cached = files(&home.path().join("deps"));
    assert!(
        cached
            .iter()
            .any(|f| f.ends_with("node_modules/calcdep/index.js")),
        "{cached:?}"
    );

    drop(registry);
    let verdict = verify(home.path(), project.path(), &diff);
    assert_eq!(verdict["verdict"], "passed", "{verdict}");
    assert_eq!(verdict["install"]["status"], "cached");

    // node_modules that holds the pinned version needs no install.
    let installed = project.path().join("node_modules/calcdep");
    std::fs::create_dir_all(&installed).unwrap();
    let entry = home.path().join("deps");
    let cache = std::fs::read_dir(&entry)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    for file in ["package.json", "index.js"] {
        std::fs::copy(
            cache.join("node_modules/calcdep").join(file),
            installed.join(file),
        )
        .unwrap();
    }
    let verdict = verify(home.path(), project.path(), &diff);
    assert_eq!(verdict["verdict"], "passed", "{verdict}");
    assert_eq!(verdict["install"], Value::Null, "{verdict}");
}

/// A module proxy in a folder (`GOPROXY=file://…`) serving `example.com/calcdep`
/// v1.0.0 (`Twice`), as Go's proxy protocol lays it out.
fn go_proxy(dir: &Path) -> PathBuf {
    let module = "example.com/calcdep@v1.0.0";
    let source = dir.join("source").join(module);
    std::fs::create_dir_all(&source).unwrap();
    let go_mod = "module example.com/calcdep\n\ngo 1.12\n";
    std::fs::write(source.join("go.mod"), go_mod).unwrap();
    std::fs::write(
        source.join("calcdep.go"),
        "package calcdep\n\n// Twice doubles x.\nfunc Twice(x int) int { return x * 2 }\n",
    )
    .unwrap();
    let proxy = dir.join("proxy");
    let versions = proxy.join("example.com/calcdep/@v");
    std::fs::create_dir_all(&versions).unwrap();
    std::fs::write(versions.join("list"), "v1.0.0\n").unwrap();
    std::fs::write(
        versions.join("v1.0.0.info"),
        r#"{"Version": "v1.0.0", "Time": "2024-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    std::fs::write(versions.join("v1.0.0.mod"), go_mod).unwrap();
    // The zip holds `<module>@<version>/...`.
    let zip = "import os, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z:\n    \
               for d, _, fs in os.walk('example.com'):\n        for f in fs:\n            \
               z.write(os.path.join(d, f))\n";
    check(
        Command::new("python3")
            .args(["-c", zip])
            .arg(versions.join("v1.0.0.zip"))
            .current_dir(dir.join("source")),
    );
    proxy
}

/// `go` with the module proxy at `proxy`, no checksum database, and the module cache
/// `modcache`.
fn go(proxy: &Path, modcache: &Path) -> Command {
    let mut command = Command::new("go");
    command
        .env("GOPROXY", format!("file://{}", proxy.display()))
        .env("GOSUMDB", "off")
        .env("GOMODCACHE", modcache)
        .env("GOFLAGS", "-modcacherw");
    command
}

/// `codecontext verify PROJECT --diff DIFF --json` with Go's module proxy at `proxy` (a
/// URL) and the module cache `modcache`, its verdict.
fn verify_go(home: &Path, project: &Path, diff: &str, proxy: &str, modcache: &Path) -> Value {
    let envs = [
        ("GOPROXY", OsStr::new(proxy)),
        ("GOSUMDB", OsStr::new("off")),
        ("GOMODCACHE", modcache.as_os_str()),
    ];
    verify_with(home, project, diff, &envs)
}

const GO_TEST: &str = "package calc\n\nimport (\n\t\"testing\"\n\n\t\"example.com/calcdep\"\n)\n\n\
func TestTwice(t *testing.T) {\n\tif calcdep.Twice(21) != 42 {\n\t\tt.Fatal(\"twice\")\n\t}\n}\n";

#[test]
fn a_module_the_module_cache_lacks_is_downloaded_once_then_served_from_the_cache() {
    if !available("go", "version") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let proxy = go_proxy(scratch.path());
    let project = copy_fixture("verify/go");
    let root = project.path();
    // The project requires calcdep, its go.sum made with a module cache of the test's
    // own: the one verify sees (the server's GOMODCACHE) stays empty.
    let go_mod = std::fs::read_to_string(root.join("go.mod")).unwrap();
    std::fs::write(
        root.join("go.mod"),
        go_mod + "\nrequire example.com/calcdep v1.0.0\n",
    )
    .unwrap();
    check(
        go(&proxy, &scratch.path().join("setup-modcache"))
            .args(["mod", "download", "example.com/calcdep"])
            .current_dir(root),
    );
    let modcache = scratch.path().join("modcache");
    std::fs::create_dir_all(&modcache).unwrap();
    let home = tempfile::tempdir().unwrap();
    let diff = adding(scratch.path(), "twice_test.go", GO_TEST);
    // Served over HTTP: the sandbox sees no folder of the test's.
    let server = StaticServer::serve(&proxy);

    let verdict = verify_go(home.path(), root, &diff, &server.url, &modcache);
    assert_eq!(verdict["verdict"], "passed", "{verdict}");
    let install = &verdict["install"];
    assert_eq!(install["status"], "installed", "{verdict}");
    assert_eq!(
        install["missing"],
        serde_json::json!(["example.com/calcdep v1.0.0"])
    );
    assert_eq!(install["requirements"], serde_json::json!(["go.mod"]));
    let tests = verdict["tests"].as_array().unwrap();
    assert!(
        tests
            .iter()
            .any(|t| t["name"].as_str().unwrap_or("").ends_with("TestTwice")
                && t["outcome"] == "passed"),
        "{verdict}"
    );
    // Downloaded into the cache, not into the server's module cache.
    assert_eq!(std::fs::read_dir(&modcache).unwrap().count(), 0);

    // The proxy is gone: the cache serves the next verification.
    let url = server.url.clone();
    drop(server);
    let verdict = verify_go(home.path(), root, &diff, &url, &modcache);
    assert_eq!(verdict["verdict"], "passed", "{verdict}");
    assert_eq!(verdict["install"]["status"], "cached", "{verdict}");
}
