//! `tepat._native.Store`: one open store, shared by every Python thread.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use tepat::{ClaimRequest, Date, Options, ProgramSet};
use tepat_ffi::codes::tepat_status;
use tepat_ffi::convert;

use crate::arrow::{self, Column, ColumnArg};
use crate::outcome::{ClaimOutcome, Reversal, Verdict};
use crate::{OrRaise, fail, raise};

/// What `_verify` returns: rows, then the buffers of `payable`,
/// `reason_bits`, the reasons' dictionary indices, and the dictionary.
type VerifiedBuffers<'py> = (
    usize,
    Bound<'py, PyArray1<u8>>,
    Bound<'py, PyArray1<u16>>,
    Bound<'py, PyArray1<i32>>,
    Vec<String>,
);

/// An open store (see `tepat.Store`).
#[pyclass(subclass, frozen, module = "tepat._native")]
pub struct Store {
    inner: ArcSwapOption<tepat::Store>,
    path: PathBuf,
    programs: Arc<[String]>,
    blocking: u16,
}

/// `today` as a store date: a `str` (`YYYY-MM-DD`) or anything with
/// `isoformat()` (`datetime.date`).
fn date_arg(py: Python<'_>, v: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    let Some(v) = v else {
        return Ok(None);
    };
    if let Ok(s) = v.extract::<String>() {
        return Ok(Some(s));
    }
    match v
        .call_method0("isoformat")
        .and_then(|s| s.extract::<String>())
    {
        Ok(s) => Ok(Some(s)),
        Err(_) => Err(fail(
            py,
            tepat_status::TEPAT_E_DATE,
            "a date is a str YYYY-MM-DD or a datetime.date",
        )),
    }
}

/// The store's options from the Python arguments.
fn options_of(
    py: Python<'_>,
    resident: bool,
    today: Option<&Bound<'_, PyAny>>,
    key: Option<&Bound<'_, PyAny>>,
    trusted_keys: Option<&Bound<'_, PyAny>>,
) -> PyResult<Options> {
    let today = date_arg(py, today)?;
    let key = key_arg(py, key)?;
    let trusted = trusted_keys_arg(py, trusted_keys)?;
    convert::options(resident, today.as_deref(), &key, &trusted).or_raise(py)
}

/// The identity key's bytes: `bytes` (16, or a key file's text) or `str`
/// (a key file's text).
fn key_arg(py: Python<'_>, arg: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<u8>> {
    let Some(arg) = arg else {
        return Ok(Vec::new());
    };
    if let Ok(bytes) = arg.cast::<pyo3::types::PyBytes>() {
        use pyo3::types::PyBytesMethods;
        return Ok(bytes.as_bytes().to_vec());
    }
    let text: String = arg.extract().map_err(|_| {
        fail(
            py,
            tepat_status::TEPAT_E_ARGUMENT,
            "key: bytes (16) or the text of a key file (tepat key new)",
        )
    })?;
    Ok(text.into_bytes())
}

/// The trusted keys as concatenated bytes, from `bytes` (32 a key) or a
/// list of `"ed25519:…"` strings (`tepat key new --signing`'s `.pub`).
fn trusted_keys_arg(py: Python<'_>, arg: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<u8>> {
    let Some(arg) = arg else {
        return Ok(Vec::new());
    };
    if let Ok(bytes) = arg.cast::<pyo3::types::PyBytes>() {
        use pyo3::types::PyBytesMethods;
        return Ok(bytes.as_bytes().to_vec());
    }
    let texts: Vec<String> = arg.extract().map_err(|_| {
        fail(
            py,
            tepat_status::TEPAT_E_ARGUMENT,
            "trusted_keys: bytes (32 a key) or a list of \"ed25519:...\" strings",
        )
    })?;
    let mut out = Vec::with_capacity(32 * texts.len());
    for text in texts {
        let key: tepat::snapshot::PublicKey = text.trim().parse().or_raise(py)?;
        out.extend_from_slice(&key.0);
    }
    Ok(out)
}

impl Store {
    /// The open store, or `TEPAT_E_HANDLE` once closed.
    fn open_store(&self, py: Python<'_>) -> PyResult<Arc<tepat::Store>> {
        self.inner.load_full().ok_or_else(|| {
            fail(
                py,
                tepat_status::TEPAT_E_HANDLE,
                format!("the store {} is closed", self.path.display()),
            )
        })
    }

    /// The codes of the programs in a bitset.
    fn codes(&self, set: u32) -> Vec<String> {
        ProgramSet(set)
            .iter()
            .filter_map(|id| self.programs.get(id.index()).cloned())
            .collect()
    }
}

#[pymethods]
impl Store {
    /// Opens the store in the directory `path`.
    #[new]
    #[pyo3(signature = (path, *, resident=false, today=None, key=None, trusted_keys=None))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        resident: bool,
        today: Option<&Bound<'_, PyAny>>,
        key: Option<&Bound<'_, PyAny>>,
        trusted_keys: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Store> {
        let options = options_of(py, resident, today, key, trusted_keys)?;
        if !tepat::Store::exists(&path) {
            return Err(fail(
                py,
                tepat_status::TEPAT_E_NO_STORE,
                format!("no store in {} (no CURRENT file)", path.display()),
            ));
        }
        let opened = py.detach(|| tepat::Store::open_with(&path, options));
        let store = opened.or_raise(py)?;
        let registry = store.registry();
        let programs: Arc<[String]> = registry.programs().iter().map(|p| p.code.clone()).collect();
        let blocking = convert::blocking_mask(&registry) as u16;
        Ok(Store {
            inner: ArcSwapOption::from_pointee(store),
            path,
            programs,
            blocking,
        })
    }

    /// The store's directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The program codes of the store's registry, by index.
    #[getter]
    fn programs(&self) -> Vec<String> {
        self.programs.to_vec()
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.load().is_none()
    }

    /// Closes the store (its lock too) once every call in flight has
    /// returned; later calls raise `tepat.Error` (`TEPAT_E_HANDLE`).
    fn close(&self) {
        self.inner.store(None);
    }

    /// The person's current state as a dict (`found` False when the NIK is
    /// not in the register); `InputError` for a string that is not a NIK.
    fn get<'py>(&self, py: Python<'py>, nik: &str) -> PyResult<Bound<'py, PyDict>> {
        let store = self.open_store(py)?;
        let person = convert::person(&store, nik).or_raise(py)?;
        let d = PyDict::new(py);
        d.set_item("nik", nik)?;
        d.set_item("found", person.is_some())?;
        let Some(p) = person else {
            return Ok(d);
        };
        d.set_item("kk", convert::digits16(p.kk))?;
        d.set_item("relation", p.relation)?;
        d.set_item("village_code", format!("{:010}", p.village_code))?;
        d.set_item("village", p.village)?;
        d.set_item("sex", if p.female { "F" } else { "M" })?;
        d.set_item("birth_date", p.birth_date.map(|b: Date| b.to_string()))?;
        d.set_item("decile", p.decile)?;
        d.set_item("deceased", p.deceased)?;
        d.set_item("civil_servant", p.civil_servant)?;
        d.set_item("duplicate", p.duplicate)?;
        let components: Vec<&str> = p.components.iter().map(|c| c.name()).collect();
        d.set_item("components", components)?;
        d.set_item("eligible", self.codes(p.eligible))?;
        d.set_item("enrolled", self.codes(p.enrolled))?;
        d.set_item("pending", p.pending)?;
        Ok(d)
    }

    /// May this NIK be paid this program for this period? Every reason, as
    /// a `Verdict`. An invalid or unknown NIK is a verdict; an unknown
    /// program or a period that does not parse raises `InputError`.
    fn check(&self, py: Python<'_>, nik: &str, program: &str, period: &str) -> PyResult<Verdict> {
        let store = self.inner.load();
        let Some(store) = store.as_ref() else {
            return Err(self
                .open_store(py)
                .err()
                .unwrap_or_else(|| fail(py, tepat_status::TEPAT_E_HANDLE, "the store is closed")));
        };
        let v = store.check_str(nik, program, period).or_raise(py)?;
        Ok(Verdict::new(v, self.blocking, self.programs.clone()))
    }

    /// Checks and records a payout in one step, durably, with the GIL
    /// released. Idempotent by `request_id`; the same id with other content
    /// raises `RequestConflict`.
    #[pyo3(signature = (request_id, nik, program, period, *, amount=None, operator=String::new(), meta=String::new()))]
    #[allow(clippy::too_many_arguments)]
    fn claim(
        &self,
        py: Python<'_>,
        request_id: String,
        nik: String,
        program: String,
        period: String,
        amount: Option<u64>,
        operator: String,
        meta: String,
    ) -> PyResult<ClaimOutcome> {
        let store = self.open_store(py)?;
        let req = ClaimRequest {
            request_id,
            nik,
            program,
            period,
            amount,
            operator,
            meta,
        };
        let outcome = py.detach(|| store.claim(&req)).or_raise(py)?;
        ClaimOutcome::new(py, outcome, self.blocking, self.programs.clone())
    }

    /// Reverses a paid claim (by its request id `original`) with a new
    /// request, durably, with the GIL released. Idempotent by
    /// `request_id`.
    #[pyo3(signature = (request_id, original, reason=String::new()))]
    fn reverse(
        &self,
        py: Python<'_>,
        request_id: String,
        original: String,
        reason: String,
    ) -> PyResult<Reversal> {
        let store = self.open_store(py)?;
        let outcome = py
            .detach(|| store.reverse(&request_id, &original, &reason))
            .or_raise(py)?;
        Ok(Reversal::new(outcome))
    }

    /// Verifies a payee list given as Arrow buffers (see
    /// `tepat.Store.verify_batch`), with the GIL released: `(rows,
    /// payable, reason_bits, reason_index, dictionary)`, the verdict
    /// columns' buffers.
    #[pyo3(signature = (niks, programs, periods, threads=0))]
    fn _verify<'py>(
        &self,
        py: Python<'py>,
        niks: ColumnArg<'py>,
        programs: ColumnArg<'py>,
        periods: ColumnArg<'py>,
        threads: usize,
    ) -> PyResult<VerifiedBuffers<'py>> {
        let store = self.open_store(py)?;
        let cols = [
            Column::of(&niks),
            Column::of(&programs),
            Column::of(&periods),
        ];
        let lens: Vec<usize> = cols.iter().filter_map(Column::len).collect();
        let rows = lens.first().copied().unwrap_or(1);
        if lens.iter().any(|n| *n != rows) {
            return Err(fail(
                py,
                tepat_status::TEPAT_E_ARGUMENT,
                format!("the columns have different lengths: {lens:?}"),
            ));
        }
        let verified =
            py.detach(|| arrow::verify(&store, [&cols[0], &cols[1], &cols[2]], rows, threads));
        let b = verified.map_err(|f| raise(py, f))?;
        // The vectors become the arrays' memory (no copy).
        Ok((
            rows,
            b.payable.into_pyarray(py),
            b.bits.into_pyarray(py),
            b.index.into_pyarray(py),
            b.dictionary,
        ))
    }

    /// One report's columns (see `tepat.Store.report`), counted with the
    /// GIL released: `[(name, values)]`.
    #[pyo3(signature = (kind, by="province", threads=0))]
    fn _report<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        by: &str,
        threads: usize,
    ) -> PyResult<Vec<(String, Bound<'py, PyList>)>> {
        let store = self.open_store(py)?;
        let report = py
            .detach(|| tepat_ffi::api_batch::report_of(&store, kind, by, threads))
            .or_raise(py)?;
        let header = report.csv_header();
        let names: Vec<&str> = header.split(',').collect();
        let keys = report.key_columns.len();
        let mut out = Vec::with_capacity(names.len());
        let rows = &report.rows;
        let text = |f: &dyn Fn(&tepat::report::Row) -> String| -> PyResult<Bound<'py, PyList>> {
            PyList::new(py, rows.iter().map(f))
        };
        out.push((names[0].to_owned(), text(&|r| r.region_code.clone())?));
        out.push((names[1].to_owned(), text(&|r| r.region.clone())?));
        for k in 0..keys {
            let name = names.get(2 + k).copied().unwrap_or("key");
            out.push((
                name.to_owned(),
                text(&|r| r.keys.get(k).cloned().unwrap_or_default())?,
            ));
        }
        let counts = names.get(2 + keys).copied().unwrap_or("persons");
        out.push((
            counts.to_owned(),
            PyList::new(py, rows.iter().map(|r| r.persons))?,
        ));
        if report.has_families {
            out.push((
                "families".to_owned(),
                PyList::new(py, rows.iter().map(|r| r.families))?,
            ));
        }
        Ok(out)
    }
}

/// Creates a store in `path` from the register export `register` (CSV),
/// eligibility as of `as_of`; returns `(rows, accepted, rejected)`. The
/// store is closed again: `tepat.Store.create` opens it.
#[pyfunction]
#[pyo3(signature = (path, register, *, as_of=None, today=None, key=None))]
pub(crate) fn create_store(
    py: Python<'_>,
    path: PathBuf,
    register: PathBuf,
    as_of: Option<&Bound<'_, PyAny>>,
    today: Option<&Bound<'_, PyAny>>,
    key: Option<&Bound<'_, PyAny>>,
) -> PyResult<(u64, u64, u64)> {
    // Options first: a key that is no key is refused before anything is
    // written (a keyed creation keeps no rejects file).
    let options = options_of(py, false, today, key, None)?;
    let as_of = date_arg(py, as_of)?
        .map(|d| Date::parse_iso(&d))
        .transpose()
        .or_raise(py)?;
    let created = py.detach(|| tepat_ffi::create::create_store(&path, &register, as_of, options));
    let (store, report) = created.or_raise(py)?;
    drop(store);
    Ok((report.rows, report.accepted, report.rejected))
}
