//! The payouts report: what the ledger paid, reversed and refused, and the
//! sums, by region, program and period — read from the claims log alone
//! (streamed, one pass), not from the register.
//!
//! A claim counts where its payee lived when it was decided (the village
//! the claim recorded); a claim for a NIK that was no known person counts
//! under the district its NIK was issued in, and one for an invalid NIK
//! under region `-`. A reversal counts where the claim it reverses did.

use std::collections::BTreeMap;

use super::Store;
use crate::domain::period::Period;
use crate::domain::region::RegionCode;
use crate::error::Result;
use crate::payouts::codec::decode;
use crate::payouts::records::{ClaimEntry, Entry};
use crate::report::By;

/// Which claims [`Store::payouts_report`] counts (every field optional).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PayoutsFilter {
    /// Only this period (`2026-Q4`).
    pub period: Option<String>,
    /// Only this program's code.
    pub program: Option<String>,
}

impl PayoutsFilter {
    /// Counts only claims of `period`.
    pub fn period(mut self, period: &str) -> PayoutsFilter {
        self.period = Some(period.to_owned());
        self
    }

    /// Counts only claims of `program`.
    pub fn program(mut self, program: &str) -> PayoutsFilter {
        self.program = Some(program.to_owned());
        self
    }
}

/// One row: a region, a program and a period, with its counts and sums.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PayoutsRow {
    /// The region's code at the report's level, `00` for the nation, `-`
    /// for claims of an invalid NIK.
    pub region_code: String,
    /// The region's name.
    pub region: String,
    /// The program's code.
    pub program: String,
    /// The period (`2026-Q4`).
    pub period: String,
    /// Paid claims (reversed or not).
    pub paid: u64,
    /// Their amounts, in rupiah.
    pub paid_amount: u64,
    /// Paid claims recorded with no amount (a program with no entitlement,
    /// and no amount stated): counted in `paid`, not in the sums.
    pub paid_without_amount: u64,
    /// Reversals.
    pub reversed: u64,
    /// The reversed claims' amounts.
    pub reversed_amount: u64,
    /// Refused claims.
    pub refused: u64,
}

impl PayoutsRow {
    /// What stayed paid: `paid_amount - reversed_amount`.
    pub fn net_amount(&self) -> u64 {
        self.paid_amount.saturating_sub(self.reversed_amount)
    }

    fn add(&mut self, other: &PayoutsRow) {
        self.paid += other.paid;
        self.paid_amount += other.paid_amount;
        self.paid_without_amount += other.paid_without_amount;
        self.reversed += other.reversed;
        self.reversed_amount += other.reversed_amount;
        self.refused += other.refused;
    }
}

/// The report: national rows first (one per program and period), then one
/// per region, program and period, in code order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PayoutsReport {
    /// The rows.
    pub rows: Vec<PayoutsRow>,
}

/// The CSV header of [`PayoutsReport::write_csv`].
pub const PAYOUTS_HEADER: &str = "region_code,region,program,period,paid,paid_amount,\
     paid_without_amount,reversed,reversed_amount,refused,net_amount";

impl PayoutsReport {
    /// Writes the report as CSV ([`PAYOUTS_HEADER`]).
    pub fn write_csv(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        writeln!(out, "{PAYOUTS_HEADER}")?;
        for r in &self.rows {
            writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{}",
                r.region_code,
                crate::csv::field(&r.region),
                r.program,
                r.period,
                r.paid,
                r.paid_amount,
                r.paid_without_amount,
                r.reversed,
                r.reversed_amount,
                r.refused,
                r.net_amount()
            )?;
        }
        Ok(())
    }

    /// The national rows only.
    pub fn national(&self) -> impl Iterator<Item = &PayoutsRow> {
        self.rows.iter().filter(|r| r.region_code == "00")
    }
}

/// A row's key while counting: region (`None`: an invalid NIK), program,
/// period key.
type Key = (Option<u64>, String, u32);

impl Store {
    /// Paid, reversed and refused claims and their sums by region, program
    /// and period, from every claim and reversal a sync covers.
    pub fn payouts_report(&self, by: By, filter: &PayoutsFilter) -> Result<PayoutsReport> {
        let period = filter.period.as_deref().map(Period::parse).transpose()?;
        let admits = |program: &str, key: u32| {
            filter.program.as_deref().is_none_or(|p| p == program)
                && period.is_none_or(|p| p.to_key() == key)
        };
        let mut tally: BTreeMap<Key, PayoutsRow> = BTreeMap::new();
        let mut log = self.ledger.reader(0);
        while let Some((offset, payload)) = log.next_record()? {
            match decode::<Entry>(&payload, log.path(), offset)? {
                Entry::Claim(c) if admits(&c.program, c.period) => {
                    let row = tally.entry(key_of(&c, by)).or_default();
                    if !c.paid {
                        row.refused += 1;
                    } else if let Some(a) = c.amount {
                        row.paid += 1;
                        row.paid_amount += a;
                    } else {
                        row.paid += 1;
                        row.paid_without_amount += 1;
                    }
                }
                Entry::Reverse(r) if admits(&r.program, r.period) => {
                    let at = r.claim_offset;
                    if let Entry::Claim(c) = decode::<Entry>(&log.record_at(at)?, log.path(), at)? {
                        let row = tally.entry(key_of(&c, by)).or_default();
                        row.reversed += 1;
                        row.reversed_amount += r.amount.unwrap_or(0);
                    }
                }
                _ => {}
            }
        }
        Ok(self.rows_of(tally, by))
    }

    /// The counted rows with names, after the national totals.
    fn rows_of(&self, tally: BTreeMap<Key, PayoutsRow>, by: By) -> PayoutsReport {
        let snap = self.snapshot();
        let regions = snap.regions();
        let level = by.level();
        let mut national: BTreeMap<(String, u32), PayoutsRow> = BTreeMap::new();
        let mut rows = Vec::with_capacity(tally.len());
        for ((region, program, period), mut row) in tally {
            let text =
                Period::from_key(period).map_or_else(|| period.to_string(), |p| p.to_string());
            row.program = program.clone();
            row.period = text.clone();
            let n = national.entry((program, period)).or_default();
            n.add(&row);
            (n.program, n.period) = (row.program.clone(), text);
            match region.and_then(|v| RegionCode::new(level, v)) {
                Some(code) => {
                    row.region_code = code.to_string();
                    row.region = regions
                        .get(code)
                        .map_or_else(|| code.to_string(), |r| r.name.clone());
                }
                None => {
                    row.region_code = "-".into();
                    row.region = "invalid NIK".into();
                }
            }
            rows.push(row);
        }
        let mut out: Vec<PayoutsRow> = national
            .into_values()
            .map(|mut n| {
                n.region_code = "00".into();
                n.region = "Indonesia".into();
                n
            })
            .collect();
        out.append(&mut rows);
        PayoutsReport { rows: out }
    }
}

/// Where a claim counts (see the module's notes).
fn key_of(c: &ClaimEntry, by: By) -> Key {
    let region = match (c.village, c.nik) {
        // A pseudonym's digits are no region: unknown, as with no NIK.
        (0, Some(nik)) if nik & crate::nik::KEYED_BIT != 0 => None,
        (0, Some(nik)) => Some(nik / 10_000_000_000 * 10_000 / by.divisor()),
        (0, None) => None,
        (village, _) => Some(village / by.divisor()),
    };
    (region, c.program.clone(), c.period)
}
