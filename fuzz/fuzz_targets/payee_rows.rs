//! Fuzz target `payee_rows`: the check is `tepat_fuzz::payees::check` (see
//! fuzz/src/payees.rs for what it proves); `tests/fuzz_replay.rs` runs the
//! same check over fuzz/corpus/payee_rows/ and fuzz/regressions/payee_rows/.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tepat_fuzz::payees::check(data));
