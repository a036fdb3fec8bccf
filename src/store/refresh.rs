//! Refreshes as a register keeper runs them: guarded (an export that lost
//! its rows, moved the population, or is older than the changes already
//! applied is refused), compared with the current generation before the
//! switch (a diff: who was added, removed, changed, died, came back;
//! enrolments per program), and undone by a rollback to the previous
//! generation, whose file is kept until the next change.

use std::sync::Arc;
use std::time::Instant;

use super::Store;
use super::generations::GenerationChange;
use crate::domain::date::Date;
use crate::error::{Error, Result};
use crate::snapshot::{IngestReport, Snapshot, SnapshotBuilder};
use crate::store::accel::FilterView;

/// What a refresh refuses unless forced.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RefreshGuard {
    /// The largest share of the export's rows that may be rejected
    /// (default 0.01: 1 %).
    pub max_rejected: f64,
    /// The largest move of the person count from the current generation,
    /// as a share (default 0.05: 5 %).
    pub max_change: f64,
    /// Refuse an export older (its as-of date) than the latest change
    /// applied: it would undo deaths and births already recorded (default
    /// true).
    pub refuse_older: bool,
    /// What reading the export found (rows read, rejected), for the
    /// rejected share.
    pub ingest: Option<IngestReport>,
    /// Build and compare, then remove the new file instead of switching.
    pub dry_run: bool,
}

impl Default for RefreshGuard {
    fn default() -> RefreshGuard {
        RefreshGuard {
            max_rejected: 0.01,
            max_change: 0.05,
            refuse_older: true,
            ingest: None,
            dry_run: false,
        }
    }
}

impl RefreshGuard {
    /// No guard at all (`--force`): the operator has checked the export.
    pub fn force() -> RefreshGuard {
        RefreshGuard {
            max_rejected: 1.0,
            max_change: f64::INFINITY,
            refuse_older: false,
            ingest: None,
            dry_run: false,
        }
    }

    /// With what reading the export found.
    pub fn ingest(mut self, report: IngestReport) -> RefreshGuard {
        self.ingest = Some(report);
        self
    }

    /// As a dry run (or not).
    pub fn dry_run(mut self, on: bool) -> RefreshGuard {
        self.dry_run = on;
        self
    }
}

/// How a new generation differs from the current one, person by person
/// (persons with a pending change excepted: their answers do not change,
/// the change is carried over or the export holds it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GenerationDiff {
    /// NIKs in the new generation only.
    pub added: u64,
    /// NIKs in the current generation only.
    pub removed: u64,
    /// NIKs in both whose record differs.
    pub changed: u64,
    /// Alive in the current generation, deceased in the new.
    pub deaths: u64,
    /// Deceased in the current generation, alive in the new: an older
    /// export brings the dead back.
    pub revived: u64,
    /// Per program code: persons newly enrolled, and no longer enrolled.
    pub enrolment: Vec<(String, u64, u64)>,
}

impl Store {
    /// Makes a new generation from a register export staged in `builder`
    /// (for example with [`SnapshotBuilder::add_csv`]), while the store
    /// keeps serving, under the default [`RefreshGuard`]. Pending changes
    /// the export reflects are dropped, the others carried over
    /// (store::generations).
    pub fn refresh(&self, builder: SnapshotBuilder<'_>) -> Result<GenerationChange> {
        self.refresh_guarded(builder, &RefreshGuard::default())
    }

    /// [`Store::refresh`] under `guard`: refused, with nothing switched,
    /// when the export breaks it; the new generation's diff is in the
    /// outcome.
    pub fn refresh_guarded(
        &self,
        builder: SnapshotBuilder<'_>,
        guard: &RefreshGuard,
    ) -> Result<GenerationChange> {
        self.refuse_if_keyed("refresh")?;
        let _one = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.snapshot();
        self.install(builder, old, Instant::now(), Some(guard))
    }

    /// The guards of a refresh, checked before the build.
    pub(super) fn check_export(
        &self,
        guard: &RefreshGuard,
        builder: &SnapshotBuilder<'_>,
        old: &Snapshot,
    ) -> Result<()> {
        let refuse = |message: String| Err(Error::RefreshRefused { message });
        if let Some(r) = &guard.ingest
            && r.rows > 0
            && r.rejected as f64 > guard.max_rejected * r.rows as f64
        {
            return refuse(format!(
                "{} of {} rows of the export were rejected, more than {:.1} %: a broken export \
                 would replace the register (check the rejects file; --force to refresh anyway)",
                r.rejected,
                r.rows,
                guard.max_rejected * 100.0
            ));
        }
        let (now, next) = (old.person_count() as f64, builder.len() as f64);
        if (next - now).abs() > guard.max_change * now.max(1.0) {
            return refuse(format!(
                "the export has {next} persons, the current generation {now}: a move of more than \
                 {:.1} % (--force to refresh anyway)",
                guard.max_change * 100.0
            ));
        }
        let latest = self.live.witness()?.map_or(i64::MIN, |w| w.latest_change);
        if guard.refuse_older && builder.as_of().to_unix_days() < latest {
            let latest = Date::from_unix_days(latest).map_or_else(String::new, |d| d.to_string());
            return refuse(format!(
                "the export is as of {}, older than the latest change applied ({latest}): it \
                 would undo deaths and births already recorded (--force to refresh anyway)",
                builder.as_of()
            ));
        }
        Ok(())
    }

    /// Switches back to the previous generation (the one before the last
    /// compaction or refresh, whose file is kept until the next one), while
    /// the store serves. Claims and the audit are untouched; the pending
    /// changes the rolled-back generation held are pending again (they were
    /// kept: a change goes only when both generations hold it).
    pub fn rollback(&self) -> Result<GenerationChange> {
        let _one = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let Some(previous) = self.previous_snapshot() else {
            return Err(Error::RefreshRefused {
                message: "no previous generation is kept (none yet, or its file is gone or \
                          not the one CURRENT recorded): nothing to roll back to"
                    .into(),
            });
        };
        let path = previous.path().to_path_buf();
        let previous = Arc::new(self.open_generation(&path)?);
        let from = self.snapshot().generation();
        let to = previous.generation();
        // The live state first: a crash before `CURRENT` names the older
        // generation must not leave the witness ahead of it.
        self.lower_witness_generation(to)?;
        let mut change = GenerationChange {
            from,
            to,
            persons: previous.person_count(),
            families: previous.family_count(),
            bytes: previous.byte_len(),
            folded: 0,
            carried: 0,
            finished: false,
            switched: false,
            diff: None,
            build_secs: started.elapsed().as_secs_f64(),
            switch_secs: 0.0,
            finish_secs: 0.0,
        };
        self.switch_and_finish(previous, &path, &mut change)?;
        Ok(change)
    }

    fn lower_witness_generation(&self, to: u64) -> Result<()> {
        let _one = self.witness_lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mut w) = self.live.witness()?
            && w.generation > to
        {
            w.generation = to;
            let mut write = crate::live::LiveWrite::default();
            write.put_witness(&w)?;
            self.live.write(write)?;
        }
        Ok(())
    }
}

/// How `new` differs from `old` for every NIK without a pending change.
pub(super) fn diff(old: &Snapshot, new: &Snapshot, changed: &FilterView) -> GenerationDiff {
    let registry = new.registry();
    let mut d = GenerationDiff::default();
    let mut gained = vec![0u64; registry.len()];
    let mut lost = vec![0u64; registry.len()];
    // Each program of the new registry, and the same code in the old one.
    let programs: Vec<_> = registry
        .ids()
        .map(|id| (id, old.registry().by_code(&registry.program(id).code)))
        .collect();
    for p in old.persons() {
        let nik = p.nik().get();
        if changed.may_contain(nik) {
            continue;
        }
        let Some(q) = new.find(nik).and_then(|s| new.person_at(s)) else {
            d.removed += 1;
            continue;
        };
        let (a, b) = (
            super::PersonState::Snapshot(p).to_live(),
            super::PersonState::Snapshot(q).to_live(),
        );
        if a != b {
            d.changed += 1;
        }
        d.deaths += u64::from(!a.deceased && b.deceased);
        d.revived += u64::from(a.deceased && !b.deceased);
        for (i, (id, was)) in programs.iter().enumerate() {
            let before = was.is_some_and(|w| p.enrolled().contains(w));
            let now = q.enrolled().contains(*id);
            gained[i] += u64::from(now && !before);
            lost[i] += u64::from(before && !now);
        }
    }
    for q in new.persons() {
        let nik = q.nik().get();
        if !changed.may_contain(nik) && old.find(nik).is_none() {
            d.added += 1;
        }
    }
    d.enrolment = registry
        .programs()
        .iter()
        .zip(gained.into_iter().zip(lost))
        .map(|(p, (g, l))| (p.code.clone(), g, l))
        .collect();
    d
}
