//! What the parsers' tests share: expected locations and build errors, a run's outcome,
//! a reading, and `fixture!`, which compiles in a runner's real output from
//! `tests/data/results/`.

use codecontext_sandbox::{Enforcement, RunOutcome, Status};

use super::{BuildError, Location, Reading, ResultsParser};

/// The text of `tests/data/results/<path>`, compiled in.
macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/results/",
            $path
        ))
    };
}
pub(crate) use fixture;

pub(crate) fn at(file: &str, line: u32, column: Option<u32>) -> Option<Location> {
    Some(Location {
        file: file.into(),
        line,
        column,
    })
}

pub(crate) fn error(message: &str, location: Option<Location>) -> BuildError {
    BuildError {
        message: message.into(),
        location,
    }
}

pub(crate) fn outcome(exit_code: i32, stdout: &str, stderr: &str) -> RunOutcome {
    RunOutcome {
        status: if exit_code == 0 {
            Status::Ok
        } else {
            Status::Error
        },
        exit_code: Some(exit_code),
        signal: None,
        stdout: stdout.into(),
        stderr: stderr.into(),
        stdout_truncated: false,
        stderr_truncated: false,
        wall_ms: 1,
        cpu_ms: 1,
        peak_memory_bytes: 0,
        process_limit_hit: false,
        snapshot: None,
        enforcement: Enforcement::Rlimits,
        message: None,
        collected: Vec::new(),
    }
}

pub(crate) fn reading(parser: ResultsParser) -> Reading {
    Reading {
        parser,
        report: None,
        pytest: false,
        build: false,
    }
}
