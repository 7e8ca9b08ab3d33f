//! Docker sandbox start cost, against its peers in the same run: `true` by a cold
//! `docker run --rm` (the CLI), by a cold container through bollard (create, start,
//! wait, remove), by a sandbox run in a new container (pool of 0), and by a sandbox run
//! that execs into a warm pooled container (the pool refilled between runs, untimed).
//! When dockerd has gVisor's `runsc` among its runtimes, the CLI and both sandbox runs
//! again under it, with its cost as ratios to runc's.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use bollard::{
    models::{ContainerCreateBody, HostConfig},
    query_parameters::{
        CreateContainerOptions, RemoveContainerOptionsBuilder, StartContainerOptions,
        WaitContainerOptions,
    },
    Docker,
};
use codecontext_sandbox::{DockerConfig, DockerSandbox, RunSpec, Sandbox, Status, WORK_DIR};
use futures_util::StreamExt;

use crate::stats::percentile;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(name: &str, samples: &mut [Duration]) -> f64 {
    let p50 = ms(percentile(samples, 50.0));
    println!(
        "{name:<30} p50 {p50:>8.1} ms   p90 {:>8.1} ms   ({} runs)",
        ms(percentile(samples, 90.0)),
        samples.len()
    );
    p50
}

/// `image` from `--image`, else `CODECONTEXT_TEST_DOCKER_IMAGE` (`.ci/docker`).
pub fn run(runs: usize, image: Option<String>) -> Result<()> {
    let image = image
        .or_else(|| std::env::var("CODECONTEXT_TEST_DOCKER_IMAGE").ok())
        .context("no image: pass --image or run `source .ci/docker`")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(measure(runs, &image))
}

async fn measure(runs: usize, image: &str) -> Result<()> {
    let docker = Docker::connect_with_local_defaults()?
        .negotiate_version()
        .await?;
    println!(
        "docker      image {image}, API {}, `true` {runs} runs each after one warm-up",
        docker.client_version()
    );

    let cli = report("docker run --rm (CLI)", &mut cli_runs(image, None, runs)?);

    let mut cold = Vec::new();
    for i in 0..=runs {
        let t = Instant::now();
        cold_container(&docker, image).await?;
        if i > 0 {
            cold.push(t.elapsed());
        }
    }
    let cold = report("bollard create+start+wait+rm", &mut cold);

    let fresh = report(
        "sandbox, new container",
        &mut sandbox_runs(image, None, 0, runs).await?,
    );
    let warm = report(
        "sandbox, warm pooled exec",
        &mut sandbox_runs(image, None, 1, runs).await?,
    );
    println!(
        "ratios      docker run / warm {:.1}x, bollard cold / warm {:.1}x, \
         sandbox new container / warm {:.1}x (target: warm <= 100 ms)",
        cli / warm,
        cold / warm,
        fresh / warm
    );

    let runtimes = docker.info().await?.runtimes.unwrap_or_default();
    if !runtimes.contains_key("runsc") {
        println!("gvisor      dockerd has no runsc runtime: not measured");
        return Ok(());
    }
    let runsc = Some("runsc");
    let cli_gvisor = report(
        "docker run --rm --runtime runsc",
        &mut cli_runs(image, runsc, runs)?,
    );
    let fresh_gvisor = report(
        "sandbox (runsc), new container",
        &mut sandbox_runs(image, runsc, 0, runs).await?,
    );
    let warm_gvisor = report(
        "sandbox (runsc), warm exec",
        &mut sandbox_runs(image, runsc, 1, runs).await?,
    );
    println!(
        "gvisor      runsc / runc: docker run {:.1}x, sandbox new container {:.1}x, \
         sandbox warm exec {:.1}x",
        cli_gvisor / cli,
        fresh_gvisor / fresh,
        warm_gvisor / warm
    );
    Ok(())
}

/// `docker run --rm` of `true` through the CLI, under `runtime` if given.
fn cli_runs(image: &str, runtime: Option<&str>, runs: usize) -> Result<Vec<Duration>> {
    let mut samples = Vec::new();
    for i in 0..=runs {
        let t = Instant::now();
        let mut command = Command::new("docker");
        command.args(["run", "--rm", "--network", "none"]);
        if let Some(runtime) = runtime {
            command.args(["--runtime", runtime]);
        }
        let status = command
            .args([image, "true"])
            .status()
            .context("the docker CLI")?;
        anyhow::ensure!(status.success(), "docker run failed");
        if i > 0 {
            samples.push(t.elapsed());
        }
    }
    Ok(samples)
}

/// One container running `true`, from creation to removal.
async fn cold_container(docker: &Docker, image: &str) -> Result<()> {
    let body = ContainerCreateBody {
        image: Some(image.into()),
        cmd: Some(vec!["true".into()]),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let id = docker
        .create_container(None::<CreateContainerOptions>, body)
        .await?
        .id;
    docker
        .start_container(&id, None::<StartContainerOptions>)
        .await?;
    let waited = docker
        .wait_container(&id, None::<WaitContainerOptions>)
        .next()
        .await;
    docker
        .remove_container(
            &id,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await?;
    match waited {
        Some(Ok(w)) if w.status_code == 0 => Ok(()),
        other => anyhow::bail!("container ended with {other:?}"),
    }
}

/// Sandbox runs of `true` with a pool of `pool_size`, each timed once the pool is full,
/// under `runtime` if given.
async fn sandbox_runs(
    image: &str,
    runtime: Option<&str>,
    pool_size: usize,
    runs: usize,
) -> Result<Vec<Duration>> {
    let mut config = DockerConfig::new(image);
    config.pool_size = pool_size;
    config.runtime = runtime.map(String::from);
    let sandbox = DockerSandbox::new(config)?;
    sandbox.ready().await?;
    let mut samples = Vec::new();
    for i in 0..=runs {
        if pool_size > 0 {
            anyhow::ensure!(
                sandbox.wait_warm(WORK_DIR, Duration::from_secs(30)).await,
                "the pool did not fill"
            );
        }
        // Let the previous run's container go first (removal is in the background).
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = Instant::now();
        let out = sandbox
            .run(RunSpec {
                argv: vec!["true".into()],
                ..RunSpec::default()
            })
            .await;
        let took = t.elapsed();
        anyhow::ensure!(out.status == Status::Ok, "sandbox run failed: {out:?}");
        if i > 0 {
            samples.push(took);
        }
    }
    sandbox.shutdown().await;
    Ok(samples)
}
