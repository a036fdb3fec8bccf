//! The library's one error type.
//!
//! Every variant carries what was wrong and where: the offending value, the
//! field, the file and line, the expected and observed values. Parsing NIKs
//! and KKs is on the hot path of batch checks, so their reasons are small
//! `Copy` enums ([`NikError`], [`KkError`]) that allocate nothing; they are
//! folded into [`Error`] with the input when a caller wants the full story.

use std::fmt;
use std::path::PathBuf;

/// `Result` with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in tepat.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A string is not a valid NIK.
    #[error("invalid NIK {input:?}: {reason}")]
    Nik {
        /// The input exactly as given.
        input: String,
        /// Which rule it breaks, with the offending digits.
        reason: NikError,
    },

    /// A string is not a valid KK (family card number).
    #[error("invalid KK {input:?}: {reason}")]
    Kk {
        /// The input exactly as given.
        input: String,
        /// Which rule it breaks, with the offending digits.
        reason: KkError,
    },

    /// A date that does not parse or does not exist.
    #[error("invalid date {input:?}: {reason}")]
    Date {
        /// The input exactly as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A period that does not parse (`2026-11`, `2026-Q4`, `2026`, `once`).
    #[error("invalid period {input:?}: {reason}")]
    Period {
        /// The input exactly as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A period of the wrong kind for a program (a month for a quarterly
    /// program, say).
    #[error("program {program} is paid per {expected}, but the period {got} is a {got_kind}")]
    PeriodKind {
        /// The program's code.
        program: String,
        /// The kind of period the program is paid by.
        expected: &'static str,
        /// The period given.
        got: String,
        /// The kind of period given.
        got_kind: &'static str,
    },

    /// A region code of the wrong shape or not on any list.
    #[error("unknown region code {code:?}: {reason}")]
    Region {
        /// The code as given.
        code: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A program code that the registry does not hold.
    #[error("unknown program {code:?}")]
    UnknownProgram {
        /// The code as given.
        code: String,
    },

    /// A program registry (built in or loaded from a file) that is not valid.
    #[error("{}", registry_message(.file, *.line, *.column, .field, .message))]
    Registry {
        /// The file it was read from, if any.
        file: Option<PathBuf>,
        /// 1-based line of the problem, when it has one.
        line: Option<usize>,
        /// 1-based column of the problem, when it has one.
        column: Option<usize>,
        /// The field (`program[2].unit`, say), when known.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },

    /// More programs than the bitsets can hold.
    #[error("the registry has {got} programs, more than the limit of {limit}")]
    TooManyPrograms {
        /// The most programs a registry may hold.
        limit: usize,
        /// How many it was given.
        got: usize,
    },

    /// A data file bundled with or given to tepat is malformed.
    #[error("{file}:{line}: {message}")]
    Data {
        /// The file's name.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },

    /// A file that is not a tepat snapshot, or one that is damaged: the
    /// message says what was found where.
    #[error("{file}: not a valid tepat snapshot: {message}")]
    Format {
        /// The file.
        file: PathBuf,
        /// What is wrong, with offsets and sections.
        message: String,
    },

    /// A snapshot whose signature does not verify, or that the store does
    /// not trust (unsigned, or signed by a key it was not told to trust).
    #[error("{file}: snapshot refused: {message}")]
    Signature {
        /// The snapshot file.
        file: PathBuf,
        /// Who signed it and whom the store trusts.
        message: String,
    },

    /// A keyed store opened without its identity key or with another, or a
    /// plain store given one (docs/FORMAT.md, "Keyed snapshots").
    #[error("{file}: identity key: {message}")]
    Key {
        /// The snapshot file.
        file: PathBuf,
        /// Which key the file asks for and which was given.
        message: String,
    },

    /// The claims log (the durable record of payouts) cannot be read: the
    /// message says what was found where.
    #[error("{file}: claims log: {message}")]
    ClaimsLog {
        /// The file.
        file: PathBuf,
        /// What is wrong, with the byte offset.
        message: String,
    },

    /// A snapshot of a format major version this build cannot read.
    #[error(
        "{file}: snapshot format version {got}, this tepat reads version {expected}; {advice}",
        advice = version_advice(.got, .expected)
    )]
    Version {
        /// The file.
        file: PathBuf,
        /// The major version this build reads.
        expected: u16,
        /// The file's major version.
        got: u16,
    },

    /// A section whose bytes do not match their checksum.
    #[error(
        "{file}: section {section} is damaged: checksum {got:#018x}, expected {expected:#018x}"
    )]
    Checksum {
        /// The file.
        file: PathBuf,
        /// The section's name.
        section: &'static str,
        /// The checksum in the section table.
        expected: u64,
        /// The checksum of the bytes found.
        got: u64,
    },

    /// A register export or other input that cannot be built from as a
    /// whole (wrong header, nothing usable, limits exceeded).
    #[error("{file}: {message}")]
    Input {
        /// The input file (or a label for an in-memory source).
        file: String,
        /// What is wrong.
        message: String,
    },

    /// A row of an input file that cannot be used.
    #[error("{file}:{line}: column {column} ({field}): {message}")]
    Row {
        /// The file.
        file: String,
        /// 1-based line number.
        line: u64,
        /// 1-based column, 0 for the row as a whole.
        column: usize,
        /// The column's name.
        field: &'static str,
        /// What is wrong.
        message: String,
    },

    /// A store directory that cannot be created or opened as a whole (its
    /// parts missing, mismatched or already present).
    #[error("store {}: {message}", dir.display())]
    Store {
        /// The store directory.
        dir: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// A refresh (or rollback) refused before anything was switched: the
    /// export breaks a guard ([`crate::store::RefreshGuard`]).
    #[error("refresh refused: {message}")]
    RefreshRefused {
        /// Why, and how to go on.
        message: String,
    },

    /// The live-state database failed.
    #[error("live state: {message}")]
    Live {
        /// What failed.
        message: String,
    },

    /// A record that could not be encoded for storage.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A flush (a claims-log sync or a live-state flush) that a waiting
    /// write relied on failed: the write is not durable.
    #[error("{what}: the flush covering this write failed: {source}")]
    Flush {
        /// What was being flushed.
        what: &'static str,
        /// The error the flushing thread saw.
        #[source]
        source: std::sync::Arc<Error>,
    },

    /// A worker thread of a parallel operation panicked (a bug, never an
    /// input): the operation's result is incomplete, so none is returned.
    #[error("a worker thread of {task} panicked")]
    WorkerPanicked {
        /// The operation.
        task: &'static str,
    },

    /// A request id reused with different content.
    #[error("request {request_id:?} was already used for {first}; now it comes with {now}")]
    RequestConflict {
        /// The request id.
        request_id: String,
        /// What the first request asked.
        first: String,
        /// What this request asks.
        now: String,
    },

    /// A request that cannot be carried out as asked (unknown claim to
    /// reverse, a claim already reversed, ...).
    #[error("request {request_id:?}: {message}")]
    Request {
        /// The request id.
        request_id: String,
        /// Why.
        message: String,
    },

    /// An I/O error, with the path it happened on.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

fn registry_message(
    file: &Option<PathBuf>,
    line: Option<usize>,
    column: Option<usize>,
    field: &Option<String>,
    message: &str,
) -> String {
    let mut out = String::from("program registry");
    if let Some(file) = file {
        out.push(' ');
        out.push_str(&file.display().to_string());
    }
    match (line, column) {
        (Some(l), Some(c)) => out.push_str(&format!(", line {l}, column {c}")),
        (Some(l), None) => out.push_str(&format!(", line {l}")),
        _ => {}
    }
    if let Some(field) = field {
        out.push_str(&format!(", field `{field}`"));
    }
    out.push_str(": ");
    out.push_str(message);
    out
}

/// Two ASCII digits as they appeared in the input, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digits2(pub [u8; 2]);

impl fmt::Display for Digits2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.0[0] as char, self.0[1] as char)
    }
}

/// What to do about a snapshot of another major version.
fn version_advice(got: &u16, expected: &u16) -> &'static str {
    if got > expected {
        "upgrade tepat"
    } else {
        "build a new store from the register with `tepat build` (older formats are not read)"
    }
}

/// Why a string is not a NIK. Each rule of the NIK has its own variant, and
/// each carries the digits that break it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NikError {
    /// Not 16 bytes long.
    #[error("a NIK has 16 digits, this has {len} characters")]
    Length {
        /// The length in bytes.
        len: usize,
    },
    /// A character that is not an ASCII digit.
    #[error("character {position} is {found:?}, not a digit")]
    NotDigit {
        /// 1-based position of the character.
        position: usize,
        /// The character found.
        found: char,
    },
    /// The first two digits are not a province code, current or former.
    #[error("province code {code} is not on the province list")]
    UnknownProvince {
        /// The two province digits.
        code: Digits2,
    },
    /// Day digits 00, 32–40 or above 71.
    #[error("day {day} is not 01-31 (men) or 41-71 (women)")]
    Day {
        /// The two day digits.
        day: Digits2,
    },
    /// Month digits 00 or above 12.
    #[error("month {month} is not 01-12")]
    Month {
        /// The two month digits.
        month: Digits2,
    },
    /// A day and month that exist in neither 19YY nor 20YY (30 February,
    /// 31 April, 29 February of a year that is common in both centuries).
    #[error("birth date {day}-{month}-{year} does not exist in 19{year} or 20{year}")]
    Date {
        /// The two day digits (with the +40 for women removed).
        day: Digits2,
        /// The two month digits.
        month: Digits2,
        /// The two year digits.
        year: Digits2,
    },
    /// Serial 0000 (serials start at 0001).
    #[error("serial 0000 is not issued (serials start at 0001)")]
    Serial,
}

/// Why a string is not a KK (family card number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KkError {
    /// Not 16 bytes long.
    #[error("a KK has 16 digits, this has {len} characters")]
    Length {
        /// The length in bytes.
        len: usize,
    },
    /// A character that is not an ASCII digit.
    #[error("character {position} is {found:?}, not a digit")]
    NotDigit {
        /// 1-based position of the character.
        position: usize,
        /// The character found.
        found: char,
    },
    /// The first two digits are not a province code.
    #[error("province code {code} is not on the province list")]
    UnknownProvince {
        /// The two province digits.
        code: Digits2,
    },
    /// The issue date's day, month or year do not form a date in 19YY or 20YY.
    #[error("issue date {day}-{month}-{year} does not exist in 19{year} or 20{year}")]
    Date {
        /// The two day digits.
        day: Digits2,
        /// The two month digits.
        month: Digits2,
        /// The two year digits.
        year: Digits2,
    },
    /// Serial 0000.
    #[error("serial 0000 is not issued (serials start at 0001)")]
    Serial,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_cross_threads() {
        fn assert_send_sync_static<T: Send + Sync + 'static>() {}
        assert_send_sync_static::<Error>();
        assert_send_sync_static::<NikError>();
        assert_send_sync_static::<KkError>();
    }

    #[test]
    fn registry_message_names_file_line_and_field() {
        let e = Error::Registry {
            file: Some("programs.toml".into()),
            line: Some(7),
            column: Some(8),
            field: Some("program[1].unit".into()),
            message: "unknown unit \"house\"".into(),
        };
        let text = e.to_string();
        assert!(text.contains("programs.toml"), "{text}");
        assert!(text.contains("line 7"), "{text}");
        assert!(text.contains("program[1].unit"), "{text}");
    }
}
