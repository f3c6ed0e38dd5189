"""Speed must not change a single result: the seed sweep on the small test market, run end to
end through the API, gives exactly the metrics, LEAN statistics strings and equity curves
recorded in ``fixtures/golden/`` before any performance work (made by this test with
``STOCKLEAN_WRITE_GOLDEN=1`` on the code of commit 7625b8f).

The last bits of some floats depend on the CPU's vector units: numpy's ``exp`` (which draws
the synthetic market) has its own AVX-512 code, and OpenBLAS's kernels (the sleeve's
volatility) sum in their own order. So a golden file belongs to the kernels that made it
(``float_kernels`` in the file): ``seed_sweep.<numpy exp code>-<BLAS kernels>.json`` where
one was made on such a machine, else ``seed_sweep.json``.

On the kernels of its file the comparison is exact: metrics as floats with ``==``,
statistics as strings, each run's equity through the ``/equity`` endpoint as the exact float
values (a digest of their ``repr``). On other kernels the last bits may differ, so there
the statistics strings must still be equal and the metrics and every tenth equity value
(``equity_every_10th``) equal to 1e-12 relative; the test says so in a warning. To make that
machine's exact file: run this test with ``STOCKLEAN_WRITE_GOLDEN=1`` on commit 7625b8f's
code (in a worktree; its ``polling`` has no ``finish_sweep``: POST the body and
``wait_until_final`` the sweep, which is all that helper does), and check that its
statistics and metrics equal the other files'."""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from pathlib import Path

from factories import SEED_BODY
from polling import finish_sweep

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "golden"
# Far above a few ulps of CPU-dependent rounding (1e-16 relative), far below any change of
# what a backtest does (a share, a cent, a day).
NEAR = 1e-12
SAMPLE_EVERY = 10


def float_kernels() -> str:
    """Which code computes this machine's last bits: numpy's float64 ``exp`` dispatch target
    (``X86_V4``: AVX-512, ``X86_V3``: AVX2) and OpenBLAS's kernel architecture."""
    from numpy._core._multiarray_umath import __cpu_targets_info__
    from threadpoolctl import threadpool_info

    exp_code = __cpu_targets_info__["exp"]["dd"]["current"]
    # numpy's own OpenBLAS (scipy, when loaded, brings another).
    blas = [i.get("architecture", "?") for i in threadpool_info() if "numpy" in i["filepath"]]
    return f"{exp_code}-{'+'.join(blas) or 'noblas'}"


def golden_path(kernels: str, for_writing: bool = False) -> Path:
    own = GOLDEN_DIR / f"seed_sweep.{kernels}.json"
    return own if for_writing or own.exists() else GOLDEN_DIR / "seed_sweep.json"


def _equity_digest(points: list[dict]) -> str:
    text = "\n".join(f"{p['date']} {p['equity']!r}" for p in points)
    return hashlib.sha256(text.encode()).hexdigest()


def _sweep_results(client) -> dict:
    done = finish_sweep(client, SEED_BODY, timeout=300)
    sweep_id = done["id"]
    assert done["status"] == "completed" and done["counts"]["completed"] == 30
    trials = client.get(f"/api/optimizations/{sweep_id}/trials").json()["items"]
    runs = []
    for trial in sorted(trials, key=lambda t: t["trial_index"]):
        run = client.get(f"/api/backtests/{trial['run_id']}").json()
        equity = client.get(f"/api/backtests/{trial['run_id']}/equity").json()
        points = equity["items"]
        metrics = dict(run["metrics"])
        runs.append(
            {
                "trial_index": trial["trial_index"],
                "params": trial["params"],
                "statistics": metrics.pop("statistics"),
                "metrics": metrics,
                "equity_points": len(points),
                "equity_last": points[-1]["equity"],
                "equity_sha256": _equity_digest(points),
                "equity_every_10th": [p["equity"] for p in points[::SAMPLE_EVERY]],
            }
        )
    return {"sweep": "factories.SEED_BODY on the small_market_dir market", "runs": runs}


def _near(got, want) -> bool:
    if isinstance(want, float) and isinstance(got, float):
        return math.isclose(got, want, rel_tol=NEAR, abs_tol=NEAR)
    return got == want


def test_seed_sweep_results_equal_the_golden_file(market_client, seeded):
    kernels = float_kernels()
    results = _sweep_results(market_client)
    if os.environ.get("STOCKLEAN_WRITE_GOLDEN") == "1":
        written = {"float_kernels": kernels, **results}
        golden_path(kernels, for_writing=True).write_text(
            json.dumps(written, indent=1, sort_keys=True) + "\n"
        )
    golden = json.loads(golden_path(kernels).read_text())
    exact = golden["float_kernels"] == kernels
    if not exact:
        warnings.warn(
            f"no golden file for this machine's float kernels {kernels}: its metrics and "
            f"equity are compared to {golden['float_kernels']}'s to {NEAR:g} relative, not "
            "exactly (see this test's docstring to make one)",
            stacklevel=1,
        )
    assert len(results["runs"]) == len(golden["runs"]) == 30
    for got, want in zip(results["runs"], golden["runs"], strict=True):
        label = f"trial {want['trial_index']} {want['params']}"
        assert got["params"] == want["params"], label
        assert got["statistics"] == want["statistics"], label
        assert set(got["metrics"]) == set(want["metrics"]), label
        assert got["equity_points"] == want["equity_points"], label
        if exact:
            for name, value in want["metrics"].items():
                assert got["metrics"][name] == value, f"{label}: {name}"
            assert got["equity_last"] == want["equity_last"], label
            assert got["equity_sha256"] == want["equity_sha256"], label
        else:
            for name, value in want["metrics"].items():
                assert _near(got["metrics"][name], value), f"{label}: {name}"
            assert _near(got["equity_last"], want["equity_last"]), label
            samples = zip(got["equity_every_10th"], want["equity_every_10th"], strict=True)
            for k, (value, wanted) in enumerate(samples):
                assert _near(value, wanted), f"{label}: equity point {k * SAMPLE_EVERY}"
