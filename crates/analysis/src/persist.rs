//! What a store keeps of a file, and how it comes back.
//!
//! A file's record is its extraction (line index and summary), encoded with postcard, plus
//! what the file was on disk ([`DiskStamp`]). Loading a record gives the same
//! [`FileInput`] a parse would have given, so a warm start only skips parsing: the graph
//! and every resolution are rebuilt from the records exactly as from parses. Records are
//! only valid for the extractor that wrote them ([`fingerprint`]).

use std::time::UNIX_EPOCH;

use codecontext_graph::FileInput;
use codecontext_syntax::FileSummary;
use codecontext_text::LineIndex;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::host::LoadedBatch;

/// Bumped whenever the encoding below changes shape (2: entities have a `shape`; 3:
/// chunks have their `tokens`).
const FORMAT: u32 = 3;

/// What a file was on disk when it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskStamp {
    pub size: u64,
    /// Modification time, nanoseconds since the epoch (0 if unknown).
    pub mtime_ns: i64,
    /// xxh3 of the content.
    pub hash: u64,
}

impl DiskStamp {
    pub(crate) fn new(meta: &std::fs::Metadata, bytes: &[u8]) -> DiskStamp {
        DiskStamp {
            size: bytes.len() as u64,
            mtime_ns: mtime_ns(meta),
            hash: content_hash(bytes),
        }
    }
}

/// The content hash of [`DiskStamp::hash`].
pub fn content_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// A file's modification time in nanoseconds since the epoch (0 if unknown).
pub fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Identifies the extractor: records written by another one (other queries, another
/// release, another encoding) must not be read.
pub fn fingerprint() -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&FORMAT.to_le_bytes());
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    for lang in codecontext_lang::languages() {
        h.update(lang.name().as_bytes());
        h.update(lang.query_source().as_bytes());
    }
    format!("{FORMAT}-{:016x}", h.digest())
}

#[derive(Serialize)]
struct RecordRef<'a> {
    lang: &'a str,
    line_index: &'a LineIndex,
    summary: &'a FileSummary,
}

#[derive(Deserialize)]
struct Record {
    lang: String,
    line_index: LineIndex,
    summary: FileSummary,
}

/// The record of an extracted file; `None` for a skipped one (those are checked again
/// at each start, which costs a `stat` or a read, never a parse).
pub fn encode(input: &FileInput) -> Option<Vec<u8>> {
    let summary = input.summary.as_ref().ok()?;
    postcard::to_stdvec(&RecordRef {
        lang: codecontext_lang::language(input.lang).name(),
        line_index: &input.line_index,
        summary,
    })
    .ok()
}

/// A stored record back as the input a parse would give; `None` if it cannot be read
/// (then the file is parsed).
pub fn decode(root: u32, rel: &str, data: &[u8]) -> Option<FileInput> {
    let record: Record = postcard::from_bytes(data).ok()?;
    let lang = codecontext_lang::language_by_name(&record.lang)?;
    Some(FileInput {
        root,
        rel: rel.to_string(),
        lang: lang.id,
        line_index: record.line_index,
        summary: Ok(record.summary),
    })
}

impl LoadedBatch {
    /// Decodes stored records on all cores. Returns the batch and the relative paths
    /// whose records could not be read (to be parsed instead).
    pub fn from_records(root: u32, records: &[(String, Vec<u8>)]) -> (LoadedBatch, Vec<String>) {
        let decoded: Vec<(Option<FileInput>, &str)> = records
            .par_iter()
            .map(|(rel, data)| (decode(root, rel, data), rel.as_str()))
            .collect();
        let mut batch = LoadedBatch {
            inputs: Vec::with_capacity(decoded.len()),
            stamps: Vec::new(),
            bytes: 0,
        };
        let mut failed = Vec::new();
        for (input, rel) in decoded {
            match input {
                Some(i) => {
                    batch.inputs.push(i);
                    batch.stamps.push(None);
                }
                None => failed.push(rel.to_string()),
            }
        }
        (batch, failed)
    }

    /// Drops the files read whose content `unchanged` says is already in the graph
    /// (given the relative path and the content hash just read).
    pub fn drop_unchanged(&mut self, unchanged: impl Fn(&str, u64) -> bool) {
        let keep: Vec<bool> = self
            .inputs
            .iter()
            .zip(&self.stamps)
            .map(|(input, stamp)| !stamp.is_some_and(|s| unchanged(&input.rel, s.hash)))
            .collect();
        let mut flags = keep.iter().copied();
        self.inputs.retain(|_| flags.next().unwrap_or(true));
        let mut flags = keep.iter().copied();
        self.stamps.retain(|_| flags.next().unwrap_or(true));
    }

    /// Records for the freshly read files of this batch that were extracted: relative
    /// path, disk stamp and encoded extraction.
    pub fn records(&self) -> Vec<(String, DiskStamp, Vec<u8>)> {
        self.inputs
            .par_iter()
            .zip(self.stamps.par_iter())
            .filter_map(|(input, stamp)| Some((input.rel.clone(), (*stamp)?, encode(input)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{host::load_batch, workspace::walk};
    use codecontext_syntax::Limits;

    #[test]
    fn records_decode_to_what_a_parse_gives() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/python");
        let found = walk(&root);
        let batch = load_batch(0, &found.files, &Limits::default(), &|_| {});
        let records: Vec<(String, Vec<u8>)> = batch
            .records()
            .into_iter()
            .map(|(rel, _, data)| (rel, data))
            .collect();
        assert_eq!(records.len(), found.files.len());
        let (decoded, failed) = LoadedBatch::from_records(0, &records);
        assert!(failed.is_empty());
        for (a, b) in batch.inputs.iter().zip(&decoded.inputs) {
            assert_eq!(a.rel, b.rel);
            assert_eq!(a.lang, b.lang);
            assert_eq!(a.line_index, b.line_index);
            assert_eq!(a.summary, b.summary);
        }
        assert!(decode(0, "x.py", b"garbage").is_none());
    }
}
