//! The ledger's one error type: every variant says what was being done.

/// What went wrong, and while doing what.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A database call failed (the server's message and detail included).
    #[error("{what}: {}", describe(.source))]
    Db {
        /// What was being done.
        what: String,
        /// The client's error.
        #[source]
        source: postgres::Error,
    },
    /// Reading the store failed.
    #[error("{what}: {source}")]
    Store {
        /// What was being done.
        what: String,
        /// The library's error (boxed: it is large, and rare).
        #[source]
        source: Box<tepat::Error>,
    },
    /// The database's schema is not the one this code knows.
    #[error("ledger schema: {0}")]
    Schema(String),
    /// A point's identity or position does not fit the store being synced.
    #[error("point {point:?}: {message}")]
    Point {
        /// The point's id.
        point: String,
        /// What does not fit.
        message: String,
    },
    /// A caller's argument is not usable.
    #[error("{0}")]
    Usage(String),
}

/// The ledger's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The client's error with the server's own words: `postgres::Error`'s
/// `Display` says only "db error" for a server-side error.
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
            if let Some(detail) = db.detail() {
                s.push_str(&format!(" ({detail})"));
            }
            s
        }
        None if e.is_closed() => {
            "PostgreSQL: the connection closed (the server stopped, restarted or was \
             cut off)"
                .to_owned()
        }
        None => {
            // "error connecting to server" alone does not say why: add the
            // causes (connection refused, timed out, ...).
            let mut s = format!("PostgreSQL: {e}");
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                s.push_str(&format!(": {c}"));
                cause = c.source();
            }
            s
        }
    }
}

/// Adds what was being done to a database error.
pub(crate) trait DbContext<T> {
    /// `Err(e)` becomes [`Error::Db`] naming `what`.
    fn db(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> DbContext<T> for std::result::Result<T, postgres::Error> {
    fn db(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Db {
            what: what(),
            source,
        })
    }
}
