//! The claims log: an append-only file of checksummed records, the durable
//! home of every claim and reversal (see [`crate::payouts::ledger`] for what the
//! records say).
//!
//! Why a log of its own and not sled: a claim must be durable before it is
//! acknowledged, and sled 0.34 on this machine kind commits at most ≈ 7 k
//! flushed batches per second however writers share flushes
//! (docs/BENCHMARKS-payouts.md). Appending to one file and sharing one
//! `fdatasync` between many claims (group commit) costs a `write` of a few
//! hundred bytes per claim and one sync per group.
//!
//! ```text
//! file    = header record*
//! header  = "\x89TPCLOG\n" (8 bytes) · major u16 · minor u16 · reserved u32   (16 bytes)
//! record  = marker u32 · len u32 · xxh3-64(payload) u64 · payload (len bytes)
//! ```
//!
//! Integers are little-endian; `marker` is [`RECORD_MARKER`]. Records are
//! only ever appended. On open every record is read and its checksum
//! checked. A bad record at the very end is a write the process did not
//! finish (a crash mid-`write`): it was never acknowledged, so it is cut off.
//! A bad record *followed by a good one* is damage, not a torn write, and the
//! store refuses to open rather than silently drop acknowledged payouts.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The file's first eight bytes. The high-bit first byte catches 7-bit
/// transfers and text-mode rewrites, as in PNG.
pub(crate) const MAGIC: [u8; 8] = *b"\x89TPCLOG\n";
/// Format major version: a reader refuses a newer one.
pub(crate) const MAJOR: u16 = 1;
/// Format minor version.
pub(crate) const MINOR: u16 = 0;
/// Header length.
pub(crate) const HEADER_LEN: u64 = 16;
/// Marks the start of every record.
pub(crate) const RECORD_MARKER: u32 = 0x7E_C1_A1_4D;
/// Marker, length and checksum.
pub(crate) const RECORD_HEADER_LEN: usize = 16;
/// No record is larger (a claim record is a few hundred bytes).
pub(crate) const MAX_RECORD: usize = 1 << 20;

/// An open claims log.
pub(crate) struct LogFile {
    path: PathBuf,
    file: File,
    /// Bytes in the file (written, not necessarily synced).
    written: u64,
    /// Records appended but not yet written.
    pending: Vec<u8>,
}

/// What open found at the end of the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Recovery {
    /// Bytes of an unfinished last record that were cut off.
    pub(crate) torn_bytes: u64,
}

fn log_err(path: &Path, message: impl Into<String>) -> Error {
    Error::ClaimsLog {
        file: path.to_path_buf(),
        message: message.into(),
    }
}

impl LogFile {
    /// Opens (or creates) the log at `path` and calls `each(offset, payload)`
    /// for every record in order.
    pub(crate) fn open(
        path: &Path,
        mut each: impl FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<(LogFile, Recovery)> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len == 0 {
            write_header(&mut file, path)?;
            crate::durable::sync_dir(path)?;
            let log = LogFile {
                path: path.to_path_buf(),
                file,
                written: HEADER_LEN,
                pending: Vec::new(),
            };
            return Ok((log, Recovery::default()));
        }
        let (good_end, torn) = scan(&file, path, len, &mut each)?;
        if torn > 0 {
            // The unfinished write was never acknowledged: cut it off, so
            // that the next record follows the last good one.
            file.set_len(good_end).map_err(|e| Error::io(path, e))?;
            file.sync_all().map_err(|e| Error::io(path, e))?;
        }
        let log = LogFile {
            path: path.to_path_buf(),
            file,
            written: good_end,
            pending: Vec::new(),
        };
        Ok((log, Recovery { torn_bytes: torn }))
    }

    /// The path of the file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a record to the pending buffer and returns its offset. It is
    /// in the file after the next [`LogFile::write_pending`].
    pub(crate) fn append(&mut self, payload: &[u8]) -> Result<u64> {
        if payload.len() > MAX_RECORD {
            return Err(log_err(
                &self.path,
                format!("a record of {} bytes is over the limit", payload.len()),
            ));
        }
        let offset = self.written + self.pending.len() as u64;
        self.pending.extend_from_slice(&RECORD_MARKER.to_le_bytes());
        self.pending
            .extend_from_slice(&(payload.len() as u32).to_le_bytes());
        self.pending
            .extend_from_slice(&xxhash_rust::xxh3::xxh3_64(payload).to_le_bytes());
        self.pending.extend_from_slice(payload);
        Ok(offset)
    }

    /// Writes the pending records to the file (not synced).
    pub(crate) fn write_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file
            .write_all_at(&self.pending, self.written)
            .map_err(|e| Error::io(&self.path, e))?;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// A handle for syncing outside the caller's lock.
    pub(crate) fn sync_handle(&self) -> Result<File> {
        self.file.try_clone().map_err(|e| Error::io(&self.path, e))
    }

    /// The payload of the record at `offset`, written or pending.
    pub(crate) fn read(&self, offset: u64) -> Result<Vec<u8>> {
        let mut head = [0u8; RECORD_HEADER_LEN];
        self.read_at(offset, &mut head)?;
        let (len, _) = parse_record_header(&head)
            .ok_or_else(|| log_err(&self.path, format!("no record at byte {offset}")))?;
        let mut payload = vec![0u8; len];
        self.read_at(offset + RECORD_HEADER_LEN as u64, &mut payload)?;
        Ok(payload)
    }

    fn read_at(&self, offset: u64, out: &mut [u8]) -> Result<()> {
        if offset >= self.written {
            let start = (offset - self.written) as usize;
            let src = self
                .pending
                .get(start..start + out.len())
                .ok_or_else(|| log_err(&self.path, format!("read past the end at {offset}")))?;
            out.copy_from_slice(src);
            return Ok(());
        }
        self.file
            .read_exact_at(out, offset)
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// Creates a new, empty log at `path` — exclusively: it fails with an I/O
/// error of kind `AlreadyExists` when a file is there — and makes it
/// durable under its name.
pub(crate) fn create(path: &Path) -> Result<()> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    write_header(&mut file, path)?;
    crate::durable::sync_dir(path)
}

/// Syncs a file's data (the durability point of a group of claims).
pub(crate) fn sync(file: &File, path: &Path) -> Result<()> {
    file.sync_data().map_err(|e| Error::io(path, e))
}

fn write_header(file: &mut File, path: &Path) -> Result<()> {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..8].copy_from_slice(&MAGIC);
    h[8..10].copy_from_slice(&MAJOR.to_le_bytes());
    h[10..12].copy_from_slice(&MINOR.to_le_bytes());
    file.write_all(&h).map_err(|e| Error::io(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))
}

/// `(payload length, checksum)` if the bytes start like a record.
fn parse_record_header(h: &[u8; RECORD_HEADER_LEN]) -> Option<(usize, u64)> {
    let marker = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
    let sum = u64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
    (marker == RECORD_MARKER && len <= MAX_RECORD).then_some((len, sum))
}

/// Reads every record; returns the end of the last good one and how many
/// bytes after it belong to an unfinished write.
fn scan(
    file: &File,
    path: &Path,
    len: u64,
    each: &mut impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<(u64, u64)> {
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut header = [0u8; HEADER_LEN as usize];
    if len < HEADER_LEN {
        return Err(log_err(
            path,
            format!("{len} bytes: shorter than the header"),
        ));
    }
    reader
        .read_exact(&mut header)
        .map_err(|e| Error::io(path, e))?;
    check_header(&header, path)?;
    let mut offset = HEADER_LEN;
    let mut payload = Vec::new();
    while offset < len {
        let left = len - offset;
        let mut head = [0u8; RECORD_HEADER_LEN];
        let good = if left >= RECORD_HEADER_LEN as u64 {
            reader
                .read_exact(&mut head)
                .map_err(|e| Error::io(path, e))?;
            match parse_record_header(&head) {
                Some((n, sum)) if (n + RECORD_HEADER_LEN) as u64 <= left => {
                    payload.resize(n, 0);
                    reader
                        .read_exact(&mut payload)
                        .map_err(|e| Error::io(path, e))?;
                    xxhash_rust::xxh3::xxh3_64(&payload) == sum
                }
                _ => false,
            }
        } else {
            false
        };
        if !good {
            if let Some(later) = next_good_record(file, path, offset + 1)? {
                return Err(log_err(
                    path,
                    format!(
                        "the record at byte {offset} is damaged and a good record follows at byte {later}: \
                         this is damage, not an unfinished write; refusing to open (restore the file from a backup)"
                    ),
                ));
            }
            return Ok((offset, left));
        }
        each(offset, &payload)?;
        offset += (RECORD_HEADER_LEN + payload.len()) as u64;
    }
    Ok((offset, 0))
}

fn check_header(h: &[u8; HEADER_LEN as usize], path: &Path) -> Result<()> {
    if h[..8] != MAGIC {
        return Err(log_err(path, "not a tepat claims log (wrong magic bytes)"));
    }
    let major = u16::from_le_bytes([h[8], h[9]]);
    if major > MAJOR {
        return Err(log_err(
            path,
            format!(
                "claims log version {major} is newer than this tepat reads ({MAJOR}); upgrade tepat"
            ),
        ));
    }
    Ok(())
}

/// The offset of the first valid record at or after `from`, if any.
fn next_good_record(file: &File, path: &Path, from: u64) -> Result<Option<u64>> {
    let mut rest = Vec::new();
    let mut reader = BufReader::new(file);
    std::io::Seek::seek(&mut reader, std::io::SeekFrom::Start(from))
        .and_then(|_| reader.read_to_end(&mut rest))
        .map_err(|e| Error::io(path, e))?;
    let marker = RECORD_MARKER.to_le_bytes();
    let mut i = 0;
    while i + RECORD_HEADER_LEN <= rest.len() {
        if rest[i..i + 4] == marker
            && let Some(head) = rest
                .get(i..i + RECORD_HEADER_LEN)
                .and_then(|h| <&[u8; RECORD_HEADER_LEN]>::try_from(h).ok())
            && let Some((n, sum)) = parse_record_header(head)
            && let Some(payload) = rest.get(i + RECORD_HEADER_LEN..i + RECORD_HEADER_LEN + n)
            && xxhash_rust::xxh3::xxh3_64(payload) == sum
        {
            return Ok(Some(from + i as u64));
        }
        i += 1;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record as (offset, payload).
    type Records = Vec<(u64, Vec<u8>)>;

    fn records(path: &Path) -> Result<(Records, Recovery)> {
        let mut out = Vec::new();
        let (_, rec) = LogFile::open(path, |o, p| {
            out.push((o, p.to_vec()));
            Ok(())
        })?;
        Ok((out, rec))
    }

    fn write_three(path: &Path) -> Vec<u64> {
        let (mut log, _) = LogFile::open(path, |_, _| Ok(())).unwrap();
        let offs: Vec<u64> = [&b"one"[..], b"two two", b"three"]
            .iter()
            .map(|p| log.append(p).unwrap())
            .collect();
        // Read back while pending, then after writing.
        assert_eq!(log.read(offs[1]).unwrap(), b"two two");
        log.write_pending().unwrap();
        assert_eq!(log.read(offs[2]).unwrap(), b"three");
        offs
    }

    #[test]
    fn appends_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claims.log");
        let offs = write_three(&path);
        let (recs, rec) = records(&path).unwrap();
        assert_eq!(rec.torn_bytes, 0);
        assert_eq!(recs.iter().map(|r| r.0).collect::<Vec<_>>(), offs);
        assert_eq!(recs[2].1, b"three");
    }

    #[test]
    fn a_torn_tail_is_cut_at_every_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claims.log");
        write_three(&path);
        let full = std::fs::read(&path).unwrap();
        let last = full.len() - (RECORD_HEADER_LEN + 5);
        for cut in last + 1..full.len() {
            std::fs::write(&path, &full[..cut]).unwrap();
            let (recs, rec) = records(&path).unwrap();
            assert_eq!(recs.len(), 2, "cut at {cut}");
            assert_eq!(rec.torn_bytes, (cut - last) as u64);
            assert_eq!(std::fs::metadata(&path).unwrap().len(), last as u64);
        }
    }

    #[test]
    fn damage_before_a_good_record_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claims.log");
        write_three(&path);
        let full = std::fs::read(&path).unwrap();
        // Every byte of the first two records: flipping it either leaves a
        // valid log (never: checksums) or is refused, never a silent cut.
        let end_of_second = full.len() - (RECORD_HEADER_LEN + 5);
        for i in HEADER_LEN as usize..end_of_second {
            let mut bad = full.clone();
            bad[i] ^= 0x40;
            std::fs::write(&path, &bad).unwrap();
            let err = records(&path).map(|(r, _)| r.len());
            assert!(err.is_err(), "flip at {i} gave {err:?}");
        }
        // The header.
        for i in 0..10 {
            let mut bad = full.clone();
            bad[i] ^= 0x80;
            std::fs::write(&path, &bad).unwrap();
            assert!(records(&path).is_err(), "header flip at {i}");
        }
    }

    #[test]
    fn a_newer_major_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claims.log");
        write_three(&path);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8..10].copy_from_slice(&(MAJOR + 1).to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let err = records(&path).unwrap_err().to_string();
        assert!(err.contains("newer"), "{err}");
    }
}
