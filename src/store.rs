//! The store: the current snapshot generation plus the live state, and the
//! operations of a payout point — check, claim, reverse — and of the
//! register's keeper — apply changes.
//!
//! ```text
//! DIR/CURRENT, DIR/snapshot-NNNNNN.tepat   the snapshot generations
//! DIR/claims.log                           payouts: claims, reversals, requests
//! DIR/live/                                pending register changes (sled)
//! ```
//!
//! Reads of a NIK with no pending change touch only the snapshot and the
//! in-memory accelerators. A claim checks and records in one step under the
//! ledger's lock (so two claims never both pay one key), is idempotent by
//! request id, audited, and durable before `claim` returns (one shared
//! `fdatasync` of the claims log: group commit).
//!
//! **Family claims and moves.** A family-program claim is recorded for the
//! family card (KK): no other member can be paid the same program for the
//! same period. It also marks every member at the time of payment as
//! *covered*; a covered person cannot be the payee of another family's claim
//! for that program and period — moving to another family card does not
//! open a second payment for them. (The new family itself may still be paid,
//! through another member: it is a different family.)

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwap;

use crate::accel::{ChangeFilter, ClaimedIndex};
use crate::change::{Change, ChangeParser};
use crate::date::Date;
use crate::error::{Error, Result};
use crate::ledger::{
    ClaimEntry, ClaimKey, Entry, KeyEvent, Ledger, ReverseEntry, SUBJECT_COVERED, SUBJECT_FAMILY,
    SUBJECT_PERSON,
};
use crate::live::{self, AuditEntry, ClaimRecord, Live, LivePerson, RequestRecord};
use crate::nik::Nik;
use crate::period::Period;
use crate::program::{
    ComponentSet, ExclusionLevel, PersonFacts, ProgramId, ProgramSet, Registry, Unit,
};
use crate::register::Relation;
use crate::snapshot::{Person, Snapshot, store_dir};
use crate::verdict::{ClaimInfo, Conflict, ReasonCode, ReasonSet, Verdict};

/// Who a stored claim key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimSubject {
    /// A family card (family programs).
    Family(u64),
    /// A NIK paid a person program.
    Person(u64),
    /// A NIK covered by its family's claim.
    Covered(u64),
}

/// A claim as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredClaim {
    /// Program bit.
    pub program: u8,
    /// Period key ([`Period::to_key`]).
    pub period: u32,
    /// Family or person.
    pub subject: ClaimSubject,
    /// The record.
    pub record: ClaimRecord,
}

/// A claim as a payout point sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRequest {
    /// The caller's id for this request; a retry reuses it.
    pub request_id: String,
    /// The NIK to pay, as given.
    pub nik: String,
    /// The program's code.
    pub program: String,
    /// The period (`2026-Q4`, ...).
    pub period: String,
    /// Free text recorded with the claim (payout point, amount, ...).
    pub meta: String,
}

/// What a claim did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimOutcome {
    /// The request id.
    pub request_id: String,
    /// Whether the payout was recorded.
    pub paid: bool,
    /// The verdict it was decided on.
    pub verdict: Verdict,
    /// True when this is a retry answered from the first outcome.
    pub replayed: bool,
}

/// What a reversal did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReverseOutcome {
    /// The reversal's request id.
    pub request_id: String,
    /// The reversed claim's request id.
    pub reversed: String,
    /// True when this is a retry answered from the first outcome.
    pub replayed: bool,
}

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
                female: p.sex() == crate::nik::Sex::Female,
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

/// How a store is opened.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Concurrent writers share flushes (default `true`). With `false` every
    /// claim runs its own flush: slower, and only useful as a baseline.
    pub group_commit: bool,
    /// Read every snapshot generation into memory backed by huge pages
    /// ([`Snapshot::open_resident`]) instead of mapping it: opening costs a
    /// full read of the file, lookups are faster. Default `false`.
    pub resident: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            group_commit: true,
            resident: false,
        }
    }
}

/// One snapshot generation with the accelerators that index into it: the
/// claimed bitmaps are by snapshot slot and family index, so they belong to
/// exactly one generation and are swapped with it.
pub(crate) struct Generation {
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) claimed: ClaimedIndex,
}

impl Generation {
    pub(crate) fn new(snapshot: Arc<Snapshot>) -> Generation {
        let claimed = ClaimedIndex::new(snapshot.slot_count(), snapshot.family_count());
        Generation { snapshot, claimed }
    }
}

/// A store: snapshot + live state.
pub struct Store {
    dir: PathBuf,
    options: Options,
    pub(crate) current: ArcSwap<Generation>,
    pub(crate) live: Live,
    pub(crate) ledger: Ledger,
    pub(crate) changed: ChangeFilter,
    /// Family cards with a membership marker (someone moved in, out or was
    /// born since the snapshot): only these need a live-state scan to list
    /// their members.
    moved: ChangeFilter,
    /// Claims share it; applying a change file takes it alone, so that a
    /// claim never decides on half of a file.
    pub(crate) writers: RwLock<()>,
    /// One generation change (compaction or refresh) at a time.
    pub(crate) generations: std::sync::Mutex<()>,
}

/// A snapshot generation that is no longer current.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stale;

/// The claims log's file name in a store directory.
pub const CLAIMS_LOG: &str = "claims.log";

/// Sets or clears the accelerator bit of one claim key. A key the snapshot
/// cannot place (a NIK or family card new since the snapshot) has no bit:
/// reads of such persons go to the live state and the ledger anyway.
pub(crate) fn mark_key(claimed: &ClaimedIndex, snap: &Snapshot, event: KeyEvent) {
    let key = match event {
        KeyEvent::Held(k) | KeyEvent::Freed(k) => k,
    };
    mark_bits(
        &claimed.get_or_create(key.program(), key.period()),
        snap,
        event,
    );
}

/// [`mark_key`] with the bitmaps of the key's (program, period) in hand.
fn mark_bits(bits: &crate::accel::Claimed, snap: &Snapshot, event: KeyEvent) {
    let (key, set) = match event {
        KeyEvent::Held(k) => (k, true),
        KeyEvent::Freed(k) => (k, false),
    };
    let (bits, index) = if key.kind() == SUBJECT_FAMILY {
        let Some(f) = crate::kk::Kk::from_u64(key.subject())
            .ok()
            .and_then(|kk| snap.family(kk))
        else {
            return;
        };
        (&bits.families, u64::from(f.index()))
    } else {
        let Some(slot) = snap.find(key.subject()) else {
            return;
        };
        (&bits.persons, u64::from(slot))
    };
    if set {
        bits.set(index)
    } else {
        bits.clear(index)
    }
}

/// Maps a snapshot file, or reads it into memory when the store is
/// resident.
fn open_snapshot(path: &Path, options: Options) -> Result<Snapshot> {
    if options.resident {
        Snapshot::open_resident(path)
    } else {
        Snapshot::open(path)
    }
}

fn valid_request_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 128 || id.chars().any(char::is_control) {
        return Err(Error::Request {
            request_id: id.to_owned(),
            message: "a request id is 1-128 characters without control characters".into(),
        });
    }
    Ok(())
}

impl Store {
    /// Opens the store in `dir`: maps the current snapshot, opens the live
    /// state, and rebuilds the accelerators from it.
    pub fn open(dir: &Path) -> Result<Store> {
        Store::open_with(dir, Options::default())
    }

    /// [`Store::open`] with options.
    pub fn open_with(dir: &Path, options: Options) -> Result<Store> {
        // A store that has had a live state must still have all of it:
        // opening without its claims log would forget every payout.
        let marked = store_dir::has_live_state(dir)?;
        for part in ["live", CLAIMS_LOG] {
            if marked && !dir.join(part).exists() {
                return Err(Error::Live {
                    message: format!(
                        "{}: {part} is missing, but this store has recorded payouts and changes \
                         (CURRENT says live-state); restore it from a backup: tepat will not open \
                         a store that has forgotten its payouts",
                        dir.display()
                    ),
                });
            }
        }
        // sled first: it holds the directory lock, so a second process
        // stops here before it touches anything else.
        let live = Live::open(&dir.join("live"), options.group_commit)?;
        live.refuse_old_layout()?;
        let generation = Generation::new(Arc::new(open_snapshot(
            &store_dir::current_snapshot(dir)?,
            options,
        )?));
        let ledger = Ledger::open(&dir.join(CLAIMS_LOG), options.group_commit, |event| {
            mark_key(&generation.claimed, &generation.snapshot, event)
        })?;
        let store = Store {
            dir: dir.to_path_buf(),
            options,
            current: ArcSwap::from_pointee(generation),
            live,
            ledger,
            changed: ChangeFilter::new(),
            moved: ChangeFilter::new(),
            writers: RwLock::new(()),
            generations: std::sync::Mutex::new(()),
        };
        if !marked {
            store_dir::mark_live_state(dir)?;
        }
        store.finish_generation_change(false)?;
        Ok(store)
    }

    /// Rebuilds the change filter from the live state.
    pub(crate) fn rebuild_change_filter(&self) -> Result<()> {
        let mut niks = Vec::new();
        for item in self.live.scan_raw(&[live::PERSON]) {
            let (key, _) = item?;
            if let Some(nik) = live::key_u64(&key, 1) {
                niks.push(nik);
            }
        }
        self.changed.reset(niks);
        let mut families = Vec::new();
        for item in self.live.scan_raw(&[live::MEMBER]) {
            let (key, _) = item?;
            if let Some(kk) = live::key_u64(&key, 1) {
                families.push(kk);
            }
        }
        families.dedup();
        self.moved.reset(families);
        Ok(())
    }

    /// The claimed bitmaps of (program, period) that index into `snap`:
    /// `Err(Stale)` when `snap` is no longer the current generation (its
    /// bitmaps no longer follow new claims: ask the ledger), `Ok(None)` when
    /// nothing is claimed for the pair.
    pub(crate) fn claimed_bits(
        &self,
        snap: &Snapshot,
        program: u8,
        period: u32,
    ) -> std::result::Result<Option<Arc<crate::accel::Claimed>>, Stale> {
        let current = self.current.load();
        if std::ptr::eq(&*current.snapshot, snap) {
            Ok(current.claimed.get(program, period))
        } else {
            Err(Stale)
        }
    }

    /// Every person with a pending change and their current state, by NIK.
    pub fn changed_persons(&self) -> Result<Vec<(u64, LivePerson)>> {
        let mut out = Vec::new();
        for item in self.live.scan::<LivePerson>(&[live::PERSON]) {
            let (key, state) = item?;
            if let Some(nik) = live::key_u64(&key, 1) {
                out.push((nik, state));
            }
        }
        Ok(out)
    }

    /// Opens a snapshot generation the way this store opens them.
    pub(crate) fn open_generation(&self, path: &Path) -> Result<Snapshot> {
        open_snapshot(path, self.options)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load().snapshot.clone()
    }

    /// The registry of the current snapshot.
    pub fn registry(&self) -> Registry {
        self.current.load().snapshot.registry().clone()
    }

    /// Bytes of an unfinished claims-log record that opening this store cut
    /// off: a write the process did not finish before it died, so never
    /// acknowledged. Zero after a clean shutdown.
    pub fn torn_claim_bytes(&self) -> u64 {
        self.ledger.torn_bytes()
    }

    /// How many flushes (claims-log syncs and live-state flushes) have run.
    pub fn flushes(&self) -> u64 {
        self.ledger.syncs() + self.live.flushes()
    }

    /// The current state of a person: the snapshot's record, or the live
    /// state when the NIK has a pending change.
    pub fn person<'s>(&self, snap: &'s Snapshot, nik: u64) -> Result<Option<PersonState<'s>>> {
        if self.changed.may_contain(nik)
            && let Some(l) = self.live.get::<LivePerson>(&live::person_key(nik))?
        {
            return Ok(Some(PersonState::Live(l)));
        }
        Ok(snap
            .find(nik)
            .and_then(|s| snap.person_at(s))
            .map(PersonState::Snapshot))
    }

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
        let state = self.person(snap, nik.get())?;
        self.verdict_for(snap, nik, state.as_ref(), program, period)
    }

    /// The verdict for a person whose state was already read.
    fn verdict_for(
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
        let family = registry
            .get(program)
            .is_some_and(|p| p.unit == Unit::Family);
        let (prog, key) = (program.index() as u8, period.to_key());
        // Fast path: an unchanged person answers from the bitmaps of the
        // generation `snap` is (a caller still on an older generation asks
        // the ledger).
        let current = self.current.load();
        if let PersonState::Snapshot(p) = state
            && std::ptr::eq(&*current.snapshot, snap)
        {
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
        let mut keys = Vec::with_capacity(2);
        if family {
            if let Some(kk) = state.kk() {
                keys.push(ClaimKey::new(prog, key, SUBJECT_FAMILY, kk));
            }
            keys.push(ClaimKey::new(prog, key, SUBJECT_COVERED, nik));
        } else {
            keys.push(ClaimKey::new(prog, key, SUBJECT_PERSON, nik));
        }
        let ledger = self.ledger.lock()?;
        for k in keys {
            if let Some(c) = ledger.holder(k)? {
                return Ok(Some(claim_info(&c)));
            }
        }
        Ok(None)
    }

    /// The current members of a family: its snapshot members that have not
    /// moved out, and those who moved in or were born since.
    pub fn members(&self, snap: &Snapshot, kk: u64) -> Result<Vec<(u64, LivePerson)>> {
        let mut out: BTreeMap<u64, LivePerson> = BTreeMap::new();
        if let Some(f) = crate::kk::Kk::from_u64(kk)
            .ok()
            .and_then(|k| snap.family(k))
        {
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
                    self.person(snap, nik)?
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
        let prefix = {
            let mut p = vec![live::MEMBER];
            p.extend_from_slice(&kk.to_be_bytes());
            p
        };
        for item in self.live.scan_raw(&prefix) {
            let (key, value) = item?;
            let Some(nik) = live::key_u64(&key, 9) else {
                continue;
            };
            if value.as_ref() == [1]
                && let Some(state) = self.person(snap, nik)?
            {
                let l = state.to_live();
                if l.kk == kk {
                    out.insert(nik, l);
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Checks and records a payout in one step. Idempotent by request id
    /// (also after a restart); durable before it returns.
    pub fn claim(&self, req: &ClaimRequest) -> Result<ClaimOutcome> {
        valid_request_id(&req.request_id)?;
        let asked = format!(
            "claim nik={} program={} period={} meta={:?}",
            req.nik, req.program, req.period, req.meta
        );
        if let Some(first) = self.first_of(&req.request_id)? {
            return replay(&req.request_id, &asked, first);
        }
        let _shared = self.writers.read().unwrap_or_else(|p| p.into_inner());
        let snap = self.snapshot();
        let registry = snap.registry();
        let program = registry.require(&req.program)?;
        let period = Period::parse(&req.period)?;
        let unit = registry.program(program).unit;
        let parsed = Nik::parse(&req.nik);
        let (verdict, state) = match parsed {
            Ok(nik) => {
                let state = self.person(&snap, nik.get())?;
                let verdict = self.verdict_for(&snap, nik, state.as_ref(), program, period)?;
                (verdict, state)
            }
            Err(_) => (Verdict::only(registry, ReasonCode::InvalidNik), None),
        };
        let nik = parsed.map(Nik::get).ok();
        // What a payment would hold: the claim, and for a family program
        // the family key and every current member's coverage.
        let (prog, pkey) = (program.index() as u8, period.to_key());
        let mut keys: Vec<ClaimKey> = Vec::new();
        let mut kk = None;
        if let (Some(nik), Some(state)) = (nik, &state) {
            if unit == Unit::Family {
                kk = state.kk();
                if let Some(kk) = kk {
                    keys.push(ClaimKey::new(prog, pkey, SUBJECT_FAMILY, kk));
                    for (member, _) in self.members(&snap, kk)? {
                        keys.push(ClaimKey::new(prog, pkey, SUBJECT_COVERED, member));
                    }
                }
                keys.push(ClaimKey::new(prog, pkey, SUBJECT_COVERED, nik));
                keys.sort_unstable();
                keys.dedup();
            } else {
                keys.push(ClaimKey::new(prog, pkey, SUBJECT_PERSON, nik));
            }
        }
        // Only the payee's own keys block: a covered member of the family is
        // blocked through the family key.
        let blocking: Vec<ClaimKey> = keys
            .iter()
            .copied()
            .filter(|k| k.kind() != SUBJECT_COVERED || Some(k.subject()) == nik)
            .collect();
        let outcome = {
            let mut ledger = self.ledger.lock()?;
            if let Some((_, first)) = ledger.request(&req.request_id)? {
                drop(ledger);
                return replay(&req.request_id, &asked, first);
            }
            // The decisive check, under the ledger's lock: has anyone been
            // paid for these keys meanwhile?
            let mut verdict = verdict;
            for k in &blocking {
                if let Some(c) = ledger.holder(*k)? {
                    let mut reasons = verdict.reasons;
                    reasons.insert(ReasonCode::AlreadyClaimed);
                    let claimed = verdict.claimed.take().or(Some(claim_info(&c)));
                    verdict = Verdict::new(registry, reasons, verdict.conflicts, claimed);
                }
            }
            let paid = verdict.payable && !keys.is_empty();
            let entry = ClaimEntry {
                seq: self.live.next_seq()?,
                at_ms: live::now_ms(),
                request_id: req.request_id.clone(),
                asked,
                nik,
                kk,
                meta: req.meta.clone(),
                paid,
                verdict: verdict.clone(),
                keys: if paid { keys } else { Vec::new() },
            };
            // The bits go to the generation current under the ledger's
            // lock: a generation change swaps under the same lock.
            let current = self.current.load();
            // Every key of one claim has its (program, period): look the
            // bitmaps up once.
            let bits = paid.then(|| current.claimed.get_or_create(prog, pkey));
            ledger.append(&Entry::Claim(entry), |event| {
                if let Some(bits) = &bits {
                    mark_bits(bits, &current.snapshot, event)
                }
            })?;
            ClaimOutcome {
                request_id: req.request_id.clone(),
                paid,
                verdict,
                replayed: false,
            }
        };
        self.ledger.durable()?;
        Ok(outcome)
    }

    /// The first record of a request, if it was seen.
    fn first_of(&self, request_id: &str) -> Result<Option<Entry>> {
        Ok(self.ledger.lock()?.request(request_id)?.map(|(_, e)| e))
    }

    /// Reverses a paid claim (a failed disbursement), by a new request that
    /// names the claim's request id. The claim stays on record, marked
    /// reversed; the reversal is audited. Idempotent by request id.
    pub fn reverse(
        &self,
        request_id: &str,
        original: &str,
        reason: &str,
    ) -> Result<ReverseOutcome> {
        valid_request_id(request_id)?;
        let asked = format!("reverse original={original} reason={reason:?}");
        let replayed = |first: Entry| -> Result<ReverseOutcome> {
            if first.asked() != asked {
                return Err(Error::RequestConflict {
                    request_id: request_id.to_owned(),
                    first: first.asked().to_owned(),
                    now: asked.clone(),
                });
            }
            Ok(ReverseOutcome {
                request_id: request_id.to_owned(),
                reversed: original.to_owned(),
                replayed: true,
            })
        };
        let fail = |message: String| Error::Request {
            request_id: request_id.to_owned(),
            message,
        };
        let _shared = self.writers.read().unwrap_or_else(|p| p.into_inner());
        {
            let mut ledger = self.ledger.lock()?;
            if let Some((_, first)) = ledger.request(request_id)? {
                drop(ledger);
                return replayed(first);
            }
            let Some((claim_offset, orig)) = ledger.request(original)? else {
                return Err(fail(format!("no request {original:?} to reverse")));
            };
            let keys = match orig {
                Entry::Claim(c) if c.paid && !c.keys.is_empty() => c.keys,
                _ => {
                    return Err(fail(format!(
                        "request {original:?} did not pay, so there is nothing to reverse"
                    )));
                }
            };
            if ledger.reversed_by(claim_offset).is_some() {
                return Err(fail(format!(
                    "the claim of {original:?} is already reversed"
                )));
            }
            let entry = ReverseEntry {
                seq: self.live.next_seq()?,
                at_ms: live::now_ms(),
                request_id: request_id.to_owned(),
                asked: asked.clone(),
                original: original.to_owned(),
                claim_offset,
                keys,
            };
            let current = self.current.load();
            ledger.append(&Entry::Reverse(entry), |event| {
                mark_key(&current.claimed, &current.snapshot, event)
            })?;
        }
        self.ledger.durable()?;
        Ok(ReverseOutcome {
            request_id: request_id.to_owned(),
            reversed: original.to_owned(),
            replayed: false,
        })
    }

    /// Every audit entry, oldest first, optionally only those of one NIK or
    /// one request: the payouts from the ledger and the applied changes from
    /// the live state, merged in the order they were recorded.
    pub fn audit(&self, nik: Option<u64>, request: Option<&str>) -> Result<Vec<AuditEntry>> {
        let mut out: Vec<(u64, AuditEntry)> = Vec::new();
        let wanted = |e: &AuditEntry| {
            nik.is_none_or(|n| e.nik == Some(n))
                && request.is_none_or(|r| e.request_id.as_deref() == Some(r))
        };
        for item in self.live.scan_raw(&[live::AUDIT]) {
            let (key, value) = item?;
            let e: AuditEntry = live::decode(&value)?;
            let seq = live::key_u64(&key, 1).unwrap_or(0);
            if wanted(&e) {
                out.push((seq, e));
            }
        }
        let entries = match request {
            Some(r) => self.first_of(r)?.into_iter().collect(),
            None => self.ledger.lock()?.entries()?,
        };
        for entry in entries {
            let e = audit_entry(&entry);
            if wanted(&e) {
                out.push((entry.seq(), e));
            }
        }
        out.sort_by_key(|(seq, _)| *seq);
        Ok(out.into_iter().map(|(_, e)| e).collect())
    }

    /// Every recorded claim that is not reversed, in key order.
    pub fn claims(&self) -> Result<Vec<StoredClaim>> {
        let held = self.ledger.lock()?.held()?;
        Ok(held
            .into_iter()
            .map(|(k, c)| StoredClaim {
                program: k.program(),
                period: k.period(),
                subject: match k.kind() {
                    SUBJECT_FAMILY => ClaimSubject::Family(k.subject()),
                    SUBJECT_PERSON => ClaimSubject::Person(k.subject()),
                    _ => ClaimSubject::Covered(k.subject()),
                },
                record: ClaimRecord {
                    request_id: c.request_id,
                    nik: c.nik.unwrap_or(0),
                    kk: c.kk,
                    at_ms: c.at_ms,
                    meta: c.meta,
                    reversed_by: None,
                },
            })
            .collect())
    }

    /// Applies a change file (CSV, `tepat::change::HEADER`) whole or not at
    /// all: every row is checked first, against the snapshot, the live state
    /// and the rows before it; one bad row and nothing is applied, and the
    /// error lists every bad row with its line and column.
    pub fn apply_csv(&self, reader: impl std::io::BufRead, file: &str) -> Result<u64> {
        let snap = self.snapshot();
        let registry = snap.registry().clone();
        let parser = ChangeParser::new(&registry);
        let mut lines = reader.lines();
        let header = lines
            .next()
            .ok_or_else(|| Error::Input {
                file: file.to_owned(),
                message: "empty file: no header".into(),
            })?
            .map_err(|e| Error::io(file, e))?;
        ChangeParser::check_header(&header).map_err(|message| Error::Input {
            file: file.to_owned(),
            message: format!("line 1: {message}"),
        })?;
        let mut changes = Vec::new();
        let mut errors = Vec::new();
        for (i, line) in lines.enumerate() {
            let line_no = i as u64 + 2;
            let line = line.map_err(|e| Error::Input {
                file: file.to_owned(),
                message: format!("line {line_no}: {e}; nothing applied"),
            })?;
            if line.is_empty() {
                continue;
            }
            match parser.parse(&line) {
                Ok(c) => changes.push((line_no, c)),
                Err(e) => errors.push(format!("line {line_no}: {e}")),
            }
        }
        if errors.is_empty() {
            return self.apply(file, &changes);
        }
        Err(rows_error(file, errors))
    }

    /// Applies changes (with the line numbers they came from) whole or not
    /// at all. Returns how many were applied.
    pub fn apply(&self, file: &str, changes: &[(u64, Change)]) -> Result<u64> {
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
        let mut batch = sled::Batch::default();
        for (nik, state) in &overlay.persons {
            self.changed.insert(*nik);
            batch.insert(&live::person_key(*nik)[..], live::encode(state)?);
        }
        for ((kk, nik), marker) in &overlay.markers {
            self.moved.insert(*kk);
            batch.insert(&live::member_key(*kk, *nik)[..], vec![u8::from(*marker)]);
        }
        let at_ms = live::now_ms();
        for (line, change) in changes {
            let entry = AuditEntry {
                at_ms,
                request_id: None,
                op: format!("apply {}", change.kind()),
                nik: change_nik(change),
                inputs: format!("{file}:{line}: {change:?}"),
                outcome: "applied".into(),
            };
            batch.insert(
                &live::audit_key(self.live.next_seq()?)[..],
                live::encode(&entry)?,
            );
        }
        self.live.apply_durably(batch)?;
        Ok(changes.len() as u64)
    }
}

fn change_nik(c: &Change) -> Option<u64> {
    match c {
        Change::Death { nik, .. }
        | Change::Move { nik, .. }
        | Change::Enrol { nik, .. }
        | Change::Remove { nik, .. } => Some(nik.get()),
        Change::Birth { person, .. } => Some(person.nik.get()),
        Change::Decile { .. } => None,
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

/// Answers a retried request from its first outcome, or refuses a reused id
/// with different content.
fn replay(request_id: &str, asked: &str, first: Entry) -> Result<ClaimOutcome> {
    match first {
        Entry::Claim(c) if c.asked == asked => Ok(ClaimOutcome {
            request_id: request_id.to_owned(),
            paid: c.paid,
            verdict: c.verdict,
            replayed: true,
        }),
        other => Err(Error::RequestConflict {
            request_id: request_id.to_owned(),
            first: other.asked().to_owned(),
            now: asked.to_owned(),
        }),
    }
}

/// The earlier claim, as a verdict reports it.
fn claim_info(c: &ClaimEntry) -> ClaimInfo {
    ClaimInfo {
        request_id: c.request_id.clone(),
        nik: c.nik.unwrap_or(0),
        kk: c.kk,
        at_ms: c.at_ms,
    }
}

/// A ledger record as an audit entry.
fn audit_entry(entry: &Entry) -> AuditEntry {
    match entry {
        Entry::Claim(c) => AuditEntry {
            at_ms: c.at_ms,
            request_id: Some(c.request_id.clone()),
            op: "claim".into(),
            nik: c.nik,
            inputs: c.asked.clone(),
            outcome: if c.paid {
                "paid".into()
            } else {
                format!("refused: {}", c.verdict.reasons.join())
            },
        },
        Entry::Reverse(r) => AuditEntry {
            at_ms: r.at_ms,
            request_id: Some(r.request_id.clone()),
            op: "reverse".into(),
            nik: None,
            inputs: r.asked.clone(),
            outcome: format!("reversed {}", r.original),
        },
    }
}

impl Store {
    /// The first outcome of a request, if it was seen.
    pub fn request(&self, request_id: &str) -> Result<Option<RequestRecord>> {
        let ledger = self.ledger.lock()?;
        let Some((offset, entry)) = ledger.request(request_id)? else {
            return Ok(None);
        };
        Ok(Some(match entry {
            Entry::Claim(c) => RequestRecord {
                asked: c.asked,
                done: c.paid,
                reasons: c.verdict.reasons,
                keys: c.keys.iter().map(|k| k.to_bytes()).collect(),
                verdict: Some(c.verdict),
                at_ms: c.at_ms,
            },
            Entry::Reverse(r) => {
                let _ = offset;
                RequestRecord {
                    asked: r.asked,
                    done: true,
                    reasons: ReasonSet::default(),
                    verdict: None,
                    at_ms: r.at_ms,
                    keys: Vec::new(),
                }
            }
        }))
    }
}

/// Changes being validated: the new states of every person they touch, on
/// top of the snapshot and the live state.
struct Overlay<'s> {
    store: &'s Store,
    snap: &'s Snapshot,
    persons: HashMap<u64, LivePerson>,
    markers: HashMap<(u64, u64), bool>,
}

impl<'s> Overlay<'s> {
    fn new(store: &'s Store, snap: &'s Snapshot) -> Overlay<'s> {
        Overlay {
            store,
            snap,
            persons: HashMap::new(),
            markers: HashMap::new(),
        }
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
        for (nik, p) in self
            .store
            .members(self.snap, kk)
            .map_err(|e| e.to_string())?
        {
            out.insert(nik, self.persons.get(&nik).cloned().unwrap_or(p));
        }
        for (nik, p) in &self.persons {
            if p.kk == kk {
                out.insert(*nik, p.clone());
            } else {
                out.remove(nik);
            }
        }
        Ok(out.into_iter().collect())
    }

    fn village_known(&self, village: u64) -> bool {
        self.snap.village_index(village).is_some()
    }

    fn apply(&mut self, change: &Change) -> std::result::Result<(), String> {
        let registry = self.snap.registry().clone();
        match change {
            Change::Death { nik, .. } => {
                let mut p = self.existing(nik.get())?;
                if p.deceased {
                    return Err(format!("NIK {nik} is already recorded as deceased"));
                }
                p.deceased = true;
                let kk = p.kk;
                self.persons.insert(nik.get(), p);
                self.recompute(kk, &registry)
            }
            Change::Birth { person, .. } => {
                let nik = person.nik.get();
                if self.state(nik)?.is_some() {
                    return Err(format!("NIK {} is already in the register", person.nik));
                }
                if !self.village_known(person.village) {
                    return Err(format!(
                        "village {:010} is not on the snapshot's village list",
                        person.village
                    ));
                }
                let family_programs = self
                    .members(person.kk.get())?
                    .first()
                    .map_or(0, |(_, m)| m.enrolled & registry.family_programs().0);
                self.persons.insert(
                    nik,
                    LivePerson {
                        kk: person.kk.get(),
                        relation: person.relation.code(),
                        village: person.village,
                        female: person.sex == crate::nik::Sex::Female,
                        birth_days: person.birth_date.to_unix_days(),
                        decile: person.decile,
                        deceased: person.deceased,
                        civil_servant: person.civil_servant,
                        duplicate: false,
                        components: person.components.0,
                        // Family programs are the family's, whatever the row
                        // says: a newborn joins its family's enrolment.
                        enrolled: (person.programs.0 & !registry.family_programs().0)
                            | family_programs,
                        eligible: 0,
                        new: true,
                    },
                );
                self.markers.insert((person.kk.get(), nik), true);
                self.recompute(person.kk.get(), &registry)
            }
            Change::Move {
                nik,
                kk,
                relation,
                village,
                decile,
                ..
            } => {
                let mut p = self.existing(nik.get())?;
                let old = p.kk;
                if old == kk.get() {
                    return Err(format!("NIK {nik} is already on family card {kk}"));
                }
                if !self.village_known(*village) {
                    return Err(format!(
                        "village {village:010} is not on the snapshot's village list"
                    ));
                }
                let family_mask = registry.family_programs().0;
                let target_programs = self
                    .members(kk.get())?
                    .first()
                    .map_or(0, |(_, m)| m.enrolled & family_mask);
                p.kk = kk.get();
                p.relation = relation.code();
                p.village = *village;
                p.decile = *decile;
                p.enrolled = (p.enrolled & !family_mask) | target_programs;
                self.persons.insert(nik.get(), p);
                self.markers.insert((old, nik.get()), false);
                self.markers.insert((kk.get(), nik.get()), true);
                self.recompute(old, &registry)?;
                self.recompute(kk.get(), &registry)
            }
            Change::Enrol { nik, program, .. } | Change::Remove { nik, program, .. } => {
                let enrol = matches!(change, Change::Enrol { .. });
                let p = self.existing(nik.get())?;
                let unit = registry
                    .get(*program)
                    .map(|q| q.unit)
                    .ok_or("unknown program")?;
                let targets: Vec<(u64, LivePerson)> = match unit {
                    Unit::Person => vec![(nik.get(), p.clone())],
                    Unit::Family => self.members(p.kk)?,
                };
                for (n, mut m) in targets.into_iter().filter(|(_, m)| !m.duplicate) {
                    let set = ProgramSet(m.enrolled);
                    m.enrolled = if enrol {
                        set.with(*program).0
                    } else {
                        set.without(*program).0
                    };
                    self.persons.insert(n, m);
                }
                Ok(())
            }
            Change::Decile { kk, decile, .. } => {
                let members = self.members(kk.get())?;
                if members.is_empty() {
                    return Err(format!("family card {kk} has no members"));
                }
                for (n, mut m) in members.into_iter().filter(|(_, m)| !m.duplicate) {
                    m.decile = *decile;
                    self.persons.insert(n, m);
                }
                self.recompute(kk.get(), &registry)
            }
        }
    }

    /// Recomputes the eligibility of every member of a family, as the
    /// builder does, on the snapshot's as-of date.
    fn recompute(&mut self, kk: u64, registry: &Registry) -> std::result::Result<(), String> {
        let members = self.members(kk)?;
        if members.is_empty() {
            return Ok(());
        }
        let as_of = self.snap.as_of();
        let facts: Vec<PersonFacts> = members
            .iter()
            .map(|(_, m)| PersonFacts {
                decile: m.decile,
                age: Date::from_unix_days(m.birth_days).map_or(0, |b| b.age_on(as_of)),
                recorded: ComponentSet(m.components),
                civil_servant: m.civil_servant,
            })
            .collect();
        let head = members
            .iter()
            .find(|(_, m)| Relation::from_code(m.relation) == Relation::Head)
            .unwrap_or(&members[0]);
        let family = registry.family_eligibility(head.1.decile, &facts);
        for ((nik, mut m), f) in members.into_iter().zip(&facts) {
            if m.duplicate {
                continue;
            }
            m.eligible = registry.person_eligibility(f).0 | family.0;
            self.persons.insert(nik, m);
        }
        Ok(())
    }
}
