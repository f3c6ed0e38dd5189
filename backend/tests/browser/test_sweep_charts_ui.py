"""The sweep page draws its heatmaps and scatter from the summaries (GET …/aggregates and
…/scatter) and pages its trials table, in a real (headless) Chromium against a live server."""

from __future__ import annotations

import re

import httpx
import pytest
from browser.conftest import requires_chromium

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright Python package is not installed"
)
expect = playwright_api.expect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180), requires_chromium]

# 2 × 2 × 2 × 2 = 16 grid trials: columns max_exposure, rows vol_target, a panel per
# max_weight, each cell the best of its two top_n trials.
GRID = {
    "max_exposure": [0.5, 0.9],
    "vol_target": [0.04, 0.08],
    "max_weight": [0.03, 0.05],
    "top_n": [5, 10],
}


def test_heatmaps_and_scatter_come_from_the_aggregates(page, live_server):
    body = {
        "baseline_run_id": 615,
        "train_job_id": 120,
        "backtest_start": "2021-01-04",
        "backtest_end": "2021-12-31",
        "overrides": {"risk_off_symbols": "VGSH,IEF,GLD,TLT"},
        "search": {"grid": GRID},
        "constraints": [{"metric": "max_drawdown", "op": "<=", "value": 0.06}],
        "max_inflight": 4,
    }
    created = httpx.post(f"{live_server}/api/optimizations", json=body, timeout=30)
    assert created.status_code == 201, created.text
    sweep_id = created.json()["id"]
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))

    page.goto(f"/#/optimizations/{sweep_id}")
    expect(page.locator("#progress-count")).to_have_text("16 / 16 done", timeout=90_000)
    expect(page.locator("#sweep-status .badge")).to_have_text("completed")

    base = f"{live_server}/api/optimizations/{sweep_id}"
    axes = {"x": "max_exposure", "y": "vol_target", "panel": "max_weight"}
    cells = httpx.get(f"{base}/aggregates", params={**axes, "metric": "cagr"}).json()["cells"]
    assert len(cells) == 8 and all(c["trials"] == c["completed"] == 2 for c in cells)
    expect(page.locator("#heatmap svg")).to_have_count(2)
    expect(page.locator("#heatmap svg .cell")).to_have_count(8)
    expect(page.locator("#heatmap svg .panel-title")).to_have_text(
        ["max_weight = 0.03", "max_weight = 0.05"]
    )
    expect(page.locator("#heatmap-note")).to_contain_text("best CAGR over top_n")
    # Each cell shows its aggregate, panel by panel, rows (vol_target) then columns.
    expected = [
        f"{c['value'] * 100:.1f} %" + ("*" if c["feasible"] == 0 else "")
        for c in sorted(cells, key=lambda c: (c["panel"], c["y"], c["x"]))
    ]
    expect(page.locator("#heatmap svg .cell-text")).to_have_text(expected)
    assert any("/aggregates?" in url and "panel=max_weight" in url for url in asked)

    scatter = httpx.get(f"{base}/scatter", params={"limit": 1000, "top": 3}).json()
    expect(page.locator("#scatter svg .dot")).to_have_count(len(scatter["points"]))
    expect(page.locator("#scatter svg .dot.front")).to_have_count(
        sum(1 for p in scatter["points"] if p["front"])
    )
    expect(page.locator("#scatter svg .dot-label")).to_contain_text(["#1"])
    assert any("/scatter?" in url for url in asked)
    # The trials table asks for pages only, never the whole sweep.
    trial_urls = [url for url in asked if "/trials" in url]
    assert trial_urls and all(re.search(r"[?&]limit=100(&|$)", url) for url in trial_urls)
    expect(page.locator("#trials-table tbody tr")).to_have_count(16)
    expect(page.locator("#trials-pager")).to_have_count(0)  # one page holds them all


def test_the_trials_table_pages_through_a_sweep_sorted_by_the_server(page, live_server):
    grid = {"max_exposure": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], "vol_target": [0.02, 0.03]}
    grid["max_weight"] = [0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09]  # 7 × 2 × 8 = 112
    body = {
        "baseline_run_id": 615,
        "train_job_id": 120,
        "backtest_start": "2021-06-01",
        "backtest_end": "2021-12-31",
        "overrides": {"risk_off_symbols": "VGSH,IEF,GLD,TLT"},
        "search": {"grid": grid},
        "max_inflight": 8,
    }
    created = httpx.post(f"{live_server}/api/optimizations", json=body, timeout=30)
    assert created.status_code == 201, created.text
    sweep_id = created.json()["id"]
    page.goto(f"/#/optimizations/{sweep_id}")
    expect(page.locator("#progress-count")).to_have_text("112 / 112 done", timeout=150_000)
    expect(page.locator("#trials-table tbody tr")).to_have_count(100)
    expect(page.locator("#trials-range")).to_have_text("1–100 of 112")
    page.locator('#trials-pager [data-page="next"]').click()
    expect(page.locator("#trials-range")).to_have_text("101–112 of 112")
    expect(page.locator("#trials-table tbody tr")).to_have_count(12)
    expect(page.locator("#trials-table tbody tr").first).to_have_attribute("data-trial", "100")

    # Sorted by CAGR over the whole sweep: the first row is the sweep's best CAGR.
    page.locator('#trials-table [data-sort="cagr"]').click()
    expect(page.locator("#trials-range")).to_have_text("1–100 of 112")
    best = httpx.get(
        f"{live_server}/api/optimizations/{sweep_id}/trials",
        params={"sort": "cagr", "order": "desc", "limit": 1},
    ).json()["items"][0]
    expect(page.locator("#trials-table tbody tr").first).to_have_attribute(
        "data-trial", str(best["trial_index"])
    )
