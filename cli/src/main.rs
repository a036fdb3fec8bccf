//! `tepat`: the command-line face of the tepat library.
//!
//! Each subcommand lives in its own module; `main` only parses arguments and
//! maps the outcome to an exit status (0 success, 1 a "no" answer such as an
//! invalid NIK, 2 a usage or input error).

#![forbid(unsafe_code)]

mod nik;
mod snapshot_cmds;

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
    /// Check and explain NIKs (from the arguments, or one per line on stdin).
    Nik(nik::Args),
    /// Build the next snapshot generation of a store from a register export.
    Build(snapshot_cmds::BuildArgs),
    /// Show what the current snapshot holds for NIKs.
    Get(snapshot_cmds::GetArgs),
    /// Show a store's generation, counts, sizes and program registry.
    Info(snapshot_cmds::StoreArgs),
    /// Check every byte of a store's current snapshot.
    Verify(snapshot_cmds::StoreArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Nik(args) => nik::run(args),
        Command::Build(args) => snapshot_cmds::build(args),
        Command::Get(args) => snapshot_cmds::get(args),
        Command::Info(args) => snapshot_cmds::info(args),
        Command::Verify(args) => snapshot_cmds::verify(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tepat: {e}");
            ExitCode::from(2)
        }
    }
}
