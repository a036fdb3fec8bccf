//! A person's current state — the snapshot's record, or the pending state
//! when the NIK has a change — and a family's current members.

use std::collections::BTreeMap;

use super::Store;
use crate::domain::kk::Kk;
use crate::domain::nik::{Nik, Sex};
use crate::domain::program::ProgramSet;
use crate::error::Result;
use crate::live::LivePerson;
use crate::snapshot::{Person, Snapshot};

/// A person's current state: from the snapshot, or from the live state when
/// the person has a pending change.
#[derive(Clone, Debug)]
pub enum PersonState<'a> {
    /// Unchanged since the snapshot.
    Snapshot(Person<'a>),
    /// Changed (or new) since the snapshot.
    Live(LivePerson),
}

impl PersonState<'_> {
    /// Enrolment bitset.
    pub fn enrolled(&self) -> ProgramSet {
        match self {
            PersonState::Snapshot(p) => p.enrolled(),
            PersonState::Live(l) => ProgramSet(l.enrolled),
        }
    }

    /// Eligibility bitset.
    pub fn eligible(&self) -> ProgramSet {
        match self {
            PersonState::Snapshot(p) => p.eligible(),
            PersonState::Live(l) => ProgramSet(l.eligible),
        }
    }

    /// Recorded as deceased.
    pub fn deceased(&self) -> bool {
        match self {
            PersonState::Snapshot(p) => p.deceased(),
            PersonState::Live(l) => l.deceased,
        }
    }

    /// Civil servant.
    pub fn civil_servant(&self) -> bool {
        match self {
            PersonState::Snapshot(p) => p.civil_servant(),
            PersonState::Live(l) => l.civil_servant,
        }
    }

    /// Duplicate identity.
    pub fn duplicate(&self) -> bool {
        match self {
            PersonState::Snapshot(p) => p.duplicate(),
            PersonState::Live(l) => l.duplicate,
        }
    }

    /// The family card number.
    pub fn kk(&self) -> Option<u64> {
        match self {
            PersonState::Snapshot(p) => p.family().map(|f| f.kk()),
            PersonState::Live(l) => Some(l.kk),
        }
    }

    /// The whole state as a [`LivePerson`] (for changes and output).
    pub fn to_live(&self) -> LivePerson {
        match self {
            PersonState::Snapshot(p) => LivePerson {
                kk: p.family().map_or(0, |f| f.kk()),
                relation: p.relation().code(),
                village: p.village_code().unwrap_or(0),
                female: p.sex() == Sex::Female,
                birth_days: p.birth_date().to_unix_days(),
                decile: p.decile(),
                deceased: p.deceased(),
                civil_servant: p.civil_servant(),
                duplicate: p.duplicate(),
                components: p.components().0,
                enrolled: p.enrolled().0,
                eligible: p.eligible().0,
                new: false,
            },
            PersonState::Live(l) => l.clone(),
        }
    }
}

impl Store {
    /// The current state of a person: the snapshot's record, or the live
    /// state when the NIK has a pending change. A keyed store keys `nik`
    /// first ([`Store::key_nik`]); a number that is not a NIK is unknown.
    pub fn person<'s>(&self, snap: &'s Snapshot, nik: u64) -> Result<Option<PersonState<'s>>> {
        let nik = match Nik::from_u64(nik) {
            Ok(nik) => self.key_nik(nik).get(),
            Err(_) => return Ok(None),
        };
        self.person_keyed(snap, nik)
    }

    /// [`Store::person`] of an identity already keyed.
    pub(crate) fn person_keyed<'s>(
        &self,
        snap: &'s Snapshot,
        nik: u64,
    ) -> Result<Option<PersonState<'s>>> {
        if self.changed.may_contain(nik) {
            if let Some(p) = self.pending.load().as_ref()
                && let Some(l) = p.persons.get(&nik)
            {
                return Ok(Some(PersonState::Live(l.clone())));
            }
            if let Some(l) = self.live.person(nik)? {
                return Ok(Some(PersonState::Live(l)));
            }
        }
        Ok(snap
            .find(nik)
            .and_then(|s| snap.person_at(s))
            .map(PersonState::Snapshot))
    }

    /// The current members of a family: its snapshot members that have not
    /// moved out, and those who moved in or were born since.
    pub fn members(&self, snap: &Snapshot, kk: u64) -> Result<Vec<(u64, LivePerson)>> {
        let mut out: BTreeMap<u64, LivePerson> = BTreeMap::new();
        if let Some(f) = Kk::from_u64(kk).ok().and_then(|k| snap.family(k)) {
            for m in f.members() {
                let nik = m.nik().get();
                // A duplicate identity's records are frozen as the snapshot
                // has them: the live state is keyed by NIK and could not
                // tell them apart.
                if m.duplicate() {
                    out.insert(nik, PersonState::Snapshot(m).to_live());
                    continue;
                }
                // Unchanged members are read in place: no second lookup.
                let state = if self.changed.may_contain(nik) {
                    self.person_keyed(snap, nik)?
                } else {
                    Some(PersonState::Snapshot(m))
                };
                if let Some(state) = state {
                    let l = state.to_live();
                    if l.kk == kk {
                        out.insert(nik, l);
                    }
                }
            }
        }
        if !self.moved.may_contain(kk) {
            return Ok(out.into_iter().collect());
        }
        let mut moved_in = Vec::new();
        for item in self.live.markers_of(kk) {
            let (_, nik, inward) = item?;
            if inward {
                moved_in.push(nik);
            }
        }
        if let Some(p) = self.pending.load().as_ref() {
            moved_in.extend(p.moved_in.get(&kk).into_iter().flatten());
        }
        for nik in moved_in {
            if let Some(state) = self.person_keyed(snap, nik)? {
                let l = state.to_live();
                if l.kk == kk {
                    out.insert(nik, l);
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Every person with a pending change and their current state, by NIK.
    pub fn changed_persons(&self) -> Result<Vec<(u64, LivePerson)>> {
        let pending = self.pending.load_full();
        let Some(p) = pending.as_ref() else {
            return self.live.persons().collect();
        };
        // A large change file on its way into sled: its persons as the
        // file leaves them, whatever part of it sled holds yet.
        let mut all: BTreeMap<u64, LivePerson> = self.live.persons().collect::<Result<_>>()?;
        all.extend(p.persons.iter().map(|(n, l)| (*n, l.clone())));
        Ok(all.into_iter().collect())
    }

    /// Rebuilds the change filter from the live state.
    pub(crate) fn rebuild_change_filter(&self) -> Result<()> {
        self.changed.reset(self.live.changed_niks()?);
        let mut families = Vec::new();
        for item in self.live.markers() {
            families.push(item?.0);
        }
        families.dedup();
        self.moved.reset(families);
        Ok(())
    }
}
