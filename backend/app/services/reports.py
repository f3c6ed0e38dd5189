"""The optimization report: Markdown following the seed's template (Chinese by default,
English on request) and a PNG beside it, written to ``settings.reports_dir``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import BacktestRun, Optimization, RunStatus, TrainJob
from app.services import sweep_results
from app.services.backtests import equity_artifact

MARKER = "<!-- stocklean optimization-id: {id} -->"

TEXT = {
    "zh": {
        "title": "# 项目{project} 训练{train}优化回测报告",
        "overview": "## 执行概览",
        "optimization": "优化 ID：{id}（状态：{status}）",
        "baseline": "基准 run：{run}{replaced}",
        "replaced": "（替换：{changes}）",
        "unchanged": "（参数未替换）",
        "train": "训练任务：{train}（样本外 IC 均值：{ic}）",
        "window": "回测窗口：{start} ~ {end}",
        "count": "回测次数：{total}（完成 {completed}，失败 {failed}，取消 {canceled}，"
        "未完成 {unfinished}）",
        "constraint": "约束：{constraints}",
        "objective": "目标：{metric} {direction}",
        "max": "最大",
        "min": "最小",
        "data": "数据来源：{provenance}",
        "synthetic": "**合成演示数据（SYNTHETIC）**，不代表真实市场：{description}",
        "top": "## Top{n}（按 {metric} 排序）",
        "infeasible_note": "> 没有组合满足约束；以下为违反约束最少的组合（不满足约束）。",
        "table": "| 排名 | run_id | CAGR | MaxDD | Sharpe | 参数 |",
        "none": "（暂无完成的回测）",
        "conclusion": "## 结论",
        "met": "是否达标：{answer}",
        "yes": "是（{n} 组满足约束）",
        "no": "否（无组合满足约束）",
        "recommend": "推荐参数：{params}（run {run}：CAGR {cagr}，MaxDD {dd}）",
        "no_recommend": "推荐参数：无",
        "versus": "基准 run {run}：CAGR {cagr}，MaxDD {dd}",
        "failed": "## 失败的回测",
        "chart": "## 图表",
        "chart_alt": "CAGR 与最大回撤；Top{n} 与基准的净值曲线",
    },
    "en": {
        "title": "# Project {project} / train job {train} optimization report",
        "overview": "## Overview",
        "optimization": "Optimization id: {id} (status: {status})",
        "baseline": "Baseline run: {run}{replaced}",
        "replaced": " (replaced: {changes})",
        "unchanged": " (no parameter replaced)",
        "train": "Train job: {train} (out-of-sample mean IC: {ic})",
        "window": "Backtest window: {start} to {end}",
        "count": "Backtests: {total} (completed {completed}, failed {failed}, canceled "
        "{canceled}, unfinished {unfinished})",
        "constraint": "Constraints: {constraints}",
        "objective": "Objective: {direction} {metric}",
        "max": "maximise",
        "min": "minimise",
        "data": "Data: {provenance}",
        "synthetic": "**SYNTHETIC demo data**, not a real market: {description}",
        "top": "## Top {n} by {metric}",
        "infeasible_note": "> No trial meets the constraints; these violate them least "
        "(infeasible).",
        "table": "| Rank | run_id | CAGR | MaxDD | Sharpe | Params |",
        "none": "(no completed backtest yet)",
        "conclusion": "## Conclusion",
        "met": "Constraint met: {answer}",
        "yes": "yes ({n} trials meet the constraints)",
        "no": "no (no trial meets the constraints)",
        "recommend": "Recommended parameters: {params} (run {run}: CAGR {cagr}, MaxDD {dd})",
        "no_recommend": "Recommended parameters: none",
        "versus": "Baseline run {run}: CAGR {cagr}, MaxDD {dd}",
        "failed": "## Failed backtests",
        "chart": "## Chart",
        "chart_alt": "CAGR against max drawdown; equity of the Top {n} and the baseline",
    },
}


@dataclass(frozen=True)
class WrittenReport:
    markdown_path: Path
    chart_path: Path


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value:g}" for name, value in params.items())


def _report_stem(sweep: Optimization, settings: Settings) -> str:
    if sweep.report_path:
        return Path(sweep.report_path).name.removesuffix(".md")
    day = (sweep.finished_at or sweep.created_at or dt.datetime.now(dt.UTC)).date()
    stem = f"{day.isoformat()}-project{sweep.project_id}-train{sweep.train_job_id}-opt"
    existing = settings.reports_dir / f"{stem}.md"
    if existing.exists() and MARKER.format(id=sweep.id) not in existing.read_text("utf-8"):
        stem = f"{stem}-{sweep.id}"  # another sweep's report of the same day stays as it is
    return stem


def _written_after(path: Path, moments: list[dt.datetime | None]) -> bool:
    if not path.is_file():
        return False
    written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    # SQLite hands timestamps back without a zone; they are stored in UTC.
    return all(
        written >= (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
        for moment in moments
        if moment is not None
    )


def ensure_report(
    session: Session, sweep: Optimization, settings: Settings, *, lang: str = "zh"
) -> WrittenReport:
    """The sweep's report and chart, written unless the files on disk already describe the
    finished sweep (written after it and its baseline run finished). The Chinese report's
    path is stored on the sweep."""
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    stem = _report_stem(sweep, settings)
    markdown_path = settings.reports_dir / (f"{stem}.md" if lang == "zh" else f"{stem}.{lang}.md")
    chart_path = settings.reports_dir / f"{stem}.png"
    baseline = session.get(BacktestRun, sweep.baseline_run_id)
    finished = [sweep.finished_at, baseline.finished_at if baseline else None]
    if sweep.status.is_final and all(
        _written_after(p, finished) for p in (markdown_path, chart_path)
    ):
        _store_report_path(session, sweep, markdown_path, lang)
        return WrittenReport(markdown_path, chart_path)
    context = _collect(session, sweep)
    _write_chart(context, chart_path)
    markdown = render_markdown(context, chart_path.name, lang)
    tmp = markdown_path.with_suffix(".tmp")
    tmp.write_text(markdown, encoding="utf-8")
    tmp.replace(markdown_path)
    _store_report_path(session, sweep, markdown_path, lang)
    return WrittenReport(markdown_path, chart_path)


def _store_report_path(session: Session, sweep: Optimization, path: Path, lang: str) -> None:
    if lang == "zh" and sweep.report_path != str(path):
        sweep.report_path = str(path)
        session.flush()


def _collect(session: Session, sweep: Optimization) -> dict[str, Any]:
    top_n = int(sweep.spec.get("top_n") or 3)
    top = sweep_results.top_trials(session, sweep, top_n)
    trials = sweep_results.list_trials(session, sweep)
    baseline = session.get(BacktestRun, sweep.baseline_run_id)
    train_job = session.get(TrainJob, sweep.train_job_id)
    counts = sweep_results.status_counts(session, sweep.id)
    baseline_algorithm = (baseline.params or {}).get("algorithm_parameters") or {}
    overrides = sweep.spec.get("overrides") or {}
    changes = [
        f"{key}: {baseline_algorithm.get(key)!r} -> {value!r}"
        for key, value in overrides.items()
        if baseline_algorithm.get(key) != value
    ]
    runs = {
        run.id: run
        for run in session.query(BacktestRun).filter(
            BacktestRun.id.in_([item.run_id for item in top.items] + [baseline.id])
        )
    }
    return {
        "sweep": sweep,
        "top": top,
        "trials": trials,
        "baseline": baseline,
        "train_job": train_job,
        "counts": counts,
        "changes": changes,
        "runs": runs,
        "top_n": top_n,
        "provenance": sweep.spec.get("data_provenance") or {},
    }


def render_markdown(context: dict[str, Any], chart_name: str, lang: str) -> str:
    t = TEXT[lang]
    sweep: Optimization = context["sweep"]
    spec = sweep.spec
    top = context["top"]
    counts = context["counts"]
    baseline: BacktestRun = context["baseline"]
    train_job: TrainJob | None = context["train_job"]
    provenance = context["provenance"]
    objective = spec.get("objective") or {"metric": "cagr", "direction": "max"}
    constraints = " 且 " if lang == "zh" else " and "
    constraint_text = constraints.join(
        f"{c['metric']} {c['op'].replace('<=', '≤').replace('>=', '≥')} {c['value']:g}"
        for c in spec.get("constraints") or []
    ) or ("无" if lang == "zh" else "none")
    if provenance.get("synthetic"):
        data_text = t["synthetic"].format(description=provenance.get("description", ""))
    else:
        data_text = provenance.get("description") or provenance.get("source") or "unknown"
    replaced = (
        t["replaced"].format(changes="; ".join(context["changes"]))
        if context["changes"]
        else t["unchanged"]
    )
    ic = (train_job.metrics or {}).get("ic_mean") if train_job else None
    unfinished = counts.pending + counts.queued + counts.running
    lines = [
        MARKER.format(id=sweep.id),
        t["title"].format(project=sweep.project_id, train=sweep.train_job_id),
        "",
        t["overview"],
        f"- {t['optimization'].format(id=sweep.id, status=sweep.status.value)}",
        f"- {t['baseline'].format(run=baseline.id, replaced=replaced)}",
        f"- {t['train'].format(train=sweep.train_job_id, ic='n/a' if ic is None else f'{ic:.4f}')}",
        f"- {t['window'].format(start=spec.get('backtest_start'), end=spec.get('backtest_end'))}",
        "- "
        + t["count"].format(
            total=sweep.trials_total,
            completed=counts.completed,
            failed=counts.failed,
            canceled=counts.canceled,
            unfinished=unfinished,
        ),
        f"- {t['constraint'].format(constraints=constraint_text)}",
        "- "
        + t["objective"].format(
            metric=objective["metric"].upper(), direction=t[objective["direction"]]
        ),
        f"- {t['data'].format(provenance=data_text)}",
        "",
        t["top"].format(n=context["top_n"], metric=objective["metric"].upper()),
    ]
    if top.items and not top.constraint_met:
        lines.append(t["infeasible_note"])
    if top.items:
        for item in top.items:
            lines.append(
                f"{item.rank}. run_id={item.run_id} / CAGR={_percent(item.cagr)} / "
                f"DD={_percent(item.max_drawdown)} / params={_params_text(item.params)}"
            )
        lines += ["", t["table"], "|---|---|---|---|---|---|"]
        for item in top.items:
            sharpe = "n/a" if item.sharpe is None else f"{item.sharpe:.3f}"
            lines.append(
                f"| {item.rank} | {item.run_id} | {_percent(item.cagr)} | "
                f"{_percent(item.max_drawdown)} | {sharpe} | {_params_text(item.params)} |"
            )
    else:
        lines.append(t["none"])
    feasible_count = sum(1 for trial in context["trials"] if trial.feasible)
    lines += [
        "",
        t["conclusion"],
        "- "
        + t["met"].format(
            answer=t["yes"].format(n=feasible_count) if top.constraint_met else t["no"]
        ),
    ]
    if top.items and top.constraint_met:
        best = top.items[0]
        lines.append(
            "- "
            + t["recommend"].format(
                params=_params_text(best.params),
                run=best.run_id,
                cagr=_percent(best.cagr),
                dd=_percent(best.max_drawdown),
            )
        )
    else:
        lines.append(f"- {t['no_recommend']}")
    if baseline.status == RunStatus.completed:
        lines.append(
            "- "
            + t["versus"].format(
                run=baseline.id, cagr=_percent(baseline.cagr), dd=_percent(baseline.max_drawdown)
            )
        )
    if top.failed:
        lines += ["", t["failed"]]
        lines += [f"- run {failed.run_id}: {failed.error}" for failed in top.failed]
    lines += [
        "",
        t["chart"],
        f"![{t['chart_alt'].format(n=context['top_n'])}]({chart_name})",
        "",
    ]
    return "\n".join(lines)


def _equity(run: BacktestRun | None) -> pd.Series | None:
    return None if run is None else equity_artifact(run)


def _write_chart(context: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep: Optimization = context["sweep"]
    top = context["top"]
    trials = [t for t in context["trials"] if t.cagr is not None and t.max_drawdown is not None]
    figure, (scatter, curves) = plt.subplots(1, 2, figsize=(13, 5.2))
    feasible = [t for t in trials if t.feasible]
    infeasible = [t for t in trials if not t.feasible]
    for group, color, label in (
        (feasible, "#2a9d8f", "feasible"),
        (infeasible, "#e76f51", "infeasible"),
    ):
        if group:
            scatter.scatter(
                [t.max_drawdown * 100 for t in group],
                [t.cagr * 100 for t in group],
                c=color,
                label=f"{label} ({len(group)})",
                alpha=0.8,
                edgecolors="none",
            )
    for constraint in sweep.spec.get("constraints") or []:
        if constraint["metric"] == "max_drawdown":
            scatter.axvline(constraint["value"] * 100, color="#555", linestyle="--", linewidth=1)
            scatter.annotate(
                f"MaxDD {constraint['op']} {constraint['value'] * 100:g}%",
                xy=(constraint["value"] * 100, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(4, -14),
                textcoords="offset points",
                fontsize=8,
                color="#555",
            )
    # Trials with the same result share one marker and one label ("#2, #3 run 618, 619").
    marked: dict[tuple[float, float], list[dict]] = {}
    for item in top.items:
        if item.cagr is not None and item.max_drawdown is not None:
            marked.setdefault((item.max_drawdown * 100, item.cagr * 100), []).append(item)
    for (x, y), items in marked.items():
        scatter.scatter(x, y, s=160, facecolors="none", edgecolors="black", linewidths=1.5)
        ranks = ", ".join(f"#{item.rank}" for item in items)
        runs = ", ".join(str(item.run_id) for item in items)
        scatter.annotate(
            f"{ranks} run {runs}", (x, y), xytext=(7, 5), textcoords="offset points", fontsize=8
        )
    scatter.set_xlabel("max drawdown (%)")
    scatter.set_ylabel("CAGR (%)")
    scatter.set_title(f"Optimization {sweep.id}: {len(trials)} completed trials")
    scatter.grid(alpha=0.3)
    if trials:
        scatter.legend(loc="lower right", fontsize=8)

    runs = context["runs"]
    baseline_equity = _equity(context["baseline"])
    if baseline_equity is not None:
        curves.plot(
            baseline_equity / baseline_equity.iloc[0],
            color="#444",
            linestyle="--",
            label=f"baseline run {context['baseline'].id}",
        )
    for item in top.items:
        equity = _equity(runs.get(item.run_id))
        if equity is not None:
            curves.plot(equity / equity.iloc[0], label=f"#{item.rank} run {item.run_id}")
    curves.set_title("Equity (start = 1): Top trials vs baseline")
    curves.grid(alpha=0.3)
    if curves.lines:
        curves.legend(fontsize=8)
    else:
        curves.text(
            0.5, 0.5, "no equity curves yet", ha="center", va="center", transform=curves.transAxes
        )
    provenance = context["provenance"]
    if provenance.get("synthetic"):
        figure.suptitle("SYNTHETIC demo data: not a real market", color="#b00", fontsize=10)
    figure.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    tmp.replace(path)
