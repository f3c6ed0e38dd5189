"""File paths that arrive through the HTTP API, checked when the request arrives.

The engine confines every path parameter (``score_csv_path``, ``weights_path``) to the
allowed file roots when a run executes (:func:`app.engine.parameters.resolve_file`). Checked
only there, a request naming ``/etc/passwd`` is accepted (201, queued) and fails later; so the
API runs the same check at POST and answers 422 naming the field, storing nothing. The engine's
own check stays: it also guards runs created outside the API (the CLI, the demo).

Only whether a path lies under a root is checked here, not whether the file exists: a file may
be written under a root after the request (a train job still running), and a missing file is
the run's own, named failure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from app.engine import BacktestInputError
from app.engine.parameters import PATH_PARAMETERS, resolve_file
from app.errors import InvalidRequest


def check_file_parameters(
    algorithm: Mapping[str, Any],
    roots: list[Path],
    field_of: Callable[[str], tuple[str, ...]],
    *,
    skip: frozenset[str] = frozenset(),
) -> None:
    """Raise :class:`InvalidRequest` at ``field_of(name)`` for the first path parameter of
    ``algorithm`` (outside ``skip``) that does not resolve inside ``roots``."""
    for name in PATH_PARAMETERS:
        value = algorithm.get(name)
        if name in skip or value is None:
            continue
        try:
            resolve_file(value, name, roots)
        except BacktestInputError as exc:
            raise InvalidRequest(str(exc), field_of(name)) from exc
        except (ValueError, OSError) as exc:
            # Resolving a path the OS cannot represent (a NUL byte: ValueError; a name the
            # file system refuses: OSError) is the request's fault, not the server's.
            raise InvalidRequest(
                f"{name} is not a usable file path: {exc}", field_of(name)
            ) from exc
