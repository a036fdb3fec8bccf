//! Claims and reversals: the check and the record in one step, under the
//! ledger's lock, idempotent by request id, durable before they return.
//!
//! **Family claims and moves.** A family-program claim is recorded for the
//! family card (KK): no other member can be paid the same program for the
//! same period. It also marks every member at the time of payment as
//! *covered*; a covered person cannot be the payee of another family's claim
//! for that program and period — moving to another family card does not
//! open a second payment for them. (The new family itself may still be paid,
//! through another member: it is a different family.)

use super::accel::{mark_bits, mark_key};
use super::central::{CentralKey, HeldElsewhere, Reserved, Reserver};
use super::check::claim_info;
use super::{Store, now_ms};
use crate::domain::nik::Nik;
use crate::domain::period::Period;
use crate::domain::program::{Registry, Unit};
use crate::domain::verdict::{ReasonCode, Verdict};
use crate::error::{Error, Result};
use crate::payouts::index::ClaimKey;
use crate::payouts::ledger::LedgerGuard;
use crate::payouts::records::{
    ClaimEntry, Entry, ReverseEntry, SUBJECT_COVERED, SUBJECT_FAMILY, SUBJECT_PERSON,
    StoredVerdict, Subject,
};
use crate::snapshot::{IdentityKey, Snapshot};

/// A claim as a payout point sends it.
///
/// Every field is part of the request: a retry must send the same, and the
/// same request id with any field different is refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimRequest {
    /// The caller's id for this request; a retry reuses it.
    pub request_id: String,
    /// The NIK to pay, as given.
    pub nik: String,
    /// The program's code.
    pub program: String,
    /// The period (`2026-Q4`, ...).
    pub period: String,
    /// The amount paid, in rupiah, where the payout point states it. For a
    /// program with an entitlement (registry `amount`) it must equal the
    /// entitlement (else `wrong_amount`); left out, the claim is recorded
    /// at the entitlement.
    pub amount: Option<u64>,
    /// Who pays: the operator or device at the payout point (recorded, and
    /// shown in the audit).
    pub operator: String,
    /// Free text recorded with the claim.
    pub meta: String,
}

impl ClaimRequest {
    /// The request in a canonical text form, to tell a retry from a reused
    /// id.
    fn asked(&self) -> String {
        self.asked_naming(&self.nik)
    }

    /// [`ClaimRequest::asked`] with the NIK written as `nik` (a keyed
    /// store's pseudonym: its claims log never holds the NIK as given).
    fn asked_naming(&self, nik: &str) -> String {
        let mut asked = format!(
            "claim nik={} program={} period={} meta={:?}",
            nik, self.program, self.period, self.meta
        );
        if let Some(amount) = self.amount {
            asked.push_str(&format!(" amount={amount}"));
        }
        if !self.operator.is_empty() {
            asked.push_str(&format!(" operator={:?}", self.operator));
        }
        asked
    }
}

/// What a claim did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimOutcome {
    /// The request id.
    pub request_id: String,
    /// Whether the payout was recorded.
    pub paid: bool,
    /// The verdict it was decided on.
    pub verdict: Verdict,
    /// True when this is a retry answered from the first outcome.
    pub replayed: bool,
    /// The reversal of this claim since, if any: a retry of a paid claim
    /// that was reversed must not be paid out again.
    pub reversed: Option<Reversal>,
    /// The amount recorded, in rupiah: as stated, else the entitlement.
    pub amount: Option<u64>,
    /// The program's entitlement for this payee and period, where the
    /// registry sets one.
    pub entitled: Option<u64>,
    /// The other payout point's claim that holds the key in the central
    /// ledger (`claimed_elsewhere`; a replay does not carry it).
    pub elsewhere: Option<HeldElsewhere>,
}

/// A claim's reversal, as a replayed claim reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reversal {
    /// The reversal's request id.
    pub request_id: String,
    /// When it was recorded, milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// Why.
    pub reason: String,
}

/// A reversal as a payout point sends it (see [`Store::reverse_request`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReverseRequest {
    /// This reversal's id; a retry reuses it.
    pub request_id: String,
    /// The request id of the claim to reverse.
    pub original: String,
    /// Why the payout failed.
    pub reason: String,
    /// Who reverses: the operator or device (recorded, and shown in the
    /// audit).
    pub operator: String,
}

/// What a reversal did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReverseOutcome {
    /// The reversal's request id.
    pub request_id: String,
    /// The reversed claim's request id.
    pub reversed: String,
    /// True when this is a retry answered from the first outcome.
    pub replayed: bool,
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

/// A request seen before: its first record, and the reversal of it if it
/// was a claim that was reversed.
///
/// Another thread may have appended either record and not yet seen it
/// synced: an answer resting on them waits for a sync through `through`
/// (else a retry could be told "paid" of a claim a power cut then loses).
pub(super) struct Seen {
    pub(super) entry: Entry,
    pub(super) reversed: Option<Reversal>,
    /// The offset of the later of the two records.
    pub(super) through: u64,
}

/// A decision recorded in the claims log but not yet durable: its value
/// may be told to anyone only once a sync covers its record (else a power
/// cut could lose a payout that was answered "paid", and a retry would pay
/// again). [`Store::try_claim_unsynced`] gives it.
#[must_use = "an unsynced outcome must be waited for before it is told"]
#[derive(Debug)]
pub struct Unsynced<T> {
    value: T,
    /// The offset of the record the value rests on: a sync covering more
    /// bytes than this covers all of it (syncs end on a record's edge).
    offset: u64,
}

impl<T> Unsynced<T> {
    fn new(value: T, offset: u64) -> Unsynced<T> {
        Unsynced { value, offset }
    }

    /// Waits, blocking, until a sync covers the record (sharing the
    /// group commit's syncs), then gives the value.
    pub fn wait(self, store: &Store) -> Result<T> {
        store.ledger.durable_through(self.offset)?;
        Ok(self.value)
    }

    /// The value, if a sync that covers `synced` bytes of the claims log
    /// ([`Store::sync_claims`], [`Store::synced_claims_bytes`]) covers its
    /// record; else the same `Unsynced` back.
    pub fn synced_by(self, synced: u64) -> std::result::Result<T, Unsynced<T>> {
        if synced > self.offset {
            Ok(self.value)
        } else {
            Err(self)
        }
    }
}

impl Store {
    /// Checks and records a payout in one step. Idempotent by request id
    /// (also after a restart); durable before it returns.
    pub fn claim(&self, req: &ClaimRequest) -> Result<ClaimOutcome> {
        self.claim_with(req, None)
    }

    /// A claim, reserved in `central` first when there is one
    /// ([`Store::claim_reserved`]).
    pub(super) fn claim_with(
        &self,
        req: &ClaimRequest,
        central: Option<&dyn Reserver>,
    ) -> Result<ClaimOutcome> {
        let shared = self.writers.read().unwrap_or_else(|p| p.into_inner());
        let decided = self.decide_claim(req, central, &shared)?;
        drop(shared);
        decided.wait(self)
    }

    /// [`Store::claim`]'s decision without its wait: the outcome is taken
    /// and its record is in the claims log's buffer, and it may be told to
    /// the payout point only once a sync covers it ([`Unsynced`]). A
    /// service answering thousands of claims at once decides each on the
    /// thread that received it and has one thread of its own sync them
    /// all ([`Store::sync_claims`]), rather than parking a thread per
    /// claim in the group commit.
    ///
    /// `None`, deciding nothing, when a change file or a generation
    /// switch has the store to itself right now: call [`Store::claim`]
    /// from a thread that may wait for it. Never reserves centrally (a
    /// reservation waits on the network: [`Store::claim_reserved`]).
    pub fn try_claim_unsynced(&self, req: &ClaimRequest) -> Result<Option<Unsynced<ClaimOutcome>>> {
        let shared = match self.writers.try_read() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Ok(None),
        };
        self.decide_claim(req, None, &shared).map(Some)
    }

    /// The decision of a claim, recorded but not yet durable. `_shared`:
    /// the writers' lock, shared with other claims; a change file takes it
    /// alone, so that no claim decides on half of one.
    fn decide_claim(
        &self,
        req: &ClaimRequest,
        central: Option<&dyn Reserver>,
        _shared: &std::sync::RwLockReadGuard<'_, ()>,
    ) -> Result<Unsynced<ClaimOutcome>> {
        valid_request_id(&req.request_id)?;
        let asked = match &self.options.identity_key {
            Some(key) => req.asked_naming(&key.input_text(&req.nik)),
            None => req.asked(),
        };
        if let Some(first) = self.first_of(&req.request_id)? {
            let through = first.through;
            let replayed = replay(&self.registry(), &req.request_id, &asked, first)?;
            return Ok(Unsynced::new(replayed, through));
        }
        let snap = self.snapshot();
        let mut plan = self.plan_claim(&snap, req)?;
        if let Some(central) = central {
            reserve(central, &snap, req, &mut plan, self.identity_key());
        }
        // The decision: under the ledger's lock, the request is new and
        // no key it would hold is held (anyone paid meanwhile?).
        let mut ledger = self.ledger.lock()?;
        if let Some(first) = seen(&ledger, &req.request_id)? {
            drop(ledger);
            let through = first.through;
            let replayed = replay(snap.registry(), &req.request_id, &asked, first)?;
            return Ok(Unsynced::new(replayed, through));
        }
        let elsewhere = plan.elsewhere.take();
        let (mut outcome, offset) = self.record_claim(&mut ledger, &snap, req, asked, plan)?;
        outcome.elsewhere = elsewhere;
        Ok(Unsynced::new(outcome, offset))
    }

    /// Syncs the claims log: returns once a sync covers every record
    /// appended so far, with the bytes it covers (the figure
    /// [`Unsynced::synced_by`] takes). Shares its sync with concurrent
    /// [`Store::claim`]s.
    pub fn sync_claims(&self) -> Result<u64> {
        self.ledger.durable()?;
        Ok(self.ledger.synced_bytes())
    }

    /// Bytes of the claims log a finished sync covers.
    pub fn synced_claims_bytes(&self) -> u64 {
        self.ledger.synced_bytes()
    }

    /// The program's entitlement for paying this NIK this period (registry
    /// `amount`: flat, or by the family's components as they are now):
    /// what a claim with no amount would be recorded at. `None` when the
    /// program sets no amount or the NIK is not a known person.
    pub fn entitlement(&self, nik: &str, program: &str, period: &str) -> Result<Option<u64>> {
        let req = ClaimRequest {
            nik: nik.to_owned(),
            program: program.to_owned(),
            period: period.to_owned(),
            ..ClaimRequest::default()
        };
        Ok(self.plan_claim(&self.snapshot(), &req)?.entitled)
    }

    /// What a claim would decide on, read before the ledger's lock: the
    /// verdict so far and the subjects a payment would hold — the payee,
    /// and for a family program the family card and every current member's
    /// coverage.
    fn plan_claim(&self, snap: &Snapshot, req: &ClaimRequest) -> Result<ClaimPlan> {
        let registry = snap.registry();
        let program = registry.require(&req.program)?;
        let period = Period::parse(&req.period)?;
        let p = registry.program(program);
        let mut plan = ClaimPlan {
            verdict: Verdict::only(registry, ReasonCode::InvalidNik),
            nik: None,
            kk: None,
            code: p.code.clone(),
            period: period.to_key(),
            family: p.unit == Unit::Family,
            subjects: Vec::new(),
            entitled: None,
            village: 0,
            elsewhere: None,
        };
        let Ok(nik) = Nik::parse(&req.nik) else {
            return Ok(plan);
        };
        let nik = self.key_nik(nik);
        let state = self.person_keyed(snap, nik.get())?;
        plan.verdict = self.verdict_for(snap, nik, state.as_ref(), program, period)?;
        plan.nik = Some(nik.get());
        let Some(state) = state else {
            return Ok(plan);
        };
        let covered = |id| Subject {
            kind: SUBJECT_COVERED,
            id,
        };
        let payee = state.to_live();
        plan.village = payee.village;
        let mut counted = vec![payee];
        if plan.family {
            plan.kk = state.kk();
            if let Some(kk) = plan.kk {
                plan.subjects.push(Subject {
                    kind: SUBJECT_FAMILY,
                    id: kk,
                });
                let members = self.members(snap, kk)?;
                for (member, _) in &members {
                    plan.subjects.push(covered(*member));
                }
                // The family's members as they are now (the payee among
                // them, unless the payee's record says another family).
                if members.iter().any(|(m, _)| *m == nik.get()) {
                    counted.clear();
                }
                counted.extend(members.into_iter().map(|(_, m)| m));
            }
            plan.subjects.push(covered(nik.get()));
            plan.subjects.sort_unstable();
            plan.subjects.dedup();
        } else {
            plan.subjects.push(Subject {
                kind: SUBJECT_PERSON,
                id: nik.get(),
            });
        }
        if let Some(e) = &p.entitlement {
            let on = period.first_day().unwrap_or_else(|| snap.as_of());
            let facts: Vec<_> = counted
                .iter()
                .filter(|m| !m.deceased)
                .map(|m| m.facts(on))
                .collect();
            let entitled = e.amount(&facts);
            plan.entitled = Some(entitled);
            if entitled == 0 || req.amount.is_some_and(|a| a != entitled) {
                let mut reasons = plan.verdict.reasons;
                reasons.insert(ReasonCode::WrongAmount);
                let v = &plan.verdict;
                plan.verdict =
                    Verdict::new(registry, reasons, v.conflicts.clone(), v.claimed.clone());
            }
        }
        Ok(plan)
    }

    /// Takes the decision under the ledger's lock and appends the record
    /// (not yet durable).
    fn record_claim(
        &self,
        ledger: &mut LedgerGuard<'_>,
        snap: &Snapshot,
        req: &ClaimRequest,
        asked: String,
        plan: ClaimPlan,
    ) -> Result<(ClaimOutcome, u64)> {
        let registry = snap.registry();
        let number = ledger.number(&plan.code)?;
        let mut verdict = plan.verdict;
        // Only the payee's own keys block: a covered member of the family
        // is blocked through the family key.
        let blocking = plan
            .subjects
            .iter()
            .filter(|s| s.kind != SUBJECT_COVERED || Some(s.id) == plan.nik);
        for s in blocking {
            if let Some(c) = ledger.holder(ClaimKey::new(number, plan.period, s.kind, s.id))? {
                let mut reasons = verdict.reasons;
                reasons.insert(ReasonCode::AlreadyClaimed);
                let claimed = verdict.claimed.take().or(Some(claim_info(&c)));
                verdict = Verdict::new(registry, reasons, verdict.conflicts, claimed);
            }
        }
        let paid = verdict.payable && !plan.subjects.is_empty();
        let entry = ClaimEntry {
            seq: self.next_seq(),
            at_ms: now_ms(),
            request_id: req.request_id.clone(),
            asked,
            nik: plan.nik,
            kk: plan.kk,
            meta: req.meta.clone(),
            amount: req.amount.or(plan.entitled),
            entitled: plan.entitled,
            village: plan.village,
            operator: req.operator.clone(),
            paid,
            verdict: StoredVerdict::of(&verdict, registry),
            program: plan.code,
            period: plan.period,
            family: plan.family,
            keys: if paid { plan.subjects } else { Vec::new() },
        };
        // The bits go to the generation current under the ledger's lock: a
        // generation change swaps under the same lock. Every key of one
        // claim has its (program, period): the bitmaps are looked up once.
        let current = self.current.load();
        let bits = paid.then(|| current.claimed.get_or_create(number, plan.period));
        let offset = ledger.append(&Entry::Claim(entry), |event| {
            if let Some(bits) = &bits {
                mark_bits(bits, &current.snapshot, event)
            }
        })?;
        let outcome = ClaimOutcome {
            request_id: req.request_id.clone(),
            paid,
            verdict,
            replayed: false,
            reversed: None,
            amount: req.amount.or(plan.entitled),
            entitled: plan.entitled,
            elsewhere: None,
        };
        Ok((outcome, offset))
    }

    /// The first record of a request, if it was seen.
    pub(super) fn first_of(&self, request_id: &str) -> Result<Option<Seen>> {
        seen(&self.ledger.lock()?, request_id)
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
        self.reverse_request(&ReverseRequest {
            request_id: request_id.to_owned(),
            original: original.to_owned(),
            reason: reason.to_owned(),
            operator: String::new(),
        })
    }

    /// [`Store::reverse`] with who asked recorded.
    pub fn reverse_request(&self, req: &ReverseRequest) -> Result<ReverseOutcome> {
        let (request_id, original, reason) = (&*req.request_id, &*req.original, &*req.reason);
        valid_request_id(request_id)?;
        let mut asked = format!("reverse original={original} reason={reason:?}");
        if !req.operator.is_empty() {
            asked.push_str(&format!(" operator={:?}", req.operator));
        }
        let fail = |message: String| Error::Request {
            request_id: request_id.to_owned(),
            message,
        };
        let _shared = self.writers.read().unwrap_or_else(|p| p.into_inner());
        {
            let mut ledger = self.ledger.lock()?;
            if let Some((offset, first)) = ledger.request(request_id)? {
                drop(ledger);
                self.ledger.durable_through(offset)?;
                return replay_reversal(request_id, original, &asked, first);
            }
            let Some((claim_offset, orig)) = ledger.request(original)? else {
                return Err(fail(format!("no request {original:?} to reverse")));
            };
            let claim = match orig {
                Entry::Claim(c) if c.paid && !c.keys.is_empty() => c,
                _ => {
                    return Err(fail(format!(
                        "request {original:?} did not pay, so there is nothing to reverse"
                    )));
                }
            };
            if let Some(by) = ledger.reversal_of(claim_offset)? {
                return Err(fail(format!(
                    "the claim of {original:?} is already reversed (by {:?})",
                    by.request_id
                )));
            }
            let entry = ReverseEntry {
                seq: self.next_seq(),
                at_ms: now_ms(),
                request_id: request_id.to_owned(),
                asked,
                original: original.to_owned(),
                reason: reason.to_owned(),
                operator: req.operator.clone(),
                amount: claim.amount,
                claim_offset,
                program: claim.program,
                period: claim.period,
                keys: claim.keys,
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
}

/// The first record of a request and whether it was reversed.
pub(super) fn seen(ledger: &LedgerGuard<'_>, request_id: &str) -> Result<Option<Seen>> {
    let Some((offset, entry)) = ledger.request(request_id)? else {
        return Ok(None);
    };
    let reversal = ledger.reversal_at(offset)?;
    let through = reversal.as_ref().map_or(offset, |(at, _)| *at);
    let reversed = reversal.map(|(_, r)| Reversal {
        request_id: r.request_id,
        at_ms: r.at_ms,
        reason: r.reason,
    });
    Ok(Some(Seen {
        entry,
        reversed,
        through,
    }))
}

/// What a claim would decide on (see [`Store::plan_claim`]).
struct ClaimPlan {
    verdict: Verdict,
    nik: Option<u64>,
    kk: Option<u64>,
    code: String,
    period: u32,
    family: bool,
    /// The subjects a payment would hold; empty when nobody could be paid.
    subjects: Vec<Subject>,
    /// The entitlement for this payee and period, if the program has one.
    entitled: Option<u64>,
    /// The payee's village (0: not a known person).
    village: u64,
    /// The central ledger's holder of the key, when it refused.
    elsewhere: Option<HeldElsewhere>,
}

/// Reserves the key of a claim the store would pay in `central`, and
/// writes the ledger's refusal or silence into the plan's verdict.
/// A keyed store reserves the NIK and KK behind its pseudonyms (`reveal`):
/// the ledger knows every point's claims by them.
fn reserve(
    central: &dyn Reserver,
    snap: &Snapshot,
    req: &ClaimRequest,
    plan: &mut ClaimPlan,
    reveal: Option<&IdentityKey>,
) {
    let (Some(nik), true) = (plan.nik, plan.verdict.payable && !plan.subjects.is_empty()) else {
        return;
    };
    let Some(key) = (if plan.family { plan.kk } else { Some(nik) }) else {
        return;
    };
    let (key, nik) = match reveal {
        Some(k) => (k.reveal_number(key), k.reveal_number(nik)),
        None => (key, nik),
    };
    let key = CentralKey {
        request_id: req.request_id.clone(),
        program: plan.code.clone(),
        // As the sync ships it: the canonical text of the period.
        period: Period::parse(&req.period).map_or_else(|_| req.period.clone(), |p| p.to_string()),
        family: plan.family,
        key,
        nik,
    };
    let reason = match central.reserve(&key) {
        Reserved::Granted => return,
        Reserved::Elsewhere(held) => {
            plan.elsewhere = Some(held);
            ReasonCode::ClaimedElsewhere
        }
        Reserved::Unreachable(_) => ReasonCode::LedgerUnreachable,
    };
    let v = &plan.verdict;
    let mut reasons = v.reasons;
    reasons.insert(reason);
    plan.verdict = Verdict::new(
        snap.registry(),
        reasons,
        v.conflicts.clone(),
        v.claimed.clone(),
    );
}

/// Answers a retried claim from its first outcome (and says whether it was
/// reversed since), or refuses a reused id with different content.
fn replay(registry: &Registry, request_id: &str, asked: &str, first: Seen) -> Result<ClaimOutcome> {
    match first.entry {
        Entry::Claim(c) if c.asked == asked => Ok(ClaimOutcome {
            request_id: request_id.to_owned(),
            paid: c.paid,
            verdict: c.verdict.to_verdict(registry),
            replayed: true,
            reversed: first.reversed,
            amount: c.amount,
            entitled: c.entitled,
            elsewhere: None,
        }),
        other => Err(Error::RequestConflict {
            request_id: request_id.to_owned(),
            first: other.asked().to_owned(),
            now: asked.to_owned(),
        }),
    }
}

/// Answers a retried reversal, or refuses a reused id with other content.
fn replay_reversal(
    request_id: &str,
    original: &str,
    asked: &str,
    first: Entry,
) -> Result<ReverseOutcome> {
    if first.asked() != asked {
        return Err(Error::RequestConflict {
            request_id: request_id.to_owned(),
            first: first.asked().to_owned(),
            now: asked.to_owned(),
        });
    }
    Ok(ReverseOutcome {
        request_id: request_id.to_owned(),
        reversed: original.to_owned(),
        replayed: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::date::Date;
    use crate::domain::region::RegionTable;
    use crate::snapshot::SnapshotBuilder;
    use crate::store::Options;

    /// A retry answered from a record another thread appended but has not
    /// yet seen synced must wait for that sync: else a power cut after the
    /// answer loses a payout someone was told of.
    #[test]
    fn a_retry_is_answered_only_once_its_first_record_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let as_of = Date::new(2026, 11, 1).unwrap();
        let builder =
            SnapshotBuilder::new(Registry::builtin().clone(), RegionTable::builtin(), as_of)
                .unwrap();
        let store = Store::create(&dir.path().join("s"), builder, Options::default()).unwrap();
        let req = ClaimRequest {
            request_id: "r-1".into(),
            nik: "3201015708900001".into(),
            program: "PKH".into(),
            period: "2026-Q4".into(),
            ..Default::default()
        };
        // What the first thread's claim leaves behind before its sync.
        let entry = ClaimEntry {
            seq: 1,
            at_ms: 0,
            request_id: req.request_id.clone(),
            asked: req.asked(),
            nik: Some(3_201_015_708_900_001),
            kk: None,
            meta: String::new(),
            amount: None,
            entitled: None,
            village: 0,
            operator: String::new(),
            paid: false,
            verdict: StoredVerdict::of(
                &Verdict::only(Registry::builtin(), ReasonCode::UnknownNik),
                Registry::builtin(),
            ),
            program: "PKH".into(),
            period: Period::parse("2026-Q4").unwrap().to_key(),
            family: true,
            keys: Vec::new(),
        };
        let offset = store
            .ledger
            .lock()
            .unwrap()
            .append(&Entry::Claim(entry), |_| {})
            .unwrap();
        assert!(store.ledger.synced_bytes() <= offset, "not yet synced");
        let retry = store.claim(&req).unwrap();
        assert!(retry.replayed);
        assert!(
            store.ledger.synced_bytes() > offset,
            "the retry was answered before its record was durable"
        );
    }

    fn empty_store(dir: &std::path::Path) -> Store {
        let as_of = Date::new(2026, 11, 1).unwrap();
        let builder =
            SnapshotBuilder::new(Registry::builtin().clone(), RegionTable::builtin(), as_of)
                .unwrap();
        Store::create(&dir.join("s"), builder, Options::default()).unwrap()
    }

    fn unknown_claim(id: &str) -> ClaimRequest {
        ClaimRequest {
            request_id: id.into(),
            nik: "3201015708900001".into(),
            program: "PKH".into(),
            period: "2026-Q4".into(),
            ..Default::default()
        }
    }

    /// An unsynced decision is not given out before a sync covers it, and
    /// is after one; its retry rests on the same record.
    #[test]
    fn an_unsynced_claim_is_given_out_only_once_synced() {
        let dir = tempfile::tempdir().unwrap();
        let store = empty_store(dir.path());
        let req = unknown_claim("u-1");
        let decided = store.try_claim_unsynced(&req).unwrap().unwrap();
        let before = store.synced_claims_bytes();
        let decided = decided
            .synced_by(before)
            .expect_err("given out before any sync covered it");
        let synced = store.sync_claims().unwrap();
        assert!(synced > before);
        let out = decided.synced_by(synced).unwrap();
        assert!(!out.paid && !out.replayed);
        let retry = store.try_claim_unsynced(&req).unwrap().unwrap();
        assert!(retry.synced_by(synced).unwrap().replayed);
    }

    /// While a change file or a generation switch has the store alone, the
    /// runtime-thread path decides nothing (it would wait on the lock).
    #[test]
    fn no_unsynced_claim_while_the_store_is_taken_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = empty_store(dir.path());
        let alone = store.writers.write().unwrap();
        assert!(
            store
                .try_claim_unsynced(&unknown_claim("u-2"))
                .unwrap()
                .is_none()
        );
        drop(alone);
        assert!(
            store.first_of("u-2").unwrap().is_none(),
            "nothing was recorded"
        );
        assert!(
            store
                .try_claim_unsynced(&unknown_claim("u-2"))
                .unwrap()
                .is_some()
        );
    }
}
