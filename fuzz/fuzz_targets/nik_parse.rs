//! Fuzz target `nik_parse`: the check is `tepat_fuzz::ids::check` (see
//! fuzz/src/ids.rs for what it proves); `tests/fuzz_replay.rs` runs the
//! same check over fuzz/corpus/nik_parse/ and fuzz/regressions/nik_parse/.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tepat_fuzz::ids::check(data));
