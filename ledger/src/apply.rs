//! A staged batch into `claims` and `reversals`, in log order, with its
//! double payments flagged (docs/LEDGER.md, "The double-payment flag").
//!
//! A paid claim arriving while another paid, unreversed claim holds its key
//! (program, period, person or family) is a double payment that already
//! happened offline: it is stored with `double_payment` set and `held_by`
//! naming the holder, and stays outside the unique index
//! `claims_key_holder`, which admits one unflagged holder per key.
//!
//! Order inside a batch: a reversal frees its claim's key before a later
//! claim of the batch takes it, so the batch's reversals of claims already
//! in the ledger are applied first, and the batch's own claims that the
//! batch reverses arrive already reversed.

use postgres::Transaction;

use crate::error::{DbContext, Error, Result};

/// Reversals of claims already in the ledger, before the batch's claims
/// (whose flags depend on who still holds a key).
const REVERSE_HELD: &str = "UPDATE claims c SET reversed = true
    FROM ledger_stage s
    WHERE s.kind = 'reverse' AND c.point = $1 AND c.log_offset = s.claim_offset";

/// The batch's claims. `repeats`: a second unreversed paid claim of one key
/// in one batch (a store never pays one key twice; if one did, it is
/// flagged rather than breaking the unique index), found by a hash
/// aggregate rather than a window's sort. The holder is the oldest paid,
/// unreversed claim of the key, flagged or not: a key stays held while any
/// payment of it stands.
const INSERT_CLAIMS: &str = "WITH undone AS (
        SELECT DISTINCT claim_offset FROM ledger_stage WHERE kind = 'reverse'
    ), staged AS (
        SELECT s.*, s.paid AND u.claim_offset IS NULL AS holds,
               u.claim_offset IS NOT NULL AS reversed_here,
               CASE WHEN s.family THEN 'family' ELSE 'person' END COLLATE \"C\" AS key_kind
        FROM ledger_stage s LEFT JOIN undone u ON u.claim_offset = s.log_offset
        WHERE s.kind = 'claim'
    ), repeats AS (
        SELECT program, period, key_kind, claim_key, min(log_offset) AS first
        FROM staged WHERE holds
        GROUP BY program, period, key_kind, claim_key HAVING count(*) > 1
    ), inserted AS (
        INSERT INTO claims (point, log_offset, seq, request_id, program, period, period_key,
            key_kind, claim_key, nik, kk, amount, entitled, village, operator, meta, at,
            outcome, reasons, reversed, double_payment, held_by)
        SELECT $1, s.log_offset, s.seq, s.request_id, s.program, s.period, s.period_key,
            s.key_kind, s.claim_key, s.nik, s.kk, s.amount, s.entitled, s.village,
            s.operator, s.meta,
            timestamptz 'epoch' + s.at_ms * interval '1 millisecond',
            CASE WHEN s.paid THEN 'paid' ELSE 'refused' END, s.reasons, s.reversed_here,
            s.paid AND (h.id IS NOT NULL OR coalesce(s.log_offset > r.first, false)), h.id
        FROM staged s
        LEFT JOIN repeats r ON s.holds AND r.program = s.program AND r.period = s.period
            AND r.key_kind = s.key_kind AND r.claim_key = s.claim_key
        LEFT JOIN LATERAL (
            SELECT c.id FROM claims c
            WHERE s.paid AND c.program = s.program AND c.period = s.period
              AND c.key_kind = s.key_kind AND c.claim_key = s.claim_key
              AND c.outcome = 'paid' AND NOT c.reversed
            ORDER BY c.id LIMIT 1) h ON true
        ORDER BY s.log_offset
        RETURNING double_payment
    )
    SELECT count(*), count(*) FILTER (WHERE double_payment) FROM inserted";

/// A reversal whose claim is in neither the ledger nor the batch: the
/// point's log and the ledger disagree.
const ORPHAN_REVERSAL: &str = "SELECT s.log_offset, s.claim_offset FROM ledger_stage s
    WHERE s.kind = 'reverse' AND NOT EXISTS (
        SELECT 1 FROM claims c WHERE c.point = $1 AND c.log_offset = s.claim_offset)
    ORDER BY s.log_offset LIMIT 1";

const INSERT_REVERSALS: &str = "INSERT INTO reversals (point, log_offset, seq, request_id,
        claim_id, reverses_request, claim_offset, program, period, amount, reason, operator, at)
    SELECT $1, s.log_offset, s.seq, s.request_id, c.id, s.reverses, s.claim_offset,
        s.program, s.period, s.amount, s.reason, s.operator,
        timestamptz 'epoch' + s.at_ms * interval '1 millisecond'
    FROM ledger_stage s JOIN claims c ON c.point = $1 AND c.log_offset = s.claim_offset
    WHERE s.kind = 'reverse'
    ORDER BY s.log_offset";

/// Moves the staged batch of `point` into the ledger; returns the claims
/// inserted and how many of them were flagged as double payments.
pub(crate) fn apply(tx: &mut Transaction<'_>, point: &str) -> Result<(u64, u64)> {
    let what = |step: &str| format!("{step} of point {point:?}'s batch");
    tx.execute(REVERSE_HELD, &[&point])
        .db(|| what("applying the reversals"))?;
    let row = tx
        .query_one(INSERT_CLAIMS, &[&point])
        .db(|| what("inserting the claims"))?;
    let (claims, flagged): (i64, i64) = (row.get(0), row.get(1));
    if let Some(orphan) = tx
        .query_opt(ORPHAN_REVERSAL, &[&point])
        .db(|| what("checking the reversals"))?
    {
        let (at, claim): (i64, i64) = (orphan.get(0), orphan.get(1));
        return Err(Error::Point {
            point: point.into(),
            message: format!(
                "the reversal at byte {at} of its log reverses a claim at byte {claim} \
                 that the ledger does not hold"
            ),
        });
    }
    tx.execute(INSERT_REVERSALS, &[&point])
        .db(|| what("inserting the reversals"))?;
    Ok((claims as u64, flagged as u64))
}
