"""The optimizations pages of the web UI in a real (headless) Chromium against a live server:
start the seed's sweep from the form, watch it finish, read its results, see API errors in
words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser.conftest import requires_chromium

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright Python package is not installed"
)
expect = playwright_api.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(180),
    requires_chromium,
]

SWEEP_FORM = {
    "baseline_run_id": "615",
    "train_job_id": "120",
    "risk_off_symbols": "VGSH,IEF,GLD,TLT",
    "backtest_start": "2020-01-02",
    "backtest_end": "2021-12-31",  # the small market's last session
    "max_inflight": "4",
}


def fill_form(page, values: dict[str, str]) -> None:
    for name, value in values.items():
        page.fill(f"#f-{name}", value)


def test_start_a_sweep_from_the_form_and_read_its_results(page, screenshots_dir: Path):
    page.goto("/")
    expect(page.get_by_role("heading", name="Optimizations")).to_be_visible()
    expect(page.get_by_text("No optimizations yet")).to_be_visible()

    page.get_by_role("link", name="New optimization").first.click()
    expect(page).to_have_url(re.compile(r"#/optimizations/new$"))
    fill_form(page, SWEEP_FORM)
    page.get_by_role("button", name="Preview trials").click()
    expect(page.locator("#preview-count")).to_have_text("30")
    expect(page.locator("#preview-table tbody tr")).to_have_count(30)
    expect(page.locator("#preview-table")).to_contain_text("perturbation")
    page.screenshot(path=screenshots_dir / "optimization-new-preview.png", full_page=True)

    page.get_by_role("button", name="Start optimization").click()
    expect(page).to_have_url(re.compile(r"#/optimizations/\d+$"))
    sweep_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".badge.synthetic").first).to_have_text("SYNTHETIC data")
    # Live progress: the page polls until every trial is done.
    expect(page.locator("#progress-count")).to_have_text("30 / 30 done", timeout=90_000)
    expect(page.locator('[role="progressbar"][aria-label="sweep progress"]')).to_have_attribute(
        "aria-valuenow", "100"
    )
    expect(page.locator("#sweep-status .badge")).to_have_text("completed")

    expect(page.locator("#top-table tbody tr")).to_have_count(3)
    expect(page.locator("#scatter svg .dot")).to_have_count(30)
    expect(page.locator("#scatter svg rect.dot.perturbation")).to_have_count(12)
    expect(page.locator("#scatter svg .dot-label")).to_contain_text(["#1"])
    expect(page.locator("#scatter svg line.limit")).to_have_count(1)
    expect(page.locator("#scatter")).to_contain_text("MaxDD ≤ 15.0 %")
    expect(page.locator("#heatmap svg")).to_have_count(2)  # one panel per max_weight
    expect(page.locator("#heatmap svg .cell")).to_have_count(18)
    # Top 3 and the baseline (run 615 runs on the same server's workers).
    expect(page.locator("#equity svg polyline")).to_have_count(4, timeout=30_000)
    expect(page.locator("#trials-table tbody tr")).to_have_count(30)
    feasible = page.locator("#trials-table tbody tr.feasible").count()
    assert feasible == page.locator("#trials-table tbody tr", has_text="✓ feasible").count()

    # Sorting by CAGR (descending first): the top row is the best CAGR of all trials.
    page.locator('#trials-table [data-sort="cagr"]').click()
    expect(page.locator('#trials-table th[aria-sort="descending"]')).to_contain_text("CAGR")
    cagrs = [
        float(text.replace("%", "").strip())
        for text in page.locator("#trials-table tbody tr td:nth-child(7)").all_inner_texts()
    ]
    assert cagrs == sorted(cagrs, reverse=True)
    page.locator('#trials-table [data-sort="cagr"]').click()
    expect(page.locator('#trials-table th[aria-sort="ascending"]')).to_contain_text("CAGR")

    for link_id, content in (("#report-md", "text/markdown"), ("#report-png", "image/png")):
        href = page.locator(link_id).get_attribute("href")
        response = page.request.get(href)
        assert response.status == 200 and content in response.headers["content-type"]
    page.locator('#trials-table [data-sort="trial_index"]').click()
    page.screenshot(path=screenshots_dir / "optimization-sweep.png", full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    # Charts are redrawn at their new box width (their text keeps its size).
    page.wait_for_function("document.querySelector('#scatter svg').viewBox.baseVal.width < 400")
    page.evaluate("window.scrollTo(0, 0)")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a narrow window"
    page.screenshot(path=screenshots_dir / "optimization-sweep-narrow.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})

    page.get_by_role("link", name="Optimizations", exact=True).click()
    row = page.locator(f'#optimizations-table tr[data-id="{sweep_id}"]')
    expect(row).to_contain_text("completed")
    expect(row).to_contain_text("100 %")
    expect(row).to_contain_text("%")  # best CAGR so far
    page.screenshot(path=screenshots_dir / "optimizations-list.png", full_page=True)

    # A Top 3 run's backtest page: curves and LEAN statistics.
    row.get_by_role("link", name=f"#{sweep_id}").click()
    page.locator("#top-table tbody tr").first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"#/backtests/\d+$"))
    statistics = page.locator("#statistics-table")
    expect(statistics).to_contain_text("Compounding Annual Return")
    expect(statistics).to_contain_text("Drawdown")
    # LEAN's order, whatever order the database kept the keys in.
    expect(statistics.locator("tr").first).to_contain_text("Total Orders")
    expect(page.locator("#params-table")).to_contain_text("VGSH,IEF,GLD,TLT")
    expect(page.locator("#bt-equity svg polyline")).to_have_count(1)
    expect(page.locator("#bt-drawdown svg polyline")).to_have_count(1)
    page.screenshot(path=screenshots_dir / "backtest.png", full_page=True)


def test_bad_input_shows_the_api_error_and_cancel_works(page):
    sent_headers: list[dict[str, str]] = []
    page.on(
        "request",
        lambda request: sent_headers.append(request.headers) if request.method == "POST" else None,
    )
    page.goto("/#/optimizations/new")
    page.fill("#api-token", "s3cret")
    page.locator("#api-token").dispatch_event("change")

    # A window outside the data: the service's 422, its field highlighted.
    fill_form(page, {**SWEEP_FORM, "backtest_end": "2023-06-30"})
    page.get_by_role("button", name="Preview trials").click()
    error = page.get_by_role("alert")
    expect(error).to_contain_text("backtest_end: window 2020-01-02..2023-06-30 lies outside")
    expect(page.locator("#f-backtest_end")).to_have_class(re.compile(r"\binvalid\b"))
    expect(page.locator("#preview")).to_be_hidden()
    assert sent_headers and sent_headers[-1].get("authorization") == "Bearer s3cret"

    # An unknown baseline run: a 404 with a plain string detail.
    fill_form(page, {**SWEEP_FORM, "baseline_run_id": "999"})
    page.get_by_role("button", name="Start optimization").click()
    expect(error).to_contain_text("backtest run 999 not found")
    expect(page).to_have_url(re.compile(r"#/optimizations/new$"))

    # Not a number: pydantic's list of errors, each as "field: msg".
    fill_form(page, {**SWEEP_FORM, "baseline_run_id": "abc", "max_inflight": "0"})
    page.get_by_role("button", name="Start optimization").click()
    expect(error).to_contain_text("baseline_run_id: Input should be a valid integer")
    expect(error).to_contain_text("max_inflight: Input should be greater than or equal to 1")

    # A valid sweep, one backtest at a time, canceled from its page.
    fill_form(page, {**SWEEP_FORM, "max_inflight": "1"})
    page.get_by_role("button", name="Start optimization").click()
    expect(page).to_have_url(re.compile(r"#/optimizations/\d+$"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#sweep-status .badge")).to_have_text("canceled")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(page.locator("#report-md")).to_be_visible()

    # A run id that does not exist: the backtest page says so.
    page.goto("/#/backtests/424242")
    expect(page.get_by_role("alert")).to_contain_text("backtest run 424242 not found")


def test_parameter_columns_come_from_the_sweeps_own_search(page, live_server):
    """A sweep over top_n (grid) and vol_lookback (perturbation) shows exactly those
    parameter columns, filled, in the Top 3 and the trials table."""
    import httpx

    body = {
        "baseline_run_id": 615,
        "train_job_id": 120,
        "backtest_start": "2021-01-04",
        "backtest_end": "2021-12-31",
        "overrides": {"risk_off_symbols": "VGSH,IEF,GLD,TLT"},
        "search": {
            "grid": {"top_n": [5, 10]},
            "perturbation": {
                "base": {"vol_lookback": 20},
                "steps": {"vol_lookback": 5},
                "count": 2,
            },
        },
        "max_inflight": 4,
    }
    created = httpx.post(f"{live_server}/api/optimizations", json=body, timeout=30)
    assert created.status_code == 201, created.text
    sweep_id = created.json()["id"]

    page.goto(f"/#/optimizations/{sweep_id}")
    expect(page.locator("#progress-count")).to_have_text("4 / 4 done", timeout=90_000)
    headers = page.locator("#trials-table thead th").all_text_contents()
    assert [h.strip("▲▼ ") for h in headers[2:4]] == ["top_n", "vol_lookback"]
    assert not any(name in " ".join(headers) for name in ("max_exposure", "vol_target"))
    # Grid trials carry top_n (vol_lookback is the baseline's, not swept: shown empty);
    # perturbation trials carry vol_lookback 15 and 25 (20 ± 5, the base itself excluded).
    rows = page.locator("#trials-table tbody tr")
    expect(rows).to_have_count(4)
    cells = [rows.nth(i).locator("td").all_inner_texts()[2:4] for i in range(4)]
    assert cells == [["5", "–"], ["10", "–"], ["–", "15"], ["–", "25"]]
    top_headers = page.locator("#top-table thead th").all_text_contents()
    assert "top_n" in top_headers and "vol_lookback" in top_headers
