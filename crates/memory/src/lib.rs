//! The project's memory beside the knowledge graph: decisions and preferences, where
//! they come from (architecture decision records, commits, someone who said so), the
//! symbols they are anchored to, and whether the code has moved on since.
//!
//! Nothing here writes: [`adr`] reads a record's Markdown, [`anchor`] fingerprints a
//! symbol and says what became of it, [`git`] reads a repository's commits and the
//! files each changed, [`changes`] maps a change of a file onto its definitions, and
//! [`shift`] finds where a performance series changed level, and [`style`] counts how
//! added lines are written. The
//! workspace crate stores memories and the change log, and asks the graph for the
//! symbols' current text.

pub mod adr;
pub mod anchor;
pub mod changes;
pub mod git;
pub mod shift;
pub mod style;
