//! `changes.csv`: one month of updates to the register, dated within the
//! as-of month (on or after the as-of day).
//!
//! Each district draws its own changes; the number of each kind is the
//! district's share of `N × rate` ([`RATES`], per million persons per
//! month), rounded so that districts add up exactly. A kind whose
//! candidates run out in a district (tiny districts at small N) is simply
//! written fewer times: `truth.json` counts what was written. A person
//! appears in at most one change; persons sharing a NIK never do.

use std::collections::HashMap;

use tepat::register::Relation;
use tepat::{Date, Kk, Nik, ProgramId, ProgramSet, Registry, Sex};

use crate::Generator;
use crate::chunk::Chunk;
use crate::ids::{BIRTH_BLOCK, KK_CHANGES_BASE};
use crate::rng::Rng;

/// The header of `changes.csv`.
pub const HEADER: &str = tepat::change::HEADER;

/// The kinds of change.
pub const KINDS: [&str; 6] = ["death", "birth", "move", "enrol", "remove", "decile"];

/// Changes per million persons per month, by kind (as in [`KINDS`]):
/// deaths 0.06 %, births 0.13 %, moves 0.08 %, enrolments 0.04 %,
/// removals 0.04 %, re-ranked families 0.17 % of persons (≈ 0.5 % of
/// families).
pub const RATES: [u64; 6] = [600, 1300, 800, 400, 400, 1700];

/// One district's change lines (sorted by date) and counts per kind.
#[derive(Clone, Debug, Default)]
pub struct ChunkChanges {
    /// CSV lines without line endings.
    pub lines: Vec<String>,
    /// Lines per kind.
    pub counts: [u64; 6],
}

/// The rows due in a district whose persons are `first..first + persons`.
fn quota(first: u64, persons: u64) -> [u64; 6] {
    RATES.map(|r| {
        let at = |n: u64| (u128::from(r) * u128::from(n) / 1_000_000) as u64;
        at(first + persons) - at(first)
    })
}

struct Ctx<'a> {
    g: &'a Generator,
    chunk: &'a Chunk,
    rng: Rng,
    used: Vec<bool>,
    /// Days of the as-of month from the as-of day on.
    days: (i64, i64),
    births: HashMap<(i64, bool), u16>,
    new_kks: HashMap<i64, u16>,
    out: Vec<(i64, String)>,
}

/// Draws one district's changes.
pub fn of_chunk(g: &Generator, chunk: &Chunk, first: u64) -> ChunkChanges {
    let as_of = g.config().as_of;
    let month_end = Date::new(as_of.year(), as_of.month(), 28).map_or(0, |d| d.to_unix_days())
        + i64::from(tepat::date::days_in_month(as_of.year(), as_of.month()) - 28);
    let mut ctx = Ctx {
        g,
        chunk,
        rng: Rng::stream(g.config().seed, crate::TAG_CHANGES, chunk.index as u64),
        used: vec![false; chunk.records.len()],
        days: (as_of.to_unix_days(), month_end),
        births: HashMap::new(),
        new_kks: HashMap::new(),
        out: Vec::new(),
    };
    let mut counts = [0; 6];
    if !chunk.records.is_empty() {
        let due = quota(first, chunk.records.len() as u64);
        let makers: [fn(&mut Ctx) -> bool; 6] = [death, birth, move_, enrol, remove, decile];
        for (k, make) in makers.iter().enumerate() {
            for _ in 0..due[k] {
                counts[k] += u64::from(make(&mut ctx));
            }
        }
    }
    ctx.out.sort_by_key(|(day, _)| *day);
    ChunkChanges {
        lines: ctx.out.into_iter().map(|(_, l)| l).collect(),
        counts,
    }
}

const TRIES: usize = 40;

impl Ctx<'_> {
    fn registry(&self) -> &'static Registry {
        self.g.registry()
    }

    fn day(&mut self) -> (i64, Date) {
        let (lo, hi) = self.days;
        let day = lo + self.rng.below((hi - lo + 1).max(1) as u64) as i64;
        (
            day,
            Date::from_unix_days(day).unwrap_or(self.g.config().as_of),
        )
    }

    /// A random unused person passing `ok`, marked used.
    fn person(&mut self, ok: impl Fn(&Ctx, usize) -> bool) -> Option<usize> {
        let n = self.chunk.records.len();
        for _ in 0..TRIES {
            let i = self.rng.index(n);
            if !self.used[i] && !self.chunk.info[i].duplicate && ok(self, i) {
                self.used[i] = true;
                return Some(i);
            }
        }
        None
    }

    fn family_programs(&self, i: usize) -> ProgramSet {
        ProgramSet(self.chunk.records[i].programs.0 & self.registry().family_programs().0)
    }

    fn push(&mut self, day: i64, line: String) -> bool {
        self.out.push((day, line));
        true
    }
}

fn death(c: &mut Ctx) -> bool {
    let Some(i) = c.person(|c, i| {
        let r = &c.chunk.records[i];
        !r.deceased && c.chunk.info[i].age >= 40
    }) else {
        return false;
    };
    let (day, date) = c.day();
    let nik = c.chunk.records[i].nik;
    c.push(day, format!("death,{nik},,,,,,,,,,,,{date}"))
}

fn birth(c: &mut Ctx) -> bool {
    // A family with a living mother of child-bearing age.
    let Some(mother) = c.person(|c, i| {
        let r = &c.chunk.records[i];
        let age = c.chunk.info[i].age;
        r.sex == Sex::Female
            && !r.deceased
            && (18..=45).contains(&age)
            && matches!(r.relation, Relation::Head | Relation::Spouse)
    }) else {
        return false;
    };
    let (day, date) = c.day();
    let female = !c.rng.chance(crate::family::MALE_SHARE);
    let sex = if female { Sex::Female } else { Sex::Male };
    let counter = c.births.entry((day, female)).or_insert(BIRTH_BLOCK.0 - 1);
    *counter += 1;
    if *counter >= BIRTH_BLOCK.1 {
        return false;
    }
    let Ok(nik) = Nik::from_parts(c.chunk.district, sex, date, *counter) else {
        return false;
    };
    let r = &c.chunk.records[mother];
    let programs = c.registry().format_set(c.family_programs(mother));
    let line = format!(
        "birth,{nik},{},child,{:010},{},{date},{},0,0,,{programs},,{date}",
        r.kk,
        r.village,
        sex.letter(),
        r.decile
    );
    c.push(day, line)
}

fn move_(c: &mut Ctx) -> bool {
    let Some(i) = c.person(|c, i| {
        let r = &c.chunk.records[i];
        !r.deceased && r.relation != Relation::Head && c.chunk.info[i].age >= 17
    }) else {
        return false;
    };
    let (day, date) = c.day();
    let own = c.chunk.info[i].family as usize;
    let families = c.chunk.families.len();
    let target = (families > 1 && c.rng.chance(0.5))
        .then(|| c.rng.index(families))
        .filter(|&f| f != own);
    let nik = c.chunk.records[i].nik;
    let line = match target {
        Some(f) => {
            let head = &c.chunk.records[c.chunk.families[f].start as usize];
            format!(
                "move,{nik},{},other,{:010},,,{},,,,,,{date}",
                head.kk, head.village, head.decile
            )
        }
        None => {
            let counter = c.new_kks.entry(day).or_insert(KK_CHANGES_BASE - 1);
            *counter += 1;
            let Ok(kk) = Kk::from_parts(c.chunk.district, date, *counter) else {
                return false;
            };
            let villages = c.g.geography().villages_of(c.chunk.index);
            let village = villages[c.rng.index(villages.len())];
            let decile = c.chunk.records[i].decile;
            format!("move,{nik},{kk},head,{village:010},,,{decile},,,,,,{date}")
        }
    };
    c.push(day, line)
}

/// Whether a claim for `id` by person `i` would meet an exclusion rule
/// (family level reads the family programs, which every member lists).
fn conflicts(c: &Ctx, i: usize, id: ProgramId) -> bool {
    let programs = c.chunk.records[i].programs;
    c.registry()
        .program(id)
        .excludes
        .iter()
        .any(|e| programs.contains(e.program))
}

fn enrol(c: &mut Ctx) -> bool {
    // An exclusion error put right: eligible, alive, not yet enrolled.
    let pick = |c: &Ctx, i: usize| -> Option<ProgramId> {
        let r = &c.chunk.records[i];
        if r.deceased || r.civil_servant {
            return None;
        }
        let open = ProgramSet(c.chunk.info[i].eligible.0 & !r.programs.0);
        open.iter().find(|&id| !conflicts(c, i, id))
    };
    let Some(i) = c.person(|c, i| pick(c, i).is_some()) else {
        return false;
    };
    let Some(id) = pick(c, i) else { return false };
    let (day, date) = c.day();
    let code = &c.registry().program(id).code;
    let nik = c.chunk.records[i].nik;
    c.push(day, format!("enrol,{nik},,,,,,,,,,,{code},{date}"))
}

fn remove(c: &mut Ctx) -> bool {
    // Prefer an inclusion error or a deceased enrollee; else any enrolment.
    let Some(i) = c.person(|c, i| !c.chunk.records[i].programs.is_empty()) else {
        return false;
    };
    let (nik, programs, deceased) = {
        let r = &c.chunk.records[i];
        (r.nik, r.programs, r.deceased)
    };
    let wrong = ProgramSet(programs.0 & !c.chunk.info[i].eligible.0);
    let pool = if wrong.is_empty() || deceased {
        programs
    } else {
        wrong
    };
    let ids: Vec<ProgramId> = pool.iter().collect();
    let id = ids[c.rng.index(ids.len())];
    let (day, date) = c.day();
    let code = &c.registry().program(id).code;
    c.push(day, format!("remove,{nik},,,,,,,,,,,{code},{date}"))
}

fn decile(c: &mut Ctx) -> bool {
    let families = c.chunk.families.len();
    let f = c.chunk.families[c.rng.index(families)];
    let head = f.start as usize;
    if c.used[head] {
        return false;
    }
    c.used[head] = true;
    let old = c.chunk.records[head].decile;
    let new = match old {
        1 => 2,
        10 => 9,
        d if c.rng.chance(0.5) => d - 1,
        d => d + 1,
    };
    let (day, date) = c.day();
    let kk = c.chunk.records[head].kk;
    c.push(day, format!("decile,,{kk},,,,,{new},,,,,,{date}"))
}
