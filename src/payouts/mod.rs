//! Payouts: the claims log ([`claims_log`], an append-only file of
//! checksummed records made durable by `fdatasync`) and the ledger over it
//! ([`ledger`], the in-memory index that answers "was this request seen?"
//! and "who holds this claim key?").
//!
//! This layer knows nothing of the snapshot or the live state: it records
//! decisions the store takes.

pub(crate) mod claims_log;
pub(crate) mod codec;
pub(crate) mod index;
pub(crate) mod ledger;
#[cfg(test)]
mod power_cut_tests;
pub(crate) mod records;
