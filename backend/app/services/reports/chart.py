"""The report's PNG: CAGR against max drawdown (left panel) and the Top N's equity against
the baseline's (right panel)."""

from __future__ import annotations

from pathlib import Path

from app.models import BacktestRun
from app.services.backtests import equity_artifact
from app.services.reports.context import ReportContext
from app.services.sweep_results import TopEntry


def write_chart(context: ReportContext, path: Path) -> None:
    """Draw both panels and replace ``path`` atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (scatter, curves) = plt.subplots(1, 2, figsize=(13, 5.2))
    draw_scatter_panel(scatter, context)
    draw_equity_panel(curves, context)
    if context.provenance.get("synthetic"):
        figure.suptitle("SYNTHETIC demo data: not a real market", color="#b00", fontsize=10)
    figure.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    tmp.replace(path)


def draw_scatter_panel(scatter, context: ReportContext) -> None:
    """Completed trials as CAGR (%) against max drawdown (%), feasible and infeasible in
    two colours, the drawdown constraint as a dashed line, the Top N circled."""
    trials = [t for t in context.trials if t.cagr is not None and t.max_drawdown is not None]
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
    for constraint in context.constraints:
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
    marked: dict[tuple[float, float], list[TopEntry]] = {}
    for item in context.top.items:
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
    scatter.set_title(f"Optimization {context.sweep.id}: {len(trials)} completed trials")
    scatter.grid(alpha=0.3)
    if trials:
        scatter.legend(loc="lower right", fontsize=8)


def draw_equity_panel(curves, context: ReportContext) -> None:
    """Each curve divided by its first value (start = 1): the baseline dashed, the Top N."""
    baseline_equity = _equity(context.baseline)
    if baseline_equity is not None:
        curves.plot(
            baseline_equity / baseline_equity.iloc[0],
            color="#444",
            linestyle="--",
            label=f"baseline run {context.baseline.id}",
        )
    for item in context.top.items:
        equity = _equity(context.runs.get(item.run_id))
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


def _equity(run: BacktestRun | None):
    return None if run is None else equity_artifact(run)
