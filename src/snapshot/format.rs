//! The snapshot's byte layout (docs/FORMAT.md), as constants and
//! fixed-layout record types.
//!
//! ```text
//! 0        256                 256 + 32·S          (64-aligned sections)
//! ┌────────┬───────────────────┬─────────┬─────┬─────────┐
//! │ header │ section table     │ section │ ... │ section │
//! └────────┴───────────────────┴─────────┴─────┴─────────┘
//! ```
//!
//! All integers are little-endian: the record types are built from
//! `zerocopy::little_endian` integers, so a big-endian host reads the same
//! values and no field is ever read with the host's byte order.

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `\x89TEPAT\r\n`: a high-bit byte, the name, CRLF.
pub const MAGIC: [u8; 8] = *b"\x89TEPAT\r\n";
/// The major version this code writes and reads (3.0: the registry section
/// carries each program's payable window; 2.0: persons in cache-line
/// buckets, no directory; see docs/FORMAT.md's version history).
pub const FORMAT_MAJOR: u16 = 3;
/// The older major version this build also reads (docs/FORMAT.md, version
/// history).
pub const FORMAT_MAJOR_READ_TOO: u16 = 2;
/// The minor version this code writes (3.1: an optional Ed25519
/// signature in the header; 3.2: keyed identities, flagged in the header
/// with the key's check value; docs/FORMAT.md, "Version history").
pub const FORMAT_MINOR: u16 = 2;
/// Bytes in the header.
pub const HEADER_LEN: usize = 256;
/// Bytes in a section table entry.
pub const SECTION_ENTRY_LEN: usize = 32;
/// The most sections a file may list.
pub const MAX_SECTIONS: usize = 64;
/// Sections start at multiples of this.
pub const SECTION_ALIGN: u64 = 64;

// Header field offsets.
pub(crate) const OFF_MAGIC: usize = 0;
pub(crate) const OFF_MAJOR: usize = 8;
pub(crate) const OFF_MINOR: usize = 10;
pub(crate) const OFF_HEADER_LEN: usize = 12;
pub(crate) const OFF_SECTION_COUNT: usize = 16;
pub(crate) const OFF_FLAGS: usize = 20;
pub(crate) const OFF_GENERATION: usize = 24;
pub(crate) const OFF_PERSONS: usize = 32;
pub(crate) const OFF_FAMILIES: usize = 40;
pub(crate) const OFF_PROFILES: usize = 48;
pub(crate) const OFF_LINES: usize = 56;
pub(crate) const OFF_HASH_SEED: usize = 64;
pub(crate) const OFF_AS_OF_DAYS: usize = 72;
pub(crate) const OFF_CREATED_SECS: usize = 80;
pub(crate) const OFF_DUPLICATES: usize = 88;
pub(crate) const OFF_OVERFLOW: usize = 96;
pub(crate) const OFF_HEADER_CHECKSUM: usize = 248;

/// Bytes in a line of the persons section: one cache line.
pub const LINE_LEN: usize = 64;
/// Person records (slots) in a line.
pub const LINE_SLOTS: usize = 3;
/// Bytes in a person record.
pub const RECORD_LEN: usize = 21;
/// The line header byte's offset in its line (after the three records).
pub const LINE_HEADER_AT: usize = LINE_SLOTS * RECORD_LEN;
/// Line header: occupied slots (bits 0-1).
pub const LINE_COUNT_MASK: u8 = 0b11;
/// Line header: some record whose home is this line is in the overflow
/// (bit 2).
pub const LINE_OVERFLOW_BIT: u8 = 1 << 2;
/// Line header: how many lines after this one the first of its displaced
/// records lies, 0 when none is (bits 3-7).
pub const LINE_DISPLACED_SHIFT: u32 = 3;
/// The furthest a record may lie from its home line, in lines; a record
/// that would lie further goes to the overflow area.
pub const MAX_DISPLACEMENT: u64 = 31;
/// The builder's load: records per 100 slots of the home lines (3 slots a
/// line, so 2.61 records a line on average).
pub const LOAD_PERCENT: u64 = 87;
/// The most profiles a file may hold (24 bits in a record).
pub const MAX_PROFILES: u64 = 1 << 24;
/// Bits of a record's tail (family index and hash remainder).
pub(crate) const TAIL_BITS: u32 = 72;

/// `next member` value of a family's last member.
pub const NO_NEXT: u32 = u32::MAX;

/// Section kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum SectionKind {
    /// Postcard-encoded registry.
    Registry = 1,
    /// Village codes (`u64`), ascending.
    Villages = 2,
    /// Postcard-encoded region names.
    RegionNames = 3,
    /// Profile records.
    Profiles = 4,
    /// The hashes of the overflow records (`u64`), ascending.
    Overflow = 5,
    /// Person records in cache-line buckets (the home lines, then the
    /// overflow lines).
    Persons = 6,
    /// Family records by KK.
    Families = 7,
    /// Persons and families per (district, profile).
    RegionCounts = 8,
}

/// How many section kinds this version knows.
pub const SECTION_KINDS: usize = 8;

impl SectionKind {
    /// Every kind, in file order.
    pub const ALL: [SectionKind; SECTION_KINDS] = [
        SectionKind::Registry,
        SectionKind::Villages,
        SectionKind::RegionNames,
        SectionKind::Profiles,
        SectionKind::Overflow,
        SectionKind::Persons,
        SectionKind::Families,
        SectionKind::RegionCounts,
    ];

    /// Whether a file must have this section (every kind, in 2.0).
    pub const fn required(self) -> bool {
        true
    }

    /// The kind with this number.
    pub fn from_u32(v: u32) -> Option<SectionKind> {
        SectionKind::ALL.into_iter().find(|k| *k as u32 == v)
    }

    /// The section's name, for messages.
    pub const fn name(self) -> &'static str {
        match self {
            SectionKind::Registry => "registry",
            SectionKind::Villages => "villages",
            SectionKind::RegionNames => "region names",
            SectionKind::Profiles => "profiles",
            SectionKind::Overflow => "overflow",
            SectionKind::Persons => "persons",
            SectionKind::Families => "families",
            SectionKind::RegionCounts => "region counts",
        }
    }
}

/// One section table entry.
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct SectionEntry {
    /// [`SectionKind`] number.
    pub kind: U32,
    /// Zero.
    pub reserved: U32,
    /// Offset from the start of the file.
    pub offset: U64,
    /// Length in bytes.
    pub length: U64,
    /// xxh3-64 of the section's bytes.
    pub checksum: U64,
}

/// A person record as the code holds it in memory (three words; the file
/// stores it packed in 21 bytes, see [`RecordLayout`]).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct PersonRaw {
    /// nik (0-53) | sex (54) | relation (55-56) | first member (57).
    pub w0: U64,
    /// family index (0-31) | next member (32-63).
    pub w1: U64,
    /// profile (0-25) | village (26-43) | birth date (44-59).
    pub w2: U64,
}

pub(crate) const NIK_BITS: u32 = 54;
pub(crate) const NIK_MASK: u64 = (1 << NIK_BITS) - 1;
pub(crate) const SEX_SHIFT: u32 = 54;
pub(crate) const RELATION_SHIFT: u32 = 55;
/// Set on the one member of each family that the family record points to.
pub(crate) const FIRST_MEMBER_BIT: u64 = 1 << 57;
pub(crate) const PROFILE_BITS: u32 = 26;
pub(crate) const PROFILE_MASK: u64 = (1 << PROFILE_BITS) - 1;
pub(crate) const VILLAGE_SHIFT: u32 = 26;
pub(crate) const VILLAGE_BITS: u32 = 18;
pub(crate) const VILLAGE_MASK: u64 = (1 << VILLAGE_BITS) - 1;
pub(crate) const BIRTH_SHIFT: u32 = 44;
/// 1900-01-01 in days since the Unix epoch: the zero of a stored birth date.
pub(crate) const BIRTH_EPOCH_UNIX_DAYS: i64 = -25_567;

/// A profile record (16 bytes).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Unaligned,
)]
#[repr(C)]
pub struct ProfileRaw {
    /// Eligibility bitset.
    pub eligible: U32,
    /// Enrolment bitset.
    pub enrolled: U32,
    /// Recorded components.
    pub components: U16,
    /// Welfare decile.
    pub decile: u8,
    /// `FLAG_*` bits.
    pub flags: u8,
    /// Zero.
    pub reserved: U32,
}

/// Profile flag: deceased.
pub const FLAG_DECEASED: u8 = 1;
/// Profile flag: civil servant, police or military.
pub const FLAG_CIVIL_SERVANT: u8 = 2;
/// Profile flag: the NIK appears in more than one record.
pub const FLAG_DUPLICATE: u8 = 4;

/// Persons and families of one (district, profile) pair: the reports'
/// pre-aggregated column. Stored as LEB128 varints, sorted by district then
/// profile: the district as a delta from the previous record's, the profile
/// as a delta when the district repeats (else absolute), then persons and
/// families — about 4 bytes a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionCount {
    /// District code (`PPRRDD`) of residence.
    pub district: u32,
    /// Profile index.
    pub profile: u32,
    /// Persons with this profile living in the district.
    pub persons: u32,
    /// Families whose first member has this profile and lives there.
    pub families: u32,
}

/// Appends `v` as a LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 varint at `*pos`; `None` when truncated or too long.
pub(crate) fn get_varint(bytes: &[u8], pos: &mut usize) -> Option<u32> {
    let mut v = 0u32;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        v |= u32::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Encodes region counts (sorted by district, profile).
pub(crate) fn encode_region_counts(counts: &[RegionCount]) -> Vec<u8> {
    let mut out = Vec::with_capacity(counts.len() * 5);
    let (mut district, mut profile) = (0u32, 0u32);
    for c in counts {
        put_varint(&mut out, c.district - district);
        put_varint(
            &mut out,
            if c.district == district {
                c.profile - profile
            } else {
                c.profile
            },
        );
        put_varint(&mut out, c.persons);
        put_varint(&mut out, c.families);
        (district, profile) = (c.district, c.profile);
    }
    out
}

/// Decodes region counts; `None` at the first malformed record.
pub(crate) fn decode_region_counts(bytes: &[u8]) -> impl Iterator<Item = Option<RegionCount>> + '_ {
    let (mut pos, mut district, mut profile) = (0usize, 0u32, 0u32);
    std::iter::from_fn(move || {
        if pos >= bytes.len() {
            return None;
        }
        let next = (|| {
            let dd = get_varint(bytes, &mut pos)?;
            let p = get_varint(bytes, &mut pos)?;
            let new_district = district.checked_add(dd)?;
            let new_profile = if dd == 0 { profile.checked_add(p)? } else { p };
            let persons = get_varint(bytes, &mut pos)?;
            let families = get_varint(bytes, &mut pos)?;
            (district, profile) = (new_district, new_profile);
            Some(RegionCount {
                district,
                profile,
                persons,
                families,
            })
        })();
        if next.is_none() {
            pos = bytes.len();
        }
        Some(next)
    })
}

/// A family record (16 bytes).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct FamilyRaw {
    /// The family card number.
    pub kk: U64,
    /// Position of the first member in the persons section.
    pub first_member: U32,
    /// Union of the members' family-program enrolments.
    pub enrolled: U32,
}

/// The NIK hash: MurmurHash3's 64-bit finaliser, a bijection, so distinct
/// NIKs never share a hash.
#[inline(always)]
pub fn hash_nik(nik: u64, seed: u64) -> u64 {
    let mut h = nik ^ seed;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// The inverse of [`hash_nik`] for a seed: `unhash_nik(hash_nik(n, s), s) == n`.
#[inline]
pub fn unhash_nik(h: u64, seed: u64) -> u64 {
    let mut x = h;
    // `x ^= x >> 33` is its own inverse: the shift exceeds half the word.
    x ^= x >> 33;
    x = x.wrapping_mul(INVERSE_2);
    x ^= x >> 33;
    x = x.wrapping_mul(INVERSE_1);
    x ^= x >> 33;
    x ^ seed
}

/// The inverse of an odd number modulo 2^64 (Newton's iteration: each
/// step doubles the correct low bits, from 3).
const fn inverse_mod_2_64(c: u64) -> u64 {
    let mut x = c;
    let mut i = 0;
    while i < 5 {
        x = x.wrapping_mul(2u64.wrapping_sub(c.wrapping_mul(x)));
        i += 1;
    }
    x
}
const INVERSE_1: u64 = inverse_mod_2_64(0xff51_afd7_ed55_8ccd);
const INVERSE_2: u64 = inverse_mod_2_64(0xc4ce_b9fe_1a85_ec53);

/// How a file's person records are packed: the parts of the layout that
/// depend on its counts (docs/FORMAT.md, "Person record").
///
/// A record is 21 bytes: word A (8 bytes: sex, relation, first member,
/// birth date, village, profile), the next member (4 bytes), and a 72-bit
/// tail: the NIK hash's remainder (`rem_bits`), the family index
/// (`family_bits`), and in its top 5 bits the record's displacement (lines
/// from its home line). The remainder with the home line gives back the
/// whole hash, and the hash the NIK: a record need not store the NIK's
/// high bits, which the line's position already says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordLayout {
    /// Home lines (the header's `lines`).
    pub lines: u64,
    /// The NIK hash seed.
    pub seed: u64,
    /// Bits of the hash kept in a record: `64 - floor(log2(lines))`.
    pub rem_bits: u32,
    /// Bits of the family index: enough for `families - 1`.
    pub family_bits: u32,
    /// `ceil(2^64 / lines)` (0 when `lines` is 1).
    step: u64,
    /// [`crate::nik::KEYED_BIT`] in a keyed file, else 0: the bits above
    /// the stored 54 of every NIK it holds.
    pub keyed: u64,
}

// Word A of a record (bits 0-1 reserved, zero).
const A_SEX_SHIFT: u32 = 2;
const A_RELATION_SHIFT: u32 = 3;
const A_FIRST_SHIFT: u32 = 5;
const A_BIRTH_SHIFT: u32 = 6;
const A_VILLAGE_SHIFT: u32 = 22;
const A_PROFILE_SHIFT: u32 = 40;
/// Byte offset of the next member in a record.
const REC_NEXT_AT: usize = 8;
/// Byte offset of the tail in a record.
pub(crate) const REC_TAIL_AT: usize = 12;
/// The displacement: the top 5 bits of the tail, bits 3-7 of the last byte.
const TAIL_DISP_SHIFT: u32 = TAIL_BITS - 5;
pub(crate) const REC_DISP_AT: usize = RECORD_LEN - 1;
pub(crate) const REC_DISP_SHIFT: u32 = 3;

impl RecordLayout {
    /// The layout of a file with these counts; `None` when `lines` is 0 or
    /// above 2^31, or the family index and the remainder do not fit the
    /// 67 bits the tail leaves them (they always do when `families <= 4 *
    /// lines`).
    pub fn new(lines: u64, families: u64, seed: u64) -> Option<RecordLayout> {
        if lines == 0 || lines > 1 << 31 {
            return None;
        }
        let rem_bits = 64 - (63 - lines.leading_zeros());
        let family_bits = match families {
            0 | 1 => 0,
            f => 64 - (f - 1).leading_zeros(),
        };
        if rem_bits + family_bits > TAIL_DISP_SHIFT {
            return None;
        }
        Some(RecordLayout {
            lines,
            seed,
            rem_bits,
            family_bits,
            // ceil(2^64 / lines) = floor((2^64 - 1) / lines) + 1.
            step: if lines == 1 { 0 } else { u64::MAX / lines + 1 },
            keyed: 0,
        })
    }

    /// The layout of a keyed file's records (docs/FORMAT.md, "Keyed
    /// snapshots"): its NIKs are pseudonyms.
    pub fn keyed(mut self, keyed: bool) -> RecordLayout {
        self.keyed = if keyed { crate::nik::KEYED_BIT } else { 0 };
        self
    }

    /// The hash a lookup of `nik` reads; `None` when `nik` cannot be in
    /// this file: a NIK at a keyed store, a pseudonym at a plain one, so
    /// that an identity a caller forgot to key is unknown, never another
    /// person's.
    #[inline(always)]
    pub fn lookup_hash(&self, nik: u64) -> Option<u64> {
        (nik & !NIK_MASK == self.keyed).then(|| hash_nik(nik & NIK_MASK, self.seed))
    }

    /// The NIK (or pseudonym) whose hash is `h`.
    #[inline(always)]
    pub fn nik_of_hash(&self, h: u64) -> u64 {
        unhash_nik(h, self.seed) & NIK_MASK | self.keyed
    }

    /// The mask of a hash's remainder.
    #[inline(always)]
    pub fn rem_mask(&self) -> u64 {
        u64::MAX >> (64 - self.rem_bits)
    }

    /// The mask of a family index (`family_bits` is at most 34: `new`
    /// keeps it and the remainder, at least 33 bits, within 67).
    #[inline(always)]
    fn family_mask(&self) -> u64 {
        (1u64 << self.family_bits.min(63)) - 1
    }

    /// A hash's home line: monotone in `h`.
    #[inline(always)]
    pub fn home(&self, h: u64) -> u64 {
        bucket_of(h, self.lines)
    }

    /// The hash whose home is `home` and whose remainder is `rem`.
    #[inline]
    pub fn hash_of(&self, home: u64, rem: u64) -> u64 {
        if self.lines == 1 {
            return rem;
        }
        let mask = self.rem_mask();
        // `x0` is at or above the home's first hash, by less than `lines`,
        // which is at most 2^rem_bits: the wanted hash is the largest at or
        // below `x0` with this remainder, or the next one up.
        let x0 = home.wrapping_mul(self.step);
        let c = x0.wrapping_sub(x0.wrapping_sub(rem) & mask);
        if self.home(c) == home {
            c
        } else {
            c.wrapping_add(mask).wrapping_add(1)
        }
    }

    /// Packs a record: `p` in memory form, `disp` lines from its home, its
    /// NIK's hash `h`.
    pub fn encode(&self, p: &PersonRaw, disp: u64, h: u64) -> [u8; RECORD_LEN] {
        let (w0, w1, w2) = (p.w0.get(), p.w1.get(), p.w2.get());
        let a = (w0 >> SEX_SHIFT & 1) << A_SEX_SHIFT
            | (w0 >> RELATION_SHIFT & 3) << A_RELATION_SHIFT
            | u64::from(w0 & FIRST_MEMBER_BIT != 0) << A_FIRST_SHIFT
            | (w2 >> BIRTH_SHIFT & 0xFFFF) << A_BIRTH_SHIFT
            | (w2 >> VILLAGE_SHIFT & VILLAGE_MASK) << A_VILLAGE_SHIFT
            | (w2 & PROFILE_MASK) << A_PROFILE_SHIFT;
        let tail = u128::from(h & self.rem_mask())
            | u128::from(w1 as u32) << self.rem_bits
            | u128::from(disp.min(MAX_DISPLACEMENT)) << TAIL_DISP_SHIFT;
        let mut rec = [0u8; RECORD_LEN];
        rec[..8].copy_from_slice(&a.to_le_bytes());
        rec[REC_NEXT_AT..REC_TAIL_AT].copy_from_slice(&((w1 >> 32) as u32).to_le_bytes());
        rec[REC_TAIL_AT..].copy_from_slice(&tail.to_le_bytes()[..RECORD_LEN - REC_TAIL_AT]);
        rec
    }

    /// Word A of a record.
    #[inline(always)]
    fn word_a(rec: &[u8; RECORD_LEN]) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&rec[..8]);
        u64::from_le_bytes(b)
    }

    /// The sex bit (1 = female).
    #[inline(always)]
    pub fn sex_of(rec: &[u8; RECORD_LEN]) -> u8 {
        (Self::word_a(rec) >> A_SEX_SHIFT & 1) as u8
    }

    /// The relation code.
    #[inline(always)]
    pub fn relation_of(rec: &[u8; RECORD_LEN]) -> u8 {
        (Self::word_a(rec) >> A_RELATION_SHIFT & 3) as u8
    }

    /// Whether the record is its family's first member.
    #[inline(always)]
    pub fn is_first_member(rec: &[u8; RECORD_LEN]) -> bool {
        Self::word_a(rec) >> A_FIRST_SHIFT & 1 == 1
    }

    /// The stored birth date (days since 1900-01-01).
    #[inline(always)]
    pub fn birth_of(rec: &[u8; RECORD_LEN]) -> u16 {
        (Self::word_a(rec) >> A_BIRTH_SHIFT) as u16
    }

    /// The village index.
    #[inline(always)]
    pub fn village_of(rec: &[u8; RECORD_LEN]) -> u32 {
        (Self::word_a(rec) >> A_VILLAGE_SHIFT & VILLAGE_MASK) as u32
    }

    /// The profile index.
    #[inline(always)]
    pub fn profile_of(rec: &[u8; RECORD_LEN]) -> u32 {
        (Self::word_a(rec) >> A_PROFILE_SHIFT) as u32
    }

    /// The next member's slot.
    #[inline(always)]
    pub fn next_of(rec: &[u8; RECORD_LEN]) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&rec[REC_NEXT_AT..REC_TAIL_AT]);
        u32::from_le_bytes(b)
    }

    /// The family index.
    ///
    /// One 64-bit read from the tail's second byte on (tail bits 8-71):
    /// the family index lies in tail bits `rem_bits` (at least 33) to
    /// `rem_bits + family_bits` (at most 67, below the displacement), so
    /// it is in that word, whatever the counts.
    #[inline(always)]
    pub fn family_of(&self, rec: &[u8; RECORD_LEN]) -> u32 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&rec[REC_TAIL_AT + 1..RECORD_LEN]);
        ((u64::from_le_bytes(b) >> (self.rem_bits - 8)) & self.family_mask()) as u32
    }

    /// Tail bits 0-63.
    #[inline(always)]
    fn tail_lo(&self, rec: &[u8; RECORD_LEN]) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&rec[REC_TAIL_AT..REC_TAIL_AT + 8]);
        u64::from_le_bytes(b)
    }

    /// The displacement stored in a record: lines from its home line.
    #[inline(always)]
    pub fn disp_of(rec: &[u8; RECORD_LEN]) -> u64 {
        u64::from(rec[REC_DISP_AT] >> REC_DISP_SHIFT)
    }

    /// The hash remainder stored in a record.
    #[inline(always)]
    pub fn rem_of(&self, rec: &[u8; RECORD_LEN]) -> u64 {
        self.tail_lo(rec) & self.rem_mask()
    }

    /// Unpacks a record whose NIK hashes to `h` into its memory form.
    #[inline]
    pub fn decode(&self, rec: &[u8; RECORD_LEN], h: u64) -> PersonRaw {
        let nik = unhash_nik(h, self.seed) & NIK_MASK;
        let first = if Self::is_first_member(rec) {
            FIRST_MEMBER_BIT
        } else {
            0
        };
        let w0 = nik
            | u64::from(Self::sex_of(rec)) << SEX_SHIFT
            | u64::from(Self::relation_of(rec)) << RELATION_SHIFT
            | first;
        let w1 = u64::from(self.family_of(rec)) | u64::from(Self::next_of(rec)) << 32;
        let w2 = u64::from(Self::profile_of(rec))
            | u64::from(Self::village_of(rec)) << VILLAGE_SHIFT
            | u64::from(Self::birth_of(rec)) << BIRTH_SHIFT;
        PersonRaw {
            w0: U64::new(w0),
            w1: U64::new(w1),
            w2: U64::new(w2),
        }
    }
}

/// The bucket of a hash among `buckets`: monotone in `h`.
#[inline(always)]
pub fn bucket_of(h: u64, buckets: u64) -> u64 {
    ((u128::from(h) * u128::from(buckets)) >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_sizes_are_the_documented_ones() {
        assert_eq!(size_of::<PersonRaw>(), 24);
        assert_eq!(size_of::<ProfileRaw>(), 16);
        assert_eq!(size_of::<FamilyRaw>(), 16);
        let counts = [
            RegionCount {
                district: 110101,
                profile: 7,
                persons: 300,
                families: 2,
            },
            RegionCount {
                district: 110101,
                profile: 9,
                persons: 1,
                families: 0,
            },
            RegionCount {
                district: 960301,
                profile: 0,
                persons: 70_000,
                families: 9,
            },
        ];
        let bytes = encode_region_counts(&counts);
        let back: Vec<RegionCount> = decode_region_counts(&bytes).map(Option::unwrap).collect();
        assert_eq!(back, counts);
        assert!(decode_region_counts(&bytes[..bytes.len() - 1]).any(|c| c.is_none()));
        assert_eq!(size_of::<SectionEntry>(), SECTION_ENTRY_LEN);
        assert_eq!(LINE_HEADER_AT + 1, LINE_LEN);
    }

    #[test]
    fn hash_is_a_bijection_on_a_sample_and_buckets_are_monotone() {
        let mut seen = std::collections::HashSet::new();
        for n in 0..100_000u64 {
            assert!(seen.insert(hash_nik(3_201_015_708_900_001 + n, 7)));
        }
        let mut prev = 0;
        for h in (0..64).map(|i| (1u64 << i) - 1) {
            let b = bucket_of(h, 1000);
            assert!(b >= prev && b < 1000);
            prev = b;
        }
        assert_eq!(bucket_of(u64::MAX, 1000), 999);
    }

    #[test]
    fn unhash_inverts_the_hash() {
        for (n, seed) in [
            (0u64, 0u64),
            (3_201_015_708_900_001, 7),
            (u64::MAX, 99),
            (1 << 53, 1),
        ] {
            assert_eq!(unhash_nik(hash_nik(n, seed), seed), n);
        }
    }

    #[test]
    fn home_and_remainder_give_back_the_hash() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for lines in [
            1u64,
            2,
            3,
            7,
            64,
            1000,
            1 << 20,
            3_831_418,
            (1 << 31) - 1,
            1 << 31,
        ] {
            let lay = RecordLayout::new(lines, lines * 2, 5).expect("fits");
            let edges = [0u64, 1, u64::MAX, u64::MAX - 1, 1 << 63];
            for i in 0..2000 {
                x = hash_nik(x, i);
                let h = if (i as usize) < edges.len() {
                    edges[i as usize]
                } else {
                    x
                };
                let home = lay.home(h);
                assert!(home < lines);
                assert_eq!(
                    lay.hash_of(home, h & lay.rem_mask()),
                    h,
                    "lines {lines} h {h}"
                );
            }
            // The first and last hash of a home line.
            for home in [0, lines / 2, lines - 1] {
                let lo = ((u128::from(home) << 64).div_ceil(u128::from(lines))) as u64;
                assert_eq!(lay.hash_of(home, lo & lay.rem_mask()), lo);
            }
        }
    }

    #[test]
    fn a_record_round_trips() {
        let lay = RecordLayout::new(3_831_418, 3_300_000, 42).expect("fits");
        let nik = 9_471_015_708_900_123u64;
        let h = hash_nik(nik, 42);
        let p = PersonRaw {
            w0: U64::new(nik | 1 << SEX_SHIFT | 2 << RELATION_SHIFT | FIRST_MEMBER_BIT),
            w1: U64::new(3_299_999 | 123_456_789 << 32),
            w2: U64::new((MAX_PROFILES - 1) | 262_143 << VILLAGE_SHIFT | 65_535 << BIRTH_SHIFT),
        };
        let rec = lay.encode(&p, 3, h);
        assert_eq!(RecordLayout::disp_of(&rec), 3);
        assert_eq!(lay.rem_of(&rec), h & lay.rem_mask());
        assert_eq!(lay.decode(&rec, h), p);
        assert!(RecordLayout::new(0, 1, 0).is_none());
        assert!(
            RecordLayout::new(1, 1 << 4, 0).is_none(),
            "64 + 4 bits > 67"
        );
        let rec = lay.encode(&p, MAX_DISPLACEMENT, h);
        assert_eq!(RecordLayout::disp_of(&rec), MAX_DISPLACEMENT);
        assert_eq!(lay.decode(&rec, h), p);
    }
}
