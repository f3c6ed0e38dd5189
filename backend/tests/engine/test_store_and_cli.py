"""Parquet/CSV stores, the per-process cache and the CLI commands."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from app.engine import get_market_data, load_market_data
from app.engine.store import write_parquet_store


def test_parquet_round_trip_and_cache(small_synth, tmp_path):
    write_parquet_store(small_synth, tmp_path)
    loaded = load_market_data("parquet", tmp_path)
    assert loaded.symbols == small_synth.symbols
    assert (loaded.sessions == small_synth.sessions).all()
    np.testing.assert_array_equal(loaded.close, small_synth.close)
    np.testing.assert_array_equal(loaded.dividends, small_synth.dividends)
    assert loaded.provenance["synthetic"] is True
    assert "SYNTHETIC" in loaded.provenance["description"]
    first = get_market_data("parquet", tmp_path)
    assert get_market_data("parquet", tmp_path) is first
    meta = tmp_path / "metadata.json"
    meta.write_text(meta.read_text().replace("stocklean-synth", "stocklean-synth-v2") + " ")
    assert get_market_data("parquet", tmp_path) is not first


def test_synth_is_deterministic(small_synth):
    from app.engine.synth import generate_synthetic_market

    again = generate_synthetic_market(seed=3, n_stocks=40)
    np.testing.assert_array_equal(again.close, small_synth.close)
    assert str(small_synth.sessions[0].date()) == "2017-01-03"
    assert str(small_synth.sessions[-1].date()) == "2026-01-13"
    assert {"SPY", "SHY", "VGSH", "IEF", "GLD", "TLT"} <= set(small_synth.symbols)


def test_cli_import_csv_info_and_backtest(tmp_path, capsys):
    csv = tmp_path / "bars.csv"
    csv.write_text(
        "date,symbol,open,high,low,close,volume\n"
        "2021-01-04,AAA,10,11,9,10,100\n2021-01-05,AAA,10,11,9,11,100\n"
        "2021-01-06,AAA,11,12,10,12,100\n"
    )
    store = tmp_path / "store"
    assert main(["data", "import-csv", str(csv), "--data-dir", str(store)]) == 0
    assert main(["data", "info", "--data-source", "parquet", "--data-dir", str(store)]) == 0
    params = tmp_path / "p.json"
    params.write_text(
        json.dumps(
            {
                "algorithm_parameters": {
                    "strategy": "set_holdings",
                    "holdings": {"AAA": 1.0},
                    "benchmark": "",
                }
            }
        )
    )
    capsys.readouterr()
    assert (
        main(
            [
                "backtest",
                "--params",
                str(params),
                "--data-source",
                "parquet",
                "--data-dir",
                str(store),
                "--json",
            ]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert document["statistics"]["Total Orders"] == "1"
    assert len(document["equity"]) == 4
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"strategy": "set_holdings", "holdings": {"ZZZ": 1.0}}))
    assert (
        main(
            ["backtest", "--params", str(bad), "--data-source", "parquet", "--data-dir", str(store)]
        )
        == 2
    )
    assert "symbols not in the data: ZZZ" in capsys.readouterr().err


def test_csv_import_errors(tmp_path):
    from app.engine import BacktestInputError

    bad = tmp_path / "bad.csv"
    bad.write_text("date,symbol,close\n2021-01-04,AAA,1\n")
    with pytest.raises(BacktestInputError, match="missing columns: open, high, low, volume"):
        load_market_data("csv", bad)
    weekend = tmp_path / "weekend.csv"
    weekend.write_text(
        "date,symbol,open,high,low,close,volume\n2021-01-02,AAA,1,1,1,1,1\n2021-01-04,AAA,1,1,1,1,1\n"
    )
    with pytest.raises(BacktestInputError, match="not an XNYS session"):
        load_market_data("csv", weekend)


def test_cli_synth(tmp_path):
    assert (
        main(["data", "synth", "--data-dir", str(tmp_path), "--stocks", "12", "--seed", "1"]) == 0
    )
    data = load_market_data("parquet", tmp_path)
    assert len(data.symbols) == 18
