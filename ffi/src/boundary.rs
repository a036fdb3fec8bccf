//! The boundary: every raw pointer the C caller hands in becomes a checked
//! Rust value here, every call runs under [`call`] (no panic crosses the
//! boundary), and the thread's last error lives here.
//!
//! This is the only module with `unsafe` code. Each helper states the
//! caller's duty it relies on (`# Safety`), and each `unsafe` block names
//! what makes it sound (`// SAFETY:`). The public functions pass their
//! arguments here under the contract documented on each of them.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use crate::codes::{Failure, tepat_status};
use crate::types::{tepat_store, tepat_str};

/// A call's result inside the library.
pub(crate) type Res<T> = Result<T, Failure>;

thread_local! {
    /// The last failure of this thread: status and NUL-terminated message;
    /// `None` after a success (a constant initialiser: no lazy set-up on
    /// the hot path).
    static LAST: RefCell<Option<(tepat_status, CString)>> = const { RefCell::new(None) };
}

/// Runs one C call: a panic becomes `TEPAT_E_PANIC`, a failure is recorded
/// as the thread's last error, a success clears it.
#[inline]
pub(crate) fn call(f: impl FnOnce() -> Res<()>) -> tepat_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            clear_last();
            tepat_status::TEPAT_OK
        }
        Ok(Err(failure)) => failed(failure),
        Err(panic) => panicked(panic),
    }
}

/// Records a failure as the thread's last error.
#[cold]
#[inline(never)]
fn failed(failure: Failure) -> tepat_status {
    set_last(&failure);
    failure.status
}

/// Records a caught panic as the thread's last error.
#[cold]
#[inline(never)]
fn panicked(panic: Box<dyn std::any::Any + Send>) -> tepat_status {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    failed(Failure::new(
        tepat_status::TEPAT_E_PANIC,
        format!("internal error (a bug in tepat, please report it): {what}"),
    ))
}

/// Runs a call that returns a value rather than a status (counts, names):
/// a panic gives `fallback`.
pub(crate) fn call_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

fn set_last(failure: &Failure) {
    // A message never holds a NUL of its own (inputs are quoted with
    // escapes); replace one anyway rather than lose the message.
    let text = failure.message.replace('\0', "\u{fffd}");
    let message = CString::new(text).unwrap_or_default();
    // Ignore a thread whose locals are being torn down.
    let _ = LAST.try_with(|last| *last.borrow_mut() = Some((failure.status, message)));
}

#[inline]
fn clear_last() {
    let _ = LAST.try_with(|last| {
        if last.borrow().is_some() {
            *last.borrow_mut() = None;
        }
    });
}

/// The status of this thread's last call.
pub(crate) fn last_status() -> tepat_status {
    LAST.try_with(|last| last.borrow().as_ref().map(|l| l.0))
        .ok()
        .flatten()
        .unwrap_or(tepat_status::TEPAT_OK)
}

/// This thread's last message: a pointer that stays valid until the next
/// call into the library on this thread, and its length.
pub(crate) fn last_message() -> (*const c_char, usize) {
    LAST.try_with(|last| {
        // The CString lives in the thread-local until the next failure
        // or success replaces it.
        last.borrow()
            .as_ref()
            .map(|(_, m)| (m.as_ptr(), m.as_bytes().len()))
    })
    .ok()
    .flatten()
    .unwrap_or((c"".as_ptr(), 0))
}

#[cold]
#[inline(never)]
fn null(what: &str) -> Failure {
    Failure::new(tepat_status::TEPAT_E_NULL, format!("{what} is NULL"))
}

/// The bytes at `ptr`, `len` of them; NULL with length 0 is empty.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes that stay valid and
/// unchanged until the call returns.
#[inline]
pub(crate) unsafe fn bytes<'a>(ptr: *const c_char, len: usize, what: &str) -> Res<&'a [u8]> {
    if ptr.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(null(what)) };
    }
    if len > isize::MAX as usize {
        return Err(too_long(what, len));
    }
    // SAFETY: non-NULL, `len` fits an isize, and the caller guarantees
    // `len` readable bytes there for the duration of the call; u8 has no
    // alignment and every bit pattern is valid.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// The UTF-8 string at `ptr`, `len` bytes (no NUL needed).
///
/// # Safety
/// As for [`bytes`].
#[inline]
pub(crate) unsafe fn text<'a>(ptr: *const c_char, len: usize, what: &str) -> Res<&'a str> {
    // SAFETY: the caller's duty is the one `bytes` states.
    let b = unsafe { bytes(ptr, len, what)? };
    std::str::from_utf8(b).map_err(|e| not_utf8(what, e))
}

#[cold]
#[inline(never)]
fn too_long(what: &str, len: usize) -> Failure {
    Failure::new(
        tepat_status::TEPAT_E_ARGUMENT,
        format!("{what}: length {len} is too large"),
    )
}

#[cold]
#[inline(never)]
fn not_utf8(what: &str, e: std::str::Utf8Error) -> Failure {
    Failure::new(
        tepat_status::TEPAT_E_UTF8,
        format!("{what} is not UTF-8: {e}"),
    )
}

/// The UTF-8 string a [`tepat_str`] describes.
///
/// # Safety
/// `s.ptr` is NULL or points to `s.len` readable bytes that stay valid and
/// unchanged until the call returns.
#[inline]
pub(crate) unsafe fn str_of<'a>(s: &tepat_str, what: &str) -> Res<&'a str> {
    // SAFETY: the caller's duty is the one `bytes` states.
    unsafe { text(s.ptr, s.len, what) }
}

/// An optional string: NULL is `None`.
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn opt_text<'a>(
    ptr: *const c_char,
    len: usize,
    what: &str,
) -> Res<Option<&'a str>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's duty is the one `bytes` states.
    unsafe { text(ptr, len, what).map(Some) }
}

/// A reference to the value at `ptr`.
///
/// # Safety
/// `ptr` is NULL or points to an initialised `T` that stays valid and
/// unchanged until the call returns.
#[inline]
pub(crate) unsafe fn input<'a, T>(ptr: *const T, what: &str) -> Res<&'a T> {
    if ptr.is_null() {
        return Err(null(what));
    }
    aligned(ptr, what)?;
    // SAFETY: non-NULL, aligned, and the caller guarantees an initialised
    // T there for the call.
    Ok(unsafe { &*ptr })
}

/// `n` values at `ptr`; NULL with `n` 0 is empty.
///
/// # Safety
/// `ptr` is NULL or points to `n` initialised `T`s that stay valid and
/// unchanged until the call returns.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, n: usize, what: &str) -> Res<&'a [T]> {
    if ptr.is_null() {
        return if n == 0 { Ok(&[]) } else { Err(null(what)) };
    }
    aligned(ptr, what)?;
    fits::<T>(n, what)?;
    // SAFETY: non-NULL, aligned, the size fits an isize, and the caller
    // guarantees `n` initialised Ts there for the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) })
}

/// `n` writable places at `ptr`, possibly uninitialised.
///
/// # Safety
/// `ptr` is NULL or points to `n` writable `T`s that nothing else reads or
/// writes until the call returns.
pub(crate) unsafe fn out_slice<'a, T>(
    ptr: *mut T,
    n: usize,
    what: &str,
) -> Res<&'a mut [MaybeUninit<T>]> {
    if ptr.is_null() {
        return if n == 0 { Ok(&mut []) } else { Err(null(what)) };
    }
    aligned(ptr.cast_const(), what)?;
    fits::<T>(n, what)?;
    // SAFETY: non-NULL, aligned, the size fits an isize, the caller
    // guarantees exclusive writable memory for `n` Ts; `MaybeUninit` makes
    // no claim that it is initialised.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<MaybeUninit<T>>(), n) })
}

#[inline]
fn aligned<T>(ptr: *const T, what: &str) -> Res<()> {
    if ptr.is_aligned() {
        Ok(())
    } else {
        Err(misaligned(what))
    }
}

#[cold]
#[inline(never)]
fn misaligned(what: &str) -> Failure {
    Failure::new(
        tepat_status::TEPAT_E_ARGUMENT,
        format!("{what} is not aligned for its type"),
    )
}

fn fits<T>(n: usize, what: &str) -> Res<()> {
    match n.checked_mul(std::mem::size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(Failure::new(
            tepat_status::TEPAT_E_ARGUMENT,
            format!("{what}: {n} elements are too many"),
        )),
    }
}

/// A place for one result: checked when the call starts, written once at
/// its end. (Never read before it is written: the caller's memory may be
/// uninitialised.)
pub(crate) struct Out<'a, T>(NonNull<T>, std::marker::PhantomData<&'a mut T>);

impl<'a, T> Out<'a, T> {
    /// The place at `ptr`.
    ///
    /// # Safety
    /// `ptr` is NULL or points to a writable `T` that nothing else reads or
    /// writes until the call returns.
    #[inline]
    pub(crate) unsafe fn new(ptr: *mut T, what: &str) -> Res<Out<'a, T>> {
        let p = NonNull::new(ptr).ok_or_else(|| null(what))?;
        aligned(ptr.cast_const(), what)?;
        Ok(Out(p, std::marker::PhantomData))
    }

    /// An optional place: NULL is `None`.
    ///
    /// # Safety
    /// As for [`Out::new`].
    pub(crate) unsafe fn optional(ptr: *mut T, what: &str) -> Res<Option<Out<'a, T>>> {
        if ptr.is_null() {
            return Ok(None);
        }
        // SAFETY: the caller's duty is the one `Out::new` states.
        unsafe { Out::new(ptr, what).map(Some) }
    }

    /// Writes the result (the old contents are not read or dropped).
    #[inline]
    pub(crate) fn write(self, value: T) {
        // SAFETY: `Out::new` checked the pointer non-NULL and aligned, and
        // its caller guaranteed it writable and exclusive for the call.
        unsafe { self.0.as_ptr().write(value) }
    }

    /// Writes `value` (a constant, say) and lends the now initialised
    /// place for the rest of the call: fields are then set in place,
    /// without building the whole result on the stack and copying it.
    #[inline]
    pub(crate) fn init(self, value: T) -> &'a mut T {
        let p = self.0.as_ptr();
        // SAFETY: as for `write`; after it the place holds a valid T, and
        // the caller's exclusive use for the call makes the borrow unique.
        unsafe {
            p.write(value);
            &mut *p
        }
    }
}

/// The store behind a handle.
///
/// # Safety
/// `ptr` is NULL or a handle from `tepat_open` / `tepat_create` that has not
/// been closed, and is not closed until the call returns.
#[inline]
pub(crate) unsafe fn store<'a>(ptr: *const tepat_store) -> Res<&'a tepat_store> {
    // SAFETY: the caller's duty: a live handle, so an initialised store.
    let handle = unsafe { input(ptr, "the store handle")? };
    if handle.is_live() {
        Ok(handle)
    } else {
        Err(not_a_store())
    }
}

#[cold]
#[inline(never)]
fn not_a_store() -> Failure {
    Failure::new(
        tepat_status::TEPAT_E_HANDLE,
        "the store handle is not an open store",
    )
}

/// Moves a handle to the heap and hands its pointer to C.
pub(crate) fn into_raw<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back a heap value handed out by [`into_raw`] and drops it; NULL
/// does nothing.
///
/// # Safety
/// `ptr` is NULL or came from [`into_raw`] for this `T` and is not used
/// again (by any thread) after this call.
pub(crate) unsafe fn drop_raw<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: the pointer came from `Box::into_raw` of a `Box<T>`, and
        // the caller gives up every other use of it.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = call(|| panic!("boom at the counter"));
        assert_eq!(status, tepat_status::TEPAT_E_PANIC);
        assert_eq!(last_status(), tepat_status::TEPAT_E_PANIC);
        let (ptr, len) = last_message();
        // SAFETY: the pointer is this thread's message, valid until the
        // next call, and `len` bytes long.
        let text = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
        assert!(String::from_utf8_lossy(text).contains("boom at the counter"));
        // A success clears it.
        assert_eq!(call(|| Ok(())), tepat_status::TEPAT_OK);
        assert_eq!(last_status(), tepat_status::TEPAT_OK);
        assert_eq!(last_message().1, 0);
    }

    #[test]
    fn the_last_error_is_per_thread() {
        let failed = call(|| Err(Failure::new(tepat_status::TEPAT_E_PERIOD, "here")));
        assert_eq!(failed, tepat_status::TEPAT_E_PERIOD);
        let there = std::thread::spawn(last_status).join().ok();
        assert_eq!(there, Some(tepat_status::TEPAT_OK));
        assert_eq!(last_status(), tepat_status::TEPAT_E_PERIOD);
    }

    #[test]
    fn null_and_misaligned_pointers_are_refused() {
        // SAFETY: NULL pointers and a misaligned one that is never read.
        unsafe {
            assert!(bytes(std::ptr::null(), 0, "x").is_ok_and(<[u8]>::is_empty));
            assert_eq!(
                bytes(std::ptr::null(), 1, "x").map_err(|f| f.status),
                Err(tepat_status::TEPAT_E_NULL)
            );
            let words = [0u64; 2];
            let odd = words.as_ptr().cast::<u8>().wrapping_add(1).cast::<u64>();
            assert_eq!(
                input(odd, "x").map(|_| ()).map_err(|f| f.status),
                Err(tepat_status::TEPAT_E_ARGUMENT)
            );
            assert_eq!(
                text(c"\xff".as_ptr(), 1, "x")
                    .map(|_| ())
                    .map_err(|f| f.status),
                Err(tepat_status::TEPAT_E_UTF8)
            );
        }
    }
}
