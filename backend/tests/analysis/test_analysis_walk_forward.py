"""Anchored yearly walk-forward on a constructed case where the right yearly choice is obvious."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.analysis.metrics import Constraint, Objective
from app.analysis.walk_forward import anchored_walk_forward, year_end_indices


def calendar():
    sessions = pd.bdate_range("2020-01-02", "2022-12-30").values.astype("datetime64[D]")
    return np.concatenate([[np.datetime64("2020-01-01")], sessions])


def yearly_curve(dates, growth_by_year):
    """Equity from 1 growing geometrically within each year by growth_by_year[year]."""
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    curve = [1.0]
    for year in (2020, 2021, 2022):
        n = int(np.sum(years[1:] == year))
        factor = growth_by_year[year] ** (1 / n)
        curve.extend(curve[-1] * factor ** np.arange(1, n + 1))
    return np.array(curve)


def test_the_obvious_yearly_choices():
    dates = calendar()
    a = yearly_curve(dates, {2020: 1.2, 2021: 0.9, 2022: 0.9})  # good first, then bad
    b = yearly_curve(dates, {2020: 1.0, 2021: 1.3, 2022: 1.3})  # flat first, then good
    # c beats both every year but falls 30 % from its 2020 peak: infeasible at every decision.
    c = yearly_curve(dates, {2020: 1.4, 2021: 1.5, 2022: 1.5})
    n2020 = int(np.sum(dates.astype("datetime64[Y]") == np.datetime64("2020", "Y"))) - 1
    half = n2020 // 2
    c[1 : half + 1] = np.linspace(1.0, 2.0, half + 1)[1:]
    c[half + 1 : n2020 + 1] = np.linspace(2.0, 1.4, n2020 - half + 1)[1:]
    baseline = yearly_curve(dates, {2020: 1.05, 2021: 1.05, 2022: 1.05})
    equity = np.array([a, b, c]) * 100_000
    result = anchored_walk_forward(
        equity,
        dates,
        Objective("cagr", "max"),
        [Constraint("max_drawdown", "<=", 0.15)],
        top1=1,
        baseline=baseline * 100_000,
    )
    assert [str(y.decided_at) for y in result.years] == ["2020-12-31", "2021-12-31"]
    # End of 2020: a (+20 %) beats b (0 %); c is infeasible. End of 2021: a is +8 % since
    # the start, b +30 %: b.
    assert [y.chosen for y in result.years] == [0, 1]
    assert all(y.feasible for y in result.years)
    assert [y.held_return for y in result.years] == pytest.approx([-0.1, 0.3])
    assert [y.top1_return for y in result.years] == pytest.approx([0.3, 0.3])
    assert [y.baseline_return for y in result.years] == pytest.approx([0.05, 0.05])
    assert result.summaries["walk_forward"].total_return == pytest.approx(0.9 * 1.3 - 1)
    assert result.summaries["top1"].total_return == pytest.approx(1.3 * 1.3 - 1)
    assert result.summaries["baseline"].total_return == pytest.approx(1.05**2 - 1)
    assert result.walk_forward[0] == 1.0 and str(result.dates[0]) == "2020-12-31"
    assert result.walk_forward[-1] == pytest.approx(1.17)


def test_no_feasible_trial_holds_the_least_violating_and_says_so():
    dates = calendar()
    a = yearly_curve(dates, {2020: 1.2, 2021: 1.2, 2022: 1.2})
    b = yearly_curve(dates, {2020: 1.1, 2021: 1.1, 2022: 1.1})
    result = anchored_walk_forward(
        np.array([a, b]), dates, Objective(), [Constraint("cagr", ">=", 0.5)], top1=0
    )
    assert [y.feasible for y in result.years] == [False, False]
    assert [y.chosen for y in result.years] == [0, 0]  # a violates by less
    assert result.baseline is None and result.summaries["baseline"] is None


def test_one_calendar_year_has_no_walk_forward():
    dates = np.arange(np.datetime64("2021-01-01"), np.datetime64("2021-06-01"))
    equity = np.linspace(1, 2, dates.size)[None, :]
    assert year_end_indices(dates).size == 0
    assert anchored_walk_forward(equity, dates, Objective(), [], top1=0) is None
