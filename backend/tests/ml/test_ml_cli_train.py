"""`stocklean train run | import` against a Parquet store of the planted panel."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from app.cli import main
from app.engine.store import write_parquet_store


@pytest.fixture(scope="module")
def data_dir(planted_panel, tmp_path_factory):
    return write_parquet_store(planted_panel, tmp_path_factory.mktemp("data"))


def data_options(data_dir) -> list[str]:
    return ["--data-source", "parquet", "--data-dir", str(data_dir)]


def test_train_run_prints_metrics_and_writes_scores(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        ["train", "run", *data_options(data_dir), "--out", str(out), "--model", "ridge",
         "--min-train-sessions", "100", "--retrain-interval", "42"]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "SYNTHETIC" in printed
    assert "ic_mean:" in printed
    frame = pd.read_csv(out / "scores.csv")
    assert list(frame.columns) == ["date", "symbol", "score"]
    assert json.loads((out / "metrics.json").read_text())["n_models"] >= 5


def test_train_run_json(data_dir, tmp_path, capsys):
    code = main(
        ["train", "run", *data_options(data_dir), "--out", str(tmp_path), "--model", "ridge",
         "--min-train-sessions", "100", "--json"]
    )  # fmt: skip
    assert code == 0
    assert json.loads(capsys.readouterr().out)["model"] == "ridge"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--label-horizon", "0"], "label_horizon"),
        (["--score-start", "2018-03-01"], "leaves too little training history"),
        (["--universe", "S001,S002,S003,S004,NOPE"], "not in the market data: NOPE"),
        (["--feature-set", "nope"], "unknown feature set 'nope'"),
    ],
)
def test_train_run_user_errors_exit_2(data_dir, tmp_path, capsys, options, message):
    code = main(["train", "run", *data_options(data_dir), "--out", str(tmp_path), *options])
    assert code == 2
    assert message in capsys.readouterr().err


def test_train_run_without_market_data_is_a_user_error(tmp_path, capsys):
    code = main(["train", "run", *data_options(tmp_path / "empty"), "--out", str(tmp_path)])
    assert code == 2
    assert "cannot load parquet market data" in capsys.readouterr().err


def test_train_import_validates_and_copies(data_dir, tmp_path, capsys):
    source = tmp_path / "mine.csv"
    source.write_text("date,symbol,score\n2019-06-07,S003,0.2\n2019-06-07,S001,0.1\n")
    code = main(["train", "import", str(source), "--out", str(tmp_path / "dest"),
                 *data_options(data_dir)])  # fmt: skip
    assert code == 0
    assert (tmp_path / "dest" / "scores.csv").read_text() == (
        "date,symbol,score\n2019-06-07,S001,0.1\n2019-06-07,S003,0.2\n"
    )


def test_train_import_reports_every_problem(data_dir, tmp_path, capsys):
    source = tmp_path / "bad.csv"
    source.write_text("date,symbol,score\n2019-06-08,S001,1\n2019-06-07,NOPE,x\n")
    code = main(["train", "import", str(source), "--out", str(tmp_path / "dest"),
                 *data_options(data_dir)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "line 2: date 2019-06-08 is not a trading session" in err
    assert "line 3: score 'x' is not a finite number" in err
    assert "line 3: symbol 'NOPE' is not in the market data" in err
    assert not (tmp_path / "dest").exists()


def test_train_import_without_data_check(tmp_path):
    source = tmp_path / "mine.csv"
    source.write_text("date,symbol,score\n2030-01-02,ANY,1\n")
    code = main(["train", "import", str(source), "--out", str(tmp_path / "d"), "--no-data-check"])
    assert code == 0
