//! The one place that maps a file into memory.

use std::fs::File;
use std::path::Path;

use memmap2::{Mmap, MmapMut};

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
    // Where the filesystem keeps the file in the page cache as 2 MiB
    // folios (XFS since Linux 5.18, ext4 since 6.16, see `PageAlignedWriter`),
    // this advice lets a fault map a whole folio with one page-table entry,
    // and makes readahead of a file not yet cached fetch 2 MiB folios. A
    // lookup then misses the TLB as rarely as in `read_resident`'s copy, at
    // no cost to opening. Ignored on purpose where it fails: 4 KiB pages
    // are still correct, only slower.
    #[cfg(target_os = "linux")]
    let _ = map.advise(memmap2::Advice::HugePage);
    Ok(map)
}

/// Asks the CPU to start loading the cache line holding `items[index]`;
/// nothing if `index` is out of range.
#[inline(always)]
pub(crate) fn prefetch<T>(items: &[T], index: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(item) = items.get(index) {
        let ptr = (item as *const T).cast::<i8>();
        // SAFETY: a prefetch is a hint: it never faults and does not change
        // memory, and `ptr` points into `items`. SSE is part of the x86_64
        // baseline, so the instruction exists on every x86_64 CPU.
        #[allow(unsafe_code)]
        unsafe {
            std::arch::x86_64::_mm_prefetch(ptr, std::arch::x86_64::_MM_HINT_T0)
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (items, index);
}

/// Reads the whole of `path` into anonymous memory advised
/// `MADV_HUGEPAGE`, then makes that memory read-only.
///
/// No `unsafe` is needed: the memory belongs to this process alone (no
/// other process or file can change it), so the map behaves like a boxed
/// slice. The advice is a hint: where the kernel has no transparent huge
/// pages (disabled, another OS, fragmented memory) it is ignored or fails
/// and the memory stays in 4 KiB pages, which is still correct, only
/// slower. Two threads read halves of the file so that the page faults
/// (zeroing fresh pages) and the copies overlap.
pub(crate) fn read_resident(path: &Path) -> Result<Mmap> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let len = usize::try_from(len).map_err(|_| Error::Format {
        file: path.to_path_buf(),
        message: format!("{len} bytes do not fit in this machine's address space"),
    })?;
    // A zero-length anonymous map is refused by the OS; one byte more costs
    // nothing and the slice below is cut to the file's length.
    let mut map = MmapMut::map_anon(len.max(1)).map_err(|e| Error::io(path, e))?;
    #[cfg(target_os = "linux")]
    {
        // Ignored on purpose: without THP the map stays in 4 KiB pages.
        let _ = map.advise(memmap2::Advice::HugePage);
    }
    let half = (len / 2).next_multiple_of(HUGE_PAGE).min(len);
    let (first, second) = map[..len].split_at_mut(half);
    let read = |buf: &mut [u8], offset: u64| -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        for (i, chunk) in buf.chunks_mut(READ_CHUNK).enumerate() {
            file.read_exact_at(chunk, offset + (i * READ_CHUNK) as u64)?;
        }
        Ok(())
    };
    let (a, b) = std::thread::scope(|s| {
        let other = s.spawn(|| read(second, half as u64));
        let a = read(first, 0);
        let b = other
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the reader thread panicked")));
        (a, b)
    });
    a.and(b).map_err(|e| Error::io(path, e))?;
    let map = map.make_read_only().map_err(|e| Error::io(path, e))?;
    Ok(map)
}

/// A transparent huge page on x86_64 and aarch64 (4 KiB base pages).
pub(crate) const HUGE_PAGE: usize = 2 << 20;
/// Bytes per `read` call when filling resident memory.
const READ_CHUNK: usize = 8 << 20;

/// Bytes of `bytes` backed by transparent huge pages, from the
/// `AnonHugePages` (a resident copy) and `FilePmdMapped` (a file map)
/// lines of `/proc/self/smaps` of the mappings that overlap it. `None`
/// where that file cannot be read (not Linux).
pub(crate) fn huge_page_bytes(bytes: &[u8]) -> Option<u64> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let start = bytes.as_ptr() as usize;
    let end = start + bytes.len();
    let mut inside = false;
    let mut total = 0u64;
    for line in smaps.lines() {
        // A mapping's first line: `start-end perms offset dev inode [path]`.
        let range = line
            .split_once(' ')
            .and_then(|(r, _)| r.split_once('-'))
            .and_then(|(a, b)| {
                Some((
                    usize::from_str_radix(a, 16).ok()?,
                    usize::from_str_radix(b, 16).ok()?,
                ))
            });
        if let Some((a, b)) = range {
            inside = a < end && start < b;
        } else if inside
            && let Some(rest) = line
                .strip_prefix("AnonHugePages:")
                .or_else(|| line.strip_prefix("FilePmdMapped:"))
        {
            let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            total += kib * 1024;
        }
    }
    Some(total.min(bytes.len() as u64))
}
