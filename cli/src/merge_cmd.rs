//! `tepat merge`: the single register from its sources (DTKS, Regsosek,
//! P3KE) matched against the civil register (docs/MERGE.md).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// Arguments of `tepat merge`.
#[derive(clap::Args)]
pub struct MergeArgs {
    /// The civil-register extract (Dukcapil's `dukcapil.csv`).
    #[arg(long)]
    civil: PathBuf,
    /// A source, as NAME=FILE (DTKS=dtks.csv); repeat for each.
    #[arg(long = "source", required = true)]
    sources: Vec<String>,
    /// Which source wins which field (TOML); default: the built-in rules.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// A program registry (TOML) for the sources' program columns.
    #[arg(long)]
    programs: Option<PathBuf>,
    /// Worker threads (0: every core); the output does not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Also write links.csv: one row per matched source record.
    #[arg(long)]
    links: bool,
    /// The output directory: register.csv, report.csv, worklist/,
    /// summary.json.
    #[arg(long)]
    out: PathBuf,
}

/// Runs the merge, with a progress line on a terminal.
pub fn run(args: MergeArgs) -> CmdResult {
    let mut merge = tepat_merge::Args {
        civil: args.civil,
        rules: args.rules,
        programs: args.programs,
        out: args.out.clone(),
        threads: args.threads,
        links: args.links,
        ..Default::default()
    };
    for s in &args.sources {
        merge.sources.push(tepat_merge::parse_source(s)?);
    }
    let show = std::io::stderr().is_terminal();
    let last = Mutex::new(String::new());
    let summary = tepat_merge::run_with_progress(&merge, &|p| {
        if !show {
            return;
        }
        let line = format!("{}: {}/{}", p.step, p.done, p.total);
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        if *last != line {
            eprint!("\r{line:<60}");
            *last = line;
        }
    })?;
    if show {
        eprintln!();
    }
    eprintln!(
        "merged {} civil records and {} source records into {} persons; {} records for the \
         verifiers in {} district files; {:.1} s; in {}",
        summary.civil_records,
        summary
            .sources
            .iter()
            .map(|x| x.counts.records)
            .sum::<u64>(),
        summary.persons,
        summary.work_items,
        summary.work_files,
        summary.seconds,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
