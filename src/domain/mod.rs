//! The domain: values and rules of Indonesian social assistance — NIKs and
//! family cards, dates, regions, periods, programs and their registry,
//! verdicts. No I/O beyond parsing text handed in; this layer imports only
//! the error type and the CSV splitter.

pub mod date;
pub mod kk;
pub mod nik;
pub mod period;
pub mod program;
pub mod region;
pub mod verdict;
