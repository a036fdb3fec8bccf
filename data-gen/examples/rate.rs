//! Persons per second through the library API (no CSV):
//! `cargo run -p tepat-gen --release --example rate -- [PERSONS] [THREADS]`.

use std::time::Instant;

use tepat_gen::{Config, Generator};

fn main() -> Result<(), tepat_gen::GenError> {
    let mut args = std::env::args().skip(1);
    let persons = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let threads = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Config::default().threads);
    let start = Instant::now();
    let generator = Generator::new(Config {
        persons,
        threads,
        ..Config::default()
    })?;
    let setup = start.elapsed().as_secs_f64();
    let mut count = 0u64;
    let mut families = 0u64;
    let mut checksum = 0u64;
    generator
        .for_each_chunk(
            |chunk| {
                let sum = chunk
                    .records
                    .iter()
                    .fold(0u64, |a, r| a.wrapping_add(r.nik.get()));
                (chunk.records.len() as u64, chunk.families.len() as u64, sum)
            },
            |(n, f, sum)| -> Result<(), std::convert::Infallible> {
                count += n;
                families += f;
                checksum = checksum.wrapping_add(sum);
                Ok(())
            },
        )
        .unwrap_or(());
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{count} persons, {families} families on {threads} threads in {seconds:.2} s (set-up {setup:.2} s): {:.0} persons/s (checksum {checksum:x})",
        count as f64 / seconds
    );
    Ok(())
}
