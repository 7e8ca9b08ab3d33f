//! The `codecontext` binary. Subcommands index a workspace and answer navigation
//! queries from the command line; results go to stdout (human text, or JSON with
//! `--json`), progress and logs to stderr. `codecontext serve` is the language server:
//! stdout then carries only the protocol.

use std::{path::PathBuf, process::ExitCode};

use codecontext_server::cli;

use clap::Parser;

fn main() -> ExitCode {
    // The sandbox helper runs before anything else: it must stay single-threaded.
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(codecontext_sandbox::HELPER_ARG) {
        std::process::exit(codecontext_sandbox::helper_main(&argv[2..]));
    }
    let args = cli::Cli::parse();
    // The server owns stdout for the protocol; it must not be locked here.
    match &args.command {
        cli::Command::Serve(serve) => {
            return codecontext_server::daemon::serve_lsp(serve.no_daemon)
        }
        cli::Command::Mcp(mcp) => {
            let path = mcp.path.clone().unwrap_or_else(|| PathBuf::from("."));
            return match mcp.http {
                Some(addr) => codecontext_server::mcp::run(
                    &path,
                    !mcp.no_store,
                    codecontext_server::mcp::Transport::Http(addr),
                ),
                None => codecontext_server::daemon::serve_mcp(&path, !mcp.no_store, mcp.no_daemon),
            };
        }
        cli::Command::Daemon(cli::DaemonArgs {
            command: cli::DaemonCommand::Run { path },
        }) => {
            let idle = codecontext_config::daemon_idle();
            return codecontext_server::daemon::run(path, idle);
        }
        _ => {}
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli::run(args, &mut out) {
        Ok(code) => code,
        Err(err) => {
            let _ = std::io::Write::write_fmt(
                &mut std::io::stderr(),
                format_args!("codecontext: error: {err:#}\n"),
            );
            ExitCode::from(2)
        }
    }
}
