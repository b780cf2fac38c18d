//! A journal of table locations being deleted, so a drop that dies after the catalog forgot
//! the table (and before its files were gone) does not leave them behind for good: nothing
//! else points at them any more.
//!
//! A drop writes `<warehouse>/.mdw-trash/<key>/entry` (database, name, location) before the
//! catalog write, and removes it after deleting the files. Whenever the engine opens — the next
//! plan or apply — it empties the journal: an entry whose table the catalog still names at that
//! location is kept (the drop never happened; its retry redoes it), any other entry's location
//! is deleted, then the entry.

use mdw_engine::EngineError;

use crate::Inner;
use crate::errors::storage_error;
use crate::write::{Existing, find_relation};

const TRASH: &str = ".mdw-trash";
const ENTRY: &str = "entry";

fn trash_root(inner: &Inner) -> String {
    format!("{}/{TRASH}", inner.warehouse.trim_end_matches('/'))
}

/// One directory per location (FNV-1a of it): a retried drop rewrites the same entry.
fn entry_dir(inner: &Inner, location: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in location.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{}/{hash:016x}", trash_root(inner))
}

/// Records that `location`, the files of `database.name`, is about to be deleted.
pub(crate) async fn remember(
    inner: &Inner,
    database: &str,
    name: &str,
    location: &str,
) -> Result<(), EngineError> {
    let context = format!("dropping {database}.{name}");
    let entry = format!("{}/{ENTRY}", entry_dir(inner, location));
    let text = format!("{database}\n{name}\n{location}\n");
    let output = inner
        .file_io
        .new_output(&entry)
        .map_err(|e| storage_error(&context, e))?;
    output
        .write(bytes::Bytes::from(text))
        .await
        .map_err(|e| storage_error(&context, format!("recording the drop in {entry}: {e}")))
}

/// Removes the entry of `location` once its files are gone.
pub(crate) async fn forget(inner: &Inner, location: &str) {
    let dir = entry_dir(inner, location);
    if let Err(e) = inner.file_io.delete_prefix(&dir).await {
        tracing::warn!("removing the finished drop's entry {dir}: {e}");
    }
}

/// Finishes the drops that died between the catalog write and deleting the files.
pub(crate) async fn empty(inner: &Inner) {
    let root = trash_root(inner);
    let entries = match inner.listing.child_dirs(&root).await {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!("listing {root} for interrupted drops: {e}");
            return;
        }
    };
    for key in entries {
        let dir = format!("{root}/{key}");
        if let Err(e) = finish(inner, &dir).await {
            tracing::warn!("finishing the interrupted drop recorded in {dir}: {e}");
        }
    }
}

async fn finish(inner: &Inner, dir: &str) -> Result<(), String> {
    let text = inner
        .file_io
        .new_input(format!("{dir}/{ENTRY}"))
        .map_err(|e| e.to_string())?
        .read()
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&text);
    let mut lines = text.lines();
    let (Some(database), Some(name), Some(location)) = (lines.next(), lines.next(), lines.next())
    else {
        return Err("the entry is not database, name and location".to_string());
    };
    let still_named = match find_relation(inner, database, name)
        .await
        .map_err(|e| e.to_string())?
    {
        Existing::Table(table) => {
            table.metadata().location().trim_end_matches('/') == location.trim_end_matches('/')
        }
        _ => false,
    };
    if still_named {
        return Ok(());
    }
    tracing::info!("removing {location}, left by an interrupted drop of {database}.{name}");
    inner
        .file_io
        .delete_prefix(location)
        .await
        .map_err(|e| e.to_string())?;
    inner
        .file_io
        .delete_prefix(dir)
        .await
        .map_err(|e| e.to_string())
}
