"""A finished backtest's files, written compactly: a sweep writes one set per trial, so this
is on every trial's path.

- ``equity.csv``: ``date,equity``, one row per session close, each value as ``repr`` (the
  shortest string that reads back as the same float) - the file the equity endpoint, the
  report's chart and the sweep analysis read (``services.backtests.equity_artifact``);
- ``result.json``: the LEAN-format result document (DESIGN §4.4: statistics, the daily equity
  curve, metrics, parameters) without the order list, which nothing in the API or the report
  reads, and without LEAN's ``charts`` copy of the equity (the same points as ``equity``);
  the fills go to ``orders.npz`` as columns (numpy's own format, a few hundred
  microseconds to write where a JSON list of thousands of objects took ten milliseconds)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from app.engine import statistics as st
from app.engine.backtest import BacktestResult, _jsonable


def day_strings(dates: np.ndarray) -> list[str]:
    """ISO days (``YYYY-MM-DD``) of datetime64 values, all at once."""
    return np.datetime_as_string(np.asarray(dates).astype("datetime64[D]"), unit="D").tolist()


@lru_cache(maxsize=8)
def _session_days(sessions: bytes) -> tuple[str, ...]:
    return tuple(day_strings(np.frombuffer(sessions, dtype="datetime64[ns]")))


def session_days(dates: np.ndarray) -> tuple[str, ...]:
    """:func:`day_strings` of a run's sessions, kept for the few windows a process sees: every
    trial of a sweep has the same sessions."""
    return _session_days(np.asarray(dates, dtype="datetime64[ns]").tobytes())


def equity_csv_text(dates: np.ndarray, equity: np.ndarray) -> str:
    """The ``equity.csv`` text: what ``Series.to_csv(index_label="date")`` writes for a float
    series named ``equity`` (floats as ``repr``), built without pandas' per-row machinery."""
    return _equity_csv(session_days(dates), _reprs(equity))


def _reprs(equity: np.ndarray) -> list[str]:
    return list(map(repr, np.asarray(equity, dtype=float).tolist()))


def _equity_csv(days: tuple[str, ...], values: list[str]) -> str:
    rows = (f"{day},{value}" for day, value in zip(days, values, strict=True))
    return "date,equity\n" + "\n".join(rows) + "\n"


def result_document(result: BacktestResult, points: Any = None) -> dict[str, Any]:
    """:meth:`BacktestResult.to_lean_result` without ``orders`` and ``charts`` (see the
    module docstring); ``points`` stands in for the equity points when given."""
    metrics = result.metrics
    if points is None:
        points = [[result.start_date.date().isoformat(), float(metrics["start_equity"])]]
        points += [
            list(pair)
            for pair in zip(
                session_days(result.equity.index.values),
                result.equity.to_numpy().tolist(),
                strict=True,
            )
        ]
    return {
        "statistics": dict(result.statistics),
        "runtimeStatistics": {
            "Equity": st.format_money(float(metrics["end_equity"])),
            "Fees": st.format_money(-float(metrics["total_fees"])),
            "Net Profit": st.format_money(float(metrics["net_profit"])),
            "Return": st.format_percent(float(metrics["total_return"]), 2),
        },
        "equity": points,
        "orders_file": "orders.npz",
        "metrics": {k: (bool(v) if isinstance(v, bool) else float(v)) for k, v in metrics.items()},
        "parameters": {k: _jsonable(v) for k, v in result.parameters.items()},
        "provenance": dict(result.provenance),
    }


def write_backtest_artifacts(directory: Path, result: BacktestResult) -> None:
    """``equity.csv``, ``orders.npz`` and, last, ``result.json`` (written atomically: a
    directory with a ``result.json`` is complete)."""
    directory.mkdir(parents=True, exist_ok=True)
    equity = result.equity.to_numpy()
    if not np.isfinite(equity).all():
        raise ValueError(f"equity is not finite: {equity[~np.isfinite(equity)][:3]}")
    # The days and the floats' texts are made once for both files.
    days = session_days(result.equity.index.values)
    values = _reprs(equity)
    (directory / "equity.csv").write_text(_equity_csv(days, values))
    simulation = result.simulation
    assets = simulation.fills[:, 0].astype(np.int64)
    sessions = simulation.sessions.values.astype("datetime64[D]")
    np.savez(
        directory / "orders.npz",
        decision_date=sessions[simulation.fill_rows[:, 0]],
        fill_date=sessions[simulation.fill_rows[:, 1]],
        symbol=np.asarray(simulation.symbols, dtype=str)[assets],
        quantity=simulation.fills[:, 1].copy(),
        price=simulation.fills[:, 2].copy(),
        fee=simulation.fills[:, 3].copy(),
    )
    # json.dumps would write the equity points as exactly this text: [["day", float repr], ...].
    start = [result.start_date.date().isoformat(), float(result.metrics["start_equity"])]
    points = ", ".join(
        [
            json.dumps(start),
            *(f'["{day}", {value}]' for day, value in zip(days, values, strict=True)),
        ]
    )
    document = json.dumps(
        result_document(result, points=_EQUITY_PLACEHOLDER), allow_nan=False, default=str
    ).replace(f'"{_EQUITY_PLACEHOLDER}"', f"[{points}]", 1)
    tmp = directory / "result.json.tmp"
    tmp.write_text(document)
    tmp.replace(directory / "result.json")


_EQUITY_PLACEHOLDER = "@@stocklean equity points@@"  # precedes anything a user wrote
