//! The `codecontext` binary. Subcommands index a workspace and answer navigation
//! queries from the command line; results go to stdout (human text, or JSON with
//! `--json`), progress and logs to stderr.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
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
