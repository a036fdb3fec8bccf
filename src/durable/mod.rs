//! Making writes durable: the small set of file-system steps every durable
//! write of a store is made of (a temporary name, a sync, a rename, a sync
//! of the directory), the crash tests' fault points, and group commit.
//!
//! This layer knows files and nothing of what is in them: it imports only
//! the error type.

mod fault;
pub(crate) mod file;
pub(crate) mod group_commit;
mod identity;
pub(crate) mod journal;
#[cfg(test)]
pub(crate) mod sim;

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub use fault::FAULT_POINTS;
pub(crate) use fault::fault_point;
pub use identity::StoreId;
pub(crate) use identity::parse_hex;

/// `path` with `.tmp` appended: where a file is written before it is
/// renamed into place.
pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Syncs the directory holding `path`, so that a file created or renamed
/// there is durable under its name.
pub(crate) fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Refuses anything but a regular file at `path` (a FIFO would block the
/// open, a directory or device is not a store's file), before it is
/// opened. `what` names the part in the error.
pub(crate) fn require_regular_file(path: &Path, what: &str) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_file() {
        return Ok(());
    }
    let kind = if meta.is_dir() {
        "a directory"
    } else {
        "not a regular file (a FIFO, socket or device)"
    };
    Err(Error::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("the {what} is {kind}; refusing to open it"),
        ),
    ))
}

/// Reads a small file of a store (`CURRENT`) after checking that it is a
/// regular file.
pub(crate) fn read_regular(path: &Path, what: &str) -> Result<String> {
    require_regular_file(path, what)?;
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}
