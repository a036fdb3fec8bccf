//! NIK, KK, period, date and region-code parsing on arbitrary bytes: never a
//! panic, and a parsed NIK prints back to its input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(nik) = tepat::Nik::parse(text) {
        assert_eq!(nik.to_string(), text);
        assert_eq!(tepat::Nik::from_u64(nik.get()), Ok(nik));
    }
    let _ = tepat::Nik::parse_lenient(text);
    if let Ok(kk) = tepat::Kk::parse(text) {
        assert_eq!(kk.to_string(), text);
    }
    if let Ok(p) = tepat::Period::parse(text) {
        assert_eq!(p.to_string(), text);
    }
    let _ = tepat::Date::parse_iso(text);
    let _ = tepat::RegionCode::parse(text);
});
