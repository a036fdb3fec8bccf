//! One chunk: every person living in one district, family by family.

use tepat::program::PersonFacts;
use tepat::register::PersonRecord;
use tepat::{Date, ProgramSet, Registry};

use crate::enrol::{self, DECEASED_ENROLLED, DECEASED_OTHER};
use crate::family::Member;
use crate::ids::{self, Origin, Serials};
use crate::rng::Rng;
use crate::{Generator, TAG_REGISTER};

/// Duplicate NIKs: 1.06 M rows at 289 M persons (DESIGN §2), as a per-row
/// chance: the row takes the NIK of an earlier person of another family in
/// the same district.
pub const DUPLICATE_ROW: f64 = 1_060_000.0 / 289_000_000.0;
/// Chance that an adult's NIK was issued in another district (a mover) ...
pub const MOVER_ADULT: f64 = 0.04;
/// ... and a child's (under 18).
pub const MOVER_CHILD: f64 = 0.01;
/// Chance that a person born before 2022 in a district that succeeded a
/// pre-split Papua district (provinces 93–96) still carries the former code.
pub const FORMER_CODE: f64 = 0.5;
/// NIKs with a former code were issued before this date (the 2022 split).
const SPLIT: Date = match Date::new(2022, 6, 30) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// What the generator knows about a person beyond the register row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PersonInfo {
    /// Index of the person's family in [`Chunk::families`].
    pub family: u32,
    /// Age in whole years on the as-of date.
    pub age: u16,
    /// Eligibility at as-of by the registry: person programs from the
    /// person's facts, family programs from the family's living members
    /// (none when no member is alive).
    pub eligible: ProgramSet,
    /// The NIK is shared with another row (either copy).
    pub duplicate: bool,
}

/// A family: a run of consecutive records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamilyInfo {
    /// Index of the first member (the head) in [`Chunk::records`].
    pub start: u32,
    /// Number of members.
    pub len: u32,
}

impl FamilyInfo {
    /// The members' indices.
    pub fn members(&self) -> std::ops::Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

/// Every person of one district of residence, in output order.
#[derive(Clone, Debug, Default)]
pub struct Chunk {
    /// Position in the run (district order).
    pub index: usize,
    /// The district of residence `PPRRDD`.
    pub district: u32,
    /// The register rows, family by family, head first.
    pub records: Vec<PersonRecord>,
    /// One entry per record.
    pub info: Vec<PersonInfo>,
    /// The families.
    pub families: Vec<FamilyInfo>,
}

/// Scratch space reused across families.
#[derive(Default)]
struct Scratch {
    members: Vec<Member>,
    births: Vec<Date>,
    facts: Vec<PersonFacts>,
    living: Vec<PersonFacts>,
}

impl Generator {
    /// Generates chunk `index` (a district, in code order). Deterministic:
    /// it depends only on the configuration and `index`, so chunks can be
    /// made in any order and on any thread.
    pub fn chunk(&self, index: usize) -> Chunk {
        let Some(district) = self.geo.districts.get(index) else {
            return Chunk {
                index,
                ..Chunk::default()
            };
        };
        let target = district.persons as usize;
        let mut chunk = Chunk {
            index,
            district: district.code,
            records: Vec::with_capacity(target),
            info: Vec::with_capacity(target),
            families: Vec::with_capacity(target / 3 + 1),
        };
        let mut rng = Rng::stream(self.config.seed, TAG_REGISTER, index as u64);
        let mut serials = Serials::new(self.config.as_of);
        let mut scratch = Scratch::default();
        while chunk.records.len() < target {
            let remaining = (target - chunk.records.len()) as u64;
            self.family(
                &mut chunk,
                index,
                &mut rng,
                &mut serials,
                &mut scratch,
                remaining,
            );
        }
        chunk
    }

    fn family(
        &self,
        chunk: &mut Chunk,
        index: usize,
        rng: &mut Rng,
        serials: &mut Serials,
        s: &mut Scratch,
        remaining: u64,
    ) {
        let registry: &Registry = self.registry;
        let as_of = self.config.as_of;
        let district = &self.geo.districts[index];
        let size = self.family_model.size(rng, remaining);
        let decile = self.deciles.decile(district.province, rng.unit());
        self.family_model.members(rng, size, decile, &mut s.members);
        s.births.clear();
        for m in s.members.iter_mut() {
            let birth = ids::birth_date(rng, as_of, m.age);
            m.age = birth.age_on(as_of);
            s.births.push(birth);
        }
        s.facts.clear();
        s.facts
            .extend(s.members.iter().map(|m| enrol::facts(m, decile)));
        let family_eligible = registry.family_eligibility(decile, &s.facts);
        let civil = s.members.iter().any(|m| m.civil_servant);
        let family_programs = self
            .enrolment
            .family(registry, rng, decile, family_eligible, civil);
        let villages = self.geo.villages_of(index);
        let village = villages[rng.index(villages.len())];
        let kk = serials.kk(rng, district.code, s.births[0]);
        let family_index = chunk.families.len() as u32;
        let start = chunk.records.len();
        for (i, m) in s.members.iter().enumerate() {
            let facts = s.facts[i];
            let person_eligible = registry.person_eligibility(&facts);
            let programs = ProgramSet(
                family_programs.0
                    | self
                        .enrolment
                        .person(registry, rng, &facts, person_eligible)
                        .0,
            );
            let deceased = rng.chance(if programs.is_empty() {
                DECEASED_OTHER
            } else {
                DECEASED_ENROLLED
            });
            let (nik, birth_date, duplicate) =
                self.nik(chunk, index, rng, serials, m, s.births[i], start);
            chunk.records.push(PersonRecord {
                nik,
                kk,
                relation: m.relation,
                village,
                sex: m.sex,
                birth_date,
                decile,
                deceased,
                civil_servant: m.civil_servant,
                components: m.components,
                programs,
            });
            chunk.info.push(PersonInfo {
                family: family_index,
                age: m.age,
                eligible: ProgramSet(person_eligible.0 | family_eligible.0),
                duplicate,
            });
        }
        // Family eligibility reads the living members only.
        let records = &chunk.records[start..];
        if records.iter().any(|r| r.deceased) {
            s.living.clear();
            s.living.extend(
                s.facts
                    .iter()
                    .zip(records)
                    .filter(|(_, r)| !r.deceased)
                    .map(|(f, _)| *f),
            );
            let family_mask = registry.family_programs().0;
            let living_eligible = if s.living.is_empty() {
                ProgramSet::EMPTY
            } else {
                registry.family_eligibility(decile, &s.living)
            };
            for info in &mut chunk.info[start..] {
                info.eligible = ProgramSet((info.eligible.0 & !family_mask) | living_eligible.0);
            }
        }
        chunk.families.push(FamilyInfo {
            start: start as u32,
            len: size as u32,
        });
    }

    /// The person's NIK: a copy of an earlier family's NIK (an injected
    /// duplicate), or a fresh one from the issuing district's block.
    #[allow(clippy::too_many_arguments)]
    fn nik(
        &self,
        chunk: &mut Chunk,
        index: usize,
        rng: &mut Rng,
        serials: &mut Serials,
        m: &Member,
        birth: Date,
        family_start: usize,
    ) -> (tepat::Nik, Date, bool) {
        if family_start > 0 && rng.chance(DUPLICATE_ROW) {
            let source = rng.index(family_start);
            chunk.info[source].duplicate = true;
            return (chunk.records[source].nik, birth, true);
        }
        let (code, origin) = self.origin(rng, index, m, birth);
        let (nik, birth) = serials.nik(code, origin, m.sex, birth);
        (nik, birth, false)
    }

    /// Where the NIK was first issued.
    fn origin(&self, rng: &mut Rng, index: usize, m: &Member, birth: Date) -> (u32, Origin) {
        let district = &self.geo.districts[index];
        if !district.formers.is_empty() && birth < SPLIT && rng.chance(FORMER_CODE) {
            let i = rng.index(district.formers.len());
            return (district.formers[i], Origin::Former(i));
        }
        let p = if m.age >= 18 {
            MOVER_ADULT
        } else {
            MOVER_CHILD
        };
        if rng.chance(p) {
            let k = rng.index(district.movers.len());
            if let Some(code) = district.movers[k] {
                return (code, Origin::Mover(k));
            }
        }
        (district.code, Origin::Native)
    }
}
