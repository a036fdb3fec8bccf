//! Fuzz target `snapshot_open`: the check is `tepat_fuzz::snapshot::check` (see
//! fuzz/src/snapshot.rs for what it proves); `tests/fuzz_replay.rs` runs the
//! same check over fuzz/corpus/snapshot_open/ and fuzz/regressions/snapshot_open/.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tepat_fuzz::snapshot::check(data));
