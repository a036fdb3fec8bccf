"""The exceptions of tepat: every failure is a ``tepat.Error`` with the C
ABI's status code (``code``, its ``code_name``), as a subclass by kind."""

from __future__ import annotations


class Error(Exception):
    """A failure of tepat. ``code`` is the stable status number of the C ABI
    (``TEPAT_E_PERIOD`` = 13, ...; ``tepat.STATUS_CODES``), ``code_name``
    its name, ``message`` what failed."""

    def __init__(self, message: str, code: int = 99, code_name: str = "TEPAT_E_INTERNAL"):
        super().__init__(message)
        self.message = message
        self.code = code
        self.code_name = code_name

    def __reduce__(self):
        return (type(self), (self.message, self.code, self.code_name))


class InputError(Error, ValueError):
    """An argument that is not valid: a NIK where one is required, a date, a
    period, an unknown program, a register export that cannot be built
    from, an unknown report kind."""


class RequestError(Error):
    """A request that cannot be carried out: a request id that is empty or
    too long, a reversal of a claim that is unknown, did not pay, or is
    already reversed."""


class RequestConflict(RequestError):
    """A request id used before with other content."""


class StoreError(Error):
    """A store that cannot be opened, created or written: missing, damaged,
    locked by another process, closed, or an I/O error."""


class NotSupported(Error):
    """An option this build does not support (``key``, ``trusted_keys``:
    keyed payout-point stores are not built yet)."""


class InternalError(Error):
    """A bug in tepat caught at the boundary; please report it."""


_BY_CODE = {
    1: InternalError,  # TEPAT_E_NULL: not reachable from Python
    2: InputError,
    3: InputError,
    4: StoreError,  # a closed store
    5: NotSupported,
    10: InputError,
    11: InputError,
    12: InputError,
    13: InputError,
    14: InputError,
    15: InputError,
    16: InputError,
    17: InputError,
    20: InputError,
    30: RequestError,
    31: RequestConflict,
    40: StoreError,
    41: StoreError,
    42: StoreError,
    43: StoreError,
    44: StoreError,
    45: StoreError,
    50: StoreError,
    60: InternalError,
    99: InternalError,
}


def error_for(code: int, code_name: str, message: str) -> Error:
    """The exception for a status code (called by the native module)."""
    return _BY_CODE.get(code, Error)(message, code, code_name)
