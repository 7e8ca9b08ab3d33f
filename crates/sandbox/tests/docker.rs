//! The Docker sandbox, for real, against the daemon `.ci/docker` starts and the image it
//! builds (`CODECONTEXT_TEST_DOCKER_IMAGE`): the local sandbox's abuse tests again, plus
//! the warm pool and the removal of orphans. Without the image variable these tests
//! return early, unless `CODECONTEXT_REQUIRE_SERVICES` is set (CI), where that fails.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use codecontext_sandbox::{
    DockerConfig, DockerSandbox, RunOutcome, RunSpec, Sandbox, SnapshotKind, Status, WORK_DIR,
};

fn image() -> Option<String> {
    match std::env::var("CODECONTEXT_TEST_DOCKER_IMAGE") {
        Ok(image) if !image.is_empty() => Some(image),
        _ if std::env::var_os("CODECONTEXT_REQUIRE_SERVICES").is_some() => {
            panic!("CODECONTEXT_TEST_DOCKER_IMAGE is not set: run `source .ci/docker` first")
        }
        _ => None,
    }
}

/// The container runtime the tests run under: `CODECONTEXT_TEST_DOCKER_RUNTIME`
/// (`runsc`: `.ci/run` runs the abuse tests again under gVisor), else dockerd's default.
fn runtime() -> Option<String> {
    std::env::var("CODECONTEXT_TEST_DOCKER_RUNTIME")
        .ok()
        .filter(|r| !r.is_empty())
}

/// The tests run under gVisor.
fn gvisor() -> bool {
    runtime().as_deref() == Some("runsc")
}

/// A test image's config, under the tests' runtime.
fn config(image: String) -> DockerConfig {
    let mut config = DockerConfig::new(image);
    config.runtime = runtime();
    config
}

/// A sandbox with a pool of one (tests run side by side on small machines).
fn sandbox() -> Option<DockerSandbox> {
    let mut config = config(image()?);
    config.pool_size = 1;
    Some(DockerSandbox::new(config).expect("a Docker sandbox"))
}

fn sh(script: &str) -> RunSpec {
    RunSpec {
        argv: vec!["sh".into(), "-c".into(), script.into()],
        ..RunSpec::default()
    }
}

/// One run in a sandbox of its own, removed afterwards.
async fn run(spec: RunSpec) -> Option<RunOutcome> {
    let sandbox = sandbox()?;
    let out = sandbox.run(spec).await;
    sandbox.shutdown().await;
    Some(out)
}

fn docker_cli(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn exists(id: &str) -> bool {
    Command::new("docker")
        .args(["inspect", "--type", "container", id])
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn gone_soon(id: &str) -> bool {
    for _ in 0..100 {
        if !exists(id) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn a_python_snippet_runs_as_an_unprivileged_user_without_capabilities() {
    let Some(out) = run(sh(
        "python3 -c 'print(6 * 7)'; id -u; grep CapEff /proc/self/status; echo err >&2; exit 3",
    ))
    .await
    else {
        return;
    };
    assert_eq!(out.status, Status::Error, "{out:?}");
    assert_eq!(out.exit_code, Some(3));
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "42", "{out:?}");
    assert_eq!(lines[1], "65534", "{out:?}");
    assert!(lines[2].ends_with("0000000000000000"), "{out:?}");
    assert_eq!(out.stderr, "err\n");
    assert_eq!(out.snapshot, Some(SnapshotKind::Copy));
}

#[tokio::test]
async fn stdin_goes_in_and_a_clean_exit_is_ok() {
    let mut spec = sh("tr a-z A-Z");
    spec.stdin = b"hello".to_vec();
    let Some(out) = run(spec).await else { return };
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Status::Ok, "HELLO"),
        "{out:?}"
    );
}

#[tokio::test]
async fn the_network_is_denied() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let script = format!(
        "import socket\nfor host in ('127.0.0.1', '1.1.1.1'):\n    s = socket.socket()\n    s.settimeout(2)\n    try:\n        s.connect((host, {port}))\n        print('connected')\n    except OSError as e:\n        print('refused', e.errno)\nprint(open('/proc/net/dev').read().count(':'))\n"
    );
    let Some(out) = run(RunSpec {
        argv: vec!["python3".into(), "-c".into(), script],
        ..RunSpec::default()
    })
    .await
    else {
        return;
    };
    assert_eq!(out.status, Status::Ok, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("refused"), "{out:?}");
    assert!(lines[1].starts_with("refused"), "{out:?}");
    assert_eq!(lines[2], "1", "only the loopback interface: {out:?}");
    assert!(listener.accept().is_err(), "nothing connected to the host");
}

/// A run that asks for the network (`[verify] network = true`) gets the host's, as in the
/// local sandbox, in a container of its own: the pooled ones stay without.
#[tokio::test]
async fn the_network_is_the_hosts_when_asked_for() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!(
        "import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=5)\ns.sendall(b'hello')\nprint('connected')\n"
    );
    let Some(out) = run(RunSpec {
        argv: vec!["python3".into(), "-c".into(), script],
        network: true,
        ..RunSpec::default()
    })
    .await
    else {
        return;
    };
    if gvisor() {
        // Registered with `--network=none` (.ci/docker): no network, and it says so.
        assert_eq!(out.status, Status::Error, "{out:?}");
        assert!(listener.set_nonblocking(true).is_ok() && listener.accept().is_err());
        let message = out.message.as_deref().unwrap_or("");
        assert!(message.contains("runsc runs without one"), "{out:?}");
        return;
    }
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Status::Ok, "connected\n"),
        "{out:?}"
    );
    let (mut peer, _) = listener.accept().unwrap();
    let mut got = String::new();
    std::io::Read::read_to_string(&mut peer, &mut got).unwrap();
    assert_eq!(got, "hello");
    assert!(out.message.is_none(), "nothing left out: {out:?}");
}

#[tokio::test]
async fn secrets_of_the_host_are_absent() {
    std::env::set_var("CODECONTEXT_FAKE_SECRET", "hunter2");
    let home = PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()));
    let secret = home.join(format!(".codecontext-docker-secret-{}", std::process::id()));
    std::fs::write(&secret, "top secret\n").unwrap();
    let out = run(sh(&format!(
        "env; echo ${{CODECONTEXT_FAKE_SECRET:-absent}}; cat {} 2>&1; ls /root 2>&1",
        secret.display()
    )))
    .await;
    std::fs::remove_file(&secret).unwrap();
    let Some(out) = out else { return };
    assert!(!out.stdout.contains("hunter2"), "{out:?}");
    assert!(out.stdout.contains("absent\n"), "{out:?}");
    assert!(!out.stdout.contains("top secret"), "{out:?}");
    assert!(out.stdout.contains("No such file"), "{out:?}");
}

#[tokio::test]
async fn the_workspace_is_unchanged_and_the_root_is_read_only() {
    let Some(sandbox) = sandbox() else { return };
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join("keep.txt"), "original\n").unwrap();
    std::fs::write(workspace.path().join("gone.txt"), "here\n").unwrap();
    std::fs::create_dir(workspace.path().join("sub")).unwrap();
    std::fs::write(workspace.path().join("sub/deep.txt"), "deep\n").unwrap();
    let script = "echo changed > keep.txt && rm gone.txt && echo new > new.txt && rm -r sub && cat keep.txt && ls; \
         for f in /usr/evil /etc/evil /evil; do (echo x > $f) 2>/dev/null && echo wrote $f; done; true";
    let out = sandbox
        .run(RunSpec {
            workspace: Some(workspace.path().to_path_buf()),
            ..sh(script)
        })
        .await;
    sandbox.shutdown().await;
    assert_eq!(out.status, Status::Ok, "{out:?}");
    assert_eq!(out.stdout, "changed\nkeep.txt\nnew.txt\n", "{out:?}");
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("keep.txt")).unwrap(),
        "original\n"
    );
    assert!(workspace.path().join("gone.txt").exists());
    assert!(workspace.path().join("sub/deep.txt").exists());
    assert!(!workspace.path().join("new.txt").exists());
}

#[tokio::test]
async fn files_go_in_and_collected_files_come_back() {
    let Some(out) = run(RunSpec {
        files: vec![
            ("in.txt".into(), b"hello".to_vec()),
            ("deep/er/x.txt".into(), b"x".to_vec()),
        ],
        collect: vec![
            "out.txt".into(),
            "reports/r.xml".into(),
            "missing.txt".into(),
        ],
        ..sh("cat in.txt deep/er/x.txt > out.txt && mkdir reports && echo '<r/>' > reports/r.xml")
    })
    .await
    else {
        return;
    };
    assert_eq!(out.status, Status::Ok, "{out:?}");
    assert_eq!(
        out.collected,
        vec![
            ("out.txt".to_string(), b"hellox".to_vec()),
            ("reports/r.xml".to_string(), b"<r/>\n".to_vec())
        ]
    );
}

#[tokio::test]
async fn files_may_not_climb_out_of_the_snapshot() {
    let Some(out) = run(RunSpec {
        files: vec![("../../etc/x".into(), b"x".to_vec())],
        ..sh("true")
    })
    .await
    else {
        return;
    };
    assert_eq!(out.status, Status::SandboxError, "{out:?}");
    assert!(out.message.unwrap().contains("not a plain relative path"));
}

#[tokio::test]
async fn a_memory_bomb_ends_as_memory_limit() {
    let mut spec = RunSpec {
        argv: vec![
            "python3".into(),
            "-c".into(),
            "a = []\nwhile True:\n    a.append(bytearray(10_000_000))\n".into(),
        ],
        ..RunSpec::default()
    };
    spec.limits.memory_bytes = 128 << 20;
    let Some(out) = run(spec).await else { return };
    assert_eq!(out.status, Status::MemoryLimit, "{out:?}");
    assert!(out.peak_memory_bytes > 64 << 20, "{out:?}");
    assert!(out.peak_memory_bytes <= (128 << 20) + (8 << 20), "{out:?}");
}

#[tokio::test]
async fn the_counters_are_read_inside_the_container_too() {
    // As with a daemon on another host: a second exec reads the cgroup files.
    let Some(image) = image() else { return };
    let mut config = config(image);
    config.pool_size = 0;
    config.host_cgroups = false;
    let sandbox = DockerSandbox::new(config).unwrap();
    let mut spec = RunSpec {
        argv: vec![
            "python3".into(),
            "-c".into(),
            "a = []\nwhile True:\n    a.append(bytearray(10_000_000))\n".into(),
        ],
        ..RunSpec::default()
    };
    spec.limits.memory_bytes = 96 << 20;
    let out = sandbox.run(spec).await;
    assert_eq!(out.status, Status::MemoryLimit, "{out:?}");
    assert!(out.peak_memory_bytes > 48 << 20, "{out:?}");
    let mut spec = sh("bomb() { bomb | bomb & }; bomb; sleep 1; echo survived");
    spec.limits.processes = 24;
    spec.limits.timeout_ms = 3_000;
    let out = sandbox.run(spec).await;
    assert!(out.process_limit_hit, "{out:?}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_fork_bomb_is_contained() {
    let mut spec = sh("bomb() { bomb | bomb & }; bomb; sleep 1; echo survived");
    spec.limits.processes = 32;
    spec.limits.timeout_ms = 5_000;
    let Some(out) = run(spec).await else { return };
    assert!(out.process_limit_hit, "{out:?}");
    assert!(out.wall_ms < 5_000 + 3_000, "{out:?}");
    assert!(Command::new("true").status().unwrap().success());
}

#[tokio::test]
async fn an_infinite_loop_ends_as_timed_out_near_its_limit() {
    let mut spec = sh("while :; do :; done");
    spec.limits.timeout_ms = 1_000;
    let Some(out) = run(spec).await else { return };
    assert_eq!(out.status, Status::TimedOut, "{out:?}");
    assert!((1_000..3_000).contains(&out.wall_ms), "{out:?}");
}

/// A CPU time limit below the wall time: the kernel stops the process (SIGXCPU) once it
/// has used its seconds, well before the wall clock would.
#[tokio::test]
async fn a_busy_loop_stops_at_its_cpu_time_limit() {
    let mut spec = sh("while :; do :; done");
    spec.limits.cpu_ms = 1_000;
    spec.limits.timeout_ms = 30_000;
    let Some(out) = run(spec).await else { return };
    assert_eq!(out.status, Status::TimedOut, "{out:?}");
    // runc: the kernel's SIGXCPU; gVisor's kernel does not enforce the rlimit, and the
    // sandbox, watching the container's CPU time, kills the container.
    let signal = if gvisor() { None } else { Some(24) };
    assert_eq!(out.signal, signal, "SIGXCPU: {out:?}");
    // The kernel counts CPU time for the rlimit in ticks, the cgroup in nanoseconds: the
    // cgroup's figure may stay a few ticks short of the second that stopped the loop.
    assert!(out.cpu_ms >= 900, "{out:?}");
    assert!(out.wall_ms < 10_000, "{out:?}");
}

#[tokio::test]
async fn a_hundred_megabytes_of_output_are_cut_to_the_cap() {
    let mut spec = sh("head -c 100000000 /dev/zero | tr '\\0' x");
    spec.limits.output_bytes = 1 << 20;
    let Some(out) = run(spec).await else { return };
    assert_eq!(out.status, Status::OutputLimit, "{out:?}");
    assert!(out.stdout_truncated);
    assert_eq!(out.stdout.len(), 1 << 20);
    assert!(out.wall_ms < 5_000, "ended at the cap: {} ms", out.wall_ms);
}

#[tokio::test]
async fn a_run_takes_a_pooled_container_which_is_replaced_and_discarded() {
    let Some(sandbox) = sandbox() else { return };
    assert!(sandbox.wait_warm(WORK_DIR, Duration::from_secs(30)).await);
    let before = sandbox.idle_containers(WORK_DIR);
    assert_eq!(before.len(), 1);
    let out = sandbox.run(sh("echo state > /tmp/leak; hostname")).await;
    assert_eq!(out.status, Status::Ok, "{out:?}");
    assert!(
        before[0].starts_with(out.stdout.trim()),
        "ran in the pooled container: {out:?}"
    );
    assert!(sandbox.wait_warm(WORK_DIR, Duration::from_secs(30)).await);
    let after = sandbox.idle_containers(WORK_DIR);
    assert_eq!(after.len(), 1);
    assert_ne!(after, before, "a new container replaces the used one");
    assert!(gone_soon(&before[0]).await, "the used container is removed");
    let out = sandbox.run(sh("cat /tmp/leak 2>&1")).await;
    assert!(out.stdout.contains("No such file"), "{out:?}");
    sandbox.shutdown().await;
    assert!(
        gone_soon(&after[0]).await,
        "shutdown removes idle containers"
    );
}

#[tokio::test]
async fn idle_containers_past_the_idle_timeout_are_removed() {
    let Some(image) = image() else { return };
    let mut config = config(image);
    config.pool_size = 1;
    config.idle_timeout = Duration::from_secs(1);
    let sandbox = DockerSandbox::new(config).unwrap();
    assert!(sandbox.wait_warm(WORK_DIR, Duration::from_secs(30)).await);
    let idle = sandbox.idle_containers(WORK_DIR);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(sandbox.idle_containers(WORK_DIR).is_empty());
    assert!(gone_soon(&idle[0]).await, "the idle container is removed");
    // The next run starts a container again.
    let out = sandbox.run(sh("echo again")).await;
    assert_eq!(out.stdout, "again\n", "{out:?}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn orphans_of_a_dead_server_are_removed_at_start() {
    let Some(image) = image() else { return };
    // A PID that is no longer anyone's.
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id().to_string();
    child.wait().unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let create = |owner: &str| {
        docker_cli(&[
            "create",
            "--label",
            "codecontext.sandbox=1",
            "--label",
            &format!("codecontext.owner={owner}"),
            "--label",
            &format!("codecontext.host={}", host.trim()),
            &image,
            "sleep",
            "infinity",
        ])
    };
    let orphan = create(&dead);
    let alive = create(&std::process::id().to_string());
    // (Another test's sandbox starting now may remove the orphan before this one.)
    assert!(!orphan.is_empty() && exists(&alive));
    let Some(sandbox) = sandbox() else { return };
    let info = sandbox.ready().await.expect("the daemon answers");
    assert!(info.api_version.starts_with("1."), "{info:?}");
    // Removed by this start, or by another test's sandbox starting meanwhile.
    assert!(!exists(&orphan), "the orphan is removed: {info:?}");
    assert!(exists(&alive), "a live server's container stays");
    docker_cli(&["rm", "-f", &alive]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_fixture_projects_tests_pass_inside_a_container() {
    let Some(sandbox) = sandbox() else { return };
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/verify/python");
    let project = project.canonicalize().unwrap();
    let spec = RunSpec {
        argv: vec![
            "python3".into(),
            "-m".into(),
            "pytest".into(),
            "-q".into(),
            "-p".into(),
            "no:cacheprovider".into(),
            "--junitxml=report.xml".into(),
        ],
        workspace: Some(project.clone()),
        // As verification does: the project where it is on the host.
        mount_at: Some(project.clone()),
        collect: vec!["report.xml".into()],
        ..RunSpec::default()
    };
    let out = sandbox.run(spec).await;
    sandbox.shutdown().await;
    assert_eq!(out.status, Status::Ok, "{out:?}");
    assert!(out.stdout.contains(" passed"), "{out:?}");
    let report = String::from_utf8_lossy(&out.collected[0].1).into_owned();
    assert!(report.contains("<testsuite"), "{report}");
    assert!(!project.join("report.xml").exists());
}

#[tokio::test]
async fn ten_runs_at_once_get_separate_outcomes() {
    let Some(sandbox) = sandbox() else { return };
    let sandbox = std::sync::Arc::new(sandbox);
    let runs = (0..10).map(|i| {
        let sandbox = sandbox.clone();
        tokio::spawn(async move {
            let spec = RunSpec {
                files: vec![("n.txt".into(), format!("{i}").into_bytes())],
                ..sh(&format!("sleep 0.2; cat n.txt; echo; exit {}", i % 3))
            };
            (i, sandbox.run(spec).await)
        })
    });
    for run in runs {
        let (i, out) = run.await.unwrap();
        assert_eq!(out.stdout, format!("{i}\n"), "{out:?}");
        assert_eq!(out.exit_code, Some(i % 3));
    }
    sandbox.shutdown().await;
}
