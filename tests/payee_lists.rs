//! Payee lists as a bank's spreadsheet writes them, and the details a bank
//! needs on a refused row (issue "Payouts as operators run them", item 8).

mod common;

use tepat::batch::{OutputFormat, verify_csv};
use tepat::{ClaimRequest, ReasonCode, Store};

fn run(store: &Store, input: &str) -> Vec<String> {
    let mut out = Vec::new();
    verify_csv(
        store,
        input.as_bytes(),
        "payees.csv",
        &mut out,
        OutputFormat::Csv,
        |_| {},
    )
    .unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A `;`-separated file with a BOM and headers in capitals reads like the
/// plain one; the output is `,`-separated with the names as written.
#[test]
fn a_spreadsheets_list_reads_like_a_plain_one() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(40, 7);
    let store = common::create_store(&records, dir.path());
    let niks: Vec<String> = records.iter().take(6).map(|r| r.nik.to_string()).collect();
    let mut plain = String::from("nik,program,period,ref\n");
    let mut sheet = String::from("\u{feff}NIK ; Program;PERIOD;Ref\r\n");
    for (i, n) in niks.iter().enumerate() {
        plain.push_str(&format!("{n},PKH,2026-Q4,r{i}\n"));
        sheet.push_str(&format!("{n};PKH;2026-Q4;r{i}\r\n"));
    }
    let a = run(&store, &plain);
    let b = run(&store, &sheet);
    assert_eq!(b[0], "line,NIK,Program,PERIOD,Ref,payable,reasons,detail");
    assert_eq!(a.len(), b.len());
    assert_eq!(a[1..], b[1..], "the rows' verdicts differ");
    // A header without the columns is still an error naming the column.
    let mut out = Vec::new();
    let err = verify_csv(
        &store,
        &b"nomor;program;period\n"[..],
        "payees.csv",
        &mut out,
        OutputFormat::Csv,
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("payees.csv") && err.contains("`nik`"), "{err}");
}

/// The detail names why a NIK is not one, the request that already paid,
/// and the program that excludes.
#[test]
fn a_refused_row_says_what_a_bank_needs() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(300, 11);
    let store = common::create_store(&records, dir.path());
    let payable = |program: &str, period: &str| {
        records
            .iter()
            .map(|r| r.nik.to_string())
            .find(|n| store.check_str(n, program, period).unwrap().payable)
    };
    let paid = payable("SEMBAKO", "2026-Q4").expect("someone payable for SEMBAKO");
    let outcome = store
        .claim(&ClaimRequest {
            request_id: "BANK-0001".into(),
            nik: paid.clone(),
            program: "SEMBAKO".into(),
            period: "2026-Q4".into(),
            ..Default::default()
        })
        .unwrap();
    assert!(outcome.paid);
    let excluded = records
        .iter()
        .map(|r| r.nik.to_string())
        .find(|n| {
            let v = store.check_str(n, "BLT_DD", "2026-11").unwrap();
            v.reasons.contains(ReasonCode::ExcludedBy)
        })
        .expect("someone BLT_DD excludes");
    let input = format!(
        "nik,program,period\n320101570890000,PKH,2026-Q4\n{paid},SEMBAKO,2026-Q4\n{excluded},BLT_DD,2026-11\n"
    );
    let lines = run(&store, &input);
    assert!(
        lines[1].contains("invalid_nik") && lines[1].contains("invalid NIK: a NIK has 16 digits"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("already_claimed")
            && lines[2].contains("already paid by request BANK-0001"),
        "{}",
        lines[2]
    );
    let conflicts = store
        .check_str(&excluded, "BLT_DD", "2026-11")
        .unwrap()
        .conflicts;
    let code = store.registry().program(conflicts[0].program).code.clone();
    assert!(
        lines[3].contains("excluded_by") && lines[3].contains(&format!("enrolled in {code}")),
        "{}",
        lines[3]
    );
}

fn bulk(store: &Store, input: &str) -> (tepat::bulk::BulkSummary, Vec<String>) {
    let mut out = Vec::new();
    let s = tepat::bulk::claim_csv(
        store,
        input.as_bytes(),
        "paid.csv",
        "ref",
        "bank-7",
        &mut out,
        |_| {},
    )
    .unwrap();
    let lines = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    (s, lines)
}

/// A bulk run claims each row once; a rerun of the same list replays every
/// row and pays nobody again; a row that cannot be read is an error of its
/// own, not the end of the list.
#[test]
fn a_bulk_run_is_idempotent_per_row() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(200, 5);
    let store = common::create_store(&records, dir.path());
    let mut input = String::from("Ref;NIK;Program;Period;Amount\n");
    for (i, r) in records.iter().enumerate() {
        input.push_str(&format!("B-{i};{};SEMBAKO;2026-Q4;\n", r.nik));
    }
    input.push_str("B-bad;3201015708900001;SEMBAKO;2026-Q4;12x\n");
    let (first, lines) = bulk(&store, &input);
    assert_eq!(first.rows, records.len() as u64 + 1);
    assert_eq!(first.errors, 1);
    assert!(first.paid > 0 && first.refused > 0, "{first:?}");
    assert_eq!(first.replayed, 0);
    assert_eq!(lines[0], tepat::bulk::BULK_HEADER);
    assert!(
        lines.last().unwrap().contains("not a whole number"),
        "{lines:?}"
    );
    // One family is paid once whichever member's row comes first.
    let paid_rows = lines.iter().filter(|l| l.contains(",paid,")).count() as u64;
    assert_eq!(paid_rows, first.paid);
    let (again, _) = bulk(&store, &input);
    assert_eq!(again.paid, 0, "a rerun paid someone: {again:?}");
    assert_eq!(again.replayed, first.paid + first.refused);
    for (i, r) in records.iter().enumerate() {
        let v = store
            .check_str(&r.nik.to_string(), "SEMBAKO", "2026-Q4")
            .unwrap();
        assert!(!v.payable, "row {i} is payable after the bulk run");
    }
    let audit = store.request(&format!("B-{}", records.len() - 1)).unwrap();
    assert!(audit.is_some());
}
