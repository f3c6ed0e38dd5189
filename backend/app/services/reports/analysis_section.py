"""The report's selection-validity section (Chinese by default, English on request), the
recommendation the analysis supports, and its chart (the plateau map beside the anchored
walk-forward equity). Reads the stored ``/analysis`` document only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.services.sweep_results import TrialRow

DSR_SIGNIFICANT = 0.95
PBO_OVERFIT = 0.5


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
    "（日 SR {sr}，SR0 {sr0}；≥ 0.95 才算显著）",
    pbo="回测过拟合概率 PBO（CSCV，16 块，12870 种划分）：{value}"
    "（样本内最优在样本外落入后一半的比例；≥ 0.5 表示选择多半是过拟合）",
    plateau="平台：第 1 名{stable}，平台分数（自身与相邻参数中最差的 {metric}）{score}{edges}",
    stable_yes="位于稳定平台（相邻参数全部满足约束）",
    stable_no="不稳定（有相邻参数违反约束）",
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
    "(daily SR {sr}, SR0 {sr0}; significant at ≥ 0.95)",
    pbo="Probability of backtest overfitting (CSCV, 16 blocks, 12,870 splits): {value} "
    "(share of splits where the in-sample best falls in the bottom half out of sample; "
    "≥ 0.5 means the selection is more likely overfit than not)",
    plateau="Plateau: the Top 1 is {stable}, plateau score (worst {metric} over itself "
    "and its neighbours) {score}{edges}",
    stable_yes="on a stable plateau (all neighbours meet the constraints)",
    stable_no="not stable (a neighbour breaks the constraints)",
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
    caveats="Caveats: {items}",
    yes="yes",
    no="no",
    chart_alt="Plateau map and anchored walk-forward equity",
)

TEXTS: dict[str, AnalysisText] = {"zh": ZH, "en": EN}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


def _pp(interval: dict | None) -> str:
    if interval is None:
        return "n/a"
    return (
        f"{interval['estimate'] * 100:+.2f} pp "
        f"[{interval['lower'] * 100:+.2f}, {interval['upper'] * 100:+.2f}]"
    )


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))


def _plateau_by_run(analysis: dict) -> dict[int, dict]:
    return {record["run_id"]: record for record in analysis.get("plateau") or []}


def section_lines(
    analysis: dict | None, reason: str | None, lang: str, top_n: int, synthetic: bool
) -> list[str]:
    """The Markdown lines of the selection-validity section."""
    t = TEXTS[lang]
    lines = [t.section.format(n=top_n), ""]
    if synthetic:
        lines += [t.synthetic, ""]
    if analysis is None:
        return [*lines, t.missing.format(reason=reason or "n/a"), ""]
    lines.append("- " + t.distinct.format(n=analysis["n_trials"], d=analysis["distinct_trials"]))
    if analysis["equivalent"]:
        pairs = ", ".join(f"{dup} = {rep}" for dup, rep in analysis["equivalent"].items())
        lines.append("- " + t.equivalent.format(pairs=pairs))
    dsr, pbo = analysis["dsr"], analysis["pbo"]
    dsr_value = _num(dsr["value"]) if dsr["value"] is not None else f"n/a ({dsr['reason']})"
    lines.append(
        "- "
        + t.dsr.format(
            n=dsr["n_trials"],
            t=dsr.get("n_returns"),
            value=dsr_value,
            sr=_num(dsr["sharpe"], 4),
            sr0=_num(dsr["sr0"], 4),
        )
    )
    pbo_value = _num(pbo["value"]) if pbo["value"] is not None else f"n/a ({pbo['reason']})"
    lines.append("- " + t.pbo.format(value=pbo_value))
    lines += _plateau_lines(analysis, t)
    lines += ["", *_top_table(analysis, t), ""]
    lines += _walk_forward_lines(analysis, t)
    boot = analysis["bootstrap"]
    if boot.get("resamples"):
        lines.append(
            "- "
            + t.bootstrap.format(
                block=boot["mean_block"], resamples=boot["resamples"], seed=boot["seed"]
            )
        )
    verdict = analysis["verdict"].get(lang) or analysis["verdict"].get("en", "")
    return [*lines, "", t.verdict.format(text=verdict), ""]


def _plateau_lines(analysis: dict, t: AnalysisText) -> list[str]:
    summary = analysis["plateau_summary"]
    if summary.get("top1_stable") is None:
        return []
    edges = ", ".join(f"{e['axis']} ({e['side']})" for e in summary["top1_edges"])
    lines = [
        "- "
        + t.plateau.format(
            stable=t.stable_yes if summary["top1_stable"] else t.stable_no,
            metric=summary["metric"],
            score=_num(summary["top1_plateau_score"], 4),
            edges=t.edges.format(edges=edges) if edges else "",
        )
    ]
    best = summary.get("best_stable_run_id")
    if best is None:
        return [*lines, "- " + t.no_stable]
    record = _plateau_by_run(analysis)[best]
    return [
        *lines,
        "- "
        + t.stable_choice.format(
            run=best, params=_params(record["params"]), score=_num(record["plateau_score"], 4)
        ),
    ]


def _top_table(analysis: dict, t: AnalysisText) -> list[str]:
    boot = {item["run_id"]: item for item in analysis["bootstrap"].get("items") or []}
    plateau = _plateau_by_run(analysis)
    lines = [t.table, "|---|---|---|---|---|---|---|"]
    for item in analysis["top"]:
        b = boot.get(item["run_id"], {})
        stable = plateau.get(item["run_id"], {}).get("stable")
        meets = b.get("prob_meets_drawdown")
        lines.append(
            f"| {item['rank']} | {item['run_id']} | {item['equivalent_to'] or '—'} | "
            f"{_pp(b.get('cagr_minus_baseline'))} | "
            f"{'—' if item['rank'] == 1 else _pp(b.get('cagr_minus_top1'))} | "
            f"{'n/a' if meets is None else f'{meets:.0%}'} | "
            f"{'n/a' if stable is None else (t.yes if stable else t.no)} |"
        )
    return lines


def _walk_forward_lines(analysis: dict, t: AnalysisText) -> list[str]:
    walk = analysis["walk_forward"]
    if not walk.get("years"):
        return [f"- {t.walk} n/a ({walk.get('reason')})"]
    lines = [f"- {t.walk}", "", t.walk_table, "|---|---|---|---|---|---|"]
    for year in walk["years"]:
        lines.append(
            f"| {year['decided_at']} | {year['chosen_run_id']}"
            f"{'' if year['feasible'] else ' (!)'} | {year['held_until']} | "
            f"{_pct(year['held_return'])} | {_pct(year['top1_return'])} | "
            f"{_pct(year['baseline_return'])} |"
        )
    summary = walk["summary"]
    base = summary.get("baseline") or {}
    span = f"{walk['years'][0]['decided_at']} ~ {walk['years'][-1]['held_until']}"
    lines += [
        "",
        "- "
        + t.walk_summary.format(
            span=span,
            wf=_pct(summary["walk_forward"]["cagr"]),
            wfdd=_pct(summary["walk_forward"]["max_drawdown"]),
            top=_pct(summary["top1"]["cagr"]),
            topdd=_pct(summary["top1"]["max_drawdown"]),
            base=_pct(base.get("cagr")),
            basedd=_pct(base.get("max_drawdown")),
        ),
    ]
    return lines


def recommendation_lines(
    analysis: dict, lang: str, trials_by_run: dict[int, TrialRow]
) -> list[str]:
    """The conclusion's recommendation, limited to what the analysis supports: the Top 1 if
    it is on a stable plateau, else the best stable trial, else none; with the caveats that
    apply (indistinguishable #1 and #2, DSR < 0.95, PBO ≥ 0.5, no clear lead over the
    baseline)."""
    t = TEXTS[lang]
    if not analysis["top"]:
        return []
    top1 = analysis["top"][0]["run_id"]
    summary = analysis["plateau_summary"]
    if summary.get("top1_stable") in (True, None):
        choice = top1
        why = t.why_top1 if summary.get("top1_stable") else t.why_top1_unchecked
    elif summary.get("best_stable_run_id") is not None:
        choice = summary["best_stable_run_id"]
        why = t.why_stable.format(top1=top1)
    else:
        choice = None
    lines = []
    if choice is None:
        lines.append("- " + t.no_recommend)
    else:
        trial = trials_by_run.get(choice)
        exact = _plateau_by_run(analysis).get(choice, {}).get("params")  # decimal strings
        lines.append(
            "- "
            + t.recommend.format(
                params=_params(exact or (trial.params if trial else {})),
                run=choice,
                cagr=_pct(trial.cagr if trial else None),
                dd=_pct(trial.max_drawdown if trial else None),
                why=why,
            )
        )
    caveats = _caveats(analysis, t)
    if caveats:
        separator = "；" if lang == "zh" else "; "
        lines.append("- " + t.caveats.format(items=separator.join(caveats)))
    return lines


def _caveats(analysis: dict, t: AnalysisText) -> list[str]:
    caveats = []
    top = analysis["top"]
    boot = analysis["bootstrap"].get("items") or []
    if len(top) >= 2 and top[1]["equivalent_to"] == top[0]["run_id"]:
        caveats.append(t.caveat_same)
    elif len(boot) >= 2 and boot[1]["cagr_minus_top1"] is not None:
        second = boot[1]["cagr_minus_top1"]
        if second["lower"] <= 0 <= second["upper"]:
            caveats.append(t.caveat_tie)
    dsr, pbo = analysis["dsr"]["value"], analysis["pbo"]["value"]
    if dsr is not None and dsr < DSR_SIGNIFICANT:
        caveats.append(t.caveat_dsr.format(dsr=f"{dsr:.2f}", n=analysis["distinct_trials"]))
    if pbo is not None and pbo >= PBO_OVERFIT:
        caveats.append(t.caveat_pbo.format(pbo=f"{pbo:.2f}"))
    if boot and boot[0]["cagr_minus_baseline"] is not None:
        lead = boot[0]["cagr_minus_baseline"]
        if lead["lower"] <= 0:
            caveats.append(t.caveat_base)
    return caveats


def write_analysis_chart(analysis: dict, path: Path, synthetic: bool) -> None:
    from app.services.reports.analysis_chart import draw

    draw(analysis, path, synthetic)
