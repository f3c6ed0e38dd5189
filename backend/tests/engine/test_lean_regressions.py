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
KNOWN_MISMATCHES: set[tuple[str, str]] = {
    # We get 0.52043 (LEAN 0.521): the one string of the four cases not reproduced yet.
    # Known LEAN behaviour (not applied): LEAN drops hourly benchmark bars outside market hours
    # (SubscriptionFilterEnumerator, Exchange.IsOpenDuringBar), so on the 15 early closes
    # 1999-2005 of market-hours-database.json (commit 004849ff) the benchmark keeps the
    # 12:00-13:00 bar's close. Confirmed by LEAN's DataPoints: 16077 = 2012 daily + 14061
    # hourly - 30 dropped post-13:00 bars + 33 dividends + 1 (the same count gives
    # MarginRemaining's 6800 and EquitySplitHoldingsDaily's 50). With it Beta = 0.520624
    # ("0.521") and the stored, pre-#8254 LEAN printout (Alpha -0.015, raw PSR 0.462%)
    # matches in full, but Alpha = -0.0154984 ("-0.015"; master prints -0.016).
    # Master needs Alpha <= -0.0155 while PSR (0.014514%, edge 0.0145%), Sharpe (-0.06261)
    # and IR (-0.32764) sit at their rounding edges: with the early closes, only a risk-free
    # rate 3.6e-6..6.0e-6 above ours or a benchmark annual return 3e-6..7e-5 above ours fits.
    # Tried without success (Beta / Alpha): 1998-11-27 and 12-24 early closes added
    # 0.520691/-0.0154977; 1999-12-31 added 0.520608/-0.0154985; pre-#8254 first fill
    # 0.520650/-0.0154986; factor lookup +-1 day (Beta 0.519); unadjusted benchmark (Alpha
    # -0.010); benchmark rounding (none, 4 dp, 2 dp, 6/8 digits); dividend cash in the
    # ex-date midnight sample (breaks Sharpe, IR); older daily-resample benchmark list
    # 0.520532/-0.0154972; extra 12-31 sample -0.0155016 (PSR 0.014%); rf over unique dates
    # (Sharpe -0.062), over every day to the end date, over sessions only (both PSR 0.014%).
    # All 25 strings match, but with no LEAN mechanism found: benchmark at the first
    # midnight = 1998-01-02's open (-0.0155225); rf without the first 5-7 sample dates
    # (-0.0155003); LEAN's 2015/2018 SPY factor files (-0.0155004), which would also move
    # three raw dividends by a cent, so End Equity rules them out.
    ("DividendRegressionAlgorithm", "Beta"),
}


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
