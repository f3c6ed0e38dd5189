"""Registering a scores file produced elsewhere (a notebook, another pipeline).

The format is the one :func:`app.ml.training.train_walk_forward` writes: a CSV with a header
line and the columns ``date`` (``yyyy-mm-dd``, a trading session), ``symbol`` and ``score``
(a finite number; higher = better), one row per (date, symbol). Extra columns are ignored.
A score dated ``d`` must only use information known at ``d``'s close; that cannot be
checked here and is the producer's promise.

Line numbers in messages are the file's lines: the header is line 1, the first data row
line 2.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from app.engine.market import MarketData
from app.ml.files import SCORES_COLUMNS, write_scores_csv

MAX_REPORTED_ERRORS = 20
IMPORTED_SCORES_FILENAME = "scores.csv"
_FIRST_DATA_LINE = 2


class ScoresValidationError(ValueError):
    """A scores file that cannot be used; ``errors`` lists the problems (at most
    :data:`MAX_REPORTED_ERRORS`, plus a final line saying how many more there were)."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("invalid scores file: " + "; ".join(self.errors))


def validate_scores_file(path: Path, data: MarketData | None = None) -> pd.DataFrame:
    """Read and check a scores file; return it as a DataFrame with columns ``date``
    (datetime64), ``symbol`` (str), ``score`` (float64), sorted by date then symbol.

    Checks: the file is UTF-8 CSV with the columns date, symbol, score; every date parses
    as ``yyyy-mm-dd``; every symbol is non-empty; every score is a finite number; no
    (date, symbol) pair repeats. With ``data``: every symbol is in the panel and every date
    is one of its sessions. Blank lines are skipped. Raises :class:`ScoresValidationError`.
    """
    raw = _read_text_table(Path(path))
    raw.columns = [str(column).strip() for column in raw.columns]
    missing = [column for column in SCORES_COLUMNS if column not in raw.columns]
    if missing:
        found = ", ".join(raw.columns) or "nothing"
        raise ScoresValidationError(
            [
                f"missing column(s) {', '.join(missing)}: the header must name "
                f"{','.join(SCORES_COLUMNS)} (found {found})"
            ]
        )

    table = pd.DataFrame({column: raw[column].astype(str).str.strip() for column in SCORES_COLUMNS})
    table["line"] = np.arange(len(table)) + _FIRST_DATA_LINE
    blank = (table["date"] == "") & (table["symbol"] == "") & (table["score"] == "")
    table = table[~blank]
    if table.empty:
        raise ScoresValidationError(["the file has a header but no data rows"])

    errors: list[tuple[int, str]] = []
    dates = pd.to_datetime(table["date"], format="%Y-%m-%d", errors="coerce")
    for line, text in _lines_and_values(table, dates.isna(), "date"):
        errors.append((line, f"line {line}: date {text!r} is not a yyyy-mm-dd date"))
    for line, _ in _lines_and_values(table, table["symbol"] == "", "symbol"):
        errors.append((line, f"line {line}: symbol is empty"))
    scores = pd.to_numeric(table["score"], errors="coerce").astype(np.float64)
    bad_score = ~np.isfinite(scores.to_numpy())
    for line, text in _lines_and_values(table, bad_score, "score"):
        errors.append((line, f"line {line}: score {text!r} is not a finite number"))

    keyed = (dates.notna() & (table["symbol"] != "")).to_numpy()
    pairs = pd.DataFrame({"date": dates, "symbol": table["symbol"], "line": table["line"]})[keyed]
    first_line = pairs.groupby(["date", "symbol"], sort=False)["line"].transform("first")
    repeated = pairs[pairs["line"] != first_line]
    for line, day, symbol, original in zip(
        repeated["line"],
        repeated["date"],
        repeated["symbol"],
        first_line[repeated.index],
        strict=True,
    ):
        errors.append(
            (
                int(line),
                f"line {line}: duplicate ({day.date()}, {symbol}) already on line {original}",
            )
        )

    if data is not None:
        errors.extend(_check_against_market(pairs, data))

    if errors:
        errors.sort(key=lambda item: item[0])
        messages = [message for _, message in errors[:MAX_REPORTED_ERRORS]]
        if len(errors) > MAX_REPORTED_ERRORS:
            messages.append(f"... and {len(errors) - MAX_REPORTED_ERRORS} more problems")
        raise ScoresValidationError(messages)

    frame = pd.DataFrame(
        {
            "date": dates.to_numpy(),
            "symbol": table["symbol"].to_numpy(dtype=object),
            "score": scores.to_numpy(),
        }
    )
    return frame.sort_values(["date", "symbol"], kind="stable").reset_index(drop=True)


def import_scores_file(
    src: Path,
    dest_dir: Path,
    data: MarketData | None = None,
    *,
    filename: str = IMPORTED_SCORES_FILENAME,
) -> Path:
    """Validate ``src`` (:func:`validate_scores_file`) and write it, normalised (three
    columns, sorted, ISO dates), to ``dest_dir / filename`` atomically: either the complete
    file appears or nothing changes. Returns the written path."""
    frame = validate_scores_file(src, data)
    return write_scores_csv(
        Path(dest_dir) / filename,
        np.asarray(frame["date"].dt.strftime("%Y-%m-%d")),
        frame["symbol"].to_numpy(),
        frame["score"].to_numpy(),
    )


def _read_text_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ScoresValidationError([f"{path}: no such file"])
    try:
        with warnings.catch_warnings():
            # index_col=False stops pandas from silently turning the first column into an
            # index when every row has one field too many; it then only warns and drops
            # the extra fields, which must be an error instead.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                index_col=False,
                encoding="utf-8",
            )
    except pd.errors.EmptyDataError:
        raise ScoresValidationError(
            [f"the file is empty: expected the header line {','.join(SCORES_COLUMNS)}"]
        ) from None
    except pd.errors.ParserWarning:
        raise ScoresValidationError([_first_overlong_row(path)]) from None
    except pd.errors.ParserError as exc:
        raise ScoresValidationError([f"malformed CSV: {exc}".strip()]) from None
    except UnicodeDecodeError as exc:
        raise ScoresValidationError([f"not UTF-8 text: {exc}"]) from None


def _first_overlong_row(path: Path) -> str:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        n_header = len(next(reader))
        for row in reader:
            if len(row) > n_header:
                return (
                    f"malformed CSV: line {reader.line_num} has {len(row)} fields, "
                    f"the header {n_header}"
                )
    return "malformed CSV: a row has more fields than the header"


def _lines_and_values(table: pd.DataFrame, mask, column: str) -> list[tuple[int, str]]:
    chosen = table[np.asarray(mask)]
    return list(zip(chosen["line"].astype(int), chosen[column], strict=True))


def _check_against_market(pairs: pd.DataFrame, data: MarketData) -> list[tuple[int, str]]:
    """Unknown symbols and non-session dates, one message per distinct value (a file with
    a wrong symbol usually has it on thousands of rows)."""
    errors: list[tuple[int, str]] = []
    known_symbol = pairs["symbol"].map(data.has_symbol).to_numpy(dtype=bool)
    for symbol, group in pairs[~known_symbol].groupby("symbol", sort=False):
        errors.append(_grouped(group, f"symbol {symbol!r} is not in the market data"))

    sessions = data.sessions
    is_session = pairs["date"].isin(sessions).to_numpy()
    first, last = sessions[0].date(), sessions[-1].date()
    for day, group in pairs[~is_session].groupby("date", sort=False):
        if first <= day.date() <= last:
            problem = f"date {day.date()} is not a trading session"
        else:
            problem = f"date {day.date()} is outside the market data ({first} .. {last})"
        errors.append(_grouped(group, problem))
    return errors


def _grouped(group: pd.DataFrame, problem: str) -> tuple[int, str]:
    first_line = int(group["line"].min())
    if len(group) == 1:
        return first_line, f"line {first_line}: {problem}"
    return first_line, f"line {first_line}: {problem} ({len(group)} rows, first on this line)"
