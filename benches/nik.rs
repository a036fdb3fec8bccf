//! NIK parsing: the first step of every check and of every batch row.
//!
//! `cargo bench --bench nik`

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tepat::Nik;

fn parse(c: &mut Criterion) {
    let inputs: Vec<String> = (1..=1024u64)
        .map(|serial| format!("32010157089{:01}{:04}", serial % 10, serial))
        .collect();
    let mut group = c.benchmark_group("nik");
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.bench_function("parse_1024", |b| {
        b.iter(|| {
            let mut ok = 0u32;
            for s in &inputs {
                ok += u32::from(Nik::parse(black_box(s)).is_ok());
            }
            ok
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
