//! Verdicts: every reason that applies to paying this NIK this program for
//! this period, read from the snapshot, the pending changes and the ledger.

use super::Store;
use super::person::PersonState;
use crate::domain::nik::Nik;
use crate::domain::period::Period;
use crate::domain::program::{ExclusionLevel, ProgramId, ProgramSet, Unit};
use crate::domain::verdict::{ClaimInfo, Conflict, ReasonCode, ReasonSet, Verdict};
use crate::error::{Error, Result};
use crate::payouts::index::ClaimKey;
use crate::payouts::records::{ClaimEntry, SUBJECT_COVERED, SUBJECT_FAMILY, SUBJECT_PERSON};
use crate::snapshot::Snapshot;

impl Store {
    /// May this NIK be paid this program for this period? Every reason that
    /// applies, as data. An invalid NIK is a verdict (`invalid_nik`); an
    /// unknown program or an unparsable period is an error.
    pub fn check_str(&self, nik: &str, program: &str, period: &str) -> Result<Verdict> {
        let current = self.current.load();
        let snap = &*current.snapshot;
        let registry = snap.registry();
        let program = registry.require(program)?;
        let period = Period::parse(period)?;
        match Nik::parse(nik) {
            Ok(nik) => self.check_in(snap, nik, program, period),
            Err(_) => Ok(Verdict::only(registry, ReasonCode::InvalidNik)),
        }
    }

    /// [`Store::check_str`] with parsed inputs.
    pub fn check(&self, nik: Nik, program: ProgramId, period: Period) -> Result<Verdict> {
        self.check_in(&self.current.load().snapshot, nik, program, period)
    }

    pub(crate) fn check_in(
        &self,
        snap: &Snapshot,
        nik: Nik,
        program: ProgramId,
        period: Period,
    ) -> Result<Verdict> {
        let nik = self.key_nik(nik);
        let state = self.person_keyed(snap, nik.get())?;
        self.verdict_for(snap, nik, state.as_ref(), program, period)
    }

    /// The verdict for a person whose state was already read.
    pub(super) fn verdict_for(
        &self,
        snap: &Snapshot,
        nik: Nik,
        state: Option<&PersonState<'_>>,
        program: ProgramId,
        period: Period,
    ) -> Result<Verdict> {
        let registry = snap.registry();
        let Some(state) = state else {
            return Ok(Verdict::only(registry, ReasonCode::UnknownNik));
        };
        let mut reasons = ReasonSet::default();
        let p = registry.get(program).ok_or_else(|| Error::UnknownProgram {
            code: format!("#{}", program.index()),
        })?;
        if state.deceased() {
            reasons.insert(ReasonCode::Deceased);
        }
        if state.duplicate() {
            reasons.insert(ReasonCode::DuplicateIdentity);
        }
        if !state.enrolled().contains(program) {
            reasons.insert(ReasonCode::NotEnrolled);
        }
        if !state.eligible().contains(program) {
            reasons.insert(ReasonCode::NotEligible);
        }
        if state.civil_servant() {
            reasons.insert(ReasonCode::CivilServant);
        }
        let conflicts = self.conflicts(snap, state, program)?;
        if !conflicts.is_empty() {
            reasons.insert(ReasonCode::ExcludedBy);
        }
        let mut claimed = None;
        if period.kind() == p.period {
            if !p.window.is_open(period, self.today()) {
                reasons.insert(ReasonCode::PeriodNotOpen);
            }
            claimed = self.claimed_by(snap, nik.get(), state, program, period)?;
            if claimed.is_some() {
                reasons.insert(ReasonCode::AlreadyClaimed);
            }
        } else {
            reasons.insert(ReasonCode::WrongPeriodKind);
        }
        Ok(Verdict::new(registry, reasons, conflicts, claimed))
    }

    /// Enrolments that exclude `program` for this person (or their family).
    fn conflicts(
        &self,
        snap: &Snapshot,
        state: &PersonState<'_>,
        program: ProgramId,
    ) -> Result<Vec<Conflict>> {
        let registry = snap.registry();
        let Some(p) = registry.get(program) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for e in &p.excludes {
            let own = state.enrolled().contains(e.program);
            let hit = match e.level {
                ExclusionLevel::Person => own,
                // Family programs appear on every member, so the person's
                // own bits answer for them; a person program excluded at
                // family level needs the members.
                ExclusionLevel::Family => {
                    own || (registry
                        .get(e.program)
                        .is_some_and(|q| q.unit == Unit::Person)
                        && match state.kk() {
                            Some(kk) => self
                                .members(snap, kk)?
                                .iter()
                                .any(|(_, m)| ProgramSet(m.enrolled).contains(e.program)),
                            None => false,
                        })
                }
            };
            if hit {
                out.push(Conflict {
                    program: e.program,
                    level: e.level,
                });
            }
        }
        Ok(out)
    }

    /// The claim that blocks paying `nik` this program and period, if any.
    fn claimed_by(
        &self,
        snap: &Snapshot,
        nik: u64,
        state: &PersonState<'_>,
        program: ProgramId,
        period: Period,
    ) -> Result<Option<ClaimInfo>> {
        let registry = snap.registry();
        let p = registry.get(program).ok_or_else(|| Error::UnknownProgram {
            code: format!("#{}", program.index()),
        })?;
        let family = p.unit == Unit::Family;
        let key = period.to_key();
        // Fast path: an unchanged person answers from the bitmaps of the
        // generation `snap` is (a caller still on an older generation asks
        // the ledger).
        let current = self.current.load();
        if let PersonState::Snapshot(p) = state
            && std::ptr::eq(&*current.snapshot, snap)
        {
            let prog = current.number(program);
            let person_bit = current.claimed.test(prog, key, false, u64::from(p.slot()));
            let family_bit = family
                && current
                    .claimed
                    .test(prog, key, true, u64::from(p.family_index()));
            if !person_bit && !family_bit {
                return Ok(None);
            }
        }
        drop(current);
        let mut ledger = self.ledger.lock()?;
        let prog = ledger.number(&p.code)?;
        let mut keys = Vec::with_capacity(2);
        if family {
            if let Some(kk) = state.kk() {
                keys.push(ClaimKey::new(prog, key, SUBJECT_FAMILY, kk));
            }
            keys.push(ClaimKey::new(prog, key, SUBJECT_COVERED, nik));
        } else {
            keys.push(ClaimKey::new(prog, key, SUBJECT_PERSON, nik));
        }
        for k in keys {
            if let Some(c) = ledger.holder(k)? {
                return Ok(Some(claim_info(&c)));
            }
        }
        Ok(None)
    }
}

/// The earlier claim, as a verdict reports it.
pub(super) fn claim_info(c: &ClaimEntry) -> ClaimInfo {
    ClaimInfo {
        request_id: c.request_id.clone(),
        nik: c.nik.unwrap_or(0),
        kk: c.kk,
        at_ms: c.at_ms,
    }
}
