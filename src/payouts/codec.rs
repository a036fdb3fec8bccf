//! The ledger's record encoding: postcard, a documented and stable serde
//! wire format (docs/FORMAT.md, "Claims log").

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Encodes a record's payload.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(value).map_err(|e| Error::Encode {
        what: "a claims-log record",
        source: Box::new(e),
    })
}

/// Decodes a record's payload; `file` and `offset` say where it was read.
pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    file: &std::path::Path,
    offset: u64,
) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| Error::ClaimsLog {
        file: file.to_path_buf(),
        message: format!("the record at byte {offset} does not decode: {e}"),
    })
}
