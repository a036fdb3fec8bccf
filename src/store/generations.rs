//! Generations: compaction (generation N + the pending changes → N+1) and
//! full refresh (a new register export → N+1), while the store serves.
//!
//! Both end the same way (`Store::install`):
//!
//! 1. the new snapshot is written to `snapshot-(N+1).tepat.tmp`, synced,
//!    verified, renamed into place and the directory synced;
//! 2. under the ledger's lock, the claimed bitmaps are rebuilt for N+1 from
//!    the ledger's held keys; `CURRENT` is replaced (temp file, sync,
//!    rename, directory sync) — **the switch**, on disk — and the in-memory
//!    generation is swapped (an atomic pointer swap; readers never wait);
//! 3. once no call of this process still uses generation N (bounded wait),
//!    the pending changes that both N+1 and N hold are removed from the
//!    live state and the change filter is rebuilt; N's file is kept (named
//!    in `CURRENT` as `previous`, for `Store::rollback`), older files are
//!    deleted. A change N+1 folded in but N lacks stays pending until the
//!    next generation change: a rollback to N must still find it.
//!
//! **Why a read never sees "both or neither".** A pending change is stored
//! as the person's *whole* current state. At the switch, every change that
//! N+1 folded in is equal to N+1's record: reading N+1 with or without it
//! gives the same answer, so step 3 changes no answer. Step 3 waits for the
//! calls still reading N, because N *without* the change would be wrong.
//! If the wait times out (a long batch run holds N), step 3 is left to the
//! next generation change or the next open, and answers stay right.
//!
//! **Crash safety.** Until `CURRENT` is renamed the store opens as N (a
//! left-over `.tmp` or newer snapshot file is deleted on open); after it,
//! as N+1, and open finishes step 3. Claims and the audit are in the
//! ledger, which no generation change touches.
//!
//! **Refresh rule.** A pending change that the new export reflects (the
//! person's record in the export equals the pending state, field for
//! field) is dropped; any other is carried over on top of N+1. A refresh is
//! guarded (`store::refresh`): an export older than the latest change, or
//! one that lost its rows or moved the population, is refused unless
//! forced.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::dir;
use super::refresh::{GenerationDiff, RefreshGuard, diff};
use crate::domain::date::Date;
use crate::domain::kk::Kk;
use crate::domain::nik::{Nik, Sex};
use crate::domain::program::{ComponentSet, ProgramSet};
use crate::domain::program::{Registry, Unit};
pub use crate::durable::FAULT_POINTS;
use crate::durable::fault_point;
use crate::error::{Error, Result};
use crate::live::{LivePerson, LiveWrite};
use crate::payouts::index::{KeyEvent, ProgramUse};
use crate::rows::register::{PersonRecord, Relation};
use crate::snapshot::{Person, Snapshot, SnapshotBuilder};
use crate::store::accel::{ClaimedIndex, mark_key};
use crate::store::{Generation, Store};

/// How long step 3 waits for calls that still read the old generation.
pub const OLD_READERS_WAIT: Duration = Duration::from_secs(10);

/// What a generation change did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GenerationChange {
    /// The generation before.
    pub from: u64,
    /// The generation after.
    pub to: u64,
    /// Person records in the new snapshot.
    pub persons: u64,
    /// Family records in the new snapshot.
    pub families: u64,
    /// Bytes of the new snapshot file.
    pub bytes: u64,
    /// Pending changes the new generation holds (removed from the live
    /// state once the generation kept for a rollback holds them too: at the
    /// next generation change).
    pub folded: u64,
    /// Pending changes still pending on top of the new generation.
    pub carried: u64,
    /// Whether step 3 ran (false: old readers outlived the wait; it runs at
    /// the next generation change or open).
    pub finished: bool,
    /// Whether the store switched to the new generation (false for a dry
    /// run: built, compared, removed).
    pub switched: bool,
    /// A refresh's comparison of the new generation with the current one.
    pub diff: Option<GenerationDiff>,
    /// Seconds to build, write, sync and verify the new snapshot.
    pub build_secs: f64,
    /// Seconds the switch held the ledger's lock (claims wait this long).
    pub switch_secs: f64,
    /// Seconds of step 3.
    pub finish_secs: f64,
}

impl Store {
    /// Folds every pending change into a new generation (see the module
    /// docs for the steps and the guarantees). Claims, reversals and the
    /// audit are untouched.
    pub fn compact(&self) -> Result<GenerationChange> {
        self.refuse_if_keyed("compaction")?;
        let _one = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let current = self.current_records()?;
        let regions = current.snapshot.regions().clone();
        let old = current.snapshot.clone();
        let mut builder = SnapshotBuilder::new(old.registry().clone(), &regions, old.as_of())?;
        builder.reserve(current.len());
        current.for_each(|record, _| add(&mut builder, record))?;
        drop(current);
        self.install(builder, old, started, None)
    }

    /// The register as it stands now: the current snapshot and the pending
    /// changes, read under the writers' lock so that no change file is
    /// seen in part.
    pub(crate) fn current_records(&self) -> Result<CurrentRecords> {
        let snapshot = self.snapshot();
        // Apply takes this lock alone: the scan sees whole change files.
        let _shared = self.writers.read().unwrap_or_else(|p| p.into_inner());
        let changes = self.changed_persons()?.into_iter().collect();
        Ok(CurrentRecords { snapshot, changes })
    }

    /// Steps 1-3 of the module docs. `guard`: a refresh's (the diff is
    /// computed and the guards checked before the switch); `None` for a
    /// compaction.
    pub(super) fn install(
        &self,
        builder: SnapshotBuilder<'_>,
        old: Arc<Snapshot>,
        started: Instant,
        guard: Option<&RefreshGuard>,
    ) -> Result<GenerationChange> {
        let from = old.generation();
        // Refused before the build costs anything (and again at the switch,
        // under the ledger's lock, where it is decisive).
        refuse_registry_change(&self.ledger.lock()?.uses(), builder.registry())?;
        if let Some(guard) = guard {
            self.check_export(guard, &builder, &old)?;
        }
        let builder = match &self.options.signing_key {
            Some(key) => builder.signed_by(Some(key.clone())),
            None => builder,
        };
        if !self.options.trusted_keys.is_empty() && !builder.is_signed() {
            return Err(Error::Signature {
                file: self.dir().to_path_buf(),
                message: "the store trusts only signed snapshots, and no signing key was given \
                          for the new generation (--sign-key)"
                    .into(),
            });
        }
        let to = from + 1;
        let path = self.dir().join(dir::snapshot_file_name(to));
        let summary = builder.generation(to).write_to_path(&path)?;
        let snapshot = Arc::new(self.open_generation(&path)?);
        let diff = guard.map(|_| diff(&old, &snapshot, &self.changed.view()));
        // Step 3 waits for every holder of the old generation: not us.
        drop(old);
        let mut change = GenerationChange {
            from,
            to,
            persons: summary.persons,
            families: summary.families,
            bytes: summary.bytes,
            folded: 0,
            carried: 0,
            finished: false,
            switched: false,
            diff,
            build_secs: started.elapsed().as_secs_f64(),
            switch_secs: 0.0,
            finish_secs: 0.0,
        };
        if guard.is_some_and(|g| g.dry_run) {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            return Ok(change);
        }
        self.switch_and_finish(snapshot, &path, &mut change)?;
        Ok(change)
    }

    /// Steps 2 and 3: the switch to `snapshot` (its file `path`, removed
    /// if the switch fails) and the clean-up after it.
    pub(super) fn switch_and_finish(
        &self,
        snapshot: Arc<Snapshot>,
        path: &Path,
        change: &mut GenerationChange,
    ) -> Result<()> {
        let rollback = change.to < change.from;
        let switch_started = Instant::now();
        let retired = match self.switch_to(snapshot, !rollback) {
            Ok(retired) => retired,
            Err(e) => {
                if !rollback {
                    let _ = std::fs::remove_file(path);
                }
                return Err(e);
            }
        };
        change.switched = true;
        change.switch_secs = switch_started.elapsed().as_secs_f64();
        let finish_started = Instant::now();
        let retired_snapshot = retired.snapshot.clone();
        change.finished = wait_for_readers(retired, retired_snapshot);
        (change.folded, change.carried) = if change.finished {
            self.finish_generation_change(true)?
        } else {
            (0, self.changed_persons()?.len() as u64)
        };
        change.finish_secs = finish_started.elapsed().as_secs_f64();
        Ok(())
    }

    /// The previous generation `CURRENT` keeps for a rollback, if it opens
    /// and is the file `CURRENT` recorded.
    pub(super) fn previous_snapshot(&self) -> Option<Snapshot> {
        let (name, checksum) = dir::Current::read(self.dir()).ok()?.previous?;
        let snap = Snapshot::open(&self.dir().join(name)).ok()?;
        (snap.checksum() == checksum).then_some(snap)
    }

    /// Step 2: under the ledger's lock, the new generation's bitmaps from
    /// the held keys, `CURRENT`, the swap. Returns the retired generation.
    /// `keep_previous`: the generation switched from stays on disk, named in
    /// `CURRENT`, for a rollback (false for the rollback itself).
    fn switch_to(&self, snapshot: Arc<Snapshot>, keep_previous: bool) -> Result<Arc<Generation>> {
        let mut ledger = self.ledger.lock()?;
        refuse_registry_change(&ledger.uses(), snapshot.registry())?;
        let numbers = snapshot
            .registry()
            .programs()
            .iter()
            .map(|p| ledger.number(&p.code))
            .collect::<Result<Vec<u8>>>()?;
        let next = Generation {
            claimed: ClaimedIndex::new(snapshot.slot_count(), snapshot.family_count()),
            snapshot,
            numbers,
        };
        for key in ledger.held_keys() {
            mark_key(&next.claimed, &next.snapshot, KeyEvent::Held(key));
        }
        let name = dir::snapshot_file_name(next.snapshot.generation());
        let checksum = next.snapshot.checksum();
        let log_bytes = self.ledger.synced_bytes();
        self.update_current(|c| {
            c.previous = match (keep_previous, c.snapshot_checksum) {
                (true, Some(sum)) => Some((c.snapshot.clone(), sum)),
                _ => None,
            };
            c.snapshot = name;
            c.snapshot_checksum = Some(checksum);
            c.log_bytes = c.log_bytes.max(log_bytes);
        })?;
        let retired = self.current.swap(Arc::new(next));
        fault_point("switch.swapped");
        Ok(retired)
    }

    /// Step 3, also run on open: removes the pending changes that both the
    /// current snapshot and the previous one (kept for a rollback) hold,
    /// rebuilds the change filter, and deletes left-over snapshot files
    /// (all but those two). Returns (pending changes the current snapshot
    /// holds, pending changes it does not). `in_change`: called by a
    /// generation change (not by open), for the fault points.
    pub(crate) fn finish_generation_change(&self, in_change: bool) -> Result<(u64, u64)> {
        let fault_point = |name| {
            if in_change {
                fault_point(name)
            }
        };
        let _alone = self.writers.write().unwrap_or_else(|p| p.into_inner());
        let snap = self.snapshot();
        // A change may go only when the generation a rollback would return
        // to holds it too: the previous generation's file is kept for that.
        let previous = self.previous_snapshot();
        let mut folded: HashSet<u64> = HashSet::new();
        let (mut held, mut carried) = (0u64, 0u64);
        let mut write = LiveWrite::default();
        for (nik, state) in self.changed_persons()? {
            if !holds(&snap, nik, &state) {
                carried += 1;
                continue;
            }
            held += 1;
            if previous.as_ref().is_none_or(|p| holds(p, nik, &state)) {
                folded.insert(nik);
                write.remove_person(nik);
            }
        }
        if !folded.is_empty() {
            for item in self.live.markers() {
                let (kk, nik, _) = item?;
                if folded.contains(&nik) {
                    write.remove_marker(kk, nik);
                }
            }
        }
        // The live state now belongs to this generation: a `CURRENT` that
        // names an older one is an older copy (store::open).
        let _one = self.witness_lock.lock().unwrap_or_else(|p| p.into_inner());
        let witness = self.live.witness()?;
        let generation = snap.generation();
        if let Some(mut w) = witness
            && (w.generation != generation || !folded.is_empty())
        {
            w.generation = generation;
            write.put_witness(&w)?;
            self.live.write(write)?;
        } else if !folded.is_empty() {
            self.live.write(write)?;
        }
        fault_point("finish.live_cleaned");
        self.rebuild_change_filter()?;
        let keep = previous
            .as_ref()
            .and_then(|p| p.path().file_name().map(|n| n.to_os_string()));
        remove_leftovers(self.dir(), &snap, keep.as_deref())?;
        fault_point("finish.old_removed");
        Ok((held, carried))
    }
}

/// Refuses a registry that would change how a program with recorded claims
/// is keyed: dropped or renamed (a renamed program would pay again everyone
/// its old code paid), or paid per another unit or another kind of period
/// (the old claims would not block the new keys).
fn refuse_registry_change(uses: &HashMap<String, ProgramUse>, next: &Registry) -> Result<()> {
    let mut codes: Vec<&String> = uses.keys().collect();
    codes.sort();
    for code in codes {
        let used = &uses[code];
        let refuse = |why: String| {
            Err(Error::Registry {
                file: None,
                line: None,
                column: None,
                field: Some(format!("program {code}")),
                message: format!(
                    "{why}, but the store has recorded claims of {code}: the new registry is \
                     refused (keep the program as it is, or pay under a new code)"
                ),
            })
        };
        let Some(id) = next.by_code(code) else {
            return refuse(format!(
                "the new registry has no program {code} (dropped or renamed)"
            ));
        };
        let p = next.program(id);
        let family = p.unit == Unit::Family;
        if (family && used.person) || (!family && used.family) {
            return refuse(format!(
                "the new registry pays {code} per {}",
                p.unit.name()
            ));
        }
        if used.periods.iter().any(|k| *k != p.period) {
            return refuse(format!(
                "the new registry pays {code} per {}",
                p.period.name()
            ));
        }
    }
    Ok(())
}

/// Waits (bounded) until nobody else holds the retired generation or its
/// snapshot. `arc-swap` turns the guards of readers that were inside a call
/// at the swap into counted references, so the counts see them.
fn wait_for_readers(retired: Arc<Generation>, snapshot: Arc<Snapshot>) -> bool {
    let deadline = Instant::now() + OLD_READERS_WAIT;
    let mut retired = Some(retired);
    loop {
        if let Some(g) = retired.take() {
            match Arc::try_unwrap(g) {
                Ok(g) => drop(g),
                Err(g) => retired = Some(g),
            }
        }
        // Ours, and the retired generation's if it is still alive.
        if retired.is_none() && Arc::strong_count(&snapshot) == 1 {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether the snapshot's record of `nik` is the pending state, field for
/// field (so the change is folded in and removing it changes no answer).
/// `new` only says the person was not in an earlier snapshot.
fn holds(snap: &Snapshot, nik: u64, state: &LivePerson) -> bool {
    let Some(p) = snap.find(nik).and_then(|s| snap.person_at(s)) else {
        return false;
    };
    if p.duplicate() {
        return false;
    }
    let mut have = crate::store::PersonState::Snapshot(p).to_live();
    have.new = state.new;
    have == *state
}

/// Deletes `.tmp` files and snapshot files other than the current one and
/// `keep` (the previous generation's, kept for a rollback).
fn remove_leftovers(dir: &Path, current: &Snapshot, keep: Option<&std::ffi::OsStr>) -> Result<()> {
    let current_name = current.path().file_name().map(|n| n.to_os_string());
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let text = name.to_string_lossy();
        let stale_snapshot = text.starts_with("snapshot-")
            && (text.ends_with(".tepat") || text.ends_with(".tepat.tmp"))
            && Some(&name) != current_name.as_ref()
            && Some(name.as_os_str()) != keep;
        if stale_snapshot || text == "CURRENT.tmp" {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// Every person of a store in their current state ([`Store::current_records`]).
pub(crate) struct CurrentRecords {
    pub(crate) snapshot: Arc<Snapshot>,
    changes: HashMap<u64, LivePerson>,
}

impl CurrentRecords {
    /// Whether a snapshot person's current state is a pending change's (a
    /// duplicate identity is frozen as the snapshot has it).
    pub(crate) fn is_live(&self, p: &Person<'_>) -> bool {
        !p.duplicate() && self.changes.contains_key(&p.nik().get())
    }

    /// The pending changes' persons whose state is theirs: every changed
    /// person but the frozen duplicate identities.
    pub(crate) fn live(&self) -> impl Iterator<Item = (u64, &LivePerson)> + '_ {
        self.changes
            .iter()
            .map(|(nik, l)| (*nik, l))
            .filter(|(nik, _)| {
                let slot = self.snapshot.find(*nik);
                !slot
                    .and_then(|s| self.snapshot.person_at(s))
                    .is_some_and(|p| p.duplicate())
            })
    }
}

impl CurrentRecords {
    /// At most how many records [`CurrentRecords::for_each`] gives.
    pub(crate) fn len(&self) -> usize {
        self.snapshot.person_count() as usize + self.changes.len()
    }

    /// Calls `f` with each person's record and whether the snapshot flags
    /// them a duplicate identity: the snapshot's persons (a pending change
    /// applied, except to a duplicate identity, which is frozen as the
    /// snapshot has it), then the persons the changes added.
    pub(crate) fn for_each(
        &self,
        mut f: impl FnMut(&PersonRecord, bool) -> Result<()>,
    ) -> Result<()> {
        for p in self.snapshot.persons() {
            let nik = p.nik().get();
            let record = match self.changes.get(&nik) {
                Some(l) if !p.duplicate() => record_of_live(nik, l)?,
                _ => record_of_person(&p)?,
            };
            f(&record, p.duplicate())?;
        }
        for (nik, l) in &self.changes {
            if self.snapshot.find(*nik).is_none() {
                f(&record_of_live(*nik, l)?, false)?;
            }
        }
        Ok(())
    }
}

fn add(builder: &mut SnapshotBuilder<'_>, record: &PersonRecord) -> Result<()> {
    builder.add(record).map_err(|e| Error::Input {
        file: "compaction".into(),
        message: format!("NIK {}: {e}", record.nik),
    })
}

fn bad(nik: u64, what: &str) -> Error {
    Error::Input {
        file: "compaction".into(),
        message: format!("NIK {nik:016}: {what}"),
    }
}

/// A register record of a person as the snapshot holds them.
pub(crate) fn record_of_person(p: &Person<'_>) -> Result<PersonRecord> {
    let nik = p.nik().get();
    Ok(PersonRecord {
        nik: p.nik(),
        kk: p.kk().ok_or_else(|| bad(nik, "no family card"))?,
        relation: p.relation(),
        village: p.village_code().ok_or_else(|| bad(nik, "no village"))?,
        sex: p.sex(),
        birth_date: p.birth_date(),
        decile: p.decile(),
        deceased: p.deceased(),
        civil_servant: p.civil_servant(),
        components: p.components(),
        programs: p.enrolled(),
    })
}

/// A register record of a person's pending state.
pub(crate) fn record_of_live(nik: u64, l: &LivePerson) -> Result<PersonRecord> {
    Ok(PersonRecord {
        nik: Nik::from_u64(nik).map_err(|e| bad(nik, &e.to_string()))?,
        kk: Kk::from_u64(l.kk).map_err(|e| bad(nik, &e.to_string()))?,
        relation: Relation::from_code(l.relation),
        village: l.village,
        sex: if l.female { Sex::Female } else { Sex::Male },
        birth_date: Date::from_unix_days(l.birth_days)
            .ok_or_else(|| bad(nik, "birth date out of range"))?,
        decile: l.decile,
        deceased: l.deceased,
        civil_servant: l.civil_servant,
        components: ComponentSet(l.components),
        programs: ProgramSet(l.enrolled),
    })
}
