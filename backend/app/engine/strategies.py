"""Strategies turn parameters and the market panel into a target schedule: the session rows
whose close decides a rebalance and the target weights decided there. They only read data up
to the decision close (scores dated <= the decision day, prices up to its close)."""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from app.engine.dated_csv import read_dated_csv
from app.engine.errors import BacktestInputError
from app.engine.market import MarketData
from app.engine.set_holdings import set_holdings_plan
from app.engine.vol_target import sleeve_volatility, sleeve_weights, top_scores


@dataclass
class TargetSchedule:
    columns: np.ndarray  # panel columns of the traded assets
    decision_rows: np.ndarray  # panel rows (ascending) whose close decides a rebalance
    weights: np.ndarray  # (n_decisions, n_assets); NaN: no target for that asset
    modes: np.ndarray | None = None  # simulator DECIDE_* per decision (None: always)


def rebalance_rows(sessions: pd.DatetimeIndex, first: int, last: int, frequency: str) -> np.ndarray:
    """Panel rows in [first, last] that start a period: every session (daily), the first
    session of each ISO week (weekly) or of each month (monthly); the window's first session
    always counts, so the portfolio is invested at once."""
    window = sessions[first : last + 1]
    if frequency == "daily":
        return np.arange(first, last + 1)
    if frequency == "weekly":
        # 1970-01-01 was a Thursday: (days + 3) // 7 numbers Monday-based weeks.
        days = window.values.astype("datetime64[D]").astype(np.int64)
        period = (days + 3) // 7
    elif frequency == "monthly":
        period = window.values.astype("datetime64[M]").astype(np.int64)
    else:
        raise BacktestInputError(
            f"unknown rebalance {frequency!r} (expected daily, weekly or monthly)"
        )
    starts = np.ones(len(window), dtype=bool)
    starts[1:] = period[1:] != period[:-1]
    return first + np.nonzero(starts)[0]


def check_symbols(data: MarketData, symbols) -> np.ndarray:
    """The panel columns of ``symbols`` (a sequence or array of str); those not in the data
    raise, named in their order."""
    columns = data.columns_of(symbols)
    if (columns < 0).any():
        missing = [str(s) for s, c in zip(symbols, columns.tolist(), strict=True) if c < 0]
        raise BacktestInputError(f"symbols not in the data: {', '.join(missing)}")
    return columns


@dataclass(frozen=True)
class ScorePanel:
    dates: np.ndarray  # datetime64[ns], ascending unique score dates
    symbols: tuple[str, ...]
    scores: np.ndarray  # (n_dates, n_symbols), NaN where a symbol has no score that day


_score_cache: dict[tuple[str, int, int], ScorePanel] = {}
_score_lock = threading.Lock()


def read_score_panel(path: Path) -> ScorePanel:
    """Read a scores CSV (date, symbol, score) into a dense date x symbol panel, cached per
    process by (path, mtime, size) so sweeps over one scores file parse it once."""
    try:
        stat = os.stat(path)
    except OSError:
        raise BacktestInputError(f"scores file not found: {path}") from None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _score_lock:
        if key in _score_cache:
            return _score_cache[key]
    file = read_dated_csv(path, "score", "scores")
    result = ScorePanel(file.dates, tuple(str(s) for s in file.symbols), file.values)
    with _score_lock:
        _score_cache[key] = result
    return result


@dataclass(frozen=True)
class SleeveSelection:
    """What every trial of a sweep over the sleeve's sizing parameters shares: the traded
    columns (candidates, then the risk-off symbols), the rebalance rows, and per rebalance
    the names chosen (``decision``/``name`` pairs, in order) with the volatility estimate of
    their equal-weight sleeve (NaN where none is chosen)."""

    columns: np.ndarray
    n_candidates: int
    n_risk_off: int
    rows: np.ndarray
    decision: np.ndarray
    name: np.ndarray
    count: np.ndarray
    estimate: np.ndarray


# Per market panel (weakly, so a dropped panel frees its entries): the selections made on it,
# by scores panel and selection parameters. A sweep varies max_exposure / vol_target /
# max_weight, which only size the sleeve; its names and volatility estimates are computed once.
_selections: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MAX_SELECTIONS_PER_PANEL = 16


def sleeve_selection(
    data: MarketData, panel: ScorePanel, first: int, last: int, params: dict
) -> SleeveSelection:
    """:class:`SleeveSelection` for ``params`` (score_csv_path, risk_off_symbols, rebalance,
    top_n, vol_lookback), memoised per process: a pure function of its inputs, which are
    never mutated."""
    risk_off = tuple(
        s.strip().upper() for s in str(params["risk_off_symbols"]).split(",") if s.strip()
    )
    key = (first, last, risk_off, params["rebalance"], int(params["top_n"]))
    key += (int(params["vol_lookback"]),)
    with _score_lock:
        cached = _selections.setdefault(data, {}).get(key)
    if cached is not None and cached[0] is panel:
        return cached[1]
    selection = _select_sleeve(data, panel, first, last, risk_off, key)
    with _score_lock:
        entries = _selections.setdefault(data, {})
        if len(entries) >= _MAX_SELECTIONS_PER_PANEL:
            entries.pop(next(iter(entries)))
        entries[key] = (panel, selection)
    return selection


def _select_sleeve(data, panel, first, last, risk_off, key) -> SleeveSelection:
    _, _, _, rebalance, top_n, lookback = key
    try:
        score_columns = np.array([data.column(s) for s in panel.symbols], dtype=np.int64)
    except KeyError:
        unknown = [s for s in panel.symbols if not data.has_symbol(s)]
        shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise BacktestInputError(
            f"symbols not in the data: {shown} (from the scores file)"
        ) from None
    if not risk_off:
        raise BacktestInputError("risk_off_symbols is empty")
    risk_off_columns = check_symbols(data, list(risk_off))
    candidate = ~np.isin(score_columns, risk_off_columns)
    columns = np.concatenate([score_columns[candidate], risk_off_columns])
    n_candidates = int(candidate.sum())
    candidate_columns = columns[:n_candidates]

    sessions = data.sessions.values
    window_start, window_end = sessions[first], sessions[last]
    in_window = (panel.dates >= window_start) & (panel.dates <= window_end)
    known_at_start = panel.dates <= window_start
    if not in_window.any() and not known_at_start.any():
        raise BacktestInputError(
            f"scores file has no rows in the window {pd.Timestamp(window_start).date()} .. "
            f"{pd.Timestamp(window_end).date()}"
        )
    rows = rebalance_rows(data.sessions, first, last, rebalance)

    # The choice of names for every rebalance at once: the latest scores dated <= d, among
    # names with a finite score and a valid close on d.
    latest_score_row = np.searchsorted(panel.dates, sessions[rows], side="right") - 1
    today = panel.scores[np.maximum(latest_score_row, 0)][:, candidate]
    decision_close = data.close[rows][:, candidate_columns]
    eligible = (
        (latest_score_row >= 0)[:, None]
        & np.isfinite(today)
        & np.isfinite(decision_close)
        & (decision_close > 0)
    )
    decision, name = top_scores(today, eligible, top_n).nonzero()
    count = np.bincount(decision, minlength=len(rows))
    estimate = np.full(len(rows), np.nan)
    bounds = np.searchsorted(decision, np.arange(len(rows) + 1)).tolist()
    for k, row in enumerate(rows.tolist()):
        chosen = name[bounds[k] : bounds[k + 1]]
        if chosen.size:
            window = data.close[max(row - lookback, 0) : row + 1, candidate_columns[chosen]]
            returns = window[1:] / window[:-1] - 1.0
            finite = np.isfinite(returns)
            if not finite.all():
                returns[~finite] = 0.0
            n = returns.shape[1]
            estimate[k] = sleeve_volatility(returns, np.full(n, 1.0 / n))
    return SleeveSelection(
        columns, n_candidates, len(risk_off_columns), rows, decision, name, count, estimate
    )


def ml_score_vol_target_schedule(
    data: MarketData, first: int, last: int, params: dict
) -> TargetSchedule:
    """DESIGN §6. On each rebalance day d (only data up to d's close): the latest scores dated
    <= d, the top_n names with a valid close on d (:func:`sleeve_selection`), each weighted
    by :func:`~app.engine.vol_target.vol_target_weight` from the trailing ``vol_lookback``
    daily close-to-close returns up to d (:func:`~app.engine.vol_target.sleeve_weights`), the
    rest of the portfolio to the defensive sleeve (``first``: all to the first risk-off
    symbol; ``equal``: split equally)."""
    panel = read_score_panel(Path(params["score_csv_path"]))
    selection = sleeve_selection(data, panel, first, last, params)
    n_candidates = selection.n_candidates
    weights = np.zeros((len(selection.rows), len(selection.columns)))
    held = selection.count > 0
    per_name = np.zeros(len(selection.rows))
    per_name[held] = sleeve_weights(
        selection.estimate[held],
        selection.count[held],
        float(params["vol_target"]),
        float(params["max_exposure"]),
        float(params["max_weight"]),
    )
    weights[selection.decision, selection.name] = per_name[selection.decision]
    defensive = np.maximum(1.0 - weights[:, :n_candidates].sum(axis=1), 0.0)
    if params["risk_off_mode"] == "first":
        weights[:, n_candidates] = defensive
    else:
        weights[:, n_candidates:] = (defensive / selection.n_risk_off)[:, None]
    return TargetSchedule(selection.columns, selection.rows, weights)


def set_holdings_schedule(data: MarketData, first: int, last: int, params: dict) -> TargetSchedule:
    """LEAN's SetHoldings as a parameter file (:mod:`app.engine.set_holdings`)."""
    symbols, rows, weights, modes = set_holdings_plan(data, first, last, params)
    return TargetSchedule(check_symbols(data, symbols), rows, weights, modes)


def check_weight_sum(weights: np.ndarray, allow_leverage: bool, where: str) -> None:
    if not np.all(np.isfinite(weights)):
        raise BacktestInputError(f"{where}: weights must be finite numbers")
    if allow_leverage:
        return
    if np.any(weights < 0):
        raise BacktestInputError(f"{where}: negative weights need allow_leverage")
    total = float(weights.sum())
    if total > 1.0 + 1e-9:
        raise BacktestInputError(
            f"{where}: target weights sum to {total:.6g} > 1 (set allow_leverage to permit it)"
        )


def check_weight_sums(
    weights: np.ndarray, allow_leverage: bool, sessions: np.ndarray, rows: np.ndarray
) -> None:
    """:func:`check_weight_sum` of each row of ``weights`` (decided at ``sessions[rows]``); the
    first bad row raises. The rows are screened at once, each suspect one then checked alone
    (its sum as that check computes it), so the message is the row-by-row loop's."""
    suspect = ~np.isfinite(weights).all(axis=1)
    if not allow_leverage:
        # A margin below 1e-9: the screen's row sums may differ from the check's in the last
        # bits, never by 1e-12.
        suspect |= (weights < 0).any(axis=1) | (weights.sum(axis=1) > 1.0 + 1e-9 - 1e-12)
    for k in np.flatnonzero(suspect).tolist():
        check_weight_sum(
            weights[k], allow_leverage, f"weights on {pd.Timestamp(sessions[rows[k]]).date()}"
        )


def target_weights_schedule(
    data: MarketData, first: int, last: int, params: dict
) -> TargetSchedule:
    """Replay ``weights_path`` (date, symbol, weight). Weights dated d (a trading session, else
    a BacktestInputError) are decided after d's close; weights dated before the window are
    decided at its first session; symbols missing from a date's rows get weight 0 that date."""
    # A symbol without a row on a date gets weight 0 that date.
    file = read_dated_csv(Path(params["weights_path"]), "weight", "weights", missing=0.0)
    columns = check_symbols(data, file.symbols)
    sessions = data.sessions.values
    at = np.searchsorted(sessions, file.dates, side="left")
    on_calendar = sessions[np.minimum(at, len(sessions) - 1)] == file.dates
    if not on_calendar.all():
        off_calendar = ~on_calendar
        day = pd.Timestamp(file.dates[np.argmax(off_calendar)]).date()
        n_rows = int(file.has_row[off_calendar].sum())
        raise BacktestInputError(
            f"weights file {params['weights_path']}: {day} is not a trading session of the "
            f"data ({n_rows} row(s) dated off the calendar)"
        )
    decided = np.clip(at, first, None)
    # Of several dates decided at one session (those before the window) the latest one wins:
    # the dates ascend, so it is the last of its run.
    used = decided <= last
    used[:-1] &= decided[:-1] != decided[1:]
    if not used.any():
        raise BacktestInputError("weights file has no rows in the backtest window")
    rows = decided[used]
    weights = file.values if used.all() else file.values[used]
    check_weight_sums(weights, bool(params.get("allow_leverage", False)), sessions, rows)
    return TargetSchedule(columns, rows, weights)


STRATEGIES = {
    "ml_score_vol_target": ml_score_vol_target_schedule,
    "set_holdings": set_holdings_schedule,
    "target_weights": target_weights_schedule,
}
