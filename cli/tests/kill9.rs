//! Durability against `kill -9`: a child process claims from several
//! threads and reports every acknowledged request; the parent kills it at
//! random moments, reopens the store and checks that every acknowledged
//! claim is there with the same outcome, that nobody was paid twice, and
//! that the audit log agrees.
//!
//! `TEPAT_KILL9_ROUNDS=1000 cargo test -p tepat-cli --test kill9` for a
//! longer soak (default 50 rounds).

#[path = "../../tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use tepat::Store;
use tepat::register::PersonRecord;

/// The quarter of one round, as (year, quarter): each round pays its own.
fn quarter_of(round: usize) -> (usize, usize) {
    (2000 + round / 4, round % 4 + 1)
}

/// The store's date in a round: mid-way through the round's quarter's first
/// month, so that both the quarter and that month are open.
fn today_of(round: usize) -> String {
    let (year, q) = quarter_of(round);
    format!("{year}-{:02}-15", (q - 1) * 3 + 1)
}

/// The work of one round: every member of 40 families claims PKH for a
/// quarter and PBI-JK for a month that belong to this round.
fn work(records: &[PersonRecord], round: usize) -> String {
    let (year, q) = quarter_of(round);
    let quarter = format!("{year}-Q{q}");
    let month = format!("{year}-{:02}", (q - 1) * 3 + 1);
    records
        .iter()
        .take(160)
        .flat_map(|r| {
            [
                format!("{},PKH,{quarter}", r.nik),
                format!("{},PBI_JK,{month}", r.nik),
            ]
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn acknowledged_claims_survive_kill_9() {
    let rounds: usize = std::env::var("TEPAT_KILL9_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(60, 11);
    drop(common::create_store(&records, dir.path()));
    let kk_of: HashMap<u64, u64> = records.iter().map(|r| (r.nik.get(), r.kk.get())).collect();
    let mut acked: BTreeMap<String, bool> = BTreeMap::new();
    let mut rng = common::Rng(99);

    for round in 0..rounds {
        let work_file = dir.path().join("work.csv");
        std::fs::write(&work_file, work(&records, round)).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_tepat"))
            .args([
                "stress-claims",
                "--threads",
                "4",
                "--prefix",
                &format!("r{round}"),
            ])
            .arg("--store")
            .arg(dir.path())
            .args(["--today", &today_of(round)])
            .arg("--work")
            .arg(&work_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| {
                    let mut f = l.split(' ');
                    (f.next() == Some("ack"))
                        .then(|| (f.next().unwrap().to_owned(), f.next() == Some("paid")))
                })
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(30 + rng.below(120)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        acked.extend(reader.join().unwrap());

        let store = Store::open(dir.path()).unwrap();
        // Every acknowledged claim is there, with the outcome acknowledged.
        for (id, paid) in &acked {
            let rec = store
                .request(id)
                .unwrap()
                .unwrap_or_else(|| panic!("round {round}: acknowledged {id} is lost"));
            assert_eq!(rec.done, *paid, "round {round}: {id} changed its outcome");
        }
        // Nobody paid twice: one paid claim per family (PKH) or person
        // (PBI-JK) and period, counted from the audit log.
        let audit = store.audit(None, None).unwrap();
        let mut paid: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut audited: HashMap<String, String> = HashMap::new();
        for e in &audit {
            let id = e.request_id.clone().unwrap();
            assert!(
                audited.insert(id.clone(), e.outcome.to_owned()).is_none(),
                "{id} audited twice"
            );
            if e.outcome == "paid" {
                let nik = e.nik.unwrap();
                let program = e.program.as_deref().unwrap();
                let period = e.period.clone().unwrap();
                let subject = if program == "PKH" { kk_of[&nik] } else { nik };
                *paid
                    .entry((format!("{program}/{subject}"), period))
                    .or_default() += 1;
            }
        }
        for (key, n) in &paid {
            assert_eq!(*n, 1, "round {round}: {key:?} paid {n} times");
        }
        // The audit agrees with every acknowledged outcome.
        for (id, was_paid) in &acked {
            let outcome = audited
                .get(id)
                .unwrap_or_else(|| panic!("{id} is not in the audit log"));
            assert_eq!(outcome == "paid", *was_paid, "{id}");
        }
    }
    assert!(
        acked.values().filter(|p| **p).count() > rounds,
        "the child paid too little to test anything"
    );
    eprintln!(
        "kill -9: {rounds} rounds, {} acknowledged requests survived",
        acked.len()
    );
}

/// `tepat claim --batch` killed midway: every row it acknowledged (wrote
/// to its output) is recorded with that outcome, and a rerun of the same
/// list finishes the rest and pays no row twice.
#[test]
fn a_bulk_run_killed_midway_pays_each_acknowledged_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(1500, 21);
    let store_dir = dir.path().join("store");
    drop(common::create_store(&records, &store_dir));
    let list = dir.path().join("paid.csv");
    let mut csv = String::from("ref,nik,program,period\n");
    for (i, r) in records.iter().enumerate() {
        csv.push_str(&format!("K-{i},{},PBI_JK,2026-11\n", r.nik));
    }
    std::fs::write(&list, csv).unwrap();
    let out = dir.path().join("paid.claims.csv");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_tepat"))
            .args([
                "claim",
                "--store",
                store_dir.to_str().unwrap(),
                "--today",
                "2026-11-15",
            ])
            .args(["--batch", list.to_str().unwrap(), "--request-column", "ref"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut child = run();
    // Kill it once it has acknowledged some rows, and not all of them.
    let acked_text = loop {
        std::thread::sleep(Duration::from_millis(5));
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if text.lines().count() > 1 || child.try_wait().unwrap().is_some() {
            child.kill().ok(); // SIGKILL
            child.wait().unwrap();
            break std::fs::read_to_string(&out).unwrap_or_default();
        }
    };
    // Only whole lines were acknowledged.
    let acked: Vec<&str> = match acked_text.rfind('\n') {
        Some(end) => acked_text[..end].lines().skip(1).collect(),
        None => Vec::new(),
    };
    let first: HashMap<String, String> = acked
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_owned(), f[5].to_owned())
        })
        .collect();
    eprintln!(
        "acknowledged before the kill: {} of {}",
        first.len(),
        records.len()
    );
    assert!(run().wait().unwrap().success());
    let rerun = std::fs::read_to_string(&out).unwrap();
    let mut paid_now = 0;
    for line in rerun.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (id, outcome, replayed) = (f[1], f[5], f[6]);
        if let Some(was) = first.get(id) {
            assert_eq!((outcome, replayed), (was.as_str(), "true"), "{line}");
        }
        paid_now += usize::from(outcome == "paid" && replayed == "false");
    }
    assert_eq!(rerun.lines().count(), records.len() + 1);
    let store = Store::open_with(&store_dir, common::options()).unwrap();
    for (id, outcome) in &first {
        let recorded = store
            .request(id)
            .unwrap()
            .expect("an acknowledged row is recorded");
        assert_eq!(recorded.done, outcome == "paid", "{id}");
    }
    // Nobody paid twice: each payable person once, across both runs.
    let payable_before = paid_now + first.values().filter(|o| *o == "paid").count();
    assert!(payable_before <= records.len());
    for r in &records {
        let v = store
            .check_str(&r.nik.to_string(), "PBI_JK", "2026-11")
            .unwrap();
        assert!(!v.payable, "{} payable after the runs", r.nik);
    }
}
