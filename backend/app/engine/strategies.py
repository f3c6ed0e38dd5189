"""Strategies turn parameters and the market panel into a target schedule: the session rows
whose close decides a rebalance and the target weights decided there. They only read data up
to the decision close (scores dated <= the decision day, prices up to its close)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from app.engine.errors import BacktestInputError
from app.engine.market import MarketData

TRADING_DAYS_PER_YEAR = 252


@dataclass
class TargetSchedule:
    columns: np.ndarray  # panel columns of the traded assets
    decision_rows: np.ndarray  # panel rows (ascending) whose close decides a rebalance
    weights: np.ndarray  # (n_decisions, n_assets)


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


def check_symbols(data: MarketData, symbols: list[str]) -> np.ndarray:
    missing = [s for s in symbols if not data.has_symbol(s)]
    if missing:
        raise BacktestInputError(f"symbols not in the data: {', '.join(missing)}")
    return np.array([data.column(s) for s in symbols], dtype=np.int64)


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
    frame = read_dated_csv(path, "score", "scores")
    dates, row = np.unique(frame["date"].to_numpy(), return_inverse=True)
    symbols, col = np.unique(frame["symbol"].to_numpy(), return_inverse=True)
    panel = np.full((len(dates), len(symbols)), np.nan)
    panel[row, col] = frame["score"].to_numpy()
    result = ScorePanel(dates, tuple(str(s) for s in symbols), panel)
    with _score_lock:
        _score_cache[key] = result
    return result


def read_dated_csv(path: Path, value_column: str, what: str) -> pd.DataFrame:
    """Read a ``date, symbol, <value_column>`` CSV with readable errors."""
    if not Path(path).is_file():
        raise BacktestInputError(f"{what} file not found: {path}")
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
    dates = pd.to_datetime(frame["date"], errors="coerce")
    if dates.isna().any():
        raise BacktestInputError(f"{what} file {path} has unreadable dates")
    values = pd.to_numeric(frame[value_column], errors="coerce")
    if values.isna().any():
        raise BacktestInputError(
            f"{what} file {path} has missing or non-numeric {value_column} values"
        )
    duplicated = frame.duplicated(["date", "symbol"])
    if duplicated.any():
        raise BacktestInputError(f"{what} file {path} has duplicate (date, symbol) rows")
    return pd.DataFrame(
        {
            "date": dates.dt.normalize().to_numpy().astype("datetime64[ns]"),
            "symbol": frame["symbol"].astype(str).str.strip().str.upper().to_numpy(),
            value_column: values.astype(float).to_numpy(),
        }
    )


def sleeve_volatility(returns: np.ndarray, weights: np.ndarray) -> float:
    """Annualised volatility of a weighted sleeve from a window of daily returns:
    std(returns @ weights, ddof=1) * sqrt(252), i.e. sqrt(252 * w' Cov w)."""
    sleeve = returns @ weights
    if sleeve.size < 2:
        return 0.0
    return float(np.std(sleeve, ddof=1)) * np.sqrt(TRADING_DAYS_PER_YEAR)


def vol_target_weights(
    returns: np.ndarray, top_n: int, vol_target: float, max_exposure: float, max_weight: float
) -> np.ndarray:
    """Weights of the equity sleeve for ``top_n`` names (columns of ``returns``):
    equal weights u = 1/n, exposure = min(max_exposure, vol_target / vol(u)), each name
    min(exposure / n, max_weight). Capping per name after scaling means max_weight only
    binds when exposure > n * max_weight."""
    n = returns.shape[1]
    if n == 0:
        return np.zeros(0)
    equal = np.full(n, 1.0 / n)
    estimate = sleeve_volatility(returns, equal)
    exposure = max_exposure if estimate <= 0 else min(max_exposure, vol_target / estimate)
    return np.minimum(np.full(n, exposure / n), max_weight)


def ml_score_vol_target_schedule(
    data: MarketData, first: int, last: int, params: dict
) -> TargetSchedule:
    """DESIGN §6. On each rebalance day d (only data up to d's close): the latest scores dated
    <= d, the top_n names with a valid close on d, :func:`vol_target_weights` from the
    trailing ``vol_lookback`` daily close-to-close returns up to d, the rest of the portfolio
    to the defensive sleeve (``first``: all to the first risk-off symbol; ``equal``: split
    equally)."""
    panel = read_score_panel(Path(params["score_csv_path"]))
    unknown = [s for s in panel.symbols if not data.has_symbol(s)]
    if unknown:
        shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise BacktestInputError(f"symbols not in the data: {shown} (from the scores file)")
    risk_off = [s.strip().upper() for s in str(params["risk_off_symbols"]).split(",") if s.strip()]
    if not risk_off:
        raise BacktestInputError("risk_off_symbols is empty")
    risk_off_columns = check_symbols(data, risk_off)
    score_columns = np.array([data.column(s) for s in panel.symbols], dtype=np.int64)
    candidate = ~np.isin(score_columns, risk_off_columns)
    columns = np.concatenate([score_columns[candidate], risk_off_columns])
    n_candidates = int(candidate.sum())
    scores = panel.scores[:, candidate]

    sessions = data.sessions.values
    window_start, window_end = sessions[first], sessions[last]
    in_window = (panel.dates >= window_start) & (panel.dates <= window_end)
    known_at_start = panel.dates <= window_start
    if not in_window.any() and not known_at_start.any():
        raise BacktestInputError(
            f"scores file has no rows in the window {pd.Timestamp(window_start).date()} .. "
            f"{pd.Timestamp(window_end).date()}"
        )
    rows = rebalance_rows(data.sessions, first, last, params["rebalance"])
    top_n = int(params["top_n"])
    lookback = int(params["vol_lookback"])
    close = data.close[:, columns[:n_candidates]]
    mode = params["risk_off_mode"]
    weights = np.zeros((len(rows), len(columns)))
    latest_score_row = np.searchsorted(panel.dates, sessions[rows], side="right") - 1
    for k, row in enumerate(rows):
        score_row = latest_score_row[k]
        if score_row >= 0:
            today = scores[score_row]
            valid = np.isfinite(today) & np.isfinite(close[row]) & (close[row] > 0)
            chosen = np.nonzero(valid)[0]
            if chosen.size > top_n:
                # Highest scores first; ties broken by column order for determinism.
                candidate_scores = today[chosen]
                cutoff = np.partition(candidate_scores, chosen.size - top_n)[chosen.size - top_n]
                above = chosen[candidate_scores > cutoff]
                tied = chosen[candidate_scores == cutoff]
                chosen = np.sort(np.concatenate([above, tied[: top_n - above.size]]))
            if chosen.size:
                start = max(row - lookback, 0)
                window = close[start : row + 1, chosen]
                returns = window[1:] / window[:-1] - 1.0
                returns[~np.isfinite(returns)] = 0.0
                weights[k, chosen] = vol_target_weights(
                    returns,
                    top_n,
                    float(params["vol_target"]),
                    float(params["max_exposure"]),
                    float(params["max_weight"]),
                )
        defensive = max(1.0 - weights[k, :n_candidates].sum(), 0.0)
        if mode == "first":
            weights[k, n_candidates] = defensive
        else:
            weights[k, n_candidates:] = defensive / len(risk_off_columns)
    return TargetSchedule(columns, rows, weights)


def set_holdings_schedule(data: MarketData, first: int, last: int, params: dict) -> TargetSchedule:
    """Fixed weights ``holdings`` decided at the window's first session close and held."""
    holdings = params["holdings"]
    if not isinstance(holdings, dict) or not holdings:
        raise BacktestInputError('holdings must be a non-empty mapping like {"SPY": 1.0}')
    symbols = [str(s).upper() for s in holdings]
    columns = check_symbols(data, symbols)
    try:
        weights = np.array([float(v) for v in holdings.values()])
    except (TypeError, ValueError):
        raise BacktestInputError("holdings weights must be numbers") from None
    check_weight_sum(weights, bool(params.get("allow_leverage", False)), "holdings")
    return TargetSchedule(columns, np.array([first]), weights[None, :])


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


def target_weights_schedule(
    data: MarketData, first: int, last: int, params: dict
) -> TargetSchedule:
    """Replay ``weights_path`` (date, symbol, weight). Weights dated d are decided after d's
    close, at the first session >= d; weights dated before the window are decided at its first
    session; symbols missing from a date's rows get weight 0 that date."""
    frame = read_dated_csv(Path(params["weights_path"]), "weight", "weights")
    symbols = sorted(frame["symbol"].unique())
    columns = check_symbols(data, symbols)
    sessions = data.sessions.values
    decided = np.searchsorted(sessions, frame["date"].to_numpy(), side="left")
    decided = np.clip(decided, first, None)
    keep = decided <= last
    frame = frame.loc[keep]
    decided = decided[keep]
    if frame.empty:
        raise BacktestInputError("weights file has no rows in the backtest window")
    # Of several dates mapped onto one session the latest one wins.
    frame = frame.assign(row=decided)
    latest_date = frame.groupby("row")["date"].transform("max")
    frame = frame.loc[frame["date"] == latest_date]
    rows, row_position = np.unique(frame["row"].to_numpy(), return_inverse=True)
    weights = np.zeros((len(rows), len(symbols)))
    weights[row_position, np.searchsorted(symbols, frame["symbol"].to_numpy())] = frame[
        "weight"
    ].to_numpy()
    allow = bool(params.get("allow_leverage", False))
    for k, row in enumerate(rows):
        check_weight_sum(weights[k], allow, f"weights on {pd.Timestamp(sessions[row]).date()}")
    return TargetSchedule(columns, rows, weights)


STRATEGIES = {
    "ml_score_vol_target": ml_score_vol_target_schedule,
    "set_holdings": set_holdings_schedule,
    "target_weights": target_weights_schedule,
}
