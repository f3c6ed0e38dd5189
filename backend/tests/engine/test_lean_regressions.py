"""LEAN's own regression algorithms, statistic by statistic (DESIGN §5).

Each case of ``lean-regressions.json`` (LEAN's printed ExpectedStatistics of an
Algorithm.CSharp regression algorithm, written as StockLean parameters) runs through the
Python API on LEAN's sample data and every printed string must match (capacity aside: it
needs LEAN's intraday volume model). The golden strings come from LEAN's output, never from
our own formulas. The fixture copy runs everywhere; the ../shared copy only on a dev machine.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from engine_testkit import FIXTURES, LEAN_FIXTURE

from app.engine import load_market_data, run_backtest

SHARED = Path(__file__).resolve().parents[4] / "shared"
FIXTURE_CASES = FIXTURES / "lean-regressions.json"
SHARED_CASES = SHARED / "lean-regressions.json"

# (case, statistic) pairs our engine does not reproduce yet: each must fail (strict xfail), so
# fixing one without removing it here turns the suite red.
KNOWN_MISMATCHES: set[tuple[str, str]] = set()
# DividendRegressionAlgorithm's Beta (0.521) and Alpha (-0.016) need two LEAN details: the
# hourly benchmark loses its bars after an early close (app.engine.market_hours), and LEAN's
# equity chart, whose dates the risk-free rate is averaged over, holds the result handler's
# resampled points besides the daily samples (app.engine.lean_series.chart_sample_times).
# Without them Beta is 0.52043; with the early closes alone Alpha is -0.0154984 ("-0.015",
# what LEAN printed before daily precise end times moved those points off midnight).


def load_cases(path: Path) -> dict:
    return json.loads(path.read_text())["cases"] if path.is_file() else {}


@cache
def run_case(name: str, cases_path: str, data_dir: str) -> dict[str, str]:
    case = load_cases(Path(cases_path))[name]
    return run_backtest(case["params"], market(data_dir)).statistics


@cache
def market(data_dir: str):
    return load_market_data("lean", data_dir)


def statistic_params(cases: dict, marks: tuple = ()) -> list:
    params = []
    for name, case in cases.items():
        for statistic, expected in case["expected"].items():
            case_marks = list(marks)
            if (name, statistic) in KNOWN_MISMATCHES:
                case_marks.append(pytest.mark.xfail(strict=True, reason="not reproduced yet"))
            params.append(
                pytest.param(name, statistic, expected, marks=case_marks, id=f"{name}-{statistic}")
            )
    return params


@pytest.mark.parametrize(
    ("name", "statistic", "expected"), statistic_params(load_cases(FIXTURE_CASES))
)
def test_lean_regression_statistic_on_fixture_data(name, statistic, expected):
    statistics = run_case(name, str(FIXTURE_CASES), str(LEAN_FIXTURE))
    assert statistics[statistic] == expected


@pytest.mark.shared
@pytest.mark.parametrize(
    ("name", "statistic", "expected"), statistic_params(load_cases(SHARED_CASES))
)
def test_lean_regression_statistic_on_shared_data(name, statistic, expected):
    statistics = run_case(name, str(SHARED_CASES), str(SHARED / "lean-data"))
    assert statistics[statistic] == expected


def test_fixture_cases_are_the_shared_cases():
    """The fixture copy is the shared file (when the shared file exists)."""
    if not SHARED_CASES.is_file():
        pytest.skip("../shared is absent")
    assert load_cases(FIXTURE_CASES) == load_cases(SHARED_CASES)
    assert len(load_cases(FIXTURE_CASES)) >= 4


@pytest.mark.parametrize("name", sorted(load_cases(FIXTURE_CASES)))
def test_lean_regression_through_the_cli(name, tmp_path, capsys):
    """``stocklean backtest --params P --data-source lean --data-dir D --json`` prints the same
    strings as the Python API."""
    from app.cli import main

    case = load_cases(FIXTURE_CASES)[name]
    params = tmp_path / "params.json"
    params.write_text(json.dumps(case["params"]))
    args = ["backtest", "--params", str(params), "--data-source", "lean"]
    assert main([*args, "--data-dir", str(LEAN_FIXTURE), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)["statistics"]
    mismatched = {
        statistic: (expected, printed[statistic])
        for statistic, expected in case["expected"].items()
        if printed[statistic] != expected and (name, statistic) not in KNOWN_MISMATCHES
    }
    assert mismatched == {}


EXTRA_CASES = FIXTURES / "lean-regressions-extra.json"


@pytest.mark.parametrize(
    ("name", "statistic", "expected"), statistic_params(load_cases(EXTRA_CASES))
)
def test_more_lean_regressions_on_fixture_data(name, statistic, expected):
    statistics = run_case(name, str(EXTRA_CASES), str(LEAN_FIXTURE))
    assert statistics[statistic] == expected


@pytest.mark.parametrize("name", sorted(load_cases(EXTRA_CASES)))
def test_strings_of_the_older_lean_that_printed_them(name):
    """Some stored statistics predate LEAN changes; each is checked against what that older
    definition gives on our run: PSR on raw returns (before #9583), End Equity with a trailing
    zero, the old "Maximum Drawdown Recovery" name, CAGR over a span ending at the end
    date's midnight (before daily precise end times, #8254)."""
    from app.engine import lean_series as ls
    from app.engine import statistics as st

    case = load_cases(EXTRA_CASES)[name]
    params = case["params"]
    result = run_backtest(params, market(str(LEAN_FIXTURE)))
    samples = ls.equity_samples(
        np.datetime64(params["backtest_start"]),
        result.equity.index.values,
        result.equity.to_numpy(),
        params["initial_cash"],
    )
    performance, _ = ls.statistics_lists(samples.values, None)
    end_equity = float(result.equity.iloc[-1])
    for statistic, (printed, _why) in case["older_lean"].items():
        if statistic == "Probabilistic Sharpe Ratio":
            ours = st.format_percent(st.probabilistic_sharpe_ratio(performance, 0.0), 3)
        elif statistic == "End Equity":
            ours, printed = float(result.statistics["End Equity"]), float(printed)
        elif statistic == "Maximum Drawdown Recovery":
            ours = f"{result.statistics['Drawdown Recovery']} day(s)."
        elif statistic == "Compounding Annual Return":
            days = np.datetime64(params["backtest_end"]) - np.datetime64(params["backtest_start"])
            years = days / np.timedelta64(1, "D") / 365
            cagr = st.compounding_annual_return(params["initial_cash"], end_equity, years)
            ours = st.format_percent(cagr, 3)
        else:
            raise AssertionError(f"no older-LEAN rule for {statistic}")
        assert ours == printed, statistic
