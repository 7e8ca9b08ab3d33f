//! The local sandbox, for real: what runs inside, what it can see and reach, and how
//! its limits end it. These need Linux user namespaces (CI has them).

use std::path::PathBuf;

use codecontext_sandbox::{
    Enforcement, LocalSandbox, RunOutcome, RunSpec, Sandbox, SnapshotKind, Status,
};

fn sandbox() -> LocalSandbox {
    LocalSandbox::new(
        PathBuf::from(env!("CARGO_BIN_EXE_codecontext-sandbox-helper")),
        4,
    )
    .expect("the local sandbox is available")
}

fn sh(script: &str) -> RunSpec {
    RunSpec {
        argv: vec!["sh".into(), "-c".into(), script.into()],
        ..RunSpec::default()
    }
}

async fn run(spec: RunSpec) -> RunOutcome {
    sandbox().run(spec).await
}

#[tokio::test]
async fn a_command_runs_as_an_unprivileged_user_in_its_own_namespaces() {
    let out = run(sh(
        "id -u; hostname; echo $$; cat /proc/self/status | grep CapEff; echo err >&2; exit 3",
    ))
    .await;
    assert_eq!(out.status, Status::Error, "{out:?}");
    assert_eq!(out.exit_code, Some(3));
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "1000", "{out:?}");
    assert_eq!(lines[1], "codecontext-sandbox");
    assert_eq!(
        lines[2], "2",
        "the command has its own PID namespace, under the sandbox's init (PID 1)"
    );
    assert!(
        lines[3].ends_with("0000000000000000"),
        "no capabilities: {}",
        lines[3]
    );
    assert_eq!(out.stderr, "err\n");
}

#[tokio::test]
async fn stdin_goes_in_and_a_clean_exit_is_ok() {
    let mut spec = sh("tr a-z A-Z");
    spec.stdin = b"hello".to_vec();
    let out = run(spec).await;
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Status::Ok, "HELLO"),
        "{out:?}"
    );
    assert_eq!(
        out.enforcement,
        Enforcement::Cgroups,
        "CI has writable cgroups"
    );
}

#[tokio::test]
async fn the_servers_environment_does_not_reach_inside() {
    // Set for this test process, which is what the server's environment is.
    std::env::set_var("CODECONTEXT_FAKE_SECRET", "hunter2");
    let out = run(sh("env; echo ${CODECONTEXT_FAKE_SECRET:-absent}")).await;
    assert_eq!(out.status, Status::Ok, "{out:?}");
    assert!(out.stdout.ends_with("absent\n"), "{}", out.stdout);
    assert!(!out.stdout.contains("hunter2"));
    assert!(std::env::var("HOME")
        .is_ok_and(|h| !out.stdout.contains(&format!("HOME={h}\n")) || h == "/work"));
}

#[tokio::test]
async fn a_listener_on_the_host_loopback_cannot_be_reached() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let script = format!(
        "import socket\ns = socket.socket()\ns.settimeout(2)\ntry:\n    s.connect(('127.0.0.1', {port}))\n    print('connected')\nexcept OSError as e:\n    print('refused', e.errno)\n"
    );
    let out = run(RunSpec {
        argv: vec!["python3".into(), "-c".into(), script],
        ..RunSpec::default()
    })
    .await;
    assert_eq!(out.status, Status::Ok, "{out:?}");
    assert!(out.stdout.starts_with("refused"), "{out:?}");
    assert!(listener.accept().is_err(), "nothing connected to the host");
}

/// A host folder shown as an overlay: the run reads it and writes to it, and the host's
/// stays as it was.
#[tokio::test]
async fn an_overlaid_folder_is_read_and_written_and_stays_as_it_was() {
    let host = tempfile::tempdir().unwrap();
    let cache = host.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join("entry"), "warm").unwrap();
    let dir = cache.display();
    let out = run(RunSpec {
        overlays: vec![cache.clone()],
        ..sh(&format!(
            "cat {dir}/entry && echo new > {dir}/added && echo changed > {dir}/entry && cat {dir}/entry"
        ))
    })
    .await;
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Status::Ok, "warmchanged\n"),
        "{out:?}"
    );
    assert_eq!(
        std::fs::read_to_string(cache.join("entry")).unwrap(),
        "warm"
    );
    assert!(!cache.join("added").exists());
}

/// The sandbox's own loopback is up (its network namespace starts with it down): a
/// test's server on 127.0.0.1 inside answers the test, as on the host.
#[tokio::test]
async fn a_server_of_its_own_on_the_loopback_answers() {
    let script = "import socket\nserver = socket.socket()\nserver.bind(('127.0.0.1', 0))\n\
                  server.listen(1)\nclient = socket.create_connection(server.getsockname(), timeout=5)\n\
                  conn, _ = server.accept()\nclient.sendall(b'ping')\nprint(conn.recv(4).decode())\n";
    let out = run(RunSpec {
        argv: vec!["python3".into(), "-c".into(), script.into()],
        ..RunSpec::default()
    })
    .await;
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Status::Ok, "ping\n"),
        "{out:?}"
    );
    assert_eq!(out.message, None, "{out:?}");
}

#[tokio::test]
async fn writes_outside_the_snapshot_fail_and_the_workspace_is_untouched() {
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join("keep.txt"), "original\n").unwrap();
    std::fs::write(workspace.path().join("gone.txt"), "here\n").unwrap();
    let outside = tempfile::tempdir().unwrap();
    let script = format!(
        "echo changed > keep.txt && rm gone.txt && echo new > new.txt && cat keep.txt && ls; \
         for f in /usr/evil /etc/evil /evil {0}/evil; do (echo x > $f) 2>/dev/null && echo wrote $f; done; true",
        outside.path().display()
    );
    let out = run(RunSpec {
        workspace: Some(workspace.path().to_path_buf()),
        ..sh(&script)
    })
    .await;
    assert_eq!(out.status, Status::Ok, "{out:?}");
    assert_eq!(out.snapshot, Some(SnapshotKind::Overlay));
    assert_eq!(out.stdout, "changed\nkeep.txt\nnew.txt\n", "{out:?}");
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("keep.txt")).unwrap(),
        "original\n"
    );
    assert!(workspace.path().join("gone.txt").exists());
    assert!(!workspace.path().join("new.txt").exists());
    assert!(!outside.path().join("evil").exists());
    assert!(!std::path::Path::new("/usr/evil").exists());
}

#[tokio::test]
async fn a_secret_in_the_host_home_is_invisible() {
    let home = PathBuf::from(std::env::var("HOME").unwrap());
    let secret = home.join(format!(".codecontext-test-secret-{}", std::process::id()));
    std::fs::write(&secret, "top secret\n").unwrap();
    let out = run(sh(&format!(
        "cat {} 2>&1; ls {} 2>&1 | head -3",
        secret.display(),
        home.display()
    )))
    .await;
    std::fs::remove_file(&secret).unwrap();
    assert!(!out.stdout.contains("top secret"), "{out:?}");
    assert!(out.stdout.contains("No such file"), "{out:?}");
}

#[tokio::test]
async fn a_fork_bomb_is_contained() {
    let mut spec = sh("bomb() { bomb | bomb & }; bomb; sleep 1; echo survived");
    spec.limits.processes = 32;
    spec.limits.timeout_ms = 5_000;
    let out = run(spec).await;
    assert!(out.process_limit_hit, "{out:?}");
    assert!(out.wall_ms < 5_000 + 2_000, "{out:?}");
    // The host still forks.
    assert!(std::process::Command::new("true")
        .status()
        .unwrap()
        .success());
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
    let out = run(spec).await;
    assert_eq!(out.status, Status::MemoryLimit, "{out:?}");
    assert!(out.peak_memory_bytes <= (128 << 20) + (8 << 20), "{out:?}");
}

/// A CPU time limit below the wall time: the kernel stops the process once it has used
/// its seconds, well before the wall clock would, and that is a time-out, not a crash.
#[tokio::test]
async fn a_busy_loop_stops_at_its_cpu_time_limit() {
    let mut spec = sh("while :; do :; done");
    spec.limits.cpu_ms = 1_000;
    spec.limits.timeout_ms = 30_000;
    let out = run(spec).await;
    assert_eq!(out.status, Status::TimedOut, "{out:?}");
    assert!(out.cpu_ms >= 900, "{out:?}");
    assert!(out.wall_ms < 10_000, "{out:?}");
}

/// What the command leaves running in the background ends with it: the run is over when
/// the command is, and it does not wait for its leftovers.
#[tokio::test]
async fn leftovers_end_with_the_command() {
    let mut spec = sh("sleep 60 & echo started");
    spec.limits.timeout_ms = 30_000;
    let out = run(spec).await;
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Status::Ok, "started\n"),
        "{out:?}"
    );
    assert!(out.wall_ms < 10_000, "{out:?}");
}

#[tokio::test]
async fn an_infinite_loop_ends_as_timed_out_near_its_limit() {
    let mut spec = sh("while :; do :; done");
    spec.limits.timeout_ms = 1_000;
    let out = run(spec).await;
    assert_eq!(out.status, Status::TimedOut, "{out:?}");
    assert!((1_000..2_500).contains(&out.wall_ms), "{out:?}");
}

#[tokio::test]
async fn a_hundred_megabytes_of_output_are_cut_to_the_cap() {
    let mut spec = sh("head -c 100000000 /dev/zero | tr '\\0' x");
    spec.limits.output_bytes = 1 << 20;
    let out = run(spec).await;
    assert_eq!(out.status, Status::OutputLimit, "{out:?}");
    assert!(out.stdout_truncated);
    assert_eq!(out.stdout.len(), 1 << 20);
    assert!(
        out.wall_ms < 5_000,
        "ended at the cap, not drained: {} ms",
        out.wall_ms
    );
}

#[tokio::test]
async fn ten_runs_at_once_get_separate_outcomes() {
    let sandbox = std::sync::Arc::new(sandbox());
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
}

#[tokio::test]
async fn files_may_not_climb_out_of_the_snapshot() {
    let marker = format!("codecontext-escape-{}.txt", std::process::id());
    let out = run(RunSpec {
        files: vec![(format!("../../{marker}"), b"x".to_vec())],
        ..sh("true")
    })
    .await;
    assert_eq!(out.status, Status::SandboxError, "{out:?}");
    assert!(out.message.unwrap().contains("not a plain relative path"));
    assert!(!std::env::temp_dir().join(&marker).exists());
}
