//! The `codecontext` binary's library: the command line ([`cli`]), the language
//! server ([`lsp`]) and the MCP server ([`mcp`]). This is the only crate that knows protocols; everything it answers
//! comes from `codecontext-analysis`.

pub mod cli;
pub mod lsp;
pub mod mcp;
