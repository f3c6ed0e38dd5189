"""Domain errors. Services raise these; one handler in ``main`` turns them into JSON."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400

    def __init__(self, detail: Any) -> None:
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class InvalidRequest(DomainError):
    """Input that is well-formed but wrong (unknown symbol, window outside the data...).

    ``field`` names the offending field in the FastAPI ``loc`` style so that clients can show
    the error next to it.
    """

    status_code = 422

    def __init__(self, message: str, field: tuple[str | int, ...] | None = None) -> None:
        detail: Any = message
        if field is not None:
            detail = [{"loc": ["body", *field], "msg": message, "type": "value_error"}]
        super().__init__(detail)
        self.message = message


class PayloadTooLarge(DomainError):
    status_code = 413
