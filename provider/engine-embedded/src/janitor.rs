//! Removing what interrupted builds left behind.
//!
//! A build writes under `<root>/<database>/<name>/<build id>/` and an append under
//! `<table location>/data/<build id>/`; only the catalog swap makes either part of the table.
//! A build that died before the swap (or between the swap and deleting the replaced table)
//! leaves its directory behind, which nothing references. The next successful build of the
//! same table removes every such directory that is older than itself: build ids are UUIDv7, so
//! their age is in the name, and a newer directory — a concurrent build that may still commit —
//! is left alone. Ids from before v7 (v4) carry no time and count as old.

use std::collections::BTreeSet;

use iceberg::table::Table;
use mdw_engine::BuildId;

use crate::Inner;

/// Deletes the build directories under `table_root` that are older than `current` and not
/// `keep` (the table's location now). Returns what it could not delete, as warnings.
pub(crate) async fn sweep_builds(
    inner: &Inner,
    table_root: &str,
    keep: &str,
    current: &BuildId,
) -> Vec<String> {
    let keep = keep.trim_end_matches('/');
    let children = match inner.listing.child_dirs(table_root).await {
        Ok(children) => children,
        Err(e) => return vec![format!("listing {table_root} to remove old builds: {e}")],
    };
    let mut warnings = Vec::new();
    for child in children {
        let path = format!("{}/{child}", table_root.trim_end_matches('/'));
        if path == keep || keep.starts_with(&format!("{path}/")) || !current.is_older(&child) {
            continue;
        }
        tracing::info!("removing {path}, left by an interrupted or replaced build");
        if let Err(e) = inner.file_io.delete_prefix(&path).await {
            warnings.push(format!("removing the old build {path}: {e}"));
        }
    }
    warnings
}

/// Deletes the append directories under `<location>/data/` that are older than `current` and
/// hold no file any snapshot of `table` references (appends that died before their commit).
pub(crate) async fn sweep_appends(inner: &Inner, table: &Table, current: &BuildId) -> Vec<String> {
    let data_root = format!("{}/data", table.metadata().location().trim_end_matches('/'));
    let candidates: Vec<String> = match inner.listing.child_dirs(&data_root).await {
        Ok(children) => children
            .into_iter()
            .filter(|c| current.is_older(c))
            .collect(),
        Err(e) => return vec![format!("listing {data_root} to remove failed appends: {e}")],
    };
    if candidates.is_empty() {
        return Vec::new();
    }
    let referenced = match referenced_dirs(table, &data_root).await {
        Ok(referenced) => referenced,
        // Without knowing what is referenced nothing may go.
        Err(e) => return vec![format!("reading {}'s manifests: {e}", data_root)],
    };
    let mut warnings = Vec::new();
    for child in candidates.into_iter().filter(|c| !referenced.contains(c)) {
        let path = format!("{data_root}/{child}");
        tracing::info!("removing {path}, written by an append that never committed");
        if let Err(e) = inner.file_io.delete_prefix(&path).await {
            warnings.push(format!("removing the failed append {path}: {e}"));
        }
    }
    warnings
}

/// The `data/<dir>` names holding a file that some snapshot of `table` references.
async fn referenced_dirs(table: &Table, data_root: &str) -> iceberg::Result<BTreeSet<String>> {
    let mut dirs = BTreeSet::new();
    let metadata = table.metadata();
    let mut seen_manifests = BTreeSet::new();
    for snapshot in metadata.snapshots() {
        let list = table.manifest_list_reader(snapshot).load().await?;
        for manifest_file in list.entries() {
            if !seen_manifests.insert(manifest_file.manifest_path.clone()) {
                continue;
            }
            let manifest = manifest_file.load_manifest(table.file_io()).await?;
            for entry in manifest.entries() {
                if let Some(rest) = entry
                    .file_path()
                    .strip_prefix(data_root)
                    .and_then(|r| r.strip_prefix('/'))
                    && let Some((dir, _)) = rest.split_once('/')
                {
                    dirs.insert(dir.to_string());
                }
            }
        }
    }
    Ok(dirs)
}
