//! Same seed and N: byte-identical files, whatever the thread count; and
//! `register.csv` is exactly the records of the library API, in order.

use std::path::{Path, PathBuf};

use tepat::Registry;
use tepat_gen::{Config, Generator, output};

const PERSONS: u64 = 100_000;

fn run(tag: &str, seed: u64, threads: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tepat-gen-det-{}-{tag}", std::process::id()));
    let g = Generator::new(Config {
        persons: PERSONS,
        seed,
        threads,
        ..Config::default()
    })
    .unwrap();
    output::write_all(&g, &dir, |_| {}).unwrap();
    dir
}

fn files(dir: &Path) -> Vec<Vec<u8>> {
    output::FILES
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect()
}

#[test]
fn output_does_not_depend_on_threads_or_the_run() {
    let one = run("t1", 7, 1);
    let reference = files(&one);
    for (tag, threads) in [("t2", 2), ("t3", 3), ("t2again", 2)] {
        let dir = run(tag, 7, threads);
        let got = files(&dir);
        for (i, name) in output::FILES.iter().enumerate() {
            assert!(
                got[i] == reference[i],
                "{name} differs with {threads} threads"
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
    let other = run("seed8", 8, 2);
    assert!(
        files(&other)[0] != reference[0],
        "another seed gives another register"
    );
    std::fs::remove_dir_all(other).unwrap();

    // The CSV is the API's records, in order.
    let g = Generator::new(Config {
        persons: PERSONS,
        seed: 7,
        threads: 2,
        ..Config::default()
    })
    .unwrap();
    let mut csv = Vec::new();
    csv.extend_from_slice(tepat::register::HEADER.as_bytes());
    csv.push(b'\n');
    g.for_each_record(|r| r.write_csv(Registry::builtin(), &mut csv).unwrap());
    assert!(csv == reference[0], "register.csv is not the API's records");
    // And chunks made out of order are the same chunks.
    let last = g.chunk_count() - 1;
    assert_eq!(g.chunk(last).records, g.chunk(last).records);
    std::fs::remove_dir_all(one).unwrap();
}
