//! Resolutions that outlive the process.
//!
//! Resolving every reference is most of a cold start. A store can keep each file's
//! resolutions ([`SymbolGraph::export_resolutions`]) next to its extraction, and a warm
//! start can put them back ([`SymbolGraph::restore_files`]) instead of resolving again.
//! Targets are kept as entity ids (stable across processes) and dependencies as the
//! names themselves (interned numbers are not), so a restored file is exactly the file
//! the resolver would have produced in the world it was exported from.
//!
//! That world is the caller's to check: restoring is only sound for a set of files
//! exported together, from a graph holding nothing else, and with the same extractions.
//! What changed since is then applied on top as ordinary incremental updates, which
//! re-resolve what read a changed name.

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::{
    graph::{FileInput, Resolved},
    intern::Name,
    model::{EntityId, FileId, How, Resolution},
    resolve::Dep,
    SymbolGraph,
};

/// Bumped whenever the encoding below changes shape.
const FORMAT: u8 = 1;

/// Files being restored, until [`SymbolGraph::finish_restore`].
#[derive(Clone, Default)]
pub(crate) struct Restore {
    files: FxHashSet<FileId>,
    /// Names the restored files defined or dropped.
    changed: FxHashSet<Name>,
}

/// One file's resolutions, flattened: per reference its `how`, number of targets and
/// dependency set; the targets in one run; sets as indices into `names`.
#[derive(Serialize, Deserialize)]
struct Stored {
    format: u8,
    hows: Vec<u8>,
    counts: Vec<u32>,
    targets: Vec<u64>,
    sets: Vec<u32>,
    /// Per set (id 1 onwards; 0 is the empty set): how many names it has.
    set_lens: Vec<u32>,
    set_names: Vec<u32>,
    names: Vec<String>,
}

impl Restore {
    pub(crate) fn forget(&mut self, id: FileId) {
        self.files.remove(&id);
    }
}

fn how_code(how: How) -> u8 {
    match how {
        How::Exact => 0,
        How::Inferred => 1,
        How::Ambiguous => 2,
        How::Unresolved => 3,
    }
}

fn how_from(code: u8) -> Option<How> {
    Some(match code {
        0 => How::Exact,
        1 => How::Inferred,
        2 => How::Ambiguous,
        3 => How::Unresolved,
        _ => return None,
    })
}

impl Stored {
    /// The resolutions back, with dependency names still as strings; `None` if the
    /// blob does not describe `refs` references.
    fn decode(data: &[u8], refs: usize) -> Option<Stored> {
        let s: Stored = postcard::from_bytes(data).ok()?;
        let set_count = s.set_lens.len() as u32 + 1;
        let well_formed = s.format == FORMAT
            && s.hows.len() == refs
            && s.counts.len() == refs
            && s.sets.len() == refs
            && s.counts.iter().map(|&c| c as usize).sum::<usize>() == s.targets.len()
            && s.sets.iter().all(|&id| id < set_count)
            && s.set_lens.iter().map(|&c| c as usize).sum::<usize>() == s.set_names.len()
            && s.set_names.iter().all(|&n| (n as usize) < s.names.len())
            && s.hows.iter().all(|&h| how_from(h).is_some());
        well_formed.then_some(s)
    }
}

impl SymbolGraph {
    /// Counts every change of a file's contents or resolutions: two equal revisions
    /// mean nothing changed in between.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Is anything loaded but not resolved yet (or being restored)?
    pub fn has_pending(&self) -> bool {
        !self.pending_files.is_empty()
            || !self.pending_changed.is_empty()
            || self.round.is_some()
            || self.restore.is_some()
    }

    /// A file's resolutions and what each read, encoded for a store.
    pub fn export_resolutions(&self, id: FileId) -> Option<Vec<u8>> {
        let f = self.file_data(id)?;
        let mut s = Stored {
            format: FORMAT,
            hows: Vec::with_capacity(f.refs.len()),
            counts: Vec::with_capacity(f.refs.len()),
            targets: Vec::new(),
            sets: Vec::with_capacity(f.refs.len()),
            set_lens: Vec::new(),
            set_names: Vec::new(),
            names: Vec::new(),
        };
        let mut set_ids: FxHashMap<u32, u32> = FxHashMap::default();
        let mut name_ids: FxHashMap<Name, u32> = FxHashMap::default();
        for (res, &set) in f.res.iter().zip(&f.ref_deps) {
            s.hows.push(how_code(res.how()));
            s.counts.push(res.targets().len() as u32);
            s.targets.extend(res.targets().iter().map(|t| t.0));
            let id = if set == 0 {
                0
            } else {
                *set_ids.entry(set).or_insert_with(|| {
                    let names = f.dep_sets.get(set);
                    s.set_lens.push(names.len() as u32);
                    for n in names {
                        let next = name_ids.len() as u32;
                        let i = *name_ids.entry(*n).or_insert_with(|| {
                            s.names.push(self.name(*n).to_string());
                            next
                        });
                        s.set_names.push(i);
                    }
                    s.set_lens.len() as u32
                })
            };
            s.sets.push(id);
        }
        postcard::to_stdvec(&s).ok()
    }

    /// Loads files together with resolutions exported earlier, instead of resolving
    /// them. Call [`SymbolGraph::finish_restore`] once every file of the export is in.
    /// A file whose blob does not fit its extraction is loaded for resolution instead
    /// (see [`SymbolGraph::resolve_pending`]); returns how many those were.
    pub fn restore_files(&mut self, inputs: Vec<(FileInput, Vec<u8>)>) -> usize {
        let mut restore = self.restore.take().unwrap_or_default();
        let mut unfit = Vec::new();
        let mut loaded = Vec::with_capacity(inputs.len());
        for (input, blob) in inputs {
            let id = self.put_file(input, &mut restore.changed);
            loaded.push((id, blob));
        }
        let refs: Vec<usize> = loaded
            .iter()
            .map(|(id, _)| self.file_data(*id).map_or(0, |f| f.refs.len()))
            .collect();
        let decoded: Vec<Option<Stored>> = loaded
            .par_iter()
            .zip(refs.par_iter())
            .map(|((_, blob), &n)| Stored::decode(blob, n))
            .collect();
        for ((id, _), stored) in loaded.into_iter().zip(decoded) {
            match stored {
                Some(stored) => {
                    let resolved = self.resolved_from(stored);
                    self.store_resolutions(id, resolved);
                    restore.files.insert(id);
                }
                None => unfit.push(id),
            }
        }
        self.restore = Some(restore);
        let n = unfit.len();
        self.pending_files.extend(unfit);
        n
    }

    fn resolved_from(&mut self, s: Stored) -> Resolved {
        let names: Vec<Name> = s.names.iter().map(|n| self.interner.intern(n)).collect();
        let mut sets: Vec<Vec<Name>> = vec![Vec::new()];
        let mut at = 0;
        for &len in &s.set_lens {
            let len = len as usize;
            sets.push(
                s.set_names[at..at + len]
                    .iter()
                    .map(|&i| names[i as usize])
                    .collect(),
            );
            at += len;
        }
        let mut targets = s.targets.iter();
        let mut out = Vec::with_capacity(s.hows.len());
        for (i, ((&how, &count), &set)) in s.hows.iter().zip(&s.counts).zip(&s.sets).enumerate() {
            let ids: Vec<EntityId> = targets
                .by_ref()
                .take(count as usize)
                .map(|&t| EntityId(t))
                .collect();
            let how = how_from(how).unwrap_or(How::Unresolved);
            let deps = sets[set as usize].iter().map(|n| Dep::Name(*n)).collect();
            out.push((i as u32, Resolution::new(how, &ids), deps));
        }
        out
    }

    /// Ends a restore: what other files read of the names the restored files brought
    /// is re-resolved (the restored files themselves are already right). Returns how
    /// many references that was.
    pub fn finish_restore(&mut self) -> usize {
        let Some(restore) = self.restore.take() else {
            return 0;
        };
        self.propagate(&restore.changed, &restore.files, None)
    }
}
