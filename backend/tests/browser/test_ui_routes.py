"""The UI's server side without a browser: the page, its static files, and the equity
endpoint the charts read."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from polling import wait_until_final


def test_index_and_static_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/app.js">' in page.text
    for name, kind in (
        ("app.js", "javascript"),
        ("charts.js", "javascript"),
        ("api.js", "javascript"),
        ("format.js", "javascript"),
        ("router.js", "javascript"),
        ("pages/optimization.js", "javascript"),
        ("pages/sweep-views.js", "javascript"),
        ("pages/new.js", "javascript"),
        ("pages/space-editor.js", "javascript"),
        ("pages/robustness.js", "javascript"),
        ("styles.css", "text/css"),
    ):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]
    assert client.get("/static/missing.js").status_code == 404
    assert client.get("/static/../main.py").status_code == 404


def test_equity_of_a_completed_run(market_client, seeded):
    run = wait_until_final(market_client, f"/api/backtests/{seeded['baseline_run_id']}", 60)
    assert run["status"] == "completed", run
    response = market_client.get(f"/api/backtests/{run['id']}/equity")
    assert response.status_code == 200
    items = response.json()["items"]
    assert items[0]["date"] == "2019-06-03" and items[-1]["date"] == "2021-12-31"
    assert set(items[0]) == {"date", "equity", "drawdown"}
    equity = np.array([item["equity"] for item in items])
    drawdown = np.array([item["drawdown"] for item in items])
    # Drawdown: the fall from the running peak, a positive fraction; its maximum is the run's.
    expected = 1 - equity / np.maximum.accumulate(equity)
    assert np.allclose(drawdown, expected) and drawdown.min() == 0.0
    # The run's max_drawdown is LEAN's printed Drawdown (to 0.1 %): half of that at most.
    assert abs(drawdown.max() - run["metrics"]["max_drawdown"]) <= 0.0005 + 1e-12
    assert abs(equity[-1] - run["metrics"]["end_equity"]) < 0.01


def test_equity_is_404_when_there_is_none(market_client, seeded, market_settings):
    assert market_client.get("/api/backtests/999/equity").json() == {
        "detail": "backtest run 999 not found"
    }
    # Incomplete parameters: the run fails, or is canceled first; either way no curve.
    algorithm = {"strategy": "set_holdings", "holdings": {"SPY": 1.0}}
    created = market_client.post(
        "/api/backtests", json={"project_id": 18, "params": {"algorithm_parameters": algorithm}}
    ).json()
    market_client.post(f"/api/backtests/{created['id']}/cancel")
    response = market_client.get(f"/api/backtests/{created['id']}/equity")
    assert response.status_code == 404
    assert re.search(r"is (canceled|failed); it has no equity curve", response.json()["detail"])

    run = wait_until_final(market_client, f"/api/backtests/{seeded['baseline_run_id']}", 60)
    equity_file = market_settings.artifacts_dir / "backtests" / str(run["id"]) / "equity.csv"
    pd.read_csv(equity_file)  # it exists...
    equity_file.unlink()  # ...until an operator cleans the artifacts
    response = market_client.get(f"/api/backtests/{run['id']}/equity")
    assert response.status_code == 404
    assert response.json()["detail"] == f"backtest run {run['id']} has no equity curve artifact"
