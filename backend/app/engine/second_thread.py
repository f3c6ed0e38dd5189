"""Each process's second thread, for work split in two halves: compiled code that runs free
of the GIL (numba's ``nogil``) on one half while the calling thread does the other, so a
single backtest uses both cores of the machine where it has two."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["second_thread"]

_second: tuple[int, ThreadPoolExecutor] | None = None  # (the process that made it, the thread)
_second_lock = threading.Lock()


def second_thread() -> ThreadPoolExecutor:
    """This process's second thread (a forked child makes its own: the parent's thread does
    not exist there)."""
    global _second
    with _second_lock:
        if _second is None or _second[0] != os.getpid():
            _second = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="second-half"))
        return _second[1]
