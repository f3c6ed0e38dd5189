"""A backtest's compact files hold what the old ones held: ``equity.csv`` byte for byte what
pandas' ``to_csv`` writes (a second implementation), ``result.json`` the LEAN document without
its order list and chart copy, the fills in ``orders.npz``."""

from __future__ import annotations

import json

import numpy as np

from app.engine import load_market_data, run_backtest
from app.workers.artifacts import write_backtest_artifacts


def test_artifacts_hold_the_equity_statistics_and_fills(small_market_dir, tmp_path):
    data = load_market_data("parquet", small_market_dir)
    params = {
        "strategy": "ml_score_vol_target",
        "score_csv_path": str(small_market_dir / "scores.csv"),
        "backtest_start": "2019-06-03",
        "backtest_end": "2021-12-31",
        "top_n": 10,
        "risk_off_symbols": "SHY,IEF,GLD,TLT",
    }
    result = run_backtest(params, data)
    write_backtest_artifacts(tmp_path / "run", result)

    written = (tmp_path / "run" / "equity.csv").read_text()
    assert written == result.equity.rename("equity").to_csv(index_label="date")

    document = json.loads((tmp_path / "run" / "result.json").read_text())
    full = json.loads(json.dumps(result.to_lean_result(), default=str))
    for key in ("statistics", "runtimeStatistics", "equity", "metrics", "parameters"):
        assert document[key] == full[key], key
    assert "orders" not in document and "charts" not in document

    with np.load(tmp_path / "run" / "orders.npz") as orders:
        assert len(orders["symbol"]) == len(full["orders"]) > 0
        for k, order in enumerate(full["orders"]):
            assert str(orders["decision_date"][k]) == order["decisionDate"]
            assert str(orders["fill_date"][k]) == order["time"]
            assert orders["symbol"][k] == order["symbol"]
            assert orders["quantity"][k] == order["quantity"]
            assert orders["price"][k] == order["price"]
            assert orders["fee"][k] == order["fee"]
    assert not list((tmp_path / "run").glob("*.tmp"))
