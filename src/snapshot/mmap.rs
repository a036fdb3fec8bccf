//! The one place that maps a file into memory.

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use crate::error::{Error, Result};

/// Maps `path` read-only.
///
/// Mapping is `unsafe` because the mapped bytes change if another process
/// writes or truncates the file while it is mapped; Rust would then see
/// memory change under a shared reference, and a truncation makes reads
/// fault. tepat never writes to a snapshot after renaming it into place
/// (docs/FORMAT.md, "Assumptions about the storage medium"): new data always
/// goes to a new file that is renamed over the old name, which leaves the
/// mapped inode untouched. That is the invariant this function relies on.
#[allow(unsafe_code)]
pub(crate) fn map_file(path: &Path) -> Result<Mmap> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    // SAFETY: snapshot files are immutable once renamed into place (see the
    // function docs); the builder only ever writes a `.tmp` file, and a
    // refresh replaces the name, never the inode's contents. The map is
    // read-only, so tepat itself cannot write through it.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
    Ok(map)
}

/// Asks the CPU to start loading the cache line holding `bytes[index]`.
#[inline(always)]
pub(crate) fn prefetch(bytes: &[u8], index: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(byte) = bytes.get(index) {
        let ptr = byte as *const u8 as *const i8;
        // SAFETY: a prefetch is a hint: it never faults and does not change
        // memory, and `ptr` points into `bytes`. SSE is part of the x86_64
        // baseline, so the instruction exists on every x86_64 CPU.
        #[allow(unsafe_code)]
        unsafe {
            std::arch::x86_64::_mm_prefetch(ptr, std::arch::x86_64::_MM_HINT_T0)
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, index);
}
