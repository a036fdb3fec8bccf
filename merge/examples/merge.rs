//! The merge from a command line, without clap: what `tepat merge` does.
//!
//! ```sh
//! cargo run -p tepat-merge --release --example merge -- \
//!     --civil dukcapil.csv --source DTKS=dtks.csv --source REGSOSEK=regsosek.csv \
//!     --source P3KE=p3ke.csv [--rules merge.toml] [--threads N] [--links] --out DIR
//! ```

use std::process::ExitCode;

use tepat_merge::{Args, MergeError, parse_source};

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, MergeError> {
    let mut args = Args::default();
    while let Some(flag) = argv.next() {
        if flag == "--links" {
            args.links = true;
            continue;
        }
        let value = argv
            .next()
            .ok_or_else(|| MergeError::Args(format!("{flag} needs a value")))?;
        match flag.as_str() {
            "--civil" => args.civil = value.into(),
            "--source" => args.sources.push(parse_source(&value)?),
            "--rules" => args.rules = Some(value.into()),
            "--programs" => args.programs = Some(value.into()),
            "--out" => args.out = value.into(),
            "--threads" => {
                args.threads = value
                    .parse()
                    .map_err(|_| MergeError::Args(format!("--threads {value:?}")))?
            }
            other => return Err(MergeError::Args(format!("unknown option {other}"))),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let result = parse(std::env::args().skip(1)).and_then(|args| tepat_merge::run(&args));
    match result {
        Ok(s) => {
            for (pass, seconds) in &s.timings {
                eprintln!("  {pass}: {seconds:.2} s");
            }
            eprintln!(
                "merge: {} civil records, {} source records, {} persons, {} work-list rows in {} files; {:.2} s; scratch peak {} MB, {} MB written",
                s.civil_records,
                s.sources.iter().map(|x| x.counts.records).sum::<u64>(),
                s.persons,
                s.work_items,
                s.work_files,
                s.seconds,
                s.scratch_bytes / 1_000_000,
                s.scratch_written / 1_000_000,
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("merge: {e}");
            ExitCode::from(2)
        }
    }
}
