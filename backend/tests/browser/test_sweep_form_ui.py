"""The "New optimization" form in a real (headless) Chromium against a live server: a search
space, objective and constraints typed by a person, previewed, started and run as typed; API
errors shown in words beside the field they name, nothing stored."""

from __future__ import annotations

import re

import httpx
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

BASICS = {
    "baseline_run_id": "615",
    "train_job_id": "120",
    "risk_off_symbols": "VGSH,IEF,GLD,TLT",
    "backtest_start": "2021-01-04",
    "backtest_end": "2021-12-31",
    "max_inflight": "4",
}


def fill_basics(page, values: dict[str, str]) -> None:
    for name, value in values.items():
        page.fill(f"#f-{name}", value)


def grid_row(page, name: str):
    """The grid row whose parameter select shows ``name``."""
    rows = page.locator('#grid-rows [data-row="grid"]')
    for i in range(rows.count()):
        if rows.nth(i).locator(".p-name").input_value() == name:
            return rows.nth(i)
    raise AssertionError(f"no grid row for {name}")


def remove_rows(page, holder: str, keep: int = 0) -> None:
    rows = page.locator(f"{holder} .space-row")
    while rows.count() > keep:
        rows.last.locator("[data-remove]").click()


def test_a_space_typed_in_the_form_is_previewed_and_run_as_typed(page, live_server):
    page.goto("/#/optimizations/new")
    fill_basics(page, BASICS)
    # The seed's space is the starting point: three grid rows, three perturbed parameters.
    expect(page.locator('#grid-rows [data-row="grid"]')).to_have_count(3)
    expect(page.locator('#perturbation-rows [data-row="perturbation"]')).to_have_count(3)
    # The baseline run's own values appear as the perturbation base placeholders.
    expect(page.locator("#perturbation-rows .p-base").first).to_have_attribute(
        "placeholder", "baseline 0.7"
    )

    # Grid: max_exposure {0.5, 0.9} x top_n {5, 10}.
    remove_rows(page, "#grid-rows", keep=1)
    grid_row(page, "max_exposure").locator(".p-values").fill("0.5, 0.9")
    page.get_by_role("button", name="+ grid parameter").click()
    new_row = page.locator('#grid-rows [data-row="grid"]').last
    new_row.locator(".p-name").select_option("top_n")
    new_row.locator(".p-values").fill("5 10")
    # Perturbation: vol_target only, around the baseline's 0.05 by 0.01, two points.
    remove_rows(page, "#perturbation-rows", keep=0)
    page.get_by_role("button", name="+ perturbed parameter").click()
    perturbed = page.locator('#perturbation-rows [data-row="perturbation"]').last
    perturbed.locator(".p-name").select_option("vol_target")
    perturbed.locator(".p-step").fill("0.01")
    page.fill("#f-perturbation-count", "2")
    # Objective and constraints.
    page.select_option("#f-objective-metric", "sharpe")
    page.select_option("#f-objective-direction", "max")
    page.locator("#constraint-rows .c-value").first.fill("0.5")
    page.get_by_role("button", name="+ constraint").click()
    added = page.locator('#constraint-rows [data-row="constraint"]').last
    added.locator(".c-metric").select_option("cagr")
    added.locator(".c-op").select_option(">=")
    added.locator(".c-value").fill("-1")

    page.get_by_role("button", name="Preview trials").click()
    expect(page.locator("#preview-count")).to_have_text("6")
    expect(page.locator("#preview")).to_contain_text("4 grid + 2 perturbation")
    headers = page.locator("#preview-table thead th").all_text_contents()
    assert headers[2:5] == ["max_exposure", "vol_target", "top_n"]
    rows = page.locator("#preview-table tbody tr")
    expect(rows).to_have_count(6)
    cells = [rows.nth(i).locator("td").all_inner_texts()[1:5] for i in range(6)]
    # Unsearched parameters show the baseline's value the trial runs with (0.05, 0.7, 10).
    assert cells == [
        ["grid", "0.5", "0.05", "5"],
        ["grid", "0.5", "0.05", "10"],
        ["grid", "0.9", "0.05", "5"],
        ["grid", "0.9", "0.05", "10"],
        ["perturbation", "0.7", "0.04", "10"],
        ["perturbation", "0.7", "0.06", "10"],
    ]
    assert httpx.get(f"{live_server}/api/optimizations").json()["total"] == 0  # preview only

    expect(page.locator("#preview-stale")).to_be_hidden()
    page.get_by_role("button", name="+ constraint").click()  # editing after the preview says so
    expect(page.locator("#preview-stale")).to_be_visible()
    page.locator("#constraint-rows .space-row").last.locator("[data-remove]").click()

    page.get_by_role("button", name="Start optimization").click()
    expect(page).to_have_url(re.compile(r"#/optimizations/\d+$"))
    sweep_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#progress-count")).to_have_text("6 / 6 done", timeout=90_000)
    facts = page.locator(".facts")
    expect(facts).to_contain_text("max sharpe")
    expect(facts).to_contain_text("max_drawdown <= 0.5")
    expect(facts).to_contain_text("cagr >= -1")

    # What ran is what was typed.
    sweep = httpx.get(f"{live_server}/api/optimizations/{sweep_id}").json()
    assert sweep["spec"]["search"]["grid"] == {"max_exposure": ["0.5", "0.9"], "top_n": ["5", "10"]}
    perturbation = sweep["spec"]["search"]["perturbation"]
    assert perturbation["steps"] == {"vol_target": "0.01"} and perturbation["count"] == 2
    assert sweep["spec"]["objective"] == {"metric": "sharpe", "direction": "max"}
    trials = httpx.get(f"{live_server}/api/optimizations/{sweep_id}/trials").json()["items"]
    ran = []
    for trial in trials:
        run = httpx.get(f"{live_server}/api/backtests/{trial['run_id']}").json()
        algorithm = run["params"]["algorithm_parameters"]
        ran.append((algorithm["max_exposure"], algorithm["top_n"], algorithm["vol_target"]))
    assert ran == [
        (0.5, 5, 0.05),
        (0.5, 10, 0.05),
        (0.9, 5, 0.05),
        (0.9, 10, 0.05),
        (0.7, 10, 0.04),  # the baseline's max_exposure and top_n
        (0.7, 10, 0.06),
    ]
    headers = page.locator("#trials-table thead th").all_text_contents()
    assert [h.strip("▲▼ ") for h in headers[2:5]] == ["max_exposure", "vol_target", "top_n"]


def error_beside(page, field_selector: str):
    """The error message shown beside the field ``field_selector``."""
    return page.locator(field_selector).locator("xpath=ancestor::label[1]").locator(".field-error")


def test_api_errors_are_shown_beside_their_fields_and_nothing_is_stored(page, live_server):
    page.goto("/#/optimizations/new")
    fill_basics(page, BASICS)
    page.set_viewport_size({"width": 390, "height": 844})  # the editors fit a phone
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the form scrolls sideways by {overflow}px on a narrow window"
    page.set_viewport_size({"width": 1366, "height": 900})
    preview = page.get_by_role("button", name="Preview trials")
    max_exposure = grid_row(page, "max_exposure").locator(".p-values")

    # A value outside the parameter's bounds: the grid validator's message, on its row.
    max_exposure.fill("0.6, 1.5")
    preview.click()
    expect(max_exposure).to_have_class(re.compile(r"\binvalid\b"))
    expect(error_beside(page, "#grid-rows .space-row:first-child .p-values")).to_contain_text(
        "max_exposure must be in (0, 1], got 1.5"
    )
    expect(page.get_by_role("alert")).to_contain_text("search.grid")
    expect(page.locator("#preview")).to_be_hidden()

    # Not a number: pydantic's error at search.grid.max_exposure.1, on the same row.
    max_exposure.fill("0.6, abc")
    preview.click()
    expect(error_beside(page, "#grid-rows .space-row:first-child .p-values")).to_contain_text(
        "valid decimal"
    )

    # More perturbations than the lattice has: the count's field.
    max_exposure.fill("0.6, 0.7, 0.8")
    page.fill("#f-perturbation-count", "40")
    preview.click()
    expect(page.locator("#f-perturbation-count")).to_have_class(re.compile(r"\binvalid\b"))
    expect(error_beside(page, "#f-perturbation-count")).to_contain_text("perturbation points exist")
    expect(max_exposure).not_to_have_class(re.compile(r"\binvalid\b"))  # cleared

    # A constraint value that is not a number, and an unknown risk-off symbol.
    page.fill("#f-perturbation-count", "12")
    page.locator("#constraint-rows .c-value").first.fill("lots")
    page.fill("#f-risk_off_symbols", "VGSH,NOPE")
    page.get_by_role("button", name="Start optimization").click()
    expect(error_beside(page, "#constraint-rows .c-value")).to_contain_text("valid number")
    page.locator("#constraint-rows .c-value").first.fill("0.15")
    page.get_by_role("button", name="Start optimization").click()
    expect(error_beside(page, "#f-risk_off_symbols")).to_contain_text("NOPE")

    # Records that do not exist: the 404's words beside the id field.
    page.fill("#f-baseline_run_id", "999")
    preview.click()
    expect(error_beside(page, "#f-baseline_run_id")).to_have_text("backtest run 999 not found")
    page.fill("#f-baseline_run_id", "615")
    page.fill("#f-train_job_id", "998")
    preview.click()
    expect(error_beside(page, "#f-train_job_id")).to_have_text("train job 998 not found")
    page.fill("#f-train_job_id", "120")

    # A parameter twice in the grid: the form says so itself, on the second row.
    page.fill("#f-risk_off_symbols", "VGSH,IEF,GLD,TLT")
    page.get_by_role("button", name="+ grid parameter").click()
    twice = page.locator('#grid-rows [data-row="grid"]').last
    twice.locator(".p-name").select_option("vol_target")
    twice.locator(".p-values").fill("0.05")
    preview.click()
    expect(page.get_by_role("alert")).to_contain_text("vol_target is listed twice in the grid")
    expect(page.locator("#grid-editor .field-error").filter(has_text="listed twice")).to_have_count(
        1
    )
    expect(page).to_have_url(re.compile(r"#/optimizations/new$"))
    assert httpx.get(f"{live_server}/api/optimizations").json()["total"] == 0
