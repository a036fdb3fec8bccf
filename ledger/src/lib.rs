//! The central ledger of every payout point (docs/LEDGER.md).
//!
//! Each store guarantees "never paid twice" for the claims it records; a
//! family on two points' lists can still be paid at both, offline. This
//! crate replicates every store's claims log into one PostgreSQL database
//! and finds those cross-point double payments:
//!
//! - [`migrate`]: the schema, in versioned migrations (`tepat ledger init`);
//! - [`sync`]: ships a store's claims log from its point's high-water mark
//!   (`tepat sync`), flagging paid claims whose key another claim holds;
//! - [`report`]: double payments and paid / reversed counts and sums
//!   (`tepat ledger report`);
//! - [`reserve`]: online reservation of a claim's key before a point pays
//!   it (`tepat serve --ledger`);
//! - [`lookup`]: a payee list's payments looked up across every point
//!   (`tepat batch --ledger`).
//!
//! It is a package of its own so that the library (`tepat`) never depends
//! on a database client: `.ci/run` checks the library's tree holds none.

#![forbid(unsafe_code)]

mod apply;
pub mod connect;
pub mod error;
pub mod lookup;
pub mod migrate;
pub mod output;
pub mod report;
pub mod reserve;
mod stage;
pub mod sync;

pub use connect::{connect, connect_with};
pub use error::{Error, Result};
/// The client the ledger's calls take (re-exported: callers need not name
/// the `postgres` crate).
pub use postgres::Client;
