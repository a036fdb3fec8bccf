//! The staging of one batch: a session's temporary table, filled with
//! binary `COPY` (the fastest way into PostgreSQL), from which the batch's
//! claims and reversals are inserted with one statement each
//! ([`crate::sync`]).

use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use tepat::Period;
use tepat::store::{LogEntry, LogRecord};

use crate::error::{DbContext, Error, Result};

/// The staging table: one row per claims-log record, claims and
/// reversals alike (`kind`). `ON COMMIT DELETE ROWS`: a batch never sees
/// the last one's rows, and a rolled-back batch leaves none.
pub(crate) const CREATE_STAGE: &str = "CREATE TEMP TABLE IF NOT EXISTS ledger_stage (
    kind text COLLATE \"C\" NOT NULL, log_offset bigint NOT NULL, seq bigint NOT NULL,
    at_ms bigint NOT NULL, request_id text NOT NULL, program text COLLATE \"C\" NOT NULL,
    period text COLLATE \"C\" NOT NULL, period_key integer NOT NULL, family boolean,
    paid boolean, claim_key bigint, nik bigint, kk bigint, amount bigint,
    entitled bigint, village bigint, operator text NOT NULL, meta text,
    reasons text, reverses text, claim_offset bigint, reason text
) ON COMMIT DELETE ROWS";

const COPY_STAGE: &str = "COPY ledger_stage (kind, log_offset, seq, at_ms, request_id, \
    program, period, period_key, family, paid, claim_key, nik, kk, amount, entitled, \
    village, operator, meta, reasons, reverses, claim_offset, reason) FROM STDIN BINARY";

const TYPES: [Type; 22] = [
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT4,
    Type::BOOL,
    Type::BOOL,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
];

/// Copies `records` into the staging table.
pub(crate) fn copy(tx: &mut Transaction<'_>, records: &[LogRecord]) -> Result<()> {
    let sink = tx
        .copy_in(COPY_STAGE)
        .db(|| "starting the COPY into the staging table".into())?;
    let mut writer = BinaryCopyInWriter::new(sink, &TYPES);
    for r in records {
        let row = Row::of(r)?;
        writer
            .write(&row.values())
            .db(|| format!("copying the record at byte {}", r.offset))?;
    }
    writer
        .finish()
        .db(|| "finishing the COPY into the staging table".into())?;
    Ok(())
}

/// One staging row, in the column order of [`COPY_STAGE`].
struct Row {
    kind: &'static str,
    log_offset: i64,
    seq: i64,
    at_ms: i64,
    request_id: String,
    program: String,
    period: String,
    period_key: i32,
    family: Option<bool>,
    paid: Option<bool>,
    claim_key: Option<i64>,
    nik: Option<i64>,
    kk: Option<i64>,
    amount: Option<i64>,
    entitled: Option<i64>,
    village: Option<i64>,
    operator: String,
    meta: Option<String>,
    reasons: Option<String>,
    reverses: Option<String>,
    claim_offset: Option<i64>,
    reason: Option<String>,
}

impl Row {
    fn of(r: &LogRecord) -> Result<Row> {
        let at = r.offset;
        let mut row = Row {
            kind: "claim",
            log_offset: int(r.offset, "offset", at)?,
            seq: int(r.seq, "seq", at)?,
            at_ms: int(r.at_ms, "time", at)?,
            request_id: String::new(),
            program: String::new(),
            period: String::new(),
            period_key: 0,
            family: None,
            paid: None,
            claim_key: None,
            nik: None,
            kk: None,
            amount: None,
            entitled: None,
            village: None,
            operator: String::new(),
            meta: None,
            reasons: None,
            reverses: None,
            claim_offset: None,
            reason: None,
        };
        match &r.entry {
            LogEntry::Claim(c) => {
                row.request_id.clone_from(&c.request_id);
                row.program.clone_from(&c.program);
                (row.period, row.period_key) = period(c.period, at)?;
                row.family = Some(c.family);
                row.paid = Some(c.paid);
                row.nik = opt(c.nik, "NIK", at)?;
                row.kk = opt(c.kk, "KK", at)?;
                row.claim_key = if c.family { row.kk } else { row.nik };
                row.amount = opt(c.amount, "amount", at)?;
                row.entitled = opt(c.entitled, "entitlement", at)?;
                row.village = Some(int(c.village, "village", at)?);
                row.operator.clone_from(&c.operator);
                row.meta = Some(c.meta.clone());
                row.reasons = Some(c.reasons.join(","));
            }
            LogEntry::Reverse(v) => {
                row.kind = "reverse";
                row.request_id.clone_from(&v.request_id);
                row.program.clone_from(&v.program);
                (row.period, row.period_key) = period(v.period, at)?;
                row.amount = opt(v.amount, "amount", at)?;
                row.operator.clone_from(&v.operator);
                row.reverses = Some(v.reverses.clone());
                row.claim_offset = Some(int(v.claim_offset, "claim offset", at)?);
                row.reason = Some(v.reason.clone());
            }
            other => {
                return Err(Error::Usage(format!(
                    "the record at byte {at} is of a kind this tepat-ledger does not know: {other:?}"
                )));
            }
        }
        Ok(row)
    }

    fn values(&self) -> [&(dyn ToSql + Sync); 22] {
        [
            &self.kind,
            &self.log_offset,
            &self.seq,
            &self.at_ms,
            &self.request_id,
            &self.program,
            &self.period,
            &self.period_key,
            &self.family,
            &self.paid,
            &self.claim_key,
            &self.nik,
            &self.kk,
            &self.amount,
            &self.entitled,
            &self.village,
            &self.operator,
            &self.meta,
            &self.reasons,
            &self.reverses,
            &self.claim_offset,
            &self.reason,
        ]
    }
}

/// A log value as PostgreSQL's `bigint`; none of tepat's exceeds it (NIKs
/// are < 10^16), so one that does is damage worth naming.
fn int(v: u64, what: &str, at: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| {
        Error::Usage(format!(
            "the record at byte {at}: its {what} {v} does not fit a bigint"
        ))
    })
}

fn opt(v: Option<u64>, what: &str, at: u64) -> Result<Option<i64>> {
    v.map(|v| int(v, what, at)).transpose()
}

fn period(key: u32, at: u64) -> Result<(String, i32)> {
    let text = Period::from_key(key)
        .map(|p| p.to_string())
        .ok_or_else(|| {
            Error::Usage(format!(
                "the record at byte {at}: period key {key} is not a period"
            ))
        })?;
    let key = i32::try_from(key).map_err(|_| {
        Error::Usage(format!(
            "the record at byte {at}: period key {key} too large"
        ))
    })?;
    Ok((text, key))
}
