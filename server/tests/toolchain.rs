//! `codecontext verify` runs a project's tests with the project's own toolchain, as its
//! developers do, and tells a missing toolchain from a failure of the code: pytest that
//! lives only in the project's virtualenv runs the tests, a virtualenv without pytest is
//! `sandbox_error` with `reason: toolchain_missing`, and so is an interpreter that
//! codecontext.toml names but that is not there.

use std::path::Path;
use std::process::Command;

use codecontext_tests::{
    assert_install_failed, check, cli_json, copy_fixture, run_cli, verify_json, StaticServer,
};
use serde_json::Value;

fn run(home: &Path, args: &[&str]) -> (i32, String, String) {
    run_cli(env!("CARGO_BIN_EXE_codecontext"), home, args)
}

fn json(home: &Path, args: &[&str]) -> Value {
    cli_json(env!("CARGO_BIN_EXE_codecontext"), home, args)
}

/// The folder of pytest's wheels `.ci/run` downloads (`CODECONTEXT_TEST_WHEELS`), to
/// install it into a virtualenv without the network. Unset, the test is not run here,
/// unless `CODECONTEXT_REQUIRE_SERVICES` is set (as in CI), where that is a failure.
fn wheels() -> Option<String> {
    match std::env::var("CODECONTEXT_TEST_WHEELS") {
        Ok(dir) if !dir.is_empty() => Some(dir),
        _ if std::env::var_os("CODECONTEXT_REQUIRE_SERVICES").is_some() => {
            panic!("CODECONTEXT_TEST_WHEELS is not set: .ci/run downloads pytest's wheels")
        }
        _ => None,
    }
}

/// Makes `<project>/.venv` with the `python3` on the PATH, without pip or with it.
fn venv(project: &Path, pip: bool) {
    let mut command = Command::new("python3");
    command.args(["-m", "venv"]);
    if !pip {
        command.arg("--without-pip");
    }
    check(command.arg(project.join(".venv")));
}

/// Makes `<project>/.venv` with pytest in it, from the wheels' folder.
fn venv_with_pytest(project: &Path, wheels: &str) {
    venv(project, true);
    check(Command::new(project.join(".venv/bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-index",
        "--find-links",
        wheels,
        "pytest",
    ]));
}

/// A diff that adds a test saying which interpreter runs it.
fn adding_a_test_of_the_interpreter(project: &Path) -> String {
    let diff = project.join("where.diff");
    std::fs::write(
        &diff,
        "--- /dev/null\n+++ b/tests/test_where.py\n@@ -0,0 +1,5 @@\n+import sys\n+\n+\n+def test_runs_in_the_projects_venv():\n+    assert sys.prefix.endswith('.venv'), sys.prefix\n",
    )
    .unwrap();
    diff.display().to_string()
}

#[test]
fn pytest_that_lives_only_in_the_projects_venv_runs_the_tests() {
    let Some(wheels) = wheels() else { return };
    let project = copy_fixture("verify/python");
    venv_with_pytest(project.path(), &wheels);
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();
    let diff = adding_a_test_of_the_interpreter(project.path());

    let verdict = json(home.path(), &["verify", p, "--diff", &diff, "--json"]);
    assert_eq!(verdict["verdict"], "passed", "{verdict}");
    let python = project.path().join(".venv/bin/python");
    let toolchain = &verdict["toolchain"];
    assert_eq!(toolchain["program"], python.display().to_string());
    assert_eq!(toolchain["source"], ".venv");
    assert_eq!(toolchain["runner"], "pytest");
    assert!(toolchain["version"].as_str().unwrap().starts_with('3'));
    let ran: Vec<&str> = verdict["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        ran.contains(&"tests/test_where.py::test_runs_in_the_projects_venv"),
        "{ran:?}"
    );
    assert_eq!(verdict["command"][0], python.display().to_string());

    let (code, text, _) = run(home.path(), &["verify", p, "--diff", &diff]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("with {} 3.", python.display())),
        "{text}"
    );
    assert!(text.contains("(found by .venv), pytest"), "{text}");
}

#[test]
fn a_venv_without_pytest_is_a_missing_toolchain_not_a_failed_build() {
    let project = copy_fixture("verify/python");
    venv(project.path(), false);
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();
    let diff = adding_a_test_of_the_interpreter(project.path());

    let verdict = json(home.path(), &["verify", p, "--diff", &diff, "--json"]);
    assert_eq!(verdict["verdict"], "sandbox_error", "{verdict}");
    assert_eq!(verdict["reason"], "toolchain_missing", "{verdict}");
    let python = project.path().join(".venv/bin/python");
    let message = verdict["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("pytest is not installed for {}", python.display())),
        "{message}"
    );
    assert!(message.contains("-m pip install pytest"), "{message}");
    assert_eq!(verdict["tests"], serde_json::json!([]));
    assert!(verdict.get("buildErrors").is_none(), "{verdict}");

    let (code, text, _) = run(home.path(), &["verify", p, "--diff", &diff]);
    assert_eq!(code, 1);
    assert!(text.starts_with("sandbox_error:"), "{text}");
    assert!(text.contains("pytest is not installed for"), "{text}");
}

#[test]
fn an_interpreter_codecontext_toml_names_must_exist() {
    let project = copy_fixture("verify/python");
    std::fs::write(
        project.path().join("codecontext.toml"),
        "[verify]\npython = \"py/bin/python\"\n",
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let p = project.path().to_str().unwrap();
    let diff = adding_a_test_of_the_interpreter(project.path());

    let verdict = json(home.path(), &["verify", p, "--diff", &diff, "--json"]);
    assert_eq!(verdict["verdict"], "sandbox_error", "{verdict}");
    assert_eq!(verdict["reason"], "toolchain_missing");
    let message = verdict["message"].as_str().unwrap();
    let named = project.path().join("py/bin/python");
    assert!(
        message.starts_with(&format!(
            "{} ([verify] python in codecontext.toml) is not an executable file",
            named.display()
        )),
        "{message}"
    );
    // Nothing ran.
    assert_eq!(verdict["command"], serde_json::json!([]));
}

/// Writes a wheel of `calcdep` at `version` (a `twice` function, and `VERSION`) into
/// `dir`, as a package index serves it (`dir/calcdep/calcdep-1.0-py3-none-any.whl`), with
/// the client tests' script.
fn calcdep_wheel(dir: &Path, version: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/clients/calcdep_wheel.py");
    check(Command::new("python3").arg(script).arg(dir).arg(version));
}

/// `codecontext verify PATH --diff DIFF --json` with pip's index set to `index`.
fn verify_with_index(home: &Path, project: &Path, diff: &str, index: &str) -> Value {
    let envs = [("PIP_INDEX_URL", std::ffi::OsStr::new(index))];
    verify_json(
        env!("CARGO_BIN_EXE_codecontext"),
        home,
        project,
        diff,
        &envs,
    )
}

#[test]
fn a_missing_requirement_is_installed_once_then_served_from_the_cache_offline() {
    let Some(wheels) = wheels() else { return };
    let project = copy_fixture("verify/python-deps");
    venv_with_pytest(project.path(), &wheels);
    let packages = tempfile::tempdir().unwrap();
    calcdep_wheel(packages.path(), "1.0");
    let index = StaticServer::serve(packages.path());
    let home = tempfile::tempdir().unwrap();
    let diff = adding_a_test_of_the_interpreter(project.path());

    let verdict = verify_with_index(home.path(), project.path(), &diff, &index.url);
    assert_eq!(verdict["verdict"], "passed", "{verdict}");
    let install = &verdict["install"];
    assert_eq!(install["status"], "installed", "{verdict}");
    assert_eq!(install["cached"], false);
    assert_eq!(install["missing"], serde_json::json!(["calcdep"]));
    assert_eq!(
        install["requirements"],
        serde_json::json!(["requirements.txt"])
    );
    // Installed into the cache, not into the project or its virtualenv.
    assert!(!project.path().join("calcdep").exists());
    let venv_has = Command::new(project.path().join(".venv/bin/python"))
        .args(["-c", "import calcdep"])
        .output()
        .unwrap();
    assert!(!venv_has.status.success());

    // The index is gone (and the tests run without the network anyway): the cache
    // serves the next verification, with no install.
    drop(index);
    let verdict = verify_with_index(home.path(), project.path(), &diff, "http://127.0.0.1:9/");
    assert_eq!(verdict["verdict"], "passed", "{verdict}");
    assert_eq!(verdict["install"]["status"], "cached");
    assert_eq!(verdict["install"]["cached"], true);
    assert_eq!(verdict["install"]["wallMs"], 0);
    let (code, text, _) = run(
        home.path(),
        &["verify", project.path().to_str().unwrap(), "--diff", &diff],
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("calcdep (requirements.txt) from the install cache"),
        "{text}"
    );
}

/// The virtualenv has calcdep 1.0, the requirements want 2.0 or later: 1.0 does not
/// count as installed. 2.0 is installed into the cache, and the tests import it.
#[test]
fn an_installed_version_the_requirements_exclude_is_installed_anew() {
    let Some(wheels) = wheels() else { return };
    let project = copy_fixture("verify/python-deps");
    std::fs::write(project.path().join("requirements.txt"), "calcdep>=2.0\n").unwrap();
    venv_with_pytest(project.path(), &wheels);
    let old = tempfile::tempdir().unwrap();
    calcdep_wheel(old.path(), "1.0");
    check(
        Command::new(project.path().join(".venv/bin/pip"))
            .args(["install", "--quiet", "--no-index", "--find-links"])
            .arg(old.path().join("calcdep"))
            .arg("calcdep==1.0"),
    );
    let packages = tempfile::tempdir().unwrap();
    calcdep_wheel(packages.path(), "2.0");
    let index = StaticServer::serve(packages.path());
    let home = tempfile::tempdir().unwrap();
    let diff = project.path().join("version.diff");
    std::fs::write(
        &diff,
        "--- /dev/null\n+++ b/tests/test_version.py\n@@ -0,0 +1,5 @@\n+import calcdep\n+\n+\n+def test_the_required_version_is_imported():\n+    assert calcdep.VERSION == '2.0'\n",
    )
    .unwrap();

    let verdict = verify_with_index(
        home.path(),
        project.path(),
        diff.to_str().unwrap(),
        &index.url,
    );
    assert_eq!(verdict["verdict"], "passed", "{verdict}");
    assert_eq!(verdict["install"]["status"], "installed", "{verdict}");
    assert_eq!(
        verdict["install"]["missing"],
        serde_json::json!(["calcdep"])
    );
}

#[test]
fn an_install_that_fails_is_reported_as_such_not_as_a_test_failure() {
    let Some(wheels) = wheels() else { return };
    let project = copy_fixture("verify/python-deps");
    std::fs::write(
        project.path().join("requirements.txt"),
        "calcdep==1.0\nno-such-distribution==9.9\n",
    )
    .unwrap();
    venv_with_pytest(project.path(), &wheels);
    let packages = tempfile::tempdir().unwrap();
    calcdep_wheel(packages.path(), "1.0");
    let index = StaticServer::serve(packages.path());
    let home = tempfile::tempdir().unwrap();
    let diff = adding_a_test_of_the_interpreter(project.path());

    let verdict = verify_with_index(home.path(), project.path(), &diff, &index.url);
    let missing = ["calcdep", "no-such-distribution"];
    let message = assert_install_failed(&verdict, &missing, "requirements.txt", "pip");
    assert!(message.contains("no-such-distribution"), "{message}");
    // Nothing was cached: the next try installs again.
    let deps = home.path().join("deps");
    let cached: Vec<_> = std::fs::read_dir(&deps)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(cached.is_empty(), "{cached:?}");
}
