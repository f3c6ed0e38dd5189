"""The `stocklean` commands that drive optimizations, in-process against the test database."""

from __future__ import annotations

import json

import pytest
from factories import SEED_OPTIMIZE_ARGS

from app.cli import main

SEED_ARGS = SEED_OPTIMIZE_ARGS


def test_dry_run_prints_the_30_requests_and_stores_nothing(cli_env, seeded, capsys, engine):
    assert main([*SEED_ARGS, "--dry-run"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 30
    algorithm = lines[18]["request"]["params"]["algorithm_parameters"]
    assert algorithm["max_exposure"] == 0.65 and algorithm["risk_off_symbols"] == "VGSH,IEF,GLD,TLT"
    assert lines[0]["request"]["params"]["pipeline_train_job_id"] == 120
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM optimizations").scalar() == 0


def test_optimize_runs_the_sweep_prints_top3_and_writes_the_report(cli_env, seeded, capsys):
    assert main([*SEED_ARGS, "--json", "--max-inflight", "4"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["items"]) == 3
    assert result["report"].endswith("-project18-train120-opt.md")
    assert (cli_env.reports_dir / result["report"].rsplit("/", 1)[1]).exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["optimize", "--baseline-run", "999", "--train-job", "120"], "backtest run 999 not found"),
        (["optimize", "--train-job", "120"], "baseline_run_id"),
        ([*SEED_ARGS, "--max-inflight", "0"], "max_inflight"),
        ([*SEED_ARGS, "--risk-off", "VGSH,ZZZZ"], "ZZZZ"),
    ],
)
def test_optimize_bad_input_is_one_line_and_exit_2(cli_env, seeded, capsys, args, needle):
    assert main(args) == 2
    assert needle in capsys.readouterr().err


def test_score_ranks_a_legacy_manifest(cli_env, seeded, capsys, tmp_path):
    assert main([*SEED_ARGS, "--json", "--max-inflight", "4"]) == 0
    capsys.readouterr()
    manifest = tmp_path / "manifest.jsonl"
    lines = [{"run_id": run_id, "params": {"n": run_id}} for run_id in range(616, 646)]
    lines.append({"run_id": 99999, "params": {}})
    manifest.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert main(["score", "--manifest", str(manifest), "--json"]) == 0
    ranked = json.loads(capsys.readouterr().out)
    assert len(ranked["items"]) == 3
    assert ranked["missing"] == [99999]
    assert ranked["items"][0]["params"] == {"n": ranked["items"][0]["run_id"]}
    cagrs = [item["cagr"] for item in ranked["items"]]
    assert cagrs == sorted(cagrs, reverse=True)

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"run_id": 616}\n{"run_id": "x"}\n')
    assert main(["score", "--manifest", str(bad)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_train_import_registers_a_train_job(cli_env, seeded, capsys, small_market_dir):
    assert main(["train", "import", str(small_market_dir / "scores.csv"), "--project", "18"]) == 0
    assert "train job 121 (project 18)" in capsys.readouterr().out
    bad = cli_env.artifacts_dir.parent / "bad.csv"
    bad.write_text("date,symbol,score\n2020-01-02,NOPE,1\n")
    assert main(["train", "import", str(bad), "--project", "18"]) == 2
    assert "NOPE" in capsys.readouterr().err
