"""Decimal text to float64, correctly rounded, in compiled code (numba).

A number's text ``[-]digits[.digits][(e|E)[-]digits]`` is read as w * 10^q with w the first
(at most) 19 significant digits as an integer. :func:`decimal_to_double` then rounds
w * 10^q to the nearest double with the Eisel-Lemire algorithm (D. Lemire, "Number Parsing
at a Gigabyte per Second", Software: Practice and Experience 51(8), 2021; N. Mushtak and
D. Lemire, "Fast Number Parsing Without Fallback", 2023, for why one 128-bit product of w
and a truncated power of five always suffices): with w shifted left until its top bit is
set,

    product = w * T[q]   (the top 128 bits; T[q] = 5^q in 128 bits, rounded toward one)
    mantissa = product >> (64 + 9 + upper bit), rounded half to even with the bit below it
    exponent = floor(q * log2(10)) + 63 + upper bit - leading zeros of w + 1023

This is what C's strtod and Python's ``float()`` give (the tests compare with ``float()``
on random and hard texts). A text of more than 19 significant digits, or whose value is
below the normal range, is left to the caller (:data:`NEEDS_EXACT`).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.cpython.unsafe.numbers import leading_zeros
from numba.extending import intrinsic

from app.engine.numba_cache import drop_stale_cache

drop_stale_cache()

SMALLEST_POWER = -342  # w * 10^q rounds to 0 below it for any w < 2^64
LARGEST_POWER = 308  # and overflows above it
NEEDS_EXACT = np.uint64(0x7FF8_0000_0000_0001)  # a NaN payload: "parse me exactly elsewhere"
_INFINITY_BITS = np.uint64(0x7FF0_0000_0000_0000)
_SIGN_BIT = np.uint64(1 << 63)
_HIDDEN_BIT = np.uint64(1 << 52)
_MANTISSA_LIMIT = np.uint64(2 << 52)


def _power_of_five_table() -> np.ndarray:
    """T[q] for q in [-342, 308] as (high, low) 64-bit words: 5^q scaled into [2^127, 2^128),
    truncated for q >= 0 and one above the truncated value for q < 0 (so never below)."""
    table = []
    for q in range(SMALLEST_POWER, LARGEST_POWER + 1):
        if q < 0:
            power = 5**-q
            bits = power.bit_length()
            # 2^k / 5^-q plus one, with 128 significant bits or more, then cut to 128. Where
            # 5^-q fits in 64 bits (q >= -27) the published table divides 2^(b + 127).
            if q < -27:
                scaled = (1 << (2 * bits + 128)) // power + 1
            else:
                scaled = (1 << (bits + 127)) // power + 1
            while scaled >= 1 << 128:
                scaled >>= 1
        else:
            scaled = 5**q
            while scaled < 1 << 127:
                scaled <<= 1
            while scaled >= 1 << 128:
                scaled >>= 1
        table.append((scaled >> 64, scaled & ((1 << 64) - 1)))
    return np.array(table, dtype=np.uint64)


POWERS_OF_FIVE = _power_of_five_table()
_ONE = np.uint64(1)
_ZERO = np.uint64(0)


@intrinsic
def _multiply(typingctx, a, b):
    """(high, low) 64-bit words of the 128-bit product a * b of two uint64 (one full-width
    multiplication: LLVM's i128)."""

    def codegen(context, builder, signature, args):
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        high = builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))
        low = builder.trunc(product, ir.IntType(64))
        return context.make_tuple(builder, signature.return_type, (high, low))

    return types.UniTuple(types.uint64, 2)(types.uint64, types.uint64), codegen


@njit(cache=True, inline="always")
def decimal_to_double(w, q, negative):
    """The bits of the double nearest to (-1 if negative) * w * 10^q (w: uint64 < 10^19),
    ties to even; :data:`NEEDS_EXACT` below the normal range."""
    sign = _SIGN_BIT if negative else _ZERO
    if w == _ZERO or q < SMALLEST_POWER:
        return sign
    if q > LARGEST_POWER:
        return sign | _INFINITY_BITS
    leading = np.int64(leading_zeros(w))
    w <<= np.uint64(leading)
    index = q - SMALLEST_POWER
    high, low = _multiply(w, POWERS_OF_FIVE[index, 0])
    if high & np.uint64(0x1FF) == np.uint64(0x1FF):
        # The product's 55 bits that matter may carry from below: add the next 64 bits.
        second_high, _ = _multiply(w, POWERS_OF_FIVE[index, 1])
        low += second_high
        if second_high > low:
            high += _ONE
    upper_bit = np.int64(high >> np.uint64(63))
    shift = np.uint64(upper_bit + 9)
    mantissa = high >> shift
    power2 = (((152170 + 65536) * q) >> 16) + 63 + upper_bit - leading + 1023
    if power2 <= 0:
        return NEEDS_EXACT
    # Exactly between two doubles (only possible for small q, where the product is exact):
    # round to even.
    if (
        low <= _ONE
        and -4 <= q <= 23
        and mantissa & np.uint64(3) == _ONE
        and (mantissa << shift) == high
    ):
        mantissa &= ~_ONE
    mantissa += mantissa & _ONE
    mantissa >>= _ONE
    if mantissa >= _MANTISSA_LIMIT:
        mantissa = _HIDDEN_BIT
        power2 += 1
    mantissa &= ~_HIDDEN_BIT
    if power2 >= 0x7FF:
        return sign | _INFINITY_BITS
    return sign | mantissa | (np.uint64(power2) << np.uint64(52))
