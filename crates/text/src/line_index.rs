//! Conversion between byte offsets and line/column positions.
//!
//! The index stores where each line starts and, only for lines holding non-ASCII text,
//! where each multi-byte character sits, so that UTF-16 (the LSP default) and UTF-32
//! columns can be converted without rescanning the text. Lines end at `\n`; a `\r`
//! before it belongs to the line terminator, so CRLF files behave like LF files.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The unit in which a client counts columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PositionEncoding {
    /// Bytes of UTF-8.
    Utf8,
    /// UTF-16 code units: what LSP uses unless both sides agree otherwise.
    #[default]
    Utf16,
    /// Unicode scalar values.
    Utf32,
}

/// A zero-based line and a zero-based column counted in UTF-8 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

/// A zero-based line and a zero-based column counted in some [`PositionEncoding`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WideLineCol {
    pub line: u32,
    pub col: u32,
}

/// Why a position does not name a place in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PositionError {
    /// The line is past the last line of the text.
    LineOutOfRange { line: u32, lines: u32 },
    /// The column is past the end of the line.
    ColumnOutOfRange { line: u32, col: u32, len: u32 },
    /// The offset is past the end of the text.
    OffsetOutOfRange { offset: u32, len: u32 },
}

impl std::fmt::Display for PositionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PositionError::LineOutOfRange { line, lines } => write!(
                f,
                "line {} is past the end of the file ({lines} lines)",
                line + 1
            ),
            PositionError::ColumnOutOfRange { line, col, len } => write!(
                f,
                "column {} is past the end of line {} ({len} columns)",
                col + 1,
                line + 1
            ),
            PositionError::OffsetOutOfRange { offset, len } => {
                write!(
                    f,
                    "offset {offset} is past the end of the text ({len} bytes)"
                )
            }
        }
    }
}

impl std::error::Error for PositionError {}

/// A multi-byte character inside a line, as byte columns `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct WideChar {
    start: u32,
    end: u32,
}

impl WideChar {
    fn len_utf8(self) -> u32 {
        self.end - self.start
    }

    fn len(self, enc: PositionEncoding) -> u32 {
        match enc {
            PositionEncoding::Utf8 => self.len_utf8(),
            // 4-byte UTF-8 sequences are the ones outside the BMP: a surrogate pair.
            PositionEncoding::Utf16 => {
                if self.len_utf8() == 4 {
                    2
                } else {
                    1
                }
            }
            PositionEncoding::Utf32 => 1,
        }
    }
}

/// A line with more multi-byte characters than this gets running sums of them (see
/// [`WideSum`]), so that converting a column costs a binary search rather than a walk
/// over every character before it: a minified line of a megabyte with a non-ASCII
/// character in every statement would otherwise cost its length per conversion.
const SUMS_FROM: usize = 32;

/// What the multi-byte characters before one of a line's add up to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct WideSum {
    /// UTF-8 bytes beyond the first of each character (what a UTF-32 column lacks).
    extra: u32,
    /// Characters outside the BMP (a UTF-16 column counts them twice).
    astral: u32,
}

/// Line starts and multi-byte characters of one text.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "StoredLineIndex")]
pub struct LineIndex {
    /// Byte offset at which each line starts; always begins with 0.
    line_starts: Vec<u32>,
    /// Multi-byte characters of the lines that have any, by line.
    wide_chars: HashMap<u32, Box<[WideChar]>>,
    /// Length of the whole text in bytes.
    len: u32,
    /// For lines with more than [`SUMS_FROM`] multi-byte characters: per character,
    /// the sums of those before it, and a last entry for all of them. Derived from
    /// `wide_chars`, so not stored.
    #[serde(skip)]
    sums: HashMap<u32, Box<[WideSum]>>,
}

/// [`LineIndex`] as stored (the sums are computed again when it is read).
#[derive(Deserialize)]
struct StoredLineIndex {
    line_starts: Vec<u32>,
    wide_chars: HashMap<u32, Box<[WideChar]>>,
    len: u32,
}

impl From<StoredLineIndex> for LineIndex {
    fn from(stored: StoredLineIndex) -> LineIndex {
        LineIndex::with_sums(stored.line_starts, stored.wide_chars, stored.len)
    }
}

/// Drops the entries of the lines `gone` and moves those after them by `moved` lines.
fn renumber<V>(map: &mut HashMap<u32, V>, gone: std::ops::RangeInclusive<u32>, moved: i64) {
    if moved == 0 {
        map.retain(|line, _| !gone.contains(line));
    } else if !map.is_empty() {
        let last = *gone.end();
        *map = std::mem::take(map)
            .into_iter()
            .filter(|(line, _)| !gone.contains(line))
            .map(|(line, v)| match line > last {
                true => ((i64::from(line) + moved) as u32, v),
                false => (line, v),
            })
            .collect();
    }
}

/// The multi-byte characters of a line, if it has any.
fn wide_chars_of(line: &str) -> Option<Box<[WideChar]>> {
    if line.is_ascii() {
        return None;
    }
    Some(
        line.char_indices()
            .filter(|(_, c)| !c.is_ascii())
            .map(|(i, c)| WideChar {
                start: i as u32,
                end: (i + c.len_utf8()) as u32,
            })
            .collect(),
    )
}

/// The running sums of a line's multi-byte characters, if it has more than
/// [`SUMS_FROM`].
fn sums_of(chars: &[WideChar]) -> Option<Box<[WideSum]>> {
    if chars.len() <= SUMS_FROM {
        return None;
    }
    let mut sum = WideSum::default();
    let mut sums = Vec::with_capacity(chars.len() + 1);
    sums.push(sum);
    for c in chars {
        sum.extra += c.len_utf8() - 1;
        sum.astral += u32::from(c.len_utf8() == 4);
        sums.push(sum);
    }
    Some(sums.into_boxed_slice())
}

impl WideSum {
    /// How many more UTF-8 bytes than `enc` units the characters before this point take.
    fn surplus(self, enc: PositionEncoding) -> u32 {
        match enc {
            PositionEncoding::Utf8 => 0,
            PositionEncoding::Utf16 => self.extra - self.astral,
            PositionEncoding::Utf32 => self.extra,
        }
    }
}

impl LineIndex {
    /// Approximate heap bytes held (for memory diagnostics).
    pub fn heap_size(&self) -> usize {
        self.line_starts.capacity() * 4
            + self.wide_chars.capacity() * (std::mem::size_of::<(u32, Box<[WideChar]>)>() + 1)
            + self
                .wide_chars
                .values()
                .map(|w| w.len() * std::mem::size_of::<WideChar>())
                .sum::<usize>()
            + self.sums.capacity() * (std::mem::size_of::<(u32, Box<[WideSum]>)>() + 1)
            + self
                .sums
                .values()
                .map(|w| w.len() * std::mem::size_of::<WideSum>())
                .sum::<usize>()
    }

    fn with_sums(
        line_starts: Vec<u32>,
        wide_chars: HashMap<u32, Box<[WideChar]>>,
        len: u32,
    ) -> LineIndex {
        let sums = wide_chars
            .iter()
            .filter_map(|(&line, chars)| Some((line, sums_of(chars)?)))
            .collect();
        LineIndex {
            line_starts,
            wide_chars,
            len,
            sums,
        }
    }

    pub fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut line_starts = Vec::with_capacity(bytes.len() / 32 + 1);
        line_starts.push(0);
        line_starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i as u32 + 1));
        let mut wide_chars = HashMap::new();
        if !text.is_ascii() {
            for (line, window) in line_starts.iter().enumerate() {
                let start = *window as usize;
                let end = line_starts
                    .get(line + 1)
                    .map_or(bytes.len(), |&s| s as usize);
                if let Some(chars) = wide_chars_of(&text[start..end]) {
                    wide_chars.insert(line as u32, chars);
                }
            }
        }
        LineIndex::with_sums(line_starts, wide_chars, bytes.len() as u32)
    }

    /// Follows an edit: `text` is the text after the bytes `start..old_end` of the one
    /// this index was built from became `inserted` bytes. Only the lines the edit
    /// touched are scanned again; the starts of those after it move, so that a batch of
    /// edits to a large document does not rescan it once per edit. The result equals
    /// [`LineIndex::new`] of `text`.
    pub fn edit(&mut self, start: u32, old_end: u32, inserted: u32, text: &str) {
        debug_assert!(start <= old_end && old_end <= self.len);
        debug_assert_eq!(
            text.len() as i64,
            self.len as i64 + inserted as i64 - (old_end - start) as i64
        );
        let delta = i64::from(inserted) - i64::from(old_end - start);
        let line_of = |offset: u32| self.line_starts.partition_point(|&s| s <= offset) - 1;
        let (first, last) = (line_of(start), line_of(old_end));
        let region_start = self.line_starts[first] as usize;
        // Up to the newline that ends `last` (kept, and moved), or the end of the text.
        let region_end = match self.line_starts.get(last + 1) {
            Some(&next) => (i64::from(next) + delta) as usize - 1,
            None => text.len(),
        };
        let region = &text.as_bytes()[region_start..region_end];
        let starts: Vec<u32> = memchr::memchr_iter(b'\n', region)
            .map(|i| (region_start + i + 1) as u32)
            .collect();
        for s in &mut self.line_starts[last + 1..] {
            *s = (i64::from(*s) + delta) as u32;
        }
        let lines = starts.len();
        self.line_starts.splice(first + 1..last + 1, starts);
        let moved = lines as i64 - (last - first) as i64;
        let (first, last) = (first as u32, last as u32);
        renumber(&mut self.wide_chars, first..=last, moved);
        renumber(&mut self.sums, first..=last, moved);
        for line in first..=first + lines as u32 {
            let from = self.line_starts[line as usize] as usize;
            let to = self
                .line_starts
                .get(line as usize + 1)
                .map_or(text.len(), |&s| s as usize);
            if let Some(chars) = wide_chars_of(&text[from..to]) {
                if let Some(sums) = sums_of(&chars) {
                    self.sums.insert(line, sums);
                }
                self.wide_chars.insert(line, chars);
            }
        }
        self.len = text.len() as u32;
    }

    /// Length of the text in bytes.
    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of lines; an empty text and a text ending in `\n` both end in an empty line.
    pub fn line_count(&self) -> u32 {
        self.line_starts.len() as u32
    }

    /// Byte offset where `line` starts.
    pub fn line_start(&self, line: u32) -> Option<u32> {
        self.line_starts.get(line as usize).copied()
    }

    /// Byte length of `line`'s content, without its terminator (`\n` or `\r\n`).
    pub fn line_len(&self, line: u32, text: Option<&str>) -> Option<u32> {
        let start = self.line_start(line)?;
        let end = match self.line_starts.get(line as usize + 1) {
            Some(&next) => {
                let mut end = next - 1;
                if let Some(text) = text {
                    if end > start && text.as_bytes().get(end as usize - 1) == Some(&b'\r') {
                        end -= 1;
                    }
                }
                end
            }
            None => self.len,
        };
        Some(end - start)
    }

    /// The line and UTF-8 column of a byte offset.
    pub fn line_col(&self, offset: u32) -> Result<LineCol, PositionError> {
        if offset > self.len {
            return Err(PositionError::OffsetOutOfRange {
                offset,
                len: self.len,
            });
        }
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        Ok(LineCol {
            line: line as u32,
            col: offset - self.line_starts[line],
        })
    }

    /// The byte offset of a line and UTF-8 column, checked against the line's length.
    pub fn offset(&self, pos: LineCol) -> Result<u32, PositionError> {
        let start = self
            .line_start(pos.line)
            .ok_or(PositionError::LineOutOfRange {
                line: pos.line,
                lines: self.line_count(),
            })?;
        let len = self.line_len(pos.line, None).unwrap_or(0);
        if pos.col > len {
            return Err(PositionError::ColumnOutOfRange {
                line: pos.line,
                col: pos.col,
                len,
            });
        }
        Ok(start + pos.col)
    }

    /// Like [`LineIndex::offset`], but a column past the end of a line means the end of
    /// that line and a line past the end means the end of the text, as LSP prescribes.
    pub fn offset_clamped(&self, pos: LineCol) -> u32 {
        match self.line_start(pos.line) {
            None => self.len,
            Some(start) => start + pos.col.min(self.line_len(pos.line, None).unwrap_or(0)),
        }
    }

    /// Converts a UTF-8 column to a column in `enc`.
    pub fn to_wide(&self, enc: PositionEncoding, pos: LineCol) -> WideLineCol {
        let mut col = pos.col;
        if let (Some(chars), Some(sums)) =
            (self.wide_chars.get(&pos.line), self.sums.get(&pos.line))
        {
            // The characters that end at or before the column.
            let before = chars.partition_point(|c| c.end <= pos.col);
            col -= sums[before].surplus(enc);
        } else if let Some(chars) = self.wide_chars.get(&pos.line) {
            for c in chars.iter() {
                if c.end <= pos.col {
                    col = col - c.len_utf8() + c.len(enc);
                } else {
                    break;
                }
            }
        }
        WideLineCol {
            line: pos.line,
            col,
        }
    }

    /// Converts a column in `enc` to a UTF-8 column. A column in the middle of a
    /// character (half a surrogate pair) snaps to the character's end.
    pub fn to_utf8(&self, enc: PositionEncoding, pos: WideLineCol) -> LineCol {
        let mut col = pos.col;
        if let (Some(chars), Some(sums)) =
            (self.wide_chars.get(&pos.line), self.sums.get(&pos.line))
        {
            // Where character `i` starts, in `enc` units.
            let wide_start = |i: usize| chars[i].start - sums[i].surplus(enc);
            // The characters that start before the column: the search the loop below
            // does, by halves.
            let (mut lo, mut hi) = (0, chars.len());
            while lo < hi {
                let mid = (lo + hi) / 2;
                if wide_start(mid) < col {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            col = match lo.checked_sub(1) {
                // Inside the last of them: snap to its end.
                Some(last) if col < wide_start(last) + chars[last].len(enc) => chars[last].end,
                _ => col + sums[lo].surplus(enc),
            };
        } else if let Some(chars) = self.wide_chars.get(&pos.line) {
            for c in chars.iter() {
                // `col` is a UTF-8 column so far for the text before `c`.
                if c.start >= col {
                    break;
                }
                let wide = c.len(enc);
                let utf8 = c.len_utf8();
                if col < c.start + wide {
                    // Inside the character: snap to its end.
                    col = c.end;
                    break;
                }
                col = col + utf8 - wide;
            }
        }
        LineCol {
            line: pos.line,
            col,
        }
    }

    /// The byte offset of a position given in `enc`, clamped like
    /// [`LineIndex::offset_clamped`].
    pub fn offset_of_wide(&self, enc: PositionEncoding, pos: WideLineCol) -> u32 {
        self.offset_clamped(self.to_utf8(enc, pos))
    }

    /// The position in `enc` of a byte offset (clamped to the end of the text).
    pub fn wide_of_offset(&self, enc: PositionEncoding, offset: u32) -> WideLineCol {
        let lc = self
            .line_col(offset.min(self.len))
            .unwrap_or(LineCol { line: 0, col: 0 });
        self.to_wide(enc, lc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ascii_round_trip() {
        let idx = LineIndex::new("ab\ncd\n\nef");
        assert_eq!(idx.line_count(), 4);
        assert_eq!(idx.line_col(4).unwrap(), LineCol { line: 1, col: 1 });
        assert_eq!(idx.offset(LineCol { line: 3, col: 2 }).unwrap(), 9);
        assert!(idx.offset(LineCol { line: 3, col: 3 }).is_err());
        assert!(idx.offset(LineCol { line: 4, col: 0 }).is_err());
        assert_eq!(idx.offset_clamped(LineCol { line: 0, col: 99 }), 2);
        assert_eq!(idx.offset_clamped(LineCol { line: 99, col: 0 }), 9);
    }

    #[test]
    fn utf16_columns_count_surrogate_pairs() {
        // 'é' is 2 bytes / 1 unit; '𝕏' is 4 bytes / 2 units.
        let text = "aé𝕏b\nx";
        let idx = LineIndex::new(text);
        let b = text.find('b').unwrap() as u32;
        let lc = idx.line_col(b).unwrap();
        assert_eq!(lc, LineCol { line: 0, col: 7 });
        let w = idx.to_wide(PositionEncoding::Utf16, lc);
        assert_eq!(w.col, 4);
        assert_eq!(idx.to_wide(PositionEncoding::Utf32, lc).col, 3);
        assert_eq!(idx.to_utf8(PositionEncoding::Utf16, w), lc);
        // Half a surrogate pair snaps forward to the end of the character.
        let mid = idx.to_utf8(PositionEncoding::Utf16, WideLineCol { line: 0, col: 3 });
        assert_eq!(mid.col, 7);
    }

    #[test]
    fn crlf_line_length_excludes_terminator() {
        let text = "ab\r\ncd";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_len(0, Some(text)), Some(2));
        assert_eq!(idx.line_col(4).unwrap(), LineCol { line: 1, col: 0 });
    }

    /// The running sums (lines with many multi-byte characters) answer as the walk does.
    #[test]
    fn long_lines_convert_as_short_ones() {
        // Three long lines (CRLF, LF, none), one of a few characters.
        let line: String = (0..120).map(|i| ["aé", "𝕏", "b", "中c"][i % 4]).collect();
        let text = format!("{line}\r\n{line}\nxé\n{line}");
        let fast = LineIndex::new(&text);
        let mut slow = fast.clone();
        slow.sums.clear();
        assert!(!fast.sums.is_empty());
        for line in 0..fast.line_count() {
            let len = fast.line_len(line, None).unwrap_or(0);
            for col in 0..=len + 2 {
                let lc = LineCol { line, col };
                for enc in [
                    PositionEncoding::Utf8,
                    PositionEncoding::Utf16,
                    PositionEncoding::Utf32,
                ] {
                    let w = slow.to_wide(enc, lc);
                    assert_eq!(fast.to_wide(enc, lc), w, "{lc:?} {enc:?}");
                    let back = WideLineCol { line, col };
                    assert_eq!(
                        fast.to_utf8(enc, back),
                        slow.to_utf8(enc, back),
                        "{back:?} {enc:?}"
                    );
                }
            }
        }
    }

    proptest! {
        /// With running sums or without, every column converts the same way.
        #[test]
        fn sums_agree_with_the_walk(text in "[aé𝕏中\n]{0,400}") {
            let fast = LineIndex::new(&text);
            let mut slow = fast.clone();
            slow.sums.clear();
            for line in 0..fast.line_count() {
                for col in 0..=fast.line_len(line, None).unwrap_or(0) + 1 {
                    for enc in [PositionEncoding::Utf16, PositionEncoding::Utf32] {
                        let lc = LineCol { line, col };
                        prop_assert_eq!(fast.to_wide(enc, lc), slow.to_wide(enc, lc));
                        let w = WideLineCol { line, col };
                        prop_assert_eq!(fast.to_utf8(enc, w), slow.to_utf8(enc, w));
                    }
                }
            }
        }

        /// An index that follows edits is the index of the edited text, whatever the
        /// edits (across lines, at the ends, inserting or removing newlines and
        /// multi-byte characters, on lines long enough for running sums).
        #[test]
        fn an_edited_index_is_the_index_of_the_edited_text(
            text in "[aé𝕏\n]{0,120}",
            edits in proptest::collection::vec(
                (any::<prop::sample::Index>(), any::<prop::sample::Index>(), "[bé𝕏\n]{0,70}"),
                1..6,
            ),
        ) {
            let mut text = text;
            let mut index = LineIndex::new(&text);
            for (a, b, inserted) in edits {
                let bounds: Vec<usize> = text
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain(std::iter::once(text.len()))
                    .collect();
                let (a, b) = (a.get(&bounds), b.get(&bounds));
                let (start, end) = (*a.min(b), *a.max(b));
                text.replace_range(start..end, &inserted);
                index.edit(start as u32, end as u32, inserted.len() as u32, &text);
                prop_assert_eq!(&index, &LineIndex::new(&text));
            }
        }

        #[test]
        fn every_char_boundary_round_trips(text in "[a-zé𝕏\n\r ]{0,60}") {
            let idx = LineIndex::new(&text);
            for (offset, _) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
                let lc = idx.line_col(offset as u32).unwrap();
                prop_assert_eq!(idx.offset(lc).ok().unwrap_or(idx.offset_clamped(lc)), offset as u32);
                for enc in [PositionEncoding::Utf8, PositionEncoding::Utf16, PositionEncoding::Utf32] {
                    let w = idx.to_wide(enc, lc);
                    prop_assert_eq!(idx.to_utf8(enc, w), lc);
                }
            }
        }
    }
}
