"""Reading ``date, symbol, <value>`` CSV files (scores, target weights) into a dense table.

Every reader of these files wants a date x symbol table (a scores panel, a schedule of
target weights), so a file is returned as :class:`DatedPanel`: its distinct dates and
symbols, sorted, and per (date, symbol) the value of the file's row for it, NaN where there
is none. A file of 10^5 rows holds a few hundred distinct dates and symbols: rows carry codes
into their distinct texts, the texts are parsed once, and the rows are scattered by code.

Two readers produce the same codes:

- :func:`_read_plain` handles the shape every writer of these files produces (a header
  ``date,symbol,<value>``; rows ``YYYY-MM-DD,SYMBOL,number`` ending in ``\\n`` or
  ``\\r\\n``; no quotes or spaces; symbols of 1-8 bytes) in one compiled pass over the
  file's bytes (:mod:`app.engine.dated_csv_scan`; a file over a megabyte in two halves at
  once), its numbers correctly rounded like Python's ``float()``
  (:mod:`app.engine.decimal_parse`).
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

__all__ = ["DatedPanel", "read_dated_csv"]


@dataclass(frozen=True)
class DatedPanel:
    """A ``date, symbol, <value>`` file: ``values[i, j]`` is the value its row
    (``dates[i]``, ``symbols[j]``) holds, the reader's ``missing`` (NaN unless it asks
    otherwise) where it has no such row."""

    dates: np.ndarray  # datetime64[ns], ascending and distinct, at midnight
    symbols: np.ndarray  # str: sorted distinct symbols, stripped and upper-cased
    values: np.ndarray  # (n_dates, n_symbols) float64
    has_row: np.ndarray  # (n_dates, n_symbols) bool: whether the file has that row
    n_rows: int  # rows in the file


@dataclass(frozen=True)
class _CodedRows:
    """Rows as codes into a part's distinct dates and symbols, and their values; a code's
    date (symbol) is ``days[date_index[code]]`` (``symbol_texts[symbol_index[code]]``) of
    the file's distinct dates and symbols."""

    date_code: np.ndarray
    date_index: np.ndarray
    symbol_code: np.ndarray
    symbol_index: np.ndarray
    values: np.ndarray


def read_dated_csv(path: Path, value_column: str, what: str, missing: float = np.nan) -> DatedPanel:
    """Read a ``date, symbol, <value_column>`` CSV (``what``: "scores", "weights" in
    messages); ``missing``: the value of a (date, symbol) without a row. Bad files raise
    :class:`BacktestInputError` naming the problem: missing file, unreadable CSV, missing
    columns, no rows, unreadable dates, missing or non-numeric values, two rows for one
    (date, symbol)."""
    path = Path(path)
    if not path.is_file():
        raise BacktestInputError(f"{what} file not found: {path}")
    read = _read_plain(path, value_column)
    plain = read is not None  # then every value is a finite number
    if not plain:
        read = _read_with_pandas(path, value_column, what)
    parts, days, symbol_texts = read
    if days is None:
        raise BacktestInputError(f"{what} file {path} has unreadable dates")
    if not plain and any(np.isnan(part.values).any() for part in parts):
        raise BacktestInputError(
            f"{what} file {path} has missing or non-numeric {value_column} values"
        )
    # Imported here: numba is only loaded by the processes that run backtests.
    from app.engine.dated_csv_scan import scatter_rows

    dates, row_of_date = np.unique(days, return_inverse=True)
    symbols, column_of_symbol = np.unique(_symbol_names(symbol_texts), return_inverse=True)
    values = np.full((len(dates), len(symbols)), missing)
    written = np.zeros(values.shape, dtype=np.bool_)
    for part in parts:
        if not scatter_rows(
            values,
            written,
            part.date_code,
            row_of_date[part.date_index],
            part.symbol_code,
            column_of_symbol[part.symbol_index],
            part.values,
        ):
            raise BacktestInputError(f"{what} file {path} has duplicate (date, symbol) rows")
    return DatedPanel(dates, symbols, values, written, sum(len(part.values) for part in parts))


def _symbol_names(texts: np.ndarray) -> np.ndarray:
    """The symbols as compared: stripped and upper-cased. The plain reader's texts (a
    fixed-width array of ASCII without spaces) are upper-cased on their character codes in
    one pass (numpy's own ``strings.upper`` calls Python's per text), others by Python."""
    if texts.dtype.kind == "U":
        codes = texts.view(np.uint32)
        lower = (codes >= ord("a")) & (codes <= ord("z"))
        return (codes - np.uint32(32) * lower).view(texts.dtype)
    return np.array([str(text).strip().upper() for text in texts], dtype=str)


def _days_of_keys(keys: np.ndarray) -> np.ndarray | None:
    """Dates written as integers YYYYMMDD as datetime64[ns]; None when one is not a date
    (a month or day that does not exist) or its year is outside 1678-2261 (where pandas'
    nanoseconds reach), for pandas to read the file."""
    year, month, day = keys // 10000, keys // 100 % 100, keys % 100
    if not np.all((year >= 1678) & (year <= 2261) & (month >= 1) & (month <= 12) & (day >= 1)):
        return None
    months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    days = months.astype("datetime64[D]") + (day - 1)
    if np.any(days >= (months + 1).astype("datetime64[D]")):  # past the month's end
        return None
    return days.astype("datetime64[ns]")


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


def _read_with_pandas(path: Path, value_column: str, what: str):
    """Any CSV pandas reads: ([its rows], the days of its distinct date texts or None if one
    is not a date, its distinct symbol texts); values NaN where missing or not a number."""
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
    days = _iso_days(date_texts)
    if days is None:
        parsed = pd.to_datetime(pd.Series(date_texts, dtype=object), errors="coerce")
        if not parsed.isna().any():
            days = parsed.dt.normalize().to_numpy().astype("datetime64[ns]")
    values = values.astype(float).to_numpy()
    # As the plain reader's codes (one compiled scatter for both).
    date_codes, symbol_codes = date_codes.astype(np.int32), symbol_codes.astype(np.int32)
    rows = _CodedRows(
        date_codes, np.arange(len(date_texts)), symbol_codes, np.arange(len(symbol_texts)), values
    )
    return [rows], days, np.asarray(symbol_texts, dtype=object)


# Texts pandas reads as missing (its default na_values): the plain reader leaves a file with
# such a date or symbol to pandas, so that it reads it as pandas always did.
_PANDAS_NA_TEXTS = frozenset(
    [
        *("#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"),
        *("<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
    ]
)


def _read_plain(path: Path, value_column: str):
    """The plain shape (module docstring) as :func:`_read_with_pandas` returns it, or None
    for pandas to read the file. Quotes, spaces, tabs, NUL and a stray ``\\r`` are all
    below ``,`` (44), which no field of the plain shape holds, so a file holding any of them
    is declined."""
    from app.engine.dated_csv_scan import PLAIN, scan_file

    scanned = scan_file(path)
    if scanned is None:
        return None
    data, parts = scanned.data, scanned.parts
    try:
        header = data[: scanned.header_end].tobytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if [name.strip().lower() for name in header.split(",")] != ["date", "symbol", value_column]:
        return None
    if any(part.result != PLAIN for part in parts) or not sum(len(p.values) for p in parts):
        return None
    days = _days_of_keys(np.concatenate([part.run_dates for part in parts]))
    if days is None:
        return None
    # The halves mostly share their symbols: each distinct one is decoded once.
    keys, symbol_index = np.unique(
        np.concatenate([part.symbol_keys for part in parts]), return_inverse=True
    )
    symbol_texts = _texts_of_keys(keys)
    if symbol_texts is None or not _pandas_reads_as_text(symbol_texts):
        return None
    rows = []
    n_dates, n_symbols = 0, 0
    for part in parts:
        if len(part.exact_fields):  # numbers of more than 19 significant digits
            exact = _parse_doubles(data, part.exact_fields[:, 0], part.exact_fields[:, 1])
            if exact is None:
                return None
            part.values[np.isnan(part.values)] = exact
        date_index = np.arange(n_dates, n_dates + len(part.run_dates))
        part_symbols = symbol_index[n_symbols : n_symbols + len(part.symbol_keys)]
        codes = _CodedRows(part.date_run, date_index, part.symbol_code, part_symbols, part.values)
        rows.append(codes)
        n_dates += len(part.run_dates)
        n_symbols += len(part.symbol_keys)
    return rows, days, symbol_texts


def _texts_of_keys(keys: np.ndarray) -> np.ndarray | None:
    """The symbols whose bytes the scan holds as little-endian integers (the first byte
    the lowest, zeros after the last): ASCII ones as a fixed-width text array, read from the
    integers' own bytes; others decoded as UTF-8 (None when they are not)."""
    if not np.any(keys & _TOP_BITS):
        return keys.astype("<u8").view("S8").astype("U8")  # numpy drops the trailing zeros
    try:
        texts = [key.to_bytes(8, "little").rstrip(b"\0").decode() for key in keys.tolist()]
    except UnicodeDecodeError:
        return None
    return np.array(texts, dtype=object)


_TOP_BITS = np.uint64(0x8080_8080_8080_8080)  # a byte's top bit: not ASCII


def _pandas_reads_as_text(texts: np.ndarray) -> bool:
    """Whether pandas reads a column of these texts as the texts themselves: none is one of
    its missing-value markers and they are not all numbers (which it would parse)."""
    texts = texts.tolist()
    if any(text in _PANDAS_NA_TEXTS for text in texts):
        return False
    for text in texts:
        try:
            float(text)
        except ValueError:
            return True
    return False


def _parse_doubles(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray | None:
    """The numbers in ``data[starts[i]:ends[i]]`` (bytes) by Arrow's cast (correctly rounded), or
    None when one is not a finite number (pandas then reads the file and names the problem)."""
    n = len(starts)
    if ends[-1] >= 2**31:
        return None
    # A string array over the bytes alternating value fields and the bytes between them,
    # the latter null (validity bits 0101...): the cast parses the fields in place, no copy.
    count = 2 * n - 1
    offsets = np.empty(2 * n, dtype=np.int32)
    offsets[0::2] = starts
    offsets[1::2] = ends
    validity = np.full((count + 7) // 8, 0x55, dtype=np.uint8)
    strings = pa.Array.from_buffers(
        pa.string(),
        count,
        [pa.py_buffer(validity), pa.py_buffer(offsets), pa.py_buffer(data)],
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
