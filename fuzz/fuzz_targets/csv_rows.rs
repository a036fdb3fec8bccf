//! Fuzz target `csv_rows`: the check is `tepat_fuzz::csv_rows::check` (see
//! fuzz/src/csv_rows.rs for what it proves); `tests/fuzz_replay.rs` runs the
//! same check over fuzz/corpus/csv_rows/ and fuzz/regressions/csv_rows/.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tepat_fuzz::csv_rows::check(data));
