//! Crash safety of generation changes: `tepat compact` and `tepat build` on
//! an existing store (a refresh) are cut at every step (before and after
//! each write, sync and rename: `tepat::generations::FAULT_POINTS`, through
//! the `fault-injection` hook) and killed with SIGKILL at random moments.
//! After each cut the store must open, at the old or the new generation,
//! give exactly the answers it gave before, keep every claim, and compact
//! cleanly afterwards.
//!
//! `TEPAT_CRASH_ROUNDS=200 cargo test -p tepat-cli --test crash_generations`
//! for more kill -9 rounds (default 12).

mod binary;
#[path = "../../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use binary::{build, copy_dir, ok, tepat};
use tepat::generations::FAULT_POINTS;
use tepat::{ClaimRequest, Nik, Period, Store, Verdict};
use tepat_gen::{Config, Generator, output};

const PERSONS: u64 = 4_000;

/// What the store answers: every verdict of every NIK and program, and
/// every held claim.
#[derive(Debug, PartialEq)]
struct Answers {
    verdicts: BTreeMap<(u64, usize), Verdict>,
    claims: Vec<tepat::store::StoredClaim>,
}

fn answers(dir: &Path, niks: &[u64]) -> (u64, Answers) {
    let store = Store::open(dir).unwrap();
    let registry = store.registry();
    let mut verdicts = BTreeMap::new();
    for &nik in niks {
        for program in registry.ids() {
            let period = match registry.program(program).period {
                tepat::PeriodKind::Month => "2026-11",
                tepat::PeriodKind::Quarter => "2026-Q4",
                tepat::PeriodKind::Year => "2026",
                tepat::PeriodKind::Once => "once",
            };
            let v = store
                .check(
                    Nik::from_u64(nik).unwrap(),
                    program,
                    Period::parse(period).unwrap(),
                )
                .unwrap();
            verdicts.insert((nik, program.index()), v);
        }
    }
    let claims = store.claims().unwrap();
    (store.snapshot().generation(), Answers { verdicts, claims })
}

/// A store at generation 1 with a month of changes pending and some claims;
/// returns every NIK it knows.
fn base_store(data: &Path, store: &Path) -> Vec<u64> {
    let config = Config {
        persons: PERSONS,
        seed: 5,
        threads: 1,
        ..Config::default()
    };
    output::write_all(&Generator::new(config).unwrap(), data, |_| {}).unwrap();
    let s = store.to_str().unwrap();
    let register = data.join("register.csv");
    build(&register, store);
    let changes = data.join("changes.csv");
    ok(&tepat(
        &["apply", "--store", s, changes.to_str().unwrap()],
        None,
    ));
    let st = Store::open(store).unwrap();
    let snap = st.snapshot();
    let mut niks: Vec<u64> = snap.persons().map(|p| p.nik().get()).collect();
    niks.extend(st.changed_persons().unwrap().into_iter().map(|(n, _)| n));
    niks.sort_unstable();
    niks.dedup();
    let mut paid = 0;
    for (i, nik) in niks.iter().step_by(37).enumerate() {
        for (program, period) in [("PKH", "2026-Q4"), ("PBI_JK", "2026-11")] {
            let out = st
                .claim(&ClaimRequest {
                    request_id: format!("c-{i}-{program}"),
                    nik: format!("{nik:016}"),
                    program: program.into(),
                    period: period.into(),
                    meta: String::new(),
                    ..Default::default()
                })
                .unwrap();
            paid += usize::from(out.paid);
        }
    }
    assert!(paid > 20 && !st.changed_persons().unwrap().is_empty());
    niks
}

/// The store in `dir`, cut somewhere in a generation change, opens at
/// generation 1 or 2 with the expected answers and compacts cleanly.
fn check_after_cut(dir: &Path, niks: &[u64], expected: &Answers, what: &str) -> u64 {
    let (generation, got) = answers(dir, niks);
    assert!(
        generation == 1 || generation == 2,
        "{what}: generation {generation}"
    );
    assert!(got == *expected, "{what}: an answer changed");
    ok(&tepat(&["compact", "--store", dir.to_str().unwrap()], None));
    let (after, got) = answers(dir, niks);
    assert_eq!(after, generation + 1, "{what}");
    assert!(
        got == *expected,
        "{what}: an answer changed after compacting"
    );
    let snapshots = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("snapshot-")
        })
        .count();
    // The current generation and the one before it, kept for a rollback.
    assert_eq!(snapshots, 2, "{what}: left-over snapshot files");
    generation
}

/// The directories a power cut at fault point `point` could leave, beyond
/// what the process had when it died there (which a kill leaves): what was
/// written but not yet synced may be cut short or missing, and a rename
/// whose directory was not yet synced may not have happened. The claims
/// log and the live state are not written by a generation change before
/// its switch.
fn power_cut_images(dir: &Path, base: &Path, point: &str) -> Vec<std::path::PathBuf> {
    let image = |name: &str, edit: &dyn Fn(&Path)| {
        let to = dir.with_file_name(format!(
            "{}-{name}",
            dir.file_name().unwrap().to_string_lossy()
        ));
        copy_dir(dir, &to);
        edit(&to);
        to
    };
    let tmp_snapshot = |d: &Path| d.join("snapshot-000002.tepat.tmp");
    let cut_short = |f: std::path::PathBuf| {
        if let Ok(bytes) = std::fs::read(&f) {
            std::fs::write(&f, &bytes[..bytes.len() / 3]).unwrap();
        }
    };
    let mut out = Vec::new();
    match point {
        "snapshot.tmp_created" | "snapshot.written" => {
            out.push(image("tmp-cut", &|d| cut_short(tmp_snapshot(d))));
            out.push(image("tmp-gone", &|d| {
                let _ = std::fs::remove_file(tmp_snapshot(d));
            }));
        }
        "snapshot.synced" => out.push(image("tmp-gone", &|d| {
            let _ = std::fs::remove_file(tmp_snapshot(d));
        })),
        "snapshot.renamed" => out.push(image("rename-lost", &|d| {
            std::fs::rename(d.join("snapshot-000002.tepat"), tmp_snapshot(d)).unwrap();
        })),
        "current.tmp_written" => {
            out.push(image("current-tmp-cut", &|d| {
                cut_short(d.join("CURRENT.tmp"))
            }));
            out.push(image("current-tmp-empty", &|d| {
                std::fs::write(d.join("CURRENT.tmp"), b"").unwrap();
            }));
        }
        "current.tmp_synced" => out.push(image("current-tmp-gone", &|d| {
            std::fs::remove_file(d.join("CURRENT.tmp")).unwrap();
        })),
        "current.renamed" => out.push(image("current-rename-lost", &|d| {
            // The new CURRENT back under its temporary name, the old one in
            // place (as the base store had it).
            std::fs::rename(d.join("CURRENT"), d.join("CURRENT.tmp")).unwrap();
            std::fs::copy(base.join("CURRENT"), d.join("CURRENT")).unwrap();
        })),
        _ => {}
    }
    out
}

#[test]
fn a_generation_change_cut_at_any_step_leaves_the_old_or_the_new() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, base) = (tmp.path().join("data"), tmp.path().join("base"));
    let niks = base_store(&data, &base);
    let (_, expected) = answers(&base, &niks);
    let register = data.join("register.csv");
    let mut seen = BTreeMap::new();
    for op in ["compact", "refresh"] {
        for point in FAULT_POINTS {
            let dir = tmp.path().join(format!("{op}-{point}"));
            copy_dir(&base, &dir);
            let d = dir.to_str().unwrap();
            let args: Vec<&str> = match op {
                "compact" => vec!["compact", "--store", d],
                // The export is older than the month's changes: forced
                // (what a guarded refresh refuses, tests/operations.rs).
                _ => vec![
                    "build",
                    "--register",
                    register.to_str().unwrap(),
                    "--store",
                    d,
                    "--as-of",
                    "2026-11-01",
                    "--force",
                ],
            };
            let out = tepat(&args, Some(point));
            // Every step is reached: the process died there.
            assert!(
                !out.status.success()
                    && String::from_utf8_lossy(&out.stderr).contains("fault injection"),
                "{op} {point}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // A power cut at this step can lose more than the kill did:
            // every image a power cut could leave must open as well.
            for (i, image) in power_cut_images(&dir, &base, point).iter().enumerate() {
                let what = format!("{op} {point}, power-cut image {i}");
                check_after_cut(image, &niks, &expected, &what);
                std::fs::remove_dir_all(image).unwrap();
            }
            let generation = check_after_cut(&dir, &niks, &expected, &format!("{op} {point}"));
            seen.insert(format!("{op} {point}"), generation);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
    eprintln!("{seen:?}");
    // Cuts before the switch open the old generation, after it the new.
    assert_eq!(seen["compact snapshot.dir_synced"], 1);
    assert_eq!(seen["compact current.renamed"], 2);
    assert_eq!(seen["refresh finish.old_removed"], 2);
}

#[test]
fn a_generation_change_killed_at_random_moments_leaves_the_old_or_the_new() {
    let rounds: usize = std::env::var("TEPAT_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let tmp = tempfile::tempdir().unwrap();
    let (data, base) = (tmp.path().join("data"), tmp.path().join("base"));
    let niks = base_store(&data, &base);
    let (_, expected) = answers(&base, &niks);
    // How long an uncut compaction takes here, to spread the kills over it.
    let probe = tmp.path().join("probe");
    copy_dir(&base, &probe);
    let started = std::time::Instant::now();
    ok(&tepat(
        &["compact", "--store", probe.to_str().unwrap()],
        None,
    ));
    let span = started.elapsed().as_micros() as u64;
    let mut rng = common::Rng(4242);
    let mut generations = [0usize; 3];
    for round in 0..rounds {
        let dir = tmp.path().join(format!("kill-{round}"));
        copy_dir(&base, &dir);
        let mut child = Command::new(env!("CARGO_BIN_EXE_tepat"))
            .args(["compact", "--store", dir.to_str().unwrap()])
            .env_remove("TEPAT_FAULT_AT")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(span * 11 / 10 + 1)));
        let _ = child.kill(); // SIGKILL; the child may have finished already
        child.wait().unwrap();
        let generation = check_after_cut(&dir, &niks, &expected, &format!("kill round {round}"));
        generations[generation as usize] += 1;
        std::fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!(
        "{rounds} kill -9 rounds: {} opened at the old generation, {} at the new",
        generations[1], generations[2]
    );
}
