//! What a workspace operation answers instead of a result. Each adapter maps it to its
//! own terms: the LSP server to JSON-RPC error codes, the MCP server to a tool error, the
//! CLI to an exit status.

use std::time::Duration;

/// Why an operation gave no answer. The message is written for the user and names the
/// operation (`codecontext.verify: ...`).
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The request itself is wrong: a missing or contradictory argument, a path outside
    /// every folder, an unknown language.
    #[error("{0}")]
    Invalid(String),
    /// The request was right, and something on our side failed: a store, a sandbox.
    #[error("{0}")]
    Internal(String),
    /// Too many executions for the project right now; try again after `retry_after`.
    #[error("too many executions for this project: {message}")]
    RateLimited {
        message: String,
        retry_after: Duration,
    },
}

impl WorkspaceError {
    pub(crate) fn invalid(message: impl Into<String>) -> WorkspaceError {
        WorkspaceError::Invalid(message.into())
    }

    pub(crate) fn internal(message: impl Into<String>) -> WorkspaceError {
        WorkspaceError::Internal(message.into())
    }
}

pub type Result<T, E = WorkspaceError> = std::result::Result<T, E>;
