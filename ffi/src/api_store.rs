//! Opening, creating and closing stores; the registry's programs; the
//! status codes, reason codes and the thread's last error.

use std::ffi::c_char;
use std::path::Path;

use tepat::{Date, ReasonCode, Store};

use crate::boundary::{self, Out, Res, call, call_value};
use crate::codes::{Failure, tepat_status};
use crate::convert;
use crate::types::{tepat_ingest, tepat_open_options, tepat_store, tepat_str};

/// The ABI version of this header and library: it changes when a struct or
/// function changes incompatibly. Compare `tepat_abi_version()` with
/// `TEPAT_ABI_VERSION` at start-up.
pub const TEPAT_ABI_VERSION: u32 = 1;

/// The ABI version of the loaded library (`TEPAT_ABI_VERSION` of the header
/// it was built with).
#[unsafe(no_mangle)]
pub extern "C" fn tepat_abi_version() -> u32 {
    TEPAT_ABI_VERSION
}

/// The library's version, `"0.1.0"`: a static NUL-terminated string.
#[unsafe(no_mangle)]
pub extern "C" fn tepat_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The status of this thread's last call into the library (`TEPAT_OK`
/// after a call that succeeded).
#[unsafe(no_mangle)]
pub extern "C" fn tepat_last_error_code() -> tepat_status {
    call_value(tepat_status::TEPAT_E_PANIC, boundary::last_status)
}

/// The message of this thread's last failed call: NUL-terminated UTF-8,
/// empty after a call that succeeded. Owned by the library, valid until
/// the next call into the library on this thread; copy it to keep it.
#[unsafe(no_mangle)]
pub extern "C" fn tepat_last_error_message() -> *const c_char {
    call_value(c"".as_ptr(), || boundary::last_message().0)
}

/// The length in bytes of `tepat_last_error_message()` (without the NUL).
#[unsafe(no_mangle)]
pub extern "C" fn tepat_last_error_length() -> usize {
    call_value(0, || boundary::last_message().1)
}

/// The name of a status (`"TEPAT_E_PERIOD"`), or NULL for a number that is
/// no status. A static NUL-terminated string.
#[unsafe(no_mangle)]
pub extern "C" fn tepat_status_name(status: i32) -> *const c_char {
    call_value(std::ptr::null(), || {
        tepat_status::from_code(status).map_or(std::ptr::null(), |s| s.name_nul().as_ptr().cast())
    })
}

/// The reasons a verdict can carry: bit `r` of `tepat_verdict.reasons` is
/// reason `r`. The numbers are stable.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum tepat_reason {
    /// Not a valid NIK.
    TEPAT_REASON_INVALID_NIK = 0,
    /// Not in the register.
    TEPAT_REASON_UNKNOWN_NIK = 1,
    /// Recorded as deceased.
    TEPAT_REASON_DECEASED = 2,
    /// The NIK belongs to more than one register record (warns).
    TEPAT_REASON_DUPLICATE_IDENTITY = 3,
    /// Not enrolled in the program.
    TEPAT_REASON_NOT_ENROLLED = 4,
    /// Enrolled but not eligible by the rule (warns).
    TEPAT_REASON_NOT_ELIGIBLE = 5,
    /// Civil servant, police or military.
    TEPAT_REASON_CIVIL_SERVANT = 6,
    /// Enrolled in a program that excludes this one.
    TEPAT_REASON_EXCLUDED_BY = 7,
    /// Already paid this program for this period.
    TEPAT_REASON_ALREADY_CLAIMED = 8,
    /// The period is of the wrong kind for the program.
    TEPAT_REASON_WRONG_PERIOD_KIND = 9,
    /// Repeated earlier in the same payee list (CSV batches only).
    TEPAT_REASON_REPEATED_IN_LIST = 10,
    /// A batch row whose program or period cannot be read.
    TEPAT_REASON_INVALID_ROW = 11,
    /// The period is not open for payment around the store's date.
    TEPAT_REASON_PERIOD_NOT_OPEN = 12,
    /// A claim's amount is not the program's entitlement (or that is
    /// nothing).
    TEPAT_REASON_WRONG_AMOUNT = 13,
    /// The central ledger holds the claim's key for another payout point.
    TEPAT_REASON_CLAIMED_ELSEWHERE = 14,
    /// The central ledger could not be reached in time for the claim's
    /// reservation.
    TEPAT_REASON_LEDGER_UNREACHABLE = 15,
}

/// The number of reason codes (`TEPAT_REASON_*` values are below it).
pub const TEPAT_REASON_COUNT: u32 = 16;

/// The stable code of a reason (`"not_enrolled"`), or NULL for a number
/// that is no reason. A static NUL-terminated string.
#[unsafe(no_mangle)]
pub extern "C" fn tepat_reason_code(reason: u32) -> *const c_char {
    call_value(std::ptr::null(), || {
        ReasonCode::ALL
            .get(reason as usize)
            .map_or(std::ptr::null(), |r| reason_nul(*r).as_ptr().cast())
    })
}

/// A reason's code, NUL-terminated.
fn reason_nul(r: ReasonCode) -> &'static str {
    const CODES: [&str; 16] = [
        "invalid_nik\0",
        "unknown_nik\0",
        "deceased\0",
        "duplicate_identity\0",
        "not_enrolled\0",
        "not_eligible\0",
        "civil_servant\0",
        "excluded_by\0",
        "already_claimed\0",
        "wrong_period_kind\0",
        "repeated_in_list\0",
        "invalid_row\0",
        "period_not_open\0",
        "wrong_amount\0",
        "claimed_elsewhere\0",
        "ledger_unreachable\0",
    ];
    CODES.get(r as usize).copied().unwrap_or("\0")
}

/// The store's options from the C struct (NULL: the defaults).
///
/// # Safety
/// `opts` is NULL or points to an initialised `tepat_open_options` whose
/// `today` points to `today_len` readable bytes (or is NULL), whose `key`
/// points to `key_len` readable bytes (or is NULL), and whose
/// `trusted_keys` points to `trusted_keys_len` readable bytes (or is NULL).
unsafe fn open_options(opts: *const tepat_open_options) -> Res<tepat::Options> {
    if opts.is_null() {
        return convert::options(false, None, &[], &[]);
    }
    // SAFETY: the caller's duty stated above.
    let (o, today, key, trusted) = unsafe {
        let o = boundary::input(opts, "options")?;
        (
            o,
            boundary::opt_text(o.today, o.today_len, "options.today")?,
            boundary::bytes(o.key.cast(), o.key_len, "options.key")?,
            boundary::bytes(
                o.trusted_keys.cast(),
                o.trusted_keys_len,
                "options.trusted_keys",
            )?,
        )
    };
    convert::options(o.resident, today, key, trusted)
}

/// Opens the store in the directory `path` (`path_len` bytes of UTF-8).
/// On success `*out` is a handle to close with `tepat_close`; on failure
/// `*out` is NULL. A directory without a store fails with
/// `TEPAT_E_NO_STORE`; a store open in another process with
/// `TEPAT_E_STORE` or `TEPAT_E_CLAIMS_LOG` (the store's lock).
///
/// # Safety
/// `path` points to `path_len` readable bytes; `opts` is NULL or a valid
/// `tepat_open_options`; `out` points to a writable `tepat_store *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_open(
    path: *const c_char,
    path_len: usize,
    opts: *const tepat_open_options,
    out: *mut *mut tepat_store,
) -> tepat_status {
    call(|| {
        // SAFETY: the caller's duties stated above.
        let (out, path, options) = unsafe {
            let out = Out::new(out, "out")?;
            (
                out,
                boundary::text(path, path_len, "path"),
                open_options(opts),
            )
        };
        let opened = path.and_then(|path| {
            let options = options?;
            let dir = Path::new(path);
            if !Store::exists(dir) {
                return Err(Failure::new(
                    tepat_status::TEPAT_E_NO_STORE,
                    format!("no store in {path} (no CURRENT file)"),
                ));
            }
            Ok(Store::open_with(dir, options)?)
        });
        match opened {
            Ok(store) => {
                out.write(boundary::into_raw(tepat_store::new(store)));
                Ok(())
            }
            Err(e) => {
                out.write(std::ptr::null_mut());
                Err(e)
            }
        }
    })
}

/// Creates a store in the directory `path` (created if missing; it must be
/// empty) from the register export (CSV) at `register_csv`, with the
/// built-in programs, and opens it. Eligibility is computed as of `as_of`
/// (`YYYY-MM-DD`; NULL: the first day of the month of the store's date).
/// Rows that cannot be used are listed in `STORE/rejects-000001.csv`;
/// `*ingest` (when not NULL) gets the counts. On success `*out` is a handle
/// to close with `tepat_close`; on failure NULL.
///
/// # Safety
/// Each string points to its length in readable bytes (`as_of` may be
/// NULL); `opts` is NULL or a valid `tepat_open_options`; `out` points to a
/// writable `tepat_store *`; `ingest` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_create(
    path: *const c_char,
    path_len: usize,
    register_csv: *const c_char,
    register_csv_len: usize,
    as_of: *const c_char,
    as_of_len: usize,
    opts: *const tepat_open_options,
    out: *mut *mut tepat_store,
    ingest: *mut tepat_ingest,
) -> tepat_status {
    call(|| {
        // SAFETY: the caller's duties stated above.
        let (out, ingest, args) = unsafe {
            let out = Out::new(out, "out")?;
            let ingest = Out::optional(ingest, "ingest")?;
            let args = (|| {
                Ok((
                    boundary::text(path, path_len, "path")?,
                    boundary::text(register_csv, register_csv_len, "register_csv")?,
                    boundary::opt_text(as_of, as_of_len, "as_of")?,
                    open_options(opts)?,
                ))
            })();
            (out, ingest, args)
        };
        let created = args.and_then(|(path, register, as_of, options)| {
            let as_of = as_of.map(Date::parse_iso).transpose()?;
            crate::create::create_store(Path::new(path), Path::new(register), as_of, options)
        });
        match created {
            Ok((store, report)) => {
                if let Some(ingest) = ingest {
                    ingest.write(tepat_ingest {
                        rows: report.rows,
                        accepted: report.accepted,
                        rejected: report.rejected,
                    });
                }
                out.write(boundary::into_raw(tepat_store::new(store)));
                Ok(())
            }
            Err(e) => {
                out.write(std::ptr::null_mut());
                Err(e)
            }
        }
    })
}

/// Closes a store: flushes and releases it (its lock too). NULL does
/// nothing. The handle must not be used again, by any thread, and no call
/// on it may be running in another thread.
///
/// # Safety
/// `store` is NULL or a handle from `tepat_open` / `tepat_create` not closed
/// before, with no call on it in flight.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_close(store: *mut tepat_store) {
    call(|| {
        // SAFETY: the caller gives the handle up (stated above).
        unsafe { boundary::drop_raw(store) };
        Ok(())
    });
}

/// The number of programs in the store's registry (0 for NULL). Program
/// index `i` is bit `i` of the `eligible`, `enrolled` and `excluded_by`
/// bitsets.
///
/// # Safety
/// `store` is NULL or an open handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_program_count(store: *const tepat_store) -> u32 {
    call_value(0, || {
        // SAFETY: the caller's duty stated above.
        unsafe { boundary::store(store) }.map_or(0, |s| s.programs.len() as u32)
    })
}

/// The code of program `index` (`"PKH"`) into `*code`: owned by the store,
/// NUL-terminated, valid until `tepat_close`. `TEPAT_E_ARGUMENT` for an
/// index past `tepat_program_count`.
///
/// # Safety
/// `store` is NULL or an open handle; `code` points to a writable
/// `tepat_str`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_program_code(
    store: *const tepat_store,
    index: u32,
    code: *mut tepat_str,
) -> tepat_status {
    call(|| {
        // SAFETY: the caller's duties stated above.
        let (store, code) = unsafe { (boundary::store(store)?, Out::new(code, "code")?) };
        let c = store.programs.get(index as usize).ok_or_else(|| {
            Failure::new(
                tepat_status::TEPAT_E_ARGUMENT,
                format!(
                    "program index {index}: the registry has {} programs",
                    store.programs.len()
                ),
            )
        })?;
        code.write(tepat_str::of(c));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_match_the_library() {
        use tepat_reason::*;
        let c = [
            TEPAT_REASON_INVALID_NIK,
            TEPAT_REASON_UNKNOWN_NIK,
            TEPAT_REASON_DECEASED,
            TEPAT_REASON_DUPLICATE_IDENTITY,
            TEPAT_REASON_NOT_ENROLLED,
            TEPAT_REASON_NOT_ELIGIBLE,
            TEPAT_REASON_CIVIL_SERVANT,
            TEPAT_REASON_EXCLUDED_BY,
            TEPAT_REASON_ALREADY_CLAIMED,
            TEPAT_REASON_WRONG_PERIOD_KIND,
            TEPAT_REASON_REPEATED_IN_LIST,
            TEPAT_REASON_INVALID_ROW,
            TEPAT_REASON_PERIOD_NOT_OPEN,
            TEPAT_REASON_WRONG_AMOUNT,
            TEPAT_REASON_CLAIMED_ELSEWHERE,
            TEPAT_REASON_LEDGER_UNREACHABLE,
        ];
        assert_eq!(ReasonCode::ALL.len(), c.len());
        assert_eq!(TEPAT_REASON_COUNT as usize, c.len());
        for (r, c) in ReasonCode::ALL.into_iter().zip(c) {
            assert_eq!(r as u32, c as u32);
            assert_eq!(reason_nul(r), format!("{}\0", r.as_str()));
            let name = format!("{c:?}").to_lowercase();
            assert_eq!(name, format!("tepat_reason_{}", r.as_str()));
        }
    }
}
