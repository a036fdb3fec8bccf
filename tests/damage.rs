//! Every file of a store, damaged every way a disk, a restore or an
//! operator damages files: emptied, truncated (at every record boundary and
//! inside records, for the claims log), a flipped bit (in every record of
//! the claims log, across the snapshot, `CURRENT` and the live state), a
//! zeroed page, another store's file, an older copy of the same store's
//! file, a FIFO, a directory.
//!
//! Pass: the store is refused with a message naming the part; or it opens,
//! reports the torn tail it kept aside, and answers as before but for the
//! unfinished write; or it opens and answers exactly as before; or — for
//! damage inside the snapshot's sections, which opening (constant time)
//! does not read — `Store::verify` refuses it. Never a panic, never a hang,
//! never a changed answer that nothing reports.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use tepat::register::PersonRecord;
use tepat::{ClaimRequest, Registry, Store};

fn cp(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success());
}

fn claim(store: &Store, id: &str, nik: &str, program: &str, period: &str) -> bool {
    store
        .claim(&ClaimRequest {
            request_id: id.into(),
            nik: nik.into(),
            program: program.into(),
            period: period.into(),
            ..Default::default()
        })
        .unwrap()
        .paid
}

/// A store with claims, a reversal and a pending death.
fn reference(dir: &Path, records: &[PersonRecord]) {
    let store = common::create_store(records, dir);
    let niks: Vec<String> = records.iter().map(|r| r.nik.to_string()).collect();
    let mut paid = 0;
    for (i, nik) in niks.iter().enumerate().step_by(3) {
        paid += usize::from(claim(&store, &format!("k-{i}"), nik, "PKH", "2026-Q4"));
        paid += usize::from(claim(&store, &format!("b-{i}"), nik, "PBI_JK", "2026-11"));
    }
    assert!(paid > 10, "{paid} paid");
    let first = store.claims().unwrap()[0].record.request_id.clone();
    store.reverse("undo-1", &first, "test").unwrap();
    let death = format!(
        "{}\ndeath,{},,,,,,,,,,,,2026-11-03\n",
        tepat::change::HEADER,
        niks[1]
    );
    store.apply_csv(death.as_bytes(), "deaths.csv").unwrap();
}

/// Everything the store answers about its persons and payouts.
#[derive(Debug, PartialEq)]
struct Answers {
    verdicts: BTreeMap<(String, &'static str), (bool, u16)>,
    claims: Vec<(String, u32, String)>,
    requests: usize,
}

fn answers(store: &Store, records: &[PersonRecord]) -> tepat::Result<Answers> {
    let mut verdicts = BTreeMap::new();
    for r in records {
        for (program, period) in [
            ("PKH", "2026-Q4"),
            ("PBI_JK", "2026-11"),
            ("SEMBAKO", "2026-Q4"),
        ] {
            let v = store.check_str(&r.nik.to_string(), program, period)?;
            verdicts.insert((r.nik.to_string(), program), (v.payable, v.reasons.0));
        }
    }
    let claims = store
        .claims()?
        .into_iter()
        .map(|c| (c.program, c.period, c.record.request_id))
        .collect();
    let requests = store.audit(None, None)?.len();
    Ok(Answers {
        verdicts,
        claims,
        requests,
    })
}

/// One way of damaging a file.
#[derive(Clone, Debug)]
enum Damage {
    Empty,
    Truncate(usize),
    Flip(usize, u8),
    ZeroPage(usize),
    /// The same file of another store, or of an older copy of this one.
    Replace(PathBuf),
    Fifo,
    Directory,
}

fn apply(path: &Path, damage: &Damage) {
    let bytes = || std::fs::read(path).unwrap();
    match damage {
        Damage::Empty => std::fs::write(path, b"").unwrap(),
        Damage::Truncate(n) => {
            let b = bytes();
            std::fs::write(path, &b[..(*n).min(b.len())]).unwrap();
        }
        Damage::Flip(at, bit) => {
            let mut b = bytes();
            if let Some(x) = b.get_mut(*at) {
                *x ^= bit;
            }
            std::fs::write(path, &b).unwrap();
        }
        Damage::ZeroPage(at) => {
            let mut b = bytes();
            let end = (at + 4096).min(b.len());
            if *at < end {
                b[*at..end].fill(0);
            }
            std::fs::write(path, &b).unwrap();
        }
        Damage::Replace(from) => {
            if path.is_dir() {
                std::fs::remove_dir_all(path).unwrap();
            } else {
                std::fs::remove_file(path).unwrap();
            }
            cp(from, path);
        }
        Damage::Fifo => {
            std::fs::remove_file(path).unwrap();
            assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
        }
        Damage::Directory => {
            std::fs::remove_file(path).unwrap();
            std::fs::create_dir(path).unwrap();
        }
    }
}

/// What a damaged store did, as a line for the failure message.
enum Outcome {
    Refused(String),
    TornKept,
    Same,
    CaughtByVerify,
}

/// Opens the damaged store (in a thread: a hang is a failure, not a stuck
/// test) and judges it.
fn judge(dir: &Path, records: &[PersonRecord], expected: &Answers) -> Result<Outcome, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (dir2, records2) = (dir.to_path_buf(), records.to_vec());
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(
            || -> Result<(Option<Answers>, bool, Option<String>), String> {
                let store = match Store::open_with(&dir2, common::options()) {
                    Ok(s) => s,
                    Err(e) => return Ok((None, false, Some(e.to_string()))),
                };
                let torn = store.torn_claims_kept().is_some();
                let got = answers(&store, &records2).ok();
                let verify = store.verify().err().map(|e| e.to_string());
                Ok((got, torn, verify))
            },
        );
        let _ = tx.send(outcome.map_err(|_| "panicked".to_owned()).and_then(|r| r));
    });
    let result = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .map_err(|_| "hangs".to_owned())??;
    Ok(match result {
        (None, false, Some(refused)) => Outcome::Refused(refused),
        (_, true, _) => Outcome::TornKept,
        (Some(got), _, _) if got == *expected => Outcome::Same,
        (_, _, Some(_)) => Outcome::CaughtByVerify,
        (got, _, None) => return Err(format!("an answer changed silently: {got:?}")),
    })
}

/// The damages tried on `file` (relative to the store), given its bytes.
fn damages(file: &str, bytes: &[u8], other: &Path, older: &Path) -> Vec<Damage> {
    let mut out = vec![
        Damage::Empty,
        Damage::Replace(other.join(file)),
        Damage::Replace(older.join(file)),
        Damage::Fifo,
        Damage::Directory,
    ];
    let len = bytes.len();
    if file == "claims.log" {
        // Every record boundary, and the middle of every record.
        let mut at = 32;
        out.push(Damage::Truncate(0));
        out.push(Damage::Truncate(16));
        while at < len {
            let n = 16 + u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
            out.push(Damage::Truncate(at));
            out.push(Damage::Truncate(at + n / 2));
            out.push(Damage::Flip(at + n / 2, 0x04));
            out.push(Damage::Flip(at + 5, 0x10));
            at += n;
        }
    } else {
        let step = (len / 48).max(1);
        for at in (0..len).step_by(step) {
            out.push(Damage::Truncate(at));
            out.push(Damage::Flip(at, 1 << (at % 8)));
        }
        for at in [0, 8, 16, 64, 248, 255] {
            out.push(Damage::Flip(at, 0x01));
        }
    }
    for page in (0..len).step_by(4096).take(24) {
        out.push(Damage::ZeroPage(page));
    }
    out.push(Damage::ZeroPage(len.saturating_sub(4096)));
    out
}

/// Whether a refusal names the part that is damaged.
fn names_part(message: &str, file: &str) -> bool {
    let part = match file {
        f if f.starts_with("live") => "live",
        "claims.log" => "claims",
        "CURRENT" => "CURRENT",
        _ => "snapshot",
    };
    message.contains(part) || message.contains(file)
}

#[test]
fn every_file_damaged_every_way_is_refused_or_answers_as_before() {
    let tmp = tempfile::tempdir().unwrap();
    let records = common::register(60, 5);
    let (base, other, older) = (
        tmp.path().join("base"),
        tmp.path().join("other"),
        tmp.path().join("older"),
    );
    reference(&base, &records);
    // An older copy: the same store before its last payouts and change.
    let young = tmp.path().join("young");
    cp(&base, &young);
    let store = common::open(&base);
    claim(
        &store,
        "late-1",
        &records[40].nik.to_string(),
        "PBI_JK",
        "2026-11",
    );
    let death = format!(
        "{}\ndeath,{},,,,,,,,,,,,2026-11-03\n",
        tepat::change::HEADER,
        records[2].nik
    );
    store.apply_csv(death.as_bytes(), "d2.csv").unwrap();
    let expected = answers(&store, &records).unwrap();
    drop(store);
    std::fs::rename(&young, &older).unwrap();
    // Another store of the same register.
    drop(common::create_store(&records, &other));

    let mut files = vec![
        "CURRENT".to_owned(),
        "snapshot-000001.tepat".to_owned(),
        "claims.log".to_owned(),
    ];
    for e in std::fs::read_dir(base.join("live")).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            files.push(format!("live/{}", e.file_name().to_string_lossy()));
        }
    }
    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    let mut trial = 0;
    for file in &files {
        let bytes = std::fs::read(base.join(file)).unwrap();
        for damage in damages(file, &bytes, &other, &older) {
            if matches!(&damage, Damage::Replace(p) if !p.exists()) {
                continue;
            }
            trial += 1;
            let dir = tmp.path().join(format!("t{trial}"));
            cp(&base, &dir);
            apply(&dir.join(file), &damage);
            let what = format!("{file} {damage:?}");
            match judge(&dir, &records, &expected) {
                Ok(Outcome::Refused(m)) => {
                    assert!(
                        names_part(&m, file),
                        "{what}: refused without naming it: {m}"
                    );
                    *tally.entry("refused").or_default() += 1;
                }
                Ok(Outcome::TornKept) => *tally.entry("torn tail kept").or_default() += 1,
                Ok(Outcome::Same) => *tally.entry("same answers").or_default() += 1,
                Ok(Outcome::CaughtByVerify) => *tally.entry("refused by verify").or_default() += 1,
                Err(e) => panic!("{what}: {e}"),
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    eprintln!("{trial} damaged stores: {tally:?}");
    assert!(tally["refused"] > trial / 2, "{tally:?}");
    let _ = Registry::builtin();
}
