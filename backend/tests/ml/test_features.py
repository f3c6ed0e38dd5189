"""Features, ranks and labels on hand-made panels (expected values computed by hand)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ml.evaluation import daily_spearman_ic, summarize_ic
from app.ml.features import (
    FEATURE_SETS,
    compute_features,
    cross_sectional_pct_rank,
    distance_to_high,
    forward_return,
    lagged_return,
    rank_label,
    rolling_volatility,
    trailing_return,
)

nan = np.nan


def test_pct_rank_maps_min_to_zero_max_to_one_and_keeps_nan():
    values = np.array([[3.0, 1.0, 2.0, nan], [5.0, nan, nan, nan], [1.0, 1.0, 2.0, np.inf]])
    expected = np.array(
        [
            [1.0, 0.0, 0.5, nan],
            [0.5, nan, nan, nan],  # a lone value sits in the middle
            [0.25, 0.25, 1.0, nan],  # ties share ranks 1 and 2 -> 1.5 -> 0.25; inf is missing
        ]
    )
    np.testing.assert_array_equal(cross_sectional_pct_rank(values), expected)


def test_pct_rank_of_all_nan_row_is_nan():
    assert np.isnan(cross_sectional_pct_rank(np.full((1, 3), nan))).all()


def test_trailing_forward_and_lagged_returns():
    close = np.array([[100.0], [110.0], [99.0], [nan], [120.0]])
    np.testing.assert_allclose(
        trailing_return(close, 1)[:, 0], [nan, 0.10, -0.10, nan, nan], equal_nan=True
    )
    np.testing.assert_allclose(
        trailing_return(close, 2)[:, 0], [nan, nan, -0.01, nan, 120 / 99 - 1], equal_nan=True
    )
    np.testing.assert_allclose(
        forward_return(close, 2)[:, 0], [-0.01, nan, 120 / 99 - 1, nan, nan], equal_nan=True
    )
    # from t-3 to t-1: row 3 -> close[2]/close[0] - 1, row 4 -> close[3]/close[1] - 1 (NaN)
    np.testing.assert_allclose(
        lagged_return(close, 3, 1)[:, 0], [nan, nan, nan, -0.01, nan], equal_nan=True
    )


def test_rank_label_on_tiny_panel():
    # Three stocks, horizon 1. Day 0 -> 1 returns: A +10 %, B -10 %, C 0 %.
    # Day 1 -> 2: A 0 %, B +50 %, C missing on day 2.
    close = np.array(
        [
            [100.0, 100.0, 100.0],
            [110.0, 90.0, 100.0],
            [110.0, 135.0, nan],
        ]
    )
    expected = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, nan], [nan, nan, nan]])
    np.testing.assert_array_equal(rank_label(close, 1), expected)


def test_rolling_volatility_and_distance_to_high():
    close = np.array([[100.0], [102.0], [101.0], [105.0], [104.0]])
    log_returns = np.diff(np.log(close[:, 0]))
    vol = rolling_volatility(close, 3)[:, 0]
    assert np.isnan(vol[:3]).all()
    assert vol[3] == pytest.approx(np.std(log_returns[0:3], ddof=1))
    assert vol[4] == pytest.approx(np.std(log_returns[1:4], ddof=1))
    np.testing.assert_allclose(
        distance_to_high(close, 3)[:, 0], [nan, nan, 101 / 102 - 1, 0.0, 104 / 105 - 1]
    )


def test_compute_features_ranks_every_feature_within_each_day():
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (300, 8)), axis=0))
    volume = rng.lognormal(10, 1, close.shape)
    panel = compute_features(close, volume, "momentum_volume_v1")
    assert panel.values.shape == (len(panel.names), 300, 8)
    complete = panel.complete_rows()
    assert not complete[: FEATURE_SETS["momentum_volume_v1"].lookback_sessions].any()
    assert complete[FEATURE_SETS["momentum_volume_v1"].lookback_sessions :].all()
    for values in panel.values[:, complete.all(axis=1)]:
        assert values.min(axis=1) == pytest.approx(0.0)
        assert values.max(axis=1) == pytest.approx(1.0)


@settings(max_examples=15, deadline=None)
@given(cut=st.integers(min_value=1, max_value=279), seed=st.integers(0, 2**16))
def test_features_dated_t_ignore_prices_after_t(cut, seed):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (280, 6)), axis=0))
    changed = close.copy()
    changed[cut:] *= rng.lognormal(0, 1, changed[cut:].shape)
    changed[cut:, 0] = nan
    volume = np.ones_like(close)
    before = compute_features(close, volume, "momentum_v1").values[:, :cut]
    after = compute_features(changed, volume, "momentum_v1").values[:, :cut]
    np.testing.assert_array_equal(before, after)


def test_daily_spearman_ic_perfect_reversed_and_too_few():
    scores = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, nan, nan]])
    realized = np.array([[10.0, 20.0, 30.0, 45.0], [4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0]])
    ic = daily_spearman_ic(scores, realized)
    assert ic[0] == pytest.approx(1.0)
    assert ic[1] == pytest.approx(-1.0)
    assert np.isnan(ic[2])  # two names only


def test_summarize_ic_reports_by_year():
    import pandas as pd

    daily = pd.Series(
        [0.1, -0.1, 0.3, nan],
        index=pd.to_datetime(["2020-01-02", "2020-06-01", "2021-01-04", "2021-01-05"]),
    )
    summary = summarize_ic(daily)
    assert summary["ic_mean"] == pytest.approx(0.1)
    assert summary["hit_rate"] == pytest.approx(2 / 3)
    assert summary["ic_by_year"] == {"2020": pytest.approx(0.0), "2021": pytest.approx(0.3)}
    assert summary["n_ic_days"] == 3
    assert summary["ic_ir"] == pytest.approx(0.1 / np.std([0.1, -0.1, 0.3], ddof=1))
