//! `--store DIR [--today DATE]`, as every command on a store takes them,
//! and the one way the commands open a store.

use std::path::{Path, PathBuf};

use tepat::snapshot::{IdentityKey, PublicKey, SigningKey};
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
    /// Open only snapshots signed by this public key (`ed25519:` and 64
    /// hex digits, or a `.pub` file of `tepat key new --signing`); may be
    /// repeated. Default: any snapshot (a signed one's signature is still
    /// checked).
    #[arg(long = "trust", value_name = "PUBKEY")]
    pub trust: Vec<String>,
    /// A keyed payout point's identity key (a file of `tepat key new`):
    /// a keyed store opens only with its own.
    #[arg(long, value_name = "KEYFILE")]
    pub key: Option<PathBuf>,
}

impl At {
    /// The options the store is opened with.
    pub fn options(&self) -> Result<Options, tepat::Error> {
        let mut options = Options::default();
        if let Some(d) = self.today {
            options = options.today(d);
        }
        for key in &self.trust {
            options = options.trust(PublicKey::from_text_or_file(key)?);
        }
        Ok(options.identity_key(self.identity_key()?))
    }

    /// The identity key, read (its file's permissions checked), if named.
    pub fn identity_key(&self) -> Result<Option<IdentityKey>, tepat::Error> {
        let Some(path) = &self.key else {
            return Ok(None);
        };
        crate::key_cmds::warn_if_loose(path);
        IdentityKey::from_file(path).map(Some)
    }

    /// Opens the store.
    pub fn open(&self) -> Result<Store, tepat::Error> {
        open(&self.store, self.options()?)
    }
}

/// `--sign-key FILE`, as the commands that write a snapshot take it.
#[derive(clap::Args, Clone, Debug)]
pub struct SignWith {
    /// Sign the snapshot written with this key (a file of `tepat key new
    /// --signing`); payout points that trust its public key open it.
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,
}

impl SignWith {
    /// The key, read (and its file's permissions checked), if one was named.
    pub fn key(&self) -> Result<Option<SigningKey>, tepat::Error> {
        let Some(path) = &self.sign_key else {
            return Ok(None);
        };
        crate::key_cmds::warn_if_loose(path);
        SigningKey::from_file(path).map(Some)
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
