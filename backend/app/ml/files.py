"""Writing files so that readers never see half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

SCORES_COLUMNS = ("date", "symbol", "score")


def atomic_write(path: Path, write: Callable[[IO[str]], None]) -> Path:
    """Call ``write(handle)`` on a temporary file next to ``path``, fsync it, then rename it
    over ``path`` (atomic on POSIX). On any error the temporary file is removed and ``path``
    is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed explicitly before the rename
        "w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False, newline=""
    )
    try:
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return path


def write_scores_csv(
    path: Path, iso_dates: np.ndarray, symbols: np.ndarray, scores: np.ndarray
) -> Path:
    """Write a scores file atomically: header ``date,symbol,score``; ``iso_dates`` are
    ``yyyy-mm-dd`` strings; rows in the given order (callers sort by date, then symbol).
    Scores are written with the shortest text that reads back as the same float64."""
    frame = pd.DataFrame(
        {"date": iso_dates, "symbol": symbols, "score": scores},
        columns=list(SCORES_COLUMNS),
    )
    return atomic_write(
        path,
        lambda handle: frame.to_csv(handle, index=False, lineterminator="\n"),
    )
