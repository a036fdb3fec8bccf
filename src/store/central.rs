//! Online reservation in a central ledger (docs/LEDGER.md, "Online
//! reservation"): before a store pays a claim it would pay, the claim's key
//! (the family card for a family program, else the NIK) is reserved in the
//! one ledger all payout points share, so that a family on two points'
//! lists is paid at most once even before the points sync.
//!
//! The library defines the contract and calls it; it knows no database.
//! `tepat-ledger` implements it on PostgreSQL.
//!
//! The reservation is taken before the ledger's lock (a slow network must
//! not stall every counter's claim). It is never given back by the store:
//! a claim refused after its reservation was granted was refused because
//! another claim at this point took the key meanwhile, and that claim
//! needs it; a claim whose record failed (a full disk) may be in the log
//! after all, and a key held for nobody keeps a family from being paid
//! elsewhere until the keeper looks — the safe side — where a key given
//! back too early pays it twice. A process that dies between reservation
//! and record leaves a reservation without a claim: a retry of the same
//! request takes it again (same point), and the ledger lists the ones never
//! retried (`tepat ledger report`).

use super::Store;
use super::claim::{ClaimOutcome, ClaimRequest};
use crate::error::Result;

/// What a payment would hold, as the central ledger keys it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CentralKey {
    /// The request id of the claim (a retry reserves again with it).
    pub request_id: String,
    /// The program's code.
    pub program: String,
    /// The period, as text (`2026-Q4`).
    pub period: String,
    /// A family program: `key` is the family card, else the NIK.
    pub family: bool,
    /// The KK or the NIK.
    pub key: u64,
    /// The payee's NIK.
    pub nik: u64,
}

/// Who holds a key elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldElsewhere {
    /// The payout point that holds it.
    pub point: String,
    /// Its request id there.
    pub request_id: String,
    /// When it was reserved or paid, milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// The central ledger's answer to a reservation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reserved {
    /// The key is this claim's now (or was already: a retry).
    Granted,
    /// Another point's claim holds the key: refused, `claimed_elsewhere`.
    Elsewhere(HeldElsewhere),
    /// The ledger did not answer within its deadline: the claim gets
    /// `ledger_unreachable`, which the registry's policy lets through
    /// (offline payment, reconciled at the next sync) or not.
    Unreachable(String),
}

/// A central ledger a store reserves claim keys in.
pub trait Reserver: Send + Sync {
    /// Reserves `key` for its request, within the reserver's deadline.
    fn reserve(&self, key: &CentralKey) -> Reserved;
}

impl Store {
    /// [`Store::claim`], with the claim's key reserved in `central` before
    /// it is paid: a key another payout point holds is refused
    /// (`claimed_elsewhere`); a ledger that does not answer in time gives
    /// `ledger_unreachable`, which blocks unless the registry's policy
    /// warns of it. Only a claim the store would pay is reserved; a retry
    /// is answered from its first outcome without asking the ledger.
    pub fn claim_reserved(
        &self,
        req: &ClaimRequest,
        central: &dyn Reserver,
    ) -> Result<ClaimOutcome> {
        self.claim_with(req, Some(central))
    }
}
