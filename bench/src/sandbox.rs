//! Sandbox start overhead and snapshot cost, against peers in the same run.
//!
//! - Start: running `true` with a plain spawn, in `bwrap` (Debian's bubblewrap, all
//!   namespaces, a read-only /usr, /proc, /dev and /tmp), and in our local sandbox
//!   (namespaces, cgroups, overlay, read-only system, /proc, /dev, /tmp).
//! - Snapshot: the same run with a workspace of 10 files and of 100,000 files below
//!   the overlay (the cost must not depend on the size).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use codecontext_sandbox::{LocalSandbox, RunSpec, Sandbox, Status};

use crate::stats::percentile;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(name: &str, samples: &mut [Duration]) -> f64 {
    let p50 = ms(percentile(samples, 50.0));
    println!(
        "{name:<28} p50 {p50:>8.2} ms   p90 {:>8.2} ms   ({} runs)",
        ms(percentile(samples, 90.0)),
        samples.len()
    );
    p50
}

fn time(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<Vec<Duration>> {
    f()?; // warm-up
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f()?;
            Ok(t.elapsed())
        })
        .collect()
}

fn tree(dir: &Path, files: usize) -> Result<()> {
    for i in 0..files {
        let sub = dir.join(format!("d{}", i / 1000));
        if i % 1000 == 0 {
            std::fs::create_dir_all(&sub)?;
        }
        std::fs::write(sub.join(format!("f{i}.txt")), b"x")?;
    }
    Ok(())
}

pub fn run(runs: usize) -> Result<()> {
    let helper = LocalSandbox::default_helper().context("no helper")?;
    println!("helper      {}", helper.display());
    if std::env::current_exe().is_ok_and(|exe| exe == helper) {
        // The bench binary is large; the server finds the small helper beside it.
        eprintln!(
            "warning: no {} beside this binary, so the bench starts itself as the helper, \
             which is slower than what the server runs; build it first: \
             cargo build --release -p codecontext-sandbox",
            codecontext_sandbox::HELPER_BINARY
        );
    }
    let sandbox = LocalSandbox::new(helper, 1)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let ours = |workspace: Option<PathBuf>| -> Result<()> {
        let spec = RunSpec {
            argv: vec!["true".into()],
            workspace,
            ..RunSpec::default()
        };
        let out = rt.block_on(sandbox.run(spec));
        anyhow::ensure!(out.status == Status::Ok, "sandbox run failed: {out:?}");
        Ok(())
    };

    println!("start       `true`, {runs} runs each after one warm-up");
    let mut plain = time(runs, || {
        anyhow::ensure!(Command::new("/usr/bin/true").status()?.success());
        Ok(())
    })?;
    let plain = report("plain spawn", &mut plain);
    let bwrap_args = [
        "--unshare-all",
        "--die-with-parent",
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/bin",
        "/bin",
        "--symlink",
        "usr/lib",
        "/lib",
        "--symlink",
        "usr/lib64",
        "/lib64",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        "/usr/bin/true",
    ];
    let bwrap = match time(runs, || {
        anyhow::ensure!(Command::new("bwrap").args(bwrap_args).status()?.success());
        Ok(())
    }) {
        Ok(mut samples) => Some(report("bwrap", &mut samples)),
        Err(e) => {
            println!("bwrap                        unavailable ({e}); apt-get install bubblewrap");
            None
        }
    };
    let mut local = time(runs, || ours(None))?;
    let local = report("local sandbox", &mut local);
    println!(
        "overhead    local sandbox {:.2} ms over a plain spawn{}",
        local - plain,
        bwrap.map_or(String::new(), |b| format!(
            "; bwrap {:.2} ms; ratio of overheads {:.2}x",
            b - plain,
            (local - plain) / (b - plain)
        ))
    );

    let work = tempfile::tempdir()?;
    let (small, big) = (work.path().join("small"), work.path().join("big"));
    tree(&small, 10).context("small tree")?;
    let made = Instant::now();
    tree(&big, 100_000).context("big tree")?;
    println!(
        "snapshot    workspace of 10 and of 100,000 files (made in {:.0} ms)",
        ms(made.elapsed())
    );
    let mut s = time(runs, || ours(Some(small.clone())))?;
    let s = report("sandbox over 10 files", &mut s);
    let mut b = time(runs, || ours(Some(big.clone())))?;
    let b = report("sandbox over 100,000 files", &mut b);
    println!("snapshot    100,000 files cost {:.2}x of 10", b / s);
    Ok(())
}
