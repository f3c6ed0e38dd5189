"""Domain errors. Services raise these; one handler in ``main`` turns them into JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


def validation_text(errors: Iterable[Mapping[str, Any]], *, whole: str = "body") -> str:
    """Validation errors as one line, ``field.path: problem; ...``.

    ``errors`` is pydantic's ``ValidationError.errors()`` or an :class:`InvalidRequest`'s
    detail (same shape). A loc's leading ``"body"`` is dropped (it says where the field
    travels, not which it is); an empty loc names ``whole``; pydantic's ``"Value error, "``
    prefix is dropped (the message after it is our validator's own).
    """
    parts = []
    for error in errors:
        loc = list(error.get("loc") or ())
        if loc and loc[0] == "body":
            loc = loc[1:]
        where = ".".join(str(part) for part in loc) or whole
        parts.append(f"{where}: {str(error.get('msg', '')).removeprefix('Value error, ')}")
    return "; ".join(parts)


def detail_text(detail: Any) -> str:
    """A :class:`DomainError`'s detail as one line (a string as is, a list via
    :func:`validation_text`)."""
    return validation_text(detail) if isinstance(detail, list) else str(detail)
