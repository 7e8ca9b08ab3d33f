//! A container's cgroup counters after a run: whether the OOM killer struck, the peak
//! memory, whether the process limit was reached, and the CPU time. Read on this host
//! when the daemon is local, else by `head` in a second exec, else from the stats API
//! and the container's `OOMKilled` state.

use std::{path::Path, time::Duration};

use bollard::{
    exec::StartExecResults,
    models::ExecConfig,
    query_parameters::{InspectContainerOptions, StatsOptionsBuilder},
    Docker,
};
use futures_util::StreamExt;

/// Counters of a container's cgroups.
#[derive(Clone, Default, Debug)]
pub(super) struct Counters {
    pub(super) peak_memory: u64,
    pub(super) oom_kills: u64,
    pub(super) pids_max_hits: u64,
    pub(super) cpu_ms: u64,
}

impl Counters {
    /// The larger of each counter: what was read after the run, and what was seen
    /// while it ran (the cgroup of a container that died is gone afterwards).
    pub(super) fn max(self, seen: &Counters) -> Counters {
        Counters {
            peak_memory: self.peak_memory.max(seen.peak_memory),
            oom_kills: self.oom_kills.max(seen.oom_kills),
            pids_max_hits: self.pids_max_hits.max(seen.pids_max_hits),
            cpu_ms: self.cpu_ms.max(seen.cpu_ms),
        }
    }

    /// Parses what `head` prints of the cgroup files: `==> path <==` before each file,
    /// then its `key value` lines or its single number.
    fn parse(text: &str) -> Counters {
        let mut c = Counters::default();
        let mut file = "";
        for line in text.lines() {
            if let Some(name) = line
                .strip_prefix("==> ")
                .and_then(|l| l.strip_suffix(" <=="))
            {
                file = name.rsplit('/').next().unwrap_or(name);
                continue;
            }
            let mut words = line.split_whitespace();
            let number = |w: &str| w.parse::<u64>().unwrap_or(0);
            match (file, words.next(), words.next()) {
                ("memory.oom_control" | "memory.events", Some("oom_kill"), Some(n)) => {
                    c.oom_kills += number(n)
                }
                ("memory.max_usage_in_bytes" | "memory.peak", Some(n), None) => {
                    c.peak_memory = number(n)
                }
                ("pids.events", Some("max"), Some(n)) => c.pids_max_hits += number(n),
                ("cpuacct.usage", Some(n), None) => c.cpu_ms = number(n) / 1_000_000,
                ("cpu.stat", Some("usage_usec"), Some(n)) => c.cpu_ms = number(n) / 1_000,
                _ => {}
            }
        }
        c
    }
}

/// The container's cgroup counters: on this host if they are there (and `on_host`
/// allows), else by `head` in the container where it can still start a process, else
/// from the stats API (which has no OOM-kill count: then the container's `OOMKilled`
/// state).
pub(super) async fn read(docker: &Docker, id: &str, on_host: bool) -> Counters {
    if let Some(c) = on_host.then(|| read_on_host(id)).flatten() {
        return c;
    }
    if let Some(c) = read_by_exec(docker, id).await {
        return c;
    }
    let mut c = Counters::default();
    let stats = docker
        .stats(
            id,
            Some(
                StatsOptionsBuilder::default()
                    .stream(false)
                    .one_shot(true)
                    .build(),
            ),
        )
        .next()
        .await;
    if let Some(Ok(stats)) = stats {
        if let Some(memory) = stats.memory_stats {
            c.peak_memory = memory.max_usage.or(memory.usage).unwrap_or(0);
        }
        if let Some(pids) = stats.pids_stats {
            if let (Some(current), Some(limit)) = (pids.current, pids.limit) {
                c.pids_max_hits = u64::from(current >= limit);
            }
        }
        if let Some(cpu) = stats.cpu_stats.and_then(|c| c.cpu_usage) {
            c.cpu_ms = cpu.total_usage.unwrap_or(0) / 1_000_000;
        }
    }
    if let Ok(inspect) = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
    {
        if inspect.state.and_then(|s| s.oom_killed) == Some(true) {
            c.oom_kills = 1;
        }
    }
    c
}

/// The counters read straight from the container's cgroups when the daemon is on this
/// host and they are where its default drivers put them (cgroupfs or systemd, v1 or
/// v2): no second exec.
pub(super) fn read_on_host(id: &str) -> Option<Counters> {
    let root = Path::new("/sys/fs/cgroup");
    let names = [
        format!("docker/{id}"),
        format!("system.slice/docker-{id}.scope"),
    ];
    let mut files = Vec::new();
    if let Some(name) = names.iter().find(|n| root.join("memory").join(n).is_dir()) {
        files.extend([
            root.join("memory").join(name).join("memory.oom_control"),
            root.join("memory")
                .join(name)
                .join("memory.max_usage_in_bytes"),
            root.join("pids").join(name).join("pids.events"),
            root.join("cpuacct").join(name).join("cpuacct.usage"),
        ]);
    } else if let Some(name) = names
        .iter()
        .find(|n| root.join(n).join("memory.events").is_file())
    {
        files.extend(
            ["memory.events", "memory.peak", "pids.events", "cpu.stat"]
                .map(|f| root.join(name).join(f)),
        );
    } else {
        return None;
    }
    let mut text = String::new();
    for file in files {
        if let Ok(contents) = std::fs::read_to_string(&file) {
            text.push_str(&format!("==> {} <==\n{contents}\n", file.display()));
        }
    }
    let c = Counters::parse(&text);
    (c.peak_memory > 0).then_some(c)
}

/// The counters as `head` in the container prints them.
async fn read_by_exec(docker: &Docker, id: &str) -> Option<Counters> {
    // cgroup v1 files first, then v2's.
    let files = [
        "/sys/fs/cgroup/memory/memory.oom_control",
        "/sys/fs/cgroup/memory/memory.max_usage_in_bytes",
        "/sys/fs/cgroup/pids/pids.events",
        "/sys/fs/cgroup/cpuacct/cpuacct.usage",
        "/sys/fs/cgroup/memory.events",
        "/sys/fs/cgroup/memory.peak",
        "/sys/fs/cgroup/pids.events",
        "/sys/fs/cgroup/cpu.stat",
    ];
    // `head` names each file it prints (`==> path <==`), and skips missing ones.
    let mut cmd = vec!["head".to_string(), "-n".to_string(), "64".to_string()];
    cmd.extend(files.iter().map(|f| f.to_string()));
    let exec = docker
        .create_exec(
            id,
            ExecConfig {
                attach_stdout: Some(true),
                attach_stderr: Some(false),
                cmd: Some(cmd),
                ..ExecConfig::default()
            },
        )
        .await
        .ok()?
        .id;
    let StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&exec, None).await.ok()?
    else {
        return None;
    };
    let mut text = String::new();
    let read = async {
        while let Some(Ok(chunk)) = output.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
    };
    tokio::time::timeout(Duration::from_secs(2), read)
        .await
        .ok()?;
    let c = Counters::parse(&text);
    (c.peak_memory > 0).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_v1_counters_are_read() {
        let text = "==> /sys/fs/cgroup/memory/memory.oom_control <==\noom_kill_disable 0\n\
                    under_oom 0\noom_kill 2\n\n==> /sys/fs/cgroup/memory/memory.max_usage_in_bytes <==\n\
                    134217728\n\n==> /sys/fs/cgroup/pids/pids.events <==\nmax 7\n\n\
                    ==> /sys/fs/cgroup/cpuacct/cpuacct.usage <==\n2500000000\n";
        let c = Counters::parse(text);
        assert_eq!(
            (c.oom_kills, c.peak_memory, c.pids_max_hits, c.cpu_ms),
            (2, 134217728, 7, 2500)
        );
    }

    #[test]
    fn cgroup_v2_counters_are_read() {
        let text = "==> /sys/fs/cgroup/memory.events <==\nlow 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n\n\
                    ==> /sys/fs/cgroup/memory.peak <==\n5000\n\n==> /sys/fs/cgroup/pids.events <==\n\
                    max 0\n\n==> /sys/fs/cgroup/cpu.stat <==\nusage_usec 1500\nuser_usec 1000\n";
        let c = Counters::parse(text);
        assert_eq!(
            (c.oom_kills, c.peak_memory, c.pids_max_hits, c.cpu_ms),
            (1, 5000, 0, 1)
        );
    }
}
