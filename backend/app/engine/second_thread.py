"""Each process's second thread, for work split in two halves: compiled code that runs free
of the GIL (numba's ``nogil``) on one half while the calling thread does the other, so a
lone backtest uses both cores of the machine where it has two. A process that runs
backtests side by side with others (a sweep's workers, one per core) turns it off: there
the other core is busy already, and handing halves over would only add to its work."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["second_thread", "use_one_thread"]

_second: tuple[int, ThreadPoolExecutor] | None = None  # (the process that made it, the thread)
_second_lock = threading.Lock()
_one_thread = False


def second_thread() -> ThreadPoolExecutor | None:
    """This process's second thread (a forked child makes its own: the parent's thread does
    not exist there); None where there is one core, or after :func:`use_one_thread`."""
    global _second
    if _one_thread or (os.cpu_count() or 1) < 2:
        return None
    with _second_lock:
        if _second is None or _second[0] != os.getpid():
            _second = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="second-half"))
        return _second[1]


def use_one_thread() -> None:
    """From now on this process does both halves in the calling thread."""
    global _one_thread
    _one_thread = True
