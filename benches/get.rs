//! Placeholder replaced by the snapshot lookup benchmark.
#![allow(missing_docs)]
fn main() {}
