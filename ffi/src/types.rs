//! The C types: plain structs the caller allocates (`#[repr(C)]`), and the
//! two library-owned objects (`tepat_store`, `tepat_report`), opaque to C.
//!
//! Fixed-size text fields are NUL-terminated UTF-8; a value that does not
//! fit (none of the built-in data comes close) is cut at a character
//! boundary. Array sizes are literals so that PHP's FFI, which has no
//! preprocessor, reads the header as it is.

#![allow(non_camel_case_types)]

use std::ffi::{CString, c_char};

use tepat::Store;

/// A string: a pointer to `len` bytes of UTF-8, not necessarily
/// NUL-terminated. `ptr` may be NULL when `len` is 0. Strings the library
/// returns in a `tepat_str` are also NUL-terminated (`ptr[len] == 0`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tepat_str {
    /// The first byte.
    pub ptr: *const c_char,
    /// The number of bytes.
    pub len: usize,
}

impl tepat_str {
    /// A view of a NUL-terminated string owned elsewhere.
    pub(crate) fn of(s: &std::ffi::CStr) -> tepat_str {
        tepat_str {
            ptr: s.as_ptr(),
            len: s.to_bytes().len(),
        }
    }
}

/// How a store is opened. All zero (`{0}`) is the default: mapped, the
/// system clock's date, no key.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tepat_open_options {
    /// Read the snapshot into memory backed by 2 MiB pages at open (a full
    /// read of the file: seconds at 10 M persons) instead of mapping it:
    /// fewer TLB misses per lookup.
    pub resident: bool,
    /// The store's date, `YYYY-MM-DD`, which decides the open payout
    /// periods; NULL: the system clock's day at each check.
    pub today: *const c_char,
    /// Bytes of `today`.
    pub today_len: usize,
    /// A keyed payout point's identity key: its 16 bytes, or the text of
    /// its key file (`tepat key new`). A keyed store opens only with its
    /// own key, a plain store with none (else `TEPAT_E_KEY`); bytes that
    /// are no key: `TEPAT_E_ARGUMENT`. NULL / 0: none.
    pub key: *const u8,
    /// Bytes of `key`.
    pub key_len: usize,
    /// The register keeper's Ed25519 public keys, 32 bytes each,
    /// concatenated: the store opens only snapshots one of them signed
    /// (an unsigned snapshot or another signer: `TEPAT_E_FORMAT`). NULL / 0:
    /// every snapshot opens (a signed one's signature is still checked). A
    /// length that is not a multiple of 32, or bytes that are not a key:
    /// `TEPAT_E_ARGUMENT`.
    pub trusted_keys: *const u8,
    /// Bytes of `trusted_keys`.
    pub trusted_keys_len: usize,
}

/// A verdict: may this NIK be paid this program for this period, and every
/// reason that applies.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tepat_verdict {
    /// No blocking reason applies.
    pub payable: bool,
    /// Every reason that applies: bit `r` set for each `TEPAT_REASON_*`
    /// value `r` (`reasons & (1u << TEPAT_REASON_NOT_ENROLLED)`).
    pub reasons: u32,
    /// The reasons of `reasons` that block payment under the store's
    /// policy (the others only warn).
    pub blocking: u32,
    /// For `excluded_by`: the programs whose enrolment excludes this one,
    /// bit `i` for program index `i` (`tepat_program_code`).
    pub excluded_by: u32,
    /// For `already_claimed`: an earlier claim blocks this payment.
    pub claimed: bool,
    /// The earlier claim's request id (empty when none).
    pub claimed_request_id: [c_char; 129],
    /// The NIK it paid, 16 digits (empty when none).
    pub claimed_nik: [c_char; 17],
    /// The family card it was recorded for, 16 digits (empty for a person
    /// program or none).
    pub claimed_kk: [c_char; 17],
    /// When it was recorded, milliseconds since the Unix epoch (0: none).
    pub claimed_at_ms: u64,
}

impl tepat_verdict {
    /// A verdict with nothing set: not payable, no reasons, no claim.
    pub(crate) const EMPTY: tepat_verdict = tepat_verdict {
        payable: false,
        reasons: 0,
        blocking: 0,
        excluded_by: 0,
        claimed: false,
        claimed_request_id: [0; 129],
        claimed_nik: [0; 17],
        claimed_kk: [0; 17],
        claimed_at_ms: 0,
    };
}

/// A person's current state: the snapshot's record, or the pending state
/// when a change was applied since.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tepat_person {
    /// The NIK is in the register. When false, every other field is zero.
    pub found: bool,
    /// A pending change (applied since the snapshot) holds this state.
    pub pending: bool,
    /// The NIK, 16 digits.
    pub nik: [c_char; 17],
    /// The NIK as a number (it fits 54 bits: not a JSON number).
    pub nik_value: u64,
    /// The family card (KK), 16 digits.
    pub kk: [c_char; 17],
    /// The KK as a number.
    pub kk_value: u64,
    /// Relation to the head of the family: `head`, `spouse`, `child`,
    /// `other`.
    pub relation: [c_char; 8],
    /// The village of residence, 10 digits.
    pub village_code: [c_char; 11],
    /// The village's name (empty when the snapshot has no name for it).
    pub village: [c_char; 128],
    /// `'M'` or `'F'`.
    pub sex: c_char,
    /// `YYYY-MM-DD`.
    pub birth_date: [c_char; 11],
    /// Welfare decile, 1 (poorest) to 10.
    pub decile: u8,
    /// Recorded as deceased.
    pub deceased: bool,
    /// Civil servant, police or military.
    pub civil_servant: bool,
    /// The NIK belongs to more than one register record.
    pub duplicate: bool,
    /// The recorded components, `|`-separated (`pregnant|in_school`).
    pub components: [c_char; 128],
    /// Programs the person is eligible for: bit `i` for program index `i`.
    pub eligible: u32,
    /// Programs the person is enrolled in: bit `i` for program index `i`.
    pub enrolled: u32,
}

/// A claim as the payout point sends it. Every field is part of the
/// request: a retry sends the same; the same request id with any field
/// different is refused (`TEPAT_E_REQUEST_CONFLICT`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tepat_claim_request {
    /// The caller's id for this request (1-128 bytes, no control
    /// characters); a retry reuses it.
    pub request_id: tepat_str,
    /// The NIK to pay.
    pub nik: tepat_str,
    /// The program's code (`PKH`).
    pub program: tepat_str,
    /// The period (`2026-Q4`).
    pub period: tepat_str,
    /// Who pays: the operator or device (may be empty).
    pub operator_id: tepat_str,
    /// Free text recorded with the claim (may be empty).
    pub meta: tepat_str,
    /// Whether `amount` is given.
    pub has_amount: bool,
    /// The amount paid, in rupiah (when `has_amount`).
    pub amount: u64,
}

/// What a claim did.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tepat_claim_outcome {
    /// The payout was recorded (durably, before the call returned).
    pub paid: bool,
    /// A retry, answered from the first outcome.
    pub replayed: bool,
    /// For a retry: the claim was reversed since (do not pay it out again).
    pub reversed: bool,
    /// The reversal's request id (empty when not reversed).
    pub reversed_by: [c_char; 129],
    /// Whether `amount` is known.
    pub has_amount: bool,
    /// The amount recorded, in rupiah: as stated, else the entitlement.
    pub amount: u64,
    /// Whether the program sets an entitlement (`entitled`).
    pub has_entitled: bool,
    /// The program's entitlement for this payee and period, in rupiah.
    pub entitled: u64,
    /// The verdict the claim was decided on.
    pub verdict: tepat_verdict,
}

/// What a reversal did.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tepat_reverse_outcome {
    /// A retry, answered from the first outcome.
    pub replayed: bool,
}

/// One row's verdict in a batch (without the details of `tepat_verdict`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct tepat_batch_verdict {
    /// Every reason that applies (bits as in `tepat_verdict.reasons`); a
    /// row whose program or period cannot be read has `invalid_row`.
    pub reasons: u32,
    /// No blocking reason applies.
    pub payable: bool,
}

/// What `tepat_create` read from the register export.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct tepat_ingest {
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Rows built into the store.
    pub accepted: u64,
    /// Rows refused, each listed in `STORE/rejects-000001.csv` with line,
    /// column and reason.
    pub rejected: u64,
}

/// An open store. Opaque: made by `tepat_open` or `tepat_create`, freed by
/// `tepat_close`.
pub struct tepat_store {
    magic: u64,
    pub(crate) store: Store,
    /// The registry's program codes by index (the registry cannot change
    /// while the handle is open: this process holds the store's lock).
    pub(crate) programs: Vec<CString>,
    /// The reasons that block payment under the registry's policy.
    pub(crate) blocking: u32,
}

/// A value only live handles hold in their first word.
const STORE_MAGIC: u64 = 0x7465_7061_7453_746f;

impl tepat_store {
    /// A handle for an open store.
    pub(crate) fn new(store: Store) -> tepat_store {
        let programs = store
            .registry()
            .programs()
            .iter()
            .map(|p| CString::new(p.code.clone()).unwrap_or_default())
            .collect();
        let blocking = crate::convert::blocking_mask(&store.registry());
        tepat_store {
            magic: STORE_MAGIC,
            store,
            programs,
            blocking,
        }
    }

    /// Whether this looks like a live handle.
    pub(crate) fn is_live(&self) -> bool {
        self.magic == STORE_MAGIC
    }
}

impl Drop for tepat_store {
    fn drop(&mut self) {
        self.magic = 0;
    }
}

/// A report's table: column names and cells as text. Opaque: made by
/// `tepat_report_create`, freed by `tepat_report_free`.
pub struct tepat_report {
    pub(crate) columns: Vec<CString>,
    /// Row-major: row `r`, column `c` at `r * columns.len() + c`.
    pub(crate) cells: Vec<CString>,
}
