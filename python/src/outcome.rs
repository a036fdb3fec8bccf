//! The answers: `Verdict`, `ClaimOutcome`, `Reversal`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple};

use tepat::verdict::ClaimInfo;
use tepat::{ReasonCode, Verdict as RustVerdict};

/// The reason codes as Python strings, made once.
fn reason_strings(py: Python<'_>) -> &[Py<PyString>] {
    static CODES: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();
    CODES.get_or_init(py, || {
        ReasonCode::ALL
            .iter()
            .map(|r| PyString::intern(py, r.as_str()).unbind())
            .collect()
    })
}

/// A bool as Python writes it.
fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// A string as Python's `repr` writes a plain one (request ids have no
/// control characters).
fn py_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The codes of the reasons in `bits`, in order, as a tuple.
fn codes_tuple(py: Python<'_>, bits: u16) -> PyResult<Bound<'_, PyTuple>> {
    if bits == 0 {
        return Ok(PyTuple::empty(py));
    }
    let all = reason_strings(py);
    let codes: Vec<&Py<PyString>> = (0..all.len())
        .filter(|r| bits >> r & 1 == 1)
        .filter_map(|r| all.get(r))
        .collect();
    PyTuple::new(py, codes)
}

/// May this NIK be paid this program for this period: `payable`, and every
/// reason that applies as its stable code (`reasons`).
#[pyclass(frozen, module = "tepat")]
pub struct Verdict {
    /// No blocking reason applies.
    #[pyo3(get)]
    payable: bool,
    bits: u16,
    blocking_mask: u16,
    excluded_by: Vec<usize>,
    claimed: Option<ClaimInfo>,
    programs: Arc<[String]>,
}

impl Verdict {
    /// The Python verdict of a library verdict.
    pub(crate) fn new(v: RustVerdict, blocking_mask: u16, programs: Arc<[String]>) -> Verdict {
        Verdict {
            payable: v.payable,
            bits: v.reasons.0,
            blocking_mask,
            excluded_by: v.conflicts.iter().map(|c| c.program.index()).collect(),
            claimed: v.claimed,
            programs,
        }
    }
}

#[pymethods]
impl Verdict {
    /// Every reason that applies, as stable codes (`("not_enrolled",)`),
    /// in the order of `tepat.REASON_CODES`.
    #[getter]
    fn reasons<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        codes_tuple(py, self.bits)
    }

    /// The reasons that block payment (the others only warn).
    #[getter]
    fn blocking<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        codes_tuple(py, self.bits & self.blocking_mask)
    }

    /// The reasons as a bitset: bit `r` for `tepat.REASON_CODES[r]`.
    #[getter]
    fn reason_bits(&self) -> u16 {
        self.bits
    }

    /// For `excluded_by`: the codes of the programs whose enrolment
    /// excludes this one.
    #[getter]
    fn excluded_by(&self) -> Vec<String> {
        self.excluded_by
            .iter()
            .filter_map(|i| self.programs.get(*i).cloned())
            .collect()
    }

    /// For `already_claimed`: the earlier claim (`request_id`, `nik`, `kk`,
    /// `at_ms`), or `None`.
    #[getter]
    fn claimed<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(c) = &self.claimed else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("request_id", &c.request_id)?;
        d.set_item(
            "nik",
            (c.nik != 0).then(|| tepat::nik::identity_text(c.nik)),
        )?;
        d.set_item("kk", c.kk.map(tepat::nik::identity_text))?;
        d.set_item("at_ms", c.at_ms)?;
        Ok(Some(d))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let reasons: Vec<String> = codes_tuple(py, self.bits)?
            .iter()
            .map(|c| format!("{c:?}"))
            .collect();
        let comma = if reasons.len() == 1 { "," } else { "" };
        Ok(format!(
            "Verdict(payable={}, reasons=({}{comma}))",
            py_bool(self.payable),
            reasons.join(", ")
        ))
    }
}

/// What a claim did: `paid`, `replayed` (a retry answered from the first
/// outcome), `reversed_by` (the reversal of a claim since), `amount` and
/// `entitled` (rupiah), `verdict`.
#[pyclass(frozen, module = "tepat")]
pub struct ClaimOutcome {
    /// The request id.
    #[pyo3(get)]
    request_id: String,
    /// The payout was recorded, durably.
    #[pyo3(get)]
    paid: bool,
    /// A retry, answered from the first outcome.
    #[pyo3(get)]
    replayed: bool,
    /// The request that reversed this claim since, if any: do not pay a
    /// reversed claim out again.
    #[pyo3(get)]
    reversed_by: Option<String>,
    /// The amount recorded, in rupiah: as stated, else the entitlement.
    #[pyo3(get)]
    amount: Option<u64>,
    /// The program's entitlement for this payee and period, in rupiah.
    #[pyo3(get)]
    entitled: Option<u64>,
    /// The verdict the claim was decided on.
    #[pyo3(get)]
    verdict: Py<Verdict>,
}

impl ClaimOutcome {
    /// The outcome's Python object.
    pub(crate) fn new(
        py: Python<'_>,
        o: tepat::ClaimOutcome,
        blocking_mask: u16,
        programs: Arc<[String]>,
    ) -> PyResult<ClaimOutcome> {
        Ok(ClaimOutcome {
            request_id: o.request_id,
            paid: o.paid,
            replayed: o.replayed,
            reversed_by: o.reversed.map(|r| r.request_id),
            amount: o.amount,
            entitled: o.entitled,
            verdict: Py::new(py, Verdict::new(o.verdict, blocking_mask, programs))?,
        })
    }
}

#[pymethods]
impl ClaimOutcome {
    fn __repr__(&self) -> String {
        format!(
            "ClaimOutcome(request_id={}, paid={}, replayed={}, reversed_by={})",
            py_str(&self.request_id),
            py_bool(self.paid),
            py_bool(self.replayed),
            self.reversed_by
                .as_deref()
                .map_or("None".to_owned(), py_str)
        )
    }
}

/// What a reversal did.
#[pyclass(frozen, module = "tepat")]
pub struct Reversal {
    /// The reversal's request id.
    #[pyo3(get)]
    request_id: String,
    /// The reversed claim's request id.
    #[pyo3(get)]
    reversed: String,
    /// A retry, answered from the first outcome.
    #[pyo3(get)]
    replayed: bool,
}

impl Reversal {
    /// The reversal's Python object.
    pub(crate) fn new(o: tepat::store::ReverseOutcome) -> Reversal {
        Reversal {
            request_id: o.request_id,
            reversed: o.reversed,
            replayed: o.replayed,
        }
    }
}

#[pymethods]
impl Reversal {
    fn __repr__(&self) -> String {
        format!(
            "Reversal(request_id={}, reversed={}, replayed={})",
            py_str(&self.request_id),
            py_str(&self.reversed),
            py_bool(self.replayed)
        )
    }
}
