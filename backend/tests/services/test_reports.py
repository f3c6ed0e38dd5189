"""The report's Markdown from a hand-built context (no database): every section in both
languages, and the two languages' phrases take the same placeholders."""

from __future__ import annotations

import dataclasses
import string

import pytest

from app.models import BacktestRun, Optimization, RunStatus, TrainJob
from app.services.reports import ReportContext, render_markdown
from app.services.reports.text import TEXTS, ReportText
from app.services.sweep_results import FailedTrial, SweepCounts, SweepTop, TopEntry
from app.services.sweep_trials import TrialRow


def _context(*, constraint_met: bool = True) -> ReportContext:
    sweep = Optimization(
        id=7,
        project_id=18,
        baseline_run_id=615,
        train_job_id=120,
        status=RunStatus.completed,
        trials_total=3,
        spec={
            "backtest_start": "2020-01-01",
            "backtest_end": "2026-01-13",
            "objective": {"metric": "cagr", "direction": "max"},
            "constraints": [{"metric": "max_drawdown", "op": "<=", "value": 0.15}],
        },
    )
    baseline = BacktestRun(id=615, status=RunStatus.completed, cagr=0.0819, max_drawdown=0.1613)
    train_job = TrainJob(id=120, metrics={"ic_mean": 0.039})
    best = TopEntry(
        rank=1,
        run_id=638,
        cagr=0.0734,
        max_drawdown=0.1452 if constraint_met else 0.2,
        sharpe=1.461,
        objective=0.0734,
        feasible=constraint_met,
        violation=0.0,
        trial_id=23,
        params={"max_exposure": 0.65, "max_weight": 0.035},
    )
    trial = TrialRow(
        id=23,
        trial_index=20,
        params=best.params,
        source="perturbation",
        run_id=638,
        status="completed",
        cagr=0.0734,
        max_drawdown=0.1452,
        sharpe=1.461,
        objective=0.0734,
        feasible=constraint_met,
        error=None,
    )
    return ReportContext(
        sweep=sweep,
        top=SweepTop(
            constraint_met=constraint_met,
            objective=sweep.spec["objective"],
            constraints=sweep.spec["constraints"],
            items=[best],
            failed=[FailedTrial(run_id=640, trial_id=25, error="no data")],
            completed=2,
        ),
        trials=[trial],
        baseline=baseline,
        train_job=train_job,
        counts=SweepCounts(completed=2, failed=1),
        changes=["risk_off_symbols: 'SHY' -> 'VGSH'"],
        runs={},
        top_n=3,
        provenance={"synthetic": True, "description": "seed 7"},
    )


def test_chinese_report_sections():
    lines = render_markdown(_context(), "chart.png", "zh").split("\n")
    assert lines[:4] == [
        "<!-- stocklean optimization-id: 7 -->",
        "# 项目18 训练120优化回测报告",
        "",
        "## 执行概览",
    ]
    assert "- 基准 run：615（替换：risk_off_symbols: 'SHY' -> 'VGSH'）" in lines
    assert "- 训练任务：120（样本外 IC 均值：0.0390）" in lines
    assert "- 回测次数：3（完成 2，失败 1，取消 0，未完成 0）" in lines
    assert "- 约束：max_drawdown ≤ 0.15" in lines
    assert "- 目标：CAGR 最大" in lines
    params = "max_exposure=0.65, max_weight=0.035"
    assert f"1. run_id=638 / CAGR=7.34% / DD=14.52% / params={params}" in lines
    assert f"| 1 | 638 | 7.34% | 14.52% | 1.461 | {params} |" in lines
    assert "- 是否达标：是（1 组满足约束）" in lines
    assert "- 基准 run 615：CAGR 8.19%，MaxDD 16.13%" in lines
    assert lines[-6:] == [
        "## 失败的回测",
        "- run 640: no data",
        "",
        "## 图表",
        "![CAGR 与最大回撤；Top3 与基准的净值曲线](chart.png)",
        "",
    ]


def test_english_report_without_a_feasible_trial():
    text = render_markdown(_context(constraint_met=False), "c.png", "en")
    assert "# Project 18 / train job 120 optimization report" in text
    assert "> No trial meets the constraints; these violate them least (infeasible)." in text
    assert "- Constraint met: no (no trial meets the constraints)" in text
    assert "- Recommended parameters: none" in text
    assert "- Objective: maximise CAGR" in text


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(ReportText)])
def test_both_languages_fill_the_same_placeholders(field):
    def placeholders(phrase: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(phrase) if name}

    zh, en = (getattr(TEXTS[lang], field) for lang in ("zh", "en"))
    assert zh and en
    assert placeholders(zh) == placeholders(en)
