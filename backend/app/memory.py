"""Returning freed memory to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache


@cache
def _libc():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def release_free_memory() -> None:
    """Give freed heap pages back to the OS. Arrow's allocator and glibc keep the memory of
    large temporaries (a Parquet table, a scores file parsed by pandas, a backtest's
    intermediate arrays) in the process otherwise, so every long-lived worker would sit at
    its high-water mark. ``malloc_trim`` is skipped where it does not exist (not glibc)."""
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    if trim is not None:
        trim(0)
