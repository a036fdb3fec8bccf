//! The payouts report as the JSON rows `tepat report payouts --format
//! json` prints and `GET /v1/reports/payouts` answers: one writer, so the
//! two never differ.

use serde_json::{Value, json};
use tepat::store::PayoutsReport;

/// One object per row: region, program, period, paid, reversed and refused
/// counts and sums.
pub fn payouts(report: &PayoutsReport) -> Value {
    let rows = report
        .rows
        .iter()
        .map(|r| {
            json!({
                "region_code": r.region_code, "region": r.region,
                "program": r.program, "period": r.period,
                "paid": r.paid, "paid_amount": r.paid_amount,
                "paid_without_amount": r.paid_without_amount,
                "reversed": r.reversed, "reversed_amount": r.reversed_amount,
                "refused": r.refused, "net_amount": r.net_amount(),
            })
        })
        .collect();
    Value::Array(rows)
}
