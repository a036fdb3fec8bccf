//! Signed snapshots (docs/FORMAT.md, "Signed snapshots"): the register
//! keeper signs the header and the section table — which holds every
//! section's checksum — with an Ed25519 key, and a payout point that trusts
//! the keeper's public key refuses any snapshot the keeper did not sign.
//!
//! ```
//! use tepat::snapshot::{PublicKey, SigningKey};
//!
//! let key = SigningKey::from_seed([7; 32]);
//! let public: PublicKey = key.public_key().to_string().parse()?;
//! assert_eq!(public, key.public_key());
//! # Ok::<(), tepat::Error>(())
//! ```
//!
//! What a signature proves: the header and the table are as the key's
//! holder wrote them, and every section whose xxh3-64 checksum
//! [`Snapshot::verify`] confirms is too, short of a section crafted to the
//! same checksum (xxh3 is not cryptographic; docs/FORMAT.md). What it does
//! not prove: that the register's content is
//! right, or that the file is the keeper's newest (an old signed snapshot
//! still verifies; the generation number and the creation time say how
//! old it is).
//!
//! [`Snapshot::verify`]: super::Snapshot::verify

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use ed25519_dalek::Signer;

use super::format::{HEADER_LEN, OFF_HEADER_CHECKSUM};
use crate::error::{Error, Result};

/// Header flag: the file is signed (format 3.1).
pub const FLAG_SIGNED: u32 = 1;
/// Where the signer's public key lies in the header (32 bytes).
pub(crate) const OFF_SIGNER: usize = 128;
/// Where the signature lies in the header (64 bytes).
pub(crate) const OFF_SIGNATURE: usize = 160;
const SIGNATURE_LEN: usize = 64;
/// What is signed starts with this: a tepat signature can never be taken
/// for another protocol's, nor another's for a tepat one.
const DOMAIN: &[u8] = b"tepat snapshot signature v1\0";
const PUBLIC_PREFIX: &str = "ed25519:";
const SECRET_PREFIX: &str = "ed25519-secret:";

/// An Ed25519 public key: the register keeper's, which a payout point
/// trusts. Written `ed25519:` and 64 hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// The key of these 32 bytes, if they are a point of the curve of
    /// full order: a weak (small-order) point, all zeros among them, is
    /// refused, since signatures for it can be forged without a secret.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<PublicKey> {
        let key = PublicKey(bytes);
        key.verifying_key().ok_or_else(|| Error::Input {
            file: "public key".into(),
            message: format!(
                "{key} is not a point of the Ed25519 curve of full order (a weak key)"
            ),
        })?;
        Ok(key)
    }

    /// Reads a public key from its text, or from a file that holds it.
    pub fn from_text_or_file(arg: &str) -> Result<PublicKey> {
        if arg.starts_with(SECRET_PREFIX) {
            return Err(secret_given("the argument"));
        }
        if let Ok(key) = arg.parse() {
            return Ok(key);
        }
        let path = Path::new(arg);
        let text = std::fs::read_to_string(path).map_err(|e| Error::Input {
            file: arg.into(),
            message: format!("not a public key (ed25519: and 64 hex digits), nor a file: {e}"),
        })?;
        if text.trim_start().starts_with(SECRET_PREFIX) {
            return Err(secret_given(arg));
        }
        // The file's text is not echoed: it could hold anything.
        text.trim().parse().map_err(|_| Error::Input {
            file: arg.into(),
            message: "does not hold a public key (ed25519: and 64 hex digits)".into(),
        })
    }

    /// The key as the curve's point; `None` for bytes that are not one,
    /// and for a weak (small-order) point.
    fn verifying_key(&self) -> Option<ed25519_dalek::VerifyingKey> {
        ed25519_dalek::VerifyingKey::from_bytes(&self.0)
            .ok()
            .filter(|k| !k.is_weak())
    }

    /// Whether this key is one of `keys`, comparing every byte of every
    /// key whatever the answer: how long the check takes says nothing of
    /// which key, or how much of one, matched.
    fn is_among(&self, keys: &[PublicKey]) -> bool {
        let mut found = 0u8;
        for key in keys {
            let diff = key
                .0
                .iter()
                .zip(self.0)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            found |= u8::from(std::hint::black_box(diff) == 0);
        }
        found == 1
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PUBLIC_PREFIX)?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = Error;

    fn from_str(text: &str) -> Result<PublicKey> {
        if text.starts_with(SECRET_PREFIX) {
            return Err(secret_given("the public key given"));
        }
        let hex = text.strip_prefix(PUBLIC_PREFIX).unwrap_or(text);
        // The text is not echoed: a mistyped argument may be a secret.
        let bytes = crate::durable::parse_hex(hex).ok_or_else(|| Error::Input {
            file: "public key".into(),
            message: format!(
                "not ed25519: and 64 hexadecimal digits ({} characters given)",
                text.len()
            ),
        })?;
        PublicKey::from_bytes(bytes)
    }
}

/// The register keeper's Ed25519 signing key. Its `Debug` shows only the
/// public half; the secret is wiped from memory when the key is dropped.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A new key from the operating system's random source; an error where
    /// it cannot be read (a key is never made from a weaker source).
    pub fn generate() -> Result<SigningKey> {
        let mut seed = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut seed))
            .map_err(|e| Error::io("/dev/urandom", e))?;
        Ok(SigningKey::from_seed(seed))
    }

    /// The key with this 32-byte secret seed (tests, key escrow).
    pub fn from_seed(seed: [u8; 32]) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The public half, which payout points trust.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// The key file's text: `ed25519-secret:` and 64 hexadecimal digits.
    pub fn to_file_text(&self) -> String {
        let hex: String = self
            .0
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{SECRET_PREFIX}{hex}\n")
    }

    /// Reads a key file written by [`SigningKey::to_file_text`].
    pub fn from_file(path: &Path) -> Result<SigningKey> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let seed = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .and_then(crate::durable::parse_hex)
            .ok_or_else(|| Error::Input {
                file: path.display().to_string(),
                message: "not a signing key file (ed25519-secret: and 64 hex digits)".into(),
            })?;
        Ok(SigningKey::from_seed(seed))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(public {})", self.public_key())
    }
}

/// A secret key where a public one was wanted, refused without echoing it.
fn secret_given(what: &str) -> Error {
    Error::Input {
        file: what.into(),
        message: "holds a secret signing key, not a public key: give its .pub (and keep the \
                  secret with the register keeper)"
            .into(),
    }
}

/// The bytes a signature covers: the domain, the header's first 248 bytes
/// with the signature's own 64 zeroed, and the section table.
fn signed_message(header: &[u8], table: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(DOMAIN.len() + HEADER_LEN + table.len());
    message.extend_from_slice(DOMAIN);
    message.extend_from_slice(&header[..OFF_HEADER_CHECKSUM]);
    let at = DOMAIN.len() + OFF_SIGNATURE;
    message[at..at + SIGNATURE_LEN].fill(0);
    message.extend_from_slice(table);
    message
}

/// Signs a header (its checksum not yet written) and its section table:
/// sets the flag, the signer and the signature.
pub(crate) fn sign_header(key: &SigningKey, header: &mut [u8; HEADER_LEN], table: &[u8]) {
    let at = super::format::OFF_FLAGS;
    let flags = u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
    header[at..at + 4].copy_from_slice(&(flags | FLAG_SIGNED).to_le_bytes());
    header[OFF_SIGNER..OFF_SIGNER + 32].copy_from_slice(&key.public_key().0);
    let signature = key.0.sign(&signed_message(header, table));
    header[OFF_SIGNATURE..OFF_SIGNATURE + SIGNATURE_LEN].copy_from_slice(&signature.to_bytes());
}

/// Signs (or signs again) a whole snapshot file's bytes in place: the
/// register keeper signing a file built without a key, or, in the tests,
/// an attacker re-signing a changed file with a key of their own. The
/// header's checksum is rewritten; the sections are untouched (their
/// checksums, in the table, are what is signed).
pub fn sign_file_bytes(bytes: &mut [u8], key: &SigningKey) -> Result<()> {
    let bad = |message: &str| Error::Format {
        file: "<memory>".into(),
        message: message.into(),
    };
    if bytes.len() < HEADER_LEN || bytes[..8] != super::format::MAGIC {
        return Err(bad(
            "not a tepat snapshot (no magic, or shorter than a header)",
        ));
    }
    let at = super::format::OFF_SECTION_COUNT;
    let count = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let table_end = (count as usize)
        .checked_mul(super::format::SECTION_ENTRY_LEN)
        .map(|t| t + HEADER_LEN)
        .filter(|end| count as usize <= super::format::MAX_SECTIONS && *end <= bytes.len())
        .ok_or_else(|| bad("the section table does not fit the file"))?;
    let (head, rest) = bytes.split_at_mut(HEADER_LEN);
    let table = &rest[..table_end - HEADER_LEN];
    let mut header = [0u8; HEADER_LEN];
    header.copy_from_slice(head);
    sign_header(key, &mut header, table);
    let checksum = super::build::header_checksum(&header, table);
    header[OFF_HEADER_CHECKSUM..].copy_from_slice(&checksum.to_le_bytes());
    head.copy_from_slice(&header);
    Ok(())
}

/// The signer of a header whose flags say it is signed, once its signature
/// verifies; `Ok(None)` for an unsigned header; an error message for a
/// signature that does not verify.
pub(crate) fn check_header(
    flags: u32,
    header: &[u8],
    table: &[u8],
) -> std::result::Result<Option<PublicKey>, String> {
    if flags & FLAG_SIGNED == 0 {
        return Ok(None);
    }
    let mut signer = [0u8; 32];
    signer.copy_from_slice(&header[OFF_SIGNER..OFF_SIGNER + 32]);
    let signer = PublicKey(signer);
    let mut signature = [0u8; SIGNATURE_LEN];
    signature.copy_from_slice(&header[OFF_SIGNATURE..OFF_SIGNATURE + SIGNATURE_LEN]);
    let signature = ed25519_dalek::Signature::from_bytes(&signature);
    let verifies = signer.verifying_key().is_some_and(|k| {
        k.verify_strict(&signed_message(header, table), &signature)
            .is_ok()
    });
    if verifies {
        Ok(Some(signer))
    } else {
        Err(format!(
            "the signature by {signer} does not verify: the header or the section table was \
             changed after it was signed"
        ))
    }
}

/// Whether a snapshot signed by `signer` (`None`: unsigned) may be opened
/// by a store that trusts `trusted` (empty: any file, signed or not).
pub(crate) fn check_trust(
    signer: Option<PublicKey>,
    trusted: &[PublicKey],
) -> std::result::Result<(), String> {
    if trusted.is_empty() {
        return Ok(());
    }
    let list = || {
        let keys: Vec<String> = trusted.iter().map(ToString::to_string).collect();
        keys.join(", ")
    };
    match signer {
        None => Err(format!(
            "unsigned, and only snapshots signed by {} are trusted",
            list()
        )),
        Some(key) if !key.is_among(trusted) => Err(format!(
            "signed by {key}, which is not a trusted key ({})",
            list()
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_their_text() {
        let key = SigningKey::from_seed([9; 32]);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k");
        std::fs::write(&path, key.to_file_text()).expect("write");
        let back = SigningKey::from_file(&path).expect("read");
        assert_eq!(back.public_key(), key.public_key());
        let text = key.public_key().to_string();
        assert!(text.starts_with("ed25519:") && text.len() == 8 + 64);
        assert_eq!(
            PublicKey::from_text_or_file(&text).expect("text"),
            key.public_key()
        );
        std::fs::write(dir.path().join("k.pub"), format!("{text}\n")).expect("write");
        let from_file = dir.path().join("k.pub");
        let from_file = PublicKey::from_text_or_file(&from_file.to_string_lossy());
        assert_eq!(from_file.expect("file"), key.public_key());
        assert!("ed25519:00".parse::<PublicKey>().is_err());
        // A weak key (all zeros: a point of order 4) is no key.
        assert!(PublicKey::from_bytes([0; 32]).is_err());
        // A secret given where the public key goes is refused, not echoed.
        let secret = key.to_file_text();
        std::fs::write(dir.path().join("oops"), &secret).expect("write");
        for arg in [
            secret.trim().to_string(),
            dir.path().join("oops").display().to_string(),
        ] {
            let e = PublicKey::from_text_or_file(&arg).unwrap_err().to_string();
            assert!(
                e.contains("secret signing key") && !e.contains(&secret[15..79]),
                "{e}"
            );
        }
        assert!(format!("{key:?}").contains("public ed25519:"));
        assert!(!format!("{key:?}").contains(&key.to_file_text()[15..79]));
    }

    #[test]
    fn a_signed_header_verifies_and_any_changed_byte_does_not() {
        let key = SigningKey::from_seed([1; 32]);
        let mut header = [0u8; HEADER_LEN];
        header[..8].copy_from_slice(b"\x89TEPAT\r\n");
        let table = vec![5u8; 64];
        sign_header(&key, &mut header, &table);
        assert_eq!(
            check_header(FLAG_SIGNED, &header, &table),
            Ok(Some(key.public_key()))
        );
        for at in (0..OFF_HEADER_CHECKSUM).step_by(7) {
            let mut bad = header;
            bad[at] ^= 0x10;
            assert!(
                check_header(FLAG_SIGNED, &bad, &table).is_err(),
                "byte {at}"
            );
        }
        let mut bad_table = table.clone();
        bad_table[33] ^= 1;
        assert!(check_header(FLAG_SIGNED, &header, &bad_table).is_err());
    }

    #[test]
    fn trust_refuses_unsigned_and_other_keys() {
        let keeper = SigningKey::from_seed([1; 32]).public_key();
        let other = SigningKey::from_seed([2; 32]).public_key();
        assert!(check_trust(None, &[]).is_ok());
        assert!(check_trust(Some(other), &[]).is_ok());
        assert!(check_trust(Some(keeper), &[other, keeper]).is_ok());
        assert!(check_trust(None, &[keeper]).is_err_and(|m| m.contains("unsigned")));
        assert!(check_trust(Some(other), &[keeper]).is_err_and(|m| m.contains("not a trusted")));
    }
}
