//! One container of the Docker sandbox: how it is made (locked down, labelled with its
//! owner, waiting for execs), how a run's limits are set on it, and how it is removed.

use std::collections::HashMap;

use bollard::{
    models::{
        ContainerCreateBody, ContainerUpdateBody, HostConfig, Mount, MountType, MountVolumeOptions,
        MountVolumeOptionsDriverConfig, ResourcesUlimits,
    },
    query_parameters::{RemoveContainerOptionsBuilder, StartContainerOptions},
    Docker,
};
use tracing::debug;

use super::{docker_error, DockerConfig};
use crate::{Limits, SandboxError};

/// The label every container of the Docker sandbox carries.
pub(super) const LABEL: &str = "codecontext.sandbox";
/// The label naming the process that started a container.
pub(super) const OWNER_LABEL: &str = "codecontext.owner";
/// The label naming the host of that process (a PID means nothing elsewhere).
pub(super) const HOST_LABEL: &str = "codecontext.host";
/// The label naming the work folder a pooled container was made for.
const WORK_LABEL: &str = "codecontext.work";

pub(super) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Creates and starts a container waiting for execs, with [`Limits::default`] but for
/// the CPU time of each process, `cpu_ms` (a ulimit, which every exec inherits and no
/// update can change), and with no network unless `network` (then the host's).
pub(super) async fn create(
    docker: &Docker,
    config: &DockerConfig,
    work_dir: &str,
    limits: &Limits,
    network: bool,
) -> Result<String, SandboxError> {
    let cpu_seconds = limits.cpu_ms.div_ceil(1000).max(1) as i64;
    let (uid, gid) = config.user.split_once(':').unwrap_or((&config.user, "0"));
    let labels = HashMap::from([
        (LABEL.to_string(), "1".to_string()),
        (OWNER_LABEL.to_string(), std::process::id().to_string()),
        (HOST_LABEL.to_string(), hostname()),
        (WORK_LABEL.to_string(), work_dir.to_string()),
    ]);
    // The work folder is a volume on tmpfs, so that uploads (which go through the
    // daemon's view of the container's volumes) land where the run sees them.
    let work = Mount {
        target: Some(work_dir.to_string()),
        typ: Some(MountType::VOLUME),
        volume_options: Some(MountVolumeOptions {
            labels: Some(labels.clone()),
            driver_config: Some(MountVolumeOptionsDriverConfig {
                name: Some("local".into()),
                options: Some(HashMap::from([
                    ("type".to_string(), "tmpfs".to_string()),
                    ("device".to_string(), "tmpfs".to_string()),
                    (
                        "o".to_string(),
                        format!("size={},uid={uid},gid={gid},mode=0755", config.work_bytes),
                    ),
                ])),
            }),
            ..MountVolumeOptions::default()
        }),
        ..Mount::default()
    };
    let host = HostConfig {
        network_mode: Some(if network { "host" } else { "none" }.into()),
        memory: Some(limits.memory_bytes as i64),
        memory_swap: Some(limits.memory_bytes as i64),
        nano_cpus: Some((config.cpus * 1e9) as i64),
        pids_limit: Some(pids_limit(config, limits.processes)),
        ulimits: Some(vec![ResourcesUlimits {
            name: Some("cpu".into()),
            // SIGXCPU at the limit; SIGKILL a second later for a process that
            // ignores it.
            soft: Some(cpu_seconds),
            hard: Some(cpu_seconds + 1),
        }]),
        readonly_rootfs: Some(true),
        runtime: config.runtime.clone(),
        cap_drop: Some(vec!["ALL".into()]),
        security_opt: Some(vec!["no-new-privileges".into()]),
        init: Some(true),
        mounts: Some(vec![work]),
        tmpfs: Some(HashMap::from([(
            "/tmp".to_string(),
            format!("rw,exec,nosuid,nodev,size={},mode=1777", config.tmp_bytes),
        )])),
        ..HostConfig::default()
    };
    let body = ContainerCreateBody {
        image: Some(config.image.clone()),
        // The image's own `sleep` (an integer: busybox's may not take `infinity`);
        // `init` (docker-init) is PID 1 and reaps orphans.
        entrypoint: Some(vec!["sleep".into()]),
        cmd: Some(vec!["2147483647".into()]),
        user: Some(config.user.clone()),
        working_dir: Some(work_dir.to_string()),
        network_disabled: Some(!network),
        labels: Some(labels),
        host_config: Some(host),
        ..ContainerCreateBody::default()
    };
    let id = docker
        .create_container(
            None::<bollard::query_parameters::CreateContainerOptions>,
            body,
        )
        .await
        .map_err(docker_error("create container"))?
        .id;
    if let Err(e) = docker
        .start_container(&id, None::<StartContainerOptions>)
        .await
    {
        remove(docker, &id).await;
        return Err(docker_error("start container")(e));
    }
    Ok(id)
}

/// Gives container `id` the run's memory and process limits where they are not the
/// defaults it was made with (the CPU time limit cannot change: see [`create`]).
pub(super) async fn set_limits(
    docker: &Docker,
    id: &str,
    limits: &Limits,
) -> Result<(), SandboxError> {
    let defaults = Limits::default();
    if (limits.memory_bytes, limits.processes) != (defaults.memory_bytes, defaults.processes) {
        docker
            .update_container(
                id,
                ContainerUpdateBody {
                    memory: Some(limits.memory_bytes as i64),
                    memory_swap: Some(limits.memory_bytes as i64),
                    pids_limit: Some(limits.processes as i64),
                    ..ContainerUpdateBody::default()
                },
            )
            .await
            .map_err(docker_error("set limits"))?;
    }
    Ok(())
}

/// The container's process limit: the run's, with room for gVisor's own threads.
fn pids_limit(config: &DockerConfig, processes: u64) -> i64 {
    let extra = if config.enforces_limits() {
        0
    } else {
        super::GVISOR_THREADS
    };
    (processes + extra) as i64
}

/// Removes a container (killing what runs in it) and its volumes.
pub(super) async fn remove(docker: &Docker, id: &str) {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    if let Err(e) = docker.remove_container(id, Some(options)).await {
        debug!("docker sandbox: remove {id}: {e}");
    }
}
