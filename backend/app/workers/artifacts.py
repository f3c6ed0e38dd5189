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
from pathlib import Path
from typing import Any

import numpy as np

from app.engine import statistics as st
from app.engine.backtest import BacktestResult, _jsonable


def day_strings(dates: np.ndarray) -> list[str]:
    """ISO days (``YYYY-MM-DD``) of datetime64 values, all at once."""
    return np.datetime_as_string(np.asarray(dates).astype("datetime64[D]"), unit="D").tolist()


def equity_csv_text(dates: np.ndarray, equity: np.ndarray) -> str:
    """The ``equity.csv`` text: what ``Series.to_csv(index_label="date")`` writes for a float
    series named ``equity`` (floats as ``repr``), built without pandas' per-row machinery."""
    values = map(repr, np.asarray(equity, dtype=float).tolist())
    rows = (f"{day},{value}" for day, value in zip(day_strings(dates), values, strict=True))
    return "date,equity\n" + "\n".join(rows) + "\n"


def result_document(result: BacktestResult) -> dict[str, Any]:
    """:meth:`BacktestResult.to_lean_result` without ``orders`` and ``charts`` (see the
    module docstring)."""
    metrics = result.metrics
    points = [[result.start_date.date().isoformat(), float(metrics["start_equity"])]]
    points += [
        list(pair)
        for pair in zip(
            day_strings(result.equity.index.values), result.equity.to_numpy().tolist(), strict=True
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
    (directory / "equity.csv").write_text(
        equity_csv_text(result.equity.index.values, result.equity.to_numpy())
    )
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
    document = json.dumps(result_document(result), allow_nan=False, default=str)
    tmp = directory / "result.json.tmp"
    tmp.write_text(document)
    tmp.replace(directory / "result.json")
