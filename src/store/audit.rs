//! What the store remembers of its payouts and changes: the audit trail,
//! the claims that hold, the first outcome of a request.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Store;
use crate::domain::verdict::{ReasonSet, Verdict};
use crate::error::Result;
use crate::live::AuditEntry;
use crate::payouts::records::{Entry, SUBJECT_FAMILY, SUBJECT_PERSON, Subject};

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
    /// The subjects a paid claim holds: a kind byte (`F` family card, `P`
    /// person, `V` covered member), then the KK or NIK big-endian.
    pub keys: Vec<Vec<u8>>,
    /// For a claim: the request that reversed it, if any.
    pub reversed_by: Option<String>,
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
    /// The program's code.
    pub program: String,
    /// Period key ([`crate::Period::to_key`]).
    pub period: u32,
    /// Family or person.
    pub subject: ClaimSubject,
    /// The record.
    pub record: ClaimRecord,
}

impl Store {
    /// Every audit entry, oldest first, optionally only those of one NIK or
    /// one request: the payouts from the ledger and the applied changes from
    /// the live state, merged in the order they were recorded. A reversal
    /// is listed under the NIK of the claim it reversed.
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
        let mut paid_nik: HashMap<u64, Option<u64>> = HashMap::new();
        for (offset, entry) in self.ledger.lock()?.entries()? {
            let e = match &entry {
                Entry::Claim(c) => {
                    paid_nik.insert(offset, c.nik);
                    audit_entry(&entry, c.nik)
                }
                Entry::Reverse(r) => {
                    let nik = paid_nik.get(&r.claim_offset).copied().flatten();
                    audit_entry(&entry, nik)
                }
            };
            if wanted(&e) {
                out.push((entry.seq(), e));
            }
        }
        out.sort_by_key(|(seq, _)| *seq);
        Ok(out.into_iter().map(|(_, e)| e).collect())
    }

    /// Every claim key held by a claim that is not reversed, in key order,
    /// with the first claim that holds it.
    pub fn claims(&self) -> Result<Vec<StoredClaim>> {
        let ledger = self.ledger.lock()?;
        let held = ledger.held()?;
        Ok(held
            .into_iter()
            .map(|(k, c)| StoredClaim {
                program: ledger.code(k.program()).unwrap_or_default(),
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

    /// The first outcome of a request, if it was seen.
    pub fn request(&self, request_id: &str) -> Result<Option<RequestRecord>> {
        let Some(seen) = self.first_of(request_id)? else {
            return Ok(None);
        };
        Ok(Some(match seen.entry {
            Entry::Claim(c) => RequestRecord {
                asked: c.asked,
                done: c.paid,
                reasons: c.verdict.reasons,
                keys: c.keys.iter().map(subject_bytes).collect(),
                verdict: Some(c.verdict.to_verdict(&self.registry())),
                at_ms: c.at_ms,
                reversed_by: seen.reversed_by,
            },
            Entry::Reverse(r) => RequestRecord {
                asked: r.asked,
                done: true,
                reasons: ReasonSet::default(),
                verdict: None,
                at_ms: r.at_ms,
                keys: Vec::new(),
                reversed_by: None,
            },
        }))
    }
}

/// A claim's subject as bytes: kind, then the NIK or KK big-endian.
fn subject_bytes(s: &Subject) -> Vec<u8> {
    let mut b = Vec::with_capacity(9);
    b.push(s.kind);
    b.extend_from_slice(&s.id.to_be_bytes());
    b
}

/// A ledger record as an audit entry, under `nik`.
fn audit_entry(entry: &Entry, nik: Option<u64>) -> AuditEntry {
    match entry {
        Entry::Claim(c) => AuditEntry {
            at_ms: c.at_ms,
            request_id: Some(c.request_id.clone()),
            op: "claim".into(),
            nik,
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
            nik,
            inputs: r.asked.clone(),
            outcome: format!("reversed {}", r.original),
        },
    }
}
