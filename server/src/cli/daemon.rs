//! `codecontext daemon status` and `stop`: the folder's daemon, asked through its socket.

use std::{io::Write, process::ExitCode};

use anyhow::{Context, Result};

use super::{DaemonArgs, DaemonCommand};
use crate::daemon::{canonical_root, client, Want};

pub(super) fn daemon(args: DaemonArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match args.command {
        DaemonCommand::Run { .. } => unreachable!("main runs the daemon"),
        DaemonCommand::Status { path, json } => {
            let root = canonical_root(&path).with_context(|| path.display().to_string())?;
            let answer = runtime.block_on(client::connect(&root, Want::Status))?;
            match (answer, json) {
                (Some(c), true) => {
                    let mut value = serde_json::to_value(&c.welcome)?;
                    value["running"] = true.into();
                    writeln!(out, "{value}")?;
                }
                (Some(c), false) => {
                    let w = c.welcome;
                    writeln!(
                        out,
                        "daemon of {}: pid {}, {} clients now, {} sessions, index version {}, up {} s",
                        w.root.display(),
                        w.pid,
                        w.clients,
                        w.sessions,
                        w.index_version,
                        w.uptime_ms / 1000
                    )?;
                }
                (None, true) => {
                    writeln!(
                        out,
                        "{}",
                        serde_json::json!({"running": false, "root": root})
                    )?;
                    return Ok(ExitCode::from(1));
                }
                (None, false) => {
                    writeln!(out, "no daemon serves {}", root.display())?;
                    return Ok(ExitCode::from(1));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DaemonCommand::Stop { path } => {
            let root = canonical_root(&path).with_context(|| path.display().to_string())?;
            match runtime.block_on(client::connect(&root, Want::Stop))? {
                Some(c) => {
                    writeln!(
                        out,
                        "stopping the daemon of {} (pid {})",
                        root.display(),
                        c.welcome.pid
                    )?;
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    writeln!(out, "no daemon serves {}", root.display())?;
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
