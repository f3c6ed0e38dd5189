"""`stocklean analyze ID [--json]` and the verdict `stocklean optimize` prints under the Top 3."""

from __future__ import annotations

import json
import re

from factories import SEED_OPTIMIZE_ARGS

from app.cli import main

SEED_ARGS = [*SEED_OPTIMIZE_ARGS, "--max-inflight", "4"]


def test_optimize_prints_the_verdict_and_analyze_prints_the_analysis(cli_env, seeded, capsys):
    assert main(SEED_ARGS) == 0
    printed = capsys.readouterr().out
    assert "verdict:" in printed and "distinct backtests" in printed
    assert "结论:" in printed  # the zh report's reader gets the Chinese verdict too
    sweep_id = re.search(r"optimization (\d+): 30 trials", printed).group(1)

    assert main(["analyze", sweep_id, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["optimization_id"] == int(sweep_id) and document["n_trials"] == 30
    assert document["pbo"]["combinations"] == 12870

    assert main(["analyze", sweep_id]) == 0
    text = capsys.readouterr().out
    assert f"{document['distinct_trials']} distinct backtests" in text
    assert "PBO (CSCV, 16 blocks, 12870 splits)" in text


def test_analyze_unknown_id_is_one_line_and_exit_2(cli_env, seeded, capsys):
    assert main(["analyze", "77"]) == 2
    assert "optimization 77 not found" in capsys.readouterr().err
