"""Out-of-sample evaluation of a score panel: daily rank information coefficients."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.ml.features import cross_sectional_pct_rank

MIN_NAMES_FOR_IC = 3


def daily_spearman_ic(scores: np.ndarray, realized: np.ndarray) -> np.ndarray:
    """Spearman rank correlation between ``scores[t]`` and ``realized[t]`` for each row ``t``.

    Both arrays are ``(n_days, n_symbols)``. Only symbols where both values are finite count;
    a row with fewer than :data:`MIN_NAMES_FOR_IC` such symbols, or with a constant score or
    realized vector, gives NaN. Spearman = Pearson correlation of the average-tie ranks;
    percentile ranks with average ties always have mean exactly 0.5, which centres them.
    """
    both = np.isfinite(scores) & np.isfinite(realized)
    score_rank = cross_sectional_pct_rank(np.where(both, scores, np.nan))
    realized_rank = cross_sectional_pct_rank(np.where(both, realized, np.nan))
    n = both.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score_centered = score_rank - 0.5
        realized_centered = realized_rank - 0.5
        covariance = np.nansum(score_centered * realized_centered, axis=1)
        score_ss = np.nansum(score_centered**2, axis=1)
        realized_ss = np.nansum(realized_centered**2, axis=1)
        ic = covariance / np.sqrt(score_ss * realized_ss)
    ic[(n < MIN_NAMES_FOR_IC) | (score_ss == 0) | (realized_ss == 0)] = np.nan
    return ic


def summarize_ic(daily_ic: pd.Series) -> dict[str, object]:
    """Summary of a daily IC series indexed by date (NaN days are dropped first).

    - ``ic_mean``, ``ic_std`` (ddof=1) of the daily ICs;
    - ``ic_ir`` = ``ic_mean / ic_std`` per day, *not* annualised: with an h-session label
      the daily ICs overlap by h - 1 sessions, so a sqrt(252) scaling would overstate it;
    - ``hit_rate``: fraction of days with IC > 0;
    - ``ic_by_year``: ``{"2021": mean IC of that calendar year}``;
    - ``n_ic_days``: how many days entered the statistics.
    Values are None when there are no (or, for the std, fewer than two) days.
    """
    ic = daily_ic.dropna()
    n = len(ic)
    ic_mean = float(ic.mean()) if n else None
    ic_std = float(ic.std(ddof=1)) if n >= 2 else None
    ic_ir = ic_mean / ic_std if ic_mean is not None and ic_std else None
    by_year = ic.groupby(ic.index.year).mean()
    return {
        "ic_mean": ic_mean,
        "ic_std": ic_std,
        "ic_ir": ic_ir,
        "hit_rate": float((ic > 0).mean()) if n else None,
        "ic_by_year": {str(year): float(value) for year, value in by_year.items()},
        "n_ic_days": n,
    }
