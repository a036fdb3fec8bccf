//! Where a store keeps its snapshot generations.
//!
//! ```text
//! DIR/CURRENT                 the file name of the current generation,
//!                             then `live-state` once the store holds one
//! DIR/snapshot-000001.tepat   generation 1
//! ```
//!
//! The `live-state` line is written the first time the store is opened (it
//! then has a claims log and a live-state directory). A store whose
//! `CURRENT` says so but whose claims log or live state is missing is
//! refused: it would otherwise open as a fresh store and forget every
//! payout.
//!
//! A new generation is written under its own name, synced and verified, then
//! `CURRENT` is replaced by an atomic rename; readers of the old generation
//! keep their mapping.

use std::path::{Path, PathBuf};

use crate::durable::{fault_point, sync_dir, tmp_path};
use crate::error::{Error, Result};

/// The claims log's file name in a store directory.
pub const CLAIMS_LOG: &str = "claims.log";

/// The live state's directory name in a store directory.
pub(crate) const LIVE_DIR: &str = "live";

/// The name of the pointer file.
pub const CURRENT: &str = "CURRENT";

/// The line of `CURRENT` that says the store has a live state.
pub const LIVE_STATE_LINE: &str = "live-state";

/// The file name of generation `g`.
pub fn snapshot_file_name(generation: u64) -> String {
    format!("snapshot-{generation:06}.tepat")
}

/// The path of the current snapshot of the store in `dir`.
pub fn current_snapshot(dir: &Path) -> Result<PathBuf> {
    let pointer = dir.join(CURRENT);
    let text = std::fs::read_to_string(&pointer).map_err(|e| Error::io(&pointer, e))?;
    let name = text.lines().next().unwrap_or("").trim();
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

/// Whether `CURRENT` says the store has a live state (claims log and
/// pending changes).
pub fn has_live_state(dir: &Path) -> Result<bool> {
    let pointer = dir.join(CURRENT);
    let text = std::fs::read_to_string(&pointer).map_err(|e| Error::io(&pointer, e))?;
    Ok(text.lines().skip(1).any(|l| l.trim() == LIVE_STATE_LINE))
}

/// Records in `CURRENT` that the store now has a live state.
pub fn mark_live_state(dir: &Path) -> Result<()> {
    let generation_name = current_snapshot(dir)?;
    let name = generation_name
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_current(dir, &name, true)
}

/// Points `CURRENT` at generation `g` (atomically: temp file, sync, rename,
/// directory sync), keeping its `live-state` line.
pub fn set_current(dir: &Path, generation: u64) -> Result<()> {
    let live = dir.join(CURRENT).exists() && has_live_state(dir)?;
    write_current(dir, &snapshot_file_name(generation), live)
}

fn write_current(dir: &Path, name: &str, live: bool) -> Result<()> {
    let pointer = dir.join(CURRENT);
    let tmp = tmp_path(&pointer);
    let text = if live {
        format!("{name}\n{LIVE_STATE_LINE}\n")
    } else {
        format!("{name}\n")
    };
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
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
