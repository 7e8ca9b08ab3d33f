//! Word tokens of a text, as the pattern search's prefilter sees them.
//!
//! A word is a maximal run of letters, digits and `_`; everything else separates words.
//! This is lexical on purpose: it is the same for every language, it costs one pass over
//! the bytes, and it never misses a match. A structural pattern's leaves match by exact
//! text, so every word written in a pattern (outside its metavariables) is also a word of
//! any file the pattern matches; a file lacking one of them can be skipped unparsed.
//!
//! Words are kept as 32-bit hashes: a collision only makes a file a candidate that the
//! matcher then rejects, never the other way round. The hash is stable across runs
//! because token sets are persisted with the index's records.

/// The hash of one word.
pub fn token_hash(word: &str) -> u32 {
    // FNV-1a: stable, tiny, and good enough for a filter whose false positives are
    // checked by the matcher.
    let mut h: u32 = 0x811c_9dc5;
    for b in word.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The words of `text` with the byte offset each starts at.
pub fn words(text: &str) -> impl Iterator<Item = (usize, &str)> + '_ {
    let mut rest = text.char_indices().peekable();
    std::iter::from_fn(move || {
        while let Some(&(_, c)) = rest.peek() {
            if is_word_char(c) {
                break;
            }
            rest.next();
        }
        let (start, _) = *rest.peek()?;
        let mut end = start;
        while let Some(&(i, c)) = rest.peek() {
            if !is_word_char(c) {
                break;
            }
            end = i + c.len_utf8();
            rest.next();
        }
        Some((start, &text[start..end]))
    })
}

/// The distinct word hashes of `text`, sorted.
pub fn token_set(text: &str) -> Vec<u32> {
    let mut out: Vec<u32> = if text.is_ascii() {
        // The common case, without decoding characters.
        text.as_bytes()
            .split(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .filter(|w| !w.is_empty())
            // Each piece is ASCII, so valid UTF-8.
            .map(|w| token_hash(std::str::from_utf8(w).unwrap_or_default()))
            .collect()
    } else {
        words(text).map(|(_, w)| token_hash(w)).collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether the sorted set `set` holds `token`.
pub fn has_token(set: &[u32], token: u32) -> bool {
    set.binary_search(&token).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_everything_but_letters_digits_and_underscore() {
        let found: Vec<&str> = words("a.b_c(1, \"x y\") + ünï$X").map(|(_, w)| w).collect();
        assert_eq!(found, ["a", "b_c", "1", "x", "y", "ünï", "X"]);
    }

    #[test]
    fn ascii_and_unicode_paths_agree() {
        let ascii = "fn main() { let x_1 = foo.bar(\"baz\"); }";
        let set = token_set(ascii);
        let by_words: Vec<u32> = {
            let mut v: Vec<u32> = words(ascii).map(|(_, w)| token_hash(w)).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        assert_eq!(set, by_words);
        assert!(has_token(&set, token_hash("x_1")));
        assert!(has_token(&set, token_hash("baz")));
        assert!(!has_token(&set, token_hash("x")));
    }
}
