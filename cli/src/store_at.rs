//! `--store DIR [--today DATE]`, as every command on a store takes them,
//! and the one way the commands open a store.

use std::path::{Path, PathBuf};

use tepat::{Date, Options, Store};

/// Where the store is, and the date it runs on.
#[derive(clap::Args, Clone, Debug)]
pub struct At {
    /// The store directory.
    #[arg(long)]
    pub store: PathBuf,
    /// The store's date, YYYY-MM-DD, which decides the periods that are
    /// open for payment (each program's window); default: today. To replay
    /// a day's work, and in tests.
    #[arg(long, value_parser = crate::nik::parse_date)]
    pub today: Option<Date>,
}

impl At {
    /// The options the store is opened with.
    pub fn options(&self) -> Options {
        let options = Options::default();
        match self.today {
            Some(d) => options.today(d),
            None => options,
        }
    }

    /// Opens the store.
    pub fn open(&self) -> Result<Store, tepat::Error> {
        open(&self.store, self.options())
    }
}

/// Opens a store, and says so when opening cut an unfinished claim record
/// off the claims log (never acknowledged: a write that died with its
/// process) and where its bytes were kept.
pub fn open(dir: &Path, options: Options) -> Result<Store, tepat::Error> {
    let store = Store::open_with(dir, options)?;
    if let Some(kept) = store.torn_claims_kept() {
        eprintln!(
            "tepat: note: the claims log ended in an unfinished record ({} bytes, never \
             acknowledged); it was cut off and its bytes kept in {}",
            store.torn_claim_bytes(),
            kept.display()
        );
    }
    Ok(store)
}
