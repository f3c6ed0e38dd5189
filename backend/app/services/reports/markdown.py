"""The report's Markdown, section by section, following the seed's template (Chinese by
default, English on request). Pure functions of a :class:`ReportContext`."""

from __future__ import annotations

from typing import Any

from app.models import RunStatus
from app.services.reports import analysis_section
from app.services.reports.context import ReportContext
from app.services.reports.text import TEXTS, ReportText

MARKER = "<!-- stocklean optimization-id: {id} -->"


def render_markdown(
    context: ReportContext, chart_name: str, lang: str, analysis_chart_name: str | None = None
) -> str:
    t = TEXTS[lang]
    lines = [
        *overview_section(context, t),
        "",
        *top_section(context, t),
        "",
        *analysis_section.section_lines(
            context.analysis,
            context.analysis_reason,
            lang,
            context.top_n,
            bool(context.provenance.get("synthetic")),
        ),
        *conclusion_section(context, t, lang),
        *failed_section(context, t),
        "",
        *chart_section(context, t, chart_name),
    ]
    if analysis_chart_name:
        alt = analysis_section.TEXTS[lang].chart_alt
        lines += [f"![{alt}]({analysis_chart_name})", ""]
    return "\n".join(lines)


def overview_section(context: ReportContext, t: ReportText) -> list[str]:
    sweep, spec, counts = context.sweep, context.sweep.spec, context.counts
    objective = context.objective
    constraint_text = t.constraints_joiner.join(
        f"{c['metric']} {c['op'].replace('<=', '≤').replace('>=', '≥')} {c['value']:g}"
        for c in context.constraints
    ) or (t.no_constraints)
    provenance = context.provenance
    if provenance.get("synthetic"):
        data_text = t.synthetic.format(description=provenance.get("description", ""))
    else:
        data_text = provenance.get("description") or provenance.get("source") or "unknown"
    replaced = (
        t.replaced.format(changes="; ".join(context.changes)) if context.changes else t.unchanged
    )
    train_job = context.train_job
    ic = (train_job.metrics or {}).get("ic_mean") if train_job else None
    direction = {"max": t.maximise, "min": t.minimise}[objective["direction"]]
    count = t.count.format(
        total=sweep.trials_total,
        completed=counts.completed,
        failed=counts.failed,
        canceled=counts.canceled,
        unfinished=counts.unfinished,
    )
    return [
        MARKER.format(id=sweep.id),
        t.title.format(project=sweep.project_id, train=sweep.train_job_id),
        "",
        t.overview,
        f"- {t.optimization.format(id=sweep.id, status=sweep.status.value)}",
        f"- {t.baseline.format(run=context.baseline.id, replaced=replaced)}",
        f"- {t.train.format(train=sweep.train_job_id, ic='n/a' if ic is None else f'{ic:.4f}')}",
        f"- {t.window.format(start=spec.get('backtest_start'), end=spec.get('backtest_end'))}",
        f"- {count}",
        f"- {t.constraint.format(constraints=constraint_text)}",
        f"- {t.objective.format(metric=objective['metric'].upper(), direction=direction)}",
        f"- {t.data.format(provenance=data_text)}",
    ]


def top_section(context: ReportContext, t: ReportText) -> list[str]:
    top = context.top
    lines = [t.top.format(n=context.top_n, metric=context.objective["metric"].upper())]
    if not top.items:
        return [*lines, t.no_trials]
    if not top.constraint_met:
        lines.append(t.infeasible_note)
    for item in top.items:
        lines.append(
            f"{item.rank}. run_id={item.run_id} / CAGR={percent(item.cagr)} / "
            f"DD={percent(item.max_drawdown)} / params={params_text(item.params)}"
        )
    lines += ["", t.table, "|---|---|---|---|---|---|"]
    for item in top.items:
        sharpe = "n/a" if item.sharpe is None else f"{item.sharpe:.3f}"
        lines.append(
            f"| {item.rank} | {item.run_id} | {percent(item.cagr)} | "
            f"{percent(item.max_drawdown)} | {sharpe} | {params_text(item.params)} |"
        )
    return lines


def conclusion_section(context: ReportContext, t: ReportText, lang: str = "zh") -> list[str]:
    """The seed's conclusion; with an analysis, the recommendation is only what it supports
    (the Top 1 on a stable plateau, else the best stable trial, with the caveats)."""
    top, baseline = context.top, context.baseline
    feasible_count = sum(1 for trial in context.trials if trial.feasible)
    answer = t.yes.format(n=feasible_count) if top.constraint_met else t.no
    lines = [t.conclusion, f"- {t.met.format(answer=answer)}"]
    if top.items and top.constraint_met and context.analysis is not None:
        trials_by_run = {trial.run_id: trial for trial in context.trials}
        lines += analysis_section.recommendation_lines(context.analysis, lang, trials_by_run)
    elif top.items and top.constraint_met:
        best = top.items[0]
        recommend = t.recommend.format(
            params=params_text(best.params),
            run=best.run_id,
            cagr=percent(best.cagr),
            dd=percent(best.max_drawdown),
        )
        lines.append(f"- {recommend}")
    else:
        lines.append(f"- {t.no_recommend}")
    if baseline.status == RunStatus.completed:
        versus = t.versus.format(
            run=baseline.id, cagr=percent(baseline.cagr), dd=percent(baseline.max_drawdown)
        )
        lines.append(f"- {versus}")
    return lines


def failed_section(context: ReportContext, t: ReportText) -> list[str]:
    if not context.top.failed:
        return []
    return ["", t.failed, *(f"- run {f.run_id}: {f.error}" for f in context.top.failed)]


def chart_section(context: ReportContext, t: ReportText, chart_name: str) -> list[str]:
    return [t.chart, f"![{t.chart_alt.format(n=context.top_n)}]({chart_name})", ""]


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


def params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value:g}" for name, value in params.items())
