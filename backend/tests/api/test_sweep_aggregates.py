"""GET /api/optimizations/{id}/aggregates and /scatter on a 2 × 2 × 2 grid whose cells can be
counted by hand, checked against the trials listed one by one; bad requests are 422/404."""

from __future__ import annotations

import statistics

import numpy as np
import pytest
from factories import SEED_BODY
from polling import finish_sweep

from app.services.sweep_aggregates import pareto_front, sample_keys

GRID = {"max_exposure": [0.5, 0.9], "vol_target": [0.04, 0.08], "max_weight": [0.03, 0.05]}


@pytest.fixture
def finished_sweep(market_client, seeded) -> int:
    body = dict(
        SEED_BODY,
        search={"grid": GRID},
        constraints=[{"metric": "max_drawdown", "op": "<=", "value": 0.06}],
    )
    sweep = finish_sweep(market_client, body)
    assert sweep["status"] == "completed"
    return sweep["id"]


def trials_of(client, sweep_id: int) -> list[dict]:
    trials = client.get(f"/api/optimizations/{sweep_id}/trials").json()["items"]
    assert len(trials) == 8 and all(t["status"] == "completed" for t in trials)
    return trials


def test_cells_over_two_parameters_count_two_trials_each(market_client, finished_sweep):
    trials = trials_of(market_client, finished_sweep)
    path = f"/api/optimizations/{finished_sweep}/aggregates"
    body = market_client.get(path, params={"x": "max_exposure", "y": "vol_target"}).json()
    assert body["x_values"] == [0.5, 0.9] and body["y_values"] == [0.04, 0.08]
    assert body["panel_values"] == [] and body["trials"] == 8
    assert len(body["cells"]) == 4
    for cell in body["cells"]:
        mine = [
            t
            for t in trials
            if t["params"]["max_exposure"] == cell["x"] and t["params"]["vol_target"] == cell["y"]
        ]
        assert cell["trials"] == cell["completed"] == len(mine) == 2
        assert cell["feasible"] == sum(1 for t in mine if t["feasible"])
        best = max(mine, key=lambda t: (t["cagr"], -t["trial_index"]))
        assert cell["value"] == best["cagr"]
        assert (cell["run_id"], cell["trial_index"]) == (best["run_id"], best["trial_index"])
    assert body["lo"] == min(c["value"] for c in body["cells"])
    assert body["hi"] == max(t["cagr"] for t in trials)

    mean = market_client.get(
        path, params={"x": "max_exposure", "y": "vol_target", "stat": "mean"}
    ).json()
    for cell in mean["cells"]:
        mine = [
            t["cagr"]
            for t in trials
            if t["params"]["max_exposure"] == cell["x"] and t["params"]["vol_target"] == cell["y"]
        ]
        assert cell["value"] == pytest.approx(statistics.mean(mine), rel=1e-12)
        assert cell["run_id"] is None

    lowest = market_client.get(
        path, params={"x": "max_exposure", "metric": "max_drawdown", "stat": "min"}
    ).json()
    assert [c["x"] for c in lowest["cells"]] == [0.5, 0.9]
    for cell in lowest["cells"]:
        mine = [t for t in trials if t["params"]["max_exposure"] == cell["x"]]
        assert cell["trials"] == 4 and cell["y"] is None
        assert cell["value"] == min(t["max_drawdown"] for t in mine)


def test_panels_and_the_feasible_filter(market_client, finished_sweep):
    trials = trials_of(market_client, finished_sweep)
    path = f"/api/optimizations/{finished_sweep}/aggregates"
    axes = {"x": "max_exposure", "y": "vol_target", "panel": "max_weight"}
    body = market_client.get(path, params=axes).json()
    assert body["panel_values"] == [0.03, 0.05] and len(body["cells"]) == 8
    by_point = {
        (t["params"]["max_exposure"], t["params"]["vol_target"], t["params"]["max_weight"]): t
        for t in trials
    }
    for cell in body["cells"]:
        trial = by_point[(cell["x"], cell["y"], cell["panel"])]
        assert cell["trials"] == 1 and cell["value"] == trial["cagr"]
        assert cell["run_id"] == trial["run_id"]

    feasible = [t for t in trials if t["feasible"]]
    assert all(t["max_drawdown"] <= 0.0605 for t in feasible)
    only = market_client.get(path, params={**axes, "feasible": "true"}).json()
    assert only["trials"] == sum(c["feasible"] for c in only["cells"]) == len(feasible)
    assert {c["run_id"] for c in only["cells"]} == {t["run_id"] for t in feasible}
    missed = market_client.get(path, params={**axes, "feasible": "false"}).json()
    assert missed["trials"] == 8 - len(feasible)
    assert all(c["feasible"] == 0 for c in missed["cells"])
    # The grid has no perturbations: none to count.
    assert market_client.get(path, params={**axes, "source": "perturbation"}).json() == {
        **body,
        "source": "perturbation",
        "cells": [],
        "x_values": [],
        "y_values": [],
        "panel_values": [],
        "trials": 0,
        "lo": None,
        "hi": None,
    }


def test_scatter_is_bounded_and_keeps_the_top_and_the_front(market_client, finished_sweep):
    trials = trials_of(market_client, finished_sweep)
    path = f"/api/optimizations/{finished_sweep}/scatter"
    everything = market_client.get(path, params={"limit": 100}).json()
    assert everything["total"] == len(everything["points"]) == 8
    # The Pareto front by brute force: nobody else at least as good on both, better on one.
    dominated = {
        t["run_id"]
        for t in trials
        for u in trials
        if u["cagr"] >= t["cagr"]
        and u["max_drawdown"] <= t["max_drawdown"]
        and (u["cagr"], u["max_drawdown"]) != (t["cagr"], t["max_drawdown"])
    }
    assert {p["run_id"] for p in everything["points"] if p["front"]} == {
        t["run_id"] for t in trials if t["run_id"] not in dominated
    }
    top = market_client.get(f"/api/optimizations/{finished_sweep}/top", params={"n": 3}).json()
    ranked = {p["run_id"]: p["rank"] for p in everything["points"] if p["rank"]}
    assert ranked == {it["run_id"]: it["rank"] for it in top["items"]}  # top=3 by default
    three = market_client.get(path, params={"limit": 3, "top": 2}).json()
    assert three["total"] == 8 and len(three["points"]) == 3
    assert {p["run_id"]: p["rank"] for p in three["points"] if p["rank"]} == {
        it["run_id"]: it["rank"] for it in top["items"][:2]
    }
    assert market_client.get(path, params={"limit": 3, "top": 2}).json() == three


def test_pareto_front_and_sample_keys_by_hand():
    cagr = np.array([0.10, 0.12, 0.08, 0.12, 0.15, 0.10, 0.07, 0.07])
    drawdown = np.array([0.05, 0.06, 0.04, 0.07, 0.20, 0.05, 0.08, 0.08])
    # On it: 0.08@0.04 (lowest drawdown), 0.10@0.05 twice (equal points), 0.12@0.06,
    # 0.15@0.20 (highest CAGR). Off: 0.12@0.07 (0.12@0.06 beats it), 0.07@0.08 twice.
    front = [True, True, True, False, True, True, False, False]
    assert pareto_front(cagr, drawdown).tolist() == front
    assert sample_keys(np.array([0, 1, 2])).tolist() == [0, 2654435761, 1013904226]


@pytest.mark.parametrize(
    "params, needle",
    [
        ({}, "x"),
        ({"x": "leverage"}, "x: 'leverage' is not a parameter"),
        ({"x": "max_exposure", "y": "max_exposure"}, "y: 'max_exposure' is already the x axis"),
        ({"x": "max_exposure", "panel": "top_n"}, "panel: 'top_n' is not a parameter"),
        ({"x": "max_exposure", "metric": "alpha"}, "metric"),
        ({"x": "max_exposure", "stat": "median"}, "stat"),
        ({"x": "max_exposure", "source": "random"}, "source"),
        ({"x": "max_exposure", "feasible": "maybe"}, "feasible"),
    ],
)
def test_bad_aggregate_requests_are_422(market_client, seeded, params, needle):
    created = market_client.post(
        "/api/optimizations", json=dict(SEED_BODY, search={"grid": {"max_exposure": [0.5]}})
    )
    response = market_client.get(
        f"/api/optimizations/{created.json()['id']}/aggregates", params=params
    )
    assert response.status_code == 422, response.text
    assert needle in response.text


@pytest.mark.parametrize(
    "params, needle", [({"limit": 0}, "limit"), ({"limit": 5001}, "limit"), ({"top": 101}, "top")]
)
def test_bad_scatter_requests_are_422(market_client, seeded, params, needle):
    created = market_client.post(
        "/api/optimizations", json=dict(SEED_BODY, search={"grid": {"max_exposure": [0.5]}})
    )
    response = market_client.get(
        f"/api/optimizations/{created.json()['id']}/scatter", params=params
    )
    assert response.status_code == 422, response.text
    assert needle in response.text


def test_unknown_sweep_is_404(market_client, seeded):
    for path in ("aggregates?x=max_exposure", "scatter"):
        response = market_client.get(f"/api/optimizations/9999/{path}")
        assert response.status_code == 404
        assert "optimization 9999" in response.text
