//! The analysts' reports: program overlap, inclusion and exclusion errors,
//! conflicts with the exclusion rules, deceased persons still enrolled,
//! duplicate identities — per province, regency or district of residence,
//! and nationally.
//!
//! Every report comes from one pass over the persons section: each person
//! record is reduced to its region of residence and its *class* (enrolled
//! and eligible bitsets, deceased and duplicate flags), and counted in a
//! dense (region × class) histogram, persons and — through each family's
//! first member — families. Each report is then arithmetic on the
//! histogram. Pending changes are folded in: a changed person's snapshot
//! contribution is taken out and their live state counted instead, and the
//! families they touch are recounted from their current members.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use serde::Serialize;

use crate::domain::kk::Kk;
use crate::domain::program::{ExclusionLevel, ProgramId, ProgramSet, Registry, Unit};
use crate::domain::region::{Level, RegionCode};
use crate::error::Result;
use crate::live::LivePerson;
use crate::snapshot::Snapshot;
use crate::snapshot::format::{FLAG_DECEASED, FLAG_DUPLICATE, RegionCount};
use crate::store::{PersonState, Store};

/// What a person contributes to a report, beyond the region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Class {
    enrolled: u32,
    eligible: u32,
    deceased: bool,
    duplicate: bool,
}

/// Persons and families per (region, class).
struct Histogram {
    regions: Vec<RegionCode>,
    classes: Vec<Class>,
    class_index: HashMap<Class, u32>,
    /// `persons[region * classes + class]`, and the same for families.
    persons: Vec<i64>,
    families: Vec<i64>,
    /// Counts of classes only live states have, per (region, class), until
    /// [`Histogram::settle`] gives them columns all at once: widening the
    /// dense table at each new class costs regions × classes per class,
    /// and a month of national changes can bring thousands of classes.
    unsettled: HashMap<(usize, Class), (i64, i64)>,
}

impl Histogram {
    fn width(&self) -> usize {
        self.classes.len()
    }

    fn add(&mut self, region: usize, c: Class, persons: i64, families: i64) {
        let Some(&class) = self.class_index.get(&c) else {
            let cell = self.unsettled.entry((region, c)).or_default();
            cell.0 += persons;
            cell.1 += families;
            return;
        };
        let i = region * self.width() + class as usize;
        if let (Some(p), Some(f)) = (self.persons.get_mut(i), self.families.get_mut(i)) {
            *p += persons;
            *f += families;
        }
    }

    /// Gives the classes only live states brought their columns, widening
    /// the table once, and counts them in.
    fn settle(&mut self) {
        if self.unsettled.is_empty() {
            return;
        }
        let unsettled = std::mem::take(&mut self.unsettled);
        let new: BTreeSet<Class> = unsettled.keys().map(|(_, c)| *c).collect();
        let old = self.width();
        for c in new {
            self.class_index.insert(c, self.classes.len() as u32);
            self.classes.push(c);
        }
        let width = self.width();
        let widen = |v: &[i64]| -> Vec<i64> {
            let mut out = vec![0; self.regions.len() * width];
            for (r, row) in v.chunks(old.max(1)).enumerate().take(self.regions.len()) {
                out[r * width..r * width + row.len()].copy_from_slice(row);
            }
            out
        };
        let (persons, families) = if old == 0 {
            (widen(&[]), widen(&[]))
        } else {
            (widen(&self.persons), widen(&self.families))
        };
        self.persons = persons;
        self.families = families;
        for ((region, c), (p, f)) in unsettled {
            self.add(region, c, p, f);
        }
    }
}

/// Which regions a report is broken down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    /// 38 provinces.
    Province,
    /// 514 regencies and cities.
    Regency,
    /// 7,285 districts.
    District,
}

impl By {
    pub(crate) fn level(self) -> Level {
        match self {
            By::Province => Level::Province,
            By::Regency => Level::Regency,
            By::District => Level::District,
        }
    }

    pub(crate) fn divisor(self) -> u64 {
        match self {
            By::Province => 100_000_000,
            By::Regency => 1_000_000,
            By::District => 10_000,
        }
    }
}

/// One report row: a region (or the nation) and its figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// `00` for the nation, else the region code.
    pub region_code: String,
    /// `Indonesia`, or the region's name.
    pub region: String,
    /// The row's keys (program codes, levels), in the report's column order.
    pub keys: Vec<String>,
    /// Persons.
    pub persons: i64,
    /// Families, where the figure applies to families (family programs).
    pub families: Option<i64>,
}

/// A report: its columns and rows (national rows first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The kind (`overlap`, ...).
    pub kind: &'static str,
    /// Column names of `keys`.
    pub key_columns: Vec<&'static str>,
    /// Whether the report has a `families` column.
    pub has_families: bool,
    /// The rows.
    pub rows: Vec<Row>,
}

/// The kinds of report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Persons (and families) enrolled in both of each pair of programs.
    Overlap,
    /// Enrolled but not eligible, per program.
    Inclusion,
    /// Eligible but not enrolled, per program.
    Exclusion,
    /// Enrolments that break the registry's exclusion rules.
    Conflicts,
    /// Deceased persons still enrolled, per program.
    Deceased,
    /// Records of duplicate identities.
    Duplicates,
}

impl Kind {
    /// Every kind, in the summary's order.
    pub const ALL: [Kind; 6] = [
        Kind::Overlap,
        Kind::Inclusion,
        Kind::Exclusion,
        Kind::Conflicts,
        Kind::Deceased,
        Kind::Duplicates,
    ];

    /// The kind's name on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Overlap => "overlap",
            Kind::Inclusion => "inclusion",
            Kind::Exclusion => "exclusion",
            Kind::Conflicts => "conflicts",
            Kind::Deceased => "deceased",
            Kind::Duplicates => "duplicates",
        }
    }
}

/// The counted histogram of a store, ready for any report.
pub struct Counts {
    by: By,
    hist: Histogram,
    registry: Registry,
    names: Vec<String>,
}

impl Store {
    /// Counts the snapshot plus pending changes by `by`, on `threads` threads
    /// (0: all cores). Every report is then read from the counts.
    pub fn counts(&self, by: By, threads: usize) -> Result<Counts> {
        self.counts_from(by, threads, true)
    }

    /// [`Store::counts`] from a scan of every person record, ignoring the
    /// snapshot's pre-aggregated region counts (what a format 1.0 file
    /// gets; kept public so that both paths can be checked against each
    /// other).
    pub fn counts_scanning(&self, by: By, threads: usize) -> Result<Counts> {
        self.counts_from(by, threads, false)
    }

    fn counts_from(&self, by: By, threads: usize, aggregates: bool) -> Result<Counts> {
        let snap = self.snapshot();
        let mut hist = scan(&snap, by, threads, aggregates);
        self.fold_changes(&snap, by, &mut hist)?;
        let regions = snap.regions();
        let names = hist
            .regions
            .iter()
            .map(|c| {
                regions
                    .get(*c)
                    .map_or_else(|| c.to_string(), |r| r.name.clone())
            })
            .collect();
        Ok(Counts {
            by,
            hist,
            registry: snap.registry().clone(),
            names,
        })
    }

    /// Takes changed persons' snapshot contributions out and counts their
    /// live states, and recounts the families they touch.
    fn fold_changes(&self, snap: &Snapshot, by: By, hist: &mut Histogram) -> Result<()> {
        let region_index: HashMap<u64, usize> = hist
            .regions
            .iter()
            .enumerate()
            .map(|(i, c)| (c.value(), i))
            .collect();
        let region_of = |village: u64| region_index.get(&(village / by.divisor())).copied();
        let mut touched_families: BTreeSet<u64> = BTreeSet::new();
        let changed: Vec<(u64, LivePerson)> = self.changed_persons()?;
        for (nik, live) in &changed {
            if let Some(p) = snap.find(*nik).and_then(|s| snap.person_at(s)) {
                if let Some(r) = p.village_code().and_then(region_of) {
                    hist.add(r, class_of_snapshot(&p), -1, 0);
                }
                if let Some(f) = p.family() {
                    touched_families.insert(f.kk());
                }
            }
            if let Some(r) = region_of(live.village) {
                hist.add(r, class_of_live(live), 1, 0);
            }
            touched_families.insert(live.kk);
        }
        let mut by_kk: HashMap<u64, Vec<(u64, LivePerson)>> = HashMap::new();
        for (nik, live) in changed {
            by_kk.entry(live.kk).or_default().push((nik, live));
        }
        for kk in touched_families {
            let changed_members = by_kk.remove(&kk).unwrap_or_default();
            recount_family(snap, kk, changed_members, hist, &region_of);
        }
        hist.settle();
        Ok(())
    }
}

/// Takes a family out of the histogram as the snapshot counted it and puts
/// it in as its current members make it. A change rewrites every member of
/// each family it touches (eligibility is recomputed), so `changed` — the
/// changed persons of this card — are its members, with the duplicate
/// identities, which changes never rewrite.
fn recount_family(
    snap: &Snapshot,
    kk: u64,
    changed: Vec<(u64, LivePerson)>,
    hist: &mut Histogram,
    region_of: &impl Fn(u64) -> Option<usize>,
) {
    let family_mask = snap.registry().family_programs().0;
    let family = Kk::from_u64(kk).ok().and_then(|k| snap.family(k));
    if let Some(f) = &family
        && let Some(first) = f.members().find(|m| m.is_first_member())
        && let Some(r) = first.village_code().and_then(region_of)
    {
        let class = family_class(class_of_snapshot(&first), family_mask);
        hist.add(r, class, 0, -1);
    }
    let mut members = changed;
    if let Some(f) = &family {
        let duplicates = f.members().filter(|m| m.duplicate());
        members.extend(duplicates.map(|m| (m.nik().get(), PersonState::Snapshot(m).to_live())));
    }
    members.sort_by_key(|(nik, _)| *nik);
    // Represented by a member whose eligibility the changes kept current
    // (duplicate identities are frozen).
    let rep = members
        .iter()
        .find(|(_, m)| !m.duplicate)
        .or(members.first());
    if let Some((_, rep)) = rep {
        let mut rep = rep.clone();
        let family_enrolled = members
            .iter()
            .fold(0, |acc, (_, m)| acc | (m.enrolled & family_mask));
        rep.enrolled = (rep.enrolled & !family_mask) | family_enrolled;
        if let Some(r) = region_of(rep.village) {
            hist.add(r, family_class(class_of_live(&rep), family_mask), 0, 1);
        }
    }
}

/// A family is counted by its family-program bits only: whether its
/// representative member is deceased or a duplicate says nothing about the
/// family.
fn family_class(c: Class, family_mask: u32) -> Class {
    Class {
        enrolled: c.enrolled & family_mask,
        eligible: c.eligible & family_mask,
        deceased: false,
        duplicate: false,
    }
}

fn class_of_snapshot(p: &crate::snapshot::Person<'_>) -> Class {
    Class {
        enrolled: p.enrolled().0,
        eligible: p.eligible().0,
        deceased: p.deceased(),
        duplicate: p.duplicate(),
    }
}

fn class_of_live(l: &LivePerson) -> Class {
    Class {
        enrolled: l.enrolled,
        eligible: l.eligible,
        deceased: l.deceased,
        duplicate: l.duplicate,
    }
}

/// What the scan needs to place a record in the histogram, as small
/// tables that stay in cache during the scan: village index → region index
/// (`u16::MAX`: none) and profile index → (person class, family class).
struct Tables {
    regions: Vec<RegionCode>,
    region_index: HashMap<u64, u16>,
    village_region: Vec<u16>,
    classes: Vec<Class>,
    class_index: HashMap<Class, u32>,
    profile_class: Vec<(u32, u32)>,
}

impl Tables {
    fn new(snap: &Snapshot, by: By) -> Tables {
        let regions: Vec<RegionCode> = snap
            .regions()
            .level(by.level())
            .iter()
            .map(|r| r.code)
            .collect();
        let region_index: HashMap<u64, u16> = regions
            .iter()
            .enumerate()
            .map(|(i, c)| (c.value(), i as u16))
            .collect();
        let village_region = snap
            .village_codes()
            .iter()
            .map(|v| {
                let region = region_index.get(&(v / by.divisor()));
                region.copied().unwrap_or(u16::MAX)
            })
            .collect();
        let mut tables = Tables {
            regions,
            region_index,
            village_region,
            classes: Vec::new(),
            class_index: HashMap::new(),
            profile_class: Vec::new(),
        };
        let family_mask = snap.registry().family_programs().0;
        // Per profile: the person's class and the class its family is
        // counted under when the person is the family's first member.
        for p in snap.profiles() {
            let c = Class {
                enrolled: p.enrolled.get(),
                eligible: p.eligible.get(),
                deceased: p.flags & FLAG_DECEASED != 0,
                duplicate: p.flags & FLAG_DUPLICATE != 0,
            };
            let pair = (
                tables.intern(c),
                tables.intern(family_class(c, family_mask)),
            );
            tables.profile_class.push(pair);
        }
        tables
    }

    fn intern(&mut self, c: Class) -> u32 {
        let classes = &mut self.classes;
        *self.class_index.entry(c).or_insert_with(|| {
            classes.push(c);
            (classes.len() - 1) as u32
        })
    }

    fn cells(&self) -> usize {
        self.regions.len() * self.classes.len()
    }

    fn histogram(self, persons: Vec<i64>, families: Vec<i64>) -> Histogram {
        Histogram {
            regions: self.regions,
            classes: self.classes,
            class_index: self.class_index,
            persons,
            families,
            unsettled: HashMap::new(),
        }
    }
}

/// Adds `n` to cell `i` of a histogram vector (out of range: ignored; the
/// tables never produce one).
#[inline]
fn bump(cells: &mut [i64], i: usize, n: i64) {
    if let Some(c) = cells.get_mut(i) {
        *c += n;
    }
}

/// The one pass: over the snapshot's region counts where it has them (and
/// `aggregates` allows), else over every person record.
fn scan(snap: &Snapshot, by: By, threads: usize, aggregates: bool) -> Histogram {
    let tables = Tables::new(snap, by);
    let (persons, families) = match snap.region_counts().filter(|_| aggregates) {
        Some(counts) => count_aggregates(&tables, counts, by),
        None => count_records(snap, &tables, threads),
    };
    tables.histogram(persons, families)
}

/// Counts from the snapshot's counts per (district, profile).
fn count_aggregates(
    t: &Tables,
    counts: impl Iterator<Item = Option<RegionCount>>,
    by: By,
) -> (Vec<i64>, Vec<i64>) {
    let (mut persons, mut families) = (vec![0i64; t.cells()], vec![0i64; t.cells()]);
    let width = t.classes.len();
    let per_region = by.divisor() / 10_000;
    for c in counts.map_while(|c| c) {
        let region = t.region_index.get(&(u64::from(c.district) / per_region));
        let classes = t.profile_class.get(c.profile as usize);
        if let (Some(&region), Some(&(class, family))) = (region, classes) {
            let row = region as usize * width;
            bump(&mut persons, row + class as usize, i64::from(c.persons));
            bump(&mut families, row + family as usize, i64::from(c.families));
        }
    }
    (persons, families)
}

/// Counts from every person record, the slots split between `threads`
/// threads (0: all cores).
fn count_records(snap: &Snapshot, t: &Tables, threads: usize) -> (Vec<i64>, Vec<i64>) {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let n = snap.slot_count() as usize;
    let per = n.div_ceil(threads.max(1)).max(1);
    let partials: Vec<(Vec<i64>, Vec<i64>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(per)
            .map(|start| s.spawn(move || count_slots(snap, t, start..(start + per).min(n))))
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let (mut persons, mut families) = (vec![0i64; t.cells()], vec![0i64; t.cells()]);
    for (p, f) in partials {
        persons.iter_mut().zip(p).for_each(|(a, b)| *a += b);
        families.iter_mut().zip(f).for_each(|(a, b)| *a += b);
    }
    (persons, families)
}

/// One thread's share of [`count_records`].
fn count_slots(snap: &Snapshot, t: &Tables, slots: Range<usize>) -> (Vec<i64>, Vec<i64>) {
    let (mut persons, mut families) = (vec![0i64; t.cells()], vec![0i64; t.cells()]);
    let width = t.classes.len();
    snap.for_each_person_tally(slots, |village, profile, first_member| {
        let region = t.village_region.get(village as usize);
        let classes = t.profile_class.get(profile as usize);
        let (Some(&region), Some(&(class, family))) = (region, classes) else {
            return;
        };
        if region == u16::MAX {
            return;
        }
        let row = region as usize * width;
        bump(&mut persons, row + class as usize, 1);
        if first_member {
            bump(&mut families, row + family as usize, 1);
        }
    });
    (persons, families)
}

impl Counts {
    /// How the counts are broken down.
    pub fn by(&self) -> By {
        self.by
    }

    /// Sums over the classes matching `pred`, per region and nationally:
    /// (persons, families) per region index, then the national total.
    fn sum(&self, pred: impl Fn(&Class) -> bool) -> (Vec<(i64, i64)>, (i64, i64)) {
        let w = self.hist.width();
        let wanted: Vec<usize> = (0..w).filter(|c| pred(&self.hist.classes[*c])).collect();
        let per: Vec<(i64, i64)> = (0..self.hist.regions.len())
            .map(|r| {
                wanted.iter().fold((0, 0), |(p, f), c| {
                    (
                        p + self.hist.persons[r * w + c],
                        f + self.hist.families[r * w + c],
                    )
                })
            })
            .collect();
        let total = per.iter().fold((0, 0), |(a, b), (p, f)| (a + p, b + f));
        (per, total)
    }

    fn rows(&self, keys: Vec<String>, family: bool, pred: impl Fn(&Class) -> bool, out: &mut Rows) {
        let (per, total) = self.sum(pred);
        out.national.push(Row {
            region_code: "00".into(),
            region: "Indonesia".into(),
            keys: keys.clone(),
            persons: total.0,
            families: family.then_some(total.1),
        });
        for (i, (p, f)) in per.into_iter().enumerate() {
            out.regional.push(Row {
                region_code: self.hist.regions[i].to_string(),
                region: self.names[i].clone(),
                keys: keys.clone(),
                persons: p,
                families: family.then_some(f),
            });
        }
    }

    fn is_family(&self, id: ProgramId) -> bool {
        self.registry
            .get(id)
            .is_some_and(|p| p.unit == Unit::Family)
    }

    fn code(&self, id: ProgramId) -> String {
        self.registry
            .get(id)
            .map_or_else(String::new, |p| p.code.clone())
    }

    /// One report from the counts.
    pub fn report(&self, kind: Kind) -> Report {
        let mut rows = Rows::default();
        let ids: Vec<ProgramId> = self.registry.ids().collect();
        let (key_columns, has_families): (Vec<&'static str>, bool) = match kind {
            Kind::Overlap => {
                self.overlap_rows(&ids, &mut rows);
                (vec!["program_a", "program_b"], true)
            }
            Kind::Inclusion | Kind::Exclusion | Kind::Deceased => {
                self.program_rows(kind, &ids, &mut rows);
                (vec!["program"], kind != Kind::Deceased)
            }
            Kind::Conflicts => {
                self.conflict_rows(&ids, &mut rows);
                (vec!["program", "excluded_program", "level"], true)
            }
            Kind::Duplicates => {
                self.rows(Vec::new(), false, |c| c.duplicate, &mut rows);
                (Vec::new(), false)
            }
        };
        let mut all = rows.national;
        all.extend(rows.regional);
        Report {
            kind: kind.name(),
            key_columns,
            has_families,
            rows: all,
        }
    }

    /// Persons (and families) enrolled in both programs of each pair.
    fn overlap_rows(&self, ids: &[ProgramId], rows: &mut Rows) {
        let mut pairs: Vec<(ProgramId, ProgramId)> = Vec::new();
        for a in ids {
            for b in ids {
                if self.code(*a) < self.code(*b) {
                    pairs.push((*a, *b));
                }
            }
        }
        pairs.sort_by_key(|(a, b)| (self.code(*a), self.code(*b)));
        for (a, b) in pairs {
            let both = ProgramSet::EMPTY.with(a).with(b);
            let family = self.is_family(a) && self.is_family(b);
            let keys = vec![self.code(a), self.code(b)];
            self.rows(keys, family, |c| c.enrolled & both.0 == both.0, rows);
        }
    }

    /// Inclusion, exclusion or deceased-still-enrolled rows, per program.
    fn program_rows(&self, kind: Kind, ids: &[ProgramId], rows: &mut Rows) {
        for id in ids {
            let bit = 1u32 << id.index();
            let pred = |c: &Class| match kind {
                Kind::Inclusion => c.enrolled & bit != 0 && c.eligible & bit == 0,
                Kind::Exclusion => c.eligible & bit != 0 && c.enrolled & bit == 0 && !c.deceased,
                _ => c.deceased && c.enrolled & bit != 0,
            };
            let family = kind != Kind::Deceased && self.is_family(*id);
            self.rows(vec![self.code(*id)], family, pred, rows);
        }
    }

    /// Enrolments in both programs of a pair the exclusion rules forbid.
    fn conflict_rows(&self, ids: &[ProgramId], rows: &mut Rows) {
        for id in ids {
            let Some(p) = self.registry.get(*id) else {
                continue;
            };
            for e in &p.excludes {
                let both = (1u32 << id.index()) | (1u32 << e.program.index());
                let family = e.level == ExclusionLevel::Family
                    && self.is_family(*id)
                    && self.is_family(e.program);
                let level = match e.level {
                    ExclusionLevel::Person => "person",
                    ExclusionLevel::Family => "family",
                };
                let keys = vec![self.code(*id), self.code(e.program), level.to_owned()];
                self.rows(keys, family, |c| c.enrolled & both == both, rows);
            }
        }
    }
}

/// A report's rows as they are made: the national rows, then the regions'.
#[derive(Default)]
struct Rows {
    national: Vec<Row>,
    regional: Vec<Row>,
}

impl Report {
    /// The CSV header: `region_code,region,<keys>,persons[,families]`.
    pub fn csv_header(&self) -> String {
        let mut cols = vec!["region_code", "region"];
        cols.extend(&self.key_columns);
        cols.push(if self.kind == "duplicates" {
            "duplicate_records"
        } else {
            "persons"
        });
        if self.has_families {
            cols.push("families");
        }
        cols.join(",")
    }

    /// Writes the report as CSV.
    pub fn write_csv(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        writeln!(out, "{}", self.csv_header())?;
        for r in &self.rows {
            write!(out, "{},{}", r.region_code, crate::csv::field(&r.region))?;
            for k in &r.keys {
                write!(out, ",{k}")?;
            }
            write!(out, ",{}", r.persons)?;
            if self.has_families {
                match r.families {
                    Some(f) => write!(out, ",{f}")?,
                    None => write!(out, ",")?,
                }
            }
            writeln!(out)?;
        }
        Ok(())
    }

    /// The national rows only.
    pub fn national(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.region_code == "00")
    }
}

/// Every report kind at once, nationally (the `summary` report).
pub fn summary(counts: &Counts) -> BTreeMap<&'static str, Report> {
    Kind::ALL
        .iter()
        .map(|k| {
            let mut r = counts.report(*k);
            r.rows.retain(|row| row.region_code == "00");
            (k.name(), r)
        })
        .collect()
}
