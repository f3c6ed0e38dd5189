"""`stocklean analyze ID [--json]`: the selection-validity analysis of a finished sweep
(DESIGN §7), computed and stored on first use like ``GET /api/optimizations/{id}/analysis``;
and the few lines of it that ``optimize`` and ``demo`` print under the Top 3."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.cli.common import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="the selection-validity analysis of a finished optimization",
        description="Distinct trials, deflated Sharpe ratio, probability of backtest "
        "overfitting, plateau, walk-forward and bootstrap of a finished sweep, with a verdict.",
    )
    parser.add_argument("optimization_id", type=int, metavar="ID", help="optimization id")
    parser.add_argument("--json", action="store_true", help="print the /analysis document")
    parser.add_argument("--lang", choices=["zh", "en"], default="en", help="verdict language")
    parser.set_defaults(handler=analyze)


def analyze(args: argparse.Namespace) -> int:
    from rich.console import Console

    from app.cli.runtime import database_session
    from app.config import get_settings
    from app.errors import DomainError
    from app.services import optimizations as optimization_service
    from app.services import sweep_analysis

    with database_session(get_settings()) as session:
        try:
            sweep = optimization_service.get_optimization(session, args.optimization_id)
            document = sweep_analysis.ensure_analysis(session, sweep)
        except DomainError as exc:
            raise CommandError(str(exc.detail)) from exc
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    print_analysis(Console(), document, args.lang)
    return 0


def _pp(interval: dict | None) -> str:
    if interval is None:
        return "n/a"
    return (
        f"{interval['estimate'] * 100:+.2f} pp "
        f"[{interval['lower'] * 100:+.2f}, {interval['upper'] * 100:+.2f}]"
    )


def _value(part: dict) -> str:
    return "n/a ({})".format(part["reason"]) if part["value"] is None else f"{part['value']:.3f}"


def print_analysis(console, document: dict[str, Any], lang: str = "en") -> None:
    from rich.table import Table

    console.print(
        f"[bold]optimization {document['optimization_id']}[/]: {document['n_trials']} trials, "
        f"{document['distinct_trials']} distinct backtests"
    )
    if document["equivalent"]:
        pairs = ", ".join(f"{dup}={rep}" for dup, rep in document["equivalent"].items())
        console.print(f"equivalent runs (duplicate=representative): {pairs}")
    dsr, pbo = document["dsr"], document["pbo"]
    console.print(f"DSR of the Top 1 (run {dsr['run_id']}, N={dsr['n_trials']}): {_value(dsr)}")
    console.print(
        f"PBO (CSCV, {pbo['blocks']} blocks, {pbo['combinations']} splits): {_value(pbo)}"
    )
    summary = document["plateau_summary"]
    if summary.get("top1_stable") is not None:
        edges = ", ".join(f"{e['axis']} ({e['side']})" for e in summary["top1_edges"]) or "none"
        console.print(
            f"plateau: Top 1 {'stable' if summary['top1_stable'] else 'NOT stable'}, "
            f"edges: {edges}; best stable run: {summary['best_stable_run_id']}"
        )
    table = Table(title="Top N against the baseline (paired block bootstrap, 95 %)")
    for column in ("rank", "run_id", "same as", "CAGR - baseline", "CAGR - #1", "P(MaxDD ok)"):
        table.add_column(column)
    boot = {item["run_id"]: item for item in document["bootstrap"].get("items") or []}
    for item in document["top"]:
        b = boot.get(item["run_id"], {})
        meets = b.get("prob_meets_drawdown")
        table.add_row(
            str(item["rank"]),
            str(item["run_id"]),
            str(item["equivalent_to"] or "-"),
            _pp(b.get("cagr_minus_baseline")),
            "-" if item["rank"] == 1 else _pp(b.get("cagr_minus_top1")),
            "n/a" if meets is None else f"{meets:.0%}",
        )
    console.print(table)
    walk = document["walk_forward"]
    if walk.get("summary"):
        s = walk["summary"]
        base = s.get("baseline") or {}
        console.print(
            f"walk-forward CAGR {s['walk_forward']['cagr'] * 100:.2f}% vs full-window #1 "
            f"{s['top1']['cagr'] * 100:.2f}% vs baseline "
            + ("n/a" if base.get("cagr") is None else f"{base['cagr'] * 100:.2f}%")
        )
    print_verdict(console, document, lang)


def print_verdict(console, document: dict[str, Any] | None, lang: str = "zh") -> None:
    """The verdict lines printed under a Top 3 (both languages when ``lang`` is zh, since the
    report is Chinese by default and the terminal reader may not be)."""
    if document is None:
        return
    verdict = document.get("verdict") or {}
    console.print(f"[bold]verdict:[/] {verdict.get('en', '')}")
    if lang == "zh" and verdict.get("zh"):
        console.print(f"[bold]结论:[/] {verdict['zh']}")
