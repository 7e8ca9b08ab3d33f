//! Text edits: a byte range replaced by new text, applied in order.

use crate::TextRange;

/// Replace `range` of the current text with `insert`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextEdit {
    pub range: TextRange,
    pub insert: String,
}

/// An edit that does not fit the text it is applied to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("edit range {range:?} is past the end of the text ({len} bytes)")]
    OutOfBounds { range: TextRange, len: u32 },
    #[error("edit boundary {offset} is inside a multi-byte character")]
    NotCharBoundary { offset: u32 },
}

/// Checks that `range` is a valid, char-aligned range of `text`.
pub fn check_range(text: &str, range: TextRange) -> Result<(), EditError> {
    if range.end as usize > text.len() || range.start > range.end {
        return Err(EditError::OutOfBounds {
            range,
            len: text.len() as u32,
        });
    }
    for offset in [range.start, range.end] {
        if !text.is_char_boundary(offset as usize) {
            return Err(EditError::NotCharBoundary { offset });
        }
    }
    Ok(())
}

/// Applies `edits` one after another; each edit's range refers to the text as left by
/// the previous one (the LSP `didChange` convention). On error the text is unchanged
/// from the failing edit on.
pub fn apply_edits(text: &mut String, edits: &[TextEdit]) -> Result<(), EditError> {
    for edit in edits {
        check_range(text, edit.range)?;
        text.replace_range(edit.range.as_usize(), &edit.insert);
    }
    Ok(())
}
