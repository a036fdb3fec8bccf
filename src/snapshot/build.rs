//! Building a snapshot from register records.
//!
//! The builder stages every person in a compact 32-byte record, then:
//! 1. sorts by family card (KK) to number families and compute family
//!    eligibility over the members;
//! 2. sorts by NIK hash, flags duplicate identities (equal NIKs are now
//!    adjacent), interns profiles, and builds the person records;
//! 3. places each record in a line of the person index ([`Placement`]),
//!    links each family's members in slot order, packs the lines and
//!    writes the file.
//!
//! Memory: 32 B per staged person, then 24 B per person record in memory, a
//! 4 B slot each and the packed lines (≈ 24.5 B per person) — at most about
//! 60 B per person (measured: 16.4 GiB peak at 280 M), under twice the
//! output's size.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use xxhash_rust::xxh3::xxh3_64;
use zerocopy::IntoBytes;
use zerocopy::little_endian::{U16, U32, U64};

use super::format::*;
use crate::csv::Lines;
use crate::domain::date::Date;
use crate::domain::program::{ComponentSet, PersonFacts, Registry};
use crate::domain::region::{Level, RegionTable};
use crate::durable::{fault_point, sync_dir, tmp_path};
use crate::error::{Error, Result};
use crate::rows::register::{PersonRecord, Relation, RowError, RowParser};

/// A person as the builder holds it between the two sorts (32 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Staged {
    /// KK before the family pass; the family index after it.
    family: u64,
    nik: u64,
    /// village (0-17) | decile (18-21) | sex (22) | relation (23-24) |
    /// deceased (25) | civil servant (26) | duplicate (27)
    packed: u32,
    birth: u16,
    components: u16,
    enrolled: u32,
    eligible: u32,
}

const P_DECILE: u32 = 18;
const P_SEX: u32 = 22;
const P_RELATION: u32 = 23;
const P_DECEASED: u32 = 25;
const P_CIVIL: u32 = 26;
const P_DUPLICATE: u32 = 27;

impl Staged {
    fn village(&self) -> u32 {
        self.packed & VILLAGE_MASK as u32
    }
    fn decile(&self) -> u8 {
        ((self.packed >> P_DECILE) & 0xF) as u8
    }
    fn bit(&self, shift: u32) -> bool {
        self.packed >> shift & 1 == 1
    }
    fn relation(&self) -> Relation {
        Relation::from_code((self.packed >> P_RELATION) as u8)
    }
    fn birth_date(&self) -> Date {
        birth_date(self.birth)
    }
    fn facts(&self, as_of: Date) -> PersonFacts {
        PersonFacts {
            decile: self.decile(),
            age: self.birth_date().age_on(as_of),
            recorded: ComponentSet(self.components),
            civil_servant: self.bit(P_CIVIL),
        }
    }
}

/// What a build produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildSummary {
    /// Person records written (duplicates included).
    pub persons: u64,
    /// Family records written.
    pub families: u64,
    /// Distinct profiles.
    pub profiles: u64,
    /// Person records whose NIK appears more than once.
    pub duplicate_persons: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Stages register records and writes a snapshot.
pub struct SnapshotBuilder<'a> {
    registry: Registry,
    regions: &'a RegionTable,
    villages: Vec<u64>,
    as_of: Date,
    generation: u64,
    hash_seed: u64,
    signer: Option<super::SigningKey>,
    /// Keys every NIK and KK staged (a payout point's keyed store).
    identity_key: Option<super::IdentityKey>,
    /// Keep only these villages and those someone lives in, unnamed (a
    /// point's store); `None`: every village, named.
    villages_only: Option<Vec<u64>>,
    staged: Vec<Staged>,
}

impl<'a> SnapshotBuilder<'a> {
    /// A builder for `registry`, resolving villages in `regions` (which must
    /// hold the village list), computing eligibility on `as_of`.
    pub fn new(
        registry: Registry,
        regions: &'a RegionTable,
        as_of: Date,
    ) -> Result<SnapshotBuilder<'a>> {
        let villages: Vec<u64> = regions
            .level(Level::Village)
            .iter()
            .map(|r| r.code.value())
            .collect();
        if villages.is_empty() {
            return Err(Error::Input {
                file: "region table".into(),
                message: "no villages loaded: build with the builtin-villages feature or load villages.csv".into(),
            });
        }
        if villages.len() as u64 > VILLAGE_MASK {
            return Err(Error::Input {
                file: "region table".into(),
                message: format!(
                    "{} villages, more than the format's {}",
                    villages.len(),
                    VILLAGE_MASK
                ),
            });
        }
        Ok(SnapshotBuilder {
            registry,
            regions,
            villages,
            as_of,
            generation: 1,
            hash_seed: 0x7465_7061_745f_7631, // "tepat_v1"
            signer: None,
            identity_key: None,
            villages_only: None,
            staged: Vec::new(),
        })
    }

    /// Sets the generation number written in the header (default 1).
    pub fn generation(mut self, generation: u64) -> Self {
        self.generation = generation;
        self
    }

    /// Signs the snapshot with `key` (docs/FORMAT.md, "Signed snapshots");
    /// `None`: unsigned (the default).
    pub fn signed_by(mut self, key: Option<super::SigningKey>) -> Self {
        self.signer = key;
        self
    }

    /// Writes only the villages of `keep` (codes) and those a staged
    /// person lives in, without their names, and only the provinces,
    /// regencies and districts above them, named (default: the whole region
    /// table). A payout point's store needs its own villages' codes — a
    /// birth or a move into any of them is a change it must take — not the
    /// nation's 83,762 names.
    pub fn villages_only(mut self, keep: Vec<u64>) -> Self {
        self.villages_only = Some(keep);
        self
    }

    /// Keys the snapshot with `key` (docs/FORMAT.md, "Keyed snapshots"):
    /// every NIK and KK staged is replaced by its pseudonym, and the header
    /// holds the key's check value (never the key). `None`: plain (the
    /// default).
    pub fn keyed_by(mut self, key: Option<super::IdentityKey>) -> Self {
        // Persons staged before are staged again under the new key (or
        // none): revealed with the old one, keyed with the new.
        if key != self.identity_key {
            use crate::{kk::Kk, nik::KEYED_BIT, nik::KEYED_VALUE_MASK, nik::Nik};
            let (old, new) = (self.identity_key.take(), key.as_ref());
            for s in &mut self.staged {
                let (mut nik, mut kk) = (Nik::from_stored(s.nik), Kk::from_stored(s.family));
                if let Some(old) = &old {
                    nik = old
                        .reveal_nik(Nik::from_stored(s.nik | KEYED_BIT))
                        .unwrap_or(nik);
                    kk = old.reveal_kk(kk).unwrap_or(kk);
                }
                if let Some(new) = new {
                    (nik, kk) = (new.nik(nik), new.kk(kk));
                }
                (s.nik, s.family) = (nik.get() & KEYED_VALUE_MASK, kk.get());
            }
        }
        self.identity_key = key;
        self
    }

    /// Whether the snapshot will be keyed.
    pub fn is_keyed(&self) -> bool {
        self.identity_key.is_some()
    }

    /// Whether the snapshot will be signed.
    pub fn is_signed(&self) -> bool {
        self.signer.is_some()
    }

    /// Reserves room for `n` more persons.
    pub fn reserve(&mut self, n: usize) {
        self.staged.reserve(n);
    }

    /// Stages one person. A village that is not on the list, or a birth date
    /// outside 1900-01-01..2079-06-06, refuses the row (column named).
    pub fn add(&mut self, p: &PersonRecord) -> std::result::Result<(), RowError> {
        let village = self
            .villages
            .binary_search(&p.village)
            .map_err(|_| RowError {
                column: 4,
                field: "village_code",
                reason: format!("village {:010} is not on the village list", p.village),
            })?;
        let birth =
            u16::try_from(p.birth_date.to_unix_days() - BIRTH_EPOCH_UNIX_DAYS).map_err(|_| {
                RowError {
                    column: 6,
                    field: "birth_date",
                    reason: format!("{} is outside 1900-01-01..2079-06-06", p.birth_date),
                }
            })?;
        let packed = village as u32
            | u32::from(p.decile) << P_DECILE
            | u32::from(matches!(p.sex, crate::domain::nik::Sex::Female)) << P_SEX
            | u32::from(p.relation.code()) << P_RELATION
            | u32::from(p.deceased) << P_DECEASED
            | u32::from(p.civil_servant) << P_CIVIL;
        let (nik, kk) = match &self.identity_key {
            Some(key) => (key.nik(p.nik), key.kk(p.kk)),
            None => (p.nik, p.kk),
        };
        if nik.is_keyed() != self.identity_key.is_some() || kk.is_keyed() != nik.is_keyed() {
            return Err(RowError {
                column: 1,
                field: "nik",
                reason: format!("{nik}: a pseudonym and a NIK cannot share a snapshot"),
            });
        }
        self.staged.push(Staged {
            family: kk.get(),
            nik: nik.get() & crate::nik::KEYED_VALUE_MASK,
            packed,
            birth,
            components: p.components.0,
            enrolled: p.programs.0,
            eligible: 0,
        });
        Ok(())
    }

    /// [`SnapshotBuilder::add`], flagging the record a duplicate identity
    /// even when no other record staged here shares its NIK: a payout
    /// point's cut keeps the national register's flag, whether or not the
    /// other record falls in its regions.
    pub fn add_duplicate(&mut self, p: &PersonRecord) -> std::result::Result<(), RowError> {
        self.add(p)?;
        if let Some(last) = self.staged.last_mut() {
            last.packed |= 1 << P_DUPLICATE;
        }
        Ok(())
    }

    /// The date eligibility is computed on: the export's as-of date.
    pub fn as_of(&self) -> Date {
        self.as_of
    }

    /// The registry the snapshot is built for.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// How many persons are staged.
    pub fn len(&self) -> usize {
        self.staged.len()
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.staged.is_empty()
    }

    /// Writes the snapshot to `path` safely: to `path.tmp`, synced, verified,
    /// renamed into place, and the directory synced.
    pub fn write_to_path(self, path: &Path) -> Result<BuildSummary> {
        let tmp = tmp_path(path);
        let result = (|| {
            let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            fault_point("snapshot.tmp_created");
            let mut out = super::page_writer::PageAlignedWriter::new(file);
            let summary = self.write(&mut out).map_err(|e| match e {
                Error::Io { source, .. } => Error::io(&tmp, source),
                other => other,
            })?;
            let file = out.into_inner().map_err(|e| Error::io(&tmp, e))?;
            fault_point("snapshot.written");
            file.sync_all().map_err(|e| Error::io(&tmp, e))?;
            drop(file);
            fault_point("snapshot.synced");
            super::Snapshot::open(&tmp)?.verify()?;
            std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
            fault_point("snapshot.renamed");
            sync_dir(path)?;
            fault_point("snapshot.dir_synced");
            Ok(summary)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Writes the snapshot to `out`, streaming section after section.
    pub fn write(mut self, out: &mut impl Write) -> Result<BuildSummary> {
        if self.staged.len() as u64 >= u64::from(NO_NEXT) {
            return Err(Error::Input {
                file: "register".into(),
                message: format!(
                    "{} persons, more than the format's {}",
                    self.staged.len(),
                    NO_NEXT - 1
                ),
            });
        }
        let kept_villages = self
            .villages_only
            .take()
            .map(|keep| self.keep_villages(&keep));
        let families = self.family_pass();
        let (persons, profiles, duplicates) = self.person_pass()?;
        let placement = Placement::compute(&persons, self.hash_seed)?;
        let (persons, families) = link_families(persons, families, &placement.slot_of);
        let counts = region_counts(&persons, &self.villages);
        let layout = RecordLayout::new(placement.lines, families.len() as u64, self.hash_seed)
            .ok_or_else(|| Error::Input {
                file: "register".into(),
                message: format!(
                    "{} families in {} lines do not fit a record's 72-bit tail",
                    families.len(),
                    placement.lines
                ),
            })?;
        let lines = placement.encode(&persons, &layout);
        let person_count = persons.len() as u64;
        drop(persons);
        let overflow: Vec<u8> = placement
            .overflow
            .iter()
            .flat_map(|h| h.to_le_bytes())
            .collect();
        let registry = postcard::to_allocvec(&self.registry).map_err(|e| Error::Input {
            file: "registry".into(),
            message: e.to_string(),
        })?;
        let names = region_names(self.regions, kept_villages.as_deref())?;
        let villages: Vec<u8> = self.villages.iter().flat_map(|v| v.to_le_bytes()).collect();
        let header = HeaderFields {
            flags: 0,
            generation: self.generation,
            persons: person_count,
            families: families.len() as u64,
            profiles: profiles.len() as u64,
            lines: placement.lines,
            overflow: placement.overflow.len() as u64,
            hash_seed: self.hash_seed,
            as_of_days: self.as_of.to_unix_days(),
            created_secs: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            duplicates,
        };
        let sections: [(SectionKind, &[u8]); 8] = [
            (SectionKind::Registry, &registry),
            (SectionKind::Villages, &villages),
            (SectionKind::RegionNames, &names),
            (SectionKind::Profiles, profiles.as_bytes()),
            (SectionKind::Overflow, &overflow),
            (SectionKind::Persons, &lines),
            (SectionKind::Families, families.as_bytes()),
            (SectionKind::RegionCounts, &counts),
        ];
        let marks = Marks {
            signer: self.signer.as_ref(),
            identity_key: self.identity_key.as_ref(),
        };
        let bytes = write_file(out, &header, &sections, marks)?;
        Ok(BuildSummary {
            persons: header.persons,
            families: header.families,
            profiles: header.profiles,
            duplicate_persons: duplicates,
            bytes,
        })
    }

    /// Renumbers the staged persons' villages over the villages of `keep`
    /// and those someone lives in; returns their codes (the new list).
    fn keep_villages(&mut self, keep: &[u64]) -> Vec<u64> {
        let mut used = vec![false; self.villages.len()];
        for s in &self.staged {
            used[s.village() as usize] = true;
        }
        for code in keep {
            if let Ok(i) = self.villages.binary_search(code) {
                used[i] = true;
            }
        }
        let mut renumbered = vec![0u32; self.villages.len()];
        let mut kept = Vec::new();
        for (i, code) in self.villages.iter().enumerate().filter(|(i, _)| used[*i]) {
            renumbered[i] = kept.len() as u32;
            kept.push(*code);
        }
        for s in &mut self.staged {
            let village = renumbered[s.village() as usize];
            s.packed = (s.packed & !(VILLAGE_MASK as u32)) | village;
        }
        self.villages = kept.clone();
        kept
    }

    /// Sorts by KK, numbers the families and computes eligibility; returns
    /// the family records (first member and enrolment filled in later).
    fn family_pass(&mut self) -> Vec<FamilyRaw> {
        self.staged.sort_unstable();
        let family_mask = self.registry.family_programs();
        let mut families = Vec::new();
        let mut facts = Vec::new();
        let mut start = 0;
        while start < self.staged.len() {
            let kk = self.staged[start].family;
            let end = start
                + self.staged[start..]
                    .iter()
                    .take_while(|s| s.family == kk)
                    .count();
            let members = &mut self.staged[start..end];
            facts.clear();
            facts.extend(members.iter().map(|m| m.facts(self.as_of)));
            let head = members
                .iter()
                .find(|m| m.relation() == Relation::Head)
                .unwrap_or(&members[0]);
            let family_eligible = self.registry.family_eligibility(head.decile(), &facts);
            let index = families.len() as u64;
            let mut enrolled = 0;
            for (m, f) in members.iter_mut().zip(&facts) {
                m.eligible = self.registry.person_eligibility(f).0 | family_eligible.0;
                m.family = index;
                enrolled |= m.enrolled & family_mask.0;
            }
            families.push(FamilyRaw {
                kk: U64::new(kk),
                first_member: U32::new(NO_NEXT),
                enrolled: U32::new(enrolled),
            });
            start = end;
        }
        families
    }

    /// Sorts by NIK hash, flags duplicates, interns profiles and builds the
    /// person records (next-member links still empty).
    fn person_pass(&mut self) -> Result<(Vec<PersonRaw>, Vec<ProfileRaw>, u64)> {
        let seed = self.hash_seed;
        self.staged
            .sort_unstable_by(|a, b| (hash_nik(a.nik, seed), a).cmp(&(hash_nik(b.nik, seed), b)));
        let n = self.staged.len();
        let mut i = 0;
        while i < n {
            let nik = self.staged[i].nik;
            let run = self.staged[i..].iter().take_while(|s| s.nik == nik).count();
            if run > 1 {
                for s in &mut self.staged[i..i + run] {
                    s.packed |= 1 << P_DUPLICATE;
                }
            }
            i += run;
        }
        let duplicates = self.staged.iter().filter(|s| s.bit(P_DUPLICATE)).count() as u64;
        let staged = std::mem::take(&mut self.staged);
        let mut interned: HashMap<ProfileRaw, u32> = HashMap::new();
        let mut persons = Vec::with_capacity(staged.len());
        for s in &staged {
            let profile = profile_of(s);
            let next = interned.len() as u32;
            let id = *interned.entry(profile).or_insert(next);
            persons.push(person_raw(s, id));
        }
        drop(staged);
        if interned.len() as u64 > MAX_PROFILES {
            return Err(Error::Input {
                file: "register".into(),
                message: format!(
                    "{} distinct profiles, more than the format's {}",
                    interned.len(),
                    MAX_PROFILES
                ),
            });
        }
        // Number profiles by their bytes so the file does not depend on the
        // order persons arrived in.
        let mut profiles: Vec<(ProfileRaw, u32)> = interned.into_iter().collect();
        profiles.sort_unstable();
        let mut remap = vec![0u32; profiles.len()];
        for (new_id, (_, old_id)) in profiles.iter().enumerate() {
            remap[*old_id as usize] = new_id as u32;
        }
        for p in &mut persons {
            let w2 = p.w2.get();
            let old = (w2 & PROFILE_MASK) as usize;
            p.w2 = U64::new(w2 & !PROFILE_MASK | u64::from(remap[old]));
        }
        Ok((
            persons,
            profiles.into_iter().map(|(p, _)| p).collect(),
            duplicates,
        ))
    }
}

/// A stored birth date (days since 1900-01-01) as a date.
pub(crate) fn birth_date(days: u16) -> Date {
    // Every u16 lands between 1900-01-01 and 2079-06-06, inside Date's range.
    Date::from_unix_days(BIRTH_EPOCH_UNIX_DAYS + i64::from(days)).unwrap_or(Date::EPOCH)
}

fn profile_of(s: &Staged) -> ProfileRaw {
    let flag = |shift, bit| if s.bit(shift) { bit } else { 0 };
    let flags = flag(P_DECEASED, FLAG_DECEASED)
        | flag(P_CIVIL, FLAG_CIVIL_SERVANT)
        | flag(P_DUPLICATE, FLAG_DUPLICATE);
    ProfileRaw {
        eligible: U32::new(s.eligible),
        enrolled: U32::new(s.enrolled),
        components: U16::new(s.components),
        decile: s.decile(),
        flags,
        reserved: U32::new(0),
    }
}

fn person_raw(s: &Staged, profile: u32) -> PersonRaw {
    let w0 = s.nik
        | u64::from(s.bit(P_SEX)) << SEX_SHIFT
        | u64::from(s.relation().code()) << RELATION_SHIFT;
    let w1 = s.family | u64::from(NO_NEXT) << 32;
    let w2 = u64::from(profile)
        | u64::from(s.village()) << VILLAGE_SHIFT
        | u64::from(s.birth) << BIRTH_SHIFT;
    PersonRaw {
        w0: U64::new(w0),
        w1: U64::new(w1),
        w2: U64::new(w2),
    }
}

/// Links each family's members in slot order and fills in each family's
/// first member. `slot_of[i]` is where record `i` (hash order) is placed.
fn link_families(
    mut persons: Vec<PersonRaw>,
    mut families: Vec<FamilyRaw>,
    slot_of: &[u32],
) -> (Vec<PersonRaw>, Vec<FamilyRaw>) {
    // (family, slot, record)
    let mut order: Vec<(u32, u32, u32)> = persons
        .iter()
        .zip(slot_of)
        .enumerate()
        .map(|(i, (p, slot))| (p.w1.get() as u32, *slot, i as u32))
        .collect();
    order.sort_unstable();
    for members in order.chunk_by(|a, b| a.0 == b.0) {
        let (family, first_slot, first) = members[0];
        if let Some(f) = families.get_mut(family as usize) {
            f.first_member = U32::new(first_slot);
        }
        let p = &mut persons[first as usize];
        p.w0 = U64::new(p.w0.get() | FIRST_MEMBER_BIT);
        for w in members.windows(2) {
            let p = &mut persons[w[0].2 as usize];
            p.w1 = U64::new(u64::from(family) | u64::from(w[1].1) << 32);
        }
    }
    (persons, families)
}

/// Persons and families per (district of residence, profile), sorted and
/// varint-encoded: the pre-aggregated column the reports read instead of
/// every person.
fn region_counts(persons: &[PersonRaw], villages: &[u64]) -> Vec<u8> {
    let mut counts: HashMap<(u32, u32), (u32, u32)> = HashMap::new();
    for p in persons {
        let w2 = p.w2.get();
        let village = ((w2 >> VILLAGE_SHIFT) & VILLAGE_MASK) as usize;
        let district = villages.get(village).map_or(0, |v| (v / 10_000) as u32);
        let profile = (w2 & PROFILE_MASK) as u32;
        let entry = counts.entry((district, profile)).or_default();
        entry.0 += 1;
        entry.1 += u32::from(p.w0.get() & FIRST_MEMBER_BIT != 0);
    }
    let mut out: Vec<RegionCount> = counts
        .into_iter()
        .map(|((district, profile), (persons, families))| RegionCount {
            district,
            profile,
            persons,
            families,
        })
        .collect();
    out.sort_unstable_by_key(|c| (c.district, c.profile));
    encode_region_counts(&out)
}

/// Where each record goes: the persons section's lines (docs/FORMAT.md,
/// "The person index: one cache line").
///
/// Each record has a home line (`bucket_of(h, lines)`). A line keeps the
/// first three of its own records (in hash order); the rest of them — a
/// home line gets more than three about one time in four at 87 % load —
/// take free slots in the next [`MAX_DISPLACEMENT`] lines, nearest first,
/// after those lines' own records. Taken in hash order, the lines a home's
/// displaced records go to never decrease: a home's displaced records lie
/// in a run of lines that starts where its header says and ends at the
/// first line that is not full or that holds a later home's record, which
/// is where a lookup stops. Own records come first so that a line's
/// guests never push its own records away: the share of lookups that end
/// at the home line is then the most three slots a line allow (≈ 82 % at
/// this load; pushing guests in hash order, as a sorted linear probe does,
/// measured 47 % at 1 M persons). A record with no free slot within reach
/// goes to the overflow area after the home lines: rare for distinct NIKs,
/// the fate of a NIK repeated in many rows.
struct Placement {
    lines: u64,
    /// Slot of each record, by its position in hash order.
    slot_of: Vec<u32>,
    /// Hashes of the overflow records, ascending (slot `3 * lines + j`).
    overflow: Vec<u64>,
}

impl Placement {
    fn compute(persons: &[PersonRaw], seed: u64) -> Result<Placement> {
        let n = persons.len() as u64;
        let lines = (n * 100).div_ceil(LINE_SLOTS as u64 * LOAD_PERCENT).max(1);
        let home_of = |p: &PersonRaw| {
            let h = hash_nik(p.w0.get() & NIK_MASK, seed);
            (h, bucket_of(h, lines) as usize)
        };
        // Free slots of each line once its own records are in.
        let mut free = vec![LINE_SLOTS as u8; lines as usize];
        for p in persons {
            let f = &mut free[home_of(p).1];
            *f = f.saturating_sub(1);
        }
        let mut slot_of = Vec::with_capacity(persons.len());
        let mut overflow = Vec::new();
        let (mut home, mut own) = (usize::MAX, 0usize);
        for p in persons {
            let (h, g) = home_of(p);
            if g != home {
                (home, own) = (g, 0);
            }
            let slot = if own < LINE_SLOTS {
                own += 1;
                Some(g * LINE_SLOTS + own - 1)
            } else {
                (1..=MAX_DISPLACEMENT as usize)
                    .map(|k| g + k)
                    .find(|&l| free.get(l).is_some_and(|f| *f > 0))
                    .map(|l| {
                        free[l] -= 1;
                        l * LINE_SLOTS + LINE_SLOTS - 1 - usize::from(free[l])
                    })
            };
            match slot {
                Some(slot) => slot_of.push(slot as u32),
                None => {
                    slot_of.push(u32::MAX);
                    overflow.push(h);
                }
            }
        }
        let slots =
            (lines + (overflow.len() as u64).div_ceil(LINE_SLOTS as u64)) * LINE_SLOTS as u64;
        if slots >= u64::from(NO_NEXT) {
            return Err(Error::Input {
                file: "register".into(),
                message: format!(
                    "{n} persons need {slots} slots, more than the format's {NO_NEXT}"
                ),
            });
        }
        let first_overflow = (lines * LINE_SLOTS as u64) as u32;
        let unplaced = slot_of.iter_mut().filter(|s| **s == u32::MAX);
        for (slot, s) in (first_overflow..).zip(unplaced) {
            *s = slot;
        }
        Ok(Placement {
            lines,
            slot_of,
            overflow,
        })
    }

    /// The persons section: home lines then overflow lines, each record
    /// packed, each line's header set.
    fn encode(&self, persons: &[PersonRaw], layout: &RecordLayout) -> Vec<u8> {
        let total = self.lines as usize + self.overflow.len().div_ceil(LINE_SLOTS);
        let mut out = vec![0u8; total * LINE_LEN];
        for (p, &slot) in persons.iter().zip(&self.slot_of) {
            let (line, at) = (slot as usize / LINE_SLOTS, slot as usize % LINE_SLOTS);
            let h = hash_nik(p.w0.get() & NIK_MASK, layout.seed);
            let home = layout.home(h) as usize;
            let disp = if line < self.lines as usize {
                (line - home) as u64
            } else {
                0
            };
            let base = line * LINE_LEN;
            out[base + at * RECORD_LEN..base + (at + 1) * RECORD_LEN]
                .copy_from_slice(&layout.encode(p, disp, h));
            out[base + LINE_HEADER_AT] += 1;
            let home_header = &mut out[home * LINE_LEN + LINE_HEADER_AT];
            if line >= self.lines as usize {
                *home_header |= LINE_OVERFLOW_BIT;
            } else if disp > 0 && *home_header >> LINE_DISPLACED_SHIFT == 0 {
                // Records arrive in hash order, so this is the home's first
                // displaced record, in the nearest line any of them is in.
                *home_header |= (disp as u8) << LINE_DISPLACED_SHIFT;
            }
        }
        out
    }
}

/// Region names for the snapshot: `(level, code, name, former)`.
/// The region names section: every region of the table, or with `kept`
/// (ascending village codes) those villages unnamed and the regions above
/// them.
fn region_names(regions: &RegionTable, kept: Option<&[u64]>) -> Result<Vec<u8>> {
    let mut names: Vec<(u8, u64, &str, bool)> = Vec::new();
    let above = |level: Level, code: u64| {
        let Some(kept) = kept else { return true };
        let scale = 10u64.pow((Level::Village.digits() - level.digits()) as u32);
        let first = kept.partition_point(|v| *v < code * scale);
        kept.get(first).is_some_and(|v| v / scale == code)
    };
    for level in [Level::Province, Level::Regency, Level::District] {
        for r in regions
            .level(level)
            .iter()
            .filter(|r| above(level, r.code.value()))
        {
            names.push((level as u8, r.code.value(), r.name.as_str(), r.is_former()));
        }
    }
    for r in regions.level(Level::Village) {
        match kept {
            None => names.push((Level::Village as u8, r.code.value(), &r.name, r.is_former())),
            Some(kept) if kept.binary_search(&r.code.value()).is_ok() => {
                names.push((Level::Village as u8, r.code.value(), "", r.is_former()));
            }
            Some(_) => {}
        }
    }
    postcard::to_allocvec(&names).map_err(|e| Error::Input {
        file: "region table".into(),
        message: e.to_string(),
    })
}

pub(crate) struct HeaderFields {
    pub flags: u32,
    pub generation: u64,
    pub persons: u64,
    pub families: u64,
    pub profiles: u64,
    pub lines: u64,
    pub overflow: u64,
    pub hash_seed: u64,
    pub as_of_days: i64,
    pub created_secs: u64,
    pub duplicates: u64,
}

/// What a header carries beyond its counts: the key check value of a keyed
/// file, then the signature over it all.
#[derive(Clone, Copy, Default)]
pub(crate) struct Marks<'k> {
    pub signer: Option<&'k super::SigningKey>,
    pub identity_key: Option<&'k super::IdentityKey>,
}

/// Writes header, section table and sections; returns the bytes written.
fn write_file(
    out: &mut impl Write,
    h: &HeaderFields,
    sections: &[(SectionKind, &[u8])],
    marks: Marks<'_>,
) -> Result<u64> {
    let table_end = (HEADER_LEN + sections.len() * SECTION_ENTRY_LEN) as u64;
    let mut offset = table_end.next_multiple_of(SECTION_ALIGN);
    let mut table = Vec::with_capacity(sections.len() * SECTION_ENTRY_LEN);
    for (kind, bytes) in sections {
        let entry = SectionEntry {
            kind: U32::new(*kind as u32),
            reserved: U32::new(0),
            offset: U64::new(offset),
            length: U64::new(bytes.len() as u64),
            checksum: U64::new(xxh3_64(bytes)),
        };
        table.extend_from_slice(entry.as_bytes());
        offset = (offset + bytes.len() as u64).next_multiple_of(SECTION_ALIGN);
    }
    let mut header = [0u8; HEADER_LEN];
    put(&mut header, OFF_MAGIC, &MAGIC);
    put(&mut header, OFF_MAJOR, &FORMAT_MAJOR.to_le_bytes());
    put(&mut header, OFF_MINOR, &FORMAT_MINOR.to_le_bytes());
    put(
        &mut header,
        OFF_HEADER_LEN,
        &(HEADER_LEN as u32).to_le_bytes(),
    );
    put(
        &mut header,
        OFF_SECTION_COUNT,
        &(sections.len() as u32).to_le_bytes(),
    );
    put(&mut header, OFF_FLAGS, &h.flags.to_le_bytes());
    put(&mut header, OFF_GENERATION, &h.generation.to_le_bytes());
    put(&mut header, OFF_PERSONS, &h.persons.to_le_bytes());
    put(&mut header, OFF_FAMILIES, &h.families.to_le_bytes());
    put(&mut header, OFF_PROFILES, &h.profiles.to_le_bytes());
    put(&mut header, OFF_LINES, &h.lines.to_le_bytes());
    put(&mut header, OFF_OVERFLOW, &h.overflow.to_le_bytes());
    put(&mut header, OFF_HASH_SEED, &h.hash_seed.to_le_bytes());
    put(&mut header, OFF_AS_OF_DAYS, &h.as_of_days.to_le_bytes());
    put(&mut header, OFF_CREATED_SECS, &h.created_secs.to_le_bytes());
    put(&mut header, OFF_DUPLICATES, &h.duplicates.to_le_bytes());
    if let Some(key) = marks.identity_key {
        super::keyed::mark_header(key, &mut header);
    }
    if let Some(key) = marks.signer {
        super::sign::sign_header(key, &mut header, &table);
    }
    let checksum = header_checksum(&header, &table);
    put(&mut header, OFF_HEADER_CHECKSUM, &checksum.to_le_bytes());

    let io = |e| Error::io("snapshot output", e);
    out.write_all(&header).map_err(io)?;
    out.write_all(&table).map_err(io)?;
    let mut written = table_end;
    for (_, bytes) in sections {
        let pad = written.next_multiple_of(SECTION_ALIGN) - written;
        out.write_all(&[0u8; SECTION_ALIGN as usize][..pad as usize])
            .map_err(io)?;
        out.write_all(bytes).map_err(io)?;
        written += pad + bytes.len() as u64;
    }
    Ok(written)
}

fn put(header: &mut [u8; HEADER_LEN], offset: usize, bytes: &[u8]) {
    header[offset..offset + bytes.len()].copy_from_slice(bytes);
}

/// xxh3 of the header's first 248 bytes followed by the section table.
pub(crate) fn header_checksum(header: &[u8], table: &[u8]) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&header[..OFF_HEADER_CHECKSUM]);
    hasher.update(table);
    hasher.digest()
}

/// What reading a register export found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Rows staged.
    pub accepted: u64,
    /// Rows refused (each written to the rejects output).
    pub rejected: u64,
}

/// The rejects file's header.
pub const REJECTS_HEADER: &str = "line,column,field,reason,row";

impl SnapshotBuilder<'_> {
    /// Reads a register export (CSV with `tepat::register::HEADER`) and stages
    /// every usable row. Each unusable row goes to `rejects` as
    /// `line,column,field,reason,row`; a wrong header or an unreadable file
    /// stops with an error naming `file`.
    pub fn add_csv(
        &mut self,
        reader: impl std::io::BufRead,
        file: &str,
        rejects: &mut impl Write,
        mut progress: impl FnMut(u64),
    ) -> Result<IngestReport> {
        let registry = self.registry.clone();
        let parser = RowParser::new(&registry);
        let reject_err = |e| Error::io("rejects", e);
        writeln!(rejects, "{REJECTS_HEADER}").map_err(reject_err)?;
        let (mut lines, header) = Lines::open(reader, file)?;
        RowParser::check_header(&header).map_err(|message| Error::Input {
            file: file.to_owned(),
            message: format!("line 1: {message}"),
        })?;
        let mut report = IngestReport::default();
        while let Some((line_no, line)) = lines.next_line()? {
            if line.text().is_empty() {
                continue;
            }
            report.rows += 1;
            // A line that is not UTF-8 is a rejected row like any other.
            let outcome = match line.utf8_error() {
                None => parser.parse(line.text()).and_then(|rec| self.add(&rec)),
                Some(reason) => Err(RowError {
                    column: 0,
                    field: "row",
                    reason,
                }),
            };
            match outcome {
                Ok(()) => report.accepted += 1,
                Err(e) => {
                    report.rejected += 1;
                    write_reject(rejects, line_no, &e, line.text()).map_err(reject_err)?;
                }
            }
            if report.rows % 65_536 == 0 {
                progress(report.rows);
            }
        }
        progress(report.rows);
        Ok(report)
    }
}

/// One line of the rejects file: `line,column,field,reason,row`.
fn write_reject(out: &mut impl Write, line: u64, e: &RowError, row: &str) -> std::io::Result<()> {
    writeln!(
        out,
        "{line},{},{},{},{}",
        e.column,
        e.field,
        csv_quote(&e.reason),
        csv_quote(row)
    )
}

/// Quotes a CSV field.
pub(crate) fn csv_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}
