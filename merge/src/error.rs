//! The merge's one error type.

use std::path::PathBuf;

/// `Result` with the merge's [`MergeError`].
pub type Result<T, E = MergeError> = std::result::Result<T, E>;

/// Everything that can stop a merge. Input errors name the file, the
/// 1-based line and the field, so a register keeper can open the file at
/// the spot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// An argument is wrong (a `NAME=path` source, a source named twice,
    /// no sources, zero threads).
    #[error("invalid argument: {0}")]
    Args(String),

    /// A header line is wrong: a required column is missing, a column or a
    /// field is named twice, the file is empty.
    #[error("{}, line 1, {field}: {reason}", file.display())]
    Header {
        /// The input file.
        file: PathBuf,
        /// The column or field concerned.
        field: String,
        /// What is wrong.
        reason: String,
    },

    /// A data row cannot be read.
    #[error("{}, line {line}, {field}: {reason}", file.display())]
    Row {
        /// The input file.
        file: PathBuf,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// The column's name as the header gives it, or `row` when the row
        /// as a whole is wrong (field count, encoding).
        field: String,
        /// What is wrong, with the offending value.
        reason: String,
    },

    /// The civil register holds one NIK twice: it must name one identity.
    #[error("{}, line {line}, nik: {nik} is already on line {first_line}", file.display())]
    CivilDuplicate {
        /// The civil register file.
        file: PathBuf,
        /// The NIK, as 16 digits.
        nik: String,
        /// Its first line.
        first_line: u64,
        /// The later line.
        line: u64,
    },

    /// The rules file is wrong.
    #[error("{}: {reason}", file.display())]
    Rules {
        /// The rules file (`<embedded>` for the default).
        file: PathBuf,
        /// What is wrong, naming the field or key.
        reason: String,
    },

    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },

    /// A scratch file the merge wrote itself does not read back (the disk
    /// or another process damaged it).
    #[error("{}: scratch file damaged: {reason}", path.display())]
    Scratch {
        /// The scratch file.
        path: PathBuf,
        /// What was found.
        reason: &'static str,
    },
}

impl MergeError {
    /// The 1-based input line the error is about, if any: parallel readers
    /// keep the earliest.
    pub fn line(&self) -> Option<u64> {
        match self {
            MergeError::Header { .. } => Some(1),
            MergeError::Row { line, .. } | MergeError::CivilDuplicate { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// Wraps an I/O error with its path.
pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> MergeError + '_ {
    move |source| MergeError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_cross_threads_and_name_the_spot() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<MergeError>();
        let e = MergeError::Row {
            file: "dtks.csv".into(),
            line: 7,
            field: "birth_date".into(),
            reason: "\"31-02-1990\" is not a date".into(),
        };
        assert_eq!(
            e.to_string(),
            "dtks.csv, line 7, birth_date: \"31-02-1990\" is not a date"
        );
        assert_eq!(e.line(), Some(7));
    }
}
