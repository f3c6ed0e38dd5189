"""`stocklean score --manifest FILE`: rank a legacy JSONL manifest of ``{run_id, params}``
lines (what the seed's submission script wrote) with the same ranking query as the API."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app.cli.common import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("score", help="rank the runs of a JSONL manifest")
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--max-dd", type=float, default=0.15, help="max_drawdown <= X")
    parser.add_argument("--metric", default="cagr", help="objective metric (maximised)")
    parser.add_argument("--limit", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=score)


def read_manifest(path: Path) -> dict[int, dict]:
    """``{run_id: params}``; later lines for the same run win. Errors name the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read manifest {path}: {exc}") from exc
    entries: dict[int, dict] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            run_id = record["run_id"]
            params = record.get("params") or {}
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise CommandError(
                f"{path} line {number}: not a {{run_id, params}} object ({exc})"
            ) from exc
        if not isinstance(run_id, int) or isinstance(run_id, bool) or run_id < 1:
            raise CommandError(f"{path} line {number}: run_id must be a positive integer")
        if not isinstance(params, dict):
            raise CommandError(f"{path} line {number}: params must be an object")
        entries[run_id] = params
    if not entries:
        raise CommandError(f"manifest {path} lists no runs")
    return entries


def score(args: argparse.Namespace) -> int:
    from rich.console import Console
    from sqlalchemy import select

    from app.cli.optimize import print_top
    from app.cli.runtime import database_session
    from app.config import get_settings
    from app.models import BacktestRun
    from app.schemas.optimizations import RankMetric
    from app.services.ranking import Constraint, Objective, rank_runs

    if args.metric not in RankMetric.__args__:
        raise CommandError(
            f"unknown metric {args.metric!r}; known: {', '.join(RankMetric.__args__)}"
        )
    entries = read_manifest(args.manifest)
    settings = get_settings()
    with database_session(settings) as session:
        known = set(
            session.execute(select(BacktestRun.id).where(BacktestRun.id.in_(entries))).scalars()
        )
        ranking = rank_runs(
            session,
            BacktestRun.id.in_(entries),
            Objective(args.metric, "max"),
            [Constraint("max_drawdown", "<=", args.max_dd)],
            args.limit,
        )
    top = {
        "constraint_met": ranking.constraint_met,
        "objective": {"metric": args.metric, "direction": "max"},
        "items": [{**asdict(item), "params": entries[item.run_id]} for item in ranking.items],
        "failed": [{"run_id": run_id, "error": error} for run_id, error in ranking.failed],
        "missing": sorted(set(entries) - known),
    }
    if args.json:
        print(json.dumps(top, indent=2))
        return 0
    console = Console()
    print_top(console, _as_sweep_top(ranking, top), synthetic=False)
    if top["missing"]:
        console.print(f"runs not in the database: {', '.join(map(str, top['missing']))}")
    return 0


def _as_sweep_top(ranking, top: dict[str, Any]):
    """The manifest's ranking in the shape ``print_top`` reads."""
    from app.services.sweep_results import FailedTrial, SweepTop, TopEntry

    return SweepTop(
        constraint_met=ranking.constraint_met,
        objective=top["objective"],
        constraints=[],
        items=[TopEntry(**item, trial_id=None) for item in top["items"]],
        failed=[FailedTrial(run_id, None, error) for run_id, error in ranking.failed],
        completed=ranking.completed,
    )
