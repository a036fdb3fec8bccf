//! The files of a store directory, and `CURRENT`, the one file that says
//! which of them belong together.
//!
//! ```text
//! DIR/CURRENT                 which generation is current, and what the
//!                             store's parts must be (below)
//! DIR/snapshot-000001.tepat   generation 1
//! DIR/claims.log              payouts
//! DIR/live/                   pending changes (sled)
//! ```
//!
//! `CURRENT` is text, one item per line:
//!
//! ```text
//! snapshot-000002.tepat                       the current generation's file
//! live-state                                  the store has a live state and a claims log
//! store 5f0c…e1 (32 hex digits)               the store's identity
//! snapshot-checksum 9a3e…(16 hex digits)      the current file's header checksum
//! applies 3                                   change files applied so far
//! claims-log-bytes 48213                      the claims log was at least this long
//! previous snapshot-000001.tepat 41c2…        the generation before, kept for a rollback
//! ```
//!
//! Opening a store checks every part against it: a snapshot file whose
//! checksum differs (another store's file, an older copy), a claims log or
//! live state of another store, a live state that has seen fewer change
//! files (an older copy), a claims log shorter than recorded — each is
//! refused, naming the part. Stores made before these lines existed have
//! only the first two; they are added at the next change of `CURRENT`.
//!
//! A new generation is written under its own name, synced and verified, then
//! `CURRENT` is replaced by an atomic rename; readers of the old generation
//! keep their mapping.

use std::path::{Path, PathBuf};

use crate::durable::{StoreId, fault_point, read_regular, sync_dir, tmp_path};
use crate::error::{Error, Result};

/// The claims log's file name in a store directory.
pub const CLAIMS_LOG: &str = "claims.log";

/// The live state's directory name in a store directory.
pub(crate) const LIVE_DIR: &str = "live";
/// A change file too large for one sled batch, committed and on its way
/// into `live/` (crate::durable::journal); finished at the next open.
pub(crate) const CHANGES_JOURNAL: &str = "changes.journal";

/// The name of the pointer file.
pub const CURRENT: &str = "CURRENT";

/// The line of `CURRENT` that says the store has a live state.
pub const LIVE_STATE_LINE: &str = "live-state";

/// The file name of generation `g`.
pub fn snapshot_file_name(generation: u64) -> String {
    format!("snapshot-{generation:06}.tepat")
}

/// What `CURRENT` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Current {
    /// The current generation's file name.
    pub(crate) snapshot: String,
    /// The store has a live state and a claims log (it was opened once).
    pub(crate) live_state: bool,
    /// The store's identity (stores made before identities: none yet).
    pub(crate) id: Option<StoreId>,
    /// The current snapshot file's header checksum.
    pub(crate) snapshot_checksum: Option<u64>,
    /// Change files applied so far.
    pub(crate) applies: u64,
    /// The claims log was at least this long (bytes).
    pub(crate) log_bytes: u64,
    /// The generation before the current one, kept for a rollback: its
    /// file name and header checksum.
    pub(crate) previous: Option<(String, u64)>,
}

impl Current {
    /// A `CURRENT` for a new store at generation `generation`.
    pub(crate) fn new(id: StoreId, generation: u64, snapshot_checksum: u64) -> Current {
        Current {
            snapshot: snapshot_file_name(generation),
            live_state: false,
            id: Some(id),
            snapshot_checksum: Some(snapshot_checksum),
            applies: 0,
            log_bytes: 0,
            previous: None,
        }
    }

    /// Reads `DIR/CURRENT` (a regular file: a FIFO in its place is refused,
    /// not waited on).
    pub(crate) fn read(dir: &Path) -> Result<Current> {
        let pointer = dir.join(CURRENT);
        let text = read_regular(&pointer, "CURRENT file")?;
        Current::parse(&text).map_err(|message| Error::Input {
            file: pointer.display().to_string(),
            message,
        })
    }

    fn parse(text: &str) -> std::result::Result<Current, String> {
        let mut lines = text.lines();
        let name = lines.next().unwrap_or("").trim();
        let valid = name.starts_with("snapshot-")
            && name.ends_with(".tepat")
            && !name.contains(['/', '\\']);
        if !valid {
            return Err(format!("line 1: {name:?} is not a snapshot file name"));
        }
        let mut current = Current {
            snapshot: name.to_owned(),
            live_state: false,
            id: None,
            snapshot_checksum: None,
            applies: 0,
            log_bytes: 0,
            previous: None,
        };
        for (i, line) in lines.enumerate() {
            current
                .parse_line(line.trim())
                .map_err(|e| format!("line {}: {e}", i + 2))?;
        }
        Ok(current)
    }

    fn parse_line(&mut self, line: &str) -> std::result::Result<(), String> {
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{v:?} is not a number"))
        };
        match line.split_once(' ') {
            None if line == LIVE_STATE_LINE => self.live_state = true,
            None if line.is_empty() => {}
            Some(("store", v)) => self.id = Some(StoreId::parse(v).map_err(|e| e.to_string())?),
            Some(("snapshot-checksum", v)) => {
                let sum = u64::from_str_radix(v, 16).map_err(|_| format!("{v:?} is not hex"))?;
                self.snapshot_checksum = Some(sum);
            }
            Some(("applies", v)) => self.applies = number(v)?,
            Some(("claims-log-bytes", v)) => self.log_bytes = number(v)?,
            Some(("previous", v)) => self.previous = Some(parse_previous(v)?),
            _ => return Err(format!("{line:?} is not a line CURRENT has")),
        }
        Ok(())
    }

    fn to_text(&self) -> String {
        let mut text = format!("{}\n", self.snapshot);
        if self.live_state {
            text.push_str(LIVE_STATE_LINE);
            text.push('\n');
        }
        if let Some(id) = self.id {
            text.push_str(&format!("store {id}\n"));
        }
        if let Some(sum) = self.snapshot_checksum {
            text.push_str(&format!("snapshot-checksum {sum:016x}\n"));
        }
        text.push_str(&format!(
            "applies {}\nclaims-log-bytes {}\n",
            self.applies, self.log_bytes
        ));
        if let Some((name, sum)) = &self.previous {
            text.push_str(&format!("previous {name} {sum:016x}\n"));
        }
        text
    }

    /// The current generation's file in `dir`.
    pub(crate) fn snapshot_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.snapshot)
    }

    /// Replaces `DIR/CURRENT` with this one, atomically: temp file, sync,
    /// rename, directory sync.
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let pointer = dir.join(CURRENT);
        let tmp = tmp_path(&pointer);
        std::fs::write(&tmp, self.to_text()).map_err(|e| Error::io(&tmp, e))?;
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
}

/// `snapshot-NNNNNN.tepat CHECKSUM` of a `previous` line.
fn parse_previous(v: &str) -> std::result::Result<(String, u64), String> {
    let (name, sum) = v
        .split_once(' ')
        .ok_or_else(|| format!("{v:?} is not a file name and a checksum"))?;
    let valid =
        name.starts_with("snapshot-") && name.ends_with(".tepat") && !name.contains(['/', '\\']);
    if !valid {
        return Err(format!("{name:?} is not a snapshot file name"));
    }
    let sum = u64::from_str_radix(sum, 16).map_err(|_| format!("{sum:?} is not hex"))?;
    Ok((name.to_owned(), sum))
}

/// The path of the current snapshot of the store in `dir`.
pub fn current_snapshot(dir: &Path) -> Result<PathBuf> {
    Ok(Current::read(dir)?.snapshot_path(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_round_trips_and_reads_the_old_form() {
        let mut c = Current::new(StoreId::new(), 7, 0xfeed);
        c.live_state = true;
        c.applies = 3;
        c.log_bytes = 4096;
        c.previous = Some(("snapshot-000006.tepat".into(), 0xbeef));
        assert_eq!(Current::parse(&c.to_text()), Ok(c));
        let old = Current::parse("snapshot-000002.tepat\nlive-state\n").unwrap();
        assert!(old.live_state && old.id.is_none() && old.applies == 0);
        assert!(Current::parse("snapshot-000002.tepat\nfrobnicate 3\n").is_err());
        assert!(Current::parse("../etc/passwd\n").is_err());
    }
}
