"""tepat: may this NIK be paid this program for this period? -- and the
payout recorded so that nobody is paid twice.

    >>> import tepat
    >>> store = tepat.Store("store", today="2026-11-15")
    >>> v = store.check("3201015708900001", "PKH", "2026-Q4")
    >>> v.payable, v.reasons
    (True, ())
    >>> store.claim("POS-40111-000123", "3201015708900001", "PKH", "2026-Q4").paid
    True

A ``Store`` is one open store directory; one process holds it (the store's
lock) and every thread of that process may use the same ``Store`` at once.
Claims, reversals, batches and reports release the GIL. NIKs are ``str``
everywhere (Papua's NIKs exceed 2**53). Every failure raises a subclass of
``tepat.Error`` carrying the C ABI's status ``code``. See docs/EMBEDDING.md.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Union

from . import _native
from ._errors import (
    Error,
    InputError,
    InternalError,
    NotSupported,
    RequestConflict,
    RequestError,
    StoreError,
)
from ._native import ClaimOutcome, Reversal, Verdict

__all__ = [
    "Store",
    "Verdict",
    "ClaimOutcome",
    "Reversal",
    "Error",
    "InputError",
    "RequestError",
    "RequestConflict",
    "StoreError",
    "NotSupported",
    "InternalError",
    "REASON_CODES",
    "STATUS_CODES",
    "REPORT_KINDS",
]

__version__: str = _native.__version__

#: The reason codes in bit order: ``Verdict.reason_bits`` and the
#: ``reason_bits`` column of a batch have bit ``r`` for ``REASON_CODES[r]``.
REASON_CODES: tuple = tuple(_native.REASON_CODES)

#: The status codes of the C ABI by number (``{13: "TEPAT_E_PERIOD", ...}``).
STATUS_CODES: dict = dict(_native.STATUS_CODES)

#: The report kinds ``Store.report`` takes.
REPORT_KINDS: tuple = ("overlap", "inclusion", "exclusion", "conflicts", "deceased", "duplicates")

_NAMES = ("nik", "program", "period")


def _pa():
    import pyarrow

    return pyarrow


def _string_array(values: Any, name: str):
    """An Arrow string column of ``values`` (a pyarrow array or chunked
    array, kept as it is when it holds strings; a NumPy array; any
    sequence)."""
    pa = _pa()
    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        try:
            values = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as e:
            raise InputError(f"{name}: not a column of strings: {e}", 3, "TEPAT_E_ARGUMENT") from e
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        import pyarrow.compute as pc

        try:
            values = pc.cast(values, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise InputError(f"{name}: cannot be read as strings: {e}", 3, "TEPAT_E_ARGUMENT") from e
    return values


def _chunks(values) -> list:
    """The argument the native verifier takes for a string column: each
    chunk's buffers as read-only NumPy views (no copy)."""
    import numpy as np

    pa = _pa()
    empty = np.empty(0, np.uint8)

    def view(buf):
        return empty if buf is None else np.frombuffer(buf, dtype=np.uint8)

    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    out = []
    for c in chunks:
        validity, offsets, data = c.buffers()[:3]
        out.append(
            (
                view(offsets),
                view(data),
                c.offset,
                len(c),
                view(validity) if validity is not None and c.null_count else None,
                pa.types.is_large_string(c.type),
            )
        )
    return out


class Store(_native.Store):
    """An open store: ``tepat.Store(path, *, resident=False, today=None,
    key=None)``.

    ``resident`` reads the snapshot into memory backed by 2 MiB pages at open
    (seconds at 10 M persons; then fewer TLB misses per lookup) instead of
    mapping it. ``today`` (``"YYYY-MM-DD"`` or a ``datetime.date``) is the
    store's date, which decides the open payout periods; ``None`` reads the
    clock at each check. ``trusted_keys`` (``bytes``, 32 a key, or a list of
    ``"ed25519:..."`` strings as ``tepat key new --signing`` writes them)
    opens only snapshots the register keeper signed: an unsigned one, or
    one signed by another key, raises ``StoreError``. ``key`` is a keyed
    payout point's identity key (``bytes``, 16, or the text of its key file
    from ``tepat key new``): a keyed store opens only with its own key, and
    its recorded claims name pseudonyms (``k`` and 14 hex digits); without it, with
    another, or given to a plain store, ``StoreError`` (``TEPAT_E_KEY``). A
    directory without a store raises ``StoreError``
    (``TEPAT_E_NO_STORE``); a store another process holds raises
    ``StoreError`` too.

    Methods: ``get``, ``check``, ``claim``, ``reverse``, ``verify_batch``,
    ``report``, ``close`` (also as a context manager).
    """

    #: What ``Store.create`` read from the register: ``{"rows", "accepted",
    #: "rejected"}``; ``None`` for a store that was opened.
    ingest: Optional[dict] = None

    @classmethod
    def create(
        cls,
        path: Union[str, os.PathLike],
        register: Union[str, os.PathLike],
        *,
        as_of: Any = None,
        resident: bool = False,
        today: Any = None,
        key: Union[bytes, str, None] = None,
    ) -> "Store":
        """Creates a store in ``path`` (new or empty) from the register export
        ``register`` (CSV, the columns of ``tepat build``) with the built-in
        programs, eligibility computed as of ``as_of`` (default: the first day
        of the month of ``today``), and opens it. Rows that cannot be used are
        listed in ``path/rejects-000001.csv``; ``store.ingest`` has the
        counts."""
        rows, accepted, rejected = _native.create_store(
            os.fspath(path), os.fspath(register), as_of=as_of, today=today, key=key
        )
        store = cls(path, resident=resident, today=today, key=key)
        store.ingest = {"rows": rows, "accepted": accepted, "rejected": rejected}
        return store

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"tepat.Store({os.fspath(self.path)!r}, {state})"

    def verify_batch(
        self,
        niks: Any,
        programs: Any = None,
        periods: Any = None,
        *,
        threads: int = 0,
    ):
        """Verifies a payee list: every row's verdict, as ``check`` gives it
        (without the details), in a pyarrow Table.

        ``niks`` is a pyarrow Table with the columns ``nik``, ``program`` and
        ``period`` (``programs`` and ``periods`` then override those columns
        when given), or a column of NIKs: a pyarrow array, a NumPy array or a
        list of ``str``. ``programs`` and ``periods`` are columns of the same
        length, or one ``str`` for every row. String columns are read in
        place; other types are cast to strings first.

        The result has the input's columns (a Table's, or ``nik``,
        ``program``, ``period`` for columns given), then ``payable`` (bool),
        ``reasons`` (the ``|``-joined reason codes, dictionary-encoded; ``""``
        when none) and ``reason_bits`` (uint16, bit ``r`` for
        ``REASON_CODES[r]``), one row per input row, in order. A row whose
        program or period cannot be read gets ``invalid_row``; rows are not
        compared with each other. Runs on ``threads`` threads (0: all cores)
        with the GIL released."""
        pa = _pa()
        carried: dict = {}
        if isinstance(niks, pa.Table):
            table = niks
            carried = {name: table.column(name) for name in table.column_names}

            def column(name, given):
                if given is not None:
                    return given
                if name not in table.column_names:
                    raise InputError(f"the table has no column {name!r}", 3, "TEPAT_E_ARGUMENT")
                return table.column(name)

            niks = column("nik", None)
            programs = column("program", programs)
            periods = column("period", periods)
        if programs is None or periods is None:
            raise InputError("verify_batch needs programs and periods", 3, "TEPAT_E_ARGUMENT")
        args = []
        for name, col in zip(_NAMES, (niks, programs, periods)):
            if isinstance(col, str):
                args.append(col)
                continue
            arr = _string_array(col, name)
            if name not in carried:
                carried[name] = arr
            args.append(_chunks(arr))
        rows, payable, bits, index, dictionary = self._verify(*args, threads=threads)
        verdicts = {
            "payable": pa.Array.from_buffers(pa.bool_(), rows, [None, pa.py_buffer(payable)]),
            # The indices are in range by construction: no second check.
            "reasons": pa.DictionaryArray.from_arrays(
                pa.Array.from_buffers(pa.int32(), rows, [None, pa.py_buffer(index)]),
                pa.array(dictionary, pa.string()),
                safe=False,
            ),
            "reason_bits": pa.Array.from_buffers(pa.uint16(), rows, [None, pa.py_buffer(bits)]),
        }
        columns = {k: v for k, v in carried.items() if k not in verdicts}
        columns.update(verdicts)
        return pa.table(columns)

    def report(self, kind: str, by: str = "province", *, threads: int = 0):
        """One of the analysts' reports as a pyarrow Table (``.to_pandas()``
        for pandas): ``kind`` is one of ``REPORT_KINDS``, ``by`` is
        ``"province"``, ``"regency"`` or ``"district"``. The columns are those
        of ``tepat report --format csv``: ``region_code``, ``region``, the
        keys (``program_a``, ``program_b``, ...), ``persons`` (or
        ``duplicate_records``), ``families`` where it applies (null where the
        figure does not apply); the national row (``region_code`` ``"00"``)
        first. Counts the snapshot plus pending changes with the GIL
        released."""
        pa = _pa()
        columns = self._report(kind, by, threads)
        return pa.table({name: pa.array(values, type=_report_type(name)) for name, values in columns})


def _report_type(name: str):
    pa = _pa()
    if name in ("persons", "families", "duplicate_records"):
        return pa.int64()
    return pa.string()
