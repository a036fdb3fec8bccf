//! `tepat-gen`: writes a synthetic national register and its companions
//! (`register.csv`, `payees.csv`, `payees_truth.csv`, `changes.csv`,
//! `truth.json`), and with `--sources` the register's sources
//! (`dukcapil.csv`, `dtks.csv`, `regsosek.csv`, `p3ke.csv`, `truth/`); see
//! `docs/DATA.md`.
//!
//! Exit status: 0 on success, 2 on a usage error or when the output cannot
//! be written.

#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tepat::{Date, RegionCode};
use tepat_gen::{Config, Generator, output};

/// Synthetic national-scale register data for tepat, repeatable from a seed.
#[derive(Parser)]
#[command(name = "tepat-gen", version, about, long_about = None)]
struct Args {
    /// Number of persons (rows of register.csv).
    #[arg(long, default_value_t = tepat_gen::DEFAULT_PERSONS)]
    persons: u64,
    /// Seed: the same seed and persons give byte-identical files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Reference date (YYYY-MM-DD): ages, eligibility and payout periods.
    #[arg(long, default_value = "2026-11-01", value_parser = parse_date)]
    as_of: Date,
    /// Worker threads (default: all cores). Does not change the output.
    #[arg(long)]
    threads: Option<usize>,
    /// Also write the register's sources: a civil-register extract, DTKS,
    /// Regsosek and P3KE with injected problems, and their truth.
    #[arg(long)]
    sources: bool,
    /// Put everyone in one province, regency or district (2, 4 or 6 digits).
    #[arg(long, value_parser = parse_region)]
    region: Option<RegionCode>,
}

fn parse_region(s: &str) -> Result<RegionCode, String> {
    RegionCode::parse(s).map_err(|e| e.to_string())
}

fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse_iso(s).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tepat-gen: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), tepat_gen::GenError> {
    let config = Config {
        persons: args.persons,
        seed: args.seed,
        as_of: args.as_of,
        threads: args.threads.unwrap_or_else(|| Config::default().threads),
        region: args.region,
    };
    let start = Instant::now();
    let generator = Generator::new(config)?;
    let bar = progress_bar(args.persons);
    let options = output::Options {
        sources: args.sources,
    };
    let summary = output::write_with(&generator, &args.out, options, |n| bar.inc(n))?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "tepat-gen: {} persons into {} in {seconds:.1} s ({:.0} persons/s, {:.0} MB/s of register.csv)",
        args.persons,
        args.out.display(),
        args.persons as f64 / seconds,
        summary.register_bytes as f64 / seconds / 1e6,
    );
    Ok(())
}

/// A progress bar on a terminal; hidden when stderr is redirected.
fn progress_bar(persons: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(persons), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(persons);
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {human_pos}/{human_len} persons ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
