//! The checks of the fuzz targets, one module per target, shared with
//! `tests/fuzz_replay.rs` (which includes this file with `#[path]`) so that
//! `cargo test` replays the committed corpus on stable Rust.

pub mod csv_rows;
pub mod fixture;
pub mod ids;
pub mod payees;
pub mod registry;
pub mod snapshot;
pub mod store_ops;
