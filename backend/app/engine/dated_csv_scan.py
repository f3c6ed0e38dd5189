"""One compiled pass over the rows of a plain ``date,symbol,<value>`` file
(:mod:`app.engine.dated_csv`): each row's date run, symbol code and value.

A plain row is ``YYYY-MM-DD,SYMBOL,number`` and its line end: the date's 10 bytes with ASCII
digits and dashes at 4 and 7, a symbol of 1-8 bytes above ``,`` (44), a number
``[-]digits[.digits][(e|E)[-]digits]`` (either side of the dot may be empty, not both).
Anything else stops the scan with a reason, and the caller reads the file with pandas
(which names the problem, if there is one).

The scan reads the bytes eight at a time where it can (SWAR: "SIMD within a register"): a
row's date is compared with the previous row's as two words, a symbol is one word up to its
comma, and digits are found and converted eight at a time (the byte tricks of simdjson and
fast_float: D. Lemire, "Number Parsing at a Gigabyte per Second", 2021). The words are
little-endian loads (x86-64, AArch64): the first byte of the text is the word's lowest; the
caller leaves :data:`PADDING` readable bytes after the last row, so that no load leaves the
buffer."""

from __future__ import annotations

import os
import queue
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

from app.engine.decimal_parse import NEEDS_EXACT, decimal_to_double
from app.engine.numba_cache import drop_stale_cache
from app.engine.second_thread import second_thread

drop_stale_cache()

__all__ = [
    *("NOT_FINITE", "NOT_PLAIN", "PADDING", "PLAIN"),
    *("ScannedFile", "ScannedRows", "scan_file", "scatter_rows"),
]

# Scan results (a ScannedRows' result).
PLAIN = 0
NOT_PLAIN = 1  # a row outside the plain shape
NOT_FINITE = 2  # a number beyond the double range
_GROW = 3  # (internal) the symbols' table must grow


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


PADDING = 32  # readable bytes the caller leaves after the last row, for the word loads
_ZEROS = np.uint64(0x3030_3030_3030_3030)  # "00000000"
_TOP_BITS = np.uint64(0x8080_8080_8080_8080)
_TO_TOP_ABOVE_NINE = np.uint64(0x4646_4646_4646_4646)  # sets a byte's top bit from ':' up
_TO_TOP_BELOW_SYMBOL = np.uint64(0x2D2D_2D2D_2D2D_2D2D)  # minus it: below '-', top bit set
_BYTE_PAIRS = np.uint64(0x0000_00FF_0000_00FF)
_TIMES_HUNDREDS = np.uint64(100 + (1_000_000 << 32))
_TIMES_UNITS = np.uint64(1 + (10_000 << 32))
_LOW_THREE_BYTES = np.uint64(0xFF_FFFF)
_INTEGER_POWERS_OF_TEN = np.array([10**k for k in range(9)], dtype=np.uint64)


@intrinsic
def _bytes_of(typingctx, data):
    """The address of a byte array's first byte. The inlined helpers below take it, not the
    array: numba counts an array's references at each inlined call (two atomic operations),
    which took a third of the scan's time; a pointer has no count."""

    def codegen(context, builder, signature, args):
        return context.make_array(signature.args[0])(context, builder, args[0]).data

    return types.CPointer(types.uint8)(data), codegen


@intrinsic
def _load_word(typingctx, text, position):
    """The 8 bytes from ``position`` on of ``text`` (:func:`_bytes_of` a byte array) as one
    little-endian uint64 (an unaligned load; the bytes must exist)."""

    def codegen(context, builder, signature, args):
        address = builder.gep(args[0], [args[1]])
        return builder.load(builder.bitcast(address, ir.IntType(64).as_pointer()), align=1)

    return types.uint64(text, position), codegen


@njit(cache=True, inline="always")
def _digit(byte):
    return 0 <= byte - _ZERO_DIGIT <= 9


@njit(cache=True, inline="always")
def _leading_digits(word):
    """How many of a word's bytes, from its first, are ASCII digits (0-8). Adding 0x46 sets a
    byte's top bit from ':' up, subtracting 0x30 below '0'; the carries and borrows between
    bytes start only at a non-digit, so they cannot hide the first one."""
    flags = ((word + _TO_TOP_ABOVE_NINE) | (word - _ZEROS)) & _TOP_BITS
    return np.int64(trailing_zeros(flags) >> np.uint64(3))


@njit(cache=True, inline="always")
def _digits_value(word, n):
    """The number in a word's first n (0-8) bytes, all digits: shifted to the top (the other
    bytes drop out, zero digits come in before them), then digits combined in pairs, fours
    and eights by three multiplications (fast_float's parse_eight_digits_unrolled)."""
    digits = (word - _ZEROS) << np.uint64((64 - 8 * n) & 63)
    digits = digits * np.uint64(10) + (digits >> np.uint64(8))
    hundreds = (digits & _BYTE_PAIRS) * _TIMES_HUNDREDS
    units = ((digits >> np.uint64(16)) & _BYTE_PAIRS) * _TIMES_UNITS
    value = (hundreds + units) >> np.uint64(32)
    return value if n > 0 else np.uint64(0)


@njit(cache=True, inline="always")
def _accumulate_digits(text, position, w):
    """(w * 10^n + the n digits from position on, modulo 2^64; the position after them),
    24 bytes at a time: the digits of a number's part end in one of its three words, and
    taking all three without a branch on where saves the mispredicted branch's time."""
    while True:
        first = _load_word(text, position)
        second = _load_word(text, position + 8)
        third = _load_word(text, position + 16)
        n_first = _leading_digits(first)
        n_second = _leading_digits(second) if n_first == 8 else 0
        n_third = _leading_digits(third) if n_second == 8 else 0
        w = w * _INTEGER_POWERS_OF_TEN[n_first] + _digits_value(first, n_first)
        w = w * _INTEGER_POWERS_OF_TEN[n_second] + _digits_value(second, n_second)
        w = w * _INTEGER_POWERS_OF_TEN[n_third] + _digits_value(third, n_third)
        position += n_first + n_second + n_third
        if n_third < 8:
            return w, position


@njit(cache=True, inline="always")
def _skip_zeros(text, position):
    """The position after the '0' bytes from position on, eight at a time (a '0' byte is 0
    after the exclusive or with "00000000")."""
    while True:
        n = np.int64(trailing_zeros(_load_word(text, position) ^ _ZEROS) >> np.uint64(3))
        position += n
        if n < 8:
            return position


@njit(cache=True, inline="always")
def _symbol_length(word):
    """How many of a word's bytes, from its first, are above ',' (0-8). Subtracting 0x2D sets
    the top bit of a byte below '-' (and of bytes from 0xAD up, which ``~word`` clears); a
    borrow starts only at such a byte."""
    flags = (word - _TO_TOP_BELOW_SYMBOL) & ~word & _TOP_BITS
    return np.int64(trailing_zeros(flags) >> np.uint64(3))


@njit(cache=True)
def _symbol_code(key, keys, slots, n_keys):
    """The code of a symbol key in a table of open addressing (``slots``: code + 1 per slot,
    0 empty; its size a power of two, at most half full), adding it with code ``n_keys`` if
    new; -1 for a new key that would fill the table more than half (see :func:`_grown`)."""
    bits = np.uint64(np.log2(slots.size))
    mask = slots.size - 1
    slot = np.int64((key * _HASH_MULTIPLIER) >> (np.uint64(64) - bits))
    while slots[slot] != 0:
        if keys[slots[slot] - 1] == key:
            return slots[slot] - 1
        slot = (slot + 1) & mask
    if 2 * (n_keys + 1) > slots.size:
        return -1
    slots[slot] = n_keys + 1
    keys[n_keys] = key
    return n_keys


@njit(cache=True)
def _grown(slots, keys, n_keys):
    """The table of :func:`_symbol_code` holding the first ``n_keys`` keys, in twice the
    size."""
    grown = np.zeros(2 * slots.size, dtype=np.int64)
    bits = np.uint64(np.log2(grown.size))
    for code in range(n_keys):
        slot = np.int64((keys[code] * _HASH_MULTIPLIER) >> (np.uint64(64) - bits))
        while grown[slot] != 0:
            slot = (slot + 1) & (grown.size - 1)
        grown[slot] = code + 1
    return grown


class ScannedFile(NamedTuple):
    """A file read and its rows scanned, as parts in file order, each with its own codes."""

    data: np.ndarray  # uint8: the file's bytes (a last line end added), then PADDING
    header_end: int  # where the header line's "\\n" is
    parts: list[ScannedRows]


def scan_file(path) -> ScannedFile | None:
    """Read a file and scan its rows after the header line, each ending as the header does
    (``\\n`` or ``\\r\\n``; the last one may lack it). None for a file whose header line
    does not end in its first :data:`_CHUNK_BYTES`, or one that changed while it was read
    (the caller then reads it by other means).

    The file is read a chunk at a time, each chunk's rows scanned while its bytes are in the
    core's cache: read whole first, a 6 MB file was scanned about 20 % slower. A file of over
    a megabyte is read and scanned in two halves at once: the second half on a second thread
    (``os.preadv`` and the compiled scan run free of the GIL), its rows from its first line
    end on."""
    with open(path, "rb") as handle:
        descriptor = handle.fileno()
        size = os.fstat(descriptor).st_size
        data = _cache_line_aligned_bytes(size + 2 + PADDING)
        data[size:] = 0
        second = second_thread() if size >= _SPLIT_BYTES and hasattr(os, "preadv") else None
        if second is not None:
            return _scan_in_halves(descriptor, data, size, second)
        header = _read_header(descriptor, data, size)
        if header is None:
            return None
        header_end, line_end_length = header
        rows = _Rows(data, header_end + 1, size + 2 - header_end, line_end_length)
        if not _read_and_scan(descriptor, data, min(_CHUNK_BYTES, size), size, rows):
            return None
    rows.scan_to(_end_last_line(data, size, line_end_length))
    return ScannedFile(data, header_end, [rows.rows()])


def _scan_in_halves(
    descriptor: int, data: np.ndarray, size: int, second: ThreadPoolExecutor
) -> ScannedFile | None:
    """:func:`scan_file` of a file of ``size`` bytes: the first half here up to where the
    second half's rows start, the second half on ``second``."""
    middle = size // 2
    second_start: queue.SimpleQueue = queue.SimpleQueue()
    second_half = second.submit(
        _read_and_scan_second_half, descriptor, data, middle, size, second_start
    )
    try:
        header = _read_header(descriptor, data, middle)
        if header is None:
            return None
        header_end, line_end_length = header
        # The second half's rows start within its first chunk.
        rows = _Rows(data, header_end + 1, middle + _CHUNK_BYTES - header_end, line_end_length)
        complete = _read_and_scan(descriptor, data, min(_CHUNK_BYTES, middle), middle, rows)
        start = second_start.get()
        if not complete or start < 0:
            return None
        rows.scan_to(start)  # the lines across the middle, read by the second half
    finally:
        # Waited for whatever happened: its reads must end before the file is closed.
        second_part = second_half.result()
    if second_part is None or second_part.line_end_length != line_end_length:
        return None  # lines that end two ways
    return ScannedFile(data, header_end, [rows.rows(), second_part.rows()])


def _read_and_scan_second_half(
    descriptor: int, data: np.ndarray, middle: int, size: int, start: queue.SimpleQueue
) -> _Rows | None:
    """Read ``data[middle:size]``, hand over where its rows start (after its first line end,
    which must be in its first chunk; -1 when it is not, or the file was cut short), and
    scan them, each line ending as the first does."""
    rows_start = -1
    try:
        first_chunk = min(middle + _CHUNK_BYTES, size)
        if _read_into(descriptor, data[middle:first_chunk], middle) == first_chunk - middle:
            newline = _find_newline(data, middle + 1, first_chunk)
            if newline >= 0:
                rows_start = newline + 1
    finally:
        start.put(rows_start)  # also after an error: the first half waits for it
    if rows_start < 0:
        return None
    line_end_length = _line_end_length(data, rows_start - 1)
    rows = _Rows(data, rows_start, size + 2 - rows_start, line_end_length)
    if not _read_and_scan(descriptor, data, first_chunk, size, rows):
        return None
    rows.scan_to(_end_last_line(data, size, line_end_length))
    return rows


def _read_header(descriptor: int, data: np.ndarray, stop: int) -> tuple[int, int] | None:
    """Read the file's first chunk (up to ``stop``); (where its header line ends, the length
    of its line end), or None."""
    first_chunk = min(_CHUNK_BYTES, stop)
    if _read_into(descriptor, data[:first_chunk], 0) < first_chunk:
        return None
    header_end = _find_newline(data, 0, first_chunk)
    if header_end < 0:
        return None
    return header_end, _line_end_length(data, header_end)


def _read_and_scan(descriptor: int, data: np.ndarray, begin: int, stop: int, rows: _Rows) -> bool:
    """Scan the whole lines read before ``begin``, then read ``data[begin:stop]`` a chunk
    at a time, scanning each chunk's whole lines; False if the file ended early."""
    offset = begin
    while True:
        newline = _find_last_newline(data, rows.position, offset)
        if newline >= 0:
            rows.scan_to(newline + 1)
        if offset >= stop:
            return True
        chunk_end = min(offset + _CHUNK_BYTES, stop)
        if _read_into(descriptor, data[offset:chunk_end], offset) < chunk_end - offset:
            return False
        offset = chunk_end


def _cache_line_aligned_bytes(n_bytes: int) -> np.ndarray:
    """An uninitialised byte array starting on a 64-byte boundary. The kernel's copy into a
    buffer 16 bytes past one (where a large ``np.empty`` can start, depending on what the
    process allocated before) took about 4x as long on an AMD EPYC VM: 1 MB in 0.7 ms instead
    of 0.15-0.2 ms, the whole scan of a 6 MB file 8.3-8.7 ms instead of 5.3-6.6 ms."""
    raw = np.empty(n_bytes + _CACHE_LINE_BYTES, dtype=np.uint8)
    start = -raw.ctypes.data % _CACHE_LINE_BYTES
    return raw[start : start + n_bytes]


def _line_end_length(data: np.ndarray, newline: int) -> int:
    """2 for a line ending in "\\r\\n" at ``newline``, else 1."""
    return 2 if newline > 0 and data[newline - 1] == _RETURN else 1


def _end_last_line(data: np.ndarray, size: int, line_end_length: int) -> int:
    """Add a line end after a last line without one; where the rows end."""
    if data[size - 1] == _NEWLINE:
        return size
    if line_end_length == 2:
        data[size] = _RETURN
    data[size + line_end_length - 1] = _NEWLINE
    return size + line_end_length


def _read_into(descriptor: int, view: np.ndarray, offset: int) -> int:
    """Read the file from ``offset`` into ``view`` until it is full or the file ends; the
    bytes read (os.preadv leaves the file position alone and the GIL free)."""
    done = 0
    buffer = memoryview(view)
    while done < len(buffer):
        n = os.preadv(descriptor, [buffer[done:]], offset + done)
        if n == 0:
            break
        done += n
    return done


@njit(cache=True, nogil=True)
def _find_last_newline(data, start, end):
    """The last "\\n" in ``data[start:end]``, or -1."""
    for k in range(end - 1, start - 1, -1):
        if data[k] == _NEWLINE:
            return k
    return -1


@njit(cache=True, nogil=True)
def _find_newline(data, start, end):
    """The first "\\n" in ``data[start:end]``, or -1."""
    for k in range(start, end):
        if data[k] == _NEWLINE:
            return k
    return -1


@njit(cache=True)
def scatter_rows(panel, written, date_run, row_of_run, symbol_code, column_of_code, values) -> bool:
    """``panel[row_of_run[date_run[i]], column_of_code[symbol_code[i]]] = values[i]`` for
    every row i, marking the cell in ``written`` (False where none is yet); False when a cell
    is written twice."""
    for i in range(values.size):
        row, column = row_of_run[date_run[i]], column_of_code[symbol_code[i]]
        if written[row, column]:
            return False
        written[row, column] = True
        panel[row, column] = values[i]
    return True


_SPLIT_BYTES = 1 << 20
_CACHE_LINE_BYTES = 64
_CHUNK_BYTES = 1 << 20  # read, then scanned while in the core's cache (L2: 512 KB-1 MB)


class _Rows:
    """The rows of one part of a file, scanned as its bytes arrive: :meth:`scan_to` scans
    those up to a line's end, each ending in ``line_end_length`` bytes, after the ones
    scanned before."""

    def __init__(self, data: np.ndarray, start: int, n_bytes: int, line_end_length: int):
        capacity = n_bytes // 15 + 1  # the shortest row: "YYYY-MM-DD,S,0\n"
        # Untouched pages of these cost nothing: only the rows' share is written.
        self.date_run = np.empty(capacity, dtype=np.int32)
        self.run_dates = np.empty(capacity, dtype=np.int64)
        self.symbol_code = np.empty(capacity, dtype=np.int32)
        self.symbol_keys = np.empty(capacity, dtype=np.uint64)
        self.values = np.empty(capacity)
        self.exact_fields = np.empty((capacity, 2), dtype=np.int64)
        # Rows, runs, symbols, exact fields, the last row's symbol code.
        self.counts = np.array([0, 0, 0, 0, -1], dtype=np.int64)
        self.last_date = np.zeros(2, dtype=np.uint64)
        self.slots = np.zeros(1024, dtype=np.int64)
        self.data, self.position, self.line_end_length = data, start, line_end_length
        self.result = PLAIN

    def scan_to(self, end: int) -> None:
        if self.result != PLAIN or end <= self.position:
            return
        while True:
            self.result, stopped = _scan(
                self.data,
                self.position,
                end,
                self.line_end_length,
                self.date_run,
                self.run_dates,
                self.symbol_code,
                self.symbol_keys,
                self.values,
                self.values.view(np.uint64),
                self.exact_fields,
                self.counts,
                self.last_date,
                self.slots,
            )
            if self.result != _GROW:
                break
            # A row with a new symbol found the table half full: grow it, rescan the row.
            self.slots = _grown(self.slots, self.symbol_keys, self.counts[2])
            self.position = stopped
        self.position = end

    def rows(self) -> ScannedRows:
        n_rows, n_runs, n_symbols, n_exact, _ = self.counts.tolist()
        return ScannedRows(
            self.result,
            self.date_run[:n_rows],
            self.run_dates[:n_runs],
            self.symbol_code[:n_rows],
            self.symbol_keys[:n_symbols],
            self.values[:n_rows],
            self.exact_fields[:n_exact],
        )


@njit(cache=True, nogil=True)
def _scan(
    data,
    start,
    end,
    line_end_length,
    date_run,
    run_dates,
    symbol_code,
    symbol_keys,
    values,
    value_bits,
    exact_fields,
    counts,
    last_date,
    slots,
):
    """Scan the rows in ``data[start:end]`` into the arrays (see :class:`ScannedRows`) after
    those an earlier call scanned: ``counts`` holds how many rows, runs, symbols and exact
    fields there are and the last row's symbol code, ``last_date`` its date as two words
    (its first 8 bytes, and the last 2 with the comma), ``slots`` the symbols' hash table.
    Returns (PLAIN or why not, where it stopped): _GROW at the start of a row whose new symbol
    found the table half full, to be scanned again once it is grown."""
    n_rows, n_runs, n_symbols, n_exact, last_code = (
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        counts[4],
    )
    last_date_head, last_date_tail = last_date[0], last_date[1]
    text = _bytes_of(data)
    position, result = start, PLAIN
    while position < end:
        row_start = position
        # The date: YYYY-MM-DD and a comma; checked and read where it differs from the last.
        if position + 11 > end:
            return NOT_PLAIN, position
        date_head = _load_word(text, position)
        date_tail = _load_word(text, position + 8) & _LOW_THREE_BYTES
        if n_runs == 0 or date_head != last_date_head or date_tail != last_date_tail:
            if data[position + 4] != _DASH or data[position + 7] != _DASH:
                return NOT_PLAIN, position
            date = 0
            for k in (0, 1, 2, 3, 5, 6, 8, 9):
                byte = data[position + k]
                if not _digit(byte):
                    return NOT_PLAIN, position
                date = date * 10 + (byte - _ZERO_DIGIT)
            if data[position + 10] != _COMMA:
                return NOT_PLAIN, position
            run_dates[n_runs] = date
            n_runs += 1
            last_date_head, last_date_tail = date_head, date_tail
        date_run[n_rows] = n_runs - 1
        position += 11

        # The symbol: 1-8 bytes above ',' and a comma.
        key = _load_word(text, position)
        length = _symbol_length(key)
        if length == 0 or data[position + length] != _COMMA:
            return NOT_PLAIN, position
        if length < 8:
            key &= (np.uint64(1) << np.uint64(8 * length)) - np.uint64(1)
        position += length + 1
        # Files list a date's symbols in the same order date after date: try the symbol
        # after the previous row's before the table.
        code = last_code + 1
        if code >= n_symbols or symbol_keys[code] != key:
            code = _symbol_code(key, symbol_keys, slots, n_symbols)
            if code < 0:
                result, position = _GROW, row_start
                break
            if code == n_symbols:
                n_symbols += 1
        symbol_code[n_rows] = last_code = code

        # The number: w * 10^q from its significant digits (those from the first nonzero one
        # on), exact in w while there are at most 19 of them.
        field_start = position
        negative = data[position] == _DASH
        if negative:
            position += 1
        integer_start = position
        position = _skip_zeros(text, position)
        w, digits_end = np.uint64(0), position
        if _digit(data[position]):  # not the usual 0.xxx, whose 0 was skipped
            w, digits_end = _accumulate_digits(text, position, w)
        n_significant = digits_end - position
        n_digits = digits_end - integer_start
        q = 0
        position = digits_end
        if data[position] == _DOT:
            fraction_start = position + 1
            position = fraction_start if n_significant else _skip_zeros(text, fraction_start)
            w, digits_end = _accumulate_digits(text, position, w)
            n_significant += digits_end - position
            n_digits += digits_end - fraction_start
            q = fraction_start - digits_end
            position = digits_end
        if n_digits == 0:
            return NOT_PLAIN, position
        if data[position] == 101 or data[position] == 69:  # e, E
            position += 1
            exponent_negative = data[position] == _DASH
            if exponent_negative:
                position += 1
            exponent, n_exponent_digits = 0, 0
            while _digit(data[position]):
                exponent = min(exponent * 10 + (data[position] - _ZERO_DIGIT), 100_000)
                n_exponent_digits += 1
                position += 1
            if n_exponent_digits == 0:
                return NOT_PLAIN, position
            q += -exponent if exponent_negative else exponent
        field_end = position

        # The line end.
        if line_end_length == 2:
            if position + 1 >= end or data[position] != _RETURN:
                return NOT_PLAIN, position
            position += 1
        if position >= end or data[position] != _NEWLINE:
            return NOT_PLAIN, position
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
                bits = decimal_to_double(w, q, negative)
                if bits & _EXPONENT_BITS == _EXPONENT_BITS and bits != NEEDS_EXACT:
                    return NOT_FINITE, position  # an infinity
            value_bits[n_rows] = bits
            if bits == NEEDS_EXACT:
                exact_fields[n_exact, 0] = field_start
                exact_fields[n_exact, 1] = field_end
                n_exact += 1
        n_rows += 1
    counts[0], counts[1], counts[2], counts[3], counts[4] = (
        n_rows,
        n_runs,
        n_symbols,
        n_exact,
        last_code,
    )
    last_date[0], last_date[1] = last_date_head, last_date_tail
    return result, position
