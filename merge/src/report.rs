//! Counts per source and region: `report.csv` and `summary.json`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tepat::RegionTable;

use crate::error::{Result, io};
use crate::output::Written;
use crate::resolve::Resolved;
use crate::rules::Rules;
use crate::scatter::Scattered;
use crate::{Args, CIVIL};

/// What happened to a set of source records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Records read.
    pub records: u64,
    /// Matched to a civil identity (padan + corrected + without NIK).
    pub matched: u64,
    /// Matched by their own NIK.
    pub padan: u64,
    /// Matched to another NIK than the one given (a neighbour, or by name,
    /// birth date and village when the given NIK is nobody's).
    pub corrected: u64,
    /// Matched by name, birth date and village, without a NIK.
    pub matched_without_nik: u64,
    /// On the work list with candidates to choose from.
    pub ambiguous: u64,
    /// On the work list with no candidate.
    pub unmatched: u64,
    /// Matched to a person another record of the same source already
    /// matched.
    pub duplicates: u64,
    /// Matched to a person the civil register records as deceased.
    pub deceased: u64,
    /// Whose KK differs from the one the register now holds.
    pub kk_corrected: u64,
    /// Whose decile differs from the one the register now holds.
    pub decile_overridden: u64,
}

impl Counts {
    /// Column names, in [`Counts::values`] order.
    pub const COLUMNS: [&'static str; 11] = [
        "records",
        "matched",
        "padan",
        "corrected",
        "matched_without_nik",
        "ambiguous",
        "unmatched",
        "duplicates",
        "deceased",
        "kk_corrected",
        "decile_overridden",
    ];

    /// The counts, in [`Counts::COLUMNS`] order.
    pub fn values(&self) -> [u64; 11] {
        [
            self.records,
            self.matched,
            self.padan,
            self.corrected,
            self.matched_without_nik,
            self.ambiguous,
            self.unmatched,
            self.duplicates,
            self.deceased,
            self.kk_corrected,
            self.decile_overridden,
        ]
    }

    /// Adds `other` in.
    pub fn add(&mut self, other: &Counts) {
        self.records += other.records;
        self.matched += other.matched;
        self.padan += other.padan;
        self.corrected += other.corrected;
        self.matched_without_nik += other.matched_without_nik;
        self.ambiguous += other.ambiguous;
        self.unmatched += other.unmatched;
        self.duplicates += other.duplicates;
        self.deceased += other.deceased;
        self.kk_corrected += other.kk_corrected;
        self.decile_overridden += other.decile_overridden;
    }
}

/// Counts per (source index, district of the record's village `PPRRDD`).
pub type Tally = BTreeMap<(u8, u32), Counts>;

/// Adds `from` into `into`.
pub fn add(into: &mut Tally, from: &Tally) {
    for (k, c) in from {
        into.entry(*k).or_default().add(c);
    }
}

/// One source's national figures.
#[derive(Clone, Debug, Serialize)]
pub struct SourceSummary {
    /// Its name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// Header columns the merge did not read.
    pub ignored_columns: Vec<String>,
    /// What happened to its records.
    pub counts: Counts,
}

/// What a merge did.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Rows of the civil register.
    pub civil_records: u64,
    /// Civil-register columns not read.
    pub civil_ignored_columns: Vec<String>,
    /// Per source.
    pub sources: Vec<SourceSummary>,
    /// Rows of `register.csv`.
    pub persons: u64,
    /// Matched persons left out because a field had no value.
    pub persons_missing_field: u64,
    /// Rows of the work list.
    pub work_items: u64,
    /// Files of the work list (districts).
    pub work_files: u64,
    /// The rules file used (`<embedded>` for the default).
    pub rules: PathBuf,
    /// Things worth knowing that did not stop the merge.
    pub warnings: Vec<String>,
    /// Seconds per pass (not written to `summary.json`: it must not
    /// change between runs).
    #[serde(skip)]
    pub timings: Vec<(String, f64)>,
    /// Seconds in all.
    #[serde(skip)]
    pub seconds: f64,
    /// Peak bytes of scratch files.
    #[serde(skip)]
    pub scratch_bytes: u64,
    /// Bytes of scratch files written in all (each is read back once).
    #[serde(skip)]
    pub scratch_written: u64,
}

/// The national summary of a finished merge.
pub fn summarise(
    args: &Args,
    rules: &Rules,
    civil: &Scattered,
    inputs: &[Scattered],
    tally: &Tally,
    resolved: &Resolved,
    written: &Written,
) -> Summary {
    let mut per_source = vec![Counts::default(); args.sources.len()];
    for ((s, _), c) in tally {
        if let Some(total) = per_source.get_mut(usize::from(*s)) {
            total.add(c);
        }
    }
    let sources = args
        .sources
        .iter()
        .zip(inputs)
        .zip(per_source)
        .map(|((s, input), counts)| SourceSummary {
            name: s.name.clone(),
            file: s.path.clone(),
            ignored_columns: input.ignored.clone(),
            counts,
        })
        .collect();
    let given: Vec<&str> = args.sources.iter().map(|s| s.name.as_str()).collect();
    let warnings = rules
        .source_names()
        .into_iter()
        .filter(|n| !given.contains(n))
        .map(|n| format!("the rules name source {n}, which was not given"))
        .collect();
    Summary {
        civil_records: civil.rows,
        civil_ignored_columns: civil.ignored.clone(),
        sources,
        persons: resolved.persons,
        persons_missing_field: resolved.missing,
        work_items: written.work_items,
        work_files: written.work_files,
        rules: rules.file.clone(),
        warnings,
        timings: Vec::new(),
        seconds: 0.0,
        scratch_bytes: 0,
        scratch_written: 0,
    }
}

/// Writes `report.csv` and `summary.json` into `dir`.
pub fn write(dir: &Path, names: &[String], tally: &Tally, summary: &Summary) -> Result<()> {
    let regions = RegionTable::builtin();
    // (source, level, code) -> counts; BTreeMap order is the file's order.
    let mut rows: BTreeMap<(u8, u8, u32), Counts> = BTreeMap::new();
    for ((s, district), c) in tally {
        if *s == CIVIL {
            continue;
        }
        for (level, code) in [
            (0, 0),
            (1, district / 10_000),
            (2, district / 100),
            (3, *district),
        ] {
            rows.entry((*s, level, code)).or_default().add(c);
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"source,level,region_code,region");
    for c in Counts::COLUMNS {
        out.push(b',');
        out.extend_from_slice(c.as_bytes());
    }
    out.push(b'\n');
    for ((s, level, code), c) in &rows {
        let (level_name, code_text, name) = match level {
            0 => ("national", "00".to_owned(), "Indonesia"),
            1 => (
                "province",
                format!("{code:02}"),
                name(regions.province(*code as u8)),
            ),
            2 => (
                "regency",
                format!("{code:04}"),
                name(regions.regency(*code as u16)),
            ),
            _ => (
                "district",
                format!("{code:06}"),
                name(regions.district(*code)),
            ),
        };
        let source = names.get(usize::from(*s)).map_or("?", String::as_str);
        let _ = write!(
            out,
            "{source},{level_name},{code_text},{}",
            crate::csv::field(name)
        );
        for v in c.values() {
            let _ = write!(out, ",{v}");
        }
        out.push(b'\n');
    }
    let path = dir.join("report.csv");
    std::fs::write(&path, out).map_err(io(&path))?;
    let json = serde_json::to_string_pretty(summary).unwrap_or_default() + "\n";
    let path = dir.join("summary.json");
    std::fs::write(&path, json).map_err(io(&path))?;
    Ok(())
}

fn name(region: Option<&tepat::Region>) -> &str {
    region.map_or("", |r| r.name.as_str())
}
