"""GET /api/optimizations/{id}/trials in pages: limit, offset, sort by any metric, feasible
filter, checked against the whole list sorted and filtered here."""

from __future__ import annotations

import pytest
from factories import SEED_BODY
from polling import finish_sweep


@pytest.fixture
def finished_sweep(market_client, seeded) -> int:
    body = dict(
        SEED_BODY,
        search={"grid": {"max_exposure": [0.5, 0.7, 0.9], "vol_target": [0.04, 0.08]}},
        constraints=[{"metric": "max_drawdown", "op": "<=", "value": 0.06}],
    )
    sweep = finish_sweep(market_client, body)
    assert sweep["status"] == "completed"
    return sweep["id"]


def test_pages_sorts_and_filters(market_client, finished_sweep):
    path = f"/api/optimizations/{finished_sweep}/trials"
    everything = market_client.get(path).json()
    assert everything["total"] == len(everything["items"]) == 6
    trials = everything["items"]
    assert [t["trial_index"] for t in trials] == sorted(t["trial_index"] for t in trials)

    page = market_client.get(path, params={"limit": 2, "offset": 3}).json()
    assert page["total"] == 6
    assert [t["id"] for t in page["items"]] == [t["id"] for t in trials[3:5]]

    by_cagr = market_client.get(path, params={"sort": "cagr", "order": "desc"}).json()["items"]
    expected = sorted(trials, key=lambda t: (-t["cagr"], t["trial_index"]))
    assert [t["id"] for t in by_cagr] == [t["id"] for t in expected]
    by_drawdown = market_client.get(path, params={"sort": "max_drawdown", "limit": 4}).json()
    expected = sorted(trials, key=lambda t: (t["max_drawdown"], t["trial_index"]))[:4]
    assert [t["id"] for t in by_drawdown["items"]] == [t["id"] for t in expected]

    feasible = market_client.get(path, params={"feasible": "true"}).json()
    infeasible = market_client.get(path, params={"feasible": "false"}).json()
    assert {t["id"] for t in feasible["items"]} == {t["id"] for t in trials if t["feasible"]}
    assert {t["id"] for t in infeasible["items"]} == {
        t["id"] for t in trials if t["feasible"] is False
    }
    assert feasible["total"] + infeasible["total"] == 6
    assert all(t["max_drawdown"] <= 0.06 for t in feasible["items"])


@pytest.mark.parametrize(
    "params, needle",
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"sort": "leverage"}, "sort"),
        ({"order": "up"}, "order"),
        ({"feasible": "maybe"}, "feasible"),
    ],
)
def test_bad_page_requests_are_422(market_client, seeded, params, needle):
    created = market_client.post(
        "/api/optimizations", json=dict(SEED_BODY, search={"grid": {"max_exposure": [0.5]}})
    )
    response = market_client.get(f"/api/optimizations/{created.json()['id']}/trials", params=params)
    assert response.status_code == 422
    assert needle in response.text


def test_a_finished_sweeps_leader_is_its_top_1(market_client, finished_sweep):
    # Status polls reuse a leader ranked at the same counts; once the sweep has finished
    # it must be the Top 1, whatever was cached while it ran.
    sweep = market_client.get(f"/api/optimizations/{finished_sweep}").json()
    top = market_client.get(f"/api/optimizations/{finished_sweep}/top", params={"n": 1}).json()
    assert sweep["best"]["run_id"] == top["items"][0]["run_id"]
    assert sweep["best"]["cagr"] == top["items"][0]["cagr"]
