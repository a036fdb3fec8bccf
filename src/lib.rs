//! tepat (*tepat sasaran*, "on target") answers the question asked at every
//! social-assistance payout in Indonesia: may this NIK be paid this program
//! for this period? — and records the payout so that nobody is paid twice.
//!
//! A store is made from the register's rows, then checked and paid against:
//!
//! ```
//! use tepat::region::ListFile;
//! use tepat::snapshot::SnapshotBuilder;
//! use tepat::{ClaimRequest, Date, Options, RegionTable, Registry, Store};
//!
//! // The register keeper's export: a family of three in Cibinong, Bogor.
//! let register = "\
//! nik,kk,relation,village_code,sex,birth_date,decile,deceased,civil_servant,components,programs
//! 3201011503850001,3201011503150007,head,3201011001,M,1985-03-15,2,0,0,,PKH|SEMBAKO
//! 3201015708900001,3201011503150007,spouse,3201011001,F,1990-08-17,2,0,0,pregnant,PKH|SEMBAKO|PBI_JK
//! 3201010101200002,3201011503150007,child,3201011001,M,2020-01-01,2,0,0,,PKH|SEMBAKO
//! ";
//! // Village names are compiled in only with the `builtin-villages`
//! // feature; a table can also be given the villages it needs.
//! let mut regions = RegionTable::builtin().clone();
//! regions.add_list(ListFile::Villages, "code,district_code,name\n3201011001,320101,Pondok Rajeg\n".as_bytes())?;
//! let as_of = Date::new(2026, 11, 1).expect("a date");
//! let mut builder = SnapshotBuilder::new(Registry::builtin().clone(), &regions, as_of)?;
//! let mut rejects = Vec::new(); // rows that cannot be used, with line and reason
//! builder.add_csv(register.as_bytes(), "register.csv", &mut rejects, |_| {})?;
//!
//! let dir = tempfile::tempdir().expect("a temporary directory");
//! let store = Store::create(dir.path(), builder, Options::default())?;
//!
//! // At the counter: may the mother be paid PKH for the fourth quarter?
//! let verdict = store.check_str("3201015708900001", "PKH", "2026-Q4")?;
//! assert!(verdict.payable);
//!
//! // How much? PKH pays per member by component: Rp 750,000 a quarter for
//! // her pregnancy, as much for the child under seven.
//! let entitled = store.entitlement("3201015708900001", "PKH", "2026-Q4")?;
//! assert_eq!(entitled, Some(1_500_000));
//!
//! // Pay her: checked and recorded in one step, durable when it returns.
//! let claim = ClaimRequest {
//!     request_id: "POS-40111-000123".into(),
//!     nik: "3201015708900001".into(),
//!     program: "PKH".into(),
//!     period: "2026-Q4".into(),
//!     amount: Some(1_500_000), // another amount is refused: wrong_amount
//!     operator: "counter-3".into(),
//!     meta: "post office 40111".into(),
//! };
//! assert!(store.claim(&claim)?.paid);
//! // The counter's retry (a timeout, a double click) gets the first answer.
//! assert!(store.claim(&claim)?.replayed);
//! // PKH is paid per family: her husband cannot be paid it again.
//! let again = store.check_str("3201011503850001", "PKH", "2026-Q4")?;
//! assert!(!again.payable);
//!
//! // The transfer failed: reverse the claim, and the family is payable again.
//! store.reverse("POS-40111-000124", "POS-40111-000123", "account closed")?;
//! assert!(store.check_str("3201011503850001", "PKH", "2026-Q4")?.payable);
//! # Ok::<(), tepat::Error>(())
//! ```
//!
//! The domain layer explains NIKs and programs without a store:
//!
//! ```
//! use tepat::{Date, Nik, Registry, Sex};
//!
//! // A NIK explains itself: region of issue, sex, birth date, serial.
//! let nik: Nik = "3201015708900001".parse()?; // or Nik::parse, allocation-free
//! assert_eq!(nik.district_code(), 320101);
//! assert_eq!(nik.sex(), Sex::Female); // day 57 = 17 + 40
//! let today = Date::new(2026, 11, 26).unwrap();
//! assert_eq!(nik.birth_date(today).to_string(), "1990-08-17");
//!
//! // The region tables name the codes, current or former (Papua's NIKs
//! // keep the codes of before the 2022 split).
//! let regions = tepat::RegionTable::builtin();
//! assert_eq!(regions.regency(nik.regency_code()).unwrap().name, "Kabupaten Bogor");
//!
//! // Programs are data: codes, units, periods, rules, exclusions.
//! let registry = Registry::builtin();
//! let pkh = registry.require("PKH")?;
//! let period = registry.period_for(pkh, "2026-Q4")?;
//! assert_eq!(period.to_string(), "2026-Q4");
//! assert!(registry.period_for(pkh, "2026-11").is_err()); // PKH is quarterly
//! # Ok::<(), tepat::Error>(())
//! ```
//!
//! # Overview
//!
//! | type | what it is |
//! |---|---|
//! | [`Nik`] | a checked 16-digit national identity number (a `u64`) |
//! | [`Kk`] | a checked 16-digit family card number |
//! | [`RegionTable`], [`RegionCode`] | Kemendagri 2025 region codes and names, with the former Papua codes |
//! | [`Registry`], [`Program`], [`ProgramSet`] | the program registry and per-person program bitsets |
//! | [`Period`] | a payout period: `2026-11`, `2026-Q4`, `2026`, `once` |
//! | [`snapshot::Snapshot`], [`snapshot::SnapshotBuilder`] | the immutable, memory-mapped register snapshot and its streaming builder |
//! | [`Store`] | a snapshot generation + pending changes + the payout ledger: `check`, `claim`, `reverse`, `apply_csv`, `compact`, `refresh`, `verify_batch`, reports |
//! | [`Error`] | the one error type; [`NikError`] and [`KkError`] are its allocation-free parts |
//!
//! # Limits and quirks
//!
//! - A NIK's two-digit birth year has no century. [`Nik::birth_date`] takes
//!   a reference date and picks 20YY unless that lies after it; people over
//!   100 are therefore read as children. The register's own `birth_date`
//!   column is the authority where it exists.
//! - The registry holds at most [`program::MAX_PROGRAMS`] (32) programs: one
//!   bit each in a `u32`.
//! - Village names are compiled in only with the `builtin-villages`
//!   feature; otherwise load them with [`RegionTable::add_list`].
//! - NIKs exceed 2^53: never put one in a JSON number.

// Only `snapshot::mmap` maps files and prefetches, and `snapshot::scan`
// loads a line into a vector register; everything else is safe.
#![deny(unsafe_code)]
#![deny(missing_docs)]
// Input must never reach a panic: library code returns errors instead.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// Layers, each importing only those above it in this list: the leaves
// (error, csv, json), the domain, text rows, durable-write primitives, the
// snapshot file, the live state (sled), payouts (the claims log and its
// ledger), the store that joins them, and batch and report over a store.
pub mod batch;
pub mod bulk;
mod csv;
mod domain;
mod durable;
pub mod error;
mod json;
pub mod live;
mod payouts;
pub mod report;
mod rows;
pub mod snapshot;
pub mod store;

pub use domain::{date, kk, nik, period, program, region, verdict};
pub use durable::FAULT_POINTS;
pub use rows::{change, register};
pub use store::generations;

pub use date::Date;
pub use error::{Error, KkError, NikError, Result};
pub use kk::Kk;
pub use nik::{Nik, Sex};
pub use period::{Period, PeriodKind};
pub use program::{ComponentSet, Program, ProgramId, ProgramSet, Registry, Unit};
pub use region::{Level, Region, RegionCode, RegionTable};
pub use store::{ClaimOutcome, ClaimRequest, Options, Store};
pub use verdict::{ReasonCode, Verdict};
