//! Files into and out of a container, as the Engine API copies them: as tar. The
//! workspace snapshot and the run's files are built into one tar (off the async
//! threads, while a container is found) and unpacked in the work folder; the files a
//! run is asked to leave are read back one tar each.

use std::{
    collections::HashSet,
    path::{Component, Path},
};

use bollard::{
    query_parameters::{DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder},
    Docker,
};
use futures_util::StreamExt;

use super::docker_error;
use crate::SandboxError;

/// The snapshot being built in the background: a tar, or `None` for nothing to unpack.
pub(super) type PendingSnapshot = tokio::task::JoinHandle<std::io::Result<Option<Vec<u8>>>>;

/// `rel` without its leading `/`, if it is a plain relative path (no `..`, not empty).
pub(super) fn plain_relative(rel: &str) -> Result<&Path, SandboxError> {
    let relative = Path::new(rel.trim_start_matches('/'));
    if relative.as_os_str().is_empty()
        || !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(SandboxError::NotRelative(rel.to_string()));
    }
    Ok(relative)
}

/// The workspace and the run's files as one tar, to unpack in the work folder; `None`
/// when there is nothing to unpack. Entries are owned by nobody in particular (the
/// daemon writes them as root); modes keep them writable by the run's user.
pub(super) fn snapshot_archive(
    workspace: Option<&Path>,
    files: &[(String, Vec<u8>)],
) -> std::io::Result<Option<Vec<u8>>> {
    if workspace.is_none() && files.is_empty() {
        return Ok(None);
    }
    let mut tar = tar::Builder::new(Vec::new());
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    if let Some(root) = workspace {
        append_tree(&mut tar, root, Path::new(""))?;
    }
    let mut dirs_done = HashSet::new();
    for (rel, bytes) in files {
        let rel = Path::new(rel.trim_start_matches('/'));
        for dir in rel.ancestors().skip(1) {
            if !dir.as_os_str().is_empty() && dirs_done.insert(dir.to_path_buf()) {
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o777);
                header.set_size(0);
                tar.append_data(&mut header, dir, std::io::empty())?;
            }
        }
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o666);
        header.set_size(bytes.len() as u64);
        tar.append_data(&mut header, rel, bytes.as_slice())?;
    }
    Ok(Some(tar.into_inner()?))
}

/// Appends a folder's contents; every entry world-writable so that the run's user may
/// change and delete what it likes in its copy.
fn append_tree(tar: &mut tar::Builder<Vec<u8>>, dir: &Path, rel: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let (path, rel) = (entry.path(), rel.join(entry.file_name()));
        let kind = entry.file_type()?;
        let mut header = tar::Header::new_gnu();
        if kind.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o777);
            header.set_size(0);
            tar.append_data(&mut header, &rel, std::io::empty())?;
            append_tree(tar, &path, &rel)?;
        } else if kind.is_symlink() {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            tar.append_link(&mut header, &rel, std::fs::read_link(&path)?)?;
        } else if kind.is_file() {
            let file = std::fs::File::open(&path)?;
            let meta = file.metadata()?;
            let executable = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111;
            header.set_mode(0o666 | executable);
            header.set_size(meta.len());
            tar.append_data(&mut header, &rel, file)?;
        }
    }
    Ok(())
}

/// Waits for the snapshot and unpacks it in the container's work folder.
pub(super) async fn upload(
    docker: &Docker,
    id: &str,
    work_dir: &Path,
    snapshot: PendingSnapshot,
) -> Result<(), SandboxError> {
    let archive = snapshot
        .await
        .map_err(|e| SandboxError::Snapshot(std::io::Error::other(e)))?
        .map_err(SandboxError::Snapshot)?;
    if let Some(archive) = archive {
        docker
            .upload_to_container(
                id,
                Some(
                    UploadToContainerOptionsBuilder::default()
                        .path(&work_dir.display().to_string())
                        .build(),
                ),
                bollard::body_full(archive.into()),
            )
            .await
            .map_err(docker_error("upload the workspace"))?;
    }
    Ok(())
}

/// Reads back the files a run wrote, each up to `cap` bytes.
pub(super) async fn collect(
    docker: &Docker,
    id: &str,
    work_dir: &Path,
    wanted: &[String],
    cap: usize,
) -> Vec<(String, Vec<u8>)> {
    let mut collected = Vec::new();
    for rel in wanted {
        if plain_relative(rel).is_err() {
            continue;
        }
        let path = work_dir.join(rel.trim_start_matches('/'));
        let stream = docker.download_from_container(
            id,
            Some(
                DownloadFromContainerOptionsBuilder::default()
                    .path(&path.display().to_string())
                    .build(),
            ),
        );
        // The archive holds one file; a little over the cap for its header.
        let mut bytes = Vec::new();
        let mut stream = std::pin::pin!(stream);
        let mut ok = true;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) if bytes.len() <= cap + (64 << 10) => bytes.extend_from_slice(&chunk),
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            continue;
        }
        if let Some(file) = first_file(&bytes).filter(|f| f.len() <= cap) {
            collected.push((rel.clone(), file));
        }
    }
    collected
}

/// The contents of the first regular file of a tar.
fn first_file(archive: &[u8]) -> Option<Vec<u8>> {
    let mut archive = tar::Archive::new(archive);
    let mut entries = archive.entries().ok()?;
    entries.find_map(|entry| {
        let mut entry = entry.ok()?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return None;
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).ok()?;
        Some(bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_holds_files_over_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "old").unwrap();
        let files = vec![("a.txt".to_string(), b"new".to_vec())];
        let tar = snapshot_archive(Some(dir.path()), &files).unwrap().unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.txt", "a.txt"]);
        assert!(snapshot_archive(None, &[]).unwrap().is_none());
    }
}
