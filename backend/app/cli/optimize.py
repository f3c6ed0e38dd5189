"""`stocklean optimize`: the API's optimization from the terminal, run in-process with the
local worker pool; a progress bar, the Top N as a table and the report's path."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app.cli.common import CommandError

if TYPE_CHECKING:
    from app.services.sweep_results import SweepTop


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "optimize",
        help="run a parameter sweep from a baseline run and a train job",
        description="Build the sweep exactly as POST /api/optimizations does, run it with the "
        "local workers, print the Top N and write the report. Options override --body.",
    )
    parser.add_argument("--baseline-run", type=int, help="baseline backtest run id (e.g. 615)")
    parser.add_argument(
        "--train-job", type=int, help="train job id whose scores to bind (e.g. 120)"
    )
    parser.add_argument("--body", type=Path, help="a JSON file with a full request body")
    parser.add_argument("--start", help="backtest_start, yyyy-mm-dd")
    parser.add_argument("--end", help="backtest_end, yyyy-mm-dd")
    parser.add_argument("--risk-off", help='risk_off_symbols override, e.g. "VGSH,IEF,GLD,TLT"')
    parser.add_argument("--max-dd", type=float, help="constraint max_drawdown <= X (default 0.15)")
    parser.add_argument("--max-inflight", type=int, help="runs queued or running at once (8)")
    parser.add_argument("--top-n", type=int, help="how many to rank (3)")
    parser.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the backtest requests, run nothing"
    )
    parser.add_argument("--json", action="store_true", help="print the Top N as JSON")
    parser.set_defaults(handler=optimize)


def request_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if args.body:
        try:
            body = json.loads(args.body.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"cannot read --body {args.body}: {exc}") from exc
        if not isinstance(body, dict):
            raise CommandError(f"--body {args.body} must hold a JSON object")
    options = {
        "baseline_run_id": args.baseline_run,
        "train_job_id": args.train_job,
        "backtest_start": args.start,
        "backtest_end": args.end,
        "max_inflight": args.max_inflight,
        "top_n": args.top_n,
    }
    body.update({key: value for key, value in options.items() if value is not None})
    if args.risk_off:
        body["overrides"] = {**body.get("overrides", {}), "risk_off_symbols": args.risk_off}
    if args.max_dd is not None:
        body["constraints"] = [{"metric": "max_drawdown", "op": "<=", "value": args.max_dd}]
    return body


def parse_body(body: dict[str, Any]):
    from app.errors import validation_text
    from app.schemas.optimizations import OptimizationCreate

    try:
        return OptimizationCreate.model_validate(body)
    except ValidationError as exc:
        problems = validation_text(exc.errors())
        raise CommandError(f"invalid optimization request: {problems}") from None


def optimize(args: argparse.Namespace) -> int:
    from app.cli.runtime import local_runtime

    body = parse_body(request_body(args))
    with local_runtime() as runtime:
        if args.dry_run:
            return dry_run(runtime, body)
        sweep_id = start_sweep(runtime, body, as_json=args.json)
        return finish_sweep(runtime, sweep_id, lang=args.lang, as_json=args.json)


def dry_run(runtime, body) -> int:
    from app.errors import DomainError, detail_text
    from app.services.sweep_plan import plan_optimization

    with runtime.session() as session:
        try:
            plan = plan_optimization(session, body, runtime.settings)
        except DomainError as exc:
            raise CommandError(detail_text(exc.detail)) from exc
    for trial in plan.trials:
        print(
            json.dumps(
                {
                    "trial_index": trial.trial_index,
                    "source": trial.source,
                    "request": trial.request,
                },
                sort_keys=True,
            )
        )
    print(f"{len(plan.trials)} backtest requests (dry run: nothing stored)", file=sys.stderr)
    return 0


def start_sweep(runtime, body, *, as_json: bool = False) -> int:
    from app.errors import DomainError, detail_text
    from app.services import optimizations as service

    with runtime.session() as session:
        try:
            sweep, _ = service.create_optimization(session, body, runtime.settings)
        except DomainError as exc:
            raise CommandError(detail_text(exc.detail)) from exc
        sweep_id = sweep.id
        total = sweep.trials_total
    print(
        f"optimization {sweep_id}: {total} trials, at most {body.max_inflight} in flight",
        file=sys.stderr if as_json else sys.stdout,
    )
    runtime.worker.wake()
    return sweep_id


def finish_sweep(runtime, sweep_id: int, *, lang: str = "zh", as_json: bool = False) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from app.cli.analyze import print_verdict
    from app.models import Optimization
    from app.services import reports, sweep_analysis, sweep_results

    console = Console(stderr=as_json)
    with Progress(
        TextColumn("[bold]sweep {task.fields[sweep]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        with runtime.session() as session:
            total = session.get(Optimization, sweep_id).trials_total
        task = progress.add_task("sweep", total=total, sweep=sweep_id, detail="")

        def tick(session) -> None:
            counts = sweep_results.status_counts(session, sweep_id)
            detail = f"running {counts.running}  failed {counts.failed}"
            progress.update(task, completed=counts.done, detail=detail)

        def finished(session) -> bool:
            return session.get(Optimization, sweep_id).status.is_final

        runtime.wait(finished, tick)
    with runtime.session() as session:
        sweep = session.get(Optimization, sweep_id)
        # The report computes and stores the analysis first, so the Top N read after it
        # carries the equivalences.
        written = reports.ensure_report(session, sweep, runtime.settings, lang=lang)
        analysis = sweep_analysis.stored_analysis(sweep)
        top = sweep_results.top_trials(session, sweep, int(sweep.spec.get("top_n") or 3))
        synthetic = bool((sweep.spec.get("data_provenance") or {}).get("synthetic"))
    if as_json:
        document = {
            "optimization_id": sweep_id,
            **asdict(top),
            "report": str(written.markdown_path),
            "verdict": analysis["verdict"] if analysis else None,
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print_top(console, top, synthetic)
        print_verdict(console, analysis, lang)
        console.print(f"report: {written.markdown_path}")
        console.print(f"chart:  {written.chart_path}")
        if written.analysis_chart_path is not None:
            console.print(f"chart:  {written.analysis_chart_path}")
    return 0


def print_top(console, top: SweepTop, synthetic: bool) -> None:
    from rich.table import Table

    title = "Top {} by {}".format(len(top.items), (top.objective or {}).get("metric", "cagr"))
    if synthetic:
        title += " (SYNTHETIC demo data)"
    # One column per searched parameter: a single "k=v, ..." column wraps into an unreadable
    # stack in an 80-column terminal.
    param_names = list(dict.fromkeys(name for item in top.items for name in item.params))
    table = Table(title=title)
    for column in ("rank", "run", "same as", "CAGR", "MaxDD", "Sharpe", "ok", *param_names):
        table.add_column(column, overflow="fold")
    for item in top.items:
        table.add_row(
            str(item.rank),
            str(item.run_id),
            "-" if item.equivalent_to is None else str(item.equivalent_to),
            _pct(item.cagr),
            _pct(item.max_drawdown),
            "n/a" if item.sharpe is None else f"{item.sharpe:.3f}",
            "yes" if item.feasible else "NO",
            *(
                "-" if item.params.get(name) is None else f"{item.params[name]:g}"
                for name in param_names
            ),
        )
    console.print(table)
    if not top.constraint_met:
        console.print("[bold red]no trial meets the constraints; shown: the least violating[/]")
    for failed in top.failed:
        console.print(f"failed run {failed.run_id}: {failed.error}")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"
