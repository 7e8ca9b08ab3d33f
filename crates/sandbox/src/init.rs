//! The sandbox helper: the process that builds the sandbox and runs the command in it.
//!
//! [`crate::LocalSandbox`] starts it (the server's own binary with [`crate::HELPER_ARG`])
//! with a spec file. Being a fresh, single-threaded process, it may do what a forked
//! child of the multi-threaded server may not: it joins the run's cgroups, unshares
//! user, mount, PID, network, IPC and UTS namespaces, maps the server's user to an
//! unprivileged user inside, and forks the sandbox's first process. That process builds
//! a new root (read-only system folders, the workspace overlay at `/work`, a private
//! `/tmp`, `/proc` and a few devices), pivots into it, sets rlimits and
//! `no_new_privs`, and forks the command, which it waits for as the namespace's init:
//! it reaps orphans and reports how the command ended. The command is not PID 1, so
//! signals act on it as anywhere else (`SIGXCPU` at the CPU limit stops it; PID 1 would
//! ignore it). The helper waits for the first process and writes what it saw (exit
//! status, CPU time, peak RSS, how the workspace was shown) to a result file. If the
//! helper dies, the first process gets `SIGKILL` and the whole PID namespace with it.

use std::{
    ffi::CString,
    io::{Read, Write},
    os::unix::fs::symlink,
    path::{Path, PathBuf},
};

use nix::{
    mount::{mount, umount2, MntFlags, MsFlags},
    sched::{unshare, CloneFlags},
    sys::{
        resource::{getrusage, setrlimit, Resource, UsageWho},
        statvfs::{statvfs, FsFlags},
        wait::{waitpid, WaitStatus},
    },
    unistd::{chdir, execve, getgid, getuid, pipe, pivot_root, sethostname, ForkResult},
};
use serde::{Deserialize, Serialize};

use crate::{Limits, SnapshotKind};

/// The user and group the command runs as inside.
pub(crate) const INSIDE_ID: u32 = 1000;

/// What the server tells the helper.
#[derive(Serialize, Deserialize)]
pub(crate) struct HelperSpec {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Absolute, inside.
    pub cwd: String,
    pub lower: Option<PathBuf>,
    /// Where the workspace appears inside (absolute).
    pub work: PathBuf,
    pub upper: PathBuf,
    pub overlay_work: PathBuf,
    pub root: PathBuf,
    pub readonly: Vec<PathBuf>,
    #[serde(default)]
    pub writable: Vec<PathBuf>,
    /// Host folders shown at their path as overlays: (lower, upper, work), the upper
    /// and work folders in the run's scratch.
    #[serde(default)]
    pub overlays: Vec<(PathBuf, PathBuf, PathBuf)>,
    pub network: bool,
    pub limits: Limits,
    /// Cgroup folders to join (their `cgroup.procs`).
    pub cgroups: Vec<PathBuf>,
    /// Rlimits stand in for the memory cgroup.
    pub rlimit_memory: bool,
    pub result: PathBuf,
}

/// What the helper tells the server.
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct HelperResult {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub cpu_ms: u64,
    pub max_rss_bytes: u64,
    pub snapshot: Option<SnapshotKind>,
    pub notes: Vec<String>,
    /// The sandbox could not be built or the command not started.
    pub error: Option<String>,
}

/// The helper's entry point: `args` are the arguments after [`crate::HELPER_ARG`] (the
/// spec file). Returns the helper's exit code; the outcome is in the result file.
pub fn helper_main(args: &[String]) -> i32 {
    let Some(spec_path) = args.first() else {
        return 2;
    };
    let spec: HelperSpec = match std::fs::read(spec_path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(spec) => spec,
        Err(_) => return 2,
    };
    let result = run(&spec).unwrap_or_else(|error| HelperResult {
        error: Some(error),
        ..HelperResult::default()
    });
    match serde_json::to_vec(&result) {
        Ok(bytes) if std::fs::write(&spec.result, &bytes).is_ok() => 0,
        _ => 3,
    }
}

fn run(spec: &HelperSpec) -> Result<HelperResult, String> {
    for cgroup in &spec.cgroups {
        std::fs::write(cgroup.join("cgroup.procs"), std::process::id().to_string())
            .map_err(|e| format!("joining cgroup {}: {e}", cgroup.display()))?;
    }
    let (uid, gid) = (getuid(), getgid());
    // The mount namespace is the child's alone (below): `pivot_root` moves every
    // process of a namespace, and the helper must keep the host's view.
    let mut flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS;
    if !spec.network {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    unshare(flags).map_err(|e| format!("creating namespaces: {e}"))?;
    std::fs::write("/proc/self/setgroups", "deny").map_err(|e| format!("setgroups: {e}"))?;
    std::fs::write("/proc/self/uid_map", format!("{INSIDE_ID} {uid} 1"))
        .map_err(|e| format!("uid_map: {e}"))?;
    std::fs::write("/proc/self/gid_map", format!("{INSIDE_ID} {gid} 1"))
        .map_err(|e| format!("gid_map: {e}"))?;
    let loopback = if spec.network {
        None
    } else {
        loopback_up().err()
    };

    // The child reports how far it got through a close-on-exec pipe: lines of notes,
    // then either nothing (the command started, the pipe closed on exec) or an error.
    let (read_end, write_end) = pipe().map_err(|e| format!("pipe: {e}"))?;
    nix::fcntl::fcntl(
        &write_end,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .map_err(|e| format!("pipe: {e}"))?;
    match fork_child()? {
        ForkResult::Child => {
            drop(read_end);
            let mut report = std::fs::File::from(write_end);
            let error = match child(spec, &mut report) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            let _ = writeln!(report, "error:{error}");
            std::process::exit(127);
        }
        ForkResult::Parent { child } => {
            drop(write_end);
            let mut reported = String::new();
            let _ = std::fs::File::from(read_end).read_to_string(&mut reported);
            let status = loop {
                match waitpid(child, None) {
                    Ok(WaitStatus::Exited(_, code)) => break (Some(code), None),
                    Ok(WaitStatus::Signaled(_, signal, _)) => break (None, Some(signal as i32)),
                    Ok(_) => continue,
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => return Err(format!("waiting for the sandbox: {e}")),
                }
            };
            let usage = getrusage(UsageWho::RUSAGE_CHILDREN).map_err(|e| e.to_string())?;
            let cpu = usage.user_time() + usage.system_time();
            let mut result = HelperResult {
                exit_code: status.0,
                signal: status.1,
                cpu_ms: (cpu.tv_sec() as u64) * 1000 + (cpu.tv_usec() as u64) / 1000,
                max_rss_bytes: (usage.max_rss() as u64) * 1024,
                ..HelperResult::default()
            };
            if let Some(e) = loopback {
                result
                    .notes
                    .push(format!("the loopback interface stays down: {e}"));
            }
            for line in reported.lines() {
                if let Some(kind) = line.strip_prefix("snapshot:") {
                    result.snapshot = Some(if kind == "copy" {
                        SnapshotKind::Copy
                    } else {
                        SnapshotKind::Overlay
                    });
                } else if let Some(note) = line.strip_prefix("note:") {
                    result.notes.push(note.to_string());
                } else if let Some(error) = line.strip_prefix("error:") {
                    result.error = Some(error.to_string());
                } else if let Some(code) = line.strip_prefix("exit:") {
                    result.exit_code = code.parse().ok();
                    result.signal = None;
                } else if let Some(signal) = line.strip_prefix("signal:") {
                    result.exit_code = None;
                    result.signal = signal.parse().ok();
                }
            }
            Ok(result)
        }
    }
}

/// Brings up the loopback interface of the sandbox's new network namespace (it starts
/// down): nothing leaves the namespace, but tests that talk to a server of their own
/// on 127.0.0.1 run as they do on the host.
#[allow(unsafe_code)]
fn loopback_up() -> Result<(), String> {
    use nix::libc;
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    use std::os::fd::AsRawFd;
    let socket = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| format!("socket: {e}"))?;
    // SAFETY: `ifreq` is a plain C struct, valid zeroed.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (to, from) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *to = *from as libc::c_char;
    }
    // SAFETY: both ioctls read and write only the `ifreq` given, which names the
    // interface; the flags are the union's member these requests use.
    unsafe {
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) < 0 {
            return Err(format!("SIOCGIFFLAGS: {}", std::io::Error::last_os_error()));
        }
        request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) < 0 {
            return Err(format!("SIOCSIFFLAGS: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

#[allow(unsafe_code)]
fn fork_child() -> Result<ForkResult, String> {
    // SAFETY: the helper is single-threaded (it is started for this alone and has
    // spawned no thread), so the child may do anything after the fork.
    unsafe { nix::unistd::fork() }.map_err(|e| format!("fork: {e}"))
}

/// The sandbox's first process (PID 1 of its namespace): builds the root, starts the
/// command and waits for it as the namespace's init (see [`init`]). Returns only on
/// failure.
fn child(
    spec: &HelperSpec,
    report: &mut std::fs::File,
) -> Result<std::convert::Infallible, String> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(|e| format!("pdeathsig: {e}"))?;
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("creating a mount namespace: {e}"))?;
    let snapshot = build_root(spec, report)?;
    let _ = writeln!(
        report,
        "snapshot:{}",
        match snapshot {
            SnapshotKind::Overlay => "overlay",
            SnapshotKind::Copy => "copy",
        }
    );
    let _ = sethostname("codecontext-sandbox");
    set_limits(spec)?;
    nix::sys::prctl::set_no_new_privs().map_err(|e| format!("no_new_privs: {e}"))?;
    chdir(Path::new(&spec.cwd)).map_err(|e| format!("cwd {}: {e}", spec.cwd))?;
    let program = spec.argv.first().ok_or("no command")?;
    let path = spec
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map_or("/usr/bin:/bin", |(_, v)| v.as_str());
    let resolved = resolve(program, path).ok_or_else(|| format!("{program}: not found"))?;
    let cstr = |s: &str| CString::new(s).map_err(|_| format!("NUL byte in {s:?}"));
    let argv: Vec<CString> = spec
        .argv
        .iter()
        .map(|a| cstr(a))
        .collect::<Result<_, _>>()?;
    let env: Vec<CString> = spec
        .env
        .iter()
        .map(|(k, v)| cstr(&format!("{k}={v}")))
        .collect::<Result<_, _>>()?;
    let resolved = cstr(&resolved)?;
    match fork_child()? {
        ForkResult::Child => {
            let error = execve(&resolved, &argv, &env).unwrap_err();
            Err(format!("{program}: {error}"))
        }
        ForkResult::Parent { child } => init(child, report),
    }
}

/// PID 1 of the sandbox: reaps every process that ends (orphans are re-parented to it),
/// and once the command itself has ended, reports how (`exit:N` or `signal:N`) and
/// exits, which ends whatever the command left running.
fn init(command: nix::unistd::Pid, report: &mut std::fs::File) -> ! {
    let ended = loop {
        match waitpid(None, None) {
            Ok(WaitStatus::Exited(pid, code)) if pid == command => break format!("exit:{code}"),
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == command => {
                break format!("signal:{}", signal as i32)
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => break format!("error:waiting for the command: {e}"),
        }
    };
    let _ = writeln!(report, "{ended}");
    std::process::exit(0);
}

fn resolve(program: &str, path: &str) -> Option<String> {
    if program.contains('/') {
        return Some(program.to_string());
    }
    path.split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
        .map(|p| p.to_string_lossy().into_owned())
}

fn set_limits(spec: &HelperSpec) -> Result<(), String> {
    let limits = &spec.limits;
    let set = |resource: Resource, value: u64| {
        setrlimit(resource, value, value).map_err(|e| format!("rlimit {resource:?}: {e}"))
    };
    // SIGXCPU at the limit; SIGKILL a second later for a command that ignores it.
    let cpu_s = limits.cpu_ms.div_ceil(1000).max(1);
    setrlimit(Resource::RLIMIT_CPU, cpu_s, cpu_s + 1)
        .map_err(|e| format!("rlimit {:?}: {e}", Resource::RLIMIT_CPU))?;
    set(Resource::RLIMIT_NPROC, limits.processes)?;
    set(Resource::RLIMIT_CORE, 0)?;
    // Files written under /work land on the host's disk.
    set(Resource::RLIMIT_FSIZE, limits.memory_bytes.max(256 << 20))?;
    if spec.rlimit_memory {
        set(Resource::RLIMIT_AS, limits.memory_bytes)?;
    }
    Ok(())
}

fn errno<'a>(what: &str, path: &'a Path) -> impl FnOnce(nix::errno::Errno) -> String + 'a {
    let what = what.to_string();
    move |e| format!("{what} {}: {e}", path.display())
}

/// Mount flags for a bind of `src`: `nosuid` and `nodev` (except for `devices`),
/// plus those of `src` a user namespace may not drop.
fn locked_flags(src: &Path, devices: bool) -> MsFlags {
    let mut flags = MsFlags::MS_NOSUID;
    if !devices {
        flags |= MsFlags::MS_NODEV;
    }
    if let Ok(st) = statvfs(src) {
        let f = st.flags();
        if f.contains(FsFlags::ST_NODEV) {
            flags |= MsFlags::MS_NODEV;
        }
        if f.contains(FsFlags::ST_NOEXEC) {
            flags |= MsFlags::MS_NOEXEC;
        }
        if f.contains(FsFlags::ST_NOATIME) {
            flags |= MsFlags::MS_NOATIME;
        }
        if f.contains(FsFlags::ST_NODIRATIME) {
            flags |= MsFlags::MS_NODIRATIME;
        }
        if f.contains(FsFlags::ST_RELATIME) {
            flags |= MsFlags::MS_RELATIME;
        }
    }
    flags
}

fn bind(src: &Path, dst: &Path, writable: bool) -> Result<(), String> {
    bind_with(src, dst, writable, false)
}

fn bind_with(src: &Path, dst: &Path, writable: bool, devices: bool) -> Result<(), String> {
    mount(
        Some(src),
        dst,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(errno("bind", src))?;
    let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | locked_flags(src, devices);
    if !writable {
        flags |= MsFlags::MS_RDONLY;
    }
    mount(None::<&str>, dst, None::<&str>, flags, None::<&str>).map_err(errno("remount", dst))
}

/// Mounts at `at` an overlay of `lower` (read-only to it) with `upper` taking what is
/// written, `work` the overlay's own scratch.
///
/// `volatile` (Linux 5.10): the upper layer is thrown away after the run, so the
/// overlay need not sync it; a build that writes its artifacts there (Cargo: 1.40x its
/// direct time without, 1.22x-1.29x with) does not wait for the disk. Older kernels
/// refuse the option: then without it.
fn overlay_at(at: &Path, lower: &Path, upper: &Path, work: &Path) -> nix::Result<()> {
    let options = format!(
        "lowerdir={},upperdir={},workdir={},userxattr",
        lower.display(),
        upper.display(),
        work.display()
    );
    let overlay = |options: &str| {
        mount(
            Some("overlay"),
            at,
            Some("overlay"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(options),
        )
    };
    overlay(&format!("{options},volatile")).or_else(|_| overlay(&options))
}

/// Makes `inside` (absolute) under `root` as a file or folder like `host`, and binds.
fn bind_at(root: &Path, host: &Path, writable: bool) -> Result<(), String> {
    let target = root.join(host.strip_prefix("/").unwrap_or(host));
    if host.is_dir() {
        std::fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
    } else {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&target, b"").map_err(|e| format!("{}: {e}", target.display()))?;
    }
    bind(host, &target, writable)
}

fn build_root(spec: &HelperSpec, report: &mut std::fs::File) -> Result<SnapshotKind, String> {
    let root = &spec.root;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("making mounts private: {e}"))?;
    mount(
        Some("tmpfs"),
        root,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("size=16m,mode=755"),
    )
    .map_err(errno("tmpfs", root))?;

    // The system, read-only: merged-/usr links stay links.
    for name in ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
        let host = Path::new("/").join(name);
        match std::fs::symlink_metadata(&host) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&host).map_err(|e| e.to_string())?;
                symlink(&to, root.join(name)).map_err(|e| e.to_string())?;
            }
            Ok(m) if m.is_dir() => bind_at(root, &host, false)?,
            _ => {}
        }
    }
    // A minimal /etc: what programs need to start, nothing that identifies the host.
    let etc = root.join("etc");
    std::fs::create_dir_all(&etc).map_err(|e| e.to_string())?;
    let files = [
        (
            "passwd",
            format!("root:x:0:0::/:/bin/sh\nsandbox:x:{INSIDE_ID}:{INSIDE_ID}::{}:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n", spec.work.display()),
        ),
        (
            "group",
            format!("root:x:0:\nsandbox:x:{INSIDE_ID}:\nnogroup:x:65534:\n"),
        ),
        ("hosts", "127.0.0.1 localhost\n::1 localhost\n".to_string()),
        ("hostname", "codecontext-sandbox\n".to_string()),
    ];
    for (name, text) in files {
        std::fs::write(etc.join(name), text).map_err(|e| e.to_string())?;
    }
    for host in [
        "/etc/alternatives",
        "/etc/ld.so.cache",
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d",
        "/etc/localtime",
        "/etc/ssl",
        "/etc/ca-certificates",
        "/etc/mime.types",
    ] {
        let host = Path::new(host);
        if host.exists() {
            bind_at(root, host, false)?;
        }
    }
    // /tmp first: a workspace under /tmp is mounted inside it.
    let tmp = root.join("tmp");
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let size = format!("size={},mode=1777", spec.limits.memory_bytes.max(16 << 20));
    mount(
        Some("tmpfs"),
        &tmp,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(size.as_str()),
    )
    .map_err(errno("tmpfs", &tmp))?;

    // The toolchain's folders, after /tmp: one may live there.
    for host in &spec.readonly {
        if host.exists() {
            bind_at(root, host, false)?;
        }
    }
    for host in &spec.writable {
        if host.is_dir() {
            bind_at(root, host, true)?;
        }
    }
    for (lower, upper, work) in &spec.overlays {
        if !lower.is_dir() {
            continue;
        }
        let at = root.join(lower.strip_prefix("/").unwrap_or(lower));
        std::fs::create_dir_all(&at).map_err(|e| e.to_string())?;
        if let Err(e) = overlay_at(&at, lower, upper, work) {
            // An empty folder the run may fill, rather than none: the run goes on
            // without what the host's holds.
            let _ = writeln!(
                report,
                "note:overlay of {} unavailable ({e}): an empty folder stands in",
                lower.display()
            );
            bind(upper, &at, true)?;
        }
    }

    // The workspace: an overlay over it, else a copy of it.
    let work = root.join(spec.work.strip_prefix("/").unwrap_or(&spec.work));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let snapshot = match &spec.lower {
        Some(lower) => match overlay_at(&work, lower, &spec.upper, &spec.overlay_work) {
            Ok(()) => SnapshotKind::Overlay,
            Err(e) => {
                let _ = writeln!(
                    report,
                    "note:overlay unavailable ({e}): the workspace was copied"
                );
                copy_tree(lower, &spec.upper)?;
                bind(&spec.upper, &work, true)?;
                SnapshotKind::Copy
            }
        },
        None => {
            bind(&spec.upper, &work, true)?;
            SnapshotKind::Overlay
        }
    };

    let dev = root.join("dev");
    std::fs::create_dir_all(&dev).map_err(|e| e.to_string())?;
    for name in ["null", "zero", "full", "random", "urandom"] {
        let host = Path::new("/dev").join(name);
        if host.exists() {
            std::fs::write(dev.join(name), b"").map_err(|e| e.to_string())?;
            bind_with(&host, &dev.join(name), true, true)?;
        }
    }
    for (name, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let _ = symlink(to, dev.join(name));
    }
    let proc = root.join("proc");
    std::fs::create_dir_all(&proc).map_err(|e| e.to_string())?;
    if let Err(e) = mount(
        Some("proc"),
        &proc,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    ) {
        let _ = writeln!(report, "note:no /proc in the sandbox ({e})");
    }

    chdir(root).map_err(errno("chdir", root))?;
    pivot_root(".", ".").map_err(|e| format!("pivot_root: {e}"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| format!("detaching the old root: {e}"))?;
    chdir("/").map_err(|e| format!("chdir /: {e}"))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_BIND
            | MsFlags::MS_REMOUNT
            | MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV,
        None::<&str>,
    )
    .map_err(|e| format!("making / read-only: {e}"))?;
    Ok(snapshot)
}

/// Copies a folder (files, folders, symbolic links) for the no-overlay fallback.
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| e.to_string())?;
        if kind.is_symlink() {
            let target = std::fs::read_link(&src).map_err(|e| e.to_string())?;
            symlink(target, &dst).map_err(|e| e.to_string())?;
        } else if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| format!("{}: {e}", src.display()))?;
        }
    }
    Ok(())
}
