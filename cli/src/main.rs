//! `tepat`: the command-line face of the tepat library.
//!
//! Each subcommand lives in its own module; `main` only parses arguments and
//! maps the outcome to an exit status (0 success, 1 a "no" answer such as an
//! invalid NIK, 2 a usage or input error).

#![forbid(unsafe_code)]

mod nik;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Nik(args) => nik::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tepat: {e}");
            ExitCode::from(2)
        }
    }
}
