//! Fuzz target `store_ops`: the check is `tepat_fuzz::store_ops::check` (see
//! fuzz/src/store_ops.rs for what it proves); `tests/fuzz_replay.rs` runs the
//! same check over fuzz/corpus/store_ops/ and fuzz/regressions/store_ops/.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tepat_fuzz::store_ops::check(data));
