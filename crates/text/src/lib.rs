//! Text primitives shared by every layer: byte offsets and ranges, a line index that
//! converts between byte offsets and line/column positions in UTF-8, UTF-16 or UTF-32
//! code units, and text edits expressed as ranges plus replacement text.
//!
//! Offsets are `u32` bytes: files over 4 GiB are rejected long before they get here
//! (the default size limit is 2 MiB).

mod edit;
mod line_index;
mod range;
pub mod tokens;

pub use edit::{apply_edits, check_range, EditError, TextEdit};
pub use line_index::{LineCol, LineIndex, PositionEncoding, PositionError, WideLineCol};
pub use range::TextRange;
