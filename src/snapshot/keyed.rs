//! Keyed identities (docs/FORMAT.md, "Keyed snapshots"): at a payout
//! point's store every NIK and KK is replaced by a pseudonym under a
//! secret key the register keeper holds, so that a stolen point directory
//! yields no NIK and no KK.
//!
//! ```
//! use tepat::snapshot::IdentityKey;
//! use tepat::Nik;
//!
//! let key = IdentityKey::from_bytes([9; 16]);
//! let nik: Nik = "3201015708900001".parse()?;
//! let pseudonym = key.nik(nik);
//! assert!(pseudonym.is_keyed());
//! assert_eq!(key.reveal_nik(pseudonym), Some(nik));
//! # Ok::<(), tepat::Error>(())
//! ```
//!
//! **The construction.** A pseudonym is a keyed pseudorandom *permutation*
//! of the 54 bits a NIK (or KK) fits in: a ten-round Feistel network over
//! two 27-bit halves whose round function is SipHash-2-4 under the 128-bit
//! key (the round, the domain — NIK or KK — and the half as its input).
//! Why a permutation of a PRF rather than the PRF itself: it is a
//! bijection, so two persons never share a pseudonym (a 54-bit truncated
//! PRF over 290 M NIKs would give about two collisions), it fits the
//! record's 54-bit NIK field, and the keeper reveals a pseudonym by
//! running it backwards, with no table. Why SipHash-2-4: it is the
//! cheapest of the three keyed PRFs measured per call on an 8-byte input
//! (`cargo bench --bench keyed`: SipHash-2-4, keyed BLAKE3, HMAC-SHA-256;
//! docs/BENCHMARKS-points.md), and ten calls keep a lookup well under
//! the 2 µs budget. Ten rounds follow NIST's FF1 (SP 800-38G), a Feistel
//! cipher over small domains.
//!
//! What it does not hide: how many persons a family has, their villages
//! (a point's store keeps them), and which claims are the same person's.

use std::fmt;
use std::hash::Hasher;
use std::io::Read;
use std::path::Path;

use siphasher::sip::SipHasher24;
use siphasher::sip128::{Hasher128, SipHasher24 as SipHasher24x128};

use crate::domain::kk::Kk;
use crate::domain::nik::{KEYED_BIT, KEYED_VALUE_MASK, Nik};
use crate::error::{Error, Result};

/// Header flag: the file's identities are keyed (format 3.2).
pub const FLAG_KEYED: u32 = 2;
/// Where the key check value lies in the header (16 bytes).
pub(crate) const OFF_KEY_CHECK: usize = 104;
/// The key check value's length.
pub(crate) const KEY_CHECK_LEN: usize = 16;

const ROUNDS: u64 = 10;
const HALF_BITS: u32 = 27;
const HALF_MASK: u64 = (1 << HALF_BITS) - 1;
const DOMAIN_NIK: u64 = 1;
const DOMAIN_KK: u64 = 2;
const PREFIX: &str = "tepat-identity-key:";
/// What the key check value is the PRF of: a fixed message no identity
/// can be (the round functions' inputs are single 8-byte words).
const CHECK_MESSAGE: &[u8] = b"tepat identity key check v1";

/// A payout point's identity key: 128 secret bits. Its `Debug` shows
/// only the key check value; the secret is wiped when the key is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityKey([u8; 16]);

impl IdentityKey {
    /// A new key from the operating system's random source; an error where
    /// it cannot be read.
    pub fn generate() -> Result<IdentityKey> {
        let mut bytes = [0u8; 16];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map_err(|e| Error::io("/dev/urandom", e))?;
        Ok(IdentityKey(bytes))
    }

    /// The key of these 16 secret bytes (tests, key escrow).
    pub fn from_bytes(bytes: [u8; 16]) -> IdentityKey {
        IdentityKey(bytes)
    }

    /// The key file's text: `tepat-identity-key:` and 32 hexadecimal digits.
    pub fn to_file_text(&self) -> String {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        format!("{PREFIX}{hex}\n")
    }

    /// Reads a key file written by [`IdentityKey::to_file_text`].
    pub fn from_file(path: &Path) -> Result<IdentityKey> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        IdentityKey::from_text(&text).ok_or_else(|| Error::Input {
            file: path.display().to_string(),
            message: format!("not an identity key file ({PREFIX} and 32 hex digits)"),
        })
    }

    /// The key in a key file's text; `None` if it is not one.
    pub fn from_text(text: &str) -> Option<IdentityKey> {
        text.trim()
            .strip_prefix(PREFIX)
            .and_then(crate::durable::parse_hex)
            .map(IdentityKey)
    }

    /// The key check value written in a keyed snapshot's header: a PRF of
    /// a fixed message, so a store opened with another key is refused
    /// instead of finding nobody, and the value says nothing of the key.
    pub fn check_value(&self) -> [u8; KEY_CHECK_LEN] {
        let mut h = SipHasher24x128::new_with_key(&self.0);
        h.write(CHECK_MESSAGE);
        h.finish128().as_bytes()
    }

    /// The pseudonym of a NIK (a pseudonym is returned as it is).
    #[inline]
    pub fn nik(&self, nik: Nik) -> Nik {
        match self.permute(nik.get(), DOMAIN_NIK) {
            Some(value) => keyed_nik(value),
            None => nik,
        }
    }

    /// The pseudonym of a KK (a pseudonym is returned as it is).
    pub fn kk(&self, kk: Kk) -> Kk {
        match self.permute(kk.get(), DOMAIN_KK) {
            Some(value) => keyed_kk(value),
            None => kk,
        }
    }

    /// What a keyed store records of a NIK as a caller typed it: the
    /// pseudonym's text if it is a NIK, else `x` and a keyed tag of the
    /// input (a mistyped NIK is nearly a NIK, and is not kept either).
    pub fn input_text(&self, input: &str) -> String {
        match Nik::parse(input) {
            Ok(nik) => self.nik(nik).to_string(),
            Err(_) => {
                let mut h = SipHasher24::new_with_key(&self.0);
                h.write(b"tepat input\0");
                h.write(input.as_bytes());
                format!("x{:016x}", h.finish())
            }
        }
    }

    /// The NIK behind a pseudonym made with this key; `None` for a value
    /// that is not a pseudonym or whose inverse is not a NIK (another
    /// key's pseudonym, most likely).
    pub fn reveal_nik(&self, pseudonym: Nik) -> Option<Nik> {
        let value = self.unpermute(pseudonym.get(), DOMAIN_NIK)?;
        Nik::from_u64(value).ok().filter(|n| !n.is_keyed())
    }

    /// The KK behind a pseudonym made with this key (as
    /// [`IdentityKey::reveal_nik`]).
    pub fn reveal_kk(&self, pseudonym: Kk) -> Option<Kk> {
        let value = self.unpermute(pseudonym.get(), DOMAIN_KK)?;
        Kk::from_u64(value).ok().filter(|k| !k.is_keyed())
    }

    /// The NIK or KK behind a pseudonym held as a number (a claim key is
    /// either); any other number is returned as it is.
    pub fn reveal_number(&self, value: u64) -> u64 {
        let nik = self.reveal_nik(Nik::from_stored(value)).map(Nik::get);
        nik.or_else(|| self.reveal_kk(Kk::from_stored(value)).map(Kk::get))
            .unwrap_or(value)
    }

    /// The Feistel network forwards, on a plain value; `None` for one
    /// already keyed.
    #[inline]
    fn permute(&self, value: u64, domain: u64) -> Option<u64> {
        if value & KEYED_BIT != 0 {
            return None;
        }
        let (mut left, mut right) = ((value >> HALF_BITS) & HALF_MASK, value & HALF_MASK);
        for round in 0..ROUNDS {
            (left, right) = (right, left ^ self.round(domain, round, right));
        }
        Some(KEYED_BIT | left << HALF_BITS | right)
    }

    /// The Feistel network backwards, on a pseudonym.
    fn unpermute(&self, value: u64, domain: u64) -> Option<u64> {
        if value & !(KEYED_BIT | KEYED_VALUE_MASK) != 0 || value & KEYED_BIT == 0 {
            return None;
        }
        let (mut left, mut right) = ((value >> HALF_BITS) & HALF_MASK, value & HALF_MASK);
        for round in (0..ROUNDS).rev() {
            (left, right) = (right ^ self.round(domain, round, left), left);
        }
        Some(left << HALF_BITS | right)
    }

    /// The round function: SipHash-2-4 of one word (domain, round, half).
    #[inline(always)]
    fn round(&self, domain: u64, round: u64, half: u64) -> u64 {
        let mut h = SipHasher24::new_with_key(&self.0);
        h.write_u64(domain << 40 | round << 32 | half);
        h.finish() & HALF_MASK
    }
}

/// A keyed file's key check value, read from its header (flags and bytes).
pub(crate) fn key_check_of(flags: u32, header: &[u8]) -> Option<[u8; KEY_CHECK_LEN]> {
    let mut check = [0u8; KEY_CHECK_LEN];
    check.copy_from_slice(header.get(OFF_KEY_CHECK..OFF_KEY_CHECK + KEY_CHECK_LEN)?);
    (flags & FLAG_KEYED != 0).then_some(check)
}

/// Writes a keyed file's flag and key check value into its header.
pub(crate) fn mark_header(key: &IdentityKey, header: &mut [u8]) {
    let at = super::format::OFF_FLAGS;
    let flags = u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
    header[at..at + 4].copy_from_slice(&(flags | FLAG_KEYED).to_le_bytes());
    header[OFF_KEY_CHECK..OFF_KEY_CHECK + KEY_CHECK_LEN].copy_from_slice(&key.check_value());
}

/// The key a file's check value asks for, against the key given.
pub(crate) fn check_key(
    check: Option<[u8; KEY_CHECK_LEN]>,
    key: Option<&IdentityKey>,
) -> std::result::Result<(), String> {
    match (check, key) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(
            "this store is not keyed: it takes no identity key (--key is \
                                for a payout point's keyed store)"
                .into(),
        ),
        (Some(_), None) => Err("this store is keyed: it opens only with its identity key \
                                (--key KEYFILE, Options::identity_key), which the register \
                                keeper holds"
            .into()),
        (Some(check), Some(key)) if key.check_value() == check => Ok(()),
        (Some(_), Some(_)) => Err("the identity key given is not this store's (its key check \
                                   value differs): refused rather than finding nobody"
            .into()),
    }
}

// A permuted value is the keyed bit and 54 bits: a pseudonym by construction.
fn keyed_nik(value: u64) -> Nik {
    Nik::from_stored(value)
}

fn keyed_kk(value: u64) -> Kk {
    Kk::from_stored(value)
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let check: String = self.check_value()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        write!(f, "IdentityKey(check {check}…)")
    }
}

impl Drop for IdentityKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pseudonym_reveals_its_nik_and_only_with_its_key() {
        let key = IdentityKey::from_bytes([1; 16]);
        let other = IdentityKey::from_bytes([2; 16]);
        for nik in [
            3_201_015_708_900_001u64,
            1_101_010_101_000_001,
            9_471_017_112_999_999,
        ] {
            let nik = Nik::from_u64(nik).unwrap();
            let p = key.nik(nik);
            assert!(p.is_keyed());
            assert_ne!(p.get() & KEYED_VALUE_MASK, nik.get());
            assert_eq!(key.reveal_nik(p), Some(nik));
            assert_ne!(other.nik(nik), p);
            assert_ne!(other.reveal_nik(p), Some(nik));
            assert_eq!(key.nik(p), p, "a pseudonym is not keyed twice");
            assert!(p.to_string().starts_with('k') && p.to_string().len() == 15);
        }
    }

    #[test]
    fn nik_and_kk_of_one_number_get_different_pseudonyms() {
        let key = IdentityKey::from_bytes([3; 16]);
        let n = 3_201_011_501_100_001;
        let nik = Nik::from_u64(n).unwrap();
        let kk = Kk::from_u64(n).unwrap();
        assert_ne!(key.nik(nik).get(), key.kk(kk).get());
        assert_eq!(key.reveal_kk(key.kk(kk)), Some(kk));
        assert_eq!(
            key.reveal_kk(Kk::from_u64(key.nik(nik).get()).unwrap()),
            None
        );
    }

    #[test]
    fn the_permutation_is_a_bijection_on_a_sample() {
        let key = IdentityKey::from_bytes([4; 16]);
        let mut seen = std::collections::HashSet::new();
        for x in 0..100_000u64 {
            let v = key.permute(x * 7_919, DOMAIN_NIK).unwrap();
            assert!(seen.insert(v));
            assert_eq!(key.unpermute(v, DOMAIN_NIK), Some(x * 7_919));
        }
    }

    #[test]
    fn key_files_round_trip_and_the_check_value_tells_keys_apart() {
        let dir = tempfile::tempdir().unwrap();
        let key = IdentityKey::generate().unwrap();
        let path = dir.path().join("point.key");
        std::fs::write(&path, key.to_file_text()).unwrap();
        let back = IdentityKey::from_file(&path).unwrap();
        assert_eq!(back, key);
        assert_ne!(
            key.check_value(),
            IdentityKey::from_bytes([0; 16]).check_value()
        );
        assert!(!format!("{key:?}").contains(&key.to_file_text()[PREFIX.len()..][..8]));
        std::fs::write(&path, "ed25519-secret:00").unwrap();
        let e = IdentityKey::from_file(&path).unwrap_err().to_string();
        assert!(e.contains("not an identity key file"), "{e}");
    }
}
