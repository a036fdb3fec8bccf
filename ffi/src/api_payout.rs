//! At the counter: a person's state, a verdict, a claim, a reversal.

use std::ffi::c_char;

use tepat::ClaimRequest;

use crate::boundary::{self, Out, call};
use crate::codes::tepat_status;
use crate::convert::{self, put};
use crate::types::{
    tepat_claim_outcome, tepat_claim_request, tepat_person, tepat_reverse_outcome, tepat_store,
    tepat_verdict,
};

/// The current state of the person with this NIK into `*out`: the
/// snapshot's record, or the pending state when a change was applied
/// since. A NIK not in the register gives `TEPAT_OK` with `found` false; a
/// string that is not a valid NIK gives `TEPAT_E_NIK` (and `*out` is left
/// as it was).
///
/// # Safety
/// `store` is NULL or an open handle; `nik` points to `nik_len` readable
/// bytes; `out` points to a writable `tepat_person`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_get(
    store: *const tepat_store,
    nik: *const c_char,
    nik_len: usize,
    out: *mut tepat_person,
) -> tepat_status {
    call(|| {
        // SAFETY: the caller's duties stated above.
        let (store, nik, out) = unsafe {
            (
                boundary::store(store)?,
                boundary::text(nik, nik_len, "nik")?,
                Out::new(out, "out")?,
            )
        };
        let person = convert::person(&store.store, nik)?;
        out.write(convert::person_struct(person.as_ref()));
        Ok(())
    })
}

/// May this NIK be paid this program for this period? Every reason into
/// `*out`. A NIK that is not valid, or not in the register, is a verdict
/// (`invalid_nik`, `unknown_nik`); an unknown program is
/// `TEPAT_E_PROGRAM`, a period that does not parse `TEPAT_E_PERIOD`.
///
/// # Safety
/// `store` is NULL or an open handle; each string points to its length in
/// readable bytes; `out` points to a writable `tepat_verdict`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_check(
    store: *const tepat_store,
    nik: *const c_char,
    nik_len: usize,
    program: *const c_char,
    program_len: usize,
    period: *const c_char,
    period_len: usize,
    out: *mut tepat_verdict,
) -> tepat_status {
    call(|| {
        // SAFETY: the caller's duties stated above.
        let (store, nik, program, period, out) = unsafe {
            (
                boundary::store(store)?,
                boundary::text(nik, nik_len, "nik")?,
                boundary::text(program, program_len, "program")?,
                boundary::text(period, period_len, "period")?,
                Out::new(out, "out")?,
            )
        };
        let v = store.store.check_str(nik, program, period)?;
        convert::fill_verdict(out.init(tepat_verdict::EMPTY), &v, store.blocking);
        Ok(())
    })
}

/// Checks and records a payout in one step into `*out`; durable before it
/// returns. A refusal is `TEPAT_OK` with `paid` false and the verdict's
/// reasons. Idempotent by request id: a retry (the same request) gets the
/// first outcome with `replayed` true, also after a restart; the same id
/// with other content fails with `TEPAT_E_REQUEST_CONFLICT`.
///
/// # Safety
/// `store` is NULL or an open handle; `req` points to a valid
/// `tepat_claim_request` whose strings point to their lengths in readable
/// bytes; `out` points to a writable `tepat_claim_outcome`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_claim(
    store: *const tepat_store,
    req: *const tepat_claim_request,
    out: *mut tepat_claim_outcome,
) -> tepat_status {
    call(|| {
        // SAFETY: the caller's duties stated above.
        let (store, out, r) = unsafe {
            let store = boundary::store(store)?;
            let out = Out::new(out, "out")?;
            let r = boundary::input(req, "req")?;
            let text = |s, what| boundary::str_of(s, what).map(str::to_owned);
            let request = ClaimRequest {
                request_id: text(&r.request_id, "req.request_id")?,
                nik: text(&r.nik, "req.nik")?,
                program: text(&r.program, "req.program")?,
                period: text(&r.period, "req.period")?,
                amount: r.has_amount.then_some(r.amount),
                operator: text(&r.operator_id, "req.operator_id")?,
                meta: text(&r.meta, "req.meta")?,
            };
            (store, out, request)
        };
        let outcome = store.store.claim(&r)?;
        let o = out.init(tepat_claim_outcome {
            paid: outcome.paid,
            replayed: outcome.replayed,
            reversed: outcome.reversed.is_some(),
            reversed_by: [0; 129],
            has_amount: outcome.amount.is_some(),
            amount: outcome.amount.unwrap_or(0),
            has_entitled: outcome.entitled.is_some(),
            entitled: outcome.entitled.unwrap_or(0),
            verdict: tepat_verdict::EMPTY,
        });
        let by = outcome
            .reversed
            .as_ref()
            .map_or("", |r| r.request_id.as_str());
        put(&mut o.reversed_by, by);
        convert::fill_verdict(&mut o.verdict, &outcome.verdict, store.blocking);
        Ok(())
    })
}

/// Reverses a paid claim (a failed disbursement) by a new request
/// `request_id` naming the claim's request id `original`, with a reason;
/// durable before it returns, idempotent by request id. `out` may be NULL.
/// An unknown claim, one that did not pay, or one already reversed fails
/// with `TEPAT_E_REQUEST`; a reused id with other content with
/// `TEPAT_E_REQUEST_CONFLICT`.
///
/// # Safety
/// `store` is NULL or an open handle; each string points to its length in
/// readable bytes; `out` is NULL or points to a writable
/// `tepat_reverse_outcome`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tepat_reverse(
    store: *const tepat_store,
    request_id: *const c_char,
    request_id_len: usize,
    original: *const c_char,
    original_len: usize,
    reason: *const c_char,
    reason_len: usize,
    out: *mut tepat_reverse_outcome,
) -> tepat_status {
    call(|| {
        // SAFETY: the caller's duties stated above.
        let (store, request_id, original, reason, out) = unsafe {
            (
                boundary::store(store)?,
                boundary::text(request_id, request_id_len, "request_id")?,
                boundary::text(original, original_len, "original")?,
                boundary::text(reason, reason_len, "reason")?,
                Out::optional(out, "out")?,
            )
        };
        let outcome = store.store.reverse(request_id, original, reason)?;
        if let Some(out) = out {
            out.write(tepat_reverse_outcome {
                replayed: outcome.replayed,
            });
        }
        Ok(())
    })
}
