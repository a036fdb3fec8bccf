//! `tepat ledger init`, `tepat ledger report` and `tepat sync`: the central
//! ledger in PostgreSQL (tepat-ledger; docs/LEDGER.md).

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use tepat_ledger::report::By;

type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// `tepat ledger ...`.
#[derive(clap::Args)]
pub struct LedgerArgs {
    #[command(subcommand)]
    command: LedgerCommand,
}

#[derive(clap::Subcommand)]
enum LedgerCommand {
    /// Create the ledger's schema, or migrate it to this tepat's version
    /// (a no-op when it is there; a newer database is refused).
    Init(InitArgs),
    /// Cross-point double payments, and paid / reversed counts and sums.
    Report(ReportArgs),
    /// Reservations whose claim never reached the ledger (the point died
    /// or has not synced since): keys held for everyone else.
    Unclaimed(UnclaimedArgs),
}

#[derive(clap::Args)]
struct UnclaimedArgs {
    /// The ledger's PostgreSQL, `postgresql://user@host:port/database`.
    #[arg(long)]
    db: String,
    /// Only reservations at least this many seconds old (a younger one is
    /// most likely a claim not yet synced).
    #[arg(long, default_value_t = 3600)]
    older_than_secs: u64,
    /// `csv` or `json`.
    #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
    format: String,
}

/// Where the ledger is.
#[derive(clap::Args)]
struct InitArgs {
    /// The ledger's PostgreSQL, `postgresql://user@host:port/database`.
    #[arg(long)]
    db: String,
}

#[derive(clap::Args)]
struct ReportArgs {
    /// The ledger's PostgreSQL, `postgresql://user@host:port/database`.
    #[arg(long)]
    db: String,
    /// Group the counts by `province`, `regency` or `point`.
    #[arg(long, default_value = "province")]
    by: By,
    /// Only this period (`2026-Q4`, `2026-11`).
    #[arg(long)]
    period: Option<String>,
    /// `csv` (two tables, an empty line between) or `json`.
    #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
    format: String,
}

/// `tepat sync`'s arguments.
#[derive(clap::Args)]
pub struct SyncArgs {
    /// The payout point's store directory.
    #[arg(long)]
    store: PathBuf,
    /// The ledger's PostgreSQL, `postgresql://user@host:port/database`.
    #[arg(long)]
    db: String,
    /// The payout point's id in the ledger (bound to the store at its
    /// first sync).
    #[arg(long)]
    point: String,
    /// Records per transaction.
    #[arg(long, default_value_t = tepat_ledger::sync::DEFAULT_BATCH)]
    batch: usize,
    /// A keyed point's identity key: opens its store, and its claims reach
    /// the ledger with the NIK and KK behind their pseudonyms (so that the
    /// ledger matches them with other points').
    #[arg(long, value_name = "KEYFILE", conflicts_with = "keys")]
    key: Option<PathBuf>,
    /// The register keeper's directory of point keys: the key is
    /// KEYS/POINT.key (as `tepat subset --plan --keys` made it).
    #[arg(long, value_name = "DIR")]
    keys: Option<PathBuf>,
    /// With a key: ship the pseudonyms as they are (the ledger holds the
    /// claims, and matches them with no other point's).
    #[arg(long)]
    keep_keyed: bool,
}

/// Runs `tepat ledger ...`.
pub fn ledger(args: LedgerArgs) -> CmdResult {
    match args.command {
        LedgerCommand::Init(a) => init(a),
        LedgerCommand::Report(a) => report(a),
        LedgerCommand::Unclaimed(a) => unclaimed(a),
    }
}

fn unclaimed(args: UnclaimedArgs) -> CmdResult {
    let mut client = tepat_ledger::connect(&args.db)?;
    let older_than = std::time::Duration::from_secs(args.older_than_secs);
    let rows = tepat_ledger::report::unclaimed(&mut client, older_than)?;
    print_as(
        &args.format,
        || tepat_ledger::output::unclaimed_json(&rows),
        |out| tepat_ledger::output::write_unclaimed_csv(&rows, out),
    )
}

/// Prints a report to stdout as `json` (one document) or CSV.
fn print_as(
    format: &str,
    json: impl FnOnce() -> serde_json::Value,
    csv: impl FnOnce(&mut BufWriter<std::io::StdoutLock<'static>>) -> std::io::Result<()>,
) -> CmdResult {
    let mut out = BufWriter::new(std::io::stdout().lock());
    if format == "json" {
        writeln!(out, "{}", json())?;
    } else {
        csv(&mut out)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn init(args: InitArgs) -> CmdResult {
    let mut client = tepat_ledger::connect(&args.db)?;
    let done = tepat_ledger::migrate::migrate(&mut client)?;
    if done.applied.is_empty() {
        outln!("ledger schema at version {}: nothing to do", done.to);
    } else {
        let applied: Vec<String> = done.applied.iter().map(|v| format!("{v:03}")).collect();
        outln!(
            "ledger schema at version {} (was {}; applied {})",
            done.to,
            done.from,
            applied.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn report(args: ReportArgs) -> CmdResult {
    let mut client = tepat_ledger::connect(&args.db)?;
    let report = tepat_ledger::report::report(&mut client, args.by, args.period.as_deref())?;
    print_as(
        &args.format,
        || tepat_ledger::output::to_json(&report),
        |out| tepat_ledger::output::write_csv(&report, out),
    )
}

/// Runs `tepat sync`: opens the store as every command does (the claims
/// log is one process's: a point's own app must not hold it meanwhile),
/// then ships its log from the point's high-water mark.
pub fn sync(args: SyncArgs) -> CmdResult {
    let key_file = match (&args.key, &args.keys) {
        (Some(file), _) => Some(file.clone()),
        (None, Some(dir)) => Some(dir.join(format!("{}.key", args.point))),
        (None, None) => None,
    };
    let key = match &key_file {
        Some(file) => {
            crate::key_cmds::warn_if_loose(file);
            Some(tepat::snapshot::IdentityKey::from_file(file)?)
        }
        None => None,
    };
    let options = tepat::Options::default().identity_key(key.clone());
    let store = crate::store_at::open(&args.store, options)?;
    let mut client = tepat_ledger::connect(&args.db)?;
    let reveal = key.as_ref().filter(|_| !args.keep_keyed);
    let done =
        tepat_ledger::sync::sync_revealing(&mut client, &store, &args.point, args.batch, reveal)?;
    outln!(
        "point {}: {} claims and {} reversals shipped in {} batches ({} double payments \
         flagged); high-water mark {} -> {}",
        args.point,
        done.claims,
        done.reversals,
        done.batches,
        done.double_payments,
        done.from,
        done.to
    );
    Ok(ExitCode::SUCCESS)
}
