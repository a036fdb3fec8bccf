//! The file operations of an append-only log, behind a trait: the store
//! uses a real file, the power-cut tests a simulated disk that keeps only
//! what a sync made durable ([`crate::durable::sim`], in tests).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// What the claims log does to its file.
pub(crate) trait LogIo: Send + Sync {
    /// The file's length.
    fn len(&self) -> io::Result<u64>;
    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset`.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Cuts (or extends) the file to `len` bytes.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes the data durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
    /// Makes the data and the metadata durable (`fsync`).
    fn sync_all(&self) -> io::Result<()>;
}

impl LogIo for File {
    fn len(&self) -> io::Result<u64> {
        self.metadata().map(|m| m.len())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.read_exact_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.write_all_at(buf, offset)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }

    fn sync_data(&self) -> io::Result<()> {
        File::sync_data(self)
    }

    fn sync_all(&self) -> io::Result<()> {
        File::sync_all(self)
    }
}
