//! The project's memory beside the knowledge graph: decisions and preferences, where
//! they come from (architecture decision records, commits, someone who said so), the
//! symbols they are anchored to, and whether the code has moved on since.
//!
//! Nothing here reads a database or the disk: [`adr`] reads a record's Markdown,
//! [`anchor`] fingerprints a symbol and says what became of it. The workspace crate
//! stores memories and asks the graph for the symbols' current text.

pub mod adr;
pub mod anchor;
