"""GET /api/optimizations/{id}/analysis: 404 unknown, 409 while running, and the stored
DESIGN §4.2 document of a real 30-trial sweep on the small synthetic market."""

from __future__ import annotations

import json

from factories import SEED_BODY
from polling import wait_until, wait_until_final
from sqlalchemy import text


def test_unknown_optimization_is_404(market_client):
    response = market_client.get("/api/optimizations/4242/analysis")
    assert response.status_code == 404
    assert "4242" in response.json()["detail"]


def test_running_sweep_is_409(market_client, seeded):
    sweep = market_client.post("/api/optimizations", json=dict(SEED_BODY, max_inflight=1)).json()
    response = market_client.get(f"/api/optimizations/{sweep['id']}/analysis")
    assert response.status_code == 409
    assert "analysis is computed when it finishes" in response.json()["detail"]
    market_client.post(f"/api/optimizations/{sweep['id']}/cancel")
    # Canceled is final: the analysis covers the runs that completed, and follows the ones
    # that were still running when they finish.
    path = f"/api/optimizations/{sweep['id']}"
    wait_until(market_client, path, lambda body: body["counts"]["running"] == 0, 60)
    canceled = market_client.get(f"{path}/analysis")
    assert canceled.status_code == 200
    completed = market_client.get(path).json()["counts"]["completed"]
    assert canceled.json()["n_trials"] == completed
    json.dumps(canceled.json(), allow_nan=False)


def test_completed_sweep_analysis_is_stored_and_served(market_client, seeded, engine):
    sweep = market_client.post("/api/optimizations", json=SEED_BODY).json()
    done = wait_until_final(market_client, f"/api/optimizations/{sweep['id']}")
    assert done["status"] == "completed"
    # The dispatcher analyses the sweep, then writes the report.
    path = f"/api/optimizations/{sweep['id']}"
    wait_until(market_client, path, lambda body: body["report_path"], 30)
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT analysis FROM optimizations WHERE id = :id"), {"id": sweep["id"]}
        ).scalar_one()
    assert stored is not None  # computed when the sweep completed, before any request

    response = market_client.get(f"/api/optimizations/{sweep['id']}/analysis")
    assert response.status_code == 200
    document = response.json()
    json.dumps(document, allow_nan=False)
    assert document["optimization_id"] == sweep["id"] and document["n_trials"] == 30
    assert 1 <= document["distinct_trials"] <= 30
    assert len(document["equivalent"]) == 30 - document["distinct_trials"]
    trials = market_client.get(f"/api/optimizations/{sweep['id']}/trials").json()["items"]
    run_ids = {t["run_id"] for t in trials}
    for duplicate, representative in document["equivalent"].items():
        assert int(duplicate) in run_ids and representative in run_ids
        assert representative < int(duplicate)  # the first in trial order represents
    top = market_client.get(f"/api/optimizations/{sweep['id']}/top", params={"n": 3}).json()
    assert [i["run_id"] for i in document["top"]] == [i["run_id"] for i in top["items"]]
    assert [i["equivalent_to"] for i in top["items"]] == [
        document["equivalent"].get(str(i["run_id"])) for i in top["items"]
    ]
    dsr = document["dsr"]
    assert dsr["run_id"] == top["items"][0]["run_id"]
    assert dsr["n_trials"] == document["distinct_trials"]
    assert set(dsr) >= {"sharpe", "sr0", "sr_variance", "value"}
    assert document["pbo"]["blocks"] == 16 and document["pbo"]["combinations"] == 12870
    assert len(document["plateau"]) == 30
    assert {a["name"] for a in document["plateau_summary"]["axes"]} == {
        "max_exposure",
        "vol_target",
        "max_weight",
    }
    walk = document["walk_forward"]
    assert [y["decided_at"] for y in walk["years"]] == ["2020-12-31"]
    assert walk["summary"]["baseline"] is not None  # the baseline's equity on the sweep's days
    assert document["baseline"]["used"] is True
    # The baseline's metrics are read on the ranking's footing (LEAN's printed precision:
    # Drawdown to 0.1 %, CAGR to 0.001 %), like the trials': its feasibility cannot turn on
    # digits the trials' numbers do not have.
    base = document["baseline"]["metrics"]
    assert base["max_drawdown"] == round(base["max_drawdown"], 3)
    assert base["cagr"] == round(base["cagr"], 5)
    assert [b["run_id"] for b in document["bootstrap"]["items"]] == [
        i["run_id"] for i in top["items"]
    ]
    assert document["verdict"]["zh"] and document["verdict"]["en"]

    report = market_client.get(f"/api/optimizations/{sweep['id']}/report").text
    assert "## 选择有效性" in report and "紧缩夏普比率" in report
    assert "合成市场经过校准" in report
    english = market_client.get(f"/api/optimizations/{sweep['id']}/report?lang=en").text
    assert "Selection validity" in english and "calibrated" in english

    # A sweep finished before the analysis existed gets it on the first request.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE optimizations SET analysis = NULL WHERE id = :id"), {"id": sweep["id"]}
        )
    again = market_client.get(f"/api/optimizations/{sweep['id']}/analysis").json()
    assert again["distinct_trials"] == document["distinct_trials"]
    assert again["pbo"]["value"] == document["pbo"]["value"]
