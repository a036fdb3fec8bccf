//! Safe conversions between the library's values and the C structs, and
//! the views the Python package shares with C (a person's state, the
//! store's options).

use std::ffi::c_char;

use tepat::register::Relation;
use tepat::snapshot::{IdentityKey, PublicKey};
use tepat::store::PersonState;
use tepat::{ComponentSet, Date, Nik, Options, ReasonCode, Registry, Store, Verdict};

use crate::codes::{Failure, tepat_status};
use crate::types::{tepat_person, tepat_verdict};

/// Copies `s` into a fixed C field, NUL-terminated, cut at a character
/// boundary when it does not fit.
pub(crate) fn put<const N: usize>(field: &mut [c_char; N], s: &str) {
    let mut end = s.len().min(N.saturating_sub(1));
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    for (dst, src) in field.iter_mut().zip(&s.as_bytes()[..end]) {
        *dst = *src as c_char;
    }
    if let Some(nul) = field.get_mut(end) {
        *nul = 0;
    }
}

/// A 16-digit NIK or KK.
pub fn digits16(v: u64) -> String {
    tepat::nik::identity_text(v)
}

/// The reasons (bit `r` for reason `r`) that block payment under the
/// registry's policy; the others only warn.
pub fn blocking_mask(registry: &Registry) -> u32 {
    ReasonCode::ALL
        .into_iter()
        .filter(|r| registry.policy().blocks(r.as_str()))
        .fold(0u32, |acc, r| acc | 1 << r as u8)
}

/// Fills a C verdict (initialised to [`tepat_verdict::EMPTY`]) from a
/// library verdict; `blocking` from [`blocking_mask`].
#[inline]
pub(crate) fn fill_verdict(out: &mut tepat_verdict, v: &Verdict, blocking: u32) {
    let reasons = u32::from(v.reasons.0);
    out.payable = v.payable;
    out.reasons = reasons;
    out.blocking = reasons & blocking;
    out.excluded_by = v
        .conflicts
        .iter()
        .fold(0u32, |acc, c| acc | 1 << c.program.index());
    if let Some(c) = &v.claimed {
        out.claimed = true;
        put(&mut out.claimed_request_id, &c.request_id);
        if c.nik != 0 {
            put(&mut out.claimed_nik, &digits16(c.nik));
        }
        if let Some(kk) = c.kk {
            put(&mut out.claimed_kk, &digits16(kk));
        }
        out.claimed_at_ms = c.at_ms;
    }
}

/// A person's current state, as the bindings show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonView {
    /// The NIK.
    pub nik: u64,
    /// The family card.
    pub kk: u64,
    /// `head`, `spouse`, `child` or `other`.
    pub relation: &'static str,
    /// The village of residence.
    pub village_code: u64,
    /// The village's name, when the snapshot has it.
    pub village: Option<String>,
    /// Female (the NIK's day + 40).
    pub female: bool,
    /// The birth date.
    pub birth_date: Option<Date>,
    /// Welfare decile, 1-10.
    pub decile: u8,
    /// Recorded as deceased.
    pub deceased: bool,
    /// Civil servant, police or military.
    pub civil_servant: bool,
    /// The NIK belongs to more than one register record.
    pub duplicate: bool,
    /// Recorded components.
    pub components: ComponentSet,
    /// Eligibility bitset over the registry's programs.
    pub eligible: u32,
    /// Enrolment bitset over the registry's programs.
    pub enrolled: u32,
    /// A pending change holds this state.
    pub pending: bool,
}

/// The current state of `nik`; `None` when it is not in the register, a
/// `TEPAT_E_NIK` failure when it is not a valid NIK.
pub fn person(store: &Store, nik: &str) -> Result<Option<PersonView>, Failure> {
    let nik: Nik = nik.parse()?;
    let snap = store.snapshot();
    let Some(state) = store.person(&snap, nik.get())? else {
        return Ok(None);
    };
    let pending = matches!(state, PersonState::Live(_));
    let l = state.to_live();
    Ok(Some(PersonView {
        nik: nik.get(),
        kk: l.kk,
        relation: Relation::from_code(l.relation).name(),
        village_code: l.village,
        village: snap.regions().village(l.village).map(|r| r.name.clone()),
        female: l.female,
        birth_date: Date::from_unix_days(l.birth_days),
        decile: l.decile,
        deceased: l.deceased,
        civil_servant: l.civil_servant,
        duplicate: l.duplicate,
        components: ComponentSet(l.components),
        eligible: l.eligible,
        enrolled: l.enrolled,
        pending,
    }))
}

/// The C struct of a person's state (all zero with `found` false for
/// `None`).
pub(crate) fn person_struct(p: Option<&PersonView>) -> tepat_person {
    let mut out = tepat_person {
        found: false,
        pending: false,
        nik: [0; 17],
        nik_value: 0,
        kk: [0; 17],
        kk_value: 0,
        relation: [0; 8],
        village_code: [0; 11],
        village: [0; 128],
        sex: 0,
        birth_date: [0; 11],
        decile: 0,
        deceased: false,
        civil_servant: false,
        duplicate: false,
        components: [0; 128],
        eligible: 0,
        enrolled: 0,
    };
    let Some(p) = p else {
        return out;
    };
    out.found = true;
    out.pending = p.pending;
    put(&mut out.nik, &digits16(p.nik));
    out.nik_value = p.nik;
    put(&mut out.kk, &digits16(p.kk));
    out.kk_value = p.kk;
    put(&mut out.relation, p.relation);
    put(&mut out.village_code, &format!("{:010}", p.village_code));
    put(&mut out.village, p.village.as_deref().unwrap_or(""));
    out.sex = if p.female { b'F' } else { b'M' } as c_char;
    if let Some(d) = p.birth_date {
        put(&mut out.birth_date, &d.to_string());
    }
    out.decile = p.decile;
    out.deceased = p.deceased;
    out.civil_servant = p.civil_servant;
    out.duplicate = p.duplicate;
    put(&mut out.components, &p.components.to_string());
    out.eligible = p.eligible;
    out.enrolled = p.enrolled;
    out
}

/// The store's options from the bindings' open options.
///
/// `key`: a keyed payout point's identity key (docs/FORMAT.md, "Keyed
/// snapshots"), its 16 bytes or its key file's text; empty: none.
/// `trusted_keys`: the register keeper's Ed25519 public keys, 32 bytes
/// each, concatenated (empty: every snapshot opens, a signed one's
/// signature still checked).
pub fn options(
    resident: bool,
    today: Option<&str>,
    key: &[u8],
    trusted_keys: &[u8],
) -> Result<Options, Failure> {
    let identity_key = match key.len() {
        0 => None,
        16 => {
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(key);
            Some(IdentityKey::from_bytes(bytes))
        }
        _ => Some(
            std::str::from_utf8(key)
                .ok()
                .and_then(IdentityKey::from_text)
                .ok_or_else(|| {
                    Failure::new(
                        tepat_status::TEPAT_E_ARGUMENT,
                        format!(
                            "key: {} bytes, neither a 16-byte identity key nor a key file's text",
                            key.len()
                        ),
                    )
                })?,
        ),
    };
    let mut options = Options::default()
        .resident(resident)
        .identity_key(identity_key);
    if let Some(today) = today {
        options = options.today(Date::parse_iso(today)?);
    }
    if !trusted_keys.len().is_multiple_of(32) {
        return Err(Failure::new(
            tepat_status::TEPAT_E_ARGUMENT,
            format!(
                "trusted_keys: {} bytes, not a whole number of 32-byte Ed25519 public keys",
                trusted_keys.len()
            ),
        ));
    }
    for (i, chunk) in trusted_keys.chunks_exact(32).enumerate() {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(chunk);
        let key = PublicKey::from_bytes(bytes).map_err(|e| {
            Failure::new(
                tepat_status::TEPAT_E_ARGUMENT,
                format!("trusted_keys[{i}]: {e}"),
            )
        })?;
        options = options.trust(key);
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_cuts_at_a_character_boundary() {
        let mut f = [1 as c_char; 5];
        put(&mut f, "ab\u{e9}cd");
        // "ab" + the two bytes of é fit four bytes, then the NUL.
        assert_eq!(f.map(|c| c as u8), [b'a', b'b', 0xc3, 0xa9, 0]);
        let mut g = [1 as c_char; 4];
        put(&mut g, "ab\u{e9}");
        assert_eq!(g.map(|c| c as u8), [b'a', b'b', 0, 1]);
    }
}
