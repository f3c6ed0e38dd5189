"""The report's selection-validity section (Chinese by default, English on request), the
recommendation the analysis supports, and its chart (the plateau map beside the anchored
walk-forward equity). Reads the stored ``/analysis`` document only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.analysis.verdict import DSR_SIGNIFICANT, PBO_OVERFIT
from app.services.reports.analysis_text import TEXTS, AnalysisText
from app.services.sweep_trials import TrialRow


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
            stable=t.stable_yes
            if summary["top1_stable"]
            else t.stable_no_infeasible
            if summary.get("top1_feasible") is False
            else t.stable_no,
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
    baseline = analysis.get("baseline") or {}
    if _below_a_feasible_baseline(analysis):
        metrics = baseline.get("metrics") or {}
        lines.append(
            "- "
            + t.keep_baseline.format(
                run=baseline["run_id"],
                cagr=_pct(metrics.get("cagr")),
                dd=_pct(metrics.get("max_drawdown")),
            )
        )
    elif choice is None:
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
        if lead["upper"] < 0:
            caveats.append(t.caveat_below)
        elif lead["lower"] <= 0:
            caveats.append(t.caveat_base)
    baseline = analysis.get("baseline") or {}
    if baseline.get("feasible") is False and baseline.get("metrics"):
        caveats.append(
            t.caveat_baseline_infeasible.format(
                run=baseline["run_id"], dd=_pct(baseline["metrics"].get("max_drawdown"))
            )
        )
    return caveats


def _below_a_feasible_baseline(analysis: dict) -> bool:
    boot = analysis["bootstrap"].get("items") or []
    lead = boot[0]["cagr_minus_baseline"] if boot else None
    return bool(lead) and lead["upper"] < 0 and (analysis.get("baseline") or {}).get("feasible")


def write_analysis_chart(analysis: dict, path: Path, synthetic: bool) -> None:
    from app.services.reports.analysis_chart import draw

    draw(analysis, path, synthetic)
