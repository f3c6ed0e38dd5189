"""The screenshots in docs/screenshots/, made from the demo data.

Runs only when ``STOCKLEAN_DEMO_DIR`` names a directory where ``stocklean demo`` has run
(``make screenshots`` does both): a server is started on that directory's database, market
and reports, and each page is captured as a person sees it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from browser.conftest import CHROMIUM, SCREENSHOTS_DIR, _free_port

DEMO_DIR = os.environ.get("STOCKLEAN_DEMO_DIR")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(300),
    pytest.mark.skipif(not DEMO_DIR, reason="STOCKLEAN_DEMO_DIR is not set (make screenshots)"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent"),
]


@pytest.fixture
def demo_server():
    demo = Path(DEMO_DIR).resolve()
    port = _free_port()
    env = {
        **os.environ,
        "STOCKLEAN_DATABASE_URL": f"sqlite:///{demo / 'var' / 'stocklean.db'}",
        "STOCKLEAN_DATA_DIR": str(demo / "var" / "data"),
        "STOCKLEAN_ARTIFACTS_DIR": str(demo / "var" / "artifacts"),
        "STOCKLEAN_REPORTS_DIR": str(demo / "docs" / "reports"),
        "STOCKLEAN_WORKER_MODE": "process",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_screenshots_of_every_page_from_the_demo(browser, demo_server):
    from playwright.sync_api import expect

    sweeps = httpx.get(f"{demo_server}/api/optimizations").json()["items"]
    assert sweeps, "the demo has no optimization: run `stocklean demo` first"
    sweep = sweeps[0]
    top = httpx.get(f"{demo_server}/api/optimizations/{sweep['id']}/top").json()["items"]
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=demo_server)
    context.set_default_timeout(30_000)
    page = context.new_page()

    page.goto("/#/optimizations")
    expect(page.get_by_role("heading", name="Optimizations")).to_be_visible()
    expect(page.get_by_text("completed").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS_DIR / "optimizations-list.png", full_page=True)

    page.goto("/#/optimizations/new")
    for name, value in {
        "baseline_run_id": "615",
        "train_job_id": "120",
        "risk_off_symbols": "VGSH,IEF,GLD,TLT",
        "backtest_start": "2020-01-01",
        "backtest_end": "2026-01-13",
        "max_inflight": "8",
    }.items():
        page.fill(f"#f-{name}", value)
    page.get_by_role("button", name="Preview trials").click()
    expect(page.locator("#preview-count")).to_have_text("30")
    page.screenshot(path=SCREENSHOTS_DIR / "optimization-new-preview.png", full_page=True)

    # The form with a space of one's own, and an API error shown beside its field: a grid
    # over top_n, a perturbation of vol_target asking for more points than the lattice has.
    rows = page.locator('#grid-rows [data-row="grid"]')
    while rows.count() > 1:
        rows.last.locator("[data-remove]").click()
    rows.first.locator(".p-name").select_option("top_n")
    rows.first.locator(".p-values").fill("20, 30, 40")
    perturbed = page.locator('#perturbation-rows [data-row="perturbation"]')
    while perturbed.count() > 1:
        perturbed.last.locator("[data-remove]").click()
    perturbed.first.locator(".p-name").select_option("vol_target")
    perturbed.first.locator(".p-step").fill("0.005")
    page.fill("#f-perturbation-count", "5")
    page.select_option("#f-objective-metric", "sharpe")
    page.get_by_role("button", name="Preview trials").click()
    expect(page.locator("#f-perturbation-count")).to_have_class(re.compile(r"\binvalid\b"))
    page.screenshot(path=SCREENSHOTS_DIR / "optimization-new-errors.png", full_page=True)

    analysis = httpx.get(f"{demo_server}/api/optimizations/{sweep['id']}/analysis", timeout=120)
    assert analysis.status_code == 200, (
        f"the demo sweep has no analysis ({analysis.status_code} {analysis.text[:200]}): the "
        "Robustness panel needs GET /api/optimizations/{id}/analysis (branch analysis)"
    )
    page.goto(f"/#/optimizations/{sweep['id']}")
    expect(page.get_by_text(re.compile(r"30 / 30"))).to_be_visible()
    expect(page.locator("#robustness-measures .measure")).to_have_count(8)
    page.wait_for_timeout(500)  # let the charts settle at their box width
    page.screenshot(path=SCREENSHOTS_DIR / "optimization-sweep.png", full_page=True)
    page.locator("#robustness-card").screenshot(
        path=SCREENSHOTS_DIR / "optimization-robustness.png"
    )
    page.set_viewport_size({"width": 420, "height": 900})
    page.wait_for_timeout(500)
    page.screenshot(path=SCREENSHOTS_DIR / "optimization-sweep-narrow.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})

    page.goto(f"/#/backtests/{top[0]['run_id']}")
    expect(page.get_by_role("rowheader", name="Compounding Annual Return")).to_be_visible()
    page.wait_for_timeout(500)
    page.screenshot(path=SCREENSHOTS_DIR / "backtest.png", full_page=True)
    context.close()
