"""Walk-forward training on small synthetic panels with a planted drift signal."""

from __future__ import annotations

import json

import lightgbm
import numpy as np
import pandas as pd
import pytest
from ml_panels import ETFS, make_planted_panel

from app.engine.market import MarketData
from app.ml.features import compute_features
from app.ml.training import (
    TrainInputError,
    TrainParams,
    fit_ridge,
    plan_walk_forward,
    train_walk_forward,
)

# Small, fast settings: 100 training sessions is enough on the planted panel.
FAST_LIGHTGBM = {"n_estimators": 40, "min_data_in_leaf": 50, "num_threads": 2}


def fast_params(**overrides) -> TrainParams:
    values = {"min_train_sessions": 100, "lightgbm": FAST_LIGHTGBM, **overrides}
    return TrainParams.model_validate(values)


@pytest.fixture(scope="module")
def ridge_run(planted_panel, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("ridge")
    return train_walk_forward(planted_panel, fast_params(model="ridge"), out_dir)


@pytest.fixture(scope="module")
def lightgbm_run(planted_panel, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("lightgbm")
    return train_walk_forward(planted_panel, fast_params(), out_dir)


def test_ridge_baseline_finds_planted_signal(ridge_run):
    metrics = ridge_run.metrics
    assert metrics["ic_mean"] > 0.05
    assert metrics["hit_rate"] > 0.6
    assert metrics["synthetic"] is True


def test_lightgbm_finds_planted_signal(lightgbm_run):
    assert lightgbm_run.metrics["ic_mean"] > 0.05
    assert lightgbm_run.metrics["hit_rate"] > 0.6


def test_fit_ridge_recovers_exact_linear_relation():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(500, 3))
    y = 0.2 + x @ np.array([1.0, -2.0, 0.5])
    intercept, coef = fit_ridge(x, y, alpha=0.0)
    assert intercept == pytest.approx(0.2)
    np.testing.assert_allclose(coef, [1.0, -2.0, 0.5], atol=1e-9)
    _, shrunk = fit_ridge(x, y, alpha=10.0)
    assert np.abs(shrunk).sum() < np.abs(coef).sum()


def test_scores_file_format(lightgbm_run, planted_panel):
    path = lightgbm_run.scores_path
    assert path.name == "scores.csv"
    with path.open() as handle:
        assert handle.readline() == "date,symbol,score\n"
        assert len(handle.readline().split(",")[0]) == len("2019-06-07")
    frame = pd.read_csv(path, dtype={"date": str})
    assert list(frame.columns) == ["date", "symbol", "score"]
    assert not frame.duplicated(["date", "symbol"]).any()
    assert np.isfinite(frame["score"]).all()
    assert not set(frame["symbol"]) & set(ETFS)
    dates = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    assert dates.min() == pd.Timestamp(lightgbm_run.metrics["score_start"])
    assert dates.max() == planted_panel.sessions[-1]
    assert dates.is_monotonic_increasing
    # Exact floats survive the text round trip, in file order (date, then symbol).
    expected = lightgbm_run.scores
    assert (frame["symbol"].to_numpy() == expected["symbol"].to_numpy()).all()
    np.testing.assert_array_equal(frame["score"].to_numpy(), expected["score"].to_numpy())


def test_metrics_are_complete_and_json_ready(lightgbm_run):
    metrics = lightgbm_run.metrics
    for key in (
        "ic_mean",
        "ic_std",
        "ic_ir",
        "hit_rate",
        "coverage",
        "ic_by_year",
        "n_models",
        "n_scored_days",
        "train_seconds",
        "synthetic",
    ):
        assert key in metrics
    assert 0.9 < metrics["coverage"] <= 1.0
    assert metrics["n_models"] == len(lightgbm_run.windows)
    assert set(metrics["ic_by_year"]) == {"2019", "2020"}
    stored = json.loads((lightgbm_run.scores_path.parent / "metrics.json").read_text())
    assert stored == metrics
    # The IC only covers days whose 21-session forward return is realised.
    assert metrics["n_ic_days"] == metrics["n_scored_days"] - 21


def test_saved_lightgbm_models_reproduce_the_scores(lightgbm_run, planted_panel):
    out_dir = lightgbm_run.scores_path.parent
    manifest = json.loads((lightgbm_run.models_dir / "manifest.json").read_text())
    assert len(manifest) == len(lightgbm_run.windows)
    window = lightgbm_run.windows[1]
    booster = lightgbm.Booster(model_file=str(out_dir / window.artifact))
    universe = [s for s in planted_panel.symbols if s not in ETFS]
    columns = [planted_panel.column(s) for s in universe]
    features = compute_features(
        planted_panel.close[:, columns], planted_panel.volume[:, columns], "momentum_v1"
    )
    day = planted_panel.sessions.get_loc(pd.Timestamp(window.first_scored_date))
    complete = features.complete_rows()[day]
    predicted = booster.predict(features.values[:, day, complete].T)
    on_day = lightgbm_run.scores[
        lightgbm_run.scores["date"] == pd.Timestamp(window.first_scored_date)
    ]
    np.testing.assert_allclose(on_day["score"].to_numpy(), predicted, rtol=1e-12)


def test_ridge_artifacts_hold_coefficients(ridge_run):
    out_dir = ridge_run.scores_path.parent
    document = json.loads((out_dir / ridge_run.windows[0].artifact).read_text())
    assert document["model"] == "ridge"
    assert len(document["coefficients"]) == len(document["feature_names"])


def test_purge_gap_is_honoured(planted_panel, tmp_path):
    horizon, interval = 10, 40
    params = fast_params(
        model="ridge",
        label_horizon=horizon,
        retrain_interval=interval,
        train_every_n_sessions=1,
        train_start="2018-03-01",
    )
    output = train_walk_forward(planted_panel, params, tmp_path)
    sessions = planted_panel.sessions
    plan = plan_walk_forward(planted_panel, params)
    assert output.windows, "expected several models"
    previous_last_scored = None
    for window in output.windows:
        first_scored = sessions.get_loc(pd.Timestamp(window.first_scored_date))
        last_train = sessions.get_loc(pd.Timestamp(window.train_last_date))
        last_label = sessions.get_loc(pd.Timestamp(window.train_last_label_date))
        # The last training row is dated exactly first_scored - horizon - 1, and its label
        # (realised horizon sessions later) is known the session before scoring starts.
        assert last_train == first_scored - horizon - 1
        assert last_label == last_train + horizon == first_scored - 1
        assert window.train_last_label_date < window.first_scored_date
        assert window.train_first_date >= pd.Timestamp("2018-03-01").date()
        # Consecutive blocks tile the scoring period.
        if previous_last_scored is not None:
            assert first_scored == previous_last_scored + 1
        previous_last_scored = sessions.get_loc(pd.Timestamp(window.last_scored_date))
        assert previous_last_scored - first_scored + 1 <= interval
    assert previous_last_scored == plan.score_end
    rows = [w.n_train_rows for w in output.windows]
    assert rows == sorted(rows) and len(set(rows)) == len(rows)  # expanding window


@pytest.mark.parametrize("model", ["lightgbm", "ridge"])
def test_no_look_ahead_prices_after_d_change_no_score_dated_up_to_d(planted_panel, tmp_path, model):
    sessions = planted_panel.sessions
    plan = plan_walk_forward(planted_panel, fast_params(model=model))
    # A day in the middle of a model's block, so later blocks' models and this block's
    # remaining days are all exposed to the perturbation.
    cut = plan.block_starts[1] + 17
    rng = np.random.default_rng(99)
    after = slice(cut + 1, None)

    def perturbed(array: np.ndarray) -> np.ndarray:
        changed = array.copy()
        changed[after] *= rng.lognormal(0.0, 1.0, changed[after].shape)
        changed[cut + 5 :, 7] = np.nan  # a stock stops trading
        return changed

    future_changed = MarketData(
        sessions=sessions,
        symbols=planted_panel.symbols,
        open=perturbed(planted_panel.open),
        high=perturbed(planted_panel.high),
        low=perturbed(planted_panel.low),
        close=perturbed(planted_panel.close),
        volume=perturbed(planted_panel.volume),
        provenance=planted_panel.provenance,
    )
    original = train_walk_forward(planted_panel, fast_params(model=model), tmp_path / "a")
    changed = train_walk_forward(future_changed, fast_params(model=model), tmp_path / "b")

    last_known = sessions[cut]
    before_a = original.scores[original.scores["date"] <= last_known].reset_index(drop=True)
    before_b = changed.scores[changed.scores["date"] <= last_known].reset_index(drop=True)
    assert len(before_a) > 0
    pd.testing.assert_frame_equal(before_a, before_b, check_exact=True)
    # ... while the perturbation does reach the later scores (the test is not vacuous).
    after_a = original.scores[original.scores["date"] > last_known]["score"].to_numpy()
    after_b = changed.scores[changed.scores["date"] > last_known]["score"].to_numpy()
    assert len(after_a) != len(after_b) or not np.array_equal(after_a, after_b)


def test_default_universe_excludes_etfs_and_explicit_universe_is_respected(planted_panel, tmp_path):
    universe = [f"S{j:03d}" for j in range(10, 20)]
    output = train_walk_forward(
        planted_panel, fast_params(model="ridge", universe=universe), tmp_path
    )
    assert set(output.scores["symbol"]) == set(universe)
    assert output.metrics["n_universe"] == 10


def test_score_start_defaults_to_earliest_valid(planted_panel):
    plan = plan_walk_forward(planted_panel, fast_params())
    # 252 sessions of feature history, 100 training sessions, 21-session label + 1.
    assert plan.score_start == 252 + 100 - 1 + 21 + 1
    assert plan.score_end == len(planted_panel.sessions) - 1


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"model": "xgboost"}, "model: Input should be 'lightgbm' or 'ridge'"),
        ({"feature_set": "magic_v9"}, "unknown feature set 'magic_v9'; known: momentum_v1"),
        ({"label_horizon": 0}, "label_horizon"),
        ({"retrain_interval": -3}, "retrain_interval"),
        ({"lightgbm": {"num_leaves": 1}}, "lightgbm.num_leaves"),
        ({"lightgbm": {"learning_rate": 0}}, "lightgbm.learning_rate"),
        ({"learning_rate": 0.1}, "learning_rate: Extra inputs are not permitted"),
        ({"universe": ["AAA", "BBB", "AAA", "CCC", "DDD"]}, "universe lists symbols twice: AAA"),
        ({"universe": ["AAA"]}, "ranking needs at least 5"),
        ({"score_start": "2020-01-01", "score_end": "2019-01-01"}, "is before score_start"),
        ({"train_start": "2020-01-01", "score_start": "2019-01-01"}, "must be after train_start"),
        ({"score_start": "not a date"}, "score_start"),
    ],
)
def test_bad_params_are_rejected_readably(values, message):
    with pytest.raises(TrainInputError, match="invalid train parameters") as caught:
        TrainParams.from_mapping(values)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"score_start": "2018-06-01"}, "leaves too little training history"),
        ({"score_start": "2018-06-01"}, "the earliest score_start with train_start 2018-01-02"),
        ({"train_start": "2010-01-01"}, "train_start 2010-01-01 is outside the data"),
        ({"score_end": "2030-01-01"}, "score_end 2030-01-01 is outside the data"),
        (
            {"universe": ["S001", "NOPE", "S002", "ZZZ", "S003"]},
            "not in the market data: NOPE, ZZZ",
        ),
        ({"train_start": "2019-12-01"}, "not enough history"),
    ],
)
def test_params_that_do_not_fit_the_data_are_rejected(planted_panel, values, message):
    params = fast_params(**values)
    with pytest.raises(TrainInputError) as caught:
        plan_walk_forward(planted_panel, params)
    assert message in str(caught.value)


def test_too_few_stocks_in_default_universe(tmp_path):
    small = make_planted_panel(n_sessions=400, n_stocks=3)
    with pytest.raises(TrainInputError, match="ranking needs at least 5"):
        train_walk_forward(small, fast_params(), tmp_path)


def test_train_input_error_is_a_value_error():
    assert issubclass(TrainInputError, ValueError)


def test_nothing_is_written_for_rejected_params(planted_panel, tmp_path):
    with pytest.raises(TrainInputError):
        train_walk_forward(planted_panel, fast_params(score_start="2018-06-01"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_panel_helper_is_labelled_synthetic(planted_panel):
    assert planted_panel.synthetic


def test_no_training_rows_is_reported_before_anything_is_written(planted_panel, tmp_path):
    close = planted_panel.close.copy()
    close[:400] = np.nan  # every symbol lists late: no complete features in the first window
    late = MarketData(
        sessions=planted_panel.sessions,
        symbols=planted_panel.symbols,
        open=close,
        high=close,
        low=close,
        close=close,
        volume=planted_panel.volume,
        provenance=planted_panel.provenance,
    )
    with pytest.raises(TrainInputError, match="no training rows with complete features before"):
        train_walk_forward(late, fast_params(), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_rerun_into_the_same_directory_replaces_models(planted_panel, tmp_path):
    train_walk_forward(planted_panel, fast_params(model="ridge", retrain_interval=20), tmp_path)
    output = train_walk_forward(planted_panel, fast_params(model="ridge"), tmp_path)
    saved = sorted(p.name for p in output.models_dir.glob("model_*"))
    assert saved == [f"model_{k:03d}.json" for k in range(len(output.windows))]


def test_train_output_passes_scores_validation(lightgbm_run, planted_panel):
    from app.ml.scores_import import validate_scores_file

    frame = validate_scores_file(lightgbm_run.scores_path, planted_panel)
    pd.testing.assert_frame_equal(frame, lightgbm_run.scores, check_dtype=False)


def test_params_round_trip_through_json():
    params = fast_params(score_start="2019-06-03", universe=["A", "B", "C", "D", "E"])
    again = TrainParams.from_mapping(json.loads(params.model_dump_json()))
    assert again == params
