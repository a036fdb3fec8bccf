//! Payout-point stores: a region's share of the register (README, "Payout
//! points"). A point needs its own families, not 290 M persons, and no more
//! of each person than its verdicts and claims read.
//!
//! A family belongs to a point when any of its members lives in one of the
//! point's regions (a family split across two points' regions is at both:
//! the central ledger is what keeps it from being paid twice); the point
//! gets all its members, so family rules and family claims see the whole
//! family. Its persons are as the national store has them now — the
//! snapshot and the pending changes — and a duplicate identity stays
//! flagged even when the other record lies outside the point.
//!
//! With `programs`, the point's registry holds those programs and every
//! program they exclude (a verdict reads the excluding enrolment), with
//! their rules, windows and amounts unchanged and the national policy; the
//! other programs' enrolments are dropped. Recorded components no kept
//! rule or amount reads are dropped, and birth dates when no kept rule
//! reads an age (they read 1900-01-01 at the point). The point's region
//! table holds the villages of its regions and those its persons live in,
//! unnamed, and the named districts, regencies and provinces above them.
//! A duplicate identity's every record goes to each point that holds one,
//! with its family: the point answers from the record the national store
//! would.
//!
//! Many points are cut in one pass over the national store, whatever their
//! number: a scan of every person's village and family index finds the
//! families of each point, then only those families' members are read in
//! full.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use super::generations::{CurrentRecords, record_of_live, record_of_person};
use super::{Options, Reservation, Store};
use crate::domain::date::Date;
use crate::domain::kk::Kk;
use crate::domain::program::{ProgramSet, Registry, Restricted};
use crate::domain::region::{Level, RegionCode, RegionTable};
use crate::error::{Error, Result};
use crate::rows::register::PersonRecord;
use crate::snapshot::{IdentityKey, SigningKey, Snapshot, SnapshotBuilder};

/// The file in a point's directory that says what it was cut from.
pub const POINT_FILE: &str = "POINT";

/// One payout point's share.
#[derive(Clone, Debug)]
pub struct PointSpec {
    /// The point's name, for messages and its `POINT` file.
    pub id: String,
    /// Province, regency, district or village codes of residence.
    pub regions: Vec<RegionCode>,
    /// Program codes the point pays; `None`: every program.
    pub programs: Option<Vec<String>>,
    /// The directory the point's store is created in (new or empty).
    pub out: PathBuf,
    /// The point's identity key: its store is keyed (docs/FORMAT.md,
    /// "Keyed snapshots"), every NIK and KK a pseudonym. `None`: plain.
    pub key: Option<IdentityKey>,
}

/// What a cut wrote for one point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointSummary {
    /// The point's name.
    pub id: String,
    /// Person records written.
    pub persons: u64,
    /// Families written.
    pub families: u64,
    /// Snapshot bytes.
    pub bytes: u64,
    /// The programs of the point's registry.
    pub programs: Vec<String>,
    /// Whether birth dates were kept (a kept rule reads an age).
    pub birth_dates: bool,
}

/// A point being cut: its rules, its families, its builder.
struct Cut<'a> {
    spec: &'a PointSpec,
    /// The point's directory, held from before the passes.
    reservation: Reservation,
    restricted: Restricted,
    /// What a dropped birth date reads.
    no_birth: Date,
    builder: SnapshotBuilder<'a>,
}

/// The 1900-01-01 a dropped birth date reads (the format's first day).
fn no_birth_date() -> Result<Date> {
    Date::new(1900, 1, 1).ok_or_else(|| Error::Input {
        file: "subset".into(),
        message: "1900-01-01 is not a date".into(),
    })
}

impl Store {
    /// Cuts one store per point out of this one (see the module docs):
    /// each point's directory gets a complete store of its share, signed
    /// with `signer` if given, and a `POINT` file naming this store's
    /// identity and generation, the regions and the programs.
    pub fn subset(
        &self,
        points: &[PointSpec],
        signer: Option<&SigningKey>,
    ) -> Result<Vec<PointSummary>> {
        let current = self.current_records()?;
        let snapshot = current.snapshot.clone();
        let regions = snapshot.regions().clone();
        let homes = RegionIndex::new(points);
        let mut villages = villages_by_point(points, &homes, &regions)?;
        let no_birth = no_birth_date()?;
        let mut cuts = points
            .iter()
            .zip(&mut villages)
            .map(|(spec, villages)| {
                let registry = snapshot.registry();
                let restricted = registry.restricted(kept_programs(spec, registry)?)?;
                let builder =
                    SnapshotBuilder::new(restricted.registry.clone(), &regions, snapshot.as_of())?
                        .signed_by(signer.cloned())
                        .keyed_by(spec.key.clone())
                        .villages_only(std::mem::take(villages));
                Ok(Cut {
                    spec,
                    reservation: Store::reserve(&spec.out)?,
                    restricted,
                    no_birth,
                    builder,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let marks = mark_families(&current, &homes)?;
        add_members(&current, &marks, &mut cuts)?;
        drop(current);
        cuts.into_iter()
            .map(|cut| cut.write(self, snapshot.generation()))
            .collect()
    }
}

/// Every village of each point's regions, ascending, in one pass over the
/// village table; each region is checked against the national table first
/// (a code it does not hold is refused, naming the point).
fn villages_by_point(
    points: &[PointSpec],
    homes: &RegionIndex,
    regions: &RegionTable,
) -> Result<Vec<Vec<u64>>> {
    for spec in points {
        if let Some(r) = spec.regions.iter().find(|r| regions.get(**r).is_none()) {
            return Err(Error::Input {
                file: format!("point {}", spec.id),
                message: format!("region {r} is not in the national store's region table"),
            });
        }
    }
    let mut villages = vec![Vec::new(); points.len()];
    for v in regions.level(Level::Village) {
        homes.for_each_point(v.code.value(), |i| villages[i].push(v.code.value()));
    }
    villages.iter_mut().for_each(|v| v.dedup());
    Ok(villages)
}

/// The registry ids of the programs a point pays.
fn kept_programs(spec: &PointSpec, registry: &Registry) -> Result<ProgramSet> {
    match &spec.programs {
        None => Ok(registry.ids().fold(ProgramSet::EMPTY, ProgramSet::with)),
        Some(codes) => codes.iter().try_fold(ProgramSet::EMPTY, |set, code| {
            Ok(set.with(registry.require(code)?))
        }),
    }
}

impl Cut<'_> {
    fn add(&mut self, record: &PersonRecord, duplicate: bool) -> Result<()> {
        let r = &self.restricted;
        let kept = PersonRecord {
            programs: r.carry(record.programs),
            components: r.carry_components(record.components),
            birth_date: if r.needs_birth_dates {
                record.birth_date
            } else {
                self.no_birth
            },
            ..record.clone()
        };
        let added = if duplicate {
            self.builder.add_duplicate(&kept)
        } else {
            self.builder.add(&kept)
        };
        added.map_err(|e| Error::Input {
            file: format!("point {}", self.spec.id),
            message: format!("NIK {}: {e}", record.nik),
        })
    }

    /// Writes the point's `POINT` file, then its store; on any failure
    /// (a full disk) the directory is left empty, never half a point.
    fn write(self, national: &Store, generation: u64) -> Result<PointSummary> {
        let Cut {
            spec,
            reservation,
            restricted,
            builder,
            ..
        } = self;
        let programs: Vec<String> = restricted
            .registry
            .programs()
            .iter()
            .map(|p| p.code.clone())
            .collect();
        let point_file = write_point_file(spec, &programs, &restricted, national, generation)?;
        let options = Options::default().identity_key(spec.key.clone());
        let (point, built) = match reservation.create(builder, options) {
            Ok(made) => made,
            Err(e) => {
                let _ = std::fs::remove_file(&point_file);
                return Err(e);
            }
        };
        drop(point);
        Ok(PointSummary {
            id: spec.id.clone(),
            persons: built.persons,
            families: built.families,
            bytes: built.bytes,
            programs,
            birth_dates: restricted.needs_birth_dates,
        })
    }
}

/// `POINT`: what the store was cut from, as TOML; written whole or not at
/// all (a temporary file, synced, renamed). Returns its path.
fn write_point_file(
    spec: &PointSpec,
    programs: &[String],
    restricted: &Restricted,
    national: &Store,
    generation: u64,
) -> Result<PathBuf> {
    let quoted = |items: &mut dyn Iterator<Item = String>| {
        items
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = format!(
        "# A payout point's store, cut by `tepat subset` from a national store.\n\
         point = {:?}\nnational_store = \"{}\"\nnational_generation = {generation}\n\
         regions = [{}]\nprograms = [{}]\nbirth_dates = {}\nkeyed = {}\n",
        spec.id,
        national.id(),
        quoted(&mut spec.regions.iter().map(ToString::to_string)),
        quoted(&mut programs.iter().cloned()),
        restricted.needs_birth_dates,
        spec.key.is_some(),
    );
    let path = spec.out.join(POINT_FILE);
    let tmp = crate::durable::tmp_path(&path);
    let written = (|| {
        let mut file = std::fs::File::create_new(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&path, e));
    }
    crate::durable::sync_dir(&path)?;
    Ok(path)
}

/// Pass 1: the points each family goes to (a member lives in one of
/// their regions). Snapshot persons are read by village and family index,
/// without decoding the rest; the pending changes' persons by their
/// current village and family card.
fn mark_families(current: &CurrentRecords, homes: &RegionIndex) -> Result<FamilyPoints> {
    let snap = &current.snapshot;
    let by_village: Vec<Vec<usize>> = (0..snap.village_codes().len() as u32)
        .map(|i| {
            let mut points = Vec::new();
            if let Some(code) = snap.village_code(i) {
                homes.for_each_point(code, |p| points.push(p));
            }
            points
        })
        .collect();
    let mut marks = FamilyPoints::default();
    let mut duplicates: Vec<(u64, u32)> = Vec::new();
    for p in snap.persons() {
        if p.duplicate() {
            duplicates.push((p.nik().get(), p.family_index()));
        }
        let points = by_village.get(p.village_index() as usize);
        if points.is_none_or(Vec::is_empty) || current.is_live(&p) {
            continue;
        }
        let key = FamilyKey::Index(p.family_index());
        for &i in points.into_iter().flatten() {
            marks.insert(key, i);
        }
    }
    for (_, l) in current.live() {
        let key = FamilyKey::of_kk(snap, l.kk);
        homes.for_each_point(l.village, |i| {
            marks.insert(key, i);
        });
    }
    follow_duplicates(&mut marks, duplicates)?;
    Ok(marks)
}

/// A duplicate identity's families go wherever one of them goes: a point
/// then holds every record of the NIK, and answers from the one the
/// national store would (its first), not from the only one it happens to
/// hold. Repeated until no family is added (a family brought in may hold
/// another duplicate).
fn follow_duplicates(marks: &mut FamilyPoints, mut duplicates: Vec<(u64, u32)>) -> Result<()> {
    duplicates.sort_unstable();
    loop {
        let mut added = false;
        for group in duplicates.chunk_by(|a, b| a.0 == b.0) {
            let mut points = Vec::new();
            for (_, family) in group {
                marks.for_each_point(FamilyKey::Index(*family), |p| {
                    points.push(p);
                    Ok(())
                })?;
            }
            for (_, family) in group {
                for &p in &points {
                    added |= marks.insert(FamilyKey::Index(*family), p);
                }
            }
        }
        if !added {
            return Ok(());
        }
    }
}

/// Pass 2: every member of every marked family, to each of its points.
fn add_members(current: &CurrentRecords, marks: &FamilyPoints, cuts: &mut [Cut<'_>]) -> Result<()> {
    let snap = &current.snapshot;
    for key in marks.first.keys() {
        let FamilyKey::Index(index) = *key else {
            continue;
        };
        let Some(family) = snap.family_at(index) else {
            continue;
        };
        for m in family.members().filter(|m| !current.is_live(m)) {
            let record = record_of_person(&m)?;
            marks.for_each_point(*key, |i| cuts[i].add(&record, m.duplicate()))?;
        }
    }
    for (nik, l) in current.live() {
        let key = FamilyKey::of_kk(snap, l.kk);
        if marks.first.contains_key(&key) {
            let record = record_of_live(nik, l)?;
            marks.for_each_point(key, |i| cuts[i].add(&record, false))?;
        }
    }
    Ok(())
}

/// A family: by its index in the snapshot, or by its card when the
/// snapshot does not hold it (a card the pending changes made).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum FamilyKey {
    Index(u32),
    Card(u64),
}

impl FamilyKey {
    fn of_kk(snap: &Snapshot, kk: u64) -> FamilyKey {
        let family = Kk::from_u64(kk).ok().and_then(|k| snap.family(k));
        family.map_or(FamilyKey::Card(kk), |f| FamilyKey::Index(f.index()))
    }
}

/// Which points each family goes to: most go to one, so the first point
/// is kept apart from the rare others (one map entry a family, not a list).
#[derive(Default)]
struct FamilyPoints {
    first: HashMap<FamilyKey, usize>,
    more: HashMap<FamilyKey, Vec<usize>>,
}

impl FamilyPoints {
    /// Adds `point` to the family's; whether it was not there yet.
    fn insert(&mut self, key: FamilyKey, point: usize) -> bool {
        match self.first.get(&key) {
            None => {
                self.first.insert(key, point);
                true
            }
            Some(&first) if first == point => false,
            Some(_) => {
                let more = self.more.entry(key).or_default();
                let new = !more.contains(&point);
                if new {
                    more.push(point);
                }
                new
            }
        }
    }

    fn for_each_point(&self, key: FamilyKey, mut f: impl FnMut(usize) -> Result<()>) -> Result<()> {
        if let Some(&first) = self.first.get(&key) {
            f(first)?;
            for &point in self.more.get(&key).into_iter().flatten() {
                f(point)?;
            }
        }
        Ok(())
    }
}

/// Which points a village of residence belongs to, by its codes at every
/// level (one hash lookup a level, however many points).
struct RegionIndex {
    by_code: HashMap<(usize, u64), Vec<usize>>,
}

impl RegionIndex {
    fn new(points: &[PointSpec]) -> RegionIndex {
        let mut by_code: HashMap<(usize, u64), Vec<usize>> = HashMap::new();
        for (i, p) in points.iter().enumerate() {
            for r in &p.regions {
                let entry = by_code.entry((r.level().digits(), r.value())).or_default();
                if !entry.contains(&i) {
                    entry.push(i);
                }
            }
        }
        RegionIndex { by_code }
    }

    fn for_each_point(&self, village: u64, mut f: impl FnMut(usize)) {
        for (digits, divisor) in [(2, 100_000_000), (4, 1_000_000), (6, 10_000), (10, 1)] {
            if let Some(points) = self.by_code.get(&(digits, village / divisor)) {
                points.iter().for_each(|&i| f(i));
            }
        }
    }
}
