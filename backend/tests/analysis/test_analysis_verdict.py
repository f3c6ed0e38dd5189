"""The verdict and the report's recommendation say what the numbers support, no more."""

from __future__ import annotations

from app.analysis.verdict import Difference, VerdictFacts, verdict
from app.services.reports.analysis_section import recommendation_lines


def facts(**overrides) -> VerdictFacts:
    base = dict(
        n_trials=30,
        distinct_trials=13,
        top_run_ids=(638, 618, 619),
        top_equivalent_to=(None, None, 618),
        second_vs_first=Difference(-0.0009, -0.0057, 0.0038),
        top1_vs_baseline=Difference(-0.0085, -0.0158, -0.0005),
        dsr=0.999,
        pbo=0.41,
        top1_stable=False,
        top1_edges=(("vol_target", "min"),),
        stable_choice=(616, "max_exposure=0.60, max_weight=0.030, vol_target=0.045"),
        walk_forward_cagr=0.0915,
        walk_forward_baseline_cagr=0.1047,
        walk_forward_years="2021–2026",
        baseline_feasible=False,
        baseline_max_drawdown=0.1613,
    )
    return VerdictFacts(**{**base, **overrides})


def test_the_demo_like_case():
    text = verdict(facts())
    en = text["en"]
    assert "13 distinct backtests" in en and "#3 = run 618" in en
    assert "#1 and #2 are not distinguishable" in en
    assert "below the baseline's" in en and "the baseline breaks the constraints" in en
    assert "The Top 1 is fragile" in en and "the stable choice is run 616" in en
    assert "无法区分" in text["zh"] and "稳健的选择是 run 616" in text["zh"]
    assert en.count(". ") <= 3  # two or three sentences


def test_a_feasible_better_baseline_is_favoured_and_a_clear_lead_is_said():
    kept = verdict(facts(baseline_feasible=True))["en"]
    assert "the numbers favour keeping it" in kept
    lead = verdict(facts(second_vs_first=Difference(-0.02, -0.03, -0.01)))["en"]
    assert "#1 leads #2 beyond noise" in lead
    same = verdict(facts(top_equivalent_to=(None, 638, None)))["en"]
    assert "#1 and #2 are the same backtest" in same


def test_undefined_numbers_are_said_to_be_undefined():
    text = verdict(facts(dsr=None, pbo=None, distinct_trials=1))["en"]
    assert "DSR and PBO are undefined" in text


def document(top1_stable: bool, baseline_feasible: bool, lead_upper: float) -> dict:
    return {
        "top": [{"rank": 1, "run_id": 638, "equivalent_to": None}],
        "distinct_trials": 13,
        "plateau": [
            {"run_id": 616, "params": {"max_exposure": "0.60"}, "plateau_score": 0.07},
            {"run_id": 638, "params": {"max_exposure": "0.65"}, "plateau_score": 0.073},
        ],
        "plateau_summary": {"top1_stable": top1_stable, "best_stable_run_id": 616},
        "bootstrap": {
            "items": [
                {
                    "run_id": 638,
                    "cagr_minus_baseline": {"estimate": -0.01, "lower": -0.02, "upper": lead_upper},
                    "cagr_minus_top1": None,
                }
            ]
        },
        "dsr": {"value": 0.99},
        "pbo": {"value": 0.6},
        "baseline": {
            "run_id": 615,
            "feasible": baseline_feasible,
            "metrics": {"cagr": 0.0819, "max_drawdown": 0.1613},
        },
    }


def test_recommendation_follows_the_plateau_and_the_baseline():
    fragile = recommendation_lines(document(False, False, -0.001), "en", {})
    assert "max_exposure=0.60" in fragile[0] and "run 616" in fragile[0]
    assert (
        "PBO 0.60" in fragile[1]
        and "breaks the constraints (MaxDD 16.13% on this window)" in fragile[1]
    )
    stable = recommendation_lines(document(True, False, 0.01), "en", {})
    assert "run 638" in stable[0] and "on a stable plateau" in stable[0]
    keep = recommendation_lines(document(True, True, -0.001), "zh", {})
    assert keep[0].startswith("- 推荐参数：保留基准 run 615")
