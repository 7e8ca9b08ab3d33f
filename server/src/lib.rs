//! The `codecontext` binary's library: the command line ([`cli`]) and the language
//! server ([`lsp`]). This is the only crate that knows protocols; everything it answers
//! comes from `codecontext-analysis`.

pub mod cli;
pub mod lsp;
