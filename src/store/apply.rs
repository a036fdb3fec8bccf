//! Change files: every row checked against the snapshot, the pending
//! changes and the rows before it, then applied whole or not at all.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Store, now_ms};
use crate::csv::Lines;
use crate::domain::nik::Sex;
use crate::domain::program::{PersonFacts, ProgramId, ProgramSet, Registry, Unit};
use crate::error::{Error, Result};
use std::sync::Arc;

use super::dir::CHANGES_JOURNAL;
use crate::live::{AppliedFile, BATCH_RECORDS, ChangeAudit, LivePerson, LiveWrite};
use crate::rows::change::{Change, ChangeParser};
use crate::rows::register::{PersonRecord, Relation};
use crate::snapshot::Snapshot;

impl Store {
    /// Applies a change file (CSV, `tepat::change::HEADER`) whole or not at
    /// all: every row is checked first, against the snapshot, the live state
    /// and the rows before it; one bad row and nothing is applied, and the
    /// error lists every bad row with its line and column.
    ///
    /// A file applied before (the same bytes: its xxh3 is recorded with it)
    /// is recognised and changes nothing: the outcome says when it was
    /// applied.
    pub fn apply_csv(&self, reader: impl std::io::BufRead, file: &str) -> Result<Applied> {
        self.refuse_if_keyed(file)?;
        let snap = self.snapshot();
        let registry = snap.registry().clone();
        let parser = ChangeParser::new(&registry);
        let (mut lines, header) = Lines::open(reader, file)?;
        ChangeParser::check_header(&header).map_err(|message| Error::Input {
            file: file.to_owned(),
            message: format!("line 1: {message}"),
        })?;
        let mut changes = Vec::new();
        let mut errors = Vec::new();
        while let Some((line_no, line)) = lines.next_line()? {
            if let Some(why) = line.utf8_error() {
                errors.push(format!("line {line_no}: {why}"));
                continue;
            }
            if line.text().is_empty() {
                continue;
            }
            match parser.parse(line.text()) {
                Ok(c) => changes.push((line_no, c)),
                Err(e) => errors.push(format!("line {line_no}: {e}")),
            }
        }
        if !errors.is_empty() {
            return Err(rows_error(file, errors));
        }
        let digest = lines.digest();
        if let Some(before) = self.live.applied_file(digest)? {
            return Ok(Applied {
                rows: 0,
                before: Some(before),
            });
        }
        let rows = self.apply_recorded(file, &changes, Some(digest))?;
        Ok(Applied { rows, before: None })
    }

    /// Applies changes (with the line numbers they came from) whole or not
    /// at all. Returns how many were applied.
    pub fn apply(&self, file: &str, changes: &[(u64, Change)]) -> Result<u64> {
        self.refuse_if_keyed(file)?;
        self.apply_recorded(file, changes, None)
    }

    /// [`Store::apply`], recording the file's checksum `digest` with it.
    fn apply_recorded(
        &self,
        file: &str,
        changes: &[(u64, Change)],
        digest: Option<u64>,
    ) -> Result<u64> {
        let _alone = self.writers.write().unwrap_or_else(|p| p.into_inner());
        let snap = self.snapshot();
        let mut overlay = Overlay::new(self, &snap);
        let mut errors = Vec::new();
        for (line, change) in changes {
            if let Err(message) = overlay.apply(change) {
                errors.push(format!("line {line}: {} change: {message}", change.kind()));
            }
        }
        if !errors.is_empty() {
            return Err(rows_error(file, errors));
        }
        let journal = self.dir().join(CHANGES_JOURNAL);
        if journal.exists() {
            return Err(Error::Store {
                dir: self.dir().to_path_buf(),
                message: format!(
                    "{CHANGES_JOURNAL}: an earlier change file is committed but not yet wholly \
                     in live/ (its writing failed); open the store again to finish it"
                ),
            });
        }
        // Readers need the file's persons in memory only while a journaled
        // (large) write goes into sled; the records it will take: persons,
        // markers, audit entries, witness and checksum.
        let records = overlay.persons.len() + overlay.markers.len() + changes.len() + 2;
        let journaled = records > BATCH_RECORDS;
        let mut write = LiveWrite::default();
        let mut pending = PendingApply::default();
        // Every person the overlay touched is written, unchanged or not:
        // the reports re-count a family from its members' live records.
        for (nik, state) in overlay.persons {
            self.changed.insert(nik);
            write.put_person(nik, &state)?;
            if journaled {
                pending.persons.insert(nik, state);
            }
        }
        for ((kk, nik), moved_in) in &overlay.markers {
            self.moved.insert(*kk);
            write.put_marker(*kk, *nik, *moved_in);
            if journaled && *moved_in {
                pending.moved_in.entry(*kk).or_default().push(*nik);
            }
        }
        let at_ms = now_ms();
        for (line, change) in changes {
            let entry = ChangeAudit {
                at_ms,
                kind: change.kind().to_owned(),
                nik: change.nik().map(|n| n.get()),
                kk: change.kk().map(|k| k.get()),
                program: change
                    .program()
                    .and_then(|p| snap.registry().get(p))
                    .map(|p| p.code.clone()),
                date: change.date().to_string(),
                file: file.to_owned(),
                line: *line,
            };
            write.put_audit(self.next_seq(), &entry)?;
        }
        // The witness counts the change files and records how long the
        // claims log was: an older copy of live/, CURRENT or the log shows.
        let _one = self.witness_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut witness = self.live.witness()?.ok_or_else(|| Error::Store {
            dir: self.dir().to_path_buf(),
            message: "the live state has no witness record".into(),
        })?;
        witness.applies += 1;
        witness.log_bytes = witness.log_bytes.max(self.ledger.synced_bytes());
        if let Some(latest) = changes.iter().map(|(_, c)| c.date().to_unix_days()).max() {
            witness.latest_change = witness.latest_change.max(latest);
        }
        write.put_witness(&witness)?;
        if let Some(digest) = digest {
            let applied = AppliedFile {
                at_ms,
                file: file.to_owned(),
                rows: changes.len() as u64,
            };
            write.put_applied(digest, &applied)?;
        }
        if !journaled {
            self.live.write(write)?;
        } else {
            // Too large for one sled batch: a journal is the commit point,
            // and readers see the file's persons in memory until sled
            // holds them all. A failure after the commit leaves them
            // there: the file is committed, and the next open finishes it.
            let pending = Arc::new(pending);
            self.live.write_journaled(write, &journal, self.id(), || {
                self.pending.store(Some(pending));
            })?;
            self.pending.store(None);
        }
        self.update_current(|c| {
            c.applies = witness.applies;
            c.log_bytes = c.log_bytes.max(witness.log_bytes);
        })?;
        Ok(changes.len() as u64)
    }
}

fn rows_error(file: &str, errors: Vec<String>) -> Error {
    let shown: Vec<&str> = errors.iter().take(20).map(String::as_str).collect();
    let more = if errors.len() > 20 {
        format!(" (and {} more)", errors.len() - 20)
    } else {
        String::new()
    };
    Error::Input {
        file: file.to_owned(),
        message: format!(
            "{} bad rows, nothing applied: {}{more}",
            errors.len(),
            shown.join("; ")
        ),
    }
}

/// What [`Store::apply_csv`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Applied {
    /// The rows applied (0 for a file applied before).
    pub rows: u64,
    /// When the same file was applied before, if it was: nothing changed.
    pub before: Option<AppliedFile>,
}

/// A journaled change file's persons and moves, shown to readers between
/// its commit point and the end of its way into sled.
#[derive(Default)]
pub(crate) struct PendingApply {
    /// Every person the file changes, as it leaves them.
    pub(crate) persons: HashMap<u64, LivePerson>,
    /// By family card: the NIKs the file moves into it (or that are born).
    pub(crate) moved_in: HashMap<u64, Vec<u64>>,
}

/// Changes being validated: the new states of every person they touch, on
/// top of the snapshot and the live state.
struct Overlay<'s> {
    store: &'s Store,
    snap: &'s Snapshot,
    registry: &'s Registry,
    persons: HashMap<u64, LivePerson>,
    /// The overlay's persons by their current family card, so that a
    /// family's members are found without a pass over every changed person.
    by_kk: HashMap<u64, BTreeSet<u64>>,
    markers: HashMap<(u64, u64), bool>,
}

/// A change that cannot be applied, in words.
type Refusal = std::result::Result<(), String>;

impl<'s> Overlay<'s> {
    fn new(store: &'s Store, snap: &'s Snapshot) -> Overlay<'s> {
        Overlay {
            store,
            snap,
            registry: snap.registry(),
            persons: HashMap::new(),
            by_kk: HashMap::new(),
            markers: HashMap::new(),
        }
    }

    /// Records a person's new state.
    fn put(&mut self, nik: u64, p: LivePerson) {
        if let Some(old) = self.persons.get(&nik)
            && old.kk != p.kk
            && let Some(set) = self.by_kk.get_mut(&old.kk)
        {
            set.remove(&nik);
        }
        self.by_kk.entry(p.kk).or_default().insert(nik);
        self.persons.insert(nik, p);
    }

    fn state(&self, nik: u64) -> std::result::Result<Option<LivePerson>, String> {
        if let Some(p) = self.persons.get(&nik) {
            return Ok(Some(p.clone()));
        }
        let state = self
            .store
            .person(self.snap, nik)
            .map_err(|e| e.to_string())?;
        Ok(state.map(|s| s.to_live()))
    }

    fn existing(&self, nik: u64) -> std::result::Result<LivePerson, String> {
        let p = self
            .state(nik)?
            .ok_or_else(|| format!("NIK {nik:016} is not in the register"))?;
        if p.duplicate {
            return Err(format!(
                "NIK {nik:016} is a duplicate identity (more than one register record): resolve it in the register first"
            ));
        }
        Ok(p)
    }

    /// Current members of a family, with the overlay's changes.
    fn members(&self, kk: u64) -> std::result::Result<Vec<(u64, LivePerson)>, String> {
        let mut out: BTreeMap<u64, LivePerson> = BTreeMap::new();
        let stored = self
            .store
            .members(self.snap, kk)
            .map_err(|e| e.to_string())?;
        for (nik, p) in stored {
            match self.persons.get(&nik) {
                Some(changed) if changed.kk != kk => {}
                Some(changed) => {
                    out.insert(nik, changed.clone());
                }
                None => {
                    out.insert(nik, p);
                }
            }
        }
        for nik in self.by_kk.get(&kk).into_iter().flatten() {
            if let Some(p) = self.persons.get(nik) {
                out.insert(*nik, p.clone());
            }
        }
        Ok(out.into_iter().collect())
    }

    /// The family-program enrolment of a family (its first member's).
    fn family_programs(&self, kk: u64) -> std::result::Result<u32, String> {
        let mask = self.registry.family_programs().0;
        Ok(self
            .members(kk)?
            .first()
            .map_or(0, |(_, m)| m.enrolled & mask))
    }

    fn village_known(&self, village: u64) -> Refusal {
        match self.snap.village_index(village) {
            Some(_) => Ok(()),
            None => Err(format!(
                "village {village:010} is not on the snapshot's village list"
            )),
        }
    }

    fn apply(&mut self, change: &Change) -> Refusal {
        match change {
            Change::Death { nik, .. } => self.death(nik.get()),
            Change::Birth { person, .. } => self.birth(person),
            Change::Move {
                nik,
                kk,
                relation,
                village,
                decile,
                ..
            } => self.move_to(nik.get(), kk.get(), *relation, *village, *decile),
            Change::Enrol { nik, program, .. } => self.enrolment(nik.get(), *program, true),
            Change::Remove { nik, program, .. } => self.enrolment(nik.get(), *program, false),
            Change::Decile { kk, decile, .. } => self.decile(kk.get(), *decile),
        }
    }

    fn death(&mut self, nik: u64) -> Refusal {
        let mut p = self.existing(nik)?;
        if p.deceased {
            return Err(format!("NIK {nik:016} is already recorded as deceased"));
        }
        p.deceased = true;
        let kk = p.kk;
        self.put(nik, p);
        self.recompute(kk)
    }

    fn birth(&mut self, person: &PersonRecord) -> Refusal {
        let nik = person.nik.get();
        if self.state(nik)?.is_some() {
            return Err(format!("NIK {} is already in the register", person.nik));
        }
        self.village_known(person.village)?;
        let kk = person.kk.get();
        let family_programs = self.family_programs(kk)?;
        let mask = self.registry.family_programs().0;
        let born = LivePerson {
            kk,
            relation: person.relation.code(),
            village: person.village,
            female: person.sex == Sex::Female,
            birth_days: person.birth_date.to_unix_days(),
            decile: person.decile,
            deceased: person.deceased,
            civil_servant: person.civil_servant,
            duplicate: false,
            components: person.components.0,
            // Family programs are the family's, whatever the row says: a
            // newborn joins its family's enrolment.
            enrolled: (person.programs.0 & !mask) | family_programs,
            eligible: 0,
            new: true,
        };
        self.put(nik, born);
        self.markers.insert((kk, nik), true);
        self.recompute(kk)
    }

    fn move_to(
        &mut self,
        nik: u64,
        kk: u64,
        relation: Relation,
        village: u64,
        decile: u8,
    ) -> Refusal {
        let mut p = self.existing(nik)?;
        let old = p.kk;
        if old == kk {
            return Err(format!("NIK {nik:016} is already on family card {kk:016}"));
        }
        self.village_known(village)?;
        let mask = self.registry.family_programs().0;
        let target_programs = self.family_programs(kk)?;
        p.kk = kk;
        p.relation = relation.code();
        p.village = village;
        p.decile = decile;
        p.enrolled = (p.enrolled & !mask) | target_programs;
        self.put(nik, p);
        self.markers.insert((old, nik), false);
        self.markers.insert((kk, nik), true);
        self.recompute(old)?;
        self.recompute(kk)
    }

    /// Enrols (`enrol`) or removes a person in a program: the whole family
    /// for a family program.
    fn enrolment(&mut self, nik: u64, program: ProgramId, enrol: bool) -> Refusal {
        let p = self.existing(nik)?;
        let unit = self
            .registry
            .get(program)
            .map(|q| q.unit)
            .ok_or("unknown program")?;
        let targets: Vec<(u64, LivePerson)> = match unit {
            Unit::Person => vec![(nik, p.clone())],
            Unit::Family => self.members(p.kk)?,
        };
        for (n, mut m) in targets.into_iter().filter(|(_, m)| !m.duplicate) {
            let set = ProgramSet(m.enrolled);
            m.enrolled = if enrol {
                set.with(program).0
            } else {
                set.without(program).0
            };
            self.put(n, m);
        }
        Ok(())
    }

    /// A family's decile re-ranked: every member's.
    fn decile(&mut self, kk: u64, decile: u8) -> Refusal {
        let members = self.members(kk)?;
        if members.is_empty() {
            return Err(format!("family card {kk:016} has no members"));
        }
        for (n, mut m) in members.into_iter().filter(|(_, m)| !m.duplicate) {
            m.decile = decile;
            self.put(n, m);
        }
        self.recompute(kk)
    }

    /// Recomputes the eligibility of every member of a family, as the
    /// builder does, on the snapshot's as-of date.
    fn recompute(&mut self, kk: u64) -> Refusal {
        let members = self.members(kk)?;
        if members.is_empty() {
            return Ok(());
        }
        let as_of = self.snap.as_of();
        let facts: Vec<PersonFacts> = members.iter().map(|(_, m)| m.facts(as_of)).collect();
        let head = members
            .iter()
            .find(|(_, m)| Relation::from_code(m.relation) == Relation::Head)
            .unwrap_or(&members[0]);
        let family = self.registry.family_eligibility(head.1.decile, &facts);
        for ((nik, mut m), f) in members.into_iter().zip(&facts) {
            if m.duplicate {
                continue;
            }
            m.eligible = self.registry.person_eligibility(f).0 | family.0;
            self.put(nik, m);
        }
        Ok(())
    }
}
