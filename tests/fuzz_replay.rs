//! Replays the fuzz corpus on stable Rust: every file of
//! `fuzz/corpus/TARGET/` and `fuzz/regressions/TARGET/` goes through the
//! same check as the cargo-fuzz target `TARGET` (the checks live in
//! `fuzz/src/`, included here with `#[path]`), so `cargo test` re-runs every
//! committed seed and every past finding without cargo-fuzz.
//!
//! The seeds are written by `write_seeds` below:
//! `TEPAT_WRITE_SEEDS=1 cargo test --test fuzz_replay write_seeds -- --ignored`.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// A target's check.
type Check = fn(&[u8]);

/// Every target with its check.
const TARGETS: [(&str, Check); 6] = [
    ("nik_parse", fuzz::ids::check),
    ("snapshot_open", fuzz::snapshot::check),
    ("csv_rows", fuzz::csv_rows::check),
    ("payee_rows", fuzz::payees::check),
    ("registry_toml", fuzz::registry::check),
    ("store_ops", fuzz::store_ops::check),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Runs `check` over every file of the target's corpus and regressions;
/// returns how many files ran. Fails naming every file whose check panics.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let mut ran = 0;
    let mut failed = Vec::new();
    for kind in ["corpus", "regressions"] {
        for file in files(&fuzz_dir().join(kind).join(target)) {
            let data = std::fs::read(&file).unwrap();
            ran += 1;
            if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
                failed.push(file.display().to_string());
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: the check fails on {failed:#?}"
    );
    ran
}

#[test]
fn nik_parse_corpus() {
    assert!(replay("nik_parse", fuzz::ids::check) >= 5);
}

#[test]
fn snapshot_open_corpus() {
    assert!(replay("snapshot_open", fuzz::snapshot::check) >= 2);
}

#[test]
fn csv_rows_corpus() {
    assert!(replay("csv_rows", fuzz::csv_rows::check) >= 3);
}

#[test]
fn payee_rows_corpus() {
    assert!(replay("payee_rows", fuzz::payees::check) >= 3);
}

#[test]
fn registry_toml_corpus() {
    assert!(replay("registry_toml", fuzz::registry::check) >= 2);
}

#[test]
fn store_ops_corpus() {
    assert!(replay("store_ops", fuzz::store_ops::check) >= 3);
}

/// The committed seeds are small: the repository stays small.
#[test]
fn seeds_are_small_and_every_target_has_some() {
    for (target, _) in TARGETS {
        let seeds = files(&fuzz_dir().join("corpus").join(target));
        assert!(!seeds.is_empty(), "no seeds for {target}");
        let bytes: u64 = seeds.iter().map(|f| f.metadata().unwrap().len()).sum();
        assert!(bytes <= 16 * 1024, "{target}: {bytes} bytes of seeds");
    }
}

/// The fix-up mode of `snapshot_open` leaves a valid file as it is, and
/// makes a file with a damaged section open (so the fuzzer gets past the
/// checksums) while the untouched bytes are still refused.
#[test]
fn snapshot_fixup_reaches_past_the_checksums() {
    let good = fuzz::fixture::snapshot_bytes().to_vec();
    let mut same = good.clone();
    fuzz::snapshot::fix_checksums(&mut same);
    assert_eq!(same, good);
    let mut damaged = good.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x55;
    let snap = tepat::snapshot::Snapshot::from_bytes(damaged.clone()).unwrap();
    assert!(snap.verify().is_err(), "the damage is inside a section");
    fuzz::snapshot::fix_checksums(&mut damaged);
    assert!(tepat::snapshot::Snapshot::from_bytes(damaged).is_ok());
}

/// The store fixture pays: a PKH claim of the first family goes through
/// and a second member is refused (a store_ops seed that claims nothing
/// would prove little).
#[test]
fn store_fixture_pays_once_per_family() {
    let dir = fuzz::fixture::temp_dir();
    let store = fuzz::fixture::create_store(dir.path());
    let niks = fuzz::fixture::nik_texts();
    let req = |id: &str, nik: &str| tepat::ClaimRequest {
        request_id: id.into(),
        nik: nik.into(),
        program: "PKH".into(),
        period: "2026-Q4".into(),
        meta: String::new(),
        ..Default::default()
    };
    assert!(store.claim(&req("a", &niks[0])).unwrap().paid);
    let second = store.claim(&req("b", &niks[1])).unwrap();
    assert!(!second.paid);
    assert_eq!(second.verdict.reasons.join(), "already_claimed");
}

// ---- Findings whose fix is pending (docs/ROBUSTNESS.md, "Findings") ----

/// A section's (offset, length) from the file's section table.
fn section(bytes: &[u8], kind: u32) -> (usize, usize) {
    let count = u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as usize;
    (0..count)
        .map(|i| &bytes[256 + i * 32..256 + (i + 1) * 32])
        .find(|e| u32::from_le_bytes(e[0..4].try_into().unwrap()) == kind)
        .map(|e| {
            let off = u64::from_le_bytes(e[8..16].try_into().unwrap()) as usize;
            let len = u64::from_le_bytes(e[16..24].try_into().unwrap()) as usize;
            (off, len)
        })
        .unwrap()
}

fn pending_file(target: &str, prefix: &str) -> Vec<u8> {
    regression_in(&fuzz_dir().join("regressions/pending").join(target), prefix)
}

/// The regression file of a fixed finding.
fn regression_file(target: &str, prefix: &str) -> Vec<u8> {
    regression_in(&fuzz_dir().join("regressions").join(target), prefix)
}

fn regression_in(dir: &std::path::Path, prefix: &str) -> Vec<u8> {
    let file = files(dir)
        .into_iter()
        .find(|f| f.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .unwrap();
    std::fs::read(file).unwrap()
}

/// F1: `Snapshot::verify` accepts a family record whose KK is not a valid
/// KK number, as long as the families stay in ascending order and the
/// checksums match. `Person::kk` then answers `None` for every member, so
/// the store pays a family program without a family key (only the payee is
/// marked): another member can be paid the same program and period.
#[test]
fn finding_f1_verify_accepts_an_invalid_family_kk() {
    let mut bytes = fuzz::fixture::snapshot_bytes().to_vec();
    let (off, len) = section(&bytes, 7);
    // The last family (16-byte records, KK first): province 99 does not
    // exist, and 99... keeps the families in ascending KK order.
    let last = off + len - 16;
    bytes[last..last + 8].copy_from_slice(&9_999_999_999_999_999u64.to_le_bytes());
    fuzz::snapshot::fix_checksums(&mut bytes);
    let snap = tepat::snapshot::Snapshot::from_bytes(bytes).unwrap();
    assert!(
        snap.verify().is_err(),
        "verify accepted family KK 9999999999999999"
    );
    fuzz::snapshot::check_strict(&regression_file("snapshot_open", "F1-"));
}

/// F2 (found in format 1, where it was a directory bucket ending past the
/// last record): `Snapshot::verify` must refuse a file in which a record is
/// not found by its own NIK. Format 2's analogue: a record displaced from
/// its home line, whose home line no longer says where its displaced
/// records are (the offset in its header cut to 0), so `find` stops at the
/// home line and misses it.
#[test]
fn finding_f2_verify_refuses_a_record_a_lookup_does_not_reach() {
    use tepat::snapshot::format::{LINE_DISPLACED_SHIFT, LINE_HEADER_AT, LINE_LEN};
    let mut bytes = fuzz::fixture::snapshot_bytes().to_vec();
    let (persons, len) = section(&bytes, 6);
    let lines = u64::from_le_bytes(bytes[56..64].try_into().unwrap()) as usize;
    assert!(len / LINE_LEN >= lines);
    let header = |l: usize| persons + l * LINE_LEN + LINE_HEADER_AT;
    let home = (0..lines)
        .find(|&l| bytes[header(l)] >> LINE_DISPLACED_SHIFT != 0)
        .expect("the fixture has a line with displaced records");
    bytes[header(home)] &= (1 << LINE_DISPLACED_SHIFT) - 1;
    fuzz::snapshot::fix_checksums(&mut bytes);
    let snap = tepat::snapshot::Snapshot::from_bytes(bytes).unwrap();
    let unfound = snap
        .persons()
        .filter(|p| snap.find(p.nik().get()).is_none())
        .count();
    assert!(unfound > 0, "cutting the offset hid no record");
    assert!(
        snap.verify().is_err(),
        "verify accepted a file in which {unfound} records are not found by their NIK"
    );
    fuzz::snapshot::check_strict(&regression_file("snapshot_open", "F2-"));
}

/// F3: `Snapshot::verify` checks that each member link points to a later
/// record of the same family and that each family's first member is marked,
/// but not that every record is reached from its family's first member. A
/// record nobody links to verifies, and `Family::members` (so
/// `Store::members`, which a family claim uses to mark who it covers)
/// leaves it out: that person is not covered by the family's claim and can
/// be paid the same program and period again after moving to another card.
#[test]
fn finding_f3_verify_accepts_an_unlinked_member() {
    let mut bytes = fuzz::fixture::snapshot_bytes().to_vec();
    let snap = tepat::snapshot::Snapshot::from_bytes(bytes.clone()).unwrap();
    // The first member of a family of three: cut its link to the next.
    let first = (0..snap.family_count() as u32)
        .map(|i| snap.family_at(i).unwrap())
        .find(|f| f.members().count() == 3)
        .map(|f| f.members().next().unwrap().slot() as usize)
        .unwrap();
    drop(snap);
    let (persons, _) = section(&bytes, 6);
    // Records are 21 bytes, three to a 64-byte line; the next member is
    // bytes 8..12 of a record.
    let next = persons + first / 3 * 64 + first % 3 * 21 + 8;
    bytes[next..next + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    fuzz::snapshot::fix_checksums(&mut bytes);
    let snap = tepat::snapshot::Snapshot::from_bytes(bytes).unwrap();
    let listed: usize = (0..snap.family_count() as u32)
        .map(|i| snap.family_at(i).unwrap().members().count())
        .sum();
    assert!(
        snap.verify().is_err(),
        "verify accepted a file whose families list {listed} of {} records",
        snap.person_count()
    );
    fuzz::snapshot::check_strict(&regression_file("snapshot_open", "F3-"));
}

/// `verify` refuses line flags and record bits the builder never writes,
/// even where no answer depends on them: "first displaced" naming a line
/// that holds none of the home's records, an overflow bit on a line none
/// of whose records overflowed, a reserved bit of a record. Before commit
/// 7ddf745 it accepted all three. Each case is one change to the
/// fuzz fixture, with its checksums fixed so only the structure check can
/// see it.
#[test]
fn verify_refuses_flags_and_bits_the_builder_never_writes() {
    use tepat::snapshot::format::{
        LINE_DISPLACED_SHIFT, LINE_HEADER_AT, LINE_LEN, LINE_OVERFLOW_BIT,
    };
    let clean = fuzz::fixture::snapshot_bytes().to_vec();
    let snap = tepat::snapshot::Snapshot::from_bytes(clean.clone()).unwrap();
    snap.verify().unwrap();
    let (persons, _) = section(&clean, 6);
    let lines = u64::from_le_bytes(clean[56..64].try_into().unwrap()) as usize;
    let header = |l: usize| persons + l * LINE_LEN + LINE_HEADER_AT;
    let verify_error = |change: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = clean.clone();
        change(&mut bytes);
        fuzz::snapshot::fix_checksums(&mut bytes);
        let snap = tepat::snapshot::Snapshot::from_bytes(bytes).unwrap();
        snap.verify().err().map(|e| e.to_string())
    };
    // A line with no displaced records whose next line holds no record
    // displaced by one line: say its first displaced record is there.
    let displaced_by = |line: usize, d: u8| {
        (0..3).any(|at| {
            snap.person_at((line * 3 + at) as u32)
                .is_some_and(|p| p.home_distance() == d)
        })
    };
    let lonely = (0..lines - 1)
        .find(|&l| clean[header(l)] >> LINE_DISPLACED_SHIFT == 0 && !displaced_by(l + 1, 1))
        .expect("the fixture has a line with nothing displaced");
    let error = verify_error(&|b| b[header(lonely)] |= 1 << LINE_DISPLACED_SHIFT)
        .expect("verify accepted a first-displaced field naming an empty line");
    assert!(error.contains("first displaced"), "{error}");
    // The overflow bit on a line whose bit is clear: none of its records
    // overflowed (verify checks that each overflow record's home has it).
    let clear = (0..lines)
        .find(|&l| clean[header(l)] & LINE_OVERFLOW_BIT == 0)
        .unwrap();
    let error = verify_error(&|b| b[header(clear)] |= LINE_OVERFLOW_BIT)
        .expect("verify accepted an overflow bit with nothing overflowed");
    assert!(error.contains("overflow bit"), "{error}");
    // Bit 0 of word A of the first record, which the format reserves.
    let error = verify_error(&|b| b[persons] |= 1).expect("verify accepted a reserved bit set");
    assert!(error.contains("reserves"), "{error}");
}

/// O1: a store whose live state is gone opens as a fresh store. Removing
/// everything but `CURRENT` and the snapshot files (a restore that forgot
/// the live state, a wrong mount) makes `Store::open` create an empty live
/// state: every claim is forgotten and a family already paid is payable
/// again. Whatever the live-state layout, such a store should be refused.
#[test]
fn finding_o1_a_store_without_its_live_state_opens_empty() {
    let dir = fuzz::fixture::temp_dir();
    let nik = fuzz::fixture::nik_texts()[0].clone();
    {
        let store = fuzz::fixture::create_store(dir.path());
        let req = tepat::ClaimRequest {
            request_id: "paid-once".into(),
            nik: nik.clone(),
            program: "PKH".into(),
            period: "2026-Q4".into(),
            meta: String::new(),
            ..Default::default()
        };
        assert!(store.claim(&req).unwrap().paid);
    }
    let keep = |name: &str| name == "CURRENT" || name.starts_with("snapshot-");
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if !keep(path.file_name().unwrap().to_str().unwrap()) {
            if path.is_dir() {
                std::fs::remove_dir_all(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }
    match tepat::Store::open(dir.path()) {
        Err(_) => {}
        Ok(store) => {
            let v = store.check_str(&nik, "PKH", "2026-Q4").unwrap();
            panic!(
                "a store without its live state opened; the family paid before is now {}",
                if v.payable { "payable" } else { "refused" }
            );
        }
    }
}

/// The pending findings stay tolerated by the (non-strict) fuzz check, and
/// each has its regression file.
#[test]
fn pending_findings_have_regression_files() {
    for finding in fuzz::snapshot::PENDING {
        let file = pending_file("snapshot_open", &format!("{finding}-"));
        fuzz::snapshot::check(&file);
    }
}

/// Writes the seed corpus (run by hand; see the module docs).
#[test]
#[ignore = "writes fuzz/corpus/*/seed-*: run by hand with TEPAT_WRITE_SEEDS=1"]
fn write_seeds() {
    if std::env::var_os("TEPAT_WRITE_SEEDS").is_none() {
        return;
    }
    let write = |target: &str, name: &str, data: &[u8]| {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
    };
    let registry = tepat::Registry::builtin();
    let records = fuzz::fixture::records();
    let niks = fuzz::fixture::nik_texts();

    // nik_parse
    write("nik_parse", "nik", niks[0].as_bytes());
    write("nik_parse", "nik-female", niks[1].as_bytes());
    write("nik_parse", "kk", records[0].kk.to_string().as_bytes());
    write("nik_parse", "papua-former", b"9101014101000001");
    write("nik_parse", "feb29-yy00", b"3201016902000001");
    write("nik_parse", "lenient", b"32.01.01-570890-0001");
    write("nik_parse", "bad-day", b"3201013508900001");
    write(
        "nik_parse",
        "periods",
        b"2026-Q4\n2026-11\n2026\nonce\n2026-02-29\n320101\n",
    );
    write("nik_parse", "u64", &3_201_015_708_900_001u64.to_le_bytes());

    // snapshot_open: mode byte, then the file
    let snap = fuzz::fixture::snapshot_bytes();
    write("snapshot_open", "fixup", &[[1u8].as_slice(), snap].concat());
    write("snapshot_open", "raw", &[[0u8].as_slice(), snap].concat());
    write(
        "snapshot_open",
        "header-only",
        &[[1u8].as_slice(), &snap[..512]].concat(),
    );

    // csv_rows: a register export, change rows, odd quoting
    let mut export = format!("{}\n", tepat::register::HEADER).into_bytes();
    for r in records {
        r.write_csv(registry, &mut export).unwrap();
    }
    write("csv_rows", "register", &export);
    let changes = [
        tepat::change::HEADER,
        "death,3201015708900001,,,,,,,,,,,,2026-11-03",
        "birth,3201010111260001,3201011503150007,child,3201012001,M,2026-11-01,3,0,0,,PKH|SEMBAKO,,2026-11-01",
        "move,3201015708900001,3201011503150008,head,3201012002,,,4,,,,,,2026-11-05",
        "enrol,3201015708900001,,,,,,,,,,,PBI_JK,2026-11-06",
        "remove,3201015708900001,,,,,,,,,,,PBI_JK,2026-11-07",
        "decile,,3201011503150007,,,,,6,,,,,,2026-11-08",
    ];
    write("csv_rows", "changes", changes.join("\n").as_bytes());
    let mut quoted = format!("{}\n", tepat::register::HEADER);
    let mut row = Vec::new();
    records[2].write_csv(registry, &mut row).unwrap();
    let row = String::from_utf8(row).unwrap();
    quoted.push_str(&row.replacen(',', ",\"", 1).replacen(',', "\",", 2));
    quoted.push_str("\"a\"\"b\",x\r\n,,,\n");
    write("csv_rows", "quoted", quoted.as_bytes());

    // payee_rows
    let mut payees = String::from("nik,program,period,amount\n");
    for (i, n) in niks.iter().enumerate() {
        let program = ["PKH", "SEMBAKO", "PBI_JK"][i % 3];
        let period = if program == "PBI_JK" {
            "2026-11"
        } else {
            "2026-Q4"
        };
        payees.push_str(&format!("{n},{program},{period},{}\n", 100_000 * (i + 1)));
    }
    payees.push_str(&format!("{},PKH,2026-11,1\n", niks[0]));
    payees.push_str("123,PKH,2026-Q4,1\n");
    payees.push_str(&format!("{},NOPE,2026-Q4,1\n", niks[0]));
    payees.push_str(&format!("{},PKH,2026-Q4,1.5\n", niks[3]));
    payees.push_str(&format!("\"{}\",PKH,2026-Q4\n", niks[3]));
    write("payee_rows", "list", payees.as_bytes());
    let reordered = format!(
        "\u{feff}bank_ref,program,period,nik\r\nB1,SEMBAKO,2026-Q4,{}\r\nB2,SEMBAKO,2026-Q4,{}\r\n\"B,3\",BLT_DD,2026-11,{}\r\n",
        niks[0], niks[1], niks[15]
    );
    write("payee_rows", "reordered", reordered.as_bytes());
    write("payee_rows", "no-columns", b"nik,prog\n1,2\n");

    // registry_toml
    let builtin =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/programs.toml"))
            .unwrap();
    let stripped: String = builtin
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    write("registry_toml", "builtin", stripped.as_bytes());
    write(
        "registry_toml",
        "small",
        b"[policy]\nwarn = [\"not_eligible\"]\n\n[[program]]\ncode = \"A\"\nname = \"a\"\nunit = \"family\"\nperiod = \"month\"\neligibility = { decile = [1, 3], age = [0, 6], all_of = [\"orphan\"] }\n\n[[program]]\ncode = \"B_2\"\nname = \"b\"\nunit = \"person\"\nperiod = \"once\"\nexcludes = [{ program = \"A\", level = \"family\" }]\n",
    );
    write(
        "registry_toml",
        "bad",
        b"[[program]]\ncode = \"a b\"\nname = 1\n",
    );

    // store_ops: opcode bytes (see fuzz/src/store_ops.rs)
    #[rustfmt::skip]
    let story: &[u8] = &[
        1, 0, 0, 0, 0,  // claim: family 1, PKH, 2026-Q4: paid
        3, 0,           // retry it
        1, 1, 0, 0, 1,  // claim: a second member: already claimed
        4, 0, 0,        // the first request id with other content
        5, 0, 0,        // reverse the first claim
        6, 0,           // retry the reversal
        1, 1, 0, 0, 1,  // the second member: paid now
        8,              // reopen
        3, 2,           // retry after the restart
        1, 0, 2, 2, 0,  // PBI_JK, 2026-11, a person program
        7, 0, 0, 0,     // death of the first person
        1, 0, 2, 3, 0,  // PBI_JK 2026-12: deceased
        0, 0, 2, 3,     // check
    ];
    write("store_ops", "story", story);
    #[rustfmt::skip]
    let moves: &[u8] = &[
        1, 5, 1, 0, 0,  // SEMBAKO for family 3
        7, 5, 0, 4, 2, 0, 3, // move that person to family 1's card
        1, 5, 1, 0, 1,  // claim again through the mover: covered
        1, 0, 1, 0, 2,  // family 1 itself
        7, 3, 4, 3, 2,  // decile change of a family
        1, 16, 3, 2, 0, // BLT_DD for the last family
        1, 9, 7, 3, 0,  // PERMAKANAN
        2, 17, 5, 5, 0, // ATENSI once, the duplicate identity
        2, 19, 0, 0, 0, // an invalid NIK
        2, 0, 8, 0, 0,  // an unknown program
        2, 0, 0, 2, 0,  // a period of the wrong kind
    ];
    write("store_ops", "moves", moves);
    let mut rng = 0x5eed_u64;
    for i in 0..4 {
        let bytes: Vec<u8> = (0..48)
            .map(|_| {
                rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (rng >> 33) as u8
            })
            .collect();
        write("store_ops", &format!("random-{i}"), &bytes);
    }
}
