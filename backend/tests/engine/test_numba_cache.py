"""numba's cache of the engine is dropped when any compiled module's source changes
(numba itself checks a cached function against its own file only)."""

from __future__ import annotations

import subprocess
import sys

from app.engine import numba_cache


def fake_engine(tmp_path):
    for name in numba_cache.COMPILED_MODULES:
        (tmp_path / f"{name}.py").write_text(f"# {name}\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    return cache


def cached_files(cache):
    (cache / "event_loop.run_events-25.py311.nbi").write_text("index")
    (cache / "event_loop.run_events-25.py311.1.nbc").write_text("code")
    return sorted(path.name for path in cache.iterdir() if path.suffix in (".nbi", ".nbc"))


def check(tmp_path, monkeypatch):
    monkeypatch.setattr(numba_cache, "_checked", set())  # as a new process
    numba_cache.drop_stale_cache(tmp_path)


def test_the_cache_is_dropped_when_a_callee_changes(tmp_path, monkeypatch):
    cache = fake_engine(tmp_path)
    (cache / "orders.cpython-311.pyc").write_text("bytecode")
    cached_files(cache)
    check(tmp_path, monkeypatch)  # no stamp yet: made from unknown sources
    assert not list(cache.glob("*.nb*"))
    assert (cache / "orders.cpython-311.pyc").exists()

    made = cached_files(cache)
    check(tmp_path, monkeypatch)  # the same sources: kept
    assert sorted(path.name for path in cache.glob("*.nb*")) == made

    (tmp_path / "orders.py").write_text("# orders, edited\n")  # not the caller's own file
    check(tmp_path, monkeypatch)
    assert not list(cache.glob("*.nb*"))


def test_once_per_process(tmp_path, monkeypatch):
    cache = fake_engine(tmp_path)
    check(tmp_path, monkeypatch)
    made = cached_files(cache)
    (tmp_path / "pairwise.py").write_text("# edited while running\n")
    numba_cache.drop_stale_cache(tmp_path)  # this process already compiled from the old
    assert sorted(path.name for path in cache.glob("*.nb*")) == made


def test_the_server_does_not_load_numba():
    """The API server imports the engine (its checks, its errors) but runs no backtest: numba
    and LLVM (about 60 MB) stay out of it, the compiled code is imported where it runs."""
    code = "import sys, app.main; print('numba' in sys.modules, 'llvmlite' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["False", "False"], result.stderr
