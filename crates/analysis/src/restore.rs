//! Warm starts without resolving: a folder's resolutions saved next to its records,
//! and put back when the records are exactly the ones they were computed from.
//!
//! The saved resolutions are only right for the files they were exported with, so the
//! whole set is keyed ([`snapshot_key`]) by the records (path and content hash of every
//! file), the module context, the limits and the extractor; a start whose stored
//! records have another key resolves as usual. When the key matches, every stored file
//! is restored as it was, and only then are the files that changed on disk since
//! applied, as ordinary incremental updates: the graph re-resolves exactly what read a
//! name they changed, which is what it does for an edit.
//!
//! Open documents win over disk throughout: a restored file that is open in the editor
//! keeps the editor's text, and what others resolved against its disk version is
//! re-resolved when the restore finishes.

use std::collections::HashMap;

use codecontext_graph::FileInput;
use codecontext_syntax::{Document, Limits};
use serde::{Deserialize, Serialize};

use crate::{host::LoadedBatch, AnalysisHost};

/// The key of a folder's saved resolutions: equal keys mean the same files with the
/// same contents, extracted and named the same way.
pub fn snapshot_key<'a>(
    root: u32,
    module_context: &str,
    limits: &Limits,
    files: impl Iterator<Item = (&'a str, u64)>,
) -> u64 {
    let mut files: Vec<(&str, u64)> = files.collect();
    files.sort_unstable();
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(crate::persist::fingerprint().as_bytes());
    h.update(&root.to_le_bytes());
    h.update(module_context.as_bytes());
    h.update(format!("{limits:?}").as_bytes());
    for (rel, hash) in files {
        h.update(rel.as_bytes());
        h.update(&[0]);
        h.update(&hash.to_le_bytes());
    }
    h.digest()
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    files: Vec<(String, Vec<u8>)>,
}

/// A folder's exported resolutions, encoded for a store.
pub fn encode_snapshot(files: Vec<(String, Vec<u8>)>) -> Option<Vec<u8>> {
    postcard::to_stdvec(&Snapshot { files }).ok()
}

/// Saved resolutions back by relative path; `None` if unreadable.
pub fn decode_snapshot(data: &[u8]) -> Option<HashMap<String, Vec<u8>>> {
    let s: Snapshot = postcard::from_bytes(data).ok()?;
    Some(s.files.into_iter().collect())
}

impl AnalysisHost {
    /// The module context of the workspace, as text for [`snapshot_key`].
    pub fn module_context_key(&self) -> String {
        format!("{:?}", self.graph.module_context())
    }

    /// How many workspace roots are open (saved resolutions are only used with one).
    pub fn root_count(&self) -> usize {
        self.roots.iter().flatten().count()
    }

    /// The resolutions of every file of root `root`, to save with the records `disk`
    /// (relative path -> content hash). `None` when they would not be right for those
    /// records: another root is open (resolutions may point into it), a file of the
    /// root has no record or another content (a skipped file, an open document with
    /// unsaved changes, a file that changed while indexing), or a record has no file.
    pub fn export_root(
        &self,
        root: u32,
        disk: &HashMap<String, u64>,
    ) -> Option<Vec<(String, Vec<u8>)>> {
        if self.root_count() != 1 || self.graph.has_pending() {
            return None;
        }
        let mut out = Vec::with_capacity(disk.len());
        for (id, f) in self.graph.files().filter(|(_, f)| f.root == root) {
            let hash = *disk.get(&*f.rel)?;
            if f.skipped.is_some() {
                return None;
            }
            if let Some(doc) = self.docs.get(&id) {
                if crate::persist::content_hash(doc.text().as_bytes()) != hash {
                    return None;
                }
            }
            out.push((f.rel.to_string(), self.graph.export_resolutions(id)?));
        }
        (out.len() == disk.len()).then_some(out)
    }

    /// Restores stored files with their saved resolutions (`saved`, by relative path;
    /// each one used is taken out). A file with no saved resolutions, or ones that do
    /// not fit, is queued for resolution instead. Call
    /// [`AnalysisHost::finish_restore`] after the last batch.
    pub fn restore_batch(&mut self, batch: LoadedBatch, saved: &mut HashMap<String, Vec<u8>>) {
        let mut restore = Vec::with_capacity(batch.inputs.len());
        let mut plain = Vec::new();
        let mut hashes = Vec::with_capacity(batch.inputs.len());
        for (input, stamp) in batch.inputs.into_iter().zip(batch.stamps) {
            if !matches!(self.roots.get(input.root as usize), Some(Some(_))) {
                continue;
            }
            let open = self
                .graph
                .file_id(input.root, &input.rel)
                .is_some_and(|id| self.docs.contains_key(&id));
            if open {
                // The editor's text stays; its disk version is settled at the end.
                self.held.push(input);
                continue;
            }
            let hash = crate::host::extracted_hash(&input, stamp);
            hashes.push((input.root, input.rel.clone(), hash));
            match saved.remove(&input.rel) {
                Some(blob) => restore.push((input, blob)),
                None => plain.push(input),
            }
        }
        self.graph.restore_files(restore);
        self.graph.load_files_unresolved(plain);
        for (root, rel, hash) in hashes {
            self.note_extracted(root, &rel, hash);
        }
    }

    /// Ends a restore: references elsewhere that read names the restored files brought
    /// are re-resolved, and so is everything that resolved against the disk version of
    /// a document open in the editor. Returns how many references were re-resolved.
    pub fn finish_restore(&mut self) -> usize {
        let mut total = self.graph.finish_restore();
        for disk in std::mem::take(&mut self.held) {
            let Some(id) = self.graph.file_id(disk.root, &disk.rel) else {
                continue;
            };
            let Some(doc) = self.docs.remove(&id) else {
                continue;
            };
            // The disk version as the saved resolutions saw it, then the editor's text
            // again: two ordinary updates, each re-resolving what read a changed name.
            let (_, stats) = self.graph.upsert_file(disk);
            total += stats.re_resolved;
            let (doc, summary) =
                Document::open(doc.language(), doc.text().to_string(), self.config.limits);
            let f = self.graph.file_data(id).expect("upserted above");
            let input = FileInput {
                root: f.root,
                rel: f.rel.to_string(),
                lang: f.lang,
                line_index: doc.line_index().clone(),
                summary,
            };
            let (_, stats) = self.graph.upsert_file(input);
            total += stats.re_resolved;
            self.extracted.remove(&id);
            self.docs.insert(id, doc);
        }
        total
    }
}
