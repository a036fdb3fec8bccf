//! The spec's timestamps: ISO 8601 date-times with a time zone
//! (`2022-12-04T17:20:07-04:00`, `2023-07-19T12:15:04.555Z`), that is the
//! RFC 3339 profile that JSON Schema's `date-time` format names.

use tepat::Date;

/// Now, as the answers' `message_ts` and `timestamp` carry it (UTC,
/// milliseconds).
pub fn now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    tepat::date::iso_utc(ms)
}

/// Whether `text` is an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS`, an
/// optional fraction of a second, then `Z` or `±HH:MM`. The date must
/// exist; a leap second (`:60`) is allowed, as RFC 3339 allows it.
pub fn is_date_time(text: &str) -> bool {
    let b = text.as_bytes();
    // The shortest is `YYYY-MM-DDTHH:MM:SSZ`, 20 bytes.
    if b.len() < 20 || !text.is_ascii() {
        return false;
    }
    let date_ok = b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't')
        && match (number(&b[0..4]), number(&b[5..7]), number(&b[8..10])) {
            (Some(y), Some(m), Some(d)) => {
                // At most 9999, 99 and 99: they fit.
                Date::new(y as u16, m as u8, d as u8).is_some()
            }
            _ => false,
        };
    let time_ok = b[13] == b':'
        && b[16] == b':'
        && number(&b[11..13]).is_some_and(|h| h <= 23)
        && number(&b[14..16]).is_some_and(|m| m <= 59)
        && number(&b[17..19]).is_some_and(|s| s <= 60);
    date_ok && time_ok && zone_ok(&b[19..])
}

/// The rest after the seconds: an optional `.digits`, then the zone.
fn zone_ok(rest: &[u8]) -> bool {
    let rest = match rest.strip_prefix(b".") {
        Some(fraction) => {
            let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return false;
            }
            &fraction[digits..]
        }
        None => rest,
    };
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            number(&[*h1, *h2]).is_some_and(|h| h <= 23)
                && number(&[*m1, *m2]).is_some_and(|m| m <= 59)
        }
        _ => false,
    }
}

/// The value of a run of ASCII digits (at most four here).
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_spec_samples_and_refuses_the_rest() {
        for ok in [
            "2023-07-19T12:15:04.555Z",
            "2022-12-04T17:20:07-04:00",
            "2024-02-29T00:00:00+07:00",
            "2016-12-31T23:59:60Z",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in [
            "",
            "2023-07-19",
            "2023-07-19T12:15:04",
            "2023-07-19 12:15:04Z",
            "2023-02-29T12:15:04Z",
            "2023-07-19T24:00:00Z",
            "2023-07-19T12:15:04.Z",
            "2023-07-19T12:15:04+0700",
            "yesterday at noon, UTC",
            "2023-07-19T12:15:04Zé",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
        assert!(is_date_time(&now()));
    }
}
