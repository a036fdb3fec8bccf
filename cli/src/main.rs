//! `tepat`: the command-line face of the tepat library.
//!
//! Each subcommand lives in its own module; `main` only parses arguments and
//! maps the outcome to an exit status (0 success, 1 a "no" answer such as an
//! invalid NIK, 2 a usage or input error).

#![forbid(unsafe_code)]

/// `println!` that returns the write's error instead of panicking, so that
/// a reader that went away (`tepat info | head -1`) ends the command
/// quietly (see `main`).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

mod analyst_cmds;
mod demo;
mod generation_cmds;
mod key_cmds;
mod ledger_cmds;
mod merge_cmd;
mod nik;
mod payout_cmds;
mod serve_cmds;
mod snapshot_cmds;
mod store_at;
mod subset_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// tepat: may this NIK be paid this program for this period?
#[derive(Parser)]
#[command(name = "tepat", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a register, build a store, look up, check, claim, verify a
    /// payee list and apply changes: the whole story in under a minute.
    Demo(demo::DemoArgs),
    /// Check and explain NIKs (from the arguments, or one per line on stdin).
    Nik(nik::Args),
    /// Build a store from a register export; on an existing store, its next
    /// generation (a full refresh: claims and audit kept, pending changes the
    /// export does not reflect carried over).
    Build(snapshot_cmds::BuildArgs),
    /// Merge the register's sources (DTKS, Regsosek, P3KE) against the
    /// civil register into one register export.
    Merge(merge_cmd::MergeArgs),
    /// Fold the pending changes into the next snapshot generation.
    Compact(generation_cmds::CompactArgs),
    /// Switch back to the previous generation (kept until the next
    /// compaction or refresh).
    Rollback(generation_cmds::CompactArgs),
    /// Show what the current snapshot holds for NIKs.
    Get(snapshot_cmds::GetArgs),
    /// Show a store's generation, counts, sizes and program registry.
    Info(snapshot_cmds::StoreArgs),
    /// Check a whole store: its parts belong together, every byte of the
    /// snapshot, every record of the claims log and the live state.
    Verify(snapshot_cmds::VerifyArgs),
    /// May this NIK be paid this program for this period? Every reason.
    Check(payout_cmds::CheckArgs),
    /// Check and record a payout in one durable, idempotent step.
    Claim(payout_cmds::ClaimArgs),
    /// Reverse a paid claim (a failed disbursement).
    Reverse(payout_cmds::ReverseArgs),
    /// Apply a change file to a store, whole or not at all.
    Apply(payout_cmds::ApplyArgs),
    /// Print the audit log (JSON lines): claims, reversals, changes.
    #[command(alias = "claims")]
    Audit(payout_cmds::AuditArgs),
    /// Verify a payee list: one verdict per row, in order.
    Batch(analyst_cmds::BatchArgs),
    /// Overlap, inclusion, exclusion, conflicts, deceased, duplicates by region.
    Report(analyst_cmds::ReportArgs),
    /// The central ledger in PostgreSQL: create its schema, report on it.
    Ledger(ledger_cmds::LedgerArgs),
    /// Ship a payout point's claims log to the central ledger.
    Sync(ledger_cmds::SyncArgs),
    /// Serve the store over HTTP to payout points, banks and analysts
    /// (docs/SERVICE.md).
    Serve(serve_cmds::ServeArgs),
    /// Make access tokens for `tepat serve`.
    Token(serve_cmds::TokenArgs),
    /// Cut payout-point stores out of a national store: a region's
    /// families, the programs the point pays.
    Subset(subset_cmd::SubsetArgs),
    /// Make keys: a payout point's identity key, or the register keeper's
    /// signing key pair (`--signing`).
    Key(key_cmds::KeyArgs),
    /// Claim continuously from several threads (the kill -9 test's child).
    #[command(hide = true)]
    StressClaims(payout_cmds::StressArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Nik(args) => nik::run(args),
        Command::Build(args) if generation_cmds::is_store(&args.store) => {
            generation_cmds::refresh(args)
        }
        Command::Build(args) => snapshot_cmds::build(args),
        Command::Merge(args) => merge_cmd::run(args),
        Command::Compact(args) => generation_cmds::compact(args),
        Command::Rollback(args) => generation_cmds::rollback(args),
        Command::Get(args) => snapshot_cmds::get(args),
        Command::Info(args) => snapshot_cmds::info(args),
        Command::Verify(args) => snapshot_cmds::verify(args),
        Command::Check(args) => payout_cmds::check(args),
        Command::Claim(args) => payout_cmds::claim(args),
        Command::Reverse(args) => payout_cmds::reverse(args),
        Command::Apply(args) => payout_cmds::apply(args),
        Command::Audit(args) => payout_cmds::audit(args),
        Command::Batch(args) => analyst_cmds::batch(args),
        Command::Report(args) => analyst_cmds::report(args),
        Command::Ledger(args) => ledger_cmds::ledger(args),
        Command::Sync(args) => ledger_cmds::sync(args),
        Command::Serve(args) => serve_cmds::serve(args),
        Command::Token(args) => serve_cmds::token(args),
        Command::Key(args) => key_cmds::run(args),
        Command::Subset(args) => subset_cmd::run(args),
        Command::StressClaims(args) => payout_cmds::stress(args),
    };
    match result {
        Ok(code) => code,
        // A reader that went away (`tepat report ... | head`) is not an
        // error worth a message.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tepat: {e}");
            ExitCode::from(2)
        }
    }
}
