//! Fuzz target `registry_toml`: the check is `tepat_fuzz::registry::check` (see
//! fuzz/src/registry.rs for what it proves); `tests/fuzz_replay.rs` runs the
//! same check over fuzz/corpus/registry_toml/ and fuzz/regressions/registry_toml/.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tepat_fuzz::registry::check(data));
