//! A new store from a register export, as `tepat build` makes one: the
//! directory reserved first, refused rows listed in
//! `STORE/rejects-000001.csv`, the built-in program registry.

use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use tepat::snapshot::{IngestReport, SnapshotBuilder};
use tepat::{Date, Options, RegionTable, Registry, Store};

use crate::codes::Failure;

/// The rejects file of the first generation.
///
/// cbindgen:ignore
pub const REJECTS_FILE: &str = "rejects-000001.csv";

/// Creates a store in `dir` (new or empty) from the register export at
/// `register`; eligibility is computed as of `as_of` (default: the first
/// day of the month of the store's date). Returns the open store and what
/// was read.
pub fn create_store(
    dir: &Path,
    register: &Path,
    as_of: Option<Date>,
    options: Options,
) -> Result<(Store, IngestReport), Failure> {
    let today = options.today.unwrap_or_else(Date::today);
    let as_of = match as_of {
        Some(d) => d,
        None => Date::new(today.year(), today.month(), 1).unwrap_or(today),
    };
    let file = std::fs::File::open(register).map_err(|e| tepat::Error::io(register, e))?;
    // The directory is ours before the rejects file is written into it.
    let reservation = Store::reserve(dir)?;
    let builder = SnapshotBuilder::new(Registry::builtin().clone(), RegionTable::builtin(), as_of)?;
    let mut builder = builder.keyed_by(options.identity_key.clone());
    let input = BufReader::with_capacity(1 << 20, file);
    let name = register.display().to_string();
    let report = if builder.is_keyed() {
        // A keyed store's directory holds no NIK: its rejected rows (NIKs
        // in clear) are counted, not kept.
        builder.add_csv(input, &name, &mut std::io::sink(), |_| {})?
    } else {
        let rejects_path = dir.join(REJECTS_FILE);
        let rejects_file =
            std::fs::File::create(&rejects_path).map_err(|e| tepat::Error::io(&rejects_path, e))?;
        let mut rejects = BufWriter::new(rejects_file);
        let report = builder.add_csv(input, &name, &mut rejects, |_| {})?;
        rejects
            .flush()
            .map_err(|e| tepat::Error::io(&rejects_path, e))?;
        report
    };
    let (store, _summary) = reservation.create(builder, options)?;
    Ok((store, report))
}
