"""The Deflated Sharpe Ratio (Bailey & López de Prado, 2014, "The Deflated Sharpe Ratio:
Correcting for Selection Bias, Backtest Overfitting and Non-Normality"), DESIGN §7."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

EULER_MASCHERONI = 0.5772156649015329
_NORMAL = NormalDist()


def expected_max_sharpe(sharpe_variance: float, n_trials: int) -> float:
    """SR0, the expected maximum SR of ``n_trials`` independent trials with true SR 0:
    SR0 = sqrt(V) * ((1 - γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e))), γ the Euler–Mascheroni
    constant, V the variance of the trials' SRs. Needs N >= 2 (Φ⁻¹(0) is -inf)."""
    if n_trials < 2:
        raise ValueError("the expected maximum Sharpe ratio needs at least two trials")
    return math.sqrt(sharpe_variance) * (
        (1 - EULER_MASCHERONI) * _NORMAL.inv_cdf(1 - 1 / n_trials)
        + EULER_MASCHERONI * _NORMAL.inv_cdf(1 - 1 / (n_trials * math.e))
    )


@dataclass(frozen=True)
class DeflatedSharpe:
    sharpe: float
    sr0: float
    value: float | None
    reason: str | None = None


def deflated_sharpe_ratio(
    sharpe: float,
    sharpe_variance: float,
    n_trials: int,
    n_returns: int,
    skewness: float,
    kurtosis: float,
) -> DeflatedSharpe:
    """DSR = Φ((SR - SR0) √(T - 1) / √(1 - skew·SR + (kurt - 1)/4 · SR²)) with SR the
    selected trial's daily (not annualised) Sharpe ratio, SR0 from
    :func:`expected_max_sharpe`, T its number of returns, skew and kurt the population
    skewness and raw kurtosis of its returns (kurt = 3 for a normal).

    Worked example (DESIGN §7): SR 0.158114, V 0.002, N 100, T 1250, skew -3, kurt 10
    gives 0.900397. Undefined cases give ``value=None`` and a reason, not an exception."""
    if n_trials < 2:
        return DeflatedSharpe(sharpe, float("nan"), None, "one distinct trial: nothing to deflate")
    if not all(math.isfinite(x) for x in (sharpe, sharpe_variance, skewness, kurtosis)):
        return DeflatedSharpe(
            sharpe, float("nan"), None, "the Sharpe ratio or its moments are undefined"
        )
    if n_returns < 2:
        return DeflatedSharpe(sharpe, float("nan"), None, "fewer than two returns")
    sr0 = expected_max_sharpe(sharpe_variance, n_trials)
    denominator = 1 - skewness * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if denominator <= 0:
        return DeflatedSharpe(sharpe, sr0, None, "non-positive variance of the SR estimate")
    z = (sharpe - sr0) * math.sqrt(n_returns - 1) / math.sqrt(denominator)
    return DeflatedSharpe(sharpe, sr0, _NORMAL.cdf(z))
