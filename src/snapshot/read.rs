//! Opening, verifying and reading a snapshot.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::Mmap;
use xxhash_rust::xxh3::xxh3_64;
use zerocopy::FromBytes;

use super::build::{birth_date, header_checksum};
use super::format::*;
use super::mmap;
use super::scan::home_line_match;
use crate::domain::date::Date;
use crate::domain::kk::Kk;
use crate::domain::nik::{Nik, Sex};
use crate::domain::program::{ComponentSet, ProgramSet, Registry};
use crate::domain::region::{Level, Region, RegionCode, RegionTable, Status};
use crate::error::{Error, Result};
use crate::rows::register::Relation;

enum Bytes {
    /// The file, memory-mapped (`Snapshot::open`).
    Map(Mmap),
    /// A copy of the file in anonymous memory advised for huge pages
    /// (`Snapshot::open_resident`).
    Resident(Mmap),
    /// Bytes handed over by the caller (`Snapshot::from_bytes`).
    Owned(Vec<u8>),
}

impl Bytes {
    #[inline(always)]
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Map(m) | Bytes::Resident(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// Where a snapshot's bytes live (see [`Snapshot::residence`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Residence {
    /// The file is memory-mapped: pages come from the page cache
    /// (`Snapshot::open`), in 2 MiB folios where the filesystem and kernel
    /// keep them so, else 4 KiB each.
    Mapped,
    /// The file was copied into this process's anonymous memory, advised
    /// for transparent huge pages (`Snapshot::open_resident`).
    Resident,
    /// Bytes in memory handed over by the caller (`Snapshot::from_bytes`).
    Owned,
}

/// Lookups between a NIK's home-line prefetch and its scan (and again
/// between that and the scan of a following line, for the few records
/// pushed out of their home line) in [`Snapshot::find_each`].
pub const PREFETCH_DISTANCE: usize = 16;

/// How many lines ahead `verify` prefetches the member links it will follow.
/// Generated registers have about 1.7 links a line, each two reads (a
/// record and a word of the link set), so some 27 reads are in flight.
const VERIFY_AHEAD_LINES: usize = 8;

/// How many families ahead `verify` prefetches each family's first member
/// (one read a family).
const VERIFY_AHEAD_FAMILIES: usize = 24;

/// What [`Person`]'s profile fields read when the record's profile index
/// is out of range (only in a damaged file).
static EMPTY_PROFILE: ProfileRaw = ProfileRaw {
    eligible: zerocopy::little_endian::U32::ZERO,
    enrolled: zerocopy::little_endian::U32::ZERO,
    components: zerocopy::little_endian::U16::ZERO,
    decile: 0,
    flags: 0,
    reserved: zerocopy::little_endian::U32::ZERO,
};

/// "No slot" in the branch-free scans.
const NONE: u32 = u32::MAX;

/// Runs `check` over `0..n` cut into one run per core, each run a multiple
/// of `align` long, and returns the runs' results in order, or the error
/// of the first run that failed: `verify` at national scale is hundreds of
/// millions of random reads, and the cores fetch them side by side.
fn in_runs<T: Send>(
    n: usize,
    align: usize,
    check: impl Fn(Range<usize>) -> std::result::Result<T, String> + Sync,
) -> std::result::Result<Vec<T>, String> {
    in_runs_of_at_least(n, align, MIN_RUN, check)
}

/// Items below which a run is not worth a thread of its own: a thread
/// costs tens of microseconds, checking a line well under one. (Small
/// files, the fuzzer's among them, are checked on the calling thread.)
const MIN_RUN: usize = 1 << 16;

/// [`in_runs`] with runs of at least `min_run` items; one run, on the
/// calling thread, when there is no more.
fn in_runs_of_at_least<T: Send>(
    n: usize,
    align: usize,
    min_run: usize,
    check: impl Fn(Range<usize>) -> std::result::Result<T, String> + Sync,
) -> std::result::Result<Vec<T>, String> {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let run = n
        .div_ceil(cores)
        .max(min_run.max(1))
        .next_multiple_of(align);
    if run >= n {
        return check(0..n).map(|t| vec![t]);
    }
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..n.div_ceil(run))
            .map(|i| {
                let check = &check;
                s.spawn(move || check(i * run..((i + 1) * run).min(n)))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("a verify thread failed".into()))
            })
            .collect()
    })
}

/// Files from which `verify` computes the checksums on a thread of their
/// own: below it, a thread costs more than it saves.
const PARALLEL_CHECKSUM_BYTES: u64 = 16 << 20;

/// What `Snapshot::verify_lines` counted in its lines.
#[derive(Default)]
struct LineCounts {
    records: u64,
    overflowed: u64,
    marked: u64,
}

/// An open snapshot. Cheap to share between threads (`&Snapshot` is all a
/// reader needs); lookups take no lock and allocate nothing.
pub struct Snapshot {
    bytes: Bytes,
    file: PathBuf,
    header: Header,
    layout: RecordLayout,
    /// Byte ranges by `kind - 1` (an absent optional section is `0..0`).
    sections: [Range<usize>; SECTION_KINDS],
    checksums: [u64; SECTION_KINDS],
    present: [bool; SECTION_KINDS],
    registry: Registry,
    names: OnceLock<RegionTable>,
    /// Who signed the file, its signature verified at open.
    signer: Option<super::PublicKey>,
    /// A keyed file's key check value; `None` for a plain file.
    key_check: Option<[u8; super::keyed::KEY_CHECK_LEN]>,
}

#[derive(Clone, Copy, Debug)]
struct Header {
    generation: u64,
    persons: u64,
    families: u64,
    profiles: u64,
    lines: u64,
    overflow: u64,
    hash_seed: u64,
    as_of_days: i64,
    created_secs: u64,
    duplicates: u64,
}

#[inline]
fn read_u16(b: &[u8], off: usize) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[off..off + 2]);
    u16::from_le_bytes(a)
}

#[inline]
fn read_u32(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

#[inline]
fn read_u64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// The registry section of a format 2.x file: programs without a payable
/// window (they get the default one).
#[derive(serde::Deserialize)]
struct RegistryV2 {
    programs: Vec<ProgramV2>,
    policy: crate::domain::program::Policy,
}

#[derive(serde::Deserialize)]
struct ProgramV2 {
    code: String,
    name: String,
    unit: crate::domain::program::Unit,
    period: crate::domain::period::PeriodKind,
    eligibility: crate::domain::program::Eligibility,
    excludes: Vec<crate::domain::program::Exclusion>,
}

/// Decodes the registry section of a file of format `major`, checked as
/// [`Registry::new`] checks a registry.
fn decode_registry(bytes: &[u8], major: u16) -> std::result::Result<Registry, String> {
    if major == FORMAT_MAJOR {
        return postcard::from_bytes(bytes).map_err(|e| e.to_string());
    }
    let v2: RegistryV2 = postcard::from_bytes(bytes).map_err(|e| e.to_string())?;
    let programs = v2
        .programs
        .into_iter()
        .map(|p| crate::domain::program::Program {
            code: p.code,
            name: p.name,
            unit: p.unit,
            period: p.period,
            eligibility: p.eligibility,
            excludes: p.excludes,
            window: Default::default(),
            entitlement: None,
        })
        .collect();
    Registry::new(programs, v2.policy).map_err(|e| e.to_string())
}

impl Snapshot {
    /// Maps and checks a snapshot file: magic, version, header checksum, the
    /// section table's bounds, and that every section's length agrees with
    /// the header. Constant time; see [`Snapshot::verify`] for the full check.
    ///
    /// The map is advised `MADV_HUGEPAGE` on Linux: where the page cache
    /// holds the file in 2 MiB folios, lookups then walk 2 MiB pages, as in
    /// [`Snapshot::open_resident`]'s copy, without copying anything.
    ///
    /// The file must not be modified while it is open (tepat never modifies
    /// a snapshot; see docs/FORMAT.md).
    pub fn open(path: &Path) -> Result<Snapshot> {
        let map = mmap::map_file(path)?;
        Snapshot::from_parts(Bytes::Map(map), path.to_path_buf())
    }

    /// Reads the whole snapshot file into this process's memory, advised for
    /// transparent huge pages (`MADV_HUGEPAGE`), and checks it as
    /// [`Snapshot::open`] does; every lookup is then served from that copy.
    ///
    /// The trade-off against [`Snapshot::open`]: opening costs a full read
    /// of the file (seconds at national scale, not constant time), and the
    /// copy takes as much memory as the file, on top of the page cache
    /// that held it. In exchange, lookups walk 2 MiB pages for certain: a
    /// random access misses the TLB far less often than over 4 KiB pages,
    /// which is most of a lookup's cost over gigabytes (docs/BENCHMARKS.md
    /// gives the figures). A map gets 2 MiB pages too, but only where the
    /// filesystem keeps the file's page cache in 2 MiB folios (XFS since
    /// Linux 5.18, ext4 since 6.16) and only for the folios it holds so;
    /// the copy does not depend on that. If the kernel cannot give
    /// huge pages (THP disabled, memory fragmented, another OS), the copy
    /// stays in 4 KiB pages: still correct, about as fast as a map;
    /// [`Snapshot::huge_page_bytes`] tells which happened.
    ///
    /// Unlike a map, the copy does not depend on the file staying
    /// unmodified after this returns.
    pub fn open_resident(path: &Path) -> Result<Snapshot> {
        let len = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        if len < HEADER_LEN as u64 {
            // Too short to be a snapshot: let the checks say so.
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            return Snapshot::from_parts(Bytes::Owned(bytes), path.to_path_buf());
        }
        let map = mmap::read_resident(path)?;
        Snapshot::from_parts(Bytes::Resident(map), path.to_path_buf())
    }

    /// Where this snapshot's bytes live.
    pub fn residence(&self) -> Residence {
        match self.bytes {
            Bytes::Map(_) => Residence::Mapped,
            Bytes::Resident(_) => Residence::Resident,
            Bytes::Owned(_) => Residence::Owned,
        }
    }

    /// Whether lookups in this snapshot scan a home line with vector
    /// instructions: in a build with [`VECTOR_SCAN`](super::VECTOR_SCAN),
    /// for a file of at least 256 home lines. The answers are the same
    /// either way; the vector scan lets more independent lookups overlap.
    pub fn vector_scan(&self) -> bool {
        super::VECTOR_SCAN && self.layout.rem_mask() <= super::scan::VECTOR_MAX_MASK
    }

    /// Bytes of this snapshot held in transparent huge pages, as the kernel
    /// reports them now (`AnonHugePages` and `FilePmdMapped` in
    /// `/proc/self/smaps`): about the file's size when
    /// [`Snapshot::open_resident`] got huge pages, 0 when it did not. For a
    /// map ([`Snapshot::open`]) it counts the pages touched so far that the
    /// page cache holds in 2 MiB folios. `None` where the kernel does not
    /// report it (not Linux) or for [`Snapshot::from_bytes`].
    pub fn huge_page_bytes(&self) -> Option<u64> {
        match &self.bytes {
            Bytes::Map(map) | Bytes::Resident(map) => mmap::huge_page_bytes(map),
            Bytes::Owned(_) => None,
        }
    }

    /// Reads a snapshot from bytes in memory (tests, fuzzing, embedded use).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Snapshot> {
        Snapshot::from_parts(Bytes::Owned(bytes), PathBuf::from("<memory>"))
    }

    fn from_parts(bytes: Bytes, file: PathBuf) -> Result<Snapshot> {
        let bad = |message: String| Error::Format {
            file: file.clone(),
            message,
        };
        let b = bytes.as_slice();
        if b.len() < HEADER_LEN {
            return Err(bad(format!(
                "{} bytes, shorter than the 256-byte header",
                b.len()
            )));
        }
        if b[OFF_MAGIC..OFF_MAGIC + 8] != MAGIC {
            return Err(bad(
                "no tepat magic number at offset 0 (another kind of file?)".into(),
            ));
        }
        let major = read_u16(b, OFF_MAJOR);
        if major == 0 {
            return Err(bad("format major version 0 does not exist".into()));
        }
        // A newer major is refused; so is 1.x, which laid persons out
        // differently (a bucket directory): its files are rebuilt from the
        // register, not read. 2.x differs from 3.x only in the registry
        // section (no payable windows) and is read (docs/FORMAT.md,
        // version history).
        if major != FORMAT_MAJOR && major != FORMAT_MAJOR_READ_TOO {
            return Err(Error::Version {
                file,
                expected: FORMAT_MAJOR,
                got: major,
            });
        }
        let header_len = read_u32(b, OFF_HEADER_LEN) as usize;
        if header_len != HEADER_LEN {
            return Err(bad(format!(
                "header length {header_len}, expected {HEADER_LEN}"
            )));
        }
        let count = read_u32(b, OFF_SECTION_COUNT) as usize;
        if count > MAX_SECTIONS {
            return Err(bad(format!(
                "{count} sections listed, at most {MAX_SECTIONS} allowed"
            )));
        }
        let table_end = HEADER_LEN + count * SECTION_ENTRY_LEN;
        if b.len() < table_end {
            return Err(bad(format!(
                "truncated: the section table ends at {table_end}, the file at {}",
                b.len()
            )));
        }
        let table = &b[HEADER_LEN..table_end];
        let stored = read_u64(b, OFF_HEADER_CHECKSUM);
        let actual = header_checksum(&b[..HEADER_LEN], table);
        if stored != actual {
            return Err(Error::Checksum {
                file,
                section: "header and section table",
                expected: stored,
                got: actual,
            });
        }
        let signer = super::sign::check_header(read_u32(b, OFF_FLAGS), &b[..HEADER_LEN], table)
            .map_err(|m| Error::Signature {
                file: file.clone(),
                message: m,
            })?;
        let header = Header {
            generation: read_u64(b, OFF_GENERATION),
            persons: read_u64(b, OFF_PERSONS),
            families: read_u64(b, OFF_FAMILIES),
            profiles: read_u64(b, OFF_PROFILES),
            lines: read_u64(b, OFF_LINES),
            overflow: read_u64(b, OFF_OVERFLOW),
            hash_seed: read_u64(b, OFF_HASH_SEED),
            as_of_days: read_u64(b, OFF_AS_OF_DAYS) as i64,
            created_secs: read_u64(b, OFF_CREATED_SECS),
            duplicates: read_u64(b, OFF_DUPLICATES),
        };
        let (sections, checksums, present) =
            section_ranges(table, b.len(), &header).map_err(bad)?;
        let key_check = super::keyed::key_check_of(read_u32(b, OFF_FLAGS), &b[..HEADER_LEN]);
        let layout = RecordLayout::new(header.lines, header.families, header.hash_seed)
            .ok_or_else(|| {
                bad("header's line and family counts do not fit the record layout".into())
            })?
            .keyed(key_check.is_some());
        let registry_bytes = &b[sections[SectionKind::Registry as usize - 1].clone()];
        let registry = decode_registry(registry_bytes, major)
            .map_err(|e| bad(format!("registry section does not decode: {e}")))?;
        Ok(Snapshot {
            bytes,
            file,
            header,
            layout,
            sections,
            checksums,
            present,
            registry,
            names: OnceLock::new(),
            signer,
            key_check,
        })
    }

    /// Whether this is a keyed snapshot (docs/FORMAT.md, "Keyed
    /// snapshots"): its persons and families are known by pseudonyms, and
    /// a lookup takes the pseudonym ([`super::IdentityKey::nik`]).
    pub fn is_keyed(&self) -> bool {
        self.key_check.is_some()
    }

    /// Refuses a keyed snapshot opened without its key or with another
    /// one (the header's key check value), and a plain one given a key.
    pub fn check_key(&self, key: Option<&super::IdentityKey>) -> Result<()> {
        super::keyed::check_key(self.key_check, key).map_err(|message| Error::Key {
            file: self.file.clone(),
            message,
        })
    }

    /// The key that signed this snapshot, its signature checked when the
    /// file was opened (a signature that does not verify is refused then);
    /// `None` for an unsigned file. A signature by a key proves the file is
    /// as its holder wrote it, not that the holder is trusted: see
    /// [`Snapshot::check_trusted`].
    pub fn signer(&self) -> Option<super::PublicKey> {
        self.signer
    }

    /// Refuses this snapshot unless one of `trusted` signed it (an empty
    /// list trusts every file, signed or not). The sections are covered
    /// through their xxh3-64 checksums, which the signature covers and
    /// [`Snapshot::verify`] recomputes: proof against accidents and casual
    /// edits, not against a section crafted to the same non-cryptographic
    /// checksum (docs/FORMAT.md, "Signed snapshots").
    pub fn check_trusted(&self, trusted: &[super::PublicKey]) -> Result<()> {
        super::sign::check_trust(self.signer, trusted).map_err(|message| Error::Signature {
            file: self.file.clone(),
            message,
        })
    }

    /// Recomputes every section's checksum and checks the structure lookups
    /// rely on (every record reached by its own lookup, line headers,
    /// overflow order, member lists, indices in range), and that the file
    /// is as the builder writes it (line flags exact, reserved bits zero).
    ///
    /// It runs on every core the process may use (scoped threads, gone when
    /// it returns): at 280 M persons it reads the whole file and makes
    /// hundreds of millions of random reads, prefetched some lines ahead,
    /// in about 45 s on two cores (docs/BENCHMARKS-analytics.md).
    pub fn verify(&self) -> Result<()> {
        // The checksums (one pass over the bytes) run beside the structure
        // checks (random reads); a damaged section is reported as such.
        let (sums, structure) = if self.byte_len() < PARALLEL_CHECKSUM_BYTES {
            (self.verify_checksums(), self.verify_structure())
        } else {
            std::thread::scope(|s| {
                let sums = s.spawn(|| self.verify_checksums());
                let structure = self.verify_structure();
                let sums = sums.join().unwrap_or_else(|_| {
                    Err(Error::Format {
                        file: self.file.clone(),
                        message: "the checksum thread failed".into(),
                    })
                });
                (sums, structure)
            })
        };
        sums?;
        structure.map_err(|message| Error::Format {
            file: self.file.clone(),
            message,
        })
    }

    /// Recomputes every section's checksum.
    fn verify_checksums(&self) -> Result<()> {
        for kind in SectionKind::ALL {
            let i = kind as usize - 1;
            if !self.present[i] {
                continue;
            }
            let got = xxh3_64(self.section(kind));
            if got != self.checksums[i] {
                return Err(Error::Checksum {
                    file: self.file.clone(),
                    section: kind.name(),
                    expected: self.checksums[i],
                    got,
                });
            }
        }
        Ok(())
    }

    fn verify_structure(&self) -> std::result::Result<(), String> {
        let slots = self.slot_count() as usize;
        // Occupied slots, and slots some member link points at: with the
        // first members, every record must be reached exactly once, or a
        // family's member list would leave someone out.
        let linked: Vec<AtomicU64> = (0..slots.div_ceil(64)).map(|_| AtomicU64::new(0)).collect();
        // Before the lines: their overflow bits are checked by binary search.
        let keys = self.section(SectionKind::Overflow);
        if keys
            .chunks_exact(8)
            .zip(keys.chunks_exact(8).skip(1))
            .any(|(a, b)| read_u64(a, 0) > read_u64(b, 0))
        {
            return Err("overflow hashes are not in ascending order".into());
        }
        // Runs of 64 lines fill whole words of `occupied`.
        let runs = in_runs(slots / LINE_SLOTS, 64, |lines| {
            self.verify_lines(lines, &linked)
        })?;
        let (mut records, mut overflowed, mut marked) = (0u64, 0u64, 0u64);
        let mut occupied = Vec::with_capacity(slots.div_ceil(64));
        for (counts, words) in runs {
            records += counts.records;
            overflowed += counts.overflowed;
            marked += counts.marked;
            occupied.extend(words);
        }
        let linked: Vec<u64> = linked.into_iter().map(AtomicU64::into_inner).collect();
        if records != self.header.persons || overflowed != self.header.overflow {
            return Err(format!(
                "{records} records ({overflowed} in the overflow), the header says {} ({})",
                self.header.persons, self.header.overflow
            ));
        }
        in_runs(slots, 64, |run| {
            for slot in run {
                let bit = |set: &[u64]| {
                    set.get(slot / 64)
                        .is_some_and(|w| w >> (slot % 64) & 1 == 1)
                };
                if !bit(&occupied) {
                    continue;
                }
                let first = self
                    .raw_person(slot)
                    .is_some_and(|p| p.w0.get() & FIRST_MEMBER_BIT != 0);
                if first == bit(&linked) {
                    return Err(format!(
                        "person {slot} is {} its family's member list",
                        if first {
                            "linked into the middle of"
                        } else {
                            "not reached by"
                        }
                    ));
                }
            }
            Ok(())
        })?;
        if marked != self.header.families {
            return Err(format!(
                "{marked} persons marked first member, {} families",
                self.header.families
            ));
        }
        self.verify_families()?;
        self.verify_region_counts()?;
        self.region_names_table().map(|_| ())
    }

    /// Checks lines `lines` and their records (see `verify_structure`):
    /// returns what it counted and the words of an occupied-slot bit set
    /// over these lines' slots, and marks each member link's target in
    /// `linked`.
    fn verify_lines(
        &self,
        lines: Range<usize>,
        linked: &[AtomicU64],
    ) -> std::result::Result<(LineCounts, Vec<u64>), String> {
        let mut counts = LineCounts::default();
        let mut occupied = vec![0u64; (lines.len() * LINE_SLOTS).div_ceil(64)];
        let persons = self.section(SectionKind::Persons);
        let first_slot = lines.start * LINE_SLOTS;
        let end = lines.end;
        for index in lines {
            if index + VERIFY_AHEAD_LINES < end {
                self.prefetch_links(index + VERIFY_AHEAD_LINES, linked);
            }
            let line = line_in(persons, index).ok_or("persons section shorter than its lines")?;
            let count = self.verify_line(index, line)?;
            for at in 0..count {
                let slot = index * LINE_SLOTS + at;
                let p = self.verify_record(slot, line)?;
                counts.overflowed += u64::from(index as u64 >= self.layout.lines);
                let own = slot - first_slot;
                occupied[own / 64] |= 1 << (own % 64);
                counts.records += 1;
                counts.marked += u64::from(p.w0.get() & FIRST_MEMBER_BIT != 0);
                let next = (p.w1.get() >> 32) as u32;
                if next != NO_NEXT {
                    let q = self
                        .raw_person(next as usize)
                        .ok_or(format!("person {slot}: next member {next} is not a record"))?;
                    if next as usize <= slot || q.w1.get() as u32 != p.w1.get() as u32 {
                        return Err(format!(
                            "person {slot}: next member {next} is not a later member of the same family"
                        ));
                    }
                    let bit = 1u64 << (next % 64);
                    match linked.get(next as usize / 64) {
                        Some(w) if w.fetch_or(bit, Ordering::Relaxed) & bit == 0 => {}
                        _ => return Err(format!("person {next} is linked to twice")),
                    }
                }
            }
        }
        Ok((counts, occupied))
    }

    /// Starts loading what checking line `index`'s member links reads: each
    /// linked record's line and its word of `linked`, both somewhere in
    /// gigabytes at national scale. Without this `verify` waits on one such
    /// miss at a time.
    #[inline]
    fn prefetch_links(&self, index: usize, linked: &[AtomicU64]) {
        let persons = self.section(SectionKind::Persons);
        let Some(line) = line_in(persons, index) else {
            return;
        };
        let count = usize::from(line[LINE_HEADER_AT] & LINE_COUNT_MASK).min(LINE_SLOTS);
        for at in 0..count {
            let Some(rec) = record_in(line, at) else {
                return;
            };
            let next = RecordLayout::next_of(rec);
            if next != NO_NEXT {
                prefetch_slot(persons, next as usize);
                mmap::prefetch(linked, next as usize / 64);
            }
        }
    }

    /// Starts loading the first member of family `index`, if there is one.
    #[inline]
    fn prefetch_first_member(&self, index: usize) {
        if let Some(f) = self.raw_family(index) {
            prefetch_slot(
                self.section(SectionKind::Persons),
                f.first_member.get() as usize,
            );
        }
    }

    /// A line's header: its count, and for an overflow line no flags and
    /// the count the overflow's size implies. Returns the count; unused
    /// slots must be zero.
    fn verify_line(
        &self,
        index: usize,
        line: &[u8; LINE_LEN],
    ) -> std::result::Result<usize, String> {
        let header = line[LINE_HEADER_AT];
        let count = usize::from(header & LINE_COUNT_MASK);
        if count > LINE_SLOTS {
            return Err(format!(
                "line {index}: {count} records in {LINE_SLOTS} slots"
            ));
        }
        let lines = self.layout.lines as usize;
        if index < lines {
            self.verify_line_flags(index, header)?;
        } else {
            let before = (index - lines) * LINE_SLOTS;
            let want = (self.header.overflow as usize)
                .saturating_sub(before)
                .min(LINE_SLOTS);
            if header != want as u8 {
                return Err(format!(
                    "overflow line {index}: header {header:#x}, {want} records expected"
                ));
            }
        }
        if line[count * RECORD_LEN..LINE_HEADER_AT]
            .iter()
            .any(|b| *b != 0)
        {
            return Err(format!("line {index}: an unused slot holds data"));
        }
        Ok(count)
    }

    /// A home line's flags say exactly what lies beyond it: "first
    /// displaced" names the nearest line that holds one of its displaced
    /// records, and the overflow bit is set only if one of its records is
    /// in the overflow. (`verify_record` checks the other direction: each
    /// displaced record is reached from `first`, each overflow record's
    /// home has the bit.) A wrong flag never changes an answer, but it is
    /// not what the builder writes, so the file is not what it claims.
    fn verify_line_flags(&self, index: usize, header: u8) -> std::result::Result<(), String> {
        let first = usize::from(header >> LINE_DISPLACED_SHIFT);
        if first > 0 {
            let at = index + first;
            let holds = line_in(self.section(SectionKind::Persons), at)
                .filter(|_| (at as u64) < self.layout.lines)
                .is_some_and(|line| {
                    let count = usize::from(line[LINE_HEADER_AT] & LINE_COUNT_MASK);
                    (0..count.min(LINE_SLOTS)).any(|slot| {
                        record_in(line, slot)
                            .is_some_and(|rec| RecordLayout::disp_of(rec) == first as u64)
                    })
                });
            if !holds {
                return Err(format!(
                    "line {index}: its header puts its first displaced record {first} lines on, but line {at} holds none"
                ));
            }
        }
        if header & LINE_OVERFLOW_BIT != 0 && !self.overflow_holds_home(index as u64) {
            return Err(format!(
                "line {index}: its overflow bit is set, but no overflow record has it as home"
            ));
        }
        Ok(())
    }

    /// Whether some overflow record's home line is `home` (a binary
    /// search: the overflow is in hash order, and a hash's home grows with
    /// the hash).
    fn overflow_holds_home(&self, home: u64) -> bool {
        let j = self.overflow_partition(|h| self.layout.home(h) < home);
        self.overflow_hash(j)
            .is_some_and(|h| self.layout.home(h) == home)
    }

    /// One record: where it lies against its home line, its NIK, its
    /// indices in range, and no bit set that the format reserves.
    fn verify_record(
        &self,
        slot: usize,
        line: &[u8; LINE_LEN],
    ) -> std::result::Result<PersonRaw, String> {
        let index = slot / LINE_SLOTS;
        let rec = record_in(line, slot % LINE_SLOTS).ok_or("a record outside its line")?;
        let disp = RecordLayout::disp_of(rec);
        let (p, h) = self
            .raw_person_hashed(slot)
            .ok_or(format!("person {slot} lies {disp} lines before line 0"))?;
        let home = self.layout.home(h) as usize;
        if (index as u64) < self.layout.lines {
            // A displaced record must be where a lookup walks.
            let home_header =
                line_in(self.section(SectionKind::Persons), home).map_or(0, |l| l[LINE_HEADER_AT]);
            let mut reached = false;
            if disp > 0 {
                self.walk_displaced(home, home_header, h & self.layout.rem_mask(), |s, _| {
                    reached = s as usize == slot;
                    reached
                });
            }
            if disp > 0 && !reached {
                return Err(format!(
                    "person {slot} lies {disp} lines from its home line {home}, where a lookup does not reach"
                ));
            }
        } else if disp != 0
            || line_in(self.section(SectionKind::Persons), home)
                .is_none_or(|l| l[LINE_HEADER_AT] & LINE_OVERFLOW_BIT == 0)
        {
            return Err(format!(
                "person {slot} is in the overflow, but its home line {home} does not say so"
            ));
        } else if self.layout.rem_of(rec) != h & self.layout.rem_mask() {
            return Err(format!("person {slot}: overflow record and hash disagree"));
        }
        if unhash_nik(h, self.layout.seed) & !NIK_MASK != 0 {
            return Err(format!("person {slot}: stored hash is not a NIK's"));
        }
        let nik = self.layout.nik_of_hash(h);
        Nik::from_u64(nik)
            .map_err(|e| format!("person {slot}: stored NIK {nik} is invalid: {e}"))?;
        if u64::from(p.w1.get() as u32) >= self.header.families {
            return Err(format!("person {slot}: family index out of range"));
        }
        if p.w2.get() & PROFILE_MASK >= self.header.profiles {
            return Err(format!("person {slot}: profile index out of range"));
        }
        if ((p.w2.get() >> VILLAGE_SHIFT) & VILLAGE_MASK) as usize >= self.village_count() {
            return Err(format!("person {slot}: village index out of range"));
        }
        // Every field decoded and packed again gives the record back only
        // if the bits no field covers are zero.
        if self.layout.encode(&p, disp, h) != *rec {
            return Err(format!(
                "person {slot}: bits the format reserves are not zero"
            ));
        }
        Ok(p)
    }

    /// Families in KK order, each pointing at a marked member of its own.
    fn verify_families(&self) -> std::result::Result<(), String> {
        in_runs(self.header.families as usize, 1, |run| {
            let end = run.end;
            for index in run {
                if index + VERIFY_AHEAD_FAMILIES < end {
                    self.prefetch_first_member(index + VERIFY_AHEAD_FAMILIES);
                }
                let f = self
                    .raw_family(index)
                    .ok_or("families section shorter than its count")?;
                let prev_kk = match index.checked_sub(1) {
                    Some(prev) => self.raw_family(prev).map_or(0, |p| p.kk.get()),
                    None => 0,
                };
                if f.kk.get() <= prev_kk {
                    return Err(format!("family {index} is out of KK order"));
                }
                if f.kk.get() & crate::nik::KEYED_BIT != self.layout.keyed {
                    return Err(format!("family {index}: a KK and a pseudonym in one file"));
                }
                crate::domain::kk::Kk::from_u64(f.kk.get()).map_err(|e| {
                    format!("family {index}: stored KK {} is invalid: {e}", f.kk.get())
                })?;
                let first = f.first_member.get() as usize;
                match self.raw_person(first) {
                    Some(p)
                        if p.w1.get() as u32 as usize == index
                            && p.w0.get() & FIRST_MEMBER_BIT != 0 => {}
                    _ => {
                        return Err(format!(
                            "family {index}: first member {first} is not a marked member"
                        ));
                    }
                }
            }
            Ok(())
        })
        .map(|_| ())
    }

    /// The region counts add up to the header's persons and families.
    fn verify_region_counts(&self) -> std::result::Result<(), String> {
        let Some(counts) = self.region_counts() else {
            return Ok(());
        };
        let counts: Vec<RegionCount> = counts
            .collect::<Option<_>>()
            .ok_or("region counts section is malformed")?;
        let persons: u64 = counts.iter().map(|c| u64::from(c.persons)).sum();
        let families: u64 = counts.iter().map(|c| u64::from(c.families)).sum();
        if persons != self.header.persons || families != self.header.families {
            return Err(format!(
                "region counts add up to {persons} persons and {families} families, the header says {} and {}",
                self.header.persons, self.header.families
            ));
        }
        if counts
            .iter()
            .any(|c| u64::from(c.profile) >= self.header.profiles)
        {
            return Err("region counts name a profile out of range".into());
        }
        Ok(())
    }

    #[inline]
    fn section(&self, kind: SectionKind) -> &[u8] {
        // Ranges were checked against the file's length in `open`.
        self.bytes
            .as_slice()
            .get(self.sections[kind as usize - 1].clone())
            .unwrap_or(&[])
    }

    /// The file this snapshot was opened from.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// The header's checksum: it covers the header and the section table,
    /// which holds every section's checksum, so it names this file's
    /// contents (a store records it in `CURRENT`).
    pub fn checksum(&self) -> u64 {
        read_u64(self.bytes.as_slice(), OFF_HEADER_CHECKSUM)
    }

    /// The generation number (1 for a first build).
    pub fn generation(&self) -> u64 {
        self.header.generation
    }

    /// Person records (duplicates included).
    pub fn person_count(&self) -> u64 {
        self.header.persons
    }

    /// Family records.
    pub fn family_count(&self) -> u64 {
        self.header.families
    }

    /// Distinct profiles.
    pub fn profile_count(&self) -> u64 {
        self.header.profiles
    }

    /// Person records whose NIK appears more than once.
    pub fn duplicate_count(&self) -> u64 {
        self.header.duplicates
    }

    /// The date eligibility was computed on.
    pub fn as_of(&self) -> Date {
        Date::from_unix_days(self.header.as_of_days).unwrap_or(Date::EPOCH)
    }

    /// Build time, seconds since the Unix epoch.
    pub fn created_secs(&self) -> u64 {
        self.header.created_secs
    }

    /// The file's size in bytes.
    pub fn byte_len(&self) -> u64 {
        self.bytes.as_slice().len() as u64
    }

    /// Each section's name and length in bytes.
    pub fn section_sizes(&self) -> Vec<(&'static str, u64)> {
        SectionKind::ALL
            .iter()
            .filter(|k| self.present[**k as usize - 1])
            .map(|k| (k.name(), self.sections[*k as usize - 1].len() as u64))
            .collect()
    }

    /// The program registry the snapshot was built with.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The region names the snapshot carries (decoded on first use).
    pub fn regions(&self) -> &RegionTable {
        self.names
            .get_or_init(|| self.region_names_table().unwrap_or_default())
    }

    fn region_names_table(&self) -> std::result::Result<RegionTable, String> {
        let names: Vec<(u8, u64, String, bool)> =
            postcard::from_bytes(self.section(SectionKind::RegionNames))
                .map_err(|e| format!("region names do not decode: {e}"))?;
        let mut regions = Vec::with_capacity(names.len());
        for (level, code, name, former) in names {
            let level = match level {
                0 => Level::Province,
                1 => Level::Regency,
                2 => Level::District,
                3 => Level::Village,
                other => return Err(format!("region names: unknown level {other}")),
            };
            let code =
                RegionCode::new(level, code).ok_or(format!("region names: bad code {code}"))?;
            let status = if former {
                Status::Former {
                    last_listed_in: String::new(),
                    successor: None,
                }
            } else {
                Status::Current
            };
            regions.push(Region { code, name, status });
        }
        Ok(RegionTable::from_regions(regions))
    }

    fn village_count(&self) -> usize {
        self.section(SectionKind::Villages).len() / 8
    }

    /// Every village code, in index order.
    pub fn village_codes(&self) -> Vec<u64> {
        self.section(SectionKind::Villages)
            .chunks_exact(8)
            .map(|b| read_u64(b, 0))
            .collect()
    }

    /// Persons and families per (district of residence, profile), when the
    /// file carries them (format 1.1). Each item is `None` where the
    /// section is malformed (only in a file that `verify` refuses).
    pub fn region_counts(&self) -> Option<impl Iterator<Item = Option<RegionCount>> + '_> {
        if !self.present[SectionKind::RegionCounts as usize - 1] {
            return None;
        }
        Some(decode_region_counts(
            self.section(SectionKind::RegionCounts),
        ))
    }

    /// Every profile record, in index order.
    pub fn profiles(&self) -> impl Iterator<Item = &ProfileRaw> + '_ {
        <[ProfileRaw]>::ref_from_bytes(self.section(SectionKind::Profiles))
            .map(|s| s.iter())
            .unwrap_or_default()
    }

    /// Calls `f(word0, word2)` for every person record in `slots` (slot
    /// numbers, empty ones skipped), in order, with the record in its
    /// memory form ([`PersonRaw`]): the sequential scan a report without
    /// region counts would be made of.
    #[inline]
    pub fn for_each_person_word(&self, slots: Range<usize>, mut f: impl FnMut(u64, u64)) {
        for slot in slots {
            if let Some(p) = self.raw_person(slot) {
                f(p.w0.get(), p.w2.get());
            }
        }
    }

    /// Calls `f(village index, profile index, first member of its family)`
    /// for every person record in `slots`, in order: what a count by region
    /// and class needs of a record, decoded with the format's constants.
    #[inline]
    pub fn for_each_person_tally(&self, slots: Range<usize>, mut f: impl FnMut(u32, u32, bool)) {
        self.for_each_person_word(slots, |w0, w2| {
            let village = ((w2 >> VILLAGE_SHIFT) & VILLAGE_MASK) as u32;
            let profile = (w2 & PROFILE_MASK) as u32;
            f(village, profile, w0 & FIRST_MEMBER_BIT != 0)
        })
    }

    /// The index of a village code in the snapshot's village list.
    pub fn village_index(&self, code: u64) -> Option<u32> {
        let villages = self.section(SectionKind::Villages);
        let n = villages.len() / 8;
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let v = read_u64(villages, mid * 8);
            match v.cmp(&code) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return u32::try_from(mid).ok(),
            }
        }
        None
    }

    /// The 10-digit code of village `index`.
    #[inline]
    pub fn village_code(&self, index: u32) -> Option<u64> {
        let off = index as usize * 8;
        let b = self.section(SectionKind::Villages).get(off..off + 8)?;
        Some(read_u64(b, 0))
    }

    /// The record in a slot, decoded, with its NIK's hash; `None` for an
    /// empty or missing slot.
    #[inline]
    fn raw_person_hashed(&self, slot: usize) -> Option<(PersonRaw, u64)> {
        let (rec, h) = self.record_hashed(slot)?;
        Some((self.layout.decode(rec, h), h))
    }

    /// The bytes of the record in a slot and its NIK's hash; `None` for an
    /// empty or missing slot.
    #[inline]
    fn record_hashed(&self, slot: usize) -> Option<(&[u8; RECORD_LEN], u64)> {
        let (index, at) = (slot / LINE_SLOTS, slot % LINE_SLOTS);
        let line = line_in(self.section(SectionKind::Persons), index)?;
        if at >= usize::from(line[LINE_HEADER_AT] & LINE_COUNT_MASK) {
            return None;
        }
        let rec = record_in(line, at)?;
        Some((rec, self.hash_in(slot, rec)?))
    }

    /// The NIK hash of the record `rec` in `slot`: from its home line and
    /// remainder, or for an overflow record from the overflow section.
    #[inline]
    fn hash_in(&self, slot: usize, rec: &[u8; RECORD_LEN]) -> Option<u64> {
        let index = (slot / LINE_SLOTS) as u64;
        if index < self.layout.lines {
            let home = index.checked_sub(RecordLayout::disp_of(rec))?;
            Some(self.layout.hash_of(home, self.layout.rem_of(rec)))
        } else {
            self.overflow_hash(slot - self.layout.lines as usize * LINE_SLOTS)
        }
    }

    /// The record in a slot, decoded.
    #[inline]
    fn raw_person(&self, slot: usize) -> Option<PersonRaw> {
        self.raw_person_hashed(slot).map(|(p, _)| p)
    }

    /// The hash of overflow record `j`.
    fn overflow_hash(&self, j: usize) -> Option<u64> {
        self.section(SectionKind::Overflow)
            .get(j * 8..j * 8 + 8)
            .map(|b| read_u64(b, 0))
    }

    /// Overflow records whose hash is `h` (a NIK's records there are
    /// adjacent: the overflow is in hash order).
    fn overflow_range(&self, h: u64) -> Range<usize> {
        let keys = self.section(SectionKind::Overflow);
        let n = keys.len() / 8;
        let key = |j: usize| read_u64(keys, j * 8);
        let lo = self.overflow_partition(|k| k < h);
        let mut end = lo;
        while end < n && key(end) == h {
            end += 1;
        }
        lo..end
    }

    /// The first overflow index whose hash is not `below` (a binary search:
    /// the overflow is in hash order, and `below` must hold for a prefix).
    fn overflow_partition(&self, below: impl Fn(u64) -> bool) -> usize {
        let keys = self.section(SectionKind::Overflow);
        let (mut lo, mut hi) = (0usize, keys.len() / 8);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if below(read_u64(keys, mid * 8)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Slots in the persons section: three per line, some empty (see
    /// [`Snapshot::person_at`]).
    pub fn slot_count(&self) -> u64 {
        (self.section(SectionKind::Persons).len() / LINE_LEN * LINE_SLOTS) as u64
    }

    /// Home lines (L) and overflow records (X) of the person index.
    pub fn lines_and_overflow(&self) -> (u64, u64) {
        (self.layout.lines, self.header.overflow)
    }

    /// How far records lie from their home line: `by[k]` records lie `k`
    /// lines on, over the home lines' records (the overflow is
    /// [`Snapshot::lines_and_overflow`]'s second figure). Reads every line:
    /// O(N).
    pub fn displacements(&self) -> [u64; MAX_DISPLACEMENT as usize + 1] {
        let mut by = [0u64; MAX_DISPLACEMENT as usize + 1];
        let persons = self.section(SectionKind::Persons);
        for index in 0..self.layout.lines as usize {
            let Some(line) = line_in(persons, index) else {
                break;
            };
            let count = usize::from(line[LINE_HEADER_AT] & LINE_COUNT_MASK);
            for at in 0..count.min(LINE_SLOTS) {
                if let Some(rec) = record_in(line, at) {
                    by[RecordLayout::disp_of(rec) as usize] += 1;
                }
            }
        }
        by
    }

    /// Every person, in slot order (the home lines, then the overflow).
    pub fn persons(&self) -> impl Iterator<Item = Person<'_>> + '_ {
        (0..self.slot_count() as u32).filter_map(|slot| self.person_at(slot))
    }

    #[inline]
    fn raw_profile(&self, index: usize) -> Option<&ProfileRaw> {
        let off = index.checked_mul(size_of::<ProfileRaw>())?;
        let bytes = self
            .section(SectionKind::Profiles)
            .get(off..off + size_of::<ProfileRaw>())?;
        ProfileRaw::ref_from_bytes(bytes).ok()
    }

    #[inline]
    fn raw_family(&self, index: usize) -> Option<&FamilyRaw> {
        let off = index.checked_mul(size_of::<FamilyRaw>())?;
        let bytes = self
            .section(SectionKind::Families)
            .get(off..off + size_of::<FamilyRaw>())?;
        FamilyRaw::ref_from_bytes(bytes).ok()
    }

    /// The slot of the first record with this NIK.
    #[inline]
    pub fn find(&self, nik: u64) -> Option<u32> {
        self.find_hashed(self.layout.lookup_hash(nik)?)
    }

    /// The slot of the first record whose NIK hashes to `h`: one line, the
    /// home line, for all but the records pushed out of it.
    #[inline(always)]
    fn find_hashed(&self, h: u64) -> Option<u32> {
        self.locate(h).map(|(slot, _)| slot)
    }

    /// The home's displaced records, then the overflow: what a lookup reads
    /// when its home line does not hold the NIK.
    fn find_beyond_home(&self, home: usize, header: u8, h: u64) -> Option<u32> {
        self.locate_beyond_home(home, header, h)
            .map(|(slot, _)| slot)
    }

    /// [`Snapshot::find_beyond_home`] with the record found.
    fn locate_beyond_home(
        &self,
        home: usize,
        header: u8,
        h: u64,
    ) -> Option<(u32, &[u8; RECORD_LEN])> {
        let mut found = None;
        self.walk_displaced(home, header, h & self.layout.rem_mask(), |slot, rec| {
            found = Some((slot, rec));
            true
        });
        if found.is_some() || header & LINE_OVERFLOW_BIT == 0 {
            return found;
        }
        let r = self.overflow_range(h);
        if r.start == r.end {
            return None;
        }
        let slot = self.layout.lines as usize * LINE_SLOTS + r.start;
        let line = line_in(self.section(SectionKind::Persons), slot / LINE_SLOTS)?;
        Some((slot as u32, record_in(line, slot % LINE_SLOTS)?))
    }

    /// Calls `visit(slot, record)` for each displaced record of home line
    /// `home` (whose header is `header`) with hash remainder `rem`, in slot
    /// order, until `visit` returns true.
    ///
    /// A home's displaced records lie in a run of lines that starts where
    /// its header says and ends at the first line that is not full or holds
    /// a record of a later home (docs/FORMAT.md): the builder fills free
    /// slots nearest first, in hash order.
    fn walk_displaced<'s>(
        &'s self,
        home: usize,
        header: u8,
        rem: u64,
        mut visit: impl FnMut(u32, &'s [u8; RECORD_LEN]) -> bool,
    ) {
        let first = usize::from(header >> LINE_DISPLACED_SHIFT);
        if first == 0 {
            return;
        }
        let persons = self.section(SectionKind::Persons);
        for k in first..=MAX_DISPLACEMENT as usize {
            let index = home + k;
            if index as u64 >= self.layout.lines {
                return;
            }
            let Some(line) = line_in(persons, index) else {
                return;
            };
            let count = usize::from(line[LINE_HEADER_AT] & LINE_COUNT_MASK).min(LINE_SLOTS);
            let mut later_home = false;
            for at in 0..count {
                let Some(rec) = record_in(line, at) else {
                    return;
                };
                let disp = RecordLayout::disp_of(rec) as usize;
                if disp == k
                    && self.layout.rem_of(rec) == rem
                    && visit((index * LINE_SLOTS + at) as u32, rec)
                {
                    return;
                }
                later_home |= disp > 0 && disp < k;
            }
            if count < LINE_SLOTS || later_home {
                return;
            }
        }
    }

    /// The person with this NIK (the first record if it is a duplicate
    /// identity; see [`Snapshot::get_all`]).
    #[inline]
    pub fn get(&self, nik: Nik) -> Option<Person<'_>> {
        let h = self.layout.lookup_hash(nik.get())?;
        let (slot, rec) = self.locate(h)?;
        Some(self.person_of(slot, rec, Some(h)))
    }

    /// The slot and bytes of the first record whose NIK hashes to `h`
    /// ([`Snapshot::get`] keeps the record; [`Snapshot::find`] the slot).
    #[inline(always)]
    fn locate(&self, h: u64) -> Option<(u32, &[u8; RECORD_LEN])> {
        let persons = self.section(SectionKind::Persons);
        let home = self.layout.home(h) as usize;
        let mask = self.layout.rem_mask();
        let line = line_in(persons, home)?;
        let at = home_line_match(line, h & mask, mask);
        if at < LINE_SLOTS {
            return Some(((home * LINE_SLOTS + at) as u32, record_in(line, at)?));
        }
        self.locate_beyond_home(home, line[LINE_HEADER_AT], h)
    }

    /// Every record with this NIK (more than one for a duplicate identity),
    /// in slot order.
    pub fn get_all(&self, nik: Nik) -> impl Iterator<Item = Person<'_>> + '_ {
        let h = self.layout.lookup_hash(nik.get());
        let slots = h.map(|h| self.slots_of_hash(h)).unwrap_or_default();
        slots
            .into_iter()
            .filter_map(move |slot| self.person_with_hash(slot, h?))
    }

    /// The slots of every record whose NIK hashes to `h`, in slot order:
    /// the home line, the displaced run, the overflow.
    fn slots_of_hash(&self, h: u64) -> Vec<u32> {
        let home = self.layout.home(h) as usize;
        let rem = h & self.layout.rem_mask();
        let mut slots = Vec::new();
        let Some(line) = line_in(self.section(SectionKind::Persons), home) else {
            return slots;
        };
        let count = usize::from(line[LINE_HEADER_AT] & LINE_COUNT_MASK).min(LINE_SLOTS);
        for at in 0..count {
            let Some(rec) = record_in(line, at) else {
                break;
            };
            if RecordLayout::disp_of(rec) == 0 && self.layout.rem_of(rec) == rem {
                slots.push((home * LINE_SLOTS + at) as u32);
            }
        }
        let header = line[LINE_HEADER_AT];
        self.walk_displaced(home, header, rem, |slot, _| {
            slots.push(slot);
            false
        });
        if header & LINE_OVERFLOW_BIT != 0 {
            let base = self.layout.lines as usize * LINE_SLOTS;
            slots.extend(self.overflow_range(h).map(|j| (base + j) as u32));
        }
        slots
    }

    /// The person at a slot (from [`Snapshot::find`] or a batch lookup);
    /// `None` for an empty slot.
    #[inline]
    pub fn person_at(&self, slot: u32) -> Option<Person<'_>> {
        let (index, at) = (slot as usize / LINE_SLOTS, slot as usize % LINE_SLOTS);
        let line = line_in(self.section(SectionKind::Persons), index)?;
        if at >= usize::from(line[LINE_HEADER_AT] & LINE_COUNT_MASK) {
            return None;
        }
        Some(self.person_of(slot, record_in(line, at)?, None))
    }

    /// The person at a slot whose NIK's hash is known (no need to rebuild
    /// it from the record).
    #[inline]
    fn person_with_hash(&self, slot: u32, h: u64) -> Option<Person<'_>> {
        let (index, at) = (slot as usize / LINE_SLOTS, slot as usize % LINE_SLOTS);
        let line = line_in(self.section(SectionKind::Persons), index)?;
        Some(self.person_of(slot, record_in(line, at)?, Some(h)))
    }

    /// A person view of a record: its fields are read from the record's
    /// bytes when asked for, so a lookup that wants two of them does not
    /// pay for unpacking all of them.
    #[inline(always)]
    fn person_of<'s>(&'s self, slot: u32, rec: &'s [u8; RECORD_LEN], h: Option<u64>) -> Person<'s> {
        Person {
            snapshot: self,
            slot,
            rec,
            h,
        }
    }

    /// Looks up many NIKs at once, keeping many memory accesses in flight
    /// (see [`Snapshot::find_each`]). `out[i]` is the slot of `niks[i]`,
    /// if found.
    pub fn find_many(&self, niks: &[u64], out: &mut [Option<u32>]) {
        let n = niks.len().min(out.len());
        self.find_each(n, |i| niks[i], |i, slot| out[i] = slot);
    }

    /// Looks up `n` NIKs, the `i`-th being `nik(i)`, and calls
    /// `found(i, slot)` for each, in order — the batch lookup that keeps
    /// many memory accesses in flight. Each NIK's home line is prefetched
    /// [`PREFETCH_DISTANCE`] lookups before it is scanned; a NIK not in
    /// its home line whose records continue in the next line has that line
    /// prefetched as many lookups before its second scan. So `found` runs
    /// while the record is in the L1 cache and may read it
    /// ([`Snapshot::person_at`]) at no further cost. `nik(i)` is called
    /// once per `i`, in order.
    #[inline]
    pub fn find_each(
        &self,
        n: usize,
        mut nik: impl FnMut(usize) -> u64,
        mut found: impl FnMut(usize, Option<u32>),
    ) {
        const D: usize = PREFETCH_DISTANCE;
        const RING: usize = (2 * D + 1).next_power_of_two();
        let persons = self.section(SectionKind::Persons);
        let layout = self.layout;
        let mask = layout.rem_mask();
        // Per lookup in flight: the NIK's hash (and whether it can be
        // here at all), then the home line's answer.
        let mut hashes = [0u64; RING];
        let mut foreign = [false; RING];
        let mut early = [NONE; RING];
        for i in 0..n + 2 * D {
            if i < n {
                let h = layout.lookup_hash(nik(i));
                foreign[i % RING] = h.is_none();
                let h = h.unwrap_or(0);
                hashes[i % RING] = h;
                mmap::prefetch(persons, layout.home(h) as usize * LINE_LEN);
            }
            if i >= D && i - D < n {
                let j = (i - D) % RING;
                let home = layout.home(hashes[j]) as usize;
                early[j] = match line_in(persons, home) {
                    Some(line) => {
                        let f = scan_home_line(line, home, hashes[j] & mask, mask);
                        let first = usize::from(line[LINE_HEADER_AT] >> LINE_DISPLACED_SHIFT);
                        if f == NONE && first != 0 {
                            mmap::prefetch(persons, (home + first) * LINE_LEN);
                        }
                        f
                    }
                    None => NONE,
                };
            }
            if i >= 2 * D && i - 2 * D < n {
                let j = (i - 2 * D) % RING;
                let slot = if foreign[j] {
                    None
                } else if early[j] != NONE {
                    Some(early[j])
                } else {
                    let home = layout.home(hashes[j]) as usize;
                    line_in(persons, home)
                        .and_then(|l| self.find_beyond_home(home, l[LINE_HEADER_AT], hashes[j]))
                };
                found(i - 2 * D, slot);
            }
        }
    }

    /// The family with this KK, with its members.
    #[inline]
    pub fn family(&self, kk: Kk) -> Option<Family<'_>> {
        // A KK at a keyed file, or a pseudonym at a plain one: nobody's.
        if kk.get() & crate::nik::KEYED_BIT != self.layout.keyed {
            return None;
        }
        let families = self.section(SectionKind::Families);
        let count = families.len() / size_of::<FamilyRaw>();
        let (mut lo, mut hi) = (0usize, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let f = self.raw_family(mid)?;
            match f.kk.get().cmp(&kk.get()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.family_at(mid as u32),
            }
        }
        None
    }

    /// The family at an index (from [`Person::family_index`]).
    #[inline]
    pub fn family_at(&self, index: u32) -> Option<Family<'_>> {
        let raw = self.raw_family(index as usize)?;
        Some(Family {
            snapshot: self,
            index,
            raw,
        })
    }
}

/// Record `at` (0-2) of a line.
#[inline(always)]
fn record_in(line: &[u8; LINE_LEN], at: usize) -> Option<&[u8; RECORD_LEN]> {
    line.get(at * RECORD_LEN..)?.first_chunk::<RECORD_LEN>()
}

/// Starts loading the line of the persons section that holds `slot`
/// (nothing for a slot past the section's end, which a damaged file may
/// name).
#[inline]
fn prefetch_slot(persons: &[u8], slot: usize) {
    if let Some(at) = (slot / LINE_SLOTS).checked_mul(LINE_LEN) {
        mmap::prefetch(persons, at);
    }
}

/// Line `index` of the persons section.
#[inline(always)]
fn line_in(persons: &[u8], index: usize) -> Option<&[u8; LINE_LEN]> {
    persons
        .get(index.checked_mul(LINE_LEN)?..)?
        .first_chunk::<LINE_LEN>()
}

/// The slot of the record in home line `line` (line number `index`) that is
/// its own (displacement 0) and holds hash remainder `rem`, or [`NONE`]
/// (see [`home_line_match`]: no branch depends on the records).
#[inline(always)]
fn scan_home_line(line: &[u8; LINE_LEN], index: usize, rem: u64, mask: u64) -> u32 {
    let at = home_line_match(line, rem, mask);
    std::hint::select_unpredictable(at < LINE_SLOTS, (index * LINE_SLOTS + at) as u32, NONE)
}

/// Each kind's byte range, checksum and presence, indexed by `kind - 1`.
type SectionTable = (
    [Range<usize>; SECTION_KINDS],
    [u64; SECTION_KINDS],
    [bool; SECTION_KINDS],
);

/// Checks the section table and returns each kind's byte range, checksum
/// and presence (required kinds must be there).
fn section_ranges(
    table: &[u8],
    file_len: usize,
    h: &Header,
) -> std::result::Result<SectionTable, String> {
    let mut ranges: [Option<Range<usize>>; SECTION_KINDS] = Default::default();
    let mut sums = [0u64; SECTION_KINDS];
    let mut all: Vec<Range<usize>> = Vec::new();
    for (i, entry) in table.chunks_exact(SECTION_ENTRY_LEN).enumerate() {
        let e = SectionEntry::ref_from_bytes(entry)
            .map_err(|_| format!("section entry {i} unreadable"))?;
        let (offset, length) = (e.offset.get(), e.length.get());
        if offset % SECTION_ALIGN != 0 {
            return Err(format!(
                "section entry {i}: offset {offset} is not a multiple of {SECTION_ALIGN}"
            ));
        }
        let end = offset.checked_add(length).filter(|end| *end <= file_len as u64).ok_or_else(|| {
            format!("truncated or damaged: section entry {i} spans {offset}+{length}, the file has {file_len} bytes")
        })?;
        let range = offset as usize..end as usize;
        if all
            .iter()
            .any(|r| r.start < range.end && range.start < r.end)
        {
            return Err(format!("section entry {i} overlaps another section"));
        }
        all.push(range.clone());
        let Some(kind) = SectionKind::from_u32(e.kind.get()) else {
            continue;
        };
        let slot = &mut ranges[kind as usize - 1];
        if slot.is_some() {
            return Err(format!("section {} appears twice", kind.name()));
        }
        *slot = Some(range);
        sums[kind as usize - 1] = e.checksum.get();
    }
    let mut out: [Range<usize>; SECTION_KINDS] = Default::default();
    let mut present = [false; SECTION_KINDS];
    for kind in SectionKind::ALL {
        let i = kind as usize - 1;
        match ranges[i].clone() {
            Some(r) => {
                out[i] = r;
                present[i] = true;
            }
            None if kind.required() => return Err(format!("section {} is missing", kind.name())),
            None => {}
        }
    }
    let len = |k: SectionKind| out[k as usize - 1].len() as u64;
    let expect = |k: SectionKind, want: Option<u64>| match want {
        Some(w) if w == len(k) => Ok(()),
        _ => Err(format!(
            "section {} has {} bytes, the header's counts need {want:?}",
            k.name(),
            len(k)
        )),
    };
    let total_lines = h.lines.checked_add(h.overflow.div_ceil(LINE_SLOTS as u64));
    expect(
        SectionKind::Persons,
        total_lines.and_then(|l| l.checked_mul(LINE_LEN as u64)),
    )?;
    expect(SectionKind::Overflow, h.overflow.checked_mul(8))?;
    expect(SectionKind::Profiles, h.profiles.checked_mul(16))?;
    expect(SectionKind::Families, h.families.checked_mul(16))?;
    let slots = total_lines.and_then(|l| l.checked_mul(LINE_SLOTS as u64));
    if h.lines == 0
        || !slots.is_some_and(|s| s < u64::from(NO_NEXT) && h.persons <= s)
        || h.overflow > h.persons
        || h.profiles > MAX_PROFILES
    {
        return Err("header counts out of range".into());
    }
    if len(SectionKind::Villages) % 8 != 0 {
        return Err("villages section is not a whole number of codes".into());
    }
    Ok((out, sums, present))
}

/// A person as the snapshot holds them: a view of the record in place.
#[derive(Clone, Copy)]
pub struct Person<'a> {
    snapshot: &'a Snapshot,
    slot: u32,
    rec: &'a [u8; RECORD_LEN],
    /// The NIK's hash when the caller knew it (a lookup by NIK); else it
    /// is rebuilt from the record when the NIK is asked for.
    h: Option<u64>,
}

impl<'a> Person<'a> {
    /// The record's slot in the snapshot.
    #[inline]
    pub fn slot(&self) -> u32 {
        self.slot
    }

    /// The NIK.
    #[inline]
    pub fn nik(&self) -> Nik {
        // Checked when built (and by `verify`): read as stored.
        let h = self
            .h
            .or_else(|| self.snapshot.hash_in(self.slot as usize, self.rec));
        Nik::from_stored(h.map_or(0, |h| self.snapshot.layout.nik_of_hash(h)))
    }

    /// Sex as registered.
    #[inline]
    pub fn sex(&self) -> Sex {
        if RecordLayout::sex_of(self.rec) == 1 {
            Sex::Female
        } else {
            Sex::Male
        }
    }

    /// Place in the family.
    #[inline]
    pub fn relation(&self) -> Relation {
        Relation::from_code(RecordLayout::relation_of(self.rec))
    }

    /// Whether this record is its family's first member (exactly one per
    /// family: scans count families through it).
    #[inline]
    pub fn is_first_member(&self) -> bool {
        RecordLayout::is_first_member(self.rec)
    }

    /// The family's index in the snapshot.
    #[inline]
    pub fn family_index(&self) -> u32 {
        self.snapshot.layout.family_of(self.rec)
    }

    /// The family card number (reads the family record).
    #[inline]
    pub fn kk(&self) -> Option<Kk> {
        self.family()
            .and_then(|f| Kk::from_u64(f.raw.kk.get()).ok())
    }

    /// The person's family.
    #[inline]
    pub fn family(&self) -> Option<Family<'a>> {
        self.snapshot.family_at(self.family_index())
    }

    /// The index of the person's village in the snapshot's village list
    /// ([`Snapshot::village_code`] gives its code).
    #[inline]
    pub fn village_index(&self) -> u32 {
        RecordLayout::village_of(self.rec)
    }

    /// The village code where the family lives.
    #[inline]
    pub fn village_code(&self) -> Option<u64> {
        self.snapshot
            .village_code(RecordLayout::village_of(self.rec))
    }

    /// Birth date as registered.
    #[inline]
    pub fn birth_date(&self) -> Date {
        birth_date(RecordLayout::birth_of(self.rec))
    }

    /// The family's welfare decile (1 = poorest).
    #[inline]
    pub fn decile(&self) -> u8 {
        self.profile().decile
    }

    /// Recorded as deceased.
    #[inline]
    pub fn deceased(&self) -> bool {
        self.profile().flags & FLAG_DECEASED != 0
    }

    /// Civil servant, police or military.
    #[inline]
    pub fn civil_servant(&self) -> bool {
        self.profile().flags & FLAG_CIVIL_SERVANT != 0
    }

    /// The NIK appears in more than one record.
    #[inline]
    pub fn duplicate(&self) -> bool {
        self.profile().flags & FLAG_DUPLICATE != 0
    }

    /// Recorded eligibility components.
    #[inline]
    pub fn components(&self) -> ComponentSet {
        ComponentSet(self.profile().components.get())
    }

    /// Programs the person is eligible for (on the snapshot's as-of date).
    #[inline]
    pub fn eligible(&self) -> ProgramSet {
        ProgramSet(self.profile().eligible.get())
    }

    /// Programs the person is enrolled in.
    #[inline]
    pub fn enrolled(&self) -> ProgramSet {
        ProgramSet(self.profile().enrolled.get())
    }

    /// The person's profile record, read when a field of it is asked for
    /// (a lookup that wants the family alone does not pay for it). An
    /// index past the profiles (a damaged file that `verify` refuses)
    /// reads as the empty profile.
    #[inline]
    fn profile(&self) -> &'a ProfileRaw {
        self.snapshot
            .raw_profile(RecordLayout::profile_of(self.rec) as usize)
            .unwrap_or(&EMPTY_PROFILE)
    }

    /// The index of the person's profile.
    #[inline]
    pub fn profile_index(&self) -> u32 {
        RecordLayout::profile_of(self.rec)
    }

    /// Lines between the record and its NIK's home line: 0 for a record
    /// in its home line (82 % of persons at the builder's load), where a
    /// lookup reads one cache line; more for a record pushed out of it,
    /// whose lookup reads its home line, then walks on from there (see
    /// docs/FORMAT.md). 0 also for a record in the overflow area.
    #[inline]
    pub fn home_distance(&self) -> u8 {
        RecordLayout::disp_of(self.rec) as u8
    }
}

impl std::fmt::Debug for Person<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Person")
            .field("nik", &self.nik())
            .field("slot", &self.slot)
            .field("family", &self.family_index())
            .field("eligible", &self.eligible())
            .field("enrolled", &self.enrolled())
            .finish()
    }
}

/// A family as the snapshot holds it.
#[derive(Clone, Copy)]
pub struct Family<'a> {
    snapshot: &'a Snapshot,
    index: u32,
    raw: &'a FamilyRaw,
}

impl<'a> Family<'a> {
    /// The family's index.
    #[inline]
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The family card number.
    #[inline]
    pub fn kk(&self) -> u64 {
        self.raw.kk.get()
    }

    /// Family-unit programs any member is enrolled in.
    #[inline]
    pub fn enrolled(&self) -> ProgramSet {
        ProgramSet(self.raw.enrolled.get())
    }

    /// The members, in snapshot order.
    #[inline]
    pub fn members(&self) -> impl Iterator<Item = Person<'a>> + 'a {
        let snapshot = self.snapshot;
        let mut next = self.raw.first_member.get();
        let limit = snapshot.slot_count();
        let mut steps = 0u64;
        std::iter::from_fn(move || {
            // A damaged link could loop; a family is never larger than the file.
            if next == NO_NEXT || steps > limit {
                return None;
            }
            steps += 1;
            let p = snapshot.person_at(next)?;
            next = RecordLayout::next_of(p.rec);
            Some(p)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::in_runs_of_at_least as in_runs;

    #[test]
    fn runs_cover_every_item_once_in_order_and_aligned() {
        for n in [0, 1, 63, 64, 65, 1000, 4097] {
            for align in [1, 3, 64] {
                let runs = in_runs(n, align, 1, |r| {
                    assert_eq!(r.start % align, 0, "run {r:?} not aligned to {align}");
                    Ok(r)
                })
                .unwrap();
                let items: Vec<usize> = runs.into_iter().flatten().collect();
                assert_eq!(
                    items,
                    (0..n).collect::<Vec<_>>(),
                    "n = {n}, align = {align}"
                );
            }
        }
    }

    #[test]
    fn the_first_failing_run_is_the_error() {
        // Items 10 and 900 fail; whatever the number of cores, the run
        // holding item 10 comes first.
        let got = in_runs(1000, 1, 1, |r| {
            match r.clone().find(|i| *i == 10 || *i == 900) {
                Some(i) => Err(format!("item {i}")),
                None => Ok(()),
            }
        });
        assert_eq!(got, Err("item 10".to_string()));
    }
}
