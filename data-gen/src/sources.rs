//! The register's sources as they really come: a civil-register extract
//! (`dukcapil.csv`) and three social registers (`dtks.csv`,
//! `regsosek.csv`, `p3ke.csv`), each covering its own overlapping part of
//! the population with its own columns and spellings, with problems
//! injected at the rates below; `truth/` says, for every source record,
//! which person it is and what was injected.
//!
//! The persons are the register's (`register.csv` is the truth). A row
//! whose NIK copies an earlier row's (the register's injected duplicate
//! identities) is left out of this world: it has no NIK of its own to be
//! found by. Everything is drawn from one random stream per district
//! (tag [`crate::TAG_SOURCES`]), so the register and its other companions
//! do not change when the sources are written, and the output does not
//! depend on the thread count.

use std::collections::HashSet;

use tepat::program::Component;
use tepat::register::{PersonRecord, Relation};
use tepat::{Date, Kk, Nik, RegionTable, Sex};

use crate::names::{self, Lineage};
use crate::rng::Rng;
use crate::{Chunk, Generator, TAG_SOURCES};

/// The civil register extract's header.
pub const DUKCAPIL_HEADER: &str =
    "nik,kk,relation,full_name,sex,birth_place,birth_date,village_code,deceased";
/// DTKS (Kemensos): the programs, components and a decile.
pub const DTKS_HEADER: &str = "id_dtks,nik,kk,relation,full_name,sex,birth_date,village_code,decile,civil_servant,components,programs,updated";
/// Regsosek (BPS): a welfare rank 1–100 and an occupation.
pub const REGSOSEK_HEADER: &str = "id_regsosek,nik,kk,full_name,sex,birth_place,birth_date,village_code,relation,welfare_rank,occupation,updated";
/// P3KE (extreme poverty): deciles 1–4 only and the extreme-poverty flag.
pub const P3KE_HEADER: &str =
    "id_p3ke,nik,kk,full_name,birth_date,village_code,desil,extreme_poor,updated";
/// Header of the truth files.
pub const TRUTH_HEADER: &str = "id,person,injected";

/// Source names, in file order.
pub const SOURCES: [&str; 3] = ["DTKS", "REGSOSEK", "P3KE"];
/// File names, the civil register first, then [`SOURCES`]' files.
pub const FILES: [&str; 4] = ["dukcapil.csv", "dtks.csv", "regsosek.csv", "p3ke.csv"];
/// Truth files, one per source, under `truth/`.
pub const TRUTH_FILES: [&str; 3] = ["truth/dtks.csv", "truth/regsosek.csv", "truth/p3ke.csv"];

/// Regsosek covers this share of families ...
pub const REGSOSEK_FAMILY: f64 = 0.42;
/// ... and misses this share of their members.
pub const REGSOSEK_MEMBER_MISSING: f64 = 0.02;
/// DTKS covers families with an enrolled member at this rate ...
pub const DTKS_ENROLLED: f64 = 0.75;
/// ... other families of deciles 1–6 at this rate ...
pub const DTKS_POOR: f64 = 0.10;
/// ... and the rest at this rate.
pub const DTKS_OTHER: f64 = 0.005;
/// P3KE covers this share of families of deciles 1–4 (and no others).
pub const P3KE_FAMILY: f64 = 0.50;

/// A person missing from the civil register (per person).
pub const ABSENT_FROM_CIVIL: f64 = 0.003;
/// A family formed by a split whose records in the sources still carry the
/// family card it came from (per family).
pub const STALE_KK_FAMILY: f64 = 0.02;
/// Per source record: no NIK (name, birth date and village only) ...
pub const NO_NIK: f64 = 0.015;
/// ... one wrong digit in the NIK ...
pub const NIK_DIGIT: f64 = 0.012;
/// ... two adjacent digits swapped ...
pub const NIK_SWAP: f64 = 0.006;
/// ... a NIK that was never issued (absent from the civil register).
pub const NIK_UNKNOWN: f64 = 0.004;
/// A stale decile (another decile, dated a year or more earlier) ...
pub const DECILE_STALE: f64 = 0.04;
/// ... a second record of the same person in the same source ...
pub const DUPLICATE: f64 = 0.008;
/// ... the name in a spelling the merge should undo ...
pub const NAME_VARIANT: f64 = 0.12;
/// ... and a misspelt name.
pub const NAME_TYPO: f64 = 0.004;

/// Injected kinds, as `truth/*.csv` names them.
pub const KINDS: [&str; 11] = [
    "no_nik",
    "nik_digit",
    "nik_swap",
    "nik_unknown",
    "absent_from_civil",
    "stale_kk",
    "decile_stale",
    "duplicate",
    "died",
    "name_variant",
    "name_typo",
];

/// Counts of one chunk or of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Rows of `dukcapil.csv`.
    pub civil: u64,
    /// Persons left out of `dukcapil.csv`.
    pub absent: u64,
    /// Families whose sources carry a stale KK.
    pub split_families: u64,
    /// Rows per source.
    pub records: [u64; 3],
    /// Records per source and [`KINDS`] entry.
    pub kinds: [[u64; 11]; 3],
}

impl Counts {
    /// Adds another chunk's counts.
    pub fn add(&mut self, other: &Counts) {
        self.civil += other.civil;
        self.absent += other.absent;
        self.split_families += other.split_families;
        for s in 0..3 {
            self.records[s] += other.records[s];
            for k in 0..KINDS.len() {
                self.kinds[s][k] += other.kinds[s][k];
            }
        }
    }
}

/// One chunk's source files: bytes for each of [`FILES`] then each of
/// [`TRUTH_FILES`], without headers.
#[derive(Clone, Debug, Default)]
pub struct SourcePiece {
    /// `dukcapil.csv`, `dtks.csv`, `regsosek.csv`, `p3ke.csv`, then the
    /// three truth files.
    pub files: [Vec<u8>; 7],
    /// What was written.
    pub counts: Counts,
}

/// What the sources know about one person.
struct Person<'a> {
    record: &'a PersonRecord,
    name: String,
    age: u16,
    /// Index into the "other" relation words.
    other: usize,
    absent: bool,
    stale_kk: Option<Kk>,
}

/// Which family a source record belongs to, for coverage.
#[derive(Clone, Copy)]
struct Coverage {
    regsosek: bool,
    dtks: bool,
    p3ke: bool,
}

/// Writes the sources of one chunk.
pub fn of_chunk(g: &Generator, chunk: &Chunk) -> SourcePiece {
    let mut w = Writer {
        rng: Rng::stream(g.config().seed, TAG_SOURCES, chunk.index as u64),
        as_of: g.config().as_of,
        registry: g.registry(),
        regions: RegionTable::builtin(),
        district: chunk.district,
        rows: [Vec::new(), Vec::new(), Vec::new()],
        serial: [0; 3],
        piece: SourcePiece::default(),
    };
    let province = (chunk.district / 10_000) as u8;
    let mut seen = HashSet::with_capacity(chunk.records.len());
    for (f, family) in chunk.families.iter().enumerate() {
        let style = names::draw_style(&mut w.rng, province);
        let head = Lineage::new(&mut w.rng, style);
        let stale_kk = (f > 0 && w.rng.chance(STALE_KK_FAMILY)).then(|| {
            let earlier = chunk.families[w.rng.index(f)];
            chunk.records[earlier.start as usize].kk
        });
        w.piece.counts.split_families += u64::from(stale_kk.is_some());
        let members = &chunk.records[family.members()];
        let cover = w.coverage(members);
        let mut children = 0;
        for i in family.members() {
            let record = &chunk.records[i];
            if !seen.insert(record.nik) {
                continue; // a copied NIK: not a person of this world
            }
            let lineage = names::member_lineage(&mut w.rng, head, record.relation);
            let order = match record.relation {
                Relation::Child => {
                    children += 1;
                    children - 1
                }
                _ => w.rng.index(4),
            };
            let person = Person {
                record,
                name: names::full_name(&mut w.rng, lineage, record.sex, order),
                age: chunk.info[i].age,
                other: w.rng.index(OTHER_WORDS.len()),
                absent: w.rng.chance(ABSENT_FROM_CIVIL),
                stale_kk,
            };
            w.person(&person, cover);
        }
    }
    w.finish()
}

/// SHDK words (civil register) and BPS codes (Regsosek) for `other`.
const OTHER_WORDS: [(&str, u8); 5] = [
    ("MENANTU", 4),
    ("CUCU", 5),
    ("ORANG TUA", 6),
    ("MERTUA", 6),
    ("FAMILI LAIN", 7),
];

const OCCUPATIONS: [&str; 8] = [
    "PETANI",
    "BURUH HARIAN LEPAS",
    "WIRASWASTA",
    "PEDAGANG",
    "NELAYAN",
    "KARYAWAN SWASTA",
    "MENGURUS RUMAH TANGGA",
    "SOPIR",
];

struct Writer<'g> {
    rng: Rng,
    as_of: Date,
    registry: &'g tepat::Registry,
    regions: &'g RegionTable,
    district: u32,
    /// Per source: (row, truth row) pairs, shuffled before writing.
    rows: [Vec<(String, String)>; 3],
    serial: [u32; 3],
    piece: SourcePiece,
}

impl Writer<'_> {
    fn coverage(&mut self, members: &[PersonRecord]) -> Coverage {
        let decile = members.first().map_or(10, |r| r.decile);
        let enrolled = members.iter().any(|r| !r.programs.is_empty());
        let dtks = if enrolled {
            DTKS_ENROLLED
        } else if decile <= 6 {
            DTKS_POOR
        } else {
            DTKS_OTHER
        };
        Coverage {
            regsosek: self.rng.chance(REGSOSEK_FAMILY),
            dtks: self.rng.chance(dtks),
            p3ke: decile <= 4 && self.rng.chance(P3KE_FAMILY),
        }
    }

    fn person(&mut self, p: &Person, cover: Coverage) {
        if p.absent {
            self.piece.counts.absent += 1;
        } else {
            self.civil_row(p);
        }
        let regsosek = cover.regsosek && !self.rng.chance(REGSOSEK_MEMBER_MISSING);
        for (s, on) in [cover.dtks, regsosek, cover.p3ke].into_iter().enumerate() {
            if !on {
                continue;
            }
            self.source_record(s, p, false);
            if self.rng.chance(DUPLICATE) {
                self.source_record(s, p, true);
            }
        }
    }

    fn civil_row(&mut self, p: &Person) {
        let r = p.record;
        let line = format!(
            "{},{},{},{},{},{},{},{:010},{}\n",
            r.nik,
            r.kk,
            shdk(r.relation, r.sex, p.other),
            p.name,
            match r.sex {
                Sex::Male => "LAKI-LAKI",
                Sex::Female => "PEREMPUAN",
            },
            self.birth_place(r.nik),
            dmy(r.birth_date),
            r.village,
            u8::from(r.deceased),
        );
        self.piece.files[0].extend_from_slice(line.as_bytes());
        self.piece.counts.civil += 1;
    }

    /// The regency the NIK was issued in, as people write a birth place.
    fn birth_place(&self, nik: Nik) -> String {
        let name = self
            .regions
            .regency(nik.regency_code())
            .or_else(|| self.regions.province(nik.province_code()))
            .map_or("", |r| r.name.as_str());
        let name = name
            .strip_prefix("Kabupaten ")
            .or_else(|| name.strip_prefix("Kota "))
            .unwrap_or(name);
        name.replace(',', " ").to_uppercase()
    }

    /// One record of source `s` for `p`, with its injected problems.
    fn source_record(&mut self, s: usize, p: &Person, duplicate: bool) {
        let r = p.record;
        let mut kinds: Vec<&'static str> = Vec::new();
        if duplicate {
            kinds.push("duplicate");
        }
        if p.absent {
            kinds.push("absent_from_civil");
        }
        if r.deceased {
            kinds.push("died");
        }
        let nik = self.nik_as_given(r, &mut kinds);
        let name = self.name_as_given(s, &p.name, &mut kinds);
        let kk = match p.stale_kk {
            Some(old) => {
                kinds.push("stale_kk");
                old
            }
            None => r.kk,
        };
        let relation = if p.stale_kk.is_some() {
            // In the card they came from, the family were its children.
            match r.relation {
                Relation::Head => Relation::Child,
                _ => Relation::Other,
            }
        } else {
            r.relation
        };
        let (decile, updated) = self.decile_as_given(s, r.decile, &mut kinds);
        self.serial[s] += 1;
        let id = format!(
            "{}{:06}{:07}",
            ["DT", "RS", "PK"][s],
            self.district,
            self.serial[s]
        );
        let fields = Given {
            id: &id,
            nik: &nik,
            kk,
            name: &name,
            relation,
            decile,
            updated,
        };
        let row = match s {
            0 => self.dtks_row(p, &fields),
            1 => self.regsosek_row(p, &fields),
            _ => p3ke_row(p, &fields),
        };
        for k in &kinds {
            if let Some(i) = KINDS.iter().position(|x| x == k) {
                self.piece.counts.kinds[s][i] += 1;
            }
        }
        let truth = format!("{id},{},{}\n", r.nik, kinds.join("|"));
        self.rows[s].push((row, truth));
        self.piece.counts.records[s] += 1;
    }

    fn nik_as_given(&mut self, r: &PersonRecord, kinds: &mut Vec<&'static str>) -> String {
        let u = self.rng.unit();
        let text = r.nik.to_string();
        let mut cut = NO_NIK;
        if u < cut {
            kinds.push("no_nik");
            return String::new();
        }
        cut += NIK_DIGIT;
        if u < cut {
            kinds.push("nik_digit");
            return wrong_digit(&mut self.rng, &text);
        }
        cut += NIK_SWAP;
        if u < cut {
            kinds.push("nik_swap");
            return swap_digits(&mut self.rng, &text);
        }
        cut += NIK_UNKNOWN;
        if u < cut {
            kinds.push("nik_unknown");
            // Serials 9500-9999 of the district of residence: no register
            // row carries one (data-gen/src/ids.rs).
            let serial = 9500 + self.rng.below(500) as u16;
            let sex = r.nik.sex();
            return Nik::from_parts(self.district, sex, r.birth_date, serial)
                .map_or(text, |n| n.to_string());
        }
        text
    }

    fn name_as_given(&mut self, s: usize, name: &str, kinds: &mut Vec<&'static str>) -> String {
        let u = self.rng.unit();
        let given = if u < NAME_TYPO {
            kinds.push("name_typo");
            names::typo(&mut self.rng, name)
        } else if u < NAME_TYPO + NAME_VARIANT {
            kinds.push("name_variant");
            names::variant(&mut self.rng, name)
        } else {
            name.to_owned()
        };
        // Regsosek's house style is title case: BPS enumerators' tablets.
        if s == 1 && given == name {
            title_case(&given)
        } else {
            given
        }
    }

    /// The decile the source holds and the record's update date: current
    /// within the last year, or (stale) another decile from one to three
    /// years ago.
    fn decile_as_given(
        &mut self,
        s: usize,
        decile: u8,
        kinds: &mut Vec<&'static str>,
    ) -> (u8, Date) {
        let today = self.as_of.to_unix_days();
        let (lo, hi, stale) = if self.rng.chance(DECILE_STALE) {
            (today - 1095, today - 366, true)
        } else {
            (today - 365, today - 1, false)
        };
        let day = lo + self.rng.below((hi - lo + 1) as u64) as i64;
        let updated = Date::from_unix_days(day).unwrap_or(self.as_of);
        if !stale {
            return (decile, updated);
        }
        let top = if s == 2 { 4 } else { 10 };
        let step = 1 + self.rng.below(2) as u8;
        let given = if self.rng.chance(0.5) && decile > step {
            decile - step
        } else if decile + step <= top {
            decile + step
        } else {
            decile.saturating_sub(step).max(1)
        };
        if given == decile {
            return (decile, updated);
        }
        kinds.push("decile_stale");
        (given, updated)
    }

    fn dtks_row(&mut self, p: &Person, f: &Given) -> String {
        let r = p.record;
        format!(
            "{},{},{},{},{},{},{},{:010},{},{},{},{},{}\n",
            f.id,
            f.nik,
            f.kk,
            f.relation.name(),
            f.name,
            match r.sex {
                Sex::Male => "L",
                Sex::Female => "P",
            },
            r.birth_date,
            r.village,
            f.decile,
            u8::from(r.civil_servant),
            r.components,
            self.registry.format_set(r.programs),
            f.updated,
        )
    }

    fn regsosek_row(&mut self, p: &Person, f: &Given) -> String {
        let r = p.record;
        let rank = u32::from(f.decile - 1) * 10 + 1 + self.rng.below(10) as u32;
        let relation = match f.relation {
            Relation::Head => 1,
            Relation::Spouse => 2,
            Relation::Child => 3,
            Relation::Other => OTHER_WORDS[p.other].1,
        };
        format!(
            "{},{},{},{},{},{},{},{:010},{},{},{},{}\n",
            f.id,
            f.nik,
            f.kk,
            f.name,
            match r.sex {
                Sex::Male => 1,
                Sex::Female => 2,
            },
            title_case(&self.birth_place(r.nik)),
            r.birth_date,
            r.village,
            relation,
            rank,
            self.occupation(p),
            f.updated,
        )
    }

    fn occupation(&mut self, p: &Person) -> &'static str {
        let r = p.record;
        if r.civil_servant {
            return ["PNS", "PNS", "PNS", "TNI", "POLRI"][self.rng.index(5)];
        }
        match p.age {
            0..=17 if r.components.contains(Component::InSchool) => "PELAJAR/MAHASISWA",
            0..=17 => "BELUM/TIDAK BEKERJA",
            65.. => ["PENSIUNAN", "BELUM/TIDAK BEKERJA", "PETANI"][self.rng.index(3)],
            _ => OCCUPATIONS[self.rng.index(OCCUPATIONS.len())],
        }
    }

    fn finish(mut self) -> SourcePiece {
        for s in 0..3 {
            let mut rows = std::mem::take(&mut self.rows[s]);
            // Sources are not in civil-register order.
            self.rng.shuffle(&mut rows);
            for (row, truth) in rows {
                self.piece.files[1 + s].extend_from_slice(row.as_bytes());
                self.piece.files[4 + s].extend_from_slice(truth.as_bytes());
            }
        }
        self.piece
    }
}

/// The fields a source record gives, after injection.
struct Given<'a> {
    id: &'a str,
    nik: &'a str,
    kk: Kk,
    name: &'a str,
    relation: Relation,
    decile: u8,
    updated: Date,
}

fn p3ke_row(p: &Person, f: &Given) -> String {
    let r = p.record;
    format!(
        "{},{},{},{},{},{:010},{},{},{}\n",
        f.id,
        f.nik,
        f.kk,
        f.name,
        r.birth_date,
        r.village,
        f.decile,
        u8::from(f.decile == 1),
        f.updated,
    )
}

/// The civil register's relation words (SHDK).
fn shdk(relation: Relation, sex: Sex, other: usize) -> &'static str {
    match (relation, sex) {
        (Relation::Head, _) => "KEPALA KELUARGA",
        (Relation::Spouse, Sex::Female) => "ISTRI",
        (Relation::Spouse, Sex::Male) => "SUAMI",
        (Relation::Child, _) => "ANAK",
        (Relation::Other, _) => OTHER_WORDS[other].0,
    }
}

/// `DD-MM-YYYY`, the civil register's date format.
fn dmy(d: Date) -> String {
    format!("{:02}-{:02}-{:04}", d.day(), d.month(), d.year())
}

fn title_case(name: &str) -> String {
    name.split(' ')
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(c) => c.to_string() + &cs.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One digit replaced by another.
pub fn wrong_digit(rng: &mut Rng, nik: &str) -> String {
    let mut b = nik.as_bytes().to_vec();
    let i = rng.index(b.len());
    let d = b[i] - b'0';
    b[i] = b'0' + ((d + 1 + rng.below(9) as u8) % 10);
    String::from_utf8(b).unwrap_or_default()
}

/// Two adjacent, different digits swapped.
pub fn swap_digits(rng: &mut Rng, nik: &str) -> String {
    let mut b = nik.as_bytes().to_vec();
    let pairs: Vec<usize> = (0..b.len().saturating_sub(1))
        .filter(|&i| b[i] != b[i + 1])
        .collect();
    if pairs.is_empty() {
        return wrong_digit(rng, nik);
    }
    let i = pairs[rng.index(pairs.len())];
    b.swap(i, i + 1);
    String::from_utf8(b).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nik_problems_are_one_edit_away() {
        let mut rng = Rng::stream(1, 9, 9);
        let nik = "3201015708900001";
        for _ in 0..100 {
            let w = wrong_digit(&mut rng, nik);
            assert_eq!(
                w.bytes().zip(nik.bytes()).filter(|(a, b)| a != b).count(),
                1
            );
            let s = swap_digits(&mut rng, nik);
            let diff: Vec<usize> = (0..16)
                .filter(|&i| s.as_bytes()[i] != nik.as_bytes()[i])
                .collect();
            assert_eq!(diff.len(), 2);
            assert_eq!(diff[1], diff[0] + 1);
        }
    }
}
