"""The selection-validity section's words in each language, one field per phrase (like
``text.ReportText``), so a phrase missing in one language fails at import."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnalysisText:
    """The selection-validity section's words in one language (one field per phrase)."""

    section: str
    missing: str
    distinct: str
    equivalent: str
    table: str
    dsr: str
    pbo: str
    plateau: str
    stable_yes: str
    stable_no: str
    stable_no_infeasible: str
    edges: str
    stable_choice: str
    no_stable: str
    walk: str
    walk_table: str
    walk_summary: str
    bootstrap: str
    verdict: str
    synthetic: str
    recommend: str
    why_top1: str
    why_top1_unchecked: str
    why_stable: str
    no_recommend: str
    caveat_tie: str
    caveat_same: str
    caveat_dsr: str
    caveat_pbo: str
    caveat_base: str
    caveat_below: str
    caveat_baseline_infeasible: str
    keep_baseline: str
    caveats: str
    yes: str
    no: str
    chart_alt: str


ZH = AnalysisText(
    section="## 选择有效性：Top{n} 可信吗？",
    missing="（没有选择有效性分析：{reason}）",
    distinct="不同的回测：{n} 个试验中只有 {d} 个不同的回测（日收益处处相差 ≤ 1e-12 视为同一回测）",
    equivalent="等价：{pairs}",
    table="| 排名 | run_id | 等价于 | CAGR − 基准（95% 区间） | CAGR − 第 1 名（95% 区间）"
    " | 满足回撤约束的概率 | 平台稳定 |",
    dsr="紧缩夏普比率 DSR（第 1 名，N = {n} 个不同回测，T = {t}）：{value}"
    "（日 SR {sr}，SR0 {sr0}；≥ 0.95 才算显著。SR0 来自各试验夏普比率的方差："
    "试验彼此高度相关时方差很小，DSR 只说明夏普比率大于 0，不说明第 1 名胜过其他试验）",
    pbo="回测过拟合概率 PBO（CSCV，16 块，12870 种划分）：{value}"
    "（样本内最优在样本外落入后一半的比例；≥ 0.5 表示选择多半是过拟合）",
    plateau="平台：第 1 名{stable}，平台分数（自身与相邻参数中最差的 {metric}）{score}{edges}",
    stable_yes="位于稳定平台（相邻参数全部满足约束）",
    stable_no="不稳定（有相邻参数违反约束）",
    stable_no_infeasible="不稳定（第 1 名本身违反约束）",
    edges="；处在搜索范围边缘：{edges}",
    stable_choice="稳定平台上最好的：run {run}（{params}），平台分数 {score}",
    no_stable="没有稳定的组合",
    walk="逐年锚定前推（每年末用截至当时的数据选出最优可行组合，持有下一年）：",
    walk_table="| 决策日 | 选中 run | 持有至 | 持有收益 | 全窗口第 1 名 | 基准 |",
    walk_summary="前推 {span}：CAGR {wf}，MaxDD {wfdd}；"
    "全窗口第 1 名（事后选出）CAGR {top}，MaxDD {topdd}；基准 CAGR {base}，MaxDD {basedd}",
    bootstrap="区间来自配对平稳块自助法（Politis–Romano，平均块长 {block} 个交易日，"
    "{resamples} 次重抽样，固定种子 {seed}，所有试验与基准使用相同的重抽样日）",
    verdict="**判断：** {text}",
    synthetic="> 注意：演示用的合成市场经过校准，使回撤约束（MaxDD ≤ 15%）能把试验区分开；"
    "ML 默认参数也是在合成数据上选定的。这些数字说明方法如何工作，不说明真实市场的结果。",
    recommend="推荐参数：{params}（run {run}：CAGR {cagr}，MaxDD {dd}；{why}）",
    why_top1="第 1 名，位于稳定平台",
    why_top1_unchecked="第 1 名",
    why_stable="稳定平台上最好的组合；第 1 名 run {top1} 的相邻参数违反约束",
    no_recommend="推荐参数：无稳健推荐（没有相邻参数全部满足约束的组合）",
    caveat_tie="第 1 名与第 2 名的差距在噪声之内，数字不支持在两者之间做区分",
    caveat_same="第 1 名与第 2 名是同一个回测",
    caveat_dsr="DSR {dsr} < 0.95：经 {n} 次试验校正后夏普比率不显著",
    caveat_pbo="PBO {pbo} ≥ 0.5：按样本内 CAGR 选择多半是过拟合",
    caveat_base="相对基准的 CAGR 优势的 95% 区间包含 0",
    caveat_below="第 1 名的 CAGR 低于基准（95% 区间整体低于 0）",
    caveat_baseline_infeasible="基准 run {run} 违反约束（本窗口 MaxDD {dd}），"
    "所以更高的 CAGR 不能作为选择依据",
    keep_baseline="推荐参数：保留基准 run {run} 的参数（CAGR {cagr}，MaxDD {dd}）："
    "第 1 名的 CAGR 低于基准且基准满足约束",
    caveats="保留意见：{items}",
    yes="是",
    no="否",
    chart_alt="平台图与逐年锚定前推净值",
)

EN = AnalysisText(
    section="## Selection validity: can the Top {n} be trusted?",
    missing="(no selection-validity analysis: {reason})",
    distinct="Distinct backtests: the {n} trials are {d} distinct backtests (daily "
    "returns equal within 1e-12 everywhere count as one)",
    equivalent="Equivalent: {pairs}",
    table="| Rank | run_id | Same as | CAGR − baseline (95 % interval) | CAGR − #1 (95 % "
    "interval) | P(meets drawdown limit) | Stable plateau |",
    dsr="Deflated Sharpe ratio (Top 1, N = {n} distinct backtests, T = {t}): {value} "
    "(daily SR {sr}, SR0 {sr0}; significant at ≥ 0.95. SR0 comes from the variance of the "
    "trials' Sharpe ratios: when the trials are highly correlated that variance is small, "
    "and the DSR says only that the Sharpe ratio is above 0, not that the Top 1 beats the "
    "other trials)",
    pbo="Probability of backtest overfitting (CSCV, 16 blocks, 12,870 splits): {value} "
    "(share of splits where the in-sample best falls in the bottom half out of sample; "
    "≥ 0.5 means the selection is more likely overfit than not)",
    plateau="Plateau: the Top 1 is {stable}, plateau score (worst {metric} over itself "
    "and its neighbours) {score}{edges}",
    stable_yes="on a stable plateau (all neighbours meet the constraints)",
    stable_no="not stable (a neighbour breaks the constraints)",
    stable_no_infeasible="not stable (the Top 1 itself breaks the constraints)",
    edges="; on the edge of the searched range: {edges}",
    stable_choice="Best stable trial: run {run} ({params}), plateau score {score}",
    no_stable="No stable trial",
    walk="Anchored yearly walk-forward (at each year end, the best feasible trial on the "
    "data so far, held the next year):",
    walk_table="| Decided | Chosen run | Held until | Held return | Full-window #1 | Baseline |",
    walk_summary="Walk-forward {span}: CAGR {wf}, MaxDD {wfdd}; full-window Top 1 "
    "(chosen with hindsight) CAGR {top}, MaxDD {topdd}; baseline CAGR {base}, MaxDD {basedd}",
    bootstrap="Intervals from a paired stationary block bootstrap (Politis–Romano, mean "
    "block {block} sessions, {resamples} resamples, fixed seed {seed}, the same resampled "
    "days for every trial and the baseline)",
    verdict="**Verdict:** {text}",
    synthetic="> Note: the demo's synthetic market was calibrated so that the drawdown "
    "limit (MaxDD ≤ 15 %) separates the trials, and the ML defaults were chosen on "
    "synthetic data. These numbers show how the method works, not what a real market "
    "would give.",
    recommend="Recommended parameters: {params} (run {run}: CAGR {cagr}, MaxDD {dd}; {why})",
    why_top1="the Top 1, on a stable plateau",
    why_top1_unchecked="the Top 1",
    why_stable="the best stable trial; the Top 1, run {top1}, has a neighbour that "
    "breaks the constraints",
    no_recommend="Recommended parameters: no robust choice (no trial whose neighbours "
    "all meet the constraints)",
    caveat_tie="#1 and #2 differ by less than the noise; the numbers do not support "
    "choosing between them",
    caveat_same="#1 and #2 are the same backtest",
    caveat_dsr="DSR {dsr} < 0.95: the Sharpe ratio is not significant after {n} trials",
    caveat_pbo="PBO {pbo} ≥ 0.5: selecting by in-sample CAGR is more likely overfit than not",
    caveat_base="the 95 % interval of the CAGR lead over the baseline contains 0",
    caveat_below="the Top 1's CAGR is below the baseline's (the whole 95 % interval is below 0)",
    caveat_baseline_infeasible="the baseline run {run} breaks the constraints "
    "(MaxDD {dd} on this window), so its higher CAGR is not a choice",
    keep_baseline="Recommended parameters: keep the baseline run {run}'s (CAGR {cagr}, MaxDD "
    "{dd}): the Top 1's CAGR is below it and the baseline meets the constraints",
    caveats="Caveats: {items}",
    yes="yes",
    no="no",
    chart_alt="Plateau map and anchored walk-forward equity",
)

TEXTS: dict[str, AnalysisText] = {"zh": ZH, "en": EN}
