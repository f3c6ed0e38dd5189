"""Waiting for work the server's workers do."""

from __future__ import annotations

import time
from collections.abc import Callable

FINAL = {"completed", "failed", "canceled"}


def wait_until(
    client, path: str, done: Callable[[dict], bool], timeout: float = 120.0, poll: float = 0.05
) -> dict:
    """GET ``path`` until ``done(body)`` and return that body; fail after ``timeout``
    seconds with the last body seen."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(path).json()
        if done(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not get there in {timeout} s: {body}")
        time.sleep(poll)


def wait_until_final(client, path: str, timeout: float = 120.0, poll: float = 0.05) -> dict:
    """GET ``path`` until its ``status`` is final and return that body."""
    return wait_until(client, path, lambda body: body["status"] in FINAL, timeout, poll)


def finish_sweep(client, body: dict, timeout: float = 120.0) -> dict:
    """POST the sweep ``body`` (it must be accepted: 201) and return its final body."""
    created = client.post("/api/optimizations", json=body)
    assert created.status_code == 201, created.text
    return wait_until_final(client, f"/api/optimizations/{created.json()['id']}", timeout)
