//! `codecontext doctor` against the real services of `.ci/services` (FalkorDB for Bolt),
//! and against dead ones: every configured backend's state, version and latency, never a password.

use std::process::Command;

use codecontext_tests::service_url;
use serde_json::Value;

/// Runs `codecontext doctor --json` in `dir` with exactly these backend variables.
fn doctor(dir: &std::path::Path, vars: &[(&str, String)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_codecontext"));
    command
        .args(["doctor", "--json"])
        .current_dir(dir)
        .env("CODECONTEXT_CONFIG", dir.join("no-user-config.toml"));
    for (_, _, env) in BACKENDS {
        command.env_remove(env);
    }
    for env in [
        "CODECONTEXT_INFLUX_DB",
        "CODECONTEXT_BOLT_USER",
        "CODECONTEXT_BOLT_PASSWORD",
        "CODECONTEXT_SANDBOX",
        "CODECONTEXT_DOCKER_IMAGE",
        "CODECONTEXT_DOCKER_RUNTIME",
        "DOCKER_HOST",
    ] {
        command.env_remove(env);
    }
    for (k, v) in vars {
        command.env(k, v);
    }
    let out = command.output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// (backend, test variable, server variable).
const BACKENDS: [(&str, &str, &str); 4] = [
    (
        "postgres",
        "CODECONTEXT_TEST_POSTGRES_URL",
        "CODECONTEXT_POSTGRES_URL",
    ),
    ("bolt", "CODECONTEXT_TEST_BOLT_URL", "CODECONTEXT_BOLT_URL"),
    (
        "redis",
        "CODECONTEXT_TEST_REDIS_URL",
        "CODECONTEXT_REDIS_URL",
    ),
    (
        "influx",
        "CODECONTEXT_TEST_INFLUX_URL",
        "CODECONTEXT_INFLUX_URL",
    ),
];

fn states(stdout: &str) -> Vec<(String, String)> {
    let answer: Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    answer["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["backend"].as_str().unwrap().to_string(),
                b["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_configured_backend_is_checked_for_real() {
    let mut vars = Vec::new();
    for (_, test_var, env) in BACKENDS {
        let Some(url) = service_url(test_var) else {
            return;
        };
        vars.push((env, url));
    }
    let Some(db) = service_url("CODECONTEXT_TEST_INFLUX_DB") else {
        return;
    };
    vars.push(("CODECONTEXT_INFLUX_DB", db));
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = doctor(dir.path(), &vars);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        states(&stdout),
        [
            ("postgres".into(), "ok".into()),
            ("bolt".into(), "ok".into()),
            ("redis".into(), "ok".into()),
            ("influx".into(), "ok".into()),
            ("docker".into(), "not_configured".into())
        ]
    );
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    for backend in answer["backends"].as_array().unwrap().iter().take(4) {
        assert!(backend["latencyMs"].as_f64().unwrap() > 0.0, "{backend}");
        assert!(backend["version"].as_str().unwrap().len() > 3, "{backend}");
    }
    // The PostgreSQL URL carries a password; it is not printed.
    let pg_url = &vars[0].1;
    if let Some(password) = pg_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('@').next())
        .and_then(|userinfo| userinfo.split(':').nth(1))
    {
        assert!(!stdout.contains(&format!(":{password}@")), "{stdout}");
    }
}

#[test]
fn dead_backends_are_down_with_the_reason_and_a_failing_status() {
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        (
            "CODECONTEXT_POSTGRES_URL",
            "postgres://me:hunter2@127.0.0.1:1/db".to_string(),
        ),
        ("CODECONTEXT_REDIS_URL", "redis://127.0.0.1:1".to_string()),
        ("CODECONTEXT_BOLT_URL", "bolt://127.0.0.1:1".to_string()),
    ];
    let (code, stdout, _) = doctor(dir.path(), &vars);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(
        states(&stdout),
        [
            ("postgres".into(), "down".into()),
            ("bolt".into(), "down".into()),
            ("redis".into(), "down".into()),
            ("influx".into(), "not_configured".into()),
            ("docker".into(), "not_configured".into())
        ]
    );
    assert!(!stdout.contains("hunter2"), "{stdout}");
    assert!(
        stdout.contains("postgres://me:***@127.0.0.1:1/db"),
        "{stdout}"
    );
    assert!(stdout.contains("refused"), "{stdout}");

    // A wrong codecontext.toml is an error naming the file and the key.
    std::fs::write(
        dir.path().join("codecontext.toml"),
        "[storage]\npostgres = \"x\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = doctor(dir.path(), &[]);
    assert_ne!(code, 0, "{stdout}");
    assert!(
        stderr.contains("codecontext.toml") && stderr.contains("postgres"),
        "{stderr}"
    );
}

#[test]
fn the_docker_daemon_is_reported_with_its_api_version_and_images() {
    let Some(image) = service_url("CODECONTEXT_TEST_DOCKER_IMAGE") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let docker = |vars: &[(&str, String)]| {
        let mut all = vec![("CODECONTEXT_SANDBOX", "docker".to_string())];
        all.extend(vars.iter().cloned());
        let (code, stdout, stderr) = doctor(dir.path(), &all);
        let answer: Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
        let docker = answer["backends"][4].clone();
        assert_eq!(docker["backend"], "docker");
        (code, docker)
    };
    let (code, report) = docker(&[("CODECONTEXT_DOCKER_IMAGE", image.clone())]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["state"], "ok", "{report}");
    let version = report["version"].as_str().unwrap();
    assert!(version.contains(", API 1."), "{version}");
    assert!(
        version.contains(image.trim_end_matches(":latest")),
        "{version}"
    );

    let (code, report) = docker(&[("CODECONTEXT_DOCKER_IMAGE", "no-such-image:1".into())]);
    assert_eq!(
        (code, report["state"].as_str()),
        (1, Some("down")),
        "{report}"
    );
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("no-such-image:1"),
        "{report}"
    );

    // gVisor, registered by .ci/docker; a runtime dockerd does not know is named.
    let with_runtime = |runtime: &str| {
        docker(&[
            ("CODECONTEXT_DOCKER_IMAGE", image.clone()),
            ("CODECONTEXT_DOCKER_RUNTIME", runtime.to_string()),
        ])
    };
    let (code, report) = with_runtime("runsc");
    assert_eq!(
        (code, report["state"].as_str()),
        (0, Some("ok")),
        "{report}"
    );
    assert!(
        report["version"]
            .as_str()
            .unwrap()
            .contains(", runtime runsc,"),
        "{report}"
    );
    let (code, report) = with_runtime("kata");
    assert_eq!(
        (code, report["state"].as_str()),
        (1, Some("down")),
        "{report}"
    );
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("configured but not there: kata"), "{report}");
    assert!(error.contains("runsc"), "{report}");

    let (code, report) = docker(&[("DOCKER_HOST", "unix:///nonexistent/docker.sock".into())]);
    assert_eq!(
        (code, report["state"].as_str()),
        (1, Some("down")),
        "{report}"
    );
}
