"""A live `stocklean serve` subprocess and a headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS_DIR = Path(__file__).resolve().parents[3] / "docs" / "screenshots"

# The browser tests' skip rule, one for every module: CI (.ci/run) installs chromium and sets
# STOCKLEAN_REQUIRE_SERVICES, so there a missing browser is a failure, not a skip.
requires_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("STOCKLEAN_REQUIRE_SERVICES"),
    reason=f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(engine, seeded, market_settings, database_url, tmp_path) -> Iterator[str]:
    """`python -m app.cli serve` on a free port over the test database (project 18, train job
    120, baseline run 615) and the small synthetic market; yields its base URL."""
    env = {
        **os.environ,
        "STOCKLEAN_DATABASE_URL": database_url,
        "STOCKLEAN_DATA_DIR": str(market_settings.data_dir),
        "STOCKLEAN_ARTIFACTS_DIR": str(market_settings.artifacts_dir),
        "STOCKLEAN_REPORTS_DIR": str(market_settings.reports_dir),
        "STOCKLEAN_WORKER_MODE": "thread",
        "STOCKLEAN_WORKER_CONCURRENCY": "4",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    env.pop("STOCKLEAN_API_TOKEN", None)
    port = _free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited:\n{log_path.read_text(errors='replace')}")
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_server)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def screenshots_dir(tmp_path_factory) -> Path:
    """Where the interactive tests save their screenshots: a temporary directory, so a test
    run leaves the work tree clean. The committed ones under docs/screenshots/ are made from
    the demo data by ``make screenshots`` (test_screenshots.py)."""
    return tmp_path_factory.mktemp("screenshots")
