"""The selection-validity chart of the report: the plateau map (trials on the searched
lattice, coloured by the objective, stable ones ringed, infeasible ones crossed) beside the
anchored walk-forward equity against the full-window Top 1 and the baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _influence(axis: dict, records: list[dict]) -> float:
    """How much the objective moves along ``axis``: the range of its mean over the trials at
    each of the axis' values. The two most influential axes are drawn; the rest are offsets."""
    by_value: dict[int, list[float]] = {}
    for record in records:
        if record["objective"] is not None:
            by_value.setdefault(record["coords"][axis["name"]], []).append(record["objective"])
    means = [float(np.mean(values)) for values in by_value.values()]
    return max(means) - min(means) if means else 0.0


def _plateau_map(axes, analysis: dict) -> None:
    records = analysis.get("plateau") or []
    summary = analysis["plateau_summary"]
    lattice = sorted(summary.get("axes") or [], key=lambda a: -_influence(a, records))
    if not records or not lattice:
        axes.text(
            0.5, 0.5, "no plateau (one searched value)", ha="center", transform=axes.transAxes
        )
        axes.set_axis_off()
        return
    x_axis = lattice[0]
    y_axis = lattice[1] if len(lattice) > 1 else None
    extra = lattice[2:]  # further axes: small offsets so their points do not overlap

    def position(record) -> tuple[float, float]:
        shift = sum(
            (record["coords"][a["name"]] - (len(a["values"]) - 1) / 2) * 0.12 / (k + 1)
            for k, a in enumerate(extra)
        )
        y = record["coords"][y_axis["name"]] if y_axis else 0
        return record["coords"][x_axis["name"]] + shift, y + shift

    points = np.array([position(r) for r in records])
    values = np.array([np.nan if r["objective"] is None else r["objective"] for r in records])
    scale = 100 if summary["metric"] in ("cagr", "max_drawdown", "total_return") else 1
    feasible = np.array([r["feasible"] for r in records])
    stable = np.array([r["stable"] for r in records])
    shading = axes.scatter(
        points[feasible, 0],
        points[feasible, 1],
        c=values[feasible] * scale,
        cmap="viridis",
        s=90,
        edgecolors=np.where(stable[feasible], "black", "none"),
        linewidths=1.6,
    )
    if (~feasible).any():
        axes.scatter(points[~feasible, 0], points[~feasible, 1], marker="x", c="#e76f51", s=60)
    by_run = {r["run_id"]: k for k, r in enumerate(records)}
    top1, best = summary.get("top1_run_id"), summary.get("best_stable_run_id")
    if top1 in by_run:
        x, y = points[by_run[top1]]
        axes.scatter(x, y, marker="*", s=320, facecolors="none", edgecolors="red", linewidths=1.5)
        axes.annotate(
            f"#1 run {top1}", (x, y), xytext=(8, 8), textcoords="offset points", fontsize=8
        )
    if best in by_run and best != top1:
        x, y = points[by_run[best]]
        axes.scatter(x, y, marker="s", s=260, facecolors="none", edgecolors="blue", linewidths=1.5)
        axes.annotate(
            f"stable run {best}",
            (x, y),
            xytext=(8, -12),
            textcoords="offset points",
            fontsize=8,
            color="blue",
        )
    axes.set_xticks(range(len(x_axis["values"])), x_axis["values"], fontsize=8)
    axes.set_xlabel(x_axis["name"])
    if y_axis:
        axes.set_yticks(range(len(y_axis["values"])), y_axis["values"], fontsize=8)
        axes.set_ylabel(y_axis["name"])
    note = f"; offsets: {', '.join(a['name'] for a in extra)}" if extra else ""
    axes.set_title(
        f"Plateau map: {summary['metric']} (ringed = stable, x = infeasible{note})", fontsize=9
    )
    bar = axes.figure.colorbar(shading, ax=axes, fraction=0.046)
    bar.set_label(f"{summary['metric']}{' (%)' if scale == 100 else ''}")
    axes.grid(alpha=0.2)


def _walk_forward(axes, analysis: dict) -> None:
    walk = analysis["walk_forward"]
    points = walk.get("equity") or []
    if not points:
        axes.text(
            0.5,
            0.5,
            f"no walk-forward: {walk.get('reason')}",
            ha="center",
            transform=axes.transAxes,
            fontsize=8,
        )
        axes.set_axis_off()
        return
    dates = np.array([p["date"] for p in points], dtype="datetime64[D]")
    axes.plot(
        dates,
        [p["walk_forward"] for p in points],
        color="#264653",
        linewidth=2,
        label="walk-forward (chosen each year end)",
    )
    axes.plot(
        dates, [p["top1"] for p in points], color="#e76f51", label="full-window #1 (hindsight)"
    )
    if points[0]["baseline"] is not None:
        axes.plot(
            dates,
            [p["baseline"] for p in points],
            color="#444",
            linestyle="--",
            label=f"baseline run {analysis['baseline']['run_id']}",
        )
    for year in walk["years"]:
        decided = np.datetime64(year["decided_at"])
        axes.axvline(decided, color="#999", linewidth=0.6)
        axes.annotate(
            f"run {year['chosen_run_id']}",
            (decided, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            fontsize=7,
            color="#555",
        )
    axes.set_title("Anchored yearly walk-forward (start = 1)", fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="lower right")


def draw(analysis: dict, path: Path, synthetic: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2))
    _plateau_map(left, analysis)
    _walk_forward(right, analysis)
    title = f"Optimization {analysis['optimization_id']}: selection validity"
    if synthetic:
        title += " (SYNTHETIC demo data: not a real market)"
    figure.suptitle(title, color="#b00" if synthetic else "black", fontsize=10)
    figure.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    tmp.replace(path)
