//! The snapshot: one immutable, checksummed, memory-mapped file per
//! generation of the register (docs/FORMAT.md).
//!
//! ```no_run
//! use tepat::snapshot::Snapshot;
//! use tepat::Nik;
//!
//! let snap = Snapshot::open("store/snapshot-000001.tepat".as_ref())?; // generation 1 of a store
//! let nik: Nik = "3201015708900001".parse()?;
//! if let Some(person) = snap.get(nik) {
//!     let registry = snap.registry();
//!     println!("enrolled in {}", registry.format_set(person.enrolled()));
//! }
//! # Ok::<(), tepat::Error>(())
//! ```
//!
//! [`Snapshot::open`] checks the header and the section table in constant
//! time; [`Snapshot::verify`] reads every byte. A lookup hashes the NIK and
//! reads the NIK's home line — one cache line for 82 % of NIKs; for the
//! rest, usually one nearby line more (docs/FORMAT.md, "Lookup") — in
//! place, without allocating.

mod build;
pub mod format;
pub mod keyed;
mod mmap;
mod page_writer;
mod read;
mod scan;
pub mod sign;

pub use build::{BuildSummary, IngestReport, REJECTS_HEADER, SnapshotBuilder};
pub use keyed::IdentityKey;
pub use read::{Family, PREFETCH_DISTANCE, Person, Residence, Snapshot};
pub use scan::VECTOR_SCAN;
pub use sign::{PublicKey, SigningKey};
