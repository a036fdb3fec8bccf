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
/// The major version this code writes and reads.
pub const FORMAT_MAJOR: u16 = 1;
/// The minor version this code writes (1.1 adds the optional region
/// counts section).
pub const FORMAT_MINOR: u16 = 1;
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
pub(crate) const OFF_BUCKETS: usize = 56;
pub(crate) const OFF_HASH_SEED: usize = 64;
pub(crate) const OFF_AS_OF_DAYS: usize = 72;
pub(crate) const OFF_CREATED_SECS: usize = 80;
pub(crate) const OFF_DUPLICATES: usize = 88;
pub(crate) const OFF_HEADER_CHECKSUM: usize = 248;

/// Header flag: the directory is wide (`u32` per bucket).
pub const FLAG_WIDE_DIRECTORY: u32 = 1;

/// Buckets per compact directory block.
pub const BLOCK_BUCKETS: u64 = 59;
/// Bytes per compact directory block.
pub const BLOCK_LEN: usize = 64;
/// The most records a compact block may hold.
pub const BLOCK_MAX_RECORDS: u64 = 255;
/// The builder aims for this many records per bucket.
pub const RECORDS_PER_BUCKET: u64 = 3;

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
    /// The bucket directory.
    Directory = 5,
    /// Person records in hash order.
    Persons = 6,
    /// Family records by KK.
    Families = 7,
    /// Persons and families per (district, profile); optional (format 1.1).
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
        SectionKind::Directory,
        SectionKind::Persons,
        SectionKind::Families,
        SectionKind::RegionCounts,
    ];

    /// Whether a file must have this section (1.0 files lack the region
    /// counts, and readers fall back to scanning the persons).
    pub const fn required(self) -> bool {
        !matches!(self, SectionKind::RegionCounts)
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
            SectionKind::Directory => "directory",
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

/// A person record (24 bytes); see docs/FORMAT.md for the bit layout.
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
        assert_eq!(4 + BLOCK_BUCKETS as usize + 1, BLOCK_LEN);
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
}
