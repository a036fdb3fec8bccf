//! Verdicts: may this NIK be paid this program for this period, and every
//! reason why not.
//!
//! A [`Verdict`] lists **every** reason that applies, as data. Whether a
//! reason blocks payment or only warns is the registry's policy
//! ([`crate::domain::program::Policy`]); `payable` is true when no blocking reason
//! applies. Each reason has a stable machine-readable code
//! ([`ReasonCode::as_str`]) for JSON and CSV output.

use serde::{Deserialize, Serialize};

use crate::domain::program::{ExclusionLevel, ProgramId, Registry};

/// The stable codes of the reasons, as they appear in JSON and CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum ReasonCode {
    /// The NIK is not a valid NIK.
    InvalidNik = 0,
    /// The NIK is not in the register.
    UnknownNik = 1,
    /// Recorded as deceased.
    Deceased = 2,
    /// The NIK belongs to more than one register record.
    DuplicateIdentity = 3,
    /// Not enrolled in the program.
    NotEnrolled = 4,
    /// Enrolled but not eligible by the registry's rule (an inclusion error).
    NotEligible = 5,
    /// Civil servant, police or military (in the family, for family programs).
    CivilServant = 6,
    /// Enrolled in a program that excludes this one.
    ExcludedBy = 7,
    /// Already paid this program for this period.
    AlreadyClaimed = 8,
    /// The period is of the wrong kind for the program.
    WrongPeriodKind = 9,
    /// A payee list repeats this payment: the same NIK, or another member of
    /// the same family for a family program, for the same program and
    /// period earlier in the list.
    RepeatedInList = 10,
    /// A payee-list row that cannot be read (column count, program, period).
    InvalidRow = 11,
    /// The period is not open for payment: outside the program's payable
    /// window around the store's date (registry `window`).
    PeriodNotOpen = 12,
    /// A claim states an amount other than the program's entitlement for
    /// this payee and period (registry `amount`), or the entitlement is
    /// nothing (no member has a component that pays). Only a claim gives
    /// it: a check reads no amounts (`Store::entitlement` says what a claim
    /// would be recorded at), so a payable check with an entitlement of
    /// nothing is still refused at the claim.
    WrongAmount = 13,
    /// The central ledger holds this claim's key for a claim of another
    /// payout point (an online reservation: docs/LEDGER.md). Never a
    /// warning.
    ClaimedElsewhere = 14,
    /// The claim was to be reserved in the central ledger and the ledger
    /// could not be reached in time. Blocks unless the registry's policy
    /// warns of it (`warn = [..., "ledger_unreachable"]`: the point pays
    /// offline and the sync reconciles).
    LedgerUnreachable = 15,
}

impl ReasonCode {
    /// Every code, in order.
    pub const ALL: [ReasonCode; 16] = [
        ReasonCode::InvalidNik,
        ReasonCode::UnknownNik,
        ReasonCode::Deceased,
        ReasonCode::DuplicateIdentity,
        ReasonCode::NotEnrolled,
        ReasonCode::NotEligible,
        ReasonCode::CivilServant,
        ReasonCode::ExcludedBy,
        ReasonCode::AlreadyClaimed,
        ReasonCode::WrongPeriodKind,
        ReasonCode::RepeatedInList,
        ReasonCode::InvalidRow,
        ReasonCode::PeriodNotOpen,
        ReasonCode::WrongAmount,
        ReasonCode::ClaimedElsewhere,
        ReasonCode::LedgerUnreachable,
    ];

    /// The stable code (`not_enrolled`, ...), the same as
    /// [`crate::domain::program::REASON_CODES`].
    pub const fn as_str(self) -> &'static str {
        match self {
            ReasonCode::InvalidNik => "invalid_nik",
            ReasonCode::UnknownNik => "unknown_nik",
            ReasonCode::Deceased => "deceased",
            ReasonCode::DuplicateIdentity => "duplicate_identity",
            ReasonCode::NotEnrolled => "not_enrolled",
            ReasonCode::NotEligible => "not_eligible",
            ReasonCode::CivilServant => "civil_servant",
            ReasonCode::ExcludedBy => "excluded_by",
            ReasonCode::AlreadyClaimed => "already_claimed",
            ReasonCode::WrongPeriodKind => "wrong_period_kind",
            ReasonCode::RepeatedInList => "repeated_in_list",
            ReasonCode::InvalidRow => "invalid_row",
            ReasonCode::PeriodNotOpen => "period_not_open",
            ReasonCode::WrongAmount => "wrong_amount",
            ReasonCode::ClaimedElsewhere => "claimed_elsewhere",
            ReasonCode::LedgerUnreachable => "ledger_unreachable",
        }
    }

    /// The code with this name.
    pub fn from_str_code(s: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A set of reason codes, as a bitset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReasonSet(pub u16);

impl ReasonSet {
    /// Adds a code.
    #[inline]
    pub fn insert(&mut self, c: ReasonCode) {
        self.0 |= 1 << c as u8;
    }

    /// Takes a code out.
    #[inline]
    pub fn remove(&mut self, c: ReasonCode) {
        self.0 &= !(1 << c as u8);
    }

    /// Whether the code is in the set.
    #[inline]
    pub const fn contains(self, c: ReasonCode) -> bool {
        self.0 & (1 << c as u8) != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The codes, in order.
    pub fn iter(self) -> impl Iterator<Item = ReasonCode> {
        ReasonCode::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }

    /// The codes `|`-separated, as the batch CSV writes them.
    pub fn join(self) -> String {
        self.iter()
            .map(ReasonCode::as_str)
            .collect::<Vec<_>>()
            .join("|")
    }
}

/// An enrolment that excludes the program asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The excluding program (the person or family is enrolled in it).
    pub program: ProgramId,
    /// Where the rule applies.
    pub level: ExclusionLevel,
}

/// An earlier payout that blocks this one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimInfo {
    /// The request that was paid.
    pub request_id: String,
    /// The NIK that was paid.
    pub nik: u64,
    /// The family card the claim was recorded for (family programs).
    pub kk: Option<u64>,
    /// When it was recorded, milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// The answer to "may this NIK be paid this program for this period?".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// No blocking reason applies.
    pub payable: bool,
    /// Every reason that applies.
    pub reasons: ReasonSet,
    /// Which enrolments exclude the program (for `excluded_by`).
    pub conflicts: Vec<Conflict>,
    /// The earlier claim (for `already_claimed`).
    pub claimed: Option<ClaimInfo>,
}

impl Verdict {
    /// A verdict with these reasons; `payable` from the registry's policy.
    pub fn new(
        registry: &Registry,
        reasons: ReasonSet,
        conflicts: Vec<Conflict>,
        claimed: Option<ClaimInfo>,
    ) -> Verdict {
        let payable = !reasons.iter().any(|r| registry.policy().blocks(r.as_str()));
        Verdict {
            payable,
            reasons,
            conflicts,
            claimed,
        }
    }

    /// A verdict with a single reason and no details.
    pub fn only(registry: &Registry, reason: ReasonCode) -> Verdict {
        let mut reasons = ReasonSet::default();
        reasons.insert(reason);
        Verdict::new(registry, reasons, Vec::new(), None)
    }

    /// The blocking reasons only.
    pub fn blocking<'a>(&'a self, registry: &'a Registry) -> impl Iterator<Item = ReasonCode> + 'a {
        self.reasons
            .iter()
            .filter(|r| registry.policy().blocks(r.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_registry_policy_list() {
        let codes: Vec<&str> = ReasonCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(codes, crate::domain::program::REASON_CODES);
        for c in ReasonCode::ALL {
            assert_eq!(ReasonCode::from_str_code(c.as_str()), Some(c));
        }
    }

    #[test]
    fn policy_decides_payable() {
        let r = Registry::builtin();
        assert!(Verdict::only(r, ReasonCode::NotEligible).payable);
        assert!(Verdict::only(r, ReasonCode::DuplicateIdentity).payable);
        assert!(!Verdict::only(r, ReasonCode::Deceased).payable);
        assert!(!Verdict::only(r, ReasonCode::AlreadyClaimed).payable);
        assert!(Verdict::new(r, ReasonSet::default(), vec![], None).payable);
    }
}
