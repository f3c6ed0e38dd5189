"""The optimization report: Markdown following the seed's template (Chinese by default,
English on request) and a PNG beside it, written to ``settings.reports_dir``.

``context`` reads the database once into a :class:`ReportContext`; ``markdown`` renders it
section by section in the words of ``text``; ``chart`` draws its two panels. This module
decides when and where the files are written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from app.config import Settings
from app.models import BacktestRun, Optimization
from app.services.reports.analysis_section import write_analysis_chart
from app.services.reports.chart import write_chart
from app.services.reports.context import ReportContext, build_context
from app.services.reports.markdown import MARKER, render_markdown

__all__ = ["ReportContext", "WrittenReport", "build_context", "ensure_report", "render_markdown"]


@dataclass(frozen=True)
class WrittenReport:
    markdown_path: Path
    chart_path: Path
    analysis_chart_path: Path | None = None  # the plateau map and walk-forward (DESIGN §7)


def ensure_report(
    session: Session, sweep: Optimization, settings: Settings, *, lang: str = "zh"
) -> WrittenReport:
    """The sweep's report and chart, written unless the files on disk already describe the
    finished sweep (written after it and its baseline run finished). The Chinese report's
    path is stored on the sweep."""
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    stem = _report_stem(sweep, settings)
    markdown_path = settings.reports_dir / (f"{stem}.md" if lang == "zh" else f"{stem}.{lang}.md")
    chart_path = settings.reports_dir / f"{stem}.png"
    analysis_chart_path = settings.reports_dir / f"{stem}.analysis.png"
    baseline = session.get(BacktestRun, sweep.baseline_run_id)
    finished = [sweep.finished_at, baseline.finished_at if baseline else None]
    if sweep.status.is_final and all(
        _written_after(p, finished) for p in (markdown_path, chart_path, analysis_chart_path)
    ):
        _store_report_path(session, sweep, markdown_path, lang)
        return WrittenReport(markdown_path, chart_path, analysis_chart_path)
    context = build_context(session, sweep)
    write_chart(context, chart_path)
    written_analysis_chart = None
    if context.analysis is not None:
        synthetic = bool(context.provenance.get("synthetic"))
        write_analysis_chart(context.analysis, analysis_chart_path, synthetic)
        written_analysis_chart = analysis_chart_path
    markdown = render_markdown(
        context,
        chart_path.name,
        lang,
        written_analysis_chart.name if written_analysis_chart else None,
    )
    tmp = markdown_path.with_suffix(".tmp")
    tmp.write_text(markdown, encoding="utf-8")
    tmp.replace(markdown_path)
    _store_report_path(session, sweep, markdown_path, lang)
    return WrittenReport(markdown_path, chart_path, written_analysis_chart)


def _report_stem(sweep: Optimization, settings: Settings) -> str:
    if sweep.report_path:
        return Path(sweep.report_path).name.removesuffix(".md")
    day = (sweep.finished_at or sweep.created_at or dt.datetime.now(dt.UTC)).date()
    stem = f"{day.isoformat()}-project{sweep.project_id}-train{sweep.train_job_id}-opt"
    existing = settings.reports_dir / f"{stem}.md"
    if existing.exists() and MARKER.format(id=sweep.id) not in existing.read_text("utf-8"):
        stem = f"{stem}-{sweep.id}"  # another sweep's report of the same day stays as it is
    return stem


def _written_after(path: Path, moments: list[dt.datetime | None]) -> bool:
    if not path.is_file():
        return False
    written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    # SQLite hands timestamps back without a zone; they are stored in UTC.
    return all(
        written >= (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
        for moment in moments
        if moment is not None
    )


def _store_report_path(session: Session, sweep: Optimization, path: Path, lang: str) -> None:
    if lang == "zh" and sweep.report_path != str(path):
        sweep.report_path = str(path)
        session.flush()
