//! Back office and analysts: payee lists over arrays, and the reports.

use std::ffi::{CString, c_char};

use tepat::batch::BatchVerdict;
use tepat::report::{By, Kind, Report};

use crate::batch::Batch;
use crate::boundary::{self, Out, Res, call, call_value};
use crate::codes::{Failure, tepat_status};
use crate::types::{tepat_batch_verdict, tepat_report, tepat_store, tepat_str};

/// Verifies a payee list of `rows` rows, given as three arrays of strings
/// (row `i` is `niks[i]`, `programs[i]`, `periods[i]`), on `threads`
/// threads (0: all cores); row `i`'s verdict goes to `out[i]`. The same
/// verdict as `tepat_check`, reason for reason, without the details. A row
/// whose program or period cannot be read gets `invalid_row`; an invalid
/// NIK `invalid_nik`. Rows are not compared with each other (no
/// `repeated_in_list`).
///
/// # Safety
/// `store` is NULL or an open handle; `niks`, `programs` and `periods` each
/// point to `rows` valid `tepat_str`s, each pointing to its length in
/// readable bytes; `out` points to `rows` writable `tepat_batch_verdict`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_verify_batch(
    store: *const tepat_store,
    niks: *const tepat_str,
    programs: *const tepat_str,
    periods: *const tepat_str,
    rows: usize,
    threads: u32,
    out: *mut tepat_batch_verdict,
) -> tepat_status {
    call(|| {
        // SAFETY: the caller's duties stated above; each string is read
        // under the same duty while the batch is parsed, before returning.
        let (store, batch, out) = unsafe {
            let store = boundary::store(store)?;
            let out = boundary::out_slice(out, rows, "out")?;
            let niks = boundary::slice(niks, rows, "niks")?;
            let programs = boundary::slice(programs, rows, "programs")?;
            let periods = boundary::slice(periods, rows, "periods")?;
            let registry = store.store.registry();
            let batch = Batch::parse_here(&registry, rows, |i| {
                Ok((
                    boundary::bytes(niks[i].ptr, niks[i].len, "niks[i]")?,
                    boundary::bytes(programs[i].ptr, programs[i].len, "programs[i]")?,
                    boundary::bytes(periods[i].ptr, periods[i].len, "periods[i]")?,
                ))
            })?;
            (store, batch, out)
        };
        let mut verdicts = vec![BatchVerdict::default(); rows];
        batch.verify(&store.store, threads as usize, &mut verdicts)?;
        for (o, v) in out.iter_mut().zip(&verdicts) {
            o.write(tepat_batch_verdict {
                reasons: u32::from(v.reasons.0),
                payable: v.payable,
            });
        }
        Ok(())
    })
}

/// The report kind with this name.
fn kind(name: &str) -> Res<Kind> {
    Kind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
            Failure::new(
                tepat_status::TEPAT_E_ARGUMENT,
                format!("unknown report kind {name:?}: one of {}", names.join(", ")),
            )
        })
}

/// The breakdown with this name (empty: province).
pub fn by_name(name: &str) -> Result<By, Failure> {
    match name {
        "" | "province" => Ok(By::Province),
        "regency" => Ok(By::Regency),
        "district" => Ok(By::District),
        other => Err(Failure::new(
            tepat_status::TEPAT_E_ARGUMENT,
            format!("unknown breakdown {other:?}: province, regency or district"),
        )),
    }
}

/// A report by kind and breakdown names, on `threads` threads.
pub fn report_of(
    store: &tepat::Store,
    kind_name: &str,
    by: &str,
    threads: usize,
) -> Result<Report, Failure> {
    let kind = kind(kind_name)?;
    let by = by_name(by)?;
    Ok(store.counts(by, threads)?.report(kind))
}

/// A report as a table of text cells: the CSV columns of `tepat report`.
fn table(report: &Report) -> tepat_report {
    let c = |s: &str| CString::new(s).unwrap_or_default();
    let columns: Vec<CString> = report.csv_header().split(',').map(c).collect();
    let mut cells = Vec::with_capacity(report.rows.len() * columns.len());
    for r in &report.rows {
        cells.push(c(&r.region_code));
        cells.push(c(&r.region));
        cells.extend(r.keys.iter().map(|k| c(k)));
        cells.push(c(&r.persons.to_string()));
        if report.has_families {
            cells.push(c(&r.families.map(|f| f.to_string()).unwrap_or_default()));
        }
    }
    tepat_report { columns, cells }
}

/// Counts the store (snapshot plus pending changes) and makes one report:
/// `kind` is `overlap`, `inclusion`, `exclusion`, `conflicts`, `deceased`
/// or `duplicates`; `by` is `province`, `regency` or `district` (NULL or
/// empty: province); `threads` 0 for all cores. `*out` gets a table to read
/// with `tepat_report_*` and free with `tepat_report_free`: the columns of
/// `tepat report --format csv`, the national row (`region_code` `00`)
/// first. An unknown kind or breakdown is `TEPAT_E_ARGUMENT`.
///
/// # Safety
/// `store` is NULL or an open handle; `kind` and `by` point to their
/// lengths in readable bytes (`by` may be NULL); `out` points to a writable
/// `tepat_report *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_report_create(
    store: *const tepat_store,
    kind: *const c_char,
    kind_len: usize,
    by: *const c_char,
    by_len: usize,
    threads: u32,
    out: *mut *mut tepat_report,
) -> tepat_status {
    call(|| {
        // SAFETY: the caller's duties stated above.
        let (out, args) = unsafe {
            let out = Out::new(out, "out")?;
            let args = (|| {
                Ok((
                    boundary::store(store)?,
                    boundary::text(kind, kind_len, "kind")?,
                    boundary::opt_text(by, by_len, "by")?.unwrap_or(""),
                ))
            })();
            (out, args)
        };
        let made =
            args.and_then(|(store, kind, by)| report_of(&store.store, kind, by, threads as usize));
        match made {
            Ok(report) => {
                out.write(boundary::into_raw(table(&report)));
                Ok(())
            }
            Err(e) => {
                out.write(std::ptr::null_mut());
                Err(e)
            }
        }
    })
}

/// The number of rows of a report (0 for NULL).
///
/// # Safety
/// `report` is NULL or a report from `tepat_report_create` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_report_rows(report: *const tepat_report) -> usize {
    call_value(0, || {
        // SAFETY: the caller's duty stated above.
        let r = unsafe { boundary::input(report, "report") };
        r.map_or(0, |r| r.cells.len() / r.columns.len().max(1))
    })
}

/// The number of columns of a report (0 for NULL).
///
/// # Safety
/// `report` is NULL or a report from `tepat_report_create` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_report_columns(report: *const tepat_report) -> usize {
    call_value(0, || {
        // SAFETY: the caller's duty stated above.
        unsafe { boundary::input(report, "report") }.map_or(0, |r| r.columns.len())
    })
}

/// The name of column `column` (`region_code`, ..., `persons`) into
/// `*name`: owned by the report, NUL-terminated, valid until
/// `tepat_report_free`. `TEPAT_E_ARGUMENT` past the last column.
///
/// # Safety
/// `report` is NULL or a report not yet freed; `name` points to a writable
/// `tepat_str`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_report_column(
    report: *const tepat_report,
    column: usize,
    name: *mut tepat_str,
) -> tepat_status {
    call(|| {
        // SAFETY: the caller's duties stated above.
        let (r, name) = unsafe { (boundary::input(report, "report")?, Out::new(name, "name")?) };
        let c = r
            .columns
            .get(column)
            .ok_or_else(|| out_of_range("column", column, r.columns.len()))?;
        name.write(tepat_str::of(c));
        Ok(())
    })
}

/// The text of the cell at `row`, `column` into `*text` (a number in
/// decimal; an empty `families` cell where the figure does not apply):
/// owned by the report, NUL-terminated, valid until `tepat_report_free`.
/// `TEPAT_E_ARGUMENT` outside the table.
///
/// # Safety
/// `report` is NULL or a report not yet freed; `text` points to a writable
/// `tepat_str`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_report_cell(
    report: *const tepat_report,
    row: usize,
    column: usize,
    text: *mut tepat_str,
) -> tepat_status {
    call(|| {
        // SAFETY: the caller's duties stated above.
        let (r, text) = unsafe { (boundary::input(report, "report")?, Out::new(text, "text")?) };
        let width = r.columns.len();
        let rows = r.cells.len() / width.max(1);
        if column >= width {
            return Err(out_of_range("column", column, width));
        }
        let cell = row
            .checked_mul(width)
            .and_then(|i| r.cells.get(i + column))
            .ok_or_else(|| out_of_range("row", row, rows))?;
        text.write(tepat_str::of(cell));
        Ok(())
    })
}

/// Frees a report. NULL does nothing; the report must not be used again.
///
/// # Safety
/// `report` is NULL or a report from `tepat_report_create` not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_report_free(report: *mut tepat_report) {
    call(|| {
        // SAFETY: the caller gives the report up (stated above).
        unsafe { boundary::drop_raw(report) };
        Ok(())
    });
}

fn out_of_range(what: &str, i: usize, n: usize) -> Failure {
    Failure::new(
        tepat_status::TEPAT_E_ARGUMENT,
        format!("{what} {i} is out of range: the report has {n}"),
    )
}
