//! `Store::verify`: every byte of every part of a store, against its
//! checksums and formats.

use super::Store;
use crate::error::Result;

/// What [`Store::verify`] checked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreCheck {
    /// Bytes of the current snapshot, every section against its checksum
    /// and every structure lookups rely on.
    pub snapshot_bytes: u64,
    /// Claims-log records, each checksummed and decoded.
    pub claims_records: u64,
    /// Bytes of the claims log that a sync covers.
    pub claims_log_bytes: u64,
    /// Live-state records, each decoded.
    pub live_records: u64,
}

impl Store {
    /// Checks the whole store: the snapshot byte for byte
    /// ([`crate::snapshot::Snapshot::verify`]), every record of the claims
    /// log and of the live state. The parts' identities and lengths were
    /// checked when the store was opened (store::open); the claims log's
    /// records were checksummed then too, and are decoded here again.
    pub fn verify(&self) -> Result<StoreCheck> {
        let snap = self.snapshot();
        snap.verify()?;
        let claims_records = self.ledger.lock()?.entries()?.len() as u64;
        let live_records = self.live.verify()?;
        Ok(StoreCheck {
            snapshot_bytes: snap.byte_len(),
            claims_records,
            claims_log_bytes: self.ledger.synced_bytes(),
            live_records,
        })
    }
}
