//! `verify` with a `codecontext.toml`: the planned shell scripts run for real, on the host,
//! in a temporary folder standing in for the sandbox's snapshot, so that the build step,
//! its failure marker, the selected names and the collected report are checked end to end.

use std::{process::Command, sync::Mutex, time::Instant};

use codecontext_sandbox::{BoxFuture, Enforcement, RunOutcome, RunSpec, Sandbox, Status};
use codecontext_verify::{
    verify, BuildError, FileChange, Location, TestOutcome, TestSelection, VerdictKind, VerifyError,
};

/// Runs the command in the workspace folder itself (a throw-away copy here), and keeps
/// the spec it was given.
#[derive(Default)]
struct HostShell {
    spec: Mutex<Option<RunSpec>>,
}

impl Sandbox for HostShell {
    fn run(&self, spec: RunSpec) -> BoxFuture<'_, RunOutcome> {
        Box::pin(async move {
            let root = spec.workspace.clone().expect("a workspace");
            for (rel, bytes) in &spec.files {
                std::fs::write(root.join(rel), bytes).unwrap();
            }
            let start = Instant::now();
            let output = Command::new(&spec.argv[0])
                .args(&spec.argv[1..])
                .current_dir(&root)
                .envs(spec.env.iter().cloned())
                .output()
                .unwrap();
            let collected = spec
                .collect
                .iter()
                .filter_map(|rel| Some((rel.clone(), std::fs::read(root.join(rel)).ok()?)))
                .collect();
            *self.spec.lock().unwrap() = Some(spec);
            RunOutcome {
                status: if output.status.success() {
                    Status::Ok
                } else {
                    Status::Error
                },
                exit_code: output.status.code(),
                signal: None,
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                stdout_truncated: false,
                stderr_truncated: false,
                wall_ms: start.elapsed().as_millis() as u64,
                cpu_ms: 0,
                peak_memory_bytes: 0,
                process_limit_hit: false,
                snapshot: None,
                enforcement: Enforcement::Rlimits,
                message: None,
                collected,
            }
        })
    }
}

/// A folder with these files (relative path, content).
fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn all() -> TestSelection {
    TestSelection::default()
}

/// A build that fails as rustc does, naming the file by its absolute path.
const FAILING_BUILD: &str = r#"printf 'error[E0308]: mismatched types\n --> %s/src/lib.rs:8:5\n' "$PWD" >&2
printf 'error: could not compile `calc` (lib) due to 1 previous error\n' >&2
exit 101
"#;

/// Writes a JUnit report of the tests named as arguments; `breaks` fails.
const JUNIT_TESTS: &str = r#"mkdir -p out
{
  printf '<testsuites><testsuite name="unit">'
  for name in "$@"; do
    if [ "$name" = breaks ]; then
      printf '<testcase classname="calc" name="%s"><failure message="expected 4">calc.sh:9</failure></testcase>' "$name"
    else
      printf '<testcase classname="calc" name="%s"/>' "$name"
    fi
  done
  printf '</testsuite></testsuites>'
} > out/junit.xml
for name in "$@"; do [ "$name" = breaks ] && exit 1; done
exit 0
"#;

#[tokio::test]
async fn a_failing_build_command_is_a_failed_build_with_the_compilers_errors() {
    let dir = workspace(&[
        (
            "codecontext.toml",
            "[index]\nexclude = [\"out\"]\n\n[verify]\nbuild = \"sh build.sh\"\ntest = \"sh tests.sh\"\n",
        ),
        ("build.sh", FAILING_BUILD),
        ("tests.sh", "echo ran >&2\n"),
    ]);
    let sandbox = HostShell::default();
    let verdict = verify(&sandbox, dir.path(), Vec::new(), &all(), None, None)
        .await
        .unwrap();
    assert_eq!(verdict.verdict, VerdictKind::BuildFailed);
    assert_eq!(verdict.project, None);
    assert_eq!(verdict.command, ["sh", "-c", "sh build.sh && sh tests.sh"]);
    assert_eq!(
        verdict.build_errors,
        [BuildError {
            message: "mismatched types".into(),
            location: Some(Location {
                file: "src/lib.rs".into(),
                line: 8,
                column: Some(5),
            }),
        }]
    );
    assert!(!verdict.stderr_tail.contains("ran"), "the tests ran");
    let json = serde_json::to_value(&verdict).unwrap();
    assert_eq!(json["buildErrors"][0]["location"]["column"], 5);
}

#[tokio::test]
async fn an_exit_or_a_syntax_error_in_the_build_is_still_a_failed_build() {
    for build in [
        "exit 3",
        "if then fi",
        "false; exit 0 # the last status is what counts",
    ] {
        let dir = workspace(&[(
            "codecontext.toml",
            &format!("[verify]\nbuild = {build:?}\ntest = \"true\"\n"),
        )]);
        let verdict = verify(
            &HostShell::default(),
            dir.path(),
            Vec::new(),
            &all(),
            None,
            None,
        )
        .await
        .unwrap();
        let expected = if build.starts_with("false") {
            VerdictKind::Passed
        } else {
            VerdictKind::BuildFailed
        };
        assert_eq!(
            verdict.verdict, expected,
            "{build}: {}",
            verdict.stderr_tail
        );
    }
}

#[tokio::test]
async fn a_test_command_gets_the_selected_names_and_its_report_is_read() {
    let dir = workspace(&[
        (
            "codecontext.toml",
            "[verify]\nbuild = \"true\"\ntest = \"sh tests.sh\"\nresults = \"out/junit.xml\"\ntimeout_ms = 45000\nnetwork = true\n",
        ),
        ("tests.sh", JUNIT_TESTS),
    ]);
    let sandbox = HostShell::default();
    let names = TestSelection::Names(vec!["adds".into(), "breaks".into()]);
    let verdict = verify(&sandbox, dir.path(), Vec::new(), &names, None, None)
        .await
        .unwrap();
    assert_eq!(
        verdict.verdict,
        VerdictKind::Failed,
        "{}",
        verdict.stderr_tail
    );
    let tests: Vec<_> = verdict
        .tests
        .iter()
        .map(|t| (t.name.as_str(), t.outcome))
        .collect();
    assert_eq!(
        tests,
        [
            ("calc::adds", TestOutcome::Passed),
            ("calc::breaks", TestOutcome::Failed)
        ]
    );
    assert_eq!(verdict.build_errors, []);
    let json = serde_json::to_value(&verdict).unwrap();
    assert!(json.get("buildErrors").is_none(), "{json}");
    let spec = sandbox.spec.lock().unwrap().take().unwrap();
    assert_eq!(spec.limits.timeout_ms, 45_000);
    assert!(spec.network);

    // The request's timeout wins over the file's.
    let names = TestSelection::Names(vec!["adds".into()]);
    let verdict = verify(&sandbox, dir.path(), Vec::new(), &names, None, Some(9_000))
        .await
        .unwrap();
    assert_eq!(
        verdict.verdict,
        VerdictKind::Passed,
        "{}",
        verdict.stderr_tail
    );
    let spec = sandbox.spec.lock().unwrap().take().unwrap();
    assert_eq!(spec.limits.timeout_ms, 9_000);
}

#[tokio::test]
async fn without_a_parser_only_the_exit_status_counts() {
    let dir = workspace(&[("codecontext.toml", "[verify]\ntest = \"exit 1\"\n")]);
    let verdict = verify(
        &HostShell::default(),
        dir.path(),
        Vec::new(),
        &all(),
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(verdict.verdict, VerdictKind::Failed);
    assert_eq!(verdict.tests, []);
}

#[tokio::test]
async fn a_bad_file_is_an_error_and_no_file_no_project_is_unknown() {
    let dir = workspace(&[(
        "codecontext.toml",
        "[verify]\ntest = \"make\"\ntests = \"x\"\n",
    )]);
    let err = verify(
        &HostShell::default(),
        dir.path(),
        Vec::new(),
        &all(),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, VerifyError::Config(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&dir.path().join("codecontext.toml").display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("line 3") && message.contains("`tests`"),
        "{message}"
    );

    let dir = workspace(&[("notes.txt", "")]);
    let err = verify(
        &HostShell::default(),
        dir.path(),
        Vec::new(),
        &all(),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, VerifyError::UnknownProject(_)), "{err:?}");
}

#[tokio::test]
async fn the_build_runs_on_the_edited_files() {
    let dir = workspace(&[
        (
            "codecontext.toml",
            "[verify]\nbuild = \"test -f ready && sh build.sh\"\ntest = \"true\"\n",
        ),
        ("ready", ""),
        ("build.sh", "exit 0\n"),
    ]);
    let edit = |path: &str, content: Option<&str>| FileChange {
        path: path.into(),
        content: content.map(String::from),
    };
    let changes = vec![edit("build.sh", Some(FAILING_BUILD))];
    let verdict = verify(
        &HostShell::default(),
        dir.path(),
        changes,
        &all(),
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(verdict.verdict, VerdictKind::BuildFailed);
    assert_eq!(verdict.build_errors.len(), 1);
    assert_eq!(verdict.changed_files, ["build.sh"]);
    // A deleted file is gone before the build runs.
    let verdict = verify(
        &HostShell::default(),
        dir.path(),
        vec![edit("ready", None)],
        &all(),
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(verdict.verdict, VerdictKind::BuildFailed);
    assert_eq!(verdict.build_errors, []);
}
