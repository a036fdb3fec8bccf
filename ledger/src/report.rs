//! `tepat ledger report`: the cross-point double payments (who, which
//! points, when, amounts) and the paid / reversed counts and sums, by
//! province, regency or point, from the ledger alone.
//!
//! A claim counts where its payee lived when it was decided (the village
//! the claim recorded), or, for a NIK that was no known person, under the
//! region its NIK was issued in; a reversal counts with its claim.

use postgres::Client;
use tepat::RegionTable;

use crate::error::{DbContext, Error, Result};
use crate::migrate::require_current;

/// How the counts are grouped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum By {
    /// 38 provinces (two-digit codes).
    #[default]
    Province,
    /// Regencies and cities (four-digit codes).
    Regency,
    /// Payout points.
    Point,
}

impl std::str::FromStr for By {
    type Err = Error;

    fn from_str(s: &str) -> Result<By> {
        match s {
            "province" => Ok(By::Province),
            "regency" => Ok(By::Regency),
            "point" => Ok(By::Point),
            _ => Err(Error::Usage(format!(
                "--by {s:?}: expected province, regency or point"
            ))),
        }
    }
}

impl By {
    /// The SQL of the group a claim row `c` counts under.
    fn group_sql(self) -> &'static str {
        match self {
            By::Province => {
                "lpad((CASE WHEN c.village > 0 THEN c.village / 100000000
                  WHEN c.nik >= 4611686018427387904 THEN 0
                  ELSE coalesce(c.nik, 0) / 100000000000000 END)::text, 2, '0')"
            }
            By::Regency => {
                "lpad((CASE WHEN c.village > 0 THEN c.village / 1000000
                  WHEN c.nik >= 4611686018427387904 THEN 0
                  ELSE coalesce(c.nik, 0) / 1000000000000 END)::text, 4, '0')"
            }
            By::Point => "c.point",
        }
    }

    /// The name of a group (a region's published name; a point's id).
    fn name(self, group: &str) -> String {
        let regions = RegionTable::builtin();
        let region = match self {
            By::Province => group.parse().ok().and_then(|c| regions.province(c)),
            By::Regency => group.parse().ok().and_then(|c| regions.regency(c)),
            By::Point => return group.to_owned(),
        };
        region.map(|r| r.name.clone()).unwrap_or_default()
    }
}

/// One claim of a double payment: where and when it was paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    /// The payout point.
    pub point: String,
    /// When, ISO 8601 UTC.
    pub at: String,
    /// The amount in rupiah, where known.
    pub amount: Option<i64>,
    /// The request id at that point.
    pub request_id: String,
    /// Whether it was reversed since.
    pub reversed: bool,
}

/// A paid claim whose key another point's claim held when it arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoublePayment {
    /// The program's code.
    pub program: String,
    /// The period (`2026-Q4`).
    pub period: String,
    /// `person` or `family`.
    pub key_kind: String,
    /// The NIK or KK the key is.
    pub claim_key: i64,
    /// The payee's NIK, where known.
    pub nik: Option<i64>,
    /// The family card, for family programs.
    pub kk: Option<i64>,
    /// The claim that held the key (`None`: a repeat within one batch of
    /// one point, which a store never records).
    pub first: Option<Payment>,
    /// The claim flagged.
    pub again: Payment,
}

/// Counts and sums of one group, program and period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// The group: a region code or a point.
    pub group: String,
    /// The region's name (empty for points and unknown codes).
    pub name: String,
    /// The program's code.
    pub program: String,
    /// The period.
    pub period: String,
    /// Paid claims (reversed or not).
    pub paid: i64,
    /// Their amounts.
    pub paid_amount: i64,
    /// Reversed claims.
    pub reversed: i64,
    /// Their amounts.
    pub reversed_amount: i64,
    /// Paid claims flagged as double payments.
    pub double_payments: i64,
    /// Their amounts.
    pub double_payment_amount: i64,
    /// Refused claims.
    pub refused: i64,
}

/// The report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Every double payment, by program, period and key.
    pub double_payments: Vec<DoublePayment>,
    /// Counts by group, program and period.
    pub totals: Vec<Totals>,
}

impl Report {
    /// The totals of every group added up (group `00`, the nation).
    pub fn national(&self) -> Totals {
        let mut t = Totals {
            group: "00".into(),
            name: "Indonesia".into(),
            ..Totals::default()
        };
        for r in &self.totals {
            t.paid += r.paid;
            t.paid_amount += r.paid_amount;
            t.reversed += r.reversed;
            t.reversed_amount += r.reversed_amount;
            t.double_payments += r.double_payments;
            t.double_payment_amount += r.double_payment_amount;
            t.refused += r.refused;
        }
        t
    }
}

const ISO: &str = "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'";

/// Reads the report: every double payment, and the totals `by` group, of
/// `period` only when given.
pub fn report(client: &mut Client, by: By, period: Option<&str>) -> Result<Report> {
    require_current(client)?;
    Ok(Report {
        double_payments: double_payments(client, period)?,
        totals: totals(client, by, period)?,
    })
}

fn double_payments(client: &mut Client, period: Option<&str>) -> Result<Vec<DoublePayment>> {
    let sql = format!(
        "SELECT c.program, c.period, c.key_kind, c.claim_key, c.nik, c.kk,
                c.point, to_char(c.at AT TIME ZONE 'UTC', {ISO}), c.amount, c.request_id,
                c.reversed, h.point, to_char(h.at AT TIME ZONE 'UTC', {ISO}), h.amount,
                h.request_id, h.reversed
         FROM claims c LEFT JOIN claims h ON h.id = c.held_by
         WHERE c.double_payment AND ($1::text IS NULL OR c.period = $1)
         ORDER BY c.program, c.period, c.key_kind, c.claim_key, c.id"
    );
    let rows = client
        .query(&sql, &[&period])
        .db(|| "reading the double payments".into())?;
    Ok(rows
        .iter()
        .map(|r| DoublePayment {
            program: r.get(0),
            period: r.get(1),
            key_kind: r.get(2),
            claim_key: r.get(3),
            nik: r.get(4),
            kk: r.get(5),
            again: Payment {
                point: r.get(6),
                at: r.get(7),
                amount: r.get(8),
                request_id: r.get(9),
                reversed: r.get(10),
            },
            first: r.get::<_, Option<String>>(11).map(|point| Payment {
                point,
                at: r.get(12),
                amount: r.get(13),
                request_id: r.get(14),
                reversed: r.get(15),
            }),
        })
        .collect())
}

fn totals(client: &mut Client, by: By, period: Option<&str>) -> Result<Vec<Totals>> {
    let sql = format!(
        "SELECT {} AS g, c.program, c.period,
            count(*) FILTER (WHERE c.outcome = 'paid'),
            coalesce(sum(c.amount) FILTER (WHERE c.outcome = 'paid'), 0)::bigint,
            count(*) FILTER (WHERE c.reversed),
            coalesce(sum(c.amount) FILTER (WHERE c.reversed), 0)::bigint,
            count(*) FILTER (WHERE c.double_payment),
            coalesce(sum(c.amount) FILTER (WHERE c.double_payment), 0)::bigint,
            count(*) FILTER (WHERE c.outcome = 'refused')
         FROM claims c
         WHERE ($1::text IS NULL OR c.period = $1)
         GROUP BY 1, 2, 3, c.period_key ORDER BY 1, 2, c.period_key",
        by.group_sql()
    );
    let rows = client
        .query(&sql, &[&period])
        .db(|| "reading the paid and reversed totals".into())?;
    Ok(rows
        .iter()
        .map(|r| {
            let group: String = r.get(0);
            Totals {
                name: by.name(&group),
                group,
                program: r.get(1),
                period: r.get(2),
                paid: r.get(3),
                paid_amount: r.get(4),
                reversed: r.get(5),
                reversed_amount: r.get(6),
                double_payments: r.get(7),
                double_payment_amount: r.get(8),
                refused: r.get(9),
            }
        })
        .collect())
}

/// A reservation whose claim never reached the ledger: the point reserved
/// the key and then died, lost its store, or has not synced since. The
/// key stays held for everyone else until the point syncs the claim (or
/// its refusal) or the keeper releases it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unclaimed {
    /// The point that holds it.
    pub point: String,
    /// The request id it was reserved for.
    pub request_id: String,
    /// The program's code.
    pub program: String,
    /// The period.
    pub period: String,
    /// `person` or `family`.
    pub key_kind: String,
    /// The NIK or KK held.
    pub claim_key: i64,
    /// The payee's NIK.
    pub nik: i64,
    /// When it was reserved, ISO 8601 UTC.
    pub reserved_at: String,
    /// Seconds since.
    pub age_secs: i64,
}

/// Every reservation older than `older_than` whose point has shipped no
/// claim with its request id, oldest first. A younger one is most likely
/// a claim still on its way (paid, not yet synced).
pub fn unclaimed(client: &mut Client, older_than: std::time::Duration) -> Result<Vec<Unclaimed>> {
    require_current(client)?;
    let sql = format!(
        "SELECT r.point, r.request_id, r.program, r.period, r.key_kind, r.claim_key, r.nik,
                to_char(r.reserved_at AT TIME ZONE 'UTC', {ISO}),
                extract(epoch FROM now() - r.reserved_at)::bigint
         FROM reservations r
         WHERE r.reserved_at <= now() - make_interval(secs => $1)
           AND NOT EXISTS (SELECT 1 FROM claims c
                           WHERE c.point = r.point AND c.request_id = r.request_id)
         ORDER BY r.reserved_at, r.point, r.request_id"
    );
    let rows = client
        .query(&sql, &[&older_than.as_secs_f64()])
        .db(|| "reading the unclaimed reservations".into())?;
    Ok(rows
        .iter()
        .map(|r| Unclaimed {
            point: r.get(0),
            request_id: r.get(1),
            program: r.get(2),
            period: r.get(3),
            key_kind: r.get(4),
            claim_key: r.get(5),
            nik: r.get(6),
            reserved_at: r.get(7),
            age_secs: r.get(8),
        })
        .collect())
}
