//! `tepat._native`: the Rust side of the Python package `tepat`. The
//! public API is `tepat.Store` (python/tepat/__init__.py subclasses the
//! native class to add the pyarrow conversions), `tepat.Verdict`,
//! `tepat.ClaimOutcome`, `tepat.Reversal` and the exceptions under
//! `tepat.Error`.
//!
//! Every failure is raised as the exception class for its status code (the
//! C ABI's codes, `tepat_ffi::codes`), made by `tepat._errors.error_for`.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use tepat_ffi::codes::{Failure, tepat_status};

mod arrow;
mod outcome;
mod store;

/// The exception for a failure: `tepat._errors.error_for(code, name,
/// message)` builds an instance of the subclass of `tepat.Error` for the
/// code.
pub(crate) fn raise(py: Python<'_>, f: Failure) -> PyErr {
    static ERROR_FOR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let made = ERROR_FOR
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("tepat._errors")?.getattr("error_for")?.unbind())
        })
        .and_then(|f_| {
            f_.bind(py)
                .call1((f.status as i32, f.status.name(), f.message.as_str()))
        });
    match made {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}

/// A failure with a status and message, raised.
pub(crate) fn fail(py: Python<'_>, status: tepat_status, message: impl Into<String>) -> PyErr {
    raise(py, Failure::new(status, message))
}

/// Lifts library and boundary errors into Python exceptions.
pub(crate) trait OrRaise<T> {
    /// The value, or the exception for the error.
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T, E: Into<Failure>> OrRaise<T> for Result<T, E> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| raise(py, e.into()))
    }
}

/// The reason codes in bit order (`reason_bits` bit `r` is `REASON_CODES[r]`).
fn reason_codes() -> Vec<&'static str> {
    tepat::ReasonCode::ALL.iter().map(|r| r.as_str()).collect()
}

/// The status codes and their names, as `{code: name}`.
fn status_codes() -> Vec<(i32, &'static str)> {
    tepat_status::all()
        .iter()
        .map(|s| (*s as i32, s.name()))
        .collect()
}

/// The module `tepat._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<store::Store>()?;
    m.add_class::<outcome::Verdict>()?;
    m.add_class::<outcome::ClaimOutcome>()?;
    m.add_class::<outcome::Reversal>()?;
    m.add_function(wrap_pyfunction!(store::create_store, m)?)?;
    m.add("REASON_CODES", reason_codes())?;
    m.add("STATUS_CODES", status_codes())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
