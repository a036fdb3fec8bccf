//! What the store remembers of its payouts and changes: the audit trail,
//! the claims that hold, the first outcome of a request.

use serde::{Deserialize, Serialize};

use super::Store;
use crate::domain::period::Period;
use crate::domain::verdict::ReasonCode;
use crate::domain::verdict::{ReasonSet, Verdict};
use crate::error::Result;
use crate::live::ChangeAudit;
use crate::payouts::claims_log::Reader;
use crate::payouts::codec::decode;
use crate::payouts::records::{
    ClaimEntry, Entry, ReverseEntry, SUBJECT_FAMILY, SUBJECT_PERSON, Subject,
};

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
    /// For a claim: the NIK it named, when valid (a keyed store's
    /// pseudonym).
    pub nik: Option<u64>,
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

/// One entry of the audit trail: a claim, a reversal or an applied change
/// row, as `tepat audit` writes it (one JSON object per line:
/// [`AuditRecord::to_json_line`]; README, "Audit format").
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditRecord {
    /// Audit order: claims, reversals and changes in the order they were
    /// recorded.
    pub seq: u64,
    /// When, milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// `claim`, `reverse` or `apply`.
    pub op: &'static str,
    /// The request id (claims and reversals).
    pub request_id: Option<String>,
    /// The NIK: the payee, the reversed claim's payee, the changed person.
    pub nik: Option<u64>,
    /// The family card: a family claim's, a change's.
    pub kk: Option<u64>,
    /// The program's code.
    pub program: Option<String>,
    /// The period (claims and reversals).
    pub period: Option<String>,
    /// A claim's amount in rupiah (as stated, else the entitlement); a
    /// reversal's: the reversed claim's.
    pub amount: Option<u64>,
    /// A claim's entitlement, where the program sets one.
    pub entitled: Option<u64>,
    /// The operator or device that asked.
    pub operator: Option<String>,
    /// `paid`, `refused`, `reversed` or `applied`.
    pub outcome: &'static str,
    /// A claim's reason codes.
    pub reasons: Vec<&'static str>,
    /// A reversal's: the request id of the claim it reversed.
    pub reverses: Option<String>,
    /// A reversal's reason.
    pub reason: Option<String>,
    /// An applied change's kind (`death`, `move`, ...), date, file and line.
    pub change: Option<String>,
    /// The date a change row gives.
    pub date: Option<String>,
    /// `FILE:LINE` of an applied change row.
    pub source: Option<String>,
    /// The byte offset of a claim's or reversal's record in the claims log.
    pub offset: Option<u64>,
}

impl AuditRecord {
    /// Replaces a keyed store's pseudonyms by the NIK and KK behind them
    /// (the register keeper's `tepat audit --key KEYFILE --reveal`); a value
    /// the key does not reveal is left as it is.
    pub fn reveal(&mut self, key: &crate::snapshot::IdentityKey) {
        use crate::domain::{kk::Kk, nik::Nik};
        if let Some(n) = self.nik {
            self.nik = Some(key.reveal_nik(Nik::from_stored(n)).map_or(n, Nik::get));
        }
        if let Some(k) = self.kk {
            self.kk = Some(key.reveal_kk(Kk::from_stored(k)).map_or(k, Kk::get));
        }
    }

    /// The record as one JSON object (no line ending): `at` in ISO 8601
    /// UTC, NIKs and KKs as 16-digit strings, absent fields as `null`.
    pub fn to_json_line(&self) -> String {
        let mut o = crate::json::Object::new();
        o.num("seq", self.seq);
        o.str("at", &crate::domain::date::iso_utc(self.at_ms));
        o.str("op", self.op);
        o.opt_str("request_id", self.request_id.as_deref());
        let text = crate::domain::nik::identity_text;
        o.opt_str("nik", self.nik.map(text).as_deref());
        o.opt_str("kk", self.kk.map(text).as_deref());
        o.opt_str("program", self.program.as_deref());
        o.opt_str("period", self.period.as_deref());
        o.opt_num("amount", self.amount);
        o.opt_num("entitled", self.entitled);
        o.opt_str("operator", self.operator.as_deref());
        o.str("outcome", self.outcome);
        o.list("reasons", self.reasons.iter().copied());
        o.opt_str("reverses", self.reverses.as_deref());
        o.opt_str("reason", self.reason.as_deref());
        o.opt_str("change", self.change.as_deref());
        o.opt_str("date", self.date.as_deref());
        o.opt_str("source", self.source.as_deref());
        o.finish()
    }
}

/// Which audit records [`Store::audit_each`] gives (every field optional).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditFilter {
    /// Only those of this NIK.
    pub nik: Option<u64>,
    /// Only those of this request id.
    pub request: Option<String>,
    /// Only claims and reversals of this period (`2026-Q4`).
    pub period: Option<String>,
    /// Only those recorded at or after this time (ms since the epoch).
    pub from_ms: Option<u64>,
    /// Only those recorded before this time (ms since the epoch).
    pub to_ms: Option<u64>,
}

impl AuditFilter {
    fn admits(&self, r: &AuditRecord) -> bool {
        self.nik.is_none_or(|n| r.nik == Some(n))
            && self
                .request
                .as_deref()
                .is_none_or(|q| r.request_id.as_deref() == Some(q))
            && self
                .period
                .as_deref()
                .is_none_or(|p| r.period.as_deref() == Some(p))
            && self.from_ms.is_none_or(|t| r.at_ms >= t)
            && self.to_ms.is_none_or(|t| r.at_ms < t)
    }
}

impl Store {
    /// Every audit record [`AuditFilter`] admits, oldest first, streamed
    /// to `each`: the claims log's records (read beside the claims, which
    /// never wait for it) and the applied changes, merged in the order
    /// they were recorded.
    pub fn audit_each(
        &self,
        filter: &AuditFilter,
        mut each: impl FnMut(AuditRecord) -> Result<()>,
    ) -> Result<()> {
        // A keyed store's records name pseudonyms: so does its filter.
        let keyed = AuditFilter {
            nik: filter.nik.map(|n| {
                crate::domain::nik::Nik::from_u64(n).map_or(n, |nik| self.key_nik(nik).get())
            }),
            ..filter.clone()
        };
        let filter = &keyed;
        let mut log = self.ledger.reader(0);
        let mut changes = self.live.audit().peekable();
        let mut next_claim = read_claim(&mut log)?;
        loop {
            let change_first = match (&next_claim, changes.peek()) {
                (None, None) => return Ok(()),
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some(c), Some(Ok((seq, _)))) => *seq < c.seq,
                (Some(_), Some(Err(_))) => true,
            };
            let record = if change_first {
                match changes.next() {
                    Some(item) => change_record(item?),
                    None => continue,
                }
            } else {
                match next_claim.take() {
                    Some(r) => {
                        next_claim = read_claim(&mut log)?;
                        r
                    }
                    None => continue,
                }
            };
            if filter.admits(&record) {
                each(record)?;
            }
        }
    }

    /// Every audit record of one NIK or one request (or all), oldest
    /// first: [`Store::audit_each`] collected.
    pub fn audit(&self, nik: Option<u64>, request: Option<&str>) -> Result<Vec<AuditRecord>> {
        let filter = AuditFilter {
            nik,
            request: request.map(str::to_owned),
            ..AuditFilter::default()
        };
        let mut out = Vec::new();
        self.audit_each(&filter, |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
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
                reversed_by: seen.reversed.map(|r| r.request_id),
                nik: c.nik,
            },
            Entry::Reverse(r) => RequestRecord {
                asked: r.asked,
                done: true,
                reasons: ReasonSet::default(),
                verdict: None,
                at_ms: r.at_ms,
                keys: Vec::new(),
                reversed_by: None,
                nik: None,
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

/// The next claims-log record as an audit record (a reversal under the
/// reversed claim's payee).
fn read_claim(log: &mut Reader) -> Result<Option<AuditRecord>> {
    let Some((offset, payload)) = log.next_record()? else {
        return Ok(None);
    };
    let entry: Entry = decode(&payload, log.path(), offset)?;
    Ok(Some(match entry {
        Entry::Claim(c) => claim_record(offset, c),
        Entry::Reverse(r) => {
            let payee = match decode(&log.record_at(r.claim_offset)?, log.path(), r.claim_offset)? {
                Entry::Claim(c) => (c.nik, c.kk),
                Entry::Reverse(_) => (None, None),
            };
            reverse_record(offset, r, payee)
        }
    }))
}

fn period_text(key: u32) -> Option<String> {
    Period::from_key(key).map(|p| p.to_string())
}

fn claim_record(offset: u64, c: ClaimEntry) -> AuditRecord {
    AuditRecord {
        seq: c.seq,
        at_ms: c.at_ms,
        op: "claim",
        request_id: Some(c.request_id),
        nik: c.nik,
        kk: c.kk,
        program: Some(c.program),
        period: period_text(c.period),
        amount: c.amount,
        entitled: c.entitled,
        operator: (!c.operator.is_empty()).then_some(c.operator),
        outcome: if c.paid { "paid" } else { "refused" },
        reasons: c.verdict.reasons.iter().map(ReasonCode::as_str).collect(),
        reverses: None,
        reason: None,
        change: None,
        date: None,
        source: None,
        offset: Some(offset),
    }
}

fn reverse_record(offset: u64, r: ReverseEntry, payee: (Option<u64>, Option<u64>)) -> AuditRecord {
    AuditRecord {
        seq: r.seq,
        at_ms: r.at_ms,
        op: "reverse",
        request_id: Some(r.request_id),
        nik: payee.0,
        kk: payee.1,
        program: Some(r.program),
        period: period_text(r.period),
        amount: r.amount,
        entitled: None,
        operator: (!r.operator.is_empty()).then_some(r.operator),
        outcome: "reversed",
        reasons: Vec::new(),
        reverses: Some(r.original),
        reason: Some(r.reason),
        change: None,
        date: None,
        source: None,
        offset: Some(offset),
    }
}

fn change_record((seq, c): (u64, ChangeAudit)) -> AuditRecord {
    AuditRecord {
        seq,
        at_ms: c.at_ms,
        op: "apply",
        request_id: None,
        nik: c.nik,
        kk: c.kk,
        program: c.program,
        period: None,
        amount: None,
        entitled: None,
        operator: None,
        outcome: "applied",
        reasons: Vec::new(),
        reverses: None,
        reason: None,
        change: Some(c.kind),
        date: Some(c.date),
        source: Some(format!("{}:{}", c.file, c.line)),
        offset: None,
    }
}

/// What a claims-log record is, as [`Store::claims_log_from`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogEntry {
    /// A claim, paid or refused.
    Claim(LogClaim),
    /// The reversal of a paid claim.
    Reverse(LogReversal),
}

/// A claim as the claims log holds it (a replicator's view: every field a
/// central ledger stores).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogClaim {
    /// The request id.
    pub request_id: String,
    /// The payee's NIK, when the request named a valid one.
    pub nik: Option<u64>,
    /// The family card, for family programs.
    pub kk: Option<u64>,
    /// The program's code.
    pub program: String,
    /// The period key ([`crate::Period::to_key`]).
    pub period: u32,
    /// The program was paid per family (the claim key is the KK, else the
    /// NIK).
    pub family: bool,
    /// Whether it paid.
    pub paid: bool,
    /// The amount paid in rupiah (as stated, else the entitlement).
    pub amount: Option<u64>,
    /// The program's entitlement for this payee and period, where set.
    pub entitled: Option<u64>,
    /// The payee's village when the claim was decided (0: no known person).
    pub village: u64,
    /// The operator or device that asked (empty when none was given).
    pub operator: String,
    /// Caller's metadata.
    pub meta: String,
    /// The verdict's reason codes.
    pub reasons: Vec<&'static str>,
}

/// A reversal as the claims log holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogReversal {
    /// The reversal's own request id.
    pub request_id: String,
    /// The reversed claim's request id.
    pub reverses: String,
    /// The reversed claim's position (byte offset) in this log.
    pub claim_offset: u64,
    /// The reversed claim's program code and period key.
    pub program: String,
    /// The reversed claim's period key.
    pub period: u32,
    /// The reversed claim's amount.
    pub amount: Option<u64>,
    /// Why it was reversed.
    pub reason: String,
    /// The operator or device that asked (empty when none was given).
    pub operator: String,
}

/// One claims-log record with its position: what a replicator ships.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogRecord {
    /// The record's byte offset in the log: its position, unique in this
    /// store's log and never reused for a synced record.
    pub offset: u64,
    /// The offset just past it: where the next record starts, so the
    /// high-water mark a replicator keeps once it has this record.
    pub end: u64,
    /// Audit order (shared with the applied changes).
    pub seq: u64,
    /// When, milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The claim or reversal.
    pub entry: LogEntry,
}

impl LogRecord {
    /// Replaces a keyed store's pseudonyms in a claim by the NIK and KK
    /// behind them (a sync run with the point's key: the central ledger
    /// then matches the point's claims with every other point's). A value
    /// the key does not reveal is left as it is.
    pub fn reveal(&mut self, key: &crate::snapshot::IdentityKey) {
        use crate::domain::{kk::Kk, nik::Nik};
        if let LogEntry::Claim(c) = &mut self.entry {
            c.nik = c
                .nik
                .map(|n| key.reveal_nik(Nik::from_stored(n)).map_or(n, Nik::get));
            c.kk =
                c.kk.map(|k| key.reveal_kk(Kk::from_stored(k)).map_or(k, Kk::get));
        }
    }
}

/// The records of a store's claims log from one position on, in log order
/// ([`Store::claims_log_from`]). It reads only what a sync covered when it
/// was made, with `pread` beside the store's writers: no lock, no write.
pub struct LogRecords {
    reader: Reader,
}

impl Iterator for LogRecords {
    type Item = Result<LogRecord>;

    fn next(&mut self) -> Option<Result<LogRecord>> {
        match self.reader.next_record() {
            Ok(Some((offset, payload))) => Some(log_record(&self.reader, offset, &payload)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

impl Store {
    /// The claims log's records from byte `from` on (0 or the header's
    /// length: from the first), in log order, each with its position: the
    /// read-only way a replicator (`tepat sync`) ships a store's payouts.
    ///
    /// `from` must be a record's start or the end of the durable log (a
    /// high-water mark this log gave); anything else fails with the file
    /// and the offset. It covers the records durable when it is called.
    pub fn claims_log_from(&self, from: u64) -> Result<LogRecords> {
        use crate::payouts::claims_log::{HEADER_LEN, RECORD_HEADER_LEN};
        let end = self.ledger.synced_bytes();
        let refuse = |why: String| crate::error::Error::ClaimsLog {
            file: self.dir().join(super::CLAIMS_LOG),
            message: format!("position {from} {why}: it was not given by this store's log"),
        };
        if from > end {
            return Err(refuse(format!("is past the end of the log ({end} bytes)")));
        }
        let reader = self.ledger.reader(from);
        // The reader would take a position inside the last record for the
        // end: check that `from` starts a whole record (its marker and
        // checksum), so that a wrong position is never a silent "nothing".
        if from != end && from != 0 && from != HEADER_LEN {
            let starts_record = from > HEADER_LEN
                && from + RECORD_HEADER_LEN as u64 <= end
                && reader
                    .record_at(from)
                    .is_ok_and(|p| from + (RECORD_HEADER_LEN + p.len()) as u64 <= end);
            if !starts_record {
                return Err(refuse(format!(
                    "is no record's start (no record at byte {from})"
                )));
            }
        }
        Ok(LogRecords { reader })
    }
}

fn log_record(log: &Reader, offset: u64, payload: &[u8]) -> Result<LogRecord> {
    let end = offset + (crate::payouts::claims_log::RECORD_HEADER_LEN + payload.len()) as u64;
    let entry: Entry = decode(payload, log.path(), offset)?;
    Ok(match entry {
        Entry::Claim(c) => LogRecord {
            offset,
            end,
            seq: c.seq,
            at_ms: c.at_ms,
            entry: LogEntry::Claim(LogClaim {
                reasons: c.verdict.reasons.iter().map(ReasonCode::as_str).collect(),
                request_id: c.request_id,
                nik: c.nik,
                kk: c.kk,
                program: c.program,
                period: c.period,
                family: c.family,
                paid: c.paid,
                amount: c.amount,
                entitled: c.entitled,
                village: c.village,
                operator: c.operator,
                meta: c.meta,
            }),
        },
        Entry::Reverse(r) => LogRecord {
            offset,
            end,
            seq: r.seq,
            at_ms: r.at_ms,
            entry: LogEntry::Reverse(LogReversal {
                request_id: r.request_id,
                reverses: r.original,
                claim_offset: r.claim_offset,
                program: r.program,
                period: r.period,
                amount: r.amount,
                reason: r.reason,
                operator: r.operator,
            }),
        },
    })
}
