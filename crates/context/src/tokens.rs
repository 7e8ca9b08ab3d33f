//! Token counts with o200k, the tokenizer of the GPT-4o family: a budget is a promise
//! to a model, so it is counted with a real tokenizer, never estimated from bytes.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

fn encoder() -> &'static CoreBPE {
    static ENCODER: OnceLock<CoreBPE> = OnceLock::new();
    ENCODER.get_or_init(|| {
        // The ranks are embedded in the crate: building them cannot fail at run time
        // unless the crate itself is broken.
        tiktoken_rs::o200k_base().expect("o200k ranks embedded in tiktoken-rs")
    })
}

/// How many o200k tokens `text` is, special tokens read as plain text.
pub fn count_tokens(text: &str) -> usize {
    if text.is_empty() {
        return 0;
    }
    encoder().encode_ordinary(text).len()
}

#[cfg(test)]
mod tests {
    use super::count_tokens;

    #[test]
    fn counts_like_o200k() {
        assert_eq!(count_tokens(""), 0);
        assert_eq!(count_tokens("hello world"), 2);
        // Longer text costs more, and a special token's spelling is plain text.
        assert!(count_tokens("fn add(a: u32, b: u32) -> u32 { a + b }") > 8);
        assert!(count_tokens("<|endoftext|>") > 1);
    }
}
