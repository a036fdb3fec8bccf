//! tepat-gen: synthetic national-scale register data for tepat, repeatable
//! from a seed. (The generator itself is issue 4; this crate holds its place
//! in the workspace.)

#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The default number of persons a run generates.
pub const DEFAULT_PERSONS: u64 = 1_000_000;
