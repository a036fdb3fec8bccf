//! A generated population with its sources, made once per test binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tepat::RegionCode;
use tepat_gen::output::{self, Options};
use tepat_gen::{Config, Generator};
use tepat_merge::{Args, parse_source};

/// A population in one small city, at about the national density of
/// persons per village (what makes names, birth dates and villages
/// collide).
pub const PERSONS: u64 = 50_000;
pub const REGION: &str = "3576"; // Kota Mojokerto: 18 villages

/// The generated files, made once and then shared by every test process
/// (a cache under the temporary directory, named by what is in it).
pub fn data() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!(
            "tepat-merge-data-{}-{PERSONS}-{REGION}-seed11",
            env!("CARGO_PKG_VERSION")
        ));
        // Made by this build of the generator: newer than the test binary.
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let built = std::env::current_exe().ok().and_then(|e| modified(&e));
        match (modified(&dir.join("truth/summary.json")), built) {
            (Some(made), Some(built)) if made > built => return dir,
            _ => {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        let staging = temp("data");
        let g = Generator::new(Config {
            persons: PERSONS,
            seed: 11,
            threads: 2,
            region: Some(RegionCode::parse(REGION).unwrap()),
            ..Config::default()
        })
        .unwrap();
        output::write_with(&g, &staging, Options { sources: true }, |_| {}).unwrap();
        // Another test process may have won the race: then use its copy.
        if std::fs::rename(&staging, &dir).is_err() {
            std::fs::remove_dir_all(&staging).unwrap();
        }
        dir
    })
}

/// A fresh, empty path under the temporary directory.
pub fn temp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tepat-merge-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The merge's arguments for the generated files.
pub fn args(data: &Path, out: &Path) -> Args {
    Args {
        civil: data.join("dukcapil.csv"),
        sources: ["DTKS=dtks.csv", "REGSOSEK=regsosek.csv", "P3KE=p3ke.csv"]
            .iter()
            .map(|s| {
                let (name, file) = s.split_once('=').unwrap();
                parse_source(&format!("{name}={}", data.join(file).display())).unwrap()
            })
            .collect(),
        out: out.to_owned(),
        threads: 2,
        links: true,
        ..Args::default()
    }
}

/// The lines of a CSV file after its header, split on commas (the files
/// compared here have no quoted fields).
pub fn rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}
