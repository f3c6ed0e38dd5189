"""Reading ``date, symbol, <value>`` CSV files (scores, target weights) into codes.

A file of 10^5 rows holds a few hundred distinct dates and symbols, so a file is returned as
:class:`DatedValues`: each row's code into its distinct date texts and symbol texts, and its
value. Distinct texts are parsed once (dates by pandas, as before), rows take theirs by code.

Two readers produce the same codes:

- :func:`_read_plain` handles the shape every writer of these files produces (a header
  ``date,symbol,<value>``; rows ``YYYY-MM-DD,SYMBOL,number`` ending in ``\\n`` or
  ``\\r\\n``; no quotes or spaces; symbols of 1-8 bytes) in one compiled pass over the
  file's bytes (:mod:`app.engine.dated_csv_scan`; a file over a megabyte in two halves at
  once), its numbers correctly rounded like Python's ``float()``
  (:mod:`app.engine.decimal_parse`). On the benchmark's 158,000 rows (6.1 MB) it takes about
  half the time of the numpy passes and Arrow cast it replaced (13.4 -> 7.4 ms, 2 cores).
- :func:`_read_with_pandas` reads anything else, and every file the plain reader declines
  (a quoted field, a blank line, a missing value, a column in another order ...), so a bad
  file gets pandas' reading and the same error messages as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from app.engine.errors import BacktestInputError

__all__ = ["DatedValues", "read_dated_csv"]


@dataclass(frozen=True)
class DatedValues:
    """A ``date, symbol, <value>`` file, row ``i`` being
    (``days[date_code[i]]``, ``symbols[symbol_code[i]]``, ``values[i]``)."""

    days: np.ndarray  # datetime64[ns] per distinct date text, normalized to midnight
    date_code: np.ndarray  # (n_rows,) int
    symbols: np.ndarray  # object: per distinct symbol text, stripped and upper-cased
    symbol_code: np.ndarray  # (n_rows,) int
    values: np.ndarray  # (n_rows,) float64

    def __len__(self) -> int:
        return len(self.values)


def read_dated_csv(path: Path, value_column: str, what: str) -> DatedValues:
    """Read a ``date, symbol, <value_column>`` CSV (``what``: "scores", "weights" in
    messages). Bad files raise :class:`BacktestInputError` naming the problem: missing file,
    unreadable CSV, missing columns, no rows, unreadable dates, missing or non-numeric values,
    duplicate (date, symbol) rows."""
    path = Path(path)
    if not path.is_file():
        raise BacktestInputError(f"{what} file not found: {path}")
    columns = _read_plain(path, value_column)
    if columns is None:
        columns = _read_with_pandas(path, value_column, what)
    date_code, date_texts, symbol_code, symbol_texts, values = columns
    days = _iso_days(date_texts)
    if days is None:
        distinct_dates = pd.to_datetime(pd.Series(date_texts, dtype=object), errors="coerce")
        if distinct_dates.isna().any():
            raise BacktestInputError(f"{what} file {path} has unreadable dates")
        days = distinct_dates.dt.normalize().to_numpy().astype("datetime64[ns]")
    if np.isnan(values).any():
        raise BacktestInputError(
            f"{what} file {path} has missing or non-numeric {value_column} values"
        )
    if _has_duplicate_pairs(date_code, len(date_texts), symbol_code, len(symbol_texts)):
        raise BacktestInputError(f"{what} file {path} has duplicate (date, symbol) rows")
    names = np.array([str(text).strip().upper() for text in symbol_texts], dtype=object)
    return DatedValues(days, date_code, names, symbol_code, values)


def _iso_days(texts) -> np.ndarray | None:
    """The dates of texts that are all ``YYYY-MM-DD`` (ASCII digits, years 1678-2261, where
    pandas' nanoseconds reach), as datetime64[ns]: what pandas reads from them, without its
    per-call cost. None for any other texts (pandas reads those)."""
    for text in texts:
        if not (
            isinstance(text, str)
            and len(text) == 10
            and text[4] == "-" == text[7]
            and text.isascii()
            and (text[:4] + text[5:7] + text[8:]).isdigit()
            and "1678" <= text[:4] <= "2261"
        ):
            return None
    try:
        return np.array(list(texts), dtype="datetime64[D]").astype("datetime64[ns]")
    except ValueError:  # a month or day that does not exist
        return None


def _has_duplicate_pairs(date_code, n_dates: int, symbol_code, n_symbols: int) -> bool:
    """Whether two rows share a (date text, symbol text) pair."""
    pairs = date_code.astype(np.int64) * n_symbols + symbol_code
    if n_dates * n_symbols <= max(4 * len(pairs), 1 << 20):
        # A count per possible pair: one pass, no sort (np.unique hashes or sorts 10^5 rows).
        return bool(np.bincount(pairs, minlength=n_dates * n_symbols).max(initial=0) > 1)
    ordered = np.sort(pairs)
    return bool(np.any(ordered[1:] == ordered[:-1]))


def _read_with_pandas(path: Path, value_column: str, what: str):
    """Any CSV pandas reads: (date codes, date texts, symbol codes, symbol texts, values; NaN
    where a value is missing or not a number)."""
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BacktestInputError(f"{what} file {path} is not a readable CSV: {exc}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in ("date", "symbol", value_column) if c not in frame.columns]
    if missing:
        raise BacktestInputError(
            f"{what} file {path} lacks columns: {', '.join(missing)} "
            f"(expected date, symbol, {value_column})"
        )
    if frame.empty:
        raise BacktestInputError(f"{what} file {path} has no rows")
    date_codes, date_texts = pd.factorize(frame["date"], use_na_sentinel=False)
    values = pd.to_numeric(frame[value_column], errors="coerce")  # NaN: missing or not a number
    symbol_codes, symbol_texts = pd.factorize(frame["symbol"], use_na_sentinel=False)
    return (
        date_codes,
        np.asarray(date_texts, dtype=object),
        symbol_codes,
        np.asarray(symbol_texts, dtype=object),
        values.astype(float).to_numpy(),
    )


# Texts pandas reads as missing (its default na_values): the plain reader leaves a file with
# such a date or symbol to pandas, so that it reads it as pandas always did.
_PANDAS_NA_TEXTS = frozenset(
    [
        *("#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"),
        *("<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
    ]
)
_NEWLINE, _RETURN = 10, 13


def _read_plain(path: Path, value_column: str):
    """The plain shape (module docstring), or None for pandas to read the file. Quotes,
    spaces, tabs, NUL and a stray ``\\r`` are all below ``,`` (44), which no field of the
    plain shape holds, so a file holding any of them is declined."""
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(0)
        buffer = bytearray(size + 2)  # room for a last line end
        size = handle.readinto(memoryview(buffer)[:size])
    header_end = buffer.find(b"\n", 0, size)
    if header_end < 0:
        return None
    try:
        header = bytes(buffer[:header_end]).decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if [name.strip().lower() for name in header.split(",")] != ["date", "symbol", value_column]:
        return None
    # Lines end as the header's does: "\n", or "\r\n" (Windows).
    line_end = b"\r\n" if header_end > 0 and buffer[header_end - 1] == _RETURN else b"\n"
    if buffer[size - 1] != _NEWLINE:
        buffer[size : size + len(line_end)] = line_end  # the last line without its end
        size += len(line_end)
    start = header_end + 1
    # Imported here: numba is only loaded by the processes that run backtests.
    from app.engine.dated_csv_scan import PLAIN, scan_rows

    result, date_run, run_dates, symbol_code, symbol_keys, values, exact_fields = scan_rows(
        buffer, start, size, len(line_end)
    )
    if result != PLAIN or len(values) == 0:
        return None
    run_code, date_keys = pd.factorize(run_dates)
    date_code = run_code[date_run]
    date_texts = np.array(
        [
            f"{key // 10000:04d}-{key // 100 % 100:02d}-{key % 100:02d}"
            for key in date_keys.tolist()
        ],
        dtype=object,
    )
    try:
        symbol_texts = [
            key.to_bytes(8, "little").rstrip(b"\0").decode() for key in symbol_keys.tolist()
        ]
    except UnicodeDecodeError:
        return None
    if not _pandas_reads_as_text(symbol_texts):
        return None
    if len(exact_fields):  # numbers of more than 19 significant digits
        exact = _parse_doubles(buffer, exact_fields[:, 0], exact_fields[:, 1])
        if exact is None:
            return None
        values[np.isnan(values)] = exact
    return date_code, date_texts, symbol_code, np.array(symbol_texts, dtype=object), values


def _pandas_reads_as_text(texts: list[str]) -> bool:
    """Whether pandas reads a column of these texts as the texts themselves: none is one of
    its missing-value markers and they are not all numbers (which it would parse)."""
    if any(text in _PANDAS_NA_TEXTS for text in texts):
        return False
    for text in texts:
        try:
            float(text)
        except ValueError:
            return True
    return False


def _parse_doubles(buffer: bytearray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray | None:
    """The numbers in ``buffer[starts[i]:ends[i]]`` by Arrow's cast (correctly rounded), or
    None when one is not a finite number (pandas then reads the file and names the problem)."""
    n = len(starts)
    if ends[-1] >= 2**31:
        return None
    # A string array over the buffer alternating value fields and the bytes between them,
    # the latter null (validity bits 0101...): the cast parses the fields in place, no copy.
    count = 2 * n - 1
    offsets = np.empty(2 * n, dtype=np.int32)
    offsets[0::2] = starts
    offsets[1::2] = ends
    validity = np.full((count + 7) // 8, 0x55, dtype=np.uint8)
    strings = pa.Array.from_buffers(
        pa.string(),
        count,
        [pa.py_buffer(validity), pa.py_buffer(offsets), pa.py_buffer(buffer)],
        null_count=n - 1,
    )
    try:
        parsed = pc.cast(strings, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    values = np.frombuffer(parsed.buffers()[1], dtype=np.float64, count=count)[0::2].copy()
    if not np.all(np.isfinite(values)):
        return None
    return values
