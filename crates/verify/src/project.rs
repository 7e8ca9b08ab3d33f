//! What kind of project a folder is, and how its build and tests run in a sandbox: the
//! detected project's test command, or the commands of `codecontext.toml`'s `[verify]`
//! table (a build run first, a test command instead), and which parser reads the output.

use std::path::Path;

use codecontext_sandbox::{Limits, RunSpec};
use serde::{Deserialize, Serialize};

use crate::{
    config::VerifyConfig,
    results::{Reading, ResultsParser, BUILD_FAILED},
    toolchain::{set_var, var, Toolchain},
};

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
    /// How to read what it prints.
    pub reading: Reading,
}

/// How a detected project's tests run.
struct Detected {
    /// Shell lines run first, whatever runs next (Cargo's writable home, say).
    prelude: Option<String>,
    test: TestStep,
    /// The test command as a user would type it.
    command: Vec<String>,
}

/// The test step of a run.
enum TestStep {
    /// A program and its arguments.
    Argv(Vec<String>),
    /// A shell script that takes the names of the selected tests as `"$@"`.
    Script { script: String, names: Vec<String> },
}

fn sh(script: String, args: &[String]) -> Vec<String> {
    let mut argv = vec!["sh".into(), "-c".into(), script, "verify".into()];
    argv.extend(args.iter().cloned());
    argv
}

/// `word` quoted for `sh` when it needs to be.
pub(crate) fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn shell_line(argv: &[String]) -> String {
    argv.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// Runs the configured `build` in its own shell (an `exit` or a syntax error in it stays
/// there); if it fails, says so on stderr with [`BUILD_FAILED`] and ends the run.
fn build_step(build: &str) -> String {
    format!(
        "sh -c {} || {{ status=$?; printf '\\n%s %s\\n' '{BUILD_FAILED}' \"$status\" >&2; exit \"$status\"; }}",
        quote(build)
    )
}

/// The limits of a build and its tests: more room than a snippet has.
pub(crate) fn build_limits() -> Limits {
    Limits {
        timeout_ms: 300_000,
        cpu_ms: 600_000,
        memory_bytes: 4 << 30,
        processes: 1024,
        output_bytes: 8 << 20,
    }
}

/// How to build and test the workspace at `root` (a project of `kind`, if detected,
/// with its `toolchain` if found), running only `names` if any, as `config` says. `None`
/// when there is nothing to run: no project detected and no `test` command configured.
pub(crate) fn plan(
    kind: Option<ProjectKind>,
    toolchain: Option<&Toolchain>,
    root: &Path,
    names: &[String],
    config: &VerifyConfig,
) -> Option<Plan> {
    let mut spec = RunSpec {
        limits: build_limits(),
        ..RunSpec::default()
    };
    spec.network = config.network;
    if let Some(toolchain) = toolchain {
        spec.readonly.extend(toolchain.readonly.iter().cloned());
        spec.path.extend(toolchain.path.iter().cloned());
        spec.env.extend(toolchain.env.iter().cloned());
        spec.overlays.extend(toolchain.overlays.iter().cloned());
    }
    let detected = kind.map(|kind| detected(kind, toolchain, root, names, &mut spec));
    let prelude = detected.as_ref().and_then(|d| d.prelude.clone());
    // The test step, and the test command as a shell line and as an argv.
    let (test, test_line, test_command) = match (&config.test, detected) {
        (Some(test), _) => {
            let mut line = test.clone();
            for name in names {
                line.push(' ');
                line.push_str(&quote(name));
            }
            let step = TestStep::Script {
                script: format!("{test} \"$@\""),
                names: names.to_vec(),
            };
            let argv = vec!["sh".to_string(), "-c".to_string(), line.clone()];
            (step, line, argv)
        }
        (None, Some(detected)) => (
            detected.test,
            shell_line(&detected.command),
            detected.command,
        ),
        (None, None) => return None,
    };
    let command = match &config.build {
        Some(build) => vec![
            "sh".to_string(),
            "-c".to_string(),
            format!("{build} && {test_line}"),
        ],
        None => test_command,
    };
    spec.argv = compose(prelude.as_deref(), config.build.as_deref(), test);
    let pytest = kind == Some(ProjectKind::Python) && config.test.is_none();
    let report = config
        .results
        .clone()
        .or_else(|| pytest.then(|| JUNIT.to_string()));
    spec.collect = report.iter().cloned().collect();
    let parser = if config.results.is_some() {
        ResultsParser::Junit
    } else {
        config
            .parser
            .or(kind.map(ResultsParser::of))
            .unwrap_or(ResultsParser::ExitStatus)
    };
    let reading = Reading {
        parser,
        report,
        pytest,
        build: config.build.is_some(),
    };
    Some(Plan {
        spec,
        command,
        reading,
    })
}

/// The argv that runs `prelude`, then `build` (see [`build_step`]), then the tests;
/// a plain argv when there is only that.
fn compose(prelude: Option<&str>, build: Option<&str>, test: TestStep) -> Vec<String> {
    let mut script = String::new();
    if let Some(prelude) = prelude {
        script.push_str(prelude);
        script.push('\n');
    }
    if let Some(build) = build {
        script.push_str(&build_step(build));
        script.push('\n');
    }
    match test {
        TestStep::Argv(argv) if script.is_empty() => argv,
        TestStep::Argv(argv) => {
            script.push_str("exec \"$@\"");
            sh(script, &argv)
        }
        TestStep::Script {
            script: test,
            names,
        } => {
            script.push_str(&test);
            sh(script, &names)
        }
    }
}

/// Cargo's home inside (set in `spec`): the host's, at its own path (its `registry` and
/// `git` shown read-only by the toolchain; or the install cache's). At the same path,
/// the dependencies the user's builds compiled are fresh here too: Cargo's fingerprints
/// hold their sources' paths, and from a home elsewhere (a writable one in `/tmp`
/// linking the host's) a project's every dependency was rebuilt on each verification
/// (serde_json: 28.8 s instead of 12.8). An offline build does not need to write the
/// home. Without a Cargo home on the host, an empty one in `/tmp`.
pub(crate) fn cargo_home(spec: &mut RunSpec) {
    let home = var(&spec.env, crate::deps::HOST_CARGO_HOME)
        .unwrap_or("/tmp/cargo-home")
        .to_string();
    set_var(&mut spec.env, "CARGO_HOME", home);
    set_var(&mut spec.env, "CARGO_TERM_COLOR", "never");
}

/// The variables of a Go build inside: its cache in the sandbox's scratch unless the
/// toolchain shows the host's (an overlay), the modules from the module cache only
/// (`GOMODCACHE`, the host's or the install cache's).
pub(crate) fn go_offline(spec: &mut RunSpec) {
    if var(&spec.env, "GOCACHE").is_none() {
        set_var(&mut spec.env, "GOCACHE", "/tmp/go-cache");
    }
    spec.env.extend(
        [("GOFLAGS", "-mod=mod"), ("GOPROXY", "off")].map(|(k, v)| (k.to_string(), v.to_string())),
    );
}

/// How the tests of a detected project run (its toolchain is in `spec` already).
fn detected(
    kind: ProjectKind,
    toolchain: Option<&Toolchain>,
    root: &Path,
    names: &[String],
    spec: &mut RunSpec,
) -> Detected {
    match kind {
        ProjectKind::Cargo => {
            let mut command: Vec<String> = ["cargo", "test", "--offline", "--no-fail-fast"]
                .map(String::from)
                .to_vec();
            if !names.is_empty() {
                command.extend(["--".to_string(), "--exact".to_string()]);
                command.extend(names.iter().cloned());
            }
            cargo_home(spec);
            spec.env.push(("RUST_BACKTRACE".into(), "0".into()));
            Detected {
                prelude: None,
                test: TestStep::Argv(command.clone()),
                command,
            }
        }
        ProjectKind::Python => {
            let python = toolchain.map_or("python3".to_string(), |t| t.program.clone());
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
            spec.env
                .push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
            Detected {
                prelude: None,
                test: TestStep::Argv(command.clone()),
                command,
            }
        }
        ProjectKind::Node => {
            // What `npm test` runs, without needing npm: the `test` script, with the
            // project's own binaries on the PATH.
            let script = std::fs::read_to_string(root.join("package.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["scripts"]["test"].as_str().map(String::from))
                .unwrap_or_else(|| "node --test".to_string());
            // The install cache's `node_modules`, when there is one, in place of the
            // project's (in the snapshot).
            let modules = crate::deps::NODE_MODULES;
            let bin = root.join("node_modules/.bin");
            Detected {
                prelude: Some(format!(
                    "if [ -n \"${{{modules}:-}}\" ]; then rm -rf node_modules && ln -s \"${modules}\" node_modules; fi\n\
                     PATH={}:$PATH",
                    quote(&bin.display().to_string())
                )),
                test: TestStep::Script {
                    script: format!("{script} \"$@\""),
                    names: names.to_vec(),
                },
                command: vec!["npm".to_string(), "test".to_string()],
            }
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
            go_offline(spec);
            if let Some(gopath) = codecontext_config::toolchain_dir("GOPATH", "go") {
                spec.readonly.push(gopath.clone());
                spec.env
                    .push(("GOPATH".into(), gopath.display().to_string()));
            }
            Detected {
                prelude: None,
                test: TestStep::Argv(command.clone()),
                command,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn without_configuration_a_detected_project_runs_its_own_command() {
        let root = Path::new("/home/me/calc");
        let planned = plan(
            Some(ProjectKind::Cargo),
            None,
            root,
            &[],
            &VerifyConfig::default(),
        )
        .unwrap();
        assert_eq!(
            planned.command,
            ["cargo", "test", "--offline", "--no-fail-fast"]
        );
        // Nothing runs first: Cargo's home is the host's (here none: an empty one).
        assert_eq!(
            planned.spec.argv,
            ["cargo", "test", "--offline", "--no-fail-fast"]
        );
        assert!(planned
            .spec
            .env
            .contains(&("CARGO_HOME".to_string(), "/tmp/cargo-home".to_string())));
        assert_eq!(
            planned.reading,
            Reading {
                parser: ResultsParser::Cargo,
                report: None,
                pytest: false,
                build: false,
            }
        );
        assert!(!planned.spec.network);

        let planned = plan(
            Some(ProjectKind::Python),
            None,
            root,
            &names(&["tests/test_calc.py::test_add"]),
            &VerifyConfig::default(),
        )
        .unwrap();
        assert_eq!(planned.spec.argv, planned.command);
        assert_eq!(planned.spec.argv[0], "python3");
        assert_eq!(
            planned.spec.argv.last().unwrap(),
            "tests/test_calc.py::test_add"
        );
        assert_eq!(planned.spec.collect, [JUNIT]);
        assert_eq!(planned.reading.report.as_deref(), Some(JUNIT));
        assert!(planned.reading.pytest);
    }

    #[test]
    fn nothing_to_run_without_a_project_or_a_test_command() {
        let config = VerifyConfig {
            build: Some("make".into()),
            ..VerifyConfig::default()
        };
        assert!(plan(None, None, Path::new("/x"), &[], &config).is_none());
    }

    #[test]
    fn a_test_command_takes_the_selected_names_as_arguments() {
        let config = VerifyConfig {
            test: Some("make check".into()),
            network: true,
            ..VerifyConfig::default()
        };
        let planned = plan(
            None,
            None,
            Path::new("/x"),
            &names(&["adds up", "subs"]),
            &config,
        )
        .unwrap();
        assert_eq!(planned.command, ["sh", "-c", "make check 'adds up' subs"]);
        assert_eq!(
            planned.spec.argv,
            ["sh", "-c", "make check \"$@\"", "verify", "adds up", "subs"]
        );
        assert_eq!(planned.reading.parser, ResultsParser::ExitStatus);
        assert!(planned.spec.collect.is_empty());
        assert!(planned.spec.network);
    }

    #[test]
    fn a_build_command_runs_first_then_the_detected_tests() {
        let config = VerifyConfig {
            build: Some("cargo build --features fast".into()),
            ..VerifyConfig::default()
        };
        let planned = plan(
            Some(ProjectKind::Cargo),
            None,
            Path::new("/x"),
            &[],
            &config,
        )
        .unwrap();
        assert_eq!(
            planned.command,
            [
                "sh",
                "-c",
                "cargo build --features fast && cargo test --offline --no-fail-fast"
            ]
        );
        let script = &planned.spec.argv[2];
        let lines: Vec<&str> = script.lines().collect();
        assert!(
            lines.contains(&"sh -c 'cargo build --features fast' || { status=$?; printf '\\n%s %s\\n' 'codecontext-verify: the build command failed, exit status' \"$status\" >&2; exit \"$status\"; }"),
            "{script}"
        );
        assert_eq!(lines.last(), Some(&"exec \"$@\""));
        assert_eq!(
            planned.spec.argv[3..],
            ["verify", "cargo", "test", "--offline", "--no-fail-fast"]
        );
        assert!(planned.reading.build);
        assert_eq!(planned.reading.parser, ResultsParser::Cargo);
    }

    /// Cargo's home inside is the host's, at its own path: what the user's builds
    /// compiled is fresh (fingerprints hold the sources' paths).
    #[test]
    fn cargo_builds_with_the_hosts_cargo_home_at_its_path() {
        let toolchain = Toolchain {
            env: vec![(
                crate::deps::HOST_CARGO_HOME.to_string(),
                "/home/me/.cargo".to_string(),
            )],
            ..Toolchain::default()
        };
        let root = Path::new("/home/me/calc");
        let config = VerifyConfig::default();
        let planned = plan(
            Some(ProjectKind::Cargo),
            Some(&toolchain),
            root,
            &[],
            &config,
        )
        .unwrap();
        let homes: Vec<&str> = planned
            .spec
            .env
            .iter()
            .filter(|(k, _)| k == "CARGO_HOME")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(homes, ["/home/me/.cargo"]);
    }

    #[test]
    fn a_results_file_is_collected_and_read_as_junit() {
        let config = VerifyConfig {
            test: Some("pytest -x --junitxml=out/junit.xml".into()),
            results: Some("out/junit.xml".into()),
            ..VerifyConfig::default()
        };
        let planned = plan(
            Some(ProjectKind::Python),
            None,
            Path::new("/x"),
            &[],
            &config,
        )
        .unwrap();
        assert_eq!(planned.spec.collect, ["out/junit.xml"]);
        assert_eq!(
            planned.reading,
            Reading {
                parser: ResultsParser::Junit,
                report: Some("out/junit.xml".into()),
                pytest: false,
                build: false,
            }
        );
        // A detected project's parser is the default for a configured test command.
        let config = VerifyConfig {
            test: Some("go test -json -race ./...".into()),
            ..VerifyConfig::default()
        };
        let planned = plan(Some(ProjectKind::Go), None, Path::new("/x"), &[], &config).unwrap();
        assert_eq!(planned.reading.parser, ResultsParser::GoJson);
    }

    #[test]
    fn quoting_for_sh() {
        assert_eq!(quote("src/lib.rs"), "src/lib.rs");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("^(A|B)$"), "'^(A|B)$'");
        assert_eq!(quote(""), "''");
    }
}
