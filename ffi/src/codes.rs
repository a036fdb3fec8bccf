//! The status codes every C function returns, and the mapping from the
//! library's [`tepat::Error`] to them. The numbers are stable: a code once
//! published keeps its number and meaning; new ones take unused numbers.
//! The Python package raises the same codes (`tepat.Error.code`).

use tepat::Error;

/// What a call did: `TEPAT_OK` (0), or why it failed. The message of a
/// failure is `tepat_last_error_message()` on the calling thread.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum tepat_status {
    /// The call succeeded.
    TEPAT_OK = 0,
    /// A required pointer argument is NULL (or NULL with a non-zero length).
    TEPAT_E_NULL = 1,
    /// A string argument is not valid UTF-8.
    TEPAT_E_UTF8 = 2,
    /// An argument is out of range or unknown: a report kind or breakdown,
    /// an index, a misaligned pointer, a length too large.
    TEPAT_E_ARGUMENT = 3,
    /// The handle is not an open store (best effort: a closed or foreign
    /// pointer is undefined behaviour, this only catches some of them).
    TEPAT_E_HANDLE = 4,
    /// An option this build does not support.
    TEPAT_E_UNSUPPORTED = 5,
    /// Not a valid NIK (where a NIK is required: `tepat_get`; a check
    /// answers an invalid NIK with the verdict `invalid_nik` instead).
    TEPAT_E_NIK = 10,
    /// Not a valid KK (family card number).
    TEPAT_E_KK = 11,
    /// A date that does not parse (`YYYY-MM-DD`) or does not exist.
    TEPAT_E_DATE = 12,
    /// A period that does not parse (`2026-11`, `2026-Q4`, `2026`, `once`).
    TEPAT_E_PERIOD = 13,
    /// A period of the wrong kind for the program.
    TEPAT_E_PERIOD_KIND = 14,
    /// A program code the store's registry does not hold.
    TEPAT_E_PROGRAM = 15,
    /// An unknown region code.
    TEPAT_E_REGION = 16,
    /// A program registry that is not valid.
    TEPAT_E_REGISTRY = 17,
    /// A register export that cannot be built from (wrong header, a data
    /// file that is malformed, no usable row).
    TEPAT_E_INPUT = 20,
    /// A request that cannot be carried out: a request id that is empty,
    /// over 128 bytes or has control characters; a reversal of a request
    /// that is unknown, did not pay, or is already reversed.
    TEPAT_E_REQUEST = 30,
    /// A request id used before with other content (another NIK, program,
    /// period, amount, operator or meta).
    TEPAT_E_REQUEST_CONFLICT = 31,
    /// No store at the path (no `CURRENT` file).
    TEPAT_E_NO_STORE = 40,
    /// A store that cannot be opened or created as a whole: its parts
    /// missing or of another store, the directory not empty, the store open
    /// in another process.
    TEPAT_E_STORE = 41,
    /// A snapshot file that is damaged, foreign or of another format version.
    TEPAT_E_FORMAT = 42,
    /// The claims log cannot be read (damage before its last record).
    TEPAT_E_CLAIMS_LOG = 43,
    /// The live state (pending changes) failed.
    TEPAT_E_LIVE = 44,
    /// A keyed payout-point store opened without its identity key or with
    /// another, or a plain store given a key.
    TEPAT_E_KEY = 45,
    /// An I/O error, or a flush that failed (the write is not durable).
    TEPAT_E_IO = 50,
    /// A panic inside the library was caught at the boundary (a bug: please
    /// report it with the message). The store stays usable.
    TEPAT_E_PANIC = 60,
    /// An error of a kind this table does not know yet.
    TEPAT_E_INTERNAL = 99,
}

use tepat_status::*;

/// Every status, in the order of their numbers.
const ALL: [tepat_status; 26] = [
    TEPAT_OK,
    TEPAT_E_NULL,
    TEPAT_E_UTF8,
    TEPAT_E_ARGUMENT,
    TEPAT_E_HANDLE,
    TEPAT_E_UNSUPPORTED,
    TEPAT_E_NIK,
    TEPAT_E_KK,
    TEPAT_E_DATE,
    TEPAT_E_PERIOD,
    TEPAT_E_PERIOD_KIND,
    TEPAT_E_PROGRAM,
    TEPAT_E_REGION,
    TEPAT_E_REGISTRY,
    TEPAT_E_INPUT,
    TEPAT_E_REQUEST,
    TEPAT_E_REQUEST_CONFLICT,
    TEPAT_E_NO_STORE,
    TEPAT_E_STORE,
    TEPAT_E_FORMAT,
    TEPAT_E_CLAIMS_LOG,
    TEPAT_E_LIVE,
    TEPAT_E_KEY,
    TEPAT_E_IO,
    TEPAT_E_PANIC,
    TEPAT_E_INTERNAL,
];

impl tepat_status {
    /// Every status, in the order of their numbers.
    pub fn all() -> [tepat_status; 26] {
        ALL
    }

    /// The status's name, `"TEPAT_E_PERIOD"`, NUL-terminated for C.
    pub const fn name_nul(self) -> &'static str {
        match self {
            TEPAT_OK => "TEPAT_OK\0",
            TEPAT_E_NULL => "TEPAT_E_NULL\0",
            TEPAT_E_UTF8 => "TEPAT_E_UTF8\0",
            TEPAT_E_ARGUMENT => "TEPAT_E_ARGUMENT\0",
            TEPAT_E_HANDLE => "TEPAT_E_HANDLE\0",
            TEPAT_E_UNSUPPORTED => "TEPAT_E_UNSUPPORTED\0",
            TEPAT_E_NIK => "TEPAT_E_NIK\0",
            TEPAT_E_KK => "TEPAT_E_KK\0",
            TEPAT_E_DATE => "TEPAT_E_DATE\0",
            TEPAT_E_PERIOD => "TEPAT_E_PERIOD\0",
            TEPAT_E_PERIOD_KIND => "TEPAT_E_PERIOD_KIND\0",
            TEPAT_E_PROGRAM => "TEPAT_E_PROGRAM\0",
            TEPAT_E_REGION => "TEPAT_E_REGION\0",
            TEPAT_E_REGISTRY => "TEPAT_E_REGISTRY\0",
            TEPAT_E_INPUT => "TEPAT_E_INPUT\0",
            TEPAT_E_REQUEST => "TEPAT_E_REQUEST\0",
            TEPAT_E_REQUEST_CONFLICT => "TEPAT_E_REQUEST_CONFLICT\0",
            TEPAT_E_NO_STORE => "TEPAT_E_NO_STORE\0",
            TEPAT_E_STORE => "TEPAT_E_STORE\0",
            TEPAT_E_FORMAT => "TEPAT_E_FORMAT\0",
            TEPAT_E_CLAIMS_LOG => "TEPAT_E_CLAIMS_LOG\0",
            TEPAT_E_LIVE => "TEPAT_E_LIVE\0",
            TEPAT_E_KEY => "TEPAT_E_KEY\0",
            TEPAT_E_IO => "TEPAT_E_IO\0",
            TEPAT_E_PANIC => "TEPAT_E_PANIC\0",
            TEPAT_E_INTERNAL => "TEPAT_E_INTERNAL\0",
        }
    }

    /// The status's name, `"TEPAT_E_PERIOD"`.
    pub fn name(self) -> &'static str {
        let s = self.name_nul();
        &s[..s.len() - 1]
    }

    /// The status with this number.
    pub fn from_code(code: i32) -> Option<tepat_status> {
        ALL.into_iter().find(|s| *s as i32 == code)
    }
}

/// A failed call: its status and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Why it failed (never `TEPAT_OK`).
    pub status: tepat_status,
    /// What failed, in a sentence.
    pub message: String,
}

impl Failure {
    /// A failure with this status and message.
    pub fn new(status: tepat_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::new(status_of(&e), e.to_string())
    }
}

/// The status of a library error.
pub fn status_of(e: &Error) -> tepat_status {
    match e {
        Error::Nik { .. } => TEPAT_E_NIK,
        Error::Kk { .. } => TEPAT_E_KK,
        Error::Date { .. } => TEPAT_E_DATE,
        Error::Period { .. } => TEPAT_E_PERIOD,
        Error::PeriodKind { .. } => TEPAT_E_PERIOD_KIND,
        Error::Region { .. } => TEPAT_E_REGION,
        Error::UnknownProgram { .. } => TEPAT_E_PROGRAM,
        Error::Registry { .. } | Error::TooManyPrograms { .. } => TEPAT_E_REGISTRY,
        Error::Data { .. } | Error::Input { .. } | Error::Row { .. } => TEPAT_E_INPUT,
        Error::Format { .. }
        | Error::Version { .. }
        | Error::Checksum { .. }
        | Error::Signature { .. } => TEPAT_E_FORMAT,
        Error::ClaimsLog { .. } => TEPAT_E_CLAIMS_LOG,
        Error::Store { .. } => TEPAT_E_STORE,
        Error::Live { .. } => TEPAT_E_LIVE,
        Error::Key { .. } => TEPAT_E_KEY,
        Error::Encode { .. } => TEPAT_E_INTERNAL,
        Error::Flush { .. } | Error::Io { .. } => TEPAT_E_IO,
        Error::WorkerPanicked { .. } => TEPAT_E_PANIC,
        Error::RequestConflict { .. } => TEPAT_E_REQUEST_CONFLICT,
        Error::Request { .. } => TEPAT_E_REQUEST,
        _ => TEPAT_E_INTERNAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_and_round_trip() {
        for (i, s) in ALL.iter().enumerate() {
            assert_eq!(tepat_status::from_code(*s as i32), Some(*s));
            assert!(s.name().starts_with("TEPAT_"));
            assert!(s.name_nul().ends_with('\0'));
            if i > 0 {
                assert!((ALL[i - 1] as i32) < *s as i32);
            }
        }
        assert_eq!(tepat_status::from_code(7), None);
    }

    #[test]
    fn errors_map_to_their_codes() {
        let e = Error::RequestConflict {
            request_id: "a".into(),
            first: "x".into(),
            now: "y".into(),
        };
        assert_eq!(Failure::from(e).status, TEPAT_E_REQUEST_CONFLICT);
        let e = tepat::Period::parse("2026-Q5").err();
        assert_eq!(e.map(|e| status_of(&e)), Some(TEPAT_E_PERIOD));
    }
}
