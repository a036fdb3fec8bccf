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

/// The generated files, made once per build of the tests and shared by
/// the test processes of that build (a cache under the temporary
/// directory; caches of builds older than a day are removed).
pub fn data() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let built = std::env::current_exe()
            .and_then(std::fs::metadata)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        let prefix = format!("tepat-merge-data-{PERSONS}-{REGION}-seed11-");
        remove_old(&prefix);
        let dir = std::env::temp_dir().join(format!("{prefix}{built}"));
        if dir.join("truth/summary.json").exists() {
            return dir;
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

fn remove_old(prefix: &str) {
    let day = std::time::Duration::from_secs(86_400);
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > day);
        if old && e.file_name().to_string_lossy().starts_with(prefix) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
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
