//! Property tests of the NIK and KK parsers: every NIK that could have been
//! issued parses back to its parts, and nothing else gets through or panics.

use proptest::prelude::*;
use tepat::region::Level;
use tepat::{Date, Kk, Nik, NikError, RegionTable, Sex};

/// Every district code on the current or former list.
fn districts() -> Vec<u32> {
    RegionTable::builtin()
        .level(Level::District)
        .iter()
        .map(|r| r.code.value() as u32)
        .collect()
}

fn arb_date() -> impl Strategy<Value = Date> {
    // 1927-01-01 ..= 2026-11-25: within a century of the reference date, so
    // the century rule must give back the very year.
    let first = Date::new(1927, 1, 1).unwrap().to_unix_days();
    let last = Date::new(2026, 11, 25).unwrap().to_unix_days();
    (first..=last).prop_map(|d| Date::from_unix_days(d).unwrap())
}

fn reference() -> Date {
    Date::new(2026, 11, 26).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn built_niks_parse_back(
        district in prop::sample::select(districts()),
        birth in arb_date(),
        female in any::<bool>(),
        serial in 1u16..=9999,
    ) {
        let sex = if female { Sex::Female } else { Sex::Male };
        let nik = Nik::from_parts(district, sex, birth, serial).unwrap();
        let text = nik.to_string();
        prop_assert_eq!(text.len(), 16);
        let parsed = Nik::parse(&text).unwrap();
        prop_assert_eq!(parsed, nik);
        prop_assert_eq!(parsed.district_code(), district);
        prop_assert_eq!(u32::from(parsed.regency_code()), district / 100);
        prop_assert_eq!(u32::from(parsed.province_code()), district / 10_000);
        prop_assert_eq!(parsed.sex(), sex);
        prop_assert_eq!(parsed.birth_date(reference()), birth);
        prop_assert_eq!(parsed.serial(), serial);
    }

    #[test]
    fn not_sixteen_digits_is_refused(s in "\\PC{0,40}") {
        let sixteen_digits = s.len() == 16 && s.bytes().all(|b| b.is_ascii_digit());
        let result = Nik::parse(&s);
        if !sixteen_digits {
            prop_assert!(result.is_err());
            let shape_error = matches!(result, Err(NikError::Length { .. }) | Err(NikError::NotDigit { .. }));
            prop_assert!(shape_error, "{:?} gave {:?}", s, result);
            prop_assert!(Kk::parse(&s).is_err());
        }
    }

    #[test]
    fn any_sixteen_digits_never_panic(n in 0u64..=9_999_999_999_999_999) {
        let text = format!("{n:016}");
        // Whatever the answer, it agrees with the numeric constructor.
        prop_assert_eq!(Nik::parse(&text), Nik::from_u64(n));
        let _ = Kk::parse(&text);
        let _ = Nik::parse_lenient(&text);
    }

    #[test]
    fn bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..24)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = Nik::parse(&text);
        let _ = Nik::parse_lenient(&text);
        let _ = Kk::parse(&text);
        let _ = tepat::Period::parse(&text);
        let _ = Date::parse_iso(&text);
        let _ = tepat::RegionCode::parse(&text);
    }
}
