"""The report's words in each language. One field per phrase, so a phrase renamed or
missing in one language fails when the module is imported, not as an empty line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportText:
    title: str
    overview: str
    optimization: str
    baseline: str
    replaced: str
    unchanged: str
    train: str
    window: str
    count: str
    constraint: str
    objective: str
    maximise: str
    minimise: str
    data: str
    synthetic: str
    top: str
    infeasible_note: str
    table: str
    no_trials: str
    conclusion: str
    met: str
    yes: str
    no: str
    recommend: str
    no_recommend: str
    versus: str
    failed: str
    chart: str
    chart_alt: str
    constraints_joiner: str
    no_constraints: str


ZH = ReportText(
    title="# 项目{project} 训练{train}优化回测报告",
    overview="## 执行概览",
    optimization="优化 ID：{id}（状态：{status}）",
    baseline="基准 run：{run}{replaced}",
    replaced="（替换：{changes}）",
    unchanged="（参数未替换）",
    train="训练任务：{train}（样本外 IC 均值：{ic}）",
    window="回测窗口：{start} ~ {end}",
    count="回测次数：{total}（完成 {completed}，失败 {failed}，取消 {canceled}，"
    "未完成 {unfinished}）",
    constraint="约束：{constraints}",
    objective="目标：{metric} {direction}",
    maximise="最大",
    minimise="最小",
    data="数据来源：{provenance}",
    synthetic="**合成演示数据（SYNTHETIC）**，不代表真实市场：{description}",
    top="## Top{n}（按 {metric} 排序）",
    infeasible_note="> 没有组合满足约束；以下为违反约束最少的组合（不满足约束）。",
    table="| 排名 | run_id | CAGR | MaxDD | Sharpe | 参数 |",
    no_trials="（暂无完成的回测）",
    conclusion="## 结论",
    met="是否达标：{answer}",
    yes="是（{n} 组满足约束）",
    no="否（无组合满足约束）",
    recommend="推荐参数：{params}（run {run}：CAGR {cagr}，MaxDD {dd}）",
    no_recommend="推荐参数：无",
    versus="基准 run {run}：CAGR {cagr}，MaxDD {dd}",
    failed="## 失败的回测",
    chart="## 图表",
    chart_alt="CAGR 与最大回撤；Top{n} 与基准的净值曲线",
    constraints_joiner=" 且 ",
    no_constraints="无",
)

EN = ReportText(
    title="# Project {project} / train job {train} optimization report",
    overview="## Overview",
    optimization="Optimization id: {id} (status: {status})",
    baseline="Baseline run: {run}{replaced}",
    replaced=" (replaced: {changes})",
    unchanged=" (no parameter replaced)",
    train="Train job: {train} (out-of-sample mean IC: {ic})",
    window="Backtest window: {start} to {end}",
    count="Backtests: {total} (completed {completed}, failed {failed}, canceled {canceled}, "
    "unfinished {unfinished})",
    constraint="Constraints: {constraints}",
    objective="Objective: {direction} {metric}",
    maximise="maximise",
    minimise="minimise",
    data="Data: {provenance}",
    synthetic="**SYNTHETIC demo data**, not a real market: {description}",
    top="## Top {n} by {metric}",
    infeasible_note="> No trial meets the constraints; these violate them least (infeasible).",
    table="| Rank | run_id | CAGR | MaxDD | Sharpe | Params |",
    no_trials="(no completed backtest yet)",
    conclusion="## Conclusion",
    met="Constraint met: {answer}",
    yes="yes ({n} trials meet the constraints)",
    no="no (no trial meets the constraints)",
    recommend="Recommended parameters: {params} (run {run}: CAGR {cagr}, MaxDD {dd})",
    no_recommend="Recommended parameters: none",
    versus="Baseline run {run}: CAGR {cagr}, MaxDD {dd}",
    failed="## Failed backtests",
    chart="## Chart",
    chart_alt="CAGR against max drawdown; equity of the Top {n} and the baseline",
    constraints_joiner=" and ",
    no_constraints="none",
)

TEXTS: dict[str, ReportText] = {"zh": ZH, "en": EN}
