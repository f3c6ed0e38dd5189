"""One compiled pass over the rows of a plain ``date,symbol,<value>`` file
(:mod:`app.engine.dated_csv`): each row's date run, symbol code and value.

A plain row is ``YYYY-MM-DD,SYMBOL,number`` and its line end: the date's 10 bytes with ASCII
digits and dashes at 4 and 7, a symbol of 1-8 bytes above ``,`` (44), a number
``[-]digits[.digits][(e|E)[-]digits]`` (either side of the dot may be empty, not both).
Anything else stops the scan with a reason, and the caller reads the file with pandas
(which names the problem, if there is one)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from numba import njit

from app.engine.decimal_parse import NEEDS_EXACT, POWERS_OF_FIVE, decimal_to_double

__all__ = ["NOT_FINITE", "NOT_PLAIN", "PLAIN", "ScannedRows", "scan_rows"]

# Scan results (the first element of scan_rows' result).
PLAIN = 0
NOT_PLAIN = 1  # a row outside the plain shape
NOT_FINITE = 2  # a number beyond the double range


class ScannedRows(NamedTuple):
    """Per row its run of equal dates, its symbol's code (in order of first appearance) and
    its value; per run its date as the integer YYYYMMDD; per symbol its bytes as a
    little-endian integer; and (start, end) of the value fields of more than 19 significant
    digits (their values: NaN), for the caller to parse."""

    result: int  # PLAIN, or why not
    date_run: np.ndarray
    run_dates: np.ndarray
    symbol_code: np.ndarray
    symbol_keys: np.ndarray
    values: np.ndarray
    exact_fields: np.ndarray


_COMMA, _NEWLINE, _RETURN, _DASH, _DOT, _ZERO_DIGIT = 44, 10, 13, 45, 46, 48
_MAX_DIGITS = 19  # significant digits an unsigned 64-bit integer holds
_EXPONENT_BITS = np.uint64(0x7FF0_0000_0000_0000)
_EXACT_INTEGERS = np.uint64(1 << 53)
_POWERS_OF_TEN = np.array([10.0**k for k in range(23)])  # exact doubles
_HASH_MULTIPLIER = np.uint64(0x9E37_79B9_7F4A_7C15)  # 2^64 / golden ratio


@njit(cache=True, inline="always")
def _digit(byte):
    return 0 <= byte - _ZERO_DIGIT <= 9


@njit(cache=True, inline="always")
def _accumulate_digits(data, position, end, w):
    """(w * 10^n + the n digits from position on, the position after them)."""
    while position < end:
        digit = np.int64(data[position]) - _ZERO_DIGIT
        if digit < 0 or digit > 9:
            break
        w = w * np.uint64(10) + np.uint64(digit)
        position += 1
    return w, position


@njit(cache=True)
def _symbol_code(key, keys, slots, n_keys):
    """The code of a symbol key in a table of open addressing (``slots``: code + 1 per slot,
    0 empty; its size a power of two), adding it with code ``n_keys`` if new. Returns
    (code, the table's slots, possibly grown)."""
    bits = np.uint64(np.log2(slots.size))
    mask = slots.size - 1
    slot = np.int64((key * _HASH_MULTIPLIER) >> (np.uint64(64) - bits))
    while slots[slot] != 0:
        if keys[slots[slot] - 1] == key:
            return slots[slot] - 1, slots
        slot = (slot + 1) & mask
    slots[slot] = n_keys + 1
    keys[n_keys] = key
    if 2 * (n_keys + 1) > slots.size:  # keep it at most half full: rehash into twice the size
        grown = np.zeros(2 * slots.size, dtype=np.int64)
        grown_bits = bits + np.uint64(1)
        for code in range(n_keys + 1):
            slot = np.int64((keys[code] * _HASH_MULTIPLIER) >> (np.uint64(64) - grown_bits))
            while grown[slot] != 0:
                slot = (slot + 1) & (grown.size - 1)
            grown[slot] = code + 1
        return n_keys, grown
    return n_keys, slots


def scan_rows(buffer: bytearray, start: int, end: int, line_end_length: int) -> ScannedRows:
    """Scan the rows in ``buffer[start:end]`` (whole lines, each ending in ``\\n`` or, with
    ``line_end_length`` 2, ``\\r\\n``). A file of over a megabyte is scanned in two halves
    at once, on two cores where there are two (each half in compiled code, free of the GIL)."""
    data = np.frombuffer(buffer, dtype=np.uint8)
    middle = buffer.find(b"\n", (start + end) // 2, end) + 1
    if end - start < _SPLIT_BYTES or (os.cpu_count() or 1) < 2 or middle <= 0:
        return _scan_part(data, start, end, line_end_length)
    second_half = _second_thread().submit(_scan_part, data, middle, end, line_end_length)
    first = _scan_part(data, start, middle, line_end_length)
    second = second_half.result()
    if first.result != PLAIN or second.result != PLAIN:
        return first if first.result != PLAIN else second
    # The second half's symbols by the first half's codes, its new ones after them.
    code_of = {key: code for code, key in enumerate(first.symbol_keys.tolist())}
    new_keys = []
    for key in second.symbol_keys.tolist():
        if key not in code_of:
            code_of[key] = len(code_of)
            new_keys.append(key)
    second_codes = np.array([code_of[key] for key in second.symbol_keys.tolist()], np.int32)
    return ScannedRows(
        PLAIN,
        np.concatenate((first.date_run, second.date_run + len(first.run_dates))),
        np.concatenate((first.run_dates, second.run_dates)),
        np.concatenate((first.symbol_code, second_codes[second.symbol_code])),
        np.concatenate((first.symbol_keys, np.array(new_keys, dtype=np.uint64))),
        np.concatenate((first.values, second.values)),
        np.concatenate((first.exact_fields, second.exact_fields)),
    )


_SPLIT_BYTES = 1 << 20
_second: tuple[int, ThreadPoolExecutor] | None = None  # (the process that made it, the thread)
_second_lock = threading.Lock()


def _second_thread() -> ThreadPoolExecutor:
    """This process's thread for second halves (a forked child gets its own: the parent's
    thread does not exist there)."""
    global _second
    with _second_lock:
        if _second is None or _second[0] != os.getpid():
            _second = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="dated-csv-scan"))
        return _second[1]


def _scan_part(data: np.ndarray, start: int, end: int, line_end_length: int) -> ScannedRows:
    capacity = (end - start) // 15 + 1  # the shortest row: "YYYY-MM-DD,S,0\n"
    # Untouched pages of these cost nothing: only the rows' share is written.
    date_run = np.empty(capacity, dtype=np.int32)
    run_dates = np.empty(capacity, dtype=np.int64)
    symbol_code = np.empty(capacity, dtype=np.int32)
    symbol_keys = np.empty(capacity, dtype=np.uint64)
    values = np.empty(capacity)
    exact_fields = np.empty((capacity, 2), dtype=np.int64)
    counts = np.zeros(4, dtype=np.int64)  # rows, runs, symbols, exact fields
    result = _scan(
        data,
        start,
        end,
        line_end_length,
        POWERS_OF_FIVE,
        date_run,
        run_dates,
        symbol_code,
        symbol_keys,
        values,
        values.view(np.uint64),
        exact_fields,
        counts,
    )
    n_rows, n_runs, n_symbols, n_exact = counts.tolist()
    return ScannedRows(
        result,
        date_run[:n_rows],
        run_dates[:n_runs],
        symbol_code[:n_rows],
        symbol_keys[:n_symbols],
        values[:n_rows],
        exact_fields[:n_exact],
    )


@njit(cache=True, nogil=True)
def _scan(
    data,
    start,
    end,
    line_end_length,
    table,
    date_run,
    run_dates,
    symbol_code,
    symbol_keys,
    values,
    value_bits,
    exact_fields,
    counts,
):
    """:func:`scan_rows` into its arrays, and into ``counts`` how many of each it found."""
    slots = np.zeros(1024, dtype=np.int64)
    n_rows, n_runs, n_symbols, n_exact = 0, 0, 0, 0
    last_date = -1
    position = start
    while position < end:
        # The date: YYYY-MM-DD and a comma.
        if position + 11 > end or data[position + 4] != _DASH or data[position + 7] != _DASH:
            return NOT_PLAIN
        date = 0
        for k in (0, 1, 2, 3, 5, 6, 8, 9):
            byte = data[position + k]
            if not _digit(byte):
                return NOT_PLAIN
            date = date * 10 + (byte - _ZERO_DIGIT)
        if data[position + 10] != _COMMA:
            return NOT_PLAIN
        if date != last_date:
            run_dates[n_runs] = date
            n_runs += 1
            last_date = date
        date_run[n_rows] = n_runs - 1
        position += 11

        # The symbol: 1-8 bytes above ',' and a comma.
        key = np.uint64(0)
        length = 0
        while position < end and data[position] > _COMMA:
            if length == 8:
                return NOT_PLAIN
            key |= np.uint64(data[position]) << np.uint64(8 * length)
            length += 1
            position += 1
        if length == 0 or position >= end or data[position] != _COMMA:
            return NOT_PLAIN
        # Files list a date's symbols in the same order date after date: try the symbol
        # after the previous row's before the table.
        code = symbol_code[n_rows - 1] + 1 if n_rows else n_symbols
        if code >= n_symbols or symbol_keys[code] != key:
            code, slots = _symbol_code(key, symbol_keys, slots, n_symbols)
            if code == n_symbols:
                n_symbols += 1
        symbol_code[n_rows] = code
        position += 1

        # The number: w * 10^q from its first 19 significant digits.
        field_start = position
        negative = position < end and data[position] == _DASH
        if negative:
            position += 1
        # All digits into w: it holds them exactly unless there are over 19 significant ones.
        w, digits_end = _accumulate_digits(data, position, end, np.uint64(0))
        n_digits = digits_end - position
        q = 0
        position = digits_end
        if position < end and data[position] == _DOT:
            w, digits_end = _accumulate_digits(data, position + 1, end, w)
            q = position + 1 - digits_end
            n_digits += digits_end - position - 1
            position = digits_end
        n_significant = n_digits
        if n_digits > _MAX_DIGITS:
            for k in range(field_start, position):  # leading zeros are not significant
                byte = data[k]
                if byte == _ZERO_DIGIT:
                    n_significant -= 1
                elif byte != _DOT and byte != _DASH:
                    break
        if n_digits == 0:
            return NOT_PLAIN
        if position < end and (data[position] == 101 or data[position] == 69):  # e, E
            position += 1
            exponent_negative = position < end and data[position] == _DASH
            if exponent_negative:
                position += 1
            exponent, n_exponent_digits = 0, 0
            while position < end and _digit(data[position]):
                exponent = min(exponent * 10 + (data[position] - _ZERO_DIGIT), 100_000)
                n_exponent_digits += 1
                position += 1
            if n_exponent_digits == 0:
                return NOT_PLAIN
            q += -exponent if exponent_negative else exponent
        field_end = position

        # The line end.
        if line_end_length == 2:
            if position + 1 >= end or data[position] != _RETURN:
                return NOT_PLAIN
            position += 1
        if position >= end or data[position] != _NEWLINE:
            return NOT_PLAIN
        position += 1

        if n_significant <= _MAX_DIGITS and w <= _EXACT_INTEGERS and -22 <= q <= 22:
            # Both w and 10^|q| are doubles: one correctly rounded operation (Clinger).
            value = (
                np.float64(w) / _POWERS_OF_TEN[-q] if q < 0 else np.float64(w) * _POWERS_OF_TEN[q]
            )
            values[n_rows] = -value if negative else value
        else:
            bits = NEEDS_EXACT
            if n_significant <= _MAX_DIGITS:
                bits = decimal_to_double(w, q, negative, table)
                if bits & _EXPONENT_BITS == _EXPONENT_BITS and bits != NEEDS_EXACT:
                    return NOT_FINITE  # an infinity
            value_bits[n_rows] = bits
            if bits == NEEDS_EXACT:
                exact_fields[n_exact, 0] = field_start
                exact_fields[n_exact, 1] = field_end
                n_exact += 1
        n_rows += 1
    counts[0], counts[1], counts[2], counts[3] = n_rows, n_runs, n_symbols, n_exact
    return PLAIN
