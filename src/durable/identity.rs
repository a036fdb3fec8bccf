//! A store's identity: 128 random bits made when the store is created and
//! written into every part of it (`CURRENT`, the claims log's header, the
//! live state), so that a part of another store is refused, never served.

use std::fmt;
use std::io::Read;

use crate::error::{Error, Result};

/// The identity of one store.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct StoreId(pub [u8; 16]);

impl StoreId {
    /// A new identity: 128 bits from the operating system's random source
    /// (`/dev/urandom`), or, where that cannot be read, from a hash of the
    /// clock, the process and std's randomly keyed hasher.
    pub fn new() -> StoreId {
        let mut bytes = [0u8; 16];
        let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
        if read.is_err() {
            bytes = fallback_random();
        }
        StoreId(bytes)
    }

    /// Parses the 32 hexadecimal digits of [`StoreId`]'s `Display`.
    pub fn parse(text: &str) -> Result<StoreId> {
        let bad = || Error::Input {
            file: "store identity".into(),
            message: format!("{text:?} is not 32 hexadecimal digits"),
        };
        parse_hex(text).map(StoreId).ok_or_else(bad)
    }
}

/// `2 N` hexadecimal digits as `N` bytes; `None` for anything else.
pub(crate) fn parse_hex<const N: usize>(hex: &str) -> Option<[u8; N]> {
    if hex.len() != 2 * N || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Default for StoreId {
    fn default() -> StoreId {
        StoreId::new()
    }
}

fn fallback_random() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(now);
    h.write_u32(std::process::id());
    let a = h.finish();
    h.write_u64(a);
    let b = h.finish();
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a.to_le_bytes());
    out[8..].copy_from_slice(&b.to_le_bytes());
    out
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_and_round_trip() {
        let a = StoreId::new();
        let b = StoreId::new();
        assert_ne!(a, b);
        assert_eq!(StoreId::parse(&a.to_string()).unwrap(), a);
        assert!(StoreId::parse("xyz").is_err());
        assert!(StoreId::parse(&"g".repeat(32)).is_err());
    }
}
