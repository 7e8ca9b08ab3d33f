//! Inputs that must never break indexing: syntax errors, empty files, unicode names,
//! CRLF line ends, very long lines, deep nesting, binary and non-UTF-8 files, files over
//! the size limit.

fn main() {}
