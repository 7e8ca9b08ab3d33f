//! The `codecontext` binary's library: the command line ([`cli`]), the language
//! server ([`lsp`]), the MCP server ([`mcp`]), and the daemon that serves every client
//! of a folder from one index ([`daemon`]). This is the only crate that knows protocols; everything it answers
//! comes from `codecontext-analysis`.

pub mod cli;
pub mod daemon;
mod disk;
pub mod lsp;
pub mod mcp;
