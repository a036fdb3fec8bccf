//! What the store remembers of its payouts and changes: the audit trail,
//! the claims that hold, the first outcome of a request.

use serde::{Deserialize, Serialize};

use super::Store;
use crate::domain::verdict::{ReasonSet, Verdict};
use crate::error::Result;
use crate::live::AuditEntry;
use crate::payouts::ledger::{Entry, SUBJECT_FAMILY, SUBJECT_PERSON};

/// A recorded payout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRecord {
    /// The request that paid.
    pub request_id: String,
    /// The NIK paid.
    pub nik: u64,
    /// The family card, for family programs.
    pub kk: Option<u64>,
    /// When, milliseconds since the epoch.
    pub at_ms: u64,
    /// Caller's metadata (payout point, amount, ...).
    pub meta: String,
    /// The request that reversed it, if any.
    pub reversed_by: Option<String>,
}

/// What a request asked and what it got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The operation and its inputs, in a canonical text form.
    pub asked: String,
    /// Whether it paid (claims) or took effect (reversals).
    pub done: bool,
    /// The reasons of the verdict.
    pub reasons: ReasonSet,
    /// The full verdict, for claims.
    pub verdict: Option<Verdict>,
    /// When, milliseconds since the epoch.
    pub at_ms: u64,
    /// The claim keys a paid claim wrote (so a reversal finds them).
    pub keys: Vec<Vec<u8>>,
}

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

impl Store {
    /// Every audit entry, oldest first, optionally only those of one NIK or
    /// one request: the payouts from the ledger and the applied changes from
    /// the live state, merged in the order they were recorded.
    pub fn audit(&self, nik: Option<u64>, request: Option<&str>) -> Result<Vec<AuditEntry>> {
        let mut out: Vec<(u64, AuditEntry)> = Vec::new();
        let wanted = |e: &AuditEntry| {
            nik.is_none_or(|n| e.nik == Some(n))
                && request.is_none_or(|r| e.request_id.as_deref() == Some(r))
        };
        for item in self.live.audit() {
            let (seq, e) = item?;
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
