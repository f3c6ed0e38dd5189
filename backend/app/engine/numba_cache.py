"""numba's on-disk cache of the engine's compiled code, kept in step with its sources.

numba checks a cached function against its own source file only. The compiled functions
call each other across files (the event loop the order rules of ``orders.py``, the file
scanner the number parser of ``decimal_parse.py``), so after an edit of one of those files,
or a ``git pull`` that changes it, a cached caller would keep running the old machine code
of its callees. Every module with compiled code calls :func:`drop_stale_cache` before it
defines any: when the sources' digest differs from the one the cache was made from, the
cache files are deleted and numba compiles afresh (``make install`` does it at once).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["COMPILED_MODULES", "drop_stale_cache"]

# The engine's modules with compiled (numba) code, which all share one cache digest.
COMPILED_MODULES = (
    "dated_csv_scan",
    "decimal_parse",
    "event_loop",
    "loop_steps",
    "orders",
    "pairwise",
    "statistics_loops",
)
_STAMP = "numba-sources.sha256"
_checked: set[Path] = set()


def sources_digest(engine_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in COMPILED_MODULES:
        digest.update(name.encode() + b"\0" + (engine_dir / f"{name}.py").read_bytes())
    return digest.hexdigest()


def drop_stale_cache(engine_dir: Path = Path(__file__).parent) -> None:
    """Delete the numba cache files beside the engine's sources (``__pycache__/*.nbi``,
    ``*.nbc``) unless they were made from the sources as they are; once per process."""
    if engine_dir in _checked:
        return
    _checked.add(engine_dir)
    cache = engine_dir / "__pycache__"
    digest = sources_digest(engine_dir)
    stamp = cache / _STAMP
    try:
        if stamp.read_text() == digest:
            return
    except OSError:  # no stamp yet
        pass
    try:
        cache.mkdir(exist_ok=True)
        for path in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            path.unlink(missing_ok=True)
        # Written whole or not at all: workers starting together may race here.
        partial = cache / f"{_STAMP}.{os.getpid()}"
        partial.write_text(digest)
        partial.replace(stamp)
    except OSError:  # a read-only install: numba keeps its cache elsewhere, or none
        pass
