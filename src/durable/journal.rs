//! A journal: one file of bytes that is, after a crash, either wholly there
//! or not there at all, and that names the store it belongs to.
//!
//! A write too large for one atomic step of the layer below (a change file
//! of a million rows is millions of sled records) is first written here:
//! once [`write`] returns, the write is committed, and whoever opens the
//! store next finishes it from the journal if the process did not.
//!
//! ```text
//! magic "TEPATJN1" | store id (16 bytes) | payload length (u64 LE) | xxh3-64 of the payload (u64 LE) | payload
//! ```

use std::io::Write;
use std::path::Path;

use xxhash_rust::xxh3::xxh3_64;

use super::{StoreId, fault_point, require_regular_file, sync_dir, tmp_path};
use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"TEPATJN1";
const HEADER: usize = 8 + 16 + 8 + 8;

/// Writes `payload` to `path` durably and atomically: a temporary file,
/// synced, renamed into place, the directory synced. Returns once the
/// journal is durable under its name (the commit point).
pub(crate) fn write(path: &Path, id: StoreId, payload: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    let io = |e| Error::io(&tmp, e);
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    let mut header = Vec::with_capacity(HEADER);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&id.0);
    header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    header.extend_from_slice(&xxh3_64(payload).to_le_bytes());
    f.write_all(&header).map_err(io)?;
    f.write_all(payload).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    fault_point("apply.journal_synced");
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    sync_dir(path)
}

/// The payload of the journal at `path`, `None` when there is none. A
/// journal of another store, or one whose bytes are not what was written,
/// is an error naming the file: it was committed, so it is never ignored.
pub(crate) fn read(path: &Path, id: StoreId) -> Result<Option<Vec<u8>>> {
    // A crash before the rename leaves only the temporary file: nothing
    // was committed.
    let tmp = tmp_path(path);
    if tmp.exists() {
        std::fs::remove_file(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    if !path.exists() {
        return Ok(None);
    }
    require_regular_file(path, "journal")?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let damaged = |what: &str| {
        Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the journal of a committed write {what}; restore the store from a backup"),
            ),
        ))
    };
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return damaged("is not a tepat journal (too short or wrong magic)");
    }
    if bytes[8..24] != id.0 {
        return damaged("belongs to another store");
    }
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let payload = &bytes[HEADER..];
    if word(24) != payload.len() as u64 {
        return damaged("is cut short or too long");
    }
    if word(32) != xxh3_64(payload) {
        return damaged("fails its checksum");
    }
    Ok(Some(payload.to_vec()))
}

/// Removes the journal once what it holds is durable elsewhere.
pub(crate) fn remove(path: &Path) -> Result<()> {
    std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    sync_dir(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_reads_back_and_refuses_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let id = StoreId([7; 16]);
        assert!(read(&path, id).unwrap().is_none());
        write(&path, id, b"payload bytes").unwrap();
        assert_eq!(read(&path, id).unwrap().unwrap(), b"payload bytes");
        let foreign = read(&path, StoreId([8; 16])).unwrap_err().to_string();
        assert!(foreign.contains("another store"), "{foreign}");
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let flipped = read(&path, id).unwrap_err().to_string();
        assert!(flipped.contains("checksum"), "{flipped}");
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let cut = read(&path, id).unwrap_err().to_string();
        assert!(cut.contains("cut short"), "{cut}");
        remove(&path).unwrap();
        std::fs::write(tmp_path(&path), b"half").unwrap();
        assert!(
            read(&path, id).unwrap().is_none(),
            "an uncommitted journal is nothing"
        );
        assert!(!tmp_path(&path).exists());
    }
}
