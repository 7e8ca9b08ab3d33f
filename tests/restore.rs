//! Warm starts from saved resolutions give the graph a fresh index gives: restoring
//! the files a graph exported, then applying what changed on disk since (edited,
//! deleted and new files, documents open with unsaved text) as incremental updates,
//! must equal (in canonical form) a fresh index of what is there now.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use codecontext_analysis::{load_batch, workspace::walk, AnalysisHost, Limits, LoadedBatch};
use codecontext_tests::copy_fixture;

/// What a server's store holds after a cold start: records and saved resolutions.
struct Saved {
    /// (relative path, content hash, encoded extraction)
    records: Vec<(String, u64, Vec<u8>)>,
    resolutions: HashMap<String, Vec<u8>>,
}

fn canonical_root(dir: &Path) -> PathBuf {
    dir.canonicalize().expect("canonical root")
}

/// A cold index of `root`, and what it saves.
fn cold(root: &Path) -> (AnalysisHost, Saved) {
    let found = walk(root);
    let mut host = AnalysisHost::default();
    let index = host.add_root(root, &found);
    let batch = load_batch(index, &found.files, &Limits::default(), &|_| {});
    let records: Vec<(String, u64, Vec<u8>)> = batch
        .records()
        .into_iter()
        .map(|(rel, stamp, data)| (rel, stamp.hash, data))
        .collect();
    host.insert_batch(batch);
    host.resolve_pending();
    let disk: HashMap<String, u64> = records.iter().map(|(r, h, _)| (r.clone(), *h)).collect();
    let exported = host
        .export_root(index, &disk)
        .expect("a clean folder exports");
    let resolutions = exported.into_iter().collect();
    (
        host,
        Saved {
            records,
            resolutions,
        },
    )
}

/// A warm start: the saved records restored with their resolutions, before anything
/// changed on disk is applied. `before` runs first (an editor opening documents).
fn restored(root: &Path, saved: &Saved, before: impl FnOnce(&mut AnalysisHost)) -> AnalysisHost {
    let found = walk(root);
    let mut host = AnalysisHost::default();
    let index = host.add_root(root, &found);
    before(&mut host);
    let records: Vec<(String, Vec<u8>)> = saved
        .records
        .iter()
        .map(|(rel, _, data)| (rel.clone(), data.clone()))
        .collect();
    let mut resolutions = saved.resolutions.clone();
    // In two batches, as a server restores.
    let (a, b) = records.split_at(records.len() / 2);
    for part in [a, b] {
        let (batch, failed) = LoadedBatch::from_records(index, part);
        assert!(failed.is_empty());
        host.restore_batch(batch, &mut resolutions);
    }
    host.finish_restore();
    host.resolve_pending();
    host
}

fn fresh(root: &Path) -> AnalysisHost {
    let mut host = AnalysisHost::default();
    host.index_root(root, None);
    host
}

#[test]
fn an_unchanged_folder_restores_to_the_graph_it_saved() {
    for fixture in ["python", "rust", "typescript", "go", "java", "javascript"] {
        let dir = copy_fixture(fixture);
        let root = canonical_root(dir.path());
        let (cold, saved) = cold(&root);
        let warm = restored(&root, &saved, |_| {});
        assert_eq!(
            warm.graph().canonical(),
            cold.graph().canonical(),
            "{fixture}"
        );
    }
}

#[test]
fn changes_on_disk_after_a_restore_re_resolve_what_read_them() {
    let dir = copy_fixture("python");
    let root = canonical_root(dir.path());
    let (_, saved) = cold(&root);

    // A definition renamed (its callers must lose it), a file deleted, a file added.
    let util = root.join("shop/util.py");
    let text = std::fs::read_to_string(&util).unwrap();
    std::fs::write(&util, text.replace("def clamp(", "def bound(")).unwrap();
    std::fs::remove_file(root.join("shop/services/pricing.py")).unwrap();
    std::fs::write(
        root.join("shop/extra.py"),
        "from shop.util import bound\n\ndef clamp(v):\n    return bound(v, 0, 1)\n",
    )
    .unwrap();

    let mut warm = restored(&root, &saved, |_| {});
    warm.reload_file(&util).expect("in the workspace");
    warm.remove_file(&root.join("shop/services/pricing.py"))
        .expect("was restored");
    warm.reload_file(&root.join("shop/extra.py"))
        .expect("in the workspace");
    let expected = fresh(&root);
    assert_eq!(warm.graph().canonical(), expected.graph().canonical());
    assert!(
        !saved.resolutions.is_empty() && warm.graph().canonical().contains("bound"),
        "the test must exercise the change"
    );
}

#[test]
fn a_document_open_during_the_restore_keeps_its_text_and_is_resolved_against_it() {
    let dir = copy_fixture("python");
    let root = canonical_root(dir.path());
    let (_, saved) = cold(&root);
    let util = root.join("shop/util.py");
    let edited = std::fs::read_to_string(&util)
        .unwrap()
        .replace("def clamp(", "def bound(");

    let warm = restored(&root, &saved, |host| {
        host.open_document(&util, edited.clone()).expect("opened");
    });
    let mut expected = fresh(&root);
    expected
        .open_document(&util, edited.clone())
        .expect("opened");
    assert_eq!(warm.graph().canonical(), expected.graph().canonical());
    let id = warm.file_id(&util).expect("known");
    assert_eq!(warm.document(id).expect("still open").text(), edited);
}

#[test]
fn resolutions_that_do_not_fit_are_resolved_instead() {
    let dir = copy_fixture("rust");
    let root = canonical_root(dir.path());
    let (cold, mut saved) = cold(&root);
    let mut names: Vec<String> = saved.resolutions.keys().cloned().collect();
    names.sort();
    saved
        .resolutions
        .insert(names[0].clone(), b"garbage".to_vec());
    saved.resolutions.remove(&names[1]);
    let warm = restored(&root, &saved, |_| {});
    assert_eq!(warm.graph().canonical(), cold.graph().canonical());
}

#[test]
fn a_folder_with_unsaved_or_unrecorded_files_does_not_export() {
    let dir = copy_fixture("python");
    let root = canonical_root(dir.path());
    let (mut host, saved) = cold(&root);
    let disk: HashMap<String, u64> = saved
        .records
        .iter()
        .map(|(r, h, _)| (r.clone(), *h))
        .collect();
    let index = 0;
    assert!(host.export_root(index, &disk).is_some());

    let mut missing = disk.clone();
    missing.remove("shop/util.py");
    assert!(host.export_root(index, &missing).is_none());

    let util = root.join("shop/util.py");
    host.open_document(&util, "def unsaved():\n    pass\n".into());
    assert!(host.export_root(index, &disk).is_none());
}
