"""Issue 13, part 1: requests that would make a sweep show one thing and run another are
refused (422 naming the field, nothing stored), and no sweep runs the same request twice."""

from __future__ import annotations

import json

import pytest
from factories import SEED_BODY
from polling import finish_sweep
from sqlalchemy import func, select

from app.models import BacktestRun, Optimization, OptimizationTrial


def stored_rows(engine) -> tuple[int, int, int]:
    """(optimizations, trials, backtest runs) in the database, read in a short connection."""
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Optimization, OptimizationTrial, BacktestRun)
        )


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        # The issue's own request: the grid's 0.6 and 0.7 would both have run at 0.5.
        (
            {
                "overrides": {"max_exposure": 0.5},
                "search": {"grid": {"max_exposure": [0.6, 0.7]}},
            },
            ["body", "overrides", "max_exposure"],
        ),
        # Omitted search = the seed's space, which searches max_exposure, vol_target, max_weight.
        (
            {"overrides": {"risk_off_symbols": "VGSH,IEF,GLD,TLT", "max_weight": 0.05}},
            ["body", "overrides", "max_weight"],
        ),
        # A parameter only the perturbation varies.
        (
            {
                "overrides": {"vol_target": 0.05},
                "search": {
                    "grid": {"max_exposure": [0.6]},
                    "perturbation": {"steps": {"vol_target": 0.005}, "count": 2},
                },
            },
            ["body", "overrides", "vol_target"],
        ),
        # A file through the overrides, outside the allowed roots.
        (
            {"overrides": {"weights_path": "/etc/passwd"}},
            ["body", "overrides", "weights_path"],
        ),
        (
            {"overrides": {"weights_path": "../../../../etc/passwd"}},
            ["body", "overrides", "weights_path"],
        ),
        # A path no file system can hold (a NUL byte) is the field's 422, not a 500.
        (
            {"overrides": {"weights_path": "weights\x00.csv"}},
            ["body", "overrides", "weights_path"],
        ),
    ],
)
def test_bad_sweep_requests_are_422_at_the_field_and_store_nothing(
    market_client, seeded, engine, change, loc
):
    before = stored_rows(engine)
    for path in ("/api/optimizations", "/api/optimizations/preview"):
        response = market_client.post(path, json={**SEED_BODY, **change})
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["loc"] == loc
        assert loc[-1] in error["msg"]
    assert stored_rows(engine) == before == (0, 0, 1)  # only baseline run 615


def test_an_unsearched_override_still_applies_to_every_trial(market_client, seeded):
    body = dict(
        SEED_BODY,
        overrides={"risk_off_symbols": "VGSH,IEF,GLD,TLT", "top_n": 7},
        search={"grid": {"max_exposure": [0.6, 0.7]}},
    )
    preview = market_client.post("/api/optimizations/preview", json=body).json()
    algorithms = [item["request"]["params"]["algorithm_parameters"] for item in preview["items"]]
    assert [(a["max_exposure"], a["top_n"]) for a in algorithms] == [(0.6, 7), (0.7, 7)]


# The baseline run (conftest) has max_exposure 0.70, vol_target 0.050, max_weight 0.035.
# A grid over max_exposure and a perturbation over vol_target around 0.045 (radius 2) reach
# the same backtest twice: the perturbation's vol_target 0.050 at the baseline's
# max_exposure 0.70 is the grid's max_exposure 0.70 at the baseline's vol_target 0.050.
# Candidates in lattice order (|k|, then k): 0.040 (k=-1), 0.050 (k=+1, that duplicate),
# 0.035 (k=-2), 0.055 (k=+2). By hand, two perturbations are therefore 0.040 and 0.035.
CROSSED_AXES = {
    "grid": {"max_exposure": [0.6, 0.7]},
    "perturbation": {
        "base": {"vol_target": 0.045},
        "steps": {"vol_target": 0.005},
        "count": 2,
        "radius": 2,
    },
}


def test_grid_and_perturbation_over_different_axes_never_repeat_a_request(
    market_client, seeded, engine
):
    body = dict(SEED_BODY, search=CROSSED_AXES)
    preview = market_client.post("/api/optimizations/preview", json=body).json()
    assert [(item["source"], item["params"]) for item in preview["items"]] == [
        ("grid", {"max_exposure": 0.6}),
        ("grid", {"max_exposure": 0.7}),
        ("perturbation", {"vol_target": 0.04}),
        ("perturbation", {"vol_target": 0.035}),
    ]
    algorithms = [item["request"]["params"]["algorithm_parameters"] for item in preview["items"]]
    effective = [(a["max_exposure"], a["vol_target"]) for a in algorithms]
    assert effective == [(0.6, 0.05), (0.7, 0.05), (0.7, 0.04), (0.7, 0.035)]

    sweep = finish_sweep(market_client, body)
    assert sweep["counts"]["completed"] == 4
    runs = [
        market_client.get(f"/api/backtests/{trial['run_id']}").json()
        for trial in market_client.get(f"/api/optimizations/{sweep['id']}/trials").json()["items"]
    ]
    ran = [
        (algorithm["max_exposure"], algorithm["vol_target"])
        for algorithm in (run["params"]["algorithm_parameters"] for run in runs)
    ]
    assert ran == effective  # what the preview showed is what ran, each once


def test_when_duplicates_leave_too_few_points_the_count_is_refused(market_client, seeded, engine):
    # Radius 1 has only two candidates, 0.040 and 0.050, and 0.050 is a grid trial.
    search = {**CROSSED_AXES, "perturbation": {**CROSSED_AXES["perturbation"], "radius": 1}}
    response = market_client.post("/api/optimizations", json=dict(SEED_BODY, search=search))
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "search", "perturbation", "count"]
    assert "only 1 perturbation points exist" in error["msg"]
    assert stored_rows(engine) == (0, 0, 1)


def test_the_seed_space_is_still_18_plus_12(market_client, seeded):
    preview = market_client.post("/api/optimizations/preview", json=SEED_BODY).json()
    assert preview["trials_total"] == 30
    assert [item["source"] for item in preview["items"]] == ["grid"] * 18 + ["perturbation"] * 12
    # The twelve by hand: offsets k on (max_exposure ±0.05, vol_target ±0.005, max_weight
    # ±0.005) around (0.70, 0.050, 0.035), nearest first (sum of k²), then k in lexicographic
    # order, skipping the base and the grid points (max_exposure 0.70 with max_weight
    # 0.030/0.040 at any grid vol_target).
    assert [tuple(item["params"].values()) for item in preview["items"][18:]] == [
        (0.65, 0.05, 0.035),  # (-1, 0, 0)
        (0.7, 0.045, 0.035),  # (0, -1, 0)
        (0.7, 0.055, 0.035),  # (0, +1, 0); (0, 0, ±1) are grid points
        (0.75, 0.05, 0.035),  # (+1, 0, 0)
        (0.65, 0.045, 0.035),  # (-1, -1, 0)
        (0.65, 0.05, 0.03),  # (-1, 0, -1)
        (0.65, 0.05, 0.04),  # (-1, 0, +1)
        (0.65, 0.055, 0.035),  # (-1, +1, 0); (0, ±1, ±1) are grid points
        (0.75, 0.045, 0.035),  # (+1, -1, 0)
        (0.75, 0.05, 0.03),  # (+1, 0, -1)
        (0.75, 0.05, 0.04),  # (+1, 0, +1)
        (0.75, 0.055, 0.035),  # (+1, +1, 0)
    ]


def test_a_baseline_path_outside_the_roots_is_refused_at_the_baseline(
    market_client, seeded, engine
):
    """A path the trials would inherit from the baseline run (one stored before the API
    checked paths, or by the CLI) is refused at POST too, naming the baseline run."""
    from sqlalchemy import text

    with engine.begin() as conn:
        params = conn.execute(text("SELECT params FROM backtest_runs WHERE id = 615")).scalar_one()
        params = json.loads(params) if isinstance(params, str) else params
        params["algorithm_parameters"]["weights_path"] = "/etc/passwd"
        conn.execute(
            text("UPDATE backtest_runs SET params = :p WHERE id = 615"), {"p": json.dumps(params)}
        )
    response = market_client.post("/api/optimizations", json=SEED_BODY)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "baseline_run_id"]
    assert "weights_path '/etc/passwd' is outside the allowed file roots" in error["msg"]
    assert stored_rows(engine) == (0, 0, 1)


def test_a_non_finite_override_at_any_depth_is_422(market_client, seeded, engine):
    # 1e400 parses as infinity and would be stored (and run) as null.
    overrides = {**SEED_BODY["overrides"], "holdings": {"SPY": "INFINITE"}}
    body = json.dumps({**SEED_BODY, "overrides": overrides}).replace('"INFINITE"', "1e400")
    for path in ("/api/optimizations", "/api/optimizations/preview"):
        response = market_client.post(
            path, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "overrides"]
        assert "holdings.SPY must be a finite number" in error["msg"]
    assert stored_rows(engine) == (0, 0, 1)
