"""numpy's summation order, for compiled code that must give numpy's floats exactly."""

from __future__ import annotations

import numpy as np
from numba import njit

from app.engine.numba_cache import drop_stale_cache

drop_stale_cache()

# numpy's pairwise summation: blocks of up to 128 summed with 8 accumulators.
_PAIRWISE_BLOCK = 128


@njit(cache=True, inline="always")
def _block_sum(values: np.ndarray, start: int, n: int) -> float:
    if n < 8:
        total = 0.0
        for k in range(start, start + n):
            total += values[k]
        return total
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    k = start + 8
    blocks_end = start + n - n % 8
    while k < blocks_end:
        r0 += values[k]
        r1 += values[k + 1]
        r2 += values[k + 2]
        r3 += values[k + 3]
        r4 += values[k + 4]
        r5 += values[k + 5]
        r6 += values[k + 6]
        r7 += values[k + 7]
        k += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while k < start + n:
        total += values[k]
        k += 1
    return total


# Levels of halves: 64 cover any array (each level halves the size).
_STACK_DEPTH = 64


@njit(cache=True)
def new_pairwise_stack():
    """The work space of :func:`pairwise_sum_on`: (segment starts, segment sizes, first
    halves' sums, whether a segment's second half is still to come), one entry per level."""
    return (
        np.empty(_STACK_DEPTH, dtype=np.int64),
        np.empty(_STACK_DEPTH, dtype=np.int64),
        np.empty(_STACK_DEPTH),
        np.zeros(_STACK_DEPTH, dtype=np.bool_),
    )


@njit(cache=True)
def pairwise_sum(values: np.ndarray, start: int, n: int) -> float:
    """sum(values[start:start + n]) in numpy's order (``pairwise_sum`` in numpy's
    ``loops_utils``): under 8 terms left to right; up to 128 in 8 interleaved partial sums
    combined as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)) plus the rest left to
    right; above that sum(first half) + sum(second half), the half a multiple of 8."""
    if n <= _PAIRWISE_BLOCK:
        return _block_sum(values, start, n)
    return pairwise_sum_on(values, start, n, new_pairwise_stack())


@njit(cache=True)
def pairwise_sum_on(values: np.ndarray, start: int, n: int, stack) -> float:
    """:func:`pairwise_sum` in the caller's ``stack`` (:func:`new_pairwise_stack`), so that
    a loop summing again and again allocates nothing."""
    if n <= _PAIRWISE_BLOCK:
        return _block_sum(values, start, n)
    # numpy recurses into the halves; numba's on-disk cache cannot hold a recursive function
    # (a cached one crashed when loaded), so the halves are walked with a stack of segments.
    # Every level's flag is back to False when the walk ends, ready for the next sum.
    segment_start, segment_size, left_sum, right_pending = stack
    depth = 0
    segment_start[0], segment_size[0] = start, n
    while True:
        size = segment_size[depth]
        if size > _PAIRWISE_BLOCK:
            right_pending[depth] = True
            half = size // 2
            half -= half % 8
            segment_start[depth + 1], segment_size[depth + 1] = segment_start[depth], half
            depth += 1
            continue
        total = _block_sum(values, segment_start[depth], size)
        # Climb: a finished first half starts its sibling; a finished second half is added to
        # its first half's sum.
        while depth > 0:
            depth -= 1
            if right_pending[depth]:
                right_pending[depth] = False
                left_sum[depth] = total
                half = segment_size[depth] // 2
                half -= half % 8
                segment_start[depth + 1] = segment_start[depth] + half
                segment_size[depth + 1] = segment_size[depth] - half
                depth += 1
                break
            total = left_sum[depth] + total
        if depth == 0:
            return total
