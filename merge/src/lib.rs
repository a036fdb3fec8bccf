//! tepat-merge: one register from its sources, the way DTSEN is made.
//!
//! The social registers (DTKS, Regsosek, P3KE, ...) each hold part of the
//! population, with their own columns, spellings and mistakes. [`run`]
//! matches every source record to one identity of the civil register
//! (Dukcapil), resolves conflicting fields by rules that are data
//! (`merge.toml`), and writes:
//!
//! | file | content |
//! |---|---|
//! | `register.csv` | one row per matched person, in tepat's register format (ready for `tepat build`), sorted by NIK |
//! | `report.csv` | per source and region (nation, province, regency, district): records, matched, padan, corrected, matched without NIK, ambiguous, unmatched, duplicates, deceased, KKs and deciles overridden |
//! | `worklist/PPRRDD.csv` | per district: every record that needs a person's decision, with the reason and the candidates |
//! | `summary.json` | the same counts nationally, the inputs and the rules used |
//! | `links.csv` | with [`Args::links`]: for every matched record, the NIK it was matched to and how |
//!
//! ```no_run
//! let args = tepat_merge::Args {
//!     civil: "dukcapil.csv".into(),
//!     sources: vec![
//!         tepat_merge::parse_source("DTKS=dtks.csv")?,
//!         tepat_merge::parse_source("REGSOSEK=regsosek.csv")?,
//!         tepat_merge::parse_source("P3KE=p3ke.csv")?,
//!     ],
//!     out: "merged".into(),
//!     ..tepat_merge::Args::default()
//! };
//! let summary = tepat_merge::run(&args)?;
//! println!("{} persons, {} on the work list", summary.persons, summary.work_items);
//! # Ok::<(), tepat_merge::MergeError>(())
//! ```
//!
//! # Matching
//!
//! In order, the first that applies:
//! 1. **padan**: the NIK is in the civil register and the normalised name,
//!    the village and the KK (when given) agree;
//! 2. **neighbour**: of the civil persons whose name, birth date and
//!    village agree, exactly one (or exactly one on the record's family
//!    card) has a NIK one edit (substitution, insertion, deletion) or one
//!    transposition of adjacent digits away from the given one;
//! 3. the NIK's own person when only the village or only the KK differs
//!    (padan), or when the name differs but birth date, village and KK all
//!    agree (`nik_name_differs` in `links.csv`);
//! 4. **demographic**: exactly one civil person has this name, birth date
//!    and village (the record has no NIK, or one that is nobody's);
//! 5. otherwise the record goes on the work list ([`Reason`]). A
//!    correction (2, 4) to a person on another family card than the
//!    record's is never made: `kk_differs`.
//!
//! Names are compared after [`names::normalise`] (case, spacing, the old
//! spelling, Muhammad's many forms, the Batak `br`).
//!
//! # Memory
//!
//! Partitioned passes over scratch files under `OUT/.merge.tmp/`: records
//! are spilled by the first four digits of the NIK (province and regency
//! of issue) for the NIK joins, and by the first four digits of the
//! village code for the name, birth date and village match; each pass holds
//! one partition per thread. See `docs/MERGE.md`.
//!
//! # Limits
//!
//! - At most 254 sources; a line of at most 64 KiB per field.
//! - A person who moved and whose source record still gives the old
//!   village is found only by NIK (padan), never by name and birth date.
//! - Outputs appear only when the merge succeeds; an existing `worklist/`
//!   is replaced as a whole.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod csv;
pub mod error;
mod exact;
mod fuzzy;
pub mod names;
mod output;
mod pool;
pub mod report;
mod resolve;
pub mod rules;
mod scatter;
pub mod schema;
mod spill;

use std::path::{Path, PathBuf};
use std::time::Instant;

use tepat::Registry;

pub use error::{MergeError, Result};
pub use report::{Counts, SourceSummary, Summary};
pub use rules::Rules;

/// The source index of the civil register in records and rules.
pub const CIVIL: u8 = u8::MAX;

/// What to merge, and where to.
#[derive(Clone, Debug, Default)]
pub struct Args {
    /// The civil-register extract (Dukcapil).
    pub civil: PathBuf,
    /// The sources, in the order their names are reported.
    pub sources: Vec<SourceArg>,
    /// Conflict rules; the embedded `merge.toml` when `None`.
    pub rules: Option<PathBuf>,
    /// A program registry (`registry.toml`) for the `programs` columns; the
    /// built-in one when `None`.
    pub programs: Option<PathBuf>,
    /// Output directory (created if missing).
    pub out: PathBuf,
    /// Worker threads; 0 for every core. Never changes the output.
    pub threads: usize,
    /// Also write `links.csv`, one row per matched record.
    pub links: bool,
}

/// One `--source NAME=path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceArg {
    /// Upper-case name, as rules refer to it (`DTKS`).
    pub name: String,
    /// Its CSV file.
    pub path: PathBuf,
}

/// Parses `NAME=path` (a command line's `--source DTKS=dtks.csv`).
pub fn parse_source(arg: &str) -> Result<SourceArg> {
    let (name, path) = arg
        .split_once('=')
        .ok_or_else(|| MergeError::Args(format!("{arg:?} is not NAME=path")))?;
    check_source_name(name).map_err(MergeError::Args)?;
    if name == rules::CIVIL_NAME {
        return Err(MergeError::Args(format!(
            "{name} is the civil register's name: give it with --civil"
        )));
    }
    if path.is_empty() {
        return Err(MergeError::Args(format!("{arg:?}: no path")));
    }
    Ok(SourceArg {
        name: name.to_owned(),
        path: PathBuf::from(path),
    })
}

/// A source name is 1–32 of `A`–`Z`, `0`–`9` and `_`, starting with a
/// letter.
pub fn check_source_name(name: &str) -> Result<(), String> {
    let ok = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "source name {name:?} must be upper-case letters, digits and _"
        ))
    }
}

/// How a record was matched to its civil identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Method {
    /// The NIK is in the civil register and the names agree.
    Padan = 1,
    /// The NIK is in the civil register with another spelling of the name
    /// beyond normalisation, and the birth date agrees.
    NameDiffers = 2,
    /// Corrected: the civil NIK one edit or transposition away, with name,
    /// birth date and village agreeing.
    Neighbour = 3,
    /// Corrected: the only civil person with this name, birth date and
    /// village (the given NIK is nobody's).
    Demographic = 4,
    /// Matched on name, birth date and village; the record had no NIK.
    WithoutNik = 5,
}

impl Method {
    /// All methods, by code.
    pub const ALL: [Method; 5] = [
        Method::Padan,
        Method::NameDiffers,
        Method::Neighbour,
        Method::Demographic,
        Method::WithoutNik,
    ];

    /// The name `links.csv` uses.
    pub const fn name(self) -> &'static str {
        match self {
            Method::Padan => "padan",
            Method::NameDiffers => "nik_name_differs",
            Method::Neighbour => "nik_neighbour",
            Method::Demographic => "demographic",
            Method::WithoutNik => "without_nik",
        }
    }

    /// The method with this code.
    pub fn from_code(code: u8) -> Option<Method> {
        Method::ALL.into_iter().find(|m| *m as u8 == code)
    }
}

/// Why a record is on the work list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Reason {
    /// Several civil persons fit equally well.
    Ambiguous = 1,
    /// No civil record fits.
    NoCivilIdentity = 2,
    /// The NIK is in the civil register with another name and birth date.
    NikOfOtherPerson = 3,
    /// The NIK is another person's, and a different person has this name,
    /// birth date and village.
    NikConflict = 4,
    /// No source gives a value for a field and the rules have no default.
    MissingField = 5,
    /// The one civil person who fits is on another family card than the
    /// record's.
    KkDiffers = 6,
}

impl Reason {
    /// All reasons, by code.
    pub const ALL: [Reason; 6] = [
        Reason::Ambiguous,
        Reason::NoCivilIdentity,
        Reason::NikOfOtherPerson,
        Reason::NikConflict,
        Reason::MissingField,
        Reason::KkDiffers,
    ];

    /// The name the work list uses.
    pub const fn name(self) -> &'static str {
        match self {
            Reason::Ambiguous => "ambiguous",
            Reason::NoCivilIdentity => "no_civil_identity",
            Reason::NikOfOtherPerson => "nik_of_other_person",
            Reason::NikConflict => "nik_conflict",
            Reason::MissingField => "missing_field",
            Reason::KkDiffers => "kk_differs",
        }
    }

    /// A sentence for the verifier.
    pub const fn sentence(self) -> &'static str {
        match self {
            Reason::Ambiguous => "several civil persons have this name, birth date and village",
            Reason::NoCivilIdentity => {
                "no civil record has this NIK, a NIK one edit away, or this name, birth date and village"
            }
            Reason::NikOfOtherPerson => {
                "the NIK is in the civil register with another name and birth date"
            }
            Reason::NikConflict => {
                "the NIK is another person's, and a different civil person has this name, birth date and village"
            }
            Reason::MissingField => "no source gives a value for a field the rules need",
            Reason::KkDiffers => {
                "the one civil person with this name, birth date and village (and a NIK one edit away, if given) is on another family card"
            }
        }
    }

    /// The reason with this code.
    pub fn from_code(code: u8) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| *r as u8 == code)
    }
}

/// Where a merge is, for a progress bar.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    /// What is being done (`reading dtks.csv`, `matching by NIK`, ...).
    pub step: &'a str,
    /// Units done (bytes while reading, partitions afterwards).
    pub done: u64,
    /// Units in all.
    pub total: u64,
}

/// Merges as `args` says (no progress reports).
pub fn run(args: &Args) -> Result<Summary> {
    run_with_progress(args, &|_| {})
}

/// Merges as `args` says, calling `progress` (from any thread) as it goes.
/// On error nothing new is left in `args.out`.
pub fn run_with_progress(args: &Args, progress: &(dyn Fn(Progress) + Sync)) -> Result<Summary> {
    let start = Instant::now();
    check_args(args)?;
    let registry = match &args.programs {
        Some(path) => Registry::from_toml_file(path).map_err(|e| MergeError::Rules {
            file: path.clone(),
            reason: e.to_string(),
        })?,
        None => Registry::builtin().clone(),
    };
    let rules = match &args.rules {
        Some(path) => Rules::from_file(path, &registry)?,
        None => Rules::embedded(&registry)?,
    };
    let threads = match args.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let staging = output::Staging::begin(&args.out)?;
    let result = merge(args, &registry, &rules, threads, &staging, progress);
    match result {
        Ok(mut summary) => {
            staging.commit()?;
            summary.seconds = start.elapsed().as_secs_f64();
            Ok(summary)
        }
        Err(e) => {
            staging.abandon();
            Err(e)
        }
    }
}

fn check_args(args: &Args) -> Result<()> {
    if args.sources.is_empty() {
        return Err(MergeError::Args("no source given".into()));
    }
    if args.sources.len() >= usize::from(CIVIL) {
        return Err(MergeError::Args("at most 254 sources".into()));
    }
    for (i, s) in args.sources.iter().enumerate() {
        check_source_name(&s.name).map_err(MergeError::Args)?;
        if args.sources[..i].iter().any(|t| t.name == s.name) {
            return Err(MergeError::Args(format!("source {} given twice", s.name)));
        }
    }
    if args.out.as_os_str().is_empty() {
        return Err(MergeError::Args("no output directory".into()));
    }
    Ok(())
}

/// The passes, into the staging directory.
fn merge(
    args: &Args,
    registry: &Registry,
    rules: &Rules,
    threads: usize,
    staging: &output::Staging,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Summary> {
    let scratch = staging.scratch();
    let mut passes = Passes::new(scratch);
    let civil_input = scatter::civil_input(&args.civil);
    let civil = scatter::scatter(&civil_input, scratch, threads, registry, progress)?;
    let mut inputs = Vec::with_capacity(args.sources.len());
    for (i, s) in args.sources.iter().enumerate() {
        let input = scatter::source_input(&s.path, i as u8);
        inputs.push(scatter::scatter(
            &input, scratch, threads, registry, progress,
        )?);
    }
    passes.done("read", &[])?;
    exact::run(scratch, threads, &args.civil, progress)?;
    passes.done("match by NIK", &["s"])?;
    let mut tally = fuzzy::run(scratch, threads, progress)?;
    passes.done("match by name, birth date and village", &["f", "d"])?;
    let names: Vec<String> = args.sources.iter().map(|s| s.name.clone()).collect();
    let resolved = resolve::run(
        scratch, threads, rules, registry, &names, args.links, progress,
    )?;
    passes.done("resolve", &["c", "l"])?;
    let written = output::write(staging, args, &names, &resolved, progress)?;
    report::add(&mut tally, &resolved.tally);
    for input in &inputs {
        report::add(&mut tally, &input.tally);
    }
    let summary = report::summarise(args, rules, &civil, &inputs, &tally, &resolved, &written);
    report::write(staging.staged(), &names, &tally, &summary)?;
    passes.done("write", &[])?;
    Ok(Summary {
        timings: passes.timings,
        scratch_bytes: passes.peak,
        scratch_written: passes.written,
        ..summary
    })
}

/// Times the passes, tracks the scratch's peak size and removes what a
/// pass has consumed (at 280 M persons the scratch is tens of GB).
struct Passes<'a> {
    scratch: &'a Path,
    clock: Instant,
    timings: Vec<(String, f64)>,
    peak: u64,
    /// Scratch bytes when the pass began, and written by all passes.
    before: u64,
    written: u64,
}

impl<'a> Passes<'a> {
    fn new(scratch: &'a Path) -> Passes<'a> {
        Passes {
            scratch,
            clock: Instant::now(),
            timings: Vec::new(),
            peak: 0,
            before: 0,
            written: 0,
        }
    }

    fn done(&mut self, pass: &str, consumed: &[&str]) -> Result<()> {
        self.timings
            .push((pass.to_owned(), self.clock.elapsed().as_secs_f64()));
        let now = output::dir_bytes(self.scratch)?;
        self.peak = self.peak.max(now);
        // Nothing is removed during a pass: what grew was written.
        self.written += now.saturating_sub(self.before);
        for kind in consumed {
            spill::remove(self.scratch, kind)?;
        }
        self.before = output::dir_bytes(self.scratch)?;
        self.clock = Instant::now();
        Ok(())
    }
}
