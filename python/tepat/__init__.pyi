"""Type stubs of the tepat package (the native classes and the Store)."""

import datetime
import os
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import pyarrow

__version__: str
REASON_CODES: Tuple[str, ...]
STATUS_CODES: Dict[int, str]
REPORT_KINDS: Tuple[str, ...]

_Date = Union[str, datetime.date, None]
_Path = Union[str, os.PathLike]
_Column = Union[pyarrow.Array, pyarrow.ChunkedArray, Sequence[str], Any]

class Error(Exception):
    """A failure of tepat, with the C ABI's status code."""

    message: str
    code: int
    code_name: str
    def __init__(self, message: str, code: int = ..., code_name: str = ...) -> None: ...

class InputError(Error, ValueError):
    """An argument that is not valid (NIK, date, period, program, register)."""

class RequestError(Error):
    """A request that cannot be carried out."""

class RequestConflict(RequestError):
    """A request id used before with other content."""

class StoreError(Error):
    """A store that cannot be opened, created or written, or is closed."""

class NotSupported(Error):
    """An option this build does not support (key)."""

class InternalError(Error):
    """A bug in tepat caught at the boundary."""

class Verdict:
    """May this NIK be paid this program for this period."""

    @property
    def payable(self) -> bool:
        """No blocking reason applies."""
    @property
    def reasons(self) -> Tuple[str, ...]:
        """Every reason that applies, as stable codes."""
    @property
    def blocking(self) -> Tuple[str, ...]:
        """The reasons that block payment."""
    @property
    def reason_bits(self) -> int:
        """The reasons as a bitset over REASON_CODES."""
    @property
    def excluded_by(self) -> list[str]:
        """For excluded_by: the programs whose enrolment excludes this one."""
    @property
    def claimed(self) -> Optional[Dict[str, Any]]:
        """For already_claimed: request_id, nik, kk, at_ms of the earlier claim."""

class ClaimOutcome:
    """What a claim did."""

    @property
    def request_id(self) -> str: ...
    @property
    def paid(self) -> bool: ...
    @property
    def replayed(self) -> bool: ...
    @property
    def reversed_by(self) -> Optional[str]: ...
    @property
    def amount(self) -> Optional[int]:
        """The amount recorded, in rupiah: as stated, else the entitlement."""
    @property
    def entitled(self) -> Optional[int]:
        """The program's entitlement for this payee and period, in rupiah."""
    @property
    def verdict(self) -> Verdict: ...

class Reversal:
    """What a reversal did."""

    @property
    def request_id(self) -> str: ...
    @property
    def reversed(self) -> str: ...
    @property
    def replayed(self) -> bool: ...

class Store:
    """An open store directory, shared by every thread of the process."""

    ingest: Optional[Dict[str, int]]
    def __init__(
        self,
        path: _Path,
        *,
        resident: bool = False,
        today: _Date = None,
        key: Optional[bytes] = None,
        trusted_keys: Union[bytes, Sequence[str], None] = None,
    ) -> None: ...
    @classmethod
    def create(
        cls,
        path: _Path,
        register: _Path,
        *,
        as_of: _Date = None,
        resident: bool = False,
        today: _Date = None,
        key: Optional[bytes] = None,
    ) -> "Store":
        """Creates a store from a register export (CSV) and opens it."""
    @property
    def path(self) -> str: ...
    @property
    def programs(self) -> list[str]: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Store": ...
    def __exit__(self, *exc: Any) -> None: ...
    def get(self, nik: str) -> Dict[str, Any]:
        """The person's current state (found False when not in the register)."""
    def check(self, nik: str, program: str, period: str) -> Verdict:
        """Every reason that applies to paying this NIK this program for this period."""
    def claim(
        self,
        request_id: str,
        nik: str,
        program: str,
        period: str,
        *,
        amount: Optional[int] = None,
        operator: str = "",
        meta: str = "",
    ) -> ClaimOutcome:
        """Checks and records a payout in one step, durably; idempotent by request id."""
    def reverse(self, request_id: str, original: str, reason: str = "") -> Reversal:
        """Reverses a paid claim by a new request."""
    def verify_batch(
        self,
        niks: Union[pyarrow.Table, _Column],
        programs: Union[_Column, str, None] = None,
        periods: Union[_Column, str, None] = None,
        *,
        threads: int = 0,
    ) -> pyarrow.Table:
        """Every row's verdict: the input's columns, payable, reasons, reason_bits."""
    def report(self, kind: str, by: str = "province", *, threads: int = 0) -> pyarrow.Table:
        """One of the analysts' reports (REPORT_KINDS) by province, regency or district."""
