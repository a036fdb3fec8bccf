//! Payee lists (`tepat::batch::verify_csv`) from arbitrary text, against the
//! fixture store. Proves: no input panics; a header with `nik`, `program`
//! and `period` columns is never an error; every input row gives exactly
//! one output row, in order, numbered by its line; the summary counts the
//! rows it wrote; and every readable row gets the same reasons as
//! `Store::check_str` on the same fields (plus `repeated_in_list`, which
//! only a row that would otherwise pay can get).

use tepat::batch::{OutputFormat, verify_csv};

/// The check run on every input.
pub fn check(data: &[u8]) {
    let store = super::fixture::shared_store();
    let mut out = Vec::new();
    let result = verify_csv(
        store,
        data,
        "payees.csv",
        &mut out,
        OutputFormat::Csv,
        |_| {},
    );
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap_or("")
        .trim_start_matches('\u{feff}')
        .trim_end_matches('\r');
    // A header's own quoting is the library's CSV splitter's business (the
    // csv_rows target's); here a quoted header only must not panic.
    if header.contains('"') {
        return;
    }
    // The separator is the header's commoner of `;` and `,`; names match in
    // any case, trimmed.
    let sep = if header.matches(';').count() > header.matches(',').count() {
        ';'
    } else {
        ','
    };
    let columns: Vec<&str> = header.split(sep).map(str::trim).collect();
    let col = |name: &str| columns.iter().position(|c| c.eq_ignore_ascii_case(name));
    let (Some(nik_col), Some(program_col), Some(period_col)) =
        (col("nik"), col("program"), col("period"))
    else {
        assert!(result.is_err(), "a header without the columns was accepted");
        return;
    };
    if text.is_empty() {
        assert!(result.is_err());
        return;
    }
    let summary = result.unwrap_or_else(|e| panic!("a readable list failed: {e}"));
    let rows: Vec<&str> = lines.collect();
    let out = String::from_utf8(out).unwrap();
    let mut out_lines = out.split_terminator('\n');
    let names: Vec<String> = columns
        .iter()
        .map(|c| {
            if c.contains([',', '\n', '\r']) {
                format!("\"{c}\"")
            } else {
                (*c).to_owned()
            }
        })
        .collect();
    assert_eq!(
        out_lines.next(),
        Some(format!("line,{},payable,reasons,detail", names.join(",")).as_str())
    );
    let out_rows: Vec<&str> = out_lines.collect();
    assert_eq!(out_rows.len(), rows.len(), "one output row per input row");
    assert_eq!(summary.rows, rows.len() as u64);
    assert_eq!(summary.payable + summary.refused, summary.rows);
    let (mut payable, mut invalid, mut repeated) = (0, 0, 0);
    let registry = store.registry();
    for (i, row) in out_rows.iter().enumerate() {
        let fields = split(row).unwrap_or_else(|| panic!("output row {row:?} is not CSV"));
        let n = fields.len();
        assert_eq!(n, columns.len() + 4, "{row:?}");
        assert_eq!(fields[0], (i + 2).to_string());
        let (is_payable, reasons, detail) = (&fields[n - 3], &fields[n - 2], &fields[n - 1]);
        let is_payable = match is_payable.as_str() {
            "true" => true,
            "false" => false,
            other => panic!("payable is {other:?}"),
        };
        payable += u64::from(is_payable);
        let mut codes: Vec<&str> = reasons.split('|').filter(|c| !c.is_empty()).collect();
        if codes.contains(&"invalid_row") {
            invalid += 1;
            assert!(!is_payable && !detail.is_empty() && codes == ["invalid_row"]);
            continue;
        }
        let was_repeated = codes.contains(&"repeated_in_list");
        if was_repeated {
            repeated += 1;
            assert!(!is_payable);
            codes.retain(|c| *c != "repeated_in_list");
        }
        let f = |c: usize| fields[1 + c].as_str();
        let verdict = store
            .check_str(f(nik_col), f(program_col), f(period_col))
            .unwrap_or_else(|e| panic!("row {row:?} was readable but check_str says {e}"));
        assert_eq!(
            codes.join("|"),
            verdict.reasons.join(),
            "batch and check disagree on {row:?}"
        );
        assert_eq!(
            is_payable || was_repeated,
            verdict.payable,
            "batch and check disagree on payable for {row:?}"
        );
        let _ = &registry;
    }
    assert_eq!(payable, summary.payable);
    assert_eq!(invalid, summary.invalid);
    assert_eq!(repeated, summary.repeated);

    // The JSON-lines form: one object per row.
    let mut json = Vec::new();
    let again = verify_csv(
        store,
        data,
        "payees.csv",
        &mut json,
        OutputFormat::JsonLines,
        |_| {},
    );
    assert_eq!(again.ok(), Some(summary));
    assert_eq!(json.iter().filter(|&&b| b == b'\n').count(), rows.len());
}

/// Splits one line of RFC 4180 CSV as `verify_csv` writes it.
fn split(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    out.push(field);
                    return Some(out);
                }
                Some(',') => out.push(field),
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        out.push(field);
                        return Some(out);
                    }
                    Some(',') => break,
                    Some(c) => field.push(c),
                }
            }
            out.push(field);
        }
    }
}
