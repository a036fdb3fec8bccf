//! Writes a file in whole, aligned 2 MiB pieces.
//!
//! Why: since Linux 6.16, ext4 (and XFS before it) keeps a file's page
//! cache in folios as large as the writes that filled it, up to 2 MiB for
//! a write that covers an aligned 2 MiB. A snapshot map advised
//! `MADV_HUGEPAGE` (see `mmap::map_file`) then maps each such folio with
//! one page-table entry, so a lookup right after a build misses the TLB
//! as rarely as in a resident copy. A `BufWriter` writes its buffer
//! wherever the file happens to be and hands large writes straight
//! through, which leaves the cache in smaller, unaligned folios.

use std::io::{self, Write};

/// One piece: a transparent huge page.
pub(crate) const PIECE: usize = super::mmap::HUGE_PAGE;

/// A buffered writer whose every write to `inner`, but the last, is
/// [`PIECE`] bytes long and starts at a multiple of [`PIECE`] (counting
/// from where `inner` stood when wrapped: the start of a new file).
pub(crate) struct PageAlignedWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> PageAlignedWriter<W> {
    /// Wraps `inner`, which must be at the start of a piece.
    pub(crate) fn new(inner: W) -> Self {
        PageAlignedWriter {
            inner,
            buf: Vec::with_capacity(PIECE),
        }
    }

    /// Writes what is buffered and returns the inner writer.
    pub(crate) fn into_inner(mut self) -> io::Result<W> {
        self.write_buffered()?;
        Ok(self.inner)
    }

    fn write_buffered(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

impl<W: Write> Write for PageAlignedWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let take = data.len().min(PIECE - self.buf.len());
        self.buf.extend_from_slice(&data[..take]);
        if self.buf.len() == PIECE {
            self.write_buffered()?;
        }
        Ok(take)
    }

    /// Writes nothing until a piece is full: a partial piece written early
    /// would leave the rest of the file off the alignment. Only
    /// [`PageAlignedWriter::into_inner`] writes a partial (last) piece.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the length of every write it receives.
    #[derive(Default)]
    struct Recorder {
        bytes: Vec<u8>,
        writes: Vec<usize>,
    }

    impl Write for Recorder {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.bytes.extend_from_slice(data);
            self.writes.push(data.len());
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_write_but_the_last_is_one_aligned_piece() {
        let mut expected = Vec::new();
        let mut w = PageAlignedWriter::new(Recorder::default());
        // Small, large and odd sizes, so that pieces straddle the calls.
        for (i, len) in [5, PIECE + 3, 1, 3 * PIECE - 7, 0, 12345]
            .into_iter()
            .enumerate()
        {
            let data: Vec<u8> = (0..len).map(|j| (i * 31 + j) as u8).collect();
            w.write_all(&data).unwrap();
            w.flush().unwrap();
            expected.extend_from_slice(&data);
        }
        let r = w.into_inner().unwrap();
        assert_eq!(r.bytes, expected);
        let (last, whole) = r.writes.split_last().unwrap();
        assert!(whole.iter().all(|&n| n == PIECE), "{:?}", r.writes);
        assert_eq!(*last, expected.len() % PIECE);
    }
}
