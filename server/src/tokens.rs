//! `tokens.toml`: who may call the service. Each token is kept as the
//! SHA-256 of its text, never the text: a copy of the file lets no one call
//! the service. Tokens are 256 random bits, so a plain hash (no slow
//! password hash) is as strong as the token.
//!
//! ```toml
//! [[token]]
//! id = "pos-40111-counter-1"
//! role = "payout_point"
//! regions = ["3201"]
//! sha256 = "9f86d081884c7d65…"
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A payout point: persons, checks, claims, reversals.
    PayoutPoint,
    /// A bank's back office: payee lists and checks.
    Bank,
    /// An analyst: reports.
    Analyst,
    /// The register's keeper: everything.
    Keeper,
}

impl Role {
    /// The role's name in `tokens.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Role::PayoutPoint => "payout_point",
            Role::Bank => "bank",
            Role::Analyst => "analyst",
            Role::Keeper => "keeper",
        }
    }

    /// The role of a name in `tokens.toml`.
    pub fn parse(name: &str) -> Option<Role> {
        [Role::PayoutPoint, Role::Bank, Role::Analyst, Role::Keeper]
            .into_iter()
            .find(|r| r.name() == name)
    }
}

/// One caller, as `tokens.toml` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The token's id (in the access log; never the token).
    pub id: String,
    /// What it may do.
    pub role: Role,
    /// Region code prefixes it is limited to (empty: everywhere).
    pub regions: Vec<String>,
}

impl Caller {
    /// Whether a person whose village code is `village` (10 digits) is
    /// within this caller's regions.
    pub fn covers(&self, village: &str) -> bool {
        self.regions.is_empty() || self.regions.iter().any(|p| village.starts_with(p.as_str()))
    }
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    token: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    role: String,
    #[serde(default)]
    regions: Vec<String>,
    sha256: String,
}

/// What can be wrong with a tokens file.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// It cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// It is not a valid tokens file.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The tokens a service accepts, by hash.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    by_hash: HashMap<[u8; 32], Caller>,
}

impl Tokens {
    /// Reads `tokens.toml`. A missing file holds no tokens.
    pub fn load(path: &Path) -> Result<Tokens, TokensError> {
        let invalid = |message: String| TokensError::Invalid {
            path: path.to_owned(),
            message,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Tokens::default()),
            Err(source) => {
                return Err(TokensError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let file: File = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let mut by_hash = HashMap::new();
        for e in file.token {
            let role = Role::parse(&e.role)
                .ok_or_else(|| invalid(format!("token {:?}: unknown role {:?}", e.id, e.role)))?;
            let hash = from_hex(&e.sha256)
                .ok_or_else(|| invalid(format!("token {:?}: sha256 is not 64 hex digits", e.id)))?;
            valid_regions(&e.regions).map_err(|m| invalid(format!("token {:?}: {m}", e.id)))?;
            let caller = Caller {
                id: e.id,
                role,
                regions: e.regions,
            };
            if by_hash.insert(hash, caller).is_some() {
                return Err(invalid("two entries hold the same token hash".into()));
            }
        }
        Ok(Tokens { by_hash })
    }

    /// The caller a presented token belongs to.
    pub fn caller(&self, token: &str) -> Option<&Caller> {
        self.by_hash.get(&hash(token))
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

/// Region prefixes are 2-10 digits (province to village).
pub fn valid_regions(regions: &[String]) -> Result<(), String> {
    for r in regions {
        if !(2..=10).contains(&r.len()) || !r.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "region {r:?} is not a region code prefix (2-10 digits)"
            ));
        }
    }
    Ok(())
}

/// The SHA-256 of a token's text.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Lower-case hex.
pub fn to_hex(bytes: &[u8]) -> String {
    // By table, not `format!` per byte: the access log hashes a NIK per
    // request, and the formatting machinery was 5 % of a check's CPU.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

fn from_hex(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// A new token: `tpt_` and 256 random bits in hex.
pub fn generate() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(format!("tpt_{}", to_hex(&bytes)))
}

/// Appends a token's entry (its hash, never its text) to `tokens.toml`,
/// creating the file (mode 0600) if needed. The id must be new.
pub fn append(
    path: &Path,
    id: &str,
    role: Role,
    regions: &[String],
    token: &str,
) -> Result<(), TokensError> {
    let io = |source| TokensError::Io {
        path: path.to_owned(),
        source,
    };
    let invalid = |message: String| TokensError::Invalid {
        path: path.to_owned(),
        message,
    };
    valid_regions(regions).map_err(invalid)?;
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(invalid(format!(
            "token id {id:?}: use letters, digits, '-', '_' and '.'"
        )));
    }
    let existing = Tokens::load(path)?;
    if existing.by_hash.values().any(|c| c.id == id) {
        return Err(invalid(format!("a token with id {id:?} exists already")));
    }
    let quoted: Vec<String> = regions.iter().map(|r| format!("\"{r}\"")).collect();
    let entry = format!(
        "\n[[token]]\nid = \"{id}\"\nrole = \"{}\"\nregions = [{}]\nsha256 = \"{}\"\n",
        role.name(),
        quoted.join(", "),
        to_hex(&hash(token))
    );
    let mut file = crate::private_file::open_append(path).map_err(io)?;
    file.write_all(entry.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_two_lowercase_digits_a_byte() {
        assert_eq!(to_hex(&[0x00, 0x09, 0x9f, 0xa0, 0xff]), "00099fa0ff");
        assert_eq!(to_hex(&[]), "");
    }

    #[test]
    fn a_token_is_found_by_its_hash_and_never_stored_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        let token = generate().unwrap();
        append(&path, "pos-1", Role::PayoutPoint, &["3201".into()], &token).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(&token[4..]),
            "the token is in the file: {text}"
        );
        let tokens = Tokens::load(&path).unwrap();
        let caller = tokens.caller(&token).unwrap();
        assert_eq!(
            (caller.id.as_str(), caller.role),
            ("pos-1", Role::PayoutPoint)
        );
        assert!(caller.covers("3201011001") && !caller.covers("3171011001"));
        assert!(tokens.caller("tpt_00").is_none());
        assert!(append(&path, "pos-1", Role::Bank, &[], &generate().unwrap()).is_err());
        assert!(append(&path, "x", Role::Bank, &["32a".into()], "t").is_err());
    }
}
