//! What the claims log's records say: claims and reversals, keyed by
//! program **code** (never by a program's position in a registry, which a
//! new registry may change), with the verdict each claim was decided on.

use serde::{Deserialize, Serialize};

use crate::domain::program::{ExclusionLevel, Registry};
use crate::domain::verdict::{ClaimInfo, Conflict, ReasonSet, Verdict};

/// Claim subject kinds.
pub(crate) const SUBJECT_FAMILY: u8 = b'F';
pub(crate) const SUBJECT_PERSON: u8 = b'P';
pub(crate) const SUBJECT_COVERED: u8 = b'V';

/// Who a key of a claim is for: a family card (`F`, family programs), a NIK
/// paid a person program (`P`), or a NIK covered by its family's payment
/// (`V`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct Subject {
    pub(crate) kind: u8,
    pub(crate) id: u64,
}

/// A verdict as recorded: conflicts name programs by code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredVerdict {
    pub(crate) payable: bool,
    pub(crate) reasons: ReasonSet,
    pub(crate) conflicts: Vec<(String, ExclusionLevel)>,
    pub(crate) claimed: Option<ClaimInfo>,
}

impl StoredVerdict {
    /// The verdict in recordable form, program codes from `registry`.
    pub(crate) fn of(v: &Verdict, registry: &Registry) -> StoredVerdict {
        let conflicts = v
            .conflicts
            .iter()
            .filter_map(|c| registry.get(c.program).map(|p| (p.code.clone(), c.level)))
            .collect();
        StoredVerdict {
            payable: v.payable,
            reasons: v.reasons,
            conflicts,
            claimed: v.claimed.clone(),
        }
    }

    /// The verdict as first given, its conflicts' programs resolved in
    /// `registry` (a program the registry no longer has is left out).
    pub(crate) fn to_verdict(&self, registry: &Registry) -> Verdict {
        let conflicts = self
            .conflicts
            .iter()
            .filter_map(|(code, level)| {
                registry.by_code(code).map(|program| Conflict {
                    program,
                    level: *level,
                })
            })
            .collect();
        Verdict {
            payable: self.payable,
            reasons: self.reasons,
            conflicts,
            claimed: self.claimed.clone(),
        }
    }
}

/// A claim as recorded: what was asked, what was decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClaimEntry {
    /// Audit order, shared with the live state's audit entries.
    pub(crate) seq: u64,
    pub(crate) at_ms: u64,
    pub(crate) request_id: String,
    /// The request in canonical text, to tell a retry from a reused id.
    pub(crate) asked: String,
    pub(crate) nik: Option<u64>,
    pub(crate) kk: Option<u64>,
    pub(crate) meta: String,
    /// The amount paid, in rupiah: as the request stated it, else the
    /// entitlement (none when neither is known).
    pub(crate) amount: Option<u64>,
    /// The program's entitlement for this payee and period, where the
    /// registry sets one.
    pub(crate) entitled: Option<u64>,
    /// The payee's village when the claim was decided (0: not a known
    /// person): where the payouts report counts it.
    pub(crate) village: u64,
    /// The operator or device that asked.
    pub(crate) operator: String,
    pub(crate) paid: bool,
    pub(crate) verdict: StoredVerdict,
    /// The program's code.
    pub(crate) program: String,
    /// The period ([`crate::domain::period::Period::to_key`]).
    pub(crate) period: u32,
    /// The program's unit was the family when the claim was decided.
    pub(crate) family: bool,
    /// The keys a paid claim holds (empty for a refused one).
    pub(crate) keys: Vec<Subject>,
}

/// A reversal as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReverseEntry {
    pub(crate) seq: u64,
    pub(crate) at_ms: u64,
    pub(crate) request_id: String,
    pub(crate) asked: String,
    /// The reversed claim's request id and record offset.
    pub(crate) original: String,
    /// Why it was reversed.
    pub(crate) reason: String,
    /// The operator or device that asked.
    pub(crate) operator: String,
    /// The reversed claim's amount.
    pub(crate) amount: Option<u64>,
    pub(crate) claim_offset: u64,
    /// The reversed claim's program, period and keys (what it frees).
    pub(crate) program: String,
    pub(crate) period: u32,
    pub(crate) keys: Vec<Subject>,
}

/// One record of the claims log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Entry {
    Claim(ClaimEntry),
    Reverse(ReverseEntry),
}

impl Entry {
    pub(crate) fn request_id(&self) -> &str {
        match self {
            Entry::Claim(c) => &c.request_id,
            Entry::Reverse(r) => &r.request_id,
        }
    }

    pub(crate) fn asked(&self) -> &str {
        match self {
            Entry::Claim(c) => &c.asked,
            Entry::Reverse(r) => &r.asked,
        }
    }

    pub(crate) fn program(&self) -> &str {
        match self {
            Entry::Claim(c) => &c.program,
            Entry::Reverse(r) => &r.program,
        }
    }

    pub(crate) fn seq(&self) -> u64 {
        match self {
            Entry::Claim(c) => c.seq,
            Entry::Reverse(r) => r.seq,
        }
    }
}
