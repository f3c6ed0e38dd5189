"""The verdict: three plain sentences, in Chinese and English, that say what the analysis
means for choosing a trial. Built only from the numbers in :class:`VerdictFacts`; thresholds
are stated where used (DSR 0.95 as in Bailey & López de Prado; PBO 0.5 as "more likely than
not"; a 95 % bootstrap interval containing 0 as "not distinguishable")."""

from __future__ import annotations

from dataclasses import dataclass

DSR_SIGNIFICANT = 0.95
PBO_OVERFIT = 0.5


@dataclass(frozen=True)
class Difference:
    estimate: float
    lower: float
    upper: float

    def distinguishable(self) -> bool:
        return not (self.lower <= 0.0 <= self.upper)


@dataclass(frozen=True)
class VerdictFacts:
    n_trials: int
    distinct_trials: int
    top_run_ids: tuple[int, ...]
    top_equivalent_to: tuple[int | None, ...]  # per Top-N item: the run it duplicates
    second_vs_first: Difference | None  # CAGR(#2) - CAGR(#1)
    top1_vs_baseline: Difference | None  # CAGR(#1) - CAGR(baseline)
    dsr: float | None
    pbo: float | None
    top1_stable: bool | None
    top1_edges: tuple[tuple[str, str], ...]
    stable_choice: tuple[int, str] | None  # (run id, "k=v, ...") best stable trial
    walk_forward_cagr: float | None
    walk_forward_baseline_cagr: float | None
    walk_forward_years: str | None  # "2021–2025"
    baseline_feasible: bool | None = None  # the baseline meets the constraints on the window
    baseline_max_drawdown: float | None = None
    top1_feasible: bool | None = None  # the Top 1 itself meets the constraints


def _pp(value: float) -> str:
    return f"{value * 100:+.2f} pp"


def _interval(d: Difference) -> str:
    return f"{_pp(d.estimate)} [{_pp(d.lower)}, {_pp(d.upper)}]"


def _first_sentence(f: VerdictFacts) -> tuple[str, str]:
    if f.n_trials == 0:
        return (
            "No trial completed, so there is nothing to choose from.",
            "没有完成的试验，无从选择。",
        )
    en = f"The {f.n_trials} trials are {f.distinct_trials} distinct backtests"
    zh = f"{f.n_trials} 个试验实际只有 {f.distinct_trials} 个不同的回测"
    same = [
        (rank, dup)
        for rank, dup in enumerate(f.top_equivalent_to, start=1)
        if dup is not None and rank > 1
    ]
    if same:
        pairs = ", ".join(f"#{rank} = run {dup}" for rank, dup in same)
        en += f" (in the Top {len(f.top_run_ids)}: {pairs}, the same backtest)"
        zh += f"（前 {len(f.top_run_ids)} 名中：{pairs}，是同一个回测）"
    if len(f.top_run_ids) >= 2 and f.top_equivalent_to[1] == f.top_run_ids[0]:
        en += "; #1 and #2 are the same backtest."
        zh += "；第 1 名与第 2 名是同一个回测。"
    elif f.second_vs_first is not None and not f.second_vs_first.distinguishable():
        en += (
            f"; #1 and #2 are not distinguishable (CAGR #2 − #1 "
            f"{_interval(f.second_vs_first)}, 95 % bootstrap interval)."
        )
        zh += (
            f"；第 1 名与第 2 名无法区分（CAGR 差 {_interval(f.second_vs_first)}，95% 自助区间）。"
        )
    elif f.second_vs_first is not None:
        en += f"; #1 leads #2 beyond noise (CAGR #2 − #1 {_interval(f.second_vs_first)})."
        zh += f"；第 1 名领先第 2 名超出噪声（CAGR 差 {_interval(f.second_vs_first)}）。"
    else:
        en += "."
        zh += "。"
    return en, zh


def _second_sentence(f: VerdictFacts) -> tuple[str, str]:
    parts_en, parts_zh = [], []
    if f.dsr is None or f.pbo is None:
        parts_en.append("DSR and PBO are undefined here (see their reasons)")
        parts_zh.append("DSR 与 PBO 在此无定义（见其原因）")
    else:
        significant = f.dsr >= DSR_SIGNIFICANT
        parts_en.append(
            f"the Top 1's deflated Sharpe ratio is {f.dsr:.2f} "
            + ("(significant after" if significant else "(not significant after")
            + f" {f.distinct_trials} trials) and PBO is {f.pbo:.2f} (the in-sample best falls "
            f"in the bottom half out of sample in {f.pbo:.0%} of splits)"
        )
        parts_zh.append(
            f"第 1 名的紧缩夏普比率 DSR 为 {f.dsr:.2f}（经 {f.distinct_trials} 次试验校正后"
            + ("显著" if significant else "不显著")
            + f"），过拟合概率 PBO 为 {f.pbo:.2f}"
            + f"（样本内最优在 {f.pbo:.0%} 的划分中样本外落入后一半）"
        )
    if f.top1_vs_baseline is not None:
        en, zh = _baseline_clause(f)
        parts_en.append(en)
        parts_zh.append(zh)
    en = "; ".join(parts_en)
    return en[0].upper() + en[1:] + ".", "；".join(parts_zh) + "。"


def _baseline_clause(f: VerdictFacts) -> tuple[str, str]:
    """Top 1 against the baseline: above, below, or not distinguishable, and whether the
    baseline itself keeps within the constraints (a higher CAGR that breaks them is no
    better choice)."""
    d = f.top1_vs_baseline
    interval = _interval(d)
    if d.lower > 0:
        en, zh = f"its CAGR beats the baseline's ({interval})", f"其 CAGR 高于基线（{interval}）"
    elif d.upper < 0:
        en, zh = f"its CAGR is below the baseline's ({interval})", f"其 CAGR 低于基线（{interval}）"
    else:
        en = f"its CAGR is not distinguishable from the baseline's ({interval})"
        zh = f"其 CAGR 与基线无法区分（{interval}）"
    if f.baseline_feasible is False:
        drawdown = f.baseline_max_drawdown
        # The baseline's drawdown on the sweep's window, which can differ from the one stored
        # with the baseline run (its own, usually longer, window): say which it is.
        en_shown = "" if drawdown is None else f" (MaxDD {drawdown:.2%} on this window)"
        zh_shown = "" if drawdown is None else f"（本窗口 MaxDD {drawdown:.2%}）"
        en += f", but the baseline breaks the constraints{en_shown}"
        zh += f"，但基线违反约束{zh_shown}"
    elif f.baseline_feasible and d.upper < 0:
        en += ", and the baseline also meets the constraints: the numbers favour keeping it"
        zh += "，且基线也满足约束：数字支持保留基线"
    return en, zh


def _third_sentence(f: VerdictFacts) -> tuple[str, str]:
    en: list[str] = []
    zh: list[str] = []
    if f.top1_feasible is False:
        # Not "fragile because of a neighbour": the ranking found no trial within the
        # constraints and the Top 1 is the least violating one.
        en.append("The Top 1 itself breaks the constraints")
        zh.append("第 1 名本身违反约束")
    elif f.top1_stable is False:
        en.append("The Top 1 is fragile: a grid neighbour breaks the constraints")
        zh.append("第 1 名很脆弱：网格上的相邻参数违反约束")
    elif f.top1_stable:
        en.append("The Top 1 sits on a stable plateau")
        zh.append("第 1 名位于稳定的平台上")
    if f.top1_edges:
        edges = ", ".join(f"{axis} ({side})" for axis, side in f.top1_edges)
        en.append(f"it lies on the edge of the searched range of {edges}")
        zh.append(f"它处在搜索范围的边缘：{edges}")
    if f.stable_choice is not None and (f.top1_stable is False or f.top1_edges):
        run_id, described = f.stable_choice
        en.append(f"the stable choice is run {run_id} ({described})")
        zh.append(f"稳健的选择是 run {run_id}（{described}）")
    elif f.top1_stable is False:
        en.append("no trial is stable")
        zh.append("没有稳定的试验")
    if f.walk_forward_cagr is not None:
        text_en = (
            f"chosen year by year without hindsight the rule made {f.walk_forward_cagr:.2%} "
            f"a year over {f.walk_forward_years}"
        )
        text_zh = (
            f"逐年不带后见之明地选择，{f.walk_forward_years} 年化收益 {f.walk_forward_cagr:.2%}"
        )
        if f.walk_forward_baseline_cagr is not None:
            text_en += f" against the baseline's {f.walk_forward_baseline_cagr:.2%}"
            text_zh += f"，基线为 {f.walk_forward_baseline_cagr:.2%}"
        en.append(text_en)
        zh.append(text_zh)
    if not en:
        return "", ""
    sentence = "; ".join(en)
    return sentence[0].upper() + sentence[1:] + ".", "；".join(zh) + "。"


def verdict(facts: VerdictFacts) -> dict[str, str]:
    """{"en": ..., "zh": ...}: up to three sentences (choice, evidence, recommendation)."""
    sentences = [_first_sentence(facts)]
    if facts.n_trials:
        sentences += [_second_sentence(facts), _third_sentence(facts)]
    en = " ".join(s[0] for s in sentences if s[0])
    zh = "".join(s[1] for s in sentences if s[1])
    return {"zh": zh, "en": en}
