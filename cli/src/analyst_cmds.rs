//! `tepat batch` (the back office's payee lists) and `tepat report` (the
//! analysts' tables).

use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;
use tepat::batch::{OutputFormat, verify_csv_central};
use tepat::report::{By, Kind, Report};

type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// Arguments of `tepat batch`.
#[derive(clap::Args)]
pub struct BatchArgs {
    #[command(flatten)]
    at: crate::store_at::At,
    /// Where the verdicts go (default: PAYEES with `.verdicts.csv`, or
    /// `.verdicts.jsonl` with --json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write one JSON object per row instead of CSV.
    #[arg(long)]
    json: bool,
    /// Read the snapshot into memory backed by huge pages before verifying
    /// (`Snapshot::open_resident`): opening then costs a full read of the
    /// file (seconds at national scale) and as much memory as the file,
    /// and every lookup is faster. Worth it for long lists.
    #[arg(long)]
    resident: bool,
    /// Also refuse every row another payout point paid or reserved, as the
    /// central ledger (a PostgreSQL URL, `tepat ledger init`) knows them:
    /// `claimed_elsewhere`, the point named in the detail. A ledger that
    /// cannot be asked stops the list (no verdicts file is left).
    #[arg(long)]
    ledger: Option<String>,
    /// The payee list: CSV with at least `nik,program,period`.
    payees: PathBuf,
}

/// A connection to the central ledger at `url`, its schema the one this
/// build knows.
fn ledger_client(url: &str) -> Result<postgres::Client, Box<dyn std::error::Error>> {
    let mut client = tepat_ledger::connect(url)?;
    tepat_ledger::migrate::require_current(&mut client)?;
    Ok(client)
}

/// The file beside `path` named after its stem: `payees.csv` with
/// `.verdicts.csv` is `payees.verdicts.csv`, and `payees.verdicts.csv` with
/// `.summary.json` is `payees.summary.json` (what a bank expects to find,
/// not `payees.csv.verdicts.csv.summary.json`).
fn beside(path: &std::path::Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = [".verdicts.csv", ".verdicts.jsonl"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .or_else(|| name.rsplit_once('.').map(|(stem, _)| stem))
        .filter(|stem| !stem.is_empty())
        .unwrap_or(&name);
    path.with_file_name(format!("{stem}{suffix}"))
}

/// Verifies a payee list; the output appears under its name only when
/// complete.
pub fn batch(args: BatchArgs) -> CmdResult {
    let started = Instant::now();
    let options = args.at.options()?.resident(args.resident);
    let store = crate::store_at::open(&args.at.store, options)?;
    let input =
        std::fs::File::open(&args.payees).map_err(|e| format!("{}: {e}", args.payees.display()))?;
    let out_path = args.out.unwrap_or_else(|| {
        beside(
            &args.payees,
            if args.json {
                ".verdicts.jsonl"
            } else {
                ".verdicts.csv"
            },
        )
    });
    let tmp = {
        let mut p = out_path.clone().into_os_string();
        p.push(".tmp");
        PathBuf::from(p)
    };
    let file = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let show = std::io::stderr().is_terminal();
    let label = args.payees.display().to_string();
    let format = if args.json {
        OutputFormat::JsonLines
    } else {
        OutputFormat::Csv
    };
    let lookup = match &args.ledger {
        Some(url) => Some(tepat_ledger::lookup::PgLookup::new(ledger_client(url)?)),
        None => None,
    };
    let result = verify_csv_central(
        &store,
        BufReader::with_capacity(1 << 20, input),
        &label,
        &mut out,
        format,
        lookup
            .as_ref()
            .map(|l| l as &dyn tepat::batch::CentralLookup),
        |rows| {
            if show {
                eprint!("\rverified {rows} rows");
            }
        },
    );
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            drop(out);
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
    };
    if show {
        eprintln!();
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    std::fs::rename(&tmp, &out_path)?;
    let secs = started.elapsed().as_secs_f64();
    let summary_path = beside(&out_path, ".summary.json");
    let doc = json!({
        "input": label,
        "output": out_path.display().to_string(),
        "rows": summary.rows,
        "payable": summary.payable,
        "refused": summary.refused,
        "invalid": summary.invalid,
        "repeated": summary.repeated,
        "refused_by_reason": summary.refused_by_reason,
        "warnings": summary.warnings,
        "seconds": secs,
        "rows_per_second": summary.rows as f64 / secs.max(1e-9),
    });
    std::fs::write(&summary_path, format!("{doc:#}\n"))?;
    eprintln!(
        "{} rows: {} payable, {} refused ({} invalid rows, {} repeated) in {secs:.2} s ({:.0} rows/s)",
        summary.rows,
        summary.payable,
        summary.refused,
        summary.invalid,
        summary.repeated,
        summary.rows as f64 / secs.max(1e-9)
    );
    for (reason, n) in &summary.refused_by_reason {
        eprintln!("  refused {n:>10}  {reason}");
    }
    for (reason, n) in &summary.warnings {
        eprintln!("  warning {n:>10}  {reason}");
    }
    eprintln!(
        "verdicts: {}; summary: {}",
        out_path.display(),
        summary_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// What `tepat report` prints.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// Persons (and families) enrolled in both of each pair of programs.
    Overlap,
    /// Enrolled but not eligible.
    Inclusion,
    /// Eligible but not enrolled.
    Exclusion,
    /// Enrolments that break the registry's exclusion rules.
    Conflicts,
    /// Deceased persons still enrolled.
    Deceased,
    /// Duplicate identities.
    Duplicates,
    /// All of the above, nationally.
    Summary,
    /// The ledger: paid, reversed and refused claims and their sums, by
    /// region, program and period (`--period`, `--program` narrow it).
    Payouts,
}

/// Regions to break a report down by.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
pub enum ByArg {
    /// Provinces.
    Province,
    /// Regencies and cities.
    Regency,
    /// Districts.
    District,
}

/// Output formats of `tepat report`.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
pub enum FormatArg {
    /// Aligned text.
    Table,
    /// CSV with a header.
    Csv,
    /// One JSON document.
    Json,
}

/// Arguments of `tepat report`.
#[derive(clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    at: crate::store_at::At,
    /// Region level.
    #[arg(long, value_enum, default_value = "province")]
    by: ByArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: FormatArg,
    /// Only this period (`payouts`).
    #[arg(long)]
    period: Option<String>,
    /// Only this program (`payouts`).
    #[arg(long)]
    program: Option<String>,
    /// Which report.
    #[arg(value_enum)]
    kind: ReportKind,
}

fn kind_of(k: ReportKind) -> Option<Kind> {
    Some(match k {
        ReportKind::Overlap => Kind::Overlap,
        ReportKind::Inclusion => Kind::Inclusion,
        ReportKind::Exclusion => Kind::Exclusion,
        ReportKind::Conflicts => Kind::Conflicts,
        ReportKind::Deceased => Kind::Deceased,
        ReportKind::Duplicates => Kind::Duplicates,
        ReportKind::Summary | ReportKind::Payouts => return None,
    })
}

/// Prints a report.
pub fn report(args: ReportArgs) -> CmdResult {
    let store = args.at.open()?;
    let by = match args.by {
        ByArg::Province => By::Province,
        ByArg::Regency => By::Regency,
        ByArg::District => By::District,
    };
    if args.kind == ReportKind::Payouts {
        return payouts(&args, &store, by);
    }
    if args.period.is_some() || args.program.is_some() {
        return Err("--period and --program narrow only the payouts report".into());
    }
    let started = Instant::now();
    let counts = store.counts(by, 0)?;
    let counted = started.elapsed().as_secs_f64();
    let reports: Vec<Report> = match kind_of(args.kind) {
        Some(k) => vec![counts.report(k)],
        None => tepat::report::summary(&counts).into_values().collect(),
    };
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    match args.format {
        FormatArg::Csv => {
            for (i, r) in reports.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                r.write_csv(&mut out)?;
            }
        }
        FormatArg::Json => {
            let doc: Vec<_> = reports
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?;
            writeln!(out, "{}", serde_json::Value::Array(doc))?;
        }
        FormatArg::Table => {
            for r in &reports {
                write_table(&mut out, r)?;
            }
            writeln!(
                out,
                "(counted in {:.3} s: the snapshot plus pending changes)",
                counted
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// A report as aligned text.
pub fn write_table(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    let header: Vec<String> = r.csv_header().split(',').map(str::to_owned).collect();
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.region_code.clone(), row.region.clone()];
            cells.extend(row.keys.iter().cloned());
            cells.push(row.persons.to_string());
            if r.has_families {
                cells.push(
                    row.families
                        .map_or_else(|| "-".to_owned(), |f| f.to_string()),
                );
            }
            cells
        })
        .collect();
    let numeric_from = header.len() - 1 - usize::from(r.has_families);
    write_aligned(out, r.kind, &header, &rows, numeric_from)
}

/// A titled table of text cells, columns from `numeric_from` on aligned
/// right.
fn write_aligned(
    out: &mut impl Write,
    title: &str,
    header: &[String],
    rows: &[Vec<String>],
    numeric_from: usize,
) -> std::io::Result<()> {
    writeln!(out, "\n== {title} ==")?;
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|c| c[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i >= numeric_from {
                    format!("{c:>w$}", w = widths[i])
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    writeln!(out, "{}", line(header))?;
    for cells in rows {
        writeln!(out, "{}", line(cells))?;
    }
    Ok(())
}

/// `tepat report payouts`: the ledger's paid, reversed and refused claims
/// and their sums.
fn payouts(args: &ReportArgs, store: &tepat::Store, by: By) -> CmdResult {
    let mut filter = tepat::store::PayoutsFilter::default();
    if let Some(p) = &args.period {
        filter = filter.period(p);
    }
    if let Some(p) = &args.program {
        store.registry().require(p)?;
        filter = filter.program(p);
    }
    let report = store.payouts_report(by, &filter)?;
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    match args.format {
        FormatArg::Csv => report.write_csv(&mut out)?,
        FormatArg::Json => {
            writeln!(out, "{}", tepat_server::report_json::payouts(&report))?;
        }
        FormatArg::Table => {
            let header: Vec<String> = tepat::store::PAYOUTS_HEADER
                .split(',')
                .map(str::to_owned)
                .collect();
            let rupiah = crate::payout_cmds::rupiah;
            let rows: Vec<Vec<String>> = report
                .rows
                .iter()
                .map(|r| {
                    vec![
                        r.region_code.clone(),
                        r.region.clone(),
                        r.program.clone(),
                        r.period.clone(),
                        r.paid.to_string(),
                        rupiah(r.paid_amount),
                        r.paid_without_amount.to_string(),
                        r.reversed.to_string(),
                        rupiah(r.reversed_amount),
                        r.refused.to_string(),
                        rupiah(r.net_amount()),
                    ]
                })
                .collect();
            write_aligned(&mut out, "payouts", &header, &rows, 4)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
