//! The report as CSV or JSON (NIKs and KKs as 16-digit strings: Papua's
//! exceed 2^53, so JSON numbers would lose digits).

use serde_json::{Value, json};

use crate::report::{DoublePayment, Payment, Report, Totals, Unclaimed};

/// The header of the double payments' CSV table.
pub const DOUBLE_PAYMENTS_HEADER: &str = "program,period,key_kind,claim_key,nik,kk,\
first_point,first_at,first_amount,first_request,first_reversed,\
point,at,amount,request,reversed";

/// The header of the totals' CSV table.
pub const TOTALS_HEADER: &str = "group,name,program,period,paid,paid_amount,reversed,\
reversed_amount,double_payments,double_payment_amount,refused";

fn id16(v: Option<i64>) -> String {
    v.map(|v| tepat::nik::identity_text(v as u64))
        .unwrap_or_default()
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn payment_csv(p: Option<&Payment>) -> String {
    match p {
        Some(p) => format!(
            "{},{},{},{},{}",
            field(&p.point),
            p.at,
            opt(p.amount),
            field(&p.request_id),
            p.reversed
        ),
        None => ",,,,".into(),
    }
}

/// The report as CSV: the double payments' table, an empty line, then the
/// totals' table (the nation last, group `00`), each with its header.
pub fn write_csv(report: &Report, out: &mut impl std::io::Write) -> std::io::Result<()> {
    writeln!(out, "{DOUBLE_PAYMENTS_HEADER}")?;
    for d in &report.double_payments {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            field(&d.program),
            d.period,
            d.key_kind,
            id16(Some(d.claim_key)),
            id16(d.nik),
            id16(d.kk),
            payment_csv(d.first.as_ref()),
            payment_csv(Some(&d.again)),
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{TOTALS_HEADER}")?;
    for t in report.totals.iter().chain([&report.national()]) {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{}",
            field(&t.group),
            field(&t.name),
            field(&t.program),
            t.period,
            t.paid,
            t.paid_amount,
            t.reversed,
            t.reversed_amount,
            t.double_payments,
            t.double_payment_amount,
            t.refused
        )?;
    }
    Ok(())
}

fn payment_json(p: &Payment) -> Value {
    json!({
        "point": p.point, "at": p.at, "amount": p.amount,
        "request_id": p.request_id, "reversed": p.reversed,
    })
}

fn double_json(d: &DoublePayment) -> Value {
    json!({
        "program": d.program, "period": d.period, "key_kind": d.key_kind,
        "claim_key": id16(Some(d.claim_key)),
        "nik": d.nik.map(|n| id16(Some(n))), "kk": d.kk.map(|k| id16(Some(k))),
        "first": d.first.as_ref().map(payment_json),
        "again": payment_json(&d.again),
    })
}

fn totals_json(t: &Totals) -> Value {
    json!({
        "group": t.group, "name": t.name, "program": t.program, "period": t.period,
        "paid": t.paid, "paid_amount": t.paid_amount,
        "reversed": t.reversed, "reversed_amount": t.reversed_amount,
        "double_payments": t.double_payments,
        "double_payment_amount": t.double_payment_amount, "refused": t.refused,
    })
}

/// The report as one JSON object: `double_payments`, `totals` and
/// `national`.
pub fn to_json(report: &Report) -> Value {
    json!({
        "double_payments": report.double_payments.iter().map(double_json).collect::<Vec<_>>(),
        "totals": report.totals.iter().map(totals_json).collect::<Vec<_>>(),
        "national": totals_json(&report.national()),
    })
}

/// The header of [`write_unclaimed_csv`]'s table.
pub const UNCLAIMED_HEADER: &str =
    "point,request_id,program,period,key_kind,claim_key,nik,reserved_at,age_secs";

/// The unclaimed reservations as one CSV table.
pub fn write_unclaimed_csv(
    rows: &[Unclaimed],
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    writeln!(out, "{UNCLAIMED_HEADER}")?;
    for u in rows {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{}",
            field(&u.point),
            field(&u.request_id),
            field(&u.program),
            u.period,
            u.key_kind,
            id16(Some(u.claim_key)),
            id16(Some(u.nik)),
            u.reserved_at,
            u.age_secs
        )?;
    }
    Ok(())
}

/// The unclaimed reservations as a JSON array (NIKs and KKs as strings).
pub fn unclaimed_json(rows: &[Unclaimed]) -> Value {
    rows.iter()
        .map(|u| {
            json!({
                "point": u.point, "request_id": u.request_id, "program": u.program,
                "period": u.period, "key_kind": u.key_kind,
                "claim_key": id16(Some(u.claim_key)), "nik": id16(Some(u.nik)),
                "reserved_at": u.reserved_at, "age_secs": u.age_secs,
            })
        })
        .collect()
}
