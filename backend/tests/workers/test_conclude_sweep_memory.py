"""The server gives the memory of a sweep's analysis and report back to the OS when each
is done, a failed analysis included (glibc and Arrow keep freed pages otherwise)."""

from __future__ import annotations

from app.db import make_session_factory
from app.services import reports, sweep_analysis
from app.workers import jobs


def test_memory_is_released_after_the_analysis_and_after_the_report(engine, settings, monkeypatch):
    events: list[str] = []

    def failing_analysis(session, sweep):
        events.append("analysis")
        raise RuntimeError("analysis broke")

    monkeypatch.setattr(sweep_analysis, "ensure_analysis", failing_analysis)
    monkeypatch.setattr(reports, "ensure_report", lambda *args: events.append("report"))
    monkeypatch.setattr(jobs, "release_free_memory", lambda: events.append("released"))

    jobs.conclude_sweep(make_session_factory(engine), settings, sweep_id=1)

    assert events == ["analysis", "released", "report", "released"]
