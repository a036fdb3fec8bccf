//! Bulk claims: a payee list a bank has verified, recorded as paid in one
//! run. Each row is a [`Store::claim`] with the request id from one of its
//! columns, so a rerun of the same list (after a crash, or twice by
//! mistake) replays every row it had recorded and pays none twice. Many
//! claims are in flight at once, so the group commit carries them in a few
//! flushes; each row's outcome is written only once its claim is durable.

use std::borrow::Cow;
use std::io::{BufRead, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::batch::PayeeColumns;
use crate::csv::Lines;
use crate::error::{Error, Result};
use crate::store::{ClaimOutcome, ClaimRequest, Store};

/// Claims in flight at once: enough waiters for each flush of the group
/// commit to carry many (a 1 M-row list on a 10 M store: 47 k rows/s with
/// 256, 38 k with 64; docs/BENCHMARKS-payouts.md, "Bulk claims").
const IN_FLIGHT: usize = 256;

/// Rows read, claimed and written together.
const BLOCK: usize = 4096;

/// The header of [`claim_csv`]'s output.
pub const BULK_HEADER: &str =
    "line,request_id,nik,program,period,outcome,replayed,amount,reasons,detail";

/// What a bulk run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BulkSummary {
    /// Rows read (the header not counted).
    pub rows: u64,
    /// Rows paid by this run.
    pub paid: u64,
    /// Rows whose request id was recorded before (by an earlier run): the
    /// first outcome, paid or refused, is what they report.
    pub replayed: u64,
    /// Rows refused by this run (a reason blocks).
    pub refused: u64,
    /// Rows that could not be claimed: unreadable, or refused as an error
    /// (a request id reused with other content, an unknown program).
    pub errors: u64,
}

/// Claims every row of a payee list (CSV with `nik`, `program`, `period`
/// and the request id column, and optionally `amount`, found by header name
/// in any case; `,` or `;` separated). Writes one output row per input row,
/// in order ([`BULK_HEADER`]), each after its claim is durable. `operator`
/// is recorded with every claim.
pub fn claim_csv(
    store: &Store,
    input: impl BufRead,
    file: &str,
    request_column: &str,
    operator: &str,
    out: &mut impl Write,
    mut progress: impl FnMut(&BulkSummary),
) -> Result<BulkSummary> {
    let (mut lines, header) = Lines::open(input, file)?;
    let columns = PayeeColumns::from_header(&header, file)?;
    let request = columns
        .position(request_column)
        .ok_or_else(|| Error::Input {
            file: file.to_owned(),
            message: format!(
                "line 1: no `{request_column}` column (the request ids) in the header"
            ),
        })?;
    let io = |e| Error::io("bulk claims output", e);
    writeln!(out, "{BULK_HEADER}").map_err(io)?;
    let mut summary = BulkSummary::default();
    let mut rows: Vec<(u64, std::result::Result<ClaimRequest, String>)> = Vec::new();
    loop {
        rows.clear();
        while rows.len() < BLOCK {
            let Some((line_no, line)) = lines.next_line()? else {
                break;
            };
            let row = match line.utf8_error() {
                Some(why) => Err(why),
                None => claim_request(line.text(), &columns, request, operator),
            };
            rows.push((line_no, row));
        }
        if rows.is_empty() {
            return Ok(summary);
        }
        let outcomes = claim_all(store, &rows);
        for ((line_no, row), outcome) in rows.iter().zip(outcomes) {
            write_outcome(out, &mut summary, *line_no, row, outcome).map_err(io)?;
        }
        out.flush().map_err(io)?;
        progress(&summary);
    }
}

/// A row as the claim it asks for.
fn claim_request(
    line: &str,
    cols: &PayeeColumns,
    request: usize,
    operator: &str,
) -> std::result::Result<ClaimRequest, String> {
    let mut fields: Vec<Cow<'_, str>> = Vec::new();
    crate::csv::split_by(line, cols.sep, &mut fields).map_err(str::to_owned)?;
    if fields.len() != cols.names.len() {
        return Err(format!(
            "{} fields, the header has {}",
            fields.len(),
            cols.names.len()
        ));
    }
    let amount = match cols.amount.map(|a| fields[a].trim()) {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<u64>()
                .ok()
                .filter(|_| text.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| format!("amount {text:?} is not a whole number of rupiah"))?,
        ),
    };
    Ok(ClaimRequest {
        request_id: fields[request].trim().to_owned(),
        nik: fields[cols.nik].trim().to_owned(),
        program: fields[cols.program].trim().to_owned(),
        period: fields[cols.period].trim().to_owned(),
        amount,
        operator: operator.to_owned(),
        meta: String::new(),
    })
}

type RowOutcome = Option<Result<ClaimOutcome>>;

/// Claims a block's readable rows, [`IN_FLIGHT`] at a time.
fn claim_all(
    store: &Store,
    rows: &[(u64, std::result::Result<ClaimRequest, String>)],
) -> Vec<RowOutcome> {
    let results: Vec<Mutex<RowOutcome>> = rows.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..IN_FLIGHT.min(rows.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((_, row)) = rows.get(i) else { break };
                    if let Ok(req) = row {
                        let outcome = store.claim(req);
                        if let Ok(mut slot) = results[i].lock() {
                            *slot = Some(outcome);
                        }
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}

/// Writes one row's outcome and counts it.
fn write_outcome(
    out: &mut impl Write,
    summary: &mut BulkSummary,
    line_no: u64,
    row: &std::result::Result<ClaimRequest, String>,
    outcome: RowOutcome,
) -> std::io::Result<()> {
    summary.rows += 1;
    let f = |s: &str| crate::csv::field(s).into_owned();
    let (req, outcome) = match (row, outcome) {
        (Ok(req), Some(o)) => (req, o),
        (Err(why), _) => {
            summary.errors += 1;
            return writeln!(out, "{line_no},,,,,error,false,,invalid_row,{}", f(why));
        }
        (Ok(_), None) => {
            summary.errors += 1;
            return writeln!(out, "{line_no},,,,,error,false,,,the claim did not run");
        }
    };
    let ids = format!(
        "{line_no},{},{},{},{}",
        f(&req.request_id),
        f(&req.nik),
        f(&req.program),
        f(&req.period)
    );
    match outcome {
        Err(e) => {
            summary.errors += 1;
            writeln!(out, "{ids},error,false,,,{}", f(&e.to_string()))
        }
        Ok(o) => {
            if o.replayed {
                summary.replayed += 1;
            } else if o.paid {
                summary.paid += 1;
            } else {
                summary.refused += 1;
            }
            let detail = o.reversed.as_ref().map_or(String::new(), |r| {
                format!("reversed since by {}: do not pay it out", r.request_id)
            });
            writeln!(
                out,
                "{ids},{},{},{},{},{}",
                if o.paid { "paid" } else { "refused" },
                o.replayed,
                o.amount.map_or(String::new(), |a| a.to_string()),
                o.verdict.reasons.join(),
                f(&detail)
            )
        }
    }
}
