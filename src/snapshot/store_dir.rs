//! Where a store keeps its snapshot generations.
//!
//! ```text
//! DIR/CURRENT                 the file name of the current generation
//! DIR/snapshot-000001.tepat   generation 1
//! ```
//!
//! A new generation is written under its own name, synced and verified, then
//! `CURRENT` is replaced by an atomic rename; readers of the old generation
//! keep their mapping.

use std::path::{Path, PathBuf};

use super::build::{sync_dir, tmp_path};
use crate::error::{Error, Result};
use crate::generations::fault_point;

/// The name of the pointer file.
pub const CURRENT: &str = "CURRENT";

/// The file name of generation `g`.
pub fn snapshot_file_name(generation: u64) -> String {
    format!("snapshot-{generation:06}.tepat")
}

/// The path of the current snapshot of the store in `dir`.
pub fn current_snapshot(dir: &Path) -> Result<PathBuf> {
    let pointer = dir.join(CURRENT);
    let name = std::fs::read_to_string(&pointer).map_err(|e| Error::io(&pointer, e))?;
    let name = name.trim();
    let valid =
        name.starts_with("snapshot-") && name.ends_with(".tepat") && !name.contains(['/', '\\']);
    if !valid {
        return Err(Error::Input {
            file: pointer.display().to_string(),
            message: format!("{name:?} is not a snapshot file name"),
        });
    }
    Ok(dir.join(name))
}

/// The generation the store in `dir` is at, or 0 for an empty directory.
pub fn current_generation(dir: &Path) -> Result<u64> {
    if !dir.join(CURRENT).exists() {
        return Ok(0);
    }
    let path = current_snapshot(dir)?;
    Ok(super::Snapshot::open(&path)?.generation())
}

/// Points `CURRENT` at generation `g` (atomically: temp file, sync, rename,
/// directory sync).
pub fn set_current(dir: &Path, generation: u64) -> Result<()> {
    let pointer = dir.join(CURRENT);
    let tmp = tmp_path(&pointer);
    std::fs::write(&tmp, format!("{}\n", snapshot_file_name(generation)))
        .map_err(|e| Error::io(&tmp, e))?;
    fault_point("current.tmp_written");
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    fault_point("current.tmp_synced");
    std::fs::rename(&tmp, &pointer).map_err(|e| Error::io(&pointer, e))?;
    fault_point("current.renamed");
    sync_dir(&pointer)?;
    fault_point("current.dir_synced");
    Ok(())
}
