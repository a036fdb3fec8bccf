//! NIK and KK parsing (plus periods, dates and region codes) on arbitrary
//! bytes. Proves: no input panics; a NIK or KK that parses prints back to
//! exactly its 16 input digits, re-parses to itself, survives `from_u64`
//! and its own parts (`from_parts` of its district, sex, birth date and
//! serial); the allocation-free and the `FromStr` parsers agree; the
//! lenient parser accepts exactly what the strict one does after removing
//! separators; any `u64` taken from the input is accepted by `from_u64`
//! exactly when its 16-digit text parses, or when it is a keyed store's
//! pseudonym (the keyed bit and 54 bits), which prints as `k` and 14 hex
//! digits and never parses.

use tepat::{Date, Kk, Nik, Period, RegionCode};

/// The check run on every input.
pub fn check(data: &[u8]) {
    // The first 8 bytes as a number: NIK / KK from storage.
    if data.len() >= 8 {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&data[..8]);
        numeric(u64::from_le_bytes(raw));
        numeric(u64::from_le_bytes(raw) % 10_000_000_000_000_000);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    text_checks(text);
    // Each line on its own too, so one corpus file can hold many cases.
    if text.contains('\n') {
        for line in text.lines() {
            text_checks(line);
        }
    }
}

fn numeric(value: u64) {
    let text = format!("{value:016}");
    match Nik::from_u64(value) {
        Ok(nik) if nik.is_keyed() => pseudonym(nik.get(), &nik.to_string(), value),
        Ok(nik) => {
            assert_eq!(nik.get(), value);
            assert_eq!(
                Nik::parse(&text),
                Ok(nik),
                "from_u64 accepts {text}, parse does not"
            );
        }
        Err(_) => assert!(
            Nik::parse(&text).is_err(),
            "parse accepts {text}, from_u64 does not"
        ),
    }
    match Kk::from_u64(value) {
        Ok(kk) if kk.is_keyed() => pseudonym(kk.get(), &kk.to_string(), value),
        Ok(kk) => {
            assert_eq!(kk.get(), value);
            assert_eq!(
                Kk::parse(&text),
                Ok(kk),
                "from_u64 accepts KK {text}, parse does not"
            );
        }
        Err(_) => assert!(
            Kk::parse(&text).is_err(),
            "KK parse accepts {text}, from_u64 does not"
        ),
    }
}

/// A pseudonym read back from storage: its value kept, its text `k` and
/// 14 hex digits, which no parser takes.
fn pseudonym(got: u64, text: &str, value: u64) {
    assert_eq!(got, value);
    assert!(value & tepat::nik::KEYED_BIT != 0, "{value:#x}");
    assert!(text.starts_with('k') && text.len() == 15, "{text}");
    assert!(
        Nik::parse(text).is_err() && Kk::parse(text).is_err(),
        "{text}"
    );
}

fn text_checks(text: &str) {
    let reference = Date::new(2026, 11, 26).unwrap();
    let strict = Nik::parse(text);
    assert_eq!(strict.is_ok(), text.parse::<Nik>().is_ok(), "{text:?}");
    if let Ok(nik) = strict {
        assert_eq!(nik.to_string(), text);
        assert_eq!(text.len(), 16);
        assert_eq!(Nik::parse(&nik.to_string()), Ok(nik));
        assert_eq!(Nik::from_u64(nik.get()), Ok(nik));
        assert_eq!(text.parse::<Nik>().ok(), Some(nik));
        let again = Nik::from_parts(
            nik.district_code(),
            nik.sex(),
            nik.birth_date(reference),
            nik.serial(),
        );
        assert_eq!(again, Ok(nik), "{text}: from_parts of its own parts");
    }
    let lenient = Nik::parse_lenient(text);
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect();
    assert_eq!(lenient, Nik::parse(&cleaned), "{text:?}");
    if strict.is_ok() {
        assert_eq!(lenient, strict);
    }

    let kk = Kk::parse(text);
    assert_eq!(kk.is_ok(), text.parse::<Kk>().is_ok(), "{text:?}");
    if let Ok(kk) = kk {
        assert_eq!(kk.to_string(), text);
        assert_eq!(Kk::parse(&kk.to_string()), Ok(kk));
        assert_eq!(Kk::from_u64(kk.get()), Ok(kk));
        let again = Kk::from_parts(kk.district_code(), kk.issue_date(reference), kk.serial());
        assert_eq!(again, Ok(kk), "{text}: from_parts of its own parts");
    }

    if let Ok(p) = Period::parse(text) {
        assert_eq!(p.to_string(), text);
        assert_eq!(Period::parse(&p.to_string()).ok(), Some(p));
    }
    if let Ok(d) = Date::parse_iso(text) {
        assert_eq!(Date::parse_iso(&d.to_string()).ok(), Some(d));
        assert_eq!(Date::from_unix_days(d.to_unix_days()), Some(d));
    }
    if let Ok(code) = RegionCode::parse(text) {
        assert_eq!(code.level().digits(), text.len());
        assert_eq!(code.to_string(), text);
    }
}
