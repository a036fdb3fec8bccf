//! `payees.csv`: a payout list to check, mostly payable rows mixed with rows
//! that must be refused, each row's category in `payees_truth.csv`.
//!
//! Rows: `max(1000, N / 10)`, split over categories by [`CATEGORIES`]
//! (per mille) and over districts in proportion to persons. Each district's
//! worker prepares candidate rows; the writer takes each district's share in
//! order, and a share a district cannot fill (e.g. no deceased enrollee
//! there) is carried to the next district. What is still missing at the end
//! is written as `unknown_nik` rows, so the row count is exact.

use tepat::register::PersonRecord;
use tepat::{Date, Nik, Period, PeriodKind, ProgramId, ProgramSet, Registry, Sex, Unit};

use crate::Generator;
use crate::chunk::Chunk;
use crate::ids::{self, UNKNOWN_BLOCK};
use crate::rng::Rng;

/// The categories of payee rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// Enrolled, eligible, alive, not a civil servant, not a duplicate NIK,
    /// no exclusion conflict; one row per family for family programs.
    Payable,
    /// A deceased enrollee, otherwise clean.
    Deceased,
    /// A living register person not enrolled in the program, otherwise clean.
    NotEnrolled,
    /// A BLT_DD row for a family also in PKH or SEMBAKO.
    Excluded,
    /// An enrolled civil servant, otherwise clean.
    CivilServant,
    /// A clean enrollee with a period of the wrong kind.
    WrongPeriodKind,
    /// A valid NIK that is not in the register.
    UnknownNik,
    /// A string that fails `Nik::parse`.
    InvalidNik,
    /// An exact copy of an earlier payable row.
    Repeated,
    /// Wrong column count, empty or unknown program, bad period or amount.
    Malformed,
}

/// Every category with its share of rows, per mille.
pub const CATEGORIES: [(Category, u64); 10] = [
    (Category::Payable, 770),
    (Category::Deceased, 12),
    (Category::NotEnrolled, 60),
    (Category::Excluded, 2),
    (Category::CivilServant, 6),
    (Category::WrongPeriodKind, 30),
    (Category::UnknownNik, 30),
    (Category::InvalidNik, 30),
    (Category::Repeated, 30),
    (Category::Malformed, 30),
];

impl Category {
    /// The name in `payees_truth.csv` and `truth.json`.
    pub const fn name(self) -> &'static str {
        match self {
            Category::Payable => "payable",
            Category::Deceased => "deceased",
            Category::NotEnrolled => "not_enrolled",
            Category::Excluded => "excluded",
            Category::CivilServant => "civil_servant",
            Category::WrongPeriodKind => "wrong_period_kind",
            Category::UnknownNik => "unknown_nik",
            Category::InvalidNik => "invalid_nik",
            Category::Repeated => "repeated",
            Category::Malformed => "malformed",
        }
    }

    fn index(self) -> usize {
        CATEGORIES.iter().position(|(c, _)| *c == self).unwrap_or(0)
    }
}

/// The number of payee rows for `persons` persons.
pub fn total_rows(persons: u64) -> u64 {
    (persons / 10).max(1000)
}

/// The amount paid per period, in rupiah (indicative 2024–2026 figures).
pub fn amount(code: &str, age: u16) -> u64 {
    match code {
        "PKH" => 750_000,
        "SEMBAKO" => 600_000,
        "PBI_JK" => 42_000,
        "BLT_DD" => 300_000,
        "PIP" if age <= 12 => 450_000,
        "PIP" if age <= 15 => 750_000,
        "PIP" => 1_800_000,
        "ATENSI" => 1_000_000,
        "YAPI" => 200_000,
        "PERMAKANAN" => 900_000,
        _ => 100_000,
    }
}

/// The period of `kind` containing `as_of`, as text.
pub fn period(kind: PeriodKind, as_of: Date) -> String {
    Period::containing(kind, as_of).to_string()
}

/// A period of a kind the program is NOT paid by.
fn wrong_period(kind: PeriodKind, as_of: Date) -> String {
    let wrong = match kind {
        PeriodKind::Month => PeriodKind::Quarter,
        PeriodKind::Quarter | PeriodKind::Year => PeriodKind::Month,
        PeriodKind::Once => PeriodKind::Year,
    };
    period(wrong, as_of)
}

/// Candidate rows of one district, per category, in random order.
#[derive(Clone, Debug, Default)]
pub struct Candidates {
    /// Rows per category (index as in [`CATEGORIES`]); `Repeated` is empty.
    pub rows: Vec<Vec<String>>,
}

/// Who may appear in which row, for one chunk.
struct View<'a> {
    g: &'a Generator,
    chunk: &'a Chunk,
    /// Union of the programs of each family's members.
    family_programs: Vec<ProgramSet>,
}

impl View<'_> {
    fn record(&self, i: usize) -> &PersonRecord {
        &self.chunk.records[i]
    }

    /// Alive, not a civil servant, NIK not shared.
    fn clean(&self, i: usize) -> bool {
        let r = self.record(i);
        !r.deceased && !r.civil_servant && !self.chunk.info[i].duplicate
    }

    /// Whether a claim for `id` by person `i` meets an exclusion rule.
    fn conflict(&self, i: usize, id: ProgramId) -> bool {
        let family = self.family_programs[self.chunk.info[i].family as usize];
        let own = self.record(i).programs;
        self.g
            .registry()
            .program(id)
            .excludes
            .iter()
            .any(|e| match e.level {
                tepat::program::ExclusionLevel::Person => own.contains(e.program),
                tepat::program::ExclusionLevel::Family => family.contains(e.program),
            })
    }

    fn line(&self, i: usize, id: ProgramId, wrong_kind: bool) -> String {
        let p = self.g.registry().program(id);
        let as_of = self.g.config().as_of;
        let period = if wrong_kind {
            wrong_period(p.period, as_of)
        } else {
            period(p.period, as_of)
        };
        let age = self.chunk.info[i].age;
        format!(
            "{},{},{},{}",
            self.record(i).nik,
            p.code,
            period,
            amount(&p.code, age)
        )
    }

    /// The one member who stands for the family in a family-program row:
    /// the first member passing `ok`.
    fn representative(&self, family: usize, ok: impl Fn(usize) -> bool) -> Option<usize> {
        self.chunk.families[family].members().find(|&i| ok(i))
    }
}

impl Candidates {
    /// Prepares up to `caps[c]` candidate rows per category for `chunk`.
    pub fn of_chunk(g: &Generator, chunk: &Chunk, caps: &[usize; 10]) -> Candidates {
        let mut rng = Rng::stream(g.config().seed, crate::TAG_PAYEES, chunk.index as u64);
        let view = View {
            g,
            chunk,
            family_programs: chunk
                .families
                .iter()
                .map(|f| {
                    f.members().fold(ProgramSet::EMPTY, |s, i| {
                        ProgramSet(s.0 | chunk.records[i].programs.0)
                    })
                })
                .collect(),
        };
        let mut rows = vec![Vec::new(); CATEGORIES.len()];
        let pairs = enrolled_pairs(&view);
        let mut take =
            |cat: Category, mut list: Vec<(usize, ProgramId)>, wrong: bool, rng: &mut Rng| {
                partial_shuffle(rng, &mut list, caps[cat.index()]);
                rows[cat.index()] = list
                    .iter()
                    .map(|&(i, id)| view.line(i, id, wrong))
                    .collect();
            };
        take(Category::Payable, pairs.payable.clone(), false, &mut rng);
        take(Category::WrongPeriodKind, pairs.payable, true, &mut rng);
        take(Category::Deceased, pairs.deceased, false, &mut rng);
        take(Category::Excluded, pairs.excluded, false, &mut rng);
        take(Category::CivilServant, pairs.civil_servant, false, &mut rng);
        let not_enrolled = not_enrolled(&view, &mut rng, caps[Category::NotEnrolled.index()]);
        take(Category::NotEnrolled, not_enrolled, false, &mut rng);
        let cap = |c: Category| caps[c.index()];
        rows[Category::UnknownNik.index()] = (0..cap(Category::UnknownNik))
            .map(|_| unknown_row(g, &mut rng, chunk.district))
            .collect();
        if !chunk.records.is_empty() {
            rows[Category::InvalidNik.index()] = (0..cap(Category::InvalidNik))
                .map(|_| invalid_row(g, &mut rng, &chunk.records))
                .collect();
            rows[Category::Malformed.index()] = (0..cap(Category::Malformed))
                .map(|_| malformed_row(g, &mut rng, &chunk.records))
                .collect();
        }
        Candidates { rows }
    }
}

#[derive(Default)]
struct Pairs {
    payable: Vec<(usize, ProgramId)>,
    deceased: Vec<(usize, ProgramId)>,
    excluded: Vec<(usize, ProgramId)>,
    civil_servant: Vec<(usize, ProgramId)>,
}

/// Every (person, program) pair of the enrolment-based categories; family
/// programs contribute one member per family and category.
fn enrolled_pairs(v: &View) -> Pairs {
    let registry: &Registry = v.g.registry();
    let mut p = Pairs::default();
    let not_dup = |i: usize| !v.chunk.info[i].duplicate;
    for (f_index, f) in v.chunk.families.iter().enumerate() {
        let head = f.start as usize;
        for id in v.family_programs[f_index].iter() {
            if registry.program(id).unit != Unit::Family {
                continue;
            }
            let eligible = v.chunk.info[head].eligible.contains(id);
            let conflict = v.conflict(head, id);
            if let Some(i) = v.representative(f_index, |i| v.clean(i)) {
                if conflict {
                    p.excluded.push((i, id));
                } else if eligible {
                    p.payable.push((i, id));
                }
            }
            if !conflict {
                let dead = |i: usize| {
                    let r = v.record(i);
                    r.deceased && !r.civil_servant && not_dup(i)
                };
                if let Some(i) = v.representative(f_index, dead) {
                    p.deceased.push((i, id));
                }
            }
        }
        for i in f.members() {
            let r = v.record(i);
            for id in r.programs.iter() {
                if registry.program(id).unit != Unit::Person || v.conflict(i, id) || !not_dup(i) {
                    continue;
                }
                if r.civil_servant && !r.deceased {
                    p.civil_servant.push((i, id));
                } else if r.deceased && !r.civil_servant {
                    p.deceased.push((i, id));
                } else if v.clean(i) && v.chunk.info[i].eligible.contains(id) {
                    p.payable.push((i, id));
                }
            }
        }
    }
    p
}

/// Random clean persons with a program they (or their family) are not in.
fn not_enrolled(v: &View, rng: &mut Rng, cap: usize) -> Vec<(usize, ProgramId)> {
    let registry = v.g.registry();
    let n = v.chunk.records.len();
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..cap.saturating_mul(4) {
        if out.len() >= cap || n == 0 {
            break;
        }
        let i = rng.index(n);
        let id = match ProgramId::new(rng.index(registry.len())) {
            Some(id) => id,
            None => continue,
        };
        let family = v.family_programs[v.chunk.info[i].family as usize];
        let enrolled = match registry.program(id).unit {
            Unit::Family => family.contains(id),
            Unit::Person => v.record(i).programs.contains(id),
        };
        // Family rows: at most one per family and program.
        let key = match registry.program(id).unit {
            Unit::Family => (v.chunk.info[i].family as usize, id, true),
            Unit::Person => (i, id, false),
        };
        if v.clean(i) && !enrolled && !v.conflict(i, id) && seen.insert(key) {
            out.push((i, id));
        }
    }
    out
}

/// Moves a random selection of `k` items to the front and drops the rest.
fn partial_shuffle<T>(rng: &mut Rng, list: &mut Vec<T>, k: usize) {
    let k = k.min(list.len());
    for i in 0..k {
        let j = i + rng.index(list.len() - i);
        list.swap(i, j);
    }
    list.truncate(k);
}

fn random_program(g: &Generator, rng: &mut Rng) -> (ProgramId, String, String) {
    let registry = g.registry();
    let id = ProgramId::new(rng.index(registry.len())).unwrap_or(g.enrolment.id(0));
    let p = registry.program(id);
    (id, p.code.clone(), period(p.period, g.config().as_of))
}

/// A valid NIK from the `unknown_nik` serial block (never in the register).
pub fn unknown_row(g: &Generator, rng: &mut Rng, district: u32) -> String {
    let as_of = g.config().as_of;
    let sex = if rng.chance(0.5) {
        Sex::Male
    } else {
        Sex::Female
    };
    let age = rng.range(18, 80) as u16;
    let birth = ids::birth_date(rng, as_of, age);
    let serial = UNKNOWN_BLOCK.0 + rng.below(u64::from(UNKNOWN_BLOCK.1 - UNKNOWN_BLOCK.0)) as u16;
    let nik = Nik::from_parts(district, sex, birth, serial)
        .map_or_else(|_| "3201010101909999".to_owned(), |n| n.to_string());
    let (_, code, period) = random_program(g, rng);
    format!("{nik},{code},{period},{}", amount(&code, age))
}

/// A register NIK broken so that `Nik::parse` refuses it.
fn invalid_row(g: &Generator, rng: &mut Rng, records: &[PersonRecord]) -> String {
    let nik = records[rng.index(records.len())].nik.to_string();
    let b = nik.as_bytes();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let broken = match rng.below(7) {
        0 => nik[..15].to_owned(),
        1 => format!("{nik}7"),
        2 => format!("{}O{}", text(&b[..9]), text(&b[10..])),
        3 => format!("{}00{}", text(&b[..6]), text(&b[8..])),
        4 => format!("{}0000", text(&b[..12])),
        5 => format!("10{}", text(&b[2..])),
        _ => format!("{}13{}", text(&b[..8]), text(&b[10..])),
    };
    let (_, code, period) = random_program(g, rng);
    format!("{broken},{code},{period},{}", amount(&code, 30))
}

/// A row the payee parser must refuse as malformed.
fn malformed_row(g: &Generator, rng: &mut Rng, records: &[PersonRecord]) -> String {
    let nik = records[rng.index(records.len())].nik;
    let (_, code, period) = random_program(g, rng);
    let amount = amount(&code, 30);
    match rng.below(8) {
        0 => format!("{nik},{code},{period}"),
        1 => format!("{nik},{code},{period},{amount},x"),
        2 => format!("{nik},,{period},{amount}"),
        3 => format!("{nik},BANSOS_X,{period},{amount}"),
        4 => format!("{nik},{code},2026-Q5,{amount}"),
        5 => format!("{nik},{code},{period},-{amount}"),
        6 => format!("{nik},{code},{period},{amount}.50"),
        _ => format!("{nik},{code},{period},"),
    }
}

/// How many rows of each category are due where: shared by the workers
/// (candidate caps) and the writer (quotas).
#[derive(Clone, Copy, Debug)]
pub struct PayeePlan {
    persons: u64,
    totals: [u64; 10],
}

impl PayeePlan {
    /// The plan for a run of `persons` persons.
    pub fn new(persons: u64) -> PayeePlan {
        let weights: Vec<u64> = CATEGORIES.iter().map(|c| c.1).collect();
        let split = crate::geo::apportion(total_rows(persons), &weights);
        let mut totals = [0; 10];
        totals.copy_from_slice(&split);
        PayeePlan {
            persons: persons.max(1),
            totals,
        }
    }

    /// Rows per category over the whole run.
    pub fn totals(&self) -> [u64; 10] {
        self.totals
    }

    /// The share of each category due for a district of `persons` persons
    /// whose first person is number `first` (before any carried debt).
    pub fn quota(&self, first: u64, persons: u64) -> [u64; 10] {
        let at = |total: u64, n: u64| {
            (u128::from(total) * u128::from(n) / u128::from(self.persons)) as u64
        };
        let mut q = [0; 10];
        for (c, total) in q.iter_mut().zip(self.totals) {
            *c = at(total, first + persons) - at(total, first);
        }
        q
    }

    /// Caps for [`Candidates::of_chunk`]: twice the district's share plus
    /// eight, room for debt carried from earlier districts.
    pub fn caps(&self, first: u64, persons: u64) -> [usize; 10] {
        let mut caps = [0; 10];
        for (cap, q) in caps.iter_mut().zip(self.quota(first, persons)) {
            *cap = (2 * q + 8) as usize;
        }
        caps
    }
}

/// Takes each district's share of rows, in order, and writes them.
pub struct PayeeWriter {
    seed: u64,
    plan: PayeePlan,
    debt: [u64; 10],
    done: u64,
    recent: Vec<String>,
    /// Rows written per category.
    pub counts: [u64; 10],
}

/// How many earlier payable rows are kept to copy `repeated` rows from.
const RECENT: usize = 4096;

impl PayeeWriter {
    /// A writer following `plan`.
    pub fn new(seed: u64, plan: PayeePlan) -> PayeeWriter {
        PayeeWriter {
            seed,
            plan,
            debt: [0; 10],
            done: 0,
            recent: Vec::new(),
            counts: [0; 10],
        }
    }

    /// Emits one district's rows through `emit(line, category)`.
    pub fn district<E>(
        &mut self,
        index: usize,
        persons: u64,
        mut candidates: Candidates,
        mut emit: impl FnMut(&str, Category) -> Result<(), E>,
    ) -> Result<(), E> {
        let quota = self.plan.quota(self.done, persons);
        self.done += persons;
        let mut rng = Rng::stream(self.seed, crate::TAG_PAYEES + 100, index as u64);
        let mut slots = Vec::new();
        for (c, (cat, _)) in CATEGORIES.iter().enumerate() {
            let want = quota[c] + self.debt[c];
            let have = if *cat == Category::Repeated {
                want
            } else {
                want.min(candidates.rows[c].len() as u64)
            };
            self.debt[c] = want - have;
            slots.extend(std::iter::repeat_n(c, have as usize));
        }
        rng.shuffle(&mut slots);
        for c in slots {
            let (cat, _) = CATEGORIES[c];
            let line = if cat == Category::Repeated {
                if self.recent.is_empty() {
                    self.debt[c] += 1;
                    continue;
                }
                self.recent[rng.index(self.recent.len())].clone()
            } else {
                match candidates.rows[c].pop() {
                    Some(line) => line,
                    None => continue,
                }
            };
            emit(&line, cat)?;
            self.counts[c] += 1;
            if cat == Category::Payable {
                self.remember(&mut rng, line);
            }
        }
        Ok(())
    }

    fn remember(&mut self, rng: &mut Rng, line: String) {
        if self.recent.len() < RECENT {
            self.recent.push(line);
        } else {
            let i = rng.index(RECENT);
            self.recent[i] = line;
        }
    }

    /// Writes what no district could provide as `unknown_nik` rows (or
    /// copies for `repeated` once a payable row exists).
    pub fn finish<E>(
        &mut self,
        g: &Generator,
        mut emit: impl FnMut(&str, Category) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rng = Rng::stream(self.seed, crate::TAG_PAYEES + 200, 0);
        let district = g.geography().districts.first().map_or(320101, |d| d.code);
        let missing: u64 = self.debt.iter().sum();
        for _ in 0..missing {
            let (line, cat) =
                if self.debt[Category::Repeated.index()] > 0 && !self.recent.is_empty() {
                    self.debt[Category::Repeated.index()] -= 1;
                    (
                        self.recent[rng.index(self.recent.len())].clone(),
                        Category::Repeated,
                    )
                } else {
                    (unknown_row(g, &mut rng, district), Category::UnknownNik)
                };
            emit(&line, cat)?;
            self.counts[cat.index()] += 1;
        }
        self.debt = [0; 10];
        Ok(())
    }
}
